//! The climate-stance example's study: reading GWSD, the affirmative-language feature,
//! the sources, and its errors, on a small file in GWSD's format written here.

use crate::common;
use crate::politeness::pipeline;
#[path = "../examples/climate_stance/study.rs"]
mod study;

use std::io::Write;

use ndarray::Array1;
use pipeline::tokenize;
use study::{covariates, read_gwsd, read_lexicon, uses, Study};
use synthgmm::sim::Design;

const HEADER: &str = "\tround\tbatch\tsent_id\tsentence\tworker_0\tworker_1\tdisagree\tagree\tneutral\tguid\tin_held_out_test";

/// A row in GWSD's layout; `posteriors` empty for a screening sentence.
fn row(i: usize, text: &str, worker: &str, posteriors: &str, held_out: bool) -> String {
    let p = if posteriors.is_empty() {
        "\t\t"
    } else {
        posteriors
    };
    let held = if held_out { "True" } else { "False" };
    format!("{i}\t1\t0\ts{i}\t{text}\t{worker}\tneutral\t{p}\t1_0_s{i}\t{held}")
}

fn write(name: &str, lines: &[String]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("synthgmm-gwsd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    path
}

/// Sentences that agree use "scientists"/"overwhelming evidence" more often; the
/// last four are the held-out split.
fn corpus() -> Vec<String> {
    let texts = [
        (
            "Scientists warn that warming is a serious threat.",
            "agrees",
            "0.05\t0.9\t0.05",
        ),
        ("The climate is changing fast.", "agrees", "0.1\t0.6\t0.3"),
        (
            "Warming is a hoax pushed by activists.",
            "disagrees",
            "0.9\t0.05\t0.05",
        ),
        (
            "Overwhelming evidence shows rising seas.",
            "agrees",
            "0.05\t0.8\t0.15",
        ),
        (
            "The report was released on Monday.",
            "neutral",
            "0.1\t0.2\t0.7",
        ),
        (
            "Models have exaggerated the trend for years.",
            "disagrees",
            "0.7\t0.1\t0.2",
        ),
        (
            "Experts agree the risk is real.",
            "neutral",
            "0.1\t0.5\t0.4",
        ),
        (
            "Nothing unusual about this summer.",
            "disagrees",
            "0.6\t0.1\t0.3",
        ),
        (
            "Leading scientists call for action now.",
            "agrees",
            "0.1\t0.7\t0.2",
        ),
        (
            "The senator spoke about energy prices.",
            "neutral",
            "0.2\t0.2\t0.6",
        ),
        (
            "Carbon emissions keep climbing.",
            "agrees",
            "0.1\t0.55\t0.35",
        ),
        (
            "Climate alarmism is overblown.",
            "disagrees",
            "0.8\t0.1\t0.1",
        ),
    ];
    let mut lines = vec![HEADER.to_string()];
    lines.push(row(0, "Global warming is a hoax.", "disagrees", "", false));
    for (i, (text, worker, post)) in texts.iter().enumerate() {
        lines.push(row(i + 1, text, worker, post, false));
    }
    for (i, (text, worker, post)) in texts.iter().take(4).enumerate() {
        lines.push(row(100 + i, text, worker, post, true));
    }
    lines
}

fn lexicon() -> Vec<String> {
    ["scientists", "experts", "overwhelming_evidence", "leading"]
        .map(String::from)
        .to_vec()
}

#[test]
fn reads_gwsd_and_skips_screening_sentences() {
    let sentences = read_gwsd(&write("read.tsv", &corpus())).unwrap();
    assert_eq!(sentences.len(), 16);
    assert!(sentences.iter().all(|s| s.id != "1_0_s0"));
    assert_eq!(sentences.iter().filter(|s| s.held_out).count(), 4);
    // The consensus is the largest posterior: 0.5 agree beats 0.4 neutral.
    let experts = sentences
        .iter()
        .find(|s| s.text.starts_with("Experts"))
        .unwrap();
    assert!(experts.agrees && !experts.first_worker_agrees);
    let report = sentences
        .iter()
        .find(|s| s.text.contains("Monday"))
        .unwrap();
    assert!(!report.agrees);
}

#[test]
fn affirmative_language_matches_words_and_phrases() {
    let lex = lexicon();
    assert_eq!(uses(&lex, &tokenize("Overwhelming evidence shows it")), 1.0);
    assert_eq!(uses(&lex, &tokenize("overwhelming support")), 0.0);
    assert_eq!(uses(&lex, &tokenize("The Scientists said")), 1.0);
    assert_eq!(uses(&lex, &tokenize("scientist")), 0.0); // whole entries only
    let x = covariates(&lex, &tokenize("leading experts agree"));
    assert_eq!(x, [1.0, 1.0, 4f64.ln()]);
}

#[test]
fn the_study_trains_its_sources_on_the_held_out_split_only() {
    let sentences = read_gwsd(&write("study.tsv", &corpus())).unwrap();
    let study = Study::build(&sentences, &lexicon(), None, false).unwrap();
    assert_eq!(study.n_rows(), 12);
    let names: Vec<&str> = study.sources.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["model", "annotator", "synthetic"]);
    for (_, x, y) in &study.sources {
        assert_eq!((x.nrows(), y.len()), (12, 12));
        assert!(y.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    // The annotator source is the first worker's vote on the study rows, in order.
    let votes: Vec<f64> = sentences
        .iter()
        .filter(|s| !s.held_out)
        .map(|s| f64::from(u8::from(s.first_worker_agrees)))
        .collect();
    assert_eq!(study.sources[1].2.to_vec(), votes);
    // θ*: least squares of the consensus on the covariates, by the normal equations.
    let (beta, _) = common::ols_hc0(&study.x, &study.y);
    let theta = study.full_data_theta().unwrap();
    common::assert_close(
        "θ*",
        theta.as_slice().unwrap(),
        beta.as_slice().unwrap(),
        1e-10,
        1e-12,
    );
    // A labeling design draws the requested share and keeps the names.
    let design = pipeline::LabelingDesign {
        study: std::sync::Arc::new(study),
        rate: 0.5,
        theta_star: Array1::from(theta.to_vec()),
    };
    let data = design.draw(7).unwrap();
    assert_eq!((data.n_rows(), data.n_labeled()), (12, 6));
    assert_eq!(
        design.coefficient_names(),
        ["intercept", "affirm", "log_length"]
    );
}

#[test]
fn malformed_files_are_clear_errors() {
    let err =
        |name: &str, lines: Vec<String>| read_gwsd(&write(name, &lines)).unwrap_err().to_string();
    let mut no_agree = corpus();
    no_agree[0] = no_agree[0].replace("\tagree\t", "\tagreed\t");
    assert!(err("no_agree.tsv", no_agree).contains("no column `agree`"));
    let mut bad = corpus();
    bad[4] = bad[4].replace("0.9\t0.05\t0.05", "0.9\tlots\t0.05");
    let e = err("bad.tsv", bad);
    assert!(
        e.contains("line 5") && e.contains("`lots` is not a probability"),
        "{e}"
    );
    let mut flag = corpus();
    flag[2] = flag[2].replace("\tFalse", "\tmaybe");
    assert!(err("flag.tsv", flag).contains("in_held_out_test is `maybe`"));
    assert!(err("empty.tsv", vec![HEADER.to_string()]).contains("no annotated sentences"));
    assert!(read_gwsd(std::path::Path::new("/nonexistent/GWSD.tsv")).is_err());
    assert!(read_lexicon(&write("lexicon.txt", &[String::new()])).is_err());
    // Without held-out sentences the proxy cannot be trained.
    let sentences: Vec<_> = read_gwsd(&write("gwsd.tsv", &corpus()))
        .unwrap()
        .into_iter()
        .filter(|s| !s.held_out)
        .collect();
    assert!(Study::build(&sentences, &lexicon(), None, true).is_err());
}

#[test]
fn user_generated_sentences_replace_the_stand_in() {
    let sentences = read_gwsd(&write("generated.tsv", &corpus())).unwrap();
    let ids: Vec<&str> = Study::rows(&sentences).map(|s| s.id.as_str()).collect();
    let mut csv = vec!["guid,sentence".to_string()];
    // In another order than the study's, one text with affirmative language.
    for id in ids.iter().rev() {
        let text = if *id == "1_0_s2" {
            "\"Experts agree, sea levels rise\""
        } else {
            "a plain sentence"
        };
        csv.push(format!("{id},{text}"));
    }
    let path = write("generated.csv", &csv);
    let texts =
        pipeline::read_generated_texts(&path, ids.iter().copied(), ["guid", "sentence"]).unwrap();
    assert_eq!(texts[1], "Experts agree, sea levels rise");
    let study = Study::build(&sentences, &lexicon(), Some(&texts), false).unwrap();
    let affirm: Vec<f64> = study.sources[2].1.column(1).to_vec();
    assert_eq!(affirm.iter().sum::<f64>(), 1.0);
    assert_eq!(affirm[1], 1.0);
    // A text missing for a study sentence, or the wrong number of texts, is an error.
    let short = write("short.csv", &csv[..5]);
    let e = pipeline::read_generated_texts(&short, ids.iter().copied(), ["guid", "sentence"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("no generated text for guid"), "{e}");
    let e = Study::build(&sentences, &lexicon(), Some(&texts[..3]), false).unwrap_err();
    assert!(e
        .to_string()
        .contains("3 generated texts for 12 study sentences"));
}
