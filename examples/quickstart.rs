//! Real-only, GMM-Proxy and GMM-Synth side by side on a reference data set, then every
//! baseline estimator through the common `Estimator` interface.
//!
//! `examples/data/reference_ols.csv`: T = 3000 rows, 300 human-labeled, a proxy source
//! (model predictions on every row) and a synthetic source (one generated sample per
//! row), OLS target with an intercept and two covariates.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use ndarray::{Array1, Array2};
use synthgmm::baselines::{Dsl, NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
use synthgmm::models::Ols;
use synthgmm::{DataSources, Estimate, Estimator, GmmFit, OnSources, TwoStepGmm};

fn load(path: &str) -> Result<DataSources, Box<dyn std::error::Error>> {
    let mut reader = csv::Reader::from_path(path)?;
    let headers = reader.headers()?.clone();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let column = |name: &str| -> Result<Array1<f64>, Box<dyn std::error::Error>> {
        let c = headers
            .iter()
            .position(|h| h == name)
            .ok_or(format!("no column {name}"))?;
        rows.iter()
            .map(|r| {
                Ok(if r[c].is_empty() {
                    f64::NAN
                } else {
                    r[c].parse()?
                })
            })
            .collect()
    };
    let block = |prefix: &str| -> Result<(Array2<f64>, Array1<f64>), Box<dyn std::error::Error>> {
        let xs: Vec<Array1<f64>> = (0..3)
            .map(|j| column(&format!("{prefix}x{j}")))
            .collect::<Result<_, _>>()?;
        let x = Array2::from_shape_fn((rows.len(), 3), |(i, j)| xs[j][i]);
        Ok((x, column(&format!("{prefix}y"))?))
    };
    let labeled: Vec<bool> = column("labeled")?.iter().map(|&v| v == 1.0).collect();
    let (x, y) = block("")?;
    let (px, py) = block("proxy_")?;
    let (sx, sy) = block("synth_")?;
    Ok(DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &px, &py)
        .source("synth", &sx, &sy)
        .covariate_names(["intercept", "x1", "x2"])
        .build()?)
}

/// The three GMM variants, with their full diagnostics, printed and returned.
fn print_gmm_fits(
    data: &DataSources,
) -> Result<Vec<(&'static str, GmmFit)>, Box<dyn std::error::Error>> {
    let gmm = TwoStepGmm::new(Ols);
    let fits: Vec<(&str, GmmFit)> = vec![
        ("Real-only", gmm.fit(&data.select_sources(&[])?)?),
        ("GMM-Proxy", gmm.fit(&data.select_sources(&["proxy"])?)?),
        ("GMM-Synth", gmm.fit(data)?),
    ];
    println!(
        "T = {} rows, n = {} labeled; 95% intervals\n",
        data.n_rows(),
        data.n_labeled()
    );
    println!(
        "{:<11} {:<10} {:>8} {:>8} {:>20} {:>8}",
        "estimator", "coef", "estimate", "se", "95% CI", "eff. n"
    );
    for (name, fit) in &fits {
        let ci = fit.conf_int(0.05)?;
        let ess = fit.effective_sample_size();
        for (j, coef) in data.covariate_names().iter().enumerate() {
            let interval = format!("[{:.3}, {:.3}]", ci[[j, 0]], ci[[j, 1]]);
            println!(
                "{:<11} {:<10} {:>8.4} {:>8.4} {:>20} {:>8.0}",
                name,
                coef,
                fit.theta()[j],
                fit.se()[j],
                interval,
                ess[j]
            );
        }
        let j = fit.j_test();
        let p = j.p_value.map_or("n/a".into(), |p| format!("{p:.3}"));
        println!(
            "{:<11} J = {:.3} on {} df, p = {p}\n",
            "", j.statistic, j.df
        );
    }
    Ok(fits)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/reference_ols.csv"
    );
    let data = load(path)?;

    let fits = print_gmm_fits(&data)?;

    // Every estimator, through the common `Estimator` interface, on the same data.
    let estimators: Vec<Box<dyn Estimator>> = vec![
        Box::new(RealOnly::new(Ols)),
        Box::new(NaivePooled::new(Ols, ["proxy", "synth"])),
        Box::new(PpiPlusPlus::new(Ols, "proxy")),
        Box::new(PpiSynth::new(Ols, "proxy", "synth")),
        Box::new(Dsl::new(Ols, "proxy")),
        Box::new(RePpi::new(Ols, ["proxy"])),
        Box::new(OnSources::new("GMM-Proxy", TwoStepGmm::new(Ols), ["proxy"])),
        Box::new(OnSources::new(
            "GMM-Synth",
            TwoStepGmm::new(Ols),
            ["proxy", "synth"],
        )),
    ];
    let estimates: Vec<Estimate> = estimators
        .iter()
        .map(|e| e.estimate(&data))
        .collect::<Result<_, _>>()?;
    let real_se = estimates[0].se();
    let n = data.n_labeled() as f64;
    println!("All estimators, coefficient x1 (effective n = n · se²_real-only / se²):\n");
    println!(
        "{:<30} {:>8} {:>8} {:>20} {:>8}",
        "estimator", "estimate", "se", "95% CI", "eff. n"
    );
    for e in &estimates {
        let ci = e.conf_int(0.05)?;
        let interval = format!("[{:.3}, {:.3}]", ci[[1, 0]], ci[[1, 1]]);
        let ess = n * (real_se[1] / e.se()[1]).powi(2);
        println!(
            "{:<30} {:>8.4} {:>8.4} {:>20} {:>8.0}",
            e.estimator(),
            e.theta()[1],
            e.se()[1],
            interval,
            ess
        );
    }
    println!(
        "\n(Naive pooling counts every auxiliary row as real: its interval is narrow and biased.)"
    );
    println!("\nFull summary of GMM-Synth:\n\n{}", fits[2].1);
    Ok(())
}
