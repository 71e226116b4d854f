//! Times fits for `docs/performance.md`.
//!
//! ```text
//! cargo run --release --example scale -- [--rows T] [--p P] [--model ols|logistic] [--which gmm|real|ppi]
//! cargo run --release --example scale -- --data FILE.bin [--model ols|logistic]
//! ```
//!
//! The first form simulates p covariates (an intercept and p − 1 standard normals), 10%
//! of rows labeled, a proxy and a synthetic source (M = 2), seeded, and prints the
//! median wall time of five fits. The second reads the data set that
//! `benches/peers/compare.py` writes (little-endian f64: T, p, then the label mask, y,
//! x row by row, the proxy and the synthetic outcome) and times GMM, real-only and PPI++
//! on it, one line each, for the comparison with ppi_py, and the building of the data
//! set from borrowed arrays (`build`).

use std::time::Instant;

use ndarray::{Array1, Array2};
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{DataSources, Estimator, MomentModel, TwoStepGmm};

#[path = "support/large.rs"]
mod large;
use large::{simulate, Arrays};

fn time<M: MomentModel + Clone>(model: M, data: &DataSources, which: &str) -> f64 {
    let run = || -> f64 {
        let start = Instant::now();
        fit(model.clone(), data, which);
        start.elapsed().as_secs_f64()
    };
    let mut times: Vec<f64> = (0..5).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    times[2]
}

/// One fit of estimator `which`: its estimate and standard errors.
fn fit<M: MomentModel + Clone>(model: M, data: &DataSources, which: &str) -> (Vec<f64>, Vec<f64>) {
    let estimate = match which {
        "real" => RealOnly::new(model).estimate(data),
        "ppi" => PpiPlusPlus::new(model, "proxy").estimate(data),
        _ => TwoStepGmm::new(model)
            .fit(data)
            .map(|f| f.estimate().clone()),
    }
    .expect("fit");
    (estimate.theta().to_vec(), estimate.se().to_vec())
}

/// The arrays of the data set `benches/peers/compare.py` writes.
fn read_binary(path: &str) -> Arrays {
    let bytes = std::fs::read(path).expect("readable data file");
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    let (t, p) = (values[0] as usize, values[1] as usize);
    let mut at = 2;
    let mut take = |n: usize| {
        let part = values[at..at + n].to_vec();
        at += n;
        part
    };
    let labeled: Vec<bool> = take(t).into_iter().map(|v| v == 1.0).collect();
    let y = Array1::from(take(t));
    let x = Array2::from_shape_vec((t, p), take(t * p)).expect("t × p values");
    let (proxy, synth) = (Array1::from(take(t)), Array1::from(take(t)));
    Arrays {
        labeled,
        y,
        x,
        proxy,
        synth,
    }
}

/// Median wall time of building the data set from borrowed arrays (the covariates
/// copied once, every value validated), as the Python package does.
fn time_build(a: &Arrays) -> f64 {
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let data = a.borrowed();
            let secs = start.elapsed().as_secs_f64();
            drop(data);
            secs
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[2]
}

/// Median wall time of five fits.
#[derive(clap::Parser)]
struct Cli {
    /// Rows T to simulate.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Covariates p (an intercept and p − 1 standard normals).
    #[arg(long, default_value_t = 10)]
    p: usize,
    /// `ols` or `logistic`.
    #[arg(long, default_value = "ols")]
    model: String,
    /// `gmm`, `real` or `ppi`.
    #[arg(long, default_value = "gmm")]
    which: String,
    /// Read the data set `benches/peers/compare.py` writes instead of simulating, and
    /// time GMM, real-only and PPI++ on it.
    #[arg(long, value_name = "FILE.bin")]
    data: Option<String>,
    /// Also print one fit's estimate and standard errors to every digit (to compare
    /// two versions of the code on the same data).
    #[arg(long)]
    estimates: bool,
}

fn main() {
    let cli: Cli = clap::Parser::parse();
    if let Some(path) = &cli.data {
        let arrays = read_binary(path);
        println!("build {:.6}", time_build(&arrays));
        let data = arrays.into_shared();
        let logistic = cli.model == "logistic";
        for which in ["gmm", "real", "ppi"] {
            let secs = if logistic {
                time(Logistic, &data, which)
            } else {
                time(Ols, &data, which)
            };
            println!("{which} {secs:.6}");
        }
        return;
    }
    let (t, p, which) = (cli.rows, cli.p, cli.which.as_str());
    let logistic = cli.model == "logistic";
    let data = simulate(t, p, logistic);
    let secs = if logistic {
        time(Logistic, &data, which)
    } else {
        time(Ols, &data, which)
    };
    println!(
        "T = {t}, p = {p}, {}, {which}: median {secs:.4} s",
        if logistic { "logistic" } else { "ols" }
    );
    if cli.estimates {
        let (theta, se) = if logistic {
            fit(Logistic, &data, which)
        } else {
            fit(Ols, &data, which)
        };
        println!("theta {theta:?}\nse {se:?}");
    }
}
