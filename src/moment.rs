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
/// // Mean exp(0.3 + 0.5 x), multiplicative noise; the proxy adds its own noise.
/// let x: Array2<f64> = Array2::from_shape_fn((400, 2), |(t, j)| if j == 0 { 1.0 } else { (t as f64 / 10.0).sin() });
/// let noise = Array1::from_shape_fn(400, |t| 1.0 + 0.5 * (t as f64 * 2.7).cos());
/// let y = x.dot(&array![0.3, 0.5]).mapv(f64::exp) * &noise;
/// let proxy = &y * &Array1::from_shape_fn(400, |t| 1.0 + 0.2 * (t as f64 * 1.3).cos());
/// assert!(check_jacobian(&Poisson, array![0.1, -0.2].view(), x.view(), y.view()).passes(1e-6));
///
/// let labeled: Vec<bool> = (0..400).map(|t| t % 4 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()?;
/// let fit = TwoStepGmm::new(Poisson).fit(&data)?;
/// assert!(fit.converged() && (fit.theta()[1] - 0.5).abs() < 4.0 * fit.se()[1]);
/// assert!(fit.se()[1] < fit.real_only_se()[1]); // the proxy helps
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

    /// Writes the derivative of each row's moments along `direction` v,
    /// (∂ψ(β; x_t, y_t)/∂βᵀ) v, into row t of `out` (rows × p).
    ///
    /// Windmeijer's covariance correction needs these per-row derivatives (the summed
    /// [`jacobian`](Self::jacobian) is not enough). The default is a central difference
    /// (ψ(β + hv) − ψ(β − hv)) / 2h with h = 1e-6 · max(1, |β|) / |v|, accurate to about
    /// 1e-8 relative for smooth ψ; override it with the analytic form (the built-in
    /// models do) for an exact correction that does not depend on the units of β.
    fn moments_derivative(
        &self,
        beta: ArrayView1<'_, f64>,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        direction: ArrayView1<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        let norm = direction.dot(&direction).sqrt();
        if norm == 0.0 || !norm.is_finite() {
            out.fill(0.0);
            return;
        }
        let h = 1e-6 * beta.dot(&beta).sqrt().max(1.0) / norm;
        let up = &beta + &(&direction * h);
        let down = &beta - &(&direction * h);
        let diff = moment_matrix(self, up.view(), x, y) - moment_matrix(self, down.view(), x, y);
        out.assign(&(diff / (2.0 * h)));
    }

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

    /// Whether moving β along `direction` without bound improves the fit on these rows
    /// for ever: a certificate that no finite solution exists (separation in logistic
    /// regression). The estimators ask it about the direction the iterates moved in, so
    /// it must be exact rather than a heuristic: `true` only when `direction` provably
    /// is such a direction. Defaults to `false`.
    fn is_recession_direction(
        &self,
        _direction: ArrayView1<'_, f64>,
        _x: ArrayView2<'_, f64>,
        _y: ArrayView1<'_, f64>,
    ) -> bool {
        false
    }
}

/// The model's starting value, checked: p finite values for x's p columns.
///
/// # Errors
/// [`Error::ModelDimension`](crate::Error::ModelDimension) for a wrong length,
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a non-finite value.
pub(crate) fn checked_start<M: MomentModel + ?Sized>(
    model: &M,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
) -> crate::Result<Array1<f64>> {
    let start = model.start(x, y);
    let expected = model.n_params(x.ncols());
    if start.len() != expected {
        return Err(crate::Error::ModelDimension {
            model: model.name().to_string(),
            expected,
            found: start.len(),
        });
    }
    if start.iter().any(|v| !v.is_finite()) {
        return Err(crate::Error::InvalidConfig {
            parameter: "start",
            reason: format!(
                "model `{}` returned a non-finite starting value",
                model.name()
            ),
        });
    }
    Ok(start)
}

/// Why [`solve`] found no solution.
pub(crate) enum SolveFailure {
    /// The iterates escaped along a recession direction: no finite solution exists.
    Separated,
    /// The Jacobian became numerically singular: the parameters are not identified.
    Singular,
}

/// Where [`solve`] looks for an escape along a recession direction of the model.
#[derive(Clone, Copy)]
pub(crate) enum Certify<'a> {
    /// Nowhere: the equations are no likelihood of any rows.
    Never,
    /// On these rows, after every solve: the equations are their likelihood's score.
    Always(ArrayView2<'a, f64>, ArrayView1<'a, f64>),
    /// On these rows, only when the solve fails: the equations contain these rows'
    /// score among other terms, and a failure may be caused by their separation.
    OnFailure(ArrayView2<'a, f64>, ArrayView1<'a, f64>),
}

/// Minimises |r(β)|² by Gauss–Newton from `start`, then asks the model whether the
/// iterates escaped along a recession direction of the rows named by `certify`: the
/// direction of the last step, or of the whole path. A finite solution admits no such
/// direction, so this never mistakes a large but finite estimate for separation.
pub(crate) fn solve<M: MomentModel + ?Sized>(
    model: &M,
    start: Array1<f64>,
    residual: impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
    jacobian: impl Fn(ArrayView1<'_, f64>) -> Array2<f64>,
    settings: &crate::optim::Settings,
    certify: Certify<'_>,
) -> Result<crate::optim::Solution, SolveFailure> {
    let origin = start.clone();
    let escaped = |params: &Array1<f64>, last: Option<&Array1<f64>>, failed: bool| {
        let (x, y) = match certify {
            Certify::Never => return false,
            Certify::OnFailure(..) if !failed => return false,
            Certify::Always(x, y) | Certify::OnFailure(x, y) => (x, y),
        };
        let travelled = params - &origin;
        last.into_iter()
            .chain(std::iter::once(&travelled))
            .any(|d| model.is_recession_direction(d.view(), x, y))
    };
    match crate::optim::gauss_newton(start, residual, jacobian, settings) {
        Ok(solution) => {
            let failed = !solution.termination.is_converged();
            if escaped(&solution.params, solution.last_step.as_ref(), failed) {
                Err(SolveFailure::Separated)
            } else {
                Ok(solution)
            }
        }
        Err(s) if escaped(&s.params, s.last_step.as_ref(), true) => Err(SolveFailure::Separated),
        Err(_) => Err(SolveFailure::Singular),
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

/// Compares [`MomentModel::jacobian`] (unweighted and with uneven row weights) and
/// [`MomentModel::moments_derivative`] (row by row) with central finite differences of
/// the moments at `beta`.
///
/// The step for coordinate j is h_j = 1e-6 · max(1, |β_j|); the numerical derivative
/// (ψ(β + h_j e_j) − ψ(β − h_j e_j)) / (2h_j) has error O(h²), so analytic derivatives
/// that are right agree to about 1e-8 relative.
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
    let mut compare = |analytic: f64, numeric: f64| {
        let diff = (analytic - numeric).abs();
        max_abs = if diff.is_nan() {
            f64::INFINITY
        } else {
            max_abs.max(diff)
        };
        max_ref = max_ref.max(numeric.abs());
    };
    for j in 0..p {
        let numeric_rows = central_difference(beta, j, 1e-6, |b: &Array1<f64>| {
            moment_matrix(model, b.view(), x, y)
        });
        // Row by row, along e_j.
        let mut analytic_rows = Array2::from_elem((x.nrows(), p), f64::NAN);
        let mut e_j = Array1::zeros(p);
        e_j[j] = 1.0;
        model.moments_derivative(beta, x, y, e_j.view(), analytic_rows.view_mut());
        for (&a, &n) in analytic_rows.iter().zip(&numeric_rows) {
            compare(a, n);
        }
        // Summed, unweighted and weighted.
        for w in [None, Some(weights.view())] {
            let analytic = model.jacobian(beta, x, y, w);
            let numeric = match w {
                None => numeric_rows.sum_axis(ndarray::Axis(0)),
                Some(w) => w.dot(&numeric_rows),
            };
            for i in 0..p {
                compare(
                    analytic.get((i, j)).copied().unwrap_or(f64::NAN),
                    numeric[i],
                );
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
