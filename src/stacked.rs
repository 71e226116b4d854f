//! The stacked moment vector of the two-step estimator and its derivatives.
//!
//! For rows t = 1..T with label weight w_t (S_t, or S_t/π_t with known labeling
//! probabilities), sources m = 1..M, and a model with k moments for p parameters,
//!
//! g_t(θ, η) = [w_t ψ(θ; real_t); w_t ψ(η_1; aux¹_t) … w_t ψ(η_M; auxᴹ_t);
//!              ψ(η_1; aux¹_t) … ψ(η_M; auxᴹ_t)],
//!
//! of dimension K = k(1 + 2M) for Q = p(1 + M) parameters. Only k(1 + M) of those
//! columns are distinct per row, so Ω̂ = (1/T) Σ g_t g_tᵀ is assembled from two small
//! cross-products: one over the n labeled rows of the k(1 + M) labeled columns and one
//! over all T rows of the kM auxiliary columns. Ĝ = ∂ḡ/∂(θ, η)ᵀ is block-sparse: each
//! block of moments depends on one parameter block only.

use std::sync::{Mutex, OnceLock};

use ndarray::{s, Array1, Array2, ArrayView1};

use crate::data::DataSources;
use crate::engine::{block_sums, Chunking, Layout, MomentSums, Needs, DEFAULT_CHUNK_ROWS};
use crate::error::{Error, Result};
use crate::moment::{check_shapes, MomentModel};
use crate::passes::{source_jacobian_sums, source_moment_sums, stacked_pass};
use crate::rows::Rows;

/// The stacked problem: a model, the data in chunks, and the label weights.
pub(crate) struct StackedMoments<'a, M: MomentModel + ?Sized> {
    model: &'a M,
    data: &'a DataSources,
    layout: Layout,
    /// Weights on the labeled rows (the observation weight over π_t), `None` when all
    /// are 1.
    label_weights: Option<Array1<f64>>,
    /// π_t on the labeled rows, in their order, when labeling probabilities enter the
    /// labeled rows' weights.
    labeled_probabilities: Option<Array1<f64>>,
    /// Row ranges of the chunks.
    ranges: Vec<std::ops::Range<usize>>,
    /// Ĝ once computed, for moments that are affine in the parameters (constant Ĝ).
    linear_jacobian: OnceLock<Array2<f64>>,
    /// Each block's Jacobian at zero on the labeled rows (see
    /// [`Self::jacobians_at_zero`]).
    jacobians_at_zero: OnceLock<Vec<Array2<f64>>>,
    /// Each moment's units, for comparing their variances (see [`Self::moment_units`]).
    moment_units: OnceLock<Array1<f64>>,
    /// The last passes' sums by parameter value: the J statistic, the covariance and
    /// the step-2 line search ask for the same point more than once.
    recent: Mutex<Vec<(Array1<f64>, MomentSums)>>,
}

impl<'a, M: MomentModel + ?Sized> StackedMoments<'a, M> {
    /// # Errors
    /// [`Error::ModelDimension`] when the model's shapes are wrong on some block, or
    /// differ between blocks; [`Error::InvalidConfig`] for an invalid chunking.
    pub(crate) fn new(
        model: &'a M,
        data: &'a DataSources,
        use_probabilities: bool,
        chunking: &Chunking,
    ) -> Result<Self> {
        let (k, p) = check_shapes(model, data.real_rows())?;
        for src in data.sources() {
            let shape = check_shapes(model, src.rows())?;
            if shape != (k, p) {
                return Err(Error::ModelDimension {
                    model: model.name().to_string(),
                    what: "moments × parameters of a source",
                    expected: format!("{k} × {p} (as on the real rows)"),
                    found: format!("{} × {} on `{}`", shape.0, shape.1, src.name()),
                });
            }
        }
        // Labeled rows carry w_t/π_t (observation weight over labeling probability),
        // every row of the all-rows blocks w_t.
        // Probabilities equal on every labeled row say the labels are missing at
        // random: 1/π is then a constant factor that the weighting absorbs.
        let pi = data
            .labeling_probabilities()
            .filter(|_| use_probabilities && data.labeled_unequally());
        let w = data.weights();
        let label_weights = (pi.is_some() || w.is_some()).then(|| {
            data.labeled_rows()
                .iter()
                .map(|&t| w.map_or(1.0, |w| w[t]) / pi.map_or(1.0, |pi| pi[t]))
                .collect()
        });
        check_fixed_effects_weighting(data, use_probabilities)?;
        if let Some(clusters) = data.clusters_in_moments().filter(|&g| g < 2) {
            return Err(Error::InvalidConfig {
                parameter: "clusters",
                reason: format!(
                    "{clusters} cluster(s) with rows in the moments: a cluster-robust covariance needs at least two"
                ),
            });
        }
        let ranges = chunking
            .ranges(data.n_rows())
            .ok_or_else(|| Error::InvalidConfig {
                parameter: "chunking",
                reason: format!("{chunking:?} does not split {} rows", data.n_rows()),
            })?;
        Ok(Self {
            model,
            data,
            layout: Layout {
                k,
                p,
                sources: data.n_sources(),
            },
            label_weights,
            labeled_probabilities: pi
                .map(|pi| data.labeled_rows().iter().map(|&t| pi[t]).collect()),
            ranges,
            linear_jacobian: OnceLock::new(),
            jacobians_at_zero: OnceLock::new(),
            moment_units: OnceLock::new(),
            recent: Mutex::new(Vec::new()),
        })
    }

    /// Parameters per block.
    pub(crate) fn p(&self) -> usize {
        self.layout.p
    }
    /// Moments per block.
    pub(crate) fn k(&self) -> usize {
        self.layout.k
    }
    pub(crate) fn n_sources(&self) -> usize {
        self.data.n_sources()
    }
    /// Number of stacked moments K = k(1 + 2M).
    pub(crate) fn n_moments(&self) -> usize {
        self.layout.n_moments()
    }
    /// Number of parameters Q = p(1 + M).
    pub(crate) fn n_params(&self) -> usize {
        self.layout.n_params()
    }
    fn n_rows(&self) -> f64 {
        self.data.n_rows() as f64
    }
    /// Whether the labeled rows are weighted by 1/π_t (labeling not at random).
    pub(crate) fn uses_probabilities(&self) -> bool {
        self.labeled_probabilities.is_some()
    }
    /// π_t on the labeled rows, in their order (`None` when labeling is at random).
    pub(crate) fn labeled_probabilities(&self) -> Option<ArrayView1<'_, f64>> {
        self.labeled_probabilities.as_ref().map(|pi| pi.view())
    }
    /// T / Σ_lab 1/π_t (T/n when labeling is at random): the factor that turns a mean
    /// of the labeled blocks over all T rows into a mean over the rows the labeled ones
    /// stand for (Hájek's ratio form of the inverse-probability-weighted mean).
    pub(crate) fn labeled_scale(&self) -> f64 {
        let stand_for = self
            .labeled_probabilities
            .as_ref()
            .map_or(self.data.n_labeled() as f64, |pi| pi.mapv(f64::recip).sum());
        self.n_rows() / stand_for
    }
    pub(crate) fn label_weights(&self) -> Option<ArrayView1<'_, f64>> {
        self.label_weights.as_ref().map(|w| w.view())
    }
    pub(crate) fn model(&self) -> &M {
        self.model
    }
    pub(crate) fn data(&self) -> &DataSources {
        self.data
    }

    /// The labeled real rows, which θ is fitted on.
    pub(crate) fn real_rows(&self) -> Rows<'_> {
        self.data.real_rows()
    }

    /// Each block's Jacobian at zero parameters, summed over the labeled rows with the
    /// label weights: the real block's, then each source's. For index models (least
    /// squares, logistic, Poisson, linear IV) a second moment of the covariates, free
    /// of the outcomes: what the units of the covariates are read from.
    pub(crate) fn jacobians_at_zero(&self) -> &[Array2<f64>] {
        self.jacobians_at_zero.get_or_init(|| {
            let zero = Array1::zeros(self.p());
            let weights = self.label_weights();
            let blocks: Vec<Rows<'_>> = std::iter::once(self.real_rows())
                .chain(self.data.sources().iter().map(|s| s.labeled()))
                .collect();
            crate::chunks::map_ordered(&blocks, |rows| {
                self.model.jacobian(zero.view(), *rows, weights)
            })
        })
    }

    /// A scale s_j per stacked moment that puts its variance in units free of the
    /// covariates': the row scales of each block's Jacobian at zero parameters on the
    /// labeled rows ([`Self::jacobians_at_zero`]), equilibrated on both sides
    /// ([`crate::linalg::equilibrate`]), the labeled and all-rows copies of a source
    /// sharing their block's. For least squares that Jacobian is XᵀX, and
    /// s_j ∝ 1/scale(x_j): a covariate 10⁻¹² times the others' scale leaves s_j² Ω̂_jj
    /// comparable with the rest. A block whose Jacobian has a zero row or column keeps
    /// s = 1.
    pub(crate) fn moment_units(&self) -> ArrayView1<'_, f64> {
        self.moment_units
            .get_or_init(|| {
                let blocks: Vec<Array1<f64>> = self
                    .jacobians_at_zero()
                    .iter()
                    .map(|jacobian| {
                        crate::linalg::equilibrate(jacobian.view())
                            .map_or_else(|| Array1::ones(self.k()), |(rows, _)| rows)
                    })
                    .collect();
                // Real, each source's labeled copy, each source's all-rows copy.
                let (real, sources) = blocks.split_first().expect("the real block comes first");
                let copies = sources.iter().chain(sources.iter());
                Array1::from_iter(real.iter().chain(copies.flatten()).copied())
            })
            .view()
    }

    /// Source m's name (zero-based), for messages.
    pub(crate) fn source_name(&self, m: usize) -> &str {
        self.data.sources()[m].name()
    }

    /// One pass over the chunks at `params` (or the sums of an earlier pass at the same
    /// point that has every part asked for).
    pub(crate) fn sums(&self, params: ArrayView1<'_, f64>, needs: Needs<'_>) -> MomentSums {
        let covers = |s: &MomentSums| {
            (!needs.jacobian || s.jacobian().is_some())
                && (!needs.omega || s.omega().is_some())
                && needs.contraction.is_none()
        };
        if let Ok(recent) = self.recent.lock() {
            if let Some((_, sums)) = recent.iter().find(|(p, s)| p.view() == params && covers(s)) {
                return sums.clone();
            }
        }
        let sums = stacked_pass(
            self.model,
            self.data,
            (self.layout, &self.ranges),
            (self.label_weights(), self.uses_probabilities()),
            params,
            needs,
        );
        if needs.contraction.is_none() {
            if let Ok(mut recent) = self.recent.lock() {
                recent.push((params.to_owned(), sums.clone()));
                if recent.len() > 3 {
                    recent.remove(0);
                }
            }
        }
        sums
    }

    /// ḡ and Ĝ at `params` when a recent pass summed both; `None` otherwise (no pass
    /// over the rows is made).
    pub(crate) fn recent_mean_and_jacobian(
        &self,
        params: ArrayView1<'_, f64>,
    ) -> Option<(Array1<f64>, Array2<f64>)> {
        let recent = self.recent.lock().ok()?;
        let (_, sums) = recent
            .iter()
            .find(|(p, s)| p.view() == params && s.jacobian().is_some())?;
        Some((sums.mean(), sums.jacobian()?.to_owned() / self.n_rows()))
    }

    /// ḡ = (1/T) Σ_t g_t; for affine moments, ḡ(β₀) + Ĝ(β − β₀) from an earlier pass
    /// at β₀ when there is one (exact, no pass over the rows).
    pub(crate) fn mean_moments(&self, params: ArrayView1<'_, f64>) -> Array1<f64> {
        if self.model.is_linear() {
            if let Some(g) = self.linear_jacobian.get() {
                let earlier = self
                    .recent
                    .lock()
                    .ok()
                    .and_then(|r| r.last().map(|(b, s)| (b.clone(), s.mean())));
                if let Some((b0, mean0)) = earlier {
                    return mean0 + g.dot(&(&params - &b0));
                }
            }
        }
        self.sums(params, Needs::default()).mean()
    }

    /// ḡ for Gauss–Newton, whose next request at an accepted point is Ĝ: for moments
    /// that are not affine the same pass sums Ĝ too.
    pub(crate) fn mean_moments_ahead(&self, params: ArrayView1<'_, f64>) -> Array1<f64> {
        let needs = Needs {
            jacobian: !self.model.is_linear(),
            ..Needs::default()
        };
        self.sums(params, needs).mean()
    }

    /// For moments affine in the parameters, Ĝ from Jacobians already summed (no pass):
    /// each block's labeled rows' from [`Self::jacobians_at_zero`] (constant) and each
    /// source's all-rows one from its step-1 fit (`all_rows`, sums over every row with
    /// the observation weights, one per source). Ignored for other moments.
    pub(crate) fn know_linear_jacobian(&self, all_rows: &[Array2<f64>]) {
        let Layout { k, p, sources: m } = self.layout;
        if !self.model.is_linear() || all_rows.len() != m {
            return;
        }
        let labeled = self.jacobians_at_zero();
        let mut jacobian = Array2::zeros((self.n_moments(), self.n_params()));
        jacobian.slice_mut(s![..k, ..p]).assign(&labeled[0]);
        for (i, all) in all_rows.iter().enumerate() {
            let cols = (1 + i) * p..(2 + i) * p;
            jacobian
                .slice_mut(s![(1 + i) * k..(2 + i) * k, cols.clone()])
                .assign(&labeled[1 + i]);
            jacobian
                .slice_mut(s![(1 + m + i) * k..(2 + m + i) * k, cols])
                .assign(all);
        }
        let _ = self.linear_jacobian.set(jacobian / self.n_rows());
    }

    /// Ω̂ = (1/T) Σ_t g_t g_tᵀ (uncentered). The same pass sums Ĝ, which step 2 and the
    /// covariance ask for next at this point, unless it is known (affine moments).
    pub(crate) fn omega(&self, params: ArrayView1<'_, f64>) -> Array2<f64> {
        let known = self.model.is_linear() && self.linear_jacobian.get().is_some();
        let sums = self.sums(
            params,
            Needs {
                omega: true,
                jacobian: !known,
                ..Needs::default()
            },
        );
        if self.model.is_linear() {
            if let Some(j) = sums.jacobian() {
                let _ = self.linear_jacobian.set(j.to_owned() / self.n_rows());
            }
        }
        sums.omega().map(|o| o.to_owned()).unwrap_or_default() / self.n_rows()
    }

    /// Each row's share of K ḡ at `params`, K g_t / T (T × d for `map` K of d × K
    /// moments), in row order; `None` where an engine sums the rows.
    pub(crate) fn mapped_rows(
        &self,
        params: ArrayView1<'_, f64>,
        map: ndarray::ArrayView2<'_, f64>,
    ) -> Option<Array2<f64>> {
        crate::passes::stacked_rows_mapped(
            self.model,
            self.data,
            (self.layout, &self.ranges),
            self.label_weights(),
            (params, map),
        )
        .map(|rows| rows / self.n_rows())
    }

    /// Ĝ = ∂ḡ/∂(θ, η)ᵀ (K × Q), block-sparse; computed once for affine moments.
    pub(crate) fn jacobian(&self, params: ArrayView1<'_, f64>) -> Array2<f64> {
        let compute = || {
            // An earlier pass at this point (the Ω̂ pass) may have summed it already.
            let sums = self.sums(
                params,
                Needs {
                    jacobian: true,
                    ..Needs::default()
                },
            );
            sums.jacobian().map(|j| j.to_owned()).unwrap_or_default() / self.n_rows()
        };
        if self.model.is_linear() {
            self.linear_jacobian.get_or_init(compute).clone()
        } else {
            compute()
        }
    }

    /// (∂Ω̂/∂β_j) v for every parameter j, as the columns of a K × Q matrix, at `params`.
    ///
    /// With E_j = ∂g/∂β_j, ∂Ω̂/∂β_j = (E_jᵀG + GᵀE_j)/T, so (∂Ω̂/∂β_j) v =
    /// (Σ_t (∂g_t/∂β_j) u_t + Σ_t g_t s_tj)/T with u_t = g_tᵀv and s_tj = (∂g_t/∂β_j)ᵀv:
    /// one pass, no T × K matrix.
    pub(crate) fn omega_derivatives_times(
        &self,
        params: ArrayView1<'_, f64>,
        v: ArrayView1<'_, f64>,
    ) -> Array2<f64> {
        let sums = self.sums(
            params,
            Needs {
                contraction: Some(v),
                ..Needs::default()
            },
        );
        sums.contraction().map(|c| c.to_owned()).unwrap_or_default() / self.n_rows()
    }

    /// The moments step 1 solves (indices into the K stacked moments): every moment for
    /// the identity step, else the real block and the all-rows blocks.
    pub(crate) fn step_one_moments(&self, identity: bool) -> Vec<usize> {
        let (k, m) = (self.k(), self.n_sources());
        (0..self.n_moments())
            .filter(|&i| identity || i < k || i >= (1 + m) * k)
            .collect()
    }

    /// The identity step 1 of a source block: the labeled-rows mean of its moments
    /// (weighted) stacked above the all-rows mean, (1/T) scaled.
    pub(crate) fn source_residual(&self, m: usize, beta: ArrayView1<'_, f64>) -> Array1<f64> {
        let src = &self.data.sources()[m];
        let sum = |rows, weights| {
            block_sums(
                self.model,
                rows,
                weights,
                beta,
                false,
                false,
                DEFAULT_CHUNK_ROWS,
            )
            .sum
        };
        let mut r = Array1::zeros(2 * self.k());
        r.slice_mut(s![..self.k()])
            .assign(&sum(src.labeled(), self.label_weights()));
        let all = source_moment_sums(self.model, self.data, m, (self.k(), beta));
        r.slice_mut(s![self.k()..]).assign(&all);
        r / self.n_rows()
    }

    /// ∂(source residual)/∂βᵀ, matching [`source_residual`](Self::source_residual).
    pub(crate) fn source_jacobian(&self, m: usize, beta: ArrayView1<'_, f64>) -> Array2<f64> {
        let src = &self.data.sources()[m];
        let mut j = Array2::zeros((2 * self.k(), self.p()));
        j.slice_mut(s![..self.k(), ..]).assign(&self.model.jacobian(
            beta,
            src.labeled(),
            self.label_weights(),
        ));
        let all = source_jacobian_sums(self.model, self.data, m, (self.k(), beta));
        j.slice_mut(s![self.k().., ..]).assign(&all);
        j / self.n_rows()
    }
}

/// Fixed effects are absorbed when the data are built, with the labeled rows weighted
/// by w_t/π_t: an estimator that ignores probabilities varying over the labeled rows
/// would fit a within transformation made for another weighting.
fn check_fixed_effects_weighting(data: &DataSources, use_probabilities: bool) -> Result<()> {
    let varying = data.labeled_unequally();
    if data.fixed_effects().is_some() && varying && !use_probabilities {
        return Err(Error::InvalidConfig {
            parameter: "use_labeling_probabilities",
            reason: "the fixed effects were absorbed with the labeled rows weighted by 1/π when the data were built; to ignore the labeling probabilities, build the data without them".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Logistic;
    use ndarray::{Array1, Array2};

    /// Clustered data for a logistic fit: an intercept and one covariate, a proxy and
    /// a synthetic source, clusters of 1–6 rows.
    fn clustered_logistic() -> DataSources {
        let t = 240;
        let x = Array2::from_shape_fn((t, 2), |(i, j)| {
            if j == 0 {
                1.0
            } else {
                ((i * 37 % 101) as f64 / 50.0 - 1.0) + 0.3 * ((i / 4) as f64).sin()
            }
        });
        let y = Array1::from_shape_fn(t, |i| ((i * 7 + i / 5) % 3 == 0) as u8 as f64);
        let proxy = Array1::from_shape_fn(t, |i| ((i * 11 + i / 3) % 4 != 0) as u8 as f64);
        let synth = Array1::from_shape_fn(t, |i| ((i * 5 + i / 6) % 3 != 1) as u8 as f64);
        let labeled: Vec<bool> = (0..t).map(|i| i % 3 != 1).collect();
        let ids: Vec<usize> = (0..t).map(|i| (i * i / 7) % 61).collect();
        DataSources::builder(&labeled)
            .real(&x, &y)
            .source("proxy", &x, &proxy)
            .source("synth", &x, &synth)
            .clusters(&ids)
            .build()
            .unwrap()
    }

    /// The clustered Windmeijer contraction is the derivative of the clustered Ω̂:
    /// (∂Ω̂/∂β_j) v against central differences of Ω̂(β) v.
    #[test]
    fn clustered_contraction_is_the_derivative_of_the_clustered_omega() {
        let data = clustered_logistic();
        for chunk_rows in [7, 4096] {
            let stacked =
                StackedMoments::new(&Logistic, &data, true, &Chunking::Rows(chunk_rows)).unwrap();
            let q = stacked.n_params();
            let k = stacked.n_moments();
            let params = Array1::from_shape_fn(q, |i| 0.3 - 0.17 * i as f64);
            let v = Array1::from_shape_fn(k, |i| ((i * 5 % 7) as f64 - 3.0) / 4.0);
            let got = stacked.omega_derivatives_times(params.view(), v.view());
            let h = 1e-5;
            for j in 0..q {
                let mut up = params.clone();
                up[j] += h;
                let mut down = params.clone();
                down[j] -= h;
                let diff =
                    (stacked.omega(up.view()) - stacked.omega(down.view())).dot(&v) / (2.0 * h);
                for i in 0..k {
                    let (a, b) = (got[[i, j]], diff[i]);
                    assert!(
                        (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                        "chunks of {chunk_rows}, [{i}, {j}]: {a} vs {b}"
                    );
                }
            }
        }
    }
}
