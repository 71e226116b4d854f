//! The baselines against independent references and closed forms.

mod common;

use approx::assert_relative_eq;
use common::{assert_close, expected, load, matrix_of, vec_of};
use ndarray::{Array1, Array2, Axis};
use synthgmm::baselines::{Dsl, Lambda, NaivePooled, PpiPlusPlus, PpiSynth, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{DataSources, Error, Estimator, MomentModel, OnSources, TwoStepGmm};

/// ppi_py 0.2.3 (`ppi_ols_pointestimate`, `ppi_ols_ci`, and the logistic versions,
/// λ tuned and clipped; classical = λ = 0) on the reference data sets, with the proxy
/// outcome and the real covariates (the proxy's covariates equal the real ones there).
fn check_ppi<M: MomentModel + Clone>(name: &str, model: M, tol: f64) {
    let data = load(name).sources(&["proxy"]);
    let exp = &expected(name)["ppi_plus_plus_proxy"];
    let fit = PpiPlusPlus::new(model.clone(), "proxy").fit(&data).unwrap();
    assert_close("ppi theta", fit.pilot_theta().as_slice().unwrap(), &vec_of(&exp["theta"]), tol, 1e-3);
    for (key, alpha) in [("ci_95", 0.05), ("ci_90", 0.10)] {
        let ci: Vec<f64> = fit.estimate().conf_int(alpha).unwrap().iter().copied().collect();
        assert_close(&format!("ppi {key}"), &ci, &matrix_of(&exp[key]).concat(), tol, 1e-3);
    }
    assert!((0.0..=1.0).contains(&fit.lambda()));
    if let Some(classical) = exp.get("classical_ci_95") {
        let fit = PpiPlusPlus::new(model, "proxy").lambda(Lambda::Fixed(0.0)).fit(&data).unwrap();
        let ci: Vec<f64> = fit.estimate().conf_int(0.05).unwrap().iter().copied().collect();
        assert_close("classical ci_95", &ci, &matrix_of(classical).concat(), tol, 1e-3);
    }
}

#[test]
fn ppi_plus_plus_matches_ppi_py_ols() {
    check_ppi("ols_T3000_n300_rho7", Ols, 1e-6);
    check_ppi("ols_T1000_n100_rho0", Ols, 1e-6);
}

#[test]
fn ppi_plus_plus_matches_ppi_py_logistic() {
    check_ppi("logistic_T3000_n300_rho7", Logistic, 1e-5);
}
