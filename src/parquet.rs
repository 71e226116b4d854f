//! Data read from Parquet files and kept out of memory (feature `parquet`).
//!
//! [`ParquetSources`] names the columns of one or many Parquet files whose rows, in file
//! order, are the data set's rows. [`open`](ParquetSources::open) reads them once — it
//! checks every value, and keeps the label mask, the real data and each source on the
//! labeled rows, and an evenly spread subsample of each source — and returns a
//! [`DataSources`] whose sources stay in the files: every pass of
//! [`TwoStepGmm`](crate::TwoStepGmm) reads them again, row group by row group (in
//! parallel with the `parallel` feature) in batches of rows. Memory is then the labeled
//! rows plus a few batches per thread, whatever T is (and one value per row for
//! [`weights`](ParquetSources::weights) and [`clusters`](ParquetSources::clusters),
//! when named); the estimate equals the in-memory one to rounding.
//! [`open_outcomes`](ParquetSources::open_outcomes) opens one data set per outcome
//! column from the same files, whose fits share every pass over them
//! ([`OutcomeFits::fit_each`](crate::OutcomeFits::fit_each)).
//!
//! # Examples
//! ```no_run
//! use synthgmm::{models::Logistic, parquet::ParquetSources, TwoStepGmm};
//! let data = ParquetSources::new(["logs/part-0.parquet", "logs/part-1.parquet"])
//!     .labeled("human")
//!     .real("label", ["one", "length", "politeness"])
//!     .source("gpt", "gpt_label", ["one", "length", "politeness"])
//!     .open()?;
//! assert!(data.is_out_of_core());
//! let fit = TwoStepGmm::new(Logistic).fit(&data)?;
//! println!("{fit}");
//! # Ok::<(), synthgmm::Error>(())
//! ```

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use ndarray::{Array1, Array2};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use crate::chunks::{map_ordered, DEFAULT_CHUNK_ROWS};
use crate::data::{DataSources, PerRow, REAL};
use crate::error::{Column, Error, Result};
use crate::rows::RowBlock;
use crate::tier::columns::ExtraColumns;
use crate::tier::row_stream::{RowStream, Visit};
use crate::tier::shared::SharedPasses;
use crate::tier::stream::{fingerprint_add, sample_stride, Streamed};
use crate::tier::{BlockColumns, ColumnSpec};
use crate::values::{check_probability_values, check_values, check_weight_values};

/// Column names of Parquet files that hold the data set's rows (see the
/// [module documentation](self)).
#[derive(Debug, Clone)]
pub struct ParquetSources {
    paths: Vec<PathBuf>,
    labeled: Option<String>,
    real: Option<BlockColumns>,
    sources: Vec<(String, BlockColumns)>,
    covariate_names: Option<Vec<String>>,
    per_row: PerRowColumns,
    /// Extra columns by name, and the blocks' own columns for them.
    extra: ExtraColumns,
    batch_rows: usize,
}

/// The columns of the weights and clusters, each held in memory (one value per row).
#[derive(Debug, Clone, Default)]
struct PerRowColumns {
    weights: Option<String>,
    clusters: Option<String>,
    labeling_probabilities: Option<String>,
}

impl ParquetSources {
    /// The files, in row order: their rows, concatenated, are rows t = 0..T.
    pub fn new<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Self {
        Self {
            paths: paths
                .into_iter()
                .map(|p| p.as_ref().to_path_buf())
                .collect(),
            labeled: None,
            real: None,
            sources: Vec::new(),
            covariate_names: None,
            per_row: PerRowColumns::default(),
            extra: ExtraColumns::default(),
            batch_rows: DEFAULT_CHUNK_ROWS,
        }
    }
    /// The label indicator S_t: a boolean column, or numbers 0 and 1.
    pub fn labeled(mut self, column: &str) -> Self {
        self.labeled = Some(column.to_string());
        self
    }
    /// The real outcome and covariates (read on the labeled rows only; other rows may
    /// hold nulls).
    pub fn real<S: Into<String>>(
        mut self,
        outcome: &str,
        covariates: impl IntoIterator<Item = S>,
    ) -> Self {
        self.real = Some(BlockColumns::new(outcome, covariates));
        self
    }
    /// An auxiliary source on every row: its outcome and covariate columns (the same
    /// columns as the real data's, or others, e.g. a synthetic sample's own
    /// covariates). Sources enter η in the order added.
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
    /// An extra column every block carries under `name` (an instrument of
    /// [`LinearIv`](crate::models::LinearIv)), as [`ColumnSpec::column`] names it: the
    /// files' column `name` for the real data and every source without one of its own.
    pub fn column(mut self, name: &str) -> Self {
        self.extra.add(name);
        self
    }
    /// Source `source`'s own column for the extra column `name`, as
    /// [`ColumnSpec::source_column`] names it.
    pub fn source_column(mut self, source: &str, name: &str, column: &str) -> Self {
        self.extra.own(source, name, column);
        self
    }
    /// The real data's own column for the extra column `name`, as
    /// [`ColumnSpec::real_column`] names it.
    pub fn real_column(self, name: &str, column: &str) -> Self {
        self.source_column(REAL, name, column)
    }
    /// The label, real and source columns at once, as the SQL and DataFusion tiers
    /// take them (replacing any named before), and their weights, labeling
    /// probabilities, clusters and extra columns, if any.
    pub fn columns(mut self, columns: ColumnSpec) -> Self {
        self.labeled = Some(columns.labeled().to_string());
        self.real = Some(columns.real().clone());
        self.sources = columns.sources().to_vec();
        self.extra = columns.extra_columns().clone();
        if let Some(w) = columns.weights_column() {
            self.per_row.weights = Some(w.to_string());
        }
        if let Some(pi) = columns.probabilities_column() {
            self.per_row.labeling_probabilities = Some(pi.to_string());
        }
        if let Some(c) = columns.clusters_column() {
            self.per_row.clusters = Some(c.to_string());
        }
        self
    }
    /// Names for the coefficients (default: the real covariates' column names).
    pub fn covariate_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.covariate_names = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// Observation (survey) weights w_t, positive and finite, as
    /// [`DataSourcesBuilder::weights`](crate::DataSourcesBuilder::weights) takes them;
    /// held in memory (one number per row).
    pub fn weights(mut self, column: &str) -> Self {
        self.per_row.weights = Some(column.to_string());
        self
    }
    /// The cluster of every row (an integer or string column, no nulls), as
    /// [`DataSourcesBuilder::clusters`](crate::DataSourcesBuilder::clusters) takes them;
    /// held in memory (one index per row).
    pub fn clusters(mut self, column: &str) -> Self {
        self.per_row.clusters = Some(column.to_string());
        self
    }
    /// Known labeling probabilities π_t in (0, 1], as
    /// [`DataSourcesBuilder::labeling_probabilities`](crate::DataSourcesBuilder::labeling_probabilities)
    /// takes them; held in memory (one number per row).
    pub fn labeling_probabilities(mut self, column: &str) -> Self {
        self.per_row.labeling_probabilities = Some(column.to_string());
        self
    }
    /// Rows per batch read (default 4,096): a pass holds about this many rows of every
    /// source per thread.
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows;
        self
    }

    /// Reads the files once, checks every value the estimator reads, and returns the
    /// data set with the sources left in the files.
    ///
    /// # Errors
    /// [`Error::Read`] for a missing or unreadable file, a missing column or one that
    /// is not numeric (or boolean); [`Error::InvalidConfig`] when the label column or
    /// the real data are not named, or a batch size of 0;
    /// [`Error::CovariateMismatch`], [`Error::DuplicateSource`]; the value errors of
    /// [`DataSourcesBuilder::build`](crate::DataSourcesBuilder::build) with the row's
    /// index among all rows of the files ([`Error::NonFinite`], [`Error::InvalidValue`]
    /// — also for a label other than 0 or 1 — [`Error::NoLabeledRows`],
    /// [`Error::TooFewLabeled`]).
    pub fn open(self) -> Result<DataSources> {
        let mut opened = self.open_each(Vec::new())?;
        Ok(opened.remove(0))
    }

    /// One data set per outcome, all from the same files and read by the same passes:
    /// the outcome columns named by [`real`](Self::real) and [`source`](Self::source)
    /// first, then per entry of `others` the real outcome's column and each source's
    /// (in the order the sources were added), with the same covariates, labels,
    /// weights and clusters. The files are read once for all outcomes, and
    /// [`OutcomeFits::fit`](crate::OutcomeFits::fit) fits them side by side, each pass
    /// over the files serving every outcome (each fit is the one its data set gives
    /// alone, to the last bit).
    ///
    /// # Errors
    /// Those of [`open`](Self::open); [`Error::InvalidConfig`] when an entry of `others`
    /// names a different number of source outcomes than there are sources.
    pub fn open_outcomes<S: Into<String>>(
        self,
        others: impl IntoIterator<Item = (S, Vec<S>)>,
    ) -> Result<Vec<DataSources>> {
        let others: Vec<(String, Vec<String>)> = others
            .into_iter()
            .map(|(real, sources)| (real.into(), sources.into_iter().map(Into::into).collect()))
            .collect();
        if let Some((real, sources)) = others.iter().find(|(_, s)| s.len() != self.sources.len()) {
            return Err(Error::InvalidConfig {
                parameter: "outcomes",
                reason: format!(
                    "outcome `{real}` names {} source outcomes for {} sources",
                    sources.len(),
                    self.sources.len()
                ),
            });
        }
        self.open_each(others)
    }

    /// The data set of each outcome: the one named, then `others`' (see
    /// [`open_outcomes`](Self::open_outcomes)).
    fn open_each(self, others: Vec<(String, Vec<String>)>) -> Result<Vec<DataSources>> {
        let (labeled, real) = self.named()?;
        let spec = self.spec(&labeled, &real);
        let files = self
            .paths
            .iter()
            .map(|path| FileMeta::open(path))
            .collect::<Result<Vec<_>>>()?;
        let (parts, places) = row_groups(&files);
        let outcomes = self.outcome_blocks(&spec, &real, &others);
        let stream = ParquetStream {
            files,
            parts,
            places,
            labeled,
            reals: outcomes.iter().map(|(real, _)| real.clone()).collect(),
            source_names: outcomes
                .iter()
                .flat_map(|_| self.sources.iter().map(|(n, _)| n.clone()))
                .collect(),
            sources: outcomes
                .into_iter()
                .flat_map(|(_, sources)| sources)
                .collect(),
            column_names: spec.column_names().to_vec(),
            per_row: self.per_row.clone(),
            batch_rows: self.batch_rows,
        };
        stream.check_columns()?;
        spec.check()?;
        let covariate_names = self.covariate_names_for(real.covariates.len())?;
        let scan = stream.scan()?;
        stream.data_sets(scan, covariate_names)
    }

    /// The label column and the real data's columns, once checked that they are
    /// named, with a batch size and files.
    fn named(&self) -> Result<(String, BlockColumns)> {
        let config = |reason: &str| Error::InvalidConfig {
            parameter: "parquet",
            reason: reason.to_string(),
        };
        let labeled = self
            .labeled
            .clone()
            .ok_or_else(|| config("name the label column with `.labeled(column)`"))?;
        let real = self
            .real
            .clone()
            .ok_or_else(|| config("name the real data with `.real(outcome, covariates)`"))?;
        if self.batch_rows == 0 {
            return Err(config("batches need at least one row"));
        }
        if self.paths.is_empty() {
            return Err(config("no file given"));
        }
        Ok((labeled, real))
    }

    /// Per outcome, the real block's and every source's columns: the ones named, then
    /// each of `others` with its outcome columns in place of theirs.
    fn outcome_blocks(
        &self,
        spec: &ColumnSpec,
        real: &BlockColumns,
        others: &[(String, Vec<String>)],
    ) -> Vec<(ReadBlock, Vec<ReadBlock>)> {
        let named = (
            real.outcome.clone(),
            self.sources
                .iter()
                .map(|(_, c)| c.outcome.clone())
                .collect(),
        );
        std::iter::once(&named)
            .chain(others)
            .map(|(outcome, source_outcomes)| {
                let with = |columns: &BlockColumns, outcome: &str| {
                    BlockColumns::new(outcome, columns.covariates.iter().cloned())
                };
                let sources = (self.sources.iter().zip(source_outcomes))
                    .map(|((name, c), y)| ReadBlock::of(spec, name, &with(c, y)))
                    .collect();
                (ReadBlock::of(spec, REAL, &with(real, outcome)), sources)
            })
            .collect()
    }

    /// The covariates' names: those given, or the real data's columns.
    fn covariate_names_for(&self, p: usize) -> Result<Vec<String>> {
        match self.covariate_names.clone() {
            None => Ok(self
                .real
                .as_ref()
                .map_or_else(Vec::new, |r| r.covariates.clone())),
            Some(names) if names.len() == p => Ok(names),
            Some(names) => Err(Error::InvalidConfig {
                parameter: "covariate_names",
                reason: format!("{} names for {p} covariates", names.len()),
            }),
        }
    }

    /// The columns named, as one [`ColumnSpec`].
    fn spec(&self, labeled: &str, real: &BlockColumns) -> ColumnSpec {
        let start = ColumnSpec::new(labeled, &real.outcome, real.covariates.iter().cloned());
        let with_sources = self.sources.iter().fold(start, |spec, (name, b)| {
            spec.source(name, &b.outcome, b.covariates.iter().cloned())
        });
        with_sources.with_extra_columns(self.extra.clone())
    }
}

/// The files' non-empty row groups in order: each one's rows among all rows of the
/// files, and its (file, group) place.
fn row_groups(files: &[FileMeta]) -> (Vec<Range<usize>>, Vec<(usize, usize)>) {
    let mut parts = Vec::new();
    let mut places = Vec::new();
    let mut row = 0;
    for (f, file) in files.iter().enumerate() {
        for (g, group) in file.meta.metadata().row_groups().iter().enumerate() {
            let rows = usize::try_from(group.num_rows()).unwrap_or(0);
            if rows > 0 {
                parts.push(row..row + rows);
                places.push((f, g));
                row += rows;
            }
        }
    }
    (parts, places)
}

/// One file and its footer, read once.
#[derive(Debug)]
struct FileMeta {
    path: PathBuf,
    meta: ArrowReaderMetadata,
}

impl FileMeta {
    fn open(path: &Path) -> Result<FileMeta> {
        let file = File::open(path).map_err(|e| read_error(path, e))?;
        let meta = guarded(path, || {
            ArrowReaderMetadata::load(&file, Default::default())
        })?
        .map_err(|e| read_error(path, format!("not a Parquet file: {e}")))?;
        Ok(FileMeta {
            path: path.to_path_buf(),
            meta,
        })
    }
}

/// Runs `read`, a call into the Parquet decoder on `path`, with a panic turned into
/// [`Error::Read`]: the decoder asserts on some malformed files (a negative column
/// length, a data page without its dictionary) instead of returning an error, and a
/// corrupt file must not bring the program down.
///
/// # Errors
/// [`Error::Read`] naming the file when `read` panics.
pub fn guarded<T>(path: &Path, read: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder stopped".into());
        read_error(path, format!("corrupt Parquet data: {what}"))
    })
}

fn read_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Read {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The files as a [`RowStream`]: one part per non-empty row group.
#[derive(Debug)]
struct ParquetStream {
    files: Vec<FileMeta>,
    parts: Vec<Range<usize>>,
    /// (file, row group) of each part.
    places: Vec<(usize, usize)>,
    labeled: String,
    /// The real data's columns, one block per outcome.
    reals: Vec<ReadBlock>,
    /// Every outcome's sources in turn (outcome k's source j at k·M + j).
    source_names: Vec<String>,
    sources: Vec<ReadBlock>,
    /// The extra columns' names, as the models see them.
    column_names: Vec<String>,
    per_row: PerRowColumns,
    batch_rows: usize,
}

/// The columns of one block: outcome and covariates, and the files' columns holding its
/// extra columns.
#[derive(Debug, Clone)]
struct ReadBlock {
    columns: BlockColumns,
    extra: Vec<String>,
}

impl ReadBlock {
    /// Block `block`'s columns in `spec`.
    fn of(spec: &ColumnSpec, block: &str, columns: &BlockColumns) -> Self {
        ReadBlock {
            columns: columns.clone(),
            extra: (spec.block_columns(block).into_iter())
                .map(String::from)
                .collect(),
        }
    }

    /// Every column read: the outcome, the covariates and the extra columns.
    fn names(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.columns.outcome)
            .chain(&self.columns.covariates)
            .chain(&self.extra)
    }
}

/// What the first read learns: the labeled rows with the real data and the sources on
/// them, and per source its fingerprint and subsample.
struct Scan {
    labeled: Vec<usize>,
    /// The real data of each outcome.
    real: Vec<RowBlock>,
    sources_labeled: Vec<RowBlock>,
    fingerprints: Vec<[u64; 2]>,
    samples: Vec<RowBlock>,
    per_row: PerRow,
}

/// One part's share of a [`Scan`].
struct PartScan {
    labeled: Vec<usize>,
    /// Per outcome, the real data of each batch.
    real: Vec<Vec<RowBlock>>,
    sources_labeled: Vec<Vec<RowBlock>>,
    fingerprints: Vec<[u64; 2]>,
    samples: Vec<Vec<RowBlock>>,
    weights: Vec<f64>,
    clusters: Vec<ClusterKey>,
    probabilities: Vec<f64>,
}

/// A cluster identifier as read: a number's bits (−0 as +0) or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ClusterKey {
    Number(u64),
    Text(String),
}

impl ParquetStream {
    /// A block's name in errors: with several outcomes, with the outcome's column.
    fn block_name(&self, block: &str, outcome: usize) -> String {
        match self.reals.len() {
            1 => block.to_string(),
            _ => format!(
                "{block} (outcome `{}`)",
                self.reals[outcome].columns.outcome
            ),
        }
    }

    /// M: the sources of each outcome (at least 1, to divide by).
    fn sources_per_outcome(&self) -> usize {
        (self.sources.len() / self.reals.len()).max(1)
    }

    /// Each outcome's data set from what the first read learnt, their passes shared
    /// ([`SharedPasses`]).
    fn data_sets(self, scan: Scan, covariate_names: Vec<String>) -> Result<Vec<DataSources>> {
        let k = self.reals.len();
        let m = self.sources.len() / k;
        let n_rows = self.parts.last().map_or(0, |r| r.end);
        let names: Vec<String> = self.source_names[..m].to_vec();
        let columns = self.column_names.clone();
        let Scan {
            labeled,
            real,
            sources_labeled,
            fingerprints,
            samples,
            per_row,
        } = scan;
        // A group of one for one outcome: it reads alone.
        let group = SharedPasses::new(Box::new(self), k, m);
        let mut samples = samples.into_iter();
        let streams = (0..k).map(|o| {
            let prints = fingerprints[o * m..(o + 1) * m].to_vec();
            let sampled = samples.by_ref().take(m).collect();
            Streamed::rows(group.member(o), (n_rows, names.clone()), prints, sampled)
        });
        let mut labeled_rows = sources_labeled.into_iter();
        (real.into_iter().zip(streams))
            .map(|(real, streamed)| {
                DataSources::out_of_core(
                    labeled.clone(),
                    real,
                    names
                        .iter()
                        .cloned()
                        .zip(labeled_rows.by_ref().take(m))
                        .collect(),
                    (covariate_names.clone(), columns.clone()),
                    (streamed, per_row.clone()),
                )
            })
            .collect()
    }

    /// Every named column exists in every file.
    fn check_columns(&self) -> Result<()> {
        for file in &self.files {
            let schema = file.meta.schema();
            for name in self.all_columns() {
                if schema.index_of(&name).is_err() {
                    return Err(read_error(&file.path, format!("no column `{name}`")));
                }
            }
        }
        Ok(())
    }

    /// The label, the real data's and every source's columns, the weights and the
    /// clusters, each once.
    fn all_columns(&self) -> Vec<String> {
        let mut out = vec![self.labeled.clone()];
        let per_row = [
            &self.per_row.weights,
            &self.per_row.clusters,
            &self.per_row.labeling_probabilities,
        ];
        for name in per_row.into_iter().flatten() {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        for b in self.reals.iter().chain(&self.sources) {
            for name in b.names() {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
        }
        out
    }

    /// Reads part `part` with the columns `columns`, calling `visit` on each record batch
    /// with its first row.
    fn batches(
        &self,
        part: usize,
        columns: &[String],
        visit: &mut dyn FnMut(usize, &RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let (f, group) = self.places[part];
        let file = &self.files[f];
        let handle = File::open(&file.path).map_err(|e| read_error(&file.path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(handle, file.meta.clone());
        let schema = builder.schema().clone();
        let roots = columns
            .iter()
            .map(|c| {
                schema
                    .index_of(c)
                    .map_err(|_| read_error(&file.path, format!("no column `{c}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let mut reader = guarded(&file.path, || {
            builder
                .with_row_groups(vec![group])
                .with_projection(mask)
                .with_batch_size(self.batch_rows)
                .build()
        })?
        .map_err(|e| read_error(&file.path, e))?;
        let range = self.parts[part].clone();
        let mut row = range.start;
        while let Some(batch) = guarded(&file.path, || reader.next())? {
            let batch = batch.map_err(|e| read_error(&file.path, e))?;
            if row + batch.num_rows() > range.end {
                return Err(read_error(
                    &file.path,
                    "the file changed since it was opened",
                ));
            }
            visit(row, &batch)?;
            row += batch.num_rows();
        }
        if row != range.end {
            return Err(read_error(
                &file.path,
                "the file changed since it was opened",
            ));
        }
        Ok(())
    }

    /// A block's rows in a batch; covariates built for an earlier block with the same
    /// columns are shared.
    fn rows_of(
        &self,
        part: usize,
        batch: &RecordBatch,
        block: &ReadBlock,
        built: &mut Vec<(Vec<String>, Arc<Array2<f64>>)>,
    ) -> Result<RowBlock> {
        let path = &self.files[self.places[part].0].path;
        let columns = &block.columns;
        let y = Array1::from(numbers(path, batch, &columns.outcome)?);
        let x = match built.iter().find(|(c, _)| *c == columns.covariates) {
            Some((_, x)) => Arc::clone(x),
            None => {
                let n = batch.num_rows();
                let p = columns.covariates.len();
                let mut x = Array2::zeros((n, p));
                for (j, name) in columns.covariates.iter().enumerate() {
                    let values = numbers(path, batch, name)?;
                    x.column_mut(j).assign(&Array1::from(values));
                }
                let x = Arc::new(x);
                built.push((columns.covariates.clone(), Arc::clone(&x)));
                x
            }
        };
        let mut extra = Array2::zeros((batch.num_rows(), block.extra.len()));
        for (j, name) in block.extra.iter().enumerate() {
            extra
                .column_mut(j)
                .assign(&Array1::from(numbers(path, batch, name)?));
        }
        Ok(RowBlock { x, y, extra })
    }

    /// The labeled rows of a batch whose first row is `start`, from its label column.
    fn labeled_in(&self, labels: &[f64], start: usize) -> Result<Vec<usize>> {
        let mut picked = Vec::new();
        for (i, &s) in labels.iter().enumerate() {
            match s {
                1.0 => picked.push(i),
                0.0 => {}
                value => {
                    return Err(Error::InvalidValue {
                        source_name: self.labeled.clone(),
                        column: Column::Label,
                        row: start + i,
                        value,
                        reason: "the label indicator must be 0 or 1",
                    })
                }
            }
        }
        Ok(picked)
    }

    /// The first read: every value checked, the labeled rows and the subsamples kept.
    fn scan(&self) -> Result<Scan> {
        let columns = self.all_columns();
        let stride = sample_stride(self.parts.last().map_or(0, |r| r.end));
        let parts: Vec<usize> = (0..self.parts.len()).collect();
        let scanned = map_ordered(&parts, |&part| self.scan_part(part, &columns, stride));
        self.merge(scanned)
    }

    /// One part's share of the first read, every `stride`-th row sampled.
    fn scan_part(&self, part: usize, columns: &[String], stride: usize) -> Result<PartScan> {
        let m = self.sources.len();
        let mut out = PartScan {
            labeled: Vec::new(),
            real: vec![Vec::new(); self.reals.len()],
            sources_labeled: vec![Vec::new(); m],
            fingerprints: vec![[0; 2]; m],
            samples: vec![Vec::new(); m],
            weights: Vec::new(),
            clusters: Vec::new(),
            probabilities: Vec::new(),
        };
        let path = &self.files[self.places[part].0].path;
        self.batches(part, columns, &mut |start, batch| {
            let picked = self.labeled_in(&numbers(path, batch, &self.labeled)?, start)?;
            let mut built = Vec::new();
            let names = &self.column_names;
            for (k, block) in self.reals.iter().enumerate() {
                let real = self
                    .rows_of(part, batch, block, &mut built)?
                    .select(&picked);
                let name = self.block_name(REAL, k);
                check_values(&name, &real, names, |i| start + picked[i], &mut Vec::new())?;
                out.real[k].push(real);
            }
            let sampled: Vec<usize> = (0..batch.num_rows())
                .filter(|i| (start + i) % stride == 0)
                .collect();
            for (j, columns) in self.sources.iter().enumerate() {
                let rows = self.rows_of(part, batch, columns, &mut built)?;
                let name = self.block_name(&self.source_names[j], j / self.sources_per_outcome());
                check_values(&name, &rows, names, |i| start + i, &mut Vec::new())?;
                let all = rows.x.outer_iter().zip(rows.extra.outer_iter());
                for ((x, z), &y) in all.zip(&rows.y) {
                    let values = std::iter::once(y)
                        .chain(x.iter().copied())
                        .chain(z.iter().copied());
                    fingerprint_add(&mut out.fingerprints[j], values);
                }
                out.sources_labeled[j].push(rows.select(&picked));
                out.samples[j].push(rows.select(&sampled));
            }
            out.labeled.extend(picked.iter().map(|i| start + i));
            self.per_row_values(path, batch, (start, &picked), &mut out)
        })?;
        Ok(out)
    }

    /// The parts' shares of the first read, in row order, as one [`Scan`].
    fn merge(&self, scanned: Vec<Result<PartScan>>) -> Result<Scan> {
        let m = self.sources.len();
        let (mut labeled, mut real) = (Vec::new(), vec![Vec::new(); self.reals.len()]);
        let mut sources_labeled = vec![Vec::new(); m];
        let mut samples = vec![Vec::new(); m];
        let mut fingerprints = vec![[0u64; 2]; m];
        let (mut weights, mut clusters, mut probabilities) = (Vec::new(), Vec::new(), Vec::new());
        for part in scanned {
            let part = part?;
            weights.extend(part.weights);
            clusters.extend(part.clusters);
            probabilities.extend(part.probabilities);
            labeled.extend(part.labeled);
            for (all, batches) in real.iter_mut().zip(part.real) {
                all.extend(batches);
            }
            for j in 0..m {
                sources_labeled[j].extend(part.sources_labeled[j].iter().cloned());
                samples[j].extend(part.samples[j].iter().cloned());
                let hashes = part.fingerprints[j].iter().map(|&h| f64::from_bits(h));
                fingerprint_add(&mut fingerprints[j], hashes);
            }
        }
        let shape = (
            self.reals[0].columns.covariates.len(),
            self.column_names.as_slice(),
        );
        let stack = |blocks: &[RowBlock]| concatenate(blocks, shape);
        let named = &self.per_row;
        Ok(Scan {
            labeled,
            real: real.iter().map(|b| stack(b)).collect(),
            sources_labeled: sources_labeled.iter().map(|b| stack(b)).collect(),
            fingerprints,
            samples: samples.iter().map(|b| stack(b)).collect(),
            per_row: PerRow::new(
                named.weights.as_ref().map(|_| Array1::from(weights)),
                (named.clusters.as_ref()).map(|_| crate::fixed_effects::dense_ids(&clusters)),
                (named.labeling_probabilities.as_ref()).map(|_| Array1::from(probabilities)),
            ),
        })
    }

    /// A batch's weights and labeling probabilities (checked) and cluster identifiers,
    /// when named, into `out`; `picked` are the batch's labeled rows.
    fn per_row_values(
        &self,
        path: &Path,
        batch: &RecordBatch,
        (start, picked): (usize, &[usize]),
        out: &mut PartScan,
    ) -> Result<()> {
        if let Some(name) = &self.per_row.labeling_probabilities {
            let pi = numbers(path, batch, name)?;
            let mut labeled = vec![false; pi.len()];
            picked.iter().for_each(|&i| labeled[i] = true);
            check_probability_values(ndarray::ArrayView1::from(&pi), &labeled, start)?;
            out.probabilities.extend(pi);
        }
        if let Some(name) = &self.per_row.weights {
            let w = numbers(path, batch, name)?;
            check_weight_values(ndarray::ArrayView1::from(&w), start)?;
            out.weights.extend(w);
        }
        if let Some(name) = &self.per_row.clusters {
            let keys = cluster_keys(batch, name).map_err(|reason| read_error(path, reason))?;
            out.clusters.extend(keys);
        }
        Ok(())
    }
}

/// A cluster column of a batch: integers (or any number) or strings, without nulls.
fn cluster_keys(batch: &RecordBatch, name: &str) -> std::result::Result<Vec<ClusterKey>, String> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column `{name}`"))?;
    if array.logical_null_count() > 0 {
        return Err(format!(
            "column `{name}` has nulls: every row needs a cluster"
        ));
    }
    let texts = |values: &mut dyn Iterator<Item = Option<&str>>| {
        values
            .map(|v| ClusterKey::Text(v.unwrap_or_default().to_string()))
            .collect()
    };
    Ok(match array.data_type() {
        DataType::Utf8 => texts(&mut array.as_string::<i32>().iter()),
        DataType::LargeUtf8 => texts(&mut array.as_string::<i64>().iter()),
        DataType::Utf8View => texts(&mut array.as_string_view().iter()),
        _ => numeric_column(batch, name)?
            .into_iter()
            .map(|v| ClusterKey::Number((v + 0.0).to_bits()))
            .collect(),
    })
}

/// Blocks of p covariates and the extra columns `names` stacked row-wise (an empty
/// block for none).
fn concatenate(blocks: &[RowBlock], (p, names): (usize, &[String])) -> RowBlock {
    let views: Vec<_> = blocks.iter().map(|b| b.view(names)).collect();
    RowBlock::concatenate(&views).unwrap_or_else(|| RowBlock {
        x: Arc::new(Array2::zeros((0, p))),
        y: Array1::zeros(0),
        extra: Array2::zeros((0, names.len())),
    })
}

impl RowStream for ParquetStream {
    fn parts(&self) -> &[Range<usize>] {
        &self.parts
    }

    fn read_part(&self, part: usize, sources: &[usize], visit: &mut Visit<'_>) -> Result<()> {
        let mut columns: Vec<String> = Vec::new();
        for &j in sources {
            for name in self.sources[j].names() {
                if !columns.contains(name) {
                    columns.push(name.clone());
                }
            }
        }
        self.batches(part, &columns, &mut |start, batch| {
            let mut built = Vec::new();
            let blocks = sources
                .iter()
                .map(|&j| self.rows_of(part, batch, &self.sources[j], &mut built))
                .collect::<Result<Vec<_>>>()?;
            visit(start, &blocks);
            Ok(())
        })
    }

    fn column_names(&self) -> &[String] {
        &self.column_names
    }
}

/// A numeric or boolean column of a batch as f64, nulls as NaN.
fn numbers(path: &Path, batch: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    numeric_column(batch, name).map_err(|reason| read_error(path, reason))
}

/// The column `name` of a record batch as f64: any integer or floating-point type, or
/// boolean (1/0); nulls become NaN.
///
/// # Errors
/// The reason, when the batch has no such column or its type is not numeric.
pub fn numeric_column(batch: &RecordBatch, name: &str) -> std::result::Result<Vec<f64>, String> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column `{name}`"))?;
    let nulls = array.logical_nulls();
    let missing = |i: usize| nulls.as_ref().is_some_and(|n| n.is_null(i));
    let n = array.len();
    macro_rules! numbers {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            (0..n)
                .map(|i| {
                    if missing(i) {
                        f64::NAN
                    } else {
                        a.value(i) as f64
                    }
                })
                .collect()
        }};
    }
    Ok(match array.data_type() {
        DataType::Float64 => numbers!(Float64Type),
        DataType::Float32 => numbers!(Float32Type),
        DataType::Int64 => numbers!(Int64Type),
        DataType::Int32 => numbers!(Int32Type),
        DataType::Int16 => numbers!(Int16Type),
        DataType::Int8 => numbers!(Int8Type),
        DataType::UInt64 => numbers!(UInt64Type),
        DataType::UInt32 => numbers!(UInt32Type),
        DataType::UInt16 => numbers!(UInt16Type),
        DataType::UInt8 => numbers!(UInt8Type),
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|i| {
                    if missing(i) {
                        f64::NAN
                    } else {
                        f64::from(u8::from(a.value(i)))
                    }
                })
                .collect()
        }
        other => return Err(format!("column `{name}` has type {other}, not a number")),
    })
}
