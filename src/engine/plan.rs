//! The planner: which ops run, in which order, for a mode; and what a plan costs
//! (dependent dispatches, activations alive at once). Pure: no GPU needed to build or
//! inspect a plan, which is how its dispatch counts are tested.
//!
//! Parallel mode runs op j of every branch in ONE dispatch: z = (image, branch) comes from
//! the workgroup grid, and each branch reads its own block's weights at `branch * stride`.
//! Serial mode runs the same blocks one after another with a single "branch".

use super::choice::{Choices, Key, Op, Pick, Shape, Variant};
use super::ops::attention::Attention;
use super::ops::branch_sum::BranchSum;
use super::ops::layer_norm::LayerNorm;
use super::ops::linear::{self, Linear};
use super::ops::linear_sum::LinearSum;
use super::ops::patch_embed;
use super::step::{Buf, Lanes, Operand, Step, padded_classes};
use crate::Error;
use crate::model::network::{self, Layer, Named, Param, Slot, Stage, Value};
use crate::model::{Config, Mode};

/// A plan: its steps, and for each the kernel choice behind it (None for an op without
/// variants).
#[derive(Clone, Debug)]
pub struct Planned {
    pub steps: Vec<Step>,
    pub picks: Vec<Option<Pick>>,
    /// Floats of `Buf::Partial` the plan's split-k linears need (0 when none splits k).
    pub partial: usize,
}

/// The dispatches of one linear with variant `v`: one, or for a split-k variant the parts'
/// sums and then `linear_sum` (labelled "<label> split-k sum").
pub fn linear_steps(
    l: &Linear,
    label: &'static str,
    lanes: Lanes,
    v: linear::Variant,
) -> Result<Vec<Step>, Error> {
    let mut steps = vec![l.step(label, lanes, v)?];
    if v.splits > 1 {
        let sum = LinearSum {
            bias: l.bias,
            residual: l.residual,
            y: l.y,
            shape: (l.shape.0, l.shape.1),
            splits: v.splits,
            gelu: l.gelu,
        };
        steps.push(sum.step(SPLIT_SUM_LABEL, lanes)?);
    }
    Ok(steps)
}

/// The label of every split-k linear's second dispatch (profiles add them up as one op).
pub const SPLIT_SUM_LABEL: &str = "linear split-k sum";

/// Operand of a block tensor at `slot`: block `base + branch * stride`.
fn weight(slot: Slot, buf: Buf, per_block: usize) -> Operand {
    Operand {
        buf,
        off: slot.base * per_block,
        branch_stride: slot.stride * per_block,
        image_stride: 0,
    }
}

/// The buffer of a value of the network.
fn value_buf(v: Value) -> Buf {
    match v {
        Value::X0 => Buf::X0,
        Value::H => Buf::H,
        Value::U => Buf::U,
        Value::Qkv => Buf::Qkv,
        Value::Att => Buf::Att,
        Value::V => Buf::V,
        Value::G => Buf::G,
    }
}

/// The buffer holding a block tensor of every block.
fn param_buf(p: Param) -> Buf {
    match p {
        Param::LnAW => Buf::LnAW,
        Param::LnAB => Buf::LnAB,
        Param::Wqkv => Buf::Wqkv,
        Param::Wo => Buf::Wo,
        Param::Bo => Buf::Bo,
        Param::LnBW => Buf::LnBW,
        Param::LnBB => Buf::LnBB,
        Param::W1 => Buf::W1,
        Param::B1 => Buf::B1,
        Param::W2 => Buf::W2,
        Param::B2 => Buf::B2,
    }
}

struct Planner<'a> {
    c: &'a Config,
    mode: Mode,
    lanes: Lanes,
    choices: &'a Choices,
    steps: Vec<Step>,
    picks: Vec<Option<Pick>>,
    partial: usize,
}

impl Planner<'_> {
    fn push(&mut self, step: Step, pick: Option<Pick>) {
        self.steps.push(step);
        self.picks.push(pick);
    }

    fn pick(&self, op: Op, lanes: Lanes, (rows, n, k): (usize, usize, usize)) -> Pick {
        let shape = Shape {
            rows,
            n,
            k,
            nz: lanes.nz(),
        };
        let mode = self.mode;
        self.choices.pick(Key { op, mode, shape })
    }

    fn linear(&mut self, l: Linear, label: &'static str, lanes: Lanes) -> Result<(), Error> {
        let pick = self.pick(Op::Linear, lanes, l.shape);
        let Variant::Linear(v) = pick.choice.variant else {
            unreachable!("a linear's pick is a linear variant")
        };
        let mut pick = Some(pick);
        for step in linear_steps(&l, label, lanes, v)? {
            self.push(step, pick.take());
        }
        if v.splits > 1 {
            self.partial = self
                .partial
                .max(linear::partial_len(l.shape, lanes, v.splits));
        }
        Ok(())
    }

    fn norm(&mut self, n: LayerNorm, label: &'static str, lanes: Lanes) -> Result<(), Error> {
        let (rows, cols) = n.shape;
        let pick = self.pick(Op::LayerNorm, lanes, (rows, cols, 0));
        let Variant::LayerNorm(v) = pick.choice.variant else {
            unreachable!("a layer norm's pick is a layer norm variant")
        };
        let step = n.step(label, lanes, v)?;
        self.push(step, Some(pick));
        Ok(())
    }

    fn attention(&mut self, a: Attention) -> Result<(), Error> {
        let (tokens, heads, dim_head) = a.shape;
        let pick = self.pick(Op::Attention, self.lanes, (tokens, heads, dim_head));
        let Variant::Attention(v) = pick.choice.variant else {
            unreachable!("attention's pick is an attention variant")
        };
        let step = a.step(v)?;
        self.push(step, Some(pick));
        Ok(())
    }

    /// A value of the network as an activation [images, branches, tokens, cols]; the
    /// embedded input [images, T, D] is read by every branch.
    fn value(&self, v: Value) -> Operand {
        let (t, cols) = (self.c.tokens(), v.cols(self.c));
        let image_stride = if v.shared() {
            t * cols
        } else {
            self.lanes.branches * t * cols
        };
        Operand {
            buf: value_buf(v),
            off: 0,
            branch_stride: if v.shared() { 0 } else { t * cols },
            image_stride,
        }
    }

    /// One layer of a block position, for every lane in one dispatch (two for a split-k
    /// linear).
    fn layer(&mut self, n: Named, slot: Slot) -> Result<(), Error> {
        let c = self.c;
        let t = c.tokens();
        let w = |p: Param| weight(slot, param_buf(p), p.len(c));
        let lanes = self.lanes;
        match n.layer {
            Layer::Norm { x, gamma, beta, y } => {
                let norm = LayerNorm {
                    x: self.value(x),
                    gamma: w(gamma),
                    beta: param_buf(beta),
                    y: self.value(y),
                    shape: (t, x.cols(c)),
                };
                self.norm(norm, n.label, lanes)
            }
            Layer::Linear(l) => {
                let (outs, ins) = l.shape(c);
                let mut lin = Linear::new(self.value(l.x), w(l.w), self.value(l.y), (t, outs, ins));
                if let Some(b) = l.bias {
                    lin = lin.bias(w(b));
                }
                if l.gelu {
                    lin = lin.gelu();
                }
                if let Some(r) = l.residual {
                    lin = lin.residual(self.value(r));
                }
                self.linear(lin, n.label, lanes)
            }
            Layer::Attention { qkv, out } => self.attention(Attention {
                qkv: value_buf(qkv),
                out: value_buf(out),
                shape: (t, c.heads, c.dim_head),
                nz: lanes.nz(),
            }),
        }
    }
}

/// The dispatches of one inference on `batch` images using branches `0..branches`
/// (all of them in parallel mode; in serial mode their `branches * d` blocks in a chain),
/// with each op's kernel variant from `choices`.
pub fn plan(
    c: &Config,
    batch: usize,
    mode: Mode,
    branches: usize,
    choices: &Choices,
) -> Result<Planned, Error> {
    let lanes = Lanes {
        images: batch,
        branches: network::lanes(mode, branches),
    };
    let mut p = Planner {
        c,
        mode,
        lanes,
        choices,
        steps: Vec::new(),
        picks: Vec::new(),
        partial: 0,
    };
    let (t, d) = (c.tokens(), c.dim);
    // The head treats the batch as the rows of one lane.
    let one = Lanes {
        images: 1,
        branches: 1,
    };
    let whole = Operand::whole;
    for stage in network::inference(c, mode, branches) {
        match stage {
            Stage::PatchEmbed => p.push(patch_embed::step(c, batch)?, None),
            Stage::Block { layer, slot } => p.layer(layer, slot)?,
            Stage::BranchSum => {
                let sum = BranchSum {
                    y: Buf::H,
                    out: Buf::Pooled,
                    shape: (t, d),
                    pool: c.pool,
                };
                p.push(sum.step(lanes)?, None);
            }
            Stage::HeadNorm => {
                let norm = LayerNorm {
                    x: whole(Buf::Pooled),
                    gamma: whole(Buf::HeadLnW),
                    beta: Buf::HeadLnB,
                    y: whole(Buf::PooledN),
                    shape: (batch, d),
                };
                p.norm(norm, stage.label(), one)?;
            }
            Stage::HeadLinear => {
                let head = Linear::new(
                    whole(Buf::PooledN),
                    whole(Buf::HeadW),
                    whole(Buf::Logits),
                    (batch, padded_classes(c), d),
                )
                .bias(whole(Buf::HeadB));
                p.linear(head, stage.label(), one)?;
            }
        }
    }
    Ok(Planned {
        steps: p.steps,
        picks: p.picks,
        partial: p.partial,
    })
}

/// Floats of activations that must exist at once at the worst step of `steps`, given each
/// buffer's size: what the step reads and writes plus every value a later step still reads
/// before it is overwritten. Weights are not counted; the input image is.
pub fn peak_live_activations(steps: &[Step], len: impl Fn(Buf) -> usize) -> usize {
    let mut live_after: Vec<Buf> = Vec::new();
    let mut peak = 0;
    for s in steps.iter().rev() {
        let reads = s.reads().iter().copied().filter(|b| !b.is_weight());
        let mut during = live_after.clone();
        during.extend(reads.clone());
        during.push(s.writes());
        during.sort_by_key(|b| *b as usize);
        during.dedup();
        peak = peak.max(during.iter().map(|&b| len(b)).sum());
        live_after.retain(|&b| b != s.writes());
        live_after.extend(reads);
        live_after.sort_by_key(|b| *b as usize);
        live_after.dedup();
    }
    peak
}

/// Length of the longest chain of dependent dispatches: a dispatch waits for every
/// earlier one that wrote a buffer it touches, or read a buffer it writes.
pub fn critical_path(steps: &[Step]) -> usize {
    let mut depth: Vec<usize> = Vec::with_capacity(steps.len());
    for (n, s) in steps.iter().enumerate() {
        let w = s.writes();
        let d = steps[..n]
            .iter()
            .zip(&depth)
            .filter(|(e, _)| {
                s.reads().contains(&e.writes()) || e.writes() == w || e.reads().contains(&w)
            })
            .map(|(_, &d)| d)
            .max()
            .unwrap_or(0);
        depth.push(d + 1);
    }
    depth.into_iter().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ops::layer_norm;
    use crate::engine::step::Kernel;

    use crate::engine::choice::{Adapter, Forced, Source};

    fn choices() -> Choices {
        let adapter = Adapter {
            backend: wgpu::Backend::Vulkan,
            device_type: wgpu::DeviceType::Cpu,
            max_group: 256,
        };
        Choices::new(adapter, Forced::default())
    }

    fn cfg(k: usize, d: usize) -> Config {
        let mut c = Config::preset("mnist").unwrap();
        c.branches = k;
        c.depth = d;
        c
    }

    #[test]
    fn parallel_dispatch_count_does_not_depend_on_branches() {
        for d in 1..=3 {
            let counts: Vec<usize> = [1, 2, 8, 24]
                .iter()
                .map(|&k| {
                    plan(&cfg(k, d), 1, Mode::Parallel, k, &choices())
                        .unwrap()
                        .steps
                        .len()
                })
                .collect();
            assert!(counts.iter().all(|&n| n == 7 * d + 4), "{counts:?}");
        }
    }

    #[test]
    fn serial_dispatches_grow_with_depth_and_chain() {
        for k in [1, 3, 12] {
            let steps = plan(&cfg(k, 2), 2, Mode::Serial, k, &choices())
                .unwrap()
                .steps;
            assert_eq!(steps.len(), 7 * 2 * k + 4);
            assert_eq!(critical_path(&steps), steps.len());
        }
        let par = plan(&cfg(12, 2), 1, Mode::Parallel, 12, &choices())
            .unwrap()
            .steps;
        assert_eq!(critical_path(&par), 7 * 2 + 4);
    }

    #[test]
    fn peak_live_counts_values_still_needed_not_buffers() {
        let c = cfg(4, 1);
        let len = |b: Buf| b.len(&c, 1);
        let steps = plan(&c, 1, Mode::Parallel, 4, &choices()).unwrap().steps;
        let peak = peak_live_activations(&steps, len);
        // The MLP of a block needs v, g and h'' at once; the attention needs u, qkv and att.
        let mlp = len(Buf::V) + len(Buf::G) + len(Buf::H);
        let att = len(Buf::U) + len(Buf::Qkv) + len(Buf::Att);
        assert_eq!(peak, mlp.max(att));
        let all: usize = Buf::ALL
            .iter()
            .filter(|b| !b.is_weight())
            .map(|&b| len(b))
            .sum();
        assert!(peak < all);
        // A chain of single blocks needs no more than all branches at once.
        let serial = plan(&c, 1, Mode::Serial, 4, &choices()).unwrap().steps;
        assert!(peak_live_activations(&serial, len) <= peak);
    }

    #[test]
    fn every_variant_op_has_its_pick_keyed_by_mode_and_shape() {
        let c = cfg(4, 2);
        let ch = choices();
        for mode in Mode::ALL {
            let p = plan(&c, 1, mode, 4, &ch).unwrap();
            assert_eq!(p.steps.len(), p.picks.len());
            for (s, pick) in p.steps.iter().zip(&p.picks) {
                let op = s.kernel.op;
                let Some(pick) = pick else {
                    assert!(["patch_embed", "branch_sum"].contains(&op), "{op}");
                    continue;
                };
                assert_eq!(pick.key.op.name(), op);
                assert_eq!(pick.key.mode, mode);
                assert_eq!(pick.choice.source, Source::Heuristic);
                // The heuristic for a native CPU driver: today's 16 invocations per linear
                // workgroup, 64 rows per layer-norm workgroup, 32 for attention.
                let group = match pick.choice.variant {
                    Variant::Linear(v) => v.group,
                    Variant::LayerNorm(v) => {
                        assert_eq!(v, layer_norm::Variant::RowPerInvocation { group: 64 });
                        64
                    }
                    Variant::Attention(v) => v.group,
                };
                assert!(
                    s.kernel.constants.contains(&("GROUP", group)),
                    "{}: {:?}",
                    s.label,
                    s.kernel.constants
                );
            }
            // Lanes: one per image in serial mode, one per (image, branch) in parallel mode,
            // except the head's.
            let qkv = p.picks[2].unwrap();
            assert_eq!(qkv.key.shape.nz, if mode == Mode::Serial { 1 } else { 4 });
            assert_eq!(
                (qkv.key.shape.rows, qkv.key.shape.n, qkv.key.shape.k),
                (c.tokens(), 3 * c.inner(), c.dim)
            );
        }
    }

    #[test]
    fn split_k_adds_a_dependent_sum_per_linear_and_sizes_its_parts() {
        let forced = |splits| {
            let adapter = choices().adapter();
            let linear = linear::Variant {
                splits,
                ..linear::Variant::new(linear::Block::B4x4, 64)
            };
            let f = Forced {
                linear: Some(linear),
                ..Forced::default()
            };
            Choices::new(adapter, f)
        };
        let (k, d) = (3, 2);
        let c = cfg(k, d);
        for (mode, blocks) in [(Mode::Parallel, d), (Mode::Serial, k * d)] {
            let plain = plan(&c, 2, mode, k, &choices()).unwrap();
            assert_eq!(plain.partial, 0);
            let split = plan(&c, 2, mode, k, &forced(4)).unwrap();
            // Four linears per block and the head's, each one dispatch more.
            let linears = 4 * blocks + 1;
            assert_eq!(split.steps.len(), plain.steps.len() + linears);
            assert_eq!(
                critical_path(&split.steps),
                critical_path(&plain.steps) + linears
            );
            let sums = split.steps.iter().filter(|s| s.label == SPLIT_SUM_LABEL);
            assert_eq!(sums.count(), linears);
            // Every sum follows its linear, which has the pick; the sum has none.
            for (i, s) in split.steps.iter().enumerate() {
                if s.kernel.op == "linear_sum" {
                    assert_eq!(split.steps[i - 1].writes(), Buf::Partial);
                    assert!(split.picks[i].is_none() && split.picks[i - 1].is_some());
                }
            }
            // The widest linear's parts: the MLP's hidden layer or qkv, per lane.
            let lanes = if mode == Mode::Parallel { 2 * k } else { 2 };
            let widest = c.tokens() * c.mlp_dim.max(3 * c.inner());
            assert_eq!(split.partial, 4 * lanes * widest);
        }
    }

    #[test]
    fn the_plan_is_the_networks_stages_in_order() {
        let c = cfg(3, 2);
        for mode in Mode::ALL {
            let steps = plan(&c, 2, mode, 3, &choices()).unwrap().steps;
            let stages = network::inference(&c, mode, 3);
            let labels: Vec<&str> = steps.iter().map(|s| s.label).collect();
            let want: Vec<&str> = stages.iter().map(Stage::label).collect();
            assert_eq!(labels, want, "{mode:?}");
            // Each dispatch's work is its stage's, in f32 (the head's classes are padded to
            // a multiple of 4 on the device).
            let lanes = if mode == Mode::Parallel { 3 } else { 1 };
            for (step, stage) in steps.iter().zip(&stages) {
                let work = stage.work(&c, 2, lanes);
                assert_eq!(step.kernel.op, stage.op(), "{}", step.label);
                if *stage == Stage::HeadLinear {
                    assert!(step.flops >= work.flops && step.bytes >= 4.0 * work.values);
                } else {
                    assert_eq!(
                        (step.flops, step.bytes),
                        (work.flops, 4.0 * work.values),
                        "{}",
                        step.label
                    );
                }
            }
            // The CPU engine runs one op per stage of the same list.
            let cpu = crate::cpu::CpuEngine::new(&crate::model::Weights::seeded(&c, 0), 2).unwrap();
            assert_eq!(cpu.ops(mode, 3), steps.len());
        }
    }

    #[test]
    fn critical_path_sees_independent_work() {
        let mk = |r: Buf, w: Buf| Step {
            label: "test",
            kernel: Kernel::new("layer_norm", &[]),
            params: vec![],
            bindings: vec![r, w],
            groups: 1,
            flops: 0.0,
            bytes: 0.0,
        };
        // Two independent chains of two: depth 2, not 4.
        let steps = [
            mk(Buf::X0, Buf::U),
            mk(Buf::U, Buf::V),
            mk(Buf::X0, Buf::G),
            mk(Buf::G, Buf::Att),
        ];
        assert_eq!(critical_path(&steps), 2);
    }
}
