//! Fits where the rows live: the library's generated SQL ([`synthgmm::sql`]), each
//! pass run by a Python function the caller supplies — a DuckDB, SQLite or warehouse
//! connection's "run this query and give me its rows".

use pyo3::prelude::*;
use synthgmm::sql::{LabelKind, SqlModel, SqlTable};
use synthgmm::{DataSources, Error};

/// A table and its columns as passed from Python (a dict): the table by name, or a
/// subquery with its alias; the label, outcome and covariate columns; each source as
/// (name, outcome, covariates); the label column's kind; the observation weights',
/// labeling probabilities' and clusters' columns, if any; and `run`.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct SqlSpec {
    #[pyo3(default)]
    table: Option<String>,
    /// (query, alias).
    #[pyo3(default)]
    subquery: Option<(String, String)>,
    labeled: String,
    y: String,
    x: Vec<String>,
    sources: Vec<(String, String, Vec<String>)>,
    #[pyo3(default)]
    boolean_label: bool,
    #[pyo3(default)]
    weights: Option<String>,
    #[pyo3(default)]
    labeling_probabilities: Option<String>,
    #[pyo3(default)]
    clusters: Option<String>,
    /// `run(query: str) -> sequence of rows`, each a sequence of numbers (None for
    /// SQL NULL).
    run: Py<PyAny>,
}

/// A table ready to open: its SQL description and the function that runs the queries.
pub struct SqlOpener {
    table: SqlTable,
    /// The table's name or the subquery's alias, for error messages.
    name: String,
    run: Py<PyAny>,
}

impl SqlSpec {
    /// The library's table description, checked (a subquery that could leave its
    /// parentheses is an `InvalidConfigError`), with linear IV's exogenous covariates
    /// and excluded instruments (by name) for `SqlModel::Iv`.
    pub fn into_table(self, iv: Option<(&[String], &[String])>) -> PyResult<SqlOpener> {
        let exogenous = match iv {
            Some((exogenous, _)) => exogenous
                .iter()
                .map(|name| {
                    self.x.iter().position(|c| c == name).ok_or_else(|| {
                        crate::errors::to_py_err(&Error::InvalidConfig {
                            parameter: "exogenous",
                            reason: format!("`{name}` is not a covariate ({})", self.x.join(", ")),
                        })
                    })
                })
                .collect::<PyResult<Vec<usize>>>()?,
            None => Vec::new(),
        };
        let (table, name) = match (self.table, self.subquery) {
            (Some(name), None) => (SqlTable::new(&name, &self.labeled, &self.y, self.x), name),
            (None, Some((query, alias))) => (
                SqlTable::subquery(&query, &alias, &self.labeled, &self.y, self.x)
                    .map_err(|e| crate::errors::to_py_err(&e))?,
                alias,
            ),
            _ => {
                return Err(crate::errors::to_py_err(&Error::InvalidConfig {
                    parameter: "table",
                    reason: "give either a table's name or a subquery".into(),
                }))
            }
        };
        let table = self.sources.iter().fold(table, |t, (name, y, x)| {
            t.source(name, y, x.iter().cloned())
        });
        let table = match self.boolean_label {
            true => table.label_kind(LabelKind::Boolean),
            false => table,
        };
        let table = match &self.weights {
            Some(column) => table.weights(column),
            None => table,
        };
        let table = match &self.labeling_probabilities {
            Some(column) => table.labeling_probabilities(column),
            None => table,
        };
        let table = match &self.clusters {
            Some(column) => table.clusters(column),
            None => table,
        };
        let table = match iv {
            Some((_, instruments)) => table.instruments(exogenous, instruments),
            None => table,
        };
        Ok(SqlOpener {
            table,
            name,
            run: self.run,
        })
    }
}

impl SqlOpener {
    /// The data set whose passes run through the caller's function (called with the
    /// GIL taken; its exceptions become [`Error::Read`] naming the query's table).
    pub fn open(self, model: SqlModel) -> synthgmm::Result<DataSources> {
        let (run, what) = (self.run, self.name);
        self.table.open(model, move |query: &str| {
            Python::attach(|py| {
                let failed = |why: &str, e: PyErr| Error::Read {
                    path: what.clone(),
                    reason: format!("{why}: {e}"),
                };
                let rows = run
                    .call1(py, (query,))
                    .map_err(|e| failed("the query function raised", e))?;
                let rows: Vec<Vec<Option<f64>>> = rows
                    .extract(py)
                    .map_err(|e| failed("the query's rows are not sequences of numbers", e))?;
                Ok(rows
                    .into_iter()
                    .map(|row| row.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
                    .collect())
            })
        })
    }
}
