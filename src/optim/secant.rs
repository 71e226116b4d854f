//! Newton's method on the estimating equations Jᵀr = 0 when J only estimates the
//! derivative of r.
//!
//! With an estimated Jacobian J(β) (a kernel density, for quantiles) the minimum of
//! |r|² is not the estimator: it solves h(β) = J(β)ᵀ r(β) = 0, the GMM first-order
//! condition with the estimated Jacobian (r = 0 itself when J is square). Each
//! iteration takes the Newton step for h, its derivative approximated by A = JᵀJ
//! corrected with Broyden's update from the last step, B = A + (Δh − A s) sᵀ / sᵀs
//! (which maps the step s to the change Δh it made: in one dimension, the secant
//! slope), and halves it until the merit m = hᵀA⁻¹h does not increase. √m is the
//! Gauss–Newton decrement (|r| for a square J), so the stopping rule is Gauss–Newton's:
//! √m ≤ tol · max(|r(β₀)|, floor), or a step below tol times each parameter (free of
//! their units, unlike an absolute floor). A
//! merit that stops falling for a few iterations is a local minimum of |h| with no
//! root near it (a non-monotone equation, such as PPI's rectified quantile): the
//! solver then stops and reports it (stalled) instead of crawling.

use ndarray::{Array1, Array2, ArrayView1, Axis};

use super::ROUNDING_SLACK;

/// The relative fall of the merit below which an iteration counts as flat.
const FLAT_FALL: f64 = 1e-6;
use super::{spd_inverse, Settings, Singular, Solution, Termination, MAX_HALVINGS};

/// The residual, the equations h = Jᵀr, A = JᵀJ and the merit hᵀA⁻¹h at one point.
struct Point {
    params: Array1<f64>,
    residual_norm: f64,
    h: Array1<f64>,
    a: Array2<f64>,
    merit: f64,
}

impl Point {
    fn at(
        params: Array1<f64>,
        residual: &impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
        jacobian: &impl Fn(ArrayView1<'_, f64>) -> Array2<f64>,
    ) -> Option<Point> {
        let r = residual(params.view());
        let j = jacobian(params.view());
        let h = j.t().dot(&r);
        let a = j.t().dot(&j);
        let merit = h.dot(&spd_inverse(&a)?.dot(&h));
        merit.is_finite().then(|| Point {
            params,
            residual_norm: r.dot(&r).sqrt(),
            h,
            a,
            merit,
        })
    }
}

/// A + (Δh − A s) sᵀ / sᵀs for the last step s and the change Δh it made; A itself
/// without a last step.
fn broyden(a: &Array2<f64>, last: Option<&(Array1<f64>, Array1<f64>)>) -> Array2<f64> {
    let Some((s, dh)) = last else {
        return a.clone();
    };
    let norm = s.dot(s);
    if !(norm > 0.0 && norm.is_finite()) {
        return a.clone();
    }
    let miss = dh - &a.dot(s);
    let correction = miss
        .insert_axis(Axis(1))
        .dot(&s.view().insert_axis(Axis(0)))
        / norm;
    let updated = a + &correction;
    if updated.iter().all(|v| v.is_finite()) {
        updated
    } else {
        a.clone()
    }
}

/// Solves J(β)ᵀ r(β) = 0 from `start` (see the [module documentation](self)).
pub(super) fn secant_newton(
    start: Array1<f64>,
    residual: impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
    jacobian: impl Fn(ArrayView1<'_, f64>) -> Array2<f64>,
    settings: &Settings,
) -> Result<Solution, Singular> {
    let singular = |params| Singular {
        params,
        last_step: None,
    };
    let Some(mut point) = Point::at(start.clone(), &residual, &jacobian) else {
        return Err(singular(start));
    };
    let initial = point.residual_norm.max(settings.residual_floor);
    let mut last: Option<(Array1<f64>, Array1<f64>)> = None;
    let mut flat = 0;
    let done = |point: Point, iterations, termination, last: Option<(Array1<f64>, _)>| {
        Ok(Solution {
            params: point.params,
            iterations,
            termination,
            last_step: last.map(|(s, _)| s),
        })
    };
    for iteration in 1..=settings.max_iters {
        if point.merit.sqrt() <= settings.tol * initial {
            return done(point, iteration, Termination::Converged, last);
        }
        // The secant-corrected step, and the plain Gauss–Newton one when it fails.
        let mut trial = None;
        for b in [broyden(&point.a, last.as_ref()), point.a.clone()] {
            let Some(delta) = crate::linalg::inverse(b.view()).map(|b_inv| -b_inv.dot(&point.h))
            else {
                continue;
            };
            let tiny_step = delta
                .iter()
                .zip(point.params.iter())
                .all(|(d, b)| d.abs() <= settings.tol * b.abs());
            if tiny_step {
                return done(point, iteration, Termination::Converged, last);
            }
            trial = line_search(&point, &delta, &residual, &jacobian);
            if trial.is_some() || last.is_none() {
                break;
            }
        }
        let Some(trial) = trial else {
            let termination = if point.merit.sqrt() <= settings.tol.sqrt() * initial {
                Termination::Converged
            } else {
                Termination::Stalled
            };
            return done(point, iteration, termination, last);
        };
        // A merit that no longer falls: a local minimum of |h| away from any root.
        flat = if trial.merit < point.merit * (1.0 - FLAT_FALL) {
            0
        } else {
            flat + 1
        };
        last = Some((&trial.params - &point.params, &trial.h - &point.h));
        point = trial;
        if flat >= super::FLAT_ITERATIONS {
            let termination = if point.merit.sqrt() <= settings.tol.sqrt() * initial {
                Termination::Converged
            } else {
                Termination::Stalled
            };
            return done(point, iteration, termination, last);
        }
    }
    done(point, settings.max_iters, Termination::MaxIterations, last)
}

/// The first of β + δ, β + δ/2, … whose merit does not exceed the current one.
fn line_search(
    point: &Point,
    delta: &Array1<f64>,
    residual: &impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
    jacobian: &impl Fn(ArrayView1<'_, f64>) -> Array2<f64>,
) -> Option<Point> {
    let mut scale = 1.0;
    for _ in 0..MAX_HALVINGS {
        let params = &point.params + &(delta * scale);
        if let Some(trial) = Point::at(params, residual, jacobian) {
            if trial.merit <= point.merit * (1.0 + ROUNDING_SLACK) {
                return Some(trial);
            }
        }
        scale *= 0.5;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn settings() -> Settings {
        Settings {
            max_iters: 100,
            tol: 1e-12,
            linear: false,
            residual_floor: 0.0,
            secant: true,
        }
    }

    #[test]
    fn an_approximate_slope_still_finds_the_root() {
        // r(β) = β³ + β − 2, root 1; the "Jacobian" is a crude constant 10.
        let res = |b: ArrayView1<f64>| array![b[0].powi(3) + b[0] - 2.0];
        let jac = |_: ArrayView1<f64>| array![[10.0]];
        let sol = secant_newton(array![3.0], res, jac, &settings())
            .ok()
            .unwrap();
        assert!(sol.termination.is_converged());
        assert!((sol.params[0] - 1.0).abs() < 1e-10, "{}", sol.params[0]);
        assert!(sol.iterations < 30, "{}", sol.iterations);
    }

    #[test]
    fn an_overidentified_system_solves_the_estimated_first_order_condition() {
        // r = (β − 1, 2(β − 3)) with J = (1, 1)ᵀ, not r's derivative (1, 2)ᵀ: the
        // estimator solves Jᵀr = 3β − 7 = 0, β = 7/3, not the least-squares 13/5.
        let res = |b: ArrayView1<f64>| array![b[0] - 1.0, 2.0 * (b[0] - 3.0)];
        let jac = |_: ArrayView1<f64>| array![[1.0], [1.0]];
        let sol = secant_newton(array![0.0], res, jac, &settings())
            .ok()
            .unwrap();
        assert!(sol.termination.is_converged());
        assert!(
            (sol.params[0] - 7.0 / 3.0).abs() < 1e-10,
            "{}",
            sol.params[0]
        );
    }

    #[test]
    fn a_singular_jacobian_is_reported() {
        let res = |b: ArrayView1<f64>| array![b[0] - 1.0];
        let jac = |_: ArrayView1<f64>| array![[0.0]];
        assert!(secant_newton(array![0.0], res, jac, &settings()).is_err());
    }
}
