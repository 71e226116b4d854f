//! `synthgmm._core.LabelingDesign`: which rows to send to the annotators (see
//! `synthgmm::labeling`).

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use synthgmm::labeling::{Allocation, Labeling, LabelingPlan, Target};
use synthgmm::Error;

use crate::errors::to_py_err;
use crate::fitting::Inputs;
use crate::settings::Model;

/// What Python asked for (a dict): the allocation's name, the budget, the model and
/// the options.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct DesignRequest {
    #[pyo3(item("design"))]
    pub allocation: String,
    pub budget: f64,
    pub model: String,
    #[pyo3(default)]
    pub quantiles: Option<Vec<f64>>,
    #[pyo3(default)]
    pub coefficient: Option<usize>,
    #[pyo3(default)]
    pub min_probability: Option<f64>,
    #[pyo3(default)]
    pub strata: Option<Vec<i64>>,
    #[pyo3(default = 5)]
    pub n_strata: usize,
}

impl DesignRequest {
    /// The library's design.
    pub fn labeling(&self) -> PyResult<Labeling> {
        let allocation: Allocation = crate::settings::parse(&self.allocation)?;
        let mut design = Labeling::new(allocation, self.budget).n_strata(self.n_strata);
        if let Some(j) = self.coefficient {
            design = design.target(Target::Coefficient(j));
        }
        if let Some(p) = self.min_probability {
            design = design.min_probability(p);
        }
        if let Some(strata) = &self.strata {
            design = design.strata(strata);
        }
        Ok(design)
    }
}

/// The design on the caller's arrays: from the pilot when a row is labeled, else
/// without one.
pub fn design(
    inputs: &Inputs<'_>,
    model: Option<&Model>,
    design: &Labeling,
) -> Result<LabelingPlan, Error> {
    let Some(model) = model else {
        return design.without_pilot(inputs.labeled.len());
    };
    synthgmm::named::design(design, &inputs.build()?, model, inputs.x)
}

/// A labeling design (see `synthgmm.design`).
#[pyclass(frozen, module = "synthgmm._core")]
pub struct LabelingDesign {
    pub(crate) inner: LabelingPlan,
}

#[pymethods]
impl LabelingDesign {
    /// Every row's labeling probability over both phases (give it to `fit` as
    /// `labeling_probabilities`).
    #[getter]
    fn probabilities<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.probabilities().to_owned().into_pyarray(py)
    }
    /// Phase two's probabilities (zero on rows already labeled); they sum to the budget.
    #[getter]
    fn phase_two<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.phase_two().to_owned().into_pyarray(py)
    }
    /// Coefficient names (None without a pilot).
    #[getter]
    fn names(&self) -> Option<Vec<String>> {
        self.inner.names().map(<[String]>::to_vec)
    }
    /// What the design did that its user should know.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.inner.notes().iter().map(ToString::to_string).collect()
    }
    /// The rows to label now (sorted indices), drawn with the seed.
    fn draw(&self, seed: u64) -> Vec<usize> {
        self.inner.draw(seed)
    }
    /// Predicted standard errors after both phases (None without a pilot).
    fn se<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.inner.se().map(|s| s.into_pyarray(py))
    }
    /// The same with the budget drawn at random.
    fn uniform_se<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.inner.uniform_se().map(|s| s.into_pyarray(py))
    }
    /// The fewest new labels this design needs for the half-width (None: unreachable).
    fn labels_for(&self, coef: usize, half_width: f64, alpha: f64) -> PyResult<Option<usize>> {
        self.inner
            .labels_for(coef, half_width, alpha)
            .map_err(|e| to_py_err(&e))
    }
}
