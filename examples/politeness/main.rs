//! The seed paper's politeness tasks on the Stanford Politeness Corpus.
//!
//! ```text
//! cargo run --release --example politeness --features sim [-- --task hedge|we] [--model ols|logistic]
//!     [--reps 200] [--quick] [--synthetic FILE.csv] [--out DIR] [--export FILE.csv]
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
//! `--export FILE.csv` writes the population (outcome, covariates and every source's,
//! one row per request) and stops: `docs/r.md` fits the same study from R.

#[path = "pipeline.rs"]
mod pipeline;
#[path = "../../cli/src/plot.rs"]
mod plot;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};

use pipeline::{
    data_dir, describe_sources, estimators, read_corpus, read_synthetic_csv, LabelingDesign, Study,
    Task,
};
use synthgmm::sim::{GridPoint, MonteCarlo};

/// The politeness study: every estimator over labeling rates on the Stanford
/// Politeness Corpus.
#[derive(Parser)]
struct Cli {
    /// The covariate of interest: hedging or first-person plural.
    #[arg(long, value_enum, default_value = "hedge")]
    task: TaskName,
    /// Least squares on the consensus rating, or logistic on "polite" (rating > 0).
    #[arg(long, value_enum, default_value = "ols")]
    model: ModelName,
    /// Random labeled subsets per labeling rate.
    #[arg(long, default_value_t = 200)]
    reps: usize,
    /// A quick run: 20 replications at 5% and 20%.
    #[arg(long)]
    quick: bool,
    /// Your own LLM outputs (columns `Id`, `Request`) instead of the bigram stand-in.
    #[arg(long, value_name = "FILE.csv")]
    synthetic: Option<PathBuf>,
    /// Directory for politeness.csv, .svg and .png.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/target/politeness"))]
    out: PathBuf,
    /// Write the study population to this CSV file and stop.
    #[arg(long, value_name = "FILE.csv")]
    export: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum TaskName {
    Hedge,
    We,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelName {
    Ols,
    Logistic,
}

struct Args {
    task: Task,
    binary: bool,
    reps: usize,
    rates: Vec<f64>,
    synthetic: Option<PathBuf>,
    out: PathBuf,
    export: Option<PathBuf>,
}

fn parse() -> Result<Args, String> {
    let cli = Cli::parse();
    let (reps, rates) = if cli.quick {
        (20, vec![0.05, 0.2])
    } else {
        (cli.reps, vec![0.01, 0.02, 0.05, 0.1, 0.2])
    };
    Ok(Args {
        task: match cli.task {
            TaskName::Hedge => Task::Hedge,
            TaskName::We => Task::FirstPlural,
        },
        binary: matches!(cli.model, ModelName::Logistic),
        reps,
        rates,
        synthetic: cli.synthetic,
        out: cli.out,
        export: cli.export,
    })
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
    if let Some(path) = &a.export {
        study.write_csv(std::fs::File::create(path)?)?;
        println!(
            "wrote the study population ({} rows) to {}",
            study.n_rows(),
            path.display()
        );
        return Ok(());
    }
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
    let names = pipeline::covariate_names(a.task);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    describe_sources(&study.y, &study.sources, &names, &theta_star);

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
