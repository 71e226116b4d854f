//! The `synthgmm` command-line tool: JSON and CSV output against the independent
//! reference results (see the library's `tests/data/README.md`), Parquet input, the
//! `simulate` and `plan` subcommands, and errors with their exit statuses (2: usage or
//! data, 1: estimation).

/// The library's test helpers and reference data, shared with its integration tests.
#[path = "../../tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};

use common::{assert_close, data_path, expected, matrix_of, vec_of};

fn synthgmm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_synthgmm"))
}

/// `synthgmm fit ARGS…`.
fn run(args: &[&str]) -> Output {
    synthgmm().arg("fit").args(args).output().unwrap()
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(format!("synthgmm-cli-{}-{name}", std::process::id())))
    }
    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Linear IV on `iv_T2000_n400.csv`: d instrumented by z1 and z2.
const IV: [&str; 10] = [
    "--model",
    "iv",
    "--labeled",
    "labeled",
    "--real",
    "y:const,w,d",
    "--exogenous",
    "const,w",
    "--instruments",
    "z1,z2",
];

const SYNTH: [&str; 18] = [
    "--model",
    "ols",
    "--labeled",
    "labeled",
    "--real",
    "y:x0,x1,x2",
    "--source",
    "proxy=proxy_y:proxy_x0,proxy_x1,proxy_x2",
    "--source",
    "synth=synth_y:synth_x0,synth_x1,synth_x2",
    "--format",
    "json",
    "--covariance",
    "standard",
    "--step-one",
    "identity",
    "--weights",
    "unrestricted",
];

#[test]
fn json_output_matches_reference() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec!["--data", &file];
    args.extend(SYNTH);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exp = &expected("ols_T3000_n300_rho7")["gmm_synth"];
    // The paper's estimator: normal quantiles, as the reference computed them.
    assert!(json["t_df"].is_null(), "{}", json["t_df"]);
    assert_close(
        "theta",
        &vec_of(&json["theta"]),
        &vec_of(&exp["theta"]),
        1e-8,
        1e-3,
    );
    assert_close("se", &vec_of(&json["se"]), &vec_of(&exp["se"]), 1e-8, 0.0);
    assert_close(
        "params",
        &vec_of(&json["params"]),
        &vec_of(&exp["params"]),
        1e-8,
        1e-3,
    );
    assert_close(
        "ci",
        &matrix_of(&json["ci"]).concat(),
        &matrix_of(&exp["ci_95"]).concat(),
        1e-8,
        1e-3,
    );
    assert_close(
        "j",
        &[json["j_stat"].as_f64().unwrap()],
        &[exp["j_stat"].as_f64().unwrap()],
        1e-8,
        0.0,
    );
    assert_eq!(json["j_df"], 6);
    assert_eq!(json["n_labeled"], 300);
    assert_eq!(json["t"], 3000);
    assert_eq!(json["sources"], serde_json::json!(["proxy", "synth"]));
}

#[test]
fn alpha_sets_the_interval_level() {
    let file = data_path("logistic_T3000_n300_rho7.csv");
    let out = run(&[
        "--data",
        &file,
        "--model",
        "logistic",
        "--labeled",
        "labeled",
        "--real",
        "y:x0,x1,x2",
        "--alpha",
        "0.1",
        "--weights",
        "unrestricted",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exp = &expected("logistic_T3000_n300_rho7")["real_only"];
    assert_close(
        "ci_90",
        &matrix_of(&json["ci"]).concat(),
        &matrix_of(&exp["ci_90"]).concat(),
        1e-6,
        1e-3,
    );
    // Just identified: no J test p-value, and no null in the output.
    assert!(json.get("j_pvalue").is_none());
}

#[test]
fn summary_table_without_json() {
    let file = data_path("ols_T1000_n100_rho0.csv");
    let out = run(&[
        "--data",
        &file,
        "--model",
        "ols",
        "--labeled",
        "labeled",
        "--real",
        "y:x0,x1,x2",
        "--source",
        "p=proxy_y:proxy_x0,proxy_x1,proxy_x2",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("P>|t|")
            && text.contains("Student t, Bell–McCaffrey df")
            && text.contains("[0.025")
            && text.contains("Sources: p"),
        "{text}"
    );
}

#[test]
fn diagnose_adds_the_sources_table() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec!["--data", file.as_str(), "--diagnose"];
    args.extend(
        SYNTH
            .iter()
            .copied()
            .filter(|a| *a != "--format" && *a != "json"),
    );
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(text.contains("Sources (C = J"), "{text}");
    // source, C, df = p = 3, p-value in [0, 1], three correlations, three ESS gains.
    for name in ["proxy", "synth"] {
        let cells = line(name);
        assert_eq!(cells.len(), 10, "{cells:?}");
        assert_eq!(cells[2], "3");
        let p: f64 = cells[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }
}

#[test]
fn diagnose_in_json() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec![
        "--data",
        file.as_str(),
        "--diagnose",
        "--weights",
        "selected",
    ];
    args.extend(
        SYNTH
            .iter()
            .copied()
            .filter(|a| *a != "--weights" && *a != "unrestricted"),
    );
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cross_weights"].as_array().unwrap().len(), 3);
    let diagnostics = v["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2);
    for (d, name) in diagnostics.iter().zip(["proxy", "synth"]) {
        assert_eq!(d["source"], name);
        assert_eq!(d["c_df"], 3);
        let p = d["c_pvalue"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        assert_eq!(d["correlation"].as_array().unwrap().len(), 3);
        assert_eq!(d["ess_gain"].as_array().unwrap().len(), 3);
    }
}

/// A data error: status 2 and one line on stderr containing `needle`.
fn assert_fails(args: &[&str], needle: &str) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "args {args:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "`{needle}` not in: {err}"
    );
    assert!(!err.contains("panicked"));
}

/// A usage error: status 2, clap's message (with the usage line after it) containing
/// `needle`.
fn assert_usage_error(args: &[&str], needle: &str) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "args {args:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "`{needle}` not in: {err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_arguments_and_data_exit_with_status_2() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let base = ["--data", file.as_str(), "--labeled", "labeled"];
    let with = |extra: &[&'static str]| -> Vec<String> {
        base.iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let check = |extra: &[&'static str], needle: &str, usage: bool| {
        let args = with(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        if usage {
            assert_usage_error(&refs, needle);
        } else {
            assert_fails(&refs, needle);
        }
    };
    check(
        &["--model", "probit", "--real", "y:x0"],
        "invalid value 'probit' for '--model <MODEL>'",
        true,
    );
    check(
        &["--model", "ols", "--real", "y:"],
        "empty column name",
        true,
    );
    check(
        &["--model", "ols", "--real", "y:x0", "--alpha", "1.5"],
        "alpha must lie in [1e-12, 1)",
        true,
    );
    // A level so close to 1 that its interval would be infinite is refused.
    check(
        &["--model", "ols", "--real", "y:x0", "--alpha", "1e-17"],
        "alpha must lie in [1e-12, 1)",
        true,
    );
    check(
        &["--model", "ols", "--real", "y:x0", "--bogus"],
        "unexpected argument '--bogus'",
        true,
    );
    check(&["--model", "ols"], "--real <Y:X0,X1,...>", true);
    check(
        &["--model", "ols", "--real", "y:x0", "--estimator", "best"],
        "invalid value 'best' for '--estimator",
        true,
    );
    check(
        &["--model", "ols", "--real", "y:x0,x7"],
        "ols_T3000_n300_rho7.csv` (its columns: labeled, y, x0, x1, x2, proxy_y,",
        false,
    );
    // Real outcomes are missing on unlabeled rows: not allowed in a source. The error
    // names the file, its line, the source, the column and the row.
    check(
        &[
            "--model",
            "ols",
            "--real",
            "y:x0,x1",
            "--source",
            "bad=y:x0,x1",
        ],
        "ols_T3000_n300_rho7.csv` line 2: non-finite value NaN in `bad`, outcome, row 0",
        false,
    );
    check(
        &["--model", "logistic", "--real", "y:x0,x1"],
        "logistic outcomes must lie in [0, 1]",
        false,
    );
    // A file separated by semicolons: the header is one field, and the error says so.
    let semicolons = std::env::temp_dir().join(format!("synthgmm-semi-{}.csv", std::process::id()));
    std::fs::write(&semicolons, "l;y;x\n1;2.0;1.0\n0;;2.0\n").unwrap();
    fit_fails(
        semicolons.to_str().unwrap(),
        "the file looks separated by `;`, and CSV input must be comma-separated",
    );
    std::fs::remove_file(&semicolons).unwrap();
    fit_fails("/nonexistent.csv", "cannot read");
}

/// `fit --data FILE --model ols --labeled l --real y:x` fails with `needle`.
fn fit_fails(file: &str, needle: &str) {
    assert_fails(&ols_fit(file), needle);
}

/// `fit --data FILE --model ols --labeled l --real y:x`.
fn ols_fit(file: &str) -> [&str; 8] {
    [
        "--data",
        file,
        "--model",
        "ols",
        "--labeled",
        "l",
        "--real",
        "y:x",
    ]
}

#[test]
fn an_estimation_failure_exits_with_status_1() {
    // Two columns of ones (the real and the proxy's intercept): a collinear design.
    let file = data_path("ols_T1000_n100_rho0.csv");
    let out = run(&[
        "--data",
        &file,
        "--model",
        "ols",
        "--labeled",
        "labeled",
        "--real",
        "y:x0,proxy_x0,x1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("ollinear"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn tidy_csv_has_one_row_per_estimator_and_coefficient() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec!["--data", file.as_str()];
    args.extend(
        SYNTH
            .iter()
            .copied()
            .filter(|a| *a != "--format" && *a != "json"),
    );
    // ppi_py's asymptotic form (the GMM's reference settings ignore it).
    args.extend(["--format", "csv", "--estimator", "real-only,ppi,gmm"]);
    args.extend(["--small-sample", "hc0"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "estimator",
            "term",
            "estimate",
            "std_error",
            "statistic",
            "df",
            "p_value",
            "ci_lower",
            "ci_upper"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    let exp = expected("ols_T3000_n300_rho7");
    let column = |estimator: &str, c: usize| -> Vec<f64> {
        rows.iter()
            .filter(|r| &r[0] == estimator)
            .map(|r| r[c].parse().unwrap())
            .collect()
    };
    // Normal quantiles (HC0) leave the df column empty.
    assert!(rows.iter().all(|r| r[5].is_empty()));
    // PPI++: ppi_py 0.2.3's interval.
    let ci = matrix_of(&exp["ppi_plus_plus_proxy"]["ci_95"]);
    assert_close(
        "ppi ci lower",
        &column("PPI++ (proxy)", 7),
        &ci.iter().map(|r| r[0]).collect::<Vec<_>>(),
        1e-6,
        1e-3,
    );
    assert_close(
        "gmm se",
        &column("GMM (proxy + synth)", 3),
        &vec_of(&exp["gmm_synth"]["se"]),
        1e-8,
        0.0,
    );
    let terms: Vec<&str> = rows.iter().take(3).map(|r| &r[1]).collect::<Vec<_>>();
    assert_eq!(terms, ["x0", "x1", "x2"]);
}

/// The rows `rows` of a reference CSV written as a Parquet file at `out`, in two record
/// batches (the label column as booleans, `x0` as integers where it is integral).
#[cfg(feature = "parquet")]
fn parquet_copy(file: &str, out: &std::path::Path, rows: std::ops::Range<usize>) {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};

    let mut reader = csv::Reader::from_path(file).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let col = |name: &str, range: std::ops::Range<usize>| -> Vec<Option<f64>> {
        let c = headers.iter().position(|h| h == name).unwrap();
        records[range]
            .iter()
            .map(|r| r[c].parse::<f64>().ok())
            .collect()
    };
    let out = std::fs::File::create(out).unwrap();
    let mut writer: Option<parquet::arrow::ArrowWriter<std::fs::File>> = None;
    let middle = rows.start + rows.len() / 3;
    for range in [rows.start..middle, middle..rows.end] {
        let labeled: Vec<bool> = col("labeled", range.clone())
            .iter()
            .map(|v| v == &Some(1.0))
            .collect();
        let mut columns: Vec<(&str, ArrayRef)> =
            vec![("labeled", Arc::new(BooleanArray::from(labeled)))];
        if headers.iter().any(|h| h == "x0") {
            let x0: Vec<Option<i64>> = col("x0", range.clone())
                .iter()
                .map(|v| v.map(|v| v as i64))
                .collect();
            columns.push(("x0", Arc::new(Int64Array::from(x0))));
        }
        for name in headers
            .iter()
            .filter(|h| !["labeled", "x0"].contains(&h.as_str()))
        {
            columns.push((name, Arc::new(Float64Array::from(col(name, range.clone())))));
        }
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        writer
            .get_or_insert_with(|| {
                parquet::arrow::ArrowWriter::try_new(out.try_clone().unwrap(), batch.schema(), None)
                    .unwrap()
            })
            .write(&batch)
            .unwrap();
    }
    writer.unwrap().close().unwrap();
}

/// `fit` with `args` (after `--data`) on the CSV `file` and on its first `rows` rows
/// copied to a Parquet file: both JSON outputs (the CSV's first), the estimates and
/// standard errors checked equal to `tol`, and the Parquet file's path.
#[cfg(feature = "parquet")]
fn fit_csv_and_parquet(
    file: &str,
    rows: usize,
    args: &[&str],
    tol: f64,
) -> (serde_json::Value, serde_json::Value, TempFile) {
    let parquet = TempFile::new(&format!("fit-{rows}.parquet"));
    parquet_copy(file, &parquet.0, 0..rows);
    let fit = |data: &str| -> serde_json::Value {
        let mut all = vec!["--data", data];
        all.extend(args);
        all.extend(["--format", "json"]);
        json_of(&all)
    };
    let (from_csv, from_parquet) = (fit(file), fit(&parquet.path()));
    assert_eq!(from_parquet["n_labeled"], from_csv["n_labeled"]);
    assert_eq!(from_parquet["t"], rows);
    for key in ["theta", "se"] {
        let (a, b) = (vec_of(&from_parquet[key]), vec_of(&from_csv[key]));
        assert_close(key, &a, &b, tol, 0.0);
    }
    (from_csv, from_parquet, parquet)
}

#[cfg(feature = "parquet")]
#[test]
fn a_parquet_file_fits_like_the_same_csv() {
    let file = data_path("ols_T1000_n100_rho0.csv");
    // The model, the label, the real data and the proxy.
    let mut args = SYNTH[..8].to_vec();
    let (_, _, parquet) = fit_csv_and_parquet(&file, 1000, &args, 1e-12);
    // A column that is not there, named with the file.
    args[5] = "y:x0,x9";
    let path = parquet.path();
    let mut refs = vec!["--data", path.as_str()];
    refs.extend(&args);
    assert_fails(&refs, "no column `x9`");
}

/// `--model iv` on a Parquet file reads the instruments out of core with the sources:
/// the fit and the weak-instrument diagnostics of the same rows from the CSV, to
/// 1e-10.
#[cfg(feature = "parquet")]
#[test]
fn linear_iv_reads_its_instruments_from_parquet_out_of_core() {
    let file = data_path("iv_T2000_n400.csv");
    let mut args = IV.to_vec();
    args.extend(["--source", "proxy=proxy_y:const,w,d"]);
    let (from_csv, from_parquet, _) = fit_csv_and_parquet(&file, 2000, &args, 1e-10);
    let f = |json: &serde_json::Value| json["weak_instruments"]["first_stage"][0]["f"].as_f64();
    assert!(f(&from_csv).is_some());
    assert_eq!(f(&from_parquet), f(&from_csv));
}

/// Every estimator, `plan` and the cluster and weight options read a directory of
/// Parquet files (rows in file-name order) as they read the same rows from one CSV,
/// in memory or (real-only, PPI++, PPI++Synth, DSL and the GMM) out of core.
#[cfg(feature = "parquet")]
#[test]
fn a_parquet_directory_serves_every_estimator_and_plan() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let dir = TempFile::new("parts");
    std::fs::create_dir_all(&dir.0).unwrap();
    parquet_copy(&file, &dir.0.join("part-0.parquet"), 0..1200);
    parquet_copy(&file, &dir.0.join("part-1.parquet"), 1200..3000);
    let fit = |data: &str, extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--data", data];
        args.extend(SYNTH);
        args.extend(extra);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let dir_path = dir.path();
    for extra in [
        &["--estimator", "all"][..],
        &["--estimator", "ppi"],
        // Read out of core: every estimator named can.
        &["--estimator", "real-only,ppi,ppi-synth,dsl,gmm"],
        &["--weight", "x0"],
    ] {
        let (from_csv, from_dir) = (fit(&file, extra), fit(&dir_path, extra));
        let list = |v: &serde_json::Value| match v["estimators"].as_array() {
            Some(list) => list.clone(),
            None => vec![v.clone()],
        };
        let (a, b) = (list(&from_csv), list(&from_dir));
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a["name"], b["name"]);
            assert_close(
                "theta",
                &vec_of(&b["theta"]),
                &vec_of(&a["theta"]),
                1e-12,
                0.0,
            );
            assert_close("se", &vec_of(&b["se"]), &vec_of(&a["se"]), 1e-12, 0.0);
        }
    }
    let plan = synthgmm()
        .args([
            "plan",
            "--data",
            &dir_path,
            "--model",
            "ols",
            "--labeled",
            "labeled",
        ])
        .args([
            "--real",
            "y:x0,x1,x2",
            "--source",
            "proxy=proxy_y:proxy_x0,proxy_x1,proxy_x2",
        ])
        .args(["--coefficient", "x1", "--half-width", "0.05"])
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    // An empty directory says so.
    let empty = TempFile::new("empty-dir");
    std::fs::create_dir_all(&empty.0).unwrap();
    let mut args = vec!["--data", empty.0.to_str().unwrap()];
    args.extend(SYNTH);
    assert_fails(&args, "directory without a .parquet or .pq file");
}

/// Weights, clusters and labeling probabilities with Parquet input: the GMM streams the
/// file (those columns held in memory) and gives what the same rows give from CSV.
#[cfg(feature = "parquet")]
#[test]
fn parquet_with_weights_and_clusters_fits_like_the_same_csv() {
    let text = std::fs::read_to_string(data_path("ols_T3000_n300_rho7.csv")).unwrap();
    let mut rows = String::new();
    for (i, line) in text.lines().enumerate() {
        match i.checked_sub(1) {
            None => rows.push_str(&format!("{line},w,g,pi\n")),
            Some(r) => {
                let (w, pi) = (
                    0.5 + (r * 7 % 10) as f64 / 5.0,
                    0.05 + (r % 9) as f64 / 10.0,
                );
                rows.push_str(&format!("{line},{w},{},{pi}\n", r % 60));
            }
        }
    }
    let csv_file = TempFile::new("weighted.csv");
    std::fs::write(&csv_file.0, rows).unwrap();
    let parquet = TempFile::new("weighted.parquet");
    parquet_copy(&csv_file.path(), &parquet.0, 0..3000);
    for extra in [
        &["--weight", "w"][..],
        &["--cluster", "g"],
        &["--weight", "w", "--cluster", "g"],
        &["--labeling-probability", "pi"],
    ] {
        let fit = |data: &str| -> serde_json::Value {
            let mut args = vec!["--data", data];
            args.extend(SYNTH);
            args.extend(extra);
            json_of(&args)
        };
        let (a, b) = (fit(&csv_file.path()), fit(&parquet.path()));
        assert_close(
            "theta",
            &vec_of(&b["theta"]),
            &vec_of(&a["theta"]),
            1e-10,
            0.0,
        );
        assert_close("se", &vec_of(&b["se"]), &vec_of(&a["se"]), 1e-10, 0.0);
        assert_eq!(a["notes"], b["notes"], "{extra:?}");
    }
}

/// A Parquet file with bytes changed is a data error (status 2, one line), never a
/// crash, through the in-memory reader (`--estimator all`) and the out-of-core one.
#[cfg(feature = "parquet")]
#[test]
fn a_corrupt_parquet_file_is_a_data_error() {
    let file = data_path("ols_T1000_n100_rho0.csv");
    let clean = TempFile::new("clean.parquet");
    parquet_copy(&file, &clean.0, 0..1000);
    let bytes = std::fs::read(&clean.0).unwrap();
    let corrupt = TempFile::new("corrupt.parquet");
    // Bytes spread over the data pages and the footer, one at a time.
    for k in 1..24 {
        let at = bytes.len() * k / 24;
        let mut changed = bytes.clone();
        changed[at] ^= 0x5a;
        std::fs::write(&corrupt.0, &changed).unwrap();
        for estimator in ["gmm", "all"] {
            let path = corrupt.path();
            let mut args = vec!["--data", path.as_str()];
            args.extend(&SYNTH[..8]);
            args.extend(["--estimator", estimator]);
            let out = run(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "byte {at}: {err}");
            assert!(
                matches!(out.status.code(), Some(0..=2)),
                "byte {at}: status {:?}: {err}",
                out.status.code()
            );
            if out.status.code() == Some(2) {
                assert_eq!(err.trim_end().lines().count(), 1, "byte {at}: {err}");
            }
        }
    }
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_says_how_to_get_it() {
    let out = run(&ols_fit("runs.parquet"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features parquet"));
}

#[test]
fn simulate_writes_the_table_csv_and_figure() {
    let dir = TempFile::new("simulate");
    let out = synthgmm()
        .args([
            "simulate", "--reps", "4", "--rows", "300", "--rates", "0.2", "--seed", "3", "--out",
        ])
        .arg(&dir.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("GMM-Synth") && text.contains("4 replications"),
        "{text}"
    );
    // Piped: no progress bar.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.0.join("monte_carlo.csv")).unwrap();
    assert!(csv.lines().count() > 9, "{csv}");
    for figure in ["monte_carlo.svg", "monte_carlo.png"] {
        assert!(dir.0.join(figure).metadata().unwrap().len() > 1000);
    }
    let bad = synthgmm()
        .args(["simulate", "--rates", "0,0.5"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a labeling rate"));
}

#[test]
fn plan_predicts_half_widths_labels_and_designs() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let figure = TempFile::new("plan");
    let out = synthgmm()
        .args([
            "plan",
            "--data",
            &file,
            "--model",
            "ols",
            "--labeled",
            "labeled",
            "--real",
            "y:x0,x1,x2",
            "--source",
            "proxy=proxy_y:proxy_x0,proxy_x1,proxy_x2",
            "--coefficient",
            "x1",
            "--half-width",
            "0.05",
            "--label-cost",
            "1",
            "--row-cost",
            "0.01",
            "--budget",
            "500",
            "--figure",
        ])
        .arg(&figure.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Pilot: 300 labeled of 3000 rows",
        "n′=300",
        "Labels for ±0.05",
        "Cheapest design",
        "budget of 500",
        "GMM (proxy)",
        "PPI++ (proxy)",
    ] {
        assert!(text.contains(needle), "`{needle}` not in {text}");
    }
    // At the pilot's own design the real-only prediction is the real-only interval.
    let real_only = text
        .lines()
        .find(|l| l.starts_with("real-only"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<f64>()
        .unwrap();
    let ci = &expected("ols_T3000_n300_rho7")["real_only"]["ci_95"];
    let half = (ci[1][1].as_f64().unwrap() - ci[1][0].as_f64().unwrap()) / 2.0;
    assert!(
        (real_only - half).abs() < 1e-4 + 2e-3 * half,
        "{real_only} vs {half}"
    );
    let svg = format!("{}.svg", figure.path());
    assert!(std::fs::metadata(&svg).unwrap().len() > 1000);
    let _ = std::fs::remove_file(svg);
    let _ = std::fs::remove_file(format!("{}.png", figure.path()));
    let bad = synthgmm()
        .args([
            "plan",
            "--data",
            &file,
            "--model",
            "ols",
            "--labeled",
            "labeled",
            "--real",
            "y:x0,x1,x2",
            "--source",
            "proxy=proxy_y:proxy_x0,proxy_x1,proxy_x2",
            "--coefficient",
            "slope",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`slope` is not one of x0, x1, x2"));
}

#[test]
fn estimator_all_runs_every_baseline() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec!["--data", file.as_str()];
    args.extend(SYNTH);
    args.extend(["--estimator", "all", "--small-sample", "hc0"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = json["estimators"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Real-only",
            "Naive pooled (proxy + synth)",
            "PPI++ (proxy)",
            "DSL (proxy)",
            "RePPI (proxy, linear)",
            "PPI++Synth (proxy + synth)",
            "GMM (proxy + synth)"
        ]
    );
    // PPI++ interval: ppi_py 0.2.3's, and GMM: the reference GMM-Synth.
    let exp = expected("ols_T3000_n300_rho7");
    assert_close(
        "ppi ci",
        &matrix_of(&list[2]["ci"]).concat(),
        &matrix_of(&exp["ppi_plus_plus_proxy"]["ci_95"]).concat(),
        1e-6,
        1e-3,
    );
    assert_close(
        "gmm ci",
        &matrix_of(&list[names.len() - 1]["ci"]).concat(),
        &matrix_of(&exp["gmm_synth"]["ci_95"]).concat(),
        1e-8,
        1e-3,
    );
}

/// A small CSV written for one test: rows t = 0..40 with an intercept, a covariate, a
/// real outcome, a proxy and a text column; `labeled` every `every`-th row.
fn small_csv(name: &str, header: &str, every: usize) -> TempFile {
    let mut text = format!("{header}\n");
    for t in 0..40 {
        let x = (t as f64 * 0.37).sin();
        let e = (t as f64 * 1.9).cos();
        let labeled = (t % every == 0) as u8;
        text.push_str(&format!(
            "{labeled},1,{x},{},{},note {t}\n",
            1.0 + 2.0 * x + e,
            1.1 + 2.0 * x + 0.8 * e + 0.3 * (t as f64 * 2.3).sin()
        ));
    }
    let file = TempFile::new(&format!("{name}.csv"));
    std::fs::write(&file.0, text).unwrap();
    file
}

const SMALL: [&str; 11] = [
    "--model",
    "ols",
    "--labeled",
    "labeled",
    "--real",
    "y:one,x",
    "--source",
    "proxy=proxy:one,x",
    "--format",
    "json",
    "--estimator",
];

#[test]
fn duplicate_headers_are_an_error() {
    let csv = small_csv("dup", "labeled,one,x,y,x,comment", 3);
    let file = csv.path();
    let mut args = vec!["--data", file.as_str()];
    args.extend(&SMALL[..10]);
    assert_fails(&args, "column `x` twice");
}

#[test]
fn text_in_an_unused_column_is_no_obstacle() {
    let csv = small_csv("text", "labeled,one,x,y,proxy,comment", 3);
    let file = csv.path();
    let mut args = vec!["--data", file.as_str()];
    args.extend(&SMALL[..10]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("null") && !text.contains("NaN"), "{text}");
}

/// `--estimator all` prints one table, estimators as columns: each cell is the JSON
/// output's estimate and standard error to four decimals, and the effective n at the
/// foot is n · median_j(se_real,j² / se_j²) from the JSON's standard errors.
#[test]
fn estimator_all_prints_estimators_side_by_side() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec!["--data", file.as_str()];
    args.extend(SYNTH);
    args.extend(["--estimator", "all"]);
    let json: serde_json::Value = serde_json::from_slice(&run(&args).stdout).unwrap();
    let format = args.iter().position(|a| *a == "json").unwrap();
    args[format] = "table";
    let out = run(&args);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let list = json["estimators"].as_array().unwrap();
    let se = |e: &serde_json::Value, j: usize| e["se"][j].as_f64().unwrap();
    for (j, name) in ["x0", "x1", "x2"].iter().enumerate() {
        let at = lines.iter().position(|l| l.starts_with(name)).unwrap();
        let estimates: Vec<&str> = lines[at].split_whitespace().skip(1).collect();
        let errors: Vec<&str> = lines[at + 1].split_whitespace().collect();
        assert_eq!(estimates.len(), list.len(), "{text}");
        for (k, e) in list.iter().enumerate() {
            assert_eq!(
                estimates[k],
                format!("{:.4}", e["theta"][j].as_f64().unwrap())
            );
            assert_eq!(errors[k], format!("({:.4})", se(e, j)));
        }
    }
    let effective: Vec<f64> = lines
        .iter()
        .find(|l| l.starts_with("effective n"))
        .unwrap()
        .split_whitespace()
        .skip(2)
        .map(|v| v.parse().unwrap())
        .collect();
    for (k, e) in list.iter().enumerate() {
        let mut ratios: Vec<f64> = (0..3)
            .map(|j| (se(&list[0], j) / se(e, j)).powi(2))
            .collect();
        ratios.sort_by(f64::total_cmp);
        assert!((effective[k] - 300.0 * ratios[1]).abs() <= 0.5, "{text}");
    }
}

/// `--figure` draws every estimator's interval per coefficient: an SVG naming each
/// coefficient and estimator, and a PNG; with the GMM alone, its intervals.
#[test]
fn figure_draws_a_forest_of_intervals() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let dir = std::env::temp_dir().join(format!("synthgmm-forest-{}", std::process::id()));
    let stem = dir.join("forest");
    let stem_arg = stem.to_str().unwrap();
    for estimator in ["all", "gmm"] {
        let mut args = vec!["--data", file.as_str()];
        args.extend(SYNTH);
        args.extend(["--estimator", estimator, "--figure", stem_arg]);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
        for name in ["x0", "x1", "x2", "GMM (proxy + synth)"] {
            assert!(svg.contains(name), "{estimator}: {name} missing");
        }
        assert_eq!(svg.contains("PPI++ (proxy)"), estimator == "all");
        let png = std::fs::read(stem.with_extension("png")).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// With every row labeled, PPI++ and DSL cannot run; the others are still reported.
#[test]
fn estimator_all_reports_what_cannot_run_and_keeps_the_rest() {
    let csv = small_csv("all", "labeled,one,x,y,proxy,comment", 1);
    let file = csv.path();
    let mut args = vec!["--data", file.as_str()];
    args.extend(SMALL);
    args.push("all");
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["estimators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Real-only") && names.iter().any(|n| n.starts_with("GMM")),
        "{names:?}"
    );
    let skipped = json["not_run"].as_array().unwrap();
    assert!(skipped
        .iter()
        .any(|e| e["name"].as_str().unwrap().starts_with("PPI++")
            && e["error"]
                .as_str()
                .unwrap()
                .contains("every row is labeled")));
}

/// The primary estimator failing is a failure even when others ran: logistic labels
/// that are all 0 leave the GMM without a solution; `--estimator all` prints what ran
/// and exits with status 1, naming the GMM. A baseline named with `--estimator` that
/// fails does the same.
#[test]
fn a_failed_primary_estimator_exits_with_status_1() {
    let mut text = String::from("labeled,one,x,y,proxy\n");
    for t in 0..60 {
        let x = (t as f64 * 0.37).sin();
        let labeled = u8::from(t % 3 == 0);
        let proxy = u8::from((t as f64 * 1.3).cos() + x > 0.0);
        let y = if labeled == 1 {
            "0".to_string()
        } else {
            String::new()
        };
        text.push_str(&format!("{labeled},1,{x},{y},{proxy}\n"));
    }
    let csv = TempFile::new("all-zero.csv");
    std::fs::write(&csv.0, text).unwrap();
    let file = csv.path();
    let mut args = vec!["--data", file.as_str()];
    args.extend(SMALL);
    args[3] = "logistic";
    for (estimator, failed) in [("all", "GMM"), ("real-only", "Real-only")] {
        let mut args = args.clone();
        args.push(estimator);
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{estimator}: {err}");
        assert!(err.starts_with("error: ") && err.contains(failed), "{err}");
        if estimator == "all" {
            // The table of what ran (and what did not) is still printed.
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let not_run = json["not_run"].as_array().unwrap();
            assert!(not_run
                .iter()
                .any(|e| e["name"].as_str().unwrap().starts_with("GMM")));
        }
    }
}

/// Column names holding `,`, `:` or `=` are written in double quotes and fit like
/// plain ones; an empty file says it is empty.
#[test]
fn quoted_column_names_and_an_empty_file() {
    let plain = small_csv("plain-names", "labeled,one,x,y,proxy,comment", 2);
    let odd = small_csv("odd-names", r#"labeled,one,"x:cm,1",y,"p=1",comment"#, 2);
    let fit = |file: &TempFile, real: &str, source: &str| -> serde_json::Value {
        let path = file.path();
        let args = ["--data", &path, "--model", "ols", "--labeled", "labeled"];
        let out = run(&[
            &args[..],
            &["--real", real, "--source", source, "--format", "json"],
        ]
        .concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let a = fit(&plain, "y:one,x", "proxy=proxy:one,x");
    let b = fit(
        &odd,
        r#"y:one,"x:cm,1""#,
        r#"src=p=1"#.replace("p=1", r#""p=1":one,"x:cm,1""#).as_str(),
    );
    assert_close(
        "theta",
        &vec_of(&b["theta"]),
        &vec_of(&a["theta"]),
        1e-14,
        0.0,
    );
    let empty = TempFile::new("empty.csv");
    std::fs::write(&empty.0, "").unwrap();
    let path = empty.path();
    assert_fails(
        &[
            "--data",
            &path,
            "--model",
            "ols",
            "--labeled",
            "labeled",
            "--real",
            "y:one",
        ],
        "is empty",
    );
}

#[test]
fn a_cluster_column_gives_cluster_robust_standard_errors() {
    let file = data_path("cluster_T600.csv");
    let args = [
        "--data",
        &file,
        "--model",
        "ols",
        "--labeled",
        "labeled",
        "--real",
        "y:one,x1,x2",
        "--source",
        "proxy=proxy_y:one,x1,x2",
        "--cluster",
        "cluster",
        "--estimator",
        "real-only,naive,dsl",
        "--format",
        "json",
    ];
    let hc2 = [args.as_slice(), &["--small-sample", "hc2"]].concat();
    let out = run(&hc2);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = json["estimators"].as_array().unwrap();
    // With HC2: statsmodels' cluster covariance (times G/(G − 1)); its diagonal is se².
    let exp = expected("cluster_T600");
    for (e, key) in list.iter().zip(["real_only", "naive", "dsl"]) {
        let se: Vec<f64> = matrix_of(&exp[key]["cov"])
            .iter()
            .enumerate()
            .map(|(j, row)| row[j].sqrt())
            .collect();
        assert_close(key, &vec_of(&e["se"]), &se, 1e-8, 0.0);
        assert!(e["notes"][0].as_str().unwrap().contains("clusters"), "{e}");
    }
    // The default: real-only is CR2 with cluster Bell–McCaffrey degrees of freedom,
    // R's estimatr (`tests/data/make_cr2.R`).
    let out = run(&args);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let real = &json["estimators"][0];
    let cr2 = &expected("cr2")["ols"];
    check_cr2(real, cr2);
    assert!(real["notes"][0].as_str().unwrap().contains("CR2"), "{real}");
}

#[test]
fn a_weight_column_weights_the_moments_and_is_validated() {
    let file = data_path("ols_T1000_n100_rho0.csv");
    let fit = |extra: &[&str]| -> Output {
        let mut args = vec![
            "--data",
            file.as_str(),
            "--model",
            "ols",
            "--labeled",
            "labeled",
            "--real",
            "y:x0,x1,x2",
            "--source",
            "p=proxy_y:proxy_x0,proxy_x1,proxy_x2",
            "--format",
            "json",
        ];
        args.extend(extra);
        run(&args)
    };
    // Unit weights (the constant column) change nothing.
    let (plain, unit) = (fit(&[]), fit(&["--weight", "x0"]));
    assert!(
        unit.status.success(),
        "{}",
        String::from_utf8_lossy(&unit.stderr)
    );
    let se =
        |o: &Output| vec_of(&serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["se"]);
    assert_close("se", &se(&unit), &se(&plain), 1e-10, 0.0);
    // A covariate with negative values is no weight.
    let out = fit(&["--weight", "x1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("weights must be positive and finite") && err.contains("line "),
        "{err}"
    );
}

/// `--bootstrap B` adds the bootstrap table to the summary and a `bootstrap` member to
/// the JSON: B replicates, its seed, symmetric intervals around the estimate; the same
/// seed gives the same intervals. It applies to the GMM alone.
#[test]
fn bootstrap_adds_intervals_to_the_summary_and_json() {
    let file = data_path("ols_T1000_n100_rho0.csv");
    let base = [
        "--data",
        &file,
        "--model",
        "ols",
        "--labeled",
        "labeled",
        "--real",
        "y:x0,x1,x2",
        "--source",
        "p=proxy_y:proxy_x0,proxy_x1,proxy_x2",
        "--bootstrap",
        "60",
        "--seed",
        "4",
    ];
    let table = run(&base);
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("Bootstrap: B = 60 (seed 4, 0 failed), symmetric intervals at 95%")
            && text.contains("selected weights (HC2-BM)"),
        "{text}"
    );
    let json = |extra: &[&str]| -> serde_json::Value {
        let out = run(&[&base[..], &["--format", "json"], extra].concat());
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (a, b) = (json(&[]), json(&[]));
    let boot = &a["bootstrap"];
    assert_eq!(boot["replicates"], 60);
    assert_eq!(boot["interval"], "symmetric");
    assert_eq!(boot["ci"], b["bootstrap"]["ci"]);
    for j in 0..3 {
        let theta = a["theta"][j].as_f64().unwrap();
        let (lo, hi) = (
            boot["ci"][j][0].as_f64().unwrap(),
            boot["ci"][j][1].as_f64().unwrap(),
        );
        assert!((theta - lo - (hi - theta)).abs() < 1e-9 * (1.0 + hi - lo));
    }
    let pct = json(&["--bootstrap-interval", "percentile"]);
    assert_eq!(pct["bootstrap"]["interval"], "percentile");
    assert_fails(
        &[&base[..], &["--estimator", "ppi"]].concat(),
        "--bootstrap applies to the GMM alone",
    );
}

/// `--adjust` and `--simultaneous` add adjusted p-values and simultaneous intervals to
/// every estimator's output (table and JSON); an unknown method is refused.
#[test]
fn adjusted_p_values_and_simultaneous_intervals_on_the_command_line() {
    let file = data_path("cluster_T600.csv");
    let base = [
        "--data",
        &file,
        "--model",
        "ols",
        "--labeled",
        "labeled",
        "--real",
        "y:one,x1,x2",
        "--source",
        "proxy=proxy_y:one,x1,x2",
        "--estimator",
        "gmm,real-only",
        "--adjust",
        "holm",
        "--simultaneous",
    ];
    let json_args = [base.as_slice(), &["--format", "json"]].concat();
    let out = run(&json_args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for e in json["estimators"].as_array().unwrap() {
        let p = vec_of(&e["p_values"]);
        let holm = synthgmm::adjust_p_values(&p, synthgmm::Adjustment::Holm).unwrap();
        assert_eq!(e["adjusted_p_values"]["method"], "holm");
        assert_close(
            "holm",
            &vec_of(&e["adjusted_p_values"]["p_values"]),
            &holm,
            1e-12,
            0.0,
        );
        let c = e["simultaneous"]["critical_value"].as_f64().unwrap();
        let (theta, se) = (vec_of(&e["theta"]), vec_of(&e["se"]));
        let ci = matrix_of(&e["simultaneous"]["ci"]);
        let pointwise = matrix_of(&e["ci"]);
        for j in 0..3 {
            assert_close("upper", &[ci[j][1]], &[theta[j] + c * se[j]], 1e-12, 0.0);
            assert!(
                ci[j][1] - ci[j][0] > pointwise[j][1] - pointwise[j][0],
                "{e}"
            );
        }
    }
    let text = run(&base);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Adjusted p-values (holm)"), "{text}");
    assert!(
        text.contains("Simultaneous 95% intervals (max-|t|"),
        "{text}"
    );
    let bad: Vec<&str> = base
        .iter()
        .map(|&a| if a == "holm" { "sidak" } else { a })
        .collect();
    let out = run(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sidak"));
}

/// `--model iv` with `--exogenous` and `--instruments`: the GMM and real-only IV fits
/// and the weak-instrument diagnostics of the labeled rows, equal to linearmodels'
/// first stage and the Anderson–Rubin set of `tests/data/make_weak_iv.py`; misuse is
/// refused with the reason.
#[test]
fn linear_iv_on_the_command_line_reports_weak_instrument_diagnostics() {
    let file = data_path("iv_T2000_n400.csv");
    let mut args = vec!["--data", &file];
    args.extend(IV);
    args.extend(["--format", "json"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exp = &expected("weak_iv")["strong"];
    let stage = &json["weak_instruments"]["first_stage"][0];
    assert_eq!(stage["endogenous"], "d");
    let f = exp["first_stage_unadjusted"]["f_stat"].as_f64().unwrap() * 396.0 / 400.0;
    assert_close("F", &[stage["f"].as_f64().unwrap()], &[f], 1e-9, 0.0);
    let set = &json["weak_instruments"]["anderson_rubin_set"];
    assert_eq!(set["kind"], "interval");
    assert_close(
        "AR set",
        &vec_of(&set["bounds"]),
        &vec_of(&exp["ar_set"]["roots"]),
        1e-8,
        0.0,
    );
    let table = run(&args[..args.len() - 2]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Weak instruments (labeled rows)"), "{text}");
    assert!(
        text.contains("Anderson–Rubin 95% set: [1.4127, 2.1260]"),
        "{text}"
    );
    // Misuse: instruments without --model iv, iv without instruments, an exogenous
    // column that is not a covariate.
    let swap = |from: &str, to: &'static str| -> Vec<String> {
        args.iter()
            .map(|a| {
                if *a == from {
                    to.to_string()
                } else {
                    a.to_string()
                }
            })
            .collect()
    };
    for (bad, reason) in [
        (swap("iv", "ols"), "apply to --model iv"),
        (swap("const,w", "const,v"), "is not a covariate"),
    ] {
        let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
        let out = run(&bad);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(reason),
            "{reason}"
        );
    }
    let without: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--instruments" && *a != "z1,z2")
        .collect();
    let out = run(&without);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --instruments"));
    // Diagnostics that do not apply (every covariate exogenous: over-identified least
    // squares) leave the fit standing and say why, in the table and the JSON.
    let exogenous = swap("const,w", "const,w,d");
    let exogenous: Vec<&str> = exogenous.iter().map(String::as_str).collect();
    let json = json_of(&exogenous);
    let why = json["weak_instruments"]["not_computed"].as_str().unwrap();
    assert!(why.contains("endogenous regressor"), "{why}");
    let text = run(&exogenous[..exogenous.len() - 2]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("Weak instruments: not computed"));
}

/// `--model quantile`: real-only equals the reference computation (scipy, the default
/// Silverman bandwidth, HC2), `Y` alone gives an intercept-only design; the levels are
/// required with the model and refused without it.
#[test]
fn quantiles_on_the_command_line() {
    let file = data_path("quantile_T3000_n300.csv");
    let base = [
        "--data",
        &file,
        "--labeled",
        "labeled",
        "--real",
        "y",
        "--source",
        "proxy=proxy",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--model",
        "quantile",
        "--quantiles",
        "0.1,0.5,0.9",
        "--format",
        "json",
    ]);
    args.extend(["--estimator", "real-only"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fit = &json["estimators"][0];
    let reference = &expected("quantile_T3000_n300")["smoothed_silverman"];
    assert_close(
        "theta",
        &vec_of(&fit["theta"]),
        &vec_of(&reference["theta"]),
        1e-9,
        1.0,
    );
    assert_close(
        "se",
        &vec_of(&fit["se"]),
        &vec_of(&reference["hc2"]),
        1e-8,
        0.0,
    );
    let mut missing = base.to_vec();
    missing.extend(["--model", "quantile"]);
    assert_fails(&missing, "--model quantile needs --quantiles");
    let mut stray = base.to_vec();
    stray.extend(["--model", "ols", "--quantiles", "0.5"]);
    assert_fails(&stray, "--quantiles applies to --model quantile");
    let mut outside = base.to_vec();
    outside.extend(["--model", "quantile", "--quantiles", "0.5,1.5"]);
    assert_fails(&outside, "level 1.5 is not in (0, 1)");
}

/// `synthgmm design` on the OLS test file with one proxy source.
fn design_on(file: &str) -> Command {
    let mut command = synthgmm();
    command.args([
        "design",
        "--data",
        file,
        "--model",
        "ols",
        "--labeled",
        "labeled",
    ]);
    command.args([
        "--real",
        "y:x0,x1,x2",
        "--source",
        "p=proxy_y:proxy_x0,proxy_x1,proxy_x2",
    ]);
    command
}

/// `synthgmm design` writes every row's probability and a seeded draw of the budget;
/// `fit --labeling-probability COL` reads such a column (a constant one is labeling at
/// random and changes nothing; one outside (0, 1] is a data error).
#[test]
fn design_draws_the_rows_to_label_and_fit_reads_their_probabilities() {
    let file = data_path("ols_T1000_n100_rho0.csv");
    let out = TempFile::new("design.csv");
    let design = |kind: &str, seed: &str| -> Output {
        design_on(&file)
            .args([
                "--budget",
                "150",
                "--design",
                kind,
                "--seed",
                seed,
                "--out",
                &out.path(),
            ])
            .output()
            .unwrap()
    };
    let read = || -> Vec<Vec<f64>> {
        let mut reader = csv::Reader::from_path(&out.0).unwrap();
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            ["row", "label_now", "probability", "phase_two"]
        );
        reader
            .records()
            .map(|r| r.unwrap().iter().map(|v| v.parse().unwrap()).collect())
            .collect()
    };
    for kind in ["uniform", "stratified", "active"] {
        let o = design(kind, "3");
        assert!(
            o.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("150 rows to label now") && text.contains("x1"),
            "{text}"
        );
        let rows = read();
        assert_eq!(rows.len(), 1000);
        let drawn: f64 = rows.iter().map(|r| r[1]).sum();
        let budget: f64 = rows.iter().map(|r| r[3]).sum();
        assert_eq!(drawn, 150.0);
        assert!((budget - 150.0).abs() < 1e-9, "{kind}: {budget}");
        assert!(rows.iter().all(|r| r[2] > 0.0 && r[2] <= 1.0));
        let again = read();
        assert_eq!(design(kind, "3").status.code(), Some(0));
        assert_eq!(read(), again);
    }
    let fit = |extra: &[&str]| -> Output {
        let mut args = vec![
            "--data",
            file.as_str(),
            "--model",
            "ols",
            "--labeled",
            "labeled",
        ];
        args.extend([
            "--real",
            "y:x0,x1,x2",
            "--source",
            "p=proxy_y:proxy_x0,proxy_x1,proxy_x2",
        ]);
        args.extend(["--format", "json"]);
        args.extend(extra);
        run(&args)
    };
    let estimate = |o: &Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        vec_of(&serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["theta"])
    };
    let plain = estimate(&fit(&[]));
    assert_close(
        "constant π",
        &estimate(&fit(&["--labeling-probability", "x0"])),
        &plain,
        1e-12,
        0.0,
    );
    // Every design's predicted half-widths, and the labels each needs for a target.
    let o = design_on(&file)
        .args([
            "--budget",
            "150",
            "--coefficient",
            "x1",
            "--half-width",
            "0.1",
        ])
        .args(["--out", &out.path()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for needle in [
        "uniform",
        "stratified",
        "active",
        "New labels for ±0.1 on `x1`",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let bad = fit(&["--labeling-probability", "x1"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn fixed_effect_columns_are_absorbed() {
    let file = data_path("fixed_effects.csv");
    let args = |real: &'static str| {
        vec![
            "--data".to_string(),
            file.clone(),
            "--model".into(),
            "ols".into(),
            "--labeled".into(),
            "labeled".into(),
            "--real".into(),
            real.into(),
            "--source".into(),
            "proxy=proxy:x1,x2".into(),
            "--fixed-effects".into(),
            "firm,period".into(),
            "--estimator".into(),
            "real-only,gmm".into(),
            "--format".into(),
            "json".into(),
        ]
    };
    let json = json_of(
        &args("y:x1,x2")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    // Real-only: estimatr's CR2 with firm and period indicators (make_fixed_effects.R).
    let real = &json["estimators"][0];
    let exp = &expected("fixed_effects")["two_way"];
    check_cr2(real, exp);
    let gmm = &json["estimators"][1];
    assert!(
        gmm["notes"][0]
            .as_str()
            .unwrap()
            .contains("40 and 6 levels"),
        "{gmm}"
    );
    // A column constant within the levels is a data error (exit 2) naming it.
    let out = run(&args("y:x1,period")
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`period`"));
}

#[test]
fn several_outcomes_are_fitted_and_adjusted_together() {
    // Two outcomes of 400 rows, every fourth labeled, each with a proxy.
    let file = TempFile::new("outcomes.csv");
    let mut text = String::from("labeled,x1,ya,yb,pa,pb\n");
    for i in 0..400 {
        let x = (i as f64 * 0.37).sin();
        let (ea, eb) = ((i as f64 * 1.9).cos(), (i as f64 * 2.3).sin());
        let (ya, yb) = (1.0 + 0.5 * x + ea, 2.0 - 0.2 * x + eb);
        let labeled = i % 4 == 0;
        let shown = |v: f64| {
            if labeled {
                v.to_string()
            } else {
                String::new()
            }
        };
        text += &format!(
            "{},{x},{},{},{},{}\n",
            u8::from(labeled),
            shown(ya),
            shown(yb),
            ya - 0.3 * ea,
            yb - 0.3 * eb
        );
    }
    std::fs::write(&file.0, text).unwrap();
    let path = file.path();
    let base = [
        "--data",
        &path,
        "--model",
        "ols",
        "--labeled",
        "labeled",
        "--real",
        "ya:x1",
        "--source",
        "proxy=pa:x1",
        "--outcome",
        "b=yb,pb",
        "--format",
        "json",
    ];
    let json = json_of(&[base.as_slice(), &["--bootstrap", "99", "--seed", "2"]].concat());
    let list = json["outcomes"].as_array().unwrap();
    assert_eq!((list.len(), json["adjustment"].as_str()), (2, Some("holm")));
    assert_eq!(list[1]["outcome"], "b");
    // Holm over both slopes' p-values (no intercept: the columns are named).
    let p: Vec<f64> = list.iter().flat_map(|o| vec_of(&o["p_values"])).collect();
    assert_eq!(p.len(), 2);
    let holm = common::holm_by_hand(&p);
    let adjusted: Vec<f64> = list
        .iter()
        .flat_map(|o| vec_of(&o["adjusted_p_values"]))
        .collect();
    assert_close("holm", &adjusted, &holm, 1e-12, 1e-300);
    let ci = &list[0]["simultaneous_ci"][0];
    assert!(
        ci[0].as_f64().unwrap() < 0.5 && 0.5 < ci[1].as_f64().unwrap(),
        "{ci}"
    );
    assert_eq!(json["simultaneous_from"], "bootstrap");
    // Without the bootstrap the intervals come from the outcomes' joint covariance
    // (their influence on each row).
    let normal = json_of(&base);
    assert_eq!(normal["simultaneous_from"], "influence");
    assert!(normal["simultaneous_note"].is_null());
    let ci = &normal["outcomes"][1]["simultaneous_ci"][0];
    let (lower, upper) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    let se = normal["outcomes"][1]["se"][0].as_f64().unwrap();
    assert!((upper - lower) / (2.0 * se) > 1.96, "{ci}");
    // A failure names its outcome: the real column given as a source is missing on
    // the unlabeled rows.
    let out = run(&[&base[..10], &["--outcome", "c=yb,yb"]].concat());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("outcome `c`: "), "{stderr}");
    // Each outcome needs one column per source.
    let out = run(&[&base[..10], &["--outcome", "b=yb"]].concat());
    assert_eq!(out.status.code(), Some(2));
    #[cfg(feature = "parquet")]
    {
        // The same rows in a Parquet file, read out of core once for both outcomes
        // (their fits sharing each pass), give the CSV's fits; with the bootstrap, the
        // rows are read into memory and resampled alike.
        let parquet = TempFile::new("outcomes.parquet");
        parquet_copy(&path, &parquet.0, 0..400);
        let on_disk = parquet.path();
        let from_parquet = |extra: &[&str]| {
            let mut args = base.to_vec();
            args[1] = &on_disk;
            json_of(&[args.as_slice(), extra].concat())
        };
        for (csv, parquet) in [
            (&normal, from_parquet(&[])),
            (&json, from_parquet(&["--bootstrap", "99", "--seed", "2"])),
        ] {
            for key in ["theta", "se", "adjusted_p_values", "simultaneous_ci"] {
                for k in 0..2 {
                    let flat = |v: &serde_json::Value| -> Vec<f64> {
                        let v = &v["outcomes"][k][key];
                        match v[0].as_array() {
                            Some(_) => v.as_array().unwrap().iter().flat_map(vec_of).collect(),
                            None => vec_of(v),
                        }
                    };
                    assert_close(key, &flat(&parquet), &flat(csv), 1e-12, 1e-12);
                }
            }
        }
    }
}

/// An estimate's JSON against estimatr's CR2 (`cov`, `df`): standard errors and each
/// coefficient's degrees of freedom to 1e-8.
fn check_cr2(estimate: &serde_json::Value, expected: &serde_json::Value) {
    assert_close(
        "se",
        &vec_of(&estimate["se"]),
        &common::se_of(&expected["cov"]),
        1e-8,
        0.0,
    );
    let df = vec_of(&expected["df"]);
    assert_close("df", &vec_of(&estimate["coefficient_df"]), &df, 1e-8, 0.0);
}

/// The JSON a successful run prints.
fn json_of(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The choices' names and help lines are the library's (`synthgmm::named`): every
/// name each option lists in `--help` parses in the library, and an unknown value is
/// refused with the library's list.
#[test]
fn choices_are_the_librarys_names() {
    use synthgmm::named::Choice;
    use synthgmm::{Adjustment, BootstrapInterval, Covariance, SmallSample};
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    fn listed<T: Choice>(help: &str) {
        for (name, line) in T::CHOICES {
            assert!(help.contains(&format!("- {name}:")), "{name} missing");
            assert!(help.contains(line), "help of {name} missing");
            assert!(name.parse::<T>().is_ok());
        }
    }
    listed::<Covariance>(&help);
    listed::<SmallSample>(&help);
    listed::<Adjustment>(&help);
    listed::<BootstrapInterval>(&help);
    let out = run(&["--small-sample", "hc4"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&SmallSample::NAMES.join(", ")), "{stderr}");
}

/// A prevalence: the mean of a 0/1 label gets its interval on the logit scale, named in
/// the JSON (per coefficient) and in its notes.
#[test]
fn a_proportions_interval_is_on_the_logit_scale() {
    let csv = TempFile::new("prevalence.csv");
    let mut text = String::from("labeled,y,llm\n");
    for i in 0..400 {
        let labeled = i % 8 == 0;
        let y = u8::from(i % 24 == 0);
        let llm = u8::from(i % 24 == 0 || i % 37 == 0);
        match labeled {
            true => text.push_str(&format!("1,{y},{llm}\n")),
            false => text.push_str(&format!("0,,{llm}\n")),
        }
    }
    std::fs::write(&csv.0, text).unwrap();
    let path = csv.path();
    let args = [
        "--data",
        &path,
        "--model",
        "mean",
        "--labeled",
        "labeled",
        "--real",
        "y",
    ];
    let out = run(&[&args[..], &["--source", "llm=llm", "--format", "json"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["interval_scale"], serde_json::json!(["logit"]));
    let ci = matrix_of(&json["ci"]).concat();
    assert!(0.0 < ci[0] && ci[1] < 1.0, "{ci:?}");
    let notes = json["notes"].to_string();
    assert!(notes.contains("logit scale"), "{notes}");
}
