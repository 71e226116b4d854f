//! Covariance matrices of the two-step estimate: the textbook (ĜᵀWĜ)⁻¹/T and
//! Windmeijer's finite-sample correction.

use ndarray::{Array2, ArrayView1, Axis};

use crate::linalg::{least_squares, symmetrize};
use crate::moment::MomentModel;
use crate::optim::spd_inverse;
use crate::stacked::StackedMoments;
use crate::weight::Whitener;

/// (ĜᵀRᵀRĜ)⁻¹ / T at `params`; `None` when it is singular.
pub(super) fn inverse_information<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
    params: ArrayView1<'_, f64>,
    weight: &Whitener,
) -> Option<Array2<f64>> {
    let rg = weight.apply(stacked.jacobian(params).view());
    let inv = spd_inverse(&rg.t().dot(&rg))?;
    Some(inv / stacked.data().n_rows() as f64)
}

/// The sandwich (ĜᵀWĜ)⁻¹ ĜᵀWΩ̂_fWĜ (ĜᵀWĜ)⁻¹ / T with the weight W = RᵀR and Ω̂_f
/// at `params`; `None` when ĜᵀWĜ is singular.
pub(super) fn sandwich<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
    params: ArrayView1<'_, f64>,
    weight: &Whitener,
    omega: &Array2<f64>,
) -> Option<Array2<f64>> {
    let rg = weight.apply(stacked.jacobian(params).view());
    let bread = spd_inverse(&rg.t().dot(&rg))?;
    // ĜᵀW Ω̂_f WĜ = (RĜ)ᵀ (R Ω̂_f Rᵀ) (RĜ).
    let r_omega_rt = weight.apply(weight.apply(omega.view()).t());
    let meat = rg.t().dot(&r_omega_rt).dot(&rg);
    let t = stacked.data().n_rows() as f64;
    Some(crate::linalg::sandwich(&bread, &meat) / t)
}

/// Whether `cov` can be reported: finite, with positive variances.
pub(super) fn is_valid(cov: &Array2<f64>) -> bool {
    cov.iter().all(|v| v.is_finite()) && cov.diag().iter().all(|&v| v > 0.0)
}

/// The step-1 weight: the moments step 1 solves (indices into the stacked moments)
/// and the whitener R₁ of its weight W₁ = R₁ᵀR₁ over them.
pub(super) struct StepOneWeight<'a> {
    pub moments: &'a [usize],
    pub whitener: &'a Array2<f64>,
}

/// The sandwich covariance of the step-1 estimate, H Ω̂₁[s, s] Hᵀ / T, where s are the
/// moments step 1 solves, A = R₁Ĝ₁[s, :] and H = A⁺R₁ (A⁻¹R₁ when step 1 is just
/// identified, then computed free of units).
fn step_one_covariance<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
    step1: ArrayView1<'_, f64>,
    omega1: &Array2<f64>,
    weight: &StepOneWeight<'_>,
) -> Option<Array2<f64>> {
    let selected = weight.moments;
    let g1 = weight
        .whitener
        .dot(&stacked.jacobian(step1).select(Axis(0), selected));
    let square = g1.nrows() == g1.ncols();
    let h = least_squares(g1.view(), weight.whitener.view(), square)?; // Q × |s|
    let omega_s = omega1.select(Axis(0), selected).select(Axis(1), selected);
    let t = stacked.data().n_rows() as f64;
    Some(h.dot(&omega_s).dot(&h.t()) / t)
}

/// Windmeijer's corrected covariance (see [`Covariance::Windmeijer`](super::Covariance)).
pub(super) fn windmeijer<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
    step1: ArrayView1<'_, f64>,
    omega1: &Array2<f64>,
    step_one: &StepOneWeight<'_>,
    step2: ArrayView1<'_, f64>,
    weight: &Whitener,
) -> Option<Array2<f64>> {
    let t = stacked.data().n_rows() as f64;
    let q = stacked.n_params();
    // V₂ = (GᵀW₂G)⁻¹ / T at the final estimate.
    let g2 = stacked.jacobian(step2);
    let rg = weight.apply(g2.view());
    let a_inv = spd_inverse(&rg.t().dot(&rg))?;
    let v2 = &a_inv / t;
    let v1 = step_one_covariance(stacked, step1, omega1, step_one)?;
    // D = ∂β̂₂/∂β̂₁ᵀ.
    let wg = weight.weigh(g2.view()); // W₂G
    let gbar = stacked.mean_moments(step2);
    let wgbar = weight
        .weigh(gbar.view().insert_axis(Axis(1)).view())
        .remove_axis(Axis(1));
    // Column j: A⁻¹ (W₂Ĝ)ᵀ (∂Ω̂/∂β_j) W₂ḡ, with all (∂Ω̂/∂β_j) W₂ḡ from one pass at β̂₁.
    let d_omega_v = stacked.omega_derivatives_times(step1, wgbar.view());
    let d = a_inv.dot(&wg.t().dot(&d_omega_v));
    debug_assert_eq!(d.dim(), (q, q));
    let dv2 = d.dot(&v2);
    let corrected = &v2 + &dv2 + dv2.t() + d.dot(&v1).dot(&d.t());
    Some(symmetrize(corrected))
}
