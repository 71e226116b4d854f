//! The scale on which a coefficient's confidence interval is formed.
//!
//! θ̂, its standard error, its t statistic and its p-value are always on θ's own scale.
//! The interval of a proportion (the mean of a 0/1 outcome) is formed on the logit
//! scale and mapped back,
//!
//! [expit(ℓ̂ − c·se_ℓ), expit(ℓ̂ + c·se_ℓ)],  ℓ̂ = logit θ̂,  se_ℓ = se / (θ̂(1 − θ̂))
//!
//! (the delta method), with the same critical value c as the Wald interval. It stays
//! inside (0, 1) and is asymmetric where θ̂ is near 0 or 1, where the Wald interval
//! θ̂ ± c·se covers too rarely: its standard error is small exactly when few positive
//! labels were drawn and θ̂ is low (Brown, Cai and DasGupta 2001). Stata's
//! `proportion` and R survey's `svyciprop(method = "logit")` report this interval.
//!
//! [`Estimate::with_interval_scales`](crate::Estimate::with_interval_scales) sets the
//! scales; every estimator of the crate asks its model
//! ([`MomentModel::interval_scales`](crate::MomentModel::interval_scales)) and keeps
//! θ's own scale, with a [`Note`](crate::Note), for a proportion estimated outside
//! (0, 1) (`model_report.rs`).

/// The scale of a coefficient's confidence interval (see the module's documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum IntervalScale {
    /// θ̂ ± c·se.
    #[default]
    Identity,
    /// A proportion in (0, 1): the interval of logit θ, mapped back.
    Logit,
}

impl IntervalScale {
    /// The interval [θ̂ − c_lower·se, θ̂ + c_upper·se] formed on this scale; an infinite
    /// critical value leaves that side open (−∞ or ∞ on θ's scale, 0 or 1 on the logit
    /// scale). A logit interval needs 0 < θ̂ < 1, else θ's own scale is used.
    ///
    /// # Examples
    /// ```
    /// use synthgmm::IntervalScale;
    /// let [lo, hi] = IntervalScale::Logit.interval(0.1, 0.03, 1.96, 1.96);
    /// let expit = |v: f64| 1.0 / (1.0 + (-v).exp());
    /// let (l, s) = ((0.1f64 / 0.9).ln(), 0.03 / (0.1 * 0.9));
    /// assert!((lo - expit(l - 1.96 * s)).abs() < 1e-15 && (hi - expit(l + 1.96 * s)).abs() < 1e-15);
    /// assert!(lo > 0.1 - 1.96 * 0.03 && hi > 0.1 + 1.96 * 0.03); // shifted up
    /// assert_eq!(IntervalScale::Identity.interval(0.1, 0.03, 1.0, f64::INFINITY), [0.07, f64::INFINITY]);
    /// ```
    pub fn interval(self, theta: f64, se: f64, lower: f64, upper: f64) -> [f64; 2] {
        match self {
            IntervalScale::Logit if theta > 0.0 && theta < 1.0 => {
                let centre = (theta / (1.0 - theta)).ln();
                let spread = se / (theta * (1.0 - theta));
                [
                    expit(centre - lower * spread),
                    expit(centre + upper * spread),
                ]
            }
            _ => [theta - lower * se, theta + upper * se],
        }
    }

    /// The scale's name: `identity` or `logit`.
    pub fn name(self) -> &'static str {
        match self {
            IntervalScale::Identity => "identity",
            IntervalScale::Logit => "logit",
        }
    }
}

/// 1 / (1 + e^(−v)), with expit(±∞) = 1 or 0.
fn expit(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}
