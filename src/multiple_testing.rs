//! Inference on several coefficients at once: adjusted p-values and simultaneous
//! intervals.
//!
//! For m hypotheses H_j: θ_j = 0 with p-values p_j:
//! - Bonferroni: p̃_j = min(1, m p_j);
//! - Holm (1979), step-down: with p_(1) ≤ … ≤ p_(m),
//!   p̃_(i) = max_{k ≤ i} min(1, (m − k + 1) p_(k));
//! - Benjamini and Hochberg (1995), step-up, for the false discovery rate:
//!   p̃_(i) = min_{k ≥ i} min(1, m p_(k) / k);
//! - single-step max-|t| (Hothorn, Bretz and Westfall 2008, R's multcomp):
//!   p̃_j = P(max_k |T_k| ≥ |t_j|) with (T_1, …, T_m) jointly normal, or multivariate t
//!   with the estimate's degrees of freedom, with the correlation of θ̂; kept within
//!   [p_j, min(1, m p_j)], which bound it.
//!
//! The simultaneous 1 − α intervals θ̂_j ± c·se_j take c, the 1 − α quantile of
//! max_k |T_k|: together they cover every θ_j with probability 1 − α. Bonferroni's
//! and Holm's adjustments hold the family-wise error rate whatever the dependence,
//! Benjamini–Hochberg's the false discovery rate under independence or positive
//! dependence, and the max-|t| ones are exact for the joint normal (or t) limit and
//! the least conservative of the family-wise choices.
//!
//! The distribution of max_k |T_k| is drawn by Monte Carlo, as multcomp's does through
//! mvtnorm's randomized quasi-Monte-Carlo: [`SIMULTANEOUS_DRAWS`] draws from a fixed seed in
//! independently seeded blocks, so results do not depend on the thread count; the
//! Monte-Carlo error of c is about 10⁻³ relative. With t quantiles the common
//! denominator takes the smallest degrees of freedom of the coefficients (as the joint
//! Wald test does).

use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::inference::Estimate;

/// How p-values are adjusted for testing several coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Adjustment {
    /// min(1, m p_j): the family-wise error rate, any dependence.
    Bonferroni,
    /// Holm's step-down Bonferroni: the family-wise error rate, any dependence, and
    /// never larger than Bonferroni's.
    Holm,
    /// Benjamini–Hochberg's step-up: the false discovery rate.
    BenjaminiHochberg,
    /// Single-step max-|t| from the joint distribution of the t statistics
    /// ([`Estimate::adjusted_p_values`] only: it needs their correlation).
    SingleStep,
}

impl Adjustment {
    /// The name used on the command line and in tables: `bonferroni`, `holm`, `bh`,
    /// `single-step`.
    pub fn name(self) -> &'static str {
        match self {
            Adjustment::Bonferroni => "bonferroni",
            Adjustment::Holm => "holm",
            Adjustment::BenjaminiHochberg => "bh",
            Adjustment::SingleStep => "single-step",
        }
    }

    /// The adjustment with this [`name`](Self::name) (its `FromStr`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        name.parse()
    }
}

/// Draws of max_k |T_k| behind the single-step p-values and simultaneous intervals.
pub const SIMULTANEOUS_DRAWS: usize = 200_000;

/// Rows per independently seeded block of draws.
const BLOCK: usize = 8_192;

/// The seed of the first block.
const SEED: u64 = 0x6d61_7874;

/// Bonferroni, Holm or Benjamini–Hochberg adjusted p-values of `p`, in its order.
///
/// # Examples
/// ```
/// use synthgmm::{adjust_p_values, Adjustment};
/// let p = [0.01, 0.04, 0.03];
/// let holm = adjust_p_values(&p, Adjustment::Holm)?;
/// assert!((holm[0] - 0.03).abs() < 1e-15 && (holm[1] - 0.06).abs() < 1e-15);
/// # Ok::<(), synthgmm::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidConfig`] for a p-value outside [0, 1] (or not a number), or for
/// [`Adjustment::SingleStep`], which needs the joint distribution
/// ([`Estimate::adjusted_p_values`]).
pub fn adjust_p_values(p: &[f64], method: Adjustment) -> Result<Vec<f64>> {
    if let Some(bad) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(Error::InvalidConfig {
            parameter: "p-values",
            reason: format!("{bad} is not a probability"),
        });
    }
    let m = p.len() as f64;
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; p.len()];
    match method {
        Adjustment::Bonferroni => {
            for (a, v) in adjusted.iter_mut().zip(p) {
                *a = (m * v).min(1.0);
            }
        }
        Adjustment::Holm => {
            let mut running: f64 = 0.0;
            for (k, &j) in order.iter().enumerate() {
                running = running.max(((m - k as f64) * p[j]).min(1.0));
                adjusted[j] = running;
            }
        }
        Adjustment::BenjaminiHochberg => {
            let mut running: f64 = 1.0;
            for (k, &j) in order.iter().enumerate().rev() {
                running = running.min((m * p[j] / (k + 1) as f64).min(1.0));
                adjusted[j] = running;
            }
        }
        Adjustment::SingleStep => {
            return Err(Error::InvalidConfig {
                parameter: "adjustment",
                reason: "single-step p-values need the estimate's covariance: use Estimate::adjusted_p_values".into(),
            })
        }
    }
    Ok(adjusted)
}

/// The correlation matrix of a covariance, `None` unless every entry is finite (a zero
/// or negative variance has none).
fn correlation(cov: &Array2<f64>) -> Option<Array2<f64>> {
    let sd = cov.diag().mapv(f64::sqrt);
    let corr = Array2::from_shape_fn(cov.dim(), |(i, j)| cov[[i, j]] / (sd[i] * sd[j]));
    corr.iter().all(|v| v.is_finite()).then_some(corr)
}

/// The sorted draws of max_k |T_k| for a correlation matrix `corr` and degrees of
/// freedom `df` (`None`: normal).
fn max_abs_draws(corr: &Array2<f64>, df: Option<f64>) -> Result<Vec<f64>> {
    let (values, vectors) =
        crate::linalg::symmetric_eigen(corr.view()).ok_or_else(|| Error::InvalidEstimate {
            estimator: "the simultaneous inference".into(),
            what: "a correlation matrix without an eigendecomposition".into(),
        })?;
    // corr = L Lᵀ with L = U diag(√λ), semidefinite allowed.
    let root = &vectors
        * &values
            .mapv(|v| v.max(0.0).sqrt())
            .insert_axis(ndarray::Axis(0));
    let chi = df
        .map(ChiSquared::new)
        .transpose()
        .map_err(|_| Error::InvalidConfig {
            parameter: "degrees of freedom",
            reason: format!("{df:?} is not positive"),
        })?;
    let m = corr.nrows();
    let blocks: Vec<usize> = (0..SIMULTANEOUS_DRAWS.div_ceil(BLOCK)).collect();
    let parts = crate::chunks::map_ordered(&blocks, |&b| {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED.wrapping_add(b as u64));
        let rows = BLOCK.min(SIMULTANEOUS_DRAWS - b * BLOCK);
        let z = Array2::from_shape_fn((rows, m), |_| StandardNormal.sample(&mut rng));
        let t = z.dot(&root.t());
        t.outer_iter()
            .map(|row| {
                let scale = match (&chi, df) {
                    (Some(chi), Some(df)) => (chi.sample(&mut rng) / df).sqrt(),
                    _ => 1.0,
                };
                row.iter().fold(0.0f64, |acc, v| acc.max(v.abs())) / scale
            })
            .collect::<Vec<f64>>()
    });
    let mut draws: Vec<f64> = parts.into_iter().flatten().collect();
    draws.sort_by(f64::total_cmp);
    Ok(draws)
}

/// The distribution behind simultaneous inference over one or more blocks of
/// coefficients (the coefficients of one estimate, or of several outcomes' estimates):
/// each block's max |T| drawn from its own correlation and degrees of freedom.
///
/// Blocks whose joint distribution is unknown (outcomes fitted on the same rows, whose
/// cross-covariance no single fit holds) are combined by the Gaussian correlation
/// inequality (Royen 2014): for jointly normal statistics and symmetric convex sets,
/// P(every block's max |T| ≤ c) ≥ Π_k P(block k's max |T| ≤ c), whatever the
/// correlation between blocks. The coverage Π_k F_k(c) is therefore a lower bound,
/// exact for one block and for independent blocks, and never below Bonferroni's over
/// the blocks (Π_k (1 − a_k) ≥ 1 − Σ_k a_k).
#[derive(Debug, Clone)]
pub(crate) struct BlockMaxima {
    /// Each block's sorted draws of its max |T|.
    blocks: Vec<Vec<f64>>,
}

impl BlockMaxima {
    /// One block per estimate, from its correlation matrix and degrees of freedom.
    pub(crate) fn of(estimates: &[&Estimate]) -> Result<Self> {
        let blocks = estimates
            .iter()
            .map(|e| {
                let (corr, df) = e.joint_reference()?;
                max_abs_draws(&corr, df)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BlockMaxima { blocks })
    }

    /// One block from a covariance of every coefficient together (its correlation)
    /// with degrees of freedom `df` (`None`: normal).
    ///
    /// # Errors
    /// [`Error::InvalidEstimate`] when the covariance has no correlation matrix.
    pub(crate) fn joint(cov: &Array2<f64>, df: Option<f64>) -> Result<Self> {
        let corr = correlation(cov).ok_or_else(|| Error::InvalidEstimate {
            estimator: "the joint inference across outcomes".into(),
            what: "a joint covariance without a correlation matrix".into(),
        })?;
        Ok(BlockMaxima {
            blocks: vec![max_abs_draws(&corr, df)?],
        })
    }

    /// Π_k P(block k's max |T| ≤ c) (or < c with `strict`), from the draws.
    fn coverage(&self, c: f64, strict: bool) -> f64 {
        self.blocks
            .iter()
            .map(|draws| {
                let below = if strict {
                    draws.partition_point(|&d| d < c)
                } else {
                    draws.partition_point(|&d| d <= c)
                };
                below as f64 / draws.len() as f64
            })
            .product()
    }

    /// The smallest drawn value c with coverage at least 1 − α.
    pub(crate) fn critical_value(&self, alpha: f64) -> f64 {
        let mut all: Vec<f64> = self.blocks.iter().flatten().copied().collect();
        all.sort_by(f64::total_cmp);
        let first = all.partition_point(|&c| self.coverage(c, false) < 1.0 - alpha);
        all[first.min(all.len() - 1)]
    }

    /// 1 − Π_k P(block k's max |T| < |t|): the single-step adjusted p-value of a
    /// statistic t, before the bounds [p, min(1, m p)].
    pub(crate) fn exceedance(&self, t: f64) -> f64 {
        1.0 - self.coverage(t.abs(), true)
    }

    /// Single-step adjusted p-values of the statistics `t` with unadjusted `p`, kept
    /// within [p_j, min(1, m p_j)], which bound them: a p-value beyond the draws' reach
    /// (far in the tail) does not read 0.
    pub(crate) fn single_step(&self, t: &[f64], p: &[f64]) -> Vec<f64> {
        let m = p.len() as f64;
        t.iter()
            .zip(p)
            .map(|(&t, &p)| self.exceedance(t).clamp(p, (m * p).min(1.0)))
            .collect()
    }
}

impl Estimate {
    /// The correlation matrix of θ̂ and the degrees of freedom of the joint reference
    /// distribution (see [`reference_df`](Self::reference_df)).
    fn joint_reference(&self) -> Result<(Array2<f64>, Option<f64>)> {
        let corr = correlation(&self.cov().to_owned()).ok_or_else(|| Error::InvalidEstimate {
            estimator: self.estimator().to_string(),
            what: "a covariance without a correlation matrix".into(),
        })?;
        Ok((corr, self.reference_df()))
    }

    /// The degrees of freedom of the joint reference distribution of the t statistics:
    /// the smallest of the coefficients' (`None` for normal).
    pub(crate) fn reference_df(&self) -> Option<f64> {
        (0..self.theta().len())
            .filter_map(|j| self.df_of(j))
            .reduce(f64::min)
    }

    /// p-values of H_j: θ_j = 0 adjusted for testing every coefficient (see
    /// [`Adjustment`]); the single-step ones from the joint distribution of the t
    /// statistics (Monte Carlo, [`SIMULTANEOUS_DRAWS`] seeded draws).
    ///
    /// # Errors
    /// [`Error::InvalidEstimate`] when θ̂'s covariance has no correlation matrix.
    pub fn adjusted_p_values(&self, method: Adjustment) -> Result<Array1<f64>> {
        let p = self.p_values().to_vec();
        if method != Adjustment::SingleStep {
            return adjust_p_values(&p, method).map(Array1::from);
        }
        let maxima = BlockMaxima::of(&[self])?;
        Ok(Array1::from(maxima.single_step(&self.z().to_vec(), &p)))
    }

    /// The critical value c of simultaneous 1 − α intervals θ̂_j ± c·se_j: the 1 − α
    /// quantile of max_k |T_k| (see [`Adjustment::SingleStep`]).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless [`MIN_ALPHA`](crate::MIN_ALPHA) ≤ α < 1;
    /// [`Error::InvalidEstimate`] when θ̂'s covariance has no correlation matrix.
    pub fn simultaneous_critical_value(&self, alpha: f64) -> Result<f64> {
        self.critical_value(alpha)?;
        if self.theta().len() == 1 {
            return self.critical_values(alpha).map(|c| c[0]);
        }
        Ok(BlockMaxima::of(&[self])?.critical_value(alpha))
    }

    /// Simultaneous 1 − α intervals (p × 2): together they cover every θ_j with
    /// probability 1 − α.
    ///
    /// # Errors
    /// As [`simultaneous_critical_value`](Self::simultaneous_critical_value).
    pub fn simultaneous_conf_int(&self, alpha: f64) -> Result<Array2<f64>> {
        let c = self.simultaneous_critical_value(alpha)?;
        Ok(self.intervals_with(c))
    }

    /// θ̂_j ± c·se_j (p × 2), on each coefficient's interval scale.
    pub(crate) fn intervals_with(&self, c: f64) -> Array2<f64> {
        self.intervals_from(|_| (c, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_and_bh_on_a_small_example() {
        // By hand: p = (0.01, 0.04, 0.03, 0.2), sorted 0.01, 0.03, 0.04, 0.2.
        let p = [0.01, 0.04, 0.03, 0.2];
        let holm = adjust_p_values(&p, Adjustment::Holm).unwrap();
        let want = [0.04, 0.09, 0.09, 0.2];
        for (a, b) in holm.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{holm:?}");
        }
        let bh = adjust_p_values(&p, Adjustment::BenjaminiHochberg).unwrap();
        let want = [0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2];
        for (a, b) in bh.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{bh:?}");
        }
        assert!(adjust_p_values(&[0.5, 1.5], Adjustment::Holm).is_err());
        assert!(adjust_p_values(&[f64::NAN], Adjustment::Bonferroni).is_err());
        assert!(adjust_p_values(&p, Adjustment::SingleStep).is_err());
    }

    #[test]
    fn independent_normal_max_is_sidaks() {
        // Independent normals: P(max |Z| ≤ c) = (2Φ(c) − 1)^m, so c = Φ⁻¹((1 + (1 − α)^(1/m))/2).
        use statrs::distribution::{ContinuousCDF, Normal};
        let m = 4;
        let draws = max_abs_draws(&Array2::eye(m), None).unwrap();
        let c = draws[(0.95 * draws.len() as f64).ceil() as usize - 1];
        let sidak = Normal::standard().inverse_cdf((1.0 + 0.95f64.powf(1.0 / m as f64)) / 2.0);
        assert!((c - sidak).abs() < 0.01, "{c} vs {sidak}");
        // Perfectly correlated: the max is one |Z|, c = z_{0.975}.
        let draws = max_abs_draws(&Array2::ones((m, m)), None).unwrap();
        let c = draws[(0.95 * draws.len() as f64).ceil() as usize - 1];
        assert!((c - 1.959_964).abs() < 0.01, "{c}");
    }

    #[test]
    fn independent_blocks_multiply_to_sidaks() {
        // Blocks of 2 and 3 independent normals: the product of their maxima's
        // distributions is (2Φ(c) − 1)^5, the five coefficients' Šidák value.
        use statrs::distribution::{ContinuousCDF, Normal};
        let blocks = BlockMaxima {
            blocks: vec![
                max_abs_draws(&Array2::eye(2), None).unwrap(),
                max_abs_draws(&Array2::eye(3), None).unwrap(),
            ],
        };
        let normal = Normal::standard();
        for alpha in [0.05f64, 0.2] {
            let sidak = normal.inverse_cdf((1.0 + (1.0 - alpha).powf(0.2)) / 2.0);
            let c = blocks.critical_value(alpha);
            assert!((c - sidak).abs() < 0.01, "{c} vs {sidak}");
        }
        let t = 2.5f64;
        let exact = 1.0 - (2.0 * normal.cdf(t) - 1.0).powi(5);
        assert!((blocks.exceedance(t) - exact).abs() < 0.003);
    }
}
