//! The crate's error type.

use std::fmt;

/// Which column of a data source a problem was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Column {
    /// The outcome `y`.
    Outcome,
    /// Covariate number `j` (zero-based) of `x`.
    Covariate(usize),
    /// The named extra column.
    Extra(String),
    /// The labeling probability π_t.
    LabelingProbability,
    /// The observation (survey) weight w_t.
    Weight,
    /// The label indicator S_t.
    Label,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Outcome => write!(f, "outcome"),
            Column::Covariate(j) => write!(f, "covariate {j}"),
            Column::Extra(name) => write!(f, "column `{name}`"),
            Column::LabelingProbability => write!(f, "labeling probability"),
            Column::Weight => write!(f, "weight"),
            Column::Label => write!(f, "label indicator"),
        }
    }
}

/// Which optimisation a problem arose in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Stage {
    /// Step 1 (identity weight), for the named block (`real` or a source name).
    StepOne {
        /// The block being fitted.
        block: String,
    },
    /// Step 2 (efficient weight), all parameters jointly.
    StepTwo,
    /// Covariance estimation at the final estimate.
    Covariance,
    /// A baseline estimator's own fit.
    Baseline {
        /// The baseline's name.
        estimator: String,
    },
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::StepOne { block } => write!(f, "step 1 ({block})"),
            Stage::StepTwo => write!(f, "step 2"),
            Stage::Covariance => write!(f, "covariance estimation"),
            Stage::Baseline { estimator } => write!(f, "{estimator}"),
        }
    }
}

/// Everything that can go wrong when building data or fitting an estimator.
#[derive(Debug, Clone, PartialEq, thiserror::Error, strum::IntoStaticStr)]
#[non_exhaustive]
pub enum Error {
    /// An input has a different number of rows than the label mask.
    #[error("length mismatch: {what} has {found} rows, the label mask has {expected}")]
    LengthMismatch {
        /// The offending input, e.g. "outcome of source `proxy`".
        what: String,
        /// Number of rows of the label mask (T).
        expected: usize,
        /// Number of rows found.
        found: usize,
    },
    /// A source has a different number of covariates than the real data.
    #[error("source `{source_name}` has {found} covariates, the real data have {expected}")]
    CovariateMismatch {
        /// The source.
        source_name: String,
        /// Number of real covariates (p).
        expected: usize,
        /// Number found.
        found: usize,
    },
    /// The real data have no covariate column.
    #[error("the design has no covariate column")]
    EmptyDesign,
    /// A NaN or infinite value where the estimator uses the value.
    #[error("non-finite value {value} in `{source_name}`, {column}, row {row}")]
    NonFinite {
        /// `real` or the source name.
        source_name: String,
        /// The column.
        column: Column,
        /// First offending row (zero-based).
        row: usize,
        /// The value found.
        value: f64,
    },
    /// A value the model cannot accept, e.g. a logistic outcome outside [0, 1].
    #[error("invalid value {shown} in `{source_name}`, {column}, row {row}: {reason}", shown = short_number(*.value))]
    InvalidValue {
        /// `real` or the source name.
        source_name: String,
        /// The column.
        column: Column,
        /// First offending row (zero-based).
        row: usize,
        /// The value found.
        value: f64,
        /// What the model requires.
        reason: &'static str,
    },
    /// No row is labeled.
    #[error("no row is labeled: at least one human-labeled row is required")]
    NoLabeledRows,
    /// Every row is labeled, but the estimator needs unlabeled rows.
    #[error("{estimator} needs unlabeled rows, but every row is labeled")]
    NoUnlabeledRows {
        /// The estimator's name.
        estimator: String,
    },
    /// An estimator needs a source the data do not have.
    #[error("{estimator} needs a source named `{name}`")]
    MissingSource {
        /// The estimator's name.
        estimator: String,
        /// The missing source.
        name: String,
    },
    /// Too few labeled rows: at least one more than the coefficients per block.
    #[error("{labeled} labeled rows, at least {required} are needed (one more than the coefficients, so that a variance can be estimated)")]
    TooFewLabeled {
        /// Labeled rows found (n).
        labeled: usize,
        /// Minimum required (p).
        required: usize,
    },
    /// `build()` was called without real data.
    #[error("no real data: call `.real(x, y)` on the builder")]
    MissingRealData,
    /// Two sources share a name.
    #[error("two sources are named `{name}`")]
    DuplicateSource {
        /// The repeated name.
        name: String,
    },
    /// A design (or Jacobian) is rank-deficient: the coefficients are not identified,
    /// exactly or to rounding (a covariate whose spread is tiny against its level,
    /// beside an intercept, is collinear with it numerically).
    #[error("collinear design in `{block}`: the coefficients are not identified (two covariates, or a covariate and the intercept, agree to rounding; a covariate whose spread is tiny against its level, such as a timestamp, needs centering)")]
    Collinear {
        /// `real`, a source name, or `stacked` for the joint step-2 problem.
        block: String,
    },
    /// Logistic data are (quasi-)separated: the maximum-likelihood estimate does not exist.
    #[error("separation in `{block}`: some covariate combination predicts the outcome perfectly, the estimate diverges")]
    Separation {
        /// `real` or a source name.
        block: String,
    },
    /// Ω̂ is singular and the configuration forbids the pseudo-inverse fallback; or the
    /// step-1 weight of an over-identified block is (its moments are linearly dependent
    /// on its rows, e.g. an instrument that duplicates an exogenous covariate).
    #[error("singular weight matrix at {stage}: numerical rank {rank} of {dim}")]
    SingularWeight {
        /// Where it happened.
        stage: Stage,
        /// Numerical rank.
        rank: usize,
        /// Dimension of Ω̂.
        dim: usize,
    },
    /// The optimiser did not reach the tolerance in the allowed iterations.
    #[error("no convergence at {stage} after {iterations} iterations")]
    NotConverged {
        /// Where it happened.
        stage: Stage,
        /// Iterations run.
        iterations: usize,
    },
    /// GᵀWG (or the bread of a sandwich) is singular: no covariance can be formed.
    #[error("singular covariance at {stage}: the parameters are not locally identified")]
    SingularCovariance {
        /// Where it happened.
        stage: Stage,
    },
    /// A [`MomentModel`](crate::MomentModel) declares or returns arrays of the wrong
    /// shape.
    #[error("model `{model}`: {what} has shape {found}, expected {expected}")]
    ModelDimension {
        /// The model's name.
        model: String,
        /// What has the wrong shape (`Jacobian`, `starting value`, `moment count`, …).
        what: &'static str,
        /// The shape expected.
        expected: String,
        /// The shape found.
        found: String,
    },
    /// The data lack an extra column the model reads, or a block lacks a column the
    /// others have.
    #[error("`{block}` has no column `{column}`")]
    MissingColumn {
        /// `real` or a source name.
        block: String,
        /// The column.
        column: String,
    },
    /// A just-identified estimator was given an over-identified model.
    #[error("{estimator} needs as many moments as parameters; model `{model}` has {moments} moments for {params} parameters")]
    OverIdentified {
        /// The estimator.
        estimator: String,
        /// The model.
        model: String,
        /// Moments per block (k).
        moments: usize,
        /// Parameters per block (p).
        params: usize,
    },
    /// Arrays handed to a constructor disagree in shape.
    #[error("shape mismatch: {found} {what} where {expected} were expected")]
    ShapeMismatch {
        /// What was counted.
        what: String,
        /// Expected count.
        expected: usize,
        /// Count found.
        found: usize,
    },
    /// An estimator produced something that is not a valid estimate (a non-finite value
    /// or a variance that is not positive); it is reported rather than returned.
    #[error("{estimator} produced {what}: the data do not support this estimate")]
    InvalidEstimate {
        /// The estimator.
        estimator: String,
        /// What was wrong.
        what: String,
    },
    /// The model fits the labeled outcomes exactly: their sampling variance is zero and
    /// no interval can be formed.
    #[error("the model fits the outcomes of `{block}` exactly: no residual variation is left to estimate a standard error from")]
    PerfectFit {
        /// `real` or a source name.
        block: String,
    },
    /// One labeled row alone determines part of the real fit (its leverage is 1): e.g.
    /// the only labeled row at one level of a binary covariate. Its residual is zero
    /// whatever its outcome, so nothing measures the variance of what it determines.
    #[error("labeled row {row} alone determines part of the fit of `{block}` (its leverage is 1, e.g. the only labeled row at one level of a binary covariate): its residual is zero whatever its outcome and no standard error exists for what it determines; label more rows where that covariate varies, or leave the covariate out")]
    SingleRowFit {
        /// `real`.
        block: String,
        /// The row (an index into the data set's rows).
        row: usize,
    },
    /// A data file could not be read (missing, not the expected format, a column of the
    /// wrong type, or failing while a pass reads it).
    #[error("cannot read `{path}`: {reason}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The estimator or setting reads every row of the sources at once, and the data are
    /// kept out of memory (see [`DataSources::is_out_of_core`](crate::DataSources::is_out_of_core)).
    #[error("{what} needs the data in memory: load them with `DataSourcesBuilder` instead")]
    NeedsInMemory {
        /// The estimator or setting.
        what: String,
    },
    /// Fewer than half of the bootstrap's replicates could be fitted (resamples with a
    /// collinear or separated labeled design): its quantiles would describe a
    /// selected minority of the resamples.
    #[error("the estimator failed on {failed} of {replicates} bootstrap replicates")]
    BootstrapFailed {
        /// Replicates the estimator could not fit.
        failed: usize,
        /// Replicates drawn.
        replicates: usize,
    },
    /// A level of a fixed effect has exactly one labeled row: the effect absorbs that
    /// row entirely and leaves nothing to estimate from it.
    #[error("fixed effect {effect}: {levels} level(s) with one labeled row (first at row {row}); label another row of each, merge levels, or drop those rows")]
    FixedEffectSingleton {
        /// The effect (0 for the first given).
        effect: usize,
        /// How many levels have one labeled row.
        levels: usize,
        /// The first such row (0-based, of the T rows).
        row: usize,
    },
    /// No labeled outcome lies on one side of a quantile's sample estimate: the level
    /// is too extreme for the labeled rows (n·q < 1, say), or the outcome piles up at
    /// that value (a binary or coarse outcome), so neither the quantile's estimating
    /// equation nor the density its standard error needs can be estimated there.
    #[error("quantile level {level}: none of the {labeled} labeled outcomes lies {side} the sample quantile {shown}; the level is too extreme for the labeled rows or the outcome piles up there (a discrete outcome), so no density can be estimated: choose a level further from 0 and 1, or label more rows", shown = short_number(*.value))]
    QuantileUnsupported {
        /// The level q.
        level: f64,
        /// Labeled rows n.
        labeled: usize,
        /// `below` or `above`.
        side: &'static str,
        /// The labeled outcomes' sample quantile at q.
        value: f64,
    },
    /// A covariate is constant within the fixed effects' levels (an intercept, a trait
    /// of the unit): the effects absorb it and its coefficient is not identified.
    #[error("covariate `{covariate}` of `{block}` is absorbed by the fixed effects (constant within their levels); drop it")]
    AbsorbedCovariate {
        /// `real` or a source name.
        block: String,
        /// The covariate.
        covariate: String,
    },
    /// The alternating projections of several fixed effects did not converge.
    #[error("the fixed effects' alternating projections did not converge in {sweeps} sweeps (weakly connected levels)")]
    FixedEffectsNotConverged {
        /// Sweeps run.
        sweeps: usize,
    },
    /// Fixed effects were absorbed from data fitted with a model whose estimating
    /// equation the within transformation does not preserve (only least squares and
    /// linear IV).
    #[error("model `{model}` cannot absorb fixed effects: only least squares and linear IV can")]
    FixedEffectsModel {
        /// The model.
        model: String,
    },
    /// An invalid configuration value.
    #[error("invalid `{parameter}`: {reason}")]
    InvalidConfig {
        /// The setting.
        parameter: &'static str,
        /// Why it is invalid.
        reason: String,
    },
}

/// Shorthand for `std::result::Result<T, synthgmm::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// A number as error messages print it: plainly between 1e-4 and 1e15 in magnitude,
/// in exponent form beyond (so that 1e150 is not 151 digits).
pub(crate) fn short_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

impl Error {
    /// The same error with the row it names renumbered by `f` (errors that name no row
    /// are unchanged): a front end counting rows from 1, or a batch's rows mapped to
    /// the table's.
    ///
    /// ```
    /// use synthgmm::{Column, Error};
    /// let err = Error::NonFinite { source_name: "real".into(), column: Column::Outcome, row: 4, value: f64::NAN };
    /// assert!(matches!(err.map_row(|r| r + 1), Error::NonFinite { row: 5, .. }));
    /// assert!(matches!(Error::NoLabeledRows.map_row(|r| r + 1), Error::NoLabeledRows));
    /// ```
    pub fn map_row(self, f: impl FnOnce(usize) -> usize) -> Error {
        match self {
            Error::NonFinite {
                source_name,
                column,
                row,
                value,
            } => Error::NonFinite {
                source_name,
                column,
                row: f(row),
                value,
            },
            Error::InvalidValue {
                source_name,
                column,
                row,
                value,
                reason,
            } => Error::InvalidValue {
                source_name,
                column,
                row: f(row),
                value,
                reason,
            },
            Error::SingleRowFit { block, row } => Error::SingleRowFit { block, row: f(row) },
            Error::FixedEffectSingleton {
                effect,
                levels,
                row,
            } => Error::FixedEffectSingleton {
                effect,
                levels,
                row: f(row),
            },
            other => other,
        }
    }

    /// The variant's name (`"Collinear"`, `"InvalidConfig"` …): the class of the error a
    /// front end raises for it.
    ///
    /// ```
    /// let err = synthgmm::Error::NoLabeledRows;
    /// assert_eq!(err.kind(), "NoLabeledRows");
    /// ```
    pub fn kind(&self) -> &'static str {
        self.into()
    }
}
