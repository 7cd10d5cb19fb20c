//! The seam between the engines and everything that measures or uses them. A backend is
//! an engine that runs the network: the WGSL kernels on the GPU adapter, or the CPU engine
//! on the machine's cores. `Backend` names one (in settings, points and per-backend maps of
//! a report); `Runner` is an open engine of either kind, with what the sweep, the profile,
//! the accuracy, classify and live views need of it. This file is the one place that lists
//! the backends: a third one is a variant of both enums here, and its engine's module.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::kernels::{self, KernelUse};
use super::report::EngineInfo;
use crate::Error;
use crate::cpu::CpuEngine;
use crate::engine::peak::DevicePeak;
use crate::engine::tune::{self, Autotune, TuneProgress};
use crate::engine::tune_cache::Location;
use crate::engine::{Engine, EngineOptions, Gpu, ModeStats, OpWork, Precision, Profile, RunOutput};
use crate::model::{Config, Mode, Weights};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The WGSL kernels through wgpu (results files from before backends existed are this).
    #[default]
    Gpu,
    /// The CPU engine (`crate::cpu`).
    Cpu,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Gpu, Backend::Cpu];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Gpu => "gpu",
            Backend::Cpu => "cpu",
        }
    }

    /// Its place in `ALL` (views give each backend a style by it).
    pub fn index(self) -> usize {
        Backend::ALL.iter().position(|&b| b == self).unwrap_or(0)
    }

    /// Whether its engine needs a GPU adapter.
    pub fn needs_gpu(self) -> bool {
        self == Backend::Gpu
    }

    /// The precision it computes in when `asked` is wanted: the CPU engine's is always f32.
    pub fn precision(self, asked: Precision) -> Precision {
        match self {
            Backend::Gpu => asked,
            Backend::Cpu => Precision::F32,
        }
    }

    /// `gpu`, `cpu`, `all`, or a comma list of the first two.
    pub fn parse_list(text: &str) -> Result<Vec<Backend>, Error> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim) {
            let add: &[Backend] = match part {
                "gpu" => &[Backend::Gpu],
                "cpu" => &[Backend::Cpu],
                "all" => &Backend::ALL,
                other => {
                    return Err(Error::Usage(format!(
                        "unknown backend '{other}': allowed are 'gpu', 'cpu' and 'all' (or \
                         'gpu,cpu')"
                    )));
                }
            };
            for b in add {
                if !out.contains(b) {
                    out.push(*b);
                }
            }
        }
        Ok(out)
    }
}

/// The default of files written before backends existed.
pub(crate) fn gpu_only() -> Vec<Backend> {
    vec![Backend::Gpu]
}

/// An open engine of some backend.
pub enum Runner {
    /// Both boxed: an engine is hundreds of bytes and sizes differ by backend.
    Gpu(Box<Engine>),
    Cpu(Box<CpuEngine>),
}

/// What `Runner::open` says when the GPU engine is asked for and no adapter is open.
pub const NO_GPU_OPEN: &str = "the GPU engine needs a GPU adapter, and none is open";

impl Runner {
    /// Opens `backend`'s engine on `weights`; the GPU engine on `gpu`, which the CPU engine
    /// never touches. `options` are the GPU engine's; the CPU engine takes their batch.
    pub async fn open(
        backend: Backend,
        gpu: Option<&Gpu>,
        weights: &Weights,
        options: EngineOptions,
    ) -> Result<Runner, Error> {
        Ok(match backend {
            Backend::Gpu => {
                let gpu = gpu.ok_or_else(|| Error::Gpu(NO_GPU_OPEN.to_string()))?;
                Runner::Gpu(Box::new(Engine::new(gpu, weights, options).await?))
            }
            Backend::Cpu => Runner::Cpu(Box::new(CpuEngine::new(weights, options.batch)?)),
        })
    }

    /// Whether its device was lost (a driver reset, out of memory): it must be opened again.
    pub fn is_lost(&self) -> bool {
        match self {
            Runner::Gpu(e) => e.gpu().lost().is_some(),
            Runner::Cpu(_) => false,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Runner::Gpu(_) => Backend::Gpu,
            Runner::Cpu(_) => Backend::Cpu,
        }
    }

    pub fn config(&self) -> &Config {
        match self {
            Runner::Gpu(e) => e.config(),
            Runner::Cpu(e) => e.config(),
        }
    }

    pub fn batch(&self) -> usize {
        match self {
            Runner::Gpu(e) => e.batch(),
            Runner::Cpu(e) => e.batch(),
        }
    }

    pub fn precision(&self) -> Precision {
        match self {
            Runner::Gpu(e) => e.precision(),
            Runner::Cpu(_) => Precision::F32,
        }
    }

    /// Whether its runs also report the device's own time (`RunOutput::gpu_ns`).
    pub fn has_device_clock(&self) -> bool {
        match self {
            Runner::Gpu(e) => e.has_timestamps(),
            Runner::Cpu(_) => false,
        }
    }

    /// Describes it, with the time it took to open.
    pub fn info(&self, create_ms: f64) -> Result<EngineInfo, Error> {
        let precision = self.precision();
        Ok(match self {
            Runner::Gpu(e) => EngineInfo {
                adapter: Some(e.gpu().summary.clone()),
                threads: None,
                simd: None,
                precision,
                create_ms: Some(create_ms),
                memory: Some(e.memory()?),
            },
            Runner::Cpu(e) => EngineInfo {
                adapter: None,
                threads: Some(e.threads()),
                simd: Some(e.simd().to_string()),
                precision,
                create_ms: Some(create_ms),
                memory: None,
            },
        })
    }

    /// Builds what a (mode, branches) run needs, once; its cost figures.
    pub fn prepare(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error> {
        match self {
            Runner::Gpu(e) => e.prepare(mode, branches),
            Runner::Cpu(e) => {
                let c = e.config();
                c.check_branches(branches)?;
                let ops = e.ops(mode, branches);
                Ok(ModeStats {
                    blocks: branches * c.depth,
                    flops: e.batch() as f64 * c.flops(branches * c.depth),
                    dispatches: ops,
                    // Each op waits for the one before it: a parallel run's branches are
                    // inside the op.
                    critical_path: ops,
                })
            }
        }
    }

    /// One inference on `images` ([batch, C, H, W]) with branches `0..branches`.
    pub async fn run(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
    ) -> Result<RunOutput, Error> {
        match self {
            Runner::Gpu(e) => e.run(mode, branches, images).await,
            Runner::Cpu(e) => Ok(RunOutput {
                logits: e.run(mode, branches, images)?,
                gpu_ns: None,
            }),
        }
    }

    /// Before a point: nothing of the page's or of earlier work may still be running.
    pub async fn settle(&self) -> Result<(), Error> {
        match self {
            Runner::Gpu(e) => e.settle().await,
            Runner::Cpu(_) => {
                crate::platform::browser_pause(50).await;
                Ok(())
            }
        }
    }

    /// Before each timed run.
    pub async fn wait_idle(&self) -> Result<(), Error> {
        match self {
            Runner::Gpu(e) => e.wait_idle().await,
            Runner::Cpu(_) => {
                // In the browser a run holds the page's only thread: give the page a turn.
                crate::platform::browser_pause(0).await;
                Ok(())
            }
        }
    }

    /// The shortest span one timed sample may cover: shorter runs are timed back to back
    /// and averaged, since a page's clock has a 0.1 ms grain (no cross-origin isolation).
    /// A GPU run is a submission and a read-back (milliseconds in a page); a small model on
    /// the CPU can take less than the clock's grain, so it is timed in groups of 2 ms.
    pub fn min_sample_ms(&self) -> f64 {
        match self {
            Runner::Gpu(_) => 0.0,
            Runner::Cpu(_) => 2.0,
        }
    }

    /// Chooses its kernels for `runs` (see `Engine::autotune`); None for an engine without
    /// kernel variants.
    pub async fn tune(
        &mut self,
        runs: &[(Mode, usize)],
        how: Autotune,
        location: &Location,
        cancel: &AtomicBool,
        on_progress: impl FnMut(TuneProgress),
    ) -> Result<Option<tune::Outcome>, Error> {
        match self {
            Runner::Gpu(e) => Ok(Some(
                e.autotune(runs, how, location, cancel, on_progress).await?,
            )),
            Runner::Cpu(_) => Ok(None),
        }
    }

    /// Adds the kernel variants a (mode, branches) run uses to `uses` (nothing for an
    /// engine without variants).
    pub fn record_kernels(&mut self, mode: Mode, branches: usize, uses: &mut Vec<KernelUse>) {
        if let Runner::Gpu(e) = self
            && let Ok(picks) = e.picks(mode, branches)
        {
            kernels::record(uses, &picks, |k| e.candidates(k).to_vec());
        }
    }

    /// Its roofs, and whether they came from the kernel cache (measured in an earlier
    /// process): the GPU's from its probes or the cache (a cache warning joins the method's
    /// text), the CPU engine's measured now.
    pub async fn peak(
        &mut self,
        how: Autotune,
        cache: &Location,
    ) -> Result<(DevicePeak, bool), Error> {
        match self {
            Runner::Gpu(e) => {
                let out = e.device_peak(how, cache).await?;
                let mut peak = out.peak;
                for w in out.warnings {
                    peak.method.push_str(&format!("; warning: {w}"));
                }
                Ok((peak, out.cached))
            }
            Runner::Cpu(_) => Ok((super::peak::cpu_peak(), false)),
        }
    }

    /// Per-op times of a (mode, branches) run, medians of `runs` samples: the GPU's per
    /// dispatch, the CPU engine's per stage (each run alone by the wall clock); None for an
    /// engine that cannot time its ops.
    pub async fn profile(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
        runs: usize,
    ) -> Result<Option<Profile>, Error> {
        match self {
            Runner::Gpu(e) => Ok(Some(e.profile(mode, branches, images, runs).await?)),
            Runner::Cpu(e) => {
                // A normal run first: it checks the input and warms the buffers.
                e.run(mode, branches, images)?;
                let stages = e.time_stages(mode, branches, images, runs)?;
                let (c, images) = (e.config(), e.batch());
                let lanes = crate::model::network::lanes(mode, branches);
                let work: Vec<OpWork> = stages
                    .iter()
                    .map(|(stage, ms)| {
                        let w = stage.work(c, images, lanes);
                        OpWork {
                            label: stage.label(),
                            op: stage.op(),
                            flops: w.flops,
                            bytes: 4.0 * w.values,
                            ms: *ms,
                        }
                    })
                    .collect();
                let method = format!(
                    "each op of the CPU engine run alone, back to back for 2 ms a sample, by \
                     the wall clock; medians of {} samples",
                    runs.max(1)
                );
                Ok(Some(Profile::aggregate(&method, &work)))
            }
        }
    }
}
