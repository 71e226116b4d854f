//! Rows in chunks, mapped in parallel (feature `parallel`) and gathered in order, so
//! that every sum over chunks is identical to the last bit whatever the number of
//! threads. Every pass of the engine and every per-row computation outside it (leverages,
//! CR2, the bootstrap, the simultaneous draws) splits its work this way.

/// Rows per chunk unless configured otherwise: the moment columns of a chunk
/// (rows × k(1 + M)) stay within a few hundred kilobytes for k(1 + M) ≤ 30.
pub const DEFAULT_CHUNK_ROWS: usize = 4096;

/// Consecutive ranges of `size` rows (at least 1) covering `n` rows, the last one
/// shorter.
pub(crate) fn chunk_ranges(n: usize, size: usize) -> Vec<std::ops::Range<usize>> {
    let size = size.max(1);
    (0..n.div_ceil(size))
        .map(|c| c * size..((c + 1) * size).min(n))
        .collect()
}

/// Maps `f` over the items (in parallel with the `parallel` feature) and returns the
/// results in item order.
pub(crate) fn map_ordered<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync + Send,
) -> Vec<R> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        items.par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        items.iter().map(f).collect()
    }
}
