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
use crate::interval_scale::IntervalScale;
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

/// `estimate` with the interval scales `model` gives for the labeled rows `real`, and
/// a note for each coefficient on the logit scale: that it is, or, where θ̂_j is not in
/// (0, 1), that θ's own scale was kept.
fn with_model_scales<M: MomentModel + ?Sized>(
    model: &M,
    real: Rows<'_>,
    estimate: Estimate,
) -> Estimate {
    let mut scales = model.interval_scales(real);
    if scales.len() != estimate.theta().len()
        || scales.iter().all(|s| *s == IntervalScale::Identity)
    {
        return estimate;
    }
    let mut notes = Vec::new();
    for (j, scale) in scales.iter_mut().enumerate() {
        if *scale != IntervalScale::Logit {
            continue;
        }
        let (name, value) = (estimate.names()[j].clone(), estimate.theta()[j]);
        let inside = value > 0.0 && value < 1.0;
        if !inside {
            *scale = IntervalScale::Identity;
        }
        notes.push(Note::ProportionInterval {
            name,
            value,
            logit: inside,
        });
    }
    estimate.with_interval_scales(scales).with_notes(notes)
}
