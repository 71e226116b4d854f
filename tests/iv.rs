//! Over-identified moment conditions: linear IV with extra instrument columns.
//!
//! - M = 0 against linearmodels' `IVGMM` (`tests/data/make_iv.py`): two-step GMM from
//!   two-stage least squares, robust sandwich covariance, J statistic.
//! - M = 1 (a proxy outcome) against the stacked moments formed densely here and solved
//!   in closed form.
//! - Monte-Carlo coverage with an endogenous regressor.

use crate::common;

use common::{assert_close, data_path, matrix_of, solve, vec_of};
use ndarray::{s, Array1, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::LinearIv;
use synthgmm::{Covariance, DataSources, Error, Estimator, TwoStepGmm};

struct IvData {
    labeled: Vec<bool>,
    x: Array2<f64>,
    y: Array1<f64>,
    z: Array2<f64>,
    proxy: Array1<f64>,
}

fn load() -> IvData {
    let mut reader = csv::Reader::from_path(data_path("iv_T2000_n400.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |h: &str| headers.iter().position(|c| c == h).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let t = records.len();
    let num = |r: &csv::StringRecord, c: usize| r[c].parse::<f64>().unwrap_or(f64::NAN);
    let matrix = |names: &[&str]| {
        let cols: Vec<usize> = names.iter().map(|n| col(n)).collect();
        Array2::from_shape_fn((t, cols.len()), |(i, j)| num(&records[i], cols[j]))
    };
    let vector = |h: &str| matrix(&[h]).column(0).to_owned();
    IvData {
        labeled: records.iter().map(|r| &r[col("labeled")] == "1").collect(),
        x: matrix(&["const", "w", "d"]),
        y: vector("y"),
        z: matrix(&["z1", "z2"]),
        proxy: vector("proxy_y"),
    }
}

impl IvData {
    fn data(&self, with_proxy: bool) -> DataSources {
        let mut b = DataSources::builder(&self.labeled)
            .real(&self.x, &self.y)
            .column("z1", self.z.column(0))
            .column("z2", self.z.column(1))
            .covariate_names(["const", "w", "d"]);
        if with_proxy {
            b = b.source("proxy", &self.x, &self.proxy);
        }
        b.build().unwrap()
    }
}

fn iv() -> LinearIv {
    LinearIv::new([0, 1], ["z1", "z2"])
}

#[test]
fn real_only_iv_gmm_matches_linearmodels() {
    let d = load();
    let exp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_path("iv_T2000_n400.expected.json")).unwrap(),
    )
    .unwrap();
    let fit = TwoStepGmm::new(iv())
        .covariance(Covariance::Sandwich)
        .fit(&d.data(false))
        .unwrap();
    assert_close(
        "theta",
        fit.theta().as_slice().unwrap(),
        &vec_of(&exp["theta"]),
        1e-8,
        1e-3,
    );
    assert_close(
        "se",
        fit.se().as_slice().unwrap(),
        &vec_of(&exp["se"]),
        1e-8,
        0.0,
    );
    assert_close(
        "cov",
        &fit.cov_theta().iter().copied().collect::<Vec<_>>(),
        &matrix_of(&exp["cov"]).concat(),
        1e-7,
        1e-4,
    );
    let j = fit.j_test();
    assert_eq!(j.df as u64, exp["j_df"].as_u64().unwrap());
    assert_close(
        "J",
        &[j.statistic],
        &[exp["j_stat"].as_f64().unwrap()],
        1e-8,
        0.0,
    );
    assert_eq!(fit.estimate().names(), ["const", "w", "d"]);
}

/// The stacked moments of one source, formed row by row: g_t(β) for β = (θ, η).
fn dense_moments(d: &IvData, beta: &Array1<f64>) -> Array2<f64> {
    let t = d.labeled.len();
    let (k, p) = (4, 3);
    let mut g = Array2::zeros((t, 3 * k));
    for row in 0..t {
        let xt = d.x.row(row);
        let zt = [1.0, xt[1], d.z[[row, 0]], d.z[[row, 1]]];
        let s_t = if d.labeled[row] { 1.0 } else { 0.0 };
        let eta_resid = d.proxy[row] - xt.dot(&beta.slice(s![p..]));
        for j in 0..k {
            if s_t == 1.0 {
                let resid = d.y[row] - xt.dot(&beta.slice(s![..p]));
                g[[row, j]] = zt[j] * resid;
                g[[row, k + j]] = zt[j] * eta_resid;
            }
            g[[row, 2 * k + j]] = zt[j] * eta_resid;
        }
    }
    g
}

/// Two-stage least squares of y on x with instruments z (test-only).
fn tsls(x: &Array2<f64>, y: &Array1<f64>, z: &Array2<f64>) -> Array1<f64> {
    let zz_inv = solve(&z.t().dot(z), &Array2::eye(z.ncols()));
    let pz_x = z.dot(&zz_inv).dot(&z.t().dot(x));
    solve(&pz_x.t().dot(x), &pz_x.t().dot(y).insert_axis(Axis(1)))
        .column(0)
        .to_owned()
}

#[test]
fn iv_with_a_proxy_matches_the_dense_closed_form() {
    let d = load();
    let t = d.labeled.len();
    let instruments = |x: &Array2<f64>| {
        Array2::from_shape_fn((x.nrows(), 4), |(i, j)| match j {
            0 => 1.0,
            1 => x[[i, 1]],
            _ => 0.0,
        })
    };
    let mut z_all = instruments(&d.x);
    z_all.slice_mut(s![.., 2..]).assign(&d.z);
    let lab: Vec<usize> = (0..t).filter(|&i| d.labeled[i]).collect();
    // Step 1: 2SLS on the labeled real rows and on every proxy row.
    let theta1 = tsls(
        &d.x.select(Axis(0), &lab),
        &d.y.select(Axis(0), &lab),
        &z_all.select(Axis(0), &lab),
    );
    let eta1 = tsls(&d.x, &d.proxy, &z_all);
    let beta1 = ndarray::concatenate(Axis(0), &[theta1.view(), eta1.view()]).unwrap();
    // ḡ(β) = Gβ + b, read off at unit vectors.
    let gbar = |b: &Array1<f64>| dense_moments(&d, b).mean_axis(Axis(0)).unwrap();
    let b0 = gbar(&Array1::zeros(6));
    let mut g = Array2::zeros((12, 6));
    for j in 0..6 {
        let mut e = Array1::zeros(6);
        e[j] = 1.0;
        g.column_mut(j).assign(&(gbar(&e) - &b0));
    }
    let omega = |b: &Array1<f64>| {
        let m = dense_moments(&d, b);
        m.t().dot(&m) / t as f64
    };
    let w = solve(&omega(&beta1), &Array2::eye(12));
    let gtw = g.t().dot(&w);
    let beta2 = -solve(&gtw.dot(&g), &gtw.dot(&b0).insert_axis(Axis(1)))
        .column(0)
        .to_owned();
    let wf = solve(&omega(&beta2), &Array2::eye(12));
    let cov = solve(&g.t().dot(&wf).dot(&g), &Array2::eye(6)) / t as f64;
    let gb = gbar(&beta2);
    let j_stat = t as f64 * gb.dot(&w.dot(&gb));

    let fit = TwoStepGmm::new(iv())
        .covariance(Covariance::Reestimated)
        .fit(&d.data(true))
        .unwrap();
    assert_close(
        "step 1",
        fit.step1_params().as_slice().unwrap(),
        beta1.as_slice().unwrap(),
        1e-9,
        1e-3,
    );
    assert_close(
        "params",
        fit.params().as_slice().unwrap(),
        beta2.as_slice().unwrap(),
        1e-8,
        1e-3,
    );
    let se: Vec<f64> = (0..3).map(|j| cov[[j, j]].sqrt()).collect();
    assert_close("se", fit.se().as_slice().unwrap(), &se, 1e-8, 0.0);
    assert_eq!(fit.j_test().df, 12 - 6);
    assert_close("J", &[fit.j_test().statistic], &[j_stat], 1e-8, 0.0);
    // The proxy is informative: the slope's interval narrows.
    assert!(fit.se()[2] < fit.real_only_se()[2]);
}

#[test]
fn just_identified_baselines_refuse_an_over_identified_model() {
    let d = load();
    let err = PpiPlusPlus::new(iv(), "proxy")
        .estimate(&d.data(true))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OverIdentified {
                moments: 4,
                params: 3,
                ..
            }
        ),
        "{err:?}"
    );
    // Real-only is GMM with M = 0, which handles k > p.
    assert!(RealOnly::new(iv()).estimate(&d.data(true)).is_ok());
}

#[test]
fn a_missing_instrument_column_is_named() {
    let d = load();
    let data = DataSources::builder(&d.labeled)
        .real(&d.x, &d.y)
        .column("z1", d.z.column(0))
        .build()
        .unwrap();
    let err = TwoStepGmm::new(iv()).fit(&data).unwrap_err();
    assert_eq!(
        err,
        Error::MissingColumn {
            block: "real".into(),
            column: "z2".into()
        }
    );
}

/// An instrument that duplicates an exogenous covariate (a constant beside the
/// intercept, a copy of w) leaves the moments linearly dependent: a typed error at
/// step 1 naming the block and the rank, with or without a source, and for real-only.
#[test]
fn collinear_instruments_are_refused() {
    let mut d = load();
    let w = d.x.column(1).to_owned();
    for duplicate in [Array1::ones(d.y.len()), w] {
        d.z.column_mut(0).assign(&duplicate);
        for with_proxy in [false, true] {
            let err = TwoStepGmm::new(iv()).fit(&d.data(with_proxy)).unwrap_err();
            assert!(
                matches!(
                    &err,
                    Error::SingularWeight {
                        rank: 3,
                        dim: 4,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        assert!(matches!(
            RealOnly::new(iv()).estimate(&d.data(false)),
            Err(Error::SingularWeight { .. })
        ));
    }
}

/// One simulated IV data set: d is endogenous (shares u with the outcome error), two
/// excluded instruments, a proxy whose error shares most of the outcome's.
fn simulate(seed: u64, t: usize, n: usize) -> DataSources {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let mut x = Array2::zeros((t, 3));
    let (mut y, mut proxy, mut z) = (Array1::zeros(t), Array1::zeros(t), Array2::zeros((t, 2)));
    for i in 0..t {
        let (w, z1, z2, u) = (normal(), normal(), normal(), normal());
        let d = 0.6 * z1 + 0.4 * z2 + 0.3 * w + u + 0.5 * normal();
        let e = (u + normal()) * (1.0 + 0.3 * z1.abs());
        x.row_mut(i).assign(&ndarray::array![1.0, w, d]);
        z.row_mut(i).assign(&ndarray::array![z1, z2]);
        y[i] = 1.0 + 0.5 * w + 2.0 * d + e;
        proxy[i] = 0.3 + 0.9 * y[i] + 0.4 * normal();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1e);
    let labeled = common::label_at_random(&mut rng, t, n);
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .column("z1", z.column(0))
        .column("z2", z.column(1))
        .build()
        .unwrap()
}

/// 1,000 data sets, n = 300 of T = 3,000: the default (Windmeijer) intervals for the
/// endogenous slope cover within [93.5%, 96.5%] (±2.2 Monte-Carlo standard errors of
/// 0.69 points around 95%), and are narrower than real-only IV's.
#[test]
fn iv_with_a_proxy_covers_and_beats_real_only() {
    use rayon::prelude::*;
    let reps = 1000;
    let results: Vec<(bool, f64, f64)> = (0..reps as u64)
        .into_par_iter()
        .map(|seed| {
            let data = simulate(7000 + seed, 3000, 300);
            let fit = TwoStepGmm::new(iv()).fit(&data).unwrap();
            let real = RealOnly::new(iv()).estimate(&data).unwrap();
            let ci = fit.conf_int(0.05).unwrap();
            let covered = ci[[2, 0]] <= 2.0 && 2.0 <= ci[[2, 1]];
            (
                covered,
                ci[[2, 1]] - ci[[2, 0]],
                2.0 * 1.959964 * real.se()[2],
            )
        })
        .collect();
    let coverage = results.iter().filter(|r| r.0).count() as f64 / reps as f64;
    let width: f64 = results.iter().map(|r| r.1).sum::<f64>() / reps as f64;
    let real_width: f64 = results.iter().map(|r| r.2).sum::<f64>() / reps as f64;
    println!("coverage {coverage:.3}, width {width:.4} vs real-only {real_width:.4}");
    assert!((0.935..=0.965).contains(&coverage), "coverage {coverage}");
    assert!(width < 0.9 * real_width, "{width} vs {real_width}");
}

/// weak_iv_n60.csv: 60 labeled rows whose instruments barely move d.
fn weak_data() -> DataSources {
    let mut reader = csv::Reader::from_path(data_path("weak_iv_n60.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |h: &str| headers.iter().position(|c| c == h).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let num = |r: &csv::StringRecord, h: &str| r[col(h)].parse::<f64>().unwrap();
    let n = records.len();
    let x = Array2::from_shape_fn((n, 3), |(i, j)| num(&records[i], ["const", "w", "d"][j]));
    let vector = |h: &str| Array1::from_iter(records.iter().map(|r| num(r, h)));
    DataSources::builder(&vec![true; n])
        .real(&x, &vector("y"))
        .column("z1", vector("z1").view())
        .column("z2", vector("z2").view())
        .build()
        .unwrap()
}

/// First-stage diagnostics against linearmodels' `IV2SLS(...).first_stage.diagnostics`
/// (`tests/data/make_weak_iv.py`): its "f.stat" is, with the unadjusted covariance, the
/// F form with the error variance divided by n (`debiased=False`), so
/// F = f.stat · (n − k − q)/n; with the robust covariance, the Wald statistic on its
/// χ²(q) scale, so F = f.stat/q. The partial R² is the same.
#[test]
fn first_stage_diagnostics_match_linearmodels() {
    let exp = &common::expected("weak_iv")["strong"];
    let data = load().data(false);
    let stages = iv().first_stage(&data).unwrap();
    assert_eq!(stages.len(), 1);
    let s = &stages[0];
    assert_eq!(s.column, 2);
    let (n, kz) = (400.0, 4.0);
    let plain = &exp["first_stage_unadjusted"];
    let want = plain["f_stat"].as_f64().unwrap() * (n - kz) / n;
    assert_close("F", &[s.f.statistic], &[want], 1e-9, 0.0);
    assert_eq!((s.f.df_num, s.f.df_denom), (2.0, Some(396.0)));
    let robust = exp["first_stage_robust"]["f_stat"].as_f64().unwrap() / 2.0;
    assert_close("robust F", &[s.robust_f.statistic], &[robust], 1e-9, 0.0);
    let r2 = plain["partial_r2"].as_f64().unwrap();
    assert_close("partial R²", &[s.partial_r2], &[r2], 1e-9, 0.0);
    // The weak design: F near 1.
    let weak = iv().first_stage(&weak_data()).unwrap();
    let want = common::expected("weak_iv")["weak"]["first_stage_unadjusted"]["f_stat"]
        .as_f64()
        .unwrap()
        * (60.0 - kz)
        / 60.0;
    assert_close("weak F", &[weak[0].f.statistic], &[want], 1e-9, 0.0);
    assert!(weak[0].f.statistic < 10.0);
}

/// A model without exogenous columns (d alone, instrumented by z1 and z2, as after
/// fixed effects absorbed the constant): the first stage and the Anderson–Rubin test
/// regress on the instruments alone, against statsmodels' OLS and F tests
/// (`tests/data/make_weak_iv.py`, "no_exogenous").
#[test]
fn diagnostics_without_exogenous_columns_match_statsmodels() {
    use synthgmm::models::IvErrors;
    let exp = &common::expected("weak_iv")["no_exogenous"];
    let d = load();
    let data = DataSources::builder(&d.labeled)
        .real(d.x.slice(s![.., 2..]), &d.y)
        .column("z1", d.z.column(0))
        .column("z2", d.z.column(1))
        .build()
        .unwrap();
    let model = LinearIv::new(Vec::<usize>::new(), ["z1", "z2"]);
    let stage = &model.first_stage(&data).unwrap()[0];
    let number = |key: &str| exp[key].as_f64().unwrap();
    assert_close(
        "F",
        &[stage.f.statistic],
        &[number("first_stage_f")],
        1e-9,
        0.0,
    );
    assert_eq!((stage.f.df_num, stage.f.df_denom), (2.0, Some(398.0)));
    let robust = number("first_stage_robust_f");
    assert_close(
        "robust F",
        &[stage.robust_f.statistic],
        &[robust],
        1e-9,
        0.0,
    );
    assert_close(
        "partial R²",
        &[stage.partial_r2],
        &[number("partial_r2")],
        1e-9,
        0.0,
    );
    let ar = model
        .anderson_rubin(&data, &[2.0], IvErrors::Homoskedastic)
        .unwrap();
    let want = &exp["ar"];
    let (stat, p) = (want["statistic"].as_f64(), want["p_value"].as_f64());
    assert_close(
        "AR",
        &[ar.statistic, ar.p_value],
        &[stat.unwrap(), p.unwrap()],
        1e-9,
        0.0,
    );
}

/// The Anderson–Rubin statistic against its computation by hand in statsmodels (OLS of
/// y − d·b on the instruments, F test of the excluded ones, classical and HC0), and its
/// confidence set against root-finding on a grid: an interval with strong instruments,
/// the whole line (or two rays beyond the grid) with weak ones.
#[test]
fn anderson_rubin_matches_a_hand_computation() {
    use synthgmm::models::{ConfidenceSet, IvErrors};
    let exp = &common::expected("weak_iv")["strong"];
    let data = load().data(false);
    for b in ["2.0", "1.5"] {
        let value: f64 = b.parse().unwrap();
        for (key, errors) in [
            ("homoskedastic", IvErrors::Homoskedastic),
            ("robust", IvErrors::Robust),
        ] {
            let got = iv().anderson_rubin(&data, &[value], errors).unwrap();
            let want = &exp["ar"][b][key];
            assert_close(
                key,
                &[got.statistic],
                &[want["statistic"].as_f64().unwrap()],
                1e-9,
                0.0,
            );
            assert_close(
                key,
                &[got.p_value],
                &[want["p_value"].as_f64().unwrap()],
                1e-9,
                0.0,
            );
        }
    }
    let roots = vec_of(&exp["ar_set"]["roots"]);
    match iv().anderson_rubin_set(&data, 0.05).unwrap() {
        ConfidenceSet::Interval(lo, hi) => assert_close("set", &[lo, hi], &roots, 1e-8, 0.0),
        other => panic!("{other:?}"),
    }
    match iv().anderson_rubin_set(&weak_data(), 0.05).unwrap() {
        ConfidenceSet::Everything => {}
        ConfidenceSet::Outside(lo, hi) => assert!(lo < -50.0 && hi > 50.0, "{lo}, {hi}"),
        other => panic!("{other:?}"),
    }
    // Misuse: one value per endogenous regressor; an exactly identified model without
    // an excluded instrument has nothing to test.
    assert!(matches!(
        iv().anderson_rubin(&data, &[1.0, 2.0], IvErrors::Robust),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        LinearIv::new([0, 1, 2], Vec::<String>::new()).first_stage(&data),
        Err(Error::InvalidConfig { .. })
    ));
}

/// Weak instruments (first-stage coefficients 0.08, strong endogeneity), n = 200, R =
/// 2,000: the Anderson–Rubin test of the true slope rejects at its 5% level (within
/// three Monte-Carlo standard errors, 1.5 points), and the t test of the real-only IV
/// fit over-rejects; the first-stage F warns (median below 10).
#[test]
fn anderson_rubin_keeps_its_size_with_weak_instruments() {
    use rayon::prelude::*;
    use synthgmm::models::IvErrors;
    let reps = 2000u64;
    let results: Vec<(bool, bool, f64)> = (0..reps)
        .into_par_iter()
        .map(|seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(31_000 + seed);
            let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
            let n = 200;
            let (mut x, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..n {
                let (w, z1, z2, u) = (normal(), normal(), normal(), normal());
                let d = 0.08 * z1 + 0.08 * z2 + 0.3 * w + u;
                y.push(1.0 + 0.5 * w + 2.0 * d + 0.9 * u + 0.45 * normal());
                x.extend([1.0, w, d]);
                z.extend([z1, z2]);
            }
            let z = Array2::from_shape_vec((n, 2), z).unwrap();
            let data = DataSources::builder(&vec![true; n])
                .real(
                    &Array2::from_shape_vec((n, 3), x).unwrap(),
                    &Array1::from(y),
                )
                .column("z1", z.column(0))
                .column("z2", z.column(1))
                .build()
                .unwrap();
            let ar = iv()
                .anderson_rubin(&data, &[2.0], IvErrors::Homoskedastic)
                .unwrap();
            let fit = RealOnly::new(iv()).estimate(&data).unwrap();
            let ci = fit.conf_int(0.05).unwrap();
            let wald_rejects = !(ci[[2, 0]] <= 2.0 && 2.0 <= ci[[2, 1]]);
            let f = iv().first_stage(&data).unwrap()[0].f.statistic;
            (ar.p_value < 0.05, wald_rejects, f)
        })
        .collect();
    let r = reps as f64;
    let ar = results.iter().filter(|v| v.0).count() as f64 / r;
    let wald = results.iter().filter(|v| v.1).count() as f64 / r;
    let mut f: Vec<f64> = results.iter().map(|v| v.2).collect();
    f.sort_by(f64::total_cmp);
    let median_f = f[f.len() / 2];
    println!("rejection at the truth: Anderson–Rubin {ar:.3}, IV t test {wald:.3}; median first-stage F {median_f:.2}");
    assert!((ar - 0.05).abs() <= 0.015, "Anderson–Rubin rejects {ar}");
    assert!(wald > 0.08, "t test rejects {wald}");
    assert!(median_f < 10.0, "median F {median_f}");
}
