//! The model `infer` and `eval` run: a checkpoint (with the hints a metadata-less one
//! needs) or the built-in default.

use paraformer::Error;
use paraformer::engine::choice::Forced;
use paraformer::model::{self, Config, Hints, Pool, Weights};

use crate::args::{Device, HintArgs, RunArgs};

/// Seed of the built-in default model's weights.
pub const DEFAULT_SEED: u64 = 0;

/// The checkpoint at `path`, or the built-in cifar model with seeded weights.
pub fn load_weights(path: Option<&str>, hints: &HintArgs) -> Result<Weights, Error> {
    let Some(path) = path else {
        let mut c = Config::preset("cifar")?;
        if let Some(p) = hints.pool {
            c.pool = Pool::from(p);
        }
        return Ok(Weights::seeded(&c, DEFAULT_SEED));
    };
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read checkpoint '{path}': {e}")))?;
    let loaded = model::load(&bytes, &hints.hints())?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.weights)
}

impl Device {
    pub fn name(self) -> &'static str {
        match self {
            Device::Gpu => "gpu",
            Device::Cpu => "cpu",
            Device::Reference => "reference",
        }
    }
}

impl HintArgs {
    pub fn hints(&self) -> Hints {
        Hints {
            heads: self.heads,
            dim_head: self.dim_head,
            patch: self.patch,
            pool: self.pool.map(Pool::from),
        }
    }
}

impl RunArgs {
    /// The `--kernel` variants; an error when the run uses no GPU kernels.
    pub fn forced(&self) -> Result<Forced, Error> {
        if !self.kernels.is_empty() && self.backend != Device::Gpu {
            return Err(Error::Usage(format!(
                "--kernel chooses GPU kernels; --backend {} runs none (use --backend gpu)",
                self.backend.name()
            )));
        }
        Forced::parse(&self.kernels)
    }

    /// `--branches` checked against the model: 1 to K (default K).
    pub fn branches(&self, c: &Config) -> Result<usize, Error> {
        let branches = self.branches.unwrap_or(c.branches);
        if branches == 0 || branches > c.branches {
            return Err(Error::Usage(format!(
                "--branches {branches} is out of range: this model has 1 to {} branches",
                c.branches
            )));
        }
        Ok(branches)
    }
}
