//! An estimate's first-order influence, unit by unit, and the joint covariance of
//! several estimates on the same rows.
//!
//! An asymptotically linear estimator satisfies θ̂ − θ = Σ_u φ_u + o_p(n^(−1/2)) over
//! independent units u (rows, or clusters when the rows are clustered), with E φ_u = 0.
//! For the estimators of the GMM family φ_u = K g_u / T, the stacked moments of unit u
//! mapped by the estimator's linear representation θ̂ − θ ≈ K ḡ: for efficient weights
//! K = −[(ĜᵀWĜ)⁻¹ĜᵀW]_θ, for the selected cross weights K = [J_r⁻¹, −ΛJ_lab⁻¹, ΛJ_all⁻¹]
//! on the real, labeled-source and all-rows blocks (up to signs and scales).
//!
//! Two estimates fitted on the same rows (two outcomes coded on the same texts) are
//! then jointly normal in the limit with
//!
//!   Cov(θ̂_a, θ̂_b) ≈ Σ_u φ_a,u φ_b,uᵀ,
//!
//! the heteroskedasticity-robust (HC0, or CR0 by cluster) cross-covariance, which for
//! least squares on the labeled rows alone is the seemingly-unrelated-regressions
//! robust covariance of equation-by-equation OLS. No single fit holds it; it is what
//! simultaneous inference across outcomes needs (see [`crate::OutcomeFits`]).

use ndarray::{Array2, ArrayView2, Axis};

use crate::error::{Error, Result};

/// θ̂'s influence φ_u on each independent unit u: a row, or a cluster when the rows are
/// clustered (see the module's documentation).
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::{models::Ols, DataSources, Estimator, RowInfluence, TwoStepGmm};
/// let t = 200;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.37).sin() });
/// let e = Array1::from_shape_fn(t, |i| (i as f64 * 1.9).cos());
/// let y = &x.column(1) + &e;
/// let labeled: Vec<bool> = (0..t).map(|i| i % 2 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).build()?;
/// let (estimate, influence) = TwoStepGmm::new(Ols).estimate_with_influence(&data)?;
/// let influence = influence.expect("in memory");
/// assert_eq!(influence.values().dim(), (t, 2));
/// // Σ_u φ_uφ_uᵀ is the HC0 covariance; the default reports HC2, a little larger.
/// let hc0 = influence.covariance();
/// assert!(hc0[[1, 1]] < estimate.cov()[[1, 1]] && hc0[[1, 1]] > 0.9 * estimate.cov()[[1, 1]]);
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RowInfluence {
    /// φ_u, one row per unit.
    values: Array2<f64>,
}

impl RowInfluence {
    /// From each row's influence (T × p), summed within clusters when `clusters` gives
    /// every row's dense cluster index.
    pub(crate) fn new(rows: Array2<f64>, clusters: Option<&[u32]>) -> Self {
        let Some(ids) = clusters else {
            return RowInfluence { values: rows };
        };
        let count = ids.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        let mut values = Array2::zeros((count, rows.ncols()));
        for (row, &c) in rows.outer_iter().zip(ids) {
            let mut unit = values.row_mut(c as usize);
            unit += &row;
        }
        RowInfluence { values }
    }

    /// φ_u, one row per unit (units × p).
    pub fn values(&self) -> ArrayView2<'_, f64> {
        self.values.view()
    }

    /// The number of units: rows, or clusters.
    pub fn n_units(&self) -> usize {
        self.values.nrows()
    }

    /// Σ_u φ_uφ_uᵀ: θ̂'s first-order (HC0, or CR0 by cluster) covariance.
    pub fn covariance(&self) -> Array2<f64> {
        self.values.t().dot(&self.values)
    }

    /// The covariance of several estimates on the same units stacked into one vector
    /// (Σ p_k square): Σ_u Φ_uΦ_uᵀ with Φ_u the units' influences side by side.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for no influences or influences on different numbers
    /// of units (estimates not fitted on the same rows and clusters).
    pub fn joint_covariance(influences: &[&RowInfluence]) -> Result<Array2<f64>> {
        let units = influences.first().map(|i| i.n_units());
        if units.is_none() || influences.iter().any(|i| Some(i.n_units()) != units) {
            return Err(Error::InvalidConfig {
                parameter: "influences",
                reason: "give at least one, all on the same rows (or clusters)".into(),
            });
        }
        let views: Vec<ArrayView2<'_, f64>> = influences.iter().map(|i| i.values()).collect();
        let all = ndarray::concatenate(Axis(1), &views).map_err(|e| Error::InvalidConfig {
            parameter: "influences",
            reason: e.to_string(),
        })?;
        Ok(all.t().dot(&all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn clusters_sum_their_rows() {
        let rows = array![[1.0, 0.0], [2.0, 1.0], [-1.0, 3.0]];
        let by = RowInfluence::new(rows.clone(), Some(&[0, 1, 0]));
        assert_eq!(by.values(), array![[0.0, 3.0], [2.0, 1.0]]);
        let joint = RowInfluence::joint_covariance(&[&by, &by]).unwrap();
        assert_eq!(joint.slice(ndarray::s![..2, ..2]), by.covariance());
        assert_eq!(joint.slice(ndarray::s![..2, 2..]), by.covariance());
        let plain = RowInfluence::new(rows, None);
        assert!(RowInfluence::joint_covariance(&[&plain, &by]).is_err());
        assert!(RowInfluence::joint_covariance(&[]).is_err());
    }
}
