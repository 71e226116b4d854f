//! The data arguments shared by `fit` and `plan`: a file, a model and a column spec.

use clap::Args;
use ndarray::{Array1, Array2};
use synthgmm::models::{LinearIv, Quantile};
use synthgmm::{DataSources, Error};

use crate::choice::choice;
use crate::table::{Format, Table};
use crate::Failure;

pub use synthgmm::named::ModelName;

/// The failure for a model this command does not fit.
pub fn unsupported(model: ModelName, why: &str) -> Failure {
    use synthgmm::named::Choice;
    Failure::Data(format!(
        "--model {} is not supported here: {why}",
        model.choice_name()
    ))
}

/// The covariate name of the column of ones a block without covariates (`Y` alone)
/// gets.
const INTERCEPT: &str = "const";

/// Outcome and covariate columns of one block: `Y:X0,X1,...`, or `Y` alone for an
/// intercept only.
#[derive(Debug, Clone)]
pub struct Spec {
    pub outcome: String,
    pub covariates: Vec<String>,
}

/// `text` split at each `sep` that stands outside double quotes (the quotes are
/// kept, for [`column_name`]).
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `text` split once at the first `sep` outside double quotes.
fn split_once_unquoted(text: &str, sep: char) -> Option<(&str, &str)> {
    let parts = split_unquoted(text, sep);
    let first = parts.first()?;
    (parts.len() > 1).then(|| (*first, &text[first.len() + sep.len_utf8()..]))
}

/// One column (or source) name: trimmed; in double quotes it may hold `,`, `:`, `=`
/// and spaces at its ends, and `""` stands for one `"`.
fn column_name(raw: &str, whole: &str) -> Result<String, String> {
    let raw = raw.trim();
    let name = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if !raw.is_empty() && raw.len() >= 2 => {
            if inner.replace("\"\"", "").contains('"') {
                return Err(format!("a stray double quote in `{whole}`"));
            }
            inner.replace("\"\"", "\"")
        }
        _ if raw.contains('"') => return Err(format!("a stray double quote in `{whole}`")),
        _ => raw.to_string(),
    };
    if name.is_empty() {
        return Err(format!("empty column name in `{whole}`"));
    }
    Ok(name)
}

fn parse_spec(text: &str) -> Result<Spec, String> {
    let Some((y, xs)) = split_once_unquoted(text, ':') else {
        // The outcome alone: an intercept only.
        return Ok(Spec {
            outcome: column_name(text, text)?,
            covariates: Vec::new(),
        });
    };
    let covariates = split_unquoted(xs, ',')
        .into_iter()
        .map(|x| column_name(x, text))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(twice) = covariates
        .iter()
        .enumerate()
        .find_map(|(i, x)| covariates[..i].contains(x).then_some(x))
    {
        return Err(format!(
            "covariate `{twice}` is listed twice in `{text}`: the coefficients would not be identified"
        ));
    }
    Ok(Spec {
        outcome: column_name(y, text)?,
        covariates,
    })
}

/// A named source: `NAME=Y:X0,X1,...`.
fn parse_source(text: &str) -> Result<(String, Spec), String> {
    let (name, spec) = split_once_unquoted(text, '=')
        .ok_or_else(|| format!("expected NAME=Y:X0,X1,... but got `{text}`"))?;
    let name = column_name(name, text).map_err(|e| {
        if name.trim().is_empty() {
            format!("empty source name in `{text}`")
        } else {
            e
        }
    })?;
    Ok((name, parse_spec(spec)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_covariate_listed_twice_is_refused() {
        let e = parse_spec("y:x,z,x").unwrap_err();
        assert!(e.contains("`x` is listed twice"), "{e}");
        assert!(parse_source("s=y:x,\"x \"").is_ok());
    }

    #[test]
    fn quoted_names_may_hold_separators() {
        let spec = parse_spec(r#""y:1" : one, "a,b" ,"say ""hi""""#).unwrap();
        assert_eq!(spec.outcome, "y:1");
        assert_eq!(spec.covariates, ["one", "a,b", r#"say "hi""#]);
        let (name, spec) = parse_source(r#""g=pt"=yhat:"x=1""#).unwrap();
        assert_eq!((name.as_str(), spec.outcome.as_str()), ("g=pt", "yhat"));
        assert_eq!(spec.covariates, ["x=1"]);
        for bad in ["y:x,", ":x", r#"y:"x"#, r#"y:a"b"#, ""] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
        // The outcome alone: an intercept-only block.
        let alone = parse_spec(r#""y:1""#).unwrap();
        assert_eq!(alone.outcome, "y:1");
        assert!(alone.covariates.is_empty());
        assert!(parse_source("=y:x")
            .unwrap_err()
            .contains("empty source name"));
    }
}

/// Where the rows come from and which columns play which part.
///
/// Columns are named explicitly, the constant column included (no implicit
/// intercept): add a column of ones and name it, or give a block's outcome alone
/// (`Y`) for an intercept-only design.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Input: a CSV file, a Parquet file (ending in .parquet or .pq), or a directory
    /// of Parquet files whose rows, in file-name order, are the data set's rows. The
    /// GMM, real-only, PPI++, PPI++Synth and DSL read Parquet out of core (the sources'
    /// rows stay on disk and are read by each pass; weights, clusters and labeling
    /// probabilities are held in memory, one value per row) unless fixed effects or
    /// quantiles are asked for; the other estimators, `all` and `plan` read the named
    /// columns into memory.
    #[arg(long, value_name = "PATH")]
    pub data: String,
    /// The moment condition. `quantile` takes the levels of `--quantiles`, `iv` (linear
    /// instrumental variables, ψ = z (y − xᵀθ)) the columns of `--exogenous` and
    /// `--instruments` and adds the weak-instrument diagnostics; `mean` and `quantile`
    /// are of the outcome whatever the covariates.
    #[arg(long, value_parser = choice::<ModelName>())]
    pub model: ModelName,
    /// The label indicator column (1 = human-labeled, 0 = not).
    #[arg(long, value_name = "COL")]
    pub labeled: String,
    /// The real outcome and covariates: Y:X0,X1,..., or Y alone for an intercept only
    /// (a name holding `,`, `:` or `=` in double quotes: "a,b":one,"x:1")
    #[arg(long, value_name = "Y:X0,X1,...", value_parser = parse_spec)]
    pub real: Spec,
    /// An auxiliary source on every row, repeatable (its order is the order of η):
    /// NAME=Y:X0,X1,...
    #[arg(long = "source", value_name = "NAME=Y:X0,...", value_parser = parse_source)]
    pub sources: Vec<(String, Spec)>,
    /// A cluster id column (any values: text or numbers): cluster-robust standard
    /// errors, with the finite-cluster factor G/(G − 1).
    #[arg(long, value_name = "COL")]
    pub cluster: Option<String>,
    /// An observation (survey) weight column, positive: every row's moments are
    /// multiplied by its weight (every estimator but RePPI, which refuses it).
    #[arg(long, value_name = "COL")]
    pub weight: Option<String>,
    /// Known labeling probabilities π_t, a column in (0, 1] (e.g. `probability` of
    /// `synthgmm design`): labeled rows are weighted by 1/π_t.
    #[arg(long, value_name = "COL")]
    pub labeling_probability: Option<String>,
    /// With `--model iv`: the covariates of `--real` that are exogenous (their own
    /// instruments), comma-separated.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub exogenous: Vec<String>,
    /// With `--model iv`: the excluded instrument columns, comma-separated (observed
    /// on every row; the sources share them).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub instruments: Vec<String>,
    /// Fixed-effect id columns (text or numbers), comma-separated: one- or two-way
    /// fixed effects absorbed from every block by the within transformation (least
    /// squares and linear IV; leave the constant column out). Rows are clustered by
    /// the first unless `--cluster` is given.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub fixed_effects: Vec<String>,
    /// With `--model quantile`: the levels, each in (0, 1), comma-separated.
    #[arg(long, value_name = "Q1,Q2,...", value_delimiter = ',')]
    pub quantiles: Vec<f64>,
}

/// The data set a command fits, with what error messages need to locate rows.
pub struct Loaded {
    pub data: DataSources,
    /// The real covariates of every row (read in memory only).
    pub real_x: Option<Array2<f64>>,
    pub format: Format,
    pub path: String,
}

impl DataArgs {
    /// The Parquet input opened out of core (see [`synthgmm::parquet`]; weights,
    /// clusters and labeling probabilities are held in memory, one value per row), or
    /// `None` when the input is not Parquet, this build reads no Parquet, or fixed
    /// effects or a model that reads every row in memory (quantiles) are asked for.
    pub fn open_out_of_core(&self) -> Option<Result<Loaded, Failure>> {
        if self.model == ModelName::Quantile || !self.fixed_effects.is_empty() {
            return None;
        }
        let paths = crate::table::parquet_files(&self.data)?;
        Some(self.open_parquet(&paths))
    }

    #[cfg(feature = "parquet")]
    fn open_parquet(&self, paths: &[std::path::PathBuf]) -> Result<Loaded, Failure> {
        let data = self
            .parquet_spec(paths)
            .open()
            .map_err(|e| Failure::Data(describe(&e, &self.data, Format::Parquet)))?;
        Ok(self.loaded_parquet(data))
    }

    /// The Parquet input opened out of core once for several outcomes (the named one
    /// first, then `others`: each one's real outcome column and its sources'), their
    /// passes over the files shared (`ParquetSources::open_outcomes`); `None` as for
    /// [`open_out_of_core`](Self::open_out_of_core).
    pub fn open_outcomes_out_of_core(
        &self,
        others: &[Vec<String>],
    ) -> Option<Result<Vec<Loaded>, Failure>> {
        if self.model == ModelName::Quantile || !self.fixed_effects.is_empty() {
            return None;
        }
        let paths = crate::table::parquet_files(&self.data)?;
        Some(self.open_parquet_outcomes(&paths, others))
    }

    #[cfg(feature = "parquet")]
    fn open_parquet_outcomes(
        &self,
        paths: &[std::path::PathBuf],
        others: &[Vec<String>],
    ) -> Result<Vec<Loaded>, Failure> {
        let others = others.iter().filter_map(|columns| {
            let (real, sources) = columns.split_first()?;
            Some((real.clone(), sources.to_vec()))
        });
        let data = self
            .parquet_spec(paths)
            .open_outcomes(others)
            .map_err(|e| Failure::Data(describe(&e, &self.data, Format::Parquet)))?;
        Ok(data.into_iter().map(|d| self.loaded_parquet(d)).collect())
    }

    #[cfg(not(feature = "parquet"))]
    fn open_parquet_outcomes(
        &self,
        _paths: &[std::path::PathBuf],
        _others: &[Vec<String>],
    ) -> Result<Vec<Loaded>, Failure> {
        unreachable!("no Parquet input without the `parquet` feature")
    }

    /// The Parquet files' columns as this command names them.
    #[cfg(feature = "parquet")]
    fn parquet_spec(&self, paths: &[std::path::PathBuf]) -> synthgmm::parquet::ParquetSources {
        let mut spec = synthgmm::parquet::ParquetSources::new(paths)
            .labeled(&self.labeled)
            .real(&self.real.outcome, &self.real.covariates);
        for (name, s) in &self.sources {
            spec = spec.source(name, &s.outcome, &s.covariates);
        }
        if let Some(column) = &self.weight {
            spec = spec.weights(column);
        }
        if let Some(column) = &self.cluster {
            spec = spec.clusters(column);
        }
        if let Some(column) = &self.labeling_probability {
            spec = spec.labeling_probabilities(column);
        }
        for column in &self.instruments {
            spec = spec.column(column);
        }
        spec
    }

    #[cfg(feature = "parquet")]
    fn loaded_parquet(&self, data: DataSources) -> Loaded {
        Loaded {
            data,
            real_x: None,
            format: Format::Parquet,
            path: self.data.clone(),
        }
    }

    #[cfg(not(feature = "parquet"))]
    fn open_parquet(&self, _paths: &[std::path::PathBuf]) -> Result<Loaded, Failure> {
        unreachable!("no Parquet input without the `parquet` feature")
    }

    /// The linear IV model of `--exogenous` and `--instruments`.
    ///
    /// # Errors
    /// A usage failure when an exogenous column is not a covariate of `--real` or no
    /// instrument is named.
    pub fn iv_model(&self) -> Result<LinearIv, Failure> {
        if self.instruments.is_empty() {
            return Err(Failure::Data(
                "--model iv needs --instruments (the excluded instrument columns)".into(),
            ));
        }
        let exogenous = self
            .exogenous
            .iter()
            .map(|name| {
                self.real
                    .covariates
                    .iter()
                    .position(|c| c == name)
                    .ok_or_else(|| {
                        Failure::Data(format!(
                            "--exogenous `{name}` is not a covariate of --real ({})",
                            self.real.covariates.join(", ")
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LinearIv::new(exogenous, self.instruments.clone()))
    }

    /// The quantile model of `--quantiles`, its bandwidths from the labeled outcomes.
    ///
    /// # Errors
    /// A usage failure when no level is given, and the model's own errors (a level
    /// outside (0, 1), labeled outcomes that do not vary).
    pub fn quantile_model(&self, loaded: &Loaded) -> Result<Quantile, Failure> {
        if self.quantiles.is_empty() {
            return Err(Failure::Data(
                "--model quantile needs --quantiles (the levels, e.g. 0.1,0.5,0.9)".into(),
            ));
        }
        Quantile::new(&self.quantiles, loaded.data.real_y()).map_err(|e| loaded.failure(&e))
    }

    /// The label indicator column as booleans: 1 labeled, 0 not, anything else an
    /// error naming the row.
    fn label_mask(&self, table: &Table) -> Result<Vec<bool>, Failure> {
        table
            .column(&self.labeled)?
            .iter()
            .enumerate()
            .map(|(r, &v)| match v {
                1.0 => Ok(true),
                0.0 => Ok(false),
                v => Err(Failure::Data(format!(
                    "`{}` {}, column `{}`: the label indicator must be 0 or 1, found {v}",
                    table.path,
                    table.format.locate(r),
                    self.labeled
                ))),
            })
            .collect()
    }

    /// The numeric columns the options name, each once: the label, weight and
    /// probability columns, the instruments, and every block's outcome and covariates.
    fn wanted_columns(&self) -> Vec<String> {
        let mut wanted = vec![self.labeled.clone()];
        wanted.extend(self.weight.iter().cloned());
        wanted.extend(self.labeling_probability.iter().cloned());
        wanted.extend(self.instruments.iter().cloned());
        let blocks = std::iter::once(&self.real).chain(self.sources.iter().map(|(_, s)| s));
        for spec in blocks {
            for name in std::iter::once(&spec.outcome).chain(&spec.covariates) {
                if !wanted.contains(name) {
                    wanted.push(name.clone());
                }
            }
        }
        wanted
    }

    /// Reads the named columns and builds the data set.
    pub fn load(&self) -> Result<Loaded, Failure> {
        if self.model != ModelName::Iv
            && !(self.exogenous.is_empty() && self.instruments.is_empty())
        {
            return Err(Failure::Data(
                "--exogenous and --instruments apply to --model iv".into(),
            ));
        }
        if self.model != ModelName::Quantile && !self.quantiles.is_empty() {
            return Err(Failure::Data(
                "--quantiles applies to --model quantile".into(),
            ));
        }
        let labels: Vec<String> = self
            .cluster
            .iter()
            .chain(&self.fixed_effects)
            .cloned()
            .collect();
        let table = Table::read(&self.data, &self.wanted_columns(), &labels)?;
        let labeled = self.label_mask(&table)?;
        let block = |spec: &Spec| -> Result<(Array2<f64>, Array1<f64>), String> {
            let y = Array1::from(table.column(&spec.outcome)?.to_vec());
            let cols = spec
                .covariates
                .iter()
                .map(|c| table.column(c))
                .collect::<Result<Vec<_>, _>>()?;
            let x = match cols.is_empty() {
                true => Array2::ones((table.rows, 1)),
                false => Array2::from_shape_fn((table.rows, cols.len()), |(i, j)| cols[j][i]),
            };
            Ok((x, y))
        };
        let (x, y) = block(&self.real)?;
        let names = match self.real.covariates.is_empty() {
            true => vec![INTERCEPT.to_string()],
            false => self.real.covariates.clone(),
        };
        let mut builder = DataSources::builder(&labeled)
            .real(&x, &y)
            .covariate_names(names);
        for (name, spec) in &self.sources {
            let (sx, sy) = block(spec)?;
            builder = builder.source(name.clone(), &sx, &sy);
        }
        if let Some(column) = &self.weight {
            builder = builder.weights(&Array1::from(table.column(column)?.to_vec()));
        }
        if let Some(column) = &self.labeling_probability {
            let pi = Array1::from(table.column(column)?.to_vec());
            builder = builder.labeling_probabilities(&pi);
        }
        for column in &self.instruments {
            builder = builder.column(
                column.clone(),
                &Array1::from(table.column(column)?.to_vec()),
            );
        }
        if let Some(column) = &self.cluster {
            builder = builder.clusters(ids_of(&table, column, "cluster id")?);
        }
        for column in &self.fixed_effects {
            builder = builder.fixed_effects(ids_of(&table, column, "fixed-effect id")?);
        }
        let located = |e: &Error| describe(e, &table.path, table.format);
        let data = builder.build().map_err(|e| Failure::Data(located(&e)))?;
        Ok(Loaded {
            data,
            real_x: Some(x),
            format: table.format,
            path: table.path.clone(),
        })
    }
}

/// The ids in a label column, none missing.
fn ids_of<'a>(table: &'a Table, column: &str, what: &str) -> Result<&'a [String], Failure> {
    let ids = table.labels(column)?;
    match ids.iter().position(String::is_empty) {
        Some(r) => Err(Failure::Data(format!(
            "`{}` {}, column `{column}`: missing {what}",
            table.path,
            table.format.locate(r)
        ))),
        None => Ok(ids),
    }
}

/// An error of the library with its row located in the input file.
pub fn describe(e: &Error, path: &str, format: Format) -> String {
    match e {
        Error::NonFinite { row, .. }
        | Error::InvalidValue { row, .. }
        | Error::FixedEffectSingleton { row, .. }
        | Error::SingleRowFit { row, .. } => {
            format!("`{path}` {}: {e}", format.locate(*row))
        }
        _ => e.to_string(),
    }
}

impl Loaded {
    /// A failed fit: bad values in the data are data errors (exit 2), the rest
    /// estimation failures (exit 1).
    pub fn failure(&self, e: &Error) -> Failure {
        let message = describe(e, &self.path, self.format);
        match e {
            Error::NonFinite { .. }
            | Error::InvalidValue { .. }
            | Error::InvalidConfig { .. }
            | Error::MissingSource { .. }
            | Error::MissingColumn { .. }
            | Error::LengthMismatch { .. }
            | Error::NoUnlabeledRows { .. }
            | Error::TooFewLabeled { .. }
            | Error::SingleRowFit { .. }
            | Error::QuantileUnsupported { .. }
            | Error::FixedEffectsModel { .. }
            | Error::Read { .. } => Failure::Data(message),
            _ => Failure::Estimation(message),
        }
    }
}
