//! [`GmmFit`]: the fitted two-step estimator, its reports and its summary.

use std::fmt;

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2};

use super::Covariance;
use crate::error::{Result, Stage};
use crate::inference::{normal_critical_value, CoefficientTable, Estimate, JTest, Note, WIDTH};
use crate::optim::Termination;
use crate::weight::WeightInverse;

/// How one Gauss–Newton optimisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StepReport {
    /// Iterations run.
    pub iterations: usize,
    /// How it ended.
    pub termination: Termination,
}

/// How a weight matrix was inverted, where.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WeightReport {
    /// The stage whose Ω̂ this is (step 2 weight, or covariance).
    pub stage: Stage,
    /// Cholesky or pseudo-inverse (with the rank).
    pub inverse: WeightInverse,
    /// Dimension of Ω̂, p(1 + 2M).
    pub dim: usize,
}

impl WeightReport {
    /// Whether the pseudo-inverse fallback was used.
    pub fn is_fallback(&self) -> bool {
        matches!(self.inverse, WeightInverse::PseudoInverse { .. })
    }
}

/// The result of [`TwoStepGmm::fit`](crate::TwoStepGmm::fit).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GmmFit {
    pub(crate) estimate: Estimate,
    pub(crate) params: Array1<f64>,
    pub(crate) cov: Array2<f64>,
    pub(crate) step1_params: Array1<f64>,
    pub(crate) source_names: Vec<String>,
    pub(crate) j_test: JTest,
    pub(crate) step_one: Vec<StepReport>,
    pub(crate) step_two: Option<StepReport>,
    pub(crate) weights: Vec<WeightReport>,
    pub(crate) real_only_se: Array1<f64>,
    pub(crate) covariance: super::FinalEstimator,
    pub(crate) cross_choices: Option<Vec<super::CrossChoice>>,
    /// The selected weights' linear representation K at the step-1 estimate (p × K,
    /// see [`super::select`]), for the fit's influence.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(crate) influence_map: Option<Array2<f64>>,
}

impl GmmFit {
    /// θ̂ with its covariance, as every estimator returns it.
    pub fn estimate(&self) -> &Estimate {
        &self.estimate
    }
    /// Consumes the fit, keeping the common [`Estimate`].
    pub fn into_estimate(self) -> Estimate {
        self.estimate
    }
    /// θ̂.
    pub fn theta(&self) -> ArrayView1<'_, f64> {
        self.estimate.theta()
    }
    /// Covariance of θ̂, V_θθ / T.
    pub fn cov_theta(&self) -> ArrayView2<'_, f64> {
        self.estimate.cov()
    }
    /// With [`CrossWeights::Selected`](super::CrossWeights::Selected): the cross
    /// weights each coefficient of θ ended with; `None` for the unrestricted two-step
    /// estimate (the paper's), which is then what [`theta`](Self::theta) returns.
    pub fn cross_choices(&self) -> Option<&[super::CrossChoice]> {
        self.cross_choices.as_deref()
    }
    /// Standard errors of θ̂.
    pub fn se(&self) -> Array1<f64> {
        self.estimate.se()
    }
    /// z statistics of θ̂.
    pub fn z(&self) -> Array1<f64> {
        self.estimate.z()
    }
    /// Two-sided p-values of θ̂.
    pub fn p_values(&self) -> Array1<f64> {
        self.estimate.p_values()
    }
    /// Confidence intervals for θ at level 1 − α (rows [lower, upper]).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) unless 0 < α < 1.
    pub fn conf_int(&self, alpha: f64) -> Result<Array2<f64>> {
        self.estimate.conf_int(alpha)
    }
    /// Names of θ's coefficients (the covariate names, or the model's).
    pub fn names(&self) -> &[String] {
        self.estimate.names()
    }
    /// The whole parameter vector (θ, η_1, …, η_M).
    pub fn params(&self) -> ArrayView1<'_, f64> {
        self.params.view()
    }
    /// Covariance of the whole parameter vector (θ, η_1, …, η_M): the one
    /// [`covariance_kind`](Self::covariance_kind) names — (ĜᵀΩ̂⁻¹Ĝ)⁻¹/T re-estimated at
    /// the estimate, or with Windmeijer's finite-sample term, or the sandwich — or the
    /// selected weights' covariance. θ's block alone is [`cov_theta`](Self::cov_theta)
    /// (what [`Estimate::cov`] holds).
    pub fn cov(&self) -> ArrayView2<'_, f64> {
        self.cov.view()
    }
    /// η̂_m of source `m` (zero-based, in the order added), if it exists.
    pub fn eta(&self, m: usize) -> Option<ArrayView1<'_, f64>> {
        let p = self.estimate.theta().len();
        (m < self.source_names.len()).then(|| self.params.slice(s![(m + 1) * p..(m + 2) * p]))
    }
    /// η̂ of the named source, if it exists.
    pub fn eta_named(&self, name: &str) -> Option<ArrayView1<'_, f64>> {
        self.source_names
            .iter()
            .position(|n| n == name)
            .and_then(|m| self.eta(m))
    }
    /// The step-1 (identity weight) estimate of the whole vector; its θ block is the
    /// real-only estimate.
    pub fn step1_params(&self) -> ArrayView1<'_, f64> {
        self.step1_params.view()
    }
    /// Hansen's J test of the overidentifying restrictions (that each source's labeled
    /// and all-rows moments agree), at the efficient two-step estimate with the weight
    /// Ω̂(step 1)⁻¹. With the selected cross weights it is still that estimate's J: it
    /// tests the moment conditions, which the selected estimate shares, not its
    /// weights. As they do not run step 2, it is taken with the moments linearized at
    /// step 1, J = T min_δ |R(ḡ₁ + Ĝ₁δ)|² (RᵀR = Ω̂⁻¹): the two-step J itself for
    /// moments affine in the parameters (least squares), asymptotically equivalent to
    /// it otherwise.
    pub fn j_test(&self) -> JTest {
        self.j_test
    }
    /// Number of rows T.
    pub fn n_rows(&self) -> usize {
        self.estimate.n_rows()
    }
    /// Number of labeled rows n.
    pub fn n_labeled(&self) -> usize {
        self.estimate.n_labeled()
    }
    /// Number of auxiliary sources M.
    pub fn n_sources(&self) -> usize {
        self.source_names.len()
    }
    /// The sources' names, in parameter order.
    pub fn source_names(&self) -> &[String] {
        &self.source_names
    }
    /// Step-1 reports: θ first, then each η_m.
    pub fn step_one(&self) -> &[StepReport] {
        &self.step_one
    }
    /// The step-2 report; `None` for the selected cross weights, which replace the
    /// two-step estimate and do not run step 2.
    pub fn step_two(&self) -> Option<StepReport> {
        self.step_two
    }
    /// Whether every optimisation converged (step 1's, and step 2's where it ran).
    pub fn converged(&self) -> bool {
        self.step_two.is_none_or(|r| r.termination.is_converged())
            && self.step_one.iter().all(|r| r.termination.is_converged())
    }
    /// How each weight matrix was inverted (step-2 weight, then covariance).
    pub fn weight_reports(&self) -> &[WeightReport] {
        &self.weights
    }
    /// Whether any weight matrix needed the pseudo-inverse fallback.
    pub fn used_pseudo_inverse(&self) -> bool {
        self.weights.iter().any(WeightReport::is_fallback)
    }
    /// Standard errors of the real-only estimator (M = 0, HC0 on the labeled rows).
    pub fn real_only_se(&self) -> ArrayView1<'_, f64> {
        self.real_only_se.view()
    }
    /// How the reported covariance of the weighted (two-step, iterated, continuously
    /// updated) estimate was computed: the requested one, unless a
    /// [`Note::CovarianceFallback`] says otherwise. `None` for the selected cross
    /// weights, whose covariance is their own formula ([`final_estimator`](Self::final_estimator)).
    pub fn covariance_kind(&self) -> Option<Covariance> {
        self.covariance.covariance()
    }
    /// The estimator this fit reports and how its covariance was computed.
    pub fn final_estimator(&self) -> super::FinalEstimator {
        self.covariance
    }
    /// Fallbacks taken and sources set aside, in the order they happened.
    pub fn notes(&self) -> &[Note] {
        self.estimate.notes()
    }
    /// Effective sample size per coefficient, n · se²_real-only / se²_gmm: the number of
    /// labeled rows the real-only estimator would need for the same precision.
    pub fn effective_sample_size(&self) -> Array1<f64> {
        let n = self.n_labeled() as f64;
        let se = self.se();
        Array1::from_shape_fn(se.len(), |j| n * (self.real_only_se[j] / se[j]).powi(2))
    }
    /// A printable summary at level α.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) unless 0 < α < 1.
    pub fn summary(&self, alpha: f64) -> Result<Summary<'_>> {
        normal_critical_value(alpha)?;
        Ok(Summary { fit: self, alpha })
    }
}

/// A statsmodels-style summary of a [`GmmFit`].
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    fit: &'a GmmFit,
    alpha: f64,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.fit.estimate;
        let title = format!("{} results", e.estimator());
        writeln!(f, "{title:^WIDTH$}")?;
        writeln!(f, "{}", "=".repeat(WIDTH))?;
        self.header(f)?;
        self.quantiles(f)?;
        writeln!(f, "{}", "=".repeat(WIDTH))?;
        write!(
            f,
            "{}",
            CoefficientTable {
                estimate: e,
                alpha: self.alpha
            }
        )?;
        writeln!(f, "{}", "=".repeat(WIDTH))?;
        if let Some(p) = self.fit.j_test.p_value {
            if p < 0.05 {
                writeln!(f, "Warning: J test p = {p:.4}: labeled and unlabeled rows differ; labeling may not be at random.")?;
            }
        }
        for note in self.fit.notes() {
            writeln!(f, "Note: {note}.")?;
        }
        Ok(())
    }
}

impl Summary<'_> {
    /// The two columns of facts under the title, the sources and the cross weights.
    fn header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fit = self.fit;
        let e = &fit.estimate;
        let j = fit.j_test;
        let j_p = j.p_value.map_or("n/a".to_string(), |p| format!("{p:.4}"));
        // The first optimisation that did not converge, if any.
        let failed = fit
            .step_one
            .iter()
            .chain(&fit.step_two)
            .find(|r| !r.termination.is_converged());
        let status = match (failed, fit.step_two) {
            (Some(r), _) => format!("no ({:?})", r.termination),
            (None, Some(step_two)) => format!("yes ({} iter.)", step_two.iterations),
            (None, None) => "yes".to_string(),
        };
        let ess = fit.effective_sample_size();
        let ess_range = format!(
            "{:.0}–{:.0}",
            ess.iter().copied().fold(f64::INFINITY, f64::min),
            ess.iter().copied().fold(0.0, f64::max)
        );
        let j_label = match fit.cross_choices {
            Some(_) => "J (two-step):",
            None => "J statistic:",
        };
        let rows = [
            (
                "Model:",
                e.model().to_string(),
                "Rows (T):",
                fit.n_rows().to_string(),
            ),
            (
                "Sources (M):",
                fit.n_sources().to_string(),
                "Labeled (n):",
                fit.n_labeled().to_string(),
            ),
            ("Converged:", status, j_label, format!("{:.4}", j.statistic)),
            (
                "Weight inverse:",
                self.weight_inverse(),
                "J df, p-value:",
                format!("{}, {j_p}", j.df),
            ),
            (
                "Effective n:",
                ess_range,
                "Covariance:",
                fit.covariance.describe(),
            ),
        ];
        for (a, b, c, d) in rows {
            writeln!(f, "{a:<16}{b:>22}   {c:<16}{d:>21}")?;
        }
        let sources = match fit.source_names.is_empty() {
            true => "none".to_string(),
            false => fit.source_names.join(", "),
        };
        writeln!(f, "Sources: {sources}")?;
        if let Some(choices) = &fit.cross_choices {
            let each: Vec<String> = e
                .names()
                .iter()
                .zip(choices)
                .map(|(n, c)| format!("{n} {}", c.name()))
                .collect();
            writeln!(f, "Cross weights: {}", each.join(", "))?;
        }
        Ok(())
    }

    /// How the weight matrix was inverted: Cholesky, or the pseudo-inverse's rank.
    fn weight_inverse(&self) -> String {
        match self.fit.weights.iter().find(|w| w.is_fallback()) {
            Some(WeightReport {
                inverse: WeightInverse::PseudoInverse { rank },
                dim,
                ..
            }) => format!("pinv, rank {rank}/{dim}"),
            _ => "Cholesky".to_string(),
        }
    }

    /// The line on Student t quantiles, when the estimate uses them.
    fn quantiles(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.fit.estimate;
        let Some(df) = e.t_df() else {
            return Ok(());
        };
        let clustered = e
            .notes()
            .iter()
            .any(|n| matches!(n, Note::Clustered { .. }));
        match e.coefficient_df() {
            Some(dof) => {
                let each: Vec<String> = dof.iter().map(|v| format!("{v:.1}")).collect();
                let by = if clustered { "cluster " } else { "" };
                writeln!(
                    f,
                    "Quantiles: Student t, {by}Bell–McCaffrey df {}",
                    each.join(", ")
                )
            }
            None => {
                let why = match clustered {
                    true => "few-cluster correction, G − 1",
                    false => "small-sample correction",
                };
                writeln!(f, "Quantiles: Student t with {df} df ({why})")
            }
        }
    }
}

impl fmt::Display for GmmFit {
    /// The summary at α = 0.05.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Summary {
            fit: self,
            alpha: 0.05,
        }
        .fmt(f)
    }
}
