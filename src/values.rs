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

/// The first column (outcome, then covariates) of `block` whose values are all below
/// [`MIN_MAGNITUDE`] in magnitude but not all zero, as an [`Error::InvalidValue`] at
/// its largest value: products of such values underflow, and the fit would report
/// exact fits or collinearity that are not in the data. The covariates are skipped when
/// `covariates_passed` (the same array passed already). Each column's largest magnitude
/// comes from one row-major sweep; a tiny column is then searched for where it lies.
fn tiny_column(
    name: &str,
    block: &RowBlock,
    row_of: &impl Fn(usize) -> usize,
    covariates_passed: bool,
) -> Result<()> {
    let tiny = |max: f64| max > 0.0 && max < MIN_MAGNITUDE;
    let maxima = |values: ndarray::ArrayView2<'_, f64>| {
        let mut maxima = vec![0.0f64; values.ncols()];
        for row in values.rows() {
            maxima
                .iter_mut()
                .zip(row)
                .for_each(|(m, v)| *m = m.max(v.abs()));
        }
        maxima
    };
    let mut largest = maxima(block.y.view().insert_axis(ndarray::Axis(1)));
    if !covariates_passed {
        largest.extend(maxima(block.x.view()));
    }
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
    tiny_column(name, block, &row_of, scanned.contains(&key))?;
    if all_small(block.y.view().into_dyn())
        && (scanned.contains(&key) || all_small(block.x.view().into_dyn()))
        && all_small(block.extra.view().into_dyn())
    {
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

/// Observation weights w_t, positive and finite; `first_row` is the index of the first
/// value among the data set's rows (for the error).
pub(crate) fn check_weight_values(w: ndarray::ArrayView1<'_, f64>, first_row: usize) -> Result<()> {
    match w
        .iter()
        .enumerate()
        .find(|(_, &v)| !(v > 0.0 && v.is_finite()))
    {
        Some((row, &value)) => Err(Error::InvalidValue {
            source_name: "weights".into(),
            column: Column::Weight,
            row: first_row + row,
            value,
            reason: "weights must be positive and finite",
        }),
        None => Ok(()),
    }
}

/// The smallest labeling probability of a labeled row (its weight 1/π at most 1e12).
const MIN_PROBABILITY: f64 = 1e-12;

/// Labeling probabilities in (0, 1], none below 1e-12 on a labeled row (`labeled[i]`
/// for value i); `first_row` is the index of the first value among the data set's
/// rows (for the error).
pub(crate) fn check_probability_values(
    pi: ndarray::ArrayView1<'_, f64>,
    labeled: &[bool],
    first_row: usize,
) -> Result<()> {
    let invalid = |row: usize, value: f64, reason: &'static str| Error::InvalidValue {
        source_name: "labeling".into(),
        column: Column::LabelingProbability,
        row: first_row + row,
        value,
        reason,
    };
    if let Some((row, &value)) = pi.iter().enumerate().find(|(_, &v)| !(v > 0.0 && v <= 1.0)) {
        return Err(invalid(
            row,
            value,
            "labeling probabilities must lie in (0, 1]",
        ));
    }
    // A labeled row's weight is 1/π: beyond 1e12 it swamps every other row's and the
    // sums lose the rest to rounding.
    if let Some((row, &value)) = pi
        .iter()
        .enumerate()
        .find(|&(t, &v)| v < MIN_PROBABILITY && labeled[t])
    {
        return Err(invalid(row, value, "a labeled row's probability below 1e-12 gives it a weight beyond 1e12, which swamps every other row; check the probabilities"));
    }
    Ok(())
}
