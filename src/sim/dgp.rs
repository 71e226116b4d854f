//! Data-generating processes with a known target θ and aligned auxiliary sources.

use ndarray::{array, Array1, Array2};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::models::sigmoid;

/// Which target the simulated data are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimModel {
    /// y = xᵀθ + ε, ε ~ N(0, 1).
    Ols,
    /// y ~ Bernoulli(σ(xᵀθ)).
    Logistic,
}

/// How rows are chosen for labeling.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Labeling {
    /// Exactly round(rate · T) rows, uniformly at random.
    AtRandom,
    /// Row t is labeled independently with probability π_t = `high` if x₁ > 0, else
    /// `low`; the π_t are stored in the data as known labeling probabilities.
    ByCovariate {
        /// π_t where x₁ ≤ 0.
        low: f64,
        /// π_t where x₁ > 0.
        high: f64,
    },
}

/// A simulation design.
///
/// Covariates: x = (1, x₁, x₂), x₁ ~ N(0, 1), x₂ ~ Bernoulli(0.4); θ = (0.5, 1.0, −0.8).
///
/// - **OLS**: y = xᵀθ + ε. Proxy: ŷ = `proxy_shift` + `proxy_scale`·xᵀθ +
///   `proxy_curvature`·x₁² + ρε + √(1 − ρ²)u.
///   Synthetic source k: x̃₁ = x₁ + `synth_x_noise`·v, x̃₂ = x₂ flipped with probability
///   `synth_x_flip`, ỹ = 0.5ρε + x̃ᵀ(0.3, 0.7, −0.5) + w (its own coefficients: biased).
/// - **Logistic**: y = 1{U < σ(xᵀθ)}. Proxy: y flipped with probability `proxy_flip`.
///   Synthetic: x̃ as above, ỹ = 1{V < σ(x̃ᵀ(0.8, 0.8, −0.4))} with V = U with probability
///   ρ, else a fresh uniform.
///
/// ρ is the link between real and auxiliary residuals (0 … 0.95): the larger, the more the
/// auxiliary data can help. This mirrors the generator of the crate's reference data.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Target model.
    pub model: SimModel,
    /// Rows T.
    pub rows: usize,
    /// Labeling rate n/T (for [`Labeling::AtRandom`]).
    pub labeling_rate: f64,
    /// Residual link ρ ∈ [0, 1).
    pub rho: f64,
    /// OLS proxy: intercept shift.
    pub proxy_shift: f64,
    /// OLS proxy: scale of the linear predictor (1 = unbiased slopes).
    pub proxy_scale: f64,
    /// OLS proxy: coefficient of an extra x₁² term in its error (a source that
    /// over-reacts to extreme covariates). Then the proxy's linear fit depends on the
    /// distribution of x₁, so labeling that depends on x₁ breaks the equality of its
    /// labeled and all-rows moments, which the J test detects.
    pub proxy_curvature: f64,
    /// Logistic proxy: label flip probability.
    pub proxy_flip: f64,
    /// OLS: heteroskedasticity h ≥ 0 of the real error, Var(ε | x) = (1 + h x₁²)/(1 + h)
    /// (mean variance 1; 0 = homoskedastic).
    pub heteroskedasticity: f64,
    /// Standard deviation of the error in re-extracted synthetic x₁.
    pub synth_x_noise: f64,
    /// Probability that synthetic x₂ is flipped.
    pub synth_x_flip: f64,
    /// Number of synthetic sources (0 or more; named `synth`, `synth2`, …).
    pub n_synthetic: usize,
    /// How rows are labeled.
    pub labeling: Labeling,
}

/// The simulated covariates: the design (1, x1, x2), its columns, and xᵀθ.
struct Covariates {
    x: Array2<f64>,
    x1: Vec<f64>,
    x2: Vec<f64>,
    lin: Array1<f64>,
}

/// The real outcomes, and each source's covariates and outcomes.
type Outcomes = (Array1<f64>, Vec<(Array2<f64>, Array1<f64>)>);

impl SimConfig {
    /// The reference design: T = 3000, 10% labeled, ρ = 0.7, one proxy and one synthetic
    /// source.
    pub fn new(model: SimModel) -> Self {
        Self {
            model,
            rows: 3000,
            labeling_rate: 0.1,
            rho: 0.7,
            proxy_shift: 0.2,
            proxy_scale: 0.8,
            proxy_curvature: 0.0,
            proxy_flip: 0.15,
            heteroskedasticity: 0.0,
            synth_x_noise: 0.3,
            synth_x_flip: 0.1,
            n_synthetic: 1,
            labeling: Labeling::AtRandom,
        }
    }
    /// Sets T.
    pub fn rows(mut self, rows: usize) -> Self {
        self.rows = rows;
        self
    }
    /// Sets n/T.
    pub fn labeling_rate(mut self, rate: f64) -> Self {
        self.labeling_rate = rate;
        self
    }
    /// Sets ρ.
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }
    /// Sets the number of synthetic sources.
    pub fn n_synthetic(mut self, k: usize) -> Self {
        self.n_synthetic = k;
        self
    }
    /// Sets the heteroskedasticity of the real error (OLS; see the field).
    pub fn heteroskedasticity(mut self, h: f64) -> Self {
        self.heteroskedasticity = h;
        self
    }
    /// Sets the proxy's curvature in x₁ (OLS).
    pub fn proxy_curvature(mut self, c: f64) -> Self {
        self.proxy_curvature = c;
        self
    }
    /// Sets the labeling design.
    pub fn labeling(mut self, labeling: Labeling) -> Self {
        self.labeling = labeling;
        self
    }

    /// The true θ.
    pub fn theta(&self) -> Array1<f64> {
        array![0.5, 1.0, -0.8]
    }

    /// Names of the coefficients of θ.
    pub fn coefficient_names(&self) -> Vec<String> {
        ["intercept", "x1", "x2"].map(String::from).to_vec()
    }

    /// Names of the sources, in order: `proxy`, then `synth`, `synth2`, ….
    pub fn source_names(&self) -> Vec<String> {
        let mut names = vec!["proxy".to_string()];
        names.extend((0..self.n_synthetic).map(|k| {
            if k == 0 {
                "synth".into()
            } else {
                format!("synth{}", k + 1)
            }
        }));
        names
    }

    fn validate(&self) -> Result<()> {
        let bad = |parameter, reason: String| Err(Error::InvalidConfig { parameter, reason });
        if !(self.heteroskedasticity >= 0.0 && self.heteroskedasticity.is_finite()) {
            return bad(
                "heteroskedasticity",
                format!("{} is not a non-negative number", self.heteroskedasticity),
            );
        }
        if !(0.0..1.0).contains(&self.rho) {
            return bad("rho", format!("{} is not in [0, 1)", self.rho));
        }
        if !(self.labeling_rate > 0.0 && self.labeling_rate <= 1.0) {
            return bad(
                "labeling_rate",
                format!("{} is not in (0, 1]", self.labeling_rate),
            );
        }
        if let Labeling::ByCovariate { low, high } = self.labeling {
            if !(low > 0.0 && low <= 1.0 && high > 0.0 && high <= 1.0) {
                return bad(
                    "labeling",
                    format!("probabilities {low}, {high} not in (0, 1]"),
                );
            }
        }
        for (name, p) in [
            ("proxy_flip", self.proxy_flip),
            ("synth_x_flip", self.synth_x_flip),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return bad(name, format!("{p} is not a probability"));
            }
        }
        Ok(())
    }

    /// Draws one data set. The same seed gives the same data on every platform
    /// (ChaCha8 stream, no platform-dependent floating point in the draws).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for invalid knobs; the [`DataSources`] errors (e.g. too
    /// few labeled rows for a tiny T).
    ///
    /// # Examples
    /// ```
    /// use synthgmm::sim::{SimConfig, SimModel};
    /// let cfg = SimConfig::new(SimModel::Ols).rows(500).labeling_rate(0.2);
    /// let a = cfg.simulate(7)?;
    /// assert_eq!((a.n_rows(), a.n_labeled(), a.n_sources()), (500, 100, 2));
    /// assert_eq!(a.real_y(), cfg.simulate(7)?.real_y());
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn simulate(&self, seed: u64) -> Result<DataSources> {
        self.validate()?;
        let t = self.rows;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
        let x1: Vec<f64> = (0..t).map(|_| normal(&mut rng)).collect();
        let x2: Vec<f64> = (0..t)
            .map(|_| f64::from(u8::from(rng.random::<f64>() < 0.4)))
            .collect();
        let x = Array2::from_shape_fn((t, 3), |(i, j)| [1.0, x1[i], x2[i]][j]);
        let lin = x.dot(&self.theta());
        let drawn = Covariates { x, x1, x2, lin };
        let (y, sources) = match self.model {
            SimModel::Ols => self.ols_outcomes(&drawn, &mut rng),
            SimModel::Logistic => self.logistic_outcomes(&drawn, &mut rng),
        };
        let Covariates { x, x1, .. } = drawn;
        let (labeled, pi) = self.labels(&x1, &mut rng);
        let y_real: Array1<f64> = y
            .iter()
            .zip(&labeled)
            .map(|(&v, &l)| if l { v } else { f64::NAN })
            .collect();
        let mut builder = DataSources::builder(&labeled)
            .real(&x, &y_real)
            .covariate_names(["intercept", "x1", "x2"]);
        for (name, (xs, ys)) in self.source_names().into_iter().zip(&sources) {
            builder = builder.source(name, xs, ys);
        }
        if let Some(pi) = &pi {
            builder = builder.labeling_probabilities(pi);
        }
        builder.build()
    }

    /// Least squares: y = xᵀθ + ε (ε heteroskedastic in x1 with the knob), the proxy
    /// (shifted, scaled, curved, its error correlated ρ with ε) and the synthetic
    /// sources (their own covariates, errors correlated ρ/2 with ε).
    fn ols_outcomes(&self, drawn: &Covariates, rng: &mut ChaCha8Rng) -> Outcomes {
        let Covariates { x1, lin, .. } = drawn;
        let (t, rho, h) = (x1.len(), self.rho, self.heteroskedasticity);
        let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
        let eps: Array1<f64> = (0..t)
            .map(|i| normal(rng) * ((1.0 + h * x1[i] * x1[i]) / (1.0 + h)).sqrt())
            .collect();
        let y = lin + &eps;
        let proxy: Array1<f64> = (0..t)
            .map(|i| {
                self.proxy_shift
                    + self.proxy_scale * lin[i]
                    + self.proxy_curvature * x1[i] * x1[i]
                    + rho * eps[i]
                    + (1.0 - rho * rho).sqrt() * normal(rng)
            })
            .collect();
        let sources = self.sources(drawn, proxy, rng, |xs, i, rng| {
            0.5 * rho * eps[i] + 0.3 + 0.7 * xs[[i, 1]] - 0.5 * xs[[i, 2]] + normal(rng)
        });
        (y, sources)
    }

    /// Logistic: y = 1{u < σ(xᵀθ)}, the proxy flipping labels at the knob's rate and
    /// the synthetic sources sharing u with probability ρ.
    fn logistic_outcomes(&self, drawn: &Covariates, rng: &mut ChaCha8Rng) -> Outcomes {
        let Covariates { x1, lin, .. } = drawn;
        let (t, rho) = (x1.len(), self.rho);
        let u: Vec<f64> = (0..t).map(|_| rng.random()).collect();
        let y: Array1<f64> = (0..t)
            .map(|i| f64::from(u8::from(u[i] < sigmoid(lin[i]))))
            .collect();
        let proxy: Array1<f64> = y
            .iter()
            .map(|&v| match rng.random::<f64>() < self.proxy_flip {
                true => 1.0 - v,
                false => v,
            })
            .collect();
        let sources = self.sources(drawn, proxy, rng, |xs, i, rng| {
            let v = if rng.random::<f64>() < rho {
                u[i]
            } else {
                rng.random()
            };
            let eta = 0.8 + 0.8 * xs[[i, 1]] - 0.4 * xs[[i, 2]];
            f64::from(u8::from(v < sigmoid(eta)))
        });
        (y, sources)
    }

    /// The proxy (on the real covariates) and the synthetic sources, each one's
    /// covariates drawn first and then its outcomes row by row.
    fn sources(
        &self,
        drawn: &Covariates,
        proxy: Array1<f64>,
        rng: &mut ChaCha8Rng,
        mut outcome: impl FnMut(&Array2<f64>, usize, &mut ChaCha8Rng) -> f64,
    ) -> Vec<(Array2<f64>, Array1<f64>)> {
        let mut sources = vec![(drawn.x.clone(), proxy)];
        for _ in 0..self.n_synthetic {
            let xs = self.synthetic_covariates(&drawn.x1, &drawn.x2, rng);
            let ys = (0..xs.nrows()).map(|i| outcome(&xs, i, rng)).collect();
            sources.push((xs, ys));
        }
        sources
    }

    /// The label mask, and the labeling probabilities when they depend on x1.
    fn labels(&self, x1: &[f64], rng: &mut ChaCha8Rng) -> (Vec<bool>, Option<Array1<f64>>) {
        let t = x1.len();
        match self.labeling {
            Labeling::AtRandom => {
                let n = ((self.labeling_rate * t as f64).round() as usize).clamp(1, t);
                let mut mask = vec![false; t];
                for i in sample(rng, t, n) {
                    mask[i] = true;
                }
                (mask, None)
            }
            Labeling::ByCovariate { low, high } => {
                let pi: Array1<f64> = x1
                    .iter()
                    .map(|&v| if v > 0.0 { high } else { low })
                    .collect();
                let mask = pi.iter().map(|&p| rng.random::<f64>() < p).collect();
                (mask, Some(pi))
            }
        }
    }

    fn synthetic_covariates(&self, x1: &[f64], x2: &[f64], rng: &mut ChaCha8Rng) -> Array2<f64> {
        let t = x1.len();
        let mut xs = Array2::ones((t, 3));
        for i in 0..t {
            let noise: f64 = StandardNormal.sample(rng);
            xs[[i, 1]] = x1[i] + self.synth_x_noise * noise;
            xs[[i, 2]] = if rng.random::<f64>() < self.synth_x_flip {
                1.0 - x2[i]
            } else {
                x2[i]
            };
        }
        xs
    }
}

impl crate::sim::Design for SimConfig {
    fn draw(&self, seed: u64) -> Result<DataSources> {
        self.simulate(seed)
    }
    fn truth(&self) -> Array1<f64> {
        self.theta()
    }
    fn coefficient_names(&self) -> Vec<String> {
        SimConfig::coefficient_names(self)
    }
}
