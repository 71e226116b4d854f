//! The interval of a proportion (the mean of a 0/1 outcome) is formed on the logit
//! scale by every estimator. Real-only's equals the closed form of Stata's `proportion`
//! (`tests/data/make_proportion_interval.py`), and the default's covers a rare category
//! in a Monte-Carlo study where the Wald interval does not.

use crate::common;

use common::{assert_close, expected, vec_of};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synthgmm::baselines::{Dsl, Lambda, NaivePooled, PpiPlusPlus, RealOnly};
use synthgmm::models::Mean;
use synthgmm::{
    Alternative, CrossWeights, DataSources, Estimate, Estimator, IntervalScale, Note, TwoStepGmm,
};

/// The sample `name` of the reference file: its labeled rows' outcomes and a proxy.
fn sample(name: &str) -> (DataSources, serde_json::Value) {
    let exp = expected("proportion_interval")[name].clone();
    let labeled: Vec<bool> = exp["labeled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let y: Array1<f64> = exp["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect();
    let proxy = Array1::from(vec_of(&exp["proxy"]));
    let x = Array2::ones((y.len(), 1));
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap();
    (data, exp)
}

#[test]
fn real_only_equals_the_closed_form_logit_interval() {
    for name in ["4_of_50", "1_of_30", "48_of_50"] {
        let (data, exp) = sample(name);
        let e = RealOnly::new(Mean).estimate(&data).unwrap();
        let value = |key: &str| [exp[key].as_f64().unwrap()];
        assert_close(name, &e.theta().to_vec(), &value("estimate"), 1e-12, 0.0);
        assert_close(name, &e.se().to_vec(), &value("se"), 1e-10, 0.0);
        let df = e.df_of(0).unwrap();
        assert!(
            (df - exp["df"].as_f64().unwrap()).abs() < 1e-9,
            "{name}: t(n − 1), {df}"
        );
        assert_eq!(e.interval_scales(), [IntervalScale::Logit]);
        let ci = e.conf_int(0.05).unwrap();
        assert_close(
            name,
            ci.as_slice().unwrap(),
            &vec_of(&exp["ci_95"]),
            1e-10,
            0.0,
        );
        let larger = e.conf_int_against(0.05, Alternative::Larger).unwrap();
        let smaller = e.conf_int_against(0.05, Alternative::Smaller).unwrap();
        assert_close(
            name,
            &[larger[[0, 0]], smaller[[0, 1]]],
            &[value("lower_95")[0], value("upper_95")[0]],
            1e-10,
            0.0,
        );
        assert_eq!(
            [larger[[0, 1]], smaller[[0, 0]]],
            [1.0, 0.0],
            "{name}: open sides"
        );
        // The p-value stays the Wald test's on θ's scale.
        let wald = vec_of(&exp["wald_95"]);
        let c = e.critical_values(0.05).unwrap()[0];
        assert!((wald[1] - wald[0] - 2.0 * c * e.se()[0]).abs() < 1e-10);
    }
}

/// One note saying the interval is on the logit scale, and the interval that scale gives.
fn assert_logit(label: &str, e: &Estimate) {
    let notes: Vec<&Note> = e
        .notes()
        .iter()
        .filter(|n| matches!(n, Note::ProportionInterval { .. }))
        .collect();
    assert_eq!(notes.len(), 1, "{label}: {:?}", e.notes());
    assert!(
        matches!(notes[0], Note::ProportionInterval { logit: true, .. }),
        "{label}"
    );
    assert_eq!(e.interval_scales(), [IntervalScale::Logit], "{label}");
    let ci = e.conf_int(0.05).unwrap();
    let c = e.critical_values(0.05).unwrap()[0];
    let by_hand = IntervalScale::Logit.interval(e.theta()[0], e.se()[0], c, c);
    assert_close(label, ci.as_slice().unwrap(), &by_hand, 1e-14, 0.0);
    assert!(0.0 < ci[[0, 0]] && ci[[0, 1]] < 1.0, "{label}: {ci}");
    let joint = e.simultaneous_conf_int(0.05).unwrap();
    assert_close(
        label,
        joint.as_slice().unwrap(),
        ci.as_slice().unwrap(),
        1e-12,
        0.0,
    );
}

#[test]
fn every_estimator_forms_a_proportions_interval_on_the_logit_scale() {
    let (data, _) = sample("4_of_50");
    let estimators: Vec<Box<dyn Estimator>> = vec![
        Box::new(TwoStepGmm::new(Mean)),
        Box::new(TwoStepGmm::new(Mean).cross_weights(CrossWeights::Unrestricted)),
        Box::new(RealOnly::new(Mean)),
        Box::new(PpiPlusPlus::new(Mean, "proxy")),
        Box::new(Dsl::new(Mean, "proxy")),
        Box::new(NaivePooled::new(Mean, ["proxy"])),
    ];
    for e in &estimators {
        assert_logit(&e.name(), &e.estimate(&data).unwrap());
    }
    // A fit's own intervals, and a continuous outcome's stay on θ's scale.
    let fit = TwoStepGmm::new(Mean).fit(&data).unwrap();
    assert_eq!(
        fit.conf_int(0.05).unwrap(),
        fit.estimate().conf_int(0.05).unwrap()
    );
    let scores = data.real_y().mapv(|v| 0.2 + 0.5 * v);
    let x = Array2::ones((data.n_labeled(), 1));
    let continuous = DataSources::builder(&vec![true; data.n_labeled()])
        .real(&x, &scores)
        .build()
        .unwrap();
    let e = RealOnly::new(Mean).estimate(&continuous).unwrap();
    assert_eq!(e.interval_scales(), [IntervalScale::Identity]);
    assert!(e
        .notes()
        .iter()
        .all(|n| !matches!(n, Note::ProportionInterval { .. })));
}

#[test]
fn a_proportion_estimated_below_zero_keeps_the_wald_interval_with_a_note() {
    // One positive among 30 labeled rows, a proxy that flags five of them and no
    // unlabeled row: PPI with λ = 1 corrects ȳ = 1/30 by f̄_lab − f̄_all ≈ 5/30.
    let t = 600;
    let labeled: Vec<bool> = (0..t).map(|i| i < 30).collect();
    let y = Array1::from_shape_fn(t, |i| f64::from(u8::from(i == 0)));
    let proxy = Array1::from_shape_fn(t, |i| f64::from(u8::from(i < 5)));
    let x = Array2::ones((t, 1));
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap();
    let e = PpiPlusPlus::new(Mean, "proxy")
        .lambda(Lambda::Fixed(1.0))
        .estimate(&data)
        .unwrap();
    assert!(e.theta()[0] < 0.0, "{}", e.theta()[0]);
    assert_eq!(e.interval_scales(), [IntervalScale::Identity]);
    assert!(e
        .notes()
        .iter()
        .any(|n| matches!(n, Note::ProportionInterval { logit: false, .. })));
    let ci = e.conf_int(0.05).unwrap();
    let c = e.critical_values(0.05).unwrap()[0];
    assert!((ci[[0, 0]] - (e.theta()[0] - c * e.se()[0])).abs() < 1e-15);
}

/// A rare category: prevalence 0.1 of T = 2,000 rows, n labeled at random, a proxy with
/// sensitivity 0.8 and specificity 0.9 and a weak synthetic source (0.6 and 0.7).
fn rare_category(seed: u64, n: usize) -> DataSources {
    let t = 2_000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut flag = |p: f64| f64::from(u8::from(rng.random::<f64>() < p));
    let y: Array1<f64> = (0..t).map(|_| flag(0.1)).collect();
    let proxy = y.mapv(|v| if v == 1.0 { flag(0.8) } else { flag(0.1) });
    let synth = y.mapv(|v| if v == 1.0 { flag(0.6) } else { flag(0.3) });
    let labeled = common::label_at_random(&mut rng, t, n);
    let x = Array2::ones((t, 1));
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .source("synth", &x, &synth)
        .build()
        .unwrap()
}

/// The default's coverage of the prevalence 0.1 at n = 50 and 100 over R = 2,000 data
/// sets each (those with a positive label: the default needs one). A coverage
/// estimate's Monte-Carlo standard error is √(0.95 · 0.05 / R) = 0.49 points; the test
/// asks for 95% within 3 of them, [93.5%, 96.5%]. The Wald interval θ̂ ± c·se of the
/// same fits covers 90–93% here and fails it.
#[test]
#[ignore = "Monte Carlo (about 10 seconds); run with -- --ignored, as CI does"]
fn the_default_covers_a_rare_proportion() {
    const R: u64 = 2_000;
    let tol = 3.0 * (0.95f64 * 0.05 / R as f64).sqrt();
    for n in [50, 100] {
        let hits: Vec<bool> = (0..R)
            .into_par_iter()
            .filter_map(|seed| {
                let fit = TwoStepGmm::new(Mean)
                    .fit(&rare_category(1_000 * n as u64 + seed, n))
                    .ok()?;
                let ci = fit.conf_int(0.05).unwrap();
                Some(ci[[0, 0]] <= 0.1 && 0.1 <= ci[[0, 1]])
            })
            .collect();
        let fitted = hits.len() as f64;
        assert!(fitted >= 0.99 * R as f64, "n = {n}: {fitted} fits");
        let coverage = hits.iter().filter(|h| **h).count() as f64 / fitted;
        assert!(
            (coverage - 0.95).abs() <= tol,
            "n = {n}: coverage {coverage}"
        );
    }
}

#[test]
fn no_positive_label_is_a_typed_error_not_a_zero_variance() {
    // Thirty labeled rows, none positive: the labeled outcomes carry no variation, so
    // PPI++ (whose tuned λ is then 0) would report rounding noise as a variance.
    let t = 400;
    let labeled: Vec<bool> = (0..t).map(|i| i % 10 == 0 && i < 300).collect();
    let y = Array1::from_shape_fn(t, |i| f64::from(u8::from(i % 10 != 0 && i % 7 == 0)));
    let proxy = Array1::from_shape_fn(t, |i| f64::from(u8::from(i % 7 == 0 || i % 13 == 0)));
    let x = Array2::ones((t, 1));
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap();
    assert!(data.real_y().iter().all(|&v| v == 0.0));
    let estimators: Vec<Box<dyn Estimator>> = vec![
        Box::new(TwoStepGmm::new(Mean)),
        Box::new(RealOnly::new(Mean)),
        Box::new(PpiPlusPlus::new(Mean, "proxy")),
        Box::new(PpiPlusPlus::new(Mean, "proxy").lambda(Lambda::Fixed(0.0))),
    ];
    for e in &estimators {
        let err = e.estimate(&data).unwrap_err();
        assert!(
            matches!(err, synthgmm::Error::PerfectFit { .. }),
            "{}: {err}",
            e.name()
        );
    }
    // Plain PPI (λ = 1) takes its variance from y − f, which varies: it fits.
    let ppi = PpiPlusPlus::new(Mean, "proxy")
        .lambda(Lambda::Fixed(1.0))
        .estimate(&data)
        .unwrap();
    assert!(ppi.se()[0] > 1e-3, "{}", ppi.se()[0]);
}
