//! Fits from Parquet files kept out of memory, for `docs/scale.md`.
//!
//! ```text
//! cargo run --release --features parquet --example out_of_core -- write DIR [--rows T] [--files F]
//! cargo run --release --features parquet --example out_of_core -- fit DIR [--model ols|logistic] [--compare]
//! ```
//!
//! `write` simulates T rows (default 10⁷) with p = 10 (an intercept and nine standard
//! normal covariates), 1% labeled at random, a proxy on the real covariates and a
//! synthetic sample with its own (noisier) covariates, and writes them as F Parquet
//! files (default 8) with row groups of 131,072 rows; generation is seeded per row
//! group, so memory stays small. `fit` opens the files out of core and fits the GMM
//! (default settings), printing the time to open, to fit, the passes over the files
//! and the estimates; `--compare` also builds the same rows in memory, fits them and
//! prints the largest relative difference of the estimates, standard errors and J.
//!
//! ```text
//! cargo run --release --features parquet --example out_of_core -- outcomes DIR [--model ols|logistic]
//! ```
//!
//! `outcomes` fits two outcomes of the files — least squares: the continuous outcome and
//! the binary one (a linear probability model), each with its sources' columns;
//! logistic: the binary outcome with its sources, and again with the two sources'
//! outcome columns exchanged — once opened and fitted one after another, then opened
//! together (`ParquetSources::open_outcomes`) and fitted side by side
//! (`OutcomeFits::fit_each`), printing the times, the passes over the files and the
//! largest relative difference between the two ways' estimates and standard errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch};
use ndarray::{Array1, Array2};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synthgmm::models::{sigmoid, Logistic, Ols};
use synthgmm::parquet::ParquetSources;
use synthgmm::{DataSources, GmmFit, MomentModel, OutcomeFits, TwoStepGmm};

const P: usize = 10;
const GROUP: usize = 131_072;

/// Rows [start, start + n) of the simulated data: label, real outcome (OLS and
/// logistic), covariates, the proxy's and the synthetic sample's outcomes and the
/// synthetic covariates.
struct Rows {
    labeled: Vec<bool>,
    y: Vec<f64>,
    y_binary: Vec<f64>,
    x: Array2<f64>,
    proxy: Vec<f64>,
    proxy_binary: Vec<f64>,
    synth: Vec<f64>,
    synth_binary: Vec<f64>,
    synth_x: Array2<f64>,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn simulate(group: usize, n: usize) -> Rows {
    let mut rng = ChaCha8Rng::seed_from_u64(1_000 + group as u64);
    let beta: Vec<f64> = (0..P).map(|j| 0.5 / (1.0 + j as f64)).collect();
    let mut rows = Rows {
        labeled: Vec::with_capacity(n),
        y: Vec::with_capacity(n),
        y_binary: Vec::with_capacity(n),
        x: Array2::zeros((n, P)),
        proxy: Vec::with_capacity(n),
        proxy_binary: Vec::with_capacity(n),
        synth: Vec::with_capacity(n),
        synth_binary: Vec::with_capacity(n),
        synth_x: Array2::zeros((n, P)),
    };
    for i in 0..n {
        rows.x[[i, 0]] = 1.0;
        rows.synth_x[[i, 0]] = 1.0;
        for j in 1..P {
            rows.x[[i, j]] = normal(&mut rng);
            rows.synth_x[[i, j]] = rows.x[[i, j]] + 0.3 * normal(&mut rng);
        }
        let lin: f64 = (0..P).map(|j| rows.x[[i, j]] * beta[j]).sum();
        let lin_synth: f64 = (0..P).map(|j| rows.synth_x[[i, j]] * beta[j]).sum();
        let e = normal(&mut rng);
        let proxy = lin + 0.7 * e + 0.71 * normal(&mut rng);
        let synth = lin_synth + 0.5 * e + 0.87 * normal(&mut rng);
        rows.labeled.push(rng.random::<f64>() < 0.01);
        rows.y.push(lin + e);
        rows.y_binary
            .push(f64::from(u8::from(rng.random::<f64>() < sigmoid(lin + e))));
        rows.proxy.push(proxy);
        rows.proxy_binary.push(f64::from(u8::from(proxy > 0.0)));
        rows.synth.push(synth);
        rows.synth_binary.push(f64::from(u8::from(synth > 0.0)));
    }
    rows
}

fn write(dir: &Path, t: usize, files: usize) {
    std::fs::create_dir_all(dir).expect("a writable directory");
    let groups = t.div_ceil(GROUP);
    let per_file = groups.div_ceil(files);
    for f in 0..files {
        let path = dir.join(format!("part-{f:03}.parquet"));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(GROUP))
            .build();
        let mut writer: Option<ArrowWriter<std::fs::File>> = None;
        for g in f * per_file..((f + 1) * per_file).min(groups) {
            let n = GROUP.min(t - g * GROUP);
            let r = simulate(g, n);
            let column = |v: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
            let mut columns: Vec<(String, ArrayRef)> = vec![
                ("S".into(), Arc::new(BooleanArray::from(r.labeled.clone()))),
                ("y".into(), column(r.y)),
                ("y01".into(), column(r.y_binary)),
                ("proxy".into(), column(r.proxy)),
                ("proxy01".into(), column(r.proxy_binary)),
                ("synth".into(), column(r.synth)),
                ("synth01".into(), column(r.synth_binary)),
            ];
            for j in 0..P {
                columns.push((format!("x{j}"), column(r.x.column(j).to_vec())));
                columns.push((format!("sx{j}"), column(r.synth_x.column(j).to_vec())));
            }
            let batch = RecordBatch::try_from_iter(columns).expect("one length");
            let w = writer.get_or_insert_with(|| {
                let file = std::fs::File::create(&path).expect("a writable file");
                ArrowWriter::try_new(file, batch.schema(), Some(props.clone())).expect("a writer")
            });
            w.write(&batch).expect("written");
        }
        if let Some(w) = writer {
            w.close().expect("closed");
        }
    }
}

fn names(prefix: &str) -> Vec<String> {
    (0..P).map(|j| format!("{prefix}{j}")).collect()
}

fn open(dir: &Path, logistic: bool) -> DataSources {
    let suffix = if logistic { "01" } else { "" };
    let columns = [
        format!("y{suffix}"),
        format!("proxy{suffix}"),
        format!("synth{suffix}"),
    ];
    spec(dir, &columns).open().expect("readable files")
}

/// The files of `dir` with the real outcome and the two sources' outcomes `columns`.
fn spec(dir: &Path, columns: &[String; 3]) -> ParquetSources {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    paths.sort();
    ParquetSources::new(&paths)
        .labeled("S")
        .real(&columns[0], names("x"))
        .source("proxy", &columns[1], names("x"))
        .source("synth", &columns[2], names("sx"))
}

/// Two outcomes fitted one after another, then opened and fitted together.
fn outcomes(dir: &Path, logistic: bool) {
    let columns: [[String; 3]; 2] = match logistic {
        true => [["y01", "proxy01", "synth01"], ["y01", "synth01", "proxy01"]],
        false => [["y", "proxy", "synth"], ["y01", "proxy01", "synth01"]],
    }
    .map(|c| c.map(String::from));
    let fit_one = |d: &DataSources| match logistic {
        true => TwoStepGmm::new(Logistic).fit(d).expect("a fit"),
        false => TwoStepGmm::new(Ols).fit(d).expect("a fit"),
    };
    let start = Instant::now();
    let alone: Vec<DataSources> = columns
        .iter()
        .map(|c| spec(dir, c).open().expect("readable files"))
        .collect();
    let opened = start.elapsed().as_secs_f64();
    let each: Vec<GmmFit> = alone.iter().map(fit_one).collect();
    let passes: Vec<usize> = alone.iter().filter_map(DataSources::passes_read).collect();
    println!(
        "one after another: opened in {opened:.2} s, fitted in {:.2} s, {passes:?} passes",
        start.elapsed().as_secs_f64() - opened
    );
    let start = Instant::now();
    let others = [(columns[1][0].clone(), columns[1][1..].to_vec())];
    let together = spec(dir, &columns[0])
        .open_outcomes(others)
        .expect("readable files");
    let opened = start.elapsed().as_secs_f64();
    let data: Vec<&DataSources> = together.iter().collect();
    let fits = OutcomeFits::fit_each(&data, |_, d| fit_one(d));
    println!(
        "together: opened in {opened:.2} s, fitted in {:.2} s, {:?} passes; largest relative difference {:.1e}",
        start.elapsed().as_secs_f64() - opened,
        together[0].passes_read(),
        fits.iter().zip(&each).map(|(a, b)| largest_difference(a, b)).fold(0.0, f64::max)
    );
}

/// The same rows as `write` wrote, in memory.
fn in_memory(t: usize, logistic: bool) -> DataSources {
    let groups = t.div_ceil(GROUP);
    let parts: Vec<Rows> = (0..groups)
        .map(|g| simulate(g, GROUP.min(t - g * GROUP)))
        .collect();
    let cat = |f: &dyn Fn(&Rows) -> &Vec<f64>| {
        Array1::from(
            parts
                .iter()
                .flat_map(|r| f(r).iter().copied())
                .collect::<Vec<_>>(),
        )
    };
    let stack = |f: &dyn Fn(&Rows) -> &Array2<f64>| {
        let views: Vec<_> = parts.iter().map(|r| f(r).view()).collect();
        ndarray::concatenate(ndarray::Axis(0), &views).expect("p columns")
    };
    let labeled: Vec<bool> = parts.iter().flat_map(|r| r.labeled.clone()).collect();
    let x = Arc::new(stack(&|r| &r.x));
    let synth_x = Arc::new(stack(&|r| &r.synth_x));
    let (y, proxy, synth) = if logistic {
        (
            cat(&|r| &r.y_binary),
            cat(&|r| &r.proxy_binary),
            cat(&|r| &r.synth_binary),
        )
    } else {
        (cat(&|r| &r.y), cat(&|r| &r.proxy), cat(&|r| &r.synth))
    };
    DataSources::builder(&labeled)
        .real_shared(Arc::clone(&x), &y)
        .source_shared("proxy", x, &proxy)
        .source_shared("synth", synth_x, &synth)
        .covariate_names(names("x"))
        .build()
        .expect("valid data")
}

fn fit<M: MomentModel>(model: M, data: &DataSources) -> (GmmFit, f64) {
    let start = Instant::now();
    let fit = TwoStepGmm::new(model).fit(data).expect("a fit");
    (fit, start.elapsed().as_secs_f64())
}

fn largest_difference(a: &GmmFit, b: &GmmFit) -> f64 {
    let rel = |x: f64, y: f64| (x - y).abs() / x.abs().max(y.abs()).max(1e-300);
    let (pa, pb, sa, sb) = (a.params(), b.params(), a.se(), b.se());
    let pairs = pa.iter().zip(pb).chain(sa.iter().zip(sb.iter()));
    pairs
        .map(|(x, y)| rel(*x, *y))
        .chain(std::iter::once(rel(
            a.j_test().statistic,
            b.j_test().statistic,
        )))
        .fold(0.0, f64::max)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = PathBuf::from(args.get(1).expect("a directory"));
    match args.first().map(String::as_str) {
        Some("write") => {
            let t: usize = value("--rows").map_or(10_000_000, |v| v.parse().expect("rows"));
            let files: usize = value("--files").map_or(8, |v| v.parse().expect("files"));
            let start = Instant::now();
            write(&dir, t, files);
            println!(
                "wrote {t} rows in {files} files: {:.1} s",
                start.elapsed().as_secs_f64()
            );
        }
        Some("fit") => {
            let logistic = value("--model").as_deref() == Some("logistic");
            let start = Instant::now();
            let data = open(&dir, logistic);
            let opened = start.elapsed().as_secs_f64();
            let (ooc, seconds) = if logistic {
                fit(Logistic, &data)
            } else {
                fit(Ols, &data)
            };
            println!(
                "T = {}, n = {}: opened in {opened:.2} s, fitted in {seconds:.2} s",
                data.n_rows(),
                data.n_labeled()
            );
            println!("{ooc}");
            if args.iter().any(|a| a == "--compare") {
                let memory = in_memory(data.n_rows(), logistic);
                let (mem, seconds) = if logistic {
                    fit(Logistic, &memory)
                } else {
                    fit(Ols, &memory)
                };
                println!(
                    "in memory: fitted in {seconds:.2} s; largest relative difference {:.1e}",
                    largest_difference(&ooc, &mem)
                );
            }
        }
        Some("outcomes") => outcomes(&dir, value("--model").as_deref() == Some("logistic")),
        _ => eprintln!("usage: out_of_core write|fit|outcomes DIR [options]"),
    }
}
