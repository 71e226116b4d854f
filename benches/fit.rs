//! How long does a fit take, and how does it scale with the number of rows T?
//!
//! Data: intercept + normal + binary covariate, 10% of rows labeled, a proxy and a
//! synthetic source (M = 2), generated once per size from a seeded RNG.
//! `ols_m2` uses the default (Windmeijer) covariance, `ols_m2_textbook` the plain one.
//! `dense_omega` forms Ω̂ the direct way, from the full T × p(1 + 2M) matrix of stacked
//! moments, as a yardstick for the structured computation inside `fit`.
//!
//! ```text
//! cargo bench --bench fit                      # faer backend
//! cargo bench --bench fit --features openblas  # OpenBLAS backend
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::{s, Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use synthgmm::models::{sigmoid, Logistic, Ols};
use synthgmm::{moment_matrix, Covariance, DataSources, TwoStepGmm};

fn simulate(t: usize, logistic: bool) -> DataSources {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let x = Array2::from_shape_fn((t, 3), |(_, j)| match j {
        0 => 1.0,
        1 => StandardNormal.sample(&mut rng),
        _ => (rng.random::<f64>() < 0.4) as u8 as f64,
    });
    let lin = x.dot(&ndarray::array![0.3, 0.8, -0.5]);
    let e: Array1<f64> = Array1::from_shape_fn(t, |_| StandardNormal.sample(&mut rng));
    let noisy = |rng: &mut ChaCha8Rng, rho: f64| -> Array1<f64> {
        Array1::from_shape_fn(t, |i| {
            let u: f64 = StandardNormal.sample(rng);
            lin[i] + rho * e[i] + (1.0 - rho * rho).sqrt() * u
        })
    };
    let (y, proxy, synth) = if logistic {
        let to_binary = |v: &Array1<f64>, rng: &mut ChaCha8Rng| {
            v.mapv(|z| (rng.random::<f64>() < sigmoid(z)) as u8 as f64)
        };
        let y = to_binary(&(&lin + &e * 0.0), &mut rng);
        let proxy = y.mapv(|v| {
            if rng.random::<f64>() < 0.85 {
                v
            } else {
                1.0 - v
            }
        });
        let synth = y.mapv(|v| {
            if rng.random::<f64>() < 0.75 {
                v
            } else {
                1.0 - v
            }
        });
        (y, proxy, synth)
    } else {
        (&lin + &e, noisy(&mut rng, 0.7), noisy(&mut rng, 0.5))
    };
    let labeled: Vec<bool> = (0..t).map(|_| rng.random::<f64>() < 0.1).collect();
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .source("synth", &x, &synth)
        .build()
        .unwrap()
}

/// Ω̂ from the full stacked matrix g (T × 9): the computation the structured code avoids.
fn dense_omega(data: &DataSources, params: &Array1<f64>) -> Array2<f64> {
    let (t, p) = (data.n_rows(), 3);
    let mut g = Array2::zeros((t, p * 5));
    let mask = data.label_mask();
    let real = moment_matrix(&Ols, params.slice(s![..p]), data.real_rows());
    for (k, &row) in data.labeled_rows().iter().enumerate() {
        g.slice_mut(s![row, ..p]).assign(&real.row(k));
    }
    for (m, src) in data.sources().iter().enumerate() {
        let psi = moment_matrix(&Ols, params.slice(s![(m + 1) * p..(m + 2) * p]), src.rows());
        for (row, &is_labeled) in mask.iter().enumerate() {
            let lab = if is_labeled { 1.0 } else { 0.0 };
            g.slice_mut(s![row, (1 + m) * p..(2 + m) * p])
                .assign(&(&psi.row(row) * lab));
            g.slice_mut(s![row, (3 + m) * p..(4 + m) * p])
                .assign(&psi.row(row));
        }
    }
    g.t().dot(&g) / t as f64
}

fn bench_fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("fit");
    for &t in &[1_000usize, 10_000, 100_000] {
        group.throughput(Throughput::Elements(t as u64));
        let ols = simulate(t, false);
        group.bench_with_input(BenchmarkId::new("ols_m2", t), &ols, |b, d| {
            b.iter(|| TwoStepGmm::new(Ols).fit(black_box(d)).unwrap())
        });
        // The textbook covariance, without Windmeijer's correction (2q extra Ω̂ passes).
        group.bench_with_input(BenchmarkId::new("ols_m2_textbook", t), &ols, |b, d| {
            b.iter(|| {
                TwoStepGmm::new(Ols)
                    .covariance(Covariance::Reestimated)
                    .fit(black_box(d))
                    .unwrap()
            })
        });
        let logit = simulate(t, true);
        group.bench_with_input(BenchmarkId::new("logistic_m2", t), &logit, |b, d| {
            b.iter(|| TwoStepGmm::new(Logistic).fit(black_box(d)).unwrap())
        });
        let params = TwoStepGmm::new(Ols)
            .fit(&ols)
            .unwrap()
            .step1_params()
            .to_owned();
        group.bench_with_input(BenchmarkId::new("dense_omega_m2", t), &ols, |b, d| {
            b.iter(|| dense_omega(black_box(d), &params))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_fit
}
criterion_main!(benches);
