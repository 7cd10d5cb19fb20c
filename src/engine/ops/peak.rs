//! `peak`: the two probe kernels that measure what a device can do at best, the roofs of
//! the per-op "% of roof" (`engine::peak` runs them). `Fma` is ALU bound (8 independent
//! vec4 multiply-add chains per invocation), `Copy` memory bound (y = x in vec4s). Neither
//! is part of the model: their steps bind the probe's own two buffers, always f32.

use super::{params, shader};
use crate::Error;
use crate::engine::step::{Buf, Kernel, Step, nonzero, u32_of};

params! {
    pub struct Params {
        /// Invocations (`Fma`) or vec4s to copy (`Copy`).
        n: u32,
        /// Rounds of 8 vec4 multiply-adds per invocation (`Fma`).
        iters: u32,
        /// The chains' multiplier and addend, uniforms so that no compiler folds them.
        mul: f32,
        add: f32,
    }
}

shader!("peak", [&[], &["COPY"]]);

/// Invocations per workgroup (the shader's `GROUP` override).
pub const GROUP: u32 = 64;
/// Flops one `Fma` invocation does per round: 8 chains of vec4 multiply-add.
const FLOPS_PER_ROUND: f64 = 8.0 * 4.0 * 2.0;
/// Workgroups of a `Copy`: enough to fill a wide GPU, each looping over its share.
const COPY_GROUPS: usize = 4096;

/// The buffers a probe step binds: what it reads and what it writes.
pub const INPUT: Buf = Buf::X0;
pub const OUTPUT: Buf = Buf::H;

/// A probe kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peak {
    /// `invocations` chains of `iters` rounds; reads and writes one vec4 each.
    Fma { invocations: usize, iters: usize },
    /// Copies `vec4s` vec4s.
    Copy { vec4s: usize },
}

impl Peak {
    /// Floats the input and the output buffer each hold.
    pub fn floats(self) -> usize {
        match self {
            Peak::Fma { invocations, .. } => 4 * invocations,
            Peak::Copy { vec4s } => 4 * vec4s,
        }
    }

    pub fn step(self) -> Result<Step, Error> {
        let f = |what, value| u32_of("peak", what, value);
        let (kernel, groups, params, flops, bytes) = match self {
            Peak::Fma { invocations, iters } => {
                nonzero("peak", &[("invocations", invocations), ("iters", iters)])?;
                let params = Params {
                    n: f("invocations", invocations)?,
                    iters: f("iters", iters)?,
                    mul: 0.999,
                    add: 1e-3,
                };
                let flops = FLOPS_PER_ROUND * (invocations * iters) as f64;
                let groups = invocations.div_ceil(GROUP as usize);
                let bytes = 2.0 * 16.0 * invocations as f64;
                (Kernel::new("peak", &[]), groups, params, flops, bytes)
            }
            Peak::Copy { vec4s } => {
                nonzero("peak", &[("vec4s", vec4s)])?;
                let params = Params {
                    n: f("vec4s", vec4s)?,
                    ..Params::default()
                };
                let groups = vec4s.div_ceil(GROUP as usize).min(COPY_GROUPS);
                let bytes = 2.0 * 16.0 * vec4s as f64;
                (Kernel::new("peak", &["COPY"]), groups, params, 0.0, bytes)
            }
        };
        Ok(Step {
            label: "peak",
            kernel: kernel.with("GROUP", GROUP),
            params: params.bytes(),
            bindings: vec![INPUT, OUTPUT],
            groups: groups as u64,
            flops,
            bytes,
        })
    }
}
