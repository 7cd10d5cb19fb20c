//! The per-op profile view: where one inference's time goes, per op, at the sweep's deepest
//! depth, for each mode measured (the same tables as `paraformer bench --profile`), with
//! each op's intensity and its fraction of the device's roof.

use paraformer::bench::Report;

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
        if let Some(roof) = report.device_peak.get(&paraformer::bench::Backend::Gpu) {
            ui.label(format!(
                "GPU roofs: {:.1} GFLOP/s, {:.1} GB/s ({})",
                roof.gflops, roof.gbytes_per_s, roof.method
            ));
        }
        for mp in &report.profiles {
            let p = &mp.profile;
            ui.heading(format!(
                "{} mode, L = {}: {:.3} ms in all",
                mp.mode.name(),
                mp.depth,
                p.total_ms
            ));
            ui.label(format!("method: {}", p.method));
            egui::Grid::new(("profile", mp.mode.name()))
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
