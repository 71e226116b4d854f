//! What a model adds to every estimator's report from the labeled rows: each
//! coefficient's interval scale ([`IntervalScale`](crate::IntervalScale)) and, for a
//! binary outcome with few events per coefficient, a note that Wald intervals are not
//! to be trusted there.
//!
//! The events-per-coefficient rule: with a binary outcome, the information about the
//! coefficients comes from the rows with the rarer value. Below about five such rows
//! per coefficient, the slopes' sampling distributions are far from normal and Wald
//! intervals cover too rarely (Vittinghoff and McCulloch 2007, *Relaxing the rule of
//! ten events per variable in logistic and Cox regression*, Am. J. Epidemiol. 165,
//! 710–718). `docs/validation.md` measures it for this crate's estimators: logistic
//! regression at 5% ones covers 86–87% (every estimator) with about 2.5 events per
//! coefficient, 93–94% with 5, 95% with 10.

use crate::inference::{Estimate, Note};
use crate::interval_scale::with_model_scales;
use crate::moment::MomentModel;
use crate::rows::Rows;

/// Labeled rows with a binary outcome's rarer value, per coefficient, below which a
/// fit carries [`Note::FewEvents`].
pub const MIN_EVENTS_PER_COEFFICIENT: usize = 5;

/// `estimate` as `model` reports it on the labeled rows `real`: its interval scales
/// (see [`with_model_scales`]) and the few-events note where it applies.
pub(crate) fn as_the_model_reports<M: MomentModel + ?Sized>(
    model: &M,
    real: Rows<'_>,
    estimate: Estimate,
) -> Estimate {
    let coefficients = estimate.theta().len();
    let note = model
        .rare_outcomes(real)
        .filter(|&(events, _)| events < MIN_EVENTS_PER_COEFFICIENT * coefficients)
        .map(|(events, value)| Note::FewEvents {
            events,
            value,
            coefficients,
        });
    with_model_scales(model, real, estimate).with_notes(note)
}
