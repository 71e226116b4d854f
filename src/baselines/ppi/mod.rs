//! PPI++ (Angelopoulos, Duchi, Zrnic 2023): prediction-powered inference with power tuning.
//!
//! The problem and its procedure here; the sums over its rows in [`sums`], and its
//! mixtures of sources in [`rows`].

mod engine;
mod rows;
mod sums;

use ndarray::{Array1, Array2, ArrayView1, Axis};

use crate::baselines::source_rows::SourceRows;
use engine::EngineMixture;
use rows::Mixture;
use sums::{
    add_all, covariance_from_sums, mixture_chunk, mixture_line, mixture_sums, LabeledSums,
    LineSums, MixtureSums,
};

use crate::baselines::mestimation::{inverse, solve};
use crate::data::DataSources;
use crate::engine::cluster_partials;
use crate::error::{Error, Result, Stage};
use crate::estimator::Estimator;
use crate::inference::{Estimate, Note};
use crate::model_report::as_the_model_reports;
use crate::moment::{moment_matrix, Certify, MomentModel};
use crate::rows::{RowBlock, Rows};
use crate::small_sample::SmallSample;
use crate::units::{per_unit, InThetaUnits};

/// How PPI++ chooses the power-tuning parameter λ.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Lambda {
    /// λ̂ estimated from the data to minimise the trace of the asymptotic covariance,
    /// clipped to [0, 1] (ppi_py's default).
    #[default]
    Tuned,
    /// A fixed λ: 0 is the classical (labeled-only) estimator, 1 is plain PPI.
    Fixed(f64),
}

/// One source of an imputation mixture: its weight, its labeled rows used and its
/// moments in θ's units (its every row is in the problem's [`SourceRows`]).
pub(crate) struct Imputed<'a, M: ?Sized> {
    weight: f64,
    labeled: LabeledRows<'a>,
    model: InThetaUnits<'a, M>,
}

/// The labeled rows a problem uses: all of them, borrowed from the data, or a copied
/// subset (cross-fitting folds).
enum LabeledRows<'a> {
    All(Rows<'a>),
    Subset(RowBlock),
}

impl LabeledRows<'_> {
    fn rows<'s>(&'s self, columns: &'s [String]) -> Rows<'s> {
        match self {
            LabeledRows::All(rows) => rows.reborrow(),
            LabeledRows::Subset(block) => block.view(columns),
        }
    }
}

/// Every row of the mixed sources: read chunk by chunk (arrays or files), or summed by
/// an engine's passes.
enum EveryRow<'a> {
    Rows(SourceRows<'a>),
    Engine(EngineMixture<'a>),
}

/// Labeled and unlabeled rows of one imputation: a mixture Σ_k w_k ψ(θ; source_k).
pub(crate) struct PpiProblem<'a, M: MomentModel + ?Sized> {
    pub model: &'a M,
    pub estimator: String,
    /// The real data on the labeled rows used.
    real: LabeledRows<'a>,
    /// The mixed sources.
    imputed: Vec<Imputed<'a, M>>,
    /// Every row of the mixed sources (sums over the unlabeled rows skip the labeled
    /// ones in place: the unlabeled rows are never copied).
    all: EveryRow<'a>,
    /// Names of the extra columns.
    columns: Vec<String>,
    /// Number of unlabeled rows N.
    n_unlabeled: usize,
    /// S_t on every row (empty on an engine's rows, whose sums need none).
    label_mask: Vec<bool>,
    /// Observation weights of the labeled rows used, normalized to mean 1 over them,
    /// and of every row, normalized to mean 1 over the unlabeled rows (ppi_py's `w`
    /// and `w_unlabeled`).
    weights: Option<(Array1<f64>, Array1<f64>)>,
    /// The cluster of every row and the labeled rows' indices, when the data are
    /// clustered and every labeled row is used.
    clusters: Option<(&'a [u32], &'a [usize])>,
    /// The unlabeled sums at the last θ asked for: Gauss–Newton and the statistics
    /// ask for them at the same point more than once.
    unlabeled_cache: std::cell::RefCell<Option<(Array1<f64>, MixtureSums)>>,
    /// For moments affine in θ: the line of rectified fits, built at the first fit.
    affine: std::cell::OnceCell<AffinePath>,
    /// θ̂_real: every λ starts from it.
    real_fit: std::cell::OnceCell<Array1<f64>>,
}

/// For moments affine in θ, the rectified fits lie on one line,
/// θ̂(λ) = θ̂_real − λ (θ̂_f,labeled − θ̂_f,unlabeled), and the unlabeled sums at every
/// point of it come from one [`LineSums`] pass.
struct AffinePath {
    real: Array1<f64>,
    /// θ̂_f,labeled − θ̂_f,unlabeled.
    delta: Array1<f64>,
    /// Unlabeled-row sums along θ̂_real + λ (−delta).
    unlabeled: LineSums,
    /// Labeled-row sums of [real gradients; imputed gradients] along the same line.
    labeled: LineSums,
    /// The labeled rows' summed Jacobian of the real moments.
    real_jacobian: Array2<f64>,
    /// The unlabeled rows' summed Jacobian of the mixture.
    unlabeled_jacobian: Array2<f64>,
    /// The points handed out, with their λ: sums are looked up by exact θ.
    handed_out: std::cell::RefCell<Vec<(f64, Array1<f64>)>>,
}

impl AffinePath {
    fn fit(&self, lambda: f64) -> Array1<f64> {
        let theta = &self.real - &(&self.delta * lambda);
        self.handed_out.borrow_mut().push((lambda, theta.clone()));
        theta
    }
    /// The λ of θ if θ is a point this path handed out.
    fn lambda_of(&self, theta: ArrayView1<'_, f64>) -> Option<f64> {
        let handed_out = self.handed_out.borrow();
        handed_out
            .iter()
            .find(|(_, at)| at.view() == theta)
            .map(|(lambda, _)| *lambda)
    }
    /// The unlabeled sums at θ if θ is a point this path handed out.
    fn unlabeled_at(&self, theta: ArrayView1<'_, f64>) -> Option<MixtureSums> {
        let (count, sum, gram) = self.unlabeled.at(self.lambda_of(theta)?);
        Some(MixtureSums {
            count,
            sum,
            jacobian: self.unlabeled_jacobian.clone(),
            gram,
        })
    }
    /// The labeled sums at θ if θ is a point this path handed out.
    fn labeled_at(&self, theta: ArrayView1<'_, f64>) -> Option<LabeledSums> {
        let (count, sum, gram) = self.labeled.at(self.lambda_of(theta)?);
        Some(LabeledSums {
            count,
            sum,
            gram,
            real_jacobian: self.real_jacobian.clone(),
        })
    }
}

/// Sums of the gradients on the labeled and on the unlabeled rows, and the inverse
/// Hessian at one θ (ppi_py's `_get_stats`).
pub(crate) struct PpiStats {
    labeled: LabeledSums,
    unlabeled: MixtureSums,
    inv_hessian: Array2<f64>,
}

fn trace(a: &Array2<f64>) -> f64 {
    a.diag().sum()
}

impl<'a, M: MomentModel + ?Sized> PpiProblem<'a, M> {
    /// Builds the problem on the given labeled rows (indices into the labeled set).
    pub(crate) fn new(
        model: &'a M,
        estimator: String,
        data: &'a DataSources,
        mixture: &[(String, f64)],
        labeled_subset: Option<&[usize]>,
    ) -> Result<Self> {
        data.check_model(model)?;
        super::mestimation::just_identified(model, data.real_rows(), &estimator)?;
        let n_unlabeled = data.n_rows() - data.n_labeled();
        if n_unlabeled == 0 {
            return Err(Error::NoUnlabeledRows { estimator });
        }
        let pick = |rows: Rows<'a>| match labeled_subset {
            None => LabeledRows::All(rows),
            Some(subset) => LabeledRows::Subset(rows.select(subset)),
        };
        let real = pick(data.real_rows());
        let mut imputed = Vec::with_capacity(mixture.len());
        for (name, weight) in mixture {
            let src = data.source(name).ok_or_else(|| Error::MissingSource {
                estimator: estimator.clone(),
                name: name.clone(),
            })?;
            // The source's moments in θ's units, its units read from all the labeled
            // rows (the same map for every fold).
            let units = per_unit(model, data.real_rows(), src.labeled(), None);
            imputed.push(Imputed {
                weight: *weight,
                labeled: pick(src.labeled()),
                model: InThetaUnits::new(model, units),
            });
        }
        let names: Vec<&str> = mixture.iter().map(|(name, _)| name.as_str()).collect();
        let all = match EngineMixture::on(data, &names, &estimator)? {
            Some(engine) => EveryRow::Engine(engine),
            None => EveryRow::Rows(SourceRows::every_row(data, &names, &estimator)?),
        };
        let label_mask = match all {
            EveryRow::Rows(_) => data.label_mask(),
            EveryRow::Engine(_) => Vec::new(),
        };
        Ok(Self {
            model,
            estimator,
            real,
            imputed,
            all,
            columns: data.column_names().to_vec(),
            n_unlabeled,
            label_mask,
            weights: data.weights().map(|w| {
                let labeled = data.labeled_rows();
                let used: Vec<usize> = match labeled_subset {
                    Some(subset) => subset.iter().map(|&i| labeled[i]).collect(),
                    None => labeled.to_vec(),
                };
                let lab = w.select(Axis(0), &used);
                let lab = &lab / lab.mean().unwrap_or(1.0);
                let mask = data.label_mask();
                let (sum, count) = w
                    .iter()
                    .zip(&mask)
                    .filter(|(_, &s)| !s)
                    .fold((0.0, 0.0), |(a, c), (v, _)| (a + v, c + 1.0));
                let all = &w / (sum / count);
                (lab, all)
            }),
            clusters: data
                .clusters()
                .filter(|_| labeled_subset.is_none())
                .map(|c| (c, data.labeled_rows())),
            unlabeled_cache: std::cell::RefCell::new(None),
            affine: std::cell::OnceCell::new(),
            real_fit: std::cell::OnceCell::new(),
        })
    }

    fn n(&self) -> f64 {
        self.real_rows().len() as f64
    }
    fn n_unlabeled(&self) -> f64 {
        self.n_unlabeled as f64
    }
    fn view<'s>(&'s self, block: &'s LabeledRows<'_>) -> Rows<'s> {
        block.rows(&self.columns)
    }
    fn real_rows(&self) -> Rows<'_> {
        self.view(&self.real)
    }
    /// Observation weights of the labeled rows used (mean 1), if any.
    fn labeled_weights(&self) -> Option<ArrayView1<'_, f64>> {
        self.weights.as_ref().map(|(lab, _)| lab.view())
    }
    /// Observation weights of every row (mean 1 over the unlabeled rows), if any.
    fn row_weights(&self) -> Option<ArrayView1<'_, f64>> {
        self.weights.as_ref().map(|(_, all)| all.view())
    }
    /// The sources' shares and moments in θ's units.
    fn shares(&self) -> Vec<(f64, &InThetaUnits<'_, M>)> {
        self.imputed
            .iter()
            .map(|s| (s.weight, &s.model as _))
            .collect()
    }
    /// The mixture on rows of the mixed sources.
    fn mixture_on<'s>(&'s self, rows: &'s SourceRows<'_>) -> Mixture<'s, M> {
        Mixture {
            shares: self.shares(),
            rows: rows.reborrow(),
        }
    }
    /// The mixture's sums on the unlabeled rows at θ, with Σ m mᵀ when `with_gram`.
    fn unlabeled_sums(&self, theta: ArrayView1<'_, f64>, with_gram: bool) -> MixtureSums {
        match &self.all {
            EveryRow::Rows(rows) => mixture_sums(
                theta,
                &self.mixture_on(rows),
                (Some(&self.label_mask), self.row_weights()),
                with_gram,
            ),
            EveryRow::Engine(engine) => engine.sums(theta, &self.shares(), with_gram),
        }
    }
    /// The mixture's sums on the unlabeled rows along θ₀ + λd (affine moments).
    fn unlabeled_line(
        &self,
        base: ArrayView1<'_, f64>,
        direction: ArrayView1<'_, f64>,
    ) -> LineSums {
        match &self.all {
            EveryRow::Rows(rows) => LineSums::mixture(
                (base, direction),
                &self.mixture_on(rows),
                Some(&self.label_mask),
                self.row_weights(),
            ),
            EveryRow::Engine(engine) => engine.line((base, direction), &self.shares()),
        }
    }
    /// The mixture on the labeled rows used.
    fn imputed_labeled(&self) -> Mixture<'_, M> {
        Mixture {
            shares: self.shares(),
            rows: SourceRows::InMemory(
                self.imputed.iter().map(|s| self.view(&s.labeled)).collect(),
            ),
        }
    }
    /// `result`, unless a pass over the sources' files failed to read since the
    /// last check: the sums were then incomplete, and the read error is returned.
    pub(crate) fn checked<T>(&self, result: Result<T>) -> Result<T> {
        match &self.all {
            EveryRow::Rows(rows) => rows.checked(result),
            EveryRow::Engine(engine) => engine.checked(result),
        }
    }
    /// The mixture's sums on the labeled rows used (`unlabeled = false`) or on the
    /// unlabeled rows (every row less every labeled row).
    fn imputed_sums(&self, theta: ArrayView1<'_, f64>, unlabeled: bool) -> MixtureSums {
        if unlabeled {
            if let Some(sums) = self.affine.get().and_then(|path| path.unlabeled_at(theta)) {
                return sums;
            }
            if let Some((at, sums)) = self.unlabeled_cache.borrow().as_ref() {
                if at.view() == theta {
                    return sums.clone();
                }
            }
            let sums = self.unlabeled_sums(theta, true);
            *self.unlabeled_cache.borrow_mut() = Some((theta.to_owned(), sums.clone()));
            sums
        } else {
            mixture_sums(
                theta,
                &self.imputed_labeled(),
                (None, self.labeled_weights()),
                false,
            )
        }
    }

    /// θ̂_real, computed once.
    fn real_fit(&self) -> Result<Array1<f64>> {
        if let Some(real) = self.real_fit.get() {
            return Ok(real.clone());
        }
        let real = super::mestimation::fit_weighted_rows(
            self.model,
            &self.estimator,
            "real",
            self.real_rows(),
            self.labeled_weights(),
        )?;
        Ok(self.real_fit.get_or_init(|| real).clone())
    }

    /// θ̂ solving Σ_k w_k Σ_rows ψ(θ; source_k) = 0 on the labeled or unlabeled rows.
    fn imputed_fit(&self, unlabeled: bool, start: Array1<f64>) -> Result<Array1<f64>> {
        let rows = if unlabeled {
            self.n_unlabeled()
        } else {
            self.n()
        };
        let block = if unlabeled {
            "imputed, unlabeled rows"
        } else {
            "imputed, labeled rows"
        };
        // Gauss–Newton asks for the residual and then the Jacobian at the same point:
        // one pass serves both.
        let last: std::cell::RefCell<Option<(Array1<f64>, MixtureSums)>> = Default::default();
        let sums_at = |b: ArrayView1<'_, f64>| {
            if let Some((at, sums)) = last.borrow().as_ref() {
                if at.view() == b {
                    return sums.clone();
                }
            }
            let sums = self.imputed_sums(b, unlabeled);
            *last.borrow_mut() = Some((b.to_owned(), sums.clone()));
            sums
        };
        solve(
            self.model,
            &self.estimator,
            block,
            start,
            |b| sums_at(b).sum / rows,
            |b| sums_at(b).jacobian / rows,
            // Used for linear moments only, which cannot diverge.
            Certify::Never,
        )
    }

    /// The line of rectified fits for moments affine in θ (built once): the imputed
    /// fits on the labeled rows and, from the sums at θ̂_real, on the unlabeled rows;
    /// then one [`LineSums`] pass for the unlabeled sums along the line.
    fn affine_path(&self, real: Array1<f64>) -> Result<&AffinePath> {
        if let Some(path) = self.affine.get() {
            return Ok(path);
        }
        let lab = self.imputed_fit(false, real.clone())?;
        let at_real = self.unlabeled_sums(real.view(), false);
        let rows = self.n_unlabeled();
        // Affine moments: Σ ψ(β) = Σ ψ(θ̂_real) + (Σ ∂ψ/∂θᵀ)(β − θ̂_real) exactly.
        let unl = solve(
            self.model,
            &self.estimator,
            "imputed, unlabeled rows",
            real.clone(),
            |b| (&at_real.sum + &at_real.jacobian.dot(&(&b - &real))) / rows,
            |_| &at_real.jacobian / rows,
            Certify::Never,
        )?;
        let delta = &lab - &unl;
        let direction = -&delta;
        let unlabeled = self.unlabeled_line(real.view(), direction.view());
        let labeled = self.labeled_line(real.view(), direction.view());
        let real_jacobian =
            self.model
                .jacobian(real.view(), self.real_rows(), self.labeled_weights());
        Ok(self.affine.get_or_init(|| AffinePath {
            real,
            delta,
            unlabeled,
            labeled,
            real_jacobian,
            unlabeled_jacobian: at_real.jacobian,
            handed_out: std::cell::RefCell::new(Vec::new()),
        }))
    }

    /// Labeled-row sums of [g; h] along θ₀ + λ d, g the real gradients and h the
    /// imputed ones.
    fn labeled_line(&self, base: ArrayView1<'_, f64>, direction: ArrayView1<'_, f64>) -> LineSums {
        let (real_rows, model, lab_w) = (self.real_rows(), self.model, self.labeled_weights());
        let p = base.len();
        let chunks = self.imputed_labeled().map(|range, parts| {
            LineSums::chunk(range, 2 * p, None, |mut u, mut v| {
                let rows = real_rows.slice(range.clone());
                let (mut g, mut h) = u.view_mut().split_at(Axis(1), p);
                model.moments(base, rows, g.view_mut());
                let (mut g1, mut h1) = v.view_mut().split_at(Axis(1), p);
                model.moments_derivative(base, rows, direction, g1.view_mut());
                if let Some(w) = lab_w {
                    let w = w
                        .slice_move(ndarray::s![range.clone()])
                        .insert_axis(Axis(1));
                    g *= &w;
                    g1 *= &w;
                }
                mixture_line((base, direction), parts, range, lab_w, (&mut h, &mut h1));
            })
        });
        add_all(LineSums::empty(2 * p), chunks)
    }

    /// The rectified estimate for a given λ.
    ///
    /// Linear moments: θ̂_real − λ (θ̂_f,labeled − θ̂_f,unlabeled), ppi_py's OLS form
    /// (imputed fit on the unlabeled rows plus the rectifier fit on the labeled rows).
    /// Otherwise: the root of the rectified moment equation
    /// (1/n) Σ_lab [ψ(θ; x, y) − λ ψ^f] + (λ/N) Σ_unlab ψ^f = 0, ppi_py's logistic form.
    pub(crate) fn fit(&self, lambda: f64) -> Result<Array1<f64>> {
        self.fit_from(lambda, None)
    }

    /// [`fit`](Self::fit), the nonlinear solve starting from `near` (a nearby fit, e.g.
    /// at a previous λ) instead of the real-only estimate.
    fn fit_from(&self, lambda: f64, near: Option<&Array1<f64>>) -> Result<Array1<f64>> {
        let real = self.real_fit()?;
        if lambda == 0.0 {
            return Ok(real);
        }
        if self.model.is_linear() {
            return Ok(self.affine_path(real)?.fit(lambda));
        }
        let (n, big_n) = (self.n(), self.n_unlabeled());
        let start = near.cloned().unwrap_or(real);
        let real = self.real_rows();
        solve(
            self.model,
            &self.estimator,
            "rectified moments",
            start,
            |b| {
                let psi = moment_matrix(self.model, b, real);
                let real_sum = match self.labeled_weights() {
                    Some(w) => w.dot(&psi),
                    None => crate::linalg::column_sums(psi.view(), false),
                };
                (real_sum - self.imputed_sums(b, false).sum * lambda) / n
                    + self.imputed_sums(b, true).sum * (lambda / big_n)
            },
            |b| {
                (self.model.jacobian(b, real, self.labeled_weights())
                    - self.imputed_sums(b, false).jacobian * lambda)
                    / n
                    + self.imputed_sums(b, true).jacobian * (lambda / big_n)
            },
            // Rectified moments contain the real rows' score: a failure there may be
            // their separation.
            Certify::OnFailure(real),
        )
    }

    /// Gradients at θ; the Hessian pools labeled real rows with unlabeled imputed rows
    /// when `use_unlabeled` (ppi_py's convention) and the model's Jacobian reads the
    /// covariates only, else it is the labeled real rows' alone.
    pub(crate) fn stats(
        &self,
        theta: ArrayView1<'_, f64>,
        use_unlabeled: bool,
    ) -> Result<PpiStats> {
        let labeled = match self.affine.get().and_then(|path| path.labeled_at(theta)) {
            Some(sums) => sums,
            None => LabeledSums::at(
                self.model,
                theta,
                (self.real_rows(), &self.imputed_labeled()),
                self.labeled_weights(),
                None,
            ),
        };
        let unlabeled = self.imputed_sums(theta, true);
        let hessian = if use_unlabeled && !self.model.jacobian_reads_outcome() {
            -(&labeled.real_jacobian + &unlabeled.jacobian) / (self.n() + self.n_unlabeled())
        } else {
            -&labeled.real_jacobian / self.n()
        };
        let inv_hessian = inverse(&hessian).ok_or_else(|| Error::SingularCovariance {
            stage: Stage::Baseline {
                estimator: self.estimator.clone(),
            },
        })?;
        Ok(PpiStats {
            labeled,
            unlabeled,
            inv_hessian,
        })
    }

    /// λ̂ = tr(H⁻¹ C H⁻ᵀ) / (2 (1 + n/N) tr(H⁻¹ V H⁻ᵀ)), clipped to [0, 1], with C the
    /// symmetrised cross-covariance of real and imputed gradients on labeled rows and V
    /// the covariance of imputed gradients over all rows.
    pub(crate) fn lambda_hat(&self, st: &PpiStats) -> f64 {
        let n = self.n();
        let cross = st.labeled.centred_cross();
        let c = (&cross + &cross.t()) / n;
        // V over labeled ∪ unlabeled rows, from the labeled and the unlabeled sums.
        let (sum, gram) = st.labeled.imputed();
        let v = covariance_from_sums(
            st.labeled.count + st.unlabeled.count,
            &(sum + &st.unlabeled.sum),
            &(gram + &st.unlabeled.gram),
        );
        let h = &st.inv_hessian;
        let num = trace(&h.dot(&c).dot(&h.t()));
        let den = 2.0 * (1.0 + n / self.n_unlabeled()) * trace(&h.dot(&v).dot(&h.t()));
        if den > 0.0 && num.is_finite() {
            (num / den).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Cov(θ̂) = H⁻¹ [(n/N) Cov(λ ∇ℓ^f_unlabeled) + c Cov(s∇ℓ − λ ∇ℓ^f)] H⁻ᵀ / n, in the
    /// small-sample form of `small_sample`: the labeled rows' real gradients scaled by
    /// s_t = (1 − h_t)^(−k/2) with h_t their leverage in the labeled fit (k = 1 for HC2,
    /// 2 for HC3; the imputed gradients, whose fit is on N rows, unscaled) and
    /// c = n/(n − p) for HC1 (else 1). HC0 is ppi_py's covariance.
    ///
    /// With clustered data (all labeled rows used), the middle is the cluster-robust
    /// one instead: with u_i = ∇ℓ_i − λ∇ℓ^f_i on labeled rows and v_t = λ∇ℓ^f_t on
    /// unlabeled ones, each centred, s_c = Σ_{i∈c} u_i/n + Σ_{t∈c} v_t/N and
    /// Cov(θ̂) = H⁻¹ [G/(G − 1) Σ_c s_c s_cᵀ] H⁻ᵀ.
    pub(crate) fn covariance(
        &self,
        theta: ArrayView1<'_, f64>,
        st: &PpiStats,
        lambda: f64,
        small_sample: SmallSample,
    ) -> Array2<f64> {
        if let Some(meat) = self.clustered_meat(theta, st, lambda) {
            let h = &st.inv_hessian;
            return crate::linalg::sandwich(h, &meat);
        }
        let n = self.n();
        let unl = st.unlabeled.covariance() * (lambda * lambda);
        let j_sum = &st.labeled.real_jacobian;
        let labeled = match self.scaled_labeled(theta, j_sum, small_sample) {
            Some(scaled) => scaled.rectified_covariance(lambda),
            None => st.labeled.rectified_covariance(lambda),
        } * small_sample.dof_factor(self.real_rows().len(), theta.len());
        let middle = unl * (n / self.n_unlabeled()) + labeled;
        let h = &st.inv_hessian;
        crate::linalg::sandwich(h, &middle) / n
    }

    /// Each coefficient's Bell–McCaffrey degrees of freedom in the labeled real fit at
    /// θ, when `small_sample` asks for them.
    fn coefficient_df(
        &self,
        theta: ArrayView1<'_, f64>,
        clusters: Option<crate::small_sample::ClusterDesign<'_>>,
        small_sample: SmallSample,
    ) -> Option<Array1<f64>> {
        let (real, weights) = (self.real_rows(), self.labeled_weights());
        let j_sum = self.model.jacobian(theta, real, weights);
        crate::small_sample::coefficient_df(
            self.model,
            theta,
            real,
            weights,
            clusters,
            &j_sum,
            small_sample,
        )
    }

    /// The labeled sums at θ with the real gradients scaled by the row scales of
    /// `small_sample` (`j_sum`: the real rows' summed Jacobian at θ); `None` when it
    /// scales no row or the real Jacobian is singular.
    fn scaled_labeled(
        &self,
        theta: ArrayView1<'_, f64>,
        j_sum: &Array2<f64>,
        small_sample: SmallSample,
    ) -> Option<LabeledSums> {
        let real = self.real_rows();
        let weights = self.labeled_weights();
        let scale = crate::small_sample::labeled_row_scales(
            self.model,
            theta,
            real,
            weights,
            Some(j_sum),
            small_sample,
        )?;
        Some(LabeledSums::at(
            self.model,
            theta,
            (real, &self.imputed_labeled()),
            weights,
            Some(scale.view()),
        ))
    }

    /// G/(G − 1) Σ_c s_c s_cᵀ (see [`covariance`](Self::covariance)); `None` without
    /// clusters.
    fn clustered_meat(
        &self,
        theta: ArrayView1<'_, f64>,
        st: &PpiStats,
        lambda: f64,
    ) -> Option<Array2<f64>> {
        // Clusters are refused on an engine's rows (`EngineMixture::on`).
        let (Some((cluster, labeled)), EveryRow::Rows(all)) = (self.clusters, &self.all) else {
            return None;
        };
        let p = theta.len();
        let (n, big_n) = (self.n(), self.n_unlabeled());
        let mut sums =
            Array2::<f64>::zeros((cluster.iter().max().map_or(0, |&m| m as usize + 1), p));
        // Means of the rectified labeled gradients and of the unlabeled imputed ones.
        let lab_sum = &st.labeled.sum.slice(ndarray::s![..p])
            - &(&st.labeled.sum.slice(ndarray::s![p..]) * lambda);
        let u_mean = lab_sum / n;
        let v_mean = &st.unlabeled.sum * (lambda / st.unlabeled.count);
        let lab_w = self.labeled_weights();
        let real = self.real_rows();
        let labeled_chunks = self.imputed_labeled().map(|range, parts| {
            let mut g = moment_matrix(self.model, theta, real.slice(range.clone()));
            if let Some(w) = lab_w {
                g *= &w
                    .slice_move(ndarray::s![range.clone()])
                    .insert_axis(Axis(1));
            }
            let mut h = Array2::zeros((range.len(), p));
            mixture_chunk(theta, parts, range, (None, lab_w), &mut h);
            let u = (g - h * lambda - u_mean.view().insert_axis(Axis(0))) / n;
            let ids: Vec<u32> = range.clone().map(|i| cluster[labeled[i]]).collect();
            cluster_partials(&u, &ids)
        });
        let (mask, row_w) = (&self.label_mask, self.row_weights());
        let unlabeled_chunks = self.mixture_on(all).map(|range, parts| {
            let mut h = Array2::zeros((range.len(), p));
            mixture_chunk(theta, parts, range, (None, row_w), &mut h);
            let v = (h * lambda - v_mean.view().insert_axis(Axis(0))) / big_n;
            let rows: Vec<usize> = range.clone().filter(|&t| !mask[t]).collect();
            let kept: Vec<usize> = rows.iter().map(|t| t - range.start).collect();
            let ids: Vec<u32> = rows.iter().map(|&t| cluster[t]).collect();
            cluster_partials(&v.select(Axis(0), &kept), &ids)
        });
        for (c, sum) in labeled_chunks.into_iter().chain(unlabeled_chunks).flatten() {
            let mut row = sums.row_mut(c as usize);
            row += &sum;
        }
        let used = sums
            .rows()
            .into_iter()
            .filter(|r| r.iter().any(|&v| v != 0.0))
            .count();
        Some(crate::engine::cluster_factor(used) * crate::linalg::gram(sums.view()))
    }

    /// The full ppi_py procedure; returns (θ̂, Cov, λ, pilot θ, pilot λ), the
    /// covariance in the small-sample form of `small_sample` (λ̂ is tuned on the
    /// asymptotic one, as ppi_py's).
    pub(crate) fn run(&self, lambda: Lambda, small_sample: SmallSample) -> Result<PpiResult> {
        match lambda {
            Lambda::Fixed(l) => {
                let theta = self.fit(l)?;
                let st = self.stats(theta.view(), l != 0.0)?;
                let cov = self.covariance(theta.view(), &st, l, small_sample);
                Ok(PpiResult {
                    pilot_theta: theta.clone(),
                    pilot_lambda: l,
                    theta,
                    cov,
                    lambda: l,
                    notes: Vec::new(),
                })
            }
            Lambda::Tuned => {
                // Point estimate: λ̂ from the λ = 1 fit, then refit. The λ = 1 fit is only
                // a pilot: where its rectified equations have no root (they are no
                // likelihood), λ̂ is taken at the real-only fit instead.
                let mut notes = Vec::new();
                let first = match self.fit(1.0) {
                    Ok(first) => first,
                    Err(Error::Collinear { .. } | Error::NotConverged { .. }) => {
                        notes.push(Note::PilotFallback {
                            detail: format!(
                                "{}: the λ = 1 pilot fit has no solution; λ̂ was tuned at the real-only fit",
                                self.estimator
                            ),
                        });
                        self.fit(0.0)?
                    }
                    Err(e) => return Err(e),
                };
                let pilot_lambda = self.lambda_hat(&self.stats(first.view(), true)?);
                let pilot_theta = self.fit_from(pilot_lambda, Some(&first))?;
                // Interval: λ̂ again at the point estimate, refit, covariance there.
                let lambda = self.lambda_hat(&self.stats(pilot_theta.view(), true)?);
                let theta = self.fit_from(lambda, Some(&pilot_theta))?;
                let st = self.stats(theta.view(), lambda != 0.0)?;
                let cov = self.covariance(theta.view(), &st, lambda, small_sample);
                Ok(PpiResult {
                    theta,
                    cov,
                    lambda,
                    pilot_theta,
                    pilot_lambda,
                    notes,
                })
            }
        }
    }

    /// Held-out variance score of a fitted (θ, λ) on other labeled rows: the trace of
    /// the PPI++ covariance with the labeled term computed on the held-out rows.
    pub(crate) fn held_out_score(
        &self,
        fitted: &PpiResult,
        held_out: &PpiProblem<'_, M>,
    ) -> Result<f64> {
        let st = self.stats(fitted.theta.view(), fitted.lambda != 0.0)?;
        let ho = held_out.stats(fitted.theta.view(), fitted.lambda != 0.0)?;
        let l = fitted.lambda;
        let n = self.n();
        let middle = st.unlabeled.covariance() * (l * l * n / self.n_unlabeled())
            + ho.labeled.rectified_covariance(l);
        let h = &st.inv_hessian;
        Ok(trace(&crate::linalg::sandwich(h, &middle)) / n)
    }
}

/// The outcome of one PPI++ run.
pub(crate) struct PpiResult {
    pub theta: Array1<f64>,
    pub cov: Array2<f64>,
    pub lambda: f64,
    pub pilot_theta: Array1<f64>,
    pub pilot_lambda: f64,
    pub notes: Vec<Note>,
}

/// A PPI++ fit: the estimate with its interval, and the power-tuning details.
#[derive(Debug, Clone)]
pub struct PpiFit {
    estimate: Estimate,
    lambda: f64,
    pilot_theta: Array1<f64>,
    pilot_lambda: f64,
    mixture: Vec<(String, f64)>,
}

/// PPI++ on all rows with the given imputation mixture.
pub(crate) fn fit_mixture<M: MomentModel + ?Sized>(
    model: &M,
    name: String,
    data: &DataSources,
    mixture: Vec<(String, f64)>,
    lambda: Lambda,
    small_sample: SmallSample,
) -> Result<PpiFit> {
    let problem = PpiProblem::new(model, name.clone(), data, &mixture, None)?;
    // A tuned λ̂ (or λ = 0) leans on the real fit's variance: none when it is exact.
    if !matches!(lambda, Lambda::Fixed(l) if l > 0.0) {
        let real_only = problem.checked(problem.fit(0.0))?;
        super::mestimation::refuse_exact_real_fit(model, data.real_rows(), real_only.view())?;
    }
    let mut r = problem.checked(problem.run(lambda, small_sample))?;
    let clusters = data.labeled_clusters();
    let design = clusters.as_deref().map(|ids| data.cluster_design(ids));
    let dof = problem.coefficient_df(r.theta.view(), design, small_sample);
    r.notes.extend(data.design_notes());
    r.notes.extend(data.probabilities_ignored(&name));
    if let Some(clusters) = data.n_clusters() {
        r.notes.push(Note::Clustered {
            clusters,
            cr2: false,
            detail: None,
        });
    }
    let names = crate::moment::parameter_names(model, data.covariate_names(), r.theta.len());
    let estimate = Estimate::new(
        name,
        model.name(),
        names,
        r.theta,
        r.cov,
        data.n_rows(),
        data.n_labeled(),
    )?
    .with_notes(r.notes);
    let estimate =
        small_sample.with_quantiles(estimate, data.n_labeled(), data.clusters_in_moments(), dof);
    let estimate = as_the_model_reports(model, data.real_rows(), estimate);
    Ok(PpiFit {
        estimate,
        lambda: r.lambda,
        pilot_theta: r.pilot_theta,
        pilot_lambda: r.pilot_lambda,
        mixture,
    })
}

impl PpiFit {
    /// θ̂ with its covariance; intervals are centred here.
    pub fn estimate(&self) -> &Estimate {
        &self.estimate
    }
    /// Consumes the fit, keeping the [`Estimate`].
    pub fn into_estimate(self) -> Estimate {
        self.estimate
    }
    /// The λ used for θ̂ and its covariance.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
    /// The first-pass estimate (what ppi_py's `ppi_*_pointestimate` returns with tuned λ).
    pub fn pilot_theta(&self) -> ArrayView1<'_, f64> {
        self.pilot_theta.view()
    }
    /// The λ of the first pass.
    pub fn pilot_lambda(&self) -> f64 {
        self.pilot_lambda
    }
    /// The imputation mixture: (source, weight) pairs summing to 1.
    pub fn mixture(&self) -> &[(String, f64)] {
        &self.mixture
    }
}

/// PPI++ with one source's predictions.
///
/// # Formula
/// Labeled rows carry the real (x, y) and the source's (x̂, ŷ); unlabeled rows only
/// (x̂, ŷ). With gradients ∇ℓ = −ψ, the rectified estimate for a given λ is the root of
///
/// (1/n) Σ_lab [ψ(θ; x, y) − λ ψ(θ; x̂, ŷ)] + (λ/N) Σ_unlab ψ(θ; x̂, ŷ) = 0
///
/// (for linear moments, the equivalent estimator-difference form
/// θ̂_real − λ(θ̂_f,labeled − θ̂_f,unlabeled) that ppi_py uses for OLS). Its covariance is
/// H⁻¹[(n/N) Cov(λ∇ℓ^f_unlabeled) + Cov(∇ℓ − λ∇ℓ^f)]H⁻¹ / n, with H the average
/// Hessian over labeled real and unlabeled rows; by default in the HC2 form with
/// Bell–McCaffrey t quantiles ([`small_sample`](Self::small_sample)), the real gradients on
/// labeled rows scaled by (1 − h_t)^(−1/2), h_t their leverage in the labeled fit, as
/// every estimator here; [`SmallSample::Hc0`](crate::SmallSample::Hc0) with normal
/// quantiles is ppi_py's. λ̂ minimises the trace of the asymptotic covariance and is
/// clipped to [0, 1]. With [`Lambda::Tuned`] the procedure mirrors
/// ppi_py 0.2.3: λ̂ from the λ = 1 fit gives the pilot estimate, λ̂ re-estimated there
/// gives θ̂ and the interval. Labeled and unlabeled rows are disjoint; when x̂ = x this
/// is ppi_py's estimator. A source with covariates of its own enters in θ's units,
/// ψ̃(θ) = U ψ(Uθ) with u_j = √(J_real,jj / J_source,jj) at zero on the labeled rows: the
/// estimate and its interval do not depend on the units of the source's covariates.
///
/// # Examples
/// ```
/// use ndarray::{Array1, Array2};
/// use synthgmm::baselines::{Lambda, PpiPlusPlus};
/// use synthgmm::{models::Ols, DataSources};
/// let t = 400;
/// let x = Array2::from_shape_fn((t, 2), |(i, j)| if j == 0 { 1.0 } else { (i as f64 * 0.7).sin() });
/// let e = Array1::from_shape_fn(t, |i| (i as f64 * 1.9).cos());
/// let y = 2.0 * &x.column(1) + &e;
/// let yhat = 2.0 * &x.column(1) + 0.8 * &e;
/// let labeled: Vec<bool> = (0..t).map(|i| i % 4 == 0).collect();
/// let data = DataSources::builder(&labeled).real(&x, &y).source("proxy", &x, &yhat).build()?;
/// let tuned = PpiPlusPlus::new(Ols, "proxy").fit(&data)?;
/// let classical = PpiPlusPlus::new(Ols, "proxy").lambda(Lambda::Fixed(0.0)).fit(&data)?;
/// assert!((0.0..=1.0).contains(&tuned.lambda()));
/// assert!(tuned.estimate().se()[1] < classical.estimate().se()[1]);
/// # Ok::<(), synthgmm::Error>(())
/// ```
///
/// # References
/// Angelopoulos, Duchi, Zrnic (2023), *PPI++: Efficient Prediction-Powered Inference*,
/// arXiv:2311.01453.
#[derive(Debug, Clone)]
pub struct PpiPlusPlus<M> {
    model: M,
    source: String,
    lambda: Lambda,
    small_sample: SmallSample,
}

impl<M: MomentModel> PpiPlusPlus<M> {
    /// PPI++ with the predictions of `source`, λ tuned.
    pub fn new(model: M, source: impl Into<String>) -> Self {
        Self {
            model,
            source: source.into(),
            lambda: Lambda::Tuned,
            small_sample: SmallSample::default(),
        }
    }
    /// How λ is chosen.
    pub fn lambda(mut self, lambda: Lambda) -> Self {
        self.lambda = lambda;
        self
    }
    /// The small-sample form of the covariance ([`SmallSample`]): HC2 with
    /// Bell–McCaffrey t quantiles by default, as every estimator; `SmallSample::Hc0` is ppi_py's.
    pub fn small_sample(mut self, small_sample: SmallSample) -> Self {
        self.small_sample = small_sample;
        self
    }

    /// Fits PPI++, on data in memory or read from files out of core (each sum over
    /// every row is one read of the source's files: two for least squares, about
    /// two per Newton step otherwise).
    ///
    /// # Errors
    /// [`Error::MissingSource`], [`Error::NoUnlabeledRows`], [`Error::InvalidConfig`]
    /// for λ outside [0, 1], the M-estimation errors ([`Error::Collinear`],
    /// [`Error::Separation`], [`Error::NotConverged`], [`Error::SingularCovariance`]),
    /// [`Error::Read`] when the source's files cannot be read and
    /// [`Error::NeedsInMemory`] on an engine's rows.
    pub fn fit(&self, data: &DataSources) -> Result<PpiFit> {
        if let Lambda::Fixed(l) = self.lambda {
            if !(0.0..=1.0).contains(&l) {
                return Err(Error::InvalidConfig {
                    parameter: "lambda",
                    reason: format!("{l} is not in [0, 1]"),
                });
            }
        }
        let mixture = vec![(self.source.clone(), 1.0)];
        fit_mixture(
            &self.model,
            self.name(),
            data,
            mixture,
            self.lambda,
            self.small_sample,
        )
    }
}

impl<M: MomentModel> Estimator for PpiPlusPlus<M> {
    fn name(&self) -> String {
        match self.lambda {
            Lambda::Tuned => format!("PPI++ ({})", self.source),
            Lambda::Fixed(l) => format!("PPI (λ = {l}, {})", self.source),
        }
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        Ok(self.fit(data)?.into_estimate())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn covariance_from_sums_matches_numpy_convention() {
        let a = array![[1.0, 2.0], [3.0, 6.0], [5.0, 7.0]];
        // np.cov(a.T): var = [4, 7], cov = 5
        assert_abs_diff_eq!(
            covariance_from_sums(3.0, &a.sum_axis(Axis(0)), &crate::linalg::gram(a.view())),
            array![[4.0, 5.0], [5.0, 7.0]],
            epsilon = 1e-12
        );
    }
}
