//! Logistic regression: ψ(β; x, y) = x (y − σ(xᵀβ)).

use ndarray::{Array2, ArrayView1};

use crate::moment::MomentModel;
use crate::rows::Rows;

/// The logistic function σ(z) = 1 / (1 + e^{−z}), evaluated without overflow.
///
/// # Examples
/// ```
/// use synthgmm::models::sigmoid;
/// assert_eq!(sigmoid(0.0), 0.5);
/// assert!(sigmoid(-800.0) >= 0.0 && sigmoid(800.0) == 1.0);
/// ```
pub fn sigmoid(z: f64) -> f64 {
    // e = e^{−|z|} ≤ 1 never overflows; σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) below,
    // chosen by a select rather than a branch (the sign of xᵀβ is unpredictable).
    let e = (-z.abs()).exp();
    let numerator = if z >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
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
/// use synthgmm::{check_jacobian, models::Logistic, MomentModel, Rows};
/// let x = array![[1.0, 0.5], [1.0, -1.0], [1.0, 2.0]];
/// let y = array![1.0, 0.0, 1.0];
/// assert!(check_jacobian(&Logistic, array![0.2, -0.3].view(), Rows::new(x.view(), y.view())?).passes(1e-6));
/// assert!(Logistic.check_outcome(1.5).is_err());
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Logistic;

/// The logistic inverse link.
struct LogitLink;

impl super::Link for LogitLink {
    fn mean(eta: f64) -> f64 {
        sigmoid(eta)
    }
    fn slope(mean: f64) -> f64 {
        mean * (1.0 - mean)
    }
}

impl MomentModel for Logistic {
    fn working_design(&self, beta: ArrayView1<'_, f64>, rows: Rows<'_>) -> Option<Array2<f64>> {
        Some(super::glm_working_design::<LogitLink>(beta, rows))
    }
    fn name(&self) -> &str {
        "logistic"
    }
    fn rare_outcomes(&self, rows: Rows<'_>) -> Option<(usize, u8)> {
        let y = rows.y();
        if !y.iter().all(|&v| v == 0.0 || v == 1.0) {
            return None;
        }
        let ones = y.iter().filter(|&&v| v == 1.0).count();
        let zeros = y.len() - ones;
        Some(if ones <= zeros { (ones, 1) } else { (zeros, 0) })
    }

    super::glm_moment_methods!(LogitLink);

    fn check_outcome(&self, y: f64) -> Result<(), &'static str> {
        if (0.0..=1.0).contains(&y) {
            Ok(())
        } else {
            Err("logistic outcomes must lie in [0, 1]")
        }
    }

    /// Some d of `directions` is a recession direction of the log-likelihood when it
    /// never lowers the fit of
    /// any row and improves some: x_tᵀd ≥ 0 where y_t = 1, x_tᵀd ≤ 0 where y_t = 0,
    /// x_tᵀd = 0 where 0 < y_t < 1 (each to 1e-7 of Σ_j max_t |x_tj| |d_j|), and x_tᵀd ≠ 0
    /// on some row. Such a d exists exactly when the data are (quasi-)separated
    /// (Albert and Anderson 1984), and a finite maximum-likelihood estimate admits none.
    fn any_recession_direction(&self, directions: &[ArrayView1<'_, f64>], rows: Rows<'_>) -> bool {
        super::recession(
            directions,
            rows,
            |y, s, slack| {
                if y == 1.0 {
                    s >= -slack
                } else if y == 0.0 {
                    s <= slack
                } else {
                    s.abs() <= slack
                }
            },
            |s, slack| s.abs() > slack,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moment::check_jacobian;
    use crate::rows::Rows;
    use approx::assert_relative_eq;
    use ndarray::{array, Array1, Array2};

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
        let check = check_jacobian(
            &Logistic,
            array![0.3, -0.7, 1.1].view(),
            Rows::new(x.view(), y.view()).unwrap(),
        );
        assert!(check.passes(1e-7), "{check:?}");
    }

    /// The GLMs' moment sums, which never form the rows' moments, are the (weighted)
    /// column sums of those moments, on row-major rows and on a column block of a
    /// wider matrix.
    #[test]
    fn moment_sums_are_the_moments_column_sums() {
        use crate::models::Poisson;
        use crate::moment::moment_matrix;
        let wide = Array2::from_shape_fn((40, 4), |(t, j)| match j {
            0 => 1.0,
            _ => ((t * 7 + 3 * j) % 11) as f64 / 5.0 - 1.0,
        });
        let y = Array1::from_shape_fn(40, |t| (t % 4 == 1) as u8 as f64);
        let w = Array1::from_shape_fn(40, |t| 0.5 + (t % 3) as f64);
        let beta = array![0.2, -0.4, 0.6];
        let contiguous = wide.slice(ndarray::s![.., ..3]).to_owned();
        for x in [contiguous.view(), wide.slice(ndarray::s![.., 1..])] {
            let rows = Rows::new(x, y.view()).unwrap();
            for model in [&Logistic as &dyn MomentModel, &Poisson] {
                let psi = moment_matrix(model, beta.view(), rows);
                let by_rows = psi.t().dot(&w);
                let summed = model.moment_sums(beta.view(), rows, Some(w.view()));
                for (a, b) in summed.iter().zip(&by_rows) {
                    assert_relative_eq!(*a, *b, max_relative = 1e-13, epsilon = 1e-13);
                }
                let unweighted = model.moment_sums(beta.view(), rows, None);
                for (a, b) in unweighted.iter().zip(psi.sum_axis(ndarray::Axis(0)).iter()) {
                    assert_relative_eq!(*a, *b, max_relative = 1e-13, epsilon = 1e-13);
                }
            }
        }
    }

    #[test]
    fn recession_directions_certify_separation() {
        let x = array![[1.0, -1.0], [1.0, 1.0], [1.0, 0.0]];
        let y = array![0.0, 1.0, 0.5];
        // The slope direction separates the binary rows and leaves the fractional one.
        assert!(Logistic.any_recession_direction(
            &[array![0.0, 1.0].view()],
            Rows::new(x.view(), y.view()).unwrap()
        ));
        assert!(!Logistic.any_recession_direction(
            &[array![0.0, -1.0].view()],
            Rows::new(x.view(), y.view()).unwrap()
        ));
        // Moving the intercept changes the fractional row's fit: not a recession direction.
        assert!(!Logistic.any_recession_direction(
            &[array![1.0, 1.0].view()],
            Rows::new(x.view(), y.view()).unwrap()
        ));
        // Overlapping data admit none.
        let y = array![0.0, 1.0, 1.0];
        let x = array![[1.0, -1.0], [1.0, 1.0], [1.0, -2.0]];
        for d in [array![0.0, 1.0], array![1.0, 0.0], array![-1.0, 0.3]] {
            assert!(!Logistic
                .any_recession_direction(&[d.view()], Rows::new(x.view(), y.view()).unwrap()));
        }
        assert!(!Logistic.any_recession_direction(
            &[array![0.0, 0.0].view()],
            Rows::new(x.view(), y.view()).unwrap()
        ));
        // Of several directions, one that separates is enough.
        let x = array![[1.0, -1.0], [1.0, 1.0]];
        let y = array![0.0, 1.0];
        assert!(Logistic.any_recession_direction(
            &[array![1.0, 0.0].view(), array![0.0, 1.0].view()],
            Rows::new(x.view(), y.view()).unwrap()
        ));
    }
}
