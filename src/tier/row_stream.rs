//! A stream of rows: parts read independently, each in batches (Parquet files' row
//! groups), and the plain read of a pass over them.

use std::fmt;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::rows::{RowBlock, Rows};

/// Rows of one batch: the first row's index in the data set and one block per source
/// asked for.
pub(crate) type Visit<'v> = dyn FnMut(usize, &[RowBlock]) + 'v;

/// Where the sources' rows live: parts of rows that can be read independently.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) trait RowStream: Send + Sync + fmt::Debug {
    /// The row ranges of the parts, ascending and covering 0..T.
    fn parts(&self) -> &[Range<usize>];
    /// Reads the rows of part `part` in order, in batches, calling `visit` with the first
    /// row of each batch and the rows of the sources `sources` (indices among the
    /// stream's sources).
    fn read_part(&self, part: usize, sources: &[usize], visit: &mut Visit<'_>) -> Result<()>;
    /// Names of the extra columns every block read carries, in their order.
    fn column_names(&self) -> &[String];
}

/// `f` on every batch of `stream`'s sources `sources`, parts in parallel, results in row
/// order; a part that could not be read ends there and is handed to `fail`.
pub(crate) fn read_alone<R: Send>(
    stream: &dyn RowStream,
    (sources, names): (&[usize], &[String]),
    f: impl Fn(usize, &[Rows<'_>]) -> R + Sync + Send,
    fail: impl Fn(Error) + Sync,
) -> Vec<R> {
    let parts: Vec<usize> = (0..stream.parts().len()).collect();
    let per_part = crate::chunks::map_ordered(&parts, |&part| {
        let mut out = Vec::new();
        let read = stream.read_part(part, sources, &mut |start, blocks| {
            let rows: Vec<Rows<'_>> = blocks.iter().map(|b| b.view(names)).collect();
            out.push(f(start, &rows));
        });
        if let Err(e) = read {
            fail(e);
        }
        out
    });
    per_part.into_iter().flatten().collect()
}
