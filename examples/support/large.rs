//! The simulated data set shared by `examples/scale.rs`, `benches/fit.rs` and
//! `benches/bootstrap.rs`: p covariates (an intercept and p − 1 standard normals), 10%
//! of rows labeled at random (or n rows spread evenly, [`Arrays::labeled_count`]), a
//! proxy (residual correlation 0.7) and a synthetic outcome (0.5); logistic outcomes
//! are Bernoulli, the sources their thresholded versions. Seeded.

// Each user (an example, two benches) takes a part of it.
#![allow(dead_code)]

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::models::sigmoid;
use synthgmm::DataSources;

/// The arrays of a data set: the label mask, the real outcome, the covariates (shared
/// by the real data and both sources), the proxy's and the synthetic source's outcomes.
pub struct Arrays {
    pub labeled: Vec<bool>,
    pub y: Array1<f64>,
    pub x: Array2<f64>,
    pub proxy: Array1<f64>,
    pub synth: Array1<f64>,
}

impl Arrays {
    /// The simulated arrays (see the module's documentation).
    pub fn simulated(t: usize, p: usize, logistic: bool) -> Arrays {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let x = Array2::from_shape_fn((t, p), |(_, j)| {
            if j == 0 {
                1.0
            } else {
                StandardNormal.sample(&mut rng)
            }
        });
        let beta = Array1::from_shape_fn(p, |j| 0.5 / (1.0 + j as f64));
        let lin = x.dot(&beta);
        let e: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
        let mut source = |rho: f64| -> Array1<f64> {
            Array1::from_shape_fn(t, |i| {
                let u: f64 = StandardNormal.sample(&mut rng);
                lin[i] + rho * e[i] + (1.0 - rho * rho).sqrt() * u
            })
        };
        let (mut proxy, mut synth) = (source(0.7), source(0.5));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let labeled: Vec<bool> = (0..t).map(|_| rng.random::<f64>() < 0.1).collect();
        let y = if logistic {
            proxy.mapv_inplace(|v| (v > 0.0) as u8 as f64);
            synth.mapv_inplace(|v| (v > 0.0) as u8 as f64);
            Array1::from_shape_fn(t, |i| {
                (rng.random::<f64>() < sigmoid(lin[i] + e[i])) as u8 as f64
            })
        } else {
            &lin + &e
        };
        Arrays {
            labeled,
            y,
            x,
            proxy,
            synth,
        }
    }

    /// The same rows with n of them labeled, spread evenly over the rows.
    pub fn labeled_count(self, n: usize) -> Arrays {
        let t = self.labeled.len();
        let labeled = (0..t).map(|i| (i * 7919) % t < n).collect();
        Arrays { labeled, ..self }
    }

    /// The data set holding the covariates handed over, not copied: its only copy.
    pub fn into_shared(self) -> DataSources {
        let x = std::sync::Arc::new(self.x);
        DataSources::builder(&self.labeled)
            .real_shared(std::sync::Arc::clone(&x), &self.y)
            .source_shared("proxy", std::sync::Arc::clone(&x), &self.proxy)
            .source_shared("synth", x, &self.synth)
            .build()
            .expect("valid data")
    }

    /// The data set built from borrowed arrays, as the Python package builds it: the
    /// covariates copied once, every value validated.
    pub fn borrowed(&self) -> DataSources {
        DataSources::builder(&self.labeled)
            .real(&self.x, &self.y)
            .source("proxy", &self.x, &self.proxy)
            .source("synth", &self.x, &self.synth)
            .build()
            .expect("valid data")
    }
}

pub fn simulate(t: usize, p: usize, logistic: bool) -> DataSources {
    Arrays::simulated(t, p, logistic).into_shared()
}
