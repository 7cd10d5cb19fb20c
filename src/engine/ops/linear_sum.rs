//! `linear_sum`: the second dispatch of a split-k linear. Adds the parts' partial sums that
//! the first left in `Buf::Partial` ([part, lane, rows, n]) and applies the linear's
//! epilogue (bias, GELU, residual) into y, one invocation per output value.

use super::{params, shader};
use crate::Error;
use crate::engine::step::{Buf, Kernel, Lanes, Operand, Step, nonzero, u32_of};

params! {
    pub struct Params {
        rows: u32, n: u32, nz: u32, branches: u32,
        splits: u32, part_ss: u32, epilogue: u32, _pad0: u32,
        /// Offsets and strides in f32 elements: `_bs` per branch, `_ns` per image.
        b_off: u32, b_bs: u32, r_off: u32, r_bs: u32,
        r_ns: u32, y_off: u32, y_bs: u32, y_ns: u32,
    }
}

shader!("linear_sum", [&[]]);

/// Invocations per workgroup (the shader's fixed workgroup size).
pub const GROUP: u32 = 64;

/// The bits of `Params::epilogue`, named as the shader's constants (the same as the
/// linear's: tests/shaders.rs checks both shaders).
pub const EPILOGUE: [(&str, u32); 3] = [("BIAS", BIAS), ("GELU", GELU), ("RESIDUAL", RESIDUAL)];
const BIAS: u32 = 1;
const GELU: u32 = 2;
const RESIDUAL: u32 = 4;

/// The sum of `splits` parts of a linear of `shape` (rows, n) and its epilogue.
#[derive(Clone, Copy, Debug)]
pub struct LinearSum {
    pub bias: Option<Operand>,
    pub residual: Option<Operand>,
    pub y: Operand,
    pub shape: (usize, usize),
    pub splits: u32,
    pub gelu: bool,
}

impl LinearSum {
    pub fn step(&self, label: &'static str, lanes: Lanes) -> Result<Step, Error> {
        let (rows, n) = self.shape;
        nonzero(
            "linear_sum",
            &[("rows", rows), ("n", n), ("parts", self.splits as usize)],
        )?;
        let y = self.y;
        // Absent operands bind the parts' buffer (bound anyway); the kernel never reads them.
        let stand_in = Operand::whole(Buf::Partial);
        let b = self.bias.unwrap_or(stand_in);
        let r = self.residual.unwrap_or(stand_in);
        let epilogue = if self.bias.is_some() { BIAS } else { 0 }
            | if self.gelu { GELU } else { 0 }
            | if self.residual.is_some() { RESIDUAL } else { 0 };
        let per_lane = rows * n;
        let f = |what, value| u32_of("linear_sum", what, value);
        let params = Params {
            rows: f("rows", rows)?,
            n: f("n", n)?,
            nz: f("lanes", lanes.nz())?,
            branches: f("branches", lanes.branches)?,
            splits: self.splits,
            part_ss: f("part stride", lanes.nz() * per_lane)?,
            epilogue,
            b_off: f("bias offset", b.off)?,
            b_bs: f("bias branch stride", b.branch_stride)?,
            r_off: f("residual offset", r.off)?,
            r_bs: f("residual branch stride", r.branch_stride)?,
            r_ns: f("residual image stride", r.image_stride)?,
            y_off: f("y offset", y.off)?,
            y_bs: f("y branch stride", y.branch_stride)?,
            y_ns: f("y image stride", y.image_stride)?,
            ..Params::default()
        };
        let outputs = (lanes.nz() * per_lane) as f64;
        let reads = self.splits as f64 + if self.residual.is_some() { 1.0 } else { 0.0 };
        Ok(Step {
            label,
            kernel: Kernel::new("linear_sum", &[]),
            params: params.bytes(),
            bindings: vec![Buf::Partial, b.buf, r.buf, y.buf],
            groups: (lanes.nz() * per_lane).div_ceil(GROUP as usize) as u64,
            flops: outputs * self.splits as f64,
            bytes: 4.0 * outputs * (reads + 1.0),
        })
    }
}
