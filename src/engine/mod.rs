//! The GPU engine: weights uploaded once, activation buffers sized for the widest run and
//! reused, a prepared plan (one `Dispatch` per step) per (mode, branches), and one compute
//! pass per inference. Works natively and in the browser: nothing here blocks on wasm.
//!
//! Layers, lowest first: `step` (the plan's vocabulary), `ops` (one file per shader),
//! `plan` (the planner), then the engine: `kernels` (registry and pipeline cache),
//! `encode` (dispatches, passes, timestamps), `gpu_io`, `device`, this file, `profile`.

pub mod choice;
mod device;
mod encode;
mod gpu_io;
mod kernels;
pub mod ops;
pub mod peak;
pub mod plan;
mod precision;
pub mod probe;
mod profile;
pub mod step;
pub mod tune;
pub mod tune_cache;

use std::collections::HashMap;

pub use device::{AdapterSummary, Gpu, Resources, WITHOUT_F16_ENV};
use encode::{Dispatch, Stamps, Timestamps};
use gpu_io::{ErrorScopes, model_buffers, read_back, upload};
pub use kernels::{SHADERS, source as shader_source};
pub use precision::Precision;
pub use profile::{OpTiming, OpWork, Profile};
use step::{Buf, Step};

use crate::Error;
use crate::model::{Config, Mode, Weights};

/// Options that change how the engine lays out its work, not what it computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// Images per inference.
    pub batch: usize,
    /// Largest workgroup count per grid dimension to use; `None` takes the device limit.
    /// Tests lower it to exercise grid folding.
    pub max_grid_dim: Option<u32>,
    /// Kernel variants that replace the adapter's heuristic (`choice::Adapter::heuristic`)
    /// for every shape. Tests set all of these.
    pub forced: choice::Forced,
    /// Wall ms `autotune` may spend timing candidates over the engine's life; keys left
    /// over keep the heuristic (tests raise it so that every key is tuned).
    pub tune_budget_ms: u32,
    /// The element type of every buffer; f16 needs the adapter's SHADER_F16.
    pub precision: Precision,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            batch: 1,
            max_grid_dim: None,
            forced: choice::Forced::default(),
            tune_budget_ms: tune::BUDGET_MS,
            precision: Precision::F32,
        }
    }
}

/// What one inference costs in a mode, independent of the device.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModeStats {
    /// Blocks evaluated (K*d in both modes).
    pub blocks: usize,
    /// FLOPs for the whole batch (the spec's count).
    pub flops: f64,
    /// Compute dispatches per inference.
    pub dispatches: usize,
    /// Longest chain of dependent dispatches.
    pub critical_path: usize,
}

/// Device memory of an engine: what it holds and what the model needs in principle
/// (every weight once plus the largest set of activations alive at one step).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    pub held_bytes: u64,
    pub weight_bytes: u64,
    pub needed_bytes: u64,
}

/// One inference's result.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// [batch, classes]
    pub logits: Vec<f32>,
    /// Time between the pass's start and end timestamps, when the device has timestamp queries.
    pub gpu_ns: Option<f64>,
}

struct Plan {
    steps: Vec<Step>,
    /// The kernel choice behind each step (None for an op without variants).
    picks: Vec<Option<choice::Pick>>,
    dispatches: Vec<Dispatch>,
    stats: ModeStats,
    _params: wgpu::Buffer,
}

pub struct Engine {
    gpu: Gpu,
    config: Config,
    options: EngineOptions,
    max_grid_dim: u32,
    choices: choice::Choices,
    buffers: HashMap<Buf, wgpu::Buffer>,
    logits_readback: wgpu::Buffer,
    /// Start and end of each run's pass, when the device has timestamp queries.
    timer: Option<Timestamps>,
    plans: HashMap<(Mode, usize), Plan>,
    /// What each tuned or cached choice measured (`tune`), and the ms spent timing.
    tuning: std::collections::BTreeMap<choice::Key, Vec<tune_cache::Candidate>>,
    tuning_ms: f64,
    /// The device's measured roofs, once asked for (`peak`).
    peak: Option<peak::DevicePeak>,
}

impl Engine {
    /// Uploads the weights and allocates every buffer a run of up to K branches needs.
    pub async fn new(
        gpu: &Gpu,
        weights: &Weights,
        options: EngineOptions,
    ) -> Result<Engine, Error> {
        let c = weights.config.clone();
        c.validate()?;
        gpu.check()?;
        c.check_batch(options.batch)?;
        gpu.check_precision(options.precision)?;
        let precision = options.precision;
        gpu_io::check_sizes(gpu, &c, options.batch, precision)?;
        let (device, limits) = (&gpu.device, gpu.device.limits());
        let scopes = ErrorScopes::push(device);
        let buffers = model_buffers(gpu, weights, options.batch, precision);
        let logits_readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("logits readback"),
            size: precision.buffer_bytes(Buf::Logits.len(&c, options.batch)),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let timer = gpu
            .summary
            .timestamps
            .then(|| Timestamps::new(gpu, "pass timestamps", 2));
        scopes.pop(gpu, "uploading the model").await?;
        let max_grid_dim = options
            .max_grid_dim
            .unwrap_or(limits.max_compute_workgroups_per_dimension)
            .min(limits.max_compute_workgroups_per_dimension);
        let adapter = choice::Adapter::of(&gpu.info, &limits);
        options.forced.check(&adapter)?;
        Ok(Engine {
            gpu: gpu.clone(),
            config: c,
            options,
            max_grid_dim,
            choices: choice::Choices::new(adapter, options.forced),
            buffers,
            logits_readback,
            timer,
            plans: HashMap::new(),
            tuning: Default::default(),
            tuning_ms: 0.0,
            peak: None,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Invocations per workgroup of the linear kernel for shapes without an entry of their
    /// own (every shape, until a tuner sets some).
    pub fn linear_group(&self) -> u32 {
        self.choices.default_for(choice::Op::Linear).variant.group()
    }

    /// The kernel choices of a (mode, branches) run, one per step of an op with variants
    /// (in plan order: the same key may repeat).
    pub fn picks(&mut self, mode: Mode, branches: usize) -> Result<Vec<choice::Pick>, Error> {
        self.prepare(mode, branches)?;
        Ok(self.plans[&(mode, branches)]
            .picks
            .iter()
            .flatten()
            .copied()
            .collect())
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    pub fn batch(&self) -> usize {
        self.options.batch
    }

    /// The element type of the engine's buffers.
    pub fn precision(&self) -> Precision {
        self.options.precision
    }

    /// Whether runs report GPU timestamps.
    pub fn has_timestamps(&self) -> bool {
        self.timer.is_some()
    }

    /// Bytes of all device buffers the engine holds.
    pub fn device_bytes(&self) -> u64 {
        self.buffers.values().map(wgpu::Buffer::size).sum::<u64>() + self.logits_readback.size()
    }

    /// Device memory held against what the model needs in principle.
    pub fn memory(&self) -> Result<Memory, Error> {
        let (c, batch) = (&self.config, self.options.batch);
        let len = |b: Buf| b.len(c, batch);
        let weights: usize = Buf::ALL
            .iter()
            .filter(|b| b.is_weight())
            .map(|&b| len(b))
            .sum();
        // Parallel mode with every branch is the largest live set of either mode.
        let planned = self.plan_of(Mode::Parallel, c.branches, &self.choices)?;
        let live = plan::peak_live_activations(&planned.steps, |b| match b {
            Buf::Partial => planned.partial,
            b => len(b),
        });
        let bytes = self.options.precision.bytes();
        Ok(Memory {
            held_bytes: self.device_bytes(),
            weight_bytes: bytes * weights as u64,
            needed_bytes: bytes * (weights + live) as u64,
        })
    }

    /// Builds (once) the bind groups and parameters of a (mode, branches) run.
    pub fn prepare(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error> {
        self.config.check_branches(branches)?;
        if let Some(p) = self.plans.get(&(mode, branches)) {
            return Ok(p.stats);
        }
        self.gpu.check()?;
        let planned = self.plan_of(mode, branches, &self.choices)?;
        self.reserve_partial(planned.partial)?;
        let steps = planned.steps;
        let stats = ModeStats {
            blocks: branches * self.config.depth,
            flops: self.options.batch as f64 * self.config.flops(branches * self.config.depth),
            dispatches: steps.len(),
            critical_path: plan::critical_path(&steps),
        };
        let p = self.build_plan(steps, planned.picks, stats)?;
        self.plans.insert((mode, branches), p);
        Ok(stats)
    }

    /// The plan of a (mode, branches) run of this engine's model, batch and precision with
    /// `choices`.
    fn plan_of(
        &self,
        mode: Mode,
        branches: usize,
        choices: &choice::Choices,
    ) -> Result<plan::Planned, Error> {
        let mut planned = plan::plan(&self.config, self.options.batch, mode, branches, choices)?;
        let precision = self.options.precision;
        for s in &mut planned.steps {
            s.kernel.precision = precision;
            // Ops count bytes of f32 values; every buffer holds values of `precision`.
            s.bytes *= precision.bytes() as f64 / 4.0;
        }
        Ok(planned)
    }

    /// Makes `Buf::Partial` hold at least `floats` values (split-k linears' parts, at the
    /// engine's precision). A larger buffer replaces the old one, and the plans bound to the
    /// old one are built again.
    fn reserve_partial(&mut self, floats: usize) -> Result<(), Error> {
        let bytes = self.options.precision.buffer_bytes(floats);
        let held = self
            .buffers
            .get(&Buf::Partial)
            .map_or(0, wgpu::Buffer::size);
        if floats == 0 || held >= bytes {
            return Ok(());
        }
        let allowed = gpu_io::binding_limit(&self.gpu);
        if bytes > allowed {
            return Err(Error::Gpu(format!(
                "the split-k linears' partial sums need {} in one storage binding, the \
                 adapter allows {}: split k in fewer parts or use a smaller batch",
                gpu_io::mib(bytes),
                gpu_io::mib(allowed)
            )));
        }
        let buffer = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("Partial"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        self.buffers.insert(Buf::Partial, buffer);
        self.plans.clear();
        Ok(())
    }

    fn build_plan(
        &mut self,
        steps: Vec<Step>,
        picks: Vec<Option<choice::Pick>>,
        stats: ModeStats,
    ) -> Result<Plan, Error> {
        // Every step's parameters in one uniform buffer, each at an aligned offset.
        let align = self.gpu.device.limits().min_uniform_buffer_offset_alignment as usize;
        let slot = steps
            .iter()
            .map(|s| s.params.len())
            .max()
            .unwrap_or(4)
            .next_multiple_of(align);
        let mut bytes = vec![0u8; slot * steps.len()];
        for (i, s) in steps.iter().enumerate() {
            bytes[i * slot..i * slot + s.params.len()].copy_from_slice(&s.params);
        }
        let params = upload(
            &self.gpu,
            "dispatch parameters",
            &bytes,
            wgpu::BufferUsages::UNIFORM,
        );
        let dispatches = steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let binding = wgpu::BufferBinding {
                    buffer: &params,
                    offset: (i * slot) as u64,
                    size: wgpu::BufferSize::new(s.params.len() as u64),
                };
                Dispatch::new(
                    &self.gpu,
                    s,
                    binding,
                    |b| &self.buffers[&b],
                    self.max_grid_dim,
                )
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Plan {
            steps,
            picks,
            dispatches,
            stats,
            _params: params,
        })
    }

    /// Waits until the device has finished all work submitted so far, by anyone on this
    /// device (in the browser the page's own drawing shares the queue).
    pub async fn wait_idle(&self) -> Result<(), Error> {
        let (tx, rx) = futures_channel::oneshot::channel();
        self.gpu.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        rx.await
            .map_err(|_| Error::Gpu("the device was lost while waiting for it".into()))
    }

    /// Before a timed run: in the browser, lets the page draw the frame it asked for (the app
    /// asks between timed runs, not during them), then waits until the shared queue is idle,
    /// so that the page's drawing does not land inside the timing. Natively a window draws
    /// through its own device; waiting for this engine's queue is all there is to do.
    pub async fn settle(&self) -> Result<(), Error> {
        crate::platform::browser_pause(50).await;
        self.wait_idle().await
    }

    /// Runs one inference on `images` ([batch, C, H, W], normalised) with branches
    /// `0..branches` (`self.config().branches` for the whole model) and reads the logits back.
    pub async fn run(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
    ) -> Result<RunOutput, Error> {
        self.config.check_images(self.options.batch, images)?;
        self.gpu.check()?;
        self.prepare(mode, branches)?;
        let scopes = ErrorScopes::push(&self.gpu.device);
        let queue = &self.gpu.queue;
        let precision = self.options.precision;
        let mut image = precision.encode(images);
        // Writes are whole 4-byte words (f16 values may end half-way through one); the
        // buffer's size was rounded up alike.
        if !image.len().is_multiple_of(4) {
            let words = image.len().next_multiple_of(4);
            image.to_mut().resize(words, 0);
        }
        queue.write_buffer(&self.buffers[&Buf::Image], 0, &image);
        self.submit(mode, branches);
        let mut reads = vec![(&self.logits_readback, self.logits_readback.size())];
        reads.extend(self.timer.as_ref().map(Timestamps::readback));
        let data = read_back(&self.gpu.device, &reads).await;
        scopes.pop(&self.gpu, "running the model").await?;
        let data = data.map_err(|e| self.gpu.check().err().unwrap_or(e))?;
        let gpu_ns = self.timer.as_ref().map(|t| t.intervals_ns(&data[1])[0]);
        let padded = precision.decode(&data[0]);
        let classes = self.config.num_classes;
        let logits = padded
            .chunks(step::padded_classes(&self.config))
            .flat_map(|row| &row[..classes])
            .copied()
            .collect();
        Ok(RunOutput { logits, gpu_ns })
    }

    fn submit(&self, mode: Mode, branches: usize) {
        let plan = &self.plans[&(mode, branches)];
        let mut enc = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(mode.name()),
            });
        let stamps = self.timer.as_ref().map_or(Stamps::None, Stamps::Pass);
        encode::encode(&mut enc, mode.name(), &plan.dispatches, stamps);
        let logits = &self.buffers[&Buf::Logits];
        enc.copy_buffer_to_buffer(logits, 0, &self.logits_readback, 0, logits.size());
        if let Some(t) = &self.timer {
            t.resolve(&mut enc);
        }
        self.gpu.queue.submit([enc.finish()]);
    }

    /// The cost figures of a run, building its plan if needed.
    pub fn stats(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error> {
        self.prepare(mode, branches)
    }
}
