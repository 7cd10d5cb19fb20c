//! The SVG pictures of `paraformer report`, drawn with plotters: latency against depth
//! with the fits and the knee, the serial/parallel speedup, and the per-op profile.

use std::path::{Path, PathBuf};

use paraformer::Error;
use paraformer::model::Mode;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::runs::Run;
use super::svg::{SIZE, color, failed, legend};

type DepthChart<'a, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, Y>>;

/// A chart with total depth 0..`max_l` across, `y` up, and its grid drawn.
fn against_depth<'a, Y>(
    root: &DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    caption: &str,
    max_l: f64,
    y: Y,
    y_desc: &str,
    path: &Path,
) -> Result<DepthChart<'a, Y::CoordDescType>, Error>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = failed(path);
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..max_l * 1.04 + 0.5, y)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("total depth L (blocks)")
        // At most one label per block, so the steps are whole depths.
        .x_labels((max_l as usize + 1).clamp(2, 12))
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(222, 222, 222))
        .draw()
        .map_err(&err)?;
    Ok(chart)
}

/// Latency (median, p10-p90 bars) against L for every file and mode, the fitted lines
/// dashed, the knee marked. A logarithmic latency axis when the files differ by more
/// than 20x (a GPU beside a CPU driver).
pub fn latency(runs: &[Run], path: &Path) -> Result<PathBuf, Error> {
    let all = runs.iter().flat_map(|r| &r.report.points);
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), p| {
        (lo.min(p.wall.p10_ms), hi.max(p.wall.p90_ms))
    });
    let lo = lo.max(1e-4);
    // The slowest run's fastest median against the fastest run's slowest one.
    let range = |r: &Run| {
        let m = r.report.points.iter().map(|p| p.wall.median_ms);
        m.fold((f64::MAX, 0.0f64), |(a, b), v| (a.min(v), b.max(v)))
    };
    let slow = runs.iter().map(|r| range(r).0).fold(0.0, f64::max);
    let fast = runs.iter().map(|r| range(r).1).fold(f64::MAX, f64::min);
    // Headroom above the data for the legend (a line per file and mode) in the upper left.
    let entries = runs
        .iter()
        .map(|r| r.report.context.settings.modes.len())
        .sum::<usize>();
    let room = 1.08 + 0.05 * entries as f64;
    if slow / fast.max(1e-6) > 20.0 {
        latency_on(runs, path, (lo / 1.3..hi * room.powi(3)).log_scale())
    } else {
        latency_on(runs, path, 0.0..hi * room)
    }
}

fn latency_on<Y>(runs: &[Run], path: &Path, y: Y) -> Result<PathBuf, Error>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = failed(path);
    let max_l = runs
        .iter()
        .flat_map(|r| &r.report.points)
        .map(|p| p.depth)
        .max()
        .unwrap_or(1) as f64;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = against_depth(
        &root,
        "Latency against depth",
        max_l,
        y,
        "latency, ms (wall clock)",
        path,
    )?;
    for (i, run) in runs.iter().enumerate() {
        for mode in Mode::ALL {
            let c = color(mode, i);
            let pts: Vec<_> = run
                .report
                .points
                .iter()
                .filter(|p| p.mode == mode)
                .collect();
            if pts.is_empty() {
                continue;
            }
            let line = pts.iter().map(|p| (p.depth as f64, p.wall.median_ms));
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(2)))
                .map_err(&err)?
                .label(format!("{} {}", mode.name(), run.label))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            let bars = pts.iter().map(|p| {
                let x = p.depth as f64;
                ErrorBar::new_vertical(
                    x,
                    p.wall.p10_ms,
                    p.wall.median_ms,
                    p.wall.p90_ms,
                    c.filled(),
                    6,
                )
            });
            chart.draw_series(bars).map_err(&err)?;
            let fitted: Vec<(f64, f64)> = pts
                .iter()
                .filter_map(|p| {
                    run.fit
                        .predicted(mode, p.depth)
                        .map(|v| (p.depth as f64, v))
                })
                .collect();
            if !fitted.is_empty() {
                chart
                    .draw_series(DashedLineSeries::new(
                        fitted,
                        6,
                        4,
                        c.mix(0.8).stroke_width(1),
                    ))
                    .map_err(&err)?;
            }
        }
        if let Some(knee) = run
            .fit
            .parallel
            .as_ref()
            .and_then(|p| Some((p.knee_depth?, p.flat_ms)))
        {
            let c = color(Mode::Parallel, i);
            let font = ("sans-serif", 15).into_font().color(&c);
            let label = format!("knee L* = {:.1}", knee.0);
            let mark = EmptyElement::at(knee)
                + Circle::new((0, 0), 7, c.stroke_width(2))
                + Text::new(label, (10, -24), font);
            chart.draw_series([mark]).map_err(&err)?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, path)?;
    root.present().map_err(&err)?;
    Ok(path.to_path_buf())
}

/// Serial median over parallel median at every depth both modes measured, per file.
pub fn speedup(runs: &[Run], path: &Path) -> Result<PathBuf, Error> {
    let err = failed(path);
    let series: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|run| {
            let r = &run.report;
            r.points
                .iter()
                .filter(|p| p.mode == Mode::Serial)
                .filter_map(|s| {
                    let p = r.point_on(run.backend, Mode::Parallel, s.depth)?;
                    Some((s.depth as f64, s.wall.median_ms / p.wall.median_ms))
                })
                .collect()
        })
        .collect();
    let max_l = series.iter().flatten().map(|p| p.0).fold(1.0, f64::max);
    let max_s = series.iter().flatten().map(|p| p.1).fold(1.0, f64::max);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = against_depth(
        &root,
        "Speedup of parallel over serial",
        max_l,
        0.0..max_s * 1.1,
        "serial median / parallel median",
        path,
    )?;
    let one = [(0.0, 1.0), (max_l * 1.04 + 0.5, 1.0)];
    chart
        .draw_series(DashedLineSeries::new(
            one,
            4,
            4,
            BLACK.mix(0.4).stroke_width(1),
        ))
        .map_err(&err)?;
    for (i, (run, s)) in runs.iter().zip(&series).enumerate() {
        let c = color(Mode::Parallel, i);
        chart
            .draw_series(LineSeries::new(s.iter().copied(), c.stroke_width(2)))
            .map_err(&err)?
            .label(run.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(s.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(&err)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, path)?;
    root.present().map_err(&err)?;
    Ok(path.to_path_buf())
}

/// One profile's bars: its legend, colour, and (op label, ms) per op.
type Bars = (String, RGBColor, Vec<(String, f64)>);

/// Per-op time at the deepest depth: one bar per op label and profile (file and mode).
pub fn profile(runs: &[Run], path: &Path) -> Result<PathBuf, Error> {
    let err = failed(path);
    // Op labels in the order of the first profile that has them.
    let mut labels: Vec<String> = Vec::new();
    let mut bars: Vec<Bars> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        for p in &run.report.profiles {
            for o in &p.profile.ops {
                if !labels.contains(&o.label) {
                    labels.push(o.label.clone());
                }
            }
            let name = format!("{} L={} {}", p.mode.name(), p.depth, run.label);
            let ops = p
                .profile
                .ops
                .iter()
                .map(|o| (o.label.clone(), o.ms))
                .collect();
            bars.push((name, color(p.mode, i), ops));
        }
    }
    let max_ms = bars
        .iter()
        .flat_map(|b| b.2.iter().map(|o| o.1))
        .fold(1e-6, f64::max);
    // Row r (label r, the first at the top) spans y in [n - 1 - r, n - r).
    let n = labels.len();
    let row = |label: &str| {
        labels
            .iter()
            .position(|l| l == label)
            .map(|r| (n - 1 - r) as f64)
    };
    let slots = bars.len().max(1) as f64;
    let height = 140 + 30 * (n * bars.len().max(1)) as u32;
    let root = SVGBackend::new(path, (SIZE.0, height)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Per-op time at the deepest depth", ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(180)
        .build_cartesian_2d(0.0..max_ms * 1.1, 0.0..n as f64)
        .map_err(&err)?;
    // Labels at the middle of each row; the other ticks stay empty.
    let name_at = |v: &f64| {
        let mid = v - v.floor();
        let r = n as isize - 1 - v.floor() as isize;
        match usize::try_from(r) {
            Ok(r) if (mid - 0.5).abs() < 0.01 => labels.get(r).cloned().unwrap_or_default(),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .x_desc("ms per inference (median)")
        .y_labels(2 * n + 1)
        .y_label_formatter(&name_at)
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(222, 222, 222))
        .draw()
        .map_err(&err)?;
    for (b, (name, c, ops)) in bars.iter().enumerate() {
        let c = *c;
        let rects = ops.iter().filter_map(|(label, ms)| {
            let y0 = row(label)? + 0.1 + 0.8 * b as f64 / slots;
            let y1 = y0 + 0.8 / slots;
            Some(Rectangle::new([(0.0, y0), (*ms, y1)], c.mix(0.85).filled()))
        });
        chart
            .draw_series(rects)
            .map_err(&err)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight, path)?;
    root.present().map_err(&err)?;
    Ok(path.to_path_buf())
}
