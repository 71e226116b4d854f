//! The weighted estimators: step 2 with the weight matrix Ω̂⁻¹ (two-step, iterated or
//! continuously updated), its covariance, and the weight matrices' inverses.

use ndarray::{Array1, Array2};

use super::fit::{StepReport, WeightReport};
use super::{
    covariance, Covariance, FinalEstimate, FinalEstimator, Record, SingularWeightPolicy,
    StepOneFit, TwoStepGmm, Weighting,
};
use crate::error::{Error, Result, Stage};
use crate::inference::{JTest, Note};
use crate::moment::MomentModel;
use crate::optim::{gauss_newton, Settings, Solution, Termination};
use crate::stacked::StackedMoments;
use crate::weight::Whitener;

/// Iterated weighting stops when the estimate moves by less than this many standard
/// errors.
const ITERATED_TOL: f64 = 1e-8;

impl<M: MomentModel> TwoStepGmm<M> {
    /// The GMM estimate with the weight Ω̂⁻¹ (two-step, iterated or continuously
    /// updated), its covariance as asked for, and its J test.
    pub(super) fn weighted_estimate(
        &self,
        stacked: &StackedMoments<'_, M>,
        step1: &StepOneFit,
        omega1: &Array2<f64>,
        weight: Whitener,
        record: &mut Record,
    ) -> Result<(FinalEstimate, JTest)> {
        let step2 = self.step_two_fit(stacked, &step1.params, &weight)?;
        let (step2, weight) = match self.weighting {
            Weighting::TwoStep => (step2, weight),
            Weighting::Iterated { max_rounds } => {
                self.iterate(stacked, step2, max_rounds, &mut record.notes)?
            }
            Weighting::ContinuouslyUpdated { max_iters } => {
                self.continuously_update(stacked, step2, max_iters, &mut record.notes)?
            }
        };
        let j_test = hansen_j(stacked, &weight, &step2.params);
        let (cov, used) =
            self.covariance_matrix(stacked, step1, omega1, &step2.params, &weight, record)?;
        let last = FinalEstimate {
            step_two: Some(StepReport {
                iterations: step2.iterations,
                termination: step2.termination,
            }),
            params: step2.params,
            cov,
            used: FinalEstimator::Weighted {
                weighting: self.weighting,
                covariance: used,
            },
            cross: None,
            influence_map: None,
        };
        Ok((last, j_test))
    }

    /// Step 2: minimise |Rḡ|² with the step-2 whitener from the step-1 estimate.
    fn step_two_fit(
        &self,
        stacked: &StackedMoments<'_, M>,
        step1: &Array1<f64>,
        weight: &Whitener,
    ) -> Result<Solution> {
        if stacked.n_moments() == stacked.n_params() {
            // Just identified: step 1 already solves ḡ = 0.
            return Ok(Solution {
                params: step1.clone(),
                iterations: 0,
                termination: Termination::Converged,
                last_step: None,
            });
        }
        if weight.rank() < stacked.n_params() {
            // Fewer independent moment combinations than parameters.
            return Err(Error::SingularWeight {
                stage: Stage::StepTwo,
                rank: weight.rank(),
                dim: stacked.n_moments(),
            });
        }
        let solution = gauss_newton(
            step1.clone(),
            |b| weight.apply_vec(stacked.mean_moments_ahead(b).view()),
            |b| weight.apply(stacked.jacobian(b).view()),
            &Settings {
                residual_floor: 1.0 / (stacked.data().n_rows() as f64).sqrt(),
                ..self.settings()
            },
        )
        .map_err(|_| Error::Collinear {
            block: "stacked".into(),
        })?;
        if !solution.termination.is_converged() && self.require_convergence {
            return Err(Error::NotConverged {
                stage: Stage::StepTwo,
                iterations: solution.iterations,
            });
        }
        Ok(solution)
    }

    /// Iterated weighting: re-estimate W at the latest estimate and re-solve until the
    /// estimate moves by less than 10⁻⁸ standard errors.
    fn iterate(
        &self,
        stacked: &StackedMoments<'_, M>,
        mut current: Solution,
        max_rounds: usize,
        notes: &mut Vec<Note>,
    ) -> Result<(Solution, Whitener)> {
        let root_t = (stacked.data().n_rows() as f64).sqrt();
        for _ in 0..max_rounds {
            let omega = stacked.omega(current.params.view());
            let next_weight = self.step_two_whitener(stacked, omega, notes)?;
            let next = self.step_two_fit(stacked, &current.params, &next_weight)?;
            let moved = next_weight.apply(stacked.jacobian(next.params.view()).view());
            let change = moved.dot(&(&next.params - &current.params));
            let distance = change.dot(&change).sqrt() * root_t;
            current = next;
            if distance <= ITERATED_TOL {
                return Ok((current, next_weight));
            }
        }
        Err(Error::NotConverged {
            stage: Stage::StepTwo,
            iterations: max_rounds,
        })
    }

    /// Continuously updated GMM from the two-step estimate (see
    /// [`Weighting::ContinuouslyUpdated`]); returns the estimate and Ω̂(β̂)'s whitener.
    fn continuously_update(
        &self,
        stacked: &StackedMoments<'_, M>,
        mut current: Solution,
        max_iters: usize,
        notes: &mut Vec<Note>,
    ) -> Result<(Solution, Whitener)> {
        let root_t = (stacked.data().n_rows() as f64).sqrt();
        // Q(β) with its whitener.
        let objective = |params: &Array1<f64>, notes: &mut Vec<Note>| -> Result<(f64, Whitener)> {
            let omega = stacked.omega(params.view());
            let weight = self.step_two_whitener(stacked, omega, notes)?;
            let rg = weight.apply_vec(stacked.mean_moments(params.view()).view());
            Ok((rg.dot(&rg), weight))
        };
        let (mut q, mut weight) = objective(&current.params, notes)?;
        for iteration in 1..=max_iters {
            let gbar = stacked.mean_moments(current.params.view());
            let rg = weight.apply_vec(gbar.view());
            // v = Ω̂⁻¹ḡ = Rᵀ(Rḡ).
            let v = weight.matrix().t().dot(&rg);
            let jac = stacked.jacobian(current.params.view());
            let d_omega_v = stacked.omega_derivatives_times(current.params.view(), v.view());
            let gradient = jac.t().dot(&v) * 2.0 - d_omega_v.t().dot(&v);
            let r_jac = weight.apply(jac.view());
            let curvature = r_jac.t().dot(&r_jac) * 2.0;
            let Some(inverse) = crate::optim::spd_inverse(&curvature) else {
                return Err(Error::SingularCovariance {
                    stage: Stage::StepTwo,
                });
            };
            let step = -inverse.dot(&gradient);
            let moved = r_jac.dot(&step);
            // Converged when the step moves β by less than 10⁻⁸ standard errors, or when
            // the decrease it promises (−½ ∇Qᵀδ) is below what Q can resolve in floating
            // point: beyond that, steps only chase rounding.
            let promised = -0.5 * gradient.dot(&step);
            if moved.dot(&moved).sqrt() * root_t <= ITERATED_TOL
                || promised <= 4.0 * f64::EPSILON * q.abs()
            {
                current.iterations += iteration;
                return Ok((current, weight));
            }
            let mut scale = 1.0;
            let mut accepted = None;
            for _ in 0..40 {
                let trial = &current.params + &(&step * scale);
                if let Ok((q_trial, w_trial)) = objective(&trial, &mut Vec::new()) {
                    if q_trial.is_finite() && q_trial < q {
                        accepted = Some((trial, q_trial, w_trial));
                        break;
                    }
                }
                scale *= 0.5;
            }
            match accepted {
                Some((params, q_next, w_next)) => {
                    current.params = params;
                    q = q_next;
                    weight = w_next;
                }
                // No decrease along the step: at the minimum to rounding.
                None => return Ok((current, weight)),
            }
        }
        Err(Error::NotConverged {
            stage: Stage::StepTwo,
            iterations: max_iters,
        })
    }

    /// The requested covariance of (θ̂, η̂), or the re-estimated one with a note when
    /// the requested one is not a valid covariance matrix.
    fn covariance_matrix(
        &self,
        stacked: &StackedMoments<'_, M>,
        step1: &StepOneFit,
        omega1: &Array2<f64>,
        params: &Array1<f64>,
        weight: &Whitener,
        record: &mut Record,
    ) -> Result<(Array2<f64>, Covariance)> {
        let singular = || Error::SingularCovariance {
            stage: Stage::Covariance,
        };
        let covariance = match self.weighting {
            Weighting::TwoStep => self.covariance,
            Weighting::Iterated { .. } | Weighting::ContinuouslyUpdated { .. } => {
                Covariance::Reestimated
            }
        };
        let requested = match covariance {
            Covariance::StepTwo => covariance::inverse_information(stacked, params.view(), weight),
            Covariance::Windmeijer => covariance::windmeijer(
                stacked,
                step1.params.view(),
                omega1,
                &covariance::StepOneWeight {
                    moments: &step1.moments,
                    whitener: &step1.whitener,
                },
                params.view(),
                weight,
            ),
            Covariance::Sandwich => {
                let omega = stacked.omega(params.view());
                covariance::sandwich(stacked, params.view(), weight, &omega)
            }
            Covariance::Reestimated => None,
        };
        if let Some(cov) = requested.filter(covariance::is_valid) {
            return Ok((cov, covariance));
        }
        let omega = stacked.omega(params.view());
        let w = self.whitener(
            omega,
            stacked.moment_units(),
            Stage::Covariance,
            &mut record.weights,
            &mut record.notes,
        )?;
        let cov = covariance::inverse_information(stacked, params.view(), &w)
            .filter(covariance::is_valid)
            .ok_or_else(singular)?;
        if covariance != Covariance::Reestimated {
            record.notes.push(Note::CovarianceFallback {
                requested: covariance.name().to_string(),
                used: Covariance::Reestimated.name().to_string(),
            });
        }
        Ok((cov, Covariance::Reestimated))
    }

    /// The whitener of a re-estimated step-2 weight (iterated and continuously updated
    /// GMM), which the weights report does not list.
    fn step_two_whitener(
        &self,
        stacked: &StackedMoments<'_, M>,
        omega: Array2<f64>,
        notes: &mut Vec<Note>,
    ) -> Result<Whitener> {
        let units = stacked.moment_units();
        self.whitener(omega, units, Stage::StepTwo, &mut Vec::new(), notes)
    }

    /// The whitener of Ω̂ (see [`Whitener::new`]), with each moment's units
    /// `moment_units`; a pseudo-inverse is a [`Note`] unless the policy refuses it.
    pub(super) fn whitener(
        &self,
        omega: Array2<f64>,
        moment_units: ndarray::ArrayView1<'_, f64>,
        stage: Stage,
        weights: &mut Vec<WeightReport>,
        notes: &mut Vec<Note>,
    ) -> Result<Whitener> {
        let dim = omega.nrows();
        let w =
            Whitener::new(omega.view(), Some(moment_units), self.rank_tol).ok_or_else(|| {
                Error::SingularWeight {
                    stage: stage.clone(),
                    rank: 0,
                    dim,
                }
            })?;
        if w.rank() < dim {
            if self.singular_weight == SingularWeightPolicy::Error {
                return Err(Error::SingularWeight {
                    stage,
                    rank: w.rank(),
                    dim,
                });
            }
            notes.push(Note::PseudoInverse {
                stage: stage.clone(),
                rank: w.rank(),
                dim,
            });
        }
        weights.push(WeightReport {
            stage,
            inverse: w.kind(),
            dim,
        });
        Ok(w)
    }
}

/// Hansen's J = T ḡᵀWḡ at the estimate, with rank(W) − Q degrees of freedom.
fn hansen_j<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    weight: &Whitener,
    params: &Array1<f64>,
) -> JTest {
    let gbar = weight.apply_vec(stacked.mean_moments(params.view()).view());
    let t = stacked.data().n_rows() as f64;
    JTest::new(
        t * gbar.dot(&gbar),
        weight.rank().saturating_sub(stacked.n_params()),
    )
}
