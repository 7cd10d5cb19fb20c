//! Options shared by the commands that need a model: a checkpoint (with the flags a
//! metadata-less one needs) or the built-in default.

use paraformer::Error;
use paraformer::model::{self, Config, Hints, Mode, Pool, Weights};

use super::args::Args;

/// Seed of the built-in default model's weights.
pub const DEFAULT_SEED: u64 = 0;

pub fn load_weights(args: &Args) -> Result<Weights, Error> {
    let Some(path) = args.text("checkpoint") else {
        let mut c = Config::preset("cifar")?;
        if let Some(p) = args.text("pool") {
            c.pool = Pool::parse(p)?;
        }
        return Ok(Weights::seeded(&c, DEFAULT_SEED));
    };
    let hints = Hints {
        heads: args.get("heads")?,
        dim_head: args.get("dim-head")?,
        patch: args.get("patch")?,
        pool: args.text("pool").map(Pool::parse).transpose()?,
    };
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read checkpoint '{path}': {e}")))?;
    let loaded = model::load(&bytes, &hints)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.weights)
}

/// `--mode` (default parallel) and `--branches` (default all; 1 to K).
pub fn mode_and_branches(args: &Args, c: &Config) -> Result<(Mode, usize), Error> {
    let mode = Mode::parse(args.text("mode").unwrap_or("parallel"))?;
    let branches = args.get::<usize>("branches")?.unwrap_or(c.branches);
    if branches == 0 || branches > c.branches {
        return Err(Error::Usage(format!(
            "--branches {branches} is out of range: this model has 1 to {} branches",
            c.branches
        )));
    }
    Ok((mode, branches))
}

/// Where `infer` and `eval` compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The WGSL engine.
    Gpu,
    /// The CPU engine.
    Cpu,
    /// The plain f32 reference, the oracle the engines are tested against.
    Reference,
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

/// `--backend` (or its older name `--device`): gpu (default), cpu or reference.
pub fn device(args: &Args) -> Result<Device, Error> {
    let (flag, value) = match (args.text("backend"), args.text("device")) {
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "--backend and --device are the same option: give one of them".into(),
            ));
        }
        (Some(b), None) => ("backend", b),
        (None, Some(d)) => ("device", d),
        (None, None) => return Ok(Device::Gpu),
    };
    match value {
        "gpu" => Ok(Device::Gpu),
        "cpu" => Ok(Device::Cpu),
        "reference" => Ok(Device::Reference),
        other => Err(Error::Usage(format!(
            "unknown {flag} '{other}': allowed are 'gpu' (the WGSL engine), 'cpu' (the CPU \
             engine) and 'reference' (the plain f32 reference)"
        ))),
    }
}
