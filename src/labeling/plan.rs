//! A labeling design's result: every row's labeling probability, the draw, and the
//! standard errors it predicts.

use ndarray::{Array1, Array2, ArrayView1};

use super::{allocate, draw, Allocation, Labeling};
use crate::error::{Error, Result};
use crate::inference::{normal_critical_value, Note};

/// The variance prediction of a design (see the module documentation):
/// Var_j = (1/T²) Σ_t E[e_{t,j}²]/π_t + R_j/T, the sum estimated from the pilot's rows,
/// a sample at random of all rows, by T·mean_pilot(e_{t,j}²/π_t), rescaled so that
/// uniform labeling gives [`Plan`](crate::Plan)'s a_j/n + R_j/T. The pilot's realized
/// e_t, not the forecast that chose π, keep the prediction honest when the forecast is
/// poor.
#[derive(Debug, Clone)]
pub(super) struct Prediction {
    names: Vec<String>,
    /// The pilot's rows and their realized e_{t,j}² (n × p).
    pilot_rows: Vec<usize>,
    pilot_squares: Array2<f64>,
    /// a_j = A_jj − R_j and R_j of [`Plan`](crate::Plan).
    residual: Array1<f64>,
    explained: Array1<f64>,
    rows: usize,
    /// The pilot's labeling rate π₀.
    pilot_rate: f64,
}

impl Prediction {
    pub(super) fn new(
        names: Vec<String>,
        (pilot_rows, pilot_squares): (Vec<usize>, Array2<f64>),
        (residual, explained): (Array1<f64>, Array1<f64>),
        rows: usize,
    ) -> Self {
        let pilot_rate = pilot_rows.len() as f64 / rows as f64;
        Self {
            names,
            pilot_rows,
            pilot_squares,
            residual,
            explained,
            rows,
            pilot_rate,
        }
    }

    /// Predicted standard errors with the phase-two rule `rule` (π_t¹ on every row).
    fn se(&self, rule: ArrayView1<'_, f64>) -> Array1<f64> {
        let t = self.rows as f64;
        let inverse: Array1<f64> = self
            .pilot_rows
            .iter()
            .map(|&r| 1.0 / (self.pilot_rate + (1.0 - self.pilot_rate) * rule[r]))
            .collect();
        Array1::from_shape_fn(self.residual.len(), |j| {
            let squares = self.pilot_squares.column(j);
            let plain = squares.sum();
            let per_row = if plain > 0.0 {
                squares.dot(&inverse) / plain / t
            } else {
                0.0
            };
            (self.residual[j] * per_row + self.explained[j] / t).sqrt()
        })
    }
}

/// `pi` where `eligible`, zero elsewhere.
fn masked(pi: &Array1<f64>, eligible: &[bool]) -> Array1<f64> {
    Array1::from_iter(
        pi.iter()
            .zip(eligible)
            .map(|(&p, &e)| if e { p } else { 0.0 }),
    )
}

/// Labeling probabilities for every row and the draw of the rows to label (see
/// [`Labeling`]).
#[derive(Debug, Clone)]
pub struct LabelingPlan {
    allocation: Allocation,
    budget: f64,
    probabilities: Array1<f64>,
    /// π_t¹ on every row, and on the rows not yet labeled only.
    rule: Array1<f64>,
    phase_two: Array1<f64>,
    eligible: Vec<bool>,
    strata: Option<Vec<usize>>,
    /// Allocation scores and the rule for π_min, to re-allocate other budgets.
    scores: Array1<f64>,
    min_probability: Option<f64>,
    prediction: Option<Prediction>,
    notes: Vec<Note>,
}

impl LabelingPlan {
    pub(super) fn new(
        allocation: Allocation,
        budget: f64,
        probabilities: Array1<f64>,
        phase_two: Array1<f64>,
        eligible: Vec<bool>,
        strata: Option<Vec<usize>>,
    ) -> Self {
        let scores = Array1::ones(eligible.len());
        Self {
            allocation,
            budget,
            probabilities,
            rule: phase_two.clone(),
            phase_two,
            eligible,
            strata,
            scores,
            min_probability: Some(0.0),
            prediction: None,
            notes: Vec::new(),
        }
    }

    pub(super) fn from_pilot(
        design: &Labeling,
        scores: Array1<f64>,
        eligible: Vec<bool>,
        strata: Option<Vec<usize>>,
        prediction: Prediction,
        notes: Vec<Note>,
    ) -> Result<Self> {
        let mut plan = Self::new(
            design.allocation(),
            design.budget(),
            Array1::zeros(0),
            Array1::zeros(0),
            eligible,
            strata,
        );
        plan.scores = scores;
        plan.min_probability = design.min_probability;
        plan.notes = notes;
        plan.rule = plan.allocate(design.budget())?;
        let rate = prediction.pilot_rate;
        plan.probabilities = plan.rule.mapv(|p| rate + (1.0 - rate) * p);
        plan.phase_two = masked(&plan.rule, &plan.eligible);
        plan.prediction = Some(prediction);
        Ok(plan)
    }

    /// The phase-two rule π_t¹ spending `budget` on the eligible rows, on every row
    /// (the pilot's rows need theirs for the combined probability).
    fn allocate(&self, budget: f64) -> Result<Array1<f64>> {
        let available = self.eligible.iter().filter(|&&e| e).count();
        let floor = self
            .min_probability
            .unwrap_or(budget / (5.0 * available.max(1) as f64));
        allocate::proportional(&self.scores, &self.eligible, budget, floor)
    }

    /// The allocation.
    pub fn allocation(&self) -> Allocation {
        self.allocation
    }
    /// The budget of new labels.
    pub fn budget(&self) -> f64 {
        self.budget
    }
    /// Every row's probability of being labeled over both phases,
    /// π_t = π₀ + (1 − π₀)π_t¹: the labeling probabilities to fit with
    /// ([`DataSourcesBuilder::labeling_probabilities`](crate::DataSourcesBuilder::labeling_probabilities)).
    pub fn probabilities(&self) -> ArrayView1<'_, f64> {
        self.probabilities.view()
    }
    /// Phase two's probabilities π_t¹ of the rows not yet labeled (zero on the
    /// pilot's rows): they sum to the budget.
    pub fn phase_two(&self) -> ArrayView1<'_, f64> {
        self.phase_two.view()
    }
    /// Whether each row can be drawn (not labeled yet).
    pub fn eligible(&self) -> &[bool] {
        &self.eligible
    }
    /// The strata the draw is sorted by, if any.
    pub fn strata(&self) -> Option<&[usize]> {
        self.strata.as_deref()
    }
    /// What the design did that its user should know.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }
    /// The coefficient names, when a pilot made predictions.
    pub fn names(&self) -> Option<&[String]> {
        self.prediction.as_ref().map(|p| p.names.as_slice())
    }

    /// The rows to label now (sorted indices), drawn with probabilities π_t¹ by
    /// systematic sampling in a random order seeded by `seed`: exactly the budget when
    /// it is whole.
    pub fn draw(&self, seed: u64) -> Vec<usize> {
        draw::systematic(
            self.phase_two.view(),
            &self.eligible,
            self.strata.as_deref(),
            seed,
        )
    }

    /// The predicted standard error of every coefficient after both phases (asymptotic,
    /// from the pilot; `None` without one).
    pub fn se(&self) -> Option<Array1<f64>> {
        self.prediction.as_ref().map(|p| p.se(self.rule.view()))
    }

    /// The same with the budget's labels drawn at random among the rows not yet labeled.
    pub fn uniform_se(&self) -> Option<Array1<f64>> {
        let available = self.eligible.iter().filter(|&&e| e).count() as f64;
        let pi = Array1::from_elem(self.eligible.len(), self.budget / available);
        self.prediction.as_ref().map(|p| p.se(pi.view()))
    }

    /// The fewest new labels, allocated by this design, whose (1 − α) normal interval
    /// for coefficient `coef` is predicted to have half-width at most `half_width`;
    /// `None` when labeling every remaining row does not reach it.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] without a pilot's prediction, for an unknown
    /// coefficient, a non-positive half-width or α outside (0, 1).
    pub fn labels_for(&self, coef: usize, half_width: f64, alpha: f64) -> Result<Option<usize>> {
        let invalid = |parameter, reason: String| Error::InvalidConfig { parameter, reason };
        let prediction = self
            .prediction
            .as_ref()
            .ok_or_else(|| invalid("pilot", "predictions need a pilot".into()))?;
        if coef >= prediction.names.len() {
            return Err(invalid(
                "coef",
                format!("index {coef} for {} coefficients", prediction.names.len()),
            ));
        }
        if !(half_width > 0.0 && half_width.is_finite()) {
            return Err(invalid(
                "half_width",
                format!("{half_width} is not a positive width"),
            ));
        }
        let z = normal_critical_value(alpha)?;
        let reaches = |budget: usize| -> Result<bool> {
            let pi = self.allocate(budget as f64)?;
            Ok(z * prediction.se(pi.view())[coef] <= half_width)
        };
        let available = self.eligible.iter().filter(|&&e| e).count();
        if available == 0 || !reaches(available)? {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0usize, available);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if reaches(mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(Some(hi))
    }
}
