//! `patch_embed`: x0[image, t] = (t == 0 ? cls : patch_{t-1} . W + b) + pos[t], patches
//! flattened as `c (h p1) (w p2) -> (h w) (p1 p2 c)`. One invocation per token and 4
//! consecutive outputs.

use super::{params, shader};
use crate::Error;
use crate::engine::step::{Buf, Kernel, Step, nonzero, u32_of};
use crate::model::Config;

params! {
    pub struct Params {
        tokens: u32, dim: u32, psize: u32, channels: u32,
        height: u32, width: u32, grid_w: u32, images: u32,
    }
}

shader!("patch_embed", [&[]]);

/// Outputs per invocation and invocations per workgroup (the shader's `GROUP` override).
const OUTPUTS: usize = 4;
const GROUP: u32 = 64;

/// Patch embedding of `images` images from `Buf::Image` into `Buf::X0`.
pub fn step(c: &Config, images: usize) -> Result<Step, Error> {
    let (t, d) = (c.tokens(), c.dim);
    nonzero(
        "patch_embed",
        &[("images", images), ("dim", d), ("patch", c.patch)],
    )?;
    let f = |what, value| u32_of("patch_embed", what, value);
    let params = Params {
        tokens: f("tokens", t)?,
        dim: f("dim", d)?,
        psize: f("patch", c.patch)?,
        channels: f("channels", c.channels)?,
        height: f("height", c.image_height)?,
        width: f("width", c.image_width)?,
        grid_w: f("patches per row", c.image_width / c.patch)?,
        images: f("images", images)?,
    };
    Ok(Step {
        label: "patch_embed",
        kernel: Kernel::new("patch_embed", &[]).with("GROUP", GROUP),
        params: params.bytes(),
        bindings: vec![
            Buf::Image,
            Buf::PatchW,
            Buf::PatchB,
            Buf::Cls,
            Buf::Pos,
            Buf::X0,
        ],
        groups: (images * t * d.div_ceil(OUTPUTS)).div_ceil(GROUP as usize) as u64,
        flops: 2.0 * (images * c.num_patches() * c.patch_len() * d) as f64,
        bytes: 4.0 * (images * (c.image_len() + t * d) + d * c.patch_len()) as f64,
    })
}
