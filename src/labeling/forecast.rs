//! A forecast of every row's outcome from what every row has — its covariates and the
//! sources' outputs — fitted on the pilot's labeled rows. A row's influence value
//! depends on its unknown outcome; the design averages it over this forecast.
//!
//! With features f_t (the columns, centred and scaled on the pilot, and a constant):
//! - the mean m_t = f_tᵀβ̂, least squares on the pilot;
//! - binary outcomes (every pilot outcome 0 or 1): y_t ~ Bernoulli(clip(m_t, 0.01, 0.99));
//! - otherwise y_t ~ N(m_t, v_t) with log v_t linear in f_t and its squares (least
//!   squares of log(r_t² + δ) on them, δ = r̄²/100, shrunk toward the constant by the
//!   positive-part Stein factor max(0, 1 − 1/F)), rescaled so that v̄ matches the mean
//!   squared residual r̄² on the pilot and kept within a factor 10⁴ of it.
//!
//! The expectation of a function of y_t is a quadrature over nodes: {0, 1} with weights
//! (1 − p_t, p_t), or the three-point Gauss–Hermite rule m_t + {−√3, 0, √3}·√v_t with
//! weights (1/6, 2/3, 1/6), exact for polynomials of degree five (so for the square of
//! any influence value linear in y, which the models here have, except quantiles).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};
use crate::linalg::symmetric_eigen;

/// Forecast outcomes: quadrature nodes, each an outcome for every row and its weight.
#[derive(Debug, Clone)]
pub(super) struct Forecast {
    pub nodes: Vec<(Array1<f64>, Array1<f64>)>,
}

/// The forecast from `features` (T × d, every row) and the outcomes `y` of the pilot's
/// rows `labeled`.
///
/// # Errors
/// [`Error::InvalidConfig`] when the pilot has too few rows for the features
/// (fewer than 2d + 4 for d non-constant columns) or its outcomes do not vary.
pub(super) fn forecast(
    features: ArrayView2<'_, f64>,
    labeled: &[usize],
    y: ArrayView1<'_, f64>,
) -> Result<Forecast> {
    let f = standardized(features, labeled);
    let n = labeled.len();
    // The variance's regression has 2d + 1 columns for d features.
    let needed = 2 * f.ncols() + 2;
    if n < needed {
        return Err(Error::InvalidConfig {
            parameter: "pilot",
            reason: format!(
                "{n} labeled rows cannot forecast the outcome from {} columns (covariates and sources); at least {needed} are needed",
                f.ncols() - 1,
            ),
        });
    }
    let f_lab = f.select(Axis(0), labeled);
    let mean = f.dot(&regression(f_lab.view(), y)?);
    let binary = y.iter().all(|&v| v == 0.0 || v == 1.0);
    if binary {
        let p = mean.mapv(|m| m.clamp(0.01, 0.99));
        let zero = Array1::zeros(p.len());
        let one = Array1::ones(p.len());
        return Ok(Forecast {
            nodes: vec![(zero, p.mapv(|p| 1.0 - p)), (one, p)],
        });
    }
    let residual = &y - &mean.select(Axis(0), labeled);
    let r2 = residual.mapv(|r| r * r);
    let mean_r2 = r2.mean().unwrap_or(0.0);
    if !(mean_r2 > 0.0 && mean_r2.is_finite()) {
        return Err(Error::InvalidConfig {
            parameter: "pilot",
            reason: "the covariates and sources forecast the pilot's outcomes exactly: nothing is left for a design to target".into(),
        });
    }
    let log_r2 = r2.mapv(|v| (v + mean_r2 / 100.0).ln());
    let g = with_squares(&f);
    let g_lab = g.select(Axis(0), labeled);
    let log_v = shrunk_fit(&g, g_lab.view(), log_r2.view())?;
    // v_t = r̄² exp(log v_t − log mean_pilot exp(log v)), within a factor 10⁴.
    let on_pilot = log_v.select(Axis(0), labeled);
    let top = on_pilot.iter().cloned().fold(f64::MIN, f64::max);
    let log_mean = top
        + on_pilot
            .mapv(|l| (l - top).exp())
            .mean()
            .unwrap_or(1.0)
            .ln();
    let bound = 1e4f64.ln();
    let variance = log_v.mapv(|l| {
        let relative = if l.is_nan() {
            0.0
        } else {
            (l - log_mean).clamp(-bound, bound)
        };
        mean_r2 * relative.exp()
    });
    let sd = variance.mapv(f64::sqrt);
    let root3 = 3f64.sqrt();
    let weight = |w: f64| Array1::from_elem(sd.len(), w);
    Ok(Forecast {
        nodes: vec![
            (&mean - &(&sd * root3), weight(1.0 / 6.0)),
            (mean.clone(), weight(2.0 / 3.0)),
            (&mean + &(&sd * root3), weight(1.0 / 6.0)),
        ],
    })
}

/// The non-constant columns of `features`, centred by their pilot median, scaled by
/// their pilot interquartile range / 1.349 (the standard deviation for normal data; the
/// standard deviation itself when the IQR is zero) and clipped to ±5, so that a few
/// gross values cannot dominate the regressions; and a constant column.
fn standardized(features: ArrayView2<'_, f64>, labeled: &[usize]) -> Array2<f64> {
    let mut columns = vec![Array1::ones(features.nrows())];
    for col in features.columns() {
        let mut on_pilot = col.select(Axis(0), labeled).to_vec();
        on_pilot.sort_by(f64::total_cmp);
        let at = |q: f64| on_pilot[((on_pilot.len() - 1) as f64 * q).round() as usize];
        let centre = at(0.5);
        let iqr = (at(0.75) - at(0.25)) / 1.349;
        let sd = Array1::from(on_pilot.clone()).std(0.0);
        let scale = if iqr > 0.0 { iqr } else { sd };
        if scale > 1e-12 * centre.abs().max(f64::MIN_POSITIVE) && scale.is_finite() {
            columns.push(col.mapv(|v| ((v - centre) / scale).clamp(-5.0, 5.0)));
        }
    }
    let views: Vec<_> = columns.iter().map(|c| c.view()).collect();
    ndarray::stack(Axis(1), &views).expect("columns of equal length")
}

/// The least-squares fit of `z` on `g_lab`'s columns, evaluated on every row of `g`,
/// its deviations from the pilot mean z̄ shrunk by c = max(0, 1 − 1/F), F the
/// regression's F statistic (the positive-part Stein factor for a regression with
/// unknown noise; Copas 1983): a variance the features do not explain beyond chance
/// is forecast flat, so a design loses nothing where rows are alike.
fn shrunk_fit(
    g: &Array2<f64>,
    g_lab: ArrayView2<'_, f64>,
    z: ArrayView1<'_, f64>,
) -> Result<Array1<f64>> {
    let beta = regression(g_lab, z)?;
    let fitted = g_lab.dot(&beta);
    let mean = z.mean().unwrap_or(0.0);
    let explained: f64 = fitted.iter().map(|v| (v - mean).powi(2)).sum();
    let residual: f64 = z.iter().zip(&fitted).map(|(a, b)| (a - b).powi(2)).sum();
    let (n, d) = (z.len() as f64, (g_lab.ncols() - 1).max(1) as f64);
    let f = (explained / d) / (residual / (n - d - 1.0).max(1.0));
    let c = if f.is_finite() {
        (1.0 - 1.0 / f).max(0.0)
    } else {
        1.0
    };
    Ok(g.dot(&beta).mapv(|v| mean + c * (v - mean)))
}

/// The columns of `f` and the squares of its non-constant ones: a variance may grow
/// away from the centre on both sides.
fn with_squares(f: &Array2<f64>) -> Array2<f64> {
    let squares = f.slice(ndarray::s![.., 1..]).mapv(|v| v * v);
    ndarray::concatenate(Axis(1), &[f.view(), squares.view()]).expect("rows of equal length")
}

/// Least squares of `y` on `f` through the pseudo-inverse of fᵀf: columns that repeat
/// others (a proxy that is a covariate) are absorbed, not an error.
fn regression(f: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<Array1<f64>> {
    let gram = f.t().dot(&f);
    let (values, vectors) = symmetric_eigen(gram.view()).ok_or_else(|| Error::InvalidConfig {
        parameter: "pilot",
        reason: "the pilot's covariates or source outputs are not finite".into(),
    })?;
    let largest = values.iter().cloned().fold(0.0, f64::max);
    let inverted = values.mapv(|v| if v > 1e-10 * largest { 1.0 / v } else { 0.0 });
    let projected = vectors.t().dot(&f.t().dot(&y));
    Ok(vectors.dot(&(&projected * &inverted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn binary_outcomes_become_two_points() {
        let x = array![[0.0], [1.0], [0.0], [1.0], [0.0], [1.0], [0.5]];
        let y = array![0.0, 1.0, 0.0, 1.0, 1.0, 1.0];
        let fc = forecast(x.view(), &[0, 1, 2, 3, 4, 5], y.view()).unwrap();
        assert_eq!(fc.nodes.len(), 2);
        // Linear probability: 1/3 at x = 0, 1 (clipped to 0.99) at x = 1.
        assert!((fc.nodes[1].1[0] - 1.0 / 3.0).abs() < 1e-12);
        assert!((fc.nodes[1].1[1] - 0.99).abs() < 1e-12);
        assert!((fc.nodes[0].1[6] + fc.nodes[1].1[6] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn gaussian_nodes_match_mean_and_variance() {
        let x = Array2::from_shape_fn((40, 1), |(i, _)| i as f64);
        let y = Array1::from_shape_fn(30, |i| 2.0 * i as f64 + if i % 2 == 0 { 1.0 } else { -1.0 });
        let labeled: Vec<usize> = (0..30).collect();
        let fc = forecast(x.view(), &labeled, y.view()).unwrap();
        for t in [0, 17, 39] {
            let mean: f64 = fc.nodes.iter().map(|(v, w)| v[t] * w[t]).sum();
            assert!((mean - 2.0 * t as f64).abs() < 0.2, "row {t}: {mean}");
            let second: f64 = fc
                .nodes
                .iter()
                .map(|(v, w)| (v[t] - mean).powi(2) * w[t])
                .sum();
            assert!(second > 0.0 && second < 10.0, "row {t}: {second}");
        }
    }

    #[test]
    fn too_small_a_pilot_is_an_error() {
        let x = Array2::from_shape_fn((10, 3), |(i, j)| (i * j) as f64);
        let y = array![1.0, 2.0, 3.0];
        assert!(matches!(
            forecast(x.view(), &[0, 1, 2], y.view()),
            Err(Error::InvalidConfig {
                parameter: "pilot",
                ..
            })
        ));
    }
}
