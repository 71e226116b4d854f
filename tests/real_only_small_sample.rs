//! Real-only least squares in every small-sample form equals statsmodels'
//! `OLS(y, X).fit(cov_type='HC0'…'HC3', use_t=True)` (reference values from
//! `tests/data/make_real_only_hc.py`): coefficients, standard errors, t p-values and
//! 95% intervals with n − p degrees of freedom, at n = 100 and n = 30.

use crate::common;

use common::{assert_close, expected, load, vec_of};
use synthgmm::baselines::RealOnly;
use synthgmm::models::Ols;
use synthgmm::{DataSources, Estimator, SmallSample};

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
            let expected_ci: Vec<f64> = reference["ci_95"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(vec_of)
                .collect();
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
