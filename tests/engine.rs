//! The chunked engine: chunk sums merge, the fit does not depend on how the rows are
//! split, nor on the number of threads.

use crate::common;

use common::load;
use synthgmm::models::{Logistic, Ols};
use synthgmm::{Chunking, Covariance, MomentSums, TwoStepGmm};

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

/// 17 uneven chunks (from 2 rows to over 800) against the default 4,096-row chunks.
fn uneven(t: usize) -> Chunking {
    let mut starts = vec![0];
    let mut at = 0;
    for c in 1..17 {
        at += 1 + (c * c * 37) % 180;
        starts.push(at.min(t - 1));
    }
    starts.dedup();
    Chunking::Starts(starts)
}

#[test]
fn seventeen_uneven_chunks_give_the_in_memory_fit() {
    for (name, logistic) in [
        ("ols_T3000_n300_rho7", false),
        ("logistic_T3000_n300_rho7", true),
    ] {
        let data = load(name).sources(&["proxy", "synth"]);
        let plan = uneven(data.n_rows());
        assert!(matches!(&plan, Chunking::Starts(s) if s.len() == 17));
        for cov in [Covariance::Windmeijer, Covariance::Reestimated] {
            let (a, b) = if logistic {
                (
                    TwoStepGmm::new(Logistic)
                        .covariance(cov)
                        .fit(&data)
                        .unwrap(),
                    TwoStepGmm::new(Logistic)
                        .covariance(cov)
                        .chunking(plan.clone())
                        .fit(&data)
                        .unwrap(),
                )
            } else {
                (
                    TwoStepGmm::new(Ols).covariance(cov).fit(&data).unwrap(),
                    TwoStepGmm::new(Ols)
                        .covariance(cov)
                        .chunking(plan.clone())
                        .fit(&data)
                        .unwrap(),
                )
            };
            for j in 0..a.params().len() {
                assert!(
                    rel_close(a.params()[j], b.params()[j], 1e-12),
                    "{name} param {j}"
                );
            }
            for j in 0..3 {
                assert!(rel_close(a.se()[j], b.se()[j], 1e-12), "{name} se {j}");
            }
            assert!(rel_close(a.j_test().statistic, b.j_test().statistic, 1e-10));
        }
    }
}

#[test]
fn the_fit_does_not_depend_on_the_number_of_threads() {
    let data = load("ols_T3000_n300_rho7").sources(&["proxy", "synth"]);
    let fit = || {
        TwoStepGmm::new(Ols)
            .chunking(Chunking::Rows(200))
            .fit(&data)
            .unwrap()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(fit);
    let many = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap()
        .install(fit);
    assert_eq!(one.params(), many.params());
    assert_eq!(one.se(), many.se());
    assert_eq!(
        one.j_test().statistic.to_bits(),
        many.j_test().statistic.to_bits()
    );
}

#[test]
fn invalid_chunkings_are_configuration_errors() {
    let data = load("ols_T1000_n100_rho0").sources(&["proxy"]);
    for plan in [
        Chunking::Rows(0),
        Chunking::Starts(vec![]),
        Chunking::Starts(vec![1, 5]),
        Chunking::Starts(vec![0, 9, 9]),
        Chunking::Starts(vec![0, 5000]),
    ] {
        let err = TwoStepGmm::new(Ols)
            .chunking(plan.clone())
            .fit(&data)
            .unwrap_err();
        assert!(
            matches!(
                err,
                synthgmm::Error::InvalidConfig {
                    parameter: "chunking",
                    ..
                }
            ),
            "{plan:?}: {err:?}"
        );
    }
}

#[test]
fn flat_sums_round_trip_and_refuse_bad_input() {
    // k = 1, p = 1, M = 1, with a Jacobian and Ω: K = 3, Q = 2.
    let mut values = vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 10.0, 4.0];
    values.extend((0..3 + 6 + 9).map(|i| i as f64 * 0.5));
    let sums = MomentSums::from_slice(&values).unwrap();
    assert_eq!(sums.to_vec(), values);
    assert_eq!(sums.jacobian().unwrap().dim(), (3, 2));
    assert_eq!(sums.omega().unwrap().dim(), (3, 3));
    let mut twice = sums.clone();
    twice.merge(&sums).unwrap();
    assert_eq!(twice.n_rows(), 20.0);
    assert_eq!(
        twice.omega().unwrap()[[2, 2]],
        2.0 * sums.omega().unwrap()[[2, 2]]
    );
    assert!(MomentSums::from_slice(&values[..values.len() - 1]).is_err());
    assert!(MomentSums::from_slice(&[1.0, 1.5, 0.0]).is_err());
    let other = MomentSums::from_slice(&[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]).unwrap();
    assert!(twice.merge(&other).is_err());
}

#[test]
fn squares_alone_round_trip_between_the_jacobian_and_the_contraction() {
    // k = 1, p = 1, M = 1: K = 3, Q = 2; Jacobian, squares (flag 2) and contraction.
    let mut values = vec![1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 10.0, 4.0];
    values.extend((0..3 + 6 + 3 + 6).map(|i| i as f64 * 0.25));
    let sums = MomentSums::from_slice(&values).unwrap();
    assert_eq!(sums.to_vec(), values);
    assert!(sums.omega().is_none());
    // Σg at 0–2, the Jacobian at 3–8, the squares at 9–11, the contraction from 12.
    assert_eq!(sums.squares().unwrap().to_vec(), [2.25, 2.5, 2.75]);
    assert_eq!(sums.contraction().unwrap()[[0, 0]], 3.0);
    // Squares and Σggᵀ are different parts: their sums do not merge.
    let mut full = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 4.0];
    full.extend((0..3 + 6 + 9 + 6).map(|i| i as f64));
    let mut full = MomentSums::from_slice(&full).unwrap();
    assert!(full.merge(&sums).is_err());
    assert_eq!(
        full.squares().unwrap(),
        full.omega().unwrap().diag().to_owned()
    );
}

/// An engine's squares alone are Σggᵀ's diagonal, at K sums instead of K(K + 1)/2.
#[test]
fn an_engines_squares_are_the_diagonal_of_its_omega() {
    use ndarray::Array1;
    use synthgmm::{ColumnBlock, PassRequest, RowColumns};
    let t = 200;
    let x: Vec<f64> = (0..t).map(|i| (i as f64 * 0.37).sin()).collect();
    let one = vec![1.0; t];
    let y: Vec<f64> = (0..t)
        .map(|i| 1.0 + x[i] + (i as f64 * 1.3).cos())
        .collect();
    let proxy: Vec<f64> = (0..t)
        .map(|i| 0.9 + x[i] + (i as f64 * 0.7).cos())
        .collect();
    let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
    let columns = RowColumns {
        labeled: &labeled,
        real: ColumnBlock {
            y: &y,
            x: vec![&one, &x],
        },
        sources: vec![ColumnBlock {
            y: &proxy,
            x: vec![&one, &x],
        }],
    };
    let request = |omega: bool, squares: bool| PassRequest {
        sources: vec![0],
        params: Array1::from(vec![0.5, 0.8, 0.4, 1.1]),
        jacobian: true,
        omega,
        squares,
        contraction: None,
    };
    let sums = |r: &PassRequest| {
        let mut s = MomentSums::for_request(2, r);
        s.add_rows(&Ols, r, &columns).unwrap();
        s
    };
    let (full, alone) = (sums(&request(true, false)), sums(&request(false, true)));
    assert!(alone.omega().is_none());
    // The same sums of squares, added in another order (Ω̂'s Gram product).
    let diagonal = full.omega().unwrap().diag().to_owned();
    let squares = alone.squares().unwrap();
    for (a, b) in squares.iter().zip(&diagonal) {
        assert!(rel_close(*a, *b, 1e-13), "{a} vs {b}");
    }
    assert_eq!(alone.moments(), full.moments());
    assert_eq!(alone.to_vec().len(), 8 + 6 + 6 * 4 + 6);
    assert!(sums(&request(false, false)).squares().is_none());
}
