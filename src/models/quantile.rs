//! Quantiles: ψ_j(θ; y) = q_j − 1{y ≤ θ_j}, smoothed, with a kernel density Jacobian.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

use crate::error::{Error, Result};
use crate::moment::MomentModel;
use crate::rows::Rows;

/// One or several quantiles of the outcome, θ_j = F⁻¹(q_j), one parameter per level,
/// whatever the covariates. A source's outcome is its model's prediction of the same
/// outcome, in the same units, so the GMM and PPI++ combine the labeled quantiles with
/// those of the predictions.
///
/// The two bandwidths below come from the labeled outcomes: build the model with
/// [`Quantile::new`] from them, or with [`Quantile::with_bandwidths`] to set the
/// bandwidths yourself.
///
/// # The estimating equation
/// The q-quantile θ solves E[q − 1{y ≤ θ}] = 0. Its sample version is a step function of
/// θ, which no Newton-type solver (and no GMM weighting of several such equations) can
/// drive to zero, so each indicator is replaced by a normal distribution function with a
/// small bandwidth h_s (a smoothed estimating equation, Kaplan & Sun 2017, Econometric
/// Theory 33):
///
/// ψ_j(θ; y) = q_j − Φ((θ_j − y) / h_s),  h_s = σ̂ / √n,
///
/// with n the labeled rows and σ̂ = min(sd, IQR / 1.34) of their outcomes. The smoothing
/// shifts the population root by O(h_s²) = O(1/n), negligible against the standard
/// error O(1/√n), so the estimator is first-order equivalent to the sample quantile.
///
/// # The Jacobian
/// The derivative of the indicator is the density f(θ). The Jacobian is its Gaussian
/// kernel estimate, −Σ_t w_t φ((θ_j − y_t)/h_d)/h_d, with Silverman's rule of thumb
/// h_d = 0.9 σ̂ n^(−1/5) (Silverman 1986, eq. 3.31), the bandwidth that balances the
/// estimate's bias and noise. It is deliberately not the derivative of the smoothed ψ
/// (whose bandwidth is too small for a stable density estimate), so the model reports
/// [`exact_jacobian`](MomentModel::exact_jacobian) `false`: the solvers then solve the
/// first-order conditions with this Jacobian by secant-corrected Newton steps, and
/// the sandwich uses it as the estimate of f(θ). statsmodels' `QuantReg` uses Hall and
/// Sheather's rule instead, wider in the tails and at the median (where it
/// underestimates f by a third at n = 100 for normal data); [`Quantile::with_bandwidths`]
/// takes any bandwidth.
///
/// # Small samples
/// The interval is a Wald interval. Near the median it covers as advertised from
/// n ≈ 100 labeled rows; in the tails (q ≤ 0.1 or ≥ 0.9) the sampling distribution of
/// a quantile is skewed until many rows lie beyond it and one bandwidth biases the
/// density where it is convex or concave: the interval covers 91–94% at n = 300 on the
/// designs of `docs/validation.md`, real-only as much as the estimators with sources. ppi_py's quantile interval inverts a test of
/// the CDF instead, which adapts to that skew but has no power tuning.
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::{models::Quantile, DataSources, TwoStepGmm};
/// let t = 2_000;
/// let x = Array2::from_elem((t, 1), 1.0);
/// let y = Array1::from_shape_fn(t, |i| ((i * 7919) % t) as f64 / t as f64); // uniform
/// let llm = y.mapv(|v| v + 0.05 * (v * 40.0).sin());                         // close
/// let labeled: Vec<bool> = (0..t).map(|i| i % 10 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("llm", &x, &llm).build()?;
/// let model = Quantile::new(&[0.25, 0.5], data.real_y())?;
/// let fit = TwoStepGmm::new(model).fit(&data)?;
/// assert_eq!(fit.estimate().names(), ["q0.25", "q0.5"]);
/// assert!((fit.theta()[1] - 0.5).abs() < 3.0 * fit.se()[1]);
/// assert!(fit.se()[1] < fit.real_only_se()[1]);
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Quantile {
    levels: Vec<f64>,
    smoothing: f64,
    bandwidths: Vec<f64>,
}

/// The constant of Silverman's rule of thumb, h = 0.9 σ̂ n^(−1/5).
const SILVERMAN: f64 = 0.9;
/// IQR / 1.34 estimates σ for normal data (statsmodels' constant).
const IQR_PER_SD: f64 = 1.34;

impl Quantile {
    /// The quantiles at `levels` (each in (0, 1), distinct), with both bandwidths from
    /// the labeled outcomes (`data.real_y()`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a level is outside (0, 1) or repeated, when there
    /// are fewer than two labeled outcomes, when one is not finite, or when they do not
    /// vary (no density can be estimated); [`Error::QuantileUnsupported`] when no
    /// labeled outcome lies below (or above) a level's sample quantile.
    pub fn new(levels: &[f64], labeled_outcomes: ArrayView1<'_, f64>) -> Result<Self> {
        check_levels(levels)?;
        let n = labeled_outcomes.len();
        if n < 2 || labeled_outcomes.iter().any(|y| !y.is_finite()) {
            return Err(invalid(format!(
                "the quantile bandwidths need at least two finite labeled outcomes; got {n}"
            )));
        }
        let scale = robust_scale(labeled_outcomes);
        check_both_sides(levels, labeled_outcomes)?;
        if scale <= 0.0 {
            return Err(invalid(
                "the labeled outcomes do not vary: no density can be estimated".to_string(),
            ));
        }
        let bandwidth = SILVERMAN * scale * (n as f64).powf(-0.2);
        let bandwidths = vec![bandwidth; levels.len()];
        Ok(Quantile {
            levels: levels.to_vec(),
            smoothing: scale / (n as f64).sqrt(),
            bandwidths,
        })
    }

    /// The quantiles at `levels` with the smoothing bandwidth h_s of ψ and one density
    /// bandwidth h_j per level, in the outcome's units.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a level outside (0, 1) or repeated, a bandwidth that
    /// is not positive and finite, or a count of bandwidths other than of levels.
    pub fn with_bandwidths(levels: &[f64], smoothing: f64, bandwidths: &[f64]) -> Result<Self> {
        check_levels(levels)?;
        if bandwidths.len() != levels.len() {
            return Err(invalid(format!(
                "{} density bandwidths for {} levels",
                bandwidths.len(),
                levels.len()
            )));
        }
        let positive = |h: f64| h.is_finite() && h > 0.0;
        if !positive(smoothing) || !bandwidths.iter().all(|&h| positive(h)) {
            return Err(invalid(
                "bandwidths must be positive and finite".to_string(),
            ));
        }
        Ok(Quantile {
            levels: levels.to_vec(),
            smoothing,
            bandwidths: bandwidths.to_vec(),
        })
    }

    /// The levels q_j.
    pub fn levels(&self) -> &[f64] {
        &self.levels
    }

    /// The smoothing bandwidth h_s of ψ.
    pub fn smoothing(&self) -> f64 {
        self.smoothing
    }

    /// The density bandwidth h_j of each level.
    pub fn bandwidths(&self) -> &[f64] {
        &self.bandwidths
    }

    /// Row t, level j: the kernel weight φ((θ_j − y_t)/h_j)/h_j.
    fn kernel(&self, beta: ArrayView1<'_, f64>, y: ArrayView1<'_, f64>) -> Array2<f64> {
        Array2::from_shape_fn((y.len(), self.levels.len()), |(t, j)| {
            let h = self.bandwidths[j];
            standard_normal().pdf((beta[j] - y[t]) / h) / h
        })
    }
}

impl MomentModel for Quantile {
    fn name(&self) -> &str {
        "quantile"
    }

    fn n_params(&self, _rows: Rows<'_>) -> usize {
        self.levels.len()
    }

    fn parameter_names(&self, _covariates: &[String]) -> Option<Vec<String>> {
        Some(self.levels.iter().map(|q| format!("q{q}")).collect())
    }

    /// ψ_j = q_j − Φ((θ_j − y_t)/h_s).
    fn moments(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>, mut out: ArrayViewMut2<'_, f64>) {
        let normal = standard_normal();
        for (mut row, &y) in out.rows_mut().into_iter().zip(rows.y()) {
            for (j, o) in row.iter_mut().enumerate() {
                *o = self.levels[j] - normal.cdf((beta[j] - y) / self.smoothing);
            }
        }
    }

    /// −diag(Σ_t w_t φ((θ_j − y_t)/h_j)/h_j): the kernel density estimate at each θ_j.
    fn jacobian(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64> {
        let kernel = self.kernel(beta, rows.y());
        let density = match weights {
            Some(w) => w.dot(&kernel),
            None => crate::linalg::column_sums(kernel.view(), false),
        };
        Array2::from_diag(&density.mapv(|d| -d))
    }

    /// Row t: −(φ((θ_j − y_t)/h_j)/h_j) v_j for each level j.
    fn moments_derivative(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        direction: ArrayView1<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        out.assign(&(self.kernel(beta, rows.y()) * &direction.mapv(|v| -v)));
    }

    fn moments_derivative_transposed(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        v: ArrayView2<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        out.assign(&(self.kernel(beta, rows.y()) * &v.mapv(|v| -v)));
    }

    /// The Jacobian is a kernel density estimate, not the derivative of Σ ψ.
    fn exact_jacobian(&self) -> bool {
        false
    }

    /// The Jacobian is the outcome's density; every source's quantiles are in the
    /// outcome's units.
    fn jacobian_reads_outcome(&self) -> bool {
        true
    }

    /// The sample quantiles of the rows' outcomes (zero without rows).
    fn start(&self, rows: Rows<'_>) -> Array1<f64> {
        let mut y = rows.y().to_vec();
        y.sort_by(f64::total_cmp);
        self.levels
            .iter()
            .map(|&q| interpolated_quantile(&y, q).unwrap_or(0.0))
            .collect()
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidConfig {
        parameter: "quantile",
        reason,
    }
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Each level in (0, 1) and no level twice.
fn check_levels(levels: &[f64]) -> Result<()> {
    if levels.is_empty() {
        return Err(invalid("at least one quantile level is needed".to_string()));
    }
    if let Some(q) = levels.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
        return Err(invalid(format!("level {q} is not in (0, 1)")));
    }
    for (i, q) in levels.iter().enumerate() {
        if levels[..i].contains(q) {
            return Err(invalid(format!("level {q} is given twice")));
        }
    }
    Ok(())
}

/// Some labeled outcome strictly below and some strictly above each level's sample
/// quantile y_(⌈nq⌉) (the inverse of the empirical distribution function): otherwise
/// the level is beyond the labeled rows (nq < 1, or n(1 − q) ≤ 1) or on an atom that
/// holds every outcome on one side (a binary outcome, say), where the smoothed equation
/// has no root near the data and no density can be estimated.
fn check_both_sides(levels: &[f64], y: ArrayView1<'_, f64>) -> Result<()> {
    let mut sorted = y.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    for &level in levels {
        let rank = ((n as f64 * level).ceil() as usize).clamp(1, n);
        let value = sorted[rank - 1];
        let below = sorted.partition_point(|&v| v < value);
        let above = n - sorted.partition_point(|&v| v <= value);
        let side = match (below, above) {
            (0, _) => "below",
            (_, 0) => "above",
            _ => continue,
        };
        return Err(Error::QuantileUnsupported {
            level,
            labeled: n,
            side,
            value,
        });
    }
    Ok(())
}

/// The linearly interpolated quantile of sorted values (numpy's default), `None` when
/// there are none.
fn interpolated_quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q * last as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(last);
    let fraction = position - below as f64;
    Some(sorted[below] + fraction * (sorted[above] - sorted[below]))
}

/// σ̂ = min(sd, IQR / 1.34), sd with divisor n, the IQR interpolated (statsmodels'
/// `QuantReg` scale); the sd alone when the IQR is zero.
fn robust_scale(y: ArrayView1<'_, f64>) -> f64 {
    let sd = y.std(0.0);
    let mut sorted = y.to_vec();
    sorted.sort_by(f64::total_cmp);
    let iqr = interpolated_quantile(&sorted, 0.75).unwrap_or(0.0)
        - interpolated_quantile(&sorted, 0.25).unwrap_or(0.0);
    if iqr > 0.0 {
        sd.min(iqr / IQR_PER_SD)
    } else {
        sd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn interpolated_quantiles_are_numpys() {
        let y = [1.0, 2.0, 4.0, 8.0];
        // numpy.quantile([1, 2, 4, 8], [0.25, 0.5, 0.9]) = 1.75, 3.0, 6.8
        for (q, expected) in [(0.25, 1.75), (0.5, 3.0), (0.9, 6.8)] {
            approx::assert_relative_eq!(
                interpolated_quantile(&y, q).unwrap(),
                expected,
                max_relative = 1e-12
            );
        }
        assert_eq!(interpolated_quantile(&[], 0.5), None);
    }

    #[test]
    fn bad_levels_and_outcomes_are_refused() {
        let y = array![1.0, 2.0, 3.0];
        for levels in [&[][..], &[0.0], &[1.0], &[f64::NAN], &[0.5, 0.5]] {
            assert!(Quantile::new(levels, y.view()).is_err(), "{levels:?}");
        }
        assert!(Quantile::new(&[0.5], array![1.0].view()).is_err());
        assert!(Quantile::new(&[0.5], array![2.0, 2.0, 2.0].view()).is_err());
        assert!(Quantile::new(&[0.5], array![1.0, f64::INFINITY].view()).is_err());
        assert!(Quantile::with_bandwidths(&[0.5], 0.0, &[1.0]).is_err());
        assert!(Quantile::with_bandwidths(&[0.5], 0.1, &[1.0, 2.0]).is_err());
    }

    /// A level beyond 60 labeled rows (nq = 0.06, or n(1 − q) = 0.06) and the median of
    /// a binary outcome (an atom holding every outcome below it) are refused with the
    /// side named; a level one rank inside the data is accepted.
    #[test]
    fn quantiles_beyond_the_labeled_outcomes_are_refused() {
        let y = Array1::from_shape_fn(60, |i| ((i * 37) % 60) as f64);
        let side = |levels: &[f64], y: ArrayView1<'_, f64>| match Quantile::new(levels, y) {
            Err(Error::QuantileUnsupported { side, level, .. }) => Some((side, level)),
            _ => None,
        };
        assert_eq!(side(&[0.5, 0.001], y.view()), Some(("below", 0.001)));
        assert_eq!(side(&[0.999], y.view()), Some(("above", 0.999)));
        assert!(Quantile::new(&[0.02, 0.5, 0.98], y.view()).is_ok());
        let binary = Array1::from_shape_fn(60, |i| f64::from(i % 5 < 2));
        assert_eq!(side(&[0.5], binary.view()), Some(("below", 0.5)));
        assert_eq!(side(&[0.7], binary.view()), Some(("above", 0.7)));
    }
}
