//! How long does a fit take, and how does it scale with the number of rows T?
//!
//! Data: p = 10 covariates (an intercept and nine standard normals), 10% of rows
//! labeled at random, a proxy and a synthetic source (M = 2), generated once per size
//! from a seeded RNG outside the timed loop. Two-step GMM with the default (Windmeijer)
//! covariance, OLS and logistic; real-only and PPI++ (OLS) beside it.
//!
//! ```text
//! cargo bench --bench fit                      # faer backend, every core
//! cargo bench --bench fit --features openblas  # OpenBLAS backend
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::{sigmoid, Logistic, Ols};
use synthgmm::{DataSources, Estimator, TwoStepGmm};

const P: usize = 10;

fn simulate(t: usize, logistic: bool) -> DataSources {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let x = Array2::from_shape_fn((t, P), |(_, j)| {
        if j == 0 {
            1.0
        } else {
            StandardNormal.sample(&mut rng)
        }
    });
    let beta = Array1::from_shape_fn(P, |j| 0.5 / (1.0 + j as f64));
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
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .source("synth", &x, &synth)
        .build()
        .unwrap()
}

fn bench_fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("fit");
    group.sample_size(10);
    for &t in &[10_000usize, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(t as u64));
        let ols = simulate(t, false);
        group.bench_with_input(BenchmarkId::new("ols_gmm_m2", t), &ols, |b, d| {
            b.iter(|| TwoStepGmm::new(Ols).fit(black_box(d)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("ols_real_only", t), &ols, |b, d| {
            b.iter(|| RealOnly::new(Ols).estimate(black_box(d)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("ols_ppi_plus_plus", t), &ols, |b, d| {
            b.iter(|| {
                PpiPlusPlus::new(Ols, "proxy")
                    .estimate(black_box(d))
                    .unwrap()
            })
        });
        let logit = simulate(t, true);
        group.bench_with_input(BenchmarkId::new("logistic_gmm_m2", t), &logit, |b, d| {
            b.iter(|| TwoStepGmm::new(Logistic).fit(black_box(d)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fit);
criterion_main!(benches);
