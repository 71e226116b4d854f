//! The crate's private linear-algebra backend.
//!
//! Everything the estimator needs from dense linear algebra goes through this module:
//! the cross-product `AᵀB` of tall moment matrices (the T×k work behind Ω̂), the Cholesky
//! factorization of small symmetric positive-definite matrices with its triangular
//! solves, and the symmetric eigendecomposition used by the pseudo-inverse fallback.
//!
//! The default build uses the pure-Rust [`faer`] crate. With the `openblas` feature the
//! same operations go through `ndarray-linalg` (LAPACK from the system OpenBLAS) and
//! ndarray's BLAS-backed `dot`. The rest of the crate cannot tell which is active.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// Lower Cholesky factor `L` of a symmetric positive-definite matrix `A = L Lᵀ`.
#[derive(Debug, Clone)]
pub(crate) struct Cholesky {
    lower: Array2<f64>,
}

impl Cholesky {
    /// Factors `a`, or returns `None` when a pivot is not positive (the matrix is not
    /// numerically positive definite). Only the lower triangle of `a` is read.
    pub(crate) fn factor(a: ArrayView2<'_, f64>) -> Option<Self> {
        if a.iter().any(|v| !v.is_finite()) {
            return None;
        }
        backend::cholesky_lower(a).map(|lower| Self { lower })
    }

    /// The smallest squared pivot `min_i L_ii²`. For a matrix with unit diagonal this is
    /// the smallest fraction of a variable's variance not explained by the ones before
    /// it, a cheap and scale-free measure of near-singularity.
    pub(crate) fn min_squared_pivot(&self) -> f64 {
        self.lower
            .diag()
            .iter()
            .map(|d| d * d)
            .fold(f64::INFINITY, f64::min)
    }

    /// `L⁻¹`, the whitening map of the factored matrix: L⁻¹ A L⁻ᵀ = I.
    /// `None` only if the backend's triangular solve fails.
    pub(crate) fn lower_inverse(&self) -> Option<Array2<f64>> {
        let n = self.lower.nrows();
        backend::solve_lower(self.lower.view(), Array2::eye(n).view())
    }

    /// `A⁻¹`, for reported covariance matrices only (solves never form it).
    pub(crate) fn inverse(&self) -> Option<Array2<f64>> {
        let half = self.lower_inverse()?;
        Some(symmetrize(half.t().dot(&half)))
    }
}

/// Eigendecomposition `A = U diag(λ) Uᵀ` of a symmetric matrix, eigenvalues ascending.
/// Returns `None` when the iteration fails (only for non-finite input in practice).
pub(crate) fn symmetric_eigen(a: ArrayView2<'_, f64>) -> Option<(Array1<f64>, Array2<f64>)> {
    if a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    backend::symmetric_eigen(a)
}

/// Squared diagonal entries of R below this, for a matrix with unit-norm columns, make it
/// numerically rank-deficient (condition number beyond about 10¹²). Jacobians of
/// moments square the design's condition number (XᵀX for least squares), so a design
/// of condition 10⁶ — a covariate N(10⁵, 1) beside the intercept — still solves; exact
/// collinearity leaves entries at rounding, near 10⁻¹⁶.
const SINGULAR_R: f64 = 1e-24;

/// The least-squares solution X of min |A X − B| (A is m × q with m ≥ q), by a QR
/// factorization of A with its columns scaled to unit norm, so that the answer does not
/// depend on the units of the unknowns. With `scale_rows` (square A only, where the
/// solution does not depend on it) A is first equilibrated on both sides (see
/// [`equilibrate`]), so that equations and unknowns in wildly different units (a
/// covariate 10⁻¹² times the intercept's scale) do not lose the small ones to rounding.
///
/// Returns `None` when A has non-finite entries, a zero row or column, or is
/// numerically rank-deficient (a squared diagonal entry of R below 1e-24).
pub(crate) fn least_squares(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    scale_rows: bool,
) -> Option<Array2<f64>> {
    let (m, q) = a.dim();
    if m < q || q == 0 || a.iter().chain(b.iter()).any(|v| !v.is_finite()) {
        return None;
    }
    let mut a = a.to_owned();
    let mut b = b.to_owned();
    let mut unknown_scale = Array1::ones(q);
    if scale_rows && m == q {
        let (rows, columns) = equilibrate(a.view())?;
        a *= &rows.view().insert_axis(ndarray::Axis(1));
        a *= &columns.view().insert_axis(ndarray::Axis(0));
        b *= &rows.view().insert_axis(ndarray::Axis(1));
        unknown_scale = columns;
    }
    for (j, mut col) in a.columns_mut().into_iter().enumerate() {
        let norm = col.dot(&col).sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return None;
        }
        col /= norm;
        unknown_scale[j] /= norm;
    }
    let (q_factor, r) = backend::thin_qr(a.view())?;
    if r.diag()
        .iter()
        .any(|d| d * d < SINGULAR_R || !d.is_finite())
    {
        return None;
    }
    let qtb = q_factor.t().dot(&b);
    let z = backend::solve_upper_transposed(r.t(), qtb.view())?;
    let x = z * &unknown_scale.insert_axis(ndarray::Axis(1));
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Ruiz's equilibration of a matrix A (m × q): positive row and column scales r and c
/// such that every row and every column of diag(r) A diag(c) has largest entry ≈ 1
/// (to 1%), found by repeatedly dividing each row and column by the square root of
/// its largest entry. Unlike one scaling of the rows then the columns, it recovers a
/// graded matrix D₁ B D₂ (B well conditioned, D₁, D₂ diagonal in any units) as a well
/// conditioned one: a Jacobian XᵀX whose covariate is 10⁻¹² times the intercept's
/// scale has rows and columns dominated by the intercept's entries, which one-sided
/// scaling leaves nearly parallel. `None` when A has a zero row or column.
pub(crate) fn equilibrate(a: ArrayView2<'_, f64>) -> Option<(Array1<f64>, Array1<f64>)> {
    let mut rows = Array1::<f64>::ones(a.nrows());
    let mut columns = Array1::<f64>::ones(a.ncols());
    let largest = |v: ArrayView1<'_, f64>| v.iter().fold(0.0, |m: f64, x| m.max(x.abs()));
    for _ in 0..EQUILIBRATION_ROUNDS {
        let scaled = &a * &rows.view().insert_axis(Axis(1)) * columns.view().insert_axis(Axis(0));
        let (row_max, col_max) = (
            scaled.map_axis(Axis(1), largest),
            scaled.map_axis(Axis(0), largest),
        );
        let maxima = || row_max.iter().chain(&col_max);
        if maxima().any(|&v| !(v > 0.0 && v.is_finite())) {
            return None;
        }
        if maxima().all(|&v| (v - 1.0).abs() < 0.01) {
            break;
        }
        rows /= &row_max.mapv(f64::sqrt);
        columns /= &col_max.mapv(f64::sqrt);
    }
    Some((rows, columns))
}

/// Rounds of [`equilibrate`]: each halves the logarithm of the scales' remaining
/// spread, so 60 bring a spread of 10³⁰⁰ to within 1%.
const EQUILIBRATION_ROUNDS: usize = 60;

/// A⁻¹ of a square matrix by [`least_squares`] with row and column scaling.
pub(crate) fn inverse(a: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
    if a.nrows() != a.ncols() {
        return None;
    }
    least_squares(a, Array2::eye(a.nrows()).view(), true)
}

/// `AᵀB` for tall `A` (T×k) and `B` (T×l).
pub(crate) fn cross_product(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    debug_assert_eq!(a.nrows(), b.nrows());
    backend::cross_product(a, b)
}

/// `AᵀB` for tall `A` and `B` (T×k each) whose product is symmetric — `AᵀA`, or
/// `Xᵀ D X` written as `(DX)ᵀX` — from its lower triangle alone (half the products),
/// mirrored: exactly symmetric.
pub(crate) fn symmetric_cross_product(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
) -> Array2<f64> {
    debug_assert_eq!(a.dim(), b.dim());
    let mut m = backend::lower_cross_product(a, b);
    for i in 0..m.nrows() {
        for j in 0..i {
            m[[j, i]] = m[[i, j]];
        }
    }
    m
}

/// Σ_t a_t: the column sums of a tall matrix, accumulated row by row (the memory order
/// of the moment matrices), optionally of the squared entries.
pub(crate) fn column_sums(a: ArrayView2<'_, f64>, squared: bool) -> Array1<f64> {
    let mut sums = vec![0.0; a.ncols()];
    if let (Some(flat), false) = (a.as_slice(), a.ncols() == 0) {
        // Row-major and contiguous: the same order of additions, without a view per row.
        for r in flat.chunks_exact(a.ncols()) {
            if squared {
                sums.iter_mut().zip(r).for_each(|(s, v)| *s += v * v);
            } else {
                sums.iter_mut().zip(r).for_each(|(s, v)| *s += v);
            }
        }
        return Array1::from(sums);
    }
    for row in a.rows() {
        match (row.as_slice(), squared) {
            (Some(r), false) => sums.iter_mut().zip(r).for_each(|(s, v)| *s += v),
            (Some(r), true) => sums.iter_mut().zip(r).for_each(|(s, v)| *s += v * v),
            (None, false) => sums.iter_mut().zip(row).for_each(|(s, v)| *s += v),
            (None, true) => sums.iter_mut().zip(row).for_each(|(s, v)| *s += v * v),
        }
    }
    Array1::from(sums)
}

/// [`column_sums`] of the entries and of their squares in one sweep over the rows (the
/// same additions in the same order, so the same sums to the last bit).
pub(crate) fn column_sums_and_squares(a: ArrayView2<'_, f64>) -> (Array1<f64>, Array1<f64>) {
    let k = a.ncols();
    let (mut sums, mut squares) = (vec![0.0; k], vec![0.0; k]);
    let mut add = |row: &[f64]| {
        for ((s, q), v) in sums.iter_mut().zip(squares.iter_mut()).zip(row) {
            *s += v;
            *q += v * v;
        }
    };
    match a.as_slice() {
        Some(flat) if k > 0 => flat.chunks_exact(k).for_each(&mut add),
        _ => a.rows().into_iter().for_each(|row| add(&row.to_vec())),
    }
    (Array1::from(sums), Array1::from(squares))
}

/// `AᵀA`, exactly symmetric.
pub(crate) fn gram(a: ArrayView2<'_, f64>) -> Array2<f64> {
    symmetric_cross_product(a, a)
}

/// `diag(s) · A · diag(s)`: the two-sided scaling used to equilibrate symmetric matrices.
pub(crate) fn scale_both_sides(a: ArrayView2<'_, f64>, s: ArrayView1<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn(a.dim(), |(i, j)| s[i] * a[[i, j]] * s[j])
}

/// The sandwich A B Aᵀ (symmetrized): the covariance of A z for z with covariance B,
/// e.g. J⁻¹ B J⁻ᵀ of an M-estimator with bread J⁻¹ and meat B.
pub(crate) fn sandwich(bread: &Array2<f64>, meat: &Array2<f64>) -> Array2<f64> {
    symmetrize(bread.dot(meat).dot(&bread.t()))
}

/// `(M + Mᵀ)/2`, to remove rounding asymmetry before a symmetric factorization.
pub(crate) fn symmetrize(mut m: Array2<f64>) -> Array2<f64> {
    let n = m.nrows();
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (m[[i, j]] + m[[j, i]]);
            m[[i, j]] = v;
            m[[j, i]] = v;
        }
    }
    m
}

#[cfg(all(feature = "faer", not(feature = "openblas")))]
mod backend {
    use faer::linalg::matmul::matmul;
    use faer::linalg::matmul::triangular::{matmul as triangular_matmul, BlockStructure};
    use faer::linalg::triangular_solve::{
        solve_lower_triangular_in_place, solve_upper_triangular_in_place,
    };
    use faer::{Accum, Mat, MatRef, Par, Side};
    use ndarray::{Array1, Array2, ArrayView2};

    /// Zero-copy view of an ndarray matrix as a faer matrix.
    fn as_faer<'a>(a: &ArrayView2<'a, f64>) -> MatRef<'a, f64> {
        let (rows, cols) = a.dim();
        let strides = a.strides();
        // SAFETY: the pointer, shape and element strides all come from a live ndarray view
        // with lifetime 'a, so every (i, j) with i < rows, j < cols addresses an element
        // of that view, and the returned MatRef is read-only and lives no longer than it.
        unsafe { MatRef::from_raw_parts(a.as_ptr(), rows, cols, strides[0], strides[1]) }
    }

    /// Clears the upper halves of the vector registers when dropped.
    ///
    /// faer's x86 matrix kernels use AVX-512 registers and return without `vzeroupper`;
    /// until the upper state is cleared, every legacy-SSE instruction that follows
    /// (libm's `exp` among them) pays a state-transition penalty: `exp` ran 30× slower
    /// after a 200 × 10 Gram matrix on the project's machine, and the logistic fit spent
    /// most of its time there. Every backend entry point holds one of these.
    struct CleanVectorState;

    impl Drop for CleanVectorState {
        fn drop(&mut self) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx") {
                #[target_feature(enable = "avx")]
                fn zero_upper() {
                    std::arch::x86_64::_mm256_zeroupper();
                }
                // SAFETY: the CPU supports AVX (checked above), the only requirement of
                // the `avx` target feature enabled on `zero_upper`.
                unsafe { zero_upper() }
            }
        }
    }

    fn to_ndarray(m: MatRef<'_, f64>) -> Array2<f64> {
        Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
    }

    pub(super) fn cholesky_lower(a: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
        let _clean = CleanVectorState;
        let llt = as_faer(&a).llt(Side::Lower).ok()?;
        let mut l = to_ndarray(llt.L());
        // faer leaves the strict upper triangle unspecified; make it exactly zero.
        for i in 0..l.nrows() {
            for j in (i + 1)..l.ncols() {
                l[[i, j]] = 0.0;
            }
        }
        Some(l)
    }

    pub(super) fn solve_lower(
        l: ArrayView2<'_, f64>,
        b: ArrayView2<'_, f64>,
    ) -> Option<Array2<f64>> {
        let _clean = CleanVectorState;
        let mut rhs: Mat<f64> = as_faer(&b).to_owned();
        solve_lower_triangular_in_place(as_faer(&l), rhs.as_mut(), Par::Seq);
        Some(to_ndarray(rhs.as_ref()))
    }

    pub(super) fn solve_upper_transposed(
        l: ArrayView2<'_, f64>,
        b: ArrayView2<'_, f64>,
    ) -> Option<Array2<f64>> {
        let _clean = CleanVectorState;
        let mut rhs: Mat<f64> = as_faer(&b).to_owned();
        solve_upper_triangular_in_place(as_faer(&l).transpose(), rhs.as_mut(), Par::Seq);
        Some(to_ndarray(rhs.as_ref()))
    }

    pub(super) fn thin_qr(a: ArrayView2<'_, f64>) -> Option<(Array2<f64>, Array2<f64>)> {
        let _clean = CleanVectorState;
        let qr = as_faer(&a).qr();
        let r = qr.thin_R();
        let mut upper = to_ndarray(r);
        for i in 0..upper.nrows() {
            for j in 0..i.min(upper.ncols()) {
                upper[[i, j]] = 0.0;
            }
        }
        Some((to_ndarray(qr.compute_thin_Q().as_ref()), upper))
    }

    pub(super) fn symmetric_eigen(a: ArrayView2<'_, f64>) -> Option<(Array1<f64>, Array2<f64>)> {
        let _clean = CleanVectorState;
        let evd = as_faer(&a).self_adjoint_eigen(Side::Lower).ok()?;
        let s = evd.S();
        let values = Array1::from_shape_fn(a.nrows(), |i| s[i]);
        Some((values, to_ndarray(evd.U())))
    }

    pub(super) fn cross_product(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
        let _clean = CleanVectorState;
        let mut out = Mat::<f64>::zeros(a.ncols(), b.ncols());
        matmul(
            out.as_mut(),
            Accum::Replace,
            as_faer(&a).transpose(),
            as_faer(&b),
            1.0,
            Par::Seq,
        );
        to_ndarray(out.as_ref())
    }

    /// The lower triangle of AᵀB (the strict upper triangle is not computed).
    pub(super) fn lower_cross_product(
        a: ArrayView2<'_, f64>,
        b: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        let _clean = CleanVectorState;
        let mut out = Mat::<f64>::zeros(a.ncols(), b.ncols());
        triangular_matmul(
            out.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            as_faer(&a).transpose(),
            BlockStructure::Rectangular,
            as_faer(&b),
            BlockStructure::Rectangular,
            1.0,
            Par::Seq,
        );
        to_ndarray(out.as_ref())
    }
}

#[cfg(feature = "openblas")]
mod backend {
    use ndarray::{Array1, Array2, ArrayView2};
    use ndarray_linalg::{Cholesky, Diag, Eigh, SolveTriangular, QR, UPLO};

    /// A row-major copy with the default strides. ndarray allows any stride on an axis
    /// of length one (a 1 × 1 slice of a larger matrix may carry zero strides), which
    /// LAPACK would read as a leading dimension of zero and reject.
    fn standard(a: ArrayView2<'_, f64>) -> Array2<f64> {
        Array2::from_shape_vec(a.raw_dim(), a.iter().copied().collect())
            .expect("the shape holds exactly the array's entries")
    }

    pub(super) fn cholesky_lower(a: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
        standard(a).cholesky(UPLO::Lower).ok()
    }

    pub(super) fn solve_lower(
        l: ArrayView2<'_, f64>,
        b: ArrayView2<'_, f64>,
    ) -> Option<Array2<f64>> {
        standard(l)
            .solve_triangular(UPLO::Lower, Diag::NonUnit, &standard(b))
            .ok()
    }

    pub(super) fn solve_upper_transposed(
        l: ArrayView2<'_, f64>,
        b: ArrayView2<'_, f64>,
    ) -> Option<Array2<f64>> {
        standard(l.t())
            .solve_triangular(UPLO::Upper, Diag::NonUnit, &standard(b))
            .ok()
    }

    pub(super) fn thin_qr(a: ArrayView2<'_, f64>) -> Option<(Array2<f64>, Array2<f64>)> {
        standard(a).qr().ok()
    }

    pub(super) fn symmetric_eigen(a: ArrayView2<'_, f64>) -> Option<(Array1<f64>, Array2<f64>)> {
        standard(a).eigh(UPLO::Lower).ok()
    }

    pub(super) fn cross_product(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
        a.t().dot(&b)
    }

    /// The lower triangle of AᵀB (BLAS has no triangular product of two general
    /// matrices: the whole product, its strict upper triangle then overwritten).
    pub(super) fn lower_cross_product(
        a: ArrayView2<'_, f64>,
        b: ArrayView2<'_, f64>,
    ) -> Array2<f64> {
        a.t().dot(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn symmetric_products_are_the_full_product_mirrored() {
        let x = Array2::from_shape_fn((300, 7), |(i, j)| ((i * 7 + j) as f64 * 0.61).cos());
        let d = Array1::from_shape_fn(300, |i| 0.1 + (i as f64 * 0.3).sin().powi(2));
        let dx = &x * &d.view().insert_axis(ndarray::Axis(1));
        for (a, b) in [(x.view(), x.view()), (dx.view(), x.view())] {
            let full = cross_product(a, b);
            let half = symmetric_cross_product(a, b);
            assert_eq!(half, half.t());
            for i in 0..7 {
                for j in 0..=i {
                    let tol = 1e-13 * full[[i, j]].abs().max(1.0);
                    assert!((half[[i, j]] - full[[i, j]]).abs() <= tol, "({i}, {j})");
                }
            }
        }
        assert_eq!(gram(x.view()), symmetric_cross_product(x.view(), x.view()));
    }

    #[test]
    fn sums_and_squares_in_one_sweep_are_the_separate_sums() {
        let a = Array2::from_shape_fn((37, 3), |(i, j)| ((i * 7 + j) as f64 * 0.37).sin() * 1e3);
        // Row-major, and column-major (rows not contiguous).
        let column_major = a.t().to_owned().reversed_axes();
        for view in [a.view(), column_major.view()] {
            let (sums, squares) = column_sums_and_squares(view);
            assert_eq!(sums, column_sums(view, false));
            assert_eq!(squares, column_sums(view, true));
        }
        let strided = a.slice(ndarray::s![.., ..;2]);
        let (sums, squares) = column_sums_and_squares(strided);
        assert_eq!(
            (sums, squares),
            (column_sums(strided, false), column_sums(strided, true))
        );
        let empty = Array2::<f64>::zeros((4, 0));
        assert_eq!(column_sums_and_squares(empty.view()).0.len(), 0);
    }

    #[test]
    fn cholesky_solves_and_inverts() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 5.0, 1.0], [0.4, 1.0, 3.0]];
        let chol = Cholesky::factor(a.view()).unwrap();
        assert_abs_diff_eq!(
            a.dot(&chol.inverse().unwrap()),
            Array2::eye(3),
            epsilon = 1e-12
        );
        let l = chol.lower_inverse().unwrap();
        // L⁻¹ A L⁻ᵀ = I
        assert_abs_diff_eq!(l.dot(&a).dot(&l.t()), Array2::eye(3), epsilon = 1e-12);
    }

    #[test]
    fn least_squares_is_free_of_units() {
        // Rows and columns in wildly different units: 10¹⁶ apart.
        let a = array![[1e8, 2e-8], [3e8, 4e-8]];
        let b = array![[1.0], [2.0]];
        let x = least_squares(a.view(), b.view(), true).unwrap();
        assert_abs_diff_eq!(a.dot(&x), b, epsilon = 1e-12);
        // The 3 × 2 least-squares problem agrees with the normal equations.
        let a = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]];
        let b = array![[1.0], [2.0], [4.0]];
        let x = least_squares(a.view(), b.view(), false).unwrap();
        assert_abs_diff_eq!(x, array![[5.0 / 6.0], [1.5]], epsilon = 1e-12);
        assert!(least_squares(
            array![[1.0, 2.0], [2.0, 4.0]].view(),
            b.slice(ndarray::s![..2, ..]),
            true
        )
        .is_none());
        let inv = inverse(array![[2.0, 1.0], [1.0, 3.0]].view()).unwrap();
        assert_abs_diff_eq!(inv, array![[0.6, -0.2], [-0.2, 0.4]], epsilon = 1e-12);
    }

    /// One unknown: a 1 × 1 inverse and a one-column least-squares problem, on every
    /// backend (LAPACK's QR of a single column is a reflection or the identity).
    #[test]
    fn one_unknown_is_solved() {
        let inv = inverse(array![[4.0]].view()).unwrap();
        assert_abs_diff_eq!(inv, array![[0.25]], epsilon = 1e-15);
        // A 1 × 1 array may carry zero strides (ndarray allows any stride on an axis of
        // length one); LAPACK needs a leading dimension of at least one.
        use ndarray::ShapeBuilder;
        let zero_strides = Array2::from_shape_vec((1, 1).strides((0, 0)), vec![4.0]).unwrap();
        let inv = inverse(zero_strides.view()).unwrap();
        assert_abs_diff_eq!(inv, array![[0.25]], epsilon = 1e-15);
        let chol = Cholesky::factor(zero_strides.view()).unwrap();
        assert_abs_diff_eq!(chol.inverse().unwrap(), array![[0.25]], epsilon = 1e-15);
        assert!(symmetric_eigen(zero_strides.view()).is_some());
        let inv = inverse(array![[-3e-9]].view()).unwrap();
        assert_abs_diff_eq!(inv[[0, 0]] * -3e-9, 1.0, epsilon = 1e-12);
        let x = least_squares(
            array![[1.0], [1.0], [1.0]].view(),
            array![[1.0], [2.0], [6.0]].view(),
            false,
        )
        .unwrap();
        assert_abs_diff_eq!(x, array![[3.0]], epsilon = 1e-12);
    }

    /// XᵀX with an intercept and a covariate in units c: D J D with D = diag(1, c).
    /// Scaling the rows by their largest entry (the intercept's) leaves them nearly
    /// parallel for c ≤ 10⁻⁸; two-sided equilibration inverts it for any c, and the
    /// inverse is D⁻¹ J⁻¹ D⁻¹ to rounding.
    #[test]
    fn graded_jacobians_are_inverted_in_any_units() {
        let j = array![[200.0, 13.0], [13.0, 190.0]];
        let inv = inverse(j.view()).unwrap();
        for c in [1e-12, 1e-100, 1e-150, 1e12, 1e100] {
            let d = array![1.0, c];
            let scaled = scale_both_sides(j.view(), d.view());
            let got = inverse(scaled.view()).unwrap();
            let expected = scale_both_sides(inv.view(), d.mapv(|v| 1.0 / v).view());
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() <= 1e-12 * e.abs(), "c = {c}: {g} vs {e}");
            }
        }
        let (rows, columns) = equilibrate(array![[1e-30, 1.0], [1.0, 0.0]].view()).unwrap();
        assert!(rows
            .iter()
            .chain(&columns)
            .all(|v| v.is_finite() && *v > 0.0));
        assert!(equilibrate(array![[1.0, 0.0], [0.0, 0.0]].view()).is_none());
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        let a = array![[1.0, 2.0], [2.0, 1.0]];
        assert!(Cholesky::factor(a.view()).is_none());
    }

    #[test]
    fn eigen_reconstructs() {
        let a = array![[2.0, 1.0], [1.0, 2.0]];
        let (w, u) = symmetric_eigen(a.view()).unwrap();
        assert_abs_diff_eq!(w, array![1.0, 3.0], epsilon = 1e-12);
        let rebuilt = u.dot(&Array2::from_diag(&w)).dot(&u.t());
        assert_abs_diff_eq!(rebuilt, a, epsilon = 1e-12);
    }

    #[test]
    fn cross_product_of_strided_views() {
        let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = a.t(); // 3×2, non-standard layout
        let c = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        assert_abs_diff_eq!(cross_product(b, c.view()), b.t().dot(&c), epsilon = 1e-14);
        assert_abs_diff_eq!(gram(c.view()), c.t().dot(&c), epsilon = 1e-14);
    }
}
