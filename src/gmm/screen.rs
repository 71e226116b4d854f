//! Step 1 of each parameter block on its own, and the screening of sources that can
//! carry no information (exact repeats, and sources the model fits exactly).

use std::borrow::Cow;

use std::cell::{OnceCell, RefCell};

use ndarray::{Array1, Array2, ArrayView1};

use crate::data::{DataSources, REAL};
use crate::engine::{block_sums, streamed_block_sums, DEFAULT_CHUNK_ROWS};
use crate::error::{Error, Result, Stage};
use crate::inference::{DropReason, Note};
use crate::moment::{checked_start, solve, Certify, MomentModel, SolveFailure};
use crate::optim::{Settings, Solution};
use crate::rows::Rows;
use crate::stream::{sample_stride, Streamed, SAMPLE_ROWS};
use crate::weight::Whitener;

/// Moments whose root-mean-square at the estimate is below this fraction of their value
/// at the starting point vanish: the model fits those outcomes exactly (to about eight
/// digits), and a residual of rounding noise carries no information.
const VANISHING: f64 = 1e-8;

/// The data with uninformative sources removed, and each kept source's η fitted from
/// its all-rows moments.
pub(super) struct Screened<'a> {
    pub data: Cow<'a, DataSources>,
    pub source_fits: Vec<BlockFit>,
    pub notes: Vec<Note>,
}

/// One block's step-1 fit: the solution, where it started, and the whitener R of its
/// step-1 weight S⁻¹ = RᵀR when the block is over-identified (`None`: just identified,
/// where the weight does not matter).
pub(super) struct BlockFit {
    pub solution: Solution,
    pub start: Array1<f64>,
    pub whitener: Option<Array2<f64>>,
    /// Whether the model fits the block's outcomes exactly (see [`vanishes`]); `false`
    /// when the check was left to the caller.
    pub exact: bool,
    /// Σ_t ψ_t² per moment at the model's start: the scale the exact-fit check
    /// compares the squares at the fit with.
    pub start_squares: Array1<f64>,
}

/// How one block is solved in step 1.
pub(super) struct BlockProblem<'a> {
    pub block: &'a str,
    pub rows: Rows<'a>,
    pub weights: Option<ArrayView1<'a, f64>>,
    /// Identity weight for an over-identified block (the textbook first step) rather
    /// than the model's step-1 metric.
    pub identity: bool,
    /// For a source kept out of memory: the stream and its index of the source, whose
    /// rows are then read in every pass; `rows` holds its in-memory subsample.
    pub stream: Option<(&'a Streamed, usize)>,
}

impl BlockProblem<'_> {
    /// Rows the block's moments sum over.
    fn n_rows(&self) -> usize {
        match self.stream {
            Some((stream, _)) => stream.n_rows(),
            None => self.rows.len(),
        }
    }
}

/// Solves one block's moments Σ_t w_t ψ(β; row t) = 0 (just identified) or minimises
/// their S⁻¹-weighted square (over-identified, S the model's step-1 metric or the
/// diagonal of the moments' second moments at the start), naming the block in every
/// error.
///
/// With `check_exact` false the exact-fit check, which costs a pass over the rows at
/// the solution, is left to the caller (who may have the squares from a later pass).
pub(super) fn fit_block<M: MomentModel + ?Sized>(
    model: &M,
    problem: &BlockProblem<'_>,
    settings: &Settings,
    require_convergence: bool,
    rank_tol: f64,
    check_exact: bool,
) -> Result<BlockFit> {
    let BlockProblem {
        block,
        rows,
        weights,
        identity,
        stream,
    } = *problem;
    let start = checked_start(model, rows)?;
    // Nonlinear moments on many rows: Gauss–Newton starts from the fit on an evenly
    // spread subsample, so that the passes over every row are the last few, quadratic,
    // iterations (the result does not depend on the start, only the work does).
    let warm = warm_start(model, problem, settings, rank_tol);
    let origin = warm.as_ref().map_or(&start, |(b, _)| b).clone();
    let (k, p) = (model.n_moments(rows), model.n_params(rows));
    if k > p && stream.is_some() {
        return Err(Error::NeedsInMemory {
            what: format!("the step-1 fit of over-identified `{block}`"),
        });
    }
    let n = problem.n_rows() as f64;
    let sums = |beta: ArrayView1<'_, f64>, jacobian: bool, squares: bool| match stream {
        Some((stream, index)) => {
            streamed_block_sums(model, stream, index, (k, beta), jacobian, squares)
        }
        None => block_sums(
            model,
            rows,
            weights,
            beta,
            jacobian,
            squares,
            DEFAULT_CHUNK_ROWS,
        ),
    };
    let linear_jacobian: OnceCell<Array2<f64>> = OnceCell::new();
    // Each residual pass also sums the squared moments, for the exact-fit check.
    let seen: RefCell<Vec<(Array1<f64>, Array1<f64>)>> = RefCell::new(Vec::new());
    // For moments that are not affine, the residual pass also sums the Jacobian, which
    // Gauss–Newton asks for next at the same point.
    let fused: RefCell<Option<(Array1<f64>, Array2<f64>)>> = RefCell::new(None);
    let mean = |beta: ArrayView1<'_, f64>| {
        let with_jacobian = !model.is_linear() || linear_jacobian.get().is_none();
        let s = sums(beta, with_jacobian, true);
        let squares = s.squares.unwrap_or_default();
        seen.borrow_mut().push((beta.to_owned(), squares));
        if let Some(j) = s.jacobian {
            *fused.borrow_mut() = Some((beta.to_owned(), j));
        }
        s.sum / n
    };
    let squares_at = |beta: ArrayView1<'_, f64>| {
        let known = seen
            .borrow()
            .iter()
            .rev()
            .find(|(b, _)| b.view() == beta)
            .map(|(_, s)| s.clone());
        known.unwrap_or_else(|| sums(beta, false, true).squares.unwrap_or_default())
    };
    let whitener = if k > p && !identity {
        let metric = model.step_one_metric(rows).unwrap_or_else(|| {
            let squares = sums(start.view(), false, true).squares.unwrap_or_default();
            Array2::from_diag(&(squares / n))
        });
        let w =
            Whitener::new(metric.view(), None, rank_tol).ok_or_else(|| Error::SingularWeight {
                stage: Stage::StepOne {
                    block: block.to_string(),
                },
                rank: 0,
                dim: k,
            })?;
        Some(w.matrix().to_owned())
    } else {
        None
    };
    let whiten = |v: Array1<f64>| match &whitener {
        Some(r) => r.dot(&v),
        None => v,
    };
    let residual = |beta: ArrayView1<'_, f64>| whiten(mean(beta));
    let jacobian = |beta: ArrayView1<'_, f64>| {
        let compute = || {
            let known = fused
                .borrow()
                .as_ref()
                .filter(|(b, _)| b.view() == beta)
                .map(|(_, j)| j.clone());
            known.unwrap_or_else(|| sums(beta, true, false).jacobian.unwrap_or_default()) / n
        };
        // Affine moments have a constant Jacobian.
        let j = if model.is_linear() {
            linear_jacobian.get_or_init(compute).clone()
        } else {
            compute()
        };
        match &whitener {
            Some(r) => r.dot(&j),
            None => j,
        }
    };
    // Out of memory, separation is certified on the subsample when the solve fails:
    // a direction that separates every row separates the subsample.
    // Rows summed by an engine are never seen: no certificate.
    let certify = match stream {
        Some((s, _)) if s.sums_engine().is_some() => Certify::Never,
        Some(_) => Certify::OnFailure(rows),
        None => Certify::Always(rows),
    };
    let solution = solve(model, origin, residual, jacobian, settings, certify)
        .map_err(|failure| block_error(failure, block))?;
    if !solution.termination.is_converged() && require_convergence {
        return Err(Error::NotConverged {
            stage: Stage::StepOne {
                block: block.to_string(),
            },
            iterations: solution.iterations,
        });
    }
    // The scale of the moments at the model's start; from the subsample when there is
    // one (rescaled to all rows: the exact-fit test compares magnitudes only).
    let reference = match &warm {
        Some((_, squares)) => squares.clone(),
        None => squares_at(start.view()),
    };
    let exact = check_exact && vanishes(&squares_at(solution.params.view()), &reference);
    Ok(BlockFit {
        solution,
        start,
        whitener,
        exact,
        start_squares: reference,
    })
}

/// The fit on every ⌈n / SAMPLE_ROWS⌉-th row (for more than 2 · SAMPLE_ROWS rows), and the moments' squares at the model's
/// start scaled to all rows; `None` for affine moments, small blocks, or when the
/// subsample fit fails (then the full fit starts from the model's start).
fn warm_start<M: MomentModel + ?Sized>(
    model: &M,
    problem: &BlockProblem<'_>,
    settings: &Settings,
    rank_tol: f64,
) -> Option<(Array1<f64>, Array1<f64>)> {
    let n = problem.n_rows();
    if model.is_linear() || n <= 2 * SAMPLE_ROWS {
        return None;
    }
    // The rows a source kept out of memory holds are this subsample already.
    let (sample, weights) = match problem.stream {
        Some(_) => (None, None),
        None => {
            let picked: Vec<usize> = (0..n).step_by(sample_stride(n)).collect();
            (
                Some(problem.rows.select(&picked)),
                problem.weights.map(|w| w.select(ndarray::Axis(0), &picked)),
            )
        }
    };
    let small = BlockProblem {
        block: problem.block,
        rows: sample.as_ref().map_or(problem.rows.reborrow(), |s| {
            s.view(problem.rows.column_names())
        }),
        weights: weights.as_ref().map(|w| w.view()),
        identity: problem.identity,
        stream: None,
    };
    let fit = fit_block(model, &small, settings, true, rank_tol, true).ok()?;
    let scale = n as f64 / small.rows.len() as f64;
    let squares = block_sums(
        model,
        small.rows,
        small.weights,
        fit.start.view(),
        false,
        true,
        DEFAULT_CHUNK_ROWS,
    )
    .squares?
        * scale;
    Some((fit.solution.params, squares))
}

pub(super) fn block_error(failure: SolveFailure, block: &str) -> Error {
    let block = block.to_string();
    match failure {
        SolveFailure::Separated => Error::Separation { block },
        SolveFailure::Singular => Error::Collinear { block },
    }
}

/// Whether every moment column's sum of squares at the fit is below [`VANISHING`]² of
/// its value at the start (root mean square over the rows): the model reproduces these
/// outcomes exactly.
pub(super) fn vanishes(at_fit: &Array1<f64>, at_start: &Array1<f64>) -> bool {
    at_fit
        .iter()
        .zip(at_start)
        .all(|(&a, &b)| a <= VANISHING * VANISHING * b)
}

/// Fits every source's η from its all-rows moments and leaves out the sources that
/// repeat an earlier kept one or that the model fits exactly, with a note for each.
/// With `defer_exact` the exact-fit check is left to the caller (see [`fit_block`]).
pub(super) fn screen_sources<'a, M: MomentModel + ?Sized>(
    model: &M,
    data: &'a DataSources,
    settings: &Settings,
    require_convergence: bool,
    rank_tol: f64,
    defer_exact: bool,
) -> Result<Screened<'a>> {
    let mut kept: Vec<&str> = Vec::new();
    let mut source_fits = Vec::new();
    let mut notes = Vec::new();
    let names = data.source_names();
    let stream_index = data.stream_indices();
    for (m, src) in data.sources().iter().enumerate() {
        let repeated = kept.iter().find(|&&name| {
            names
                .iter()
                .position(|n| n == name)
                .is_some_and(|other| data.same_source_values(other, m))
        });
        if let Some(&of) = repeated {
            notes.push(Note::SourceDropped {
                name: src.name().to_string(),
                reason: DropReason::Duplicate { of: of.to_string() },
            });
            continue;
        }
        let stream = data.streamed().zip(stream_index.as_ref().map(|i| i[m]));
        let problem = BlockProblem {
            block: src.name(),
            // Out of memory: the subsample read at opening, or for an engine the
            // labeled rows (where nonlinear fits start).
            rows: match stream {
                Some((s, i)) => s.sample(i).map_or(src.labeled(), |b| b.view(&[])),
                None => src.rows(),
            },
            weights: data.weights(),
            identity: false,
            stream,
        };
        let fit = fit_block(
            model,
            &problem,
            settings,
            require_convergence,
            rank_tol,
            !defer_exact,
        )?;
        if fit.exact {
            notes.push(Note::SourceDropped {
                name: src.name().to_string(),
                reason: DropReason::Degenerate,
            });
            continue;
        }
        kept.push(src.name());
        source_fits.push(fit);
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
    problem: &BlockProblem<'_>,
    settings: &Settings,
    require_convergence: bool,
    rank_tol: f64,
) -> Result<BlockFit> {
    let fit = fit_block(
        model,
        problem,
        settings,
        require_convergence,
        rank_tol,
        true,
    )?;
    if fit.exact {
        return Err(Error::PerfectFit {
            block: REAL.to_string(),
        });
    }
    Ok(fit)
}
