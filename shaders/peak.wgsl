// peak: what the device can do at best, the roofs of the per-op "% of roof" (not a model op).
// Default: ALU bound. Each invocation runs 8 independent vec4 fused multiply-add chains
// (`fma`: one instruction where the device has it, as a GPU's peak counts it) for
// `iters` rounds (8 chains hide the latency of each), seeded from x and the uniform
// multiplier so that no compiler can fold them, and stores their sum: 64 flops a round.
// COPY: memory bound, y = x in vec4s with a grid-stride loop over `n` vec4s.

// `Params` in src/engine/ops/peak.rs; tests/shaders.rs checks that both agree.
struct Params {
    n: u32, iters: u32, mul: f32, add: f32,
}

// Invocations per workgroup, set by the engine.
override GROUP: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

// #if COPY
@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let groups = nwg.x * nwg.y * nwg.z;
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let stride = groups * GROUP;
    for (var i = g * GROUP + lid; i < p.n; i += stride) {
        y[i] = x[i];
    }
}
// #else
@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
    let id = g * GROUP + lid;
    if (id >= p.n) {
        return;
    }
    let m = vec4<f32>(p.mul);
    let c = vec4<f32>(p.add);
    let s = x[id];
    var a0 = s;
    var a1 = s + c;
    var a2 = s - c;
    var a3 = s * m;
    var a4 = s + m;
    var a5 = s - m;
    var a6 = s * c;
    var a7 = s + 2.0 * c;
    for (var i = 0u; i < p.iters; i++) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
    }
    y[id] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
// #endif
