//! The estimator's passes as plain SQL, for any engine that runs SQL: DuckDB, Spark
//! SQL, PostgreSQL, a warehouse.
//!
//! [`SqlTable`] names a table (or view) and its columns; [`pass_query`](SqlTable::pass_query)
//! writes one pass as a single `SELECT` of sums — nested subqueries, `CASE`, `EXP` and
//! `SUM` only, with the logistic link spelled out in a form that never overflows — and
//! [`open`](SqlTable::open) runs the labeled rows' query, the row count and then each
//! pass through a function the caller supplies (a database connection's "run this and
//! give me the rows"), so that [`TwoStepGmm`](crate::TwoStepGmm) fits where the data
//! are, without code of ours running there. Ω̂'s sums are written once per pair
//! (upper triangle); a pass for p covariates and M sources has about
//! (p(1 + 2M))²/2 + p²(1 + 2M)(1 + M) sums (1,275 + 1,500 for p = 10, M = 2).
//!
//! Supported models: least squares, logistic and Poisson regression, and linear
//! instrumental variables with the table's extra columns as instruments ([`SqlModel`],
//! [`SqlTable::instruments`]).
//!
//! # Examples
//! ```
//! use synthgmm::sql::{SqlModel, SqlTable};
//! use synthgmm::PassRequest;
//! let table = SqlTable::new("runs", "labeled", "y", ["one", "x"]).source("gpt", "gpt_y", ["one", "x"]);
//! let request = PassRequest {
//!     sources: vec![0],
//!     params: ndarray::array![0.1, 0.2, 0.3, 0.4],
//!     jacobian: true,
//!     omega: false,
//!     squares: false,
//!     contraction: None,
//!     probabilities: false,
//! };
//! let sql = table.pass_query(SqlModel::Logistic, &request)?;
//! assert!(sql.starts_with("SELECT CAST(COUNT(*)"));
//! assert!(sql.contains("FROM \"runs\""));
//! assert!(sql.contains("EXP("));
//! # Ok::<(), synthgmm::Error>(())
//! ```
//!
//! # Security
//! Every name (table, columns, alias) is written as an ANSI quoted identifier, `"…"`,
//! with inner double quotes doubled, so no name can end its quotes: names are never
//! SQL text. A dotted table name is schema-qualified, each part quoted. Numbers are
//! written as `CAST(<f64 in exponent form> AS DOUBLE PRECISION)`; a non-finite
//! parameter is an error before any SQL is written. The only SQL text a caller
//! supplies is a subquery ([`SqlTable::subquery`]), which is refused when it holds a
//! `;`, a comment, a backslash, or a parenthesis or quote that would let it leave
//! its parentheses.
//!
//! Dialects: double-quoted identifiers are standard and read as names by PostgreSQL,
//! DuckDB, SQLite, DataFusion, Snowflake, Oracle and SQL Server; backslashes in them
//! are ordinary characters there. MySQL reads them as names only in `ANSI_QUOTES` mode
//! and Spark SQL only with `spark.sql.ansi.doubleQuotedIdentifiers`; without those,
//! double quotes delimit strings and the generated SQL is not for those engines. On
//! PostgreSQL a boolean label column needs [`LabelKind::Boolean`].

use ndarray::Array2;

use crate::data::DataSources;
use crate::engine::MomentSums;
use crate::error::{Error, Result};
use crate::tier::{ColumnSpec, PassRequest, SumsEngine};

/// The moment conditions the generated SQL spells out.
///
/// Its names, and the crate's model with the same moments, are in
/// [`named`](crate::named) (`SqlModel::model`, `SqlModel::name`, `"ols".parse()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlModel {
    /// Least squares: ψ = x (y − xᵀβ) ([`Ols`](crate::models::Ols)).
    Ols,
    /// Logistic regression: ψ = x (y − σ(xᵀβ)) ([`Logistic`](crate::models::Logistic)).
    Logistic,
    /// Poisson regression: ψ = x (y − exp(xᵀβ)) ([`Poisson`](crate::models::Poisson)).
    Poisson,
    /// Linear instrumental variables: ψ = z (y − xᵀβ) ([`LinearIv`](crate::models::LinearIv)),
    /// z the exogenous covariates and the excluded instruments that
    /// [`SqlTable::instruments`] names.
    Iv,
}

impl SqlModel {
    /// The [`MomentModel::name`](crate::MomentModel::name) of the crate's model with
    /// these moments, which the engine reports.
    fn moment_name(self) -> &'static str {
        match self {
            SqlModel::Iv => "linear-iv",
            other => other.name(),
        }
    }
}

/// A table's columns: the label indicator (1/0, or true/false with
/// [`LabelKind::Boolean`]), the real outcome and covariates (read on labeled rows
/// only), each source's outcome and covariates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTable {
    table: TableRef,
    label_kind: LabelKind,
    columns: ColumnSpec,
    /// Linear IV's exogenous covariates, by index (see [`SqlTable::instruments`]).
    exogenous: Vec<usize>,
}

/// Where the rows come from: a table or view, by its (possibly schema-qualified) name,
/// or a checked subquery with its alias.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TableRef {
    Name(Vec<String>),
    Subquery { query: String, alias: String },
}

/// The type of the label column, which decides how the generated SQL tests it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LabelKind {
    /// A number: labeled when it equals 1 (`CAST(label AS DOUBLE PRECISION) = 1`). Also
    /// booleans on engines that cast them to numbers (DuckDB, SQLite, DataFusion).
    #[default]
    Number,
    /// A boolean: labeled when true (`label = TRUE`). Needed on PostgreSQL, which does
    /// not cast a boolean to a number.
    Boolean,
}

/// A SQL identifier in double quotes (ANSI), inner quotes doubled.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A finite number as a SQL literal that keeps every bit of the f64 (the caller has
/// checked that it is finite: `NaN` and `inf` are no SQL literals).
fn number(v: f64) -> String {
    let text = format!("{v:e}");
    format!("CAST({text} AS DOUBLE PRECISION)")
}

/// Checks a subquery's text: a single query that stays inside its parentheses. Outside
/// string literals ('…') and quoted identifiers ("…", `…`) it may hold no `;`, no
/// comment (`--`, `/*`) and no unbalanced parenthesis; it may hold no backslash at all
/// (engines disagree on whether a backslash escapes a quote inside a literal).
fn check_subquery(query: &str) -> std::result::Result<(), String> {
    if query.trim().is_empty() {
        return Err("the subquery is empty".into());
    }
    if query.contains('\\') || query.contains('\0') {
        return Err("a subquery may not contain a backslash or a NUL character".into());
    }
    let chars: Vec<char> = query.chars().collect();
    let (mut quote, mut depth, mut i) = (None::<char>, 0i64, 0);
    while i < chars.len() {
        let c = chars[i];
        match quote {
            // A doubled quote inside a quoted run is the quote character itself.
            Some(q) if c == q && chars.get(i + 1) == Some(&q) => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                ';' => return Err("a subquery may not contain `;`".into()),
                '-' if chars.get(i + 1) == Some(&'-') => {
                    return Err("a subquery may not contain a comment (`--`)".into())
                }
                '/' if chars.get(i + 1) == Some(&'*') => {
                    return Err("a subquery may not contain a comment (`/*`)".into())
                }
                '(' => depth += 1,
                ')' if depth == 0 => {
                    return Err("a subquery may not close a parenthesis it did not open".into())
                }
                ')' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    match (quote, depth) {
        (Some(q), _) => Err(format!("a subquery may not leave a {q} quote open")),
        (None, 0) => Ok(()),
        (None, _) => Err("a subquery may not leave a parenthesis open".into()),
    }
}

impl SqlTable {
    /// The table or view `table` and its label, real outcome and covariate columns.
    /// A dotted name is schema-qualified: `analytics.runs` is `"analytics"."runs"`,
    /// each part quoted. Whatever the strings hold, they are quoted identifiers in
    /// the SQL, never SQL text (a subquery has its own constructor,
    /// [`subquery`](Self::subquery)).
    pub fn new<S: Into<String>>(
        table: &str,
        labeled: &str,
        outcome: &str,
        covariates: impl IntoIterator<Item = S>,
    ) -> Self {
        let parts = table.split('.').map(str::to_string).collect();
        Self::with_table(TableRef::Name(parts), labeled, outcome, covariates)
    }

    /// The rows of a subquery (`SELECT … FROM … JOIN …`, written without the
    /// surrounding parentheses) under the alias `alias`, with the columns named as in
    /// [`new`](Self::new).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the query holds `;`, a comment, a backslash or an
    /// unbalanced parenthesis or quote outside its literals and quoted identifiers: the
    /// subquery must be one query that stays inside its parentheses.
    ///
    /// # Examples
    /// ```
    /// use synthgmm::sql::SqlTable;
    /// let joined = "SELECT o.*, l.y FROM outputs o LEFT JOIN labels l ON o.id = l.id";
    /// assert!(SqlTable::subquery(joined, "rows", "labeled", "y", ["one", "x"]).is_ok());
    /// let injected = "SELECT * FROM t) q; DROP TABLE t; --";
    /// assert!(SqlTable::subquery(injected, "rows", "labeled", "y", ["one", "x"]).is_err());
    /// ```
    pub fn subquery<S: Into<String>>(
        query: &str,
        alias: &str,
        labeled: &str,
        outcome: &str,
        covariates: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        check_subquery(query).map_err(|reason| Error::InvalidConfig {
            parameter: "subquery",
            reason,
        })?;
        let table = TableRef::Subquery {
            query: query.to_string(),
            alias: alias.to_string(),
        };
        Ok(Self::with_table(table, labeled, outcome, covariates))
    }

    /// How the label column is tested (see [`LabelKind`]).
    pub fn label_kind(mut self, kind: LabelKind) -> Self {
        self.label_kind = kind;
        self
    }

    fn with_table<S: Into<String>>(
        table: TableRef,
        labeled: &str,
        outcome: &str,
        covariates: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::with_columns(table, ColumnSpec::new(labeled, outcome, covariates))
    }

    fn with_columns(table: TableRef, columns: ColumnSpec) -> Self {
        Self {
            table,
            label_kind: LabelKind::Number,
            columns,
            exogenous: Vec::new(),
        }
    }

    /// The table or view `table` (named as in [`new`](Self::new)) with its columns
    /// described by `columns`, as the Parquet and DataFusion tiers take them.
    pub fn from_columns(table: &str, columns: ColumnSpec) -> Self {
        let parts = table.split('.').map(str::to_string).collect();
        Self::with_columns(TableRef::Name(parts), columns)
    }

    /// A source on every row, in the order of η.
    pub fn source<S: Into<String>>(
        mut self,
        name: &str,
        outcome: &str,
        covariates: impl IntoIterator<Item = S>,
    ) -> Self {
        self.columns = self.columns.source(name, outcome, covariates);
        self
    }

    /// Observation (survey) weights w_t in column `column` of every row: every row's
    /// moments are multiplied by w_t, as
    /// [`DataSourcesBuilder::weights`](crate::DataSourcesBuilder::weights) weighs
    /// rows in memory. [`open`](Self::open) checks every row's weight (positive and
    /// finite) with [`weights_check_query`](Self::weights_check_query).
    pub fn weights(mut self, column: &str) -> Self {
        self.columns = self.columns.weights(column);
        self
    }

    /// Known labeling probabilities π_t in column `column`, read on the labeled rows
    /// (as [`DataSourcesBuilder::labeling_probabilities`](crate::DataSourcesBuilder::labeling_probabilities)
    /// takes them): a pass that asks for them ([`PassRequest::probabilities`]) divides
    /// the labeled blocks' moments by π_t. The labeled rows' values are read and
    /// checked with them.
    pub fn labeling_probabilities(mut self, column: &str) -> Self {
        self.columns = self.columns.labeling_probabilities(column);
        self
    }

    /// The cluster of every row in column `column` (no nulls; any type whose values
    /// compare for equality), as
    /// [`DataSourcesBuilder::clusters`](crate::DataSourcesBuilder::clusters) takes
    /// them: each pass sums the moments by cluster (`GROUP BY`) and Ω̂ is
    /// G/(G − 1) Σ_c s_c s_cᵀ over the G clusters. [`open`](Self::open) counts the
    /// clusters and the rows without one ([`clusters_query`](Self::clusters_query)),
    /// and reads the labeled rows' clusters as ranks (`DENSE_RANK`, a window function).
    pub fn clusters(mut self, column: &str) -> Self {
        self.columns = self.columns.clusters(column);
        self
    }

    /// Linear IV's instruments ([`SqlModel::Iv`]): the covariates at `exogenous` (e.g.
    /// `[0]` for the intercept) and the extra columns `instruments`, which every block
    /// reads under those names (a source's own column for one comes from a
    /// [`ColumnSpec`] with [`source_column`](ColumnSpec::source_column), through
    /// [`from_columns`](Self::from_columns)). The excluded instruments are all the
    /// table's extra columns, in order, as
    /// [`LinearIv::new`](crate::models::LinearIv::new)`(exogenous, columns)` takes them.
    pub fn instruments<S: AsRef<str>>(
        mut self,
        exogenous: impl IntoIterator<Item = usize>,
        instruments: impl IntoIterator<Item = S>,
    ) -> Self {
        self.exogenous = exogenous.into_iter().collect();
        for name in instruments {
            self.columns = self.columns.column(name.as_ref());
        }
        self
    }

    /// Covariates per block.
    fn p(&self) -> usize {
        self.columns.real().covariates.len()
    }

    /// Moments per block for `model`: p, or for linear IV the exogenous covariates and
    /// the excluded instruments.
    fn k(&self, model: SqlModel) -> usize {
        match model {
            SqlModel::Iv => self.exogenous.len() + self.columns.column_names().len(),
            _ => self.p(),
        }
    }

    /// What linear IV needs of the table: excluded instruments, and exogenous
    /// covariates that exist.
    fn check_instruments(&self, model: SqlModel) -> std::result::Result<(), String> {
        if model != SqlModel::Iv {
            return Ok(());
        }
        if self.columns.column_names().is_empty() {
            return Err(
                "linear IV needs its instruments: name them with `SqlTable::instruments`".into(),
            );
        }
        match self.exogenous.iter().find(|&&j| j >= self.p()) {
            Some(j) => Err(format!(
                "exogenous column {j} does not exist: x has {} columns",
                self.p()
            )),
            None => Ok(()),
        }
    }

    fn table_ref(&self) -> String {
        match &self.table {
            TableRef::Name(parts) => parts.iter().map(|p| ident(p)).collect::<Vec<_>>().join("."),
            TableRef::Subquery { query, alias } => format!("({query}) {}", ident(alias)),
        }
    }

    fn label_test(&self) -> String {
        match self.label_kind {
            LabelKind::Number => format!(
                "CAST({} AS DOUBLE PRECISION) = 1",
                ident(self.columns.labeled())
            ),
            LabelKind::Boolean => format!("{} = TRUE", ident(self.columns.labeled())),
        }
    }

    /// The labeled rows: the real outcome, covariates and extra columns, then each
    /// source's, then the
    /// weight, the labeling probability and the cluster's rank among the labeled
    /// rows' clusters if there are, in the order [`open`](Self::open) reads them.
    pub fn labeled_query(&self) -> String {
        let blocks = std::iter::once((crate::REAL, self.columns.real()))
            .chain(self.columns.sources().iter().map(|(n, b)| (n.as_str(), b)));
        let columns: Vec<String> = blocks
            .flat_map(|(name, b)| {
                b.names()
                    .chain(self.columns.block_columns(name))
                    .collect::<Vec<_>>()
            })
            .chain(self.columns.weights_column())
            .chain(self.columns.probabilities_column())
            .map(ident)
            .collect();
        let mut casted: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CAST({c} AS DOUBLE PRECISION) AS c{i}"))
            .collect();
        if let Some(c) = self.columns.clusters_column() {
            casted.push(format!(
                "CAST(DENSE_RANK() OVER (ORDER BY {}) AS DOUBLE PRECISION) AS c{}",
                ident(c),
                casted.len()
            ));
        }
        format!(
            "SELECT {} FROM {} WHERE {}",
            casted.join(", "),
            self.table_ref(),
            self.label_test()
        )
    }

    /// With [`weights`](Self::weights), the number of rows whose weight is null,
    /// not positive or not finite (NaN included, which SQL engines that have it
    /// order above every number).
    pub fn weights_check_query(&self) -> Option<String> {
        let w = ident(self.columns.weights_column()?);
        let value = format!("CAST({w} AS DOUBLE PRECISION)");
        Some(format!(
            "SELECT CAST(COUNT(*) AS DOUBLE PRECISION) AS bad FROM {} WHERE {w} IS NULL OR NOT ({value} > 0 AND {value} <= {})",
            self.table_ref(),
            number(f64::MAX)
        ))
    }

    /// With [`clusters`](Self::clusters), the number of distinct clusters G and of
    /// rows without a cluster (null).
    pub fn clusters_query(&self) -> Option<String> {
        let c = ident(self.columns.clusters_column()?);
        Some(format!(
            "SELECT CAST(COUNT(DISTINCT {c}) AS DOUBLE PRECISION) AS g, CAST(COUNT(*) - COUNT({c}) AS DOUBLE PRECISION) AS missing FROM {}",
            self.table_ref()
        ))
    }

    /// The number of rows T.
    pub fn count_query(&self) -> String {
        format!(
            "SELECT CAST(COUNT(*) AS DOUBLE PRECISION) AS t FROM {}",
            self.table_ref()
        )
    }

    /// One pass as a single row of sums, in the order of [`MomentSums::to_vec`] after
    /// its header (T, n, Σg, then ΣĜ, the upper triangle of Σggᵀ row by row, and the
    /// contraction, each when requested). With [`clusters`](Self::clusters) the rows
    /// are summed by cluster first, Σggᵀ and the contraction are over the clusters'
    /// sums (without the factor G/(G − 1)), and G comes last.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a parameter or the contraction vector is not a
    /// finite number (no SQL is written for it), or the request names a source the
    /// table does not have, has the wrong number of parameters, divides by labeling
    /// probabilities the table has no column for, or is for linear IV without
    /// instruments ([`instruments`](Self::instruments)).
    pub fn pass_query(&self, model: SqlModel, request: &PassRequest) -> Result<String> {
        let invalid = |reason: String| Error::InvalidConfig {
            parameter: "pass request",
            reason,
        };
        let p = self.p();
        if let Some(&s) = request
            .sources
            .iter()
            .find(|&&s| s >= self.columns.sources().len())
        {
            return Err(invalid(format!("no source {s}")));
        }
        if request.probabilities && self.columns.probabilities_column().is_none() {
            return Err(invalid(
                "the request divides by labeling probabilities the table has no column for".into(),
            ));
        }
        if request.params.len() != p * (1 + request.sources.len()) {
            return Err(invalid(format!(
                "{} parameters for {} blocks of {p}",
                request.params.len(),
                1 + request.sources.len()
            )));
        }
        let values = request
            .params
            .iter()
            .chain(request.contraction.iter().flatten());
        if let Some(v) = values.copied().find(|v| !v.is_finite()) {
            return Err(invalid(format!(
                "{v} is not a finite number: no SQL is written for it"
            )));
        }
        self.check_instruments(model).map_err(invalid)?;
        Ok(self.write_pass(model, request))
    }

    /// [`pass_query`](Self::pass_query)'s SQL, for a checked request: three nested
    /// selects (each block's covariates and residual; the residuals and slopes of the
    /// link; the stacked moments and their derivatives per row), with clusters a
    /// fourth summing them by cluster, under one aggregate.
    fn write_pass(&self, model: SqlModel, request: &PassRequest) -> String {
        let layout = MomentLayout {
            p: self.p(),
            k: self.k(model),
            instruments: (model == SqlModel::Iv).then(|| self.exogenous.clone()),
            m: request.sources.len(),
            weighted: self.columns.weights_column().is_some(),
            probabilities: request.probabilities,
            clustered: self.columns.clusters_column().is_some(),
        };
        let inner = self.block_columns(model, request);
        let middle = format!(
            "SELECT {} FROM ({inner}) rows_in",
            layout.link_columns(model).join(", ")
        );
        let mut rows = format!(
            "SELECT {} FROM ({middle}) rows_mid",
            layout.row_columns(request).join(", ")
        );
        if layout.clustered {
            rows = format!(
                "SELECT {} FROM ({rows}) rows_each GROUP BY c",
                layout.cluster_columns(request).join(", ")
            );
        }
        let casted: Vec<String> = layout
            .sums(request)
            .into_iter()
            .enumerate()
            .map(|(i, e)| format!("CAST({e} AS DOUBLE PRECISION) AS v{i}"))
            .collect();
        format!("SELECT {} FROM ({rows}) rows_out", casted.join(", "))
    }

    /// The innermost select: s, and per block b its covariates b{b}x{j} (for linear IV
    /// also its excluded instruments b{b}z{j}), the residual e{b} and the slope d{b} of
    /// the mean (1 for least squares and linear IV), or for the logistic and Poisson
    /// links its mean mu{b} and outcome y{b}.
    fn block_columns(&self, model: SqlModel, request: &PassRequest) -> String {
        let real = (crate::REAL, self.columns.real());
        let blocks: Vec<(&str, &crate::tier::BlockColumns)> = std::iter::once(real)
            .chain(request.sources.iter().map(|&s| {
                let (name, block) = &self.columns.sources()[s];
                (name.as_str(), block)
            }))
            .collect();
        let label_test = self.label_test();
        let mut base = vec![format!(
            "CASE WHEN {label_test} THEN CAST(1 AS DOUBLE PRECISION) ELSE CAST(0 AS DOUBLE PRECISION) END AS s"
        )];
        if let Some(w) = self.columns.weights_column() {
            base.push(format!("CAST({} AS DOUBLE PRECISION) AS w", ident(w)));
        }
        if let Some(c) = self.columns.clusters_column() {
            base.push(format!("{} AS c", ident(c)));
        }
        if let Some(pi) = self
            .columns
            .probabilities_column()
            .filter(|_| request.probabilities)
        {
            // 1/π on labeled rows only: elsewhere π may be null or zero.
            base.push(format!(
                "CASE WHEN {label_test} THEN 1 / CAST({} AS DOUBLE PRECISION) ELSE CAST(0 AS DOUBLE PRECISION) END AS ip",
                ident(pi)
            ));
        }
        for (b, block) in blocks.into_iter().enumerate() {
            base.extend(self.block_select(model, request, (b, block), &label_test));
        }
        format!("SELECT {} FROM {}", base.join(", "), self.table_ref())
    }

    /// Block b's columns in the innermost select (see
    /// [`block_columns`](Self::block_columns)): its covariates, for linear IV its
    /// excluded instruments, and its residual and slope or its mean and outcome at the
    /// request's parameters. The real data's values are read on labeled rows only
    /// (they may be null elsewhere).
    fn block_select(
        &self,
        model: SqlModel,
        request: &PassRequest,
        (b, (name, block)): (usize, (&str, &crate::tier::BlockColumns)),
        label_test: &str,
    ) -> Vec<String> {
        let p = self.p();
        let value = |c: &str| {
            let cast = format!("CAST({} AS DOUBLE PRECISION)", ident(c));
            match b {
                0 => format!(
                    "CASE WHEN {label_test} THEN {cast} ELSE CAST(0 AS DOUBLE PRECISION) END"
                ),
                _ => cast,
            }
        };
        let theta = request.params.slice(ndarray::s![b * p..(b + 1) * p]);
        let eta: Vec<String> = (block.covariates.iter().zip(theta.iter()))
            .map(|(c, &v)| format!("{} * {}", number(v), value(c)))
            .collect();
        let eta = eta.join(" + ");
        let mut out: Vec<String> = (block.covariates.iter().enumerate())
            .map(|(j, c)| format!("{} AS b{b}x{j}", value(c)))
            .collect();
        if model == SqlModel::Iv {
            let excluded = self.columns.block_columns(name);
            out.extend(
                excluded
                    .iter()
                    .enumerate()
                    .map(|(j, c)| format!("{} AS b{b}z{j}", value(c))),
            );
        }
        let y = value(&block.outcome);
        match model {
            SqlModel::Ols | SqlModel::Iv => {
                out.push(format!("{y} - ({eta}) AS e{b}"));
                out.push(format!("CAST(1 AS DOUBLE PRECISION) AS d{b}"));
            }
            SqlModel::Logistic => {
                // σ(η) without overflow: 1/(1 + e^−η) for η ≥ 0, e^η/(1 + e^η) below.
                let mean = format!(
                    "CASE WHEN ({eta}) >= 0 THEN 1 / (1 + EXP(-({eta}))) ELSE EXP({eta}) / (1 + EXP({eta})) END"
                );
                out.push(format!("{mean} AS mu{b}"));
                out.push(format!("{y} AS y{b}"));
            }
            SqlModel::Poisson => {
                out.push(format!("EXP({eta}) AS mu{b}"));
                out.push(format!("{y} AS y{b}"));
            }
        }
        out
    }

    /// Reads the labeled rows and the row count through `run` and returns the data set
    /// whose passes `run` executes as [`pass_query`](Self::pass_query)s. `run` executes
    /// one query and returns its rows, each as the values of its columns (as f64; SQL
    /// NULL as NaN).
    ///
    /// # Errors
    /// `run`'s errors; [`Error::ShapeMismatch`] when a query returns other than the
    /// expected columns; the errors of [`DataSources`] for the labeled rows.
    pub fn open<F>(self, model: SqlModel, run: F) -> Result<DataSources>
    where
        F: Fn(&str) -> Result<Vec<Vec<f64>>> + Send + Sync + 'static,
    {
        self.columns.check()?;
        self.check_instruments(model)
            .map_err(|reason| Error::InvalidConfig {
                parameter: "instruments",
                reason,
            })?;
        self.check_weights(&run)?;
        let n_clusters = self.count_clusters(&run)?;
        let in_memory = self.read_labeled(&run)?;
        let count = run(&self.count_query())?;
        let n_rows = count
            .first()
            .and_then(|r| r.first())
            .copied()
            .unwrap_or(0.0);
        let engine = SqlEngine {
            names: self.columns.source_names(),
            table: self,
            model,
            n_clusters,
            run,
        };
        DataSources::from_engine(&in_memory, n_rows as usize, Box::new(engine))
    }

    /// Every row's weight, checked by [`weights_check_query`](Self::weights_check_query).
    fn check_weights<F>(&self, run: &F) -> Result<()>
    where
        F: Fn(&str) -> Result<Vec<Vec<f64>>>,
    {
        let (Some(query), Some(column)) =
            (self.weights_check_query(), self.columns.weights_column())
        else {
            return Ok(());
        };
        let bad = run(&query)?
            .first()
            .and_then(|r| r.first())
            .copied()
            .unwrap_or(0.0);
        if bad == 0.0 {
            return Ok(());
        }
        Err(Error::InvalidConfig {
            parameter: "weights",
            reason: format!(
                "{bad} row(s) of column `{column}` hold a weight that is null, not positive or not finite: weights must be positive and finite"
            ),
        })
    }

    /// With clusters, their number G, checked by
    /// [`clusters_query`](Self::clusters_query): no row without a cluster.
    fn count_clusters<F>(&self, run: &F) -> Result<Option<usize>>
    where
        F: Fn(&str) -> Result<Vec<Vec<f64>>>,
    {
        let (Some(query), Some(column)) = (self.clusters_query(), self.columns.clusters_column())
        else {
            return Ok(None);
        };
        let counts = run(&query)?.first().cloned().unwrap_or_default();
        let (g, missing) = match counts[..] {
            [g, missing] => (g, missing),
            _ => {
                return Err(Error::ShapeMismatch {
                    what: "columns of the clusters' count".into(),
                    expected: 2,
                    found: counts.len(),
                })
            }
        };
        if missing != 0.0 {
            return Err(Error::InvalidConfig {
                parameter: "clusters",
                reason: format!(
                    "{missing} row(s) of column `{column}` have no cluster (null): every row needs one"
                ),
            });
        }
        Ok(Some(g as usize))
    }

    /// The labeled rows read by [`labeled_query`](Self::labeled_query), in memory.
    fn read_labeled<F>(&self, run: &F) -> Result<DataSources>
    where
        F: Fn(&str) -> Result<Vec<Vec<f64>>>,
    {
        let (p, names) = (self.p(), self.columns.column_names());
        let weighted = self.columns.weights_column().is_some();
        let designed = self.columns.probabilities_column().is_some();
        let clustered = self.columns.clusters_column().is_some();
        let per_block = 1 + p + names.len();
        let blocks = per_block * (1 + self.columns.sources().len());
        let width = blocks + usize::from(weighted) + usize::from(designed) + usize::from(clustered);
        let labeled = run(&self.labeled_query())?;
        if let Some(row) = labeled.iter().find(|r| r.len() != width) {
            return Err(Error::ShapeMismatch {
                what: "columns of the labeled rows".into(),
                expected: width,
                found: row.len(),
            });
        }
        // Column-major, the clusters (ranks 1, 2, … as whole numbers, whose bits
        // identify a cluster) apart.
        let values = width - usize::from(clustered);
        let columns: Vec<Vec<f64>> = (0..values)
            .map(|c| labeled.iter().map(|r| r[c]).collect())
            .collect();
        let ranks: Option<Vec<u64>> =
            clustered.then(|| labeled.iter().map(|r| r[width - 1].to_bits()).collect());
        DataSources::from_labeled_columns(&self.columns, &columns, ranks.as_deref())
    }
}

/// A [`SumsEngine`] running [`SqlTable::pass_query`]s through the caller's function.
struct SqlEngine<F> {
    table: SqlTable,
    names: Vec<String>,
    model: SqlModel,
    /// G, when the table's rows are clustered.
    n_clusters: Option<usize>,
    run: F,
}

impl<F> std::fmt::Debug for SqlEngine<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEngine")
            .field("table", &self.table)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl<F> SumsEngine for SqlEngine<F>
where
    F: Fn(&str) -> Result<Vec<Vec<f64>>> + Send + Sync,
{
    fn model_name(&self) -> &str {
        self.model.moment_name()
    }
    fn source_names(&self) -> &[String] {
        &self.names
    }
    fn column_names(&self) -> &[String] {
        self.table.columns.column_names()
    }
    fn weighs_rows(&self) -> bool {
        self.table.columns.weights_column().is_some()
    }
    fn has_probabilities(&self) -> bool {
        self.table.columns.probabilities_column().is_some()
    }
    fn n_clusters(&self) -> Option<usize> {
        self.n_clusters
    }
    fn sums(&self, request: &PassRequest) -> Result<MomentSums> {
        let query = self.table.pass_query(self.model, request)?;
        let rows = (self.run)(&query)?;
        let mut values = rows.first().cloned().unwrap_or_default();
        let (p, k) = (self.table.p(), self.table.k(self.model));
        let m = request.sources.len();
        let (kk, q) = (k * (1 + 2 * m), p * (1 + m));
        let expected = sums_width(kk, q, request) + usize::from(self.n_clusters.is_some());
        if values.len() != expected {
            return Err(Error::ShapeMismatch {
                what: "sums returned by a pass query".into(),
                expected,
                found: values.len(),
            });
        }
        // With clusters, G comes last.
        let clusters = self.n_clusters.and_then(|_| values.pop());
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let mut flat = vec![
            k as f64,
            p as f64,
            m as f64,
            flag(request.jacobian),
            flag(request.omega) + 2.0 * flag(request.squares && !request.omega),
            flag(request.contraction.is_some()),
        ];
        // T, n, Σg and the Jacobian as they come; SUM over no rows is NULL.
        let value = |v: f64| if v.is_nan() { 0.0 } else { v };
        let mut at = 2 + kk + if request.jacobian { kk * q } else { 0 };
        flat.extend(values[..at].iter().map(|&v| value(v)));
        if request.omega {
            let mut omega = Array2::<f64>::zeros((kk, kk));
            for a in 0..kk {
                for c in a..kk {
                    omega[[a, c]] = value(values[at]);
                    omega[[c, a]] = omega[[a, c]];
                    at += 1;
                }
            }
            flat.extend(omega.iter());
        }
        flat.extend(values[at..].iter().map(|&v| value(v)));
        let mut sums = MomentSums::from_slice(&flat)?;
        if let Some(g) = clusters {
            sums.finish_clusters(value(g) as usize);
        }
        Ok(sums)
    }
}

/// The number of sums a pass query returns for `request` with K moments and Q
/// parameters (before G, with clusters): T, n, Σg, and as requested ΣĜ, Σggᵀ's upper
/// triangle or the squares, and the contraction.
fn sums_width(kk: usize, q: usize, request: &PassRequest) -> usize {
    let jacobian = if request.jacobian { kk * q } else { 0 };
    let omega = match (request.omega, request.squares) {
        (true, _) => kk * (kk + 1) / 2,
        (false, true) => kk,
        (false, false) => 0,
    };
    let contraction = if request.contraction.is_some() {
        kk * q
    } else {
        0
    };
    2 + kk + jacobian + omega + contraction
}

/// The stacked moments' layout in a pass's SQL: p coefficients and k moments per block
/// and M sources give K = k(1 + 2M) moments g_a (the real and each source's labeled
/// block, then each source's all-rows block) and Q = p(1 + M) parameters; with
/// observation weights every row's moments (and their derivatives) carry w, with
/// labeling probabilities the labeled blocks' carry 1/π (`ip`), and with clusters every
/// select carries the cluster `c`. A moment is z_i e (its derivative −z_i x_j d): z = x
/// (k = p), or for linear IV the covariates at `instruments` and then the excluded
/// instruments.
struct MomentLayout {
    p: usize,
    k: usize,
    instruments: Option<Vec<usize>>,
    m: usize,
    weighted: bool,
    probabilities: bool,
    /// Whether the rows are summed by cluster (`c`) before the aggregate.
    clustered: bool,
}

impl MomentLayout {
    /// K, the number of stacked moments.
    fn moments(&self) -> usize {
        self.k * (1 + 2 * self.m)
    }

    /// Q, the number of parameters.
    fn parameters(&self) -> usize {
        self.p * (1 + self.m)
    }

    /// Moment a's parameter block, whether it is a labeled block, and its instrument.
    fn moment(&self, a: usize) -> (usize, bool, usize) {
        let (block, i) = (a / self.k, a % self.k);
        if block <= self.m {
            (block, true, i)
        } else {
            (block - self.m, false, i)
        }
    }

    /// A row's factor of moment a: its weight, and S_t (and 1/π_t) for a labeled
    /// block.
    fn factor(&self, labeled: bool) -> String {
        let parts = [
            (self.weighted, "w * "),
            (labeled, "s * "),
            (labeled && self.probabilities, "ip * "),
        ];
        parts
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| *f)
            .collect()
    }

    /// Instrument i of block b: covariate i, or for linear IV the exogenous covariates
    /// and then the excluded instruments.
    fn z(&self, b: usize, i: usize) -> String {
        match &self.instruments {
            None => format!("b{b}x{i}"),
            Some(exogenous) => match exogenous.get(i) {
                Some(j) => format!("b{b}x{j}"),
                None => format!("b{b}z{}", i - exogenous.len()),
            },
        }
    }

    /// g_a on a row.
    fn g(&self, a: usize) -> String {
        let (b, labeled, i) = self.moment(a);
        format!("{}{} * e{b}", self.factor(labeled), self.z(b, i))
    }

    /// ∂g_a/∂β_j on a row: nonzero within the moment's parameter block.
    fn dg(&self, a: usize, j: usize) -> Option<String> {
        let (b, labeled, i) = self.moment(a);
        (j / self.p == b).then(|| {
            let jj = j % self.p;
            format!(
                "(-({}{} * b{b}x{jj} * d{b}))",
                self.factor(labeled),
                self.z(b, i)
            )
        })
    }

    /// The middle select's columns: residuals and slopes (from μ for the logistic and
    /// Poisson links), the real block's residual zeroed on unlabeled rows (its outcome may be
    /// null there).
    fn link_columns(&self, model: SqlModel) -> Vec<String> {
        let mut mid = vec!["s".to_string()];
        if self.weighted {
            mid.push("w".to_string());
        }
        if self.clustered {
            mid.push("c".to_string());
        }
        if self.probabilities {
            mid.push("ip".to_string());
        }
        let excluded = self.instruments.as_ref().map_or(0, |e| self.k - e.len());
        for b in 0..=self.m {
            for j in 0..self.p {
                mid.push(format!("b{b}x{j}"));
            }
            mid.extend((0..excluded).map(|j| format!("b{b}z{j}")));
            let (e, d) = match model {
                SqlModel::Ols | SqlModel::Iv => (format!("e{b}"), format!("d{b}")),
                SqlModel::Logistic => (format!("(y{b} - mu{b})"), format!("(mu{b} * (1 - mu{b}))")),
                SqlModel::Poisson => (format!("(y{b} - mu{b})"), format!("mu{b}")),
            };
            if b == 0 {
                mid.push(format!("CASE WHEN s = 1 THEN {e} ELSE 0 END AS e0"));
            } else {
                mid.push(format!("{e} AS e{b}"));
            }
            mid.push(format!("{d} AS d{b}"));
        }
        mid
    }

    /// The per-row select's columns: s, every g_a, and what the request sums of the
    /// derivatives (u = gᵀv and s_j = (∂g/∂β_j)ᵀv for a contraction by v).
    fn row_columns(&self, request: &PassRequest) -> Vec<String> {
        let (kk, q) = (self.moments(), self.parameters());
        let mut columns = vec!["s".to_string()];
        if self.clustered {
            columns.push("c".to_string());
        }
        columns.extend((0..kk).map(|a| format!("{} AS g{a}", self.g(a))));
        let or_zero = |terms: Vec<String>| match terms.is_empty() {
            true => "0".to_string(),
            false => terms.join(" + "),
        };
        if let Some(v) = request.contraction.as_ref() {
            let u: Vec<String> = (0..kk)
                .filter(|&a| v[a] != 0.0)
                .map(|a| format!("{} * ({})", number(v[a]), self.g(a)))
                .collect();
            columns.push(format!("{} AS u", or_zero(u)));
            for j in 0..q {
                let terms: Vec<String> = (0..kk)
                    .filter(|&a| v[a] != 0.0)
                    .filter_map(|a| self.dg(a, j).map(|d| format!("{} * {d}", number(v[a]))))
                    .collect();
                columns.push(format!("{} AS sd{j}", or_zero(terms)));
            }
        }
        if request.contraction.is_some() || request.jacobian {
            // The per-row derivatives the sums need, by (a, j).
            for a in 0..kk {
                for j in 0..q {
                    if let Some(d) = self.dg(a, j) {
                        columns.push(format!("{d} AS dg{a}_{j}"));
                    }
                }
            }
        }
        columns
    }

    /// The by-cluster select's columns: each cluster's rows `n`, and the sums of the
    /// per-row columns the aggregate reads (s, g, and as requested the rows' squares
    /// `q`, u, s_j and the derivatives), so that a cluster enters the aggregate as a
    /// row does.
    fn cluster_columns(&self, request: &PassRequest) -> Vec<String> {
        let (kk, q) = (self.moments(), self.parameters());
        let mut columns = vec!["COUNT(*) AS n".to_string(), "SUM(s) AS s".to_string()];
        columns.extend((0..kk).map(|a| format!("SUM(g{a}) AS g{a}")));
        if request.squares && !request.omega {
            columns.extend((0..kk).map(|a| format!("SUM(g{a} * g{a}) AS q{a}")));
        }
        if request.contraction.is_some() {
            columns.push("SUM(u) AS u".to_string());
            columns.extend((0..q).map(|j| format!("SUM(sd{j}) AS sd{j}")));
        }
        if request.contraction.is_some() || request.jacobian {
            for a in 0..kk {
                for j in (0..q).filter(|&j| self.dg(a, j).is_some()) {
                    columns.push(format!("SUM(dg{a}_{j}) AS dg{a}_{j}"));
                }
            }
        }
        columns
    }

    /// The aggregate's sums: rows, labeled rows, Σg, and as requested Σ∂g/∂β, Σggᵀ
    /// (upper triangle) and the contraction's Σ(∂g_a/∂β_j u + g_a s_j), over rows or,
    /// with clusters, over the clusters' sums (then the rows' squares are the
    /// clusters' `q`, and G comes last).
    fn sums(&self, request: &PassRequest) -> Vec<String> {
        let (kk, q) = (self.moments(), self.parameters());
        let rows = match self.clustered {
            true => "SUM(n)",
            false => "COUNT(*)",
        };
        let mut sums = vec![rows.to_string(), "SUM(s)".to_string()];
        sums.extend((0..kk).map(|a| format!("SUM(g{a})")));
        if request.jacobian {
            for a in 0..kk {
                for j in 0..q {
                    sums.push(match self.dg(a, j) {
                        Some(_) => format!("SUM(dg{a}_{j})"),
                        None => "0".to_string(),
                    });
                }
            }
        }
        if request.omega {
            for a in 0..kk {
                sums.extend((a..kk).map(|c| format!("SUM(g{a} * g{c})")));
            }
        } else if request.squares && self.clustered {
            sums.extend((0..kk).map(|a| format!("SUM(q{a})")));
        } else if request.squares {
            sums.extend((0..kk).map(|a| format!("SUM(g{a} * g{a})")));
        }
        if request.contraction.is_some() {
            for a in 0..kk {
                for j in 0..q {
                    let first = match self.dg(a, j) {
                        Some(_) => format!("dg{a}_{j} * u + "),
                        None => String::new(),
                    };
                    sums.push(format!("SUM({first}g{a} * sd{j})"));
                }
            }
        }
        if self.clustered {
            sums.push("COUNT(*)".to_string());
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    fn request(params: Vec<f64>) -> PassRequest {
        PassRequest {
            sources: vec![0],
            params: Array1::from(params),
            jacobian: true,
            omega: true,
            squares: false,
            contraction: None,
            probabilities: false,
        }
    }

    fn table() -> SqlTable {
        SqlTable::new("runs", "labeled", "y", ["one", "x"]).source("gpt", "gpt_y", ["one", "x"])
    }

    #[test]
    fn a_weights_column_weighs_every_moment_and_is_checked() {
        let weighted = table().weights("w eight");
        let sql = weighted
            .pass_query(SqlModel::Ols, &request(vec![0.1, 0.2, 0.3, 0.4]))
            .unwrap();
        assert!(sql.contains("CAST(\"w eight\" AS DOUBLE PRECISION) AS w"));
        // K = 6 moments, each weighted; the four of the labeled blocks carry S as
        // well, in g and in each of their two derivatives.
        assert_eq!(sql.matches("w * s * b").count(), 4 + 4 * 2);
        assert!(sql.contains("w * b1x0 * e1")); // the source's all-rows block
        let plain = table()
            .pass_query(SqlModel::Ols, &request(vec![0.1, 0.2, 0.3, 0.4]))
            .unwrap();
        assert!(!plain.contains(" w "));
        assert!(weighted
            .labeled_query()
            .contains("CAST(\"w eight\" AS DOUBLE PRECISION) AS c6 FROM"));
        let check = weighted.weights_check_query().unwrap();
        assert!(check.contains("\"w eight\" IS NULL OR NOT ("), "{check}");
        assert!(table().weights_check_query().is_none());
    }

    #[test]
    fn labeling_probabilities_divide_the_labeled_blocks_when_asked() {
        let designed = table().labeling_probabilities("pi");
        let asked = PassRequest {
            probabilities: true,
            ..request(vec![0.1, 0.2, 0.3, 0.4])
        };
        let sql = designed.pass_query(SqlModel::Logistic, &asked).unwrap();
        assert!(sql.contains("THEN 1 / CAST(\"pi\" AS DOUBLE PRECISION) ELSE"));
        // The four labeled moments, in g and in their two derivatives each; the
        // all-rows block's two never.
        assert_eq!(sql.matches("s * ip * b").count(), 4 + 4 * 2);
        assert!(sql.contains(", b1x0 * e1 AS g4"));
        // Without a probabilities column the request is refused before any SQL.
        assert!(matches!(
            table().pass_query(SqlModel::Logistic, &asked),
            Err(Error::InvalidConfig { .. })
        ));
        // A fit that treats the labels as drawn at random asks for no 1/π.
        let plain = designed
            .pass_query(SqlModel::Logistic, &request(vec![0.1, 0.2, 0.3, 0.4]))
            .unwrap();
        assert!(!plain.contains("ip"));
        assert!(designed
            .labeled_query()
            .contains("CAST(\"pi\" AS DOUBLE PRECISION) AS c6 FROM"));
    }

    #[test]
    fn a_column_spec_describes_the_same_table() {
        let columns =
            ColumnSpec::new("labeled", "y", ["one", "x"]).source("gpt", "gpt_y", ["one", "x"]);
        assert_eq!(SqlTable::from_columns("runs", columns), table());
    }

    #[test]
    fn subqueries_that_could_leave_their_parentheses_are_refused() {
        for bad in [
            "SELECT * FROM \"t\") q; DROP TABLE canary; --",
            "SELECT * FROM t; DROP TABLE canary",
            "SELECT * FROM t -- comment",
            "SELECT * FROM t /* comment */",
            "SELECT * FROM t) AS q, (SELECT 1",
            "SELECT * FROM (t",
            "SELECT * FROM t WHERE a = 'open",
            "SELECT * FROM t WHERE a = 'it\\'s'",
            "   ",
        ] {
            let refused = SqlTable::subquery(bad, "q", "s", "y", ["x"]);
            assert!(
                matches!(
                    refused,
                    Err(Error::InvalidConfig {
                        parameter: "subquery",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        // Separators inside literals and quoted identifiers are text, not SQL.
        for good in [
            "SELECT * FROM t WHERE note = 'a; b -- c /* d'",
            "SELECT \"odd;name\", `x)` FROM t WHERE a = 'it''s'",
            "SELECT o.*, l.y FROM o LEFT JOIN (SELECT * FROM l) l ON o.id = l.id",
        ] {
            assert!(
                SqlTable::subquery(good, "q", "s", "y", ["x"]).is_ok(),
                "{good}"
            );
        }
        let sql = SqlTable::subquery("SELECT * FROM t", "q\"", "s", "y", ["x"])
            .unwrap()
            .count_query();
        assert!(sql.ends_with("FROM (SELECT * FROM t) \"q\"\"\""), "{sql}");
    }

    #[test]
    fn names_are_quoted_identifiers_part_by_part() {
        let t = SqlTable::new("main.t\"; DROP TABLE x; --", "la\"b", "y", ["one"]);
        let sql = t.count_query();
        assert!(
            sql.ends_with("FROM \"main\".\"t\"\"; DROP TABLE x; --\""),
            "{sql}"
        );
        // A parenthesis no longer turns a name into SQL text.
        let sql = SqlTable::new("(SELECT 1) q", "s", "y", ["x"]).count_query();
        assert!(sql.ends_with("FROM \"(SELECT 1) q\""), "{sql}");
        assert!(t
            .labeled_query()
            .contains("CAST(\"la\"\"b\" AS DOUBLE PRECISION) = 1"));
    }

    #[test]
    fn boolean_labels_are_tested_as_booleans() {
        let sql = table().label_kind(LabelKind::Boolean).labeled_query();
        assert!(sql.ends_with("WHERE \"labeled\" = TRUE"), "{sql}");
        let pass = table()
            .label_kind(LabelKind::Boolean)
            .pass_query(SqlModel::Ols, &request(vec![0.1; 4]))
            .unwrap();
        assert!(pass.contains("\"labeled\" = TRUE") && !pass.contains("CAST(\"labeled\""));
    }

    #[test]
    fn non_finite_parameters_write_no_sql() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let refused =
                table().pass_query(SqlModel::Logistic, &request(vec![0.1, bad, 0.0, 0.2]));
            assert!(matches!(refused, Err(Error::InvalidConfig { .. })), "{bad}");
            let mut with_contraction = request(vec![0.1; 4]);
            with_contraction.contraction = Some(Array1::from_elem(6, bad));
            assert!(table()
                .pass_query(SqlModel::Ols, &with_contraction)
                .is_err());
        }
        assert!(table()
            .pass_query(SqlModel::Ols, &request(vec![0.1; 3]))
            .is_err());
        let mut unknown = request(vec![0.1; 4]);
        unknown.sources = vec![3];
        assert!(table().pass_query(SqlModel::Ols, &unknown).is_err());
        let sql = table()
            .pass_query(SqlModel::Ols, &request(vec![1e-300, 2.5, -3.0, 4.0]))
            .unwrap();
        assert!(sql.contains("CAST(1e-300 AS DOUBLE PRECISION)") && !sql.contains("NaN"));
    }

    #[test]
    fn squares_alone_are_one_sum_per_moment() {
        let full = table()
            .pass_query(SqlModel::Logistic, &request(vec![0.1; 4]))
            .unwrap();
        let squares = PassRequest {
            omega: false,
            squares: true,
            ..request(vec![0.1; 4])
        };
        let alone = table().pass_query(SqlModel::Logistic, &squares).unwrap();
        // K = 6 moments: 21 sums of products for Σggᵀ, 6 squares alone.
        let products = |sql: &str| sql.matches("SUM(g").count();
        assert_eq!(products(&full) - products(&alone), 21 - 6);
        assert!(alone.contains("SUM(g5 * g5)") && !alone.contains("SUM(g0 * g1)"));
    }

    #[test]
    fn clusters_sum_each_pass_by_cluster_and_count_them() {
        let clustered = table().clusters("school");
        let contraction = PassRequest {
            contraction: Some(Array1::from(vec![0.5; 6])),
            squares: true,
            omega: false,
            ..request(vec![0.1; 4])
        };
        let sql = clustered.pass_query(SqlModel::Ols, &contraction).unwrap();
        // The clusters' sums, then the aggregate over them, G last.
        assert!(sql.contains("GROUP BY c") && sql.contains("\"school\" AS c"));
        assert!(sql.contains("SUM(u) AS u") && sql.contains("SUM(sd0) AS sd0"));
        assert!(sql.contains("SUM(q5)") && sql.starts_with("SELECT CAST(SUM(n)"));
        // T, n, 6 moments, 24 derivatives, 6 squares, 24 contraction sums: G is v62.
        assert_eq!(sums_width(6, 4, &contraction), 62);
        assert!(sql.contains("CAST(COUNT(*) AS DOUBLE PRECISION) AS v62 FROM"));
        let labeled = clustered.labeled_query();
        assert!(labeled.contains("DENSE_RANK() OVER (ORDER BY \"school\")"));
        let count = clustered.clusters_query().unwrap();
        assert!(count.contains("COUNT(DISTINCT \"school\")"));
        assert!(table().clusters_query().is_none());
        // Unclustered, no grouping.
        let plain = table().pass_query(SqlModel::Ols, &contraction).unwrap();
        assert!(!plain.contains("GROUP BY") && plain.starts_with("SELECT CAST(COUNT(*)"));
    }

    /// Linear IV: k = 1 exogenous + 2 excluded instruments per block, p = 2, M = 1:
    /// K = 9 moments, each z_i times the block's residual, the excluded instruments
    /// read for every block (the real data's on labeled rows only) and the labeled
    /// rows' query reading them after each block's covariates; without instruments
    /// no SQL is written.
    #[test]
    fn linear_iv_reads_its_instruments_for_every_block() {
        let iv = table().instruments([0], ["z a", "w"]);
        let sql = iv
            .pass_query(SqlModel::Iv, &request(vec![0.1, 0.2, 0.3, 0.4]))
            .unwrap();
        for (j, column) in ["\"z a\"", "\"w\""].iter().enumerate() {
            let cast = format!("CAST({column} AS DOUBLE PRECISION)");
            let real = format!("THEN {cast} ELSE CAST(0 AS DOUBLE PRECISION) END AS b0z{j}");
            assert!(sql.contains(&real), "{sql}");
            assert!(sql.contains(&format!("{cast} AS b1z{j}")), "{sql}");
        }
        // g_1 (the real block's first excluded instrument) and Σggᵀ over K = 9 moments.
        assert!(sql.contains("s * b0z0 * e0 AS g1"));
        assert!(sql.contains("SUM(g8 * g8)") && !sql.contains("AS g9,"));
        let labeled = iv.labeled_query();
        let order = ["\"y\"", "\"one\"", "\"x\"", "\"z a\"", "\"w\"", "\"gpt_y\""];
        let at: Vec<usize> = order.iter().map(|c| labeled.find(c).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{labeled}");
        let bare = table().pass_query(SqlModel::Iv, &request(vec![0.1, 0.2, 0.3, 0.4]));
        assert!(matches!(bare, Err(Error::InvalidConfig { .. })));
        let outside = table().instruments([2], ["z"]);
        assert!(outside
            .pass_query(SqlModel::Iv, &request(vec![0.1; 4]))
            .is_err());
    }
}
