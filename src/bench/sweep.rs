//! The depth sweep: latency of serial (a chain of L blocks) against parallel (K = L/d
//! branches of d blocks, side by side) over a list of depths, on each backend's engine
//! holding the deepest model's weights. Async and thread-free so that it runs in the
//! browser too; progress and points are reported as they happen, and a flag cancels it.

use std::sync::atomic::AtomicBool;

use web_time::Instant;

use super::backend::{Backend, Runner};
use super::fit::Fit;
use super::measure::{Progress, measure, ms};
use super::report::{Context, GPU_CLOCK, ModeProfile, Outcome, Point, Report, SCHEMA, WALL_CLOCK};
use super::settings::Settings;
use crate::Error;
use crate::engine::choice::Forced;
use crate::engine::tune::Autotune;
use crate::engine::{EngineOptions, Gpu};
use crate::model::{Mode, Weights, seeded_image};

/// Seeded weights of the sweep's deepest model.
pub fn seeded_weights(settings: &Settings) -> Weights {
    Weights::seeded(&settings.deepest(), settings.seed)
}

/// Runs a sweep on seeded weights. `gpu` is the adapter of the GPU engine, needed when the
/// settings measure it and never touched otherwise. Invalid settings are an error; a
/// failure or cancel midway still returns the report of what was measured, with `complete:
/// false` and the reason.
pub async fn sweep(
    gpu: Option<&Gpu>,
    settings: &Settings,
    cancel: &AtomicBool,
    on_progress: impl FnMut(&Progress),
    on_point: impl FnMut(&Point),
) -> Result<Report, Error> {
    settings.validate()?;
    sweep_weights(
        gpu,
        settings,
        &seeded_weights(settings),
        cancel,
        on_progress,
        on_point,
    )
    .await
}

/// Runs a sweep on given weights (e.g. a checkpoint); its depths must not exceed the model's K*d.
pub async fn sweep_weights(
    gpu: Option<&Gpu>,
    settings: &Settings,
    weights: &Weights,
    cancel: &AtomicBool,
    mut on_progress: impl FnMut(&Progress),
    mut on_point: impl FnMut(&Point),
) -> Result<Report, Error> {
    check_model(settings, weights)?;
    let c = &weights.config;
    let options = EngineOptions {
        batch: settings.batch,
        forced: Forced::parse(&settings.kernels)?,
        precision: settings.precision,
        ..Default::default()
    };
    let mut report = empty_report(settings);
    let mut runners = Vec::with_capacity(settings.backends.len());
    for &backend in &settings.backends {
        let t0 = Instant::now();
        let runner = Runner::open(backend, gpu, weights, options).await?;
        report.engines.insert(backend, runner.info(ms(t0))?);
        if runner.has_device_clock() && !report.context.clocks.iter().any(|c| c == GPU_CLOCK) {
            report.context.clocks.push(GPU_CLOCK.to_string());
        }
        runners.push(runner);
    }
    let mut progress = Progress {
        done: 0,
        total: 0,
        backend: settings.backends[0],
        mode: settings.modes[0],
        depth: settings.depths[0],
        tuning: None,
    };
    // The kernels of every run of the sweep, tuned before the first is measured.
    for runner in &mut runners {
        let backend = runner.backend();
        let mut runs: Vec<(Mode, usize)> = settings
            .points()
            .into_iter()
            .filter(|p| p.0 == backend)
            .map(|(_, mode, depth)| (mode, depth / c.depth))
            .collect();
        runs.dedup();
        progress.backend = backend;
        let tuned = runner
            .tune(
                &runs,
                settings.autotune,
                &settings.kernel_cache,
                cancel,
                |t| {
                    progress.tuning = Some(t);
                    on_progress(&progress);
                },
            )
            .await?;
        let Some(tuning) = tuned else { continue };
        let cancelled = tuning.cancelled;
        let keys = tuning.tuned + tuning.cached + tuning.left + tuning.failed;
        report.tuning = (settings.autotune != Autotune::Off && keys > 0).then_some(tuning);
        if cancelled {
            return Ok(finish(report, Outcome::Cancelled));
        }
    }
    // The backends whose roofs came from the cache: measured again if an op beats them.
    let mut cached_roofs = Vec::new();
    if settings.peak != Autotune::Off {
        for runner in &mut runners {
            match runner.peak(settings.peak, &settings.kernel_cache).await {
                Ok((peak, cached)) => {
                    report.device_peak.insert(runner.backend(), peak);
                    if cached {
                        cached_roofs.push(runner.backend());
                    }
                }
                Err(e) => return Ok(finish(report, Outcome::Failed(e.to_string()))),
            }
        }
    }
    let images: Vec<f32> = (0..settings.batch)
        .flat_map(|i| seeded_image(c, settings.seed + 1 + i as u64))
        .collect();
    let per_point = 1 + settings.warmup + settings.samples;
    progress.tuning = None;
    progress.total = settings.points().len() * per_point;
    for (backend, mode, depth) in settings.points() {
        (progress.backend, progress.mode, progress.depth) = (backend, mode, depth);
        on_progress(&progress);
        let runner = runner_of(&mut runners, backend);
        let measured = measure(
            runner,
            settings,
            (mode, depth),
            &images,
            cancel,
            &mut progress,
            &mut on_progress,
        )
        .await;
        runner.record_kernels(mode, depth / c.depth, &mut report.kernels);
        match measured {
            Ok(Some(point)) => {
                on_point(&point);
                report.points.push(point);
            }
            Ok(None) => return Ok(finish(report, Outcome::Cancelled)),
            Err(e) => return Ok(finish(report, Outcome::Failed(e.to_string()))),
        }
    }
    for runner in &mut runners {
        let cached = cached_roofs.contains(&runner.backend());
        let after = after_points(runner, weights, settings, &images, cached, &mut report);
        if let Err(e) = after.await {
            return Ok(finish(report, Outcome::Failed(e.to_string())));
        }
    }
    Ok(finish(report, Outcome::Complete))
}

fn runner_of(runners: &mut [Runner], backend: Backend) -> &mut Runner {
    runners
        .iter_mut()
        .find(|r| r.backend() == backend)
        .expect("every backend of the points is open")
}

/// What follows the points on one engine: the logits' error of a precision below f32, the
/// per-op profiles (`profile`), the roofs again if they came from the cache (`cached_roof`)
/// and an op beat them.
async fn after_points(
    runner: &mut Runner,
    weights: &Weights,
    settings: &Settings,
    images: &[f32],
    cached_roof: bool,
    report: &mut Report,
) -> Result<(), Error> {
    if runner.precision() != crate::engine::Precision::F32 {
        report.precision_error =
            super::precision::measure(runner, weights, settings, images).await?;
    }
    if settings.profile {
        profile_modes(runner, settings, images, report).await?;
        if cached_roof {
            check_cached_roof(runner, settings, report).await?;
        }
    }
    Ok(())
}

/// Roofs read from the cache were measured in another process, perhaps while the machine
/// was busy: when an op of the profile beats them, they are measured again (and cached) and
/// every op of that backend gets its fraction of the new ones.
async fn check_cached_roof(
    runner: &mut Runner,
    settings: &Settings,
    report: &mut Report,
) -> Result<(), Error> {
    let backend = runner.backend();
    let beaten = report
        .profiles
        .iter()
        .filter(|p| p.backend == backend)
        .any(|p| p.profile.ops.iter().any(|o| o.of_roof > Some(1.0)));
    if !beaten {
        return Ok(());
    }
    let (mut peak, _) = runner
        .peak(Autotune::Refresh, &settings.kernel_cache)
        .await?;
    peak.method
        .push_str("; measured again: an op of the profile ran above the cached roofs");
    for p in report.profiles.iter_mut().filter(|p| p.backend == backend) {
        p.profile = p.profile.clone().with_roof(&peak);
    }
    report.device_peak.insert(backend, peak);
    Ok(())
}

/// The sweep's depths and branch depth fit the model.
fn check_model(settings: &Settings, weights: &Weights) -> Result<(), Error> {
    settings.validate()?;
    let c = &weights.config;
    if c.depth != settings.config.depth || settings.deepest().branches > c.branches {
        return Err(Error::Config(format!(
            "the sweep needs depths up to {} with branch depth {}, the model has {} branches of depth {}",
            settings.deepest().blocks(),
            settings.config.depth,
            c.branches,
            c.depth
        )));
    }
    Ok(())
}

/// A report with the sweep's context, before any engine or point.
fn empty_report(settings: &Settings) -> Report {
    Report {
        schema: SCHEMA.to_string(),
        context: Context {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("PARAFORMER_GIT_COMMIT").map(str::to_string),
            date: super::utc_now(),
            target: if cfg!(target_arch = "wasm32") {
                "wasm32"
            } else {
                "native"
            }
            .to_string(),
            clocks: vec![WALL_CLOCK.to_string()],
            settings: settings.clone(),
        },
        engines: Default::default(),
        linear_group: 0,
        kernels: Vec::new(),
        tuning: None,
        points: Vec::new(),
        fits: Default::default(),
        profiles: Vec::new(),
        complete: false,
        error: None,
        page_load: None,
        precision_error: Vec::new(),
        device_peak: Default::default(),
    }
}

/// Per-op profiles of each mode at the deepest depth it was measured at, into `report`
/// (nothing for an engine that cannot time its ops).
async fn profile_modes(
    runner: &mut Runner,
    settings: &Settings,
    images: &[f32],
    report: &mut Report,
) -> Result<(), Error> {
    let backend = runner.backend();
    for &mode in &settings.modes {
        let Some(depth) = settings
            .depths
            .iter()
            .rev()
            .find(|&&l| settings.measures(mode, l))
        else {
            continue;
        };
        let (depth, branches) = (*depth, depth / settings.config.depth);
        let Some(mut profile) = runner
            .profile(mode, branches, images, settings.samples)
            .await?
        else {
            return Ok(());
        };
        if let Some(peak) = report.device_peak.get(&backend) {
            profile = profile.with_roof(peak);
        }
        report.profiles.push(ModeProfile {
            backend,
            mode,
            depth,
            profile,
        });
    }
    Ok(())
}

/// The report of a sweep that ended with `outcome`, with the fit of what each backend measured.
fn finish(mut report: Report, outcome: Outcome) -> Report {
    report.set_outcome(outcome);
    let d = report.context.settings.config.depth;
    report.fits = report
        .context
        .settings
        .backends
        .iter()
        .map(|&b| {
            let points: Vec<Point> = report.points_on(b).cloned().collect();
            (b, Fit::of(&points, d))
        })
        .collect();
    report
}
