// linear_sum: the second dispatch of a split-k linear. The first (linear.wgsl with
// `p.splits` > 1) left `splits` partial sums of x W^T for every output, part after part
// (`part[s * part_ss + z * rows * n + row * n + col]`, z = (image, branch)); this adds them
// in order and applies the linear's epilogue: bias, exact GELU, residual, into y with its
// offsets and strides. One invocation per output value: the op is a few reads per value,
// so wide loads gain little and a scalar kernel runs every shape.

// Storage precision (define F16: f16 values, else f32), as in linear.wgsl; arithmetic is f32.
// #if F16
enable f16;
alias E = f16;
// #else
alias E = f32;
// #endif

// The bits of `p.epilogue`, as in linear.wgsl (tests/shaders.rs checks both against Rust).
const BIAS: u32 = 1u;
const GELU: u32 = 2u;
const RESIDUAL: u32 = 4u;

// `Params` in src/engine/ops/linear_sum.rs; tests/shaders.rs checks that both agree.
struct Params {
    rows: u32, n: u32, nz: u32, branches: u32,
    splits: u32, part_ss: u32, epilogue: u32, _pad0: u32,
    // Offsets and strides in elements; `_bs` per branch, `_ns` per image.
    b_off: u32, b_bs: u32, r_off: u32, r_bs: u32,
    r_ns: u32, y_off: u32, y_bs: u32, y_ns: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<E>;
@group(0) @binding(2) var<storage, read> bias: array<E>;
@group(0) @binding(3) var<storage, read> res: array<E>;
@group(0) @binding(4) var<storage, read_write> y: array<E>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), as in linear.wgsl.
fn erf(v: f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-a * a));
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    // The grid may be folded over x, y and z when it exceeds a dimension's limit.
    let i = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * 64u + lid;
    let per_lane = p.rows * p.n;
    if (i >= p.nz * per_lane) {
        return;
    }
    let z = i / per_lane;
    let row = (i % per_lane) / p.n;
    let col = i % p.n;
    let branch = z % p.branches;
    let image = z / p.branches;
    var v = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        v += f32(part[s * p.part_ss + i]);
    }
    if ((p.epilogue & BIAS) != 0u) {
        v += f32(bias[p.b_off + branch * p.b_bs + col]);
    }
    if ((p.epilogue & GELU) != 0u) {
        v = 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
    }
    if ((p.epilogue & RESIDUAL) != 0u) {
        v += f32(res[p.r_off + branch * p.r_bs + image * p.r_ns + row * p.n + col]);
    }
    y[p.y_off + branch * p.y_bs + image * p.y_ns + row * p.n + col] = E(v);
}
