//! The [`MomentModel`] trait: a target parameter defined by a moment condition, and a
//! finite-difference check of its Jacobian.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};

/// A parameter β defined by the moment condition E[ψ(β; x, y)] = 0, with p moments for
/// p parameters.
///
/// An implementation evaluates ψ row by row over a batch and returns the summed Jacobian
/// Σ_t w_t ∂ψ_t/∂βᵀ. It holds no data: the estimators call it on the real rows and on
/// every auxiliary source with that source's own parameter η_m.
///
/// # Requirements
/// - `moments` writes row t of `out` (shape rows × p) with ψ(β; x_t, y_t).
/// - `jacobian` returns the p×p matrix Σ_t w_t ∂ψ(β; x_t, y_t)/∂βᵀ (w_t = 1 when
///   `weights` is `None`); entry (i, j) is ∂ψ_i/∂β_j. It must be analytic: use
///   [`check_jacobian`] in a test to compare it with central differences.
/// - The methods must not panic for finite input of the documented shapes.
///
/// # Examples
/// Poisson regression, ψ = x(y − exp(xᵀβ)), written outside the crate:
/// ```
/// use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, array};
/// use synthgmm::{check_jacobian, DataSources, MomentModel, TwoStepGmm};
///
/// struct Poisson;
///
/// impl MomentModel for Poisson {
///     fn name(&self) -> &str { "poisson" }
///
///     fn moments(&self, beta: ArrayView1<f64>, x: ArrayView2<f64>, y: ArrayView1<f64>,
///                mut out: ArrayViewMut2<f64>) {
///         for ((xt, &yt), mut row) in x.outer_iter().zip(y).zip(out.outer_iter_mut()) {
///             let resid = yt - xt.dot(&beta).exp();
///             row.assign(&(&xt * resid));
///         }
///     }
///
///     fn jacobian(&self, beta: ArrayView1<f64>, x: ArrayView2<f64>, _y: ArrayView1<f64>,
///                 weights: Option<ArrayView1<f64>>) -> Array2<f64> {
///         // ∂ψ/∂βᵀ = −exp(xᵀβ) x xᵀ
///         let mut scale: Array1<f64> = x.dot(&beta).mapv(|e| -e.exp());
///         if let Some(w) = weights { scale *= &w; }
///         let xs = &x * &scale.insert_axis(Axis(1));
///         xs.t().dot(&x)
///     }
/// }
///
/// // y = exp(0.3 + 0.5 x) exactly, so the estimate is exact.
/// let x: Array2<f64> = Array2::from_shape_fn((40, 2), |(t, j)| if j == 0 { 1.0 } else { (t as f64 / 10.0).sin() });
/// let y = x.dot(&array![0.3, 0.5]).mapv(f64::exp);
/// assert!(check_jacobian(&Poisson, array![0.1, -0.2].view(), x.view(), y.view()).passes(1e-6));
///
/// let labeled: Vec<bool> = (0..40).map(|t| t % 2 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &y).build()?;
/// let fit = TwoStepGmm::new(Poisson).fit(&data)?;
/// assert!((fit.theta()[1] - 0.5).abs() < 1e-8);
/// # Ok::<(), synthgmm::Error>(())
/// ```
pub trait MomentModel {
    /// A short name for summaries and errors, e.g. `"ols"`.
    fn name(&self) -> &str;

    /// Number of parameters (and moments) when x has `n_columns` columns. Defaults to
    /// `n_columns`; override it when x carries more than the regressors (e.g. IV).
    fn n_params(&self, n_columns: usize) -> usize {
        n_columns
    }

    /// Writes ψ(β; x_t, y_t) into row t of `out` (rows × p).
    fn moments(
        &self,
        beta: ArrayView1<'_, f64>,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        out: ArrayViewMut2<'_, f64>,
    );

    /// Σ_t w_t ∂ψ(β; x_t, y_t)/∂βᵀ (p×p); `weights = None` means w_t = 1.
    fn jacobian(
        &self,
        beta: ArrayView1<'_, f64>,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64>;

    /// Starting value for the optimiser. Defaults to zeros.
    fn start(&self, x: ArrayView2<'_, f64>, _y: ArrayView1<'_, f64>) -> Array1<f64> {
        Array1::zeros(self.n_params(x.ncols()))
    }

    /// Whether ψ is affine in β (then one Gauss–Newton step is the exact, closed-form
    /// solution). Defaults to `false`.
    fn is_linear(&self) -> bool {
        false
    }

    /// Checks one outcome value; `Err(reason)` rejects it (e.g. logistic needs [0, 1]).
    fn check_outcome(&self, _y: f64) -> Result<(), &'static str> {
        Ok(())
    }

    /// Whether an estimate signals that no finite solution exists (e.g. separation in
    /// logistic regression). Checked after each optimisation. Defaults to `false`.
    fn is_separated(
        &self,
        _beta: ArrayView1<'_, f64>,
        _x: ArrayView2<'_, f64>,
        _y: ArrayView1<'_, f64>,
    ) -> bool {
        false
    }
}

/// ψ(β; x_t, y_t) for every row, as a new rows × p matrix.
pub fn moment_matrix<M: MomentModel + ?Sized>(
    model: &M,
    beta: ArrayView1<'_, f64>,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
) -> Array2<f64> {
    let mut out = Array2::zeros((x.nrows(), beta.len()));
    model.moments(beta, x, y, out.view_mut());
    out
}

/// The outcome of [`check_jacobian`].
#[derive(Debug, Clone, PartialEq)]
pub struct JacobianCheck {
    /// Largest absolute difference between analytic and numerical entries.
    pub max_abs_error: f64,
    /// `max_abs_error` divided by the largest absolute numerical entry.
    pub relative_error: f64,
}

impl JacobianCheck {
    /// Whether the relative error is at most `tol` (1e-6 is a sensible choice).
    pub fn passes(&self, tol: f64) -> bool {
        self.relative_error <= tol
    }
}

/// Compares [`MomentModel::jacobian`] with central finite differences of the summed
/// moments, both unweighted and with uneven row weights, at `beta`.
///
/// The step for coordinate j is h_j = 1e-6 · max(1, |β_j|); the numerical derivative
/// (Σψ(β + h_j e_j) − Σψ(β − h_j e_j)) / (2h_j) has error O(h²), so an analytic Jacobian
/// that is right agrees to about 1e-8 relative.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{check_jacobian, models::Logistic};
/// let x = array![[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]];
/// let y = array![1.0, 0.0, 1.0];
/// assert!(check_jacobian(&Logistic, array![0.2, -0.3].view(), x.view(), y.view()).passes(1e-6));
/// ```
pub fn check_jacobian<M: MomentModel + ?Sized>(
    model: &M,
    beta: ArrayView1<'_, f64>,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
) -> JacobianCheck {
    let p = beta.len();
    let weights = Array1::from_shape_fn(x.nrows(), |t| 0.5 + (t % 7) as f64 / 6.0);
    let mut max_abs = 0.0_f64;
    let mut max_ref = 0.0_f64;
    for w in [None, Some(weights.view())] {
        let analytic = model.jacobian(beta, x, y, w);
        let summed = |b: &Array1<f64>| -> Array1<f64> {
            let psi = moment_matrix(model, b.view(), x, y);
            match w {
                None => psi.sum_axis(ndarray::Axis(0)),
                Some(w) => w.dot(&psi),
            }
        };
        for j in 0..p {
            let numeric = central_difference(beta, j, 1e-6, &summed);
            for i in 0..p {
                let a = analytic.get((i, j)).copied().unwrap_or(f64::NAN);
                let diff = (a - numeric[i]).abs();
                max_abs = if diff.is_nan() {
                    f64::INFINITY
                } else {
                    max_abs.max(diff)
                };
                max_ref = max_ref.max(numeric[i].abs());
            }
        }
    }
    JacobianCheck {
        max_abs_error: max_abs,
        relative_error: max_abs / max_ref.max(f64::MIN_POSITIVE),
    }
}

/// The central difference (f(β + h e_j) − f(β − h e_j)) / 2h with h = `rel_step` ·
/// max(1, |β_j|), for any array-valued f.
pub(crate) fn central_difference<D: ndarray::Dimension>(
    beta: ArrayView1<'_, f64>,
    j: usize,
    rel_step: f64,
    f: impl Fn(&Array1<f64>) -> ndarray::Array<f64, D>,
) -> ndarray::Array<f64, D> {
    let h = rel_step * beta[j].abs().max(1.0);
    let mut up = beta.to_owned();
    up[j] += h;
    let mut down = beta.to_owned();
    down[j] -= h;
    (f(&up) - f(&down)) / (2.0 * h)
}
