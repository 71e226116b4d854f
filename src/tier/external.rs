//! Passes that run where the rows live: a query engine, a cluster or a warehouse sums
//! the stacked moments over all T rows, and the estimator, holding only the labeled
//! rows, drives it.
//!
//! Every pass of [`TwoStepGmm`](crate::TwoStepGmm) over all rows is one
//! [`PassRequest`]: the sums of [`MomentSums`] at one parameter value. A
//! [`SumsEngine`] answers it; engines built on
//! [`MomentSums::add_rows`] (which updates the sums from plain column slices, batch by
//! batch, and merges) give the in-memory answer to rounding.
//! [`DataSources::from_engine`](crate::DataSources::from_engine) combines an engine with the labeled rows, which the
//! estimator reads row by row (step 1 of θ, the selected weights' influence functions).
//!
//! # Examples
//! An engine that sums an in-memory table in two partitions, merged as a distributed
//! engine would:
//! ```
//! use ndarray::{Array1, Array2};
//! use synthgmm::models::Ols;
//! use synthgmm::{
//!     ColumnBlock, DataSources, MomentSums, PassRequest, Result, RowColumns, SumsEngine,
//!     TwoStepGmm,
//! };
//!
//! #[derive(Debug)]
//! struct Partitioned { labeled: Vec<bool>, x: Vec<f64>, y: Vec<f64>, proxy: Vec<f64>, names: Vec<String> }
//!
//! /// An intercept and x, with outcome y, on some rows.
//! fn block<'a>(y: &'a [f64], one: &'a [f64], x: &'a [f64], rows: std::ops::Range<usize>) -> ColumnBlock<'a> {
//!     ColumnBlock { y: &y[rows.clone()], x: vec![&one[rows.clone()], &x[rows]], extra: vec![] }
//! }
//!
//! impl SumsEngine for Partitioned {
//!     fn model_name(&self) -> &str { "ols" }
//!     fn source_names(&self) -> &[String] { &self.names }
//!     fn sums(&self, request: &PassRequest) -> Result<MomentSums> {
//!         let one = vec![1.0; self.y.len()];
//!         let half = self.y.len() / 2;
//!         let mut total = MomentSums::for_request(2, request);
//!         for rows in [0..half, half..self.y.len()] {
//!             let columns = RowColumns {
//!                 labeled: &self.labeled[rows.clone()],
//!                 real: block(&self.y, &one, &self.x, rows.clone()),
//!                 sources: request.sources.iter().map(|_| block(&self.proxy, &one, &self.x, rows.clone())).collect(),
//!                 weights: None,
//!                 probabilities: None,
//!                 column_names: &[],
//!             };
//!             let mut part = MomentSums::for_request(2, request);
//!             part.add_rows(&Ols, request, &columns)?;
//!             total.merge(&part)?;
//!         }
//!         Ok(total)
//!     }
//! }
//!
//! let t = 300;
//! let x: Vec<f64> = (0..t).map(|i| (i as f64 * 0.37).sin()).collect();
//! let e: Vec<f64> = (0..t).map(|i| (i as f64 * 1.7).cos()).collect();
//! let y: Vec<f64> = (0..t).map(|i| 1.0 + 2.0 * x[i] + e[i]).collect();
//! let proxy: Vec<f64> = (0..t).map(|i| 1.1 + 2.0 * x[i] + 0.9 * e[i]).collect();
//! let labeled: Vec<bool> = (0..t).map(|i| i % 5 == 0).collect();
//!
//! // The labeled rows in memory, every one of them labeled.
//! let rows: Vec<usize> = (0..t).filter(|&i| labeled[i]).collect();
//! let design = Array2::from_shape_fn((rows.len(), 2), |(r, j)| if j == 0 { 1.0 } else { x[rows[r]] });
//! let pick = |v: &[f64]| Array1::from_iter(rows.iter().map(|&i| v[i]));
//! let on_labeled = DataSources::builder(&vec![true; rows.len()])
//!     .real(&design, &pick(&y))
//!     .source("proxy", &design, &pick(&proxy))
//!     .build()?;
//! let engine = Partitioned { labeled: labeled.clone(), x: x.clone(), y: y.clone(), proxy: proxy.clone(), names: vec!["proxy".into()] };
//! let data = DataSources::from_engine(&on_labeled, t, Box::new(engine))?;
//! let fit = TwoStepGmm::new(Ols).fit(&data)?;
//!
//! // The same rows in memory give the same estimate.
//! let all = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { x[i] });
//! let in_memory = DataSources::builder(&labeled)
//!     .real(&all, &Array1::from(y))
//!     .source("proxy", &all, &Array1::from(proxy))
//!     .build()?;
//! let reference = TwoStepGmm::new(Ols).fit(&in_memory)?;
//! assert!((fit.theta()[1] - reference.theta()[1]).abs() < 1e-10);
//! assert!((fit.se()[1] / reference.se()[1] - 1.0).abs() < 1e-10);
//! # Ok::<(), synthgmm::Error>(())
//! ```

use std::fmt;

use ndarray::{Array1, Array2, ArrayView1};

use crate::engine::{chunk_sums, Chunk, Layout, MomentSums, Needs};
use crate::error::{Column, Error, Result};
use crate::moment::MomentModel;
use crate::rows::RowBlock;
use crate::rows::REAL;
use crate::values::{check_probability_values, check_values, check_weight_values};

/// One pass over all rows: the sources it covers and the parameter value, and the
/// parts of [`MomentSums`] it must contain.
#[derive(Debug, Clone, PartialEq)]
pub struct PassRequest {
    /// The sources, as indices into the engine's
    /// [`source_names`](SumsEngine::source_names), in the order of η (a fit may leave
    /// sources out: repeated ones, those the model fits exactly, or one at a time for
    /// the difference-in-Hansen tests).
    pub sources: Vec<usize>,
    /// (θ, η_1, …, η_M) for those sources: p(1 + M) values.
    pub params: Array1<f64>,
    /// Whether Σ ∂g_t/∂(θ, η)ᵀ is needed.
    pub jacobian: bool,
    /// Whether Σ g_t g_tᵀ is needed.
    pub omega: bool,
    /// Whether Σ g_t² per moment (Σ g_t g_tᵀ's diagonal) is needed; with `omega` it
    /// comes from Σ g_t g_tᵀ. A source's screening asks for these alone: K sums where
    /// Σ g_t g_tᵀ has K(K + 1)/2.
    pub squares: bool,
    /// Windmeijer's contraction with this vector (K values), if needed.
    pub contraction: Option<Array1<f64>>,
    /// Whether the labeled blocks' moments are divided by the labeling probability
    /// π_t (labeling not at random), from the engine's probabilities column
    /// ([`SumsEngine::has_probabilities`]). A fit asks for it unless the probabilities
    /// are equal on every labeled row or it was told to ignore them.
    pub probabilities: bool,
}

impl PassRequest {
    /// What a clustered engine sums over each cluster's rows for this request (see
    /// [`MomentSums::add_cluster_sums`]): Σg, the Jacobian when the request asks for it
    /// or for a contraction, the rows' squares when it asks for them without Σggᵀ;
    /// never Σggᵀ nor the contraction, which are formed from the clusters' sums.
    pub fn per_cluster(&self) -> PassRequest {
        PassRequest {
            jacobian: self.jacobian || self.contraction.is_some(),
            omega: false,
            squares: self.squares && !self.omega,
            contraction: None,
            ..self.clone()
        }
    }
}

/// One block's columns in a batch of rows: the outcome, the covariates and the extra
/// columns, each a slice of the batch's length.
#[derive(Debug, Clone)]
pub struct ColumnBlock<'a> {
    /// Outcomes y_t.
    pub y: &'a [f64],
    /// Covariates, one slice per column of x.
    pub x: Vec<&'a [f64]>,
    /// Extra columns a model reads by name (an instrument), in the order of
    /// [`RowColumns::column_names`]; empty when there are none.
    pub extra: Vec<&'a [f64]>,
}

/// A batch of rows as plain columns: the label indicator, the real data (read on
/// labeled rows only: other rows may hold anything), the requested sources in the
/// request's order and, for an engine that [weighs its rows](SumsEngine::weighs_rows),
/// the observation weights, and for one that
/// [has labeling probabilities](SumsEngine::has_probabilities), those.
#[derive(Debug, Clone)]
pub struct RowColumns<'a> {
    /// S_t.
    pub labeled: &'a [bool],
    /// The real outcome and covariates.
    pub real: ColumnBlock<'a>,
    /// One block per source of the request.
    pub sources: Vec<ColumnBlock<'a>>,
    /// The observation weights w_t, which multiply every row's moments (labeled and
    /// all-rows blocks), or `None` for unweighted rows.
    pub weights: Option<&'a [f64]>,
    /// The labeling probabilities π_t (read on labeled rows only), applied when the
    /// request asks for them ([`PassRequest::probabilities`]), or `None`.
    pub probabilities: Option<&'a [f64]>,
    /// The names of every block's extra columns ([`SumsEngine::column_names`]); empty
    /// when there are none.
    pub column_names: &'a [String],
}

/// Something that sums the stacked moments over all rows where they live.
///
/// An implementation answers [`PassRequest`]s with the sums over all T rows; building
/// each partition's sums with [`MomentSums::add_rows`] and merging them with
/// [`MomentSums::merge`] gives the in-memory answer to rounding.
pub trait SumsEngine: Send + Sync + fmt::Debug {
    /// The [`MomentModel::name`] of the model whose moments the engine sums; the
    /// estimator refuses a different model.
    fn model_name(&self) -> &str;
    /// The sources the engine can sum, in its order.
    fn source_names(&self) -> &[String];
    /// The sums over all rows for one pass.
    ///
    /// # Errors
    /// Whatever the engine fails with: it becomes the fit's error.
    fn sums(&self, request: &PassRequest) -> Result<MomentSums>;
    /// Whether the engine multiplies every row's moments by an observation weight w_t
    /// (a weights column of its table, as [`RowColumns::weights`] carries it to
    /// [`MomentSums::add_rows`]). [`DataSources::from_engine`](crate::DataSources::from_engine)
    /// then requires the labeled rows in memory to carry the same weights, and refuses
    /// them otherwise. No, by default.
    fn weighs_rows(&self) -> bool {
        false
    }
    /// Whether the engine's table has labeling probabilities π_t (as
    /// [`RowColumns::probabilities`] carries them to [`MomentSums::add_rows`]), which
    /// divide the labeled blocks' moments when a request asks for them
    /// ([`PassRequest::probabilities`]). [`DataSources::from_engine`](crate::DataSources::from_engine)
    /// then requires the labeled rows in memory to carry the same probabilities, and
    /// refuses them otherwise. No, by default.
    fn has_probabilities(&self) -> bool {
        false
    }
    /// The number of clusters G of the engine's rows when they are clustered (a
    /// clusters column of its table), else `None`. The Σggᵀ and the contraction a
    /// clustered engine returns are then cluster-robust: G/(G − 1) Σ_c s_c s_cᵀ over
    /// the clusters' sums s_c = Σ_{t∈c} g_t, and likewise for the contraction (as
    /// [`MomentSums::add_cluster`] and [`MomentSums::finish_clusters`] build them);
    /// the rows' squares stay row by row.
    /// [`DataSources::from_engine`](crate::DataSources::from_engine) then requires the
    /// labeled rows in memory to carry their clusters, and refuses them otherwise. No,
    /// by default.
    fn n_clusters(&self) -> Option<usize> {
        None
    }
    /// The names of the extra columns every block of the engine's rows carries (an
    /// instrument of [`LinearIv`](crate::models::LinearIv)), as [`RowColumns`] carries
    /// them to [`MomentSums::add_rows`].
    /// [`DataSources::from_engine`](crate::DataSources::from_engine) requires the
    /// labeled rows in memory to carry the same columns. None, by default.
    fn column_names(&self) -> &[String] {
        &[]
    }
}

impl MomentSums {
    /// Zero sums for a request, k moments per block (for the built-in regressions, the
    /// number of covariates p).
    pub fn for_request(k: usize, request: &PassRequest) -> MomentSums {
        let m = request.sources.len();
        let p = request.params.len() / (1 + m);
        MomentSums::zeros(
            Layout { k, p, sources: m },
            request.jacobian,
            request.omega,
            request.contraction.is_some(),
        )
        .with_squares(request.squares)
    }

    /// Adds a batch of rows, given as plain column slices, to the sums at the
    /// request's parameters. Values are checked as [`DataSources`](crate::DataSources)
    /// checks them (finite, at most 10⁶⁴ in magnitude; the real data on labeled rows
    /// only), the weights as [`DataSourcesBuilder::weights`](crate::DataSourcesBuilder::weights)
    /// checks them (positive and finite), and the outcomes by the model's
    /// [`MomentModel::check_outcome`]; rows in errors are counted within the batch.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the request, the columns and these sums disagree
    /// in shape; [`Error::LengthMismatch`] for columns of different lengths;
    /// [`Error::NonFinite`] and [`Error::InvalidValue`] for bad values.
    pub fn add_rows<M: MomentModel + ?Sized>(
        &mut self,
        model: &M,
        request: &PassRequest,
        columns: &RowColumns<'_>,
    ) -> Result<()> {
        self.check_parts(request)?;
        let part = row_sums(self.layout(), model, request, columns)?;
        self.add(&part);
        Ok(())
    }

    /// Adds the rows of one cluster, given as [`add_rows`](Self::add_rows) takes a
    /// batch, for an engine whose rows are clustered
    /// ([`SumsEngine::n_clusters`]): Σg, the Jacobian and the rows' squares as
    /// `add_rows` adds them; to Σggᵀ the cluster's s_c s_cᵀ, with s_c = Σ_{t∈c} g_t; to
    /// the contraction by v, J_c u_c + s_c d_cᵀ with J_c = Σ_{t∈c} ∂g_t/∂(θ, η)ᵀ,
    /// u_c = s_cᵀv and d_c = J_cᵀv. Every row of a cluster comes in one call; after
    /// the last cluster (and the merge of partitions, each holding whole clusters),
    /// [`finish_clusters`](Self::finish_clusters) applies G/(G − 1).
    ///
    /// # Errors
    /// Those of [`add_rows`](Self::add_rows).
    ///
    /// # Examples
    /// The mean as least squares on an intercept (ψ = y − θ) at θ = 0, over two
    /// clusters of labeled rows, {1, 2} and {4}:
    /// ```
    /// use ndarray::array;
    /// use synthgmm::models::Ols;
    /// use synthgmm::{ColumnBlock, MomentSums, PassRequest, RowColumns};
    /// let request = PassRequest {
    ///     sources: vec![], params: array![0.0], jacobian: false, omega: true,
    ///     squares: false, contraction: None, probabilities: false,
    /// };
    /// let (labeled, one) = ([true; 2], [1.0; 2]);
    /// let mut sums = MomentSums::for_request(1, &request);
    /// for y in [&[1.0, 2.0][..], &[4.0][..]] {
    ///     let n = y.len();
    ///     let real = ColumnBlock { y, x: vec![&one[..n]], extra: vec![] };
    ///     let rows = RowColumns {
    ///         labeled: &labeled[..n], real, sources: vec![], weights: None, probabilities: None, column_names: &[],
    ///     };
    ///     sums.add_cluster(&Ols, &request, &rows)?;
    /// }
    /// sums.finish_clusters(2);
    /// // G/(G − 1) Σ_c s_c² = 2 (3² + 4²), where the rows alone would give 1 + 4 + 16.
    /// assert_eq!(sums.omega().unwrap()[[0, 0]], 50.0);
    /// assert_eq!((sums.n_rows(), sums.moments()[0]), (3.0, 7.0));
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn add_cluster<M: MomentModel + ?Sized>(
        &mut self,
        model: &M,
        request: &PassRequest,
        columns: &RowColumns<'_>,
    ) -> Result<()> {
        self.check_parts(request)?;
        let part = row_sums(self.layout(), model, &request.per_cluster(), columns)?;
        self.add_cluster_sums(&part, request)
    }

    /// Adds one cluster's sums, as [`add_cluster`](Self::add_cluster) adds its rows,
    /// for an engine that sums each cluster's rows itself (a `GROUP BY`): `cluster`
    /// answers [`PassRequest::per_cluster`] on the cluster's rows.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when these sums or `cluster` hold other parts than
    /// `request` and its per-cluster request ask for; [`Error::ShapeMismatch`] for
    /// another layout.
    pub fn add_cluster_sums(&mut self, cluster: &MomentSums, request: &PassRequest) -> Result<()> {
        self.check_parts(request)?;
        cluster.check_parts(&request.per_cluster())?;
        if cluster.layout() != self.layout() {
            return Err(Error::ShapeMismatch {
                what: "a cluster's sums".into(),
                expected: self.to_vec().len(),
                found: cluster.to_vec().len(),
            });
        }
        let s = cluster.moments();
        let sums = self.parts_mut();
        *sums.rows += cluster.n_rows();
        *sums.labeled += cluster.n_labeled();
        *sums.g += &s;
        if let (Some(total), Some(j)) = (sums.jacobian, cluster.jacobian()) {
            *total += &j;
        }
        if let (Some(total), Some(squares)) = (sums.squares, cluster.squares()) {
            *total += &squares;
        }
        let column = s.insert_axis(ndarray::Axis(1));
        if let Some(omega) = sums.omega {
            ndarray::linalg::general_mat_mul(1.0, &column, &column.t(), 1.0, omega);
        }
        if let (Some(total), Some(v), Some(j)) =
            (sums.contraction, &request.contraction, cluster.jacobian())
        {
            let (u, d) = (s.dot(v), j.t().dot(v));
            total.scaled_add(u, &j);
            let d = d.view().insert_axis(ndarray::Axis(0));
            ndarray::linalg::general_mat_mul(1.0, &column, &d, 1.0, total);
        }
        Ok(())
    }

    /// Multiplies Σggᵀ and the contraction of sums added cluster by cluster
    /// ([`add_cluster`](Self::add_cluster)) by the finite-cluster factor G/(G − 1),
    /// G the number of clusters added (1 for G < 2, for which the fit reports that no
    /// cluster-robust covariance exists): once, after every cluster.
    pub fn finish_clusters(&mut self, clusters: usize) {
        let factor = crate::engine::cluster_factor(clusters);
        let sums = self.parts_mut();
        for part in [sums.omega, sums.contraction].into_iter().flatten() {
            *part *= factor;
        }
    }

    /// Whether these sums hold the parts `request` asks for.
    fn check_parts(&self, request: &PassRequest) -> Result<()> {
        let parts_match = self.jacobian().is_some() == request.jacobian
            && self.omega().is_some() == request.omega
            && self.squares().is_some() == (request.omega || request.squares)
            && self.contraction().is_some() == request.contraction.is_some();
        match parts_match {
            true => Ok(()),
            false => Err(Error::InvalidConfig {
                parameter: "sums",
                reason: "the sums were made for a request with other parts".into(),
            }),
        }
    }
}

/// The sums of a batch of rows (see [`MomentSums::add_rows`]) in `layout`, checked.
fn row_sums<M: MomentModel + ?Sized>(
    layout: Layout,
    model: &M,
    request: &PassRequest,
    columns: &RowColumns<'_>,
) -> Result<MomentSums> {
    let shape = |what: &str, expected: usize, found: usize| Error::ShapeMismatch {
        what: what.to_string(),
        expected,
        found,
    };
    let m = layout.sources;
    if request.sources.len() != m || columns.sources.len() != m {
        return Err(shape("sources", m, columns.sources.len()));
    }
    if request.params.len() != layout.n_params() {
        return Err(shape("parameters", layout.n_params(), request.params.len()));
    }
    if let Some(v) = &request.contraction {
        if v.len() != layout.n_moments() {
            return Err(shape("contraction values", layout.n_moments(), v.len()));
        }
    }
    let (n, names) = (columns.labeled.len(), columns.column_names);
    if let Some(column) = (model.required_columns().into_iter()).find(|c| !names.contains(c)) {
        return Err(Error::MissingColumn {
            block: REAL.to_string(),
            column,
        });
    }
    let picked: Vec<usize> = (0..n).filter(|&i| columns.labeled[i]).collect();
    let real = block_rows(REAL, &columns.real, (layout.p, names.len()), n)?.select(&picked);
    check_values(REAL, &real, names, |i| picked[i], &mut Vec::new())?;
    check_outcomes(model, REAL, &real, |i| picked[i])?;
    let mut sources = Vec::with_capacity(m);
    for (j, block) in columns.sources.iter().enumerate() {
        let name = format!("source {j}");
        let rows = block_rows(&name, block, (layout.p, names.len()), n)?;
        check_values(&name, &rows, names, |i| i, &mut Vec::new())?;
        check_outcomes(model, &name, &rows, |i| i)?;
        sources.push(rows);
    }
    let labeled_sources: Vec<RowBlock> = sources.iter().map(|s| s.select(&picked)).collect();
    let BatchWeights {
        rows: row_weights,
        labeled: label_weights,
    } = batch_weights(columns, request, &picked)?;
    let chunk = Chunk {
        rows: n,
        labeled: picked,
        weights: label_weights.as_ref().map(|w| w.view()),
        real: real.view(names),
        sources: sources.iter().map(|s| s.view(names)).collect(),
        sources_labeled: labeled_sources.iter().map(|s| s.view(names)).collect(),
        clusters: None,
        row_weights: row_weights.map(ArrayView1::from),
    };
    let needs = Needs {
        jacobian: request.jacobian,
        omega: request.omega,
        squares: request.squares,
        contraction: request.contraction.as_ref().map(|v| v.view()),
        cluster_u: None,
    };
    let (part, _) = chunk_sums(model, &chunk, layout, request.params.view(), needs);
    if part.layout() != layout {
        return Err(shape("moments per block", layout.k, part.layout().k));
    }
    Ok(part)
}

/// A batch's weights: every row's observation weight, and each labeled row's w_t/π_t.
struct BatchWeights<'a> {
    rows: Option<&'a [f64]>,
    labeled: Option<Array1<f64>>,
}

/// A batch's observation weights w_t and, when the request divides by them, labeling
/// probabilities π_t, checked (one per row; weights positive and finite, probabilities
/// in (0, 1] on the labeled rows `picked`), and the labeled rows' weights w_t/π_t,
/// which weigh the labeled blocks.
fn batch_weights<'a>(
    columns: &RowColumns<'a>,
    request: &PassRequest,
    picked: &[usize],
) -> Result<BatchWeights<'a>> {
    let (n, weights) = (columns.labeled.len(), columns.weights);
    let probabilities = match request.probabilities {
        true => Some(columns.probabilities.ok_or_else(|| Error::InvalidConfig {
            parameter: "probabilities",
            reason: "the request divides by labeling probabilities the rows do not carry".into(),
        })?),
        false => None,
    };
    for (what, values) in [
        ("weights", weights),
        ("labeling probabilities", probabilities),
    ] {
        if let Some(v) = values.filter(|v| v.len() != n) {
            return Err(Error::LengthMismatch {
                what: what.into(),
                expected: n,
                found: v.len(),
            });
        }
    }
    if let Some(w) = weights {
        check_weight_values(ArrayView1::from(w), 0)?;
    }
    if let Some(pi) = probabilities {
        // Read on the labeled rows only (others may hold nulls); errors name the
        // batch's row.
        let on_labeled: Array1<f64> = picked.iter().map(|&i| pi[i]).collect();
        check_probability_values(on_labeled.view(), &vec![true; picked.len()], 0)
            .map_err(|e| e.map_row(|row| picked[row]))?;
    }
    let label = |i: usize| weights.map_or(1.0, |w| w[i]) / probabilities.map_or(1.0, |p| p[i]);
    Ok(BatchWeights {
        rows: weights,
        labeled: (weights.is_some() || probabilities.is_some())
            .then(|| picked.iter().map(|&i| label(i)).collect()),
    })
}

/// A block's columns as rows (n × p covariates, q extra columns).
fn block_rows(
    name: &str,
    block: &ColumnBlock<'_>,
    (p, q): (usize, usize),
    n: usize,
) -> Result<RowBlock> {
    if block.x.len() != p {
        return Err(Error::CovariateMismatch {
            source_name: name.to_string(),
            expected: p,
            found: block.x.len(),
        });
    }
    if block.extra.len() != q {
        return Err(Error::ShapeMismatch {
            what: format!("extra columns of `{name}`"),
            expected: q,
            found: block.extra.len(),
        });
    }
    for (what, len) in std::iter::once(("outcome", block.y.len()))
        .chain(block.x.iter().map(|c| ("covariate", c.len())))
        .chain(block.extra.iter().map(|c| ("extra column", c.len())))
    {
        if len != n {
            return Err(Error::LengthMismatch {
                what: format!("{what} of `{name}`"),
                expected: n,
                found: len,
            });
        }
    }
    Ok(RowBlock {
        x: std::sync::Arc::new(Array2::from_shape_fn((n, p), |(i, j)| block.x[j][i])),
        y: Array1::from(block.y.to_vec()),
        extra: Array2::from_shape_fn((n, q), |(i, j)| block.extra[j][i]),
    })
}

/// The model's outcome check on a block's rows (row i is batch row `row_of(i)`).
fn check_outcomes<M: MomentModel + ?Sized>(
    model: &M,
    name: &str,
    rows: &RowBlock,
    row_of: impl Fn(usize) -> usize,
) -> Result<()> {
    match rows
        .y
        .iter()
        .enumerate()
        .find_map(|(i, &v)| model.check_outcome(v).err().map(|r| (i, v, r)))
    {
        Some((i, value, reason)) => Err(Error::InvalidValue {
            source_name: name.to_string(),
            column: Column::Outcome,
            row: row_of(i),
            value,
            reason,
        }),
        None => Ok(()),
    }
}
