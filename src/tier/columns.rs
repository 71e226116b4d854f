//! [`ColumnSpec`]: which columns of a table hold a data set's rows, the one description
//! the out-of-core tiers share (Parquet files, a SQL table, a DataFusion table).

use crate::error::{Error, Result};
use crate::rows::REAL;

/// The outcome and covariate columns of one block (the real data, or a source).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlockColumns {
    /// The outcome's column.
    pub outcome: String,
    /// The covariates' columns, in θ's order.
    pub covariates: Vec<String>,
}

impl BlockColumns {
    /// An outcome column and covariate columns.
    pub fn new<S: Into<String>>(outcome: &str, covariates: impl IntoIterator<Item = S>) -> Self {
        BlockColumns {
            outcome: outcome.to_string(),
            covariates: covariates.into_iter().map(Into::into).collect(),
        }
    }

    /// The outcome, then the covariates.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.outcome.as_str()).chain(self.covariates.iter().map(String::as_str))
    }
}

/// The columns of a table that holds a data set's rows: the label indicator S_t, the
/// real outcome and covariates (read on the labeled rows only; other rows may hold
/// nulls), each source's outcome and covariates on every row, in the order of η, and
/// optionally the observation (survey) weights w_t, which multiply every row's moments,
/// the labeling probabilities π_t (read on the labeled rows), which divide the
/// labeled blocks' moments, and the cluster of every row (any column whose values can be
/// compared for equality, no nulls), which makes Ω̂ cluster-robust; and extra columns
/// a model reads by name (an instrument of [`LinearIv`](crate::models::LinearIv)), read
/// on every block from the column of that name or, for a source, from a column of its
/// own ([`source_column`](Self::source_column)).
///
/// # Examples
/// ```
/// use synthgmm::ColumnSpec;
/// let columns = ColumnSpec::new("labeled", "y", ["one", "x"])
///     .source("proxy", "proxy_y", ["one", "x"])
///     .source("synth", "synth_y", ["one", "synth_x"]);
/// assert!(columns.check().is_ok());
/// assert_eq!(columns.source_names(), ["proxy", "synth"]);
/// assert_eq!(columns.distinct_names(), ["labeled", "y", "one", "x", "proxy_y", "synth_y", "synth_x"]);
/// assert!(ColumnSpec::new("labeled", "y", ["one", "x"]).source("real", "p", ["one", "x"]).check().is_err());
/// let weighted = columns.clone().weights("w");
/// assert_eq!(weighted.weights_column(), Some("w"));
/// assert_eq!(weighted.distinct_names().last(), Some(&"w"));
/// let designed = weighted.labeling_probabilities("pi");
/// assert_eq!(designed.probabilities_column(), Some("pi"));
/// assert_eq!(designed.distinct_names().last(), Some(&"pi"));
/// let clustered = designed.clusters("school");
/// assert_eq!(clustered.clusters_column(), Some("school"));
/// assert_eq!(clustered.distinct_names().last(), Some(&"school"));
/// let instrumented = columns.column("z").source_column("synth", "z", "synth_z");
/// assert_eq!(instrumented.column_names(), ["z"]);
/// assert_eq!(instrumented.block_columns("proxy"), ["z"]);
/// assert_eq!(instrumented.block_columns("synth"), ["synth_z"]);
/// assert!(instrumented.check().is_ok());
/// assert!(ColumnSpec::new("labeled", "y", ["x"]).source_column("none", "z", "z").check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnSpec {
    labeled: String,
    real: BlockColumns,
    sources: Vec<(String, BlockColumns)>,
    weights: Option<String>,
    probabilities: Option<String>,
    clusters: Option<String>,
    extra: ExtraColumns,
}

/// The extra columns a model reads by name: their names in order, and the blocks that
/// read one from a column of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct ExtraColumns {
    names: Vec<String>,
    /// (block, name, column).
    own: Vec<(String, String, String)>,
}

impl ExtraColumns {
    /// Declares `name` (once).
    pub(crate) fn add(&mut self, name: &str) {
        if !self.names.iter().any(|c| c == name) {
            self.names.push(name.to_string());
        }
    }

    /// Block `block` reads `name` from `column`; declares `name`.
    pub(crate) fn own(&mut self, block: &str, name: &str, column: &str) {
        self.add(name);
        self.own.retain(|(b, n, _)| !(b == block && n == name));
        (self.own).push((block.into(), name.into(), column.into()));
    }

    /// The table's columns holding block `block`'s extra columns, in name order.
    fn block(&self, block: &str) -> Vec<&str> {
        (self.names.iter())
            .map(|name| {
                (self.own.iter())
                    .find(|(b, n, _)| b == block && n == name)
                    .map_or(name.as_str(), |(_, _, column)| column.as_str())
            })
            .collect()
    }
}

impl ColumnSpec {
    /// The label indicator (boolean, or numbers 0 and 1) and the real data's outcome
    /// and covariates.
    pub fn new<S: Into<String>>(
        labeled: &str,
        outcome: &str,
        covariates: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            labeled: labeled.to_string(),
            real: BlockColumns::new(outcome, covariates),
            sources: Vec::new(),
            weights: None,
            probabilities: None,
            clusters: None,
            extra: ExtraColumns::default(),
        }
    }

    /// An extra column every block carries under `name` (an instrument, an offset), as
    /// [`DataSourcesBuilder::column`](crate::DataSourcesBuilder::column) takes it: read
    /// from the table's column `name` for the real data (on the labeled rows) and every
    /// source, unless a source has its own ([`source_column`](Self::source_column)).
    pub fn column(mut self, name: &str) -> Self {
        self.extra.add(name);
        self
    }

    /// Source `source`'s own column for the extra column `name` (e.g. a synthetic
    /// sample's own instrument), as
    /// [`DataSourcesBuilder::source_column`](crate::DataSourcesBuilder::source_column)
    /// takes it; declares `name` if [`column`](Self::column) did not.
    pub fn source_column(mut self, source: &str, name: &str, column: &str) -> Self {
        self.extra.own(source, name, column);
        self
    }

    /// The real data's own column for the extra column `name`, as
    /// [`DataSourcesBuilder::real_column`](crate::DataSourcesBuilder::real_column)
    /// takes it; declares `name` if [`column`](Self::column) did not.
    pub fn real_column(self, name: &str, column: &str) -> Self {
        self.source_column(REAL, name, column)
    }

    /// The extra columns' names, in the order the models see them.
    pub fn column_names(&self) -> &[String] {
        &self.extra.names
    }

    /// The extra columns, as one value (for the tiers that take a spec's).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn extra_columns(&self) -> &ExtraColumns {
        &self.extra
    }

    /// The spec with `extra` as its extra columns.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn with_extra_columns(mut self, extra: ExtraColumns) -> Self {
        self.extra = extra;
        self
    }

    /// The table's columns holding block `block`'s extra columns ([`REAL`] for the
    /// real data, else a source's name), in the order of
    /// [`column_names`](Self::column_names).
    pub fn block_columns(&self, block: &str) -> Vec<&str> {
        self.extra.block(block)
    }

    /// Observation (survey) weights w_t on every row, positive and finite, as
    /// [`DataSourcesBuilder::weights`](crate::DataSourcesBuilder::weights) takes them:
    /// every row's moments, labeled and all-rows blocks alike, are multiplied by w_t.
    pub fn weights(mut self, column: &str) -> Self {
        self.weights = Some(column.to_string());
        self
    }

    /// The observation weights' column, if any.
    pub fn weights_column(&self) -> Option<&str> {
        self.weights.as_deref()
    }

    /// Known labeling probabilities π_t in (0, 1], read on the labeled rows, as
    /// [`DataSourcesBuilder::labeling_probabilities`](crate::DataSourcesBuilder::labeling_probabilities)
    /// takes them: the labeled blocks' moments are divided by π_t (labeling not at
    /// random, e.g. a design that oversampled some rows).
    pub fn labeling_probabilities(mut self, column: &str) -> Self {
        self.probabilities = Some(column.to_string());
        self
    }

    /// The labeling probabilities' column, if any.
    pub fn probabilities_column(&self) -> Option<&str> {
        self.probabilities.as_deref()
    }

    /// The cluster of every row (no nulls), as
    /// [`DataSourcesBuilder::clusters`](crate::DataSourcesBuilder::clusters) takes them:
    /// Ω̂ sums each cluster's moments before their outer products,
    /// G/(G − 1) Σ_c s_c s_cᵀ with s_c = Σ_{t∈c} g_t over the G clusters.
    pub fn clusters(mut self, column: &str) -> Self {
        self.clusters = Some(column.to_string());
        self
    }

    /// The clusters' column, if any.
    pub fn clusters_column(&self) -> Option<&str> {
        self.clusters.as_deref()
    }

    /// A source on every row: its outcome and covariate columns (the real data's
    /// covariates, or others, e.g. a synthetic sample's own). Sources enter η in the
    /// order added.
    pub fn source<S: Into<String>>(
        mut self,
        name: &str,
        outcome: &str,
        covariates: impl IntoIterator<Item = S>,
    ) -> Self {
        self.sources
            .push((name.to_string(), BlockColumns::new(outcome, covariates)));
        self
    }

    /// The label indicator's column.
    pub fn labeled(&self) -> &str {
        &self.labeled
    }

    /// The real data's columns.
    pub fn real(&self) -> &BlockColumns {
        &self.real
    }

    /// Each source's name and columns, in the order of η.
    pub fn sources(&self) -> &[(String, BlockColumns)] {
        &self.sources
    }

    /// The sources' names, in the order of η.
    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Every column read, the label first, each once, in order of first mention (each
    /// block's outcome, covariates and extra columns; the weights, the labeling
    /// probabilities and the clusters last).
    pub fn distinct_names(&self) -> Vec<&str> {
        let mut out = vec![self.labeled.as_str()];
        let blocks = std::iter::once((REAL, &self.real))
            .chain(self.sources.iter().map(|(name, b)| (name.as_str(), b)));
        let names = blocks.flat_map(|(name, b)| {
            b.names()
                .chain(self.block_columns(name))
                .collect::<Vec<_>>()
        });
        let per_row = self
            .weights
            .as_deref()
            .into_iter()
            .chain(self.probabilities.as_deref())
            .chain(self.clusters.as_deref());
        for name in names.chain(per_row) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// Checks what every tier requires of its columns.
    ///
    /// # Errors
    /// [`Error::EmptyDesign`] when the real data have no covariate;
    /// [`Error::CovariateMismatch`] when a source has another number of covariates;
    /// [`Error::DuplicateSource`] when a source's name is repeated or is `real`;
    /// [`Error::InvalidConfig`] when a source's own column names no source.
    pub fn check(&self) -> Result<()> {
        if let Some((block, name, _)) = self
            .extra
            .own
            .iter()
            .find(|(b, _, _)| b != REAL && !self.sources.iter().any(|(s, _)| s == b))
        {
            return Err(Error::InvalidConfig {
                parameter: "columns",
                reason: format!(
                    "a column of its own for `{name}` is given to `{block}`, which is not a source"
                ),
            });
        }
        let p = self.real.covariates.len();
        if p == 0 {
            return Err(Error::EmptyDesign);
        }
        for (i, (name, columns)) in self.sources.iter().enumerate() {
            if columns.covariates.len() != p {
                return Err(Error::CovariateMismatch {
                    source_name: name.clone(),
                    expected: p,
                    found: columns.covariates.len(),
                });
            }
            if name == REAL || self.sources[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::DuplicateSource { name: name.clone() });
            }
        }
        Ok(())
    }
}
