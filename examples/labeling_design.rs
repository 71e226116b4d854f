//! Which politeness requests to send to the annotators: uniform, stratified and active
//! labeling designs on the Stanford Politeness Corpus (the `politeness` example's
//! hedging task, least squares; `docs/design.md` quotes this output).
//!
//! ```text
//! cargo run --release --example labeling_design --features sim [-- --reps 500 --pilot 100 --budget 200]
//! ```
//!
//! 1. A worked example: a pilot of 100 requests labeled at random, a budget of 200
//!    more; for each design the predicted half-width of the hedging coefficient, the
//!    labels uniform labeling would need for the same, and the first rows to label.
//! 2. The designs judged on the corpus, whose every request has its consensus rating
//!    (the population; θ* its full-data fit): `--reps` pilots, each followed by each
//!    design's draw and the default estimator on both phases' labels with their
//!    probabilities. Coverage of θ*, standard deviation, and the labels saved.

#[path = "politeness/pipeline.rs"]
mod pipeline;
#[path = "../cli/src/plot.rs"]
#[allow(dead_code)]
mod plot;

use clap::Parser;
use ndarray::Array1;
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use synthgmm::labeling::{Allocation, Labeling, LabelingPlan, Target};
use synthgmm::models::Ols;
use synthgmm::{normal_critical_value, DataSources, Estimator, TwoStepGmm};

use pipeline::{data_dir, read_corpus, Study, Task};

#[derive(Parser)]
struct Cli {
    /// Pilots (each followed by every design) in the second part.
    #[arg(long, default_value_t = 500)]
    reps: usize,
    /// Requests labeled at random first.
    #[arg(long, default_value_t = 100)]
    pilot: usize,
    /// New labels each design spends.
    #[arg(long, default_value_t = 200.0)]
    budget: f64,
    /// Also draw each design's predicted half-width against the new labels (from the
    /// seed-1 pilot): FIGURE.svg and FIGURE.png.
    #[arg(long, value_name = "FIGURE")]
    figure: Option<std::path::PathBuf>,
}

const DESIGNS: [Allocation; 3] = [
    Allocation::Uniform,
    Allocation::Stratified,
    Allocation::Active,
];
/// The hedging coefficient (intercept, hedge, log length).
const HEDGE: usize = 1;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let se = read_corpus(&data_dir().join("stack-exchange.csv.gz"))?;
    let wiki = read_corpus(&data_dir().join("wikipedia.csv.gz"))?;
    let study = Study::build(Task::Hedge, &se, &wiki, None, false);
    let theta_star = study.full_data_theta()?[HEDGE];
    println!(
        "Stanford Politeness Corpus, Stack Exchange: T = {} requests; hedging, least squares; θ* = {theta_star:.4}",
        study.n_rows()
    );
    worked_example(&study, &cli)?;
    if let Some(stem) = &cli.figure {
        figure(&study, &cli, stem)?;
    }
    judged(&study, &cli, theta_star)
}

/// Predicted half-width of the hedging coefficient against the new labels, per design.
fn figure(study: &Study, cli: &Cli, stem: &std::path::Path) -> Result<(), BoxError> {
    let z = normal_critical_value(0.05)?;
    let labeled = pilot(study.n_rows(), cli.pilot, 1);
    let budgets = [50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0];
    let mut series = Vec::new();
    for allocation in DESIGNS {
        let points = budgets
            .iter()
            .map(|&b| {
                Ok((
                    b,
                    z * design(study, &labeled, allocation, b)?.se().unwrap()[HEDGE],
                ))
            })
            .collect::<synthgmm::Result<Vec<_>>>()?;
        series.push((format!("{allocation:?}"), points));
    }
    plot::lines(
        &series,
        "Politeness, hedging: predicted 95% half-width after a pilot of 100",
        "new labels",
        None,
        stem,
    )
    .map_err(|e| e.to_string())?;
    println!("wrote {0}.svg and {0}.png", stem.display());
    Ok(())
}

/// The rows labeled at random first.
fn pilot(t: usize, n: usize, seed: u64) -> Vec<bool> {
    let mut labeled = vec![false; t];
    for i in sample(&mut ChaCha8Rng::seed_from_u64(seed), t, n) {
        labeled[i] = true;
    }
    labeled
}

/// The study with `labeled` rows labeled, and labeling probabilities if given.
fn data(
    study: &Study,
    labeled: &[bool],
    pi: Option<&Array1<f64>>,
) -> synthgmm::Result<DataSources> {
    let y: Array1<f64> = study
        .y
        .iter()
        .zip(labeled)
        .map(|(&v, &l)| if l { v } else { f64::NAN })
        .collect();
    let mut builder = DataSources::builder(labeled).real(&study.x, &y);
    for (name, x, sy) in &study.sources {
        builder = builder.source(name.clone(), x, sy);
    }
    if let Some(pi) = pi {
        builder = builder.labeling_probabilities(pi);
    }
    builder.build()
}

fn design(
    study: &Study,
    labeled: &[bool],
    allocation: Allocation,
    budget: f64,
) -> synthgmm::Result<LabelingPlan> {
    Labeling::new(allocation, budget)
        .target(Target::Coefficient(HEDGE))
        .plan(
            &TwoStepGmm::new(Ols),
            &data(study, labeled, None)?,
            study.x.view(),
        )
}

fn worked_example(study: &Study, cli: &Cli) -> Result<(), BoxError> {
    let z = normal_critical_value(0.05)?;
    let labeled = pilot(study.n_rows(), cli.pilot, 1);
    println!(
        "\n1. A pilot of {} requests at random (seed 1), a budget of {} more:\n{:<12}{:>12}{:>12}{:>26}",
        cli.pilot, cli.budget, "design", "±hedge", "uniform", "labels uniform needs"
    );
    for allocation in DESIGNS {
        let plan = design(study, &labeled, allocation, cli.budget)?;
        let (se, uniform) = (plan.se().unwrap()[HEDGE], plan.uniform_se().unwrap()[HEDGE]);
        let uniform_plan = design(study, &labeled, Allocation::Uniform, cli.budget)?;
        let need = uniform_plan.labels_for(HEDGE, z * se, 0.05)?;
        let need = need.map_or("more than every row".into(), |n| n.to_string());
        println!(
            "{:<12}{:>12.4}{:>12.4}{need:>26}",
            format!("{allocation:?}"),
            z * se,
            z * uniform
        );
        if allocation == Allocation::Active {
            let rows = plan.draw(1);
            let shown: Vec<String> = rows
                .iter()
                .take(8)
                .map(|&t| format!("{t} (π¹ {:.3})", plan.phase_two()[t]))
                .collect();
            println!("  the first rows to label (seed 1): {}", shown.join(", "));
        }
    }
    Ok(())
}

/// One pilot and one design: the hedging estimate, its standard error and the
/// design's predicted standard error.
fn replicate(
    study: &Study,
    cli: &Cli,
    allocation: Allocation,
    seed: u64,
) -> synthgmm::Result<[f64; 3]> {
    let mut labeled = pilot(study.n_rows(), cli.pilot, 10_000 + seed);
    let plan = design(study, &labeled, allocation, cli.budget)?;
    for t in plan.draw(seed) {
        labeled[t] = true;
    }
    let pi = plan.probabilities().to_owned();
    let fit = TwoStepGmm::new(Ols).estimate(&data(study, &labeled, Some(&pi))?)?;
    Ok([
        fit.theta()[HEDGE],
        fit.se()[HEDGE],
        plan.se().unwrap()[HEDGE],
    ])
}

fn judged(study: &Study, cli: &Cli, theta_star: f64) -> Result<(), BoxError> {
    println!(
        "\n2. {} pilots of {} at random, each followed by each design's {} labels; the default estimator with the probabilities:\n{:<12}{:>10}{:>10}{:>10}{:>12}{:>12}{:>14}",
        cli.reps, cli.pilot, cli.budget, "design", "coverage", "sd", "mean se", "predicted", "bias/sd", "var / uniform"
    );
    let mut uniform_var = f64::NAN;
    for allocation in DESIGNS {
        let rows: Vec<[f64; 3]> = (0..cli.reps as u64)
            .into_par_iter()
            .map(|seed| replicate(study, cli, allocation, seed))
            .collect::<synthgmm::Result<_>>()?;
        let r = rows.len() as f64;
        let mean = |k: usize| rows.iter().map(|v| v[k]).sum::<f64>() / r;
        let estimate = mean(0);
        let var = rows.iter().map(|v| (v[0] - estimate).powi(2)).sum::<f64>() / (r - 1.0);
        let covered = rows
            .iter()
            .filter(|v| (v[0] - theta_star).abs() <= 1.959_964 * v[1])
            .count() as f64
            / r;
        if allocation == Allocation::Uniform {
            uniform_var = var;
        }
        println!(
            "{:<12}{covered:>10.3}{:>10.4}{:>10.4}{:>12.4}{:>12.3}{:>14.3}",
            format!("{allocation:?}"),
            var.sqrt(),
            mean(1),
            mean(2),
            (estimate - theta_star) / var.sqrt(),
            var / uniform_var
        );
    }
    println!(
        "(Monte-Carlo standard error of a coverage near 0.95: {:.4})",
        (0.95f64 * 0.05 / cli.reps as f64).sqrt()
    );
    Ok(())
}
