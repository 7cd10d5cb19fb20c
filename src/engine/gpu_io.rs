//! Moving data to and from the device: uploads through the queue, mapped read-backs that
//! work natively and in the browser, the model's weight buffers, and error scopes that turn
//! device errors into an `Error` naming what was being done.

use std::collections::HashMap;

use super::step::Buf;
use super::{Gpu, Precision};
use crate::Error;
use crate::model::{Config, Weights};

/// Fails when a buffer of the model on `batch` images would exceed the adapter's binding
/// or buffer size.
pub fn check_sizes(gpu: &Gpu, c: &Config, batch: usize, precision: Precision) -> Result<(), Error> {
    let allowed = binding_limit(gpu);
    for buf in Buf::ALL {
        let bytes = precision.bytes() * buf.len(c, batch) as u64;
        if bytes > allowed {
            return Err(Error::Gpu(format!(
                "buffer {buf:?} needs {} in one storage binding, the adapter allows {}: \
                 use fewer blocks, a smaller batch or smaller sizes",
                mib(bytes),
                mib(allowed)
            )));
        }
    }
    Ok(())
}

/// Every buffer of the model on `batch` images, the weights uploaded at `precision` (sizes
/// checked by `check_sizes`).
pub fn model_buffers(
    gpu: &Gpu,
    weights: &Weights,
    batch: usize,
    precision: Precision,
) -> HashMap<Buf, wgpu::Buffer> {
    let (c, device) = (&weights.config, &gpu.device);
    let data = weight_data(weights);
    // `Buf::Partial` has no size of its own: the engine makes it for the plans that use it.
    Buf::ALL
        .iter()
        .filter(|b| b.len(c, batch) > 0)
        .map(|&buf| {
            let label = format!("{buf:?}");
            let b = match data.get(&buf) {
                Some(values) => upload(
                    gpu,
                    &label,
                    &precision.encode(values),
                    wgpu::BufferUsages::STORAGE,
                ),
                None => device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&label),
                    size: precision.buffer_bytes(buf.len(c, batch)),
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_DST
                        | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                }),
            };
            (buf, b)
        })
        .collect()
}

/// The most bytes one storage binding may hold on `gpu` (binding and buffer limits).
pub fn binding_limit(gpu: &Gpu) -> u64 {
    let limits = gpu.device.limits();
    limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A buffer holding `contents`, written through the queue: unlike a buffer mapped at
/// creation this cannot panic when the device is lost (the error surfaces in the scopes).
pub fn upload(gpu: &Gpu, label: &str, contents: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
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
pub struct ErrorScopes([wgpu::ErrorScopeGuard; 3]);

impl ErrorScopes {
    pub fn push(device: &wgpu::Device) -> ErrorScopes {
        ErrorScopes([
            device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            device.push_error_scope(wgpu::ErrorFilter::Validation),
            device.push_error_scope(wgpu::ErrorFilter::Internal),
        ])
    }

    /// Pops all three (innermost first); a lost device is reported as such.
    pub async fn pop(self, gpu: &Gpu, doing: &str) -> Result<(), Error> {
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
        // Zero rows pad the head to `step::padded_classes`.
        (Buf::HeadW, padded(&w.head_w, Buf::HeadW.len(c, 1))),
        (Buf::HeadB, padded(&w.head_b, Buf::HeadB.len(c, 1))),
    ])
}

/// Maps the buffers for reading and copies their first `len` bytes out. Natively it waits
/// on the device; in the browser it awaits the mapping promise.
pub async fn read_back(
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
