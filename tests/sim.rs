//! The simulation module: DGPs recover their stated truth, and the runner's bookkeeping.

use synthgmm::baselines::RealOnly;
use synthgmm::models::{Logistic, Ols};
use synthgmm::sim::{GridPoint, Labeling, MonteCarlo, SimConfig, SimModel};
use synthgmm::{DataSources, Error, Estimate, Estimator, TwoStepGmm};

/// With every row labeled and T = 200,000 the real-only estimate is within 4 standard
/// errors of the DGP's stated θ, for both targets (a check that θ is the estimand).
#[test]
fn dgps_recover_their_truth() {
    for model in [SimModel::Ols, SimModel::Logistic] {
        let cfg = SimConfig::new(model)
            .rows(200_000)
            .labeling_rate(1.0)
            .n_synthetic(0);
        let data = cfg.simulate(5).unwrap();
        let est = match model {
            SimModel::Ols => RealOnly::new(Ols).estimate(&data).unwrap(),
            _ => RealOnly::new(Logistic).estimate(&data).unwrap(),
        };
        for j in 0..3 {
            let z = (est.theta()[j] - cfg.theta()[j]) / est.se()[j];
            assert!(z.abs() < 4.0, "{model:?} coefficient {j}: z = {z}");
        }
    }
}

#[test]
fn designs_have_the_requested_shape() {
    let cfg = SimConfig::new(SimModel::Logistic)
        .rows(2000)
        .labeling_rate(0.05)
        .n_synthetic(3);
    let data = cfg.simulate(1).unwrap();
    assert_eq!(data.source_names(), ["proxy", "synth", "synth2", "synth3"]);
    assert_eq!(data.n_labeled(), 100);
    assert!(data
        .sources()
        .iter()
        .all(|s| s.y().iter().all(|&v| v == 0.0 || v == 1.0)));
    // Different seeds, different data; same seed, same data.
    assert_ne!(cfg.simulate(2).unwrap().real_y(), data.real_y());
    assert_eq!(
        cfg.simulate(1).unwrap().sources()[2].x(),
        data.sources()[2].x()
    );

    let by_x = SimConfig::new(SimModel::Ols)
        .rows(20_000)
        .labeling(Labeling::ByCovariate {
            low: 0.05,
            high: 0.25,
        });
    let data = by_x.simulate(3).unwrap();
    let pi = data.labeling_probabilities().unwrap();
    assert!(pi.iter().all(|&p| p == 0.05 || p == 0.25));
    // Expected labeled count 20,000 × 0.15 = 3,000 (sd ≈ 50).
    assert!(
        (2800..3200).contains(&data.n_labeled()),
        "{}",
        data.n_labeled()
    );
    assert!(matches!(
        SimConfig::new(SimModel::Ols).rho(1.0).simulate(0),
        Err(Error::InvalidConfig {
            parameter: "rho",
            ..
        })
    ));
}

/// An estimator that always fails: its failures are counted, never dropped.
struct Broken;
impl Estimator for Broken {
    fn name(&self) -> String {
        "broken".into()
    }
    fn estimate(&self, _: &DataSources) -> synthgmm::Result<Estimate> {
        Err(Error::NoLabeledRows)
    }
}

#[test]
fn runner_counts_failures_and_writes_tidy_csv() {
    let grid = vec![
        GridPoint::new(
            "labeling_rate",
            0.1,
            SimConfig::new(SimModel::Ols).rows(500).labeling_rate(0.1),
        ),
        GridPoint::new(
            "labeling_rate",
            0.2,
            SimConfig::new(SimModel::Ols).rows(500).labeling_rate(0.2),
        ),
    ];
    let est: Vec<Box<dyn Estimator + Send + Sync>> = vec![
        Box::new(RealOnly::new(Ols)),
        Box::new(TwoStepGmm::new(Ols)),
        Box::new(Broken),
    ];
    let report = MonteCarlo::new(40)
        .seed(9)
        .progress(false)
        .run(&grid, &est)
        .unwrap();
    assert_eq!(report.rows.len(), 2 * 3 * 3);
    let broken = report.find("broken", 0.2, "x1").unwrap();
    assert_eq!((broken.failures, broken.reps), (40, 40));
    assert!(broken.mse.is_nan() && broken.coverage.is_nan());
    let real = report.find("Real-only", 0.1, "x1").unwrap();
    assert_eq!(real.failures, 0);
    assert_eq!(real.mean_labeled, 50.0);
    assert!((real.ess - 50.0).abs() < 1e-9); // its own reference
    let c = real.coverage;
    assert!((real.coverage_mcse - (c * (1.0 - c) / 40.0).sqrt()).abs() < 1e-12);
    let csv_of = |r: &synthgmm::sim::McReport| {
        let mut csv = Vec::new();
        r.write_csv(&mut csv).unwrap();
        String::from_utf8(csv).unwrap()
    };
    let text = csv_of(&report);
    // Same seed, same report, whatever the thread count.
    let again = MonteCarlo::new(40)
        .seed(9)
        .progress(false)
        .run(&grid, &est)
        .unwrap();
    assert_eq!(csv_of(&again), text);
    assert_eq!(text.lines().count(), 1 + 18);
    assert!(text.starts_with("estimator,knob,value,coefficient,reps,failures"));
    assert!(MonteCarlo::new(0).run(&grid, &est).is_err());
}
