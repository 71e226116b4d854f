//! Estimators, models and settings chosen by name: the one translation from the
//! strings a front end takes (`"ols"`, `"ppi:gpt"`, `"hc2-bm"`) to the library's types,
//! shared by the Python and R packages so that every front end accepts the same names
//! and fits the same estimator for them.
//!
//! ```
//! use ndarray::{array, Array1};
//! use synthgmm::named::{self, BuiltinModel, EstimatorSpec, Settings};
//! use synthgmm::DataSources;
//!
//! let x = array![[1.0, 0.1], [1.0, 0.9], [1.0, 0.4], [1.0, 0.7], [1.0, 0.2], [1.0, 0.5]];
//! let y = array![0.3, 1.9, 0.7, 1.5, 0.5, 1.0];
//! let labeled = Array1::from(vec![true; 6]);
//! let data = DataSources::builder(labeled.view()).real(x.view(), y.view()).build()?;
//! let model: BuiltinModel = "ols".parse::<named::ModelName>()?.on(None, &data)?;
//! let specs = [EstimatorSpec::parse("real-only")?];
//! let fits = named::run_all(&data, &model, &specs, Settings::default(), false);
//! let (name, fit) = &fits[0];
//! assert_eq!(name, "Real-only");
//! assert!(fit.as_ref().unwrap().estimate().se()[1] > 0.0);
//! # Ok::<(), synthgmm::Error>(())
//! ```

use std::str::FromStr;

use crate::baselines::{Dsl, NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
use crate::models::{LinearIv, Logistic, Mean, Ols, Poisson, Quantile};
use crate::{
    Alternative, Bootstrap, BootstrapFit, Covariance, CrossWeights, DataSources, Error, Estimate,
    Estimator, GmmFit, MomentModel, OnSources, Plan, SmallSample, SourceDiagnostic, StepOne,
    TwoStepGmm, Weighting,
};

/// [`Error::InvalidConfig`] naming the argument, the value and the accepted names.
fn unknown(parameter: &'static str, value: &str, accepted: &[&str]) -> Error {
    Error::InvalidConfig {
        parameter,
        reason: format!(
            "unknown {parameter} `{value}`; expected one of: {}",
            accepted.join(", ")
        ),
    }
}

/// A choice a front end takes by name: the names it accepts, each with a one-line
/// help, in the order the documentation lists them. The command line's values and
/// their help, and the Python and R packages' names, all come from here.
pub trait Choice: FromStr<Err = Error> + Sized {
    /// (name, help) pairs.
    const CHOICES: &'static [(&'static str, &'static str)];

    /// The first name that parses to this value (its canonical name).
    fn choice_name(&self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::CHOICES
            .iter()
            .map(|&(name, _)| name)
            .find(|name| name.parse::<Self>().is_ok_and(|v| &v == self))
            .unwrap_or_default()
    }
}

/// Declares a choice's names once: `FromStr`, [`Choice`] and the list of names.
macro_rules! names {
    ($ty:ty, $parameter:literal, $($name:literal => $value:expr; $help:literal),+ $(,)?) => {
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(text: &str) -> Result<Self, Error> {
                match text {
                    $($name => Ok($value),)+
                    other => Err(unknown($parameter, other, <$ty>::NAMES)),
                }
            }
        }
        impl $ty {
            /// The names this choice accepts, in the order the documentation lists them.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
        }
        impl Choice for $ty {
            const CHOICES: &'static [(&'static str, &'static str)] = &[$(($name, $help)),+];
        }
    };
}

names!(Covariance, "covariance",
    "windmeijer" => Covariance::Windmeijer; "Windmeijer's finite-sample correction",
    "reestimated" => Covariance::Reestimated;
        "Ω re-estimated at the final estimate (statsmodels' default)",
    "standard" => Covariance::Reestimated; "the same as reestimated",
    "step2" => Covariance::StepTwo; "the step-2 weight matrix's Ω",
    "sandwich" => Covariance::Sandwich; "the sandwich for the weight used",
);
names!(CrossWeights, "cross_weights",
    "selected" => CrossWeights::Selected;
        "per coefficient, the candidate with the smallest estimated MSE (the default)",
    "unrestricted" => CrossWeights::Unrestricted; "the paper's unrestricted two-step GMM",
);
names!(Weighting, "weighting",
    "two-step" => Weighting::TwoStep; "two-step GMM: W = Ω̂(step 1)⁻¹ (the method's estimator)",
    "iterated" => Weighting::Iterated { max_rounds: 100 };
        "iterated GMM: W re-estimated until the estimate stops moving",
    "cue" => Weighting::ContinuouslyUpdated { max_iters: 100 };
        "continuously updated GMM: W moves with the parameters",
);
names!(StepOne, "step_one",
    "per-block" => StepOne::PerBlock; "each block fitted on its own rows (unit-free)",
    "identity" => StepOne::Identity;
        "the identity-weighted textbook first step (statsmodels, R's gmm)",
);
names!(SmallSample, "small_sample",
    "hc0" => SmallSample::Hc0;
        "no leverage correction, normal quantiles (the asymptotic form; ppi_py's)",
    "hc1" => SmallSample::Hc1; "the factor n/(n − p), t(n − p) quantiles",
    "hc2" => SmallSample::Hc2; "labeled real moments over √(1 − h), t(n − p) quantiles",
    "hc3" => SmallSample::Hc3; "labeled real moments over 1 − h, t(n − p) quantiles",
    "hc2-bm" => SmallSample::Hc2BellMcCaffrey;
        "HC2 with each coefficient's Bell–McCaffrey degrees of freedom (the default)",
);
names!(Alternative, "alternative",
    "two-sided" => Alternative::TwoSided; "θ ≠ θ₀",
    "larger" => Alternative::Larger; "θ > θ₀",
    "smaller" => Alternative::Smaller; "θ < θ₀",
);
names!(crate::Adjustment, "adjustment",
    "bonferroni" => crate::Adjustment::Bonferroni; "min(1, m p): the family-wise error rate",
    "holm" => crate::Adjustment::Holm;
        "Holm's step-down: the family-wise error rate, never above Bonferroni",
    "bh" => crate::Adjustment::BenjaminiHochberg; "Benjamini–Hochberg: the false discovery rate",
    "single-step" => crate::Adjustment::SingleStep;
        "single-step max-|t| from the joint distribution of the t statistics",
);
names!(crate::BootstrapInterval, "bootstrap interval",
    "percentile" => crate::BootstrapInterval::Percentile; "quantiles of the replicates' estimates",
    "studentized" => crate::BootstrapInterval::Studentized; "bootstrap-t, one quantile per tail",
    "symmetric" => crate::BootstrapInterval::Symmetric; "symmetric bootstrap-t: θ̂ ± q(|t*|) se",
);
#[cfg(feature = "sim")]
names!(crate::sim::SimModel, "simulation model",
    "ols" => crate::sim::SimModel::Ols; "y = xᵀθ + ε, ε ~ N(0, 1)",
    "logistic" => crate::sim::SimModel::Logistic; "y ~ Bernoulli(σ(xᵀθ))",
);
names!(ModelName, "model",
    "ols" => ModelName::Ols; "least squares",
    "logistic" => ModelName::Logistic; "logistic regression",
    "poisson" => ModelName::Poisson; "Poisson regression",
    "mean" => ModelName::Mean; "the outcome's mean",
    "quantile" => ModelName::Quantile; "quantiles of the outcome",
    "iv" => ModelName::Iv; "linear instrumental variables (two-stage least squares moments)",
);
impl crate::sql::SqlModel {
    /// The crate's model with the same moments.
    pub fn model(self) -> ModelName {
        match self {
            crate::sql::SqlModel::Ols => ModelName::Ols,
            crate::sql::SqlModel::Logistic => ModelName::Logistic,
            crate::sql::SqlModel::Poisson => ModelName::Poisson,
            crate::sql::SqlModel::Iv => ModelName::Iv,
        }
    }

    /// The name of the crate's model with the same moments (`"ols"`, `"logistic"`,
    /// `"poisson"`, `"iv"`).
    pub fn name(self) -> &'static str {
        self.model().choice_name()
    }
}

names!(crate::sql::SqlModel, "SQL model",
    "ols" => crate::sql::SqlModel::Ols; "least squares",
    "logistic" => crate::sql::SqlModel::Logistic; "logistic regression",
    "poisson" => crate::sql::SqlModel::Poisson; "Poisson regression",
    "iv" => crate::sql::SqlModel::Iv; "linear instrumental variables (the table's extra columns as instruments)",
);
names!(EstimatorKind, "estimator",
    "gmm" => EstimatorKind::Gmm; "the two-step GMM with every source",
    "real-only" => EstimatorKind::RealOnly; "the labeled rows alone",
    "naive" => EstimatorKind::Naive; "real and source rows pooled as if all were real (biased)",
    "ppi" => EstimatorKind::Ppi; "PPI++ with the first source",
    "ppi-synth" => EstimatorKind::PpiSynth; "PPI++Synth with the first two sources",
    "dsl" => EstimatorKind::Dsl; "DSL with the first source",
    "reppi" => EstimatorKind::RePpi; "RePPI with the first source",
);

/// The name [`Covariance`]'s `FromStr` takes for it (the first of its names).
pub fn covariance_name(c: Covariance) -> &'static str {
    match c {
        Covariance::Windmeijer => "windmeijer",
        Covariance::Reestimated => "reestimated",
        Covariance::StepTwo => "step2",
        Covariance::Sandwich => "sandwich",
    }
}

/// The settings of the GMM estimator, each parsed from its name; the default is the
/// library's default estimator.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Settings {
    /// Covariance of the final estimator.
    pub covariance: Covariance,
    /// Selected or unrestricted cross weights.
    pub cross_weights: CrossWeights,
    /// Two-step, iterated or continuously updated weighting.
    pub weighting: Weighting,
    /// The first step's weight matrix.
    pub step_one: StepOne,
    /// The small-sample correction (also that of every baseline).
    pub small_sample: SmallSample,
}

impl Settings {
    /// The settings from their names.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first unknown name and the accepted ones.
    pub fn parse(
        covariance: &str,
        cross_weights: &str,
        weighting: &str,
        step_one: &str,
        small_sample: &str,
    ) -> Result<Self, Error> {
        Ok(Self {
            covariance: covariance.parse()?,
            cross_weights: cross_weights.parse()?,
            weighting: weighting.parse()?,
            step_one: step_one.parse()?,
            small_sample: small_sample.parse()?,
        })
    }

    /// The GMM estimator with these settings.
    pub fn gmm<M: MomentModel>(&self, model: M) -> TwoStepGmm<M> {
        TwoStepGmm::new(model)
            .covariance(self.covariance)
            .cross_weights(self.cross_weights)
            .weighting(self.weighting)
            .step_one(self.step_one)
            .small_sample(self.small_sample)
    }
}

/// The built-in moment conditions, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelName {
    /// Least squares.
    Ols,
    /// Logistic regression.
    Logistic,
    /// Poisson regression.
    Poisson,
    /// The mean.
    Mean,
    /// Quantiles at given levels.
    Quantile,
    /// Linear instrumental variables ([`LinearIv`]).
    Iv,
}

/// What a named model takes besides the rows: the levels of `quantile`, and for `iv`
/// the covariates that are exogenous (by name: they instrument themselves) and the
/// excluded instruments (extra columns of the data set, by name).
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelArgs<'a> {
    /// The levels of `quantile`.
    pub quantiles: Option<&'a [f64]>,
    /// `iv`'s exogenous covariates, by name.
    pub exogenous: &'a [String],
    /// `iv`'s excluded instruments, by the name of their extra column.
    pub instruments: &'a [String],
}

impl ModelName {
    /// Whether the model reads covariates: the mean and quantiles are of the outcome
    /// alone (their design is a column of ones).
    pub fn reads_covariates(self) -> bool {
        !matches!(self, ModelName::Mean | ModelName::Quantile)
    }

    /// The model on these data: quantiles take their levels, and their bandwidths from
    /// the labeled outcomes.
    ///
    /// # Errors
    /// As [`ModelName::with`].
    pub fn on(self, quantiles: Option<&[f64]>, data: &DataSources) -> Result<BuiltinModel, Error> {
        let args = ModelArgs {
            quantiles,
            ..ModelArgs::default()
        };
        self.with(args, data)
    }

    /// The model on these data, with what it takes besides the rows.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when levels are missing for `quantile`, instruments
    /// for `iv`, an exogenous name is not a covariate, or levels or instruments are
    /// given to another model; the quantile model's own errors.
    pub fn with(self, args: ModelArgs<'_>, data: &DataSources) -> Result<BuiltinModel, Error> {
        let stray = |parameter: &'static str, reason: &str| Error::InvalidConfig {
            parameter,
            reason: reason.to_string(),
        };
        let iv_args = !args.exogenous.is_empty() || !args.instruments.is_empty();
        if self != ModelName::Iv && iv_args {
            return Err(stray(
                "instruments",
                "instruments and exogenous covariates apply to model=\"iv\"",
            ));
        }
        match (self, args.quantiles) {
            (ModelName::Quantile, None) => {
                Err(stray("quantiles", "model=\"quantile\" needs the levels"))
            }
            (ModelName::Quantile, Some(levels)) => Ok(BuiltinModel::Quantile(Quantile::new(
                levels,
                data.real_y(),
            )?)),
            (_, Some(_)) => Err(stray("quantiles", "the levels apply to model=\"quantile\"")),
            (ModelName::Iv, None) => Ok(BuiltinModel::LinearIv(iv_model(args, data)?)),
            (ModelName::Ols, None) => Ok(BuiltinModel::Ols),
            (ModelName::Logistic, None) => Ok(BuiltinModel::Logistic),
            (ModelName::Poisson, None) => Ok(BuiltinModel::Poisson),
            (ModelName::Mean, None) => Ok(BuiltinModel::Mean),
        }
    }
}

/// The linear IV model of `args`: the exogenous covariates found among the data's
/// covariate names.
fn iv_model(args: ModelArgs<'_>, data: &DataSources) -> Result<LinearIv, Error> {
    let invalid =
        |parameter: &'static str, reason: String| Error::InvalidConfig { parameter, reason };
    if args.instruments.is_empty() {
        return Err(invalid(
            "instruments",
            "model=\"iv\" needs the excluded instruments (extra columns, by name)".into(),
        ));
    }
    let names = data.covariate_names();
    let exogenous = args
        .exogenous
        .iter()
        .map(|name| {
            names.iter().position(|c| c == name).ok_or_else(|| {
                invalid(
                    "exogenous",
                    format!(
                        "`{name}` is not a covariate; the covariates are: {}",
                        names.join(", ")
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LinearIv::new(exogenous, args.instruments.iter().cloned()))
}

/// A built-in moment condition ready to fit.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BuiltinModel {
    /// Least squares.
    Ols,
    /// Logistic regression.
    Logistic,
    /// Poisson regression.
    Poisson,
    /// The mean.
    Mean,
    /// Quantiles with their bandwidths.
    Quantile(Quantile),
    /// Linear instrumental variables.
    LinearIv(LinearIv),
}

impl BuiltinModel {
    /// The weak-instrument diagnostics of a linear IV model on these data (see
    /// [`LinearIv::weak_instruments`]); `None` for the other models.
    pub fn weak_instruments(
        &self,
        data: &DataSources,
        alpha: f64,
    ) -> Option<Result<crate::models::WeakInstruments, Error>> {
        match self {
            BuiltinModel::LinearIv(iv) => Some(iv.weak_instruments(data, alpha)),
            _ => None,
        }
    }
}

/// Calls `$body` with `$m` bound to the concrete model of a [`BuiltinModel`].
macro_rules! on_model {
    ($model:expr, |$m:ident| $body:expr) => {
        match $model {
            BuiltinModel::Ols => {
                let $m = Ols;
                $body
            }
            BuiltinModel::Logistic => {
                let $m = Logistic;
                $body
            }
            BuiltinModel::Poisson => {
                let $m = Poisson;
                $body
            }
            BuiltinModel::Mean => {
                let $m = Mean;
                $body
            }
            BuiltinModel::Quantile(q) => {
                let $m = q.clone();
                $body
            }
            BuiltinModel::LinearIv(iv) => {
                let $m = iv.clone();
                $body
            }
        }
    };
}

/// The estimators of the library, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EstimatorKind {
    /// The GMM estimator (the default settings: selected cross weights).
    Gmm,
    /// The labeled rows alone.
    RealOnly,
    /// Every row pooled as if it were real.
    Naive,
    /// PPI++ on one proxy source.
    Ppi,
    /// PPI++ on a proxy and a synthetic source.
    PpiSynth,
    /// Design-based supervised learning.
    Dsl,
    /// Recalibrated PPI.
    RePpi,
}

impl EstimatorKind {
    /// The label of its errors and tables.
    pub fn label(self) -> &'static str {
        match self {
            EstimatorKind::Gmm => "GMM",
            EstimatorKind::RealOnly => "real-only",
            EstimatorKind::Naive => "naive pooling",
            EstimatorKind::Ppi => "PPI++",
            EstimatorKind::PpiSynth => "PPI++Synth",
            EstimatorKind::Dsl => "DSL",
            EstimatorKind::RePpi => "RePPI",
        }
    }

    /// Whether it fits data whose sources stay in their files
    /// ([`DataSources::is_out_of_core`](crate::DataSources::is_out_of_core)): the GMM,
    /// real-only, PPI++, PPI++Synth and DSL; naive pooling and RePPI read the sources'
    /// rows as arrays.
    pub fn reads_out_of_core(self) -> bool {
        !matches!(self, EstimatorKind::Naive | EstimatorKind::RePpi)
    }

    /// The sources it needs, and the sources it takes when none are named, of
    /// `available` ones.
    pub fn sources_needed(self, available: usize) -> (usize, usize) {
        match self {
            EstimatorKind::Gmm => (0, available),
            EstimatorKind::RealOnly => (0, 0),
            EstimatorKind::Naive => (1, available.max(1)),
            EstimatorKind::PpiSynth => (2, 2),
            _ => (1, 1),
        }
    }
}

/// One estimator asked for: its kind and, optionally, the sources it uses
/// (`"ppi:synth"`, `"gmm:proxy,synth"`); without them it takes the first source(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimatorSpec {
    /// The estimator.
    pub kind: EstimatorKind,
    /// The sources named after the colon.
    pub sources: Option<Vec<String>>,
}

impl EstimatorSpec {
    /// The estimator from `kind` or `kind:source,source`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown kind or sources given to real-only.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let (kind, sources) = match text.split_once(':') {
            Some((kind, list)) => (
                kind,
                Some(list.split(',').map(|s| s.trim().to_string()).collect()),
            ),
            None => (text, None),
        };
        let kind: EstimatorKind = kind.parse()?;
        if kind == EstimatorKind::RealOnly && sources.is_some() {
            return Err(Error::InvalidConfig {
                parameter: "estimator",
                reason: "estimator `real-only` takes no sources".to_string(),
            });
        }
        Ok(Self { kind, sources })
    }

    /// The sources it runs on: the named ones, else the first it needs.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when fewer sources than it needs are available.
    pub fn sources_on(&self, data: &DataSources) -> Result<Vec<String>, Error> {
        let all = data.source_names();
        let (needed, taken) = self.kind.sources_needed(all.len());
        let names = self
            .sources
            .clone()
            .unwrap_or_else(|| all.iter().take(taken).cloned().collect());
        if names.len() < needed {
            return Err(Error::InvalidConfig {
                parameter: "estimators",
                reason: format!(
                    "{} needs {needed} source(s), {} given",
                    self.kind.label(),
                    names.len()
                ),
            });
        }
        Ok(names)
    }

    /// The display name of the GMM on these sources.
    fn gmm_name(sources: &[String]) -> String {
        match sources.is_empty() {
            true => "GMM".to_string(),
            false => format!("GMM ({})", sources.join(" + ")),
        }
    }
}

/// A shareable estimator, as the bootstrap runs it.
pub type SharedEstimator = Box<dyn Estimator + Send + Sync>;

/// The estimator a kind names on these sources, with these settings; the GMM sees
/// only the named sources.
fn estimator_of<M: MomentModel + Clone + Send + Sync + 'static>(
    model: M,
    kind: EstimatorKind,
    names: Vec<String>,
    settings: Settings,
) -> SharedEstimator {
    match baseline(model.clone(), kind, names.clone(), settings.small_sample) {
        Some(estimator) => estimator,
        None => Box::new(OnSources::new("GMM", settings.gmm(model), names)),
    }
}

/// The baseline a kind names (`None` for the GMM) on the sources `names` (at least
/// [`EstimatorKind::sources_needed`] of them), in the small-sample form `small`: the one
/// table from names to estimators the front ends share.
///
/// # Panics
/// When `names` holds fewer sources than the kind needs.
pub fn baseline<M: MomentModel + Clone + Send + Sync + 'static>(
    model: M,
    kind: EstimatorKind,
    names: Vec<String>,
    small: SmallSample,
) -> Option<SharedEstimator> {
    let first = || names[0].clone();
    let estimator: SharedEstimator = match kind {
        EstimatorKind::Gmm => return None,
        EstimatorKind::RealOnly => Box::new(RealOnly::new(model).small_sample(small)),
        EstimatorKind::Naive => Box::new(NaivePooled::new(model, names).small_sample(small)),
        EstimatorKind::Ppi => Box::new(PpiPlusPlus::new(model, first()).small_sample(small)),
        EstimatorKind::Dsl => Box::new(Dsl::new(model, first()).small_sample(small)),
        EstimatorKind::RePpi => Box::new(RePpi::new(model, names).small_sample(small)),
        EstimatorKind::PpiSynth => {
            Box::new(PpiSynth::new(model, first(), names[1].clone()).small_sample(small))
        }
    };
    Some(estimator)
}

/// One estimator's result: the GMM keeps its full fit (J test, effective sample
/// size, summary, diagnostics); the baselines their estimate.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The GMM's fit, and the sources' diagnostics when asked for.
    Gmm {
        /// The fit.
        fit: Box<GmmFit>,
        /// Each source's diagnostics.
        diagnostics: Option<Vec<SourceDiagnostic>>,
    },
    /// A baseline's estimate.
    Baseline(Box<Estimate>),
}

impl Outcome {
    /// The estimate, whichever the estimator.
    pub fn estimate(&self) -> &Estimate {
        match self {
            Outcome::Gmm { fit, .. } => fit.estimate(),
            Outcome::Baseline(e) => e,
        }
    }
}

/// Runs every requested estimator on the data, each with its display name and result
/// (an estimator that fails does not stop the others).
pub fn run_all(
    data: &DataSources,
    model: &BuiltinModel,
    specs: &[EstimatorSpec],
    settings: Settings,
    diagnose: bool,
) -> Vec<(String, Result<Outcome, Error>)> {
    specs
        .iter()
        .map(|spec| on_model!(model, |m| run_one(m, data, spec, settings, diagnose)))
        .collect()
}

/// One requested estimator on the data.
fn run_one<M: MomentModel + Clone + Send + Sync + 'static>(
    model: M,
    data: &DataSources,
    spec: &EstimatorSpec,
    settings: Settings,
    diagnose: bool,
) -> (String, Result<Outcome, Error>) {
    let names = match spec.sources_on(data) {
        Ok(names) => names,
        Err(err) => return (spec.kind.label().to_string(), Err(err)),
    };
    if spec.kind == EstimatorKind::Gmm {
        let name = EstimatorSpec::gmm_name(&names);
        return (name, fit_gmm(settings.gmm(model), data, &names, diagnose));
    }
    let e = estimator_of(model, spec.kind, names, settings);
    let estimate = e.estimate(data).map(|e| Outcome::Baseline(Box::new(e)));
    (e.name(), estimate)
}

/// The GMM estimator on the named sources.
fn fit_gmm<M: MomentModel>(
    estimator: TwoStepGmm<M>,
    data: &DataSources,
    sources: &[String],
    diagnose: bool,
) -> Result<Outcome, Error> {
    let selected;
    let data = if sources == data.source_names().as_slice() {
        data
    } else {
        let names: Vec<&str> = sources.iter().map(String::as_str).collect();
        selected = data.select_sources(&names)?;
        &selected
    };
    if diagnose {
        let report = estimator.diagnose(data)?;
        return Ok(Outcome::Gmm {
            fit: Box::new(report.fit),
            diagnostics: Some(report.sources),
        });
    }
    Ok(Outcome::Gmm {
        fit: Box::new(estimator.fit(data)?),
        diagnostics: None,
    })
}

/// A planning model from pilot data, with the GMM settings given.
///
/// # Errors
/// The GMM fit's errors on the pilot.
pub fn plan(data: &DataSources, model: &BuiltinModel, s: Settings) -> Result<Plan, Error> {
    on_model!(model, |m| s.gmm(m).plan(data))
}

/// The estimator a spec names, on its sources, as the bootstrap runs it.
///
/// # Errors
/// [`Error::InvalidConfig`] when fewer sources than it needs are available.
pub fn estimator_for(
    data: &DataSources,
    model: &BuiltinModel,
    spec: &EstimatorSpec,
    s: Settings,
) -> Result<SharedEstimator, Error> {
    let names = spec.sources_on(data)?;
    Ok(on_model!(model, |m| estimator_of(m, spec.kind, names, s)))
}

/// The bootstrap of one requested estimator (the same estimator, sources and settings
/// as [`run_all`] fits).
///
/// # Errors
/// [`estimator_for`]'s and the bootstrap's errors.
pub fn bootstrap(
    data: &DataSources,
    model: &BuiltinModel,
    spec: &EstimatorSpec,
    settings: Settings,
    boot: Bootstrap,
) -> Result<BootstrapFit, Error> {
    boot.run(estimator_for(data, model, spec, settings)?.as_ref(), data)
}

/// The influence on each row (each cluster) of one requested estimator's fit, `outcome`
/// as [`run_all`] returned it, for joint inference across outcomes: the GMM's from its
/// fit (no refit), real-only's from a refit; `None` for the estimators that give none
/// (see [`Estimator::estimate_with_influence`]).
///
/// # Errors
/// [`estimator_for`]'s and the fit's errors.
pub fn influence(
    data: &DataSources,
    model: &BuiltinModel,
    (spec, settings): (&EstimatorSpec, Settings),
    outcome: &Outcome,
) -> Result<Option<crate::RowInfluence>, Error> {
    match (outcome, spec.kind) {
        (Outcome::Gmm { fit, .. }, _) => {
            on_model!(model, |m| settings.gmm(m).influence(data, fit))
        }
        (_, EstimatorKind::RealOnly) => {
            let estimator = estimator_for(data, model, spec, settings)?;
            Ok(estimator.estimate_with_influence(data)?.1)
        }
        _ => Ok(None),
    }
}

names!(crate::labeling::Allocation, "design",
    "uniform" => crate::labeling::Allocation::Uniform; "every row alike: π = n/T",
    "stratified" => crate::labeling::Allocation::Stratified;
        "constant within strata, Neyman's allocation from the pilot",
    "active" => crate::labeling::Allocation::Active;
        "row by row, in proportion to the forecast size of the row's influence value",
);

/// A labeling design from a pilot: the GMM's predicted variance under the model.
///
/// # Errors
/// The design's errors (see [`Labeling::plan`](crate::labeling::Labeling::plan)).
pub fn design(
    labeling: &crate::labeling::Labeling,
    data: &DataSources,
    model: &BuiltinModel,
    x: ndarray::ArrayView2<'_, f64>,
) -> Result<crate::labeling::LabelingPlan, Error> {
    on_model!(model, |m| labeling.plan(&TwoStepGmm::new(m), data, x))
}

/// The name of the covariance a GMM fit reports: the requested one's
/// (`windmeijer`, `reestimated`, ...), or `selected-hc2-bm` (`-hc0`, `-hc3`) for the
/// selected cross weights' own formula.
pub fn covariance_label(fit: &GmmFit) -> String {
    match fit.final_estimator() {
        crate::FinalEstimator::Selected { small_sample } => {
            format!("selected-{}", small_sample.name().to_lowercase())
        }
        other => other
            .covariance()
            .map_or_else(String::new, |c| covariance_name(c).to_string()),
    }
}

/// The estimator a plan predicts, by name: `"gmm"`, `"real-only"`, or `"ppi"` /
/// `"ppi:NAME"` (the pilot's first source by default).
///
/// # Errors
/// [`Error::InvalidConfig`] for another name or a source the pilot does not have.
pub fn planned(plan: &Plan, estimator: &str) -> Result<crate::Planned, Error> {
    use crate::Planned;
    let invalid = |reason: String| Error::InvalidConfig {
        parameter: "estimator",
        reason,
    };
    let (kind, source) = match estimator.split_once(':') {
        Some((kind, source)) => (kind, Some(source.trim())),
        None => (estimator, None),
    };
    match (kind, source) {
        ("gmm", None) => Ok(Planned::Gmm),
        ("real-only", None) => Ok(Planned::RealOnly),
        ("ppi", None) => Ok(Planned::PpiPlusPlus(0)),
        ("ppi", Some(name)) => plan
            .sources()
            .iter()
            .position(|s| s == name)
            .map(Planned::PpiPlusPlus)
            .ok_or_else(|| {
                invalid(format!(
                    "the pilot has no source `{name}`; it has: {}",
                    plan.sources().join(", ")
                ))
            }),
        _ => Err(invalid(format!(
            "unknown estimator `{estimator}` for planning; expected one of: gmm, real-only, ppi, ppi:SOURCE"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn round_trip<T: Choice + PartialEq + std::fmt::Debug>() {
        for &(name, _) in T::CHOICES {
            let value: T = name.parse().unwrap();
            let canonical = value.choice_name();
            assert_eq!(
                canonical.parse::<T>().unwrap(),
                value,
                "{name} → {canonical}"
            );
        }
    }

    #[test]
    fn each_value_has_one_canonical_name() {
        round_trip::<ModelName>();
        round_trip::<Covariance>();
        round_trip::<CrossWeights>();
        round_trip::<Weighting>();
        round_trip::<StepOne>();
        round_trip::<SmallSample>();
        round_trip::<EstimatorKind>();
        round_trip::<crate::sql::SqlModel>();
        assert_eq!(ModelName::Iv.choice_name(), "iv");
        // An alias gives way to the first name of its value.
        assert_eq!(
            "standard".parse::<Covariance>().unwrap().choice_name(),
            "reestimated"
        );
        assert_eq!(crate::sql::SqlModel::Logistic.name(), "logistic");
    }

    fn with_instrument() -> DataSources {
        let t = 40;
        let z = Array1::from_shape_fn(t, |i| ((i * 7) % 11) as f64 - 5.0);
        let d = Array1::from_shape_fn(t, |i| z[i] + ((i * 3) % 5) as f64);
        let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { d[i] });
        let y = Array1::from_shape_fn(t, |i| 1.0 + 2.0 * d[i] + ((i * 13) % 7) as f64 - 3.0);
        DataSources::builder(vec![true; t].as_slice())
            .real(&x, &y)
            .column("z", &z)
            .covariate_names(["const", "d"])
            .build()
            .unwrap()
    }

    #[test]
    fn the_iv_models_arguments_are_checked() {
        let data = with_instrument();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (exogenous, instruments) = (names(&["const"]), names(&["z"]));
        let args = |exogenous, instruments| ModelArgs {
            quantiles: None,
            exogenous,
            instruments,
        };
        let refused = |name: ModelName, a: ModelArgs<'_>, parameter: &str| match name.with(a, &data)
        {
            Err(Error::InvalidConfig { parameter: p, .. }) => assert_eq!(p, parameter),
            other => panic!("{other:?}"),
        };
        refused(ModelName::Iv, args(&exogenous, &[]), "instruments");
        let unknown = names(&["w"]);
        refused(ModelName::Iv, args(&unknown, &instruments), "exogenous");
        refused(ModelName::Ols, args(&[], &instruments), "instruments");
        let model = ModelName::Iv
            .with(args(&exogenous, &instruments), &data)
            .unwrap();
        assert!(matches!(model, BuiltinModel::LinearIv(_)));
        let weak = model.weak_instruments(&data, 0.05).unwrap().unwrap();
        assert_eq!(weak.first_stage.len(), 1);
        assert!(weak.anderson_rubin_set.is_some());
        assert!(weak
            .describe(data.covariate_names())
            .contains("first stage of d"));
        assert!(BuiltinModel::Ols.weak_instruments(&data, 0.05).is_none());
    }
}
