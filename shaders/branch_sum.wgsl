// branch_sum: pooled[image, n] = sum over branches k of pool(y[image, k, :, n]), where pool
// takes the class token (t = 0) or the mean over tokens. Serial mode passes one "branch".

// Storage precision (define F16: f16 values, else f32), as in linear.wgsl; arithmetic is f32.
// #if F16
enable f16;
alias E = f16;
// #else
alias E = f32;
// #endif

// `Params` in src/engine/ops/branch_sum.rs; tests/shaders.rs checks that both agree.
struct Params {
    tokens: u32, dim: u32, branches: u32, images: u32,
    mean_pool: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<E>;
@group(0) @binding(2) var<storage, read_write> pooled: array<E>;

// Invocations per workgroup, set by the engine.
override GROUP: u32 = 64u;

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * GROUP + lid;
    if (idx >= p.images * p.dim) {
        return;
    }
    let image = idx / p.dim;
    let n = idx % p.dim;
    var total = 0.0;
    for (var k = 0u; k < p.branches; k++) {
        let base = ((image * p.branches + k) * p.tokens) * p.dim + n;
        if (p.mean_pool != 0u) {
            var s = 0.0;
            for (var t = 0u; t < p.tokens; t++) {
                s += f32(y[base + t * p.dim]);
            }
            total += s / f32(p.tokens);
        } else {
            total += f32(y[base]);
        }
    }
    pooled[idx] = E(total);
}
