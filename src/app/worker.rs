//! Runs GPU work away from the UI: natively on a worker thread, in the browser as async
//! tasks on the page's event loop. The UI sends jobs and reads `Shared`; it never
//! touches a wgpu object. The jobs themselves are in `worker/jobs.rs`.

mod jobs;
mod shared;

use jobs::{open_gpu, run_job};
use shared::SweepState;
pub use shared::{AccuracyRow, AccuracyState, Shared, Snapshot};

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
#[cfg(target_arch = "wasm32")]
use std::{cell::RefCell, rc::Rc};

use paraformer::Error;
use paraformer::bench::{self, Backend, Outcome, Runner, Settings, Stats};
use paraformer::data::{self, TestSet};
use paraformer::engine::choice::Forced;
use paraformer::engine::{EngineOptions, Gpu, Precision};
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
    /// GPU vs CPU reference in both modes on the model's first `branches` branches, with
    /// `forced` kernel variants.
    Check {
        weights: Arc<Weights>,
        branches: usize,
        forced: Forced,
        precision: Precision,
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

/// Handle the UI keeps.
pub struct Worker {
    /// Read by the UI only through `snapshot`, once a frame.
    shared: Arc<Mutex<Shared>>,
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
    gpu: Rc<RefCell<Option<Gpu>>>,
    /// Jobs waiting for the page's one job task, and whether that task runs.
    #[cfg(target_arch = "wasm32")]
    queue: Rc<RefCell<std::collections::VecDeque<Job>>>,
    #[cfg(target_arch = "wasm32")]
    draining: Rc<std::cell::Cell<bool>>,
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
                queue: Default::default(),
                draining: Default::default(),
            };
            let (ctx, slot) = (worker.task_ctx(), worker.gpu.clone());
            wasm_bindgen_futures::spawn_local(async move {
                *slot.borrow_mut() = open_gpu(&ctx).await;
            });
            worker
        }
    }

    /// The state a frame draws, under one lock (cheap: the points and the report are
    /// shared, the rest is small).
    pub fn snapshot(&self) -> Snapshot {
        let s = self.shared.lock().expect("worker state");
        Snapshot {
            ready: s.adapter.is_some() || s.cpu_only,
            gpu_error: s.gpu_error.clone(),
            cpu_only: s.cpu_only,
            has_gpu_clock: s.adapter.as_ref().is_some_and(|a| a.timestamps),
            running: s.sweep.running,
            progress: s.sweep.progress,
            sweep_error: s.sweep.error.clone(),
            points: s.sweep.points.clone(),
            report: s.sweep.report.clone(),
            adapter: s.adapter.clone(),
            check: s.check.clone(),
            checking: s.checking,
            live: s.live.clone(),
            classify: s.classify.clone(),
            accuracy: s.accuracy.clone(),
        }
    }

    /// Stops the running job (a sweep or the accuracy scoring) at its next check.
    pub fn cancel_job(&self) {
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

    /// Queues `job`: natively for the worker thread, in the browser as a task of the page.
    /// A sweep, the accuracy scoring or a new live loop stop the running live loop.
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
        if matches!(job, Job::Sweep { .. }) {
            // Running from now on, as the worker will say when it starts: a frame drawn
            // before that must not take the last sweep's report or error for this one's.
            self.shared.lock().expect("worker state lock").sweep = SweepState {
                running: true,
                ..Default::default()
            };
        }
        self.dispatch(job);
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn dispatch(&self, job: Job) {
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

    /// Queues `job` for the page's one job task, starting it when idle. One task runs the
    /// jobs in order: two at once would interleave their error scopes on the one device,
    /// which wgpu requires popped in reverse order.
    #[cfg(target_arch = "wasm32")]
    fn dispatch(&self, job: Job) {
        self.queue.borrow_mut().push_back(job);
        if self.draining.replace(true) {
            return;
        }
        let (ctx, slot) = (self.task_ctx(), self.gpu.clone());
        let (queue, draining) = (self.queue.clone(), self.draining.clone());
        wasm_bindgen_futures::spawn_local(async move {
            // A live loop that another job interrupted resumes after it, unless stopped.
            let mut paused_live: Option<(u64, Job)> = None;
            loop {
                let next = queue.borrow_mut().pop_front();
                let Some(job) = next.or_else(|| resume(&mut paused_live, &ctx)) else {
                    break;
                };
                let Some(gpu) = page_gpu(&ctx, &slot).await else {
                    ctx.update(|s| s.classify.busy = false);
                    continue;
                };
                let interrupted = || !queue.borrow().is_empty();
                if let Some(live) = run_job(gpu.as_ref(), &ctx, job, &interrupted).await {
                    paused_live = Some((ctx.live_generation.load(Ordering::Relaxed), live));
                }
            }
            draining.set(false);
        });
    }
}

/// The page's device for the next job: a lost one (driver reset, out of memory) is replaced
/// first; `Some(None)` when there is none and the CPU engine runs the jobs; None, with the
/// reason shown, while the adapter is still being opened.
#[cfg(target_arch = "wasm32")]
async fn page_gpu(ctx: &Ctx, slot: &Rc<RefCell<Option<Gpu>>>) -> Option<Option<Gpu>> {
    let lost = slot.borrow().as_ref().is_some_and(|g| g.lost().is_some());
    if lost {
        *slot.borrow_mut() = None;
        ctx.update(|s| s.gpu_error = Some("the GPU device was lost; opening a new one".into()));
        *slot.borrow_mut() = open_gpu(ctx).await;
    }
    let gpu = slot.borrow().clone();
    let cpu_only = ctx.shared.lock().expect("worker state lock").cpu_only;
    if gpu.is_none() && !cpu_only {
        ctx.update(|s| {
            if s.gpu_error.is_none() {
                s.gpu_error = Some("the GPU is not ready yet: try again in a moment".into());
            }
        });
        return None;
    }
    Some(gpu)
}

/// The live loop paused for another job, unless it was stopped meanwhile.
fn resume(paused: &mut Option<(u64, Job)>, ctx: &Ctx) -> Option<Job> {
    paused
        .take()
        .filter(|(g, _)| ctx.live_generation.load(Ordering::Relaxed) == *g)
        .map(|(_, j)| j)
}

#[cfg(not(target_arch = "wasm32"))]
fn native_loop(ctx: Ctx, rx: std::sync::mpsc::Receiver<Job>) {
    // None: no adapter, and the CPU engine runs every job.
    let mut gpu = pollster::block_on(open_gpu(&ctx));
    // A job that arrived while the live loop ran: it goes first, then the live loop resumes
    // unless it was stopped meanwhile.
    let next = std::cell::RefCell::new(None);
    let mut paused_live: Option<(u64, Job)> = None;
    let interrupted = || match rx.try_recv() {
        Ok(j) => {
            *next.borrow_mut() = Some(j);
            true
        }
        Err(_) => false,
    };
    loop {
        let queued = next.borrow_mut().take();
        let job = match queued.or_else(|| resume(&mut paused_live, &ctx)) {
            Some(j) => j,
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
        };
        // A lost device (driver reset, out of memory) is replaced by a new one before the job.
        if gpu.as_ref().is_some_and(|g| g.lost().is_some()) {
            gpu = pollster::block_on(open_gpu(&ctx));
        }
        if let Some(live) = pollster::block_on(run_job(gpu.as_ref(), &ctx, job, &interrupted)) {
            paused_live = Some((ctx.live_generation.load(Ordering::Relaxed), live));
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
