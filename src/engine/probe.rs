//! Runs one op on data the caller supplies and reads back what it wrote: how the kernel
//! tests check each shader against its CPU op, and how one op can be timed alone.

use std::collections::HashMap;

use super::encode::{self, Dispatch, Stamps};
use super::step::{Buf, Step};
use super::{Gpu, read_back, upload};
use crate::Error;

/// Runs `step` once. `data` holds the contents of every buffer the step binds (the
/// written one too: its initial contents). Returns the written buffer afterwards.
pub async fn run_step(
    gpu: &Gpu,
    step: &Step,
    data: &HashMap<Buf, Vec<f32>>,
    max_grid_dim: Option<u32>,
) -> Result<Vec<f32>, Error> {
    run_steps(gpu, std::slice::from_ref(step), data, max_grid_dim).await
}

/// Runs `steps` once, in order, in one pass (a split-k linear is two). `data` holds the
/// contents of every buffer they bind, stored at the steps' precision (the first step's:
/// one buffer has one type). Returns the buffer the last step wrote.
pub async fn run_steps(
    gpu: &Gpu,
    steps: &[Step],
    data: &HashMap<Buf, Vec<f32>>,
    max_grid_dim: Option<u32>,
) -> Result<Vec<f32>, Error> {
    let device = &gpu.device;
    let last = steps
        .last()
        .ok_or_else(|| Error::Input("no steps to run".into()))?;
    let precision = steps[0].kernel.precision;
    let mut buffers = HashMap::new();
    for buf in steps.iter().flat_map(|s| &s.bindings) {
        let values = data
            .get(buf)
            .ok_or_else(|| Error::Input(format!("no data given for buffer {buf:?}")))?;
        buffers.entry(*buf).or_insert_with(|| {
            upload(
                gpu,
                "probe",
                &precision.encode(values),
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            )
        });
    }
    let max = max_grid_dim.unwrap_or(device.limits().max_compute_workgroups_per_dimension);
    let params: Vec<wgpu::Buffer> = steps
        .iter()
        .map(|s| {
            upload(
                gpu,
                "probe parameters",
                &s.params,
                wgpu::BufferUsages::UNIFORM,
            )
        })
        .collect();
    let dispatches = steps
        .iter()
        .zip(&params)
        .map(|(s, p)| Dispatch::new(gpu, s, p.as_entire_buffer_binding(), |b| &buffers[&b], max))
        .collect::<Result<Vec<_>, Error>>()?;
    let out = &buffers[&last.writes()];
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("probe readback"),
        size: out.size(),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = device.create_command_encoder(&Default::default());
    encode::encode(&mut enc, last.label, &dispatches, Stamps::None);
    enc.copy_buffer_to_buffer(out, 0, &readback, 0, out.size());
    gpu.queue.submit([enc.finish()]);
    let bytes = read_back(device, &[(&readback, out.size())]).await?;
    let len = data[&last.writes()].len();
    let mut values = precision.decode(&bytes[0]);
    values.truncate(len);
    Ok(values)
}
