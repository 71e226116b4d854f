//! Gauss–Newton with step halving for min_β |r(β)|².
//!
//! Each iteration solves the equilibrated normal equations (JᵀJ) δ = −Jᵀr by Cholesky,
//! then halves the step until the objective does not increase. It stops when
//! |δ|_∞ ≤ tol · (1 + |β|_∞). For an affine residual the first step is the exact
//! (closed-form) minimiser; one more step refines it against rounding, then it stops.

use ndarray::{Array1, Array2, ArrayView1, Axis};

use crate::linalg::{scale_both_sides, Cholesky};

/// How an optimisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Termination {
    /// The step fell below the tolerance (or the closed form was used).
    Converged,
    /// Step halving could not decrease the objective before the step was small enough.
    Stalled,
    /// The iteration limit was reached.
    MaxIterations,
}

impl Termination {
    /// Whether this counts as convergence.
    pub fn is_converged(self) -> bool {
        self == Termination::Converged
    }
}

/// Squared equilibrated pivots below this make JᵀJ numerically singular
/// (the condition number of J would exceed about 10⁷).
const SINGULAR_PIVOT: f64 = 1e-14;
/// Relative increase of the objective that counts as no increase. Near the minimum the
/// objective cannot resolve steps much larger than the tolerance (its change is
/// quadratic in the step and below its own rounding error), while the Gauss–Newton
/// direction still can; without this slack the line search would halve such steps
/// away and stop early.
const ROUNDING_SLACK: f64 = 1e-10;
/// Step halvings before giving up on a direction.
const MAX_HALVINGS: usize = 40;

pub(crate) struct Settings {
    pub max_iters: usize,
    pub tol: f64,
    pub linear: bool,
}

pub(crate) struct Solution {
    pub params: Array1<f64>,
    pub iterations: usize,
    pub termination: Termination,
}

/// The normal matrix JᵀJ is numerically singular.
pub(crate) struct Singular {
    pub params: Array1<f64>,
}

/// Inverse of the SPD matrix `a` through its equilibrated Cholesky factorization, or
/// `None` when it is numerically singular.
pub(crate) fn spd_inverse(a: &Array2<f64>) -> Option<Array2<f64>> {
    let (factor, scale) = equilibrated_cholesky(a)?;
    let inv = factor.inverse();
    Some(scale_both_sides(inv.view(), scale.view()))
}

/// Cholesky of D⁻¹AD⁻¹ with D = diag(√A_ii); returns it with D⁻¹.
fn equilibrated_cholesky(a: &Array2<f64>) -> Option<(Cholesky, Array1<f64>)> {
    let diag = a.diag();
    if !diag.iter().all(|&d| d > 0.0 && d.is_finite()) {
        return None;
    }
    let scale = diag.mapv(|d| 1.0 / d.sqrt());
    let c = scale_both_sides(a.view(), scale.view());
    let factor = Cholesky::factor(c.view())?;
    (factor.min_squared_pivot() >= SINGULAR_PIVOT).then_some((factor, scale))
}

/// Gauss–Newton step δ = −(JᵀJ)⁻¹Jᵀr.
fn step(jac: &Array2<f64>, resid: &Array1<f64>) -> Option<Array1<f64>> {
    let normal = jac.t().dot(jac);
    let (factor, scale) = equilibrated_cholesky(&normal)?;
    let rhs = -(jac.t().dot(resid) * &scale);
    let z = factor.solve(rhs.view().insert_axis(Axis(1)).view());
    Some(z.remove_axis(Axis(1)) * &scale)
}

fn max_abs(v: ArrayView1<'_, f64>) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

pub(crate) fn gauss_newton(
    start: Array1<f64>,
    residual: impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
    jacobian: impl Fn(ArrayView1<'_, f64>) -> Array2<f64>,
    settings: &Settings,
) -> Result<Solution, Singular> {
    let mut params = start;
    let mut resid = residual(params.view());
    let mut objective = resid.dot(&resid);
    for iteration in 1..=settings.max_iters {
        let jac = jacobian(params.view());
        let Some(delta) = step(&jac, &resid) else {
            return Err(Singular { params });
        };
        let threshold = settings.tol * (1.0 + max_abs(params.view()));
        if max_abs(delta.view()) <= threshold {
            return Ok(Solution {
                params,
                iterations: iteration,
                termination: Termination::Converged,
            });
        }
        let mut scale = 1.0;
        let mut accepted = None;
        for _ in 0..MAX_HALVINGS {
            let trial = &params + &(&delta * scale);
            let r = residual(trial.view());
            let q = r.dot(&r);
            if q.is_finite() && q <= objective * (1.0 + ROUNDING_SLACK) {
                accepted = Some((trial, r, q));
                break;
            }
            scale *= 0.5;
        }
        let Some((trial, r, q)) = accepted else {
            return Ok(Solution {
                params,
                iterations: iteration,
                termination: Termination::Stalled,
            });
        };
        let full_step = scale == 1.0;
        params = trial;
        resid = r;
        objective = q;
        // Affine residuals: iteration 1 is the closed form, iteration 2 a refinement.
        if full_step && settings.linear && iteration >= 2 {
            return Ok(Solution {
                params,
                iterations: iteration,
                termination: Termination::Converged,
            });
        }
    }
    Ok(Solution {
        params,
        iterations: settings.max_iters,
        termination: Termination::MaxIterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn solves_a_nonlinear_least_squares_problem() {
        // r(β) = (exp(β₀) − 2, β₀ β₁ − 3): zero at β = (ln 2, 3 / ln 2).
        let res = |b: ArrayView1<f64>| array![b[0].exp() - 2.0, b[0] * b[1] - 3.0];
        let jac = |b: ArrayView1<f64>| array![[b[0].exp(), 0.0], [b[1], b[0]]];
        let settings = Settings {
            max_iters: 100,
            tol: 1e-12,
            linear: false,
        };
        let Ok(sol) = gauss_newton(array![1.0, 1.0], res, jac, &settings) else {
            panic!()
        };
        assert!(sol.termination.is_converged());
        assert_abs_diff_eq!(
            sol.params,
            array![2f64.ln(), 3.0 / 2f64.ln()],
            epsilon = 1e-12
        );
    }

    #[test]
    fn rank_deficient_jacobian_is_reported() {
        let res = |b: ArrayView1<f64>| array![b[0] + b[1] - 1.0, 2.0 * (b[0] + b[1]) - 2.0];
        let jac = |_: ArrayView1<f64>| array![[1.0, 1.0], [2.0, 2.0]];
        let settings = Settings {
            max_iters: 10,
            tol: 1e-12,
            linear: true,
        };
        assert!(gauss_newton(array![0.0, 0.0], res, jac, &settings).is_err());
    }

    #[test]
    fn spd_inverse_of_scaled_matrix() {
        let a = array![[1e6, 2e3], [2e3, 5.0]];
        let inv = spd_inverse(&a).unwrap();
        assert_abs_diff_eq!(a.dot(&inv), Array2::eye(2), epsilon = 1e-10);
    }
}
