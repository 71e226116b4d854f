//! The seed paper's third task: affirmative language and media stance on climate change,
//! on the Global Warming Stance Dataset (GWSD; Luo, Card and Jurafsky, Findings of
//! EMNLP 2020).
//!
//! ```text
//! git clone https://github.com/yiweiluo/GWStance
//! cargo run --release --example climate_stance --features sim -- --gwstance GWStance \
//!     [--model ols|logistic] [--reps 500] [--quick] [--synthetic FILE.csv] [--out DIR]
//! ```
//!
//! The dataset's repository states no licence, so the crate does not ship it: the
//! example reads `GWSD.tsv` and the affirmative-language lexicon
//! (`4_analyses/lexicons/AFFIRM_WORDS.txt`) from a clone of it.
//!
//! Outcome: whether a news sentence agrees that climate change is a serious concern (the
//! dataset's consensus of eight crowd workers). Covariate: whether it uses affirmative
//! language (the dataset's own lexicon: "experts", "scientists", "overwhelming", …), with
//! an intercept and log length. Sources on every sentence:
//! - `model`: naive Bayes trained on the dataset's 200 held-out sentences (weak);
//! - `annotator`: the first crowd worker's vote instead of eight (strong);
//! - `synthetic`: a sentence generated from each real one by a word-bigram model of the
//!   held-out sentences (a stand-in, **not an LLM**), read by the same model;
//!   `--synthetic FILE.csv` (columns `guid`, `sentence`) reads your own LLM outputs.
//!
//! The 1,850 other sentences are the population: θ* is their full-data fit; for each
//! labeling rate random labeled subsets are drawn and every estimator is judged
//! against θ*.

#[path = "../politeness/pipeline.rs"]
mod pipeline;
#[path = "../../cli/src/plot.rs"]
mod plot;
mod study;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};

use pipeline::{describe_sources, estimators, read_generated_texts, LabelingDesign};
use study::{read_gwsd, read_lexicon, Study};
use synthgmm::sim::{GridPoint, MonteCarlo};

/// The climate-stance study: every estimator over labeling rates on GWSD.
#[derive(Parser)]
struct Cli {
    /// A clone of the GWStance repository (holds GWSD.tsv and the lexicons).
    #[arg(long, value_name = "DIR")]
    gwstance: PathBuf,
    /// Least squares (a linear probability model) or logistic regression.
    #[arg(long, value_enum, default_value = "ols")]
    model: ModelName,
    /// Random labeled subsets per labeling rate.
    #[arg(long, default_value_t = 500)]
    reps: usize,
    /// Your own LLM outputs (columns `guid`, `sentence`: a sentence generated from each
    /// study sentence) instead of the bigram stand-in.
    #[arg(long, value_name = "FILE.csv")]
    synthetic: Option<PathBuf>,
    /// A quick run: 20 replications at 5% and 20%.
    #[arg(long)]
    quick: bool,
    /// Directory for climate_stance_<model>.csv, .svg and .png.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/target/climate_stance"))]
    out: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelName {
    Ols,
    Logistic,
}

const COEFFICIENT: &str = "affirm";

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let started = std::time::Instant::now();
    let sentences = read_gwsd(&cli.gwstance.join("GWSD.tsv"))?;
    let lexicon = read_lexicon(&cli.gwstance.join("4_analyses/lexicons/AFFIRM_WORDS.txt"))?;
    let binary = matches!(cli.model, ModelName::Logistic);
    let texts = match &cli.synthetic {
        Some(path) => Some(read_generated_texts(
            path,
            Study::rows(&sentences).map(|s| s.id.as_str()),
            ["guid", "sentence"],
        )?),
        None => None,
    };
    let study = Arc::new(Study::build(
        &sentences,
        &lexicon,
        texts.as_deref(),
        binary,
    )?);
    let theta_star = study.full_data_theta()?;
    let model = if binary { "logistic" } else { "ols" };
    describe(&study, &theta_star, cli.synthetic.as_deref());
    let (reps, rates) = if cli.quick {
        (20, vec![0.05, 0.2])
    } else {
        (cli.reps, vec![0.01, 0.02, 0.05, 0.1, 0.2])
    };
    let grid: Vec<GridPoint> = rates
        .iter()
        .map(|&rate| {
            let design = LabelingDesign {
                study: Arc::clone(&study),
                rate,
                theta_star: theta_star.clone(),
            };
            GridPoint::new("labeling rate", rate, design)
        })
        .collect();
    let report = MonteCarlo::new(reps)
        .seed(2025)
        .run(&grid, &estimators(binary))?;
    println!("{reps} random labeled subsets per rate; coefficient `{COEFFICIENT}` ({model}):\n");
    println!("{}", report.table(COEFFICIENT));
    std::fs::create_dir_all(&cli.out)?;
    let stem = cli.out.join(format!("climate_stance_{model}"));
    report.write_csv(std::fs::File::create(stem.with_extension("csv"))?)?;
    let title =
        format!("Climate stance (GWSD), affirmative language, {model}, {reps} subsets per rate");
    plot::figure(&report, COEFFICIENT, &title, &stem).map_err(|e| e.to_string())?;
    println!(
        "wrote {}.csv, .svg and .png ({:.1} s)",
        stem.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The population, its sources' agreement with the consensus, and θ*.
fn describe(study: &Study, theta_star: &ndarray::Array1<f64>, synthetic: Option<&std::path::Path>) {
    println!(
        "Global Warming Stance Dataset: T = {} sentences ({:.1}% agree, {:.1}% use affirmative language)",
        study.n_rows(),
        100.0 * study.y.mean().unwrap_or(f64::NAN),
        100.0 * study.x.column(1).mean().unwrap_or(f64::NAN),
    );
    match synthetic {
        None => println!("Synthetic source: word-bigram STAND-IN generator (not an LLM); pass --synthetic FILE.csv for real LLM outputs."),
        Some(p) => println!("Synthetic source: generated sentences from {}", p.display()),
    }
    describe_sources(
        &study.y,
        &study.sources,
        &study::COVARIATE_NAMES,
        theta_star,
    );
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
