//! CR2, the cluster-robust analogue of HC2, with each coefficient's Bell–McCaffrey
//! degrees of freedom (Bell and McCaffrey 2002; Imbens and Kolesár 2016; Pustejovsky
//! and Tipton 2018), for a fit on the labeled rows.
//!
//! In the working design X̄ (see [`MomentModel::working_design`]), with M = (X̄ᵀX̄)⁻¹ and
//! H_gg = X̄_g M X̄_gᵀ the hat matrix's block of cluster g, CR2 replaces the cluster's
//! score s_g = X̄_gᵀ r̄_g (the sum of its rows' moments) by X̄_gᵀ B_g r̄_g with
//! B_g = (I − H_gg)^(−1/2). H_gg has rank at most p: with R = M^(1/2),
//! G_g = X̄_gᵀX̄_g and R G_g R = V diag(λ) Vᵀ (λ the nonzero eigenvalues of H_gg),
//!
//!   X̄_gᵀ B_g r̄_g = C_g s_g,   C_g = I + G_g R V diag(((1 − λ)^(−1/2) − 1)/λ) Vᵀ R,
//!
//! so the meat Σ_g C_g s_g s_gᵀ C_gᵀ needs p × p matrices per cluster and never an
//! n_g × n_g one.
//!
//! The degrees of freedom of coefficient j, under the working model of independent
//! rows with homoskedastic working errors: with u_g = B_g X̄_g M e_j the variance of θ̂_j
//! is εᵀQQᵀε, Q's columns q_g = (I − H)_{·g} u_g, so ν_j = (tr QᵀQ)² / tr((QᵀQ)²), where
//! QᵀQ = diag(δ_g) − VᵀMV with v_g = X̄_gᵀu_g = C_g G_g M e_j, δ_g = u_gᵀu_g =
//! e_jᵀM E_g M e_j and E_g = X̄_gᵀB_g²X̄_g = G_g + G_g R V diag(1/(1 − λ)) Vᵀ R G_g:
//!
//!   tr QᵀQ = Σ δ_g − Σ v_gᵀMv_g,   tr((QᵀQ)²) = Σ δ_g² − 2 Σ δ_g v_gᵀMv_g + tr((MS)²),
//!
//! S = Σ_g v_g v_gᵀ; O(G p³) in all. With clusters of one row these are HC2 and the
//! row-wise ν_j of [`super::bell_mccaffrey_dof`]. As for HC2, 1 − λ is kept at least
//! 0.1. The work is done with the columns of X̄ scaled to unit diagonal of X̄ᵀX̄, so
//! that covariates in very different units lose nothing to rounding (ν_j does not
//! depend on the scaling; the covariance is scaled back).
//!
//! Absorbed fixed effects add columns Z to the working design (see
//! [`crate::fixed_effects`]) with zero coefficients and scores Z_gᵀr̄_g, r̄_t the
//! working residual (ψ_t = x̄_t r̄_t): the formulas above then run over the p + r
//! columns, and θ's block of the covariance and its ν_j are those of the regression
//! with indicator columns.

use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};

use crate::moment::MomentModel;
use crate::rows::Rows;

/// The CR2 covariance of θ̂ and each coefficient's Bell–McCaffrey degrees of freedom.
#[derive(Debug, Clone)]
pub(crate) struct Cr2 {
    /// J⁻¹ (Σ_g C_g s_g s_gᵀ C_gᵀ) J⁻ᵀ.
    pub cov: Array2<f64>,
    /// ν_j.
    pub dof: Array1<f64>,
}

impl Cr2 {
    /// `estimate` with this covariance, each coefficient's degrees of freedom (t(G − 1)
    /// the common reference, `g` clusters, `n` labeled rows) and its clustered note
    /// marked CR2.
    ///
    /// # Errors
    /// `InvalidEstimate` for a covariance that is not finite.
    pub(crate) fn applied_to(
        self,
        estimate: crate::Estimate,
        n: usize,
        g: usize,
    ) -> crate::error::Result<crate::Estimate> {
        let mut estimate = estimate.with_cov(self.cov)?;
        for note in estimate.notes_mut() {
            if let crate::inference::Note::Clustered { cr2, .. } = note {
                *cr2 = true;
            }
        }
        Ok(super::SmallSample::Hc2BellMcCaffrey.with_quantiles(
            estimate,
            n,
            Some(g),
            Some(self.dof),
        ))
    }
}

/// The cluster of each row and the extra working-design columns of absorbed fixed
/// effects, if any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClusterDesign<'a> {
    pub ids: &'a [u32],
    pub absorbed: Option<ArrayView2<'a, f64>>,
}

impl<'a> From<&'a [u32]> for ClusterDesign<'a> {
    fn from(ids: &'a [u32]) -> Self {
        ClusterDesign {
            ids,
            absorbed: None,
        }
    }
}

/// Per cluster, the equilibrated Gram G̃_g = D G_g D and score s̃_g = D s_g
/// (D = diag(J̄_jj^(−1/2))).
struct ClusterSums {
    gram: Array3<f64>,
    score: Array2<f64>,
}

/// CR2 and the cluster Bell–McCaffrey degrees of freedom of the fit at θ over `rows`
/// (weights w_t, `clusters.ids[t]` the cluster of row t, `clusters.absorbed` the
/// absorbed effects' columns), with `j_sum` = Σ w ∂ψ/∂θᵀ over those rows. `None` when
/// the model has no working design, J is singular or a number is not finite.
pub(crate) fn cr2_bell_mccaffrey<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    clusters: ClusterDesign<'_>,
    j_sum: &Array2<f64>,
) -> Option<Cr2> {
    let p = theta.len();
    // J̄ = X̄ᵀX̄ = −J (with ZᵀWZ beside it), equilibrated: J̃ = D J̄ D with unit diagonal.
    let j_bar = augmented_gram(j_sum, clusters.absorbed, weights);
    let d = j_bar.diag().mapv(|v| 1.0 / v.sqrt());
    if !d.iter().all(|v| v.is_finite()) {
        return None;
    }
    let j_tilde = crate::linalg::scale_both_sides(j_bar.view(), d.view());
    let m = crate::linalg::inverse(j_tilde.view())?;
    let root = symmetric_root(&m)?;
    let sums = cluster_sums(model, theta, rows, weights, clusters, &d)?;
    let per_cluster = crate::chunks::map_ordered(
        &crate::chunks::chunk_ranges(sums.score.nrows(), 256),
        |range| adjust(&sums, range.clone(), &m, &root, p),
    );
    let width = j_bar.nrows();
    let mut meat = Array2::<f64>::zeros((width, width));
    let mut dof = DofParts::new(p, width);
    for part in per_cluster {
        let (part_meat, part_dof) = part?;
        meat += &part_meat;
        dof.add(&part_dof);
    }
    let half = m.dot(&meat).dot(&m);
    let cov = crate::linalg::scale_both_sides(half.view(), d.view());
    let dof = dof.dof(&m)?;
    Some(Cr2 {
        cov: crate::linalg::symmetrize(cov.slice(s![..p, ..p]).to_owned()),
        dof,
    })
}

/// −J, with ZᵀWZ beside it when fixed effects were absorbed (Z is orthogonal to the
/// working design).
fn augmented_gram(
    j_sum: &Array2<f64>,
    absorbed: Option<ArrayView2<'_, f64>>,
    weights: Option<ArrayView1<'_, f64>>,
) -> Array2<f64> {
    let Some(z) = absorbed else {
        return -j_sum;
    };
    let (p, r) = (j_sum.nrows(), z.ncols());
    let zw = match weights {
        Some(w) => &z * &w.insert_axis(Axis(1)),
        None => z.to_owned(),
    };
    let mut gram = Array2::zeros((p + r, p + r));
    gram.slice_mut(s![..p, ..p]).assign(&-j_sum);
    gram.slice_mut(s![p.., p..]).assign(&zw.t().dot(&z));
    gram
}

/// The symmetric square root of a positive definite matrix.
fn symmetric_root(m: &Array2<f64>) -> Option<Array2<f64>> {
    let (values, vectors) = crate::linalg::symmetric_eigen(m.view())?;
    if values.iter().any(|&v| v <= 0.0) {
        return None;
    }
    let scaled = &vectors * &values.mapv(f64::sqrt).insert_axis(Axis(0));
    Some(scaled.dot(&vectors.t()))
}

/// One pass over the rows: each cluster's equilibrated Gram matrix and score, for the
/// clusters with rows here (in order of first appearance).
fn cluster_sums<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    weights: Option<ArrayView1<'_, f64>>,
    clusters: ClusterDesign<'_>,
    d: &Array1<f64>,
) -> Option<ClusterSums> {
    let width = d.len();
    let ranges = crate::chunks::chunk_ranges(rows.len(), crate::chunks::DEFAULT_CHUNK_ROWS);
    let chunks = crate::chunks::map_ordered(&ranges, |range| {
        let (mut design, mut moments) =
            working_rows(model, theta, rows, clusters.absorbed, range.clone())?;
        if let Some(w) = weights {
            let w = w.slice(s![range.clone()]);
            design *= &w.mapv(f64::sqrt).insert_axis(Axis(1));
            moments *= &w.insert_axis(Axis(1));
        }
        design *= &d.view().insert_axis(Axis(0));
        moments *= &d.view().insert_axis(Axis(0));
        Some((design, moments))
    });
    let mut index = std::collections::HashMap::new();
    for &c in clusters.ids {
        let next = index.len();
        index.entry(c).or_insert(next);
    }
    let g = index.len();
    let mut gram = Array3::<f64>::zeros((g, width, width));
    let mut score = Array2::<f64>::zeros((g, width));
    for (range, chunk) in ranges.iter().zip(chunks) {
        let (design, moments) = chunk?;
        for (i, t) in range.clone().enumerate() {
            let k = index[&clusters.ids[t]];
            let x = design.row(i);
            let mut cluster_gram = gram.index_axis_mut(Axis(0), k);
            for a in 0..width {
                for b in 0..width {
                    cluster_gram[[a, b]] += x[a] * x[b];
                }
            }
            let mut cluster_score = score.row_mut(k);
            cluster_score += &moments.row(i);
        }
    }
    Some(ClusterSums { gram, score })
}

/// The working design and moments of the rows in `range`, unweighted; with absorbed
/// columns Z, [X̄, Z] and [ψ, Z r̄] with the working residual r̄_t = ψ_tᵀx̄_t / x̄_tᵀx̄_t.
fn working_rows<M: MomentModel + ?Sized>(
    model: &M,
    theta: ArrayView1<'_, f64>,
    rows: Rows<'_>,
    absorbed: Option<ArrayView2<'_, f64>>,
    range: std::ops::Range<usize>,
) -> Option<(Array2<f64>, Array2<f64>)> {
    let chunk = rows.slice(range.clone());
    let design = model.working_design(theta, chunk)?;
    let mut moments = Array2::zeros((range.len(), theta.len()));
    model.moments(theta, chunk, moments.view_mut());
    let Some(z) = absorbed else {
        return Some((design, moments));
    };
    let z = z.slice(s![range, ..]);
    let residual = Array1::from_shape_fn(design.nrows(), |i| {
        let x = design.row(i);
        let norm = x.dot(&x);
        if norm > 0.0 {
            moments.row(i).dot(&x) / norm
        } else {
            0.0
        }
    });
    let z_moments = &z * &residual.insert_axis(Axis(1));
    Some((
        ndarray::concatenate(Axis(1), &[design.view(), z]).ok()?,
        ndarray::concatenate(Axis(1), &[moments.view(), z_moments.view()]).ok()?,
    ))
}

/// Per coefficient j, the sums Σ δ_g, Σ δ_g², Σ v_gᵀMv_g, Σ δ_g v_gᵀMv_g and
/// S = Σ v_g v_gᵀ over some clusters.
#[derive(Debug, Clone)]
struct DofParts {
    delta: Array1<f64>,
    delta_squared: Array1<f64>,
    quadratic: Array1<f64>,
    cross: Array1<f64>,
    outer: Array3<f64>,
}

impl DofParts {
    /// The sums for the first `p` of `width` working-design columns.
    fn new(p: usize, width: usize) -> Self {
        Self {
            delta: Array1::zeros(p),
            delta_squared: Array1::zeros(p),
            quadratic: Array1::zeros(p),
            cross: Array1::zeros(p),
            outer: Array3::zeros((p, width, width)),
        }
    }

    fn add(&mut self, other: &DofParts) {
        self.delta += &other.delta;
        self.delta_squared += &other.delta_squared;
        self.quadratic += &other.quadratic;
        self.cross += &other.cross;
        self.outer += &other.outer;
    }

    /// ν_j = (tr QᵀQ)² / tr((QᵀQ)²) for every j, at least 1; `None` if not finite.
    fn dof(&self, m: &Array2<f64>) -> Option<Array1<f64>> {
        let p = self.delta.len();
        let dof = Array1::from_shape_fn(p, |j| {
            let ms = m.dot(&self.outer.index_axis(Axis(0), j));
            let trace = self.delta[j] - self.quadratic[j];
            let squared = self.delta_squared[j] - 2.0 * self.cross[j] + (&ms * &ms.t()).sum();
            trace * trace / squared
        });
        dof.iter()
            .all(|v| v.is_finite() && *v > 0.0)
            .then(|| dof.mapv(|v| v.max(1.0)))
    }
}

/// The CR2 meat and the degrees-of-freedom sums (of the first `p` coefficients) of the
/// clusters in `range`.
fn adjust(
    sums: &ClusterSums,
    range: std::ops::Range<usize>,
    m: &Array2<f64>,
    root: &Array2<f64>,
    p: usize,
) -> Option<(Array2<f64>, DofParts)> {
    let width = m.nrows();
    let mut meat = Array2::<f64>::zeros((width, width));
    let mut parts = DofParts::new(p, width);
    for k in range {
        let gram = sums.gram.index_axis(Axis(0), k);
        let (values, vectors) = crate::linalg::symmetric_eigen(root.dot(&gram).dot(root).view())?;
        // λ in [0, 0.9]: 1 − λ kept at least 0.1 as for HC2.
        let lambda = values.mapv(|v| v.clamp(0.0, 0.9));
        let shrink = lambda.mapv(|l| {
            if l < 1e-12 {
                0.5
            } else {
                ((1.0 - l).powf(-0.5) - 1.0) / l
            }
        });
        let rv = root.dot(&vectors);
        let gram_rv = gram.dot(&rv);
        let c = Array2::eye(width) + (&gram_rv * &shrink.view().insert_axis(Axis(0))).dot(&rv.t());
        let e = gram.to_owned()
            + (&gram_rv * &lambda.mapv(|l| 1.0 / (1.0 - l)).insert_axis(Axis(0))).dot(&gram_rv.t());
        let adjusted = c.dot(&sums.score.row(k));
        meat += &outer(&adjusted, &adjusted);
        let v_all = c.dot(&gram).dot(m);
        let me = m.dot(&e).dot(m);
        for j in 0..p {
            let v = v_all.column(j);
            let delta = me[[j, j]];
            let quadratic = v.dot(&m.dot(&v));
            parts.delta[j] += delta;
            parts.delta_squared[j] += delta * delta;
            parts.quadratic[j] += quadratic;
            parts.cross[j] += delta * quadratic;
            let mut outer_j = parts.outer.index_axis_mut(Axis(0), j);
            outer_j += &outer(&v.to_owned(), &v.to_owned());
        }
    }
    Some((meat, parts))
}

fn outer(a: &Array1<f64>, b: &Array1<f64>) -> Array2<f64> {
    Array2::from_shape_fn((a.len(), b.len()), |(i, j)| a[i] * b[j])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Ols;
    use ndarray::array;

    #[test]
    fn singleton_clusters_give_hc2_and_welchs_degrees_of_freedom() {
        // y on [1, g], groups of n₁ and n₀ rows, each row its own cluster: the slope is
        // a difference in means with CR2 = HC2 variance s₁²/n₁ + s₀²/n₀ and
        // Welch–Satterthwaite's ν = (1/n₁ + 1/n₀)² / Σ 1/(n²(n − 1)) under equal working
        // variances; the intercept is group 0's mean, with s₀²/n₀ and n₀ − 1.
        let (n1, n0) = (300usize, 20usize);
        let x = Array2::from_shape_fn((n1 + n0, 2), |(t, j)| f64::from(j == 0 || t < n1));
        let y = Array1::from_shape_fn(n1 + n0, |t| ((t * t) % 11) as f64);
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let (y1, y0) = (y.slice(s![..n1]), y.slice(s![n1..]));
        let (m1, m0) = (y1.mean().unwrap(), y0.mean().unwrap());
        let theta = array![m0, m1 - m0];
        let j_sum = Ols.jacobian(theta.view(), rows, None);
        let ids: Vec<u32> = (0..(n1 + n0) as u32).collect();
        let cr2 =
            cr2_bell_mccaffrey(&Ols, theta.view(), rows, None, ids[..].into(), &j_sum).unwrap();
        let (a, b) = (n1 as f64, n0 as f64);
        let s1 = y1.mapv(|v| (v - m1).powi(2)).sum() / (a - 1.0);
        let s0 = y0.mapv(|v| (v - m0).powi(2)).sum() / (b - 1.0);
        let close = |got: f64, want: f64| (got - want).abs() <= 1e-10 * want.abs();
        assert!(close(cr2.cov[[1, 1]], s1 / a + s0 / b), "{}", cr2.cov);
        assert!(close(cr2.cov[[0, 0]], s0 / b), "{}", cr2.cov);
        let welch =
            (1.0 / a + 1.0 / b).powi(2) / (1.0 / (a * a * (a - 1.0)) + 1.0 / (b * b * (b - 1.0)));
        assert!(close(cr2.dof[1], welch), "{} vs {welch}", cr2.dof);
        assert!(close(cr2.dof[0], b - 1.0), "{}", cr2.dof);
    }

    #[test]
    fn each_group_its_own_cluster_gives_one_degree_of_freedom() {
        // Two clusters, one per group: each mean's variance comes from one cluster sum,
        // ν = 1 for the slope's two-cluster variance and the intercept's one.
        let n = 40usize;
        let x = Array2::from_shape_fn((2 * n, 2), |(t, j)| f64::from(j == 0 || t < n));
        let y = Array1::from_shape_fn(2 * n, |t| (t % 3) as f64);
        let rows = Rows::new(x.view(), y.view()).unwrap();
        let theta = array![1.0, 0.0];
        let j_sum = Ols.jacobian(theta.view(), rows, None);
        let ids: Vec<u32> = (0..2 * n).map(|t| u32::from(t < n)).collect();
        let cr2 =
            cr2_bell_mccaffrey(&Ols, theta.view(), rows, None, ids[..].into(), &j_sum).unwrap();
        assert!((cr2.dof[0] - 1.0).abs() < 1e-9, "{}", cr2.dof);
        assert!(cr2.dof[1] <= 2.0 + 1e-9, "{}", cr2.dof);
    }
}
