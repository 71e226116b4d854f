//! Linear instrumental variables: ψ(β; row) = z (y − xᵀβ).

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};

use crate::moment::MomentModel;
use crate::rows::Rows;

/// Linear instrumental-variables regression, ψ(β; row t) = z_t (y_t − x_tᵀβ), the
/// moment condition of two-stage least squares and of linear IV-GMM.
///
/// x holds every regressor (exogenous and endogenous, with a column of ones for an
/// intercept); the instruments are z_t = [the exogenous columns of x; the named extra
/// columns], so k = |exogenous| + |instruments| moments for p = columns of x
/// parameters, k ≥ p. With k > p the model is over-identified: step 1 of each block is
/// two-stage least squares (weight (ZᵀZ/n)⁻¹, as linearmodels' `IVGMM` starts), step 2
/// the efficient GMM, and the J test has k(1 + 2M) − p(1 + M) degrees of freedom.
///
/// A source supplies its own x, y and instrument columns (an instrument observed on
/// every row is shared with [`DataSourcesBuilder::column`](crate::DataSourcesBuilder::column)).
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::{models::LinearIv, DataSources, TwoStepGmm};
/// let t = 600;
/// let u = Array1::from_shape_fn(t, |i| (i as f64 * 1.3).sin());        // confounder
/// let z1 = Array1::from_shape_fn(t, |i| (i as f64 * 0.71).cos());
/// let z2 = Array1::from_shape_fn(t, |i| (i as f64 * 2.9).sin());
/// let d = &z1 + &(0.5 * &z2) + &u;                                      // endogenous
/// let y = 1.0 + 2.0 * &d + 2.0 * &u + Array1::from_shape_fn(t, |i| (i as f64 * 3.7).cos());
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { d[i] });
/// let proxy = &y + &Array1::from_shape_fn(t, |i| 0.3 * (i as f64 * 0.37).sin());
/// let labeled: Vec<bool> = (0..t).map(|i| i % 3 == 0).collect();
/// let data = DataSources::builder(&labeled)
///     .real(&x, &y)
///     .source("proxy", &x, &proxy)
///     .column("z1", &z1)
///     .column("z2", &z2)
///     .build()?;
/// let fit = TwoStepGmm::new(LinearIv::new([0], ["z1", "z2"])).fit(&data)?;
/// assert_eq!(fit.j_test().df, 3 * 3 - 2 * 2); // k(1 + 2M) − p(1 + M)
/// assert!((fit.theta()[1] - 2.0).abs() < 4.0 * fit.se()[1]);
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinearIv {
    pub(super) exogenous: Vec<usize>,
    pub(super) instruments: Vec<String>,
}

impl LinearIv {
    /// Instruments: the columns of x at the `exogenous` indices (e.g. `[0]` for the
    /// intercept), then the extra columns named in `instruments`.
    pub fn new<S: Into<String>>(
        exogenous: impl IntoIterator<Item = usize>,
        instruments: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            exogenous: exogenous.into_iter().collect(),
            instruments: instruments.into_iter().map(Into::into).collect(),
        }
    }

    /// The columns of x that instrument themselves (exogenous), by index.
    pub fn exogenous(&self) -> &[usize] {
        &self.exogenous
    }

    /// The excluded instruments' column names.
    pub fn instrument_names(&self) -> &[String] {
        &self.instruments
    }

    /// The instrument matrix Z (rows × k); columns the rows lack are zero (the data
    /// are checked to carry them before any fit).
    pub(super) fn instruments(&self, rows: Rows<'_>) -> Array2<f64> {
        let x = rows.x();
        let mut z = Array2::zeros((rows.len(), self.exogenous.len() + self.instruments.len()));
        for (j, &c) in self.exogenous.iter().enumerate() {
            if c < x.ncols() {
                z.column_mut(j).assign(&x.column(c));
            }
        }
        for (j, name) in self.instruments.iter().enumerate() {
            if let Some(col) = rows.column(name) {
                z.column_mut(self.exogenous.len() + j).assign(&col);
            }
        }
        z
    }
}

impl MomentModel for LinearIv {
    fn name(&self) -> &str {
        "linear-iv"
    }

    fn n_moments(&self, _rows: Rows<'_>) -> usize {
        self.exogenous.len() + self.instruments.len()
    }

    fn required_columns(&self) -> Vec<String> {
        self.instruments.clone()
    }

    fn check_rows(&self, rows: Rows<'_>) -> Result<(), String> {
        match self.exogenous.iter().find(|&&c| c >= rows.x().ncols()) {
            Some(c) => Err(format!(
                "exogenous column {c} does not exist: x has {} columns",
                rows.x().ncols()
            )),
            None => Ok(()),
        }
    }

    fn moments(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>, out: ArrayViewMut2<'_, f64>) {
        let resid = &rows.y() - &rows.x().dot(&beta);
        super::scale_rows(self.instruments(rows).view(), resid.view(), out);
    }

    fn jacobian(
        &self,
        _beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64> {
        let mut z = self.instruments(rows);
        if let Some(w) = weights {
            z *= &w.insert_axis(Axis(1));
        }
        -crate::linalg::cross_product(z.view(), rows.x())
    }

    /// (∂ψ_t/∂βᵀ) v = −z_t (x_tᵀv).
    fn moments_derivative(
        &self,
        _beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        direction: ArrayView1<'_, f64>,
        out: ArrayViewMut2<'_, f64>,
    ) {
        let slope = rows.x().dot(&direction).mapv(|s| -s);
        super::scale_rows(self.instruments(rows).view(), slope.view(), out);
    }

    /// (∂ψ_t/∂βᵀ)ᵀ V_t = −x_t (z_tᵀV_t).
    fn moments_derivative_transposed(
        &self,
        _beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        v: ArrayView2<'_, f64>,
        out: ArrayViewMut2<'_, f64>,
    ) {
        let z = self.instruments(rows);
        let slope = (&z * &v).sum_axis(Axis(1)).mapv(|s| -s);
        super::scale_rows(rows.x(), slope.view(), out);
    }

    /// ZᵀZ / n: step 1 is two-stage least squares.
    fn step_one_metric(&self, rows: Rows<'_>) -> Option<Array2<f64>> {
        let z = self.instruments(rows);
        Some(crate::linalg::gram(z.view()) / rows.len().max(1) as f64)
    }

    fn absorbs_fixed_effects(&self) -> bool {
        true
    }
    fn is_linear(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moment::check_jacobian;
    use ndarray::{array, Array1};

    #[test]
    fn jacobian_and_shapes_check_out() {
        let x = Array2::from_shape_fn(
            (20, 2),
            |(t, j)| if j == 0 { 1.0 } else { (t as f64).sin() },
        );
        let y = Array1::from_shape_fn(20, |t| (t as f64 * 0.3).cos());
        let z = Array2::from_shape_fn((20, 2), |(t, j)| ((t + j) as f64 * 0.7).sin());
        let names = vec!["a".to_string(), "b".to_string()];
        let rows = Rows::with_columns(x.view(), y.view(), z.view(), &names).unwrap();
        let iv = LinearIv::new([0], ["a", "b"]);
        let check = check_jacobian(&iv, array![0.2, -0.5].view(), rows);
        assert!(check.passes(1e-8), "{check:?}");
        // A missing exogenous column is reported, not a panic.
        let bad = check_jacobian(&LinearIv::new([5], ["a"]), array![0.2, -0.5].view(), rows);
        assert!(!bad.passes(1e-8) && !bad.problems.is_empty());
        // Fewer instruments than regressors.
        let under = check_jacobian(
            &LinearIv::new([0], Vec::<String>::new()),
            array![0.2, -0.5].view(),
            rows,
        );
        assert!(
            under.problems.iter().any(|p| p.contains("moment count")),
            "{under:?}"
        );
    }
}
