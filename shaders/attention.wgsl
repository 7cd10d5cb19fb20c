// attention: softmax(q k^T / sqrt(Dh)) v for every (z, head, query), z = (image, branch);
// qkv [nz, T, 3I] holds q | k | v, each head-major; out [nz, T, I].
// One invocation owns Q queries of one (z, head): keys are visited in chunks of CH with an
// online softmax (running max and sum), so any token count works and no score matrix is
// stored. The running output lives in `out` itself (rescaled once per chunk), so registers
// hold only the Q x CH scores; every key and value load serves Q queries.

// Load width. As written: vec4 loads, used when dim_head is a multiple of 4; the engine
// swaps the lines between the markers for the scalar variant otherwise
// (src/engine/kernels.rs, `Width`).
// width-begin
alias Vec = vec4<f32>;
const WIDTH: u32 = 4u;
fn vdot(a: Vec, b: Vec) -> f32 { return dot(a, b); }
// width-end

// The head dimension, fixed per pipeline so the loops over it have a constant trip count.
override DH: u32 = 64u;

struct Params {
    tokens: u32, heads: u32, dim_head: u32, nz: u32,
    qkv_off: u32, out_off: u32, scale: f32, _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<Vec>;
@group(0) @binding(2) var<storage, read_write> out: array<Vec>;

const Q: u32 = 4u;
const CH: u32 = 16u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let item = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * 64u + lid;
    let tq = (p.tokens + Q - 1u) / Q;
    let zh = item / tq;
    if (zh >= p.nz * p.heads) {
        return;
    }
    let z = zh / p.heads;
    let head = zh % p.heads;
    let q0 = (item % tq) * Q;
    let nv = DH / WIDTH;
    let inner = p.heads * nv;
    let stride = 3u * inner;
    let base = p.qkv_off / WIDTH + z * p.tokens * stride + head * nv;
    let obase = p.out_off / WIDTH + z * p.tokens * inner + head * nv;

    var qa: array<u32, Q>;
    var oa: array<u32, Q>;
    var m: array<f32, Q>;
    var l: array<f32, Q>;
    for (var j = 0u; j < Q; j++) {
        let q = min(q0 + j, p.tokens - 1u);
        qa[j] = base + q * stride;
        oa[j] = obase + q * inner;
        // Finite start: inf arithmetic is not portable in WGSL.
        m[j] = -3.0e38;
        l[j] = 0.0;
    }
    for (var t0 = 0u; t0 < p.tokens; t0 += CH) {
        var ka: array<u32, CH>;
        for (var c = 0u; c < CH; c++) {
            ka[c] = base + min(t0 + c, p.tokens - 1u) * stride + inner;
        }
        var s: array<array<f32, CH>, Q>;
        for (var i = 0u; i < nv; i++) {
            var qv: array<Vec, Q>;
            for (var j = 0u; j < Q; j++) {
                qv[j] = qkv[qa[j] + i];
            }
            for (var c = 0u; c < CH; c++) {
                let kv = qkv[ka[c] + i];
                for (var j = 0u; j < Q; j++) {
                    s[j][c] += vdot(qv[j], kv);
                }
            }
        }
        var alpha: array<f32, Q>;
        for (var j = 0u; j < Q; j++) {
            var mx = m[j];
            for (var c = 0u; c < CH; c++) {
                if (t0 + c < p.tokens) {
                    mx = max(mx, s[j][c] * p.scale);
                }
            }
            alpha[j] = exp(m[j] - mx);
            var sum = l[j] * alpha[j];
            for (var c = 0u; c < CH; c++) {
                var e = 0.0;
                if (t0 + c < p.tokens) {
                    e = exp(s[j][c] * p.scale - mx);
                }
                s[j][c] = e;
                sum += e;
            }
            m[j] = mx;
            l[j] = sum;
        }
        for (var i = 0u; i < nv; i++) {
            var o: array<Vec, Q>;
            if (t0 > 0u) {
                for (var j = 0u; j < Q; j++) {
                    o[j] = out[oa[j] + i] * alpha[j];
                }
            }
            for (var c = 0u; c < CH; c++) {
                let vv = qkv[ka[c] + inner + i];
                for (var j = 0u; j < Q; j++) {
                    o[j] += s[j][c] * vv;
                }
            }
            for (var j = 0u; j < Q; j++) {
                if (q0 + j < p.tokens) {
                    out[oa[j] + i] = o[j];
                }
            }
        }
    }
    for (var j = 0u; j < Q; j++) {
        if (q0 + j < p.tokens) {
            for (var i = 0u; i < nv; i++) {
                out[oa[j] + i] /= l[j];
            }
        }
    }
}
