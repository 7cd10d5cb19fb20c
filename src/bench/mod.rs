//! The depth sweep: latency of serial (a chain of L blocks) against parallel (K = L/d
//! branches of d blocks, side by side) over a list of depths, on one engine holding the
//! deepest model's weights. Async and thread-free so that it runs in the browser too;
//! progress and points are reported as they happen, and a flag cancels it.

pub mod accuracy;
mod backend;
pub mod fit;
pub mod kernels;
pub mod peak;
pub mod precision;
mod report;
pub mod share;

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use web_time::Instant;

pub use crate::stats::{Stats, quantile};
pub use backend::Backend;
pub use report::{
    Context, GPU_CLOCK, ModeProfile, Outcome, PageLoad, Point, Report, SCHEMA, WALL_CLOCK, faster,
};

use crate::Error;
use crate::cpu::CpuEngine;
use crate::engine::choice::Forced;
use crate::engine::tune::{Autotune, TuneProgress};
use crate::engine::tune_cache::Location;
use crate::engine::{Engine, EngineOptions, Gpu, Precision};
use crate::model::{Config, Mode, Weights, seeded_image};
use backend::Runner;

/// Everything that defines a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset the config started from ("custom" when edited beyond it).
    pub preset: String,
    /// The model; `branches` is ignored and set from the deepest depth.
    pub config: Config,
    /// Total depths L to measure; each a multiple of `config.depth`.
    pub depths: Vec<usize>,
    pub modes: Vec<Mode>,
    pub batch: usize,
    pub warmup: usize,
    pub samples: usize,
    /// Seed of the random weights and input.
    pub seed: u64,
    /// After the sweep, profile each mode per op at its deepest depth.
    #[serde(default)]
    pub profile: bool,
    /// Serial mode only at depths up to this one (the long chains are the slow part of a
    /// deep sweep); None measures it at every depth.
    #[serde(default)]
    pub serial_up_to: Option<usize>,
    /// The engines to measure, each at every point.
    #[serde(default = "backend::gpu_only")]
    pub backends: Vec<Backend>,
    /// Kernel variants forced for every shape, as `--kernel` spells them ("linear=9x16/16").
    #[serde(default)]
    pub kernels: Vec<String>,
    /// Whether the GPU kernels were tuned on the device first (`off` in files from older
    /// versions, which never tuned).
    #[serde(default = "autotune_absent")]
    pub autotune: Autotune,
    /// Where tuned choices are kept (a local place: not in reports).
    #[serde(skip)]
    pub kernel_cache: Location,
    /// The GPU engine's storage precision (the CPU engine computes in f32 whatever this
    /// says; files from before it were f32).
    #[serde(default)]
    pub precision: Precision,
    /// Whether each backend's roofs are measured first (`peak`): the GPU's from the kernel
    /// cache or its probes (`refresh`: probed again), the CPU engine's each time; `off`
    /// measures none (and older files had none).
    #[serde(default = "autotune_absent")]
    pub peak: Autotune,
}

fn autotune_absent() -> Autotune {
    Autotune::Off
}

impl Settings {
    /// The defaults of `paraformer bench` for a preset.
    pub fn new(preset: &str) -> Result<Settings, Error> {
        let config = Config::preset(preset)?;
        Ok(Settings {
            preset: preset.to_string(),
            depths: [1, 2, 4, 8, 12].map(|l| l * config.depth).to_vec(),
            modes: Mode::ALL.to_vec(),
            batch: 1,
            warmup: 3,
            samples: 10,
            seed: 0,
            profile: false,
            serial_up_to: None,
            backends: backend::gpu_only(),
            kernels: Vec::new(),
            autotune: Autotune::On,
            kernel_cache: Location::User,
            precision: Precision::F32,
            peak: Autotune::On,
            config,
        })
    }

    /// The precision `backend` computes in: the CPU engine's is always f32.
    pub fn precision_on(&self, backend: Backend) -> Precision {
        match backend {
            Backend::Gpu => self.precision,
            Backend::Cpu => Precision::F32,
        }
    }

    /// The precision of the sweep's engines in words ("f16 (GPU engine); the CPU engine
    /// computes in f32").
    pub fn precision_line(&self) -> String {
        let gpu = self.backends.contains(&Backend::Gpu);
        let cpu = self.backends.contains(&Backend::Cpu);
        match (gpu, cpu, self.precision) {
            (true, true, Precision::F16) => {
                "f16 on the GPU engine; the CPU engine computes in f32".to_string()
            }
            (false, _, _) => "f32 (the CPU engine)".to_string(),
            (_, _, p) => p.name().to_string(),
        }
    }

    /// Whether the sweep measures `mode` at `depth`.
    pub fn measures(&self, mode: Mode, depth: usize) -> bool {
        self.modes.contains(&mode)
            && (mode == Mode::Parallel || self.serial_up_to.is_none_or(|max| depth <= max))
    }

    /// The points of the sweep in the order they are measured: modes, and inside them
    /// backends, alternate at each depth, so that slow drift of the machine hits all alike.
    pub fn points(&self) -> Vec<(Backend, Mode, usize)> {
        let mut out = Vec::new();
        for &depth in &self.depths {
            for &mode in &self.modes {
                if self.measures(mode, depth) {
                    out.extend(self.backends.iter().map(|&b| (b, mode, depth)));
                }
            }
        }
        out
    }

    /// The deepest model of the sweep: K = max(L) / d branches.
    pub fn deepest(&self) -> Config {
        let max = self
            .depths
            .iter()
            .copied()
            .max()
            .unwrap_or(self.config.depth);
        Config {
            branches: max / self.config.depth.max(1),
            ..self.config.clone()
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.depths.is_empty() {
            return Err(Error::Config(
                "no depths to measure: give at least one, e.g. 1,2,4".into(),
            ));
        }
        if self.modes.is_empty() {
            return Err(Error::Config(
                "no modes to measure: choose serial, parallel or both".into(),
            ));
        }
        if self.backends.is_empty() {
            return Err(Error::Config(
                "no backends to measure: choose gpu, cpu or both".into(),
            ));
        }
        Forced::parse(&self.kernels)?;
        if self.samples == 0 {
            return Err(Error::Config(
                "samples is 0: at least 1 sample per point is needed".into(),
            ));
        }
        if let Some(max) = self.serial_up_to
            && self.modes.contains(&Mode::Serial)
            && !self.depths.iter().any(|&l| l <= max)
        {
            return Err(Error::Config(format!(
                "serial up to L = {max} leaves serial mode no depth to measure: the \
                 shallowest depth is {}",
                self.depths.iter().min().copied().unwrap_or(0)
            )));
        }
        if self.batch == 0 {
            return Err(Error::Config("batch is 0: it must be at least 1".into()));
        }
        let d = self.config.depth;
        if d == 0 {
            return Err(Error::Config(
                "branch depth d is 0: it must be at least 1".into(),
            ));
        }
        for &l in &self.depths {
            if l == 0 || !l.is_multiple_of(d) {
                return Err(Error::Config(format!(
                    "depth {l} is not a positive multiple of the branch depth d = {d}: \
                     parallel mode runs K = L/d branches, so every L must be d, 2d, 3d, ..."
                )));
            }
        }
        if self.precision == Precision::F16 && !self.backends.contains(&Backend::Gpu) {
            return Err(Error::Config(
                "f16 is the GPU engine's storage; the CPU engine computes in f32: measure the \
                 GPU engine too, or choose f32"
                    .into(),
            ));
        }
        self.deepest().validate()
    }
}

/// Parses depth lists: `1..=24`, `1..25` (end excluded), `1,2,4,8`, or a mix `1,2,4..=8`.
pub fn parse_depths(text: &str) -> Result<Vec<usize>, Error> {
    let bad = |part: &str| {
        Error::Usage(format!(
            "depths '{part}' is not understood: use a list (1,2,4,8) or a range (1..=24 or 1..25) of positive integers"
        ))
    };
    let num = |s: &str, part: &str| s.trim().parse::<usize>().map_err(|_| bad(part));
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        if let Some((a, b)) = part.split_once("..=") {
            out.extend(num(a, part)?..=num(b, part)?);
        } else if let Some((a, b)) = part.split_once("..") {
            out.extend(num(a, part)?..num(b, part)?);
        } else {
            out.push(num(part, part)?);
        }
    }
    if out.is_empty() {
        return Err(bad(text));
    }
    if out.len() > 4096 {
        return Err(Error::Usage(format!(
            "depths '{text}' gives {} depths, more than the 4096 a sweep allows",
            out.len()
        )));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

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

/// Seeded weights of the sweep's deepest model.
pub fn seeded_weights(settings: &Settings) -> Weights {
    Weights::seeded(&settings.deepest(), settings.seed)
}

/// Runs a sweep on seeded weights. Invalid settings are an error; a failure or cancel
/// midway still returns the report of what was measured, with `complete: false` and the reason.
pub async fn sweep(
    gpu: &Gpu,
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
    gpu: &Gpu,
    settings: &Settings,
    weights: &Weights,
    cancel: &AtomicBool,
    mut on_progress: impl FnMut(&Progress),
    mut on_point: impl FnMut(&Point),
) -> Result<Report, Error> {
    check_model(settings, weights)?;
    let c = &weights.config;
    let t0 = Instant::now();
    let options = EngineOptions {
        batch: settings.batch,
        forced: Forced::parse(&settings.kernels)?,
        precision: settings.precision,
        ..Default::default()
    };
    // The GPU engine always: it also gives the report its memory figures.
    let mut engine = Engine::new(gpu, weights, options).await?;
    let engine_create_ms = ms(t0);
    // The kernels of every GPU run of the sweep, tuned before the first is measured.
    let mut runs: Vec<(Mode, usize)> = settings
        .points()
        .into_iter()
        .filter(|p| p.0 == Backend::Gpu)
        .map(|(_, mode, depth)| (mode, depth / c.depth))
        .collect();
    runs.dedup();
    let mut progress = Progress {
        done: 0,
        total: 0,
        backend: settings.backends[0],
        mode: settings.modes[0],
        depth: settings.depths[0],
        tuning: None,
    };
    let tuning = engine
        .autotune(
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
    let mut cpu = if settings.backends.contains(&Backend::Cpu) {
        Some(CpuEngine::new(weights, settings.batch)?)
    } else {
        None
    };
    let images: Vec<f32> = (0..settings.batch)
        .flat_map(|i| seeded_image(c, settings.seed + 1 + i as u64))
        .collect();
    let mut report = empty_report(gpu, settings, &engine, cpu.as_ref(), engine_create_ms)?;
    let cancelled = tuning.cancelled;
    let keys = tuning.tuned + tuning.cached + tuning.left + tuning.failed;
    report.tuning = (settings.autotune != Autotune::Off && keys > 0).then_some(tuning);
    if cancelled {
        return Ok(finish(report, Outcome::Cancelled));
    }
    if settings.peak != Autotune::Off
        && let Err(e) = measure_peaks(&mut engine, settings, &mut report).await
    {
        return Ok(finish(report, Outcome::Failed(e.to_string())));
    }
    let per_point = 1 + settings.warmup + settings.samples;
    progress.tuning = None;
    progress.total = settings.points().len() * per_point;
    for (backend, mode, depth) in settings.points() {
        (progress.backend, progress.mode, progress.depth) = (backend, mode, depth);
        on_progress(&progress);
        let at = Where {
            backend,
            mode,
            depth,
        };
        let measured = match cpu.as_mut() {
            Some(cpu) if backend == Backend::Cpu => {
                measure(
                    cpu,
                    settings,
                    at,
                    &images,
                    cancel,
                    &mut progress,
                    &mut on_progress,
                )
                .await
            }
            _ => {
                measure(
                    &mut engine,
                    settings,
                    at,
                    &images,
                    cancel,
                    &mut progress,
                    &mut on_progress,
                )
                .await
            }
        };
        if backend == Backend::Gpu
            && let Ok(picks) = engine.picks(mode, depth / c.depth)
        {
            kernels::record(&mut report.kernels, &picks, |k| {
                engine.candidates(k).to_vec()
            });
        }
        match measured {
            Ok(Some(point)) => {
                on_point(&point);
                report.points.push(point);
            }
            Ok(None) => return Ok(finish(report, Outcome::Cancelled)),
            Err(e) => return Ok(finish(report, Outcome::Failed(e.to_string()))),
        }
    }
    if settings.precision == Precision::F16 && settings.backends.contains(&Backend::Gpu) {
        match precision::measure(&mut engine, weights, settings, &images).await {
            Ok(errors) => report.precision_error = errors,
            Err(e) => return Ok(finish(report, Outcome::Failed(e.to_string()))),
        }
    }
    if settings.profile
        && let Err(e) = profile_modes(&mut engine, settings, &images, &mut report).await
    {
        return Ok(finish(report, Outcome::Failed(e.to_string())));
    }
    Ok(finish(report, Outcome::Complete))
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

/// A report with the sweep's context and the engine's figures, before any point.
fn empty_report(
    gpu: &Gpu,
    settings: &Settings,
    engine: &Engine,
    cpu: Option<&CpuEngine>,
    engine_create_ms: f64,
) -> Result<Report, Error> {
    let memory = engine.memory()?;
    let mut clocks = vec![WALL_CLOCK.to_string()];
    if engine.has_timestamps() {
        clocks.push(GPU_CLOCK.to_string());
    }
    Ok(Report {
        schema: SCHEMA.to_string(),
        context: Context {
            adapter: gpu.summary.clone(),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("PARAFORMER_GIT_COMMIT").map(str::to_string),
            date: utc_now(),
            target: if cfg!(target_arch = "wasm32") {
                "wasm32"
            } else {
                "native"
            }
            .to_string(),
            clocks,
            settings: settings.clone(),
            cpu_threads: cpu.map(CpuEngine::threads),
            cpu_simd: cpu.map(|e| e.simd().to_string()),
        },
        linear_group: engine.linear_group(),
        kernels: Vec::new(),
        tuning: None,
        engine_create_ms,
        device_bytes: memory.held_bytes,
        weight_bytes: memory.weight_bytes,
        needed_bytes: memory.needed_bytes,
        points: Vec::new(),
        fit: None,
        cpu_fit: None,
        profiles: Vec::new(),
        complete: false,
        error: None,
        page_load: None,
        precision_error: Vec::new(),
        device_peak: Default::default(),
    })
}

/// The roofs of every backend of the sweep, into `report`: the GPU's from its probes or
/// the cache (a cache warning joins the method's text), the CPU engine's measured now.
async fn measure_peaks(
    engine: &mut Engine,
    settings: &Settings,
    report: &mut Report,
) -> Result<(), Error> {
    if settings.backends.contains(&Backend::Gpu) {
        let out = engine
            .device_peak(settings.peak, &settings.kernel_cache)
            .await?;
        let mut peak = out.peak;
        for w in out.warnings {
            peak.method.push_str(&format!("; warning: {w}"));
        }
        report.device_peak.insert(Backend::Gpu, peak);
    }
    if settings.backends.contains(&Backend::Cpu) {
        report.device_peak.insert(Backend::Cpu, peak::cpu_peak());
    }
    Ok(())
}

/// Per-op profiles of each mode at the deepest depth it was measured at, into `report`.
async fn profile_modes(
    engine: &mut Engine,
    settings: &Settings,
    images: &[f32],
    report: &mut Report,
) -> Result<(), Error> {
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
        let mut profile = engine
            .profile(mode, branches, images, settings.samples)
            .await?;
        if let Some(peak) = report.device_peak.get(&Backend::Gpu) {
            profile = profile.with_roof(peak);
        }
        report.profiles.push(ModeProfile {
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
    let fit_of = |backend: Backend| {
        let points: Vec<Point> = report.points_on(backend).cloned().collect();
        (!points.is_empty()).then(|| fit::Fit::of(&points, d))
    };
    // Files before backends had a fit of the GPU points always; keep that for GPU runs.
    let gpu = report.context.settings.backends.contains(&Backend::Gpu);
    let fit = gpu.then(|| fit_of(Backend::Gpu).unwrap_or_else(|| fit::Fit::of(&[], d)));
    let cpu_fit = fit_of(Backend::Cpu);
    (report.fit, report.cpu_fit) = (fit, cpu_fit);
    report
}

/// Which point `measure` takes.
#[derive(Clone, Copy)]
struct Where {
    backend: Backend,
    mode: Mode,
    depth: usize,
}

fn ms(since: Instant) -> f64 {
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
async fn measure(
    engine: &mut impl Runner,
    settings: &Settings,
    at: Where,
    images: &[f32],
    cancel: &AtomicBool,
    progress: &mut Progress,
    on_progress: &mut impl FnMut(&Progress),
) -> Result<Option<Point>, Error> {
    let Where {
        backend,
        mode,
        depth,
    } = at;
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
        precision: settings.precision_on(backend),
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

/// The current UTC time as ISO 8601.
pub fn utc_now() -> String {
    let secs = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_lists_and_ranges() {
        assert_eq!(parse_depths("1..=4").unwrap(), [1, 2, 3, 4]);
        assert_eq!(parse_depths("1..4").unwrap(), [1, 2, 3]);
        assert_eq!(parse_depths("8,1,2,4").unwrap(), [1, 2, 4, 8]);
        assert_eq!(parse_depths("1,2,4..=6,4").unwrap(), [1, 2, 4, 5, 6]);
        for bad in ["", "a", "1..x", "-1", "1..=100000"] {
            assert!(parse_depths(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_checked() {
        let mut s = Settings::new("mnist").unwrap();
        s.config.depth = 2;
        s.depths = vec![2, 3];
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.contains("depth 3 is not a positive multiple of the branch depth d = 2"),
            "{e}"
        );
        s.depths = vec![2, 8];
        s.validate().unwrap();
        assert_eq!(s.deepest().branches, 4);
        s.samples = 0;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("samples is 0")
        );
    }

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

    #[test]
    fn dates_are_iso() {
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20") && d.ends_with('Z'));
    }
}
