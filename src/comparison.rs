//! Several estimates side by side: coefficients as rows, estimators as columns, each
//! cell the estimate over its standard error in parentheses, as statsmodels'
//! `summary_col` and R's modelsummary print them, with the labeled rows, all rows,
//! each estimator's effective number of labels and the GMM fits' J tests at the foot.
//!
//! The effective number of labels of estimator e, against a reference estimate r (the
//! real-only fit), is n · median_j(V_r,jj / V_e,jj): the labeled rows the reference
//! would need for e's variance, coefficient by coefficient (variances scale as 1/n),
//! summarized by the median over the coefficients both estimate.

use std::fmt;

use crate::inference::number;
use crate::{Estimate, JTest};

/// Estimates side by side: coefficients as rows, estimators as columns, each cell the
/// estimate over its standard error in parentheses, with the labeled rows, all rows
/// and each estimator's effective number of labels at the foot; print it with `{}`.
///
/// The effective number of labels of estimate e against a reference r (the real-only
/// fit) is n · median_j(V_r,jj / V_e,jj): the labeled rows the reference would need
/// for e's variance, coefficient by coefficient, summarized by the median over the
/// coefficients both estimate. It compares variances, not errors.
///
/// ```
/// use ndarray::array;
/// use synthgmm::{Estimate, SideBySide};
/// let names = vec!["Intercept".to_string(), "x".to_string()];
/// let real = Estimate::new("Real-only", "ols", names.clone(), array![1.0, 2.0],
///     array![[0.04, 0.0], [0.0, 0.09]], 1000, 100)?;
/// let gmm = Estimate::new("GMM", "ols", names, array![1.1, 1.9],
///     array![[0.01, 0.0], [0.0, 0.0225]], 1000, 100)?;
/// let table = SideBySide::new([&real, &gmm]).relative_to(0);
/// assert_eq!(table.effective_labels()[1], Some(400.0));
/// let text = table.to_string();
/// assert!(text.contains("(0.1500)") && text.contains("effective n"));
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SideBySide<'a> {
    estimates: Vec<&'a Estimate>,
    reference: Option<usize>,
    j_tests: Vec<Option<JTest>>,
}

/// Decimals of the printed estimates and standard errors.
const DECIMALS: usize = 4;

impl<'a> SideBySide<'a> {
    /// The estimates, one column each, in this order.
    pub fn new(estimates: impl IntoIterator<Item = &'a Estimate>) -> Self {
        let estimates: Vec<&Estimate> = estimates.into_iter().collect();
        Self {
            j_tests: vec![None; estimates.len()],
            estimates,
            reference: None,
        }
    }

    /// Each column's J test of the overidentifying restrictions (`None` for the
    /// estimators without one), printed at the foot; missing trailing entries are
    /// `None`.
    pub fn j_tests(mut self, tests: impl IntoIterator<Item = Option<JTest>>) -> Self {
        let mut tests: Vec<Option<JTest>> = tests.into_iter().collect();
        tests.resize(self.estimates.len(), None);
        self.j_tests = tests;
        self
    }

    /// Effective labels against the estimate in column `index` (the real-only fit);
    /// an index past the last column leaves them out.
    pub fn relative_to(mut self, index: usize) -> Self {
        self.reference = (index < self.estimates.len()).then_some(index);
        self
    }

    /// The coefficient names, in the order they first appear.
    pub fn terms(&self) -> Vec<&'a str> {
        let mut terms: Vec<&str> = Vec::new();
        for e in &self.estimates {
            for name in e.names() {
                if !terms.contains(&name.as_str()) {
                    terms.push(name);
                }
            }
        }
        terms
    }

    /// Each column's effective number of labels n · median_j(V_r,jj / V_e,jj) against
    /// the reference r; `None` without a reference or shared coefficient.
    pub fn effective_labels(&self) -> Vec<Option<f64>> {
        let Some(reference) = self.reference.map(|i| self.estimates[i]) else {
            return vec![None; self.estimates.len()];
        };
        self.estimates
            .iter()
            .map(|e| {
                let mut ratios: Vec<f64> = reference
                    .names()
                    .iter()
                    .enumerate()
                    .filter_map(|(j, name)| {
                        let k = e.names().iter().position(|n| n == name)?;
                        Some(reference.cov()[[j, j]] / e.cov()[[k, k]])
                    })
                    .collect();
                ratios.sort_by(f64::total_cmp);
                median(&ratios).map(|r| r * reference.n_labeled() as f64)
            })
            .collect()
    }

    /// The cell of coefficient `term` in column `e`: estimate and standard error.
    fn cell(e: &Estimate, term: &str) -> Option<(String, String)> {
        let j = e.names().iter().position(|n| n == term)?;
        let se = e.cov()[[j, j]].sqrt();
        Some((
            number(e.theta()[j], DECIMALS),
            format!("({})", number(se, DECIMALS)),
        ))
    }
}

fn median(sorted: &[f64]) -> Option<f64> {
    let k = sorted.len();
    match k {
        0 => None,
        _ if k % 2 == 1 => Some(sorted[k / 2]),
        _ => Some(0.5 * (sorted[k / 2 - 1] + sorted[k / 2])),
    }
}

impl fmt::Display for SideBySide<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms = self.terms();
        let label = terms
            .iter()
            .map(|t| t.len())
            .chain([11])
            .max()
            .unwrap_or(11)
            + 2;
        let heads: Vec<(&str, &str)> = self
            .estimates
            .iter()
            .map(|e| header(e.estimator()))
            .collect();
        let widths: Vec<usize> = heads
            .iter()
            .map(|(a, b)| a.chars().count().max(b.chars().count()).max(10) + 2)
            .collect();
        let rule = "-".repeat(label + widths.iter().sum::<usize>());
        let row = |f: &mut fmt::Formatter<'_>, head: &str, cells: Vec<String>| {
            write!(f, "{head:<label$}")?;
            for (cell, width) in cells.iter().zip(&widths) {
                write!(f, "{cell:>width$}")?;
            }
            writeln!(f)
        };
        row(f, "", heads.iter().map(|h| h.0.to_string()).collect())?;
        if heads.iter().any(|h| !h.1.is_empty()) {
            row(f, "", heads.iter().map(|h| h.1.to_string()).collect())?;
        }
        writeln!(f, "{rule}")?;
        for term in &terms {
            let cells: Vec<Option<(String, String)>> =
                self.estimates.iter().map(|e| Self::cell(e, term)).collect();
            let first = cells
                .iter()
                .map(|c| c.clone().map(|c| c.0).unwrap_or_default());
            row(f, term, first.collect())?;
            let second = cells
                .into_iter()
                .map(|c| c.map(|c| c.1).unwrap_or_default());
            row(f, "", second.collect())?;
        }
        writeln!(f, "{rule}")?;
        self.foot_rows(f, &row)?;
        writeln!(f, "{rule}")?;
        writeln!(f, "Standard errors in parentheses.")?;
        if self.reference.is_some() {
            writeln!(
                f,
                "effective n: the labeled rows {} would need for the same variance (median over coefficients).",
                self.estimates[self.reference.unwrap_or(0)].estimator()
            )?;
        }
        if self.j_tests.iter().any(Option::is_some) {
            writeln!(
                f,
                "J (df): Hansen's test that each source's labeled and all-rows moments agree."
            )?;
        }
        Ok(())
    }
}

impl SideBySide<'_> {
    /// The foot's rows: labeled rows, all rows, effective n against the reference,
    /// and the J statistics with their degrees of freedom and p-values.
    fn foot_rows<F>(&self, f: &mut fmt::Formatter<'_>, row: &F) -> fmt::Result
    where
        F: Fn(&mut fmt::Formatter<'_>, &str, Vec<String>) -> fmt::Result,
    {
        let each = |cell: &dyn Fn(&Estimate) -> String| -> Vec<String> {
            self.estimates.iter().map(|e| cell(e)).collect()
        };
        row(f, "labeled n", each(&|e| e.n_labeled().to_string()))?;
        row(f, "rows T", each(&|e| e.n_rows().to_string()))?;
        if self.reference.is_some() {
            let effective = self.effective_labels().into_iter();
            row(
                f,
                "effective n",
                effective
                    .map(|v| v.map_or_else(String::new, |v| format!("{v:.0}")))
                    .collect(),
            )?;
        }
        if self.j_tests.iter().all(Option::is_none) {
            return Ok(());
        }
        let tests = |cell: &dyn Fn(&JTest) -> String| -> Vec<String> {
            self.j_tests
                .iter()
                .map(|j| j.as_ref().map_or_else(String::new, cell))
                .collect()
        };
        row(
            f,
            "J (df)",
            tests(&|j| format!("{} ({})", number(j.statistic, 2), j.df)),
        )?;
        row(
            f,
            "J p-value",
            tests(&|j| j.p_value.map_or_else(String::new, |p| number(p, 3))),
        )
    }
}

/// An estimator's name over two lines: its name, and what it runs on when the name
/// ends with it in parentheses ("PPI++ (proxy)").
fn header(name: &str) -> (&str, &str) {
    match name.find(" (") {
        Some(i) if name.ends_with(')') => (&name[..i], &name[i + 1..]),
        _ => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(name: &str, names: &[&str], variances: &[f64]) -> Estimate {
        let p = names.len();
        Estimate::new(
            name,
            "ols",
            names.iter().map(|n| n.to_string()).collect(),
            ndarray::Array1::from_shape_fn(p, |j| j as f64 + 0.5),
            ndarray::Array2::from_diag(&ndarray::Array1::from(variances.to_vec())),
            500,
            50,
        )
        .unwrap()
    }

    /// Terms missing from a column leave its cells empty and out of its median; an even
    /// number of shared terms takes the mean of the middle two.
    #[test]
    fn missing_terms_and_even_medians() {
        let real = estimate("Real-only", &["a", "b", "c"], &[1.0, 1.0, 1.0]);
        let two = estimate("PPI++ (proxy)", &["a", "b"], &[0.5, 0.25]);
        let other = estimate("Mine", &["d"], &[1.0]);
        let table = SideBySide::new([&real, &two, &other]).relative_to(0);
        assert_eq!(table.terms(), ["a", "b", "c", "d"]);
        // Ratios 2 and 4: median 3, times n = 50.
        assert_eq!(table.effective_labels(), [Some(50.0), Some(150.0), None]);
        let text = table.to_string();
        let c_line = text.lines().find(|l| l.starts_with("c ")).unwrap();
        assert_eq!(c_line.split_whitespace().count(), 2, "{c_line}");
        assert!(text.contains("PPI++") && text.contains("(proxy)"));
        assert_eq!(
            header("RePPI (proxy, linear)"),
            ("RePPI", "(proxy, linear)")
        );
        assert_eq!(header("GMM"), ("GMM", ""));
        let without = SideBySide::new([&real, &two]).relative_to(5);
        assert_eq!(without.effective_labels(), [None, None]);
        assert!(!without.to_string().contains("effective n"));
    }

    /// J tests print at the foot in their columns, with their degrees of freedom and
    /// p-values; none, no rows.
    #[test]
    fn j_tests_at_the_foot() {
        let real = estimate("Real-only", &["a"], &[1.0]);
        let gmm = estimate("GMM", &["a"], &[0.5]);
        let exact = estimate("GMM (just)", &["a"], &[0.5]);
        let j = JTest::new(7.5779, 6);
        let table = SideBySide::new([&real, &gmm, &exact]).j_tests([
            None,
            Some(j),
            Some(JTest::new(0.0, 0)),
        ]);
        let text = table.to_string();
        let j_line = text.lines().find(|l| l.starts_with("J (df)")).unwrap();
        assert_eq!(
            j_line.split_whitespace().skip(2).collect::<Vec<_>>(),
            ["7.58", "(6)", "0.00", "(0)"]
        );
        let p_line = text.lines().find(|l| l.starts_with("J p-value")).unwrap();
        let p = j.p_value.unwrap();
        assert!((0.27..0.272).contains(&p), "{p}");
        assert_eq!(
            p_line.split_whitespace().skip(2).collect::<Vec<_>>(),
            ["0.271"]
        );
        assert!(!SideBySide::new([&real, &gmm])
            .to_string()
            .contains("J (df)"));
        // Fewer tests than columns: the rest are None.
        let short = SideBySide::new([&real, &gmm]).j_tests([None]);
        assert!(!short.to_string().contains("J (df)"));
    }
}
