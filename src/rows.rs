//! [`Rows`]: the per-row data a moment model reads.

use std::sync::Arc;

use ndarray::{concatenate, Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};

/// Name used for the real (human-labeled) data in errors and summaries.
pub const REAL: &str = "real";

/// The rows a [`MomentModel`](crate::MomentModel) reads: covariates x (rows × columns),
/// an outcome y, and named extra columns — instruments, offsets, exposures, group ids —
/// which the model looks up by name.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::Rows;
/// let x = array![[1.0, 0.5], [1.0, -0.2], [1.0, 0.9]];
/// let y = array![1.0, 0.0, 2.0];
/// let z = array![[0.3], [0.1], [0.8]];
/// let names = vec!["z".to_string()];
/// let rows = Rows::with_columns(x.view(), y.view(), z.view(), &names)?;
/// assert_eq!(rows.len(), 3);
/// assert_eq!(rows.column("z").unwrap()[2], 0.8);
/// assert!(rows.column("w").is_none());
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    x: ArrayView2<'a, f64>,
    y: ArrayView1<'a, f64>,
    extra: ArrayView2<'a, f64>,
    names: &'a [String],
}

impl<'a> Rows<'a> {
    /// Covariates and outcome, no extra columns.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when x and y have different numbers of rows.
    pub fn new(x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>) -> Result<Self> {
        Self::with_columns(
            x,
            y,
            ArrayView2::from_shape((x.nrows(), 0), &[]).expect("empty view"),
            &[],
        )
    }

    /// Covariates, outcome and extra columns (rows × names.len()) named by `names`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the row counts differ,
    /// [`Error::ShapeMismatch`] when `names` does not name every extra column.
    pub fn with_columns(
        x: ArrayView2<'a, f64>,
        y: ArrayView1<'a, f64>,
        extra: ArrayView2<'a, f64>,
        names: &'a [String],
    ) -> Result<Self> {
        for (what, found) in [("outcome", y.len()), ("extra columns", extra.nrows())] {
            if found != x.nrows() {
                return Err(Error::LengthMismatch {
                    what: what.to_string(),
                    expected: x.nrows(),
                    found,
                });
            }
        }
        if names.len() != extra.ncols() {
            return Err(Error::ShapeMismatch {
                what: "column names".into(),
                expected: extra.ncols(),
                found: names.len(),
            });
        }
        Ok(Self { x, y, extra, names })
    }

    /// Covariates x (rows × columns).
    pub fn x(&self) -> ArrayView2<'a, f64> {
        self.x
    }
    /// Outcomes y.
    pub fn y(&self) -> ArrayView1<'a, f64> {
        self.y
    }
    /// The extra columns (rows × names), in the order of [`column_names`](Self::column_names).
    pub fn extra(&self) -> ArrayView2<'a, f64> {
        self.extra
    }
    /// Names of the extra columns.
    pub fn column_names(&self) -> &'a [String] {
        self.names
    }
    /// The extra column called `name`, if there is one.
    pub fn column(&self, name: &str) -> Option<ArrayView1<'a, f64>> {
        let j = self.names.iter().position(|n| n == name)?;
        Some(self.extra.index_axis_move(ndarray::Axis(1), j))
    }
    /// The rows in `range`, as views.
    /// The same rows under a shorter lifetime (views are invariant in theirs).
    pub(crate) fn reborrow<'b>(self) -> Rows<'b>
    where
        'a: 'b,
    {
        Rows {
            x: self.x.reborrow(),
            y: self.y.reborrow(),
            extra: self.extra.reborrow(),
            names: self.names,
        }
    }

    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Rows<'a> {
        Rows {
            x: self.x.slice_move(ndarray::s![range.clone(), ..]),
            y: self.y.slice_move(ndarray::s![range.clone()]),
            extra: self.extra.slice_move(ndarray::s![range, ..]),
            names: self.names,
        }
    }

    /// Copies of the rows at `picked`.
    pub(crate) fn select(&self, picked: &[usize]) -> RowBlock {
        RowBlock {
            x: Arc::new(gather_rows(self.x, picked)),
            y: gather(self.y, picked),
            extra: gather_rows(self.extra, picked),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Owned rows of one block of the data: x, y and the extra columns. The covariates
/// are shared: blocks built from the same caller array hold one copy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowBlock {
    pub x: Arc<Array2<f64>>,
    pub y: Array1<f64>,
    pub extra: Array2<f64>,
}

impl RowBlock {
    pub(crate) fn view<'a>(&'a self, names: &'a [String]) -> Rows<'a> {
        debug_assert_eq!(names.len(), self.extra.ncols());
        Rows {
            x: self.x.view(),
            y: self.y.view(),
            extra: self.extra.view(),
            names,
        }
    }

    pub(crate) fn select(&self, rows: &[usize]) -> RowBlock {
        RowBlock {
            x: Arc::new(gather_rows(self.x.view(), rows)),
            y: gather(self.y.view(), rows),
            extra: gather_rows(self.extra.view(), rows),
        }
    }

    /// As [`select`](Self::select), with one copy of the selected covariates for
    /// blocks that hold the same covariate array: `copies` pairs each array already
    /// selected from (alive in its block) with its copy.
    pub(crate) fn select_sharing(
        &self,
        rows: &[usize],
        copies: &mut Vec<(*const Array2<f64>, Arc<Array2<f64>>)>,
    ) -> RowBlock {
        let key = Arc::as_ptr(&self.x);
        let x = match copies.iter().find(|(k, _)| *k == key) {
            Some((_, x)) => Arc::clone(x),
            None => {
                let x = Arc::new(gather_rows(self.x.view(), rows));
                copies.push((key, Arc::clone(&x)));
                x
            }
        };
        RowBlock {
            x,
            y: gather(self.y.view(), rows),
            extra: gather_rows(self.extra.view(), rows),
        }
    }

    /// The blocks stacked row-wise; `None` when their column counts differ.
    pub(crate) fn concatenate(blocks: &[Rows<'_>]) -> Option<RowBlock> {
        let xs: Vec<_> = blocks.iter().map(|b| b.x).collect();
        let ys: Vec<_> = blocks.iter().map(|b| b.y).collect();
        let es: Vec<_> = blocks.iter().map(|b| b.extra).collect();
        Some(RowBlock {
            x: Arc::new(concatenate(Axis(0), &xs).ok()?),
            y: concatenate(Axis(0), &ys).ok()?,
            extra: concatenate(Axis(0), &es).ok()?,
        })
    }
}

/// The rows of `x` at `rows`, in that order: one slice copy per row when `x` is
/// row-major and contiguous (ndarray's `select` goes element by element).
pub(crate) fn gather_rows(x: ArrayView2<'_, f64>, rows: &[usize]) -> Array2<f64> {
    let width = x.ncols();
    if width == 0 {
        return Array2::zeros((rows.len(), 0));
    }
    match x.as_slice() {
        Some(flat) => {
            let mut out = Vec::with_capacity(rows.len() * width);
            for &t in rows {
                out.extend_from_slice(&flat[t * width..(t + 1) * width]);
            }
            Array2::from_shape_vec((rows.len(), width), out)
                .expect("rows × width values, row-major")
        }
        _ => x.select(Axis(0), rows),
    }
}

/// The values of `y` at `rows`, in that order.
pub(crate) fn gather(y: ArrayView1<'_, f64>, rows: &[usize]) -> Array1<f64> {
    rows.iter().map(|&t| y[t]).collect()
}
