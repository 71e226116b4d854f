//! Fixed effects absorbed by the within transformation, without dummy matrices.
//!
//! With one or more fixed effects (a unit, a period, an annotator), least squares on
//! y_t = x_tᵀβ + α_{a(t)} + γ_{b(t)} + ε_t equals least squares on the residuals of x
//! and y after projecting out the effects' indicator columns (Frisch–Waugh–Lovell), and
//! so do the slopes' sandwich covariances, which are formed from the same residuals.
//! For one effect the projection subtracts each level's (weighted) mean; for several it
//! is reached by alternating projections (Guimarães and Portugal 2010, Gaure 2013, as R's
//! fixest and lfe do): sweep over the effects, subtracting each level's mean, until a
//! sweep changes every column by less than [`TOLERANCE`] relative to its size.
//!
//! The real block is transformed over the labeled rows, with the weights its moments
//! carry (w_t/π_t), so that the real-only fit equals the dummy regression on those rows.
//! Each source is transformed over every row with weights w_t, and its labeled block is
//! the same transformed values on the labeled rows: the source's labeled and all-rows
//! moments then keep the common root (E\[S_t/π_t ψ_t\] = E\[ψ_t\]) that makes θ̂ consistent
//! whatever the source is.
//!
//! Without the indicator columns the hat matrix of the labeled fit misses their part,
//! which CR2 and the Bell–McCaffrey degrees of freedom read. The part of effects nested
//! in the clusters (the first effect, by default) cancels: each cluster's adjusted
//! score and the degrees of freedom are unchanged by it (Pustejovsky and Tipton 2018).
//! The rest enters as extra working-design columns Z with zero coefficients: the
//! indicators of the other effects' levels on the labeled rows, projected off the
//! nested effects and orthonormalized (ZᵀWZ = I, and Z is orthogonal to the
//! transformed covariates), so that H_gg = Z_g Z_gᵀ + X̃_g (X̃ᵀWX̃)⁻¹ X̃_gᵀ is the
//! regression's with indicators, less the nested part. Past [`MAX_LEVERAGE_LEVELS`]
//! such levels Z is left out (the summary says so).

use std::sync::Arc;

use ndarray::{Array1, Axis};

use crate::error::{Error, Result};
use crate::rows::RowBlock;

/// A sweep that changes every column by less than this, relative to the column's norm,
/// ends the alternating projections (two or more effects).
pub const TOLERANCE: f64 = 1e-13;

/// Sweeps allowed before [`Error::FixedEffectsNotConverged`].
pub const MAX_SWEEPS: usize = 10_000;

/// The most levels of effects not nested in the clusters whose leverage CR2 includes
/// (its cost grows with the cube of their number per cluster).
pub const MAX_LEVERAGE_LEVELS: usize = 500;

/// A column whose norm falls below this fraction of its norm before the transformation
/// is constant within the effects' levels: absorbed, its coefficient not identified.
const ABSORBED: f64 = 1e-9;

/// One fixed effect: the level of every row, dense from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Effect {
    pub ids: Vec<u32>,
    pub levels: usize,
}

/// Dense ids (from 0, in order of first appearance) of any hashable ids, and how many
/// distinct ones there are: a fixed effect's levels, or clusters.
pub(crate) fn dense_ids<I: std::hash::Hash + Eq>(ids: &[I]) -> (Vec<u32>, usize) {
    let mut seen: std::collections::HashMap<&I, u32> = std::collections::HashMap::new();
    let dense = ids
        .iter()
        .map(|id| {
            let next = seen.len() as u32;
            *seen.entry(id).or_insert(next)
        })
        .collect();
    (dense, seen.len())
}

impl Effect {
    /// The effect of rows with the levels `ids` (any hashable values).
    pub(crate) fn new<I: std::hash::Hash + Eq>(ids: &[I]) -> Self {
        let (ids, levels) = dense_ids(ids);
        Effect { ids, levels }
    }

    fn on(&self, rows: &[usize]) -> Vec<u32> {
        rows.iter().map(|&t| self.ids[t]).collect()
    }
}

/// The fixed effects absorbed from a data set: how many there are, their levels, and
/// how many sweeps the transformation took.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedEffects {
    levels: Vec<usize>,
    labeled_levels: Vec<usize>,
    sweeps: usize,
    /// Z on the labeled rows (see the module's documentation), if any.
    leverage: Option<Arc<ndarray::Array2<f64>>>,
    leverage_left_out: bool,
}

impl FixedEffects {
    /// The number of levels of each effect over every row.
    pub fn levels(&self) -> &[usize] {
        &self.levels
    }
    /// The number of levels of each effect with labeled rows.
    pub fn labeled_levels(&self) -> &[usize] {
        &self.labeled_levels
    }
    /// The most sweeps of the alternating projections any column needed (1 for one
    /// effect).
    pub fn sweeps(&self) -> usize {
        self.sweeps
    }
    /// Whether CR2 leaves out the leverage of the effects not nested in the clusters
    /// (more than [`MAX_LEVERAGE_LEVELS`] levels).
    pub fn leverage_left_out(&self) -> bool {
        self.leverage_left_out
    }
    /// The extra working-design columns Z of the labeled rows, if any.
    pub(crate) fn leverage_columns(&self) -> Option<ndarray::ArrayView2<'_, f64>> {
        self.leverage.as_deref().map(|z| z.view())
    }
    /// The same effects for resampled rows, `on_labeled` giving each labeled row of
    /// the replicate its row among the original labeled rows: Z's rows for them (the
    /// indicators' span on the replicate's rows), orthonormal again in the replicate's
    /// weights, so that its CR2 and degrees of freedom are the regression's with
    /// indicators, as the original fit's are.
    pub(crate) fn resampled(
        &self,
        on_labeled: &[usize],
        weights: Option<&Array1<f64>>,
    ) -> FixedEffects {
        let leverage = self
            .leverage
            .as_deref()
            .and_then(|z| orthonormal(z.select(Axis(0), on_labeled), weights));
        FixedEffects {
            leverage: leverage.map(Arc::new),
            ..self.clone()
        }
    }
}

/// The transformed real block (the labeled rows) and sources (every row), and what was
/// absorbed.
pub(crate) struct Within {
    pub real: RowBlock,
    pub sources: Vec<(RowBlock, RowBlock)>,
    pub info: FixedEffects,
}

/// What the within transformation reads: the labeled rows, the real block on them
/// with its moments' weights (w_t/π_t), each source's rows, the observation weights,
/// the covariates' names and the cluster of every row.
pub(crate) struct Blocks<'a> {
    pub labeled: &'a [usize],
    pub real: &'a RowBlock,
    pub real_weights: Option<&'a Array1<f64>>,
    pub sources: Vec<(String, &'a RowBlock)>,
    pub weights: Option<&'a Array1<f64>>,
    pub covariate_names: &'a [String],
    pub clusters: &'a [u32],
}

/// Absorbs `effects` from the real block (over the labeled rows) and from each source
/// (over every row).
///
/// # Errors
/// [`Error::FixedEffectSingleton`] for a level with one labeled row,
/// [`Error::AbsorbedCovariate`] for a covariate constant within the levels,
/// [`Error::FixedEffectsNotConverged`].
pub(crate) fn absorb(effects: &[Effect], blocks: Blocks<'_>) -> Result<Within> {
    let Blocks {
        labeled,
        real,
        real_weights,
        sources,
        weights,
        covariate_names,
        clusters,
    } = blocks;
    let on_labeled: Vec<Vec<u32>> = effects.iter().map(|e| e.on(labeled)).collect();
    let levels: Vec<usize> = effects.iter().map(|e| e.levels).collect();
    check_singletons(&on_labeled, &levels, labeled)?;
    let mut sweeps = 0;
    let real_ids: Vec<&[u32]> = on_labeled.iter().map(Vec::as_slice).collect();
    let (real, used) = within_block(real, &real_ids, &levels, real_weights)?;
    sweeps = sweeps.max(used);
    check_absorbed(crate::rows::REAL, real.x.view(), covariate_names)?;
    let all_ids: Vec<&[u32]> = effects.iter().map(|e| e.ids.as_slice()).collect();
    let mut transformed = Vec::with_capacity(sources.len());
    for (name, block) in &sources {
        let (all, used) = within_block(block, &all_ids, &levels, weights)?;
        sweeps = sweeps.max(used);
        check_absorbed(name, all.x.view(), covariate_names)?;
        let on_labeled = all.select(labeled);
        transformed.push((all, on_labeled));
    }
    let labeled_levels: Vec<usize> = on_labeled
        .iter()
        .zip(&levels)
        .map(|(ids, &l)| counts(ids, l).iter().filter(|&&c| c > 0).count())
        .collect();
    let clusters: Vec<u32> = labeled.iter().map(|&t| clusters[t]).collect();
    let (leverage, leverage_left_out) =
        leverage_columns(&on_labeled, &levels, &clusters, real_weights)?;
    Ok(Within {
        real,
        sources: transformed,
        info: FixedEffects {
            levels,
            labeled_levels,
            sweeps,
            leverage: leverage.map(Arc::new),
            leverage_left_out,
        },
    })
}

fn counts(ids: &[u32], levels: usize) -> Vec<usize> {
    let mut counts = vec![0; levels];
    for &id in ids {
        counts[id as usize] += 1;
    }
    counts
}

/// Whether every level of an effect lies within one cluster.
fn nested(ids: &[u32], levels: usize, clusters: &[u32]) -> bool {
    let mut cluster_of = vec![None; levels];
    ids.iter().zip(clusters).all(|(&id, &c)| {
        let slot = &mut cluster_of[id as usize];
        *slot.get_or_insert(c) == c
    })
}

/// Z of the module's documentation on the labeled rows (`None` when every effect is
/// nested in the clusters), and whether it was left out for its size.
fn leverage_columns(
    on_labeled: &[Vec<u32>],
    levels: &[usize],
    clusters: &[u32],
    weights: Option<&Array1<f64>>,
) -> Result<(Option<ndarray::Array2<f64>>, bool)> {
    let (inner, outer): (Vec<usize>, Vec<usize>) =
        (0..levels.len()).partition(|&k| nested(&on_labeled[k], levels[k], clusters));
    let width: usize = outer.iter().map(|&k| levels[k]).sum();
    if outer.is_empty() || width > MAX_LEVERAGE_LEVELS {
        return Ok((None, !outer.is_empty()));
    }
    let n = clusters.len();
    let w = weights.map(|w| w.to_vec());
    let inner_ids: Vec<&[u32]> = inner.iter().map(|&k| on_labeled[k].as_slice()).collect();
    let inner_levels: Vec<usize> = inner.iter().map(|&k| levels[k]).collect();
    let mut z = ndarray::Array2::<f64>::zeros((n, width));
    let mut column = 0;
    for &k in &outer {
        for level in 0..levels[k] as u32 {
            let mut values: Vec<f64> = on_labeled[k]
                .iter()
                .map(|&id| f64::from(u8::from(id == level)))
                .collect();
            if !inner.is_empty() {
                project(&mut values, &inner_ids, &inner_levels, w.as_deref())?;
            }
            z.column_mut(column).assign(&Array1::from(values));
            column += 1;
        }
    }
    Ok((orthonormal(z, weights), false))
}

/// An orthonormal basis (in the weights' inner product) of the span of `z`'s columns.
fn orthonormal(
    z: ndarray::Array2<f64>,
    weights: Option<&Array1<f64>>,
) -> Option<ndarray::Array2<f64>> {
    let zw = match weights {
        Some(w) => &z * &w.view().insert_axis(Axis(1)),
        None => z.clone(),
    };
    let gram = zw.t().dot(&z);
    let (values, vectors) = crate::linalg::symmetric_eigen(gram.view())?;
    let largest = values.iter().copied().fold(0.0, f64::max);
    let keep: Vec<usize> = (0..values.len())
        .filter(|&i| values[i] > 1e-10 * largest)
        .collect();
    if keep.is_empty() {
        return None;
    }
    let basis = vectors.select(Axis(1), &keep)
        / &values
            .select(Axis(0), &keep)
            .mapv(f64::sqrt)
            .insert_axis(Axis(0));
    Some(z.dot(&basis))
}

/// No level of any effect with exactly one labeled row: its real row would be absorbed
/// entirely, leaving a level whose effect is its outcome.
fn check_singletons(on_labeled: &[Vec<u32>], levels: &[usize], labeled: &[usize]) -> Result<()> {
    for (effect, (ids, &l)) in on_labeled.iter().zip(levels).enumerate() {
        let counts = counts(ids, l);
        let singles = counts.iter().filter(|&&c| c == 1).count();
        if singles > 0 {
            let i = ids
                .iter()
                .position(|&id| counts[id as usize] == 1)
                .unwrap_or(0);
            return Err(Error::FixedEffectSingleton {
                effect,
                levels: singles,
                row: labeled[i],
            });
        }
    }
    Ok(())
}

/// A covariate whose values the effects absorb (an intercept, a unit's constant trait).
fn check_absorbed(block: &str, x: ndarray::ArrayView2<'_, f64>, names: &[String]) -> Result<()> {
    for (j, column) in x.axis_iter(Axis(1)).enumerate() {
        if column.iter().all(|v| v.abs() == 0.0) {
            return Err(Error::AbsorbedCovariate {
                block: block.to_string(),
                covariate: names.get(j).cloned().unwrap_or_else(|| format!("x{j}")),
            });
        }
    }
    Ok(())
}

/// The block with every column (covariates, outcome, extra columns) projected off the
/// effects, and the sweeps it took. A covariate left with a negligible part of its norm
/// is set to zero exactly, so that [`check_absorbed`] finds it.
fn within_block(
    block: &RowBlock,
    ids: &[&[u32]],
    levels: &[usize],
    weights: Option<&Array1<f64>>,
) -> Result<(RowBlock, usize)> {
    let mut x = block.x.as_ref().clone();
    let mut y = block.y.clone();
    let mut extra = block.extra.clone();
    let mut sweeps = 0;
    let w = weights.map(|w| {
        w.as_slice()
            .map(<[f64]>::to_vec)
            .unwrap_or_else(|| w.to_vec())
    });
    let mut demean = |column: &mut [f64], absorbable: bool| -> Result<()> {
        let norm = column.iter().map(|v| v * v).sum::<f64>().sqrt();
        let used = project(column, ids, levels, w.as_deref())?;
        sweeps = sweeps.max(used);
        let left = column.iter().map(|v| v * v).sum::<f64>().sqrt();
        if absorbable && left <= ABSORBED * norm {
            column.iter_mut().for_each(|v| *v = 0.0);
        }
        Ok(())
    };
    for mut column in x.axis_iter_mut(Axis(1)) {
        let mut values = column.to_vec();
        demean(&mut values, true)?;
        column.assign(&Array1::from(values));
    }
    if let Some(values) = y.as_slice_mut() {
        demean(values, false)?;
    }
    for mut column in extra.axis_iter_mut(Axis(1)) {
        let mut values = column.to_vec();
        demean(&mut values, false)?;
        column.assign(&Array1::from(values));
    }
    Ok((
        RowBlock {
            x: Arc::new(x),
            y,
            extra,
        },
        sweeps,
    ))
}

/// Projects one column off the effects in place: one pass of level means for one
/// effect, alternating projections until a sweep moves the column by less than
/// [`TOLERANCE`] of its norm for several. Returns the sweeps used.
fn project(
    column: &mut [f64],
    ids: &[&[u32]],
    levels: &[usize],
    w: Option<&[f64]>,
) -> Result<usize> {
    let norm = column.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut totals: Vec<(Vec<f64>, Vec<f64>)> = levels
        .iter()
        .map(|&l| (vec![0.0; l], vec![0.0; l]))
        .collect();
    for sweep in 1..=MAX_SWEEPS {
        let mut moved = 0.0;
        for (effect, (sums, mass)) in ids.iter().zip(totals.iter_mut()) {
            moved += subtract_means(column, effect, w, sums, mass);
        }
        if ids.len() == 1 || moved.sqrt() <= TOLERANCE * norm || norm == 0.0 {
            return Ok(sweep);
        }
    }
    Err(Error::FixedEffectsNotConverged { sweeps: MAX_SWEEPS })
}

/// Subtracts each level's weighted mean of `column`; returns the sum of squared changes.
fn subtract_means(
    column: &mut [f64],
    ids: &[u32],
    w: Option<&[f64]>,
    sums: &mut [f64],
    mass: &mut [f64],
) -> f64 {
    sums.iter_mut().for_each(|s| *s = 0.0);
    mass.iter_mut().for_each(|m| *m = 0.0);
    for (t, (&v, &id)) in column.iter().zip(ids).enumerate() {
        let wt = w.map_or(1.0, |w| w[t]);
        sums[id as usize] += wt * v;
        mass[id as usize] += wt;
    }
    for (s, &m) in sums.iter_mut().zip(mass.iter()) {
        if m > 0.0 {
            *s /= m;
        }
    }
    let mut moved = 0.0;
    for (v, &id) in column.iter_mut().zip(ids) {
        let mean = sums[id as usize];
        moved += mean * mean;
        *v -= mean;
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_effect_subtracts_level_means() {
        let mut column = vec![1.0, 3.0, 10.0, 14.0, 5.0];
        let ids = [0u32, 0, 1, 1, 2];
        let sweeps = project(&mut column, &[&ids], &[3], None).unwrap();
        assert_eq!(sweeps, 1);
        assert_eq!(column, vec![-1.0, 1.0, -2.0, 2.0, 0.0]);
    }

    /// Two crossed effects (firms nested in the clusters, periods not): a resample of
    /// every row once is the data again, and its fit the original's, CR2's leverage of
    /// the periods included.
    #[test]
    fn a_resample_keeps_the_leverage_of_effects_outside_the_clusters() {
        use crate::baselines::RealOnly;
        use crate::models::Ols;
        use crate::{Estimator, TwoStepGmm};
        let t = 240;
        let firm: Vec<usize> = (0..t).map(|i| i / 12).collect();
        let period: Vec<usize> = (0..t).map(|i| i % 6).collect();
        let x = ndarray::Array2::from_shape_fn((t, 2), |(i, j)| {
            ((i * (3 + j)) as f64 * 0.71).sin()
                + 0.2 * firm[i] as f64
                + 0.1 * (j * period[i]) as f64
        });
        let y = Array1::from_shape_fn(t, |i| {
            0.5 * x[[i, 0]] - x[[i, 1]] + (i as f64 * 1.3).cos() * (1.0 + x[[i, 0]].abs())
        });
        let proxy = Array1::from_shape_fn(t, |i| y[i] + 0.5 * (i as f64 * 0.37).sin());
        let labeled: Vec<bool> = (0..t).map(|i| i % 3 != 0).collect();
        let pi = Array1::from_shape_fn(t, |i| 0.5 + 0.3 * (i % 2) as f64);
        let data = crate::DataSources::builder(&labeled)
            .real(&x, &y)
            .source("proxy", &x, &proxy)
            .fixed_effects(&firm)
            .fixed_effects(&period)
            .labeling_probabilities(&pi)
            .build()
            .unwrap();
        assert!(data.fixed_effects().unwrap().leverage_columns().is_some());
        let rows: Vec<usize> = (0..t).collect();
        let again = data
            .resample(&rows, data.clusters().map(<[u32]>::to_vec))
            .unwrap();
        // Real-only: CR2 with the cluster Bell–McCaffrey degrees of freedom, both of
        // which read the periods' columns; and the default GMM.
        let real_only = RealOnly::new(Ols);
        let gmm = TwoStepGmm::new(Ols);
        let pairs = [
            (real_only.estimate(&data), real_only.estimate(&again)),
            (gmm.estimate(&data), gmm.estimate(&again)),
        ];
        for (a, b) in pairs {
            let (a, b) = (a.unwrap(), b.unwrap());
            let (ci_a, ci_b) = (a.conf_int(0.05).unwrap(), b.conf_int(0.05).unwrap());
            for j in 0..2 {
                assert!((a.theta()[j] - b.theta()[j]).abs() < 1e-12);
                let ratio = a.se()[j] / b.se()[j];
                assert!((ratio - 1.0).abs() < 1e-10, "se ratio {ratio}");
                assert!((ci_a[[j, 1]] - ci_b[[j, 1]]).abs() < 1e-10 * a.se()[j]);
            }
        }
    }

    #[test]
    fn two_effects_leave_a_column_orthogonal_to_both() {
        // Rows of a 3 × 4 unbalanced grid of two effects.
        let a: Vec<u32> = vec![0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 1];
        let b: Vec<u32> = vec![0, 1, 2, 0, 3, 1, 2, 3, 0, 3, 1];
        let mut column: Vec<f64> = (0..a.len())
            .map(|t| ((t * 7 % 5) as f64).sin() + t as f64)
            .collect();
        project(&mut column, &[&a, &b], &[3, 4], None).unwrap();
        for (ids, levels) in [(&a, 3), (&b, 4)] {
            for level in 0..levels {
                let sum: f64 = column
                    .iter()
                    .zip(ids.iter())
                    .filter(|(_, &i)| i == level)
                    .map(|(v, _)| v)
                    .sum();
                assert!(sum.abs() < 1e-10, "level {level}: {sum}");
            }
        }
    }
}
