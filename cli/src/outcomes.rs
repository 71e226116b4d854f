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
/// outcome's columns in place of theirs.
fn outcome_data(args: &FitArgs) -> Result<Vec<(String, Loaded)>, Failure> {
    let mut out = vec![(args.data.real.outcome.clone(), args.data.load()?)];
    for (name, columns) in &args.outcomes {
        if columns.len() != 1 + args.data.sources.len() {
            return Err(Failure::Data(format!(
                "--outcome {name}: {} columns for the real outcome and {} sources",
                columns.len(),
                args.data.sources.len()
            )));
        }
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

/// Every outcome's fit, as `OutcomeFits::fit` runs them (with the bootstrap when asked
/// for, on the same resamples), a failure naming its outcome.
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
    let failed = |name: &str, l: &Loaded, e: &synthgmm::Error| {
        l.failure(e).about(&format!("outcome `{name}`"))
    };
    let joint = match args.bootstrap {
        None => {
            let fits = loaded
                .iter()
                .map(|(name, l)| {
                    gmm.estimate_with_influence(&l.data)
                        .map_err(|e| failed(name, l, &e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            OutcomeFits::from_influences(names, fits)
        }
        Some(b) => {
            let boot = Bootstrap::new(b).seed(args.seed);
            let fits = loaded
                .iter()
                .map(|(name, l)| boot.run(gmm, &l.data).map_err(|e| failed(name, l, &e)))
                .collect::<Result<Vec<_>, _>>()?;
            OutcomeFits::from_bootstraps(names, fits)
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
