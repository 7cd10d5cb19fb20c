//! What a sweep produced, with the context a reader needs to trust it, and its
//! renderings: JSON (schema `paraformer-bench/1`, documented in the README), CSV and a table.

use serde::{Deserialize, Serialize};

use super::fit::Fit;
use super::{Backend, Settings};
use crate::engine::{AdapterSummary, Precision, Profile};
use crate::model::Mode;
use crate::stats::Stats;

pub const SCHEMA: &str = "paraformer-bench/1";

/// How a sweep ended. The JSON keeps it as `complete` and `error` (`"cancelled"` for a
/// cancelled sweep), as the schema has always had it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    Cancelled,
    Failed(String),
}

/// `error` of a cancelled sweep.
const CANCELLED: &str = "cancelled";

impl Outcome {
    /// What the report's `error` says: nothing for a complete run.
    pub fn error(&self) -> Option<String> {
        match self {
            Outcome::Complete => None,
            Outcome::Cancelled => Some(CANCELLED.to_string()),
            Outcome::Failed(e) => Some(e.clone()),
        }
    }
}

/// How each clock measures one inference.
pub const WALL_CLOCK: &str =
    "wall: system clock from queue submit until the logits are read back on the CPU";
pub const GPU_CLOCK: &str =
    "gpu: device timestamps written at the start and end of the inference's compute pass";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Context {
    pub adapter: AdapterSummary,
    pub crate_version: String,
    pub git_commit: Option<String>,
    /// UTC, ISO 8601.
    pub date: String,
    /// "native" or "wasm32".
    pub target: String,
    pub clocks: Vec<String>,
    pub settings: Settings,
    /// Threads of the CPU engine, when the sweep measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_threads: Option<usize>,
    /// The CPU engine's SIMD instruction set ("AVX-512", "AVX2+FMA", "SSE2", "simd128", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_simd: Option<String>,
}

/// One (mode, depth) measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The engine measured (absent in files from before backends: the GPU).
    #[serde(default)]
    pub backend: Backend,
    /// What its engine stored values in (absent in files from before f16: f32).
    #[serde(default)]
    pub precision: Precision,
    pub mode: Mode,
    /// Total blocks L.
    pub depth: usize,
    /// Branches K = L / d (parallel runs them side by side; serial chains their blocks).
    pub branches: usize,
    pub flops: f64,
    pub dispatches: usize,
    pub critical_path: usize,
    /// Plan building (bind groups, parameters) plus the first inference, wall clock.
    pub cold_ms: f64,
    /// Runs timed back to back in each sample, which is their mean (absent in older files: 1).
    #[serde(default = "one")]
    pub runs_per_sample: usize,
    pub wall_samples_ms: Vec<f64>,
    pub wall: Stats,
    pub gpu_samples_ms: Option<Vec<f64>>,
    pub gpu: Option<Stats>,
    /// FLOPs over the wall-clock median.
    pub gflops_wall: f64,
    pub gflops_gpu: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeProfile {
    pub mode: Mode,
    pub depth: usize,
    pub profile: Profile,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub context: Context,
    /// Invocations per workgroup of the linear kernel (picked for the adapter; 0 in files
    /// from older versions).
    #[serde(default)]
    pub linear_group: u32,
    /// The kernel variant each (op, mode, shape) of the GPU runs used, and why (empty in
    /// files from older versions).
    #[serde(default)]
    pub kernels: Vec<super::kernels::KernelUse>,
    /// How the kernel tuning before the first point went (absent with `--autotune off`
    /// and in files from older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<crate::engine::tune::Outcome>,
    /// Engine creation: pipelines compiled, weights of the deepest model uploaded, buffers allocated.
    pub engine_create_ms: f64,
    /// Device bytes the engine holds (weights, activations, readback).
    pub device_bytes: u64,
    /// Bytes of the weights, and of weights plus the largest set of activations alive at
    /// one step: what the model needs in principle (0 in files from older versions).
    #[serde(default)]
    pub weight_bytes: u64,
    #[serde(default)]
    pub needed_bytes: u64,
    pub points: Vec<Point>,
    /// The latency model fitted to the GPU `points` (absent in files from older versions
    /// and in runs without the GPU backend).
    #[serde(default)]
    pub fit: Option<Fit>,
    /// The same model fitted to the CPU engine's points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_fit: Option<Fit>,
    /// Per-op profiles at the deepest depth (`--profile`).
    #[serde(default)]
    pub profiles: Vec<ModeProfile>,
    /// False when the sweep was cancelled or failed before its last point.
    pub complete: bool,
    pub error: Option<String>,
    /// In the browser: how long the page took to come up (absent natively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_load: Option<PageLoad>,
    /// f16 sweeps: the GPU logits against the f32 CPU engine's at the deepest depth of each
    /// mode (absent in f32 sweeps and older files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precision_error: Vec<super::precision::PrecisionError>,
    /// Each backend's roofs, measured before the first point (absent with `--peak off` and
    /// in older files).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub device_peak: std::collections::BTreeMap<Backend, crate::engine::peak::DevicePeak>,
}

/// Milliseconds from the page's navigation start (the browser's `performance.now()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageLoad {
    /// The app's first frame.
    pub first_frame_ms: Option<f64>,
    /// The GPU adapter and device ready for work.
    pub adapter_ready_ms: Option<f64>,
}

impl Context {
    /// The CPU engine as measured, "gemm (AVX-512), 2 threads"; None when the sweep did not
    /// measure it.
    pub fn cpu_engine(&self) -> Option<String> {
        let n = self.cpu_threads?;
        Some(format!(
            "gemm ({}), {n} thread{}",
            self.cpu_simd.as_deref().unwrap_or("SIMD not recorded"),
            if n == 1 { "" } else { "s" }
        ))
    }
}

impl Report {
    /// The GPU point at (mode, depth).
    pub fn point(&self, mode: Mode, depth: usize) -> Option<&Point> {
        self.point_on(Backend::Gpu, mode, depth)
    }

    pub fn point_on(&self, backend: Backend, mode: Mode, depth: usize) -> Option<&Point> {
        self.points_on(backend)
            .find(|p| p.mode == mode && p.depth == depth)
    }

    pub fn points_on(&self, backend: Backend) -> impl Iterator<Item = &Point> {
        self.points.iter().filter(move |p| p.backend == backend)
    }

    /// The fit of a backend's points.
    pub fn fit_on(&self, backend: Backend) -> Option<&Fit> {
        match backend {
            Backend::Gpu => self.fit.as_ref(),
            Backend::Cpu => self.cpu_fit.as_ref(),
        }
    }

    pub fn outcome(&self) -> Outcome {
        match (self.complete, &self.error) {
            (true, _) => Outcome::Complete,
            (false, Some(e)) if e != CANCELLED => Outcome::Failed(e.clone()),
            (false, _) => Outcome::Cancelled,
        }
    }

    pub fn set_outcome(&mut self, outcome: Outcome) {
        self.complete = outcome == Outcome::Complete;
        self.error = outcome.error();
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialise")
    }

    pub fn from_json(text: &str) -> Result<Report, crate::Error> {
        let r: Report = serde_json::from_str(text)
            .map_err(|e| crate::Error::Input(format!("not a paraformer benchmark JSON: {e}")))?;
        if r.schema != SCHEMA {
            return Err(crate::Error::Input(format!(
                "benchmark JSON has schema '{}', this version reads '{SCHEMA}'",
                r.schema
            )));
        }
        Ok(r)
    }

    /// One row per sample and per statistic; context as `# key: value` lines first.
    pub fn to_csv(&self) -> String {
        let ctx = &self.context;
        let mut out = String::new();
        let settings = serde_json::to_string(&ctx.settings).expect("settings serialise");
        for (k, v) in [
            ("schema", self.schema.as_str()),
            ("adapter", &ctx.adapter.name),
            ("backend", &ctx.adapter.backend),
            ("device_type", &ctx.adapter.device_type),
            (
                "driver",
                &format!("{} {}", ctx.adapter.driver, ctx.adapter.driver_info),
            ),
            ("crate_version", &ctx.crate_version),
            ("git_commit", ctx.git_commit.as_deref().unwrap_or("unknown")),
            ("date", &ctx.date),
            ("target", &ctx.target),
            ("settings", &settings),
            ("engine_create_ms", &self.engine_create_ms.to_string()),
            ("device_bytes", &self.device_bytes.to_string()),
            ("weight_bytes", &self.weight_bytes.to_string()),
            ("needed_bytes", &self.needed_bytes.to_string()),
            ("complete", &self.complete.to_string()),
            ("error", self.error.as_deref().unwrap_or("")),
        ] {
            // A value stays on its `#` line: line breaks are written as \n (and \ as \\).
            let v = v
                .replace('\\', "\\\\")
                .replace('\n', "\\n")
                .replace('\r', "\\r");
            out.push_str(&format!("# {k}: {v}\n"));
        }
        for c in &ctx.clocks {
            out.push_str(&format!("# clock {c}\n"));
        }
        out.push_str(
            "mode,depth,branches,clock,kind,name,value,flops,dispatches,critical_path,backend\n",
        );
        for p in &self.points {
            let mut row = |clock: &str, kind: &str, name: &str, value: f64| {
                out.push_str(&format!(
                    "{},{},{},{clock},{kind},{name},{value},{},{},{},{}\n",
                    p.mode.name(),
                    p.depth,
                    p.branches,
                    p.flops,
                    p.dispatches,
                    p.critical_path,
                    p.backend.name()
                ));
            };
            row("wall", "cold", "cold_ms", p.cold_ms);
            let clocks = [(
                "wall",
                Some(&p.wall_samples_ms),
                Some(&p.wall),
                Some(p.gflops_wall),
            )];
            let gpu = [(
                "gpu",
                p.gpu_samples_ms.as_ref(),
                p.gpu.as_ref(),
                p.gflops_gpu,
            )];
            for (clock, samples, stats, gflops) in clocks.into_iter().chain(gpu) {
                let (Some(samples), Some(s)) = (samples, stats) else {
                    continue;
                };
                for (i, v) in samples.iter().enumerate() {
                    row(clock, "sample", &i.to_string(), *v);
                }
                for (name, v) in [
                    ("median_ms", s.median_ms),
                    ("p10_ms", s.p10_ms),
                    ("p90_ms", s.p90_ms),
                    ("min_ms", s.min_ms),
                    ("max_ms", s.max_ms),
                    ("mean_ms", s.mean_ms),
                    ("gflops", gflops.unwrap_or(f64::NAN)),
                ] {
                    row(clock, "stat", name, v);
                }
            }
        }
        out
    }

    /// One table row; the mode column names the backend when the run has several.
    fn row(&self, p: &Point, named: bool) -> String {
        let mode = if named {
            format!("{} {}", p.backend.name(), p.mode.name())
        } else {
            p.mode.name().to_string()
        };
        format!(
            "{:>4} {:>4} | {:<14} {:>10.3} {:>9.3}..{:<9.3} {:>8.2} {:>6} {:>9.1}{}\n",
            p.depth,
            p.branches,
            mode,
            p.wall.median_ms,
            p.wall.p10_ms,
            p.wall.p90_ms,
            p.gflops_wall,
            p.critical_path,
            p.cold_ms,
            p.gpu
                .as_ref()
                .map_or(String::new(), |g| format!(" {:>16.3}", g.median_ms))
        )
    }

    /// Which backend is faster in `mode` at depth `l`, and by how much.
    pub fn faster(&self, mode: Mode, l: usize) -> Option<String> {
        faster(&self.points, mode, l)
    }

    /// The table's lines above the points: adapter, model, clocks, engines, memory.
    fn table_header(&self) -> String {
        let ctx = &self.context;
        let s = &ctx.settings;
        let mut out = format!(
            "adapter: {} ({}, {}), timestamps: {}\nmodel: {} T={} D={} heads={}x{} MLP={} d={} batch={}; {} warm-up + {} samples per point\n",
            ctx.adapter.name,
            ctx.adapter.backend,
            ctx.adapter.device_type,
            if ctx.adapter.timestamps { "yes" } else { "no" },
            s.preset,
            s.config.tokens(),
            s.config.dim,
            s.config.heads,
            s.config.dim_head,
            s.config.mlp_dim,
            s.config.depth,
            s.batch,
            s.warmup,
            s.samples
        );
        out.push_str(&format!("precision: {}\n", s.precision_line()));
        for (backend, p) in &self.device_peak {
            out.push_str(&format!(
                "roofs ({}): {:.1} GFLOP/s, {:.1} GB/s ({})\n",
                backend.name(),
                p.gflops,
                p.gbytes_per_s,
                p.method
            ));
        }
        for c in &ctx.clocks {
            out.push_str(&format!("clock {c}\n"));
        }
        out.push_str(&format!(
            "engine creation (pipelines, weights for the deepest model): {:.1} ms\n",
            self.engine_create_ms
        ));
        // Files from before the kernels list name the linear's group alone (9 x 16 blocks).
        if self.kernels.is_empty() && self.linear_group > 0 {
            out.push_str(&format!(
                "linear kernel: 9 x 16 outputs per invocation, {} invocations per workgroup\n",
                self.linear_group
            ));
        }
        if let Some(cpu) = ctx.cpu_engine() {
            out.push_str(&format!("cpu engine: {cpu}\n"));
        }
        if self.needed_bytes > 0 {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            out.push_str(&format!(
                "device memory: {:.2} MiB held ({:.2} MiB weights + {:.2} MiB activations and \
                 readback); {:.2} MiB needed in principle (weights + the largest live \
                 activations): {:.2}x\n",
                mib(self.device_bytes),
                mib(self.weight_bytes),
                mib(self.device_bytes.saturating_sub(self.weight_bytes)),
                mib(self.needed_bytes),
                self.device_bytes as f64 / self.needed_bytes as f64
            ));
        }
        out
    }

    /// The readable table: per depth, both modes' medians and spreads, and the speedup.
    pub fn table(&self) -> String {
        let mut out = self.table_header();
        out.push('\n');
        let gpu = self.points.iter().any(|p| p.gpu.is_some());
        out.push_str(&format!(
            "{:>4} {:>4} | {:<14} {:>10} {:>19} {:>8} {:>6} {:>9}{} \n",
            "L",
            "K",
            "mode",
            "median ms",
            "p10..p90 ms",
            "GFLOP/s",
            "crit",
            "cold ms",
            if gpu { "   gpu median ms" } else { "" }
        ));
        let mut depths: Vec<usize> = self.points.iter().map(|p| p.depth).collect();
        depths.dedup();
        let backends: Vec<Backend> = Backend::ALL
            .into_iter()
            .filter(|&b| self.points_on(b).next().is_some())
            .collect();
        for l in depths {
            for mode in Mode::ALL {
                for &backend in &backends {
                    if let Some(p) = self.point_on(backend, mode, l) {
                        out.push_str(&self.row(p, backends.len() > 1));
                    }
                }
            }
            for &backend in &backends {
                let (Some(s), Some(p)) = (
                    self.point_on(backend, Mode::Serial, l),
                    self.point_on(backend, Mode::Parallel, l),
                ) else {
                    continue;
                };
                let gpu_ratio = match (&s.gpu, &p.gpu) {
                    (Some(a), Some(b)) => format!(", gpu clock {:.2}x", a.median_ms / b.median_ms),
                    _ => String::new(),
                };
                let on = if backends.len() > 1 {
                    backend.name()
                } else {
                    ""
                };
                out.push_str(&format!(
                    "{:>4} {:>4} | {on} speedup serial/parallel (medians): wall {:.2}x{gpu_ratio}\n",
                    "",
                    "",
                    s.wall.median_ms / p.wall.median_ms
                ));
            }
            if backends.len() > 1 {
                for mode in Mode::ALL {
                    if let Some(line) = self.faster(mode, l) {
                        out.push_str(&format!("{:>4} {:>4} | {line}\n", "", ""));
                    }
                }
            }
        }
        if !self.precision_error.is_empty() {
            out.push_str(&format!(
                "\nf16 logits against the f32 CPU engine's: {}\n",
                super::precision::describe(&self.precision_error)
            ));
        }
        for backend in Backend::ALL {
            if let Some(fit) = self.fit_on(backend) {
                out.push_str(&format!(
                    "\n{} fit (least squares on the wall-clock medians):\n",
                    backend.name()
                ));
                for line in fit.summary() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
        if !self.kernels.is_empty() {
            out.push_str("\nkernels (op, mode: variant (why) for rows x n x k, lanes):\n");
            for line in super::kernels::lines(&self.kernels) {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(t) = &self.tuning {
            out.push_str(&format!("{}\n", super::kernels::tuning_line(t)));
            for w in &t.warnings {
                out.push_str(&format!("  warning: {w}\n"));
            }
        }
        for p in &self.profiles {
            out.push_str(&format!("\n{} mode, L = {}: ", p.mode.name(), p.depth));
            out.push_str(&p.profile.table());
        }
        if let Some(e) = self.outcome().error() {
            out.push_str(&format!("\nINCOMPLETE: {e}\n"));
        }
        out
    }
}

/// Which backend is faster in `mode` at depth `l` among `points`, and by how much (wall-clock
/// medians); None unless both measured it.
pub fn faster(points: &[Point], mode: Mode, l: usize) -> Option<String> {
    let median = |b: Backend| {
        points
            .iter()
            .find(|p| p.backend == b && p.mode == mode && p.depth == l)
            .map(|p| p.wall.median_ms)
    };
    let (g, c) = (median(Backend::Gpu)?, median(Backend::Cpu)?);
    let (winner, ratio) = if c < g {
        ("cpu", g / c)
    } else {
        ("gpu", c / g)
    };
    Some(format!(
        "{}: {winner} {ratio:.2}x faster (gpu {g:.3} ms, cpu {c:.3} ms)",
        mode.name()
    ))
}

fn one() -> usize {
    1
}
