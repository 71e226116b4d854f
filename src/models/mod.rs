//! Built-in moment models: least squares, logistic and Poisson regression, the mean,
//! quantiles, linear instrumental variables.

/// The [`MomentModel`](crate::MomentModel) methods of a generalised linear model with
/// inverse link `$link` (ψ = x (y − μ(xᵀβ)), Jacobian −Σ w μ' x xᵀ), for use inside its
/// `impl MomentModel` block.
macro_rules! glm_moment_methods {
    ($link:ty) => {
        fn moments(
            &self,
            beta: ndarray::ArrayView1<'_, f64>,
            rows: crate::rows::Rows<'_>,
            out: ndarray::ArrayViewMut2<'_, f64>,
        ) {
            super::glm_moments::<$link>(beta, rows, out)
        }

        fn jacobian(
            &self,
            beta: ndarray::ArrayView1<'_, f64>,
            rows: crate::rows::Rows<'_>,
            weights: Option<ndarray::ArrayView1<'_, f64>>,
        ) -> ndarray::Array2<f64> {
            super::glm_jacobian::<$link>(beta, rows, weights)
        }

        /// Σ_t w_t x_t (y_t − μ_t) without the rows × p moments.
        fn moment_sums(
            &self,
            beta: ndarray::ArrayView1<'_, f64>,
            rows: crate::rows::Rows<'_>,
            weights: Option<ndarray::ArrayView1<'_, f64>>,
        ) -> ndarray::Array1<f64> {
            super::glm_moment_sums::<$link>(beta, rows, weights)
        }

        /// ψ and the Jacobian with μ computed once per row.
        fn moments_and_jacobian(
            &self,
            beta: ndarray::ArrayView1<'_, f64>,
            rows: crate::rows::Rows<'_>,
            weights: Option<ndarray::ArrayView1<'_, f64>>,
            out: ndarray::ArrayViewMut2<'_, f64>,
        ) -> ndarray::Array2<f64> {
            super::glm_moments_and_jacobian::<$link>(beta, rows, weights, out)
        }

        /// (∂ψ_t/∂βᵀ) v = −μ'_t x_t (x_tᵀv).
        fn moments_derivative(
            &self,
            beta: ndarray::ArrayView1<'_, f64>,
            rows: crate::rows::Rows<'_>,
            direction: ndarray::ArrayView1<'_, f64>,
            out: ndarray::ArrayViewMut2<'_, f64>,
        ) {
            super::glm_derivative_along::<$link>(
                beta,
                rows,
                super::Along::Direction(direction),
                out,
            )
        }

        /// (∂ψ_t/∂βᵀ)ᵀ V_t = −μ'_t x_t (x_tᵀV_t).
        fn moments_derivative_transposed(
            &self,
            beta: ndarray::ArrayView1<'_, f64>,
            rows: crate::rows::Rows<'_>,
            v: ndarray::ArrayView2<'_, f64>,
            out: ndarray::ArrayViewMut2<'_, f64>,
        ) {
            super::glm_derivative_along::<$link>(beta, rows, super::Along::PerRow(v), out)
        }
    };
}
pub(crate) use glm_moment_methods;

mod iv;
mod logistic;
mod mean;
mod ols;
mod poisson;
mod quantile;
mod weak_instruments;

pub use iv::LinearIv;
pub use logistic::{sigmoid, Logistic};
pub use mean::Mean;
pub use ols::Ols;
pub use poisson::Poisson;
pub use quantile::Quantile;
pub use weak_instruments::{ConfidenceSet, FStatistic, FirstStage, IvErrors, WeakInstruments};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};

/// Σ_t w_t s_t x_t x_tᵀ: the Jacobian shape shared by every generalised linear model,
/// with per-row scale `s` and optional weights `w`.
pub(crate) fn scaled_gram(
    x: ArrayView2<'_, f64>,
    scale: impl Fn(usize) -> f64,
    weights: Option<ArrayView1<'_, f64>>,
) -> Array2<f64> {
    let mut xs = x.to_owned();
    for (t, mut row) in xs.axis_iter_mut(Axis(0)).enumerate() {
        let w = weights.map_or(1.0, |w| w[t]);
        row *= w * scale(t);
    }
    crate::linalg::symmetric_cross_product(xs.view(), x)
}

/// Row t of `out` = s_t x_t: the per-row moment shape of every generalised linear model.
pub(crate) fn scale_rows(
    x: ArrayView2<'_, f64>,
    s: ArrayView1<'_, f64>,
    mut out: ArrayViewMut2<'_, f64>,
) {
    let p = x.ncols();
    if let (Some(xs), Some(os), Some(ss)) = (x.as_slice(), out.as_slice_mut(), s.as_slice()) {
        if p > 0 {
            for ((o, xt), &st) in os.chunks_exact_mut(p).zip(xs.chunks_exact(p)).zip(ss) {
                for (o, &xj) in o.iter_mut().zip(xt) {
                    *o = xj * st;
                }
            }
        }
        return;
    }
    // Rows contiguous but not adjacent (a column block of a wider matrix): row by row.
    if let (Some(xs), Some(ss), true) = (x.as_slice(), s.as_slice(), out.strides()[1] == 1) {
        if p > 0 {
            for ((mut o, xt), &st) in out.rows_mut().into_iter().zip(xs.chunks_exact(p)).zip(ss) {
                if let Some(o) = o.as_slice_mut() {
                    for (o, &xj) in o.iter_mut().zip(xt) {
                        *o = xj * st;
                    }
                }
            }
        }
        return;
    }
    Zip::from(out.rows_mut())
        .and(x.rows())
        .and(&s)
        .for_each(|mut o, xt, &st| {
            Zip::from(&mut o).and(&xt).for_each(|o, &xj| *o = xj * st);
        });
}

/// Per-row derivatives of generalised-linear moments ψ_t = x_t (y_t − μ(x_tᵀβ)), whose
/// Jacobian is −μ'(x_tᵀβ) x_t x_tᵀ: row t of `out` = −μ'_t s_t x_t, with s_t = x_tᵀv
/// for a direction v (`moments_derivative`) or s_t = x_tᵀV_t for per-row vectors V
/// (`moments_derivative_transposed`, the matrix being symmetric).
pub(crate) fn glm_derivative(
    x: ArrayView2<'_, f64>,
    along: Along<'_>,
    slope: impl Fn(usize) -> f64,
    out: ArrayViewMut2<'_, f64>,
) {
    let s = match along {
        Along::Direction(v) => linear_predictor(x, v),
        Along::PerRow(v) => (&x * &v).sum_axis(Axis(1)),
    };
    let scale = Array1::from_shape_fn(s.len(), |t| -slope(t) * s[t]);
    scale_rows(x, scale.view(), out);
}

/// What a GLM derivative is contracted with.
pub(crate) enum Along<'a> {
    /// One direction v for every row.
    Direction(ArrayView1<'a, f64>),
    /// One vector V_t per row.
    PerRow(ArrayView2<'a, f64>),
}

/// Relative tolerance of the recession-direction tests: |x_tᵀd| below this fraction of
/// Σ_j max_t |x_tj| |d_j| counts as zero (rescaling a covariate, and the direction's
/// coordinate inversely, changes nothing).
const RECESSION_TOL: f64 = 1e-7;

/// Whether some direction d of `directions` is a recession direction of a GLM
/// likelihood on `rows`: every row's s_t = x_tᵀd is `allowed(y_t, s_t, slack)` and some
/// row `moves(s_t, slack)`. The covariates' column maxima, which the slack is relative
/// to, are read once for all the directions.
pub(crate) fn recession(
    directions: &[ArrayView1<'_, f64>],
    rows: crate::rows::Rows<'_>,
    allowed: impl Fn(f64, f64, f64) -> bool,
    moves: impl Fn(f64, f64) -> bool,
) -> bool {
    let finite: Vec<&ArrayView1<'_, f64>> = directions
        .iter()
        .filter(|d| d.iter().all(|v| v.is_finite()))
        .collect();
    if finite.is_empty() {
        return false;
    }
    let x = rows.x();
    let largest = column_max_abs(x);
    finite.into_iter().any(|direction| {
        let slack = RECESSION_TOL * largest.dot(&direction.mapv(f64::abs));
        let mut moved = false;
        for (xt, &yt) in x.rows().into_iter().zip(rows.y()) {
            let s = xt.dot(direction);
            if !allowed(yt, s, slack) {
                return false;
            }
            moved |= moves(s, slack);
        }
        moved
    })
}

/// max_t |x_tj| for every column j, over chunks of rows on every core (a maximum does
/// not depend on the order of the chunks).
fn column_max_abs(x: ArrayView2<'_, f64>) -> Array1<f64> {
    let p = x.ncols();
    let ranges = crate::chunks::chunk_ranges(x.nrows(), 4 * crate::chunks::DEFAULT_CHUNK_ROWS);
    let parts = crate::chunks::map_ordered(&ranges, |range| {
        let mut largest = Array1::<f64>::zeros(p);
        let part = x.slice(ndarray::s![range.clone(), ..]);
        match part.as_slice() {
            // Row-major rows: one contiguous sweep.
            Some(flat) if p > 0 => {
                let out = largest.as_slice_mut().expect("a new array is contiguous");
                for xt in flat.chunks_exact(p) {
                    out.iter_mut()
                        .zip(xt)
                        .for_each(|(m, v)| *m = m.max(v.abs()));
                }
            }
            _ => {
                for xt in part.rows() {
                    Zip::from(&mut largest)
                        .and(&xt)
                        .for_each(|m, v| *m = m.max(v.abs()));
                }
            }
        }
        largest
    });
    parts.into_iter().fold(Array1::zeros(p), |all, part| {
        Zip::from(&all).and(&part).map_collect(|a, b| a.max(*b))
    })
}

/// The inverse link of a generalised linear model with its canonical link: the mean
/// μ(η) and its slope dμ/dη written through μ. The moments are ψ = x (y − μ(xᵀβ)).
pub(crate) trait Link {
    fn mean(eta: f64) -> f64;
    fn slope(mean: f64) -> f64;
}

/// The linear predictor x_tᵀβ of every row.
///
/// Over contiguous rows, four rows at a time: each row's sum runs over j in order (the
/// same rounding as a plain dot product), and the four independent sums hide the
/// latency of the additions, which a single row's dependent chain cannot at p ≈ 10.
/// For the few covariates of a regression this beats a general matrix–vector product.
pub(crate) fn linear_predictor(x: ArrayView2<'_, f64>, beta: ArrayView1<'_, f64>) -> Array1<f64> {
    let (Some(flat), Some(b)) = (x.as_slice(), beta.as_slice()) else {
        return x.dot(&beta);
    };
    let p = b.len();
    if p == 0 {
        return Array1::zeros(x.nrows());
    }
    let mut out = Vec::with_capacity(x.nrows());
    let mut quads = flat.chunks_exact(4 * p);
    for quad in &mut quads {
        let (r0, rest) = quad.split_at(p);
        let (r1, rest) = rest.split_at(p);
        let (r2, r3) = rest.split_at(p);
        let mut sums = [0.0; 4];
        for j in 0..p {
            sums[0] += r0[j] * b[j];
            sums[1] += r1[j] * b[j];
            sums[2] += r2[j] * b[j];
            sums[3] += r3[j] * b[j];
        }
        out.extend_from_slice(&sums);
    }
    for row in quads.remainder().chunks_exact(p) {
        out.push(row.iter().zip(b).fold(0.0, |acc, (v, c)| acc + v * c));
    }
    Array1::from_vec(out)
}

/// The per-row means μ(x_tᵀβ).
/// The working design √μ'(x_tᵀβ) x_t of a canonical GLM, whose outer products are the
/// rows' negated Jacobians.
pub(crate) fn glm_working_design<L: Link>(
    beta: ArrayView1<'_, f64>,
    rows: crate::rows::Rows<'_>,
) -> Array2<f64> {
    let root = glm_means::<L>(beta, rows).mapv(|m| L::slope(m).max(0.0).sqrt());
    let mut design = rows.x().to_owned();
    design *= &root.insert_axis(Axis(1));
    design
}

fn glm_means<L: Link>(beta: ArrayView1<'_, f64>, rows: crate::rows::Rows<'_>) -> Array1<f64> {
    let mut eta = linear_predictor(rows.x(), beta);
    eta.mapv_inplace(L::mean);
    eta
}

/// ψ_t = x_t (y_t − μ_t).
pub(crate) fn glm_moments<L: Link>(
    beta: ArrayView1<'_, f64>,
    rows: crate::rows::Rows<'_>,
    out: ArrayViewMut2<'_, f64>,
) {
    let resid = &rows.y() - &glm_means::<L>(beta, rows);
    scale_rows(rows.x(), resid.view(), out);
}

/// Σ_t w_t x_t (y_t − μ_t) = Xᵀ(w ⊙ (y − μ)).
pub(crate) fn glm_moment_sums<L: Link>(
    beta: ArrayView1<'_, f64>,
    rows: crate::rows::Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
) -> Array1<f64> {
    let mut resid = &rows.y() - &glm_means::<L>(beta, rows);
    if let Some(w) = weights {
        resid *= &w;
    }
    let x = rows.x();
    let p = x.ncols();
    match (x.as_slice(), resid.as_slice()) {
        (Some(flat), Some(r)) if p > 0 => {
            // Row-major rows: the order of additions of the column sums of x_t r_t.
            let mut sums = vec![0.0; p];
            for (xt, &rt) in flat.chunks_exact(p).zip(r) {
                sums.iter_mut().zip(xt).for_each(|(s, &v)| *s += v * rt);
            }
            Array1::from(sums)
        }
        _ => x.t().dot(&resid),
    }
}

/// −Σ_t w_t μ'_t x_t x_tᵀ.
pub(crate) fn glm_jacobian<L: Link>(
    beta: ArrayView1<'_, f64>,
    rows: crate::rows::Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
) -> Array2<f64> {
    let means = glm_means::<L>(beta, rows);
    -scaled_gram(rows.x(), |t| L::slope(means[t]), weights)
}

/// Both, with μ computed once per row.
pub(crate) fn glm_moments_and_jacobian<L: Link>(
    beta: ArrayView1<'_, f64>,
    rows: crate::rows::Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    out: ArrayViewMut2<'_, f64>,
) -> Array2<f64> {
    let means = glm_means::<L>(beta, rows);
    let resid = &rows.y() - &means;
    scale_rows(rows.x(), resid.view(), out);
    -scaled_gram(rows.x(), |t| L::slope(means[t]), weights)
}

/// Per-row derivatives −μ'_t s_t x_t along a direction or per-row vectors.
pub(crate) fn glm_derivative_along<L: Link>(
    beta: ArrayView1<'_, f64>,
    rows: crate::rows::Rows<'_>,
    along: Along<'_>,
    out: ArrayViewMut2<'_, f64>,
) {
    let means = glm_means::<L>(beta, rows);
    glm_derivative(rows.x(), along, |t| L::slope(means[t]), out);
}
