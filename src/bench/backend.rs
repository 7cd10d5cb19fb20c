//! What a sweep measures on: the WGSL engine on the GPU adapter, the CPU engine on the
//! machine's cores, or both in one run. A `Runner` is what the sweep needs of either.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::cpu::CpuEngine;
use crate::engine::{Engine, ModeStats, RunOutput};
use crate::model::Mode;

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

/// An engine as the sweep drives it.
pub(crate) trait Runner {
    /// Builds what a (mode, branches) run needs, once; its cost figures.
    fn prepare(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error>;
    /// One inference.
    async fn run(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
    ) -> Result<RunOutput, Error>;
    /// Before a point: nothing of the page's or of earlier work may still be running.
    async fn settle(&self) -> Result<(), Error>;
    /// Before each timed run.
    async fn wait_idle(&self) -> Result<(), Error>;
    /// The shortest span one timed sample may cover: shorter runs are timed back to back
    /// and averaged, since a page's clock has a 0.1 ms grain (no cross-origin isolation).
    fn min_sample_ms(&self) -> f64 {
        0.0
    }
}

impl Runner for Engine {
    fn prepare(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error> {
        Engine::prepare(self, mode, branches)
    }

    async fn run(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
    ) -> Result<RunOutput, Error> {
        Engine::run(self, mode, branches, images).await
    }

    async fn settle(&self) -> Result<(), Error> {
        Engine::settle(self).await
    }

    async fn wait_idle(&self) -> Result<(), Error> {
        Engine::wait_idle(self).await
    }
}

impl Runner for CpuEngine {
    fn prepare(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error> {
        let c = self.config();
        c.check_branches(branches)?;
        let ops = self.ops(mode, branches);
        Ok(ModeStats {
            blocks: branches * c.depth,
            flops: self.batch() as f64 * c.flops(branches * c.depth),
            dispatches: ops,
            // Each op waits for the one before it: a parallel run's branches are inside the op.
            critical_path: ops,
        })
    }

    async fn run(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
    ) -> Result<RunOutput, Error> {
        let logits = CpuEngine::run(self, mode, branches, images)?;
        Ok(RunOutput {
            logits,
            gpu_ns: None,
        })
    }

    async fn settle(&self) -> Result<(), Error> {
        crate::platform::browser_pause(50).await;
        Ok(())
    }

    async fn wait_idle(&self) -> Result<(), Error> {
        // In the browser a run holds the page's only thread: give the page a turn first.
        crate::platform::browser_pause(0).await;
        Ok(())
    }

    // A GPU run is a submission and a read-back (milliseconds in a page); a small model on
    // the CPU can take less than the page clock's grain, so it is timed in groups of 2 ms.
    fn min_sample_ms(&self) -> f64 {
        2.0
    }
}
