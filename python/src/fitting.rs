//! From borrowed numpy arrays to the library's data set: the data are validated by
//! [`DataSourcesBuilder`](synthgmm::DataSourcesBuilder), and every estimator named
//! runs on the same [`DataSources`] (`synthgmm::named`).

use ndarray::{ArrayView1, ArrayView2};
use synthgmm::{DataSources, Error};

pub use synthgmm::named::{bootstrap, influence, plan, run_all, Outcome};

/// The caller's arrays, borrowed for the duration of a fit.
pub struct Inputs<'a> {
    pub labeled: ArrayView1<'a, bool>,
    pub y: ArrayView1<'a, f64>,
    pub x: ArrayView2<'a, f64>,
    pub sources: Vec<(String, ArrayView1<'a, f64>, ArrayView2<'a, f64>)>,
    pub names: Option<Vec<String>>,
    pub weights: Option<ArrayView1<'a, f64>>,
    pub clusters: Option<ArrayView1<'a, i64>>,
    /// Fixed-effect codes, one column per effect.
    pub fixed_effects: Option<ArrayView2<'a, i64>>,
    pub labeling_probabilities: Option<ArrayView1<'a, f64>>,
    /// Extra columns by name (instruments).
    pub columns: Vec<(String, ArrayView1<'a, f64>)>,
}

impl Inputs<'_> {
    /// The validated data set.
    pub fn build(&self) -> Result<DataSources, Error> {
        let mut builder = DataSources::builder(self.labeled).real(self.x, self.y);
        for (name, y, x) in &self.sources {
            builder = builder.source(name.as_str(), *x, *y);
        }
        if let Some(names) = &self.names {
            builder = builder.covariate_names(names.iter().cloned());
        }
        if let Some(w) = self.weights {
            builder = builder.weights(w);
        }
        if let Some(pi) = self.labeling_probabilities {
            builder = builder.labeling_probabilities(pi);
        }
        if let Some(ids) = self.clusters {
            builder = builder.clusters(&ids.to_vec());
        }
        for (name, column) in &self.columns {
            builder = builder.column(name.as_str(), *column);
        }
        for effect in self.fixed_effects.iter().flat_map(|f| f.columns()) {
            builder = builder.fixed_effects(&effect.to_vec());
        }
        builder.build()
    }
}
