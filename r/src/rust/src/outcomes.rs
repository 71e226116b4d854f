//! Several outcomes on the same rows: each outcome's fit as `fit_estimators` returns it,
//! and the library's inference across all their coefficients
//! ([`synthgmm::OutcomeFits`]).

use extendr_api::prelude::*;
use std::result::Result;
use synthgmm::named::{self, EstimatorSpec, ModelName};
use synthgmm::{Adjustment, BootstrapFit, DataSources, Error, Estimate, OutcomeFits, RowInfluence};

use crate::convert::{Frame, Request};
use crate::{bootstrapped, fit_list, r_error};

/// Every outcome's fit of the first estimator in `request`, and the joint inference.
pub fn fit(frames: &[Frame], names: Vec<String>, request: &Request) -> Result<Robj, Error> {
    let data = frames
        .iter()
        .map(Frame::build)
        .collect::<Result<Vec<DataSources>, Error>>()?;
    let pairs: Vec<(&str, &DataSources)> = names.iter().map(String::as_str).zip(&data).collect();
    OutcomeFits::check_rows(&pairs)?;
    let spec = EstimatorSpec::parse(request.estimators.first().map_or("gmm", String::as_str))?;
    let settings = request.settings()?;
    let mut lists = Vec::with_capacity(data.len());
    let mut fitted: Vec<(Estimate, Option<BootstrapFit>, Option<RowInfluence>)> =
        Vec::with_capacity(data.len());
    for d in &data {
        let model = request
            .model
            .parse::<ModelName>()?
            .on(request.quantiles.as_deref(), d)?;
        let (label, outcome) =
            named::run_all(d, &model, std::slice::from_ref(&spec), settings, false)
                .pop()
                .ok_or_else(|| Error::InvalidConfig {
                    parameter: "estimator",
                    reason: "the estimator returned no fit".into(),
                })?;
        let outcome = outcome?;
        let boot = bootstrapped(d, &model, &spec, settings, request)?;
        // Without the bootstrap, the joint covariance from each fit's influence (an
        // estimator without one leaves the bound, as `from` then says).
        let influence = match boot {
            None => named::influence(d, &model, (&spec, settings), &outcome)
                .ok()
                .flatten(),
            Some(_) => None,
        };
        lists.push(fit_list(&label, &outcome, boot.as_ref(), request.level)?);
        fitted.push((outcome.estimate().clone(), boot, influence));
    }
    let joint = OutcomeFits::from_fits(names.clone(), fitted)?;
    let fits = List::from_names_and_values(&names, lists).map_err(r_error)?;
    joint_list(&joint, fits, 1.0 - request.level)
}

/// The joint inference as an R list, every vector over all outcomes' coefficients in
/// order.
fn joint_list(joint: &OutcomeFits, fits: List, alpha: f64) -> Result<Robj, Error> {
    let concatenated = |method: Adjustment| -> Result<Robj, Error> {
        let parts = joint.adjusted_p_values(method)?;
        Ok(Robj::from(
            parts.iter().flat_map(|p| p.to_vec()).collect::<Vec<f64>>(),
        ))
    };
    let adjusted = List::from_names_and_values(
        ["holm", "bonferroni", "bh", "single_step"],
        [
            concatenated(Adjustment::Holm)?,
            concatenated(Adjustment::Bonferroni)?,
            concatenated(Adjustment::BenjaminiHochberg)?,
            concatenated(Adjustment::SingleStep)?,
        ],
    )
    .map_err(r_error)?;
    let ci = joint.simultaneous_conf_int(alpha)?;
    let side = |k: usize| -> Vec<f64> { ci.iter().flat_map(|c| c.column(k).to_vec()).collect() };
    let values: [Robj; 7] = [
        fits.into(),
        adjusted.into(),
        side(0).into(),
        side(1).into(),
        joint.simultaneous_critical_value(alpha)?.into(),
        joint.simultaneous_from().into(),
        joint.to_string().into(),
    ];
    Ok(List::from_names_and_values(
        [
            "fits",
            "adjusted",
            "conf_low",
            "conf_high",
            "critical_value",
            "from",
            "table",
        ],
        values,
    )
    .map_err(r_error)?
    .into())
}
