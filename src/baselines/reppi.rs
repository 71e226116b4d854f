//! RePPI (Ji, Lei, Zrnic 2025): prediction-powered inference with a recalibrated,
//! cross-fitted imputation.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::baselines::ppi::{fit_mixture, Lambda, PpiFit};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::Estimate;
use crate::moment::MomentModel;
use crate::small_sample::SmallSample;

/// The features of the recalibration on a set of rows: the first source's covariates
/// x̂ (rows × p) and the outcome f of every source feeding it (rows × sources).
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    /// Covariates x̂.
    pub covariates: ArrayView2<'a, f64>,
    /// Source outcomes f, one column per source.
    pub outcomes: ArrayView2<'a, f64>,
}

/// A fitted recalibration: predicts E[y | features] on any rows.
pub trait Recalibrated: Send + Sync {
    /// Predictions for each row.
    fn predict(&self, features: Features<'_>) -> Array1<f64>;
}

/// The recalibration step of RePPI: a regression of the real outcome on features built
/// from the sources (their covariates and outcomes), fitted on labeled rows.
///
/// # Errors
/// Implementations return [`Error::Collinear`] (or any typed error) when they cannot
/// fit the rows given.
pub trait Recalibration: Send + Sync {
    /// A short name, for the estimator's name.
    fn name(&self) -> &str;
    /// Fits E[y | features] on these rows.
    fn fit(&self, features: Features<'_>, y: ArrayView1<'_, f64>) -> Result<Box<dyn Recalibrated>>;
}

/// The recalibration's features on every row: the first source's covariates and every
/// named source's outcome.
fn features(data: &DataSources, sources: &[usize]) -> (Array2<f64>, Array2<f64>) {
    let x = data.sources()[sources[0]].x().to_owned();
    let mut outcomes = Array2::zeros((x.nrows(), sources.len()));
    for (j, &m) in sources.iter().enumerate() {
        outcomes.column_mut(j).assign(&data.sources()[m].y());
    }
    (x, outcomes)
}

/// Linear recalibration: least squares of y on (x̂, f, f², f·x̂_j) for every source
/// outcome f and every non-constant covariate x̂_j, with a ridge of 10⁻⁸ of each
/// column's scale against collinearity; predictions are clipped to the range of the
/// labeled outcomes (so binary outcomes stay in [0, 1]).
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearRecalibration;

struct LinearFit {
    beta: Array1<f64>,
    range: (f64, f64),
    varying: Vec<usize>,
}

/// The regressors (x̂, f, f², f·x̂_j for the varying columns j).
fn expand(features: Features<'_>, varying: &[usize]) -> Array2<f64> {
    let (x, f) = (features.covariates, features.outcomes);
    let (p, n_f) = (x.ncols(), f.ncols());
    let cols = p + 2 * n_f + n_f * varying.len();
    let mut out = Array2::zeros((x.nrows(), cols));
    for t in 0..x.nrows() {
        let mut c = 0;
        for j in 0..p {
            out[[t, c]] = x[[t, j]];
            c += 1;
        }
        for k in 0..n_f {
            let v = f[[t, k]];
            out[[t, c]] = v;
            out[[t, c + 1]] = v * v;
            c += 2;
            for &j in varying {
                out[[t, c]] = v * x[[t, j]];
                c += 1;
            }
        }
    }
    out
}

impl Recalibrated for LinearFit {
    fn predict(&self, features: Features<'_>) -> Array1<f64> {
        expand(features, &self.varying)
            .dot(&self.beta)
            .mapv(|v| v.clamp(self.range.0, self.range.1))
    }
}

impl Recalibration for LinearRecalibration {
    fn name(&self) -> &str {
        "linear"
    }

    fn fit(&self, features: Features<'_>, y: ArrayView1<'_, f64>) -> Result<Box<dyn Recalibrated>> {
        let x = features.covariates;
        let varying: Vec<usize> = (0..x.ncols())
            .filter(|&j| {
                let c = x.column(j);
                c.iter().any(|&v| v != c[0])
            })
            .collect();
        let z = expand(features, &varying);
        let mut normal = z.t().dot(&z);
        for i in 0..normal.nrows() {
            normal[[i, i]] += 1e-8 * normal[[i, i]].max(f64::MIN_POSITIVE);
        }
        let rhs = z.t().dot(&y).insert_axis(Axis(1));
        let beta = crate::linalg::least_squares(normal.view(), rhs.view(), true)
            .ok_or(Error::Collinear {
                block: "RePPI recalibration".into(),
            })?
            .remove_axis(Axis(1));
        let range = y
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        Ok(Box::new(LinearFit {
            beta,
            range,
            varying,
        }))
    }
}

/// Nonparametric recalibration in the first source's outcome f: the mean labeled
/// outcome within each of `bins` quantile bins of f (the overall mean in a bin with no
/// labeled row).
#[derive(Debug, Clone, Copy)]
pub struct BinnedRecalibration {
    bins: usize,
}

impl BinnedRecalibration {
    /// Recalibration by the mean outcome in `bins` quantile bins of f (at least 1).
    pub fn new(bins: usize) -> Self {
        Self { bins: bins.max(1) }
    }
}

impl Default for BinnedRecalibration {
    /// Ten bins.
    fn default() -> Self {
        Self::new(10)
    }
}

struct BinnedFit {
    edges: Vec<f64>,
    means: Vec<f64>,
}

impl Recalibrated for BinnedFit {
    fn predict(&self, features: Features<'_>) -> Array1<f64> {
        features.outcomes.column(0).mapv(|f| {
            let bin = self.edges.partition_point(|&e| e <= f);
            self.means[bin]
        })
    }
}

impl Recalibration for BinnedRecalibration {
    fn name(&self) -> &str {
        "binned"
    }

    fn fit(&self, features: Features<'_>, y: ArrayView1<'_, f64>) -> Result<Box<dyn Recalibrated>> {
        let mut f: Vec<f64> = features.outcomes.column(0).to_vec();
        f.sort_by(f64::total_cmp);
        let n = f.len();
        let mut edges: Vec<f64> = (1..self.bins).map(|b| f[b * n / self.bins]).collect();
        edges.dedup();
        let overall = y.mean().unwrap_or(0.0);
        let mut sums = vec![(0.0, 0usize); edges.len() + 1];
        for (row, &yt) in features.outcomes.column(0).iter().zip(&y) {
            let bin = edges.partition_point(|&e| e <= *row);
            sums[bin].0 += yt;
            sums[bin].1 += 1;
        }
        let means = sums
            .iter()
            .map(|&(s, c)| if c > 0 { s / c as f64 } else { overall })
            .collect();
        Ok(Box::new(BinnedFit { edges, means }))
    }
}

/// Recalibrated prediction-powered inference: PPI++ whose imputed outcome is a
/// cross-fitted estimate of E[y | x̂, f] rather than the source's raw prediction f.
///
/// # Formula
/// For moments linear in the outcome (OLS, logistic, Poisson: ψ = x(y − μ(xᵀθ))), the
/// optimal imputed loss gradient of Ji, Lei and Zrnic, E[∇ℓ_θ(X, Y) | X, f], is ψ with
/// y replaced by m(x̂, f) = E[Y | x̂, f]. RePPI here
/// 1. splits the labeled rows into K folds (seeded shuffle); for each fold fits the
///    [`Recalibration`] of y on the features (x̂, f of every named source) on the other
///    folds and predicts on the fold, so no labeled row's outcome enters its own
///    imputation; unlabeled rows get the mean of the K fold predictions;
/// 2. runs PPI++ (power-tuned λ by default, as in [`PpiPlusPlus`](super::PpiPlusPlus))
///    with the recalibrated predictions m̂ as the imputed outcome, with the first
///    source's covariates.
///
/// Its interval is PPI++'s sandwich with m̂ held fixed, valid asymptotically thanks to
/// cross-fitting. With the identity recalibration (m̂ = f) and a fixed λ it is PPI++.
///
/// # Departures from the paper
/// The paper learns the imputed loss gradient directly for general losses; this
/// implementation recalibrates the outcome, which is the same for moments linear in y
/// (every built-in GLM), and combines it with PPI++'s power tuning of λ, which keeps
/// the no-harm guarantee when the recalibration is poor.
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::baselines::RePpi;
/// use synthgmm::{models::Ols, DataSources, Estimator};
/// let t = 600;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.7).sin() });
/// let e = Array1::from_shape_fn(t, |i| (i as f64 * 1.9).cos());
/// let y = 2.0 * &x.column(1) + &e;
/// let f = y.mapv(|v| v * v * v);                  // miscalibrated: the cube
/// let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &f).build()?;
/// let est = RePpi::new(Ols, ["proxy"]).estimate(&data)?;
/// assert!((est.theta()[1] - 2.0).abs() < 4.0 * est.se()[1]);
/// # Ok::<(), synthgmm::Error>(())
/// ```
///
/// # References
/// Ji, Lei, Zrnic (2025), *Predictions as Surrogates: Revisiting Surrogate Outcomes in
/// the Age of AI*, arXiv:2501.09731.
#[derive(Clone)]
pub struct RePpi<M> {
    model: M,
    sources: Vec<String>,
    recalibration: Arc<dyn Recalibration>,
    folds: usize,
    seed: u64,
    lambda: Lambda,
    small_sample: SmallSample,
}

impl<M: MomentModel> RePpi<M> {
    /// RePPI with the named sources feeding a [`LinearRecalibration`], 5 folds, seed
    /// 0, λ tuned.
    pub fn new<S: Into<String>>(model: M, sources: impl IntoIterator<Item = S>) -> Self {
        Self {
            model,
            sources: sources.into_iter().map(Into::into).collect(),
            recalibration: Arc::new(LinearRecalibration),
            folds: 5,
            seed: 0,
            lambda: Lambda::Tuned,
            small_sample: SmallSample::default(),
        }
    }
    /// The recalibration model.
    pub fn recalibration(mut self, recalibration: impl Recalibration + 'static) -> Self {
        self.recalibration = Arc::new(recalibration);
        self
    }
    /// Number of cross-fitting folds (at least 2).
    pub fn folds(mut self, folds: usize) -> Self {
        self.folds = folds;
        self
    }
    /// Seed of the fold assignment.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// How λ is chosen (see [`Lambda`]).
    pub fn lambda(mut self, lambda: Lambda) -> Self {
        self.lambda = lambda;
        self
    }
    /// The small-sample form of the covariance ([`SmallSample`]): HC2 with
    /// Bell–McCaffrey t quantiles by default, as every estimator; `SmallSample::Hc0` is PPI++'s asymptotic one.
    pub fn small_sample(mut self, small_sample: SmallSample) -> Self {
        self.small_sample = small_sample;
        self
    }

    /// The cross-fitted recalibrated predictions on every row.
    ///
    /// # Errors
    /// [`Error::MissingSource`], [`Error::InvalidConfig`] for fewer than 2 folds or more
    /// folds than labeled rows, and the recalibration's errors.
    pub fn recalibrated(&self, data: &DataSources) -> Result<Array1<f64>> {
        let name = self.name();
        let indices: Vec<usize> = self
            .sources
            .iter()
            .map(|s| {
                data.source_names()
                    .iter()
                    .position(|n| n == s)
                    .ok_or_else(|| Error::MissingSource {
                        estimator: name.clone(),
                        name: s.clone(),
                    })
            })
            .collect::<Result<_>>()?;
        if indices.is_empty() {
            return Err(Error::InvalidConfig {
                parameter: "sources",
                reason: "RePPI needs at least one source".into(),
            });
        }
        let n = data.n_labeled();
        if self.folds < 2 || self.folds > n {
            return Err(Error::InvalidConfig {
                parameter: "folds",
                reason: format!("{} folds for {n} labeled rows", self.folds),
            });
        }
        let labeled = data.labeled_rows();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        let (x_all, f_all) = features(data, &indices);
        let everything = Features {
            covariates: x_all.view(),
            outcomes: f_all.view(),
        };
        let y = data.real_y();
        let mut out = Array1::zeros(data.n_rows());
        let mut unlabeled_sum = Array1::zeros(data.n_rows());
        for k in 0..self.folds {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (i, &r) in order.iter().enumerate() {
                if i % self.folds == k {
                    test.push(r);
                } else {
                    train.push(r);
                }
            }
            let rows: Vec<usize> = train.iter().map(|&r| labeled[r]).collect();
            let (x_train, f_train) = (x_all.select(Axis(0), &rows), f_all.select(Axis(0), &rows));
            let train_features = Features {
                covariates: x_train.view(),
                outcomes: f_train.view(),
            };
            let fit = self
                .recalibration
                .fit(train_features, y.select(Axis(0), &train).view())?;
            let predicted = fit.predict(everything);
            for &r in &test {
                out[labeled[r]] = predicted[labeled[r]];
            }
            unlabeled_sum += &predicted;
        }
        let mask = data.label_mask();
        for t in 0..data.n_rows() {
            if !mask[t] {
                out[t] = unlabeled_sum[t] / self.folds as f64;
            }
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidEstimate {
                estimator: name,
                what: "a non-finite recalibrated prediction".into(),
            });
        }
        Ok(out)
    }

    /// Fits RePPI.
    ///
    /// # Errors
    /// Those of [`recalibrated`](Self::recalibrated) and of PPI++.
    pub fn fit(&self, data: &DataSources) -> Result<PpiFit> {
        data.require_in_memory("RePPI")?;
        data.check_model(&self.model)?;
        super::refuse_weights(data, &self.name())?;
        let m_hat = self.recalibrated(data)?;
        let first = &self.sources[0];
        let recalibrated = data.with_recalibrated_source(first, "recalibrated", m_hat)?;
        fit_mixture(
            &self.model,
            self.name(),
            &recalibrated,
            vec![("recalibrated".to_string(), 1.0)],
            self.lambda,
            self.small_sample,
        )
    }
}

impl<M: MomentModel> Estimator for RePpi<M> {
    fn name(&self) -> String {
        format!(
            "RePPI ({}, {})",
            self.sources.join(" + "),
            self.recalibration.name()
        )
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        Ok(self.fit(data)?.into_estimate())
    }
}
