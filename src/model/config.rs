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

/// Upper bound on the number of f32 values of any one tensor. Far above every
/// real model here; it stops a config typo from asking for terabytes.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 31;

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
        let (d, t) = (self.dim, self.tokens());
        d * self.patch_len()
            + d
            + d
            + t * d
            + self.blocks() * self.block_params()
            + 2 * d
            + self.num_classes * d
            + self.num_classes
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
        let widest = [
            ("image", self.image_len()),
            (
                "patch embedding",
                checked_mul(&[self.dim, self.patch_len()]),
            ),
            (
                "attention scores",
                checked_mul(&[self.tokens(), self.tokens()]),
            ),
            ("qkv weight", checked_mul(&[3, self.inner(), self.dim])),
            ("mlp weight", checked_mul(&[self.mlp_dim, self.dim])),
            (
                "activations",
                checked_mul(&[self.blocks(), self.tokens(), self.mlp_dim]),
            ),
            ("head weight", checked_mul(&[self.num_classes, self.dim])),
        ];
        for (what, n) in widest {
            if n > MAX_TENSOR_ELEMENTS {
                return Err(Error::Config(format!(
                    "{what} would hold {n} values, more than the {MAX_TENSOR_ELEMENTS} allowed: reduce the sizes"
                )));
            }
        }
        Ok(())
    }
}

fn checked_mul(xs: &[usize]) -> usize {
    xs.iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .unwrap_or(usize::MAX)
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
