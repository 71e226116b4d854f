//! The politeness study: corpus, text features, proxy model, stand-in generator, design.
//!
//! Everything the `politeness` example computes, kept apart from its command line so
//! that `tests/politeness.rs` can test it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array2};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synthgmm::sim::Design;
use synthgmm::DataSources;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One annotated request.
#[derive(Debug, Clone)]
pub struct Request {
    pub community: String,
    pub id: String,
    pub text: String,
    /// The first crowd worker's rating (1–25).
    pub score1: f64,
    /// The five-worker consensus (`Normalized Score`).
    pub consensus: f64,
}

/// The positions of the named columns in a header, or an error naming the file and
/// the first missing column.
pub fn columns<const N: usize>(
    headers: &csv::StringRecord,
    names: [&str; N],
    path: &Path,
) -> Result<[usize; N], BoxError> {
    let mut out = [0; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column `{name}`", path.display()))?;
    }
    Ok(out)
}

/// Reads a gzipped corpus file.
pub fn read_corpus(path: &Path) -> Result<Vec<Request>, BoxError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let [c, i, r, s1, ns] = columns(
        reader.headers()?,
        ["Community", "Id", "Request", "Score1", "Normalized Score"],
        path,
    )?;
    let mut out = Vec::new();
    for (line, rec) in reader.records().enumerate() {
        let rec = rec?;
        let num = |col: usize| -> Result<f64, String> {
            rec[col].trim().parse().map_err(|_| {
                format!(
                    "{}: record {}: `{}` is not a number",
                    path.display(),
                    line + 1,
                    &rec[col]
                )
            })
        };
        out.push(Request {
            community: rec[c].to_string(),
            id: rec[i].to_string(),
            text: rec[r].to_string(),
            score1: num(s1)?,
            consensus: num(ns)?,
        });
    }
    Ok(out)
}

/// The two corpora shipped with the example.
pub fn data_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/politeness")
}

/// Lower-case word tokens (letters, digits and apostrophes).
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// Hedges: words that soften a claim or request. The politeness strategy of
/// Danescu-Niculescu-Mizil et al. (2013, table 3) marks a request as hedged when it
/// contains a word of a hedge lexicon; this list follows the lexicon they used.
pub const HEDGES: &[&str] = &[
    "think",
    "thought",
    "thinking",
    "suggest",
    "suggested",
    "suggestion",
    "perhaps",
    "maybe",
    "possibly",
    "probably",
    "might",
    "seem",
    "seems",
    "seemed",
    "appear",
    "appears",
    "appeared",
    "guess",
    "assume",
    "assumed",
    "suppose",
    "supposed",
    "likely",
    "unlikely",
    "apparently",
    "presumably",
    "somewhat",
    "almost",
    "fairly",
    "rather",
    "tend",
    "tends",
    "indicate",
    "indicates",
    "possible",
    "believe",
    "doubt",
    "unclear",
    "unsure",
    "wonder",
    "wondering",
];

/// First-person plural pronouns (strategy "1st person plural" of the same paper).
pub const FIRST_PLURAL: &[&str] = &[
    "we",
    "our",
    "us",
    "ours",
    "ourselves",
    "let's",
    "we're",
    "we've",
    "we'll",
    "we'd",
];

/// The covariate of interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Task 1: does hedging change perceived politeness?
    Hedge,
    /// Task 2: does first-person plural?
    FirstPlural,
}

impl Task {
    pub fn lexicon(self) -> &'static [&'static str] {
        match self {
            Task::Hedge => HEDGES,
            Task::FirstPlural => FIRST_PLURAL,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Task::Hedge => "hedge",
            Task::FirstPlural => "first_plural",
        }
    }
}

/// 1 if the text uses a word of the lexicon, else 0.
pub fn uses(lexicon: &[&str], tokens: &[String]) -> f64 {
    f64::from(u8::from(
        tokens.iter().any(|t| lexicon.contains(&t.as_str())),
    ))
}

/// Covariates read from a text: intercept, the task's indicator, log(1 + word count).
pub fn covariates(task: Task, tokens: &[String]) -> [f64; 3] {
    [
        1.0,
        uses(task.lexicon(), tokens),
        (1.0 + tokens.len() as f64).ln(),
    ]
}

/// Covariate names, in the order of [`covariates`].
pub fn covariate_names(task: Task) -> [String; 3] {
    ["intercept".into(), task.name().into(), "log_length".into()]
}

/// A multinomial naive-Bayes text model of a binary label (consensus > 0: polite, or a
/// sentence that agrees) with Laplace smoothing, calibrated to the consensus scale by least squares of the consensus on
/// the model's log-odds, all on its training corpus.
#[derive(Debug, Clone)]
pub struct TextModel {
    log_ratio: HashMap<String, f64>,
    unseen: f64,
    prior: f64,
    intercept: f64,
    slope: f64,
}

impl TextModel {
    pub fn train(corpus: &[Request]) -> Self {
        let mut counts: [HashMap<String, f64>; 2] = [HashMap::new(), HashMap::new()];
        let mut totals = [0.0f64; 2];
        let mut docs = [0.0f64; 2];
        for r in corpus {
            let class = usize::from(r.consensus > 0.0);
            docs[class] += 1.0;
            for t in tokenize(&r.text) {
                *counts[class].entry(t).or_default() += 1.0;
                totals[class] += 1.0;
            }
        }
        let vocab: std::collections::HashSet<&String> =
            counts[0].keys().chain(counts[1].keys()).collect();
        let v = vocab.len() as f64;
        let log_p = |class: usize, w: &String| {
            ((counts[class].get(w).copied().unwrap_or(0.0) + 1.0) / (totals[class] + v)).ln()
        };
        let log_ratio = vocab
            .iter()
            .map(|w| ((*w).clone(), log_p(1, w) - log_p(0, w)))
            .collect();
        let unseen = ((totals[0] + v) / (totals[1] + v)).ln();
        let mut model = Self {
            log_ratio,
            unseen,
            prior: (docs[1] / docs[0]).ln(),
            intercept: 0.0,
            slope: 1.0,
        };
        // Calibrate: consensus ≈ a + b · log-odds on the training corpus.
        let z: Vec<f64> = corpus
            .iter()
            .map(|r| model.log_odds(&tokenize(&r.text)))
            .collect();
        let y: Vec<f64> = corpus.iter().map(|r| r.consensus).collect();
        let n = z.len() as f64;
        let (mz, my) = (z.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let sxy: f64 = z.iter().zip(&y).map(|(a, b)| (a - mz) * (b - my)).sum();
        let sxx: f64 = z.iter().map(|a| (a - mz).powi(2)).sum();
        model.slope = sxy / sxx;
        model.intercept = my - model.slope * mz;
        model
    }

    /// log P(polite | text) − log P(not polite | text).
    pub fn log_odds(&self, tokens: &[String]) -> f64 {
        self.prior
            + tokens
                .iter()
                .map(|t| self.log_ratio.get(t).copied().unwrap_or(self.unseen))
                .sum::<f64>()
    }

    /// Predicted probability that a text is polite (consensus > 0).
    pub fn probability(&self, tokens: &[String]) -> f64 {
        synthgmm::models::sigmoid(self.log_odds(tokens))
    }

    /// Predicted consensus politeness of a text.
    pub fn predict(&self, tokens: &[String]) -> f64 {
        self.intercept + self.slope * self.log_odds(tokens)
    }
}

/// A stand-in for an LLM that writes a new request conditioned on a real one: a word
/// bigram model of another corpus, walked along the real request. At each position it
/// keeps the real word with probability `keep`, otherwise it samples the next word
/// from the bigram model given the previous word (falling back to the real word when
/// that word was never seen). The new request has the real one's length, shares some
/// of its words, and drifts toward the other corpus's style: imperfect, row-aligned
/// synthetic text. It is not an LLM.
#[derive(Debug, Clone)]
pub struct BigramGenerator {
    next: HashMap<String, Vec<(String, u32)>>,
    keep: f64,
}

impl BigramGenerator {
    pub fn train(corpus: &[Request], keep: f64) -> Self {
        let mut counts: HashMap<String, HashMap<String, u32>> = HashMap::new();
        for r in corpus {
            let tokens = tokenize(&r.text);
            for pair in std::iter::once("<s>".to_string())
                .chain(tokens)
                .collect::<Vec<_>>()
                .windows(2)
            {
                *counts
                    .entry(pair[0].clone())
                    .or_default()
                    .entry(pair[1].clone())
                    .or_default() += 1;
            }
        }
        let next = counts
            .into_iter()
            .map(|(w, nexts)| {
                let mut v: Vec<(String, u32)> = nexts.into_iter().collect();
                v.sort(); // deterministic order, whatever the hash seed
                (w, v)
            })
            .collect();
        Self { next, keep }
    }

    /// A new request conditioned on `real`, reproducible from `seed`.
    pub fn generate(&self, real: &[String], seed: u64) -> Vec<String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out: Vec<String> = Vec::with_capacity(real.len());
        for word in real {
            let prev = out.last().map_or("<s>", String::as_str);
            let pick = if rng.random::<f64>() < self.keep {
                None
            } else {
                self.next.get(prev)
            };
            match pick {
                Some(options) => {
                    let total: u32 = options.iter().map(|o| o.1).sum();
                    let mut draw = rng.random_range(0..total);
                    let chosen = options.iter().find(|o| {
                        if draw < o.1 {
                            true
                        } else {
                            draw -= o.1;
                            false
                        }
                    });
                    out.push(chosen.map_or_else(|| word.clone(), |o| o.0.clone()));
                }
                None => out.push(word.clone()),
            }
        }
        out
    }
}

/// The study population: every Stack Exchange request with its real (x, y) and the
/// three auxiliary sources, aligned by row.
#[derive(Debug, Clone)]
pub struct Study {
    pub task: Task,
    /// Logistic study: y = 1{consensus > 0}; otherwise the consensus itself.
    pub binary: bool,
    pub x: Array2<f64>,
    pub y: Array1<f64>,
    /// (name, x, y) of each source: `model` (naive Bayes), `annotator` (one worker),
    /// `synthetic` (generated text read by the same model).
    pub sources: Vec<Source>,
}

/// The rows' synthetic texts, tokenized: the user's own (one per row, in order) or the
/// stand-in generator's, walking each real row (seeded by its position).
pub fn synthetic_tokens(
    texts: Option<&[String]>,
    real: &[Vec<String>],
    generator: &BigramGenerator,
) -> Vec<Vec<String>> {
    match texts {
        Some(texts) => texts.iter().map(|t| tokenize(t)).collect(),
        None => real
            .iter()
            .enumerate()
            .map(|(i, t)| generator.generate(t, i as u64))
            .collect(),
    }
}

/// An n × 3 matrix from its rows.
pub fn rows_to_matrix(rows: &[[f64; 3]]) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), 3), |(i, j)| rows[i][j])
}

/// Pearson correlation of two equal-length series.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Rescales `v` linearly to the mean and standard deviation of `target`.
pub fn rescale_like(v: &[f64], target: &[f64]) -> Vec<f64> {
    let stats = |a: &[f64]| {
        let m = a.iter().sum::<f64>() / a.len() as f64;
        (
            m,
            (a.iter().map(|x| (x - m).powi(2)).sum::<f64>() / a.len() as f64).sqrt(),
        )
    };
    let ((mv, sv), (mt, st)) = (stats(v), stats(target));
    v.iter().map(|x| mt + st * (x - mv) / sv).collect()
}

impl Study {
    /// Builds the study: the text model and the generator are trained on `training`
    /// (Wikipedia), never on the study rows. `synthetic_texts`, if given, replaces the
    /// stand-in generator (one text per study row, in order).
    ///
    /// With `binary`, outcomes are polite/not (consensus > 0): the model's outcome is its
    /// probability, the annotator's is her rescaled score > 0.
    pub fn build(
        task: Task,
        study: &[Request],
        training: &[Request],
        synthetic_texts: Option<&[String]>,
        binary: bool,
    ) -> Study {
        let model = TextModel::train(training);
        let generator = BigramGenerator::train(training, 0.6);
        let tokens: Vec<Vec<String>> = study.iter().map(|r| tokenize(&r.text)).collect();
        let x = rows_to_matrix(
            &tokens
                .iter()
                .map(|t| covariates(task, t))
                .collect::<Vec<_>>(),
        );
        let consensus: Vec<f64> = study.iter().map(|r| r.consensus).collect();
        let read = |t: &[String]| {
            if binary {
                model.probability(t)
            } else {
                model.predict(t)
            }
        };
        let model_y: Array1<f64> = tokens.iter().map(|t| read(t)).collect();
        let score1: Vec<f64> = study.iter().map(|r| r.score1).collect();
        let mut annotator_y = Array1::from(rescale_like(&score1, &consensus));
        let mut consensus = consensus;
        if binary {
            let polite = |v: &mut f64| *v = f64::from(u8::from(*v > 0.0));
            annotator_y.iter_mut().for_each(polite);
            consensus.iter_mut().for_each(polite);
        }
        let synthetic = synthetic_tokens(synthetic_texts, &tokens, &generator);
        let synth_x = rows_to_matrix(
            &synthetic
                .iter()
                .map(|t| covariates(task, t))
                .collect::<Vec<_>>(),
        );
        let synth_y: Array1<f64> = synthetic.iter().map(|t| read(t)).collect();
        Study {
            task,
            binary,
            x: x.clone(),
            y: Array1::from(consensus),
            sources: vec![
                ("model".into(), x.clone(), model_y),
                ("annotator".into(), x, annotator_y),
                ("synthetic".into(), synth_x, synth_y),
            ],
        }
    }

    pub fn n_rows(&self) -> usize {
        self.y.len()
    }

    /// θ*: the full-data fit of the consensus on the covariates.
    pub fn full_data_theta(&self) -> Result<Array1<f64>, synthgmm::Error> {
        full_data_fit(&self.x, &self.y, self.binary)
    }

    /// Writes the population as CSV: the real outcome and covariates (without the
    /// intercept), then each source's, as `<source>_<column>`; one row per request.
    /// Other front ends (the R and Python packages) read it to fit the same study.
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> Result<(), BoxError> {
        let names = covariate_names(self.task);
        let mut header = vec!["y".to_string()];
        header.extend(names[1..].iter().cloned());
        for (source, _, _) in &self.sources {
            header.push(format!("{source}_y"));
            header.extend(names[1..].iter().map(|c| format!("{source}_{c}")));
        }
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(&header)?;
        for t in 0..self.n_rows() {
            let mut row = vec![self.y[t]];
            row.extend(self.x.row(t).iter().skip(1));
            for (_, x, y) in &self.sources {
                row.push(y[t]);
                row.extend(x.row(t).iter().skip(1));
            }
            writer.write_record(row.iter().map(|v| v.to_string()))?;
        }
        writer.flush()?;
        Ok(())
    }

    /// The data with the given rows labeled.
    pub fn with_labels(&self, labeled: &[bool]) -> Result<DataSources, synthgmm::Error> {
        labeled_data(
            (&self.x, &self.y),
            &self.sources,
            labeled,
            covariate_names(self.task),
        )
    }
}

/// (name, covariates, outcome) of one source on every row.
pub type Source = (String, Array2<f64>, Array1<f64>);

/// The full-data fit of y on x: least squares, or logistic regression when `binary`.
pub fn full_data_fit(
    x: &Array2<f64>,
    y: &Array1<f64>,
    binary: bool,
) -> Result<Array1<f64>, synthgmm::Error> {
    use synthgmm::baselines::RealOnly;
    use synthgmm::models::{Logistic, Ols};
    use synthgmm::Estimator;
    let all = vec![true; y.len()];
    let data = DataSources::builder(&all).real(x, y).build()?;
    let fit = if binary {
        RealOnly::new(Logistic).estimate(&data)?
    } else {
        RealOnly::new(Ols).estimate(&data)?
    };
    Ok(fit.theta().to_owned())
}

/// The study's data with the given rows labeled: the real outcome hidden elsewhere,
/// every source on every row.
pub fn labeled_data<S: Into<String>>(
    (x, y): (&Array2<f64>, &Array1<f64>),
    sources: &[Source],
    labeled: &[bool],
    names: impl IntoIterator<Item = S>,
) -> Result<DataSources, synthgmm::Error> {
    let y: Array1<f64> = y
        .iter()
        .zip(labeled)
        .map(|(&v, &l)| if l { v } else { f64::NAN })
        .collect();
    let mut b = DataSources::builder(labeled)
        .real(x, &y)
        .covariate_names(names);
    for (name, x, y) in sources {
        b = b.source(name.clone(), x, y);
    }
    b.build()
}

/// Prints each source's correlation with the outcome, then θ* by coefficient.
pub fn describe_sources(y: &Array1<f64>, sources: &[Source], names: &[&str], theta: &Array1<f64>) {
    let y = y.to_vec();
    for (name, _, sy) in sources {
        println!(
            "  corr(consensus, {name:<9}) = {:.3}",
            correlation(&y, &sy.to_vec())
        );
    }
    let described: Vec<String> = names
        .iter()
        .zip(theta.iter())
        .map(|(name, v)| format!("{name} {v:.4}"))
        .collect();
    println!(
        "θ* (the full-data fit, the truth here): {}\n",
        described.join(", ")
    );
}

/// A study population: rows that can be labeled, and the coefficients' names.
pub trait Population: Send + Sync {
    fn n_rows(&self) -> usize;
    /// The data with the given rows labeled.
    fn with_labels(&self, labeled: &[bool]) -> Result<DataSources, synthgmm::Error>;
    fn coefficient_names(&self) -> Vec<String>;
}

impl Population for Study {
    fn n_rows(&self) -> usize {
        Study::n_rows(self)
    }
    fn with_labels(&self, labeled: &[bool]) -> Result<DataSources, synthgmm::Error> {
        Study::with_labels(self, labeled)
    }
    fn coefficient_names(&self) -> Vec<String> {
        covariate_names(self.task).to_vec()
    }
}

/// Repeated random labeling of a study population at one rate, judged against θ*.
pub struct LabelingDesign<P: Population = Study> {
    pub study: std::sync::Arc<P>,
    pub rate: f64,
    pub theta_star: Array1<f64>,
}

impl<P: Population> Design for LabelingDesign<P> {
    fn draw(&self, seed: u64) -> synthgmm::Result<DataSources> {
        let t = self.study.n_rows();
        let n = ((self.rate * t as f64).round() as usize).clamp(1, t);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut labeled = vec![false; t];
        for i in sample(&mut rng, t, n) {
            labeled[i] = true;
        }
        self.study.with_labels(&labeled)
    }
    fn truth(&self) -> Array1<f64> {
        self.theta_star.clone()
    }
    fn coefficient_names(&self) -> Vec<String> {
        self.study.coefficient_names()
    }
}

/// Reads a user's own generated texts: a CSV with columns `Id` (the corpus request it
/// was generated from) and `Request` (the generated text), one row per study request.
pub fn read_synthetic_csv(path: &Path, study: &[Request]) -> Result<Vec<String>, BoxError> {
    read_generated_texts(path, study.iter().map(|r| r.id.as_str()), ["Id", "Request"])
}

/// Generated texts from a CSV with an id column and a text column (`columns`), in the
/// order of `ids`; an error names the first id without a text.
pub fn read_generated_texts<'a>(
    path: &Path,
    ids: impl Iterator<Item = &'a str>,
    columns: [&str; 2],
) -> Result<Vec<String>, BoxError> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let [id, text] = self::columns(reader.headers()?, columns, path)?;
    let mut by_id = HashMap::new();
    for rec in reader.records() {
        let rec = rec?;
        by_id.insert(rec[id].to_string(), rec[text].to_string());
    }
    ids.map(|i| {
        by_id
            .get(i)
            .cloned()
            .ok_or_else(|| format!("no generated text for {} {i}", columns[0]).into())
    })
    .collect()
}

/// The estimators of the paper's table, for the study's model.
pub fn estimators(binary: bool) -> Vec<Box<dyn synthgmm::Estimator + Send + Sync>> {
    if binary {
        estimators_for(synthgmm::models::Logistic)
    } else {
        estimators_for(synthgmm::models::Ols)
    }
}

fn estimators_for<M>(m: M) -> Vec<Box<dyn synthgmm::Estimator + Send + Sync>>
where
    M: synthgmm::MomentModel + Clone + Send + Sync + 'static,
{
    use synthgmm::baselines::{NaivePooled, PpiPlusPlus, PpiSynth, RePpi, RealOnly};
    use synthgmm::{OnSources, TwoStepGmm};
    vec![
        Box::new(RealOnly::new(m.clone())),
        Box::new(NaivePooled::new(m.clone(), ["model", "synthetic"])),
        Box::new(PpiPlusPlus::new(m.clone(), "model")),
        Box::new(PpiSynth::new(m.clone(), "model", "synthetic").grid(6)),
        Box::new(RePpi::new(m.clone(), ["model", "synthetic"])),
        Box::new(OnSources::new(
            "GMM-Proxy",
            TwoStepGmm::new(m.clone()),
            ["model"],
        )),
        Box::new(OnSources::new(
            "GMM-Synth",
            TwoStepGmm::new(m.clone()),
            ["model", "synthetic"],
        )),
        Box::new(OnSources::new(
            "GMM-All (M = 3)",
            TwoStepGmm::new(m),
            ["model", "annotator", "synthetic"],
        )),
    ]
}
