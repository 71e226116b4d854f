//! The politeness example's pipeline: text features, proxy model, generator, study.

use crate::common;
#[path = "../examples/politeness/pipeline.rs"]
pub(crate) mod pipeline;

use std::sync::Arc;

use common::ols_hc0;
use ndarray::Array1;
use pipeline::*;
use synthgmm::sim::{GridPoint, MonteCarlo};

fn toks(s: &str) -> Vec<String> {
    tokenize(s)
}

#[test]
fn tokenizer_and_lexicons() {
    assert_eq!(
        toks("Could you PLEASE help? Let's see."),
        ["could", "you", "please", "help", "let's", "see"]
    );
    assert_eq!(uses(HEDGES, &toks("I think you might be right")), 1.0);
    assert_eq!(uses(HEDGES, &toks("Please fix this now.")), 0.0);
    assert_eq!(uses(HEDGES, &toks("Thinker")), 0.0); // whole words only
    assert_eq!(uses(FIRST_PLURAL, &toks("Let's fix our build")), 1.0);
    assert_eq!(uses(FIRST_PLURAL, &toks("Use the bus")), 0.0);
    let x = covariates(Task::Hedge, &toks("maybe we can"));
    assert_eq!(x[..2], [1.0, 1.0]);
    assert!((x[2] - 4f64.ln()).abs() < 1e-15);
}

fn req(text: &str, consensus: f64) -> Request {
    Request {
        community: "test".into(),
        id: text.into(),
        text: text.into(),
        score1: 10.0,
        consensus,
    }
}

#[test]
fn naive_bayes_learns_which_words_are_polite() {
    let corpus = vec![
        req("thanks please could you kindly help", 1.0),
        req("thank you so much please", 0.8),
        req("please would you mind thanks", 0.9),
        req("fix this now stupid", -1.0),
        req("why is this broken now", -0.7),
        req("this is wrong fix it", -0.9),
    ];
    let model = TextModel::train(&corpus);
    let polite = model.predict(&toks("please thanks"));
    let rude = model.predict(&toks("fix this now"));
    assert!(polite > 0.0 && rude < 0.0, "{polite} {rude}");
    // Calibrated on its training data: the fitted values average to the mean consensus.
    let mean_fit = corpus
        .iter()
        .map(|r| model.predict(&toks(&r.text)))
        .sum::<f64>()
        / 6.0;
    let mean_y = corpus.iter().map(|r| r.consensus).sum::<f64>() / 6.0;
    assert!((mean_fit - mean_y).abs() < 1e-12);
}

#[test]
fn generator_is_conditioned_reproducible_and_aligned() {
    let corpus = vec![
        req("could you please help me", 1.0),
        req("could you fix it", -1.0),
        req("please help me now", 0.0),
    ];
    let real = toks("could you help me please");
    let g = BigramGenerator::train(&corpus, 0.5);
    let a = g.generate(&real, 7);
    assert_eq!(a, g.generate(&real, 7));
    assert_eq!(a.len(), real.len());
    assert_eq!(
        BigramGenerator::train(&corpus, 1.0).generate(&real, 3),
        real
    );
    // keep = 0: every word after the first comes from the bigram model of the corpus.
    let b = BigramGenerator::train(&corpus, 0.0).generate(&real, 3);
    let vocab: Vec<String> = corpus.iter().flat_map(|r| toks(&r.text)).collect();
    assert!(b.iter().all(|w| vocab.contains(w)));
}

/// The study in quick mode: θ* is the full-data least-squares fit (checked against the
/// textbook normal equations), and every estimator runs and reports coverage.
#[test]
fn quick_study_runs_every_estimator() {
    let se = read_corpus(&data_dir().join("stack-exchange.csv.gz")).unwrap();
    let wiki = read_corpus(&data_dir().join("wikipedia.csv.gz")).unwrap();
    assert_eq!((se.len(), wiki.len()), (6603, 4353));
    let study = Arc::new(Study::build(Task::Hedge, &se, &wiki, None, false));
    let theta_star = study.full_data_theta().unwrap();
    let (beta, _) = ols_hc0(&study.x, &study.y);
    for j in 0..3 {
        assert!((theta_star[j] - beta[j]).abs() < 1e-10 * (1.0 + beta[j].abs()));
    }
    // The text model, trained on Wikipedia only, is a weak but real signal; one worker is strong.
    let corr = |a: &Array1<f64>, b: &Array1<f64>| {
        let (ma, mb) = (a.mean().unwrap(), b.mean().unwrap());
        let cov = (a - ma).dot(&(b - mb));
        cov / ((a - ma).dot(&(a - ma)) * (b - mb).dot(&(b - mb))).sqrt()
    };
    let (model, annotator) = (
        corr(&study.y, &study.sources[0].2),
        corr(&study.y, &study.sources[1].2),
    );
    assert!(model > 0.1 && model < 0.4, "model {model}");
    assert!(annotator > 0.5, "annotator {annotator}");

    let grid = vec![GridPoint::new(
        "labeling rate",
        0.1,
        LabelingDesign {
            study: Arc::clone(&study),
            rate: 0.1,
            theta_star: theta_star.clone(),
        },
    )];
    let est = estimators(false);
    let report = MonteCarlo::new(8)
        .seed(1)
        .progress(false)
        .run(&grid, &est)
        .unwrap();
    for e in &est {
        let row = report.find(&e.name(), 0.1, "hedge").unwrap();
        assert!(row.failures < row.reps, "{} never ran", row.estimator);
        assert!(
            row.coverage.is_finite() && row.mean_ci_width > 0.0,
            "{}",
            row.estimator
        );
    }
}

#[test]
fn reads_user_llm_outputs() {
    let study = vec![req("one", 0.0), req("two", 0.0)];
    let dir = std::env::temp_dir().join(format!("synthgmm-llm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("llm.csv");
    std::fs::write(
        &path,
        "Id,Request\ntwo,\"generated, from two\"\none,generated from one\n",
    )
    .unwrap();
    assert_eq!(
        read_synthetic_csv(&path, &study).unwrap(),
        ["generated from one", "generated, from two"]
    );
    std::fs::write(&path, "Id,Request\none,only one\n").unwrap();
    let err = read_synthetic_csv(&path, &study).unwrap_err().to_string();
    assert!(err.contains("no generated text for Id two"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The logistic study: binary outcomes in every source, θ* the full-data logistic MLE
/// (its score vanishes), and the estimators run.
#[test]
fn logistic_study_runs() {
    let se = read_corpus(&data_dir().join("stack-exchange.csv.gz")).unwrap();
    let wiki = read_corpus(&data_dir().join("wikipedia.csv.gz")).unwrap();
    let study = Arc::new(Study::build(Task::FirstPlural, &se, &wiki, None, true));
    assert!(study.y.iter().all(|&v| v == 0.0 || v == 1.0));
    assert!(study
        .sources
        .iter()
        .all(|(_, _, y)| y.iter().all(|&v| (0.0..=1.0).contains(&v))));
    let theta_star = study.full_data_theta().unwrap();
    let fitted = study.x.dot(&theta_star).mapv(synthgmm::models::sigmoid);
    let score = study.x.t().dot(&(&study.y - &fitted));
    assert!(score.iter().all(|s| s.abs() < 1e-6), "{score}");
    let grid = vec![GridPoint::new(
        "labeling rate",
        0.2,
        LabelingDesign {
            study,
            rate: 0.2,
            theta_star,
        },
    )];
    let report = MonteCarlo::new(4)
        .seed(2)
        .progress(false)
        .run(&grid, &estimators(true))
        .unwrap();
    assert!(
        report.rows.iter().all(|r| r.failures < r.reps),
        "an estimator never ran"
    );
}

/// A labeled subset (66 rows, logistic hedge study) whose prediction-powered pilot lies
/// closer to separation than the labeled fit itself: the real block's inverse
/// information in the hedge coordinate grows 27-fold there, and selected weights taken
/// at that pilot once moved the hedge estimate from 1.8 to 17.6 (truth 0.03). The pilot
/// must be passed over: the estimate stays near the labeled fit, its standard error
/// near real-only's.
#[test]
fn a_pilot_near_separation_is_not_used() {
    use synthgmm::baselines::RealOnly;
    use synthgmm::models::Logistic;
    use synthgmm::sim::Design;
    use synthgmm::{Estimator, OnSources, TwoStepGmm};
    let se = read_corpus(&data_dir().join("stack-exchange.csv.gz")).unwrap();
    let wiki = read_corpus(&data_dir().join("wikipedia.csv.gz")).unwrap();
    let study = Arc::new(Study::build(Task::Hedge, &se, &wiki, None, true));
    let theta_star = study.full_data_theta().unwrap();
    let design = LabelingDesign {
        study,
        rate: 0.01,
        theta_star,
    };
    let data = design.draw(2025 + 265).unwrap();
    let real = RealOnly::new(Logistic).estimate(&data).unwrap();
    let synth = OnSources::new(
        "GMM-Synth",
        TwoStepGmm::new(Logistic),
        ["model", "synthetic"],
    )
    .estimate(&data)
    .unwrap();
    let hedge = 1;
    let (real_se, se) = (real.se()[hedge], synth.se()[hedge]);
    let moved = (synth.theta()[hedge] - real.theta()[hedge]).abs();
    assert!(moved <= real_se, "moved by {moved}, real-only SE {real_se}");
    assert!(se <= 1.5 * real_se, "SE {se} against real-only {real_se}");
}

#[test]
fn the_exported_population_reads_back_as_the_study() {
    let se = read_corpus(&data_dir().join("stack-exchange.csv.gz")).unwrap();
    let wiki = read_corpus(&data_dir().join("wikipedia.csv.gz")).unwrap();
    let study = Study::build(Task::Hedge, &se[..400], &wiki, None, false);
    let mut bytes = Vec::new();
    study.write_csv(&mut bytes).unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["y", "hedge", "log_length"]);
    assert_eq!(header[3..6], ["model_y", "model_hedge", "model_log_length"]);
    assert_eq!(header.len(), 3 + 3 * study.sources.len());
    let rows: Vec<Vec<f64>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), study.n_rows());
    for (t, row) in rows.iter().enumerate() {
        assert_eq!(row[0], study.y[t]);
        assert_eq!(row[1..3], study.x.row(t).to_vec()[1..]);
        for (m, (_, x, y)) in study.sources.iter().enumerate() {
            assert_eq!(row[3 + 3 * m], y[t]);
            assert_eq!(row[4 + 3 * m..6 + 3 * m], x.row(t).to_vec()[1..]);
        }
    }
}
