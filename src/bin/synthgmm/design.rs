//! `synthgmm design`: which rows to send to the annotators — every row's labeling
//! probability and a seeded draw of the budget (see `synthgmm::labeling`).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use synthgmm::labeling::{Allocation, Labeling, LabelingPlan, Target};
use synthgmm::models::{Logistic, Ols, Poisson};
use synthgmm::{normal_critical_value, MomentModel, TwoStepGmm};

use crate::data::{DataArgs, Loaded, ModelName};
use crate::table::Table;
use crate::Failure;

/// How the probabilities are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DesignName {
    /// Every row alike.
    Uniform,
    /// Constant within strata (--strata, or quantile groups of the forecast), Neyman's
    /// allocation from the pilot.
    Stratified,
    /// Row by row, by the forecast size of the row's influence.
    Active,
}

#[derive(Debug, Args)]
pub struct DesignArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// New labels to collect (expected; exact when whole).
    #[arg(long)]
    pub budget: f64,
    /// The design.
    #[arg(long, value_enum, default_value_t = DesignName::Active)]
    pub design: DesignName,
    /// A stratum id column (text or numbers) for --design stratified.
    #[arg(long, value_name = "COL")]
    pub strata: Option<String>,
    /// Strata formed from the forecast when --strata is not given.
    #[arg(long, default_value_t = 5)]
    pub strata_count: usize,
    /// The smallest probability of a row (default: a fifth of the uniform rate).
    #[arg(long)]
    pub min_probability: Option<f64>,
    /// The coefficient to make precise (default: every coefficient).
    #[arg(long)]
    pub coefficient: Option<String>,
    /// Seed of the draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Level of the predicted intervals is 1 − alpha.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Where to write every row's `row` (1-based, in file order), `label_now` (1 for
    /// the rows drawn), `probability` (π_t over both phases: give it to `fit
    /// --labeling-probability`) and `phase_two` (π_t¹).
    #[arg(long, value_name = "CSV")]
    pub out: PathBuf,
}

pub fn run(args: &DesignArgs) -> Result<String, Failure> {
    let strata = read_strata(args)?;
    let mut design =
        Labeling::new(allocation(args.design), args.budget).n_strata(args.strata_count);
    if let Some(strata) = &strata {
        design = design.strata(strata);
    }
    if let Some(p) = args.min_probability {
        design = design.min_probability(p);
    }
    let plan = match args.data.load() {
        Ok(loaded) => with_pilot(design, &loaded, args)?,
        Err(failure) => without_pilot(design, args, failure)?,
    };
    write_rows(&plan, args)?;
    report(&plan, args)
}

fn allocation(name: DesignName) -> Allocation {
    match name {
        DesignName::Uniform => Allocation::Uniform,
        DesignName::Stratified => Allocation::Stratified,
        DesignName::Active => Allocation::Active,
    }
}

fn read_strata(args: &DesignArgs) -> Result<Option<Vec<String>>, Failure> {
    let Some(column) = &args.strata else {
        return Ok(None);
    };
    if args.design != DesignName::Stratified {
        return Err(Failure::Data(
            "--strata applies to --design stratified".into(),
        ));
    }
    let table = Table::read(&args.data.data, &[], std::slice::from_ref(column))?;
    Ok(Some(table.labels(column)?.to_vec()))
}

/// Without a labeled row: uniform, or stratified on --strata (proportional).
fn without_pilot(
    design: Labeling,
    args: &DesignArgs,
    failure: Failure,
) -> Result<LabelingPlan, Failure> {
    let table = Table::read(
        &args.data.data,
        std::slice::from_ref(&args.data.labeled),
        &[],
    )?;
    let unlabeled = table.column(&args.data.labeled)?.iter().all(|&v| v == 0.0);
    if !unlabeled {
        return Err(failure);
    }
    design
        .without_pilot(table.rows)
        .map_err(|e| Failure::Data(e.to_string()))
}

fn with_pilot(
    design: Labeling,
    loaded: &Loaded,
    args: &DesignArgs,
) -> Result<LabelingPlan, Failure> {
    match args.data.model {
        ModelName::Ols => plan(Ols, design, loaded, args),
        ModelName::Logistic => plan(Logistic, design, loaded, args),
        ModelName::Poisson => plan(Poisson, design, loaded, args),
        ModelName::Quantile => plan(args.data.quantile_model(loaded)?, design, loaded, args),
        ModelName::Iv => Err(Failure::Data(
            "labeling designs assume as many moments as parameters: --model iv is not supported"
                .into(),
        )),
    }
}

fn plan<M: MomentModel + Clone + 'static>(
    model: M,
    mut design: Labeling,
    loaded: &Loaded,
    args: &DesignArgs,
) -> Result<LabelingPlan, Failure> {
    if let Some(name) = &args.coefficient {
        let names = loaded.data.covariate_names();
        let position = model
            .parameter_names(names)
            .unwrap_or_else(|| names.to_vec())
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| {
                Failure::Data(format!(
                    "--coefficient `{name}` is not one of {}",
                    names.join(", ")
                ))
            })?;
        design = design.target(Target::Coefficient(position));
    }
    let real_x = loaded
        .real_x
        .as_ref()
        .ok_or_else(|| Failure::Data("a labeling design reads the data in memory".into()))?;
    design
        .plan(&TwoStepGmm::new(model), &loaded.data, real_x.view())
        .map_err(|e| loaded.failure(&e))
}

fn write_rows(plan: &LabelingPlan, args: &DesignArgs) -> Result<(), Failure> {
    let drawn = plan.draw(args.seed);
    let mut now = vec![false; plan.probabilities().len()];
    for &t in &drawn {
        now[t] = true;
    }
    let mut text = String::from("row,label_now,probability,phase_two\n");
    for (t, (&pi, &second)) in plan
        .probabilities()
        .iter()
        .zip(plan.phase_two())
        .enumerate()
    {
        let _ = writeln!(
            text,
            "{},{},{pi:.17e},{second:.17e}",
            t + 1,
            u8::from(now[t])
        );
    }
    std::fs::write(&args.out, text)
        .map_err(|e| Failure::Data(format!("cannot write `{}`: {e}", args.out.display())))
}

fn report(plan: &LabelingPlan, args: &DesignArgs) -> Result<String, Failure> {
    let drawn = plan.draw(args.seed).len();
    let mut out = format!(
        "{:?} design: {drawn} rows to label now (budget {}), seed {}; wrote {}\n",
        plan.allocation(),
        args.budget,
        args.seed,
        args.out.display()
    );
    if let (Some(names), Some(se), Some(uniform)) = (plan.names(), plan.se(), plan.uniform_se()) {
        let z = normal_critical_value(args.alpha).map_err(|e| Failure::Data(e.to_string()))?;
        let pct = 100.0 * (1.0 - args.alpha);
        let _ = writeln!(
            out,
            "\nPredicted {pct:.0}% half-width after both phases:\n{:<20}{:>14}{:>14}",
            "coefficient", "this design", "uniform"
        );
        for (j, name) in names.iter().enumerate() {
            let _ = writeln!(out, "{name:<20}{:>14.4}{:>14.4}", z * se[j], z * uniform[j]);
        }
    }
    for note in plan.notes() {
        let _ = writeln!(out, "note: {note}");
    }
    Ok(out)
}
