//! The bootstrap: its draws equal a plain pairs bootstrap written here for real-only
//! least squares (the same documented generator and draw order), its intervals follow
//! their definitions, clusters are drawn as units, the results do not depend on the
//! number of threads, and replicates the estimator cannot fit are counted.

use crate::common;

use common::{ols_hc0, ols_hc2};
use ndarray::{s, Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::baselines::RealOnly;
use synthgmm::models::Ols;
use synthgmm::{
    Bootstrap, BootstrapInterval, DataSources, Error, Estimate, Estimator, Note, TwoStepGmm,
};

/// T rows, the first n labeled (in a shuffled position), heteroskedastic errors, one
/// proxy.
fn data(seed: u64, t: usize, n: usize) -> (DataSources, Array2<f64>, Array1<f64>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Array2<f64> = Array2::from_shape_fn((t, 2), |(_, j)| {
        if j == 0 {
            1.0
        } else {
            StandardNormal.sample(&mut rng)
        }
    });
    let e: Array1<f64> = (0..t)
        .map(|i| {
            let z: f64 = StandardNormal.sample(&mut rng);
            z * (0.5 + x[[i, 1]].abs())
        })
        .collect();
    let y = 1.0 + 0.5 * &x.column(1) + &e;
    let proxy = Array1::from_shape_fn(t, |i| {
        let z: f64 = StandardNormal.sample(&mut rng);
        y[i] + 0.6 * z
    });
    let labeled: Vec<bool> = (0..t).map(|i| (i * 7919) % t < n).collect();
    let d = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap();
    (d, x, y, labeled)
}

/// The q-quantile with linear interpolation (numpy's default), written independently.
fn numpy_quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] * (1.0 - (pos - lo as f64)) + v[hi] * (pos - lo as f64)
}

/// Real-only least squares: each replicate's θ* is the OLS fit on the labeled rows the
/// documented draw picks (ChaCha8 seeded by the seed, stream b, n labeled indices
/// first), and the percentile and studentized intervals are the quantiles of those.
#[test]
fn real_only_equals_a_plain_pairs_bootstrap() {
    let (d, x, y, labeled) = data(1, 400, 60);
    let (b_reps, seed) = (199, 42);
    let fit = Bootstrap::new(b_reps)
        .seed(seed)
        .run(&RealOnly::new(Ols), &d)
        .unwrap();
    assert_eq!(fit.n_failed(), 0);
    let rows: Vec<usize> = (0..400).filter(|&i| labeled[i]).collect();
    let (theta, cov) = ols_hc2(
        &x.select(ndarray::Axis(0), &rows),
        &y.select(ndarray::Axis(0), &rows),
    );
    let se = cov.diag().mapv(f64::sqrt);
    let mut draws = Vec::new();
    let mut t_stats = Vec::new();
    for b in 0..b_reps as u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(b);
        let pick: Vec<usize> = (0..rows.len())
            .map(|_| rows[rng.random_range(0..rows.len())])
            .collect();
        let (tb, cb) = ols_hc2(
            &x.select(ndarray::Axis(0), &pick),
            &y.select(ndarray::Axis(0), &pick),
        );
        t_stats.push((tb[1] - theta[1]) / cb[[1, 1]].sqrt());
        draws.push(tb);
    }
    for (b, expected) in draws.iter().enumerate() {
        for j in 0..2 {
            let got = fit.draws()[[b, j]];
            assert!(
                (got - expected[j]).abs() < 1e-10,
                "replicate {b}: {got} vs {}",
                expected[j]
            );
        }
    }
    let slopes: Vec<f64> = draws.iter().map(|t| t[1]).collect();
    let percentile = fit
        .conf_int_with(0.1, BootstrapInterval::Percentile)
        .unwrap();
    assert!((percentile[[1, 0]] - numpy_quantile(&slopes, 0.05)).abs() < 1e-12);
    assert!((percentile[[1, 1]] - numpy_quantile(&slopes, 0.95)).abs() < 1e-12);
    // Real-only reports HC2 standard errors by default: the studentized interval
    // uses each replicate's.
    let studentized = fit
        .conf_int_with(0.1, BootstrapInterval::Studentized)
        .unwrap();
    let est_se = fit.estimate().se()[1];
    let est_theta = fit.estimate().theta()[1];
    assert!((est_theta - theta[1]).abs() < 1e-10);
    assert!((est_se - se[1]).abs() < 1e-10 * se[1]);
    assert!(
        (studentized[[1, 0]] - (est_theta - numpy_quantile(&t_stats, 0.95) * est_se)).abs()
            < 1e-9 * (1.0 + est_se)
    );
    assert!(
        (studentized[[1, 1]] - (est_theta - numpy_quantile(&t_stats, 0.05) * est_se)).abs()
            < 1e-9 * (1.0 + est_se)
    );
    let mean = slopes.iter().sum::<f64>() / b_reps as f64;
    let sd = (slopes.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (b_reps - 1) as f64).sqrt();
    assert!((fit.se()[1] - sd).abs() < 1e-12);
    // The bootstrap's spread agrees with the sandwich to within its sampling error
    // (relative sd of a standard deviation from 199 draws ≈ 5%; 4 sd allowed).
    assert!((fit.se()[1] / se[1] - 1.0).abs() < 0.2 + 0.25);
}

/// The symmetric interval is θ̂ ± q_{1−α}(|t*|) se and contains θ̂; the p-values are
/// (1 + #{|t*| ≥ |t|})/(B + 1).
#[test]
fn symmetric_intervals_and_p_values_follow_their_definitions() {
    let (d, ..) = data(2, 600, 80);
    let fit = Bootstrap::new(299)
        .seed(3)
        .run(&TwoStepGmm::new(Ols), &d)
        .unwrap();
    let ci = fit.conf_int(0.05).unwrap();
    let e = fit.estimate();
    for j in 0..2 {
        let lower = e.theta()[j] - ci[[j, 0]];
        let upper = ci[[j, 1]] - e.theta()[j];
        assert!((lower - upper).abs() < 1e-12 * (1.0 + lower.abs()));
        assert!(lower > 0.0);
    }
    let p = fit.p_values();
    for j in 0..2 {
        let t = (e.theta()[j] / e.se()[j]).abs();
        let t_star = fit.studentized().column(j).to_vec();
        let beyond = t_star.iter().filter(|v| v.abs() >= t).count();
        assert!((p[j] - (1.0 + beyond as f64) / 300.0).abs() < 1e-12);
        let magnitudes: Vec<f64> = t_star.iter().map(|v| v.abs()).collect();
        let half = numpy_quantile(&magnitudes, 0.95) * e.se()[j];
        assert!((ci[[j, 1]] - e.theta()[j] - half).abs() < 1e-12 * (1.0 + half));
    }
}

/// Replicates are drawn from their own streams and fitted in any order: one thread and
/// two give identical draws.
#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let (d, ..) = data(3, 500, 70);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                Bootstrap::new(64)
                    .seed(9)
                    .run(&TwoStepGmm::new(Ols), &d)
                    .unwrap()
            })
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.draws(), two.draws());
    assert_eq!(one.conf_int(0.05).unwrap(), two.conf_int(0.05).unwrap());
    let other = Bootstrap::new(64)
        .seed(10)
        .run(&TwoStepGmm::new(Ols), &d)
        .unwrap();
    assert_ne!(one.draws(), other.draws());
}

/// With clusters, whole clusters are drawn: a replicate of real-only least squares is
/// the OLS fit on the labeled rows of G clusters drawn with replacement.
#[test]
fn clusters_are_drawn_as_units() {
    let (_, x, y, labeled) = data(4, 300, 300);
    let ids: Vec<usize> = (0..300).map(|i| i / 10).collect();
    let d = DataSources::builder(&labeled)
        .real(&x, &y)
        .clusters(&ids)
        .build()
        .unwrap();
    let fit = Bootstrap::new(20)
        .seed(5)
        .run(&RealOnly::new(Ols), &d)
        .unwrap();
    for b in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        rng.set_stream(b);
        let mut rows = Vec::new();
        for _ in 0..30 {
            let g = rng.random_range(0..30);
            rows.extend(g * 10..g * 10 + 10);
        }
        let (tb, _) = ols_hc0(
            &x.select(ndarray::Axis(0), &rows),
            &y.select(ndarray::Axis(0), &rows),
        );
        let got = fit.draws().slice(s![b as usize, ..]).to_owned();
        assert!(
            (&got - &tb).iter().all(|v| v.abs() < 1e-10),
            "replicate {b}"
        );
    }
}

/// An estimator that fails on every resampled data set but the original.
struct FailsOnResamples<E>(E, f64);

impl<E: Estimator> Estimator for FailsOnResamples<E> {
    fn name(&self) -> String {
        "fragile".into()
    }
    fn estimate(&self, data: &DataSources) -> synthgmm::Result<Estimate> {
        if (data.real_y().sum() - self.1).abs() > 1e-9 {
            return Err(Error::NoLabeledRows);
        }
        self.0.estimate(data)
    }
}

#[test]
fn failed_replicates_are_counted_and_too_many_are_an_error() {
    let (d, ..) = data(6, 200, 40);
    let fragile = FailsOnResamples(RealOnly::new(Ols), d.real_y().sum());
    let err = Bootstrap::new(50).run(&fragile, &d).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BootstrapFailed {
                failed: 50,
                replicates: 50
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        Bootstrap::new(1).run(&RealOnly::new(Ols), &d),
        Err(Error::InvalidConfig {
            parameter: "bootstrap",
            ..
        })
    ));
    let ok = Bootstrap::new(30).run(&RealOnly::new(Ols), &d).unwrap();
    assert!(!ok
        .estimate()
        .notes()
        .iter()
        .any(|n| matches!(n, Note::BootstrapFailures { .. })));
}
