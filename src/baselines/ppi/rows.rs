//! The rows PPI++ sums over: the mixed sources on every row (arrays in memory, or the
//! batches their files are read in, one read per pass) or on the labeled rows used.
//! Every sum over them goes chunk by chunk through [`Mixture::map`], so the estimator
//! never asks where the rows live.

use std::ops::Range;

use crate::chunks::{chunk_ranges, map_ordered, DEFAULT_CHUNK_ROWS};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::rows::Rows;
use crate::tier::Streamed;
use crate::units::InThetaUnits;

/// Rows of the mixed sources, aligned row by row.
pub(super) enum SourceRows<'a> {
    /// Arrays in memory, in chunks of [`DEFAULT_CHUNK_ROWS`] rows.
    InMemory(Vec<Rows<'a>>),
    /// Read from their files batch by batch: the stream and its indices of the sources.
    Streamed(&'a Streamed, Vec<usize>),
}

impl<'a> SourceRows<'a> {
    /// Every row of the sources `names` of `data`: borrowed arrays, or their files.
    ///
    /// # Errors
    /// [`Error::NeedsInMemory`] when an engine sums the rows (no pass request sums a
    /// mixture's Gram matrix), [`Error::MissingSource`] for an unknown name.
    pub(super) fn every_row(
        data: &'a DataSources,
        names: &[&str],
        estimator: &str,
    ) -> Result<Self> {
        let missing = |name: &str| Error::MissingSource {
            estimator: estimator.to_string(),
            name: name.to_string(),
        };
        let Some(stream) = data.streamed() else {
            let rows = names
                .iter()
                .map(|&name| {
                    data.source(name)
                        .map(|s| s.rows())
                        .ok_or_else(|| missing(name))
                })
                .collect::<Result<_>>()?;
            return Ok(SourceRows::InMemory(rows));
        };
        if stream.sums_engine().is_some() {
            return Err(Error::NeedsInMemory {
                what: format!("{estimator} on an engine's rows"),
            });
        }
        let sources = names
            .iter()
            .map(|&name| stream.index_of(name).ok_or_else(|| missing(name)))
            .collect::<Result<_>>()?;
        Ok(SourceRows::Streamed(stream, sources))
    }

    /// The same rows, borrowed.
    pub(super) fn reborrow(&self) -> SourceRows<'_> {
        match self {
            SourceRows::InMemory(rows) => {
                SourceRows::InMemory(rows.iter().map(|r| r.reborrow()).collect())
            }
            SourceRows::Streamed(stream, sources) => SourceRows::Streamed(stream, sources.clone()),
        }
    }

    /// `f` on each chunk (in parallel): its range of rows and every source's rows in
    /// it; the results in row order, the same whatever the number of threads.
    fn map<R: Send>(&self, f: impl Fn(&Range<usize>, &[Rows<'_>]) -> R + Sync + Send) -> Vec<R> {
        match self {
            SourceRows::InMemory(rows) => {
                let n = rows.first().map_or(0, |r| r.len());
                map_ordered(&chunk_ranges(n, DEFAULT_CHUNK_ROWS), |range| {
                    let chunk: Vec<Rows<'_>> =
                        rows.iter().map(|r| r.slice(range.clone())).collect();
                    f(range, &chunk)
                })
            }
            SourceRows::Streamed(stream, sources) => stream.map_batches(sources, |start, rows| {
                let len = rows.first().map_or(0, |r| r.len());
                f(&(start..start + len), rows)
            }),
        }
    }

    /// The first read error since the last call: the passes since then are incomplete.
    pub(super) fn take_failure(&self) -> Option<Error> {
        match self {
            SourceRows::InMemory(_) => None,
            SourceRows::Streamed(stream, _) => stream.take_failure(),
        }
    }
}

/// One source of a mixture on some rows: its share, the rows and its moments in θ's
/// units.
pub(super) struct Part<'r, M: ?Sized> {
    pub share: f64,
    pub rows: Rows<'r>,
    pub model: &'r InThetaUnits<'r, M>,
}

/// A mixture m_t = Σ_k w_k ψ(θ; source_k, row t) on some rows: each source's share
/// w_k and moments in θ's units, and the rows.
pub(super) struct Mixture<'r, M: ?Sized> {
    pub shares: Vec<(f64, &'r InThetaUnits<'r, M>)>,
    pub rows: SourceRows<'r>,
}

impl<M: ?Sized + Sync> Mixture<'_, M> {
    /// `f` on each chunk of rows: its range and the mixture's parts there (in
    /// parallel; results in row order).
    pub(super) fn map<R: Send>(
        &self,
        f: impl Fn(&Range<usize>, &[Part<'_, M>]) -> R + Sync + Send,
    ) -> Vec<R> {
        self.rows.map(|range, rows| {
            let parts: Vec<Part<'_, M>> = self
                .shares
                .iter()
                .zip(rows)
                .map(|(&(share, model), rows)| Part {
                    share,
                    rows: rows.reborrow(),
                    model,
                })
                .collect();
            f(range, &parts)
        })
    }

    /// The moments of the mixture's one source, when it is one source at share 1.
    pub(super) fn single(&self) -> Option<&InThetaUnits<'_, M>> {
        match self.shares.as_slice() {
            [(share, model)] if *share == 1.0 => Some(model),
            _ => None,
        }
    }
}
