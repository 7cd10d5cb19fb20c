//! `layer_norm`: each `cols`-wide row of x normalised (mean and centred variance, eps
//! 1e-5) and scaled by gamma and beta, for every row of every lane in one dispatch.
//! One invocation per row, or one workgroup per row (`Variant`).

use super::{params, shader};
use crate::Error;
use crate::engine::step::{Buf, Kernel, Lanes, Operand, Step, Width, nonzero, u32_of};

params! {
    pub struct Params {
        rows: u32, cols: u32, nz: u32, branches: u32,
        /// Offsets and strides in f32 elements: `_bs` per branch, `_ns` per image.
        x_off: u32, x_bs: u32, x_ns: u32, y_off: u32,
        y_bs: u32, y_ns: u32,
        /// gamma and beta share offset and branch stride.
        g_off: u32, g_bs: u32,
    }
}

shader!(
    "layer_norm",
    [
        &[],
        &["SCALAR"],
        &["ROW_PER_GROUP"],
        &["ROW_PER_GROUP", "SCALAR"]
    ]
);

/// How rows are spread over the device; `group` is the shader's `GROUP` override.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// One invocation per row, `group` rows per workgroup: for many rows (tokens x lanes).
    RowPerInvocation { group: u32 },
    /// One workgroup of `group` invocations per row (a power of two, 1 to 256), combining
    /// partial sums in workgroup memory: for long rows or few of them.
    RowPerGroup { group: u32 },
}

impl Variant {
    /// Whether the shader can run this variant on any device (the device's workgroup limit
    /// is checked where the adapter is known: `choice::Forced::check`).
    pub fn check(&self) -> Result<(), Error> {
        match *self {
            Variant::RowPerGroup { group } if !(group.is_power_of_two() && group <= 256) => {
                Err(Error::Config(format!(
                    "layer_norm: a row per workgroup needs a power of two of 1 to 256 \
                     invocations, not {group}"
                )))
            }
            Variant::RowPerInvocation { group: 0 } => Err(Error::Config(
                "layer_norm: a workgroup needs at least 1 invocation, not 0".into(),
            )),
            _ => Ok(()),
        }
    }

    /// "row-per-invocation/64", "row-per-group/32".
    pub fn name(&self) -> String {
        match self {
            Variant::RowPerInvocation { group } => format!("row-per-invocation/{group}"),
            Variant::RowPerGroup { group } => format!("row-per-group/{group}"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct LayerNorm {
    pub x: Operand,
    pub gamma: Operand,
    /// At gamma's offsets.
    pub beta: Buf,
    pub y: Operand,
    /// (rows, cols)
    pub shape: (usize, usize),
}

impl LayerNorm {
    pub fn step(&self, label: &'static str, lanes: Lanes, v: Variant) -> Result<Step, Error> {
        let (rows, cols) = self.shape;
        nonzero("layer_norm", &[("rows", rows), ("cols", cols)])?;
        v.check()?;
        let (x, y, g) = (self.x, self.y, self.gamma);
        let f = |what, value| u32_of("layer_norm", what, value);
        let params = Params {
            rows: f("rows", rows)?,
            cols: f("cols", cols)?,
            nz: f("lanes", lanes.nz())?,
            branches: f("branches", lanes.branches)?,
            x_off: f("x offset", x.off)?,
            x_bs: f("x branch stride", x.branch_stride)?,
            x_ns: f("x image stride", x.image_stride)?,
            y_off: f("y offset", y.off)?,
            y_bs: f("y branch stride", y.branch_stride)?,
            y_ns: f("y image stride", y.image_stride)?,
            g_off: f("gamma offset", g.off)?,
            g_bs: f("gamma branch stride", g.branch_stride)?,
        };
        let mut starts = vec![cols];
        starts.extend(x.starts());
        starts.extend(y.starts());
        starts.extend([g.off, g.branch_stride]);
        let width = Width::fitting(&starts);
        let (defines, group, groups) = match v {
            Variant::RowPerInvocation { group } => (
                width.defines(),
                group,
                (rows * lanes.nz()).div_ceil(group as usize),
            ),
            Variant::RowPerGroup { group } => {
                let defines: &'static [&'static str] = match width {
                    Width::Vec4 => &["ROW_PER_GROUP"],
                    Width::Scalar => &["ROW_PER_GROUP", "SCALAR"],
                };
                (defines, group, rows * lanes.nz())
            }
        };
        Ok(Step {
            label,
            kernel: Kernel::new("layer_norm", defines).with("GROUP", group),
            params: params.bytes(),
            bindings: vec![x.buf, g.buf, self.beta, y.buf],
            groups: groups as u64,
            flops: 0.0,
            bytes: 4.0 * (3 * rows * cols * lanes.nz()) as f64,
        })
    }
}
