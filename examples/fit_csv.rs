//! Fit the two-step GMM estimator to a CSV file, without writing Rust.
//!
//! ```text
//! cargo run --release --example fit_csv -- --data FILE.csv --model ols|logistic \
//!     --labeled COL --real Y:X0,X1,... [--source NAME=Y:X0,X1,...]... \
//!     [--alpha 0.05] [--json] [--estimator gmm|all] [--covariance windmeijer|standard|step2|sandwich]
//!     [--step-one per-block|identity] [--weights selected|unrestricted] [--diagnose]
//! ```
//!
//! `--covariance` picks the GMM covariance: Windmeijer's finite-sample correction
//! (default), `standard` (Ω re-estimated at the final estimate, as statsmodels), or
//! `step2` (the step-2 weight). `--step-one identity` uses the textbook identity-weighted
//! first step of statsmodels and R's `gmm` instead of the unit-free per-block one.
//! `--weights unrestricted` fits the paper's two-step GMM instead of the default
//! selected cross weights (see `CrossWeights`); `--covariance` applies to it.
//! `--diagnose` adds the per-source table (C test, influence correlation, ESS gain;
//! `TwoStepGmm::diagnose`) under the summary, or a `diagnostics` list with `--json`
//! (`source`, `c_stat`, `c_df`, `c_pvalue`, `correlation`, `ess_gain`). With the
//! selected weights the JSON has `cross_weights`, one choice per coefficient.
//!
//! `--estimator all` also runs the baselines (real-only, naive pooled, PPI++, DSL and RePPI on
//! the first source, PPI++Synth on the first two) and prints them side by side
//! (with `--json`: an `estimators` list, each with `name`, `theta`, `se`, `ci`).
//!
//! Columns are named explicitly, the constant column included (no implicit intercept).
//! `--source` is repeatable; its order is the order of η in `params`. Empty cells are
//! missing values, allowed only where unused (real outcomes and covariates on unlabeled
//! rows). Without `--json` the summary table is printed; with `--json`, one JSON object.
//! Bad arguments or data: a one-line error on stderr and exit status 2.

use std::process::ExitCode;

use ndarray::{Array1, Array2};
use serde_json::json;
use synthgmm::baselines::{Dsl, NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{
    Covariance, CrossWeights, DataSources, Error, Estimate, Estimator, GmmFit, MomentModel,
    OnSources, StepOne, TwoStepGmm,
};

const USAGE: &str = "usage: fit_csv --data FILE.csv --model ols|logistic --labeled COL \
--real Y:X0,X1,... [--source NAME=Y:X0,X1,...]... [--alpha 0.05] [--json] [--estimator gmm|all] [--covariance windmeijer|standard|step2|sandwich] [--step-one per-block|identity] [--weights selected|unrestricted] [--diagnose]";

/// Outcome and covariate column names of one block.
struct Spec {
    outcome: String,
    covariates: Vec<String>,
}

struct Args {
    data: String,
    model: String,
    labeled: String,
    real: Spec,
    sources: Vec<(String, Spec)>,
    alpha: f64,
    json: bool,
    compare: bool,
    covariance: Covariance,
    step_one: StepOne,
    weights: CrossWeights,
    diagnose: bool,
}

fn parse_spec(text: &str, flag: &str) -> Result<Spec, String> {
    let (y, xs) = text
        .split_once(':')
        .ok_or_else(|| format!("{flag} expects Y:X0,X1,... but got `{text}`"))?;
    let covariates: Vec<String> = xs.split(',').map(|s| s.trim().to_string()).collect();
    if y.trim().is_empty() || covariates.iter().any(String::is_empty) {
        return Err(format!("{flag} has an empty column name in `{text}`"));
    }
    Ok(Spec {
        outcome: y.trim().to_string(),
        covariates,
    })
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut data, mut model, mut labeled, mut real) = (None, None, None, None);
    let (mut sources, mut alpha, mut json, mut compare) = (Vec::new(), 0.05, false, false);
    let mut covariance = Covariance::Windmeijer;
    let mut step_one = StepOne::PerBlock;
    let mut weights = CrossWeights::Selected;
    let mut diagnose = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => data = Some(value()?),
            "--model" => model = Some(value()?),
            "--labeled" => labeled = Some(value()?),
            "--real" => real = Some(parse_spec(&value()?, "--real")?),
            "--source" => {
                let v = value()?;
                let (name, spec) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--source expects NAME=Y:X0,... but got `{v}`"))?;
                sources.push((name.to_string(), parse_spec(spec, "--source")?));
            }
            "--alpha" => {
                let v = value()?;
                alpha = v
                    .parse()
                    .map_err(|_| format!("--alpha expects a number, got `{v}`"))?;
            }
            "--json" => json = true,
            "--covariance" => {
                covariance = match value()?.as_str() {
                    "windmeijer" => Covariance::Windmeijer,
                    "standard" => Covariance::Reestimated,
                    "step2" => Covariance::StepTwo,
                    "sandwich" => Covariance::Sandwich,
                    other => {
                        return Err(format!(
                    "--covariance must be windmeijer, standard, step2 or sandwich, got `{other}`"
                ))
                    }
                }
            }
            "--step-one" => {
                step_one = match value()?.as_str() {
                    "per-block" => StepOne::PerBlock,
                    "identity" => StepOne::Identity,
                    other => {
                        return Err(format!(
                            "--step-one must be per-block or identity, got `{other}`"
                        ))
                    }
                }
            }
            "--diagnose" => diagnose = true,
            "--weights" => {
                weights = match value()?.as_str() {
                    "selected" => CrossWeights::Selected,
                    "unrestricted" => CrossWeights::Unrestricted,
                    other => {
                        return Err(format!(
                            "--weights must be selected or unrestricted, got `{other}`"
                        ))
                    }
                }
            }
            "--estimator" => {
                compare = match value()?.as_str() {
                    "gmm" => false,
                    "all" => true,
                    other => {
                        return Err(format!("--estimator must be `gmm` or `all`, got `{other}`"))
                    }
                }
            }
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`; {USAGE}")),
        }
    }
    let missing = |name: &str| format!("missing {name}; {USAGE}");
    Ok(Args {
        data: data.ok_or_else(|| missing("--data"))?,
        model: model.ok_or_else(|| missing("--model"))?,
        labeled: labeled.ok_or_else(|| missing("--labeled"))?,
        real: real.ok_or_else(|| missing("--real"))?,
        sources,
        alpha,
        json,
        compare,
        covariance,
        step_one,
        weights,
        diagnose,
    })
}

/// The CSV as named columns of raw cells; a column is parsed as numbers only when the
/// model uses it, so text columns the fit does not need are no obstacle.
struct Table {
    path: String,
    headers: Vec<String>,
    cells: Vec<Vec<String>>,
    rows: usize,
}

impl Table {
    fn read(path: &str) -> Result<Table, String> {
        let mut reader =
            csv::Reader::from_path(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| format!("cannot read the header of `{path}`: {e}"))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        for (c, h) in headers.iter().enumerate() {
            if headers[..c].contains(h) {
                return Err(format!(
                    "`{path}`: the header names column `{h}` twice (columns {} and {})",
                    headers[..c].iter().position(|o| o == h).unwrap_or(0) + 1,
                    c + 1
                ));
            }
        }
        let mut cells: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
        let mut rows = 0;
        for (r, record) in reader.records().enumerate() {
            let record = record.map_err(|e| format!("`{path}` line {}: {e}", r + 2))?;
            for (c, cell) in record.iter().enumerate() {
                cells[c].push(cell.trim().to_string());
            }
            rows += 1;
        }
        Ok(Table {
            path: path.to_string(),
            headers,
            cells,
            rows,
        })
    }

    /// The named column as numbers: empty, `NA` and `NaN` cells become NaN (allowed only
    /// where the estimator does not read them), `true`/`false` become 1/0.
    fn column(&self, name: &str) -> Result<Vec<f64>, String> {
        let c = self
            .headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no column `{name}` in `{}`", self.path))?;
        self.cells[c]
            .iter()
            .enumerate()
            .map(|(r, cell)| {
                if cell.is_empty()
                    || cell.eq_ignore_ascii_case("na")
                    || cell.eq_ignore_ascii_case("nan")
                {
                    return Ok(f64::NAN);
                }
                match cell.as_str() {
                    "true" | "TRUE" | "True" => Ok(1.0),
                    "false" | "FALSE" | "False" => Ok(0.0),
                    _ => cell.parse().map_err(|_| {
                        format!(
                            "`{}` line {}, column `{name}`: `{cell}` is not a number",
                            self.path,
                            r + 2
                        )
                    }),
                }
            })
            .collect()
    }

    fn block(&self, spec: &Spec) -> Result<(Array2<f64>, Array1<f64>), String> {
        let y = Array1::from(self.column(&spec.outcome)?);
        let cols: Vec<Vec<f64>> = spec
            .covariates
            .iter()
            .map(|c| self.column(c))
            .collect::<Result<_, _>>()?;
        Ok((
            Array2::from_shape_fn((self.rows, cols.len()), |(i, j)| cols[j][i]),
            y,
        ))
    }
}

fn describe(e: &Error) -> String {
    match e {
        Error::NonFinite { row, .. } | Error::InvalidValue { row, .. } => {
            format!("{e} (CSV line {})", row + 2)
        }
        _ => e.to_string(),
    }
}

fn run(args: Args) -> Result<String, String> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(format!("--alpha must be in (0, 1), got {}", args.alpha));
    }
    let table = Table::read(&args.data)?;
    let labels = table.column(&args.labeled)?;
    let mut labeled = Vec::with_capacity(labels.len());
    for (r, &v) in labels.iter().enumerate() {
        match v {
            1.0 => labeled.push(true),
            0.0 => labeled.push(false),
            v => {
                return Err(format!(
                    "label column `{}` must be 0 or 1, found {v} on CSV line {}",
                    args.labeled,
                    r + 2
                ))
            }
        }
    }
    let (x, y) = table.block(&args.real)?;
    let mut builder = DataSources::builder(&labeled)
        .real(&x, &y)
        .covariate_names(args.real.covariates.clone());
    for (name, spec) in &args.sources {
        let (sx, sy) = table.block(spec)?;
        builder = builder.source(name.clone(), &sx, &sy);
    }
    let data = builder.build().map_err(|e| describe(&e))?;
    match args.model.as_str() {
        "ols" => report(Ols, &data, &args),
        "logistic" => report(Logistic, &data, &args),
        other => Err(format!(
            "--model must be `ols` or `logistic`, got `{other}`"
        )),
    }
}

/// The GMM estimator with the command line's settings.
fn gmm<M: MomentModel>(model: M, args: &Args) -> TwoStepGmm<M> {
    TwoStepGmm::new(model)
        .covariance(args.covariance)
        .step_one(args.step_one)
        .cross_weights(args.weights)
}

/// Fits and formats: the GMM summary or JSON, or with `--estimator all` every estimator
/// that can run on these data (those that cannot are listed with the reason).
fn report<M: MomentModel + Clone + 'static>(
    model: M,
    data: &DataSources,
    args: &Args,
) -> Result<String, String> {
    if args.compare {
        let results = compare(model, data, args);
        if results.iter().all(|(_, r)| r.is_err()) {
            let (name, err) = &results[results.len() - 1];
            let err = err.as_ref().err().map(describe).unwrap_or_default();
            return Err(format!("no estimator could run; {name}: {err}"));
        }
        return comparison(&results, args);
    }
    if args.diagnose {
        let report = gmm(model, args).diagnose(data).map_err(|e| describe(&e))?;
        if !args.json {
            return Ok(report.to_string());
        }
        let mut out = to_json(&report.fit, args);
        out["diagnostics"] = report
            .sources
            .iter()
            .map(|s| {
                let mut d = json!({
                    "source": s.name,
                    "c_stat": s.c_test.statistic,
                    "c_df": s.c_test.df,
                    "ess_gain": s.ess_contribution.to_vec(),
                });
                if let Some(p) = s.c_test.p_value {
                    d["c_pvalue"] = json!(p);
                }
                if let Some(c) = &s.correlation {
                    d["correlation"] = json!(c.to_vec());
                }
                d
            })
            .collect();
        return Ok(out.to_string());
    }
    let fit = gmm(model, args).fit(data).map_err(|e| describe(&e))?;
    if args.json {
        Ok(to_json(&fit, args).to_string())
    } else {
        Ok(fit
            .summary(args.alpha)
            .map_err(|e| e.to_string())?
            .to_string())
    }
}

/// Every estimator applicable to the data's sources, GMM last, each with its result.
fn compare<M: MomentModel + Clone + 'static>(
    model: M,
    data: &DataSources,
    args: &Args,
) -> Vec<(String, Result<Estimate, Error>)> {
    let names = data.source_names();
    let mut estimators: Vec<Box<dyn Estimator>> = vec![Box::new(RealOnly::new(model.clone()))];
    if let Some(first) = names.first() {
        estimators.push(Box::new(NaivePooled::new(model.clone(), names.clone())));
        estimators.push(Box::new(PpiPlusPlus::new(model.clone(), first.clone())));
        estimators.push(Box::new(Dsl::new(model.clone(), first.clone())));
        estimators.push(Box::new(RePpi::new(model.clone(), [first.clone()])));
    }
    if names.len() >= 2 {
        estimators.push(Box::new(PpiSynth::new(
            model.clone(),
            names[0].clone(),
            names[1].clone(),
        )));
    }
    if !names.is_empty() {
        estimators.push(Box::new(OnSources::new(
            format!("GMM ({})", names.join(" + ")),
            gmm(model, args),
            names.clone(),
        )));
    }
    estimators
        .iter()
        .map(|e| (e.name(), e.estimate(data)))
        .collect()
}

fn comparison(
    results: &[(String, Result<Estimate, Error>)],
    args: &Args,
) -> Result<String, String> {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut text = String::new();
    for (name, result) in results {
        let e = match result {
            Ok(e) => e,
            Err(err) => {
                let reason = describe(err);
                if args.json {
                    skipped.push(json!({ "name": name, "error": reason }));
                } else {
                    text.push_str(&format!("{name}\n  not run: {reason}\n\n"));
                }
                continue;
            }
        };
        let ci = e.conf_int(args.alpha).map_err(|e| e.to_string())?;
        if args.json {
            rows.push(json!({
                "name": e.estimator(),
                "theta": e.theta().to_vec(),
                "se": e.se().to_vec(),
                "ci": ci.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "notes": e.notes().iter().map(ToString::to_string).collect::<Vec<_>>(),
            }));
        } else {
            text.push_str(&format!(
                "{}\n{}",
                e.estimator(),
                e.table(args.alpha).map_err(|e| e.to_string())?
            ));
            for note in e.notes() {
                text.push_str(&format!("Note: {note}.\n"));
            }
            text.push('\n');
        }
    }
    Ok(if args.json {
        json!({ "alpha": args.alpha, "estimators": rows, "not_run": skipped }).to_string()
    } else {
        text
    })
}

fn to_json(fit: &GmmFit, args: &Args) -> serde_json::Value {
    let ci = fit.conf_int(args.alpha).expect("alpha validated");
    let rows = |a: ndarray::ArrayView2<f64>| a.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let j = fit.j_test();
    let mut out = json!({
        "model": args.model,
        "names": fit.estimate().names(),
        "theta": fit.theta().to_vec(),
        "se": fit.se().to_vec(),
        "z": fit.z().to_vec(),
        "p_values": fit.p_values().to_vec(),
        "alpha": args.alpha,
        "ci": rows(ci.view()),
        "cov_theta": rows(fit.cov_theta()),
        "params": fit.params().to_vec(),
        "step1_params": fit.step1_params().to_vec(),
        "j_stat": j.statistic,
        "j_df": j.df,
        "effective_sample_size": fit.effective_sample_size().to_vec(),
        "real_only_se": fit.real_only_se().to_vec(),
        "n_labeled": fit.n_labeled(),
        "t": fit.n_rows(),
        "sources": fit.source_names(),
        "converged": fit.converged(),
        "pseudo_inverse": fit.used_pseudo_inverse(),
        "covariance": fit.covariance_kind().name(),
        "notes": fit.notes().iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    // χ²(0) has no p-value: the key is left out rather than written as null.
    if let Some(p) = j.p_value {
        out["j_pvalue"] = json!(p);
    }
    if let Some(choices) = fit.cross_choices() {
        out["cross_weights"] = json!(choices.iter().map(|c| c.name()).collect::<Vec<_>>());
    }
    out
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)).and_then(run) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!(
                "error: {}",
                message.lines().next().unwrap_or("unknown error")
            );
            ExitCode::from(2)
        }
    }
}
