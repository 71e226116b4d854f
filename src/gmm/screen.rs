//! Step 1 of each parameter block on its own, and the screening of sources that can
//! carry no information (exact repeats, and sources the model fits exactly).

use std::borrow::Cow;

use std::cell::{OnceCell, RefCell};

use ndarray::{Array1, Array2, ArrayView1};

use crate::data::{DataSources, REAL};
use crate::engine::{block_sums, DEFAULT_CHUNK_ROWS};
use crate::error::{Error, Result, Stage};
use crate::inference::{DropReason, Note};
use crate::moment::{checked_start, solve, Certify, MomentModel, SolveFailure};
use crate::optim::{Settings, Solution};
use crate::rows::Rows;
use crate::tier::stream::{sample_stride, Streamed, SAMPLE_ROWS};
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
    /// For moments affine in β, their constant Jacobian summed over the block's rows
    /// (with its weights), as the solve summed it.
    pub linear_jacobian: Option<Array2<f64>>,
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
    let (block, rows) = (problem.block, problem.rows);
    let start = checked_start(model, rows)?;
    // Nonlinear moments on many rows: Gauss–Newton starts from the fit on an evenly
    // spread subsample, so that the passes over every row are the last few, quadratic,
    // iterations (the result does not depend on the start, only the work does).
    let warm = warm_start(model, problem, settings, rank_tol);
    let origin = warm.as_ref().map_or(&start, |(b, _)| b).clone();
    let (k, p) = (model.n_moments(rows), model.n_params(rows));
    let passes = BlockPasses::new(model, problem, k);
    let whitener = if k > p && !problem.identity {
        Some(passes.step_one_whitener(start.view(), rank_tol)?)
    } else {
        None
    };
    let whiten = |v: Array1<f64>| match &whitener {
        Some(r) => r.dot(&v),
        None => v,
    };
    let residual = |beta: ArrayView1<'_, f64>| whiten(passes.mean(beta));
    let jacobian = |beta: ArrayView1<'_, f64>| match &whitener {
        Some(r) => r.dot(&passes.jacobian(beta)),
        None => passes.jacobian(beta),
    };
    // Out of memory, separation is certified on the subsample when the solve fails:
    // a direction that separates every row separates the subsample.
    // Rows summed by an engine are never seen: no certificate.
    let certify = match problem.stream {
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
        None => passes.squares_at(start.view()),
    };
    let exact = check_exact && vanishes(&passes.squares_at(solution.params.view()), &reference);
    let linear_jacobian = passes.linear_jacobian.get().map(|j| j * passes.n);
    Ok(BlockFit {
        solution,
        start,
        whitener,
        exact,
        start_squares: reference,
        linear_jacobian,
    })
}

/// The passes of one block's solve over its rows (in memory or streamed), remembering
/// what a later call at the same point can reuse: every residual pass also sums the
/// squared moments (for the exact-fit check) and, for moments that are not affine, the
/// Jacobian, which Gauss–Newton asks for next at the same point; affine moments have a
/// constant Jacobian, summed once.
struct BlockPasses<'p, 'a, M: ?Sized> {
    model: &'p M,
    problem: &'p BlockProblem<'a>,
    k: usize,
    n: f64,
    linear_jacobian: OnceCell<Array2<f64>>,
    seen: RefCell<Vec<(Array1<f64>, Array1<f64>)>>,
    fused: RefCell<Option<(Array1<f64>, Array2<f64>)>>,
}

impl<'p, 'a, M: MomentModel + ?Sized> BlockPasses<'p, 'a, M> {
    fn new(model: &'p M, problem: &'p BlockProblem<'a>, k: usize) -> Self {
        BlockPasses {
            model,
            problem,
            k,
            n: problem.n_rows() as f64,
            linear_jacobian: OnceCell::new(),
            seen: RefCell::new(Vec::new()),
            fused: RefCell::new(None),
        }
    }

    /// One pass: Σ_t w_t ψ_t at β, with the Jacobian's and the squares' sums if asked.
    fn sums(
        &self,
        beta: ArrayView1<'_, f64>,
        jacobian: bool,
        squares: bool,
    ) -> crate::engine::BlockSums {
        match self.problem.stream {
            Some((stream, index)) => {
                let source = (index, self.problem.weights);
                stream.block_sums(self.model, source, (self.k, beta), jacobian, squares)
            }
            None => block_sums(
                self.model,
                self.problem.rows,
                self.problem.weights,
                beta,
                jacobian,
                squares,
                DEFAULT_CHUNK_ROWS,
            ),
        }
    }

    /// The mean moments at β (one pass, which also keeps the squares and, when it will
    /// be needed, the Jacobian).
    fn mean(&self, beta: ArrayView1<'_, f64>) -> Array1<f64> {
        let with_jacobian = !self.model.is_linear() || self.linear_jacobian.get().is_none();
        let s = self.sums(beta, with_jacobian, true);
        let squares = s.squares.unwrap_or_default();
        self.seen.borrow_mut().push((beta.to_owned(), squares));
        if let Some(j) = s.jacobian {
            *self.fused.borrow_mut() = Some((beta.to_owned(), j));
        }
        s.sum / self.n
    }

    /// Σ_t ψ_t² per moment at β, from an earlier pass at β when there was one.
    fn squares_at(&self, beta: ArrayView1<'_, f64>) -> Array1<f64> {
        let known = self
            .seen
            .borrow()
            .iter()
            .rev()
            .find(|(b, _)| b.view() == beta)
            .map(|(_, s)| s.clone());
        known.unwrap_or_else(|| self.sums(beta, false, true).squares.unwrap_or_default())
    }

    /// The mean Jacobian at β.
    fn jacobian(&self, beta: ArrayView1<'_, f64>) -> Array2<f64> {
        let compute = || {
            let known = self
                .fused
                .borrow()
                .as_ref()
                .filter(|(b, _)| b.view() == beta)
                .map(|(_, j)| j.clone());
            known.unwrap_or_else(|| self.sums(beta, true, false).jacobian.unwrap_or_default())
                / self.n
        };
        if self.model.is_linear() {
            self.linear_jacobian.get_or_init(compute).clone()
        } else {
            compute()
        }
    }

    /// The whitener R of an over-identified block's step-1 weight S⁻¹ = RᵀR: S the
    /// model's step-1 metric, else the diagonal of the moments' second moments at the
    /// start.
    fn step_one_whitener(&self, start: ArrayView1<'_, f64>, rank_tol: f64) -> Result<Array2<f64>> {
        let metric = match self.problem.stream {
            Some((stream, index)) => {
                stream.step_one_metric(self.model, (index, self.problem.block))?
            }
            None => self.model.step_one_metric(self.problem.rows),
        };
        let metric = metric.unwrap_or_else(|| {
            let squares = self.sums(start, false, true).squares.unwrap_or_default();
            Array2::from_diag(&(squares / self.n))
        });
        // Moments that are linearly dependent on these rows (an instrument duplicating
        // an exogenous covariate or another instrument) leave the step-1 weight
        // singular: the block's over-identifying restrictions are not what they seem.
        let singular = |rank: usize| Error::SingularWeight {
            stage: Stage::StepOne {
                block: self.problem.block.to_string(),
            },
            rank,
            dim: self.k,
        };
        let w = Whitener::new(metric.view(), None, rank_tol).ok_or_else(|| singular(0))?;
        if w.rank() < self.k {
            return Err(singular(w.rank()));
        }
        Ok(w.matrix().to_owned())
    }
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
    // The rows a source kept out of memory holds are this subsample already (every
    // stride-th row, weights alike).
    let (sample, weights) = match problem.stream {
        Some(_) => (
            None,
            problem
                .weights
                .map(|w| w.slice(ndarray::s![..;sample_stride(n)]).to_owned()),
        ),
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
pub(crate) fn vanishes(at_fit: &Array1<f64>, at_start: &Array1<f64>) -> bool {
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

/// Leverage from which a labeled row is taken to determine part of the fit alone.
const LEVERAGE_ONE: f64 = 1.0 - 1e-9;

/// [`Error::SingleRowFit`] for a labeled row of leverage 1 in the real block's
/// just-identified fit at θ̂ (h_t = w_t tr((∂ψ_t/∂θᵀ) J⁻¹), see
/// [`crate::small_sample::leverages`]): removing that row leaves a direction of θ that
/// no other row informs, so its residual vanishes whatever its outcome, HC0 misses its
/// variance and HC2/HC3 divide by zero. Only models with a working design
/// (−∂ψ_t/∂θᵀ = x̄_t x̄_tᵀ: least squares, canonical GLMs) are checked, whose leverages
/// are a projection's, in [0, 1]; others (an instrumental-variables fit, whose
/// X(ZᵀX)⁻¹Zᵀ is no projection) and fits whose Jacobian is singular (already
/// refused) are passed over.
pub(super) fn refuse_single_row_fit<M: MomentModel + ?Sized>(
    model: &M,
    stacked: &crate::stacked::StackedMoments<'_, M>,
    theta: ArrayView1<'_, f64>,
) -> Result<()> {
    let (rows, weights) = (stacked.real_rows(), stacked.label_weights());
    let projection = stacked.k() == stacked.p()
        && model
            .working_design(theta, rows.slice(0..rows.len().min(1)))
            .is_some();
    if !projection {
        return Ok(());
    }
    let Some(j_inv) = crate::linalg::inverse(model.jacobian(theta, rows, weights).view()) else {
        return Ok(());
    };
    let leverage = crate::small_sample::leverages(model, theta, rows, weights, &j_inv);
    match leverage.iter().position(|&h| h >= LEVERAGE_ONE) {
        Some(i) => Err(Error::SingleRowFit {
            block: REAL.to_string(),
            row: stacked.data().labeled_rows()[i],
        }),
        None => Ok(()),
    }
}
