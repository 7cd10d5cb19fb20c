//! What defines a sweep (`Settings`), its checks, and the depth lists users type.

use serde::{Deserialize, Serialize};

use super::backend::{self, Backend};
use crate::Error;
use crate::engine::Precision;
use crate::engine::choice::Forced;
use crate::engine::tune::Autotune;
use crate::engine::tune_cache::Location;
use crate::model::{Config, Mode};

/// Everything that defines a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset the config started from ("custom" when edited beyond it).
    pub preset: String,
    /// The model; `branches` is ignored and set from the deepest depth.
    pub config: Config,
    /// Total depths L to measure; each a multiple of `config.depth`.
    pub depths: Vec<usize>,
    pub modes: Vec<Mode>,
    pub batch: usize,
    pub warmup: usize,
    pub samples: usize,
    /// Seed of the random weights and input.
    pub seed: u64,
    /// After the sweep, profile each mode per op at its deepest depth.
    #[serde(default)]
    pub profile: bool,
    /// Serial mode only at depths up to this one (the long chains are the slow part of a
    /// deep sweep); None measures it at every depth.
    #[serde(default)]
    pub serial_up_to: Option<usize>,
    /// The engines to measure, each at every point.
    #[serde(default = "backend::gpu_only")]
    pub backends: Vec<Backend>,
    /// Kernel variants forced for every shape, as `--kernel` spells them ("linear=9x16/16").
    #[serde(default)]
    pub kernels: Vec<String>,
    /// Whether the GPU kernels were tuned on the device first (`off` in files from older
    /// versions, which never tuned).
    #[serde(default = "autotune_absent")]
    pub autotune: Autotune,
    /// Where tuned choices are kept (a local place: not in reports).
    #[serde(skip)]
    pub kernel_cache: Location,
    /// The GPU engine's storage precision (the CPU engine computes in f32 whatever this
    /// says; files from before it were f32).
    #[serde(default)]
    pub precision: Precision,
    /// Whether each backend's roofs are measured first (`peak`): the GPU's from the kernel
    /// cache or its probes (`refresh`: probed again), the CPU engine's each time; `off`
    /// measures none (and older files had none).
    #[serde(default = "autotune_absent")]
    pub peak: Autotune,
}

fn autotune_absent() -> Autotune {
    Autotune::Off
}

impl Settings {
    /// The defaults of `paraformer bench` for a preset.
    pub fn new(preset: &str) -> Result<Settings, Error> {
        let config = Config::preset(preset)?;
        Ok(Settings {
            preset: preset.to_string(),
            depths: [1, 2, 4, 8, 12].map(|l| l * config.depth).to_vec(),
            modes: Mode::ALL.to_vec(),
            batch: 1,
            warmup: 3,
            samples: 10,
            seed: 0,
            profile: false,
            serial_up_to: None,
            backends: backend::gpu_only(),
            kernels: Vec::new(),
            autotune: Autotune::On,
            kernel_cache: Location::User,
            precision: Precision::F32,
            peak: Autotune::On,
            config,
        })
    }

    /// The precision `backend` computes in.
    pub fn precision_on(&self, backend: Backend) -> Precision {
        backend.precision(self.precision)
    }

    /// The precision of the sweep's engines in words: one name when they agree ("f32"),
    /// else each engine's ("f16 on the gpu engine; f32 on the cpu engine").
    pub fn precision_line(&self) -> String {
        let each: Vec<(Backend, Precision)> = self
            .backends
            .iter()
            .map(|&b| (b, self.precision_on(b)))
            .collect();
        match each.as_slice() {
            [(_, p), rest @ ..] if rest.iter().all(|(_, q)| q == p) => p.name().to_string(),
            _ => each
                .iter()
                .map(|(b, p)| format!("{} on the {} engine", p.name(), b.name()))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// Whether the sweep measures `mode` at `depth`.
    pub fn measures(&self, mode: Mode, depth: usize) -> bool {
        self.modes.contains(&mode)
            && (mode == Mode::Parallel || self.serial_up_to.is_none_or(|max| depth <= max))
    }

    /// The points of the sweep in the order they are measured: modes, and inside them
    /// backends, alternate at each depth, so that slow drift of the machine hits all alike.
    pub fn points(&self) -> Vec<(Backend, Mode, usize)> {
        let mut out = Vec::new();
        for &depth in &self.depths {
            for &mode in &self.modes {
                if self.measures(mode, depth) {
                    out.extend(self.backends.iter().map(|&b| (b, mode, depth)));
                }
            }
        }
        out
    }

    /// The deepest model of the sweep: K = max(L) / d branches.
    pub fn deepest(&self) -> Config {
        let max = self
            .depths
            .iter()
            .copied()
            .max()
            .unwrap_or(self.config.depth);
        Config {
            branches: max / self.config.depth.max(1),
            ..self.config.clone()
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.depths.is_empty() {
            return Err(Error::Config(
                "no depths to measure: give at least one, e.g. 1,2,4".into(),
            ));
        }
        if self.modes.is_empty() {
            return Err(Error::Config(
                "no modes to measure: choose serial, parallel or both".into(),
            ));
        }
        if self.backends.is_empty() {
            return Err(Error::Config(
                "no backends to measure: choose gpu, cpu or both".into(),
            ));
        }
        Forced::parse(&self.kernels)?;
        if self.samples == 0 {
            return Err(Error::Config(
                "samples is 0: at least 1 sample per point is needed".into(),
            ));
        }
        if let Some(max) = self.serial_up_to
            && self.modes.contains(&Mode::Serial)
            && !self.depths.iter().any(|&l| l <= max)
        {
            return Err(Error::Config(format!(
                "serial up to L = {max} leaves serial mode no depth to measure: the \
                 shallowest depth is {}",
                self.depths.iter().min().copied().unwrap_or(0)
            )));
        }
        if self.batch == 0 {
            return Err(Error::Config("batch is 0: it must be at least 1".into()));
        }
        let d = self.config.depth;
        if d == 0 {
            return Err(Error::Config(
                "branch depth d is 0: it must be at least 1".into(),
            ));
        }
        for &l in &self.depths {
            if l == 0 || !l.is_multiple_of(d) {
                return Err(Error::Config(format!(
                    "depth {l} is not a positive multiple of the branch depth d = {d}: \
                     parallel mode runs K = L/d branches, so every L must be d, 2d, 3d, ..."
                )));
            }
        }
        if !self
            .backends
            .iter()
            .any(|b| b.precision(self.precision) == self.precision)
        {
            return Err(Error::Config(
                "f16 is the GPU engine's storage; the CPU engine computes in f32: measure the \
                 GPU engine too, or choose f32"
                    .into(),
            ));
        }
        self.deepest().validate()
    }
}

/// Parses depth lists: `1..=24`, `1..25` (end excluded), `1,2,4,8`, or a mix `1,2,4..=8`.
pub fn parse_depths(text: &str) -> Result<Vec<usize>, Error> {
    let bad = |part: &str| {
        Error::Usage(format!(
            "depths '{part}' is not understood: use a list (1,2,4,8) or a range (1..=24 or 1..25) of positive integers"
        ))
    };
    let num = |s: &str, part: &str| s.trim().parse::<usize>().map_err(|_| bad(part));
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        if let Some((a, b)) = part.split_once("..=") {
            out.extend(num(a, part)?..=num(b, part)?);
        } else if let Some((a, b)) = part.split_once("..") {
            out.extend(num(a, part)?..num(b, part)?);
        } else {
            out.push(num(part, part)?);
        }
    }
    if out.is_empty() {
        return Err(bad(text));
    }
    if out.len() > 4096 {
        return Err(Error::Usage(format!(
            "depths '{text}' gives {} depths, more than the 4096 a sweep allows",
            out.len()
        )));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_lists_and_ranges() {
        assert_eq!(parse_depths("1..=4").unwrap(), [1, 2, 3, 4]);
        assert_eq!(parse_depths("1..4").unwrap(), [1, 2, 3]);
        assert_eq!(parse_depths("8,1,2,4").unwrap(), [1, 2, 4, 8]);
        assert_eq!(parse_depths("1,2,4..=6,4").unwrap(), [1, 2, 4, 5, 6]);
        for bad in ["", "a", "1..x", "-1", "1..=100000"] {
            assert!(parse_depths(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_checked() {
        let mut s = Settings::new("mnist").unwrap();
        s.config.depth = 2;
        s.depths = vec![2, 3];
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.contains("depth 3 is not a positive multiple of the branch depth d = 2"),
            "{e}"
        );
        s.depths = vec![2, 8];
        s.validate().unwrap();
        assert_eq!(s.deepest().branches, 4);
        s.samples = 0;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("samples is 0")
        );
    }
}
