//! The mean: ψ(μ; y) = y − μ.

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2};

use crate::interval_scale::IntervalScale;
use crate::moment::MomentModel;
use crate::rows::Rows;

/// The population mean of the outcome, ψ(μ; y) = y − μ: one parameter, whatever the
/// covariates. With M sources this is the most common use of the method: a prevalence
/// or an average rating estimated from a few human labels and many model annotations.
/// When every labeled outcome is 0 or 1 the mean is a proportion, and every estimator
/// forms its interval on the logit scale ([`IntervalScale::Logit`]), inside (0, 1).
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::{models::Mean, DataSources, TwoStepGmm};
/// let t = 400;
/// let x = Array2::from_elem((t, 1), 1.0);
/// let e = Array1::from_shape_fn(t, |i| (i as f64 * 1.9).cos());
/// let y = 0.3 + &e;
/// let llm = 0.5 + 0.9 * &e;                                  // biased but informative
/// let labeled: Vec<bool> = (0..t).map(|i| i % 8 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("llm", &x, &llm).build()?;
/// let fit = TwoStepGmm::new(Mean).fit(&data)?;
/// assert_eq!(fit.estimate().names(), ["mean"]);
/// assert!(fit.se()[0] < fit.real_only_se()[0]);
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mean;

impl MomentModel for Mean {
    fn working_design(&self, _beta: ArrayView1<'_, f64>, rows: Rows<'_>) -> Option<Array2<f64>> {
        Some(Array2::ones((rows.len(), 1)))
    }
    fn name(&self) -> &str {
        "mean"
    }

    fn n_params(&self, _rows: Rows<'_>) -> usize {
        1
    }

    fn parameter_names(&self, _covariates: &[String]) -> Option<Vec<String>> {
        Some(vec!["mean".to_string()])
    }

    fn moments(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>, mut out: ArrayViewMut2<'_, f64>) {
        out.column_mut(0).assign(&rows.y().mapv(|y| y - beta[0]));
    }

    fn jacobian(
        &self,
        _beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64> {
        let total = weights.map_or(rows.len() as f64, |w| w.sum());
        Array2::from_elem((1, 1), -total)
    }

    fn moments_derivative(
        &self,
        _beta: ArrayView1<'_, f64>,
        _rows: Rows<'_>,
        direction: ArrayView1<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        out.fill(-direction[0]);
    }

    fn moments_derivative_transposed(
        &self,
        _beta: ArrayView1<'_, f64>,
        _rows: Rows<'_>,
        v: ArrayView2<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        out.column_mut(0).assign(&v.column(0).mapv(|x| -x));
    }

    fn is_linear(&self) -> bool {
        true
    }

    /// The logit scale when every labeled outcome is 0 or 1: the mean is a proportion.
    fn interval_scales(&self, rows: Rows<'_>) -> Vec<IntervalScale> {
        let binary = !rows.is_empty() && rows.y().iter().all(|&y| y == 0.0 || y == 1.0);
        vec![if binary {
            IntervalScale::Logit
        } else {
            IntervalScale::Identity
        }]
    }
}
