//! The labeled rows of a [`ColumnSpec`] read by an engine as columns (a SQL query's
//! result, a DataFusion batch) made into the in-memory data set that goes with the
//! engine's sums ([`DataSources::from_engine`]): one reader for every engine.

use ndarray::{Array1, Array2};

use crate::data::DataSources;
use crate::error::{Error, Result};
use crate::tier::ColumnSpec;

impl DataSources {
    /// The labeled rows whose values `columns` holds in the order of `spec`: each
    /// block's outcome, covariates and extra columns ([`ColumnSpec::column_names`]),
    /// the real data's first and then each source's; then the observation weights and
    /// the labeling probabilities, when `spec` names them. `clusters` gives each row's
    /// cluster when `spec` names a cluster column (ids of any hashable type).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for another number of columns (or clusters missing
    /// or unexpected), [`Error::LengthMismatch`] for columns of different lengths, and
    /// the builder's errors for the values.
    pub fn from_labeled_columns<I: std::hash::Hash + Eq>(
        spec: &ColumnSpec,
        columns: &[Vec<f64>],
        clusters: Option<&[I]>,
    ) -> Result<DataSources> {
        let (p, names) = (spec.real().covariates.len(), spec.column_names());
        let per_block = 1 + p + names.len();
        let blocks = per_block * (1 + spec.sources().len());
        let weighted = spec.weights_column().is_some();
        let designed = spec.probabilities_column().is_some();
        let width = blocks + usize::from(weighted) + usize::from(designed);
        let n = columns.first().map_or(0, Vec::len);
        let clustered = spec.clusters_column().is_some();
        if columns.len() != width || clusters.is_some() != clustered {
            return Err(Error::ShapeMismatch {
                what: "columns of the labeled rows".into(),
                expected: width + usize::from(clustered),
                found: columns.len() + usize::from(clusters.is_some()),
            });
        }
        if let Some(c) = columns.iter().find(|c| c.len() != n) {
            return Err(Error::LengthMismatch {
                what: "columns of the labeled rows".into(),
                expected: n,
                found: c.len(),
            });
        }
        let block = |b: usize| {
            let first = b * per_block;
            let x = Array2::from_shape_fn((n, p), |(i, j)| columns[first + 1 + j][i]);
            let extra = &columns[first + 1 + p..first + per_block];
            (x, Array1::from(columns[first].clone()), extra)
        };
        let (x, y, extra) = block(0);
        let mut builder = DataSources::builder(&vec![true; n])
            .real(&x, &y)
            .covariate_names(spec.real().covariates.clone());
        for (name, values) in names.iter().zip(extra) {
            builder = builder.real_column(name.clone(), &Array1::from(values.clone()));
        }
        for (m, (source, _)) in spec.sources().iter().enumerate() {
            let (sx, sy, extra) = block(1 + m);
            builder = builder.source(source.clone(), &sx, &sy);
            for (name, values) in names.iter().zip(extra) {
                let values = Array1::from(values.clone());
                builder = builder.source_column(source.clone(), name.clone(), &values);
            }
        }
        let column = |c: usize| Array1::from(columns[c].clone());
        let weights = weighted.then(|| column(blocks));
        if let Some(w) = &weights {
            builder = builder.weights(w);
        }
        let probabilities = designed.then(|| column(blocks + usize::from(weighted)));
        if let Some(pi) = &probabilities {
            builder = builder.labeling_probabilities(pi);
        }
        if let Some(ids) = clusters {
            builder = builder.clusters(ids);
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y, x0, x1 and an instrument z for the real data and one source, then weights.
    fn spec() -> ColumnSpec {
        ColumnSpec::new("S", "y", ["x0", "x1"])
            .source("proxy", "yp", ["x0", "x1"])
            .column("z")
            .weights("w")
    }

    fn columns(n: usize) -> Vec<Vec<f64>> {
        (0..9)
            .map(|c| {
                (0..n)
                    .map(|i| 1.0 + (c * n + i) as f64 * 0.37 % 5.0)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_columns_land_in_their_blocks() {
        let values = columns(6);
        let data = DataSources::from_labeled_columns::<u32>(&spec(), &values, None).unwrap();
        assert_eq!((data.n_rows(), data.n_labeled()), (6, 6));
        assert_eq!(data.real_y().to_vec(), values[0]);
        assert_eq!(data.real_x().column(1).to_vec(), values[2]);
        let proxy = data.source("proxy").unwrap().labeled();
        assert_eq!(proxy.y().to_vec(), values[4]);
        assert_eq!(proxy.column("z").unwrap().to_vec(), values[7]);
        assert_eq!(data.real_rows().column("z").unwrap().to_vec(), values[3]);
        assert_eq!(data.weights().unwrap().to_vec(), values[8]);
    }

    #[test]
    fn columns_that_do_not_fit_the_spec_are_typed_errors() {
        let mut values = columns(6);
        let ids = [1u32, 1, 2, 2, 3, 3];
        let clustered = spec().clusters("g");
        let missing = DataSources::from_labeled_columns::<u32>(&clustered, &values, None);
        assert!(
            matches!(missing, Err(Error::ShapeMismatch { .. })),
            "{missing:?}"
        );
        let unexpected = DataSources::from_labeled_columns(&spec(), &values, Some(&ids[..]));
        assert!(
            matches!(unexpected, Err(Error::ShapeMismatch { .. })),
            "{unexpected:?}"
        );
        assert!(DataSources::from_labeled_columns(&clustered, &values, Some(&ids[..])).is_ok());
        values[5].pop();
        let ragged = DataSources::from_labeled_columns::<u32>(&spec(), &values, None);
        assert!(
            matches!(ragged, Err(Error::LengthMismatch { .. })),
            "{ragged:?}"
        );
        values.pop();
        let short = DataSources::from_labeled_columns::<u32>(&spec(), &values, None);
        assert!(
            matches!(short, Err(Error::ShapeMismatch { .. })),
            "{short:?}"
        );
    }
}
