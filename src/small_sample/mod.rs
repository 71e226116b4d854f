//! Small-sample forms of the sandwich covariances: leverage-scaled moments (HC1–HC3)
//! and Student-t quantiles, the same conventions for every estimator.
//!
//! A labeled row's real moments are evaluated at θ̂ fitted on those same rows, so they
//! are shorter than the errors by the row's leverage
//!
//! h_t = w_t tr((∂ψ_t/∂θᵀ)(Σ_lab w ∂ψ/∂θᵀ)⁻¹)
//!
//! (x_tᵀ(XᵀX)⁻¹x_t for least squares). HC2 scales them by (1 − h_t)^(−1/2), HC3 by
//! (1 − h_t)^(−1) (MacKinnon and White, 1985), before the meat of the sandwich is
//! formed.
//!
//! The reference distribution of each coefficient's t statistic is Student-t with
//! n − p degrees of freedom, or (the default) with Bell and McCaffrey's (2002)
//! ν_j = (tr DM)² / tr(DMDM): the degrees of freedom of the HC2 variance of θ̂_j
//! under a working model of independent rows with the model's own variance
//! (homoskedastic errors for least squares), D = diag(a_tj² / (1 − h_t)) with a_tj row
//! t's weight in θ̂_j and M = I − H the residual maker. Where a few rows carry most of
//! a coefficient's information, ν_j is far below n − p and the intervals widen; Imbens
//! and Kolesár (2016) recommend it for exactly these designs.

mod clustered;

pub(crate) use clustered::{cr2_bell_mccaffrey, ClusterDesign, Cr2};

use ndarray::{s, Array1, Array2, ArrayView1, Axis};

use crate::inference::Estimate;
use crate::moment::MomentModel;
use crate::rows::Rows;

/// The small-sample form of a covariance: the leverage correction of the labeled rows'
/// real moments and the quantiles of intervals and tests.
///
/// The real moments of each labeled row are scaled by a power of 1/(1 − h_t), h_t its
/// leverage in the labeled fit (see the module's documentation); moments evaluated at
/// fits on many more rows (a source's η̂ on all T rows, the imputed moments of PPI++
/// and DSL) are left as they are. With a correction, intervals, p-values and Wald
/// tests use Student-t quantiles with n − p degrees of freedom (G − 1 with G
/// clusters; [`Estimate::t_df`](crate::Estimate::t_df)). The default of every
/// estimator, so that comparisons are like for like; measured in `docs/validation.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SmallSample {
    /// No leverage correction and normal quantiles: the asymptotic form (ppi_py's).
    Hc0,
    /// No leverage correction, the degrees-of-freedom factor n/(n − p) and t(n − p)
    /// quantiles.
    Hc1,
    /// Real moments over √(1 − h_t) and t(n − p) quantiles: at n = 50 of 1,000 labeled
    /// rows with heteroskedastic errors the selected GMM covers 93%, and it widens
    /// intervals at n = 300 by under 2%.
    Hc2,
    /// Real moments over 1 − h_t (leave-one-out residuals) and t(n − p) quantiles: more
    /// conservative, over-covers under homoskedasticity at n = 50.
    Hc3,
    /// HC2 with Bell–McCaffrey degrees of freedom ν_j for each coefficient (see the
    /// module's documentation) instead of n − p: the intervals widen where a few
    /// labeled rows carry a coefficient's information (high leverage). estimatr's and
    /// clubSandwich's convention for CR2; Imbens and Kolesár's (2016) recommendation.
    /// Models without a working design (linear IV) fall back to n − p. The
    /// default.
    #[default]
    Hc2BellMcCaffrey,
}

impl SmallSample {
    /// The name used in summaries and on the command line: `HC0`, `HC2`, `HC3`.
    pub fn name(self) -> &'static str {
        match self {
            SmallSample::Hc0 => "HC0",
            SmallSample::Hc1 => "HC1",
            SmallSample::Hc2 => "HC2",
            SmallSample::Hc3 => "HC3",
            SmallSample::Hc2BellMcCaffrey => "HC2-BM",
        }
    }

    /// k in the row scale (1 − h_t)^(−k/2): 0 for HC0 and HC1, 1 for HC2, 2 for HC3.
    pub(crate) fn leverage_power(self) -> f64 {
        match self {
            SmallSample::Hc0 | SmallSample::Hc1 => 0.0,
            SmallSample::Hc2 | SmallSample::Hc2BellMcCaffrey => 1.0,
            SmallSample::Hc3 => 2.0,
        }
    }

    /// The factor of the meat: n/(n − p) for HC1, 1 otherwise.
    pub(crate) fn dof_factor(self, n: usize, p: usize) -> f64 {
        match self {
            SmallSample::Hc1 if n > p => n as f64 / (n - p) as f64,
            _ => 1.0,
        }
    }

    /// Whether intervals use Student-t quantiles (every form but HC0).
    pub(crate) fn uses_t(self) -> bool {
        self != SmallSample::Hc0
    }

    /// `estimate` with the quantiles of this form: Student-t with n − p degrees of
    /// freedom (n labeled rows), or G − 1 with G clusters (the few-cluster convention of
    /// Stata and statsmodels' `use_t`); unchanged for HC0. Each coefficient's `dof`
    /// (from [`bell_mccaffrey_dof`] or, with clusters, [`cr2_bell_mccaffrey`], for
    /// [`SmallSample::Hc2BellMcCaffrey`]) replaces n − p or G − 1 in its own intervals
    /// and p-values.
    pub(crate) fn with_quantiles(
        self,
        estimate: Estimate,
        n: usize,
        clusters: Option<usize>,
        dof: Option<Array1<f64>>,
    ) -> Estimate {
        if !self.uses_t() {
            return estimate;
        }
        let df = match clusters {
            Some(g) => g.saturating_sub(1),
            None => n.saturating_sub(estimate.theta().len()),
        };
        let estimate = estimate.with_t_df(df as f64);
        match dof {
            Some(dof) => estimate.with_coefficient_df(dof),
            None => estimate,
        }
    }

    /// Whether each coefficient takes Bell–McCaffrey degrees of freedom.
    pub(crate) fn uses_bell_mccaffrey(self) -> bool {
        self == SmallSample::Hc2BellMcCaffrey
    }

    /// The row scales (1 − h_t)^(−k/2) of [`leverage_power`](Self::leverage_power) k
    /// for leverages h_t, with 1/(1 − h_t) capped at 10: a row of leverage near 1 would
    /// otherwise get unbounded weight.
    pub(crate) fn row_scales(self, leverage: &Array1<f64>) -> Array1<f64> {
        let power = self.leverage_power();
        leverage.mapv(|h| (1.0 - h).max(0.1).powf(-power / 2.0))
    }
}

/// The leverages h_t = w_t tr((∂ψ_t/∂θᵀ) J⁻¹) of `rows` at θ, with `j_inv` the inverse
/// of the fit's summed Jacobian J = Σ w ∂ψ/∂θᵀ over the rows it was fitted on and w_t
/// the observation weights (1 when `None`). For least squares, the diagonal of the hat
/// matrix X(XᵀX)⁻¹Xᵀ; Σ_t h_t = p over the fitted rows.
pub(crate) fn leverages<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    j_inv: &Array2<f64>,
) -> Array1<f64> {
    let p = theta.len();
    let negated = -j_inv;
    let ranges = row_ranges(rows.len());
    let chunks = crate::chunks::map_ordered(&ranges, |range| {
        let chunk = rows.slice(range.clone());
        // With a working design (−∂ψ_t/∂θᵀ = x̄_t x̄_tᵀ), h_t = x̄_tᵀ(−J⁻¹)x̄_t: one
        // product per row instead of a derivative along each column of J⁻¹.
        let mut leverage = match model.working_design(theta, chunk) {
            Some(design) => (design.dot(&negated) * &design).sum_axis(Axis(1)),
            None => {
                let mut leverage = Array1::<f64>::zeros(range.len());
                let mut derivative = Array2::zeros((range.len(), p));
                for j in 0..p {
                    model.moments_derivative(theta, chunk, j_inv.column(j), derivative.view_mut());
                    leverage += &derivative.slice(s![.., j]);
                }
                leverage
            }
        };
        if let Some(w) = weights {
            leverage *= &w.slice(s![range.clone()]);
        }
        leverage
    });
    chunks.into_iter().flatten().collect()
}

/// The row scales of `small_sample` for `rows` at θ, from the rows' summed Jacobian
/// J = Σ w ∂ψ/∂θᵀ (`j_sum`, computed when `None`): `None` when the form scales no row
/// (HC0, HC1) or J is singular.
pub(crate) fn labeled_row_scales<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    j_sum: Option<&Array2<f64>>,
    small_sample: SmallSample,
) -> Option<Array1<f64>> {
    if small_sample.leverage_power() == 0.0 {
        return None;
    }
    let j_inv = match j_sum {
        Some(j) => crate::linalg::inverse(j.view())?,
        None => crate::linalg::inverse(model.jacobian(theta, rows, weights).view())?,
    };
    let h = leverages(model, theta, rows, weights, &j_inv);
    Some(small_sample.row_scales(&h))
}

/// Each coefficient's Bell–McCaffrey degrees of freedom in the fit over `rows` at θ:
/// by cluster ([`cr2_bell_mccaffrey`]) when `clusters` gives each row's cluster, else
/// row by row ([`bell_mccaffrey_dof`]); `None` unless `small_sample` asks for them and
/// the model allows them.
pub(crate) fn coefficient_df<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    clusters: Option<ClusterDesign<'_>>,
    j_sum: &Array2<f64>,
    small_sample: SmallSample,
) -> Option<Array1<f64>> {
    match clusters {
        Some(clusters) if small_sample.uses_bell_mccaffrey() => {
            cr2_bell_mccaffrey(model, theta, rows, weights, clusters, j_sum).map(|cr2| cr2.dof)
        }
        Some(_) => None,
        None => bell_mccaffrey_dof(model, theta, rows, weights, j_sum, small_sample),
    }
}

/// Bell and McCaffrey's degrees of freedom ν_j = (tr DM)² / tr(DMDM) of each
/// coefficient's HC2 variance over `rows` at θ, with `j_sum` = Σ w ∂ψ/∂θᵀ over those
/// rows: `None` unless `small_sample` asks for them, the model has a working design
/// ([`MomentModel::working_design`]) and J is invertible.
///
/// In the standardized rows x̄_t (x̄_t x̄_tᵀ = −w_t ∂ψ_t/∂θᵀ, so that the working
/// model's errors are homoskedastic), a_tj = e_jᵀ J⁻¹ x̄_t, d_t = a_tj²/(1 − h_t) and
/// H = X̄ J⁻¹ X̄ᵀ; then tr DM = Σ d_t (1 − h_t) and
/// tr(DMDM) = Σ d_t² (1 − h_t)² + Σ_{s≠t} d_s d_t H_st², whose off-diagonal part is
/// tr(B²) − Σ d_t² h_t² with B = (Σ d_t x̄_t x̄_tᵀ) J⁻¹ (O(n p²) per coefficient,
/// without forming the n × n hat matrix) and at most max_t d_t · Σ d_t (h_t − h_t²),
/// since Σ_t H_st² = h_s. Where that bound is within 1% of the diagonal part (many
/// rows, none dominant) ν_j takes the bound, a conservative value within 1% of the
/// exact one, from one product X̄J̄⁻¹ over the rows; otherwise the exact trace.
pub(crate) fn bell_mccaffrey_dof<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    j_sum: &Array2<f64>,
    small_sample: SmallSample,
) -> Option<Array1<f64>> {
    if !small_sample.uses_bell_mccaffrey() {
        return None;
    }
    // J̄ = X̄ᵀX̄ = −J.
    let j_inv = -crate::linalg::inverse(j_sum.view())?;
    let sums = |exact: &[bool]| {
        let parts = crate::chunks::map_ordered(&row_ranges(rows.len()), |range| {
            let chunk = rows.slice(range.clone());
            let w = weights.map(|w| w.slice_move(s![range.clone()]));
            dof_sums(model, theta, chunk, w, &j_inv, exact)
        })
        .into_iter()
        .collect::<Option<Vec<_>>>()?;
        (0..theta.len())
            .map(|j| DofSums::total(parts.iter().map(|part| &part[j])))
            .collect::<Option<Vec<DofSums>>>()
    };
    let bounded = sums(&vec![false; theta.len()])?;
    let exact: Vec<bool> = bounded
        .iter()
        .map(|s| s.bound > 0.01 * s.diagonal)
        .collect();
    let exact_sums = if exact.contains(&true) {
        Some(sums(&exact)?)
    } else {
        None
    };
    let dof: Array1<f64> = (0..theta.len())
        .map(|j| {
            let off_diagonal = match (&exact_sums, exact[j]) {
                (Some(e), true) => {
                    let b = e[j].gram.as_ref().map(|g| g.dot(&j_inv))?;
                    (&b * &b.t()).sum() - e[j].diagonal_hat
                }
                _ => bounded[j].bound,
            };
            let tr_dm = bounded[j].tr_dm;
            Some(tr_dm * tr_dm / (bounded[j].diagonal + off_diagonal))
        })
        .collect::<Option<_>>()?;
    // ν_j ≥ 1 by Cauchy–Schwarz on the eigenvalues of DM; clamp the rounding.
    dof.iter()
        .all(|v| v.is_finite() && *v > 0.0)
        .then(|| dof.mapv(|v| v.max(1.0)))
}

/// One coefficient's Bell–McCaffrey sums over some rows: Σ d_t (1 − h_t),
/// Σ d_t² (1 − h_t)², Σ d_t² h_t², the bound max d_t · Σ d_t (h_t − h_t²) on the
/// off-diagonal part, and (when asked for) Σ d_t w_t ∂ψ_t/∂θᵀ.
#[derive(Clone)]
struct DofSums {
    tr_dm: f64,
    diagonal: f64,
    diagonal_hat: f64,
    max_d: f64,
    dh: f64,
    bound: f64,
    gram: Option<Array2<f64>>,
}

impl DofSums {
    /// The sums over every part, with the bound of the whole.
    fn total<'a>(mut parts: impl Iterator<Item = &'a DofSums>) -> Option<DofSums> {
        let mut total = parts.next()?.clone();
        for part in parts {
            total.tr_dm += part.tr_dm;
            total.diagonal += part.diagonal;
            total.diagonal_hat += part.diagonal_hat;
            total.max_d = total.max_d.max(part.max_d);
            total.dh += part.dh;
            total.gram = match (total.gram, &part.gram) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        total.bound = total.max_d * total.dh;
        Some(total)
    }
}

/// Every coefficient's [`DofSums`] over one chunk of rows, with the Gram sums of the
/// coefficients marked `exact`, from the working design X̄ (rows scaled by √w_t) and
/// J̄⁻¹ = (X̄ᵀX̄)⁻¹ over all rows: A = X̄J̄⁻¹, a_tj = A_tj, h_t = Σ_j A_tj X̄_tj.
fn dof_sums<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    j_bar_inv: &Array2<f64>,
    exact: &[bool],
) -> Option<Vec<DofSums>> {
    let mut design = model.working_design(theta, rows)?;
    if let Some(w) = weights {
        design *= &w.mapv(f64::sqrt).insert_axis(ndarray::Axis(1));
    }
    let a = design.dot(j_bar_inv);
    let h = (&a * &design).sum_axis(ndarray::Axis(1));
    let sums = (0..theta.len()).map(|j| {
        // d_t = a_tj² / (1 − h_t), 1 − h_t capped at 0.1 as in the row scales.
        let d: Array1<f64> = (0..rows.len())
            .map(|t| a[[t, j]].powi(2) / (1.0 - h[t]).max(0.1))
            .collect();
        let gram = exact[j].then(|| {
            let scaled = &design * &d.view().insert_axis(ndarray::Axis(1));
            scaled.t().dot(&design)
        });
        let pairs = || d.iter().zip(&h);
        DofSums {
            tr_dm: pairs().map(|(d, h)| d * (1.0 - h)).sum(),
            diagonal: pairs().map(|(d, h)| (d * (1.0 - h)).powi(2)).sum(),
            diagonal_hat: pairs().map(|(d, h)| (d * h).powi(2)).sum(),
            max_d: d.iter().copied().fold(0.0, f64::max),
            dh: pairs().map(|(d, h)| d * (h - h * h)).sum(),
            bound: 0.0,
            gram,
        }
    });
    Some(sums.collect())
}

/// Consecutive row ranges of the engine's default chunk size.
fn row_ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    crate::chunks::chunk_ranges(n, crate::chunks::DEFAULT_CHUNK_ROWS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Ols;
    use ndarray::{array, ArrayViewMut2};

    #[test]
    fn least_squares_leverages_are_the_hat_matrix_diagonal() {
        let x = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 5.0]];
        let y = array![0.0, 1.0, 1.0, 3.0];
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let xtx_inv = crate::linalg::inverse(x.t().dot(&x).view()).unwrap();
        let hat: Array1<f64> = x
            .rows()
            .into_iter()
            .map(|r| r.dot(&xtx_inv.dot(&r)))
            .collect();
        let j_inv =
            crate::linalg::inverse(Ols.jacobian(array![0.0, 0.0].view(), rows, None).view())
                .unwrap();
        let h = leverages(&Ols, array![0.3, 0.5].view(), rows, None, &j_inv);
        // ∂ψ/∂θ = −x xᵀ and J = −XᵀX: the signs cancel.
        for (a, b) in h.iter().zip(&hat) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert!((h.sum() - 2.0).abs() < 1e-12);
    }

    /// A model with `M`'s moments, Jacobian and per-row derivatives but no working
    /// design, so that its leverages come from the derivatives.
    struct WithoutDesign<M>(M);

    impl<M: MomentModel> MomentModel for WithoutDesign<M> {
        fn name(&self) -> &str {
            self.0.name()
        }
        fn moments(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>, out: ArrayViewMut2<'_, f64>) {
            self.0.moments(beta, rows, out)
        }
        fn jacobian(
            &self,
            beta: ArrayView1<'_, f64>,
            rows: Rows<'_>,
            weights: Option<ArrayView1<'_, f64>>,
        ) -> Array2<f64> {
            self.0.jacobian(beta, rows, weights)
        }
        fn moments_derivative(
            &self,
            beta: ArrayView1<'_, f64>,
            rows: Rows<'_>,
            direction: ArrayView1<'_, f64>,
            out: ArrayViewMut2<'_, f64>,
        ) {
            self.0.moments_derivative(beta, rows, direction, out)
        }
    }

    /// h_t from the working design equals tr((∂ψ_t/∂θᵀ)J⁻¹) from the per-row
    /// derivatives, for each built-in model that has one, with observation weights.
    #[test]
    fn working_design_leverages_are_the_derivatives_trace() {
        use crate::models::{Logistic, Mean, Poisson};
        let t = 37;
        let x = Array2::from_shape_fn((t, 3), |(i, j)| match j {
            0 => 1.0,
            1 => (i as f64 * 0.7).sin() * 2.0,
            _ => (i as f64 * 0.3).cos(),
        });
        let y = Array1::from_shape_fn(t, |i| ((i * 7) % 3) as f64 / 2.0);
        let w = Array1::from_shape_fn(t, |i| 0.5 + (i % 4) as f64 / 3.0);
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let theta = array![0.2, -0.4, 0.3];
        fn check<M: MomentModel>(
            model: M,
            theta: ArrayView1<'_, f64>,
            rows: Rows<'_>,
            w: &Array1<f64>,
        ) {
            let j_inv =
                crate::linalg::inverse(model.jacobian(theta, rows, Some(w.view())).view()).unwrap();
            let fast = leverages(&model, theta, rows, Some(w.view()), &j_inv);
            let plain = leverages(&WithoutDesign(model), theta, rows, Some(w.view()), &j_inv);
            for (a, b) in fast.iter().zip(&plain) {
                assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
        check(Ols, theta.view(), rows, &w);
        check(Logistic, theta.view(), rows, &w);
        check(Poisson, theta.view(), rows, &w);
        check(Mean, array![0.4].view(), rows, &w);
    }

    #[test]
    fn bell_mccaffrey_dof_of_a_difference_in_means_is_welchs() {
        // y on [1, g] with groups of n₁ and n₀ rows: the slope is a difference in
        // means, its HC2 variance s₁²/n₁ + s₀²/n₀, and under equal working variances
        // ν = (1/n₁ + 1/n₀)² / (1/(n₁²(n₁ − 1)) + 1/(n₀²(n₀ − 1))) (Welch–Satterthwaite);
        // the intercept is group 0's mean, with n₀ − 1. 9,000 rows span three chunks.
        let (n1, n0) = (9_000usize, 20usize);
        let x = Array2::from_shape_fn(
            (n1 + n0, 2),
            |(t, j)| {
                if j == 0 || t < n1 {
                    1.0
                } else {
                    0.0
                }
            },
        );
        let y = Array1::from_shape_fn(n1 + n0, |t| (t % 7) as f64);
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let theta = array![0.0, 0.0];
        let j_sum = Ols.jacobian(theta.view(), rows, None);
        let setting = SmallSample::Hc2BellMcCaffrey;
        let dof = bell_mccaffrey_dof(&Ols, theta.view(), rows, None, &j_sum, setting).unwrap();
        let (a, b) = (n1 as f64, n0 as f64);
        let welch =
            (1.0 / a + 1.0 / b).powi(2) / (1.0 / (a * a * (a - 1.0)) + 1.0 / (b * b * (b - 1.0)));
        assert!((dof[0] - (b - 1.0)).abs() < 1e-8 * b, "{dof}");
        assert!((dof[1] - welch).abs() < 1e-8 * welch, "{dof} vs {welch}");
        // Balanced large groups: the off-diagonal bound is within 1% and taken, a
        // conservative ν within 1% of Welch's.
        let n = 30_000;
        let x = Array2::from_shape_fn((2 * n, 2), |(t, j)| if j == 0 || t < n { 1.0 } else { 0.0 });
        let y = Array1::from_shape_fn(2 * n, |t| (t % 5) as f64);
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let j_big = Ols.jacobian(theta.view(), rows, None);
        let dof = bell_mccaffrey_dof(&Ols, theta.view(), rows, None, &j_big, setting).unwrap();
        let m = n as f64;
        let welch = (2.0 / m).powi(2) / (2.0 / (m * m * (m - 1.0)));
        assert!(
            dof[1] <= welch * (1.0 + 1e-12) && dof[1] >= 0.99 * welch,
            "{dof} vs {welch}"
        );
        // The other forms keep n − p.
        assert!(
            bell_mccaffrey_dof(&Ols, theta.view(), rows, None, &j_sum, SmallSample::Hc2).is_none()
        );
    }

    #[test]
    fn scales_are_the_hc_powers_with_the_cap() {
        let h = array![0.0, 0.75, 0.99];
        assert_eq!(SmallSample::Hc0.row_scales(&h), array![1.0, 1.0, 1.0]);
        let hc2 = SmallSample::Hc2.row_scales(&h);
        assert!((hc2[1] - 2.0).abs() < 1e-12 && (hc2[2] - 10f64.sqrt()).abs() < 1e-12);
        let hc3 = SmallSample::Hc3.row_scales(&h);
        assert!((hc3[1] - 4.0).abs() < 1e-12 && (hc3[2] - 10.0).abs() < 1e-12);
        assert_eq!(SmallSample::Hc1.dof_factor(10, 2), 1.25);
        assert_eq!(SmallSample::Hc2.dof_factor(10, 2), 1.0);
    }
}
