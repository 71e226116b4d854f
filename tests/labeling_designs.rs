//! Labeling designs (`synthgmm::labeling`): the probabilities, the draw, the weighted
//! fit on a hand-computed example, and — by Monte-Carlo — the validity of the default
//! estimator on the labels each design draws and the labels each design saves.
//!
//! The Monte-Carlo worlds (T = 10,000 rows, a pilot of 50 labeled at random, then a
//! budget of new labels):
//! - `uneven`: y = 1 + x + e, x ~ N(0, 1), e ~ N(0, (0.5 + |x|)²); the proxy is
//!   y + u with u's sd 0.2 where x < 0 and 2 where x > 0, a synthetic source
//!   1 + x + 0.5 e + N(0, 1) — informative unevenly, heteroskedastic with leverage;
//! - `even`: y = 1 + x + N(0, 1), the proxy y + N(0, 0.8²): nothing for a design
//!   to exploit;
//! - `logistic`: P(y = 1) = Λ(−1 + x), a binary proxy that copies y with probability
//!   0.95 where x < 0 and 0.65 where x > 0;
//! - `flat`: the mean of y = 1 + N(0, 1) with a proxy y + N(0, 0.8²) on every row —
//!   nothing for a design to exploit, so none should lose;
//! - `heavy` (kept out of every choice of constant): y = 1 + x + t₃ errors scaled by
//!   1 + x², a proxy with t₂ noise that is small for x < −0.5 and gross elsewhere.

use ndarray::{array, Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Bernoulli, Distribution, StandardNormal, StudentT};
use synthgmm::labeling::{Allocation, Labeling, Target};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{DataSources, Estimator, MomentModel, TwoStepGmm};

use crate::common;

/// Every row's data: real covariates and outcome, each source's covariates and outcome.
struct World {
    x: Array2<f64>,
    y: Array1<f64>,
    sources: Vec<(&'static str, Array2<f64>, Array1<f64>)>,
}

fn with_intercept(v: &Array1<f64>) -> Array2<f64> {
    Array2::from_shape_fn((v.len(), 2), |(i, j)| [1.0, v[i]][j])
}

fn draws<D: Distribution<f64>>(rng: &mut ChaCha8Rng, d: D, t: usize) -> Array1<f64> {
    (0..t).map(|_| d.sample(rng)).collect()
}

fn uneven(seed: u64, t: usize) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = draws(&mut rng, StandardNormal, t);
    let e = x.mapv(|v| 0.5 + v.abs()) * draws(&mut rng, StandardNormal, t);
    let y = 1.0 + &x + &e;
    let u = x.mapv(|v| if v < 0.0 { 0.2 } else { 2.0 }) * draws(&mut rng, StandardNormal, t);
    let synth = 1.0 + &x + 0.5 * &e + draws(&mut rng, StandardNormal, t);
    World {
        x: with_intercept(&x),
        sources: vec![
            ("proxy", with_intercept(&x), &y + &u),
            ("synth", with_intercept(&x), synth),
        ],
        y,
    }
}

fn even(seed: u64, t: usize) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = draws(&mut rng, StandardNormal, t);
    let y = 1.0 + &x + draws(&mut rng, StandardNormal, t);
    let proxy = &y + &(0.8 * draws(&mut rng, StandardNormal, t));
    World {
        x: with_intercept(&x),
        sources: vec![("proxy", with_intercept(&x), proxy)],
        y,
    }
}

fn logistic(seed: u64, t: usize) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = draws(&mut rng, StandardNormal, t);
    let y = x.mapv(|v| {
        let p = 1.0 / (1.0 + (1.0 - v).exp());
        f64::from(u8::from(Bernoulli::new(p).unwrap().sample(&mut rng)))
    });
    let proxy = Array1::from_shape_fn(t, |i| {
        let keep = if x[i] < 0.0 { 0.95 } else { 0.65 };
        if Bernoulli::new(keep).unwrap().sample(&mut rng) {
            y[i]
        } else {
            1.0 - y[i]
        }
    });
    World {
        x: with_intercept(&x),
        sources: vec![("proxy", with_intercept(&x), proxy)],
        y,
    }
}

fn heavy(seed: u64, t: usize) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = draws(&mut rng, StandardNormal, t);
    let e = x.mapv(|v| 1.0 + v * v) * draws(&mut rng, StudentT::new(3.0).unwrap(), t);
    let y = 1.0 + &x + &e;
    let noise = draws(&mut rng, StudentT::new(2.0).unwrap(), t);
    let proxy = Array1::from_shape_fn(t, |i| y[i] + noise[i] * if x[i] < -0.5 { 0.1 } else { 3.0 });
    World {
        x: with_intercept(&x),
        sources: vec![("proxy", with_intercept(&x), proxy)],
        y,
    }
}

/// Nothing for a design to exploit: the mean of y = 1 + e (intercept only), a proxy
/// equally good on every row.
fn flat(seed: u64, t: usize) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y = 1.0 + draws(&mut rng, StandardNormal, t);
    let proxy = &y + &(0.8 * draws(&mut rng, StandardNormal, t));
    let ones = Array2::ones((t, 1));
    World {
        x: ones.clone(),
        sources: vec![("proxy", ones, proxy)],
        y,
    }
}

impl World {
    fn data(&self, labeled: &[bool], pi: Option<&Array1<f64>>) -> DataSources {
        let mut builder = DataSources::builder(labeled).real(&self.x, &self.y);
        for (name, x, y) in &self.sources {
            builder = builder.source(*name, x, y);
        }
        if let Some(pi) = pi {
            builder = builder.labeling_probabilities(pi);
        }
        builder.build().unwrap()
    }
}

/// One replication: a pilot of `pilot` rows at random, `budget` more by the design,
/// the default estimator on both phases' labels with their probabilities. Returns
/// the slope's estimate and standard error, and the design's predicted standard error.
fn replicate<M: MomentModel + Clone>(
    world: &World,
    model: &M,
    allocation: Allocation,
    seed: u64,
    (pilot, budget): (usize, f64),
) -> [f64; 3] {
    let t = world.y.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let first = common::label_at_random(&mut rng, t, pilot);
    let gmm = TwoStepGmm::new(model.clone());
    let design = match Labeling::new(allocation, budget).plan(
        &gmm,
        &world.data(&first, None),
        world.x.view(),
    ) {
        Ok(d) => d,
        Err(e) => panic!("seed {seed}: {e}"),
    };
    let mut labeled = first;
    for row in design.draw(seed) {
        labeled[row] = true;
    }
    let pi = design.probabilities().to_owned();
    let fit = gmm.estimate(&world.data(&labeled, Some(&pi))).unwrap();
    // The last coefficient: the slope, or the mean of an intercept-only model.
    let j = fit.theta().len() - 1;
    [fit.theta()[j], fit.se()[j], design.se().unwrap()[j]]
}

#[test]
fn probabilities_sum_to_the_budget_and_respect_the_floor() {
    let world = uneven(1, 4_000);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let pilot = common::label_at_random(&mut rng, 4_000, 60);
    let data = world.data(&pilot, None);
    for allocation in [
        Allocation::Uniform,
        Allocation::Stratified,
        Allocation::Active,
    ] {
        let design = Labeling::new(allocation, 300.0)
            .min_probability(0.01)
            .plan(&TwoStepGmm::new(Ols), &data, world.x.view())
            .unwrap();
        let phase_two = design.phase_two();
        assert!(
            (phase_two.sum() - 300.0).abs() < 1e-8,
            "{allocation:?}: {}",
            phase_two.sum()
        );
        for (t, &p) in phase_two.iter().enumerate() {
            if pilot[t] {
                assert_eq!(p, 0.0);
            } else {
                assert!((0.01..=1.0).contains(&p), "{allocation:?} row {t}: {p}");
            }
        }
        // Both phases: π₀ + (1 − π₀)π¹ with π₀ = 60/4000.
        let rate = 60.0 / 4_000.0;
        let combined = design.probabilities();
        for t in 0..4_000 {
            if !pilot[t] {
                assert!((combined[t] - (rate + (1.0 - rate) * phase_two[t])).abs() < 1e-12);
            }
        }
        let rows = design.draw(11);
        assert_eq!(rows.len(), 300);
        assert_eq!(rows, design.draw(11));
        assert_ne!(rows, design.draw(12));
        assert!(rows.iter().all(|&t| !pilot[t]));
    }
}

#[test]
fn the_floor_holds_and_labels_go_where_the_outcome_is_noisy() {
    // Outcomes nearly exact where x < 0, noisy where x > 0.
    let mut world = even(3, 5_000);
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let noise = draws(&mut rng, StandardNormal, 5_000);
    let proxy_noise = draws(&mut rng, StandardNormal, 5_000);
    for t in 0..5_000 {
        let x = world.x[[t, 1]];
        let scale = if x < 0.0 { 0.01 } else { 2.0 };
        world.y[t] = 1.0 + x + noise[t] * scale;
        world.sources[0].2[t] = world.y[t] + proxy_noise[t] * scale;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let pilot = common::label_at_random(&mut rng, 5_000, 100);
    let data = world.data(&pilot, None);
    let active = |design: Labeling| {
        design
            .plan(&TwoStepGmm::new(Ols), &data, world.x.view())
            .unwrap()
    };
    let smallest = |design: &synthgmm::labeling::LabelingPlan| {
        design
            .phase_two()
            .iter()
            .zip(&pilot)
            .filter(|(_, &l)| !l)
            .map(|(&p, _)| p)
            .fold(f64::MAX, f64::min)
    };
    let design = active(Labeling::new(Allocation::Active, 490.0));
    let floor = 490.0 / (5.0 * 4_900.0);
    let free = smallest(&design);
    assert!(free >= floor - 1e-12 && free < 0.1, "{free} vs {floor}");
    // A floor above the unconstrained smallest probability binds exactly.
    let bound = active(Labeling::new(Allocation::Active, 490.0).min_probability(1.5 * free));
    assert!((smallest(&bound) - 1.5 * free).abs() < 1e-12);
    assert!((bound.phase_two().sum() - 490.0).abs() < 1e-8);
    // The rows where x > 0 get most of the labels.
    let share = |positive: bool| -> f64 {
        (0..5_000)
            .filter(|&t| !pilot[t] && (world.x[[t, 1]] > 0.0) == positive)
            .map(|t| design.phase_two()[t])
            .sum()
    };
    assert!(
        share(true) > 2.0 * share(false),
        "{} vs {}",
        share(true),
        share(false)
    );
}

#[test]
fn without_a_pilot_designs_are_uniform_or_proportional() {
    let strata: Vec<&str> = (0..100).map(|t| if t < 30 { "a" } else { "b" }).collect();
    let design = Labeling::new(Allocation::Stratified, 20.0)
        .strata(&strata)
        .without_pilot(100)
        .unwrap();
    assert!(design
        .probabilities()
        .iter()
        .all(|&p| (p - 0.2).abs() < 1e-12));
    for seed in 0..20 {
        let rows = design.draw(seed);
        assert_eq!(rows.len(), 20);
        assert_eq!(rows.iter().filter(|&&t| t < 30).count(), 6);
    }
    assert!(design.se().is_none());
    let active = Labeling::new(Allocation::Active, 20.0).without_pilot(100);
    assert!(matches!(
        active,
        Err(synthgmm::Error::InvalidConfig {
            parameter: "pilot",
            ..
        })
    ));
}

#[test]
fn bad_designs_are_typed_errors() {
    let world = uneven(5, 1_000);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let pilot = common::label_at_random(&mut rng, 1_000, 50);
    let data = world.data(&pilot, None);
    let gmm = TwoStepGmm::new(Ols);
    let plan = |design: Labeling| design.plan(&gmm, &data, world.x.view());
    let invalid = |r: synthgmm::Result<_>, name: &str| match r {
        Err(synthgmm::Error::InvalidConfig { parameter, .. }) => assert_eq!(parameter, name),
        other => panic!("{name}: {other:?}"),
    };
    invalid(plan(Labeling::new(Allocation::Active, 2_000.0)), "budget");
    invalid(plan(Labeling::new(Allocation::Active, -1.0)), "budget");
    invalid(
        plan(Labeling::new(Allocation::Active, 10.0).min_probability(0.5)),
        "min_probability",
    );
    invalid(
        plan(Labeling::new(Allocation::Active, 10.0).target(Target::Coefficient(2))),
        "target",
    );
    invalid(
        plan(Labeling::new(Allocation::Active, 10.0).target(Target::Contrast(vec![0.0, 0.0]))),
        "target",
    );
    invalid(
        plan(Labeling::new(Allocation::Stratified, 10.0).n_strata(0)),
        "n_strata",
    );
    let short = Labeling::new(Allocation::Active, 10.0).plan(
        &gmm,
        &data,
        world.x.slice(ndarray::s![..10, ..]),
    );
    assert!(matches!(short, Err(synthgmm::Error::LengthMismatch { .. })));
    let mut nan_x = world.x.clone();
    nan_x[[3, 1]] = f64::NAN;
    invalid(
        Labeling::new(Allocation::Active, 10.0).plan(&gmm, &data, nan_x.view()),
        "real_x",
    );
    let strata = vec![0; 999];
    let wrong = Labeling::new(Allocation::Stratified, 10.0)
        .strata(&strata)
        .plan(&gmm, &data, world.x.view());
    assert!(matches!(wrong, Err(synthgmm::Error::LengthMismatch { .. })));
}

/// The weighted fit on labels with probabilities π_t, by hand: with no sources the
/// estimator's θ̂ solves Σ_labeled (1/π_t) x_t(y_t − x_tᵀθ) = 0, weighted least squares.
#[test]
fn the_weighted_fit_is_weighted_least_squares_by_hand() {
    let x = array![
        [1.0, 0.0],
        [1.0, 1.0],
        [1.0, 2.0],
        [1.0, 3.0],
        [1.0, 4.0],
        [1.0, 5.0]
    ];
    let y = array![0.1, 1.3, 1.8, 3.4, 3.9, f64::NAN];
    let pi = array![0.5, 0.25, 1.0, 0.5, 0.2, 0.1];
    let labeled = [true, true, true, true, true, false];
    let data = DataSources::builder(&labeled[..])
        .real(&x, &y)
        .labeling_probabilities(&pi)
        .build()
        .unwrap();
    let fit = TwoStepGmm::new(Ols).fit(&data).unwrap();
    // Weights 2, 4, 1, 2, 5 on x = 0..4: Σw = 14, Σwx = 32, Σwx² = 106,
    // Σwy = 33.5, Σwxy = 107.2 (sums over the five labeled rows).
    let (sw, swx, swxx, swy, swxy) = (14.0, 32.0, 106.0, 33.5, 107.2);
    let slope = (sw * swxy - swx * swy) / (sw * swxx - swx * swx);
    let intercept = (swy - slope * swx) / sw;
    assert!(
        (fit.theta()[1] - slope).abs() < 1e-12,
        "{} vs {slope}",
        fit.theta()[1]
    );
    assert!((fit.theta()[0] - intercept).abs() < 1e-12);
}

/// Probabilities that differ from n/T by parts in 10⁷ take the default through its
/// weighted regressions (ρ_t = π̄²(1 − π_t)/(1 − π̄), the Hájek scale T/Σ 1/π_t); at
/// π_t → n/T these are the at-random estimator's, so θ̂ and the standard errors agree
/// with the fit without probabilities to the perturbation's order (1e-5 relative),
/// least squares and logistic.
#[test]
fn nearly_equal_probabilities_give_the_at_random_fit() {
    for logistic in [false, true] {
        let world = if logistic {
            self::logistic(3, 3_000)
        } else {
            uneven(3, 3_000)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let labeled = common::label_at_random(&mut rng, 3_000, 200);
        let share = 200.0 / 3_000.0;
        let pi = Array1::from_shape_fn(3_000, |t| share * (1.0 + 1e-7 * (t as f64).sin()));
        let fit = |pi: Option<&Array1<f64>>| {
            let data = world.data(&labeled, pi);
            if logistic {
                TwoStepGmm::new(Logistic).fit(&data).unwrap()
            } else {
                TwoStepGmm::new(Ols).fit(&data).unwrap()
            }
        };
        let (at_random, weighted) = (fit(None), fit(Some(&pi)));
        assert!(
            weighted.cross_choices().is_some(),
            "the selected weights were used"
        );
        assert_eq!(at_random.cross_choices(), weighted.cross_choices());
        common::assert_close(
            "theta",
            weighted.theta().as_slice().unwrap(),
            at_random.theta().as_slice().unwrap(),
            1e-5,
            1e-8,
        );
        common::assert_close(
            "se",
            weighted.se().as_slice().unwrap(),
            at_random.se().as_slice().unwrap(),
            1e-5,
            0.0,
        );
    }
}

/// With many labels the selected weights and the paper's unrestricted two-step weights
/// estimate the same efficient combination: on 20,000 rows labeled with probabilities
/// from 0.05 to 0.5 (about 3,000 labels), the slopes differ by under a tenth of a
/// standard error and the standard errors by under 5%.
#[test]
fn with_many_labels_the_weighted_selection_agrees_with_the_paper() {
    let t = 20_000;
    let world = uneven(5, t);
    let pi = world.x.column(1).mapv(|v| (0.05 + 0.15 * v.abs()).min(0.5));
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let labeled: Vec<bool> = pi
        .iter()
        .map(|&p| rand::Rng::random::<f64>(&mut rng) < p)
        .collect();
    let data = world.data(&labeled, Some(&pi));
    let selected = TwoStepGmm::new(Ols).fit(&data).unwrap();
    let paper = TwoStepGmm::new(Ols)
        .cross_weights(synthgmm::CrossWeights::Unrestricted)
        .fit(&data)
        .unwrap();
    assert!(selected.cross_choices().is_some());
    let (a, b) = (selected.theta()[1], paper.theta()[1]);
    assert!((a - b).abs() < 0.1 * paper.se()[1], "{a} vs {b}");
    let ratio = selected.se()[1] / paper.se()[1];
    assert!((0.95..1.05).contains(&ratio), "se ratio {ratio}");
}

/// Coverage, sd, bias in sd and the mean predicted standard error of the replicates'
/// (estimate, se, predicted se); the mean reported se is printed.
fn summarize(rows: &[[f64; 3]], truth: f64) -> (f64, f64, f64, f64) {
    let r = rows.len() as f64;
    let covered = rows
        .iter()
        .filter(|v| (v[0] - truth).abs() <= 1.959_964 * v[1])
        .count() as f64
        / r;
    let mean = rows.iter().map(|v| v[0]).sum::<f64>() / r;
    let sd = (rows.iter().map(|v| (v[0] - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
    let predicted = rows.iter().map(|v| v[2]).sum::<f64>() / r;
    let reported = rows.iter().map(|v| v[1]).sum::<f64>() / r;
    println!("  mean reported se {reported:.4}");
    (covered, sd, (mean - truth) / sd, predicted)
}

type WorldFn = fn(u64, usize) -> World;

fn study<M: MomentModel + Clone + Sync>(
    name: &str,
    world: WorldFn,
    model: &M,
    truth: f64,
    reps: usize,
) -> Vec<(Allocation, f64, f64)> {
    use rayon::prelude::*;
    let mut out = Vec::new();
    for allocation in [
        Allocation::Uniform,
        Allocation::Stratified,
        Allocation::Active,
    ] {
        let rows: Vec<[f64; 3]> = (0..reps as u64)
            .into_par_iter()
            .map(|r| {
                replicate(
                    &world(40_000 + r, 10_000),
                    model,
                    allocation,
                    r,
                    (50, 150.0),
                )
            })
            .collect();
        let (covered, sd, bias, predicted) = summarize(&rows, truth);
        println!(
            "{name:>9} {allocation:>10?}: coverage {covered:.3}, sd {sd:.4}, bias {bias:+.3} sd, predicted se {predicted:.4}"
        );
        out.push((allocation, covered, sd));
    }
    out
}

/// R = 1,000 replications per world and design (seeds fixed). A coverage near 0.95
/// has Monte-Carlo standard error 0.0069, so 3 of them are ±0.021 around 0.95. The
/// variance ratio of two designs has relative standard error about √(2·2/R) = 0.063
/// (unpaired, at worst), so a ratio observed near 0.75 is bounded by 0.9 at 3 of them.
/// Measured (`docs/design.md`): coverage 93.8–95.8% on every world with every design
/// (logistic active 93.9%; 95.0% on another 1,000 seeds). Varying probabilities take
/// the default's selected weights through their weighted regressions; with the
/// paper's unrestricted weights, which they used to fall back to, the logistic
/// world's active design covered 92.7%.
#[test]
#[ignore = "Monte Carlo (about a minute); run with -- --ignored, as CI does"]
fn designs_are_valid_and_save_labels() {
    const REPS: usize = 1_000;
    const COVERAGE_TOL: f64 = 3.0 * 0.0069;
    let worlds: [(&str, WorldFn, bool); 5] = [
        ("uneven", uneven, false),
        ("even", even, false),
        ("logistic", logistic, true),
        ("heavy", heavy, false),
        ("flat", flat, false),
    ];
    for (name, world, binary) in worlds {
        let results = if binary {
            study(name, world, &Logistic, 1.0, REPS)
        } else {
            study(name, world, &Ols, 1.0, REPS)
        };
        let uniform_var = results[0].2.powi(2);
        for (allocation, covered, sd) in results {
            assert!(
                (0.95 - COVERAGE_TOL..=0.95 + COVERAGE_TOL).contains(&covered),
                "{name} {allocation:?}: coverage {covered}"
            );
            let ratio = sd * sd / uniform_var;
            // Where the sources are unevenly informative (and even where they are
            // not: the slope's leverage) the designs save labels. Where rows are alike
            // (`flat`) a variance ratio cannot resolve a 2% loss at this R; the design
            // effect test above does, and this bound only catches a gross one.
            let bound = match (name, allocation) {
                (_, Allocation::Uniform) => 1.0,
                ("flat", _) => 1.0 + 3.0 * 0.063,
                ("even", _) => 1.0,
                _ => 0.9,
            };
            assert!(
                ratio <= bound,
                "{name} {allocation:?}: variance ratio {ratio}"
            );
        }
    }
}

/// The probabilities are free of units: the outcome and the sources' outputs ×10⁶, or
/// the covariate ×10⁻⁶ (in the real and the source blocks), leave them unchanged.
#[test]
fn designs_do_not_depend_on_units() {
    let world = uneven(8, 3_000);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let pilot = common::label_at_random(&mut rng, 3_000, 80);
    let probabilities = |w: &World, allocation: Allocation| {
        Labeling::new(allocation, 250.0)
            .plan(&TwoStepGmm::new(Ols), &w.data(&pilot, None), w.x.view())
            .unwrap()
            .probabilities()
            .to_owned()
    };
    let scaled = |outcome: f64, covariate: f64| {
        let scale_x = |x: &Array2<f64>| {
            let mut x = x.clone();
            x.column_mut(1).mapv_inplace(|v| v * covariate);
            x
        };
        World {
            x: scale_x(&world.x),
            y: &world.y * outcome,
            sources: world
                .sources
                .iter()
                .map(|(n, x, y)| (*n, scale_x(x), y * outcome))
                .collect(),
        }
    };
    for allocation in [Allocation::Stratified, Allocation::Active] {
        let base = probabilities(&world, allocation);
        for (outcome, covariate) in [(1e6, 1.0), (1.0, 1e-6), (1e-6, 1e6)] {
            let other = probabilities(&scaled(outcome, covariate), allocation);
            common::assert_close(
                &format!("{allocation:?} at ({outcome}, {covariate})"),
                other.as_slice().unwrap(),
                base.as_slice().unwrap(),
                1e-8,
                0.0,
            );
        }
    }
}

/// Where every row is alike (`flat`), the variance of the weighted mean is the uniform
/// one times Kish's design effect (1/N)Σ_t π̄/π_t over the N rows drawn from, so a
/// design that loses nothing keeps it near 1. Averaged over 200 pilots of 50 (each
/// with its own forecast noise) it is 1.011 for active and 1.022 for stratified (whose
/// five strata get ten pilot rows each); the test bounds it at 1.025. The Monte-Carlo
/// test below measures the variances themselves.
#[test]
fn designs_lose_nothing_where_rows_are_alike() {
    for allocation in [Allocation::Stratified, Allocation::Active] {
        let mut total = 0.0;
        let reps = 200;
        for r in 0..reps {
            let world = flat(70_000 + r, 5_000);
            let mut rng = ChaCha8Rng::seed_from_u64(r);
            let pilot = common::label_at_random(&mut rng, 5_000, 50);
            let design = Labeling::new(allocation, 150.0)
                .plan(
                    &TwoStepGmm::new(Ols),
                    &world.data(&pilot, None),
                    world.x.view(),
                )
                .unwrap();
            let pi: Vec<f64> = (0..5_000)
                .filter(|&t| !pilot[t])
                .map(|t| design.phase_two()[t])
                .collect();
            let mean = pi.iter().sum::<f64>() / pi.len() as f64;
            total += pi.iter().map(|p| mean / p).sum::<f64>() / pi.len() as f64;
        }
        let effect = total / reps as f64;
        println!("{allocation:?}: mean design effect {effect:.4}");
        assert!(effect < 1.025, "{allocation:?}: {effect}");
    }
}
