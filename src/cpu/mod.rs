//! The CPU engine: the network's stages (`model::network`, the list the GPU planner walks
//! too) on the machine's cores, one op per stage. A parallel run holds its K branches as
//! lanes of one batched op per stage (the branch in the batch dimension); a serial run
//! chains the blocks in one lane. Linears carry their bias, GELU and residual in the
//! product's epilogue. `reference` stays the oracle.

pub mod kernels;
mod math;

use kernels::Lane;
use web_time::Instant;

use crate::Error;
use crate::model::network::{self, Layer, Named, Slot, Stage, Value};
use crate::model::{BlockWeights, Config, Mode, Pool, Weights};

/// Activations of the widest run so far, kept between runs: one per value of the network,
/// at its place in `Value::ALL`.
#[derive(Default)]
struct Buffers([Vec<f32>; Value::ALL.len()]);

impl Buffers {
    fn get(&self, v: Value) -> &[f32] {
        &self.0[v as usize]
    }

    fn slot(&mut self, v: Value) -> &mut Vec<f32> {
        &mut self.0[v as usize]
    }

    /// Lane `l` of value `v` ([rows, cols]; a shared value has one lane that all read).
    fn lane(&self, v: Value, rows: usize, cols: usize, l: usize) -> &[f32] {
        let l = if v.shared() { 0 } else { l };
        &self.get(v)[l * rows * cols..(l + 1) * rows * cols]
    }
}

pub struct CpuEngine {
    weights: Weights,
    batch: usize,
    bufs: Buffers,
}

impl CpuEngine {
    /// Holds a copy of the weights; runs take `batch` images.
    pub fn new(weights: &Weights, batch: usize) -> Result<CpuEngine, Error> {
        weights.config.validate()?;
        weights.config.check_batch(batch)?;
        Ok(CpuEngine {
            weights: weights.clone(),
            batch,
            bufs: Buffers::default(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.weights.config
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Worker threads of each op.
    pub fn threads(&self) -> usize {
        kernels::threads()
    }

    /// The SIMD instruction set of its matrix products.
    pub fn simd(&self) -> &'static str {
        kernels::simd()
    }

    /// Ops of one inference: one per stage of the network, as the GPU engine dispatches
    /// them (without its split-k sums).
    pub fn ops(&self, mode: Mode, branches: usize) -> usize {
        network::inference(self.config(), mode, branches).len()
    }

    /// Runs one inference on `images` ([batch, C, H, W], normalised) with branches
    /// `0..branches`; the logits [batch, classes].
    pub fn run(&mut self, mode: Mode, branches: usize, images: &[f32]) -> Result<Vec<f32>, Error> {
        let c = self.weights.config.clone();
        c.check_branches(branches)?;
        c.check_images(self.batch, images)?;
        Ok(kernels::on_workers(|| {
            self.forward(&c, mode, branches, images)
        }))
    }

    /// Wall-clock ms of each stage of one inference, each run alone: after a whole run
    /// (which leaves every value the stages read in place), a stage is repeated back to back
    /// to cover `MIN_SAMPLE_MS` per sample (a stage can be shorter than a page clock's
    /// grain), and the median of `runs` samples is its time.
    pub fn time_stages(
        &mut self,
        mode: Mode,
        branches: usize,
        images: &[f32],
        runs: usize,
    ) -> Result<Vec<(Stage, f64)>, Error> {
        let c = self.weights.config.clone();
        c.check_branches(branches)?;
        c.check_images(self.batch, images)?;
        let stages = network::inference(&c, mode, branches);
        let lanes = network::lanes(mode, branches);
        Ok(kernels::on_workers(|| {
            let mut head = Head::default();
            for &stage in &stages {
                self.stage(&c, stage, lanes, images, &mut head);
            }
            stages
                .iter()
                .map(|&stage| {
                    let mut once = || self.stage(&c, stage, lanes, images, &mut head);
                    (stage, time_alone(&mut once, runs.max(1)))
                })
                .collect()
        }))
    }

    /// `run` after its checks: every stage in order.
    fn forward(&mut self, c: &Config, mode: Mode, branches: usize, images: &[f32]) -> Vec<f32> {
        let mut head = Head::default();
        for stage in network::inference(c, mode, branches) {
            self.stage(c, stage, network::lanes(mode, branches), images, &mut head);
        }
        head.logits
    }

    /// One stage on `lanes` lanes: the activations in `self.bufs`, the head's in `head`.
    /// A stage never writes what it reads, so running it again gives the same values.
    fn stage(&mut self, c: &Config, stage: Stage, lanes: usize, images: &[f32], head: &mut Head) {
        match stage {
            Stage::PatchEmbed => self.patch_embed(images),
            Stage::Block { layer, slot } => self.layer(c, layer, slot, lanes),
            Stage::BranchSum => head.pooled = self.branch_sum(lanes),
            Stage::HeadNorm => head.normed = self.head_norm(&head.pooled),
            Stage::HeadLinear => head.logits = self.head_linear(&head.normed),
        }
    }

    /// One layer of a block position on every lane (lane l with block `base + l * stride`).
    fn layer(&mut self, c: &Config, n: Named, slot: Slot, lanes: usize) {
        let rows = self.batch * c.tokens();
        let w = &self.weights;
        let blocks: Vec<&BlockWeights> = (0..lanes)
            .map(|l| &w.blocks[slot.base + l * slot.stride])
            .collect();
        let b = &mut self.bufs;
        let y = match n.layer {
            Layer::Norm { y, .. } | Layer::Attention { out: y, .. } => y,
            Layer::Linear(l) => l.y,
        };
        // Taken out while written: the layer reads other values only.
        let mut out = std::mem::take(b.slot(y));
        out.resize(lanes * rows * y.cols(c), 0.0);
        match n.layer {
            Layer::Norm { x, gamma, beta, .. } => {
                let affine: Vec<_> = blocks.iter().map(|w| (gamma.of(w), beta.of(w))).collect();
                let lanes_in = if x.shared() { 1 } else { lanes };
                let input = &b.get(x)[..lanes_in * rows * x.cols(c)];
                kernels::layer_norm(input, x.shared(), &affine, rows, x.cols(c), &mut out);
            }
            Layer::Linear(lin) => {
                let (outs, ins) = lin.shape(c);
                let operands: Vec<Lane> = (0..lanes)
                    .map(|l| Lane {
                        x: b.lane(lin.x, rows, ins, l),
                        w: lin.w.of(blocks[l]),
                        bias: lin.bias.map(|p| p.of(blocks[l])),
                        residual: lin.residual.map(|r| b.lane(r, rows, outs, l)),
                    })
                    .collect();
                kernels::linear(&operands, rows, ins, outs, lin.gelu, &mut out);
            }
            Layer::Attention { qkv, .. } => {
                let input = &b.get(qkv)[..lanes * rows * qkv.cols(c)];
                let (t, heads, dh) = (c.tokens(), c.heads, c.dim_head);
                kernels::attention(input, lanes, self.batch, t, heads, dh, &mut out);
            }
        }
        *b.slot(y) = out;
    }

    /// x0 [batch * T, D]: patches projected, the class token first, positions added.
    fn patch_embed(&mut self, images: &[f32]) {
        let (c, w) = (&self.weights.config, &self.weights);
        let (p, ch, d, t) = (c.patch, c.channels, c.dim, c.tokens());
        let (n, len, gw) = (c.num_patches(), c.patch_len(), c.image_width / p);
        let mut patches = vec![0.0; self.batch * n * len];
        for (img, out) in images
            .chunks_exact(c.image_len())
            .zip(patches.chunks_exact_mut(n * len))
        {
            for (np, patch) in out.chunks_exact_mut(len).enumerate() {
                let (hy, wx) = (np / gw, np % gw);
                for (e, v) in patch.iter_mut().enumerate() {
                    // (p1 p2 c) order inside a patch.
                    let (p1, p2, cc) = (e / (p * ch), e / ch % p, e % ch);
                    let (y, x) = (hy * p + p1, wx * p + p2);
                    *v = img[(cc * c.image_height + y) * c.image_width + x];
                }
            }
        }
        let mut proj = vec![0.0; self.batch * n * d];
        let lane = Lane {
            x: &patches,
            w: &w.patch_w,
            bias: Some(&w.patch_b),
            residual: None,
        };
        kernels::linear(&[lane], self.batch * n, len, d, false, &mut proj);
        let x0 = self.bufs.slot(Value::X0);
        x0.resize(self.batch * t * d, 0.0);
        for (img, proj) in x0.chunks_exact_mut(t * d).zip(proj.chunks_exact(n * d)) {
            img[..d].copy_from_slice(&w.cls);
            img[d..].copy_from_slice(proj);
            img.iter_mut().zip(&w.pos).for_each(|(x, p)| *x += p);
        }
    }

    /// The lanes' H summed and pooled per image: [batch, D].
    fn branch_sum(&self, lanes: usize) -> Vec<f32> {
        let c = &self.weights.config;
        let (t, d) = (c.tokens(), c.dim);
        let mut pooled = vec![0.0; self.batch * d];
        for lane in self
            .bufs
            .get(Value::H)
            .chunks_exact(self.batch * t * d)
            .take(lanes)
        {
            for (p, y) in pooled.chunks_exact_mut(d).zip(lane.chunks_exact(t * d)) {
                match c.pool {
                    Pool::Cls => p.iter_mut().zip(&y[..d]).for_each(|(p, v)| *p += v),
                    Pool::Mean => {
                        for row in y.chunks_exact(d) {
                            p.iter_mut().zip(row).for_each(|(p, v)| *p += v / t as f32);
                        }
                    }
                }
            }
        }
        pooled
    }

    /// LN_h of the pooled values.
    fn head_norm(&self, pooled: &[f32]) -> Vec<f32> {
        let (w, d) = (&self.weights, self.weights.config.dim);
        let mut normed = vec![0.0; pooled.len()];
        let affine = [(&w.head_ln_w[..], &w.head_ln_b[..])];
        kernels::layer_norm(pooled, true, &affine, self.batch, d, &mut normed);
        normed
    }

    /// The classifier: [batch, classes].
    fn head_linear(&self, normed: &[f32]) -> Vec<f32> {
        let (c, w) = (&self.weights.config, &self.weights);
        let mut logits = vec![0.0; self.batch * c.num_classes];
        let lane = Lane {
            x: normed,
            w: &w.head_w,
            bias: Some(&w.head_b),
            residual: None,
        };
        kernels::linear(
            &[lane],
            self.batch,
            c.dim,
            c.num_classes,
            false,
            &mut logits,
        );
        logits
    }
}

/// The head's values between its stages: pooled, normed, the logits.
#[derive(Default)]
struct Head {
    pooled: Vec<f32>,
    normed: Vec<f32>,
    logits: Vec<f32>,
}

/// The shortest span a stage's timed sample covers: a page's clock has a 0.1 ms grain.
const MIN_SAMPLE_MS: f64 = 2.0;

/// Ms of one call of `f`: the median of `runs` samples, each as many calls back to back as
/// cover `MIN_SAMPLE_MS` (found by a probe of calls until it is covered, at most 10,000).
fn time_alone(f: &mut impl FnMut(), runs: usize) -> f64 {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let (t, mut n) = (Instant::now(), 0usize);
    while n == 0 || (n < 10_000 && ms(t) < MIN_SAMPLE_MS) {
        f();
        n += 1;
    }
    let reps = crate::stats::runs_to_cover(MIN_SAMPLE_MS, ms(t), n, 10_000);
    let samples: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            ms(t) / reps as f64
        })
        .collect();
    crate::stats::median(&samples)
}

#[cfg(test)]
mod tests;
