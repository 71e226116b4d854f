//! Design-based supervised learning (DSL, Egami et al. 2023) with given predictions.

use std::ops::Range;

use ndarray::{s, Array1, Array2, ArrayView1, Axis};

use crate::baselines::mestimation::{fit_rows, just_identified, sandwich, solve};
use crate::baselines::source_rows::SourceRows;
use crate::data::DataSources;
use crate::engine::{cluster_factor, cluster_partials, ClusterSums};
use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::{Estimate, Note};
use crate::model_report::as_the_model_reports;
use crate::moment::{moment_matrix, Certify, MomentModel};
use crate::rows::Rows;
use crate::small_sample::SmallSample;
use crate::units::{per_unit, InThetaUnits};

/// DSL with the predictions of one source and known labeling probabilities π_t.
///
/// # Formula
/// With predictions (x̂_t, ŷ_t) from the source on every row, the doubly robust moments
///
/// m_t(θ) = ψ(θ; x̂_t, ŷ_t) + (S_t / π_t) · (ψ(θ; x_t, y_t) − ψ(θ; x̂_t, ŷ_t))
///
/// are solved as a just-identified M-estimator, Σ_t m_t(θ) = 0, with the sandwich
/// covariance J⁻¹ (Σ_t m_t m_tᵀ) J⁻ᵀ, by default in the HC2 form with Bell–McCaffrey t
/// quantiles ([`small_sample`](Self::small_sample): the labeled rows' real moments
/// scaled by (1 − h_t)^(−1/2), h_t their leverage in the 1/π-weighted labeled fit). π_t comes from the data's labeling probabilities,
/// or is n/T (labeling at random). The source's moments are taken in θ's units,
/// ψ̃(θ) = U ψ(Uθ) with u_j = √(J_real,jj / J_source,jj) at zero on the labeled rows,
/// so that the estimate does not depend on the units of the source's covariates. Unlike the R package `dsl`, no machine-learning
/// model is fitted inside the estimator: the predictions are the source as given
/// (cross-fitting is the user's business).
///
/// The predictions may stay in their files ([`DataSources::is_out_of_core`]): each
/// Newton step is one read of them, the covariance two more; on an engine's rows the
/// estimate is [`Error::NeedsInMemory`].
///
/// # Examples
/// ```
/// use ndarray::array;
/// use synthgmm::{baselines::Dsl, models::Ols, DataSources, Estimator};
/// let x = array![[1.0], [1.0], [1.0], [1.0]];
/// let y = array![1.0, 3.0, f64::NAN, f64::NAN];
/// let pred = array![1.0, 3.0, 5.0, 7.0]; // exact on the labeled rows
/// let data = DataSources::builder(&[true, true, false, false]).real(&x, &y).source("proxy", &x, &pred).build()?;
/// // The mean of the real values where labeled and the predictions elsewhere.
/// assert!((Dsl::new(Ols, "proxy").estimate(&data)?.theta()[0] - 4.0).abs() < 1e-12);
/// # Ok::<(), synthgmm::Error>(())
/// ```
///
/// # References
/// Egami, Hinck, Stewart, Wei (2023), *Using imperfect surrogates for downstream
/// inference: design-based supervised learning for social science applications of
/// large language models*, NeurIPS.
#[derive(Debug, Clone)]
pub struct Dsl<M> {
    model: M,
    source: String,
    small_sample: SmallSample,
}

impl<M: MomentModel> Dsl<M> {
    /// DSL with the predictions of source `source`.
    pub fn new(model: M, source: impl Into<String>) -> Self {
        Self {
            model,
            source: source.into(),
            small_sample: SmallSample::default(),
        }
    }
    /// The small-sample form of the covariance ([`SmallSample`]): HC2 with
    /// Bell–McCaffrey t quantiles by default, as every estimator; `SmallSample::Hc0` is the asymptotic
    /// sandwich with normal quantiles.
    pub fn small_sample(mut self, small_sample: SmallSample) -> Self {
        self.small_sample = small_sample;
        self
    }
}

/// Σ_t m_t(θ) and Σ_t ∂m_t/∂θᵀ.
type Sums = (Array1<f64>, Array2<f64>);

/// The DSL moments m_t(θ) on every row, from the source's predictions and the labeled
/// rows' real values weighted by w_t/π_t. Every sum over them is one pass over the
/// source's rows, in chunks, wherever they live ([`SourceRows`]).
struct DslMoments<'a, M: MomentModel> {
    model: &'a M,
    /// The predictions' moments in θ's units.
    source: InThetaUnits<'a, M>,
    /// The predictions on every row.
    pred: SourceRows<'a>,
    pred_labeled: Rows<'a>,
    real: Rows<'a>,
    labeled: &'a [usize],
    /// w_t/π_t on the labeled rows.
    inv_pi: Array1<f64>,
    /// w_t on every row, if given.
    weights: Option<ArrayView1<'a, f64>>,
    /// The cluster of every row, if any.
    clusters: Option<&'a [u32]>,
}

impl<M: MomentModel> DslMoments<'_, M> {
    /// The moments at θ of the rows `range`, whose predictions are `pred`: w_t ψ̃(θ; x̂_t,
    /// ŷ_t), plus on labeled rows (w_t/π_t)(s_t ψ(θ; x_t, y_t) − ψ̃(θ; x̂_t, ŷ_t)) with
    /// s_t from `scale` (the small-sample form; 1 without).
    fn chunk_rows(
        &self,
        b: ArrayView1<'_, f64>,
        (range, pred): (&Range<usize>, Rows<'_>),
        scale: Option<&Array1<f64>>,
    ) -> Array2<f64> {
        let mut m = moment_matrix(&self.source, b, pred);
        if let Some(w) = self.weights {
            m *= &w.slice(s![range.clone()]).insert_axis(Axis(1));
        }
        let lo = self.labeled.partition_point(|&t| t < range.start);
        let hi = self.labeled.partition_point(|&t| t < range.end);
        if lo == hi {
            return m;
        }
        let mut psi = moment_matrix(self.model, b, self.real.slice(lo..hi));
        if let Some(s) = scale {
            psi *= &s.slice(s![lo..hi]).insert_axis(Axis(1));
        }
        let imputed = moment_matrix(&self.source, b, self.pred_labeled.slice(lo..hi));
        let diff = (psi - imputed) * self.inv_pi.slice(s![lo..hi]).insert_axis(Axis(1));
        for (row, &t) in diff.outer_iter().zip(&self.labeled[lo..hi]) {
            let mut at = m.row_mut(t - range.start);
            at += &row;
        }
        m
    }

    /// Σ_t m_t(θ) and Σ_t ∂m_t/∂θᵀ, from one pass over the rows.
    fn sums(&self, b: ArrayView1<'_, f64>) -> Sums {
        let p = b.len();
        let chunks = self.pred.map(|range, rows| {
            let w = self.weights.map(|w| w.slice_move(s![range.clone()]));
            let m = self.chunk_rows(b, (range, rows[0]), None);
            (m.sum_axis(Axis(0)), self.source.jacobian(b, rows[0], w))
        });
        let (mut sum, mut jacobian) = (Array1::zeros(p), Array2::zeros((p, p)));
        for (s, j) in &chunks {
            sum += s;
            jacobian += j;
        }
        let inv_pi = Some(self.inv_pi.view());
        jacobian += &self.model.jacobian(b, self.real, inv_pi);
        jacobian -= &self.source.jacobian(b, self.pred_labeled, inv_pi);
        (sum, jacobian)
    }

    /// The meat Σ_t m_t m_tᵀ (times `dof`), or with clusters G/(G − 1) Σ_c s_c s_cᵀ
    /// over the sums s_c of each cluster's rows, from one pass; with the notes it takes.
    fn meat(
        &self,
        b: ArrayView1<'_, f64>,
        scale: Option<&Array1<f64>>,
        dof: f64,
    ) -> (Array2<f64>, Vec<Note>) {
        let Some(cluster) = self.clusters else {
            let grams = self.pred.map(|range, rows| {
                crate::linalg::gram(self.chunk_rows(b, (range, rows[0]), scale).view())
            });
            let gram = grams
                .into_iter()
                .fold(Array2::zeros((b.len(), b.len())), |a, g| a + g);
            return (gram * dof, Vec::new());
        };
        let partials: Vec<ClusterSums> = self.pred.map(|range, rows| {
            let m = self.chunk_rows(b, (range, rows[0]), scale);
            cluster_partials(&m, &cluster[range.clone()])
        });
        let g = cluster.iter().max().map_or(0, |&c| c as usize + 1);
        let mut sums = Array2::<f64>::zeros((g, b.len()));
        let mut seen = vec![false; g];
        for (c, sum) in partials.into_iter().flatten() {
            let mut row = sums.row_mut(c as usize);
            row += &sum;
            seen[c as usize] = true;
        }
        let used = seen.iter().filter(|&&s| s).count();
        let note = Note::Clustered {
            clusters: used,
            cr2: false,
            detail: None,
        };
        (
            cluster_factor(used) * crate::linalg::gram(sums.view()),
            vec![note],
        )
    }
}

/// w_t/π_t on the labeled rows: π_t from the data's labeling probabilities, or n/T.
fn inverse_probabilities(data: &DataSources) -> Array1<f64> {
    let labeled = data.labeled_rows();
    let t = data.n_rows() as f64;
    let inv_pi: Array1<f64> = match data.labeling_probabilities() {
        Some(pi) => labeled.iter().map(|&r| 1.0 / pi[r]).collect(),
        None => Array1::from_elem(labeled.len(), t / labeled.len() as f64),
    };
    match data.weights() {
        Some(w) => &inv_pi * &labeled.iter().map(|&t| w[t]).collect::<Array1<f64>>(),
        None => inv_pi,
    }
}

impl<M: MomentModel> Dsl<M> {
    /// Each coefficient's Bell–McCaffrey degrees of freedom in the 1/π-weighted
    /// labeled fit at θ, when the small-sample form asks for them.
    fn coefficient_df(
        &self,
        data: &DataSources,
        moments: &DslMoments<'_, M>,
        theta: ArrayView1<'_, f64>,
    ) -> Option<Array1<f64>> {
        let (model, real) = (&self.model, moments.real);
        let inv_pi = Some(moments.inv_pi.view());
        let j_sum = model.jacobian(theta, real, inv_pi);
        let clusters = data.labeled_clusters();
        crate::small_sample::coefficient_df(
            model,
            theta,
            real,
            inv_pi,
            clusters.as_deref().map(|ids| data.cluster_design(ids)),
            &j_sum,
            self.small_sample,
        )
    }

    /// θ̂ solving Σ_t m_t(θ) = 0; a failure on separated labeled rows is their
    /// separation.
    fn solve(&self, moments: &DslMoments<'_, M>, name: &str, t: f64) -> Result<Array1<f64>> {
        let (model, real) = (&self.model, moments.real);
        // Gauss–Newton asks for the residual and then the Jacobian at the same point:
        // one pass serves both.
        let last: std::cell::RefCell<Option<(Array1<f64>, Sums)>> = Default::default();
        let sums_at = |b: ArrayView1<'_, f64>| {
            if let Some((at, sums)) = last.borrow().as_ref() {
                if at.view() == b {
                    return sums.clone();
                }
            }
            let sums = moments.sums(b);
            *last.borrow_mut() = Some((b.to_owned(), sums.clone()));
            sums
        };
        solve(
            model,
            name,
            "moments",
            crate::moment::checked_start(model, real)?,
            |b| sums_at(b).0 / t,
            |b| sums_at(b).1 / t,
            // The doubly robust moments contain the real rows' score: a failure there
            // may be their separation.
            Certify::OnFailure(real),
        )
        .map_err(|err| match err {
            Error::Collinear { .. } | Error::NotConverged { .. } => {
                match fit_rows(model, name, "real", real) {
                    Err(separated @ Error::Separation { .. }) => separated,
                    _ => err,
                }
            }
            other => other,
        })
    }
}

impl<M: MomentModel> Estimator for Dsl<M> {
    fn name(&self) -> String {
        format!("DSL ({})", self.source)
    }

    fn estimate(&self, data: &DataSources) -> Result<Estimate> {
        let name = self.name();
        data.check_model(&self.model)?;
        let src = data
            .source(&self.source)
            .ok_or_else(|| Error::MissingSource {
                estimator: name.clone(),
                name: self.source.clone(),
            })?;
        let model = &self.model;
        let real = data.real_rows();
        just_identified(model, real, &name)?;
        // Observation weights multiply each row's moments: w_t on every row's
        // prediction term, w_t/π_t on the labeled rows' correction. The predictions'
        // moments are in θ's units: free of the units of the source's covariates.
        let moments = DslMoments {
            model,
            source: InThetaUnits::new(model, per_unit(model, real, src.labeled(), None)),
            pred: SourceRows::every_row(data, &[self.source.as_str()], &name)?,
            pred_labeled: src.labeled(),
            real,
            labeled: data.labeled_rows(),
            inv_pi: inverse_probabilities(data),
            weights: data.weights(),
            clusters: data.clusters(),
        };
        let theta = moments
            .pred
            .checked(self.solve(&moments, &name, data.n_rows() as f64))?;
        // Rows are the data's rows: with clusters, the meat sums them by cluster (and
        // are not scaled: the cluster sums carry the few-cluster correction).
        let scale = match data.clusters() {
            Some(_) => None,
            None => crate::small_sample::labeled_row_scales(
                model,
                theta.view(),
                real,
                Some(moments.inv_pi.view()),
                None,
                self.small_sample,
            ),
        };
        let coefficient_df = self.coefficient_df(data, &moments, theta.view());
        let dof = self.small_sample.dof_factor(data.n_labeled(), theta.len());
        let (meat, mut notes) = moments.meat(theta.view(), scale.as_ref(), dof);
        notes.extend(data.design_notes());
        let jacobian = moments.sums(theta.view()).1;
        moments.pred.checked(Ok(()))?;
        let cov = sandwich(&jacobian, &meat, &name)?;
        Estimate::new(
            name,
            model.name(),
            crate::moment::parameter_names(model, data.covariate_names(), theta.len()),
            theta,
            cov,
            data.n_rows(),
            data.n_labeled(),
        )
        .map(|e| {
            self.small_sample
                .with_quantiles(
                    e,
                    data.n_labeled(),
                    data.clusters_in_moments(),
                    coefficient_df,
                )
                .with_notes(notes)
        })
        .map(|e| as_the_model_reports(model, data.real_rows(), e))
    }
}
