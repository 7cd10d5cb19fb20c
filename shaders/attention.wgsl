// attention: softmax(q k^T / sqrt(Dh)) v for one (z, head, query) per workgroup, where
// z = (image, branch); qkv [nz, T, 3I] holds q | k | v, each head-major; out [nz, T, I].
// Keys are visited in chunks of 64 with an online softmax (running max and sum), so any
// token count works and no score matrix is stored. Each invocation keeps up to 4 output
// dimensions (dim_head <= 256).

struct Params {
    tokens: u32, heads: u32, dim_head: u32, nz: u32,
    qkv_off: u32, out_off: u32, scale: f32, _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
var<workgroup> probs: array<f32, 64>;
var<workgroup> partial: array<f32, 64>;

fn reduce(v: f32, lid: u32, take_max: bool) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            if (take_max) {
                partial[lid] = max(partial[lid], partial[lid + s]);
            } else {
                partial[lid] += partial[lid + s];
            }
        }
        workgroupBarrier();
    }
    let r = partial[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let per_z = p.heads * p.tokens;
    let z = g / per_z;
    if (z >= p.nz) {
        return;
    }
    let head = (g % per_z) / p.tokens;
    let query = g % p.tokens;
    let inner = p.heads * p.dim_head;
    let stride = 3u * inner;
    let base = p.qkv_off + z * p.tokens * stride + head * p.dim_head;
    let q_at = base + query * stride;

    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    // Finite start: inf arithmetic is not portable in WGSL.
    var run_max = -3.0e38;
    var run_sum = 0.0;
    for (var c0 = 0u; c0 < p.tokens; c0 += WG) {
        let t = c0 + lid;
        var s = -3.0e38;
        if (t < p.tokens) {
            let k_at = base + t * stride + inner;
            var dot = 0.0;
            for (var e = 0u; e < p.dim_head; e++) {
                dot += qkv[q_at + e] * qkv[k_at + e];
            }
            s = dot * p.scale;
        }
        let new_max = max(run_max, reduce(s, lid, true));
        var pr = 0.0;
        if (t < p.tokens) {
            pr = exp(s - new_max);
        }
        probs[lid] = pr;
        let alpha = exp(run_max - new_max);
        run_sum = run_sum * alpha + reduce(pr, lid, false);
        run_max = new_max;
        let n = min(WG, p.tokens - c0);
        for (var i = 0u; i < 4u; i++) {
            let e = lid + i * WG;
            if (e < p.dim_head) {
                var a = acc[i] * alpha;
                for (var j = 0u; j < n; j++) {
                    a += probs[j] * qkv[base + (c0 + j) * stride + 2u * inner + e];
                }
                acc[i] = a;
            }
        }
        workgroupBarrier();
    }
    let o_at = p.out_off + (z * p.tokens + query) * inner + head * p.dim_head;
    for (var i = 0u; i < 4u; i++) {
        let e = lid + i * WG;
        if (e < p.dim_head) {
            out[o_at + e] = acc[i] / run_sum;
        }
    }
}
