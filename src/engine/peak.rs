//! The device's peak: its best f32 multiply-add rate and storage-buffer bandwidth, measured
//! on the device by the `peak` probe kernels and cached like tuned kernels (`tune_cache`,
//! op "peak"). A per-op profile compares each op's achieved rates with these roofs
//! (`Profile::with_roof`), so a user sees how far every op is from what the device can do.
//!
//! Rules: each probe grows its work until one pass takes `PASS_MS` (a single long dispatch
//! for the ALU probe, repeated copies for the bandwidth one) and reports the fastest of
//! `SAMPLES` passes (a peak is what the device does at best: a pass slowed by anything
//! else must not lower the roof); the copy moves up to 64 MiB each way, more than the last-level cache
//! of current GPUs (50 MiB on an H100), within the device's binding limit.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use web_time::Instant;

use super::encode::Dispatch;
use super::gpu_io::ErrorScopes;
use super::ops::peak::{self, Peak};
use super::tune::Autotune;
use super::tune_cache::{self, Cache, Device, Entry, Location};
use super::{Engine, upload};
use crate::Error;

/// The shortest pass a probe is timed over.
const PASS_MS: f64 = 8.0;
const SAMPLES: usize = 5;
/// Invocations of the ALU probe: 4096 workgroups of 64, enough to fill a wide GPU.
const FMA_INVOCATIONS: usize = 4096 * peak::GROUP as usize;
const FMA_START_ITERS: usize = 16;
const FMA_MAX_ITERS: usize = 1 << 16;
/// Bytes each way of the bandwidth probe, at most (the binding limit may lower it).
const COPY_BYTES: u64 = 64 << 20;
const MAX_REPEATS: usize = 64;

/// What a device (or the CPU engine's machine) can do at best, as measured: the roofs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DevicePeak {
    /// f32 multiply-adds (2 flops each) per second, in 1e9.
    pub gflops: f64,
    /// Bytes read plus written per second by a large copy, in 1e9.
    pub gbytes_per_s: f64,
    /// How both were measured, or that they come from the cache.
    pub method: String,
}

impl DevicePeak {
    /// The FLOP rate `intensity` (FLOP per byte) allows: min(peak, intensity x bandwidth).
    pub fn attainable_gflops(&self, intensity: f64) -> f64 {
        self.gflops.min(intensity * self.gbytes_per_s)
    }

    /// Where bandwidth meets the peak: the intensity (FLOP per byte) from which an op can
    /// be compute bound.
    pub fn ridge(&self) -> f64 {
        self.gflops / self.gbytes_per_s
    }

    /// The roof between intensities `from` and `to` as (intensity, GFLOP/s) corners: the
    /// bandwidth slope up to the ridge, then the peak (what a roofline plot draws).
    pub fn roof(&self, from: f64, to: f64) -> [(f64, f64); 3] {
        [
            (from, from * self.gbytes_per_s),
            (self.ridge(), self.gflops),
            (to, self.gflops),
        ]
    }

    /// Achieved over attainable, for an op that reached `gflops` and `gbytes_per_s`: the
    /// larger of its fractions of the two roofs (equal to gflops / attainable, and defined
    /// for ops without arithmetic too).
    pub fn fraction(&self, gflops: f64, gbytes_per_s: f64) -> f64 {
        // A roof of 0 (a damaged file's) bounds nothing.
        let part = |v: f64, roof: f64| if roof > 0.0 { v / roof } else { 0.0 };
        part(gflops, self.gflops).max(part(gbytes_per_s, self.gbytes_per_s))
    }
}

/// The peak and how getting it went (cache trouble is a warning, never an error).
#[derive(Clone, Debug, PartialEq)]
pub struct PeakOutcome {
    pub peak: DevicePeak,
    pub cached: bool,
    pub ms: f64,
    pub warnings: Vec<String>,
}

impl Engine {
    /// The device's peak, measured once per engine (`Refresh` measures again): read from
    /// the cache at `cache` (`On`), else measured and stored (`On` with nothing stored,
    /// `Refresh`); `Off` measures and neither reads nor writes the cache. A probe the device
    /// fails, or one that takes no measurable time, is an error and nothing is stored.
    pub async fn device_peak(
        &mut self,
        how: Autotune,
        cache: &Location,
    ) -> Result<PeakOutcome, Error> {
        let started = Instant::now();
        if let (Some(peak), false) = (&self.peak, how == Autotune::Refresh) {
            return Ok(PeakOutcome {
                peak: peak.clone(),
                cached: false,
                ms: 0.0,
                warnings: Vec::new(),
            });
        }
        let device = Device::of(&self.gpu.info);
        // What a measurement depends on besides the device: the probe's source and rules,
        // the size it could copy (the binding limit) and the clock that timed it.
        let rules = format!("{PASS_MS} {SAMPLES} {FMA_INVOCATIONS} {COPY_BYTES} {MAX_REPEATS}");
        let hash = tune_cache::hash([peak::SHADER.source, &rules]);
        let setup = format!("{} B, {}", self.copy_bytes(), self.clock());
        let keys = ["fma", "copy"].map(|what| tune_cache::key(&device, "peak", hash, what, &setup));
        let mut stored = match how {
            Autotune::Off => Cache::default(),
            _ => Cache::load(cache),
        };
        let mut warnings = std::mem::take(&mut stored.warnings);
        let entry = |k: &str| {
            stored
                .entries
                .get(k)
                .and_then(|e| Some((e.rate?, &e.variant)))
                // A stored rate that no probe can measure is no roof (a hand-edited file).
                .filter(|(rate, _)| rate.is_finite() && *rate > 0.0)
        };
        let cached = match (how, entry(&keys[0]), entry(&keys[1])) {
            (Autotune::On, Some((gflops, method)), Some((gbytes_per_s, _))) => Some(DevicePeak {
                gflops,
                gbytes_per_s,
                method: format!("from the kernel cache: {method}"),
            }),
            _ => None,
        };
        let was_cached = cached.is_some();
        let peak = match cached {
            Some(p) => p,
            None => {
                let p = self.measure_peak().await?;
                if how != Autotune::Off {
                    let entry = |rate| Entry {
                        variant: p.method.clone(),
                        candidates: Vec::new(),
                        rate: Some(rate),
                    };
                    let new = BTreeMap::from([
                        (keys[0].clone(), entry(p.gflops)),
                        (keys[1].clone(), entry(p.gbytes_per_s)),
                    ]);
                    warnings.extend(stored.save(new));
                }
                p
            }
        };
        self.peak = Some(peak.clone());
        Ok(PeakOutcome {
            peak,
            cached: was_cached,
            ms: started.elapsed().as_secs_f64() * 1e3,
            warnings,
        })
    }

    /// Bytes each way of the bandwidth probe on this device.
    fn copy_bytes(&self) -> u64 {
        COPY_BYTES.min(super::gpu_io::binding_limit(&self.gpu))
    }

    fn clock(&self) -> &'static str {
        if self.timer.is_some() {
            "GPU timestamps"
        } else {
            "the wall clock"
        }
    }

    /// Runs both probes on this device, inside error scopes: a probe the device fails is
    /// an error naming the probes, not a roof.
    async fn measure_peak(&self) -> Result<DevicePeak, Error> {
        self.gpu.check()?;
        let scopes = ErrorScopes::push(&self.gpu.device);
        let measured = self.run_probes().await;
        scopes.pop(&self.gpu, "measuring the device's peak").await?;
        let peak = measured?;
        let usable = |rate: f64| rate.is_finite() && rate > 0.0;
        if !(usable(peak.gflops) && usable(peak.gbytes_per_s)) {
            return Err(Error::Gpu(format!(
                "the peak probes gave no usable rate ({:.3e} GFLOP/s, {:.3e} GB/s by {}): \
                 measure without roofs (--peak off)",
                peak.gflops,
                peak.gbytes_per_s,
                self.clock()
            )));
        }
        Ok(peak)
    }

    async fn run_probes(&self) -> Result<DevicePeak, Error> {
        // Each invocation reads and writes one vec4: within the binding limit.
        let invocations = FMA_INVOCATIONS
            .min((self.copy_bytes() / 16) as usize)
            .max(1);
        let fma = |iters| Peak::Fma { invocations, iters };
        let mut iters = FMA_START_ITERS;
        loop {
            let ms = self.time_probe(fma(iters), 1, 1).await?;
            if ms >= PASS_MS || iters >= FMA_MAX_ITERS {
                break;
            }
            let grow = (PASS_MS / ms.max(1e-3)).clamp(2.0, 16.0);
            iters = ((iters as f64 * grow) as usize).min(FMA_MAX_ITERS);
        }
        let fma_ms = self.time_probe(fma(iters), 1, SAMPLES).await?;
        let gflops = fma(iters).step()?.flops / (fma_ms * 1e6);

        let bytes = self.copy_bytes();
        let copy = Peak::Copy {
            vec4s: (bytes / 16) as usize,
        };
        let once = self.time_probe(copy, 1, 1).await?;
        let repeats = ((PASS_MS / once.max(1e-3)).ceil() as usize).clamp(1, MAX_REPEATS);
        let copy_ms = self.time_probe(copy, repeats, SAMPLES).await?;
        let gbytes_per_s = copy.step()?.bytes / (copy_ms * 1e6);
        let clock = self.clock();
        Ok(DevicePeak {
            gflops,
            gbytes_per_s,
            method: format!(
                "probes timed by {clock}: {invocations} invocations x {iters} rounds of 8 \
                 vec4 multiply-adds; {:.0} MiB copied {repeats}x per pass",
                bytes as f64 / (1024.0 * 1024.0)
            ),
        })
    }

    /// The least ms per dispatch over `samples` passes of `repeats` dispatches of `probe`,
    /// on buffers of its own (freed when done).
    async fn time_probe(&self, probe: Peak, repeats: usize, samples: usize) -> Result<f64, Error> {
        let step = probe.step()?;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
        let floats = probe.floats();
        let empty = |label| {
            self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 4 * floats as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let input = match probe {
            // Small values that keep the multiply-add chains finite.
            Peak::Fma { .. } => {
                let data: Vec<f32> = (0..floats).map(|i| (i % 97) as f32 * 1e-2).collect();
                upload(&self.gpu, "peak input", bytemuck::cast_slice(&data), usage)
            }
            // What is copied does not matter (buffers start zeroed): no host copy of it.
            Peak::Copy { .. } => empty("peak input"),
        };
        let buffers = HashMap::from([(peak::INPUT, input), (peak::OUTPUT, empty("peak output"))]);
        let params = upload(
            &self.gpu,
            "peak parameters",
            &step.params,
            wgpu::BufferUsages::UNIFORM,
        );
        let dispatch = Dispatch::new(
            &self.gpu,
            &step,
            params.as_entire_buffer_binding(),
            |b| &buffers[&b],
            self.max_grid_dim,
        )?;
        let pass = vec![dispatch; repeats.max(1)];
        let mut ms = Vec::with_capacity(samples);
        for _ in 0..samples.max(1) {
            ms.push(self.time_pass("peak probe", &pass).await? / pass.len() as f64);
        }
        for b in buffers.values() {
            b.destroy();
        }
        Ok(ms.iter().copied().fold(f64::INFINITY, f64::min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roof_is_the_lower_of_compute_and_bandwidth() {
        let p = DevicePeak {
            gflops: 100.0,
            gbytes_per_s: 10.0,
            method: String::new(),
        };
        assert_eq!(p.attainable_gflops(1.0), 10.0);
        assert_eq!(p.attainable_gflops(50.0), 100.0);
        assert_eq!(p.ridge(), 10.0);
        assert_eq!(
            p.roof(1.0, 100.0),
            [(1.0, 10.0), (10.0, 100.0), (100.0, 100.0)]
        );
        // An op at intensity 2 reaching 10 GFLOP/s (5 GB/s) is at half of its roof (20).
        assert_eq!(p.fraction(10.0, 5.0), 0.5);
        // Without arithmetic only the bandwidth counts.
        assert_eq!(p.fraction(0.0, 2.5), 0.25);
    }
}
