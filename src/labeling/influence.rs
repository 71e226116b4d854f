//! Each row's labeled-minus-source influence value
//! e_t = −J_r⁻¹ ψ(θ̂; x_t, y_t) − B ψ̃_t (see [`RowInfluence`]): what labeling row t adds
//! to the estimate beyond what its sources already say. The sources' part is known on
//! every row; the real part needs y_t, so on unlabeled rows it is evaluated at each
//! node of the outcome forecast.

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::forecast::Forecast;
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::gmm::RowInfluence;
use crate::rows::Rows;
use crate::MomentModel;

/// Influence values of every row.
#[derive(Debug, Clone)]
pub(super) struct RowValues {
    /// At each forecast node: e_t (T × p) and the node's weight per row.
    pub nodes: Vec<(Array2<f64>, Array1<f64>)>,
    /// The realized e_t on the pilot's labeled rows (n × p), in their order.
    pub pilot: Array2<f64>,
}

/// Every row's influence values, from the pilot's maps, the real covariates of every
/// row and the forecast of their outcomes.
///
/// # Errors
/// [`Error::InvalidConfig`] when the model reads columns besides the covariates and
/// the outcome, or a kept source is missing from `pilot`.
pub(super) fn row_values<M: MomentModel>(
    model: &M,
    maps: &RowInfluence,
    pilot: &DataSources,
    real_x: ArrayView2<'_, f64>,
    forecast: &Forecast,
) -> Result<RowValues> {
    if !model.required_columns().is_empty() {
        return Err(Error::InvalidConfig {
            parameter: "model",
            reason: format!(
                "labeling designs take models of covariates and an outcome; `{}` also reads {:?}",
                model.name(),
                model.required_columns()
            ),
        });
    }
    let explained_all = source_part(model, maps, pilot, false)?;
    let nodes = forecast
        .nodes
        .iter()
        .map(|(y, weight)| {
            let rows = Rows::new(real_x, y.view())?;
            let real = real_part(model, maps, rows);
            Ok((real - &explained_all, weight.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    let pilot_values =
        real_part(model, maps, pilot.real_rows()) - source_part(model, maps, pilot, true)?;
    Ok(RowValues {
        nodes,
        pilot: pilot_values,
    })
}

/// −J_r⁻¹ ψ(θ̂; row) for every row of `rows` (rows × p).
fn real_part<M: MomentModel>(model: &M, maps: &RowInfluence, rows: Rows<'_>) -> Array2<f64> {
    let p = maps.theta.len();
    let mut psi = Array2::zeros((rows.len(), p));
    model.moments(maps.theta.view(), rows, psi.view_mut());
    psi.dot(&maps.to_real.t())
}

/// B ψ̃_t for every row (or only the labeled ones): the sources' stacked moments at η̂.
fn source_part<M: MomentModel>(
    model: &M,
    maps: &RowInfluence,
    data: &DataSources,
    labeled_only: bool,
) -> Result<Array2<f64>> {
    let p = maps.theta.len();
    let n = if labeled_only {
        data.n_labeled()
    } else {
        data.n_rows()
    };
    let mut psi = Array2::zeros((n, p * maps.sources.len()));
    for (m, (name, eta)) in maps.sources.iter().enumerate() {
        let source = data.source(name).ok_or_else(|| Error::InvalidConfig {
            parameter: "pilot",
            reason: format!("the pilot has no source `{name}`"),
        })?;
        let rows = if labeled_only {
            source.labeled()
        } else {
            source.rows()
        };
        model.moments(eta.view(), rows, psi.slice_mut(s![.., m * p..(m + 1) * p]));
    }
    Ok(psi.dot(&maps.explained.t()))
}

impl RowValues {
    /// E[(L e_t)ᵀ(L e_t)] for every row, with L = `target` (r × p) and each coefficient's
    /// values first scaled by `scale`.
    pub(super) fn expected_square(
        &self,
        target: ArrayView2<'_, f64>,
        scale: ArrayView1<'_, f64>,
    ) -> Array1<f64> {
        let map = scaled(target, scale);
        let mut total = Array1::zeros(self.nodes[0].0.nrows());
        for (values, weight) in &self.nodes {
            let mapped = values.dot(&map.t());
            let squares = mapped.mapv(|v| v * v).sum_axis(Axis(1));
            total += &(&squares * weight);
        }
        total
    }

    /// E[e_{t,j}²] for every row and coefficient (T × p).
    pub(super) fn coefficient_squares(&self) -> Array2<f64> {
        let (t, p) = self.nodes[0].0.dim();
        let mut total = Array2::zeros((t, p));
        for (values, weight) in &self.nodes {
            total += &(&values.mapv(|v| v * v) * &weight.view().insert_axis(Axis(1)));
        }
        total
    }

    /// (L e_t)ᵀ(L e_t) on the pilot's rows, scaled as in
    /// [`expected_square`](Self::expected_square).
    pub(super) fn pilot_square(
        &self,
        target: ArrayView2<'_, f64>,
        scale: ArrayView1<'_, f64>,
    ) -> Array1<f64> {
        let map = scaled(target, scale);
        self.pilot.dot(&map.t()).mapv(|v| v * v).sum_axis(Axis(1))
    }
}

/// L with each coefficient's column scaled.
fn scaled(target: ArrayView2<'_, f64>, scale: ArrayView1<'_, f64>) -> Array2<f64> {
    &target.to_owned() * &scale.insert_axis(Axis(0))
}
