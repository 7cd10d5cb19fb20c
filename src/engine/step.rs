//! The plan's vocabulary: buffers, operands, lanes, kernels and steps. Plain data, no GPU:
//! ops build steps from it, the planner orders them, the engine turns them into dispatches.

use super::precision::Precision;
use crate::Error;
use crate::model::Config;

/// Every buffer the engine owns. Weight buffers hold one kind of tensor for all blocks,
/// block `k*d + j` at offset `(k*d + j) * size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Buf {
    Image,
    PatchW,
    PatchB,
    Cls,
    Pos,
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
    HeadLnW,
    HeadLnB,
    HeadW,
    HeadB,
    X0,
    H,
    U,
    Qkv,
    Att,
    V,
    G,
    Pooled,
    PooledN,
    Logits,
    /// The parts' sums of split-k linears, sized by the plans that use it
    /// (`plan::Planned::partial`): `len` is 0.
    Partial,
}

impl Buf {
    pub const ALL: [Buf; 31] = [
        Buf::Image,
        Buf::PatchW,
        Buf::PatchB,
        Buf::Cls,
        Buf::Pos,
        Buf::LnAW,
        Buf::LnAB,
        Buf::Wqkv,
        Buf::Wo,
        Buf::Bo,
        Buf::LnBW,
        Buf::LnBB,
        Buf::W1,
        Buf::B1,
        Buf::W2,
        Buf::B2,
        Buf::HeadLnW,
        Buf::HeadLnB,
        Buf::HeadW,
        Buf::HeadB,
        Buf::X0,
        Buf::H,
        Buf::U,
        Buf::Qkv,
        Buf::Att,
        Buf::V,
        Buf::G,
        Buf::Pooled,
        Buf::PooledN,
        Buf::Logits,
        Buf::Partial,
    ];

    /// Size in f32 values for a model run on `batch` images with up to K branches at once.
    pub fn len(self, c: &Config, batch: usize) -> usize {
        let (t, d, i, m) = (c.tokens(), c.dim, c.inner(), c.mlp_dim);
        let (l, k, b) = (c.blocks(), c.branches, batch);
        match self {
            Buf::Image => b * c.image_len(),
            Buf::PatchW => d * c.patch_len(),
            Buf::PatchB | Buf::Cls | Buf::HeadLnW | Buf::HeadLnB => d,
            Buf::Pos => t * d,
            Buf::LnAW | Buf::LnAB | Buf::Bo | Buf::LnBW | Buf::LnBB | Buf::B2 => l * d,
            Buf::Wqkv => l * 3 * i * d,
            Buf::Wo => l * d * i,
            Buf::W1 | Buf::W2 => l * m * d,
            Buf::B1 => l * m,
            Buf::HeadW => padded_classes(c) * d,
            Buf::HeadB => padded_classes(c),
            Buf::X0 => b * t * d,
            Buf::H | Buf::U | Buf::V => b * k * t * d,
            Buf::Qkv => b * k * t * 3 * i,
            Buf::Att => b * k * t * i,
            Buf::G => b * k * t * m,
            Buf::Pooled | Buf::PooledN => b * d,
            Buf::Logits => b * padded_classes(c),
            Buf::Partial => 0,
        }
    }

    pub fn is_weight(self) -> bool {
        !matches!(
            self,
            Buf::Image
                | Buf::X0
                | Buf::H
                | Buf::U
                | Buf::Qkv
                | Buf::Att
                | Buf::V
                | Buf::G
                | Buf::Pooled
                | Buf::PooledN
                | Buf::Logits
                | Buf::Partial
        )
    }
}

/// Classes as the device holds them (head weights, bias and logits): padded with zeros to a
/// multiple of 4, so that the head runs the vec4 variant of the linear kernel like the
/// blocks (one compiled pipeline fewer, a large part of a cold start on a CPU driver).
pub fn padded_classes(c: &Config) -> usize {
    c.num_classes.next_multiple_of(4)
}

/// How wide the loads of a kernel's main operands are: `Vec4` when every row start is on a
/// 4-float boundary, else `Scalar` (the shader's `SCALAR` blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    Scalar,
    Vec4,
}

impl Width {
    /// `Vec4` when every one of `values` (sizes and offsets in floats) is a multiple of 4.
    pub fn fitting(values: &[usize]) -> Width {
        if values.iter().all(|v| v % 4 == 0) {
            Width::Vec4
        } else {
            Width::Scalar
        }
    }

    /// The shader define that selects this width.
    pub fn defines(self) -> &'static [&'static str] {
        match self {
            Width::Scalar => &["SCALAR"],
            Width::Vec4 => &[],
        }
    }
}

/// A compiled kernel: the op's shader with a set of defines (the `// #if NAME` blocks it
/// keeps), override constants and the storage precision (one more define). The key of a
/// pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    pub op: &'static str,
    pub defines: &'static [&'static str],
    pub constants: Vec<(&'static str, u32)>,
    /// Set by the engine for every step it plans (ops build f32 kernels).
    pub precision: Precision,
}

impl Kernel {
    pub fn new(op: &'static str, defines: &'static [&'static str]) -> Kernel {
        Kernel {
            op,
            defines,
            constants: Vec::new(),
            precision: Precision::F32,
        }
    }

    pub fn with(mut self, name: &'static str, value: u32) -> Kernel {
        self.constants.push((name, value));
        self
    }

    /// Every define the shader compiles with: the variant's and the precision's.
    pub fn all_defines(&self) -> Vec<&'static str> {
        let mut d = self.defines.to_vec();
        d.extend(self.precision.define());
        d
    }

    pub fn width(&self) -> Width {
        if self.defines.contains(&"SCALAR") {
            Width::Scalar
        } else {
            Width::Vec4
        }
    }
}

/// One dispatch: bindings 1.. in order (binding 0 is the parameter block); the last
/// binding is the one written.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What the step computes, for profiles ("linear qkv", "attention", ...).
    pub label: &'static str,
    pub kernel: Kernel,
    /// The bytes of the op's `Params` (its shader's `struct Params`).
    pub params: Vec<u8>,
    pub bindings: Vec<Buf>,
    /// Workgroups before folding into the grid.
    pub groups: u64,
    /// Arithmetic (multiply-add = 2) and the bytes read and written, for achieved rates.
    pub flops: f64,
    pub bytes: f64,
}

impl Step {
    pub fn writes(&self) -> Buf {
        *self.bindings.last().expect("every step writes a buffer")
    }

    pub fn reads(&self) -> &[Buf] {
        &self.bindings[..self.bindings.len() - 1]
    }
}

/// A tensor operand: buffer, offset, and strides per branch and per image (f32 elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operand {
    pub buf: Buf,
    pub off: usize,
    pub branch_stride: usize,
    pub image_stride: usize,
}

impl Operand {
    /// A whole buffer with no per-branch or per-image stride.
    pub fn whole(buf: Buf) -> Operand {
        Operand {
            buf,
            off: 0,
            branch_stride: 0,
            image_stride: 0,
        }
    }

    /// Offset and strides, the values whose alignment decides the load width.
    pub fn starts(&self) -> [usize; 3] {
        [self.off, self.branch_stride, self.image_stride]
    }
}

/// How many (image, branch) pairs a dispatch covers: z = image * lanes + branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lanes {
    pub images: usize,
    pub branches: usize,
}

impl Lanes {
    pub fn nz(self) -> usize {
        self.images * self.branches
    }
}

/// A size or offset as the shaders take it. Sizes are bounded by the storage binding
/// limit (checked before planning), so this only fails for shapes no device can hold.
pub fn u32_of(op: &str, what: &str, v: usize) -> Result<u32, Error> {
    u32::try_from(v).map_err(|_| {
        Error::Config(format!(
            "{op}: {what} = {v} does not fit the kernel's 32-bit index (at most {})",
            u32::MAX
        ))
    })
}

/// Fails unless every named size is at least 1: a zero-sized op has no dispatch.
pub fn nonzero(op: &str, sizes: &[(&str, usize)]) -> Result<(), Error> {
    match sizes.iter().find(|(_, v)| *v == 0) {
        Some((name, _)) => Err(Error::Config(format!(
            "{op}: {name} is 0, every size of an op must be at least 1"
        ))),
        None => Ok(()),
    }
}

/// Folds `groups` workgroups into a grid whose dimensions stay within `max_dim`;
/// kernels linearise the grid and skip the excess. None if it cannot fit.
pub fn fold_grid(groups: u64, max_dim: u32) -> Option<[u32; 3]> {
    let m = max_dim as u64;
    if groups <= m {
        return Some([groups as u32, 1, 1]);
    }
    let rest = groups.div_ceil(m);
    if rest <= m {
        return Some([max_dim, rest as u32, 1]);
    }
    let z = rest.div_ceil(m);
    (z <= m).then_some([max_dim, max_dim, z as u32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_fold_within_limits() {
        assert_eq!(fold_grid(10, 65535), Some([10, 1, 1]));
        assert_eq!(fold_grid(10, 4), Some([4, 3, 1]));
        assert_eq!(fold_grid(64, 4), Some([4, 4, 4]));
        assert_eq!(fold_grid(65, 4), None);
        for (g, m) in [(1u64, 1u32), (17, 4), (64, 4), (1 << 33, 65535)] {
            let [x, y, z] = fold_grid(g, m).unwrap();
            assert!(x <= m && y <= m && z <= m);
            assert!((x as u64) * (y as u64) * (z as u64) >= g);
        }
    }
}
