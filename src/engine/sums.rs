//! [`MomentSums`]: the additive sums behind one pass of the estimator.

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};

/// The shape of the stacked problem: k moments and p parameters per block, M sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Moments per block.
    pub k: usize,
    /// Parameters per block.
    pub p: usize,
    /// Number of auxiliary sources M.
    pub sources: usize,
}

impl Layout {
    /// Stacked moments K = k(1 + 2M).
    pub fn n_moments(&self) -> usize {
        self.k * (1 + 2 * self.sources)
    }
    /// Stacked parameters Q = p(1 + M).
    pub fn n_params(&self) -> usize {
        self.p * (1 + self.sources)
    }
}

/// Sums over rows of what one pass of the two-step estimator needs at one value of
/// (θ, η): the row and labeled-row counts, Σ_t g_t, and on request Σ_t ∂g_t/∂(θ, η)ᵀ,
/// Σ_t g_t g_tᵀ (or only its diagonal, Σ_t g_t² per moment) and Windmeijer's
/// contraction Σ_t (∂g_t/∂β_j · u_t + g_t s_tj) for a vector v (u_t = g_tᵀv,
/// s_tj = (∂g_t/∂β_j)ᵀv).
///
/// Sums over disjoint sets of rows add: a pass may be split into chunks of rows, in
/// threads, files or machines, and merged with [`merge`](Self::merge) in a fixed order.
/// [`to_vec`](Self::to_vec) and [`from_slice`](Self::from_slice) move them as a flat
/// vector of f64, laid out as
///
/// `[k, p, M, has Jacobian, has Ω, has contraction, T, n, Σg (K),
///   ΣĜ (K × Q, row-major, if present), Σggᵀ (K × K, if present) or Σg² (K, if only
///   the squares are present), contraction (K × Q, if present)]`
///
/// with K = k(1 + 2M) and Q = p(1 + M); "has Ω" is 1 for Σggᵀ, 2 for the squares
/// alone, 0 for neither.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{Layout, MomentSums};
/// let layout = Layout { k: 1, p: 1, sources: 0 };
/// let mut a = MomentSums::from_slice(&[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 0.5])?;
/// let b = MomentSums::from_slice(&[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 3.0, 1.0, -0.25])?;
/// a.merge(&b)?;
/// assert_eq!(a.layout(), layout);
/// assert_eq!((a.n_rows(), a.n_labeled()), (5.0, 3.0));
/// assert_eq!(a.moments(), array![0.25].view());
/// assert_eq!(a.to_vec()[6..], [5.0, 3.0, 0.25]);
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MomentSums {
    layout: Layout,
    rows: f64,
    labeled: f64,
    g: Array1<f64>,
    jacobian: Option<Array2<f64>>,
    omega: Option<Array2<f64>>,
    /// Σ_t g_t² per moment, when asked for without Σggᵀ (which holds them).
    squares: Option<Array1<f64>>,
    contraction: Option<Array2<f64>>,
}

const HEADER: usize = 8;

/// Mutable access to every part of a [`MomentSums`], for the pass that fills it.
pub(crate) struct SumsMut<'a> {
    pub rows: &'a mut f64,
    pub labeled: &'a mut f64,
    pub g: &'a mut Array1<f64>,
    pub jacobian: Option<&'a mut Array2<f64>>,
    pub omega: Option<&'a mut Array2<f64>>,
    pub squares: Option<&'a mut Array1<f64>>,
    pub contraction: Option<&'a mut Array2<f64>>,
}

impl MomentSums {
    /// Zero sums with the parts asked for.
    pub(crate) fn zeros(layout: Layout, jacobian: bool, omega: bool, contraction: bool) -> Self {
        let (k, q) = (layout.n_moments(), layout.n_params());
        Self {
            layout,
            rows: 0.0,
            labeled: 0.0,
            g: Array1::zeros(k),
            jacobian: jacobian.then(|| Array2::zeros((k, q))),
            omega: omega.then(|| Array2::zeros((k, k))),
            squares: None,
            contraction: contraction.then(|| Array2::zeros((k, q))),
        }
    }

    /// The same sums with room for Σ_t g_t² per moment when `squares` is asked for and
    /// Σggᵀ (whose diagonal they are) is not.
    pub(crate) fn with_squares(mut self, squares: bool) -> Self {
        if squares && self.omega.is_none() {
            self.squares = Some(Array1::zeros(self.layout.n_moments()));
        }
        self
    }

    /// The layout (k, p, M).
    pub fn layout(&self) -> Layout {
        self.layout
    }
    /// Rows summed over (T for a whole pass).
    pub fn n_rows(&self) -> f64 {
        self.rows
    }
    /// Labeled rows summed over.
    pub fn n_labeled(&self) -> f64 {
        self.labeled
    }
    /// Σ_t g_t (K).
    pub fn moments(&self) -> ndarray::ArrayView1<'_, f64> {
        self.g.view()
    }
    /// Σ_t ∂g_t/∂(θ, η)ᵀ (K × Q), if computed.
    pub fn jacobian(&self) -> Option<ndarray::ArrayView2<'_, f64>> {
        self.jacobian.as_ref().map(|m| m.view())
    }
    /// Σ_t g_t g_tᵀ (K × K), if computed.
    pub fn omega(&self) -> Option<ndarray::ArrayView2<'_, f64>> {
        self.omega.as_ref().map(|m| m.view())
    }
    /// Σ_t g_t² per moment (K): Σggᵀ's diagonal, or the squares' own sums, if either
    /// was computed.
    pub fn squares(&self) -> Option<Array1<f64>> {
        match (&self.omega, &self.squares) {
            (Some(omega), _) => Some(omega.diag().to_owned()),
            (None, squares) => squares.clone(),
        }
    }
    /// Windmeijer's contraction (K × Q), if computed: column j is T (∂Ω̂/∂β_j) v.
    pub fn contraction(&self) -> Option<ndarray::ArrayView2<'_, f64>> {
        self.contraction.as_ref().map(|m| m.view())
    }

    pub(crate) fn parts_mut(&mut self) -> SumsMut<'_> {
        SumsMut {
            rows: &mut self.rows,
            labeled: &mut self.labeled,
            g: &mut self.g,
            jacobian: self.jacobian.as_mut(),
            omega: self.omega.as_mut(),
            squares: self.squares.as_mut(),
            contraction: self.contraction.as_mut(),
        }
    }

    /// Adds sums of the same layout and parts (checked by the caller).
    pub(crate) fn add(&mut self, other: &MomentSums) {
        self.rows += other.rows;
        self.labeled += other.labeled;
        self.g += &other.g;
        for (mine, theirs) in [
            (&mut self.jacobian, &other.jacobian),
            (&mut self.omega, &other.omega),
            (&mut self.contraction, &other.contraction),
        ] {
            if let (Some(a), Some(b)) = (mine.as_mut(), theirs.as_ref()) {
                *a += b;
            }
        }
        if let (Some(a), Some(b)) = (self.squares.as_mut(), other.squares.as_ref()) {
            *a += b;
        }
    }

    /// Adds the sums of another, disjoint set of rows.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the layouts or the parts computed differ.
    pub fn merge(&mut self, other: &MomentSums) -> Result<()> {
        let same_parts = self.jacobian.is_some() == other.jacobian.is_some()
            && self.omega.is_some() == other.omega.is_some()
            && self.squares.is_some() == other.squares.is_some()
            && self.contraction.is_some() == other.contraction.is_some();
        if self.layout != other.layout || !same_parts {
            return Err(Error::ShapeMismatch {
                what: "sums merged with a different layout or parts".into(),
                expected: self.to_vec().len(),
                found: other.to_vec().len(),
            });
        }
        self.add(other);
        Ok(())
    }

    /// The sums as one flat vector (see the type's documentation for the layout).
    pub fn to_vec(&self) -> Vec<f64> {
        let l = self.layout;
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let mut out = vec![
            l.k as f64,
            l.p as f64,
            l.sources as f64,
            flag(self.jacobian.is_some()),
            flag(self.omega.is_some()) + 2.0 * flag(self.squares.is_some()),
            flag(self.contraction.is_some()),
            self.rows,
            self.labeled,
        ];
        out.extend(self.g.iter());
        for m in [&self.jacobian, &self.omega].into_iter().flatten() {
            out.extend(m.iter());
        }
        out.extend(self.squares.iter().flatten());
        out.extend(self.contraction.iter().flatten());
        out
    }

    /// Reads sums written by [`to_vec`](Self::to_vec).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the vector is shorter or longer than its header
    /// says, [`Error::InvalidConfig`] for a malformed header.
    pub fn from_slice(values: &[f64]) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidConfig {
            parameter: "sums",
            reason: reason.to_string(),
        };
        if values.len() < HEADER {
            return Err(bad("shorter than its header"));
        }
        let count = |v: f64| -> Result<usize> {
            if v >= 0.0 && v.fract() == 0.0 && v < 1e9 {
                Ok(v as usize)
            } else {
                Err(bad("the header's counts are not whole numbers"))
            }
        };
        let layout = Layout {
            k: count(values[0])?,
            p: count(values[1])?,
            sources: count(values[2])?,
        };
        let flags: Vec<bool> = values[3..6].iter().map(|&f| f == 1.0).collect();
        let mut sums =
            Self::zeros(layout, flags[0], flags[1], flags[2]).with_squares(values[4] == 2.0);
        let expected = sums.to_vec().len();
        if values.len() != expected {
            return Err(Error::ShapeMismatch {
                what: "values of flat sums".into(),
                expected,
                found: values.len(),
            });
        }
        sums.rows = values[6];
        sums.labeled = values[7];
        let kk = layout.n_moments();
        let mut at = HEADER;
        sums.g
            .assign(&ndarray::ArrayView1::from(&values[at..at + kk]));
        at += kk;
        let read = |m: &mut Array2<f64>, at: &mut usize| -> Result<()> {
            let (n, cols) = (m.len(), m.ncols());
            m.assign(
                &ndarray::ArrayView2::from_shape((n / cols, cols), &values[*at..*at + n])
                    .map_err(|_| bad("inconsistent sizes"))?,
            );
            *at += n;
            Ok(())
        };
        for m in [&mut sums.jacobian, &mut sums.omega].into_iter().flatten() {
            read(m, &mut at)?;
        }
        if let Some(squares) = sums.squares.as_mut() {
            squares.assign(&ndarray::ArrayView1::from(&values[at..at + kk]));
            at += kk;
        }
        if let Some(m) = sums.contraction.as_mut() {
            read(m, &mut at)?;
        }
        Ok(sums)
    }

    /// ḡ = Σg / T.
    pub(crate) fn mean(&self) -> Array1<f64> {
        &self.g / self.rows
    }
}
