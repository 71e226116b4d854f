//! Gauss–Newton with step halving for min_β |r(β)|².
//!
//! Each iteration solves min_δ |r + Jδ| by QR of J with unit-norm columns (never the
//! normal equations, which would square J's condition number), then halves the step
//! until the objective does not increase.
//!
//! # Stopping rule
//! The rule is free of units: rescaling a parameter, a residual or the data leaves it
//! unchanged. With the Gauss–Newton decrement d = |Jδ| (the predicted fall of |r|) it
//! stops when
//! - d ≤ tol · max(|r(β₀)|, floor): the decrement, which goes to zero at the minimum
//!   whether |r| does (just-identified problems) or not, is negligible next to the
//!   residual at the start, or, for a whitened GMM residual, next to its sampling noise
//!   1/√T (a last step of at most tol standard errors); or
//! - the objective has fallen by less than a quarter of the predicted d² for
//!   `FLAT_ITERATIONS` iterations while d ≤ √tol · |r(β₀)|: the residual sits at its
//!   rounding floor and no further step can be resolved.
//!
//! An affine residual is solved by its first step (the closed form, by QR), without
//! evaluating the residual again.
//!
//! Each evaluation of the residual can be a pass over millions of rows, so the step
//! that would only confirm convergence is not taken when the last two full steps
//! already say where it lands: with decrements d_{k−1} and d_k contracting at rate
//! ρ = d_k / d_{k−1} ≤ ½, what is still to come adds up to about ρ / (1 − ρ) times the
//! last decrement and the last step; when that is below the first rule's bound, or is a
//! negligible step, β_k + δ_k is returned without evaluating the residual there.
//! Newton's quadratic convergence makes ρ shrink with the step, so this is
//! conservative near a root.

use ndarray::{Array1, Array2, ArrayView1, Axis};

use crate::linalg::{least_squares, scale_both_sides, Cholesky};

mod secant;

/// How an optimisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Termination {
    /// The stopping rule was met (or the closed form was used).
    Converged,
    /// Step halving could not decrease the objective while a resolvable step remained.
    Stalled,
    /// The iteration limit was reached.
    MaxIterations,
}

impl Termination {
    /// How a solve that no step halving can improve ends: converged when the predicted
    /// decrease is already at the floor rounding allows, else stalled.
    fn at_floor(near_floor: bool) -> Self {
        if near_floor {
            Termination::Converged
        } else {
            Termination::Stalled
        }
    }

    /// Whether this counts as convergence.
    pub fn is_converged(self) -> bool {
        self == Termination::Converged
    }
}

/// Squared equilibrated Cholesky pivots below this make a matrix numerically singular
/// (its condition number would exceed about 10¹⁴).
const SINGULAR_PIVOT: f64 = 1e-14;
/// Relative increase of the objective that counts as no increase. Near the minimum the
/// objective cannot resolve steps much larger than the tolerance (its change is
/// quadratic in the step and below its own rounding error), while the Gauss–Newton
/// direction still can; without this slack the line search would halve such steps
/// away and stop early.
const ROUNDING_SLACK: f64 = 1e-10;
/// Iterations without a meaningful fall of the objective before it counts as flat.
pub(super) const FLAT_ITERATIONS: usize = 3;
/// Step halvings before giving up on a direction.
const MAX_HALVINGS: usize = 40;

pub(crate) struct Settings {
    pub max_iters: usize,
    pub tol: f64,
    pub linear: bool,
    /// A lower bound on the residual scale the tolerance is relative to: 1/√T for a
    /// whitened GMM residual, whose sampling noise is of that size, so that a start
    /// that already solves the equations to rounding is recognised as converged.
    pub residual_floor: f64,
    /// Whether the Jacobian is only an estimate of the residual's derivative (a kernel
    /// density for quantiles): then [`secant_newton`] solves Jᵀr = 0 instead.
    pub secant: bool,
}

pub(crate) struct Solution {
    pub params: Array1<f64>,
    pub iterations: usize,
    pub termination: Termination,
    /// The last step taken (β_k − β_{k−1}), if any: the direction the iterates moved in.
    pub last_step: Option<Array1<f64>>,
}

/// The normal matrix JᵀJ is numerically singular.
pub(crate) struct Singular {
    pub params: Array1<f64>,
    /// The last step taken before the failure, if any.
    pub last_step: Option<Array1<f64>>,
}

/// Inverse of the SPD matrix `a` through its equilibrated Cholesky factorization, or
/// `None` when it is numerically singular.
pub(crate) fn spd_inverse(a: &Array2<f64>) -> Option<Array2<f64>> {
    let diag = a.diag();
    if !diag.iter().all(|&d| d > 0.0 && d.is_finite()) {
        return None;
    }
    let scale = diag.mapv(|d| 1.0 / d.sqrt());
    let c = scale_both_sides(a.view(), scale.view());
    let factor = Cholesky::factor(c.view())?;
    if factor.min_squared_pivot() < SINGULAR_PIVOT {
        return None;
    }
    let inv = factor.inverse()?;
    Some(scale_both_sides(inv.view(), scale.view()))
}

/// Gauss–Newton step δ minimising |r + Jδ|, by QR of J with equilibrated columns (and
/// rows, when J is square: the step of a just-identified system does not depend on the
/// units of its equations, and neither should its accuracy).
fn step(jac: &Array2<f64>, resid: &Array1<f64>) -> Option<Array1<f64>> {
    let rhs = resid.mapv(|r| -r).insert_axis(Axis(1));
    let square = jac.nrows() == jac.ncols();
    let delta = least_squares(jac.view(), rhs.view(), square)?;
    Some(delta.remove_axis(Axis(1)))
}

/// The solution at `params` after `iterations`, ended by `termination`.
fn done(
    params: Array1<f64>,
    iterations: usize,
    termination: Termination,
    last_step: Option<Array1<f64>>,
) -> Result<Solution, Singular> {
    Ok(Solution {
        params,
        iterations,
        termination,
        last_step,
    })
}

/// Whether the step δ is negligible against β: |δ_j| ≤ tol (1 + |β_j|) for every j.
fn negligible(delta: &Array1<f64>, params: &Array1<f64>, tol: f64) -> bool {
    delta
        .iter()
        .zip(params.iter())
        .all(|(d, b)| d.abs() <= tol * (1.0 + b.abs()))
}

/// Whether what is still to come after the full step `delta` from `params`, with
/// decrement `decrement` (the one before it `previous`), is negligible: at rate
/// ρ = decrement/previous ≤ ½ the decrements to come add up to about decrement · ρ /
/// (1 − ρ), which must be at most `bound`, or the steps to come to δ ρ / (1 − ρ), which
/// must be negligible (see [`negligible`]) at β + δ.
fn remaining_negligible(
    (params, delta): (&Array1<f64>, &Array1<f64>),
    (decrement, previous): (f64, Option<f64>),
    bound: f64,
    tol: f64,
) -> bool {
    let Some(previous) = previous else {
        return false;
    };
    let rate = decrement / previous;
    let left = rate / (1.0 - rate);
    rate <= 0.5
        && (decrement * left <= bound || negligible(&(delta * left), &(params + delta), tol))
}

/// The first of β + δ, β + δ/2, … (at most [`MAX_HALVINGS`] halvings) whose squared
/// residual is finite and no larger than `objective` (up to rounding): the point, its
/// residual, its square and the step's scale.
fn halved(
    params: &Array1<f64>,
    delta: &Array1<f64>,
    objective: f64,
    residual: &impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
) -> Option<(Array1<f64>, Array1<f64>, f64, f64)> {
    let mut scale = 1.0;
    for _ in 0..MAX_HALVINGS {
        let trial = params + &(delta * scale);
        let r = residual(trial.view());
        let q = r.dot(&r);
        if q.is_finite() && q <= objective * (1.0 + ROUNDING_SLACK) {
            return Some((trial, r, q, scale));
        }
        scale *= 0.5;
    }
    None
}

/// Where the iterations end without evaluating the residual again.
enum End {
    /// At β: the decrease the step predicts, or the step, is negligible.
    Here,
    /// At β + δ: an affine residual's step, or one after which what is still to come
    /// is negligible.
    AfterStep,
}

/// Whether the iterations end at β or β + δ (see [`End`]), from the step δ, its
/// decrement and the last full step's, the starting residual and the settings.
fn end_without_pass(
    (params, delta): (&Array1<f64>, &Array1<f64>),
    (decrement, last_full): (f64, Option<f64>),
    initial: f64,
    settings: &Settings,
) -> Option<End> {
    // An affine residual is minimised by this step exactly: r(β + δ) = r + Jδ.
    if settings.linear {
        return Some(End::AfterStep);
    }
    // Converged when the predicted decrease is negligible against the starting
    // residual, or when the step itself is: a start already at the root (a refit from
    // a neighbouring solution) has no larger residual to be relative to.
    if decrement <= settings.tol * initial || negligible(delta, params, settings.tol) {
        return Some(End::Here);
    }
    let bound = settings.tol * initial;
    remaining_negligible((params, delta), (decrement, last_full), bound, settings.tol)
        .then_some(End::AfterStep)
}

/// Minimises |r(β)|² from `start` by Gauss–Newton steps with step halving (or the
/// secant variant when `settings.secant`), stopping when the predicted decrease or the
/// step is negligible, when no halving decreases the residual (converged near the
/// floor, else stalled), or after `settings.max_iters` iterations.
pub(crate) fn gauss_newton(
    start: Array1<f64>,
    residual: impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
    jacobian: impl Fn(ArrayView1<'_, f64>) -> Array2<f64>,
    settings: &Settings,
) -> Result<Solution, Singular> {
    if settings.secant {
        return secant::secant_newton(start, residual, jacobian, settings);
    }
    let mut params = start;
    let mut resid = residual(params.view());
    let mut objective = resid.dot(&resid);
    let initial = objective.sqrt().max(settings.residual_floor);
    let mut last_step: Option<Array1<f64>> = None;
    // The decrement of the last step when it was a full one.
    let mut last_full: Option<f64> = None;
    let mut flat = 0;
    if !objective.is_finite() {
        return Err(Singular { params, last_step });
    }
    if objective == 0.0 {
        return done(params, 0, Termination::Converged, None);
    }
    for iteration in 1..=settings.max_iters {
        let jac = jacobian(params.view());
        let Some(delta) = step(&jac, &resid) else {
            return Err(Singular { params, last_step });
        };
        let predicted = jac.dot(&delta);
        let decrement = predicted.dot(&predicted);
        match end_without_pass(
            (&params, &delta),
            (decrement.sqrt(), last_full),
            initial,
            settings,
        ) {
            Some(End::Here) => return done(params, iteration, Termination::Converged, last_step),
            Some(End::AfterStep) => {
                let params = &params + &delta;
                return done(params, iteration, Termination::Converged, Some(delta));
            }
            None => {}
        }
        let accepted = halved(&params, &delta, objective, &residual);
        let near_floor = decrement.sqrt() <= settings.tol.sqrt() * initial;
        let Some((trial, r, q, scale)) = accepted else {
            return done(
                params,
                iteration,
                Termination::at_floor(near_floor),
                last_step,
            );
        };
        flat = if objective - q < 0.25 * decrement {
            flat + 1
        } else {
            0
        };
        last_full = (scale == 1.0).then_some(decrement.sqrt());
        last_step = Some(&trial - &params);
        params = trial;
        resid = r;
        objective = q;
        if flat >= FLAT_ITERATIONS && near_floor {
            return done(params, iteration, Termination::Converged, last_step);
        }
    }
    done(
        params,
        settings.max_iters,
        Termination::MaxIterations,
        last_step,
    )
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
            secant: false,
            residual_floor: 0.0,
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

    /// Near the root the confirming evaluation is skipped: the point returned is the end
    /// of a step whose residual was never evaluated, within 1e-14 of the root; the rule
    /// reads rates from decrements, so a parameter in units 10¹² times smaller takes
    /// the same evaluations.
    #[test]
    fn the_confirming_evaluation_is_skipped_whatever_the_units() {
        let mut counts = Vec::new();
        for c in [1.0, 1e-12] {
            // r(β) = (cβ)³ + cβ − 2: zero at β = 1/c, Newton's errors 0.5, 0.17, 0.02,
            // 3e-4, 7e-8 from β = 1.5/c.
            let seen = std::cell::RefCell::new(Vec::new());
            let res = |b: ArrayView1<f64>| {
                seen.borrow_mut().push(b.to_owned());
                array![(c * b[0]).powi(3) + c * b[0] - 2.0]
            };
            let jac = |b: ArrayView1<f64>| array![[3.0 * c * (c * b[0]).powi(2) + c]];
            let settings = Settings {
                max_iters: 100,
                tol: 1e-10,
                linear: false,
                secant: false,
                residual_floor: 0.0,
            };
            let Ok(sol) = gauss_newton(array![1.5 / c], res, jac, &settings) else {
                panic!()
            };
            assert!(sol.termination.is_converged());
            assert!((sol.params[0] * c - 1.0).abs() <= 1e-14, "{c}");
            assert!(!seen.borrow().contains(&sol.params), "{c}");
            counts.push(seen.borrow().len());
        }
        assert_eq!(counts[0], counts[1]);
    }

    #[test]
    fn rank_deficient_jacobian_is_reported() {
        let res = |b: ArrayView1<f64>| array![b[0] + b[1] - 1.0, 2.0 * (b[0] + b[1]) - 2.0];
        let jac = |_: ArrayView1<f64>| array![[1.0, 1.0], [2.0, 2.0]];
        let settings = Settings {
            max_iters: 10,
            tol: 1e-12,
            linear: true,
            secant: false,
            residual_floor: 0.0,
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
