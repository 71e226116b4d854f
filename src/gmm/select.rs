//! Restricted cross weights chosen per coefficient: the low-labeling-rate form of the
//! two-step estimator ([`CrossWeights::Selected`](super::CrossWeights::Selected)).
//!
//! # The estimator
//! To first order every estimator in the GMM family is a control-variate correction of
//! the real-only fit. With influence functions φ_r = −J_r⁻¹ψ_r (the real moments, on
//! labeled rows) and φ_m = −J_m⁻¹ψ_m (source m at its all-rows fit η̂_m),
//!
//!   θ̂ = θ̂_real − Λ Δ̂,   Δ̂ = J_all⁻¹ψ̄_all − J_lab⁻¹ψ̄_lab ≈ η̂_labeled − η̂_all,
//!
//! and Δ̂ has mean zero when labels are missing at random, whatever the sources contain.
//! With A = E_lab[φ_rφ_rᵀ], C = E_lab[φ_rφᵀ] (labeled rows) and Σ = E[φφᵀ] (all rows),
//!
//!   Var(θ̂) = A/n − (1/n − 1/T)(CΛᵀ + ΛCᵀ − ΛΣΛᵀ).
//!
//! The unrestricted choice Λ = CΣ⁻¹ is the efficient two-step GMM (same limit); it
//! estimates p · pM cross coefficients from n labeled rows, and at low labeling rates
//! that noise costs more than it gains. Each row j of Λ is chosen among families of
//! fewer free coefficients:
//!
//! - zero (real-only, d = 0);
//! - one coefficient per source shared by every coordinate, on each subset of the
//!   sources (PPI++'s λ, one per source; d = |subset|/p per coordinate), fitted by the
//!   regression pooled over coordinates, each standardised by A_jj (free of units);
//! - the M coefficients of the sources' own coordinate j (d = M);
//! - all pM coefficients (d = pM, the unrestricted weights).
//!
//! A restricted row is the regression λ = Σ_lab,II⁻¹ c_jI on the labeled rows (a ratio
//! estimator: the labeled sample's fluctuations cancel; second moments from all rows
//! gave larger errors in the simulations). Its residual e = φ_r,j − λᵀφ_I has the
//! second-order residual variance s̃²_sel = (1/n) Σ_t e_t²(1 + h_t)/(1 − h_t) on the
//! labeled rows, h_t the row's leverage in that regression (see [`super::press`]), and
//!
//!   MSE_j(d) ≈ n/(n − p) · s̃²_sel/n + (2λᵀc_j − λᵀQλ)/T,
//!
//! Q ≈ Σ the all-rows term's matrix, from the unlabeled rows' own spread (see
//! [`all_rows_quadratic`]); on light-tailed rows without leverage s̃²_sel ≈ s²(1 + 2d/n),
//! which is the regression estimator's inflation for d estimated coefficients
//! (Lavenberg and Welch 1981) times the degrees-of-freedom correction of the in-sample
//! residuals, and where a few rows dominate the regressors it grows with what the
//! in-sample fit hid. Among the candidates, ordered by d, the simplest whose MSE is
//! within one standard error (relative √(2/(n − d))) of the smallest is kept. The
//! reported variance takes the chosen candidate's leave-one-out residual variance
//! s̃² = (1/n) Σ_t e_t²/(1 − h_t)² (on coordinate j alone), which exceeds s̃²_sel on
//! rows of high leverage, so that intervals cover at small n whatever the choice saw.
//! Every h_t → 0 and the rule picks the smallest MSE as n grows: the selected
//! estimator is then as efficient
//! as the unrestricted one whenever a restriction holds (a proxy sharing the real
//! covariates under homoskedastic errors), never less efficient than real-only, and
//! valid whatever is chosen (any fixed Λ gives a consistent, asymptotically normal
//! estimate).
//!
//! # Where the moments are evaluated, and the final estimate
//! The second moments above are evaluated at a stable pilot θ̃ (plain prediction-
//! powered inference with the sources weighted by how closely each tracks the real
//! outcome) rather than at θ̂_real, whose residuals
//! and Jacobian are distorted when the labeled fit is near separation; the reported
//! variance keeps the pilot's correlations and each coordinate's real-only scale. Its
//! all-rows part takes the unlabeled rows' own spread (see [`all_rows_quadratic`]). The
//! estimate is the root of the coupled estimating equation, in which θ also enters the
//! sources' corrections as in PPI++ (see [`super::coupled`]); to first order it is
//! θ̂_real − ΛΔ̂, which is the fallback, and the estimate for moments affine in θ.
//!
//! # Labeling probabilities
//! With rows labeled with known probabilities π_t (each labeled row standing for 1/π_t
//! rows), θ̂_real and η̂_labeled are inverse-probability weighted, and
//!
//!   Var(θ̂) = (1/T) E[φ_rφ_rᵀ] + (1/T) E[(1/π − 1) eeᵀ],   e = φ_r − Λφ.
//!
//! Only the second term depends on Λ: each candidate is the regression of φ_r,j on
//! φ_I weighted by 1/π − 1, i.e. by (1 − π_t)/π_t² on the labeled rows, and its
//! leave-one-out residuals are the weighted regression's. The moments are scaled so that
//! at π_t = n/T they are the unweighted ones above (see [`labeled_moments`]); the
//! selection, the pilot and the coupled equation are otherwise unchanged, with the
//! labeled blocks' means in Hájek's ratio form (T / Σ_lab 1/π_t in place of T/n).

use ndarray::{s, Array1, Array2, ArrayView1};

use super::labeled::{labeled_moments, leverage_blocks, selection_factors};
use super::{coupled, press, SmallSample};
use crate::linalg::inverse;
use crate::stacked::StackedMoments;
use crate::MomentModel;

/// Sources up to which every subset gets its own shared-coefficient candidate.
const MAX_SUBSET_SOURCES: usize = 4;

/// Which weights a coefficient ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CrossChoice {
    /// No correction: the real-only estimate.
    RealOnly,
    /// One coefficient per source, shared by every coordinate (PPI++'s λ per source),
    /// on some or all of the sources.
    PerSource,
    /// One coefficient per source on the same coordinate.
    PerCoordinate,
    /// Every coordinate of every source (the unrestricted efficient weights).
    Unrestricted,
}

impl CrossChoice {
    /// A short name for tables and notes.
    pub fn name(self) -> &'static str {
        match self {
            CrossChoice::RealOnly => "real-only",
            CrossChoice::PerSource => "per-source",
            CrossChoice::PerCoordinate => "per-coordinate",
            CrossChoice::Unrestricted => "unrestricted",
        }
    }
}

/// The selected estimate: θ̂, the covariance of (θ̂, η̂) and the choice per coefficient.
pub(super) struct Selection {
    pub params: Array1<f64>,
    pub cov: Array2<f64>,
    pub choices: Vec<CrossChoice>,
    /// The estimate's linear representation K at the step-1 estimate (p × K, see
    /// [`influence_map`]), for its influence on each row.
    pub influence_map: Array2<f64>,
    /// Fallbacks taken on the way (pilot passed over, linear form reported).
    pub notes: Vec<crate::inference::Note>,
}

/// Influence-function second moments of the real and auxiliary blocks at a step-1
/// estimate, and Δ̂ = η̂_labeled − η̂_all.
#[derive(Debug, Clone)]
pub(super) struct Influence {
    /// E_lab[φ_rφ_rᵀ] (p × p).
    pub a: Array2<f64>,
    /// E_lab[φ_rφᵀ] (p × pM), φ in θ's units (see `units`).
    pub c: Array2<f64>,
    /// E[φφᵀ] over all rows (pM × pM).
    pub sigma: Array2<f64>,
    /// E_lab[φφᵀ] (pM × pM).
    pub sigma_lab: Array2<f64>,
    /// Q of the all-rows part of the corrected estimate's variance (pM × pM, see
    /// [`all_rows_quadratic`]).
    pub quadratic: Array2<f64>,
    /// E[φ_rφ_rᵀ] and E[φ_rφᵀ] over the rows the labeled ones stand for: `a` and `c`
    /// when labeling is at random; with labeling probabilities `a`, `c` and
    /// `sigma_lab` are the selection's weighted moments instead (see
    /// [`labeled_moments`]).
    pub a_pop: Array2<f64>,
    pub c_pop: Array2<f64>,
    /// Δ̂ (pM).
    pub delta: Array1<f64>,
    pub n: f64,
    pub t: f64,
    /// −J_r⁻¹ and the block-diagonal −J_lab⁻¹ (labeled rows' source Jacobians): the
    /// maps from labeled rows' moments to their influence functions.
    pub to_real: Array2<f64>,
    pub to_aux: Array2<f64>,
    /// J_all⁻¹, block-diagonal (the sources' all-rows Jacobians): the map from the
    /// all-rows blocks' mean moments to η̂_all − η, in θ's units.
    pub to_all: Array2<f64>,
    /// Per coefficient, the expected excess of the plug-in R̂_j (see
    /// [`Influence::optimism`]), when asked for.
    pub optimism: Option<Array1<f64>>,
    /// Each source's units per unit of θ (see [`coupled::source_units`]): the
    /// auxiliary influence functions above (C, Σ, Δ̂, the map to them) are in θ's units,
    /// φ_m / u_m.
    pub units: Vec<Array1<f64>>,
}

/// The matrix Q of the all-rows part (2ΛCᵀ − ΛQΛᵀ)/T of the corrected estimate's
/// variance (see [`covariance`]). Given which rows are labeled, with independent rows,
/// θ̂ − θ ≈ (1/T)[Σ_lab (φ_r,t/π_t − (1/π_t − 1)Λφ_t) + Σ_unlab Λφ_t] (π_t = n/T at
/// random), whose variance is the labeled rows' part of [`covariance`] plus
/// (2ΛCᵀ − ΛQΛᵀ)/T with
///
///   Q = Σ_lab + Σ_odds − Σ_unlab,   Σ_odds = (1/T) Σ_lab ((1 − π_t)/π_t) φ_tφ_tᵀ,
///   Σ_unlab = (1/T) Σ_unlab φ_tφ_tᵀ,
///
/// at random labeling Q = (2 − f)Σ_lab − (1 − f)Σ̄_unlab with f = n/T and Σ̄_unlab the
/// unlabeled rows' mean, measured on those T − n rows. The total is never negative
/// (it is (1/T²)[Σ_lab e_te_tᵀ/π_t² + Σ_unlab Λφ_tφ_tᵀΛᵀ] with e_t = φ_r,t −
/// (1 − π_t)Λφ_t). Taking Σ_lab for Σ̄_unlab (Q = Σ_lab, the design-based form)
/// assumes the n labeled rows show the spread of the sources' influence as well as
/// the others do; where a few rows far out carry it (heavy-tailed covariates) the
/// labeled sample usually misses them and the all-rows fits η̂ vary more than it says:
/// on a heteroskedastic design with lognormal covariates (n = 30–100) the default's
/// intervals covered 90.5–94.2% with Q = Σ_lab and 95.3–97.0% with the unlabeled rows'
/// own spread.
/// `labeled` is Σ_lab + Σ_odds and `unlabeled` Σ_unlab, both as above.
fn all_rows_quadratic(labeled: Array2<f64>, unlabeled: Array2<f64>) -> Array2<f64> {
    labeled - unlabeled
}

/// Σ_lab w_t² ψ_tψ_tᵀ of the sources' blocks at η̂ (β₁) over the labeled rows, w_t the
/// observation weights (the labeled rows' share of the all-rows blocks of Ω̂). One
/// pass over the labeled rows; `j_sum` is the real block's summed Jacobian at β₁.
fn labeled_rows_gram<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    j_sum: &Array2<f64>,
) -> Option<Array2<f64>> {
    let p = stacked.p();
    // z_t carries w_t/π_t; times π_t it is w_t ψ_t.
    let pi = stacked.labeled_probabilities().map(|pi| pi.to_owned());
    let gram = super::labeled::labeled_gram(
        stacked,
        step1,
        j_sum,
        SmallSample::Hc0,
        pi.as_ref().map(|pi| pi.view()),
    )?;
    Some(gram.slice(s![p.., p..]).to_owned())
}

/// The inverses of the sources' Jacobians J_m over all rows and over the labeled rows
/// (E_lab, `on_labeled` turning the stacked mean into it), block-diagonal over the
/// sources (pM × pM each). `None` if one is singular.
fn source_jacobian_inverses(
    jac: &Array2<f64>,
    p: usize,
    m: usize,
    on_labeled: f64,
) -> Option<(Array2<f64>, Array2<f64>)> {
    let q = p * m;
    let mut on_all_inv = Array2::zeros((q, q));
    let mut on_lab_inv = Array2::zeros((q, q));
    for i in 0..m {
        // Labeled block 1 + i and all-rows block 1 + m + i, source i's columns.
        let cols = (1 + i) * p..(2 + i) * p;
        let on_all = jac.slice(s![(1 + m + i) * p..(2 + m + i) * p, cols.clone()]);
        let on_lab = jac.slice(s![(1 + i) * p..(2 + i) * p, cols]).to_owned() * on_labeled;
        let diag = s![i * p..(i + 1) * p, i * p..(i + 1) * p];
        on_all_inv.slice_mut(diag).assign(&inverse(on_all)?);
        on_lab_inv.slice_mut(diag).assign(&inverse(on_lab.view())?);
    }
    Some((on_all_inv, on_lab_inv))
}

impl Influence {
    /// From the sums of the pass at β₁ = (θ̂_real, η̂_1, …) (ḡ, Ĝ, Ω̂). `None` when it
    /// does not apply: no sources, over-identified blocks, clustered rows, every row
    /// labeled with labeling probabilities, or a singular block Jacobian.
    pub(super) fn new<M: MomentModel>(
        stacked: &StackedMoments<'_, M>,
        step1: &Array1<f64>,
        small_sample: SmallSample,
    ) -> Option<Influence> {
        let (k, p, m) = (stacked.k(), stacked.p(), stacked.n_sources());
        // The variance formulas below assume independent rows: with clusters the
        // unrestricted two-step weights (whose Ω̂ is clustered) are used instead.
        if m == 0 || k != p || stacked.data().clusters().is_some() {
            return None;
        }
        let t = stacked.data().n_rows() as f64;
        let n = stacked.data().n_labeled() as f64;
        let omega = stacked.omega(step1.view());
        let gbar = stacked.mean_moments(step1.view());
        let jac = stacked.jacobian(step1.view());
        let on_labeled = stacked.labeled_scale();
        // J_r = E_lab[∂ψ_r] (labeled block 0).
        let j_real = jac.slice(s![..p, ..p]).to_owned() * on_labeled;
        let j_real_inv = inverse(j_real.view())?;
        let (j_aux_inv, j_lab_inv) = source_jacobian_inverses(&jac, p, m, on_labeled)?;
        // Δ̂ = η̂_labeled − η̂_all, each one Newton step from η̂ on its own rows (exact
        // for affine moments): the labeled rows' Jacobian matches θ̂_real's, so that
        // the sampling noise of the labeled design cancels as in PPI++.
        let psi_lab = gbar.slice(s![p..(1 + m) * p]).to_owned() * on_labeled;
        let psi_all = gbar.slice(s![(1 + m) * p..]);
        // Second moments of ψ: real × real and real × aux on labeled rows, aux × aux
        // on labeled rows and on all rows.
        let aux_all = (1 + m) * p..(1 + 2 * m) * p;
        let j_sum = jac.slice(s![..p, ..p]).to_owned() * t;
        let psi = labeled_moments(stacked, step1, &j_sum, small_sample)?;
        let s_psi = omega.slice(s![aux_all.clone(), aux_all]).to_owned();
        // The unlabeled rows' second moments at η̂: all rows' less the labeled rows'
        // (at random labeling the sources' blocks of Σ_lab, summed, are those).
        let labeled_sum = match stacked.labeled_probabilities() {
            None => &psi.sigma_lab * n,
            Some(_) => labeled_rows_gram(stacked, step1, &j_sum)?,
        };
        let s_unlab = &s_psi * t - labeled_sum;
        // The sources' influence functions in θ's units: φ_m / u_m (see
        // `coupled::source_units`), so that every choice below is free of the units
        // of each source's covariates.
        let units = coupled::source_units(stacked);
        let to_theta = Array1::from_iter(units.iter().flat_map(|u| u.iter().map(|v| 1.0 / v)));
        let rows_by = |mat: Array2<f64>| &mat * &to_theta.view().insert_axis(ndarray::Axis(1));
        let j_aux_inv = rows_by(j_aux_inv);
        let j_lab_inv = rows_by(j_lab_inv);
        let real = |m: &Array2<f64>| j_real_inv.dot(m).dot(&j_real_inv.t());
        let cross = |m: &Array2<f64>| j_real_inv.dot(m).dot(&j_lab_inv.t());
        Some(Influence {
            a: real(&psi.a),
            c: cross(&psi.c),
            sigma: j_aux_inv.dot(&s_psi).dot(&j_aux_inv.t()),
            sigma_lab: j_lab_inv.dot(&psi.sigma_lab).dot(&j_lab_inv.t()),
            quadratic: all_rows_quadratic(
                j_lab_inv
                    .dot(&(&psi.sigma_lab + &psi.sigma_odds))
                    .dot(&j_lab_inv.t()),
                j_aux_inv.dot(&s_unlab).dot(&j_aux_inv.t()) / t,
            ),
            a_pop: real(&psi.a_pop),
            c_pop: cross(&psi.c_pop),
            delta: j_aux_inv.dot(&psi_all) - j_lab_inv.dot(&psi_lab),
            n,
            t,
            to_real: -j_real_inv,
            to_aux: -j_lab_inv,
            to_all: j_aux_inv,
            optimism: None,
            units,
        })
    }

    /// The same moments with the real block at `center`'s θ (the sources' blocks, at
    /// η̂, do not depend on it): J_r, A and C from one pass over the labeled rows.
    pub(super) fn with_real_at<M: MomentModel>(
        &self,
        stacked: &StackedMoments<'_, M>,
        center: &Array1<f64>,
        small_sample: SmallSample,
    ) -> Option<Influence> {
        let p = stacked.p();
        let j_sum = stacked.model().jacobian(
            center.slice(s![..p]),
            stacked.real_rows(),
            stacked.label_weights(),
        );
        let psi = labeled_moments(stacked, center, &j_sum, small_sample)?;
        let j_real_inv = inverse((j_sum * (stacked.labeled_scale() / self.t)).view())?;
        let j_lab_inv = -&self.to_aux;
        let real = |m: &Array2<f64>| j_real_inv.dot(m).dot(&j_real_inv.t());
        let cross = |m: &Array2<f64>| j_real_inv.dot(m).dot(&j_lab_inv.t());
        Some(Influence {
            a: real(&psi.a),
            c: cross(&psi.c),
            a_pop: real(&psi.a_pop),
            c_pop: cross(&psi.c_pop),
            to_real: -j_real_inv,
            optimism: None,
            ..self.clone()
        })
    }

    /// The expected excess of the plug-in R̂_j = [ĈΣ⁻¹Ĉᵀ]_jj over R_j: Ĉ_j is a mean of
    /// w_t = φ_r,t,j φ_t over the n labeled rows, so E[R̂_j] − R_j = tr(Σ⁻¹ Cov(w))/n,
    /// estimated from the rows' own w_t (one chunked pass over the labeled rows; no
    /// assumption on their distribution).
    pub(super) fn optimism<M: MomentModel>(
        &self,
        stacked: &StackedMoments<'_, M>,
        step1: &Array1<f64>,
    ) -> Option<Array1<f64>> {
        let (p, m) = (stacked.p(), stacked.n_sources());
        let q = p * m;
        let model = stacked.model();
        let real = stacked.real_rows();
        let sources = stacked.data().sources();
        let n = real.len();
        let ranges = crate::chunks::chunk_ranges(n, crate::chunks::DEFAULT_CHUNK_ROWS);
        // Per chunk and coefficient j: Σ w_t and Σ w_t w_tᵀ.
        let parts = crate::chunks::map_ordered(&ranges, |range| {
            let len = range.len();
            let mut psi_r = Array2::zeros((len, p));
            model.moments(
                step1.slice(s![..p]),
                real.slice(range.clone()),
                psi_r.view_mut(),
            );
            let mut psi_aux = Array2::zeros((len, q));
            for (i, src) in sources.iter().enumerate() {
                model.moments(
                    step1.slice(s![(1 + i) * p..(2 + i) * p]),
                    src.labeled().slice(range.clone()),
                    psi_aux.slice_mut(s![.., i * p..(i + 1) * p]),
                );
            }
            let phi_r = psi_r.dot(&self.to_real.t());
            let phi = psi_aux.dot(&self.to_aux.t());
            (0..p)
                .map(|j| {
                    let w = &phi * &phi_r.column(j).insert_axis(ndarray::Axis(1));
                    (
                        crate::linalg::column_sums(w.view(), false),
                        crate::linalg::gram(w.view()),
                    )
                })
                .collect::<Vec<_>>()
        });
        let sigma_inv = inverse(self.sigma.view())?;
        let n = n as f64;
        Some(Array1::from_shape_fn(p, |j| {
            let mut sum = Array1::<f64>::zeros(q);
            let mut gram = Array2::<f64>::zeros((q, q));
            for part in &parts {
                sum += &part[j].0;
                gram += &part[j].1;
            }
            let mean = &sum / n;
            let outer = mean
                .view()
                .insert_axis(ndarray::Axis(1))
                .dot(&mean.view().insert_axis(ndarray::Axis(0)));
            let cov = gram / n - outer;
            (&sigma_inv * &cov).sum() / n
        }))
    }

    /// The real-only standard errors √(A_jj / n): with labeling probabilities
    /// √(A_pop,jj/T + (1/n − 1/T) A_jj) (see [`labeled_moments`]), the same when
    /// A_pop = A.
    pub(super) fn standard_errors(&self) -> Array1<f64> {
        let (n, t) = (self.n, self.t);
        Array1::from_shape_fn(self.a.nrows(), |j| {
            let a = self.a[[j, j]];
            (a / n + (self.a_pop[[j, j]] - a) / t).sqrt()
        })
    }

    /// corr(φ_r,j, φ_m,j) on the labeled rows: how closely source `m`'s influence on
    /// coefficient j tracks the real one's (for least squares with shared covariates
    /// and homoskedastic errors, the correlation of the residuals).
    pub(super) fn correlation(&self, m: usize, j: usize) -> f64 {
        let p = self.a.nrows();
        let i = m * p + j;
        self.c[[j, i]] / (self.a[[j, j]] * self.sigma_lab[[i, i]]).sqrt()
    }
}

/// The real-only sandwich in its small-sample form: V = J⁻¹ (Σ_lab s_t² ψ_tψ_tᵀ) J⁻ᵀ
/// with J = Σ_lab ∂ψ_t/∂θᵀ at θ̂ and s_t = (1 − h_t)^(−1/2) (HC2) or (1 − h_t)^(−1)
/// (HC3), h_t the leverage of [`leverage_blocks`]; HC1 is HC0 times n/(n − p). For
/// least squares these are MacKinnon and White's (1985) HC1–HC3, as statsmodels' OLS
/// and R's sandwich compute them. `None` for a singular Jacobian.
pub(crate) fn real_only_covariance<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    theta: &Array1<f64>,
    small_sample: SmallSample,
) -> Option<Array2<f64>> {
    let p = stacked.p();
    let n = stacked.data().n_labeled() as f64;
    let j_sum = stacked.model().jacobian(
        theta.slice(s![..p]),
        stacked.real_rows(),
        stacked.label_weights(),
    );
    let (meat, _, _) = leverage_blocks(stacked, theta, &j_sum, small_sample)?;
    let j_inv = inverse(j_sum.view())?;
    let factor = small_sample.dof_factor(n as usize, p);
    Some(crate::linalg::sandwich(&j_inv, &meat) * (n * factor))
}

/// Each coefficient's Bell–McCaffrey degrees of freedom in the labeled real fit at θ,
/// by cluster with clusters (see [`crate::small_sample::coefficient_df`]); `None` unless `small_sample`
/// asks for them and the model allows them.
pub(crate) fn real_coefficient_df<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    theta: ArrayView1<'_, f64>,
    small_sample: SmallSample,
) -> Option<Array1<f64>> {
    if !small_sample.uses_bell_mccaffrey() {
        return None;
    }
    let theta = theta.slice(s![..stacked.p()]);
    let (rows, weights) = (stacked.real_rows(), stacked.label_weights());
    let j_sum = stacked.model().jacobian(theta, rows, weights);
    let clusters = stacked.data().labeled_clusters();
    crate::small_sample::coefficient_df(
        stacked.model(),
        theta,
        rows,
        weights,
        clusters
            .as_deref()
            .map(|ids| stacked.data().cluster_design(ids)),
        &j_sum,
        small_sample,
    )
}

/// The real-only fit's CR2 covariance and each coefficient's cluster Bell–McCaffrey
/// degrees of freedom (see [`crate::small_sample::cr2_bell_mccaffrey`]); `None`
/// without clusters, unless `small_sample` asks for them, or where the model has no
/// working design.
pub(crate) fn real_cr2<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    theta: ArrayView1<'_, f64>,
    small_sample: SmallSample,
) -> Option<crate::small_sample::Cr2> {
    let clusters = stacked.data().labeled_clusters()?;
    if !small_sample.uses_bell_mccaffrey() {
        return None;
    }
    let theta = theta.slice(s![..stacked.p()]);
    let (rows, weights) = (stacked.real_rows(), stacked.label_weights());
    let j_sum = stacked.model().jacobian(theta, rows, weights);
    crate::small_sample::cr2_bell_mccaffrey(
        stacked.model(),
        theta,
        rows,
        weights,
        stacked.data().cluster_design(&clusters),
        &j_sum,
    )
}

impl<M: MomentModel> super::TwoStepGmm<M> {
    /// The fit, and the influence moments of its blocks at its step-1 estimate (over
    /// the sources the fit kept); `None` where [`Influence::new`] does not apply.
    pub(super) fn fit_with_influence(
        &self,
        data: &crate::data::DataSources,
        with_optimism: bool,
    ) -> crate::error::Result<(super::GmmFit, Option<Influence>)> {
        let fit = self.fit(data)?;
        let kept: Vec<&str> = fit.source_names().iter().map(String::as_str).collect();
        let full = data.select_sources(&kept)?;
        let stacked = self.stack(&full)?;
        // Asymptotic (HC0) moments: planning extrapolates them to other sample sizes,
        // and the diagnostics' correlations are population quantities.
        // Planning and the diagnostics extrapolate labeling at random.
        if stacked.uses_probabilities() {
            return Ok((fit, None));
        }
        let step1 = fit.step1_params().to_owned();
        let influence = Influence::new(&stacked, &step1, SmallSample::Hc0).map(|mut inf| {
            if with_optimism {
                inf.optimism = inf.optimism(&stacked, &step1);
            }
            inf
        });
        Ok((fit, influence))
    }
}

/// Why the selected weights do not apply to these data, if they do not: `None` when
/// they may (a singular block Jacobian can still stop them later).
pub(super) fn unavailable<M: MomentModel>(stacked: &StackedMoments<'_, M>) -> Option<&'static str> {
    if stacked.k() != stacked.p() {
        Some("the model is over-identified")
    } else if stacked.data().clusters().is_some() {
        Some("the rows are clustered")
    } else {
        None
    }
}

/// The selected estimator at the step-1 estimate β₁ (see [`Influence::new`]).
pub(super) fn select<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    small_sample: SmallSample,
) -> Option<Selection> {
    let p = stacked.p();
    // The moments at θ̂_real give the real-only standard errors (the pilot's range, and
    // the scale of the reported variance); the selection works at the pilot.
    let at_real = Influence::new(stacked, step1, small_sample)?;
    let (center, influence, mut notes) = at_pilot(stacked, step1, &at_real, small_sample)?;
    let at = center.as_ref().unwrap_or(step1);
    // With labeling probabilities the all-rows part of the variance is a weighted
    // regression's too (see `labeled_moments`): Σ_lab's weighted form takes Σ's place.
    let weighted = selection_factors(stacked);
    let moments = Moments {
        a: &influence.a,
        c: &influence.c,
        quadratic: &influence.quadratic,
        sigma_lab: &influence.sigma_lab,
        n: influence.n,
        t: influence.t,
        fitted: p as f64,
    };
    let j_real = inverse((-&influence.to_real).view())?;
    let j_sum = &j_real * (influence.t / stacked.labeled_scale());
    let rows = press::Rows {
        stacked,
        center: at,
        j_sum: &j_sum,
        small_sample,
        factors: weighted.as_ref().map(|f| f.view()),
        to_real: &influence.to_real,
        to_aux: &influence.to_aux,
    };
    let (lambda, inflation, choices) = choose(&moments, &rows, stacked.n_sources())?;

    // θ̂ from the coupled equation; the linear form if that fails. For moments affine
    // in θ the linear form is the estimate: the coupled root differs from it only by
    // K_m(J_lab,m − J_all,m)(θ̂ − θ̃), a term of order 1/n that grows with K_m, i.e. as
    // a source's outcome shrinks in units (a source ×0.01 took coverage to 57%).
    let linear = step1.slice(s![..p]).to_owned() - lambda.dot(&influence.delta);
    let theta = if stacked.model().is_linear() {
        linear
    } else {
        let real_se = at_real.standard_errors();
        let gains = coupled::gains(&j_real, &lambda, &(-&influence.to_aux));
        coupled::corrected(stacked, at, gains, &influence.units, &linear, &real_se).unwrap_or_else(
            || {
                notes.push(crate::inference::Note::LinearCorrection);
                linear
            },
        )
    };
    let cov = covariance(&at_real, &influence, &lambda, &inflation)?;
    let mut params = step1.clone();
    params.slice_mut(s![..p]).assign(&theta);
    Some(Selection {
        params,
        cov,
        choices,
        influence_map: influence_map(stacked, &at_real, &lambda),
        notes,
    })
}

/// K = [−J_r⁻¹ s, ΛJ_lab⁻¹ s, −ΛJ_all⁻¹] on the real, labeled sources' and all-rows
/// blocks of the stacked moments, s turning their means into labeled-row means, from
/// the influence at the step-1 estimate: θ̂ = θ̂_real − ΛΔ̂ to first order, with
/// θ̂_real − θ ≈ −J_r⁻¹ψ̄_r,lab and Δ̂ = J_all⁻¹ψ̄_all − J_lab⁻¹ψ̄_lab. Λ acts on the
/// sources' influence in θ's units, which the maps of [`Influence`] share.
fn influence_map<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    at_step1: &Influence,
    lambda: &Array2<f64>,
) -> Array2<f64> {
    let (p, q) = (stacked.p(), lambda.ncols());
    let on_labeled = stacked.labeled_scale();
    let mut map = Array2::zeros((p, p + 2 * q));
    map.slice_mut(s![.., ..p])
        .assign(&(&at_step1.to_real * on_labeled));
    map.slice_mut(s![.., p..p + q])
        .assign(&(lambda.dot(&at_step1.to_aux) * -on_labeled));
    map.slice_mut(s![.., p + q..])
        .assign(&-lambda.dot(&at_step1.to_all));
    map
}

/// The pilot θ̃ (see [`coupled::pilot`]) and the influence moments there, when it lies
/// within `PILOT_RANGE` real-only standard errors of θ̂_real and keeps the real block's
/// information; else θ̂_real's, with a note saying why.
fn at_pilot<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    at_real: &Influence,
    small_sample: SmallSample,
) -> Option<(Option<Array1<f64>>, Influence, Vec<crate::inference::Note>)> {
    let p = stacked.p();
    let real_se = at_real.standard_errors();
    let Some(pilot) = coupled::pilot(stacked, step1, &real_se, &at_real.units).filter(|pilot| {
        (0..p).all(|j| (pilot[j] - step1[j]).abs() <= coupled::PILOT_RANGE * real_se[j])
    }) else {
        let why = "it had no root within 3 real-only standard errors of θ̂_real";
        return Some((None, at_real.clone(), vec![pilot_note(why)]));
    };
    let mut center = step1.clone();
    center.slice_mut(s![..p]).assign(&pilot);
    let there = at_real.with_real_at(stacked, &center, small_sample)?;
    let informative = (0..p).all(|j| {
        there.to_real[[j, j]].abs()
            <= coupled::PILOT_INFORMATION_LOSS * at_real.to_real[[j, j]].abs()
    });
    Some(if informative {
        (Some(center), there, Vec::new())
    } else {
        let why = "the real block's information there was lost";
        (None, at_real.clone(), vec![pilot_note(why)])
    })
}

/// Per coefficient, the weights chosen among the candidates (zero, shared per-source
/// coefficients on each subset of the sources, the sources' own coordinate, all
/// coordinates), with their reported-variance inflation: Λ (p × pM), the inflation
/// and the choices. The candidates' mean squared errors use the second-order residual
/// variances of [`press`], the reported inflation the leave-one-out ones, both from one
/// pass over the labeled rows.
fn choose<M: MomentModel>(
    moments: &Moments<'_>,
    rows: &press::Rows<'_, M>,
    m: usize,
) -> Option<(Array2<f64>, Array1<f64>, Vec<CrossChoice>)> {
    let p = moments.a.nrows();
    let per_coefficient: Vec<Vec<(CrossChoice, Regression)>> = candidates(moments, p, m)
        .into_iter()
        .collect::<Option<_>>()?;
    let flat: Vec<press::Candidate<'_>> = per_coefficient
        .iter()
        .enumerate()
        .flat_map(|(j, fits)| {
            fits.iter().map(move |(_, fit)| press::Candidate {
                j,
                indices: &fit.indices,
                coefficients: &fit.coefficients,
                own_inverse: &fit.own_inverse,
                pooled_inverse: fit.pooled_inverse.as_ref(),
            })
        })
        .collect();
    let mut loo = press::leave_one_out(rows, &flat)?.into_iter();
    let mut lambda = Array2::zeros((p, p * m));
    let mut inflation = Array1::ones(p);
    let mut choices = Vec::with_capacity(p);
    for (j, fits) in per_coefficient.into_iter().enumerate() {
        let scored: Vec<(CrossChoice, Regression, [f64; 2])> = fits
            .into_iter()
            .map(|(choice, fit)| (choice, fit, loo.next().unwrap_or([f64::NAN; 2])))
            .collect();
        let (choice, fit, loo) = pick(moments, scored)?;
        for (coef, &i) in fit.coefficients.iter().zip(&fit.indices) {
            lambda[[j, i]] = *coef;
        }
        inflation[j] = moments.reported_inflation(&fit, loo[1]);
        choices.push(choice);
    }
    Some((lambda, inflation, choices))
}

/// The simplest candidate whose estimated MSE is within one standard error of the
/// smallest: Δd more coefficients lower the residual variance by noise of relative
/// standard error about √(2Δd)/n, and a noisy estimate of a smaller MSE does not
/// justify more estimated coefficients. Candidates come in order of complexity.
fn pick(
    moments: &Moments<'_>,
    scored: Vec<(CrossChoice, Regression, [f64; 2])>,
) -> Option<(CrossChoice, Regression, [f64; 2])> {
    let n = moments.n;
    let mse = |fit: &Regression, loo: &[f64; 2]| moments.mse(fit, loo[0]);
    let smallest = scored
        .iter()
        .filter(|(_, fit, loo)| mse(fit, loo).is_finite())
        .min_by(|x, y| mse(&x.1, &x.2).total_cmp(&mse(&y.1, &y.2)))?;
    let (best, d) = (mse(&smallest.1, &smallest.2), smallest.1.d);
    scored
        .into_iter()
        .find(|(_, fit, loo)| mse(fit, loo) <= best * (1.0 + (2.0 * (d - fit.d).abs()).sqrt() / n))
}

/// The candidate regressions of every coefficient j, in order of complexity (see
/// [`choose`]); those n labeled rows cannot support are left out.
fn candidates(
    moments: &Moments<'_>,
    p: usize,
    m: usize,
) -> Vec<Option<Vec<(CrossChoice, Regression)>>> {
    // Shared per-source coefficients on each subset of the sources (all subsets up to
    // MAX_SUBSET_SOURCES sources, else only all of them), fewest sources first.
    let subsets: Vec<Vec<usize>> = if m <= MAX_SUBSET_SOURCES {
        let mut all: Vec<Vec<usize>> = (1..1usize << m)
            .map(|mask| (0..m).filter(|i| mask >> i & 1 == 1).collect())
            .collect();
        all.sort_by_key(Vec::len);
        all
    } else {
        vec![(0..m).collect()]
    };
    let shared: Vec<(Vec<usize>, Option<SharedFit>)> = subsets
        .into_iter()
        .map(|sources| {
            let fit = moments.shared(p, &sources);
            (sources, fit)
        })
        .collect();
    let q = p * m;
    (0..p)
        .map(|j| {
            let own: Vec<usize> = (0..m).map(|i| i * p + j).collect();
            let mut all = vec![(CrossChoice::RealOnly, moments.regression(j, vec![], None))];
            for (sources, fit) in &shared {
                let on = sources.iter().map(|&i| i * p + j).collect();
                let d = sources.len() as f64 / p as f64;
                let given = fit.as_ref().map(|(l, gram)| (l, d, gram));
                all.push((
                    CrossChoice::PerSource,
                    given.and_then(|g| moments.regression(j, on, Some(g))),
                ));
            }
            all.push((CrossChoice::PerCoordinate, moments.regression(j, own, None)));
            all.push((
                CrossChoice::Unrestricted,
                moments.regression(j, (0..q).collect(), None),
            ));
            let fits: Vec<(CrossChoice, Regression)> = all
                .into_iter()
                .filter_map(|(choice, fit)| Some((choice, fit?)))
                .filter(|(choice, fit)| enough_rows(*choice, fit.d, p, moments.n))
                .collect();
            (!fits.is_empty()).then_some(fits)
        })
        .collect()
}

/// The reported covariance of (θ̂, η̂): Cov(θ̂) = D E_lab[eeᵀ] D / n + (CΛᵀ + ΛCᵀ −
/// ΛΣ_labΛᵀ)/T with e = φ_r − Λφ and D the per-coefficient inflation (square-rooted on
/// both sides), plus (A_pop − A)/T with labeling probabilities (see
/// [`labeled_moments`]); Cov(θ̂, η̂) = C_pop/T and Var(η̂) = Σ/T with φ back in each
/// source's own units (times u_m).
fn covariance(
    at_real: &Influence,
    influence: &Influence,
    lambda: &Array2<f64>,
    inflation: &Array1<f64>,
) -> Option<Array2<f64>> {
    let p = lambda.nrows();
    let q = lambda.ncols();
    let (n, t) = (influence.n, influence.t);
    let (a, c) = (&influence.a, &influence.c);
    // The reported variance keeps the pilot's correlations and takes each coordinate's
    // scale from the real-only fit (whose sandwich at n = 30 carries the heavy tails of
    // θ̂_real that the pilot's asymptotic variance misses): A → SAS, C → SC with
    // S = diag(√(A_real,jj / A_jj)).
    let scale = Array1::from_shape_fn(p, |j| (at_real.a[[j, j]] / a[[j, j]]).sqrt());
    if !scale.iter().all(|v| v.is_finite()) {
        return None;
    }
    let both =
        |m: &Array2<f64>| Array2::from_shape_fn((p, p), |(i, j)| scale[i] * m[[i, j]] * scale[j]);
    let rows = |m: &Array2<f64>| Array2::from_shape_fn(m.dim(), |(i, j)| scale[i] * m[[i, j]]);
    let (a, a_pop) = (both(a), both(&influence.a_pop));
    let (c, c_pop) = (rows(c), rows(&influence.c_pop));
    let cl = c.dot(&lambda.t());
    let residual = &a - &cl - cl.t() + lambda.dot(&influence.sigma_lab).dot(&lambda.t());
    let root = inflation.mapv(f64::sqrt);
    let scaled = Array2::from_shape_fn((p, p), |(i, j)| root[i] * residual[[i, j]] * root[j]);
    let spread = &cl + &cl.t() - lambda.dot(&influence.quadratic).dot(&lambda.t()) + (a_pop - &a);
    let cov_theta = scaled / n + spread / t;
    let sigma = &influence.sigma;
    let per_unit = Array1::from_iter(influence.units.iter().flat_map(|u| u.iter().copied()));
    let c = &c_pop * &per_unit.view().insert_axis(ndarray::Axis(0));
    let sigma = Array2::from_shape_fn(sigma.dim(), |(i, k)| {
        per_unit[i] * sigma[[i, k]] * per_unit[k]
    });
    let mut cov = Array2::zeros((p + q, p + q));
    cov.slice_mut(s![..p, ..p]).assign(&cov_theta);
    cov.slice_mut(s![..p, p..]).assign(&(&c / t));
    cov.slice_mut(s![p.., ..p]).assign(&(c.t().to_owned() / t));
    cov.slice_mut(s![p.., p..]).assign(&(&sigma / t));
    Some(crate::linalg::symmetrize(cov))
}

/// The note for a pilot that was passed over, and why.
fn pilot_note(why: &str) -> crate::inference::Note {
    crate::inference::Note::PilotFallback {
        detail: format!(
            "the selected weights' pilot was not used ({why}); their moments were evaluated at θ̂_real"
        ),
    }
}

/// Labeled rows per fitted coefficient below which a per-coordinate or unrestricted
/// candidate is not considered (see [`enough_rows`]).
const ROWS_PER_COEFFICIENT: f64 = 8.0;

/// Whether n labeled rows can support a candidate: the per-coordinate and unrestricted
/// regressions fit d coefficients per coordinate on top of θ̂_real's p, and need
/// n ≥ 8(d + p). Below that their estimated MSE is too noisy for the selection: at
/// n = 30 (p = 3, M = 2) they were picked by chance often enough to raise the MSE by
/// 4–8% over the per-source candidates alone, which PPI++'s single λ then beats. The
/// zero and shared per-source candidates (at most M coefficients pooled over p
/// coordinates) are always considered.
fn enough_rows(choice: CrossChoice, d: f64, p: usize, n: f64) -> bool {
    match choice {
        CrossChoice::PerCoordinate | CrossChoice::Unrestricted => {
            n >= ROWS_PER_COEFFICIENT * (d + p as f64)
        }
        CrossChoice::RealOnly | CrossChoice::PerSource => true,
    }
}

/// The influence-function second moments the selection works with.
struct Moments<'a> {
    /// E_lab[φ_rφ_rᵀ].
    a: &'a Array2<f64>,
    /// E_lab[φ_rφᵀ].
    c: &'a Array2<f64>,
    /// Q of the all-rows part (see [`all_rows_quadratic`]).
    quadratic: &'a Array2<f64>,
    /// E_lab[φφᵀ].
    sigma_lab: &'a Array2<f64>,
    n: f64,
    t: f64,
    /// p: the real block's parameters, fitted on the same n rows as the residuals.
    fitted: f64,
}

/// A shared per-source fit: the coefficients and the inverse pooled Gram matrix.
type SharedFit = (Array1<f64>, Array2<f64>);

/// Coordinate j's correction on the auxiliary coordinates `indices`.
struct Regression {
    indices: Vec<usize>,
    /// The (effective) number of estimated coefficients.
    d: f64,
    coefficients: Array1<f64>,
    /// s², the labeled rows' in-sample residual second moment.
    residual: f64,
    /// (2λᵀc − λᵀΣλ)/T: the all-rows part of the corrected coefficient's variance.
    spread: f64,
    /// (n Σ_lab,II)⁻¹, whose leverages give the leave-one-out residuals of the fit on
    /// coordinate j alone (see [`press`]), and for a shared coefficient the pooled
    /// fit's over coordinates, with which it is selected.
    own_inverse: Array2<f64>,
    pooled_inverse: Option<Array2<f64>>,
    /// κ(|I|), the inflation of the reported variance when s̃² is not available.
    kappa: f64,
}

impl Moments<'_> {
    /// n/(n − p): the degrees-of-freedom factor of residuals at θ̂_real, fitted on the
    /// same n rows (the usual HC1 factor).
    fn residual_df(&self) -> f64 {
        self.n / (self.n - self.fitted)
    }

    /// The estimated MSE of the corrected coefficient: n/(n − p) · s̃²/n + (2λᵀc −
    /// λᵀΣλ)/T with s̃² the second-order residual variance s̃²_sel of the fit as
    /// selected (see [`press`]); κ(d)s² in its place when s̃² is not a number.
    fn mse(&self, fit: &Regression, loo: f64) -> f64 {
        let within = if loo.is_finite() {
            self.residual_df() * loo
        } else {
            self.kappa(fit.d) * fit.residual.max(0.0)
        };
        within / self.n + fit.spread
    }

    /// The factor on the labeled rows' residual variance s² in the reported variance:
    /// n/(n − p) · s̃²/s² with s̃² the leave-one-out residual variance of coordinate j's
    /// own fit, which carries the regression estimator's inflation itself; κ(|I|) when
    /// s̃²/s² is not a positive number. The leave-one-out form rather than HC2's
    /// e_t²/(1 − h_t) times the inflation: the regressors here are influence functions,
    /// heavy-tailed where the design has leverage, and the HC2 form covered 84.7%
    /// against 87.7% on such a design at n = 100 (`docs/validation.md`).
    fn reported_inflation(&self, fit: &Regression, loo: f64) -> f64 {
        let ratio = self.residual_df() * loo / fit.residual;
        if ratio.is_finite() && ratio > 0.0 && fit.residual > 0.0 {
            ratio
        } else {
            fit.kappa
        }
    }

    /// κ(d) = (n − 1)/(n − d − 1) · n/(n − d − p): the regression estimator's
    /// inflation for d estimated coefficients (Lavenberg and Welch 1981) and residuals
    /// of d + p fitted coefficients, for normal rows without leverage.
    fn kappa(&self, d: f64) -> f64 {
        (self.n - 1.0) / (self.n - d - 1.0) * self.n / (self.n - d - self.fitted)
    }

    /// One coefficient per source shared by every coordinate (PPI++'s λ, one per
    /// source): the pooled regression over coordinates, each standardised by its
    /// real-only variance A_jj so that the choice is free of units,
    /// λ = (Σ_j Σ_lab,j / A_jj)⁻¹ Σ_j c_j / A_jj with c_j, Σ_lab,j on coordinate j;
    /// with the inverse of the pooled Gram matrix (Σ_j Σ_lab,j / A_jj)⁻¹.
    fn shared(&self, p: usize, sources: &[usize]) -> Option<SharedFit> {
        let m = sources.len();
        let mut gram = Array2::<f64>::zeros((m, m));
        let mut cross = Array1::<f64>::zeros(m);
        for j in 0..p {
            let w = 1.0 / self.a[[j, j]];
            if !w.is_finite() {
                return None;
            }
            for (i, &si) in sources.iter().enumerate() {
                cross[i] += w * self.c[[j, si * p + j]];
                for (l, &sl) in sources.iter().enumerate() {
                    gram[[i, l]] += w * self.sigma_lab[[si * p + j, sl * p + j]];
                }
            }
        }
        let gram_inv = inverse(gram.view())?;
        Some((gram_inv.dot(&cross), gram_inv))
    }

    /// λ = Σ_II⁻¹ c_jI; the residual e = φ_r,j − λᵀφ_I has labeled second moment
    /// s² = A_jj − 2λᵀc + λᵀΣ_lab,IIλ, and the corrected coefficient's variance is
    /// about s̃²/n + (2λᵀc − λᵀΣλ)/T with s̃² the small-sample version of s² (see
    /// [`Moments::mse`]).
    ///
    /// `given` supplies coefficients fitted elsewhere (the pooled shared fit) with
    /// their effective count d and the inverse of their pooled Gram matrix.
    fn regression(
        &self,
        j: usize,
        indices: Vec<usize>,
        given: Option<(&Array1<f64>, f64, &Array2<f64>)>,
    ) -> Option<Regression> {
        let d = given.map_or(indices.len() as f64, |(_, d, _)| d);
        if self.n <= d + self.fitted + 1.0 {
            return None;
        }
        let pick = |m: &Array2<f64>| {
            m.select(ndarray::Axis(0), &indices)
                .select(ndarray::Axis(1), &indices)
        };
        let cj = Array1::from_iter(indices.iter().map(|&i| self.c[[j, i]]));
        let own_inverse = if indices.is_empty() {
            Array2::zeros((0, 0))
        } else {
            inverse(pick(self.sigma_lab).view())? / self.n
        };
        let (coefficients, pooled_inverse) = match given {
            // The pooled fit's row (t, j) has regressors φ_I,t / √A_jj.
            Some((l, _, gram)) => (l.clone(), Some(gram / (self.n * self.a[[j, j]]))),
            None => (own_inverse.dot(&cj) * self.n, None),
        };
        let fitted = cj.dot(&coefficients);
        let residual = self.a[[j, j]] - 2.0 * fitted
            + coefficients.dot(&pick(self.sigma_lab).dot(&coefficients));
        let spread =
            (2.0 * fitted - coefficients.dot(&pick(self.quadratic).dot(&coefficients))) / self.t;
        (residual.is_finite() && spread.is_finite()).then(|| Regression {
            kappa: self.kappa(indices.len() as f64),
            indices,
            d,
            coefficients,
            residual,
            spread,
            own_inverse,
            pooled_inverse,
        })
    }
}
