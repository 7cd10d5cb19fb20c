//! The egui app, the same code natively and in the browser: edit a model, sweep depth in
//! both modes and watch latency points arrive, explore one depth live, check GPU against
//! CPU, load checkpoints, export and compare runs.

mod fitted;
mod overlay;
pub mod platform;
mod side_panel;
pub mod state;

mod trained;
mod views;

#[cfg(not(target_arch = "wasm32"))]
mod window;
mod worker;

use std::sync::{Arc, Mutex};

use paraformer::bench::Report;
use paraformer::bench::share::Shared;
use paraformer::model::{self, Config, Hints, PRESETS, Weights};

use crate::tab::Tab;
use platform::Inbox;
use state::{Form, Launch};
use views::{ViewCtx, Views};
use worker::{Job, Worker};

pub struct App {
    form: Form,
    worker: Worker,
    /// The window's renderer, marked in every frame so the worker knows when drawing ends.
    #[cfg(not(target_arch = "wasm32"))]
    renderer: Option<worker::Renderer>,
    models: Models,
    hints: Hints,
    tab: Tab,
    gpu_clock: bool,
    overlays: Vec<overlay::Overlay>,
    /// The last share link made, shown under the button.
    share_link: Option<String>,
    /// When the page showed its first frame and had its adapter (browser).
    page_load: paraformer::bench::PageLoad,
    launch: Launch,
    autorun_pending: bool,
    live_pending: bool,
    published: bool,
    /// The notice that no GPU adapter was found (the CPU engine runs everything) was given.
    cpu_noticed: bool,
    inbox: Inbox,
    status: Status,
    /// The shipped trained MNIST model and its test split.
    trained: trained::Trained,
    /// The worker's state as of this frame.
    snap: worker::Snapshot,
    views: Views,
    /// When to close the window (launched with `exit`, after the sweep was published).
    close_at: Option<web_time::Instant>,
}

/// The weights runs use: a loaded checkpoint, or seeded weights cached per config.
#[derive(Default)]
pub struct Models {
    /// A loaded checkpoint, used while the form's source is its file name.
    checkpoint: Option<(String, Arc<Weights>)>,
    /// Seeded weights cached for the config they were made for.
    seeded: Option<Arc<Weights>>,
}

impl Models {
    /// The weights a run of `config` uses: the checkpoint when it is `source`, else seeded.
    pub fn weights_for(&mut self, source: &str, config: &Config) -> Arc<Weights> {
        if let Some((name, w)) = &self.checkpoint
            && name == source
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
}

/// The status line's last message, shared with file pickers and downloads.
#[derive(Clone, Default)]
pub struct Status(pub Arc<Mutex<Option<String>>>);

impl Status {
    /// Shows `msg` in the status line (and to the page's hooks).
    pub fn say(&self, msg: impl Into<String>) {
        let msg = msg.into();
        platform::announce(&msg);
        *self.0.lock().expect("status lock") = Some(msg);
    }
}

/// The CPU engine in a few words.
#[cfg(target_arch = "wasm32")]
pub const CPU_ENGINE: &str = "compiled to wasm: SIMD128, one thread, f32";
#[cfg(not(target_arch = "wasm32"))]
pub const CPU_ENGINE: &str = "SIMD matrix products on every core, f32";

/// How long the finished plot stays up before `exit` closes the window.
const CLOSE_DELAY: std::time::Duration = std::time::Duration::from_millis(1500);

impl App {
    pub fn new(cc: &eframe::CreationContext<'_>, launch: Launch) -> App {
        let form = launch
            .form
            .clone()
            .unwrap_or_else(|| Form::preset(PRESETS[0]).expect("built-in preset"));
        let status = Status::default();
        let trained = trained::Trained::at_start();
        if let trained::Trained::Failed(e) = &trained {
            *status.0.lock().expect("status lock") = Some(e.clone());
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
            snap: worker::Snapshot::default(),
            views: Views::new(form.config.depth, branches, images),
            worker,
            #[cfg(not(target_arch = "wasm32"))]
            renderer,
            form,
            models: Models::default(),
            hints: Hints::default(),
            tab: launch.tab.unwrap_or_default(),
            gpu_clock: false,
            overlays: Vec::new(),
            autorun_pending: launch.autorun,
            live_pending: launch.live,
            launch,
            published: false,
            cpu_noticed: false,
            inbox: Arc::new(Mutex::new(Vec::new())),
            status,
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

    /// The finished sweep's report, as of this frame.
    fn last_report(&self) -> Option<Arc<Report>> {
        self.snap.report.clone()
    }

    fn say(&self, msg: impl Into<String>) {
        self.status.say(msg);
    }

    /// The views and what they see of the rest of the app, borrowed apart.
    fn split(&mut self) -> (&mut Views, ViewCtx<'_>) {
        let App {
            views,
            snap,
            worker,
            form,
            models,
            gpu_clock,
            overlays,
            trained,
            status,
            ..
        } = self;
        let cx = ViewCtx {
            snap,
            worker,
            form,
            models,
            gpu_clock: *gpu_clock,
            overlays,
            trained,
            status,
        };
        (views, cx)
    }

    fn start_sweep(&mut self) {
        match self.form.settings() {
            Ok(settings) => {
                let weights = self
                    .models
                    .weights_for(&self.form.source, &settings.deepest());
                self.views.live.on = false;
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
        let (views, mut cx) = self.split();
        views.live.start(&mut cx);
    }

    /// Makes `weights` the model of sweeps and live runs, under `name`.
    fn use_checkpoint(&mut self, name: &str, weights: Arc<Weights>) {
        let c = weights.config.clone();
        self.form.source = name.to_string();
        self.form.depths = format!("{}..={}", c.depth, c.blocks());
        self.form.config = c;
        self.models.checkpoint = Some((name.to_string(), weights));
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

    fn autorun_and_publish(&mut self, ctx: &egui::Context) {
        if let Some(at) = self.close_at {
            if web_time::Instant::now() >= at {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            } else {
                ctx.request_repaint_after(std::time::Duration::from_millis(100));
            }
        }
        // The fields it needs, not a copy of the whole snapshot every frame.
        let (ready, running) = (self.snap.ready, self.snap.running);
        if self.snap.cpu_only {
            if !self.cpu_noticed {
                // Said once; from now on the sweep measures the CPU engine.
                self.cpu_noticed = true;
                (self.form.gpu, self.form.cpu) = (false, true);
                platform::publish_notice(&self.cpu_notice());
            }
        } else if let Some(e) = &self.snap.gpu_error {
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
        if let Some(r) = self.snap.report.clone() {
            self.published = true;
            let error = self.snap.sweep_error.clone();
            let mut r = (*r).clone();
            if cfg!(target_arch = "wasm32") {
                r.page_load = Some(self.page_load);
            }
            if let Err(e) = platform::publish_results(&r.to_json(), self.launch.results.as_deref())
            {
                self.say(e);
            }
            platform::publish_share_link(&overlay::share_link(&platform::page_url(), &r));
            if let Some(t) = &r.tuning {
                let mut line = paraformer::bench::kernels::tuning_line(t);
                for w in &t.warnings {
                    line.push_str(&format!("; warning: {w}"));
                }
                self.say(line);
            }
            if let Some(e) = error {
                platform::publish_error(&e);
            }
            if self.launch.exit {
                // The finished plot stays on screen a moment (for a look or a screenshot).
                self.close_at = Some(web_time::Instant::now() + CLOSE_DELAY);
            }
        } else if let Some(e) = self.snap.sweep_error.clone() {
            // The sweep failed before its first point (e.g. an engine the device cannot
            // create): there is no report, but the page and `exit` still hear of it.
            self.published = true;
            platform::publish_error(&e);
            if self.launch.exit {
                self.close_at = Some(web_time::Instant::now() + CLOSE_DELAY);
            }
        }
    }
}

impl App {
    /// The title, the tab bar and the clock toggle; wrapped, so that every tab stays
    /// reachable on a narrow window.
    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Para-Former: latency against depth, serial vs parallel");
            ui.separator();
            for tab in Tab::ALL {
                ui.selectable_value(&mut self.tab, tab, tab.label());
            }
            ui.separator();
            ui.add_enabled_ui(self.snap.has_gpu_clock, |ui| {
                ui.checkbox(&mut self.gpu_clock, "GPU timestamps").on_hover_text(
                    "plot device timestamps of the compute pass instead of the wall clock (submit until logits are read back)",
                );
            });
        });
    }

    /// The sweep's progress, its error, the last message.
    fn status_bar(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if let Some(p) = self.snap.progress.filter(|_| self.snap.running) {
                let (fraction, text) = match p.tuning {
                    Some(t) => (
                        t.done as f32 / t.total.max(1) as f32,
                        format!("tuning kernels {}/{}", t.done, t.total),
                    ),
                    None => (
                        p.done as f32 / p.total.max(1) as f32,
                        format!(
                            "{} {} L={}  {}/{}",
                            p.backend.name(),
                            p.mode.name(),
                            p.depth,
                            p.done,
                            p.total
                        ),
                    ),
                };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(300.0)
                        .text(text),
                );
            }
            if let Some(e) = &self.snap.sweep_error {
                ui.colored_label(ui.visuals().warn_fg_color, format!("sweep: {e}"));
            }
            if let Some(s) = self.status.0.lock().expect("status lock").as_ref() {
                ui.label(s);
            }
        });
    }

    /// What a person without a GPU adapter is told: why, how to get one, and that the CPU
    /// engine runs every view meanwhile.
    fn cpu_notice(&self) -> String {
        let why = self
            .snap
            .gpu_error
            .as_deref()
            .unwrap_or("no GPU adapter found");
        format!("No GPU engine here: every view runs on the CPU engine ({CPU_ENGINE}). Why: {why}")
    }

    /// The open tab's view.
    fn central(&mut self, ui: &mut egui::Ui) {
        if self.snap.cpu_only {
            ui.colored_label(ui.visuals().warn_fg_color, self.cpu_notice());
            ui.separator();
        } else if let Some(e) = &self.snap.gpu_error {
            ui.heading("No usable GPU");
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
        let tab = self.tab;
        let (views, mut cx) = self.split();
        views.get(tab).ui(ui, &mut cx);
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
                self.views.classify = views::classify::Classify::new(w.config.branches);
                self.views.accuracy = views::accuracy::Accuracy::new(set.len());
            }
            self.say(msg);
        }
        self.snap = self.worker.snapshot();
        self.autorun_and_publish(&ctx);
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("settings")
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side_panel(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| self.central(ui));
        // No frames on a timer: the worker asks for one whenever its state changes, and a
        // sweep, the live loop, Classify and the accuracy rounds wait for the window's drawing
        // to finish before they time a run (see `worker::Ctx::wait_for_window`).
    }
}
