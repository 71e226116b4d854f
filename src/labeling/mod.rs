//! Labeling designs: which rows to send to the annotators.
//!
//! Every row t has model outputs; a budget buys n human labels. Labeled with
//! probability π_t and weighted by 1/π_t, the estimate of θ varies as
//!
//!   Var(θ̂_j) ≈ (1/T²) Σ_t E[e_{t,j}²]/π_t + R_j/T,
//!
//! with e_t = φ_r,t − B φ_t the row's labeled-minus-source influence value (φ_r its real
//! influence function, φ_t its sources', B = CΣ⁻¹ their efficient combination) and
//! R_j the part of θ̂_j's variance the sources explain (see [`Plan`](crate::Plan)).
//! For a target L (one coefficient, a contrast, or every coefficient weighted by the
//! inverse of its variance under uniform labeling) the sum Σ_t s_t²/π_t with
//! s_t² = E[|L e_t|²] is smallest, under Σπ_t = n and π_min ≤ π_t ≤ 1, at
//!
//!   π_t = clip(κ s_t, π_min, 1),  κ such that Σ_t π_t = n.
//!
//! - [`Allocation::Uniform`]: π_t = n/T.
//! - [`Allocation::Stratified`]: s_t is constant within strata — the root mean square
//!   of the pilot's realized L e_t in the stratum (Neyman's allocation for this
//!   estimator, whose variance sums second moments), or equal (proportional allocation)
//!   without a pilot. Strata are the user's or quantile groups of the forecast s_t.
//! - [`Allocation::Active`]: s_t row by row, E[|L e_t|²] under a forecast of the
//!   row's outcome from its covariates and sources (see `forecast`), fitted on the
//!   pilot. π_min (by default a fifth of the uniform rate) keeps every row drawable, so
//!   the weights 1/π_t stay bounded.
//!
//! Predicted standard errors ([`LabelingPlan::se`]) estimate the sum from the pilot's
//! realized e_t (a sample at random of all rows), not from the forecast that chose π,
//! rescaled so that uniform labeling predicts what [`Plan`](crate::Plan) does.
//! `docs/design.md` has the measured gains and coverage.
//!
//! **Two phases.** The pilot's n₀ rows, labeled at random (π₀ = n₀/T), are phase one;
//! the budget is spent on the other rows with probabilities π_t¹. A row is labeled
//! with probability π_t = π₀ + (1 − π₀)π_t¹, which the fit on both phases' labels takes
//! as its labeling probabilities. The rule π¹ is estimated from the pilot and treated as
//! fixed, as in Zrnic & Candès (2024).
//!
//! # Examples
//! ```
//! use ndarray::{Array1, Array2};
//! use synthgmm::labeling::{Allocation, Labeling};
//! use synthgmm::{models::Ols, DataSources, TwoStepGmm};
//! let noise = |i: usize, k: f64| ((i as f64 * k).sin() * 43758.5453).fract() - 0.5;
//! let t = 2000;
//! let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { noise(i, 4.7) });
//! // The proxy is good where x < 0 and poor where x > 0.
//! let e = Array1::from_shape_fn(t, |i| noise(i, 12.9898));
//! let u = Array1::from_shape_fn(t, |i| noise(i, 78.233) * if x[[i, 1]] > 0.0 { 3.0 } else { 0.1 });
//! let y = &x.column(1) + &e;
//! let proxy = &y + &u;
//! let pilot: Vec<bool> = (0..t).map(|i| i % 40 == 0).collect();
//! let data = DataSources::builder(&pilot).real(&x, &y).source("proxy", &x, &proxy).build()?;
//! let design = Labeling::new(Allocation::Active, 150.0).plan(&TwoStepGmm::new(Ols), &data, x.view())?;
//! assert!((design.phase_two().sum() - 150.0).abs() < 1e-9); // over the rows not yet labeled
//! let rows = design.draw(42); // the rows to send to the annotators
//! assert_eq!(rows.len(), 150);
//! // Active labeling favours the rows whose proxy is poor ...
//! assert!(design.phase_two()[rows[0]] > 0.0);
//! // ... and predicts a smaller standard error than uniform labeling.
//! assert!(design.se().unwrap()[1] < design.uniform_se().unwrap()[1]);
//! # Ok::<(), synthgmm::Error>(())
//! ```
//!
//! # References
//! - Zrnic, Candès (2024), *Active Statistical Inference*, ICML.
//! - Neyman (1934), *On the two different aspects of the representative method*, JRSS.
//! - Madow (1949), *On the theory of systematic sampling, II*, Ann. Math. Statist.

mod allocate;
mod draw;
mod forecast;
mod influence;
mod plan;

pub use plan::LabelingPlan;

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::gmm::{Planned, TwoStepGmm};
use crate::inference::Note;
use crate::MomentModel;

/// How the labeling probabilities are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allocation {
    /// Every row alike: π_t = n/T.
    Uniform,
    /// Constant within strata, Neyman's allocation from the pilot (proportional
    /// without one).
    Stratified,
    /// Row by row, in proportion to the forecast size of the row's influence value.
    Active,
}

/// What the design makes precise.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Target {
    /// Every coefficient, each weighted by the inverse of its variance under uniform
    /// labeling (the criterion is then free of units).
    All,
    /// One coefficient, by index.
    Coefficient(usize),
    /// A linear combination cᵀθ.
    Contrast(Vec<f64>),
}

/// A labeling design: an allocation, a budget of new labels and a target (see the
/// module documentation).
#[derive(Debug, Clone)]
pub struct Labeling {
    allocation: Allocation,
    budget: f64,
    target: Target,
    min_probability: Option<f64>,
    strata: Option<Vec<usize>>,
    n_strata: usize,
}

impl Labeling {
    /// A design spending `budget` new labels (in expectation; exactly, when whole, in
    /// [`LabelingPlan::draw`]) with the given allocation, every coefficient targeted.
    pub fn new(allocation: Allocation, budget: f64) -> Self {
        Self {
            allocation,
            budget,
            target: Target::All,
            min_probability: None,
            strata: None,
            n_strata: 5,
        }
    }
    /// What to make precise (default [`Target::All`]).
    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }
    /// The smallest labeling probability π_min of a row (default: a fifth of the
    /// uniform rate, budget/(5N) over the N rows not yet labeled).
    pub fn min_probability(mut self, min_probability: f64) -> Self {
        self.min_probability = Some(min_probability);
        self
    }
    /// The strata of every row, ids of any hashable type (for
    /// [`Allocation::Stratified`]; without them, strata are formed from the forecast).
    pub fn strata<I: std::hash::Hash + Eq>(mut self, ids: &[I]) -> Self {
        let mut dense = std::collections::HashMap::new();
        let strata = ids
            .iter()
            .map(|id| {
                let next = dense.len();
                *dense.entry(id).or_insert(next)
            })
            .collect();
        self.strata = Some(strata);
        self
    }
    /// How many strata to form from the forecast when none are given (default 5).
    pub fn n_strata(mut self, count: usize) -> Self {
        self.n_strata = count;
        self
    }

    /// The design before any label exists: uniform, or stratified with given strata
    /// (proportional allocation), on `rows` rows.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an active design or one without strata to stratify
    /// on, and for a budget outside (0, rows].
    pub fn without_pilot(&self, rows: usize) -> Result<LabelingPlan> {
        if self.allocation == Allocation::Active
            || (self.allocation == Allocation::Stratified && self.strata.is_none())
        {
            return Err(Error::InvalidConfig {
                parameter: "pilot",
                reason: "this design forecasts the rows' influence from labeled rows: label a pilot at random first".into(),
            });
        }
        let strata = self.checked_strata(rows)?;
        let eligible = vec![true; rows];
        let scores = Array1::ones(rows);
        let pi = allocate::proportional(&scores, &eligible, self.budget, 0.0)?;
        Ok(LabelingPlan::new(
            self.allocation,
            self.budget,
            pi.clone(),
            pi,
            eligible,
            strata,
        ))
    }

    /// The design from a pilot: `pilot` holds every row (its labeled rows labeled at
    /// random) and `real_x` the real covariates of every row (T × p), which the data
    /// keep on labeled rows only. The budget is spent on the rows not yet labeled.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] or [`Error::ShapeMismatch`] when `real_x` does not
    /// match the pilot; [`Error::InvalidConfig`] for a target that does not fit the
    /// model, an impossible budget, or a pilot that planning does not take (see
    /// [`TwoStepGmm::plan`]) or too small to forecast from; the errors of the pilot's fit.
    pub fn plan<M: MomentModel>(
        &self,
        gmm: &TwoStepGmm<M>,
        pilot: &DataSources,
        real_x: ArrayView2<'_, f64>,
    ) -> Result<LabelingPlan> {
        self.check_pilot(pilot, real_x)?;
        let strata = self.checked_strata(pilot.n_rows())?;
        let plan = gmm.plan(pilot)?;
        let maps = plan.row_influence()?;
        let features = features(pilot, real_x, &maps)?;
        let forecast = forecast::forecast(features.view(), pilot.labeled_rows(), pilot.real_y())?;
        let values = influence::row_values(gmm.model(), &maps, pilot, real_x, &forecast)?;
        let (a, r): (Vec<f64>, Vec<f64>) = plan.parts(Planned::Gmm)?.into_iter().unzip();
        let (a, r) = (Array1::from(a), Array1::from(r));
        let squares = values.coefficient_squares();
        let scale = Array1::from_shape_fn(a.len(), |j| {
            let mean = squares.column(j).mean().unwrap_or(0.0);
            if mean > 0.0 {
                (a[j] / mean).sqrt()
            } else {
                1.0
            }
        });
        let (t, n0) = (pilot.n_rows() as f64, pilot.n_labeled() as f64);
        let uniform = Array1::from_shape_fn(a.len(), |j| a[j] / (n0 + self.budget) + r[j] / t);
        let target = self.target_map(&uniform)?;
        let forecast_squares = values.expected_square(target.view(), scale.view());
        let eligible: Vec<bool> = pilot.label_mask().iter().map(|l| !l).collect();
        let mut notes = Vec::new();
        let (scores, strata) = match self.allocation {
            Allocation::Uniform => (Array1::ones(eligible.len()), strata),
            Allocation::Active => (forecast_squares.mapv(f64::sqrt), strata),
            Allocation::Stratified => {
                let strata = strata
                    .unwrap_or_else(|| allocate::quantile_strata(&forecast_squares, self.n_strata));
                let realized = values.pilot_square(target.view(), Array1::ones(a.len()).view());
                let (scores, thin) = allocate::stratum_scores(
                    &strata,
                    pilot.labeled_rows(),
                    &realized,
                    &forecast_squares,
                );
                if !thin.is_empty() {
                    notes.push(thin_strata_note(&thin));
                }
                (scores, Some(strata))
            }
        };
        let realized = (pilot.labeled_rows().to_vec(), values.pilot.mapv(|v| v * v));
        let prediction =
            plan::Prediction::new(plan.names().to_vec(), realized, (a, r), pilot.n_rows());
        LabelingPlan::from_pilot(self, scores, eligible, strata, prediction, notes)
    }

    fn check_pilot(&self, pilot: &DataSources, real_x: ArrayView2<'_, f64>) -> Result<()> {
        if real_x.nrows() != pilot.n_rows() {
            return Err(Error::LengthMismatch {
                what: "the real covariates of every row".into(),
                expected: pilot.n_rows(),
                found: real_x.nrows(),
            });
        }
        if real_x.ncols() != pilot.n_covariates() {
            return Err(Error::ShapeMismatch {
                what: "real covariate columns (as in the pilot)".into(),
                expected: pilot.n_covariates(),
                found: real_x.ncols(),
            });
        }
        if let Some(bad) = real_x.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidConfig {
                parameter: "real_x",
                reason: format!("the covariates of every row must be finite; found {bad}"),
            });
        }
        Ok(())
    }

    fn checked_strata(&self, rows: usize) -> Result<Option<Vec<usize>>> {
        match &self.strata {
            Some(strata) if strata.len() != rows => Err(Error::LengthMismatch {
                what: "strata".into(),
                expected: rows,
                found: strata.len(),
            }),
            Some(strata) if self.allocation == Allocation::Stratified => Ok(Some(strata.clone())),
            _ if self.allocation == Allocation::Stratified && self.n_strata == 0 => {
                Err(Error::InvalidConfig {
                    parameter: "n_strata",
                    reason: "at least one stratum is needed".into(),
                })
            }
            _ => Ok(None),
        }
    }

    /// The target as a map L (r × p) from a row's influence values.
    fn target_map(&self, uniform: &Array1<f64>) -> Result<Array2<f64>> {
        let p = uniform.len();
        let invalid = |reason: String| Error::InvalidConfig {
            parameter: "target",
            reason,
        };
        match &self.target {
            Target::All => Ok(Array2::from_diag(&uniform.mapv(|v| {
                if v > 0.0 {
                    1.0 / v.sqrt()
                } else {
                    0.0
                }
            }))),
            Target::Coefficient(j) if *j < p => Ok(Array2::from_shape_fn((1, p), |(_, k)| {
                f64::from(u8::from(k == *j))
            })),
            Target::Coefficient(j) => Err(invalid(format!("coefficient {j} of a model with {p}"))),
            Target::Contrast(c)
                if c.len() == p
                    && c.iter().all(|v| v.is_finite())
                    && c.iter().any(|&v| v != 0.0) =>
            {
                Ok(Array2::from_shape_vec((1, p), c.clone()).expect("one row"))
            }
            Target::Contrast(c) => Err(invalid(format!(
                "a contrast needs {p} finite weights, not all zero; got {c:?}"
            ))),
        }
    }

    pub(crate) fn allocation(&self) -> Allocation {
        self.allocation
    }
    pub(crate) fn budget(&self) -> f64 {
        self.budget
    }
}

/// The forecast's features on every row: the real covariates and each kept source's
/// outcome.
fn features(
    pilot: &DataSources,
    real_x: ArrayView2<'_, f64>,
    maps: &crate::gmm::RowInfluence,
) -> Result<Array2<f64>> {
    let mut columns: Vec<Array1<f64>> =
        real_x.columns().into_iter().map(|c| c.to_owned()).collect();
    for (name, _) in &maps.sources {
        pilot.require_in_memory("a labeling design")?;
        let source = pilot.source(name).ok_or_else(|| Error::InvalidConfig {
            parameter: "pilot",
            reason: format!("the pilot has no source `{name}`"),
        })?;
        columns.push(source.y().to_owned());
    }
    let views: Vec<_> = columns.iter().map(|c| c.view()).collect();
    Ok(ndarray::stack(Axis(1), &views).expect("columns of equal length"))
}

fn thin_strata_note(thin: &[usize]) -> Note {
    Note::LabelingDesign {
        detail: format!(
            "{} stratum(s) had fewer than two pilot rows (strata {thin:?} in order of first appearance); their allocation uses the forecast instead",
            thin.len()
        ),
    }
}
