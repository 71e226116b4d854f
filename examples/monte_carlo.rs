//! Monte-Carlo study: every estimator over a grid of labeling rates.
//!
//! ```text
//! cargo run --release --example monte_carlo -- --reps 500 [--model ols|logistic]
//!     [--rho 0.9] [--rows 3000] [--rates 0.01,0.02,0.05,0.1,0.2] [--seed 0] [--out DIR]
//!     [--heteroskedasticity H]
//! ```
//!
//! Prints the table for the slope `x1`, writes the tidy CSV `DIR/monte_carlo.csv` and the
//! figure `DIR/monte_carlo.svg` / `.png` (MSE, coverage and interval width against the
//! labeling rate; default DIR `target/monte_carlo`).

#[path = "support/plot.rs"]
mod plot;

use std::path::PathBuf;
use std::process::ExitCode;

use synthgmm::baselines::{Dsl, NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::sim::{GridPoint, MonteCarlo, SimConfig, SimModel};
use synthgmm::{Covariance, CrossWeights, Estimator, MomentModel, OnSources, TwoStepGmm};

struct Args {
    reps: usize,
    model: SimModel,
    rho: f64,
    rows: usize,
    rates: Vec<f64>,
    seed: u64,
    heteroskedasticity: f64,
    out: PathBuf,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        reps: 500,
        model: SimModel::Ols,
        rho: 0.9,
        rows: 3000,
        rates: vec![0.01, 0.02, 0.05, 0.1, 0.2],
        seed: 0,
        heteroskedasticity: 0.0,
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/monte_carlo")),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| {
            v.parse::<f64>()
                .map_err(|_| format!("`{v}` is not a number"))
        };
        match flag.as_str() {
            "--reps" => a.reps = num(value()?)? as usize,
            "--model" => {
                a.model = match value()?.as_str() {
                    "ols" => SimModel::Ols,
                    "logistic" => SimModel::Logistic,
                    other => return Err(format!("--model must be ols or logistic, got `{other}`")),
                }
            }
            "--rho" => a.rho = num(value()?)?,
            "--rows" => a.rows = num(value()?)? as usize,
            "--rates" => {
                a.rates = value()?
                    .split(',')
                    .map(|v| num(v.to_string()))
                    .collect::<Result<_, _>>()?
            }
            "--seed" => a.seed = num(value()?)? as u64,
            "--heteroskedasticity" => a.heteroskedasticity = num(value()?)?,
            "--out" => a.out = PathBuf::from(value()?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(a)
}

fn estimators<M: MomentModel + Clone + Send + Sync + 'static>(
    m: M,
) -> Vec<Box<dyn Estimator + Send + Sync>> {
    vec![
        Box::new(RealOnly::new(m.clone())),
        Box::new(NaivePooled::new(m.clone(), ["proxy", "synth"])),
        Box::new(PpiPlusPlus::new(m.clone(), "proxy")),
        Box::new(PpiSynth::new(m.clone(), "proxy", "synth")),
        Box::new(Dsl::new(m.clone(), "proxy")),
        Box::new(RePpi::new(m.clone(), ["proxy"])),
        Box::new(OnSources::new(
            "GMM-Proxy",
            TwoStepGmm::new(m.clone()),
            ["proxy"],
        )),
        Box::new(OnSources::new(
            "GMM-Synth",
            TwoStepGmm::new(m.clone()),
            ["proxy", "synth"],
        )),
        Box::new(OnSources::new(
            "GMM-Synth (paper)",
            TwoStepGmm::new(m.clone()).cross_weights(CrossWeights::Unrestricted),
            ["proxy", "synth"],
        )),
        Box::new(OnSources::new(
            "GMM-Synth (paper, textbook se)",
            TwoStepGmm::new(m)
                .cross_weights(CrossWeights::Unrestricted)
                .covariance(Covariance::Reestimated),
            ["proxy", "synth"],
        )),
    ]
}

fn run(a: Args) -> Result<(), Box<dyn std::error::Error>> {
    let grid: Vec<GridPoint> = a
        .rates
        .iter()
        .map(|&r| {
            GridPoint::new(
                "labeling rate",
                r,
                SimConfig::new(a.model)
                    .rows(a.rows)
                    .rho(a.rho)
                    .heteroskedasticity(a.heteroskedasticity)
                    .labeling_rate(r),
            )
        })
        .collect();
    let est = match a.model {
        SimModel::Logistic => estimators(Logistic),
        _ => estimators(Ols),
    };
    let start = std::time::Instant::now();
    let report = MonteCarlo::new(a.reps).seed(a.seed).run(&grid, &est)?;
    println!(
        "{:?}, T = {}, ρ = {}, {} replications per labeling rate ({:.1} s); coefficient x1:\n",
        a.model,
        a.rows,
        a.rho,
        a.reps,
        start.elapsed().as_secs_f64()
    );
    println!("{}", report.table("x1"));
    std::fs::create_dir_all(&a.out)?;
    let csv = a.out.join("monte_carlo.csv");
    report.write_csv(std::fs::File::create(&csv)?)?;
    let title = format!(
        "{:?}, T = {}, residual link ρ = {}, {} replications: coefficient x1",
        a.model, a.rows, a.rho, a.reps
    );
    plot::figure(&report, "x1", &title, &a.out.join("monte_carlo"))?;
    println!(
        "wrote {}, monte_carlo.svg and monte_carlo.png in {}",
        csv.display(),
        a.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse().map_err(Into::into).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
