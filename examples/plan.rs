//! Planning on the politeness corpus: from a 2% pilot, how many human labels the hedge
//! effect needs for a 95% interval of ±0.05, with and without the sources, and the
//! cheapest mix of labels and model-made rows.
//!
//! ```text
//! cargo run --release --example plan --features sim [-- --seed 1] [--half-width 0.05] [--out DIR]
//! ```
//!
//! Prints the tables and writes `DIR/plan.svg` / `.png` (default `target/plan`): the
//! predicted half-width against the number of labels, one line per estimator, the
//! target as a horizontal line.
//!
//! The pilot labels 2% of the 6,603 Stack Exchange requests at random; the sources are
//! those of `examples/politeness` (the naive-Bayes model, one crowd worker, the stand-in
//! synthetic text). Costs in the cost table: a human label 1, a model-made row 0.01.
//! Assumptions: labeling at random, sources produced the same way at scale, the
//! asymptotic variance (see `docs/guide.md`, "Planning"). That last one matters at
//! pilot size: with three sources at n = 132 the predicted variance of GMM is 0.010,
//! while `examples/politeness` measures an MSE of 0.017 for the default estimator at
//! that size (its weights are estimated from the same 132 rows). Read the table as what
//! the sources can give once the labels are enough to estimate their weights.

#[path = "politeness/pipeline.rs"]
mod pipeline;
#[path = "../cli/src/plot.rs"]
#[allow(dead_code)]
mod plot;

use std::process::ExitCode;

use pipeline::{data_dir, read_corpus, Study, Task};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use synthgmm::models::Ols;
use synthgmm::{Planned, TwoStepGmm};

/// Planning from a 2% pilot of the politeness study.
#[derive(clap::Parser)]
struct Cli {
    /// Seed of the pilot's labeled subset.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Target half-width of the 95% interval for `hedge`.
    #[arg(long, default_value_t = 0.05)]
    half_width: f64,
    /// Directory for plan.svg and plan.png.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/target/plan"))]
    out: std::path::PathBuf,
}

fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let Cli {
        seed,
        half_width,
        out,
    } = clap::Parser::parse();
    let se = read_corpus(&data_dir().join("stack-exchange.csv.gz"))?;
    let wiki = read_corpus(&data_dir().join("wikipedia.csv.gz"))?;
    let study = Study::build(Task::Hedge, &se, &wiki, None, false);
    let t = study.n_rows();
    let n = (0.02 * t as f64).round() as usize;
    let mut labeled = vec![false; t];
    for i in sample(&mut ChaCha8Rng::seed_from_u64(seed), t, n) {
        labeled[i] = true;
    }
    let pilot = study.with_labels(&labeled)?;
    let hedge = 1;
    println!("Pilot: {n} labeled of {t} requests (seed {seed}); coefficient `hedge`.\n");

    let mut plans = vec![("all sources", TwoStepGmm::new(Ols).plan(&pilot)?)];
    for only in ["model", "annotator"] {
        plans.push((
            only,
            TwoStepGmm::new(Ols).plan(&pilot.select_sources(&[only])?)?,
        ));
    }
    println!("Predicted 95% half-width for `hedge` by labeled rows (T = {t}):");
    print!("{:<24}", "estimator");
    let grid = [n, 2 * n, 500, 1000, 2000, t];
    for g in grid {
        print!("{:>9}", format!("n={g}"));
    }
    println!();
    let z = synthgmm::normal_critical_value(0.05)?;
    let mut rows: Vec<(String, Planned, &synthgmm::Plan)> =
        vec![("real-only".into(), Planned::RealOnly, &plans[0].1)];
    for (name, plan) in &plans {
        rows.push((format!("GMM ({name})"), Planned::Gmm, plan));
    }
    rows.push((
        "PPI++ (annotator)".into(),
        Planned::PpiPlusPlus(0),
        &plans[2].1,
    ));
    for (name, planned, plan) in &rows {
        print!("{name:<24}");
        for g in grid {
            print!("{:>9.4}", z * plan.se(*planned, g, t)?[hedge]);
        }
        println!();
    }

    draw_curve(&rows, (n, t), half_width, &out)?;
    println!("\nLabels for ±{half_width} with T = {t} rows:");
    for (name, planned, plan) in &rows {
        let need = plan.labels_for(*planned, hedge, half_width, 0.05, t)?;
        let text = need.map_or("not reachable with these rows".to_string(), |v| {
            v.to_string()
        });
        let worth = plan.effective_labels(*planned, n, t)?[hedge];
        println!("  {name:<24} {text:>8}   (the pilot is worth {worth:.0} labels)");
    }

    println!("\nCheapest design for ±{half_width} (a label costs 1, a model-made row 0.01):");
    for (name, planned, plan) in rows.iter().skip(1) {
        let d = plan.cheapest(*planned, hedge, half_width, 0.05, 1.0, 0.01)?;
        println!(
            "  {name:<24} n′ = {:>7.0}, T′ = {:>9.0}, cost {:>8.0}",
            d.labeled.ceil(),
            d.rows.ceil(),
            d.cost
        );
    }
    Ok(())
}

/// Each estimator's predicted half-width from the pilot's n labels to every row,
/// evenly on a log scale, drawn to `out`/plan.svg and plan.png.
fn draw_curve(
    rows: &[(String, Planned, &synthgmm::Plan)],
    (n, t): (usize, usize),
    half_width: f64,
    out: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let hedge = 1;
    let z = synthgmm::normal_critical_value(0.05)?;
    let curve =
        (0..=10).map(|i| (n as f64 * (t as f64 / n as f64).powf(i as f64 / 10.0)).round() as usize);
    let mut figure = Vec::new();
    for (name, planned, plan) in rows {
        let pts: Vec<(f64, f64)> = curve
            .clone()
            .map(|g| Ok((g as f64, z * plan.se(*planned, g, t)?[hedge])))
            .collect::<Result<_, synthgmm::Error>>()?;
        figure.push((name.clone(), pts));
    }
    std::fs::create_dir_all(out)?;
    plot::lines(
        &figure,
        &format!(
            "Predicted 95% half-width, `hedge` (pilot n = {n}, T = {t}; target ±{half_width})"
        ),
        "human labels n′",
        Some(half_width),
        &out.join("plan"),
    )
    .map_err(|e| e.to_string())?;
    println!("\nwrote plan.svg and plan.png in {}", out.display());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
