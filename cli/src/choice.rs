//! The library's named choices as command-line values: their names and one-line help
//! come from `synthgmm::named`, the same names the Python and R packages accept.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use synthgmm::named::Choice;

/// A parser for one of the library's choices: clap lists and checks the names (with
/// their help in `--help`), then the library parses the one given.
pub fn choice<T: Choice + Clone + Send + Sync + 'static>() -> impl TypedValueParser<Value = T> {
    let values = T::CHOICES
        .iter()
        .map(|&(name, help)| PossibleValue::new(name).help(help));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<T>())
}
