//! The [`Estimator`] trait: one interface for the GMM estimator and every baseline.

use crate::data::DataSources;
use crate::error::Result;
use crate::gmm::TwoStepGmm;
use crate::inference::Estimate;
use crate::influence::RowInfluence;
use crate::moment::MomentModel;

/// Anything that turns [`DataSources`] into an [`Estimate`] of θ.
///
/// Implemented by [`TwoStepGmm`] and by every baseline in [`baselines`](crate::baselines),
/// so that code such as a Monte-Carlo study or a comparison table can hold a
/// `Vec<Box<dyn Estimator + Send + Sync>>` and run them all on the same data.
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::baselines::{NaivePooled, RealOnly};
/// use synthgmm::{models::Ols, DataSources, Estimator, OnSources, TwoStepGmm};
///
/// let t = 300;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.3).sin() });
/// let e = Array1::from_shape_fn(t, |i| (i as f64 * 1.3).cos());
/// let y = 1.0 + &x.column(1) + &e;
/// let proxy = 1.0 + &x.column(1) + 0.9 * &e;
/// let labeled: Vec<bool> = (0..t).map(|i| i % 5 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()?;
///
/// let estimators: Vec<Box<dyn Estimator>> = vec![
///     Box::new(RealOnly::new(Ols)),
///     Box::new(NaivePooled::new(Ols, ["proxy"])),
///     Box::new(OnSources::new("GMM-Proxy", TwoStepGmm::new(Ols), ["proxy"])),
/// ];
/// for est in &estimators {
///     let e = est.estimate(&data)?;
///     assert_eq!(e.estimator(), est.name());
///     assert_eq!(e.theta().len(), 2);
/// }
/// # Ok::<(), synthgmm::Error>(())
/// ```
pub trait Estimator {
    /// A short display name, e.g. `"PPI++ (proxy)"`.
    fn name(&self) -> String;

    /// Estimates θ from the data.
    ///
    /// # Errors
    /// Whatever the estimator's own fit returns.
    fn estimate(&self, data: &DataSources) -> Result<Estimate>;

    /// The estimate and its influence on each row (each cluster with clustered rows),
    /// θ̂ − θ ≈ Σ_u φ_u, for inference joint with other estimates on the same rows (see
    /// [`RowInfluence`] and [`OutcomeFits`](crate::OutcomeFits)); `None` beside the
    /// estimate where the estimator does not provide it (the default) or cannot (rows
    /// an engine sums).
    ///
    /// # Errors
    /// As [`estimate`](Self::estimate).
    fn estimate_with_influence(
        &self,
        data: &DataSources,
    ) -> Result<(Estimate, Option<RowInfluence>)> {
        Ok((self.estimate(data)?, None))
    }
}

impl<M: MomentModel> Estimator for TwoStepGmm<M> {
    fn name(&self) -> String {
        "GMM".to_string()
    }

    /// The fit's estimate, named by the sources it used: `GMM (proxy + synth)`.
    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        let fit = self.fit(data)?;
        Ok(self.named(fit))
    }

    fn estimate_with_influence(
        &self,
        data: &DataSources,
    ) -> Result<(Estimate, Option<RowInfluence>)> {
        let fit = self.fit(data)?;
        let influence = self.influence(data, &fit)?;
        Ok((self.named(fit), influence))
    }
}

impl<M: MomentModel> TwoStepGmm<M> {
    /// The fit's estimate, named by the sources it used.
    fn named(&self, fit: crate::GmmFit) -> Estimate {
        let name = match fit.source_names() {
            [] => self.name(),
            sources => format!("{} ({})", self.name(), sources.join(" + ")),
        };
        fit.into_estimate().with_estimator(name)
    }
}

/// Runs an estimator on a subset of the sources, under its own name: for example
/// `OnSources::new("GMM-Proxy", TwoStepGmm::new(Ols), ["proxy"])`.
#[derive(Debug, Clone)]
pub struct OnSources<E> {
    name: String,
    inner: E,
    sources: Vec<String>,
}

impl<E> OnSources<E> {
    /// `inner` will see only the named sources, in this order.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        inner: E,
        sources: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            inner,
            sources: sources.into_iter().map(Into::into).collect(),
        }
    }
}

impl<E: Estimator> Estimator for OnSources<E> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        Ok(self
            .inner
            .estimate(&self.subset(data)?)?
            .with_estimator(self.name.clone()))
    }

    fn estimate_with_influence(
        &self,
        data: &DataSources,
    ) -> Result<(Estimate, Option<RowInfluence>)> {
        let (estimate, influence) = self.inner.estimate_with_influence(&self.subset(data)?)?;
        Ok((estimate.with_estimator(self.name.clone()), influence))
    }
}

impl<E> OnSources<E> {
    /// The data with the named sources only, in this estimator's order.
    fn subset(&self, data: &DataSources) -> Result<DataSources> {
        let names: Vec<&str> = self.sources.iter().map(String::as_str).collect();
        data.select_sources(&names)
    }
}
