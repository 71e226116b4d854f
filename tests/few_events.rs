//! The few-events note: a logistic fit whose labeled rows hold fewer than five of the
//! rarer outcome value per coefficient says so, under every estimator; other fits do
//! not.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synthgmm::baselines::{Dsl, NaivePooled, PpiPlusPlus, RealOnly};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{DataSources, Estimator, Note, TwoStepGmm, MIN_EVENTS_PER_COEFFICIENT};

/// T = 2,000 rows, an intercept and x, the first `n` labeled; `ones` of the labeled
/// outcomes are 1 (and, off the labeled rows, about the same share); a proxy that
/// agrees with the outcome on 85% of the rows.
fn data(n: usize, ones: usize, seed: u64) -> DataSources {
    let t = 2_000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((t, 2), |(_, j)| {
        if j == 0 {
            1.0
        } else {
            rng.random::<f64>() * 2.0 - 1.0
        }
    });
    let share = ones as f64 / n as f64;
    let y = Array1::from_shape_fn(t, |i| {
        let one = if i < n {
            i < ones
        } else {
            rng.random::<f64>() < share
        };
        f64::from(u8::from(one))
    });
    let proxy = y.mapv(|v| {
        if rng.random::<f64>() < 0.85 {
            v
        } else {
            1.0 - v
        }
    });
    let labeled: Vec<bool> = (0..t).map(|i| i < n).collect();
    DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap()
}

/// The few-events notes of an estimate.
fn few_events(notes: &[Note]) -> Vec<&Note> {
    notes
        .iter()
        .filter(|n| matches!(n, Note::FewEvents { .. }))
        .collect()
}

#[test]
fn few_events_per_coefficient_are_noted_by_every_estimator() {
    // Two coefficients: the note below 10 events, none from 10 on; the rarer value
    // may be 0 as well as 1.
    let limit = MIN_EVENTS_PER_COEFFICIENT * 2;
    for (n, ones, events, value) in [
        (100, 6, 6, 1u8),
        (100, limit - 1, limit - 1, 1),
        (100, 100 - 6, 6, 0),
    ] {
        let data = data(n, ones, 7);
        let estimators: Vec<(&str, Box<dyn Estimator>)> = vec![
            ("default", Box::new(TwoStepGmm::new(Logistic))),
            ("real-only", Box::new(RealOnly::new(Logistic))),
            ("PPI++", Box::new(PpiPlusPlus::new(Logistic, "proxy"))),
            ("naive", Box::new(NaivePooled::new(Logistic, ["proxy"]))),
            ("DSL", Box::new(Dsl::new(Logistic, "proxy"))),
        ];
        for (name, estimator) in estimators {
            let estimate = estimator.estimate(&data).unwrap();
            let notes = few_events(estimate.notes());
            assert_eq!(
                notes,
                [&Note::FewEvents {
                    events,
                    value,
                    coefficients: 2
                }],
                "{name}, {ones} ones of {n}"
            );
            let text = notes[0].to_string();
            assert!(
                text.contains(&format!(
                    "only {events} labeled row(s) have outcome {value}"
                )),
                "{text}"
            );
        }
    }
}

#[test]
fn enough_events_or_another_outcome_carry_no_note() {
    let limit = MIN_EVENTS_PER_COEFFICIENT * 2;
    // Exactly five per coefficient, of either value.
    for ones in [limit, 100 - limit] {
        let fit = TwoStepGmm::new(Logistic).fit(&data(100, ones, 3)).unwrap();
        assert!(few_events(fit.notes()).is_empty(), "{ones} ones");
    }
    // A 0/1 outcome under least squares: the rule is logistic regression's.
    let fit = TwoStepGmm::new(Ols).fit(&data(100, 4, 3)).unwrap();
    assert!(few_events(fit.notes()).is_empty());
    // Fractional outcomes (shares) are not binary: no events to count.
    let t = 400;
    let x = Array2::from_shape_fn(
        (t, 2),
        |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.37).sin() },
    );
    let y = Array1::from_shape_fn(t, |i| 0.02 + 0.01 * (i as f64 * 1.3).cos());
    let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
    let shares = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &y.mapv(|v| v * 1.1))
        .build()
        .unwrap();
    let fit = TwoStepGmm::new(Logistic).fit(&shares).unwrap();
    assert!(few_events(fit.notes()).is_empty());
}
