//! Named numeric columns read from a CSV or a Parquet file.
//!
//! Only the columns a command names are parsed, so text columns it does not use are no
//! obstacle. Missing values become NaN (allowed only where the estimator does not read
//! them: real outcomes and covariates on unlabeled rows).

use std::path::Path;

/// Where a row sits in the input file, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Row t is on line t + 2 (after the header).
    Csv,
    /// Row t is row t + 1 of the file.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    Parquet,
}

impl Format {
    /// The position of data row `row` (0-based) in the file, in its own terms.
    pub fn locate(self, row: usize) -> String {
        match self {
            Format::Csv => format!("line {}", row + 2),
            Format::Parquet => format!("row {}", row + 1),
        }
    }
}

/// The columns a command asked for, by name, with the row count.
pub struct Table {
    pub path: String,
    pub format: Format,
    pub rows: usize,
    columns: Vec<(String, Vec<f64>)>,
    labels: Vec<(String, Vec<String>)>,
}

impl Table {
    /// Reads the named numeric columns and the named label columns (kept as text: ids
    /// such as clusters) of `path`: Parquet when it ends in `.parquet` or `.pq` or is a
    /// directory of such files (their rows in file-name order), CSV otherwise. Each error is one line naming the file, the row and the column.
    pub fn read(path: &str, wanted: &[String], labels: &[String]) -> Result<Table, String> {
        if let Some(files) = parquet_files(path) {
            return read_parquet(path, &files, wanted, labels);
        }
        if Path::new(path).is_dir() {
            return Err(format!(
                "`{path}` is a directory without a .parquet or .pq file"
            ));
        }
        let extension = Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("parquet" | "pq") => read_parquet(path, &[path.into()], wanted, labels),
            _ => read_csv(path, wanted, labels),
        }
    }

    /// The named label column (one the reader was asked for), as text.
    pub fn labels(&self, name: &str) -> Result<&[String], String> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .ok_or_else(|| format!("no column `{name}` in `{}`", self.path))
    }

    /// The named column (one the reader was asked for).
    pub fn column(&self, name: &str) -> Result<&[f64], String> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .ok_or_else(|| format!("no column `{name}` in `{}`", self.path))
    }
}

/// The Parquet files at `path` in row order — the file itself, or a directory's
/// `.parquet`/`.pq` files by name — or `None` for other input, or when this build reads
/// no Parquet.
pub fn parquet_files(path: &str) -> Option<Vec<std::path::PathBuf>> {
    if !cfg!(feature = "parquet") {
        return None;
    }
    let is_parquet = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "parquet" | "pq"))
    };
    let path = Path::new(path);
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_parquet(p))
            .collect();
        files.sort();
        (!files.is_empty()).then_some(files)
    } else {
        is_parquet(path).then(|| vec![path.to_path_buf()])
    }
}

/// A CSV cell as a number: empty, `NA` and `NaN` are missing, `true`/`false` are 1/0.
fn parse_cell(cell: &str) -> Option<f64> {
    if cell.is_empty() || cell.eq_ignore_ascii_case("na") || cell.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    match cell {
        "true" | "TRUE" | "True" => Some(1.0),
        "false" | "FALSE" | "False" => Some(0.0),
        _ => cell.parse().ok(),
    }
}

/// A missing column's error: the columns the file has, and, when its header is one
/// field holding another separator, that the file is not comma-separated.
fn missing_column(name: &str, path: &str, headers: &[String]) -> String {
    let shown: Vec<&str> = headers.iter().take(12).map(String::as_str).collect();
    let more = if headers.len() > shown.len() {
        ", …"
    } else {
        ""
    };
    let mut message = format!(
        "no column `{name}` in `{path}` (its columns: {}{more})",
        shown.join(", ")
    );
    if let [only] = headers {
        if let Some(sep) = [';', '\t', '|'].into_iter().find(|c| only.contains(*c)) {
            let sep = if sep == '\t' {
                "tabs".to_string()
            } else {
                format!("`{sep}`")
            };
            message.push_str(&format!(
                "; the header is one field: the file looks separated by {sep}, and CSV input must be comma-separated"
            ));
        }
    }
    message
}

fn read_csv(path: &str, wanted: &[String], labels: &[String]) -> Result<Table, String> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header of `{path}`: {e}"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.is_empty() {
        return Err(format!("`{path}` is empty: no header and no rows"));
    }
    for (c, h) in headers.iter().enumerate() {
        if let Some(first) = headers[..c].iter().position(|o| o == h) {
            return Err(format!(
                "`{path}`: the header names column `{h}` twice (columns {} and {})",
                first + 1,
                c + 1
            ));
        }
    }
    let position = |name: &String| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| missing_column(name, path, &headers))
    };
    let mut picked = Vec::with_capacity(wanted.len());
    for name in wanted {
        picked.push((name.clone(), position(name)?, Vec::new()));
    }
    let mut texts = Vec::with_capacity(labels.len());
    for name in labels {
        texts.push((name.clone(), position(name)?, Vec::new()));
    }
    let mut rows = 0;
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("`{path}` line {}: {e}", r + 2))?;
        for (_, c, values) in &mut texts {
            values.push(record.get(*c).unwrap_or("").trim().to_string());
        }
        for (name, c, values) in &mut picked {
            let cell = record.get(*c).unwrap_or("").trim();
            let value = parse_cell(cell).ok_or_else(|| {
                format!(
                    "`{path}` line {}, column `{name}`: `{cell}` is not a number",
                    r + 2
                )
            })?;
            values.push(value);
        }
        rows += 1;
    }
    Ok(Table {
        path: path.to_string(),
        format: Format::Csv,
        rows,
        columns: picked.into_iter().map(|(n, _, v)| (n, v)).collect(),
        labels: texts.into_iter().map(|(n, _, v)| (n, v)).collect(),
    })
}

/// The rows of Parquet `files`, in order, as one table named `path`.
#[cfg(feature = "parquet")]
fn read_parquet(
    path: &str,
    files: &[std::path::PathBuf],
    wanted: &[String],
    labels: &[String],
) -> Result<Table, String> {
    let mut table = Table {
        path: path.to_string(),
        format: Format::Parquet,
        rows: 0,
        columns: wanted.iter().map(|n| (n.clone(), Vec::new())).collect(),
        labels: labels.iter().map(|n| (n.clone(), Vec::new())).collect(),
    };
    for file in files {
        read_parquet_file(file, &mut table)?;
    }
    Ok(table)
}

/// Appends the rows of one Parquet file to `table`'s columns. Only the named columns
/// are decoded, one record batch at a time; a decoder panic on a corrupt file is an
/// error like any other.
#[cfg(feature = "parquet")]
fn read_parquet_file(file: &Path, table: &mut Table) -> Result<(), String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    use synthgmm::parquet::{guarded, numeric_column};

    let shown = file.display();
    let guard = |e: synthgmm::Error| e.to_string();
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let builder = guarded(file, || ParquetRecordBatchReaderBuilder::try_new(handle))
        .map_err(guard)?
        .map_err(|e| format!("`{shown}` is not a Parquet file: {e}"))?;
    let schema = builder.schema().clone();
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|(n, _)| n.clone())
        .chain(table.labels.iter().map(|(n, _)| n.clone()))
        .collect();
    let leaves = names
        .iter()
        .map(|name| {
            schema
                .index_of(name)
                .map_err(|_| format!("no column `{name}` in `{shown}`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), leaves);
    let mut reader = guarded(file, || builder.with_projection(mask).build())
        .map_err(guard)?
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let start = table.rows;
    while let Some(batch) = guarded(file, || reader.next()).map_err(guard)? {
        let batch = batch.map_err(|e| {
            format!(
                "cannot read `{shown}` after row {}: {e}",
                table.rows - start
            )
        })?;
        for (name, values) in &mut table.labels {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| format!("no column `{name}` in `{shown}`"))?;
            // Any type: each value's display form identifies its group; nulls are "".
            let options = arrow_cast::display::FormatOptions::default().with_null("");
            let formatter = arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options)
                .map_err(|e| format!("`{shown}`, column `{name}`: {e}"))?;
            values.extend((0..array.len()).map(|i| formatter.value(i).to_string()));
        }
        for (name, values) in &mut table.columns {
            values.extend(numeric_column(&batch, name).map_err(|e| format!("`{shown}`: {e}"))?);
        }
        table.rows += batch.num_rows();
    }
    Ok(())
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(
    path: &str,
    _files: &[std::path::PathBuf],
    _wanted: &[String],
    _labels: &[String],
) -> Result<Table, String> {
    Err(format!(
        "`{path}`: this build reads CSV only; build it with its default features (`--features parquet`) for Parquet"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_parse_as_numbers_booleans_or_missing() {
        assert_eq!(parse_cell("1.5"), Some(1.5));
        assert_eq!(parse_cell("TRUE"), Some(1.0));
        assert_eq!(parse_cell("false"), Some(0.0));
        assert!(parse_cell("").is_some_and(f64::is_nan));
        assert!(parse_cell("NA").is_some_and(f64::is_nan));
        assert_eq!(parse_cell("abc"), None);
    }

    #[test]
    fn rows_are_located_in_the_file_s_terms() {
        assert_eq!(Format::Csv.locate(0), "line 2");
        assert_eq!(Format::Parquet.locate(0), "row 1");
    }
}
