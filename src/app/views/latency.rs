//! The latency and speedup views: medians with their p10-p90 bands per (backend, mode), the
//! fitted lines and the knee, runs overlaid; serial over parallel per backend and the CPU
//! engine against the GPU one. Also the plot helpers and colours every view shares.

use egui_plot::{FilledArea, Legend, Line, Plot, PlotPoints, Points};
use paraformer::bench::{Backend, Point};
use paraformer::model::Mode;

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

/// Speedup and critical-path dispatches against depth.
pub struct SpeedupView;

impl View for LatencyView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        latency_plot(ui, &cx.snap.points, cx.gpu_clock, cx.overlays);
    }
}

impl View for SpeedupView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        speedup_plots(ui, &cx.snap.points, cx.gpu_clock);
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
                let color = match b {
                    Backend::Gpu => egui::Color32::from_rgb(200, 90, 160),
                    Backend::Cpu => egui::Color32::from_rgb(120, 70, 180),
                };
                line_and_points(plot, &name, state::speedup(points, b, gpu), color);
            }
            if several {
                for mode in Mode::ALL {
                    let name = format!("{} gpu / cpu", mode.name());
                    let s = state::cpu_over_gpu(points, mode);
                    line_and_points(plot, &name, s, series_color(Backend::Cpu, mode));
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

/// At the deepest depth both backends measured: which is faster in each mode, and by how much.
fn faster_line(points: &[Point]) -> Option<String> {
    let l = points
        .iter()
        .filter(|p| p.backend == Backend::Cpu)
        .filter(|p| {
            points
                .iter()
                .any(|q| q.backend == Backend::Gpu && q.mode == p.mode && q.depth == p.depth)
        })
        .map(|p| p.depth)
        .max()?;
    let parts: Vec<String> = Mode::ALL
        .iter()
        .filter_map(|&m| paraformer::bench::faster(points, m, l))
        .collect();
    Some(format!("at L = {l}: {}", parts.join("; ")))
}

/// A (backend, mode) series' colour: the mode's hue, darker for the CPU engine.
pub(super) fn series_color(backend: Backend, mode: Mode) -> egui::Color32 {
    match backend {
        Backend::Gpu => mode_color(mode),
        Backend::Cpu => match mode {
            Mode::Serial => egui::Color32::from_rgb(150, 60, 20),
            Mode::Parallel => egui::Color32::from_rgb(20, 150, 120),
        },
    }
}

/// One colour per mode in every plot.
pub(super) fn mode_color(mode: Mode) -> egui::Color32 {
    match mode {
        Mode::Serial => egui::Color32::from_rgb(230, 120, 50),
        Mode::Parallel => egui::Color32::from_rgb(60, 140, 230),
    }
}

/// A series as a line with a dot at every point, in one colour.
fn line_and_points(
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
pub(super) fn median_with_band(
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
