//! [`TwoStepGmm`]: the estimator's configuration and its `fit`, in named steps:
//! screening the sources, step one, step two, the covariance, and the assembly of
//! [`GmmFit`].

mod coupled;
mod covariance;
mod diagnostics;
mod fit;
mod influence;
mod labeled;
mod options;
mod plan;
mod press;
mod screen;
mod select;
mod weighted;

pub use crate::small_sample::SmallSample;
pub use diagnostics::{SourceDiagnostic, SourceReport};
pub use fit::{GmmFit, StepReport, Summary, WeightReport};
pub use options::{
    Covariance, CrossWeights, FinalEstimator, SingularWeightPolicy, StepOne, Weighting,
};
pub(crate) use plan::RowInfluence;
pub use plan::{Design, Plan, Planned};
pub(crate) use screen::vanishes;
pub use select::CrossChoice;

use ndarray::{s, Array1, Array2};

use crate::data::{DataSources, REAL};
use crate::engine::Chunking;
use crate::error::{Error, Result, Stage};
use crate::inference::{DropReason, Estimate, JTest, Note};
use crate::model_report::as_the_model_reports;
use crate::moment::{MomentModel, SolveFailure};
use crate::optim::{gauss_newton, Settings};
use crate::stacked::StackedMoments;
use crate::weight::Whitener;

/// The two-step GMM estimator of Byun et al. (2025) for a [`MomentModel`], by default
/// with the selected cross weights ([`CrossWeights::Selected`]); the paper's estimator
/// is `.cross_weights(CrossWeights::Unrestricted)`.
///
/// # Formula
/// With the stacked moments
/// g_t = [S_t ψ(θ; real_t); S_t ψ(η_m; aux_m,t) for each m; ψ(η_m; aux_m,t) for each m]
/// (dimension p(1 + 2M), parameters (θ, η_1, …, η_M)):
/// 1. step 1 minimises ḡᵀḡ; it separates into the real-only estimate θ̂₁ and, for each
///    source, the fit of η_m to its labeled and all-rows moments;
/// 2. Ω̂ = (1/T) Σ g_t g_tᵀ at step 1, W = Ω̂⁻¹, and step 2 minimises ḡᵀWḡ by
///    Gauss–Newton with step halving (closed form for linear moments);
/// 3. V = (ĜᵀΩ̂_f⁻¹Ĝ)⁻¹ / T with Ĝ = ∂ḡ/∂(θ, η)ᵀ and Ω̂_f at the final estimate,
///    by default with Windmeijer's finite-sample correction (see [`Covariance`]);
///    J = T ḡᵀWḡ ~ χ²(pM).
///
/// θ̂ is consistent whatever the auxiliary sources contain; the off-diagonal blocks of W
/// let auxiliary residuals that correlate with the real ones reduce its variance.
/// With known labeling probabilities π_t in the data, S_t is replaced by S_t/π_t (see
/// [`use_labeling_probabilities`](Self::use_labeling_probabilities)).
///
/// # Units
/// With the default [`StepOne::PerBlock`] the estimate is equivariant: rescaling a
/// covariate or an outcome by c rescales its coefficients and standard errors exactly
/// (to rounding), whatever the covariance choice. Optimisation and factorizations work
/// on equilibrated (unit-free) matrices and the stopping rule is relative.
///
/// # Degenerate inputs
/// A source that repeats an earlier one, or whose outcomes the model fits exactly (its
/// moments vanish on every row, e.g. a proxy that is a linear function of x under OLS),
/// carries no information: it is left out, and a [`Note::SourceDropped`] says so. A
/// singular Ω̂ is inverted by its pseudo-inverse ([`Note::PseudoInverse`]); a
/// Windmeijer covariance with a negative or non-finite variance falls back to the
/// [`Covariance::Reestimated`] one ([`Note::CovarianceFallback`]).
///
/// # Examples
/// ```
/// use ndarray::{array, Array1, Array2};
/// use synthgmm::{models::Ols, DataSources, TwoStepGmm};
/// let t = 200;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.37).sin() });
/// let noise = Array1::from_shape_fn(t, |i| (i as f64 * 1.7).cos());
/// let y = 1.0 + 2.0 * &x.column(1) + &noise;          // real outcome
/// let proxy = 1.2 + 2.0 * &x.column(1) + 0.9 * &noise; // biased but informative
/// let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &proxy).build()?;
/// let fit = TwoStepGmm::new(Ols).fit(&data)?;
/// assert!(fit.converged());
/// assert!(fit.se()[1] < fit.real_only_se()[1]); // the proxy helps
/// println!("{fit}");
/// # Ok::<(), synthgmm::Error>(())
/// ```
///
/// # References
/// - Byun, Gupta, Lipton, Childers, Wilder (2025), *Valid Inference with Imperfect
///   Synthetic Data*, NeurIPS, arXiv:2508.06635.
/// - Hansen (1982), *Large sample properties of generalized method of moments
///   estimators*, Econometrica 50(4).
/// - Newey, McFadden (1994), *Large sample estimation and hypothesis testing*,
///   Handbook of Econometrics IV, ch. 36.
#[derive(Debug, Clone)]
pub struct TwoStepGmm<M> {
    model: M,
    max_iters: usize,
    tol: f64,
    rank_tol: f64,
    covariance: Covariance,
    step_one: StepOne,
    weighting: Weighting,
    chunking: Chunking,
    singular_weight: SingularWeightPolicy,
    require_convergence: bool,
    use_labeling_probabilities: bool,
    cross_weights: CrossWeights,
    small_sample: SmallSample,
}

impl<M: MomentModel> TwoStepGmm<M> {
    /// The estimator with default settings: 200 iterations, relative tolerance 1e-10,
    /// rank tolerance 1e-10, per-block step 1, Windmeijer covariance, pseudo-inverse
    /// fallback, convergence required, labeling probabilities used when the data carry
    /// them.
    pub fn new(model: M) -> Self {
        Self {
            model,
            max_iters: 200,
            tol: 1e-10,
            rank_tol: 1e-10,
            covariance: Covariance::default(),
            step_one: StepOne::default(),
            weighting: Weighting::default(),
            chunking: Chunking::default(),
            singular_weight: SingularWeightPolicy::default(),
            require_convergence: true,
            use_labeling_probabilities: true,
            cross_weights: CrossWeights::default(),
            small_sample: SmallSample::default(),
        }
    }
    /// Maximum Gauss–Newton iterations per optimisation (at least 1).
    pub fn max_iters(mut self, max_iters: usize) -> Self {
        self.max_iters = max_iters;
        self
    }
    /// Stop when the Gauss–Newton decrement |Jδ| (the predicted fall of the residual) is
    /// below `tol` times the residual at the start, a rule free of units; in step 2 the
    /// whitened residual's scale is at least its sampling noise 1/√T, so that the last
    /// step moves the estimate by at most about `tol` standard errors.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Relative cut-off (in (0, 1)) below which Ω̂ counts as singular: the smallest
    /// squared Cholesky pivot of its equilibrated form, and the eigenvalue ratio kept
    /// by the pseudo-inverse.
    pub fn rank_tol(mut self, rank_tol: f64) -> Self {
        self.rank_tol = rank_tol;
        self
    }
    /// How the covariance is computed (see [`Covariance`]).
    pub fn covariance(mut self, covariance: Covariance) -> Self {
        self.covariance = covariance;
        self
    }
    /// How step 1 is weighted (see [`StepOne`]).
    pub fn step_one(mut self, step_one: StepOne) -> Self {
        self.step_one = step_one;
        self
    }
    /// Two-step (default) or iterated weighting (see [`Weighting`]).
    pub fn weighting(mut self, weighting: Weighting) -> Self {
        self.weighting = weighting;
        self
    }
    /// How the rows are split into chunks for each pass (default: 4,096 rows). Chunks
    /// are summed in parallel with the `parallel` feature and merged in order, so the
    /// result does not depend on the number of threads; different chunkings agree to
    /// rounding.
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.chunking = chunking;
        self
    }
    /// What to do with a singular Ω̂.
    pub fn singular_weight(mut self, policy: SingularWeightPolicy) -> Self {
        self.singular_weight = policy;
        self
    }
    /// Whether non-convergence is an error (default) or only reported in the fit.
    pub fn require_convergence(mut self, require: bool) -> Self {
        self.require_convergence = require;
        self
    }
    /// Whether to weight labeled moments by 1/π_t when the data carry labeling
    /// probabilities (default `true`). This matters when labeling depends on covariates
    /// (stratified or active labeling): unweighted, the labeled moments then estimate a
    /// different population and the J test rejects. Probabilities equal on every
    /// labeled row (uniform labeling) are labeling at random: the estimator then
    /// treats the rows as such, with the default cross weights.
    pub fn use_labeling_probabilities(mut self, use_them: bool) -> Self {
        self.use_labeling_probabilities = use_them;
        self
    }
    /// Unrestricted (the paper's) or selected cross weights (see [`CrossWeights`]).
    pub fn cross_weights(mut self, cross_weights: CrossWeights) -> Self {
        self.cross_weights = cross_weights;
        self
    }
    /// The leverage correction of the selected cross weights (see [`SmallSample`]).
    pub fn small_sample(mut self, small_sample: SmallSample) -> Self {
        self.small_sample = small_sample;
        self
    }
    /// The moment model.
    pub fn model(&self) -> &M {
        &self.model
    }
    /// The stacked moments of this estimator's model on `data`, with its settings.
    fn stack<'a>(&'a self, data: &'a DataSources) -> Result<StackedMoments<'a, M>> {
        StackedMoments::new(
            &self.model,
            data,
            self.use_labeling_probabilities,
            &self.chunking,
        )
    }

    /// The real-only covariance of θ̂ in a small-sample form (see
    /// [`select::real_only_covariance`]) and its coefficients' degrees of freedom
    /// (Bell–McCaffrey, when the form asks for them), on data without sources; `None`
    /// for an over-identified model.
    ///
    /// # Errors
    /// [`Error::SingularCovariance`] when the real Jacobian is singular.
    pub(crate) fn real_only_small_sample(
        &self,
        data: &DataSources,
        theta: ndarray::ArrayView1<'_, f64>,
        small_sample: SmallSample,
    ) -> Result<Option<SmallSampleCovariance>> {
        let stacked = self.stack(data)?;
        if stacked.k() != stacked.p() {
            return Ok(None);
        }
        let cov = select::real_only_covariance(&stacked, &theta.to_owned(), small_sample)
            .filter(covariance::is_valid)
            .ok_or(Error::SingularCovariance {
                stage: Stage::Covariance,
            })?;
        let dof = select::real_coefficient_df(&stacked, theta, small_sample);
        Ok(Some((cov, dof)))
    }

    /// The real-only fit's CR2 covariance and cluster Bell–McCaffrey degrees of
    /// freedom on clustered data without sources; `None` without clusters, for other
    /// small-sample forms, or for models without a working design.
    ///
    /// # Errors
    /// [`Error::SingularCovariance`] when the covariance is not positive
    /// semi-definite.
    pub(crate) fn real_only_cr2(
        &self,
        data: &DataSources,
        theta: ndarray::ArrayView1<'_, f64>,
        small_sample: SmallSample,
    ) -> Result<Option<crate::small_sample::Cr2>> {
        let stacked = self.stack(data)?;
        if stacked.k() != stacked.p() {
            return Ok(None);
        }
        match select::real_cr2(&stacked, theta, small_sample) {
            Some(cr2) if !covariance::is_valid(&cr2.cov) => Err(Error::SingularCovariance {
                stage: Stage::Covariance,
            }),
            cr2 => Ok(cr2),
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |parameter, reason: String| Err(Error::InvalidConfig { parameter, reason });
        if self.max_iters == 0 {
            return bad("max_iters", "must be at least 1".into());
        }
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return bad("tol", format!("{} is not a positive number", self.tol));
        }
        if self.weighting == (Weighting::Iterated { max_rounds: 0 }) {
            return bad(
                "weighting",
                "iterated weighting needs at least one round".into(),
            );
        }
        if !(self.rank_tol > 0.0 && self.rank_tol < 1.0) {
            return bad("rank_tol", format!("{} is not in (0, 1)", self.rank_tol));
        }
        Ok(())
    }

    fn settings(&self) -> Settings {
        Settings {
            max_iters: self.max_iters,
            tol: self.tol,
            linear: self.model.is_linear(),
            residual_floor: 0.0,
            secant: !self.model.exact_jacobian(),
        }
    }

    /// Fits the estimator.
    ///
    /// Without sources (none given, or every one dropped) the estimate is the real-only
    /// one and, under the default selected cross weights, is reported as
    /// [`RealOnly`](crate::baselines::RealOnly) reports it: the small-sample covariance
    /// (HC2 by default, CR2 with clusters) with t quantiles. The paper's settings
    /// (`CrossWeights::Unrestricted`) keep the sandwich of [`covariance`](Self::covariance).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for invalid settings; [`Error::InvalidValue`] for values
    /// the model rejects; [`Error::ModelDimension`] for a model returning wrong shapes;
    /// [`Error::Collinear`] / [`Error::Separation`] when a block is not identified;
    /// [`Error::PerfectFit`] when the model fits the real outcomes exactly;
    /// [`Error::SingleRowFit`] when one labeled row alone determines part of the real
    /// fit (leverage 1);
    /// [`Error::NotConverged`] (when convergence is required);
    /// [`Error::SingularWeight`] (when the pseudo-inverse fallback is disabled, or Ω̂ is
    /// zero); [`Error::SingularCovariance`]. For data kept out of memory, also
    /// [`Error::Read`] when a pass cannot read the files, and [`Error::NeedsInMemory`]
    /// for an over-identified model.
    pub fn fit(&self, data: &DataSources) -> Result<GmmFit> {
        let fit = self.fit_rows(data);
        // Out of memory, a pass that failed to read its rows has left incomplete sums:
        // its read error is the fit's.
        if let Some(e) = data.streamed().and_then(|s| s.take_failure()) {
            return Err(e);
        }
        // Without sources the estimator is the real-only one, reported as such.
        let mut fit = match data.n_sources() {
            0 => self.as_real_only(data, fit?),
            _ => fit,
        }?;
        fit.estimate.notes_mut().splice(0..0, data.design_notes());
        fit.estimate = as_the_model_reports(&self.model, data.real_rows(), fit.estimate);
        Ok(fit)
    }

    /// The model the data's engine sums (out of core) is the estimator's.
    fn check_engine(&self, data: &DataSources) -> Result<()> {
        match data.streamed().and_then(|s| s.sums_engine()) {
            Some(engine) if engine.model_name() != self.model.name() => Err(Error::InvalidConfig {
                parameter: "model",
                reason: format!(
                    "the data's engine sums the moments of `{}`, the estimator's model is `{}`",
                    engine.model_name(),
                    self.model.name()
                ),
            }),
            _ => Ok(()),
        }
    }

    fn fit_rows(&self, data: &DataSources) -> Result<GmmFit> {
        self.validate()?;
        self.check_engine(data)?;
        data.check_model(&self.model)?;
        let settings = self.settings();
        // Whether a source the model fits exactly is recognised from Ω̂ at step 1 (whose
        // all-rows diagonal holds each source's squared moments at its fit) rather
        // than by a pass of its own: unweighted, unclustered rows (Ω̂ then sums ψ_t²
        // row by row), and step 1 keeping the screening fits.
        let defer_exact = data.weights().is_none()
            && data.clusters().is_none()
            && self.step_one == StepOne::PerBlock;
        let screened = screen::screen_sources(
            &self.model,
            data,
            &settings,
            self.require_convergence,
            self.rank_tol,
            defer_exact,
        )?;
        let screen_notes = screened.notes.clone();
        let mut notes = screened.notes;
        let data = screened.data.as_ref();
        if let Some((sources, reason)) = self.unweighable_sources(data) {
            return self.fit_without(data, &sources, reason, screen_notes);
        }
        notes.extend(self.clustered_note(data));
        let stacked = self.stack(data)?;
        let start_squares: Vec<Array1<f64>> = screened
            .source_fits
            .iter()
            .map(|f| f.start_squares.clone())
            .collect();
        let all_rows_jacobians: Option<Vec<Array2<f64>>> = screened
            .source_fits
            .iter()
            .map(|f| f.linear_jacobian.clone())
            .collect();
        if let Some(jacobians) = all_rows_jacobians {
            stacked.know_linear_jacobian(&jacobians);
        }
        let step1 = self.step_one_fit(&stacked, screened.source_fits)?;
        let omega1 = stacked.omega(step1.params.view());
        // Summed by the same pass; kept for the real-only standard errors, after passes
        // at other points.
        let jacobian1 = stacked.jacobian(step1.params.view());
        if defer_exact {
            let exact = exact_sources(&stacked, &omega1, &start_squares);
            if !exact.is_empty() {
                return self.fit_without(data, &exact, DropReason::Degenerate, screen_notes);
            }
        }
        let mut record = Record {
            weights: Vec::new(),
            notes,
        };
        let weight = self.whitener(
            omega1.clone(),
            stacked.moment_units(),
            Stage::StepTwo,
            &mut record.weights,
            &mut record.notes,
        )?;
        // ḡ at step 1, from the Ω̂ pass (before the selection's passes move on).
        let gbar1 = stacked.mean_moments(step1.params.view());
        let (last, j_test) = match self.selected_estimate(&stacked, &step1.params, &mut record) {
            Some(last) => {
                let j_test = one_step_j(&stacked, &weight, &gbar1, &jacobian1)?;
                (last, j_test)
            }
            None => self.weighted_estimate(&stacked, &step1, &omega1, weight, &mut record)?,
        };
        let real_only_se = match stacked.n_sources() {
            0 => last.cov.diag().slice(s![..stacked.p()]).mapv(f64::sqrt),
            _ => self.real_only_se(&stacked, &jacobian1, &omega1)?,
        };
        self.assemble(&stacked, step1, last, j_test, record, real_only_se)
    }

    /// Step 1: θ̂₁ from the real rows; η̂_m from the source fits of the screening
    /// ([`StepOne::PerBlock`]) or from the identity-weighted source block starting there.
    /// The note on clustered rows, saying which settings the clusters changed.
    fn clustered_note(&self, data: &DataSources) -> Option<Note> {
        let clusters = data.clusters_in_moments()?;
        let changed = (self.cross_weights == CrossWeights::Selected && data.n_sources() > 0)
            .then_some("used unrestricted cross weights".to_string());
        Some(Note::Clustered {
            clusters,
            cr2: false,
            detail: changed,
        })
    }

    /// The selected cross weights' estimate and its covariance, when they apply and
    /// succeed; a failure is a [`Note::SelectionFallback`] (clustered rows already carry
    /// a note saying so) and the fit goes on to the weighted estimate.
    fn selected_estimate(
        &self,
        stacked: &StackedMoments<'_, M>,
        step1: &Array1<f64>,
        record: &mut Record,
    ) -> Option<FinalEstimate> {
        let selected = self.cross_weights == CrossWeights::Selected
            && self.weighting == Weighting::TwoStep
            && stacked.n_sources() > 0;
        if !selected {
            return None;
        }
        match self.selection(stacked, step1) {
            Ok(selected) => {
                record.notes.extend(selected.notes);
                Some(FinalEstimate {
                    params: selected.params,
                    step_two: None,
                    cov: selected.cov,
                    used: FinalEstimator::Selected {
                        small_sample: self.small_sample,
                    },
                    cross: Some(selected.choices),
                    influence_map: Some(selected.influence_map),
                })
            }
            Err(reason) => {
                if stacked.data().clusters().is_none() {
                    record.notes.push(Note::SelectionFallback {
                        reason: reason.to_string(),
                    });
                }
                None
            }
        }
    }

    /// The selected cross weights' estimate, or why it does not apply.
    fn selection(
        &self,
        stacked: &StackedMoments<'_, M>,
        step1: &Array1<f64>,
    ) -> std::result::Result<select::Selection, &'static str> {
        if let Some(reason) = select::unavailable(stacked) {
            return Err(reason);
        }
        select::select(stacked, step1, self.small_sample)
            .ok_or("a block's Jacobian or the selection's moments were singular")
            .and_then(|selected| {
                if covariance::is_valid(&selected.cov) {
                    Ok(selected)
                } else {
                    Err("its covariance had a negative or non-finite variance")
                }
            })
    }

    /// The fit without the sources the model fits exactly (found from Ω̂ at step 1),
    /// with notes saying so after those of the first screening.
    fn fit_without(
        &self,
        data: &DataSources,
        dropped: &[String],
        reason: DropReason,
        screen_notes: Vec<Note>,
    ) -> Result<GmmFit> {
        let kept: Vec<String> = data
            .source_names()
            .into_iter()
            .filter(|name| !dropped.contains(name))
            .collect();
        let kept: Vec<&str> = kept.iter().map(String::as_str).collect();
        let selected = data.select_sources(&kept)?;
        let mut fit = self.fit(&selected)?;
        let mut notes = screen_notes;
        notes.extend(dropped.iter().map(|name| Note::SourceDropped {
            name: name.clone(),
            reason: reason.clone(),
        }));
        fit.estimate.prepend_notes(notes);
        Ok(fit)
    }

    /// A fit left without sources, reported as the selected estimator reports the
    /// real data alone ([`Self::reported_as_real_only`]), when the settings are the
    /// selected estimator's ([`Self::reports_as_real_only`]); unchanged for the paper's
    /// settings.
    fn as_real_only(&self, data: &DataSources, fit: GmmFit) -> Result<GmmFit> {
        match self.reports_as_real_only() {
            true => self.reported_as_real_only(data, fit),
            false => Ok(fit),
        }
    }

    /// Whether a fit without sources reports the real-only estimate in the
    /// small-sample form (the selected cross weights, two-step, a form other than
    /// HC0).
    pub(crate) fn reports_as_real_only(&self) -> bool {
        self.cross_weights == CrossWeights::Selected
            && self.weighting == Weighting::TwoStep
            && self.small_sample != SmallSample::Hc0
    }

    /// A fit on `data` without sources in the small-sample form of
    /// [`small_sample`](Self::small_sample), the one place real-only estimates get it
    /// ([`RealOnly`](crate::baselines::RealOnly) and this estimator at M = 0): the
    /// small-sample covariance (HC2 by default) with t quantiles (Bell–McCaffrey by
    /// default); with clusters CR2 with the clusters' Bell–McCaffrey degrees of
    /// freedom, or where CR2 is not formed the cluster-robust covariance with
    /// t(G − 1) quantiles. Unchanged with HC0 and for over-identified models.
    pub(crate) fn reported_as_real_only(
        &self,
        data: &DataSources,
        mut fit: GmmFit,
    ) -> Result<GmmFit> {
        if self.small_sample == SmallSample::Hc0 {
            return Ok(fit);
        }
        let (theta, n) = (fit.theta().to_owned(), data.n_labeled());
        let selected = FinalEstimator::Selected {
            small_sample: self.small_sample,
        };
        if let Some(g) = data.clusters_in_moments() {
            match self.real_only_cr2(data, theta.view(), self.small_sample)? {
                Some(cr2) => {
                    fit.estimate = cr2.applied_to(fit.estimate, n, g)?;
                    fit.covariance = selected;
                }
                None => {
                    fit.estimate = self
                        .small_sample
                        .with_quantiles(fit.estimate, n, Some(g), None)
                }
            }
            return Ok(fit);
        }
        if let Some((cov, dof)) =
            self.real_only_small_sample(data, theta.view(), self.small_sample)?
        {
            let estimate = fit.estimate.with_cov(cov)?;
            fit.estimate = self.small_sample.with_quantiles(estimate, n, None, dof);
            fit.covariance = selected;
        }
        Ok(fit)
    }

    /// The sources, when the labeled rows cannot weigh them, with the reason: too few,
    /// n ≤ k(1 + M) (see [`DropReason::TooFewLabeled`]), or every row, without labeling
    /// probabilities (see [`DropReason::EveryRowLabeled`]).
    fn unweighable_sources(&self, data: &DataSources) -> Option<(Vec<String>, DropReason)> {
        let m = data.n_sources();
        let k = self.model.n_moments(data.real_rows());
        let needed = k * (1 + m) + 1;
        let labeled = data.n_labeled();
        let every_row = labeled == data.n_rows() && data.labeling_probabilities().is_none();
        let reason = match () {
            _ if m == 0 => return None,
            _ if labeled < needed => DropReason::TooFewLabeled { labeled, needed },
            _ if every_row => DropReason::EveryRowLabeled,
            _ => return None,
        };
        Some((data.source_names(), reason))
    }

    fn step_one_fit(
        &self,
        stacked: &StackedMoments<'_, M>,
        source_fits: Vec<screen::BlockFit>,
    ) -> Result<StepOneFit> {
        let settings = self.settings();
        let identity = self.step_one == StepOne::Identity;
        let real = screen::fit_real(
            &self.model,
            &screen::BlockProblem {
                block: REAL,
                rows: stacked.real_rows(),
                weights: stacked.label_weights(),
                identity,
                stream: None,
            },
            &settings,
            self.require_convergence,
            self.rank_tol,
        )?;
        screen::refuse_single_row_fit(&self.model, stacked, real.solution.params.view())?;
        let mut fits = vec![real];
        for (m, fit) in source_fits.into_iter().enumerate() {
            fits.push(if identity {
                self.unweighted_source_fit(stacked, m, fit, &settings)?
            } else {
                fit
            });
        }
        let (k, p) = (stacked.k(), stacked.p());
        let mut params = Array1::zeros(stacked.n_params());
        for (b, fit) in fits.iter().enumerate() {
            params
                .slice_mut(s![b * p..(b + 1) * p])
                .assign(&fit.solution.params);
        }
        // The step-1 weight over the moments step 1 solves, as a whitener R₁: identity
        // for the textbook step, else block-diagonal with each block's own.
        let moments = stacked.step_one_moments(identity);
        let mut whitener = Array2::eye(moments.len());
        if !identity {
            for (b, fit) in fits.iter().enumerate() {
                if let Some(r) = &fit.whitener {
                    whitener
                        .slice_mut(s![b * k..(b + 1) * k, b * k..(b + 1) * k])
                        .assign(r);
                }
            }
        }
        let reports = fits
            .iter()
            .map(|f| StepReport {
                iterations: f.solution.iterations,
                termination: f.solution.termination,
            })
            .collect();
        Ok(StepOneFit {
            params,
            reports,
            moments,
            whitener,
        })
    }

    /// Source block `m` refitted from its screening fit with the identity weight (the
    /// textbook step 1).
    fn unweighted_source_fit(
        &self,
        stacked: &StackedMoments<'_, M>,
        m: usize,
        fit: screen::BlockFit,
        settings: &Settings,
    ) -> Result<screen::BlockFit> {
        let name = stacked.source_name(m).to_string();
        let solution = gauss_newton(
            fit.solution.params,
            |beta| stacked.source_residual(m, beta),
            |beta| stacked.source_jacobian(m, beta),
            settings,
        )
        .map_err(|_| screen::block_error(SolveFailure::Singular, &name))?;
        if !solution.termination.is_converged() && self.require_convergence {
            return Err(Error::NotConverged {
                stage: Stage::StepOne { block: name },
                iterations: solution.iterations,
            });
        }
        Ok(screen::BlockFit {
            solution,
            start: fit.start,
            whitener: None,
            exact: fit.exact,
            start_squares: fit.start_squares,
            linear_jacobian: fit.linear_jacobian,
        })
    }

    fn assemble(
        &self,
        stacked: &StackedMoments<'_, M>,
        step1: StepOneFit,
        last: FinalEstimate,
        j_test: JTest,
        record: Record,
        real_only_se: Array1<f64>,
    ) -> Result<GmmFit> {
        let FinalEstimate {
            params,
            step_two,
            cov,
            used,
            cross: cross_choices,
            influence_map,
        } = last;
        let Record { weights, notes } = record;
        let data = stacked.data();
        let p = stacked.p();
        let theta = params.slice(s![..p]).to_owned();
        let cov_theta = cov.slice(s![..p, ..p]).to_owned();
        let estimator = self.estimator_label(data.n_sources(), cross_choices.is_some());
        let names = crate::moment::parameter_names(&self.model, data.covariate_names(), p);
        let estimate = Estimate::new(
            estimator,
            self.model.name(),
            names,
            theta,
            cov_theta,
            data.n_rows(),
            data.n_labeled(),
        )?
        .with_notes(notes);
        // The selected weights' small-sample corrections come with t quantiles (each
        // coefficient's Bell–McCaffrey degrees of freedom by default, else n − p):
        // the labeled rows' residuals carry the uncertainty of the variance.
        // With clustered rows the default's intervals take each coefficient's cluster
        // Bell–McCaffrey degrees of freedom in the labeled real fit (t(G − 1), the
        // few-cluster convention of Stata and statsmodels' `use_t`, for the other
        // forms): the cluster sums carry the variance's uncertainty.
        let default_settings = self.cross_weights == CrossWeights::Selected
            && self.weighting == Weighting::TwoStep
            && self.small_sample != SmallSample::Hc0;
        let estimate = match (data.clusters_in_moments(), &cross_choices) {
            (Some(g), _) if default_settings => {
                let dof = select::real_coefficient_df(stacked, params.view(), self.small_sample);
                self.small_sample
                    .with_quantiles(estimate, data.n_labeled(), Some(g), dof)
            }
            (None, Some(_)) if self.small_sample != SmallSample::Hc0 => {
                let dof = select::real_coefficient_df(stacked, params.view(), self.small_sample);
                self.small_sample
                    .with_quantiles(estimate, data.n_labeled(), None, dof)
            }
            _ => estimate,
        };
        Ok(GmmFit {
            estimate,
            params,
            cov,
            step1_params: step1.params,
            source_names: data.source_names(),
            j_test,
            step_one: step1.reports,
            step_two,
            weights,
            real_only_se,
            covariance: used,
            cross_choices,
            influence_map,
        })
    }

    /// The estimator's name in results: real-only without sources, else the weights'.
    fn estimator_label(&self, m: usize, selected: bool) -> String {
        match m {
            0 => "Real-only (GMM, M = 0)".to_string(),
            m if selected => format!("GMM, selected weights (M = {m})"),
            m => match self.weighting {
                Weighting::TwoStep => format!("Two-step GMM (M = {m})"),
                Weighting::Iterated { .. } => format!("Iterated GMM (M = {m})"),
                Weighting::ContinuouslyUpdated { .. } => {
                    format!("Continuously updated GMM (M = {m})")
                }
            },
        }
    }

    /// Standard errors of the M = 0 estimator at θ̂₁, from the real block of the
    /// step-1 Ω̂ and Ĝ: (G_rᵀΩ_r⁻¹G_r)⁻¹/T, HC0 when just identified.
    fn real_only_se(
        &self,
        stacked: &StackedMoments<'_, M>,
        jacobian1: &Array2<f64>,
        omega1: &Array2<f64>,
    ) -> Result<Array1<f64>> {
        let (k, p) = (stacked.k(), stacked.p());
        let omega = omega1.slice(s![..k, ..k]).to_owned();
        let g = jacobian1.slice(s![..k, ..p]).to_owned();
        let units = stacked.moment_units();
        let w = self.whitener(
            omega,
            units.slice(s![..k]),
            Stage::Covariance,
            &mut Vec::new(),
            &mut Vec::new(),
        )?;
        let rg = w.apply(g.view());
        let cov = crate::optim::spd_inverse(&rg.t().dot(&rg))
            .map(|inv| inv / stacked.data().n_rows() as f64)
            .filter(covariance::is_valid)
            .ok_or(Error::SingularCovariance {
                stage: Stage::Covariance,
            })?;
        Ok(cov.diag().mapv(f64::sqrt))
    }
}

/// The step-1 estimate of (θ, η), how each block's optimisation ended, and the step-1
/// weight (the moments it solves and its whitener) for Windmeijer's correction.
struct StepOneFit {
    params: Array1<f64>,
    reports: Vec<StepReport>,
    moments: Vec<usize>,
    whitener: Array2<f64>,
}

/// The sources whose squared moments at their step-1 fit (the all-rows diagonal of
/// Ω̂₁, times T) vanish against their squares at the model's start: the model fits
/// their outcomes exactly and they carry no information.
fn exact_sources<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    omega1: &Array2<f64>,
    start_squares: &[Array1<f64>],
) -> Vec<String> {
    let (k, m) = (stacked.k(), stacked.n_sources());
    let t = stacked.data().n_rows() as f64;
    (0..m)
        .filter(|&i| {
            let first = (1 + m + i) * k;
            let at_fit = Array1::from_shape_fn(k, |j| omega1[[first + j, first + j]] * t);
            start_squares
                .get(i)
                .is_some_and(|start| screen::vanishes(&at_fit, start))
        })
        .map(|i| stacked.source_name(i).to_string())
        .collect()
}

/// The two-step estimate's J with the moments linearized at step 1, for the selected
/// cross weights, which do not run step 2: with R the whitener (RᵀR = Ω̂⁻¹), r = Rḡ₁
/// and A = RĜ₁ at the step-1 estimate, J = T min_δ |r + Aδ|² (Gauss–Newton's first
/// step from step 1), with rank(W) − Q degrees of freedom. It is the two-step J for
/// moments affine in the parameters and differs from it by o_p(1) otherwise (step 1 is
/// √T-consistent), so it tests the same moment conditions without step 2's passes.
/// The errors are step 2's: too few independent moment combinations, or a collinear
/// Jacobian.
fn one_step_j<M: MomentModel>(
    stacked: &StackedMoments<'_, M>,
    weight: &Whitener,
    gbar1: &Array1<f64>,
    jacobian1: &Array2<f64>,
) -> Result<JTest> {
    let q = stacked.n_params();
    if weight.rank() < q {
        return Err(Error::SingularWeight {
            stage: Stage::StepTwo,
            rank: weight.rank(),
            dim: stacked.n_moments(),
        });
    }
    let r = weight.apply_vec(gbar1.view());
    let a = weight.apply(jacobian1.view());
    let residual = if stacked.n_moments() == q {
        Array1::zeros(r.len())
    } else {
        let rhs = r.view().insert_axis(ndarray::Axis(1));
        let step =
            crate::linalg::least_squares(a.view(), rhs, false).ok_or_else(|| Error::Collinear {
                block: "stacked".into(),
            })?;
        &r - &a.dot(&step.column(0))
    };
    let t = stacked.data().n_rows() as f64;
    Ok(JTest::new(t * residual.dot(&residual), weight.rank() - q))
}

/// The estimate the fit reports: the (possibly replaced) step-2 solution, its
/// covariance, the covariance used, and the selected cross weights if any.
/// What a fit reports besides its estimate, gathered along the way: how each weight
/// matrix was inverted, and the notes.
struct Record {
    weights: Vec<WeightReport>,
    notes: Vec<Note>,
}

struct FinalEstimate {
    /// The whole parameter vector (θ, η_1, …, η_M).
    params: Array1<f64>,
    /// Step 2's report; `None` where the selected cross weights replace step 2, which
    /// is then not run.
    step_two: Option<StepReport>,
    cov: Array2<f64>,
    used: FinalEstimator,
    cross: Option<Vec<CrossChoice>>,
    /// The selected weights' linear representation at step 1 (for the influence).
    influence_map: Option<Array2<f64>>,
}

/// A covariance of θ̂ with each coefficient's degrees of freedom, when they differ.
pub(crate) type SmallSampleCovariance = (Array2<f64>, Option<Array1<f64>>);
