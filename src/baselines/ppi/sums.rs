//! Sums over the rows of a PPI++ problem, chunk by chunk: of the imputation mixture
//! (count, Σ m, Σ ∂m/∂θᵀ, Σ m mᵀ), along a line of fits for moments affine in θ, and
//! of the real and imputed gradients on the labeled rows. Each is a sum over chunks
//! that merges by addition in row order.

use ndarray::{Array1, Array2, ArrayView1, Axis};

use super::rows::{Mixture, Part};
use crate::moment::MomentModel;
use crate::rows::Rows;

/// Sums over rows of the mixture m_t = Σ_k w_k ψ(θ; source_k, row t): the row count,
/// Σ m_t, Σ ∂m_t/∂θᵀ and Σ m_t m_tᵀ.
#[derive(Clone)]
pub(crate) struct MixtureSums {
    pub(super) count: f64,
    pub(super) sum: Array1<f64>,
    pub(super) jacobian: Array2<f64>,
    pub(super) gram: Array2<f64>,
}

impl MixtureSums {
    /// The sample covariance (denominator count − 1, as numpy's `np.cov`).
    pub(super) fn covariance(&self) -> Array2<f64> {
        covariance_from_sums(self.count, &self.sum, &self.gram)
    }
}

/// (Σ m mᵀ − (Σ m)(Σ m)ᵀ/c) / (c − 1): the sample covariance of c rows from their sums.
pub(super) fn covariance_from_sums(
    count: f64,
    sum: &Array1<f64>,
    gram: &Array2<f64>,
) -> Array2<f64> {
    if count < 2.0 {
        return Array2::zeros(gram.dim());
    }
    let outer = sum
        .view()
        .insert_axis(Axis(1))
        .dot(&sum.view().insert_axis(Axis(0)));
    crate::linalg::symmetrize((gram - &(outer / count)) / (count - 1.0))
}

/// Sums over chunks of rows that merge by addition.
pub(super) trait ChunkSums: Send {
    fn add(&mut self, other: &Self);
}

/// The chunks' sums added to `empty` in row order: the same result whatever the
/// number of threads that computed them.
pub(super) fn add_all<S: ChunkSums>(empty: S, chunks: Vec<S>) -> S {
    let mut total = empty;
    for piece in &chunks {
        total.add(piece);
    }
    total
}

impl ChunkSums for MixtureSums {
    fn add(&mut self, other: &Self) {
        self.count += other.count;
        self.sum += &other.sum;
        self.jacobian += &other.jacobian;
        self.gram += &other.gram;
    }
}

impl MixtureSums {
    /// The sums of no rows, p moments.
    pub(super) fn empty(p: usize) -> Self {
        MixtureSums {
            count: 0.0,
            sum: Array1::zeros(p),
            jacobian: Array2::zeros((p, p)),
            gram: Array2::zeros((p, p)),
        }
    }
}

/// The mixture m_t = Σ_k w_k ψ(θ; source_k, row t) on one chunk of rows (`parts`, the
/// rows `range` of the problem; into `m`), and Σ_t ∂m_t/∂θᵀ over them; rows marked in
/// `skip` count as zero, and each row is multiplied by its observation weight when
/// `weights` (indexed as the problem's rows) are given.
pub(super) fn mixture_chunk<M: MomentModel + ?Sized>(
    theta: ArrayView1<'_, f64>,
    parts: &[Part<'_, M>],
    range: &std::ops::Range<usize>,
    (skip, weights): (Option<&[bool]>, Option<ArrayView1<'_, f64>>),
    m: &mut Array2<f64>,
) -> Array2<f64> {
    let p = theta.len();
    if let ([part], None) = (parts, weights) {
        if part.share == 1.0 {
            return single_source_chunk(part.model, theta, part.rows, range, skip, m);
        }
    }
    let mut jacobian = Array2::zeros((p, p));
    let mut part = Array2::zeros((range.len(), p));
    let w = weights.map(|w| w.slice(ndarray::s![range.clone()]).to_owned());
    let keep = match (skip.map(|skip| kept_rows(&skip[range.clone()])), &w) {
        (Some(keep), Some(w)) => Some(keep * w),
        (keep, None) => keep,
        (None, Some(w)) => Some(w.clone()),
    };
    m.fill(0.0);
    for source in parts {
        // Moments and Jacobian from one sweep over the part's rows.
        let jac = source.model.moments_and_jacobian(
            theta,
            source.rows,
            keep.as_ref().map(|k| k.view()),
            part.view_mut(),
        );
        m.scaled_add(source.share, &part);
        jacobian.scaled_add(source.share, &jac);
    }
    if let Some(w) = &w {
        *m *= &w.view().insert_axis(Axis(1));
    }
    if let Some(skip) = skip {
        zero_rows(m.view_mut(), &skip[range.clone()]);
    }
    jacobian
}

/// [`mixture_chunk`] for one unweighted source: the moments written in place, and the
/// Jacobian over the kept rows as that of every row of the chunk less that of the
/// skipped ones (labeled rows, a tenth or so), read where they lie.
fn single_source_chunk<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    range: &std::ops::Range<usize>,
    skip: Option<&[bool]>,
    m: &mut Array2<f64>,
) -> Array2<f64> {
    let mut jacobian = model.moments_and_jacobian(theta, rows, None, m.view_mut());
    if let Some(skip) = skip {
        let skip = &skip[range.clone()];
        let skipped: Vec<usize> = (0..skip.len()).filter(|&i| skip[i]).collect();
        if !skipped.is_empty() {
            let block = rows.select(&skipped);
            jacobian -= &model.jacobian(theta, block.view(rows.column_names()), None);
            zero_rows(m.view_mut(), skip);
        }
    }
    jacobian
}

/// 1 for the rows to keep, 0 for the rows marked in `skip`.
fn kept_rows(skip: &[bool]) -> Array1<f64> {
    skip.iter().map(|&s| if s { 0.0 } else { 1.0 }).collect()
}

/// Sets the rows of `m` marked in `skip` to zero.
fn zero_rows(mut m: ndarray::ArrayViewMut2<'_, f64>, skip: &[bool]) {
    for (mut row, _) in m.rows_mut().into_iter().zip(skip).filter(|(_, &s)| s) {
        row.fill(0.0);
    }
}

/// [`MixtureSums`] at θ over the mixture's rows, in chunks, leaving out the rows
/// marked in `skip`; the Gram matrix Σ m mᵀ only when `with_gram` (left zero
/// otherwise).
pub(super) fn mixture_sums<M: MomentModel + ?Sized>(
    theta: ArrayView1<'_, f64>,
    mixture: &Mixture<'_, M>,
    (skip, weights): (Option<&[bool]>, Option<ArrayView1<'_, f64>>),
    with_gram: bool,
) -> MixtureSums {
    let p = theta.len();
    if let (Some(model), None, false) = (mixture.single(), weights, with_gram) {
        return single_source_sums(model, theta, mixture, skip);
    }
    let chunks = mixture.map(|range, parts| {
        let mut m = Array2::zeros((range.len(), p));
        let jacobian = mixture_chunk(theta, parts, range, (skip, weights), &mut m);
        let skipped = skip.map_or(0, |s| s[range.clone()].iter().filter(|&&s| s).count());
        MixtureSums {
            count: (range.len() - skipped) as f64,
            sum: crate::linalg::column_sums(m.view(), false),
            jacobian,
            gram: if with_gram {
                crate::linalg::gram(m.view())
            } else {
                Array2::zeros((p, p))
            },
        }
    });
    add_all(MixtureSums::empty(p), chunks)
}

/// [`mixture_sums`] without the Gram matrix for one unweighted source (`model`, the
/// mixture's): per chunk, the model's sums over every row less those over the skipped
/// rows (no per-row moments are formed where the model has a cheaper form).
fn single_source_sums<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    mixture: &Mixture<'_, impl ?Sized + Sync>,
    skip: Option<&[bool]>,
) -> MixtureSums {
    let p = theta.len();
    let chunks = mixture.map(|range, parts| {
        let part = parts[0].rows;
        let (mut sum, mut jacobian) = model.moment_and_jacobian_sums(theta, part);
        let skipped: Vec<usize> = match skip {
            Some(skip) => (0..range.len())
                .filter(|&i| skip[range.start + i])
                .collect(),
            None => Vec::new(),
        };
        if !skipped.is_empty() {
            let block = part.select(&skipped);
            let (s, j) = model.moment_and_jacobian_sums(theta, block.view(part.column_names()));
            sum -= &s;
            jacobian -= &j;
        }
        MixtureSums {
            count: (range.len() - skipped.len()) as f64,
            sum,
            jacobian,
            gram: Array2::zeros((p, p)),
        }
    });
    add_all(MixtureSums::empty(p), chunks)
}

/// Sums of per-row vectors m_t(θ) along a line θ(λ) = θ₀ + λ d, for moments affine in
/// θ: with u_t = m_t(θ₀) and v_t = (∂m_t/∂θᵀ) d, m_t(θ(λ)) = u_t + λ v_t, so
///
/// Σ m = Σu + λ Σv,  Σ m mᵀ = Σuuᵀ + λ (Σuvᵀ + Σvuᵀ) + λ² Σvvᵀ,
///
/// and one pass over the rows serves every λ (Jacobians do not depend on λ).
pub(super) struct LineSums {
    count: f64,
    sum_u: Array1<f64>,
    sum_v: Array1<f64>,
    /// The Gram matrix of the rows [u_t, v_t] (2k × 2k).
    gram: Array2<f64>,
}

thread_local! {
    /// Per-thread rows for [`LineSums`] chunks, reused so that no chunk pays for a fresh
    /// allocation and its zeroing: every fill writes all of u and v.
    static LINE_SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl ChunkSums for LineSums {
    fn add(&mut self, other: &Self) {
        self.count += other.count;
        self.sum_u += &other.sum_u;
        self.sum_v += &other.sum_v;
        self.gram += &other.gram;
    }
}

impl LineSums {
    /// The sums of no rows of k-vectors.
    pub(super) fn empty(k: usize) -> LineSums {
        LineSums {
            count: 0.0,
            sum_u: Array1::zeros(k),
            sum_v: Array1::zeros(k),
            gram: Array2::zeros((2 * k, 2 * k)),
        }
    }

    /// The sums over the rows `range` of k-vectors u and v written by `fill` (every
    /// entry), leaving out the rows marked in `skip`.
    pub(super) fn chunk(
        range: &std::ops::Range<usize>,
        k: usize,
        skip: Option<&[bool]>,
        fill: impl Fn(ndarray::ArrayViewMut2<'_, f64>, ndarray::ArrayViewMut2<'_, f64>),
    ) -> LineSums {
        let compute = |buf: &mut [f64]| {
            let mut uv = ndarray::ArrayViewMut2::from_shape((range.len(), 2 * k), buf)
                .expect("the scratch holds exactly rows × 2k values");
            let (u, v) = uv.view_mut().split_at(Axis(1), k);
            fill(u, v);
            let kept = match skip {
                Some(skip) => {
                    let skip = &skip[range.clone()];
                    zero_rows(uv.view_mut(), skip);
                    skip.iter().filter(|&&s| !s).count()
                }
                None => range.len(),
            };
            let sums = crate::linalg::column_sums(uv.view(), false);
            LineSums {
                count: kept as f64,
                sum_u: sums.slice(ndarray::s![..k]).to_owned(),
                sum_v: sums.slice(ndarray::s![k..]).to_owned(),
                gram: crate::linalg::gram(uv.view()),
            }
        };
        let len = range.len() * 2 * k;
        LINE_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                if buf.len() < len {
                    buf.resize(len, 0.0);
                }
                compute(&mut buf[..len])
            }
            // A model that runs passes of its own inside `fill` may come back here on
            // this thread: a fresh buffer then.
            Err(_) => compute(&mut vec![0.0; len]),
        })
    }

    /// The mixture m_t = Σ_k w_k ψ(θ; source_k, row t) along the line, over the
    /// mixture's rows less those marked in `skip`.
    pub(super) fn mixture<M: MomentModel + ?Sized>(
        (base, direction): (ArrayView1<'_, f64>, ArrayView1<'_, f64>),
        mixture: &Mixture<'_, M>,
        skip: Option<&[bool]>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> LineSums {
        let p = base.len();
        let chunks = mixture.map(|range, parts| {
            LineSums::chunk(range, p, skip, |mut u, mut v| {
                mixture_line((base, direction), parts, range, weights, (&mut u, &mut v));
            })
        });
        add_all(LineSums::empty(p), chunks)
    }

    /// The sums along the line from its sums at three points, λ = 0, 1 and −1 (each
    /// Σ m and Σ m mᵀ over `count` rows): with G(λ) = Σuuᵀ + λ(Σuvᵀ + Σvuᵀ) + λ²Σvvᵀ,
    /// Σuuᵀ = G(0), Σuvᵀ + Σvuᵀ = (G(1) − G(−1))/2, Σvvᵀ = (G(1) + G(−1))/2 − G(0);
    /// the cross block is stored as half that symmetric sum, all [`at`](Self::at) reads.
    pub(super) fn from_points(count: f64, points: [(Array1<f64>, Array2<f64>); 3]) -> LineSums {
        let [(sum_0, gram_0), (sum_plus, gram_plus), (sum_minus, gram_minus)] = points;
        let k = sum_0.len();
        let mut gram = Array2::zeros((2 * k, 2 * k));
        let cross = (&gram_plus - &gram_minus) / 4.0;
        gram.slice_mut(ndarray::s![..k, ..k]).assign(&gram_0);
        gram.slice_mut(ndarray::s![..k, k..]).assign(&cross);
        gram.slice_mut(ndarray::s![k.., ..k]).assign(&cross.t());
        gram.slice_mut(ndarray::s![k.., k..])
            .assign(&((&gram_plus + &gram_minus) / 2.0 - &gram_0));
        LineSums {
            count,
            sum_v: (&sum_plus - &sum_minus) / 2.0,
            sum_u: sum_0,
            gram,
        }
    }

    /// Count, Σ m and Σ m mᵀ at θ₀ + λ d.
    pub(super) fn at(&self, lambda: f64) -> (f64, Array1<f64>, Array2<f64>) {
        let k = self.sum_u.len();
        let uu = self.gram.slice(ndarray::s![..k, ..k]);
        let uv = self.gram.slice(ndarray::s![..k, k..]);
        let vv = self.gram.slice(ndarray::s![k.., k..]);
        let gram = &uu + &((&uv + &uv.t()) * lambda) + &(&vv * (lambda * lambda));
        (
            self.count,
            &self.sum_u + &(&self.sum_v * lambda),
            crate::linalg::symmetrize(gram),
        )
    }
}

/// u_t = Σ_k w_k ψ(θ₀; source_k, row t) and v_t = Σ_k w_k (∂ψ/∂θᵀ) d on one chunk of
/// rows (`parts`, the rows `range` of the problem), times the rows' observation
/// weights when given, written into `u` and `v`.
pub(super) fn mixture_line<M: MomentModel + ?Sized>(
    (base, direction): (ArrayView1<'_, f64>, ArrayView1<'_, f64>),
    parts: &[Part<'_, M>],
    range: &std::ops::Range<usize>,
    weights: Option<ArrayView1<'_, f64>>,
    (u, v): (
        &mut ndarray::ArrayViewMut2<'_, f64>,
        &mut ndarray::ArrayViewMut2<'_, f64>,
    ),
) {
    if let ([part], None) = (parts, weights) {
        if part.share == 1.0 {
            // One source, unweighted (PPI++'s usual case): written in place.
            part.model.moments(base, part.rows, u.view_mut());
            part.model
                .moments_derivative(base, part.rows, direction, v.view_mut());
            return;
        }
    }
    u.fill(0.0);
    v.fill(0.0);
    let mut part = Array2::zeros((range.len(), base.len()));
    let w = weights.map(|w| {
        w.slice_move(ndarray::s![range.clone()])
            .insert_axis(Axis(1))
    });
    for source in parts {
        source.model.moments(base, source.rows, part.view_mut());
        if let Some(w) = &w {
            part *= w;
        }
        u.scaled_add(source.share, &part);
        source
            .model
            .moments_derivative(base, source.rows, direction, part.view_mut());
        if let Some(w) = &w {
            part *= w;
        }
        v.scaled_add(source.share, &part);
    }
}

/// Sums over the labeled rows used of the real gradients g_t = ψ(θ; real row t) (times
/// a row scale s_t, if given) and the imputed ones h_t = Σ_k w_k ψ(θ; source_k, row t):
/// the count, Σ [g; h], Σ [g; h][g; h]ᵀ (2p × 2p) and Σ ∂g_t/∂θᵀ (unscaled).
pub(super) struct LabeledSums {
    pub(super) count: f64,
    pub(super) sum: Array1<f64>,
    pub(super) gram: Array2<f64>,
    pub(super) real_jacobian: Array2<f64>,
}

impl ChunkSums for LabeledSums {
    fn add(&mut self, other: &Self) {
        self.count += other.count;
        self.sum += &other.sum;
        self.gram += &other.gram;
        self.real_jacobian += &other.real_jacobian;
    }
}

impl LabeledSums {
    /// The sums at θ of the real rows `real` and the mixture on the same rows, in
    /// chunks: no per-row matrix outlives its chunk.
    pub(super) fn at<M: MomentModel + ?Sized>(
        model: &M,
        theta: ArrayView1<'_, f64>,
        (real, imputed): (Rows<'_>, &Mixture<'_, M>),
        weights: Option<ArrayView1<'_, f64>>,
        real_scale: Option<ArrayView1<'_, f64>>,
    ) -> LabeledSums {
        let p = theta.len();
        let chunks = imputed.map(|range, parts| {
            let mut gh = Array2::zeros((range.len(), 2 * p));
            let mut m = Array2::zeros((range.len(), p));
            let w = weights.map(|w| w.slice_move(ndarray::s![range.clone()]));
            let real_jacobian =
                model.moments_and_jacobian(theta, real.slice(range.clone()), w, m.view_mut());
            if let Some(w) = w {
                m *= &w.insert_axis(Axis(1));
            }
            if let Some(scale) = real_scale {
                m *= &scale.slice(ndarray::s![range.clone()]).insert_axis(Axis(1));
            }
            gh.slice_mut(ndarray::s![.., ..p]).assign(&m);
            mixture_chunk(theta, parts, range, (None, weights), &mut m);
            gh.slice_mut(ndarray::s![.., p..]).assign(&m);
            LabeledSums {
                count: range.len() as f64,
                sum: crate::linalg::column_sums(gh.view(), false),
                gram: crate::linalg::gram(gh.view()),
                real_jacobian,
            }
        });
        let empty = LabeledSums {
            count: 0.0,
            sum: Array1::zeros(2 * p),
            gram: Array2::zeros((2 * p, 2 * p)),
            real_jacobian: Array2::zeros((p, p)),
        };
        add_all(empty, chunks)
    }

    pub(super) fn p(&self) -> usize {
        self.real_jacobian.nrows()
    }
    /// Σ h and Σ h hᵀ.
    pub(super) fn imputed(&self) -> (Array1<f64>, Array2<f64>) {
        let p = self.p();
        (
            self.sum.slice(ndarray::s![p..]).to_owned(),
            self.gram.slice(ndarray::s![p.., p..]).to_owned(),
        )
    }
    /// Σ (g − ḡ)(h − h̄)ᵀ.
    pub(super) fn centred_cross(&self) -> Array2<f64> {
        let p = self.p();
        let (g, h) = (
            self.sum.slice(ndarray::s![..p]),
            self.sum.slice(ndarray::s![p..]),
        );
        let outer = g.insert_axis(Axis(1)).dot(&h.insert_axis(Axis(0)));
        &self.gram.slice(ndarray::s![..p, p..]) - &(outer / self.count)
    }
    /// The sample covariance of the rectified gradients g_t − λ h_t (denominator
    /// count − 1, as numpy's `np.cov`).
    pub(super) fn rectified_covariance(&self, lambda: f64) -> Array2<f64> {
        let p = self.p();
        let sum = &self.sum.slice(ndarray::s![..p]) - &(&self.sum.slice(ndarray::s![p..]) * lambda);
        let gh = self.gram.slice(ndarray::s![..p, p..]);
        let gram = &self.gram.slice(ndarray::s![..p, ..p]) - &((&gh + &gh.t()) * lambda)
            + &self.gram.slice(ndarray::s![p.., p..]) * (lambda * lambda);
        covariance_from_sums(self.count, &sum, &gram)
    }
}
