//! Results serialize with the `serde` feature: the JSON carries the same numbers, and
//! the types without invariants come back unchanged.
#![cfg(feature = "serde")]

use synthgmm::models::Ols;
use synthgmm::sim::{SimConfig, SimModel};
use synthgmm::{Estimator, JTest, Note, TwoStepGmm};

#[test]
fn estimates_and_fits_serialize_with_their_numbers() {
    let data = SimConfig::new(SimModel::Ols)
        .rows(1500)
        .simulate(4)
        .unwrap();
    let fit = TwoStepGmm::new(Ols).fit(&data).unwrap();
    let json = serde_json::to_value(&fit).unwrap();
    let estimate = &json["estimate"];
    assert_eq!(estimate["names"][1], "x1");
    // ndarray's serde form: {"v": 1, "dim": [...], "data": [...]}.
    let theta: Vec<f64> = estimate["theta"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(theta, fit.theta().to_vec());
    assert_eq!(json["j_test"]["df"], fit.j_test().df);
    assert_eq!(
        json["cross_choices"].as_array().unwrap().len(),
        fit.theta().len()
    );

    let plain = TwoStepGmm::new(Ols).estimate(&data).unwrap();
    let back = serde_json::to_value(&plain).unwrap();
    assert_eq!(back["n_labeled"], data.n_labeled());
}

#[test]
fn tests_and_notes_round_trip() {
    let data = SimConfig::new(SimModel::Ols)
        .rows(1500)
        .simulate(5)
        .unwrap();
    let j = TwoStepGmm::new(Ols).fit(&data).unwrap().j_test();
    let text = serde_json::to_string(&j).unwrap();
    assert_eq!(serde_json::from_str::<JTest>(&text).unwrap(), j);
    let note = Note::PseudoInverse {
        stage: synthgmm::Stage::StepTwo,
        rank: 4,
        dim: 6,
    };
    let text = serde_json::to_string(&note).unwrap();
    assert_eq!(serde_json::from_str::<Note>(&text).unwrap(), note);
}
