//! synthgmm's two-step GMM over any DataFusion table or SQL view.
//!
//! Each pass of the estimator over all rows is one aggregate query: the user-defined
//! aggregate [`PassUdaf`] carries the pass's parameter value (θ, η) in the function
//! itself, sums the stacked moments of each partition with
//! [`MomentSums::add_rows`](synthgmm::MomentSums::add_rows), and merges partitions'
//! states (the sums' flat layout, as bytes). [`open`] reads the labeled rows into
//! memory — a few thousand, typically — counts the rows, and returns a
//! [`DataSources`] whose passes run as queries; [`TwoStepGmm::fit`](synthgmm::TwoStepGmm::fit)
//! then runs step 1, step 2 and the covariance as a short sequence of them.
//!
//! The table may be any DataFusion table or view: a Parquet listing, a join of the
//! human labels onto the model outputs by row id, a filtered subset. Partitions run
//! in parallel; the estimate equals the in-memory one to rounding.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use datafusion::arrow::array::{BooleanArray, Float64Array};
//! use datafusion::arrow::record_batch::RecordBatch;
//! use datafusion::prelude::SessionContext;
//! use synthgmm::models::Ols;
//! use synthgmm::TwoStepGmm;
//! use synthgmm_datafusion::{open, Columns};
//!
//! let t = 2_000;
//! let x: Vec<f64> = (0..t).map(|i| (i as f64 * 0.37).sin()).collect();
//! let e: Vec<f64> = (0..t).map(|i| (i as f64 * 1.7).cos()).collect();
//! let batch = RecordBatch::try_from_iter([
//!     ("labeled", Arc::new(BooleanArray::from((0..t).map(|i| i % 10 == 0).collect::<Vec<_>>())) as _),
//!     ("one", Arc::new(Float64Array::from(vec![1.0; t])) as _),
//!     ("x", Arc::new(Float64Array::from(x.clone())) as _),
//!     ("y", Arc::new(Float64Array::from((0..t).map(|i| 1.0 + 2.0 * x[i] + e[i]).collect::<Vec<_>>())) as _),
//!     ("proxy", Arc::new(Float64Array::from((0..t).map(|i| 1.1 + 2.0 * x[i] + 0.9 * e[i]).collect::<Vec<_>>())) as _),
//! ])?;
//! let ctx = SessionContext::new();
//! ctx.register_batch("rows", batch)?;
//! let columns = Columns::new("labeled", "y", ["one", "x"]).source("proxy", "proxy", ["one", "x"]);
//! let data = open(&ctx, "rows", &columns, Ols)?;
//! let fit = TwoStepGmm::new(Ols).fit(&data)?;
//! assert!(fit.se()[1] < fit.real_only_se()[1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use datafusion::prelude::{col, lit, DataFrame, SessionContext};
use synthgmm::{
    ColumnBlock, ColumnSpec, DataSources, Error, MomentModel, MomentSums, PassRequest, RowColumns,
    SumsEngine,
};

/// The columns of the table (the library's column description, shared with its Parquet
/// and SQL tiers).
pub type Columns = ColumnSpec;

/// The aggregate's arguments for these sources (indices among the table's): S, the
/// real outcome, covariates and extra columns, then each source's, then the
/// observation weights and the labeling probabilities if the table has them.
fn arguments<'c>(columns: &'c Columns, sources: &[usize]) -> Vec<&'c str> {
    let mut out = vec![columns.labeled()];
    out.extend(columns.real().names());
    out.extend(columns.block_columns(synthgmm::REAL));
    for &m in sources {
        let (name, block) = &columns.sources()[m];
        out.extend(block.names());
        out.extend(columns.block_columns(name));
    }
    out.extend(columns.weights_column());
    out.extend(columns.probabilities_column());
    out
}

/// The aggregate of one pass: the model, the request (the parameter value is part of
/// the function, so every pass plans a new one), k, the moments per block, the names
/// of the extra columns each block carries after its covariates, and whether its last
/// arguments are the rows' observation weights and labeling probabilities.
#[derive(Debug)]
pub struct PassUdaf<M> {
    model: M,
    request: Arc<PassRequest>,
    k: usize,
    column_names: Arc<Vec<String>>,
    weighted: bool,
    probabilities: bool,
    signature: Signature,
}

impl<M: MomentModel + Clone> PassUdaf<M> {
    /// The aggregate answering `request` for `model` with k moments per block.
    pub fn new(model: M, request: PassRequest, k: usize) -> Self {
        Self {
            model,
            request: Arc::new(request),
            k,
            column_names: Arc::new(Vec::new()),
            weighted: false,
            probabilities: false,
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }

    /// The same aggregate taking, after the blocks' columns, the observation weights
    /// w_t when `weights` (every row's moments are multiplied by w_t) and then the
    /// labeling probabilities π_t when `probabilities` (a request that asks for them,
    /// [`PassRequest::probabilities`], divides the labeled blocks' moments by π_t).
    pub fn with_per_row(mut self, weights: bool, probabilities: bool) -> Self {
        self.weighted = weights;
        self.probabilities = probabilities;
        self
    }

    /// The same aggregate taking, after each block's covariates, its extra columns
    /// `names` (an instrument), which the model reads by name.
    pub fn with_columns(mut self, names: Vec<String>) -> Self {
        self.column_names = Arc::new(names);
        self
    }
}

impl<M> PassUdaf<M> {
    /// The model whose moments the aggregate sums.
    pub fn model(&self) -> &M {
        &self.model
    }
    /// The pass it answers.
    pub fn request(&self) -> &PassRequest {
        &self.request
    }
    /// Moments per block.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The names of the extra columns each block carries
    /// ([`with_columns`](Self::with_columns)).
    pub fn column_names(&self) -> &[String] {
        &self.column_names
    }
    /// Whether the aggregate takes the rows' observation weights
    /// ([`with_per_row`](Self::with_per_row)).
    pub fn is_weighted(&self) -> bool {
        self.weighted
    }
    /// Whether the aggregate takes the labeling probabilities
    /// ([`with_per_row`](Self::with_per_row)).
    pub fn has_probabilities(&self) -> bool {
        self.probabilities
    }
}

impl<M> PartialEq for PassUdaf<M> {
    fn eq(&self, other: &Self) -> bool {
        (self.k, self.weighted, self.probabilities)
            == (other.k, other.weighted, other.probabilities)
            && self.request == other.request
            && self.column_names == other.column_names
    }
}
impl<M> Eq for PassUdaf<M> {}
impl<M> Hash for PassUdaf<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.k.hash(state);
        (self.weighted, self.probabilities).hash(state);
        self.column_names.hash(state);
        self.request.sources.hash(state);
        for v in self.request.params.iter() {
            v.to_bits().hash(state);
        }
        (
            self.request.jacobian,
            self.request.omega,
            self.request.squares,
        )
            .hash(state);
    }
}

impl<M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static> AggregateUDFImpl
    for PassUdaf<M>
{
    fn name(&self) -> &str {
        "synthgmm_pass"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Binary)
    }
    fn accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> datafusion::common::Result<Box<dyn Accumulator>> {
        Ok(Box::new(PassAccumulator {
            model: self.model.clone(),
            request: Arc::clone(&self.request),
            column_names: Arc::clone(&self.column_names),
            weighted: self.weighted,
            probabilities: self.probabilities,
            sums: MomentSums::for_request(self.k, &self.request),
        }))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> datafusion::common::Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new("sums", DataType::Binary, true))])
    }
}

/// One partition's sums.
#[derive(Debug)]
struct PassAccumulator<M> {
    model: M,
    request: Arc<PassRequest>,
    column_names: Arc<Vec<String>>,
    weighted: bool,
    probabilities: bool,
    sums: MomentSums,
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// A column as f64 values, nulls as NaN.
fn floats(array: &ArrayRef) -> datafusion::common::Result<Vec<f64>> {
    let array = cast(array, &DataType::Float64)?;
    let values = array.as_primitive::<Float64Type>();
    Ok((0..values.len())
        .map(|i| {
            if values.is_null(i) {
                f64::NAN
            } else {
                values.value(i)
            }
        })
        .collect())
}

fn to_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_bytes(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("eight bytes")))
        .collect()
}

impl<M: MomentModel + std::fmt::Debug + Send + Sync + 'static> Accumulator for PassAccumulator<M> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> datafusion::common::Result<()> {
        let layout = self.sums.layout();
        let (p, q) = (layout.p, self.column_names.len());
        let blocks = 1 + (1 + p + q) * (1 + layout.sources);
        let width = blocks + usize::from(self.weighted) + usize::from(self.probabilities);
        if values.len() != width {
            return Err(DataFusionError::Plan(format!(
                "synthgmm_pass takes {width} arguments, got {}",
                values.len()
            )));
        }
        let labels = floats(&values[0])?;
        let labeled: Vec<bool> = labels.iter().map(|&s| s == 1.0).collect();
        if let Some(&bad) = labels.iter().find(|&&s| s != 0.0 && s != 1.0) {
            return Err(DataFusionError::Execution(format!(
                "the label indicator must be 0 or 1, found {bad}"
            )));
        }
        let columns: Vec<Vec<f64>> = values[1..].iter().map(floats).collect::<Result<_, _>>()?;
        let slices =
            |range: std::ops::Range<usize>| columns[range].iter().map(Vec::as_slice).collect();
        let block = |b: usize| {
            let first = b * (1 + p + q);
            ColumnBlock {
                y: &columns[first],
                x: slices(first + 1..first + 1 + p),
                extra: slices(first + 1 + p..first + 1 + p + q),
            }
        };
        let rows = RowColumns {
            labeled: &labeled,
            real: block(0),
            sources: (1..=layout.sources).map(block).collect(),
            weights: self.weighted.then(|| columns[blocks - 1].as_slice()),
            probabilities: self
                .probabilities
                .then(|| columns[blocks - 1 + usize::from(self.weighted)].as_slice()),
            column_names: &self.column_names,
        };
        self.sums
            .add_rows(&self.model, &self.request, &rows)
            .map_err(external)
    }

    fn evaluate(&mut self) -> datafusion::common::Result<ScalarValue> {
        Ok(ScalarValue::Binary(Some(to_bytes(&self.sums.to_vec()))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + 8 * self.sums.to_vec().len()
    }

    fn state(&mut self) -> datafusion::common::Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> datafusion::common::Result<()> {
        let states: &BinaryArray = states[0].as_binary();
        for i in (0..states.len()).filter(|&i| states.is_valid(i)) {
            let other = MomentSums::from_slice(&from_bytes(states.value(i))).map_err(external)?;
            self.sums.merge(&other).map_err(external)?;
        }
        Ok(())
    }
}

/// The [`SumsEngine`] of a DataFusion table: each request is one aggregate query.
#[derive(Debug)]
pub struct DataFusionEngine<M> {
    table: DataFrame,
    name: String,
    columns: Columns,
    source_names: Vec<String>,
    model: M,
    k: usize,
    /// G, when the rows are clustered (a clusters column).
    n_clusters: Option<usize>,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl<M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static> SumsEngine
    for DataFusionEngine<M>
{
    fn model_name(&self) -> &str {
        self.model.name()
    }
    fn source_names(&self) -> &[String] {
        &self.source_names
    }
    fn weighs_rows(&self) -> bool {
        self.columns.weights_column().is_some()
    }
    fn has_probabilities(&self) -> bool {
        self.columns.probabilities_column().is_some()
    }
    fn n_clusters(&self) -> Option<usize> {
        self.n_clusters
    }
    fn column_names(&self) -> &[String] {
        self.columns.column_names()
    }
    fn sums(&self, request: &PassRequest) -> synthgmm::Result<MomentSums> {
        let Some(cluster) = self.columns.clusters_column() else {
            let mut sums = self.aggregate(request, None)?;
            return sums
                .pop()
                .ok_or_else(|| self.failed("the aggregate returned no row"));
        };
        // Each cluster's sums (a GROUP BY), combined into the cluster-robust ones.
        let mut total = MomentSums::for_request(self.k, request);
        let clusters = self.aggregate(&request.per_cluster(), Some(cluster))?;
        for part in &clusters {
            total.add_cluster_sums(part, request)?;
        }
        total.finish_clusters(clusters.len());
        Ok(total)
    }
}

impl<M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static> DataFusionEngine<M> {
    /// The pass aggregate's sums for `request` over every row, or with `group` one
    /// per value of that column.
    fn aggregate(
        &self,
        request: &PassRequest,
        group: Option<&str>,
    ) -> synthgmm::Result<Vec<MomentSums>> {
        let pass = PassUdaf::new(self.model.clone(), request.clone(), self.k)
            .with_per_row(self.weighs_rows(), self.has_probabilities())
            .with_columns(self.columns.column_names().to_vec());
        let udaf = AggregateUDF::from(pass);
        let args = arguments(&self.columns, &request.sources)
            .into_iter()
            .map(|c| col(quoted(c)))
            .collect();
        let keys: Vec<_> = group.map(|c| col(quoted(c))).into_iter().collect();
        let at = keys.len();
        let query = self.table.clone().aggregate(keys, vec![udaf.call(args)]);
        let batches = self
            .runtime
            .block_on(async { query?.collect().await })
            .map_err(|e| self.failed(e))?;
        let mut out = Vec::new();
        for batch in &batches {
            let bytes = batch.column(at).as_binary::<i32>();
            for i in 0..bytes.len() {
                if bytes.is_null(i) {
                    return Err(self.failed("the aggregate returned null"));
                }
                out.push(MomentSums::from_slice(&from_bytes(bytes.value(i)))?);
            }
        }
        Ok(out)
    }
}

impl<M> DataFusionEngine<M> {
    fn failed(&self, reason: impl std::fmt::Display) -> Error {
        Error::Read {
            path: self.name.clone(),
            reason: reason.to_string(),
        }
    }
}

/// A column name as an expression name: quoted, so that case and dots are kept.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The data set of table `table` of `ctx` with `columns`, for `model`: the labeled
/// rows read into memory, every other pass an aggregate query.
///
/// # Errors
/// [`Error::Read`] when the table or a column is missing or a query fails; the value
/// errors of [`DataSources`] for the labeled rows (the aggregate checks every other
/// row as it reads it, and a bad value fails the fit's pass with its error).
pub fn open<M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static>(
    ctx: &SessionContext,
    table: &str,
    columns: &Columns,
    model: M,
) -> synthgmm::Result<DataSources> {
    let failed = |e: &dyn std::fmt::Display| Error::Read {
        path: table.to_string(),
        reason: e.to_string(),
    };
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| failed(&e))?,
    );
    let frame = runtime.block_on(ctx.table(table)).map_err(|e| failed(&e))?;
    columns.check()?;
    let all: Vec<usize> = (0..columns.sources().len()).collect();
    let wanted = arguments(columns, &all);
    let is_labeled =
        datafusion::logical_expr::cast(col(quoted(columns.labeled())), DataType::Float64)
            .eq(lit(1.0));
    let unique = columns.distinct_names();
    let labeled_rows = frame
        .clone()
        .filter(is_labeled)
        .and_then(|f| f.select_columns(&unique));
    let (batches, n_rows) = runtime
        .block_on(async {
            let batches = labeled_rows?.collect().await?;
            let n_rows = frame.clone().count().await?;
            Ok::<_, DataFusionError>((batches, n_rows))
        })
        .map_err(|e| failed(&e))?;
    let n_clusters = match columns.clusters_column() {
        Some(c) => Some(count_clusters(&runtime, &frame, c).map_err(|e| failed(&e))??),
        None => None,
    };
    // The labeled rows as columns, in `wanted` order.
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); wanted.len()];
    for batch in &batches {
        for (j, name) in wanted.iter().enumerate() {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| failed(&format!("no column `{name}`")))?;
            values[j].extend(floats(array).map_err(|e| failed(&e))?);
        }
    }
    // The labeled rows' clusters as text (their identity is all a fit reads).
    let mut clusters = Vec::new();
    if let Some(c) = columns.clusters_column() {
        for batch in &batches {
            let array = batch
                .column_by_name(c)
                .ok_or_else(|| failed(&format!("no column `{c}`")))?;
            let text = cast(array, &DataType::Utf8).map_err(|e| failed(&e))?;
            clusters.extend(
                text.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string)),
            );
        }
    }
    let labeled = labeled_data(&values, columns, &clusters)?;
    let k = model.n_moments(labeled.real_rows());
    let engine = DataFusionEngine {
        table: frame,
        name: table.to_string(),
        columns: columns.clone(),
        source_names: columns.source_names(),
        model,
        k,
        n_clusters,
        runtime,
    };
    DataSources::from_engine(&labeled, n_rows, Box::new(engine))
}

/// The number of clusters G in column `column` of `frame`, or the error naming the
/// rows without one (null).
fn count_clusters(
    runtime: &tokio::runtime::Runtime,
    frame: &DataFrame,
    column: &str,
) -> datafusion::common::Result<synthgmm::Result<usize>> {
    runtime.block_on(async {
        let missing = frame.clone().filter(col(quoted(column)).is_null())?.count().await?;
        if missing > 0 {
            return Ok(Err(Error::InvalidConfig {
                parameter: "clusters",
                reason: format!(
                    "{missing} row(s) of column `{column}` have no cluster (null): every row needs one"
                ),
            }));
        }
        let groups = frame.clone().aggregate(vec![col(quoted(column))], vec![])?;
        Ok(Ok(groups.count().await?))
    })
}

/// The labeled rows, read as columns in the order of the aggregate's [`arguments`]
/// (the label first), as an in-memory data set: every row labeled, with the
/// observation weights, labeling probabilities and `clusters` when the table has them.
fn labeled_data(
    values: &[Vec<f64>],
    columns: &Columns,
    clusters: &[Option<String>],
) -> synthgmm::Result<DataSources> {
    // The label indicator first, then the blocks, weights and probabilities.
    let clusters = columns.clusters_column().map(|_| clusters);
    DataSources::from_labeled_columns(columns, &values[1..], clusters)
}
