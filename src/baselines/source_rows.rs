//! Every row of some sources, wherever it lives: arrays in memory, or the batches the
//! sources' files are read in (one read per pass). The baselines that sum over every
//! row (PPI++, PPI++Synth, DSL) go through [`SourceRows::map`] and never ask which.

use std::ops::Range;

use crate::chunks::{chunk_ranges, map_ordered, DEFAULT_CHUNK_ROWS};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::rows::Rows;
use crate::tier::Streamed;

/// Rows of the mixed sources, aligned row by row.
pub(crate) enum SourceRows<'a> {
    /// Arrays in memory, in chunks of [`DEFAULT_CHUNK_ROWS`] rows.
    InMemory(Vec<Rows<'a>>),
    /// Read from their files batch by batch: the stream and its indices of the sources.
    Streamed(&'a Streamed, Vec<usize>),
}

impl<'a> SourceRows<'a> {
    /// Every row of the sources `names` of `data`: borrowed arrays, or their files.
    ///
    /// # Errors
    /// [`Error::NeedsInMemory`] when an engine sums the rows (its passes give sums, not
    /// rows; PPI++ forms its sums from them itself, `ppi::engine`),
    /// [`Error::MissingSource`] for an unknown name.
    pub(crate) fn every_row(
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
    pub(crate) fn reborrow(&self) -> SourceRows<'_> {
        match self {
            SourceRows::InMemory(rows) => {
                SourceRows::InMemory(rows.iter().map(|r| r.reborrow()).collect())
            }
            SourceRows::Streamed(stream, sources) => SourceRows::Streamed(stream, sources.clone()),
        }
    }

    /// `f` on each chunk (in parallel): its range of rows and every source's rows in
    /// it; the results in row order, the same whatever the number of threads.
    pub(crate) fn map<R: Send>(
        &self,
        f: impl Fn(&Range<usize>, &[Rows<'_>]) -> R + Sync + Send,
    ) -> Vec<R> {
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

    /// `result`, unless a pass over files failed to read since the last check: its
    /// sums were then incomplete, and the read error is returned instead.
    pub(crate) fn checked<T>(&self, result: Result<T>) -> Result<T> {
        match self {
            SourceRows::Streamed(stream, _) => match stream.take_failure() {
                Some(e) => Err(e),
                None => result,
            },
            SourceRows::InMemory(_) => result,
        }
    }
}
