//! From a planned step to GPU work: a `Dispatch` (pipeline, bind group, grid), the one
//! function that records dispatches into a compute pass, and the timestamps around them.
//! Normal runs, per-op profiles and single-op probes all go through here.

use super::Gpu;
use super::step::{Buf, Step, fold_grid};
use crate::Error;

/// One prepared dispatch (cloning shares its pipeline and bind group).
#[derive(Clone)]
pub struct Dispatch {
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub grid: [u32; 3],
}

impl Dispatch {
    /// The dispatch of `step`: its pipeline from the device's cache, binding 0 the
    /// parameter block `params`, bindings 1.. the step's buffers in order, and its
    /// workgroups folded into a grid of at most `max_grid_dim` per dimension.
    pub fn new<'a>(
        gpu: &Gpu,
        step: &Step,
        params: wgpu::BufferBinding<'_>,
        buffer: impl Fn(Buf) -> &'a wgpu::Buffer,
        max_grid_dim: u32,
    ) -> Result<Dispatch, Error> {
        let grid = fold_grid(step.groups, max_grid_dim).ok_or_else(|| {
            Error::Gpu(format!(
                "op {} needs {} workgroups, more than {max_grid_dim}^3 that fit the grid: \
                 use fewer branches or a smaller batch",
                step.kernel.op, step.groups
            ))
        })?;
        let pipeline = gpu.pipeline(&step.kernel);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(params),
        }];
        for (n, &buf) in step.bindings.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: n as u32 + 1,
                resource: buffer(buf).as_entire_binding(),
            });
        }
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(step.kernel.op),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        Ok(Dispatch {
            pipeline,
            bind_group,
            grid,
        })
    }
}

/// Where a pass writes timestamps.
#[derive(Clone, Copy)]
pub enum Stamps<'a> {
    None,
    /// At the start and the end of the pass: queries 0 and 1.
    Pass(&'a Timestamps),
    /// Before the first dispatch and after each one: queries 0..=n (needs timestamps
    /// inside passes).
    EachDispatch(&'a Timestamps),
}

/// Records `dispatches` in order into one compute pass of `enc`.
pub fn encode(
    enc: &mut wgpu::CommandEncoder,
    label: &str,
    dispatches: &[Dispatch],
    stamps: Stamps,
) {
    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: match stamps {
            Stamps::Pass(t) => Some(wgpu::ComputePassTimestampWrites {
                query_set: &t.queries,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
            _ => None,
        },
    });
    if let Stamps::EachDispatch(t) = stamps {
        pass.write_timestamp(&t.queries, 0);
    }
    for (i, d) in dispatches.iter().enumerate() {
        pass.set_pipeline(&d.pipeline);
        pass.set_bind_group(0, &d.bind_group, &[]);
        let [x, y, z] = d.grid;
        pass.dispatch_workgroups(x, y, z);
        if let Stamps::EachDispatch(t) = stamps {
            pass.write_timestamp(&t.queries, i as u32 + 1);
        }
    }
}

/// A set of timestamp queries with the buffers that bring them back to the CPU.
pub struct Timestamps {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    count: u32,
    period_ns: f64,
}

impl Timestamps {
    pub fn new(gpu: &Gpu, label: &str, count: u32) -> Timestamps {
        let device = &gpu.device;
        let size = 8 * u64::from(count);
        Timestamps {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some(label),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            count,
            period_ns: f64::from(gpu.queue.get_timestamp_period()),
        }
    }

    /// Records the copy of every query into the readback buffer (after the pass).
    pub fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        enc.resolve_query_set(&self.queries, 0..self.count, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, self.readback.size());
    }

    /// The buffer and length to read back after `resolve`.
    pub fn readback(&self) -> (&wgpu::Buffer, u64) {
        (&self.readback, self.readback.size())
    }

    /// Nanoseconds between consecutive queries, from the bytes read back.
    pub fn intervals_ns(&self, bytes: &[u8]) -> Vec<f64> {
        let ts: Vec<u64> = bytemuck::pod_collect_to_vec(bytes);
        ts.windows(2)
            .map(|w| w[1].saturating_sub(w[0]) as f64 * self.period_ns)
            .collect()
    }
}
