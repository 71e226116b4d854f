//! Each fit's influence on the rows, θ̂ − θ ≈ Σ_u φ_u, and the joint covariance of fits
//! on the same rows: against linearmodels' SUR for two least-squares fits
//! (`tests/data/make_outcome_joint.py`), against the sandwich covariance for the
//! unrestricted GMM (weights, labeling probabilities, clusters, logistic), and against
//! the selected weights' own variance where the two formulas share their limit.

use crate::common::{assert_close, expected, load, matrix_of, vec_of};
use ndarray::{Array1, Array2};
use synthgmm::baselines::RealOnly;
use synthgmm::models::{Logistic, Ols};
use synthgmm::{
    Covariance, CrossWeights, DataSources, Estimator, JointBasis, MomentModel, OutcomeFits,
    TwoStepGmm,
};

/// Two outcomes on the labeled rows of the reference data: `y` and `proxy_y`.
fn two_outcomes() -> (DataSources, DataSources) {
    let d = load("ols_T1000_n100_rho0");
    let on = |y: &Array1<f64>| {
        DataSources::builder(&d.labeled)
            .real(&d.real_x, y)
            .build()
            .unwrap()
    };
    (on(&d.real_y), on(&d.proxy_y))
}

#[test]
fn real_only_joint_covariance_is_linearmodels_sur() {
    let exp = expected("outcome_joint");
    let (a, b) = two_outcomes();
    let outcomes = [("a", &a), ("b", &b)];
    // Real-only, and the default without sources (reported as real-only).
    for fits in [
        OutcomeFits::fit(&RealOnly::new(Ols), &outcomes, None).unwrap(),
        OutcomeFits::fit(&TwoStepGmm::new(Ols), &outcomes, None).unwrap(),
    ] {
        assert_eq!(fits.joint_basis(), JointBasis::Influence);
        let theta: Vec<f64> = fits
            .estimates()
            .iter()
            .flat_map(|e| e.theta().to_vec())
            .collect();
        assert_close("SUR params", &theta, &vec_of(&exp["params"]), 1e-10, 0.0);
        let joint = fits.joint_covariance().unwrap();
        let want: Vec<f64> = matrix_of(&exp["cov"]).into_iter().flatten().collect();
        let got: Vec<f64> = joint.iter().copied().collect();
        assert_close("SUR robust covariance", &got, &want, 1e-9, 1e-14);
    }
}

/// Σ_u φ_uφ_uᵀ of the unrestricted two-step GMM is its sandwich covariance (Ĝ, the
/// step-2 weight, Ω̂ at θ̂), times G/(G − 1) with G clusters.
fn assert_sandwich<M: MomentModel + Clone>(model: M, data: &DataSources, label: &str) {
    let gmm = TwoStepGmm::new(model)
        .cross_weights(CrossWeights::Unrestricted)
        .covariance(Covariance::Sandwich);
    let fit = gmm.fit(data).unwrap();
    let influence = gmm.influence(data, &fit).unwrap().unwrap();
    let units = influence.n_units() as f64;
    let factor = match data.clusters() {
        Some(_) => units / (units - 1.0),
        None => 1.0,
    };
    let got: Vec<f64> = (influence.covariance() * factor).iter().copied().collect();
    let want: Vec<f64> = fit.cov_theta().iter().copied().collect();
    assert_close(label, &got, &want, 1e-9, 1e-15);
}

#[test]
fn unrestricted_influence_is_the_sandwich_covariance() {
    let d = load("ols_T1000_n100_rho0");
    let t = d.labeled.len();
    let data = |extra: &dyn Fn(synthgmm::DataSourcesBuilder) -> synthgmm::DataSourcesBuilder| {
        let b = DataSources::builder(&d.labeled)
            .real(&d.real_x, &d.real_y)
            .source("proxy", &d.proxy_x, &d.proxy_y)
            .source("synth", &d.synth_x, &d.synth_y);
        extra(b).build().unwrap()
    };
    assert_sandwich(Ols, &data(&|b| b), "plain");
    let w = Array1::from_shape_fn(t, |i| 0.5 + (i % 7) as f64 / 4.0);
    assert_sandwich(Ols, &data(&|b| b.weights(&w)), "weights");
    let pi = Array1::from_shape_fn(t, |i| 0.05 + 0.1 * ((i % 5) as f64 / 4.0));
    let gmm_pi = |b: synthgmm::DataSourcesBuilder| b.labeling_probabilities(&pi);
    assert_sandwich(Ols, &data(&gmm_pi), "labeling probabilities");
    let clusters: Vec<usize> = (0..t).map(|i| i / 10).collect();
    assert_sandwich(Ols, &data(&|b| b.clusters(&clusters)), "clusters");
    let logistic = load("logistic_T3000_n300_rho7");
    assert_sandwich(Logistic, &logistic.sources(&["proxy", "synth"]), "logistic");
}

/// The selected weights' variance and Σ_u φ_uφ_uᵀ from the same fit's influence share
/// their limit: with labeling at random Σ_u φ_uφ_uᵀ is A/n − (1/n − 1/T)(CΛᵀ + ΛCᵀ −
/// ΛΣΛᵀ) with every moment from the rows (HC0), while the reported variance takes the
/// all-rows part from the unlabeled rows' own spread, the leave-one-out residuals,
/// HC2 and the pilot's correlations. At n = 1,000 of T = 3,000, plain, with
/// observation weights and with labeling probabilities, the variances agree within 4%
/// (measured: 3.5% at most, coefficient by coefficient) and the correlations within
/// 0.02 (measured: 0.015 at most).
#[test]
fn selected_influence_agrees_with_the_selected_variance_at_large_n() {
    let d = load("ols_T3000_n300_rho7");
    let t = d.labeled.len();
    let labeled: Vec<bool> = (0..t).map(|i| i % 3 == 0).collect();
    let y = d.proxy_y.clone() + &d.synth_y.mapv(|v| 0.3 * v);
    let w = Array1::from_shape_fn(t, |i| 0.5 + (i % 7) as f64 / 4.0);
    let pi = Array1::from_shape_fn(t, |i| 0.25 + 0.2 * ((i % 5) as f64 / 4.0));
    let variants: [(
        &str,
        &dyn Fn(synthgmm::DataSourcesBuilder) -> synthgmm::DataSourcesBuilder,
    ); 3] = [
        ("plain", &|b| b),
        ("weights", &|b| b.weights(&w)),
        ("labeling probabilities", &|b| b.labeling_probabilities(&pi)),
    ];
    for (label, extra) in variants {
        let b = DataSources::builder(&labeled)
            .real(&d.real_x, &y)
            .source("proxy", &d.proxy_x, &d.proxy_y);
        let data = extra(b).build().unwrap();
        let gmm = TwoStepGmm::new(Ols);
        let fit = gmm.fit(&data).unwrap();
        assert!(fit.cross_choices().is_some(), "{label}: selected weights");
        let phi = gmm.influence(&data, &fit).unwrap().unwrap().covariance();
        let reported = fit.cov_theta().to_owned();
        for j in 0..phi.nrows() {
            let ratio = phi[[j, j]] / reported[[j, j]];
            assert!(
                (ratio - 1.0).abs() < 0.04,
                "{label}, coefficient {j}: {ratio}"
            );
            for k in 0..j {
                let corr = |m: &Array2<f64>| m[[j, k]] / (m[[j, j]] * m[[k, k]]).sqrt();
                let gap = corr(&phi) - corr(&reported);
                assert!(gap.abs() < 0.02, "{label}, ({j}, {k}): {gap}");
            }
        }
        let (estimate, influence) = gmm.estimate_with_influence(&data).unwrap();
        assert_eq!(estimate.theta(), fit.theta());
        assert_eq!(influence.unwrap().covariance(), phi);
    }
}

/// Two copies of one outcome: their estimates are perfectly correlated, so the
/// simultaneous critical value is one outcome's own (up to the draws' Monte-Carlo
/// error, about 10⁻³ relative), where the bound without influence is larger.
#[test]
fn a_repeated_outcome_costs_nothing_with_the_joint_covariance() {
    let d = load("ols_T1000_n100_rho0");
    let data = d.sources(&["proxy", "synth"]);
    let gmm = TwoStepGmm::new(Ols);
    let fits = OutcomeFits::fit(&gmm, &[("a", &data), ("b", &data)], None).unwrap();
    assert_eq!(fits.joint_basis(), JointBasis::Influence);
    let joint = fits.simultaneous_critical_value(0.05).unwrap();
    let own = fits.estimates()[0]
        .simultaneous_critical_value(0.05)
        .unwrap();
    assert!((joint / own - 1.0).abs() < 0.01, "{joint} vs {own}");
    let bound =
        OutcomeFits::from_estimates(vec!["a".into(), "b".into()], fits.estimates().to_vec())
            .unwrap();
    assert_eq!(bound.joint_basis(), JointBasis::Bound);
    assert!(
        bound.joint_note().is_none(),
        "asked for without influence: no fallback"
    );
    assert!(bound.simultaneous_critical_value(0.05).unwrap() > joint + 0.05);
    assert!(fits.to_string().contains("joint covariance"));
}

/// Estimators that give no influence (PPI++ here) fall back to the bound, and an
/// influence that does not match its estimate is refused.
#[test]
fn estimators_without_influence_fall_back_to_the_bound() {
    let (a, b) = two_outcomes();
    let ppi = synthgmm::baselines::PpiPlusPlus::new(Ols, "proxy");
    let d = load("ols_T1000_n100_rho0");
    let with_proxy = |y: &Array1<f64>| {
        DataSources::builder(&d.labeled)
            .real(&d.real_x, y)
            .source("proxy", &d.proxy_x, &d.proxy_y)
            .build()
            .unwrap()
    };
    let (pa, pb) = (with_proxy(&d.real_y), with_proxy(&d.synth_y));
    let fits = OutcomeFits::fit(&ppi, &[("a", &pa), ("b", &pb)], None).unwrap();
    assert_eq!(fits.joint_basis(), JointBasis::Bound);
    assert!(fits.joint_covariance().is_none());
    let why = fits.joint_note().unwrap();
    assert!(
        why.contains("outcome `a`") && why.contains("no influence"),
        "{why}"
    );
    assert!(fits.to_string().contains("Note: no joint covariance"));
    let real = RealOnly::new(Ols);
    let (ea, ia) = real.estimate_with_influence(&a).unwrap();
    let (eb, _) = real.estimate_with_influence(&b).unwrap();
    let short = synthgmm::RowInfluence::joint_covariance(&[ia.as_ref().unwrap()]).unwrap();
    assert_eq!(short.dim(), (3, 3));
    let wrong = OutcomeFits::from_influences(
        vec!["a".into(), "b".into()],
        vec![(ea.clone(), ia.clone()), (eb.clone(), ia.clone())],
    );
    assert!(wrong.is_ok(), "same units, same width: accepted");
    let intercept_only = synthgmm::Estimate::new(
        "given",
        "ols",
        vec!["b0".into()],
        Array1::zeros(1),
        Array2::eye(1),
        1000,
        100,
    )
    .unwrap();
    let mismatch =
        OutcomeFits::from_influences(vec!["a".into()], vec![(intercept_only, ia)]).unwrap_err();
    assert!(matches!(mismatch, synthgmm::Error::InvalidConfig { .. }));
    let _ = eb;
}

/// Units: with covariate x1 in units 10⁶ times larger and every outcome in units 10⁶
/// times smaller, coefficient j's influence is that of θ̂_j in the new units (the
/// intercept's × 10⁻⁶, x1's × 10⁻¹², x2's × 10⁻⁶) on every row, for the default and the
/// paper's estimator, to 1e-8 relative (values below 1e-8 of a column's largest are
/// compared at that floor).
#[test]
fn influence_follows_the_units_of_covariates_and_outcomes() {
    let d = load("ols_T1000_n100_rho0");
    let scale_x = |x: &Array2<f64>| {
        let mut x = x.clone();
        x.column_mut(1).mapv_inplace(|v| v * 1e6);
        x
    };
    let rescaled = DataSources::builder(&d.labeled)
        .real(&scale_x(&d.real_x), &(&d.real_y * 1e-6))
        .source("proxy", &scale_x(&d.proxy_x), &(&d.proxy_y * 1e-6))
        .source("synth", &scale_x(&d.synth_x), &(&d.synth_y * 1e-6))
        .build()
        .unwrap();
    let base = d.sources(&["proxy", "synth"]);
    let factor = [1e-6, 1e-12, 1e-6];
    for cross in [CrossWeights::Selected, CrossWeights::Unrestricted] {
        let gmm = TwoStepGmm::new(Ols).cross_weights(cross);
        let (_, a) = gmm.estimate_with_influence(&base).unwrap();
        let (_, b) = gmm.estimate_with_influence(&rescaled).unwrap();
        let (a, b) = (a.unwrap(), b.unwrap());
        for (j, factor) in factor.iter().enumerate() {
            let want: Vec<f64> = a.values().column(j).iter().map(|v| v * factor).collect();
            let got: Vec<f64> = b.values().column(j).to_vec();
            let floor = want.iter().fold(0.0f64, |m, v| m.max(v.abs())) * 1e-8;
            assert_close(&format!("{cross:?}, column {j}"), &got, &want, 1e-8, floor);
            assert!(got.iter().all(|v| v.is_finite()));
        }
    }
}
