//! How the default estimator moves when a source's outcome comes in other units.
//!
//! A source's outcome is a prediction of the label; a generator may report it on
//! another scale (a 0–100 score for a 0–1 label). The paper's estimator absorbs the
//! scale in the source's own parameter η_m; the default's pilot takes the prediction
//! on the label's scale, so its choice of weights (not the validity of its interval)
//! may move. For each scale c of one source's outcome this reports, over R data sets,
//! the default's coverage of the slope with its Monte-Carlo standard error
//! √(c(1 − c)/R), its RMSE relative to c = 1, and the median shift |θ̂(c) − θ̂(1)| in
//! units of θ̂(1)'s standard error.
//!
//! ```text
//! cargo run --release --example source_outcome_units -- 1000   # R
//! ```

#[path = "support/labeling.rs"]
mod labeling;
use labeling::label_at_random;
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use synthgmm::models::Ols;
use synthgmm::{DataSources, TwoStepGmm};

const SLOPE: f64 = 0.5;
const SCALES: [f64; 5] = [1.0, 0.01, 0.1, 10.0, 100.0];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// One data set: T rows, n labeled at random, a proxy (correlation ≈ 0.8 with the
/// label) and, with `two`, a synthetic source with covariate noise; the first
/// source's outcome is multiplied by each of `SCALES`.
fn draw(seed: u64, t: usize, n: usize, two: bool) -> Vec<DataSources> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Array1<f64> = (0..t).map(|_| normal(&mut rng)).collect();
    let e: Array1<f64> =
        x.mapv(|v| 0.5 + v.abs()) * &Array1::from_shape_fn(t, |_| normal(&mut rng));
    let y = 1.0 + SLOPE * &x + &e;
    let proxy = &y + &Array1::from_shape_fn(t, |_| 0.7 * normal(&mut rng));
    let synth_x = &x + &Array1::from_shape_fn(t, |_| 0.3 * normal(&mut rng));
    let synth_y =
        1.0 + SLOPE * &x + 0.6 * &e + Array1::from_shape_fn(t, |_| 0.8 * normal(&mut rng));
    let design =
        |v: &Array1<f64>| Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { v[i] });
    let labeled = label_at_random(&mut rng, t, n);
    SCALES
        .iter()
        .map(|&c| {
            let mut b = DataSources::builder(&labeled).real(&design(&x), &y).source(
                "proxy",
                &design(&x),
                &(c * &proxy),
            );
            if two {
                b = b.source("synth", &design(&synth_x), &synth_y);
            }
            b.build().expect("valid data")
        })
        .collect()
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .map_or(1000, |a| a.parse().expect("R"));
    println!("| design | c | coverage | RMSE / RMSE(c = 1) | median shift (se) |");
    println!("|---|---|---|---|---|");
    for (t, n, two) in [(2_000, 50, false), (2_000, 50, true), (5_000, 200, true)] {
        let rows: Vec<Vec<(f64, f64, f64, f64)>> = (0..reps)
            .into_par_iter()
            .map(|r| {
                draw(r as u64, t, n, two)
                    .iter()
                    .map(|data| {
                        let fit = TwoStepGmm::new(Ols).fit(data).expect("fit");
                        let ci = fit.conf_int(0.05).expect("interval");
                        (fit.theta()[1], fit.se()[1], ci[[1, 0]], ci[[1, 1]])
                    })
                    .collect()
            })
            .collect();
        let rmse1 =
            (rows.iter().map(|r| (r[0].0 - SLOPE).powi(2)).sum::<f64>() / reps as f64).sqrt();
        for (k, c) in SCALES.iter().enumerate() {
            let cover = rows
                .iter()
                .filter(|r| r[k].2 <= SLOPE && SLOPE <= r[k].3)
                .count() as f64
                / reps as f64;
            let rmse =
                (rows.iter().map(|r| (r[k].0 - SLOPE).powi(2)).sum::<f64>() / reps as f64).sqrt();
            let mut shift: Vec<f64> = rows
                .iter()
                .map(|r| (r[k].0 - r[0].0).abs() / r[0].1)
                .collect();
            shift.sort_by(f64::total_cmp);
            let mcse = (cover * (1.0 - cover) / reps as f64).sqrt();
            let name = format!("T = {t}, n = {n}, {} source(s)", if two { 2 } else { 1 });
            println!(
                "| {name} | {c} | {:.1}% ± {:.1} | {:.3} | {:.3} |",
                100.0 * cover,
                100.0 * mcse,
                rmse / rmse1,
                shift[reps / 2]
            );
        }
    }
}
