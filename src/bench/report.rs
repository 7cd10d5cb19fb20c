//! What a sweep produced, with the context a reader needs to trust it: JSON (schema
//! `paraformer-bench/2`, documented in the README; files of schema 1 are read too, see
//! `legacy`). Its CSV and table are in `render`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::fit::Fit;
use super::settings::Settings;
use crate::engine::peak::DevicePeak;
use crate::engine::{AdapterSummary, Memory, Precision, Profile};
use crate::model::Mode;
use crate::stats::Stats;

pub const SCHEMA: &str = "paraformer-bench/2";

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
    "wall: system clock from the start of a run until its logits are in host memory";
pub const GPU_CLOCK: &str =
    "gpu: device timestamps written at the start and end of the inference's compute pass";

/// What measured a report's points: one per backend of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// The GPU engine's adapter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<AdapterSummary>,
    /// The CPU engine's worker threads and the SIMD set of its products ("AVX2+FMA",
    /// "simd128", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simd: Option<String>,
    /// What it stored values in.
    #[serde(default)]
    pub precision: Precision,
    /// Opening it: pipelines compiled, weights of the deepest model uploaded or copied,
    /// buffers allocated (absent in files from before schema 2 for the CPU engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_ms: Option<f64>,
    /// The GPU engine's device memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
}

impl EngineInfo {
    /// What ran it, for the table and the report: "llvmpipe (...) (Vulkan, Cpu; driver
    /// Mesa 22.3.6), timestamps: yes" or "gemm (AVX2+FMA), 2 threads".
    pub fn line(&self) -> String {
        if let Some(a) = &self.adapter {
            let driver = format!("{} {}", a.driver, a.driver_info);
            return format!(
                "{} ({}, {}; driver {}), timestamps: {}",
                a.name,
                a.backend,
                a.device_type,
                driver.trim(),
                if a.timestamps { "yes" } else { "no" }
            );
        }
        let n = self.threads.unwrap_or(0);
        format!(
            "gemm ({}), {}",
            self.simd.as_deref().unwrap_or("SIMD not recorded"),
            match n {
                0 => "threads not recorded".to_string(),
                1 => "1 thread".to_string(),
                n => format!("{n} threads"),
            }
        )
    }

    /// A short name for legends and what belongs in its parentheses: the adapter's name
    /// up to its first parenthesis and its API ("llvmpipe", "Vulkan"; a browser may hide
    /// the name: then "unnamed adapter"), or "cpu engine" and its SIMD set.
    pub fn label(&self) -> (String, String) {
        match &self.adapter {
            Some(a) => {
                let name = match a.name.split(" (").next().unwrap_or("").trim() {
                    "" => "unnamed adapter",
                    name => name,
                };
                (name.to_string(), a.backend.clone())
            }
            None => (
                "cpu engine".to_string(),
                self.simd.clone().unwrap_or_else(|| "gemm".to_string()),
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Context {
    pub crate_version: String,
    pub git_commit: Option<String>,
    /// UTC, ISO 8601.
    pub date: String,
    /// "native" or "wasm32".
    pub target: String,
    pub clocks: Vec<String>,
    pub settings: Settings,
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

fn one() -> usize {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeProfile {
    /// The engine profiled (absent in files of schema 1: the GPU).
    #[serde(default)]
    pub backend: Backend,
    pub mode: Mode,
    pub depth: usize,
    pub profile: Profile,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub context: Context,
    /// What measured the points: each backend of the sweep's engine.
    pub engines: BTreeMap<Backend, EngineInfo>,
    /// The GPU engine's invocations per linear workgroup (files of schema 1 before the
    /// kernels list name nothing else; 0 otherwise).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub linear_group: u32,
    /// The kernel variant each (op, mode, shape) of the GPU runs used, and why.
    #[serde(default)]
    pub kernels: Vec<super::kernels::KernelUse>,
    /// How the GPU kernels' tuning before the first point went (absent with `--autotune
    /// off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<crate::engine::tune::Outcome>,
    pub points: Vec<Point>,
    /// The latency model fitted to each backend's points.
    #[serde(default)]
    pub fits: BTreeMap<Backend, Fit>,
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
    /// mode (absent in f32 sweeps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precision_error: Vec<super::precision::PrecisionError>,
    /// Each backend's roofs, measured before the first point (absent with `--peak off`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub device_peak: BTreeMap<Backend, DevicePeak>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Milliseconds from the page's navigation start (the browser's `performance.now()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageLoad {
    /// The app's first frame.
    pub first_frame_ms: Option<f64>,
    /// The engine ready for work (the GPU adapter and device, or the CPU engine alone).
    pub adapter_ready_ms: Option<f64>,
}

impl Report {
    /// The backends that measured points, in `Backend::ALL` order.
    pub fn backends(&self) -> Vec<Backend> {
        Backend::ALL
            .into_iter()
            .filter(|&b| self.points_on(b).next().is_some())
            .collect()
    }

    /// The backend a one-series view of the report shows: the first that measured points
    /// (the GPU engine when it did).
    pub fn main_backend(&self) -> Backend {
        self.backends().first().copied().unwrap_or_default()
    }

    /// The point at (mode, depth) of the main backend.
    pub fn point(&self, mode: Mode, depth: usize) -> Option<&Point> {
        self.point_on(self.main_backend(), mode, depth)
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
        self.fits.get(&backend)
    }

    /// The engine of a backend, when the sweep opened it.
    pub fn engine(&self, backend: Backend) -> Option<&EngineInfo> {
        self.engines.get(&backend)
    }

    /// A short name for legends: the engine's, and the precision (an f16 and an f32 sweep
    /// of one adapter are series of their own).
    pub fn label_of(&self, backend: Backend) -> String {
        let ctx = &self.context;
        let date = ctx.date.get(..10).unwrap_or(&ctx.date);
        let (name, api) = self.engine(backend).map_or_else(
            || (format!("{} engine", backend.name()), String::new()),
            EngineInfo::label,
        );
        let mut parts = vec![api, ctx.settings.preset.clone()];
        parts.push(ctx.settings.precision_on(backend).to_string());
        parts.push(date.to_string());
        parts.retain(|p| !p.is_empty());
        format!("{name} ({})", parts.join(", "))
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

    /// A report of this schema, or of schema 1 brought up to it.
    pub fn from_json(text: &str) -> Result<Report, crate::Error> {
        let not_ours = |e: serde_json::Error| {
            crate::Error::Input(format!("not a paraformer benchmark JSON: {e}"))
        };
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(not_ours)?;
        let schema = value
            .get("schema")
            .and_then(|s| s.as_str())
            .unwrap_or("none")
            .to_string();
        if schema == super::legacy::SCHEMA_1 {
            super::legacy::upgrade(&mut value);
        } else if schema != SCHEMA {
            return Err(crate::Error::Input(format!(
                "benchmark JSON has schema '{schema}', this version reads '{SCHEMA}' and '{}'",
                super::legacy::SCHEMA_1
            )));
        }
        serde_json::from_value(value).map_err(not_ours)
    }
}
