//! The integration tests, one module per area, compiled into one test binary.
//!
//! One binary instead of one per file: the library's generic code is instantiated and
//! linked once. Modules that need an optional feature are compiled with it only.

mod common;

mod baselines;
mod bootstrap;
#[cfg(feature = "sim")]
mod climate_stance;
mod clusters;
#[cfg(feature = "sim")]
mod default_validity;
#[cfg(feature = "sim")]
mod diagnostics;
mod engine;
mod errors;
mod few_events;
mod fixed_effects;
mod influence;
mod iterated;
mod iv;
#[cfg(feature = "sim")]
mod j_test;
mod labeling_designs;
mod labeling_probabilities;
#[cfg(feature = "sim")]
mod low_labeling;
mod models;
mod multiple_testing;
#[cfg(feature = "parquet")]
mod out_of_core;
mod outcomes;
#[cfg(feature = "sim")]
mod plan;
#[cfg(feature = "sim")]
mod politeness;
mod properties;
mod proportion;
mod quantile;
mod real_only_small_sample;
mod reference;
mod reppi;
mod robustness;
#[cfg(feature = "sim")]
mod serialization;
#[cfg(feature = "sim")]
mod sim;
mod small_sample;
mod source_units;
#[cfg(feature = "sim")]
mod validity;
mod weights;
mod windmeijer;
