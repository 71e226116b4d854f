//! Sources kept out of memory: their rows are read anew, in batches, by every pass, or
//! summed by an engine ([`SumsEngine`]).
//!
//! A data set built from files ([`crate::parquet`]) holds in memory what the estimator
//! reads row by row more than once — the label mask, the real data and every source on
//! the labeled rows, and an evenly spread subsample of each source (where nonlinear fits
//! start) — and reads the sources on all T rows from the files in each pass. A pass is
//! split into independent parts (a file's row groups), read in parallel and each in
//! batches of rows; results are merged in row order, so a fit is the same whatever the
//! number of threads, and agrees with the in-memory fit to rounding.

use std::fmt;
use std::sync::Mutex;

use ndarray::{s, Array1, Array2, ArrayView1};

use super::external::{PassRequest, SumsEngine};
use super::shared::Member;
use crate::engine::{chunk_block_sums, merge_block_sums, BlockSums, MomentSums};
use crate::error::{Error, Result};
use crate::moment::MomentModel;
use crate::rows::{RowBlock, Rows};

/// Where the sources' rows are, and the first error of a pass (a file changed or
/// vanished between passes, an engine failed): the sums of that pass are incomplete.
pub(crate) struct Streamed {
    backing: Backing,
    n_rows: usize,
    source_names: Vec<String>,
    failure: Mutex<Option<Error>>,
}

#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
enum Backing {
    /// Rows read in batches, with what their first full read learnt: per source a
    /// 128-bit fingerprint of every value (for repeated sources) and every
    /// [`sample_stride`]-th row.
    Rows {
        member: Member,
        fingerprints: Vec<[u64; 2]>,
        samples: Vec<RowBlock>,
    },
    /// Sums computed elsewhere.
    Sums(Box<dyn SumsEngine>),
}

impl fmt::Debug for Streamed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Streamed");
        match &self.backing {
            Backing::Rows { member, .. } => out.field("member", member),
            Backing::Sums(engine) => out.field("engine", engine),
        };
        out.field("n_rows", &self.n_rows).finish_non_exhaustive()
    }
}

/// Rows in the subsample of a source kept in memory: nonlinear fits on many rows start
/// from the fit on every ⌈T / SAMPLE_ROWS⌉-th row.
pub(crate) const SAMPLE_ROWS: usize = 32_768;

/// The subsample's stride for `n` rows.
pub(crate) fn sample_stride(n: usize) -> usize {
    n.div_ceil(SAMPLE_ROWS).max(1)
}

/// Folds a row's values into a source's fingerprint: two independent multiplicative
/// hashes of the bit patterns, order-sensitive.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) fn fingerprint_add(state: &mut [u64; 2], values: impl Iterator<Item = f64>) {
    for v in values {
        let bits = v.to_bits();
        state[0] = (state[0].rotate_left(5) ^ bits).wrapping_mul(0x517c_c1b7_2722_0a95);
        state[1] = (state[1] ^ bits.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545;
    }
}

impl Streamed {
    /// Rows read by `member` of a group (a group of one for a data set opened alone),
    /// with `source_names` its sources over `n_rows` rows and what the first read
    /// learnt of them.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn rows(
        member: Member,
        (n_rows, source_names): (usize, Vec<String>),
        fingerprints: Vec<[u64; 2]>,
        samples: Vec<RowBlock>,
    ) -> Self {
        Self {
            n_rows,
            source_names,
            backing: Backing::Rows {
                member,
                fingerprints,
                samples,
            },
            failure: Mutex::new(None),
        }
    }

    /// How many times the rows were read from their files since they were opened (by
    /// the data sets of other outcomes too when passes are shared); `None` for an
    /// engine's rows.
    pub(crate) fn passes_read(&self) -> Option<usize> {
        self.shared_passes().map(|member| member.group().reads())
    }

    /// The group whose passes these rows share (with other outcomes' data sets when
    /// they were opened together); `None` for an engine's rows.
    pub(crate) fn shared_passes(&self) -> Option<&Member> {
        match &self.backing {
            Backing::Rows { member, .. } => Some(member),
            Backing::Sums(_) => None,
        }
    }

    /// Sums over `n_rows` rows computed by `engine`.
    pub(crate) fn engine(engine: Box<dyn SumsEngine>, n_rows: usize) -> Self {
        Self {
            n_rows,
            source_names: engine.source_names().to_vec(),
            backing: Backing::Sums(engine),
            failure: Mutex::new(None),
        }
    }

    /// Number of rows T.
    pub(crate) fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The engine that sums the rows, when they are not read here.
    pub(crate) fn sums_engine(&self) -> Option<&dyn SumsEngine> {
        match &self.backing {
            Backing::Sums(engine) => Some(engine.as_ref()),
            Backing::Rows { .. } => None,
        }
    }

    /// Whether sources `a` and `b` hold the same values on every row (never known for
    /// an engine's sources).
    pub(crate) fn same_values(&self, a: usize, b: usize) -> bool {
        match &self.backing {
            Backing::Rows { fingerprints, .. } => fingerprints[a] == fingerprints[b],
            Backing::Sums(_) => false,
        }
    }

    /// Source `m`'s subsample, every [`sample_stride`]-th row, when the rows are read
    /// here.
    pub(crate) fn sample(&self, m: usize) -> Option<&RowBlock> {
        match &self.backing {
            Backing::Rows { samples, .. } => samples.get(m),
            Backing::Sums(_) => None,
        }
    }

    /// The engine's sums for `request`; a failure is kept (see
    /// [`take_failure`](Self::take_failure)) and zero sums of the request's shape
    /// returned.
    pub(crate) fn engine_sums(&self, k: usize, request: &PassRequest) -> MomentSums {
        let zeros = || MomentSums::for_request(k, request);
        let Some(engine) = self.sums_engine() else {
            return zeros();
        };
        match engine.sums(request) {
            Ok(sums) if sums.layout() == zeros().layout() => sums,
            Ok(sums) => {
                self.fail(Error::ShapeMismatch {
                    what: "values in the engine's sums".into(),
                    expected: zeros().to_vec().len(),
                    found: sums.to_vec().len(),
                });
                zeros()
            }
            Err(e) => {
                self.fail(e);
                zeros()
            }
        }
    }

    /// `f` on every batch of the sources `sources` (their rows as [`Rows`] with the
    /// stream's extra columns), parts in parallel, results in row order. A read
    /// error ends the part it happened in and is kept for [`take_failure`](Self::take_failure).
    pub(crate) fn map_batches<R: Send>(
        &self,
        sources: &[usize],
        f: impl Fn(usize, &[Rows<'_>]) -> R + Sync + Send,
    ) -> Vec<R> {
        let Backing::Rows { member, .. } = &self.backing else {
            return Vec::new();
        };
        member.map_batches((sources, member.column_names()), f, |e| self.fail(e))
    }

    pub(crate) fn fail(&self, e: Error) {
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(e);
        }
    }

    /// The first read error since the last call, if any: the sums of the passes since
    /// then are incomplete.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.failure.lock().ok().and_then(|mut slot| slot.take())
    }

    /// The model's step-1 metric of source `source` (the stream's index) on every row,
    /// for a metric that is a mean over rows (ZᵀZ/n for linear IV): the batches'
    /// metrics averaged with their rows as weights. `Ok(None)` when the model has none;
    /// [`Error::NeedsInMemory`] for an engine's rows, which no pass request sums.
    pub(crate) fn step_one_metric<M: MomentModel + ?Sized + Sync>(
        &self,
        model: &M,
        (source, block): (usize, &str),
    ) -> Result<Option<Array2<f64>>> {
        if self.sums_engine().is_some() {
            return Err(Error::NeedsInMemory {
                what: format!("the step-1 metric of over-identified `{block}` on an engine's rows"),
            });
        }
        let parts = self.map_batches(&[source], |_, rows| {
            model
                .step_one_metric(rows[0])
                .map(|m| m * rows[0].len() as f64)
        });
        if let Some(e) = self.take_failure() {
            return Err(e);
        }
        let total = parts
            .into_iter()
            .try_fold(None, |acc: Option<Array2<f64>>, part| {
                let part = part?;
                Some(Some(match acc {
                    Some(sum) => sum + part,
                    None => part,
                }))
            });
        Ok(total.flatten().map(|sum| sum / self.n_rows.max(1) as f64))
    }

    /// The stream's index of the source named `name`.
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.source_names.iter().position(|n| n == name)
    }

    /// [`BlockSums`] of source `source` (the stream's index) on every row, at `beta`,
    /// each row weighted by `weights` (all T rows' observation weights, if any): read
    /// from its files, or the engine's pass over this source alone (an engine that
    /// weighs its rows applies the weights itself; `weights` are then the labeled
    /// rows').
    pub(crate) fn block_sums<M: MomentModel + ?Sized + Sync>(
        &self,
        model: &M,
        (source, weights): (usize, Option<ArrayView1<'_, f64>>),
        (k, beta): (usize, ArrayView1<'_, f64>),
        jacobian: bool,
        squares: bool,
    ) -> BlockSums {
        if self.sums_engine().is_some() {
            // The engine's pass over this source alone (the real block at θ = 0 comes
            // along); its all-rows block is the source's.
            let p = beta.len();
            let mut params = Array1::zeros(2 * p);
            params.slice_mut(s![p..]).assign(&beta);
            let request = PassRequest {
                sources: vec![source],
                params,
                jacobian,
                omega: false,
                squares,
                contraction: None,
                probabilities: false,
            };
            let sums = self.engine_sums(k, &request);
            let all = 2 * k..3 * k;
            return BlockSums {
                sum: sums.moments().slice(s![all.clone()]).to_owned(),
                jacobian: sums
                    .jacobian()
                    .map(|j| j.slice(s![all.clone(), p..]).to_owned()),
                squares: sums.squares().map(|d| d.slice(s![all]).to_owned()),
            };
        }
        let parts = self.map_batches(&[source], |start, rows| {
            let weights = weights.map(|w| w.slice_move(s![start..start + rows[0].len()]));
            chunk_block_sums(model, rows[0], weights, beta, jacobian, squares)
        });
        merge_block_sums(&parts, k, beta.len(), jacobian, squares)
    }
}
