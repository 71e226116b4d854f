//! Built-in moment models: least squares, logistic regression, linear instrumental
//! variables.

mod iv;
mod logistic;
mod ols;

pub use iv::LinearIv;
pub use logistic::{sigmoid, Logistic};
pub use ols::Ols;

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};

/// Σ_t w_t s_t x_t x_tᵀ: the Jacobian shape shared by every generalised linear model,
/// with per-row scale `s` and optional weights `w`.
pub(crate) fn scaled_gram(
    x: ArrayView2<'_, f64>,
    scale: impl Fn(usize) -> f64,
    weights: Option<ArrayView1<'_, f64>>,
) -> Array2<f64> {
    let mut xs = x.to_owned();
    for (t, mut row) in xs.axis_iter_mut(Axis(0)).enumerate() {
        let w = weights.map_or(1.0, |w| w[t]);
        row *= w * scale(t);
    }
    crate::linalg::cross_product(xs.view(), x)
}

/// Row t of `out` = s_t x_t: the per-row moment shape of every generalised linear model.
pub(crate) fn scale_rows(
    x: ArrayView2<'_, f64>,
    s: ArrayView1<'_, f64>,
    mut out: ArrayViewMut2<'_, f64>,
) {
    Zip::from(out.rows_mut())
        .and(x.rows())
        .and(&s)
        .for_each(|mut o, xt, &st| {
            Zip::from(&mut o).and(&xt).for_each(|o, &xj| *o = xj * st);
        });
}
