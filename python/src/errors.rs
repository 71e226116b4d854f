//! Python exceptions mirroring [`synthgmm::Error`]: one class per variant, all
//! subclasses of `SynthGmmError`, itself a `ValueError` (bad data and unsupported
//! estimates are value problems to a Python caller). The message is the Rust one.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use synthgmm::Error;

create_exception!(
    synthgmm,
    SynthGmmError,
    PyValueError,
    "Base class of every error raised by synthgmm's estimators and data checks."
);

/// Declares the per-variant exceptions and the table that registers them.
macro_rules! variant_exceptions {
    ($($variant:ident => $class:ident: $doc:literal),* $(,)?) => {
        $(create_exception!(synthgmm, $class, SynthGmmError, $doc);)*

        /// The Python exception for one Rust error, carrying its message.
        pub fn to_py_err(err: &Error) -> PyErr {
            let message = err.to_string();
            match err {
                $(Error::$variant { .. } => $class::new_err(message),)*
                _ => SynthGmmError::new_err(message),
            }
        }

        /// Adds `SynthGmmError` and every subclass to the module.
        pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            m.add("SynthGmmError", py.get_type::<SynthGmmError>())?;
            $(m.add(stringify!($class), py.get_type::<$class>())?;)*
            Ok(())
        }
    };
}

variant_exceptions! {
    LengthMismatch => LengthMismatchError: "An input has a different number of rows than the label mask.",
    CovariateMismatch => CovariateMismatchError: "A source has a different number of covariates than the real data.",
    EmptyDesign => EmptyDesignError: "The design has no covariate column.",
    NonFinite => NonFiniteError: "A NaN or infinite value where a finite one is needed.",
    InvalidValue => InvalidValueError: "A value outside the model's domain (e.g. a logistic outcome outside [0, 1]).",
    NoLabeledRows => NoLabeledRowsError: "No row is labeled.",
    NoUnlabeledRows => NoUnlabeledRowsError: "The estimator needs unlabeled rows and every row is labeled.",
    MissingSource => MissingSourceError: "The estimator needs a source the data do not have.",
    TooFewLabeled => TooFewLabeledError: "Too few labeled rows to estimate a variance.",
    MissingRealData => MissingRealDataError: "No real data were given.",
    DuplicateSource => DuplicateSourceError: "Two sources have the same name.",
    Collinear => CollinearError: "Collinear design: the coefficients are not identified.",
    Separation => SeparationError: "Separation in logistic data: the estimate diverges.",
    SingularWeight => SingularWeightError: "The GMM weight matrix is singular.",
    NotConverged => NotConvergedError: "The iterations did not converge.",
    SingularCovariance => SingularCovarianceError: "The covariance is singular: parameters not locally identified.",
    ModelDimension => ModelDimensionError: "A moment model returned arrays of the wrong shape.",
    MissingColumn => MissingColumnError: "A model needs a column the data do not have.",
    OverIdentified => OverIdentifiedError: "The estimator needs a just-identified model.",
    ShapeMismatch => ShapeMismatchError: "An argument has the wrong shape.",
    InvalidEstimate => InvalidEstimateError: "The estimate is not finite: the data do not support it.",
    PerfectFit => PerfectFitError: "The model fits the outcomes exactly: no residual variation is left.",
    SingleRowFit => SingleRowFitError: "One labeled row alone determines part of the fit (leverage 1): no standard error exists for it.",
    QuantileUnsupported => QuantileUnsupportedError: "No labeled outcome lies on one side of a quantile: the level is too extreme or the outcome discrete there.",
    InvalidConfig => InvalidConfigError: "An invalid setting.",
    Read => ReadError: "The data could not be read: a file, or a query that failed.",
    NeedsInMemory => NeedsInMemoryError: "The estimator or setting needs the rows in memory, not in a file or a database.",
}
