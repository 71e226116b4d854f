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
    block_sums, chunk_sums, cluster_factor, clustered_gram, stacked_sums, streamed_block_sums,
    BlockSums, Needs,
};
pub use sums::{Layout, MomentSums};

pub use crate::chunks::DEFAULT_CHUNK_ROWS;
pub(crate) use crate::chunks::{chunk_ranges, map_ordered};

use std::ops::Range;

use ndarray::ArrayView1;

use crate::data::DataSources;
use crate::rows::Rows;
use crate::stream::Streamed;

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

/// The chunks of in-memory data, as views.
pub(crate) fn chunks<'a>(
    data: &'a DataSources,
    weights: Option<ArrayView1<'a, f64>>,
    row_weights: Option<ArrayView1<'a, f64>>,
    ranges: &[Range<usize>],
) -> Vec<Chunk<'a>> {
    let labeled = data.labeled_rows();
    ranges
        .iter()
        .map(|range| {
            let lo = labeled.partition_point(|&t| t < range.start);
            let hi = labeled.partition_point(|&t| t < range.end);
            Chunk {
                rows: range.len(),
                labeled: labeled[lo..hi].iter().map(|&t| t - range.start).collect(),
                weights: weights.map(|w| w.slice_move(ndarray::s![lo..hi])),
                real: data.real_rows().slice(lo..hi),
                sources: data
                    .sources()
                    .iter()
                    .map(|s| s.rows().slice(range.clone()))
                    .collect(),
                sources_labeled: data
                    .sources()
                    .iter()
                    .map(|s| s.labeled().slice(lo..hi))
                    .collect(),
                clusters: data.clusters().map(|c| &c[range.clone()]),
                row_weights: row_weights.map(|w| w.slice_move(ndarray::s![range.clone()])),
            }
        })
        .collect()
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

/// The chunks of data whose sources are read from files: each batch the stream reads,
/// with the labeled rows it contains taken from memory.
pub(crate) struct StreamedChunks<'a> {
    pub data: &'a DataSources,
    pub stream: &'a Streamed,
    /// The stream's indices of the data set's sources.
    pub sources: Vec<usize>,
    /// Label weights of the labeled rows (1/π_t), if any.
    pub weights: Option<ArrayView1<'a, f64>>,
}

impl ChunkSet for StreamedChunks<'_> {
    fn map<R: Send>(&self, f: impl Fn(&Chunk<'_>) -> R + Sync + Send) -> Vec<R> {
        let labeled = self.data.labeled_rows();
        let names = self.data.column_names();
        self.stream
            .map_batches(&self.sources, names, |start, rows| {
                let len = rows.first().map_or(0, |r| r.len());
                let lo = labeled.partition_point(|&t| t < start);
                let hi = labeled.partition_point(|&t| t < start + len);
                let chunk = Chunk {
                    rows: len,
                    labeled: labeled[lo..hi].iter().map(|&t| t - start).collect(),
                    weights: self.weights.as_ref().map(|w| w.slice(ndarray::s![lo..hi])),
                    real: self.data.real_rows().slice(lo..hi).reborrow(),
                    sources: rows.iter().map(|r| r.reborrow()).collect(),
                    sources_labeled: self
                        .data
                        .sources()
                        .iter()
                        .map(|s| s.labeled().slice(lo..hi).reborrow())
                        .collect(),
                    clusters: None,
                    row_weights: None,
                };
                f(&chunk)
            })
    }
    fn n_clusters(&self) -> Option<usize> {
        None
    }
}
