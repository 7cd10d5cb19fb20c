//! The CPU engine: the same network as the GPU engine, with the same plan shapes, on the
//! machine's cores. A parallel run holds its K branches as lanes of one batched op per step
//! (the branch in the batch dimension); a serial run chains the blocks in one lane. Linears
//! carry their bias, GELU and residual in the product's epilogue. `reference` stays the oracle.

pub mod kernels;
mod math;

use kernels::Lane;

use crate::Error;
use crate::model::{BlockWeights, Config, Mode, Pool, Weights};

/// Activations of the widest run so far, kept between runs.
#[derive(Default)]
struct Buffers {
    x0: Vec<f32>,
    h: Vec<f32>,
    u: Vec<f32>,
    qkv: Vec<f32>,
    att: Vec<f32>,
    h1: Vec<f32>,
    v: Vec<f32>,
    g: Vec<f32>,
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

    /// Ops of one inference: what the GPU engine dispatches, one op per dispatch.
    pub fn ops(&self, mode: Mode, branches: usize) -> usize {
        let layers = match mode {
            Mode::Parallel => self.config().depth,
            Mode::Serial => branches * self.config().depth,
        };
        // Patch embedding, 7 ops a block, the branch sum, the head's norm and linear.
        1 + 7 * layers + 3
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

    /// `run` after its checks.
    fn forward(&mut self, c: &Config, mode: Mode, branches: usize, images: &[f32]) -> Vec<f32> {
        let (rows, d) = (self.batch * c.tokens(), c.dim);
        let lanes = match mode {
            Mode::Parallel => branches,
            Mode::Serial => 1,
        };
        self.patch_embed(images);
        let b = &mut self.bufs;
        b.h.resize(lanes * rows * d, 0.0);
        for lane in b.h.chunks_exact_mut(rows * d) {
            lane.copy_from_slice(&b.x0);
        }
        let w = &self.weights;
        match mode {
            Mode::Parallel => {
                for j in 0..c.depth {
                    let blocks: Vec<&BlockWeights> = (0..branches).map(|k| w.block(k, j)).collect();
                    block(c, self.batch, &blocks, b);
                }
            }
            Mode::Serial => {
                for blk in &w.blocks[..branches * c.depth] {
                    block(c, self.batch, &[blk], b);
                }
            }
        }
        self.head(lanes)
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
        let x0 = &mut self.bufs.x0;
        x0.resize(self.batch * t * d, 0.0);
        for (img, proj) in x0.chunks_exact_mut(t * d).zip(proj.chunks_exact(n * d)) {
            img[..d].copy_from_slice(&w.cls);
            img[d..].copy_from_slice(proj);
            img.iter_mut().zip(&w.pos).for_each(|(x, p)| *x += p);
        }
    }

    /// The lanes summed and pooled per image, LN_h, the classifier: [batch, classes].
    fn head(&self, lanes: usize) -> Vec<f32> {
        let (c, w) = (&self.weights.config, &self.weights);
        let (t, d) = (c.tokens(), c.dim);
        let mut pooled = vec![0.0; self.batch * d];
        for lane in self.bufs.h.chunks_exact(self.batch * t * d).take(lanes) {
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
        let mut normed = vec![0.0; pooled.len()];
        let affine = [(&w.head_ln_w[..], &w.head_ln_b[..])];
        kernels::layer_norm(&pooled, true, &affine, self.batch, d, &mut normed);
        let mut logits = vec![0.0; self.batch * c.num_classes];
        let lane = Lane {
            x: &normed,
            w: &w.head_w,
            bias: Some(&w.head_b),
            residual: None,
        };
        kernels::linear(&[lane], self.batch, d, c.num_classes, false, &mut logits);
        logits
    }
}

/// One block on every lane of `b.h` (lane l with `blocks[l]`), in the reference's PreNorm
/// form; the result replaces `b.h`.
fn block(c: &Config, batch: usize, blocks: &[&BlockWeights], b: &mut Buffers) {
    let (rows, d, i, m) = (batch * c.tokens(), c.dim, c.inner(), c.mlp_dim);
    let lanes = blocks.len();
    let size = |cols: usize| lanes * rows * cols;
    for (buf, cols) in [
        (&mut b.u, d),
        (&mut b.qkv, 3 * i),
        (&mut b.att, i),
        (&mut b.h1, d),
        (&mut b.v, d),
        (&mut b.g, m),
    ] {
        buf.resize(size(cols), 0.0);
    }
    let norm_a: Vec<_> = blocks
        .iter()
        .map(|w| (&w.ln_a_w[..], &w.ln_a_b[..]))
        .collect();
    kernels::layer_norm(&b.h[..size(d)], false, &norm_a, rows, d, &mut b.u);
    let qkv: Vec<Lane> = (0..lanes)
        .map(|l| Lane {
            x: lane(rows, &b.u, d, l),
            w: &blocks[l].wqkv,
            bias: None,
            residual: None,
        })
        .collect();
    kernels::linear(&qkv, rows, d, 3 * i, false, &mut b.qkv);
    kernels::attention(
        &b.qkv,
        lanes,
        batch,
        c.tokens(),
        c.heads,
        c.dim_head,
        &mut b.att,
    );
    let wo: Vec<Lane> = (0..lanes)
        .map(|l| Lane {
            x: lane(rows, &b.att, i, l),
            w: &blocks[l].wo,
            bias: Some(&blocks[l].bo),
            residual: Some(lane(rows, &b.u, d, l)),
        })
        .collect();
    kernels::linear(&wo, rows, i, d, false, &mut b.h1);
    let norm_b: Vec<_> = blocks
        .iter()
        .map(|w| (&w.ln_b_w[..], &w.ln_b_b[..]))
        .collect();
    kernels::layer_norm(&b.h1, false, &norm_b, rows, d, &mut b.v);
    let w1: Vec<Lane> = (0..lanes)
        .map(|l| Lane {
            x: lane(rows, &b.v, d, l),
            w: &blocks[l].w1,
            bias: Some(&blocks[l].b1),
            residual: None,
        })
        .collect();
    kernels::linear(&w1, rows, d, m, true, &mut b.g);
    let w2: Vec<Lane> = (0..lanes)
        .map(|l| Lane {
            x: lane(rows, &b.g, m, l),
            w: &blocks[l].w2,
            bias: Some(&blocks[l].b2),
            residual: Some(lane(rows, &b.v, d, l)),
        })
        .collect();
    b.h.truncate(size(d));
    kernels::linear(&w2, rows, m, d, false, &mut b.h);
}

#[cfg(test)]
mod tests;

/// Lane `l` of a buffer of lanes of `[rows, cols]`.
fn lane(rows: usize, x: &[f32], cols: usize, l: usize) -> &[f32] {
    &x[l * rows * cols..(l + 1) * rows * cols]
}
