//! Kernel choices: which variant of an op's kernel a plan dispatches, per (op, mode, shape).
//!
//! The planner asks `Choices::pick` once per step of an op with variants. The answer comes
//! from the first of: an entry for that exact key (what a tuner measured), the op's forced
//! variant (`EngineOptions::forced`), the heuristic for the adapter. Serial and parallel
//! shapes are separate keys, so each mode can run the kernel that suits its own shapes: at
//! batch 1 serial mode's ops have K times fewer lanes than parallel mode's. Each step keeps
//! the pick that made it, so a run can report which kernel every op ran and why.

use std::collections::BTreeMap;
use std::fmt;

use super::ops::{attention, layer_norm, linear};
use crate::Error;
use crate::model::Mode;

/// An op whose kernel has variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Linear,
    LayerNorm,
    Attention,
}

impl Op {
    pub const ALL: [Op; 3] = [Op::Linear, Op::LayerNorm, Op::Attention];

    /// The op's shader name, as `--kernel` and reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            Op::Linear => "linear",
            Op::LayerNorm => "layer_norm",
            Op::Attention => "attention",
        }
    }
}

/// What decides an op's dispatch: `rows` x `n` outputs per lane from `k` inputs each, in
/// `nz` (image, branch) lanes. A layer norm has `n` columns and `k` = 0; attention has
/// `rows` tokens, `n` heads and `k` = the head dimension. Reports keep it as is (the bench
/// JSON's `kernels[].shape`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Shape {
    pub rows: usize,
    pub n: usize,
    pub k: usize,
    pub nz: usize,
}

impl fmt::Display for Shape {
    /// "65x384x128 z4": rows x n x k (without k when it is 0), then lanes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.rows, self.n)?;
        if self.k > 0 {
            write!(f, "x{}", self.k)?;
        }
        write!(f, " z{}", self.nz)
    }
}

/// The key of a choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub op: Op,
    pub mode: Mode,
    pub shape: Shape,
}

/// One op's kernel variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    Linear(linear::Variant),
    LayerNorm(layer_norm::Variant),
    Attention(attention::Variant),
}

impl Variant {
    /// Invocations per workgroup.
    pub fn group(self) -> u32 {
        match self {
            Variant::Linear(v) => v.group,
            Variant::LayerNorm(
                layer_norm::Variant::RowPerInvocation { group }
                | layer_norm::Variant::RowPerGroup { group },
            ) => group,
            Variant::Attention(v) => v.group,
        }
    }

    /// The op's own check of the variant (`linear::Variant::check` ...).
    pub fn check(self) -> Result<(), Error> {
        match self {
            Variant::Linear(v) => v.check(),
            Variant::LayerNorm(v) => v.check(),
            Variant::Attention(v) => v.check(),
        }
    }

    pub fn op(self) -> Op {
        match self {
            Variant::Linear(_) => Op::Linear,
            Variant::LayerNorm(_) => Op::LayerNorm,
            Variant::Attention(_) => Op::Attention,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Variant::Linear(v) => write!(f, "{}", v.name()),
            Variant::LayerNorm(v) => write!(f, "{}", v.name()),
            Variant::Attention(v) => write!(f, "{}", v.name()),
        }
    }
}

/// Where a choice came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The rule for the adapter, without measuring.
    Heuristic,
    /// Set by the user (`EngineOptions::forced`).
    Forced,
    /// Measured on this device by this engine.
    Tuned,
    /// Measured on this device before, read from the kernel cache.
    Cache,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Heuristic => "heuristic",
            Source::Forced => "forced",
            Source::Tuned => "tuned",
            Source::Cache => "cache",
        }
    }
}

/// A variant and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Choice {
    pub variant: Variant,
    pub source: Source,
}

/// What the planner chose for one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pick {
    pub key: Key,
    pub choice: Choice,
}

/// A variant per op that replaces the heuristic for every shape (tests, `--kernel`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Forced {
    pub linear: Option<linear::Variant>,
    pub layer_norm: Option<layer_norm::Variant>,
    pub attention: Option<attention::Variant>,
}

/// How `--kernel` spells each op's variants, for errors and help.
pub const SPELLINGS: [(&str, &str); 3] = [
    (
        "linear",
        "9x16/G, 4x8/G, 4x4/G or 1x4/G (rows x columns of y per invocation), or tiled/64 (a \
         32 x 32 tile per workgroup, staged in workgroup memory); each may end in /splitS to \
         sum k in S parts (split-k, 2 to 64) and add them in a second dispatch",
    ),
    (
        "layer_norm",
        "row-per-invocation/G or row-per-group/G (G a power of two, 1 to 256)",
    ),
    ("attention", "4q/G or 1q/G (queries per invocation)"),
];

/// "name/G" -> G, a whole number.
fn group_of<'a>(spec: &'a str, name: &str) -> Option<Result<u32, &'a str>> {
    let g = spec.strip_prefix(name)?.strip_prefix('/')?;
    Some(g.parse().map_err(|_| g))
}

impl Variant {
    /// The variant of `op` that `spec` spells ("9x16/64" for a linear), or an error that
    /// lists the spellings `op` allows.
    pub fn parse(op: Op, spec: &str) -> Result<Variant, Error> {
        let allowed = SPELLINGS[Op::ALL.iter().position(|&o| o == op).unwrap_or(0)].1;
        // A linear's optional split-k suffix: "4x4/64/split4".
        let (spec, splits) = match spec.rsplit_once("/split") {
            Some((base, parts)) if op == Op::Linear => {
                let splits = parts.parse().map_err(|_| {
                    Error::Usage(format!(
                        "--kernel linear={spec}: '{parts}' is not a whole number of parts of k \
                         (split2 to split{})",
                        linear::MAX_SPLITS
                    ))
                })?;
                (base, splits)
            }
            _ => (spec, 1),
        };
        let spelled = match op {
            Op::Linear => linear::Block::ALL.into_iter().find_map(|block| {
                group_of(spec, &block.name()).map(|g| {
                    g.map(|group| {
                        Variant::Linear(linear::Variant {
                            block,
                            group,
                            splits,
                        })
                    })
                })
            }),
            Op::LayerNorm => group_of(spec, "row-per-invocation")
                .map(|g| g.map(|group| layer_norm::Variant::RowPerInvocation { group }))
                .or_else(|| {
                    group_of(spec, "row-per-group")
                        .map(|g| g.map(|group| layer_norm::Variant::RowPerGroup { group }))
                })
                .map(|v| v.map(Variant::LayerNorm)),
            Op::Attention => attention::Variant::QUERIES.into_iter().find_map(|queries| {
                group_of(spec, &format!("{queries}q")).map(|g| {
                    g.map(|group| Variant::Attention(attention::Variant { queries, group }))
                })
            }),
        };
        match spelled {
            Some(Ok(v)) => Ok(v),
            Some(Err(g)) => Err(Error::Usage(format!(
                "--kernel {}={spec}: '{g}' is not a whole number of invocations per workgroup \
                 (G in {allowed})",
                op.name()
            ))),
            None => Err(Error::Usage(format!(
                "--kernel {}={spec}: unknown variant; {} allows {allowed}, G = invocations \
                 per workgroup",
                op.name(),
                op.name()
            ))),
        }
    }
}

impl Forced {
    /// The variants of `--kernel OP=VARIANT` flags (each op at most once).
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Forced, Error> {
        let mut forced = Forced::default();
        for spec in specs {
            let spec = spec.as_ref();
            let ops = || Op::ALL.map(Op::name).join(", ");
            let (name, variant) = spec.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--kernel {spec}: expected OP=VARIANT, for example linear=9x16/64 \
                     (ops: {})",
                    ops()
                ))
            })?;
            let op = Op::ALL
                .into_iter()
                .find(|o| o.name() == name.trim())
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "--kernel {spec}: unknown op '{name}'; ops with variants: {}",
                        ops()
                    ))
                })?;
            let v = Variant::parse(op, variant.trim())?;
            if forced.get(op).is_some() {
                return Err(Error::Usage(format!(
                    "--kernel {spec}: {name} is forced twice; give each op once"
                )));
            }
            match v {
                Variant::Linear(v) => forced.linear = Some(v),
                Variant::LayerNorm(v) => forced.layer_norm = Some(v),
                Variant::Attention(v) => forced.attention = Some(v),
            }
        }
        Ok(forced)
    }

    /// An error naming the first forced variant `adapter` cannot run: over its workgroup
    /// limit, or one its op refuses on any device.
    pub fn check(&self, adapter: &Adapter) -> Result<(), Error> {
        for v in Op::ALL.iter().filter_map(|&op| self.get(op)) {
            let group = v.group();
            if group == 0 || group > adapter.max_group {
                return Err(Error::Config(format!(
                    "{} variant {v}: {group} invocations per workgroup; this adapter allows \
                     1 to {}",
                    v.op().name(),
                    adapter.max_group
                )));
            }
            v.check()?;
        }
        Ok(())
    }

    fn get(&self, op: Op) -> Option<Variant> {
        match op {
            Op::Linear => self.linear.map(Variant::Linear),
            Op::LayerNorm => self.layer_norm.map(Variant::LayerNorm),
            Op::Attention => self.attention.map(Variant::Attention),
        }
    }
}

/// What the heuristics know of the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adapter {
    pub backend: wgpu::Backend,
    pub device_type: wgpu::DeviceType,
    /// Most invocations a workgroup may hold (the smaller of the invocation limit and the
    /// x size limit: every kernel here is one-dimensional).
    pub max_group: u32,
}

impl Adapter {
    pub fn of(info: &wgpu::AdapterInfo, limits: &wgpu::Limits) -> Adapter {
        Adapter {
            backend: info.backend,
            device_type: info.device_type,
            max_group: limits
                .max_compute_invocations_per_workgroup
                .min(limits.max_compute_workgroup_size_x),
        }
    }

    /// The choice without measuring. Linear: 9 x 16 blocks, 16 invocations per workgroup
    /// on native CPU drivers, so that a small dispatch still splits over the CPU's threads,
    /// 64 elsewhere (GPUs and browsers; README, Performance, has the measurements behind
    /// both). Layer norm: a row per invocation, 64 per workgroup (rows are many: tokens x
    /// lanes). Attention: 32 invocations per workgroup.
    pub fn heuristic(&self, op: Op) -> Variant {
        match op {
            Op::Linear => {
                let cpu = self.device_type == wgpu::DeviceType::Cpu
                    && self.backend != wgpu::Backend::BrowserWebGpu;
                Variant::Linear(linear::Variant::new(
                    linear::Block::B9x16,
                    if cpu { 16 } else { 64 }.min(self.max_group),
                ))
            }
            Op::LayerNorm => Variant::LayerNorm(layer_norm::Variant::RowPerInvocation {
                group: 64.min(self.max_group),
            }),
            Op::Attention => Variant::Attention(attention::Variant {
                queries: 4,
                group: 32.min(self.max_group),
            }),
        }
    }
}

/// Every choice an engine makes.
#[derive(Clone, Debug)]
pub struct Choices {
    adapter: Adapter,
    forced: Forced,
    entries: BTreeMap<Key, Choice>,
}

impl Choices {
    pub fn new(adapter: Adapter, forced: Forced) -> Choices {
        Choices {
            adapter,
            forced,
            entries: BTreeMap::new(),
        }
    }

    /// The variant for `key`'s op where no entry names its shape: forced, else heuristic.
    pub fn default_for(&self, op: Op) -> Choice {
        match self.forced.get(op) {
            Some(variant) => Choice {
                variant,
                source: Source::Forced,
            },
            None => Choice {
                variant: self.adapter.heuristic(op),
                source: Source::Heuristic,
            },
        }
    }

    /// The choice for `key`.
    pub fn pick(&self, key: Key) -> Pick {
        let choice = self
            .entries
            .get(&key)
            .copied()
            .unwrap_or_else(|| self.default_for(key.op));
        Pick { key, choice }
    }

    /// Sets the choice for one key (a tuner's result). A variant of another op is ignored.
    pub fn set(&mut self, key: Key, choice: Choice) {
        if choice.variant.op() == key.op {
            self.entries.insert(key, choice);
        }
    }

    pub fn adapter(&self) -> Adapter {
        self.adapter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lin(group: u32) -> linear::Variant {
        linear::Variant::new(linear::Block::B9x16, group)
    }

    fn adapter(backend: wgpu::Backend, device_type: wgpu::DeviceType) -> Adapter {
        Adapter {
            backend,
            device_type,
            max_group: 256,
        }
    }

    fn linear_group(a: Adapter) -> u32 {
        match a.heuristic(Op::Linear) {
            Variant::Linear(v) => v.group,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn heuristics_are_the_rules_the_engine_always_had() {
        use wgpu::{Backend, DeviceType};
        // Native CPU drivers (lavapipe) split small dispatches over threads: 16.
        assert_eq!(linear_group(adapter(Backend::Vulkan, DeviceType::Cpu)), 16);
        // A browser reports its own adapter type; SwiftShader's "Cpu" there keeps 64.
        assert_eq!(
            linear_group(adapter(Backend::BrowserWebGpu, DeviceType::Cpu)),
            64
        );
        assert_eq!(
            linear_group(adapter(Backend::Vulkan, DeviceType::DiscreteGpu)),
            64
        );
        let a = adapter(Backend::Vulkan, DeviceType::DiscreteGpu);
        assert_eq!(
            a.heuristic(Op::LayerNorm),
            Variant::LayerNorm(layer_norm::Variant::RowPerInvocation { group: 64 })
        );
        assert_eq!(
            a.heuristic(Op::Attention),
            Variant::Attention(attention::Variant {
                queries: 4,
                group: 32
            })
        );
        // A device with small workgroups gets groups it can run.
        let small = Adapter {
            max_group: 8,
            ..adapter(Backend::Gl, DeviceType::IntegratedGpu)
        };
        for op in Op::ALL {
            assert_eq!(small.heuristic(op).group(), 8, "{op:?}");
        }
    }

    #[test]
    fn a_forced_group_the_adapter_cannot_run_is_an_error_naming_the_limit() {
        let a = Adapter {
            max_group: 128,
            ..adapter(wgpu::Backend::Vulkan, wgpu::DeviceType::Cpu)
        };
        let ok = Forced {
            linear: Some(lin(128)),
            attention: Some(attention::Variant {
                queries: 4,
                group: 1,
            }),
            ..Forced::default()
        };
        assert!(ok.check(&a).is_ok());
        let over = Forced {
            layer_norm: Some(layer_norm::Variant::RowPerInvocation { group: 256 }),
            ..ok
        };
        let e = over.check(&a).unwrap_err().to_string();
        assert!(
            e.contains("layer_norm variant row-per-invocation/256"),
            "{e}"
        );
        assert!(e.contains("allows 1 to 128"), "{e}");
        let tiled = |group| Forced {
            linear: Some(linear::Variant::new(linear::Block::Tiled, group)),
            ..Forced::default()
        };
        assert!(tiled(64).check(&a).is_ok());
        let e = tiled(32).check(&a).unwrap_err().to_string();
        assert!(e.contains("tiled variant runs 64 invocations"), "{e}");
        let zero = Forced {
            linear: Some(lin(0)),
            ..Forced::default()
        };
        assert!(zero.check(&a).is_err());
    }

    #[test]
    fn an_entry_beats_forced_which_beats_the_heuristic() {
        let a = adapter(wgpu::Backend::Vulkan, wgpu::DeviceType::Cpu);
        let key = |nz| Key {
            op: Op::Linear,
            mode: Mode::Serial,
            shape: Shape {
                rows: 65,
                n: 384,
                k: 128,
                nz,
            },
        };
        let forced_v = lin(128);
        let mut c = Choices::new(a, Forced::default());
        assert_eq!(c.pick(key(1)).choice.source, Source::Heuristic);
        c = Choices::new(
            a,
            Forced {
                linear: Some(forced_v),
                ..Forced::default()
            },
        );
        let p = c.pick(key(1));
        assert_eq!(p.choice.variant, Variant::Linear(forced_v));
        assert_eq!(p.choice.source, Source::Forced);
        // Other ops keep their heuristic.
        let ln = Key {
            op: Op::LayerNorm,
            ..key(1)
        };
        assert_eq!(c.pick(ln).choice.source, Source::Heuristic);
        let tuned = Choice {
            variant: Variant::Linear(lin(32)),
            source: Source::Tuned,
        };
        c.set(key(1), tuned);
        assert_eq!(c.pick(key(1)).choice, tuned);
        // Only that shape and mode.
        assert_eq!(c.pick(key(4)).choice.source, Source::Forced);
        let parallel = Key {
            mode: Mode::Parallel,
            ..key(1)
        };
        assert_eq!(c.pick(parallel).choice.source, Source::Forced);
        // A variant of another op is not an entry for this one.
        c.set(ln, tuned);
        assert_eq!(c.pick(ln).choice.source, Source::Heuristic);
    }

    #[test]
    fn kernel_flags_parse_and_bad_ones_say_what_is_allowed() {
        let f = Forced::parse(&[
            "linear=9x16/32",
            "layer_norm=row-per-group/128",
            "attention=4q/8",
        ])
        .unwrap();
        assert_eq!(f.linear, Some(lin(32)));
        assert_eq!(
            f.layer_norm,
            Some(layer_norm::Variant::RowPerGroup { group: 128 })
        );
        assert_eq!(
            f.attention,
            Some(attention::Variant {
                queries: 4,
                group: 8
            })
        );
        assert_eq!(Forced::parse::<&str>(&[]).unwrap(), Forced::default());
        // Every variant's printed name parses back to it.
        for v in [
            Variant::Linear(lin(16)),
            Variant::Linear(linear::Variant::new(linear::Block::B4x8, 64)),
            Variant::LayerNorm(layer_norm::Variant::RowPerInvocation { group: 64 }),
            Variant::LayerNorm(layer_norm::Variant::RowPerGroup { group: 4 }),
            Variant::Attention(attention::Variant {
                queries: 4,
                group: 32,
            }),
            Variant::Attention(attention::Variant {
                queries: 1,
                group: 64,
            }),
        ] {
            assert_eq!(Variant::parse(v.op(), &v.to_string()).unwrap(), v);
        }
        let err = |s: &str| Forced::parse(&[s]).unwrap_err().to_string();
        let e = err("conv=3x3/8");
        assert!(
            e.contains("unknown op 'conv'") && e.contains("linear, layer_norm, attention"),
            "{e}"
        );
        let e = err("linear=8x8/64");
        assert!(
            e.contains("unknown variant") && e.contains("9x16/G, 4x8/G"),
            "{e}"
        );
        assert_eq!(
            Forced::parse(&["linear=1x4/256"]).unwrap().linear,
            Some(linear::Variant::new(linear::Block::B1x4, 256))
        );
        // Split-k: any block with /splitS, S from 2 to 64; its name parses back.
        let split = linear::Variant {
            splits: 4,
            ..linear::Variant::new(linear::Block::B4x4, 64)
        };
        assert_eq!(
            Forced::parse(&["linear=4x4/64/split4"]).unwrap().linear,
            Some(split)
        );
        assert_eq!(Variant::Linear(split).to_string(), "4x4/64/split4");
        let e = err("linear=4x4/64/splitmany");
        assert!(e.contains("'many' is not a whole number of parts"), "{e}");
        // Only a linear splits k.
        let e = err("attention=4q/8/split2");
        assert!(e.contains("'8/split2' is not a whole number"), "{e}");
        let a = adapter(wgpu::Backend::Vulkan, wgpu::DeviceType::Cpu);
        for bad in ["linear=9x16/16/split0", "linear=tiled/64/split65"] {
            let e = Forced::parse(&[bad]).unwrap().check(&a).unwrap_err();
            assert!(e.to_string().contains("1 (no split) to 64"), "{bad}: {e}");
        }
        let e = err("linear=9x16/many");
        assert!(e.contains("'many' is not a whole number"), "{e}");
        let e = err("linear");
        assert!(e.contains("expected OP=VARIANT"), "{e}");
        let e = Forced::parse(&["linear=9x16/8", "linear=9x16/16"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("forced twice"), "{e}");
    }

    #[test]
    fn shapes_and_variants_print_as_reports_show_them() {
        let s = Shape {
            rows: 65,
            n: 384,
            k: 128,
            nz: 4,
        };
        assert_eq!(s.to_string(), "65x384x128 z4");
        assert_eq!(Shape { k: 0, ..s }.to_string(), "65x384 z4");
        assert_eq!(Variant::Linear(lin(16)).to_string(), "9x16/16");
        assert_eq!(
            Variant::LayerNorm(layer_norm::Variant::RowPerGroup { group: 32 }).to_string(),
            "row-per-group/32"
        );
        assert_eq!(
            Variant::LayerNorm(layer_norm::Variant::RowPerInvocation { group: 64 }).to_string(),
            "row-per-invocation/64"
        );
        assert_eq!(
            Variant::Attention(attention::Variant {
                queries: 4,
                group: 32
            })
            .to_string(),
            "4q/32"
        );
    }
}
