//! The statistical promises, checked by Monte-Carlo with fixed seeds.
//!
//! Tolerances follow from the replication count R: a coverage estimate has Monte-Carlo
//! standard error √(0.95 · 0.05 / R), 0.49 percentage points at R = 2,000, so the band
//! [93.5%, 96.5%] is ±3 standard errors around the nominal 95%.

use rayon::prelude::*;
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::Ols;
use synthgmm::sim::{GridPoint, Labeling, McReport, MonteCarlo, SimConfig, SimModel};
use synthgmm::{Covariance, CrossWeights, Estimator, OnSources, SmallSample, TwoStepGmm};

const COEFS: [&str; 3] = ["intercept", "x1", "x2"];

fn gmm_synth(cov: Covariance, name: &str) -> Box<dyn Estimator + Send + Sync> {
    Box::new(OnSources::new(
        name,
        TwoStepGmm::new(Ols)
            .cross_weights(CrossWeights::Unrestricted)
            .covariance(cov),
        ["proxy", "synth"],
    ))
}

fn rho_grid(rows: usize, rate: f64, rhos: &[f64]) -> Vec<GridPoint> {
    rhos.iter()
        .map(|&rho| {
            GridPoint::new(
                "rho",
                rho,
                SimConfig::new(SimModel::Ols)
                    .rows(rows)
                    .labeling_rate(rate)
                    .rho(rho),
            )
        })
        .collect()
}

fn row<'a>(r: &'a McReport, est: &str, value: f64, coef: &str) -> &'a synthgmm::sim::McRow {
    r.find(est, value, coef)
        .unwrap_or_else(|| panic!("no row {est} {value} {coef}"))
}

/// n = 300, T = 3000, R = 2,000 per ρ: GMM-Synth's 95% intervals (default covariance)
/// cover the slope within [93.5%, 96.5%], and every coefficient at least 93% (the
/// intercept shares the HC0 sandwich's own small-sample shortfall: real-only's covers
/// about 94%); at ρ = 0 (useless sources) the intervals are within 3% of real-only's
/// width.
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn gmm_synth_covers_and_does_no_harm() {
    let rhos = [0.0, 0.5, 0.9];
    let est = vec![
        Box::new(RealOnly::new(Ols)) as Box<dyn Estimator + Send + Sync>,
        gmm_synth(Covariance::default(), "GMM-Synth"),
    ];
    let report = MonteCarlo::new(2000)
        .seed(11)
        .progress(false)
        .run(&rho_grid(3000, 0.1, &rhos), &est)
        .unwrap();
    println!("{}", report.table("x1"));
    for rho in rhos {
        for coef in COEFS {
            let r = row(&report, "GMM-Synth", rho, coef);
            assert_eq!(r.failures, 0);
            let band = if coef == "x1" {
                0.935..=0.965
            } else {
                0.93..=0.965
            };
            assert!(
                band.contains(&r.coverage),
                "ρ = {rho}, {coef}: coverage {}",
                r.coverage
            );
        }
    }
    for coef in COEFS {
        let ratio = row(&report, "GMM-Synth", 0.0, coef).mean_ci_width
            / row(&report, "Real-only", 0.0, coef).mean_ci_width;
        assert!(
            (0.97..=1.03).contains(&ratio),
            "{coef}: width ratio {ratio}"
        );
    }
}

/// ρ = 0.9, 5% labeled, R = 1,000: GMM-Synth's MSE is below half of real-only's and
/// below PPI++ with the proxy, judged by the paired per-replication differences of
/// squared errors (mean difference at least two Monte-Carlo standard errors below 0).
///
/// Measured with n = 600 of T = 12,000, where the asymptotics the claim rests on apply.
/// With n = 150 of T = 3,000 the two MSEs are within 2% of each other in either order
/// (GMM's 15 × 15 weight estimated from 150 labeled rows costs what its efficiency
/// gains), see `docs/validation.md`.
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn gmm_synth_gains_when_sources_are_informative() {
    let cfg = SimConfig::new(SimModel::Ols)
        .rows(12_000)
        .labeling_rate(0.05)
        .rho(0.9);
    let truth = cfg.theta();
    let reps = 1000u64;
    let errors: Vec<[[f64; 3]; 3]> = (0..reps)
        .into_par_iter()
        .map(|r| {
            let data = cfg.simulate(40_000 + r).unwrap();
            let fits = [
                RealOnly::new(Ols).estimate(&data).unwrap(),
                PpiPlusPlus::new(Ols, "proxy").estimate(&data).unwrap(),
                TwoStepGmm::new(Ols).estimate(&data).unwrap(),
            ];
            fits.map(|e| [0, 1, 2].map(|j| (e.theta()[j] - truth[j]).powi(2)))
        })
        .collect();
    let n = reps as f64;
    for (j, coef) in COEFS.iter().enumerate() {
        let mse = |k: usize| errors.iter().map(|e| e[k][j]).sum::<f64>() / n;
        let (real, ppi, gmm) = (mse(0), mse(1), mse(2));
        let diffs: Vec<f64> = errors.iter().map(|e| e[2][j] - e[1][j]).collect();
        let mean = diffs.iter().sum::<f64>() / n;
        let se = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
        println!("{coef}: MSE real-only {real:.3e}, PPI++ {ppi:.3e}, GMM-Synth {gmm:.3e}; GMM − PPI++ = {mean:.2e} ± {se:.1e}");
        assert!(gmm < 0.5 * real, "{coef}: GMM {gmm} vs real-only {real}");
        assert!(mean < -2.0 * se, "{coef}: GMM − PPI++ = {mean} ± {se}");
    }
}

/// n = 100 of T = 1,000, R = 2,000 per ρ. The textbook two-step covariance under-covers;
/// Windmeijer's correction brings the coverage, averaged over the three coefficients,
/// to at least 93.5% (real-only, the exact-in-the-limit benchmark, sits near 94%).
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn windmeijer_restores_small_sample_coverage() {
    let rhos = [0.0, 0.9];
    let est = vec![
        Box::new(RealOnly::new(Ols)) as Box<dyn Estimator + Send + Sync>,
        gmm_synth(Covariance::Reestimated, "GMM-Synth"),
        gmm_synth(Covariance::Windmeijer, "GMM-Synth (Windmeijer)"),
    ];
    let report = MonteCarlo::new(2000)
        .seed(13)
        .progress(false)
        .run(&rho_grid(1000, 0.1, &rhos), &est)
        .unwrap();
    for coef in COEFS {
        println!("{coef}\n{}", report.table(coef));
    }
    let pooled = |name: &str, rho: f64| {
        COEFS
            .iter()
            .map(|c| row(&report, name, rho, c).coverage)
            .sum::<f64>()
            / 3.0
    };
    for rho in rhos {
        let (plain, corrected) = (
            pooled("GMM-Synth", rho),
            pooled("GMM-Synth (Windmeijer)", rho),
        );
        println!("ρ = {rho}: pooled coverage {plain:.4} → {corrected:.4}");
        assert!(
            corrected >= 0.935,
            "ρ = {rho}: corrected coverage {corrected}"
        );
        assert!(corrected > plain + 0.01, "ρ = {rho}: {plain} → {corrected}");
        for coef in COEFS {
            let r = row(&report, "GMM-Synth (Windmeijer)", rho, coef);
            assert!(r.coverage >= 0.925, "ρ = {rho}, {coef}: {}", r.coverage);
        }
    }
}

/// The small-sample default (leverage-corrected real residuals, Bell–McCaffrey t
/// quantiles): T = 1,000, ρ = 0.9, errors with Var(ε | x) = (1 + 2x₁²)/3. At n = 50 the
/// slope's 95% interval covers at least 93% (R = 10,000: Monte-Carlo standard error
/// 0.26 points; the bound is 93% less one of them), where the uncorrected one covers
/// about 90%. At n = 300, with heteroskedastic or homoskedastic errors (paired widths,
/// R = 2,000 each), the leverage correction with t(n − p) quantiles (HC2) widens the
/// intervals by at most 2% over the uncorrected ones, and the Bell–McCaffrey degrees of
/// freedom by at most 1% more (t_{ν,0.975}/t_{n−p,0.975} with ν ≈ n/3 for normal
/// covariates: 0.8%).
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn small_sample_default_covers_at_n_50() {
    let est = vec![
        Box::new(OnSources::new(
            "default",
            TwoStepGmm::new(Ols),
            ["proxy", "synth"],
        )) as Box<dyn Estimator + Send + Sync>,
        Box::new(OnSources::new(
            "HC0",
            TwoStepGmm::new(Ols).small_sample(SmallSample::Hc0),
            ["proxy", "synth"],
        )),
        Box::new(OnSources::new(
            "HC2",
            TwoStepGmm::new(Ols).small_sample(SmallSample::Hc2),
            ["proxy", "synth"],
        )),
    ];
    let design = |n: f64, h: f64| {
        GridPoint::new(
            "n",
            n,
            SimConfig::new(SimModel::Ols)
                .rows(1000)
                .labeling_rate(n / 1000.0)
                .rho(0.9)
                .heteroskedasticity(h),
        )
    };
    let small = MonteCarlo::new(10_000)
        .seed(21)
        .progress(false)
        .run(&[design(50.0, 2.0)], &est)
        .unwrap();
    println!("n = 50, heteroskedastic\n{}", small.table("x1"));
    let covered = row(&small, "default", 50.0, "x1").coverage;
    let uncorrected = row(&small, "HC0", 50.0, "x1").coverage;
    let mcse = (0.93 * 0.07 / 10_000.0f64).sqrt();
    assert!(covered >= 0.93 - mcse, "n = 50: {covered}");
    assert!(covered > uncorrected + 0.015, "{uncorrected} → {covered}");
    for h in [2.0, 0.0] {
        let large = MonteCarlo::new(2000)
            .seed(22)
            .progress(false)
            .run(&[design(300.0, h)], &est)
            .unwrap();
        let width = |name| row(&large, name, 300.0, "x1").mean_ci_width;
        let leverage = width("HC2") / width("HC0");
        let dof = width("default") / width("HC2");
        println!("n = 300, heteroskedasticity {h}: width ratios HC2/HC0 {leverage:.4}, default/HC2 {dof:.4}");
        assert!(
            (1.0..=1.02).contains(&leverage),
            "n = 300, h = {h}: {leverage}"
        );
        assert!((1.0..=1.01).contains(&dof), "n = 300, h = {h}: {dof}");
    }
}

/// The J test at nominal 5%: under random labeling it rejects at about 5% (R = 2,000,
/// band ±3 Monte-Carlo standard errors); when labeling depends on x₁ and the estimator
/// ignores it while a source's error depends on x₁ nonlinearly, it rejects far more
/// often (power; printed). (With every source linear in x, labeling on x leaves the
/// restrictions true and the J test rightly has no power.)
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn j_test_level_and_power() {
    let rejection_rate = |cfg: SimConfig, weighted: bool, reps: usize, seed: u64| -> f64 {
        let rejected: usize = (0..reps as u64)
            .into_par_iter()
            .map(|r| {
                let data = cfg.simulate(seed * 1_000_000 + r).unwrap();
                // The J statistic does not depend on the covariance choice; skip the correction.
                let fit = TwoStepGmm::new(Ols)
                    .covariance(Covariance::Reestimated)
                    .use_labeling_probabilities(weighted)
                    .fit(&data)
                    .unwrap();
                usize::from(fit.j_test().p_value.unwrap() < 0.05)
            })
            .sum();
        rejected as f64 / reps as f64
    };
    let base = SimConfig::new(SimModel::Ols)
        .rows(3000)
        .labeling_rate(0.1)
        .rho(0.5);
    let level = rejection_rate(base.clone(), true, 2000, 1);
    println!("J test rejection rate under random labeling: {level:.4}");
    assert!((0.035..=0.065).contains(&level), "level {level}");
    let selective = base.proxy_curvature(0.5).labeling(Labeling::ByCovariate {
        low: 0.05,
        high: 0.15,
    });
    let power = rejection_rate(selective.clone(), false, 500, 2);
    let weighted = rejection_rate(selective, true, 500, 3);
    println!("covariate-dependent labeling: power unweighted {power:.3}, weighted (known π) {weighted:.3}");
    // Power depends on how strongly selection and the source's curvature interact; here
    // it is several times the level.
    assert!(power > 0.25, "power {power}");
    // Weighted with the true π the restrictions hold again (R = 500: se ≈ 1%).
    assert!(weighted < 0.09, "weighted rejection rate {weighted}");
}

/// The small-sample table of `docs/validation.md` (n = 50 and 100 of T = 1,000; ρ = 0,
/// 0.5, 0.9; R = 2,000): a report, not a check, printed only with
/// `SYNTHGMM_REPORTS=1 cargo test --release --features sim --test integration validity:: -- --ignored --nocapture`.
#[test]
#[ignore = "a report (minutes); set SYNTHGMM_REPORTS=1 to print it"]
fn small_sample_report() {
    if std::env::var_os("SYNTHGMM_REPORTS").is_none() {
        println!("small_sample_report: set SYNTHGMM_REPORTS=1 to print the table");
        return;
    }
    let est = vec![
        Box::new(RealOnly::new(Ols)) as Box<dyn Estimator + Send + Sync>,
        gmm_synth(Covariance::Reestimated, "GMM-Synth (textbook)"),
        gmm_synth(Covariance::Windmeijer, "GMM-Synth (Windmeijer)"),
    ];
    for rate in [0.05, 0.1] {
        let report = MonteCarlo::new(2000)
            .seed(14)
            .run(&rho_grid(1000, rate, &[0.0, 0.5, 0.9]), &est)
            .unwrap();
        for coef in COEFS {
            println!(
                "n = {}, {coef}\n{}",
                (rate * 1000.0) as usize,
                report.table(coef)
            );
        }
    }
}
