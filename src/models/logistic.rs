//! Logistic regression: ψ(β; x, y) = x (y − σ(xᵀβ)).

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Zip};

use crate::moment::MomentModel;

/// Linear predictors beyond this size in absolute value give fitted probabilities within
/// 1e-13 of 0 or 1; a correctly classified row there signals (quasi-)separation.
const SEPARATION_MARGIN: f64 = 30.0;

/// The logistic function σ(z) = 1 / (1 + e^{−z}), evaluated without overflow.
///
/// # Examples
/// ```
/// use synthgmm::models::sigmoid;
/// assert_eq!(sigmoid(0.0), 0.5);
/// assert!(sigmoid(-800.0) >= 0.0 && sigmoid(800.0) == 1.0);
/// ```
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Logistic regression, ψ(β; x, y) = x (y − σ(xᵀβ)), the score of the Bernoulli
/// log-likelihood; outcomes must lie in [0, 1] (fractional outcomes give the
/// quasi-likelihood estimator).
///
/// The Jacobian is −Σ_t w_t σ_t (1 − σ_t) x_t x_tᵀ, so Gauss–Newton on the labeled rows
/// alone is Fisher scoring. When the data are (quasi-)separated the estimate diverges
/// and the estimators report [`Error::Separation`](crate::Error::Separation).
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{check_jacobian, models::Logistic, MomentModel};
/// let x = array![[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]];
/// let y = array![1.0, 0.0, 1.0];
/// assert!(check_jacobian(&Logistic, array![0.2, -0.3].view(), x.view(), y.view()).passes(1e-6));
/// assert!(Logistic.check_outcome(1.5).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Logistic;

impl MomentModel for Logistic {
    fn name(&self) -> &str {
        "logistic"
    }

    fn moments(
        &self,
        beta: ArrayView1<'_, f64>,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
    ) {
        let eta = x.dot(&beta);
        Zip::from(out.rows_mut())
            .and(x.rows())
            .and(&eta)
            .and(&y)
            .for_each(|mut o, xt, &e, &yt| {
                let r = yt - sigmoid(e);
                Zip::from(&mut o).and(&xt).for_each(|o, &xj| *o = xj * r);
            });
    }

    fn jacobian(
        &self,
        beta: ArrayView1<'_, f64>,
        x: ArrayView2<'_, f64>,
        _y: ArrayView1<'_, f64>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Array2<f64> {
        let eta = x.dot(&beta);
        let g = super::scaled_gram(
            x,
            |t| {
                let s = sigmoid(eta[t]);
                s * (1.0 - s)
            },
            weights,
        );
        -g
    }

    fn check_outcome(&self, y: f64) -> Result<(), &'static str> {
        if (0.0..=1.0).contains(&y) {
            Ok(())
        } else {
            Err("logistic outcomes must lie in [0, 1]")
        }
    }

    fn is_separated(
        &self,
        beta: ArrayView1<'_, f64>,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> bool {
        if beta.iter().any(|b| !b.is_finite()) {
            return true;
        }
        let eta = x.dot(&beta);
        eta.iter().zip(y).any(|(&e, &yt)| {
            e.abs() > SEPARATION_MARGIN && ((e > 0.0 && yt == 1.0) || (e < 0.0 && yt == 0.0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moment::check_jacobian;
    use approx::assert_relative_eq;
    use ndarray::array;

    #[test]
    fn sigmoid_is_stable_and_symmetric() {
        for z in [-745.0, -40.0, -1.0, 0.0, 1.0, 40.0, 745.0] {
            let s = sigmoid(z);
            assert!((0.0..=1.0).contains(&s));
            assert_relative_eq!(s + sigmoid(-z), 1.0, epsilon = 1e-15);
        }
        assert_relative_eq!(sigmoid(1.0), 1.0 / (1.0 + (-1.0f64).exp()), epsilon = 1e-16);
    }

    #[test]
    fn jacobian_matches_finite_differences() {
        let x = Array2::from_shape_fn((30, 3), |(t, j)| {
            if j == 0 {
                1.0
            } else {
                ((t * 5 + j) % 9) as f64 / 4.0 - 1.0
            }
        });
        let y = Array1::from_shape_fn(30, |t| (t % 3 == 0) as u8 as f64);
        let check = check_jacobian(&Logistic, array![0.3, -0.7, 1.1].view(), x.view(), y.view());
        assert!(check.passes(1e-7), "{check:?}");
    }

    #[test]
    fn separation_detected_only_for_diverged_fits() {
        let x = array![[1.0, -1.0], [1.0, 1.0]];
        let y = array![0.0, 1.0];
        assert!(Logistic.is_separated(array![0.0, 40.0].view(), x.view(), y.view()));
        assert!(!Logistic.is_separated(array![0.0, 2.0].view(), x.view(), y.view()));
    }

    use ndarray::Array1;
}
