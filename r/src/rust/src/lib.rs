//! The compiled core of the R package `synthgmm`: R vectors in, the library's fits out.
//!
//! Nothing here estimates: the R layer builds the design matrices (R's own
//! `model.matrix`), this layer turns them into [`DataSources`], runs the estimators named
//! through [`synthgmm::named`] (the same names and estimators as Python's and the command
//! line's), and returns plain R lists. A library error comes back as
//! `list(error = list(class =, message =))`, which the R layer raises as a condition of
//! that class.

mod convert;
mod outcomes;
mod planning;

use extendr_api::prelude::*;
use std::result::Result;
use synthgmm::named::{self, EstimatorSpec, ModelName, Outcome, Settings};
use synthgmm::{BootstrapFit, DataSources, Error};

use convert::{error_list, estimate_list, Frame, Request};

/// Fits every estimator named in `settings$estimators` on the data of `frame`.
///
/// `frame`: `list(labeled, y, x, ncol, names, sources, weights, clusters,
/// probabilities)`, each source `list(name, y, x)`; `settings`: `list(model, quantiles,
/// estimators, covariance, cross_weights, weighting, step_one, small_sample, level,
/// bootstrap, seed, bootstrap_interval)`.
/// @export
#[extendr]
fn fit_estimators(frame: List, settings: List) -> Robj {
    let result = Frame::read(&frame)
        .and_then(|frame| Request::read(&settings).map(|request| (frame, request)))
        .and_then(|(frame, request)| fit_all(&frame, &request));
    result.unwrap_or_else(|err| error_list(&err))
}

/// Every estimator's list, and the side-by-side table.
fn fit_all(frame: &Frame, request: &Request) -> Result<Robj, Error> {
    let data = frame.build()?;
    let model = request.model.parse::<ModelName>()?;
    let model = model.on(request.quantiles.as_deref(), &data)?;
    let settings = request.settings()?;
    let specs = request
        .estimators
        .iter()
        .map(|e| EstimatorSpec::parse(e))
        .collect::<Result<Vec<_>, Error>>()?;
    let fits = named::run_all(&data, &model, &specs, settings, false);
    let mut lists = Vec::with_capacity(fits.len());
    let mut estimates = Vec::new();
    let mut j_tests = Vec::new();
    let mut real_only = None;
    for (spec, (name, fit)) in specs.iter().zip(&fits) {
        let item = match fit {
            Ok(outcome) => {
                if spec.kind == named::EstimatorKind::RealOnly {
                    real_only.get_or_insert(estimates.len());
                }
                estimates.push(outcome.estimate());
                j_tests.push(match outcome {
                    Outcome::Gmm { fit, .. } => Some(fit.j_test()),
                    Outcome::Baseline(_) => None,
                });
                // A bootstrap that fails is this estimator's error, not the call's.
                match bootstrapped(&data, &model, spec, settings, request) {
                    Ok(boot) => fit_list(name, outcome, boot.as_ref(), request.level)?,
                    Err(err) => error_list(&err),
                }
            }
            Err(err) => error_list(err),
        };
        lists.push(item);
    }
    // Effective labels against the real-only fit, when it ran.
    let table = synthgmm::SideBySide::new(estimates)
        .relative_to(real_only.unwrap_or(usize::MAX))
        .j_tests(j_tests)
        .to_string();
    let names: Vec<String> = fits.iter().map(|(name, _)| name.clone()).collect();
    let fits = List::from_names_and_values(names, lists).map_err(r_error)?;
    Ok(List::from_names_and_values(
        ["fits", "side_by_side"],
        [Robj::from(fits), Robj::from(table)],
    )
    .map_err(r_error)?
    .into())
}

/// The bootstrap of one estimator, when asked for.
pub(crate) fn bootstrapped(
    data: &DataSources,
    model: &named::BuiltinModel,
    spec: &EstimatorSpec,
    settings: Settings,
    request: &Request,
) -> Result<Option<BootstrapFit>, Error> {
    let Some(replicates) = request.bootstrap else {
        return Ok(None);
    };
    let interval = request.bootstrap_interval.parse()?;
    let boot = synthgmm::Bootstrap::new(replicates)
        .seed(request.seed)
        .interval(interval);
    named::bootstrap(data, model, spec, settings, boot).map(Some)
}

/// One fit as an R list: the estimate's, plus the GMM's J test, effective n and
/// summary, plus the bootstrap's.
pub(crate) fn fit_list(
    name: &str,
    outcome: &Outcome,
    boot: Option<&BootstrapFit>,
    level: f64,
) -> Result<Robj, Error> {
    let alpha = 1.0 - level;
    let estimate = outcome.estimate();
    let mut pairs = estimate_list(estimate, alpha)?;
    pairs.push(("estimator", name.into()));
    let (summary, j, effective_n, covariance) = match outcome {
        Outcome::Gmm { fit, .. } => {
            let j = fit.j_test();
            let j = vec![j.statistic, j.df as f64, j.p_value.unwrap_or(f64::NAN)];
            (
                fit.summary(alpha)?.to_string(),
                Robj::from(j),
                Robj::from(fit.effective_sample_size().to_vec()),
                Robj::from(named::covariance_label(fit)),
            )
        }
        Outcome::Baseline(e) => (
            baseline_summary(name, e, alpha)?,
            ().into(),
            ().into(),
            ().into(),
        ),
    };
    pairs.push(("summary", summary.into()));
    pairs.push(("j_test", j));
    pairs.push(("effective_n", effective_n));
    pairs.push(("covariance", covariance));
    pairs.push(("bootstrap", convert::bootstrap_list(boot, alpha)?));
    let (names, values): (Vec<&str>, Vec<Robj>) = pairs.into_iter().unzip();
    Ok(List::from_names_and_values(names, values)
        .map_err(r_error)?
        .into())
}

/// A baseline's table and notes, as the Python and command-line summaries print them.
fn baseline_summary(name: &str, e: &synthgmm::Estimate, alpha: f64) -> Result<String, Error> {
    let mut text = format!("{name}\n{}", e.table(alpha)?);
    for note in e.notes() {
        text.push_str(&format!("Note: {note}.\n"));
    }
    Ok(text)
}

/// An extendr failure (building an R object) as the library's error.
pub(crate) fn r_error(err: extendr_api::Error) -> Error {
    Error::InvalidConfig {
        parameter: "R object",
        reason: err.to_string(),
    }
}

/// Predicted standard errors of `estimator` with `labeled[k]` labels of `rows[k]` rows,
/// from the pilot in `frame`: `list(names, se (one row per design), effective_labels,
/// pilot = c(n, T), sources)`.
/// @export
#[extendr]
fn plan_design(
    frame: List,
    settings: List,
    estimator: &str,
    labeled: &[f64],
    rows: &[f64],
) -> Robj {
    let result = Frame::read(&frame)
        .and_then(|frame| Request::read(&settings).map(|request| (frame, request)))
        .and_then(|(frame, request)| {
            planning::predicted(&frame, &request, estimator, labeled, rows)
        });
    result.unwrap_or_else(|err| error_list(&err))
}

/// One estimator on several outcomes' frames (the same rows), with inference across
/// all their coefficients: `list(fits, adjusted = list(holm, bonferroni, bh,
/// single_step), conf_low, conf_high, critical_value, from, table)`.
/// @export
#[extendr]
fn fit_outcomes(frames: List, names: Vec<String>, settings: List) -> Robj {
    let result = frames
        .values()
        .map(|frame| {
            frame
                .as_list()
                .ok_or_else(|| synthgmm::Error::InvalidConfig {
                    parameter: "outcomes",
                    reason: "each outcome's frame must be a list".into(),
                })
                .and_then(|frame| convert::Frame::read(&frame))
        })
        .collect::<Result<Vec<_>, Error>>()
        .and_then(|frames| Request::read(&settings).map(|request| (frames, request)))
        .and_then(|(frames, request)| outcomes::fit(&frames, names, &request));
    result.unwrap_or_else(|err| error_list(&err))
}

extendr_module! {
    mod synthgmm;
    fn fit_estimators;
    fn fit_outcomes;
    fn plan_design;
}
