//! `linear`: y = act(x W^T + b) + r for every (image, branch) lane in one dispatch, with
//! x [rows, k], W [n, k] (PyTorch layout), y and r [rows, n]. Bias, GELU and the residual
//! are bits of `Params::epilogue`, not variants: one pipeline serves every linear of a
//! model, which keeps the cold start short.

use super::{params, shader};
use crate::Error;
use crate::engine::step::{Buf, Kernel, Lanes, Operand, Step, Width, nonzero, u32_of};

params! {
    pub struct Params {
        rows: u32, n: u32, k: u32, nz: u32,
        branches: u32, blocks_n: u32, blocks: u32, epilogue: u32,
        /// Offsets and strides in f32 elements: `_bs` per branch, `_ns` per image.
        x_off: u32, x_bs: u32, x_ns: u32,
        w_off: u32, w_bs: u32, b_off: u32, b_bs: u32,
        r_off: u32, r_bs: u32, r_ns: u32,
        y_off: u32, y_bs: u32, y_ns: u32,
        /// Split-k: parts of k (1: none), values of k per part (a multiple of 4) and the
        /// stride of y per part.
        splits: u32, k_chunk: u32, y_ss: u32,
    }
}

shader!(
    "linear",
    [
        &[],
        &["SCALAR"],
        &["BLOCK_4X8"],
        &["SCALAR", "BLOCK_4X8"],
        &["BLOCK_4X4"],
        &["SCALAR", "BLOCK_4X4"],
        &["BLOCK_1X4"],
        &["SCALAR", "BLOCK_1X4"],
        &["TILED"],
        &["SCALAR", "TILED"],
    ]
);

/// Invocations of the tiled variant's workgroup (its shader's fixed workgroup size).
pub const TILED_GROUP: u32 = 64;

/// The block of y one invocation computes in registers (the shader's `BLOCK_ROWS` x
/// `BLOCK_COLS`, one `// #if` branch each, written by tools/gen_linear.py). Large blocks
/// reuse each load more; small ones give a wide device more invocations for the same op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Block {
    /// 9 x 16: the 65 tokens of the cifar preset fill 8 row blocks, mnist's 17 fill 2.
    B9x16,
    B4x8,
    B4x4,
    B1x4,
    /// A 32 x 32 tile of y per workgroup of 64 invocations (4 x 4 each), x and W staged in
    /// workgroup memory 16 values of k at a time: the usual GPU matmul.
    Tiled,
}

impl Block {
    pub const ALL: [Block; 5] = [
        Block::B9x16,
        Block::B4x8,
        Block::B4x4,
        Block::B1x4,
        Block::Tiled,
    ];

    /// (rows, columns) of y per invocation, or per workgroup for `Tiled`.
    pub fn size(self) -> (usize, usize) {
        match self {
            Block::B9x16 => (9, 16),
            Block::B4x8 => (4, 8),
            Block::B4x4 => (4, 4),
            Block::B1x4 => (1, 4),
            Block::Tiled => (32, 32),
        }
    }

    /// "9x16", "tiled"
    pub fn name(self) -> String {
        if self == Block::Tiled {
            return "tiled".into();
        }
        let (rows, cols) = self.size();
        format!("{rows}x{cols}")
    }

    /// Invocations per workgroup the block requires, if it fixes them.
    pub fn fixed_group(self) -> Option<u32> {
        (self == Block::Tiled).then_some(TILED_GROUP)
    }

    /// The shader's defines for this block at a load width.
    fn defines(self, width: Width) -> &'static [&'static str] {
        let scalar = width == Width::Scalar;
        match (self, scalar) {
            (Block::B9x16, false) => &[],
            (Block::B9x16, true) => &["SCALAR"],
            (Block::B4x8, false) => &["BLOCK_4X8"],
            (Block::B4x8, true) => &["SCALAR", "BLOCK_4X8"],
            (Block::B4x4, false) => &["BLOCK_4X4"],
            (Block::B4x4, true) => &["SCALAR", "BLOCK_4X4"],
            (Block::B1x4, false) => &["BLOCK_1X4"],
            (Block::B1x4, true) => &["SCALAR", "BLOCK_1X4"],
            (Block::Tiled, false) => &["TILED"],
            (Block::Tiled, true) => &["SCALAR", "TILED"],
        }
    }
}

/// The bits of `Params::epilogue`, named as the shader's constants.
pub const EPILOGUE: [(&str, u32); 3] = [("BIAS", BIAS), ("GELU", GELU), ("RESIDUAL", RESIDUAL)];
const BIAS: u32 = 1;
const GELU: u32 = 2;
const RESIDUAL: u32 = 4;

/// Most parts a split-k variant may cut k into.
pub const MAX_SPLITS: u32 = 64;

/// How the kernel is compiled and dispatched, beyond what the operands decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub block: Block,
    /// Invocations per workgroup (the `GROUP` override).
    pub group: u32,
    /// Parts of k summed by separate invocations (split-k): 1 for none. More than 1 writes
    /// partial sums to `Buf::Partial` and needs a `linear_sum` dispatch after it (the
    /// planner adds it): for shapes whose output alone gives a wide device too few blocks.
    pub splits: u32,
}

impl Variant {
    /// A variant that does not split k.
    pub fn new(block: Block, group: u32) -> Variant {
        Variant {
            block,
            group,
            splits: 1,
        }
    }

    /// Whether the shader can run this variant on any device (the device's workgroup limit
    /// is checked where the adapter is known: `choice::Forced::check`).
    pub fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_SPLITS).contains(&self.splits) {
            return Err(Error::Config(format!(
                "linear: split-k into {} parts; 1 (no split) to {MAX_SPLITS} are allowed",
                self.splits
            )));
        }
        match self.block.fixed_group() {
            Some(fixed) if self.group != fixed => Err(Error::Config(format!(
                "linear: the {} variant runs {fixed} invocations per workgroup, not {}",
                self.block.name(),
                self.group
            ))),
            _ => Ok(()),
        }
    }

    /// "9x16/64": the register block, then invocations per workgroup; "4x4/64/split4"
    /// when k is split in 4 parts.
    pub fn name(&self) -> String {
        match self.splits {
            1 => format!("{}/{}", self.block.name(), self.group),
            s => format!("{}/{}/split{s}", self.block.name(), self.group),
        }
    }
}

/// Floats of `Buf::Partial` a split-k linear of `shape` (rows, n, k) writes: one
/// [lanes, rows, n] slice per part.
pub fn partial_len(shape: (usize, usize, usize), lanes: Lanes, splits: u32) -> usize {
    splits as usize * lanes.nz() * shape.0 * shape.1
}

/// One linear: its operands and shape.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    pub x: Operand,
    pub w: Operand,
    pub bias: Option<Operand>,
    pub residual: Option<Operand>,
    pub y: Operand,
    /// (rows, n, k)
    pub shape: (usize, usize, usize),
    pub gelu: bool,
}

impl Linear {
    /// y = x W^T with x [rows, k], W [n, k]; `shape` is (rows, n, k).
    pub fn new(x: Operand, w: Operand, y: Operand, shape: (usize, usize, usize)) -> Linear {
        Linear {
            x,
            w,
            bias: None,
            residual: None,
            y,
            shape,
            gelu: false,
        }
    }

    pub fn bias(self, bias: Operand) -> Linear {
        Linear {
            bias: Some(bias),
            ..self
        }
    }

    /// GELU after the bias, before the residual.
    pub fn gelu(self) -> Linear {
        Linear { gelu: true, ..self }
    }

    pub fn residual(self, residual: Operand) -> Linear {
        Linear {
            residual: Some(residual),
            ..self
        }
    }

    /// The linear's dispatch; for a split-k variant its first one, which writes the parts'
    /// sums to `Buf::Partial` (and ignores y and the epilogue: `linear_sum` applies them).
    pub fn step(&self, label: &'static str, lanes: Lanes, v: Variant) -> Result<Step, Error> {
        let (rows, n, k) = self.shape;
        nonzero(
            "linear",
            &[
                ("rows", rows),
                ("n", n),
                ("k", k),
                ("group", v.group as usize),
            ],
        )?;
        v.check()?;
        let (block_rows, block_cols) = v.block.size();
        let blocks_n = n.div_ceil(block_cols);
        let blocks = blocks_n * rows.div_ceil(block_rows);
        // Absent operands bind the (read-only) weight buffer; the kernel never reads them.
        let split = v.splits > 1;
        let (bias, residual) = match split {
            true => (None, None),
            false => (self.bias, self.residual),
        };
        let b = bias.unwrap_or(self.w);
        let r = residual.unwrap_or(self.w);
        let (x, w) = (self.x, self.w);
        // The parts' sums, [part, lane, rows, n] with lane = image * branches + branch.
        let part_ss = lanes.nz() * rows * n;
        let y = match split {
            true => Operand {
                buf: Buf::Partial,
                off: 0,
                branch_stride: rows * n,
                image_stride: lanes.branches * rows * n,
            },
            false => self.y,
        };
        let epilogue = if bias.is_some() { BIAS } else { 0 }
            | if self.gelu && !split { GELU } else { 0 }
            | if residual.is_some() { RESIDUAL } else { 0 };
        // Each part's k is a multiple of 4 (a whole number of vec4 loads).
        let k_chunk = k.div_ceil(v.splits as usize).next_multiple_of(4);
        let f = |what, value| u32_of("linear", what, value);
        let params = Params {
            rows: f("rows", rows)?,
            n: f("n", n)?,
            k: f("k", k)?,
            nz: f("lanes", lanes.nz())?,
            branches: f("branches", lanes.branches)?,
            blocks_n: f("column blocks", blocks_n)?,
            blocks: f("blocks", blocks)?,
            epilogue,
            x_off: f("x offset", x.off)?,
            x_bs: f("x branch stride", x.branch_stride)?,
            x_ns: f("x image stride", x.image_stride)?,
            w_off: f("w offset", w.off)?,
            w_bs: f("w branch stride", w.branch_stride)?,
            b_off: f("bias offset", b.off)?,
            b_bs: f("bias branch stride", b.branch_stride)?,
            r_off: f("residual offset", r.off)?,
            r_bs: f("residual branch stride", r.branch_stride)?,
            r_ns: f("residual image stride", r.image_stride)?,
            y_off: f("y offset", y.off)?,
            y_bs: f("y branch stride", y.branch_stride)?,
            y_ns: f("y image stride", y.image_stride)?,
            splits: v.splits,
            k_chunk: f("k per part", if split { k_chunk } else { k })?,
            y_ss: f("part stride", if split { part_ss } else { 0 })?,
        };
        // Vec4 needs k, n and every row start (offsets and strides) on 4-float boundaries.
        let mut starts = vec![k, n];
        for o in [x, w, y] {
            starts.extend(o.starts());
        }
        starts.extend([b.off, b.branch_stride]);
        starts.extend(r.starts());
        starts.push(part_ss);
        let width = Width::fitting(&starts);
        let nz = lanes.nz() as f64;
        let out = nz
            * (rows * n) as f64
            * match (split, residual.is_some()) {
                (true, _) => v.splits as f64,
                (false, true) => 2.0,
                (false, false) => 1.0,
            };
        Ok(Step {
            label,
            kernel: Kernel::new("linear", v.block.defines(width)).with("GROUP", v.group),
            params: params.bytes(),
            bindings: vec![x.buf, w.buf, b.buf, r.buf, y.buf],
            // A tile per workgroup, or GROUP blocks per workgroup.
            groups: match v.block {
                Block::Tiled => blocks * lanes.nz(),
                _ => blocks.div_ceil(v.group as usize) * lanes.nz(),
            } as u64
                * v.splits as u64,
            flops: 2.0 * nz * (rows * n * k) as f64,
            bytes: 4.0 * (nz * (rows * k + n * k) as f64 + out),
        })
    }
}
