//! R objects to the library's inputs, and the library's results to R lists.

use extendr_api::prelude::*;
use ndarray::{ArrayView1, ArrayView2, ShapeBuilder};
use std::result::Result;
use synthgmm::named::Settings;
use synthgmm::{BootstrapFit, DataSources, Error, Estimate};

/// [`Error::InvalidConfig`] for an argument the R layer passed in the wrong form.
fn malformed(parameter: &'static str, what: &str) -> Error {
    Error::InvalidConfig {
        parameter,
        reason: format!("expected {what}"),
    }
}

/// The element `name` of a list (`NULL` when absent).
fn element(list: &List, name: &str) -> Robj {
    list.iter()
        .find(|(key, _)| *key == name)
        .map_or_else(|| ().into(), |(_, value)| value)
}

/// A numeric vector's values (integers are converted).
fn doubles(value: &Robj, parameter: &'static str) -> Result<Vec<f64>, Error> {
    if let Some(v) = value.as_real_slice() {
        return Ok(v.to_vec());
    }
    if let Some(v) = value.as_integer_slice() {
        return Ok(v
            .iter()
            .map(|&i| {
                if i == i32::MIN {
                    f64::NAN
                } else {
                    f64::from(i)
                }
            })
            .collect());
    }
    Err(malformed(parameter, "a numeric vector"))
}

/// A numeric vector, or `None` for `NULL`.
fn optional_doubles(value: &Robj, parameter: &'static str) -> Result<Option<Vec<f64>>, Error> {
    match value.is_null() {
        true => Ok(None),
        false => doubles(value, parameter).map(Some),
    }
}

/// A character scalar.
fn string(value: &Robj, parameter: &'static str) -> Result<String, Error> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| malformed(parameter, "a character string"))
}

/// A column-major matrix passed as its values and its number of columns.
#[derive(Debug)]
struct Matrix {
    values: Vec<f64>,
    ncol: usize,
}

impl Matrix {
    fn read(value: &Robj, ncol: usize, parameter: &'static str) -> Result<Self, Error> {
        let values = doubles(value, parameter)?;
        if ncol == 0 || values.len() % ncol != 0 {
            return Err(malformed(parameter, "a matrix with at least one column"));
        }
        Ok(Self { values, ncol })
    }

    /// R's column-major layout, viewed without a copy.
    fn view(&self) -> ArrayView2<'_, f64> {
        let nrow = self.values.len() / self.ncol;
        ArrayView2::from_shape((nrow, self.ncol).f(), &self.values)
            .expect("the length is a multiple of ncol")
    }
}

/// One source: its name, outcomes and covariates.
#[derive(Debug)]
struct Source {
    name: String,
    y: Vec<f64>,
    x: Matrix,
}

/// The data of one call, read from the R list the package builds.
#[derive(Debug)]
pub struct Frame {
    labeled: Vec<bool>,
    y: Vec<f64>,
    x: Matrix,
    names: Vec<String>,
    sources: Vec<Source>,
    weights: Option<Vec<f64>>,
    clusters: Option<Vec<i64>>,
    probabilities: Option<Vec<f64>>,
    fixed_effects: Vec<Vec<i64>>,
}

impl Frame {
    /// Reads `list(labeled, y, x, ncol, names, sources, weights, clusters,
    /// probabilities, fixed_effects)` (`fixed_effects`: a list of level codes, or
    /// `NULL`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an element of the wrong type.
    pub fn read(frame: &List) -> Result<Self, Error> {
        let labeled = element(frame, "labeled")
            .as_logical_slice()
            .ok_or_else(|| malformed("labeled", "a logical vector"))?
            .iter()
            .map(|l| l.is_true())
            .collect();
        let ncol = doubles(&element(frame, "ncol"), "ncol")?;
        let ncol = ncol.first().copied().unwrap_or(0.0) as usize;
        let sources = element(frame, "sources");
        let sources = sources
            .as_list()
            .ok_or_else(|| malformed("sources", "a list"))?
            .values()
            .map(|s| Source::read(&s, ncol))
            .collect::<Result<_, _>>()?;
        let clusters = optional_doubles(&element(frame, "clusters"), "clusters")?;
        let effects = element(frame, "fixed_effects");
        let fixed_effects = match effects.as_list() {
            Some(list) => list
                .values()
                .map(|codes| {
                    Ok(doubles(&codes, "fixed_effects")?
                        .iter()
                        .map(|&g| g as i64)
                        .collect())
                })
                .collect::<Result<_, Error>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            labeled,
            y: doubles(&element(frame, "y"), "y")?,
            x: Matrix::read(&element(frame, "x"), ncol, "x")?,
            names: element(frame, "names")
                .as_string_vector()
                .unwrap_or_default(),
            sources,
            weights: optional_doubles(&element(frame, "weights"), "weights")?,
            clusters: clusters.map(|c| c.iter().map(|&g| g as i64).collect()),
            probabilities: optional_doubles(&element(frame, "probabilities"), "probabilities")?,
            fixed_effects,
        })
    }

    /// The validated data set.
    ///
    /// # Errors
    /// The data builder's errors (lengths, shapes, non-finite values …).
    pub fn build(&self) -> Result<DataSources, Error> {
        let labeled = ArrayView1::from(&self.labeled);
        let mut builder =
            DataSources::builder(labeled).real(self.x.view(), ArrayView1::from(&self.y));
        for s in &self.sources {
            builder = builder.source(s.name.as_str(), s.x.view(), ArrayView1::from(&s.y));
        }
        if !self.names.is_empty() {
            builder = builder.covariate_names(self.names.iter().cloned());
        }
        if let Some(w) = &self.weights {
            builder = builder.weights(ArrayView1::from(w));
        }
        if let Some(pi) = &self.probabilities {
            builder = builder.labeling_probabilities(ArrayView1::from(pi));
        }
        if let Some(ids) = &self.clusters {
            builder = builder.clusters(ids);
        }
        for ids in &self.fixed_effects {
            builder = builder.fixed_effects(ids);
        }
        builder.build()
    }
}

impl Source {
    fn read(source: &Robj, ncol: usize) -> Result<Self, Error> {
        let list = source
            .as_list()
            .ok_or_else(|| malformed("sources", "list(name, y, x) per source"))?;
        Ok(Self {
            name: string(&element(&list, "name"), "sources")?,
            y: doubles(&element(&list, "y"), "sources")?,
            x: Matrix::read(&element(&list, "x"), ncol, "sources")?,
        })
    }
}

/// What to fit, read from the R list of settings.
#[derive(Debug)]
pub struct Request {
    pub model: String,
    pub quantiles: Option<Vec<f64>>,
    pub estimators: Vec<String>,
    names: [String; 5],
    pub level: f64,
    pub bootstrap: Option<usize>,
    pub seed: u64,
    pub bootstrap_interval: String,
}

impl Request {
    /// Reads `list(model, quantiles, estimators, covariance, cross_weights, weighting,
    /// step_one, small_sample, level, bootstrap, seed, bootstrap_interval)`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an element of the wrong type.
    pub fn read(settings: &List) -> Result<Self, Error> {
        let text = |name: &'static str| string(&element(settings, name), name);
        let number = |name: &'static str| -> Result<Option<f64>, Error> {
            Ok(optional_doubles(&element(settings, name), name)?.and_then(|v| v.first().copied()))
        };
        Ok(Self {
            model: text("model")?,
            quantiles: optional_doubles(&element(settings, "quantiles"), "quantiles")?,
            estimators: element(settings, "estimators")
                .as_string_vector()
                .ok_or_else(|| malformed("estimators", "a character vector"))?,
            names: [
                text("covariance")?,
                text("cross_weights")?,
                text("weighting")?,
                text("step_one")?,
                text("small_sample")?,
            ],
            level: number("level")?.unwrap_or(0.95),
            bootstrap: number("bootstrap")?.map(|b| b as usize),
            seed: number("seed")?.unwrap_or(0.0) as u64,
            bootstrap_interval: text("bootstrap_interval")?,
        })
    }

    /// The GMM settings from their names.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown name.
    pub fn settings(&self) -> Result<Settings, Error> {
        let [covariance, cross, weighting, step_one, small] = &self.names;
        Settings::parse(covariance, cross, weighting, step_one, small)
    }
}

/// The error with its row counted from 1, as R counts the data frame's rows.
fn rows_from_one(err: &Error) -> Error {
    err.clone().map_row(|row| row + 1)
}

/// `list(error = list(class, message))`: the R layer raises it as a condition, rows
/// in its message counted from 1.
pub fn error_list(err: &Error) -> Robj {
    let error = List::from_names_and_values(
        ["class", "message"],
        [
            Robj::from(err.kind()),
            Robj::from(rows_from_one(err).to_string()),
        ],
    )
    .expect("two names, two values");
    List::from_names_and_values(["error"], [Robj::from(error)])
        .expect("one name, one value")
        .into()
}

/// A matrix of `values` (row-major `rows × cols`) as an R matrix.
fn matrix(rows: usize, cols: usize, at: impl Fn(usize, usize) -> f64 + Clone) -> Robj {
    RMatrix::new_matrix(rows, cols, at).into()
}

/// The estimate's values at level 1 − α, as (name, value) pairs.
///
/// # Errors
/// The interval's errors (α outside (0, 1)).
pub fn estimate_list(e: &Estimate, alpha: f64) -> Result<Vec<(&'static str, Robj)>, Error> {
    let p = e.theta().len();
    let cov = e.cov();
    let ci = e.conf_int(alpha)?;
    // Each coefficient's Student-t degrees of freedom; infinite for normal quantiles.
    let df: Vec<f64> = (0..p)
        .map(|j| e.df_of(j).unwrap_or(f64::INFINITY))
        .collect();
    let notes: Vec<String> = e.notes().iter().map(ToString::to_string).collect();
    let scales: Vec<String> = e
        .interval_scales()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    Ok(vec![
        ("names", e.names().to_vec().into()),
        ("coefficients", e.theta().to_vec().into()),
        ("vcov", matrix(p, p, move |i, j| cov[[i, j]])),
        ("std_error", e.se().to_vec().into()),
        ("statistic", e.z().to_vec().into()),
        ("p_value", e.p_values().to_vec().into()),
        ("conf_low", ci.column(0).to_vec().into()),
        ("conf_high", ci.column(1).to_vec().into()),
        ("df", df.into()),
        ("interval_scale", scales.into()),
        ("model", e.model().into()),
        ("n_labeled", (e.n_labeled() as f64).into()),
        ("n_rows", (e.n_rows() as f64).into()),
        ("notes", notes.into()),
    ])
}

/// The bootstrap's standard errors, p-values and interval (`NULL` without one).
///
/// # Errors
/// The interval's errors.
pub fn bootstrap_list(boot: Option<&BootstrapFit>, alpha: f64) -> Result<Robj, Error> {
    let Some(b) = boot else {
        return Ok(().into());
    };
    let ci = b.conf_int_with(alpha, b.interval())?;
    let names = [
        "std_error",
        "p_value",
        "conf_low",
        "conf_high",
        "replicates",
        "failed",
        "seed",
        "interval",
    ];
    let values: [Robj; 8] = [
        b.se().to_vec().into(),
        b.p_values().to_vec().into(),
        ci.column(0).to_vec().into(),
        ci.column(1).to_vec().into(),
        (b.n_replicates() as f64).into(),
        (b.n_failed() as f64).into(),
        (b.seed() as f64).into(),
        b.interval().name().into(),
    ];
    Ok(List::from_names_and_values(names, values)
        .expect("as many names as values")
        .into())
}
