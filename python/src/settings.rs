//! The estimator settings, parsed from the strings the Python API takes.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use synthgmm::models::Quantile;
use synthgmm::{
    Alternative, Covariance, CrossWeights, DataSources, Error, SmallSample, StepOne, Weighting,
};

/// Settings of the GMM estimator, as given to `synthgmm.fit`.
#[derive(Debug, Clone, Copy)]
pub struct GmmSettings {
    pub covariance: Covariance,
    pub cross_weights: CrossWeights,
    pub weighting: Weighting,
    pub step_one: StepOne,
    pub small_sample: SmallSample,
}

/// `ValueError` naming the argument, the value and the accepted values.
fn unknown(argument: &str, value: &str, accepted: &[&str]) -> PyErr {
    PyValueError::new_err(format!(
        "unknown {argument} `{value}`; expected one of: {}",
        accepted.join(", ")
    ))
}

impl GmmSettings {
    pub fn parse(
        covariance: &str,
        cross_weights: &str,
        weighting: &str,
        step_one: &str,
        small_sample: &str,
    ) -> PyResult<Self> {
        Ok(Self {
            covariance: match covariance {
                "windmeijer" => Covariance::Windmeijer,
                "reestimated" | "standard" => Covariance::Reestimated,
                "step2" => Covariance::StepTwo,
                "sandwich" => Covariance::Sandwich,
                other => {
                    return Err(unknown(
                        "covariance",
                        other,
                        &["windmeijer", "reestimated", "step2", "sandwich"],
                    ))
                }
            },
            cross_weights: match cross_weights {
                "selected" => CrossWeights::Selected,
                "unrestricted" => CrossWeights::Unrestricted,
                other => {
                    return Err(unknown(
                        "cross_weights",
                        other,
                        &["selected", "unrestricted"],
                    ))
                }
            },
            weighting: match weighting {
                "two-step" => Weighting::TwoStep,
                "iterated" => Weighting::Iterated { max_rounds: 100 },
                "cue" => Weighting::ContinuouslyUpdated { max_iters: 100 },
                other => {
                    return Err(unknown(
                        "weighting",
                        other,
                        &["two-step", "iterated", "cue"],
                    ))
                }
            },
            step_one: match step_one {
                "per-block" => StepOne::PerBlock,
                "identity" => StepOne::Identity,
                other => return Err(unknown("step_one", other, &["per-block", "identity"])),
            },
            small_sample: match small_sample {
                "hc0" => SmallSample::Hc0,
                "hc1" => SmallSample::Hc1,
                "hc2" => SmallSample::Hc2,
                "hc3" => SmallSample::Hc3,
                "hc2-bm" => SmallSample::Hc2BellMcCaffrey,
                other => {
                    return Err(unknown(
                        "small_sample",
                        other,
                        &["hc0", "hc1", "hc2", "hc3", "hc2-bm"],
                    ))
                }
            },
        })
    }
}

/// The name `covariance=` takes for a covariance.
pub fn covariance_name(c: Covariance) -> &'static str {
    match c {
        Covariance::Windmeijer => "windmeijer",
        Covariance::Reestimated => "reestimated",
        Covariance::StepTwo => "step2",
        Covariance::Sandwich => "sandwich",
        other => other.name(),
    }
}

/// ppi_py's names for the alternative hypothesis.
pub fn alternative(name: &str) -> PyResult<Alternative> {
    match name {
        "two-sided" => Ok(Alternative::TwoSided),
        "larger" => Ok(Alternative::Larger),
        "smaller" => Ok(Alternative::Smaller),
        other => Err(unknown(
            "alternative",
            other,
            &["two-sided", "larger", "smaller"],
        )),
    }
}

/// The built-in moment conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelName {
    Ols,
    Logistic,
    Poisson,
    Mean,
    Quantile,
}

impl ModelName {
    pub fn parse(name: &str) -> PyResult<Self> {
        match name {
            "ols" => Ok(Self::Ols),
            "logistic" => Ok(Self::Logistic),
            "poisson" => Ok(Self::Poisson),
            "mean" => Ok(Self::Mean),
            "quantile" => Ok(Self::Quantile),
            other => Err(unknown(
                "model",
                other,
                &["ols", "logistic", "poisson", "mean", "quantile"],
            )),
        }
    }

    /// The model on these data: the quantiles take their levels and their bandwidths
    /// from the labeled outcomes.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when levels are missing for `quantile` or given for
    /// another model, and the quantile model's own errors.
    pub fn on(self, quantiles: Option<&[f64]>, data: &DataSources) -> Result<Model, Error> {
        let stray = |reason: &str| Error::InvalidConfig {
            parameter: "quantiles",
            reason: reason.to_string(),
        };
        match (self, quantiles) {
            (ModelName::Quantile, None) => Err(stray("model=\"quantile\" needs the levels")),
            (ModelName::Quantile, Some(levels)) => {
                Ok(Model::Quantile(Quantile::new(levels, data.real_y())?))
            }
            (_, Some(_)) => Err(stray("the levels apply to model=\"quantile\"")),
            (ModelName::Ols, None) => Ok(Model::Ols),
            (ModelName::Logistic, None) => Ok(Model::Logistic),
            (ModelName::Poisson, None) => Ok(Model::Poisson),
            (ModelName::Mean, None) => Ok(Model::Mean),
        }
    }
}

/// A built-in moment condition ready to fit.
#[derive(Debug, Clone)]
pub enum Model {
    Ols,
    Logistic,
    Poisson,
    Mean,
    Quantile(Quantile),
}

/// One estimator asked for: its kind and, optionally, the sources it uses
/// (`"ppi:synth"`, `"gmm:proxy,synth"`); without them it takes the first source(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimatorSpec {
    pub kind: EstimatorKind,
    pub sources: Option<Vec<String>>,
}

/// The estimators of the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstimatorKind {
    Gmm,
    RealOnly,
    Naive,
    Ppi,
    PpiSynth,
    Dsl,
    RePpi,
}

impl EstimatorSpec {
    pub fn parse(text: &str) -> PyResult<Self> {
        let (kind, sources) = match text.split_once(':') {
            Some((kind, list)) => (
                kind,
                Some(list.split(',').map(|s| s.trim().to_string()).collect()),
            ),
            None => (text, None),
        };
        let kind = match kind {
            "gmm" => EstimatorKind::Gmm,
            "real-only" => EstimatorKind::RealOnly,
            "naive" => EstimatorKind::Naive,
            "ppi" => EstimatorKind::Ppi,
            "ppi-synth" => EstimatorKind::PpiSynth,
            "dsl" => EstimatorKind::Dsl,
            "reppi" => EstimatorKind::RePpi,
            other => {
                return Err(unknown(
                    "estimator",
                    other,
                    &[
                        "gmm",
                        "real-only",
                        "naive",
                        "ppi",
                        "ppi-synth",
                        "dsl",
                        "reppi",
                    ],
                ))
            }
        };
        if kind == EstimatorKind::RealOnly && sources.is_some() {
            return Err(PyValueError::new_err(
                "estimator `real-only` takes no sources",
            ));
        }
        Ok(Self { kind, sources })
    }
}
