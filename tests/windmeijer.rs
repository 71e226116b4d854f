//! Windmeijer's corrected covariance against an independent construction.
//!
//! For linear moments ḡ(β) = Gβ + b, the two-step estimate given a step-1 estimate β₁
//! has the closed form β̂₂(β₁) = −(GᵀW(β₁)G)⁻¹GᵀW(β₁)b with W(β₁) = Ω̂(β₁)⁻¹. Here the
//! stacked moment matrix is built row by row in the test, G and b are read off ḡ at unit
//! vectors, and D = ∂β̂₂/∂β₁ᵀ is a central difference of that closed form: no use of
//! the first-order-condition formula the crate implements. With the identity first step
//! the step-1 and step-2 estimates are the independent reference results
//! (`tests/data/README.md`); with the per-block first step, least squares computed here.

use crate::common;

use common::{expected, load, solve, vec_of, DenseStacked};
use ndarray::{Array1, Array2, Axis};
use synthgmm::models::Ols;
use synthgmm::{Covariance, CrossWeights, StepOne, TwoStepGmm};

/// Which first step the construction mirrors.
#[derive(Clone, Copy, PartialEq)]
enum First {
    /// Identity weight on all 15 moments; β₁ from the reference results.
    Identity,
    /// θ from the labeled real rows, each η from its source's rows, by least squares
    /// computed here; its sandwich uses only those 9 just-identified moments.
    PerBlock,
}

#[test]
fn windmeijer_matches_an_independent_construction() {
    construct_and_compare(First::Identity);
}

#[test]
fn windmeijer_with_the_per_block_first_step_matches_an_independent_construction() {
    construct_and_compare(First::PerBlock);
}

fn construct_and_compare(first: First) {
    let name = "ols_T1000_n100_rho0";
    let r = load(name);
    let exp = &expected(name)["gmm_synth"];
    let t = r.labeled.len();
    let (p, q, k) = (DenseStacked::P, DenseStacked::Q, DenseStacked::K);
    let dense = DenseStacked { r: &r };
    let omega = |beta: &Array1<f64>| dense.omega(beta);
    let (jac, b) = dense.affine();
    let two_step = |beta1: &Array1<f64>| -> Array1<f64> {
        let w = solve(&omega(beta1), &Array2::eye(k));
        let gtw = jac.t().dot(&w);
        -solve(&gtw.dot(&jac), &gtw.dot(&b).insert_axis(Axis(1)))
            .column(0)
            .to_owned()
    };

    // The moments each first step solves: all 15, or the real and all-rows blocks.
    let selected: Vec<usize> = match first {
        First::Identity => (0..k).collect(),
        First::PerBlock => (0..p).chain(3 * p..k).collect(),
    };
    let beta1 = match first {
        First::Identity => Array1::from(vec_of(&exp["step1_params"])),
        First::PerBlock => {
            let labeled: Vec<usize> = (0..t).filter(|&i| r.labeled[i]).collect();
            let ols = |x: &Array2<f64>, y: &Array1<f64>| -> Array1<f64> {
                solve(&x.t().dot(x), &x.t().dot(y).insert_axis(Axis(1)))
                    .column(0)
                    .to_owned()
            };
            let real = ols(
                &r.real_x.select(Axis(0), &labeled),
                &r.real_y.select(Axis(0), &labeled),
            );
            let proxy = ols(&r.proxy_x, &r.proxy_y);
            let synth = ols(&r.synth_x, &r.synth_y);
            ndarray::concatenate(Axis(0), &[real.view(), proxy.view(), synth.view()]).unwrap()
        }
    };
    let beta2 = two_step(&beta1);
    if first == First::Identity {
        // The closed form reproduces the reference step-2 estimate.
        let reference = Array1::from(vec_of(&exp["params"]));
        for j in 0..q {
            assert!((beta2[j] - reference[j]).abs() < 1e-9 * (1.0 + reference[j].abs()));
        }
    }
    let mut d = Array2::zeros((q, q));
    for j in 0..q {
        let h = 1e-4 * beta1[j].abs().max(1.0);
        let (mut up, mut down) = (beta1.clone(), beta1.clone());
        up[j] += h;
        down[j] -= h;
        d.column_mut(j)
            .assign(&((two_step(&up) - two_step(&down)) / (2.0 * h)));
    }
    let w2 = solve(&omega(&beta1), &Array2::eye(k));
    let v2 = solve(&jac.t().dot(&w2).dot(&jac), &Array2::eye(q)) / t as f64;
    let jac1 = jac.select(Axis(0), &selected);
    let omega1 = omega(&beta1)
        .select(Axis(0), &selected)
        .select(Axis(1), &selected);
    let bread = solve(&jac1.t().dot(&jac1), &Array2::eye(q));
    let v1 = bread.dot(&jac1.t()).dot(&omega1).dot(&jac1).dot(&bread) / t as f64;
    let dv2 = d.dot(&v2);
    let corrected = &v2 + &dv2 + dv2.t() + d.dot(&v1).dot(&d.t());

    let data = r.sources(&["proxy", "synth"]);
    let step_one = match first {
        First::Identity => StepOne::Identity,
        First::PerBlock => StepOne::PerBlock,
    };
    let fit = TwoStepGmm::new(Ols)
        .cross_weights(CrossWeights::Unrestricted)
        .step_one(step_one)
        .covariance(Covariance::Windmeijer)
        .fit(&data)
        .unwrap();
    for j in 0..q {
        assert!((fit.params()[j] - beta2[j]).abs() < 1e-9 * (1.0 + beta2[j].abs()));
        assert!((fit.step1_params()[j] - beta1[j]).abs() < 1e-9 * (1.0 + beta1[j].abs()));
    }
    let cov = fit.cov();
    for i in 0..q {
        for j in 0..q {
            let (a, e) = (cov[[i, j]], corrected[[i, j]]);
            let scale = (corrected[[i, i]] * corrected[[j, j]]).sqrt();
            assert!((a - e).abs() <= 1e-6 * scale, "V[{i},{j}]: {a:e} vs {e:e}");
        }
    }
    // The correction matters here: it widens the θ standard errors.
    let plain = TwoStepGmm::new(Ols)
        .cross_weights(CrossWeights::Unrestricted)
        .step_one(step_one)
        .covariance(Covariance::StepTwo)
        .fit(&data)
        .unwrap();
    assert!((0..3).all(|j| fit.se()[j] > plain.se()[j]));
}
