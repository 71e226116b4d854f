//! Sources kept out of memory: their rows are read anew, in batches, by every pass.
//!
//! A data set built from files ([`crate::parquet`]) holds in memory what the estimator
//! reads row by row more than once — the label mask, the real data and every source on
//! the labeled rows, and an evenly spread subsample of each source (where nonlinear fits
//! start) — and reads the sources on all T rows from the files in each pass. A pass is
//! split into independent parts (a file's row groups), read in parallel and each in
//! batches of rows; results are merged in row order, so a fit is the same whatever the
//! number of threads, and agrees with the in-memory fit to rounding.

use std::fmt;
use std::ops::Range;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::rows::{RowBlock, Rows};

/// Rows of one batch: the first row's index in the data set and one block per source
/// asked for.
pub(crate) type Visit<'v> = dyn FnMut(usize, &[RowBlock]) + 'v;

/// Where the sources' rows live: parts of rows that can be read independently.
pub(crate) trait RowStream: Send + Sync + fmt::Debug {
    /// The row ranges of the parts, ascending and covering 0..T.
    fn parts(&self) -> &[Range<usize>];
    /// Reads the rows of part `part` in order, in batches, calling `visit` with the first
    /// row of each batch and the rows of the sources `sources` (indices among the
    /// stream's sources).
    fn read_part(&self, part: usize, sources: &[usize], visit: &mut Visit<'_>) -> Result<()>;
    /// Names of the stream's sources, in its order.
    fn source_names(&self) -> &[String];
}

/// A row stream with what was learnt from its first full read, and the first error
/// of a later pass (a file changed or vanished between passes).
pub(crate) struct Streamed {
    stream: Box<dyn RowStream>,
    /// Per source: a 128-bit fingerprint of every value, for repeated sources.
    fingerprints: Vec<[u64; 2]>,
    /// Per source: every `stride`-th row (see [`sample_stride`]).
    samples: Vec<RowBlock>,
    failure: Mutex<Option<Error>>,
}

impl fmt::Debug for Streamed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streamed")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
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
pub(crate) fn fingerprint_add(state: &mut [u64; 2], values: impl Iterator<Item = f64>) {
    for v in values {
        let bits = v.to_bits();
        state[0] = (state[0].rotate_left(5) ^ bits).wrapping_mul(0x517c_c1b7_2722_0a95);
        state[1] = (state[1] ^ bits.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545;
    }
}

impl Streamed {
    pub(crate) fn new(
        stream: Box<dyn RowStream>,
        fingerprints: Vec<[u64; 2]>,
        samples: Vec<RowBlock>,
    ) -> Self {
        Self {
            stream,
            fingerprints,
            samples,
            failure: Mutex::new(None),
        }
    }

    /// Number of rows T.
    pub(crate) fn n_rows(&self) -> usize {
        self.stream.parts().last().map_or(0, |r| r.end)
    }

    /// Whether sources `a` and `b` hold the same values on every row.
    pub(crate) fn same_values(&self, a: usize, b: usize) -> bool {
        self.fingerprints[a] == self.fingerprints[b]
    }

    /// Source `m`'s subsample: every [`sample_stride`]-th row.
    pub(crate) fn sample(&self, m: usize) -> &RowBlock {
        &self.samples[m]
    }

    /// `f` on every batch of the sources `sources` (their rows as [`Rows`] with the
    /// stream's extra-column names), parts in parallel, results in row order. A read
    /// error ends the part it happened in and is kept for [`take_failure`](Self::take_failure).
    pub(crate) fn map_batches<R: Send>(
        &self,
        sources: &[usize],
        names: &[String],
        f: impl Fn(usize, &[Rows<'_>]) -> R + Sync + Send,
    ) -> Vec<R> {
        let parts: Vec<usize> = (0..self.stream.parts().len()).collect();
        let per_part = crate::engine::map_ordered(&parts, |&part| {
            let mut out = Vec::new();
            let read = self.stream.read_part(part, sources, &mut |start, blocks| {
                let rows: Vec<Rows<'_>> = blocks.iter().map(|b| b.view(names)).collect();
                out.push(f(start, &rows));
            });
            if let Err(e) = read {
                self.fail(e);
            }
            out
        });
        per_part.into_iter().flatten().collect()
    }

    fn fail(&self, e: Error) {
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(e);
        }
    }

    /// The first read error since the last call, if any: the sums of the passes since
    /// then are incomplete.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.failure.lock().ok().and_then(|mut slot| slot.take())
    }

    /// The stream's index of the source named `name`.
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.stream.source_names().iter().position(|n| n == name)
    }
}
