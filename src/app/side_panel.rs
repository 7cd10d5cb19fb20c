//! The side panel: the model's hyper-parameters, the sweep's settings, files in and out.

use paraformer::engine::Precision;
use paraformer::engine::tune::Autotune;
use paraformer::model::{PRESETS, Pool};

use super::state::Form;
use super::{App, overlay, platform};

impl App {
    /// The left panel: the model, the sweep, files.
    pub(super) fn side_panel(&mut self, ui: &mut egui::Ui) {
        self.model_section(ui);
        ui.separator();
        self.sweep_section(ui);
        ui.separator();
        self.files_section(ui);
    }

    /// A preset (or the trained model) and every hyper-parameter.
    fn model_section(&mut self, ui: &mut egui::Ui) {
        ui.heading("Model");
        let mut preset = None;
        egui::ComboBox::from_label("preset")
            .selected_text(&self.form.source)
            .show_ui(ui, |ui| {
                for p in PRESETS {
                    if ui.selectable_label(self.form.source == p, p).clicked() {
                        preset = Some(p);
                    }
                }
                let trained = crate::assets::TRAINED_MNIST_NAME;
                if self.trained.ready().is_some()
                    && ui
                        .selectable_label(self.form.source == trained, trained)
                        .on_hover_text(
                            "the mnist preset trained on MNIST (tools/train): 8 branches",
                        )
                        .clicked()
                {
                    preset = Some(trained);
                }
            });
        if let Some(p) = preset {
            if let (true, Some((w, _))) =
                (p == crate::assets::TRAINED_MNIST_NAME, self.trained.ready())
            {
                let w = w.clone();
                self.use_checkpoint(p, w);
            } else if let Ok(f) = Form::preset(p) {
                self.form = f;
            }
        }
        let c = &mut self.form.config;
        egui::Grid::new("config").num_columns(2).show(ui, |ui| {
            let row = |ui: &mut egui::Ui, label: &str, v: &mut usize, max: usize| {
                ui.label(label);
                ui.add(egui::DragValue::new(v).range(0..=max));
                ui.end_row();
            };
            row(ui, "image height", &mut c.image_height, 1024);
            row(ui, "image width", &mut c.image_width, 1024);
            row(ui, "channels", &mut c.channels, 64);
            row(ui, "patch", &mut c.patch, 256);
            row(ui, "dim D", &mut c.dim, 4096);
            row(ui, "heads", &mut c.heads, 64);
            row(ui, "head dim", &mut c.dim_head, 1024);
            row(ui, "MLP hidden", &mut c.mlp_dim, 16384);
            row(ui, "classes", &mut c.num_classes, 100_000);
            row(ui, "branch depth d", &mut c.depth, 64);
            ui.label("pool");
            ui.horizontal(|ui| {
                ui.radio_value(&mut c.pool, Pool::Cls, "cls");
                ui.radio_value(&mut c.pool, Pool::Mean, "mean");
            });
            ui.end_row();
        });
        ui.label(format!(
            "T = {} tokens, {:.1} MFLOP per block",
            c.tokens(),
            c.block_flops() / 1e6
        ));
    }

    /// Depths, modes, backends, runs; the Run and Cancel buttons.
    fn sweep_section(&mut self, ui: &mut egui::Ui) {
        ui.heading("Sweep");
        egui::Grid::new("sweep").num_columns(2).show(ui, |ui| {
            ui.label("depths L");
            ui.text_edit_singleline(&mut self.form.depths)
                .on_hover_text("a range (1..=12, 1..13) or a list (1,2,4,8); each a multiple of d");
            ui.end_row();
            ui.label("modes");
            ui.horizontal(|ui| {
                ui.checkbox(&mut self.form.serial, "serial");
                ui.checkbox(&mut self.form.parallel, "parallel");
            });
            ui.end_row();
            ui.label("backends");
            ui.horizontal(|ui| {
                ui.add_enabled(
                    !self.snap.cpu_only,
                    egui::Checkbox::new(&mut self.form.gpu, "GPU"),
                )
                .on_hover_text("the WGSL engine on this adapter")
                .on_disabled_hover_text("no GPU adapter here: the CPU engine runs alone");
                ui.checkbox(&mut self.form.cpu, "CPU").on_hover_text(if cfg!(target_arch = "wasm32") {
                    "the CPU engine compiled to wasm (SIMD128, one thread), on the page's thread"
                } else {
                    "the CPU engine on every core (SIMD matrix multiply, rayon)"
                });
            });
            ui.end_row();
            ui.label("");
            ui.checkbox(&mut self.form.profile, "per-op profile")
                .on_hover_text(
                    "after the sweep, time every op at the deepest depth (Per-op profile tab)",
                );
            ui.end_row();
            ui.label("GPU kernels");
            // Without an adapter there are no GPU kernels to choose.
            let gpu = !self.snap.cpu_only;
            ui.add_enabled_ui(gpu, |ui| {
                ui.horizontal(|ui| {
                let tune = &mut self.form.autotune;
                ui.selectable_value(tune, Autotune::On, "tuned")
                    .on_hover_text(
                        "time the kernel variants on this device before the sweep and run the \
                         fastest; choices are kept (natively in the user's cache directory, in \
                         the page in its storage), so only new shapes are timed",
                    );
                ui.selectable_value(tune, Autotune::Off, "heuristic")
                    .on_hover_text("the built-in rule for this kind of device, nothing timed");
                ui.selectable_value(tune, Autotune::Refresh, "retune")
                    .on_hover_text("time every kernel again, ignoring what was kept");
                });
            });
            ui.end_row();
            ui.label("GPU storage");
            ui.horizontal(|ui| {
                let blocker = self.f16_blocker();
                let p = &mut self.form.precision;
                ui.selectable_value(p, Precision::F32, "f32")
                    .on_hover_text("weights and activations as 32-bit floats");
                ui.add_enabled_ui(blocker.is_none(), |ui| {
                    ui.selectable_value(p, Precision::F16, "f16")
                        .on_hover_text(
                            "weights and activations as 16-bit floats, arithmetic in f32: half \
                             the bytes each op moves (the CPU engine stays f32)",
                        )
                        .on_disabled_hover_text(blocker.unwrap_or_default());
                });
            });
            ui.end_row();
            ui.label("warm-up runs");
            ui.add(egui::DragValue::new(&mut self.form.warmup).range(0..=100));
            ui.end_row();
            ui.label("samples");
            ui.add(egui::DragValue::new(&mut self.form.samples).range(0..=1000));
            ui.end_row();
            ui.label("batch");
            ui.add(egui::DragValue::new(&mut self.form.batch).range(0..=64));
            ui.end_row();
        });
        let mut valid = self.form.settings().map(|_| ());
        if let (Ok(()), Precision::F16, Some(why)) =
            (&valid, self.form.precision, self.f16_blocker())
        {
            valid = Err(paraformer::Error::Gpu(format!("f16 storage: {why}")));
        }
        if let Err(e) = &valid {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
        let running = self.snap.running;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(valid.is_ok() && !running, egui::Button::new("Run sweep"))
                .clicked()
            {
                self.start_sweep();
            }
            if ui
                .add_enabled(running, egui::Button::new("Cancel"))
                .clicked()
            {
                self.worker.cancel_job();
            }
        });
    }

    /// Why the GPU engine cannot store f16 here, if it cannot.
    fn f16_blocker(&self) -> Option<String> {
        match &self.snap.adapter {
            Some(a) if a.shader_f16 => None,
            Some(a) => Some(format!(
                "adapter '{}' does not offer shader-f16 (SHADER_F16): f32 only",
                a.name
            )),
            None if self.snap.cpu_only => {
                Some("no GPU adapter: the CPU engine computes in f32".to_string())
            }
            None => Some("no GPU adapter is open yet".to_string()),
        }
    }

    /// Checkpoints and results in and out, share links, overlays.
    fn files_section(&mut self, ui: &mut egui::Ui) {
        ui.heading("Files");
        ui.horizontal_wrapped(|ui| {
            if ui.button("Load checkpoint…").clicked() {
                platform::pick_file(
                    "Para-Former checkpoint",
                    &["safetensors"],
                    self.inbox.clone(),
                    ui.ctx().clone(),
                );
            }
            if ui.button("Import JSON…").clicked() {
                platform::pick_file(
                    "benchmark results",
                    &["json"],
                    self.inbox.clone(),
                    ui.ctx().clone(),
                );
            }
        });
        ui.collapsing("flags for checkpoints without metadata", |ui| {
            let opt = |ui: &mut egui::Ui, label: &str, v: &mut Option<usize>| {
                let mut on = v.is_some();
                let mut n = v.unwrap_or(1);
                ui.horizontal(|ui| {
                    ui.checkbox(&mut on, label);
                    ui.add_enabled(on, egui::DragValue::new(&mut n).range(1..=4096));
                });
                *v = on.then_some(n);
            };
            opt(ui, "heads", &mut self.hints.heads);
            opt(ui, "head dim", &mut self.hints.dim_head);
            opt(ui, "patch", &mut self.hints.patch);
        });
        let report = self.last_report();
        ui.add_enabled_ui(report.is_some(), |ui| {
            ui.horizontal(|ui| {
                if ui.button("Export CSV").clicked()
                    && let Some(r) = &report
                {
                    platform::save_text(
                        "paraformer-bench.csv",
                        "text/csv",
                        r.to_csv(),
                        self.status.0.clone(),
                    );
                }
                if ui.button("Export JSON").clicked()
                    && let Some(r) = &report
                {
                    platform::save_text(
                        "paraformer-bench.json",
                        "application/json",
                        r.to_json(),
                        self.status.0.clone(),
                    );
                }
                let share = if cfg!(target_arch = "wasm32") { "Share" } else { "Copy link" };
                if ui
                    .button(share)
                    .on_hover_text("a link to this page that shows this run overlaid (the results travel in the link's fragment, no server)")
                    .clicked()
                    && let Some(r) = &report
                {
                    let link = overlay::share_link(&platform::page_url(), r);
                    ui.ctx().copy_text(link.clone());
                    self.say(format!("copied a link to this run ({} characters)", link.len()));
                    self.share_link = Some(link);
                }
            });
        });
        if let Some(link) = &self.share_link {
            let mut shown = link.as_str();
            ui.add(egui::TextEdit::singleline(&mut shown).desired_width(f32::INFINITY));
        }
        ui.label("Drop a .safetensors checkpoint or a results .json here.");
        if !self.overlays.is_empty()
            && ui
                .button(format!("Clear {} overlays", self.overlays.len()))
                .clicked()
        {
            self.overlays.clear();
        }
    }
}
