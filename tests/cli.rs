//! The `fit_csv` example as a command-line tool: JSON output against the independent
//! reference results (see `tests/data/README.md`), and one-line errors with status 2.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{assert_close, data_path, expected, matrix_of, vec_of};

/// The example binary, built (or brought up to date) once per test run with the same
/// features as the tests.
fn fit_csv() -> Command {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--quiet", "--example", "fit_csv"]);
        cargo.current_dir(env!("CARGO_MANIFEST_DIR"));
        let features: Vec<&str> = [
            ("openblas", cfg!(feature = "openblas")),
            ("serde", cfg!(feature = "serde")),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        if !features.is_empty() {
            cargo.args(["--features", &features.join(",")]);
        }
        assert!(
            cargo.status().unwrap().success(),
            "building the fit_csv example failed"
        );
    });
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let exe: PathBuf = dir
        .join("examples")
        .join(format!("fit_csv{}", std::env::consts::EXE_SUFFIX));
    Command::new(exe)
}

fn run(args: &[&str]) -> Output {
    fit_csv().args(args).output().unwrap()
}

const SYNTH: [&str; 17] = [
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
    "--json",
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
        "--json",
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
        text.contains("P>|z|") && text.contains("[0.025") && text.contains("Sources: p"),
        "{text}"
    );
}

#[test]
fn diagnose_adds_the_sources_table() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec!["--data", file.as_str(), "--diagnose"];
    args.extend(SYNTH.iter().copied().filter(|a| *a != "--json"));
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
    let check = |extra: &[&'static str], needle: &str| {
        let args = with(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_fails(&refs, needle);
    };
    check(&["--model", "probit", "--real", "y:x0"], "--model must be");
    check(&["--model", "ols", "--real", "y:x0,x7"], "no column `x7`");
    check(&["--model", "ols", "--real", "y"], "expects Y:X0");
    check(
        &["--model", "ols", "--real", "y:x0", "--alpha", "1.5"],
        "--alpha",
    );
    check(
        &["--model", "ols", "--real", "y:x0", "--bogus"],
        "unknown argument",
    );
    check(&["--model", "ols"], "missing --real");
    // Real outcomes are missing on unlabeled rows: not allowed in a source.
    check(
        &[
            "--model",
            "ols",
            "--real",
            "y:x0,x1",
            "--source",
            "bad=y:x0,x1",
        ],
        "non-finite value NaN in `bad`, outcome, row 0 (CSV line 2)",
    );
    check(
        &["--model", "logistic", "--real", "y:x0,x1"],
        "logistic outcomes must lie in [0, 1]",
    );
    assert_fails(
        &[
            "--data",
            "/nonexistent.csv",
            "--model",
            "ols",
            "--labeled",
            "l",
            "--real",
            "y:x",
        ],
        "cannot read",
    );
}

#[test]
fn estimator_all_runs_every_baseline() {
    let file = data_path("ols_T3000_n300_rho7.csv");
    let mut args = vec!["--data", file.as_str()];
    args.extend(SYNTH);
    args.extend(["--estimator", "all"]);
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
    assert_fails(
        &[
            "--data",
            &file,
            "--model",
            "ols",
            "--labeled",
            "labeled",
            "--real",
            "y:x0",
            "--estimator",
            "best",
        ],
        "--estimator must be",
    );
}

/// A small CSV written for one test: rows t = 0..40 with an intercept, a covariate, a
/// real outcome, a proxy and a text column; `labeled` every `every`-th row.
fn small_csv(name: &str, header: &str, every: usize) -> String {
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
    let path = std::env::temp_dir().join(format!("synthgmm-cli-{}-{name}.csv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

const SMALL: [&str; 10] = [
    "--model",
    "ols",
    "--labeled",
    "labeled",
    "--real",
    "y:one,x",
    "--source",
    "proxy=proxy:one,x",
    "--json",
    "--estimator",
];

#[test]
fn duplicate_headers_are_an_error() {
    let file = small_csv("dup", "labeled,one,x,y,x,comment", 3);
    let mut args = vec!["--data", file.as_str()];
    args.extend(&SMALL[..9]);
    assert_fails(&args, "column `x` twice");
}

#[test]
fn text_in_an_unused_column_is_no_obstacle() {
    let file = small_csv("text", "labeled,one,x,y,proxy,comment", 3);
    let mut args = vec!["--data", file.as_str()];
    args.extend(&SMALL[..9]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("null") && !text.contains("NaN"), "{text}");
}

/// With every row labeled, PPI++ and DSL cannot run; the others are still reported.
#[test]
fn estimator_all_reports_what_cannot_run_and_keeps_the_rest() {
    let file = small_csv("all", "labeled,one,x,y,proxy,comment", 1);
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
