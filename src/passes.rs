//! A pass over a data set, wherever its rows live: the in-memory rows in chunks, the
//! batches a stream reads (with the labeled rows from memory), or an engine's sums.
//! The estimators call these and never ask which tier holds the rows.

use std::ops::Range;

use ndarray::{s, Array1, Array2, ArrayView1};

use crate::data::DataSources;
use crate::engine::{
    block_sums, mapped_rows, stacked_sums, Chunk, ChunkSet, Layout, MomentSums, Needs,
    DEFAULT_CHUNK_ROWS,
};
use crate::moment::MomentModel;
use crate::tier::{PassRequest, Streamed};

/// Where a stacked pass reads the rows of a data set.
enum PassRows<'a> {
    /// An engine sums them: the stream and its indices of the data set's sources.
    Engine(&'a Streamed, Vec<usize>),
    /// The batches a stream reads.
    Streamed(StreamedChunks<'a>),
    /// In-memory chunks.
    InMemory(Vec<Chunk<'a>>),
}

impl<'a> PassRows<'a> {
    /// The rows of `data`, the labeled ones weighted by `label_weights` (1/π) and
    /// in-memory rows split at `ranges`.
    fn of(
        data: &'a DataSources,
        label_weights: Option<ArrayView1<'a, f64>>,
        ranges: &[Range<usize>],
    ) -> Self {
        let streamed = data.streamed().filter(|_| !data.sources().is_empty());
        match (streamed, data.stream_indices()) {
            (Some(stream), Some(sources)) if engine_sums_rows(data) => {
                PassRows::Engine(stream, sources)
            }
            (Some(stream), Some(sources)) => PassRows::Streamed(StreamedChunks {
                data,
                stream,
                sources,
                weights: label_weights,
            }),
            // Observation weights enter the sources' all-rows blocks; without sources
            // none is read (an engine's data set holds the labeled rows' alone).
            _ => PassRows::InMemory(in_memory_chunks(
                data,
                label_weights,
                data.weights().filter(|_| !data.sources().is_empty()),
                ranges,
            )),
        }
    }
}

/// Whether an engine sums the rows of `data` (its sources' rows are then never read
/// here, so no per-row values can be had).
pub(crate) fn engine_sums_rows(data: &DataSources) -> bool {
    !data.sources().is_empty()
        && data.stream_indices().is_some()
        && data.streamed().is_some_and(|s| s.sums_engine().is_some())
}

/// The stacked moments' sums over every row of `data` at `params`, with the labeled
/// rows weighted by `label_weights` (w/π; `probabilities` says whether they divide by
/// π, which an engine applies itself) and in-memory rows split at `ranges`.
pub(crate) fn stacked_pass<M: MomentModel + ?Sized + Sync>(
    model: &M,
    data: &DataSources,
    (layout, ranges): (Layout, &[Range<usize>]),
    (label_weights, probabilities): (Option<ArrayView1<'_, f64>>, bool),
    params: ArrayView1<'_, f64>,
    needs: Needs<'_>,
) -> MomentSums {
    match PassRows::of(data, label_weights, ranges) {
        PassRows::Engine(stream, sources) => {
            let request = PassRequest {
                sources,
                params: params.to_owned(),
                jacobian: needs.jacobian,
                omega: needs.omega,
                squares: needs.squares,
                contraction: needs.contraction.map(|v| v.to_owned()),
                probabilities,
            };
            stream.engine_sums(layout.k, &request)
        }
        PassRows::Streamed(chunks) => stacked_sums(model, &chunks, layout, params, needs),
        PassRows::InMemory(chunks) => stacked_sums(model, chunks.as_slice(), layout, params, needs),
    }
}

/// Every row's stacked moments at `params` mapped by `map` (see
/// [`crate::engine::mapped_rows`]), in row order; `None` where an engine sums the rows
/// and none is at hand.
pub(crate) fn stacked_rows_mapped<M: MomentModel + ?Sized + Sync>(
    model: &M,
    data: &DataSources,
    (layout, ranges): (Layout, &[Range<usize>]),
    label_weights: Option<ArrayView1<'_, f64>>,
    (params, map): (ArrayView1<'_, f64>, ndarray::ArrayView2<'_, f64>),
) -> Option<Array2<f64>> {
    match PassRows::of(data, label_weights, ranges) {
        PassRows::Engine(..) => None,
        PassRows::Streamed(chunks) => Some(mapped_rows(model, &chunks, layout, params, map)),
        PassRows::InMemory(chunks) => {
            Some(mapped_rows(model, chunks.as_slice(), layout, params, map))
        }
    }
}

/// The sum of source `m`'s moments (k of them) over every row of `data` at `beta`, with
/// the data set's observation weights.
pub(crate) fn source_moment_sums<M: MomentModel + ?Sized + Sync>(
    model: &M,
    data: &DataSources,
    m: usize,
    (k, beta): (usize, ArrayView1<'_, f64>),
) -> Array1<f64> {
    match streamed_source(data, m) {
        Some((stream, index)) => {
            let weights = data.weights();
            stream
                .block_sums(model, (index, weights), (k, beta), false, false)
                .sum
        }
        None => {
            let rows = data.sources()[m].rows();
            block_sums(
                model,
                rows,
                data.weights(),
                beta,
                false,
                false,
                DEFAULT_CHUNK_ROWS,
            )
            .sum
        }
    }
}

/// The Jacobian of [`source_moment_sums`] in β.
pub(crate) fn source_jacobian_sums<M: MomentModel + ?Sized + Sync>(
    model: &M,
    data: &DataSources,
    m: usize,
    (k, beta): (usize, ArrayView1<'_, f64>),
) -> Array2<f64> {
    match streamed_source(data, m) {
        Some((stream, index)) => stream
            .block_sums(model, (index, data.weights()), (k, beta), true, false)
            .jacobian
            .unwrap_or_default(),
        None => model.jacobian(beta, data.sources()[m].rows(), data.weights()),
    }
}

/// For data kept out of memory, the stream and its index of source `m`.
fn streamed_source(data: &DataSources, m: usize) -> Option<(&Streamed, usize)> {
    let stream = data.streamed()?;
    Some((stream, data.stream_indices()?[m]))
}

/// The chunks of in-memory data, as views.
fn in_memory_chunks<'a>(
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
                weights: weights.map(|w| w.slice_move(s![lo..hi])),
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
                row_weights: row_weights.map(|w| w.slice_move(s![range.clone()])),
            }
        })
        .collect()
}

/// The chunks of data whose sources are read from files: each batch the stream reads,
/// with the labeled rows it contains taken from memory.
struct StreamedChunks<'a> {
    data: &'a DataSources,
    stream: &'a Streamed,
    /// The stream's indices of the data set's sources.
    sources: Vec<usize>,
    /// Label weights of the labeled rows (1/π_t), if any.
    weights: Option<ArrayView1<'a, f64>>,
}

impl ChunkSet for StreamedChunks<'_> {
    fn map<R: Send>(&self, f: impl Fn(&Chunk<'_>) -> R + Sync + Send) -> Vec<R> {
        let labeled = self.data.labeled_rows();
        self.stream.map_batches(&self.sources, |start, rows| {
            let len = rows.first().map_or(0, |r| r.len());
            let lo = labeled.partition_point(|&t| t < start);
            let hi = labeled.partition_point(|&t| t < start + len);
            let chunk = Chunk {
                rows: len,
                labeled: labeled[lo..hi].iter().map(|&t| t - start).collect(),
                weights: self.weights.as_ref().map(|w| w.slice(s![lo..hi])),
                real: self.data.real_rows().slice(lo..hi).reborrow(),
                sources: rows.iter().map(|r| r.reborrow()).collect(),
                sources_labeled: self
                    .data
                    .sources()
                    .iter()
                    .map(|s| s.labeled().slice(lo..hi).reborrow())
                    .collect(),
                clusters: self.data.clusters().map(|c| &c[start..start + len]),
                row_weights: self
                    .data
                    .weights()
                    .map(|w| w.slice_move(s![start..start + len])),
            };
            f(&chunk)
        })
    }
    fn n_clusters(&self) -> Option<usize> {
        self.data.n_clusters()
    }
}
