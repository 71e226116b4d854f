//! Fitted results: estimates, covariance, standard errors, intervals, tests, summaries.

use std::fmt;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use statrs::distribution::{
    ChiSquared, Continuous, ContinuousCDF, FisherSnedecor, Normal, StudentsT,
};

use crate::error::{Error, Result, Stage};
use crate::interval_scale::IntervalScale;

/// Standard normal distribution.
fn std_normal() -> Normal {
    Normal::standard()
}

/// The smallest α an interval or critical value accepts: the levels 1 − α are those
/// in [0, 1 − 1e-12]. Below it the Student-t tail quantile loses its accuracy (and a
/// level that close to 1 is no interval anyone reads).
pub const MIN_ALPHA: f64 = 1e-12;

/// The two-sided normal critical value z_{1−α/2}, computed from the lower tail as
/// −z_{α/2} so that it stays accurate for small α.
///
/// # Errors
/// [`Error::InvalidConfig`] unless [`MIN_ALPHA`] ≤ α < 1.
pub fn normal_critical_value(alpha: f64) -> Result<f64> {
    two_sided(alpha, |p| -std_normal().inverse_cdf(p))
}

/// The upper-tail quantile t_{ν,1−p} for a small tail probability p (≤ 1/2): statrs's
/// inverse refined by Newton's method on the log scale, ln F(−e^u) = ln p in u, where
/// the tail is nearly linear. statrs alone is accurate to about 1e-8 at p = 0.025 but
/// far off in extreme tails with few degrees of freedom (ν = 1, p = 5e-13: 9.2e7 for
/// 6.4e11); the refined value matches scipy's `t.isf` to 1e-10 over ν ∈ [0.5, 1000],
/// p ≥ 5e-13.
fn t_upper_quantile(t: &StudentsT, p: f64) -> f64 {
    let start = -t.inverse_cdf(p);
    if !(start.is_finite() && start > 0.0) {
        return start;
    }
    let mut u = start.ln();
    for _ in 0..60 {
        let x = -u.exp();
        let (cdf, pdf) = (t.cdf(x), t.pdf(x));
        if !(cdf > 0.0 && pdf > 0.0) {
            break;
        }
        // d/du ln F(−e^u) = −f(x) e^u / F(x).
        let step = (cdf.ln() - p.ln()) / (-pdf * u.exp() / cdf);
        u -= step;
        if step.abs() < 1e-14 {
            break;
        }
    }
    u.exp()
}

/// z_{1−α/2}, or t_{ν,1−α/2} with ν degrees of freedom.
pub(crate) fn critical_value_at(df: Option<f64>, alpha: f64) -> Result<f64> {
    match df.and_then(|df| StudentsT::new(0.0, 1.0, df).ok()) {
        Some(t) => two_sided(alpha, |p| t_upper_quantile(&t, p)),
        None => normal_critical_value(alpha),
    }
}

/// `upper(α/2)`, the critical value of a two-sided level-α interval, after checking
/// that [`MIN_ALPHA`] ≤ α < 1 and that it is a finite number.
fn two_sided(alpha: f64, upper: impl Fn(f64) -> f64) -> Result<f64> {
    let invalid = |reason: String| Error::InvalidConfig {
        parameter: "alpha",
        reason,
    };
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(invalid(format!("{alpha} is not in (0, 1)")));
    }
    if alpha < MIN_ALPHA {
        return Err(invalid(format!(
            "{alpha:e} is below {MIN_ALPHA:e}, the smallest level supported"
        )));
    }
    let crit = upper(alpha / 2.0);
    if crit.is_finite() {
        Ok(crit)
    } else {
        Err(invalid(format!(
            "{alpha:e} is too small: its critical value is not a finite number"
        )))
    }
}

/// Something an estimator did that its user should know: a fallback it took or an
/// input it set aside. Kept in the results and printed under the summary.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Note {
    /// Ω̂ was numerically singular: its pseudo-inverse was used, dropping the moment
    /// combinations that are exact linear functions of the others.
    PseudoInverse {
        /// Where (step-2 weight or covariance).
        stage: Stage,
        /// Numerical rank kept.
        rank: usize,
        /// Dimension of Ω̂.
        dim: usize,
    },
    /// The requested covariance was not a valid covariance matrix (a negative or
    /// non-finite variance); another one was reported instead.
    CovarianceFallback {
        /// The covariance asked for.
        requested: String,
        /// The covariance reported.
        used: String,
    },
    /// A source was left out of the fit because it cannot carry information.
    SourceDropped {
        /// The source.
        name: String,
        /// Why.
        reason: DropReason,
    },
    /// A preliminary fit failed and the estimator continued from another one.
    PilotFallback {
        /// What was done instead.
        detail: String,
    },
    /// The estimator could not fit some bootstrap replicates; the intervals come from
    /// the others.
    BootstrapFailures {
        /// Replicates left out.
        failed: usize,
        /// Replicates drawn.
        replicates: usize,
    },
    /// The selected cross weights ([`CrossWeights::Selected`](crate::CrossWeights::Selected))
    /// could not be formed; the paper's unrestricted two-step weights were used, with
    /// the covariance named in the summary and normal quantiles.
    SelectionFallback {
        /// Why the selection did not apply.
        reason: String,
    },
    /// Something a labeling design ([`Labeling`](crate::labeling::Labeling)) did
    /// differently from what was asked.
    LabelingDesign {
        /// What and why.
        detail: String,
    },
    /// The coupled estimating equation of the selected weights (nonlinear models) had
    /// no root near its linear form; the linear form θ̂_real − ΛΔ̂ is reported.
    LinearCorrection,
    /// Inference is cluster-robust: Ω̂ (or the sandwich's meat) from cluster sums of
    /// the moments, times G/(G − 1), or in the CR2 form (see `cr2`).
    Clustered {
        /// Number of clusters G.
        clusters: usize,
        /// The CR2 form: each cluster's sum adjusted by (I − H_gg)^(−1/2), no factor,
        /// and each coefficient's Bell–McCaffrey degrees of freedom.
        cr2: bool,
        /// What the estimator did differently because of the clusters, if anything.
        detail: Option<String>,
    },
    /// A proportion's interval (the mean of a 0/1 outcome): formed on the logit scale
    /// and mapped back into (0, 1) (see [`IntervalScale::Logit`]), or, when its
    /// estimate is not inside (0, 1), the Wald interval on its own scale.
    ProportionInterval {
        /// The coefficient.
        name: String,
        /// Its estimate.
        value: f64,
        /// Whether the logit scale was used.
        logit: bool,
    },
    /// Fixed effects were absorbed by the within transformation
    /// ([`DataSourcesBuilder::fixed_effects`](crate::DataSourcesBuilder::fixed_effects)):
    /// the slopes are those of the regression with one indicator column per level.
    FixedEffects {
        /// The levels of each effect.
        levels: Vec<usize>,
        /// Whether CR2 left out the leverage of effects not nested in the clusters
        /// (over [`MAX_LEVERAGE_LEVELS`](crate::fixed_effects::MAX_LEVERAGE_LEVELS)
        /// levels).
        leverage_left_out: bool,
    },
    /// A binary outcome whose rarer value few labeled rows hold: fewer than
    /// [`MIN_EVENTS_PER_COEFFICIENT`](crate::MIN_EVENTS_PER_COEFFICIENT) per
    /// coefficient, where Wald intervals of logistic regression are known to cover too
    /// rarely (the slope's sampling distribution is far from normal).
    FewEvents {
        /// Labeled rows with the rarer outcome value.
        events: usize,
        /// The outcome value they hold (0 or 1).
        value: u8,
        /// Coefficients estimated.
        coefficients: usize,
    },
}

/// Why a source was left out of a fit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DropReason {
    /// The model fits its outcomes exactly (its moments vanish on every row, to
    /// rounding): it has no residual to correlate with the real one.
    Degenerate,
    /// It repeats another source value for value.
    Duplicate {
        /// The source kept.
        of: String,
    },
    /// Too few labeled rows to weigh any source: the k(1 + M) labeled moments (real
    /// and each source's, k per block) need more than k(1 + M) labeled rows for their
    /// covariance to be estimable; below that the fit would rest on a pseudo-inverse
    /// of a rank-deficient Ω̂. Every source is left out and the real data alone are
    /// fitted (with small-sample quantiles).
    TooFewLabeled {
        /// Labeled rows n.
        labeled: usize,
        /// Labeled rows needed to use the sources: k(1 + M) + 1.
        needed: usize,
    },
    /// Every row is labeled: a source's all-rows moments ψ(η_m; aux_m,t) repeat its
    /// labeled ones S_t ψ(η_m; aux_m,t) row for row, so η_m is exactly identified, Ω̂
    /// is singular and θ̂ is the real-only fit whatever the sources hold. Every source
    /// is left out and the real data alone are fitted (with small-sample quantiles).
    EveryRowLabeled,
}

/// Why source `name` was left out, as a note's text.
fn write_dropped(f: &mut fmt::Formatter<'_>, name: &str, reason: &DropReason) -> fmt::Result {
    match reason {
        DropReason::Degenerate => write!(
            f,
            "source `{name}` was left out: the model fits it exactly, so it carries no information"
        ),
        DropReason::Duplicate { of } => {
            write!(f, "source `{name}` was left out: it repeats source `{of}`")
        }
        DropReason::TooFewLabeled { labeled, needed } => write!(
            f,
            "source `{name}` was left out: {labeled} labeled rows cannot estimate the covariance of the labeled moments with the sources ({needed} needed); the real data alone are used"
        ),
        DropReason::EveryRowLabeled => write!(
            f,
            "source `{name}` was left out: every row is labeled, so its moments on all rows repeat those on the labeled rows and add nothing to the real data; the real data alone are used"
        ),
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::PseudoInverse { stage, rank, dim } => write!(
                f,
                "the weight matrix at {stage} was singular (rank {rank} of {dim}); its pseudo-inverse was used"
            ),
            Note::CovarianceFallback { requested, used } => write!(
                f,
                "the {requested} covariance had a negative or non-finite variance; the {used} covariance is reported"
            ),
            Note::SourceDropped { name, reason } => write_dropped(f, name, reason),
            Note::PilotFallback { detail } | Note::LabelingDesign { detail } => write!(f, "{detail}"),
            Note::BootstrapFailures { failed, replicates } => write!(
                f,
                "the estimator failed on {failed} of {replicates} bootstrap replicates; they are left out"
            ),
            Note::SelectionFallback { reason } => write!(
                f,
                "selected cross weights not used ({reason}): the unrestricted two-step weights were used instead"
            ),
            Note::ProportionInterval { name, value, logit: true } => write!(
                f,
                "`{name}` is a proportion: its interval is formed on the logit scale and mapped back (estimate {value:.4})"
            ),
            Note::ProportionInterval { name, value, logit: false } => write!(
                f,
                "`{name}` is a proportion estimated outside (0, 1) ({value:.4}): its interval is the Wald interval on its own scale, not the logit one"
            ),
            Note::FewEvents {
                events,
                value,
                coefficients,
            } => write!(
                f,
                "only {events} labeled row(s) have outcome {value}, for {coefficients} coefficient(s): with fewer than {} per coefficient Wald intervals of logistic regression cover too rarely; label more rows, oversampling those likely to have outcome {value} (a labeling design)",
                crate::MIN_EVENTS_PER_COEFFICIENT
            ),
            Note::LinearCorrection => write!(
                f,
                "the coupled estimating equation had no root near its linear form; the linear correction is reported"
            ),
            Note::FixedEffects {
                levels,
                leverage_left_out,
            } => {
                let levels: Vec<String> = levels.iter().map(usize::to_string).collect();
                write!(
                    f,
                    "fixed effects absorbed ({} levels): the slopes are the regression's with one indicator per level",
                    levels.join(" and ")
                )?;
                match leverage_left_out {
                    true => write!(f, "; CR2 leaves out the leverage of the effects not nested in the clusters (too many levels)"),
                    false => Ok(()),
                }
            }
            Note::Clustered {
                clusters,
                cr2,
                detail,
            } => {
                let form = if *cr2 {
                    "CR2, Bell–McCaffrey degrees of freedom"
                } else {
                    "factor G/(G − 1)"
                };
                write!(
                    f,
                    "standard errors are robust to correlation within {clusters} clusters ({form})"
                )?;
                match detail {
                    Some(detail) => write!(f, "; {detail}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// An estimate of the target θ with its covariance: the result every estimator in the
/// crate returns, so that they can be compared side by side.
///
/// Inference is Wald-type: se_j = √V_jj, z_j = θ̂_j / se_j, p_j = 2Φ(−|z_j|) and
/// CI = θ̂_j ± z_{1−α/2} se_j with the normal approximation, or Student-t quantiles
/// with ν degrees of freedom when the estimator set them (the small-sample default of
/// [`TwoStepGmm`](crate::TwoStepGmm)'s selected weights; see
/// [`with_t_df`](Self::with_t_df)). An `Estimate` always holds finite values and
/// positive variances: [`Estimate::new`] refuses anything else.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Estimate {
    estimator: String,
    model: String,
    names: Vec<String>,
    theta: Array1<f64>,
    cov: Array2<f64>,
    n_rows: usize,
    n_labeled: usize,
    /// Degrees of freedom ν of the Student-t reference distribution; normal when `None`.
    t_df: Option<f64>,
    /// Each coefficient's own ν_j (Bell–McCaffrey), replacing `t_df` in its intervals
    /// and p-values.
    coefficient_df: Option<Array1<f64>>,
    /// The scale of each coefficient's interval.
    interval_scales: Vec<IntervalScale>,
    notes: Vec<Note>,
}

impl Estimate {
    /// Assembles an estimate; `cov` is the covariance of θ̂ (already divided by the
    /// sample size).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `names` has one entry per coefficient and `cov`
    /// is p × p; [`Error::InvalidEstimate`] for a non-finite θ̂ or covariance, or a
    /// variance that is not positive.
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::Estimate;
    /// let e = Estimate::new("mine", "ols", vec!["a".into()], array![1.0], array![[0.25]], 10, 10)?;
    /// assert_eq!(e.se()[0], 0.5);
    /// assert!(Estimate::new("mine", "ols", vec!["a".into()], array![1.0], array![[-1.0]], 10, 10).is_err());
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn new(
        estimator: impl Into<String>,
        model: impl Into<String>,
        names: Vec<String>,
        theta: Array1<f64>,
        cov: Array2<f64>,
        n_rows: usize,
        n_labeled: usize,
    ) -> Result<Self> {
        let estimator = estimator.into();
        let p = theta.len();
        let shape = |what: &str, expected: usize, found: usize| {
            Err(Error::ShapeMismatch {
                what: what.to_string(),
                expected,
                found,
            })
        };
        if names.len() != p {
            return shape("coefficient names", p, names.len());
        }
        if cov.dim() != (p, p) {
            return shape("covariance entries", p * p, cov.len());
        }
        let invalid = |what: &str| {
            Err(Error::InvalidEstimate {
                estimator: estimator.clone(),
                what: what.to_string(),
            })
        };
        if theta.iter().any(|v| !v.is_finite()) {
            return invalid("a non-finite coefficient");
        }
        if cov.iter().any(|v| !v.is_finite()) {
            return invalid("a non-finite covariance");
        }
        if cov.diag().iter().any(|&v| v <= 0.0) {
            return invalid("a variance that is not positive");
        }
        Ok(Self {
            estimator,
            model: model.into(),
            names,
            theta,
            cov,
            n_rows,
            n_labeled,
            t_df: None,
            coefficient_df: None,
            interval_scales: vec![IntervalScale::Identity; p],
            notes: Vec::new(),
        })
    }
    /// The same estimate with Student-t(ν) reference quantiles: p-values
    /// 2(1 − F_ν(|θ̂_j / se_j|)), intervals θ̂_j ± t_{ν,1−α/2} se_j and Wald tests as
    /// F(q, ν) (statsmodels' `use_t`). For ν = ∞ (or any ν that is not positive and
    /// finite) the normal approximation stays.
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::Estimate;
    /// let e = Estimate::new("e", "ols", vec!["a".into()], array![1.0], array![[0.25]], 20, 20)?;
    /// let t = e.clone().with_t_df(10.0);
    /// assert_eq!(t.t_df(), Some(10.0));
    /// // t_{10, 0.975} = 2.2281: wider than the normal interval.
    /// assert!((t.conf_int(0.05)?[[0, 1]] - (1.0 + 2.228139 * 0.5)).abs() < 1e-5);
    /// assert!(t.p_values()[0] > e.p_values()[0]);
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn with_t_df(mut self, df: f64) -> Self {
        self.t_df = (df > 0.0 && df.is_finite()).then_some(df);
        if self.t_df.is_none() {
            self.coefficient_df = None;
        }
        self
    }
    /// The same estimate with each coefficient's own degrees of freedom ν_j (for
    /// instance Bell and McCaffrey's, see
    /// [`SmallSample::Hc2BellMcCaffrey`](crate::SmallSample::Hc2BellMcCaffrey)):
    /// coefficient j's p-value and interval use t(ν_j). A joint Wald test uses the
    /// smallest ν_j among the coefficients it restricts. Ignored unless `dof` has one
    /// positive, finite entry per coefficient; [`t_df`](Self::t_df) becomes the smallest
    /// ν_j when it was not set.
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::Estimate;
    /// let e = Estimate::new("e", "ols", vec!["a".into(), "b".into()], array![1.0, 1.0],
    ///     array![[0.25, 0.0], [0.0, 0.25]], 20, 20)?
    ///     .with_coefficient_df(array![18.0, 4.0]);
    /// let ci = e.conf_int(0.05)?;
    /// assert!((ci[[0, 1]] - (1.0 + 2.100922 * 0.5)).abs() < 1e-5); // t(18)
    /// assert!((ci[[1, 1]] - (1.0 + 2.776445 * 0.5)).abs() < 1e-5); // t(4)
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn with_coefficient_df(mut self, dof: Array1<f64>) -> Self {
        let valid = dof.len() == self.theta.len() && dof.iter().all(|v| *v > 0.0 && v.is_finite());
        if valid {
            if self.t_df.is_none() {
                self.t_df = dof.iter().copied().reduce(f64::min);
            }
            self.coefficient_df = Some(dof);
        }
        self
    }
    /// Each coefficient's degrees of freedom when they differ by coefficient
    /// (Bell–McCaffrey); `None` when every coefficient uses [`t_df`](Self::t_df).
    pub fn coefficient_df(&self) -> Option<ArrayView1<'_, f64>> {
        self.coefficient_df.as_ref().map(|dof| dof.view())
    }
    /// The degrees of freedom of coefficient j's reference distribution: its own ν_j,
    /// else [`t_df`](Self::t_df); `None` for the normal approximation (or j out of
    /// range).
    pub fn df_of(&self, j: usize) -> Option<f64> {
        if j >= self.theta.len() {
            return None;
        }
        match &self.coefficient_df {
            Some(dof) => Some(dof[j]),
            None => self.t_df,
        }
    }
    /// The same estimate with another covariance of θ̂.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `cov` is p × p; [`Error::InvalidEstimate`] for a
    /// non-finite covariance or a variance that is not positive.
    pub(crate) fn with_cov(self, cov: Array2<f64>) -> Result<Self> {
        let Estimate {
            estimator,
            model,
            names,
            theta,
            n_rows,
            n_labeled,
            t_df,
            coefficient_df,
            interval_scales,
            notes,
            ..
        } = self;
        let mut estimate = Estimate::new(estimator, model, names, theta, cov, n_rows, n_labeled)?
            .with_notes(notes)
            .with_t_df(t_df.unwrap_or(0.0));
        estimate.coefficient_df = coefficient_df;
        estimate.interval_scales = interval_scales;
        Ok(estimate)
    }
    /// Degrees of freedom of the Student-t reference distribution; `None` for the
    /// normal approximation.
    pub fn t_df(&self) -> Option<f64> {
        self.t_df
    }
    /// Coefficient j's reference distribution's CDF at x: Φ(x), or F_ν(x) with t
    /// quantiles.
    fn reference_cdf(&self, j: usize, x: f64) -> f64 {
        match self
            .df_of(j)
            .and_then(|df| StudentsT::new(0.0, 1.0, df).ok())
        {
            Some(t) => t.cdf(x),
            None => std_normal().cdf(x),
        }
    }
    /// The two-sided critical value at level 1 − α of the common reference
    /// distribution: z_{1−α/2}, or t_{ν,1−α/2} with ν = [`t_df`](Self::t_df). With
    /// [`coefficient_df`](Self::coefficient_df) the intervals use
    /// [`critical_values`](Self::critical_values) instead.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless [`MIN_ALPHA`] ≤ α < 1.
    pub fn critical_value(&self, alpha: f64) -> Result<f64> {
        critical_value_at(self.t_df, alpha)
    }
    /// The two-sided critical value of each coefficient's interval at level 1 − α:
    /// t_{ν_j,1−α/2} with its own degrees of freedom, else
    /// [`critical_value`](Self::critical_value).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless [`MIN_ALPHA`] ≤ α < 1.
    pub fn critical_values(&self, alpha: f64) -> Result<Array1<f64>> {
        (0..self.theta.len())
            .map(|j| critical_value_at(self.df_of(j), alpha))
            .collect()
    }
    /// The same estimate with these notes added.
    pub fn with_notes(mut self, notes: impl IntoIterator<Item = Note>) -> Self {
        self.notes.extend(notes);
        self
    }
    /// The notes, to amend in place.
    pub(crate) fn notes_mut(&mut self) -> &mut Vec<Note> {
        &mut self.notes
    }
    /// Puts these notes before the ones already there.
    pub(crate) fn prepend_notes(&mut self, notes: Vec<Note>) {
        let later = std::mem::replace(&mut self.notes, notes);
        self.notes.extend(later);
    }
    /// Fallbacks taken and inputs set aside while estimating.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }
    /// The same estimate under another estimator name.
    pub fn with_estimator(mut self, name: impl Into<String>) -> Self {
        self.estimator = name.into();
        self
    }
    /// The estimator's name, e.g. `"GMM-Synth"`.
    pub fn estimator(&self) -> &str {
        &self.estimator
    }
    /// The moment model's name.
    pub fn model(&self) -> &str {
        &self.model
    }
    /// Coefficient names.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// θ̂.
    pub fn theta(&self) -> ArrayView1<'_, f64> {
        self.theta.view()
    }
    /// Estimated covariance of θ̂.
    pub fn cov(&self) -> ArrayView2<'_, f64> {
        self.cov.view()
    }
    /// Standard errors √diag(V).
    pub fn se(&self) -> Array1<f64> {
        self.cov.diag().mapv(f64::sqrt)
    }
    /// Wald statistics θ̂_j / se_j.
    pub fn z(&self) -> Array1<f64> {
        &self.theta / &self.se()
    }
    /// Two-sided p-values 2Φ(−|z_j|) for H₀: θ_j = 0 (2F_ν(−|z_j|) with t quantiles).
    pub fn p_values(&self) -> Array1<f64> {
        let z = self.z();
        (0..z.len())
            .map(|j| 2.0 * self.reference_cdf(j, -z[j].abs()))
            .collect()
    }
    /// Confidence intervals θ̂_j ± c se_j, one row [lower, upper] per coefficient, with c
    /// the [`critical_value`](Self::critical_value) (z_{1−α/2}, or t_{ν,1−α/2}).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn conf_int(&self, alpha: f64) -> Result<Array2<f64>> {
        let crit = self.critical_values(alpha)?;
        Ok(self.intervals_from(|j| (crit[j], crit[j])))
    }
    /// Each coefficient's interval [θ̂_j − lower_j·se_j, θ̂_j + upper_j·se_j] on its
    /// [`interval_scales`](Self::interval_scales) (p × 2), for `critical(j)` =
    /// (lower_j, upper_j).
    pub(crate) fn intervals_from(&self, critical: impl Fn(usize) -> (f64, f64)) -> Array2<f64> {
        let se = self.se();
        let mut ci = Array2::zeros((self.theta.len(), 2));
        for j in 0..self.theta.len() {
            let (lower, upper) = critical(j);
            let [lo, hi] = self.interval_scales[j].interval(self.theta[j], se[j], lower, upper);
            ci[[j, 0]] = lo;
            ci[[j, 1]] = hi;
        }
        ci
    }
    /// The scale of each coefficient's interval: [`IntervalScale::Logit`] for a
    /// proportion (the mean of a 0/1 outcome), else [`IntervalScale::Identity`].
    pub fn interval_scales(&self) -> &[IntervalScale] {
        &self.interval_scales
    }
    /// The same estimate with these interval scales (one per coefficient; ignored
    /// otherwise). A logit interval needs 0 < θ̂_j < 1, else θ's own scale is used.
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::{Estimate, IntervalScale};
    /// let e = Estimate::new("e", "mean", vec!["mean".into()], array![0.08], array![[0.0025]], 50, 50)?
    ///     .with_t_df(49.0);
    /// let logit = e.clone().with_interval_scales(vec![IntervalScale::Logit]);
    /// let (wald, inside) = (e.conf_int(0.05)?, logit.conf_int(0.05)?);
    /// assert!(wald[[0, 0]] < 0.0 && inside[[0, 0]] > 0.0); // the Wald interval leaves (0, 1)
    /// assert_eq!(logit.p_values(), e.p_values());          // tests stay on θ's scale
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn with_interval_scales(mut self, scales: Vec<IntervalScale>) -> Self {
        if scales.len() == self.theta.len() {
            self.interval_scales = scales;
        }
        self
    }
    /// One-sided p-values for H₀: θ_j = 0 against θ_j > 0 ([`Alternative::Larger`],
    /// 1 − Φ(z_j)) or θ_j < 0 ([`Alternative::Smaller`], Φ(z_j)); two-sided for
    /// [`Alternative::TwoSided`]. F_ν replaces Φ with t quantiles.
    pub fn p_values_against(&self, alternative: Alternative) -> Array1<f64> {
        let z = self.z();
        (0..z.len())
            .map(|j| match alternative {
                Alternative::TwoSided => 2.0 * self.reference_cdf(j, -z[j].abs()),
                Alternative::Larger => self.reference_cdf(j, -z[j]),
                Alternative::Smaller => self.reference_cdf(j, z[j]),
            })
            .collect()
    }

    /// Confidence intervals at level 1 − α against an alternative: two-sided as
    /// [`conf_int`](Self::conf_int), or one-sided [θ̂ − z_{1−α} se, ∞) for
    /// [`Alternative::Larger`] and (−∞, θ̂ + z_{1−α} se] for [`Alternative::Smaller`]
    /// (ppi_py's `alternative='larger' | 'smaller'`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn conf_int_against(&self, alpha: f64, alternative: Alternative) -> Result<Array2<f64>> {
        if alternative == Alternative::TwoSided {
            return self.conf_int(alpha);
        }
        let crit = self.critical_values(2.0 * alpha)?;
        Ok(self.intervals_from(|j| match alternative {
            Alternative::Larger => (crit[j], f64::INFINITY),
            _ => (f64::INFINITY, crit[j]),
        }))
    }

    /// The Wald test of the linear restrictions Rθ = r: W = (Rθ̂ − r)ᵀ(RVRᵀ)⁻¹(Rθ̂ − r),
    /// asymptotically χ² with rank(R) degrees of freedom under H₀ (for instance "are
    /// these three coefficients zero?", with R selecting them and r = 0). With t
    /// quantiles (ν degrees of freedom) the p-value is that of W/q under F(q, ν), as
    /// statsmodels' `use_t` reports it.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless R is q × p and r has q entries;
    /// [`Error::SingularCovariance`] when RVRᵀ is singular (redundant restrictions).
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::Estimate;
    /// let e = Estimate::new("e", "ols", vec!["a".into(), "b".into()], array![1.0, 2.0], array![[0.25, 0.0], [0.0, 1.0]], 10, 10)?;
    /// let w = e.wald_test(array![[1.0, 0.0]].view(), array![0.0].view())?;
    /// assert!((w.statistic - 4.0).abs() < 1e-12); // (1 / 0.5)²
    /// assert_eq!(w.df, 1);
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn wald_test(
        &self,
        r: ArrayView2<'_, f64>,
        value: ArrayView1<'_, f64>,
    ) -> Result<WaldTest> {
        let p = self.theta.len();
        if r.ncols() != p || value.len() != r.nrows() || r.nrows() == 0 {
            return Err(Error::ShapeMismatch {
                what: "restriction entries (R is q × p, r has q)".into(),
                expected: r.nrows().max(1) * p,
                found: r.len() + value.len(),
            });
        }
        let diff = r.dot(&self.theta) - value;
        let middle = r.dot(&self.cov).dot(&r.t());
        let inv = crate::optim::spd_inverse(&middle).ok_or(Error::SingularCovariance {
            stage: Stage::Covariance,
        })?;
        let statistic = diff.dot(&inv.dot(&diff));
        let df = r.nrows();
        let denominator_df = self.wald_denominator_df(r);
        let p_value = match denominator_df {
            Some(nu) => FisherSnedecor::new(df as f64, nu)
                .map(|f| f.sf(statistic.max(0.0) / df as f64))
                .unwrap_or(f64::NAN),
            None => ChiSquared::new(df as f64)
                .map(|chi| chi.sf(statistic.max(0.0)))
                .unwrap_or(f64::NAN),
        };
        Ok(WaldTest {
            statistic,
            df,
            denominator_df,
            p_value,
        })
    }

    /// The denominator degrees of freedom of a Wald test of R: the smallest
    /// coefficient ν_j among the columns R restricts, else [`t_df`](Self::t_df).
    fn wald_denominator_df(&self, r: ArrayView2<'_, f64>) -> Option<f64> {
        let Some(dof) = &self.coefficient_df else {
            return self.t_df;
        };
        (0..dof.len())
            .filter(|&j| r.column(j).iter().any(|v| *v != 0.0))
            .map(|j| dof[j])
            .reduce(f64::min)
            .or(self.t_df)
    }

    /// The coefficient table's column headers of the statistic and its p-value:
    /// ("z", "P>|z|"), or ("t", "P>|t|") with t quantiles.
    pub fn statistic_labels(&self) -> (&'static str, &'static str) {
        match self.t_df {
            Some(_) => ("t", "P>|t|"),
            None => ("z", "P>|z|"),
        }
    }
    /// Number of rows T the estimator saw.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
    /// Number of labeled rows n.
    pub fn n_labeled(&self) -> usize {
        self.n_labeled
    }
    /// The coefficient table at level α, for display.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn table(&self, alpha: f64) -> Result<CoefficientTable<'_>> {
        normal_critical_value(alpha)?;
        Ok(CoefficientTable {
            estimate: self,
            alpha,
        })
    }
}

/// The alternative hypothesis of a test or the side of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Alternative {
    /// θ ≠ θ₀.
    #[default]
    TwoSided,
    /// θ > θ₀.
    Larger,
    /// θ < θ₀.
    Smaller,
}

/// A Wald test of linear restrictions (see [`Estimate::wald_test`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WaldTest {
    /// The statistic W.
    pub statistic: f64,
    /// Degrees of freedom (the number of restrictions q).
    pub df: usize,
    /// With Student-t inference, ν: the p-value is then that of W/q under F(q, ν).
    pub denominator_df: Option<f64>,
    /// χ²(q) upper-tail p-value of W (F(q, ν) of W/q with t inference).
    pub p_value: f64,
}

impl fmt::Display for Estimate {
    /// The estimator, model and sample sizes, the coefficient table at α = 0.05, and
    /// the notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}; T = {}, n = {}",
            self.estimator, self.model, self.n_rows, self.n_labeled
        )?;
        match self.t_df {
            Some(df) => writeln!(f, "; t quantiles with {df} df)")?,
            None => writeln!(f, ")")?,
        }
        write!(
            f,
            "{}",
            CoefficientTable {
                estimate: self,
                alpha: 0.05
            }
        )?;
        for note in &self.notes {
            writeln!(f, "Note: {note}.")?;
        }
        Ok(())
    }
}

/// Statsmodels-style coefficient rows: coef, std err, z, P>|z| and the interval.
#[derive(Debug, Clone, Copy)]
pub struct CoefficientTable<'a> {
    pub(crate) estimate: &'a Estimate,
    pub(crate) alpha: f64,
}

/// Width of printed summaries.
pub(crate) const WIDTH: usize = 78;

impl fmt::Display for CoefficientTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.estimate;
        let ci = e.conf_int(self.alpha).map_err(|_| fmt::Error)?;
        let (se, z, p) = (e.se(), e.z(), e.p_values());
        let lo = format!("[{}", trim_level(self.alpha / 2.0));
        let hi = format!("{}]", trim_level(1.0 - self.alpha / 2.0));
        let (stat, prob) = e.statistic_labels();
        writeln!(
            f,
            "{:<14}{:>10} {:>10} {:>9} {:>9} {:>11} {:>11}",
            "", "coef", "std err", stat, prob, lo, hi
        )?;
        writeln!(f, "{}", "-".repeat(WIDTH))?;
        for j in 0..e.theta.len() {
            let name: String = e
                .names
                .get(j)
                .map_or_else(|| format!("x{j}"), |n| n.chars().take(13).collect());
            writeln!(
                f,
                "{:<14}{:>10} {:>10} {:>9.3} {:>9.3} {:>11} {:>11}",
                name,
                number(e.theta[j], 4),
                number(se[j], 4),
                z[j],
                p[j],
                number(ci[[j, 0]], 4),
                number(ci[[j, 1]], 4)
            )?;
        }
        Ok(())
    }
}

/// A printed number: fixed with `decimals` decimals, or scientific with three when its
/// magnitude is 10⁵ or more or below 10⁻⁴ (not zero), as statsmodels' summaries do,
/// so that a coefficient in tiny or huge units keeps its column and its digits.
pub(crate) fn number(v: f64, decimals: usize) -> String {
    let magnitude = v.abs();
    if magnitude.is_finite() && (magnitude >= 1e5 || (magnitude > 0.0 && magnitude < 1e-4)) {
        format!("{v:.3e}")
    } else {
        format!("{v:.decimals$}")
    }
}

fn trim_level(q: f64) -> String {
    let s = format!("{q:.4}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

/// Hansen's J test of the overidentifying restrictions.
///
/// J = T ḡᵀWḡ with the step-2 weight is asymptotically χ²(df), df = rank(W) − q (= pM
/// normally). A small p-value says the labeled rows' auxiliary moments disagree with
/// the all-rows ones: the labeled rows are not a random sample of all rows (labeling not
/// at random), or known labeling probabilities are wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JTest {
    /// The statistic J.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// χ²(df) upper-tail p-value; `None` when df = 0 (just identified).
    pub p_value: Option<f64>,
}

impl JTest {
    pub(crate) fn new(statistic: f64, df: usize) -> Self {
        let p_value = (df > 0)
            .then(|| {
                ChiSquared::new(df as f64)
                    .ok()
                    .map(|chi| chi.sf(statistic.max(0.0)))
            })
            .flatten();
        // With no over-identifying restriction J is zero by construction; what the
        // arithmetic leaves is rounding.
        let statistic = if df == 0 { 0.0 } else { statistic };
        Self {
            statistic,
            df,
            p_value,
        }
    }
}

/// A p-value in a line of text: four decimals, or scientific below 1e-4.
///
/// ```
/// assert_eq!(synthgmm::format_p_value(0.0312), "0.0312");
/// assert_eq!(synthgmm::format_p_value(7.58e-30), "7.6e-30");
/// ```
pub fn format_p_value(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::array;

    #[test]
    fn numbers_in_tiny_or_huge_units_keep_their_digits() {
        assert_eq!(number(0.26331, 4), "0.2633");
        assert_eq!(number(-12_345.678, 4), "-12345.6780");
        assert_eq!(number(7.483_046_8e11, 4), "7.483e11");
        assert_eq!(number(-3.2e-7, 4), "-3.200e-7");
        assert_eq!(number(0.0, 4), "0.0000");
        assert_eq!(number(f64::INFINITY, 4), "inf");
    }

    /// θ̂ = (1.96, −1), se = (1, 0.5), uncorrelated.
    fn two_coefficients() -> Estimate {
        Estimate::new(
            "x",
            "ols",
            vec!["a".into(), "b".into()],
            array![1.96, -1.0],
            array![[1.0, 0.0], [0.0, 0.25]],
            10,
            5,
        )
        .unwrap()
    }

    /// Critical values down to [`MIN_ALPHA`] match scipy's `norm.isf(α/2)` and
    /// `t(ν).isf(α/2)` (values printed by scipy 1.x), and smaller α is refused.
    #[test]
    fn small_levels_have_accurate_critical_values() {
        assert_relative_eq!(
            normal_critical_value(1e-12).unwrap(),
            7.130_506_848_171_324,
            max_relative = 1e-12
        );
        #[rustfmt::skip]
        let scipy: [(f64, [f64; 4]); 9] = [
            (0.5, [164.557_673_480_488_46, 41_139_646.252_653_58, 4_113_964_625_265_359.0, 4.113_964_625_265_359_5e23]),
            (1.0, [12.706_204_736_174_705, 6_366.197_671_315_936, 63_661_977.236_758_13, 636_619_772_367.581_4]),
            (1.5, [6.016_663_104_427_933, 384.572_402_521_553_3, 178_503.343_500_473_27, 82_853_912.596_827_31]),
            (2.0, [4.302_652_729_749_464, 99.992_499_843_744_54, 9_999.999_924_999_998, 999_999.999_999_249_9]),
            (3.0, [3.182_446_305_283_708_6, 28.000_130_010_948_972, 604.164_895_818_610_4, 13_016.380_799_879_968]),
            (5.0, [2.570_581_835_636_315_5, 11.177_710_070_278_613, 71.693_502_769_820_87, 452.539_224_333_400_8]),
            (10.0, [2.228_138_851_986_275_3, 6.211_050_891_290_663, 17.076_428_951_025_196, 43.456_904_513_887_59]),
            (30.0, [2.042_272_456_301_238, 4.482_417_175_409_747, 7.820_264_654_681_272, 11.722_008_426_303_953]),
            (1000.0, [1.962_339_080_826_408_5, 3.906_343_736_701_382, 5.779_568_004_003_751, 7.223_954_586_794_167]),
        ];
        for (df, values) in scipy {
            let e = two_coefficients().with_t_df(df);
            for (alpha, expected) in [0.05, 1e-4, 1e-8, 1e-12].into_iter().zip(values) {
                let crit = e.critical_value(alpha).unwrap();
                assert_relative_eq!(crit, expected, max_relative = 1e-10);
            }
        }
        for alpha in [0.0, 1e-13, 1e-300, 1.0, f64::NAN] {
            assert!(two_coefficients().conf_int(alpha).is_err(), "{alpha}");
        }
    }

    /// With t(10) quantiles; reference values from scipy.stats (t.sf, t.ppf, f.sf).
    #[test]
    fn t_quantities_match_scipy() {
        let e = two_coefficients().with_t_df(10.0);
        assert_eq!(e.t_df(), Some(10.0));
        assert_eq!(e.statistic_labels(), ("t", "P>|t|"));
        // 2 t₁₀.sf(2) and t₁₀.sf(2)
        assert_relative_eq!(
            e.p_values()[1],
            0.073_388_034_770_740_37,
            max_relative = 1e-9
        );
        assert_relative_eq!(
            e.p_values_against(Alternative::Smaller)[1],
            0.036_694_017_385_370_18,
            max_relative = 1e-9
        );
        // t₁₀.ppf(0.95) = 1.8124611228116756
        let one_sided = e.conf_int_against(0.05, Alternative::Larger).unwrap();
        assert_relative_eq!(
            one_sided[[0, 0]],
            1.96 - 1.812_461_122_811_675_6,
            max_relative = 1e-9
        );
        // Both zero: W = 1.96² + 2², F(2, 10).sf(W / 2)
        let w = e
            .wald_test(Array2::eye(2).view(), array![0.0, 0.0].view())
            .unwrap();
        assert_relative_eq!(w.statistic, 1.96 * 1.96 + 4.0, max_relative = 1e-12);
        assert_eq!(w.denominator_df, Some(10.0));
        assert_relative_eq!(w.p_value, 0.055_313_483_190_605_8, max_relative = 1e-9);
        // A restriction on one coefficient: the F(1, ν) p-value is the two-sided t one.
        let single = e
            .wald_test(array![[0.0, 1.0]].view(), array![0.0].view())
            .unwrap();
        assert_relative_eq!(single.p_value, e.p_values()[1], max_relative = 1e-9);
        // An infinite or non-positive ν keeps the normal reference.
        assert_eq!(e.clone().with_t_df(f64::INFINITY).t_df(), None);
        assert_eq!(e.with_t_df(0.0).t_df(), None);
    }

    #[test]
    fn wald_quantities_match_closed_forms() {
        let e = two_coefficients();
        assert_relative_eq!(e.se()[1], 0.5);
        assert_relative_eq!(e.z()[1], -2.0);
        // 2Φ(−1.96) = 0.04999579 (standard normal table)
        assert_relative_eq!(e.p_values()[0], 0.049_995_790_296_4, max_relative = 1e-9);
        let ci = e.conf_int(0.05).unwrap();
        assert_relative_eq!(
            ci[[0, 0]],
            1.96 - 1.959_963_984_540_054,
            max_relative = 1e-9
        );
        assert!(e.conf_int(1.0).is_err());
    }

    #[test]
    fn j_test_p_value() {
        // χ²(2) survival function is exp(−x/2).
        let j = JTest::new(3.0, 2);
        assert_relative_eq!(j.p_value.unwrap(), (-1.5f64).exp(), max_relative = 1e-12);
        assert_eq!(JTest::new(0.0, 0).p_value, None);
        assert_eq!(JTest::new(2.4e-30, 0).statistic, 0.0);
    }
}
