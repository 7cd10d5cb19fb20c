//! The parameters of a Para-Former in the spec's layout (PyTorch Linear weights are
//! [out, in], row-major), and a deterministic seeded initialisation.

use super::Config;

/// One transformer block: attention sub-block (LN_a) then MLP sub-block (LN_b).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockWeights {
    pub ln_a_w: Vec<f32>,
    pub ln_a_b: Vec<f32>,
    /// [3I, D], no bias.
    pub wqkv: Vec<f32>,
    /// [D, I]
    pub wo: Vec<f32>,
    pub bo: Vec<f32>,
    pub ln_b_w: Vec<f32>,
    pub ln_b_b: Vec<f32>,
    /// [M, D]
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    /// [D, M]
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

/// All weights. `blocks` is in serial order: block `k*d + j` is layer j of branch k.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub config: Config,
    /// [D, P*P*C]
    pub patch_w: Vec<f32>,
    pub patch_b: Vec<f32>,
    /// [D]
    pub cls: Vec<f32>,
    /// [T, D]
    pub pos: Vec<f32>,
    pub blocks: Vec<BlockWeights>,
    pub head_ln_w: Vec<f32>,
    pub head_ln_b: Vec<f32>,
    /// [C_out, D]
    pub head_w: Vec<f32>,
    pub head_b: Vec<f32>,
}

/// SplitMix64: tiny, fast, and identical on every platform, so a seed names one model.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn symmetric(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    pub fn fill(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.symmetric() * scale).collect()
    }

    /// Values around `center`, used for LayerNorm gains so that a wrong gain shows up in tests.
    pub fn around(&mut self, n: usize, center: f32, spread: f32) -> Vec<f32> {
        (0..n).map(|_| center + self.symmetric() * spread).collect()
    }
}

impl BlockWeights {
    fn seeded(c: &Config, rng: &mut Rng) -> BlockWeights {
        let (d, i, m) = (c.dim, c.inner(), c.mlp_dim);
        // PyTorch's Linear default: U(-1/sqrt(in), 1/sqrt(in)).
        let sd = 1.0 / (d as f32).sqrt();
        let si = 1.0 / (i as f32).sqrt();
        let sm = 1.0 / (m as f32).sqrt();
        BlockWeights {
            ln_a_w: rng.around(d, 1.0, 0.1),
            ln_a_b: rng.fill(d, 0.1),
            wqkv: rng.fill(3 * i * d, sd),
            wo: rng.fill(d * i, si),
            bo: rng.fill(d, si),
            ln_b_w: rng.around(d, 1.0, 0.1),
            ln_b_b: rng.fill(d, 0.1),
            w1: rng.fill(m * d, sd),
            b1: rng.fill(m, sd),
            w2: rng.fill(d * m, sm),
            b2: rng.fill(d, sm),
        }
    }

    /// The tensors of this block with their shapes, in checkpoint order.
    pub fn tensors(&self, c: &Config) -> [(&'static str, Vec<usize>, &Vec<f32>); 11] {
        let (d, i, m) = (c.dim, c.inner(), c.mlp_dim);
        [
            ("ln_a_w", vec![d], &self.ln_a_w),
            ("ln_a_b", vec![d], &self.ln_a_b),
            ("wqkv", vec![3 * i, d], &self.wqkv),
            ("wo", vec![d, i], &self.wo),
            ("bo", vec![d], &self.bo),
            ("ln_b_w", vec![d], &self.ln_b_w),
            ("ln_b_b", vec![d], &self.ln_b_b),
            ("w1", vec![m, d], &self.w1),
            ("b1", vec![m], &self.b1),
            ("w2", vec![d, m], &self.w2),
            ("b2", vec![d], &self.b2),
        ]
    }
}

impl Weights {
    /// Deterministic random weights: the same (config, seed) always gives the same model.
    pub fn seeded(config: &Config, seed: u64) -> Weights {
        let c = config;
        let mut rng = Rng::new(seed);
        let (d, t) = (c.dim, c.tokens());
        let sp = 1.0 / (c.patch_len() as f32).sqrt();
        let sd = 1.0 / (d as f32).sqrt();
        let patch_w = rng.fill(d * c.patch_len(), sp);
        let patch_b = rng.fill(d, sp);
        let cls = rng.fill(d, 1.0);
        let pos = rng.fill(t * d, 1.0);
        let blocks = (0..c.blocks())
            .map(|_| BlockWeights::seeded(c, &mut rng))
            .collect();
        Weights {
            config: c.clone(),
            patch_w,
            patch_b,
            cls,
            pos,
            blocks,
            head_ln_w: rng.around(d, 1.0, 0.1),
            head_ln_b: rng.fill(d, 0.1),
            head_w: rng.fill(c.num_classes * d, sd),
            head_b: rng.fill(c.num_classes, sd),
        }
    }

    /// Block `j` of branch `k`.
    pub fn block(&self, k: usize, j: usize) -> &BlockWeights {
        &self.blocks[k * self.config.depth + j]
    }

    /// The model made of branches `0..branches` only (the reference's `forward_step`).
    pub fn branch_prefix(&self, branches: usize) -> Weights {
        let mut w = self.clone();
        w.config.branches = branches.min(self.config.branches);
        w.blocks.truncate(w.config.blocks());
        w
    }
}

/// A random input image of the config's size, values in [-2.5, 2.5] as after the spec's normalisation.
pub fn seeded_image(config: &Config, seed: u64) -> Vec<f32> {
    Rng::new(seed).fill(config.image_len(), 2.5)
}
