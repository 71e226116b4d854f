//! Low labeling rates: the selected cross weights against the paper's unrestricted
//! weights, PPI++ and PPI++Synth, on the README design (T = 3,000, ρ = 0.9; OLS, and
//! logistic where the coupled estimating equation matters).
//!
//! Every comparison is paired (all estimators see the same R = 300 data sets): a claim
//! "A ≤ B" holds when mean(e_A² − e_B²) ≤ 3 standard errors of that mean. Coverage is
//! checked within 3 Monte-Carlo standard errors (√(0.95 · 0.05 / R) = 1.3 points) plus
//! one point of small-sample slack around the nominal 95%.

use rayon::prelude::*;
use synthgmm::baselines::{PpiPlusPlus, PpiSynth};
use synthgmm::models::{Logistic, Ols};
use synthgmm::sim::{SimConfig, SimModel};
use synthgmm::{CrossWeights, Estimate, Estimator, MomentModel, OnSources, TwoStepGmm};

const REPS: u64 = 300;
const X1: usize = 1;

struct Outcomes {
    /// Squared errors of x1, one row per replication, one column per estimator.
    squared: Vec<Vec<f64>>,
    /// Whether each 95% interval covered the truth.
    covered: Vec<Vec<bool>>,
}

fn estimators<M>(model: M) -> Vec<Box<dyn Estimator + Send + Sync>>
where
    M: MomentModel + Clone + Send + Sync + 'static,
{
    vec![
        Box::new(OnSources::new(
            "GMM-Synth",
            TwoStepGmm::new(model.clone()),
            ["proxy", "synth"],
        )),
        Box::new(OnSources::new(
            "GMM-Proxy",
            TwoStepGmm::new(model.clone()),
            ["proxy"],
        )),
        Box::new(OnSources::new(
            "GMM-Synth (paper)",
            TwoStepGmm::new(model.clone()).cross_weights(CrossWeights::Unrestricted),
            ["proxy", "synth"],
        )),
        Box::new(PpiPlusPlus::new(model.clone(), "proxy")),
        Box::new(PpiSynth::new(model, "proxy", "synth")),
    ]
}
const SELECTED: usize = 0;
const SELECTED_PROXY: usize = 1;
const PAPER: usize = 2;
const PPI: usize = 3;
const PPI_SYNTH: usize = 4;

fn design(model: SimModel, rate: f64) -> SimConfig {
    SimConfig::new(model)
        .rows(3000)
        .rho(0.9)
        .labeling_rate(rate)
}

fn run(model: SimModel, rate: f64) -> Outcomes {
    let ests = match model {
        SimModel::Logistic => estimators(Logistic),
        _ => estimators(Ols),
    };
    run_design(&design(model, rate), &ests)
}

fn run_design(cfg: &SimConfig, ests: &[Box<dyn Estimator + Send + Sync>]) -> Outcomes {
    let truth = cfg.theta()[X1];
    // A replication counts when every estimator fits it (PPI++Synth's folds fail on a
    // few of the smallest samples).
    let per_rep: Vec<(Vec<f64>, Vec<bool>)> = (0..REPS)
        .into_par_iter()
        .filter_map(|r| {
            let data = cfg.simulate(7_000 + r).unwrap();
            let fits: Vec<Estimate> = ests
                .iter()
                .map(|e| e.estimate(&data).ok())
                .collect::<Option<_>>()?;
            Some(
                fits.iter()
                    .map(|est| {
                        let err = est.theta()[X1] - truth;
                        let ci = est.conf_int(0.05).unwrap();
                        (err * err, ci[[X1, 0]] <= truth && truth <= ci[[X1, 1]])
                    })
                    .unzip(),
            )
        })
        .collect();
    assert!(
        per_rep.len() as f64 >= 0.98 * REPS as f64,
        "{} fitted",
        per_rep.len()
    );
    let (squared, covered) = per_rep.into_iter().unzip();
    Outcomes { squared, covered }
}

impl Outcomes {
    fn mse(&self, e: usize) -> f64 {
        self.squared.iter().map(|r| r[e]).sum::<f64>() / self.squared.len() as f64
    }
    fn coverage(&self, e: usize) -> f64 {
        self.covered.iter().filter(|r| r[e]).count() as f64 / self.covered.len() as f64
    }
    /// Whether MSE(a) ≤ factor · MSE(b) within 3 paired standard errors.
    fn at_most(&self, a: usize, factor: f64, b: usize) -> bool {
        let d: Vec<f64> = self.squared.iter().map(|r| r[a] - factor * r[b]).collect();
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let sd = (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        mean <= 3.0 * sd / n.sqrt()
    }
    fn report(&self, rate: f64) {
        let names = ["selected", "selected proxy", "paper", "PPI++", "PPI++Synth"];
        for (e, name) in names.iter().enumerate() {
            println!(
                "rate {rate}: {name:<15} MSE {:.3e}  coverage {:.3}",
                self.mse(e),
                self.coverage(e)
            );
        }
    }
}

impl Outcomes {
    /// Adding the synthetic source does not raise the MSE beyond Monte-Carlo error, and
    /// the selected intervals cover.
    fn assert_source_does_no_harm_and_covers(&self, rate: f64) {
        assert!(
            self.at_most(SELECTED, 1.0, SELECTED_PROXY),
            "rate {rate}: source hurts"
        );
        assert!(
            covers(self, SELECTED),
            "rate {rate}: {}",
            self.coverage(SELECTED)
        );
    }
}

fn covers(o: &Outcomes, e: usize) -> bool {
    let se = (0.95 * 0.05 / o.covered.len() as f64).sqrt();
    (o.coverage(e) - 0.95).abs() <= 3.0 * se + 0.01
}

#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn selected_weights_hold_up_where_labels_are_scarcest() {
    for rate in [0.01, 0.02] {
        let o = run(SimModel::Ols, rate);
        o.report(rate);
        // Better than the paper's unrestricted weights, and adding the synthetic source
        // does not hurt beyond Monte-Carlo error.
        assert!(o.at_most(SELECTED, 1.0, PAPER), "rate {rate}: vs paper");
        o.assert_source_does_no_harm_and_covers(rate);
        // Against PPI++ and PPI++Synth: within 5% (the low-labeling goal) at n = 30
        // and n = 60.
        for other in [PPI, PPI_SYNTH] {
            assert!(o.at_most(SELECTED, 1.05, other), "rate {rate}: vs {other}");
        }
    }
}

#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn nothing_is_lost_where_labels_are_plentiful() {
    let o = run(SimModel::Ols, 0.2);
    o.report(0.2);
    assert!(o.at_most(SELECTED, 1.0, PAPER));
    assert!(o.at_most(PAPER, 1.0, SELECTED));
    assert!(covers(&o, SELECTED), "{}", o.coverage(SELECTED));
}

/// Logistic regression at 2% and 5% labeled (n = 60, 150): the coupled equation and the
/// pilot put the selected weights ahead of PPI++Synth (whose cross-fitted synthetic
/// correction the linear form trailed by 15% at 2%) and of the paper's weights.
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn logistic_selected_weights_lead_at_low_labeling_rates() {
    for rate in [0.02, 0.05] {
        let o = run(SimModel::Logistic, rate);
        o.report(rate);
        for other in [PAPER, PPI, PPI_SYNTH] {
            assert!(o.at_most(SELECTED, 1.0, other), "rate {rate}: vs {other}");
        }
        o.assert_source_does_no_harm_and_covers(rate);
    }
}

/// Three sources at 1% labeled (n = 30; the proxy and two synthetic sources): each
/// added source costs nothing beyond Monte-Carlo error, and the intervals cover.
#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn adding_sources_does_no_harm_at_one_percent() {
    let rate = 0.01;
    let on = |name: &str, sources: &[&str]| -> Box<dyn Estimator + Send + Sync> {
        Box::new(OnSources::new(name, TwoStepGmm::new(Ols), sources.to_vec()))
    };
    let ests = [
        on("GMM-All", &["proxy", "synth", "synth2"]),
        on("GMM-Synth", &["proxy", "synth"]),
        on("GMM-Proxy", &["proxy"]),
    ];
    let o = run_design(&design(SimModel::Ols, rate).n_synthetic(2), &ests);
    let (all, synth, proxy) = (0, 1, 2);
    for (e, name) in ["GMM-All", "GMM-Synth", "GMM-Proxy"].iter().enumerate() {
        println!(
            "rate {rate}: {name:<9} MSE {:.3e}  coverage {:.3}",
            o.mse(e),
            o.coverage(e)
        );
    }
    assert!(o.at_most(all, 1.0, synth), "third source hurts");
    assert!(o.at_most(all, 1.0, proxy), "synthetic sources hurt");
    assert!(o.at_most(synth, 1.0, proxy), "synthetic source hurts");
    for e in [all, synth] {
        assert!(covers(&o, e), "{}: {}", e, o.coverage(e));
    }
}
