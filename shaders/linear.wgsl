// linear: y[z] = act(x[z] W[z]^T + b[z]) + r[z] for every z = (image, branch) in one dispatch.
// x [rows, k], W [n, k] (PyTorch layout), y and r [rows, n]. Each invocation computes an
// R x C block of outputs in registers, reading x and W as `Vec`s along k, so every load
// serves R or C outputs; 64 invocations take 64 consecutive blocks (row-major), so only the
// last workgroup of each z has idle lanes. Bias, exact GELU and the residual add are fused
// into the epilogue, switched by `p.epilogue` bits at run time (not overrides: one compiled
// pipeline serves every linear of the model, which keeps the cold start short).

// Load width. As written: vec4 loads and stores, used when k, n and every row start of
// x, W, b, r and y are multiples of 4; the engine swaps the lines between the markers for
// the scalar variant otherwise (src/engine/kernels.rs, `Width`).
// width-begin
alias Vec = vec4<f32>;
const WIDTH: u32 = 4u;
fn vdot(a: Vec, b: Vec) -> f32 { return dot(a, b); }
fn pack(a: array<f32, C>, j: u32) -> Vec { return Vec(a[4u * j], a[4u * j + 1u], a[4u * j + 2u], a[4u * j + 3u]); }
// width-end

const BIAS: u32 = 1u;
const GELU: u32 = 2u;
const RESIDUAL: u32 = 4u;

// Rows and columns of the output block of one invocation.
const R: u32 = 8u;
const C: u32 = 8u;

struct Params {
    rows: u32, n: u32, k: u32, nz: u32,
    branches: u32, blocks_n: u32, blocks: u32, epilogue: u32,
    // Offsets and strides in f32 elements; `_bs` per branch, `_ns` per image.
    x_off: u32, x_bs: u32, x_ns: u32, _pad1: u32,
    w_off: u32, w_bs: u32, b_off: u32, b_bs: u32,
    r_off: u32, r_bs: u32, r_ns: u32, _pad2: u32,
    y_off: u32, y_bs: u32, y_ns: u32, _pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<Vec>;
@group(0) @binding(2) var<storage, read> w: array<Vec>;
@group(0) @binding(3) var<storage, read> bias: array<Vec>;
@group(0) @binding(4) var<storage, read> res: array<Vec>;
@group(0) @binding(5) var<storage, read_write> y: array<Vec>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); WGSL has no erf builtin.
fn erf(v: Vec) -> Vec {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-a * a));
}

// Bias, GELU and residual for `WIDTH` outputs of one row starting at column `col`.
fn epilogue(acc: Vec, row: u32, col: u32, bb: u32, rb: u32, yb: u32) {
    if (row >= p.rows || col >= p.n) {
        return;
    }
    var v = acc;
    if ((p.epilogue & BIAS) != 0u) {
        v += bias[(bb + col) / WIDTH];
    }
    if ((p.epilogue & GELU) != 0u) {
        v = 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
    }
    if ((p.epilogue & RESIDUAL) != 0u) {
        v += res[(rb + row * p.n + col) / WIDTH];
    }
    y[(yb + row * p.n + col) / WIDTH] = v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let groups_per_z = (p.blocks + 63u) / 64u;
    let z = g / groups_per_z;
    let block = (g % groups_per_z) * 64u + lid;
    if (z >= p.nz || block >= p.blocks) {
        return;
    }
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (block / p.blocks_n) * R;
    let col0 = (block % p.blocks_n) * C;

    // Rows and columns past the edge read a valid row and are never written.
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    var xo: array<u32, R>;
    var wo: array<u32, C>;
    for (var r = 0u; r < R; r++) {
        xo[r] = (xb + min(row0 + r, p.rows - 1u) * p.k) / WIDTH;
    }
    for (var c = 0u; c < C; c++) {
        wo[c] = (wb + min(col0 + c, p.n - 1u) * p.k) / WIDTH;
    }
    var acc: array<array<f32, C>, R>;
    for (var i = 0u; i < p.k / WIDTH; i++) {
        var wv: array<Vec, C>;
        for (var c = 0u; c < C; c++) {
            wv[c] = w[wo[c] + i];
        }
        for (var r = 0u; r < R; r++) {
            let xv = x[xo[r] + i];
            for (var c = 0u; c < C; c++) {
                acc[r][c] += vdot(xv, wv[c]);
            }
        }
    }

    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + branch * p.y_bs + image * p.y_ns;
    for (var r = 0u; r < R; r++) {
        for (var j = 0u; j < C / WIDTH; j++) {
            epilogue(pack(acc[r], j), row0 + r, col0 + j * WIDTH, bb, rb, yb);
        }
    }
}
