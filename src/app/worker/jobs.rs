//! The worker's jobs, one async function each, the same code natively (blocked on the
//! worker thread) and in the browser (tasks on the page's event loop).

use super::*;

/// The GPU adapter; without one (`gpu_error` says why and how to get one) every job runs on
/// the CPU engine from then on.
pub(super) async fn open_gpu(ctx: &Ctx) -> Option<Gpu> {
    match Gpu::new().await {
        Ok(g) => {
            ctx.update(|s| {
                s.adapter = Some(g.summary.clone());
                s.gpu_error = None;
                s.cpu_only = false;
            });
            Some(g)
        }
        Err(e) => {
            ctx.update(|s| {
                // The message alone: the views say it is about the GPU.
                s.gpu_error = Some(e.message().to_string());
                s.cpu_only = true;
            });
            None
        }
    }
}

/// The engine of a job: the GPU's when an adapter is open, else the CPU engine.
async fn open_engine(
    gpu: Option<&Gpu>,
    weights: &Weights,
    options: EngineOptions,
) -> Result<Runner, Error> {
    let backend = if gpu.is_some() {
        Backend::Gpu
    } else {
        Backend::Cpu
    };
    Runner::open(backend, gpu, weights, options).await
}

async fn run_sweep(gpu: Option<&Gpu>, ctx: &Ctx, mut settings: Settings, weights: &Weights) {
    if gpu.is_none() {
        // No adapter: the engines that need none measure (the CPU engine at least).
        settings.backends.retain(|b| !b.needs_gpu());
        if settings.backends.is_empty() {
            settings.backends.push(Backend::Cpu);
        }
    }
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
        |p| ctx.update_and_redraw(|s| Arc::make_mut(&mut s.sweep.points).push(p.clone())),
    )
    .await;
    ctx.update(|s| {
        s.sweep.running = false;
        match result {
            Ok(r) => {
                s.sweep.error = r.outcome().error();
                s.sweep.report = Some(Arc::new(r));
            }
            Err(e) => s.sweep.error = Some(e.to_string()),
        }
    });
}

async fn live_step(engine: &mut Runner, ctx: &Ctx, image: &[f32]) -> Result<(), Error> {
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

/// The job's engine (the GPU's, or without an adapter the CPU engine) against the f32
/// reference in both modes, with `forced` kernel variants stored at `precision`: the largest
/// absolute error of the logits and their largest magnitude, also handed to the page
/// (`window.paraformerCheck`, which the browser test reads for every variant).
async fn run_check(
    gpu: Option<&Gpu>,
    ctx: &Ctx,
    weights: &Weights,
    branches: usize,
    forced: Forced,
    precision: Precision,
) {
    ctx.update(|s| s.checking = true);
    let image = seeded_image(&weights.config, 1);
    let result = async {
        let options = EngineOptions {
            forced,
            precision,
            ..Default::default()
        };
        let mut engine = open_engine(gpu, weights, options).await?;
        let prefix = weights.branch_prefix(branches);
        let (mut err, mut scale) = (0.0f32, 0.0f32);
        for mode in Mode::ALL {
            let got = engine.run(mode, branches, &image).await?.logits;
            let want = reference_logits(&prefix, &image, mode).await;
            let (e, s) = bench::precision::max_abs_error(&got, &want);
            (err, scale) = (err.max(e), scale.max(s));
        }
        let mut kernels = Vec::new();
        for mode in Mode::ALL {
            engine.record_kernels(mode, branches, &mut kernels);
        }
        Ok::<_, Error>((err, scale, kernels, engine.precision()))
    }
    .await
    .map(|(err, scale, kernels, precision)| {
        crate::app::platform::publish_check(err, scale, &kernels, precision);
        (err, scale)
    })
    .map_err(|e| e.to_string());
    ctx.update(|s| {
        s.check = Some(result);
        s.checking = false;
    });
}

thread_local! {
    /// The engine of the last classified model (keyed by its weights' address), kept so that
    /// every stroke is a warm single inference, not an upload.
    static CLASSIFIER: std::cell::RefCell<Option<(usize, Runner)>> =
        const { std::cell::RefCell::new(None) };
}

async fn run_classify(
    gpu: Option<&Gpu>,
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
            // An engine of the backend this job would open (the GPU's, unless none is open).
            Some((k0, e))
                if k0 == key && !e.is_lost() && gpu.is_some() == e.backend().needs_gpu() =>
            {
                (e, false)
            }
            _ => (
                open_engine(gpu, weights, EngineOptions::default()).await?,
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
pub(super) const LATENCY_ROUNDS: usize = 15;

async fn run_accuracy(
    gpu: Option<&Gpu>,
    ctx: &Ctx,
    weights: &Weights,
    set: &TestSet,
    images: usize,
) {
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
        let mut engine = open_engine(gpu, weights, options).await?;
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
        let mut single = open_engine(gpu, weights, EngineOptions::default()).await?;
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

/// `reference::forward`, a branch (parallel) or a block (serial) at a time; in the browser
/// it yields between them so the page keeps drawing.
async fn reference_logits(w: &Weights, image: &[f32], mode: Mode) -> Vec<f32> {
    let c = &w.config;
    let x0 = reference::patch_embed(c, image, w);
    let outputs = match mode {
        Mode::Parallel => {
            let mut outputs = Vec::with_capacity(c.branches);
            for k in 0..c.branches {
                outputs.push(reference::branch(w, &x0, k));
                browser_pause(0).await;
            }
            outputs
        }
        Mode::Serial => {
            let mut h = x0;
            for b in &w.blocks {
                h = reference::block(c, &h, b);
                browser_pause(0).await;
            }
            vec![h]
        }
    };
    reference::head(c, &reference::branch_sum(c, &outputs), w)
}

/// Runs one job on `gpu` (None: on the CPU engine), the same code for both targets: natively blocked on the worker
/// thread, in the browser spawned on the page's event loop. A live loop runs until stopped,
/// or until `interrupted` says another job waits: then it is handed back to resume later.
pub(super) async fn run_job(
    gpu: Option<&Gpu>,
    ctx: &Ctx,
    job: Job,
    interrupted: &dyn Fn() -> bool,
) -> Option<Job> {
    match job {
        Job::Sweep { settings, weights } => run_sweep(gpu, ctx, *settings, &weights).await,
        Job::Check {
            precision,
            weights,
            branches,
            forced,
        } => run_check(gpu, ctx, &weights, branches, forced, precision).await,
        Job::Classify {
            weights,
            image,
            mode,
            branches,
        } => run_classify(gpu, ctx, &weights, &image, mode, branches).await,
        Job::Accuracy {
            weights,
            set,
            images,
        } => run_accuracy(gpu, ctx, &weights, &set, images).await,
        Job::Live { weights } => return run_live(gpu, ctx, weights, interrupted).await,
    }
    None
}

/// Inference in a loop on one engine until the live generation changes (stopped) or
/// another job waits (the job is returned, to resume).
async fn run_live(
    gpu: Option<&Gpu>,
    ctx: &Ctx,
    weights: Arc<Weights>,
    interrupted: &dyn Fn() -> bool,
) -> Option<Job> {
    let generation = ctx.live_generation.load(Ordering::Relaxed);
    let mut engine = match open_engine(gpu, &weights, EngineOptions::default()).await {
        Ok(e) => e,
        Err(e) => {
            ctx.update(|s| s.live.error = Some(e.to_string()));
            return None;
        }
    };
    let image = seeded_image(&weights.config, 1);
    while ctx.live_generation.load(Ordering::Relaxed) == generation {
        if interrupted() {
            return Some(Job::Live { weights });
        }
        if let Err(e) = live_step(&mut engine, ctx, &image).await {
            ctx.update(|s| s.live.error = Some(e.to_string()));
            return None;
        }
        browser_pause(0).await;
    }
    None
}
