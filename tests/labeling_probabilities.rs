//! Known labeling probabilities π_t: weighting the labeled moments by S_t/π_t keeps the
//! two-step estimator consistent when labeling depends on covariates.
//!
//! DGP: x₁ ~ N(0, 1), y = 1 + x₁ + 0.5 x₁² + e, fitted by OLS on (1, x₁). The target is
//! the population projection θ* = (1 + 0.5 E[x₁²], 1 + 0.5 E[x₁³]) = (1.5, 1.0). Rows
//! with x₁ > 0 are labeled with probability 0.25, the others with 0.05, so the labeled
//! rows over-represent large x₁, where the quadratic term bends y upward.
//!
//! Unweighted, real-only is badly biased; unweighted GMM removes much of that bias
//! through the proxy (the all-rows moments act as a regression correction) but not all
//! of it, and its J test flags the non-random labeling. Weighted GMM is unbiased and its
//! J test keeps its level.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::models::Ols;
use synthgmm::{DataSources, TwoStepGmm};

fn data(seed: u64, t: usize) -> DataSources {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x1: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
    let e: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
    let u: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
    let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { x1[i] });
    let y = 1.0 + &x1 + 0.5 * &x1.mapv(|v| v * v) + &e;
    let proxy = 1.0 + &x1 + 0.5 * &x1.mapv(|v| v * v) + 0.8 * &e + 0.6 * &u;
    let pi = x1.mapv(|v| if v > 0.0 { 0.25 } else { 0.05 });
    let labeled: Vec<bool> = pi.iter().map(|&p| rng.random::<f64>() < p).collect();
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .labeling_probabilities(&pi)
        .build()
        .unwrap()
}

#[test]
fn weighting_by_known_probabilities_removes_the_selection_bias() {
    let reps = 60;
    let truth = [1.5, 1.0];
    let mut weighted = vec![Vec::new(); 2];
    let mut unweighted = vec![Vec::new(); 2];
    let mut naive_real = vec![Vec::new(); 2];
    let mut rejections = 0;
    let mut weighted_rejections = 0;
    for seed in 0..reps {
        let d = data(seed, 4000);
        let w = TwoStepGmm::new(Ols).fit(&d).unwrap();
        let u = TwoStepGmm::new(Ols)
            .use_labeling_probabilities(false)
            .fit(&d)
            .unwrap();
        for j in 0..2 {
            weighted[j].push(w.theta()[j]);
            unweighted[j].push(u.theta()[j]);
        }
        let r = TwoStepGmm::new(Ols)
            .use_labeling_probabilities(false)
            .fit(&d.select_sources(&[]).unwrap())
            .unwrap();
        for (j, v) in naive_real.iter_mut().enumerate() {
            v.push(r.theta()[j]);
        }
        rejections += (u.j_test().p_value.unwrap() < 0.05) as usize;
        weighted_rejections += (w.j_test().p_value.unwrap() < 0.05) as usize;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mc_se = |v: &[f64]| {
        let m = mean(v);
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64 / v.len() as f64)
            .sqrt()
    };
    for j in 0..2 {
        let (mw, sw) = (mean(&weighted[j]), mc_se(&weighted[j]));
        assert!(
            (mw - truth[j]).abs() < 4.0 * sw,
            "weighted coef {j}: mean {mw}, MC se {sw}"
        );
        let (mr, sr) = (mean(&naive_real[j]), mc_se(&naive_real[j]));
        assert!(
            (mr - truth[j]).abs() > 4.0 * sr,
            "unweighted real-only coef {j} should be biased: {mr} ± {sr}"
        );
        println!("coef {j}: weighted GMM {mw:.4} ± {sw:.4}, unweighted GMM {:.4} ± {:.4}, unweighted real-only {mr:.4} ± {sr:.4}",
            mean(&unweighted[j]), mc_se(&unweighted[j]));
    }
    println!(
        "J rejections at 5%: unweighted {rejections}/{reps}, weighted {weighted_rejections}/{reps}"
    );
    // Weighted, the restrictions hold: rejections near 5% (binomial 60 × 0.05 = 3, sd 1.7).
    assert!(
        weighted_rejections <= 10,
        "weighted J rejected {weighted_rejections} of {reps}"
    );
    // Unweighted, the labeled and all-rows proxy moments disagree: the J test sees it.
    assert!(
        rejections > reps as usize / 2,
        "J rejected only {rejections} of {reps}"
    );
}
