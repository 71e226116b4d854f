//! Fitted results: estimates, covariance, standard errors, intervals, tests, summaries.

use std::fmt;

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::error::{Error, Result, Stage};
use crate::optim::Termination;
use crate::weight::WeightInverse;

/// Standard normal distribution.
fn std_normal() -> Normal {
    Normal::standard()
}

/// The two-sided normal critical value z_{1−α/2}.
///
/// # Errors
/// [`Error::InvalidConfig`] unless 0 < α < 1.
pub fn normal_critical_value(alpha: f64) -> Result<f64> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::InvalidConfig {
            parameter: "alpha",
            reason: format!("{alpha} is not in (0, 1)"),
        });
    }
    Ok(std_normal().inverse_cdf(1.0 - alpha / 2.0))
}

/// An estimate of the target θ with its covariance: the result every estimator in the
/// crate returns, so that they can be compared side by side.
///
/// Inference is Wald-type with the normal approximation: se_j = √V_jj,
/// z_j = θ̂_j / se_j, p_j = 2Φ(−|z_j|), CI = θ̂_j ± z_{1−α/2} se_j.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    estimator: String,
    model: String,
    names: Vec<String>,
    theta: Array1<f64>,
    cov: Array2<f64>,
    n_rows: usize,
    n_labeled: usize,
}

impl Estimate {
    /// Assembles an estimate; `cov` is the covariance of θ̂ (already divided by the sample size).
    pub fn new(
        estimator: impl Into<String>,
        model: impl Into<String>,
        names: Vec<String>,
        theta: Array1<f64>,
        cov: Array2<f64>,
        n_rows: usize,
        n_labeled: usize,
    ) -> Self {
        Self {
            estimator: estimator.into(),
            model: model.into(),
            names,
            theta,
            cov,
            n_rows,
            n_labeled,
        }
    }
    /// The same estimate under another estimator name.
    pub fn with_estimator(mut self, name: impl Into<String>) -> Self {
        self.estimator = name.into();
        self
    }
    /// The estimator's name, e.g. `"GMM-Synth"`.
    pub fn estimator(&self) -> &str {
        &self.estimator
    }
    /// The moment model's name.
    pub fn model(&self) -> &str {
        &self.model
    }
    /// Coefficient names.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// θ̂.
    pub fn theta(&self) -> ArrayView1<'_, f64> {
        self.theta.view()
    }
    /// Estimated covariance of θ̂.
    pub fn cov(&self) -> ArrayView2<'_, f64> {
        self.cov.view()
    }
    /// Standard errors √diag(V).
    pub fn se(&self) -> Array1<f64> {
        self.cov.diag().mapv(f64::sqrt)
    }
    /// Wald statistics θ̂_j / se_j.
    pub fn z(&self) -> Array1<f64> {
        &self.theta / &self.se()
    }
    /// Two-sided p-values 2Φ(−|z_j|) for H₀: θ_j = 0.
    pub fn p_values(&self) -> Array1<f64> {
        let normal = std_normal();
        self.z().mapv(|z| 2.0 * normal.cdf(-z.abs()))
    }
    /// Confidence intervals θ̂_j ± z_{1−α/2} se_j, one row [lower, upper] per coefficient.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn conf_int(&self, alpha: f64) -> Result<Array2<f64>> {
        let crit = normal_critical_value(alpha)?;
        let se = self.se();
        let mut ci = Array2::zeros((self.theta.len(), 2));
        for j in 0..self.theta.len() {
            ci[[j, 0]] = self.theta[j] - crit * se[j];
            ci[[j, 1]] = self.theta[j] + crit * se[j];
        }
        Ok(ci)
    }
    /// Number of rows T the estimator saw.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
    /// Number of labeled rows n.
    pub fn n_labeled(&self) -> usize {
        self.n_labeled
    }
    /// The coefficient table at level α, for display.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn table(&self, alpha: f64) -> Result<CoefficientTable<'_>> {
        normal_critical_value(alpha)?;
        Ok(CoefficientTable {
            estimate: self,
            alpha,
        })
    }
}

/// Statsmodels-style coefficient rows: coef, std err, z, P>|z| and the interval.
#[derive(Debug, Clone, Copy)]
pub struct CoefficientTable<'a> {
    estimate: &'a Estimate,
    alpha: f64,
}

const WIDTH: usize = 78;

impl fmt::Display for CoefficientTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.estimate;
        let ci = e.conf_int(self.alpha).map_err(|_| fmt::Error)?;
        let (se, z, p) = (e.se(), e.z(), e.p_values());
        let lo = format!("[{}", trim_level(self.alpha / 2.0));
        let hi = format!("{}]", trim_level(1.0 - self.alpha / 2.0));
        writeln!(
            f,
            "{:<14}{:>10} {:>10} {:>9} {:>9} {:>11} {:>11}",
            "", "coef", "std err", "z", "P>|z|", lo, hi
        )?;
        writeln!(f, "{}", "-".repeat(WIDTH))?;
        for j in 0..e.theta.len() {
            let name: String = e
                .names
                .get(j)
                .map_or_else(|| format!("x{j}"), |n| n.chars().take(13).collect());
            writeln!(
                f,
                "{:<14}{:>10.4} {:>10.4} {:>9.3} {:>9.3} {:>11.4} {:>11.4}",
                name,
                e.theta[j],
                se[j],
                z[j],
                p[j],
                ci[[j, 0]],
                ci[[j, 1]]
            )?;
        }
        Ok(())
    }
}

fn trim_level(q: f64) -> String {
    let s = format!("{q:.4}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

/// Hansen's J test of the overidentifying restrictions.
///
/// J = T ḡᵀWḡ with the step-2 weight is asymptotically χ²(df), df = rank(W) − q (= pM
/// normally). A small p-value says the labeled rows' auxiliary moments disagree with
/// the all-rows ones: the labeled rows are not a random sample of all rows (labeling not
/// at random), or known labeling probabilities are wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JTest {
    /// The statistic J.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// χ²(df) upper-tail p-value; `None` when df = 0 (just identified).
    pub p_value: Option<f64>,
}

impl JTest {
    pub(crate) fn new(statistic: f64, df: usize) -> Self {
        let p_value = (df > 0)
            .then(|| {
                ChiSquared::new(df as f64)
                    .ok()
                    .map(|chi| chi.sf(statistic.max(0.0)))
            })
            .flatten();
        Self {
            statistic,
            df,
            p_value,
        }
    }
}

/// How one Gauss–Newton optimisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepReport {
    /// Iterations run.
    pub iterations: usize,
    /// How it ended.
    pub termination: Termination,
}

/// How a weight matrix was inverted, where.
#[derive(Debug, Clone, PartialEq)]
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
pub struct GmmFit {
    pub(crate) estimate: Estimate,
    pub(crate) params: Array1<f64>,
    pub(crate) cov: Array2<f64>,
    pub(crate) step1_params: Array1<f64>,
    pub(crate) source_names: Vec<String>,
    pub(crate) j_test: JTest,
    pub(crate) step_one: Vec<StepReport>,
    pub(crate) step_two: StepReport,
    pub(crate) weights: Vec<WeightReport>,
    pub(crate) real_only_se: Array1<f64>,
    pub(crate) covariance: crate::gmm::Covariance,
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
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
    pub fn conf_int(&self, alpha: f64) -> Result<Array2<f64>> {
        self.estimate.conf_int(alpha)
    }
    /// The whole parameter vector (θ, η_1, …, η_M).
    pub fn params(&self) -> ArrayView1<'_, f64> {
        self.params.view()
    }
    /// Covariance of the whole parameter vector, (ĜᵀΩ̂⁻¹Ĝ)⁻¹ / T.
    pub fn cov(&self) -> ArrayView2<'_, f64> {
        self.cov.view()
    }
    /// η̂_m of source `m` (zero-based, in the order added), if it exists.
    pub fn eta(&self, m: usize) -> Option<ArrayView1<'_, f64>> {
        let p = self.estimate.theta.len();
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
    /// The J test of overidentifying restrictions.
    pub fn j_test(&self) -> JTest {
        self.j_test
    }
    /// Number of rows T.
    pub fn n_rows(&self) -> usize {
        self.estimate.n_rows
    }
    /// Number of labeled rows n.
    pub fn n_labeled(&self) -> usize {
        self.estimate.n_labeled
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
    /// The step-2 report.
    pub fn step_two(&self) -> StepReport {
        self.step_two
    }
    /// Whether every optimisation converged.
    pub fn converged(&self) -> bool {
        self.step_two.termination.is_converged()
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
    /// How the covariance was computed.
    pub fn covariance_kind(&self) -> crate::gmm::Covariance {
        self.covariance
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
    /// [`Error::InvalidConfig`] unless 0 < α < 1.
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
        let fit = self.fit;
        let e = &fit.estimate;
        let sources = if fit.source_names.is_empty() {
            "none".to_string()
        } else {
            fit.source_names.join(", ")
        };
        let j = fit.j_test;
        let j_p = j.p_value.map_or("n/a".to_string(), |p| format!("{p:.4}"));
        let iters: usize = fit.step_two.iterations;
        let status = if fit.converged() {
            format!("yes ({iters} iter.)")
        } else {
            format!("no ({:?})", fit.step_two.termination)
        };
        let weight = match fit.weights.iter().find(|w| w.is_fallback()) {
            None => "Cholesky".to_string(),
            Some(w) => match w.inverse {
                WeightInverse::PseudoInverse { rank } => format!("pinv, rank {rank}/{}", w.dim),
                WeightInverse::Cholesky => "Cholesky".to_string(),
            },
        };
        let ess = fit.effective_sample_size();
        let ess_range = format!(
            "{:.0}–{:.0}",
            ess.iter().copied().fold(f64::INFINITY, f64::min),
            ess.iter().copied().fold(0.0, f64::max)
        );
        let title = format!("{} results", e.estimator);
        writeln!(f, "{title:^WIDTH$}")?;
        writeln!(f, "{}", "=".repeat(WIDTH))?;
        let row = |f: &mut fmt::Formatter<'_>, a: &str, b: &str, c: &str, d: &str| {
            writeln!(f, "{a:<16}{b:>22}   {c:<16}{d:>21}")
        };
        row(
            f,
            "Model:",
            e.model(),
            "Rows (T):",
            &fit.n_rows().to_string(),
        )?;
        row(
            f,
            "Sources (M):",
            &fit.n_sources().to_string(),
            "Labeled (n):",
            &fit.n_labeled().to_string(),
        )?;
        row(
            f,
            "Converged:",
            &status,
            "J statistic:",
            &format!("{:.4}", j.statistic),
        )?;
        row(
            f,
            "Weight inverse:",
            &weight,
            "J df, p-value:",
            &format!("{}, {j_p}", j.df),
        )?;
        let cov = match fit.covariance {
            crate::gmm::Covariance::Reestimated => "Ω at final",
            crate::gmm::Covariance::StepTwo => "step-2 W",
            crate::gmm::Covariance::Windmeijer => "Windmeijer",
        };
        row(f, "Effective n:", &ess_range, "Covariance:", cov)?;
        writeln!(f, "Sources: {sources}")?;
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
        if let Some(p) = j.p_value {
            if p < 0.05 {
                writeln!(f, "Warning: J test p = {p:.4}: labeled and unlabeled rows differ; labeling may not be at random.")?;
            }
        }
        if fit.used_pseudo_inverse() {
            writeln!(
                f,
                "Note: the weight matrix was singular; a pseudo-inverse was used."
            )?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::array;

    #[test]
    fn wald_quantities_match_closed_forms() {
        let e = Estimate::new(
            "x",
            "ols",
            vec!["a".into(), "b".into()],
            array![1.96, -1.0],
            array![[1.0, 0.0], [0.0, 0.25]],
            10,
            5,
        );
        assert_relative_eq!(e.se()[1], 0.5);
        assert_relative_eq!(e.z()[1], -2.0);
        // 2Φ(−1.96) = 0.04999579 (standard normal table)
        assert_relative_eq!(e.p_values()[0], 0.049_995_790_296_4, max_relative = 1e-9);
        let ci = e.conf_int(0.05).unwrap();
        assert_relative_eq!(
            ci[[0, 0]],
            1.96 - 1.959_963_984_540_054,
            max_relative = 1e-9
        );
        assert!(e.conf_int(1.0).is_err());
    }

    #[test]
    fn j_test_p_value() {
        // χ²(2) survival function is exp(−x/2).
        let j = JTest::new(3.0, 2);
        assert_relative_eq!(j.p_value.unwrap(), (-1.5f64).exp(), max_relative = 1e-12);
        assert_eq!(JTest::new(0.0, 0).p_value, None);
    }
}
