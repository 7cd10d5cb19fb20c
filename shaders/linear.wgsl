// linear: y[z] = act(x[z] W[z]^T + b[z]) + r[z] for every z = (image, branch) in one dispatch.
// x [rows, k], W [n, k] (PyTorch layout), y and r [rows, n]. Each invocation computes a 4x4
// block of outputs in registers; a workgroup of 8x8 invocations covers a 32x32 tile.
// Bias, exact GELU and the residual add are fused into the epilogue, chosen by overrides.

override HAS_BIAS: bool = true;
override GELU: bool = false;
override RESIDUAL: bool = false;

struct Params {
    rows: u32, n: u32, k: u32, nz: u32,
    branches: u32, tiles_n: u32, tiles_m: u32, _pad0: u32,
    // Offsets and strides in f32 elements; `_bs` per branch, `_ns` per image.
    x_off: u32, x_bs: u32, x_ns: u32, _pad1: u32,
    w_off: u32, w_bs: u32, b_off: u32, b_bs: u32,
    r_off: u32, r_bs: u32, r_ns: u32, _pad2: u32,
    y_off: u32, y_bs: u32, y_ns: u32, _pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); WGSL has no erf builtin.
fn erf(v: f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-a * a));
}

fn epilogue(acc: f32, row: u32, col: u32, bb: u32, rb: u32, yb: u32) {
    if (row >= p.rows || col >= p.n) {
        return;
    }
    var v = acc;
    if (HAS_BIAS) {
        v += bias[bb + col];
    }
    if (GELU) {
        v = 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
    }
    if (RESIDUAL) {
        v += res[rb + row * p.n + col];
    }
    y[yb + row * p.n + col] = v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let per_z = p.tiles_n * p.tiles_m;
    let z = g / per_z;
    if (z >= p.nz) {
        return;
    }
    let tile = g % per_z;
    let branch = z % p.branches;
    let image = z / p.branches;
    let row0 = (tile / p.tiles_n) * 32u + (lid / 8u) * 4u;
    let col0 = (tile % p.tiles_n) * 32u + (lid % 8u) * 4u;

    // Rows and columns past the edge read a valid row and are never written.
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns;
    let wb = p.w_off + branch * p.w_bs;
    let x0 = xb + min(row0, p.rows - 1u) * p.k;
    let x1 = xb + min(row0 + 1u, p.rows - 1u) * p.k;
    let x2 = xb + min(row0 + 2u, p.rows - 1u) * p.k;
    let x3 = xb + min(row0 + 3u, p.rows - 1u) * p.k;
    let w0 = wb + min(col0, p.n - 1u) * p.k;
    let w1 = wb + min(col0 + 1u, p.n - 1u) * p.k;
    let w2 = wb + min(col0 + 2u, p.n - 1u) * p.k;
    let w3 = wb + min(col0 + 3u, p.n - 1u) * p.k;

    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var i = 0u; i < p.k; i++) {
        let wv = vec4<f32>(w[w0 + i], w[w1 + i], w[w2 + i], w[w3 + i]);
        a0 += x[x0 + i] * wv;
        a1 += x[x1 + i] * wv;
        a2 += x[x2 + i] * wv;
        a3 += x[x3 + i] * wv;
    }

    let bb = p.b_off + branch * p.b_bs;
    let rb = p.r_off + branch * p.r_bs + image * p.r_ns;
    let yb = p.y_off + branch * p.y_bs + image * p.y_ns;
    let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
    for (var r = 0u; r < 4u; r++) {
        for (var c = 0u; c < 4u; c++) {
            epilogue(acc[r][c], row0 + r, col0 + c, bb, rb, yb);
        }
    }
}
