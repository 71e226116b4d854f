//! Labels drawn at random, shared by the Monte-Carlo examples.

use rand::Rng;

/// n of T rows labeled uniformly at random: the first n places of a partial
/// Fisher–Yates shuffle.
pub fn label_at_random<R: Rng>(rng: &mut R, t: usize, n: usize) -> Vec<bool> {
    let mut labeled = vec![false; t];
    let mut order: Vec<usize> = (0..t).collect();
    for i in 0..n {
        let j = rng.random_range(i..t);
        order.swap(i, j);
        labeled[order[i]] = true;
    }
    labeled
}
