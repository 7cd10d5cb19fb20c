// linear: y[z] = act(x[z] W[z]^T + b[z]) + r[z] for every z = (image, branch) in one dispatch.
// x [rows, k], W [n, k] (PyTorch layout), y and r [rows, n]. Each invocation computes a
// block of outputs in registers, reading x and W as `Vec`s along k, so every load serves a
// block's rows or columns: 9 x 16 by default (9 rows: the 65 tokens of the cifar preset fill
// 8 blocks, the 17 of mnist 2), or 4 x 8, 4 x 4, 1 x 4 (defines BLOCK_4X8 ...), which give a
// wide device more invocations for the same op. The block is written out variable by
// variable, not as arrays indexed in loops: drivers that do not unroll loops (SwiftShader)
// keep such arrays in memory; that part of this file is written by tools/gen_linear.py.
// GROUP invocations take consecutive blocks (row-major), so only the last workgroup of each
// z has idle lanes. A split-k variant (`p.splits` > 1) runs every block once per part of k
// and writes raw sums, part after part, to a scratch buffer; the `linear_sum` op adds the
// parts and applies the epilogue: more invocations when the output alone has too few. Bias, exact GELU and
// the residual add are fused into the epilogue, switched by `p.epilogue` bits at run time
// (not overrides: one compiled pipeline serves every linear of the model, which keeps the
// cold start short).

// Storage precision: every buffer holds f16 values with define F16 (the engine's
// `Precision::F16`, on adapters with SHADER_F16), else f32. Arithmetic is f32 either way:
// loads convert to f32 and sums accumulate in f32; only stored values are rounded.
// #if F16
enable f16;
alias E = f16;
// #else
alias E = f32;
// #endif

// Load width: vec4 loads and stores when k, n and every row start of x, W, b, r and y are
// multiples of 4, scalar ones (define SCALAR) otherwise (src/engine/ops/linear.rs). `Vec`
// is what the arithmetic uses, `SVec` what the buffers hold.
// Four consecutive values of bias, res or y at element index i; `count` says how many of
// the four are inside the row.
// #if SCALAR
alias Vec = f32;
alias SVec = E;
const WIDTH: u32 = 1u;
fn vdot(a: Vec, b: Vec) -> f32 { return a * b; }
fn bias4(i: u32) -> vec4<f32> { return vec4<f32>(f32(bias[i]), f32(bias[i + 1u]), f32(bias[i + 2u]), f32(bias[i + 3u])); }
fn res4(i: u32) -> vec4<f32> { return vec4<f32>(f32(res[i]), f32(res[i + 1u]), f32(res[i + 2u]), f32(res[i + 3u])); }
fn store4(i: u32, v: vec4<f32>, count: u32) { for (var c = 0u; c < count; c++) { y[i + c] = E(v[c]); } }
// #else
alias Vec = vec4<f32>;
alias SVec = vec4<E>;
const WIDTH: u32 = 4u;
fn vdot(a: Vec, b: Vec) -> f32 { return dot(a, b); }
fn bias4(i: u32) -> vec4<f32> { return vec4<f32>(bias[i / 4u]); }
fn res4(i: u32) -> vec4<f32> { return vec4<f32>(res[i / 4u]); }
fn store4(i: u32, v: vec4<f32>, count: u32) { y[i / 4u] = SVec(v); }
// #endif

// The bits of `p.epilogue` (`EPILOGUE` in src/engine/ops/linear.rs; tests/shaders.rs checks both).
const BIAS: u32 = 1u;
const GELU: u32 = 2u;
const RESIDUAL: u32 = 4u;

// `Params` in src/engine/ops/linear.rs; tests/shaders.rs checks that both agree.
struct Params {
    rows: u32, n: u32, k: u32, nz: u32,
    branches: u32, blocks_n: u32, blocks: u32, epilogue: u32,
    // Offsets and strides in elements; `_bs` per branch, `_ns` per image.
    x_off: u32, x_bs: u32, x_ns: u32,
    w_off: u32, w_bs: u32, b_off: u32, b_bs: u32,
    r_off: u32, r_bs: u32, r_ns: u32,
    y_off: u32, y_bs: u32, y_ns: u32,
    // Split-k: parts of k (1: none), values of k per part (a multiple of 4), y's stride
    // per part (each part writes its sums to its own slice; `linear_sum` adds them).
    splits: u32, k_chunk: u32, y_ss: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<SVec>;
@group(0) @binding(2) var<storage, read> w: array<SVec>;
@group(0) @binding(3) var<storage, read> bias: array<SVec>;
@group(0) @binding(4) var<storage, read> res: array<SVec>;
@group(0) @binding(5) var<storage, read_write> y: array<SVec>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); WGSL has no erf builtin.
fn erf(v: vec4<f32>) -> vec4<f32> {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-a * a));
}

// Bias, GELU and residual for four outputs of one row starting at column `col`.
fn epilogue(acc: vec4<f32>, row: u32, col: u32, bb: u32, rb: u32, yb: u32) {
    if (row >= p.rows || col >= p.n) {
        return;
    }
    var v = acc;
    if ((p.epilogue & BIAS) != 0u) {
        v += bias4(bb + col);
    }
    if ((p.epilogue & GELU) != 0u) {
        v = 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
    }
    if ((p.epilogue & RESIDUAL) != 0u) {
        v += res4(rb + row * p.n + col);
    }
    store4(yb + row * p.n + col, v, min(4u, p.n - col));
}

// The values of k (in `Vec`s, [start, end)) that part `split` of a split-k variant sums:
// all of k when the variant does not split it.
fn k_range(split: u32) -> vec2<u32> {
    let k0 = split * (p.k_chunk / WIDTH);
    return vec2<u32>(k0, min(k0 + p.k_chunk / WIDTH, p.k / WIDTH));
}

// ---- below: written by tools/gen_linear.py (edit the script, not this part) ----

// Invocations per workgroup, set by the engine (`Variant` in src/engine/ops/linear.rs).
override GROUP: u32 = 64u;
// #if TILED

// One workgroup's tile of y, and the values of k staged per step (`Block::Tiled`).
const BLOCK_ROWS: u32 = 32u;
const BLOCK_COLS: u32 = 32u;
const TILE_K: u32 = 16u / WIDTH;
var<workgroup> xs: array<SVec, 32u * 16u / WIDTH>;
var<workgroup> ws: array<SVec, 32u * 16u / WIDTH>;

// GROUP is 64 here (8 x 8 invocations of 4 x 4 outputs); the engine sets nothing else.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // One workgroup per tile; the grid may be folded over x, y and z.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let zs = g / p.blocks;
    let z = zs / p.splits;
    let split = zs % p.splits;
    let tile = g % p.blocks;
    // Uniform per workgroup: every invocation returns or none does (barriers follow).
    if (z >= p.nz) {
        return;
    }
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (tile / p.blocks_n) * BLOCK_ROWS;
    let col0 = (tile % p.blocks_n) * BLOCK_COLS;
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let last_row = p.rows - 1u;
    let last_col = p.n - 1u;
    let kr = k_range(split);
    // This invocation's 4 x 4 block of the tile.
    let tr = (lid / 8u) * 4u;
    let tc = (lid % 8u) * 4u;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var k0 = kr.x; k0 < kr.y; k0 += TILE_K) {
        // Rows past the edge read a valid row (never written); k past the end reads zeros.
        for (var e = lid; e < 32u * TILE_K; e += 64u) {
            let r = e / TILE_K;
            let kk = k0 + e % TILE_K;
            var xv = SVec(0.0);
            var wv = SVec(0.0);
            if (kk < kr.y) {
                xv = x[(xb + min(row0 + r, last_row) * p.k) / WIDTH + kk];
                wv = w[(wb + min(col0 + r, last_col) * p.k) / WIDTH + kk];
            }
            xs[e] = xv;
            ws[e] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let w0 = Vec(ws[(tc + 0u) * TILE_K + kk]);
            let w1 = Vec(ws[(tc + 1u) * TILE_K + kk]);
            let w2 = Vec(ws[(tc + 2u) * TILE_K + kk]);
            let w3 = Vec(ws[(tc + 3u) * TILE_K + kk]);
            let x0 = Vec(xs[(tr + 0u) * TILE_K + kk]);
            a0 += vec4<f32>(vdot(x0, w0), vdot(x0, w1), vdot(x0, w2), vdot(x0, w3));
            let x1 = Vec(xs[(tr + 1u) * TILE_K + kk]);
            a1 += vec4<f32>(vdot(x1, w0), vdot(x1, w1), vdot(x1, w2), vdot(x1, w3));
            let x2 = Vec(xs[(tr + 2u) * TILE_K + kk]);
            a2 += vec4<f32>(vdot(x2, w0), vdot(x2, w1), vdot(x2, w2), vdot(x2, w3));
            let x3 = Vec(xs[(tr + 3u) * TILE_K + kk]);
            a3 += vec4<f32>(vdot(x3, w0), vdot(x3, w1), vdot(x3, w2), vdot(x3, w3));
        }
        workgroupBarrier();
    }
    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + split * p.y_ss + branch * p.y_bs + image * p.y_ns;
    epilogue(a0, row0 + tr + 0u, col0 + tc, bb, rb, yb);
    epilogue(a1, row0 + tr + 1u, col0 + tc, bb, rb, yb);
    epilogue(a2, row0 + tr + 2u, col0 + tc, bb, rb, yb);
    epilogue(a3, row0 + tr + 3u, col0 + tc, bb, rb, yb);
}
// #elif BLOCK_4X8

// Rows and columns of one invocation's block of y.
const BLOCK_ROWS: u32 = 4u;
const BLOCK_COLS: u32 = 8u;

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let groups_per_z = (p.blocks + GROUP - 1u) / GROUP;
    let zs = g / groups_per_z;
    let z = zs / p.splits;
    let split = zs % p.splits;
    let block = (g % groups_per_z) * GROUP + lid;
    if (z >= p.nz || block >= p.blocks) {
        return;
    }
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (block / p.blocks_n) * BLOCK_ROWS;
    let col0 = (block % p.blocks_n) * BLOCK_COLS;

    // Rows and columns past the edge read a valid row and are never written.
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let last_row = p.rows - 1u;
    let last_col = p.n - 1u;
    let xo0 = (xb + min(row0 + 0u, last_row) * p.k) / WIDTH;
    let xo1 = (xb + min(row0 + 1u, last_row) * p.k) / WIDTH;
    let xo2 = (xb + min(row0 + 2u, last_row) * p.k) / WIDTH;
    let xo3 = (xb + min(row0 + 3u, last_row) * p.k) / WIDTH;
    let wo0 = (wb + min(col0 + 0u, last_col) * p.k) / WIDTH;
    let wo1 = (wb + min(col0 + 1u, last_col) * p.k) / WIDTH;
    let wo2 = (wb + min(col0 + 2u, last_col) * p.k) / WIDTH;
    let wo3 = (wb + min(col0 + 3u, last_col) * p.k) / WIDTH;
    let wo4 = (wb + min(col0 + 4u, last_col) * p.k) / WIDTH;
    let wo5 = (wb + min(col0 + 5u, last_col) * p.k) / WIDTH;
    let wo6 = (wb + min(col0 + 6u, last_col) * p.k) / WIDTH;
    let wo7 = (wb + min(col0 + 7u, last_col) * p.k) / WIDTH;
    // a<r>_<g> holds columns 4g..4g+3 of row r.
    var a0_0 = vec4<f32>(0.0);
    var a0_1 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a1_1 = vec4<f32>(0.0);
    var a2_0 = vec4<f32>(0.0);
    var a2_1 = vec4<f32>(0.0);
    var a3_0 = vec4<f32>(0.0);
    var a3_1 = vec4<f32>(0.0);
    let kr = k_range(split);
    for (var i = kr.x; i < kr.y; i++) {
        let w0 = Vec(w[wo0 + i]);
        let w1 = Vec(w[wo1 + i]);
        let w2 = Vec(w[wo2 + i]);
        let w3 = Vec(w[wo3 + i]);
        let w4 = Vec(w[wo4 + i]);
        let w5 = Vec(w[wo5 + i]);
        let w6 = Vec(w[wo6 + i]);
        let w7 = Vec(w[wo7 + i]);
        let x0 = Vec(x[xo0 + i]);
        a0_0 += vec4<f32>(vdot(x0, w0), vdot(x0, w1), vdot(x0, w2), vdot(x0, w3));
        a0_1 += vec4<f32>(vdot(x0, w4), vdot(x0, w5), vdot(x0, w6), vdot(x0, w7));
        let x1 = Vec(x[xo1 + i]);
        a1_0 += vec4<f32>(vdot(x1, w0), vdot(x1, w1), vdot(x1, w2), vdot(x1, w3));
        a1_1 += vec4<f32>(vdot(x1, w4), vdot(x1, w5), vdot(x1, w6), vdot(x1, w7));
        let x2 = Vec(x[xo2 + i]);
        a2_0 += vec4<f32>(vdot(x2, w0), vdot(x2, w1), vdot(x2, w2), vdot(x2, w3));
        a2_1 += vec4<f32>(vdot(x2, w4), vdot(x2, w5), vdot(x2, w6), vdot(x2, w7));
        let x3 = Vec(x[xo3 + i]);
        a3_0 += vec4<f32>(vdot(x3, w0), vdot(x3, w1), vdot(x3, w2), vdot(x3, w3));
        a3_1 += vec4<f32>(vdot(x3, w4), vdot(x3, w5), vdot(x3, w6), vdot(x3, w7));
    }

    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + split * p.y_ss + branch * p.y_bs + image * p.y_ns;
    epilogue(a0_0, row0 + 0u, col0, bb, rb, yb);
    epilogue(a0_1, row0 + 0u, col0 + 4u, bb, rb, yb);
    epilogue(a1_0, row0 + 1u, col0, bb, rb, yb);
    epilogue(a1_1, row0 + 1u, col0 + 4u, bb, rb, yb);
    epilogue(a2_0, row0 + 2u, col0, bb, rb, yb);
    epilogue(a2_1, row0 + 2u, col0 + 4u, bb, rb, yb);
    epilogue(a3_0, row0 + 3u, col0, bb, rb, yb);
    epilogue(a3_1, row0 + 3u, col0 + 4u, bb, rb, yb);
}
// #elif BLOCK_4X4

// Rows and columns of one invocation's block of y.
const BLOCK_ROWS: u32 = 4u;
const BLOCK_COLS: u32 = 4u;

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let groups_per_z = (p.blocks + GROUP - 1u) / GROUP;
    let zs = g / groups_per_z;
    let z = zs / p.splits;
    let split = zs % p.splits;
    let block = (g % groups_per_z) * GROUP + lid;
    if (z >= p.nz || block >= p.blocks) {
        return;
    }
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (block / p.blocks_n) * BLOCK_ROWS;
    let col0 = (block % p.blocks_n) * BLOCK_COLS;

    // Rows and columns past the edge read a valid row and are never written.
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let last_row = p.rows - 1u;
    let last_col = p.n - 1u;
    let xo0 = (xb + min(row0 + 0u, last_row) * p.k) / WIDTH;
    let xo1 = (xb + min(row0 + 1u, last_row) * p.k) / WIDTH;
    let xo2 = (xb + min(row0 + 2u, last_row) * p.k) / WIDTH;
    let xo3 = (xb + min(row0 + 3u, last_row) * p.k) / WIDTH;
    let wo0 = (wb + min(col0 + 0u, last_col) * p.k) / WIDTH;
    let wo1 = (wb + min(col0 + 1u, last_col) * p.k) / WIDTH;
    let wo2 = (wb + min(col0 + 2u, last_col) * p.k) / WIDTH;
    let wo3 = (wb + min(col0 + 3u, last_col) * p.k) / WIDTH;
    // a<r>_<g> holds columns 4g..4g+3 of row r.
    var a0_0 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a2_0 = vec4<f32>(0.0);
    var a3_0 = vec4<f32>(0.0);
    let kr = k_range(split);
    for (var i = kr.x; i < kr.y; i++) {
        let w0 = Vec(w[wo0 + i]);
        let w1 = Vec(w[wo1 + i]);
        let w2 = Vec(w[wo2 + i]);
        let w3 = Vec(w[wo3 + i]);
        let x0 = Vec(x[xo0 + i]);
        a0_0 += vec4<f32>(vdot(x0, w0), vdot(x0, w1), vdot(x0, w2), vdot(x0, w3));
        let x1 = Vec(x[xo1 + i]);
        a1_0 += vec4<f32>(vdot(x1, w0), vdot(x1, w1), vdot(x1, w2), vdot(x1, w3));
        let x2 = Vec(x[xo2 + i]);
        a2_0 += vec4<f32>(vdot(x2, w0), vdot(x2, w1), vdot(x2, w2), vdot(x2, w3));
        let x3 = Vec(x[xo3 + i]);
        a3_0 += vec4<f32>(vdot(x3, w0), vdot(x3, w1), vdot(x3, w2), vdot(x3, w3));
    }

    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + split * p.y_ss + branch * p.y_bs + image * p.y_ns;
    epilogue(a0_0, row0 + 0u, col0, bb, rb, yb);
    epilogue(a1_0, row0 + 1u, col0, bb, rb, yb);
    epilogue(a2_0, row0 + 2u, col0, bb, rb, yb);
    epilogue(a3_0, row0 + 3u, col0, bb, rb, yb);
}
// #elif BLOCK_1X4

// Rows and columns of one invocation's block of y.
const BLOCK_ROWS: u32 = 1u;
const BLOCK_COLS: u32 = 4u;

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let groups_per_z = (p.blocks + GROUP - 1u) / GROUP;
    let zs = g / groups_per_z;
    let z = zs / p.splits;
    let split = zs % p.splits;
    let block = (g % groups_per_z) * GROUP + lid;
    if (z >= p.nz || block >= p.blocks) {
        return;
    }
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (block / p.blocks_n) * BLOCK_ROWS;
    let col0 = (block % p.blocks_n) * BLOCK_COLS;

    // Rows and columns past the edge read a valid row and are never written.
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let last_row = p.rows - 1u;
    let last_col = p.n - 1u;
    let xo0 = (xb + min(row0 + 0u, last_row) * p.k) / WIDTH;
    let wo0 = (wb + min(col0 + 0u, last_col) * p.k) / WIDTH;
    let wo1 = (wb + min(col0 + 1u, last_col) * p.k) / WIDTH;
    let wo2 = (wb + min(col0 + 2u, last_col) * p.k) / WIDTH;
    let wo3 = (wb + min(col0 + 3u, last_col) * p.k) / WIDTH;
    // a<r>_<g> holds columns 4g..4g+3 of row r.
    var a0_0 = vec4<f32>(0.0);
    let kr = k_range(split);
    for (var i = kr.x; i < kr.y; i++) {
        let w0 = Vec(w[wo0 + i]);
        let w1 = Vec(w[wo1 + i]);
        let w2 = Vec(w[wo2 + i]);
        let w3 = Vec(w[wo3 + i]);
        let x0 = Vec(x[xo0 + i]);
        a0_0 += vec4<f32>(vdot(x0, w0), vdot(x0, w1), vdot(x0, w2), vdot(x0, w3));
    }

    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + split * p.y_ss + branch * p.y_bs + image * p.y_ns;
    epilogue(a0_0, row0 + 0u, col0, bb, rb, yb);
}
// #else

// Rows and columns of one invocation's block of y.
const BLOCK_ROWS: u32 = 9u;
const BLOCK_COLS: u32 = 16u;

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let groups_per_z = (p.blocks + GROUP - 1u) / GROUP;
    let zs = g / groups_per_z;
    let z = zs / p.splits;
    let split = zs % p.splits;
    let block = (g % groups_per_z) * GROUP + lid;
    if (z >= p.nz || block >= p.blocks) {
        return;
    }
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (block / p.blocks_n) * BLOCK_ROWS;
    let col0 = (block % p.blocks_n) * BLOCK_COLS;

    // Rows and columns past the edge read a valid row and are never written.
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let last_row = p.rows - 1u;
    let last_col = p.n - 1u;
    let xo0 = (xb + min(row0 + 0u, last_row) * p.k) / WIDTH;
    let xo1 = (xb + min(row0 + 1u, last_row) * p.k) / WIDTH;
    let xo2 = (xb + min(row0 + 2u, last_row) * p.k) / WIDTH;
    let xo3 = (xb + min(row0 + 3u, last_row) * p.k) / WIDTH;
    let xo4 = (xb + min(row0 + 4u, last_row) * p.k) / WIDTH;
    let xo5 = (xb + min(row0 + 5u, last_row) * p.k) / WIDTH;
    let xo6 = (xb + min(row0 + 6u, last_row) * p.k) / WIDTH;
    let xo7 = (xb + min(row0 + 7u, last_row) * p.k) / WIDTH;
    let xo8 = (xb + min(row0 + 8u, last_row) * p.k) / WIDTH;
    let wo0 = (wb + min(col0 + 0u, last_col) * p.k) / WIDTH;
    let wo1 = (wb + min(col0 + 1u, last_col) * p.k) / WIDTH;
    let wo2 = (wb + min(col0 + 2u, last_col) * p.k) / WIDTH;
    let wo3 = (wb + min(col0 + 3u, last_col) * p.k) / WIDTH;
    let wo4 = (wb + min(col0 + 4u, last_col) * p.k) / WIDTH;
    let wo5 = (wb + min(col0 + 5u, last_col) * p.k) / WIDTH;
    let wo6 = (wb + min(col0 + 6u, last_col) * p.k) / WIDTH;
    let wo7 = (wb + min(col0 + 7u, last_col) * p.k) / WIDTH;
    let wo8 = (wb + min(col0 + 8u, last_col) * p.k) / WIDTH;
    let wo9 = (wb + min(col0 + 9u, last_col) * p.k) / WIDTH;
    let wo10 = (wb + min(col0 + 10u, last_col) * p.k) / WIDTH;
    let wo11 = (wb + min(col0 + 11u, last_col) * p.k) / WIDTH;
    let wo12 = (wb + min(col0 + 12u, last_col) * p.k) / WIDTH;
    let wo13 = (wb + min(col0 + 13u, last_col) * p.k) / WIDTH;
    let wo14 = (wb + min(col0 + 14u, last_col) * p.k) / WIDTH;
    let wo15 = (wb + min(col0 + 15u, last_col) * p.k) / WIDTH;
    // a<r>_<g> holds columns 4g..4g+3 of row r.
    var a0_0 = vec4<f32>(0.0);
    var a0_1 = vec4<f32>(0.0);
    var a0_2 = vec4<f32>(0.0);
    var a0_3 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a1_1 = vec4<f32>(0.0);
    var a1_2 = vec4<f32>(0.0);
    var a1_3 = vec4<f32>(0.0);
    var a2_0 = vec4<f32>(0.0);
    var a2_1 = vec4<f32>(0.0);
    var a2_2 = vec4<f32>(0.0);
    var a2_3 = vec4<f32>(0.0);
    var a3_0 = vec4<f32>(0.0);
    var a3_1 = vec4<f32>(0.0);
    var a3_2 = vec4<f32>(0.0);
    var a3_3 = vec4<f32>(0.0);
    var a4_0 = vec4<f32>(0.0);
    var a4_1 = vec4<f32>(0.0);
    var a4_2 = vec4<f32>(0.0);
    var a4_3 = vec4<f32>(0.0);
    var a5_0 = vec4<f32>(0.0);
    var a5_1 = vec4<f32>(0.0);
    var a5_2 = vec4<f32>(0.0);
    var a5_3 = vec4<f32>(0.0);
    var a6_0 = vec4<f32>(0.0);
    var a6_1 = vec4<f32>(0.0);
    var a6_2 = vec4<f32>(0.0);
    var a6_3 = vec4<f32>(0.0);
    var a7_0 = vec4<f32>(0.0);
    var a7_1 = vec4<f32>(0.0);
    var a7_2 = vec4<f32>(0.0);
    var a7_3 = vec4<f32>(0.0);
    var a8_0 = vec4<f32>(0.0);
    var a8_1 = vec4<f32>(0.0);
    var a8_2 = vec4<f32>(0.0);
    var a8_3 = vec4<f32>(0.0);
    let kr = k_range(split);
    for (var i = kr.x; i < kr.y; i++) {
        let w0 = Vec(w[wo0 + i]);
        let w1 = Vec(w[wo1 + i]);
        let w2 = Vec(w[wo2 + i]);
        let w3 = Vec(w[wo3 + i]);
        let w4 = Vec(w[wo4 + i]);
        let w5 = Vec(w[wo5 + i]);
        let w6 = Vec(w[wo6 + i]);
        let w7 = Vec(w[wo7 + i]);
        let w8 = Vec(w[wo8 + i]);
        let w9 = Vec(w[wo9 + i]);
        let w10 = Vec(w[wo10 + i]);
        let w11 = Vec(w[wo11 + i]);
        let w12 = Vec(w[wo12 + i]);
        let w13 = Vec(w[wo13 + i]);
        let w14 = Vec(w[wo14 + i]);
        let w15 = Vec(w[wo15 + i]);
        let x0 = Vec(x[xo0 + i]);
        a0_0 += vec4<f32>(vdot(x0, w0), vdot(x0, w1), vdot(x0, w2), vdot(x0, w3));
        a0_1 += vec4<f32>(vdot(x0, w4), vdot(x0, w5), vdot(x0, w6), vdot(x0, w7));
        a0_2 += vec4<f32>(vdot(x0, w8), vdot(x0, w9), vdot(x0, w10), vdot(x0, w11));
        a0_3 += vec4<f32>(vdot(x0, w12), vdot(x0, w13), vdot(x0, w14), vdot(x0, w15));
        let x1 = Vec(x[xo1 + i]);
        a1_0 += vec4<f32>(vdot(x1, w0), vdot(x1, w1), vdot(x1, w2), vdot(x1, w3));
        a1_1 += vec4<f32>(vdot(x1, w4), vdot(x1, w5), vdot(x1, w6), vdot(x1, w7));
        a1_2 += vec4<f32>(vdot(x1, w8), vdot(x1, w9), vdot(x1, w10), vdot(x1, w11));
        a1_3 += vec4<f32>(vdot(x1, w12), vdot(x1, w13), vdot(x1, w14), vdot(x1, w15));
        let x2 = Vec(x[xo2 + i]);
        a2_0 += vec4<f32>(vdot(x2, w0), vdot(x2, w1), vdot(x2, w2), vdot(x2, w3));
        a2_1 += vec4<f32>(vdot(x2, w4), vdot(x2, w5), vdot(x2, w6), vdot(x2, w7));
        a2_2 += vec4<f32>(vdot(x2, w8), vdot(x2, w9), vdot(x2, w10), vdot(x2, w11));
        a2_3 += vec4<f32>(vdot(x2, w12), vdot(x2, w13), vdot(x2, w14), vdot(x2, w15));
        let x3 = Vec(x[xo3 + i]);
        a3_0 += vec4<f32>(vdot(x3, w0), vdot(x3, w1), vdot(x3, w2), vdot(x3, w3));
        a3_1 += vec4<f32>(vdot(x3, w4), vdot(x3, w5), vdot(x3, w6), vdot(x3, w7));
        a3_2 += vec4<f32>(vdot(x3, w8), vdot(x3, w9), vdot(x3, w10), vdot(x3, w11));
        a3_3 += vec4<f32>(vdot(x3, w12), vdot(x3, w13), vdot(x3, w14), vdot(x3, w15));
        let x4 = Vec(x[xo4 + i]);
        a4_0 += vec4<f32>(vdot(x4, w0), vdot(x4, w1), vdot(x4, w2), vdot(x4, w3));
        a4_1 += vec4<f32>(vdot(x4, w4), vdot(x4, w5), vdot(x4, w6), vdot(x4, w7));
        a4_2 += vec4<f32>(vdot(x4, w8), vdot(x4, w9), vdot(x4, w10), vdot(x4, w11));
        a4_3 += vec4<f32>(vdot(x4, w12), vdot(x4, w13), vdot(x4, w14), vdot(x4, w15));
        let x5 = Vec(x[xo5 + i]);
        a5_0 += vec4<f32>(vdot(x5, w0), vdot(x5, w1), vdot(x5, w2), vdot(x5, w3));
        a5_1 += vec4<f32>(vdot(x5, w4), vdot(x5, w5), vdot(x5, w6), vdot(x5, w7));
        a5_2 += vec4<f32>(vdot(x5, w8), vdot(x5, w9), vdot(x5, w10), vdot(x5, w11));
        a5_3 += vec4<f32>(vdot(x5, w12), vdot(x5, w13), vdot(x5, w14), vdot(x5, w15));
        let x6 = Vec(x[xo6 + i]);
        a6_0 += vec4<f32>(vdot(x6, w0), vdot(x6, w1), vdot(x6, w2), vdot(x6, w3));
        a6_1 += vec4<f32>(vdot(x6, w4), vdot(x6, w5), vdot(x6, w6), vdot(x6, w7));
        a6_2 += vec4<f32>(vdot(x6, w8), vdot(x6, w9), vdot(x6, w10), vdot(x6, w11));
        a6_3 += vec4<f32>(vdot(x6, w12), vdot(x6, w13), vdot(x6, w14), vdot(x6, w15));
        let x7 = Vec(x[xo7 + i]);
        a7_0 += vec4<f32>(vdot(x7, w0), vdot(x7, w1), vdot(x7, w2), vdot(x7, w3));
        a7_1 += vec4<f32>(vdot(x7, w4), vdot(x7, w5), vdot(x7, w6), vdot(x7, w7));
        a7_2 += vec4<f32>(vdot(x7, w8), vdot(x7, w9), vdot(x7, w10), vdot(x7, w11));
        a7_3 += vec4<f32>(vdot(x7, w12), vdot(x7, w13), vdot(x7, w14), vdot(x7, w15));
        let x8 = Vec(x[xo8 + i]);
        a8_0 += vec4<f32>(vdot(x8, w0), vdot(x8, w1), vdot(x8, w2), vdot(x8, w3));
        a8_1 += vec4<f32>(vdot(x8, w4), vdot(x8, w5), vdot(x8, w6), vdot(x8, w7));
        a8_2 += vec4<f32>(vdot(x8, w8), vdot(x8, w9), vdot(x8, w10), vdot(x8, w11));
        a8_3 += vec4<f32>(vdot(x8, w12), vdot(x8, w13), vdot(x8, w14), vdot(x8, w15));
    }

    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + split * p.y_ss + branch * p.y_bs + image * p.y_ns;
    epilogue(a0_0, row0 + 0u, col0, bb, rb, yb);
    epilogue(a0_1, row0 + 0u, col0 + 4u, bb, rb, yb);
    epilogue(a0_2, row0 + 0u, col0 + 8u, bb, rb, yb);
    epilogue(a0_3, row0 + 0u, col0 + 12u, bb, rb, yb);
    epilogue(a1_0, row0 + 1u, col0, bb, rb, yb);
    epilogue(a1_1, row0 + 1u, col0 + 4u, bb, rb, yb);
    epilogue(a1_2, row0 + 1u, col0 + 8u, bb, rb, yb);
    epilogue(a1_3, row0 + 1u, col0 + 12u, bb, rb, yb);
    epilogue(a2_0, row0 + 2u, col0, bb, rb, yb);
    epilogue(a2_1, row0 + 2u, col0 + 4u, bb, rb, yb);
    epilogue(a2_2, row0 + 2u, col0 + 8u, bb, rb, yb);
    epilogue(a2_3, row0 + 2u, col0 + 12u, bb, rb, yb);
    epilogue(a3_0, row0 + 3u, col0, bb, rb, yb);
    epilogue(a3_1, row0 + 3u, col0 + 4u, bb, rb, yb);
    epilogue(a3_2, row0 + 3u, col0 + 8u, bb, rb, yb);
    epilogue(a3_3, row0 + 3u, col0 + 12u, bb, rb, yb);
    epilogue(a4_0, row0 + 4u, col0, bb, rb, yb);
    epilogue(a4_1, row0 + 4u, col0 + 4u, bb, rb, yb);
    epilogue(a4_2, row0 + 4u, col0 + 8u, bb, rb, yb);
    epilogue(a4_3, row0 + 4u, col0 + 12u, bb, rb, yb);
    epilogue(a5_0, row0 + 5u, col0, bb, rb, yb);
    epilogue(a5_1, row0 + 5u, col0 + 4u, bb, rb, yb);
    epilogue(a5_2, row0 + 5u, col0 + 8u, bb, rb, yb);
    epilogue(a5_3, row0 + 5u, col0 + 12u, bb, rb, yb);
    epilogue(a6_0, row0 + 6u, col0, bb, rb, yb);
    epilogue(a6_1, row0 + 6u, col0 + 4u, bb, rb, yb);
    epilogue(a6_2, row0 + 6u, col0 + 8u, bb, rb, yb);
    epilogue(a6_3, row0 + 6u, col0 + 12u, bb, rb, yb);
    epilogue(a7_0, row0 + 7u, col0, bb, rb, yb);
    epilogue(a7_1, row0 + 7u, col0 + 4u, bb, rb, yb);
    epilogue(a7_2, row0 + 7u, col0 + 8u, bb, rb, yb);
    epilogue(a7_3, row0 + 7u, col0 + 12u, bb, rb, yb);
    epilogue(a8_0, row0 + 8u, col0, bb, rb, yb);
    epilogue(a8_1, row0 + 8u, col0 + 4u, bb, rb, yb);
    epilogue(a8_2, row0 + 8u, col0 + 8u, bb, rb, yb);
    epilogue(a8_3, row0 + 8u, col0 + 12u, bb, rb, yb);
}
// #endif
