//! The model `infer` and `eval` run: a checkpoint (with the hints a metadata-less one
//! needs) or the built-in default.

use paraformer::Error;
use paraformer::bench::{Backend, Runner};
use paraformer::engine::choice::Forced;
use paraformer::engine::tune::Autotune;
use paraformer::engine::tune_cache::Location;
use paraformer::engine::{EngineOptions, Gpu, Precision};
use paraformer::model::{self, Config, Hints, Pool, Weights};

use crate::args::{Device, HintArgs, RunArgs, TuneArgs};

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
            Device::Reference => "reference",
            Device::Gpu => Backend::Gpu.name(),
            Device::Cpu => Backend::Cpu.name(),
        }
    }

    /// The engine it names; None for the reference, which is no engine.
    pub fn backend(self) -> Option<Backend> {
        match self {
            Device::Gpu => Some(Backend::Gpu),
            Device::Cpu => Some(Backend::Cpu),
            Device::Reference => None,
        }
    }
}

/// Opens `backend`'s engine for `batch` images with the run's kernel and precision options,
/// its kernels tuned for (mode, branches); a GPU adapter only for an engine that needs one.
/// Also the adapter's name, when it opened one.
pub fn open_engine(
    backend: Backend,
    weights: &Weights,
    batch: usize,
    run: &RunArgs,
    (mode, branches): (paraformer::model::Mode, usize),
) -> Result<(Runner, Option<String>), Error> {
    let options = EngineOptions {
        batch,
        forced: run.forced()?,
        precision: run.precision()?,
        ..Default::default()
    };
    let gpu = match backend.needs_gpu() {
        true => Some(pollster::block_on(Gpu::new()).map_err(|e| {
            Error::Gpu(format!(
                "{}; --backend cpu runs the CPU engine without one",
                e.message()
            ))
        })?),
        false => None,
    };
    let mut engine = pollster::block_on(Runner::open(backend, gpu.as_ref(), weights, options))?;
    let (how, at) = run.tuning()?;
    let never = std::sync::atomic::AtomicBool::new(false);
    let runs = [(mode, branches)];
    let tuned = engine.tune(&runs, how, &at, &never, |_| {});
    if let Some(out) = pollster::block_on(tuned)? {
        for w in out.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok((engine, gpu.map(|g| g.summary.name.clone())))
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

    /// `--autotune` and `--kernel-cache`; an error when given for a run without GPU kernels.
    pub fn tuning(&self) -> Result<(Autotune, Location), Error> {
        let given = self.tune.autotune.is_some() || self.tune.kernel_cache.is_some();
        if given && self.backend != Device::Gpu {
            return Err(Error::Usage(format!(
                "--autotune and --kernel-cache tune GPU kernels; --backend {} runs none (use \
                 --backend gpu)",
                self.backend.name()
            )));
        }
        Ok(self.tune.tuning())
    }

    /// `--precision` (default f32); f16 is an error for a run without GPU kernels.
    pub fn precision(&self) -> Result<Precision, Error> {
        let p = self.precision.map_or(Precision::F32, Precision::from);
        if p == Precision::F16 && self.backend != Device::Gpu {
            return Err(Error::Usage(format!(
                "--precision f16 stores the GPU engine's values in f16; --backend {} computes \
                 in f32 (use --backend gpu, or --precision f32)",
                self.backend.name()
            )));
        }
        Ok(p)
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

impl TuneArgs {
    /// How to tune and where the cache is (default: on, the user's cache directory).
    pub fn tuning(&self) -> (Autotune, Location) {
        let how = self.autotune.map_or(Autotune::On, Autotune::from);
        let at = self
            .kernel_cache
            .as_ref()
            .map_or(Location::User, |p| Location::At(p.into()));
        (how, at)
    }
}
