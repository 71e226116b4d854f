//! `synthgmm._core.Plan`: standard errors predicted from a pilot for other designs.

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use synthgmm::{Design, Planned};

use crate::errors::to_py_err;

/// A planning model fitted on pilot data (see `synthgmm.plan`).
#[pyclass(frozen, module = "synthgmm._core")]
pub struct Plan {
    pub(crate) inner: synthgmm::Plan,
}

impl Plan {
    /// `"gmm"`, `"real-only"`, or `"ppi"` / `"ppi:NAME"` (the first source by default).
    fn planned(&self, estimator: &str) -> PyResult<Planned> {
        synthgmm::named::planned(&self.inner, estimator).map_err(|e| to_py_err(&e))
    }

    fn coefficient(&self, coef: &Bound<'_, PyAny>) -> PyResult<usize> {
        if let Ok(index) = coef.extract::<usize>() {
            return Ok(index);
        }
        let name: String = coef.extract()?;
        self.inner
            .names()
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "no coefficient named `{name}`; have: {}",
                    self.inner.names().join(", ")
                ))
            })
    }
}

fn design<'py>(py: Python<'py>, d: Design) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("labeled", d.labeled)?;
    out.set_item("rows", d.rows)?;
    out.set_item("cost", d.cost)?;
    out.set_item("half_width", d.half_width)?;
    Ok(out)
}

#[pymethods]
impl Plan {
    /// Coefficient names.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.inner.names().to_vec()
    }

    /// The pilot's sources.
    #[getter]
    fn sources(&self) -> Vec<String> {
        self.inner.sources().to_vec()
    }

    /// The pilot's (labeled rows, rows).
    #[getter]
    fn pilot(&self) -> (usize, usize) {
        self.inner.pilot()
    }

    /// Predicted standard errors with `labeled` of `rows` rows.
    fn se<'py>(
        &self,
        py: Python<'py>,
        estimator: &str,
        labeled: usize,
        rows: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let planned = self.planned(estimator)?;
        let se = self
            .inner
            .se(planned, labeled, rows)
            .map_err(|e| to_py_err(&e))?;
        Ok(se.into_pyarray(py))
    }

    /// Labeled rows real-only would need for the same standard errors.
    fn effective_labels<'py>(
        &self,
        py: Python<'py>,
        estimator: &str,
        labeled: usize,
        rows: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let planned = self.planned(estimator)?;
        let n = self
            .inner
            .effective_labels(planned, labeled, rows)
            .map_err(|e| to_py_err(&e))?;
        Ok(n.into_pyarray(py))
    }

    /// The smallest number of labels for a (1 − α) half-width with `rows` rows.
    fn labels_for(
        &self,
        estimator: &str,
        coef: &Bound<'_, PyAny>,
        half_width: f64,
        alpha: f64,
        rows: usize,
    ) -> PyResult<Option<usize>> {
        let planned = self.planned(estimator)?;
        let coef = self.coefficient(coef)?;
        self.inner
            .labels_for(planned, coef, half_width, alpha, rows)
            .map_err(|e| to_py_err(&e))
    }

    /// The cheapest (labeled, rows) design reaching a half-width; `target` is (half-width,
    /// alpha), `costs` (per label, per row).
    fn cheapest<'py>(
        &self,
        py: Python<'py>,
        estimator: &str,
        coef: &Bound<'_, PyAny>,
        target: (f64, f64),
        costs: (f64, f64),
    ) -> PyResult<Bound<'py, PyDict>> {
        let ((half_width, alpha), (label_cost, row_cost)) = (target, costs);
        let planned = self.planned(estimator)?;
        let coef = self.coefficient(coef)?;
        let d = self
            .inner
            .cheapest(planned, coef, half_width, alpha, label_cost, row_cost)
            .map_err(|e| to_py_err(&e))?;
        design(py, d)
    }

    /// The narrowest interval a budget buys; `target` is (budget, alpha), `costs` (per
    /// label, per row).
    fn best_for_budget<'py>(
        &self,
        py: Python<'py>,
        estimator: &str,
        coef: &Bound<'_, PyAny>,
        target: (f64, f64),
        costs: (f64, f64),
    ) -> PyResult<Bound<'py, PyDict>> {
        let ((budget, alpha), (label_cost, row_cost)) = (target, costs);
        let planned = self.planned(estimator)?;
        let coef = self.coefficient(coef)?;
        let d = self
            .inner
            .best_for_budget(planned, coef, budget, alpha, label_cost, row_cost)
            .map_err(|e| to_py_err(&e))?;
        design(py, d)
    }

    fn __repr__(&self) -> String {
        let (n, t) = self.inner.pilot();
        format!(
            "<synthgmm Plan: pilot n = {n} of T = {t}, sources {}>",
            self.inner.sources().join(", ")
        )
    }
}
