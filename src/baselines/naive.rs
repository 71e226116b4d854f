//! Naive pooling: auxiliary rows treated as if they were real. Biased by design.

use crate::baselines::mestimation::{fit_weighted_rows, sandwich};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::Estimate;
use crate::model_report::as_the_model_reports;
use crate::moment::{moment_matrix, MomentModel};
use crate::rows::RowBlock;
use crate::small_sample::SmallSample;
use ndarray::Array1;

/// The naive pooled estimator: one M-estimation on the labeled real rows stacked with
/// every row of the chosen sources, with the sandwich of that pooled sample in the
/// small-sample form of [`small_sample`](Self::small_sample) (HC2 and t quantiles on
/// the pooled count less p by default, as if every pooled row were a labeled one).
///
/// **It is biased** whenever a source differs systematically from the real data (a
/// model that over-predicts, an LLM that exaggerates an effect), and its intervals,
/// narrow because they count every synthetic row as a real observation, then miss the
/// truth almost surely. It is here to show what the valid estimators protect against.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{baselines::NaivePooled, models::Ols, DataSources, Estimator};
/// let x = array![[1.0], [1.0], [1.0], [1.0]];
/// let y = array![1.0, 2.0, f64::NAN, f64::NAN];
/// let proxy = array![2.0, 3.0, 2.0, 3.0]; // over-predicts
/// let data = DataSources::builder(&[true, true, false, false]).real(&x, &y).source("proxy", &x, &proxy).build()?;
/// // The pooled mean of {1, 2, 2, 3, 2, 3}.
/// assert!((NaivePooled::new(Ols, ["proxy"]).estimate(&data)?.theta()[0] - 13.0 / 6.0).abs() < 1e-12);
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NaivePooled<M> {
    model: M,
    sources: Vec<String>,
    small_sample: SmallSample,
}

impl<M: MomentModel> NaivePooled<M> {
    /// Pools the labeled real rows with every row of the named sources.
    pub fn new<S: Into<String>>(model: M, sources: impl IntoIterator<Item = S>) -> Self {
        Self {
            model,
            sources: sources.into_iter().map(Into::into).collect(),
            small_sample: SmallSample::default(),
        }
    }
    /// The small-sample form of the covariance ([`SmallSample`]): HC2 with t quantiles
    /// by default, as every estimator.
    pub fn small_sample(mut self, small_sample: SmallSample) -> Self {
        self.small_sample = small_sample;
        self
    }
}

impl<M: MomentModel> Estimator for NaivePooled<M> {
    fn name(&self) -> String {
        format!("Naive pooled ({})", self.sources.join(" + "))
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        let name = self.name();
        data.require_in_memory(&name)?;
        data.check_model(&self.model)?;
        let mut blocks = vec![data.real_rows()];
        for s in &self.sources {
            let src = data.source(s).ok_or_else(|| Error::MissingSource {
                estimator: name.clone(),
                name: s.clone(),
            })?;
            blocks.push(src.rows());
        }
        // The data's blocks share their column layout, so they always stack.
        let pooled = RowBlock::concatenate(&blocks).ok_or_else(|| Error::ShapeMismatch {
            what: "columns of the pooled blocks".into(),
            expected: data.n_covariates(),
            found: 0,
        })?;
        let rows = pooled.view(data.column_names());
        // Observation weights of the pooled rows: the labeled rows', then each source's.
        let weights: Option<Array1<f64>> = data.weights().map(|w| {
            data.labeled_rows()
                .iter()
                .map(|&t| w[t])
                .chain(self.sources.iter().flat_map(|_| w.iter().copied()))
                .collect()
        });
        let weights = weights.as_ref().map(|w| w.view());
        let theta = fit_weighted_rows(&self.model, &name, "pooled", rows, weights)?;
        let mut psi = moment_matrix(&self.model, theta.view(), rows);
        if let Some(w) = weights {
            psi *= &w.insert_axis(ndarray::Axis(1));
        }
        let scale = match data.clusters() {
            Some(_) => None,
            None => crate::small_sample::labeled_row_scales(
                &self.model,
                theta.view(),
                rows,
                weights,
                None,
                self.small_sample,
            ),
        };
        if let Some(s) = scale {
            psi *= &s.insert_axis(ndarray::Axis(1));
        }
        // The pooled rows' clusters: the labeled real rows', then each source's.
        let ids: Option<Vec<u32>> = data.clusters().map(|cluster| {
            data.labeled_rows()
                .iter()
                .map(|&t| cluster[t])
                .chain(self.sources.iter().flat_map(|_| cluster.iter().copied()))
                .collect()
        });
        let dof = self.small_sample.dof_factor(rows.len(), theta.len());
        let (meat, mut notes) = super::mestimation::meat(psi.view(), ids.as_deref(), dof);
        notes.extend(data.design_notes());
        notes.extend(data.probabilities_ignored(&name));
        let jac = self.model.jacobian(theta.view(), rows, weights);
        let cov = sandwich(&jac, &meat, &name)?;
        Estimate::new(
            name,
            self.model.name(),
            crate::moment::parameter_names(&self.model, data.covariate_names(), theta.len()),
            theta,
            cov,
            data.n_rows(),
            data.n_labeled(),
        )
        .map(|e| {
            let clusters = data.clusters_in_moments();
            self.small_sample
                .with_quantiles(e, rows.len(), clusters, None)
                .with_notes(notes)
        })
        .map(|e| as_the_model_reports(&self.model, data.real_rows(), e))
    }
}
