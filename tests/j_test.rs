//! The default's J test. The selected cross weights do not run step 2; their J is the
//! two-step estimate's with the moments linearized at step 1 (`GmmFit::j_test`). For
//! least squares that is the two-step J itself, which the paper's estimator reports
//! (and the reference tests check against independent values); for logistic regression
//! it must agree with it closely at large n and keep the test's level.

use rayon::prelude::*;
use synthgmm::models::{Logistic, Ols};
use synthgmm::sim::{Labeling, SimConfig, SimModel};
use synthgmm::{CrossWeights, TwoStepGmm};

/// Least squares: the default's J equals the paper's estimator's (step 2 run) to
/// rounding, on random labeling and with known labeling probabilities, at ρ = 0, 0.5
/// and 0.9.
#[test]
fn least_squares_j_is_the_two_step_j() {
    for (k, rho) in [0.0, 0.5, 0.9].into_iter().enumerate() {
        for weighted in [false, true] {
            let mut cfg = SimConfig::new(SimModel::Ols)
                .rows(2000)
                .labeling_rate(0.1)
                .rho(rho);
            if weighted {
                cfg = cfg.labeling(Labeling::ByCovariate {
                    low: 0.05,
                    high: 0.2,
                });
            }
            let data = cfg.simulate(40 + k as u64).unwrap();
            let default = TwoStepGmm::new(Ols).fit(&data).unwrap();
            let paper = TwoStepGmm::new(Ols)
                .cross_weights(CrossWeights::Unrestricted)
                .fit(&data)
                .unwrap();
            assert!(default.step_two().is_none() && paper.step_two().is_some());
            let (a, b) = (default.j_test(), paper.j_test());
            assert_eq!(a.df, b.df);
            let gap = (a.statistic - b.statistic).abs();
            assert!(
                gap <= 1e-9 * b.statistic.max(1.0),
                "ρ {rho}: J {} against {}",
                a.statistic,
                b.statistic
            );
        }
    }
}

/// Logistic regression at n = 2,000 of T = 20,000: the linearized J is within 2% of
/// the two-step J (their difference is o_p(1) under the restrictions, here about
/// 0.1% of a statistic of order its degrees of freedom).
#[test]
fn logistic_j_agrees_with_the_two_step_j() {
    for seed in 1..=3 {
        let data = SimConfig::new(SimModel::Logistic)
            .rows(20_000)
            .labeling_rate(0.1)
            .rho(0.5)
            .simulate(seed)
            .unwrap();
        let default = TwoStepGmm::new(Logistic).fit(&data).unwrap();
        let paper = TwoStepGmm::new(Logistic)
            .cross_weights(CrossWeights::Unrestricted)
            .fit(&data)
            .unwrap();
        let (a, b) = (default.j_test(), paper.j_test());
        assert_eq!(a.df, b.df);
        let gap = (a.statistic - b.statistic).abs();
        assert!(
            gap <= 0.02 * b.statistic.max(b.df as f64),
            "J {} against {}",
            a.statistic,
            b.statistic
        );
    }
}

/// Level of the default's J test for logistic regression (n = 1,000 of T = 10,000,
/// ρ = 0.5, random labeling, R = 1,000): its 5% test rejects within ±3 Monte-Carlo
/// standard errors of 5% (√(0.05 · 0.95 / 1000) = 0.69%: 2.9–7.1%), and it reaches the
/// two-step J's decision in at least 97% of data sets. (At n = 300 of T = 3,000 both
/// reject in 7.1%: the two-step J's own excess at small n, which the linearization
/// neither causes nor mends.)
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn logistic_j_level() {
    let cfg = SimConfig::new(SimModel::Logistic)
        .rows(10_000)
        .labeling_rate(0.1)
        .rho(0.5);
    let reps = 1000;
    let outcomes: Vec<(bool, bool)> = (0..reps as u64)
        .into_par_iter()
        .map(|r| {
            let data = cfg.simulate(7_000_000 + r).unwrap();
            let default = TwoStepGmm::new(Logistic).fit(&data).unwrap();
            let paper = TwoStepGmm::new(Logistic)
                .cross_weights(CrossWeights::Unrestricted)
                .fit(&data)
                .unwrap();
            let rejects = |p: Option<f64>| p.unwrap() < 0.05;
            (
                rejects(default.j_test().p_value),
                rejects(paper.j_test().p_value),
            )
        })
        .collect();
    let level = outcomes.iter().filter(|o| o.0).count() as f64 / reps as f64;
    let two_step = outcomes.iter().filter(|o| o.1).count() as f64 / reps as f64;
    let agree = outcomes.iter().filter(|o| o.0 == o.1).count() as f64 / reps as f64;
    println!(
        "logistic J at 5%: default {level:.3}, two-step {two_step:.3}, same decision {agree:.3}"
    );
    assert!((0.029..=0.071).contains(&level), "level {level}");
    assert!(agree >= 0.97, "agreement {agree}");
}
