//! Invariants of the estimator, checked on random data sets (proptest draws the seeds).

use crate::common;

use common::{ols_hc0, ols_hc2, solve};
use ndarray::{Array1, Array2, Axis};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::baselines::RealOnly;
use synthgmm::models::{sigmoid, Logistic, Ols};
use synthgmm::{CrossWeights, DataSources, Estimator, MomentModel, TwoStepGmm};

/// A data set with intercept, one normal and one binary covariate, a real outcome,
/// a correlated proxy, and a pure-noise source.
struct Sim {
    labeled: Vec<bool>,
    x: Array2<f64>,
    y: Array1<f64>,
    proxy: Array1<f64>,
    noise: Array1<f64>,
}

fn simulate(seed: u64, t: usize, n: usize, logistic: bool) -> Sim {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let x1: Vec<f64> = (0..t).map(|_| normal()).collect();
    let e: Vec<f64> = (0..t).map(|_| normal()).collect();
    let u: Vec<f64> = (0..t).map(|_| normal()).collect();
    let w: Vec<f64> = (0..t).map(|_| normal()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let x2: Vec<f64> = (0..t)
        .map(|_| (rng.random::<f64>() < 0.4) as u8 as f64)
        .collect();
    let x = Array2::from_shape_fn((t, 3), |(i, j)| [1.0, x1[i], x2[i]][j]);
    let lin = |i: usize| 0.3 + 0.8 * x1[i] - 0.5 * x2[i];
    let (y, proxy, noise) = if logistic {
        let unif: Vec<f64> = (0..t).map(|_| rng.random()).collect();
        let y = Array1::from_shape_fn(t, |i| (unif[i] < sigmoid(lin(i))) as u8 as f64);
        let proxy = Array1::from_shape_fn(t, |i| {
            if rng.random::<f64>() < 0.8 {
                y[i]
            } else {
                1.0 - y[i]
            }
        });
        let noise = Array1::from_shape_fn(t, |i| (w[i] > 0.0) as u8 as f64);
        (y, proxy, noise)
    } else {
        let y = Array1::from_shape_fn(t, |i| lin(i) + e[i]);
        let proxy = Array1::from_shape_fn(t, |i| 0.1 + lin(i) + 0.8 * e[i] + 0.6 * u[i]);
        let noise = Array1::from_shape_fn(t, |i| w[i]);
        (y, proxy, noise)
    };
    let labeled = common::label_at_random(&mut rng, t, n);
    Sim {
        labeled,
        x,
        y,
        proxy,
        noise,
    }
}

impl Sim {
    fn data(&self, with_noise: bool) -> DataSources {
        let b = DataSources::builder(&self.labeled)
            .real(&self.x, &self.y)
            .source("proxy", &self.x, &self.proxy);
        let b = if with_noise {
            b.source("noise", &self.x, &self.noise)
        } else {
            b
        };
        b.build().unwrap()
    }
    fn real_only(&self) -> DataSources {
        DataSources::builder(&self.labeled)
            .real(&self.x, &self.y)
            .build()
            .unwrap()
    }
    fn labeled_xy(&self) -> (Array2<f64>, Array1<f64>) {
        let rows: Vec<usize> = (0..self.y.len()).filter(|&t| self.labeled[t]).collect();
        (self.x.select(Axis(0), &rows), self.y.select(Axis(0), &rows))
    }
}

/// Labeled-only logistic MLE by Newton–Raphson on the log-likelihood, with HC0 sandwich.
fn logistic_hc0(x: &Array2<f64>, y: &Array1<f64>) -> (Array1<f64>, Array1<f64>) {
    let mut beta = Array1::zeros(3);
    let hessian = |beta: &Array1<f64>| {
        let mu = x.dot(beta).mapv(sigmoid);
        (x * &mu.mapv(|m| m * (1.0 - m)).insert_axis(Axis(1)))
            .t()
            .dot(x)
    };
    for _ in 0..50 {
        let mu = x.dot(&beta).mapv(sigmoid);
        let score = x.t().dot(&(y - &mu));
        let step = solve(&hessian(&beta), &score.insert_axis(Axis(1)))
            .column(0)
            .to_owned();
        beta = beta + step;
    }
    let e = y - &x.dot(&beta).mapv(sigmoid);
    let meat = (x * &(&e * &e).insert_axis(Axis(1))).t().dot(x);
    let bread = solve(&hessian(&beta), &Array2::eye(3));
    (
        beta.clone(),
        bread.dot(&meat).dot(&bread).diag().mapv(f64::sqrt),
    )
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-3)
}

fn fit<M: MomentModel + Clone>(model: &M, data: &DataSources) -> synthgmm::GmmFit {
    TwoStepGmm::new(model.clone()).fit(data).unwrap()
}

/// The paper's estimator (unrestricted cross weights, its HC0 sandwich).
fn paper<M: MomentModel + Clone>(model: &M, data: &DataSources) -> synthgmm::GmmFit {
    TwoStepGmm::new(model.clone())
        .cross_weights(CrossWeights::Unrestricted)
        .fit(data)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn permuting_rows_leaves_the_fit_unchanged(seed in any::<u64>(), logistic in any::<bool>(), shift in 1usize..400) {
        let sim = simulate(seed, 500, 120, logistic);
        let t = sim.y.len();
        let perm: Vec<usize> = (0..t).map(|i| (i * 7 + shift) % t).collect(); // 7 is coprime to 500
        let pick = |a: &Array1<f64>| a.select(Axis(0), &perm);
        let permuted = Sim {
            labeled: perm.iter().map(|&i| sim.labeled[i]).collect(),
            x: sim.x.select(Axis(0), &perm),
            y: pick(&sim.y), proxy: pick(&sim.proxy), noise: pick(&sim.noise),
        };
        let (a, b) = if logistic {
            (fit(&Logistic, &sim.data(true)), fit(&Logistic, &permuted.data(true)))
        } else {
            (fit(&Ols, &sim.data(true)), fit(&Ols, &permuted.data(true)))
        };
        for j in 0..a.params().len() {
            prop_assert!(rel_close(a.params()[j], b.params()[j], 1e-8));
        }
        for j in 0..3 {
            prop_assert!(rel_close(a.se()[j], b.se()[j], 1e-8));
        }
        prop_assert!(rel_close(a.j_test().statistic, b.j_test().statistic, 1e-6));
    }

    #[test]
    fn no_sources_is_labeled_only_ols_with_hc0(seed in any::<u64>()) {
        let sim = simulate(seed, 400, 80, false);
        let g = paper(&Ols, &sim.real_only());
        let (beta, cov) = ols_hc0(&sim.labeled_xy().0, &sim.labeled_xy().1);
        let se = cov.diag().mapv(f64::sqrt);
        for j in 0..3 {
            prop_assert!(rel_close(g.theta()[j], beta[j], 1e-9), "theta {j}: {} vs {}", g.theta()[j], beta[j]);
            prop_assert!(rel_close(g.se()[j], se[j], 1e-9), "se {j}: {} vs {}", g.se()[j], se[j]);
        }
    }

    /// The default without sources is the real-only estimator as `RealOnly` reports it:
    /// HC2 standard errors (checked against the textbook formula) and its t intervals.
    #[test]
    fn no_sources_by_default_is_real_only_with_hc2(seed in any::<u64>()) {
        let sim = simulate(seed, 400, 60, false);
        let g = fit(&Ols, &sim.real_only());
        let (beta, cov) = ols_hc2(&sim.labeled_xy().0, &sim.labeled_xy().1);
        let real = RealOnly::new(Ols).estimate(&sim.real_only()).unwrap();
        let (ci, real_ci) = (g.estimate().conf_int(0.05).unwrap(), real.conf_int(0.05).unwrap());
        for j in 0..3 {
            prop_assert!(rel_close(g.theta()[j], beta[j], 1e-9));
            prop_assert!(rel_close(g.se()[j], cov[[j, j]].sqrt(), 1e-9), "se {j}: {} vs {}", g.se()[j], cov[[j, j]].sqrt());
            prop_assert!(rel_close(ci[[j, 0]], real_ci[[j, 0]], 1e-12));
            prop_assert!(rel_close(ci[[j, 1]], real_ci[[j, 1]], 1e-12));
            // t quantiles: wider than the normal interval.
            prop_assert!(ci[[j, 1]] - g.theta()[j] > 1.96 * g.se()[j]);
        }
    }

    #[test]
    fn no_sources_is_labeled_only_logistic_mle_with_hc0(seed in any::<u64>()) {
        let sim = simulate(seed, 600, 200, true);
        let g = paper(&Logistic, &sim.real_only());
        let (beta, se) = logistic_hc0(&sim.labeled_xy().0, &sim.labeled_xy().1);
        for j in 0..3 {
            // Both fits stop at a Newton step below 1e-13 or so: a coefficient near zero
            // agrees to 1e-8 of its standard error, not of itself.
            prop_assert!(
                (g.theta()[j] - beta[j]).abs() <= 1e-8 * beta[j].abs().max(se[j]),
                "theta {j}: {} vs {}", g.theta()[j], beta[j]
            );
            prop_assert!(rel_close(g.se()[j], se[j], 1e-8));
        }
    }

    /// Exact equivariance for M = 0; `tests/robustness.rs` checks M = 0..3 and extreme
    /// scales.
    #[test]
    fn rescaling_a_covariate_rescales_its_coefficient(seed in any::<u64>(), c in prop_oneof![0.001f64..0.1, 10.0f64..1000.0], logistic in any::<bool>()) {
        let sim = simulate(seed, 600, 200, logistic);
        let mut scaled = Sim { labeled: sim.labeled.clone(), x: sim.x.clone(), y: sim.y.clone(), proxy: sim.proxy.clone(), noise: sim.noise.clone() };
        scaled.x.column_mut(1).mapv_inplace(|v| v * c);
        let (a, b) = if logistic {
            (fit(&Logistic, &sim.real_only()), fit(&Logistic, &scaled.real_only()))
        } else {
            (fit(&Ols, &sim.real_only()), fit(&Ols, &scaled.real_only()))
        };
        prop_assert!(rel_close(b.theta()[1], a.theta()[1] / c, 1e-8));
        prop_assert!(rel_close(b.se()[1], a.se()[1] / c, 1e-8));
        prop_assert!(rel_close(b.theta()[0], a.theta()[0], 1e-8));
        prop_assert!(rel_close(b.se()[2], a.se()[2], 1e-8));
    }
}

/// A pure-noise source carries no information: the GMM standard errors stay within
/// sampling error of real-only. The estimated weight lets the p·M = 3 noise moment
/// differences explain a fraction ≈ 3/n of the real moments' variance by chance, so at
/// n = 300 the ratio se_gmm/se_real is about √(1 − 0.01); we allow [0.93, 1.05] on
/// average over 40 data sets and [0.85, 1.10] for each.
#[test]
fn pure_noise_source_does_no_harm() {
    let mut ratios = Vec::new();
    for seed in 0..40 {
        let sim = simulate(1000 + seed, 3000, 300, false);
        let data = DataSources::builder(&sim.labeled)
            .real(&sim.x, &sim.y)
            .source("noise", &sim.x, &sim.noise)
            .build()
            .unwrap();
        let g = fit(&Ols, &data);
        for j in 0..3 {
            let r = g.se()[j] / g.real_only_se()[j];
            assert!((0.85..1.10).contains(&r), "seed {seed} coef {j}: ratio {r}");
            ratios.push(r);
        }
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    assert!((0.93..1.05).contains(&mean), "mean ratio {mean}");
}
