//! `synthgmm`: valid inference from a few human labels plus proxy and synthetic data,
//! from the command line.
//!
//! Subcommands: `fit` (a CSV or Parquet file), `simulate` (the Monte-Carlo harness),
//! `plan` (labels and rows to buy) and `design` (which rows to label). Exit status: 0 success, 2 usage or data error,
//! 1 estimation failure; errors are one line on stderr naming file, row and column.

mod choice;
mod data;
mod design;
mod fit;
mod outcomes;
mod plan;
mod plot;
mod simulate;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  synthgmm fit --data politeness.csv --model ols --labeled is_labeled \\
      --real consensus:one,hedge --source gpt=gpt_y:one,hedge
  synthgmm fit --data runs.parquet --model logistic --labeled S --real y:one,x \\
      --source proxy=yhat:one,x --estimator all --format csv
  synthgmm simulate --model ols --reps 200 --rates 0.01,0.05,0.2 --out results
  synthgmm plan --data pilot.csv --model ols --labeled S --real y:one,x \\
      --source proxy=yhat:one,x --coefficient x --half-width 0.05
  synthgmm design --data pilot.csv --model ols --labeled S --real y:one,x \
      --source proxy=yhat:one,x --budget 500 --design active --out labels_to_collect.csv";

/// Valid inference from a few human labels plus proxy and synthetic data (the GMM family
/// of Byun et al., NeurIPS 2025, with selected cross weights by default).
#[derive(Parser)]
#[command(name = "synthgmm", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit the estimator (and optionally the baselines) to a CSV or Parquet file.
    Fit(fit::FitArgs),
    /// Run the Monte-Carlo study over a grid of labeling rates; write a CSV and a figure.
    Simulate(simulate::SimulateArgs),
    /// Predict standard errors at other label and row counts from a pilot.
    Plan(plan::PlanArgs),
    /// Choose the rows to label: every row's labeling probability and a seeded draw.
    Design(design::DesignArgs),
}

/// Why a command failed, which sets the exit status.
#[derive(Debug)]
pub enum Failure {
    /// Unusable arguments or data (exit status 2).
    Data(String),
    /// The data were read but an estimator failed on them (exit status 1).
    Estimation(String),
    /// Some estimators ran and their output is printed, but one that was asked for
    /// failed (exit status 1): the output, then the reason.
    Partial { output: String, reason: String },
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Data(m) | Failure::Estimation(m) => m,
            Failure::Partial { reason, .. } => reason,
        }
    }

    /// The same failure, its message saying what it concerns (`outcome `b``).
    pub fn about(self, what: &str) -> Failure {
        match self {
            Failure::Data(m) => Failure::Data(format!("{what}: {m}")),
            Failure::Estimation(m) => Failure::Estimation(format!("{what}: {m}")),
            Failure::Partial { output, reason } => Failure::Partial {
                output,
                reason: format!("{what}: {reason}"),
            },
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Data(message)
    }
}

/// Keeps the Parquet and Arrow decoders' panics off stderr: the readers turn them into
/// one-line errors (a corrupt file), and a backtrace would only confuse. Every other
/// panic is reported as usual.
fn quiet_decoder_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_decoder = info.location().is_some_and(|l| {
            let file = l.file();
            file.contains("/parquet-") || file.contains("/arrow-")
        });
        if !in_decoder {
            report(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_decoder_panics();
    // clap exits by itself: 0 after --help / --version, 2 on a usage error.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fit(args) if !args.outcomes.is_empty() => outcomes::run(&args),
        Command::Fit(args) => fit::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Design(args) => design::run(&args),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            if let Failure::Partial { output, .. } = &failure {
                // The error line starts a line of its own.
                match output.ends_with('\n') {
                    true => print!("{output}"),
                    false => println!("{output}"),
                }
                let _ = std::io::Write::flush(&mut std::io::stdout());
            }
            let line = failure.message().lines().next().unwrap_or("unknown error");
            eprintln!("error: {line}");
            match failure {
                Failure::Data(_) => ExitCode::from(2),
                Failure::Estimation(_) | Failure::Partial { .. } => ExitCode::from(1),
            }
        }
    }
}
