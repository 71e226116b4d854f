//! Real-only least squares in every small-sample form equals statsmodels'
//! `OLS(y, X).fit(cov_type='HC0'…'HC3', use_t=True)` (reference values from
//! `tests/data/make_real_only_hc.py`): coefficients, standard errors, t p-values and
//! 95% intervals with n − p degrees of freedom, at n = 100 and n = 30. The default
//! (HC2 with Bell–McCaffrey degrees of freedom) equals the n × n matrix computation of
//! `tests/data/make_bell_mccaffrey.py`.

use crate::common;

use common::{assert_close, expected, load, vec_of};
use synthgmm::baselines::RealOnly;
use synthgmm::models::{Logistic, Ols};
use synthgmm::{DataSources, Estimator, SmallSample, TwoStepGmm};

fn data(rows: &[usize]) -> DataSources {
    let d = load("ols_T1000_n100_rho0");
    let mut labeled = vec![false; d.labeled.len()];
    for &t in rows {
        labeled[t] = true;
    }
    DataSources::builder(&labeled)
        .real(&d.real_x, &d.real_y)
        .source("proxy", &d.proxy_x, &d.proxy_y)
        .build()
        .unwrap()
}

#[test]
fn real_only_equals_statsmodels_hc0_to_hc3_with_t_quantiles() {
    let exp = expected("real_only_hc");
    for sample in ["n100", "n30"] {
        let rows: Vec<usize> = exp[sample]["labeled_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let data = data(&rows);
        for (name, kind) in [
            ("HC0", SmallSample::Hc0),
            ("HC1", SmallSample::Hc1),
            ("HC2", SmallSample::Hc2),
            ("HC3", SmallSample::Hc3),
        ] {
            let e = RealOnly::new(Ols)
                .small_sample(kind)
                .estimate(&data)
                .unwrap();
            let reference = &exp[sample][name];
            let label = format!("{sample} {name}");
            assert_close(
                &label,
                e.theta().as_slice().unwrap(),
                &vec_of(&reference["params"]),
                1e-10,
                0.0,
            );
            assert_close(
                &label,
                e.se().as_slice().unwrap(),
                &vec_of(&reference["bse"]),
                1e-10,
                0.0,
            );
            if kind == SmallSample::Hc0 {
                // HC0 keeps the asymptotic normal quantiles (statsmodels' use_t=False).
                assert_eq!(e.t_df(), None);
                continue;
            }
            assert_eq!(e.t_df(), Some(reference["df_resid"].as_f64().unwrap()));
            assert_close(
                &label,
                e.p_values().as_slice().unwrap(),
                &vec_of(&reference["pvalues"]),
                1e-9,
                1e-15,
            );
            let ci = e.conf_int(0.05).unwrap();
            let expected_ci = intervals(&reference["ci_95"]);
            assert_close(&label, ci.as_slice().unwrap(), &expected_ci, 1e-10, 1e-12);
        }
        // The default is HC2 with t quantiles, as the GMM's.
        let default = RealOnly::new(Ols).estimate(&data).unwrap();
        assert_close(
            "default",
            default.se().as_slice().unwrap(),
            &vec_of(&exp[sample]["HC2"]["bse"]),
            1e-10,
            0.0,
        );
    }
}

/// The reference's intervals, row by row: [lower, upper] per coefficient.
fn intervals(value: &serde_json::Value) -> Vec<f64> {
    value.as_array().unwrap().iter().flat_map(vec_of).collect()
}

fn rows_of(value: &serde_json::Value) -> Vec<usize> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect()
}

/// Coefficients, HC2 standard errors, each coefficient's ν_j, t(ν_j) p-values and
/// 95% intervals against the reference.
fn check_bell_mccaffrey(
    label: &str,
    e: &synthgmm::Estimate,
    reference: &serde_json::Value,
    tol: f64,
) {
    let theta = e.theta().to_vec();
    assert_close(label, &theta, &vec_of(&reference["params"]), tol, 0.0);
    let se = e.se().to_vec();
    assert_close(label, &se, &vec_of(&reference["bse"]), tol, 0.0);
    let dof = e
        .coefficient_df()
        .expect("Bell–McCaffrey degrees of freedom")
        .to_vec();
    assert_close(
        label,
        &dof,
        &vec_of(&reference["coefficient_df"]),
        1e-9,
        0.0,
    );
    let p = e.p_values().to_vec();
    assert_close(label, &p, &vec_of(&reference["pvalues"]), tol, 1e-15);
    let ci = e.conf_int(0.05).unwrap();
    let expected_ci = intervals(&reference["ci_95"]);
    assert_close(label, ci.as_slice().unwrap(), &expected_ci, tol, 1e-12);
    // A Wald test of one coefficient is its t test: F(1, ν_j) of t².
    for j in 0..theta.len() {
        let mut r = ndarray::Array2::zeros((1, theta.len()));
        r[[0, j]] = 1.0;
        let w = e.wald_test(r.view(), ndarray::array![0.0].view()).unwrap();
        assert_eq!(w.denominator_df, Some(dof[j]));
        assert!(
            (w.p_value - p[j]).abs() < 1e-9,
            "{label}: Wald {} vs t {}",
            w.p_value,
            p[j]
        );
    }
}

#[test]
fn the_default_takes_bell_mccaffrey_degrees_of_freedom() {
    let exp = expected("bell_mccaffrey");
    for sample in ["ols_n100", "ols_n30"] {
        let data = data(&rows_of(&exp[sample]["labeled_rows"]));
        let real = RealOnly::new(Ols).estimate(&data).unwrap();
        check_bell_mccaffrey(sample, &real, &exp[sample], 1e-10);
        // ν_j < n − p: a few rows carry much of a coefficient's information.
        assert!(real
            .coefficient_df()
            .unwrap()
            .iter()
            .all(|&v| v < real.t_df().unwrap() + 1e-9));
        // The GMM's default takes the same degrees of freedom from its labeled real fit.
        let gmm = TwoStepGmm::new(Ols).fit(&data).unwrap();
        let dof = gmm
            .estimate()
            .coefficient_df()
            .expect("degrees of freedom")
            .to_vec();
        assert_close(
            sample,
            &dof,
            &vec_of(&exp[sample]["coefficient_df"]),
            1e-9,
            0.0,
        );
        // The explicit HC2 keeps n − p for every coefficient.
        let hc2 = RealOnly::new(Ols)
            .small_sample(SmallSample::Hc2)
            .estimate(&data)
            .unwrap();
        assert!(hc2.coefficient_df().is_none());
    }
    let d = load("logistic_T3000_n300_rho7");
    let keep = rows_of(&exp["logistic_n60"]["labeled_rows"]);
    let labeled: Vec<bool> = (0..d.labeled.len()).map(|t| keep.contains(&t)).collect();
    let data = DataSources::builder(&labeled)
        .real(&d.real_x, &d.real_y)
        .source("proxy", &d.proxy_x, &d.proxy_y)
        .build()
        .unwrap();
    let real = RealOnly::new(Logistic).estimate(&data).unwrap();
    check_bell_mccaffrey("logistic_n60", &real, &exp["logistic_n60"], 1e-7);
}
