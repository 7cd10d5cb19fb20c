// attention: softmax(q k^T / sqrt(Dh)) v for every (z, head, query), z = (image, branch);
// qkv [nz, T, 3I] holds q | k | v, each head-major; out [nz, T, I].
// By default one invocation owns 4 queries of one (z, head), their running state packed in
// the four components of vec4s; with ONE_QUERY it owns one query, for devices wider than the
// work (four times the invocations, each key and value load serving one query). Keys are visited in chunks of 8 with an online softmax (running max
// and sum), so any token count works and no score matrix is stored; the running output
// lives in `out` itself, rescaled once per chunk, and every key and value load serves the
// four queries. Written out variable by variable, not as loop-indexed arrays, which drivers
// without loop unrolling (SwiftShader) would keep in memory.

// Storage precision (define F16: f16 values, else f32), as in linear.wgsl; arithmetic is
// f32, but the running output between chunks of keys is kept in `out`, so at the storage
// precision.
// #if F16
enable f16;
alias E = f16;
// #else
alias E = f32;
// #endif

// Load width: vec4 loads when the head dimension is a multiple of 4, scalar ones (define
// SCALAR) otherwise (src/engine/ops/attention.rs).
// #if SCALAR
alias Vec = f32;
alias SVec = E;
const WIDTH: u32 = 1u;
fn vdot(a: Vec, b: Vec) -> f32 { return a * b; }
// #else
alias Vec = vec4<f32>;
alias SVec = vec4<E>;
const WIDTH: u32 = 4u;
fn vdot(a: Vec, b: Vec) -> f32 { return dot(a, b); }
// #endif

// The head dimension, fixed per pipeline so the loops over it have a constant trip count.
override DH: u32 = 64u;

// `Params` in src/engine/ops/attention.rs; tests/shaders.rs checks that both agree.
struct Params {
    tokens: u32, heads: u32, dim_head: u32, nz: u32,
    scale: f32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<SVec>;
@group(0) @binding(2) var<storage, read_write> out: array<SVec>;

// One `Vec` of q, k or v, converted for the arithmetic.
fn ld(i: u32) -> Vec { return Vec(qkv[i]); }

// Finite "minus infinity": inf arithmetic is not portable in WGSL.
const NEG: f32 = -3.0e38;

// Invocations per workgroup, set by the engine (32: one (image, branch) of the cifar preset
// spreads over two workgroups, so two threads of a CPU driver, and fills a 32-wide warp).
override GROUP: u32 = 32u;

// #if ONE_QUERY
@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let item = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * GROUP + lid;
    let zh = item / p.tokens;
    if (zh >= p.nz * p.heads) {
        return;
    }
    let z = zh / p.heads;
    let head = zh % p.heads;
    let q = item % p.tokens;
    let last = p.tokens - 1u;
    let nv = DH / WIDTH;
    let inner = p.heads * nv;
    let stride = 3u * inner;
    let base = z * p.tokens * stride + head * nv;
    let qa = base + q * stride;
    let oa = z * p.tokens * inner + head * nv + q * inner;
    // Running max and sum of the query.
    var m = NEG;
    var l = 0.0;
    for (var t0 = 0u; t0 < p.tokens; t0 += 8u) {
        let ka0 = base + min(t0 + 0u, last) * stride + inner;
        let ka1 = base + min(t0 + 1u, last) * stride + inner;
        let ka2 = base + min(t0 + 2u, last) * stride + inner;
        let ka3 = base + min(t0 + 3u, last) * stride + inner;
        let ka4 = base + min(t0 + 4u, last) * stride + inner;
        let ka5 = base + min(t0 + 5u, last) * stride + inner;
        let ka6 = base + min(t0 + 6u, last) * stride + inner;
        let ka7 = base + min(t0 + 7u, last) * stride + inner;
        // The scores of keys t0 .. t0 + 3 and t0 + 4 .. t0 + 7.
        var sa = vec4<f32>(0.0);
        var sb = vec4<f32>(0.0);
        for (var i = 0u; i < nv; i++) {
            let qv = ld(qa + i);
            sa += vec4<f32>(vdot(qv, ld(ka0 + i)), vdot(qv, ld(ka1 + i)), vdot(qv, ld(ka2 + i)), vdot(qv, ld(ka3 + i)));
            sb += vec4<f32>(vdot(qv, ld(ka4 + i)), vdot(qv, ld(ka5 + i)), vdot(qv, ld(ka6 + i)), vdot(qv, ld(ka7 + i)));
        }
        let va = vec4<bool>(t0 < p.tokens, t0 + 1u < p.tokens, t0 + 2u < p.tokens, t0 + 3u < p.tokens);
        let vb = vec4<bool>(t0 + 4u < p.tokens, t0 + 5u < p.tokens, t0 + 6u < p.tokens, t0 + 7u < p.tokens);
        sa = select(vec4<f32>(NEG), sa * p.scale, va);
        sb = select(vec4<f32>(NEG), sb * p.scale, vb);
        let mab = max(sa, sb);
        let mx = max(m, max(max(mab.x, mab.y), max(mab.z, mab.w)));
        let alpha = exp(m - mx);
        let ea = select(vec4<f32>(0.0), exp(sa - vec4<f32>(mx)), va);
        let eb = select(vec4<f32>(0.0), exp(sb - vec4<f32>(mx)), vb);
        l = l * alpha + dot(ea + eb, vec4<f32>(1.0));
        m = mx;
        for (var i = 0u; i < nv; i++) {
            var o = ea.x * ld(ka0 + inner + i) + ea.y * ld(ka1 + inner + i)
                + ea.z * ld(ka2 + inner + i) + ea.w * ld(ka3 + inner + i)
                + eb.x * ld(ka4 + inner + i) + eb.y * ld(ka5 + inner + i)
                + eb.z * ld(ka6 + inner + i) + eb.w * ld(ka7 + inner + i);
            if (t0 > 0u) {
                o += Vec(out[oa + i]) * alpha;
            }
            out[oa + i] = SVec(o);
        }
    }
    let inv = 1.0 / l;
    for (var i = 0u; i < nv; i++) {
        out[oa + i] = SVec(Vec(out[oa + i]) * inv);
    }
}
// #else
@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let item = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * GROUP + lid;
    let tq = (p.tokens + 3u) / 4u;
    let zh = item / tq;
    if (zh >= p.nz * p.heads) {
        return;
    }
    let z = zh / p.heads;
    let head = zh % p.heads;
    let q0 = (item % tq) * 4u;
    let last = p.tokens - 1u;
    let nv = DH / WIDTH;
    let inner = p.heads * nv;
    let stride = 3u * inner;
    let base = z * p.tokens * stride + head * nv;
    let obase = z * p.tokens * inner + head * nv;
    // Queries past the end read the last one and are never written.
    let qa0 = base + min(q0 + 0u, last) * stride;
    let qa1 = base + min(q0 + 1u, last) * stride;
    let qa2 = base + min(q0 + 2u, last) * stride;
    let qa3 = base + min(q0 + 3u, last) * stride;
    let oa0 = obase + min(q0 + 0u, last) * inner;
    let oa1 = obase + min(q0 + 1u, last) * inner;
    let oa2 = obase + min(q0 + 2u, last) * inner;
    let oa3 = obase + min(q0 + 3u, last) * inner;
    let keep = vec4<bool>(q0 < p.tokens, q0 + 1u < p.tokens, q0 + 2u < p.tokens, q0 + 3u < p.tokens);
    // Running max and sum of the four queries.
    var m = vec4<f32>(NEG);
    var l = vec4<f32>(0.0);
    for (var t0 = 0u; t0 < p.tokens; t0 += 8u) {
        // s<c>: the scores of key t0 + c for the four queries.
        let ka0 = base + min(t0 + 0u, last) * stride + inner;
        let ka1 = base + min(t0 + 1u, last) * stride + inner;
        let ka2 = base + min(t0 + 2u, last) * stride + inner;
        let ka3 = base + min(t0 + 3u, last) * stride + inner;
        let ka4 = base + min(t0 + 4u, last) * stride + inner;
        let ka5 = base + min(t0 + 5u, last) * stride + inner;
        let ka6 = base + min(t0 + 6u, last) * stride + inner;
        let ka7 = base + min(t0 + 7u, last) * stride + inner;
        var s0 = vec4<f32>(0.0);
        var s1 = vec4<f32>(0.0);
        var s2 = vec4<f32>(0.0);
        var s3 = vec4<f32>(0.0);
        var s4 = vec4<f32>(0.0);
        var s5 = vec4<f32>(0.0);
        var s6 = vec4<f32>(0.0);
        var s7 = vec4<f32>(0.0);
        for (var i = 0u; i < nv; i++) {
            let q0 = ld(qa0 + i);
            let q1 = ld(qa1 + i);
            let q2 = ld(qa2 + i);
            let q3 = ld(qa3 + i);
            let k0 = ld(ka0 + i);
            s0 += vec4<f32>(vdot(q0, k0), vdot(q1, k0), vdot(q2, k0), vdot(q3, k0));
            let k1 = ld(ka1 + i);
            s1 += vec4<f32>(vdot(q0, k1), vdot(q1, k1), vdot(q2, k1), vdot(q3, k1));
            let k2 = ld(ka2 + i);
            s2 += vec4<f32>(vdot(q0, k2), vdot(q1, k2), vdot(q2, k2), vdot(q3, k2));
            let k3 = ld(ka3 + i);
            s3 += vec4<f32>(vdot(q0, k3), vdot(q1, k3), vdot(q2, k3), vdot(q3, k3));
            let k4 = ld(ka4 + i);
            s4 += vec4<f32>(vdot(q0, k4), vdot(q1, k4), vdot(q2, k4), vdot(q3, k4));
            let k5 = ld(ka5 + i);
            s5 += vec4<f32>(vdot(q0, k5), vdot(q1, k5), vdot(q2, k5), vdot(q3, k5));
            let k6 = ld(ka6 + i);
            s6 += vec4<f32>(vdot(q0, k6), vdot(q1, k6), vdot(q2, k6), vdot(q3, k6));
            let k7 = ld(ka7 + i);
            s7 += vec4<f32>(vdot(q0, k7), vdot(q1, k7), vdot(q2, k7), vdot(q3, k7));
        }
        s0 = select(vec4<f32>(NEG), s0 * p.scale, t0 + 0u < p.tokens);
        s1 = select(vec4<f32>(NEG), s1 * p.scale, t0 + 1u < p.tokens);
        s2 = select(vec4<f32>(NEG), s2 * p.scale, t0 + 2u < p.tokens);
        s3 = select(vec4<f32>(NEG), s3 * p.scale, t0 + 3u < p.tokens);
        s4 = select(vec4<f32>(NEG), s4 * p.scale, t0 + 4u < p.tokens);
        s5 = select(vec4<f32>(NEG), s5 * p.scale, t0 + 5u < p.tokens);
        s6 = select(vec4<f32>(NEG), s6 * p.scale, t0 + 6u < p.tokens);
        s7 = select(vec4<f32>(NEG), s7 * p.scale, t0 + 7u < p.tokens);
        let mx = max(m, max(max(max(s0, s1), max(s2, s3)), max(max(s4, s5), max(s6, s7))));
        let alpha = exp(m - mx);
        let e0 = select(vec4<f32>(0.0), exp(s0 - mx), t0 + 0u < p.tokens);
        let e1 = select(vec4<f32>(0.0), exp(s1 - mx), t0 + 1u < p.tokens);
        let e2 = select(vec4<f32>(0.0), exp(s2 - mx), t0 + 2u < p.tokens);
        let e3 = select(vec4<f32>(0.0), exp(s3 - mx), t0 + 3u < p.tokens);
        let e4 = select(vec4<f32>(0.0), exp(s4 - mx), t0 + 4u < p.tokens);
        let e5 = select(vec4<f32>(0.0), exp(s5 - mx), t0 + 5u < p.tokens);
        let e6 = select(vec4<f32>(0.0), exp(s6 - mx), t0 + 6u < p.tokens);
        let e7 = select(vec4<f32>(0.0), exp(s7 - mx), t0 + 7u < p.tokens);
        l = l * alpha + (((e0 + e1) + (e2 + e3)) + ((e4 + e5) + (e6 + e7)));
        m = mx;
        for (var i = 0u; i < nv; i++) {
            let v0 = ld(ka0 + inner + i);
            let v1 = ld(ka1 + inner + i);
            let v2 = ld(ka2 + inner + i);
            let v3 = ld(ka3 + inner + i);
            let v4 = ld(ka4 + inner + i);
            let v5 = ld(ka5 + inner + i);
            let v6 = ld(ka6 + inner + i);
            let v7 = ld(ka7 + inner + i);
            var o0 = e0.x * v0 + e1.x * v1 + e2.x * v2 + e3.x * v3 + e4.x * v4 + e5.x * v5 + e6.x * v6 + e7.x * v7;
            var o1 = e0.y * v0 + e1.y * v1 + e2.y * v2 + e3.y * v3 + e4.y * v4 + e5.y * v5 + e6.y * v6 + e7.y * v7;
            var o2 = e0.z * v0 + e1.z * v1 + e2.z * v2 + e3.z * v3 + e4.z * v4 + e5.z * v5 + e6.z * v6 + e7.z * v7;
            var o3 = e0.w * v0 + e1.w * v1 + e2.w * v2 + e3.w * v3 + e4.w * v4 + e5.w * v5 + e6.w * v6 + e7.w * v7;
            if (t0 > 0u) {
                o0 += Vec(out[oa0 + i]) * alpha.x;
                o1 += Vec(out[oa1 + i]) * alpha.y;
                o2 += Vec(out[oa2 + i]) * alpha.z;
                o3 += Vec(out[oa3 + i]) * alpha.w;
            }
            if (keep.x) {
                out[oa0 + i] = SVec(o0);
            }
            if (keep.y) {
                out[oa1 + i] = SVec(o1);
            }
            if (keep.z) {
                out[oa2 + i] = SVec(o2);
            }
            if (keep.w) {
                out[oa3 + i] = SVec(o3);
            }
        }
    }
    let inv = 1.0 / l;
    for (var i = 0u; i < nv; i++) {
        if (keep.x) {
            out[oa0 + i] = SVec(Vec(out[oa0 + i]) * inv.x);
        }
        if (keep.y) {
            out[oa1 + i] = SVec(Vec(out[oa1 + i]) * inv.y);
        }
        if (keep.z) {
            out[oa2 + i] = SVec(Vec(out[oa2 + i]) * inv.z);
        }
        if (keep.w) {
            out[oa3 + i] = SVec(Vec(out[oa3 + i]) * inv.w);
        }
    }
}
// #endif
