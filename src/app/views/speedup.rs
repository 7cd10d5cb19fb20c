//! The speedup view: serial over parallel per backend, the CPU engine against the GPU one,
//! and the dispatches on the critical path, against depth.

use egui_plot::{Legend, Line, Plot, PlotPoints};
use paraformer::bench::Point;
use paraformer::model::Mode;

use super::plot::{line_and_points, mode_color, series_color};
use super::{View, ViewCtx};
use crate::app::state;

/// Speedup and critical-path dispatches against depth.
pub struct SpeedupView;

impl View for SpeedupView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        speedup_plots(ui, &cx.snap.points, cx.gpu_clock);
    }
}

/// Each backend's serial-over-parallel line, by its place in `Backend::ALL`.
const SPEEDUP_COLORS: [egui::Color32; 2] = [
    egui::Color32::from_rgb(200, 90, 160),
    egui::Color32::from_rgb(120, 70, 180),
];

fn speedup_plots(ui: &mut egui::Ui, points: &[Point], gpu: bool) {
    let h = ui.available_height() / 2.0 - 10.0;
    let backends = state::backends_in(points);
    let several = backends.len() > 1;
    ui.label(if several {
        "speedup = serial median / parallel median at the same L on each backend; \
         gpu / cpu = how many times faster the CPU engine is than the GPU one"
    } else {
        "speedup = serial median / parallel median at the same L (same weights, same FLOPs)"
    });
    Plot::new("speedup")
        .height(h)
        .legend(Legend::default())
        .x_axis_label("depth L")
        .y_axis_label("speedup (x)")
        .show(ui, |plot| {
            for &b in &backends {
                let name = if several {
                    format!("{} serial / parallel", b.name())
                } else {
                    "serial / parallel".to_string()
                };
                let color = SPEEDUP_COLORS[b.index() % SPEEDUP_COLORS.len()];
                line_and_points(plot, &name, state::speedup(points, b, gpu), color);
            }
            // The first backend (the GPU engine) over each other one.
            if let [first, others @ ..] = backends.as_slice() {
                for &other in others {
                    for mode in Mode::ALL {
                        let name = format!("{} {} / {}", mode.name(), first.name(), other.name());
                        let s = state::over(points, *first, other, mode);
                        line_and_points(plot, &name, s, series_color(other, mode));
                    }
                }
            }
            plot.line(
                Line::new(
                    "1x",
                    PlotPoints::from(vec![[0.0, 1.0], [max_depth(points), 1.0]]),
                )
                .color(egui::Color32::GRAY)
                .style(egui_plot::LineStyle::dotted_dense()),
            );
        });
    Plot::new("dispatches")
        .height(h)
        .legend(Legend::default())
        .x_axis_label("depth L")
        .y_axis_label("dispatches (ops) on the critical path")
        .show(ui, |plot| {
            // Both engines run the same plan: one backend's counts say it.
            if let Some(&b) = backends.first() {
                for mode in Mode::ALL {
                    let s = state::critical_paths(points, b, mode);
                    line_and_points(plot, mode.name(), s, mode_color(mode));
                }
            }
        });
}

/// The deepest L among `points` (1 when there are none).
fn max_depth(points: &[Point]) -> f64 {
    points.iter().map(|p| p.depth as f64).fold(1.0, f64::max)
}
