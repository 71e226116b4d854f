//! Counts the passes over all rows each fit makes, for `docs/performance.md`.
//!
//! ```text
//! cargo run --release --example passes
//! ```
//!
//! The rows are summed by a [`SumsEngine`] that counts the requests it answers, as the
//! out-of-core tiers do (Parquet, DataFusion, SQL: one read of the files or one query
//! per request; in memory a pass is a sweep over the chunks, and a few sums are reused
//! from the cache of recent passes instead). Data: T = 20,000 rows, p = 3 (an intercept
//! and two standard normals), 10% labeled at random, a proxy and a synthetic source on
//! the real covariates (M = 2), seeded. For each model and estimator setting the
//! example prints the number of passes and what they summed: ḡ alone, with the
//! Jacobian Ĝ, with the squares Σ g² alone (a source's screening, with its Jacobian),
//! with Ω̂ = Σ g gᵀ, or with Windmeijer's contraction. The floor is one
//! read of the data.

use std::sync::{Arc, Mutex};

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use synthgmm::models::{sigmoid, Logistic, Ols, Poisson};
use synthgmm::{
    ColumnBlock, Covariance, CrossWeights, DataSources, MomentModel, MomentSums, PassRequest,
    Result, RowColumns, SumsEngine, TwoStepGmm,
};

const T: usize = 20_000;
const P: usize = 3;

/// The simulated table: label mask, covariate columns, real outcome and the sources'.
struct Table {
    labeled: Vec<bool>,
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    sources: Vec<Vec<f64>>,
}

impl Table {
    fn simulate(model: &str) -> Table {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
        let x: Vec<Vec<f64>> = (0..P)
            .map(|j| {
                (0..T)
                    .map(|_| if j == 0 { 1.0 } else { normal() })
                    .collect()
            })
            .collect();
        let eta: Vec<f64> = (0..T)
            .map(|i| 0.2 + 0.5 * x[1][i] - 0.3 * x[2][i])
            .collect();
        let e: Vec<f64> = (0..T).map(|_| normal()).collect();
        let noisy = |rho: f64, normal: &mut dyn FnMut() -> f64| -> Vec<f64> {
            (0..T)
                .map(|i| eta[i] + rho * e[i] + (1.0 - rho * rho).sqrt() * normal())
                .collect()
        };
        let (proxy, synth) = (noisy(0.7, &mut normal), noisy(0.5, &mut normal));
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let outcome = |v: f64, rng: &mut ChaCha8Rng| match model {
            "logistic" => f64::from(u8::from(rng.random::<f64>() < sigmoid(v))),
            "poisson" => (0.5 * v).exp().round(),
            _ => v,
        };
        let y: Vec<f64> = (0..T).map(|i| outcome(eta[i] + e[i], &mut rng)).collect();
        let sources = [proxy, synth]
            .into_iter()
            .map(|s| s.into_iter().map(|v| outcome(v, &mut rng)).collect())
            .collect();
        let labeled = (0..T).map(|i| (i * 7919) % T < T / 10).collect();
        Table {
            labeled,
            x,
            y,
            sources,
        }
    }

    fn block<'a>(&'a self, y: &'a [f64]) -> ColumnBlock<'a> {
        ColumnBlock {
            y,
            x: self.x.iter().map(Vec::as_slice).collect(),
            extra: Vec::new(),
        }
    }

    /// The labeled rows as a data set, every row of it labeled.
    fn labeled_rows(&self) -> DataSources {
        let rows: Vec<usize> = (0..T).filter(|&i| self.labeled[i]).collect();
        let x = Array2::from_shape_fn((rows.len(), P), |(r, j)| self.x[j][rows[r]]);
        let pick = |v: &[f64]| Array1::from_iter(rows.iter().map(|&i| v[i]));
        DataSources::builder(&vec![true; rows.len()])
            .real(&x, &pick(&self.y))
            .source("proxy", &x, &pick(&self.sources[0]))
            .source("synth", &x, &pick(&self.sources[1]))
            .build()
            .expect("valid labeled rows")
    }
}

/// Sums the table for each request and writes down what it was asked for.
struct Counting<M> {
    model: M,
    table: Arc<Table>,
    names: Vec<String>,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl<M: MomentModel + std::fmt::Debug> std::fmt::Debug for Counting<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counting")
            .field("model", &self.model)
            .finish()
    }
}

impl<M: MomentModel + std::fmt::Debug + Send + Sync> SumsEngine for Counting<M> {
    fn model_name(&self) -> &str {
        self.model.name()
    }
    fn source_names(&self) -> &[String] {
        &self.names
    }
    fn sums(&self, request: &PassRequest) -> Result<MomentSums> {
        let kind = match (
            request.contraction.is_some(),
            request.omega,
            request.squares,
            request.jacobian,
        ) {
            (true, ..) => "contraction",
            (false, true, ..) => "Ω̂",
            (false, false, true, _) => "Σg²",
            (false, false, false, true) => "Ĝ",
            _ => "ḡ",
        };
        self.log.lock().expect("log").push(kind);
        let columns = RowColumns {
            labeled: &self.table.labeled,
            real: self.table.block(&self.table.y),
            sources: request
                .sources
                .iter()
                .map(|&m| self.table.block(&self.table.sources[m]))
                .collect(),
            weights: None,
            probabilities: None,
            column_names: &[],
        };
        let mut sums = MomentSums::for_request(P, request);
        sums.add_rows(&self.model, request, &columns)?;
        Ok(sums)
    }
}

/// "n (what they summed)" for one fit of `gmm` on the counted table.
fn count<M>(gmm: &TwoStepGmm<M>, model: M, table: &Arc<Table>) -> String
where
    M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    let log = Arc::new(Mutex::new(Vec::new()));
    let engine = Counting {
        model,
        table: Arc::clone(table),
        names: vec!["proxy".into(), "synth".into()],
        log: Arc::clone(&log),
    };
    let labeled = table.labeled_rows();
    let data = DataSources::from_engine(&labeled, T, Box::new(engine)).expect("engine data");
    gmm.fit(&data).expect("fit");
    let log = log.lock().expect("log").clone();
    let kinds: Vec<String> = ["ḡ", "Ĝ", "Σg²", "Ω̂", "contraction"]
        .iter()
        .filter_map(|kind| {
            let n = log.iter().filter(|k| *k == kind).count();
            (n > 0).then(|| format!("{n} {kind}"))
        })
        .collect();
    format!("{} ({})", log.len(), kinds.join(", "))
}

fn row<M>(name: &str, model: M) -> String
where
    M: MomentModel + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    let table = Arc::new(Table::simulate(name));
    let default = TwoStepGmm::new(model.clone());
    let paper = TwoStepGmm::new(model.clone()).cross_weights(CrossWeights::Unrestricted);
    let reestimated = paper.clone().covariance(Covariance::Reestimated);
    format!(
        "| {name} | {} | {} | {} |",
        count(&default, model.clone(), &table),
        count(&paper, model.clone(), &table),
        count(&reestimated, model, &table),
    )
}

fn main() {
    println!("Passes over all T rows per fit (what each summed besides ḡ); the floor is one.\n");
    println!("| model | default (selected weights) | paper's (unrestricted, Windmeijer) | unrestricted, re-estimated Ω |");
    println!("|---|---|---|---|");
    println!("{}", row("ols", Ols));
    println!("{}", row("logistic", Logistic));
    println!("{}", row("poisson", Poisson));
}
