//! Every estimator is free of the units of each source's covariates: a source whose
//! covariate j is c times the real one (the same information in other units, as a
//! synthetic generator may choose) gives the same θ̂ and standard errors, for every
//! source separately, least squares and logistic, one to three sources.

use crate::common;

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::baselines::{Dsl, Lambda, NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
use synthgmm::models::{sigmoid, Logistic, Ols};
use synthgmm::{CrossWeights, DataSources, Estimate, Estimator, GmmFit, MomentModel, TwoStepGmm};

/// T rows with an intercept and two covariates; source k shares the real covariates
/// and tracks the real outcome with its own noise (logistic: flips 15 + 5k% of labels).
struct Design {
    labeled: Vec<bool>,
    x: Array2<f64>,
    y: Array1<f64>,
    sources: Vec<Array1<f64>>,
    /// Labeling probabilities, when the rows were labeled with them.
    pi: Option<Array1<f64>>,
}

fn design(seed: u64, t: usize, n: usize, m: usize, logistic: bool) -> Design {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
    let x = Array2::from_shape_fn((t, 3), |(_, j)| if j == 0 { 1.0 } else { normal(&mut rng) });
    let lin = x.dot(&ndarray::array![0.4, 0.8, -0.5]);
    let e: Array1<f64> = (0..t).map(|_| normal(&mut rng)).collect();
    let y = if logistic {
        Array1::from_shape_fn(t, |i| {
            f64::from(u8::from(rng.random::<f64>() < sigmoid(lin[i] + e[i])))
        })
    } else {
        &lin + &e
    };
    let sources = (0..m)
        .map(|k| {
            Array1::from_shape_fn(t, |i| {
                if logistic {
                    let flip = rng.random::<f64>() < 0.15 + 0.05 * k as f64;
                    if flip {
                        1.0 - y[i]
                    } else {
                        y[i]
                    }
                } else {
                    0.1 * k as f64 + lin[i] + 0.8 * e[i] + 0.5 * normal(&mut rng)
                }
            })
        })
        .collect();
    let labeled = common::label_at_random(&mut rng, t, n);
    Design {
        labeled,
        x,
        y,
        sources,
        pi: None,
    }
}

/// The same rows labeled with probabilities π_t = min(1, 0.03 + 0.15|x_t1|): about
/// 0.15 T labels, rows with leverage more often.
fn design_with_probabilities(seed: u64, t: usize, m: usize, logistic: bool) -> Design {
    let mut d = design(seed, t, 1, m, logistic);
    let pi = d.x.column(1).mapv(|v| (0.03 + 0.15 * v.abs()).min(1.0));
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37);
    d.labeled = pi.iter().map(|&p| rng.random::<f64>() < p).collect();
    d.pi = Some(pi);
    d
}

impl Design {
    /// The data with source `which`'s covariate `column` multiplied by `c`.
    fn data(&self, which: usize, column: usize, c: f64) -> DataSources {
        let mut b = DataSources::builder(&self.labeled).real(&self.x, &self.y);
        for (k, s) in self.sources.iter().enumerate() {
            let mut x = self.x.clone();
            if k == which {
                x.column_mut(column).mapv_inplace(|v| v * c);
            }
            b = b.source(format!("s{k}"), &x, s);
        }
        if let Some(pi) = &self.pi {
            b = b.labeling_probabilities(pi);
        }
        b.build().unwrap()
    }
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

fn same_fit(a: &GmmFit, b: &GmmFit, tol: f64) -> Result<(), TestCaseError> {
    for j in 0..a.theta().len() {
        prop_assert!(
            rel_close(a.theta()[j], b.theta()[j], tol),
            "theta {j}: {} vs {}",
            a.theta()[j],
            b.theta()[j]
        );
        prop_assert!(
            rel_close(a.se()[j], b.se()[j], tol),
            "se {j}: {} vs {}",
            a.se()[j],
            b.se()[j]
        );
    }
    prop_assert_eq!(a.cross_choices(), b.cross_choices());
    Ok(())
}

fn check<M: MomentModel + Clone>(
    model: M,
    d: &Design,
    which: usize,
    column: usize,
    c: f64,
    tol: f64,
) -> Result<(), TestCaseError> {
    let gmm = TwoStepGmm::new(model);
    let base = gmm.fit(&d.data(which, column, 1.0)).unwrap();
    let scaled = gmm.fit(&d.data(which, column, c)).unwrap();
    prop_assert!(
        base.cross_choices().is_some(),
        "the default used selected weights"
    );
    same_fit(&base, &scaled, tol)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Least squares, one to three sources, n = 30 to 200: the covariate of each
    /// source in turn rescaled by 10^k, k ∈ [−6, 6].
    #[test]
    fn least_squares_is_free_of_each_sources_covariate_units(
        seed in any::<u64>(),
        m in 1usize..4,
        n in 30usize..200,
        exponent in -6i32..=6,
        column in 1usize..3,
    ) {
        let d = design(seed, 1_000, n, m, false);
        let c = 10f64.powi(exponent);
        for which in 0..m {
            check(Ols, &d, which, column, c, 1e-8)?;
        }
    }

    /// Logistic regression, one or two sources, n = 60 to 300.
    #[test]
    fn logistic_is_free_of_each_sources_covariate_units(
        seed in any::<u64>(),
        m in 1usize..3,
        n in 60usize..300,
        exponent in -4i32..=4,
    ) {
        let d = design(seed, 1_500, n, m, true);
        let c = 10f64.powi(exponent);
        for which in 0..m {
            check(Logistic, &d, which, 2, c, 1e-7)?;
        }
    }

    /// Rows labeled with probabilities that vary (the selected weights' weighted
    /// regressions): least squares and logistic, one or two sources.
    #[test]
    fn the_default_with_labeling_probabilities_is_free_of_each_sources_units(
        seed in any::<u64>(),
        m in 1usize..3,
        exponent in -4i32..=4,
        logistic in any::<bool>(),
    ) {
        let d = design_with_probabilities(seed, 1_500, m, logistic);
        let c = 10f64.powi(exponent);
        for which in 0..m {
            if logistic {
                check(Logistic, &d, which, 2, c, 1e-7)?;
            } else {
                check(Ols, &d, which, 1, c, 1e-8)?;
            }
        }
    }
}

/// The paper's estimator was already free of them; it stays so.
#[test]
fn the_unrestricted_estimator_is_free_of_each_sources_units() {
    let d = design(5, 1_000, 100, 2, false);
    let gmm = TwoStepGmm::new(Ols).cross_weights(CrossWeights::Unrestricted);
    let a = gmm.fit(&d.data(1, 1, 1.0)).unwrap();
    let b = gmm.fit(&d.data(1, 1, 1e3)).unwrap();
    same_fit(&a, &b, 1e-8).unwrap();
}

/// The baselines that use a source, each with the source that is rescaled.
fn baselines<M: MomentModel + Clone + 'static>(
    model: M,
    which: usize,
    m: usize,
) -> Vec<Box<dyn Estimator>> {
    let name = format!("s{which}");
    let other = format!("s{}", (which + 1) % m);
    let mut all: Vec<Box<dyn Estimator>> = vec![
        Box::new(RealOnly::new(model.clone())),
        Box::new(PpiPlusPlus::new(model.clone(), name.clone())),
        Box::new(PpiPlusPlus::new(model.clone(), name.clone()).lambda(Lambda::Fixed(0.7))),
        Box::new(Dsl::new(model.clone(), name.clone())),
        Box::new(RePpi::new(model.clone(), [name.clone()])),
    ];
    if m > 1 {
        all.push(Box::new(PpiSynth::new(model, other, name)));
    }
    all
}

fn same_estimate(a: &Estimate, b: &Estimate, tol: f64) -> Result<(), TestCaseError> {
    for j in 0..a.theta().len() {
        prop_assert!(
            rel_close(a.theta()[j], b.theta()[j], tol),
            "{} theta {j}: {} vs {}",
            a.estimator(),
            a.theta()[j],
            b.theta()[j]
        );
        prop_assert!(
            rel_close(a.se()[j], b.se()[j], tol),
            "{} se {j}: {} vs {}",
            a.estimator(),
            a.se()[j],
            b.se()[j]
        );
    }
    Ok(())
}

fn check_baselines<M: MomentModel + Clone + 'static>(
    model: M,
    d: &Design,
    m: usize,
    column: usize,
    c: f64,
    tol: f64,
) -> Result<(), TestCaseError> {
    for which in 0..m {
        let (base, scaled) = (d.data(which, column, 1.0), d.data(which, column, c));
        for estimator in baselines(model.clone(), which, m) {
            // An estimator that refuses must refuse in every unit, for the same reason.
            match (estimator.estimate(&base), estimator.estimate(&scaled)) {
                (Ok(a), Ok(b)) => same_estimate(&a, &b, tol)?,
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "{}: {a:?} vs {b:?}", estimator.name()),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// PPI++ (λ tuned and fixed), DSL, RePPI and PPI++Synth: least squares.
    #[test]
    fn baselines_are_free_of_each_sources_covariate_units(
        seed in any::<u64>(),
        m in 1usize..3,
        n in 40usize..200,
        exponent in -6i32..=6,
        column in 1usize..3,
    ) {
        let d = design(seed, 1_000, n, m, false);
        check_baselines(Ols, &d, m, column, 10f64.powi(exponent), 1e-8)?;
    }

    /// The same, logistic regression.
    #[test]
    fn logistic_baselines_are_free_of_each_sources_covariate_units(
        seed in any::<u64>(),
        n in 80usize..300,
        exponent in -4i32..=4,
    ) {
        let d = design(seed, 1_500, n, 2, true);
        check_baselines(Logistic, &d, 2, 2, 10f64.powi(exponent), 1e-7)?;
    }
}

/// The case: a source whose covariate is in centimetres where the real one is
/// in metres. Before the units map PPI++ put the slope 29 standard errors from the
/// truth; now it gives what it gives on metres.
#[test]
fn a_source_in_centimetres_gives_what_metres_give() {
    let d = design(11, 4_000, 200, 1, false);
    for estimator in baselines(Ols, 0, 1) {
        let a = estimator.estimate(&d.data(0, 1, 1.0)).unwrap();
        let b = estimator.estimate(&d.data(0, 1, 100.0)).unwrap();
        same_estimate(&a, &b, 1e-9).unwrap();
    }
}

/// Naive pooling stacks the rows as they are: it is the biased baseline, and a source
/// in other units moves it (documented, not hidden).
#[test]
fn naive_pooling_is_not_free_of_a_sources_units() {
    let d = design(3, 1_000, 100, 1, false);
    let naive = NaivePooled::new(Ols, ["s0"]);
    let a = naive.estimate(&d.data(0, 1, 1.0)).unwrap();
    let b = naive.estimate(&d.data(0, 1, 10.0)).unwrap();
    assert!((a.theta()[1] - b.theta()[1]).abs() > 10.0 * a.se()[1]);
}

/// A source's outcome in other units (a prediction on another scale): the paper's
/// estimator absorbs it in the source's own parameter η_m and gives the same θ̂ and
/// standard errors. PPI++ and DSL take a source's outcome as a prediction of the
/// label on its scale, by definition, and the default's pilot does too
/// (`docs/validation.md`, "The units of each source").
#[test]
fn the_unrestricted_estimator_is_free_of_each_sources_outcome_units() {
    let d = design(7, 1_000, 100, 2, false);
    let gmm = TwoStepGmm::new(Ols).cross_weights(CrossWeights::Unrestricted);
    let base = gmm.fit(&d.data(0, 1, 1.0)).unwrap();
    for (which, c) in [(0, 1e-4), (1, 250.0)] {
        let mut b = DataSources::builder(&d.labeled).real(&d.x, &d.y);
        for (k, s) in d.sources.iter().enumerate() {
            let s = if k == which { s * c } else { s.clone() };
            b = b.source(format!("s{k}"), &d.x, &s);
        }
        let scaled = gmm.fit(&b.build().unwrap()).unwrap();
        same_fit(&base, &scaled, 1e-8).unwrap();
    }
}

/// A source's outcome in other units (a 0–100 score for a 0–1 label) keeps the
/// default valid. With the coupled root, K_m grows as 1/c with the source's outcome
/// scale c while the root's covariate-imbalance term K_m(J_lab,m − J_all,m)(θ − θ̃)
/// does not shrink with it: at c = 0.01 the slope's interval covered 57% and at
/// c = 0.1 69% (n = 50, one proxy). Least squares now takes the linear form
/// θ̂_real − ΛΔ̂, in which Λ scales as 1/c and Δ̂ as c. R = 1,000 data sets per scale:
/// the Monte-Carlo standard error of a 95% coverage is 0.69 points, and the test
/// asks for coverage at least 95% less 3 of them and for the estimate's RMSE within 15%
/// of its RMSE at c = 1 (the pilot, evaluated on the label's scale, is not free of
/// c; the change measured is under 10%).
#[test]
#[ignore = "Monte Carlo (about 10 seconds); run with -- --ignored, as CI does"]
fn the_default_stays_valid_when_a_sources_outcome_is_in_other_units() {
    use rayon::prelude::*;
    const REPS: usize = 1_000;
    const TOL: f64 = 3.0 * 0.006_892;
    let (t, n, slope) = (2_000, 50, 0.8);
    let scales = [1.0, 0.01, 0.1, 10.0, 100.0];
    let rows: Vec<Vec<(f64, bool)>> = (0..REPS as u64)
        .into_par_iter()
        .map(|seed| {
            let d = design(90_000 + seed, t, n, 1, false);
            scales
                .iter()
                .map(|&c| {
                    let data = DataSources::builder(&d.labeled)
                        .real(&d.x, &d.y)
                        .source("s0", &d.x, &(&d.sources[0] * c))
                        .build()
                        .unwrap();
                    let fit = TwoStepGmm::new(Ols).fit(&data).unwrap();
                    let ci = fit.conf_int(0.05).unwrap();
                    (fit.theta()[1], ci[[1, 0]] <= slope && slope <= ci[[1, 1]])
                })
                .collect()
        })
        .collect();
    let rmse = |k: usize| {
        (rows.iter().map(|r| (r[k].0 - slope).powi(2)).sum::<f64>() / REPS as f64).sqrt()
    };
    for (k, c) in scales.iter().enumerate() {
        let coverage = rows.iter().filter(|r| r[k].1).count() as f64 / REPS as f64;
        let ratio = rmse(k) / rmse(0);
        println!("c = {c}: coverage {coverage:.3}, RMSE ratio {ratio:.3}");
        assert!(coverage >= 0.95 - TOL, "c = {c}: coverage {coverage}");
        assert!(ratio <= 1.15, "c = {c}: RMSE ratio {ratio}");
    }
}
