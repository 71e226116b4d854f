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
mod sql;

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use errors::to_py_err;
use fitting::{run_all, Inputs};
use labeling::{DesignRequest, LabelingDesign};
use planning::Plan;
use result::Fit;
use settings::{EstimatorSpec, GmmSettings, ModelArgs, ModelName};

/// A source as passed from Python: (name, outcomes, covariates).
type SourceArrays<'py> = (
    String,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray2<'py, f64>,
);

/// The numpy arrays of one call (a dict from the Python layer), borrowed read-only for
/// its duration, and the coefficients' names.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Arrays<'py> {
    labeled: PyReadonlyArray1<'py, bool>,
    y: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
    sources: Vec<SourceArrays<'py>>,
    #[pyo3(default)]
    names: Option<Vec<String>>,
    #[pyo3(default)]
    weights: Option<PyReadonlyArray1<'py, f64>>,
    #[pyo3(default)]
    clusters: Option<PyReadonlyArray1<'py, i64>>,
    #[pyo3(default)]
    fixed_effects: Option<PyReadonlyArray2<'py, i64>>,
    #[pyo3(default)]
    labeling_probabilities: Option<PyReadonlyArray1<'py, f64>>,
    /// Extra columns by name (a linear IV model's excluded instruments).
    #[pyo3(default)]
    columns: Vec<(String, PyReadonlyArray1<'py, f64>)>,
}

impl Arrays<'_> {
    /// Views of the arrays, ready for the data builder.
    fn inputs(&self) -> Inputs<'_> {
        Inputs {
            labeled: self.labeled.as_array(),
            y: self.y.as_array(),
            x: self.x.as_array(),
            sources: self
                .sources
                .iter()
                .map(|(name, y, x)| (name.clone(), y.as_array(), x.as_array()))
                .collect(),
            names: self.names.clone(),
            weights: self.weights.as_ref().map(|w| w.as_array()),
            clusters: self.clusters.as_ref().map(|c| c.as_array()),
            fixed_effects: self.fixed_effects.as_ref().map(|f| f.as_array()),
            labeling_probabilities: self.labeling_probabilities.as_ref().map(|p| p.as_array()),
            columns: self
                .columns
                .iter()
                .map(|(name, c)| (name.clone(), c.as_array()))
                .collect(),
        }
    }
}

/// What a fit or plan asks for (a dict from the Python layer): the model, the
/// estimators and every setting, by the library's names.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Request {
    model: String,
    #[pyo3(default)]
    quantiles: Option<Vec<f64>>,
    /// A linear IV model's exogenous covariates and excluded instruments, by name.
    #[pyo3(default)]
    exogenous: Vec<String>,
    #[pyo3(default)]
    instruments: Vec<String>,
    #[pyo3(default)]
    estimators: Vec<String>,
    covariance: String,
    cross_weights: String,
    weighting: String,
    step_one: String,
    small_sample: String,
    #[pyo3(default)]
    diagnose: bool,
    #[pyo3(default)]
    bootstrap: Option<usize>,
    #[pyo3(default)]
    seed: u64,
    #[pyo3(default = "symmetric".to_string())]
    bootstrap_interval: String,
    /// Whether to add each fit's influence on every row.
    #[pyo3(default)]
    influence: bool,
}

impl Request {
    /// What the model takes besides the rows.
    fn model_args(&self) -> ModelArgs<'_> {
        ModelArgs {
            quantiles: self.quantiles.as_deref(),
            exogenous: &self.exogenous,
            instruments: &self.instruments,
        }
    }

    /// The GMM settings from their names.
    fn settings(&self) -> PyResult<GmmSettings> {
        GmmSettings::parse(
            &self.covariance,
            &self.cross_weights,
            &self.weighting,
            &self.step_one,
            &self.small_sample,
        )
        .map_err(|e| to_py_err(&e))
    }
}

/// Fits the requested estimators on one data set.
///
/// Returns one `(name, Fit | SynthGmmError)` pair per estimator, in order: a failed
/// estimator gives its exception instead of stopping the others. Data errors (which
/// concern every estimator) are raised.
#[pyfunction]
fn estimate<'py>(
    py: Python<'py>,
    arrays: Arrays<'py>,
    request: Request,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let inputs = arrays.inputs();
    estimate_on(py, || inputs.build(), request)
}

/// Fits the requested estimators where the rows live: the generated SQL's passes run
/// by the caller's `run(query) -> rows` (see `sql::SqlSpec`); returns as [`estimate`].
#[pyfunction]
fn estimate_sql<'py>(
    py: Python<'py>,
    table: sql::SqlSpec,
    request: Request,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let model: synthgmm::sql::SqlModel = settings::parse(&request.model)?;
    let iv = (model == synthgmm::sql::SqlModel::Iv)
        .then_some((request.exogenous.as_slice(), request.instruments.as_slice()));
    let table = table.into_table(iv)?;
    estimate_on(py, move || table.open(model), request)
}

/// [`estimate`] on the data set `data` builds (with the GIL released).
fn estimate_on<'py>(
    py: Python<'py>,
    data: impl FnOnce() -> synthgmm::Result<synthgmm::DataSources> + Send,
    request: Request,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let interval: synthgmm::BootstrapInterval = request
        .bootstrap_interval
        .parse()
        .map_err(|e| to_py_err(&e))?;
    let model = settings::parse::<ModelName>(&request.model)?;
    let settings = request.settings()?;
    if request.estimators.is_empty() {
        return Err(PyValueError::new_err("no estimator requested"));
    }
    let specs = request
        .estimators
        .iter()
        .map(|e| EstimatorSpec::parse(e).map_err(|e| to_py_err(&e)))
        .collect::<PyResult<Vec<_>>>()?;
    let (args, diagnose, bootstrap, seed, with_influence) = (
        request.model_args(),
        request.diagnose,
        request.bootstrap,
        request.seed,
        request.influence,
    );
    let results = py.detach(|| {
        let data = data()?;
        let model = model.with(args, &data)?;
        // Diagnostics that do not apply leave the fits standing and say why.
        let weak = model
            .weak_instruments(&data, WEAK_INSTRUMENTS_ALPHA)
            .map(|r| r.map_err(|e| e.to_string()));
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
        // An influence that cannot be had leaves the fit without one (joint inference
        // across outcomes then says it fell back to its bound).
        let influences: Vec<Option<synthgmm::RowInfluence>> = specs
            .iter()
            .zip(&fits)
            .map(|(spec, (_, fit))| match fit {
                Ok(outcome) if with_influence => {
                    fitting::influence(&data, &model, (spec, settings), outcome)
                        .ok()
                        .flatten()
                }
                _ => None,
            })
            .collect();
        let extras = boots.into_iter().zip(influences);
        Ok((fits.into_iter().zip(extras).collect::<Vec<_>>(), weak))
    });
    let (results, weak) = results.map_err(|e: synthgmm::Error| to_py_err(&e))?;
    results
        .into_iter()
        .map(|((name, fit), (boot, influence))| {
            named_result(py, name, fit, (boot, influence), weak.clone())
        })
        .collect()
}

/// The level of the Anderson–Rubin set reported with a linear IV fit (95%).
const WEAK_INSTRUMENTS_ALPHA: f64 = 0.05;

/// `(name, Fit)`, or `(name, exception)` for an estimator (or its bootstrap) that failed.
fn named_result<'py>(
    py: Python<'py>,
    name: String,
    fit: synthgmm::Result<fitting::Outcome>,
    (boot, influence): (
        Option<synthgmm::Result<synthgmm::BootstrapFit>>,
        Option<synthgmm::RowInfluence>,
    ),
    weak_instruments: Option<Result<synthgmm::models::WeakInstruments, String>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let value: Bound<'py, PyAny> = match fit.map(|outcome| (outcome, boot.transpose())) {
        Ok((outcome, Ok(bootstrap))) => Bound::new(
            py,
            Fit {
                name: name.clone(),
                outcome,
                bootstrap,
                influence,
                weak_instruments,
            },
        )?
        .into_any(),
        Ok((_, Err(err))) | Err(err) => to_py_err(&err).into_value(py).into_bound(py).into_any(),
    };
    PyTuple::new(py, [name.into_pyobject(py)?.into_any(), value])
}

/// Whether the named model reads covariates (the mean and quantiles do not: their
/// design is a column of ones); an unknown name is an `InvalidConfigError`.
#[pyfunction]
fn model_reads_covariates(model: &str) -> PyResult<bool> {
    Ok(settings::parse::<ModelName>(model)?.reads_covariates())
}

/// A planning model (predicted standard errors at other designs) from pilot data.
#[pyfunction]
fn plan<'py>(py: Python<'py>, arrays: Arrays<'py>, request: Request) -> PyResult<Plan> {
    let model = settings::parse::<ModelName>(&request.model)?;
    let settings = request.settings()?;
    let inputs = arrays.inputs();
    let args = request.model_args();
    let inner = py
        .detach(|| {
            let data = inputs.build()?;
            fitting::plan(&data, &model.with(args, &data)?, settings)
        })
        .map_err(|e| to_py_err(&e))?;
    Ok(Plan { inner })
}

/// A labeling design (which rows to label) from the rows' sources and a pilot.
#[pyfunction]
fn design<'py>(
    py: Python<'py>,
    arrays: Arrays<'py>,
    request: DesignRequest,
) -> PyResult<LabelingDesign> {
    let model = settings::parse::<ModelName>(&request.model)?;
    let quantiles = request.quantiles.clone();
    let labeling = request.labeling()?;
    let inputs = arrays.inputs();
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
    m.add_function(wrap_pyfunction!(estimate_sql, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(design, m)?)?;
    m.add_function(wrap_pyfunction!(result::side_by_side, m)?)?;
    m.add_function(wrap_pyfunction!(result::outcomes_adjusted_pvalues, m)?)?;
    m.add_function(wrap_pyfunction!(result::outcomes_simultaneous_conf_int, m)?)?;
    m.add_function(wrap_pyfunction!(result::outcomes_summary, m)?)?;
    m.add_function(wrap_pyfunction!(result::outcomes_simultaneous_from, m)?)?;
    m.add_function(wrap_pyfunction!(model_reads_covariates, m)?)?;
    m.add_class::<LabelingDesign>()?;
    m.add_class::<Fit>()?;
    m.add_class::<Plan>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
