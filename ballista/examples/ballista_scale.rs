//! Times a fit on Ballista's standalone mode (an in-process scheduler and executor) for
//! `docs/scale.md`, on the Parquet files of the core crate's `out_of_core` example:
//!
//! ```text
//! cargo run --release -p synthgmm-ballista --example ballista_scale -- DIR [--model ols|logistic]
//! ```

use std::time::Instant;

use datafusion::prelude::ParquetReadOptions;
use synthgmm::models::{Logistic, Ols};
use synthgmm::TwoStepGmm;
use synthgmm_datafusion::{open, Columns};

fn names(prefix: &str) -> Vec<String> {
    (0..10).map(|j| format!("{prefix}{j}")).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().expect("a directory of Parquet files").clone();
    let logistic = args
        .windows(2)
        .any(|w| w[0] == "--model" && w[1] == "logistic");
    let suffix = if logistic { "01" } else { "" };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let ctx = runtime
        .block_on(synthgmm_ballista::standalone())
        .expect("a standalone cluster");
    runtime
        .block_on(ctx.register_parquet("rows", &dir, ParquetReadOptions::default()))
        .expect("readable files");
    let columns = Columns::new("S", &format!("y{suffix}"), names("x"))
        .source("proxy", &format!("proxy{suffix}"), names("x"))
        .source("synth", &format!("synth{suffix}"), names("sx"));
    let start = Instant::now();
    let (n_rows, seconds, theta) = if logistic {
        let data = open(&ctx, "rows", &columns, Logistic).expect("opened");
        let opened = Instant::now();
        let fit = TwoStepGmm::new(Logistic).fit(&data).expect("a fit");
        (
            data.n_rows(),
            (opened - start, opened.elapsed()),
            fit.theta()[1],
        )
    } else {
        let data = open(&ctx, "rows", &columns, Ols).expect("opened");
        let opened = Instant::now();
        let fit = TwoStepGmm::new(Ols).fit(&data).expect("a fit");
        (
            data.n_rows(),
            (opened - start, opened.elapsed()),
            fit.theta()[1],
        )
    };
    println!(
        "T = {n_rows}: opened in {:.2} s, fitted in {:.2} s; θ̂₁ = {theta:.6}",
        seconds.0.as_secs_f64(),
        seconds.1.as_secs_f64()
    );
}
