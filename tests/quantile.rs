//! Quantiles (`models::Quantile`) against independent computations
//! (`tests/data/make_quantile.py`: scipy, statsmodels' QuantReg and ppi_py 0.2.3), and
//! their coverage.

use ndarray::{Array1, Array2};
use synthgmm::baselines::{Lambda, PpiPlusPlus, RealOnly};
use synthgmm::models::Quantile;
use synthgmm::{CrossWeights, DataSources, Estimator, SmallSample, TwoStepGmm};

use crate::common::{assert_close, data_path, expected, vec_of};

const NAME: &str = "quantile_T3000_n300";

struct QuantileData {
    labeled: Vec<bool>,
    y: Array1<f64>,
    proxy: Array1<f64>,
}

fn load() -> QuantileData {
    let mut reader = csv::Reader::from_path(data_path(&format!("{NAME}.csv"))).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let column = |c: usize| Array1::from_iter(rows.iter().map(|r| r[c].parse::<f64>().unwrap()));
    QuantileData {
        labeled: rows.iter().map(|r| &r[0] == "1").collect(),
        y: column(1),
        proxy: column(2),
    }
}

impl QuantileData {
    fn sources(&self, scale: f64) -> DataSources {
        let x = Array2::from_elem((self.y.len(), 1), 1.0);
        DataSources::builder(&self.labeled)
            .real(&x, &(&self.y * scale))
            .source("proxy", &x, &(&self.proxy * scale))
            .build()
            .unwrap()
    }
}

/// The model with the reference's bandwidths (statsmodels' Hall–Sheather rule).
fn reference_model(e: &serde_json::Value) -> Quantile {
    let smoothed = &e["smoothed"];
    Quantile::with_bandwidths(
        &vec_of(&e["levels"]),
        smoothed["smoothing"].as_f64().unwrap(),
        &vec_of(&smoothed["bandwidths"]),
    )
    .unwrap()
}

/// The smoothed equation's root and its HC0 and HC2 sandwiches equal scipy's (to the
/// root-finder's 1e-14 and rounding), with statsmodels' Hall–Sheather bandwidths and
/// with the default (Silverman's).
#[test]
fn real_only_quantiles_equal_an_independent_computation() {
    let (d, e) = (load(), expected(NAME));
    let data = d.sources(1.0);
    let model = reference_model(&e);
    let default = Quantile::new(&vec_of(&e["levels"]), data.real_y()).unwrap();
    let silverman = &e["smoothed_silverman"];
    let smoothing = silverman["smoothing"].as_f64().unwrap();
    approx::assert_relative_eq!(default.smoothing(), smoothing, max_relative = 1e-12);
    let bandwidths = vec_of(&silverman["bandwidths"]);
    assert_close("bandwidths", default.bandwidths(), &bandwidths, 1e-12, 0.0);
    for (model, reference) in [(model, &e["smoothed"]), (default, silverman)] {
        for (form, key) in [(SmallSample::Hc0, "hc0"), (SmallSample::Hc2, "hc2")] {
            let fit = RealOnly::new(model.clone())
                .small_sample(form)
                .estimate(&data)
                .unwrap();
            let theta = vec_of(&reference["theta"]);
            assert_close("theta", fit.theta().as_slice().unwrap(), &theta, 1e-9, 1.0);
            let se = vec_of(&reference[key]);
            assert_close(key, fit.se().as_slice().unwrap(), &se, 1e-8, 0.0);
            assert_eq!(fit.names(), ["q0.1", "q0.5", "q0.9"]);
        }
    }
}

/// Against statsmodels' QuantReg (sample quantile, kernel standard error with
/// q(1 − q) in place of the sandwich's mean ψ²): the smoothed root lies within a tenth
/// quarter of a standard error of the sample quantile, the standard errors within 5%.
#[test]
fn real_only_quantiles_agree_with_statsmodels_quantreg() {
    let (d, e) = (load(), expected(NAME));
    let fit = RealOnly::new(reference_model(&e))
        .small_sample(SmallSample::Hc0)
        .estimate(&d.sources(1.0))
        .unwrap();
    for (j, reference) in e["statsmodels"].as_array().unwrap().iter().enumerate() {
        let se = reference["se"].as_f64().unwrap();
        let gap = (fit.theta()[j] - reference["theta"].as_f64().unwrap()).abs();
        assert!(gap < 0.25 * se, "level {j}: {gap} against se {se}");
        assert!(
            (fit.se()[j] / se - 1.0).abs() < 0.1,
            "level {j}: {} vs {se}",
            fit.se()[j]
        );
    }
}

/// ppi_py's rectified CDF, F̂_lab(y ≤ θ) − F̂_lab(ŷ ≤ θ) + F̂_unlab(ŷ ≤ θ).
fn rectified_cdf(d: &QuantileData, theta: f64) -> f64 {
    let share = |values: Vec<f64>| {
        values.iter().filter(|&&v| v <= theta).count() as f64 / values.len() as f64
    };
    let pick = |column: &Array1<f64>, labeled: bool| -> Vec<f64> {
        column
            .iter()
            .zip(&d.labeled)
            .filter(|(_, &l)| l == labeled)
            .map(|(v, _)| *v)
            .collect()
    };
    share(pick(&d.y, true)) - share(pick(&d.proxy, true)) + share(pick(&d.proxy, false))
}

/// Whether F̃ − q changes sign within `radius` of θ (on a grid of 2,001 points).
fn crosses_near(d: &QuantileData, q: f64, theta: f64, radius: f64) -> bool {
    let misses: Vec<f64> = (0..=2000)
        .map(|i| rectified_cdf(d, theta + radius * (i as f64 / 1000.0 - 1.0)) - q)
        .collect();
    misses.iter().any(|&m| m <= 0.0) && misses.iter().any(|&m| m >= 0.0)
}

/// PPI at λ = 1 solves ppi_py's rectified-CDF equation F̃(θ) = q, smoothed. That step
/// function is not monotone and may cross q several times; ppi_py returns one crossing
/// (the first on its exact grid). The smoothed root lies within a quarter standard
/// error of a crossing with the default smoothing, and within a tenth with a
/// tenfold smaller one. ppi_py's interval inverts a test, ours is Wald's: their widths
/// agree within a factor of two and they overlap over more than half of the narrower
/// (here: widths within 3% at the median; at q = 0.1 ppi_py's is 1.8 times ours, at
/// q = 0.9 ours is 1.13 times ppi_py's: a test inversion follows the skew of a tail
/// quantile's sampling distribution, which a Wald interval cannot).
#[test]
fn ppi_at_lambda_one_is_ppi_pys_rectified_quantile() {
    let (d, e) = (load(), expected(NAME));
    let data = d.sources(1.0);
    let levels = vec_of(&e["levels"]);
    let default = Quantile::new(&levels, data.real_y()).unwrap();
    let sharp =
        Quantile::with_bandwidths(&levels, default.smoothing() / 10.0, default.bandwidths())
            .unwrap();
    let ppi = |model: Quantile| {
        PpiPlusPlus::new(model, "proxy")
            .lambda(Lambda::Fixed(1.0))
            .small_sample(SmallSample::Hc0)
            .fit(&data)
            .unwrap()
    };
    let (sharp, default) = (ppi(sharp), ppi(default));
    let ci = default.estimate().conf_int(0.05).unwrap();
    for (j, reference) in e["ppi_py"].as_array().unwrap().iter().enumerate() {
        let (q, se) = (levels[j], default.estimate().se()[j]);
        assert!(
            crosses_near(&d, q, default.estimate().theta()[j], 0.25 * se),
            "level {j}"
        );
        assert!(
            crosses_near(&d, q, sharp.estimate().theta()[j], 0.1 * se),
            "level {j}"
        );
        let theirs = vec_of(&reference["ci"]);
        let ratio = (ci[[j, 1]] - ci[[j, 0]]) / (theirs[1] - theirs[0]);
        assert!(
            (0.5..1.25).contains(&ratio),
            "level {j}: width ratio {ratio}"
        );
        let overlap = ci[[j, 1]].min(theirs[1]) - ci[[j, 0]].max(theirs[0]);
        assert!(overlap > 0.5 * (ci[[j, 1]] - ci[[j, 0]]).min(theirs[1] - theirs[0]));
    }
}

/// θ̂ and its standard error move with the outcome's units (y and the proxy times c,
/// from 1e-6 to 1e6), for the default and the paper's estimator.
#[test]
fn quantiles_are_equivariant_to_the_outcome_units() {
    let d = load();
    let fits = |scale: f64, cross: CrossWeights| {
        let data = d.sources(scale);
        let model = Quantile::new(&[0.25, 0.5, 0.75], data.real_y()).unwrap();
        let fit = TwoStepGmm::new(model)
            .cross_weights(cross)
            .fit(&data)
            .unwrap();
        (fit.theta().to_owned(), fit.se())
    };
    for cross in [CrossWeights::default(), CrossWeights::Unrestricted] {
        let (theta, se) = fits(1.0, cross);
        for c in [1e-6, 250.0, 1e6] {
            let (theta_c, se_c) = fits(c, cross);
            let back = |v: &Array1<f64>| (v / c).to_vec();
            assert_close(
                "theta",
                &back(&theta_c),
                theta.as_slice().unwrap(),
                1e-9,
                0.0,
            );
            assert_close("se", &back(&se_c), se.as_slice().unwrap(), 1e-9, 0.0);
        }
    }
}

/// The informative proxy narrows the default's intervals against real-only.
#[test]
fn the_default_gains_from_an_informative_proxy() {
    let d = load();
    let data = d.sources(1.0);
    let model = Quantile::new(&[0.1, 0.5, 0.9], data.real_y()).unwrap();
    let fit = TwoStepGmm::new(model).fit(&data).unwrap();
    let real = fit.real_only_se();
    for j in 0..3 {
        assert!(
            fit.se()[j] < 0.95 * real[j],
            "level {j}: {} vs {}",
            fit.se()[j],
            real[j]
        );
    }
}

/// An outcome on T rows and its sources.
type Draw = (Array1<f64>, Vec<Array1<f64>>);

/// One Monte-Carlo design: the outcome and its sources on T rows from a seed.
struct Design {
    name: &'static str,
    truth: [f64; 3],
    draw: fn(&mut rand_chacha::ChaCha8Rng, usize) -> Draw,
}

fn normal(rng: &mut rand_chacha::ChaCha8Rng) -> f64 {
    rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng)
}

/// N(0, 1) outcome, a proxy 0.3 + 0.8 y + N(0, 0.5²) (the design the bandwidths were
/// looked at on).
fn gaussian(rng: &mut rand_chacha::ChaCha8Rng, t: usize) -> Draw {
    let y = Array1::from_shape_fn(t, |_| normal(rng));
    let proxy = y.mapv(|v| 0.3 + 0.8 * v + 0.5 * normal(rng));
    (y, vec![proxy])
}

/// Held out: a log-normal outcome; a proxy with Student-t₂ errors (gross mistakes) and
/// a weak second source.
fn skewed(rng: &mut rand_chacha::ChaCha8Rng, t: usize) -> Draw {
    let y = Array1::from_shape_fn(t, |_| (0.5 * normal(rng)).exp());
    let t2 = rand_distr::StudentT::new(2.0).unwrap();
    let proxy = y.mapv(|v| v + 0.2 * rand_distr::Distribution::sample(&t2, rng));
    let weak = y.mapv(|v| 0.5 * v + 0.8 + 0.5 * normal(rng));
    (y, vec![proxy, weak])
}

/// Coverage of the 95% intervals of the default, PPI++ and real-only for the 0.1, 0.5
/// and 0.9 quantiles at n labeled rows of T = 2,000, over `reps` seeded data sets.
fn quantile_coverage(
    design: &Design,
    n: usize,
    reps: u64,
) -> (Vec<(String, [f64; 3])>, [usize; 3]) {
    use rand::SeedableRng;
    let levels = [0.1, 0.5, 0.9];
    let t = 2000;
    let mut hits = vec![[0usize; 3]; 3];
    let mut failures = [0usize; 3];
    for seed in 0..reps {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31_000 + seed);
        let (y, sources) = (design.draw)(&mut rng, t);
        let x = Array2::from_elem((t, 1), 1.0);
        let labeled: Vec<bool> = (0..t).map(|i| i < n).collect();
        let mut builder = DataSources::builder(&labeled).real(&x, &y);
        for (m, source) in sources.iter().enumerate() {
            builder = builder.source(format!("s{m}"), &x, source);
        }
        let data = builder.build().unwrap();
        let model = Quantile::new(&levels, data.real_y()).unwrap();
        let intervals = [
            TwoStepGmm::new(model.clone())
                .fit(&data)
                .map(|f| f.estimate().clone()),
            PpiPlusPlus::new(model.clone(), "s0")
                .fit(&data)
                .map(|f| f.estimate().clone()),
            RealOnly::new(model).estimate(&data),
        ];
        for (k, fit) in intervals.into_iter().enumerate() {
            // A fit that fails counts as a miss.
            let Ok(ci) = fit.and_then(|f| f.conf_int(0.05)) else {
                failures[k] += 1;
                continue;
            };
            for j in 0..3 {
                let truth = design.truth[j];
                hits[k][j] += usize::from(ci[[j, 0]] <= truth && truth <= ci[[j, 1]]);
            }
        }
    }
    let names = ["default", "PPI++", "real-only"];
    let shares = |h: [usize; 3]| h.map(|c| c as f64 / reps as f64);
    let rows: Vec<(String, [f64; 3])> = names
        .iter()
        .zip(hits)
        .map(|(n, h)| (n.to_string(), shares(h)))
        .collect();
    for ((name, c), failed) in rows.iter().zip(failures) {
        println!(
            "{} n = {n}: {name:<9} q0.1 {:.3}  q0.5 {:.3}  q0.9 {:.3}  failed {failed}",
            design.name, c[0], c[1], c[2]
        );
    }
    (rows, failures)
}

const Z90: f64 = 1.281_551_565_544_600_5;

/// Coverage of the quantiles' 95% intervals on a Gaussian design and a held-out skewed
/// one (log-normal outcome, a proxy with Student-t₂ gross errors, a weak second
/// source), n = 100 and 300 of T = 2,000, R = 1,000 each (Monte-Carlo standard error
/// 0.69 points at 95%).
///
/// Asserted: at the median every estimator covers at least 95% less 3 Monte-Carlo
/// standard errors and at most 97.5% (real-only reaches 97.1% at n = 100, its kernel
/// density flattened at the mode), at n = 300 every level covers at least 90%, and at
/// most 1% of fits fail (a PPI++ fit fails when its rectified equation has no root
/// near the real-only start).
/// Measured: in the tails the Wald interval falls short of 95% (Gaussian 93–94.5% at
/// n = 300; skewed 91–93% at q = 0.9 and 96–97% at q = 0.1), real-only as much as the
/// others: the kernel density with one bandwidth is biased where the density is
/// convex or concave, and a tail quantile's sampling distribution is skewed.
#[test]
#[ignore = "Monte-Carlo: run with --ignored"]
fn quantile_intervals_cover() {
    let designs = [
        Design {
            name: "gaussian",
            truth: [-Z90, 0.0, Z90],
            draw: gaussian,
        },
        Design {
            name: "skewed",
            truth: [(-0.5 * Z90).exp(), 1.0, (0.5 * Z90).exp()],
            draw: skewed,
        },
    ];
    let (reps, mc_se) = (1000, (0.95f64 * 0.05 / 1000.0).sqrt());
    for design in &designs {
        for n in [100, 300] {
            let (rows, failures) = quantile_coverage(design, n, reps);
            for (name, c) in &rows {
                let median = c[1];
                assert!(
                    median >= 0.95 - 3.0 * mc_se && median <= 0.975,
                    "{} n = {n} {name}: {c:?}",
                    design.name
                );
                if n == 300 {
                    assert!(
                        c.iter().all(|&v| v >= 0.90),
                        "{} {name}: {c:?}",
                        design.name
                    );
                }
            }
            assert!(
                failures.iter().all(|&f| f <= reps as usize / 100),
                "{failures:?}"
            );
        }
    }
}
