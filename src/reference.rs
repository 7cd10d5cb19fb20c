//! The CPU reference: a plain f32 forward pass, one function per op, named like the
//! shaders, so that a GPU/CPU mismatch points at one op. Clarity over speed.

use crate::model::{BlockWeights, Config, Mode, Pool, Weights};

/// Splits the image into patches (`c (h p1) (w p2) -> (h w) (p1 p2 c)`), projects them,
/// prepends the class token and adds the position embedding: x0 [T, D].
pub fn patch_embed(c: &Config, image: &[f32], w: &Weights) -> Vec<f32> {
    let (p, ch, d) = (c.patch, c.channels, c.dim);
    let gw = c.image_width / p;
    let mut x0 = vec![0.0; c.tokens() * d];
    x0[..d].copy_from_slice(&w.cls);
    let mut patch = vec![0.0; c.patch_len()];
    for n in 0..c.num_patches() {
        let (hy, wx) = (n / gw, n % gw);
        for p1 in 0..p {
            for p2 in 0..p {
                for cc in 0..ch {
                    let (y, x) = (hy * p + p1, wx * p + p2);
                    patch[(p1 * p + p2) * ch + cc] =
                        image[(cc * c.image_height + y) * c.image_width + x];
                }
            }
        }
        let row = linear(&patch, 1, c.patch_len(), &w.patch_w, Some(&w.patch_b));
        x0[(n + 1) * d..(n + 2) * d].copy_from_slice(&row);
    }
    for (x, p) in x0.iter_mut().zip(&w.pos) {
        *x += p;
    }
    x0
}

/// LayerNorm over the last axis of `x` [rows, cols], eps 1e-5, affine.
pub fn layer_norm(x: &[f32], cols: usize, gamma: &[f32], beta: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(cols) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
        let inv = 1.0 / (var + 1e-5).sqrt();
        for ((&v, &g), &b) in row.iter().zip(gamma).zip(beta) {
            out.push(((v as f64 - mean) * inv) as f32 * g + b);
        }
    }
    out
}

/// `x [rows, k] W^T + b` with W [n, k] (PyTorch layout).
pub fn linear(x: &[f32], rows: usize, k: usize, w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let n = w.len() / k;
    let mut y = vec![0.0; rows * n];
    for r in 0..rows {
        let xr = &x[r * k..(r + 1) * k];
        for o in 0..n {
            let wr = &w[o * k..(o + 1) * k];
            let mut acc = 0.0f64;
            for (a, b) in xr.iter().zip(wr) {
                acc += (*a as f64) * (*b as f64);
            }
            y[r * n + o] = acc as f32 + b.map_or(0.0, |b| b[o]);
        }
    }
    y
}

/// Multi-head self-attention core on `qkv` [T, 3I] (q | k | v, head-major inside each):
/// softmax(q k^T / sqrt(Dh)) v per head, heads concatenated: [T, I].
pub fn attention(qkv: &[f32], tokens: usize, heads: usize, dim_head: usize) -> Vec<f32> {
    let i = heads * dim_head;
    let scale = 1.0 / (dim_head as f64).sqrt();
    let mut out = vec![0.0; tokens * i];
    let mut scores = vec![0.0f64; tokens];
    for h in 0..heads {
        for q in 0..tokens {
            let qv = &qkv[q * 3 * i + h * dim_head..][..dim_head];
            for (t, s) in scores.iter_mut().enumerate() {
                let kv = &qkv[t * 3 * i + i + h * dim_head..][..dim_head];
                *s = qv
                    .iter()
                    .zip(kv)
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum::<f64>()
                    * scale;
            }
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            for e in 0..dim_head {
                let mut acc = 0.0;
                for (t, s) in scores.iter().enumerate() {
                    acc += s * qkv[t * 3 * i + 2 * i + h * dim_head + e] as f64;
                }
                out[q * i + h * dim_head + e] = (acc / sum) as f32;
            }
        }
    }
    out
}

/// Exact GELU, x * Phi(x) with the error function (PyTorch's default).
pub fn gelu(x: &mut [f32]) {
    for v in x {
        let z = *v as f64;
        *v = (0.5 * z * (1.0 + libm::erf(z / std::f64::consts::SQRT_2))) as f32;
    }
}

/// `a += b`, the skip connections.
pub fn residual_add(a: &mut [f32], b: &[f32]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// One transformer block in the reference's PreNorm form (the skip carries the normalised input).
pub fn block(c: &Config, h: &[f32], w: &BlockWeights) -> Vec<f32> {
    let (t, d, i) = (c.tokens(), c.dim, c.inner());
    let u = layer_norm(h, d, &w.ln_a_w, &w.ln_a_b);
    let qkv = linear(&u, t, d, &w.wqkv, None);
    let att = attention(&qkv, t, c.heads, c.dim_head);
    let mut h1 = linear(&att, t, i, &w.wo, Some(&w.bo));
    residual_add(&mut h1, &u);
    let v = layer_norm(&h1, d, &w.ln_b_w, &w.ln_b_b);
    let mut g = linear(&v, t, d, &w.w1, Some(&w.b1));
    gelu(&mut g);
    let mut h2 = linear(&g, t, c.mlp_dim, &w.w2, Some(&w.b2));
    residual_add(&mut h2, &v);
    h2
}

/// Sums the branch outputs and pools each to one vector [D].
pub fn branch_sum(c: &Config, outputs: &[Vec<f32>]) -> Vec<f32> {
    let (t, d) = (c.tokens(), c.dim);
    let mut pooled = vec![0.0; d];
    for y in outputs {
        match c.pool {
            Pool::Cls => residual_add(&mut pooled, &y[..d]),
            Pool::Mean => {
                for row in y.chunks_exact(d) {
                    for (p, v) in pooled.iter_mut().zip(row) {
                        *p += v / t as f32;
                    }
                }
            }
        }
    }
    pooled
}

/// LN_h then the classifier: logits [C_out].
pub fn head(c: &Config, pooled: &[f32], w: &Weights) -> Vec<f32> {
    let n = layer_norm(pooled, c.dim, &w.head_ln_w, &w.head_ln_b);
    linear(&n, 1, c.dim, &w.head_w, Some(&w.head_b))
}

/// Output of branch k: d blocks chained on x0.
pub fn branch(w: &Weights, x0: &[f32], k: usize) -> Vec<f32> {
    (0..w.config.depth).fold(x0.to_vec(), |h, j| block(&w.config, &h, w.block(k, j)))
}

/// Logits of one image [C, H, W] (already normalised).
pub fn forward(w: &Weights, image: &[f32], mode: Mode) -> Vec<f32> {
    let c = &w.config;
    let x0 = patch_embed(c, image, w);
    let outputs = match mode {
        Mode::Parallel => (0..c.branches).map(|k| branch(w, &x0, k)).collect(),
        Mode::Serial => vec![w.blocks.iter().fold(x0, |h, b| block(c, &h, b))],
    };
    head(c, &branch_sum(c, &outputs), w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::seeded_image;

    fn cfg(k: usize, d: usize) -> Config {
        let mut c = Config::preset("mnist").unwrap();
        c.branches = k;
        c.depth = d;
        c
    }

    #[test]
    fn parallel_is_the_sum_of_branches_run_alone() {
        let w = Weights::seeded(&cfg(3, 2), 11);
        let img = seeded_image(&w.config, 5);
        let x0 = patch_embed(&w.config, &img, &w);
        let alone: Vec<Vec<f32>> = (0..3)
            .map(|k| {
                // A one-branch model holding only branch k.
                let mut wk = w.branch_prefix(1);
                wk.blocks = (0..2).map(|j| w.block(k, j).clone()).collect();
                branch(&wk, &x0, 0)
            })
            .collect();
        let mut sum = alone[0].clone();
        residual_add(&mut sum, &alone[1]);
        residual_add(&mut sum, &alone[2]);
        let expect = head(&w.config, &sum[..w.config.dim], &w);
        let got = forward(&w, &img, Mode::Parallel);
        for (a, b) in got.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn serial_is_the_chain_of_blocks_in_branch_order() {
        let w = Weights::seeded(&cfg(2, 2), 3);
        let img = seeded_image(&w.config, 1);
        let c = &w.config;
        let mut h = patch_embed(c, &img, &w);
        for k in 0..2 {
            for j in 0..2 {
                h = block(c, &h, w.block(k, j));
            }
        }
        let expect = head(c, &h[..c.dim], &w);
        assert_eq!(forward(&w, &img, Mode::Serial), expect);
        // One branch: both modes are the same network.
        let w1 = w.branch_prefix(1);
        assert_eq!(
            forward(&w1, &img, Mode::Serial),
            forward(&w1, &img, Mode::Parallel)
        );
    }

    #[test]
    fn ops_on_known_values() {
        let n = layer_norm(&[1.0, 2.0, 3.0, 4.0], 4, &[1.0; 4], &[0.5; 4]);
        let expect = [-1.3416355, -0.4472118, 0.4472118, 1.3416355].map(|v| v + 0.5);
        for (a, b) in n.iter().zip(expect) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let mut g = [0.0, 1.0, -1.0, 3.0];
        gelu(&mut g);
        for (a, b) in g.iter().zip([0.0, 0.8413447, -0.15865526, 2.9959502]) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // Two tokens, one head of dim 1: q=(1,0), k=(0,1), v=(2,4).
        let qkv = [1.0, 0.0, 2.0, 0.0, 1.0, 4.0];
        let a = attention(&qkv, 2, 1, 1);
        let p = 1.0 / (1.0 + 1f32.exp());
        assert!((a[0] - (2.0 * p + 4.0 * (1.0 - p))).abs() < 1e-6);
        assert!((a[1] - 3.0).abs() < 1e-6);
        assert_eq!(
            linear(&[1.0, 2.0], 1, 2, &[3.0, 4.0, 5.0, 6.0], Some(&[1.0, 0.0])),
            [12.0, 17.0]
        );
    }
}
