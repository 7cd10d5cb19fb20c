//! The model: config, weights and checkpoints. Knows nothing about GPUs.

mod checkpoint;
mod config;
pub mod network;
pub mod safetensors;
mod weights;

pub use checkpoint::{CONFIG_KEY, Hints, Loaded, SaveOptions, load, save, tensor_names};
pub use config::{Config, MAX_DIM_HEAD, MAX_TENSOR_ELEMENTS, PRESETS, Pool};
pub use weights::{BlockWeights, Rng, Weights, seeded_image};

/// How the K*d blocks are wired.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Para-Former: K branches of d blocks on the same input, outputs summed.
    Parallel,
    /// ViT baseline: the same blocks chained, branch 0 layer 0 first.
    Serial,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Serial, Mode::Parallel];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Parallel => "parallel",
            Mode::Serial => "serial",
        }
    }

    pub fn parse(s: &str) -> Result<Mode, crate::Error> {
        match s {
            "parallel" => Ok(Mode::Parallel),
            "serial" => Ok(Mode::Serial),
            other => Err(crate::Error::Usage(format!(
                "unknown mode '{other}': allowed are 'serial' and 'parallel'"
            ))),
        }
    }
}
