//! `fit --outcome`: several outcomes on the same rows, with p-values and simultaneous
//! intervals across all their coefficients (`synthgmm::OutcomeFits`).

use synthgmm::models::{Logistic, Ols, Poisson};
use synthgmm::{Adjustment, Bootstrap, Estimator, MomentModel, OutcomeFits, TwoStepGmm};

use crate::data::{DataArgs, Loaded, ModelName};
use crate::fit::{EstimatorName, FitArgs, OutputFormat};
use crate::Failure;

/// The fit of every outcome (the `--real` one first, named after its column) and the
/// inference across them.
pub fn run(args: &FitArgs) -> Result<String, Failure> {
    if args.estimator != [EstimatorName::GMM] {
        return Err(Failure::Data(
            "--outcome applies to the GMM alone (--estimator gmm)".into(),
        ));
    }
    let loaded = outcome_data(args)?;
    match args.data.model {
        ModelName::Ols => report(Ols, &loaded, args),
        ModelName::Logistic => report(Logistic, &loaded, args),
        ModelName::Poisson => report(Poisson, &loaded, args),
        _ => Err(Failure::Data(
            "--outcome applies to --model ols, logistic or poisson".into(),
        )),
    }
}

/// Each outcome's data set: the `--real` and `--source` specifications with the
/// outcome's columns in place of theirs. Parquet input is opened out of core once for
/// every outcome (unless bootstrapped), and their fits share each pass over the files.
fn outcome_data(args: &FitArgs) -> Result<Vec<(String, Loaded)>, Failure> {
    for (name, columns) in &args.outcomes {
        if columns.len() != 1 + args.data.sources.len() {
            return Err(Failure::Data(format!(
                "--outcome {name}: {} columns for the real outcome and {} sources",
                columns.len(),
                args.data.sources.len()
            )));
        }
    }
    let names = std::iter::once(args.data.real.outcome.clone())
        .chain(args.outcomes.iter().map(|(name, _)| name.clone()));
    let others: Vec<Vec<String>> = args.outcomes.iter().map(|(_, c)| c.clone()).collect();
    // The bootstrap resamples rows in memory.
    let out_of_core = args.bootstrap.is_none();
    if let Some(opened) = out_of_core
        .then(|| args.data.open_outcomes_out_of_core(&others))
        .flatten()
    {
        return Ok(names.zip(opened?).collect());
    }
    let mut out = vec![(args.data.real.outcome.clone(), args.data.load()?)];
    for (name, columns) in &args.outcomes {
        let mut data: DataArgs = args.data.clone();
        data.real.outcome = columns[0].clone();
        for ((_, spec), column) in data.sources.iter_mut().zip(&columns[1..]) {
            spec.outcome = column.clone();
        }
        let loaded = data
            .load()
            .map_err(|f| f.about(&format!("outcome `{name}`")))?;
        out.push((name.clone(), loaded));
    }
    Ok(out)
}

/// Every outcome's fit, as `OutcomeFits::fit` runs them (side by side, sharing the
/// passes over Parquet files opened together; with the bootstrap when asked for, on
/// the same resamples), a failure naming its outcome.
fn fit_each<M: MomentModel>(
    gmm: &TwoStepGmm<M>,
    loaded: &[(String, Loaded)],
    args: &FitArgs,
) -> Result<OutcomeFits, Failure> {
    let pairs: Vec<(&str, &synthgmm::DataSources)> =
        loaded.iter().map(|(n, l)| (n.as_str(), &l.data)).collect();
    let first = &loaded[0].1;
    OutcomeFits::check_rows(&pairs).map_err(|e| first.failure(&e))?;
    let names: Vec<String> = loaded.iter().map(|(n, _)| n.clone()).collect();
    let data: Vec<&synthgmm::DataSources> = loaded.iter().map(|(_, l)| &l.data).collect();
    let failed = |k: usize, e: synthgmm::Error| {
        let (name, l) = &loaded[k];
        l.failure(&e).about(&format!("outcome `{name}`"))
    };
    let joint = match args.bootstrap {
        None => {
            let fits = OutcomeFits::fit_each(&data, |k, d| {
                gmm.estimate_with_influence(d).map_err(|e| failed(k, e))
            });
            OutcomeFits::from_influences(names, fits.into_iter().collect::<Result<_, _>>()?)
        }
        Some(b) => {
            let boot = Bootstrap::new(b).seed(args.seed);
            let fits =
                OutcomeFits::fit_each(&data, |k, d| boot.run(gmm, d).map_err(|e| failed(k, e)));
            OutcomeFits::from_bootstraps(names, fits.into_iter().collect::<Result<_, _>>()?)
        }
    };
    joint.map_err(|e| first.failure(&e))
}

fn report<M: MomentModel + Clone + 'static>(
    model: M,
    loaded: &[(String, Loaded)],
    args: &FitArgs,
) -> Result<String, Failure> {
    let fits = fit_each(&crate::fit::gmm(model, args), loaded, args)?;
    let method = args.adjust.unwrap_or(Adjustment::Holm);
    let adjusted = fits
        .adjusted_p_values(method)
        .map_err(|e| loaded[0].1.failure(&e))?;
    let joint = fits
        .simultaneous_conf_int(args.alpha)
        .map_err(|e| loaded[0].1.failure(&e))?;
    match args.format {
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = fits
                .names()
                .iter()
                .zip(fits.estimates())
                .enumerate()
                .map(|(k, (name, e))| {
                    serde_json::json!({
                        "outcome": name,
                        "names": e.names(),
                        "theta": e.theta().to_vec(),
                        "se": e.se().to_vec(),
                        "p_values": e.p_values().to_vec(),
                        "adjusted_p_values": adjusted[k].to_vec(),
                        "simultaneous_ci": joint[k].outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let json = serde_json::json!({"adjustment": method.name(), "alpha": args.alpha, "simultaneous_from": fits.simultaneous_from(), "simultaneous_note": fits.joint_note(), "outcomes": list});
            Ok(format!("{json}\n"))
        }
        _ => Ok(format!("{fits}")),
    }
}
