//! Shared helpers for the integration tests: loading the reference data sets.
#![allow(dead_code)]

use ndarray::{s, Array1, Array2, Axis};
use synthgmm::{DataSources, GmmFit};

/// One reference data set (see `tests/data/README.md`).
pub struct ReferenceData {
    pub labeled: Vec<bool>,
    pub real_x: Array2<f64>,
    pub real_y: Array1<f64>,
    pub proxy_x: Array2<f64>,
    pub proxy_y: Array1<f64>,
    pub synth_x: Array2<f64>,
    pub synth_y: Array1<f64>,
}

/// A file of the library's `tests/data/`, from this package or from a workspace member
/// beside it (the command-line tool's tests read the same reference data).
pub fn data_path(name: &str) -> String {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here
        .ancestors()
        .find(|d| d.join("tests/data").is_dir())
        .unwrap_or(here);
    format!("{}/tests/data/{name}", root.display())
}

pub fn load(name: &str) -> ReferenceData {
    let mut reader = csv::Reader::from_path(data_path(&format!("{name}.csv"))).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |h: &str| headers.iter().position(|c| c == h).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let t = records.len();
    let num = |r: &csv::StringRecord, c: usize| -> f64 {
        let v = &r[c];
        if v.is_empty() {
            f64::NAN
        } else {
            v.parse().unwrap()
        }
    };
    let matrix = |prefix: &str| {
        let cols: Vec<usize> = (0..3).map(|j| col(&format!("{prefix}x{j}"))).collect();
        Array2::from_shape_fn((t, 3), |(i, j)| num(&records[i], cols[j]))
    };
    let vector = |h: &str| {
        let c = col(h);
        Array1::from_shape_fn(t, |i| num(&records[i], c))
    };
    ReferenceData {
        labeled: records.iter().map(|r| &r[col("labeled")] == "1").collect(),
        real_x: matrix(""),
        real_y: vector("y"),
        proxy_x: matrix("proxy_"),
        proxy_y: vector("proxy_y"),
        synth_x: matrix("synth_"),
        synth_y: vector("synth_y"),
    }
}

impl ReferenceData {
    /// Real data plus the named sources (`proxy`, `synth`), in that order.
    pub fn sources(&self, names: &[&str]) -> DataSources {
        let mut b = DataSources::builder(&self.labeled).real(&self.real_x, &self.real_y);
        for &n in names {
            b = match n {
                "proxy" => b.source("proxy", &self.proxy_x, &self.proxy_y),
                "synth" => b.source("synth", &self.synth_x, &self.synth_y),
                other => panic!("unknown source {other}"),
            };
        }
        b.build().unwrap()
    }
}

pub fn expected(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(data_path(&format!("{name}.expected.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn vec_of(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn matrix_of(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(vec_of).collect()
}

/// |a − b| ≤ tol · max(|b|, floor): relative, with an absolute floor for values near 0.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], tol: f64, floor: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let scale = e.abs().max(floor);
        assert!(
            (a - e).abs() <= tol * scale,
            "{what}[{i}]: got {a:e}, expected {e:e} (rel. err {:e})",
            (a - e).abs() / scale
        );
    }
}

/// Solves A z = b by Gauss–Jordan elimination with partial pivoting (test-only, small).
pub fn solve(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut m = ndarray::concatenate(Axis(1), &[a.view(), b.view()]).unwrap();
    for c in 0..n {
        let piv = (c..n)
            .max_by(|&i, &j| m[[i, c]].abs().total_cmp(&m[[j, c]].abs()))
            .unwrap();
        for k in 0..m.ncols() {
            m.swap([c, k], [piv, k]);
        }
        let d = m[[c, c]];
        m.row_mut(c).mapv_inplace(|v| v / d);
        for i in (0..n).filter(|&i| i != c) {
            let f = m[[i, c]];
            let row_c = m.row(c).to_owned();
            m.row_mut(i).zip_mut_with(&row_c, |v, &rc| *v -= f * rc);
        }
    }
    m.slice(s![.., n..]).to_owned()
}

/// OLS and its HC0 sandwich from the textbook formulas.
pub fn ols_hc0(x: &Array2<f64>, y: &Array1<f64>) -> (Array1<f64>, Array2<f64>) {
    let xtx = x.t().dot(x);
    let beta = solve(&xtx, &x.t().dot(y).insert_axis(Axis(1)))
        .column(0)
        .to_owned();
    let e = y - &x.dot(&beta);
    let meat = (x * &(&e * &e).insert_axis(Axis(1))).t().dot(x);
    let bread = solve(&xtx, &Array2::eye(x.ncols()));
    (beta, bread.dot(&meat).dot(&bread))
}

/// OLS with the HC2 covariance (X'X)⁻¹ Σ e_t²/(1 − h_t) x_t x_tᵀ (X'X)⁻¹, h_t =
/// x_tᵀ(X'X)⁻¹x_t: MacKinnon and White (1985), written out here.
pub fn ols_hc2(x: &Array2<f64>, y: &Array1<f64>) -> (Array1<f64>, Array2<f64>) {
    let (theta, _) = ols_hc0(x, y);
    let xtx_inv = solve(&x.t().dot(x), &Array2::eye(x.ncols()));
    let e = y - &x.dot(&theta);
    let mut meat = Array2::<f64>::zeros((x.ncols(), x.ncols()));
    for (t, row) in x.rows().into_iter().enumerate() {
        let h = row.dot(&xtx_inv.dot(&row));
        let outer = row
            .to_owned()
            .insert_axis(ndarray::Axis(1))
            .dot(&row.to_owned().insert_axis(ndarray::Axis(0)));
        meat = meat + outer * (e[t] * e[t] / (1.0 - h));
    }
    (theta, xtx_inv.dot(&meat).dot(&xtx_inv))
}

/// The stacked OLS moments of a reference data set with sources proxy and synth,
/// formed row by row, for independent constructions in the tests:
/// g_t(β) = [S ψ_real; S ψ_proxy; S ψ_synth; ψ_proxy; ψ_synth], p = 3, K = 15, Q = 9.
pub struct DenseStacked<'a> {
    pub r: &'a ReferenceData,
}

impl DenseStacked<'_> {
    pub const P: usize = 3;
    pub const K: usize = 15;
    pub const Q: usize = 9;

    /// g_t(β) for every row (T × K).
    pub fn rows(&self, beta: &Array1<f64>) -> Array2<f64> {
        let r = self.r;
        let (t, p) = (r.labeled.len(), Self::P);
        let blocks = [
            (&r.real_x, &r.real_y),
            (&r.proxy_x, &r.proxy_y),
            (&r.synth_x, &r.synth_y),
        ];
        let mut g = Array2::zeros((t, Self::K));
        for row in 0..t {
            let s_t = if r.labeled[row] { 1.0 } else { 0.0 };
            for (b, (x, y)) in blocks.iter().enumerate() {
                if b == 0 && s_t == 0.0 {
                    continue; // real values are missing on unlabeled rows
                }
                let xb = x.row(row);
                let resid = y[row] - xb.dot(&beta.slice(s![b * p..(b + 1) * p]));
                for j in 0..p {
                    g[[row, b * p + j]] = s_t * xb[j] * resid;
                    if b > 0 {
                        g[[row, (2 + b) * p + j]] = xb[j] * resid;
                    }
                }
            }
        }
        g
    }

    /// ḡ(β).
    pub fn mean(&self, beta: &Array1<f64>) -> Array1<f64> {
        self.rows(beta).mean_axis(Axis(0)).unwrap()
    }

    /// Ω̂(β) = (1/T) Σ g_t g_tᵀ.
    pub fn omega(&self, beta: &Array1<f64>) -> Array2<f64> {
        let g = self.rows(beta);
        g.t().dot(&g) / g.nrows() as f64
    }

    /// (G, b) with ḡ(β) = Gβ + b, read off ḡ at zero and at the unit vectors.
    pub fn affine(&self) -> (Array2<f64>, Array1<f64>) {
        let b = self.mean(&Array1::zeros(Self::Q));
        let mut jac = Array2::zeros((Self::K, Self::Q));
        for j in 0..Self::Q {
            let mut e = Array1::zeros(Self::Q);
            e[j] = 1.0;
            jac.column_mut(j).assign(&(self.mean(&e) - &b));
        }
        (jac, b)
    }
}

/// A fit against a reference result (`*.expected.json`): estimates, step 1, standard
/// errors, covariance, intervals and J, within `tol` relative.
pub fn check_fit(fit: &GmmFit, exp: &serde_json::Value, tol: f64, label: &str) {
    // Coefficients near zero get an absolute floor at the scale of their standard error.
    let floor = 1e-3;
    assert_close(
        &format!("{label} theta"),
        fit.theta().as_slice().unwrap(),
        &vec_of(&exp["theta"]),
        tol,
        floor,
    );
    assert_close(
        &format!("{label} params"),
        fit.params().as_slice().unwrap(),
        &vec_of(&exp["params"]),
        tol,
        floor,
    );
    assert_close(
        &format!("{label} step1"),
        fit.step1_params().as_slice().unwrap(),
        &vec_of(&exp["step1_params"]),
        tol,
        floor,
    );
    assert_close(
        &format!("{label} se"),
        fit.se().as_slice().unwrap(),
        &vec_of(&exp["se"]),
        tol,
        0.0,
    );
    let cov: Vec<f64> = fit.cov_theta().iter().copied().collect();
    let exp_cov: Vec<f64> = matrix_of(&exp["cov_theta"]).concat();
    let cov_floor = exp_cov.iter().fold(0.0f64, |m, v| m.max(v.abs())) * 1e-3;
    assert_close(
        &format!("{label} cov_theta"),
        &cov,
        &exp_cov,
        tol,
        cov_floor,
    );
    for (key, alpha) in [("ci_95", 0.05), ("ci_90", 0.10)] {
        let ci: Vec<f64> = fit.conf_int(alpha).unwrap().iter().copied().collect();
        assert_close(
            &format!("{label} {key}"),
            &ci,
            &matrix_of(&exp[key]).concat(),
            tol,
            floor,
        );
    }
    let j = fit.j_test();
    assert_eq!(j.df as u64, exp["j_df"].as_u64().unwrap(), "{label} j_df");
    if j.df > 0 {
        assert_close(
            &format!("{label} j_stat"),
            &[j.statistic],
            &[exp["j_stat"].as_f64().unwrap()],
            tol,
            0.0,
        );
        assert_close(
            &format!("{label} j_pvalue"),
            &[j.p_value.unwrap()],
            &[exp["j_pvalue"].as_f64().unwrap()],
            tol,
            0.0,
        );
    } else {
        assert!(
            j.statistic.abs() < 1e-20,
            "{label}: just-identified J must be 0, got {}",
            j.statistic
        );
        assert!(j.p_value.is_none());
    }
    assert!(fit.converged(), "{label}: not converged");
    assert!(!fit.used_pseudo_inverse(), "{label}: unexpected fallback");
}

/// n of T rows labeled uniformly at random (shared with the examples).
#[path = "../../examples/support/labeling.rs"]
mod labeling;
#[allow(unused_imports)] // The command line's tests share this module and draw no labels.
pub use labeling::label_at_random;

/// Holm's step-down adjustment written out: with the p-values sorted,
/// p̃_(i) = max_{k ≤ i} min(1, (m − k + 1) p_(k)), in the order given.
pub fn holm_by_hand(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; p.len()];
    let mut running: f64 = 0.0;
    for (i, &j) in order.iter().enumerate() {
        running = running.max(((p.len() - i) as f64 * p[j]).min(1.0));
        adjusted[j] = running;
    }
    adjusted
}

/// The standard errors of a covariance given as JSON rows: the square roots of its
/// diagonal.
pub fn se_of(cov: &serde_json::Value) -> Vec<f64> {
    matrix_of(cov)
        .iter()
        .enumerate()
        .map(|(j, row)| row[j].sqrt())
        .collect()
}
