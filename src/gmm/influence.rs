//! A fit's linear representation θ̂ − θ ≈ K ḡ and each row's influence K g_t / T (see
//! [`crate::influence`]).
//!
//! - Weighted estimators (two-step, iterated, continuously updated; the real-only fit):
//!   K = −[(ĜᵀWĜ)⁻¹ĜᵀW]_θ with Ĝ at θ̂ and W = Ω̂⁻¹ from step 1 (two-step) or at θ̂,
//!   so that Σ_t φ_tφ_tᵀ is the sandwich covariance (Ĝ, W, Ω̂ at θ̂).
//! - Selected cross weights: θ̂ = θ̂_real − ΛΔ̂ to first order, with
//!   θ̂_real − θ ≈ −J_r⁻¹ψ̄_r,lab and Δ̂ = J_all⁻¹ψ̄_all − J_lab⁻¹ψ̄_lab (see
//!   [`super::select`]), so K = [−J_r⁻¹ s, ΛJ_lab⁻¹ s, −ΛJ_all⁻¹] on the real, labeled
//!   sources' and all-rows blocks, s turning the stacked means into labeled-row means,
//!   at the step-1 estimate where the selection's moments are evaluated. The fit keeps
//!   this K (`select::influence_map`), so its influence costs one pass over the rows.

use ndarray::{s, Array1, Array2};

use super::{GmmFit, TwoStepGmm, Weighting};
use crate::data::DataSources;
use crate::error::Result;
use crate::influence::RowInfluence;
use crate::linalg::inverse;
use crate::moment::MomentModel;
use crate::stacked::StackedMoments;

impl<M: MomentModel> TwoStepGmm<M> {
    /// The influence of `fit` (this estimator's fit of `data`) on each row, or on each
    /// cluster with clustered rows: θ̂ − θ ≈ Σ_u φ_u (see [`RowInfluence`]). `None` where
    /// an engine sums the rows, or where the representation's matrices are singular.
    ///
    /// # Errors
    /// Those of stacking the data again on the sources the fit kept.
    pub fn influence(&self, data: &DataSources, fit: &GmmFit) -> Result<Option<RowInfluence>> {
        let kept: Vec<&str> = fit.source_names().iter().map(String::as_str).collect();
        let data = data.select_sources(&kept)?;
        // No pass for a map that no row will take.
        if crate::passes::engine_sums_rows(&data) {
            return Ok(None);
        }
        let stacked = self.stack(&data)?;
        let step1 = fit.step1_params().to_owned();
        let (at, map) = match &fit.influence_map {
            // Kept by the fit: no pass beyond the rows' own.
            Some(map) => (step1.clone(), Some(map.clone())),
            None => {
                let params = fit.params().to_owned();
                let map = weighted_map(&stacked, &step1, &params, self.weighting);
                (params, map)
            }
        };
        Ok(map
            .and_then(|map| stacked.mapped_rows(at.view(), map.view()))
            .map(|rows| RowInfluence::new(rows, data.clusters())))
    }
}

/// −[(ĜᵀWĜ)⁻¹ĜᵀW]_θ at `params`, W = Ω̂⁻¹ at step 1 for the two-step estimator and at
/// `params` otherwise.
fn weighted_map<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    params: &Array1<f64>,
    weighting: Weighting,
) -> Option<Array2<f64>> {
    let omega = match weighting {
        Weighting::TwoStep => stacked.omega(step1.view()),
        _ => stacked.omega(params.view()),
    };
    let weight = inverse(omega.view())?;
    let g = stacked.jacobian(params.view());
    let gw = g.t().dot(&weight);
    let bread = inverse(gw.dot(&g).view())?;
    let map = -bread.dot(&gw);
    Some(map.slice(s![..stacked.p(), ..]).to_owned())
}
