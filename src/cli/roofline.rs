//! roofline.svg of `paraformer report`: each backend's two roofs (peak FLOP rate and
//! bandwidth, `device_peak`) as lines on log-log axes (the GPU engine's solid, the others
//! dashed), and every op of the profiles with arithmetic as a point at (FLOP per byte, GFLOP/s), coloured
//! by mode and labelled once per op. Ops without arithmetic (layer norms, the branch sum)
//! have no place on a log axis and are left out.

use std::path::{Path, PathBuf};

use paraformer::Error;
use paraformer::engine::peak::DevicePeak;
use plotters::prelude::*;

use super::runs::Run;
use super::svg::{SIZE, color, failed, legend};

/// One op of one profile: (intensity, GFLOP/s), its label (None where the same op of the
/// run's other mode carries it), its colour.
type OpPoint = ((f64, f64), Option<String>, RGBColor);

/// A roof: legend name, the roofs, colour, dashed (the CPU engine's).
type Roof<'a> = (String, &'a DevicePeak, RGBColor, bool);

pub fn roofline(runs: &[Run], path: &Path) -> Result<PathBuf, Error> {
    let err = failed(path);
    let roofs: Vec<Roof> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, run)| {
            let p = run.report.device_peak.get(&run.backend)?;
            let shade = 50 + 50 * (i % 3) as u8;
            let dashed = run.backend.index() > 0;
            let c = RGBColor(shade, shade, shade);
            Some((format!("roof {}", run.label), p, c, dashed))
        })
        .collect();
    let mut points: Vec<OpPoint> = Vec::new();
    // One legend entry per (run, mode): the colour of its points.
    let mut kinds: Vec<(String, RGBColor)> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let mut labelled: Vec<&str> = Vec::new();
        for mp in &run.report.profiles {
            let c = color(mp.mode, i);
            kinds.push((format!("{} ops, {}", mp.mode.name(), run.label), c));
            let ops = mp.profile.ops.iter();
            for o in ops.filter(|o| o.intensity > 0.0 && o.gflops > 0.0) {
                // Both modes run the same ops at the same intensity: one label for the two.
                let label = (!labelled.contains(&o.label.as_str())).then(|| o.label.clone());
                labelled.push(&o.label);
                points.push(((o.intensity, o.gflops), label, c));
            }
        }
    }
    // The axes hold every point and each roof's ridge (where bandwidth meets the peak).
    let xs = points
        .iter()
        .map(|p| p.0.0)
        .chain(roofs.iter().map(|r| r.1.ridge()));
    let ys = points
        .iter()
        .map(|p| p.0.1)
        .chain(roofs.iter().map(|r| r.1.gflops));
    let ((x0, x1), (y0, y1)) = (span(xs), span(ys));
    let (x0, x1, y0, y1) = (x0 / 4.0, x1 * 4.0, y0 / 4.0, y1 * 2.0);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Roofline: each op against the device's roofs",
            ("sans-serif", 22),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity, FLOP per byte")
        .y_desc("GFLOP/s")
        .light_line_style(RGBColor(245, 245, 245))
        .bold_line_style(RGBColor(222, 222, 222))
        .draw()
        .map_err(&err)?;
    for (name, peak, c, dashed) in roofs {
        let line = peak.roof(x0, x1);
        let style = c.stroke_width(2);
        let series = if dashed {
            chart.draw_series(DashedLineSeries::new(line, 8, 5, style))
        } else {
            chart.draw_series(LineSeries::new(line, style))
        };
        series
            .map_err(&err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], c.stroke_width(2)));
    }
    for (name, c) in kinds {
        let at = points.iter().filter(|p| p.2 == c).map(|p| p.0);
        chart
            .draw_series(at.map(|at| Circle::new(at, 4, c.filled())))
            .map_err(&err)?
            .label(name)
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
    }
    let text = ("sans-serif", 12).into_font().color(&RGBColor(40, 40, 40));
    // A label that would cover one already placed moves down until it is clear.
    let mut placed: Vec<(f64, f64)> = Vec::new();
    let mut labels = Vec::new();
    for ((x, y), label, _) in &points {
        let Some(label) = label else { continue };
        let near =
            |y: f64, p: &(f64, f64)| (p.0 / x).ln().abs() < 0.4 && (p.1 / y).ln().abs() < 0.2;
        let mut y = *y;
        while placed.iter().any(|p| near(y, p)) {
            y *= 0.8;
        }
        placed.push((*x, y));
        labels.push(Text::new(label.clone(), (*x, y), text.clone()));
    }
    chart.draw_series(labels).map_err(&err)?;
    legend(&mut chart, SeriesLabelPosition::LowerRight, path)?;
    root.present().map_err(&err)?;
    Ok(path.to_path_buf())
}

/// The least and largest of the positive, finite `values` (1 and 10 when there are none).
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if hi > 0.0 { (lo, hi) } else { (1.0, 10.0) }
}
