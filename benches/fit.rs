//! How long does a fit take, and how does it scale with the number of rows T?
//!
//! Data: p = 10 covariates (an intercept and nine standard normals), 10% of rows
//! labeled at random, a proxy and a synthetic source (M = 2), generated once per size
//! from a seeded RNG outside the timed loop. Two-step GMM with the default (Windmeijer)
//! covariance, OLS and logistic; real-only and PPI++ (OLS) beside it.
//!
//! ```text
//! cargo bench --bench fit                      # faer backend, every core
//! cargo bench --bench fit --no-default-features --features openblas,parallel  # OpenBLAS
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{Estimator, TwoStepGmm};

#[path = "../examples/support/large.rs"]
mod large;

const P: usize = 10;

fn simulate(t: usize, logistic: bool) -> synthgmm::DataSources {
    large::simulate(t, P, logistic)
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
