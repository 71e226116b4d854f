//! The paper's figure: MSE, coverage and interval width against a design knob, one line
//! per estimator, written as SVG and PNG with plotters.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use synthgmm::sim::McReport;

/// DejaVu Sans (Bitstream Vera licence, see `fonts/LICENSE-DejaVu.txt`), so that text
/// renders identically everywhere without system fonts.
static FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

const COLORS: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

type Series = Vec<(String, Vec<(f64, f64)>)>;

fn series(
    report: &McReport,
    coefficient: &str,
    metric: impl Fn(&synthgmm::sim::McRow) -> f64,
) -> Series {
    let mut out: Series = Vec::new();
    for r in report.rows.iter().filter(|r| r.coefficient == coefficient) {
        let point = (r.value, metric(r));
        match out.iter_mut().find(|(n, _)| *n == r.estimator) {
            Some((_, pts)) => pts.push(point),
            None => out.push((r.estimator.clone(), vec![point])),
        }
    }
    out
}

/// A panel's axes: the x and y ranges of its points (y padded by 5% on a linear
/// scale, the reference line included) and the distinct x values, the x axis's ticks.
struct Extent {
    x: (f64, f64),
    y: (f64, f64),
    keys: Vec<f64>,
}

impl Extent {
    fn of(data: &Series, reference: Option<f64>, log_y: bool) -> Extent {
        let xs = data.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
        let x = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let (y_min, y_max) = data
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.1))
            .filter(|y| y.is_finite())
            .chain(reference)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
                (a.min(y), b.max(y))
            });
        let pad = if log_y {
            0.0
        } else {
            0.05 * (y_max - y_min).max(1e-3)
        };
        let mut keys: Vec<f64> = data
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.0))
            .collect();
        keys.sort_by(f64::total_cmp);
        keys.dedup();
        Extent {
            x,
            y: (y_min - pad, y_max + pad),
            keys,
        }
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    data: &Series,
    log_y: bool,
    reference: Option<f64>,
    legend: bool,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let Extent {
        x: (x_min, x_max),
        y: (y_min, y_max),
        keys,
    } = Extent::of(data, reference, log_y);
    let mut chart = ChartBuilder::on(area);
    chart
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60);
    let x_range = (x_min.max(1e-9) * 0.9..x_max * 1.1)
        .log_scale()
        .with_key_points(keys);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut c = $chart;
            c.configure_mesh()
                .x_desc(x_label)
                .label_style(("sans-serif", 13))
                .x_label_formatter(&|x| format!("{x}"))
                .y_label_formatter(&|y| format!("{}", (y * 1e4).round() / 1e4))
                .draw()?;
            if let Some(r) = reference {
                c.draw_series(LineSeries::new(
                    vec![(x_min, r), (x_max, r)],
                    BLACK.mix(0.4).stroke_width(1),
                ))?;
            }
            for (i, (name, pts)) in data.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let pts: Vec<(f64, f64)> =
                    pts.iter().copied().filter(|p| p.1.is_finite()).collect();
                c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
            if legend {
                c.configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .label_font(("sans-serif", 12))
                    .position(SeriesLabelPosition::MiddleRight)
                    .draw()?;
            }
        }};
    }
    if log_y {
        draw!(chart.build_cartesian_2d(x_range, (y_min.max(1e-12)..y_max).log_scale())?);
    } else {
        draw!(chart.build_cartesian_2d(x_range, y_min..y_max)?);
    }
    Ok(())
}

fn draw_all<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    report: &McReport,
    coefficient: &str,
    title: &str,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let panels = root.split_evenly((1, 3));
    let knob = report.rows.first().map_or("value", |r| r.knob.as_str());
    panel(
        &panels[0],
        "MSE (log scale)",
        knob,
        &series(report, coefficient, |r| r.mse),
        true,
        None,
        false,
    )?;
    let level = report.level;
    panel(
        &panels[1],
        &format!("Coverage of {:.0}% intervals", 100.0 * level),
        knob,
        &series(report, coefficient, |r| r.coverage),
        false,
        Some(level),
        true,
    )?;
    panel(
        &panels[2],
        "Mean interval width",
        knob,
        &series(report, coefficient, |r| r.mean_ci_width),
        true,
        None,
        false,
    )?;
    root.present()?;
    Ok(())
}

/// Writes `stem.svg` and `stem.png`.
pub fn figure(
    report: &McReport,
    coefficient: &str,
    title: &str,
    stem: &Path,
) -> Result<(), Box<dyn Error>> {
    // Registering twice is harmless; the font is the only one used.
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "cannot load the bundled font")?;
    let size = (1650, 520);
    let svg = stem.with_extension("svg");
    draw_all(
        SVGBackend::new(&svg, size).into_drawing_area(),
        report,
        coefficient,
        title,
    )?;
    let png = stem.with_extension("png");
    draw_all(
        BitMapBackend::new(&png, size).into_drawing_area(),
        report,
        coefficient,
        title,
    )?;
    Ok(())
}

/// One panel of lines (log–log), e.g. a predicted interval half-width against the
/// number of labels, with an optional horizontal target; writes `stem.svg` and
/// `stem.png`.
#[allow(dead_code)]
pub fn lines(
    data: &[(String, Vec<(f64, f64)>)],
    title: &str,
    x_label: &str,
    target: Option<f64>,
    stem: &Path,
) -> Result<(), Box<dyn Error>> {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "cannot load the bundled font")?;
    let size = (900, 560);
    let data: Series = data.to_vec();
    let svg = stem.with_extension("svg");
    let root = SVGBackend::new(&svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    panel(&root, title, x_label, &data, true, target, true)?;
    root.present()?;
    let png = stem.with_extension("png");
    let root = BitMapBackend::new(&png, size).into_drawing_area();
    root.fill(&WHITE)?;
    panel(&root, title, x_label, &data, true, target, true)?;
    root.present()?;
    Ok(())
}

/// One coefficient's intervals: (estimator, θ̂_j, lower, upper) per estimator.
#[allow(dead_code)] // the examples that share this file draw no forest
pub type Intervals = Vec<(String, f64, f64, f64)>;

/// One panel of a forest plot: estimators top to bottom, each a point at θ̂_j and a bar
/// over its interval.
#[allow(dead_code)] // the examples that share this file draw no forest
fn forest_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    coefficient: &str,
    rows: &Intervals,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let (lo, hi) = rows
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
            (a.min(r.2), b.max(r.3))
        });
    let pad = 0.08 * (hi - lo).max(1e-12 * hi.abs().max(1.0));
    let k = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    // Row i is drawn at height k − 1 − i, so the first estimator is on top.
    let label = move |y: &f64| {
        let i = k as f64 - 1.0 - y.round();
        if (y - y.round()).abs() < 1e-6 && i >= 0.0 && (i as usize) < k {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    let mut chart = ChartBuilder::on(area)
        .caption(coefficient, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(200)
        .build_cartesian_2d(lo - pad..hi + pad, -0.6..k as f64 - 0.4)?;
    chart
        .configure_mesh()
        .y_labels(k)
        .y_label_formatter(&label)
        .x_label_formatter(&|x| format!("{}", (x * 1e4).round() / 1e4))
        .label_style(("sans-serif", 13))
        .disable_y_mesh()
        .draw()?;
    for (i, (_, estimate, lower, upper)) in rows.iter().enumerate() {
        let y = (k - 1 - i) as f64;
        let color = COLORS[i % COLORS.len()];
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(*lower, y), (*upper, y)],
            color.stroke_width(3),
        )))?;
        chart.draw_series(std::iter::once(Circle::new(
            (*estimate, y),
            5,
            color.filled(),
        )))?;
    }
    Ok(())
}

#[allow(dead_code)] // the examples that share this file draw no forest
fn draw_forest<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[(String, Intervals)],
    title: &str,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, (coefficient, rows)) in areas.iter().zip(panels) {
        forest_panel(area, coefficient, rows)?;
    }
    root.present()?;
    Ok(())
}

/// A forest plot: one panel per coefficient, each estimator's interval in it; writes
/// `stem.svg` and `stem.png`.
#[allow(dead_code)] // the examples that share this file draw no forest
pub fn forest(
    panels: &[(String, Intervals)],
    title: &str,
    stem: &Path,
) -> Result<(), Box<dyn Error>> {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "cannot load the bundled font")?;
    let k = panels.first().map_or(1, |p| p.1.len());
    let size = (480 * panels.len().max(1) as u32, 110 + 36 * k as u32);
    let svg = stem.with_extension("svg");
    draw_forest(
        SVGBackend::new(&svg, size).into_drawing_area(),
        panels,
        title,
    )?;
    let png = stem.with_extension("png");
    draw_forest(
        BitMapBackend::new(&png, size).into_drawing_area(),
        panels,
        title,
    )
}
