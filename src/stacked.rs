//! The stacked moment vector of the two-step estimator and its derivatives.
//!
//! For rows t = 1..T with label weight w_t (S_t, or S_t/π_t with known labeling
//! probabilities), sources m = 1..M, and a model with k moments for p parameters,
//!
//! g_t(θ, η) = [w_t ψ(θ; real_t); w_t ψ(η_1; aux¹_t) … w_t ψ(η_M; auxᴹ_t);
//!              ψ(η_1; aux¹_t) … ψ(η_M; auxᴹ_t)],
//!
//! of dimension K = k(1 + 2M) for Q = p(1 + M) parameters. Only k(1 + M) of those
//! columns are distinct per row, so Ω̂ = (1/T) Σ g_t g_tᵀ is assembled from two small
//! cross-products: one over the n labeled rows of the k(1 + M) labeled columns and one
//! over all T rows of the kM auxiliary columns. Ĝ = ∂ḡ/∂(θ, η)ᵀ is block-sparse: each
//! block of moments depends on one parameter block only.

use ndarray::{s, Array1, Array2, ArrayView1, Axis};

use crate::data::{DataSources, REAL};
use crate::error::{Error, Result};
use crate::linalg;
use crate::moment::{check_shapes, moment_matrix, MomentModel};
use crate::rows::Rows;

/// A parameter block: θ with the real rows, or η_m with source m.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    /// θ, fitted on the labeled real rows.
    Real,
    /// η_m of source m (zero-based), fitted on all of its rows.
    Source(usize),
}

impl Block {
    /// Position of the block in the parameter vector (θ first).
    pub(crate) fn index(self) -> usize {
        match self {
            Block::Real => 0,
            Block::Source(m) => m + 1,
        }
    }
}

/// Per-row moment columns at one parameter value.
pub(crate) struct RowMoments {
    /// w_t ψ(θ; real_t) on the labeled rows (n × k).
    labeled: Array2<f64>,
    /// ψ(η_m; aux_t) on all rows, one T × k matrix per source.
    all: Vec<Array2<f64>>,
}

/// The stacked problem: a model, the data, and the label weights.
pub(crate) struct StackedMoments<'a, M: MomentModel + ?Sized> {
    model: &'a M,
    data: &'a DataSources,
    /// Moments per block.
    k: usize,
    /// Parameters per block.
    p: usize,
    /// Weights w_t on the labeled rows (1/π_t), `None` when all are 1.
    label_weights: Option<Array1<f64>>,
}

impl<'a, M: MomentModel + ?Sized> StackedMoments<'a, M> {
    /// # Errors
    /// [`Error::ModelDimension`] when the model's shapes are wrong on some block, or
    /// differ between blocks.
    pub(crate) fn new(
        model: &'a M,
        data: &'a DataSources,
        use_probabilities: bool,
    ) -> Result<Self> {
        let (k, p) = check_shapes(model, data.real_rows())?;
        for src in data.sources() {
            let shape = check_shapes(model, src.rows())?;
            if shape != (k, p) {
                return Err(Error::ModelDimension {
                    model: model.name().to_string(),
                    what: "moments × parameters of a source",
                    expected: format!("{k} × {p} (as on the real rows)"),
                    found: format!("{} × {} on `{}`", shape.0, shape.1, src.name()),
                });
            }
        }
        let label_weights = match (use_probabilities, data.labeling_probabilities()) {
            (true, Some(pi)) => Some(data.labeled_rows().iter().map(|&t| 1.0 / pi[t]).collect()),
            _ => None,
        };
        Ok(Self {
            model,
            data,
            k,
            p,
            label_weights,
        })
    }

    /// Parameters per block.
    pub(crate) fn p(&self) -> usize {
        self.p
    }
    /// Moments per block.
    pub(crate) fn k(&self) -> usize {
        self.k
    }
    pub(crate) fn n_sources(&self) -> usize {
        self.data.n_sources()
    }
    /// Number of stacked moments K = k(1 + 2M).
    pub(crate) fn n_moments(&self) -> usize {
        self.k * (1 + 2 * self.n_sources())
    }
    /// Number of parameters Q = p(1 + M).
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

    /// Every parameter block, θ first.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = Block> {
        std::iter::once(Block::Real).chain((0..self.n_sources()).map(Block::Source))
    }

    /// The rows a block is fitted on: the labeled real rows, or every row of a source.
    pub(crate) fn rows(&self, block: Block) -> Rows<'_> {
        match block {
            Block::Real => self.data.real_rows(),
            Block::Source(m) => self.data.sources()[m].rows(),
        }
    }

    /// The block's name for messages: `real` or the source's name.
    pub(crate) fn name(&self, block: Block) -> &str {
        match block {
            Block::Real => REAL,
            Block::Source(m) => self.data.sources()[m].name(),
        }
    }

    /// The block's parameters within a stacked vector.
    pub(crate) fn params<'v>(
        &self,
        params: ArrayView1<'v, f64>,
        block: Block,
    ) -> ArrayView1<'v, f64> {
        let b = block.index();
        params.slice_move(s![b * self.p..(b + 1) * self.p])
    }

    fn weighted(&self, mut psi: Array2<f64>) -> Array2<f64> {
        if let Some(w) = &self.label_weights {
            psi *= &w.view().insert_axis(Axis(1));
        }
        psi
    }

    /// Columns of the stacked moments a source's labeled and all-rows copies occupy.
    fn source_columns(&self, m: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let (k, big_m) = (self.k, self.n_sources());
        (
            (1 + m) * k..(2 + m) * k,
            (1 + big_m + m) * k..(2 + big_m + m) * k,
        )
    }

    pub(crate) fn row_moments(&self, params: ArrayView1<'_, f64>) -> RowMoments {
        let real = moment_matrix(
            self.model,
            self.params(params, Block::Real),
            self.rows(Block::Real),
        );
        let all = (0..self.n_sources())
            .map(|m| {
                let b = Block::Source(m);
                moment_matrix(self.model, self.params(params, b), self.rows(b))
            })
            .collect();
        RowMoments {
            labeled: self.weighted(real),
            all,
        }
    }

    /// ḡ = (1/T) Σ_t g_t.
    pub(crate) fn mean_moments(&self, rows: &RowMoments) -> Array1<f64> {
        let k = self.k;
        let mut g = Array1::zeros(self.n_moments());
        g.slice_mut(s![..k]).assign(&rows.labeled.sum_axis(Axis(0)));
        let labeled = self.data.labeled_rows();
        for (m, all) in rows.all.iter().enumerate() {
            let (lab_cols, all_cols) = self.source_columns(m);
            let lab = self.weighted(all.select(Axis(0), labeled));
            g.slice_mut(s![lab_cols]).assign(&lab.sum_axis(Axis(0)));
            g.slice_mut(s![all_cols]).assign(&all.sum_axis(Axis(0)));
        }
        g / self.n_rows()
    }

    /// Ω̂ = (1/T) Σ_t g_t g_tᵀ (uncentered), from the k(1 + M) distinct columns.
    pub(crate) fn omega(&self, rows: &RowMoments) -> Array2<f64> {
        let (k, m) = (self.k, self.n_sources());
        let q = k * (1 + m);
        let labeled = self.data.labeled_rows();
        // Z: the labeled columns [w ψ_real | w ψ_1 | … | w ψ_M] over the labeled rows.
        let mut z = Array2::zeros((labeled.len(), q));
        z.slice_mut(s![.., ..k]).assign(&rows.labeled);
        let mut aux_lab = Array2::zeros((labeled.len(), k * m));
        let mut aux_all = Array2::zeros((self.data.n_rows(), k * m));
        for (i, all) in rows.all.iter().enumerate() {
            let lab = all.select(Axis(0), labeled);
            aux_lab.slice_mut(s![.., i * k..(i + 1) * k]).assign(&lab);
            z.slice_mut(s![.., (1 + i) * k..(2 + i) * k])
                .assign(&self.weighted(lab));
            aux_all.slice_mut(s![.., i * k..(i + 1) * k]).assign(all);
        }
        let mut omega = Array2::zeros((self.n_moments(), self.n_moments()));
        omega
            .slice_mut(s![..q, ..q])
            .assign(&linalg::gram(z.view()));
        if m > 0 {
            // Σ_t w_t S_t ψ_i ψ_mᵀ: with unit weights a block of ZᵀZ, else its own product.
            let cross = match self.label_weights {
                None => omega.slice(s![..q, k..q]).to_owned(),
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

    /// The stacked moments g_t as a dense T × K matrix (zeros in the labeled blocks of
    /// unlabeled rows).
    fn dense(&self, rows: &RowMoments) -> Array2<f64> {
        let k = self.k;
        let labeled = self.data.labeled_rows();
        let mut g = Array2::zeros((self.data.n_rows(), self.n_moments()));
        for (r, &t) in labeled.iter().enumerate() {
            g.slice_mut(s![t, ..k]).assign(&rows.labeled.row(r));
        }
        for (m, all) in rows.all.iter().enumerate() {
            let (lab_cols, all_cols) = self.source_columns(m);
            let lab = self.weighted(all.select(Axis(0), labeled));
            for (r, &t) in labeled.iter().enumerate() {
                g.slice_mut(s![t, lab_cols.clone()]).assign(&lab.row(r));
            }
            g.slice_mut(s![.., all_cols]).assign(all);
        }
        g
    }

    /// ∂Ω̂/∂β_j at `params` for every parameter j.
    ///
    /// Only the moment columns of β_j's block move with β_j, so with E_j = ∂g/∂β_j
    /// (nonzero in those columns only), ∂Ω̂/∂β_j = (E_jᵀG + GᵀE_j)/T. The per-row
    /// derivatives ∂ψ_t/∂β_j come from [`MomentModel::moments_derivative`].
    pub(crate) fn omega_derivatives(&self, params: ArrayView1<'_, f64>) -> Vec<Array2<f64>> {
        let (k, p, big_k) = (self.k, self.p, self.n_moments());
        let t = self.n_rows();
        let g = self.dense(&self.row_moments(params));
        let labeled = self.data.labeled_rows();
        let mut out = Vec::with_capacity(self.n_params());
        for block in self.blocks() {
            let rows = self.rows(block);
            for j in 0..p {
                let mut e_j = Array1::zeros(p);
                e_j[j] = 1.0;
                let mut d_psi = Array2::zeros((rows.len(), k));
                self.model.moments_derivative(
                    self.params(params, block),
                    rows,
                    e_j.view(),
                    d_psi.view_mut(),
                );
                // E_j restricted to its nonzero columns, and where they sit in g.
                let (e, cols): (Array2<f64>, Vec<usize>) = match block {
                    Block::Real => {
                        let mut e = Array2::zeros((self.data.n_rows(), k));
                        let w = self.weighted(d_psi);
                        for (r, &row) in labeled.iter().enumerate() {
                            e.row_mut(row).assign(&w.row(r));
                        }
                        (e, (0..k).collect())
                    }
                    Block::Source(m) => {
                        let mut e = Array2::zeros((self.data.n_rows(), 2 * k));
                        let lab = self.weighted(d_psi.select(Axis(0), labeled));
                        for (r, &row) in labeled.iter().enumerate() {
                            e.slice_mut(s![row, ..k]).assign(&lab.row(r));
                        }
                        e.slice_mut(s![.., k..]).assign(&d_psi);
                        let (lab_cols, all_cols) = self.source_columns(m);
                        (e, lab_cols.chain(all_cols).collect())
                    }
                };
                let eg = linalg::cross_product(e.view(), g.view()); // |cols| × K
                let mut d_omega = Array2::zeros((big_k, big_k));
                for (r, &c) in cols.iter().enumerate() {
                    for col in 0..big_k {
                        d_omega[[c, col]] += eg[[r, col]];
                        d_omega[[col, c]] += eg[[r, col]];
                    }
                }
                out.push(d_omega / t);
            }
        }
        out
    }

    /// The moments step 1 solves (indices into the K stacked moments): every moment for
    /// the identity step, else the real block and the all-rows blocks.
    pub(crate) fn step_one_moments(&self, identity: bool) -> Vec<usize> {
        let (k, m) = (self.k, self.n_sources());
        (0..self.n_moments())
            .filter(|&i| identity || i < k || i >= (1 + m) * k)
            .collect()
    }

    /// Ĝ = ∂ḡ/∂(θ, η)ᵀ (K × Q), block-sparse.
    pub(crate) fn jacobian(&self, params: ArrayView1<'_, f64>) -> Array2<f64> {
        let (k, p) = (self.k, self.p);
        let w = self.label_weights();
        let mut g = Array2::zeros((self.n_moments(), self.n_params()));
        g.slice_mut(s![..k, ..p]).assign(&self.model.jacobian(
            self.params(params, Block::Real),
            self.rows(Block::Real),
            w,
        ));
        for (m, src) in self.data.sources().iter().enumerate() {
            let block = Block::Source(m);
            let eta = self.params(params, block);
            let cols = block.index() * p..(block.index() + 1) * p;
            let (lab_rows, all_rows) = self.source_columns(m);
            let lab = self.model.jacobian(eta, src.labeled(), w);
            g.slice_mut(s![lab_rows, cols.clone()]).assign(&lab);
            let all = self.model.jacobian(eta, src.rows(), None);
            g.slice_mut(s![all_rows, cols]).assign(&all);
        }
        g / self.n_rows()
    }

    /// The identity step 1 of a source block: the labeled-rows mean of its moments
    /// (weighted) stacked above the all-rows mean, (1/T) scaled.
    pub(crate) fn source_residual(&self, m: usize, beta: ArrayView1<'_, f64>) -> Array1<f64> {
        let src = &self.data.sources()[m];
        let all = moment_matrix(self.model, beta, src.rows());
        let lab = self.weighted(all.select(Axis(0), self.data.labeled_rows()));
        let mut r = Array1::zeros(2 * self.k);
        r.slice_mut(s![..self.k]).assign(&lab.sum_axis(Axis(0)));
        r.slice_mut(s![self.k..]).assign(&all.sum_axis(Axis(0)));
        r / self.n_rows()
    }

    /// ∂(source residual)/∂βᵀ, matching [`source_residual`](Self::source_residual).
    pub(crate) fn source_jacobian(&self, m: usize, beta: ArrayView1<'_, f64>) -> Array2<f64> {
        let src = &self.data.sources()[m];
        let mut j = Array2::zeros((2 * self.k, self.p));
        j.slice_mut(s![..self.k, ..]).assign(&self.model.jacobian(
            beta,
            src.labeled(),
            self.label_weights(),
        ));
        j.slice_mut(s![self.k.., ..])
            .assign(&self.model.jacobian(beta, src.rows(), None));
        j / self.n_rows()
    }
}
