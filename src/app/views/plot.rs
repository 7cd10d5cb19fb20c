//! Plot helpers and colours every view shares.

use egui_plot::{FilledArea, Line, PlotPoints, Points};
use paraformer::bench::Backend;
use paraformer::model::Mode;

/// A (backend, mode) series' colour: the mode's hue, darker for each backend after the
/// first (the GPU engine).
pub fn series_color(backend: Backend, mode: Mode) -> egui::Color32 {
    let c = mode_color(mode);
    let shade = 0.62f32.powi(backend.index() as i32);
    let dim = |v: u8| (v as f32 * shade) as u8;
    egui::Color32::from_rgb(dim(c.r()), dim(c.g()), dim(c.b()))
}

/// One colour per mode in every plot.
pub fn mode_color(mode: Mode) -> egui::Color32 {
    match mode {
        Mode::Serial => egui::Color32::from_rgb(230, 120, 50),
        Mode::Parallel => egui::Color32::from_rgb(60, 140, 230),
    }
}

/// A series as a line with a dot at every point, in one colour.
pub fn line_and_points(
    plot: &mut egui_plot::PlotUi<'_>,
    name: &str,
    points: Vec<[f64; 2]>,
    color: egui::Color32,
) {
    plot.line(
        Line::new(name, PlotPoints::from(points.clone()))
            .color(color)
            .width(2.0),
    );
    plot.points(
        Points::new(name, PlotPoints::from(points))
            .color(color)
            .radius(3.5),
    );
}

/// Medians as a line with dots over their p10-p90 band; `rows` are [x, median, p10, p90].
pub fn median_with_band(
    plot: &mut egui_plot::PlotUi<'_>,
    name: &str,
    rows: &[[f64; 4]],
    color: egui::Color32,
) {
    if rows.is_empty() {
        return;
    }
    let xs: Vec<f64> = rows.iter().map(|v| v[0]).collect();
    let lo: Vec<f64> = rows.iter().map(|v| v[2]).collect();
    let hi: Vec<f64> = rows.iter().map(|v| v[3]).collect();
    plot.add(
        FilledArea::new(format!("{name} p10-p90"), &xs, &lo, &hi)
            .fill_color(color.gamma_multiply(0.25))
            .allow_hover(false),
    );
    line_and_points(
        plot,
        name,
        rows.iter().map(|v| [v[0], v[1]]).collect(),
        color,
    );
}
