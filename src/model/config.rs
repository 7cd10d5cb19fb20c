//! Model hyper-parameters: the spec's presets, free editing, and validation
//! that explains what is wrong before any buffer is sized from a config.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Which token summarises the sequence before the classifier head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// The class token, `y[0]` (the reference's default).
    #[default]
    Cls,
    /// The mean over all tokens.
    Mean,
}

impl Pool {
    pub fn name(self) -> &'static str {
        match self {
            Pool::Cls => "cls",
            Pool::Mean => "mean",
        }
    }

    pub fn parse(s: &str) -> Result<Pool, Error> {
        match s {
            "cls" => Ok(Pool::Cls),
            "mean" => Ok(Pool::Mean),
            other => Err(Error::Config(format!(
                "unknown pool '{other}': allowed are 'cls' and 'mean'"
            ))),
        }
    }
}

/// Every hyper-parameter of a Para-Former (see `paraformer-spec.md`).
/// `branches` (K) x `depth` (d) blocks; a serial model runs the same K*d blocks in a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub image_height: usize,
    pub image_width: usize,
    pub channels: usize,
    pub patch: usize,
    pub dim: usize,
    pub heads: usize,
    pub dim_head: usize,
    pub mlp_dim: usize,
    pub num_classes: usize,
    pub branches: usize,
    pub depth: usize,
    #[serde(default)]
    pub pool: Pool,
}

/// Names of the presets the app offers, default first.
pub const PRESETS: [&str; 3] = ["cifar", "vit-tiny-224", "mnist"];

/// Upper bound on the number of f32 values of any one tensor (1 GiB). Far above every
/// real model here; it stops a config typo from asking for terabytes, and keeps every
/// size within a 32-bit `usize` (wasm32).
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 28;

/// Upper bound on the bytes of all weights (f32). A ViT-Huge has about 2.5 GB; this stops
/// a config from asking the machine for more memory than any model here needs.
pub const MAX_WEIGHT_BYTES: u64 = 4 << 30;

/// Upper bound on K*d: far beyond any model here, it bounds the work a config can ask for.
pub const MAX_BLOCKS: usize = 1 << 16;

/// Largest head dimension the fused attention kernel holds in registers.
pub const MAX_DIM_HEAD: usize = 256;

impl Config {
    pub fn preset(name: &str) -> Result<Config, Error> {
        let c = match name {
            "cifar" => Config {
                image_height: 32,
                image_width: 32,
                channels: 3,
                patch: 4,
                dim: 192,
                heads: 3,
                dim_head: 64,
                mlp_dim: 768,
                num_classes: 10,
                branches: 12,
                depth: 1,
                pool: Pool::Cls,
            },
            "vit-tiny-224" => Config {
                image_height: 224,
                image_width: 224,
                channels: 3,
                patch: 16,
                dim: 192,
                heads: 3,
                dim_head: 64,
                mlp_dim: 768,
                num_classes: 1000,
                branches: 8,
                depth: 2,
                pool: Pool::Cls,
            },
            "mnist" => Config {
                image_height: 28,
                image_width: 28,
                channels: 1,
                patch: 7,
                dim: 64,
                heads: 4,
                dim_head: 16,
                mlp_dim: 128,
                num_classes: 10,
                branches: 8,
                depth: 1,
                pool: Pool::Cls,
            },
            other => {
                return Err(Error::Config(format!(
                    "unknown preset '{other}': allowed are {}",
                    PRESETS.join(", ")
                )));
            }
        };
        Ok(c)
    }

    /// Patches per image, N.
    pub fn num_patches(&self) -> usize {
        (self.image_height / self.patch) * (self.image_width / self.patch)
    }

    /// Tokens per image, T = N + 1 (class token first).
    pub fn tokens(&self) -> usize {
        self.num_patches() + 1
    }

    /// Length of one flattened patch, P*P*C.
    pub fn patch_len(&self) -> usize {
        self.patch * self.patch * self.channels
    }

    /// Attention inner width, I = heads * dim_head.
    pub fn inner(&self) -> usize {
        self.heads * self.dim_head
    }

    /// Total blocks, L = K * d.
    pub fn blocks(&self) -> usize {
        self.branches * self.depth
    }

    /// Values in one input image, C*H*W.
    pub fn image_len(&self) -> usize {
        self.channels * self.image_height * self.image_width
    }

    /// Parameters of one transformer block.
    pub fn block_params(&self) -> usize {
        let (d, i, m) = (self.dim, self.inner(), self.mlp_dim);
        4 * d + 3 * i * d + d * i + d + m * d + m + d * m + d
    }

    /// All parameters of the model.
    pub fn params(&self) -> usize {
        self.blocks() * self.block_params() + self.params_outside_blocks()
    }

    /// Parameters of the embedding and the head.
    fn params_outside_blocks(&self) -> usize {
        let (d, t) = (self.dim, self.tokens());
        d * self.patch_len() + d + d + t * d + 2 * d + self.num_classes * d + self.num_classes
    }

    /// FLOPs of one block on one image (the spec's count: matmuls only, multiply-add = 2).
    pub fn block_flops(&self) -> f64 {
        let (t, d, i, m) = (
            self.tokens() as f64,
            self.dim as f64,
            self.inner() as f64,
            self.mlp_dim as f64,
        );
        let (h, dh) = (self.heads as f64, self.dim_head as f64);
        2.0 * t * d * 3.0 * i + 2.0 * 2.0 * h * t * t * dh + 2.0 * t * i * d + 2.0 * 2.0 * t * d * m
    }

    /// FLOPs of one inference on one image using `blocks` blocks (embedding and head included).
    pub fn flops(&self, blocks: usize) -> f64 {
        let embed = 2.0 * (self.num_patches() * self.patch_len() * self.dim) as f64;
        let head = 2.0 * (self.dim * self.num_classes) as f64;
        embed + blocks as f64 * self.block_flops() + head
    }

    /// Checks that the config describes a model that can exist; the message names
    /// the field, its value and what is allowed.
    pub fn validate(&self) -> Result<(), Error> {
        let positive = [
            ("image_height", self.image_height),
            ("image_width", self.image_width),
            ("channels", self.channels),
            ("patch", self.patch),
            ("dim", self.dim),
            ("heads", self.heads),
            ("dim_head", self.dim_head),
            ("mlp_dim", self.mlp_dim),
            ("num_classes", self.num_classes),
            ("branches", self.branches),
            ("depth", self.depth),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(Error::Config(format!("{name} is 0: it must be at least 1")));
            }
        }
        for (name, side) in [
            ("image_height", self.image_height),
            ("image_width", self.image_width),
        ] {
            if !side.is_multiple_of(self.patch) {
                return Err(Error::Config(format!(
                    "{name} {side} is not divisible by patch {}: choose a patch size that divides it",
                    self.patch
                )));
            }
        }
        if self.dim_head > MAX_DIM_HEAD {
            return Err(Error::Config(format!(
                "dim_head {} is larger than the {MAX_DIM_HEAD} the attention kernel supports",
                self.dim_head
            )));
        }
        let (h, w, p) = (
            self.image_height as u128,
            self.image_width as u128,
            self.patch as u128,
        );
        let tokens = (h / p) * (w / p) + 1;
        let (c, d, i, m) = (
            self.channels as u128,
            self.dim as u128,
            self.heads as u128 * self.dim_head as u128,
            self.mlp_dim as u128,
        );
        let blocks = self.branches as u128 * self.depth as u128;
        if blocks > MAX_BLOCKS as u128 {
            return Err(Error::Config(format!(
                "branches x depth = {blocks} blocks, more than the {MAX_BLOCKS} allowed"
            )));
        }
        let widest = [
            ("image", prod(&[c, h, w])),
            ("patch embedding", prod(&[d, p, p, c])),
            ("attention scores", prod(&[tokens, tokens])),
            ("qkv weight", prod(&[3, i, d])),
            ("mlp weight", prod(&[m, d])),
            ("activations", prod(&[blocks, tokens, m.max(3 * i).max(d)])),
            ("head weight", prod(&[self.num_classes as u128, d])),
        ];
        for (what, n) in widest {
            if n > MAX_TENSOR_ELEMENTS as u128 {
                return Err(Error::Config(format!(
                    "{what} would hold {n} values, more than the {MAX_TENSOR_ELEMENTS} allowed: reduce the sizes"
                )));
            }
        }
        // Every size now fits a usize, also on wasm32.
        let params = blocks * self.block_params() as u128 + self.params_outside_blocks() as u128;
        let bytes = 4 * params;
        if bytes > MAX_WEIGHT_BYTES as u128 {
            return Err(Error::Config(format!(
                "the weights would take {:.1} GiB ({} parameters), more than the {} GiB allowed: \
                 use fewer blocks (branches x depth = {}) or smaller sizes",
                bytes as f64 / (1u64 << 30) as f64,
                params,
                MAX_WEIGHT_BYTES >> 30,
                self.blocks()
            )));
        }
        Ok(())
    }

    /// Checks that a run's `branches` lie in 1..=K.
    pub fn check_branches(&self, branches: usize) -> Result<(), Error> {
        if branches == 0 || branches > self.branches {
            return Err(Error::Config(format!(
                "branches {branches} is out of range: this model has 1 to {} branches",
                self.branches
            )));
        }
        Ok(())
    }

    /// Checks a run's input: `batch` images of this config's size, every value finite.
    pub fn check_images(&self, batch: usize, images: &[f32]) -> Result<(), Error> {
        let want = batch * self.image_len();
        if images.len() != want {
            return Err(Error::Input(format!(
                "got {} input values, the engine needs {want} ({batch} images of {}x{}x{})",
                images.len(),
                self.channels,
                self.image_height,
                self.image_width
            )));
        }
        if let Some(i) = images.iter().position(|v| !v.is_finite()) {
            return Err(Error::Input(format!(
                "input value {i} is {}: inputs must be finite numbers",
                images[i]
            )));
        }
        Ok(())
    }

    /// Checks that `batch` images of this (valid) config fit the tensor bound.
    pub fn check_batch(&self, batch: usize) -> Result<(), Error> {
        let widest = (self.blocks() as u128
            * self.tokens() as u128
            * self.mlp_dim.max(3 * self.inner()).max(self.dim) as u128)
            .max(self.image_len() as u128);
        if batch == 0 {
            return Err(Error::Config("batch is 0: it must be at least 1".into()));
        }
        if batch as u128 * widest > MAX_TENSOR_ELEMENTS as u128 {
            return Err(Error::Config(format!(
                "batch {batch} needs {} activation values, more than the {MAX_TENSOR_ELEMENTS} allowed: \
                 the largest batch for this model is {}",
                batch as u128 * widest,
                MAX_TENSOR_ELEMENTS as u128 / widest
            )));
        }
        Ok(())
    }
}

/// A product that saturates instead of overflowing.
fn prod(xs: &[u128]) -> u128 {
    xs.iter().fold(1, |a, &b| a.saturating_mul(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_match_the_spec() {
        for name in PRESETS {
            Config::preset(name).unwrap().validate().unwrap();
        }
        let c = Config::preset("cifar").unwrap();
        assert_eq!(c.tokens(), 65);
        assert_eq!(Config::preset("vit-tiny-224").unwrap().tokens(), 197);
        assert_eq!(Config::preset("mnist").unwrap().tokens(), 17);
        // The spec quotes about 60.7 MFLOP per cifar block.
        assert!(
            (c.block_flops() / 1e6 - 60.7).abs() < 0.1,
            "{}",
            c.block_flops()
        );
    }

    #[test]
    fn invalid_configs_name_the_problem() {
        let mut c = Config::preset("cifar").unwrap();
        c.patch = 5;
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("image_height 32 is not divisible by patch 5"),
            "{e}"
        );
        let mut c = Config::preset("cifar").unwrap();
        c.heads = 0;
        assert!(c.validate().unwrap_err().to_string().contains("heads is 0"));
        let mut c = Config::preset("cifar").unwrap();
        c.dim_head = 512;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("dim_head 512")
        );
        let mut c = Config::preset("cifar").unwrap();
        c.mlp_dim = 1 << 40;
        assert!(c.validate().unwrap_err().to_string().contains("mlp weight"));
        assert!(Config::preset("imagenet").is_err());
    }
}
