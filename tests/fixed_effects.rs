//! Fixed effects absorbed by the within transformation: R's estimatr with indicator
//! columns on a shipped panel (`tests/data/make_fixed_effects.R`), invariance to the
//! effects, typed errors, and coverage with a source.

use crate::common;

use common::{assert_close, data_path, expected, matrix_of, vec_of};
use ndarray::{Array1, Array2};
use synthgmm::baselines::RealOnly;
use synthgmm::models::{Logistic, Ols};
use synthgmm::{
    DataSources, DataSourcesBuilder, Error, Estimate, Estimator, SmallSample, TwoStepGmm,
};

/// The shipped panel: label mask, firm and period, x (x1, x2), y, proxy, weight.
struct Panel {
    labeled: Vec<bool>,
    firm: Vec<String>,
    period: Vec<String>,
    x: Array2<f64>,
    y: Array1<f64>,
    proxy: Array1<f64>,
    w: Array1<f64>,
}

fn panel() -> Panel {
    let mut reader = csv::Reader::from_path(data_path("fixed_effects.csv")).unwrap();
    let mut p = Panel {
        labeled: Vec::new(),
        firm: Vec::new(),
        period: Vec::new(),
        x: Array2::zeros((0, 2)),
        y: Array1::zeros(0),
        proxy: Array1::zeros(0),
        w: Array1::zeros(0),
    };
    let (mut x, mut y, mut proxy, mut w) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for record in reader.records() {
        let r = record.unwrap();
        p.labeled.push(&r[0] == "1");
        p.firm.push(r[1].to_string());
        p.period.push(r[2].to_string());
        x.extend([r[3].parse::<f64>().unwrap(), r[4].parse::<f64>().unwrap()]);
        y.push(r[5].parse::<f64>().unwrap_or(f64::NAN));
        proxy.push(r[6].parse::<f64>().unwrap());
        w.push(r[7].parse::<f64>().unwrap());
    }
    p.x = Array2::from_shape_vec((p.labeled.len(), 2), x).unwrap();
    (p.y, p.proxy, p.w) = (y.into(), proxy.into(), w.into());
    p
}

fn builder(p: &Panel, two_way: bool) -> DataSourcesBuilder {
    let b = DataSources::builder(&p.labeled)
        .real(&p.x, &p.y)
        .source("proxy", &p.x, &p.proxy)
        .fixed_effects(&p.firm);
    if two_way {
        b.fixed_effects(&p.period)
    } else {
        b
    }
}

fn check(what: &str, fit: &Estimate, exp: &serde_json::Value, scale: f64, df: bool) {
    assert_close(
        &format!("{what} theta"),
        fit.theta().as_slice().unwrap(),
        &vec_of(&exp["theta"]),
        1e-10,
        1e-12,
    );
    let cov: Vec<f64> = matrix_of(&exp["cov"])
        .concat()
        .iter()
        .map(|v| v * scale)
        .collect();
    assert_close(
        &format!("{what} cov"),
        fit.cov().iter().copied().collect::<Vec<_>>().as_slice(),
        &cov,
        1e-8,
        1e-14,
    );
    if df {
        let found = fit
            .coefficient_df()
            .expect("Bell–McCaffrey degrees of freedom")
            .to_vec();
        assert_close(
            &format!("{what} df"),
            &found,
            &vec_of(&exp["df"]),
            1e-8,
            0.0,
        );
    }
}

/// Real-only with `SmallSample::Hc0` on clustered rows is CR0 times G/(G − 1).
fn check_hc0(what: &str, data: &DataSources, exp: &serde_json::Value, g: f64) {
    let hc0 = RealOnly::new(Ols)
        .small_sample(SmallSample::Hc0)
        .estimate(data)
        .unwrap();
    check(what, &hc0, exp, g / (g - 1.0), false);
}

/// The default real-only fit with firm effects is estimatr's CR2 with the
/// Bell–McCaffrey degrees of freedom, clustered by firm, of the regression with one
/// indicator per firm; so is the default GMM without sources.
#[test]
fn one_way_matches_estimatr_with_indicators() {
    let exp = expected("fixed_effects");
    let p = panel();
    let data = builder(&p, false).build().unwrap();
    assert_eq!(data.n_clusters(), Some(40));
    let real = RealOnly::new(Ols).estimate(&data).unwrap();
    check("real-only", &real, &exp["one_way"], 1.0, true);
    let gmm = TwoStepGmm::new(Ols)
        .fit(&data.select_sources(&[]).unwrap())
        .unwrap();
    check("gmm at M = 0", gmm.estimate(), &exp["one_way"], 1.0, true);
    // HC0 with clusters is CR0 times G/(G − 1).
    let g = exp["clusters"].as_f64().unwrap();
    check_hc0("real-only HC0", &data, &exp["one_way_cr0"], g);
}

/// Two-way effects by alternating projections: slopes, CR0, and CR2 with the
/// Bell–McCaffrey degrees of freedom equal the regression with both sets of indicators
/// (the period effect is not nested in the firm clusters: its leverage enters CR2).
#[test]
fn two_way_matches_estimatr_with_indicators() {
    let exp = expected("fixed_effects");
    let p = panel();
    let data = builder(&p, true).build().unwrap();
    let effects = data.fixed_effects().unwrap();
    assert_eq!(effects.levels(), &[40, 6]);
    assert!(effects.sweeps() > 1 && !effects.leverage_left_out());
    let g = exp["clusters"].as_f64().unwrap();
    check_hc0("two-way HC0", &data, &exp["two_way_cr0"], g);
    let cr2 = RealOnly::new(Ols).estimate(&data).unwrap();
    check("two-way CR2", &cr2, &exp["two_way"], 1.0, true);
    let gmm = TwoStepGmm::new(Ols)
        .fit(&data.select_sources(&[]).unwrap())
        .unwrap();
    check(
        "two-way gmm at M = 0",
        gmm.estimate(),
        &exp["two_way"],
        1.0,
        true,
    );
    // Clusters of whole firms (industries): the firm effect is nested in them.
    let industry: Vec<usize> = p
        .firm
        .iter()
        .map(|f| f[1..].parse::<usize>().unwrap() / 4)
        .collect();
    let data = builder(&p, true).clusters(&industry).build().unwrap();
    assert_eq!(data.n_clusters(), Some(10));
    let cr2 = RealOnly::new(Ols).estimate(&data).unwrap();
    check(
        "two-way by industry",
        &cr2,
        &exp["two_way_industry"],
        1.0,
        true,
    );
}

/// Observation weights: the within transformation takes weighted level means, and the
/// weighted fit equals weighted least squares with indicators.
#[test]
fn weighted_one_way_matches_estimatr() {
    let exp = expected("fixed_effects");
    let p = panel();
    let data = builder(&p, false).weights(&p.w).build().unwrap();
    let g = exp["clusters"].as_f64().unwrap();
    check_hc0("weighted HC0", &data, &exp["weighted_cr0"], g);
}

/// Adding any level effect to the outcomes and covariates of every block leaves the
/// default GMM's estimate and standard errors unchanged: the effects are absorbed.
#[test]
fn level_shifts_leave_the_default_fit_unchanged() {
    let p = panel();
    let fit = TwoStepGmm::new(Ols)
        .fit(&builder(&p, true).build().unwrap())
        .unwrap();
    let shift = |ids: &[String], scale: f64| -> Array1<f64> {
        ids.iter()
            .map(|id| scale * (id.bytes().map(f64::from).sum::<f64>()).sin() * 10.0)
            .collect()
    };
    let (a, b) = (shift(&p.firm, 1.0), shift(&p.period, -3.0));
    let mut x = p.x.clone();
    x.column_mut(0).scaled_add(1.0, &a);
    x.column_mut(1).scaled_add(2.0, &b);
    let shifted = DataSources::builder(&p.labeled)
        .real(&x, &(&p.y + &a + &b))
        .source("proxy", &x, &(&p.proxy - &a + 2.0 * &b))
        .fixed_effects(&p.firm)
        .fixed_effects(&p.period)
        .build()
        .unwrap();
    let moved = TwoStepGmm::new(Ols).fit(&shifted).unwrap();
    assert_close(
        "theta",
        moved.theta().as_slice().unwrap(),
        fit.theta().as_slice().unwrap(),
        1e-9,
        1e-12,
    );
    assert_close(
        "se",
        moved.se().as_slice().unwrap(),
        fit.se().as_slice().unwrap(),
        1e-8,
        0.0,
    );
}

#[test]
fn absorbed_covariates_singletons_and_other_models_are_typed_errors() {
    let p = panel();
    let mut with_one = Array2::ones((p.x.nrows(), 3));
    with_one.slice_mut(ndarray::s![.., 1..]).assign(&p.x);
    let err = DataSources::builder(&p.labeled)
        .real(&with_one, &p.y)
        .fixed_effects(&p.firm)
        .covariate_names(["one", "x1", "x2"])
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::AbsorbedCovariate { covariate, .. } if covariate == "one"),
        "{err}"
    );

    let mut labeled = p.labeled.clone();
    let first = p.firm.iter().position(|f| f == "f03").unwrap();
    let rows: Vec<usize> = (0..labeled.len())
        .filter(|&t| p.firm[t] == "f03" && labeled[t])
        .collect();
    for &t in &rows[1..] {
        labeled[t] = false;
    }
    let err = DataSources::builder(&labeled)
        .real(&p.x, &p.y.mapv(|v| if v.is_nan() { 0.0 } else { v }))
        .fixed_effects(&p.firm)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::FixedEffectSingleton { effect: 0, levels: 1, row } if row == rows[0] && row >= first),
        "{err}"
    );

    let binary = p.y.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let data = DataSources::builder(&p.labeled)
        .real(&p.x, &binary)
        .fixed_effects(&p.firm)
        .build()
        .unwrap();
    let err = RealOnly::new(Logistic).estimate(&data).unwrap_err();
    assert!(matches!(err, Error::FixedEffectsModel { .. }), "{err}");
    let err = TwoStepGmm::new(Logistic).fit(&data).unwrap_err();
    assert!(matches!(err, Error::FixedEffectsModel { .. }), "{err}");
}

/// Effects are absorbed with the labeling probabilities' weights when the data are
/// built: an estimator told to ignore probabilities that vary over the labeled rows is
/// refused (it would fit another weighting's within transformation); equal
/// probabilities (labeling at random) and data built without them fit either way.
#[test]
fn ignoring_the_probabilities_the_effects_were_absorbed_with_is_an_error() {
    let p = panel();
    let varying = Array1::from_shape_fn(p.labeled.len(), |t| 0.3 + 0.4 * (t % 2) as f64);
    let data = builder(&p, false)
        .labeling_probabilities(&varying)
        .build()
        .unwrap();
    assert!(TwoStepGmm::new(Ols).fit(&data).is_ok());
    let err = TwoStepGmm::new(Ols)
        .use_labeling_probabilities(false)
        .fit(&data)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                parameter: "use_labeling_probabilities",
                ..
            }
        ),
        "{err}"
    );
    let equal = Array1::from_elem(p.labeled.len(), 0.4);
    for data in [
        builder(&p, false)
            .labeling_probabilities(&equal)
            .build()
            .unwrap(),
        builder(&p, false).build().unwrap(),
    ] {
        let fit = TwoStepGmm::new(Ols)
            .use_labeling_probabilities(false)
            .fit(&data);
        assert!(fit.is_ok(), "{:?}", fit.err());
    }
}

/// A panel of `firms` firms of 20 rows with effects correlated with x, heteroskedastic
/// t₅ errors and a firm-level shock, `per_firm` rows of each labeled at random (a
/// uniform labeling rate), a proxy source with its own firm-level bias and a shrunken
/// slope; with `two_way`, also five periods whose effects move x and y, absorbed as a
/// second effect. The slope is 0.5.
fn panel_design(seed: u64, firms: usize, per_firm: usize, two_way: bool) -> DataSources {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal, StudentT};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let rows = 20;
    let t = firms * rows;
    let normal = |rng: &mut rand_chacha::ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
    let effect: Vec<f64> = (0..firms).map(|_| normal(&mut rng)).collect();
    let shock: Vec<f64> = (0..firms).map(|_| 0.5 * normal(&mut rng)).collect();
    let bias: Vec<f64> = (0..firms).map(|_| 0.8 * normal(&mut rng)).collect();
    let firm: Vec<usize> = (0..t).map(|i| i / rows).collect();
    let period: Vec<usize> = (0..t).map(|i| i % 5).collect();
    let trend = |i: usize| if two_way { period[i] as f64 - 2.0 } else { 0.0 };
    let x: Array1<f64> = (0..t)
        .map(|i| effect[firm[i]] + 0.5 * trend(i) + normal(&mut rng))
        .collect();
    let heavy = StudentT::new(5.0).unwrap();
    let e: Array1<f64> = (0..t)
        .map(|i| (0.5 + 0.5 * x[i].abs()) * heavy.sample(&mut rng) + shock[firm[i]])
        .collect();
    let y: Array1<f64> = (0..t)
        .map(|i| 0.5 * x[i] + 2.0 * effect[firm[i]] + trend(i) + e[i])
        .collect();
    let proxy: Array1<f64> = (0..t)
        .map(|i| {
            let own = 0.5 * normal(&mut rng);
            0.4 * x[i] + 2.0 * effect[firm[i]] + bias[firm[i]] + trend(i) + 0.8 * e[i] + own
        })
        .collect();
    let mut labeled = vec![false; t];
    for g in 0..firms {
        let mut members: Vec<usize> = (g * rows..(g + 1) * rows).collect();
        members.shuffle(&mut rng);
        for &i in &members[..per_firm] {
            labeled[i] = true;
        }
    }
    let x = x.insert_axis(ndarray::Axis(1));
    let builder = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .fixed_effects(&firm);
    match two_way {
        true => builder.fixed_effects(&period),
        false => builder,
    }
    .build()
    .unwrap()
}

/// Coverage of the default GMM with firm effects and a source, clustered by firm: 95%
/// within 3 Monte-Carlo standard errors (√(0.95·0.05/1000) = 0.69 points, so
/// [92.9%, 97.1%]) at n = 300 (100 firms), n = 80 (40 firms, two labeled rows each) and
/// with firm and period effects at n = 300, and its interval narrower than real-only's
/// on average.
#[test]
#[ignore = "Monte Carlo (about 10 seconds); run with -- --ignored, as CI does"]
fn the_default_with_fixed_effects_covers() {
    use rayon::prelude::*;
    const REPS: usize = 1_000;
    let tol = 3.0 * (0.95f64 * 0.05 / REPS as f64).sqrt();
    for (firms, per_firm, two_way, seed) in [
        (100, 3, false, 31_000u64),
        (40, 2, false, 32_000),
        (100, 3, true, 33_000),
    ] {
        let rows: Vec<[f64; 4]> = (0..REPS as u64)
            .into_par_iter()
            .map(|r| {
                let data = panel_design(seed + r, firms, per_firm, two_way);
                let width_and_cover = |e: &Estimate| {
                    let ci = e.conf_int(0.05).unwrap();
                    let covers = ci[[0, 0]] <= 0.5 && 0.5 <= ci[[0, 1]];
                    (ci[[0, 1]] - ci[[0, 0]], f64::from(u8::from(covers)))
                };
                let (w_gmm, c_gmm) =
                    width_and_cover(&TwoStepGmm::new(Ols).estimate(&data).unwrap());
                let (w_real, c_real) =
                    width_and_cover(&RealOnly::new(Ols).estimate(&data).unwrap());
                [c_gmm, c_real, w_gmm, w_real]
            })
            .collect();
        let mean = |k: usize| rows.iter().map(|r| r[k]).sum::<f64>() / REPS as f64;
        println!(
            "{firms} firms, {per_firm} labeled each, two-way {two_way}: coverage default {:.3}, real-only {:.3}; width ratio {:.3}",
            mean(0),
            mean(1),
            mean(2) / mean(3)
        );
        assert!(
            (mean(0) - 0.95).abs() <= tol,
            "default coverage {}",
            mean(0)
        );
        assert!(
            (mean(1) - 0.95).abs() <= tol,
            "real-only coverage {}",
            mean(1)
        );
        assert!(mean(2) < mean(3), "the source does not narrow the interval");
    }
}

/// The bootstrap resamples whole firms (the clusters) of the transformed rows and
/// re-runs the default on each replicate; its interval is close to the analytic one.
#[test]
fn the_bootstrap_runs_on_absorbed_effects() {
    let p = panel();
    let data = builder(&p, true).build().unwrap();
    let analytic = TwoStepGmm::new(Ols).estimate(&data).unwrap();
    let boot = synthgmm::Bootstrap::new(199)
        .seed(3)
        .run(&TwoStepGmm::new(Ols), &data)
        .unwrap();
    let ratio = &boot.se() / &analytic.se();
    assert!(
        ratio.iter().all(|r| (0.7..1.4).contains(r)),
        "bootstrap / analytic se {ratio}"
    );
    assert!(boot
        .estimate()
        .notes()
        .iter()
        .any(|n| n.to_string().contains("fixed effects")));
}

/// Linear IV, just identified, with firm effects: the within IV estimate and its
/// clustered sandwich equal IV with one indicator per firm among both the regressors
/// and the instruments, written out here as (ZᵀX)⁻¹Zᵀy and
/// (ZᵀX)⁻¹ [G/(G − 1) Σ_g Z_gᵀe_g e_gᵀZ_g] (XᵀZ)⁻¹ on the labeled rows.
#[test]
fn just_identified_iv_equals_iv_with_indicators() {
    use synthgmm::models::LinearIv;
    let p = panel();
    let t = p.labeled.len();
    let z: Array1<f64> = (0..t)
        .map(|i| p.x[[i, 0]] + (i as f64 * 0.71).sin())
        .collect();
    let data = DataSources::builder(&p.labeled)
        .real(&p.x, &p.y)
        .column("z", &z)
        .fixed_effects(&p.firm)
        .build()
        .unwrap();
    let fit = RealOnly::new(LinearIv::new([1], ["z"]))
        .small_sample(SmallSample::Hc0)
        .estimate(&data)
        .unwrap();
    // The regression with indicators on the labeled rows.
    let rows: Vec<usize> = (0..t).filter(|&i| p.labeled[i]).collect();
    let firms: Vec<&String> = {
        let mut f: Vec<&String> = rows.iter().map(|&i| &p.firm[i]).collect();
        f.sort();
        f.dedup();
        f
    };
    let k = 2 + firms.len();
    let design = |first: &dyn Fn(usize) -> f64| {
        Array2::from_shape_fn((rows.len(), k), |(r, j)| match j {
            0 => first(rows[r]),
            1 => p.x[[rows[r], 1]],
            _ => f64::from(u8::from(&p.firm[rows[r]] == firms[j - 2])),
        })
    };
    let x = design(&|i| p.x[[i, 0]]);
    let zz = design(&|i| z[i]);
    let y = Array1::from_iter(rows.iter().map(|&i| p.y[i]));
    let ztx_inv = common::solve(&zz.t().dot(&x), &Array2::eye(k));
    let beta = ztx_inv.dot(&zz.t().dot(&y));
    let e = &y - &x.dot(&beta);
    let mut meat = Array2::<f64>::zeros((k, k));
    for firm in &firms {
        let mut s = Array1::<f64>::zeros(k);
        for (r, &i) in rows.iter().enumerate() {
            if &&p.firm[i] == firm {
                s.scaled_add(e[r], &zz.row(r));
            }
        }
        meat += &(s
            .view()
            .insert_axis(ndarray::Axis(1))
            .dot(&s.view().insert_axis(ndarray::Axis(0))));
    }
    let g = firms.len() as f64;
    let cov = ztx_inv.dot(&meat).dot(&ztx_inv.t()) * (g / (g - 1.0));
    assert_close(
        "theta",
        fit.theta().as_slice().unwrap(),
        &beta.to_vec()[..2],
        1e-9,
        1e-12,
    );
    let expected: Vec<f64> = cov.slice(ndarray::s![..2, ..2]).iter().copied().collect();
    let found: Vec<f64> = fit.cov().iter().copied().collect();
    assert_close("cov", &found, &expected, 1e-8, 1e-14);
}

/// Units: a covariate ×1e6 and every outcome ×1e-6, with two-way effects, leave the
/// default fit transformed exactly (the slope of that covariate ×1e-12, the other's
/// ×1e-6, standard errors alike) and finite.
#[test]
fn rescaled_covariate_and_outcomes_transform_the_fit_exactly() {
    let p = panel();
    let base = TwoStepGmm::new(Ols)
        .fit(&builder(&p, true).build().unwrap())
        .unwrap();
    let mut x = p.x.clone();
    x.column_mut(0).mapv_inplace(|v| v * 1e6);
    let data = DataSources::builder(&p.labeled)
        .real(&x, &(&p.y * 1e-6))
        .source("proxy", &x, &(&p.proxy * 1e-6))
        .fixed_effects(&p.firm)
        .fixed_effects(&p.period)
        .build()
        .unwrap();
    let scaled = TwoStepGmm::new(Ols).fit(&data).unwrap();
    for (j, factor) in [1e-12, 1e-6].into_iter().enumerate() {
        let (t, s) = (scaled.theta()[j] / factor, scaled.se()[j] / factor);
        assert!(
            (t / base.theta()[j] - 1.0).abs() < 1e-8,
            "theta {j}: {t} vs {}",
            base.theta()[j]
        );
        assert!(
            (s / base.se()[j] - 1.0).abs() < 1e-8,
            "se {j}: {s} vs {}",
            base.se()[j]
        );
    }
}
