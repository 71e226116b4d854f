//! The estimator settings: the names the Python API takes are the library's own
//! (`synthgmm::named`), parsed there; here they become Python exceptions.

use pyo3::prelude::*;
use std::str::FromStr;

use crate::errors::to_py_err;

pub use synthgmm::named::{
    BuiltinModel as Model, EstimatorSpec, ModelArgs, ModelName, Settings as GmmSettings,
};

/// A choice parsed from its name; an unknown name raises `InvalidConfigError` (a
/// `ValueError`) listing the accepted ones.
pub fn parse<T: FromStr<Err = synthgmm::Error>>(name: &str) -> PyResult<T> {
    name.parse().map_err(|e| to_py_err(&e))
}
