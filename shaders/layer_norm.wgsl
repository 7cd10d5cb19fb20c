// layer_norm: y = (x - mean) / sqrt(var + 1e-5) * gamma + beta over each row of `cols`
// values, for every row of every z = (image, branch) in one dispatch. One workgroup per row;
// mean and variance are two separate reductions (the centred form is the accurate one).

struct Params {
    rows: u32, cols: u32, nz: u32, branches: u32,
    x_off: u32, x_bs: u32, x_ns: u32, _pad0: u32,
    y_off: u32, y_bs: u32, y_ns: u32, _pad1: u32,
    g_off: u32, g_bs: u32, _pad2: u32, _pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

fn reduce_sum(v: f32, lid: u32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let z = g / p.rows;
    if (z >= p.nz) {
        return;
    }
    let row = g % p.rows;
    let branch = z % p.branches;
    let image = z / p.branches;
    let xb = p.x_off + branch * p.x_bs + image * p.x_ns + row * p.cols;
    let yb = p.y_off + branch * p.y_bs + image * p.y_ns + row * p.cols;
    let gb = p.g_off + branch * p.g_bs;

    var s = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        s += x[xb + c];
    }
    let mean = reduce_sum(s, lid) / f32(p.cols);
    var q = 0.0;
    for (var c = lid; c < p.cols; c += WG) {
        let d = x[xb + c] - mean;
        q += d * d;
    }
    let inv = inverseSqrt(reduce_sum(q, lid) / f32(p.cols) + 1e-5);
    for (var c = lid; c < p.cols; c += WG) {
        y[yb + c] = (x[xb + c] - mean) * inv * gamma[gb + c] + beta[gb + c];
    }
}
