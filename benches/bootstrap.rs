//! How long does the bootstrap of the default estimator take?
//!
//! Data: T = 10⁴ rows, p = 3 (an intercept and two standard normals), n = 300 labeled
//! at random, a proxy (residual correlation 0.7) and a synthetic source (0.5), M = 2,
//! generated once from a seeded RNG outside the timed loop. B = 999 replicates of the
//! default `TwoStepGmm` (selected cross weights, pilot, coupled root on every replicate),
//! least squares and logistic; least squares also at T = 10⁵ rows with n = 1,000.
//!
//! ```text
//! cargo bench --bench bootstrap
//! cargo bench --bench bootstrap -- 100000     # T = 10⁵ alone
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use synthgmm::models::{sigmoid, Logistic, Ols};
use synthgmm::{Bootstrap, DataSources, TwoStepGmm};

fn simulate(t: usize, n: usize, logistic: bool) -> DataSources {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let x = Array2::from_shape_fn((t, 3), |(_, j)| {
        if j == 0 {
            1.0
        } else {
            StandardNormal.sample(&mut rng)
        }
    });
    let lin = x.dot(&ndarray::array![0.2, 0.5, -0.3]);
    let e: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
    let mut source = |rho: f64| -> Array1<f64> {
        Array1::from_shape_fn(t, |i| {
            let u: f64 = StandardNormal.sample(&mut rng);
            lin[i] + rho * e[i] + (1.0 - rho * rho).sqrt() * u
        })
    };
    let (mut proxy, mut synth) = (source(0.7), source(0.5));
    let y = if logistic {
        proxy.mapv_inplace(|v| f64::from(u8::from(v > 0.0)));
        synth.mapv_inplace(|v| f64::from(u8::from(v > 0.0)));
        Array1::from_shape_fn(t, |i| {
            f64::from(u8::from(rng.random::<f64>() < sigmoid(lin[i] + e[i])))
        })
    } else {
        &lin + &e
    };
    let labeled: Vec<bool> = (0..t).map(|i| (i * 7919) % t < n).collect();
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .source("synth", &x, &synth)
        .build()
        .expect("valid simulated data")
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
