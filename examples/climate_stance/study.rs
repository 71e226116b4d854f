//! The climate-stance study: the Global Warming Stance Dataset (GWSD), its features,
//! sources and labeling design.
//!
//! Kept apart from the command line so that `tests/climate_stance.rs` can test it on a
//! small file written in the test.

#![allow(dead_code)]

use std::path::Path;

use ndarray::{Array1, Array2};
use synthgmm::DataSources;

use super::pipeline::{
    columns, full_data_fit, labeled_data, rows_to_matrix, synthetic_tokens, tokenize,
    BigramGenerator, Population, Request, Source, TextModel,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One annotated sentence of GWSD.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub id: String,
    pub text: String,
    /// The consensus: the dataset's Bayesian annotator model puts the largest
    /// posterior probability on "agrees" (that global warming is a serious concern).
    pub agrees: bool,
    /// The first of the eight crowd workers says "agrees".
    pub first_worker_agrees: bool,
    /// In the dataset's held-out test split (used here to train the proxy model).
    pub held_out: bool,
}

/// Reads `GWSD.tsv` (tab-separated, with a header). Rows without posterior
/// probabilities (the screening sentences repeated in every batch) are skipped.
pub fn read_gwsd(path: &Path) -> Result<Vec<Sentence>, BoxError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let cols = columns(
        reader.headers()?,
        [
            "guid",
            "sentence",
            "disagree",
            "agree",
            "neutral",
            "worker_0",
            "in_held_out_test",
        ],
        path,
    )?;
    let mut out = Vec::new();
    for (line, rec) in reader.records().enumerate() {
        let rec = rec?;
        if let Some(sentence) = parse_row(&rec, cols, line + 2, path)? {
            out.push(sentence);
        }
    }
    if out.is_empty() {
        return Err(format!("{}: no annotated sentences", path.display()).into());
    }
    Ok(out)
}

/// One record, or `None` for a screening sentence (empty posteriors).
fn parse_row(
    rec: &csv::StringRecord,
    [guid, text, disagree, agree, neutral, worker, held_out]: [usize; 7],
    line: usize,
    path: &Path,
) -> Result<Option<Sentence>, BoxError> {
    let field = |c: usize| rec.get(c).unwrap_or("").trim();
    if [disagree, agree, neutral]
        .iter()
        .all(|&c| field(c).is_empty())
    {
        return Ok(None);
    }
    let num = |c: usize| -> Result<f64, String> {
        field(c)
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "{}: line {line}: `{}` is not a probability",
                    path.display(),
                    field(c)
                )
            })
    };
    let (d, a, n) = (num(disagree)?, num(agree)?, num(neutral)?);
    let held = match field(held_out) {
        "True" | "true" => true,
        "False" | "false" => false,
        other => {
            return Err(format!(
                "{}: line {line}: in_held_out_test is `{other}`, not True/False",
                path.display()
            )
            .into())
        }
    };
    Ok(Some(Sentence {
        id: field(guid).to_string(),
        text: field(text).to_string(),
        agrees: a > d && a > n,
        first_worker_agrees: field(worker) == "agrees",
        held_out: held,
    }))
}

/// Reads a lexicon: one entry per line, multi-word entries joined by `_`.
pub fn read_lexicon(path: &Path) -> Result<Vec<String>, BoxError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let words: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    if words.is_empty() {
        return Err(format!("{}: empty lexicon", path.display()).into());
    }
    Ok(words)
}

/// 1 if the tokens contain an entry of the lexicon (a word, or up to three
/// consecutive words joined by `_`), else 0.
pub fn uses(lexicon: &[String], tokens: &[String]) -> f64 {
    let phrase = |n: usize| tokens.windows(n).map(|w| w.join("_"));
    let found = (1..=3).any(|n| phrase(n).any(|p| lexicon.contains(&p)));
    f64::from(u8::from(found))
}

/// Covariate names, in the order of [`covariates`].
pub const COVARIATE_NAMES: [&str; 3] = ["intercept", "affirm", "log_length"];

/// Intercept, affirmative language (the lexicon's indicator), log(1 + word count).
pub fn covariates(lexicon: &[String], tokens: &[String]) -> [f64; 3] {
    [1.0, uses(lexicon, tokens), (1.0 + tokens.len() as f64).ln()]
}

/// The study population: the sentences outside the held-out split, with their real
/// (x, y) and three sources aligned by row.
#[derive(Debug, Clone)]
pub struct Study {
    /// Logistic regression (otherwise least squares, a linear probability model).
    pub binary: bool,
    pub x: Array2<f64>,
    /// 1 if the consensus agrees.
    pub y: Array1<f64>,
    /// (name, x, y): `model` (naive Bayes trained on the held-out split, its predicted
    /// probability), `annotator` (the first worker's vote), `synthetic` (a generated
    /// sentence read by the same model, with its own covariates).
    pub sources: Vec<Source>,
}

fn to_request(s: &Sentence) -> Request {
    let label = if s.agrees { 1.0 } else { -1.0 };
    Request {
        community: "gwsd".into(),
        id: s.id.clone(),
        text: s.text.clone(),
        score1: label,
        consensus: label,
    }
}

impl Study {
    /// The proxy model and the stand-in generator are trained on the held-out split
    /// only; the study rows are the others. `synthetic_texts`, if given, replaces the
    /// stand-in generator (one text per study row, in order; see [`Study::rows`]).
    pub fn build(
        sentences: &[Sentence],
        lexicon: &[String],
        synthetic_texts: Option<&[String]>,
        binary: bool,
    ) -> Result<Study, BoxError> {
        let training: Vec<Request> = sentences
            .iter()
            .filter(|s| s.held_out)
            .map(to_request)
            .collect();
        let rows: Vec<&Sentence> = Study::rows(sentences).collect();
        if training.is_empty() || rows.len() < 10 {
            return Err(
                "the study needs held-out sentences (to train the proxy) and at least 10 others"
                    .into(),
            );
        }
        let model = TextModel::train(&training);
        let generator = BigramGenerator::train(&training, 0.6);
        let tokens: Vec<Vec<String>> = rows.iter().map(|s| tokenize(&s.text)).collect();
        let x = rows_to_matrix(
            &tokens
                .iter()
                .map(|t| covariates(lexicon, t))
                .collect::<Vec<_>>(),
        );
        let y: Array1<f64> = rows.iter().map(|s| f64::from(u8::from(s.agrees))).collect();
        let model_y: Array1<f64> = tokens.iter().map(|t| model.probability(t)).collect();
        let annotator_y: Array1<f64> = rows
            .iter()
            .map(|s| f64::from(u8::from(s.first_worker_agrees)))
            .collect();
        if let Some(texts) = synthetic_texts.filter(|t| t.len() != rows.len()) {
            let (got, want) = (texts.len(), rows.len());
            return Err(format!("{got} generated texts for {want} study sentences").into());
        }
        let synthetic = synthetic_tokens(synthetic_texts, &tokens, &generator);
        let synth_x = rows_to_matrix(
            &synthetic
                .iter()
                .map(|t| covariates(lexicon, t))
                .collect::<Vec<_>>(),
        );
        let synth_y: Array1<f64> = synthetic.iter().map(|t| model.probability(t)).collect();
        Ok(Study {
            binary,
            x: x.clone(),
            y,
            sources: vec![
                ("model".into(), x.clone(), model_y),
                ("annotator".into(), x, annotator_y),
                ("synthetic".into(), synth_x, synth_y),
            ],
        })
    }

    /// The study rows: the sentences outside the held-out split, in file order.
    pub fn rows(sentences: &[Sentence]) -> impl Iterator<Item = &Sentence> {
        sentences.iter().filter(|s| !s.held_out)
    }

    pub fn n_rows(&self) -> usize {
        self.y.len()
    }

    /// θ*: the fit on every study row.
    pub fn full_data_theta(&self) -> Result<Array1<f64>, synthgmm::Error> {
        full_data_fit(&self.x, &self.y, self.binary)
    }

    /// The data with the given rows labeled.
    pub fn with_labels(&self, labeled: &[bool]) -> Result<DataSources, synthgmm::Error> {
        labeled_data((&self.x, &self.y), &self.sources, labeled, COVARIATE_NAMES)
    }
}

impl Population for Study {
    fn n_rows(&self) -> usize {
        Study::n_rows(self)
    }
    fn with_labels(&self, labeled: &[bool]) -> Result<DataSources, synthgmm::Error> {
        Study::with_labels(self, labeled)
    }
    fn coefficient_names(&self) -> Vec<String> {
        COVARIATE_NAMES.iter().map(|s| s.to_string()).collect()
    }
}
