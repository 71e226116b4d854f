//! How long does a fit take, and how does it scale with the number of rows T?
//!
//! Data: p = 10 covariates (an intercept and nine standard normals), 10% of rows
//! labeled at random, a proxy and a synthetic source (M = 2), generated once per size
//! from a seeded RNG outside the timed loop. The default estimator (selected cross
//! weights), OLS and logistic; real-only and PPI++ (OLS) beside it; and the building of
//! the data set from borrowed arrays (the covariates copied once, every value
//! validated), as the Python package builds it.
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

fn bench_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for &t in &[100_000usize, 1_000_000] {
        group.throughput(Throughput::Elements(t as u64));
        let arrays = large::Arrays::simulated(t, P, false);
        group.bench_with_input(BenchmarkId::new("borrowed_m2", t), &arrays, |b, a| {
            b.iter(|| black_box(a).borrowed())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fit, bench_build);
criterion_main!(benches);
