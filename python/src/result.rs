//! `synthgmm._core.Fit`: one estimator's result, read by the Python `Result` class.

use ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use synthgmm::models::{ConfidenceSet, WeakInstruments};
use synthgmm::Estimate;

use crate::errors::to_py_err;
use crate::fitting::Outcome;
use crate::settings;

/// An estimator's result: estimates, covariance, tests and (for GMM) the fit's details.
#[pyclass(frozen, module = "synthgmm._core")]
pub struct Fit {
    pub(crate) name: String,
    pub(crate) outcome: Outcome,
    pub(crate) bootstrap: Option<synthgmm::BootstrapFit>,
    /// The fit's influence on each row (each cluster), when asked for.
    pub(crate) influence: Option<synthgmm::RowInfluence>,
    /// A linear IV model's weak-instrument diagnostics (the same for every estimator),
    /// or why they were not computed.
    pub(crate) weak_instruments: Option<Result<WeakInstruments, String>>,
}

impl Fit {
    fn estimate(&self) -> &Estimate {
        self.outcome.estimate()
    }

    fn gmm(&self) -> Option<&synthgmm::GmmFit> {
        match &self.outcome {
            Outcome::Gmm { fit, .. } => Some(fit),
            Outcome::Baseline(_) => None,
        }
    }
}

/// Several fits side by side (see `synthgmm::SideBySide`): coefficients as rows,
/// estimators as columns, effective n against the fit at `reference` when given, and
/// the GMM fits' J tests at the foot.
#[pyfunction]
#[pyo3(signature = (fits, reference = None))]
pub fn side_by_side(fits: Vec<PyRef<'_, Fit>>, reference: Option<usize>) -> String {
    let table = synthgmm::SideBySide::new(fits.iter().map(|f| f.estimate()))
        .j_tests(fits.iter().map(|f| f.gmm().map(synthgmm::GmmFit::j_test)));
    match reference {
        Some(index) => table.relative_to(index).to_string(),
        None => table.to_string(),
    }
}

/// The bootstrap's standard errors, p-values and intervals.
type BootstrapArrays<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray2<f64>>,
);

fn matrix<'py>(py: Python<'py>, a: Array2<f64>) -> Bound<'py, PyArray2<f64>> {
    a.into_pyarray(py)
}

#[pymethods]
impl Fit {
    /// The estimator's display name, e.g. `"GMM (proxy + synth)"` or `"PPI++ (proxy)"`.
    #[getter]
    fn estimator(&self) -> &str {
        &self.name
    }

    /// The moment model's name (`"ols"`, `"logistic"`, ...).
    #[getter]
    fn model(&self) -> &str {
        self.estimate().model()
    }

    /// Coefficient names.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.estimate().names().to_vec()
    }

    /// θ̂.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.estimate().theta().to_owned().into_pyarray(py)
    }

    /// Standard errors.
    #[getter]
    fn bse<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.estimate().se().into_pyarray(py)
    }

    /// z statistics θ̂ / se.
    #[getter]
    fn tvalues<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.estimate().z().into_pyarray(py)
    }

    /// p-values of H₀: θ_j = 0 against the alternative.
    #[pyo3(signature = (alternative = "two-sided"))]
    fn pvalues<'py>(
        &self,
        py: Python<'py>,
        alternative: &str,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let alt = settings::parse::<synthgmm::Alternative>(alternative)?;
        Ok(self.estimate().p_values_against(alt).into_pyarray(py))
    }

    /// Intervals at level 1 − α (p × 2), two- or one-sided: normal, or Student-t with
    /// `df_resid` degrees of freedom when the estimator uses t quantiles.
    #[pyo3(signature = (alpha = 0.05, alternative = "two-sided"))]
    fn conf_int<'py>(
        &self,
        py: Python<'py>,
        alpha: f64,
        alternative: &str,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let alt = settings::parse::<synthgmm::Alternative>(alternative)?;
        let ci = self
            .estimate()
            .conf_int_against(alpha, alt)
            .map_err(|e| to_py_err(&e))?;
        Ok(matrix(py, ci))
    }

    /// p-values adjusted for testing every coefficient: "bonferroni", "holm", "bh"
    /// (Benjamini–Hochberg) or "single-step" (max-|t|).
    fn adjusted_pvalues<'py>(
        &self,
        py: Python<'py>,
        method: &str,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let method = synthgmm::Adjustment::from_name(method).map_err(|e| to_py_err(&e))?;
        let p = self
            .estimate()
            .adjusted_p_values(method)
            .map_err(|e| to_py_err(&e))?;
        Ok(p.into_pyarray(py))
    }

    /// Simultaneous 1 − α intervals (max-|t|) and their critical value.
    fn simultaneous_conf_int<'py>(
        &self,
        py: Python<'py>,
        alpha: f64,
    ) -> PyResult<(Bound<'py, PyArray2<f64>>, f64)> {
        let e = self.estimate();
        let ci = e.simultaneous_conf_int(alpha).map_err(|e| to_py_err(&e))?;
        let c = e
            .simultaneous_critical_value(alpha)
            .map_err(|e| to_py_err(&e))?;
        Ok((matrix(py, ci), c))
    }

    /// With `influence=True`: θ̂'s influence φ_u on each row (each cluster), units × p,
    /// θ̂ − θ ≈ Σ_u φ_u; else `None`.
    #[getter]
    fn influence<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray2<f64>>> {
        self.influence
            .as_ref()
            .map(|i| matrix(py, i.values().to_owned()))
    }

    /// With `bootstrap=B`: the replicates' estimates θ*_b (rows), else `None`.
    #[getter]
    fn bootstrap_draws<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray2<f64>>> {
        self.bootstrap
            .as_ref()
            .map(|b| matrix(py, b.draws().clone()))
    }

    /// With `bootstrap=B`: (B asked, replicates that failed, seed, interval name).
    #[getter]
    fn bootstrap_info(&self) -> Option<(usize, usize, u64, &'static str)> {
        self.bootstrap.as_ref().map(|b| {
            (
                b.n_replicates(),
                b.n_failed(),
                b.seed(),
                b.interval().name(),
            )
        })
    }

    /// With `bootstrap=B`: the bootstrap standard errors, p-values and intervals at
    /// level 1 − α of the given kind (default: the one asked for).
    #[pyo3(signature = (alpha = 0.05, interval = None))]
    fn bootstrap_inference<'py>(
        &self,
        py: Python<'py>,
        alpha: f64,
        interval: Option<&str>,
    ) -> PyResult<Option<BootstrapArrays<'py>>> {
        let Some(b) = &self.bootstrap else {
            return Ok(None);
        };
        let kind = match interval {
            Some(name) => name.parse().map_err(|e| to_py_err(&e))?,
            None => b.interval(),
        };
        let ci = b.conf_int_with(alpha, kind).map_err(|e| to_py_err(&e))?;
        Ok(Some((
            b.se().into_pyarray(py),
            b.p_values().into_pyarray(py),
            matrix(py, ci),
        )))
    }

    /// With `bootstrap=B`: the bootstrap table at level 1 − α, as text.
    #[pyo3(signature = (alpha = 0.05))]
    fn bootstrap_table(&self, alpha: f64) -> PyResult<Option<String>> {
        self.bootstrap
            .as_ref()
            .map(|b| b.table(alpha).map(|t| t.to_string()))
            .transpose()
            .map_err(|e| to_py_err(&e))
    }

    /// Var(θ̂) (p × p).
    fn cov_params<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix(py, self.estimate().cov().to_owned())
    }

    /// Degrees of freedom of the t quantiles (statsmodels' `df_resid` with `use_t`), or
    /// `None` for normal inference.
    #[getter]
    fn df_resid(&self) -> Option<f64> {
        self.estimate().t_df()
    }

    /// Each coefficient's own degrees of freedom (Bell–McCaffrey, the default
    /// small-sample form), or `None` when every coefficient uses `df_resid`.
    #[getter]
    fn coefficient_df<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.estimate()
            .coefficient_df()
            .map(|d| d.to_owned().into_pyarray(py))
    }

    /// Whether p-values and intervals use t quantiles (statsmodels' `use_t`).
    #[getter]
    fn use_t(&self) -> bool {
        self.estimate().t_df().is_some()
    }

    /// The Wald test of Rθ = r: (statistic, df, p-value); the p-value is χ²(df), or
    /// F(df, `df_resid`) of statistic/df with t quantiles.
    fn wald_test(
        &self,
        r: PyReadonlyArray2<'_, f64>,
        value: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<(f64, usize, f64)> {
        let w = self
            .estimate()
            .wald_test(r.as_array(), value.as_array())
            .map_err(|e| to_py_err(&e))?;
        Ok((w.statistic, w.df, w.p_value))
    }

    /// Rows T and labeled rows n the estimator saw.
    #[getter]
    fn n_rows(&self) -> usize {
        self.estimate().n_rows()
    }

    #[getter]
    fn n_labeled(&self) -> usize {
        self.estimate().n_labeled()
    }

    /// What the estimator reports about its own fit (fallbacks, clusters, ...).
    #[getter]
    fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .estimate()
            .notes()
            .iter()
            .map(ToString::to_string)
            .collect();
        if let Some(Err(why)) = &self.weak_instruments {
            notes.push(format!(
                "the weak-instrument diagnostics were not computed: {why}"
            ));
        }
        notes
    }

    /// The text summary: the GMM's full summary, or a baseline's coefficient table.
    #[pyo3(signature = (alpha = 0.05))]
    fn summary(&self, alpha: f64) -> PyResult<String> {
        let mut text = match self.gmm() {
            Some(fit) => fit.summary(alpha).map_err(|e| to_py_err(&e))?.to_string(),
            None => {
                let e = self.estimate();
                let table = e.table(alpha).map_err(|e| to_py_err(&e))?;
                let mut text = format!("{}\n{table}", self.name);
                for note in e.notes() {
                    text.push_str(&format!("Note: {note}.\n"));
                }
                text
            }
        };
        match &self.weak_instruments {
            Some(Ok(weak)) => text.push_str(&weak.describe(self.estimate().names())),
            Some(Err(why)) => text.push_str(&format!("Weak instruments: not computed ({why})\n")),
            None => {}
        }
        Ok(text)
    }

    /// A linear IV model's weak-instrument diagnostics on the labeled rows, or None:
    /// `first_stage` (one dict per endogenous regressor: its name, the homoskedastic F
    /// with its degrees of freedom and p-value, the robust F and its p-value, the
    /// partial R²), `alpha` and `anderson_rubin_set` (`kind`: "interval", "outside",
    /// "everything" or "empty", and its `bounds`; None with several endogenous
    /// regressors). None when they do not apply (observation weights, no endogenous
    /// regressor): `notes` says why.
    #[getter]
    fn weak_instruments<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(Ok(weak)) = &self.weak_instruments else {
            return Ok(None);
        };
        let names = self.estimate().names();
        let stages = weak
            .first_stage
            .iter()
            .map(|s| {
                let row = PyDict::new(py);
                let name = names
                    .get(s.column)
                    .cloned()
                    .unwrap_or_else(|| format!("x{}", s.column));
                row.set_item("endogenous", name)?;
                row.set_item("f", s.f.statistic)?;
                row.set_item("f_df", (s.f.df_num, s.f.df_denom))?;
                row.set_item("f_pvalue", s.f.p_value)?;
                row.set_item("robust_f", s.robust_f.statistic)?;
                row.set_item("robust_f_pvalue", s.robust_f.p_value)?;
                row.set_item("partial_r2", s.partial_r2)?;
                Ok(row)
            })
            .collect::<PyResult<Vec<_>>>()?;
        let out = PyDict::new(py);
        out.set_item("first_stage", stages)?;
        out.set_item("alpha", weak.alpha)?;
        let set = match weak.anderson_rubin_set {
            None => None,
            Some(set) => {
                let (kind, bounds) = match set {
                    ConfidenceSet::Interval(lo, hi) => ("interval", Some((lo, hi))),
                    ConfidenceSet::Outside(lo, hi) => ("outside", Some((lo, hi))),
                    ConfidenceSet::Everything => ("everything", None),
                    _ => ("empty", None),
                };
                let d = PyDict::new(py);
                d.set_item("kind", kind)?;
                d.set_item("bounds", bounds)?;
                Some(d)
            }
        };
        out.set_item("anderson_rubin_set", set)?;
        Ok(Some(out))
    }

    /// Whether this is a GMM fit (with J test, effective sample size, ...).
    #[getter]
    fn is_gmm(&self) -> bool {
        self.gmm().is_some()
    }

    /// Hansen's J test (statistic, df, p-value; the p-value is None when df = 0);
    /// None for the baselines.
    #[getter]
    fn j_test(&self) -> Option<(f64, usize, Option<f64>)> {
        self.gmm().map(|fit| {
            let j = fit.j_test();
            (j.statistic, j.df, j.p_value)
        })
    }

    /// Labeled rows that would give real-only the same variance, per coefficient.
    #[getter]
    fn effective_n<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.gmm()
            .map(|fit| fit.effective_sample_size().into_pyarray(py))
    }

    /// The real-only standard errors on the same rows (GMM only).
    #[getter]
    fn real_only_bse<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.gmm()
            .map(|fit| fit.real_only_se().to_owned().into_pyarray(py))
    }

    /// The full parameter vector (θ, η_1, ..., η_M) (GMM only).
    #[getter]
    fn all_params<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.gmm()
            .map(|fit| fit.params().to_owned().into_pyarray(py))
    }

    /// The sources the GMM used, in order (empty for the baselines).
    #[getter]
    fn sources(&self) -> Vec<String> {
        self.gmm()
            .map(|fit| fit.source_names().to_vec())
            .unwrap_or_default()
    }

    /// Whether every Gauss–Newton iteration converged (baselines: True).
    #[getter]
    fn converged(&self) -> bool {
        self.gmm().is_none_or(|fit| fit.converged())
    }

    /// The GMM covariance's name (`windmeijer`, `reestimated`, ...), or `selected-hc2-bm`
    /// (`-hc0`, `-hc3`) for the selected cross weights' own formula.
    #[getter]
    fn covariance(&self) -> Option<String> {
        self.gmm().map(synthgmm::named::covariance_label)
    }

    /// Per-source diagnostics (when fitted with `diagnose=True`): one dict per source
    /// with the C statistic, its df and p-value, the residual correlation with the real
    /// outcome on labeled rows, and the gain in effective sample size per coefficient.
    #[getter]
    fn diagnostics<'py>(&self, py: Python<'py>) -> PyResult<Option<Vec<Bound<'py, PyDict>>>> {
        let Outcome::Gmm {
            diagnostics: Some(rows),
            ..
        } = &self.outcome
        else {
            return Ok(None);
        };
        rows.iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("source", &s.name)?;
                d.set_item("c_stat", s.c_test.statistic)?;
                d.set_item("c_df", s.c_test.df)?;
                d.set_item("c_pvalue", s.c_test.p_value)?;
                d.set_item(
                    "correlation",
                    s.correlation.clone().map(|c| c.into_pyarray(py)),
                )?;
                d.set_item("ess_gain", s.ess_contribution.clone().into_pyarray(py))?;
                Ok(d)
            })
            .collect::<PyResult<Vec<_>>>()
            .map(Some)
    }

    fn __repr__(&self) -> String {
        format!(
            "<synthgmm Fit: {} ({}), {} coefficients, n = {} of T = {}>",
            self.name,
            self.estimate().model(),
            self.estimate().names().len(),
            self.estimate().n_labeled(),
            self.estimate().n_rows()
        )
    }
}

/// The outcomes' fits as one [`synthgmm::OutcomeFits`]: from their bootstraps when
/// every fit has one (run with the same replicates and seed), else from their
/// estimates and influences.
fn outcome_fits(
    fits: &[PyRef<'_, Fit>],
    names: Option<Vec<String>>,
) -> PyResult<synthgmm::OutcomeFits> {
    let names = names.unwrap_or_else(|| (0..fits.len()).map(|k| k.to_string()).collect());
    let fits = fits
        .iter()
        .map(|f| {
            (
                f.estimate().clone(),
                f.bootstrap.clone(),
                f.influence.clone(),
            )
        })
        .collect();
    synthgmm::OutcomeFits::from_fits(names, fits).map_err(|e| to_py_err(&e))
}

/// Several outcomes' p-values adjusted across all their coefficients, one array per
/// fit: "bonferroni", "holm", "bh", or "single-step" (max-|t|: from the bootstrap
/// when every fit has one, else from their joint covariance or its bound).
#[pyfunction]
pub fn outcomes_adjusted_pvalues<'py>(
    py: Python<'py>,
    fits: Vec<PyRef<'py, Fit>>,
    method: &str,
) -> PyResult<Vec<Bound<'py, PyArray1<f64>>>> {
    let method = synthgmm::Adjustment::from_name(method).map_err(|e| to_py_err(&e))?;
    let adjusted = outcome_fits(&fits, None)?
        .adjusted_p_values(method)
        .map_err(|e| to_py_err(&e))?;
    Ok(adjusted.into_iter().map(|p| p.into_pyarray(py)).collect())
}

/// Simultaneous 1 − α intervals across several outcomes' fits (max-|t|, as for the
/// single-step p-values), one array per fit, and their critical value.
#[pyfunction]
pub fn outcomes_simultaneous_conf_int<'py>(
    py: Python<'py>,
    fits: Vec<PyRef<'py, Fit>>,
    alpha: f64,
) -> PyResult<(Vec<Bound<'py, PyArray2<f64>>>, f64)> {
    let joint = outcome_fits(&fits, None)?;
    let c = joint
        .simultaneous_critical_value(alpha)
        .map_err(|e| to_py_err(&e))?;
    let ci = joint
        .simultaneous_conf_int(alpha)
        .map_err(|e| to_py_err(&e))?;
    Ok((ci.into_iter().map(|a| matrix(py, a)).collect(), c))
}

/// The table of several outcomes' fits (their names given), as the Rust library prints
/// it.
#[pyfunction]
pub fn outcomes_summary(fits: Vec<PyRef<'_, Fit>>, names: Vec<String>) -> PyResult<String> {
    Ok(outcome_fits(&fits, Some(names))?.to_string())
}

/// Where several outcomes' simultaneous inference takes their dependence from:
/// "influence", "bound" or "bootstrap".
#[pyfunction]
pub fn outcomes_simultaneous_from(fits: Vec<PyRef<'_, Fit>>) -> PyResult<&'static str> {
    Ok(outcome_fits(&fits, None)?.simultaneous_from())
}
