//! [`Bootstrap`]: inference for any [`Estimator`] by re-running it on resampled data.
//!
//! # The resampling
//! Each replicate b draws, with replacement, n rows from the n labeled rows and T − n
//! rows from the T − n unlabeled ones (the labeled rows carry their sources' values
//! with them), so every replicate has the design of the data: n labeled of T. With
//! clusters ([`DataSourcesBuilder::clusters`](crate::DataSourcesBuilder::clusters))
//! the G clusters are drawn instead, each with all its rows, and a cluster drawn twice
//! counts as two. The whole estimator runs on the replicate: for the default GMM
//! that is the selection of the cross weights, the pilot and the coupled root, so the
//! variability of every data-driven choice enters the interval.
//!
//! Replicate b draws from its own stream of a ChaCha8 generator seeded by the seed
//! (`ChaCha8Rng::seed_from_u64(seed)`, stream b), labeled rows first: the results do
//! not depend on the number of threads.
//!
//! # The intervals
//! With θ̂ and se the estimate on the data, θ*_b and se*_b on replicate b, and
//! t*_b = (θ*_b − θ̂)/se*_b:
//! - [`BootstrapInterval::Percentile`]: [q_{α/2}(θ*), q_{1−α/2}(θ*)] (Efron 1979);
//! - [`BootstrapInterval::Studentized`]: [θ̂ − q_{1−α/2}(t*) se, θ̂ − q_{α/2}(t*) se]
//!   (bootstrap-t; Hall 1988);
//! - [`BootstrapInterval::Symmetric`] (default): θ̂ ± q_{1−α}(|t*|) se, the symmetric
//!   bootstrap-t, whose coverage error is O(n⁻²) against O(n⁻¹) for the others when
//!   the statistic is smooth (Hall 1988), and which stays finite when a few replicates
//!   have a tiny se*.
//!
//! Quantiles interpolate linearly between order statistics (type 7 of Hyndman and Fan
//! 1996, numpy's default). Replicates on which the estimator fails (a resample with a
//! collinear or separated labeled design) are left out and counted
//! ([`BootstrapFit::n_failed`]); a [`Note::BootstrapFailures`] says so.
//!
//! # References
//! - Efron (1979), *Bootstrap methods: another look at the jackknife*, Ann. Statist. 7.
//! - Hall (1988), *Theoretical comparison of bootstrap confidence intervals*, Ann.
//!   Statist. 16(3).
//! - Davison, Hinkley (1997), *Bootstrap Methods and their Application*, ch. 5.

use std::fmt;

use ndarray::{Array1, Array2, ArrayView1, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::{Estimate, Note};

/// Which bootstrap interval [`BootstrapFit::conf_int`] reports (see the
/// [`Bootstrap`] docs and the guide's "Bootstrap inference").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BootstrapInterval {
    /// Quantiles of the replicates' estimates.
    Percentile,
    /// Quantiles of the studentized replicates (bootstrap-t), one per tail.
    Studentized,
    /// The symmetric bootstrap-t: θ̂ ± q_{1−α}(|t*|) se.
    #[default]
    Symmetric,
}

impl BootstrapInterval {
    /// Every interval, in the order of the docs.
    pub const ALL: [BootstrapInterval; 3] = [
        BootstrapInterval::Percentile,
        BootstrapInterval::Studentized,
        BootstrapInterval::Symmetric,
    ];

    /// The name used in summaries and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BootstrapInterval::Percentile => "percentile",
            BootstrapInterval::Studentized => "studentized",
            BootstrapInterval::Symmetric => "symmetric",
        }
    }
}

/// The bootstrap's settings: the number of replicates, the seed and the interval.
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::{baselines::RealOnly, models::Ols, Bootstrap, DataSources};
/// let t = 200;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.37).sin() });
/// let y = 1.0 + 2.0 * &x.column(1) + Array1::from_shape_fn(t, |i| (i as f64 * 1.7).cos());
/// let labeled = vec![true; t];
/// let data = DataSources::builder(&labeled).real(&x, &y).build()?;
/// let fit = Bootstrap::new(199).seed(7).run(&RealOnly::new(Ols), &data)?;
/// let ci = fit.conf_int(0.05)?;
/// assert!(ci[[1, 0]] < 2.0 && 2.0 < ci[[1, 1]]);
/// assert_eq!(fit.n_replicates(), 199);
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootstrap {
    replicates: usize,
    seed: u64,
    interval: BootstrapInterval,
}

impl Bootstrap {
    /// B replicates (999 is the usual choice: (B + 1)α is then a whole number at
    /// α = 0.05 and 0.01), seed 0, the symmetric bootstrap-t interval.
    pub fn new(replicates: usize) -> Self {
        Self {
            replicates,
            seed: 0,
            interval: BootstrapInterval::default(),
        }
    }
    /// The number of replicates B.
    pub fn replicates(&self) -> usize {
        self.replicates
    }
    /// The seed of the replicates' generator.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The interval [`BootstrapFit::conf_int`] reports.
    pub fn interval(mut self, interval: BootstrapInterval) -> Self {
        self.interval = interval;
        self
    }

    /// At least 2 replicates.
    fn check(&self) -> Result<()> {
        if self.replicates < 2 {
            return Err(Error::InvalidConfig {
                parameter: "bootstrap",
                reason: format!("{} replicates; at least 2 are needed", self.replicates),
            });
        }
        Ok(())
    }

    /// Runs `estimator` on the data and on B resampled copies of it.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for fewer than 2 replicates; the estimator's error on the
    /// data itself; [`Error::NeedsInMemory`] for data kept out of memory;
    /// [`Error::BootstrapFailed`] when fewer than half the replicates could be fitted.
    pub fn run<E: Estimator + Sync + ?Sized>(
        &self,
        estimator: &E,
        data: &DataSources,
    ) -> Result<BootstrapFit> {
        self.check()?;
        let estimate = estimator.estimate(data)?;
        self.run_with_estimate(estimator, data, estimate)
    }

    /// [`run`](Self::run) around an estimate already computed by `estimator` on `data`
    /// (a caller that also wants the full fit, say a [`GmmFit`](crate::GmmFit), fits
    /// once): only the B replicates are fitted.
    ///
    /// # Errors
    /// As [`run`](Self::run), but for the estimator's error on the data.
    pub fn run_with_estimate<E: Estimator + Sync + ?Sized>(
        &self,
        estimator: &E,
        data: &DataSources,
        estimate: Estimate,
    ) -> Result<BootstrapFit> {
        self.check()?;
        data.require_in_memory("the bootstrap")?;
        let strata = Strata::of(data);
        let indices: Vec<u64> = (0..self.replicates as u64).collect();
        let draws = crate::chunks::map_ordered(&indices, |&b| {
            let (rows, clusters) = strata.draw(self.seed, b);
            let replicate = data.resample(&rows, clusters).ok()?;
            estimator.estimate(&replicate).ok()
        });
        BootstrapFit::new(estimate, draws, *self)
    }
}

/// What a replicate draws from: the labeled and unlabeled rows, or the clusters' rows.
enum Strata {
    Rows {
        labeled: Vec<usize>,
        unlabeled: Vec<usize>,
    },
    Clusters(Vec<Vec<usize>>),
}

impl Strata {
    fn of(data: &DataSources) -> Strata {
        match (data.clusters(), data.n_clusters()) {
            (Some(ids), Some(count)) => {
                let mut members = vec![Vec::new(); count];
                for (t, &c) in ids.iter().enumerate() {
                    members[c as usize].push(t);
                }
                Strata::Clusters(members)
            }
            _ => Strata::Rows {
                labeled: data.labeled_rows().to_vec(),
                unlabeled: data.unlabeled_rows(),
            },
        }
    }

    /// Replicate b's rows and, with clusters, their new cluster ids.
    fn draw(&self, seed: u64, b: u64) -> (Vec<usize>, Option<Vec<u32>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(b);
        let mut pick = |from: &[usize], rows: &mut Vec<usize>| {
            rows.extend((0..from.len()).map(|_| from[rng.random_range(0..from.len())]));
        };
        match self {
            Strata::Rows { labeled, unlabeled } => {
                let mut rows = Vec::with_capacity(labeled.len() + unlabeled.len());
                pick(labeled, &mut rows);
                pick(unlabeled, &mut rows);
                (rows, None)
            }
            Strata::Clusters(members) => {
                let mut rows = Vec::new();
                let mut ids = Vec::new();
                for g in 0..members.len() {
                    let drawn = &members[rng.random_range(0..members.len())];
                    rows.extend_from_slice(drawn);
                    ids.extend(std::iter::repeat_n(g as u32, drawn.len()));
                }
                (rows, Some(ids))
            }
        }
    }
}

/// The estimate on the data and its bootstrap replicates.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BootstrapFit {
    estimate: Estimate,
    /// θ*_b, one row per fitted replicate.
    draws: Array2<f64>,
    /// t*_b = (θ*_b − θ̂)/se*_b.
    studentized: Array2<f64>,
    /// The replicate index b of each row of `draws`.
    #[cfg_attr(feature = "serde", serde(skip))]
    fitted: Vec<usize>,
    replicates: usize,
    seed: u64,
    interval: BootstrapInterval,
}

impl BootstrapFit {
    fn new(
        estimate: Estimate,
        draws: Vec<Option<Estimate>>,
        settings: Bootstrap,
    ) -> Result<BootstrapFit> {
        let p = estimate.theta().len();
        let index: Vec<usize> = (0..draws.len()).filter(|&b| draws[b].is_some()).collect();
        let fitted: Vec<Estimate> = draws.into_iter().flatten().collect();
        let failed = settings.replicates - fitted.len();
        if 2 * fitted.len() < settings.replicates || fitted.len() < 2 {
            return Err(Error::BootstrapFailed {
                failed,
                replicates: settings.replicates,
            });
        }
        let theta = estimate.theta().to_owned();
        let draws = Array2::from_shape_fn((fitted.len(), p), |(b, j)| fitted[b].theta()[j]);
        let se: Vec<Array1<f64>> = fitted.iter().map(Estimate::se).collect();
        let studentized = Array2::from_shape_fn((fitted.len(), p), |(b, j)| {
            (draws[[b, j]] - theta[j]) / se[b][j]
        });
        let estimate = match failed {
            0 => estimate,
            _ => estimate.with_notes([Note::BootstrapFailures {
                failed,
                replicates: settings.replicates,
            }]),
        };
        Ok(BootstrapFit {
            estimate,
            draws,
            studentized,
            fitted: index,
            replicates: settings.replicates,
            seed: settings.seed,
            interval: settings.interval,
        })
    }

    /// The replicate index b (from 0) of each row of [`draws`](Self::draws): replicates
    /// the estimator could not fit are left out.
    pub fn fitted_replicates(&self) -> &[usize] {
        &self.fitted
    }

    /// The estimate on the data, with its analytic standard errors.
    pub fn estimate(&self) -> &Estimate {
        &self.estimate
    }
    /// B, the replicates asked for.
    pub fn n_replicates(&self) -> usize {
        self.replicates
    }
    /// Replicates the estimator could not fit (left out of every quantile).
    pub fn n_failed(&self) -> usize {
        self.replicates - self.draws.nrows()
    }
    /// The seed of the replicates' generator.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The interval [`conf_int`](Self::conf_int) reports.
    pub fn interval(&self) -> BootstrapInterval {
        self.interval
    }
    /// θ*_b, one row per fitted replicate, in replicate order.
    pub fn draws(&self) -> &Array2<f64> {
        &self.draws
    }
    /// t*_b = (θ*_b − θ̂)/se*_b, one row per fitted replicate.
    pub fn studentized(&self) -> &Array2<f64> {
        &self.studentized
    }
    /// The bootstrap standard errors: the standard deviations of θ*_b (divisor B − 1).
    pub fn se(&self) -> Array1<f64> {
        self.draws.std_axis(Axis(0), 1.0)
    }

    /// Two-sided symmetric bootstrap-t p-values for H₀: θ_j = 0, (1 + #{|t*_b| ≥
    /// |t_j|})/(B + 1) with t_j = θ̂_j/se_j (Davison and Hinkley 1997, §4.4).
    pub fn p_values(&self) -> Array1<f64> {
        let z = self.estimate.z();
        let b = self.studentized.nrows() as f64;
        Array1::from_shape_fn(z.len(), |j| {
            let beyond = self
                .studentized
                .column(j)
                .iter()
                .filter(|t| t.abs() >= z[j].abs())
                .count();
            (1.0 + beyond as f64) / (b + 1.0)
        })
    }

    /// Intervals at level 1 − α of the kind set by [`Bootstrap::interval`], one row
    /// [lower, upper] per coefficient.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn conf_int(&self, alpha: f64) -> Result<Array2<f64>> {
        self.conf_int_with(alpha, self.interval)
    }

    /// Intervals at level 1 − α of the given kind.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn conf_int_with(&self, alpha: f64, kind: BootstrapInterval) -> Result<Array2<f64>> {
        crate::inference::normal_critical_value(alpha)?;
        let theta = self.estimate.theta();
        let se = self.estimate.se();
        let p = theta.len();
        let mut ci = Array2::zeros((p, 2));
        for j in 0..p {
            let (lower, upper) = match kind {
                BootstrapInterval::Percentile => {
                    let column = self.draws.column(j);
                    (
                        quantile(column, alpha / 2.0),
                        quantile(column, 1.0 - alpha / 2.0),
                    )
                }
                BootstrapInterval::Studentized => {
                    let column = self.studentized.column(j);
                    (
                        theta[j] - quantile(column, 1.0 - alpha / 2.0) * se[j],
                        theta[j] - quantile(column, alpha / 2.0) * se[j],
                    )
                }
                BootstrapInterval::Symmetric => {
                    let magnitude = self.studentized.column(j).mapv(f64::abs);
                    let half = quantile(magnitude.view(), 1.0 - alpha) * se[j];
                    (theta[j] - half, theta[j] + half)
                }
            };
            ci[[j, 0]] = lower;
            ci[[j, 1]] = upper;
        }
        Ok(ci)
    }
}

/// The q-quantile of `values` by linear interpolation between order statistics
/// (Hyndman and Fan's type 7): h = (B − 1)q, x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋₊₁₎ − x₍⌊h⌋₎).
pub(crate) fn quantile(values: ArrayView1<'_, f64>, q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let low = h.floor() as usize;
    let high = (low + 1).min(sorted.len() - 1);
    sorted[low] + (h - low as f64) * (sorted[high] - sorted[low])
}

impl BootstrapFit {
    /// The bootstrap table at level 1 − α, for display: each coefficient with its
    /// bootstrap standard error, p-value and interval.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn table(&self, alpha: f64) -> Result<BootstrapTable<'_>> {
        Ok(BootstrapTable {
            ci: self.conf_int(alpha)?,
            fit: self,
            alpha,
        })
    }
}

/// The bootstrap's coefficient table (see [`BootstrapFit::table`]).
#[derive(Debug, Clone)]
pub struct BootstrapTable<'a> {
    fit: &'a BootstrapFit,
    ci: Array2<f64>,
    alpha: f64,
}

impl fmt::Display for BootstrapTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fit = self.fit;
        let (se, p) = (fit.se(), fit.p_values());
        writeln!(
            f,
            "Bootstrap: B = {} (seed {}, {} failed), {} intervals at {}%",
            fit.replicates,
            fit.seed,
            fit.n_failed(),
            fit.interval.name(),
            100.0 * (1.0 - self.alpha)
        )?;
        writeln!(
            f,
            "{:<16} {:>12} {:>12} {:>10} {:>12} {:>12}",
            "", "coef", "boot se", "P>|t*|", "lower", "upper"
        )?;
        let theta = fit.estimate.theta();
        for (j, name) in fit.estimate.names().iter().enumerate() {
            writeln!(
                f,
                "{:<16} {:>12} {:>12} {:>10.4} {:>12} {:>12}",
                name,
                crate::inference::number(theta[j], 6),
                crate::inference::number(se[j], 6),
                p[j],
                crate::inference::number(self.ci[[j, 0]], 6),
                crate::inference::number(self.ci[[j, 1]], 6)
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for BootstrapFit {
    /// The estimate's summary, then the bootstrap table at α = 0.05.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.estimate)?;
        write!(f, "{}", self.table(0.05).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::quantile;

    /// numpy.quantile([3, 1, 4, 1, 5], q) with its default (linear) method.
    #[test]
    fn quantiles_match_numpy_linear() {
        let v = array![3.0, 1.0, 4.0, 1.0, 5.0];
        for (q, expected) in [(0.0, 1.0), (0.1, 1.0), (0.5, 3.0), (0.9, 4.6), (1.0, 5.0)] {
            assert!((quantile(v.view(), q) - expected).abs() < 1e-12, "q = {q}");
        }
    }
}
