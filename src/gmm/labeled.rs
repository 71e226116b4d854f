//! The labeled rows' moments behind the selected cross weights and the real-only
//! small-sample covariance: per row z_t = [ψ_r, ψ_1, …, ψ_M] (weighted, the real block
//! scaled by its leverage), and their second moments, with labeling probabilities the
//! selection's weighted and the population's forms.

use ndarray::{s, Array1, Array2, ArrayView1};

use super::SmallSample;
use crate::linalg::inverse;
use crate::stacked::StackedMoments;
use crate::MomentModel;

/// The labeled-rows second moments E_lab[ψ_rψ_rᵀ], E_lab[ψ_rψ_mᵀ] and E_lab[ψ_mψ_mᵀ]
/// with each labeled row's real moments scaled by (1 − h_t)^(−1/2) (HC2) or
/// (1 − h_t)^(−1) (HC3, the leave-one-out residual), h_t = tr((∂ψ_r,t/∂θᵀ)(Σ_lab
/// ∂ψ_r/∂θᵀ)⁻¹) the real block's leverage (x_tᵀ(XᵀX)⁻¹x_t for least squares; with
/// observation weights w_t, the weighted moments and h_t = w_t tr(J_t (Σ_lab w J)⁻¹));
/// 1/(1 − h_t) is capped at 10. The sources' moments, at η̂ fitted on all rows, are not
/// shrunk by the labeled fit and stay unscaled: scaling them too overstated the
/// variance of a well-correlated source's corrected estimate (by about
/// h ρ²/(1 − ρ²) relative); HC0 leaves every row unscaled. `j_sum` is
/// Σ_lab ∂ψ_r/∂θᵀ at `step1`'s θ. `None` for a singular real Jacobian.
pub(super) fn leverage_blocks<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    j_sum: &Array2<f64>,
    small_sample: SmallSample,
) -> Option<(Array2<f64>, Array2<f64>, Array2<f64>)> {
    let p = stacked.p();
    let gram =
        labeled_gram(stacked, step1, j_sum, small_sample, None)? / stacked.real_rows().len() as f64;
    Some((
        gram.slice(s![..p, ..p]).to_owned(),
        gram.slice(s![..p, p..]).to_owned(),
        gram.slice(s![p.., p..]).to_owned(),
    ))
}

/// Σ_lab f_t² z_t z_tᵀ over the labeled rows' moments z_t of [`labeled_rows`], with
/// per-row factors f_t (1 when `None`).
pub(super) fn labeled_gram<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    j_sum: &Array2<f64>,
    small_sample: SmallSample,
    factors: Option<ArrayView1<'_, f64>>,
) -> Option<Array2<f64>> {
    let grams = labeled_rows(stacked, step1, j_sum, small_sample, factors, |z| {
        crate::linalg::gram(z)
    })?;
    let width = stacked.p() * (1 + stacked.n_sources());
    Some(
        grams
            .into_iter()
            .fold(Array2::zeros((width, width)), |sum, part| sum + part),
    )
}

/// The labeled rows' second moments of ψ that
/// [`Influence`](super::select::Influence) maps to influence functions: `a`, `c`,
/// `sigma_lab` for the selection's regressions and `a_pop`, `c_pop` for the rows the
/// labeled ones stand for.
pub(super) struct LabeledMoments {
    pub a: Array2<f64>,
    pub c: Array2<f64>,
    pub sigma_lab: Array2<f64>,
    /// (1/T) Σ_lab ((1 − π_t)/π_t) ψ_tψ_tᵀ of the sources' blocks (the labeled rows'
    /// share of the all-rows variance; (1 − n/T) `sigma_lab` at random labeling).
    pub sigma_odds: Array2<f64>,
    pub a_pop: Array2<f64>,
    pub c_pop: Array2<f64>,
}

/// The labeled rows' second moments at `step1` (see [`leverage_blocks`]).
///
/// With labeling probabilities π_t the rows carry 1/π_t (z_t = ψ_t/π_t), and with
/// e = φ_r − Λφ the estimate varies as
///
///   Var(θ̂) = (1/T) E[φ_rφ_rᵀ] + (1/T) E[(1/π − 1) eeᵀ],
///
/// whose Λ-dependent part is a regression of φ_r on φ weighted by 1/π − 1 (by
/// (1 − π_t)/π_t² on the labeled rows, which stand for 1/π_t rows each). Its moments
/// are means over the labeled rows of ρ_t z_t z_tᵀ with ρ_t = π̄²(1 − π_t)/(1 − π̄),
/// π̄ = n/T, so that (1/T) E[(1/π − 1) eeᵀ] = (1/n − 1/T) E_ρ[eeᵀ] and ρ_t = 1 when
/// π_t = π̄: the estimator at random labeling is the special case. E[φ_rφ_rᵀ] and
/// E[φ_rφᵀ] are (1/T) Σ_lab π_t z_t z_tᵀ. `None` for a singular Jacobian, or when
/// every row is labeled.
pub(super) fn labeled_moments<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    j_sum: &Array2<f64>,
    small_sample: SmallSample,
) -> Option<LabeledMoments> {
    let Some(pi) = stacked.labeled_probabilities() else {
        let (a, c, sigma_lab) = leverage_blocks(stacked, step1, j_sum, small_sample)?;
        let share = stacked.data().n_labeled() as f64 / stacked.data().n_rows() as f64;
        return Some(LabeledMoments {
            sigma_odds: &sigma_lab * (1.0 - share),
            a_pop: a.clone(),
            c_pop: c.clone(),
            a,
            c,
            sigma_lab,
        });
    };
    let p = stacked.p();
    let n = pi.len() as f64;
    let selection = selection_factors(stacked)?;
    let weighted = labeled_gram(stacked, step1, j_sum, small_sample, Some(selection.view()))? / n;
    let root_pi = pi.mapv(f64::sqrt);
    let population = labeled_gram(stacked, step1, j_sum, small_sample, Some(root_pi.view()))?
        / stacked.data().n_rows() as f64;
    let root_odds = pi.mapv(|pi| (pi * (1.0 - pi)).max(0.0).sqrt());
    let odds = labeled_gram(stacked, step1, j_sum, small_sample, Some(root_odds.view()))?
        / stacked.data().n_rows() as f64;
    Some(LabeledMoments {
        a: weighted.slice(s![..p, ..p]).to_owned(),
        c: weighted.slice(s![..p, p..]).to_owned(),
        sigma_lab: weighted.slice(s![p.., p..]).to_owned(),
        sigma_odds: odds.slice(s![p.., p..]).to_owned(),
        a_pop: population.slice(s![..p, ..p]).to_owned(),
        c_pop: population.slice(s![..p, p..]).to_owned(),
    })
}

/// √ρ_t = π̄ √((1 − π_t)/(1 − π̄)) on each labeled row (see [`labeled_moments`]);
/// `None` when labeling is at random or every row is labeled.
pub(super) fn selection_factors<M: MomentModel + ?Sized>(
    stacked: &StackedMoments<'_, M>,
) -> Option<Array1<f64>> {
    let pi = stacked.labeled_probabilities()?;
    let share = pi.len() as f64 / stacked.data().n_rows() as f64;
    (share < 1.0).then(|| pi.mapv(|pi| share * ((1.0 - pi) / (1.0 - share)).sqrt()))
}

/// `each` applied to the labeled rows' moments chunk by chunk, in order: per row
/// z_t = [ψ_r, ψ_1, …, ψ_M] times w_t (and f_t, when `factors` gives them), the real
/// block over (1 − h_t)^(power/2) with the real block's leverage h_t (see
/// [`leverage_blocks`]). `None` for a singular Jacobian.
pub(super) fn labeled_rows<M: MomentModel + ?Sized, R: Send>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    j_sum: &Array2<f64>,
    small_sample: SmallSample,
    factors: Option<ArrayView1<'_, f64>>,
    each: impl Fn(ndarray::ArrayView2<'_, f64>) -> R + Sync + Send,
) -> Option<Vec<R>> {
    let power = small_sample.leverage_power();
    let weights = stacked.label_weights();
    let (p, m) = (stacked.p(), stacked.n_sources());
    let model = stacked.model();
    let real = stacked.real_rows();
    let n = real.len();
    let theta = step1.slice(s![..p]);
    let j_inv = inverse(j_sum.view())?;
    let sources = stacked.data().sources();
    let ranges = crate::chunks::chunk_ranges(n, crate::chunks::DEFAULT_CHUNK_ROWS);
    Some(crate::chunks::map_ordered(&ranges, |range| {
        let rows = real.slice(range.clone());
        let len = range.len();
        let w = weights.map(|w| w.slice_move(s![range.clone()]));
        let leverage = if power > 0.0 {
            crate::small_sample::leverages(model, theta, rows, w, &j_inv)
        } else {
            Array1::zeros(len)
        };
        // Rows with leverage near 1 would get unbounded weight: 1/(1 − h) ≤ 10.
        let mut z = Array2::zeros((len, p * (1 + m)));
        model.moments(theta, rows, z.slice_mut(s![.., ..p]));
        for (i, src) in sources.iter().enumerate() {
            model.moments(
                step1.slice(s![(1 + i) * p..(2 + i) * p]),
                src.labeled().slice(range.clone()),
                z.slice_mut(s![.., (1 + i) * p..(2 + i) * p]),
            );
        }
        if let Some(w) = w {
            z *= &w.insert_axis(ndarray::Axis(1));
        }
        if let Some(f) = factors {
            z *= &f.slice(s![range.clone()]).insert_axis(ndarray::Axis(1));
        }
        let scale = small_sample.row_scales(&leverage);
        let mut real_block = z.slice_mut(s![.., ..p]);
        real_block *= &scale.insert_axis(ndarray::Axis(1));
        each(z.view())
    }))
}
