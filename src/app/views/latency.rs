//! The latency view: medians with their p10-p90 bands per (backend, mode), the fitted lines
//! and the knee, runs overlaid, and which backend is faster.

use egui_plot::{Legend, Line, Plot, PlotPoints};
use paraformer::bench::{Backend, Point};
use paraformer::model::Mode;

use super::plot::{median_with_band, mode_color, series_color};
use super::{View, ViewCtx};
use crate::app::overlay::Overlay;
use crate::app::{fitted, state};

/// A backend, its points, and their fit.
type BackendFit = (Backend, Vec<Point>, paraformer::bench::fit::Fit);

/// A line per backend with its fit (the notes on hover), and which backend is faster.
fn fit_lines(ui: &mut egui::Ui, points: &[Point], fits: &[BackendFit], gpu: bool) {
    let several = fits.len() > 1;
    for (b, own, fit) in fits {
        let detail = fit.summary().join("\n");
        let lead = if several {
            format!("{}: ", b.name())
        } else {
            String::new()
        };
        ui.label(format!("{lead}{}", fitted::summary(own, fit, gpu)))
            .on_hover_text(format!(
                "Least-squares fit to the medians, drawn dashed (README: \"Where the flat \
                 latency ends\").\n{detail}"
            ));
    }
    if several && let Some(line) = faster_line(points) {
        ui.label(line);
    }
}

/// Latency against depth per (backend, mode), with fits and overlays.
pub struct LatencyView;

impl View for LatencyView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        latency_plot(ui, &cx.snap.points, cx.gpu_clock, cx.overlays);
    }
}

fn latency_plot(ui: &mut egui::Ui, points: &[Point], gpu: bool, overlays: &[Overlay]) {
    let backends = state::backends_in(points);
    let several = backends.len() > 1;
    // One fit per backend, over that backend's points.
    let fits: Vec<BackendFit> = backends
        .iter()
        .map(|&b| {
            let own: Vec<Point> = points.iter().filter(|p| p.backend == b).cloned().collect();
            let fit = fitted::fit_of(&own, gpu);
            (b, own, fit)
        })
        .collect();
    fit_lines(ui, points, &fits, gpu);
    let mut hover: Vec<(String, Vec<Point>, usize)> = Vec::new();
    for (n, (b, own, _)) in fits.iter().enumerate() {
        for m in Mode::ALL {
            let mut v: Vec<Point> = own.iter().filter(|p| p.mode == m).cloned().collect();
            v.sort_by_key(|p| p.depth);
            hover.push((state::series_name(*b, m, several), v, n));
        }
    }
    let hover_fits: Vec<_> = fits.iter().map(|(_, _, f)| f.clone()).collect();
    Plot::new("latency")
        .legend(Legend::default())
        .x_axis_label("depth L (blocks)")
        .y_axis_label(if gpu {
            "latency, ms (GPU timestamps)"
        } else {
            "latency, ms (wall clock)"
        })
        .label_formatter(move |hp| {
            if let egui_plot::HoverPosition::NearDataPoint {
                plot_name, index, ..
            } = hp
                && let Some((_, pts, n)) = hover.iter().find(|(name, _, _)| name == plot_name)
                && let Some(p) = pts.get(*index)
            {
                let fitted = hover_fits[*n]
                    .predicted(p.mode, p.depth)
                    .map_or(String::new(), |v| format!("\nfitted {v:.3} ms"));
                return Some(state::describe(p, gpu) + &fitted);
            }
            None
        })
        .show(ui, |plot| {
            for (b, own, fit) in &fits {
                for mode in Mode::ALL {
                    let name = state::series_name(*b, mode, several);
                    let color = series_color(*b, mode);
                    let s = state::series(own, *b, mode, gpu);
                    median_with_band(plot, &name, &s, color);
                    let line = fitted::line(fit, mode);
                    if !line.is_empty() {
                        plot.line(
                            Line::new(format!("{name} fit"), PlotPoints::from(line))
                                .color(color)
                                .width(1.0)
                                .style(egui_plot::LineStyle::dashed_dense()),
                        );
                    }
                }
                if let Some(k) = fit.parallel.as_ref().and_then(|p| p.knee_depth) {
                    let lead = if several {
                        format!("{} ", b.name())
                    } else {
                        String::new()
                    };
                    plot.vline(
                        egui_plot::VLine::new(format!("{lead}knee L* = {k:.1}"), k)
                            .color(series_color(*b, Mode::Parallel))
                            .style(egui_plot::LineStyle::dotted_loose()),
                    );
                }
            }
            for r in overlays {
                for mode in Mode::ALL {
                    let s = r.series(mode, gpu);
                    let med: Vec<[f64; 2]> = s.iter().map(|v| [v[0], v[1]]).collect();
                    if !med.is_empty() {
                        let name = format!("{} — {}", mode.name(), r.label());
                        plot.line(
                            Line::new(name, PlotPoints::from(med))
                                .color(mode_color(mode).gamma_multiply(0.6))
                                .style(egui_plot::LineStyle::dashed_loose()),
                        );
                    }
                }
            }
        });
}

/// At the deepest depth two backends measured: which is faster in each mode, and by how much.
fn faster_line(points: &[Point]) -> Option<String> {
    let l = points
        .iter()
        .filter(|p| {
            points
                .iter()
                .any(|q| q.backend != p.backend && q.mode == p.mode && q.depth == p.depth)
        })
        .map(|p| p.depth)
        .max()?;
    let parts: Vec<String> = Mode::ALL
        .iter()
        .filter_map(|&m| paraformer::bench::faster(points, m, l))
        .collect();
    Some(format!("at L = {l}: {}", parts.join("; ")))
}
