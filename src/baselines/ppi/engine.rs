//! The mixture's sums over the unlabeled rows when an engine sums the rows
//! ([`SumsEngine`](crate::SumsEngine)): from the blocks of the stacked pass, never a
//! row.
//!
//! A pass over the sources k = 1..K at η_k = U_k θ (each source's parameter in its
//! own units, [`InThetaUnits`]) sums the labeled blocks S_t ψ(η_k; source_k, t) and
//! the all-rows blocks ψ(η_k; source_k, t). On an unlabeled row S_t = 0, and S_t² = S_t,
//! so with a_k the all-rows block less the labeled one:
//!
//! Σ_unlab m = Σ_k w_k U_k a_k,  Σ_unlab ∂m/∂θᵀ = Σ_k w_k U_k (J_all,k − J_lab,k) U_k,
//! Σ_unlab m mᵀ = Σ_kl w_k w_l U_k (Ω_all,kl − Ω_lab,kl) U_l.
//!
//! For moments affine in θ the mixture along a line θ₀ + λd is u_t + λv_t, and the
//! Gram matrix at λ is quadratic in λ: three passes, at θ₀ and θ₀ ± d, give Σuuᵀ,
//! Σ(uvᵀ + vuᵀ) and Σvvᵀ ([`LineSums::from_points`]).

use ndarray::{s, Array1, ArrayView1};

use super::sums::{LineSums, MixtureSums};
use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::moment::MomentModel;
use crate::tier::{PassRequest, Streamed};
use crate::units::InThetaUnits;

/// The mixed sources on an engine's rows: the engine and its indices of the sources.
pub(super) struct EngineMixture<'a> {
    stream: &'a Streamed,
    sources: Vec<usize>,
    n_unlabeled: f64,
}

impl<'a> EngineMixture<'a> {
    /// The sources `names` of `data` on its engine; `Ok(None)` when no engine sums
    /// `data`'s rows.
    ///
    /// # Errors
    /// [`Error::NeedsInMemory`] with observation weights or clusters (the unlabeled
    /// rows' weights and clusters are the engine's, which it does not return);
    /// [`Error::MissingSource`] for an unknown name. Labeling probabilities are not
    /// asked for, as in memory: PPI++ assumes labeling at random and says so in a note.
    pub(super) fn on(
        data: &'a DataSources,
        names: &[&str],
        estimator: &str,
    ) -> Result<Option<Self>> {
        let Some(stream) = data.streamed().filter(|s| s.sums_engine().is_some()) else {
            return Ok(None);
        };
        let with = [
            (data.weights().is_some(), "observation weights"),
            (data.clusters().is_some(), "clusters"),
        ];
        if let Some((_, what)) = with.iter().find(|(given, _)| *given) {
            return Err(Error::NeedsInMemory {
                what: format!("{estimator} with {what} on an engine's rows"),
            });
        }
        let sources = names
            .iter()
            .map(|&name| {
                stream.index_of(name).ok_or_else(|| Error::MissingSource {
                    estimator: estimator.to_string(),
                    name: name.to_string(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(EngineMixture {
            stream,
            sources,
            n_unlabeled: (data.n_rows() - data.n_labeled()) as f64,
        }))
    }

    /// `result`, unless an engine's pass failed since the last check (its sums were
    /// then zeros): the engine's error instead.
    pub(super) fn checked<T>(&self, result: Result<T>) -> Result<T> {
        match self.stream.take_failure() {
            Some(e) => Err(e),
            None => result,
        }
    }

    /// [`MixtureSums`] of the unlabeled rows at θ, with Σ m mᵀ when `with_gram` (left
    /// zero otherwise).
    pub(super) fn sums<M: MomentModel + ?Sized>(
        &self,
        theta: ArrayView1<'_, f64>,
        shares: &[(f64, &InThetaUnits<'_, M>)],
        with_gram: bool,
    ) -> MixtureSums {
        self.pass(theta, shares, (true, with_gram))
    }

    /// [`MixtureSums`] at θ from one pass, with the Jacobian and Σ m mᵀ as asked (left
    /// zero otherwise).
    fn pass<M: MomentModel + ?Sized>(
        &self,
        theta: ArrayView1<'_, f64>,
        shares: &[(f64, &InThetaUnits<'_, M>)],
        (with_jacobian, with_gram): (bool, bool),
    ) -> MixtureSums {
        let (p, big_k) = (theta.len(), self.sources.len());
        let mut params = theta.to_vec();
        for (_, model) in shares {
            params.extend(model.own_params(theta).iter());
        }
        let request = PassRequest {
            sources: self.sources.clone(),
            params: Array1::from(params),
            jacobian: with_jacobian,
            omega: with_gram,
            squares: false,
            contraction: None,
            probabilities: false,
        };
        let pass = self.stream.engine_sums(p, &request);
        let labeled = |i: usize| (1 + i) * p..(2 + i) * p;
        let all = |i: usize| (1 + big_k + i) * p..(2 + big_k + i) * p;
        let mut out = MixtureSums::empty(p);
        out.count = self.n_unlabeled;
        let g = pass.moments();
        for (i, (share, model)) in shares.iter().enumerate() {
            let unlabeled = &g.slice(s![all(i)]) - &g.slice(s![labeled(i)]);
            out.sum.scaled_add(*share, &model.map_sum(unlabeled));
            if let Some(j) = pass.jacobian() {
                let cols = (1 + i) * p..(2 + i) * p;
                let unlabeled = &j.slice(s![all(i), cols.clone()]) - &j.slice(s![labeled(i), cols]);
                out.jacobian
                    .scaled_add(*share, &model.map_jacobian(unlabeled));
            }
        }
        if let Some(omega) = pass.omega() {
            for (i, (share_i, model_i)) in shares.iter().enumerate() {
                for (l, (share_l, model_l)) in shares.iter().enumerate() {
                    let cross =
                        &omega.slice(s![all(i), all(l)]) - &omega.slice(s![labeled(i), labeled(l)]);
                    let cross = model_l.map_columns(model_i.map_row_side(cross));
                    out.gram.scaled_add(share_i * share_l, &cross);
                }
            }
        }
        out
    }

    /// [`LineSums`] of the unlabeled rows along θ₀ + λd, for moments affine in θ:
    /// three passes, at θ₀ and θ₀ ± d, without Jacobians (constant along the line).
    pub(super) fn line<M: MomentModel + ?Sized>(
        &self,
        (base, direction): (ArrayView1<'_, f64>, ArrayView1<'_, f64>),
        shares: &[(f64, &InThetaUnits<'_, M>)],
    ) -> LineSums {
        let at = |step: f64| {
            let theta = &base + &(&direction * step);
            self.pass(theta.view(), shares, (false, true))
        };
        let (centre, plus, minus) = (at(0.0), at(1.0), at(-1.0));
        LineSums::from_points(
            self.n_unlabeled,
            [centre, plus, minus].map(|s| (s.sum, s.gram)),
        )
    }
}
