//! Step 1 of each parameter block on its own, and the screening of sources that can
//! carry no information (exact repeats, and sources the model fits exactly).

use std::borrow::Cow;

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

use crate::data::{DataSources, REAL};
use crate::error::{Error, Result, Stage};
use crate::inference::{DropReason, Note};
use crate::moment::{checked_start, moment_matrix, solve, Certify, MomentModel, SolveFailure};
use crate::optim::{Settings, Solution};

/// Moments whose root-mean-square at the estimate is below this fraction of their value
/// at the starting point vanish: the model fits those outcomes exactly (to about eight
/// digits), and a residual of rounding noise carries no information.
const VANISHING: f64 = 1e-8;

/// The data with uninformative sources removed, and each kept source's η fitted from
/// its all-rows moments.
pub(super) struct Screened<'a> {
    pub data: Cow<'a, DataSources>,
    pub source_fits: Vec<Solution>,
    pub notes: Vec<Note>,
}

/// Solves the just-identified equations Σ_t w_t ψ(β; x_t, y_t) = 0 for one block,
/// naming the block in every error.
pub(super) fn fit_block<M: MomentModel + ?Sized>(
    model: &M,
    block: &str,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    weights: Option<ArrayView1<'_, f64>>,
    settings: &Settings,
    require_convergence: bool,
) -> Result<(Solution, Array1<f64>)> {
    let start = checked_start(model, x, y)?;
    let rows = x.nrows() as f64;
    let residual = |beta: ArrayView1<'_, f64>| {
        let psi = moment_matrix(model, beta, x, y);
        match weights {
            None => psi.sum_axis(Axis(0)) / rows,
            Some(w) => w.dot(&psi) / rows,
        }
    };
    let jacobian = |beta: ArrayView1<'_, f64>| model.jacobian(beta, x, y, weights) / rows;
    let solution = solve(
        model,
        start.clone(),
        residual,
        jacobian,
        settings,
        Certify::Always(x, y),
    )
    .map_err(|failure| block_error(failure, block))?;
    if !solution.termination.is_converged() && require_convergence {
        return Err(Error::NotConverged {
            stage: Stage::StepOne {
                block: block.to_string(),
            },
            iterations: solution.iterations,
        });
    }
    Ok((solution, start))
}

pub(super) fn block_error(failure: SolveFailure, block: &str) -> Error {
    let block = block.to_string();
    match failure {
        SolveFailure::Separated => Error::Separation { block },
        SolveFailure::Singular => Error::Collinear { block },
    }
}

/// Whether every moment column at `beta` is below [`VANISHING`] of its size at `start`
/// (root mean square over the rows): the model reproduces these outcomes exactly.
pub(super) fn vanishes<M: MomentModel + ?Sized>(
    model: &M,
    beta: ArrayView1<'_, f64>,
    start: ArrayView1<'_, f64>,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
) -> bool {
    let at_fit = moment_matrix(model, beta, x, y)
        .mapv(|v| v * v)
        .sum_axis(Axis(0));
    let at_start = moment_matrix(model, start, x, y)
        .mapv(|v| v * v)
        .sum_axis(Axis(0));
    at_fit
        .iter()
        .zip(&at_start)
        .all(|(&a, &b)| a <= VANISHING * VANISHING * b)
}

/// Fits every source's η from its all-rows moments and leaves out the sources that
/// repeat an earlier kept one or that the model fits exactly, with a note for each.
pub(super) fn screen_sources<'a, M: MomentModel + ?Sized>(
    model: &M,
    data: &'a DataSources,
    settings: &Settings,
    require_convergence: bool,
) -> Result<Screened<'a>> {
    let mut kept: Vec<&str> = Vec::new();
    let mut source_fits = Vec::new();
    let mut notes = Vec::new();
    for src in data.sources() {
        let repeated = kept.iter().find(|&&name| {
            let other = data.source(name).expect("kept sources exist");
            other.x() == src.x() && other.y() == src.y()
        });
        if let Some(&of) = repeated {
            notes.push(Note::SourceDropped {
                name: src.name().to_string(),
                reason: DropReason::Duplicate { of: of.to_string() },
            });
            continue;
        }
        let (solution, start) = fit_block(
            model,
            src.name(),
            src.x(),
            src.y(),
            None,
            settings,
            require_convergence,
        )?;
        if vanishes(
            model,
            solution.params.view(),
            start.view(),
            src.x(),
            src.y(),
        ) {
            notes.push(Note::SourceDropped {
                name: src.name().to_string(),
                reason: DropReason::Degenerate,
            });
            continue;
        }
        kept.push(src.name());
        source_fits.push(solution);
    }
    let data = if kept.len() == data.n_sources() {
        Cow::Borrowed(data)
    } else {
        Cow::Owned(data.select_sources(&kept)?)
    };
    Ok(Screened {
        data,
        source_fits,
        notes,
    })
}

/// The real block's step-1 fit θ̂₁, refusing outcomes the model fits exactly.
pub(super) fn fit_real<M: MomentModel + ?Sized>(
    model: &M,
    data: &DataSources,
    weights: Option<ArrayView1<'_, f64>>,
    settings: &Settings,
    require_convergence: bool,
) -> Result<Solution> {
    let (x, y) = (data.real_x(), data.real_y());
    let (solution, start) = fit_block(model, REAL, x, y, weights, settings, require_convergence)?;
    if vanishes(model, solution.params.view(), start.view(), x, y) {
        return Err(Error::PerfectFit {
            block: REAL.to_string(),
        });
    }
    Ok(solution)
}
