// patch_embed: x0[image, t, n] = (t == 0 ? cls[n] : patch_{t-1} . W[n] + b[n]) + pos[t, n].
// A patch vector follows `c (h p1) (w p2) -> (h w) (p1 p2 c)`: channel fastest.
// One invocation per output value; it runs once per inference, so simplicity wins.

struct Params {
    tokens: u32, dim: u32, psize: u32, channels: u32,
    height: u32, width: u32, grid_w: u32, images: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> cls: array<f32>;
@group(0) @binding(5) var<storage, read> pos: array<f32>;
@group(0) @binding(6) var<storage, read_write> x0: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + nwg.x * (wid.y + nwg.y * wid.z)) * 64u + lid;
    let per_image = p.tokens * p.dim;
    if (idx >= p.images * per_image) {
        return;
    }
    let image = idx / per_image;
    let t = (idx % per_image) / p.dim;
    let n = idx % p.dim;
    var v = cls[n];
    if (t > 0u) {
        let hy = (t - 1u) / p.grid_w;
        let wx = (t - 1u) % p.grid_w;
        let len = p.psize * p.psize * p.channels;
        let ib = image * p.channels * p.height * p.width;
        var acc = bias[n];
        for (var i = 0u; i < len; i++) {
            let p1 = i / (p.psize * p.channels);
            let p2 = (i / p.channels) % p.psize;
            let c = i % p.channels;
            let yy = hy * p.psize + p1;
            let xx = wx * p.psize + p2;
            acc += img[ib + (c * p.height + yy) * p.width + xx] * w[n * len + i];
        }
        v = acc;
    }
    x0[idx] = v + pos[t * p.dim + n];
}
