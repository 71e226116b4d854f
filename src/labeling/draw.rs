//! Which rows to label: systematic sampling with unequal probabilities (Madow 1949)
//! over the rows in a random order — sorted by stratum first when there are strata.
//! Laid end to end, row t covers an interval of length π_t; with U uniform on [0, 1),
//! the rows covering U, U + 1, U + 2, … are drawn. Row t is drawn with probability
//! exactly π_t, and the number drawn is ⌊Σπ_t⌋ or ⌈Σπ_t⌉ (exactly the budget when it is
//! whole); each stratum gets its expected count to within one.

use ndarray::ArrayView1;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The rows drawn (sorted) among the `eligible` ones with probabilities `pi`, from
/// `seed`.
pub(super) fn systematic(
    pi: ArrayView1<'_, f64>,
    eligible: &[bool],
    strata: Option<&[usize]>,
    seed: u64,
) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..pi.len()).filter(|&t| eligible[t]).collect();
    order.shuffle(&mut rng);
    if let Some(strata) = strata {
        // A stable sort keeps the random order within each stratum.
        order.sort_by_key(|&t| strata[t]);
    }
    let start: f64 = rng.random();
    let mut drawn = Vec::new();
    let mut covered = 0.0;
    let mut next = start;
    for &t in &order {
        covered += pi[t];
        while next < covered {
            // A row with π_t = 1 (or rounding just above) is drawn once.
            if drawn.last() != Some(&t) {
                drawn.push(t);
            }
            next += 1.0;
        }
    }
    drawn.sort_unstable();
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    #[test]
    fn inclusion_frequencies_are_the_probabilities() {
        let pi = Array1::from_iter((0..20).map(|t| 0.05 + 0.9 * t as f64 / 19.0));
        let budget = pi.sum();
        let eligible = vec![true; 20];
        let draws = 20_000;
        let mut counts = [0usize; 20];
        for seed in 0..draws {
            let rows = systematic(pi.view(), &eligible, None, seed);
            assert!((rows.len() as f64 - budget).abs() < 1.0);
            for t in rows {
                counts[t] += 1;
            }
        }
        // Binomial standard error ≤ √(0.25/20,000) = 0.0035; 5 of them.
        for (t, &c) in counts.iter().enumerate() {
            let freq = c as f64 / draws as f64;
            assert!((freq - pi[t]).abs() < 0.018, "row {t}: {freq} vs {}", pi[t]);
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_rows() {
        let pi = Array1::from_elem(100, 0.1);
        let eligible = vec![true; 100];
        let a = systematic(pi.view(), &eligible, None, 7);
        assert_eq!(a, systematic(pi.view(), &eligible, None, 7));
        assert_ne!(a, systematic(pi.view(), &eligible, None, 8));
        assert_eq!(a.len(), 10);
    }

    #[test]
    fn strata_get_their_expected_counts() {
        let pi = Array1::from_iter((0..100).map(|t| if t < 50 { 0.1 } else { 0.3 }));
        let strata: Vec<usize> = (0..100).map(|t| usize::from(t >= 50)).collect();
        let eligible = vec![true; 100];
        for seed in 0..50 {
            let rows = systematic(pi.view(), &eligible, Some(&strata), seed);
            let high = rows.iter().filter(|&&t| t >= 50).count();
            assert!((14..=16).contains(&high), "seed {seed}: {high}");
            assert_eq!(rows.len(), 20);
        }
    }
}
