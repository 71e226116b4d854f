//! Fit the two-step GMM estimator to a CSV file, without writing Rust.
//!
//! ```text
//! cargo run --release --example fit_csv -- --data FILE.csv --model ols|logistic \
//!     --labeled COL --real Y:X0,X1,... [--source NAME=Y:X0,X1,...]... \
//!     [--alpha 0.05] [--json] [--estimator gmm|all] [--covariance windmeijer|standard|step2]
//! ```
//!
//! `--covariance` picks the GMM covariance: Windmeijer's finite-sample correction
//! (default), `standard` (Ω re-estimated at the final estimate, as statsmodels), or
//! `step2` (the step-2 weight).
//!
//! `--estimator all` also runs the baselines (real-only, naive pooled, PPI++ and DSL on
//! the first source, PPI++Synth on the first two) and prints them side by side
//! (with `--json`: an `estimators` list, each with `name`, `theta`, `se`, `ci`).
//!
//! Columns are named explicitly, the constant column included (no implicit intercept).
//! `--source` is repeatable; its order is the order of η in `params`. Empty cells are
//! missing values, allowed only where unused (real outcomes and covariates on unlabeled
//! rows). Without `--json` the summary table is printed; with `--json`, one JSON object.
//! Bad arguments or data: a one-line error on stderr and exit status 2.

use std::collections::HashMap;
use std::process::ExitCode;

use ndarray::{Array1, Array2};
use serde_json::json;
use synthgmm::baselines::{Dsl, NaivePooled, PpiPlusPlus, PpiSynth, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{
    Covariance, DataSources, Error, Estimate, Estimator, GmmFit, MomentModel, OnSources, TwoStepGmm,
};

const USAGE: &str = "usage: fit_csv --data FILE.csv --model ols|logistic --labeled COL \
--real Y:X0,X1,... [--source NAME=Y:X0,X1,...]... [--alpha 0.05] [--json] [--estimator gmm|all] [--covariance windmeijer|standard|step2]";

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
                    other => {
                        return Err(format!(
                            "--covariance must be windmeijer, standard or step2, got `{other}`"
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
    })
}

/// The CSV as named numeric columns; empty cells become NaN.
struct Table {
    columns: HashMap<String, Vec<f64>>,
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
        let mut columns: Vec<Vec<f64>> = vec![Vec::new(); headers.len()];
        let mut rows = 0;
        for (r, record) in reader.records().enumerate() {
            let record = record.map_err(|e| format!("`{path}` line {}: {e}", r + 2))?;
            for (c, cell) in record.iter().enumerate() {
                let cell = cell.trim();
                let v = if cell.is_empty()
                    || cell.eq_ignore_ascii_case("na")
                    || cell.eq_ignore_ascii_case("nan")
                {
                    f64::NAN
                } else {
                    match cell {
                        "true" | "TRUE" | "True" => 1.0,
                        "false" | "FALSE" | "False" => 0.0,
                        _ => cell.parse().map_err(|_| {
                            format!(
                                "`{path}` line {}, column `{}`: `{cell}` is not a number",
                                r + 2,
                                headers[c]
                            )
                        })?,
                    }
                };
                columns[c].push(v);
            }
            rows += 1;
        }
        Ok(Table {
            columns: headers.into_iter().zip(columns).collect(),
            rows,
        })
    }

    fn column(&self, name: &str) -> Result<&[f64], String> {
        self.columns
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("no column `{name}` in the data"))
    }

    fn block(&self, spec: &Spec) -> Result<(Array2<f64>, Array1<f64>), String> {
        let y = Array1::from(self.column(&spec.outcome)?.to_vec());
        let cols: Vec<&[f64]> = spec
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
    let fit = match args.model.as_str() {
        "ols" => TwoStepGmm::new(Ols).covariance(args.covariance).fit(&data),
        "logistic" => TwoStepGmm::new(Logistic)
            .covariance(args.covariance)
            .fit(&data),
        other => {
            return Err(format!(
                "--model must be `ols` or `logistic`, got `{other}`"
            ))
        }
    }
    .map_err(|e| describe(&e))?;
    if args.compare {
        let estimates = match args.model.as_str() {
            "ols" => compare(Ols, &data, args.covariance),
            _ => compare(Logistic, &data, args.covariance),
        }
        .map_err(|e| describe(&e))?;
        return comparison(&estimates, &args);
    }
    if args.json {
        Ok(to_json(&fit, &args).to_string())
    } else {
        Ok(fit
            .summary(args.alpha)
            .map_err(|e| e.to_string())?
            .to_string())
    }
}

/// Every estimator applicable to the data's sources, GMM last.
fn compare<M: MomentModel + Clone + 'static>(
    model: M,
    data: &DataSources,
    covariance: Covariance,
) -> Result<Vec<Estimate>, Error> {
    let names = data.source_names();
    let mut estimators: Vec<Box<dyn Estimator>> = vec![Box::new(RealOnly::new(model.clone()))];
    if let Some(first) = names.first() {
        estimators.push(Box::new(NaivePooled::new(model.clone(), names.clone())));
        estimators.push(Box::new(PpiPlusPlus::new(model.clone(), first.clone())));
        estimators.push(Box::new(Dsl::new(model.clone(), first.clone())));
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
            TwoStepGmm::new(model).covariance(covariance),
            names.clone(),
        )));
    }
    estimators.iter().map(|e| e.estimate(data)).collect()
}

fn comparison(estimates: &[Estimate], args: &Args) -> Result<String, String> {
    let mut rows = Vec::new();
    let mut text = String::new();
    for e in estimates {
        let ci = e.conf_int(args.alpha).map_err(|e| e.to_string())?;
        if args.json {
            rows.push(json!({
                "name": e.estimator(),
                "theta": e.theta().to_vec(),
                "se": e.se().to_vec(),
                "ci": ci.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            }));
        } else {
            text.push_str(&format!(
                "{}\n{}\n",
                e.estimator(),
                e.table(args.alpha).map_err(|e| e.to_string())?
            ));
        }
    }
    Ok(if args.json {
        json!({ "alpha": args.alpha, "estimators": rows }).to_string()
    } else {
        text
    })
}

fn to_json(fit: &GmmFit, args: &Args) -> serde_json::Value {
    let ci = fit.conf_int(args.alpha).expect("alpha validated");
    let rows = |a: ndarray::ArrayView2<f64>| a.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let j = fit.j_test();
    json!({
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
        "j_pvalue": j.p_value,
        "effective_sample_size": fit.effective_sample_size().to_vec(),
        "real_only_se": fit.real_only_se().to_vec(),
        "n_labeled": fit.n_labeled(),
        "t": fit.n_rows(),
        "sources": fit.source_names(),
        "converged": fit.converged(),
        "pseudo_inverse": fit.used_pseudo_inverse(),
    })
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
