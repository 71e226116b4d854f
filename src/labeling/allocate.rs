//! Labeling probabilities from row scores: the variance of an inverse-probability-
//! weighted estimate, (1/T²) Σ_t s_t²/π_t plus terms free of π, is smallest under
//! Σ_t π_t = n and π_min ≤ π_t ≤ 1 at π_t = clip(κ s_t, π_min, 1), κ set by the budget
//! (Lagrange; Neyman's allocation when s_t is constant within strata).

use std::collections::HashMap;

use ndarray::Array1;

use crate::error::{Error, Result};

/// π_t = clip(κ s_t, π_min, 1) on every row, with κ such that the `eligible` rows'
/// probabilities sum to `budget`.
///
/// # Errors
/// [`Error::InvalidConfig`] when the budget is not in [π_min·N, N] for the N eligible
/// rows, or a score is negative or not finite.
pub(super) fn proportional(
    scores: &Array1<f64>,
    eligible: &[bool],
    budget: f64,
    min_probability: f64,
) -> Result<Array1<f64>> {
    let available = eligible.iter().filter(|&&e| e).count() as f64;
    check_budget(budget, available, min_probability)?;
    if let Some(bad) = scores.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        return Err(Error::InvalidConfig {
            parameter: "scores",
            reason: format!("{bad} is not a non-negative number"),
        });
    }
    let largest = scores.iter().cloned().fold(0.0, f64::max);
    // Rows the forecast calls certain keep a tiny positive score, so that a κ exists.
    let floor = if largest > 0.0 { largest * 1e-12 } else { 1.0 };
    let s = scores.mapv(|v| v.max(floor));
    let total = |kappa: f64| -> f64 {
        s.iter()
            .zip(eligible)
            .filter(|(_, &e)| e)
            .map(|(v, _)| (kappa * v).clamp(min_probability, 1.0))
            .sum()
    };
    // Bracket κ in log space, then bisect; the total rises with κ.
    let (mut lo, mut hi) = (0.0f64, 1.0 / s.iter().cloned().fold(f64::MAX, f64::min));
    while total(hi) < budget {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if total(mid) < budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(exact(&s, eligible, budget, min_probability, hi))
}

/// With the rows at a bound fixed by `kappa`, the κ that makes the sum exactly the
/// budget, and the probabilities at it.
fn exact(
    s: &Array1<f64>,
    eligible: &[bool],
    budget: f64,
    min_probability: f64,
    kappa: f64,
) -> Array1<f64> {
    let (mut fixed, mut free) = (0.0, 0.0);
    for (v, _) in s.iter().zip(eligible).filter(|(_, &e)| e) {
        let pi = kappa * v;
        if pi >= 1.0 {
            fixed += 1.0;
        } else if pi <= min_probability {
            fixed += min_probability;
        } else {
            free += v;
        }
    }
    let kappa = if free > 0.0 {
        (budget - fixed) / free
    } else {
        kappa
    };
    s.mapv(|v| (kappa * v).clamp(min_probability, 1.0))
}

fn check_budget(budget: f64, available: f64, min_probability: f64) -> Result<()> {
    if !(budget > 0.0 && budget <= available) {
        return Err(Error::InvalidConfig {
            parameter: "budget",
            reason: format!(
                "{budget} labels from {available} rows that can be drawn: need 0 < budget ≤ rows"
            ),
        });
    }
    if !(min_probability >= 0.0 && min_probability * available <= budget) {
        return Err(Error::InvalidConfig {
            parameter: "min_probability",
            reason: format!(
                "{min_probability} on each of {available} rows exceeds the budget of {budget} labels"
            ),
        });
    }
    Ok(())
}

/// The root of each stratum's mean of `values` over its rows among `rows`, spread to
/// every row of the stratum. Each stratum mean m_h (sampling variance v_h) is shrunk
/// toward the forecast's, k·f_h (f_h the mean of `forecast` over the stratum, k
/// matching the two on the pilot's rows), as in Fay and Herriot (1979): by the factor
/// τ²/(τ² + v_h), τ² = max(0, var_h(m_h − k f_h) − mean_h(v_h)) the disagreement the
/// strata show beyond their noise. A stratum with fewer than two such rows takes k·f_h;
/// their labels are returned.
pub(super) fn stratum_scores(
    strata: &[usize],
    rows: &[usize],
    values: &Array1<f64>,
    forecast: &Array1<f64>,
) -> (Array1<f64>, Vec<usize>) {
    let mut moments: HashMap<usize, (f64, f64, usize)> = HashMap::new();
    for (&t, &v) in rows.iter().zip(values) {
        let entry = moments.entry(strata[t]).or_insert((0.0, 0.0, 0));
        *entry = (entry.0 + v, entry.1 + v * v, entry.2 + 1);
    }
    let mut forecast_sums: HashMap<usize, (f64, usize)> = HashMap::new();
    for (&h, &v) in strata.iter().zip(forecast) {
        let entry = forecast_sums.entry(h).or_insert((0.0, 0));
        *entry = (entry.0 + v, entry.1 + 1);
    }
    let on_pilot: f64 = rows.iter().map(|&t| forecast[t]).sum();
    let k = if on_pilot > 0.0 {
        values.sum() / on_pilot
    } else {
        1.0
    };
    let prior: HashMap<usize, f64> = forecast_sums
        .iter()
        .map(|(&h, &(sum, count))| (h, k * sum / count as f64))
        .collect();
    let estimated: HashMap<usize, (f64, f64)> = moments
        .iter()
        .filter(|(_, m)| m.2 >= 2)
        .map(|(&h, &(sum, squares, count))| {
            let c = count as f64;
            let mean = sum / c;
            (
                h,
                (mean, ((squares - c * mean * mean) / (c - 1.0)).max(0.0) / c),
            )
        })
        .collect();
    let shrunk = shrink(&estimated, &prior);
    let mut thin: Vec<usize> = prior
        .keys()
        .filter(|h| !shrunk.contains_key(h))
        .copied()
        .collect();
    thin.sort_unstable();
    let root_mean: HashMap<usize, f64> = prior
        .iter()
        .map(|(&h, &p)| (h, shrunk.get(&h).copied().unwrap_or(p).max(0.0).sqrt()))
        .collect();
    (strata.iter().map(|h| root_mean[h]).collect(), thin)
}

/// Empirical-Bayes shrinkage of estimates (m_h, v_h) toward `prior` values.
fn shrink(
    estimated: &HashMap<usize, (f64, f64)>,
    prior: &HashMap<usize, f64>,
) -> HashMap<usize, f64> {
    let k = estimated.len() as f64;
    if k < 2.0 {
        return estimated.iter().map(|(&h, &(m, _))| (h, m)).collect();
    }
    let gaps: Vec<f64> = estimated.iter().map(|(h, e)| e.0 - prior[h]).collect();
    let mean_gap = gaps.iter().sum::<f64>() / k;
    let spread = gaps.iter().map(|g| (g - mean_gap).powi(2)).sum::<f64>() / (k - 1.0);
    let noise = estimated.values().map(|e| e.1).sum::<f64>() / k;
    let tau2 = (spread - noise).max(0.0);
    estimated
        .iter()
        .map(|(&h, &(m, v))| {
            let weight = if tau2 + v > 0.0 {
                tau2 / (tau2 + v)
            } else {
                1.0
            };
            (h, prior[&h] + weight * (m - prior[&h]))
        })
        .collect()
}

/// `count` strata of about equal size by the quantiles of `scores` (0 the smallest).
pub(super) fn quantile_strata(scores: &Array1<f64>, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut strata = vec![0; scores.len()];
    for (rank, &t) in order.iter().enumerate() {
        strata[t] = rank * count / scores.len();
    }
    strata
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn probabilities_follow_scores_within_bounds() {
        let s = array![1.0, 2.0, 4.0, 100.0, 0.0];
        let pi = proportional(&s, &[true; 5], 2.0, 0.05).unwrap();
        assert!((pi.sum() - 2.0).abs() < 1e-12);
        assert_eq!(pi[3], 1.0);
        assert_eq!(pi[4], 0.05);
        // Free rows in proportion to their scores: (2 − 1 − 0.05)/7 per unit.
        let kappa = 0.95 / 7.0;
        for (t, v) in [(0, 1.0), (1, 2.0), (2, 4.0)] {
            assert!((pi[t] - kappa * v).abs() < 1e-12, "{t}: {}", pi[t]);
        }
    }

    #[test]
    fn ineligible_rows_do_not_count_toward_the_budget() {
        let s = array![1.0, 1.0, 1.0, 1.0];
        let pi = proportional(&s, &[true, true, false, false], 1.0, 0.0).unwrap();
        assert_eq!(pi, array![0.5, 0.5, 0.5, 0.5]);
    }

    #[test]
    fn impossible_budgets_are_errors() {
        let s = array![1.0, 1.0];
        assert!(proportional(&s, &[true; 2], 3.0, 0.0).is_err());
        assert!(proportional(&s, &[true; 2], 0.5, 0.3).is_err());
        assert!(proportional(&array![1.0, f64::NAN], &[true; 2], 1.0, 0.0).is_err());
    }

    #[test]
    fn strata_from_quantiles_and_their_root_means() {
        let strata = quantile_strata(&array![5.0, 1.0, 3.0, 2.0], 2);
        assert_eq!(strata, vec![1, 0, 1, 0]);
        let fallback = array![9.0, 9.0, 9.0, 9.0];
        // One stratum with two pilot rows (nothing to shrink against), one with one:
        // that one takes the forecast, 9, times k = (4 + 16 + 1)/(3·9).
        let (s, thin) = stratum_scores(&strata, &[0, 2, 1], &array![4.0, 16.0, 1.0], &fallback);
        let k: f64 = 21.0 / 27.0;
        assert_eq!(
            s,
            array![
                10f64.sqrt(),
                (9.0 * k).sqrt(),
                10f64.sqrt(),
                (9.0 * k).sqrt()
            ]
        );
        assert_eq!(thin, vec![0]);
        // Two strata whose means differ less than their noise: shrunk to the forecast
        // (flat here, so to the pooled mean 31/6).
        let strata = [0, 0, 0, 1, 1, 1];
        let values = array![1.0, 9.0, 5.0, 2.0, 8.0, 6.0];
        let flat = Array1::ones(6);
        let (s, _) = stratum_scores(&strata, &[0, 1, 2, 3, 4, 5], &values, &flat);
        assert!(
            s.iter().all(|v| (v - (31.0f64 / 6.0).sqrt()).abs() < 1e-12),
            "{s}"
        );
        // Two that differ far beyond it keep their own means.
        let values = array![100.0, 101.0, 99.0, 1.0, 1.5, 0.5];
        let (s, _) = stratum_scores(&strata, &[0, 1, 2, 3, 4, 5], &values, &flat);
        assert!(
            (s[0] - 10.0).abs() < 0.01 && (s[3] - 1.0).abs() < 0.05,
            "{s}"
        );
    }
}
