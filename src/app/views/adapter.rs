//! The Adapter & correctness view: what the adapter is and offers, and whether the GPU
//! engine agrees with the CPU reference on the current model.

use paraformer::engine::Precision;
use paraformer::engine::choice::Forced;
use paraformer::model::Config;

use super::{View, ViewCtx};
use crate::app::worker::Job;

/// The adapter's limits and the GPU-vs-reference badge.
#[derive(Default)]
pub struct AdapterView {
    /// Model and forced kernels whose correctness was last checked.
    checked: Option<(Config, Forced, Precision)>,
}

impl View for AdapterView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut ViewCtx<'_>) {
        let (adapter, check, checking) = (
            cx.snap.adapter.clone(),
            cx.snap.check.clone(),
            cx.snap.checking,
        );
        let Some(a) = adapter else {
            if cx.snap.cpu_only {
                // No adapter to describe (the notice above says why): the CPU engine is
                // checked instead.
                ui.heading("No GPU adapter");
                ui.separator();
                self.correctness_badge(ui, cx, check, checking);
            } else {
                ui.label("Opening the GPU…");
            }
            return;
        };
        egui::Grid::new("adapter")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for (k, v) in [
                    ("name", a.name.clone()),
                    ("backend", a.backend.clone()),
                    ("device type", a.device_type.clone()),
                    ("driver", format!("{} {}", a.driver, a.driver_info)),
                    ("timestamp queries", a.timestamps.to_string()),
                    (
                        "timestamps inside passes",
                        a.timestamps_inside_passes.to_string(),
                    ),
                    (
                        "max storage binding",
                        format!("{} MiB", a.max_storage_binding_bytes >> 20),
                    ),
                    ("max buffer", format!("{} MiB", a.max_buffer_bytes >> 20)),
                    (
                        "max workgroups per dimension",
                        a.max_workgroups_per_dim.to_string(),
                    ),
                    (
                        "max invocations per workgroup",
                        a.max_invocations_per_workgroup.to_string(),
                    ),
                    (
                        "max workgroup storage",
                        format!("{} KiB", a.max_workgroup_storage_bytes >> 10),
                    ),
                    (
                        "storage buffers per stage",
                        a.max_storage_buffers_per_stage.to_string(),
                    ),
                ] {
                    ui.label(k);
                    ui.label(v);
                    ui.end_row();
                }
            });
        ui.separator();
        self.correctness_badge(ui, cx, check, checking);
    }
}

impl AdapterView {
    fn correctness_badge(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut ViewCtx<'_>,
        check: Option<Result<(f32, f32), String>>,
        checking: bool,
    ) {
        let Ok(settings) = cx.form.settings() else {
            return;
        };
        let config = settings.deepest();
        // The sweep's settings were validated: their kernel flags parse.
        let forced = Forced::parse(&settings.kernels).unwrap_or_default();
        let key = (config.clone(), forced, settings.precision);
        if self.checked.as_ref() != Some(&key) && !checking {
            self.checked = Some(key);
            let weights = cx.weights_for(&config);
            cx.worker.submit(Job::Check {
                weights,
                branches: config.branches,
                forced,
                precision: settings.precision,
            });
        }
        ui.horizontal(|ui| {
            let kernels = if settings.kernels.is_empty() {
                String::new()
            } else {
                format!(", kernels {}", settings.kernels.join(" "))
            };
            let (engine, precision) = if cx.snap.cpu_only {
                ("CPU engine", paraformer::engine::Precision::F32)
            } else {
                ("GPU", settings.precision)
            };
            ui.label(format!(
                "{engine} vs CPU reference (both modes, K = {}, {precision} storage{kernels}):",
                config.branches
            ));
            match (checking, check) {
                (true, _) | (false, None) => {
                    ui.spinner();
                }
                (false, Some(Ok((err, scale)))) => {
                    let ok = err <= 1e-3 * scale.max(1.0);
                    let color = if ok {
                        egui::Color32::from_rgb(40, 160, 60)
                    } else {
                        ui.visuals().error_fg_color
                    };
                    ui.colored_label(
                        color,
                        format!(
                            "{} max abs error {err:.2e} (logits up to {scale:.2})",
                            if ok { "OK:" } else { "MISMATCH:" }
                        ),
                    );
                }
                (false, Some(Err(e))) => {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
            }
        });
    }
}
