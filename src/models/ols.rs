//! Least squares: ψ(β; x, y) = x (y − xᵀβ).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};

use super::Along;
use crate::moment::MomentModel;
use crate::rows::Rows;

/// Ordinary least squares, ψ(β; x, y) = x (y − xᵀβ).
///
/// The Jacobian is −Σ_t w_t x_t x_tᵀ, constant in β, so every step of the estimator
/// has a closed form. Include a column of ones in x for an intercept.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{check_jacobian, models::Ols, Rows};
/// let x = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]];
/// let y = array![1.0, 3.0, 5.0];
/// assert!(check_jacobian(&Ols, array![0.0, 0.0].view(), Rows::new(x.view(), y.view())?).passes(1e-8));
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ols;

impl MomentModel for Ols {
    fn working_design(&self, _beta: ArrayView1<'_, f64>, rows: Rows<'_>) -> Option<Array2<f64>> {
        Some(rows.x().to_owned())
    }
    fn name(&self) -> &str {
        "ols"
    }

    fn moments(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>, out: ArrayViewMut2<'_, f64>) {
        let x = rows.x();
        let mut resid = super::linear_predictor(x, beta);
        Zip::from(&mut resid)
            .and(rows.y())
            .for_each(|r, &y| *r = y - *r);
        super::scale_rows(x, resid.view(), out);
    }

    fn jacobian(
        &self,
        _beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64> {
        let x = rows.x();
        match weights {
            None => -crate::linalg::gram(x),
            Some(w) => {
                let xw = &x * &w.insert_axis(Axis(1));
                -crate::linalg::cross_product(xw.view(), x)
            }
        }
    }

    /// (∂ψ_t/∂βᵀ) v = −x_t (x_tᵀv).
    /// Σψ = Xᵀy − XᵀXβ and the Jacobian −XᵀX, from the rows where they lie.
    fn moment_and_jacobian_sums(
        &self,
        beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
    ) -> (Array1<f64>, Array2<f64>) {
        let x = rows.x();
        let xtx = crate::linalg::gram(x);
        let xty = crate::linalg::cross_product(x, rows.y().insert_axis(Axis(1)));
        let sum = xty.column(0).to_owned() - xtx.dot(&beta);
        (sum, -xtx)
    }

    fn moments_derivative(
        &self,
        _beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        direction: ArrayView1<'_, f64>,
        out: ArrayViewMut2<'_, f64>,
    ) {
        super::glm_derivative(rows.x(), Along::Direction(direction), |_| 1.0, out);
    }

    /// (∂ψ_t/∂βᵀ)ᵀ V_t = −x_t (x_tᵀV_t).
    fn moments_derivative_transposed(
        &self,
        _beta: ArrayView1<'_, f64>,
        rows: Rows<'_>,
        v: ArrayView2<'_, f64>,
        out: ArrayViewMut2<'_, f64>,
    ) {
        super::glm_derivative(rows.x(), Along::PerRow(v), |_| 1.0, out);
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
    use crate::moment::{check_jacobian, moment_matrix};
    use crate::rows::Rows;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn moments_match_definition() {
        let x = array![[1.0, 2.0], [1.0, -1.0]];
        let y = array![3.0, 0.5];
        let psi = moment_matrix(
            &Ols,
            array![0.5, 1.0].view(),
            Rows::new(x.view(), y.view()).unwrap(),
        );
        // residuals 3 − 2.5 = 0.5 and 0.5 − (−0.5) = 1.0
        assert_abs_diff_eq!(psi, array![[0.5, 1.0], [1.0, -1.0]], epsilon = 1e-15);
    }

    #[test]
    fn jacobian_matches_finite_differences() {
        let x = Array2::from_shape_fn((25, 3), |(t, j)| ((t * 7 + j * 3) % 11) as f64 / 5.0 - 1.0);
        let y = x.column(1).mapv(|v| 2.0 * v + 0.3);
        let check = check_jacobian(
            &Ols,
            array![0.1, -0.4, 2.0].view(),
            Rows::new(x.view(), y.view()).unwrap(),
        );
        assert!(check.passes(1e-8), "{check:?}");
    }

    /// The closed-form sums equal the summed per-row moments and the Jacobian.
    #[test]
    fn sums_match_the_per_row_moments() {
        let x = Array2::from_shape_fn((40, 3), |(t, j)| ((t * 5 + j * 7) % 13) as f64 / 4.0 - 1.5);
        let y = x.column(2).mapv(|v| 0.7 - v) + x.column(0).mapv(f64::sin);
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let beta = array![0.2, -1.1, 0.4];
        let (sum, jacobian) = Ols.moment_and_jacobian_sums(beta.view(), rows);
        let psi = moment_matrix(&Ols, beta.view(), rows);
        assert_abs_diff_eq!(sum, psi.sum_axis(Axis(0)), epsilon = 1e-12);
        assert_abs_diff_eq!(jacobian, -x.t().dot(&x), epsilon = 1e-12);
    }
}
