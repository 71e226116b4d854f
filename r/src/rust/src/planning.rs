//! Standard errors predicted from a pilot for other designs.

use extendr_api::prelude::*;
use std::result::Result;
use synthgmm::named::{self, ModelName};
use synthgmm::Error;

use crate::convert::{Frame, Request};
use crate::r_error;

/// Predicted standard errors of `estimator` with `labeled[k]` labels of `rows[k]` rows.
pub fn predicted(
    frame: &Frame,
    request: &Request,
    estimator: &str,
    labeled: &[f64],
    rows: &[f64],
) -> Result<Robj, Error> {
    let data = frame.build()?;
    let model = request
        .model
        .parse::<ModelName>()?
        .on(request.quantiles.as_deref(), &data)?;
    let plan = named::plan(&data, &model, request.settings()?)?;
    let which = named::planned(&plan, estimator)?;
    let p = plan.names().len();
    let mut se = Vec::with_capacity(labeled.len() * p);
    let mut effective = Vec::with_capacity(labeled.len() * p);
    for (&n, &t) in labeled.iter().zip(rows) {
        se.push(plan.se(which, n as usize, t as usize)?);
        effective.push(plan.effective_labels(which, n as usize, t as usize)?);
    }
    let grid = |values: Vec<ndarray::Array1<f64>>| -> Robj {
        RMatrix::new_matrix(values.len(), p, |r, c| values[r][c]).into()
    };
    let (n, t) = plan.pilot();
    let names = ["names", "se", "effective_labels", "pilot", "sources"];
    let values: [Robj; 5] = [
        plan.names().to_vec().into(),
        grid(se),
        grid(effective),
        vec![n as f64, t as f64].into(),
        plan.sources().to_vec().into(),
    ];
    Ok(List::from_names_and_values(names, values)
        .map_err(r_error)?
        .into())
}
