//! Coverage of a proportion's 95% interval at small n: the logit interval every
//! estimator now forms for the mean of a 0/1 outcome, against the Wald interval
//! θ̂ ± c·se of the same fits.
//!
//! Each design draws R data sets of 0/1 labels at a prevalence, n of T rows labeled at
//! random, and the sources an annotation study has: a binary proxy (a model's label,
//! with its sensitivity and specificity), a weaker synthetic source, or a model's
//! probability score. Only the data sets with at least one positive labeled row are
//! fitted (none of the four estimators can fit the others: a typed error); the table
//! says how many.
//! Coverage is printed with its Monte-Carlo standard error √(c(1 − c)/R).
//!
//! ```text
//! cargo run --release --example proportion_validity -- 2000
//! ```

#[path = "support/labeling.rs"]
mod labeling;
use labeling::label_at_random;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use rayon::prelude::*;
use synthgmm::baselines::{PpiPlusPlus, RealOnly};
use synthgmm::models::Mean;
use synthgmm::{CrossWeights, DataSources, Estimate, Estimator, TwoStepGmm};

/// The sources of a design.
#[derive(Clone, Copy)]
enum Sources {
    /// A binary proxy (sensitivity, specificity) and a synthetic source (0.6, 0.7).
    ProxyAndSynthetic(f64, f64),
    /// A binary proxy alone (sensitivity, specificity).
    Proxy(f64, f64),
    /// A model's probability score: Beta(4, 2) on positives, Beta(1, 6) on negatives.
    Score,
}

struct Case {
    name: &'static str,
    prevalence: f64,
    t: usize,
    sources: Sources,
    ns: &'static [usize],
}

fn draw(case: &Case, n: usize, seed: u64) -> DataSources {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = case.t;
    let flag = |rng: &mut ChaCha8Rng, p: f64| f64::from(u8::from(rng.random::<f64>() < p));
    let y: Array1<f64> = (0..t).map(|_| flag(&mut rng, case.prevalence)).collect();
    let binary = |rng: &mut ChaCha8Rng, (sens, spec): (f64, f64)| -> Array1<f64> {
        y.mapv(|v| {
            if v == 1.0 {
                flag(rng, sens)
            } else {
                flag(rng, 1.0 - spec)
            }
        })
    };
    let sources: Vec<(&str, Array1<f64>)> = match case.sources {
        Sources::ProxyAndSynthetic(sens, spec) => vec![
            ("proxy", binary(&mut rng, (sens, spec))),
            ("synth", binary(&mut rng, (0.6, 0.7))),
        ],
        Sources::Proxy(sens, spec) => vec![("proxy", binary(&mut rng, (sens, spec)))],
        Sources::Score => {
            let (pos, neg) = (Beta::new(4.0, 2.0).unwrap(), Beta::new(1.0, 6.0).unwrap());
            let score = y.mapv(|v| {
                if v == 1.0 {
                    pos.sample(&mut rng)
                } else {
                    neg.sample(&mut rng)
                }
            });
            vec![("score", score)]
        }
    };
    let labeled = label_at_random(&mut rng, t, n);
    let x = Array2::ones((t, 1));
    let builder = DataSources::builder(&labeled).real(&x, &y);
    sources
        .iter()
        .fold(builder, |b, (name, values)| b.source(*name, &x, values))
        .build()
        .expect("valid data")
}

/// Whether the logit interval and the Wald interval of `e` cover `truth`, and their
/// widths.
fn covers(e: &Estimate, truth: f64) -> [f64; 4] {
    let ci = e.conf_int(0.05).expect("interval");
    let c = e.critical_values(0.05).expect("critical value")[0];
    let (theta, se) = (e.theta()[0], e.se()[0]);
    let inside = |lo: f64, hi: f64| f64::from(u8::from(lo <= truth && truth <= hi));
    [
        inside(ci[[0, 0]], ci[[0, 1]]),
        inside(theta - c * se, theta + c * se),
        ci[[0, 1]] - ci[[0, 0]],
        2.0 * c * se,
    ]
}

fn estimators(sources: Sources) -> Vec<(&'static str, Box<dyn Estimator + Sync>)> {
    let first = match sources {
        Sources::Score => "score",
        _ => "proxy",
    };
    vec![
        ("default", Box::new(TwoStepGmm::new(Mean))),
        (
            "paper's",
            Box::new(TwoStepGmm::new(Mean).cross_weights(CrossWeights::Unrestricted)),
        ),
        ("real-only", Box::new(RealOnly::new(Mean))),
        ("PPI++", Box::new(PpiPlusPlus::new(Mean, first))),
    ]
}

fn main() {
    let r: u64 = std::env::args()
        .nth(1)
        .map_or(2_000, |a| a.parse().expect("R"));
    let cases = [
        Case {
            name: "10% positive, proxy (0.8, 0.9) + synthetic (0.6, 0.7)",
            prevalence: 0.1,
            t: 2_000,
            sources: Sources::ProxyAndSynthetic(0.8, 0.9),
            ns: &[30, 50, 100, 300],
        },
        Case {
            name: "3% positive, a probability score",
            prevalence: 0.03,
            t: 10_000,
            sources: Sources::Score,
            ns: &[100, 300, 1_000],
        },
        Case {
            name: "30% positive, proxy (0.9, 0.85)",
            prevalence: 0.3,
            t: 2_000,
            sources: Sources::Proxy(0.9, 0.85),
            ns: &[30, 50, 100],
        },
        Case {
            name: "50% positive, proxy (0.95, 0.6)",
            prevalence: 0.5,
            t: 2_000,
            sources: Sources::Proxy(0.95, 0.6),
            ns: &[30, 100],
        },
    ];
    println!("| design | T | n | fitted | estimator | logit interval | Wald interval | width, logit / Wald |");
    println!("|---|---|---|---|---|---|---|---|");
    for case in &cases {
        for &n in case.ns {
            let fits: Vec<Vec<Option<[f64; 4]>>> = (0..r)
                .into_par_iter()
                .filter_map(|rep| {
                    let data = draw(case, n, 7_919 * rep + n as u64);
                    data.real_y().iter().any(|&v| v == 1.0).then(|| {
                        estimators(case.sources)
                            .iter()
                            .map(|(_, e)| {
                                e.estimate(&data).ok().map(|e| covers(&e, case.prevalence))
                            })
                            .collect()
                    })
                })
                .collect();
            for (k, (label, _)) in estimators(case.sources).iter().enumerate() {
                let ok: Vec<[f64; 4]> = fits.iter().filter_map(|f| f[k]).collect();
                let m = ok.len() as f64;
                let mean = |i: usize| ok.iter().map(|o| o[i]).sum::<f64>() / m;
                let cell = |c: f64| {
                    format!(
                        "{:.1}% ± {:.1}",
                        100.0 * c,
                        100.0 * (c * (1.0 - c) / m).sqrt()
                    )
                };
                println!(
                    "| {} | {} | {n} | {} | {label} | {} | {} | {:.2} |",
                    case.name,
                    case.t,
                    ok.len(),
                    cell(mean(0)),
                    cell(mean(1)),
                    mean(2) / mean(3)
                );
            }
        }
    }
}
