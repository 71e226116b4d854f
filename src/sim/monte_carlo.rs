//! A Monte-Carlo runner: any estimators, R replications, a grid of designs.

use std::fmt;
use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::estimator::Estimator;
use crate::inference::normal_critical_value;
use ndarray::Array1;

use crate::data::DataSources;

/// A source of data sets with a known target: a simulation design
/// ([`SimConfig`](crate::sim::SimConfig)), or repeated labeling of a real corpus whose
/// full-data estimate is the target.
pub trait Design: Sync {
    /// The data set of replication `seed`.
    ///
    /// # Errors
    /// Whatever building the data can return; the runner counts it as a failure of
    /// every estimator.
    fn draw(&self, seed: u64) -> Result<DataSources>;
    /// The target θ the estimators are judged against.
    fn truth(&self) -> Array1<f64>;
    /// Names of θ's coefficients.
    fn coefficient_names(&self) -> Vec<String>;
}

/// One design of the grid: a label for the knob being varied, its value, and the design.
pub struct GridPoint {
    /// Name of the knob varied along the grid, e.g. `"labeling_rate"`.
    pub knob: String,
    /// Its value at this point.
    pub value: f64,
    /// The design.
    pub design: Box<dyn Design + Send>,
}

impl GridPoint {
    /// A grid point.
    pub fn new(knob: impl Into<String>, value: f64, design: impl Design + Send + 'static) -> Self {
        Self {
            knob: knob.into(),
            value,
            design: Box::new(design),
        }
    }
}

impl fmt::Debug for GridPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GridPoint({} = {})", self.knob, self.value)
    }
}

/// Summary of one estimator at one grid point, for one coefficient.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct McRow {
    /// Estimator name.
    pub estimator: String,
    /// Knob varied along the grid.
    pub knob: String,
    /// Knob value.
    pub value: f64,
    /// Coefficient name.
    pub coefficient: String,
    /// Replications attempted.
    pub reps: usize,
    /// Replications in which the estimator returned an error (excluded from the rest).
    pub failures: usize,
    /// Mean labeled rows n.
    pub mean_labeled: f64,
    /// Mean squared error against the truth.
    pub mse: f64,
    /// Mean error.
    pub bias: f64,
    /// Fraction of (1 − α) intervals that contain the truth.
    pub coverage: f64,
    /// Monte-Carlo standard error of `coverage`, √(c(1 − c)/R).
    pub coverage_mcse: f64,
    /// Mean interval width.
    pub mean_ci_width: f64,
    /// Mean of the reported standard errors squared.
    pub mean_variance: f64,
    /// Effective sample size, n · mean se²(reference) / mean se²(this estimator), with the
    /// reference estimator of the runner (real-only by default); NaN without it.
    pub ess: f64,
}

/// The result of a run: one [`McRow`] per estimator × grid point × coefficient.
#[derive(Debug, Clone)]
pub struct McReport {
    /// The rows.
    pub rows: Vec<McRow>,
    /// Nominal level 1 − α of the intervals.
    pub level: f64,
}

/// Runs estimators on simulated data sets.
///
/// # Examples
/// ```
/// use synthgmm::baselines::RealOnly;
/// use synthgmm::sim::{GridPoint, MonteCarlo, SimConfig, SimModel};
/// use synthgmm::{models::Ols, Estimator, OnSources, TwoStepGmm};
///
/// let grid: Vec<GridPoint> = [0.05, 0.2].iter()
///     .map(|&r| GridPoint::new("labeling_rate", r, SimConfig::new(SimModel::Ols).rows(1000).labeling_rate(r)))
///     .collect();
/// let estimators: Vec<Box<dyn Estimator + Send + Sync>> = vec![
///     Box::new(RealOnly::new(Ols)),
///     Box::new(OnSources::new("GMM-Synth", TwoStepGmm::new(Ols), ["proxy", "synth"])),
/// ];
/// let report = MonteCarlo::new(50).seed(1).progress(false).run(&grid, &estimators)?;
/// let row = report.find("GMM-Synth", 0.2, "x1").unwrap();
/// assert_eq!(row.reps, 50);
/// assert!(row.ess > 200.0); // more than the 200 labeled rows
/// # Ok::<(), synthgmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MonteCarlo {
    reps: usize,
    seed: u64,
    alpha: f64,
    progress: bool,
    reference: String,
}

/// SplitMix64 finaliser: a bijective, well-mixing map of 64-bit words.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of replication `rep` at grid point `point`: the three are mixed one after
/// the other, so different base seeds give unrelated streams.
fn replication_seed(seed: u64, point: usize, rep: usize) -> u64 {
    mix(mix(mix(seed) ^ point as u64) ^ rep as u64)
}

/// Per replication and estimator: (θ̂, se, each coefficient's two-sided critical value)
/// or a failure.
type Draw = Option<(Vec<f64>, Vec<f64>, Vec<f64>)>;

impl MonteCarlo {
    /// `reps` replications per grid point, seed 0, 95% intervals, progress bar on.
    pub fn new(reps: usize) -> Self {
        Self {
            reps,
            seed: 0,
            alpha: 0.05,
            progress: true,
            reference: "Real-only".into(),
        }
    }
    /// Base seed; replication r of grid point g uses a seed mixed from (seed, g, r).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Interval level 1 − α.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// Whether to draw a progress bar on stderr (it stays hidden when stderr is not a
    /// terminal).
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }
    /// Name of the estimator whose variance defines the effective sample size.
    pub fn reference(mut self, name: impl Into<String>) -> Self {
        self.reference = name.into();
        self
    }

    /// Runs every estimator on `reps` data sets per grid point, in parallel over
    /// replications. Errors of an estimator on a data set are counted as failures.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for zero replications, an empty grid or no estimators,
    /// or an invalid α.
    pub fn run(
        &self,
        grid: &[GridPoint],
        estimators: &[Box<dyn Estimator + Send + Sync>],
    ) -> Result<McReport> {
        if self.reps == 0 || grid.is_empty() || estimators.is_empty() {
            return Err(Error::InvalidConfig {
                parameter: "monte_carlo",
                reason: "needs at least one replication, grid point and estimator".into(),
            });
        }
        // Checks α; each estimate's own critical value (z or t) makes its intervals.
        normal_critical_value(self.alpha)?;
        let bar = self.progress_bar(grid.len() * self.reps);
        let mut rows = Vec::new();
        for (g, point) in grid.iter().enumerate() {
            let draws = self.draws(g, point, estimators, &bar);
            let labeled: Vec<f64> = draws
                .iter()
                .map(|d| d.0)
                .filter(|n| n.is_finite())
                .collect();
            let mean_labeled = labeled.iter().sum::<f64>() / labeled.len().max(1) as f64;
            let truth = point.design.truth();
            let first_row = rows.len();
            for (e, est) in estimators.iter().enumerate() {
                for (j, coef) in point.design.coefficient_names().iter().enumerate() {
                    // (θ̂_j, the interval's half-width, se_j) per successful replication.
                    let ok: Vec<(f64, f64, f64)> = draws
                        .iter()
                        .filter_map(|d| {
                            d.1[e]
                                .as_ref()
                                .map(|(th, se, crit)| (th[j], crit[j] * se[j], se[j]))
                        })
                        .collect();
                    let mut row = McRow::summary(&ok, truth[j], self.reps);
                    row.estimator = est.name();
                    row.knob = point.knob.clone();
                    row.value = point.value;
                    row.coefficient = coef.clone();
                    row.mean_labeled = mean_labeled;
                    rows.push(row);
                }
            }
            self.effective_sizes(&mut rows[first_row..]);
        }
        bar.finish_and_clear();
        Ok(McReport {
            rows,
            level: 1.0 - self.alpha,
        })
    }

    /// A bar over `total` replications, hidden unless progress was asked for.
    fn progress_bar(&self, total: usize) -> ProgressBar {
        let bar = match self.progress {
            true => ProgressBar::new(total as u64),
            false => ProgressBar::hidden(),
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} replications ({eta} left)",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    }

    /// Every replication at grid point `g`, on every core: its labeled rows and each
    /// estimator's (θ̂, se, critical values), `None` where it failed or gave a
    /// non-finite standard error.
    fn draws(
        &self,
        g: usize,
        point: &GridPoint,
        estimators: &[Box<dyn Estimator + Send + Sync>],
        bar: &ProgressBar,
    ) -> Vec<(f64, Vec<Draw>)> {
        let fit = |e: &(dyn Estimator + Send + Sync), data: &DataSources| -> Draw {
            let est = e
                .estimate(data)
                .ok()
                .filter(|est| est.se().iter().all(|s| s.is_finite()))?;
            let crit = est.critical_values(self.alpha).ok()?;
            Some((est.theta().to_vec(), est.se().to_vec(), crit.to_vec()))
        };
        (0..self.reps)
            .into_par_iter()
            .map(|r| {
                let out = match point.design.draw(replication_seed(self.seed, g, r)) {
                    Err(_) => (f64::NAN, vec![None; estimators.len()]),
                    Ok(data) => {
                        let fits = estimators.iter().map(|e| fit(e.as_ref(), &data)).collect();
                        (data.n_labeled() as f64, fits)
                    }
                };
                bar.inc(1);
                out
            })
            .collect()
    }

    /// Effective sample sizes against the reference estimator, over one grid point's
    /// rows.
    fn effective_sizes(&self, rows: &mut [McRow]) {
        for j in 0..rows.len() {
            let reference = rows
                .iter()
                .find(|r| r.estimator == self.reference && r.coefficient == rows[j].coefficient)
                .map(|r| r.mean_variance);
            if let Some(v_ref) = reference {
                rows[j].ess = rows[j].mean_labeled * v_ref / rows[j].mean_variance;
            }
        }
    }
}

impl McRow {
    /// The summaries of one coefficient's (θ̂, half-width, se) over the successful
    /// replications of `reps`, against the true value; NaN with none (the labels and
    /// names are filled in by the caller).
    fn summary(ok: &[(f64, f64, f64)], truth: f64, reps: usize) -> McRow {
        let m = if ok.is_empty() {
            f64::NAN
        } else {
            ok.len() as f64
        };
        let err = |th: f64| th - truth;
        let coverage = ok
            .iter()
            .filter(|(th, half, _)| err(*th).abs() <= *half)
            .count() as f64
            / m;
        McRow {
            estimator: String::new(),
            knob: String::new(),
            value: f64::NAN,
            coefficient: String::new(),
            reps,
            failures: reps - ok.len(),
            mean_labeled: f64::NAN,
            mse: ok.iter().map(|(th, ..)| err(*th).powi(2)).sum::<f64>() / m,
            bias: ok.iter().map(|(th, ..)| err(*th)).sum::<f64>() / m,
            coverage,
            coverage_mcse: (coverage * (1.0 - coverage) / m).sqrt(),
            mean_ci_width: ok.iter().map(|(_, half, _)| 2.0 * half).sum::<f64>() / m,
            mean_variance: ok.iter().map(|(.., se)| se * se).sum::<f64>() / m,
            ess: f64::NAN,
        }
    }
}

impl McReport {
    /// The row of `estimator` at grid value `value` for coefficient `coefficient`.
    pub fn find(&self, estimator: &str, value: f64, coefficient: &str) -> Option<&McRow> {
        self.rows
            .iter()
            .find(|r| r.estimator == estimator && r.value == value && r.coefficient == coefficient)
    }

    /// Writes the rows as a tidy CSV with a header line.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn write_csv(&self, mut out: impl Write) -> std::io::Result<()> {
        writeln!(out, "estimator,knob,value,coefficient,reps,failures,mean_labeled,mse,bias,coverage,coverage_mcse,mean_ci_width,ess")?;
        for r in &self.rows {
            writeln!(
                out,
                "\"{}\",{},{},{},{},{},{},{:e},{:e},{},{},{:e},{}",
                r.estimator.replace('"', "'"),
                r.knob,
                r.value,
                r.coefficient,
                r.reps,
                r.failures,
                r.mean_labeled,
                r.mse,
                r.bias,
                r.coverage,
                r.coverage_mcse,
                r.mean_ci_width,
                r.ess
            )?;
        }
        Ok(())
    }

    /// A printable table restricted to one coefficient.
    pub fn table<'a>(&'a self, coefficient: &'a str) -> McTable<'a> {
        McTable {
            report: self,
            coefficient,
        }
    }
}

/// A fixed-width table of a report for one coefficient.
#[derive(Debug, Clone, Copy)]
pub struct McTable<'a> {
    report: &'a McReport,
    coefficient: &'a str,
}

impl fmt::Display for McTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = format!("cover {:.0}%", 100.0 * self.report.level);
        // The design knob names the value column (e.g. "labeling rate").
        let knob = self
            .report
            .rows
            .first()
            .map_or("value", |r| r.knob.as_str());
        writeln!(
            f,
            "{:<32} {:>13} {:>10} {:>9} {:>15} {:>9} {:>8} {:>6}",
            "estimator", knob, "MSE", "bias", level, "CI width", "eff. n", "fail"
        )?;
        for r in self
            .report
            .rows
            .iter()
            .filter(|r| r.coefficient == self.coefficient)
        {
            writeln!(
                f,
                "{:<32} {:>13} {:>10.3e} {:>9.4} {:>8.1}% ±{:>4.1} {:>9.4} {:>8.0} {:>6}",
                r.estimator,
                r.value,
                r.mse,
                r.bias,
                100.0 * r.coverage,
                100.0 * r.coverage_mcse,
                r.mean_ci_width,
                r.ess,
                r.failures
            )?;
        }
        writeln!(
            f,
            "MSE and bias of the estimate against the truth; {level}: the share of intervals \
             that contain it (± its Monte-Carlo standard error); eff. n: the labeled rows \
             the reference estimator would need for the same variance (for a biased \
             estimator such as naive pooling, its narrow interval, not its accuracy); fail: \
             replications where the estimator returned an error."
        )
    }
}
