//! Planning: standard errors predicted from a pilot at n = 100 against the realized
//! spread of the estimates at larger designs.
//!
//! The realized standard deviation over R = 500 replications has relative Monte-Carlo
//! error about 1/√(2R) = 3.2%; the prediction is the median over 20 pilot data sets
//! (one pilot's own sampling error, about 1/√(2n) = 7% at n = 100, is what a planner
//! lives with; the test checks the method, not one draw). Tolerance: 10%.

use rayon::prelude::*;
use synthgmm::sim::{SimConfig, SimModel};
use synthgmm::{CrossWeights, MomentModel, Planned, TwoStepGmm};

const ROWS: usize = 5000;
const X1: usize = 1;

fn design(model: SimModel, labeled: usize, synthetic: usize) -> SimConfig {
    SimConfig::new(model)
        .rows(ROWS)
        .labeling_rate(labeled as f64 / ROWS as f64)
        .rho(0.8)
        .n_synthetic(synthetic)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn check<M: MomentModel + Clone + Send + Sync>(m: M, model: SimModel, synthetic: usize, tol: f64) {
    let gmm = TwoStepGmm::new(m).cross_weights(CrossWeights::Unrestricted);
    let sources = 1 + synthetic;
    let pilot = design(model, 100, synthetic);
    let plans: Vec<_> = (0..20u64)
        .into_par_iter()
        .map(|s| gmm.plan(&pilot.simulate(500 + s).unwrap()).unwrap())
        .collect();
    for labeled in [200, 500] {
        let cfg = design(model, labeled, synthetic);
        let truth = cfg.theta()[X1];
        let estimates: Vec<f64> = (0..500u64)
            .into_par_iter()
            .map(|r| gmm.fit(&cfg.simulate(10_000 + r).unwrap()).unwrap().theta()[X1])
            .collect();
        let mse = estimates.iter().map(|e| (e - truth).powi(2)).sum::<f64>() / 500.0;
        let realized = mse.sqrt();
        for (planned, what) in [(Planned::Gmm, "GMM"), (Planned::RealOnly, "real-only")] {
            let predicted = median(
                plans
                    .iter()
                    .map(|p| p.se(planned, labeled, ROWS).unwrap()[X1])
                    .collect(),
            );
            if planned == Planned::Gmm {
                println!(
                    "{model:?}, M = {sources}, n′ = {labeled}: predicted {predicted:.4}, realized {realized:.4}"
                );
                assert!(
                    (predicted / realized - 1.0).abs() <= tol,
                    "{model:?}, M = {sources}, n′ = {labeled}: {what} predicted {predicted}, realized {realized}"
                );
            } else {
                // Real-only is always the wider one.
                assert!(
                    predicted > realized,
                    "{what}: {predicted} vs GMM {realized}"
                );
            }
        }
    }
}

#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn ols_predictions_match_the_realized_spread() {
    check(synthgmm::models::Ols, SimModel::Ols, 0, 0.10);
    // With the synthetic source (six cross coefficients per coefficient) the pilot's
    // plug-in R̂ is optimistic by tr(Σ⁻¹Cov(φ_r,j φ))/n, removed as estimated from the
    // pilot's rows: n′ = 200 predicted 0.0410 against a realized 0.0455 (−9.9%), n′ =
    // 500 0.0274 against 0.0282. (A correction of d(A − R)/n left −23% at n′ = 200.)
    check(synthgmm::models::Ols, SimModel::Ols, 1, 0.10);
}

#[test]
#[ignore = "Monte Carlo (tens of seconds); run with -- --ignored, as CI does"]
fn logistic_predictions_match_the_realized_spread() {
    check(synthgmm::models::Logistic, SimModel::Logistic, 0, 0.10);
    check(synthgmm::models::Logistic, SimModel::Logistic, 1, 0.10);
}

#[test]
fn inversions_agree_with_the_forward_prediction() {
    let data = design(SimModel::Ols, 100, 1).simulate(3).unwrap();
    let plan = TwoStepGmm::new(synthgmm::models::Ols).plan(&data).unwrap();
    let z = synthgmm::normal_critical_value(0.05).unwrap();
    for planned in [Planned::RealOnly, Planned::Gmm, Planned::PpiPlusPlus(0)] {
        // The smallest n′ for a half-width: the forward prediction at n′ reaches it,
        // at n′ − 1 it does not.
        let h = 0.08;
        let n = plan
            .labels_for(planned, X1, h, 0.05, ROWS)
            .unwrap()
            .unwrap();
        assert!(z * plan.se(planned, n, ROWS).unwrap()[X1] <= h);
        assert!(z * plan.se(planned, n - 1, ROWS).unwrap()[X1] > h);
        // The cheapest design reaches h, and its cost is no more than a grid of others.
        let (cn, ct) = (1.0, 0.01);
        let best = plan.cheapest(planned, X1, h, 0.05, cn, ct).unwrap();
        let se = plan
            .se(
                planned,
                best.labeled.ceil() as usize,
                best.rows.ceil() as usize,
            )
            .unwrap()[X1];
        assert!(z * se <= h * (1.0 + 1e-9));
        for t in [1_000, 5_000, 20_000, 100_000, 1_000_000] {
            if let Some(n) = plan.labels_for(planned, X1, h, 0.05, t).unwrap() {
                assert!(best.cost <= cn * n as f64 + ct * t as f64 + 1.0);
            }
        }
        // Budget and cost inversions are each other's inverse.
        let back = plan
            .best_for_budget(planned, X1, best.cost, 0.05, cn, ct)
            .unwrap();
        assert!((back.half_width - h).abs() < 1e-9 * h, "{back:?}");
    }
    // Useless inputs are typed errors.
    assert!(plan.se(Planned::Gmm, 0, 10).is_err());
    assert!(plan.se(Planned::Gmm, 20, 10).is_err());
    assert!(plan.se(Planned::PpiPlusPlus(5), 20, 100).is_err());
    assert!(plan.labels_for(Planned::Gmm, 9, 0.1, 0.05, 100).is_err());
    assert!(plan
        .cheapest(Planned::Gmm, X1, -1.0, 0.05, 1.0, 1.0)
        .is_err());
    assert!(plan
        .best_for_budget(Planned::Gmm, X1, 0.0, 0.05, 1.0, 1.0)
        .is_err());
}
