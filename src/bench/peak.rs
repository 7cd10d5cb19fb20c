//! The roofs of the per-op profile, per backend: the GPU's from its probes
//! (`Engine::device_peak`, cached per adapter), the CPU engine's measured here with its own
//! kernels (a large square product through its linear op, a large copy over its threads).

use web_time::Instant;

use crate::cpu::kernels::{self, Lane};
use crate::engine::peak::DevicePeak;

/// Side of the CPU probe's square product: 2 x 768^3 = 0.9 GFLOP, tens of ms on a core.
const SIDE: usize = 768;
/// Floats each way of the CPU copy: 64 MiB natively (beyond the caches of most CPUs), 16
/// MiB in the page (its memory grows by what it allocates once).
#[cfg(not(target_arch = "wasm32"))]
const COPY_FLOATS: usize = 16 << 20;
#[cfg(target_arch = "wasm32")]
const COPY_FLOATS: usize = 4 << 20;
const SAMPLES: usize = 5;

/// The CPU engine's roofs on this machine: the fastest of `SAMPLES` timed runs of each
/// probe after one untimed run (a peak is the best the machine does).
pub fn cpu_peak() -> DevicePeak {
    let n = SIDE;
    let x: Vec<f32> = (0..n * n).map(|i| (i % 89) as f32 * 1e-2).collect();
    let w: Vec<f32> = (0..n * n).map(|i| (i % 97) as f32 * 1e-2).collect();
    let mut y = vec![0.0f32; n * n];
    let lane = [Lane {
        x: &x,
        w: &w,
        bias: None,
        residual: None,
    }];
    let product_ms = time(|| {
        kernels::on_workers(|| kernels::linear(&lane, n, n, n, false, &mut y));
    });
    let src = vec![1.0f32; COPY_FLOATS];
    let mut dst = vec![0.0f32; COPY_FLOATS];
    let copy_ms = time(|| kernels::on_workers(|| kernels::spread_copy(&src, &mut dst)));
    let bytes = 2.0 * 4.0 * COPY_FLOATS as f64;
    DevicePeak {
        gflops: 2.0 * (n * n * n) as f64 / (product_ms * 1e6),
        gbytes_per_s: bytes / (copy_ms * 1e6),
        method: format!(
            "the CPU engine's linear op on a {n} x {n} x {n} product and a {} MiB copy, {} \
             threads, {}, wall clock",
            (4 * COPY_FLOATS) >> 20,
            kernels::threads(),
            kernels::simd()
        ),
    }
}

/// The least ms of `SAMPLES` runs of `f` after one untimed run (at least the page clock's
/// grain, so that no rate is infinite).
fn time(mut f: impl FnMut()) -> f64 {
    f();
    let least = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min);
    least.max(0.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_roofs_are_plausible() {
        let p = cpu_peak();
        // A core does at least a few GFLOP/s with SIMD, and no machine of today 100 TFLOP/s.
        assert!(p.gflops > 0.5 && p.gflops < 1e5, "{p:?}");
        assert!(p.gbytes_per_s > 0.1 && p.gbytes_per_s < 1e4, "{p:?}");
        assert!(p.method.contains("threads"), "{p:?}");
    }
}
