//! Small-sample residual variances of the selected weights' control-variate
//! regressions: one to choose a candidate by, one to report.
//!
//! A candidate for coefficient j corrects θ̂_real,j by λᵀΔ̂ with λ fitted on the same n
//! labeled rows whose residuals e_t = φ_r,t,j − λᵀφ_I,t then measure its variance. The
//! in-sample mean of e_t² understates the error of a fitted regression, and by most
//! where a few rows carry much of the regressors' spread (high leverage): there the
//! fit bends towards those rows and their residuals shrink. With h_t = φ_I,tᵀ G⁻¹ φ_I,t
//! the row's leverage (G the regression's Gram matrix, Σ_t h_t = d):
//!
//! - **To choose** (s̃²_sel): the corrected coefficient's error is ē* − (λ̂ − λ)ᵀΔ̂ with
//!   e* the residuals at the population λ, so its variance is, to the next order,
//!   (1/n²) Σ_t σ_t² (1 + h_t) (λ̂'s sandwich variance times Δ̂'s), σ_t² = E e*_t².
//!   HC2's e_t²/(1 − h_t) estimates σ_t² without bias under homoskedastic errors
//!   (MacKinnon and White 1985), so
//!
//!     s̃²_sel = (1/n) Σ_t e_t² (1 + h_t)/(1 − h_t).
//!
//! - **To report** (s̃²): the leave-one-out residual e_t / (1 − h_t) is what row t's
//!   residual would be had it not been used to fit λ, and
//!
//!     s̃² = (1/n) Σ_t e_t² / (1 − h_t)²
//!
//!   (Allen's PRESS) estimates the out-of-sample residual variance without assuming
//!   anything about the rows' distribution; a row never chooses its own weight.
//!
//! Under homoskedastic errors with light-tailed regressors both are about
//! σ²(1 + d/n), the regression estimator's inflation for d fitted coefficients
//! (Lavenberg and Welch 1981). They part where a row has high leverage: PRESS exceeds
//! the second-order variance by 1/(1 − h_t²) on that row, which is what a reported
//! variance should do for the choice it did not see (the selection's optimism, the
//! heteroskedastic designs with leverage whose influence functions are heavy-tailed),
//! but which lets one row decide the choice: with a few gross proxy errors among 40
//! labeled rows, the rows carrying them (leverage near 1) made every correction look
//! worse than none, and the default's MSE was 1.09 times the paper's estimator's
//! (1.05 choosing by s̃²_sel; `docs/validation.md`).

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

/// [s̃²_sel, s̃²] of every candidate: the variance it is chosen by (with the pooled
/// fit's leverage when there is one) and the one reported (coordinate j's own fit),
/// from one pass over the labeled rows. `None` for a singular real Jacobian.
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
            // h_t per set of coordinates (their own fit's inverse Gram is one).
            let mut own: HashMap<&[usize], Array1<f64>> = HashMap::new();
            candidates
                .iter()
                .map(|c| {
                    let own_leverage = own
                        .entry(c.indices)
                        .or_insert_with(|| leverages(&phi, c.indices, c.own_inverse));
                    let squares = residual(&phi_r, &phi, c).mapv_into(|e| e * e);
                    let reported = squares.dot(&own_leverage.mapv(leave_one_out_weight));
                    let selected = match c.pooled_inverse {
                        Some(inverse) => leverages(&phi, c.indices, inverse),
                        None => own_leverage.clone(),
                    };
                    [
                        squares.dot(&selected.mapv_into(second_order_weight)),
                        reported,
                    ]
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

/// h_t = φ_I,tᵀ G⁻¹ φ_I,t, clipped to [0, [`MAX_LEVERAGE`]], over one chunk
/// (coordinates as rows): h = Σ_{a ≤ b} (2 − δ_ab) G⁻¹_ab φ_a ⊙ φ_b, one sweep of
/// contiguous rows per pair of coordinates.
fn leverages(phi: &Array2<f64>, indices: &[usize], inverse: &Array2<f64>) -> Array1<f64> {
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
    leverage.mapv_into(|h| h.clamp(0.0, MAX_LEVERAGE))
}

/// 1/(1 − h)²: a squared residual's factor in the leave-one-out variance (PRESS).
fn leave_one_out_weight(h: f64) -> f64 {
    1.0 / ((1.0 - h) * (1.0 - h))
}

/// (1 + h)/(1 − h): a squared residual's factor in the second-order variance, HC2's
/// row variance times the fitted coefficients' share 1 + h.
fn second_order_weight(h: f64) -> f64 {
    (1.0 + h) / (1.0 - h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both weights agree to first order in h (1 + 2h) and part at high leverage, where
    /// PRESS exceeds the second-order form by 1/(1 − h²).
    #[test]
    fn the_weights_agree_to_first_order_and_part_at_high_leverage() {
        for h in [1e-4, 1e-3] {
            assert!((leave_one_out_weight(h) - (1.0 + 2.0 * h)).abs() < 4.0 * h * h);
            assert!((second_order_weight(h) - (1.0 + 2.0 * h)).abs() < 4.0 * h * h);
        }
        for h in [0.3, 0.6, 0.9] {
            let ratio = leave_one_out_weight(h) / second_order_weight(h);
            assert!((ratio - 1.0 / (1.0 - h * h)).abs() < 1e-12);
        }
    }

    /// Leverages are the diagonal of the hat matrix Φ (ΦᵀΦ)⁻¹ Φᵀ, summing to d.
    #[test]
    fn leverages_are_the_hat_matrix_diagonal() {
        // Three coordinates (rows) over six observations; the fit uses coordinates 0 and 2.
        let phi = ndarray::array![
            [1.0, -0.5, 0.3, 2.0, -1.2, 0.1],
            [9.0, 9.0, 9.0, 9.0, 9.0, 9.0],
            [0.2, 0.4, -1.0, 0.5, 0.3, -0.7]
        ];
        let x = phi.select(ndarray::Axis(0), &[0, 2]).reversed_axes();
        let inverse = crate::linalg::inverse(x.t().dot(&x).view()).unwrap();
        let h = leverages(&phi, &[0, 2], &inverse);
        let hat = x.dot(&inverse).dot(&x.t());
        for t in 0..6 {
            assert!((h[t] - hat[[t, t]].min(MAX_LEVERAGE)).abs() < 1e-12);
        }
        assert!((hat.diag().sum() - 2.0).abs() < 1e-12);
    }
}
