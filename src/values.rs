//! The values every tier accepts: finite, and neither so large nor so small that the
//! moments' products overflow or underflow. In-memory data are checked when built,
//! out-of-core rows as they are read, an engine's labeled rows when it answers.

use crate::error::{Column, Error, Result};
use crate::rows::RowBlock;

/// Largest magnitude accepted for a covariate or outcome: squared products of moments
/// must stay far from overflow.
const MAX_MAGNITUDE: f64 = 1e64;
const TOO_LARGE: &str = "magnitudes beyond 1e64 overflow the moment products; rescale the column";
/// A column whose largest magnitude is below this (and not zero) underflows them.
const MIN_MAGNITUDE: f64 = 1e-64;
const TOO_SMALL: &str = "the column's largest magnitude is below 1e-64, which underflows the moment products; rescale the column";

/// Per column of `values` (rows × columns), the largest magnitude, and whether any
/// value is NaN (which the maxima skip): one row-major sweep, in parallel chunks of
/// rows (a maximum does not depend on their order).
fn column_extremes(values: ndarray::ArrayView2<'_, f64>) -> (Vec<f64>, bool) {
    let columns = values.ncols();
    let ranges = crate::chunks::chunk_ranges(values.nrows(), 8 * crate::chunks::DEFAULT_CHUNK_ROWS);
    let parts = crate::chunks::map_ordered(&ranges, |range| {
        let mut maxima = vec![0.0f64; columns];
        let mut nan = false;
        for row in values.slice(ndarray::s![range.clone(), ..]).rows() {
            for (m, v) in maxima.iter_mut().zip(row) {
                *m = m.max(v.abs());
                nan |= v.is_nan();
            }
        }
        (maxima, nan)
    });
    parts.into_iter().fold(
        (vec![0.0f64; columns], false),
        |(maxima, nan), (part, part_nan)| {
            let maxima = maxima.iter().zip(&part).map(|(a, b)| a.max(*b)).collect();
            (maxima, nan | part_nan)
        },
    )
}

/// The first column (outcome, then covariates) of `block` whose values are all below
/// [`MIN_MAGNITUDE`] in magnitude but not all zero, as an [`Error::InvalidValue`] at
/// its largest value: products of such values underflow, and the fit would report
/// exact fits or collinearity that are not in the data. `largest` holds the columns'
/// largest magnitudes (the outcome's, then the covariates' unless they passed
/// already); a tiny column is then searched for where it lies.
fn tiny_column(
    name: &str,
    block: &RowBlock,
    row_of: &impl Fn(usize) -> usize,
    largest: &[f64],
) -> Result<()> {
    let tiny = |max: f64| max > 0.0 && max < MIN_MAGNITUDE;
    let Some(k) = largest.iter().position(|&max| tiny(max)) else {
        return Ok(());
    };
    let (column, values) = match k {
        0 => (Column::Outcome, block.y.view()),
        j => (Column::Covariate(j - 1), block.x.column(j - 1)),
    };
    let at = values
        .iter()
        .position(|v| v.abs() == largest[k])
        .unwrap_or(0);
    Err(Error::InvalidValue {
        source_name: name.to_string(),
        column,
        row: row_of(at),
        value: values[at],
        reason: TOO_SMALL,
    })
}

/// Whether every |value| ≤ `MAX_MAGNITUDE`: a branch-free scan of contiguous memory in
/// blocks (it vectorizes), element by element otherwise.
fn all_small(values: ndarray::ArrayViewD<'_, f64>) -> bool {
    let small = |v: &f64| v.abs() <= MAX_MAGNITUDE;
    match values.as_slice_memory_order() {
        Some(slice) => slice
            .chunks(512)
            .all(|block| block.iter().fold(true, |all, v| all & small(v))),
        None => values.iter().all(small),
    }
}

/// The first value of `block` that is not finite or exceeds 10⁶⁴ in magnitude:
/// outcome, then covariates, then extra columns within a row; block row i is data row
/// `row_of(i)`. Covariate arrays whose address is in `scanned` passed already.
pub(crate) fn check_values(
    name: &str,
    block: &RowBlock,
    columns: &[String],
    row_of: impl Fn(usize) -> usize,
    scanned: &mut Vec<(*const f64, usize)>,
) -> Result<()> {
    let key = (block.x.as_ptr(), block.x.len());
    let passed = scanned.contains(&key);
    // The columns' largest magnitudes, and NaNs, from one sweep of each array.
    let (mut largest, y_nan) = column_extremes(block.y.view().insert_axis(ndarray::Axis(1)));
    let x_nan = match passed {
        true => false,
        false => {
            let (maxima, nan) = column_extremes(block.x.view());
            largest.extend(maxima);
            nan
        }
    };
    tiny_column(name, block, &row_of, &largest)?;
    let bounded = !y_nan && !x_nan && largest.iter().all(|&m| m <= MAX_MAGNITUDE);
    if bounded && all_small(block.extra.view().into_dyn()) {
        scanned.push(key);
        return Ok(());
    }
    for i in 0..block.y.len() {
        let bad = |column, value: f64| {
            if value.is_finite() {
                Error::InvalidValue {
                    source_name: name.to_string(),
                    column,
                    row: row_of(i),
                    value,
                    reason: TOO_LARGE,
                }
            } else {
                Error::NonFinite {
                    source_name: name.to_string(),
                    column,
                    row: row_of(i),
                    value,
                }
            }
        };
        let large = |v: &f64| v.is_nan() || v.abs() > MAX_MAGNITUDE;
        if large(&block.y[i]) {
            return Err(bad(Column::Outcome, block.y[i]));
        }
        if let Some((j, &v)) = block.x.row(i).iter().enumerate().find(|(_, v)| large(v)) {
            return Err(bad(Column::Covariate(j), v));
        }
        if let Some((j, &v)) = block
            .extra
            .row(i)
            .iter()
            .enumerate()
            .find(|(_, v)| large(v))
        {
            return Err(bad(Column::Extra(columns[j].clone()), v));
        }
    }
    Ok(())
}
