//! One-call fits in ppi_py's argument layout: labeled covariates, outcomes and
//! predictions, then unlabeled covariates and predictions.
//!
//! Each function builds [`DataSources::from_split`] (the predictions become the source
//! `proxy`) and fits with default settings; the PPI++ functions reproduce ppi_py's
//! intervals, in its asymptotic form ([`SmallSample::Hc0`],
//! normal quantiles). There is no default level: intervals come
//! from `conf_int(alpha)` on the result (ppi_py's functions default to α = 0.1, a 90%
//! interval; the printed summaries here show 95%).
//!
//! ```
//! use ndarray::{Array1, Array2};
//! let design = |n: usize, shift: usize| {
//!     Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { 1.0 } else { ((i + shift) as f64 * 0.37).sin() })
//! };
//! let noise = |n: usize, shift: usize| Array1::from_shape_fn(n, |i| ((i + shift) as f64 * 1.9).cos());
//! let (x, x_u) = (design(80, 0), design(800, 80));
//! let y = 2.0 * &x.column(1) + &noise(80, 0);
//! let yhat = 2.0 * &x.column(1) + 0.8 * &noise(80, 0);
//! let yhat_u = 2.0 * &x_u.column(1) + 0.8 * &noise(800, 80);
//! let gmm = synthgmm::quick::gmm_ols(&x, &y, &yhat, &x_u, &yhat_u)?;
//! let ppi = synthgmm::quick::ppi_ols(&x, &y, &yhat, &x_u, &yhat_u)?;
//! let ci = gmm.conf_int(0.1)?; // ppi_py's default level
//! assert!(ci[[1, 0]] < 2.0 && 2.0 < ci[[1, 1]]);
//! assert!(ppi.lambda() > 0.0);
//! # Ok::<(), synthgmm::Error>(())
//! ```

use ndarray::{ArrayView1, ArrayView2};

use crate::baselines::{PpiFit, PpiPlusPlus};
use crate::data::DataSources;
use crate::error::Result;
use crate::gmm::{GmmFit, TwoStepGmm};
use crate::models::{Logistic, Ols};
use crate::small_sample::SmallSample;

/// Two-step GMM (selected cross weights) for least squares with one prediction
/// source.
///
/// # Errors
/// Those of [`DataSources::from_split`] and [`TwoStepGmm::fit`].
pub fn gmm_ols<'a>(
    x: impl Into<ArrayView2<'a, f64>>,
    y: impl Into<ArrayView1<'a, f64>>,
    yhat: impl Into<ArrayView1<'a, f64>>,
    x_unlabeled: impl Into<ArrayView2<'a, f64>>,
    yhat_unlabeled: impl Into<ArrayView1<'a, f64>>,
) -> Result<GmmFit> {
    let data = DataSources::from_split(x, y, yhat, x_unlabeled, yhat_unlabeled)?;
    TwoStepGmm::new(Ols).fit(&data)
}

/// Two-step GMM for logistic regression with one prediction source (outcomes and
/// predictions in [0, 1]).
///
/// # Errors
/// Those of [`DataSources::from_split`] and [`TwoStepGmm::fit`].
pub fn gmm_logistic<'a>(
    x: impl Into<ArrayView2<'a, f64>>,
    y: impl Into<ArrayView1<'a, f64>>,
    yhat: impl Into<ArrayView1<'a, f64>>,
    x_unlabeled: impl Into<ArrayView2<'a, f64>>,
    yhat_unlabeled: impl Into<ArrayView1<'a, f64>>,
) -> Result<GmmFit> {
    let data = DataSources::from_split(x, y, yhat, x_unlabeled, yhat_unlabeled)?;
    TwoStepGmm::new(Logistic).fit(&data)
}

/// PPI++ for least squares (λ tuned), ppi_py's `ppi_ols_ci`.
///
/// # Errors
/// Those of [`DataSources::from_split`] and [`PpiPlusPlus::fit`].
pub fn ppi_ols<'a>(
    x: impl Into<ArrayView2<'a, f64>>,
    y: impl Into<ArrayView1<'a, f64>>,
    yhat: impl Into<ArrayView1<'a, f64>>,
    x_unlabeled: impl Into<ArrayView2<'a, f64>>,
    yhat_unlabeled: impl Into<ArrayView1<'a, f64>>,
) -> Result<PpiFit> {
    let data = DataSources::from_split(x, y, yhat, x_unlabeled, yhat_unlabeled)?;
    PpiPlusPlus::new(Ols, "proxy")
        .small_sample(SmallSample::Hc0)
        .fit(&data)
}

/// PPI++ for logistic regression (λ tuned), ppi_py's `ppi_logistic_ci`.
///
/// # Errors
/// Those of [`DataSources::from_split`] and [`PpiPlusPlus::fit`].
pub fn ppi_logistic<'a>(
    x: impl Into<ArrayView2<'a, f64>>,
    y: impl Into<ArrayView1<'a, f64>>,
    yhat: impl Into<ArrayView1<'a, f64>>,
    x_unlabeled: impl Into<ArrayView2<'a, f64>>,
    yhat_unlabeled: impl Into<ArrayView1<'a, f64>>,
) -> Result<PpiFit> {
    let data = DataSources::from_split(x, y, yhat, x_unlabeled, yhat_unlabeled)?;
    PpiPlusPlus::new(Logistic, "proxy")
        .small_sample(SmallSample::Hc0)
        .fit(&data)
}
