//! How long does the bootstrap of the default estimator take?
//!
//! Data (`examples/support/large.rs`): T = 10⁴ rows, p = 3 (an intercept and two
//! standard normals), n = 300 labeled, spread evenly, a proxy (residual correlation
//! 0.7) and a synthetic source (0.5), M = 2, generated once from a seeded RNG outside
//! the timed loop. B = 999 replicates of the
//! default `TwoStepGmm` (selected cross weights, pilot, coupled root on every replicate),
//! least squares and logistic; least squares also at T = 10⁵ rows with n = 1,000.
//!
//! ```text
//! cargo bench --bench bootstrap
//! cargo bench --bench bootstrap -- 100000     # T = 10⁵ alone
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use synthgmm::models::{Logistic, Ols};
use synthgmm::{Bootstrap, DataSources, TwoStepGmm};

#[path = "../examples/support/large.rs"]
mod large;

/// T rows, p = 3, n labeled (see `examples/support/large.rs`).
fn simulate(t: usize, n: usize, logistic: bool) -> DataSources {
    large::Arrays::simulated(t, 3, logistic)
        .labeled_count(n)
        .into_shared()
}

/// B = 999 replicates of the default estimator of `model` on `data`, timed.
fn bench_default<M: synthgmm::MomentModel + Clone + Sync>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    model: M,
    data: &DataSources,
) {
    group.bench_with_input(BenchmarkId::new(name, data.n_rows()), data, |b, d| {
        b.iter(|| {
            Bootstrap::new(999)
                .run(&TwoStepGmm::new(model.clone()), black_box(d))
                .unwrap()
        })
    });
}

fn bench_bootstrap(c: &mut Criterion) {
    let mut group = c.benchmark_group("bootstrap");
    group.sample_size(10);
    let ols = simulate(10_000, 300, false);
    bench_default(&mut group, "ols_default_b999", Ols, &ols);
    let logit = simulate(10_000, 300, true);
    bench_default(&mut group, "logistic_default_b999", Logistic, &logit);
    let large = simulate(100_000, 1_000, false);
    bench_default(&mut group, "ols_default_b999", Ols, &large);
    group.finish();
}

criterion_group!(benches, bench_bootstrap);
criterion_main!(benches);
