//! One pass over the chunks: the sums of the stacked moments, or of one block's.

use ndarray::{s, Array1, Array2, ArrayView1, Axis};

use super::{map_ordered, Chunk, Layout, MomentSums};
use crate::linalg::{column_sums, cross_product, gram};
use crate::moment::{moment_matrix, MomentModel};
use crate::rows::Rows;

/// What a stacked pass computes besides Σg.
#[derive(Clone, Copy, Default)]
pub(crate) struct Needs<'v> {
    pub jacobian: bool,
    pub omega: bool,
    /// Windmeijer's contraction with this vector v (K).
    pub contraction: Option<ArrayView1<'v, f64>>,
}

/// The stacked sums at `params` over all chunks, merged in chunk order.
pub(crate) fn stacked_sums<M: MomentModel + ?Sized + Sync>(
    model: &M,
    chunks: &[Chunk<'_>],
    layout: Layout,
    params: ArrayView1<'_, f64>,
    needs: Needs<'_>,
) -> MomentSums {
    let parts = map_ordered(chunks, |c| chunk_sums(model, c, layout, params, needs));
    let mut total = MomentSums::zeros(
        layout,
        needs.jacobian,
        needs.omega,
        needs.contraction.is_some(),
    );
    for part in &parts {
        total.add(part);
    }
    total
}

fn weigh(weights: Option<ArrayView1<'_, f64>>, mut a: Array2<f64>) -> Array2<f64> {
    if let Some(w) = weights {
        a *= &w.insert_axis(Axis(1));
    }
    a
}

/// The sums of one chunk. With labeled-rows columns Z = [wψ_real | wψ_m on labeled
/// rows] and all-rows columns A = [ψ_m], g_t = [z_t (labeled rows); a_t], so
/// Σg = [ΣZ; ΣA], Σggᵀ = [ZᵀZ, ZᵀA_lab; A_labᵀZ, AᵀA] and the Jacobian is block-sparse.
fn chunk_sums<M: MomentModel + ?Sized>(
    model: &M,
    c: &Chunk<'_>,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    needs: Needs<'_>,
) -> MomentSums {
    let Layout { k, p, sources: m } = layout;
    let q_lab = k * (1 + m);
    let n_c = c.labeled.len();
    let block = |b: usize| params.slice_move(s![b * p..(b + 1) * p]);
    let mut z = Array2::zeros((n_c, q_lab));
    let mut a = Array2::zeros((c.rows, k * m));
    // With a Jacobian asked for, each block's moments and Jacobian come from one sweep.
    let mut real_psi = Array2::zeros((n_c, k));
    let mut jacobians = Vec::new();
    if needs.jacobian {
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
        if needs.jacobian {
            jacobians.push(model.moments_and_jacobian(block(i + 1), *src, None, out));
        } else {
            model.moments(block(i + 1), *src, out);
        }
    }
    let a_lab = a.select(Axis(0), &c.labeled);
    z.slice_mut(s![.., k..])
        .assign(&weigh(c.weights, a_lab.clone()));

    let mut sums = MomentSums::zeros(
        layout,
        needs.jacobian,
        needs.omega,
        needs.contraction.is_some(),
    );
    let super::sums::SumsMut {
        rows,
        labeled,
        g,
        jacobian: jac,
        omega,
        contraction,
    } = sums.parts_mut();
    *rows = c.rows as f64;
    *labeled = n_c as f64;
    g.slice_mut(s![..q_lab])
        .assign(&column_sums(z.view(), false));
    g.slice_mut(s![q_lab..])
        .assign(&column_sums(a.view(), false));
    if let Some(jac) = jac {
        jac.slice_mut(s![..k, ..p]).assign(&jacobians[0]);
        for i in 0..m {
            let cols = (i + 1) * p..(i + 2) * p;
            jac.slice_mut(s![(1 + i) * k..(2 + i) * k, cols.clone()])
                .assign(&model.jacobian(block(i + 1), c.sources_labeled[i], c.weights));
            jac.slice_mut(s![(1 + m + i) * k..(2 + m + i) * k, cols])
                .assign(&jacobians[i + 1]);
        }
    }
    if let Some(omega) = omega {
        omega
            .slice_mut(s![..q_lab, ..q_lab])
            .assign(&gram(z.view()));
        if m > 0 {
            let cross = cross_product(z.view(), a_lab.view());
            omega.slice_mut(s![..q_lab, q_lab..]).assign(&cross);
            omega.slice_mut(s![q_lab.., ..q_lab]).assign(&cross.t());
            omega
                .slice_mut(s![q_lab.., q_lab..])
                .assign(&gram(a.view()));
        }
    }
    if let (Some(out), Some(v)) = (contraction, needs.contraction) {
        contract(model, c, layout, params, v, &z, &a, out);
    }
    sums
}

/// Windmeijer's contraction of one chunk: column j of `out` gains
/// Σ_t (∂g_t/∂β_j) u_t + Σ_t g_t s_tj with u_t = g_tᵀv and s_tj = (∂g_t/∂β_j)ᵀv, so that
/// over all rows it is T (∂Ω̂/∂β_j) v. The first sum is a Jacobian weighted by u; the
/// second needs the per-row derivatives along each parameter.
#[allow(clippy::too_many_arguments)]
fn contract<M: MomentModel + ?Sized>(
    model: &M,
    c: &Chunk<'_>,
    layout: Layout,
    params: ArrayView1<'_, f64>,
    v: ArrayView1<'_, f64>,
    z: &Array2<f64>,
    a: &Array2<f64>,
    out: &mut Array2<f64>,
) {
    let Layout { k, p, sources: m } = layout;
    let q_lab = k * (1 + m);
    let q = layout.n_params();
    let block = |b: usize| params.slice_move(s![b * p..(b + 1) * p]);
    let weighted = |x: Array1<f64>| match c.weights {
        Some(w) => x * w,
        None => x,
    };
    // u_t = g_tᵀv on every row: the all-rows part, plus the labeled part where labeled.
    let mut u_all = a.dot(&v.slice(s![q_lab..]));
    let labeled_part = z.dot(&v.slice(s![..q_lab]));
    for (r, &t) in c.labeled.iter().enumerate() {
        u_all[t] += labeled_part[r];
    }
    let wu_lab = weighted(u_all.select(Axis(0), &c.labeled));
    // Σ_t (∂g_t/∂β_j) u_t.
    {
        let mut view = out.slice_mut(s![..k, ..p]);
        view += &model.jacobian(block(0), c.real, Some(wu_lab.view()));
    }
    for i in 0..m {
        let cols = (i + 1) * p..(i + 2) * p;
        {
            let mut view = out.slice_mut(s![(1 + i) * k..(2 + i) * k, cols.clone()]);
            view += &model.jacobian(block(i + 1), c.sources_labeled[i], Some(wu_lab.view()));
        }
        {
            let mut view = out.slice_mut(s![(1 + m + i) * k..(2 + m + i) * k, cols]);
            view += &model.jacobian(block(i + 1), c.sources[i], Some(u_all.view()));
        }
    }
    // s_t = (∂g_t/∂β)ᵀv on every row of the chunk (real parameters: labeled rows only):
    // per block, the transposed derivative against the block's part of v.
    let mut s_all = Array2::zeros((c.rows, q));
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
        // V_t = v_all + w_t S_t v_lab.
        let v_all = v.slice(s![(1 + m + i) * k..(2 + m + i) * k]);
        let v_lab = v.slice(s![(1 + i) * k..(2 + i) * k]);
        let mut per_row = Array2::zeros((c.rows, k));
        per_row += &v_all.insert_axis(Axis(0));
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
    let size = chunk_rows.max(1);
    let ranges: Vec<_> = (0..n.div_ceil(size))
        .map(|c| c * size..((c + 1) * size).min(n))
        .collect();
    let parts = map_ordered(&ranges, |range| {
        let rows = rows.slice(range.clone());
        let w = weights.map(|w| w.slice_move(s![range.clone()]));
        let (psi, jac) = if jacobian {
            let mut psi = Array2::zeros((rows.len(), model.n_moments(rows)));
            let jac = model.moments_and_jacobian(beta, rows, w, psi.view_mut());
            (psi, Some(jac))
        } else {
            (moment_matrix(model, beta, rows), None)
        };
        BlockSums {
            sum: match w {
                Some(w) => w.dot(&psi),
                None => column_sums(psi.view(), false),
            },
            jacobian: jac,
            squares: squares.then(|| column_sums(psi.view(), true)),
        }
    });
    let k = model.n_moments(rows);
    let mut total = BlockSums {
        sum: Array1::zeros(k),
        jacobian: jacobian.then(|| Array2::zeros((k, beta.len()))),
        squares: squares.then(|| Array1::zeros(k)),
    };
    for part in &parts {
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
