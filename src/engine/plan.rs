//! The execution plan: the ordered dispatches of one inference in a given mode, as plain
//! data (kernel, parameters, buffers, workgroup count). Pure: no GPU needed to build or
//! inspect it, which is how its dispatch counts are tested.
//!
//! Parallel mode runs op j of every branch in ONE dispatch: z = (image, branch) comes from
//! the workgroup grid, and each branch reads its own block's weights at `branch * stride`.
//! Serial mode runs the same blocks one after another with a single "branch".

use crate::model::{Config, Mode, Pool};

use super::kernels::{Kernel, Width};

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
}

impl Buf {
    pub const ALL: [Buf; 30] = [
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
        )
    }
}

/// One dispatch: bindings 1.. in order (binding 0 is the parameter block); the last
/// binding is the one written.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What the step computes, for profiles ("linear qkv", "attention", ...).
    pub label: &'static str,
    pub kernel: Kernel,
    pub params: Vec<u32>,
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
}

/// How many (image, branch) pairs a dispatch covers: z = image * lanes + branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lanes {
    pub images: usize,
    pub branches: usize,
}

impl Lanes {
    fn nz(self) -> usize {
        self.images * self.branches
    }
}

/// Which block's weights a dispatch uses: block `base + branch * stride`.
#[derive(Clone, Copy)]
struct BlockSlot {
    base: usize,
    stride: usize,
}

impl BlockSlot {
    fn weight(self, buf: Buf, per_block: usize) -> Operand {
        Operand {
            buf,
            off: self.base * per_block,
            branch_stride: self.stride * per_block,
            image_stride: 0,
        }
    }
}

fn u(v: usize) -> u32 {
    u32::try_from(v).expect("sizes are bounded by the adapter limits checked before planning")
}

/// Classes as the device holds them (head weights, bias and logits): padded with zeros to a
/// multiple of 4, so that the head runs the vec4 variant of the linear kernel like the
/// blocks (one compiled pipeline fewer, which is a large part of a cold start on lavapipe).
pub fn padded_classes(c: &Config) -> usize {
    c.num_classes.next_multiple_of(4)
}

/// Rows and columns of y one invocation of the linear kernel computes (its `BLOCK_ROWS`,
/// `BLOCK_COLS`, written by tools/gen_linear.py).
pub const LINEAR_BLOCK: (usize, usize) = (9, 16);

/// `y = act(x W^T + b) + r` with x [rows, k], W [n, k], y [rows, n] for every lane.
#[allow(clippy::too_many_arguments)]
pub fn linear_step(
    label: &'static str,
    x: Operand,
    w: Operand,
    b: Option<Operand>,
    r: Option<Operand>,
    y: Operand,
    (rows, n, k): (usize, usize, usize),
    gelu: bool,
    lanes: Lanes,
    group: u32,
) -> Step {
    // Each invocation computes one block of y; `group` invocations per workgroup.
    let (block_rows, block_cols) = LINEAR_BLOCK;
    let blocks_n = n.div_ceil(block_cols);
    let blocks = blocks_n * rows.div_ceil(block_rows);
    // Absent operands bind the (read-only) weight buffer; the kernel never reads them.
    let bo = b.unwrap_or(w);
    // The kernel's epilogue bits: 1 bias, 2 GELU, 4 residual.
    let epilogue =
        usize::from(b.is_some()) | usize::from(gelu) << 1 | usize::from(r.is_some()) << 2;
    let ro = r.unwrap_or(w);
    #[rustfmt::skip]
    let params = [
        rows, n, k, lanes.nz(), lanes.branches, blocks_n, blocks, epilogue,
        x.off, x.branch_stride, x.image_stride, 0,
        w.off, w.branch_stride, bo.off, bo.branch_stride,
        ro.off, ro.branch_stride, ro.image_stride, 0,
        y.off, y.branch_stride, y.image_stride, 0,
    ];
    let nz = lanes.nz() as f64;
    let out = nz * (rows * n) as f64 * if r.is_some() { 2.0 } else { 1.0 };
    Step {
        label,
        kernel: Kernel::Linear {
            group,
            // Vec4 needs k, n and every row start (offsets and strides) on 4-float boundaries.
            width: Width::fitting(&[
                k,
                n,
                x.off,
                x.branch_stride,
                x.image_stride,
                w.off,
                w.branch_stride,
                bo.off,
                bo.branch_stride,
                ro.off,
                ro.branch_stride,
                ro.image_stride,
                y.off,
                y.branch_stride,
                y.image_stride,
            ]),
        },
        params: params.map(u).to_vec(),
        bindings: vec![x.buf, w.buf, bo.buf, ro.buf, y.buf],
        groups: (blocks.div_ceil(group as usize) * lanes.nz()) as u64,
        flops: 2.0 * nz * (rows * n * k) as f64,
        bytes: 4.0 * (nz * (rows * k + n * k) as f64 + out),
    }
}

/// LayerNorm of each `cols`-wide row; gamma and beta share offsets and strides.
pub fn layer_norm_step(
    label: &'static str,
    x: Operand,
    gamma: Operand,
    beta: Buf,
    y: Operand,
    (rows, cols): (usize, usize),
    lanes: Lanes,
) -> Step {
    #[rustfmt::skip]
    let params = [
        rows, cols, lanes.nz(), lanes.branches,
        x.off, x.branch_stride, x.image_stride, 0,
        y.off, y.branch_stride, y.image_stride, 0,
        gamma.off, gamma.branch_stride, 0, 0,
    ];
    Step {
        label,
        kernel: Kernel::LayerNorm {
            width: Width::fitting(&[
                cols,
                x.off,
                x.branch_stride,
                x.image_stride,
                y.off,
                y.branch_stride,
                y.image_stride,
                gamma.off,
                gamma.branch_stride,
            ]),
        },
        params: params.map(u).to_vec(),
        bindings: vec![x.buf, gamma.buf, beta, y.buf],
        // One invocation per row; 64 per workgroup.
        groups: (rows * lanes.nz()).div_ceil(64) as u64,
        flops: 0.0,
        bytes: 4.0 * (3 * rows * cols * lanes.nz()) as f64,
    }
}

/// Attention over `qkv` [nz, T, 3I] into `out` [nz, T, I] (both packed from offset 0).
pub fn attention_step(
    qkv: Buf,
    out: Buf,
    (tokens, heads, dim_head): (usize, usize, usize),
    nz: usize,
) -> Step {
    let scale = (1.0 / (dim_head as f32).sqrt()).to_bits();
    let (t, i) = (tokens as f64, (heads * dim_head) as f64);
    Step {
        label: "attention",
        kernel: Kernel::Attention {
            dim_head: u(dim_head),
            width: Width::fitting(&[dim_head]),
        },
        params: vec![u(tokens), u(heads), u(dim_head), u(nz), 0, 0, scale, 0],
        bindings: vec![qkv, out],
        // Each invocation owns 4 queries of one (lane, head); 32 invocations per workgroup.
        groups: (nz * heads * tokens.div_ceil(4)).div_ceil(32) as u64,
        flops: 4.0 * nz as f64 * t * t * i,
        bytes: 4.0 * nz as f64 * 4.0 * t * i,
    }
}

/// Patch embedding of `images` images from `Buf::Image` into `Buf::X0`.
pub fn patch_embed_step(c: &Config, images: usize) -> Step {
    let (t, d) = (c.tokens(), c.dim);
    let params = [
        t,
        d,
        c.patch,
        c.channels,
        c.image_height,
        c.image_width,
        c.image_width / c.patch,
        images,
    ];
    Step {
        label: "patch_embed",
        kernel: Kernel::PatchEmbed,
        params: params.map(u).to_vec(),
        bindings: vec![
            Buf::Image,
            Buf::PatchW,
            Buf::PatchB,
            Buf::Cls,
            Buf::Pos,
            Buf::X0,
        ],
        // One invocation per token and 4 outputs; 64 invocations per workgroup.
        groups: (images * t * d.div_ceil(4)).div_ceil(64) as u64,
        flops: 2.0 * (images * c.num_patches() * c.patch_len() * d) as f64,
        bytes: 4.0 * (images * (c.image_len() + t * d) + d * c.patch_len()) as f64,
    }
}

/// Sum over `lanes.branches` branch outputs in `y` [images, branches, T, D], pooled, into `out` [images, D].
pub fn branch_sum_step(
    y: Buf,
    out: Buf,
    (tokens, dim): (usize, usize),
    lanes: Lanes,
    pool: Pool,
) -> Step {
    let params = [
        tokens,
        dim,
        lanes.branches,
        lanes.images,
        usize::from(pool == Pool::Mean),
        0,
        0,
        0,
    ];
    let read = match pool {
        Pool::Cls => 1,
        Pool::Mean => tokens,
    };
    Step {
        label: "branch_sum",
        kernel: Kernel::BranchSum,
        params: params.map(u).to_vec(),
        bindings: vec![y, out],
        groups: (lanes.images * dim).div_ceil(64) as u64,
        flops: 0.0,
        bytes: 4.0 * (lanes.nz() * read * dim + lanes.images * dim) as f64,
    }
}

struct Planner<'a> {
    c: &'a Config,
    lanes: Lanes,
    /// Invocations per workgroup of the linear kernel.
    group: u32,
    steps: Vec<Step>,
}

impl Planner<'_> {
    /// An activation [images, branches, rows, cols].
    fn act(&self, buf: Buf, rows: usize, cols: usize) -> Operand {
        Operand {
            buf,
            off: 0,
            branch_stride: rows * cols,
            image_stride: self.lanes.branches * rows * cols,
        }
    }

    /// The embedded input [images, T, D], read by every branch.
    fn shared_x0(&self) -> Operand {
        Operand {
            buf: Buf::X0,
            off: 0,
            branch_stride: 0,
            image_stride: self.c.tokens() * self.c.dim,
        }
    }

    fn block(&mut self, input: Operand, slot: BlockSlot) {
        let c = self.c;
        let (t, d, i, m) = (c.tokens(), c.dim, c.inner(), c.mlp_dim);
        let lanes = self.lanes;
        let (uu, h, v) = (
            self.act(Buf::U, t, d),
            self.act(Buf::H, t, d),
            self.act(Buf::V, t, d),
        );
        let (qkv, att, g) = (
            self.act(Buf::Qkv, t, 3 * i),
            self.act(Buf::Att, t, i),
            self.act(Buf::G, t, m),
        );
        let group = self.group;
        let w = |buf, size| slot.weight(buf, size);
        self.steps.extend([
            layer_norm_step(
                "layer_norm a",
                input,
                w(Buf::LnAW, d),
                Buf::LnAB,
                uu,
                (t, d),
                lanes,
            ),
            linear_step(
                "linear qkv",
                uu,
                w(Buf::Wqkv, 3 * i * d),
                None,
                None,
                qkv,
                (t, 3 * i, d),
                false,
                lanes,
                group,
            ),
            attention_step(Buf::Qkv, Buf::Att, (t, c.heads, c.dim_head), lanes.nz()),
            linear_step(
                "linear out +residual",
                att,
                w(Buf::Wo, d * i),
                Some(w(Buf::Bo, d)),
                Some(uu),
                h,
                (t, d, i),
                false,
                lanes,
                group,
            ),
            layer_norm_step(
                "layer_norm b",
                h,
                w(Buf::LnBW, d),
                Buf::LnBB,
                v,
                (t, d),
                lanes,
            ),
            linear_step(
                "linear mlp1 +gelu",
                v,
                w(Buf::W1, m * d),
                Some(w(Buf::B1, m)),
                None,
                g,
                (t, m, d),
                true,
                lanes,
                group,
            ),
            linear_step(
                "linear mlp2 +residual",
                g,
                w(Buf::W2, d * m),
                Some(w(Buf::B2, d)),
                Some(v),
                h,
                (t, d, m),
                false,
                lanes,
                group,
            ),
        ]);
    }
}

/// The dispatches of one inference on `batch` images using branches `0..branches`
/// (all of them in parallel mode; in serial mode their `branches * d` blocks in a chain).
/// `group`: invocations per workgroup of the linear kernel (`kernels::linear_group`).
pub fn plan(c: &Config, batch: usize, mode: Mode, branches: usize, group: u32) -> Vec<Step> {
    let lanes = Lanes {
        images: batch,
        branches: match mode {
            Mode::Parallel => branches,
            Mode::Serial => 1,
        },
    };
    let mut p = Planner {
        c,
        lanes,
        group,
        steps: vec![patch_embed_step(c, batch)],
    };
    let (t, d) = (c.tokens(), c.dim);
    let h = p.act(Buf::H, t, d);
    let (layers, stride) = match mode {
        Mode::Parallel => (c.depth, c.depth),
        Mode::Serial => (branches * c.depth, 0),
    };
    for base in 0..layers {
        let input = if base == 0 { p.shared_x0() } else { h };
        p.block(input, BlockSlot { base, stride });
    }
    p.steps
        .push(branch_sum_step(Buf::H, Buf::Pooled, (t, d), lanes, c.pool));
    // The head treats the batch as the rows of one lane.
    let one = Lanes {
        images: 1,
        branches: 1,
    };
    let whole = Operand::whole;
    p.steps.extend([
        layer_norm_step(
            "head layer_norm",
            whole(Buf::Pooled),
            whole(Buf::HeadLnW),
            Buf::HeadLnB,
            whole(Buf::PooledN),
            (batch, d),
            one,
        ),
        linear_step(
            "head linear",
            whole(Buf::PooledN),
            whole(Buf::HeadW),
            Some(whole(Buf::HeadB)),
            None,
            whole(Buf::Logits),
            (batch, padded_classes(c), d),
            false,
            one,
            group,
        ),
    ]);
    p.steps
}

/// Length of the longest chain of dependent dispatches: a dispatch waits for every
/// earlier one that wrote a buffer it touches, or read a buffer it writes.
/// Floats of activations that must exist at once at the worst step of `steps`, given each
/// buffer's size: what the step reads and writes plus every value a later step still reads
/// before it is overwritten. Weights are not counted; the input image is.
pub fn peak_live_activations(steps: &[Step], len: impl Fn(Buf) -> usize) -> usize {
    let mut live_after: Vec<Buf> = Vec::new();
    let mut peak = 0;
    for s in steps.iter().rev() {
        let reads = s.reads().iter().copied().filter(|b| !b.is_weight());
        let mut during = live_after.clone();
        during.extend(reads.clone());
        during.push(s.writes());
        during.sort_by_key(|b| *b as usize);
        during.dedup();
        peak = peak.max(during.iter().map(|&b| len(b)).sum());
        live_after.retain(|&b| b != s.writes());
        live_after.extend(reads);
        live_after.sort_by_key(|b| *b as usize);
        live_after.dedup();
    }
    peak
}

pub fn critical_path(steps: &[Step]) -> usize {
    let mut depth: Vec<usize> = Vec::with_capacity(steps.len());
    for (n, s) in steps.iter().enumerate() {
        let w = s.writes();
        let d = steps[..n]
            .iter()
            .zip(&depth)
            .filter(|(e, _)| {
                s.reads().contains(&e.writes()) || e.writes() == w || e.reads().contains(&w)
            })
            .map(|(_, &d)| d)
            .max()
            .unwrap_or(0);
        depth.push(d + 1);
    }
    depth.into_iter().max().unwrap_or(0)
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

    fn cfg(k: usize, d: usize) -> Config {
        let mut c = Config::preset("mnist").unwrap();
        c.branches = k;
        c.depth = d;
        c
    }

    #[test]
    fn parallel_dispatch_count_does_not_depend_on_branches() {
        for d in 1..=3 {
            let counts: Vec<usize> = [1, 2, 8, 24]
                .iter()
                .map(|&k| plan(&cfg(k, d), 1, Mode::Parallel, k, 64).len())
                .collect();
            assert!(counts.iter().all(|&n| n == 7 * d + 4), "{counts:?}");
        }
    }

    #[test]
    fn serial_dispatches_grow_with_depth_and_chain() {
        for k in [1, 3, 12] {
            let steps = plan(&cfg(k, 2), 2, Mode::Serial, k, 64);
            assert_eq!(steps.len(), 7 * 2 * k + 4);
            assert_eq!(critical_path(&steps), steps.len());
        }
        let par = plan(&cfg(12, 2), 1, Mode::Parallel, 12, 64);
        assert_eq!(critical_path(&par), 7 * 2 + 4);
    }

    #[test]
    fn peak_live_counts_values_still_needed_not_buffers() {
        let c = cfg(4, 1);
        let len = |b: Buf| b.len(&c, 1);
        let steps = plan(&c, 1, Mode::Parallel, 4, 64);
        let peak = peak_live_activations(&steps, len);
        // The MLP of a block needs v, g and h'' at once; the attention needs u, qkv and att.
        let mlp = len(Buf::V) + len(Buf::G) + len(Buf::H);
        let att = len(Buf::U) + len(Buf::Qkv) + len(Buf::Att);
        assert_eq!(peak, mlp.max(att));
        let all: usize = Buf::ALL
            .iter()
            .filter(|b| !b.is_weight())
            .map(|&b| len(b))
            .sum();
        assert!(peak < all);
        // A chain of single blocks needs no more than all branches at once.
        let serial = plan(&c, 1, Mode::Serial, 4, 64);
        assert!(peak_live_activations(&serial, len) <= peak);
    }

    #[test]
    fn critical_path_sees_independent_work() {
        let mk = |r: Buf, w: Buf| Step {
            label: "test",
            kernel: Kernel::LayerNorm { width: Width::Vec4 },
            params: vec![],
            bindings: vec![r, w],
            groups: 1,
            flops: 0.0,
            bytes: 0.0,
        };
        // Two independent chains of two: depth 2, not 4.
        let steps = [
            mk(Buf::X0, Buf::U),
            mk(Buf::U, Buf::V),
            mk(Buf::X0, Buf::G),
            mk(Buf::G, Buf::Att),
        ];
        assert_eq!(critical_path(&steps), 2);
    }

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
