//! The aggregate on Ballista's standalone mode (an in-process scheduler and executor,
//! plans serialized between them as on a cluster): with synthgmm's codecs the fit equals
//! the in-memory one; with Ballista's own codecs the pass's parameters cannot reach the
//! executor, and the fit must not silently succeed.

use std::path::Path;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::{FunctionRegistry, SessionStateBuilder};
use datafusion::logical_expr::AggregateUDF;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::SessionConfig;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use ndarray::{Array1, Array2};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{DataSources, GmmFit, MomentModel, PassRequest, TwoStepGmm};
use synthgmm_datafusion::{open, Columns, PassUdaf};

/// Rows with an intercept and one covariate, a proxy and a synthetic source, written
/// to `dir` as two Parquet files; returned in memory too.
fn write_rows(dir: &Path, t: usize, logistic: bool) -> DataSources {
    let u = |i: usize, k: u64| {
        let z = ((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ k.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let normal = |i: usize, k: u64| {
        (-2.0 * u(i, k).ln()).sqrt() * (std::f64::consts::TAU * u(i, k + 100)).cos()
    };
    let outcome = |eta: f64, i: usize, k: u64| {
        if logistic {
            f64::from(u8::from(u(i, k) < 1.0 / (1.0 + (-eta).exp())))
        } else {
            eta
        }
    };
    let x: Vec<f64> = (0..t).map(|i| normal(i, 1)).collect();
    let e: Vec<f64> = (0..t).map(|i| normal(i, 2)).collect();
    let labeled: Vec<bool> = (0..t).map(|i| u(i, 3) < 0.1).collect();
    let y: Vec<f64> = (0..t)
        .map(|i| outcome(0.2 + 0.7 * x[i] + e[i], i, 4))
        .collect();
    let proxy: Vec<f64> = (0..t)
        .map(|i| outcome(0.3 + 0.6 * x[i] + 0.8 * e[i] + 0.5 * normal(i, 5), i, 4))
        .collect();
    let synth: Vec<f64> = (0..t)
        .map(|i| outcome(0.1 + 0.7 * x[i] + 0.5 * e[i] + 0.8 * normal(i, 6), i, 7))
        .collect();
    std::fs::create_dir_all(dir).unwrap();
    let half = t / 2;
    for (f, rows) in [(0, 0..half), (1, half..t)] {
        let float =
            |v: &[f64]| -> ArrayRef { Arc::new(Float64Array::from(v[rows.clone()].to_vec())) };
        let batch = RecordBatch::try_from_iter([
            (
                "S",
                Arc::new(BooleanArray::from(labeled[rows.clone()].to_vec())) as ArrayRef,
            ),
            ("one", float(&vec![1.0; t])),
            ("x", float(&x)),
            ("y", float(&y)),
            ("proxy", float(&proxy)),
            ("synth", float(&synth)),
        ])
        .unwrap();
        let file = std::fs::File::create(dir.join(format!("part-{f}.parquet"))).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let design = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { x[i] });
    DataSources::builder(&labeled)
        .real(&design, &Array1::from(y))
        .source("proxy", &design, &Array1::from(proxy))
        .source("synth", &design, &Array1::from(synth))
        .covariate_names(["one", "x"])
        .build()
        .unwrap()
}

fn columns() -> Columns {
    Columns::new("S", "y", ["one", "x"])
        .source("proxy", "proxy", ["one", "x"])
        .source("synth", "synth", ["one", "x"])
}

fn assert_same(a: &GmmFit, b: &GmmFit) {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-10 * x.abs().max(y.abs()).max(1e-3);
    for (x, y) in a
        .params()
        .iter()
        .zip(b.params())
        .chain(a.se().iter().zip(b.se().iter()))
    {
        assert!(close(*x, *y), "{x:e} vs {y:e}");
    }
    assert!(close(a.j_test().statistic, b.j_test().statistic));
}

fn fit_on<M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static>(
    ctx: &SessionContext,
    model: M,
) -> synthgmm::Result<GmmFit> {
    let data = open(ctx, "rows", &columns(), model.clone())?;
    TwoStepGmm::new(model).fit(&data)
}

#[test]
fn standalone_ballista_with_the_codecs_gives_the_in_memory_fit() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for logistic in [false, true] {
        let dir = std::env::temp_dir().join(format!(
            "synthgmm-ballista-{}-{logistic}",
            std::process::id()
        ));
        let memory = write_rows(&dir, 4_000, logistic);
        let ctx = runtime.block_on(synthgmm_ballista::standalone()).unwrap();
        runtime
            .block_on(ctx.register_parquet(
                "rows",
                dir.to_str().unwrap(),
                ParquetReadOptions::default(),
            ))
            .unwrap();
        if logistic {
            assert_same(
                &fit_on(&ctx, Logistic).unwrap(),
                &TwoStepGmm::new(Logistic).fit(&memory).unwrap(),
            );
        } else {
            assert_same(
                &fit_on(&ctx, Ols).unwrap(),
                &TwoStepGmm::new(Ols).fit(&memory).unwrap(),
            );
        }
        // Ballista's own codecs send the aggregate by name: an executor that knows a
        // function of that name (here one with zero parameters) runs it instead, and
        // the fit must not come back as if the parameters had arrived.
        let decoy = |config: SessionConfig| {
            let zero = PassRequest {
                sources: vec![0, 1],
                params: Array1::zeros(6),
                jacobian: true,
                omega: true,
                squares: false,
                contraction: None,
                probabilities: false,
            };
            let mut state = SessionStateBuilder::new()
                .with_config(config)
                .with_default_features()
                .build();
            state
                .register_udaf(Arc::new(AggregateUDF::from(PassUdaf::new(Ols, zero, 2))))
                .unwrap();
            state
        };
        let plain = runtime
            .block_on(SessionContext::standalone_with_state(decoy(
                SessionConfig::new_with_ballista(),
            )))
            .unwrap();
        runtime
            .block_on(plain.register_parquet(
                "rows",
                dir.to_str().unwrap(),
                ParquetReadOptions::default(),
            ))
            .unwrap();
        let reference = if logistic {
            TwoStepGmm::new(Logistic).fit(&memory)
        } else {
            TwoStepGmm::new(Ols).fit(&memory)
        }
        .unwrap();
        let lost = if logistic {
            fit_on(&plain, Logistic)
        } else {
            fit_on(&plain, Ols)
        };
        if let Ok(fit) = &lost {
            assert!(
                (fit.theta()[1] - reference.theta()[1]).abs() > 1e-6,
                "parameters lost on the way, yet the fit agrees"
            );
        }
        // With the codecs the same decoy is never used.
        let guarded = runtime
            .block_on(SessionContext::standalone_with_state(decoy(
                synthgmm_ballista::session_config(),
            )))
            .unwrap();
        runtime
            .block_on(guarded.register_parquet(
                "rows",
                dir.to_str().unwrap(),
                ParquetReadOptions::default(),
            ))
            .unwrap();
        let fit = if logistic {
            fit_on(&guarded, Logistic)
        } else {
            fit_on(&guarded, Ols)
        }
        .unwrap();
        assert_same(&fit, &reference);
        std::fs::remove_dir_all(dir).ok();
    }
}
