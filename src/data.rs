//! [`DataSources`]: the label mask, the real data and the auxiliary sources, aligned by row.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{Column, Error, Result};
use crate::fixed_effects::{Effect, FixedEffects};
use crate::rows::{RowBlock, Rows};
use crate::tier::Streamed;
use crate::values::{check_probability_values, check_values, check_weight_values};

pub use crate::rows::REAL;

/// One auxiliary source m: covariates x^m_t, outcomes y^m_t and extra columns on every
/// row t.
#[derive(Debug, Clone)]
pub struct AuxSource {
    name: String,
    all: RowBlock,
    labeled: RowBlock,
    columns: Vec<String>,
}

impl AuxSource {
    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Covariates on all T rows (T × p); no rows for data kept out of memory
    /// ([`DataSources::is_out_of_core`]).
    pub fn x(&self) -> ArrayView2<'_, f64> {
        self.all.x.view()
    }
    /// Outcomes on all T rows; none for data kept out of memory.
    pub fn y(&self) -> ArrayView1<'_, f64> {
        self.all.y.view()
    }
    /// Covariates on the labeled rows only (n × p), in the order of
    /// [`DataSources::labeled_rows`].
    pub fn x_labeled(&self) -> ArrayView2<'_, f64> {
        self.labeled.x.view()
    }
    /// Outcomes on the labeled rows only.
    pub fn y_labeled(&self) -> ArrayView1<'_, f64> {
        self.labeled.y.view()
    }
    /// Whether two sources carry the same values on every row (covariates, outcome and
    /// extra columns); covariates shared from one caller array compare at no cost.
    pub(crate) fn same_values(&self, other: &AuxSource) -> bool {
        (Arc::ptr_eq(&self.all.x, &other.all.x) || self.all.x == other.all.x)
            && self.all.y == other.all.y
            && self.all.extra == other.all.extra
    }

    /// Every row of the source, extra columns included; no rows for data kept out of
    /// memory.
    pub fn rows(&self) -> Rows<'_> {
        self.all.view(&self.columns)
    }
    /// The labeled rows of the source, in the order of [`DataSources::labeled_rows`].
    pub fn labeled(&self) -> Rows<'_> {
        self.labeled.view(&self.columns)
    }
}

/// Cluster ids of every row, dense from 0 in order of first appearance, and how many
/// there are.
#[derive(Debug, Clone, PartialEq)]
struct Clusters {
    ids: Vec<u32>,
    count: usize,
}

/// What a data set kept out of memory holds in memory for every row (one number each):
/// the observation weights, the clusters (dense indices from 0) and the labeling
/// probabilities, if given. Shared, not copied, by the data sets of several outcomes.
#[derive(Debug, Clone, Default)]
pub(crate) struct PerRow {
    weights: Option<Arc<Array1<f64>>>,
    clusters: Option<Arc<Clusters>>,
    labeling_probabilities: Option<Arc<Array1<f64>>>,
}

impl PerRow {
    /// The weights, the clusters (dense indices and their count) and the labeling
    /// probabilities of every row, each if given.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn new(
        weights: Option<Array1<f64>>,
        clusters: Option<(Vec<u32>, usize)>,
        labeling_probabilities: Option<Array1<f64>>,
    ) -> Self {
        Self {
            weights: weights.map(Arc::new),
            clusters: clusters.map(|(ids, count)| Arc::new(Clusters { ids, count })),
            labeling_probabilities: labeling_probabilities.map(Arc::new),
        }
    }
}

/// Rows t = 1..T with a label mask S_t, real data on the labeled rows, and M ≥ 0
/// auxiliary sources given on every row.
///
/// Real values on unlabeled rows are never read and may be NaN. Each source's row t
/// must describe the same unit as real row t (a proxy prediction for that text, or the
/// synthetic sample generated from it); sources may carry their own covariates.
///
/// When every row is labeled, a source's labeled and all-rows moments coincide and
/// auxiliary data cannot help: the GMM leaves the sources out (a note says so) and θ̂
/// is the real-only estimate.
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::DataSources;
/// let x = array![[1.0, 0.1], [1.0, 0.7], [1.0, -0.3], [1.0, 1.2], [1.0, 0.5], [1.0, 0.9]];
/// let y = array![0.4, f64::NAN, 0.1, f64::NAN, 0.2, f64::NAN]; // unlabeled outcomes are ignored
/// let proxy_y = array![0.5, 1.1, 0.0, 1.9, 0.3, 0.8];
/// let data = DataSources::builder(&[true, false, true, false, true, false])
///     .real(&x, &y)
///     .source("proxy", &x, &proxy_y)
///     .build()?;
/// assert_eq!((data.n_rows(), data.n_labeled(), data.n_sources()), (6, 3, 1));
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DataSources {
    n_rows: usize,
    labeled: Vec<usize>,
    real: RowBlock,
    sources: Vec<AuxSource>,
    covariate_names: Vec<String>,
    columns: Vec<String>,
    labeling_probabilities: Option<Arc<Array1<f64>>>,
    /// Cluster of every row (dense indices from 0), if given.
    clusters: Option<Arc<Clusters>>,
    /// Observation (survey) weight of every row, if given.
    weights: Option<Arc<Array1<f64>>>,
    /// Where the sources' rows are read from when they are not in memory.
    stream: Option<Arc<Streamed>>,
    /// The fixed effects absorbed from every block, if any.
    fixed_effects: Option<Arc<FixedEffects>>,
}

impl DataSources {
    /// ppi_py's layout: labeled covariates, outcomes and predictions (`x`, `y`, `yhat`,
    /// n rows) and unlabeled covariates and predictions (`x_unlabeled`,
    /// `yhat_unlabeled`, N rows), as in `ppi_ols_ci(X, Y, Yhat, X_unlabeled,
    /// Yhat_unlabeled)`. The rows are stacked labeled first; the predictions become the
    /// source `proxy`, with the same covariates as the real data.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the labeled or the unlabeled arrays disagree in
    /// rows, [`Error::CovariateMismatch`] when `x` and `x_unlabeled` differ in columns,
    /// and the errors of [`DataSourcesBuilder::build`].
    ///
    /// # Examples
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use synthgmm::{baselines::PpiPlusPlus, models::Ols, DataSources, Estimator, TwoStepGmm};
    /// let design = |n: usize, shift: usize| {
    ///     Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { 1.0 } else { ((i + shift) as f64 * 0.37).sin() })
    /// };
    /// let (x, x_u) = (design(60, 0), design(600, 60));
    /// let noise = |n: usize, shift: usize| Array1::from_shape_fn(n, |i| ((i + shift) as f64 * 1.9).cos());
    /// let y = 2.0 * &x.column(1) + &noise(60, 0);
    /// let yhat = 2.0 * &x.column(1) + 0.8 * &noise(60, 0);
    /// let yhat_u = 2.0 * &x_u.column(1) + 0.8 * &noise(600, 60);
    /// let data = DataSources::from_split(&x, &y, &yhat, &x_u, &yhat_u)?;
    /// let ppi = PpiPlusPlus::new(Ols, "proxy").estimate(&data)?;
    /// let gmm = TwoStepGmm::new(Ols).fit(&data)?;
    /// // ppi_py's default level is 90% (alpha = 0.1); the crate asks for alpha.
    /// let ci = ppi.conf_int(0.1)?;
    /// assert!(ci[[1, 0]] < 2.0 && 2.0 < ci[[1, 1]]);
    /// assert_eq!((gmm.n_labeled(), gmm.n_rows()), (60, 660));
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn from_split<'a>(
        x: impl Into<ArrayView2<'a, f64>>,
        y: impl Into<ArrayView1<'a, f64>>,
        yhat: impl Into<ArrayView1<'a, f64>>,
        x_unlabeled: impl Into<ArrayView2<'a, f64>>,
        yhat_unlabeled: impl Into<ArrayView1<'a, f64>>,
    ) -> Result<DataSources> {
        let (x, y, yhat) = (x.into(), y.into(), yhat.into());
        let (x_u, yhat_u) = (x_unlabeled.into(), yhat_unlabeled.into());
        let (n, big_n) = (x.nrows(), x_u.nrows());
        check_rows("labeled outcomes", y.len(), n)?;
        check_rows("labeled predictions", yhat.len(), n)?;
        check_rows("unlabeled predictions", yhat_u.len(), big_n)?;
        if x.ncols() != x_u.ncols() {
            return Err(Error::CovariateMismatch {
                source_name: "unlabeled rows".into(),
                expected: x.ncols(),
                found: x_u.ncols(),
            });
        }
        let stacked_x = ndarray::concatenate(ndarray::Axis(0), &[x, x_u])
            .expect("equal column counts, checked above");
        let stacked_y = ndarray::concatenate(
            ndarray::Axis(0),
            &[y, Array1::from_elem(big_n, f64::NAN).view()],
        )
        .expect("one dimension");
        let predictions =
            ndarray::concatenate(ndarray::Axis(0), &[yhat, yhat_u]).expect("one dimension");
        let labeled: Vec<bool> = (0..n + big_n).map(|t| t < n).collect();
        let x = Arc::new(stacked_x);
        DataSources::builder(&labeled)
            .real_shared(Arc::clone(&x), &stacked_y)
            .source_shared("proxy", x, &predictions)
            .build()
    }

    /// Starts a builder from the label mask (`true` = human-labeled row).
    pub fn builder<'a>(labeled: impl Into<ArrayView1<'a, bool>>) -> DataSourcesBuilder {
        DataSourcesBuilder {
            labeled: labeled.into().to_vec(),
            real: None,
            sources: Vec::new(),
            columns: Vec::new(),
            copied: Vec::new(),
            covariate_names: None,
            labeling_probabilities: None,
            clusters: None,
            weights: None,
            fixed_effects: Vec::new(),
        }
    }

    /// Number of rows T.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
    /// Number of labeled rows n.
    pub fn n_labeled(&self) -> usize {
        self.labeled.len()
    }
    /// Number of covariate columns of x.
    pub fn n_covariates(&self) -> usize {
        self.real.x.ncols()
    }
    /// Number of auxiliary sources M.
    pub fn n_sources(&self) -> usize {
        self.sources.len()
    }
    /// Indices of the labeled rows, ascending.
    pub fn labeled_rows(&self) -> &[usize] {
        &self.labeled
    }
    /// The cluster of each labeled row, in the order of
    /// [`labeled_rows`](Self::labeled_rows), if clusters were given.
    pub(crate) fn labeled_clusters(&self) -> Option<Vec<u32>> {
        let cluster = self.clusters()?;
        Some(self.labeled.iter().map(|&t| cluster[t]).collect())
    }
    /// The labeled rows' cluster ids `ids` (from [`labeled_clusters`](Self::labeled_clusters))
    /// with the absorbed fixed effects' columns of CR2's working design.
    pub(crate) fn cluster_design<'a>(
        &'a self,
        ids: &'a [u32],
    ) -> crate::small_sample::ClusterDesign<'a> {
        crate::small_sample::ClusterDesign {
            ids,
            absorbed: self
                .fixed_effects
                .as_deref()
                .and_then(FixedEffects::leverage_columns),
        }
    }
    /// The notes every estimator reports about the data's design: the fixed effects
    /// absorbed, if any.
    pub(crate) fn design_notes(&self) -> Vec<crate::inference::Note> {
        self.fixed_effects()
            .map(|f| crate::inference::Note::FixedEffects {
                levels: f.levels().to_vec(),
                leverage_left_out: f.leverage_left_out(),
            })
            .into_iter()
            .collect()
    }
    /// Indices of the unlabeled rows, ascending.
    pub fn unlabeled_rows(&self) -> Vec<usize> {
        let mask = self.label_mask();
        (0..self.n_rows).filter(|&t| !mask[t]).collect()
    }
    /// The label mask S_t as booleans.
    pub fn label_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.n_rows];
        for &t in &self.labeled {
            mask[t] = true;
        }
        mask
    }
    /// Real covariates on the labeled rows (n × p).
    pub fn real_x(&self) -> ArrayView2<'_, f64> {
        self.real.x.view()
    }
    /// Real outcomes on the labeled rows.
    pub fn real_y(&self) -> ArrayView1<'_, f64> {
        self.real.y.view()
    }
    /// The real data on the labeled rows, extra columns included.
    pub fn real_rows(&self) -> Rows<'_> {
        self.real.view(&self.columns)
    }
    /// Names of the extra columns every block carries.
    pub fn column_names(&self) -> &[String] {
        &self.columns
    }
    /// The auxiliary sources, in the order they were added.
    pub fn sources(&self) -> &[AuxSource] {
        &self.sources
    }
    /// The source with this name, if any.
    pub fn source(&self, name: &str) -> Option<&AuxSource> {
        self.sources.iter().find(|s| s.name == name)
    }
    /// Names of the sources, in order.
    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.name.clone()).collect()
    }
    /// Names of the covariates (default `x0`, `x1`, …).
    pub fn covariate_names(&self) -> &[String] {
        &self.covariate_names
    }
    /// Known labeling probabilities π_t on every row, if given.
    pub fn labeling_probabilities(&self) -> Option<ArrayView1<'_, f64>> {
        self.labeling_probabilities.as_ref().map(|p| p.view())
    }
    /// Whether labeling probabilities were given and differ between labeled rows: the
    /// labeled rows are then not a random sample of the rows.
    pub(crate) fn labeled_unequally(&self) -> bool {
        self.labeling_probabilities()
            .is_some_and(|pi| !equal_on(&pi, self.labeled_rows()))
    }
    /// [`Note::LabelingDesign`](crate::inference::Note::LabelingDesign) for an estimator
    /// that assumes the rows were labeled at random, when the labeling probabilities
    /// differ between labeled rows; `None` otherwise.
    pub(crate) fn probabilities_ignored(&self, estimator: &str) -> Option<crate::inference::Note> {
        self.labeled_unequally().then(|| crate::inference::Note::LabelingDesign {
            detail: format!(
                "{estimator} assumes the rows were labeled at random and did not use the labeling probabilities: its estimate is biased where they depend on the outcome (DSL and the GMM weigh the labeled rows by them)"
            ),
        })
    }
    /// The cluster of every row as dense indices 0, 1, … in order of first appearance,
    /// if clusters were given ([`DataSourcesBuilder::clusters`]); for data summed by an
    /// engine ([`from_engine`](Self::from_engine)), of the labeled rows.
    pub fn clusters(&self) -> Option<&[u32]> {
        self.clusters.as_deref().map(|c| c.ids.as_slice())
    }
    /// The observation (survey) weight w_t of every row, if given
    /// ([`DataSourcesBuilder::weights`]).
    pub fn weights(&self) -> Option<ArrayView1<'_, f64>> {
        self.weights.as_deref().map(|w| w.view())
    }
    /// The fixed effects absorbed from every block, if any were given
    /// ([`DataSourcesBuilder::fixed_effects`]).
    pub fn fixed_effects(&self) -> Option<&FixedEffects> {
        self.fixed_effects.as_deref()
    }
    /// Number of distinct clusters, if clusters were given.
    pub fn n_clusters(&self) -> Option<usize> {
        self.clusters.as_deref().map(|c| c.count)
    }
    /// Number of clusters G with rows that enter the stacked moments: those of the
    /// labeled rows without sources, of every row with them.
    pub(crate) fn clusters_in_moments(&self) -> Option<usize> {
        let cluster = self.clusters()?;
        let mut seen = vec![false; self.n_clusters().unwrap_or(0)];
        if self.sources.is_empty() {
            for &t in &self.labeled {
                seen[cluster[t] as usize] = true;
            }
        } else {
            seen.fill(true);
        }
        Some(seen.iter().filter(|&&s| s).count())
    }

    /// Checks what an estimator of `model` reads beyond what [`build`](DataSourcesBuilder::build)
    /// checked (finite values at most 10⁶⁴ in magnitude): the model's columns exist and
    /// the outcomes are accepted by
    /// [`MomentModel::check_outcome`](crate::MomentModel::check_outcome) (real ones on
    /// labeled rows, source ones on every row). Every estimator in the crate runs this
    /// first, so all of them accept and reject the same data.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming the source, column and first row.
    pub fn check_model<M: crate::MomentModel + ?Sized>(&self, model: &M) -> Result<()> {
        let required = model.required_columns();
        if self.fixed_effects.is_some() && !model.absorbs_fixed_effects() {
            return Err(Error::FixedEffectsModel {
                model: model.name().to_string(),
            });
        }
        if let Some(stream) = self.streamed() {
            self.check_streamed_outcomes(model, stream)?;
        }
        let blocks = std::iter::once((REAL, self.real_rows(), true))
            .chain(self.sources.iter().map(|s| (s.name(), s.rows(), false)));
        for (name, rows, real) in blocks {
            for column in &required {
                if rows.column(column).is_none() {
                    return Err(Error::MissingColumn {
                        block: name.to_string(),
                        column: column.clone(),
                    });
                }
            }
            let row_of = |i: usize| if real { self.labeled[i] } else { i };
            let bad = |i: usize, column, value, reason| Error::InvalidValue {
                source_name: name.to_string(),
                column,
                row: row_of(i),
                value,
                reason,
            };
            if let Some((i, &v, reason)) = rows
                .y()
                .iter()
                .enumerate()
                .find_map(|(i, v)| model.check_outcome(*v).err().map(|r| (i, v, r)))
            {
                return Err(bad(i, Column::Outcome, v, reason));
            }
        }
        Ok(())
    }

    /// The same rows with only the named sources, in the order given; `&[]` gives the
    /// real-only data set.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if a name is unknown or repeated.
    ///
    /// # Examples
    /// ```
    /// # use ndarray::array;
    /// # use synthgmm::DataSources;
    /// # let x = array![[1.0], [1.0], [1.0]];
    /// # let y = array![1.0, 2.0, 3.0];
    /// let data = DataSources::builder(&[true, true, false])
    ///     .real(&x, &y).source("a", &x, &y).source("b", &x, &y).build()?;
    /// assert_eq!(data.select_sources(&["b"])?.source_names(), vec!["b"]);
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn select_sources(&self, names: &[&str]) -> Result<DataSources> {
        let mut sources = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(Error::DuplicateSource {
                    name: name.to_string(),
                });
            }
            let source = self.source(name).ok_or_else(|| Error::InvalidConfig {
                parameter: "sources",
                reason: format!("no source named `{name}`"),
            })?;
            sources.push(source.clone());
        }
        Ok(DataSources {
            sources,
            ..self.without_sources()
        })
    }

    /// The same data with one more source: the covariates of source `like` (shared, not
    /// copied) and the outcome `y` on every row.
    ///
    /// # Errors
    /// [`Error::MissingSource`] for an unknown `like`, [`Error::DuplicateSource`] for a
    /// taken name, [`Error::LengthMismatch`] for a `y` of the wrong length.
    pub(crate) fn with_recalibrated_source(
        &self,
        like: &str,
        name: &str,
        y: Array1<f64>,
    ) -> Result<DataSources> {
        check_rows(&format!("outcome of `{name}`"), y.len(), self.n_rows)?;
        if self.source(name).is_some() || name == REAL {
            return Err(Error::DuplicateSource {
                name: name.to_string(),
            });
        }
        let base = self.source(like).ok_or_else(|| Error::MissingSource {
            estimator: "RePPI".into(),
            name: like.to_string(),
        })?;
        let all = RowBlock {
            x: Arc::clone(&base.all.x),
            y,
            extra: base.all.extra.clone(),
        };
        self.require_in_memory("RePPI")?;
        let mut data = self.clone();
        data.sources.push(AuxSource {
            name: name.to_string(),
            labeled: all.select(&self.labeled),
            all,
            columns: self.columns.clone(),
        });
        Ok(data)
    }

    /// Whether the sources' rows stay out of memory: in files read by every pass (data
    /// from `synthgmm::parquet::ParquetSources`, feature `parquet`), or summed by an
    /// engine ([`from_engine`](Self::from_engine)).
    /// Such data serve [`TwoStepGmm`](crate::TwoStepGmm) with its default settings (and
    /// every choice of covariance, weighting and cross weights) and real-only; PPI++,
    /// PPI++Synth and DSL read files out of core too. Naive pooling and RePPI, which
    /// read the sources' rows as arrays, and those three on an engine's rows return
    /// [`Error::NeedsInMemory`].
    pub fn is_out_of_core(&self) -> bool {
        self.stream.is_some()
    }

    pub(crate) fn streamed(&self) -> Option<&Streamed> {
        self.stream.as_deref()
    }

    /// How many times the sources' rows were read from their files since the data set
    /// was opened ([`crate::parquet`]); with outcomes opened together
    /// ([`open_outcomes`](crate::parquet::ParquetSources::open_outcomes)), the reads of
    /// all of them, each serving every outcome that asked. `None` when the rows are in
    /// memory or an engine sums them.
    pub fn passes_read(&self) -> Option<usize> {
        self.streamed().and_then(Streamed::passes_read)
    }

    /// The group whose passes this data set shares with other outcomes' data sets,
    /// when it was opened with them.
    pub(crate) fn shared_passes(&self) -> Option<&crate::tier::shared::Member> {
        self.streamed().and_then(Streamed::shared_passes)
    }

    /// The stream's indices of the sources, in the data set's order.
    pub(crate) fn stream_indices(&self) -> Option<Vec<usize>> {
        let stream = self.streamed()?;
        self.sources
            .iter()
            .map(|s| stream.index_of(s.name()))
            .collect()
    }

    /// [`Error::NeedsInMemory`] for data kept out of memory.
    pub(crate) fn require_in_memory(&self, what: &str) -> Result<()> {
        match self.stream {
            Some(_) => Err(Error::NeedsInMemory {
                what: what.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Whether sources `a` and `b` (indices in this data set) hold the same values.
    pub(crate) fn same_source_values(&self, a: usize, b: usize) -> bool {
        match (self.streamed(), self.stream_indices()) {
            (Some(stream), Some(index)) => stream.same_values(index[a], index[b]),
            _ => self.sources[a].same_values(&self.sources[b]),
        }
    }

    /// The outcome check of [`check_model`](Self::check_model) on the sources' rows in
    /// their files: one pass over the outcomes.
    fn check_streamed_outcomes<M: crate::MomentModel + ?Sized>(
        &self,
        model: &M,
        stream: &Streamed,
    ) -> Result<()> {
        let index = self.stream_indices().unwrap_or_default();
        let first_bad = stream.map_batches(&index, |start, rows| {
            rows.iter().enumerate().find_map(|(m, r)| {
                r.y().iter().enumerate().find_map(|(i, &v)| {
                    model
                        .check_outcome(v)
                        .err()
                        .map(|reason| (m, start + i, v, reason))
                })
            })
        });
        if let Some(e) = stream.take_failure() {
            return Err(e);
        }
        match first_bad.into_iter().flatten().next() {
            Some((m, row, value, reason)) => Err(Error::InvalidValue {
                source_name: self.sources[m].name().to_string(),
                column: Column::Outcome,
                row,
                value,
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Data whose sources stay in `stream`: the real data and the sources on the
    /// labeled rows in memory (`real`, `sources`, with the extra columns `columns`),
    /// read and checked by the caller.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn out_of_core(
        labeled: Vec<usize>,
        real: RowBlock,
        sources: Vec<(String, RowBlock)>,
        (covariate_names, columns): (Vec<String>, Vec<String>),
        (stream, per_row): (Streamed, PerRow),
    ) -> Result<DataSources> {
        let p = real.x.ncols();
        check_labeled_count(labeled.len(), p)?;
        let sources = sources
            .into_iter()
            .map(|(name, labeled_rows)| AuxSource {
                name,
                all: RowBlock {
                    x: Arc::new(Array2::zeros((0, p))),
                    y: Array1::zeros(0),
                    extra: Array2::zeros((0, columns.len())),
                },
                labeled: labeled_rows,
                columns: columns.clone(),
            })
            .collect();
        Ok(DataSources {
            n_rows: stream.n_rows(),
            labeled,
            real,
            sources,
            covariate_names,
            columns,
            labeling_probabilities: per_row.labeling_probabilities,
            clusters: per_row.clusters,
            weights: per_row.weights,
            stream: Some(Arc::new(stream)),
            fixed_effects: None,
        })
    }

    /// Data whose rows are summed by `engine` (see [`crate::external`]), with the
    /// labeled rows in memory: `labeled` holds the real data and the engine's sources
    /// (by name, any subset, in the order of η) on the labeled rows, every one of its
    /// rows labeled, in any order; `n_rows` is T. [`labeled_rows`](Self::labeled_rows)
    /// are then positions among the labeled rows. Observation weights go with an
    /// engine that [weighs its rows](crate::SumsEngine::weighs_rows), labeling
    /// probabilities with one that [has them](crate::SumsEngine::has_probabilities),
    /// clusters with one whose rows [are clustered](crate::SumsEngine::n_clusters):
    /// `labeled` then carries the labeled rows' values. With clusters,
    /// [`clusters`](Self::clusters) holds the labeled rows' and
    /// [`n_clusters`](Self::n_clusters) is the engine's G.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `labeled` has unlabeled rows, when clusters,
    /// weights or probabilities are on one side only, the two sides' extra columns
    /// ([`SumsEngine::column_names`](crate::SumsEngine::column_names)) differ, the labeled rows fall in more
    /// clusters than the engine's rows, T is below its rows, or `labeled` names a
    /// source the engine does not have.
    pub fn from_engine(
        labeled: &DataSources,
        n_rows: usize,
        engine: Box<dyn crate::tier::SumsEngine>,
    ) -> Result<DataSources> {
        let clusters = Self::check_engine(labeled, n_rows, engine.as_ref()).map_err(|reason| {
            Error::InvalidConfig {
                parameter: "labeled",
                reason,
            }
        })?;
        let p = labeled.n_covariates();
        let sources = labeled
            .sources
            .iter()
            .map(|s| AuxSource {
                all: RowBlock {
                    x: Arc::new(Array2::zeros((0, p))),
                    y: Array1::zeros(0),
                    extra: Array2::zeros((0, s.labeled.extra.ncols())),
                },
                ..s.clone()
            })
            .collect();
        Ok(DataSources {
            n_rows,
            sources,
            clusters,
            stream: Some(Arc::new(Streamed::engine(engine, n_rows))),
            ..labeled.without_sources()
        })
    }

    /// What [`from_engine`](Self::from_engine) requires of the labeled rows and the
    /// engine (`Err` says why not), and the data set's clusters: the labeled rows' ids
    /// with the engine's G, the clusters in the moments.
    fn check_engine(
        labeled: &DataSources,
        n_rows: usize,
        engine: &dyn crate::tier::SumsEngine,
    ) -> std::result::Result<Option<Arc<Clusters>>, String> {
        if labeled.n_labeled() != labeled.n_rows() {
            return Err("the rows given in memory must all be labeled".into());
        }
        let sides = [
            (
                "clusters",
                labeled.clusters.is_some(),
                engine.n_clusters().is_some(),
            ),
            (
                "observation weights",
                labeled.weights.is_some(),
                engine.weighs_rows(),
            ),
            (
                "labeling probabilities",
                labeled.labeling_probabilities.is_some(),
                engine.has_probabilities(),
            ),
        ];
        if let Some((what, in_memory, _)) = sides.iter().find(|(_, a, b)| a != b) {
            let (has, lacks) = match in_memory {
                true => ("the labeled rows", "the engine's rows"),
                false => ("the engine's rows", "the labeled rows"),
            };
            return Err(format!(
                "{has} carry {what} but {lacks} do not: give both sides the same column"
            ));
        }
        if labeled.column_names() != engine.column_names() {
            return Err(format!(
                "the labeled rows carry the extra columns [{}] but the engine's rows [{}]: give both sides the same columns",
                labeled.column_names().join(", "),
                engine.column_names().join(", ")
            ));
        }
        if n_rows < labeled.n_rows() {
            return Err(format!(
                "T = {n_rows} is below the {} labeled rows",
                labeled.n_rows()
            ));
        }
        if let Some(name) = labeled
            .source_names()
            .into_iter()
            .find(|name| !engine.source_names().contains(name))
        {
            return Err(format!("the engine has no source `{name}`"));
        }
        match (&labeled.clusters, engine.n_clusters()) {
            (Some(own), Some(count)) if count < own.count => Err(format!(
                "the labeled rows fall in {} clusters but the engine's rows in {count}: both sides must read the same clusters column",
                own.count
            )),
            (Some(own), Some(count)) => Ok(Some(Arc::new(Clusters {
                ids: own.ids.clone(),
                count,
            }))),
            _ => Ok(None),
        }
    }

    /// The data on the rows `rows` (indices into 0..T, repeats allowed), in that order:
    /// the bootstrap's resampled data set. Row i of the result is row `rows[i]` of
    /// `self`, labeled when that row is; `clusters`, when given, are the new rows'
    /// cluster ids (a cluster drawn twice is two clusters), dense from 0.
    ///
    /// # Errors
    /// [`Error::NeedsInMemory`] for data kept out of memory; [`Error::NoLabeledRows`] /
    /// [`Error::TooFewLabeled`] when the draw holds p or fewer labeled rows.
    pub(crate) fn resample(&self, rows: &[usize], clusters: Option<Vec<u32>>) -> Result<Self> {
        self.require_in_memory("the bootstrap")?;
        let mut position = vec![usize::MAX; self.n_rows];
        for (i, &t) in self.labeled.iter().enumerate() {
            position[t] = i;
        }
        let mut labeled = Vec::new();
        let mut on_labeled = Vec::new();
        for (i, &t) in rows.iter().enumerate() {
            if position[t] != usize::MAX {
                labeled.push(i);
                on_labeled.push(position[t]);
            }
        }
        check_labeled_count(labeled.len(), self.n_covariates())?;
        // Blocks that share a covariate array share its resampled copy.
        let (mut all_copies, mut labeled_copies) = (Vec::new(), Vec::new());
        let real = self.real.select_sharing(&on_labeled, &mut labeled_copies);
        let sources = self
            .sources
            .iter()
            .map(|s| AuxSource {
                name: s.name.clone(),
                all: s.all.select_sharing(rows, &mut all_copies),
                labeled: s.labeled.select_sharing(&on_labeled, &mut labeled_copies),
                columns: s.columns.clone(),
            })
            .collect();
        let pick = |values: &Array1<f64>| values.select(Axis(0), rows);
        let mut replicate = DataSources {
            n_rows: rows.len(),
            labeled,
            real,
            sources,
            covariate_names: self.covariate_names.clone(),
            columns: self.columns.clone(),
            labeling_probabilities: self
                .labeling_probabilities
                .as_deref()
                .map(pick)
                .map(Arc::new),
            clusters: clusters.map(|ids| {
                let count = ids.iter().max().map_or(0, |&c| c as usize + 1);
                Arc::new(Clusters { ids, count })
            }),
            weights: self.weights.as_deref().map(|w| Arc::new(pick(w))),
            stream: None,
            fixed_effects: None,
        };
        let weights = replicate.real_weights();
        replicate.fixed_effects = self
            .fixed_effects
            .as_deref()
            .map(|f| Arc::new(f.resampled(&on_labeled, weights.as_ref())));
        Ok(replicate)
    }

    /// The data with `effects` absorbed from every block, clustered by the first effect
    /// unless clusters were given.
    fn absorbing(self, effects: Vec<Effect>) -> Result<DataSources> {
        for effect in &effects {
            check_rows("fixed effect", effect.ids.len(), self.n_rows)?;
        }
        let real_weights = self.real_weights();
        let sources: Vec<(String, &RowBlock)> = self
            .sources
            .iter()
            .map(|s| (s.name.clone(), &s.all))
            .collect();
        let clusters = self.clusters.clone().unwrap_or_else(|| {
            Arc::new(Clusters {
                ids: effects[0].ids.clone(),
                count: effects[0].levels,
            })
        });
        let within = crate::fixed_effects::absorb(
            &effects,
            crate::fixed_effects::Blocks {
                labeled: &self.labeled,
                real: &self.real,
                real_weights: real_weights.as_ref(),
                sources,
                weights: self.weights.as_deref(),
                covariate_names: &self.covariate_names,
                clusters: &clusters.ids,
            },
        )?;
        let sources = self
            .sources
            .iter()
            .zip(within.sources)
            .map(|(s, (all, labeled))| AuxSource {
                name: s.name.clone(),
                all,
                labeled,
                columns: s.columns.clone(),
            })
            .collect();
        Ok(DataSources {
            real: within.real,
            sources,
            clusters: Some(clusters),
            fixed_effects: Some(Arc::new(within.info)),
            ..self
        })
    }

    /// The weights of the real moments on the labeled rows, w_t/π_t, if any.
    fn real_weights(&self) -> Option<Array1<f64>> {
        let on_labeled = |v: &Array1<f64>| v.select(Axis(0), &self.labeled);
        let w = self.weights.as_deref().map(on_labeled);
        let pi = self.labeling_probabilities.as_deref().map(on_labeled);
        match (w, pi) {
            (Some(w), Some(pi)) => Some(w / pi),
            (Some(w), None) => Some(w),
            (None, Some(pi)) => Some(pi.mapv(|p| 1.0 / p)),
            (None, None) => None,
        }
    }

    fn without_sources(&self) -> DataSources {
        DataSources {
            n_rows: self.n_rows,
            labeled: self.labeled.clone(),
            real: self.real.clone(),
            sources: Vec::new(),
            covariate_names: self.covariate_names.clone(),
            columns: self.columns.clone(),
            labeling_probabilities: self.labeling_probabilities.clone(),
            clusters: self.clusters.clone(),
            weights: self.weights.clone(),
            stream: self.stream.clone(),
            fixed_effects: self.fixed_effects.clone(),
        }
    }
}

/// Identifies a caller's array view: the same memory, shape and strides.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ArrayKey {
    address: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

/// Which blocks an extra column belongs to.
#[derive(Debug, Clone, PartialEq)]
enum Scope {
    /// The real data and every source.
    Every,
    /// The real data only.
    Real,
    /// One source.
    Source(String),
}

/// Builder for [`DataSources`]; validation happens once, in [`build`](Self::build).
///
/// Covariate matrices are copied once: passing the same array (the same memory, shape
/// and strides) for the real data and several sources stores it once, shared; arrays
/// passed as `Arc` ([`real_shared`](Self::real_shared),
/// [`source_shared`](Self::source_shared)) are not copied at all.
#[derive(Debug, Clone)]
pub struct DataSourcesBuilder {
    labeled: Vec<bool>,
    real: Option<RealInput>,
    sources: Vec<(String, Arc<Array2<f64>>, Array1<f64>)>,
    /// Covariate arrays copied so far, by address, shape and strides.
    copied: Vec<(ArrayKey, Arc<Array2<f64>>)>,
    columns: Vec<(Scope, String, Array1<f64>)>,
    covariate_names: Option<Vec<String>>,
    labeling_probabilities: Option<Array1<f64>>,
    clusters: Option<Clusters>,
    weights: Option<Array1<f64>>,
    fixed_effects: Vec<Effect>,
}

/// The real data as given to the builder: every row, or only the labeled rows when the
/// shapes allowed selecting them at once (the estimators read no other real row).
#[derive(Debug, Clone)]
struct RealInput {
    x: Arc<Array2<f64>>,
    y: Array1<f64>,
    labeled_only: bool,
}

impl DataSourcesBuilder {
    /// Real covariates (T × p) and outcomes (T); only labeled rows are read (and
    /// copied).
    pub fn real<'a, 'b>(
        mut self,
        x: impl Into<ArrayView2<'a, f64>>,
        y: impl Into<ArrayView1<'b, f64>>,
    ) -> Self {
        let (x, y) = (x.into(), y.into());
        let n_rows = self.labeled.len();
        self.real = Some(if x.nrows() == n_rows && y.len() == n_rows {
            let rows: Vec<usize> = (0..n_rows).filter(|&t| self.labeled[t]).collect();
            RealInput {
                x: Arc::new(crate::rows::gather_rows(x, &rows)),
                y: crate::rows::gather(y, &rows),
                labeled_only: true,
            }
        } else {
            // Wrong shapes: kept whole for `build` to report.
            RealInput {
                x: Arc::new(x.to_owned()),
                y: y.to_owned(),
                labeled_only: false,
            }
        });
        self
    }

    /// [`real`](Self::real) with covariates the caller already shares: the array is
    /// stored as it is, not copied (at 10⁶ rows and 10 covariates that is 80 MB of
    /// memory saved). Passing the same `Arc` (or later a view of it) to sources shares it
    /// there too.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use ndarray::{array, Array2};
    /// use synthgmm::DataSources;
    /// let x: Arc<Array2<f64>> = Arc::new(array![[1.0, 0.1], [1.0, 0.7], [1.0, -0.4], [1.0, 2.0]]);
    /// let y = array![0.3, 1.2, -0.5, 2.4];
    /// let proxy = array![0.4, 1.0, -0.3, 2.0];
    /// let data = DataSources::builder(&[true, true, true, false])
    ///     .real_shared(Arc::clone(&x), &y)
    ///     .source_shared("proxy", Arc::clone(&x), &proxy)
    ///     .build()?;
    /// assert_eq!(data.n_rows(), 4);
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn real_shared<'b>(
        mut self,
        x: Arc<Array2<f64>>,
        y: impl Into<ArrayView1<'b, f64>>,
    ) -> Self {
        self.real = Some(RealInput {
            x: self.share(x),
            y: crate::chunks::owned_copy(y.into()),
            labeled_only: false,
        });
        self
    }

    /// [`source`](Self::source) with covariates the caller already shares (see
    /// [`real_shared`](Self::real_shared)).
    pub fn source_shared<'b>(
        mut self,
        name: impl Into<String>,
        x: Arc<Array2<f64>>,
        y: impl Into<ArrayView1<'b, f64>>,
    ) -> Self {
        let x = self.share(x);
        self.sources
            .push((name.into(), x, crate::chunks::owned_copy(y.into())));
        self
    }

    /// Registers a shared array, so that views of it passed later are not copied.
    fn share(&mut self, x: Arc<Array2<f64>>) -> Arc<Array2<f64>> {
        let key = Self::key(x.view());
        if let Some((_, known)) = self.copied.iter().find(|(k, _)| *k == key) {
            return Arc::clone(known);
        }
        self.copied.push((key, Arc::clone(&x)));
        x
    }

    fn key(x: ArrayView2<'_, f64>) -> ArrayKey {
        ArrayKey {
            address: x.as_ptr() as usize,
            shape: x.shape().to_vec(),
            strides: x.strides().to_vec(),
        }
    }

    /// The stored copy of `x`, shared with an earlier call that passed the same array.
    ///
    /// The builder does not hold the caller's arrays, so an address seen before may
    /// belong to a new array that reuses freed memory: a copy is shared only when its
    /// values are the values of `x`.
    fn copy_once(&mut self, x: ArrayView2<'_, f64>) -> Arc<Array2<f64>> {
        let key = Self::key(x);
        if let Some((_, copy)) = self
            .copied
            .iter()
            .find(|(k, copy)| *k == key && same_bits(copy.view(), x))
        {
            return Arc::clone(copy);
        }
        let copy = Arc::new(crate::chunks::owned_copy(x));
        self.copied.push((key, Arc::clone(&copy)));
        copy
    }

    /// Adds an auxiliary source with covariates (T × p) and outcomes (T) on every row.
    pub fn source<'a, 'b>(
        mut self,
        name: impl Into<String>,
        x: impl Into<ArrayView2<'a, f64>>,
        y: impl Into<ArrayView1<'b, f64>>,
    ) -> Self {
        let x = self.copy_once(x.into());
        self.sources
            .push((name.into(), x, crate::chunks::owned_copy(y.into())));
        self
    }

    /// Adds an extra column (T values) under `name` to the real data and to every
    /// source: an instrument observed for every row, an offset, an exposure, a group id.
    /// [`real_column`](Self::real_column) and [`source_column`](Self::source_column)
    /// override it for one block.
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::DataSources;
    /// let x = array![[1.0], [1.0], [1.0], [1.0]];
    /// let y = array![1.0, 2.0, 3.0, 4.0];
    /// let z = array![0.1, 0.4, 0.2, 0.9];
    /// let data = DataSources::builder(&[true, true, false, false])
    ///     .real(&x, &y).source("proxy", &x, &y)
    ///     .column("z", &z)
    ///     .build()?;
    /// assert_eq!(data.sources()[0].rows().column("z").unwrap()[3], 0.9);
    /// assert_eq!(data.real_rows().column("z").unwrap()[1], 0.4); // labeled rows only
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn column<'a>(
        mut self,
        name: impl Into<String>,
        values: impl Into<ArrayView1<'a, f64>>,
    ) -> Self {
        self.columns
            .push((Scope::Every, name.into(), values.into().to_owned()));
        self
    }

    /// Adds (or overrides) the extra column `name` of the real data.
    pub fn real_column<'a>(
        mut self,
        name: impl Into<String>,
        values: impl Into<ArrayView1<'a, f64>>,
    ) -> Self {
        self.columns
            .push((Scope::Real, name.into(), values.into().to_owned()));
        self
    }

    /// Adds (or overrides) the extra column `name` of one source, e.g. an instrument the
    /// generator produced alongside its synthetic row.
    pub fn source_column<'a>(
        mut self,
        source: impl Into<String>,
        name: impl Into<String>,
        values: impl Into<ArrayView1<'a, f64>>,
    ) -> Self {
        self.columns.push((
            Scope::Source(source.into()),
            name.into(),
            values.into().to_owned(),
        ));
        self
    }

    /// Names for the p covariates, used in summaries.
    pub fn covariate_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.covariate_names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Known probabilities π_t ∈ (0, 1] that row t was selected for labeling, for
    /// designs where labeling depends on covariates (stratified or active labeling).
    pub fn labeling_probabilities<'a>(mut self, pi: impl Into<ArrayView1<'a, f64>>) -> Self {
        self.labeling_probabilities = Some(pi.into().to_owned());
        self
    }

    /// Observation (survey or inverse-probability) weights w_t > 0 on every row: they
    /// multiply every row's moments (labeled ones also by 1/π_t when labeling
    /// probabilities are given), so that each estimator solves the weighted estimating
    /// equations; without sources this is weighted least squares (or weighted maximum
    /// likelihood) with the HC0 sandwich.
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::DataSources;
    /// let x = array![[1.0], [1.0], [1.0], [1.0]];
    /// let y = array![1.0, 2.0, 3.0, 4.0];
    /// let data = DataSources::builder(&[true, true, false, false])
    ///     .real(&x, &y).source("proxy", &x, &y)
    ///     .weights(&array![1.0, 2.0, 1.5, 0.5])
    ///     .build()?;
    /// assert_eq!(data.weights().unwrap()[1], 2.0);
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn weights<'a>(mut self, w: impl Into<ArrayView1<'a, f64>>) -> Self {
        self.weights = Some(w.into().to_owned());
        self
    }

    /// The cluster of every row (T ids of any hashable type: an author, a thread, an
    /// annotator batch, a village). Rows of one cluster may be correlated in outcomes
    /// and sources alike; Ω̂ and every sandwich are then built from cluster sums of the
    /// moments, Σ_c s_c s_cᵀ with s_c = Σ_{t∈c} g_t, times the finite-cluster factor
    /// G/(G − 1) (G clusters with rows that enter the moments).
    ///
    /// # Examples
    /// ```
    /// use ndarray::array;
    /// use synthgmm::DataSources;
    /// let x = array![[1.0], [1.0], [1.0], [1.0]];
    /// let y = array![1.0, 2.0, 3.0, 4.0];
    /// let data = DataSources::builder(&[true, true, false, false])
    ///     .real(&x, &y).source("proxy", &x, &y)
    ///     .clusters(&["ann", "bob", "ann", "cy"])
    ///     .build()?;
    /// assert_eq!(data.clusters(), Some(&[0, 1, 0, 2][..]));
    /// assert_eq!(data.n_clusters(), Some(3));
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn clusters<I: std::hash::Hash + Eq>(mut self, ids: &[I]) -> Self {
        let (ids, count) = crate::fixed_effects::dense_ids(ids);
        self.clusters = Some(Clusters { ids, count });
        self
    }

    /// A fixed effect: the level of every row (T ids of any hashable type: a unit, a
    /// period, an annotator). Call once per effect (one- and two-way fixed effects, or
    /// more). The effects are absorbed by the within transformation (see
    /// [`crate::fixed_effects`]) from the real block on the labeled rows and from each
    /// source on every row, so that least squares ([`Ols`](crate::models::Ols))
    /// estimates the slopes of the regression with one indicator column per level,
    /// without forming those columns (linear IV becomes the within IV estimator; see
    /// [`MomentModel::absorbs_fixed_effects`](crate::MomentModel::absorbs_fixed_effects)).
    /// Leave out the intercept: the effects
    /// absorb it. Without [`clusters`](Self::clusters), rows are clustered by the first
    /// effect, as R's fixest does.
    ///
    /// # Examples
    /// ```
    /// use ndarray::{array, Array2};
    /// use synthgmm::{models::Ols, DataSources, Estimator, baselines::RealOnly};
    /// // y = 2x + a firm's effect; three firms, two labeled rows of each.
    /// let x = Array2::from_shape_vec((8, 1), vec![0.0, 1.0, 2.0, 4.0, 1.0, 3.0, 2.0, 5.0])?;
    /// let effect = array![1.0, 1.0, 5.0, 5.0, -2.0, -2.0, 1.0, 5.0];
    /// let noise = array![0.1, -0.1, 0.05, -0.05, 0.2, -0.2, 0.0, 0.0];
    /// let y = 2.0 * &x.column(0) + &effect + &noise;
    /// let data = DataSources::builder(&[true, true, true, true, true, true, false, false])
    ///     .real(&x, &y)
    ///     .source("proxy", &x, &(2.0 * &x.column(0) + &effect))
    ///     .fixed_effects(&["a", "a", "b", "b", "c", "c", "a", "b"])
    ///     .build()?;
    /// assert_eq!(data.fixed_effects().unwrap().levels(), &[3]);
    /// assert_eq!(data.n_clusters(), Some(3)); // clustered by the firm
    /// let fit = RealOnly::new(Ols).estimate(&data)?;
    /// assert!((fit.theta()[0] - 2.0).abs() < 0.2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fixed_effects<I: std::hash::Hash + Eq>(mut self, ids: &[I]) -> Self {
        self.fixed_effects.push(Effect::new(ids));
        self
    }

    /// The extra columns of one block (T × names), in the order of `names`: the block's
    /// own column where given, else the shared one.
    fn extra_for(&self, block: &Scope, names: &[String], n_rows: usize) -> Result<Array2<f64>> {
        let mut extra = Array2::zeros((n_rows, names.len()));
        for (j, name) in names.iter().enumerate() {
            let own = self
                .columns
                .iter()
                .rev()
                .find(|(scope, n, _)| n == name && scope == block);
            let shared = self
                .columns
                .iter()
                .rev()
                .find(|(scope, n, _)| n == name && *scope == Scope::Every);
            let Some((_, _, values)) = own.or(shared) else {
                return Err(Error::MissingColumn {
                    block: match block {
                        Scope::Source(s) => s.clone(),
                        _ => REAL.to_string(),
                    },
                    column: name.clone(),
                });
            };
            extra.column_mut(j).assign(values);
        }
        Ok(extra)
    }

    /// Validates and assembles the data.
    ///
    /// # Errors
    /// [`Error::MissingRealData`], [`Error::LengthMismatch`], [`Error::EmptyDesign`],
    /// [`Error::CovariateMismatch`], [`Error::DuplicateSource`], [`Error::NonFinite`]
    /// (real values on labeled rows, source values on every row, extra columns
    /// likewise), [`Error::MissingColumn`] (a block without a column the others have),
    /// [`Error::InvalidValue`] (labeling probabilities outside (0, 1]; values beyond
    /// 10⁶⁴ in magnitude, whose moment products would overflow),
    /// [`Error::NoLabeledRows`], [`Error::TooFewLabeled`] (p or fewer labeled rows: no
    /// residual degrees of freedom), [`Error::InvalidConfig`] (wrong number of
    /// covariate names, a column for an unknown source).
    pub fn build(mut self) -> Result<DataSources> {
        let n_rows = self.labeled.len();
        let real_input = self.real.take().ok_or(Error::MissingRealData)?;
        if !real_input.labeled_only {
            check_rows("covariates of `real`", real_input.x.nrows(), n_rows)?;
            check_rows("outcome of `real`", real_input.y.len(), n_rows)?;
        }
        let p = real_input.x.ncols();
        if p == 0 {
            return Err(Error::EmptyDesign);
        }
        self.check_sources(n_rows, p)?;
        let columns = self.column_names(n_rows)?;
        let covariate_names = self.covariate_names_for(p)?;
        self.check_probabilities(n_rows)?;
        self.check_weights(n_rows)?;
        let labeled: Vec<usize> = (0..n_rows).filter(|&t| self.labeled[t]).collect();
        let real = self.real_block(real_input, &labeled, &columns, n_rows)?;
        // Covariate arrays shared between blocks are scanned once.
        let mut scanned = Vec::new();
        check_values(REAL, &real, &columns, |i| labeled[i], &mut scanned)?;
        let mut sources = Vec::with_capacity(self.sources.len());
        // Sources sharing a covariate array share its labeled rows' copy too.
        let mut labeled_copies = Vec::new();
        for (name, x, y) in std::mem::take(&mut self.sources) {
            let all = RowBlock {
                extra: self.extra_for(&Scope::Source(name.clone()), &columns, n_rows)?,
                x,
                y,
            };
            check_values(&name, &all, &columns, |t| t, &mut scanned)?;
            sources.push(AuxSource {
                name,
                labeled: all.select_sharing(&labeled, &mut labeled_copies),
                all,
                columns: columns.clone(),
            });
        }
        check_labeled_count(labeled.len(), p)?;
        if let Some(Clusters { ids: clusters, .. }) = &self.clusters {
            check_rows("clusters", clusters.len(), n_rows)?;
        }
        let data = DataSources {
            n_rows,
            real,
            labeled,
            sources,
            covariate_names,
            columns,
            labeling_probabilities: self.labeling_probabilities.map(Arc::new),
            clusters: self.clusters.map(Arc::new),
            weights: self.weights.map(Arc::new),
            stream: None,
            fixed_effects: None,
        };
        match self.fixed_effects.is_empty() {
            true => Ok(data),
            false => data.absorbing(self.fixed_effects),
        }
    }

    /// Every source has T rows and p covariates, and a name of its own.
    fn check_sources(&self, n_rows: usize, p: usize) -> Result<()> {
        for (i, (name, x, y)) in self.sources.iter().enumerate() {
            check_rows(&format!("covariates of `{name}`"), x.nrows(), n_rows)?;
            check_rows(&format!("outcome of `{name}`"), y.len(), n_rows)?;
            if x.ncols() != p {
                return Err(Error::CovariateMismatch {
                    source_name: name.clone(),
                    expected: p,
                    found: x.ncols(),
                });
            }
            if name == REAL || self.sources[..i].iter().any(|(other, _, _)| other == name) {
                return Err(Error::DuplicateSource { name: name.clone() });
            }
        }
        Ok(())
    }

    /// The extra columns' names, in the order first given, each checked for T rows
    /// and a known source.
    fn column_names(&self, n_rows: usize) -> Result<Vec<String>> {
        let mut columns: Vec<String> = Vec::new();
        for (scope, name, values) in &self.columns {
            check_rows(&format!("column `{name}`"), values.len(), n_rows)?;
            if let Scope::Source(source) = scope {
                if !self.sources.iter().any(|(s, _, _)| s == source) {
                    return Err(Error::InvalidConfig {
                        parameter: "source_column",
                        reason: format!("no source named `{source}`"),
                    });
                }
            }
            if !columns.contains(name) {
                columns.push(name.clone());
            }
        }
        Ok(columns)
    }

    /// The covariates' names: those given (p of them) or `x0`, `x1`, ….
    fn covariate_names_for(&self, p: usize) -> Result<Vec<String>> {
        match &self.covariate_names {
            None => Ok((0..p).map(|j| format!("x{j}")).collect()),
            Some(names) if names.len() == p => Ok(names.clone()),
            Some(names) => Err(Error::InvalidConfig {
                parameter: "covariate_names",
                reason: format!("{} names for {p} covariates", names.len()),
            }),
        }
    }

    /// Labeling probabilities, if given: T of them in (0, 1], none below 1e-12 on a
    /// labeled row.
    fn check_probabilities(&self, n_rows: usize) -> Result<()> {
        let Some(pi) = &self.labeling_probabilities else {
            return Ok(());
        };
        check_rows("labeling probabilities", pi.len(), n_rows)?;
        check_probability_values(pi.view(), &self.labeled, 0)
    }

    /// Observation weights, if given: T of them, positive and finite.
    fn check_weights(&self, n_rows: usize) -> Result<()> {
        let Some(w) = &self.weights else {
            return Ok(());
        };
        check_rows("weights", w.len(), n_rows)?;
        check_weight_values(w.view(), 0)
    }

    /// The real block on the labeled rows, with its extra columns.
    fn real_block(
        &self,
        real_input: RealInput,
        labeled: &[usize],
        columns: &[String],
        n_rows: usize,
    ) -> Result<RowBlock> {
        let extra = self.extra_for(&Scope::Real, columns, n_rows)?;
        Ok(if real_input.labeled_only {
            RowBlock {
                x: real_input.x,
                y: real_input.y,
                extra: crate::rows::gather_rows(extra.view(), labeled),
            }
        } else {
            RowBlock {
                extra,
                x: real_input.x,
                y: real_input.y,
            }
            .select(labeled)
        })
    }
}

/// At least one labeled row, and more than the p coefficients: with n = p the real
/// moments vanish at the estimate, leaving no residual degrees of freedom and no
/// variance to estimate.
fn check_labeled_count(n: usize, p: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::NoLabeledRows);
    }
    if n <= p {
        return Err(Error::TooFewLabeled {
            labeled: n,
            required: p + 1,
        });
    }
    Ok(())
}

fn check_rows(what: &str, found: usize, expected: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what: what.to_string(),
            expected,
            found,
        })
    }
}

/// Whether two arrays of one shape hold the same values, bit for bit (NaN included).
/// Contiguous arrays of one layout are compared in branch-free blocks (it vectorizes).
fn same_bits(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> bool {
    let same = |u: &f64, v: &f64| u.to_bits() == v.to_bits();
    if a.shape() != b.shape() {
        return false;
    }
    match (a.as_slice(), b.as_slice()) {
        // In parallel chunks of rows, each compared branch-free in blocks.
        (Some(a), Some(b)) => {
            let chunk = match a.len() >= crate::chunks::PARALLEL_VALUES {
                true => crate::chunks::COPY_CHUNK,
                false => a.len(),
            };
            let ranges = crate::chunks::chunk_ranges(a.len(), chunk);
            crate::chunks::map_ordered(&ranges, |range| {
                a[range.clone()]
                    .chunks(512)
                    .zip(b[range.clone()].chunks(512))
                    .all(|(u, v)| u.iter().zip(v).fold(true, |all, (u, v)| all & same(u, v)))
            })
            .into_iter()
            .all(|same| same)
        }
        _ => a.iter().zip(b.iter()).all(|(u, v)| same(u, v)),
    }
}

/// Whether `pi` takes one value (to rounding) on `rows`.
fn equal_on(pi: &ndarray::ArrayView1<'_, f64>, rows: &[usize]) -> bool {
    let first = rows.first().map_or(1.0, |&t| pi[t]);
    rows.iter()
        .all(|&t| (pi[t] - first).abs() <= 1e-12 * first.abs())
}
