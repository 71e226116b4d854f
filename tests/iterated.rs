//! Iterated GMM against an independent construction: the stacked moments of the
//! reference data formed row by row, and W = Ω̂(β)⁻¹ re-estimated and the closed form
//! re-solved until it stops moving.

use crate::common;

use common::{load, solve, DenseStacked};
use ndarray::{Array1, Array2, Axis};
use synthgmm::models::Ols;
use synthgmm::{Covariance, Error, StepOne, TwoStepGmm, Weighting};

#[test]
fn iterated_gmm_matches_an_independent_construction() {
    let r = load("ols_T1000_n100_rho0");
    let t = r.labeled.len();
    let (q, k) = (DenseStacked::Q, DenseStacked::K);
    let dense = DenseStacked { r: &r };
    let omega = |beta: &Array1<f64>| dense.omega(beta);
    let (jac, b) = dense.affine();
    let solve_with = |beta: &Array1<f64>| -> Array1<f64> {
        let w = solve(&omega(beta), &Array2::eye(k));
        let gtw = jac.t().dot(&w);
        -solve(&gtw.dot(&jac), &gtw.dot(&b).insert_axis(Axis(1)))
            .column(0)
            .to_owned()
    };
    // Start anywhere consistent (identity weight); iterate to a fixed point.
    let gtg = jac.t().dot(&jac);
    let mut beta = -solve(&gtg, &jac.t().dot(&b).insert_axis(Axis(1)))
        .column(0)
        .to_owned();
    for _ in 0..200 {
        let next = solve_with(&beta);
        let moved = (&next - &beta).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        beta = next;
        if moved < 1e-14 {
            break;
        }
    }
    let w = solve(&omega(&beta), &Array2::eye(k));
    let cov = solve(&jac.t().dot(&w).dot(&jac), &Array2::eye(q)) / t as f64;

    let data = r.sources(&["proxy", "synth"]);
    for step_one in [StepOne::PerBlock, StepOne::Identity] {
        let fit = TwoStepGmm::new(Ols)
            .step_one(step_one)
            .weighting(Weighting::Iterated { max_rounds: 100 })
            .fit(&data)
            .unwrap();
        for j in 0..q {
            assert!(
                (fit.params()[j] - beta[j]).abs() <= 1e-8 * beta[j].abs().max(1.0),
                "param {j}: {} vs {}",
                fit.params()[j],
                beta[j]
            );
        }
        for j in 0..3 {
            let se = cov[[j, j]].sqrt();
            assert!((fit.se()[j] - se).abs() <= 1e-6 * se, "se {j}");
        }
        assert_eq!(fit.covariance_kind(), Some(Covariance::Reestimated));
    }
    // Two-step differs from the fixed point (else the test would prove nothing).
    let two_step = TwoStepGmm::new(Ols).fit(&data).unwrap();
    let gap = (two_step.params()[1] - beta[1]).abs();
    assert!(gap > 1e-6, "{gap}");
}

#[test]
fn iterated_gmm_needs_a_round() {
    let r = load("ols_T1000_n100_rho0");
    let err = TwoStepGmm::new(Ols)
        .weighting(Weighting::Iterated { max_rounds: 0 })
        .fit(&r.sources(&["proxy"]))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidConfig {
            parameter: "weighting",
            ..
        }
    ));
}

/// Continuously updated GMM against an independent construction: Q(β) = ḡᵀΩ̂(β)⁻¹ḡ
/// from the stacked moments formed row by row, minimised by Newton's method on
/// central-difference derivatives.
#[test]
fn continuously_updated_gmm_matches_an_independent_minimisation() {
    let r = load("ols_T1000_n100_rho0");
    let t = r.labeled.len();
    let (q, k) = (DenseStacked::Q, DenseStacked::K);
    let dense = DenseStacked { r: &r };
    let objective = |beta: &Array1<f64>| -> f64 {
        let g = dense.mean(beta);
        let w_g = solve(&dense.omega(beta), &g.clone().insert_axis(Axis(1)));
        g.dot(&w_g.column(0))
    };
    let gradient = |beta: &Array1<f64>| -> Array1<f64> {
        Array1::from_shape_fn(q, |j| {
            let h = 1e-6 * beta[j].abs().max(1.0);
            let (mut up, mut down) = (beta.clone(), beta.clone());
            up[j] += h;
            down[j] -= h;
            (objective(&up) - objective(&down)) / (2.0 * h)
        })
    };
    // Start from the two-step estimate of the crate (any nearby point would do).
    let data = r.sources(&["proxy", "synth"]);
    let two_step = TwoStepGmm::new(Ols)
        .cross_weights(synthgmm::CrossWeights::Unrestricted)
        .fit(&data)
        .unwrap();
    let mut beta = two_step.params().to_owned();
    for _ in 0..50 {
        let g = gradient(&beta);
        let mut hessian = Array2::zeros((q, q));
        for j in 0..q {
            let h = 1e-4 * beta[j].abs().max(1.0);
            let (mut up, mut down) = (beta.clone(), beta.clone());
            up[j] += h;
            down[j] -= h;
            hessian
                .column_mut(j)
                .assign(&((gradient(&up) - gradient(&down)) / (2.0 * h)));
        }
        let hessian = (&hessian + &hessian.t()) / 2.0;
        let step = solve(&hessian, &g.insert_axis(Axis(1)))
            .column(0)
            .to_owned();
        beta = &beta - &step;
        if step.iter().fold(0.0_f64, |m, v| m.max(v.abs())) < 1e-13 {
            break;
        }
    }
    let (jac, _) = dense.affine();
    let w = solve(&dense.omega(&beta), &Array2::eye(k));
    let cov = solve(&jac.t().dot(&w).dot(&jac), &Array2::eye(q)) / t as f64;

    let fit = TwoStepGmm::new(Ols)
        .weighting(Weighting::ContinuouslyUpdated { max_iters: 100 })
        .fit(&data)
        .unwrap();
    for j in 0..q {
        let se = cov[[j, j]].sqrt();
        assert!(
            (fit.params()[j] - beta[j]).abs() <= 1e-6 * se,
            "param {j}: {} vs {} (se {se})",
            fit.params()[j],
            beta[j]
        );
    }
    for j in 0..3 {
        let se = cov[[j, j]].sqrt();
        assert!((fit.se()[j] - se).abs() <= 1e-6 * se, "se {j}");
    }
    assert!((fit.j_test().statistic - t as f64 * objective(&beta)).abs() < 1e-6);
    // CUE is neither the two-step estimate nor the iterated one.
    let iterated = TwoStepGmm::new(Ols)
        .weighting(Weighting::Iterated { max_rounds: 100 })
        .fit(&data)
        .unwrap();
    for other in [&two_step, &iterated] {
        let gap = (other.params()[1] - beta[1]).abs();
        assert!(gap > 1e-7, "{gap}");
    }
}
