//! `attention`: softmax(q k^T / sqrt(Dh)) v for every (lane, head, query), reading
//! qkv [lanes, T, 3I] (q | k | v, each head-major) and writing [lanes, T, I], both packed
//! from offset 0. One invocation owns 4 queries of one (lane, head).

use super::{params, shader};
use crate::Error;
use crate::engine::step::{Buf, Kernel, Step, Width, nonzero, u32_of};

params! {
    pub struct Params {
        tokens: u32, heads: u32, dim_head: u32, nz: u32,
        /// 1 / sqrt(dim_head)
        scale: f32, _pad0: u32, _pad1: u32, _pad2: u32,
    }
}

shader!("attention", [&[], &["SCALAR"]]);

/// Queries per invocation.
const QUERIES: usize = 4;

/// How the kernel is compiled, beyond what the shape decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Invocations per workgroup (the shader's `GROUP` override).
    pub group: u32,
}

impl Variant {
    /// "4q/32": queries per invocation, then invocations per workgroup.
    pub fn name(&self) -> String {
        format!("{QUERIES}q/{}", self.group)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Attention {
    pub qkv: Buf,
    pub out: Buf,
    /// (tokens, heads, dim_head)
    pub shape: (usize, usize, usize),
    /// Lanes, (image, branch) pairs.
    pub nz: usize,
}

impl Attention {
    pub fn step(&self, v: Variant) -> Result<Step, Error> {
        let (tokens, heads, dim_head) = self.shape;
        let nz = self.nz;
        nonzero(
            "attention",
            &[
                ("tokens", tokens),
                ("heads", heads),
                ("dim_head", dim_head),
                ("lanes", nz),
                ("group", v.group as usize),
            ],
        )?;
        let f = |what, value| u32_of("attention", what, value);
        let params = Params {
            tokens: f("tokens", tokens)?,
            heads: f("heads", heads)?,
            dim_head: f("dim_head", dim_head)?,
            nz: f("lanes", nz)?,
            scale: 1.0 / (dim_head as f32).sqrt(),
            ..Params::default()
        };
        let (t, i) = (tokens as f64, (heads * dim_head) as f64);
        Ok(Step {
            label: "attention",
            // The head dimension is an override: the loops over it get a constant trip count.
            kernel: Kernel::new("attention", Width::fitting(&[dim_head]).defines())
                .with("GROUP", v.group)
                .with("DH", params.dim_head),
            params: params.bytes(),
            bindings: vec![self.qkv, self.out],
            groups: (nz * heads * tokens.div_ceil(QUERIES)).div_ceil(v.group as usize) as u64,
            flops: 4.0 * nz as f64 * t * t * i,
            bytes: 4.0 * nz as f64 * 4.0 * t * i,
        })
    }
}
