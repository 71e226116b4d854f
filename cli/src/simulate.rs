//! `synthgmm simulate`: every estimator over a grid of labeling rates, on simulated data
//! with a known answer.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use synthgmm::baselines::{Dsl, NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::sim::{GridPoint, MonteCarlo, SimConfig, SimModel};
use synthgmm::{Covariance, CrossWeights, Estimator, MomentModel, OnSources, TwoStepGmm};

use crate::choice::choice;
use crate::Failure;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Replications per labeling rate.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(2..))]
    pub reps: u64,
    /// The outcome model.
    #[arg(long, value_parser = choice::<SimModel>(), default_value = "ols")]
    pub model: SimModel,
    /// Correlation of the real and auxiliary residuals.
    #[arg(long, default_value_t = 0.9)]
    pub rho: f64,
    /// Rows T per data set.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(20..))]
    pub rows: u64,
    /// Labeling rates n/T (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.02,0.05,0.1,0.2")]
    pub rates: Vec<f64>,
    /// Seed of the first replication.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Heteroskedasticity of the real residuals (0: none).
    #[arg(long, default_value_t = 0.0)]
    pub heteroskedasticity: f64,
    /// Directory for monte_carlo.csv, .svg and .png.
    #[arg(long, default_value = "monte_carlo")]
    pub out: PathBuf,
    /// Coefficient the printed table and the figure show.
    #[arg(long, default_value = "x1")]
    pub coefficient: String,
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
            TwoStepGmm::new(m)
                .cross_weights(CrossWeights::Unrestricted)
                .covariance(Covariance::Windmeijer),
            ["proxy", "synth"],
        )),
    ]
}

pub fn run(a: &SimulateArgs) -> Result<String, Failure> {
    let model = a.model;
    for &rate in &a.rates {
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(Failure::Data(format!(
                "--rates: {rate} is not a labeling rate in (0, 1]"
            )));
        }
    }
    let grid: Vec<GridPoint> = a
        .rates
        .iter()
        .map(|&r| {
            GridPoint::new(
                "labeling rate",
                r,
                SimConfig::new(model)
                    .rows(a.rows as usize)
                    .rho(a.rho)
                    .heteroskedasticity(a.heteroskedasticity)
                    .labeling_rate(r),
            )
        })
        .collect();
    let est = match a.model {
        SimModel::Logistic => estimators(Logistic),
        SimModel::Ols => estimators(Ols),
        other => {
            return Err(Failure::Data(format!(
                "--model: no estimators for the simulation model {other:?}"
            )))
        }
    };
    let start = std::time::Instant::now();
    // A progress bar on a terminal only: none in pipes and logs.
    let report = MonteCarlo::new(a.reps as usize)
        .seed(a.seed)
        .progress(std::io::stderr().is_terminal())
        .run(&grid, &est)
        .map_err(|e| Failure::Data(e.to_string()))?;
    let mut out = format!(
        "{:?}, T = {}, ρ = {}, {} replications per labeling rate ({:.1} s); coefficient {}:\n\n{}\n",
        model,
        a.rows,
        a.rho,
        a.reps,
        start.elapsed().as_secs_f64(),
        a.coefficient,
        report.table(&a.coefficient)
    );
    let io =
        |e: std::io::Error| Failure::Data(format!("cannot write in `{}`: {e}", a.out.display()));
    std::fs::create_dir_all(&a.out).map_err(io)?;
    // One serialized row per estimator × rate × coefficient; csv quotes as needed.
    let csv = a.out.join("monte_carlo.csv");
    let mut writer = csv::Writer::from_path(&csv)
        .map_err(|e| Failure::Data(format!("cannot write `{}`: {e}", csv.display())))?;
    for row in &report.rows {
        writer
            .serialize(row)
            .map_err(|e| Failure::Data(format!("cannot write `{}`: {e}", csv.display())))?;
    }
    writer.flush().map_err(io)?;
    let title = format!(
        "{:?}, T = {}, residual link ρ = {}, {} replications: coefficient {}",
        model, a.rows, a.rho, a.reps, a.coefficient
    );
    crate::plot::figure(&report, &a.coefficient, &title, &a.out.join("monte_carlo"))
        .map_err(|e| Failure::Data(format!("cannot draw the figure: {e}")))?;
    out.push_str(&format!(
        "wrote {}, monte_carlo.svg and monte_carlo.png in {}\n",
        csv.display(),
        a.out.display()
    ));
    Ok(out)
}
