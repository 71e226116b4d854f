//! The Poisson and mean models, Wald tests and one-sided inference.

use crate::common;

use common::{assert_close, data_path, matrix_of, vec_of};
use ndarray::{array, Array1, Array2};
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::{Mean, Poisson};
use synthgmm::{Alternative, DataSources, Error, Estimator, TwoStepGmm};

fn poisson_data() -> (DataSources, serde_json::Value) {
    let mut reader = csv::Reader::from_path(data_path("poisson_T3000_n300.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |h: &str| headers.iter().position(|c| c == h).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let t = records.len();
    let num = |r: &csv::StringRecord, c: usize| r[c].parse::<f64>().unwrap_or(f64::NAN);
    let x = Array2::from_shape_fn((t, 3), |(i, j)| num(&records[i], col(&format!("x{j}"))));
    let y = Array1::from_shape_fn(t, |i| num(&records[i], col("y")));
    let proxy = Array1::from_shape_fn(t, |i| num(&records[i], col("proxy_y")));
    let labeled: Vec<bool> = records.iter().map(|r| &r[col("labeled")] == "1").collect();
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap();
    let exp = serde_json::from_str(
        &std::fs::read_to_string(data_path("poisson_T3000_n300.expected.json")).unwrap(),
    )
    .unwrap();
    (data, exp)
}

/// PPI++ Poisson against ppi_py 0.2.3 (`tests/data/make_poisson.py`).
#[test]
fn ppi_poisson_matches_ppi_py() {
    let (data, exp) = poisson_data();
    let fit = PpiPlusPlus::new(Poisson, "proxy")
        .small_sample(synthgmm::SmallSample::Hc0)
        .fit(&data)
        .unwrap();
    assert_close(
        "pointestimate",
        fit.pilot_theta().as_slice().unwrap(),
        &vec_of(&exp["pointestimate"]),
        1e-5,
        1e-3,
    );
    let e = fit.estimate();
    for (alpha, key) in [(0.05, "ci_95"), (0.1, "ci_90")] {
        assert_close(
            key,
            &e.conf_int(alpha)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            &matrix_of(&exp[key]).concat(),
            1e-5,
            1e-3,
        );
    }
    let larger = e.conf_int_against(0.05, Alternative::Larger).unwrap();
    assert_close(
        "one-sided lower bounds",
        &larger.column(0).to_vec(),
        &vec_of(&exp["ci_95_larger_lower"]),
        1e-5,
        1e-3,
    );
    assert!(larger.column(1).iter().all(|v| v.is_infinite()));
}

#[test]
fn gmm_poisson_fits() {
    let (data, _) = poisson_data();
    let fit = TwoStepGmm::new(Poisson).fit(&data).unwrap();
    assert!(fit.converged());
    for (j, truth) in [0.3, 0.5, -0.4].iter().enumerate() {
        assert!((fit.theta()[j] - truth).abs() < 4.0 * fit.se()[j]);
    }
    assert!(fit.se().iter().all(|s| s.is_finite() && *s > 0.0));
}

#[test]
fn poisson_without_finite_estimate_is_separation() {
    // Zero counts on every row of a group (the dummy x2): its coefficient goes to −∞.
    let x = Array2::from_shape_fn((40, 3), |(i, j)| match j {
        0 => 1.0,
        1 => (i as f64 * 0.7).sin(),
        _ => (i < 10) as u8 as f64,
    });
    let y = Array1::from_shape_fn(40, |i| if i < 10 { 0.0 } else { (i % 4) as f64 });
    let data = DataSources::builder(&vec![true; 40])
        .real(&x, &y)
        .build()
        .unwrap();
    let err = RealOnly::new(Poisson).estimate(&data).unwrap_err();
    assert!(matches!(err, Error::Separation { .. }), "{err:?}");
}

/// The mean with an LLM annotation: real-only is the sample mean with se s/√n·√((n−1)/n)
/// (HC0), and GMM is more precise when the annotation tracks the label.
#[test]
fn mean_is_the_sample_mean_and_gains_from_a_source() {
    let t = 2000;
    let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64).sin() });
    let e = Array1::from_shape_fn(t, |i| ((i * 7919) % 1000) as f64 / 1000.0 - 0.5);
    let y = e.mapv(|v| (v > 0.1) as u8 as f64);
    let llm = e.mapv(|v| (v > 0.05) as u8 as f64);
    let labeled: Vec<bool> = (0..t).map(|i| i % 10 == 3).collect();
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("llm", &x, &llm)
        .build()
        .unwrap();
    let real = RealOnly::new(Mean).estimate(&data).unwrap();
    let lab: Vec<f64> = (0..t).filter(|&i| labeled[i]).map(|i| y[i]).collect();
    let n = lab.len() as f64;
    let mean = lab.iter().sum::<f64>() / n;
    // HC2 (the default) for a mean, leverage 1/n: the textbook s²/n with divisor n − 1.
    let var = lab.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!((real.theta()[0] - mean).abs() < 1e-12);
    assert!((real.se()[0] - (var / n).sqrt()).abs() < 1e-12);
    assert_eq!(real.names(), ["mean"]);
    let gmm = TwoStepGmm::new(Mean).fit(&data).unwrap();
    assert!(gmm.se()[0] < 0.8 * real.se()[0]);
    let ppi = PpiPlusPlus::new(Mean, "llm").estimate(&data).unwrap();
    assert_eq!(ppi.names(), ["mean"]);
}

#[test]
fn wald_tests_and_one_sided_p_values() {
    let e = synthgmm::Estimate::new(
        "e",
        "ols",
        vec!["a".into(), "b".into(), "c".into()],
        array![1.0, 2.0, -0.5],
        array![[0.25, 0.05, 0.0], [0.05, 1.0, 0.1], [0.0, 0.1, 0.04]],
        100,
        50,
    )
    .unwrap();
    // Joint test of b = 0 and c = 0 against the closed form.
    let r = array![[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let w = e.wald_test(r.view(), array![0.0, 0.0].view()).unwrap();
    let (vb, vc, cbc) = (1.0, 0.04, 0.1);
    let det = vb * vc - cbc * cbc;
    let expected = (vc * 4.0 - 2.0 * cbc * 2.0 * -0.5 + vb * 0.25) / det;
    assert!(
        (w.statistic - expected).abs() < 1e-10,
        "{} vs {expected}",
        w.statistic
    );
    assert_eq!(w.df, 2);
    assert!((w.p_value - (-expected / 2.0).exp()).abs() < 1e-12); // χ²(2) tail
                                                                  // One-sided p-values: Φ(−z) and Φ(z), summing to 1; two-sided twice the smaller.
    let larger = e.p_values_against(Alternative::Larger);
    let smaller = e.p_values_against(Alternative::Smaller);
    for j in 0..3 {
        assert!((larger[j] + smaller[j] - 1.0).abs() < 1e-12);
        assert!((e.p_values()[j] - 2.0 * larger[j].min(smaller[j])).abs() < 1e-12);
    }
    // z_a = 2: one-sided p = 1 − Φ(2) = 0.0227501319.
    assert!((larger[0] - 0.022_750_131_948_179).abs() < 1e-10);
    assert!(e
        .wald_test(array![[1.0, 0.0]].view(), array![0.0].view())
        .is_err());
    let redundant = array![[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]];
    assert!(matches!(
        e.wald_test(redundant.view(), array![0.0, 0.0].view()),
        Err(Error::SingularCovariance { .. })
    ));
}

#[test]
fn an_estimate_prints_its_table_and_notes() {
    let e = synthgmm::Estimate::new(
        "mine",
        "ols",
        vec!["slope".into()],
        array![2.0],
        array![[0.25]],
        100,
        10,
    )
    .unwrap();
    let text = e.to_string();
    assert!(text.starts_with("mine (ols; T = 100, n = 10)"), "{text}");
    assert!(
        text.contains("slope") && text.contains("P>|z|") && text.contains("4.000"),
        "{text}"
    );
}
