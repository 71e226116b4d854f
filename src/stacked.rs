//! The stacked moment vector of the two-step estimator and its derivatives.
//!
//! For rows t = 1..T with label weight w_t (S_t, or S_t/π_t with known labeling
//! probabilities) and sources m = 1..M,
//!
//! g_t(θ, η) = [w_t ψ(θ; real_t); w_t ψ(η_1; aux¹_t) … w_t ψ(η_M; auxᴹ_t);
//!              ψ(η_1; aux¹_t) … ψ(η_M; auxᴹ_t)],
//!
//! of dimension k = p(1 + 2M) for q = p(1 + M) parameters. Only p(1 + M) of those
//! columns are distinct per row, so Ω̂ = (1/T) Σ g_t g_tᵀ is assembled from two small
//! cross-products: one over the n labeled rows of the p(1 + M) labeled columns and one
//! over all T rows of the pM auxiliary columns. Ĝ = ∂ḡ/∂(θ, η)ᵀ is block-sparse: each
//! block of moments depends on one parameter block only.

use ndarray::{s, Array1, Array2, ArrayView1, Axis};

use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::linalg;
use crate::moment::{moment_matrix, MomentModel};

/// Per-row moment columns at one parameter value.
pub(crate) struct RowMoments {
    /// w_t ψ(θ; real_t) on the labeled rows (n × p).
    labeled: Array2<f64>,
    /// ψ(η_m; aux_t) on all rows, one T × p matrix per source.
    all: Vec<Array2<f64>>,
}

/// The stacked problem: a model, the data, and the label weights.
pub(crate) struct StackedMoments<'a, M: MomentModel + ?Sized> {
    model: &'a M,
    data: &'a DataSources,
    p: usize,
    /// Weights w_t on the labeled rows (1/π_t), `None` when all are 1.
    label_weights: Option<Array1<f64>>,
}

impl<'a, M: MomentModel + ?Sized> StackedMoments<'a, M> {
    /// # Errors
    /// [`Error::ModelDimension`] when the model's parameter count differs from p.
    pub(crate) fn new(
        model: &'a M,
        data: &'a DataSources,
        use_probabilities: bool,
    ) -> Result<Self> {
        let p = model.n_params(data.n_covariates());
        if p != data.n_covariates() {
            // The stacked layout uses x's column count as the moment count.
            return Err(Error::ModelDimension {
                model: model.name().to_string(),
                expected: data.n_covariates(),
                found: p,
            });
        }
        let label_weights = match (use_probabilities, data.labeling_probabilities()) {
            (true, Some(pi)) => Some(data.labeled_rows().iter().map(|&t| 1.0 / pi[t]).collect()),
            _ => None,
        };
        Ok(Self {
            model,
            data,
            p,
            label_weights,
        })
    }

    pub(crate) fn p(&self) -> usize {
        self.p
    }
    pub(crate) fn n_sources(&self) -> usize {
        self.data.n_sources()
    }
    /// Number of moments k = p(1 + 2M).
    pub(crate) fn n_moments(&self) -> usize {
        self.p * (1 + 2 * self.n_sources())
    }
    /// Number of parameters q = p(1 + M).
    pub(crate) fn n_params(&self) -> usize {
        self.p * (1 + self.n_sources())
    }
    fn n_rows(&self) -> f64 {
        self.data.n_rows() as f64
    }
    pub(crate) fn label_weights(&self) -> Option<ArrayView1<'_, f64>> {
        self.label_weights.as_ref().map(|w| w.view())
    }
    pub(crate) fn data(&self) -> &DataSources {
        self.data
    }

    /// Parameter block b (0 = θ, m = η_m) of a stacked vector.
    pub(crate) fn block<'v>(&self, params: ArrayView1<'v, f64>, b: usize) -> ArrayView1<'v, f64> {
        params.slice_move(s![b * self.p..(b + 1) * self.p])
    }

    fn weighted(&self, mut psi: Array2<f64>) -> Array2<f64> {
        if let Some(w) = &self.label_weights {
            psi *= &w.view().insert_axis(Axis(1));
        }
        psi
    }

    /// Checks that ψ has the documented shape, once per fit.
    pub(crate) fn check_shapes(&self, params: ArrayView1<'_, f64>) -> Result<()> {
        let jac = self.model.jacobian(
            self.block(params, 0),
            self.data.real_x(),
            self.data.real_y(),
            None,
        );
        if jac.dim() != (self.p, self.p) {
            return Err(Error::ModelDimension {
                model: self.model.name().to_string(),
                expected: self.p * self.p,
                found: jac.len(),
            });
        }
        Ok(())
    }

    pub(crate) fn row_moments(&self, params: ArrayView1<'_, f64>) -> RowMoments {
        let d = self.data;
        let real = moment_matrix(self.model, self.block(params, 0), d.real_x(), d.real_y());
        let all = d
            .sources()
            .iter()
            .enumerate()
            .map(|(m, src)| moment_matrix(self.model, self.block(params, m + 1), src.x(), src.y()))
            .collect();
        RowMoments {
            labeled: self.weighted(real),
            all,
        }
    }

    /// ḡ = (1/T) Σ_t g_t.
    pub(crate) fn mean_moments(&self, rows: &RowMoments) -> Array1<f64> {
        let (p, m) = (self.p, self.n_sources());
        let mut g = Array1::zeros(self.n_moments());
        g.slice_mut(s![..p]).assign(&rows.labeled.sum_axis(Axis(0)));
        let labeled = self.data.labeled_rows();
        for (i, all) in rows.all.iter().enumerate() {
            let lab = self.weighted(all.select(Axis(0), labeled));
            g.slice_mut(s![(1 + i) * p..(2 + i) * p])
                .assign(&lab.sum_axis(Axis(0)));
            g.slice_mut(s![(1 + m + i) * p..(2 + m + i) * p])
                .assign(&all.sum_axis(Axis(0)));
        }
        g / self.n_rows()
    }

    /// Ω̂ = (1/T) Σ_t g_t g_tᵀ (uncentered), from the p(1 + M) distinct columns.
    pub(crate) fn omega(&self, rows: &RowMoments) -> Array2<f64> {
        let (p, m, q) = (self.p, self.n_sources(), self.n_params());
        let labeled = self.data.labeled_rows();
        // Z: the labeled columns [w ψ_real | w ψ_1 | … | w ψ_M] over the labeled rows.
        let mut z = Array2::zeros((labeled.len(), q));
        z.slice_mut(s![.., ..p]).assign(&rows.labeled);
        let mut aux_lab = Array2::zeros((labeled.len(), p * m));
        let mut aux_all = Array2::zeros((self.data.n_rows(), p * m));
        for (i, all) in rows.all.iter().enumerate() {
            let lab = all.select(Axis(0), labeled);
            aux_lab.slice_mut(s![.., i * p..(i + 1) * p]).assign(&lab);
            z.slice_mut(s![.., (1 + i) * p..(2 + i) * p])
                .assign(&self.weighted(lab));
            aux_all.slice_mut(s![.., i * p..(i + 1) * p]).assign(all);
        }
        let mut omega = Array2::zeros((self.n_moments(), self.n_moments()));
        omega
            .slice_mut(s![..q, ..q])
            .assign(&linalg::gram(z.view()));
        if m > 0 {
            // Σ_t w_t S_t ψ_i ψ_mᵀ: with unit weights a block of Z ᵀZ, else its own product.
            let cross = match self.label_weights {
                None => omega.slice(s![..q, p..q]).to_owned(),
                Some(_) => linalg::cross_product(z.view(), aux_lab.view()),
            };
            omega.slice_mut(s![..q, q..]).assign(&cross);
            omega.slice_mut(s![q.., ..q]).assign(&cross.t());
            omega
                .slice_mut(s![q.., q..])
                .assign(&linalg::gram(aux_all.view()));
        }
        omega / self.n_rows()
    }

    /// The stacked moments g_t as a dense T × k matrix (zeros in the labeled blocks of
    /// unlabeled rows).
    fn dense(&self, rows: &RowMoments) -> Array2<f64> {
        let (p, m) = (self.p, self.n_sources());
        let labeled = self.data.labeled_rows();
        let mut g = Array2::zeros((self.data.n_rows(), self.n_moments()));
        for (k, &t) in labeled.iter().enumerate() {
            g.slice_mut(s![t, ..p]).assign(&rows.labeled.row(k));
        }
        for (i, all) in rows.all.iter().enumerate() {
            let lab = self.weighted(all.select(Axis(0), labeled));
            for (k, &t) in labeled.iter().enumerate() {
                g.slice_mut(s![t, (1 + i) * p..(2 + i) * p])
                    .assign(&lab.row(k));
            }
            g.slice_mut(s![.., (1 + m + i) * p..(2 + m + i) * p])
                .assign(all);
        }
        g
    }

    /// ∂Ω̂/∂β_j at `params` for every parameter j.
    ///
    /// Only the moment columns of β_j's block move with β_j, so with E_j = ∂g/∂β_j
    /// (nonzero in those columns only), ∂Ω̂/∂β_j = (E_jᵀG + GᵀE_j)/T. The per-row
    /// derivatives ∂ψ_t/∂β_j come from [`MomentModel::moments_derivative`].
    pub(crate) fn omega_derivatives(&self, params: ArrayView1<'_, f64>) -> Vec<Array2<f64>> {
        let (p, m, k) = (self.p, self.n_sources(), self.n_moments());
        let t = self.n_rows();
        let g = self.dense(&self.row_moments(params));
        let labeled = self.data.labeled_rows();
        let mut out = Vec::with_capacity(self.n_params());
        for b in 0..=m {
            let (x, y) = self.block_data(b);
            for j in 0..p {
                let mut e_j = Array1::zeros(p);
                e_j[j] = 1.0;
                let mut d_psi = Array2::zeros((x.nrows(), p));
                self.model.moments_derivative(
                    self.block(params, b),
                    x,
                    y,
                    e_j.view(),
                    d_psi.view_mut(),
                );
                // E_j restricted to its nonzero columns, and where they sit in g.
                let (e, cols): (Array2<f64>, Vec<usize>) = if b == 0 {
                    let mut e = Array2::zeros((self.data.n_rows(), p));
                    let w = self.weighted(d_psi);
                    for (r, &row) in labeled.iter().enumerate() {
                        e.row_mut(row).assign(&w.row(r));
                    }
                    (e, (0..p).collect())
                } else {
                    let mut e = Array2::zeros((self.data.n_rows(), 2 * p));
                    let lab = self.weighted(d_psi.select(Axis(0), labeled));
                    for (r, &row) in labeled.iter().enumerate() {
                        e.slice_mut(s![row, ..p]).assign(&lab.row(r));
                    }
                    e.slice_mut(s![.., p..]).assign(&d_psi);
                    let cols = (b * p..(b + 1) * p)
                        .chain((m + b) * p..(m + b + 1) * p)
                        .collect();
                    (e, cols)
                };
                let eg = linalg::cross_product(e.view(), g.view()); // |cols| × k
                let mut d_omega = Array2::zeros((k, k));
                for (r, &c) in cols.iter().enumerate() {
                    for col in 0..k {
                        d_omega[[c, col]] += eg[[r, col]];
                        d_omega[[col, c]] += eg[[r, col]];
                    }
                }
                out.push(d_omega / t);
            }
        }
        out
    }

    /// The step-1 weight as a 0/1 mask over the k moments: every moment for the
    /// identity step, else the real block and the all-rows blocks (the just-identified
    /// equations each block is solved from).
    pub(crate) fn step_one_mask(&self, identity: bool) -> Array1<f64> {
        let (p, m) = (self.p, self.n_sources());
        Array1::from_shape_fn(self.n_moments(), |i| {
            let labeled_aux = i >= p && i < (1 + m) * p;
            if identity || !labeled_aux {
                1.0
            } else {
                0.0
            }
        })
    }

    /// Ĝ = ∂ḡ/∂(θ, η)ᵀ (k × q), block-sparse.
    pub(crate) fn jacobian(&self, params: ArrayView1<'_, f64>) -> Array2<f64> {
        let (p, m) = (self.p, self.n_sources());
        let d = self.data;
        let w = self.label_weights();
        let mut g = Array2::zeros((self.n_moments(), self.n_params()));
        g.slice_mut(s![..p, ..p]).assign(&self.model.jacobian(
            self.block(params, 0),
            d.real_x(),
            d.real_y(),
            w,
        ));
        for (i, src) in d.sources().iter().enumerate() {
            let eta = self.block(params, i + 1);
            let cols = (1 + i) * p..(2 + i) * p;
            let lab = self
                .model
                .jacobian(eta, src.x_labeled(), src.y_labeled(), w);
            g.slice_mut(s![(1 + i) * p..(2 + i) * p, cols.clone()])
                .assign(&lab);
            let all = self.model.jacobian(eta, src.x(), src.y(), None);
            g.slice_mut(s![(1 + m + i) * p..(2 + m + i) * p, cols])
                .assign(&all);
        }
        g / self.n_rows()
    }

    /// The step-1 residual of parameter block b alone: (1/T) Σ w_t ψ(θ; real_t) for
    /// b = 0; for a source, the mean of its moments over all rows, with (`identity`)
    /// the labeled-rows mean stacked above it.
    pub(crate) fn block_residual(
        &self,
        b: usize,
        beta: ArrayView1<'_, f64>,
        identity: bool,
    ) -> Array1<f64> {
        let d = self.data;
        let t = self.n_rows();
        if b == 0 {
            let psi = self.weighted(moment_matrix(self.model, beta, d.real_x(), d.real_y()));
            return psi.sum_axis(Axis(0)) / t;
        }
        let src = &d.sources()[b - 1];
        let all = moment_matrix(self.model, beta, src.x(), src.y());
        if !identity {
            return all.sum_axis(Axis(0)) / t;
        }
        let lab = self.weighted(all.select(Axis(0), d.labeled_rows()));
        let mut r = Array1::zeros(2 * self.p);
        r.slice_mut(s![..self.p]).assign(&lab.sum_axis(Axis(0)));
        r.slice_mut(s![self.p..]).assign(&all.sum_axis(Axis(0)));
        r / t
    }

    /// ∂(block residual)/∂βᵀ, matching [`block_residual`](Self::block_residual).
    pub(crate) fn block_jacobian(
        &self,
        b: usize,
        beta: ArrayView1<'_, f64>,
        identity: bool,
    ) -> Array2<f64> {
        let d = self.data;
        let t = self.n_rows();
        let w = self.label_weights();
        if b == 0 {
            return self.model.jacobian(beta, d.real_x(), d.real_y(), w) / t;
        }
        let src = &d.sources()[b - 1];
        let all = self.model.jacobian(beta, src.x(), src.y(), None);
        if !identity {
            return all / t;
        }
        let mut j = Array2::zeros((2 * self.p, self.p));
        j.slice_mut(s![..self.p, ..]).assign(&self.model.jacobian(
            beta,
            src.x_labeled(),
            src.y_labeled(),
            w,
        ));
        j.slice_mut(s![self.p.., ..]).assign(&all);
        j / t
    }

    /// The block's data (x, y) for separation checks: real labeled rows or the source.
    pub(crate) fn block_data(
        &self,
        b: usize,
    ) -> (ndarray::ArrayView2<'_, f64>, ArrayView1<'_, f64>) {
        if b == 0 {
            (self.data.real_x(), self.data.real_y())
        } else {
            let src = &self.data.sources()[b - 1];
            (src.x(), src.y())
        }
    }

    /// Name of block b for messages.
    pub(crate) fn block_name(&self, b: usize) -> String {
        if b == 0 {
            crate::data::REAL.to_string()
        } else {
            self.data.sources()[b - 1].name().to_string()
        }
    }
}
