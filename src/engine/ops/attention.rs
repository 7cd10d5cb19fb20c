//! `attention`: softmax(q k^T / sqrt(Dh)) v for every (lane, head, query), reading
//! qkv [lanes, T, 3I] (q | k | v, each head-major) and writing [lanes, T, I], both packed
//! from offset 0. One invocation owns 4 queries of one (lane, head), or one (`Variant`).

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

shader!(
    "attention",
    [&[], &["SCALAR"], &["ONE_QUERY"], &["SCALAR", "ONE_QUERY"]]
);

/// How the kernel is compiled, beyond what the shape decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Queries per invocation: 4 (their state packed in vec4s), or 1 (define `ONE_QUERY`:
    /// four times the invocations, for devices wider than the work).
    pub queries: u32,
    /// Invocations per workgroup (the shader's `GROUP` override).
    pub group: u32,
}

impl Variant {
    /// The query counts the shader has.
    pub const QUERIES: [u32; 2] = [4, 1];

    /// Whether the shader has this variant.
    pub fn check(&self) -> Result<(), Error> {
        if Variant::QUERIES.contains(&self.queries) {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "attention: {} queries per invocation; the kernel has 4 or 1",
                self.queries
            )))
        }
    }

    /// "4q/32": queries per invocation, then invocations per workgroup.
    pub fn name(&self) -> String {
        format!("{}q/{}", self.queries, self.group)
    }

    fn defines(&self, width: Width) -> &'static [&'static str] {
        match (self.queries == 1, width) {
            (false, Width::Vec4) => &[],
            (false, Width::Scalar) => &["SCALAR"],
            (true, Width::Vec4) => &["ONE_QUERY"],
            (true, Width::Scalar) => &["SCALAR", "ONE_QUERY"],
        }
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
        v.check()?;
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
            kernel: Kernel::new("attention", v.defines(Width::fitting(&[dim_head])))
                .with("GROUP", v.group)
                .with("DH", params.dim_head),
            params: params.bytes(),
            bindings: vec![self.qkv, self.out],
            groups: (nz * heads * tokens.div_ceil(v.queries as usize)).div_ceil(v.group as usize)
                as u64,
            flops: 4.0 * nz as f64 * t * t * i,
            bytes: 4.0 * nz as f64 * 4.0 * t * i,
        })
    }
}
