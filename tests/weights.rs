//! Observation (survey) weights: weighted least squares with its HC0 sandwich from the
//! textbook formulas, the invariance of the weighted GMM to the scale of the weights,
//! and errors for what does not take weights.

use crate::common;

use common::{assert_close, load, solve};
use ndarray::{Array1, Array2, Axis};
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::Ols;
use synthgmm::{
    Column, Covariance, CrossWeights, DataSources, Error, Estimator, SmallSample, TwoStepGmm,
};

/// Positive weights that vary with the row (and with x, so that weighting matters).
fn weights(t: usize) -> Array1<f64> {
    Array1::from_shape_fn(t, |i| 0.5 + ((i * 37) % 11) as f64 / 5.0)
}

/// Weighted least squares on the labeled rows and (XᵀWX)⁻¹ Σ w² x xᵀ r² (XᵀWX)⁻¹.
fn wls_hc0(x: &Array2<f64>, y: &Array1<f64>, w: &Array1<f64>) -> (Array1<f64>, Array2<f64>) {
    let xw = x * &w.view().insert_axis(Axis(1));
    let xtwx = xw.t().dot(x);
    let beta = solve(&xtwx, &xw.t().dot(y).insert_axis(Axis(1)))
        .column(0)
        .to_owned();
    let r = y - &x.dot(&beta);
    let s = &(w * w) * &(&r * &r);
    let meat = (x * &s.insert_axis(Axis(1))).t().dot(x);
    let bread = solve(&xtwx, &Array2::eye(x.ncols()));
    (beta, bread.dot(&meat).dot(&bread))
}

#[test]
fn real_only_is_weighted_least_squares_with_hc0() {
    let d = load("ols_T1000_n100_rho0");
    let t = d.labeled.len();
    let w = weights(t);
    let data = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .source("proxy", &d.proxy_x, &d.proxy_y)
        .weights(&w)
        .build()
        .unwrap();
    let lab: Vec<usize> = (0..t).filter(|&i| d.labeled[i]).collect();
    let (beta, cov) = wls_hc0(
        &d.real_x.select(Axis(0), &lab),
        &d.real_y.select(Axis(0), &lab),
        &w.select(Axis(0), &lab),
    );
    let fit = RealOnly::new(Ols)
        .small_sample(SmallSample::Hc0)
        .estimate(&data)
        .unwrap();
    assert_close(
        "theta",
        fit.theta().as_slice().unwrap(),
        beta.as_slice().unwrap(),
        1e-10,
        0.0,
    );
    let got: Vec<f64> = fit.cov().iter().copied().collect();
    let want: Vec<f64> = cov.iter().copied().collect();
    assert_close("cov", &got, &want, 1e-9, 1e-12);
}

/// Weights multiply the moments, so a common factor changes nothing: not the estimate,
/// not its covariance (Windmeijer's included), not the J test.
#[test]
fn gmm_does_not_depend_on_the_scale_of_the_weights() {
    let d = load("ols_T3000_n300_rho7");
    let t = d.labeled.len();
    let w = weights(t);
    let build = |w: &Array1<f64>| {
        DataSources::builder(&d.labeled)
            .real(&d.real_x, &d.real_y)
            .source("proxy", &d.proxy_x, &d.proxy_y)
            .source("synth", &d.synth_x, &d.synth_y)
            .weights(w)
            .build()
            .unwrap()
    };
    let gmm = TwoStepGmm::new(Ols)
        .cross_weights(CrossWeights::Unrestricted)
        .covariance(Covariance::Windmeijer);
    let a = gmm.fit(&build(&w)).unwrap();
    let b = gmm.fit(&build(&(&w * 7.5))).unwrap();
    assert_close(
        "theta",
        b.theta().as_slice().unwrap(),
        a.theta().as_slice().unwrap(),
        1e-10,
        0.0,
    );
    assert_close(
        "se",
        b.se().as_slice().unwrap(),
        a.se().as_slice().unwrap(),
        1e-8,
        0.0,
    );
    assert_close(
        "j",
        &[b.j_test().statistic],
        &[a.j_test().statistic],
        1e-8,
        1e-12,
    );
    // And the weights do matter: unweighted is another estimate.
    let plain = gmm
        .fit(&load("ols_T3000_n300_rho7").sources(&["proxy", "synth"]))
        .unwrap();
    assert!((plain.theta()[1] - a.theta()[1]).abs() > 1e-6);
}

/// With weights and sources the weighted GMM's θ̂ stays the weighted real-only one to
/// first order when the sources carry nothing (ρ = 0), and its variance is no larger.
#[test]
fn weighted_gmm_does_no_harm_with_useless_sources() {
    let d = load("ols_T1000_n100_rho0");
    let w = weights(d.labeled.len());
    let data = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .source("proxy", &d.proxy_x, &d.proxy_y)
        .weights(&w)
        .build()
        .unwrap();
    let real = RealOnly::new(Ols).estimate(&data).unwrap();
    let gmm = TwoStepGmm::new(Ols).fit(&data).unwrap();
    for j in 0..3 {
        let (a, b) = (gmm.se()[j], real.se()[j]);
        assert!(a < 1.1 * b, "coefficient {j}: GMM se {a} vs real-only {b}");
        assert!((gmm.theta()[j] - real.theta()[j]).abs() < 2.0 * b);
    }
}

#[test]
fn bad_weights_and_estimators_without_weights_are_errors() {
    let d = load("ols_T1000_n100_rho0");
    let t = d.labeled.len();
    let mut w = weights(t);
    w[17] = 0.0;
    let err = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .weights(&w)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidValue {
                column: Column::Weight,
                row: 17,
                ..
            }
        ),
        "{err:?}"
    );
    let short = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .weights(&weights(t - 1))
        .build()
        .unwrap_err();
    assert!(matches!(short, Error::LengthMismatch { .. }));
    let data = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .source("proxy", &d.proxy_x, &d.proxy_y)
        .weights(&weights(t))
        .build()
        .unwrap();
    let err = synthgmm::baselines::RePpi::new(Ols, ["proxy"])
        .estimate(&data)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                parameter: "weights",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Weighted logistic regression on the labeled rows: statsmodels' GLM with
/// `var_weights` and the HC0 sandwich (`tests/data/make_weights.py`).
#[test]
fn weighted_logistic_real_only_matches_statsmodels() {
    let d = load("logistic_T3000_n300_rho7");
    let w = weights(d.labeled.len());
    let data = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .weights(&w)
        .build()
        .unwrap();
    let fit = RealOnly::new(synthgmm::models::Logistic)
        .small_sample(SmallSample::Hc0)
        .estimate(&data)
        .unwrap();
    let exp = common::expected("weighted_logistic");
    assert_close(
        "theta",
        fit.theta().as_slice().unwrap(),
        &common::vec_of(&exp["theta"]),
        1e-8,
        0.0,
    );
    let got: Vec<f64> = fit.cov().iter().copied().collect();
    assert_close(
        "cov",
        &got,
        &common::matrix_of(&exp["cov"]).concat(),
        1e-6,
        1e-12,
    );
}

/// Weighted PPI++: ppi_py 0.2.3's `ppi_ols_ci` / `ppi_logistic_ci` with `w` and
/// `w_unlabeled` (each normalized to mean 1 by ppi_py) on the reference data sets.
#[test]
fn weighted_ppi_matches_ppi_py() {
    let exp = common::expected("weighted_ppi");
    for (name, logistic) in [
        ("ols_T3000_n300_rho7", false),
        ("logistic_T3000_n300_rho7", true),
    ] {
        let d = load(name);
        let w = weights(d.labeled.len());
        let data = DataSources::builder(&d.labeled)
            .real(&d.real_x, &d.real_y)
            .source("proxy", &d.real_x, &d.proxy_y)
            .weights(&w)
            .build()
            .unwrap();
        let fit = if logistic {
            PpiPlusPlus::new(synthgmm::models::Logistic, "proxy")
                .small_sample(synthgmm::SmallSample::Hc0)
                .estimate(&data)
        } else {
            PpiPlusPlus::new(Ols, "proxy")
                .small_sample(synthgmm::SmallSample::Hc0)
                .estimate(&data)
        }
        .unwrap();
        let ci: Vec<f64> = fit.conf_int(0.1).unwrap().iter().copied().collect();
        let tol = if logistic { 1e-5 } else { 1e-6 };
        assert_close(
            name,
            &ci,
            &common::matrix_of(&exp[name]["ci_90"]).concat(),
            tol,
            1e-3,
        );
    }
}

/// Naive pooling with weights is weighted least squares on the pooled rows (labeled
/// real rows, then every proxy row, each with its weight), with the HC0 sandwich.
#[test]
fn weighted_naive_pooling_is_pooled_weighted_least_squares() {
    let d = load("ols_T1000_n100_rho0");
    let t = d.labeled.len();
    let w = weights(t);
    let data = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .source("proxy", &d.proxy_x, &d.proxy_y)
        .weights(&w)
        .build()
        .unwrap();
    let lab: Vec<usize> = (0..t).filter(|&i| d.labeled[i]).collect();
    let x = ndarray::concatenate(
        Axis(0),
        &[d.real_x.select(Axis(0), &lab).view(), d.proxy_x.view()],
    )
    .unwrap();
    let y = ndarray::concatenate(
        Axis(0),
        &[d.real_y.select(Axis(0), &lab).view(), d.proxy_y.view()],
    )
    .unwrap();
    let pw = ndarray::concatenate(Axis(0), &[w.select(Axis(0), &lab).view(), w.view()]).unwrap();
    let (beta, cov) = wls_hc0(&x, &y, &pw);
    let fit = synthgmm::baselines::NaivePooled::new(Ols, ["proxy"])
        .small_sample(synthgmm::SmallSample::Hc0)
        .estimate(&data)
        .unwrap();
    assert_close(
        "theta",
        fit.theta().as_slice().unwrap(),
        beta.as_slice().unwrap(),
        1e-10,
        0.0,
    );
    let got: Vec<f64> = fit.cov().iter().copied().collect();
    assert_close(
        "cov",
        &got,
        &cov.iter().copied().collect::<Vec<_>>(),
        1e-9,
        1e-12,
    );
}

/// DSL for least squares with a constant labeling rate and weights is weighted least
/// squares of the pseudo-outcome f + S/π (y − f), with the HC0 sandwich.
#[test]
fn weighted_dsl_is_the_weighted_pseudo_outcome_regression() {
    let d = load("ols_T1000_n100_rho0");
    let t = d.labeled.len();
    let w = weights(t);
    let data = DataSources::builder(&d.labeled)
        .real(&d.real_x, &d.real_y)
        .source("proxy", &d.real_x, &d.proxy_y)
        .weights(&w)
        .build()
        .unwrap();
    let pi = d.labeled.iter().filter(|&&s| s).count() as f64 / t as f64;
    let pseudo = Array1::from_shape_fn(t, |i| {
        let f = d.proxy_y[i];
        if d.labeled[i] {
            f + (d.real_y[i] - f) / pi
        } else {
            f
        }
    });
    let (beta, cov) = wls_hc0(&d.real_x, &pseudo, &w);
    let fit = synthgmm::baselines::Dsl::new(Ols, "proxy")
        .small_sample(synthgmm::SmallSample::Hc0)
        .estimate(&data)
        .unwrap();
    assert_close(
        "theta",
        fit.theta().as_slice().unwrap(),
        beta.as_slice().unwrap(),
        1e-10,
        0.0,
    );
    let got: Vec<f64> = fit.cov().iter().copied().collect();
    assert_close(
        "cov",
        &got,
        &cov.iter().copied().collect::<Vec<_>>(),
        1e-9,
        1e-12,
    );
}
