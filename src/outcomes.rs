//! Several outcomes on the same rows, with inference across all their coefficients.
//!
//! An annotation study often codes several outcomes of each text (five categories, say)
//! with the same covariates, the same labeled rows and a source's prediction of each.
//! [`OutcomeFits::fit`] runs one estimator on each outcome's data set, so that each
//! outcome's estimate and intervals are exactly those of its own fit, and adds what no
//! single fit has: inference across the K outcomes' K·p coefficients together.
//!
//! - Bonferroni, Holm and Benjamini–Hochberg adjustments of the K·p p-values
//!   ([`crate::adjust_p_values`]): the first two hold the family-wise error rate whatever
//!   the dependence between outcomes, the last the false discovery rate under
//!   independence or positive dependence.
//! - Simultaneous intervals and single-step p-values without resampling, from the joint
//!   covariance of all outcomes' estimates. Each estimate is asymptotically linear,
//!   θ̂_k − θ_k ≈ Σ_u φ_k,u over the rows (or clusters) u ([`RowInfluence`]), so the K
//!   estimates on the same rows are jointly normal in the limit with
//!   Cov(θ̂_a, θ̂_b) ≈ Σ_u φ_a,u φ_b,uᵀ. The t statistics T_kj = (θ̂_kj − θ_kj)/se_kj,
//!   each with its own fit's standard error, take the correlation of that joint
//!   covariance, and c is the 1 − α quantile of max_{k,j} |T_kj| (multivariate t with
//!   the smallest of the coefficients' degrees of freedom, as one fit's simultaneous
//!   intervals take). [`joint_basis`](OutcomeFits::joint_basis) says
//!   [`JointBasis::Influence`].
//! - Where an estimator gives no influence (some baselines, rows an engine sums), the
//!   outcomes are combined by the Gaussian correlation inequality (Royen 2014):
//!   P(every |T_kj| ≤ c) ≥ Π_k P(max_j |T_kj| ≤ c) for jointly normal statistics
//!   whatever the dependence between outcomes, so c from the product of each outcome's
//!   own max-|t| distribution covers with probability at least 1 − α: exact for one
//!   outcome and for independent ones, conservative as far as outcomes are dependent,
//!   never wider than Bonferroni's ([`JointBasis::Bound`]).
//! - The bootstrap max-|t| (Romano and Wolf 2005), with a [`Bootstrap`]: every outcome's
//!   estimator is re-run on the same B resamples (one seed draws the same rows for each
//!   data set: labeled and unlabeled rows separately, or clusters as units), giving
//!   t*_{b,kj} = (θ*_{b,kj} − θ̂_kj)/se*_{b,kj}; c is the 1 − α quantile of
//!   M_b = max_{k,j} |t*_{b,kj}| over the replicates every outcome could fit.
//!   θ̂_kj ± c·se_kj then cover every coefficient of every outcome together with
//!   probability 1 − α, and the single-step adjusted p-value of θ_kj = 0 is the share of
//!   M_b at least |t_kj| (kept within [p_kj, min(1, K·p·p_kj)], which bound it). The
//!   dependence between outcomes comes from the common resamples, and small-sample
//!   departures from normality from the resampled t statistics, at the cost of B fits
//!   per outcome ([`JointBasis::Bootstrap`]).
//!
//! Each outcome's fit is its own. Outcomes read from the same files
//! ([`ParquetSources::open_outcomes`](crate::parquet::ParquetSources::open_outcomes))
//! are fitted side by side and share every pass over the files
//! ([`fit_each`](OutcomeFits::fit_each)).

use std::fmt;
use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};

use crate::bootstrap::{quantile, Bootstrap};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::Estimate;
use crate::influence::RowInfluence;
use crate::multiple_testing::{adjust_p_values, Adjustment, BlockMaxima};
use crate::tier::shared::{Joined, Member};

/// Fits of several outcomes on the same rows (see the module's documentation).
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::{models::Ols, Adjustment, Bootstrap, DataSources, OutcomeFits, TwoStepGmm};
/// let t = 300;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.37).sin() });
/// let noise = |k: f64| Array1::from_shape_fn(t, |i| (i as f64 * 1.9 + k).cos());
/// let labeled: Vec<bool> = (0..t).map(|i| i % 3 == 0).collect();
/// let data = |slope: f64, k: f64| {
///     let y = slope * &x.column(1) + &noise(k);
///     let proxy = slope * &x.column(1) + 0.7 * &noise(k);
///     DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()
/// };
/// let (a, b) = (data(1.0, 0.0)?, data(-0.5, 2.0)?);
/// let outcomes = [("a", &a), ("b", &b)];
/// let fits = OutcomeFits::fit(&TwoStepGmm::new(Ols), &outcomes, None)?;
/// let holm = fits.adjusted_p_values(Adjustment::Holm)?;      // one array per outcome
/// let joint = fits.simultaneous_conf_int(0.05)?;             // all four coefficients together
/// assert!(joint[0][[1, 0]] < 1.0 && 1.0 < joint[0][[1, 1]]);
/// assert!(holm[1][1] >= fits.estimates()[1].p_values()[1]);
/// // With the bootstrap, the dependence between outcomes comes from common resamples.
/// let resampled = OutcomeFits::fit(&TwoStepGmm::new(Ols), &outcomes, Some(Bootstrap::new(199).seed(1)))?;
/// assert!(resampled.uses_bootstrap() && !fits.uses_bootstrap());
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OutcomeFits {
    names: Vec<String>,
    estimates: Vec<Estimate>,
    joint: Joint,
}

/// Where the joint distribution of all outcomes' t statistics comes from.
#[derive(Debug, Clone)]
enum Joint {
    /// The outcomes' influences: their joint covariance, and the draws of max |T| from
    /// its correlation (drawn when first asked for).
    Influence {
        covariance: Array2<f64>,
        maxima: std::sync::OnceLock<BlockMaxima>,
    },
    /// Each outcome's own covariance, combined by the Gaussian correlation inequality
    /// (drawn when first asked for), and why the influences could not be used when
    /// they were given.
    Bound {
        maxima: std::sync::OnceLock<BlockMaxima>,
        why: Option<String>,
    },
    /// M_b over the replicates every outcome fitted, ascending.
    Bootstrap(Vec<f64>),
}

/// Where simultaneous inference across outcomes takes the dependence between them from
/// (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JointBasis {
    /// The joint covariance of all outcomes' estimates from their influence on each row.
    Influence,
    /// No estimate of the dependence: each outcome's own covariance, combined by the
    /// Gaussian correlation inequality (at least 1 − α).
    Bound,
    /// The bootstrap max-|t| over common resamples.
    Bootstrap,
}

impl JointBasis {
    /// The name front ends report: `influence`, `bound` or `bootstrap`.
    pub fn name(self) -> &'static str {
        match self {
            JointBasis::Influence => "influence",
            JointBasis::Bound => "bound",
            JointBasis::Bootstrap => "bootstrap",
        }
    }

    /// One line saying what the simultaneous intervals come from.
    pub fn describe(self) -> &'static str {
        match self {
            JointBasis::Influence => "the joint covariance of all outcomes' estimates (their influence on each row)",
            JointBasis::Bound => "each outcome's covariance, combined across outcomes by the Gaussian correlation inequality (at least the level asked for)",
            JointBasis::Bootstrap => "the bootstrap max-|t| over common resamples",
        }
    }
}

impl OutcomeFits {
    /// Runs `estimator` on each outcome's data set (`(name, data)` pairs sharing the
    /// rows: the same label mask and clusters), with each fit's influence when the
    /// estimator gives one, and with `bootstrap` on the same resamples of each.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for no outcomes, a repeated name, or data sets whose
    /// rows, labeled rows or clusters differ; the estimator's errors;
    /// [`Error::BootstrapFailed`] when fewer than half the replicates were fitted for
    /// every outcome.
    pub fn fit<E: Estimator + Sync + ?Sized>(
        estimator: &E,
        outcomes: &[(&str, &DataSources)],
        bootstrap: Option<Bootstrap>,
    ) -> Result<OutcomeFits> {
        Self::check_rows(outcomes)?;
        let names: Vec<String> = outcomes.iter().map(|(n, _)| n.to_string()).collect();
        let data: Vec<&DataSources> = outcomes.iter().map(|(_, d)| *d).collect();
        match bootstrap {
            None => Self::from_influences(
                names,
                Self::fit_each(&data, |_, d| estimator.estimate_with_influence(d))
                    .into_iter()
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(bootstrap) => Self::from_bootstraps(
                names,
                Self::fit_each(&data, |_, d| bootstrap.run(estimator, d))
                    .into_iter()
                    .collect::<Result<Vec<_>>>()?,
            ),
        }
    }

    /// `fit` on each outcome's data set (with its position), results in order. Data
    /// sets opened together
    /// ([`ParquetSources::open_outcomes`](crate::parquet::ParquetSources::open_outcomes))
    /// are fitted side by side, one thread each, and every pass over their files serves
    /// all of them at once; others are fitted one after another. Either way each
    /// result is the one `fit` gives on its data set alone.
    pub fn fit_each<T: Send>(
        data: &[&DataSources],
        fit: impl Fn(usize, &DataSources) -> T + Sync,
    ) -> Vec<T> {
        let members: Option<Vec<&Member>> = data.iter().map(|d| d.shared_passes()).collect();
        // One group, each member once; else nothing to share.
        let together = members.filter(|m| {
            m.len() > 1
                && m.iter().all(|x| Arc::ptr_eq(x.group(), m[0].group()))
                && (0..m.len()).all(|i| m[..i].iter().all(|x| x.index() != m[i].index()))
        });
        let Some(members) = together else {
            return data.iter().enumerate().map(|(k, d)| fit(k, d)).collect();
        };
        // Every member joins before any fit starts, so that the first passes are shared.
        let joined: Vec<Joined> = members.iter().map(|m| m.group().join(m.index())).collect();
        std::thread::scope(|scope| {
            let fit = &fit;
            let running: Vec<_> = (data.iter().zip(joined).enumerate())
                .map(|(k, (d, guard))| {
                    scope.spawn(move || {
                        let out = fit(k, d);
                        drop(guard);
                        out
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }

    /// The outcomes' fits run elsewhere, each an estimate with, if it was bootstrapped,
    /// its bootstrap and, if it was computed, its influence:
    /// [`from_bootstraps`](Self::from_bootstraps) when every fit has a bootstrap, else
    /// [`from_influences`](Self::from_influences) ([`joint_basis`](Self::joint_basis)
    /// says which basis the simultaneous inference has).
    ///
    /// # Errors
    /// Those of the constructor used.
    pub fn from_fits(
        names: Vec<String>,
        fits: Vec<(Estimate, Option<crate::BootstrapFit>, Option<RowInfluence>)>,
    ) -> Result<OutcomeFits> {
        if fits.iter().all(|(_, boot, _)| boot.is_some()) {
            Self::from_bootstraps(names, fits.into_iter().filter_map(|(_, b, _)| b).collect())
        } else {
            Self::from_influences(names, fits.into_iter().map(|(e, _, i)| (e, i)).collect())
        }
    }

    /// The outcomes' estimates, fitted elsewhere, without their influence: the
    /// adjustments that need only p-values, and simultaneous inference by the Gaussian
    /// correlation inequality ([`JointBasis::Bound`]).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the names and estimates differ in number.
    pub fn from_estimates(names: Vec<String>, estimates: Vec<Estimate>) -> Result<OutcomeFits> {
        check_count(&names, estimates.len())?;
        Ok(OutcomeFits {
            names,
            estimates,
            joint: Joint::Bound {
                maxima: std::sync::OnceLock::new(),
                why: None,
            },
        })
    }

    /// The outcomes' estimates, fitted elsewhere on the same rows, with their influence:
    /// the joint covariance Σ_u φ_uφ_uᵀ of all outcomes' coefficients sets the
    /// simultaneous inference ([`JointBasis::Influence`]) when every estimate has one on
    /// the same units and every coefficient a positive variance in it; else
    /// [`from_estimates`](Self::from_estimates)'s bound.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the names and estimates differ in number, or an
    /// influence's columns differ from its estimate's coefficients.
    pub fn from_influences(
        names: Vec<String>,
        fits: Vec<(Estimate, Option<RowInfluence>)>,
    ) -> Result<OutcomeFits> {
        check_count(&names, fits.len())?;
        if let Some((e, i)) = fits.iter().find_map(|(e, i)| {
            i.as_ref()
                .filter(|i| i.values().ncols() != e.theta().len())
                .map(|i| (e, i))
        }) {
            return Err(Error::InvalidConfig {
                parameter: "influences",
                reason: format!(
                    "an influence of {} columns for {} coefficients",
                    i.values().ncols(),
                    e.theta().len()
                ),
            });
        }
        let covariance = joint_covariance(&names, &fits);
        let estimates = fits.into_iter().map(|(e, _)| e).collect();
        let joint = match covariance {
            Ok(covariance) => Joint::Influence {
                covariance,
                maxima: std::sync::OnceLock::new(),
            },
            Err(why) => Joint::Bound {
                maxima: std::sync::OnceLock::new(),
                why: Some(why),
            },
        };
        Ok(OutcomeFits {
            names,
            estimates,
            joint,
        })
    }

    /// The outcomes' bootstrap fits, run elsewhere with one [`Bootstrap`] (the same
    /// replicates and seed) on data sets sharing their rows, which the caller
    /// guarantees.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the names and fits differ in number or the fits in
    /// replicates or seed; [`Error::BootstrapFailed`] when fewer than half the
    /// replicates were fitted for every outcome.
    pub fn from_bootstraps(
        names: Vec<String>,
        fits: Vec<crate::BootstrapFit>,
    ) -> Result<OutcomeFits> {
        check_count(&names, fits.len())?;
        let first = fits.first().map(|f| (f.n_replicates(), f.seed()));
        if fits
            .iter()
            .any(|f| Some((f.n_replicates(), f.seed())) != first)
        {
            return Err(Error::InvalidConfig {
                parameter: "bootstrap",
                reason: "the outcomes' bootstraps differ in replicates or seed: they must resample the same rows".into(),
            });
        }
        let max_t = joint_max_t(&fits, first.map_or(0, |(b, _)| b))?;
        Ok(OutcomeFits {
            names,
            estimates: fits.into_iter().map(|f| f.estimate().clone()).collect(),
            joint: Joint::Bootstrap(max_t),
        })
    }

    /// Checks what [`fit`](Self::fit) requires of its data sets, for fits run elsewhere
    /// (then given to [`from_estimates`](Self::from_estimates) or
    /// [`from_bootstraps`](Self::from_bootstraps)): at least one outcome, names unique,
    /// and every data set on the same rows, with the same labeled rows and clusters (so
    /// that one seed resamples the same rows of each).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first outcome that breaks one of these.
    pub fn check_rows(outcomes: &[(&str, &DataSources)]) -> Result<()> {
        let invalid = |reason: String| Error::InvalidConfig {
            parameter: "outcomes",
            reason,
        };
        let Some((first_name, first)) = outcomes.first() else {
            return Err(invalid("no outcome given".into()));
        };
        for (i, (name, data)) in outcomes.iter().enumerate() {
            if outcomes[..i].iter().any(|(other, _)| other == name) {
                return Err(invalid(format!("two outcomes are named `{name}`")));
            }
            let same = data.n_rows() == first.n_rows()
                && data.labeled_rows() == first.labeled_rows()
                && data.clusters() == first.clusters();
            if !same {
                return Err(invalid(format!(
                    "outcome `{name}` is not on the rows of `{first_name}` (rows, labeled rows or clusters differ)"
                )));
            }
        }
        Ok(())
    }

    /// The outcomes' names, in the order given.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Each outcome's estimate, as its own fit reports it.
    pub fn estimates(&self) -> &[Estimate] {
        &self.estimates
    }

    /// Whether the simultaneous inference comes from the bootstrap.
    pub fn uses_bootstrap(&self) -> bool {
        matches!(self.joint, Joint::Bootstrap(_))
    }

    /// Where the simultaneous inference takes the dependence between outcomes from.
    pub fn joint_basis(&self) -> JointBasis {
        match self.joint {
            Joint::Influence { .. } => JointBasis::Influence,
            Joint::Bound { .. } => JointBasis::Bound,
            Joint::Bootstrap(_) => JointBasis::Bootstrap,
        }
    }

    /// Why the fits' influences were given but not used (the simultaneous inference
    /// then falls back to the bound): an outcome's estimator gave none, the influences
    /// are on different rows, or a coefficient has no variance in them.
    pub fn joint_note(&self) -> Option<&str> {
        match &self.joint {
            Joint::Bound { why, .. } => why.as_deref(),
            _ => None,
        }
    }

    /// [`joint_basis`](Self::joint_basis)'s name, as the front ends report it.
    pub fn simultaneous_from(&self) -> &'static str {
        self.joint_basis().name()
    }

    /// The first-order (HC0, or CR0 by cluster) covariance of all outcomes' coefficients
    /// stacked in order (Σ p_k square) from their influence, when every fit gave one.
    pub fn joint_covariance(&self) -> Option<ArrayView2<'_, f64>> {
        match &self.joint {
            Joint::Influence { covariance, .. } => Some(covariance.view()),
            _ => None,
        }
    }

    /// Every outcome's p-values adjusted for testing all K·p coefficients (one array
    /// per outcome): Bonferroni, Holm or Benjamini–Hochberg; single-step max-|t| from
    /// the bootstrap when the fits have one, else from each outcome's covariance (see
    /// the module's documentation).
    ///
    /// # Errors
    /// [`Error::InvalidEstimate`] for [`Adjustment::SingleStep`] when an outcome's
    /// covariance has no correlation matrix.
    pub fn adjusted_p_values(&self, method: Adjustment) -> Result<Vec<Array1<f64>>> {
        let all = |f: fn(&Estimate) -> Array1<f64>| -> Vec<f64> {
            self.estimates.iter().flat_map(|e| f(e).to_vec()).collect()
        };
        let p = all(Estimate::p_values);
        let adjusted = match (method, &self.joint) {
            (Adjustment::SingleStep, Joint::Bootstrap(max_t)) => {
                bootstrap_single_step(max_t, &all(Estimate::z), &p)
            }
            (Adjustment::SingleStep, _) => self.normal_maxima()?.single_step(&all(Estimate::z), &p),
            _ => adjust_p_values(&p, method)?,
        };
        let mut start = 0;
        Ok(self
            .estimates
            .iter()
            .map(|e| {
                let k = e.theta().len();
                start += k;
                Array1::from(adjusted[start - k..start].to_vec())
            })
            .collect())
    }

    /// The draws behind the normal simultaneous inference, drawn once: one block from
    /// the joint correlation, or one per outcome for the bound.
    fn normal_maxima(&self) -> Result<&BlockMaxima> {
        match &self.joint {
            Joint::Influence { covariance, maxima } => drawn_once(maxima, || {
                let df = self
                    .estimates
                    .iter()
                    .filter_map(|e| e.reference_df())
                    .reduce(f64::min);
                BlockMaxima::joint(covariance, df)
            }),
            Joint::Bound { maxima, .. } => drawn_once(maxima, || {
                let estimates: Vec<&Estimate> = self.estimates.iter().collect();
                BlockMaxima::of(&estimates)
            }),
            Joint::Bootstrap(_) => unreachable!("the bootstrap's fits have no normal draws"),
        }
    }

    /// The critical value c of simultaneous 1 − α intervals: the 1 − α quantile of the
    /// bootstrap's M_b, of max |T| under the joint correlation, or the c at which the
    /// product of the outcomes' max-|t| distributions reaches 1 − α (see
    /// [`joint_basis`](Self::joint_basis)).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1; [`Error::InvalidEstimate`] when an
    /// outcome's covariance has no correlation matrix.
    pub fn simultaneous_critical_value(&self, alpha: f64) -> Result<f64> {
        crate::inference::normal_critical_value(alpha)?;
        Ok(match &self.joint {
            Joint::Bootstrap(max_t) => quantile(Array1::from(max_t.to_vec()).view(), 1.0 - alpha),
            _ => self.normal_maxima()?.critical_value(alpha),
        })
    }

    /// Simultaneous 1 − α intervals θ̂_kj ± c·se_kj, one p × 2 array per outcome:
    /// together they cover every coefficient of every outcome with probability at
    /// least 1 − α.
    ///
    /// # Errors
    /// As [`simultaneous_critical_value`](Self::simultaneous_critical_value).
    pub fn simultaneous_conf_int(&self, alpha: f64) -> Result<Vec<Array2<f64>>> {
        let c = self.simultaneous_critical_value(alpha)?;
        Ok(self.estimates.iter().map(|e| e.intervals_with(c)).collect())
    }
}

/// The bootstrap's single-step adjusted p-values of the statistics `t` with
/// unadjusted `p`: the share of M_b at least |t_j|, kept within [p_j, min(1, m p_j)].
fn bootstrap_single_step(max_t: &[f64], t: &[f64], p: &[f64]) -> Vec<f64> {
    let (n, m) = (max_t.len() as f64, p.len() as f64);
    t.iter()
        .zip(p)
        .map(|(t, &p)| {
            let below = max_t.partition_point(|&d| d < t.abs());
            ((n - below as f64) / n).clamp(p, (m * p).min(1.0))
        })
        .collect()
}

/// The draws in `cell`, drawn by `draw` the first time they are asked for.
fn drawn_once(
    cell: &std::sync::OnceLock<BlockMaxima>,
    draw: impl FnOnce() -> Result<BlockMaxima>,
) -> Result<&BlockMaxima> {
    if let Some(maxima) = cell.get() {
        return Ok(maxima);
    }
    let maxima = draw()?;
    Ok(cell.get_or_init(|| maxima))
}

/// The joint covariance of the fits' influences, or why there is none: an outcome
/// without influence, influences on different units, or a coefficient whose variance in
/// it is zero or not finite (its correlations would not be).
fn joint_covariance(
    names: &[String],
    fits: &[(Estimate, Option<RowInfluence>)],
) -> std::result::Result<Array2<f64>, String> {
    let mut influences = Vec::with_capacity(fits.len());
    for (name, (_, influence)) in names.iter().zip(fits) {
        let Some(influence) = influence else {
            return Err(format!(
                "outcome `{name}`'s estimator gives no influence on the rows"
            ));
        };
        influences.push(influence);
    }
    let covariance = RowInfluence::joint_covariance(&influences)
        .map_err(|_| "the outcomes' influences are on different rows".to_string())?;
    if covariance
        .diag()
        .iter()
        .any(|v| !(v.is_finite() && *v > 0.0))
    {
        return Err("a coefficient has no variance in the outcomes' influences".into());
    }
    Ok(covariance)
}

/// As many names as fits, at least one.
fn check_count(names: &[String], fits: usize) -> Result<()> {
    match (names.len(), fits) {
        (0, _) => Err(Error::InvalidConfig {
            parameter: "outcomes",
            reason: "no outcome given".into(),
        }),
        (n, f) if n != f => Err(Error::InvalidConfig {
            parameter: "outcomes",
            reason: format!("{n} names for {f} fits"),
        }),
        _ => Ok(()),
    }
}

/// M_b = max over outcomes and coefficients of |t*_{b,kj}|, over the replicates every
/// outcome fitted, ascending.
fn joint_max_t(fits: &[crate::BootstrapFit], replicates: usize) -> Result<Vec<f64>> {
    let mut max_t = vec![Some(0.0f64); replicates];
    for fit in fits {
        let mut seen = vec![false; replicates];
        for (row, &b) in fit.fitted_replicates().iter().enumerate() {
            seen[b] = true;
            let largest = fit
                .studentized()
                .row(row)
                .iter()
                .fold(0.0f64, |m, t| m.max(t.abs()));
            max_t[b] = max_t[b].map(|m| m.max(largest));
        }
        for (b, seen) in seen.into_iter().enumerate() {
            if !seen {
                max_t[b] = None;
            }
        }
    }
    let mut max_t: Vec<f64> = max_t
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    if 2 * max_t.len() < replicates || max_t.len() < 2 {
        return Err(Error::BootstrapFailed {
            failed: replicates - max_t.len(),
            replicates,
        });
    }
    max_t.sort_by(f64::total_cmp);
    Ok(max_t)
}

impl fmt::Display for OutcomeFits {
    /// Every coefficient of every outcome with its estimate, standard error, Holm's
    /// adjusted p-value and the simultaneous 95% interval, with a last line saying what
    /// the joint distribution came from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let holm = self
            .adjusted_p_values(Adjustment::Holm)
            .map_err(|_| fmt::Error)?;
        let joint = self.simultaneous_conf_int(0.05).ok();
        writeln!(
            f,
            "{:<12} {:<12} {:>10} {:>10} {:>10} {:>22}",
            "outcome", "term", "coef", "std err", "Holm p", "simultaneous 95%"
        )?;
        for (k, e) in self.estimates.iter().enumerate() {
            let se = e.se();
            for (j, name) in e.names().iter().enumerate() {
                let interval = joint.as_ref().map_or("(no correlation)".to_string(), |ci| {
                    format!("[{:.4}, {:.4}]", ci[k][[j, 0]], ci[k][[j, 1]])
                });
                writeln!(
                    f,
                    "{:<12} {:<12} {:>10.4} {:>10.4} {:>10.4} {:>22}",
                    self.names[k],
                    name,
                    e.theta()[j],
                    se[j],
                    holm[k][j],
                    interval
                )?;
            }
        }
        writeln!(
            f,
            "Simultaneous intervals from {}.",
            self.joint_basis().describe()
        )?;
        match self.joint_note() {
            Some(why) => writeln!(f, "Note: no joint covariance: {why}."),
            None => Ok(()),
        }
    }
}
