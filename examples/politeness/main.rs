//! The seed paper's politeness tasks on the Stanford Politeness Corpus.
//!
//! ```text
//! cargo run --release --example politeness [-- --task hedge|we] [--model ols|logistic]
//!     [--reps 200] [--quick] [--synthetic FILE.csv] [--out DIR]
//! ```
//!
//! Outcome: perceived politeness of a Stack Exchange request (the five-worker consensus;
//! with `--model logistic`, whether it is above 0, i.e. polite).
//! Covariate: whether it hedges (task 1) or uses first-person plural (task 2), by
//! lexicon, with an intercept and log length. Sources on every request:
//! - `model`: a naive-Bayes bag-of-words model trained on the *Wikipedia* requests,
//!   reading the Stack Exchange text (weak, domain-shifted: an automatic annotator);
//! - `annotator`: one crowd worker's rating (`Score1`) instead of five (strong);
//! - `synthetic`: a new request generated from each real one, read by the same model.
//!   Without `--synthetic` the generator is a word-bigram stand-in, **not an LLM**;
//!   `--synthetic FILE.csv` reads your own LLM outputs (columns `Id`, `Request`).
//!
//! The full corpus is the population: θ* is its full-data fit. For each labeling rate,
//! random labeled subsets are drawn and every estimator is judged against θ*.

#[path = "pipeline.rs"]
mod pipeline;
#[path = "../support/plot.rs"]
mod plot;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use pipeline::{
    data_dir, estimators, read_corpus, read_synthetic_csv, LabelingDesign, Study, Task,
};
use synthgmm::sim::{GridPoint, MonteCarlo};

struct Args {
    task: Task,
    binary: bool,
    reps: usize,
    rates: Vec<f64>,
    synthetic: Option<PathBuf>,
    out: PathBuf,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        task: Task::Hedge,
        binary: false,
        reps: 200,
        rates: vec![0.01, 0.02, 0.05, 0.1, 0.2],
        synthetic: None,
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/politeness")),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--task" => {
                a.task = match value()?.as_str() {
                    "hedge" => Task::Hedge,
                    "we" => Task::FirstPlural,
                    other => return Err(format!("--task must be hedge or we, got `{other}`")),
                }
            }
            "--model" => {
                a.binary = match value()?.as_str() {
                    "ols" => false,
                    "logistic" => true,
                    other => return Err(format!("--model must be ols or logistic, got `{other}`")),
                }
            }
            "--reps" => {
                a.reps = value()?
                    .parse()
                    .map_err(|_| "--reps expects a number".to_string())?
            }
            "--quick" => {
                a.reps = 20;
                a.rates = vec![0.05, 0.2];
            }
            "--synthetic" => a.synthetic = Some(PathBuf::from(value()?)),
            "--out" => a.out = PathBuf::from(value()?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(a)
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn run(a: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let started = std::time::Instant::now();
    let se = read_corpus(&data_dir().join("stack-exchange.csv.gz"))?;
    let wiki = read_corpus(&data_dir().join("wikipedia.csv.gz"))?;
    let texts = match &a.synthetic {
        Some(path) => Some(read_synthetic_csv(path, &se)?),
        None => None,
    };
    let study = Arc::new(Study::build(a.task, &se, &wiki, texts.as_deref(), a.binary));
    let theta_star = study.full_data_theta()?;
    println!(
        "Stanford Politeness Corpus, Stack Exchange: T = {} requests; task: {}",
        study.n_rows(),
        a.task.name()
    );
    match &a.synthetic {
        None => println!("Synthetic source: word-bigram STAND-IN generator (not an LLM); pass --synthetic FILE.csv for real LLM outputs."),
        Some(p) => println!("Synthetic source: generated texts from {}", p.display()),
    }
    let y = study.y.to_vec();
    for (name, _, sy) in &study.sources {
        println!(
            "  corr(consensus, {name:<9}) = {:.3}",
            correlation(&y, &sy.to_vec())
        );
    }
    println!("θ* (full data): {}\n", theta_star);

    let grid: Vec<GridPoint> = a
        .rates
        .iter()
        .map(|&rate| {
            GridPoint::new(
                "labeling rate",
                rate,
                LabelingDesign {
                    study: Arc::clone(&study),
                    rate,
                    theta_star: theta_star.clone(),
                },
            )
        })
        .collect();
    let report = MonteCarlo::new(a.reps)
        .seed(2025)
        .run(&grid, &estimators(a.binary))?;
    println!(
        "{} random labeled subsets per rate; coefficient `{}`:\n",
        a.reps,
        a.task.name()
    );
    println!("{}", report.table(a.task.name()));
    std::fs::create_dir_all(&a.out)?;
    report.write_csv(std::fs::File::create(a.out.join("politeness.csv"))?)?;
    let title = format!(
        "Politeness (Stack Exchange), {} effect, {} subsets per rate",
        a.task.name(),
        a.reps
    );
    plot::figure(&report, a.task.name(), &title, &a.out.join("politeness"))
        .map_err(|e| e.to_string())?;
    println!(
        "wrote politeness.csv, politeness.svg and politeness.png in {} ({:.1} s)",
        a.out.display(),
        started.elapsed().as_secs_f64()
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
