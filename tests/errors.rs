//! Every error path of the public API, matched to its exact variant.

use ndarray::{array, Array1, Array2};
use synthgmm::models::{Logistic, Ols};
use synthgmm::{Column, CrossWeights, DataSources, Error, SingularWeightPolicy, Stage, TwoStepGmm};

/// T = 12 rows, p = 2, every third row labeled; y = 1 + 2x + small deterministic noise.
fn design() -> (Vec<bool>, Array2<f64>, Array1<f64>) {
    let t = 12;
    let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { i as f64 / 4.0 });
    let y = Array1::from_shape_fn(t, |i| {
        1.0 + 2.0 * x[[i, 1]] + ((i * i) % 7) as f64 / 10.0 - 0.2
    });
    let labeled = (0..t).map(|i| i % 3 == 0).collect();
    (labeled, x, y)
}

#[test]
fn length_mismatch() {
    let (labeled, x, y) = design();
    let short = y.slice(ndarray::s![..10]).to_owned();
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &short)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::LengthMismatch {
            what: "outcome of `proxy`".into(),
            expected: 12,
            found: 10
        }
    );
}

#[test]
fn covariate_mismatch() {
    let (labeled, x, y) = design();
    let wide = Array2::<f64>::ones((12, 3));
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("synth", &wide, &y)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::CovariateMismatch {
            source_name: "synth".into(),
            expected: 2,
            found: 3
        }
    );
}

#[test]
fn empty_design() {
    let (labeled, _, y) = design();
    let none = Array2::<f64>::zeros((12, 0));
    assert_eq!(
        DataSources::builder(&labeled)
            .real(&none, &y)
            .build()
            .unwrap_err(),
        Error::EmptyDesign
    );
}

#[test]
fn non_finite_names_source_column_and_first_row() {
    let (labeled, x, y) = design();
    let mut bad = x.clone();
    bad[[7, 1]] = f64::INFINITY;
    bad[[9, 1]] = f64::NAN;
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &bad, &y)
        .build()
        .unwrap_err();
    match err {
        Error::NonFinite {
            source_name,
            column,
            row,
            value,
        } => {
            assert_eq!(
                (source_name.as_str(), column, row),
                ("proxy", Column::Covariate(1), 7)
            );
            assert!(value.is_infinite());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn non_finite_real_outcome_only_matters_on_labeled_rows() {
    let (labeled, x, mut y) = design();
    y[1] = f64::NAN; // unlabeled: ignored
    assert!(DataSources::builder(&labeled).real(&x, &y).build().is_ok());
    y[3] = f64::NAN; // labeled
    match DataSources::builder(&labeled)
        .real(&x, &y)
        .build()
        .unwrap_err()
    {
        Error::NonFinite {
            source_name,
            column,
            row,
            ..
        } => {
            assert_eq!(
                (source_name.as_str(), column, row),
                ("real", Column::Outcome, 3)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn invalid_logistic_outcome() {
    let (labeled, x, _) = design();
    let y = Array1::from_shape_fn(12, |i| (i % 2) as f64);
    let mut proxy = y.clone();
    proxy[5] = 1.5;
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap();
    match TwoStepGmm::new(Logistic).fit(&data).unwrap_err() {
        Error::InvalidValue {
            source_name,
            column,
            row,
            value,
            ..
        } => {
            assert_eq!(
                (source_name.as_str(), column, row, value),
                ("proxy", Column::Outcome, 5, 1.5)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn invalid_labeling_probability() {
    let (labeled, x, y) = design();
    let mut pi = Array1::from_elem(12, 0.3);
    pi[4] = 0.0;
    match DataSources::builder(&labeled)
        .real(&x, &y)
        .labeling_probabilities(&pi)
        .build()
        .unwrap_err()
    {
        Error::InvalidValue { column, row, .. } => {
            assert_eq!((column, row), (Column::LabelingProbability, 4))
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn no_labeled_rows() {
    let (_, x, y) = design();
    let err = DataSources::builder(&vec![false; 12])
        .real(&x, &y)
        .build()
        .unwrap_err();
    assert_eq!(err, Error::NoLabeledRows);
}

#[test]
fn too_few_labeled_rows() {
    let (_, x, y) = design();
    let mut labeled = vec![false; 12];
    // As many labeled rows as coefficients: no residual degrees of freedom.
    labeled[2] = true;
    labeled[5] = true;
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::TooFewLabeled {
            labeled: 2,
            required: 3
        }
    );
}

#[test]
fn missing_real_data() {
    let (labeled, x, y) = design();
    let err = DataSources::builder(&labeled)
        .source("proxy", &x, &y)
        .build()
        .unwrap_err();
    assert_eq!(err, Error::MissingRealData);
}

#[test]
fn duplicate_source() {
    let (labeled, x, y) = design();
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("a", &x, &y)
        .source("a", &x, &y)
        .build()
        .unwrap_err();
    assert_eq!(err, Error::DuplicateSource { name: "a".into() });
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("real", &x, &y)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateSource {
            name: "real".into()
        }
    );
}

#[test]
fn wrong_number_of_covariate_names() {
    let (labeled, x, y) = design();
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .covariate_names(["a"])
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidConfig {
            parameter: "covariate_names",
            ..
        }
    ));
}

#[test]
fn collinear_real_design() {
    let (labeled, x, y) = design();
    let mut dup = Array2::zeros((12, 3));
    dup.slice_mut(ndarray::s![.., ..2]).assign(&x);
    dup.column_mut(2).assign(&(&x.column(1) * 2.0));
    let data = DataSources::builder(&labeled)
        .real(&dup, &y)
        .build()
        .unwrap();
    assert_eq!(
        TwoStepGmm::new(Ols).fit(&data).unwrap_err(),
        Error::Collinear {
            block: "real".into()
        }
    );
}

#[test]
fn collinear_source_design() {
    let (labeled, x, y) = design();
    let mut flat = x.clone();
    flat.column_mut(1).fill(0.5); // constant covariate: collinear with the intercept
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &flat, &y)
        .build()
        .unwrap();
    assert_eq!(
        TwoStepGmm::new(Ols).fit(&data).unwrap_err(),
        Error::Collinear {
            block: "proxy".into()
        }
    );
}

#[test]
fn separation_in_logistic_data() {
    let (labeled, x, _) = design();
    // y = 1 exactly when x > 1.4: labeled rows are perfectly separated.
    let y = x.column(1).mapv(|v| (v > 1.4) as u8 as f64);
    let data = DataSources::builder(&labeled).real(&x, &y).build().unwrap();
    assert_eq!(
        TwoStepGmm::new(Logistic).fit(&data).unwrap_err(),
        Error::Separation {
            block: "real".into()
        }
    );
}

#[test]
fn singular_weight_is_an_error_when_asked() {
    // A proxy whose residual on the labeled rows is twice the real one: x b + 2e there
    // (e the labeled rows' least-squares residuals), x b + u elsewhere with u
    // orthogonal to the unlabeled rows' x, so that its fit on every row is b exactly.
    // Its labeled moments are then twice the real block's: Ω̂ has rank 4 of 6.
    let (_, x, y) = design();
    let labeled: Vec<bool> = (0..12).map(|i| i % 3 != 2).collect();
    let rows = |keep: bool| -> Vec<usize> { (0..12).filter(|&i| labeled[i] == keep).collect() };
    let residuals = |rows: &[usize], v: &Array1<f64>| -> Array1<f64> {
        // v minus its least-squares fit on x over `rows` (2 × 2 normal equations).
        let xs = x.select(ndarray::Axis(0), rows);
        let vs = v.select(ndarray::Axis(0), rows);
        let g = xs.t().dot(&xs);
        let det = g[[0, 0]] * g[[1, 1]] - g[[0, 1]] * g[[1, 0]];
        let inv = array![[g[[1, 1]], -g[[0, 1]]], [-g[[1, 0]], g[[0, 0]]]] / det;
        &vs - &xs.dot(&inv.dot(&xs.t().dot(&vs)))
    };
    let e = residuals(&rows(true), &y);
    let w = Array1::from_shape_fn(12, |i| (i as f64 * 1.7).cos());
    let u = residuals(&rows(false), &w);
    let b = array![0.5, 1.5];
    let mut proxy = x.dot(&b);
    for (k, &t) in rows(true).iter().enumerate() {
        proxy[t] += 2.0 * e[k];
    }
    for (k, &t) in rows(false).iter().enumerate() {
        proxy[t] += u[k];
    }
    let data = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &proxy)
        .build()
        .unwrap();
    let err = TwoStepGmm::new(Ols)
        .singular_weight(SingularWeightPolicy::Error)
        .fit(&data)
        .unwrap_err();
    assert_eq!(
        err,
        Error::SingularWeight {
            stage: Stage::StepTwo,
            rank: 4,
            dim: 6
        }
    );

    // The default falls back to the pseudo-inverse, reports it, and θ̂ is real-only:
    // the moments left are the real block's and the source's on every row.
    let fit = TwoStepGmm::new(Ols)
        .cross_weights(CrossWeights::Unrestricted)
        .fit(&data)
        .unwrap();
    assert!(fit.used_pseudo_inverse());
    let real = TwoStepGmm::new(Ols)
        .cross_weights(CrossWeights::Unrestricted)
        .fit(&data.select_sources(&[]).unwrap())
        .unwrap();
    for j in 0..2 {
        approx::assert_relative_eq!(fit.theta()[j], real.theta()[j], max_relative = 1e-10);
        assert!(fit.se()[j].is_finite() && fit.se()[j] > 0.0);
    }
}

#[test]
fn not_converged() {
    let (labeled, x, _) = design();
    // Labeled rows 0, 3, 6, 9 with outcomes 1, 0, 1, 0: overlapping classes.
    let y = Array1::from_shape_fn(12, |i| (i % 6 != 3) as u8 as f64);
    let data = DataSources::builder(&labeled).real(&x, &y).build().unwrap();
    let err = TwoStepGmm::new(Logistic)
        .max_iters(1)
        .fit(&data)
        .unwrap_err();
    assert_eq!(
        err,
        Error::NotConverged {
            stage: Stage::StepOne {
                block: "real".into()
            },
            iterations: 1
        }
    );
    // Reported instead of raised when convergence is not required.
    let fit = TwoStepGmm::new(Logistic)
        .max_iters(1)
        .require_convergence(false)
        .fit(&data)
        .unwrap();
    assert!(!fit.converged());
}

#[test]
fn singular_covariance() {
    // Residuals vanish except on rows with x = 0, so Ω̂ has rank 1 of 2 and the
    // slope's moment carries no information about its variance.
    let x = array![
        [1.0, 0.0],
        [1.0, 0.0],
        [1.0, 0.5],
        [1.0, 1.5],
        [1.0, 0.0],
        [1.0, 0.0],
        [1.0, 2.5]
    ];
    let y = array![1.5, 0.5, 2.0, 4.0, 1.5, 0.5, 6.0];
    let data = DataSources::builder(&[true; 7])
        .real(&x, &y)
        .build()
        .unwrap();
    let err = TwoStepGmm::new(Ols).fit(&data).unwrap_err();
    assert_eq!(
        err,
        Error::SingularCovariance {
            stage: Stage::Covariance
        }
    );
}

#[test]
fn model_dimension() {
    use ndarray::{ArrayView1, ArrayViewMut2};
    use synthgmm::Rows;
    /// A broken model whose Jacobian has the wrong shape.
    struct Broken;
    impl synthgmm::MomentModel for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn moments(&self, b: ArrayView1<f64>, rows: Rows, out: ArrayViewMut2<f64>) {
            Ols.moments(b, rows, out)
        }
        fn jacobian(&self, _: ArrayView1<f64>, _: Rows, _: Option<ArrayView1<f64>>) -> Array2<f64> {
            Array2::zeros((1, 1))
        }
    }
    let (labeled, x, y) = design();
    let data = DataSources::builder(&labeled).real(&x, &y).build().unwrap();
    let err = TwoStepGmm::new(Broken).fit(&data).unwrap_err();
    assert_eq!(
        err,
        Error::ModelDimension {
            model: "broken".into(),
            what: "Jacobian",
            expected: "2 × 2".into(),
            found: "1 × 1".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "model `broken`: Jacobian has shape 1 × 1, expected 2 × 2"
    );
}

#[test]
fn invalid_configuration() {
    let (labeled, x, y) = design();
    let data = DataSources::builder(&labeled).real(&x, &y).build().unwrap();
    for (est, parameter) in [
        (TwoStepGmm::new(Ols).max_iters(0), "max_iters"),
        (TwoStepGmm::new(Ols).tol(-1.0), "tol"),
        (TwoStepGmm::new(Ols).rank_tol(1.0), "rank_tol"),
    ] {
        match est.fit(&data).unwrap_err() {
            Error::InvalidConfig { parameter: p, .. } => assert_eq!(p, parameter),
            other => panic!("unexpected {other:?}"),
        }
    }
    let fit = TwoStepGmm::new(Ols).fit(&data).unwrap();
    assert!(matches!(
        fit.conf_int(0.0),
        Err(Error::InvalidConfig {
            parameter: "alpha",
            ..
        })
    ));
    assert!(fit.summary(f64::NAN).is_err());
    assert!(matches!(
        data.select_sources(&["nope"]),
        Err(Error::InvalidConfig {
            parameter: "sources",
            ..
        })
    ));
}

#[test]
fn error_messages_are_one_readable_line() {
    let e = Error::NonFinite {
        source_name: "proxy".into(),
        column: Column::Covariate(2),
        row: 17,
        value: f64::NAN,
    };
    assert_eq!(
        e.to_string(),
        "non-finite value NaN in `proxy`, covariate 2, row 17"
    );
}

/// Sources whose covariates are built and dropped in a loop: a new array may reuse the
/// freed memory of the previous one, with the same shape. Each source must keep its
/// own values.
#[test]
fn covariates_at_a_reused_address_are_not_mistaken_for_earlier_ones() {
    let t = 50;
    let labeled: Vec<bool> = (0..t).map(|i| i % 5 == 0).collect();
    let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { i as f64 });
    let y = Array1::from_shape_fn(t, |i| (i as f64 * 0.3).sin());
    let mut builder = DataSources::builder(&labeled).real(&x, &y);
    for k in 0..4 {
        let xk = Array2::from_shape_fn(
            (t, 2),
            |(i, j)| {
                if j == 0 {
                    1.0
                } else {
                    (i * (k + 2)) as f64
                }
            },
        );
        builder = builder.source(format!("s{k}"), &xk, &y);
        // xk is dropped here; the next one is likely to take its place.
    }
    let data = builder.build().unwrap();
    for (k, source) in data.sources().iter().enumerate() {
        let x1 = source.rows().x().column(1).to_owned();
        let expected = Array1::from_shape_fn(t, |i| (i * (k + 2)) as f64);
        assert_eq!(x1, expected, "source s{k}");
    }
}

/// An intercept and sin(0.7 t), y = 1 + 2 sin(0.7 t) + cos(1.3 t), on t rows.
fn sine_design(t: usize) -> (Array2<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn(
        (t, 2),
        |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.7).sin() },
    );
    let e = Array1::from_shape_fn(t, |i| (i as f64 * 1.3).cos());
    let y = 1.0 + 2.0 * &x.column(1) + &e;
    (x, y)
}

/// How many notes of `fit` leave a source out for a reason `reason` accepts.
fn dropped_for(fit: &synthgmm::GmmFit, reason: impl Fn(&synthgmm::DropReason) -> bool) -> usize {
    let dropped = |note: &&synthgmm::Note| match note {
        synthgmm::Note::SourceDropped { reason: r, .. } => reason(r),
        _ => false,
    };
    fit.notes().iter().filter(dropped).count()
}

/// `fit`'s estimates and standard errors are real-only's on `data`, to 1e-10.
fn assert_real_only(fit: &synthgmm::GmmFit, data: &DataSources) {
    use synthgmm::{baselines::RealOnly, Estimator};
    let real = RealOnly::new(Ols).estimate(data).unwrap();
    for j in 0..real.theta().len() {
        assert!((fit.theta()[j] - real.theta()[j]).abs() <= 1e-10 * real.theta()[j].abs());
        let (se, want) = (fit.se()[j], real.se()[j]);
        let kind = fit.final_estimator();
        assert!(
            (se - want).abs() <= 1e-10 * want,
            "{se} vs {want}, {kind:?}"
        );
    }
}

/// Too few labeled rows to weigh the sources (n ≤ p(1 + M)): the fit leaves every
/// source out with a note and is the real-only fit, with t(n − p) quantiles, instead
/// of an estimate resting on the pseudo-inverse of a rank-deficient Ω̂. One more
/// labeled row and the sources are used.
#[test]
fn too_few_labeled_rows_for_the_sources_fall_back_to_the_real_data() {
    use synthgmm::DropReason;
    let t = 40;
    let (x, y) = sine_design(t);
    let sources: Vec<Array1<f64>> = (0..3)
        .map(|k| &y + &Array1::from_shape_fn(t, |i| 0.3 * ((i * (k + 2)) as f64).sin()))
        .collect();
    for (n, expect_fallback) in [(3, true), (8, true), (9, false)] {
        let labeled: Vec<bool> = (0..t).map(|i| i < n).collect();
        let mut b = DataSources::builder(&labeled).real(&x, &y);
        for (k, s) in sources.iter().enumerate() {
            b = b.source(format!("s{k}"), &x, s);
        }
        let data = b.build().unwrap();
        let fit = TwoStepGmm::new(Ols).fit(&data).unwrap();
        let dropped = dropped_for(
            &fit,
            |r| matches!(r, DropReason::TooFewLabeled { labeled, needed: 9 } if *labeled == n),
        );
        assert_eq!(dropped, if expect_fallback { 3 } else { 0 }, "n = {n}");
        if expect_fallback {
            assert_real_only(&fit, &data);
            assert_eq!(fit.estimate().t_df(), Some((n - 2) as f64));
        }
    }
}

/// Columns whose values are all below 1e-64 in magnitude (not zero) are refused with
/// the reason and a short number, like those beyond 1e64; so is a labeled row whose
/// labeling probability would weigh it beyond 1e12.
#[test]
fn extreme_scales_are_refused_with_the_reason() {
    let t = 50;
    let x = Array2::from_shape_fn(
        (t, 2),
        |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.7).sin() },
    );
    let y = Array1::from_shape_fn(t, |i| 1.0 + (i as f64 * 1.3).cos());
    let labeled: Vec<bool> = (0..t).map(|i| i % 2 == 0).collect();
    let build = |x: &Array2<f64>, y: &Array1<f64>| {
        DataSources::builder(&labeled)
            .real(x, y)
            .source("proxy", x, y)
            .build()
    };
    let tiny_y = &y * 1e-300;
    let mut tiny_x = x.clone();
    tiny_x.column_mut(1).mapv_inplace(|v| v * 1e-150);
    for (what, err) in [
        ("outcome", build(&x, &tiny_y)),
        ("covariate 1", build(&tiny_x, &y)),
    ] {
        let message = err.unwrap_err().to_string();
        assert!(message.contains("rescale the column"), "{message}");
        assert!(message.contains(what), "{message}");
        assert!(message.len() < 260, "a short number: {message}");
    }
    let mut huge = y.clone();
    huge[4] = 1e150;
    let message = build(&x, &huge).unwrap_err().to_string();
    assert!(message.contains("invalid value 1e150"), "{message}");
    let mut pi = Array1::from_elem(t, 0.5);
    pi[2] = 1e-300;
    let err = DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &y)
        .labeling_probabilities(&pi)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("beyond 1e12"), "{err}");
    // On an unlabeled row a tiny probability is no weight at all: accepted.
    pi[2] = 0.5;
    pi[3] = 1e-300;
    assert!(DataSources::builder(&labeled)
        .real(&x, &y)
        .source("proxy", &x, &y)
        .labeling_probabilities(&pi)
        .build()
        .is_ok());
}

/// A binary covariate with a single labeled row at 1 (row 3 of 12): that row alone
/// fits the covariate's coefficient, its residual is zero whatever its outcome, and
/// every estimator that fits the real block says so, with the row, whatever the
/// settings; a second labeled row at 1 lifts it.
#[test]
fn a_coefficient_fitted_by_one_labeled_row_is_a_single_row_fit() {
    use synthgmm::baselines::RealOnly;
    use synthgmm::{Estimator, SmallSample};
    let mut d = Array1::<f64>::zeros(12);
    for t in [3, 7, 10] {
        d[t] = 1.0;
    }
    let y = Array1::from_shape_fn(12, |i| 0.5 + 1.5 * d[i] + ((i * 5) % 7) as f64 / 10.0);
    let proxy = &y + &Array1::from_shape_fn(12, |i| ((i * 3) % 5) as f64 / 10.0 - 0.2);
    let x = Array2::from_shape_fn((12, 2), |(i, j)| if j == 0 { 1.0 } else { d[i] });
    let data = |labeled: &[bool]| {
        DataSources::builder(labeled)
            .real(&x, &y)
            .source("proxy", &x, &proxy)
            .build()
            .unwrap()
    };
    // Rows 0–5 labeled: row 3 is the only one with d = 1.
    let one = data(&(0..12).map(|i| i < 6).collect::<Vec<_>>());
    let expected = Error::SingleRowFit {
        block: "real".into(),
        row: 3,
    };
    for small_sample in [
        SmallSample::Hc0,
        SmallSample::Hc2,
        SmallSample::Hc2BellMcCaffrey,
    ] {
        for cross in [CrossWeights::Selected, CrossWeights::Unrestricted] {
            let gmm = TwoStepGmm::new(Ols)
                .small_sample(small_sample)
                .cross_weights(cross);
            assert_eq!(
                gmm.fit(&one).unwrap_err(),
                expected,
                "{small_sample:?}, {cross:?}"
            );
        }
        let real = RealOnly::new(Ols).small_sample(small_sample);
        assert_eq!(real.estimate(&one).unwrap_err(), expected);
    }
    // For logistic regression that row's coefficient diverges instead: separation.
    let binary = Array1::from_shape_fn(12, |i| f64::from(u8::from(i % 2 == 0)));
    let logistic = DataSources::builder(&(0..12).map(|i| i < 6).collect::<Vec<_>>())
        .real(&x, &binary)
        .source("proxy", &x, &binary)
        .build()
        .unwrap();
    assert_eq!(
        TwoStepGmm::new(Logistic).fit(&logistic).unwrap_err(),
        Error::Separation {
            block: "real".into()
        }
    );
    // Rows 0–7 labeled: rows 3 and 7 carry d = 1, and the fits go through.
    let two = data(&(0..12).map(|i| i < 8).collect::<Vec<_>>());
    assert!(TwoStepGmm::new(Ols).fit(&two).is_ok());
    assert!(RealOnly::new(Ols).estimate(&two).is_ok());
}

/// Every row labeled: a source's all-rows moments repeat its labeled ones, so the
/// sources cannot move θ̂ (η is exactly identified) and Ω̂ is singular — with a
/// perfect proxy the weight matrix had rank 1 of 3. The fit leaves every source out
/// with a note and is the real-only fit; with one unlabeled row the sources are used.
#[test]
fn every_row_labeled_leaves_the_sources_out() {
    use synthgmm::DropReason;
    let t = 60;
    let (x, y) = sine_design(t);
    let noisy = &y + &Array1::from_shape_fn(t, |i| 0.3 * (i as f64 * 2.1).sin());
    for unlabeled in [0, 1] {
        let labeled: Vec<bool> = (0..t).map(|i| i >= unlabeled).collect();
        let data = DataSources::builder(&labeled)
            .real(&x, &y)
            .source("perfect", &x, &y)
            .source("noisy", &x, &noisy)
            .build()
            .unwrap();
        let fit = TwoStepGmm::new(Ols).fit(&data).unwrap();
        let dropped = dropped_for(&fit, |r| matches!(r, DropReason::EveryRowLabeled));
        assert_eq!(dropped, if unlabeled == 0 { 2 } else { 0 });
        if unlabeled > 0 {
            continue;
        }
        assert!(fit.notes()[0].to_string().contains("every row is labeled"));
        assert_real_only(&fit, &data);
        let paper = TwoStepGmm::new(Ols).cross_weights(CrossWeights::Unrestricted);
        let paper = paper.fit(&data).unwrap();
        let real = TwoStepGmm::new(Ols)
            .fit(&data.select_sources(&[]).unwrap())
            .unwrap();
        for j in 0..2 {
            assert!((paper.theta()[j] - real.theta()[j]).abs() <= 1e-10 * real.theta()[j].abs());
        }
    }
}
