//! Real-only: the labeled rows alone, the M = 0 case of the two-step estimator.

use crate::data::DataSources;
use crate::error::Result;
use crate::estimator::Estimator;
use crate::gmm::{SmallSample, TwoStepGmm};
use crate::inference::Estimate;
use crate::influence::RowInfluence;
use crate::moment::MomentModel;

/// The real-only estimator: θ̂ solves Σ_{labeled} ψ(θ; x_t, y_t) = 0 (it is
/// [`TwoStepGmm`] with every source dropped, so the two can never disagree), with the
/// sandwich covariance J⁻¹(Σ s_t²ψψᵀ)J⁻ᵀ in the small-sample form of
/// [`small_sample`](Self::small_sample): by default HC2 (s_t = (1 − h_t)^(−1/2), h_t
/// the leverage) with Student-t quantiles on each coefficient's Bell–McCaffrey degrees
/// of freedom, the same default as the GMM's selected weights, so that comparisons are
/// like for like. For least squares HC0–HC3 are statsmodels'
/// `OLS(...).fit(cov_type='HC0'…'HC3', use_t=True)` (t(n − p) quantiles).
/// With clusters the covariance is the GMM's cluster-robust one (a note says so); an
/// over-identified model (linear IV) keeps the efficient GMM covariance.
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
    /// Real-only estimation of `model` with default settings (HC2, t quantiles).
    pub fn new(model: M) -> Self {
        Self::from_gmm(TwoStepGmm::new(model))
    }
    /// Real-only estimation with the settings of `gmm`, its small-sample form included.
    pub fn from_gmm(gmm: TwoStepGmm<M>) -> Self {
        Self { gmm }
    }
    /// The small-sample form of the covariance: HC0 (normal quantiles), HC1, HC2, HC3
    /// with t(n − p) quantiles, or HC2 with Bell–McCaffrey quantiles (the default).
    pub fn small_sample(mut self, small_sample: SmallSample) -> Self {
        self.gmm = self.gmm.small_sample(small_sample);
        self
    }
}

impl<M: MomentModel> Estimator for RealOnly<M> {
    fn name(&self) -> String {
        "Real-only".to_string()
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        let real = data.select_sources(&[])?;
        self.reported(&real, self.gmm.fit(&real)?)
    }

    fn estimate_with_influence(
        &self,
        data: &DataSources,
    ) -> Result<(Estimate, Option<RowInfluence>)> {
        let real = data.select_sources(&[])?;
        let fit = self.gmm.fit(&real)?;
        let influence = self.gmm.influence(&real, &fit)?;
        Ok((self.reported(&real, fit)?, influence))
    }
}

impl<M: MomentModel> RealOnly<M> {
    /// The fit on the labeled rows alone (`real`, without sources) in the small-sample
    /// form asked for: the GMM's fit has it already under the selected estimator's
    /// settings, else it is formed here, by the same code.
    fn reported(&self, real: &DataSources, fit: crate::GmmFit) -> Result<Estimate> {
        let fit = match self.gmm.reports_as_real_only() {
            true => fit,
            false => self.gmm.reported_as_real_only(real, fit)?,
        };
        Ok(fit.into_estimate().with_estimator(self.name()))
    }
}
