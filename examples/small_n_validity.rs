//! Coverage of the default estimator's intervals at small n, analytic and bootstrap,
//! on designs the estimator's constants were not chosen on.
//!
//! Each design draws R data sets; on each, the default `TwoStepGmm` (selected cross
//! weights, HC2, Bell–McCaffrey t quantiles) gives its analytic 95% interval for the
//! slope, and `Bootstrap::new(B)` re-runs it on B resamples for the symmetric
//! bootstrap-t and percentile intervals; the paper's estimator (unrestricted weights,
//! Windmeijer) and real-only (its default, HC2 with Bell–McCaffrey quantiles) give
//! theirs for comparison, and the default and real-only with t(n − p) quantiles
//! (`SmallSample::Hc2`) show what the Bell–McCaffrey degrees of freedom change. The table (markdown) reports
//! coverage with its Monte-Carlo standard error √(c(1 − c)/R), the default's bias in
//! units of its standard deviation, and median widths relative to its analytic
//! interval, and the default's mean squared error relative to the paper's estimator's
//! and real-only's. B = 0 skips the bootstrap.
//!
//! ```text
//! cargo run --release --example small_n_validity -- 400 199   # R, B
//! cargo run --release --example small_n_validity -- 2000 0    # analytic intervals only
//! cargo run --release --example small_n_validity -- 2000 0 gross   # the designs whose key is given
//! ```

#[path = "support/labeling.rs"]
mod labeling;
use labeling::label_at_random as label;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use rayon::prelude::*;
use synthgmm::baselines::RealOnly;
use synthgmm::models::{sigmoid, Logistic, Ols};
use synthgmm::{
    Bootstrap, BootstrapInterval, CrossWeights, DataSources, Estimator, MomentModel, SmallSample,
    TwoStepGmm,
};

/// A Monte-Carlo design: its name, model, T, n, and a generator of one data set.
struct Case {
    /// A word that selects the design from the command line.
    key: &'static str,
    name: &'static str,
    t: usize,
    n: usize,
    logistic: bool,
    draw: fn(&mut ChaCha8Rng, usize, usize) -> DataSources,
}

const SLOPE: f64 = 0.5;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// The data set of one covariate x (with an intercept) shared by the real data and
/// every source, n of its T rows labeled at random (drawn after the values).
fn one_covariate(
    rng: &mut ChaCha8Rng,
    n: usize,
    x: &Array1<f64>,
    y: &Array1<f64>,
    sources: &[(&str, &Array1<f64>)],
) -> DataSources {
    let t = x.len();
    let design = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { x[i] });
    let labeled = label(rng, t, n);
    let builder = DataSources::builder(&labeled).real(&design, y);
    sources
        .iter()
        .fold(builder, |b, (name, values)| {
            b.source(*name, &design, *values)
        })
        .build()
        .expect("valid data")
}

/// Binary labels with P(y = 1) = σ(a + SLOPE·x), and a copy with a share `flip` of
/// them flipped.
fn logistic_labels(rng: &mut ChaCha8Rng, x: &Array1<f64>, a: f64, flip: f64) -> [Array1<f64>; 2] {
    let y: Array1<f64> =
        x.mapv(|v| f64::from(u8::from(rng.random::<f64>() < sigmoid(a + SLOPE * v))));
    let flipped = y.mapv(|v| {
        if rng.random::<f64>() < flip {
            1.0 - v
        } else {
            v
        }
    });
    [y, flipped]
}

/// Least squares with leverage and heteroskedasticity: x lognormal (a few rows far
/// out), error sd 0.5 + |x − 1|; a proxy (its own noise) and a synthetic source whose
/// covariate is measured with error.
fn heteroskedastic(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let x: Array1<f64> = (0..t).map(|_| (0.75 * normal(rng)).exp()).collect();
    let e: Array1<f64> =
        x.mapv(|v| (0.5 + (v - 1.0).abs()) * 1.0) * &Array1::from_shape_fn(t, |_| normal(rng));
    let y = 1.0 + SLOPE * &x + &e;
    let proxy = &y + &Array1::from_shape_fn(t, |_| 0.7 * normal(rng));
    let synth_x = &x + &Array1::from_shape_fn(t, |_| 0.3 * normal(rng));
    let synth_y = 1.0 + SLOPE * &x + 0.6 * &e + Array1::from_shape_fn(t, |_| 0.8 * normal(rng));
    let design =
        |v: &Array1<f64>| Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { v[i] });
    let labeled = label(rng, t, n);
    DataSources::builder(&labeled)
        .real(&design(&x), &y)
        .source("proxy", &design(&x), &proxy)
        .source("synth", &design(&synth_x), &synth_y)
        .build()
        .expect("valid data")
}

/// Four sources of mixed quality: residual correlations 0.9, 0.6, 0.3 and 0 (one of
/// them biased), homoskedastic errors.
fn mixed_sources(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let x: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let e: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let y = 1.0 + SLOPE * &x + &e;
    let design = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { x[i] });
    let labeled = label(rng, t, n);
    let mut b = DataSources::builder(&labeled).real(&design, &y);
    for (k, rho) in [0.9f64, 0.6, 0.3, 0.0].into_iter().enumerate() {
        let s: Array1<f64> = (0..t)
            .map(|i| {
                0.2 * k as f64
                    + (SLOPE + 0.1 * k as f64) * x[i]
                    + rho * e[i]
                    + (1.0 - rho * rho).sqrt() * normal(rng)
            })
            .collect();
        b = b.source(format!("s{k}"), &design, &s);
    }
    b.build().expect("valid data")
}

/// Heavy tails: t(3) errors; a proxy with t(2) noise and 5% gross errors (±10).
fn heavy_tails(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let t3 = StudentT::new(3.0).expect("valid");
    let t2 = StudentT::new(2.0).expect("valid");
    noisy_proxy(rng, t, n, &|rng| t3.sample(rng), &|rng| {
        0.5 * t2.sample(rng)
    })
}

/// A skewed outcome: the difference in means of a log-normal outcome (σ = 1) between
/// two groups of about half the rows each, y = e^z + 0.5·d; a proxy e^(0.8z + 0.6u) + 0.5·d
/// that shares most of z. The textbook t interval is known to fail on such data at
/// small n (the mean of e^z has skewness 6.2).
fn skewed_outcome(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let d: Array1<f64> = (0..t)
        .map(|_| f64::from(u8::from(rng.random::<f64>() < 0.5)))
        .collect();
    let z: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let y = z.mapv(f64::exp) + SLOPE * &d;
    let proxy: Array1<f64> = (0..t)
        .map(|i| (0.8 * z[i] + 0.6 * normal(rng)).exp() + SLOPE * d[i])
        .collect();
    let design = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { d[i] });
    let labeled = label(rng, t, n);
    DataSources::builder(&labeled)
        .real(&design, &y)
        .source("proxy", &design, &proxy)
        .build()
        .expect("valid data")
}

/// Gross errors alone: normal errors; a proxy with normal noise (sd 0.5) and 5% gross
/// errors (±10).
fn gross_errors(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    noisy_proxy(rng, t, n, &normal, &|rng| 0.5 * normal(rng))
}

/// y = 1 + 0.5x + e with x standard normal; a proxy y + noise, with 5% gross errors
/// uniform on ±10.
fn noisy_proxy(
    rng: &mut ChaCha8Rng,
    t: usize,
    n: usize,
    error: &dyn Fn(&mut ChaCha8Rng) -> f64,
    noise: &dyn Fn(&mut ChaCha8Rng) -> f64,
) -> DataSources {
    let x: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let e: Array1<f64> = (0..t).map(|_| error(rng)).collect();
    let y = 1.0 + SLOPE * &x + &e;
    let proxy: Array1<f64> = (0..t)
        .map(|i| {
            let gross = if rng.random::<f64>() < 0.05 {
                10.0 * (2.0 * rng.random::<f64>() - 1.0)
            } else {
                0.0
            };
            y[i] + noise(rng) + gross
        })
        .collect();
    one_covariate(rng, n, &x, &y, &[("proxy", &proxy)])
}

/// Logistic at a low rate (about 15% ones); a proxy flipping 20% of labels and a
/// synthetic source from a shifted model.
fn logistic_low_rate(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let x: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let [y, proxy] = logistic_labels(rng, &x, -2.0, 0.2);
    let synth: Array1<f64> = x.mapv(|v| {
        f64::from(u8::from(
            rng.random::<f64>() < sigmoid(-1.5 + 0.8 * SLOPE * v),
        ))
    });
    one_covariate(rng, n, &x, &y, &[("proxy", &proxy), ("synth", &synth)])
}

/// Logistic regression at a rare outcome: P(y = 1) = σ(−3.2 + 0.5x), about 5% ones; a
/// model's label with sensitivity 0.75 and a 3% false-positive rate, and a synthetic
/// source from a shifted model.
fn logistic_rare(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let x: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let [y, _] = logistic_labels(rng, &x, -3.2, 0.0);
    let proxy = y.mapv(|v| {
        let rate = if v == 1.0 { 0.75 } else { 0.03 };
        f64::from(u8::from(rng.random::<f64>() < rate))
    });
    let synth: Array1<f64> = x.mapv(|v| {
        f64::from(u8::from(
            rng.random::<f64>() < sigmoid(-2.7 + 0.6 * SLOPE * v),
        ))
    });
    one_covariate(rng, n, &x, &y, &[("proxy", &proxy), ("synth", &synth)])
}

/// Six sources (more than the four whose every subset gets its own shared weight):
/// residual correlations 0.95 to 0, two of them biased, one of them a copy of the
/// outcome with gross errors; homoskedastic errors.
fn six_sources(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let x: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let e: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let y = 1.0 + SLOPE * &x + &e;
    let design = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { x[i] });
    let labeled = label(rng, t, n);
    let mut b = DataSources::builder(&labeled).real(&design, &y);
    for (k, rho) in [0.95f64, 0.8, 0.6, 0.4, 0.2, 0.0].into_iter().enumerate() {
        let bias = if k % 3 == 1 { 0.3 } else { 0.0 };
        let s: Array1<f64> = (0..t)
            .map(|i| {
                let gross = if k == 2 && rng.random::<f64>() < 0.03 {
                    8.0
                } else {
                    0.0
                };
                1.0 + bias
                    + (SLOPE + bias) * x[i]
                    + rho * e[i]
                    + (1.0 - rho * rho).sqrt() * normal(rng)
                    + gross
            })
            .collect();
        b = b.source(format!("s{k}"), &design, &s);
    }
    b.build().expect("valid data")
}

/// Six coefficients from n = 60: an intercept and five correlated covariates (the
/// slope of interest the first), heteroskedastic errors; a proxy and a synthetic
/// source whose covariates are measured with error.
fn wide(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let common: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let x = Array2::from_shape_fn((t, 6), |(i, j)| match j {
        0 => 1.0,
        _ => 0.6 * common[i] + 0.8 * normal(rng),
    });
    let e: Array1<f64> = (0..t)
        .map(|i| (0.5 + 0.5 * x[[i, 1]].abs()) * normal(rng))
        .collect();
    let beta = [1.0, SLOPE, -0.3, 0.2, 0.0, 0.4];
    let y = x.dot(&Array1::from(beta.to_vec())) + &e;
    let proxy = &y + &Array1::from_shape_fn(t, |_| 0.6 * normal(rng));
    let synth_x = x.mapv(|v| v)
        + Array2::from_shape_fn(
            (t, 6),
            |(_, j)| if j == 0 { 0.0 } else { 0.3 * normal(rng) },
        );
    let synth_y = x.dot(&Array1::from(beta.to_vec()))
        + 0.5 * &e
        + Array1::from_shape_fn(t, |_| 0.8 * normal(rng));
    let labeled = label(rng, t, n);
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .source("synth", &synth_x, &synth_y)
        .build()
        .expect("valid data")
}

/// A rare binary covariate (8% of rows), whose coefficient is the slope: a handful of
/// labeled rows carry it (leverage near 1/k for k of them); a proxy with normal noise
/// and a synthetic source that shrinks the effect.
fn rare_covariate(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let d: Array1<f64> = (0..t)
        .map(|_| f64::from(u8::from(rng.random::<f64>() < 0.08)))
        .collect();
    let e: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let y = 1.0 + SLOPE * &d + &e;
    let proxy = &y + &Array1::from_shape_fn(t, |_| 0.6 * normal(rng));
    let synth = 1.0 + 0.5 * SLOPE * &d + 0.7 * &e + Array1::from_shape_fn(t, |_| 0.7 * normal(rng));
    one_covariate(rng, n, &d, &y, &[("proxy", &proxy), ("synth", &synth)])
}

/// Logistic at n = 40 (about 30% ones): a proxy flipping 15% of labels.
fn logistic_small(rng: &mut ChaCha8Rng, t: usize, n: usize) -> DataSources {
    let x: Array1<f64> = (0..t).map(|_| normal(rng)).collect();
    let [y, proxy] = logistic_labels(rng, &x, -0.9, 0.15);
    one_covariate(rng, n, &x, &y, &[("proxy", &proxy)])
}

/// One replicate: the default's, the paper's and real-only's slope estimates, and the
/// seven intervals of the table (the bootstrap's NaN when `b` is 0), or `None` when a
/// fit fails.
type Replicate = ([f64; 3], [[f64; 2]; 7], &'static str);

fn replicate<M: MomentModel + Clone + Sync>(
    model: M,
    data: &DataSources,
    b: usize,
    seed: u64,
) -> Option<Replicate> {
    let gmm = TwoStepGmm::new(model.clone());
    let row = |a: &Array2<f64>| [a[[1, 0]], a[[1, 1]]];
    let fit = gmm.fit(data).ok()?;
    let choice = fit
        .cross_choices()
        .map_or("none (unrestricted)", |c| c[1].name());
    let (e, sym, pct) = if b > 0 {
        let boot = Bootstrap::new(b).seed(seed).run(&gmm, data).ok()?;
        let sym = boot
            .conf_int_with(0.05, BootstrapInterval::Symmetric)
            .ok()?;
        let pct = boot
            .conf_int_with(0.05, BootstrapInterval::Percentile)
            .ok()?;
        (boot.estimate().clone(), row(&sym), row(&pct))
    } else {
        (fit.into_estimate(), [f64::NAN; 2], [f64::NAN; 2])
    };
    let paper = TwoStepGmm::new(model.clone())
        .cross_weights(CrossWeights::Unrestricted)
        .estimate(data)
        .ok()?;
    let real = RealOnly::new(model.clone()).estimate(data).ok()?;
    let residual_df = TwoStepGmm::new(model.clone())
        .small_sample(SmallSample::Hc2)
        .fit(data)
        .ok()?;
    let real_residual_df = RealOnly::new(model)
        .small_sample(SmallSample::Hc2)
        .estimate(data)
        .ok()?;
    Some((
        [e.theta()[1], paper.theta()[1], real.theta()[1]],
        [
            row(&e.conf_int(0.05).ok()?),
            sym,
            pct,
            row(&paper.conf_int(0.05).ok()?),
            row(&real.conf_int(0.05).ok()?),
            row(&residual_df.conf_int(0.05).ok()?),
            row(&real_residual_df.conf_int(0.05).ok()?),
        ],
        choice,
    ))
}

/// The design's row of the table, and the shares of the slope's selected weights.
fn run(case: &Case, reps: usize, b: usize) -> (String, String) {
    let results: Vec<Replicate> = (0..reps as u64)
        .into_par_iter()
        .filter_map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(1_000 + r);
            let data = (case.draw)(&mut rng, case.t, case.n);
            if case.logistic {
                replicate(Logistic, &data, b, r)
            } else {
                replicate(Ols, &data, b, r)
            }
        })
        .collect();
    let r = results.len() as f64;
    // The truth: the slope of the data-generating model (for logistic, of the real
    // outcome's model).
    let truth = SLOPE;
    let estimates: Vec<f64> = results.iter().map(|(e, _, _)| e[0]).collect();
    let mean = estimates.iter().sum::<f64>() / r;
    let sd = (estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
    let mse = |k: usize| {
        results
            .iter()
            .map(|(e, _, _)| (e[k] - truth).powi(2))
            .sum::<f64>()
            / r
    };
    let mut cells = vec![
        case.name.to_string(),
        case.t.to_string(),
        case.n.to_string(),
        results.len().to_string(),
        format!("{:+.2}", (mean - truth) / sd),
        format!("{:.2}", mse(0) / mse(1)),
        format!("{:.2}", mse(0) / mse(2)),
    ];
    let analytic_width = median(
        results
            .iter()
            .map(|(_, ci, _)| ci[0][1] - ci[0][0])
            .collect(),
    );
    for k in 0..7 {
        if b == 0 && (k == 1 || k == 2) {
            cells.extend(["—".to_string(), "—".to_string()]);
            continue;
        }
        let covered = results
            .iter()
            .filter(|(_, ci, _)| ci[k][0] <= truth && truth <= ci[k][1])
            .count() as f64
            / r;
        let width = median(
            results
                .iter()
                .map(|(_, ci, _)| ci[k][1] - ci[k][0])
                .collect(),
        );
        cells.push(format!(
            "{:.1}% ± {:.1}",
            100.0 * covered,
            100.0 * (covered * (1.0 - covered) / r).sqrt()
        ));
        if k == 1 || k == 2 {
            cells.push(format!("{:.2}", width / analytic_width));
        }
    }
    (
        format!("| {} |", cells.join(" | ")),
        choice_shares(case, &results),
    )
}

/// "design (n = …): real-only 12%, per-source 73%, …" over the fitted data sets.
fn choice_shares(case: &Case, results: &[Replicate]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (_, _, choice) in results {
        match counts.iter_mut().find(|(c, _)| c == choice) {
            Some((_, k)) => *k += 1,
            None => counts.push((choice, 1)),
        }
    }
    counts.sort_by_key(|(c, _)| *c);
    let shares: Vec<String> = counts
        .iter()
        .map(|(c, k)| format!("{c} {:.0}%", 100.0 * *k as f64 / results.len() as f64))
        .collect();
    format!("- {} (n = {}): {}", case.name, case.n, shares.join(", "))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A design of the table.
fn case(
    key: &'static str,
    name: &'static str,
    (t, n): (usize, usize),
    logistic: bool,
    draw: fn(&mut ChaCha8Rng, usize, usize) -> DataSources,
) -> Case {
    Case {
        key,
        name,
        t,
        n,
        logistic,
        draw,
    }
}

/// The designs, in the order of the table.
fn cases() -> Vec<Case> {
    vec![
        case(
            "leverage",
            "OLS, heteroskedastic with leverage, proxy + synthetic",
            (1_000, 50),
            false,
            heteroskedastic,
        ),
        case("leverage", "same", (3_000, 30), false, heteroskedastic),
        case("leverage", "same", (2_000, 100), false, heteroskedastic),
        case(
            "mixed",
            "OLS, four sources of mixed quality",
            (2_000, 40),
            false,
            mixed_sources,
        ),
        case(
            "heavy",
            "OLS, t(3) errors, proxy with t(2) noise and 5% gross errors",
            (2_000, 40),
            false,
            heavy_tails,
        ),
        case(
            "gross",
            "OLS, normal errors, proxy with normal noise and 5% gross errors",
            (2_000, 40),
            false,
            gross_errors,
        ),
        case(
            "six",
            "OLS, six sources of mixed quality (two biased, one with gross errors)",
            (2_000, 50),
            false,
            six_sources,
        ),
        case(
            "wide",
            "OLS, six coefficients, correlated covariates, heteroskedastic",
            (2_000, 60),
            false,
            wide,
        ),
        case(
            "rare",
            "OLS, the coefficient of a rare binary covariate (8%)",
            (3_000, 60),
            false,
            rare_covariate,
        ),
        case(
            "skewed",
            "OLS, a log-normal outcome: the difference in means of two groups",
            (2_000, 50),
            false,
            skewed_outcome,
        ),
        case("skewed", "same", (2_000, 100), false, skewed_outcome),
        case(
            "logistic-small",
            "logistic, 30% ones, a proxy flipping 15%",
            (2_000, 40),
            true,
            logistic_small,
        ),
        case(
            "logistic-rare",
            "logistic, 5% ones, a model's label (sensitivity 0.75) + synthetic",
            (5_000, 100),
            true,
            logistic_rare,
        ),
        case("logistic-rare", "same", (5_000, 200), true, logistic_rare),
        case("logistic-rare", "same", (5_000, 400), true, logistic_rare),
        case(
            "logistic",
            "logistic, 15% ones, proxy + synthetic",
            (3_000, 100),
            true,
            logistic_low_rate,
        ),
    ]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let reps = args.first().copied().unwrap_or(400);
    let b = args.get(1).copied().unwrap_or(199);
    let keys: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a.parse::<usize>().is_err())
        .collect();
    let cases = cases();
    println!("R = {reps} data sets per design, B = {b} bootstrap replicates; slope coefficient, 95% intervals.\n");
    println!("| design | T | n | fitted | bias / sd | MSE / paper's | MSE / real-only's | default, analytic | default, symmetric bootstrap-t | width | default, percentile | width | paper's estimator (Windmeijer) | real-only (HC2-BM) | default, HC2 + t(n − p) | real-only, HC2 + t(n − p) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut choices = Vec::new();
    for case in cases
        .iter()
        .filter(|c| keys.is_empty() || keys.iter().any(|k| k == c.key))
    {
        let (row, shares) = run(case, reps, b);
        println!("{row}");
        choices.push(shares);
    }
    println!("\nThe default's weights for the slope, share of data sets:\n");
    println!("{}", choices.join("\n"));
}
