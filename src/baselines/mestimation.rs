//! Just-identified M-estimation shared by the baselines: solve Σ_t m_t(β) = 0 and form
//! the sandwich covariance J⁻¹ (Σ_t m_t m_tᵀ) J⁻ᵀ, J = Σ_t ∂m_t/∂βᵀ.

use ndarray::{Array1, Array2, ArrayView1};

use crate::error::{Error, Result, Stage};
use crate::moment::MomentModel;
use crate::moment::{Certify, SolveFailure};
use crate::optim::Settings;
use crate::rows::Rows;

/// Iteration limit and relative tolerance of the baselines' Gauss–Newton solves.
pub(crate) const MAX_ITERS: usize = 200;
pub(crate) const TOL: f64 = 1e-10;

/// Solves residual(β) = 0 (p equations, p unknowns) from `start`.
///
/// `certify` says on which rows a diverging fit is checked for separation; errors
/// name `estimator` and `block`.
pub(crate) fn solve<M: MomentModel + ?Sized>(
    model: &M,
    estimator: &str,
    block: &str,
    start: Array1<f64>,
    residual: impl Fn(ArrayView1<'_, f64>) -> Array1<f64>,
    jacobian: impl Fn(ArrayView1<'_, f64>) -> Array2<f64>,
    certify: Certify<'_>,
) -> Result<Array1<f64>> {
    let settings = Settings {
        max_iters: MAX_ITERS,
        tol: TOL,
        linear: model.is_linear(),
        residual_floor: 0.0,
        secant: !model.exact_jacobian(),
    };
    let named = || format!("{estimator}: {block}");
    let solution = crate::moment::solve(model, start, residual, jacobian, &settings, certify)
        .map_err(|failure| match failure {
            SolveFailure::Separated => Error::Separation { block: named() },
            SolveFailure::Singular => Error::Collinear { block: named() },
        })?;
    if !solution.termination.is_converged() {
        return Err(Error::NotConverged {
            stage: Stage::Baseline {
                estimator: estimator.to_string(),
            },
            iterations: solution.iterations,
        });
    }
    Ok(solution.params)
}

/// [`Error::PerfectFit`] when the model fits the labeled real outcomes exactly at θ
/// (their moments vanish against their size at the model's start, as the GMM's real
/// fit is checked): no residual variation is left for a standard error, and an
/// estimator that corrected such a fit would report rounding noise as its variance.
pub(crate) fn refuse_exact_real_fit<M: MomentModel + ?Sized>(
    model: &M,
    rows: Rows<'_>,
    theta: ArrayView1<'_, f64>,
) -> Result<()> {
    let squares = |at: ArrayView1<'_, f64>| {
        crate::moment::moment_matrix(model, at, rows)
            .mapv(|v| v * v)
            .sum_axis(ndarray::Axis(0))
    };
    let start = model.start(rows);
    match crate::gmm::vanishes(&squares(theta), &squares(start.view())) {
        true => Err(Error::PerfectFit {
            block: crate::data::REAL.to_string(),
        }),
        false => Ok(()),
    }
}

/// Checks that the model is just identified (k = p) on these rows: the baselines are
/// M-estimators, which solve as many equations as unknowns.
///
/// # Errors
/// [`Error::OverIdentified`], and the shape errors of the model.
pub(crate) fn just_identified<M: MomentModel + ?Sized>(
    model: &M,
    rows: Rows<'_>,
    estimator: &str,
) -> Result<()> {
    let (k, p) = crate::moment::check_shapes(model, rows)?;
    if k != p {
        return Err(Error::OverIdentified {
            estimator: estimator.to_string(),
            model: model.name().to_string(),
            moments: k,
            params: p,
        });
    }
    Ok(())
}

/// β̂ solving Σ_t ψ(β; row t) = 0 over the given rows (an M-estimator).
pub(crate) fn fit_rows<M: MomentModel + ?Sized>(
    model: &M,
    estimator: &str,
    block: &str,
    rows: Rows<'_>,
) -> Result<Array1<f64>> {
    fit_weighted_rows(model, estimator, block, rows, None)
}

/// β̂ solving Σ_t w_t ψ(β; row t) = 0 over the given rows, unit weights when `None`.
pub(crate) fn fit_weighted_rows<M: MomentModel + ?Sized>(
    model: &M,
    estimator: &str,
    block: &str,
    rows: Rows<'_>,
    weights: Option<ndarray::ArrayView1<'_, f64>>,
) -> Result<Array1<f64>> {
    just_identified(model, rows, estimator)?;
    let n = rows.len() as f64;
    solve(
        model,
        estimator,
        block,
        model.start(rows),
        |b| {
            let psi = crate::moment::moment_matrix(model, b, rows);
            match weights {
                Some(w) => w.dot(&psi) / n,
                None => psi.sum_axis(ndarray::Axis(0)) / n,
            }
        },
        |b| model.jacobian(b, rows, weights) / n,
        Certify::Always(rows),
    )
}

/// A⁻¹ for a general square matrix, free of the units of its rows and columns;
/// `None` when singular.
pub(crate) fn inverse(a: &Array2<f64>) -> Option<Array2<f64>> {
    crate::linalg::inverse(a.view())
}

/// The sandwich J⁻¹ B J⁻ᵀ.
///
/// # Errors
/// [`Error::SingularCovariance`] when J is singular.
pub(crate) fn sandwich(
    jacobian: &Array2<f64>,
    meat: &Array2<f64>,
    estimator: &str,
) -> Result<Array2<f64>> {
    let inv = inverse(jacobian).ok_or_else(|| Error::SingularCovariance {
        stage: Stage::Baseline {
            estimator: estimator.to_string(),
        },
    })?;
    Ok(crate::linalg::sandwich(&inv, meat))
}

/// The meat Σ_t m_t m_tᵀ of a sandwich from the rows' moments, times `dof` (the
/// small-sample degrees-of-freedom factor); with clusters, the cluster-robust
/// G/(G − 1) Σ_c s_c s_cᵀ instead, with a [`Note::Clustered`](crate::inference::Note)
/// saying so.
pub(crate) fn meat(
    rows: ndarray::ArrayView2<'_, f64>,
    clusters: Option<&[u32]>,
    dof: f64,
) -> (Array2<f64>, Vec<crate::inference::Note>) {
    match clusters {
        Some(cluster) => {
            let (meat, clusters) = crate::engine::clustered_gram(rows, cluster);
            let note = crate::inference::Note::Clustered {
                clusters,
                cr2: false,
                detail: None,
            };
            (meat, vec![note])
        }
        None => (crate::linalg::gram(rows) * dof, Vec::new()),
    }
}
