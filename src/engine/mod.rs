//! The fused, chunked engine: every pass of the estimator is one sweep over chunks of
//! rows producing additive sums ([`MomentSums`] for the stacked problem, [`BlockSums`]
//! for one block), computed in parallel (feature `parallel`) and merged in chunk order,
//! so that results are identical to the last bit whatever the number of threads.
//!
//! A chunk holds a few thousand rows; the largest buffer a pass allocates is one
//! chunk's moment columns, never a T-sized matrix.

mod pass;
mod sums;

pub(crate) use pass::{
    block_sums, chunk_block_sums, chunk_sums, cluster_factor, cluster_partials, clustered_gram,
    mapped_rows, merge_block_sums, stacked_sums, BlockSums, ClusterSums, Needs,
};
pub use sums::{Layout, MomentSums};

pub use crate::chunks::DEFAULT_CHUNK_ROWS;
pub(crate) use crate::chunks::{chunk_ranges, map_ordered};

use std::ops::Range;

use ndarray::ArrayView1;

use crate::rows::Rows;

/// How the T rows are split into chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunking {
    /// Consecutive chunks of this many rows (the last one shorter).
    Rows(usize),
    /// Chunks starting at these rows (ascending, the first 0): uneven chunks, e.g. one
    /// per file or partition.
    Starts(Vec<usize>),
}

impl Default for Chunking {
    fn default() -> Self {
        Chunking::Rows(DEFAULT_CHUNK_ROWS)
    }
}

impl Chunking {
    /// The row ranges of the chunks of `n` rows; `None` for an invalid plan (zero rows
    /// per chunk, starts not ascending from 0 or beyond n).
    pub(crate) fn ranges(&self, n: usize) -> Option<Vec<Range<usize>>> {
        match self {
            Chunking::Rows(0) => None,
            Chunking::Rows(size) => Some(chunk_ranges(n, *size)),
            Chunking::Starts(starts) => {
                let valid = starts.first() == Some(&0)
                    && starts.windows(2).all(|w| w[0] < w[1])
                    && starts.last().is_some_and(|&s| s < n.max(1));
                valid.then(|| {
                    starts
                        .iter()
                        .enumerate()
                        .map(|(i, &a)| a..starts.get(i + 1).copied().unwrap_or(n))
                        .collect()
                })
            }
        }
    }
}

/// One chunk of the stacked data: rows [a, b) of every source, the labeled rows among
/// them, and the real data and label weights of those labeled rows.
pub(crate) struct Chunk<'a> {
    /// Number of rows in the chunk.
    pub rows: usize,
    /// Positions of the labeled rows within the chunk.
    pub labeled: Vec<usize>,
    /// Label weights of the labeled rows (1/π_t), if any.
    pub weights: Option<ArrayView1<'a, f64>>,
    /// The real data on the labeled rows.
    pub real: Rows<'a>,
    /// Every row of each source.
    pub sources: Vec<Rows<'a>>,
    /// The labeled rows of each source.
    pub sources_labeled: Vec<Rows<'a>>,
    /// The cluster of each row of the chunk, when the data are clustered.
    pub clusters: Option<&'a [u32]>,
    /// The observation weight of each row of the chunk, if any.
    pub row_weights: Option<ArrayView1<'a, f64>>,
}

/// The chunks of one pass, wherever their rows come from.
pub(crate) trait ChunkSet: Sync {
    /// `f` on every chunk, results in chunk order.
    fn map<R: Send>(&self, f: impl Fn(&Chunk<'_>) -> R + Sync + Send) -> Vec<R>;
    /// The number of cluster indices the chunks use (the largest plus one), `None`
    /// for unclustered rows.
    fn n_clusters(&self) -> Option<usize>;
}

impl ChunkSet for [Chunk<'_>] {
    fn map<R: Send>(&self, f: impl Fn(&Chunk<'_>) -> R + Sync + Send) -> Vec<R> {
        map_ordered(self, f)
    }
    fn n_clusters(&self) -> Option<usize> {
        self.iter().any(|c| c.clusters.is_some()).then(|| {
            self.iter()
                .filter_map(|c| c.clusters)
                .flat_map(|c| c.iter())
                .max()
                .map_or(0, |&m| m as usize + 1)
        })
    }
}
