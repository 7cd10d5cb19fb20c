//! Runs GPU work away from the UI: natively on a worker thread, in the browser as async
//! tasks on the page's event loop. The UI sends jobs and reads `Shared`; it never
//! touches a wgpu object.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use paraformer::Error;
use paraformer::bench::{self, Outcome, Point, Progress, Report, Settings, Stats};
use paraformer::data::{self, TestSet};
use paraformer::engine::{AdapterSummary, Engine, EngineOptions, Gpu};
use paraformer::model::{Mode, Weights, seeded_image};
use paraformer::platform::browser_pause;
use paraformer::reference;

#[cfg(not(target_arch = "wasm32"))]
pub use super::window::Renderer;
/// In the browser the page's drawing shares the engine's queue: nothing to hold.
#[cfg(target_arch = "wasm32")]
pub struct Renderer;

/// Work the UI asks for.
pub enum Job {
    Sweep {
        settings: Box<Settings>,
        weights: Arc<Weights>,
    },
    /// Inference in a loop until stopped or replaced; mode and branches are read from
    /// `Worker::set_live` before every run, so dragging a slider needs no new engine.
    Live { weights: Arc<Weights> },
    /// GPU vs CPU reference on the model's first `branches` branches.
    Check {
        weights: Arc<Weights>,
        branches: usize,
    },
    /// Class probabilities of one image (normalised [C, H, W]).
    Classify {
        weights: Arc<Weights>,
        image: Vec<f32>,
        mode: Mode,
        branches: usize,
    },
    /// Accuracy on the first `images` of `set` with branches 0..k for every k, and the
    /// single-image latency with k branches.
    Accuracy {
        weights: Arc<Weights>,
        set: Arc<TestSet>,
        images: usize,
    },
}

#[derive(Default)]
pub struct ClassifyState {
    pub busy: bool,
    /// Probabilities, the mode and branches they came from, and the wall-clock latency (ms).
    pub result: Option<(Vec<f32>, Mode, usize, f64)>,
    pub error: Option<String>,
}

/// One row of the accuracy-vs-branches table.
#[derive(Clone, Debug)]
pub struct AccuracyRow {
    pub branches: usize,
    pub accuracy: f64,
    pub correct: usize,
    pub total: usize,
    /// Single-image latency with these branches, parallel mode (wall clock); filled in
    /// round by round after every k is scored.
    pub latency: Option<Stats>,
}

#[derive(Default)]
pub struct AccuracyState {
    pub running: bool,
    /// Images scored so far, of `total` (all prefixes).
    pub done: usize,
    pub total: usize,
    pub rows: Vec<AccuracyRow>,
    /// While timing: (rounds done, rounds).
    pub timing: Option<(usize, usize)>,
    pub error: Option<String>,
}

#[derive(Default)]
pub struct SweepState {
    pub running: bool,
    pub progress: Option<Progress>,
    pub points: Vec<Point>,
    pub report: Option<Report>,
    pub error: Option<String>,
}

#[derive(Default)]
pub struct LiveState {
    /// Recent wall-clock latencies (ms), newest last.
    pub recent_ms: Vec<f64>,
    pub gpu_ms: Option<f64>,
    pub flops: f64,
    pub dispatches: usize,
    pub error: Option<String>,
}

#[derive(Default)]
pub struct Shared {
    pub adapter: Option<AdapterSummary>,
    pub gpu_error: Option<String>,
    pub sweep: SweepState,
    pub live: LiveState,
    /// Max abs error of GPU vs CPU logits, and the logits' scale, or the failure.
    pub check: Option<Result<(f32, f32), String>>,
    pub checking: bool,
    pub classify: ClassifyState,
    pub accuracy: AccuracyState,
}

/// Handle the UI keeps.
pub struct Worker {
    pub shared: Arc<Mutex<Shared>>,
    cancel: Arc<AtomicBool>,
    /// Bumped to stop the live loop (a new live job or `stop_live`).
    live_generation: Arc<AtomicU64>,
    live: Arc<LiveControl>,
    #[cfg(not(target_arch = "wasm32"))]
    tx: std::sync::mpsc::Sender<Job>,
    /// Joined when the worker is dropped (see `Drop`).
    #[cfg(not(target_arch = "wasm32"))]
    thread: Option<std::thread::JoinHandle<()>>,
    #[cfg(target_arch = "wasm32")]
    ctx: egui::Context,
    #[cfg(target_arch = "wasm32")]
    gpu: std::rc::Rc<std::cell::RefCell<Option<Gpu>>>,
}

const LIVE_WINDOW: usize = 50;

/// What the live loop runs next: 0 serial, 1 parallel; branches of the model.
#[derive(Default)]
struct LiveControl {
    parallel: AtomicBool,
    branches: AtomicUsize,
}

impl LiveControl {
    fn get(&self) -> (Mode, usize) {
        let mode = if self.parallel.load(Ordering::Relaxed) {
            Mode::Parallel
        } else {
            Mode::Serial
        };
        (mode, self.branches.load(Ordering::Relaxed).max(1))
    }
}

struct Ctx {
    shared: Arc<Mutex<Shared>>,
    cancel: Arc<AtomicBool>,
    live_generation: Arc<AtomicU64>,
    live: Arc<LiveControl>,
    repaint: egui::Context,
    /// The window's renderer (natively), whose drawing must be over before a timed run.
    #[cfg(not(target_arch = "wasm32"))]
    renderer: Option<Renderer>,
}

impl Ctx {
    fn update(&self, f: impl FnOnce(&mut Shared)) {
        f(&mut self.shared.lock().expect("worker state lock"));
        self.repaint.request_repaint();
    }

    /// Progress inside a measurement, shown at the next redraw without asking for one: the
    /// window's drawing competes with the runs being timed (in the browser on the very same
    /// GPU queue, on a CPU adapter for the same cores), so a sweep redraws between points.
    fn update_quietly(&self, f: impl FnOnce(&mut Shared)) {
        f(&mut self.shared.lock().expect("worker state lock"));
    }

    /// Between timed runs: shows the new state and waits until the window has drawn it, so
    /// that no drawing overlaps the next timed run. In the browser `Engine::settle` does the
    /// waiting (the page draws on the same GPU queue).
    fn update_and_redraw(&self, f: impl FnOnce(&mut Shared)) {
        let drawn = self.drawn();
        self.update(f);
        #[cfg(not(target_arch = "wasm32"))]
        self.wait_for_window(drawn);
        #[cfg(target_arch = "wasm32")]
        let _ = drawn;
    }

    /// Frames drawn so far (painted, when the window's renderer is known).
    fn drawn(&self) -> u64 {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(r) = &self.renderer {
            return r.painted();
        }
        self.repaint.cumulative_frame_nr()
    }

    /// Waits (natively) until a frame after `drawn` is done, see
    /// [`Renderer::wait_until_drawn`] (at most 1 s: a hidden window draws nothing). Without
    /// a known renderer (tests), until a frame's layout is done and no other has followed for
    /// 40 ms, at most 300 ms.
    #[cfg(not(target_arch = "wasm32"))]
    fn wait_for_window(&self, drawn: u64) {
        use std::time::Duration;
        match &self.renderer {
            Some(r) => r.wait_until_drawn(drawn, Duration::from_secs(1)),
            None => super::window::wait_until_quiet(
                || self.repaint.cumulative_frame_nr(),
                drawn,
                Duration::from_millis(40),
                Duration::from_millis(300),
            ),
        }
    }
}

async fn open_gpu(ctx: &Ctx) -> Option<Gpu> {
    match Gpu::new().await {
        Ok(g) => {
            ctx.update(|s| {
                s.adapter = Some(g.summary.clone());
                s.gpu_error = None;
            });
            Some(g)
        }
        Err(e) => {
            ctx.update(|s| s.gpu_error = Some(e.to_string()));
            None
        }
    }
}

async fn run_sweep(gpu: &Gpu, ctx: &Ctx, settings: Settings, weights: &Weights) {
    ctx.cancel.store(false, Ordering::Relaxed);
    ctx.update(|s| {
        s.sweep = SweepState {
            running: true,
            ..Default::default()
        }
    });
    let result = bench::sweep_weights(
        gpu,
        &settings,
        weights,
        &ctx.cancel,
        |p| ctx.update_quietly(|s| s.sweep.progress = Some(*p)),
        |p| ctx.update_and_redraw(|s| s.sweep.points.push(p.clone())),
    )
    .await;
    ctx.update(|s| {
        s.sweep.running = false;
        match result {
            Ok(r) => {
                s.sweep.error = r.outcome().error();
                s.sweep.report = Some(r);
            }
            Err(e) => s.sweep.error = Some(e.to_string()),
        }
    });
}

async fn live_step(engine: &mut Engine, ctx: &Ctx, image: &[f32]) -> Result<(), Error> {
    let (mode, branches) = ctx.live.get();
    let branches = branches.min(engine.config().branches);
    let stats = engine.prepare(mode, branches)?;
    // The previous step's repaint draws first (in the browser on this very queue).
    engine.settle().await?;
    let t = web_time::Instant::now();
    let out = engine.run(mode, branches, image).await?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    // Drawn before the next step is timed.
    ctx.update_and_redraw(|s| {
        let l = &mut s.live;
        l.recent_ms.push(ms);
        if l.recent_ms.len() > LIVE_WINDOW {
            l.recent_ms.remove(0);
        }
        l.gpu_ms = out.gpu_ns.map(|ns| ns / 1e6);
        (l.flops, l.dispatches, l.error) = (stats.flops, stats.critical_path, None);
    });
    Ok(())
}

async fn run_check(gpu: &Gpu, ctx: &Ctx, weights: &Weights, branches: usize) {
    ctx.update(|s| s.checking = true);
    let image = seeded_image(&weights.config, 1);
    let result = async {
        let mut engine = Engine::new(gpu, weights, EngineOptions::default()).await?;
        let got = engine.run(Mode::Parallel, branches, &image).await?.logits;
        let want = reference_logits(&weights.branch_prefix(branches), &image).await;
        let err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        Ok::<_, Error>((err, scale))
    }
    .await
    .map_err(|e| e.to_string());
    ctx.update(|s| {
        s.check = Some(result);
        s.checking = false;
    });
}

thread_local! {
    /// The engine of the last classified model (keyed by its weights' address), kept so that
    /// every stroke is a warm single inference, not an upload.
    static CLASSIFIER: std::cell::RefCell<Option<(usize, Engine)>> =
        const { std::cell::RefCell::new(None) };
}

async fn run_classify(
    gpu: &Gpu,
    ctx: &Ctx,
    weights: &Arc<Weights>,
    image: &[f32],
    mode: Mode,
    k: usize,
) {
    let key = Arc::as_ptr(weights) as usize;
    let result = async {
        // Taken out while in use (no borrow across an await); put back afterwards.
        let cached = CLASSIFIER.with(|c| c.borrow_mut().take());
        let (mut engine, cold) = match cached {
            Some((k0, e)) if k0 == key && e.gpu().lost().is_none() => (e, false),
            _ => (
                Engine::new(gpu, weights, EngineOptions::default()).await?,
                true,
            ),
        };
        if cold {
            // The first run of a new engine is cold (first use of its buffers); not timed.
            engine.run(mode, k, image).await?;
        }
        engine.prepare(mode, k)?;
        // The frame that sent this job may still be drawing.
        #[cfg(not(target_arch = "wasm32"))]
        ctx.wait_for_window(ctx.drawn().saturating_sub(1));
        #[cfg(target_arch = "wasm32")]
        engine.settle().await?;
        let t = web_time::Instant::now();
        let logits = engine.run(mode, k, image).await?.logits;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        CLASSIFIER.with(|c| *c.borrow_mut() = Some((key, engine)));
        Ok::<_, Error>((data::softmax(&logits), ms))
    }
    .await;
    ctx.update(|s| {
        s.classify.busy = false;
        match result {
            Ok((p, ms)) => {
                s.classify.result = Some((p, mode, k, ms));
                s.classify.error = None;
            }
            Err(e) => s.classify.error = Some(e.to_string()),
        }
    });
}

/// Rounds of single-image runs over every k for the accuracy view's latency.
const LATENCY_ROUNDS: usize = 15;

async fn run_accuracy(gpu: &Gpu, ctx: &Ctx, weights: &Weights, set: &TestSet, images: usize) {
    ctx.cancel.store(false, Ordering::Relaxed);
    let mut subset = set.clone();
    let n = images.clamp(1, set.len());
    subset.pixels.truncate(n * weights.config.image_len());
    subset.labels.truncate(n);
    let branches = weights.config.branches;
    ctx.update(|s| {
        s.accuracy = AccuracyState {
            running: true,
            total: n * branches,
            ..Default::default()
        }
    });
    let result = async {
        let batch = 100.min(n);
        let options = EngineOptions {
            batch,
            ..Default::default()
        };
        let mut engine = Engine::new(gpu, weights, options).await?;
        for k in 1..=branches {
            let base = (k - 1) * n;
            let logits = bench::accuracy::logits(&mut engine, &subset, Mode::Parallel, k, |done| {
                ctx.update(|s| s.accuracy.done = base + done);
                !ctx.cancel.load(Ordering::Relaxed)
            })
            .await?;
            let Some(logits) = logits else {
                return Ok(Outcome::Cancelled);
            };
            let score = data::score(&logits, weights.config.num_classes, &subset.labels);
            let row = AccuracyRow {
                branches: k,
                accuracy: score.accuracy,
                correct: score.correct,
                total: score.total,
                latency: None,
            };
            ctx.update(|s| s.accuracy.rows.push(row));
            browser_pause(0).await;
        }
        drop(engine);
        // Latency of one image for every k, timed in rounds over k so that a slow spell of
        // the machine hits every k alike; the window redraws between rounds, never while a
        // run is timed (it shares the CPU adapter's cores, or the browser's GPU queue).
        let mut single = Engine::new(gpu, weights, EngineOptions::default()).await?;
        let image = subset.image(0);
        for k in 1..=branches {
            single.run(Mode::Parallel, k, &image).await?;
        }
        let mut samples = vec![Vec::with_capacity(LATENCY_ROUNDS); branches];
        for round in 0..LATENCY_ROUNDS {
            let stats: Vec<Option<Stats>> = samples.iter().map(|s| Stats::of(s)).collect();
            ctx.update_and_redraw(|s| {
                s.accuracy.timing = Some((round, LATENCY_ROUNDS));
                for (row, st) in s.accuracy.rows.iter_mut().zip(stats) {
                    row.latency = st;
                }
            });
            single.settle().await?;
            if ctx.cancel.load(Ordering::Relaxed) {
                return Ok(Outcome::Cancelled);
            }
            for (k, times) in (1..=branches).zip(samples.iter_mut()) {
                let t = web_time::Instant::now();
                single.run(Mode::Parallel, k, &image).await?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        ctx.update(|s| {
            for (row, times) in s.accuracy.rows.iter_mut().zip(&samples) {
                row.latency = Stats::of(times);
            }
        });
        Ok::<_, Error>(Outcome::Complete)
    }
    .await;
    ctx.update(|s| {
        s.accuracy.running = false;
        s.accuracy.timing = None;
        s.accuracy.error = match result {
            Ok(outcome) => outcome.error(),
            Err(e) => Some(e.to_string()),
        };
    });
}

/// The CPU reference in parallel mode, one branch at a time; in the browser it yields
/// between branches so the page keeps drawing.
async fn reference_logits(w: &Weights, image: &[f32]) -> Vec<f32> {
    let c = &w.config;
    let x0 = reference::patch_embed(c, image, w);
    let mut outputs = Vec::with_capacity(c.branches);
    for k in 0..c.branches {
        outputs.push(reference::branch(w, &x0, k));
        browser_pause(0).await;
    }
    reference::head(c, &reference::branch_sum(c, &outputs), w)
}

/// Stops the running job and waits for the worker thread to end, so that its GPU objects
/// (and its share of the window's device) are released before the process exits: a thread
/// still inside the Vulkan driver while the process tears down can abort it.
#[cfg(not(target_arch = "wasm32"))]
impl Drop for Worker {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.stop_live();
        // Dropping the only sender ends the worker's wait for jobs.
        drop(std::mem::replace(
            &mut self.tx,
            std::sync::mpsc::channel().0,
        ));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Worker {
    /// `renderer`: the window's, if any (natively the worker waits for its drawing to end
    /// before timing a run; in the browser the page's queue is the engine's).
    pub fn new(repaint: egui::Context, renderer: Option<Renderer>) -> Worker {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let cancel = Arc::new(AtomicBool::new(false));
        let live_generation = Arc::new(AtomicU64::new(0));
        let live = Arc::new(LiveControl::default());
        #[cfg(not(target_arch = "wasm32"))]
        {
            let (tx, rx) = std::sync::mpsc::channel();
            let ctx = Ctx {
                shared: shared.clone(),
                cancel: cancel.clone(),
                live_generation: live_generation.clone(),
                live: live.clone(),
                repaint,
                renderer,
            };
            let thread = std::thread::Builder::new()
                .name("gpu worker".into())
                .spawn(move || native_loop(ctx, rx))
                .expect("spawn the GPU worker thread");
            Worker {
                shared,
                cancel,
                live_generation,
                live,
                tx,
                thread: Some(thread),
            }
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = renderer;
            let worker = Worker {
                shared,
                cancel,
                live_generation,
                live,
                ctx: repaint,
                gpu: Default::default(),
            };
            let (ctx, slot) = (worker.task_ctx(), worker.gpu.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(g) = open_gpu(&ctx).await {
                    *slot.borrow_mut() = Some(g);
                }
            });
            worker
        }
    }

    pub fn cancel_sweep(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn stop_live(&self) {
        self.live_generation.fetch_add(1, Ordering::Relaxed);
    }

    /// What the live loop runs from its next inference on.
    pub fn set_live(&self, mode: Mode, branches: usize) {
        self.live
            .parallel
            .store(mode == Mode::Parallel, Ordering::Relaxed);
        self.live.branches.store(branches, Ordering::Relaxed);
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn submit(&self, job: Job) {
        if matches!(
            job,
            Job::Live { .. } | Job::Sweep { .. } | Job::Accuracy { .. }
        ) {
            self.stop_live();
        }
        if matches!(job, Job::Classify { .. }) {
            self.shared.lock().expect("worker state lock").classify.busy = true;
        }
        // The worker thread only ends with the process.
        let _ = self.tx.send(job);
    }

    #[cfg(target_arch = "wasm32")]
    fn task_ctx(&self) -> Ctx {
        Ctx {
            shared: self.shared.clone(),
            cancel: self.cancel.clone(),
            live_generation: self.live_generation.clone(),
            live: self.live.clone(),
            repaint: self.ctx.clone(),
        }
    }

    #[cfg(target_arch = "wasm32")]
    pub fn submit(&self, job: Job) {
        if matches!(
            job,
            Job::Live { .. } | Job::Sweep { .. } | Job::Accuracy { .. }
        ) {
            self.stop_live();
        }
        if matches!(job, Job::Classify { .. }) {
            self.shared.lock().expect("worker state lock").classify.busy = true;
        }
        let ctx = self.task_ctx();
        // A lost device (driver reset, out of memory) is replaced by a new one before the job.
        if self
            .gpu
            .borrow()
            .as_ref()
            .is_some_and(|g| g.lost().is_some())
        {
            let slot = self.gpu.clone();
            *slot.borrow_mut() = None;
            ctx.update(|s| {
                s.classify.busy = false;
                s.gpu_error = Some(
                    "the GPU device was lost; a new one is being opened: run again in a moment"
                        .into(),
                )
            });
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(g) = open_gpu(&ctx).await {
                    *slot.borrow_mut() = Some(g);
                }
            });
            return;
        }
        let Some(gpu) = self.gpu.borrow().clone() else {
            ctx.update(|s| {
                s.classify.busy = false;
                if s.gpu_error.is_none() {
                    s.gpu_error = Some("the GPU is not ready yet: try again in a moment".into());
                }
            });
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            match job {
                Job::Sweep { settings, weights } => {
                    run_sweep(&gpu, &ctx, *settings, &weights).await
                }
                Job::Check { weights, branches } => run_check(&gpu, &ctx, &weights, branches).await,
                Job::Classify {
                    weights,
                    image,
                    mode,
                    branches,
                } => run_classify(&gpu, &ctx, &weights, &image, mode, branches).await,
                Job::Accuracy {
                    weights,
                    set,
                    images,
                } => run_accuracy(&gpu, &ctx, &weights, &set, images).await,
                Job::Live { weights } => {
                    let generation = ctx.live_generation.load(Ordering::Relaxed);
                    let mut engine =
                        match Engine::new(&gpu, &weights, EngineOptions::default()).await {
                            Ok(e) => e,
                            Err(e) => return ctx.update(|s| s.live.error = Some(e.to_string())),
                        };
                    let image = seeded_image(&weights.config, 1);
                    while ctx.live_generation.load(Ordering::Relaxed) == generation {
                        if let Err(e) = live_step(&mut engine, &ctx, &image).await {
                            return ctx.update(|s| s.live.error = Some(e.to_string()));
                        }
                        browser_pause(0).await;
                    }
                }
            }
        });
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn native_loop(ctx: Ctx, rx: std::sync::mpsc::Receiver<Job>) {
    let Some(mut gpu) = pollster::block_on(open_gpu(&ctx)) else {
        return;
    };
    let mut next = None;
    // A live loop interrupted by another job resumes after it, unless it was stopped.
    let mut paused_live: Option<(u64, Job)> = None;
    loop {
        let job = match next.take() {
            Some(j) => j,
            None => match paused_live.take() {
                Some((g, j)) if ctx.live_generation.load(Ordering::Relaxed) == g => j,
                _ => match rx.recv() {
                    Ok(j) => j,
                    Err(_) => return,
                },
            },
        };
        // A lost device (driver reset, out of memory) is replaced by a new one before the job.
        if gpu.lost().is_some() {
            match pollster::block_on(open_gpu(&ctx)) {
                Some(g) => gpu = g,
                None => continue,
            }
        }
        match job {
            Job::Sweep { settings, weights } => {
                pollster::block_on(run_sweep(&gpu, &ctx, *settings, &weights))
            }
            Job::Check { weights, branches } => {
                pollster::block_on(run_check(&gpu, &ctx, &weights, branches))
            }
            Job::Classify {
                weights,
                image,
                mode,
                branches,
            } => pollster::block_on(run_classify(&gpu, &ctx, &weights, &image, mode, branches)),
            Job::Accuracy {
                weights,
                set,
                images,
            } => pollster::block_on(run_accuracy(&gpu, &ctx, &weights, &set, images)),
            Job::Live { weights } => {
                let generation = ctx.live_generation.load(Ordering::Relaxed);
                let mut engine =
                    match pollster::block_on(Engine::new(&gpu, &weights, EngineOptions::default()))
                    {
                        Ok(e) => e,
                        Err(e) => {
                            ctx.update(|s| s.live.error = Some(e.to_string()));
                            continue;
                        }
                    };
                let image = seeded_image(&weights.config, 1);
                while ctx.live_generation.load(Ordering::Relaxed) == generation {
                    if let Ok(j) = rx.try_recv() {
                        next = Some(j);
                        paused_live = Some((
                            generation,
                            Job::Live {
                                weights: weights.clone(),
                            },
                        ));
                        break;
                    }
                    if let Err(e) = pollster::block_on(live_step(&mut engine, &ctx, &image)) {
                        ctx.update(|s| s.live.error = Some(e.to_string()));
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// Dropping the worker (the window closing) cancels a running sweep and waits for the
    /// thread: afterwards the sweep has ended early, with the points measured so far.
    #[test]
    fn dropping_the_worker_stops_a_sweep_and_joins_its_thread() {
        let mut settings = Settings::new("mnist").unwrap();
        settings.depths = (1..=24).collect();
        settings.samples = 200;
        let weights = Arc::new(bench::seeded_weights(&settings));
        let worker = Worker::new(egui::Context::default(), None);
        let shared = worker.shared.clone();
        worker.submit(Job::Sweep {
            settings: Box::new(settings),
            weights,
        });
        let start = std::time::Instant::now();
        loop {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let s = shared.lock().unwrap();
            if let Some(e) = &s.gpu_error {
                panic!("no GPU for the test: {e}");
            }
            if !s.sweep.points.is_empty() {
                break;
            }
            assert!(start.elapsed().as_secs() < 300, "no point measured");
        }
        drop(worker);
        let s = shared.lock().unwrap();
        assert!(
            !s.sweep.running,
            "the sweep still runs after the worker is gone"
        );
        let report = s
            .sweep
            .report
            .as_ref()
            .expect("the sweep ended with a report");
        assert!(!report.complete);
        assert!(report.points.len() < 48, "cancelled before the end");
    }

    /// The accuracy view's job on the GPU: every prefix scored as the training tool scored
    /// it on the same images, then every prefix timed in rounds.
    #[test]
    fn accuracy_job_scores_every_prefix_and_times_it() {
        let weights = Arc::new(crate::assets::trained_mnist().unwrap());
        let set = Arc::new(crate::assets::mnist_test_set().unwrap());
        let images = 60;
        let worker = Worker::new(egui::Context::default(), None);
        worker.submit(Job::Accuracy {
            weights: weights.clone(),
            set: set.clone(),
            images,
        });
        let start = std::time::Instant::now();
        let (rows, error) = loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let s = worker.shared.lock().unwrap();
            if let Some(e) = &s.gpu_error {
                panic!("no GPU for the test: {e}");
            }
            if !s.accuracy.running && !s.accuracy.rows.is_empty() {
                break (s.accuracy.rows.clone(), s.accuracy.error.clone());
            }
            assert!(start.elapsed().as_secs() < 300, "the accuracy job hangs");
        };
        assert_eq!(error, None);
        let branches = weights.config.branches;
        assert_eq!(rows.len(), branches);
        let classes = weights.config.num_classes;
        for (k, row) in (1..=branches).zip(&rows) {
            let tool: Vec<f32> = (0..images)
                .flat_map(|i| set.expected(k, i).unwrap().to_vec())
                .collect();
            let want = data::score(&tool, classes, &set.labels[..images]);
            assert_eq!(
                (row.branches, row.correct, row.total),
                (k, want.correct, images),
                "k = {k}"
            );
            let latency = row.latency.as_ref().expect("every k is timed");
            assert_eq!(latency.n, LATENCY_ROUNDS);
            assert!(latency.p10_ms <= latency.median_ms && latency.median_ms <= latency.p90_ms);
        }
    }
}
