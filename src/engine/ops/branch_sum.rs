//! `branch_sum`: pooled[image] = sum over branches of pool(y[image, branch]), pooling the
//! class token or the mean over tokens. Serial mode passes one "branch".

use super::{params, shader};
use crate::Error;
use crate::engine::step::{Buf, Kernel, Lanes, Step, nonzero, u32_of};
use crate::model::Pool;

params! {
    pub struct Params {
        tokens: u32, dim: u32, branches: u32, images: u32,
        /// 1: mean over tokens, 0: the class token.
        mean_pool: u32, _pad0: u32, _pad1: u32, _pad2: u32,
    }
}

shader!("branch_sum", [&[]]);

/// Invocations per workgroup (the shader's `GROUP` override).
const GROUP: u32 = 64;

#[derive(Clone, Copy, Debug)]
pub struct BranchSum {
    /// [images, branches, tokens, dim]
    pub y: Buf,
    /// [images, dim]
    pub out: Buf,
    /// (tokens, dim)
    pub shape: (usize, usize),
    pub pool: Pool,
}

impl BranchSum {
    pub fn step(&self, lanes: Lanes) -> Result<Step, Error> {
        let (tokens, dim) = self.shape;
        nonzero(
            "branch_sum",
            &[("tokens", tokens), ("dim", dim), ("lanes", lanes.nz())],
        )?;
        let f = |what, value| u32_of("branch_sum", what, value);
        let params = Params {
            tokens: f("tokens", tokens)?,
            dim: f("dim", dim)?,
            branches: f("branches", lanes.branches)?,
            images: f("images", lanes.images)?,
            mean_pool: u32::from(self.pool == Pool::Mean),
            ..Params::default()
        };
        let read = match self.pool {
            Pool::Cls => 1,
            Pool::Mean => tokens,
        };
        Ok(Step {
            label: "branch_sum",
            kernel: Kernel::new("branch_sum", &[]).with("GROUP", GROUP),
            params: params.bytes(),
            bindings: vec![self.y, self.out],
            groups: (lanes.images * dim).div_ceil(GROUP as usize) as u64,
            flops: 0.0,
            bytes: 4.0 * (lanes.nz() * read * dim + lanes.images * dim) as f64,
        })
    }
}
