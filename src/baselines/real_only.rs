//! Real-only: the labeled rows alone, the M = 0 case of the two-step estimator.

use crate::data::DataSources;
use crate::error::Result;
use crate::estimator::Estimator;
use crate::gmm::TwoStepGmm;
use crate::inference::Estimate;
use crate::moment::MomentModel;

/// The real-only estimator: θ̂ solves Σ_{labeled} ψ(θ; x_t, y_t) = 0, with the HC0
/// sandwich covariance J⁻¹(Σ ψψᵀ)J⁻ᵀ. It is [`TwoStepGmm`] with every source dropped,
/// so the two can never disagree.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{baselines::RealOnly, models::Ols, DataSources, Estimator};
/// let x = array![[1.0], [1.0], [1.0], [1.0]];
/// let y = array![1.0, 3.0, f64::NAN, 100.0];
/// let proxy = array![0.0, 0.0, 0.0, 0.0];
/// let data = DataSources::builder(&[true, true, false, false])
///     .real(&x, &y).source("proxy", &x, &proxy).build()?;
/// assert_eq!(RealOnly::new(Ols).estimate(&data)?.theta()[0], 2.0); // mean of labeled y
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RealOnly<M> {
    gmm: TwoStepGmm<M>,
}

impl<M: MomentModel> RealOnly<M> {
    /// Real-only estimation of `model` with default settings.
    pub fn new(model: M) -> Self {
        Self {
            gmm: TwoStepGmm::new(model),
        }
    }
    /// Real-only estimation with the settings of `gmm`.
    pub fn from_gmm(gmm: TwoStepGmm<M>) -> Self {
        Self { gmm }
    }
}

impl<M: MomentModel> Estimator for RealOnly<M> {
    fn name(&self) -> String {
        "Real-only".to_string()
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        let real = data.select_sources(&[])?;
        Ok(self
            .gmm
            .fit(&real)?
            .into_estimate()
            .with_estimator(self.name()))
    }
}
