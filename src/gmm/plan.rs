//! Planning: how many human labels, and how many model-made rows, to buy.
//!
//! From a pilot (n labeled rows of T) the influence-function second moments of the real
//! and auxiliary blocks are estimated once ([`Influence`]); under labeling at random
//! the variance of each estimator at a new design (n′ labeled of T′ rows) is then
//!
//! - real-only: A_jj / n′;
//! - GMM (efficient weights): A_jj / n′ − (1/n′ − 1/T′) R_j, with R_j = [CΣ⁻¹Cᵀ]_jj the
//!   part of coefficient j's real-only variance that the sources explain;
//! - PPI++ on source m (one λ for every coordinate, ppi_py's choice: the trace-optimal
//!   λ = Σ_j c_jj / Σ_j σ_jj in the influence scale): A_jj/n′ − (1/n′ − 1/T′)(2λc_jj − λ²σ_jj);
//!
//! i.e. a/n′ + r/T′ with a = A_jj − R_j and r = R_j. R_j is estimated from the pilot's
//! n labeled rows and so overstated: for GMM, R̂_j = [ĈΣ⁻¹Ĉᵀ]_jj with Ĉ_j the mean of
//! w_t = φ_r,t,j φ_t exceeds R_j by tr(Σ⁻¹Cov(w))/n in expectation, estimated from the
//! pilot's rows; for PPI++'s single coefficient by about (A_jj − R_j)/n. That optimism
//! is removed. That form gives the inversions in
//! closed form: the labels for a half-width h at a given T′ are a / ((h/z)² − r/T′), the
//! cheapest design for h at costs (c_n per label, c_T per row) is
//! n′ = √(a/c_n)·S/v, T′ = √(r/c_T)·S/v with S = √(a c_n) + √(r c_T) and v = (h/z)²,
//! and a budget B buys the variance S²/B. The assumptions: labeling at random (or the
//! pilot's), sources produced the same way at scale, and the asymptotic variance (the
//! small-sample inflation of the selected weights is not in it).

use ndarray::{Array1, Array2};

use super::select::Influence;
use super::TwoStepGmm;
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::inference::normal_critical_value;
use crate::MomentModel;

/// What a prediction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Planned {
    /// The real-only estimate.
    RealOnly,
    /// Two-step GMM with every source of the pilot, at the efficient weights: the
    /// asymptotic variance of the paper's estimator ([`CrossWeights::Unrestricted`](crate::CrossWeights::Unrestricted)),
    /// which the default selected weights also reach as n grows (they pick the
    /// smallest estimated MSE, and the unrestricted weights are among their
    /// candidates); at small n both carry small-sample terms that the prediction
    /// leaves out, so it is a lower bound there.
    Gmm,
    /// PPI++ with the pilot's source at this index (one λ for every coordinate).
    PpiPlusPlus(usize),
}

/// A design: labeled rows n, total rows T, and what it costs or achieves.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Design {
    /// Human-labeled rows n′.
    pub labeled: f64,
    /// Rows T′ with model outputs (labeled ones included).
    pub rows: f64,
    /// c_n n′ + c_T T′.
    pub cost: f64,
    /// The predicted (1 − α) half-width z se at this design.
    pub half_width: f64,
}

/// Variance predictions from a pilot (see the module documentation).
#[derive(Debug, Clone)]
pub struct Plan {
    names: Vec<String>,
    sources: Vec<String>,
    pilot: (usize, usize),
    influence: Influence,
    /// The pilot's step-1 estimate (θ̂_real, η̂_1, …, η̂_M) over the kept sources.
    step1: Array1<f64>,
}

/// A pilot's influence maps row by row, for labeling designs: row t's labeled-minus-
/// source influence is e_t = −J_r⁻¹ ψ(θ̂; real_t) − B ψ̃_t, with ψ̃_t the sources'
/// stacked moments at η̂ and B = C Σ⁻¹ (−J_m⁻¹/u_m) their efficient combination.
#[derive(Debug, Clone)]
pub(crate) struct RowInfluence {
    /// θ̂_real.
    pub theta: Array1<f64>,
    /// η̂_m of each kept source, with its name.
    pub sources: Vec<(String, Array1<f64>)>,
    /// −J_r⁻¹ (p × p).
    pub to_real: Array2<f64>,
    /// B (p × pM): the sources' stacked moments to the part of φ_r they explain.
    pub explained: Array2<f64>,
}

impl<M: MomentModel> TwoStepGmm<M> {
    /// A [`Plan`] from pilot data: the fit's step-1 estimate and the influence-function
    /// moments of its blocks.
    ///
    /// # Errors
    /// As [`fit`](Self::fit); [`Error::InvalidConfig`] when planning does not apply
    /// (no sources, an over-identified model, labeling probabilities, clusters, or a
    /// singular block Jacobian).
    ///
    /// # Examples
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use synthgmm::models::Ols;
    /// use synthgmm::{DataSources, Planned, TwoStepGmm};
    /// // Deterministic noise: e and u uncorrelated, the proxy's error 0.9 e + 0.44 u.
    /// let noise = |i: usize, k: f64| ((i as f64 * k).sin() * 43758.5453).fract() - 0.5;
    /// let t = 3000;
    /// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { noise(i, 4.7) });
    /// let e = Array1::from_shape_fn(t, |i| noise(i, 12.9898));
    /// let u = Array1::from_shape_fn(t, |i| noise(i, 78.233));
    /// let y = &x.column(1) + &e;
    /// let proxy = &x.column(1) + &(&e * 0.9) + &(&u * 0.44);
    /// let labeled: Vec<bool> = (0..t).map(|i| i % 20 == 0).collect();
    /// let pilot = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()?;
    /// let plan = TwoStepGmm::new(Ols).plan(&pilot)?;
    /// // Four times the labels halve the real-only standard error.
    /// let (now, more) = (plan.se(Planned::RealOnly, 150, 3000)?, plan.se(Planned::RealOnly, 600, 3000)?);
    /// assert!((now[1] / more[1] - 2.0).abs() < 1e-12);
    /// // The sources are worth more labels than there are.
    /// assert!(plan.effective_labels(Planned::Gmm, 150, 3000)?[1] > 300.0);
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn plan(&self, data: &DataSources) -> Result<Plan> {
        let (fit, influence) = self.fit_with_influence(data, true)?;
        let influence = influence.ok_or_else(|| Error::InvalidConfig {
                parameter: "plan",
                reason: "planning needs at least one source, just-identified moments, labels missing at random (no labeling probabilities or weights), independent rows (no clusters) and non-singular block Jacobians".into(),
            })?;
        Ok(Plan {
            names: fit.estimate().names().to_vec(),
            sources: fit.source_names().to_vec(),
            pilot: (data.n_labeled(), data.n_rows()),
            influence,
            step1: fit.step1_params().to_owned(),
        })
    }
}

impl Plan {
    /// The coefficient names.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// The pilot's sources, in the order [`Planned::PpiPlusPlus`] indexes them.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }
    /// The pilot's (labeled rows, rows).
    pub fn pilot(&self) -> (usize, usize) {
        self.pilot
    }

    /// The maps from a row's moments to its influence values (see [`RowInfluence`]).
    ///
    /// # Errors
    /// [`Error::SingularCovariance`] when the sources' influence covariance Σ is
    /// singular.
    pub(crate) fn row_influence(&self) -> Result<RowInfluence> {
        let inf = &self.influence;
        let p = inf.a.nrows();
        let sigma_inv =
            crate::linalg::inverse(inf.sigma.view()).ok_or(Error::SingularCovariance {
                stage: crate::error::Stage::Covariance,
            })?;
        let sources = self
            .sources
            .iter()
            .enumerate()
            .map(|(m, name)| {
                let eta = self.step1.slice(ndarray::s![(1 + m) * p..(2 + m) * p]);
                (name.clone(), eta.to_owned())
            })
            .collect();
        Ok(RowInfluence {
            theta: self.step1.slice(ndarray::s![..p]).to_owned(),
            sources,
            to_real: inf.to_real.clone(),
            explained: inf.c.dot(&sigma_inv).dot(&inf.to_aux),
        })
    }

    /// Per coefficient, (a, r) with variance a/n′ + r/T′.
    pub(crate) fn parts(&self, planned: Planned) -> Result<Vec<(f64, f64)>> {
        let inf = &self.influence;
        let p = inf.a.nrows();
        let explained: Vec<f64> = match planned {
            Planned::RealOnly => vec![0.0; p],
            Planned::Gmm => {
                let sigma_inv =
                    crate::linalg::inverse(inf.sigma.view()).ok_or(Error::SingularCovariance {
                        stage: crate::error::Stage::Covariance,
                    })?;
                let r = inf.c.dot(&sigma_inv).dot(&inf.c.t());
                (0..p).map(|j| r[[j, j]]).collect()
            }
            Planned::PpiPlusPlus(m) => {
                if m >= self.sources.len() {
                    return Err(Error::InvalidConfig {
                        parameter: "source",
                        reason: format!("index {m} for {} sources", self.sources.len()),
                    });
                }
                let own = |j: usize| m * p + j;
                let num: f64 = (0..p).map(|j| inf.c[[j, own(j)]]).sum();
                let den: f64 = (0..p).map(|j| inf.sigma[[own(j), own(j)]]).sum();
                let lambda = num / den;
                (0..p)
                    .map(|j| {
                        2.0 * lambda * inf.c[[j, own(j)]]
                            - lambda * lambda * inf.sigma[[own(j), own(j)]]
                    })
                    .collect()
            }
        };
        // The pilot's R̂_j is a quadratic form in labeled-row means and overstates R_j:
        // for GMM by tr(Σ⁻¹Cov(φ_r,j φ))/n, estimated from the pilot's rows
        // ([`Influence::optimism`]); for PPI++'s one coefficient by about
        // (A_jj − R_j)/n.
        Ok((0..p)
            .map(|j| {
                let a = inf.a[[j, j]];
                let r = explained[j].min(a);
                let excess = match (planned, &inf.optimism) {
                    (Planned::RealOnly, _) => 0.0,
                    (Planned::Gmm, Some(optimism)) => optimism[j],
                    (Planned::Gmm, None) => inf.sigma.nrows() as f64 * (a - r) / inf.n,
                    (Planned::PpiPlusPlus(_), _) => (a - r) / inf.n,
                };
                let r = (r - excess).max(0.0);
                (a - r, r)
            })
            .collect())
    }

    fn check_design(labeled: f64, rows: f64) -> Result<()> {
        if labeled >= 1.0 && rows >= labeled && rows.is_finite() {
            Ok(())
        } else {
            Err(Error::InvalidConfig {
                parameter: "design",
                reason: format!("need 1 ≤ n′ ≤ T′, got n′ = {labeled}, T′ = {rows}"),
            })
        }
    }

    /// Predicted standard errors of every coefficient with n′ labeled of T′ rows.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 1 ≤ n′ ≤ T′, or for an unknown source index.
    pub fn se(&self, planned: Planned, labeled: usize, rows: usize) -> Result<Array1<f64>> {
        let (n, t) = (labeled as f64, rows as f64);
        Self::check_design(n, t)?;
        Ok(self
            .parts(planned)?
            .iter()
            .map(|&(a, r)| (a / n + r / t).sqrt())
            .collect())
    }

    /// How many labels the design is worth: A_jj / Var_j, the labeled rows real-only
    /// would need for the same standard error.
    ///
    /// # Errors
    /// As [`se`](Self::se).
    pub fn effective_labels(
        &self,
        planned: Planned,
        labeled: usize,
        rows: usize,
    ) -> Result<Array1<f64>> {
        let se = self.se(planned, labeled, rows)?;
        Ok(Array1::from_shape_fn(se.len(), |j| {
            self.influence.a[[j, j]] / (se[j] * se[j])
        }))
    }

    /// The smallest n′ whose (1 − α) interval for coefficient `coef` has half-width at
    /// most `half_width` with T′ = `rows` in total; `None` when no n′ ≤ T′ reaches it.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for α outside (0, 1), a non-positive half-width or an
    /// unknown coefficient or source.
    pub fn labels_for(
        &self,
        planned: Planned,
        coef: usize,
        half_width: f64,
        alpha: f64,
        rows: usize,
    ) -> Result<Option<usize>> {
        let (a, r) = self.coefficient(planned, coef, half_width)?;
        let v = (half_width / normal_critical_value(alpha)?).powi(2);
        let room = v - r / rows as f64;
        if room <= 0.0 {
            return Ok(None);
        }
        let n = (a / room).ceil().max(1.0);
        Ok((n <= rows as f64).then_some(n as usize))
    }

    /// The design of least cost c_n n′ + c_T T′ whose interval for `coef` has the
    /// given half-width (n′ and T′ continuous; round up).
    ///
    /// # Errors
    /// As [`labels_for`](Self::labels_for), and for non-positive costs.
    pub fn cheapest(
        &self,
        planned: Planned,
        coef: usize,
        half_width: f64,
        alpha: f64,
        cost_label: f64,
        cost_row: f64,
    ) -> Result<Design> {
        let (a, r) = self.coefficient(planned, coef, half_width)?;
        Self::check_costs(cost_label, cost_row)?;
        let z = normal_critical_value(alpha)?;
        let v = (half_width / z).powi(2);
        let s = (a * cost_label).sqrt() + (r * cost_row).sqrt();
        let (mut n, mut t) = (
            (a / cost_label).sqrt() * s / v,
            (r / cost_row).sqrt() * s / v,
        );
        if t < n {
            // Label every row: a/n + r/n = v.
            n = (a + r) / v;
            t = n;
        }
        Ok(Design {
            labeled: n,
            rows: t,
            cost: cost_label * n + cost_row * t,
            half_width,
        })
    }

    /// The design with the narrowest interval for `coef` that `budget` buys.
    ///
    /// # Errors
    /// As [`cheapest`](Self::cheapest), and for a non-positive budget.
    pub fn best_for_budget(
        &self,
        planned: Planned,
        coef: usize,
        budget: f64,
        alpha: f64,
        cost_label: f64,
        cost_row: f64,
    ) -> Result<Design> {
        Self::check_costs(cost_label, cost_row)?;
        if !(budget > 0.0 && budget.is_finite()) {
            return Err(Error::InvalidConfig {
                parameter: "budget",
                reason: format!("{budget} is not a positive amount"),
            });
        }
        let (a, r) = self.coefficient(planned, coef, 1.0)?;
        let z = normal_critical_value(alpha)?;
        let s = (a * cost_label).sqrt() + (r * cost_row).sqrt();
        let (mut n, mut t) = (
            budget * (a / cost_label).sqrt() / s,
            budget * (r / cost_row).sqrt() / s,
        );
        if t < n {
            n = budget / (cost_label + cost_row);
            t = n;
        }
        Ok(Design {
            labeled: n,
            rows: t,
            cost: budget,
            half_width: z * (a / n + r / t).sqrt(),
        })
    }

    fn coefficient(&self, planned: Planned, coef: usize, half_width: f64) -> Result<(f64, f64)> {
        if !(half_width > 0.0 && half_width.is_finite()) {
            return Err(Error::InvalidConfig {
                parameter: "half_width",
                reason: format!("{half_width} is not a positive width"),
            });
        }
        self.parts(planned)?
            .get(coef)
            .copied()
            .ok_or_else(|| Error::InvalidConfig {
                parameter: "coef",
                reason: format!("index {coef} for {} coefficients", self.names.len()),
            })
    }

    fn check_costs(cost_label: f64, cost_row: f64) -> Result<()> {
        if cost_label > 0.0 && cost_row > 0.0 && cost_label.is_finite() && cost_row.is_finite() {
            Ok(())
        } else {
            Err(Error::InvalidConfig {
                parameter: "cost",
                reason: format!("costs must be positive, got {cost_label} and {cost_row}"),
            })
        }
    }
}
