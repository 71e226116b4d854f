//! `synthgmm fit`: the estimator, and on request the baselines, on a CSV or Parquet file.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};
use serde_json::json;
use synthgmm::models::{ConfidenceSet, LinearIv, Logistic, Mean, Ols, Poisson, WeakInstruments};
use synthgmm::{
    Adjustment, Bootstrap, BootstrapInterval, Covariance, CrossWeights, Error, Estimate, Estimator,
    GmmFit, JTest, MomentModel, SideBySide, SmallSample, StepOne, TwoStepGmm, Weighting,
};

use crate::choice::choice;
use crate::data::{unsupported, DataArgs, Loaded, ModelName};
use crate::Failure;
use synthgmm::named::{Choice, EstimatorKind};

/// Which estimators to run: one of the library's, by the names it gives them
/// ([`EstimatorKind`]), or every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstimatorName {
    /// Every estimator that can run on these sources, GMM last.
    All,
    /// One estimator.
    One(EstimatorKind),
}

impl EstimatorName {
    /// The GMM with every source (the default).
    pub const GMM: EstimatorName = EstimatorName::One(EstimatorKind::Gmm);

    /// A parser of `all` and the library's estimator names, with their help.
    fn parser() -> impl TypedValueParser<Value = EstimatorName> {
        let all = (
            "all",
            "every estimator that can run on these sources, GMM last",
        );
        let values = std::iter::once(all)
            .chain(EstimatorKind::CHOICES.iter().copied())
            .map(|(name, help)| PossibleValue::new(name).help(help));
        PossibleValuesParser::new(values).try_map(|name| match name.as_str() {
            "all" => Ok(EstimatorName::All),
            kind => kind.parse().map(EstimatorName::One),
        })
    }
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A statsmodels-like summary.
    Table,
    /// One JSON object.
    Json,
    /// A tidy CSV: one row per estimator and coefficient.
    Csv,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Estimators to run (comma-separated or repeated).
    #[arg(long, value_parser = EstimatorName::parser(), value_delimiter = ',', default_value = "gmm")]
    pub estimator: Vec<EstimatorName>,
    /// The GMM covariance.
    #[arg(long, value_parser = choice::<Covariance>(), default_value = "windmeijer")]
    pub covariance: Covariance,
    /// The GMM first step.
    #[arg(long, value_parser = choice::<StepOne>(), default_value = "per-block")]
    pub step_one: StepOne,
    /// The GMM cross weights.
    #[arg(long, value_parser = choice::<CrossWeights>(), default_value = "selected")]
    pub weights: CrossWeights,
    /// How the GMM weight matrix is estimated (iterated and CUE report the
    /// re-estimated covariance).
    #[arg(long, value_parser = choice::<Weighting>(), default_value = "two-step")]
    pub weighting: Weighting,
    /// The small-sample form of every estimator's covariance and quantiles.
    #[arg(long, value_parser = choice::<SmallSample>(), default_value = "hc2-bm")]
    pub small_sample: SmallSample,
    /// Level of the two-sided intervals is 1 − alpha.
    #[arg(long, default_value_t = 0.05, value_parser = parse_alpha)]
    pub alpha: f64,
    /// Adjust the p-values for testing every coefficient.
    #[arg(long, value_parser = choice::<Adjustment>())]
    pub adjust: Option<Adjustment>,
    /// Add simultaneous intervals (max-|t|), which cover every coefficient together
    /// with probability 1 − alpha.
    #[arg(long)]
    pub simultaneous: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Add the per-source diagnostics (C test, influence correlation, ESS gain) to the
    /// GMM output.
    #[arg(long)]
    pub diagnose: bool,
    /// Bootstrap the GMM with B replicates (labeled and unlabeled rows resampled
    /// separately, clusters as units; the whole estimator re-run on each).
    #[arg(long, value_name = "B")]
    pub bootstrap: Option<usize>,
    /// The bootstrap's interval.
    #[arg(long, value_parser = choice::<BootstrapInterval>(), default_value = "symmetric")]
    pub bootstrap_interval: BootstrapInterval,
    /// The bootstrap's seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Another outcome on the same rows, repeatable: NAME=Y for the real outcome
    /// column, then each source's prediction of it in the order of `--source`
    /// (NAME=Y,PROXY_Y,...). The GMM is fitted on each outcome as on its own, and
    /// p-values (`--adjust`, Holm by default) and simultaneous intervals run across
    /// every outcome's coefficients (max-|t| from the outcomes' joint covariance, from
    /// each fit's influence on the rows; with `--bootstrap`, over common resamples).
    #[arg(long = "outcome", value_name = "NAME=Y,SOURCE_Y,...", value_parser = parse_outcome)]
    pub outcomes: Vec<(String, Vec<String>)>,
    /// Also draw every estimator's (1 − alpha) interval per coefficient (a forest
    /// plot): FIGURE.svg and FIGURE.png.
    #[arg(long, value_name = "FIGURE")]
    pub figure: Option<std::path::PathBuf>,
}

/// `NAME=Y,SOURCE_Y,...` as the name and its columns.
pub fn parse_outcome(text: &str) -> Result<(String, Vec<String>), String> {
    let (name, columns) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: give NAME=Y,SOURCE_Y,..."))?;
    let columns: Vec<String> = columns.split(',').map(|c| c.trim().to_string()).collect();
    if name.trim().is_empty() || columns.iter().any(String::is_empty) {
        return Err(format!("`{text}`: an empty outcome name or column"));
    }
    Ok((name.trim().to_string(), columns))
}

fn parse_alpha(text: &str) -> Result<f64, String> {
    let alpha: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (synthgmm::MIN_ALPHA..1.0).contains(&alpha) {
        Ok(alpha)
    } else {
        Err(format!(
            "alpha must lie in [{:e}, 1), got {alpha}",
            synthgmm::MIN_ALPHA
        ))
    }
}

pub fn run(args: &FitArgs) -> Result<String, Failure> {
    if args.bootstrap.is_some() && args.estimator != [EstimatorName::GMM] {
        return Err(Failure::Data(
            "--bootstrap applies to the GMM alone (--estimator gmm)".into(),
        ));
    }
    // Parquet files are read out of core when every estimator asked for can: the
    // sources stay on disk (the bootstrap resamples rows in memory).
    let out_of_core = args.bootstrap.is_none()
        && args.estimator.iter().all(|name| match name {
            EstimatorName::One(kind) => kind.reads_out_of_core(),
            EstimatorName::All => false,
        });
    let loaded = match out_of_core.then(|| args.data.open_out_of_core()) {
        Some(Some(opened)) => opened?,
        _ => args.data.load()?,
    };
    match args.data.model {
        ModelName::Ols => report(Ols, &loaded, args),
        ModelName::Logistic => report(Logistic, &loaded, args),
        ModelName::Poisson => report(Poisson, &loaded, args),
        ModelName::Quantile => report(args.data.quantile_model(&loaded)?, &loaded, args),
        ModelName::Mean => report(Mean, &loaded, args),
        ModelName::Iv => {
            let model = args.data.iv_model()?;
            let out = report(model.clone(), &loaded, args)?;
            with_weak_instruments(out, &model, &loaded, args)
        }
        other => Err(unsupported(other, "not a model of `fit`")),
    }
}

/// The weak-instrument diagnostics of the labeled rows (first-stage F statistics,
/// partial R², the Anderson–Rubin set of one endogenous coefficient) added to the
/// output: lines under the tables, or a `weak_instruments` member of the JSON.
fn with_weak_instruments(
    out: String,
    model: &LinearIv,
    loaded: &Loaded,
    args: &FitArgs,
) -> Result<String, Failure> {
    let data = &loaded.data;
    // Diagnostics that do not apply (observation weights, no endogenous regressor)
    // leave the fit standing and say why.
    let report = model.weak_instruments(data, args.alpha);
    let names = data.covariate_names();
    match (args.format, report) {
        (OutputFormat::Json, report) => {
            let mut json: serde_json::Value =
                serde_json::from_str(&out).map_err(|e| Failure::Data(e.to_string()))?;
            json["weak_instruments"] = match report {
                Ok(report) => weak_instruments_json(&report, names),
                Err(e) => json!({ "not_computed": e.to_string() }),
            };
            Ok(format!("{json}\n"))
        }
        (OutputFormat::Csv, _) => Ok(out),
        (OutputFormat::Table, Ok(report)) => Ok(out + &report.describe(names)),
        (OutputFormat::Table, Err(e)) => Ok(format!("{out}Weak instruments: not computed ({e})\n")),
    }
}

/// The `weak_instruments` member of the JSON output.
fn weak_instruments_json(report: &WeakInstruments, names: &[String]) -> serde_json::Value {
    let name = |c: usize| names.get(c).cloned().unwrap_or_else(|| format!("x{c}"));
    let rows: Vec<serde_json::Value> = report
        .first_stage
        .iter()
        .map(|s| {
            json!({
                "endogenous": name(s.column),
                "f": s.f.statistic, "f_df": [s.f.df_num, s.f.df_denom], "f_p_value": s.f.p_value,
                "robust_f": s.robust_f.statistic, "robust_f_p_value": s.robust_f.p_value,
                "partial_r2": s.partial_r2,
            })
        })
        .collect();
    let set = report.anderson_rubin_set.map(|s| match s {
        ConfidenceSet::Interval(lo, hi) => json!({"kind": "interval", "bounds": [lo, hi]}),
        ConfidenceSet::Outside(lo, hi) => json!({"kind": "outside", "bounds": [lo, hi]}),
        ConfidenceSet::Everything => json!({"kind": "everything", "bounds": null}),
        _ => json!({"kind": "empty", "bounds": null}),
    });
    json!({
        "first_stage": rows,
        "alpha": report.alpha,
        "anderson_rubin_set": set,
    })
}

/// The GMM estimator with the command line's settings.
pub(crate) fn gmm<M: MomentModel>(model: M, args: &FitArgs) -> TwoStepGmm<M> {
    TwoStepGmm::new(model)
        .covariance(args.covariance)
        .step_one(args.step_one)
        .cross_weights(args.weights)
        .weighting(args.weighting)
        .small_sample(args.small_sample)
}

fn report<M: MomentModel + Clone + Send + Sync + 'static>(
    model: M,
    loaded: &Loaded,
    args: &FitArgs,
) -> Result<String, Failure> {
    if args.estimator == [EstimatorName::GMM] {
        if let Some(stem) = &args.figure {
            forest(&run_estimators(model.clone(), loaded, args)?.0, args, stem)?;
        }
        return gmm_only(model, loaded, args);
    }
    let (results, j_test) = run_estimators(model, loaded, args)?;
    if let Some(stem) = &args.figure {
        forest(&results, args, stem)?;
    }
    if let Some((name, Err(err))) = results
        .last()
        .filter(|_| results.iter().all(|(_, r)| r.is_err()))
    {
        return Err(Failure::Estimation(format!(
            "no estimator could run; {name}: {}",
            loaded.failure(err).message()
        )));
    }
    let output = comparison(&results, j_test, loaded, args)?;
    match required_failure(&results, args) {
        Some((name, err)) => Err(Failure::Partial {
            output,
            reason: format!("{name} could not run: {}", loaded.failure(err).message()),
        }),
        None => Ok(output),
    }
}

/// The forest plot of the estimates that ran (see [`crate::plot::forest`]).
fn forest(results: &Results, args: &FitArgs, stem: &std::path::Path) -> Result<(), Failure> {
    let fitted: Vec<&Estimate> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .collect();
    let intervals: Vec<synthgmm::ndarray::Array2<f64>> = fitted
        .iter()
        .map(|e| e.conf_int(args.alpha))
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::Data(e.to_string()))?;
    let terms = SideBySide::new(fitted.iter().copied()).terms();
    let panels: Vec<(String, crate::plot::Intervals)> = terms
        .iter()
        .map(|term| {
            let rows = fitted.iter().zip(&intervals).filter_map(|(e, ci)| {
                let j = e.names().iter().position(|n| n == term)?;
                Some((
                    e.estimator().to_string(),
                    e.theta()[j],
                    ci[[j, 0]],
                    ci[[j, 1]],
                ))
            });
            (term.to_string(), rows.collect())
        })
        .collect();
    if let Some(parent) = stem.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::Data(format!("cannot write in `{}`: {e}", parent.display())))?;
    }
    let title = format!("{:.0}% intervals by estimator", 100.0 * (1.0 - args.alpha));
    crate::plot::forest(&panels, &title, stem)
        .map_err(|e| Failure::Data(format!("cannot draw the figure: {e}")))
}

/// The first failed estimator the user cannot do without: one named with
/// `--estimator`, or the GMM (the primary estimator) under `--estimator all`. Other
/// estimators of `all` that cannot run are only listed as not run.
fn required_failure<'r>(results: &'r Results, args: &FitArgs) -> Option<(&'r str, &'r Error)> {
    let all = args.estimator.contains(&EstimatorName::All);
    let named = args.estimator.len() - usize::from(all);
    results.iter().enumerate().find_map(|(i, (name, result))| {
        let primary = i + 1 == results.len() && name.starts_with("GMM");
        match result {
            Err(err) if named > 0 && !all || primary => Some((name.as_str(), err)),
            _ => None,
        }
    })
}

/// The GMM fit alone: the summary, JSON or CSV, with the diagnostics on request.
fn gmm_only<M: MomentModel + Clone + 'static>(
    model: M,
    loaded: &Loaded,
    args: &FitArgs,
) -> Result<String, Failure> {
    let data = &loaded.data;
    if let Some(replicates) = args.bootstrap {
        return bootstrapped(gmm(model, args), replicates, loaded, args);
    }
    let (fit, diagnostics) = if args.diagnose {
        let report = gmm(model, args)
            .diagnose(data)
            .map_err(|e| loaded.failure(&e))?;
        if args.format == OutputFormat::Table {
            return Ok(format!("{report}\n"));
        }
        let rows: Vec<serde_json::Value> = report
            .sources
            .iter()
            .map(|s| {
                json!({
                    "source": s.name,
                    "c_stat": s.c_test.statistic,
                    "c_df": s.c_test.df,
                    "c_pvalue": s.c_test.p_value,
                    "correlation": s.correlation.as_ref().map(|c| c.to_vec()),
                    "ess_gain": s.ess_contribution.to_vec(),
                })
            })
            .collect();
        (report.fit, Some(rows))
    } else {
        let fit = gmm(model, args).fit(data).map_err(|e| loaded.failure(&e))?;
        (fit, None)
    };
    match args.format {
        OutputFormat::Table => Ok(format!(
            "{}\n{}",
            fit.summary(args.alpha)
                .map_err(|e| Failure::Data(e.to_string()))?,
            multiplicity_text(fit.estimate(), args)?
        )),
        OutputFormat::Json => {
            let mut out = gmm_json(&fit, args)?;
            if let Some(rows) = diagnostics {
                out["diagnostics"] = rows.into();
            }
            add_multiplicity(&mut out, fit.estimate(), args)?;
            Ok(format!("{out}\n"))
        }
        OutputFormat::Csv => tidy_csv(&[fit.estimate()], args.alpha),
    }
}

/// The GMM with bootstrap intervals: the summary followed by the bootstrap table, or
/// the JSON object with a `bootstrap` member.
fn bootstrapped<M: MomentModel>(
    gmm: TwoStepGmm<M>,
    replicates: usize,
    loaded: &Loaded,
    args: &FitArgs,
) -> Result<String, Failure> {
    let fit = gmm.fit(&loaded.data).map_err(|e| loaded.failure(&e))?;
    let interval = args.bootstrap_interval;
    let boot = Bootstrap::new(replicates)
        .seed(args.seed)
        .interval(interval)
        .run_with_estimate(&gmm, &loaded.data, fit.estimate().clone())
        .map_err(|e| loaded.failure(&e))?;
    let ci = boot
        .conf_int(args.alpha)
        .map_err(|e| Failure::Data(e.to_string()))?;
    match args.format {
        OutputFormat::Json => {
            let mut out = gmm_json(&fit, args)?;
            out["bootstrap"] = json!({
                "replicates": replicates,
                "failed": boot.n_failed(),
                "seed": args.seed,
                "interval": interval.name(),
                "se": boot.se().to_vec(),
                "p_values": boot.p_values().to_vec(),
                "ci": ci.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "notes": boot.estimate().notes().iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            Ok(format!("{out}\n"))
        }
        _ => {
            let summary = fit
                .summary(args.alpha)
                .map_err(|e| Failure::Data(e.to_string()))?;
            let table = boot
                .table(args.alpha)
                .map_err(|e| Failure::Data(e.to_string()))?;
            Ok(format!("{summary}\n{table}"))
        }
    }
}

type Results = Vec<(String, Result<Estimate, Error>)>;

/// The estimators asked for that apply to the data's sources, each with its result,
/// and the GMM's J test (the GMM comes last).
fn run_estimators<M: MomentModel + Clone + Send + Sync + 'static>(
    model: M,
    loaded: &Loaded,
    args: &FitArgs,
) -> Result<(Results, Option<JTest>), Failure> {
    let data = &loaded.data;
    let names = data.source_names();
    let mut results: Results = baselines(&model, &names, args)?
        .iter()
        .map(|e| (e.name(), e.estimate(data)))
        .collect();
    let mut j_test = None;
    if args.estimator.contains(&EstimatorName::All) || args.estimator.contains(&EstimatorName::GMM)
    {
        let label = if names.is_empty() {
            "GMM".to_string()
        } else {
            format!("GMM ({})", names.join(" + "))
        };
        let fit = gmm(model, args).fit(data);
        j_test = fit.as_ref().ok().map(GmmFit::j_test);
        let estimate = fit.map(|f| f.estimate().clone().with_estimator(label.clone()));
        results.push((label, estimate));
    }
    Ok((results, j_test))
}

/// The baselines asked for, in the order of the side-by-side table: each on the first
/// source(s) it needs (PPI++Synth on the first two, naive pooling on all), built by the
/// library's table ([`synthgmm::named::baseline`]). Under `all` those the sources do not
/// allow are left out; named, they are an error.
fn baselines<M: MomentModel + Clone + Send + Sync + 'static>(
    model: &M,
    names: &[String],
    args: &FitArgs,
) -> Result<Vec<Box<dyn Estimator + Send + Sync>>, Failure> {
    let all = args.estimator.contains(&EstimatorName::All);
    let order = [
        EstimatorKind::RealOnly,
        EstimatorKind::Naive,
        EstimatorKind::Ppi,
        EstimatorKind::Dsl,
        EstimatorKind::RePpi,
        EstimatorKind::PpiSynth,
    ];
    let mut out = Vec::new();
    for kind in order {
        if !(all || args.estimator.contains(&EstimatorName::One(kind))) {
            continue;
        }
        let (needed, taken) = kind.sources_needed(names.len());
        if names.len() >= needed {
            let on: Vec<String> = names.iter().take(taken).cloned().collect();
            out.extend(synthgmm::named::baseline(
                model.clone(),
                kind,
                on,
                args.small_sample,
            ));
        } else if !all {
            return Err(Failure::Data(format!(
                "--estimator {} needs {needed} source(s), the data have {}",
                kind.choice_name(),
                names.len()
            )));
        }
    }
    Ok(out)
}

/// Several estimators side by side; those that could not run are listed with the
/// reason.
fn comparison(
    results: &Results,
    j_test: Option<JTest>,
    loaded: &Loaded,
    args: &FitArgs,
) -> Result<String, Failure> {
    let reason = |err: &Error| loaded.failure(err).message().to_string();
    match args.format {
        OutputFormat::Table => side_by_side(results, j_test, args, reason),
        OutputFormat::Json => {
            let mut rows = Vec::new();
            let mut skipped = Vec::new();
            for (name, result) in results {
                match result {
                    Ok(e) => {
                        let mut row = estimate_json(e, args.alpha)?;
                        add_multiplicity(&mut row, e, args)?;
                        rows.push(row);
                    }
                    Err(err) => skipped.push(json!({ "name": name, "error": reason(err) })),
                }
            }
            Ok(format!(
                "{}\n",
                json!({ "alpha": args.alpha, "estimators": rows, "not_run": skipped })
            ))
        }
        OutputFormat::Csv => {
            // The CSV holds coefficients only: what could not run is said on stderr.
            for (name, result) in results {
                if let Err(err) = result {
                    eprintln!("warning: {name} not run: {}", reason(err));
                }
            }
            let fitted: Vec<&Estimate> = results
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok())
                .collect();
            tidy_csv(&fitted, args.alpha)
        }
    }
}

/// The estimates that ran side by side (effective labels against real-only, when it
/// ran), then each one's adjusted p-values or simultaneous intervals when asked and its
/// notes, and what could not run with the reason.
fn side_by_side(
    results: &Results,
    j_test: Option<JTest>,
    args: &FitArgs,
    reason: impl Fn(&Error) -> String,
) -> Result<String, Failure> {
    let fitted: Vec<&Estimate> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .collect();
    let real_only = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .position(|(name, _)| name == "Real-only");
    // The GMM, when it ran, is the last column.
    let gmm_ran = results
        .last()
        .is_some_and(|(name, r)| name.starts_with("GMM") && r.is_ok());
    let mut j_tests = vec![None; fitted.len()];
    if let (true, Some(last)) = (gmm_ran, j_tests.last_mut()) {
        *last = j_test;
    }
    let table = SideBySide::new(fitted.iter().copied())
        .relative_to(real_only.unwrap_or(usize::MAX))
        .j_tests(j_tests);
    let mut text = format!("{table}\n");
    for e in &fitted {
        let extra = multiplicity_text(e, args)?;
        let notes: String = e
            .notes()
            .iter()
            .map(|n| format!("  Note: {n}.\n"))
            .collect();
        if !extra.is_empty() || !notes.is_empty() {
            text.push_str(&format!("{}\n{extra}{notes}", e.estimator()));
        }
    }
    for (name, result) in results {
        if let Err(err) = result {
            text.push_str(&format!("{name}: not run: {}\n", reason(err)));
        }
    }
    Ok(text)
}

/// The adjusted p-values and simultaneous intervals asked for, as lines under an
/// estimate's table (empty when neither was asked for).
fn multiplicity_text(e: &Estimate, args: &FitArgs) -> Result<String, Failure> {
    let fail = |err: Error| Failure::Data(err.to_string());
    let mut text = String::new();
    if let Some(adjust) = args.adjust {
        let method = adjust;
        let p = e.adjusted_p_values(method).map_err(fail)?;
        let each: Vec<String> = e
            .names()
            .iter()
            .zip(&p)
            .map(|(name, p)| format!("{name} {}", synthgmm::format_p_value(*p)))
            .collect();
        text.push_str(&format!(
            "Adjusted p-values ({}): {}\n",
            method.name(),
            each.join(", ")
        ));
    }
    if args.simultaneous {
        let c = e.simultaneous_critical_value(args.alpha).map_err(fail)?;
        let ci = e.simultaneous_conf_int(args.alpha).map_err(fail)?;
        let level = 100.0 * (1.0 - args.alpha);
        let each: Vec<String> = e
            .names()
            .iter()
            .zip(ci.outer_iter())
            .map(|(name, r)| format!("{name} [{:.4}, {:.4}]", r[0], r[1]))
            .collect();
        text.push_str(&format!(
            "Simultaneous {level}% intervals (max-|t|, critical value {c:.3}): {}\n",
            each.join(", ")
        ));
    }
    Ok(text)
}

/// Adds `adjusted_p_values` and `simultaneous` members to an estimate's JSON object
/// when asked for.
fn add_multiplicity(
    out: &mut serde_json::Value,
    e: &Estimate,
    args: &FitArgs,
) -> Result<(), Failure> {
    let fail = |err: Error| Failure::Data(err.to_string());
    if let Some(adjust) = args.adjust {
        let method = adjust;
        out["adjusted_p_values"] = json!({
            "method": method.name(),
            "p_values": e.adjusted_p_values(method).map_err(fail)?.to_vec(),
        });
    }
    if args.simultaneous {
        let ci = e.simultaneous_conf_int(args.alpha).map_err(fail)?;
        out["simultaneous"] = json!({
            "critical_value": e.simultaneous_critical_value(args.alpha).map_err(fail)?,
            "ci": ci.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        });
    }
    Ok(())
}

fn estimate_json(e: &Estimate, alpha: f64) -> Result<serde_json::Value, Failure> {
    let ci = e
        .conf_int(alpha)
        .map_err(|e| Failure::Data(e.to_string()))?;
    Ok(json!({
        "name": e.estimator(),
        "names": e.names(),
        "theta": e.theta().to_vec(),
        "se": e.se().to_vec(),
        "p_values": e.p_values().to_vec(),
        "t_df": e.t_df(),
        "coefficient_df": e.coefficient_df().map(|d| d.to_vec()),
        "ci": ci.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        "interval_scale": scale_names(e),
        "n_labeled": e.n_labeled(),
        "t": e.n_rows(),
        "notes": e.notes().iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
}

/// The scale of each coefficient's interval: `identity`, or `logit` for a proportion.
fn scale_names(e: &Estimate) -> Vec<&'static str> {
    e.interval_scales().iter().map(|s| s.name()).collect()
}

/// A number as the shortest text that reads back to it: plain decimals, or scientific
/// notation for very small or very large magnitudes (p-values of 1e-49 stay short).
fn number(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// One row per estimator and coefficient: estimator, term, estimate, std_error,
/// statistic (z or t), df (the t quantiles' degrees of freedom, empty for normal ones),
/// p_value, ci_lower, ci_upper.
fn tidy_csv(estimates: &[&Estimate], alpha: f64) -> Result<String, Failure> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write_error = |e: csv::Error| Failure::Data(format!("cannot write the CSV: {e}"));
    writer
        .write_record([
            "estimator",
            "term",
            "estimate",
            "std_error",
            "statistic",
            "df",
            "p_value",
            "ci_lower",
            "ci_upper",
        ])
        .map_err(write_error)?;
    for e in estimates {
        let ci = e
            .conf_int(alpha)
            .map_err(|e| Failure::Data(e.to_string()))?;
        let (se, z, p) = (e.se(), e.z(), e.p_values());
        for (j, name) in e.names().iter().enumerate() {
            writer
                .write_record([
                    e.estimator().to_string(),
                    name.clone(),
                    number(e.theta()[j]),
                    number(se[j]),
                    number(z[j]),
                    e.df_of(j).map(number).unwrap_or_default(),
                    number(p[j]),
                    number(ci[[j, 0]]),
                    number(ci[[j, 1]]),
                ])
                .map_err(write_error)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Failure::Data(format!("cannot write the CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Failure::Data(e.to_string()))
}

/// The GMM fit as JSON: the estimate, its inference, the J test and the fit's details.
fn gmm_json(fit: &GmmFit, args: &FitArgs) -> Result<serde_json::Value, Failure> {
    let ci = fit
        .conf_int(args.alpha)
        .map_err(|e| Failure::Data(e.to_string()))?;
    let rows = |a: ndarray::ArrayView2<f64>| a.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let j = fit.j_test();
    let mut out = json!({
        "model": args.data.model.choice_name(),
        "names": fit.estimate().names(),
        "theta": fit.theta().to_vec(),
        "se": fit.se().to_vec(),
        "z": fit.z().to_vec(),
        "p_values": fit.p_values().to_vec(),
        "t_df": fit.estimate().t_df(),
        "coefficient_df": fit.estimate().coefficient_df().map(|d| d.to_vec()),
        "alpha": args.alpha,
        "ci": rows(ci.view()),
        "interval_scale": scale_names(fit.estimate()),
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
        "covariance": fit.final_estimator().describe(),
        "notes": fit.notes().iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    // χ²(0) has no p-value: the key is left out rather than written as null.
    if let Some(p) = j.p_value {
        out["j_pvalue"] = json!(p);
    }
    if let Some(choices) = fit.cross_choices() {
        out["cross_weights"] = json!(choices.iter().map(|c| c.name()).collect::<Vec<_>>());
    }
    Ok(out)
}
