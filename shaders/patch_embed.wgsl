// patch_embed: x0[image, t, n] = (t == 0 ? cls[n] : patch_{t-1} . W[n] + b[n]) + pos[t, n].
// A patch vector follows `c (h p1) (w p2) -> (h w) (p1 p2 c)`: channel fastest.
// One invocation per token and 4 consecutive outputs: each image value it loads serves 4
// outputs, and the patch is walked by nested loops (no integer division per element).

// Storage precision (define F16: f16 values, else f32), as in linear.wgsl; arithmetic is f32.
// #if F16
enable f16;
alias E = f16;
// #else
alias E = f32;
// #endif

// `Params` in src/engine/ops/patch_embed.rs; tests/shaders.rs checks that both agree.
struct Params {
    tokens: u32, dim: u32, psize: u32, channels: u32,
    height: u32, width: u32, grid_w: u32, images: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<E>;
@group(0) @binding(2) var<storage, read> w: array<E>;
@group(0) @binding(3) var<storage, read> bias: array<E>;
@group(0) @binding(4) var<storage, read> cls: array<E>;
@group(0) @binding(5) var<storage, read> pos: array<E>;
@group(0) @binding(6) var<storage, read_write> x0: array<E>;

// Invocations per workgroup, set by the engine.
override GROUP: u32 = 64u;

@compute @workgroup_size(GROUP)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * GROUP + lid;
    let groups = (p.dim + 3u) / 4u;
    let image = idx / (p.tokens * groups);
    if (image >= p.images) {
        return;
    }
    let t = (idx / groups) % p.tokens;
    let n0 = (idx % groups) * 4u;
    let last = p.dim - 1u;
    let n1 = min(n0 + 1u, last);
    let n2 = min(n0 + 2u, last);
    let n3 = min(n0 + 3u, last);
    var v = vec4<f32>(f32(cls[n0]), f32(cls[n1]), f32(cls[n2]), f32(cls[n3]));
    if (t > 0u) {
        let len = p.psize * p.psize * p.channels;
        let top = ((t - 1u) / p.grid_w) * p.psize;
        let left = ((t - 1u) % p.grid_w) * p.psize;
        let ib = image * p.channels * p.height * p.width;
        var acc = vec4<f32>(f32(bias[n0]), f32(bias[n1]), f32(bias[n2]), f32(bias[n3]));
        var i = 0u;
        for (var p1 = 0u; p1 < p.psize; p1++) {
            for (var p2 = 0u; p2 < p.psize; p2++) {
                for (var c = 0u; c < p.channels; c++) {
                    let px = f32(img[ib + (c * p.height + top + p1) * p.width + left + p2]);
                    acc += px * vec4<f32>(f32(w[n0 * len + i]), f32(w[n1 * len + i]), f32(w[n2 * len + i]), f32(w[n3 * len + i]));
                    i++;
                }
            }
        }
        v = acc;
    }
    let out = (image * p.tokens + t) * p.dim;
    let pb = t * p.dim;
    for (var j = 0u; j < 4u; j++) {
        if (n0 + j < p.dim) {
            x0[out + n0 + j] = E(v[j] + f32(pos[pb + n0 + j]));
        }
    }
}
