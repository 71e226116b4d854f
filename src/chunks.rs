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

/// Values per chunk of a parallel comparison (512 KB).
pub(crate) const COPY_CHUNK: usize = 1 << 16;

/// Values (8 MB) from which a copy, a scan or a comparison runs in parallel: below,
/// the memory is usually recycled and warm, and waking the threads costs more than it
/// saves.
pub(crate) const PARALLEL_VALUES: usize = 1 << 20;

/// An owned copy of `values`, written in parallel (feature `parallel`) when they are
/// contiguous: copying into a freshly allocated array is mostly the first touch of its
/// pages, which the threads then share, and an indexed parallel collection writes
/// each value once, into memory it did not zero first.
pub(crate) fn owned_copy<D: ndarray::Dimension>(
    values: ndarray::ArrayView<'_, f64, D>,
) -> ndarray::Array<f64, D> {
    let Some(flat) = values.as_slice() else {
        return values.to_owned();
    };
    #[cfg(feature = "parallel")]
    let out: Vec<f64> = match flat.len() >= PARALLEL_VALUES {
        true => {
            use rayon::prelude::*;
            flat.par_iter().copied().collect()
        }
        false => flat.to_vec(),
    };
    #[cfg(not(feature = "parallel"))]
    let out = flat.to_vec();
    ndarray::Array::from_shape_vec(values.raw_dim(), out)
        .expect("as many values as the shape, in standard order")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_copies_equal_their_source_in_every_layout() {
        let x = ndarray::Array2::from_shape_fn((70_001, 3), |(i, j)| (i * 3 + j) as f64 - 0.5);
        assert_eq!(owned_copy(x.view()), x);
        assert_eq!(owned_copy(x.t()), x.t());
        let y = x.column(1);
        assert_eq!(owned_copy(y), y);
        assert_eq!(owned_copy(ndarray::Array1::<f64>::zeros(0).view()).len(), 0);
    }
}
