//! The chunked engine: chunk sums merge, the fit does not depend on how the rows are
//! split, nor on the number of threads.

use crate::common;

use common::load;
use synthgmm::models::{LinearIv, Logistic, Ols};
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

/// A batch's columns: an intercept and x in the real block and one source's, the real
/// outcome y and the source's, unweighted, with labeling probabilities if given.
fn one_source<'a>(
    labeled: &'a [bool],
    (one, x): (&'a [f64], &'a [f64]),
    (y, source): (&'a [f64], &'a [f64]),
    probabilities: Option<&'a [f64]>,
) -> synthgmm::RowColumns<'a> {
    synthgmm::RowColumns {
        labeled,
        real: column_block(y, one, x),
        sources: vec![column_block(source, one, x)],
        weights: None,
        probabilities,
        column_names: &[],
    }
}

/// An engine's squares alone are Σggᵀ's diagonal, at K sums instead of K(K + 1)/2.
#[test]
fn an_engines_squares_are_the_diagonal_of_its_omega() {
    use ndarray::Array1;
    use synthgmm::PassRequest;
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
    let columns = one_source(&labeled, (&one, &x), (&y, &proxy), None);
    let request = |omega: bool, squares: bool| PassRequest {
        sources: vec![0],
        params: Array1::from(vec![0.5, 0.8, 0.4, 1.1]),
        jacobian: true,
        omega,
        squares,
        contraction: None,
        probabilities: false,
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

/// A table held in plain columns, summed by an engine in three uneven partitions as a
/// distributed engine would, with or without its observation weights and labeling
/// probabilities.
#[derive(Debug)]
struct WeightedTable {
    labeled: Vec<bool>,
    one: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    sources: Vec<Vec<f64>>,
    weights: Vec<f64>,
    probabilities: Vec<f64>,
    names: Vec<String>,
    weighs: bool,
    designed: bool,
    /// The cluster of every row, when the table is clustered.
    clusters: Option<Vec<u32>>,
    /// An instrument z on every row (the extra column `z` of every block), if any.
    instrument: Option<Vec<f64>>,
    /// The second source's covariate, when it is not x (other units).
    synth_x: Option<Vec<f64>>,
    column_names: Vec<String>,
    model: &'static str,
}

/// Linear IV with x instrumented by z (just identified).
fn iv() -> LinearIv {
    LinearIv::new([0], ["z"])
}

impl WeightedTable {
    /// T rows, every third labeled; a proxy and a noisier source; weights from 0.2 to
    /// about 5 that depend on x (so that the weighted fit differs from the unweighted).
    fn new(t: usize, logistic: bool) -> Self {
        let x: Vec<f64> = (0..t).map(|i| (i as f64 * 0.37).sin() * 1.5).collect();
        let e: Vec<f64> = (0..t).map(|i| (i as f64 * 1.7).cos()).collect();
        let (y, sources): (Vec<f64>, Vec<Vec<f64>>) = if logistic {
            let p = |i: usize, shift: f64| 1.0 / (1.0 + (-(0.3 + x[i] + shift)).exp());
            let y = (0..t)
                .map(|i| f64::from(u8::from(e[i] * 0.5 + 0.5 < p(i, 0.0))))
                .collect();
            let a = (0..t).map(|i| p(i, 0.2 * e[i])).collect();
            let b = (0..t).map(|i| p(i, 0.5 * (i as f64 * 0.3).sin())).collect();
            (y, vec![a, b])
        } else {
            // A curve the line misses, so that weights depending on x move the slope.
            let y = (0..t)
                .map(|i| 1.0 + 2.0 * x[i] + 0.8 * x[i] * x[i] + e[i] * (1.0 + x[i].abs()))
                .collect();
            let a = (0..t).map(|i| 1.1 + 2.0 * x[i] + 0.9 * e[i]).collect();
            let b = (0..t)
                .map(|i| 0.7 + 1.8 * x[i] + (i as f64 * 0.9).sin())
                .collect();
            (y, vec![a, b])
        };
        WeightedTable {
            labeled: (0..t).map(|i| i % 3 == 0).collect(),
            one: vec![1.0; t],
            weights: (0..t)
                .map(|i| 0.2 + (1.0 + x[i]).powi(2) + 0.5 * e[i].abs())
                .collect(),
            // Larger where x is: a design that oversampled those rows.
            probabilities: (0..t).map(|i| 0.15 + 0.1 * (1.5 + x[i])).collect(),
            x,
            y,
            sources,
            names: vec!["proxy".into(), "synth".into()],
            weighs: true,
            designed: false,
            clusters: None,
            instrument: None,
            synth_x: None,
            column_names: Vec::new(),
            model: if logistic { "logistic" } else { "ols" },
        }
    }

    fn block<'a>(
        &'a self,
        y: &'a [f64],
        rows: std::ops::Range<usize>,
    ) -> synthgmm::ColumnBlock<'a> {
        synthgmm::ColumnBlock {
            y: &y[rows.clone()],
            x: vec![&self.one[rows.clone()], &self.x[rows.clone()]],
            extra: self.instrument.iter().map(|z| &z[rows.clone()]).collect(),
        }
    }

    /// Source `m`'s block on some rows: its outcome, and its own covariate if it has one.
    fn source_block(&self, m: usize, rows: std::ops::Range<usize>) -> synthgmm::ColumnBlock<'_> {
        let mut block = self.block(&self.sources[m], rows.clone());
        if let (1, Some(x)) = (m, &self.synth_x) {
            block.x[1] = &x[rows];
        }
        block
    }

    /// The rows `rows` in memory (all of them labeled when `labeled_only`), with the
    /// weights when `weighted` and the probabilities when the table has them.
    fn data(
        &self,
        rows: &[usize],
        labeled_only: bool,
        weighted: bool,
    ) -> synthgmm::Result<synthgmm::DataSources> {
        use ndarray::{Array1, Array2};
        let pick = |v: &[f64]| Array1::from_iter(rows.iter().map(|&i| v[i]));
        let x = Array2::from_shape_fn(
            (rows.len(), 2),
            |(r, j)| if j == 0 { 1.0 } else { self.x[rows[r]] },
        );
        let mask: Vec<bool> = rows
            .iter()
            .map(|&i| labeled_only || self.labeled[i])
            .collect();
        let mut builder = synthgmm::DataSources::builder(&mask).real(&x, &pick(&self.y));
        if weighted {
            builder = builder.weights(&pick(&self.weights));
        }
        if self.designed {
            builder = builder.labeling_probabilities(&pick(&self.probabilities));
        }
        if let Some(ids) = &self.clusters {
            let picked: Vec<u32> = rows.iter().map(|&i| ids[i]).collect();
            builder = builder.clusters(&picked);
        }
        if let Some(z) = &self.instrument {
            builder = builder.column("z", &pick(z));
        }
        let synth_x = self.synth_x.as_ref().map(|own| {
            Array2::from_shape_fn(
                (rows.len(), 2),
                |(r, j)| if j == 0 { 1.0 } else { own[rows[r]] },
            )
        });
        for (m, (name, s)) in self.names.iter().zip(&self.sources).enumerate() {
            let x = match (m, &synth_x) {
                (1, Some(own)) => own,
                _ => &x,
            };
            builder = builder.source(name.clone(), x, &pick(s));
        }
        builder.build()
    }

    /// Every row in memory, weighted or not.
    fn in_memory(&self, weighted: bool) -> synthgmm::DataSources {
        let all: Vec<usize> = (0..self.y.len()).collect();
        self.data(&all, false, weighted).unwrap()
    }

    /// The labeled rows in memory (with their weights when `weighted`) and the engine.
    fn into_engine_data(self, weighted: bool) -> synthgmm::Result<synthgmm::DataSources> {
        let rows: Vec<usize> = (0..self.y.len()).filter(|&i| self.labeled[i]).collect();
        let labeled = self.data(&rows, true, weighted)?;
        let t = self.y.len();
        synthgmm::DataSources::from_engine(&labeled, t, Box::new(self))
    }

    /// The sums of a clustered table, cluster by cluster (each cluster's rows gathered
    /// wherever they lie) in three partitions of whole clusters, merged.
    fn clustered_sums(
        &self,
        request: &synthgmm::PassRequest,
        ids: &[u32],
    ) -> synthgmm::Result<MomentSums> {
        let g = ids.iter().max().map_or(0, |&m| m as usize + 1);
        let mut members = vec![Vec::new(); g];
        for (i, &c) in ids.iter().enumerate() {
            members[c as usize].push(i);
        }
        let mut total = MomentSums::for_request(2, request);
        for clusters in [0..g / 7, g / 7..g / 2, g / 2..g] {
            let mut part = MomentSums::for_request(2, request);
            for rows in &members[clusters] {
                let pick = |v: &[f64]| -> Vec<f64> { rows.iter().map(|&i| v[i]).collect() };
                let labeled: Vec<bool> = rows.iter().map(|&i| self.labeled[i]).collect();
                let (one, x, y) = (pick(&self.one), pick(&self.x), pick(&self.y));
                let (w, pi) = (pick(&self.weights), pick(&self.probabilities));
                let z: Vec<Vec<f64>> = self.instrument.iter().map(|z| pick(z)).collect();
                let sources: Vec<Vec<f64>> = request
                    .sources
                    .iter()
                    .map(|&m| pick(&self.sources[m]))
                    .collect();
                let block = |y| synthgmm::ColumnBlock {
                    extra: z.iter().map(Vec::as_slice).collect(),
                    ..column_block(y, &one, &x)
                };
                let columns = synthgmm::RowColumns {
                    labeled: &labeled,
                    real: block(&y),
                    sources: sources.iter().map(|s| block(s)).collect(),
                    weights: self.weighs.then_some(&w[..]),
                    probabilities: self.designed.then_some(&pi[..]),
                    column_names: &self.column_names,
                };
                match self.model {
                    "ols" => part.add_cluster(&Ols, request, &columns)?,
                    "linear-iv" => part.add_cluster(&iv(), request, &columns)?,
                    _ => part.add_cluster(&Logistic, request, &columns)?,
                }
            }
            total.merge(&part)?;
        }
        total.finish_clusters(g);
        Ok(total)
    }
}

impl synthgmm::SumsEngine for WeightedTable {
    fn model_name(&self) -> &str {
        self.model
    }
    fn source_names(&self) -> &[String] {
        &self.names
    }
    fn weighs_rows(&self) -> bool {
        self.weighs
    }
    fn has_probabilities(&self) -> bool {
        self.designed
    }
    fn column_names(&self) -> &[String] {
        &self.column_names
    }
    fn n_clusters(&self) -> Option<usize> {
        let ids = self.clusters.as_ref()?;
        let distinct: std::collections::BTreeSet<u32> = ids.iter().copied().collect();
        Some(distinct.len())
    }
    fn sums(&self, request: &synthgmm::PassRequest) -> synthgmm::Result<MomentSums> {
        if let Some(ids) = &self.clusters {
            return self.clustered_sums(request, ids);
        }
        let t = self.y.len();
        let mut total = MomentSums::for_request(2, request);
        for rows in [0..t / 7, t / 7..t / 2, t / 2..t] {
            let columns = synthgmm::RowColumns {
                labeled: &self.labeled[rows.clone()],
                real: self.block(&self.y, rows.clone()),
                sources: request
                    .sources
                    .iter()
                    .map(|&m| self.source_block(m, rows.clone()))
                    .collect(),
                weights: self.weighs.then(|| &self.weights[rows.clone()]),
                probabilities: self.designed.then(|| &self.probabilities[rows.clone()]),
                column_names: &self.column_names,
            };
            let mut part = MomentSums::for_request(2, request);
            match self.model {
                "ols" => part.add_rows(&Ols, request, &columns)?,
                "linear-iv" => part.add_rows(&iv(), request, &columns)?,
                _ => part.add_rows(&Logistic, request, &columns)?,
            }
            total.merge(&part)?;
        }
        Ok(total)
    }
}

/// An engine that weighs its rows gives the weighted in-memory fit (to 1e-10), under
/// the default and the paper's estimator, for least squares and logistic regression.
#[test]
fn a_weighted_engine_gives_the_weighted_in_memory_fit() {
    use synthgmm::CrossWeights;
    for logistic in [false, true] {
        let table = WeightedTable::new(3_000, logistic);
        let (memory, unweighted) = (table.in_memory(true), table.in_memory(false));
        let engine = table.into_engine_data(true).unwrap();
        for weights in [CrossWeights::Selected, CrossWeights::Unrestricted] {
            let (a, b) = if logistic {
                let gmm = TwoStepGmm::new(Logistic).cross_weights(weights);
                (gmm.fit(&engine).unwrap(), gmm.fit(&memory).unwrap())
            } else {
                let gmm = TwoStepGmm::new(Ols).cross_weights(weights);
                (gmm.fit(&engine).unwrap(), gmm.fit(&memory).unwrap())
            };
            for j in 0..2 {
                let what = format!("logistic {logistic}, {weights:?}, coefficient {j}");
                assert!(rel_close(a.theta()[j], b.theta()[j], 1e-10), "{what}: θ̂");
                assert!(rel_close(a.se()[j], b.se()[j], 1e-10), "{what}: se");
            }
        }
        // The weights matter: the unweighted fit of the same rows is another.
        let unweighted = TwoStepGmm::new(Ols).fit(&unweighted).unwrap();
        let weighted = TwoStepGmm::new(Ols).fit(&memory).unwrap();
        let shift = (unweighted.theta()[1] - weighted.theta()[1]).abs() / weighted.se()[1];
        assert!(
            shift > 0.05,
            "logistic {logistic}: the weights moved θ̂ by {shift} se"
        );
    }
}

/// Weights on one side only are refused: the labeled rows' weights without an engine
/// that weighs its rows, or the reverse; a bad weight in a batch is a typed error.
#[test]
fn weights_on_one_side_of_an_engine_are_refused() {
    let config = |r: synthgmm::Result<synthgmm::DataSources>| match r {
        Err(synthgmm::Error::InvalidConfig { parameter, reason }) => {
            assert_eq!(parameter, "labeled");
            assert!(reason.contains("weigh"), "{reason}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    };
    config(WeightedTable::new(300, false).into_engine_data(false));
    let unweighted = WeightedTable {
        weighs: false,
        ..WeightedTable::new(300, false)
    };
    config(unweighted.into_engine_data(true));
    let mut bad = WeightedTable::new(300, false);
    bad.weights[102] = -1.0; // a labeled row: the data set in memory refuses it
    assert!(matches!(
        bad.into_engine_data(true),
        Err(synthgmm::Error::InvalidValue { .. })
    ));
    let mut bad = WeightedTable::new(300, false);
    bad.weights[100] = f64::NAN; // an unlabeled row: only the engine reads it
    let data = bad.into_engine_data(true).unwrap();
    match TwoStepGmm::new(Ols).fit(&data) {
        Err(synthgmm::Error::InvalidValue { column, value, .. }) => {
            assert_eq!(column, synthgmm::Column::Weight);
            assert!(value.is_nan());
        }
        other => panic!("expected an invalid weight, got {other:?}"),
    }
}

/// An engine whose table has labeling probabilities divides the labeled blocks by π
/// where the fit asks for it: the in-memory fit to 1e-10 with probabilities that vary,
/// with equal ones (which the fit treats as labeling at random), and when told to
/// ignore them; with and without observation weights.
#[test]
fn an_engine_with_labeling_probabilities_gives_the_in_memory_fit() {
    use synthgmm::CrossWeights;
    for (logistic, weighted, equal) in [
        (false, true, false),
        (true, true, false),
        (false, false, false),
        (false, true, true),
    ] {
        let mut table = WeightedTable::new(3_000, logistic);
        table.designed = true;
        table.weighs = weighted;
        if equal {
            table.probabilities.iter_mut().for_each(|p| *p = 0.3);
        }
        let memory = table.in_memory(weighted);
        let engine = table.into_engine_data(weighted).unwrap();
        for (weights, ignore) in [
            (CrossWeights::Selected, false),
            (CrossWeights::Unrestricted, false),
            (CrossWeights::Selected, true),
        ] {
            let what = format!(
                "logistic {logistic}, weighted {weighted}, equal {equal}, {weights:?}, ignored {ignore}"
            );
            let (a, b) = if logistic {
                let gmm = TwoStepGmm::new(Logistic)
                    .cross_weights(weights)
                    .use_labeling_probabilities(!ignore);
                (gmm.fit(&engine).unwrap(), gmm.fit(&memory).unwrap())
            } else {
                let gmm = TwoStepGmm::new(Ols)
                    .cross_weights(weights)
                    .use_labeling_probabilities(!ignore);
                (gmm.fit(&engine).unwrap(), gmm.fit(&memory).unwrap())
            };
            for j in 0..2 {
                assert!(
                    rel_close(a.theta()[j], b.theta()[j], 1e-10),
                    "{what}: θ̂ {j}"
                );
                assert!(rel_close(a.se()[j], b.se()[j], 1e-10), "{what}: se {j}");
            }
        }
        // Varying probabilities matter: ignoring them gives another fit.
        let fit = |used: bool| {
            TwoStepGmm::new(Ols)
                .use_labeling_probabilities(used)
                .fit(&memory)
                .unwrap()
        };
        let (used, ignored) = (fit(true), fit(false));
        let shift = (used.theta()[1] - ignored.theta()[1]).abs() / used.se()[1];
        assert_eq!(shift > 0.01, !equal, "equal {equal}: shift {shift} se");
    }
    // Probabilities on one side only are refused.
    let mut lacking = WeightedTable::new(300, false);
    lacking.designed = true;
    let rows: Vec<usize> = (0..300).filter(|&i| lacking.labeled[i]).collect();
    let labeled = WeightedTable::new(300, false)
        .data(&rows, true, true)
        .unwrap();
    assert!(matches!(
        synthgmm::DataSources::from_engine(&labeled, 300, Box::new(lacking)),
        Err(synthgmm::Error::InvalidConfig { .. })
    ));
}

/// A batch's labeling probabilities are read on its labeled rows only, where a value
/// outside (0, 1] is an invalid value naming the batch's row; a request that divides
/// by probabilities the batch lacks is refused.
#[test]
fn a_batchs_probabilities_are_checked_on_its_labeled_rows() {
    use ndarray::Array1;
    use synthgmm::PassRequest;
    let t = 40;
    let x: Vec<f64> = (0..t).map(|i| (i as f64 * 0.37).sin()).collect();
    let one = vec![1.0; t];
    let y: Vec<f64> = (0..t).map(|i| x[i] + (i as f64 * 1.3).cos()).collect();
    let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
    let mut pi: Vec<f64> = (0..t)
        .map(|i| if i % 4 == 0 { 0.25 } else { f64::NAN })
        .collect();
    let request = PassRequest {
        sources: vec![0],
        params: Array1::from(vec![0.5, 0.8, 0.4, 1.1]),
        jacobian: false,
        omega: false,
        squares: false,
        contraction: None,
        probabilities: true,
    };
    let add = |pi: Option<&[f64]>| {
        let columns = one_source(&labeled, (&one, &x), (&y, &y), pi);
        MomentSums::for_request(2, &request).add_rows(&Ols, &request, &columns)
    };
    // NaN off the labeled rows is never read.
    assert!(add(Some(&pi)).is_ok());
    pi[12] = 1.5;
    match add(Some(&pi)) {
        Err(synthgmm::Error::InvalidValue {
            column, row, value, ..
        }) => {
            assert_eq!(
                (column, row, value),
                (synthgmm::Column::LabelingProbability, 12, 1.5)
            );
        }
        other => panic!("expected an invalid probability, got {other:?}"),
    }
    assert!(matches!(
        add(None),
        Err(synthgmm::Error::InvalidConfig { .. })
    ));
}

/// A block of an intercept and x with outcome y.
fn column_block<'a>(y: &'a [f64], one: &'a [f64], x: &'a [f64]) -> synthgmm::ColumnBlock<'a> {
    synthgmm::ColumnBlock {
        y,
        x: vec![one, x],
        extra: vec![],
    }
}

/// An engine whose rows are clustered, summing cluster by cluster, gives the clustered
/// in-memory fit (to 1e-10): least squares and logistic regression, with and without
/// observation weights, under every covariance (Windmeijer's contraction and Ω̂ alone)
/// and the default; clusters on one side only, or more of them among the labeled rows
/// than the engine has, are refused.
#[test]
fn a_clustered_engine_gives_the_clustered_in_memory_fit() {
    use synthgmm::CrossWeights;
    let covariances = [Covariance::Windmeijer, Covariance::Sandwich];
    for (logistic, weighted) in [(false, false), (false, true), (true, true)] {
        let mut table = WeightedTable::new(3_000, logistic);
        table.weighs = weighted;
        // 60 clusters of 50 rows, scattered over the table.
        table.clusters = Some((0..3_000).map(|i| ((i * 7 + i / 11) % 60) as u32).collect());
        let memory = table.in_memory(weighted);
        let mut unclustered = WeightedTable::new(3_000, logistic);
        unclustered.weighs = weighted;
        let unclustered = unclustered.in_memory(weighted);
        let engine = table.into_engine_data(weighted).unwrap();
        assert_eq!(engine.n_clusters(), Some(60));
        for (weights, covariance) in [CrossWeights::Selected, CrossWeights::Unrestricted]
            .into_iter()
            .flat_map(|w| covariances.map(|c| (w, c)))
        {
            let what =
                format!("logistic {logistic}, weighted {weighted}, {weights:?}, {covariance:?}");
            let fits = |data: &synthgmm::DataSources| {
                if logistic {
                    let gmm = TwoStepGmm::new(Logistic)
                        .cross_weights(weights)
                        .covariance(covariance);
                    gmm.fit(data).unwrap()
                } else {
                    let gmm = TwoStepGmm::new(Ols)
                        .cross_weights(weights)
                        .covariance(covariance);
                    gmm.fit(data).unwrap()
                }
            };
            let (a, b, plain) = (fits(&engine), fits(&memory), fits(&unclustered));
            for j in 0..2 {
                assert!(
                    rel_close(a.theta()[j], b.theta()[j], 1e-10),
                    "{what}: θ̂ {j}"
                );
                assert!(rel_close(a.se()[j], b.se()[j], 1e-10), "{what}: se {j}");
                let (ca, cb) = (a.conf_int(0.05).unwrap(), b.conf_int(0.05).unwrap());
                assert!(
                    rel_close(ca[[j, 0]], cb[[j, 0]], 1e-10),
                    "{what}: interval {j}"
                );
            }
            // The clusters matter: the unclustered fit's standard error is another.
            assert!(
                !rel_close(a.se()[1], plain.se()[1], 1e-3),
                "{what}: clusters ignored"
            );
        }
    }
    let clustered = || {
        let mut table = WeightedTable::new(300, false);
        table.clusters = Some((0..300).map(|i| (i % 30) as u32).collect());
        table
    };
    let refused = |r: synthgmm::Result<synthgmm::DataSources>| match r {
        Err(synthgmm::Error::InvalidConfig { parameter, reason }) => {
            assert_eq!(parameter, "labeled");
            assert!(reason.contains("cluster"), "{reason}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    };
    // The engine clustered, the labeled rows not.
    let table = clustered();
    let rows: Vec<usize> = (0..300).filter(|&i| table.labeled[i]).collect();
    let plain = WeightedTable::new(300, false)
        .data(&rows, true, true)
        .unwrap();
    refused(synthgmm::DataSources::from_engine(
        &plain,
        300,
        Box::new(table),
    ));
    // The labeled rows clustered, the engine not.
    let labeled = clustered().data(&rows, true, true).unwrap();
    refused(synthgmm::DataSources::from_engine(
        &labeled,
        300,
        Box::new(WeightedTable::new(300, false)),
    ));
    // The engine's rows in fewer clusters than the labeled rows'.
    let mut few = clustered();
    few.clusters = Some((0..300).map(|i| (i % 3) as u32).collect());
    refused(synthgmm::DataSources::from_engine(
        &labeled,
        300,
        Box::new(few),
    ));
}

/// An engine whose blocks carry an instrument (the extra column `z`) gives the
/// in-memory linear IV fit to 1e-10: weighted and clustered rows, the default and the
/// paper's estimator. Labeled rows without the engine's columns are refused; an engine
/// whose batches lack the column a model reads is a typed error, not zero instruments;
/// an over-identified source's two-stage-least-squares step 1, whose metric no pass
/// request sums, says it needs the rows in memory.
#[test]
fn an_engine_with_instruments_gives_the_in_memory_iv_fit() {
    use synthgmm::{CrossWeights, Error};
    let instrumented = |clusters: Option<Vec<u32>>| {
        let mut table = WeightedTable::new(3_000, false);
        let t = table.y.len();
        table.instrument = Some(
            (0..t)
                .map(|i| table.x[i] + 0.8 * table.x[i].powi(2) + 0.3 * (i as f64 * 2.3).sin())
                .collect(),
        );
        table.column_names = vec!["z".into()];
        table.model = "linear-iv";
        table.clusters = clusters;
        table
    };
    let clusters: Vec<u32> = (0..3_000).map(|i| (i * 7 % 60) as u32).collect();
    for ids in [None, Some(clusters)] {
        let table = instrumented(ids.clone());
        let memory = table.in_memory(true);
        let engine = table.into_engine_data(true).unwrap();
        for weights in [CrossWeights::Selected, CrossWeights::Unrestricted] {
            let gmm = TwoStepGmm::new(iv()).cross_weights(weights);
            let (a, b) = (gmm.fit(&engine).unwrap(), gmm.fit(&memory).unwrap());
            for j in 0..2 {
                let what = format!("clusters {}, {weights:?}, coefficient {j}", ids.is_some());
                assert!(rel_close(a.theta()[j], b.theta()[j], 1e-10), "{what}: θ̂");
                assert!(rel_close(a.se()[j], b.se()[j], 1e-10), "{what}: se");
            }
        }
        // The instrument matters: least squares on the same rows is another fit.
        let ols = TwoStepGmm::new(Ols).fit(&memory).unwrap();
        let iv_fit = TwoStepGmm::new(iv()).fit(&memory).unwrap();
        assert!((ols.theta()[1] - iv_fit.theta()[1]).abs() > 0.05 * iv_fit.se()[1]);
    }
    // The labeled rows without the engine's column, and the reverse.
    let mut bare = instrumented(None);
    bare.column_names.clear();
    bare.instrument = None;
    let labeled_only = instrumented(None);
    let rows: Vec<usize> = (0..3_000).filter(|&i| labeled_only.labeled[i]).collect();
    let with_z = labeled_only.data(&rows, true, true).unwrap();
    match synthgmm::DataSources::from_engine(&with_z, 3_000, Box::new(bare)) {
        Err(Error::InvalidConfig { reason, .. }) => {
            assert!(reason.contains("extra columns"), "{reason}")
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    // An engine that declares the column but does not pass it in its batches.
    let mut silent = instrumented(None);
    silent.instrument = None;
    let data = synthgmm::DataSources::from_engine(&with_z, 3_000, Box::new(silent)).unwrap();
    match TwoStepGmm::new(iv()).fit(&data) {
        Err(Error::ShapeMismatch { what, .. }) => assert!(what.contains("extra columns"), "{what}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
    // Over-identified: x instrumented by z and x itself (k = 3 > p = 2).
    let over = LinearIv::new([0, 1], ["z"]);
    let engine = instrumented(None).into_engine_data(true).unwrap();
    match TwoStepGmm::new(over).fit(&engine) {
        Err(Error::NeedsInMemory { what }) => assert!(what.contains("step-1 metric"), "{what}"),
        other => panic!("expected NeedsInMemory, got {other:?}"),
    }
}

/// PPI++ and PPI++Synth on an engine's rows give the in-memory estimates (to 1e-10):
/// the unlabeled rows' sums come from the stacked pass's all-rows blocks less its
/// labeled ones, along the line of fits from three passes for least squares. Tuned and
/// fixed λ, a synthetic source whose covariate is in other units (×25); with
/// observation weights the engine's rows are refused with a typed error.
#[test]
fn ppi_on_an_engines_rows_gives_the_in_memory_estimate() {
    use synthgmm::baselines::PpiPlusPlus;
    use synthgmm::Estimator;
    for logistic in [false, true] {
        let mut table = WeightedTable::new(3_000, logistic);
        table.weighs = false;
        table.synth_x = Some(table.x.iter().map(|x| 25.0 * x).collect());
        let memory = table.in_memory(false);
        let engine = table.into_engine_data(false).unwrap();
        let estimators = ppi_estimators(logistic);
        for estimator in &estimators {
            let labeling = |n: &synthgmm::Note| matches!(n, synthgmm::Note::LabelingDesign { .. });
            let (a, b) = (
                estimator.estimate(&engine).unwrap(),
                estimator.estimate(&memory).unwrap(),
            );
            assert!(!a.notes().iter().chain(b.notes()).any(labeling));
            for j in 0..2 {
                let what = format!("{}, logistic {logistic}, coefficient {j}", estimator.name());
                assert!(
                    rel_close(a.theta()[j], b.theta()[j], 1e-10),
                    "{what}: θ̂ {} vs {}",
                    a.theta()[j],
                    b.theta()[j]
                );
                assert!(
                    rel_close(a.se()[j], b.se()[j], 1e-10),
                    "{what}: se {} vs {}",
                    a.se()[j],
                    b.se()[j]
                );
            }
        }
    }
    // Labeling probabilities that vary: PPI++ assumes labeling at random, on an engine
    // as in memory, and says so in a note; the paper's GMM weighs by them.
    let mut designed = WeightedTable::new(3_000, false);
    (designed.weighs, designed.designed) = (false, true);
    let memory = designed.in_memory(false);
    let engine = designed.into_engine_data(false).unwrap();
    let ppi = PpiPlusPlus::new(Ols, "proxy");
    let (a, b) = (
        ppi.estimate(&engine).unwrap(),
        ppi.estimate(&memory).unwrap(),
    );
    assert!(rel_close(a.theta()[1], b.theta()[1], 1e-10));
    for fit in [&a, &b] {
        let said = fit.notes().iter().any(|n| {
            matches!(n, synthgmm::Note::LabelingDesign { detail } if detail.contains("labeled at random"))
        });
        assert!(said, "{:?}", fit.notes());
    }
    let naive = synthgmm::baselines::NaivePooled::new(Ols, ["proxy"]).estimate(&memory);
    let said = naive.unwrap().notes().iter().any(|n| {
        matches!(n, synthgmm::Note::LabelingDesign { detail } if detail.contains("labeled at random"))
    });
    assert!(said, "naive pooling");
    let gmm = TwoStepGmm::new(Ols).fit(&memory).unwrap();
    assert!(gmm
        .notes()
        .iter()
        .all(|n| !matches!(n, synthgmm::Note::LabelingDesign { .. })));
    let weighted = WeightedTable::new(600, false)
        .into_engine_data(true)
        .unwrap();
    match PpiPlusPlus::new(Ols, "proxy").estimate(&weighted) {
        Err(synthgmm::Error::NeedsInMemory { what }) => {
            assert!(what.contains("observation weights"), "{what}")
        }
        other => panic!("expected NeedsInMemory, got {other:?}"),
    }
}

/// An engine whose every pass fails (a warehouse connection lost after opening).
#[derive(Debug)]
struct Unreachable(WeightedTable);

impl synthgmm::SumsEngine for Unreachable {
    fn model_name(&self) -> &str {
        self.0.model
    }
    fn source_names(&self) -> &[String] {
        &self.0.names
    }
    fn sums(&self, _: &synthgmm::PassRequest) -> synthgmm::Result<MomentSums> {
        Err(synthgmm::Error::Read {
            path: "warehouse".into(),
            reason: "connection lost".into(),
        })
    }
}

/// PPI++ and PPI++Synth on an engine whose passes fail report the engine's error,
/// whichever of their passes meets it first.
#[test]
fn ppi_on_a_failing_engine_reports_its_error() {
    for logistic in [false, true] {
        let mut table = WeightedTable::new(600, logistic);
        table.weighs = false;
        let rows: Vec<usize> = (0..600).filter(|&i| table.labeled[i]).collect();
        let labeled = table.data(&rows, true, false).unwrap();
        let data = synthgmm::DataSources::from_engine(&labeled, 600, Box::new(Unreachable(table)))
            .unwrap();
        let estimators = ppi_estimators(logistic);
        for estimator in &estimators {
            match estimator.estimate(&data) {
                Err(synthgmm::Error::Read { reason, .. }) => assert_eq!(reason, "connection lost"),
                other => panic!(
                    "{}: expected the engine's error, got {other:?}",
                    estimator.name()
                ),
            }
        }
    }
}

/// PPI++ (tuned on the proxy, fixed λ on the synthetic source, λ = 1 with HC0) and
/// PPI++Synth, for least squares or logistic regression.
fn ppi_estimators(logistic: bool) -> Vec<Box<dyn synthgmm::Estimator>> {
    use synthgmm::baselines::{Lambda, PpiPlusPlus, PpiSynth};
    fn of<M: synthgmm::MomentModel + Clone + 'static>(
        model: M,
    ) -> Vec<Box<dyn synthgmm::Estimator>> {
        vec![
            Box::new(PpiPlusPlus::new(model.clone(), "proxy")),
            Box::new(PpiPlusPlus::new(model.clone(), "synth").lambda(Lambda::Fixed(0.6))),
            Box::new(
                PpiPlusPlus::new(model.clone(), "proxy")
                    .lambda(Lambda::Fixed(1.0))
                    .small_sample(synthgmm::SmallSample::Hc0),
            ),
            Box::new(PpiSynth::new(model, "proxy", "synth")),
        ]
    }
    match logistic {
        true => of(Logistic),
        false => of(Ols),
    }
}
