//! Comparison estimators behind the common [`Estimator`](crate::Estimator) interface.
//!
//! | estimator | uses | valid when sources are biased? |
//! |---|---|---|
//! | [`RealOnly`] | labeled rows | yes |
//! | [`NaivePooled`] | labeled rows + every source row as if real | **no** |
//! | [`PpiPlusPlus`] | one source's predictions, power-tuned | yes |
//! | [`PpiSynth`] | proxy and synthetic mixed, α by cross-validation | yes |
//! | [`Dsl`] | one source's predictions, known π_t | yes |
//! | [`RePpi`] | sources' predictions recalibrated on labeled rows (cross-fitted), then PPI++ | yes |
//!
//! All return an [`Estimate`](crate::Estimate) with the same accessors as the GMM fit,
//! through [`Estimator::estimate`](crate::Estimator::estimate); those with more to
//! report also have an inherent `fit` (PPI++'s λ, the GMM's J test and η̂).
//! Clustered data ([`DataSourcesBuilder::clusters`](crate::DataSourcesBuilder::clusters))
//! get cluster-robust sandwiches everywhere; observation weights
//! ([`DataSourcesBuilder::weights`](crate::DataSourcesBuilder::weights)) are taken by
//! every estimator but RePPI (whose recalibration is unweighted), which refuses them
//! with [`Error::InvalidConfig`].

mod dsl;
pub(crate) mod mestimation;
mod naive;
mod ppi;
mod ppi_synth;
mod real_only;
mod reppi;
mod source_rows;

use crate::data::DataSources;
use crate::error::{Error, Result};

/// [`Error::InvalidConfig`] for data with observation weights, which `estimator` does
/// not take: ignoring them would answer another question.
pub(crate) fn refuse_weights(data: &DataSources, estimator: &str) -> Result<()> {
    match data.weights() {
        Some(_) => Err(Error::InvalidConfig {
            parameter: "weights",
            reason: format!("{estimator} does not take observation weights; real-only and GMM do"),
        }),
        None => Ok(()),
    }
}

pub use dsl::Dsl;
pub use naive::NaivePooled;
pub use ppi::{Lambda, PpiFit, PpiPlusPlus};
pub use ppi_synth::PpiSynth;
pub use real_only::RealOnly;
pub use reppi::{
    BinnedRecalibration, Features, LinearRecalibration, RePpi, Recalibrated, Recalibration,
};
