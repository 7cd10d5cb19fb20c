//! The per-op profile view: where one inference's time goes, per op, at the sweep's deepest
//! depth, for each mode measured (the same tables as `paraformer bench --profile`), with
//! each op's intensity and its fraction of the device's roof.

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoint, PlotPoints, Points, Text};
use paraformer::bench::Report;

use super::plot::series_color;
use super::{View, ViewCtx};

/// The per-op tables of the last sweep.
pub struct ProfileView;

impl View for ProfileView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        profile_view(ui, cx.snap.report.as_deref(), cx.snap.running);
    }
}

/// Draws the profiles of `report`, or says how to get one.
fn profile_view(ui: &mut egui::Ui, report: Option<&Report>, running: bool) {
    let Some(report) = report.filter(|r| !r.profiles.is_empty()) else {
        ui.heading("Per-op profile");
        ui.label(if running {
            "The profile is measured after the sweep's last point."
        } else {
            "Tick \"per-op profile\" in the sweep settings and run a sweep: each op's time at \
             the deepest depth appears here, per mode."
        });
        return;
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (backend, roof) in &report.device_peak {
            ui.label(format!(
                "{} engine's roofs: {:.1} GFLOP/s, {:.1} GB/s ({})",
                backend.name(),
                roof.gflops,
                roof.gbytes_per_s,
                roof.method
            ));
        }
        if !report.device_peak.is_empty() {
            roofline(ui, report);
        }
        for mp in &report.profiles {
            let p = &mp.profile;
            ui.heading(format!(
                "{} engine, {} mode, L = {}: {:.3} ms in all",
                mp.backend.name(),
                mp.mode.name(),
                mp.depth,
                p.total_ms
            ));
            ui.label(format!("method: {}", p.method));
            egui::Grid::new(("profile", mp.backend.name(), mp.mode.name()))
                .num_columns(9)
                .striped(true)
                .show(ui, |ui| {
                    for h in [
                        "op",
                        "count",
                        "ms",
                        "share",
                        "",
                        "GFLOP/s",
                        "GB/s",
                        "FLOP/B",
                        "% of roof",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for op in &p.ops {
                        ui.label(&op.label);
                        ui.label(op.count.to_string());
                        ui.label(format!("{:.3}", op.ms));
                        ui.label(format!("{:.1}%", 100.0 * op.share));
                        ui.add(
                            egui::ProgressBar::new(op.share as f32)
                                .desired_width(160.0)
                                .desired_height(10.0),
                        );
                        ui.label(if op.gflops > 0.0 {
                            format!("{:.2}", op.gflops)
                        } else {
                            "-".into()
                        });
                        ui.label(format!("{:.2}", op.gbytes_per_s));
                        ui.label(format!("{:.2}", op.intensity));
                        match op.of_roof {
                            Some(f) => ui.label(format!("{:.1}%", 100.0 * f)).on_hover_text(
                                "achieved over the attainable min(peak, intensity x bandwidth)",
                            ),
                            None => ui.label("-"),
                        };
                        ui.end_row();
                    }
                });
            ui.add_space(12.0);
        }
    });
}

/// The roofline of the profiles, on log10 axes (labelled in plain numbers): each engine's
/// roofs (the first backend's solid, the others dashed), and each op with arithmetic as a
/// point per engine and mode, labelled once (ops without arithmetic have no place on a log
/// axis).
fn roofline(ui: &mut egui::Ui, report: &Report) {
    let ops = || {
        report.profiles.iter().flat_map(|mp| {
            mp.profile
                .ops
                .iter()
                .filter(|o| o.intensity > 0.0 && o.gflops > 0.0)
                .map(move |o| ((mp.backend, mp.mode), o))
        })
    };
    let xs = ops()
        .map(|(_, o)| o.intensity)
        .chain(report.device_peak.values().map(|p| p.ridge()));
    let x_lo = xs.clone().fold(f64::INFINITY, f64::min).log10() - 0.6;
    let x_hi = xs.fold(0.0f64, f64::max).log10() + 0.6;
    let log = |v: f64| v.log10();
    let plain = |m: egui_plot::GridMark, _: &std::ops::RangeInclusive<f64>| {
        let v = 10f64.powf(m.value);
        if v >= 10.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    Plot::new("roofline")
        .height(320.0)
        .legend(Legend::default())
        .x_axis_label("arithmetic intensity, FLOP per byte (log)")
        .y_axis_label("GFLOP/s (log)")
        .x_axis_formatter(plain)
        .y_axis_formatter(plain)
        .show(ui, |plot| {
            for (&backend, peak) in &report.device_peak {
                let roof = peak.roof(10f64.powf(x_lo), 10f64.powf(x_hi));
                let pts: Vec<[f64; 2]> = roof.iter().map(|&(x, y)| [log(x), log(y)]).collect();
                let line = Line::new(format!("{} roof", backend.name()), PlotPoints::from(pts));
                plot.line(match backend.index() {
                    0 => line.color(egui::Color32::GRAY).width(2.0),
                    _ => line
                        .color(egui::Color32::DARK_GRAY)
                        .style(LineStyle::dashed_loose()),
                });
            }
            for mp in &report.profiles {
                let pts: Vec<[f64; 2]> = ops()
                    .filter(|(k, _)| *k == (mp.backend, mp.mode))
                    .map(|(_, o)| [log(o.intensity), log(o.gflops)])
                    .collect();
                let name = format!("{} {} ops", mp.backend.name(), mp.mode.name());
                plot.points(
                    Points::new(name, PlotPoints::from(pts))
                        .color(series_color(mp.backend, mp.mode))
                        .radius(4.0),
                );
            }
            let mut labelled: Vec<&str> = Vec::new();
            for (_, o) in ops() {
                if labelled.contains(&o.label.as_str()) {
                    continue;
                }
                labelled.push(&o.label);
                let at = PlotPoint::new(log(o.intensity), log(o.gflops));
                let text = format!("  {}", o.label);
                // Unnamed: the labels stay out of the legend.
                plot.text(Text::new("", at, text).anchor(egui::Align2::LEFT_TOP));
            }
        });
}
