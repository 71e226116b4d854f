//! How long does a fit take, and how does it scale with the number of rows T?
//!
//! Data: p = 10 covariates (an intercept and nine standard normals), 10% of rows
//! labeled at random, a proxy and a synthetic source (M = 2), generated once per size
//! from a seeded RNG outside the timed loop. The default estimator (selected cross
//! weights), OLS and logistic; real-only and PPI++ (OLS) beside it; and the building of
//! the data set from borrowed arrays (the covariates copied once, every value
//! validated), as the Python package builds it. The `moment_sums` group times the
//! hot path of a pass that needs only ḡ: a GLM's Σ_t ψ_t from `moment_sums` (one
//! sweep, no moment matrix) against the moments' rows summed by column.
//!
//! ```text
//! cargo bench --bench fit                      # faer backend, every core
//! cargo bench --bench fit --no-default-features --features openblas,parallel  # OpenBLAS
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{moment_matrix, Estimator, MomentModel, Rows, TwoStepGmm};

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

fn bench_moment_sums(c: &mut Criterion) {
    let mut group = c.benchmark_group("moment_sums");
    let t = 100_000;
    group.throughput(Throughput::Elements(t as u64));
    let x = ndarray::Array2::from_shape_fn((t, P), |(i, j)| match j {
        0 => 1.0,
        _ => ((i * 31 + j * 17) % 97) as f64 / 48.0 - 1.0,
    });
    let y = ndarray::Array1::from_shape_fn(t, |i| (i % 3 == 0) as u8 as f64);
    let beta = ndarray::Array1::from_shape_fn(P, |j| 0.1 * j as f64 - 0.3);
    let rows = Rows::new(x.view(), y.view()).unwrap();
    group.bench_function("logistic_one_sweep", |b| {
        b.iter(|| Logistic.moment_sums(black_box(beta.view()), rows, None))
    });
    group.bench_function("logistic_moment_matrix", |b| {
        b.iter(|| moment_matrix(&Logistic, black_box(beta.view()), rows).sum_axis(ndarray::Axis(0)))
    });
    group.finish();
}

criterion_group!(benches, bench_fit, bench_build, bench_moment_sums);
criterion_main!(benches);
