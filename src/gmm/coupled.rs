//! The selected estimate's estimating equation: the sources' corrections evaluated at
//! the target's own parameter, as PPI++ does, and the stable pilot the selection's
//! moments are evaluated at.
//!
//! # The coupled equation
//! To first order the selected estimate is θ̂_real − ΛΔ̂ (see [`super::select`]). For a
//! moment function that is not affine in θ, that form inherits the whole nonlinearity
//! of the labeled-only fit θ̂_real: with 30 labeled rows a logistic fit is often close
//! to separation, far from θ, and a linear correction does not bring it back. PPI++
//! instead solves one equation in which θ also enters the sources' terms, so that the
//! all-rows moments share the curvature. With K_m = J_r Λ_m J_m⁻¹ (Λ_m in influence
//! units, J_r and J_m the real and source-m Jacobians) and offsets δ_m = η̂_m − θ̃,
//!
//!   ψ̄_lab,r(θ) − Σ_m K_m [ψ̄_lab,m(θ + δ_m) − ψ̄_all,m(θ + δ_m)] = 0.
//!
//! The bracket has mean zero for every θ when labels are missing at random, so the root
//! is consistent whatever the sources contain; linearised at (θ, η_m) the equation gives
//! θ̂_real − ΛΔ̂ again, so the first-order theory, the selection and the variance are
//! unchanged. With one source, δ = 0 and K = λI it is PPI++'s equation.
//!
//! Moments affine in θ (least squares, linear IV) take the linear form itself: their
//! root differs from it only by K_m(J_lab,m − J_all,m)(θ̂ − θ̃), and that term is not
//! free of the units of a source's outcome. K_m scales as 1/c when source m's outcome
//! is c times a prediction of the label, the covariate imbalance J_lab,m − J_all,m
//! does not, and at c = 0.01 the slope's interval covered 57% (n = 50). In the linear
//! form Λ scales as 1/c and Δ̂ as c.
//!
//! # The pilot
//! The selection's second moments (the correlations of the real and auxiliary influence
//! functions) are evaluated at a pilot θ̃ rather than at θ̂_real: near separation the
//! labeled fit's residuals are squeezed towards zero and its Jacobian towards singular,
//! and the estimated correlations there are noise. θ̃ is the root of the coupled
//! equation with K_m = w_m I and δ_m = 0 (classic prediction-powered inference with the
//! sources weighted by how closely each tracks the real outcome, Σ w_m = 1: consistent,
//! not efficient, and stable because the all-rows Jacobians enter its derivative). It is
//! kept only within [`PILOT_RANGE`] real-only standard errors of θ̂_real in every
//! coordinate, and only where the real block's information there is not much smaller
//! than at θ̂_real ([`PILOT_INFORMATION_LOSS`]); otherwise (a source's labeled
//! corrections pushing the equation far out, or towards separation) θ̂_real is used.

use ndarray::{s, Array1, Array2};

use crate::chunks::{chunk_ranges, map_ordered, DEFAULT_CHUNK_ROWS};
use crate::linalg::{column_sums, inverse};
use crate::stacked::StackedMoments;
use crate::MomentModel;

/// Real-only standard errors within which the pilot must fall in every coordinate.
pub(super) const PILOT_RANGE: f64 = 3.0;

/// The most the diagonal of J_r⁻¹ (the real block's inverse information per
/// coordinate) may grow from θ̂_real to the pilot. A pilot closer to separation than
/// the labeled fit itself has a nearly singular J_r, and the influence functions there
/// are blown up in that coordinate: in one politeness subset (66 labeled rows,
/// logistic) the hedge coordinate's J_r⁻¹ grew 27-fold, its selected cross weights by
/// as much, and the estimate's error from 1.8 to 17.6. Where the pilot helps (θ̂_real
/// near separation) the diagonal shrinks instead.
pub(super) const PILOT_INFORMATION_LOSS: f64 = 4.0;

/// Newton iterations of the coupled equation before giving up.
const MAX_ITERATIONS: usize = 100;

/// Step halvings per iteration when a full Newton step does not lower ‖F‖.
const MAX_HALVINGS: usize = 30;

/// Relative step size below which the root has converged.
const TOLERANCE: f64 = 1e-10;

/// Fall of ‖F‖² from the start below which the root has converged.
const RESIDUAL_DROP: f64 = 1e-28;

/// Where source m's moments are evaluated as θ moves: η_m(θ) = b_m + u_m ⊙ θ, with u_m
/// the source's units per unit of θ (see [`source_units`]) and b_m the offset.
#[derive(Debug, Clone)]
pub(super) struct SourceMap {
    pub offset: Array1<f64>,
    pub per_unit: Array1<f64>,
}

/// F(θ) = ψ̄_lab,r(θ) − Σ_m K_m [ψ̄_lab,m(η_m(θ)) − ψ̄_all,m(η_m(θ))], with the
/// sources' remaining parameters from the step-1 estimate.
struct Coupled<'a, 's, M: MomentModel> {
    stacked: &'a StackedMoments<'s, M>,
    step1: &'a Array1<f64>,
    /// K_m per source.
    gains: Vec<Array2<f64>>,
    maps: Vec<SourceMap>,
}

impl<M: MomentModel> Coupled<'_, '_, M> {
    /// The stacked parameter vector at which the blocks are evaluated.
    fn at(&self, theta: &Array1<f64>) -> Array1<f64> {
        let p = self.stacked.p();
        let mut beta = self.step1.clone();
        beta.slice_mut(s![..p]).assign(theta);
        for (i, map) in self.maps.iter().enumerate() {
            beta.slice_mut(s![(1 + i) * p..(2 + i) * p])
                .assign(&(&map.offset + &(&map.per_unit * theta)));
        }
        beta
    }

    /// F(θ) and, when asked, ∂F/∂θᵀ.
    fn value(
        &self,
        theta: &Array1<f64>,
        with_jacobian: bool,
    ) -> (Array1<f64>, Option<Array2<f64>>) {
        let beta = self.at(theta);
        // Moments affine in θ need no pass; otherwise the Jacobian, when asked for,
        // comes from the same pass as the moments.
        let g = if with_jacobian && !self.stacked.model().is_linear() {
            self.stacked.mean_moments_ahead(beta.view())
        } else {
            self.stacked.mean_moments(beta.view())
        };
        let jacobian = with_jacobian.then(|| self.derivative(&self.stacked.jacobian(beta.view())));
        (self.equation(&g), jacobian)
    }

    /// F from the stacked mean moments ḡ at `at(θ)`.
    fn equation(&self, g: &Array1<f64>) -> Array1<f64> {
        let (p, m) = (self.stacked.p(), self.stacked.n_sources());
        let on_labeled = self.stacked.labeled_scale();
        let lab = |b: usize| b * p..(b + 1) * p;
        let all = |i: usize| (1 + m + i) * p..(2 + m + i) * p;
        let mut f = g.slice(s![lab(0)]).to_owned() * on_labeled;
        for (i, gain) in self.gains.iter().enumerate() {
            let gap = g.slice(s![lab(1 + i)]).to_owned() * on_labeled - g.slice(s![all(i)]);
            f -= &gain.dot(&gap);
        }
        f
    }

    /// ∂F/∂θᵀ from the stacked Jacobian Ĝ at `at(θ)`.
    fn derivative(&self, jac: &Array2<f64>) -> Array2<f64> {
        let (p, m) = (self.stacked.p(), self.stacked.n_sources());
        let on_labeled = self.stacked.labeled_scale();
        let lab = |b: usize| b * p..(b + 1) * p;
        let all = |i: usize| (1 + m + i) * p..(2 + m + i) * p;
        let mut d = jac.slice(s![lab(0), 0..p]).to_owned() * on_labeled;
        for (i, gain) in self.gains.iter().enumerate() {
            let cols = (1 + i) * p..(2 + i) * p;
            let gap = jac.slice(s![lab(1 + i), cols.clone()]).to_owned() * on_labeled
                - jac.slice(s![all(i), cols]);
            let per_unit = self.maps[i].per_unit.view().insert_axis(ndarray::Axis(0));
            d -= &gain.dot(&(gap * per_unit));
        }
        d
    }

    /// The root of F's first-order expansion around the stacked point `beta1`, at
    /// which ḡ and Ĝ are `g1` and `jac1` (from an earlier pass: no pass over the rows):
    /// with ḡ(β) ≈ ḡ(β₁) + Ĝ(β − β₁) and β = `at(θ)` affine in θ, F is affine too and
    /// its root θ₀ − D⁻¹F(θ₀) the same from every θ₀. `None` if D is singular.
    fn linearised_root(
        &self,
        beta1: &Array1<f64>,
        (g1, jac1): (&Array1<f64>, &Array2<f64>),
    ) -> Option<Array1<f64>> {
        let theta = beta1.slice(s![..self.stacked.p()]).to_owned();
        let g = g1 + &jac1.dot(&(self.at(&theta) - beta1));
        let step = inverse(self.derivative(jac1).view())?.dot(&self.equation(&g));
        let root = theta - step;
        root.iter().all(|v| v.is_finite()).then_some(root)
    }

    /// The root from `start` by Newton's method that keeps its Jacobian while it works:
    /// a step with the last ∂F/∂θ is kept when it at least halves ‖F‖ (one pass for the
    /// moments alone); otherwise ∂F/∂θ is recomputed and the Newton step halved until
    /// ‖F‖ falls. Moments affine in θ take one Newton step. `None` if it does not
    /// converge or leaves the finite numbers.
    ///
    /// Steps are judged per coordinate against |θ_j| + s_j, with `spread` s the real-only
    /// standard errors: a scale that follows the units of each coefficient, so that the
    /// root is equivariant to rescaling a covariate or the outcome. On convergence F is
    /// known at the last point, so one more step with the Jacobian at hand is taken
    /// there without a pass: it shrinks the error left by the rate of the last steps.
    fn solve(
        &self,
        start: &Array1<f64>,
        tolerance: f64,
        spread: &Array1<f64>,
    ) -> Option<Array1<f64>> {
        // Whether every |step_j| · factor is at most `bound` · (|θ_j| + s_j).
        let within = |step: &Array1<f64>, theta: &Array1<f64>, factor: f64, bound: f64| {
            (0..step.len()).all(|j| step[j].abs() * factor <= bound * (theta[j].abs() + spread[j]))
        };
        let mut theta = start.clone();
        let (mut f, jacobian) = self.value(&theta, true);
        let mut inverse_jacobian = inverse(jacobian?.view())?;
        // Moments affine in θ: one Newton step is the root (no pass to confirm it).
        if self.stacked.model().is_linear() {
            let root = &theta - &inverse_jacobian.dot(&f);
            return root.iter().all(|v| v.is_finite()).then_some(root);
        }
        // ‖F‖ measured in units of θ: the Newton step of the first Jacobian over the
        // spread, free of the units of the moments.
        let first = inverse_jacobian.clone();
        let merit = |f: &Array1<f64>| {
            let z = first.dot(f) / spread;
            z.dot(&z)
        };
        let initial = merit(&f);
        let mut fresh = true;
        for _ in 0..MAX_ITERATIONS {
            let step = inverse_jacobian.dot(&f);
            let norm = merit(&f);
            if !fresh {
                let next = &theta - &step;
                let f_next = self.value(&next, false).0;
                let ratio = (merit(&f_next) / norm).sqrt();
                if next.iter().all(|v| v.is_finite()) && ratio <= 0.5 {
                    // Linear convergence at rate `ratio`: the error left is about
                    // |step| · ratio / (1 − ratio).
                    theta = next;
                    f = f_next;
                    if within(&step, &theta, ratio / (1.0 - ratio), tolerance)
                        || merit(&f) <= RESIDUAL_DROP * initial
                    {
                        return Some(finished(&theta, &inverse_jacobian, &f));
                    }
                    continue;
                }
                let (_, jacobian) = self.value(&theta, true);
                inverse_jacobian = inverse(jacobian?.view())?;
                fresh = true;
                continue;
            }
            let (scale, next, f_next) = self.damped(&theta, &step, norm, &merit);
            if !next.iter().all(|v| v.is_finite()) {
                return None;
            }
            theta = next;
            f = f_next;
            fresh = false;
            // Converged: a negligible step; a full Newton step small enough that the
            // error left, of the order of its square, is negligible; or F down to
            // rounding.
            let quadratic = scale == 1.0 && within(&step, &theta, 1.0, tolerance.sqrt());
            if within(&step, &theta, scale, tolerance)
                || quadratic
                || merit(&f) <= RESIDUAL_DROP * initial
            {
                return Some(finished(&theta, &inverse_jacobian, &f));
            }
        }
        None
    }

    /// θ − s·step with s halved from 1 until the merit is at most `norm` (at most
    /// `MAX_HALVINGS` times): (s, θ − s·step, F there).
    fn damped(
        &self,
        theta: &Array1<f64>,
        step: &Array1<f64>,
        norm: f64,
        merit: &dyn Fn(&Array1<f64>) -> f64,
    ) -> (f64, Array1<f64>, Array1<f64>) {
        let mut scale = 1.0;
        for _ in 0..MAX_HALVINGS {
            let next = theta - &(step * scale);
            let f_next = self.value(&next, false).0;
            if merit(&f_next) <= norm {
                return (scale, next, f_next);
            }
            scale /= 2.0;
        }
        let next = theta - &(step * scale);
        let f_next = self.value(&next, false).0;
        (scale, next, f_next)
    }
}

/// θ − (∂F/∂θ)⁻¹F(θ), the last step of a converged root (see [`Coupled::solve`]), or
/// θ itself if that step leaves the finite numbers.
fn finished(theta: &Array1<f64>, inverse_jacobian: &Array2<f64>, f: &Array1<f64>) -> Array1<f64> {
    let polished = theta - &inverse_jacobian.dot(f);
    if polished.iter().all(|v| v.is_finite()) {
        polished
    } else {
        theta.clone()
    }
}

/// The pilot's weight on each source: proportional to 1/v_m, with v_m the labeled
/// rectifier's second moment relative to the real moments', summed over coordinates,
/// v_m = Σ_j Σ_lab (ψ_r,j − ψ_m,j)² / Σ_lab ψ_r,j², all at θ̂_real (free of units; one
/// pass over the labeled rows). A source that tracks the real outcome closely gets
/// most of the weight: averaging a strong proxy with a biased synthetic source made a
/// worse pilot than the proxy alone. `None` if some v_m is not a positive number.
fn rectifier_weights<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    units: &[Array1<f64>],
) -> Option<Vec<f64>> {
    let p = stacked.p();
    let model = stacked.model();
    let theta = step1.slice(s![..p]);
    let real = stacked.real_rows();
    let sources = stacked.data().sources();
    // Each source at θ in its own units, u ⊙ θ; its moments times u are in θ's units.
    let at: Vec<Array1<f64>> = units.iter().map(|u| u * &theta).collect();
    let ranges = chunk_ranges(real.len(), DEFAULT_CHUNK_ROWS);
    // Per chunk: Σ ψ_r,j² and, per source, Σ (ψ_r,j − u_j ψ_m,j)², coordinate by coordinate.
    let parts = map_ordered(&ranges, |range| {
        let mut psi_real = Array2::zeros((range.len(), p));
        model.moments(theta, real.slice(range.clone()), psi_real.view_mut());
        let mut sums = vec![column_sums(psi_real.view(), true)];
        let mut gap = Array2::zeros((range.len(), p));
        for ((source, per_unit), at) in sources.iter().zip(units).zip(&at) {
            model.moments(
                at.view(),
                source.labeled().slice(range.clone()),
                gap.view_mut(),
            );
            gap *= &per_unit.view().insert_axis(ndarray::Axis(0));
            gap -= &psi_real;
            sums.push(column_sums(gap.view(), true));
        }
        sums
    });
    let total = |b: usize| {
        parts
            .iter()
            .fold(Array1::<f64>::zeros(p), |sum, part| sum + &part[b])
    };
    let scale = total(0);
    let mut inverse_v = Vec::new();
    for b in 1..=sources.len() {
        let v: f64 = (total(b) / &scale).sum();
        if !(v.is_finite() && v > 0.0) {
            return None;
        }
        inverse_v.push(1.0 / v);
    }
    let total: f64 = inverse_v.iter().sum();
    Some(inverse_v.iter().map(|w| w / total).collect())
}

/// The pilot θ̃: the root of the coupled equation with K_m = w_m I (see
/// [`rectifier_weights`]; equal weights if they are undefined) and δ_m = 0, from the
/// root of its expansion at step 1 when that is within [`PILOT_RANGE`] real-only
/// standard errors of θ̂_real (see [`Coupled::linearised_root`]), else from
/// θ̂_real, which is usually a few standard errors from it, or, if that fails, from the
/// sources' mean step-1 estimate (farther when a source's parameters differ from θ, as
/// a thresholded proxy's do: at T = 10⁶ that start cost 27 passes over the rows instead
/// of 3). `None` if neither converges.
pub(super) fn pilot<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    step1: &Array1<f64>,
    se: &Array1<f64>,
    units: &[Array1<f64>],
) -> Option<Array1<f64>> {
    let (p, m) = (stacked.p(), stacked.n_sources());
    let weights =
        rectifier_weights(stacked, step1, units).unwrap_or_else(|| vec![1.0 / m as f64; m]);
    // Source m at u_m ⊙ θ, its moments brought to θ's units by K_m = w_m diag(u_m).
    let equation = Coupled {
        stacked,
        step1,
        gains: weights
            .iter()
            .zip(units)
            .map(|(&w, u)| Array2::from_diag(&(u * w)))
            .collect(),
        maps: units
            .iter()
            .map(|u| SourceMap {
                offset: Array1::zeros(p),
                per_unit: u.clone(),
            })
            .collect(),
    };
    let from_real = step1.slice(s![..p]).to_owned();
    // The root of the equation's expansion at step 1, from the step-1 pass's sums when
    // they are at hand (no pass): a start usually much closer to θ̃ than θ̂_real, since
    // the sources' terms are differences of labeled and all-rows moments, whose
    // curvatures differ only by sampling noise. Kept within the pilot's range.
    let expanded = (!stacked.model().is_linear())
        .then(|| stacked.recent_mean_and_jacobian(step1.view()))
        .flatten()
        .and_then(|(g, jac)| equation.linearised_root(step1, (&g, &jac)))
        .filter(|start| (0..p).all(|j| (start[j] - from_real[j]).abs() <= PILOT_RANGE * se[j]));
    expanded
        .and_then(|start| equation.solve(&start, TOLERANCE, se))
        .or_else(|| equation.solve(&from_real, TOLERANCE, se))
        .or_else(|| {
            let mut sources_mean = Array1::zeros(p);
            for (i, u) in units.iter().enumerate() {
                sources_mean += &(&step1.slice(s![(1 + i) * p..(2 + i) * p]) / u);
            }
            sources_mean /= m as f64;
            equation.solve(&sources_mean, TOLERANCE, se)
        })
}

/// Each source's units per unit of θ, coordinate by coordinate: u_m,j =
/// √(J_r,jj / J_m,jj) with J_r and J_m the real and source-m Jacobians summed over the
/// labeled rows at zero parameters. For models whose Jacobian is free of the outcome
/// (least squares, logistic, Poisson, linear IV) J(0) is a second moment of the
/// covariates: u_m = 1 exactly when the source shares the real covariates, and u_m,j =
/// 1/c when its covariate j is c times the real one (then η_m,j = θ_j/c). Expressing
/// the sources' parameters in θ's units through u_m makes the selected estimator free
/// of each source's covariate units. A coordinate whose ratio is not a positive
/// number keeps u = 1.
pub(super) fn source_units<M: MomentModel>(stacked: &StackedMoments<'_, M>) -> Vec<Array1<f64>> {
    let (real, sources) = stacked
        .jacobians_at_zero()
        .split_first()
        .expect("the real block's Jacobian comes first");
    sources
        .iter()
        .map(|source| match stacked.model().jacobian_reads_outcome() {
            false => crate::units::from_jacobians(real, source),
            true => Array1::ones(real.ncols()),
        })
        .collect()
}

/// K_m = J_r Λ_m J_lab,m⁻¹ for each source: the cross weights Λ (p × pM, influence
/// units) in moment units, from J_r and the block-diagonal labeled J_lab⁻¹ (pM × pM).
pub(super) fn gains(
    j_real: &Array2<f64>,
    lambda: &Array2<f64>,
    j_lab_inv: &Array2<f64>,
) -> Vec<Array2<f64>> {
    let p = j_real.nrows();
    (0..lambda.ncols() / p)
        .map(|i| {
            let block = i * p..(i + 1) * p;
            j_real
                .dot(&lambda.slice(s![.., block.clone()]))
                .dot(&j_lab_inv.slice(s![block.clone(), block]))
        })
        .collect()
}

/// The root of the coupled equation with the gains K_m (see [`gains`]) and δ_m =
/// η̂_m − θ̃ at `center` = (θ̃, η̂_1, …), from the linear form θ̂_real − ΛΔ̂
/// (`linear`), or from θ̃ if that fails. `None` if ∂F/∂θ is singular, the
/// equation does not converge, or the root is more than [`PILOT_RANGE`] real-only
/// standard errors (`se`) from the linear form in some coordinate: a nearly singular
/// ∂F/∂θ (a large weight on a source whose labeled and
/// all-rows Jacobians differ) throws the root out.
pub(super) fn corrected<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    center: &Array1<f64>,
    gains: Vec<Array2<f64>>,
    units: &[Array1<f64>],
    linear: &Array1<f64>,
    se: &Array1<f64>,
) -> Option<Array1<f64>> {
    let p = stacked.p();
    let theta = center.slice(s![..p]).to_owned();
    // η_m(θ) = η̂_m + u_m ⊙ (θ − θ̃).
    let maps = units
        .iter()
        .enumerate()
        .map(|(i, u)| SourceMap {
            offset: &center.slice(s![(1 + i) * p..(2 + i) * p]) - &(u * &theta),
            per_unit: u.clone(),
        })
        .collect();
    let equation = Coupled {
        stacked,
        step1: center,
        gains,
        maps,
    };
    // The linear form is the root to first order: Newton's method from there needs
    // fewer passes than from θ̃. From θ̃ if that fails.
    let root = equation
        .solve(linear, TOLERANCE, se)
        .or_else(|| equation.solve(&theta, TOLERANCE, se))?;
    let near = (0..p).all(|j| (root[j] - linear[j]).abs() <= PILOT_RANGE * se[j]);
    near.then_some(root)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{pilot, Coupled};
    use crate::baselines::{Lambda, PpiPlusPlus};
    use crate::engine::Chunking;
    use crate::models::Logistic;
    use crate::stacked::StackedMoments;
    use crate::DataSources;

    /// Logistic data, T = 400 with every fourth row labeled; the proxy flips 20% of the
    /// labels.
    fn logistic_with_proxy() -> DataSources {
        let t = 400;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let x = Array2::from_shape_fn((t, 2), |(_, j)| {
            if j == 0 {
                1.0
            } else {
                rng.random::<f64>() * 4.0 - 2.0
            }
        });
        let y: Array1<f64> = x
            .column(1)
            .iter()
            .map(|&v| {
                f64::from(u8::from(
                    rng.random::<f64>() < 1.0 / (1.0 + (-0.3 - v).exp()),
                ))
            })
            .collect();
        let proxy = y.mapv(|v| {
            if rng.random::<f64>() < 0.2 {
                1.0 - v
            } else {
                v
            }
        });
        let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
        let y_real = Array1::from_shape_fn(t, |i| if labeled[i] { y[i] } else { f64::NAN });
        DataSources::builder(&labeled)
            .real(&x, &y_real)
            .source("proxy", &x, &proxy)
            .build()
            .unwrap()
    }

    /// With one source sharing the covariates, the coupled equation with K = κI and
    /// δ = 0 is PPI++'s with λ = κ N / T (its all-rows mean is (nψ̄_lab + Nψ̄_unlab)/T),
    /// solved here by an independent implementation.
    #[test]
    fn one_source_with_a_scalar_gain_is_ppi_plus_plus() {
        let data = logistic_with_proxy();
        let (t, n) = (data.n_rows() as f64, data.n_labeled() as f64);
        let stacked = StackedMoments::new(&Logistic, &data, false, &Chunking::default()).unwrap();
        let start = Array1::zeros(4);
        for lambda in [0.3, 0.8] {
            let ppi = PpiPlusPlus::new(Logistic, "proxy")
                .lambda(Lambda::Fixed(lambda))
                .fit(&data)
                .unwrap();
            let root = Coupled {
                stacked: &stacked,
                step1: &start,
                gains: vec![Array2::eye(2) * (lambda * t / (t - n))],
                maps: vec![super::SourceMap {
                    offset: Array1::zeros(2),
                    per_unit: Array1::ones(2),
                }],
            }
            .solve(&Array1::zeros(2), super::TOLERANCE, &Array1::ones(2))
            .unwrap();
            let expected = ppi.estimate().theta();
            for j in 0..2 {
                assert!((root[j] - expected[j]).abs() < 1e-8, "{root} vs {expected}");
            }
        }
        // The pilot with one source is plain PPI on all rows, λ = N/T.
        let plain = PpiPlusPlus::new(Logistic, "proxy")
            .lambda(Lambda::Fixed((t - n) / t))
            .fit(&data)
            .unwrap();
        let pilot = pilot(&stacked, &start, &Array1::ones(2), &[Array1::ones(2)]).unwrap();
        for j in 0..2 {
            assert!((pilot[j] - plain.estimate().theta()[j]).abs() < 1e-8);
        }
    }
}
