//! Fits from Parquet files kept out of memory: against the reference results, against
//! the in-memory fit of the same rows (1e-10 relative), and on bad files.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray};
use ndarray::{Array1, Array2};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use synthgmm::baselines::PpiPlusPlus;
use synthgmm::models::{LinearIv, Logistic, Ols};
use synthgmm::parquet::ParquetSources;
use synthgmm::{
    Column, ColumnSpec, Covariance, CrossWeights, DataSources, Error, Estimator, GmmFit,
    MomentModel, StepOne, TwoStepGmm, Weighting,
};

use common::{check_fit, expected, load};

/// A column to write: numbers (NaN written as null) or the label indicator.
enum Values {
    Numbers(Vec<f64>),
    Labels(Vec<bool>),
    Integers(Vec<i32>),
    Text(Vec<String>),
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgmm-ooc-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the columns into `files` Parquet files of consecutive rows, with row groups
/// of `group_rows` rows.
fn write(dir: &Path, columns: &[(&str, Values)], files: usize, group_rows: usize) -> Vec<PathBuf> {
    let t = match &columns[0].1 {
        Values::Numbers(v) => v.len(),
        Values::Labels(v) => v.len(),
        Values::Integers(v) => v.len(),
        Values::Text(v) => v.len(),
    };
    let per_file = t.div_ceil(files);
    (0..files)
        .map(|f| {
            let rows = f * per_file..((f + 1) * per_file).min(t);
            let arrays: Vec<(&str, ArrayRef)> = columns
                .iter()
                .map(|(name, values)| {
                    let array: ArrayRef = match values {
                        Values::Numbers(v) => Arc::new(Float64Array::from(
                            v[rows.clone()]
                                .iter()
                                .map(|&x| (!x.is_nan()).then_some(x))
                                .collect::<Vec<_>>(),
                        )),
                        Values::Labels(v) => Arc::new(BooleanArray::from(v[rows.clone()].to_vec())),
                        Values::Integers(v) => Arc::new(Int32Array::from(v[rows.clone()].to_vec())),
                        Values::Text(v) => Arc::new(StringArray::from(v[rows.clone()].to_vec())),
                    };
                    (*name, array)
                })
                .collect();
            let batch = RecordBatch::try_from_iter(arrays).unwrap();
            let path = dir.join(format!("part-{f}.parquet"));
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(group_rows))
                .build();
            let mut writer = ArrowWriter::try_new(
                std::fs::File::create(&path).unwrap(),
                batch.schema(),
                Some(props),
            )
            .unwrap();
            writer.write(&batch).unwrap();
            writer.close().unwrap();
            path
        })
        .collect()
}

fn numbers(v: impl IntoIterator<Item = f64>) -> Values {
    Values::Numbers(v.into_iter().collect())
}

/// The columns of a data set with real data and sources `proxy` (the real covariates)
/// and `synth` (its own): `S`, `y`, `x0..`, `proxy_y`, `synth_y`, `sx0..`.
struct Frame {
    labeled: Vec<bool>,
    x: Array2<f64>,
    y: Array1<f64>,
    proxy: Array1<f64>,
    synth_x: Array2<f64>,
    synth: Array1<f64>,
}

impl Frame {
    fn columns(&self) -> Vec<(String, Values)> {
        let p = self.x.ncols();
        let mut out = vec![
            ("S".to_string(), Values::Labels(self.labeled.clone())),
            // Real outcomes exist on labeled rows only.
            (
                "y".to_string(),
                numbers(
                    self.y
                        .iter()
                        .zip(&self.labeled)
                        .map(|(&v, &s)| if s { v } else { f64::NAN }),
                ),
            ),
            ("proxy_y".to_string(), numbers(self.proxy.iter().copied())),
            ("synth_y".to_string(), numbers(self.synth.iter().copied())),
        ];
        for j in 0..p {
            out.push((format!("x{j}"), numbers(self.x.column(j).iter().copied())));
            out.push((
                format!("sx{j}"),
                numbers(self.synth_x.column(j).iter().copied()),
            ));
        }
        out
    }

    fn write(&self, dir: &Path, files: usize, group_rows: usize) -> Vec<PathBuf> {
        self.write_with(dir, Vec::new(), (files, group_rows))
    }

    /// The frame's columns and `more` in `files` files of row groups of `group_rows`.
    fn write_with(
        &self,
        dir: &Path,
        more: Vec<(String, Values)>,
        (files, group_rows): (usize, usize),
    ) -> Vec<PathBuf> {
        let mut columns = self.columns();
        columns.extend(more);
        let refs: Vec<(&str, Values)> = columns
            .into_iter()
            .map(|(n, v)| (&*Box::leak(n.into_boxed_str()), v))
            .collect();
        write(dir, &refs, files, group_rows)
    }

    fn in_memory(&self, sources: &[&str]) -> DataSources {
        let mut b = DataSources::builder(&self.labeled).real(&self.x, &self.y);
        for &s in sources {
            b = match s {
                "proxy" => b.source("proxy", &self.x, &self.proxy),
                "synth" => b.source("synth", &self.synth_x, &self.synth),
                "again" => b.source("again", &self.x, &self.proxy),
                _ => unreachable!(),
            };
        }
        b.build().unwrap()
    }

    fn out_of_core(&self, paths: &[PathBuf], sources: &[&str]) -> DataSources {
        let p = self.x.ncols();
        let x: Vec<String> = (0..p).map(|j| format!("x{j}")).collect();
        let sx: Vec<String> = (0..p).map(|j| format!("sx{j}")).collect();
        let mut spec = ParquetSources::new(paths).labeled("S").real("y", &x);
        for &s in sources {
            spec = match s {
                "proxy" => spec.source("proxy", "proxy_y", &x),
                "synth" => spec.source("synth", "synth_y", &sx),
                "again" => spec.source("again", "proxy_y", &x),
                _ => unreachable!(),
            };
        }
        spec.covariate_names((0..p).map(|j| format!("x{j}")))
            .open()
            .unwrap()
    }
}

impl From<common::ReferenceData> for Frame {
    fn from(d: common::ReferenceData) -> Self {
        Frame {
            labeled: d.labeled,
            x: d.real_x,
            y: d.real_y,
            proxy: d.proxy_y,
            synth_x: d.synth_x,
            synth: d.synth_y,
        }
    }
}

/// A simulated data set of `t` rows: an intercept and two covariates, a labeled share
/// of about 4%, a proxy correlated with the outcome and a synthetic sample with its
/// own covariates. Binary outcomes for `logistic`.
fn simulated(t: usize, logistic: bool) -> Frame {
    // A deterministic, well-mixed sequence in (0, 1).
    let u = |i: usize, k: usize| {
        let z = ((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (k as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let normal = |i: usize, k: usize| {
        (-2.0 * u(i, k).ln()).sqrt() * (std::f64::consts::TAU * u(i, k + 100)).cos()
    };
    let x = Array2::from_shape_fn((t, 3), |(i, j)| if j == 0 { 1.0 } else { normal(i, j) });
    let synth_x = Array2::from_shape_fn((t, 3), |(i, j)| {
        if j == 0 {
            1.0
        } else {
            x[[i, j]] + 0.3 * normal(i, 10 + j)
        }
    });
    let index = |xr: ndarray::ArrayView1<f64>| 0.3 + 0.8 * xr[1] - 0.5 * xr[2];
    let e: Vec<f64> = (0..t).map(|i| normal(i, 20)).collect();
    let outcome = |eta: f64, noise: f64, i: usize, k: usize| {
        if logistic {
            f64::from(u8::from(u(i, k) < 1.0 / (1.0 + (-(eta + noise)).exp())))
        } else {
            eta + noise
        }
    };
    let y = Array1::from_shape_fn(t, |i| outcome(index(x.row(i)), e[i], i, 30));
    let proxy = Array1::from_shape_fn(t, |i| {
        outcome(
            0.9 * index(x.row(i)) + 0.1,
            0.8 * e[i] + 0.4 * normal(i, 40),
            i,
            30,
        )
    });
    let synth = Array1::from_shape_fn(t, |i| {
        outcome(
            index(synth_x.row(i)),
            0.6 * e[i] + 0.6 * normal(i, 50),
            i,
            31,
        )
    });
    Frame {
        labeled: (0..t).map(|i| u(i, 60) < 0.04).collect(),
        x,
        y,
        proxy,
        synth_x,
        synth,
    }
}

/// |a − b| ≤ tol · max(|a|, |b|, floor) elementwise.
fn assert_same(what: &str, a: &[f64], b: &[f64], tol: f64, floor: f64) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let scale = x.abs().max(y.abs()).max(floor);
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: out of core {x:e}, in memory {y:e}"
        );
    }
}

/// Two covariances (an absolute floor of 1e-3 of the largest entry) and their
/// standard errors within `tol` relative.
fn assert_same_covariance(
    label: &str,
    (ooc, mem): (ndarray::ArrayView2<f64>, ndarray::ArrayView2<f64>),
    (ooc_se, mem_se): (&Array1<f64>, &Array1<f64>),
    tol: f64,
) {
    let cov: Vec<f64> = mem.iter().copied().collect();
    let ooc_cov: Vec<f64> = ooc.iter().copied().collect();
    let floor = cov.iter().fold(0.0f64, |m, x| m.max(x.abs())) * 1e-3;
    assert_same(&format!("{label} cov"), &ooc_cov, &cov, tol, floor);
    assert_same(
        &format!("{label} se"),
        &ooc_se.to_vec(),
        &mem_se.to_vec(),
        tol,
        0.0,
    );
}

/// Every number of two fits within `tol` relative (parameters with an absolute floor
/// of 1e-3 of their largest, covariances of 1e-3 of theirs).
fn assert_same_fit(label: &str, ooc: &GmmFit, mem: &GmmFit, tol: f64) {
    let floor = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs())) * 1e-3;
    let params = mem.params().to_vec();
    assert_same(
        &format!("{label} params"),
        ooc.params().as_slice().unwrap(),
        &params,
        tol,
        floor(&params),
    );
    let step1 = mem.step1_params().to_vec();
    assert_same(
        &format!("{label} step 1"),
        &ooc.step1_params().to_vec(),
        &step1,
        tol,
        floor(&step1),
    );
    let covariances = (ooc.cov_theta(), mem.cov_theta());
    assert_same_covariance(label, covariances, (&ooc.se(), &mem.se()), tol);
    assert_same(
        &format!("{label} real-only se"),
        &ooc.real_only_se().to_vec(),
        &mem.real_only_se().to_vec(),
        tol,
        0.0,
    );
    let (j1, j2) = (ooc.j_test(), mem.j_test());
    assert_eq!(j1.df, j2.df, "{label} J df");
    assert_same(
        &format!("{label} J"),
        &[j1.statistic],
        &[j2.statistic],
        tol,
        1e-12,
    );
    assert_eq!(ooc.notes(), mem.notes(), "{label} notes");
    assert_eq!(
        (ooc.n_rows(), ooc.n_labeled()),
        (mem.n_rows(), mem.n_labeled())
    );
    assert_eq!(ooc.source_names(), mem.source_names());
}

/// The reference results (the same as `tests/reference.rs`) from the files: three
/// files, row groups of 700 rows.
#[test]
fn out_of_core_fits_match_the_reference_results() {
    for (name, logistic, tol) in [
        ("ols_T3000_n300_rho7", false, 1e-8),
        ("logistic_T3000_n300_rho7", true, 1e-6),
    ] {
        let frame = Frame::from(load(name));
        let dir = scratch(name);
        let paths = frame.write(&dir, 3, 700);
        let exp = expected(name);
        for (key, sources) in [
            ("gmm_synth", &["proxy", "synth"][..]),
            ("gmm_proxy", &["proxy"][..]),
            ("real_only", &[][..]),
        ] {
            let data = frame.out_of_core(&paths, sources);
            assert!(data.is_out_of_core());
            let fit = if logistic {
                textbook(TwoStepGmm::new(Logistic)).fit(&data)
            } else {
                textbook(TwoStepGmm::new(Ols)).fit(&data)
            }
            .unwrap();
            check_fit(&fit, &exp[key], tol, &format!("{name} {key} out of core"));
        }
        std::fs::remove_dir_all(dir).ok();
    }
}

/// One column description for every tier: the files opened from a [`ColumnSpec`] are
/// the data set the builder's methods give, and a source with another number of
/// covariates is a typed error.
#[test]
fn a_column_spec_opens_the_same_data_set() {
    let frame = Frame::from(load("ols_T3000_n300_rho7"));
    let dir = scratch("column_spec");
    let paths = frame.write(&dir, 2, 1000);
    let p = frame.x.ncols();
    let x: Vec<String> = (0..p).map(|j| format!("x{j}")).collect();
    let sx: Vec<String> = (0..p).map(|j| format!("sx{j}")).collect();
    let spec = ColumnSpec::new("S", "y", &x)
        .source("proxy", "proxy_y", &x)
        .source("synth", "synth_y", &sx);
    let from_spec = ParquetSources::new(&paths)
        .columns(spec.clone())
        .open()
        .unwrap();
    let from_builder = frame.out_of_core(&paths, &["proxy", "synth"]);
    let a = TwoStepGmm::new(Ols).fit(&from_spec).unwrap();
    let b = TwoStepGmm::new(Ols).fit(&from_builder).unwrap();
    assert_eq!(a.theta(), b.theta());
    assert_eq!(a.se(), b.se());
    assert_eq!(a.source_names(), b.source_names());
    let short = spec.source("short", "proxy_y", &x[..1]);
    let opened = ParquetSources::new(&paths).columns(short).open();
    assert!(
        matches!(opened, Err(Error::CovariateMismatch { ref source_name, expected, found: 1 })
            if source_name == "short" && expected == p),
        "{opened:?}"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// The settings of the reference results.
fn textbook<M: MomentModel>(gmm: TwoStepGmm<M>) -> TwoStepGmm<M> {
    gmm.cross_weights(CrossWeights::Unrestricted)
        .step_one(StepOne::Identity)
        .covariance(Covariance::Reestimated)
}

/// Default settings and others, OLS and logistic, on 150,000 rows (enough for the
/// nonlinear fits to start from the subsample): the same numbers as in memory, each
/// row's influence included.
#[test]
fn out_of_core_fits_equal_in_memory_fits() {
    for logistic in [false, true] {
        let frame = simulated(150_000, logistic);
        let dir = scratch(if logistic { "logistic" } else { "ols" });
        let paths = frame.write(&dir, 2, 30_000);
        let sources = ["proxy", "synth", "again"];
        let (ooc, mem) = (
            frame.out_of_core(&paths, &sources),
            frame.in_memory(&sources),
        );
        macro_rules! compare {
            ($model:expr) => {{
                let settings: Vec<(&str, Box<dyn Fn(TwoStepGmm<_>) -> TwoStepGmm<_>>)> = vec![
                    ("default", Box::new(|g| g)),
                    (
                        "paper",
                        Box::new(|g| g.cross_weights(CrossWeights::Unrestricted)),
                    ),
                    ("textbook", Box::new(|g| textbook(g))),
                    (
                        "iterated",
                        Box::new(|g| g.weighting(Weighting::Iterated { max_rounds: 50 })),
                    ),
                ];
                for (label, setting) in settings {
                    let a = setting(TwoStepGmm::new($model)).fit(&ooc).unwrap();
                    let b = setting(TwoStepGmm::new($model)).fit(&mem).unwrap();
                    assert_same_fit(&format!("logistic = {logistic}, {label}"), &a, &b, 1e-10);
                    // Each row's influence, read from the files as from memory.
                    let gmm = setting(TwoStepGmm::new($model));
                    let values = |data: &DataSources, fit: &GmmFit| -> Vec<f64> {
                        let influence = gmm.influence(data, fit).unwrap().unwrap();
                        influence.values().iter().copied().collect()
                    };
                    let what = format!("influence, logistic = {logistic}, {label}");
                    assert_same(&what, &values(&ooc, &a), &values(&mem, &b), 1e-9, 1e-13);
                }
            }};
        }
        if logistic {
            compare!(Logistic);
        } else {
            compare!(Ols);
        }
        // The repeated source is left out, as in memory.
        let fit = TwoStepGmm::new(Ols).fit(&ooc).unwrap();
        assert_eq!(fit.source_names(), vec!["proxy", "synth"]);
        std::fs::remove_dir_all(dir).ok();
    }
}

/// Instruments read from the files (extra columns: one shared by the real data and the
/// proxy, the synthetic source's own, and the real data's own second instrument) give
/// the in-memory linear IV fit to 1e-10: 60,000 rows, the default and the paper's
/// settings, from a [`ColumnSpec`] and from the builder alike. Without its own columns
/// the synthetic source would read the shared ones, and the fit would differ.
#[test]
fn instruments_out_of_core_equal_in_memory() {
    let frame = simulated(60_000, false);
    let t = frame.labeled.len();
    let wiggle = |k: f64| Array1::from_shape_fn(t, |i| ((i as f64) * k).sin());
    let z = &frame.x.column(1) + &(0.7 * &wiggle(0.37));
    let w = &frame.x.column(2) - &(0.5 * &wiggle(1.13));
    let sz = &frame.synth_x.column(1) + &(0.7 * &wiggle(2.71));
    let real_w = &w + &(0.01 * &wiggle(0.53));
    let dir = scratch("instruments");
    let more = vec![
        ("z".to_string(), numbers(z.iter().copied())),
        ("w".to_string(), numbers(w.iter().copied())),
        ("sz".to_string(), numbers(sz.iter().copied())),
        ("rw".to_string(), numbers(real_w.iter().copied())),
    ];
    let paths = frame.write_with(&dir, more, (2, 9_000));
    let sources = ["proxy", "synth"];
    let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
    let sx: Vec<String> = (0..3).map(|j| format!("sx{j}")).collect();
    let spec = ColumnSpec::new("S", "y", &x)
        .source("proxy", "proxy_y", &x)
        .source("synth", "synth_y", &sx)
        .column("z")
        .column("w")
        .source_column("synth", "z", "sz")
        .real_column("w", "rw");
    let from_spec = ParquetSources::new(&paths).columns(spec).open().unwrap();
    let from_builder = ParquetSources::new(&paths)
        .labeled("S")
        .real("y", &x)
        .source("proxy", "proxy_y", &x)
        .source("synth", "synth_y", &sx)
        .source_column("synth", "z", "sz")
        .column("w")
        .real_column("w", "rw")
        .open()
        .unwrap();
    let mem = DataSources::builder(&frame.labeled)
        .real(&frame.x, &frame.y)
        .source("proxy", &frame.x, &frame.proxy)
        .source("synth", &frame.synth_x, &frame.synth)
        .column("z", &z)
        .column("w", &w)
        .source_column("synth", "z", &sz)
        .real_column("w", &real_w)
        .build()
        .unwrap();
    let shared = DataSources::builder(&frame.labeled)
        .real(&frame.x, &frame.y)
        .source("proxy", &frame.x, &frame.proxy)
        .source("synth", &frame.synth_x, &frame.synth)
        .column("z", &z)
        .column("w", &w)
        .real_column("w", &real_w)
        .build()
        .unwrap();
    // x1 endogenous, instrumented by z and w (over-identified).
    let model = || LinearIv::new([0, 2], ["z", "w"]);
    for (label, cross) in [
        ("default", CrossWeights::default()),
        ("paper", CrossWeights::Unrestricted),
    ] {
        let fit = |data: &DataSources| {
            TwoStepGmm::new(model())
                .cross_weights(cross)
                .fit(data)
                .unwrap()
        };
        let reference = fit(&mem);
        assert_eq!(reference.source_names(), sources);
        for (what, data) in [("spec", &from_spec), ("builder", &from_builder)] {
            assert!(data.is_out_of_core());
            assert_same_fit(
                &format!("IV {label}, {what}"),
                &fit(data),
                &reference,
                1e-10,
            );
        }
        let other = fit(&shared);
        assert!((other.theta()[1] - reference.theta()[1]).abs() > 1e-6 * reference.se()[1]);
    }
    // Bad instruments: a NaN on an unlabeled row of the synthetic source's own column
    // (named with its column and row), a column the files lack, an instrument that
    // duplicates an exogenous covariate (the step-1 metric is singular).
    let mut bad_sz = sz.to_vec();
    bad_sz[40_001] = f64::NAN;
    let bad_dir = scratch("instruments-bad");
    let more = vec![
        ("z".to_string(), numbers(z.iter().copied())),
        ("sz".to_string(), numbers(bad_sz)),
        (
            "x2copy".to_string(),
            numbers(frame.x.column(2).iter().copied()),
        ),
    ];
    let bad_paths = frame.write_with(&bad_dir, more, (2, 9_000));
    let with = |name: &str, column: &str| {
        ParquetSources::new(&bad_paths)
            .labeled("S")
            .real("y", &x)
            .source("synth", "synth_y", &sx)
            .column(name)
            .source_column("synth", name, column)
            .open()
    };
    match with("z", "sz") {
        Err(Error::NonFinite {
            source_name,
            column: Column::Extra(name),
            row,
            ..
        }) => {
            assert_eq!(
                (source_name.as_str(), name.as_str(), row),
                ("synth", "z", 40_001)
            );
        }
        other => panic!("expected a non-finite instrument, got {other:?}"),
    }
    match with("z", "w") {
        Err(Error::Read { reason, .. }) => assert!(reason.contains("no column `w`"), "{reason}"),
        other => panic!("expected a missing column, got {other:?}"),
    }
    let duplicate = with("x2copy", "x2copy").unwrap();
    let singular = TwoStepGmm::new(LinearIv::new([0, 2], ["x2copy"])).fit(&duplicate);
    assert!(
        matches!(
            singular,
            Err(Error::Collinear { .. }) | Err(Error::SingularWeight { .. })
        ),
        "{singular:?}"
    );
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(bad_dir).ok();
}

/// Observation weights, clusters and labeling probabilities read from the files (held
/// in memory, one value per row) give the in-memory fit to 1e-10: least squares and
/// logistic regression on 150,000 rows, the default and the paper's settings, clusters
/// as integers and as strings (2,000 of them, each spread over both files).
#[test]
fn weights_and_clusters_out_of_core_equal_in_memory() {
    for logistic in [false, true] {
        let frame = simulated(150_000, logistic);
        let t = frame.labeled.len();
        let w: Vec<f64> = (0..t)
            .map(|i| 0.5 + ((i * 7919) % 1000) as f64 / 666.0)
            .collect();
        let g: Vec<i32> = (0..t).map(|i| ((i * 31) % 2_000) as i32).collect();
        let text: Vec<String> = g.iter().map(|c| format!("c{c}")).collect();
        let pi: Vec<f64> = (0..t)
            .map(|i| 0.02 + ((i * 37) % 100) as f64 / 2_500.0)
            .collect();
        let dir = scratch(if logistic {
            "weighted-logistic"
        } else {
            "weighted-ols"
        });
        let more = vec![
            ("w".to_string(), numbers(w.iter().copied())),
            ("g".to_string(), Values::Integers(g.clone())),
            ("gs".to_string(), Values::Text(text)),
            ("pi".to_string(), numbers(pi.iter().copied())),
        ];
        let paths = frame.write_with(&dir, more, (2, 30_000));
        let sources = ["proxy", "synth"];
        for (clusters, probabilities) in [(None, false), (Some("g"), false), (Some("gs"), true)] {
            let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
            let sx: Vec<String> = (0..3).map(|j| format!("sx{j}")).collect();
            // With probabilities, the weights, probabilities and clusters come from a
            // `ColumnSpec`, as the SQL and DataFusion tiers take them.
            let mut spec = match probabilities {
                true => ParquetSources::new(&paths).columns(
                    ColumnSpec::new("S", "y", &x)
                        .source("proxy", "proxy_y", &x)
                        .source("synth", "synth_y", &sx)
                        .weights("w")
                        .labeling_probabilities("pi")
                        .clusters("gs"),
                ),
                false => ParquetSources::new(&paths)
                    .labeled("S")
                    .real("y", &x)
                    .source("proxy", "proxy_y", &x)
                    .source("synth", "synth_y", &sx)
                    .weights("w"),
            };
            let mut mem = DataSources::builder(&frame.labeled)
                .real(&frame.x, &frame.y)
                .source("proxy", &frame.x, &frame.proxy)
                .source("synth", &frame.synth_x, &frame.synth)
                .weights(&Array1::from(w.clone()));
            if let Some(column) = clusters {
                if !probabilities {
                    spec = spec.clusters(column);
                }
                mem = mem.clusters(&g);
            }
            if probabilities {
                mem = mem.labeling_probabilities(&Array1::from(pi.clone()));
            }
            let ooc = spec.covariate_names(&x).open().unwrap();
            let mem = mem.covariate_names(&x).build().unwrap();
            assert_eq!(ooc.n_clusters(), mem.n_clusters());
            assert_eq!(sources.len(), ooc.n_sources());
            for paper in [false, true] {
                let label = format!(
                    "logistic = {logistic}, clusters {clusters:?}, π {probabilities}, paper {paper}"
                );
                macro_rules! fit {
                    ($model:expr, $data:expr) => {{
                        let gmm = TwoStepGmm::new($model);
                        let gmm = match paper {
                            true => gmm.cross_weights(CrossWeights::Unrestricted),
                            false => gmm,
                        };
                        gmm.fit($data).unwrap()
                    }};
                }
                let (a, b) = match logistic {
                    true => (fit!(Logistic, &ooc), fit!(Logistic, &mem)),
                    false => (fit!(Ols, &ooc), fit!(Ols, &mem)),
                };
                assert_same_fit(&label, &a, &b, 1e-10);
                // The weights count: the unweighted fit differs.
                let unweighted = match logistic {
                    true => fit!(Logistic, &frame.in_memory(&sources)),
                    false => fit!(Ols, &frame.in_memory(&sources)),
                };
                assert!((a.theta()[1] - unweighted.theta()[1]).abs() > 1e-6 * a.se()[1]);
            }
        }
        std::fs::remove_dir_all(dir).ok();
    }
}

/// Every number of two baseline estimates within `tol` relative (parameters with an
/// absolute floor of 1e-3 of their largest).
fn assert_same_estimate(label: &str, ooc: &synthgmm::Estimate, mem: &synthgmm::Estimate, tol: f64) {
    let floor = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs())) * 1e-3;
    let theta = mem.theta().to_vec();
    assert_same(
        &format!("{label} θ"),
        &ooc.theta().to_vec(),
        &theta,
        tol,
        floor(&theta),
    );
    assert_same_covariance(label, (ooc.cov(), mem.cov()), (&ooc.se(), &mem.se()), tol);
    let ci = |e: &synthgmm::Estimate| {
        e.conf_int(0.05)
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>()
    };
    assert_same(
        &format!("{label} interval"),
        &ci(ooc),
        &ci(mem),
        tol,
        floor(&theta),
    );
    assert_eq!(ooc.notes(), mem.notes(), "{label} notes");
}

/// PPI++, PPI++Synth and DSL read the sources' files out of core (each sum over every
/// row one read): the in-memory fit to 1e-10, least squares and logistic regression on
/// 60,000 rows in two files, unweighted, with observation weights, with clusters
/// (1,500 of them, spread over both files) and with labeling probabilities (DSL's π);
/// PPI++'s λ tuned and fixed. The tuned λ̂
/// differs from 1, so the fits do read the files' rows.
#[test]
fn ppi_and_dsl_out_of_core_equal_in_memory() {
    use synthgmm::baselines::{Lambda, PpiSynth};
    for logistic in [false, true] {
        let frame = simulated(60_000, logistic);
        let t = frame.labeled.len();
        let w: Vec<f64> = (0..t)
            .map(|i| 0.5 + ((i * 7919) % 1000) as f64 / 666.0)
            .collect();
        let g: Vec<i32> = (0..t).map(|i| ((i * 31) % 1_500) as i32).collect();
        let dir = scratch(if logistic { "ppi-logistic" } else { "ppi-ols" });
        let pi: Vec<f64> = (0..t)
            .map(|i| 0.02 + ((i * 37) % 100) as f64 / 2_500.0)
            .collect();
        let more = vec![
            ("w".to_string(), numbers(w.iter().copied())),
            ("g".to_string(), Values::Integers(g.clone())),
            ("pi".to_string(), numbers(pi.iter().copied())),
        ];
        let paths = frame.write_with(&dir, more, (2, 20_000));
        let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
        let sx: Vec<String> = (0..3).map(|j| format!("sx{j}")).collect();
        for setting in ["plain", "weighted", "clustered", "probabilities"] {
            let mut spec = ParquetSources::new(&paths)
                .labeled("S")
                .real("y", &x)
                .source("proxy", "proxy_y", &x)
                .source("synth", "synth_y", &sx);
            let mut mem = DataSources::builder(&frame.labeled)
                .real(&frame.x, &frame.y)
                .source("proxy", &frame.x, &frame.proxy)
                .source("synth", &frame.synth_x, &frame.synth);
            match setting {
                "weighted" => {
                    spec = spec.weights("w");
                    mem = mem.weights(&Array1::from(w.clone()));
                }
                "clustered" => {
                    spec = spec.clusters("g");
                    mem = mem.clusters(&g);
                }
                "probabilities" => {
                    spec = spec.labeling_probabilities("pi");
                    mem = mem.labeling_probabilities(&Array1::from(pi.clone()));
                }
                _ => {}
            }
            let ooc = spec.covariate_names(&x).open().unwrap();
            let mem = mem.covariate_names(&x).build().unwrap();
            assert!(ooc.is_out_of_core() && !mem.is_out_of_core());
            let label = format!("logistic = {logistic}, {setting}");
            macro_rules! compare {
                ($model:expr) => {{
                    let tuned = PpiPlusPlus::new($model, "proxy");
                    let (a, b) = (tuned.fit(&ooc).unwrap(), tuned.fit(&mem).unwrap());
                    assert_same(
                        &format!("{label} λ̂"),
                        &[a.lambda()],
                        &[b.lambda()],
                        1e-10,
                        0.0,
                    );
                    assert!(
                        b.lambda() > 0.0 && b.lambda() < 1.0,
                        "{label}: λ̂ = {}",
                        b.lambda()
                    );
                    assert_same_estimate(
                        &format!("{label} PPI++"),
                        a.estimate(),
                        b.estimate(),
                        1e-10,
                    );
                    let fixed = PpiPlusPlus::new($model, "proxy").lambda(Lambda::Fixed(1.0));
                    let (a, b) = (fixed.estimate(&ooc).unwrap(), fixed.estimate(&mem).unwrap());
                    assert_same_estimate(&format!("{label} PPI (λ = 1)"), &a, &b, 1e-10);
                    let synth = PpiSynth::new($model, "proxy", "synth");
                    let (a, b) = (synth.fit(&ooc).unwrap(), synth.fit(&mem).unwrap());
                    assert_eq!(a.mixture(), b.mixture(), "{label} mixture");
                    assert_same_estimate(
                        &format!("{label} PPI++Synth"),
                        a.estimate(),
                        b.estimate(),
                        1e-10,
                    );
                }};
            }
            match logistic {
                true => compare!(Logistic),
                false => compare!(Ols),
            }
        }
        // A file removed between passes: the fit reports the read error.
        let ooc = ParquetSources::new(&paths)
            .labeled("S")
            .real("y", &x)
            .source("proxy", "proxy_y", &x)
            .covariate_names(&x)
            .open()
            .unwrap();
        std::fs::remove_file(&paths[1]).unwrap();
        let gone = PpiPlusPlus::new(Ols, "proxy").fit(&ooc);
        assert!(matches!(gone, Err(Error::Read { .. })), "{gone:?}");
        let gone = synthgmm::baselines::Dsl::new(Ols, "proxy").estimate(&ooc);
        assert!(matches!(gone, Err(Error::Read { .. })), "{gone:?}");
        std::fs::remove_dir_all(dir).ok();
    }
}

/// A weight that is not positive or a labeling probability above 1 names its row among
/// all files' rows; a null cluster is a read error naming the column.
#[test]
fn bad_weights_and_clusters_in_files_are_typed_errors() {
    let frame = simulated(3_000, false);
    let t = frame.labeled.len();
    let mut w: Vec<f64> = vec![1.0; t];
    w[2_345] = -1.0;
    let mut pi: Vec<f64> = vec![0.5; t];
    pi[1_234] = 1.5;
    let clusters: Vec<Option<i32>> = (0..t).map(|i| (i != 17).then_some(i as i32 % 40)).collect();
    let dir = scratch("bad-weights");
    let more = vec![
        ("w".to_string(), numbers(w)),
        ("pi".to_string(), numbers(pi)),
        (
            "g".to_string(),
            numbers(clusters.iter().map(|c| c.map_or(f64::NAN, f64::from))),
        ),
    ];
    let paths = frame.write_with(&dir, more, (2, 700));
    let spec = || {
        ParquetSources::new(&paths)
            .labeled("S")
            .real("y", ["x0", "x1", "x2"])
    };
    match spec().weights("w").open() {
        Err(Error::InvalidValue {
            column: Column::Weight,
            row,
            ..
        }) => assert_eq!(row, 2_345),
        other => panic!("{other:?}"),
    }
    match spec().labeling_probabilities("pi").open() {
        Err(Error::InvalidValue {
            column: Column::LabelingProbability,
            row,
            ..
        }) => assert_eq!(row, 1_234),
        other => panic!("{other:?}"),
    }
    match spec().clusters("g").open() {
        Err(Error::Read { reason, .. }) => assert!(reason.contains("`g` has nulls"), "{reason}"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Bad files and values end in typed errors naming the row among all files' rows.
#[test]
fn bad_files_and_values_are_typed_errors() {
    let frame = simulated(3_000, true);
    let dir = scratch("errors");
    let mut columns = frame.columns();
    let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
    let open = |columns: &mut Vec<(String, Values)>, name: &str| {
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let taken: Vec<(String, Values)> = std::mem::take(columns);
        let refs: Vec<(&str, Values)> = taken
            .into_iter()
            .map(|(n, v)| (&*Box::leak(n.into_boxed_str()), v))
            .collect();
        let paths = write(&sub, &refs, 2, 500);
        ParquetSources::new(&paths)
            .labeled("S")
            .real("y", &x)
            .source("proxy", "proxy_y", &x)
            .open()
    };
    // A NaN in a source, in the second file.
    let mut bad = frame.columns();
    if let Values::Numbers(v) = &mut bad[2].1 {
        v[2_100] = f64::NAN;
    }
    match open(&mut bad, "nan") {
        Err(Error::NonFinite {
            source_name,
            column,
            row,
            ..
        }) => {
            assert_eq!(
                (source_name.as_str(), column, row),
                ("proxy", Column::Outcome, 2_100)
            );
        }
        other => panic!("{other:?}"),
    }
    // A label that is neither 0 nor 1.
    let mut bad = frame.columns();
    let labels: Vec<i32> = frame
        .labeled
        .iter()
        .enumerate()
        .map(|(i, &s)| if i == 1_234 { 2 } else { i32::from(s) })
        .collect();
    bad[0].1 = Values::Integers(labels);
    match open(&mut bad, "label") {
        Err(Error::InvalidValue {
            column: Column::Label,
            row: 1_234,
            value,
            ..
        }) => assert_eq!(value, 2.0),
        other => panic!("{other:?}"),
    }
    // A missing real value on a labeled row.
    let mut bad = frame.columns();
    let first = frame.labeled.iter().position(|&s| s).unwrap();
    if let Values::Numbers(v) = &mut bad[1].1 {
        v[first] = f64::NAN;
    }
    assert!(matches!(open(&mut bad, "real"), Err(Error::NonFinite { row, .. }) if row == first));
    // Missing column, missing file, a file that is not Parquet.
    let ok = open(&mut columns, "ok").unwrap();
    let paths = [dir.join("ok/part-0.parquet"), dir.join("ok/part-1.parquet")];
    let missing = ParquetSources::new(&paths)
        .labeled("S")
        .real("y", &x)
        .source("proxy", "nope", &x)
        .open();
    assert!(
        matches!(missing, Err(Error::Read { ref reason, .. }) if reason.contains("nope")),
        "{missing:?}"
    );
    let gone = ParquetSources::new([dir.join("ok/none.parquet")])
        .labeled("S")
        .real("y", &x)
        .open();
    assert!(matches!(gone, Err(Error::Read { .. })), "{gone:?}");
    std::fs::write(dir.join("text.parquet"), "not parquet").unwrap();
    let text = ParquetSources::new([dir.join("text.parquet")])
        .labeled("S")
        .real("y", &x)
        .open();
    assert!(matches!(text, Err(Error::Read { .. })), "{text:?}");
    // Unnamed parts, mismatched covariates.
    let unnamed = ParquetSources::new(&paths).real("y", &x).open();
    assert!(
        matches!(unnamed, Err(Error::InvalidConfig { .. })),
        "{unnamed:?}"
    );
    let short = ParquetSources::new(&paths)
        .labeled("S")
        .real("y", &x)
        .source("proxy", "proxy_y", ["x0"])
        .open();
    assert!(
        matches!(short, Err(Error::CovariateMismatch { .. })),
        "{short:?}"
    );
    // The model's outcome check reads the files: a logistic source outside [0, 1].
    let mut bad = frame.columns();
    if let Values::Numbers(v) = &mut bad[2].1 {
        v[2_999] = 3.0;
    }
    let data = open(&mut bad, "outcome").unwrap();
    assert!(TwoStepGmm::new(Ols).fit(&data).is_ok());
    match TwoStepGmm::new(Logistic).fit(&data) {
        Err(Error::InvalidValue {
            column: Column::Outcome,
            row: 2_999,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Estimators that read the sources as arrays say so.
    let naive = synthgmm::baselines::NaivePooled::new(Logistic, ["proxy"]).estimate(&ok);
    assert!(
        matches!(naive, Err(Error::NeedsInMemory { .. })),
        "{naive:?}"
    );
    // Files carry no extra columns: a model that reads one says which is missing.
    let iv = TwoStepGmm::new(LinearIv::new([0], ["z"])).fit(&ok);
    assert!(matches!(iv, Err(Error::MissingColumn { .. })), "{iv:?}");
    // A file removed between passes: the fit reports the read error.
    std::fs::remove_file(dir.join("ok/part-1.parquet")).unwrap();
    let gone = TwoStepGmm::new(Logistic).fit(&ok);
    assert!(matches!(gone, Err(Error::Read { .. })), "{gone:?}");
    std::fs::remove_dir_all(dir).ok();
}

/// Corrupted files never bring the program down: 1,200 copies of a valid two-file data
/// set, each with one to three bytes changed at seeded random places (a third of them
/// in the footer, where the decoder's lengths and offsets live), opened out of core and
/// fitted. Every outcome is a fit or a typed error; the decoder's own panics come back
/// as [`Error::Read`].
#[test]
fn corrupted_bytes_are_errors_not_panics() {
    use rand::{Rng, SeedableRng};

    let frame = simulated(600, false);
    let dir = scratch("fuzz");
    let clean = frame.write(&dir, 2, 150);
    let originals: Vec<Vec<u8>> = clean.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
    let sx: Vec<String> = (0..3).map(|j| format!("sx{j}")).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
    let (mut fitted, mut refused, mut decoder_panics) = (0, 0, 0);
    for case in 0..1_200 {
        let file = rng.random_range(0..clean.len());
        let mut bytes = originals[file].clone();
        for _ in 0..rng.random_range(1..=3) {
            let len = bytes.len();
            let at = if rng.random_bool(1.0 / 3.0) {
                rng.random_range(len.saturating_sub(600)..len)
            } else {
                rng.random_range(0..len)
            };
            bytes[at] ^= rng.random_range(1..=255u8);
        }
        std::fs::write(&clean[file], &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let data = ParquetSources::new(&clean)
                .labeled("S")
                .real("y", &x)
                .source("proxy", "proxy_y", &x)
                .source("synth", "synth_y", &sx)
                .open()?;
            TwoStepGmm::new(Ols).fit(&data).map(|_| ())
        });
        match outcome {
            Ok(Ok(())) => fitted += 1,
            Ok(Err(Error::Read { reason, .. })) if reason.starts_with("corrupt Parquet data") => {
                decoder_panics += 1
            }
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("case {case}: a panic escaped the reader"),
        }
        std::fs::write(&clean[file], &originals[file]).unwrap();
    }
    assert_eq!(fitted + refused + decoder_panics, 1_200);
    // Some changes land in the values (a fit), most in the structure (an error).
    assert!(
        refused > 0 && fitted > 0,
        "{fitted} fitted, {refused} refused"
    );
    eprintln!("{fitted} fitted, {refused} refused, {decoder_panics} decoder panics caught");
}

/// Outcomes opened together share every pass over the files and each fit is the one
/// its data set gives alone, to the last bit: three outcomes (the frame's, its
/// negation-like transforms) on 60,000 rows in two files, least squares and logistic
/// (whose Newton steps differ in number between outcomes), the default and the paper's
/// settings. The files are read as often as the outcome with the most passes needs,
/// not the sum. With observation weights and clusters, the estimates and the influence
/// the joint intervals use are the same as alone too. A value that is not finite in one
/// outcome's column names that outcome; files removed after opening are
/// [`Error::Read`] for every outcome.
#[test]
fn outcomes_opened_together_share_passes_and_fit_as_alone() {
    use synthgmm::OutcomeFits;
    for logistic in [false, true] {
        let frame = simulated(60_000, logistic);
        let other = |v: &Array1<f64>, k: f64| match logistic {
            true => v.mapv(|y| if k > 1.0 { 1.0 - y } else { y }),
            false => v.mapv(|y| k * y - 0.5 * k * k),
        };
        let masked = |v: Array1<f64>| {
            numbers((v.iter().zip(&frame.labeled)).map(|(&y, &s)| if s { y } else { f64::NAN }))
        };
        let dir = scratch(if logistic {
            "outcomes-logistic"
        } else {
            "outcomes-ols"
        });
        let mut more = Vec::new();
        for (name, k) in [("b", 2.0), ("c", -0.5)] {
            // Outcome c's synthetic source is its proxy: the sources differ per outcome.
            let synth = if k > 0.0 {
                other(&frame.synth, k)
            } else {
                other(&frame.proxy, k)
            };
            more.push((format!("y_{name}"), masked(other(&frame.y, k))));
            more.push((format!("proxy_{name}"), numbers(other(&frame.proxy, k))));
            more.push((format!("synth_{name}"), numbers(synth)));
        }
        let paths = frame.write_with(&dir, more, (2, 20_000));
        let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
        let sx: Vec<String> = (0..3).map(|j| format!("sx{j}")).collect();
        let spec = |(y, proxy, synth): (&str, &str, &str)| {
            ParquetSources::new(&paths)
                .labeled("S")
                .real(y, &x)
                .source("proxy", proxy, &x)
                .source("synth", synth, &sx)
        };
        let columns = [
            ("y", "proxy_y", "synth_y"),
            ("y_b", "proxy_b", "synth_b"),
            ("y_c", "proxy_c", "synth_c"),
        ];
        let others = || columns[1..].iter().map(|&(y, p, s)| (y, vec![p, s]));
        for paper in [false, true] {
            fn gmm<M: MomentModel>(model: M, paper: bool) -> TwoStepGmm<M> {
                match paper {
                    true => TwoStepGmm::new(model).cross_weights(CrossWeights::Unrestricted),
                    false => TwoStepGmm::new(model),
                }
            }
            let run = |data: &[(&str, &DataSources)]| match logistic {
                true => OutcomeFits::fit(&gmm(Logistic, paper), data, None),
                false => OutcomeFits::fit(&gmm(Ols, paper), data, None),
            };
            let alone: Vec<DataSources> =
                columns.iter().map(|&c| spec(c).open().unwrap()).collect();
            let each: Vec<_> = (alone.iter().zip(["a", "b", "c"]))
                .map(|(d, n)| run(&[(n, d)]).unwrap().estimates()[0].clone())
                .collect();
            let passes: Vec<usize> = alone.iter().map(|d| d.passes_read().unwrap()).collect();
            let together = spec(columns[0]).open_outcomes(others()).unwrap();
            let named: Vec<(&str, &DataSources)> =
                ["a", "b", "c"].into_iter().zip(&together).collect();
            let fits = run(&named).unwrap();
            let label = format!("logistic {logistic}, paper {paper}");
            for (k, (shared, own)) in fits.estimates().iter().zip(&each).enumerate() {
                assert_eq!(shared.theta(), own.theta(), "{label}: outcome {k}");
                assert_eq!(shared.se(), own.se(), "{label}: outcome {k}");
            }
            // Three different outcomes: their estimates differ.
            assert!((each[0].theta()[1] - each[1].theta()[1]).abs() > 1e-3);
            let read = together[0].passes_read().unwrap();
            assert!(together.iter().all(|d| d.passes_read() == Some(read)));
            eprintln!("{label}: alone {passes:?}, together {read}");
            assert_eq!(read, *passes.iter().max().unwrap(), "{label}: {passes:?}");
            assert!(read < passes.iter().sum::<usize>(), "{label}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
    // With observation weights and clusters (held in memory, one copy per outcome)
    // and the influence the joint intervals use: the same as alone.
    let frame = simulated(20_000, false);
    let dir = scratch("outcomes-weighted");
    let t = frame.labeled.len();
    let more = vec![
        (
            "w".to_string(),
            numbers((0..t).map(|i| 0.5 + ((i * 7919) % 1000) as f64 / 666.0)),
        ),
        (
            "g".to_string(),
            Values::Integers((0..t).map(|i| ((i * 31) % 400) as i32).collect()),
        ),
        (
            "y_b".to_string(),
            numbers(frame.y.iter().zip(&frame.labeled).map(|(&y, &s)| {
                if s {
                    0.5 * y + 1.0
                } else {
                    f64::NAN
                }
            })),
        ),
        (
            "proxy_b".to_string(),
            numbers(frame.proxy.iter().map(|&p| 0.5 * p + 1.0)),
        ),
    ];
    let paths = frame.write_with(&dir, more, (2, 3_000));
    let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
    let spec = |y: &str, proxy: &str| {
        ParquetSources::new(&paths)
            .labeled("S")
            .real(y, &x)
            .source("proxy", proxy, &x)
            .weights("w")
            .clusters("g")
    };
    let gmm = TwoStepGmm::new(Ols);
    let alone: Vec<_> = [("y", "proxy_y"), ("y_b", "proxy_b")]
        .into_iter()
        .map(|(y, p)| {
            gmm.estimate_with_influence(&spec(y, p).open().unwrap())
                .unwrap()
        })
        .collect();
    let together = spec("y", "proxy_y")
        .open_outcomes([("y_b", vec!["proxy_b"])])
        .unwrap();
    let shared = OutcomeFits::fit_each(&together.iter().collect::<Vec<_>>(), |_, d| {
        gmm.estimate_with_influence(d).unwrap()
    });
    for ((e, i), (own_e, own_i)) in shared.iter().zip(&alone) {
        assert_eq!((e.theta(), e.se()), (own_e.theta(), own_e.se()));
        assert_eq!(
            i.as_ref().map(|i| i.values()),
            own_i.as_ref().map(|i| i.values())
        );
    }
    assert!(together[0].n_clusters() == Some(400) && shared[0].1.is_some());
    std::fs::remove_dir_all(&dir).ok();
    // Typed errors: a count that does not fit, a bad value, a file gone.
    let frame = simulated(3_000, false);
    let dir = scratch("outcomes-errors");
    let mut broken = frame.proxy.to_vec();
    broken[1_234] = f64::INFINITY;
    let more = vec![
        (
            "y_b".to_string(),
            numbers(
                frame
                    .y
                    .iter()
                    .zip(&frame.labeled)
                    .map(|(&y, &s)| if s { y } else { f64::NAN }),
            ),
        ),
        ("proxy_b".to_string(), numbers(broken)),
    ];
    let paths = frame.write_with(&dir, more, (2, 500));
    let x: Vec<String> = (0..3).map(|j| format!("x{j}")).collect();
    let spec = || {
        ParquetSources::new(&paths)
            .labeled("S")
            .real("y", &x)
            .source("proxy", "proxy_y", &x)
    };
    assert!(matches!(
        spec().open_outcomes([("y_b", vec!["proxy_b", "proxy_y"])]),
        Err(Error::InvalidConfig {
            parameter: "outcomes",
            ..
        })
    ));
    match spec().open_outcomes([("y_b", vec!["proxy_b"])]) {
        Err(Error::NonFinite {
            source_name, row, ..
        }) => {
            assert!(
                source_name.contains("proxy") && source_name.contains("y_b"),
                "{source_name}"
            );
            assert_eq!(row, 1_234);
        }
        other => panic!("{other:?}"),
    }
    let together = spec().open_outcomes([("y", vec!["proxy_y"])]).unwrap();
    std::fs::remove_file(&paths[1]).unwrap();
    let named: Vec<(&str, &DataSources)> = ["a", "b"].into_iter().zip(&together).collect();
    let gone = OutcomeFits::fit_each(&together.iter().collect::<Vec<_>>(), |_, d| {
        TwoStepGmm::new(Ols).fit(d)
    });
    assert!(
        gone.iter().all(|r| matches!(r, Err(Error::Read { .. }))),
        "{gone:?}"
    );
    assert!(matches!(
        OutcomeFits::fit(&TwoStepGmm::new(Ols), &named, None),
        Err(Error::Read { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}
