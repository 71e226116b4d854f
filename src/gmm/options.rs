//! The choices a [`TwoStepGmm`](super::TwoStepGmm) takes — covariance, weighting, step
//! one, cross weights, a singular weight matrix — and the description of the
//! estimator a fit used ([`FinalEstimator`]).

use crate::small_sample::SmallSample;
#[cfg(doc)]
use crate::{CrossChoice, Error, GmmFit, MomentModel, Note};

/// How the covariance of the two-step estimate is computed.
///
/// The default is [`Covariance::Windmeijer`]. The textbook asymptotic variance
/// ([`Covariance::Reestimated`], used by the method's paper and by statsmodels) treats
/// the estimated weight matrix as known and is too small when few rows are labeled:
/// with the crate's simulation design (OLS, sources proxy and synthetic), its 95%
/// intervals for the slope covered 93.4%, 92.9% and 93.0% at n = 300 of T = 3,000
/// (ρ = 0, 0.5, 0.9; 2,000 replications each), and 91.2–91.6% at n = 100 of T = 1,000.
/// Windmeijer's correction gave 94.2%, 93.7%, 94.5% and 93.4–94.8% with intervals
/// 3–4% (n = 300) and 8–13% (n = 100) wider; asymptotically the two agree (the
/// correction is O(1/T)). Choose [`Covariance::Reestimated`] to reproduce
/// statsmodels or the paper's numbers exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Covariance {
    /// (ĜᵀΩ̂_f⁻¹Ĝ)⁻¹/T with Ω̂_f re-estimated (uncentered) at the final estimate: the
    /// statsmodels convention.
    Reestimated,
    /// (ĜᵀW₂Ĝ)⁻¹/T with the step-2 weight W₂ = Ω̂(step 1)⁻¹.
    StepTwo,
    /// The sandwich (ĜᵀW₂Ĝ)⁻¹ ĜᵀW₂Ω̂_fW₂Ĝ (ĜᵀW₂Ĝ)⁻¹ / T with the step-2 weight and Ω̂_f
    /// re-estimated at the final estimate: linearmodels' `IVGMM` robust covariance.
    Sandwich,
    /// Windmeijer's (2005) finite-sample correction, which adds the variability of the
    /// step-1 estimate inside W₂: V_c = V₂ + D V₂ + V₂ Dᵀ + D V₁ Dᵀ, with V₂ the
    /// [`StepTwo`](Covariance::StepTwo) covariance, V₁ the sandwich covariance of the
    /// step-1 estimate, and D = ∂β̂₂/∂β̂₁ from differentiating the step-2 first-order
    /// condition Ĝᵀ W(β̂₁) ḡ(β̂₂) = 0: column j is (ĜᵀW₂Ĝ)⁻¹ĜᵀW₂ (∂Ω̂/∂β_j) W₂ ḡ(β̂₂)
    /// (using ∂W/∂β_j = −W (∂Ω̂/∂β_j) W). ∂Ω̂/∂β_j comes from the model's per-row
    /// derivatives ([`MomentModel::moments_derivative`]), exact for the built-in models.
    #[default]
    Windmeijer,
}

/// What to do when Ω̂ is numerically singular.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SingularWeightPolicy {
    /// Use the eigen pseudo-inverse and report it in the fit.
    #[default]
    PseudoInverse,
    /// Return [`Error::SingularWeight`].
    Error,
}

/// How often the weight matrix is re-estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Weighting {
    /// Two-step GMM: W = Ω̂(step 1)⁻¹, once (the method's estimator).
    #[default]
    TwoStep,
    /// Iterated GMM (Hansen, Heaton, Yaron 1996): re-estimate W = Ω̂(β̂)⁻¹ at the latest
    /// estimate and re-solve, until the estimate moves by less than 10⁻⁸ standard errors
    /// (|RĜΔβ|√T), at most `max_rounds` times. The result does not depend on step 1;
    /// its covariance is (ĜᵀΩ̂(β̂)⁻¹Ĝ)⁻¹/T at the final estimate, whatever
    /// [`Covariance`] asks (Windmeijer's correction is for the two-step estimator).
    Iterated {
        /// Re-estimations of W allowed before [`Error::NotConverged`].
        max_rounds: usize,
    },
    /// Continuously updated GMM (Hansen, Heaton, Yaron 1996): β̂ minimises
    /// Q(β) = ḡ(β)ᵀ Ω̂(β)⁻¹ ḡ(β), the weight moving with β. Started at the two-step
    /// estimate; each iteration takes the exact gradient
    /// ∇Q = 2Ĝᵀv − [(∂Ω̂/∂β_j) v]_jᵀ v with v = Ω̂⁻¹ḡ (the second term from the same
    /// contraction as Windmeijer's correction) and the Gauss–Newton curvature 2ĜᵀΩ̂⁻¹Ĝ,
    /// with step halving on Q, until the step moves β by less than 10⁻⁸ standard
    /// errors or promises less decrease than Q resolves in floating point. Covariance
    /// (ĜᵀΩ̂(β̂)⁻¹Ĝ)⁻¹/T at the estimate; J = T Q(β̂).
    ContinuouslyUpdated {
        /// Iterations allowed before [`Error::NotConverged`].
        max_iters: usize,
    },
}

/// How step 1 estimates (θ, η) before the weight matrix is formed.
///
/// Step 1 only has to be consistent: the step-2 estimate is efficient either way, and
/// its distribution does not depend on this choice to first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StepOne {
    /// θ from the labeled real moments, each η_m from its source's moments over all
    /// rows: just-identified blocks, so step 1 (and with it Ω̂, θ̂ and every covariance)
    /// is free of the units of the covariates and outcomes.
    #[default]
    PerBlock,
    /// The identity weight on all stacked moments, the textbook first step of
    /// statsmodels' `GMM` and R's `gmm`: each η_m then fits its labeled and all-rows
    /// moments summed in squares, which depends on the units of the moments. Use it to
    /// reproduce those packages to the last digit.
    Identity,
}

/// Which cross weights between the real and the auxiliary moments the estimate uses.
///
/// The efficient weight W = Ω̂⁻¹ spends p · pM free cross coefficients (the real ×
/// auxiliary blocks of Ω̂) estimated from the n labeled rows; at low labeling rates that
/// noise costs more than it gains. Both choices are consistent whatever the sources
/// contain (see `docs/validation.md` for the comparison).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CrossWeights {
    /// The paper's two-step GMM: W = Ω̂(step 1)⁻¹ with Ω̂ unrestricted.
    Unrestricted,
    /// Per coefficient, the real-only estimate, one cross coefficient per source shared
    /// by every coordinate (PPI++'s λ, on each subset of the sources), one per source
    /// on the same coordinate, or the unrestricted weights: the simplest whose
    /// estimated mean squared error (from the labeled rows' residuals, each row's
    /// leverage accounted for) is within one standard error of the smallest, with a
    /// leave-one-out residual variance in the reported one. The cross coefficients are
    /// regressions on the labeled rows (with labeling probabilities, weighted by
    /// (1 − π_t)/π_t²). Falls
    /// back to [`Unrestricted`](Self::Unrestricted), with a [`Note`], for
    /// over-identified models and clustered rows. See [`CrossChoice`].
    #[default]
    Selected,
}

impl Covariance {
    /// The name used in summaries, notes and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Covariance::Reestimated => "re-estimated",
            Covariance::StepTwo => "step-2 weight",
            Covariance::Sandwich => "sandwich",
            Covariance::Windmeijer => "Windmeijer",
        }
    }
}

/// The estimator a [`GmmFit`] reports and how its covariance was computed: what was
/// used, which may differ from what was asked for (a [`Note`] then says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FinalEstimator {
    /// The selected cross weights ([`CrossWeights::Selected`]): θ̂ from the coupled
    /// equation (the linear form θ̂_real − ΛΔ̂ for moments affine in θ), its covariance
    /// from the selection's variance formula in this small-sample form.
    Selected {
        /// The leverage correction and quantiles of the covariance.
        small_sample: SmallSample,
    },
    /// The GMM estimate with the weight matrix Ω̂⁻¹ (two-step, iterated or continuously
    /// updated), with this covariance.
    Weighted {
        /// How the weight matrix was estimated.
        weighting: Weighting,
        /// The covariance reported.
        covariance: Covariance,
    },
}

impl FinalEstimator {
    /// The covariance of the weighted estimators; `None` for the selected weights,
    /// whose covariance is their own formula.
    pub fn covariance(self) -> Option<Covariance> {
        match self {
            FinalEstimator::Selected { .. } => None,
            FinalEstimator::Weighted { covariance, .. } => Some(covariance),
        }
    }

    /// A short description for summaries: `selected weights (HC2)`, `two-step GMM,
    /// Windmeijer`.
    pub fn describe(self) -> String {
        match self {
            FinalEstimator::Selected { small_sample } => {
                format!("selected weights ({})", small_sample.name())
            }
            FinalEstimator::Weighted {
                weighting,
                covariance,
            } => {
                let how = match weighting {
                    Weighting::TwoStep => "two-step GMM",
                    Weighting::Iterated { .. } => "iterated GMM",
                    Weighting::ContinuouslyUpdated { .. } => "CU-GMM",
                };
                format!("{how}, {}", covariance.name())
            }
        }
    }
}
