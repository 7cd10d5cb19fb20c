//! What the worker shares with the UI: the state of each kind of job, behind one mutex.

use std::sync::Arc;

use paraformer::bench::{Point, Progress, Report, Stats};
use paraformer::engine::AdapterSummary;
use paraformer::model::Mode;

#[derive(Clone, Default)]
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

#[derive(Clone, Default)]
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

/// The sweep's state. Points and the report are shared with the UI's frame snapshots
/// (`Worker::snapshot`) instead of copied into every frame.
#[derive(Default)]
pub struct SweepState {
    pub running: bool,
    pub progress: Option<Progress>,
    pub points: Arc<Vec<Point>>,
    pub report: Option<Arc<Report>>,
    pub error: Option<String>,
}

/// What one frame shows of the worker's state, taken once per frame.
#[derive(Clone, Default)]
pub struct Snapshot {
    /// An engine can run jobs: the adapter is open, or there is none and the CPU engine
    /// runs them.
    pub ready: bool,
    pub gpu_error: Option<String>,
    pub cpu_only: bool,
    pub has_gpu_clock: bool,
    pub running: bool,
    pub progress: Option<Progress>,
    pub sweep_error: Option<String>,
    pub points: Arc<Vec<Point>>,
    pub report: Option<Arc<Report>>,
    pub adapter: Option<AdapterSummary>,
    /// The GPU-vs-reference check's result, and whether one runs.
    pub check: Option<Result<(f32, f32), String>>,
    pub checking: bool,
    pub live: LiveState,
    pub classify: ClassifyState,
    pub accuracy: AccuracyState,
}

impl Snapshot {
    /// The engine the jobs run on, in words.
    pub fn engine_name(&self) -> &'static str {
        if self.cpu_only {
            "the CPU engine"
        } else {
            "the GPU engine"
        }
    }
}

#[derive(Clone, Default)]
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
    /// No GPU adapter could be opened (`gpu_error` says why): every job runs on the CPU
    /// engine.
    pub cpu_only: bool,
    pub sweep: SweepState,
    pub live: LiveState,
    /// Max abs error of GPU vs CPU logits, and the logits' scale, or the failure.
    pub check: Option<Result<(f32, f32), String>>,
    pub checking: bool,
    pub classify: ClassifyState,
    pub accuracy: AccuracyState,
}
