//! `synthgmm plan`: from a pilot, the standard errors at other label and row counts,
//! the labels a target half-width needs, and the cheapest design.

use std::path::PathBuf;

use clap::Args;
use synthgmm::models::{Logistic, Mean, Ols, Poisson};
use synthgmm::{normal_critical_value, MomentModel, Plan, Planned, TwoStepGmm};

use crate::data::{unsupported, DataArgs, Loaded, ModelName};
use crate::Failure;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The coefficient to plan for (a covariate name of --real).
    #[arg(long)]
    pub coefficient: String,
    /// Target half-width of the (1 − alpha) interval.
    #[arg(long)]
    pub half_width: Option<f64>,
    /// Rows T′ the new study will have (default: the pilot's).
    #[arg(long)]
    pub rows: Option<u64>,
    /// Labeled counts n′ to predict at (comma-separated; default: 1, 2, 5 and 10 × the
    /// pilot's, up to T′).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<u64>,
    /// Cost of one human label (with --row-cost: the cheapest design for the target).
    #[arg(long)]
    pub label_cost: Option<f64>,
    /// Cost of one model-made row.
    #[arg(long)]
    pub row_cost: Option<f64>,
    /// Budget: the narrowest interval it buys (needs both costs).
    #[arg(long)]
    pub budget: Option<f64>,
    /// Level of the intervals is 1 − alpha.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Also draw the predicted half-width against labels: FIGURE.svg and FIGURE.png.
    #[arg(long, value_name = "FIGURE")]
    pub figure: Option<PathBuf>,
}

pub fn run(args: &PlanArgs) -> Result<String, Failure> {
    let loaded = args.data.load()?;
    match args.data.model {
        ModelName::Ols => plan(Ols, &loaded, args),
        ModelName::Logistic => plan(Logistic, &loaded, args),
        ModelName::Poisson => plan(Poisson, &loaded, args),
        ModelName::Quantile => plan(args.data.quantile_model(&loaded)?, &loaded, args),
        ModelName::Mean => plan(Mean, &loaded, args),
        other => Err(unsupported(
            other,
            "planning assumes as many moments as parameters",
        )),
    }
}

fn plan<M: MomentModel + Clone + 'static>(
    model: M,
    loaded: &Loaded,
    args: &PlanArgs,
) -> Result<String, Failure> {
    let fail = |e: synthgmm::Error| loaded.failure(&e);
    let plan = TwoStepGmm::new(model).plan(&loaded.data).map_err(fail)?;
    let coef = plan
        .names()
        .iter()
        .position(|n| *n == args.coefficient)
        .ok_or_else(|| {
            Failure::Data(format!(
                "--coefficient `{}` is not one of {}",
                args.coefficient,
                plan.names().join(", ")
            ))
        })?;
    if args.label_cost.zip(args.row_cost).is_none()
        && (args.budget.is_some() || args.label_cost.is_some() || args.row_cost.is_some())
    {
        return Err(Failure::Data(
            "--label-cost and --row-cost go together (and --budget needs both)".into(),
        ));
    }
    let (_, t) = plan.pilot();
    let rows = args.rows.map_or(t, |r| r as usize);
    let z = normal_critical_value(args.alpha).map_err(fail)?;
    let report = Report {
        estimators: estimators(&plan),
        plan: &plan,
        coef,
        rows,
        args,
    };
    let mut out = report.half_widths(z).map_err(fail)?;
    out.push_str(&report.worth().map_err(fail)?);
    out.push_str(&report.costs().map_err(fail)?);
    if let Some(stem) = &args.figure {
        figure(&plan, &report.estimators, coef, rows, z, args, stem)?;
        out.push_str(&format!("\nwrote {0}.svg and {0}.png\n", stem.display()));
    }
    Ok(out)
}

/// The plan's predictions for one coefficient, as the sections of the report.
struct Report<'a> {
    plan: &'a Plan,
    estimators: Vec<(String, Planned)>,
    coef: usize,
    rows: usize,
    args: &'a PlanArgs,
}

impl Report<'_> {
    /// The predicted half-width by labeled rows n′ (given, or 1, 2, 5 and 10 times
    /// the pilot's), one line per estimator.
    fn half_widths(&self, z: f64) -> synthgmm::Result<String> {
        let (n, t) = self.plan.pilot();
        let labels: Vec<usize> = if self.args.labels.is_empty() {
            [1, 2, 5, 10]
                .iter()
                .map(|k| k * n)
                .filter(|&g| g <= self.rows)
                .collect()
        } else {
            self.args.labels.iter().map(|&g| g as usize).collect()
        };
        let pct = 100.0 * (1.0 - self.args.alpha);
        let mut out = format!(
            "Pilot: {n} labeled of {t} rows; coefficient `{}`; T′ = {}.\n\n\
             Predicted {pct:.0}% half-width by labeled rows n′:\n{:<22}",
            self.args.coefficient, self.rows, "estimator"
        );
        for g in &labels {
            out.push_str(&format!("{:>11}", format!("n′={g}")));
        }
        out.push('\n');
        for (name, planned) in &self.estimators {
            out.push_str(&format!("{name:<22}"));
            for &g in &labels {
                let se = self.plan.se(*planned, g, self.rows)?;
                out.push_str(&format!("{:>11.4}", z * se[self.coef]));
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// What the pilot is worth in labels without the sources, and the labels a
    /// half-width needs.
    fn worth(&self) -> synthgmm::Result<String> {
        let (n, t) = self.plan.pilot();
        let mut out = "\nThe pilot is worth, in labels without the sources:\n".to_string();
        for (name, planned) in &self.estimators {
            let worth = self.plan.effective_labels(*planned, n, t)?[self.coef];
            out.push_str(&format!("  {name:<22}{worth:>10.0}\n"));
        }
        if let Some(h) = self.args.half_width {
            out.push_str(&format!(
                "\nLabels for ±{h} with T′ = {} rows:\n",
                self.rows
            ));
            for (name, planned) in &self.estimators {
                let need =
                    self.plan
                        .labels_for(*planned, self.coef, h, self.args.alpha, self.rows)?;
                let text = need.map_or("not reachable with these rows".into(), |v| v.to_string());
                out.push_str(&format!("  {name:<22}{text:>10}\n"));
            }
        }
        Ok(out)
    }

    /// With costs: the cheapest design for the half-width and the narrowest interval
    /// for the budget, per estimator with sources.
    fn costs(&self) -> synthgmm::Result<String> {
        let (args, coef) = (self.args, self.coef);
        let Some((cl, cr)) = args.label_cost.zip(args.row_cost) else {
            return Ok(String::new());
        };
        let mut out = String::new();
        if let Some(h) = args.half_width {
            out.push_str(&format!(
                "\nCheapest design for ±{h} (a label costs {cl}, a row {cr}):\n"
            ));
            for (name, planned) in self.estimators.iter().skip(1) {
                let d = self.plan.cheapest(*planned, coef, h, args.alpha, cl, cr)?;
                out.push_str(&format!(
                    "  {name:<22}n′ = {:>9.0}, T′ = {:>11.0}, cost {:>11.1}\n",
                    d.labeled.ceil(),
                    d.rows.ceil(),
                    d.cost
                ));
            }
        }
        if let Some(budget) = args.budget {
            out.push_str(&format!("\nNarrowest interval for a budget of {budget}:\n"));
            for (name, planned) in self.estimators.iter().skip(1) {
                let d = self
                    .plan
                    .best_for_budget(*planned, coef, budget, args.alpha, cl, cr)?;
                out.push_str(&format!(
                    "  {name:<22}n′ = {:>9.0}, T′ = {:>11.0}, ±{:.4}\n",
                    d.labeled.floor(),
                    d.rows.floor(),
                    d.half_width
                ));
            }
        }
        Ok(out)
    }
}

/// Real-only, GMM with every source, and PPI++ with each source.
fn estimators(plan: &Plan) -> Vec<(String, Planned)> {
    let mut out = vec![
        ("real-only".to_string(), Planned::RealOnly),
        (
            format!("GMM ({})", plan.sources().join(" + ")),
            Planned::Gmm,
        ),
    ];
    for (i, s) in plan.sources().iter().enumerate() {
        out.push((format!("PPI++ ({s})"), Planned::PpiPlusPlus(i)));
    }
    out
}

fn figure(
    plan: &Plan,
    estimators: &[(String, Planned)],
    coef: usize,
    rows: usize,
    z: f64,
    args: &PlanArgs,
    stem: &std::path::Path,
) -> Result<(), Failure> {
    let (n, _) = plan.pilot();
    let n = n.min(rows);
    // Labels from the pilot's n to every row, evenly on a log scale.
    let curve: Vec<usize> = (0..=10)
        .map(|i| (n as f64 * (rows as f64 / n as f64).powf(i as f64 / 10.0)).round() as usize)
        .collect();
    let mut series = Vec::new();
    for (name, planned) in estimators {
        let pts = curve
            .iter()
            .map(|&g| Ok((g as f64, z * plan.se(*planned, g, rows)?[coef])))
            .collect::<Result<Vec<_>, synthgmm::Error>>()
            .map_err(|e| Failure::Data(e.to_string()))?;
        series.push((name.clone(), pts));
    }
    if let Some(parent) = stem.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::Data(format!("cannot write in `{}`: {e}", parent.display())))?;
    }
    crate::plot::lines(
        &series,
        &format!(
            "Predicted {:.0}% half-width, `{}` (pilot n = {n}, T′ = {rows})",
            100.0 * (1.0 - args.alpha),
            args.coefficient
        ),
        "human labels n′",
        args.half_width,
        stem,
    )
    .map_err(|e| Failure::Data(format!("cannot draw the figure: {e}")))
}
