//! The egui app, the same code natively and in the browser: edit a model, sweep depth in
//! both modes and watch latency points arrive, explore one depth live, check GPU against
//! CPU, load checkpoints, export and compare runs.

mod classify;
mod fitted;
mod latency;
mod overlay;
mod platform;
mod profile;
pub mod state;
mod trained;

/// The page's query string (web).
#[cfg(target_arch = "wasm32")]
pub fn platform_query() -> String {
    platform::url_query()
}
#[cfg(not(target_arch = "wasm32"))]
mod window;
mod worker;

use std::sync::{Arc, Mutex};

use egui_plot::{Line, Plot, PlotPoints};
use paraformer::bench::share::Shared;
use paraformer::bench::{Point, Report};
use paraformer::model::{self, Config, Hints, Mode, PRESETS, Pool, Weights};

use platform::Inbox;
use state::{Form, Launch};
use worker::{Job, Worker};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Latency,
    Speedup,
    Profile,
    Live,
    Adapter,
    Classify,
    Accuracy,
}

pub struct App {
    form: Form,
    worker: Worker,
    /// The window's renderer, marked in every frame so the worker knows when drawing ends.
    #[cfg(not(target_arch = "wasm32"))]
    renderer: Option<worker::Renderer>,
    /// A loaded checkpoint, used while the form's source is its file name.
    checkpoint: Option<(String, Arc<Weights>)>,
    /// Seeded weights cached for the config they were made for.
    seeded: Option<Arc<Weights>>,
    hints: Hints,
    tab: Tab,
    gpu_clock: bool,
    overlays: Vec<overlay::Overlay>,
    /// The last share link made, shown under the button.
    share_link: Option<String>,
    /// When the page showed its first frame and had its adapter (browser).
    page_load: paraformer::bench::PageLoad,
    live_on: bool,
    live_depth: usize,
    live_mode: Mode,
    launch: Launch,
    autorun_pending: bool,
    live_pending: bool,
    published: bool,
    inbox: Inbox,
    status: Arc<Mutex<Option<String>>>,
    /// Model whose correctness was last checked.
    checked: Option<Config>,
    /// The shipped trained MNIST model and its test split.
    trained: trained::Trained,
    classify: classify::Classify,
    /// When to close the window (launched with `exit`, after the sweep was published).
    close_at: Option<web_time::Instant>,
}

/// How long the finished plot stays up before `exit` closes the window.
const CLOSE_DELAY: std::time::Duration = std::time::Duration::from_millis(1500);

impl App {
    pub fn new(cc: &eframe::CreationContext<'_>, launch: Launch) -> App {
        let form = launch
            .form
            .clone()
            .unwrap_or_else(|| Form::preset(PRESETS[0]).expect("built-in preset"));
        let status = Arc::new(Mutex::new(None));
        let trained = trained::Trained::at_start();
        if let trained::Trained::Failed(e) = &trained {
            *status.lock().expect("status lock") = Some(e.clone());
        }
        #[cfg(not(target_arch = "wasm32"))]
        let renderer = cc
            .wgpu_render_state
            .as_ref()
            .map(|r| worker::Renderer::new(r.device.clone()));
        #[cfg(not(target_arch = "wasm32"))]
        let worker = Worker::new(cc.egui_ctx.clone(), renderer.clone());
        #[cfg(target_arch = "wasm32")]
        let worker = Worker::new(cc.egui_ctx.clone(), None);
        let (branches, images) = trained
            .ready()
            .map_or((1, 1), |(w, s)| (w.config.branches, s.len()));
        let mut app = App {
            trained,
            close_at: None,
            classify: classify::Classify::new(branches, images),
            worker,
            #[cfg(not(target_arch = "wasm32"))]
            renderer,
            live_depth: form.config.depth,
            form,
            checkpoint: None,
            seeded: None,
            hints: Hints::default(),
            tab: match launch.tab.as_deref() {
                Some("speedup") => Tab::Speedup,
                Some("profile") => Tab::Profile,
                Some("live") => Tab::Live,
                Some("adapter") => Tab::Adapter,
                Some("classify") => Tab::Classify,
                Some("accuracy") => Tab::Accuracy,
                _ => Tab::Latency,
            },
            gpu_clock: false,
            overlays: Vec::new(),
            live_on: false,
            live_mode: Mode::Parallel,
            autorun_pending: launch.autorun,
            live_pending: launch.live,
            launch,
            published: false,
            inbox: Arc::new(Mutex::new(Vec::new())),
            status,
            checked: None,
            share_link: None,
            page_load: Default::default(),
        };
        app.open_share_link();
        app
    }

    /// A page opened from a share link shows that run overlaid; a damaged link is explained
    /// and the app goes on without it.
    fn open_share_link(&mut self) {
        match Shared::from_fragment(&platform::url_fragment()) {
            Some(Ok(shared)) => {
                self.say(format!("overlaid the shared run: {}", shared.label()));
                self.overlays.push(overlay::Overlay::Link(Box::new(shared)));
            }
            Some(Err(e)) => self.say(e.to_string()),
            None => {}
        }
    }

    /// The report of the last sweep, if one finished.
    fn last_report(&self) -> Option<Report> {
        let shared = self.worker.shared.lock().expect("worker state");
        shared.sweep.report.clone()
    }

    fn say(&self, msg: impl Into<String>) {
        let msg = msg.into();
        platform::announce(&msg);
        *self.status.lock().expect("status lock") = Some(msg);
    }

    /// The weights a run of `config` uses: the checkpoint when it is the source, else seeded.
    fn weights_for(&mut self, config: &Config) -> Arc<Weights> {
        if let Some((name, w)) = &self.checkpoint
            && *name == self.form.source
        {
            return w.clone();
        }
        match &self.seeded {
            Some(w) if w.config == *config => w.clone(),
            _ => {
                let w = Arc::new(Weights::seeded(config, 0));
                self.seeded = Some(w.clone());
                w
            }
        }
    }

    fn start_sweep(&mut self) {
        match self.form.settings() {
            Ok(settings) => {
                let weights = self.weights_for(&settings.deepest());
                self.live_on = false;
                self.published = false;
                self.worker.submit(Job::Sweep {
                    settings: Box::new(settings),
                    weights,
                });
            }
            Err(e) => self.say(e.to_string()),
        }
    }

    fn start_live(&mut self) {
        match self.form.settings() {
            Ok(settings) => {
                let config = settings.deepest();
                let weights = self.weights_for(&config);
                self.live_depth = self.live_depth.clamp(config.depth, config.blocks());
                self.worker
                    .set_live(self.live_mode, self.live_depth / config.depth);
                self.worker.submit(Job::Live { weights });
                self.live_on = true;
            }
            Err(e) => self.say(e.to_string()),
        }
    }

    /// Makes `weights` the model of sweeps and live runs, under `name`.
    fn use_checkpoint(&mut self, name: &str, weights: Arc<Weights>) {
        let c = weights.config.clone();
        self.form.source = name.to_string();
        self.form.depths = format!("{}..={}", c.depth, c.blocks());
        self.form.config = c;
        self.checkpoint = Some((name.to_string(), weights));
    }

    fn load_checkpoint(&mut self, name: &str, bytes: &[u8]) {
        match model::load(bytes, &self.hints) {
            Ok(loaded) => {
                self.use_checkpoint(name, Arc::new(loaded.weights));
                let mut msg = format!("loaded {name}");
                for w in &loaded.warnings {
                    msg.push_str(&format!("; warning: {w}"));
                }
                self.say(msg);
            }
            Err(e) => self.say(format!("{name}: {e}")),
        }
    }

    fn import_report(&mut self, name: &str, bytes: &[u8]) {
        match std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8 text".to_string())
            .and_then(|t| Report::from_json(t).map_err(|e| e.to_string()))
        {
            Ok(r) => {
                self.say(format!("overlaid {name}: {}", state::report_label(&r)));
                self.overlays.push(overlay::Overlay::File(Box::new(r)));
            }
            Err(e) => self.say(format!("{name}: {e}")),
        }
    }

    fn take_files(&mut self, ctx: &egui::Context) {
        let mut files: Vec<platform::Picked> =
            std::mem::take(&mut *self.inbox.lock().expect("inbox lock"));
        for f in ctx.input(|i| i.raw.dropped_files.clone()) {
            platform::read_dropped(f, self.inbox.clone(), ctx.clone());
        }
        files.append(&mut std::mem::take(
            &mut *self.inbox.lock().expect("inbox lock"),
        ));
        for f in files {
            if f.name.ends_with(".json") {
                self.import_report(&f.name, &f.bytes);
            } else {
                self.load_checkpoint(&f.name, &f.bytes);
            }
        }
    }

    fn side_panel(&mut self, ui: &mut egui::Ui) {
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

        ui.separator();
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
                ui.checkbox(&mut self.form.gpu, "GPU")
                    .on_hover_text("the WGSL engine on this adapter");
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
        let valid = self.form.settings();
        if let Err(e) = &valid {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
        let running = self
            .worker
            .shared
            .lock()
            .expect("worker state")
            .sweep
            .running;
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
                self.worker.cancel_sweep();
            }
        });

        ui.separator();
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
                        self.status.clone(),
                    );
                }
                if ui.button("Export JSON").clicked()
                    && let Some(r) = &report
                {
                    platform::save_text(
                        "paraformer-bench.json",
                        "application/json",
                        r.to_json(),
                        self.status.clone(),
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

    fn max_depth(&self, points: &[Point]) -> f64 {
        points.iter().map(|p| p.depth as f64).fold(1.0, f64::max)
    }

    fn live_tab(&mut self, ui: &mut egui::Ui) {
        let Ok(settings) = self.form.settings() else {
            ui.label("Fix the model settings on the left first.");
            return;
        };
        let config = settings.deepest();
        let d = config.depth;
        ui.label("Inference runs continuously on the current model; drag the depth to see latency follow.");
        let mut changed = false;
        ui.horizontal(|ui| {
            let mut on = self.live_on;
            let label = if on { "Stop" } else { "Run live" };
            if ui.toggle_value(&mut on, label).changed() {
                if on {
                    self.start_live();
                } else {
                    self.worker.stop_live();
                    self.live_on = false;
                }
            }
            changed |= ui
                .radio_value(&mut self.live_mode, Mode::Serial, "serial")
                .changed();
            changed |= ui
                .radio_value(&mut self.live_mode, Mode::Parallel, "parallel")
                .changed();
        });
        let mut k = (self.live_depth / d).clamp(1, config.branches);
        changed |= ui
            .add(
                egui::Slider::new(&mut k, 1..=config.branches)
                    .text(format!("branches K (L = K x {d})")),
            )
            .changed();
        self.live_depth = k * d;
        if changed {
            self.worker.set_live(self.live_mode, k);
        }
        let shared = self.worker.shared.lock().expect("worker state");
        let live = &shared.live;
        if let Some(e) = &live.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if !live.recent_ms.is_empty() {
            let mut sorted = live.recent_ms.clone();
            sorted.sort_by(f64::total_cmp);
            let median = paraformer::bench::quantile(&sorted, 0.5);
            ui.heading(format!(
                "L = {}: median {:.2} ms over the last {} runs (wall clock){}",
                self.live_depth,
                median,
                sorted.len(),
                live.gpu_ms.map_or(String::new(), |g| format!(
                    ", last {g:.2} ms by GPU timestamps"
                ))
            ));
            ui.label(format!(
                "{:.2} GFLOP/s, {} dispatches on the critical path",
                live.flops / (median * 1e6),
                live.dispatches
            ));
            let pts: Vec<[f64; 2]> = live
                .recent_ms
                .iter()
                .enumerate()
                .map(|(i, v)| [i as f64, *v])
                .collect();
            Plot::new("live")
                .height(200.0)
                .y_axis_label("ms")
                .show(ui, |plot| {
                    plot.line(Line::new("latency", PlotPoints::from(pts)));
                });
        }
    }

    fn adapter_tab(&mut self, ui: &mut egui::Ui) {
        let (adapter, check, checking) = {
            let s = self.worker.shared.lock().expect("worker state");
            (s.adapter.clone(), s.check.clone(), s.checking)
        };
        let Some(a) = adapter else {
            ui.label("Opening the GPU…");
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
        self.correctness_badge(ui, check, checking);
    }

    fn correctness_badge(
        &mut self,
        ui: &mut egui::Ui,
        check: Option<Result<(f32, f32), String>>,
        checking: bool,
    ) {
        let Ok(settings) = self.form.settings() else {
            return;
        };
        let config = settings.deepest();
        if self.checked.as_ref() != Some(&config) && !checking {
            self.checked = Some(config.clone());
            let weights = self.weights_for(&config);
            self.worker.submit(Job::Check {
                weights,
                branches: config.branches,
            });
        }
        ui.horizontal(|ui| {
            ui.label(format!(
                "GPU vs CPU reference (parallel, K = {}):",
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

    fn autorun_and_publish(&mut self, ctx: &egui::Context) {
        if let Some(at) = self.close_at {
            if web_time::Instant::now() >= at {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            } else {
                ctx.request_repaint_after(std::time::Duration::from_millis(100));
            }
        }
        let (ready, gpu_error, report, error, running) = {
            let s = self.worker.shared.lock().expect("worker state");
            (
                s.adapter.is_some(),
                s.gpu_error.clone(),
                s.sweep.report.clone(),
                s.sweep.error.clone(),
                s.sweep.running,
            )
        };
        if let Some(e) = &gpu_error {
            platform::publish_error(e);
        }
        let load = &mut self.page_load;
        if load.first_frame_ms.is_none() {
            load.first_frame_ms = platform::page_ms();
        }
        if ready && load.adapter_ready_ms.is_none() {
            load.adapter_ready_ms = platform::page_ms();
            platform::publish_page_load(load);
        }
        if self.live_pending && ready {
            self.live_pending = false;
            self.start_live();
        }
        if self.autorun_pending && ready {
            self.autorun_pending = false;
            self.start_sweep();
            if let Err(e) = self.form.settings() {
                platform::publish_error(&e.to_string());
            }
            return;
        }
        if running || self.published {
            return;
        }
        if let Some(mut r) = report {
            self.published = true;
            if cfg!(target_arch = "wasm32") {
                r.page_load = Some(self.page_load);
            }
            if let Err(e) = platform::publish_results(&r.to_json(), self.launch.results.as_deref())
            {
                self.say(e);
            }
            platform::publish_share_link(&overlay::share_link(&platform::page_url(), &r));
            if let Some(e) = error {
                platform::publish_error(&e);
            }
            if self.launch.exit {
                // The finished plot stays on screen a moment (for a look or a screenshot).
                self.close_at = Some(web_time::Instant::now() + CLOSE_DELAY);
            }
        }
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(r) = &self.renderer {
            r.mark(&ctx);
        }
        self.take_files(&ctx);
        if let Some(msg) = self.trained.poll() {
            if let Some((w, set)) = self.trained.ready() {
                self.classify = classify::Classify::new(w.config.branches, set.len());
            }
            self.say(msg);
        }
        self.autorun_and_publish(&ctx);
        let (gpu_error, progress, running, sweep_error, points, has_gpu_clock) = {
            let s = self.worker.shared.lock().expect("worker state");
            let gpu = s.adapter.as_ref().is_some_and(|a| a.timestamps);
            (
                s.gpu_error.clone(),
                s.sweep.progress,
                s.sweep.running,
                s.sweep.error.clone(),
                s.sweep.points.clone(),
                gpu,
            )
        };
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Para-Former: latency against depth, serial vs parallel");
                ui.separator();
                ui.selectable_value(&mut self.tab, Tab::Latency, "Latency");
                ui.selectable_value(&mut self.tab, Tab::Speedup, "Speedup & dispatches");
                ui.selectable_value(&mut self.tab, Tab::Profile, "Per-op profile");
                ui.selectable_value(&mut self.tab, Tab::Live, "Live");
                ui.selectable_value(&mut self.tab, Tab::Adapter, "Adapter & correctness");
                ui.selectable_value(&mut self.tab, Tab::Classify, "Classify");
                ui.selectable_value(&mut self.tab, Tab::Accuracy, "Accuracy vs branches");
                ui.separator();
                ui.add_enabled_ui(has_gpu_clock, |ui| {
                    ui.checkbox(&mut self.gpu_clock, "GPU timestamps").on_hover_text(
                        "plot device timestamps of the compute pass instead of the wall clock (submit until logits are read back)",
                    );
                });
            });
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                if let Some(p) = progress.filter(|_| running) {
                    ui.add(
                        egui::ProgressBar::new(p.done as f32 / p.total.max(1) as f32)
                            .desired_width(300.0)
                            .text(format!(
                                "{} {} L={}  {}/{}",
                                p.backend.name(),
                                p.mode.name(),
                                p.depth,
                                p.done,
                                p.total
                            )),
                    );
                }
                if let Some(e) = &sweep_error {
                    ui.colored_label(ui.visuals().warn_fg_color, format!("sweep: {e}"));
                }
                if let Some(s) = self.status.lock().expect("status lock").as_ref() {
                    ui.label(s);
                }
            });
        });
        egui::Panel::left("settings")
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side_panel(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(e) = &gpu_error {
                ui.heading("No usable GPU");
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
            match self.tab {
                Tab::Latency => self.latency_plot(ui, &points),
                Tab::Speedup => self.speedup_plots(ui, &points),
                Tab::Profile => {
                    let report = self.last_report();
                    profile::profile_view(ui, report.as_ref(), running);
                }
                Tab::Live => self.live_tab(ui),
                Tab::Adapter => self.adapter_tab(ui),
                Tab::Classify | Tab::Accuracy => {
                    self.trained.want(ui.ctx());
                    match self.trained.ready() {
                        None => self.trained.waiting_ui(ui),
                        Some(model) if self.tab == Tab::Classify => {
                            self.classify.ui(ui, &self.worker, model)
                        }
                        Some(model) => self.classify.accuracy_ui(ui, &self.worker, model),
                    }
                }
            }
        });
        // No frames on a timer: the worker asks for one whenever its state changes, and a
        // sweep, the live loop, Classify and the accuracy rounds wait for the window's drawing
        // to finish before they time a run (see `worker::Ctx::wait_for_window`).
    }
}
