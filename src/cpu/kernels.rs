//! The CPU engine's ops on row-major f32 buffers, each over all lanes (the branches of a
//! parallel run, or the one chain of a serial run) at once. An op splits its work into tasks
//! that write disjoint parts of its output; natively rayon runs them on every core, in wasm
//! they run one after another. Matrix products go to `gemm`'s SIMD kernels.

use super::math;

/// Runs `f` (a whole inference) on a worker of rayon's pool, so that every op inside it
/// starts its tasks from a pool thread: an op called from outside the pool would put the
/// caller to sleep and wake a worker per op, which costs as much as a small op's work.
pub fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::scope(|_| f());
    #[cfg(target_arch = "wasm32")]
    f()
}

/// Worker threads an op's tasks are spread over.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    1
}

/// The SIMD instruction set of `gemm`'s kernels on this machine: its run-time choice is the
/// widest of AVX-512 (with the `x86-v4` feature this crate enables), AVX2 with FMA and SSE2.
pub fn simd() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            "AVX-512"
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            "AVX2+FMA"
        } else {
            "SSE2"
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        "simd128"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "NEON"
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "wasm32",
        target_arch = "aarch64"
    )))]
    {
        "scalar"
    }
}

/// Runs `task(0..n)`, in parallel where threads exist.
fn for_each_task(n: usize, task: impl Fn(usize) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().for_each(task);
    }
    #[cfg(target_arch = "wasm32")]
    (0..n).for_each(task);
}

/// An output buffer shared by the tasks of one op. Rule: every task writes only the part of
/// it that its own index selects, and nobody reads it until the op has returned.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: see the rule above; the buffer outlives the op, which joins every task.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The address `at` floats in (a method, so that closures capture the whole `Out`).
    fn at(self, at: usize) -> *mut f32 {
        self.0.wrapping_add(at)
    }

    /// `len` floats from `at` of a task's own part.
    ///
    /// # Safety
    /// The range lies inside the buffer and no other task touches it during the op.
    unsafe fn part<'a>(self, at: usize, len: usize) -> &'a mut [f32] {
        unsafe { std::slice::from_raw_parts_mut(self.at(at), len) }
    }
}

/// `c = alpha a b` with `a [m, k]` and `b [k, n]` addressed through their (row, column)
/// strides, into `c [m, n]` (row stride `rsc`, columns contiguous), on the calling thread:
/// the ops spread their own tasks over the threads. `gemm` picks its kernel at run time
/// (AVX-512, AVX2 + FMA or SSE natively; simd128 in wasm).
///
/// # Safety
/// Every element the shapes and strides address lies inside its buffer, and no other
/// thread touches the elements of `c` written here during the call.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(
    (m, k, n): (usize, usize, usize),
    alpha: f32,
    a: *const f32,
    (rsa, csa): (isize, isize),
    b: *const f32,
    (rsb, csb): (isize, isize),
    c: *mut f32,
    rsc: isize,
) {
    // SAFETY: the caller's contract; `read_dst = false` means c is only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            rsc,
            false,
            a,
            csa,
            rsa,
            b,
            csb,
            rsb,
            0.0,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// One lane of a linear op: `x [rows, k]`, `w [n, k]` (PyTorch layout), an optional bias
/// `[n]` and an optional residual `[rows, n]` added last.
pub struct Lane<'a> {
    pub x: &'a [f32],
    pub w: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub residual: Option<&'a [f32]>,
}

/// Columns of an output below which a task is not split further: one sgemm kernel tile wide
/// or more, so that splitting never costs more than it spreads.
const MIN_COLUMNS: usize = 32;

/// `y_l = x_l w_l^T (+ bias_l), then GELU if asked, then (+ residual_l)` for every lane, into
/// `y [lanes][rows, n]`. Each lane's columns are cut into as many slices as it takes to give
/// every thread about two tasks; each task runs its slice's product and its epilogue while
/// the slice is still in cache.
pub fn linear(lanes: &[Lane], rows: usize, k: usize, n: usize, gelu: bool, y: &mut [f32]) {
    assert_eq!(y.len(), lanes.len() * rows * n, "linear output size");
    for l in lanes {
        assert!(
            l.x.len() >= rows * k && l.w.len() == n * k,
            "linear operand sizes"
        );
    }
    let wanted = (2 * threads()).div_ceil(lanes.len().max(1));
    let slices = wanted.min(n.div_ceil(MIN_COLUMNS)).max(1);
    let width = n.div_ceil(slices);
    let slices = n.div_ceil(width);
    let out = Out(y.as_mut_ptr());
    for_each_task(lanes.len() * slices, |task| {
        let (l, s) = (task / slices, task % slices);
        let lane = &lanes[l];
        let (n0, n1) = (s * width, ((s + 1) * width).min(n));
        let base = l * rows * n;
        // SAFETY: columns n0..n1 of lane l's rows are this task's alone (the rows' other
        // columns belong to the lane's other slices, which this sgemm call does not write).
        unsafe {
            matmul(
                (rows, k, n1 - n0),
                1.0,
                lane.x.as_ptr(),
                (k as isize, 1),
                lane.w.as_ptr().add(n0 * k),
                (1, k as isize),
                out.at(base + n0),
                n as isize,
            );
        }
        for r in 0..rows {
            // SAFETY: as above, one row's columns n0..n1.
            let row = unsafe { out.part(base + r * n + n0, n1 - n0) };
            if let Some(b) = lane.bias {
                row.iter_mut().zip(&b[n0..n1]).for_each(|(v, b)| *v += b);
            }
            if gelu {
                row.iter_mut().for_each(|v| *v = math::gelu(*v));
            }
            if let Some(res) = lane.residual {
                let res = &res[r * n + n0..r * n + n1];
                row.iter_mut().zip(res).for_each(|(v, r)| *v += r);
            }
        }
    });
}

/// `dst = src`, in one chunk per thread: the CPU engine's bandwidth probe (`bench::peak`).
pub fn spread_copy(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "copy sizes");
    let chunk = src.len().div_ceil(threads()).max(1);
    let out = Out(dst.as_mut_ptr());
    for_each_task(src.len().div_ceil(chunk), |t| {
        let (a, b) = (t * chunk, ((t + 1) * chunk).min(src.len()));
        // SAFETY: chunk t of dst is this task's alone.
        unsafe { out.part(a, b - a) }.copy_from_slice(&src[a..b]);
    });
}

/// Rows of a layer_norm task.
const NORM_ROWS: usize = 16;

/// LayerNorm (eps 1e-5, affine) of every row of `x [lanes][rows, cols]` into `y`, with lane
/// l's `gamma[l]`, `beta[l]`. `x` may hold one lane that every lane reads (`shared`).
pub fn layer_norm(
    x: &[f32],
    shared: bool,
    params: &[(&[f32], &[f32])],
    rows: usize,
    cols: usize,
    y: &mut [f32],
) {
    let lanes = params.len();
    assert_eq!(y.len(), lanes * rows * cols, "layer_norm output size");
    assert!(x.len() >= if shared { 1 } else { lanes } * rows * cols);
    let chunks = rows.div_ceil(NORM_ROWS);
    let out = Out(y.as_mut_ptr());
    for_each_task(lanes * chunks, |task| {
        let (l, c) = (task / chunks, task % chunks);
        let (gamma, beta) = params[l];
        let (r0, r1) = (c * NORM_ROWS, ((c + 1) * NORM_ROWS).min(rows));
        let from = if shared { 0 } else { l * rows * cols };
        let to = l * rows * cols;
        for r in r0..r1 {
            let xr = &x[from + r * cols..from + (r + 1) * cols];
            // SAFETY: row r of lane l belongs to this task only.
            let yr = unsafe { out.part(to + r * cols, cols) };
            let mean = math::sum_by(xr, |v| v) / cols as f32;
            let var = math::sum_by(xr, |v| (v - mean) * (v - mean)) / cols as f32;
            let inv = 1.0 / (var + 1e-5).sqrt();
            for (((o, v), g), b) in yr.iter_mut().zip(xr).zip(gamma).zip(beta) {
                *o = (v - mean) * inv * g + b;
            }
        }
    });
}

/// Query rows below which an attention task is not split further.
const MIN_QUERIES: usize = 16;

/// Multi-head attention on `qkv [lanes][images * tokens, 3I]` (q | k | v, head-major) into
/// `y [lanes][images * tokens, I]`: softmax(q k^T / sqrt(Dh)) v. A task is one (lane, image,
/// head) and a chunk of its query rows; chunks are cut only until every thread has about two
/// tasks, since each chunk reads the head's keys and values again.
pub fn attention(
    qkv: &[f32],
    lanes: usize,
    images: usize,
    tokens: usize,
    heads: usize,
    dh: usize,
    y: &mut [f32],
) {
    let i = heads * dh;
    assert_eq!(
        qkv.len(),
        lanes * images * tokens * 3 * i,
        "attention input size"
    );
    assert_eq!(
        y.len(),
        lanes * images * tokens * i,
        "attention output size"
    );
    let heads_total = lanes * images * heads;
    let wanted = (2 * threads()).div_ceil(heads_total.max(1));
    let chunks = wanted.min(tokens.div_ceil(MIN_QUERIES)).max(1);
    let rows = tokens.div_ceil(chunks);
    let chunks = tokens.div_ceil(rows);
    let scale = 1.0 / (dh as f32).sqrt();
    let out = Out(y.as_mut_ptr());
    for_each_task(heads_total * chunks, |task| {
        let (seq, h, c) = (
            task / (heads * chunks),
            task / chunks % heads,
            task % chunks,
        );
        let (r0, r1) = (c * rows, ((c + 1) * rows).min(tokens));
        let base = seq * tokens;
        let q = &qkv[(base + r0) * 3 * i + h * dh..];
        let k = &qkv[base * 3 * i + i + h * dh..];
        let v = &k[i..];
        let mut p = vec![0.0f32; (r1 - r0) * tokens];
        // SAFETY (both calls): the operands stay inside `qkv` (rows of q, k or v of this
        // sequence), and the second writes head h's columns of rows r0..r1 of this
        // sequence in `y`, which only this task writes.
        unsafe {
            matmul(
                (r1 - r0, dh, tokens),
                scale,
                q.as_ptr(),
                (3 * i as isize, 1),
                k.as_ptr(),
                (1, 3 * i as isize),
                p.as_mut_ptr(),
                tokens as isize,
            );
        }
        for row in p.chunks_exact_mut(tokens) {
            let max = math::max(row);
            row.iter_mut().for_each(|s| *s = math::exp(*s - max));
            let inv = 1.0 / math::sum_by(row, |s| s);
            row.iter_mut().for_each(|s| *s *= inv);
        }
        unsafe {
            matmul(
                (r1 - r0, tokens, dh),
                1.0,
                p.as_ptr(),
                (tokens as isize, 1),
                v.as_ptr(),
                (3 * i as isize, 1),
                out.at((base + r0) * i + h * dh),
                i as isize,
            );
        }
    });
}
