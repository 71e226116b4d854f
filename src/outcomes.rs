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
//! - Simultaneous intervals and single-step p-values without resampling: within each
//!   outcome from the joint distribution of its t statistics (its covariance, as for
//!   one fit: [`Estimate::simultaneous_conf_int`]); across outcomes, whose
//!   cross-covariance no single fit holds, by the Gaussian correlation inequality
//!   (Royen 2014): P(every |T_kj| ≤ c) ≥ Π_k P(max_j |T_kj| ≤ c) for jointly normal
//!   statistics whatever the dependence between outcomes, so c from the product covers
//!   with probability at least 1 − α. It is exact for one outcome and for independent
//!   ones, conservative as far as outcomes are dependent, and never wider than
//!   Bonferroni's over the same t statistics. Each outcome's statistics take the
//!   smallest of its coefficients' degrees of freedom (as its own simultaneous
//!   intervals do).
//! - The bootstrap max-|t| (Romano and Wolf 2005), with a [`Bootstrap`]: every outcome's
//!   estimator is re-run on the same B resamples (one seed draws the same rows for each
//!   data set: labeled and unlabeled rows separately, or clusters as units), giving
//!   t*_{b,kj} = (θ*_{b,kj} − θ̂_kj)/se*_{b,kj}; c is the 1 − α quantile of
//!   M_b = max_{k,j} |t*_{b,kj}| over the replicates every outcome could fit.
//!   θ̂_kj ± c·se_kj then cover every coefficient of every outcome together with
//!   probability 1 − α, and the single-step adjusted p-value of θ_kj = 0 is the share of
//!   M_b at least |t_kj| (kept within [p_kj, min(1, K·p·p_kj)], which bound it). The
//!   dependence between outcomes, which no single fit's covariance holds, comes from the
//!   common resamples: exact to first order, at the cost of B fits per outcome.
//!
//! Each outcome is fitted on its own: the fits do not share passes over the rows.

use std::fmt;

use ndarray::{Array1, Array2};

use crate::bootstrap::{quantile, Bootstrap};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::Estimate;
use crate::multiple_testing::{adjust_p_values, Adjustment, BlockMaxima};

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
    /// Each outcome's own covariance, combined by the Gaussian correlation inequality
    /// (drawn when first asked for).
    Normal(std::sync::OnceLock<BlockMaxima>),
    /// M_b over the replicates every outcome fitted, ascending.
    Bootstrap(Vec<f64>),
}

impl OutcomeFits {
    /// Runs `estimator` on each outcome's data set (`(name, data)` pairs sharing the
    /// rows: the same label mask and clusters), and with `bootstrap` on the same
    /// resamples of each.
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
        match bootstrap {
            None => Self::from_estimates(
                names,
                outcomes
                    .iter()
                    .map(|(_, data)| estimator.estimate(data))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(bootstrap) => Self::from_bootstraps(
                names,
                outcomes
                    .iter()
                    .map(|(_, data)| bootstrap.run(estimator, data))
                    .collect::<Result<Vec<_>>>()?,
            ),
        }
    }

    /// The outcomes' fits run elsewhere, each an estimate and, if it was
    /// bootstrapped, its bootstrap: [`from_bootstraps`](Self::from_bootstraps) when
    /// every fit has one, else [`from_estimates`](Self::from_estimates) (the
    /// simultaneous inference from each outcome's covariance; [`uses_bootstrap`](Self::uses_bootstrap)
    /// says which).
    ///
    /// # Errors
    /// Those of the constructor used.
    pub fn from_fits(
        names: Vec<String>,
        fits: Vec<(Estimate, Option<crate::BootstrapFit>)>,
    ) -> Result<OutcomeFits> {
        if fits.iter().all(|(_, boot)| boot.is_some()) {
            Self::from_bootstraps(names, fits.into_iter().filter_map(|(_, b)| b).collect())
        } else {
            Self::from_estimates(names, fits.into_iter().map(|(e, _)| e).collect())
        }
    }

    /// The outcomes' estimates, fitted elsewhere, for the adjustments that need only
    /// their p-values.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the names and estimates differ in number.
    pub fn from_estimates(names: Vec<String>, estimates: Vec<Estimate>) -> Result<OutcomeFits> {
        check_count(&names, estimates.len())?;
        Ok(OutcomeFits {
            names,
            estimates,
            joint: Joint::Normal(std::sync::OnceLock::new()),
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

    /// Whether the simultaneous inference comes from the bootstrap (else from each
    /// outcome's covariance, see the module's documentation).
    pub fn uses_bootstrap(&self) -> bool {
        matches!(self.joint, Joint::Bootstrap(_))
    }

    /// Where the simultaneous inference comes from, as the front ends report it:
    /// `"bootstrap"` or `"normal"`.
    pub fn simultaneous_from(&self) -> &'static str {
        if self.uses_bootstrap() {
            "bootstrap"
        } else {
            "normal"
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
            (Adjustment::SingleStep, Joint::Normal(_)) => {
                self.normal_maxima()?.single_step(&all(Estimate::z), &p)
            }
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

    /// The outcomes' blocks of draws, drawn once.
    fn normal_maxima(&self) -> Result<&BlockMaxima> {
        let Joint::Normal(cell) = &self.joint else {
            unreachable!("the bootstrap's fits have no normal blocks")
        };
        if let Some(maxima) = cell.get() {
            return Ok(maxima);
        }
        let estimates: Vec<&Estimate> = self.estimates.iter().collect();
        let maxima = BlockMaxima::of(&estimates)?;
        Ok(cell.get_or_init(|| maxima))
    }

    /// The critical value c of simultaneous 1 − α intervals: the 1 − α quantile of the
    /// bootstrap's M_b, or the c at which the product of the outcomes' max-|t|
    /// distributions reaches 1 − α.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1; [`Error::InvalidEstimate`] when an
    /// outcome's covariance has no correlation matrix.
    pub fn simultaneous_critical_value(&self, alpha: f64) -> Result<f64> {
        crate::inference::normal_critical_value(alpha)?;
        Ok(match &self.joint {
            Joint::Bootstrap(max_t) => quantile(Array1::from(max_t.to_vec()).view(), 1.0 - alpha),
            Joint::Normal(_) => self.normal_maxima()?.critical_value(alpha),
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
        let basis = if self.uses_bootstrap() {
            "the bootstrap max-|t| over common resamples"
        } else {
            "each outcome's covariance, combined across outcomes by the Gaussian correlation inequality (at least 95%)"
        };
        writeln!(f, "Simultaneous intervals from {basis}.")
    }
}
