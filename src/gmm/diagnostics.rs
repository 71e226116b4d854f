//! Per-source diagnostics: which auxiliary source helps, and which one's labeled rows
//! disagree with its other rows.
//!
//! For each source m of a fit with M sources:
//! - the difference-in-Hansen statistic C_m = J(all) − J(without m) (Eichenbaum,
//!   Hansen and Singleton 1988; Hayashi 2000, §3.6), χ²(p) under random labeling: with
//!   the per-block first step the fit without m uses the same Ω̂ blocks as the full fit,
//!   so C_m tests exactly the p restrictions that source m adds (its labeled-rows and
//!   all-rows moments have the same expectation). A rejection flags labeling that
//!   depends on what the source sees, a shift between labeled and unlabeled rows, or
//!   leakage of the human labels into the source;
//! - corr(φ_r,j, φ_m,j) on the labeled rows, per coefficient: how closely the source's
//!   influence tracks the real one's (for least squares with shared covariates, the
//!   correlation of the residuals); the variance a source can remove is about this
//!   correlation squared, times 1 − n/T;
//! - its marginal contribution to each coefficient's effective sample size,
//!   ESS(all) − ESS(without m).

use std::fmt;

use ndarray::Array1;

use super::{GmmFit, TwoStepGmm};
use crate::data::DataSources;
use crate::error::Result;
use crate::inference::JTest;
use crate::MomentModel;

/// One source's diagnostics (see [`TwoStepGmm::diagnose`]).
#[derive(Debug, Clone)]
pub struct SourceDiagnostic {
    /// The source.
    pub name: String,
    /// C = J(all) − J(without this source) (clipped at 0), its degrees of freedom and
    /// χ² p-value.
    pub c_test: JTest,
    /// corr(φ_r,j, φ_m,j) on the labeled rows, per coefficient; `None` for
    /// over-identified models or with labeling probabilities.
    pub correlation: Option<Array1<f64>>,
    /// ESS(all) − ESS(without this source), per coefficient.
    pub ess_contribution: Array1<f64>,
}

/// A fit with its per-source diagnostics.
#[derive(Debug, Clone)]
pub struct SourceReport {
    /// The fit with every source.
    pub fit: GmmFit,
    /// One entry per source kept by the fit, in order.
    pub sources: Vec<SourceDiagnostic>,
}

impl<M: MomentModel> TwoStepGmm<M> {
    /// Fits the estimator with every source, then without each one in turn, and
    /// reports per source the difference-in-Hansen C test, the influence correlation
    /// with the real moments and the contribution to the effective sample size (see
    /// the module documentation of `gmm::diagnostics` in the guide).
    ///
    /// # Errors
    /// As [`fit`](Self::fit), for the full fit or any leave-one-out fit.
    ///
    /// # Examples
    /// ```
    /// use ndarray::{Array1, Array2};
    /// use synthgmm::models::Ols;
    /// use synthgmm::{DataSources, TwoStepGmm};
    /// // Deterministic noise: e and u uncorrelated, the proxy's error 0.9 e + 0.44 u.
    /// let noise = |i: usize, k: f64| ((i as f64 * k).sin() * 43758.5453).fract() - 0.5;
    /// let t = 2000;
    /// let x = Array2::from_shape_fn((t, 3), |(i, j)| if j == 0 { 1.0 } else { noise(i, 3.1 + j as f64) });
    /// let e = Array1::from_shape_fn(t, |i| noise(i, 12.9898));
    /// let u = Array1::from_shape_fn(t, |i| noise(i, 78.233));
    /// let signal = x.column(1).to_owned() - &x.column(2);
    /// let y = &signal + &e;
    /// let proxy = &signal + &(&e * 0.9) + &(&u * 0.44);
    /// let labeled: Vec<bool> = (0..t).map(|i| i % 10 == 0).collect();
    /// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()?;
    /// let report = TwoStepGmm::new(Ols).diagnose(&data)?;
    /// let proxy = &report.sources[0];
    /// assert_eq!((proxy.name.as_str(), proxy.c_test.df), ("proxy", 3));
    /// assert!(proxy.correlation.as_ref().unwrap()[1] > 0.8); // ρ = 0.9
    /// println!("{report}");
    /// # Ok::<(), synthgmm::Error>(())
    /// ```
    pub fn diagnose(&self, data: &DataSources) -> Result<SourceReport> {
        let (fit, influence) = self.fit_with_influence(data, false)?;
        let kept: Vec<&str> = fit.source_names().iter().map(String::as_str).collect();
        let p = fit.theta().len();
        let ess = fit.effective_sample_size();
        let j_all = fit.j_test();
        let mut sources = Vec::with_capacity(kept.len());
        for (m, name) in kept.iter().enumerate() {
            let others: Vec<&str> = kept.iter().copied().filter(|s| s != name).collect();
            let without = self.fit(&data.select_sources(&others)?)?;
            let j_without = without.j_test();
            let c_test = JTest::new(
                (j_all.statistic - j_without.statistic).max(0.0),
                j_all.df.saturating_sub(j_without.df),
            );
            let correlation = influence
                .as_ref()
                .map(|inf| Array1::from_shape_fn(p, |j| inf.correlation(m, j)));
            sources.push(SourceDiagnostic {
                name: name.to_string(),
                c_test,
                correlation,
                ess_contribution: &ess - &without.effective_sample_size(),
            });
        }
        Ok(SourceReport { fit, sources })
    }
}

impl fmt::Display for SourceReport {
    /// The fit's summary followed by a "Sources" table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fit)?;
        let names = self.fit.estimate().names();
        writeln!(
            f,
            "Sources (C = J − J without the source; corr and ESS gain per coefficient: {})",
            names.join(", ")
        )?;
        writeln!(
            f,
            "{:<14}{:>10}{:>5}{:>9}   {:<24}ESS gain",
            "source", "C", "df", "p", "corr"
        )?;
        for s in &self.sources {
            let p = s
                .c_test
                .p_value
                .map_or("n/a".to_string(), |p| format!("{p:.4}"));
            let corr = s.correlation.as_ref().map_or("n/a".to_string(), |c| {
                c.iter()
                    .map(|v| format!("{v:.2}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let gain = s
                .ess_contribution
                .iter()
                .map(|v| format!("{v:+.0}"))
                .collect::<Vec<_>>()
                .join(" ");
            writeln!(
                f,
                "{:<14}{:>10.3}{:>5}{:>9}   {:<24}{}",
                s.name, s.c_test.statistic, s.c_test.df, p, corr, gain
            )?;
        }
        Ok(())
    }
}
