//! Whitening by the GMM weight matrix W = Ω̂⁻¹, with a pseudo-inverse fallback.
//!
//! The estimator never forms W. With D = diag(√Ω̂_ii) and the equilibrated matrix
//! C = D⁻¹Ω̂D⁻¹ = LLᵀ, the whitener R = L⁻¹D⁻¹ satisfies RᵀR = Ω̂⁻¹, so
//! ḡᵀWḡ = |Rḡ|² and ĜᵀWĜ = (RĜ)ᵀ(RĜ). R is formed once per weight matrix (k × k, a
//! triangular solve) and applied by multiplication in every iteration.
//!
//! C has unit diagonal, so its squared Cholesky pivots are the fractions of each
//! moment's variance not explained by the moments before it. When the smallest falls
//! below the rank tolerance (or the factorization fails), Ω̂ is treated as singular:
//! with the eigendecomposition C = UΛUᵀ and the r eigenvalues λ_i > tol · λ_max kept,
//! R = Λ_r^{-1/2} U_rᵀ D⁻¹ (r × k), the Moore–Penrose pseudo-inverse of the equilibrated
//! matrix. The moment combinations dropped are those that are (numerically) exact
//! linear functions of the others, e.g. a source's labeled moments when its residual
//! there is a multiple of the real one.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::linalg::{scale_both_sides, symmetric_eigen, Cholesky};

/// How the weight matrix was inverted.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum WeightInverse {
    /// Cholesky factorization: Ω̂ is numerically positive definite.
    Cholesky,
    /// Eigen-decomposition pseudo-inverse: Ω̂ is numerically singular.
    PseudoInverse {
        /// Eigenvalues kept (the numerical rank).
        rank: usize,
    },
}

/// Moment variances below this fraction of the largest, each in units free of the
/// covariates' (see [`Whitener::new`]), count as exactly zero (rounding noise in a
/// moment that vanishes at the estimate is about 1e-32 of the others).
const ZERO_VARIANCE: f64 = 1e-24;

/// The whitening map R (r × k) with RᵀR = Ω̂⁻¹ (or the pseudo-inverse), and how it was
/// obtained.
pub(crate) struct Whitener {
    matrix: Array2<f64>,
    kind: WeightInverse,
}

impl Whitener {
    /// Whitener for Ω̂; `None` only when Ω̂ has non-finite entries or rank 0.
    ///
    /// `moment_units` (s_j > 0, one per moment, all ones if `None`) puts the moments'
    /// variances in comparable units before the zero-variance test, s_j² Ω̂_jj against
    /// the largest: a moment x_j e whose covariate is 10⁻¹² times the others' scale
    /// has a variance 10⁻²⁴ times theirs without being rounding noise. The GMM passes
    /// the row scales of its equilibrated Jacobian (see
    /// [`crate::stacked::StackedMoments::moment_units`]).
    pub(crate) fn new(
        omega: ArrayView2<'_, f64>,
        moment_units: Option<ArrayView1<'_, f64>>,
        rank_tol: f64,
    ) -> Option<Self> {
        let k = omega.nrows();
        let diag = omega.diag();
        let comparable: Array1<f64> = match moment_units {
            Some(s) => Array1::from_shape_fn(k, |j| diag[j] * s[j] * s[j]),
            None => diag.to_owned(),
        };
        // A moment whose variance is at rounding level relative to the largest is zero:
        // rescaling it to unit variance would give weight to pure rounding noise.
        let floor = ZERO_VARIANCE * comparable.iter().copied().fold(0.0, f64::max);
        let live: Vec<bool> = (0..k)
            .map(|j| comparable[j] > floor && comparable[j].is_finite() && diag[j] > 0.0)
            .collect();
        let inv_scale: Array1<f64> =
            Array1::from_shape_fn(k, |j| if live[j] { 1.0 / diag[j].sqrt() } else { 1.0 });
        let scaled = scale_both_sides(omega, inv_scale.view());
        let positive_diag = live.iter().all(|&l| l);
        if positive_diag {
            if let Some(factor) = Cholesky::factor(scaled.view()) {
                if factor.min_squared_pivot() >= rank_tol {
                    if let Some(l_inv) = factor.lower_inverse() {
                        // R = L⁻¹ D⁻¹.
                        let matrix = l_inv * inv_scale.view().insert_axis(Axis(0));
                        return Some(Whitener {
                            matrix,
                            kind: WeightInverse::Cholesky,
                        });
                    }
                }
            }
        }
        let (values, vectors) = symmetric_eigen(scaled.view())?;
        let largest = values.iter().copied().fold(0.0, f64::max);
        let keep: Vec<usize> = (0..k).filter(|&i| values[i] > rank_tol * largest).collect();
        if keep.is_empty() {
            return None;
        }
        let mut matrix = Array2::zeros((keep.len(), k));
        for (r, &i) in keep.iter().enumerate() {
            let factor = 1.0 / values[i].sqrt();
            for j in 0..k {
                matrix[[r, j]] = factor * vectors[[j, i]] * inv_scale[j];
            }
        }
        Some(Whitener {
            kind: WeightInverse::PseudoInverse { rank: keep.len() },
            matrix,
        })
    }

    /// R itself (rank × k).
    pub(crate) fn matrix(&self) -> &Array2<f64> {
        &self.matrix
    }

    pub(crate) fn rank(&self) -> usize {
        self.matrix.nrows()
    }

    pub(crate) fn kind(&self) -> WeightInverse {
        self.kind
    }

    /// R v.
    pub(crate) fn apply_vec(&self, v: ArrayView1<'_, f64>) -> Array1<f64> {
        self.matrix.dot(&v)
    }

    /// Rᵀ M (so that W M = Rᵀ(R M)).
    pub(crate) fn apply_transpose(&self, m: ArrayView2<'_, f64>) -> Array2<f64> {
        self.matrix.t().dot(&m)
    }

    /// W M = RᵀR M.
    pub(crate) fn weigh(&self, m: ArrayView2<'_, f64>) -> Array2<f64> {
        self.apply_transpose(self.apply(m).view())
    }

    /// R M.
    pub(crate) fn apply(&self, m: ArrayView2<'_, f64>) -> Array2<f64> {
        self.matrix.dot(&m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn cholesky_whitener_inverts_omega() {
        let omega = array![[4.0, 1.0, 0.0], [1.0, 9.0, 2.0], [0.0, 2.0, 1.0]];
        let r = Whitener::new(omega.view(), None, 1e-10).unwrap();
        assert_eq!(r.kind(), WeightInverse::Cholesky);
        let rm = r.apply(Array2::eye(3).view());
        assert_abs_diff_eq!(rm.t().dot(&rm).dot(&omega), Array2::eye(3), epsilon = 1e-12);
        assert_abs_diff_eq!(r.weigh(omega.view()), Array2::eye(3), epsilon = 1e-12);
        assert_abs_diff_eq!(
            r.apply_transpose(Array2::eye(3).view()),
            rm.t(),
            epsilon = 1e-14
        );
    }

    /// A moment in tiny units (variance 10⁻²⁶ of the other's) is a moment, not
    /// rounding noise, once its units are known.
    #[test]
    fn moment_units_keep_a_tiny_moment() {
        let omega = array![[1.0, 3e-14], [3e-14, 1e-26]];
        let blind = Whitener::new(omega.view(), None, 1e-10).unwrap();
        assert_eq!(blind.kind(), WeightInverse::PseudoInverse { rank: 1 });
        let units = array![1.0, 1e13];
        let r = Whitener::new(omega.view(), Some(units.view()), 1e-10).unwrap();
        assert_eq!(r.kind(), WeightInverse::Cholesky);
        // R Ω̂ Rᵀ = I (entries free of the moments' units).
        let whitened = r.apply(omega.view()).dot(&r.matrix().t());
        assert_abs_diff_eq!(whitened, Array2::eye(2), epsilon = 1e-9);
        // Rounding noise stays noise in any units.
        let noise = array![[1.0, 0.0], [0.0, 1e-34]];
        let r = Whitener::new(noise.view(), Some(array![1.0, 1.0].view()), 1e-10).unwrap();
        assert_eq!(r.kind(), WeightInverse::PseudoInverse { rank: 1 });
    }

    #[test]
    fn singular_omega_uses_pseudo_inverse() {
        // Moments 1 and 2 are identical copies: rank 2 of 3.
        let omega = array![[2.0, 2.0, 0.5], [2.0, 2.0, 0.5], [0.5, 0.5, 1.0]];
        let r = Whitener::new(omega.view(), None, 1e-10).unwrap();
        assert_eq!(r.kind(), WeightInverse::PseudoInverse { rank: 2 });
        let rm = r.apply(Array2::eye(3).view());
        let w = rm.t().dot(&rm);
        // W is a generalised inverse: Ω W Ω = Ω.
        assert_abs_diff_eq!(omega.dot(&w).dot(&omega), omega, epsilon = 1e-10);
    }

    #[test]
    fn zero_moment_is_dropped() {
        let omega = array![[1.0, 0.0], [0.0, 0.0]];
        let r = Whitener::new(omega.view(), None, 1e-10).unwrap();
        assert_eq!(r.rank(), 1);
        assert!(Whitener::new(Array2::<f64>::zeros((2, 2)).view(), None, 1e-10).is_none());
    }
}
