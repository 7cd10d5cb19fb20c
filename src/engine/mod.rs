//! The GPU engine: weights uploaded once, activation buffers sized for the widest run and
//! reused, a cached plan (bind groups and parameters) per (mode, branches), and one compute
//! pass per inference. Works natively and in the browser: nothing here blocks on wasm.

mod device;
mod kernels;
pub mod plan;
pub mod probe;
mod profile;

use std::collections::HashMap;

pub use device::{AdapterSummary, Gpu, Resources};
pub use kernels::{Kernel, SHADERS, Width, source as shader_source};
use plan::{Buf, Step};
pub use profile::{OpTiming, Profile};

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
    /// Invocations per workgroup of the linear kernel; `None` picks it for the adapter
    /// (`kernels::linear_group`). Tests set both values.
    pub linear_group: Option<u32>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            batch: 1,
            max_grid_dim: None,
            linear_group: None,
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
    dispatches: Vec<(Kernel, wgpu::BindGroup, [u32; 3])>,
    stats: ModeStats,
    _params: wgpu::Buffer,
}

struct Timer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
}

pub struct Engine {
    gpu: Gpu,
    config: Config,
    options: EngineOptions,
    max_grid_dim: u32,
    linear_group: u32,
    kernels: kernels::Pipelines,
    buffers: HashMap<Buf, wgpu::Buffer>,
    logits_readback: wgpu::Buffer,
    timer: Option<Timer>,
    plans: HashMap<(Mode, usize), Plan>,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
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
        let limits = gpu.device.limits();
        for buf in Buf::ALL {
            let bytes = 4 * buf.len(&c, options.batch) as u64;
            let allowed = limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size);
            if bytes > allowed {
                return Err(Error::Gpu(format!(
                    "buffer {buf:?} needs {} in one storage binding, the adapter allows {}: \
                     use fewer blocks, a smaller batch or smaller sizes",
                    mib(bytes),
                    mib(allowed)
                )));
            }
        }
        let device = &gpu.device;
        let scopes = ErrorScopes::push(device);
        let data = weight_data(weights);
        let buffers: HashMap<Buf, wgpu::Buffer> = Buf::ALL
            .iter()
            .map(|&buf| {
                let label = format!("{buf:?}");
                let b = match data.get(&buf) {
                    Some(values) => upload(
                        gpu,
                        &label,
                        bytemuck::cast_slice(values),
                        wgpu::BufferUsages::STORAGE,
                    ),
                    None => device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some(&label),
                        size: 4 * buf.len(&c, options.batch) as u64,
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_DST
                            | wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    }),
                };
                (buf, b)
            })
            .collect();
        let logits_readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("logits readback"),
            size: 4 * Buf::Logits.len(&c, options.batch) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let timer = gpu.summary.timestamps.then(|| Timer {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp readback"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            period_ns: gpu.queue.get_timestamp_period() as f64,
        });
        scopes.pop(gpu, "uploading the model").await?;
        let max_grid_dim = options
            .max_grid_dim
            .unwrap_or(limits.max_compute_workgroups_per_dimension)
            .min(limits.max_compute_workgroups_per_dimension);
        let linear_group = options
            .linear_group
            .unwrap_or_else(|| {
                kernels::linear_group(&gpu.summary.backend, &gpu.summary.device_type)
            })
            .clamp(
                1,
                limits
                    .max_compute_invocations_per_workgroup
                    .min(limits.max_compute_workgroup_size_x),
            );
        Ok(Engine {
            kernels: kernels::Pipelines::default(),
            gpu: gpu.clone(),
            config: c,
            options,
            max_grid_dim,
            linear_group,
            buffers,
            logits_readback,
            timer,
            plans: HashMap::new(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Invocations per workgroup of the linear kernel on this engine.
    pub fn linear_group(&self) -> u32 {
        self.linear_group
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    pub fn batch(&self) -> usize {
        self.options.batch
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
    pub fn memory(&self) -> Memory {
        let (c, batch) = (&self.config, self.options.batch);
        let len = |b: Buf| b.len(c, batch);
        let weights: usize = Buf::ALL
            .iter()
            .filter(|b| b.is_weight())
            .map(|&b| len(b))
            .sum();
        // Parallel mode with every branch is the largest live set of either mode.
        let steps = plan::plan(c, batch, Mode::Parallel, c.branches, self.linear_group);
        let live = plan::peak_live_activations(&steps, len);
        Memory {
            held_bytes: self.device_bytes(),
            weight_bytes: 4 * weights as u64,
            needed_bytes: 4 * (weights + live) as u64,
        }
    }

    fn check_branches(&self, branches: usize) -> Result<(), Error> {
        if branches == 0 || branches > self.config.branches {
            return Err(Error::Config(format!(
                "branches {branches} is out of range: this model has 1 to {} branches",
                self.config.branches
            )));
        }
        Ok(())
    }

    /// Builds (once) the bind groups and parameters of a (mode, branches) run.
    pub fn prepare(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error> {
        self.check_branches(branches)?;
        if let Some(p) = self.plans.get(&(mode, branches)) {
            return Ok(p.stats);
        }
        self.gpu.check()?;
        let steps = plan::plan(
            &self.config,
            self.options.batch,
            mode,
            branches,
            self.linear_group,
        );
        let stats = ModeStats {
            blocks: branches * self.config.depth,
            flops: self.options.batch as f64 * self.config.flops(branches * self.config.depth),
            dispatches: steps.len(),
            critical_path: plan::critical_path(&steps),
        };
        let p = self.build_plan(steps, stats)?;
        self.plans.insert((mode, branches), p);
        Ok(stats)
    }

    fn build_plan(&mut self, steps: Vec<Step>, stats: ModeStats) -> Result<Plan, Error> {
        let device = &self.gpu.device;
        let align = device.limits().min_uniform_buffer_offset_alignment as usize;
        let slot = steps
            .iter()
            .map(|s| 4 * s.params.len())
            .max()
            .unwrap_or(4)
            .next_multiple_of(align);
        let mut bytes = vec![0u8; slot * steps.len()];
        for (i, s) in steps.iter().enumerate() {
            let p: &[u8] = bytemuck::cast_slice(&s.params);
            bytes[i * slot..i * slot + p.len()].copy_from_slice(p);
        }
        let params = upload(
            &self.gpu,
            "dispatch parameters",
            &bytes,
            wgpu::BufferUsages::UNIFORM,
        );
        let mut dispatches = Vec::with_capacity(steps.len());
        for (i, s) in steps.iter().enumerate() {
            let grid = plan::fold_grid(s.groups, self.max_grid_dim).ok_or_else(|| {
                Error::Gpu(format!(
                    "op {} needs {} workgroups, more than {}^3 that fit the grid: use fewer branches or a smaller batch",
                    s.kernel.op(),
                    s.groups,
                    self.max_grid_dim
                ))
            })?;
            let pipeline = self.gpu.pipeline(s.kernel);
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &params,
                    offset: (i * slot) as u64,
                    size: wgpu::BufferSize::new(4 * s.params.len() as u64),
                }),
            }];
            for (n, buf) in s.bindings.iter().enumerate() {
                entries.push(wgpu::BindGroupEntry {
                    binding: n as u32 + 1,
                    resource: self.buffers[buf].as_entire_binding(),
                });
            }
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(s.kernel.op()),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            self.kernels.insert(s.kernel, pipeline);
            dispatches.push((s.kernel, group, grid));
        }
        Ok(Plan {
            steps,
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

    /// Runs one inference on `images` ([batch, C, H, W], normalised) with branches
    /// `0..branches` (`self.config().branches` for the whole model) and reads the logits back.
    pub async fn run(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
    ) -> Result<RunOutput, Error> {
        let want = self.options.batch * self.config.image_len();
        if images.len() != want {
            return Err(Error::Input(format!(
                "got {} input values, the engine needs {want} ({} images of {}x{}x{})",
                images.len(),
                self.options.batch,
                self.config.channels,
                self.config.image_height,
                self.config.image_width
            )));
        }
        if let Some(i) = images.iter().position(|v| !v.is_finite()) {
            return Err(Error::Input(format!(
                "input value {i} is {}: inputs must be finite numbers",
                images[i]
            )));
        }
        self.gpu.check()?;
        self.prepare(mode, branches)?;
        let scopes = ErrorScopes::push(&self.gpu.device);
        let queue = &self.gpu.queue;
        queue.write_buffer(&self.buffers[&Buf::Image], 0, bytemuck::cast_slice(images));
        self.submit(mode, branches);
        let logits_bytes = self.logits_readback.size();
        let mut reads = vec![(&self.logits_readback, logits_bytes)];
        if let Some(t) = &self.timer {
            reads.push((&t.readback, 16));
        }
        let data = read_back(&self.gpu.device, &reads).await;
        scopes.pop(&self.gpu, "running the model").await?;
        let data = data.map_err(|e| self.gpu.check().err().unwrap_or(e))?;
        let gpu_ns = self.timer.as_ref().map(|t| {
            let ts: Vec<u64> = bytemuck::pod_collect_to_vec(&data[1]);
            ts[1].saturating_sub(ts[0]) as f64 * t.period_ns
        });
        let padded: Vec<f32> = bytemuck::pod_collect_to_vec(&data[0]);
        let classes = self.config.num_classes;
        let logits = padded
            .chunks(plan::padded_classes(&self.config))
            .flat_map(|row| &row[..classes])
            .copied()
            .collect();
        Ok(RunOutput { logits, gpu_ns })
    }

    fn submit(&self, mode: Mode, branches: usize) {
        let plan = &self.plans[&(mode, branches)];
        let device = &self.gpu.device;
        let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some(mode.name()),
        });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(mode.name()),
                timestamp_writes: self
                    .timer
                    .as_ref()
                    .map(|t| wgpu::ComputePassTimestampWrites {
                        query_set: &t.queries,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    }),
            });
            for (kernel, group, [x, y, z]) in &plan.dispatches {
                pass.set_pipeline(self.kernels.get(*kernel));
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(*x, *y, *z);
            }
        }
        let logits = &self.buffers[&Buf::Logits];
        enc.copy_buffer_to_buffer(logits, 0, &self.logits_readback, 0, logits.size());
        if let Some(t) = &self.timer {
            enc.resolve_query_set(&t.queries, 0..2, &t.resolve, 0);
            enc.copy_buffer_to_buffer(&t.resolve, 0, &t.readback, 0, 16);
        }
        self.gpu.queue.submit([enc.finish()]);
    }

    /// The cost figures of a run, building its plan if needed.
    pub fn stats(&mut self, mode: Mode, branches: usize) -> Result<ModeStats, Error> {
        self.prepare(mode, branches)
    }
}

/// A buffer holding `contents`, written through the queue: unlike a buffer mapped at
/// creation this cannot panic when the device is lost (the error surfaces in the scopes).
pub(crate) fn upload(
    gpu: &Gpu,
    label: &str,
    contents: &[u8],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (contents.len() as u64).next_multiple_of(4).max(4),
        usage: usage | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let whole = contents.len() - contents.len() % 4;
    gpu.queue.write_buffer(&buffer, 0, &contents[..whole]);
    if whole < contents.len() {
        let mut tail = [0u8; 4];
        tail[..contents.len() - whole].copy_from_slice(&contents[whole..]);
        gpu.queue.write_buffer(&buffer, whole as u64, &tail);
    }
    buffer
}

/// Error scopes around GPU work: out-of-memory, validation and internal errors become an
/// `Error` naming what was being done, instead of an uncaptured error.
struct ErrorScopes([wgpu::ErrorScopeGuard; 3]);

impl ErrorScopes {
    fn push(device: &wgpu::Device) -> ErrorScopes {
        ErrorScopes([
            device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            device.push_error_scope(wgpu::ErrorFilter::Validation),
            device.push_error_scope(wgpu::ErrorFilter::Internal),
        ])
    }

    /// Pops all three (innermost first); a lost device is reported as such.
    async fn pop(self, gpu: &Gpu, doing: &str) -> Result<(), Error> {
        let [oom, validation, internal] = self.0;
        let mut first = None;
        for (what, scope) in [
            ("an internal error", internal),
            ("a validation error", validation),
            ("out of memory", oom),
        ] {
            if let Some(e) = scope.pop().await
                && first.is_none()
            {
                first = Some((what, e));
            }
        }
        if first.is_some() {
            gpu.notice_loss();
        }
        gpu.check()?;
        match first {
            None => Ok(()),
            Some(("out of memory", e)) => Err(Error::Gpu(format!(
                "the GPU ran out of memory while {doing}: {e}; use fewer blocks, a smaller batch \
                 or smaller sizes (results measured before are kept)"
            ))),
            Some((what, e)) => Err(Error::Gpu(format!("{what} while {doing}: {e}"))),
        }
    }
}

/// Weight buffer contents: each kind of block tensor concatenated over all blocks.
fn weight_data(w: &Weights) -> HashMap<Buf, Vec<f32>> {
    let c = &w.config;
    let cat = |f: fn(&crate::model::BlockWeights) -> &Vec<f32>| -> Vec<f32> {
        w.blocks.iter().flat_map(|b| f(b).iter().copied()).collect()
    };
    let padded = |v: &[f32], len: usize| -> Vec<f32> {
        let mut v = v.to_vec();
        v.resize(len, 0.0);
        v
    };
    HashMap::from([
        (Buf::PatchW, w.patch_w.clone()),
        (Buf::PatchB, w.patch_b.clone()),
        (Buf::Cls, w.cls.clone()),
        (Buf::Pos, w.pos.clone()),
        (Buf::LnAW, cat(|b| &b.ln_a_w)),
        (Buf::LnAB, cat(|b| &b.ln_a_b)),
        (Buf::Wqkv, cat(|b| &b.wqkv)),
        (Buf::Wo, cat(|b| &b.wo)),
        (Buf::Bo, cat(|b| &b.bo)),
        (Buf::LnBW, cat(|b| &b.ln_b_w)),
        (Buf::LnBB, cat(|b| &b.ln_b_b)),
        (Buf::W1, cat(|b| &b.w1)),
        (Buf::B1, cat(|b| &b.b1)),
        (Buf::W2, cat(|b| &b.w2)),
        (Buf::B2, cat(|b| &b.b2)),
        (Buf::HeadLnW, w.head_ln_w.clone()),
        (Buf::HeadLnB, w.head_ln_b.clone()),
        // Zero rows pad the head to `plan::padded_classes`.
        (Buf::HeadW, padded(&w.head_w, Buf::HeadW.len(c, 1))),
        (Buf::HeadB, padded(&w.head_b, Buf::HeadB.len(c, 1))),
    ])
}

/// Maps the buffers for reading and copies their first `len` bytes out. Natively it waits
/// on the device; in the browser it awaits the mapping promise.
async fn read_back(
    device: &wgpu::Device,
    buffers: &[(&wgpu::Buffer, u64)],
) -> Result<Vec<Vec<u8>>, Error> {
    let mut pending = Vec::with_capacity(buffers.len());
    for (buf, len) in buffers {
        let (tx, rx) = futures_channel::oneshot::channel();
        buf.slice(..*len).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        pending.push(rx);
    }
    #[cfg(not(target_arch = "wasm32"))]
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
    #[cfg(target_arch = "wasm32")]
    let _ = device;
    let mut out = Vec::with_capacity(buffers.len());
    for ((buf, len), rx) in buffers.iter().zip(pending) {
        rx.await
            .map_err(|_| Error::Gpu("the device was lost before the results were read".into()))?
            .map_err(|e| Error::Gpu(format!("reading results back failed: {e}")))?;
        let view = buf
            .slice(..*len)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading results back failed: {e}")))?;
        out.push(view.to_vec());
        drop(view);
        buf.unmap();
    }
    Ok(out)
}
