//! One pass over the chunks: the sums of the stacked moments, or of one block's.

use std::ops::AddAssign;

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::{map_ordered, Chunk, ChunkSet, Layout, MomentSums};
use crate::linalg::{column_sums, column_sums_and_squares, cross_product, gram};
use crate::moment::{moment_matrix, MomentModel};
use crate::rows::Rows;

/// What a stacked pass computes besides Σg.
#[derive(Clone, Copy, Default)]
pub(crate) struct Needs<'v> {
    pub jacobian: bool,
    pub omega: bool,
    /// Σ g_t² per moment alone (implied by `omega`).
    pub squares: bool,
    /// Windmeijer's contraction with this vector v (K).
    pub contraction: Option<ArrayView1<'v, f64>>,
    /// With clusters, u_c = s_cᵀv for every cluster c (set by [`stacked_sums`] itself;
    /// callers leave it `None`).
    pub cluster_u: Option<&'v Array1<f64>>,
}

/// The stacked sums at `params` over all chunks, merged in chunk order.
///
/// With clustered data, Ω̂'s sum is Σ_c s_c s_cᵀ · G/(G − 1) with s_c = Σ_{t∈c} g_t over
/// the G clusters whose rows enter the moments: each chunk returns its clusters' partial
/// sums, merged in chunk order into one G × K matrix.
pub(crate) fn stacked_sums<M: MomentModel + ?Sized + Sync, C: ChunkSet + ?Sized>(
    model: &M,
    chunks: &C,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    needs: Needs<'_>,
) -> MomentSums {
    let clustered = chunks.n_clusters().is_some();
    if clustered && needs.contraction.is_some() {
        return clustered_contraction(model, chunks, layout, params, needs);
    }
    let parts = chunks.map(|c| chunk_sums(model, c, layout, params, needs));
    let mut total = MomentSums::zeros(
        layout,
        needs.jacobian,
        needs.omega,
        needs.contraction.is_some(),
    )
    .with_squares(needs.squares);
    let clustered = clustered && needs.omega;
    let mut by_cluster = Array2::zeros((
        if clustered {
            chunks.n_clusters().unwrap_or(0)
        } else {
            0
        },
        layout.n_moments(),
    ));
    let mut seen = vec![false; by_cluster.nrows()];
    for (part, partials) in &parts {
        total.add(part);
        for (cluster, sum) in &partials.moments {
            by_cluster.row_mut(*cluster as usize).add_assign(sum);
            seen[*cluster as usize] = true;
        }
    }
    if clustered {
        let used = seen.iter().filter(|&&s| s).count();
        let omega = cluster_factor(used) * gram(by_cluster.view());
        if let Some(out) = total.parts_mut().omega {
            out.assign(&omega);
        }
    }
    total
}

/// Windmeijer's contraction for the clustered Ω̂ = f Σ_c s_c s_cᵀ / T (f = G/(G − 1)):
/// (∂Ω̂/∂β_j) v = f Σ_c [(∂s_c/∂β_j)(s_cᵀv) + s_c (∂s_c/∂β_j)ᵀv] / T. A first pass sums
/// s_c; the second weighs each row's Jacobian by its cluster's u_c = s_cᵀv and sums the
/// rows' (∂g_t/∂β)ᵀv by cluster.
fn clustered_contraction<M: MomentModel + ?Sized + Sync, C: ChunkSet + ?Sized>(
    model: &M,
    chunks: &C,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    needs: Needs<'_>,
) -> MomentSums {
    let v = needs.contraction.expect("a contraction was asked for");
    let g_clusters = chunks.n_clusters().unwrap_or(0);
    let sums_by_cluster =
        |parts: &[(MomentSums, Partials)], pick: fn(&Partials) -> &ClusterSums, width: usize| {
            let mut out = Array2::zeros((g_clusters, width));
            let mut seen = vec![false; g_clusters];
            for (_, partials) in parts {
                for (cluster, sum) in pick(partials) {
                    out.row_mut(*cluster as usize).add_assign(sum);
                    seen[*cluster as usize] = true;
                }
            }
            (out, seen.iter().filter(|&&s| s).count())
        };
    let first = Needs {
        jacobian: false,
        omega: true,
        squares: false,
        contraction: None,
        cluster_u: None,
    };
    let parts = chunks.map(|c| chunk_sums(model, c, layout, params, first));
    let (s_c, used) = sums_by_cluster(&parts, |p| &p.moments, layout.n_moments());
    let u_c = s_c.dot(&v);
    let second = Needs {
        cluster_u: Some(&u_c),
        ..needs
    };
    let parts = chunks.map(|c| chunk_sums(model, c, layout, params, second));
    let mut total =
        MomentSums::zeros(layout, needs.jacobian, needs.omega, true).with_squares(needs.squares);
    for (part, _) in &parts {
        total.add(part);
    }
    let (d_c, _) = sums_by_cluster(&parts, |p| &p.derivatives, layout.n_params());
    let factor = cluster_factor(used);
    if let Some(out) = total.parts_mut().contraction {
        *out += &s_c.t().dot(&d_c);
        *out *= factor;
    }
    total
}

/// G/(G − 1), the finite-cluster factor of a cluster-robust covariance (1 for G < 2, for
/// which no cluster-robust covariance exists and the callers report an error).
pub(crate) fn cluster_factor(clusters: usize) -> f64 {
    if clusters < 2 {
        1.0
    } else {
        clusters as f64 / (clusters as f64 - 1.0)
    }
}

/// Σ_c s_c s_cᵀ · G/(G − 1) with s_c the sum of the rows of `rows` in cluster c
/// (`cluster[i]` for row i), over the G clusters that have rows: the meat of a
/// cluster-robust sandwich. Also returns G.
pub(crate) fn clustered_gram(rows: ArrayView2<'_, f64>, cluster: &[u32]) -> (Array2<f64>, usize) {
    let n_clusters = cluster.iter().max().map_or(0, |&m| m as usize + 1);
    let mut sums = Array2::zeros((n_clusters, rows.ncols()));
    let mut seen = vec![false; n_clusters];
    for (row, &c) in rows.outer_iter().zip(cluster) {
        sums.row_mut(c as usize).add_assign(&row);
        seen[c as usize] = true;
    }
    let used = seen.iter().filter(|&&s| s).count();
    (cluster_factor(used) * gram(sums.view()), used)
}

/// A chunk's sums by cluster: of its moments g_t (for Ω̂) and of its rows'
/// (∂g_t/∂β)ᵀv (for the clustered Windmeijer contraction).
#[derive(Default)]
pub(crate) struct Partials {
    moments: ClusterSums,
    derivatives: ClusterSums,
}

/// Every row's stacked moments g_t at `params` mapped by `map` (d × K): the T × d
/// matrix with rows `map` g_t, in row order, without forming the T × K matrix of g_t
/// (each chunk's labeled columns map on its labeled rows, its all-rows columns on every
/// row). A linear representation θ̂ − θ ≈ K ḡ gives each row's influence K g_t / T.
pub(crate) fn mapped_rows<M: MomentModel + ?Sized + Sync, C: ChunkSet + ?Sized>(
    model: &M,
    chunks: &C,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    map: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let labeled_columns = layout.k * (1 + layout.sources);
    let (on_labeled, on_all) = (
        map.slice(s![.., ..labeled_columns]),
        map.slice(s![.., labeled_columns..]),
    );
    let parts = chunks.map(|c| {
        let moments = ChunkMoments::new(model, c, layout, params, false);
        let mut rows = moments.a.dot(&on_all.t());
        let labeled = moments.z.dot(&on_labeled.t());
        for (&t, row) in c.labeled.iter().zip(labeled.outer_iter()) {
            rows.row_mut(t).add_assign(&row);
        }
        rows
    });
    let views: Vec<ArrayView2<'_, f64>> = parts.iter().map(|a| a.view()).collect();
    ndarray::concatenate(Axis(0), &views).unwrap_or_else(|_| Array2::zeros((0, map.nrows())))
}

/// Sums of rows by cluster: (cluster, sum) pairs.
pub(crate) type ClusterSums = Vec<(u32, Array1<f64>)>;

/// The sums of the rows of `g` by cluster (`cluster[t]` for row t), in order of first
/// appearance within the chunk.
pub(crate) fn cluster_partials(g: &Array2<f64>, cluster: &[u32]) -> Vec<(u32, Array1<f64>)> {
    let mut out: Vec<(u32, Array1<f64>)> = Vec::new();
    let mut slot: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (row, &c) in g.outer_iter().zip(cluster) {
        let i = *slot.entry(c).or_insert_with(|| {
            out.push((c, Array1::zeros(g.ncols())));
            out.len() - 1
        });
        out[i].1 += &row;
    }
    out
}

fn weigh(weights: Option<ArrayView1<'_, f64>>, mut a: Array2<f64>) -> Array2<f64> {
    if let Some(w) = weights {
        a *= &w.insert_axis(Axis(1));
    }
    a
}

/// One chunk's moments: the labeled-rows columns Z = [wψ_real | wψ_m on labeled rows],
/// the all-rows columns A = [ψ_m] (times the observation weights) and, when asked
/// for, each block's Jacobian over the rows its moments sum (real, then the sources'
/// all-rows blocks).
struct ChunkMoments {
    z: Array2<f64>,
    a: Array2<f64>,
    jacobians: Vec<Array2<f64>>,
}

impl ChunkMoments {
    /// The moments of chunk `c` at `params`; each block's moments and Jacobian come from
    /// one sweep when the Jacobian is asked for.
    fn new<M: MomentModel + ?Sized>(
        model: &M,
        c: &Chunk<'_>,
        layout: Layout,
        params: ArrayView1<'_, f64>,
        jacobian: bool,
    ) -> Self {
        let Layout { k, p, sources: m } = layout;
        let n_c = c.labeled.len();
        let block = |b: usize| params.slice_move(s![b * p..(b + 1) * p]);
        let mut z = Array2::zeros((n_c, k * (1 + m)));
        let mut a = Array2::zeros((c.rows, k * m));
        let mut real_psi = Array2::zeros((n_c, k));
        let mut jacobians = Vec::new();
        if jacobian {
            jacobians.push(model.moments_and_jacobian(
                block(0),
                c.real,
                c.weights,
                real_psi.view_mut(),
            ));
        } else {
            model.moments(block(0), c.real, real_psi.view_mut());
        }
        z.slice_mut(s![.., ..k]).assign(&weigh(c.weights, real_psi));
        for (i, src) in c.sources.iter().enumerate() {
            let out = a.slice_mut(s![.., i * k..(i + 1) * k]);
            if jacobian {
                jacobians.push(model.moments_and_jacobian(block(i + 1), *src, c.row_weights, out));
            } else {
                model.moments(block(i + 1), *src, out);
            }
        }
        // The labeled rows' source moments carry the labeled weights; observation
        // weights multiply every row's all-rows moments (and so their labeled rows in Ω̂).
        z.slice_mut(s![.., k..])
            .assign(&weigh(c.weights, a.select(Axis(0), &c.labeled)));
        let a = weigh(c.row_weights, a);
        ChunkMoments { z, a, jacobians }
    }

    /// The block-sparse Jacobian: the real block, each source's labeled-rows block
    /// (one more sweep over its labeled rows) and its all-rows block.
    fn fill_jacobian<M: MomentModel + ?Sized>(
        &self,
        jac: &mut Array2<f64>,
        model: &M,
        c: &Chunk<'_>,
        layout: Layout,
        params: ArrayView1<'_, f64>,
    ) {
        let Layout { k, p, sources: m } = layout;
        let block = |b: usize| params.slice_move(s![b * p..(b + 1) * p]);
        jac.slice_mut(s![..k, ..p]).assign(&self.jacobians[0]);
        for i in 0..m {
            let cols = (i + 1) * p..(i + 2) * p;
            jac.slice_mut(s![(1 + i) * k..(2 + i) * k, cols.clone()])
                .assign(&model.jacobian(block(i + 1), c.sources_labeled[i], c.weights));
            jac.slice_mut(s![(1 + m + i) * k..(2 + m + i) * k, cols])
                .assign(&self.jacobians[i + 1]);
        }
    }

    /// Σggᵀ = [ZᵀZ, ZᵀA_lab; A_labᵀZ, AᵀA] into `omega`, or with clusters the sums of g_t
    /// by cluster (returned; `omega` untouched).
    fn second_moments(
        &self,
        omega: &mut Array2<f64>,
        c: &Chunk<'_>,
        layout: Layout,
    ) -> ClusterSums {
        let Layout { k, sources: m, .. } = layout;
        let q_lab = k * (1 + m);
        let (z, a) = (&self.z, &self.a);
        if let Some(cluster) = c.clusters {
            if m == 0 {
                // Only the labeled rows enter the moments.
                let labeled: Vec<u32> = c.labeled.iter().map(|&t| cluster[t]).collect();
                return cluster_partials(z, &labeled);
            }
            // g_t = [z_t on labeled rows, 0 elsewhere; a_t] summed by cluster.
            let mut g_rows = Array2::zeros((c.rows, q_lab + k * m));
            for (r, &t) in c.labeled.iter().enumerate() {
                g_rows.slice_mut(s![t, ..q_lab]).assign(&z.row(r));
            }
            g_rows.slice_mut(s![.., q_lab..]).assign(a);
            return cluster_partials(&g_rows, cluster);
        }
        omega
            .slice_mut(s![..q_lab, ..q_lab])
            .assign(&gram(z.view()));
        if m > 0 {
            let a_lab = a.select(Axis(0), &c.labeled);
            let cross = cross_product(z.view(), a_lab.view());
            omega.slice_mut(s![..q_lab, q_lab..]).assign(&cross);
            omega.slice_mut(s![q_lab.., ..q_lab]).assign(&cross.t());
            omega
                .slice_mut(s![q_lab.., q_lab..])
                .assign(&gram(a.view()));
        }
        Vec::new()
    }
}

/// The sums of one chunk. With labeled-rows columns Z = [wψ_real | wψ_m on labeled
/// rows] and all-rows columns A = [ψ_m], g_t = [z_t (labeled rows); a_t], so
/// Σg = [ΣZ; ΣA], Σggᵀ = [ZᵀZ, ZᵀA_lab; A_labᵀZ, AᵀA] and the Jacobian is block-sparse.
pub(crate) fn chunk_sums<M: MomentModel + ?Sized>(
    model: &M,
    c: &Chunk<'_>,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    needs: Needs<'_>,
) -> (MomentSums, Partials) {
    let q_lab = layout.k * (1 + layout.sources);
    let sums_only =
        !needs.jacobian && !needs.omega && !needs.squares && needs.contraction.is_none();
    if sums_only {
        let mut sums = MomentSums::zeros(layout, false, false, false);
        let parts = sums.parts_mut();
        *parts.rows = c.rows as f64;
        *parts.labeled = c.labeled.len() as f64;
        parts.g.assign(&chunk_moment_sums(model, c, layout, params));
        return (sums, Partials::default());
    }
    let moments = ChunkMoments::new(model, c, layout, params, needs.jacobian);
    let mut sums = MomentSums::zeros(
        layout,
        needs.jacobian,
        needs.omega,
        needs.contraction.is_some(),
    )
    .with_squares(needs.squares);
    let super::sums::SumsMut {
        rows,
        labeled,
        g,
        jacobian,
        omega,
        mut squares,
        contraction,
    } = sums.parts_mut();
    *rows = c.rows as f64;
    *labeled = c.labeled.len() as f64;
    // Σg, and Σg² from the same sweep when asked for alone.
    for (columns, range) in [(&moments.z, 0..q_lab), (&moments.a, q_lab..g.len())] {
        match squares.as_deref_mut() {
            Some(out) => {
                let (sum, sum_squares) = column_sums_and_squares(columns.view());
                g.slice_mut(s![range.clone()]).assign(&sum);
                out.slice_mut(s![range]).assign(&sum_squares);
            }
            None => g
                .slice_mut(s![range])
                .assign(&column_sums(columns.view(), false)),
        }
    }
    if let Some(jac) = jacobian {
        moments.fill_jacobian(jac, model, c, layout, params);
    }
    let mut partials = Partials::default();
    if let Some(omega) = omega {
        partials.moments = moments.second_moments(omega, c, layout);
    }
    if let (Some(out), Some(v)) = (contraction, needs.contraction) {
        let along = Along {
            v,
            cluster_u: needs.cluster_u.zip(c.clusters),
        };
        if let Some(derivatives) = contract(model, c, layout, params, along, &moments, out) {
            partials.derivatives = derivatives;
        }
    }
    (sums, partials)
}

/// Σg of one chunk when nothing else is asked for: each block's sums from the model's
/// [`MomentModel::moment_sums`], without the chunk's rows × K moments (the same sums as
/// [`ChunkMoments`]' columns, to rounding).
fn chunk_moment_sums<M: MomentModel + ?Sized>(
    model: &M,
    c: &Chunk<'_>,
    layout: Layout,
    params: ArrayView1<'_, f64>,
) -> Array1<f64> {
    let Layout { k, p, sources: m } = layout;
    let block = |b: usize| params.slice_move(s![b * p..(b + 1) * p]);
    let mut g = Array1::zeros(k * (1 + 2 * m));
    g.slice_mut(s![..k])
        .assign(&model.moment_sums(block(0), c.real, c.weights));
    for (i, src) in c.sources.iter().enumerate() {
        let labeled = model.moment_sums(block(i + 1), c.sources_labeled[i], c.weights);
        g.slice_mut(s![(1 + i) * k..(2 + i) * k]).assign(&labeled);
        let all = model.moment_sums(block(i + 1), *src, c.row_weights);
        g.slice_mut(s![(1 + m + i) * k..(2 + m + i) * k])
            .assign(&all);
    }
    g
}

/// The direction of Windmeijer's contraction: v, and with clusters u_c per cluster and
/// the rows' clusters.
struct Along<'v> {
    v: ArrayView1<'v, f64>,
    cluster_u: Option<(&'v Array1<f64>, &'v [u32])>,
}

/// Windmeijer's contraction of one chunk: column j of `out` gains
/// Σ_t (∂g_t/∂β_j) u_t + Σ_t g_t s_tj with u_t = g_tᵀv and s_tj = (∂g_t/∂β_j)ᵀv, so that
/// over all rows it is T (∂Ω̂/∂β_j) v. The first sum is a Jacobian weighted by u; the
/// second needs the per-row derivatives along each parameter.
///
/// With clusters (`cluster_u`: u_c per cluster, and the rows' clusters) u_t is its
/// cluster's u_c, and the rows s_t are returned summed by cluster instead of the second
/// sum (which the caller forms from the cluster sums of g).
fn contract<M: MomentModel + ?Sized>(
    model: &M,
    c: &Chunk<'_>,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    along: Along<'_>,
    moments: &ChunkMoments,
    out: &mut Array2<f64>,
) -> Option<Vec<(u32, Array1<f64>)>> {
    let q_lab = layout.k * (1 + layout.sources);
    let (z, a) = (&moments.z, &moments.a);
    let v = along.v;
    // u_t = g_tᵀv on every row: the all-rows part, plus the labeled part where labeled.
    let u_all = match along.cluster_u {
        Some((u_c, cluster)) => cluster.iter().map(|&g| u_c[g as usize]).collect(),
        None => {
            let mut u_all = a.dot(&v.slice(s![q_lab..]));
            let labeled_part = z.dot(&v.slice(s![..q_lab]));
            for (r, &t) in c.labeled.iter().enumerate() {
                u_all[t] += labeled_part[r];
            }
            u_all
        }
    };
    add_u_weighted_jacobians(model, c, layout, params, &u_all, out);
    let s_all = row_derivatives(model, c, layout, params, v);
    if let Some((_, cluster)) = along.cluster_u {
        return Some(cluster_partials(&s_all, cluster));
    }
    // Σ_t g_t s_tᵀ.
    let s_lab = s_all.select(Axis(0), &c.labeled);
    {
        let mut view = out.slice_mut(s![..q_lab, ..]);
        view += &cross_product(z.view(), s_lab.view());
    }
    {
        let mut view = out.slice_mut(s![q_lab.., ..]);
        view += &cross_product(a.view(), s_all.view());
    }
    None
}

/// Σ_t (∂g_t/∂β_j) u_t into `out`: each block's Jacobian weighted by u (times the rows'
/// weights).
fn add_u_weighted_jacobians<M: MomentModel + ?Sized>(
    model: &M,
    c: &Chunk<'_>,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    u_all: &Array1<f64>,
    out: &mut Array2<f64>,
) {
    let Layout { k, p, sources: m } = layout;
    let block = |b: usize| params.slice_move(s![b * p..(b + 1) * p]);
    let wu_lab = u_all.select(Axis(0), &c.labeled);
    let wu_lab = match c.weights {
        Some(w) => wu_lab * w,
        None => wu_lab,
    };
    {
        let mut view = out.slice_mut(s![..k, ..p]);
        view += &model.jacobian(block(0), c.real, Some(wu_lab.view()));
    }
    let wu_all = match c.row_weights {
        Some(w) => u_all * &w,
        None => u_all.clone(),
    };
    for i in 0..m {
        let cols = (i + 1) * p..(i + 2) * p;
        {
            let mut view = out.slice_mut(s![(1 + i) * k..(2 + i) * k, cols.clone()]);
            view += &model.jacobian(block(i + 1), c.sources_labeled[i], Some(wu_lab.view()));
        }
        let mut view = out.slice_mut(s![(1 + m + i) * k..(2 + m + i) * k, cols]);
        view += &model.jacobian(block(i + 1), c.sources[i], Some(wu_all.view()));
    }
}

/// s_t = (∂g_t/∂β)ᵀv on every row of the chunk (real parameters: labeled rows only):
/// per block, the transposed derivative against the block's part of v.
fn row_derivatives<M: MomentModel + ?Sized>(
    model: &M,
    c: &Chunk<'_>,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    v: ArrayView1<'_, f64>,
) -> Array2<f64> {
    let Layout { k, p, sources: m } = layout;
    let block = |b: usize| params.slice_move(s![b * p..(b + 1) * p]);
    let mut s_all = Array2::zeros((c.rows, layout.n_params()));
    let mut s_real = Array2::zeros((c.real.len(), p));
    let v_real = v.slice(s![..k]).insert_axis(Axis(0));
    let v_real = v_real
        .broadcast((c.real.len(), k))
        .expect("one row broadcast");
    model.moments_derivative_transposed(block(0), c.real, v_real, s_real.view_mut());
    let s_real = weigh(c.weights, s_real);
    for (r, &t) in c.labeled.iter().enumerate() {
        s_all.slice_mut(s![t, ..p]).assign(&s_real.row(r));
    }
    for i in 0..m {
        // V_t = ω_t v_all + w_t S_t v_lab (ω_t the observation weight, w_t the labeled
        // rows' weight).
        let v_all = v.slice(s![(1 + m + i) * k..(2 + m + i) * k]);
        let v_lab = v.slice(s![(1 + i) * k..(2 + i) * k]);
        let mut per_row = Array2::zeros((c.rows, k));
        per_row += &v_all.insert_axis(Axis(0));
        if let Some(w) = c.row_weights {
            per_row *= &w.insert_axis(Axis(1));
        }
        for (r, &t) in c.labeled.iter().enumerate() {
            let w = c.weights.map_or(1.0, |w| w[r]);
            per_row.row_mut(t).scaled_add(w, &v_lab);
        }
        model.moments_derivative_transposed(
            block(i + 1),
            c.sources[i],
            per_row.view(),
            s_all.slice_mut(s![.., (i + 1) * p..(i + 2) * p]),
        );
    }
    s_all
}

/// Sums of one block's moments over its rows: Σ w_t ψ_t, and on request the weighted
/// Jacobian and the column sums of squares Σ ψ_t².
pub(crate) struct BlockSums {
    pub sum: Array1<f64>,
    pub jacobian: Option<Array2<f64>>,
    pub squares: Option<Array1<f64>>,
}

/// [`BlockSums`] of `rows` at `beta`, in chunks of `chunk_rows`, merged in order.
pub(crate) fn block_sums<M: MomentModel + ?Sized + Sync>(
    model: &M,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    beta: ArrayView1<'_, f64>,
    jacobian: bool,
    squares: bool,
    chunk_rows: usize,
) -> BlockSums {
    let n = rows.len();
    let ranges = super::chunk_ranges(n, chunk_rows);
    let parts = map_ordered(&ranges, |range| {
        let w = weights.map(|w| w.slice_move(s![range.clone()]));
        chunk_block_sums(model, rows.slice(range.clone()), w, beta, jacobian, squares)
    });
    merge_block_sums(&parts, model.n_moments(rows), beta.len(), jacobian, squares)
}

/// One chunk's [`BlockSums`].
pub(crate) fn chunk_block_sums<M: MomentModel + ?Sized>(
    model: &M,
    rows: Rows<'_>,
    w: Option<ArrayView1<'_, f64>>,
    beta: ArrayView1<'_, f64>,
    jacobian: bool,
    squares: bool,
) -> BlockSums {
    if !jacobian && !squares {
        return BlockSums {
            sum: model.moment_sums(beta, rows, w),
            jacobian: None,
            squares: None,
        };
    }
    let (psi, jac) = if jacobian {
        let mut psi = Array2::zeros((rows.len(), model.n_moments(rows)));
        let jac = model.moments_and_jacobian(beta, rows, w, psi.view_mut());
        (psi, Some(jac))
    } else {
        (moment_matrix(model, beta, rows), None)
    };
    let (sum, squares) = match (w, squares) {
        (None, true) => {
            let (sum, squares) = column_sums_and_squares(psi.view());
            (sum, Some(squares))
        }
        (None, false) => (column_sums(psi.view(), false), None),
        (Some(w), _) => (w.dot(&psi), squares.then(|| column_sums(psi.view(), true))),
    };
    BlockSums {
        sum,
        jacobian: jac,
        squares,
    }
}

/// Chunks' [`BlockSums`] added in order (k moments, p parameters).
pub(crate) fn merge_block_sums(
    parts: &[BlockSums],
    k: usize,
    p: usize,
    jacobian: bool,
    squares: bool,
) -> BlockSums {
    let mut total = BlockSums {
        sum: Array1::zeros(k),
        jacobian: jacobian.then(|| Array2::zeros((k, p))),
        squares: squares.then(|| Array1::zeros(k)),
    };
    for part in parts {
        total.sum += &part.sum;
        if let (Some(a), Some(b)) = (total.jacobian.as_mut(), part.jacobian.as_ref()) {
            *a += b;
        }
        if let (Some(a), Some(b)) = (total.squares.as_mut(), part.squares.as_ref()) {
            *a += b;
        }
    }
    total
}
