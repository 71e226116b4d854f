//! The [`MomentModel`] trait: a target parameter defined by a moment condition, and a
//! finite-difference check of its derivatives.

use ndarray::{Array1, Array2, ArrayView1, ArrayViewMut2};

use crate::error::{Error, Result};
use crate::rows::Rows;

/// A parameter β (p values) defined by the moment condition E[ψ(β; row)] = 0 with
/// k ≥ p moments.
///
/// An implementation evaluates ψ row by row over a batch of [`Rows`] (covariates x,
/// outcome y and any named extra columns) and returns the summed Jacobian
/// Σ_t w_t ∂ψ_t/∂βᵀ. It holds no data: the estimators call it on the real rows and on
/// every auxiliary source with that source's own parameter η_m.
///
/// k and p come from the shape of the rows ([`n_moments`](Self::n_moments),
/// [`n_params`](Self::n_params)); by default both equal x's column count, the
/// just-identified case of regression models. An over-identified model (k > p), such as
/// linear instrumental variables with more instruments than regressors, is fitted by
/// GMM within each block, and its J test has k(1 + 2M) − p(1 + M) degrees of freedom.
///
/// # Requirements
/// - `moments` writes row t of `out` (shape rows × k) with ψ(β; row t).
/// - `jacobian` returns the k × p matrix Σ_t w_t ∂ψ(β; row t)/∂βᵀ (w_t = 1 when
///   `weights` is `None`); entry (i, j) is ∂ψ_i/∂β_j. It must be analytic: use
///   [`check_jacobian`] in a test to compare it with central differences.
/// - `required_columns` names every extra column the model reads; the data are checked
///   to carry them, finite, before any fit.
/// - The methods must not panic for finite input of the documented shapes.
/// - The model is `Sync`: passes over chunks of rows call it from several threads.
///
/// # Examples
/// Poisson regression, ψ = x(y − exp(xᵀβ)), written outside the crate:
/// ```
/// use ndarray::{Array1, Array2, ArrayView1, ArrayViewMut2, Axis, array};
/// use synthgmm::{check_jacobian, DataSources, MomentModel, Rows, TwoStepGmm};
///
/// struct Poisson;
///
/// impl MomentModel for Poisson {
///     fn name(&self) -> &str { "poisson" }
///
///     fn moments(&self, beta: ArrayView1<f64>, rows: Rows, mut out: ArrayViewMut2<f64>) {
///         for ((xt, &yt), mut row) in rows.x().outer_iter().zip(rows.y()).zip(out.outer_iter_mut()) {
///             let resid = yt - xt.dot(&beta).exp();
///             row.assign(&(&xt * resid));
///         }
///     }
///
///     fn jacobian(&self, beta: ArrayView1<f64>, rows: Rows,
///                 weights: Option<ArrayView1<f64>>) -> Array2<f64> {
///         // ∂ψ/∂βᵀ = −exp(xᵀβ) x xᵀ
///         let x = rows.x();
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
/// let rows = Rows::new(x.view(), y.view())?;
/// assert!(check_jacobian(&Poisson, array![0.1, -0.2].view(), rows).passes(1e-6));
///
/// let labeled: Vec<bool> = (0..400).map(|t| t % 4 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()?;
/// let fit = TwoStepGmm::new(Poisson).fit(&data)?;
/// assert!(fit.converged() && (fit.theta()[1] - 0.5).abs() < 4.0 * fit.se()[1]);
/// assert!(fit.se()[1] < fit.real_only_se()[1]); // the proxy helps
/// # Ok::<(), synthgmm::Error>(())
/// ```
pub trait MomentModel: Sync {
    /// A short name for summaries and errors, e.g. `"ols"`.
    fn name(&self) -> &str;

    /// Number of parameters p for rows of this shape. Defaults to x's column count.
    fn n_params(&self, rows: Rows<'_>) -> usize {
        rows.x().ncols()
    }

    /// Number of moments k ≥ p for rows of this shape. Defaults to
    /// [`n_params`](Self::n_params) (just identified).
    fn n_moments(&self, rows: Rows<'_>) -> usize {
        self.n_params(rows)
    }

    /// Names of the p parameters, given the covariate names. `None` (the default) uses
    /// the covariate names when p equals their count, else `b0`, `b1`, ….
    fn parameter_names(&self, _covariates: &[String]) -> Option<Vec<String>> {
        None
    }

    /// The extra columns the model reads (e.g. instruments). Defaults to none.
    fn required_columns(&self) -> Vec<String> {
        Vec::new()
    }

    /// Writes ψ(β; row t) into row t of `out` (rows × k).
    fn moments(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>, out: ArrayViewMut2<'_, f64>);

    /// Σ_t w_t ∂ψ(β; row t)/∂βᵀ (k × p); `weights = None` means w_t = 1.
    fn jacobian(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64>;

    /// Writes ψ(β; row t) into row t of `out` and returns the summed Jacobian, in one
    /// sweep over the rows: the passes that need both call this. The default calls
    /// [`moments`](Self::moments) then [`jacobian`](Self::jacobian); override it when
    /// the two share work (the logistic model computes σ(xᵀβ) once).
    fn moments_and_jacobian(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
        out: ArrayViewMut2<'_, f64>,
    ) -> Array2<f64> {
        self.moments(beta, rows, out);
        self.jacobian(beta, rows, weights)
    }

    /// Σ_t w_t ψ(β; row t) (k), for passes that need only the moments' sums;
    /// `weights = None` means w_t = 1. The default sums [`moments`](Self::moments);
    /// override it when the sum has a form that never writes the rows × k moments (a
    /// GLM: Xᵀ(w ⊙ (y − μ)) from one sweep).
    fn moment_sums(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array1<f64> {
        let mut psi = Array2::zeros((rows.len(), self.n_moments(rows)));
        self.moments(beta, rows, psi.view_mut());
        if let Some(w) = weights {
            psi *= &w.insert_axis(ndarray::Axis(1));
        }
        crate::linalg::column_sums(psi.view(), false)
    }

    /// Σ_t ψ(β; row t) and Σ_t ∂ψ(β; row t)/∂βᵀ, for passes that need no per-row
    /// moments. The default sums [`moments_and_jacobian`](Self::moments_and_jacobian);
    /// override it when the sums have a cheaper form (least squares: Xᵀy − XᵀXβ and
    /// −XᵀX, from two matrix products).
    fn moment_and_jacobian_sums(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
    ) -> (Array1<f64>, Array2<f64>) {
        let mut psi = Array2::zeros((rows.len(), self.n_moments(rows)));
        let jacobian = self.moments_and_jacobian(beta, rows, None, psi.view_mut());
        (crate::linalg::column_sums(psi.view(), false), jacobian)
    }

    /// Writes the derivative of each row's moments along `direction` v,
    /// (∂ψ(β; row t)/∂βᵀ) v, into row t of `out` (rows × k).
    ///
    /// Windmeijer's covariance correction needs these per-row derivatives (the summed
    /// [`jacobian`](Self::jacobian) is not enough). The default is a central difference
    /// (ψ(β + hv) − ψ(β − hv)) / 2h with h = 1e-6 · max(1, |β|) / |v|, accurate to about
    /// 1e-8 relative for smooth ψ; override it with the analytic form (the built-in
    /// models do) for an exact correction that does not depend on the units of β.
    fn moments_derivative(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
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
        let diff = moment_matrix(self, up.view(), rows) - moment_matrix(self, down.view(), rows);
        out.assign(&(diff / (2.0 * h)));
    }

    /// Checks that the model can read these rows (column indices in range, say);
    /// `Err(reason)` is reported as [`Error::InvalidConfig`] before any fit. Defaults to
    /// `Ok`.
    fn check_rows(&self, _rows: Rows<'_>) -> std::result::Result<(), String> {
        Ok(())
    }

    /// Writes (∂ψ(β; row t)/∂βᵀ)ᵀ V_t into row t of `out` (rows × p), for one k-vector
    /// V_t per row (the rows of `v`): the transposed per-row derivative that
    /// Windmeijer's correction contracts with. The default calls
    /// [`moments_derivative`](Self::moments_derivative) once per parameter; the
    /// built-in models override it with their closed form (one product per row).
    fn moments_derivative_transposed(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        v: ndarray::ArrayView2<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        let p = beta.len();
        let mut d = Array2::zeros((rows.len(), v.ncols()));
        for j in 0..p {
            let mut e_j = Array1::zeros(p);
            e_j[j] = 1.0;
            self.moments_derivative(beta, rows, e_j.view(), d.view_mut());
            let column = (&d * &v).sum_axis(ndarray::Axis(1));
            out.column_mut(j).assign(&column);
        }
    }

    /// Starting value for the optimiser (p values). Defaults to zeros.
    fn start(&self, rows: Rows<'_>) -> Array1<f64> {
        Array1::zeros(self.n_params(rows))
    }

    /// For an over-identified block (k > p): the k × k matrix S whose inverse weights
    /// step 1, which minimises ḡᵀS⁻¹ḡ. `None` (the default) uses the diagonal of
    /// (1/n) Σ_t ψ_t ψ_tᵀ at the starting value, which makes step 1 free of the
    /// moments' units. Linear IV returns ZᵀZ/n, so that step 1 is two-stage least
    /// squares. The metric must be a mean over the rows: rows read in batches (data
    /// kept out of memory) give it as the batches' metrics averaged with their rows as
    /// weights.
    fn step_one_metric(&self, _rows: Rows<'_>) -> Option<Array2<f64>> {
        None
    }

    /// Where the information equality holds under the model's working assumptions
    /// (Var ψ_t ∝ −∂ψ_t/∂βᵀ row by row: least squares with homoskedastic errors, the
    /// score of a canonical GLM such as logistic or Poisson regression), the working
    /// design: one row x̄_t per row with x̄_t x̄_tᵀ = −∂ψ_t/∂βᵀ (x_t for least squares,
    /// √μ'(x_tᵀβ) x_t for a GLM), in which the working errors are homoskedastic. The
    /// Bell–McCaffrey degrees of freedom of
    /// [`SmallSample::Hc2BellMcCaffrey`](crate::SmallSample::Hc2BellMcCaffrey) need it;
    /// without it (`None`, the default) they fall back to n − p.
    fn working_design(&self, _beta: ArrayView1<'_, f64>, _rows: Rows<'_>) -> Option<Array2<f64>> {
        None
    }

    /// Whether [`jacobian`](Self::jacobian) is the derivative of Σ ψ. Defaults to
    /// `true`. A model whose moments are not differentiable returns an estimate
    /// instead (the quantiles: a kernel density) and `false`; the solvers then solve
    /// the first-order conditions Jᵀr = 0 built with that estimate, by Newton steps
    /// corrected with the secant of the last step (Broyden's update).
    fn exact_jacobian(&self) -> bool {
        true
    }

    /// Whether the Jacobian depends on the outcome. Defaults to `false`, as for
    /// every index model (least squares, logistic, Poisson, IV), whose Jacobian reads
    /// the covariates only. Two things then hold that fail otherwise: a source's
    /// Jacobian at zero parameters measures its covariates' units against the real ones
    /// (the source-units map of PPI++, DSL and the selected cross weights), and PPI++
    /// may pool the imputed rows into its Hessian (ppi_py's convention). The quantiles
    /// return `true`: their Jacobian is the outcome's density, and their parameters are
    /// in the outcome's units, which a source shares.
    fn jacobian_reads_outcome(&self) -> bool {
        false
    }

    /// Whether ψ is affine in β (then one Gauss–Newton step is the exact, closed-form
    /// solution). Defaults to `false`.
    fn is_linear(&self) -> bool {
        false
    }

    /// Whether fixed effects may be absorbed from the data before the fit (the within
    /// transformation, [`DataSourcesBuilder::fixed_effects`](crate::DataSourcesBuilder::fixed_effects)):
    /// true where ψ is x(y − xᵀβ) or z(y − xᵀβ) with x, z and y all transformed: least
    /// squares, whose slopes then equal those of the regression with indicator columns,
    /// and linear IV, which becomes the within IV estimator (as Stata's `xtivreg2, fe`:
    /// equal to IV with indicators when just identified; over-identified, its weight
    /// is formed from the transformed instruments). Defaults to `false`.
    fn absorbs_fixed_effects(&self) -> bool {
        false
    }

    /// The scale of each parameter's confidence interval, given the labeled rows
    /// (see [`IntervalScale`](crate::IntervalScale)): θ's own scale by default;
    /// [`Mean`](crate::models::Mean) puts the mean of a 0/1 outcome, a proportion, on
    /// the logit scale. Tests and standard errors stay on θ's scale whatever this says.
    fn interval_scales(&self, rows: Rows<'_>) -> Vec<crate::IntervalScale> {
        vec![crate::IntervalScale::Identity; self.n_params(rows)]
    }

    /// For a binary outcome (every labeled value 0 or 1), the number of labeled rows
    /// `rows` holding its rarer value, and that value: the events of an
    /// events-per-coefficient rule. `None` (the default) for other outcomes.
    fn rare_outcomes(&self, _rows: Rows<'_>) -> Option<(usize, u8)> {
        None
    }

    /// Checks one outcome value; `Err(reason)` rejects it (e.g. logistic needs [0, 1]).
    fn check_outcome(&self, _y: f64) -> std::result::Result<(), &'static str> {
        Ok(())
    }

    /// Whether moving β along some of `directions` without bound improves the fit on
    /// these rows for ever: a certificate that no finite solution exists (separation
    /// in logistic regression). The estimators ask it about the directions the
    /// iterates moved in (the last step and the whole path, together, so that a test
    /// that reads every row reads them once), so it must be exact rather than a
    /// heuristic: `true` only when one of `directions` provably is such a direction.
    /// Defaults to `false`.
    fn any_recession_direction(
        &self,
        _directions: &[ArrayView1<'_, f64>],
        _rows: Rows<'_>,
    ) -> bool {
        false
    }
}

/// The model's shapes on these rows, checked once per fit: k ≥ p ≥ 1, a k × p Jacobian
/// and a start of p finite values. Returns (k, p).
///
/// # Errors
/// [`Error::ModelDimension`] naming what has the wrong shape, the expected and the
/// found shape; [`Error::InvalidConfig`] for a non-finite start.
pub(crate) fn check_shapes<M: MomentModel + ?Sized>(
    model: &M,
    rows: Rows<'_>,
) -> Result<(usize, usize)> {
    if let Err(reason) = model.check_rows(rows) {
        return Err(Error::InvalidConfig {
            parameter: "model",
            reason: format!("model `{}`: {reason}", model.name()),
        });
    }
    let (k, p) = (model.n_moments(rows), model.n_params(rows));
    let wrong = |what: &'static str, expected: String, found: String| Error::ModelDimension {
        model: model.name().to_string(),
        what,
        expected,
        found,
    };
    if p == 0 || k < p {
        return Err(wrong(
            "moment count",
            format!("at least {} (one per parameter)", p.max(1)),
            format!("{k} moments for {p} parameters"),
        ));
    }
    let start = model.start(rows);
    if start.len() != p {
        return Err(wrong(
            "starting value",
            p.to_string(),
            start.len().to_string(),
        ));
    }
    if start.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidConfig {
            parameter: "start",
            reason: format!(
                "model `{}` returned a non-finite starting value",
                model.name()
            ),
        });
    }
    // Shapes do not depend on the number of rows: check them on the first few.
    let head = rows.slice(0..rows.len().min(SHAPE_CHECK_ROWS));
    let jac = model.jacobian(start.view(), head, None);
    if jac.dim() != (k, p) {
        return Err(wrong(
            "Jacobian",
            format!("{k} × {p}"),
            format!("{} × {}", jac.nrows(), jac.ncols()),
        ));
    }
    if let Some(metric) = model.step_one_metric(head) {
        if metric.dim() != (k, k) {
            return Err(wrong(
                "step-1 metric",
                format!("{k} × {k}"),
                format!("{} × {}", metric.nrows(), metric.ncols()),
            ));
        }
    }
    Ok((k, p))
}

/// Rows on which [`check_shapes`] evaluates the Jacobian and the step-1 metric.
const SHAPE_CHECK_ROWS: usize = 16;

/// The model's starting value, with its shapes checked ([`check_shapes`]).
pub(crate) fn checked_start<M: MomentModel + ?Sized>(
    model: &M,
    rows: Rows<'_>,
) -> Result<Array1<f64>> {
    check_shapes(model, rows)?;
    Ok(model.start(rows))
}

/// The names of the model's p parameters on these data (see
/// [`MomentModel::parameter_names`]).
pub(crate) fn parameter_names<M: MomentModel + ?Sized>(
    model: &M,
    covariates: &[String],
    p: usize,
) -> Vec<String> {
    match model.parameter_names(covariates) {
        Some(names) if names.len() == p => names,
        _ if covariates.len() == p => covariates.to_vec(),
        _ => (0..p).map(|j| format!("b{j}")).collect(),
    }
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
    Always(Rows<'a>),
    /// On these rows, only when the solve fails: the equations contain these rows'
    /// score among other terms, and a failure may be caused by their separation.
    OnFailure(Rows<'a>),
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
) -> std::result::Result<crate::optim::Solution, SolveFailure> {
    let origin = start.clone();
    let escaped = |params: &Array1<f64>, last: Option<&Array1<f64>>, failed: bool| {
        let rows = match certify {
            Certify::Never => return false,
            Certify::OnFailure(..) if !failed => return false,
            Certify::Always(rows) | Certify::OnFailure(rows) => rows,
        };
        let travelled = params - &origin;
        let directions: Vec<ArrayView1<'_, f64>> = last
            .into_iter()
            .chain(std::iter::once(&travelled))
            .map(|d| d.view())
            .collect();
        model.any_recession_direction(&directions, rows)
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

/// ψ(β; row t) for every row, as a new rows × k matrix.
pub fn moment_matrix<M: MomentModel + ?Sized>(
    model: &M,
    beta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
) -> Array2<f64> {
    let mut out = Array2::zeros((rows.len(), model.n_moments(rows)));
    model.moments(beta, rows, out.view_mut());
    out
}

/// The outcome of [`check_jacobian`].
#[derive(Debug, Clone, PartialEq)]
pub struct JacobianCheck {
    /// Largest absolute difference between analytic and numerical entries.
    pub max_abs_error: f64,
    /// `max_abs_error` divided by the largest absolute numerical entry.
    pub relative_error: f64,
    /// Shape problems found (wrong Jacobian shape, wrong start length, k < p), in
    /// words; empty when the shapes are right.
    pub problems: Vec<String>,
}

impl JacobianCheck {
    /// Whether the shapes are right and the relative error is at most `tol` (1e-6 is a
    /// sensible choice).
    pub fn passes(&self, tol: f64) -> bool {
        self.problems.is_empty() && self.relative_error <= tol
    }
}

/// Checks a model's shapes (k ≥ p, a k × p [`MomentModel::jacobian`], p starting
/// values) and compares its Jacobian (unweighted and with uneven row weights) and
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
/// use synthgmm::{check_jacobian, models::Logistic, Rows};
/// let x = array![[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]];
/// let y = array![1.0, 0.0, 1.0];
/// let check = check_jacobian(&Logistic, array![0.2, -0.3].view(), Rows::new(x.view(), y.view())?);
/// assert!(check.passes(1e-6));
/// # Ok::<(), synthgmm::Error>(())
/// ```
pub fn check_jacobian<M: MomentModel + ?Sized>(
    model: &M,
    beta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
) -> JacobianCheck {
    let mut problems = Vec::new();
    if let Err(e) = check_shapes(model, rows) {
        problems.push(e.to_string());
    }
    let p = beta.len();
    if p != model.n_params(rows) {
        problems.push(format!(
            "beta has {p} values, the model has {} parameters",
            model.n_params(rows)
        ));
    }
    let mut gap = Discrepancy::default();
    for j in 0..p {
        compare_along(model, beta, rows, j, &mut gap);
    }
    JacobianCheck {
        max_abs_error: gap.max_abs,
        relative_error: gap.max_abs / gap.max_ref.max(f64::MIN_POSITIVE),
        problems,
    }
}

/// The largest |analytic − numeric| seen (infinite after a NaN) and the largest
/// |numeric|.
#[derive(Default)]
struct Discrepancy {
    max_abs: f64,
    max_ref: f64,
}

impl Discrepancy {
    fn compare(&mut self, analytic: f64, numeric: f64) {
        let diff = (analytic - numeric).abs();
        self.max_abs = if diff.is_nan() {
            f64::INFINITY
        } else {
            self.max_abs.max(diff)
        };
        self.max_ref = self.max_ref.max(numeric.abs());
    }
}

/// Every derivative the model provides, along coordinate j, against the central
/// difference: row by row, transposed, fused with the moments, and summed (unweighted
/// and weighted).
fn compare_along<M: MomentModel + ?Sized>(
    model: &M,
    beta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    j: usize,
    gap: &mut Discrepancy,
) {
    let (k, p) = (model.n_moments(rows), beta.len());
    let weights = Array1::from_shape_fn(rows.len(), |t| 0.5 + (t % 7) as f64 / 6.0);
    let numeric_rows = central_difference(beta, j, 1e-6, |b: &Array1<f64>| {
        moment_matrix(model, b.view(), rows)
    });
    // Row by row, along e_j.
    let mut analytic_rows = Array2::from_elem((rows.len(), k), f64::NAN);
    let mut e_j = Array1::zeros(p);
    e_j[j] = 1.0;
    model.moments_derivative(beta, rows, e_j.view(), analytic_rows.view_mut());
    for (&a, &n) in analytic_rows.iter().zip(&numeric_rows) {
        gap.compare(a, n);
    }
    // Transposed, row by row: (∂ψ_t/∂β)ᵀ V_t, column j against Σ_i ∂ψ_ti/∂β_j V_ti.
    let v = Array2::from_shape_fn((rows.len(), k), |(t, i)| {
        1.0 + ((t * 3 + i * 5) % 7) as f64 / 7.0
    });
    let mut transposed = Array2::from_elem((rows.len(), p), f64::NAN);
    model.moments_derivative_transposed(beta, rows, v.view(), transposed.view_mut());
    let numeric = (&numeric_rows * &v).sum_axis(ndarray::Axis(1));
    for (a, n) in transposed.column(j).iter().zip(&numeric) {
        gap.compare(*a, *n);
    }
    // The fused sweep agrees with the separate ones.
    let mut fused_rows = Array2::from_elem((rows.len(), k), f64::NAN);
    let fused = model.moments_and_jacobian(beta, rows, Some(weights.view()), fused_rows.view_mut());
    let separate = model.jacobian(beta, rows, Some(weights.view()));
    for (a, b) in fused.iter().zip(&separate) {
        gap.compare(*a, *b);
    }
    for (a, b) in fused_rows.iter().zip(&moment_matrix(model, beta, rows)) {
        gap.compare(*a, *b);
    }
    // Summed, unweighted and weighted.
    for w in [None, Some(weights.view())] {
        let analytic = model.jacobian(beta, rows, w);
        let numeric = match w {
            None => numeric_rows.sum_axis(ndarray::Axis(0)),
            Some(w) => w.dot(&numeric_rows),
        };
        for i in 0..k {
            gap.compare(
                analytic.get((i, j)).copied().unwrap_or(f64::NAN),
                numeric[i],
            );
        }
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
