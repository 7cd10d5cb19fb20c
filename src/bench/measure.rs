//! One point of a sweep: a cold run, warm-up, then counted samples on one engine, with
//! progress as it goes and a flag that cancels it.

use std::sync::atomic::{AtomicBool, Ordering};

use web_time::Instant;

use super::backend::{Backend, Runner};
use super::report::Point;
use super::settings::Settings;
use crate::Error;
use crate::engine::tune::TuneProgress;
use crate::model::Mode;
use crate::stats::{Stats, runs_to_cover};

/// Where a sweep is: `done` of `total` inferences (warm-up, cold and counted).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub backend: Backend,
    pub mode: Mode,
    pub depth: usize,
    /// Before the first point, while the kernels are tuned: keys done of all.
    pub tuning: Option<TuneProgress>,
}

pub(super) fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// One point: cold run, warm-up, then counted samples. None when cancelled.
pub(super) async fn measure(
    engine: &mut Runner,
    settings: &Settings,
    (mode, depth): (Mode, usize),
    images: &[f32],
    cancel: &AtomicBool,
    progress: &mut Progress,
    on_progress: &mut impl FnMut(&Progress),
) -> Result<Option<Point>, Error> {
    let backend = engine.backend();
    let branches = depth / settings.config.depth;
    engine.settle().await?;
    let t = Instant::now();
    let stats = engine.prepare(mode, branches)?;
    engine.run(mode, branches, images).await?;
    let cold_ms = ms(t);
    // Runs per timed sample: 1 unless a run is shorter than the runner's shortest sample.
    let runs = if engine.min_sample_ms() > 0.0 {
        // Timed over back-to-back runs covering the shortest sample, not one run: right
        // after the cold run a single run can take twice the steady time, and grouping by it
        // gave samples shorter than asked.
        let (t, mut n) = (Instant::now(), 0usize);
        while n == 0 || (n < 1000 && ms(t) < engine.min_sample_ms()) {
            engine.run(mode, branches, images).await?;
            n += 1;
        }
        runs_to_cover(engine.min_sample_ms(), ms(t), n, 1000)
    } else {
        1
    };
    let mut wall = Vec::with_capacity(settings.samples);
    let mut gpu = Vec::with_capacity(settings.samples);
    for i in 0..settings.warmup + settings.samples {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        progress.done += 1;
        on_progress(progress);
        // Nothing else (a page's drawing, say) may still be running on the device.
        engine.wait_idle().await?;
        let t = Instant::now();
        let mut out = engine.run(mode, branches, images).await?;
        for _ in 1..runs {
            out = engine.run(mode, branches, images).await?;
        }
        let elapsed = ms(t) / runs as f64;
        if i >= settings.warmup {
            wall.push(elapsed);
            if let Some(ns) = out.gpu_ns {
                gpu.push(ns / 1e6);
            }
        }
    }
    progress.done += 1;
    on_progress(progress);
    let wall_stats = Stats::of(&wall).expect("samples >= 1");
    let gpu_stats = Stats::of(&gpu);
    Ok(Some(Point {
        backend,
        precision: engine.precision(),
        mode,
        depth,
        branches,
        flops: stats.flops,
        dispatches: stats.dispatches,
        critical_path: stats.critical_path,
        cold_ms,
        runs_per_sample: runs,
        gflops_wall: stats.flops / (wall_stats.median_ms * 1e6),
        gflops_gpu: gpu_stats
            .as_ref()
            .map(|g| stats.flops / (g.median_ms * 1e6)),
        wall: wall_stats,
        wall_samples_ms: wall,
        gpu: gpu_stats,
        gpu_samples_ms: (!gpu.is_empty()).then_some(gpu),
    }))
}
