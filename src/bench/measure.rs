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
use crate::stats::Stats;

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

/// Runs grouped into one timed sample so that a sample lasts about `min_sample_ms`, from
/// `probe_runs` back-to-back runs that took `probe_ms`: at least 1, at most 1000.
fn runs_per_sample(min_sample_ms: f64, probe_ms: f64, probe_runs: usize) -> usize {
    let per_run = probe_ms / probe_runs.max(1) as f64;
    (min_sample_ms / per_run.max(1e-3))
        .ceil()
        .clamp(1.0, 1000.0) as usize
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
        runs_per_sample(engine.min_sample_ms(), ms(t), n)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_per_sample_covers_the_shortest_sample() {
        // 4 runs in 2 ms: 0.5 ms each, so 2 ms take 4 and 2.1 ms take 5.
        assert_eq!(runs_per_sample(2.0, 2.0, 4), 4);
        assert_eq!(runs_per_sample(2.1, 2.0, 4), 5);
        // A run longer than the sample is one run per sample.
        assert_eq!(runs_per_sample(2.0, 6.0, 1), 1);
        // Runs too short to time are bounded, and no probe runs cannot divide by zero.
        assert_eq!(runs_per_sample(2.0, 0.0, 1000), 1000);
        assert_eq!(runs_per_sample(2.0, 1.0, 0), 2);
    }
}
