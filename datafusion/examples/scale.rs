//! Times the DataFusion tiers for `docs/scale.md` on the Parquet files that the core
//! crate's `out_of_core` example writes:
//!
//! ```text
//! cargo run --release -p synthgmm-datafusion --example scale -- DIR [--model ols|logistic|poisson] [--sql]
//! ```
//!
//! The files are registered as one table (two target partitions); the GMM (default
//! settings) runs with each pass an aggregate query of the `synthgmm_pass` aggregate,
//! or with `--sql` as the plain SQL of `synthgmm::sql` run by DataFusion's SQL engine.
//! Logistic and Poisson regression read the binary outcomes (`y01`, `proxy01`,
//! `synth01`).

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use synthgmm::models::{Logistic, Ols, Poisson};
use synthgmm::sql::{SqlModel, SqlTable};
use synthgmm::{DataSources, Error, TwoStepGmm};
use synthgmm_datafusion::{open, Columns};

fn names(prefix: &str) -> Vec<String> {
    (0..10).map(|j| format!("{prefix}{j}")).collect()
}

/// A query result's rows as numbers, SQL NULL as NaN.
fn rows_of(batch: &RecordBatch) -> Vec<Vec<f64>> {
    let columns: Vec<Float64Array> = batch
        .columns()
        .iter()
        .map(|c| {
            let c = cast(c, &DataType::Float64).expect("numbers");
            c.as_any()
                .downcast_ref::<Float64Array>()
                .expect("f64")
                .clone()
        })
        .collect();
    (0..batch.num_rows())
        .map(|i| {
            columns
                .iter()
                .map(|c| if c.is_null(i) { f64::NAN } else { c.value(i) })
                .collect()
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().expect("a directory of Parquet files").clone();
    let model: SqlModel = args
        .windows(2)
        .find(|w| w[0] == "--model")
        .map_or("ols", |w| w[1].as_str())
        .parse()
        .expect("a model the SQL spells out");
    let sql = args.iter().any(|a| a == "--sql");
    let suffix = if model == SqlModel::Ols { "" } else { "01" };
    let (y, proxy, synth) = (
        format!("y{suffix}"),
        format!("proxy{suffix}"),
        format!("synth{suffix}"),
    );
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("a runtime"));
    runtime
        .block_on(ctx.register_parquet("rows", &dir, ParquetReadOptions::default()))
        .expect("readable files");
    let start = Instant::now();
    let data: DataSources = if sql {
        let table = SqlTable::new("rows", "S", &y, names("x"))
            .source("proxy", &proxy, names("x"))
            .source("synth", &synth, names("sx"));
        let run = move |query: &str| -> synthgmm::Result<Vec<Vec<f64>>> {
            let batches = runtime
                .block_on(async { ctx.sql(query).await?.collect().await })
                .map_err(|e| Error::Read {
                    path: "rows".into(),
                    reason: e.to_string(),
                })?;
            Ok(batches.iter().flat_map(rows_of).collect())
        };
        table.open(model, run).expect("opened")
    } else {
        let columns = Columns::new("S", &y, names("x"))
            .source("proxy", &proxy, names("x"))
            .source("synth", &synth, names("sx"));
        match model {
            SqlModel::Ols => open(&ctx, "rows", &columns, Ols),
            SqlModel::Logistic => open(&ctx, "rows", &columns, Logistic),
            _ => open(&ctx, "rows", &columns, Poisson),
        }
        .expect("opened")
    };
    let opened = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let fit = match model {
        SqlModel::Ols => TwoStepGmm::new(Ols).fit(&data),
        SqlModel::Logistic => TwoStepGmm::new(Logistic).fit(&data),
        _ => TwoStepGmm::new(Poisson).fit(&data),
    }
    .expect("a fit");
    println!(
        "T = {}, n = {}: opened in {opened:.2} s, fitted in {:.2} s; θ̂₁ = {:.6}, se = {:.6}",
        data.n_rows(),
        data.n_labeled(),
        start.elapsed().as_secs_f64(),
        fit.theta()[1],
        fit.se()[1]
    );
}
