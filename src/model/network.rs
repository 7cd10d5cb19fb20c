//! The network once: what one inference computes, in order, for a mode. Both engines
//! derive their work from this list (the GPU planner its dispatches, the CPU engine its
//! ops), so a change to the block reaches both or neither; the f32 reference
//! (`crate::reference`) stays written out on its own, as the independent oracle.

use super::{BlockWeights, Config, Mode};

/// A value of the forward pass, per lane [tokens, cols] (a lane: one image of one branch;
/// serial mode has one branch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// The embedded input [T, D], shared by every branch.
    X0,
    /// The residual stream [T, D]: a block's output (and input, after the first block).
    H,
    /// LN_a of the block's input [T, D].
    U,
    /// u Wqkv [T, 3I].
    Qkv,
    /// Multi-head attention's output [T, I].
    Att,
    /// LN_b of the attention sub-block's output [T, D].
    V,
    /// GELU(v W1 + b1) [T, M].
    G,
}

impl Value {
    /// Every value, each at the place its discriminant says.
    pub const ALL: [Value; 7] = [
        Value::X0,
        Value::H,
        Value::U,
        Value::Qkv,
        Value::Att,
        Value::V,
        Value::G,
    ];

    /// Columns per token.
    pub fn cols(self, c: &Config) -> usize {
        match self {
            Value::X0 | Value::H | Value::U | Value::V => c.dim,
            Value::Qkv => 3 * c.inner(),
            Value::Att => c.inner(),
            Value::G => c.mlp_dim,
        }
    }

    /// Whether every branch reads the same value (the embedded input) rather than its own.
    pub fn shared(self) -> bool {
        self == Value::X0
    }
}

/// A tensor of a block's weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    LnAW,
    LnAB,
    Wqkv,
    Wo,
    Bo,
    LnBW,
    LnBB,
    W1,
    B1,
    W2,
    B2,
}

impl Param {
    /// Floats of one block's tensor.
    pub fn len(self, c: &Config) -> usize {
        let (d, i, m) = (c.dim, c.inner(), c.mlp_dim);
        match self {
            Param::LnAW | Param::LnAB | Param::LnBW | Param::LnBB | Param::Bo | Param::B2 => d,
            Param::B1 => m,
            Param::Wqkv => 3 * i * d,
            Param::Wo => d * i,
            Param::W1 => m * d,
            Param::W2 => d * m,
        }
    }

    /// Its values in `w`.
    pub fn of(self, w: &BlockWeights) -> &[f32] {
        match self {
            Param::LnAW => &w.ln_a_w,
            Param::LnAB => &w.ln_a_b,
            Param::Wqkv => &w.wqkv,
            Param::Wo => &w.wo,
            Param::Bo => &w.bo,
            Param::LnBW => &w.ln_b_w,
            Param::LnBB => &w.ln_b_b,
            Param::W1 => &w.w1,
            Param::B1 => &w.b1,
            Param::W2 => &w.w2,
            Param::B2 => &w.b2,
        }
    }
}

/// y = x W^T (+ bias) (then GELU) (+ residual); W is [cols(y), cols(x)].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    pub x: Value,
    pub w: Param,
    pub bias: Option<Param>,
    pub gelu: bool,
    pub residual: Option<Value>,
    pub y: Value,
}

impl Linear {
    /// (outputs, inputs) per token.
    pub fn shape(&self, c: &Config) -> (usize, usize) {
        (self.y.cols(c), self.x.cols(c))
    }
}

/// One op of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// LayerNorm over each token's D values, with (gamma, beta).
    Norm {
        x: Value,
        gamma: Param,
        beta: Param,
        y: Value,
    },
    Linear(Linear),
    /// Multi-head self-attention of the q, k, v packed in `qkv`.
    Attention {
        qkv: Value,
        out: Value,
    },
}

/// A layer and its name in profiles and plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    pub label: &'static str,
    pub layer: Layer,
}

/// The block in the spec's PreNorm form on `input` (X0 for a branch's first block, H
/// after): u = LN_a(x); h' = u + Attn(u) Wo + bo; v = LN_b(h'); h'' = v + GELU(v W1 +
/// b1) W2 + b2, written to H.
pub fn block(input: Value) -> [Named; 7] {
    let linear = |x, w, bias, gelu, residual, y| {
        Layer::Linear(Linear {
            x,
            w,
            bias,
            gelu,
            residual,
            y,
        })
    };
    let named = |label, layer| Named { label, layer };
    [
        named(
            "layer_norm a",
            Layer::Norm {
                x: input,
                gamma: Param::LnAW,
                beta: Param::LnAB,
                y: Value::U,
            },
        ),
        named(
            "linear qkv",
            linear(Value::U, Param::Wqkv, None, false, None, Value::Qkv),
        ),
        named(
            "attention",
            Layer::Attention {
                qkv: Value::Qkv,
                out: Value::Att,
            },
        ),
        named(
            "linear out +residual",
            linear(
                Value::Att,
                Param::Wo,
                Some(Param::Bo),
                false,
                Some(Value::U),
                Value::H,
            ),
        ),
        named(
            "layer_norm b",
            Layer::Norm {
                x: Value::H,
                gamma: Param::LnBW,
                beta: Param::LnBB,
                y: Value::V,
            },
        ),
        named(
            "linear mlp1 +gelu",
            linear(Value::V, Param::W1, Some(Param::B1), true, None, Value::G),
        ),
        named(
            "linear mlp2 +residual",
            linear(
                Value::G,
                Param::W2,
                Some(Param::B2),
                false,
                Some(Value::V),
                Value::H,
            ),
        ),
    ]
}

/// Which block's weights a block position uses: block `base + branch * stride` of the
/// weights' serial order (a parallel run's lanes are its branches; serial mode has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub base: usize,
    pub stride: usize,
}

/// A stage of one inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Patches projected, the class token first, positions added: X0.
    PatchEmbed,
    /// One layer of a block position, on every lane.
    Block { layer: Named, slot: Slot },
    /// The lanes' H summed (K branch outputs; one in serial mode) and pooled per image.
    BranchSum,
    /// LN_h of the pooled values.
    HeadNorm,
    /// The classifier: the logits.
    HeadLinear,
}

impl Stage {
    /// Its name in profiles and plans (the GPU engine's dispatch labels).
    pub fn label(&self) -> &'static str {
        match self {
            Stage::PatchEmbed => "patch_embed",
            Stage::Block { layer, .. } => layer.label,
            Stage::BranchSum => "branch_sum",
            Stage::HeadNorm => "head layer_norm",
            Stage::HeadLinear => "head linear",
        }
    }
}

/// What a stage computes and moves, for rates and the roofline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Work {
    pub flops: f64,
    /// Values read and written (an engine's bytes are these times its value size).
    pub values: f64,
}

impl Stage {
    /// The kind of op it is ("linear", "layer_norm", ...): the GPU engine's kernel names.
    pub fn op(&self) -> &'static str {
        match self {
            Stage::PatchEmbed => "patch_embed",
            Stage::Block { layer, .. } => match layer.layer {
                Layer::Norm { .. } => "layer_norm",
                Layer::Linear(_) => "linear",
                Layer::Attention { .. } => "attention",
            },
            Stage::BranchSum => "branch_sum",
            Stage::HeadNorm => "layer_norm",
            Stage::HeadLinear => "linear",
        }
    }

    /// Its work on `images` images with `lanes` lanes per image (branches in parallel
    /// mode, one in serial mode): a linear's multiply-adds as two FLOPs, the inputs,
    /// weights and outputs it touches once each (a residual read once more).
    pub fn work(&self, c: &Config, images: usize, lanes: usize) -> Work {
        let (t, d) = (c.tokens(), c.dim);
        let nz = (images * lanes) as f64;
        let (flops, values) = match self {
            Stage::PatchEmbed => (
                2 * images * c.num_patches() * c.patch_len() * d,
                images * (c.image_len() + t * d) + d * c.patch_len(),
            ),
            Stage::Block { layer, .. } => {
                let per_lane = match layer.layer {
                    Layer::Norm { x, .. } => (0, 3 * t * x.cols(c)),
                    Layer::Linear(l) => {
                        let (n, k) = l.shape(c);
                        let outs = if l.residual.is_some() { 2 } else { 1 };
                        (2 * t * n * k, t * k + outs * t * n)
                    }
                    Layer::Attention { .. } => (4 * t * t * c.inner(), 4 * t * c.inner()),
                };
                // A lane's weights are its own: counted per lane like its activations.
                let weights = match layer.layer {
                    Layer::Linear(l) => {
                        let (n, k) = l.shape(c);
                        n * k
                    }
                    _ => 0,
                };
                return Work {
                    flops: nz * per_lane.0 as f64,
                    values: nz * (per_lane.1 + weights) as f64,
                };
            }
            Stage::BranchSum => {
                let read = match c.pool {
                    super::Pool::Cls => 1,
                    super::Pool::Mean => t,
                };
                (0, images * lanes * read * d + images * d)
            }
            Stage::HeadNorm => (0, 3 * images * d),
            Stage::HeadLinear => {
                let n = c.num_classes;
                (2 * images * n * d, images * d + n * d + images * n)
            }
        };
        Work {
            flops: flops as f64,
            values: values as f64,
        }
    }
}

/// Lanes per image of a run: its branches side by side in parallel mode, one in serial
/// mode (which chains the blocks).
pub fn lanes(mode: Mode, branches: usize) -> usize {
    match mode {
        Mode::Parallel => branches,
        Mode::Serial => 1,
    }
}

/// Block positions one inference runs, with their weights: parallel mode runs the d
/// positions of every branch at once (lanes = branches), serial mode chains the first
/// `branches * d` blocks in one lane.
pub fn positions(c: &Config, mode: Mode, branches: usize) -> Vec<Slot> {
    match mode {
        Mode::Parallel => (0..c.depth)
            .map(|base| Slot {
                base,
                stride: c.depth,
            })
            .collect(),
        Mode::Serial => (0..branches * c.depth)
            .map(|base| Slot { base, stride: 0 })
            .collect(),
    }
}

/// Every stage of one inference in `mode` with branches `0..branches`, in order.
pub fn inference(c: &Config, mode: Mode, branches: usize) -> Vec<Stage> {
    let mut out = vec![Stage::PatchEmbed];
    for (i, slot) in positions(c, mode, branches).into_iter().enumerate() {
        let input = if i == 0 { Value::X0 } else { Value::H };
        out.extend(block(input).map(|layer| Stage::Block { layer, slot }));
    }
    out.extend([Stage::BranchSum, Stage::HeadNorm, Stage::HeadLinear]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_reads_only_what_was_written_before_it() {
        let c = Config::preset("mnist").unwrap();
        let mut written = vec![Value::X0];
        for n in block(Value::X0) {
            let (reads, y): (Vec<Value>, Value) = match n.layer {
                Layer::Norm { x, y, .. } => (vec![x], y),
                Layer::Attention { qkv, out } => (vec![qkv], out),
                Layer::Linear(l) => {
                    let (cols_y, cols_x) = l.shape(&c);
                    assert_eq!((cols_y, cols_x), (l.y.cols(&c), l.x.cols(&c)));
                    (l.residual.into_iter().chain([l.x]).collect(), l.y)
                }
            };
            for r in reads {
                assert!(
                    written.contains(&r),
                    "{}: reads {r:?} before it is written",
                    n.label
                );
                assert_ne!(r, y, "{}: reads what it writes", n.label);
            }
            written.push(y);
        }
        assert_eq!(
            written.last(),
            Some(&Value::H),
            "a block ends in the residual stream"
        );
    }

    #[test]
    fn every_value_is_at_its_place() {
        for (i, v) in Value::ALL.into_iter().enumerate() {
            assert_eq!(v as usize, i, "{v:?}");
        }
    }

    #[test]
    fn stages_count_as_the_modes_promise() {
        let mut c = Config::preset("mnist").unwrap();
        c.depth = 2;
        for k in [1, 3] {
            assert_eq!(inference(&c, Mode::Parallel, k).len(), 1 + 7 * 2 + 3);
            assert_eq!(inference(&c, Mode::Serial, k).len(), 1 + 7 * 2 * k + 3);
        }
        // Parallel position j of branch k is block k*d + j; serial chains them in order.
        let par = positions(&c, Mode::Parallel, 3);
        assert_eq!(par[1].base + 2 * par[1].stride, 2 * c.depth + 1);
        let ser = positions(&c, Mode::Serial, 3);
        assert!(
            ser.iter()
                .enumerate()
                .all(|(i, s)| s.base == i && s.stride == 0)
        );
    }
}
