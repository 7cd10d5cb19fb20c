//! Per-op profile of one inference: where the time goes. With timestamps inside passes
//! (native) every dispatch of a normal run is bracketed by timestamps; otherwise each op
//! is run alone, timed by pass timestamps when there are any, else by the wall clock.

use web_time::Instant;

use super::encode::{self, Dispatch, Stamps, Timestamps};
use super::peak::DevicePeak;
use super::{Engine, Plan, read_back};
use crate::Error;
use crate::model::Mode;
use crate::stats::median;

/// One op label aggregated over an inference.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpTiming {
    pub label: String,
    pub op: String,
    /// Dispatches with this label per inference.
    pub count: usize,
    /// Median time per inference spent in these dispatches.
    pub ms: f64,
    /// Fraction of the sum over all ops.
    pub share: f64,
    pub gflops: f64,
    pub gbytes_per_s: f64,
    /// FLOP per byte moved (its place on the roofline's x axis).
    #[serde(default)]
    pub intensity: f64,
    /// Achieved over the attainable rate min(peak, intensity x bandwidth) of the device's
    /// measured roofs (`Profile::with_roof`; absent without them and in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_roof: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// How the times were taken.
    pub method: String,
    pub total_ms: f64,
    pub ops: Vec<OpTiming>,
}

/// One timed op of an inference (a dispatch, or a stage of the CPU engine).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpWork {
    pub label: &'static str,
    pub op: &'static str,
    pub flops: f64,
    pub bytes: f64,
    pub ms: f64,
}

impl Profile {
    /// The profile of an inference's timed ops, those with one label added up; the
    /// slowest first.
    pub fn aggregate(method: &str, work: &[OpWork]) -> Profile {
        let mut ops: Vec<OpTiming> = Vec::new();
        for w in work {
            let entry = match ops.iter_mut().position(|o| o.label == w.label) {
                Some(i) => &mut ops[i],
                None => {
                    ops.push(OpTiming {
                        label: w.label.to_string(),
                        op: w.op.to_string(),
                        count: 0,
                        ms: 0.0,
                        share: 0.0,
                        gflops: 0.0,
                        gbytes_per_s: 0.0,
                        intensity: 0.0,
                        of_roof: None,
                    });
                    ops.last_mut().expect("just pushed")
                }
            };
            entry.count += 1;
            entry.ms += w.ms;
            // Accumulate work in the rate fields; divided by the time below.
            entry.gflops += w.flops;
            entry.gbytes_per_s += w.bytes;
        }
        let total_ms: f64 = work.iter().map(|w| w.ms).sum();
        for o in &mut ops {
            let secs = (o.ms / 1e3).max(1e-12);
            o.intensity = if o.gbytes_per_s > 0.0 {
                o.gflops / o.gbytes_per_s
            } else {
                0.0
            };
            o.gflops /= secs * 1e9;
            o.gbytes_per_s /= secs * 1e9;
            o.share = if total_ms > 0.0 { o.ms / total_ms } else { 0.0 };
        }
        ops.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        Profile {
            method: method.to_string(),
            total_ms,
            ops,
        }
    }

    /// Every op's fraction of the roofs in `peak`.
    pub fn with_roof(mut self, peak: &DevicePeak) -> Profile {
        for o in &mut self.ops {
            o.of_roof = Some(peak.fraction(o.gflops, o.gbytes_per_s));
        }
        self
    }

    pub fn table(&self) -> String {
        let mut out = format!("per-op profile ({})\n", self.method);
        out.push_str(&format!(
            "{:<24} {:>5} {:>10} {:>7} {:>9} {:>8} {:>7} {:>7}\n",
            "op", "count", "ms", "share", "GFLOP/s", "GB/s", "FLOP/B", "% roof"
        ));
        for o in &self.ops {
            let roof = o
                .of_roof
                .map_or("-".to_string(), |f| format!("{:.1}%", 100.0 * f));
            out.push_str(&format!(
                "{:<24} {:>5} {:>10.3} {:>6.1}% {:>9.2} {:>8.2} {:>7.2} {:>7}\n",
                o.label,
                o.count,
                o.ms,
                100.0 * o.share,
                o.gflops,
                o.gbytes_per_s,
                o.intensity,
                roof
            ));
        }
        out.push_str(&format!(
            "{:<24} {:>5} {:>10.3}\n",
            "total", "", self.total_ms
        ));
        out
    }
}

impl Engine {
    /// Profiles `runs` inferences (medians per dispatch) of a (mode, branches) run.
    pub async fn profile(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
        runs: usize,
    ) -> Result<Profile, Error> {
        // A normal run first: validates the input and leaves realistic data in every buffer.
        self.run(mode, branches, images).await?;
        let runs = runs.max(1);
        let plan = &self.plans[&(mode, branches)];
        let (method, per_step) = if self.gpu.summary.timestamps_inside_passes {
            let m = "GPU timestamps written between the dispatches of a normal run";
            (m, self.time_inside_pass(plan, runs).await?)
        } else if self.timer.is_some() {
            let m = "each op run alone in its own pass, timed by pass timestamps";
            (m, self.time_alone(plan, runs).await?)
        } else {
            let m = "each op run alone, timed by the wall clock from submit to completion";
            (m, self.time_alone(plan, runs).await?)
        };
        let work: Vec<OpWork> = plan
            .steps
            .iter()
            .zip(&per_step)
            .map(|(step, &ms)| OpWork {
                label: step.label,
                op: step.kernel.op,
                flops: step.flops,
                bytes: step.bytes,
                ms,
            })
            .collect();
        Ok(Profile::aggregate(method, &work))
    }

    /// Per dispatch, the median over `runs` normal runs of the time between the
    /// timestamps before and after it, in ms.
    async fn time_inside_pass(&self, plan: &Plan, runs: usize) -> Result<Vec<f64>, Error> {
        let n = plan.dispatches.len();
        let stamps = Timestamps::new(&self.gpu, "per-op timestamps", n as u32 + 1);
        let mut samples = vec![Vec::with_capacity(runs); n];
        for _ in 0..runs {
            let mut enc = self.gpu.device.create_command_encoder(&Default::default());
            let each = Stamps::EachDispatch(&stamps);
            encode::encode(&mut enc, "per-op profile", &plan.dispatches, each);
            stamps.resolve(&mut enc);
            self.gpu.queue.submit([enc.finish()]);
            let bytes = read_back(&self.gpu.device, &[stamps.readback()]).await?;
            for (s, ns) in samples.iter_mut().zip(stamps.intervals_ns(&bytes[0])) {
                s.push(ns / 1e6);
            }
        }
        Ok(samples.iter().map(|s| median(s)).collect())
    }

    /// Per dispatch, the median over `runs` of it run alone in its own pass, in ms: by the
    /// pass's timestamps when there are any, else by the wall clock from submit to completion.
    async fn time_alone(&self, plan: &Plan, runs: usize) -> Result<Vec<f64>, Error> {
        let mut out = Vec::with_capacity(plan.dispatches.len());
        for (step, dispatch) in plan.steps.iter().zip(&plan.dispatches) {
            let mut s = Vec::with_capacity(runs);
            for _ in 0..runs {
                s.push(
                    self.time_pass(step.label, std::slice::from_ref(dispatch))
                        .await?,
                );
            }
            out.push(median(&s));
        }
        Ok(out)
    }

    /// Ms of one pass of `dispatches` back to back: by the pass's timestamps when there are
    /// any, else by the wall clock from submit to completion (a single op's profile, a
    /// tuning candidate's pass).
    pub(super) async fn time_pass(
        &self,
        label: &str,
        dispatches: &[Dispatch],
    ) -> Result<f64, Error> {
        let logits = &self.buffers[&super::Buf::Logits];
        let mut enc = self.gpu.device.create_command_encoder(&Default::default());
        let stamps = self.timer.as_ref().map_or(Stamps::None, Stamps::Pass);
        encode::encode(&mut enc, label, dispatches, stamps);
        // A small copy gives the wall clock a completion point on every platform.
        enc.copy_buffer_to_buffer(logits, 0, &self.logits_readback, 0, logits.size());
        let mut reads = vec![(&self.logits_readback, logits.size())];
        if let Some(t) = &self.timer {
            t.resolve(&mut enc);
            reads.push(t.readback());
        }
        let start = Instant::now();
        self.gpu.queue.submit([enc.finish()]);
        let data = read_back(&self.gpu.device, &reads).await?;
        let wall = start.elapsed().as_secs_f64() * 1e3;
        Ok(match &self.timer {
            Some(t) => t.intervals_ns(&data[1])[0] / 1e6,
            None => wall,
        })
    }
}
