//! PPI++Synth: PPI++ whose imputed loss mixes a proxy and a synthetic source, with the
//! mixing weight chosen by cross-validation.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::baselines::ppi::{fit_mixture, Lambda, PpiFit, PpiProblem};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::Estimate;
use crate::moment::MomentModel;
use crate::small_sample::SmallSample;

/// PPI++ with the imputed moments α ψ(θ; proxy) + (1 − α) ψ(θ; synthetic).
///
/// α is chosen from a grid on [0, 1] by K-fold cross-validation on the labeled rows:
/// for each α and fold, PPI++ (tuned λ) is fitted without the fold, and scored by the
/// trace of its covariance with the labeled-rows term computed on the held-out fold;
/// the α with the smallest mean score wins, then PPI++ is refitted on all rows. The
/// folds come from a seeded shuffle, so the result is reproducible.
///
/// This tuning step is the baseline's price for combining two sources: α is a nuisance
/// choice made on the same few labeled rows. [`TwoStepGmm`](crate::TwoStepGmm) needs no
/// such tuning: the efficient weight matrix combines any number of sources itself.
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::baselines::PpiSynth;
/// use synthgmm::{models::Ols, DataSources};
/// let t = 400;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.7).sin() });
/// let e = Array1::from_shape_fn(t, |i| (i as f64 * 1.9).cos());
/// let u = Array1::from_shape_fn(t, |i| (i as f64 * 3.1).sin());
/// let y = 2.0 * &x.column(1) + &e;
/// let proxy = 2.0 * &x.column(1) + 0.8 * &e;
/// let synth = 2.0 * &x.column(1) + u;      // useless residuals
/// let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y)
///     .source("proxy", &x, &proxy).source("synth", &x, &synth).build()?;
/// let fit = PpiSynth::new(Ols, "proxy", "synth").fit(&data)?;
/// assert!(fit.mixture()[0].1 > 0.5); // leans on the informative proxy
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PpiSynth<M> {
    model: M,
    proxy: String,
    synth: String,
    folds: usize,
    grid: usize,
    seed: u64,
    small_sample: SmallSample,
}

impl<M: MomentModel> PpiSynth<M> {
    /// PPI++Synth mixing `proxy` and `synth`; 5 folds, 11 grid points, seed 0.
    pub fn new(model: M, proxy: impl Into<String>, synth: impl Into<String>) -> Self {
        Self {
            model,
            proxy: proxy.into(),
            synth: synth.into(),
            folds: 5,
            grid: 11,
            seed: 0,
            small_sample: SmallSample::default(),
        }
    }
    /// Number of cross-validation folds (at least 2).
    pub fn folds(mut self, folds: usize) -> Self {
        self.folds = folds;
        self
    }
    /// Number of equally spaced α values in [0, 1] (at least 2).
    pub fn grid(mut self, points: usize) -> Self {
        self.grid = points;
        self
    }
    /// Seed of the fold shuffle.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The small-sample form of the covariance ([`SmallSample`]): HC2 with
    /// Bell–McCaffrey t quantiles by default, as every estimator; `SmallSample::Hc0` is PPI++'s asymptotic one.
    pub fn small_sample(mut self, small_sample: SmallSample) -> Self {
        self.small_sample = small_sample;
        self
    }

    fn mixture(&self, alpha: f64) -> Vec<(String, f64)> {
        vec![
            (self.proxy.clone(), alpha),
            (self.synth.clone(), 1.0 - alpha),
        ]
    }

    /// The cross-validated α.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn choose_alpha(&self, data: &DataSources) -> Result<f64> {
        // Each held-out fold estimates a p × p covariance: it needs more than p rows.
        let smallest_fold = data.n_labeled() / self.folds.max(1);
        if self.folds < 2 || smallest_fold <= data.n_covariates() {
            return Err(Error::InvalidConfig {
                parameter: "folds",
                reason: format!(
                    "{} folds for {} labeled rows leave fewer than {} rows in a fold",
                    self.folds,
                    data.n_labeled(),
                    data.n_covariates() + 1
                ),
            });
        }
        if self.grid < 2 {
            return Err(Error::InvalidConfig {
                parameter: "grid",
                reason: "at least 2 points".into(),
            });
        }
        let mut order: Vec<usize> = (0..data.n_labeled()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        let fold_of = |k: usize| -> (Vec<usize>, Vec<usize>) {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (i, &r) in order.iter().enumerate() {
                if i % self.folds == k {
                    test.push(r)
                } else {
                    train.push(r)
                }
            }
            train.sort_unstable();
            test.sort_unstable();
            (train, test)
        };
        let name = self.name();
        let mut best = (f64::INFINITY, 1.0);
        for g in 0..self.grid {
            let alpha = g as f64 / (self.grid - 1) as f64;
            let mix = self.mixture(alpha);
            let mut score = 0.0;
            for k in 0..self.folds {
                let (train, test) = fold_of(k);
                let fit_on = PpiProblem::new(&self.model, name.clone(), data, &mix, Some(&train))?;
                let held_out = PpiProblem::new(&self.model, name.clone(), data, &mix, Some(&test))?;
                let fitted = fit_on.checked(fit_on.run(Lambda::Tuned, SmallSample::Hc0))?;
                let held_out_score = fit_on.held_out_score(&fitted, &held_out);
                score += held_out.checked(fit_on.checked(held_out_score))?;
            }
            let score = score / self.folds as f64;
            if score < best.0 {
                best = (score, alpha);
            }
        }
        Ok(best.1)
    }

    /// Chooses α by cross-validation, then fits PPI++ with the mixed imputation.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for fewer than 2 folds or grid points, or folds of p or
    /// fewer labeled rows, [`Error::MissingSource`], [`Error::NoUnlabeledRows`], and the
    /// PPI++ fitting errors.
    pub fn fit(&self, data: &DataSources) -> Result<PpiFit> {
        let alpha = self.choose_alpha(data)?;
        fit_mixture(
            &self.model,
            self.name(),
            data,
            self.mixture(alpha),
            Lambda::Tuned,
            self.small_sample,
        )
    }
}

impl<M: MomentModel> Estimator for PpiSynth<M> {
    fn name(&self) -> String {
        format!("PPI++Synth ({} + {})", self.proxy, self.synth)
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        Ok(self.fit(data)?.into_estimate())
    }
}
