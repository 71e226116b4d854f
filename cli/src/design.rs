//! `synthgmm design`: which rows to send to the annotators — every row's labeling
//! probability and a seeded draw of the budget (see `synthgmm::labeling`).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use synthgmm::labeling::{Allocation, Labeling, LabelingPlan, Target};
use synthgmm::models::{Logistic, Mean, Ols, Poisson};
use synthgmm::{normal_critical_value, MomentModel, TwoStepGmm};

use crate::choice::choice;
use crate::data::{unsupported, DataArgs, Loaded, ModelName};
use crate::table::Table;
use crate::Failure;

#[derive(Debug, Args)]
pub struct DesignArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// New labels to collect (expected; exact when whole).
    #[arg(long)]
    pub budget: f64,
    /// The design.
    #[arg(long, value_parser = choice::<Allocation>(), default_value = "active")]
    pub design: Allocation,
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
    /// With --coefficient: the new labels each design needs for this half-width.
    #[arg(long)]
    pub half_width: Option<f64>,
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
    if args.half_width.is_some() && args.coefficient.is_none() {
        return Err(Failure::Data("--half-width needs --coefficient".into()));
    }
    let strata = read_strata(args)?;
    let labeling = |name: Allocation| {
        let mut design = Labeling::new(name, args.budget).n_strata(args.strata_count);
        if let Some(strata) = &strata {
            design = design.strata(strata);
        }
        match args.min_probability {
            Some(p) => design.min_probability(p),
            None => design,
        }
    };
    let loaded = match args.data.load() {
        Ok(loaded) => loaded,
        Err(failure) => {
            let plan = without_pilot(labeling(args.design), args, failure)?;
            write_rows(&plan, args)?;
            return Ok(drawn_line(&plan, args));
        }
    };
    let chosen = with_pilot(labeling(args.design), &loaded, args)?;
    write_rows(&chosen, args)?;
    // The other designs on the same pilot, for comparison (best effort).
    let others = [
        Allocation::Uniform,
        Allocation::Stratified,
        Allocation::Active,
    ]
    .into_iter()
    .map(|name| match name == args.design {
        true => (name, Ok(chosen.clone())),
        false => (name, with_pilot(labeling(name), &loaded, args)),
    })
    .collect::<Vec<_>>();
    report(&chosen, &others, args)
}

fn read_strata(args: &DesignArgs) -> Result<Option<Vec<String>>, Failure> {
    let Some(column) = &args.strata else {
        return Ok(None);
    };
    if args.design != Allocation::Stratified {
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
        ModelName::Mean => plan(Mean, design, loaded, args),
        other => Err(unsupported(
            other,
            "labeling designs assume as many moments as parameters",
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

fn drawn_line(plan: &LabelingPlan, args: &DesignArgs) -> String {
    format!(
        "{:?} design: {} rows to label now (budget {}), seed {}; wrote {}\n",
        plan.allocation(),
        plan.draw(args.seed).len(),
        args.budget,
        args.seed,
        args.out.display()
    )
}

/// The chosen design's draw, every design's predicted half-widths at the budget and,
/// with --half-width, the new labels each needs for it.
fn report(
    chosen: &LabelingPlan,
    designs: &[(Allocation, Result<LabelingPlan, Failure>)],
    args: &DesignArgs,
) -> Result<String, Failure> {
    let mut out = drawn_line(chosen, args);
    let z = normal_critical_value(args.alpha).map_err(|e| Failure::Data(e.to_string()))?;
    let names = chosen.names().unwrap_or_default();
    let _ = write!(
        out,
        "\nPredicted {:.0}% half-width after both phases, by design:\n{:<20}",
        100.0 * (1.0 - args.alpha),
        "coefficient"
    );
    for (name, _) in designs {
        let _ = write!(out, "{:>14}", format!("{name:?}").to_lowercase());
    }
    out.push('\n');
    for (j, coefficient) in names.iter().enumerate() {
        let _ = write!(out, "{coefficient:<20}");
        for (_, plan) in designs {
            let cell = match plan.as_ref().ok().and_then(LabelingPlan::se) {
                Some(se) => format!("{:.4}", z * se[j]),
                None => "—".into(),
            };
            let _ = write!(out, "{cell:>14}");
        }
        out.push('\n');
    }
    if let (Some(h), Some(name)) = (args.half_width, &args.coefficient) {
        let j = names.iter().position(|n| n == name).unwrap_or(0);
        let _ = writeln!(out, "\nNew labels for ±{h} on `{name}`:");
        for (design, plan) in designs {
            let need = match plan {
                Ok(plan) => match plan.labels_for(j, h, args.alpha) {
                    Ok(Some(n)) => n.to_string(),
                    Ok(None) => "more than every row".into(),
                    Err(e) => e.to_string(),
                },
                Err(failure) => failure.message().to_string(),
            };
            let _ = writeln!(out, "  {:<14}{need}", format!("{design:?}").to_lowercase());
        }
    }
    for (design, plan) in designs {
        if let Err(failure) = plan {
            let _ = writeln!(
                out,
                "note: {design:?} design unavailable: {}",
                failure.message()
            );
        }
    }
    for note in chosen.notes() {
        let _ = writeln!(out, "note: {note}");
    }
    Ok(out)
}
