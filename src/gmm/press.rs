//! Leave-one-out residual variances of the selected weights' control-variate
//! regressions.
//!
//! A candidate for coefficient j corrects θ̂_real,j by λᵀΔ̂ with λ fitted on the same n
//! labeled rows whose residuals e_t = φ_r,t,j − λᵀφ_I,t then measure its variance. The
//! in-sample mean of e_t² understates the error of a fitted regression, and by most
//! where a few rows carry much of the regressors' spread (high leverage): there the
//! fit bends towards those rows and their residuals shrink. The leave-one-out residual
//! e_t / (1 − h_t), with h_t = φ_I,tᵀ G⁻¹ φ_I,t and G the regression's Gram matrix,
//! is what row t's residual would be had it not been used to fit λ, so
//!
//!   s̃² = (1/n) Σ_t e_t² / (1 − h_t)²
//!
//! (Allen's PRESS) estimates the out-of-sample residual variance without assuming
//! anything about the rows' distribution. Under homoskedastic errors with light-tailed
//! regressors E s̃² ≈ σ²(1 + d/n), the regression estimator's inflation for d fitted
//! coefficients (Lavenberg and Welch 1981); on heteroskedastic designs with leverage it
//! grows with the leverage the in-sample fit hid. A row never chooses its own weight.

use std::collections::HashMap;

use ndarray::{s, Array1, Array2, ArrayView2, Zip};

use super::labeled::labeled_rows;
use super::SmallSample;
use crate::stacked::StackedMoments;
use crate::MomentModel;

/// Largest leverage used: 1/(1 − h) ≤ 10, as in the real block's HC2/HC3 scaling.
const MAX_LEVERAGE: f64 = 0.9;

/// One candidate correction of coefficient `j`: λ on the auxiliary coordinates
/// `indices`, and the inverse Gram matrices whose leverages the residuals are divided
/// by: (n Σ_lab,II)⁻¹ of the fit on coordinate j alone (the same for every coefficient
/// with these indices, so computed once per chunk), and for a shared coefficient the
/// pooled fit's, with which it was selected.
pub(super) struct Candidate<'a> {
    pub j: usize,
    pub indices: &'a [usize],
    pub coefficients: &'a Array1<f64>,
    pub own_inverse: &'a Array2<f64>,
    pub pooled_inverse: Option<&'a Array2<f64>>,
}

/// The labeled rows' influence functions and where they come from.
pub(super) struct Rows<'a, M: MomentModel + ?Sized> {
    pub stacked: &'a StackedMoments<'a, M>,
    /// (θ, η) at which the moments are evaluated.
    pub center: &'a Array1<f64>,
    /// Σ_lab ∂ψ_r/∂θᵀ at the centre (the real block's leverage).
    pub j_sum: &'a Array2<f64>,
    pub small_sample: SmallSample,
    /// Per labeled row, √ρ_t of the weighted regressions with labeling probabilities
    /// (see `labeled::labeled_moments`).
    pub factors: Option<ndarray::ArrayView1<'a, f64>>,
    /// φ_r = to_real ψ_r and φ = to_aux ψ_aux (see `Influence`).
    pub to_real: &'a Array2<f64>,
    pub to_aux: &'a Array2<f64>,
}

/// s̃² of every candidate, as selected (the pooled fit's leverage when there is one)
/// and as reported (coordinate j's own fit), from one pass over the labeled rows.
/// `None` for a singular real Jacobian.
pub(super) fn leave_one_out<M: MomentModel + ?Sized>(
    rows: &Rows<'_, M>,
    candidates: &[Candidate<'_>],
) -> Option<Vec<[f64; 2]>> {
    let p = rows.stacked.p();
    let n = rows.stacked.real_rows().len() as f64;
    let parts = labeled_rows(
        rows.stacked,
        rows.center,
        rows.j_sum,
        rows.small_sample,
        rows.factors,
        |z: ArrayView2<'_, f64>| {
            // One coordinate per row, so that each is contiguous over the chunk's rows.
            let phi_r = rows.to_real.dot(&z.slice(s![.., ..p]).t());
            let phi = rows.to_aux.dot(&z.slice(s![.., p..]).t());
            // 1/(1 − h_t)² per set of coordinates (their own fit's inverse Gram is one).
            let mut own: HashMap<&[usize], Array1<f64>> = HashMap::new();
            candidates
                .iter()
                .map(|c| {
                    let own_weights = own
                        .entry(c.indices)
                        .or_insert_with(|| loo_weights(&phi, c.indices, c.own_inverse));
                    let squares = residual(&phi_r, &phi, c).mapv_into(|e| e * e);
                    let reported = squares.dot(own_weights);
                    let selected = c.pooled_inverse.map_or(reported, |inverse| {
                        squares.dot(&loo_weights(&phi, c.indices, inverse))
                    });
                    [selected, reported]
                })
                .collect::<Vec<_>>()
        },
    )?;
    Some(
        (0..candidates.len())
            .map(|i| {
                let total = parts.iter().fold([0.0, 0.0], |acc, part| {
                    [acc[0] + part[i][0], acc[1] + part[i][1]]
                });
                [total[0] / n, total[1] / n]
            })
            .collect(),
    )
}

/// e_t = φ_r,t,j − λᵀφ_I,t over one chunk (coordinates as rows).
fn residual(phi_r: &Array2<f64>, phi: &Array2<f64>, candidate: &Candidate<'_>) -> Array1<f64> {
    let mut residual = phi_r.row(candidate.j).to_owned();
    for (&i, &coefficient) in candidate.indices.iter().zip(candidate.coefficients) {
        residual.scaled_add(-coefficient, &phi.row(i));
    }
    residual
}

/// 1/(1 − h_t)² with h_t = φ_I,tᵀ G⁻¹ φ_I,t (capped at [`MAX_LEVERAGE`]) over one
/// chunk (coordinates as rows): h = Σ_{a ≤ b} (2 − δ_ab) G⁻¹_ab φ_a ⊙ φ_b, one sweep of
/// contiguous rows per pair of coordinates.
fn loo_weights(phi: &Array2<f64>, indices: &[usize], inverse: &Array2<f64>) -> Array1<f64> {
    let mut leverage = Array1::<f64>::zeros(phi.ncols());
    for (a, &i) in indices.iter().enumerate() {
        for (b, &l) in indices.iter().enumerate().skip(a) {
            let g = match a == b {
                true => inverse[[a, a]],
                false => inverse[[a, b]] + inverse[[b, a]],
            };
            Zip::from(&mut leverage)
                .and(phi.row(i))
                .and(phi.row(l))
                .for_each(|h, &u, &v| *h += g * u * v);
        }
    }
    leverage.mapv_into(|h| {
        let room = 1.0 - h.clamp(0.0, MAX_LEVERAGE);
        1.0 / (room * room)
    })
}
