//! PPI++ (Angelopoulos, Duchi, Zrnic 2023): prediction-powered inference with power tuning.

use ndarray::{concatenate, Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::baselines::mestimation::{fit_rows, inverse, solve};
use crate::data::DataSources;
use crate::error::{Error, Result, Stage};
use crate::estimator::Estimator;
use crate::inference::{Estimate, Note};
use crate::moment::{moment_matrix, Certify, MomentModel};
use crate::rows::{RowBlock, Rows};

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

/// One source of an imputation mixture: its weight, its rows among the labeled rows
/// used, and its unlabeled rows.
pub(crate) struct Imputed {
    weight: f64,
    labeled: RowBlock,
    unlabeled: RowBlock,
}

/// Labeled and unlabeled rows of one imputation: a mixture Σ_k w_k ψ(θ; source_k).
pub(crate) struct PpiProblem<'a, M: MomentModel + ?Sized> {
    pub model: &'a M,
    pub estimator: String,
    /// The real data on the labeled rows used.
    real: RowBlock,
    /// The mixed sources.
    imputed: Vec<Imputed>,
    /// Names of the extra columns.
    columns: Vec<String>,
}

/// Per-row gradients and the inverse Hessian at one θ (ppi_py's `_get_stats`).
pub(crate) struct PpiStats {
    grads: Array2<f64>,
    grads_hat: Array2<f64>,
    grads_hat_unlabeled: Array2<f64>,
    inv_hessian: Array2<f64>,
}

/// Sample covariance of the rows of `a` (denominator rows − 1, as numpy's `np.cov`).
fn sample_cov(a: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = a.nrows();
    if n < 2 {
        return Array2::zeros((a.ncols(), a.ncols()));
    }
    let centered = &a - &a.mean_axis(Axis(0)).expect("rows").insert_axis(Axis(0));
    crate::linalg::gram(centered.view()) / (n - 1) as f64
}

fn trace(a: &Array2<f64>) -> f64 {
    a.diag().sum()
}

impl<'a, M: MomentModel + ?Sized> PpiProblem<'a, M> {
    /// Builds the problem on the given labeled rows (indices into the labeled set).
    pub(crate) fn new(
        model: &'a M,
        estimator: String,
        data: &DataSources,
        mixture: &[(String, f64)],
        labeled_subset: Option<&[usize]>,
    ) -> Result<Self> {
        data.check_model(model)?;
        super::mestimation::just_identified(model, data.real_rows(), &estimator)?;
        let unlabeled = data.unlabeled_rows();
        if unlabeled.is_empty() {
            return Err(Error::NoUnlabeledRows { estimator });
        }
        let all_labeled: Vec<usize> = (0..data.n_labeled()).collect();
        let rows = labeled_subset.unwrap_or(&all_labeled);
        let real = RowBlock::from_rows(data.real_rows()).select(rows);
        let mut imputed = Vec::with_capacity(mixture.len());
        for (name, weight) in mixture {
            let src = data.source(name).ok_or_else(|| Error::MissingSource {
                estimator: estimator.clone(),
                name: name.clone(),
            })?;
            imputed.push(Imputed {
                weight: *weight,
                labeled: RowBlock::from_rows(src.labeled()).select(rows),
                unlabeled: RowBlock::from_rows(src.rows()).select(&unlabeled),
            });
        }
        Ok(Self {
            model,
            estimator,
            real,
            imputed,
            columns: data.column_names().to_vec(),
        })
    }

    fn n(&self) -> f64 {
        self.real.y.len() as f64
    }
    fn n_unlabeled(&self) -> f64 {
        self.imputed[0].unlabeled.y.len() as f64
    }
    fn view<'s>(&'s self, block: &'s RowBlock) -> Rows<'s> {
        block.view(&self.columns)
    }
    fn real_rows(&self) -> Rows<'_> {
        self.view(&self.real)
    }
    fn imputed_rows<'s>(&'s self, source: &'s Imputed, unlabeled: bool) -> Rows<'s> {
        self.view(if unlabeled {
            &source.unlabeled
        } else {
            &source.labeled
        })
    }

    /// Σ_k w_k ψ(θ; source_k) on the labeled (`unlabeled = false`) or unlabeled rows.
    fn imputed_moments(&self, theta: ArrayView1<'_, f64>, unlabeled: bool) -> Array2<f64> {
        let mut total: Option<Array2<f64>> = None;
        for source in &self.imputed {
            let rows = self.imputed_rows(source, unlabeled);
            let m = moment_matrix(self.model, theta, rows) * source.weight;
            total = Some(match total {
                None => m,
                Some(t) => t + m,
            });
        }
        total.expect("at least one imputed source")
    }

    fn imputed_jacobian(&self, theta: ArrayView1<'_, f64>, unlabeled: bool) -> Array2<f64> {
        self.imputed
            .iter()
            .map(|source| {
                let rows = self.imputed_rows(source, unlabeled);
                self.model.jacobian(theta, rows, None) * source.weight
            })
            .reduce(|a, b| a + b)
            .expect("at least one imputed source")
    }

    fn real_fit(&self) -> Result<Array1<f64>> {
        fit_rows(self.model, &self.estimator, "real", self.real_rows())
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
        solve(
            self.model,
            &self.estimator,
            block,
            start,
            |b| self.imputed_moments(b, unlabeled).sum_axis(Axis(0)) / rows,
            |b| self.imputed_jacobian(b, unlabeled) / rows,
            // Used for linear moments only, which cannot diverge.
            Certify::Never,
        )
    }

    /// The rectified estimate for a given λ.
    ///
    /// Linear moments: θ̂_real − λ (θ̂_f,labeled − θ̂_f,unlabeled), ppi_py's OLS form
    /// (imputed fit on the unlabeled rows plus the rectifier fit on the labeled rows).
    /// Otherwise: the root of the rectified moment equation
    /// (1/n) Σ_lab [ψ(θ; x, y) − λ ψ^f] + (λ/N) Σ_unlab ψ^f = 0, ppi_py's logistic form.
    pub(crate) fn fit(&self, lambda: f64) -> Result<Array1<f64>> {
        let real = self.real_fit()?;
        if lambda == 0.0 {
            return Ok(real);
        }
        if self.model.is_linear() {
            let lab = self.imputed_fit(false, real.clone())?;
            let unl = self.imputed_fit(true, real.clone())?;
            return Ok(&real - &((&lab - &unl) * lambda));
        }
        let (n, big_n) = (self.n(), self.n_unlabeled());
        let start = real;
        let real = self.real_rows();
        solve(
            self.model,
            &self.estimator,
            "rectified moments",
            start,
            |b| {
                let lab =
                    moment_matrix(self.model, b, real) - self.imputed_moments(b, false) * lambda;
                lab.sum_axis(Axis(0)) / n
                    + self.imputed_moments(b, true).sum_axis(Axis(0)) * (lambda / big_n)
            },
            |b| {
                (self.model.jacobian(b, real, None) - self.imputed_jacobian(b, false) * lambda) / n
                    + self.imputed_jacobian(b, true) * (lambda / big_n)
            },
            // Rectified moments contain the real rows' score: a failure there may be
            // their separation.
            Certify::OnFailure(real),
        )
    }

    /// Gradients at θ; the Hessian pools labeled real rows with unlabeled imputed rows
    /// when `use_unlabeled`, else labeled rows only (ppi_py's convention).
    pub(crate) fn stats(
        &self,
        theta: ArrayView1<'_, f64>,
        use_unlabeled: bool,
    ) -> Result<PpiStats> {
        let real = self.real_rows();
        let grads = moment_matrix(self.model, theta, real);
        let grads_hat = self.imputed_moments(theta, false);
        let grads_hat_unlabeled = self.imputed_moments(theta, true);
        let real_jac = self.model.jacobian(theta, real, None);
        let hessian = if use_unlabeled {
            -(real_jac + self.imputed_jacobian(theta, true)) / (self.n() + self.n_unlabeled())
        } else {
            -real_jac / self.n()
        };
        let inv_hessian = inverse(&hessian).ok_or_else(|| Error::SingularCovariance {
            stage: Stage::Baseline {
                estimator: self.estimator.clone(),
            },
        })?;
        Ok(PpiStats {
            grads,
            grads_hat,
            grads_hat_unlabeled,
            inv_hessian,
        })
    }

    /// λ̂ = tr(H⁻¹ C H⁻ᵀ) / (2 (1 + n/N) tr(H⁻¹ V H⁻ᵀ)), clipped to [0, 1], with C the
    /// symmetrised cross-covariance of real and imputed gradients on labeled rows and V
    /// the covariance of imputed gradients over all rows.
    pub(crate) fn lambda_hat(&self, st: &PpiStats) -> f64 {
        let n = self.n();
        let gc = &st.grads
            - &st
                .grads
                .mean_axis(Axis(0))
                .expect("rows")
                .insert_axis(Axis(0));
        let hc = &st.grads_hat
            - &st
                .grads_hat
                .mean_axis(Axis(0))
                .expect("rows")
                .insert_axis(Axis(0));
        let cross = gc.t().dot(&hc);
        let c = (&cross + &cross.t()) / n;
        let all = concatenate(
            Axis(0),
            &[st.grads_hat.view(), st.grads_hat_unlabeled.view()],
        )
        .expect("columns");
        let v = sample_cov(all.view());
        let h = &st.inv_hessian;
        let num = trace(&h.dot(&c).dot(&h.t()));
        let den = 2.0 * (1.0 + n / self.n_unlabeled()) * trace(&h.dot(&v).dot(&h.t()));
        if den > 0.0 && num.is_finite() {
            (num / den).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Cov(θ̂) = H⁻¹ [(n/N) Cov(λ ∇ℓ^f_unlabeled) + Cov(∇ℓ − λ ∇ℓ^f)] H⁻ᵀ / n.
    pub(crate) fn covariance(&self, st: &PpiStats, lambda: f64) -> Array2<f64> {
        let n = self.n();
        let unl = sample_cov((&st.grads_hat_unlabeled * lambda).view());
        let lab = sample_cov((&st.grads - &(&st.grads_hat * lambda)).view());
        let middle = unl * (n / self.n_unlabeled()) + lab;
        let h = &st.inv_hessian;
        crate::linalg::symmetrize(h.dot(&middle).dot(&h.t()) / n)
    }

    /// The full ppi_py procedure; returns (θ̂, Cov, λ, pilot θ, pilot λ).
    pub(crate) fn run(&self, lambda: Lambda) -> Result<PpiResult> {
        match lambda {
            Lambda::Fixed(l) => {
                let theta = self.fit(l)?;
                let st = self.stats(theta.view(), l != 0.0)?;
                let cov = self.covariance(&st, l);
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
                let pilot_theta = self.fit(pilot_lambda)?;
                // Interval: λ̂ again at the point estimate, refit, covariance there.
                let lambda = self.lambda_hat(&self.stats(pilot_theta.view(), true)?);
                let theta = self.fit(lambda)?;
                let st = self.stats(theta.view(), lambda != 0.0)?;
                let cov = self.covariance(&st, lambda);
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
        let middle = sample_cov((&st.grads_hat_unlabeled * l).view()) * (n / self.n_unlabeled())
            + sample_cov((&ho.grads - &(&ho.grads_hat * l)).view());
        let h = &st.inv_hessian;
        Ok(trace(&h.dot(&middle).dot(&h.t())) / n)
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
) -> Result<PpiFit> {
    let problem = PpiProblem::new(model, name.clone(), data, &mixture, None)?;
    let r = problem.run(lambda)?;
    let estimate = Estimate::new(
        name,
        model.name(),
        data.covariate_names().to_vec(),
        r.theta,
        r.cov,
        data.n_rows(),
        data.n_labeled(),
    )?
    .with_notes(r.notes);
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
/// Hessian over labeled real and unlabeled rows. λ̂ minimises the trace of that
/// covariance and is clipped to [0, 1]. With [`Lambda::Tuned`] the procedure mirrors
/// ppi_py 0.2.3: λ̂ from the λ = 1 fit gives the pilot estimate, λ̂ re-estimated there
/// gives θ̂ and the interval. Labeled and unlabeled rows are disjoint; when x̂ = x this
/// is ppi_py's estimator.
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
}

impl<M: MomentModel> PpiPlusPlus<M> {
    /// PPI++ with the predictions of `source`, λ tuned.
    pub fn new(model: M, source: impl Into<String>) -> Self {
        Self {
            model,
            source: source.into(),
            lambda: Lambda::Tuned,
        }
    }
    /// How λ is chosen.
    pub fn lambda(mut self, lambda: Lambda) -> Self {
        self.lambda = lambda;
        self
    }

    /// Fits PPI++.
    ///
    /// # Errors
    /// [`Error::MissingSource`], [`Error::NoUnlabeledRows`], [`Error::InvalidConfig`]
    /// for λ outside [0, 1], and the M-estimation errors ([`Error::Collinear`],
    /// [`Error::Separation`], [`Error::NotConverged`], [`Error::SingularCovariance`]).
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
        fit_mixture(&self.model, self.name(), data, mixture, self.lambda)
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
    fn sample_cov_matches_numpy_convention() {
        let a = array![[1.0, 2.0], [3.0, 6.0], [5.0, 7.0]];
        // np.cov(a.T): var = [4, 7], cov = 5
        assert_abs_diff_eq!(
            sample_cov(a.view()),
            array![[4.0, 5.0], [5.0, 7.0]],
            epsilon = 1e-12
        );
    }
}
