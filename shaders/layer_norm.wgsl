// layer_norm: y = (x - mean) / sqrt(var + 1e-5) * gamma + beta over each row of `cols`
// values, for every row of every z = (image, branch) in one dispatch. One invocation per
// row, or one workgroup per row (define ROW_PER_GROUP); three passes over it (mean, centred
// variance, output: the centred form is the accurate one), reading `Vec`s along the row.

// Storage precision (define F16: f16 values, else f32), as in linear.wgsl; arithmetic is f32.
// #if F16
enable f16;
alias E = f16;
// #else
alias E = f32;
// #endif

// Load width: vec4 loads and stores when cols and every row start of x, y and gamma/beta
// are multiples of 4, scalar ones (define SCALAR) otherwise (src/engine/ops/layer_norm.rs).
// #if SCALAR
alias Vec = f32;
alias SVec = E;
const WIDTH: u32 = 1u;
fn vsum(a: Vec) -> f32 { return a; }
// #else
alias Vec = vec4<f32>;
alias SVec = vec4<E>;
const WIDTH: u32 = 4u;
fn vsum(a: Vec) -> f32 { return a.x + a.y + a.z + a.w; }
// #endif

// `Params` in src/engine/ops/layer_norm.rs; tests/shaders.rs checks that both agree.
struct Params {
    rows: u32, cols: u32, nz: u32, branches: u32,
    x_off: u32, x_bs: u32, x_ns: u32,
    y_off: u32, y_bs: u32, y_ns: u32,
    g_off: u32, g_bs: u32,
}

// Invocations per workgroup, set by the engine.
override GROUP: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<SVec>;
@group(0) @binding(2) var<storage, read> gamma: array<SVec>;
@group(0) @binding(3) var<storage, read> beta: array<SVec>;
@group(0) @binding(4) var<storage, read_write> y: array<SVec>;

// #if ROW_PER_GROUP
// A row per workgroup: the invocations share the row's values (a strided part each) and
// combine their partial sums in workgroup memory, for rows too long, or too few, to keep
// the device busy one row per invocation. GROUP is a power of two of at most 256.
var<workgroup> part: array<f32, 256>;

// The sum of every invocation's `v`, returned to all of them.
fn group_sum(v: f32, lid: u32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var half = GROUP / 2u; half > 0u; half /= 2u) {
        if (lid < half) {
            part[lid] += part[lid + half];
        }
        workgroupBarrier();
    }
    let total = part[0];
    // Nobody overwrites part[0] for the next sum before everyone has read it.
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let item = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let z = item / p.rows;
    // Whole workgroups leave together, so the barriers below stay in uniform control flow.
    if (z >= p.nz) {
        return;
    }
    let row = item % p.rows;
    let branch = z % p.branches;
    let image = z / p.branches;
    let xb = (p.x_off + branch * p.x_bs + image * p.x_ns + row * p.cols) / WIDTH;
    let yb = (p.y_off + branch * p.y_bs + image * p.y_ns + row * p.cols) / WIDTH;
    let gb = (p.g_off + branch * p.g_bs) / WIDTH;
    let n = p.cols / WIDTH;

    var s = Vec(0.0);
    for (var c = lid; c < n; c += GROUP) {
        s += Vec(x[xb + c]);
    }
    let mean = group_sum(vsum(s), lid) / f32(p.cols);
    var q = Vec(0.0);
    for (var c = lid; c < n; c += GROUP) {
        let d = Vec(x[xb + c]) - mean;
        q += d * d;
    }
    let inv = inverseSqrt(group_sum(vsum(q), lid) / f32(p.cols) + 1e-5);
    for (var c = lid; c < n; c += GROUP) {
        y[yb + c] = SVec((Vec(x[xb + c]) - mean) * inv * Vec(gamma[gb + c]) + Vec(beta[gb + c]));
    }
}
// #else
@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let item = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * GROUP + lid;
    let z = item / p.rows;
    if (z >= p.nz) {
        return;
    }
    let row = item % p.rows;
    let branch = z % p.branches;
    let image = z / p.branches;
    let xb = (p.x_off + branch * p.x_bs + image * p.x_ns + row * p.cols) / WIDTH;
    let yb = (p.y_off + branch * p.y_bs + image * p.y_ns + row * p.cols) / WIDTH;
    let gb = (p.g_off + branch * p.g_bs) / WIDTH;
    let n = p.cols / WIDTH;

    var s = Vec(0.0);
    for (var c = 0u; c < n; c++) {
        s += Vec(x[xb + c]);
    }
    let mean = vsum(s) / f32(p.cols);
    var q = Vec(0.0);
    for (var c = 0u; c < n; c++) {
        let d = Vec(x[xb + c]) - mean;
        q += d * d;
    }
    let inv = inverseSqrt(vsum(q) / f32(p.cols) + 1e-5);
    for (var c = 0u; c < n; c++) {
        y[yb + c] = SVec((Vec(x[xb + c]) - mean) * inv * Vec(gamma[gb + c]) + Vec(beta[gb + c]));
    }
}
// #endif
