//! From borrowed numpy arrays to fitted estimators: the data are validated by
//! [`DataSourcesBuilder`](synthgmm::DataSourcesBuilder) and every estimator runs on the
//! same [`DataSources`].

use ndarray::{ArrayView1, ArrayView2};
use synthgmm::baselines::{Dsl, NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
use synthgmm::models::{Logistic, Mean, Ols, Poisson};
use synthgmm::{
    Bootstrap, BootstrapFit, DataSources, Error, Estimate, Estimator, GmmFit, MomentModel,
    OnSources, Plan, SourceDiagnostic, TwoStepGmm,
};

use crate::settings::{EstimatorKind, EstimatorSpec, GmmSettings, Model};

/// The caller's arrays, borrowed for the duration of a fit.
pub struct Inputs<'a> {
    pub labeled: ArrayView1<'a, bool>,
    pub y: ArrayView1<'a, f64>,
    pub x: ArrayView2<'a, f64>,
    pub sources: Vec<(String, ArrayView1<'a, f64>, ArrayView2<'a, f64>)>,
    pub names: Option<Vec<String>>,
    pub weights: Option<ArrayView1<'a, f64>>,
    pub clusters: Option<ArrayView1<'a, i64>>,
    pub labeling_probabilities: Option<ArrayView1<'a, f64>>,
}

impl Inputs<'_> {
    /// The validated data set.
    pub fn build(&self) -> Result<DataSources, Error> {
        let mut builder = DataSources::builder(self.labeled).real(self.x, self.y);
        for (name, y, x) in &self.sources {
            builder = builder.source(name.as_str(), *x, *y);
        }
        if let Some(names) = &self.names {
            builder = builder.covariate_names(names.iter().cloned());
        }
        if let Some(w) = self.weights {
            builder = builder.weights(w);
        }
        if let Some(pi) = self.labeling_probabilities {
            builder = builder.labeling_probabilities(pi);
        }
        if let Some(ids) = self.clusters {
            builder = builder.clusters(&ids.to_vec());
        }
        builder.build()
    }
}

/// One estimator's result: the GMM keeps its full fit (J test, effective sample
/// size, summary, diagnostics); the baselines their estimate.
#[derive(Debug, Clone)]
pub enum Outcome {
    Gmm {
        fit: Box<GmmFit>,
        diagnostics: Option<Vec<SourceDiagnostic>>,
    },
    Baseline(Box<Estimate>),
}

impl Outcome {
    pub fn estimate(&self) -> &Estimate {
        match self {
            Outcome::Gmm { fit, .. } => fit.estimate(),
            Outcome::Baseline(e) => e,
        }
    }
}

/// Runs every requested estimator on the data, each with its display name and result.
pub fn run_all(
    data: &DataSources,
    model: &Model,
    specs: &[EstimatorSpec],
    gmm: GmmSettings,
    diagnose: bool,
) -> Vec<(String, Result<Outcome, Error>)> {
    match model {
        Model::Ols => run_model(Ols, data, specs, gmm, diagnose),
        Model::Logistic => run_model(Logistic, data, specs, gmm, diagnose),
        Model::Poisson => run_model(Poisson, data, specs, gmm, diagnose),
        Model::Mean => run_model(Mean, data, specs, gmm, diagnose),
        Model::Quantile(q) => run_model(q.clone(), data, specs, gmm, diagnose),
    }
}

fn run_model<M: MomentModel + Clone + 'static>(
    model: M,
    data: &DataSources,
    specs: &[EstimatorSpec],
    settings: GmmSettings,
    diagnose: bool,
) -> Vec<(String, Result<Outcome, Error>)> {
    let all_sources = data.source_names();
    specs
        .iter()
        .map(|spec| {
            // The sources named, else the first one(s) the estimator needs.
            let chosen = |k: usize| -> Vec<String> {
                spec.sources
                    .clone()
                    .unwrap_or_else(|| all_sources.iter().take(k).cloned().collect())
            };
            let first = |k: usize| -> Result<Vec<String>, Error> {
                let names = chosen(k);
                if names.len() < k {
                    Err(Error::InvalidConfig {
                        parameter: "estimators",
                        reason: format!(
                            "{} needs {k} source(s), {} given",
                            spec_label(spec.kind),
                            names.len()
                        ),
                    })
                } else {
                    Ok(names)
                }
            };
            let small = settings.small_sample;
            let boxed =
                |e: &dyn Estimator| e.estimate(data).map(|e| Outcome::Baseline(Box::new(e)));
            // A baseline on the first k sources (or the named ones).
            let with_sources =
                |k: usize, make: &dyn Fn(Vec<String>) -> Box<dyn Estimator>| match first(k) {
                    Ok(s) => {
                        let e = make(s);
                        (e.name(), boxed(e.as_ref()))
                    }
                    Err(err) => (spec_label(spec.kind).to_string(), Err(err)),
                };
            match spec.kind {
                EstimatorKind::Gmm => {
                    let sources = chosen(all_sources.len());
                    let name = if sources.is_empty() {
                        "GMM".to_string()
                    } else {
                        format!("GMM ({})", sources.join(" + "))
                    };
                    (
                        name,
                        fit_gmm(model.clone(), data, &sources, settings, diagnose),
                    )
                }
                EstimatorKind::RealOnly => {
                    let e = RealOnly::new(model.clone()).small_sample(settings.small_sample);
                    (e.name(), boxed(&e))
                }
                EstimatorKind::Naive => with_sources(all_sources.len().max(1), &|s| {
                    Box::new(NaivePooled::new(model.clone(), s).small_sample(small))
                }),
                EstimatorKind::Ppi => with_sources(1, &|s| {
                    Box::new(PpiPlusPlus::new(model.clone(), s[0].clone()).small_sample(small))
                }),
                EstimatorKind::Dsl => with_sources(1, &|s| {
                    Box::new(Dsl::new(model.clone(), s[0].clone()).small_sample(small))
                }),
                EstimatorKind::RePpi => with_sources(1, &|s| {
                    Box::new(RePpi::new(model.clone(), s).small_sample(small))
                }),
                EstimatorKind::PpiSynth => with_sources(2, &|s| {
                    Box::new(
                        PpiSynth::new(model.clone(), s[0].clone(), s[1].clone())
                            .small_sample(small),
                    )
                }),
            }
        })
        .collect()
}

fn spec_label(kind: EstimatorKind) -> &'static str {
    match kind {
        EstimatorKind::Gmm => "GMM",
        EstimatorKind::RealOnly => "real-only",
        EstimatorKind::Naive => "naive pooling",
        EstimatorKind::Ppi => "PPI++",
        EstimatorKind::PpiSynth => "PPI++Synth",
        EstimatorKind::Dsl => "DSL",
        EstimatorKind::RePpi => "RePPI",
    }
}

/// A planning model from pilot data, with the GMM settings given.
pub fn plan(data: &DataSources, model: &Model, s: GmmSettings) -> Result<Plan, Error> {
    match model {
        Model::Ols => configured(Ols, s).plan(data),
        Model::Logistic => configured(Logistic, s).plan(data),
        Model::Poisson => configured(Poisson, s).plan(data),
        Model::Mean => configured(Mean, s).plan(data),
        Model::Quantile(q) => configured(q.clone(), s).plan(data),
    }
}

/// The GMM estimator with the given settings.
fn configured<M: MomentModel>(model: M, s: GmmSettings) -> TwoStepGmm<M> {
    TwoStepGmm::new(model)
        .covariance(s.covariance)
        .cross_weights(s.cross_weights)
        .weighting(s.weighting)
        .step_one(s.step_one)
        .small_sample(s.small_sample)
}

/// The GMM estimator with the given settings on the named sources.
fn fit_gmm<M: MomentModel>(
    model: M,
    data: &DataSources,
    sources: &[String],
    s: GmmSettings,
    diagnose: bool,
) -> Result<Outcome, Error> {
    let estimator = configured(model, s);
    let selected;
    let data = if sources == data.source_names().as_slice() {
        data
    } else {
        let names: Vec<&str> = sources.iter().map(String::as_str).collect();
        selected = data.select_sources(&names)?;
        &selected
    };
    if diagnose {
        let report = estimator.diagnose(data)?;
        Ok(Outcome::Gmm {
            fit: Box::new(report.fit),
            diagnostics: Some(report.sources),
        })
    } else {
        Ok(Outcome::Gmm {
            fit: Box::new(estimator.fit(data)?),
            diagnostics: None,
        })
    }
}

/// The bootstrap of one requested estimator (the same estimator, sources and settings
/// as [`run_all`] fits).
pub fn bootstrap(
    data: &DataSources,
    model: &Model,
    spec: &EstimatorSpec,
    settings: GmmSettings,
    boot: Bootstrap,
) -> Result<BootstrapFit, Error> {
    let run = |estimator: SharedEstimator| boot.run(estimator.as_ref(), data);
    match model {
        Model::Ols => run(estimator_for(Ols, data, spec, settings)?),
        Model::Logistic => run(estimator_for(Logistic, data, spec, settings)?),
        Model::Poisson => run(estimator_for(Poisson, data, spec, settings)?),
        Model::Mean => run(estimator_for(Mean, data, spec, settings)?),
        Model::Quantile(q) => run(estimator_for(q.clone(), data, spec, settings)?),
    }
}

type SharedEstimator = Box<dyn Estimator + Send + Sync>;

/// The estimator a spec names, on its sources (the named ones, else the first the
/// estimator needs; the GMM takes them all).
fn estimator_for<M: MomentModel + Clone + Send + Sync + 'static>(
    model: M,
    data: &DataSources,
    spec: &EstimatorSpec,
    s: GmmSettings,
) -> Result<SharedEstimator, Error> {
    let all = data.source_names();
    let needed = match spec.kind {
        EstimatorKind::Gmm | EstimatorKind::RealOnly => 0,
        EstimatorKind::PpiSynth => 2,
        _ => 1,
    };
    let taken = match spec.kind {
        EstimatorKind::Gmm | EstimatorKind::Naive => all.len(),
        _ => needed,
    };
    let names = spec
        .sources
        .clone()
        .unwrap_or_else(|| all.iter().take(taken).cloned().collect());
    let small = s.small_sample;
    if names.len() < needed {
        return Err(Error::InvalidConfig {
            parameter: "estimators",
            reason: format!("{} needs {needed} source(s)", spec_label(spec.kind)),
        });
    }
    Ok(match spec.kind {
        EstimatorKind::Gmm => Box::new(OnSources::new("GMM", configured(model, s), names)),
        EstimatorKind::RealOnly => Box::new(RealOnly::new(model).small_sample(s.small_sample)),
        EstimatorKind::Naive => Box::new(NaivePooled::new(model, names).small_sample(small)),
        EstimatorKind::Ppi => {
            Box::new(PpiPlusPlus::new(model, names[0].clone()).small_sample(small))
        }
        EstimatorKind::Dsl => Box::new(Dsl::new(model, names[0].clone()).small_sample(small)),
        EstimatorKind::RePpi => Box::new(RePpi::new(model, names).small_sample(small)),
        EstimatorKind::PpiSynth => {
            Box::new(PpiSynth::new(model, names[0].clone(), names[1].clone()).small_sample(small))
        }
    })
}
