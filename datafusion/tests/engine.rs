//! Fits over DataFusion tables and views against the same rows fitted in memory.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use ndarray::{Array1, Array2};
use synthgmm::models::{LinearIv, Logistic, Ols, Poisson};
use synthgmm::{CrossWeights, DataSources, Error, GmmFit, MomentModel, TwoStepGmm, Weighting};
use synthgmm_datafusion::{open, Columns};

/// Simulated rows: an intercept and two covariates, about 8% labeled, a proxy on the
/// real covariates and a synthetic sample with its own.
struct Rows {
    labeled: Vec<bool>,
    x: Array2<f64>,
    y: Vec<f64>,
    proxy: Vec<f64>,
    synth_x: Array2<f64>,
    synth: Vec<f64>,
}

fn simulate(t: usize, logistic: bool) -> Rows {
    let u = |i: usize, k: u64| {
        let z = ((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ k.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let normal = |i: usize, k: u64| {
        (-2.0 * u(i, k).ln()).sqrt() * (std::f64::consts::TAU * u(i, k + 100)).cos()
    };
    let x = Array2::from_shape_fn(
        (t, 3),
        |(i, j)| if j == 0 { 1.0 } else { normal(i, j as u64) },
    );
    let synth_x = Array2::from_shape_fn((t, 3), |(i, j)| {
        if j == 0 {
            1.0
        } else {
            x[[i, j]] + 0.3 * normal(i, 10 + j as u64)
        }
    });
    let outcome = |eta: f64, i: usize, k: u64| {
        if logistic {
            f64::from(u8::from(u(i, k) < 1.0 / (1.0 + (-eta).exp())))
        } else {
            eta
        }
    };
    let e: Vec<f64> = (0..t).map(|i| normal(i, 20)).collect();
    let index = |r: ndarray::ArrayView1<f64>| 0.3 + 0.8 * r[1] - 0.5 * r[2];
    Rows {
        labeled: (0..t).map(|i| u(i, 60) < 0.08).collect(),
        y: (0..t)
            .map(|i| outcome(index(x.row(i)) + e[i], i, 30))
            .collect(),
        proxy: (0..t)
            .map(|i| outcome(index(x.row(i)) + 0.8 * e[i] + 0.5 * normal(i, 40), i, 30))
            .collect(),
        synth: (0..t)
            .map(|i| {
                outcome(
                    index(synth_x.row(i)) + 0.6 * e[i] + 0.7 * normal(i, 50),
                    i,
                    31,
                )
            })
            .collect(),
        x,
        synth_x,
    }
}

fn float(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

impl Rows {
    fn in_memory(&self) -> DataSources {
        self.builder().build().unwrap()
    }

    /// The rows in memory, to add per-row columns to.
    fn builder(&self) -> synthgmm::DataSourcesBuilder {
        DataSources::builder(&self.labeled)
            .real(&self.x, &Array1::from(self.y.clone()))
            .source("proxy", &self.x, &Array1::from(self.proxy.clone()))
            .source("synth", &self.synth_x, &Array1::from(self.synth.clone()))
            .covariate_names(["one", "x1", "x2"])
    }

    /// Survey weights between 0.3 and about 4, larger where x1 is: the `w` column.
    fn weights(&self) -> Vec<f64> {
        (0..self.y.len())
            .map(|i| 0.3 + (0.7 * self.x[[i, 1]]).exp().min(3.7))
            .collect()
    }

    /// Labeling probabilities that vary with x2, the `pi` column (null off the
    /// labeled rows, where they are never read).
    fn probabilities(&self) -> Vec<f64> {
        (0..self.y.len())
            .map(|i| if self.x[[i, 2]] > 0.0 { 0.12 } else { 0.04 })
            .collect()
    }

    /// Instruments of x1: `z` on every row, and the synthetic sample's own `sz` (from
    /// its x1).
    fn instruments(&self) -> (Vec<f64>, Vec<f64>) {
        let wiggle = |i: usize, k: f64| (i as f64 * k).sin();
        let t = self.y.len();
        (
            (0..t)
                .map(|i| self.x[[i, 1]] + 0.6 * wiggle(i, 0.37))
                .collect(),
            (0..t)
                .map(|i| self.synth_x[[i, 1]] + 0.6 * wiggle(i, 2.71))
                .collect(),
        )
    }

    /// Forty clusters (schools, as text) scattered over the rows: the `school` column.
    fn schools(&self) -> Vec<String> {
        (0..self.y.len())
            .map(|i| format!("school {}", (i * 7 + i / 13) % 40))
            .collect()
    }

    /// The rows in memory with their weights and clusters.
    fn in_memory_clustered(&self) -> DataSources {
        self.builder()
            .weights(&Array1::from(self.weights()))
            .clusters(&self.schools())
            .build()
            .unwrap()
    }

    /// The rows in memory with their weights, and their labeling probabilities when
    /// `designed`.
    fn in_memory_weighted(&self, designed: bool) -> DataSources {
        let builder = self.builder().weights(&Array1::from(self.weights()));
        let pi = Array1::from(self.probabilities());
        match designed {
            true => builder.labeling_probabilities(&pi).build().unwrap(),
            false => builder.build().unwrap(),
        }
    }

    /// One table, `parts` partitions of consecutive rows; the real outcome null on
    /// unlabeled rows.
    fn table(&self, parts: usize) -> MemTable {
        let t = self.y.len();
        let per = t.div_ceil(parts);
        let batches: Vec<Vec<RecordBatch>> = (0..parts)
            .map(|b| {
                let r = b * per..((b + 1) * per).min(t);
                let mut columns: Vec<(String, ArrayRef)> = vec![
                    (
                        "S".into(),
                        Arc::new(BooleanArray::from(self.labeled[r.clone()].to_vec())),
                    ),
                    (
                        "y".into(),
                        Arc::new(Float64Array::from(
                            r.clone()
                                .map(|i| self.labeled[i].then_some(self.y[i]))
                                .collect::<Vec<_>>(),
                        )),
                    ),
                    ("proxy".into(), float(self.proxy[r.clone()].to_vec())),
                    ("w".into(), float(self.weights()[r.clone()].to_vec())),
                    (
                        "pi".into(),
                        Arc::new(Float64Array::from(
                            r.clone()
                                .map(|i| self.labeled[i].then_some(self.probabilities()[i]))
                                .collect::<Vec<_>>(),
                        )),
                    ),
                    ("synth".into(), float(self.synth[r.clone()].to_vec())),
                    ("z".into(), float(self.instruments().0[r.clone()].to_vec())),
                    ("sz".into(), float(self.instruments().1[r.clone()].to_vec())),
                    (
                        "school".into(),
                        Arc::new(StringArray::from(self.schools()[r.clone()].to_vec())),
                    ),
                ];
                for j in 0..3 {
                    columns.push((
                        format!("x{j}"),
                        float(r.clone().map(|i| self.x[[i, j]]).collect()),
                    ));
                    // The real covariates as recorded with the labels: null elsewhere.
                    columns.push((
                        format!("rx{j}"),
                        Arc::new(Float64Array::from(
                            r.clone()
                                .map(|i| self.labeled[i].then_some(self.x[[i, j]]))
                                .collect::<Vec<_>>(),
                        )),
                    ));
                    columns.push((
                        format!("sx{j}"),
                        float(r.clone().map(|i| self.synth_x[[i, j]]).collect()),
                    ));
                }
                vec![RecordBatch::try_from_iter(columns).unwrap()]
            })
            .collect();
        MemTable::try_new(batches[0][0].schema(), batches).unwrap()
    }
}

fn columns() -> Columns {
    Columns::new("S", "y", ["rx0", "rx1", "rx2"])
        .source("proxy", "proxy", ["x0", "x1", "x2"])
        .source("synth", "synth", ["sx0", "sx1", "sx2"])
}

fn context() -> SessionContext {
    SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4))
}

fn assert_same(label: &str, a: &GmmFit, b: &GmmFit, tol: f64) {
    let close = |x: f64, y: f64, floor: f64| (x - y).abs() <= tol * x.abs().max(y.abs()).max(floor);
    let floor = b.params().iter().fold(0.0f64, |m, v| m.max(v.abs())) * 1e-3;
    for (i, (x, y)) in a.params().iter().zip(b.params()).enumerate() {
        assert!(close(*x, *y, floor), "{label} params[{i}]: {x:e} vs {y:e}");
    }
    for (i, (x, y)) in a.se().iter().zip(b.se().iter()).enumerate() {
        assert!(close(*x, *y, 0.0), "{label} se[{i}]: {x:e} vs {y:e}");
    }
    assert!(
        close(a.j_test().statistic, b.j_test().statistic, 1e-12),
        "{label} J"
    );
    assert_eq!(a.j_test().df, b.j_test().df);
    assert_eq!((a.n_rows(), a.n_labeled()), (b.n_rows(), b.n_labeled()));
    assert_eq!(a.notes(), b.notes(), "{label} notes");
}

/// A change to the estimator's settings.
type Setting<M> = fn(TwoStepGmm<M>) -> TwoStepGmm<M>;

fn compare<M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static>(
    model: M,
    rows: &Rows,
    ctx: &SessionContext,
    table: &str,
) {
    let engine = open(ctx, table, &columns(), model.clone()).unwrap();
    assert!(engine.is_out_of_core());
    let memory = rows.in_memory();
    let settings: [(&str, Setting<M>); 3] = [
        ("default", |g| g),
        ("paper", |g| g.cross_weights(CrossWeights::Unrestricted)),
        ("iterated", |g| {
            g.weighting(Weighting::Iterated { max_rounds: 50 })
        }),
    ];
    for (label, setting) in settings {
        let a = setting(TwoStepGmm::new(model.clone()))
            .fit(&engine)
            .unwrap();
        let b = setting(TwoStepGmm::new(model.clone()))
            .fit(&memory)
            .unwrap();
        assert_same(&format!("{} {label}", model.name()), &a, &b, 1e-10);
    }
    // One source at a time, as the difference-in-Hansen tests refit.
    let one = engine.select_sources(&["synth"]).unwrap();
    let a = TwoStepGmm::new(model.clone()).fit(&one).unwrap();
    let b = TwoStepGmm::new(model.clone())
        .fit(&memory.select_sources(&["synth"]).unwrap())
        .unwrap();
    assert_same(&format!("{} synth only", model.name()), &a, &b, 1e-10);
    same_baselines(model, (&engine, &memory), "aggregate");
}

/// PPI++ on each source (the synthetic one with covariates of its own) on two data
/// sets: the same estimates and standard errors to 1e-10. PPI++Synth is left out:
/// its cross-validation folds follow the order of the labeled rows, which a query with
/// a parallel plan returns in the order its partitions finish (`tests/engine.rs` and
/// the DuckDB tests in Python check it on an engine's rows).
fn same_baselines<M: MomentModel + Clone + Send + Sync + 'static>(
    model: M,
    (a, b): (&DataSources, &DataSources),
    tier: &str,
) {
    use synthgmm::baselines::PpiPlusPlus;
    use synthgmm::Estimator;
    let estimators = [
        PpiPlusPlus::new(model.clone(), "proxy"),
        PpiPlusPlus::new(model.clone(), "synth"),
    ];
    for estimator in &estimators {
        let (x, y) = (
            estimator.estimate(a).unwrap(),
            estimator.estimate(b).unwrap(),
        );
        let label = format!("{tier} {} {}", model.name(), estimator.name());
        for j in 0..x.theta().len() {
            let close = |u: f64, v: f64| (u - v).abs() <= 1e-10 * v.abs().max(1e-300);
            let (t, u) = (x.theta()[j], y.theta()[j]);
            assert!(close(t, u), "{label} θ̂[{j}]: {t} against {u}");
            let (t, u) = (x.se()[j], y.se()[j]);
            assert!(close(t, u), "{label} se[{j}]: {t} against {u}");
        }
    }
}

/// Four partitions of one table: the in-memory answer to 1e-10.
#[test]
fn partitioned_table_gives_the_in_memory_fit() {
    for logistic in [false, true] {
        let rows = simulate(20_000, logistic);
        let ctx = context();
        ctx.register_table("rows", Arc::new(rows.table(4))).unwrap();
        if logistic {
            compare(Logistic, &rows, &ctx, "rows");
        } else {
            compare(Ols, &rows, &ctx, "rows");
        }
    }
}

/// A weights column multiplies every row's moments, a probabilities column divides
/// the labeled blocks': the in-memory fit to 1e-10, through the aggregate and through
/// the plain SQL passes.
#[test]
fn weights_and_probabilities_columns_give_the_in_memory_fit() {
    for (logistic, designed) in [(false, false), (true, false), (false, true), (true, true)] {
        let rows = simulate(8_000, logistic);
        let ctx = context();
        ctx.register_table("rows", Arc::new(rows.table(3))).unwrap();
        let weighted = match designed {
            true => columns().weights("w").labeling_probabilities("pi"),
            false => columns().weights("w"),
        };
        let memory = rows.in_memory_weighted(designed);
        let aggregate = both_tiers_match(&ctx, &weighted, &memory, logistic);
        assert_eq!(
            aggregate.weights().map(|w| w.len()),
            Some(memory.n_labeled())
        );
    }
}

/// Opens `columns` of table `rows` in `ctx` through the pass aggregate and through the
/// plain SQL passes and checks both against the fit of `memory`; returns the
/// aggregate's data set.
fn both_tiers_match(
    ctx: &SessionContext,
    columns: &Columns,
    memory: &DataSources,
    logistic: bool,
) -> DataSources {
    use synthgmm::sql::{SqlModel, SqlTable};
    let (aggregate, sql) = if logistic {
        let data = open(ctx, "rows", columns, Logistic).unwrap();
        same_fits(Logistic, &data, memory);
        (data, SqlModel::Logistic)
    } else {
        let data = open(ctx, "rows", columns, Ols).unwrap();
        same_fits(Ols, &data, memory);
        (data, SqlModel::Ols)
    };
    let data = SqlTable::from_columns("rows", columns.clone())
        .open(sql, runner(ctx.clone()))
        .unwrap();
    match sql {
        SqlModel::Ols => same_fits(Ols, &data, memory),
        _ => same_fits(Logistic, &data, memory),
    }
    aggregate
}

/// Instruments as extra columns (`z` on the real data and the proxy, the synthetic
/// source's own `sz`), with weights: the in-memory linear IV fit to 1e-10 through the
/// pass aggregate and through the generated SQL; linear IV in SQL without instruments
/// is refused; reading `z` for the synthetic source as well gives another fit.
#[test]
fn instrument_columns_give_the_in_memory_iv_fit() {
    let rows = simulate(8_000, false);
    let ctx = context();
    ctx.register_table("rows", Arc::new(rows.table(3))).unwrap();
    let (z, sz) = rows.instruments();
    let model = LinearIv::new([0, 2], ["z"]);
    let spec = columns().weights("w").column("z");
    let own = spec.clone().source_column("synth", "z", "sz");
    let engine = open(&ctx, "rows", &own, model.clone()).unwrap();
    let memory = rows
        .builder()
        .weights(&Array1::from(rows.weights()))
        .column("z", &Array1::from(z))
        .source_column("synth", "z", &Array1::from(sz))
        .build()
        .unwrap();
    same_fits(model.clone(), &engine, &memory);
    // The generated SQL's passes, run by DataFusion's SQL engine: the same fits.
    use synthgmm::sql::{SqlModel, SqlTable};
    let sql = SqlTable::from_columns("rows", own.clone())
        .instruments([0, 2], ["z"])
        .open(SqlModel::Iv, runner(ctx.clone()))
        .unwrap();
    same_fits(model.clone(), &sql, &memory);
    let without = SqlTable::from_columns("rows", columns()).open(SqlModel::Iv, runner(ctx.clone()));
    assert!(
        matches!(without, Err(Error::InvalidConfig { .. })),
        "{without:?}"
    );
    let shared = open(&ctx, "rows", &spec, model.clone()).unwrap();
    let (a, b) = (
        TwoStepGmm::new(model.clone()).fit(&shared).unwrap(),
        TwoStepGmm::new(model).fit(&memory).unwrap(),
    );
    assert!((a.theta()[1] - b.theta()[1]).abs() > 1e-6 * b.se()[1]);
}

/// A clusters column (text) makes every pass sum by cluster: the clustered in-memory
/// fit to 1e-10 through the aggregate and through the plain SQL passes; a row without
/// a cluster is refused.
#[test]
fn a_clusters_column_gives_the_clustered_in_memory_fit() {
    for logistic in [false, true] {
        let rows = simulate(8_000, logistic);
        let ctx = context();
        ctx.register_table("rows", Arc::new(rows.table(3))).unwrap();
        let clustered = columns().weights("w").clusters("school");
        let data = both_tiers_match(&ctx, &clustered, &rows.in_memory_clustered(), logistic);
        assert_eq!(data.n_clusters(), Some(40));
    }
    let rows = simulate(2_000, false);
    let ctx = context();
    ctx.register_table("rows", Arc::new(rows.table(2))).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(ctx.sql(
            "CREATE VIEW holes AS SELECT *, CASE WHEN x1 > 2.5 THEN NULL ELSE school END AS gap FROM rows",
        ))
        .unwrap();
    match open(&ctx, "holes", &columns().clusters("gap"), Ols) {
        Err(synthgmm::Error::InvalidConfig { parameter, reason }) => {
            assert_eq!(parameter, "clusters");
            assert!(reason.contains("no cluster"), "{reason}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// Human labels in their own table, joined onto the model outputs by row id in a SQL
/// view: the same fit.
#[test]
fn a_view_joining_labels_onto_outputs_gives_the_in_memory_fit() {
    let rows = simulate(12_000, false);
    let ctx = context();
    let t = rows.y.len();
    let labeled: Vec<usize> = (0..t).filter(|&i| rows.labeled[i]).collect();
    let labels = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(
                labeled.iter().map(|&i| i as i64).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("human", float(labeled.iter().map(|&i| rows.y[i]).collect())),
    ])
    .unwrap();
    let mut outputs: Vec<(String, ArrayRef)> = vec![
        (
            "id".into(),
            Arc::new(Int64Array::from((0..t as i64).collect::<Vec<_>>())),
        ),
        ("proxy".into(), float(rows.proxy.clone())),
        ("synth".into(), float(rows.synth.clone())),
    ];
    for j in 0..3 {
        outputs.push((format!("x{j}"), float(rows.x.column(j).to_vec())));
        outputs.push((format!("sx{j}"), float(rows.synth_x.column(j).to_vec())));
    }
    let outputs = RecordBatch::try_from_iter(outputs).unwrap();
    let split = |b: &RecordBatch| {
        let half = b.num_rows() / 2;
        MemTable::try_new(
            b.schema(),
            vec![
                vec![b.slice(0, half)],
                vec![b.slice(half, b.num_rows() - half)],
            ],
        )
        .unwrap()
    };
    ctx.register_table("labels", Arc::new(split(&labels)))
        .unwrap();
    ctx.register_table("outputs", Arc::new(split(&outputs)))
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(ctx.sql(
            "CREATE VIEW joined AS SELECT o.*, o.x0 AS rx0, o.x1 AS rx1, o.x2 AS rx2, \
             l.human AS y, l.human IS NOT NULL AS \"S\" \
             FROM outputs o LEFT JOIN labels l ON o.id = l.id",
        ))
        .unwrap();
    compare(Ols, &rows, &ctx, "joined");
}

/// Bad values surface as the library's errors; a missing table or column as read
/// errors; a model other than the engine's is refused.
#[test]
fn bad_tables_are_typed_errors() {
    let mut rows = simulate(3_000, true);
    let ctx = context();
    ctx.register_table("rows", Arc::new(rows.table(2))).unwrap();
    let missing = open(&ctx, "nope", &columns(), Logistic);
    assert!(matches!(missing, Err(Error::Read { .. })), "{missing:?}");
    let bad_column = open(
        &ctx,
        "rows",
        &Columns::new("S", "y", ["x0", "zz"]),
        Logistic,
    );
    assert!(
        matches!(bad_column, Err(Error::Read { .. })),
        "{bad_column:?}"
    );
    let data = open(&ctx, "rows", &columns(), Logistic).unwrap();
    let other = TwoStepGmm::new(Ols).fit(&data);
    assert!(
        matches!(other, Err(Error::InvalidConfig { .. })),
        "{other:?}"
    );
    // A logistic source outside [0, 1] on an unlabeled row fails the first pass.
    let unlabeled = (0..3_000).find(|&i| !rows.labeled[i]).unwrap();
    rows.proxy[unlabeled] = 2.0;
    let ctx = context();
    ctx.register_table("rows", Arc::new(rows.table(2))).unwrap();
    let data = open(&ctx, "rows", &columns(), Logistic).unwrap();
    let fit = TwoStepGmm::new(Logistic).fit(&data);
    assert!(
        matches!(fit, Err(Error::Read { ref reason, .. }) if reason.contains("outcome")),
        "{fit:?}"
    );
}

/// The plain-SQL passes of `synthgmm::sql`, run by DataFusion's SQL engine (as DuckDB
/// or a warehouse would run them): the in-memory fit, OLS, logistic and Poisson (on
/// the binary outcomes), with Windmeijer's contraction in SQL.
#[test]
fn plain_sql_passes_give_the_in_memory_fit() {
    use synthgmm::sql::{LabelKind, SqlModel, SqlTable};
    for model in [SqlModel::Ols, SqlModel::Logistic, SqlModel::Poisson] {
        let logistic = model != SqlModel::Ols;
        let rows = simulate(6_000, logistic);
        let ctx = context();
        ctx.register_table("rows", Arc::new(rows.table(3))).unwrap();
        let run = runner(ctx);
        // Least squares from the table by name, its boolean label cast to a number;
        // logistic from a checked subquery, the label tested as a boolean.
        let table = if logistic {
            SqlTable::subquery(
                "SELECT * FROM rows WHERE 'a;b' <> ''",
                "r",
                "S",
                "y",
                ["rx0", "rx1", "rx2"],
            )
            .unwrap()
            .label_kind(LabelKind::Boolean)
        } else {
            SqlTable::new("rows", "S", "y", ["rx0", "rx1", "rx2"])
        };
        let table = table.source("proxy", "proxy", ["x0", "x1", "x2"]).source(
            "synth",
            "synth",
            ["sx0", "sx1", "sx2"],
        );
        let data = table.open(model, run).unwrap();
        let memory = rows.in_memory();
        match model {
            SqlModel::Ols => same_fits(Ols, &data, &memory),
            SqlModel::Logistic => same_fits(Logistic, &data, &memory),
            _ => same_fits(Poisson, &data, &memory),
        }
        match model {
            SqlModel::Ols => same_baselines(Ols, (&data, &memory), "sql"),
            SqlModel::Logistic => same_baselines(Logistic, (&data, &memory), "sql"),
            _ => same_baselines(Poisson, (&data, &memory), "sql"),
        }
    }
}

/// A function running a query on `ctx` and returning its rows as numbers (null as
/// NaN), as `SqlTable::open` takes it.
fn runner(
    ctx: SessionContext,
) -> impl Fn(&str) -> synthgmm::Result<Vec<Vec<f64>>> + Send + Sync + 'static {
    let runtime = Arc::new(tokio::runtime::Runtime::new().unwrap());
    move |query: &str| -> synthgmm::Result<Vec<Vec<f64>>> {
        let failed = |e: datafusion::error::DataFusionError| Error::Read {
            path: "rows".into(),
            reason: e.to_string(),
        };
        let batches = runtime
            .block_on(async { ctx.sql(query).await?.collect().await })
            .map_err(failed)?;
        let mut out = Vec::new();
        for batch in batches {
            let columns: Vec<Vec<f64>> = batch
                .columns()
                .iter()
                .map(|c| {
                    let c = datafusion::arrow::compute::cast(
                        c,
                        &datafusion::arrow::datatypes::DataType::Float64,
                    )
                    .unwrap();
                    let c = c.as_any().downcast_ref::<Float64Array>().unwrap().clone();
                    (0..c.len())
                        .map(|i| if c.is_null(i) { f64::NAN } else { c.value(i) })
                        .collect()
                })
                .collect();
            for i in 0..batch.num_rows() {
                out.push(columns.iter().map(|c| c[i]).collect());
            }
        }
        Ok(out)
    }
}

/// The default and the paper's settings (selected weights; Windmeijer's covariance,
/// whose contraction is a pass of its own) on two data sets: the same fits.
fn same_fits<M: MomentModel + Clone>(model: M, a: &DataSources, b: &DataSources) {
    let settings: [(&str, Setting<M>); 2] = [
        ("default", |g| g),
        ("paper", |g| g.cross_weights(CrossWeights::Unrestricted)),
    ];
    for (label, setting) in settings {
        let x = setting(TwoStepGmm::new(model.clone())).fit(a).unwrap();
        let y = setting(TwoStepGmm::new(model.clone())).fit(b).unwrap();
        assert_same(&format!("sql {} {label}", model.name()), &x, &y, 1e-10);
    }
}
