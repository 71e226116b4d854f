//! Valid inference from a few human-labeled rows plus proxy and synthetic data.
//!
//! `synthgmm` implements the two-step generalised method of moments estimator of
//! Byun, Gupta, Lipton, Childers and Wilder (*Valid Inference with Imperfect Synthetic
//! Data*, NeurIPS 2025). A target θ is defined by E[ψ(θ; x, y)] = 0. Rows t = 1..T carry
//! a label indicator S_t; each auxiliary source m (model predictions on the real rows,
//! LLM-generated samples conditioned on them, …) gives (x^m_t, y^m_t) on every row with
//! its own parameter η_m. The stacked moments
//!
//! g_t = [S_t ψ(θ; real_t); S_t ψ(η_m; aux_m,t) (m = 1..M); ψ(η_m; aux_m,t) (m = 1..M)]
//!
//! over-identify (θ, η) by pM restrictions (for a model with k moments per block and p
//! parameters, k(1 + 2M) moments for p(1 + M) parameters). Step 1 minimises ḡᵀḡ; step 2 minimises
//! ḡᵀΩ̂⁻¹ḡ with Ω̂ = (1/T) Σ g_t g_tᵀ at step 1. Then
//! Var(θ̂) = [(ĜᵀΩ̂⁻¹Ĝ)⁻¹]_θθ / T and J = T ḡᵀΩ̂⁻¹ḡ ~ χ²(pM).
//! θ̂ is consistent whatever the auxiliary data are; when their residuals correlate with
//! the real ones, its variance falls below the real-only estimator's.
//!
//! That is the paper's estimator, [`CrossWeights::Unrestricted`]. The default,
//! [`CrossWeights::Selected`], goes beyond it for small labeled sets: to first order
//! every member of the family is θ̂_real − ΛΔ̂ (Δ̂ the sources' labeled-minus-all-rows
//! corrections), and per coefficient it chooses among Λ with fewer estimated
//! coefficients (none, one per source, per coordinate, all) by estimated mean squared
//! error, solves the corrected estimating equation in which θ also enters the sources'
//! terms (as PPI++ does), and reports a leverage-corrected (HC2) variance with
//! Student-t quantiles on each coefficient's Bell–McCaffrey degrees of freedom. [`GmmFit::final_estimator`] says which was used; [`Bootstrap`] re-runs
//! either on resampled data.
//!
//! # Quick start
//! ```
//! use ndarray::{Array1, Array2};
//! use synthgmm::{models::Ols, DataSources, TwoStepGmm};
//!
//! let t = 400;
//! let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64).sin() });
//! let e = Array1::from_shape_fn(t, |i| (i as f64 * 2.3).cos());
//! let y = 0.5 + 1.5 * &x.column(1) + &e;               // human labels (used where labeled)
//! let proxy = 0.7 + 1.2 * &x.column(1) + 0.8 * &e;    // an imperfect model's labels
//! let labeled: Vec<bool> = (0..t).map(|i| i % 10 == 0).collect();
//!
//! let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()?;
//! let fit = TwoStepGmm::new(Ols).fit(&data)?;
//! println!("{fit}");
//! assert!(fit.effective_sample_size()[1] > 40.0); // more than the 40 labeled rows
//! # Ok::<(), synthgmm::Error>(())
//! ```
//!
//! # Layout
//! - [`MomentModel`], [`check_jacobian`]: the moment condition ψ (k ≥ p moments over
//!   [`Rows`]: x, y and named extra columns); [`models`] has [`Ols`](models::Ols),
//!   [`Logistic`](models::Logistic) and [`LinearIv`](models::LinearIv).
//! - [`DataSources`]: label mask, real data and sources, validated once.
//! - [`TwoStepGmm`]: the estimator; [`GmmFit`] and [`Estimate`]: its results;
//!   [`Bootstrap`]: bootstrap inference for any estimator.
//! - [`Estimator`]: the interface shared with the [`baselines`] (real-only, naive
//!   pooled, PPI++, PPI++Synth, DSL, RePPI), so all run on the same data side by side.
//!
//! - [`MomentSums`], [`Chunking`]: every pass of the estimator is a sweep over chunks of
//!   rows producing additive sums, run in parallel and merged in order
//!   (`docs/performance.md`).
//! - Beyond memory (`docs/scale.md`): `synthgmm::parquet` (feature `parquet`) streams
//!   Parquet files out of core;
//!   [`external`] lets any engine compute the passes ([`SumsEngine`]); [`sql`] writes
//!   them as plain SQL.
//!
//! # Features
//! - default (`faer`, `parallel`): the estimator in pure Rust, factorizations by
//!   `faer`; `parallel` (rayon) sums chunks of rows on every core, with results
//!   independent of the thread count.
//! - `openblas`: the moment cross-products and factorizations through `ndarray-linalg`
//!   and the system OpenBLAS, in place of faer (`default-features = false`).
//! - `sim`: the Monte-Carlo harness (`synthgmm::sim`); `serde`: serializable results;
//!   `cli`: the `synthgmm` command-line tool; `parquet`: Parquet input for it and
//!   out-of-core data sets (`synthgmm::parquet`).
//!
//! # References
//! - Byun et al. (2025), arXiv:2508.06635.
//! - Hansen (1982), Econometrica 50(4), 1029–1054.
//! - Newey, McFadden (1994), Handbook of Econometrics IV, ch. 36.
//! - Angelopoulos, Duchi, Zrnic (2023), *PPI++*, arXiv:2311.01453.
#![warn(missing_docs)]

#[cfg(not(any(feature = "faer", feature = "openblas")))]
compile_error!(
    "synthgmm needs a linear-algebra backend: enable the `faer` (default) or `openblas` feature"
);

/// The array crate of the public API, re-exported so that callers use the same version.
pub use ndarray;

pub mod baselines;
mod bootstrap;
mod chunks;
mod comparison;
mod data;
mod engine;
mod error;
mod estimator;
pub mod fixed_effects;
mod gmm;
mod inference;
mod influence;
mod interval_scale;
mod labeled_columns;
pub mod labeling;
mod linalg;
mod model_report;
pub mod models;
mod moment;
mod multiple_testing;
pub mod named;
mod optim;
mod outcomes;
#[cfg(feature = "parquet")]
pub mod parquet;
mod passes;
pub mod quick;
mod rows;
#[cfg(feature = "sim")]
pub mod sim;
mod small_sample;
pub mod sql;
mod stacked;
mod tier;
mod units;
mod values;
mod weight;

pub use bootstrap::{Bootstrap, BootstrapFit, BootstrapInterval, BootstrapTable};
pub use comparison::SideBySide;
pub use data::{AuxSource, DataSources, DataSourcesBuilder, REAL};
pub use engine::{Chunking, Layout, MomentSums, DEFAULT_CHUNK_ROWS};
pub use error::{Column, Error, Result, Stage};
pub use estimator::{Estimator, OnSources};
pub use fixed_effects::FixedEffects;
pub use gmm::{
    Covariance, CrossChoice, CrossWeights, Design, FinalEstimator, GmmFit, Plan, Planned,
    SingularWeightPolicy, SmallSample, SourceDiagnostic, SourceReport, StepOne, StepReport,
    Summary, TwoStepGmm, WeightReport, Weighting,
};
pub use inference::{
    format_p_value, normal_critical_value, Alternative, CoefficientTable, DropReason, Estimate,
    JTest, Note, WaldTest, MIN_ALPHA,
};
pub use influence::RowInfluence;
pub use interval_scale::IntervalScale;
pub use model_report::MIN_EVENTS_PER_COEFFICIENT;
pub use moment::{check_jacobian, moment_matrix, JacobianCheck, MomentModel};
pub use multiple_testing::{adjust_p_values, Adjustment, SIMULTANEOUS_DRAWS};
pub use optim::Termination;
pub use outcomes::{JointBasis, OutcomeFits};
pub use tier::external;
pub use tier::{BlockColumns, ColumnBlock, ColumnSpec, PassRequest, RowColumns, SumsEngine};

/// The examples of `docs/custom-moments.md`, compiled and run as doc tests.
#[doc = include_str!("../docs/custom-moments.md")]
#[cfg(doctest)]
pub struct CustomMomentsGuide;
pub use rows::Rows;
pub use weight::WeightInverse;
