//! Poisson regression: ψ(β; x, y) = x (y − exp(xᵀβ)).

use ndarray::{Array2, ArrayView1};

use crate::moment::MomentModel;
use crate::rows::Rows;

/// Poisson (log-link) regression, ψ(β; x, y) = x (y − exp(xᵀβ)), the score of the
/// Poisson log-likelihood; outcomes must be non-negative (counts, or rates for the
/// quasi-likelihood estimator). The Jacobian is −Σ_t w_t exp(x_tᵀβ) x_t x_tᵀ.
///
/// No finite estimate exists when some direction d lowers the mean of rows with zero
/// counts and leaves the others unchanged (x_tᵀd ≤ 0 where y_t = 0, = 0 where y_t > 0,
/// < 0 somewhere); the estimators report [`Error::Separation`](crate::Error::Separation).
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{check_jacobian, models::Poisson, MomentModel, Rows};
/// let x = array![[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]];
/// let y = array![1.0, 0.0, 4.0];
/// assert!(check_jacobian(&Poisson, array![0.2, 0.3].view(), Rows::new(x.view(), y.view())?).passes(1e-6));
/// assert!(Poisson.check_outcome(-1.0).is_err());
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Poisson;

/// The poisson inverse link.
struct LogLink;

impl super::Link for LogLink {
    fn mean(eta: f64) -> f64 {
        eta.exp()
    }
    fn slope(mean: f64) -> f64 {
        mean
    }
}

impl MomentModel for Poisson {
    fn working_design(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>) -> Option<Array2<f64>> {
        Some(super::glm_working_design::<LogLink>(beta, rows))
    }
    fn name(&self) -> &str {
        "poisson"
    }

    super::glm_moment_methods!(LogLink);

    fn check_outcome(&self, y: f64) -> Result<(), &'static str> {
        if y >= 0.0 {
            Ok(())
        } else {
            Err("Poisson outcomes must be non-negative")
        }
    }

    /// Some d of `directions` lowers the mean of zero-count rows only: x_tᵀd ≤ 0 where
    /// y_t = 0 and x_tᵀd = 0 where y_t > 0 (to 1e-7 of Σ_j max_t |x_tj| |d_j|), < 0 on
    /// some row.
    fn any_recession_direction(&self, directions: &[ArrayView1<'_, f64>], rows: Rows<'_>) -> bool {
        super::recession(
            directions,
            rows,
            |y, s, slack| {
                if y == 0.0 {
                    s <= slack
                } else {
                    s.abs() <= slack
                }
            },
            |s, slack| s < -slack,
        )
    }
}
