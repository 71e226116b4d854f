//! Python bindings of `synthgmm` (module `synthgmm._core`; the public Python API is
//! the `synthgmm` package around it, which handles DataFrames and names).
//!
//! Arrays are borrowed from numpy without copies where the library can read them in
//! place; the fits run with the GIL released; every library error becomes the matching
//! `SynthGmmError` subclass, and no Rust panic crosses into Python (PyO3 turns one into
//! `PanicException`, which the tests treat as a failure).

mod errors;
mod fitting;
mod labeling;
mod planning;
mod result;
mod settings;

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use errors::to_py_err;
use fitting::{run_all, Inputs};
use labeling::{DesignRequest, LabelingDesign};
use planning::Plan;
use result::Fit;
use settings::{EstimatorSpec, GmmSettings, ModelName};

/// A source as passed from Python: (name, outcomes, covariates).
type SourceArrays<'py> = (
    String,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray2<'py, f64>,
);

/// The numpy arrays of one call, borrowed read-only for its duration.
struct Arrays<'py> {
    labeled: PyReadonlyArray1<'py, bool>,
    y: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
    sources: Vec<SourceArrays<'py>>,
    weights: Option<PyReadonlyArray1<'py, f64>>,
    clusters: Option<PyReadonlyArray1<'py, i64>>,
    fixed_effects: Option<PyReadonlyArray2<'py, i64>>,
    labeling_probabilities: Option<PyReadonlyArray1<'py, f64>>,
}

impl Arrays<'_> {
    /// Views of the arrays, ready for the data builder.
    fn inputs(&self, names: Option<Vec<String>>) -> Inputs<'_> {
        Inputs {
            labeled: self.labeled.as_array(),
            y: self.y.as_array(),
            x: self.x.as_array(),
            sources: self
                .sources
                .iter()
                .map(|(name, y, x)| (name.clone(), y.as_array(), x.as_array()))
                .collect(),
            names,
            weights: self.weights.as_ref().map(|w| w.as_array()),
            clusters: self.clusters.as_ref().map(|c| c.as_array()),
            fixed_effects: self.fixed_effects.as_ref().map(|f| f.as_array()),
            labeling_probabilities: self.labeling_probabilities.as_ref().map(|p| p.as_array()),
        }
    }
}

/// Fits the requested estimators on one data set.
///
/// Returns one `(name, Fit | SynthGmmError)` pair per estimator, in order: a failed
/// estimator gives its exception instead of stopping the others. Data errors (which
/// concern every estimator) are raised.
#[pyfunction]
#[pyo3(signature = (
    labeled, y, x, sources, *, model = "ols", quantiles = None,
    estimators = vec!["gmm".to_string()], names = None, weights = None, clusters = None,
    fixed_effects = None, labeling_probabilities = None,
    covariance = "windmeijer", cross_weights = "selected", weighting = "two-step",
    step_one = "per-block", small_sample = "hc2-bm", diagnose = false, bootstrap = None,
    seed = 0, bootstrap_interval = "symmetric"
))]
#[allow(clippy::too_many_arguments)]
fn estimate<'py>(
    py: Python<'py>,
    labeled: PyReadonlyArray1<'py, bool>,
    y: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
    sources: Vec<SourceArrays<'py>>,
    model: &str,
    quantiles: Option<Vec<f64>>,
    estimators: Vec<String>,
    names: Option<Vec<String>>,
    weights: Option<PyReadonlyArray1<'py, f64>>,
    clusters: Option<PyReadonlyArray1<'py, i64>>,
    fixed_effects: Option<PyReadonlyArray2<'py, i64>>,
    labeling_probabilities: Option<PyReadonlyArray1<'py, f64>>,
    covariance: &str,
    cross_weights: &str,
    weighting: &str,
    step_one: &str,
    small_sample: &str,
    diagnose: bool,
    bootstrap: Option<usize>,
    seed: u64,
    bootstrap_interval: &str,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let interval: synthgmm::BootstrapInterval =
        bootstrap_interval.parse().map_err(|e| to_py_err(&e))?;
    let model = settings::parse::<ModelName>(model)?;
    let settings = GmmSettings::parse(covariance, cross_weights, weighting, step_one, small_sample)
        .map_err(|e| to_py_err(&e))?;
    if estimators.is_empty() {
        return Err(PyValueError::new_err("no estimator requested"));
    }
    let specs = estimators
        .iter()
        .map(|e| EstimatorSpec::parse(e).map_err(|e| to_py_err(&e)))
        .collect::<PyResult<Vec<_>>>()?;
    let arrays = Arrays {
        labeled,
        y,
        x,
        sources,
        weights,
        clusters,
        fixed_effects,
        labeling_probabilities,
    };
    let inputs = arrays.inputs(names);
    let results = py.detach(|| {
        let data = inputs.build()?;
        let model = model.on(quantiles.as_deref(), &data)?;
        let fits = run_all(&data, &model, &specs, settings, diagnose);
        let boots: Vec<Option<Result<synthgmm::BootstrapFit, synthgmm::Error>>> = specs
            .iter()
            .zip(&fits)
            .map(|(spec, (_, fit))| {
                let replicates = bootstrap.filter(|_| fit.is_ok())?;
                let boot = synthgmm::Bootstrap::new(replicates)
                    .seed(seed)
                    .interval(interval);
                Some(fitting::bootstrap(&data, &model, spec, settings, boot))
            })
            .collect();
        Ok(fits.into_iter().zip(boots).collect::<Vec<_>>())
    });
    let results = results.map_err(|e: synthgmm::Error| to_py_err(&e))?;
    results
        .into_iter()
        .map(|((name, fit), boot)| named_result(py, name, fit, boot))
        .collect()
}

/// `(name, Fit)`, or `(name, exception)` for an estimator (or its bootstrap) that failed.
fn named_result<'py>(
    py: Python<'py>,
    name: String,
    fit: synthgmm::Result<fitting::Outcome>,
    boot: Option<synthgmm::Result<synthgmm::BootstrapFit>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let value: Bound<'py, PyAny> = match fit.map(|outcome| (outcome, boot.transpose())) {
        Ok((outcome, Ok(bootstrap))) => Bound::new(
            py,
            Fit {
                name: name.clone(),
                outcome,
                bootstrap,
            },
        )?
        .into_any(),
        Ok((_, Err(err))) | Err(err) => to_py_err(&err).into_value(py).into_bound(py).into_any(),
    };
    PyTuple::new(py, [name.into_pyobject(py)?.into_any(), value])
}

/// A planning model (predicted standard errors at other designs) from pilot data.
#[pyfunction]
#[pyo3(signature = (
    labeled, y, x, sources, *, model = "ols", quantiles = None, names = None,
    weights = None, clusters = None, labeling_probabilities = None, covariance = "windmeijer",
    cross_weights = "selected", weighting = "two-step", step_one = "per-block",
    small_sample = "hc2-bm"
))]
#[allow(clippy::too_many_arguments)]
fn plan<'py>(
    py: Python<'py>,
    labeled: PyReadonlyArray1<'py, bool>,
    y: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
    sources: Vec<SourceArrays<'py>>,
    model: &str,
    quantiles: Option<Vec<f64>>,
    names: Option<Vec<String>>,
    weights: Option<PyReadonlyArray1<'py, f64>>,
    clusters: Option<PyReadonlyArray1<'py, i64>>,
    labeling_probabilities: Option<PyReadonlyArray1<'py, f64>>,
    covariance: &str,
    cross_weights: &str,
    weighting: &str,
    step_one: &str,
    small_sample: &str,
) -> PyResult<Plan> {
    let model = settings::parse::<ModelName>(model)?;
    let settings = GmmSettings::parse(covariance, cross_weights, weighting, step_one, small_sample)
        .map_err(|e| to_py_err(&e))?;
    let arrays = Arrays {
        labeled,
        y,
        x,
        sources,
        weights,
        clusters,
        fixed_effects: None,
        labeling_probabilities,
    };
    let inputs = arrays.inputs(names);
    let inner = py
        .detach(|| {
            let data = inputs.build()?;
            fitting::plan(&data, &model.on(quantiles.as_deref(), &data)?, settings)
        })
        .map_err(|e| to_py_err(&e))?;
    Ok(Plan { inner })
}

/// A labeling design (which rows to label) from the rows' sources and a pilot.
#[pyfunction]
#[pyo3(signature = (
    labeled, y, x, sources, *, budget, design = "active", model = "ols", quantiles = None,
    names = None, coefficient = None, min_probability = None, strata = None, n_strata = 5
))]
#[allow(clippy::too_many_arguments)]
fn design<'py>(
    py: Python<'py>,
    labeled: PyReadonlyArray1<'py, bool>,
    y: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
    sources: Vec<SourceArrays<'py>>,
    budget: f64,
    design: &str,
    model: &str,
    quantiles: Option<Vec<f64>>,
    names: Option<Vec<String>>,
    coefficient: Option<usize>,
    min_probability: Option<f64>,
    strata: Option<Vec<i64>>,
    n_strata: usize,
) -> PyResult<LabelingDesign> {
    let model = settings::parse::<ModelName>(model)?;
    let request = DesignRequest {
        allocation: design.to_string(),
        budget,
        coefficient,
        min_probability,
        strata,
        n_strata,
    };
    let labeling = request.labeling()?;
    let arrays = Arrays {
        labeled,
        y,
        x,
        sources,
        weights: None,
        clusters: None,
        fixed_effects: None,
        labeling_probabilities: None,
    };
    let inputs = arrays.inputs(names);
    let pilot = inputs.labeled.iter().any(|&l| l);
    let inner = py
        .detach(|| {
            let model = match pilot {
                true => Some(model.on(quantiles.as_deref(), &inputs.build()?)?),
                false => None,
            };
            labeling::design(&inputs, model.as_ref(), &labeling)
        })
        .map_err(|e| to_py_err(&e))?;
    Ok(LabelingDesign { inner })
}

/// The compiled core of the `synthgmm` Python package.
#[pymodule]
#[pyo3(name = "_core")]
fn synthgmm_py(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(estimate, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(design, m)?)?;
    m.add_function(wrap_pyfunction!(result::side_by_side, m)?)?;
    m.add_function(wrap_pyfunction!(result::outcomes_adjusted_pvalues, m)?)?;
    m.add_function(wrap_pyfunction!(result::outcomes_simultaneous_conf_int, m)?)?;
    m.add_function(wrap_pyfunction!(result::outcomes_summary, m)?)?;
    m.add_class::<LabelingDesign>()?;
    m.add_class::<Fit>()?;
    m.add_class::<Plan>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
