//! Simulation: data-generating processes with a known θ, and a Monte-Carlo runner that
//! reports MSE, bias, coverage (with its Monte-Carlo error), interval width, effective
//! sample size and failures per estimator and design.

mod dgp;
mod monte_carlo;

pub use dgp::{Labeling, SimConfig, SimModel};
pub use monte_carlo::{Design, GridPoint, McReport, McRow, McTable, MonteCarlo};
