//! What one vec4 load costs on the default adapter, by where it reads from: a storage buffer
//! (an address per invocation, or one per workgroup), workgroup memory, or an rgba32float
//! texture. On a CPU driver (lavapipe) loads, not arithmetic, bound the kernels; this is the
//! measurement behind the kernels' shape (README, "Performance").
//!
//!     cargo run --release --example load_costs

use std::time::Instant;

const INVOCATIONS: u32 = 16384;
const LOADS: u32 = 256 * 8;

/// Each shader sums LOADS vec4s per invocation; only where they come from differs.
const STORAGE: &str = "
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < 256u; i++) {
        for (var c = 0u; c < 8u; c++) {
            s += a[(gid.x % 1024u) * 8u + c + i * 8192u];
        }
    }
    o[gid.x] = s;
}";

const STORAGE_SAME_ADDRESS: &str = "
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < 256u; i++) {
        for (var c = 0u; c < 8u; c++) {
            s += a[(wid.x % 16u) * 8u + c + i * 8192u];
        }
    }
    o[gid.x] = s;
}";

const WORKGROUP: &str = "
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
var<workgroup> t: array<vec4<f32>, 2048>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    t[lid] = a[gid.x];
    workgroupBarrier();
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < 256u; i++) {
        for (var c = 0u; c < 8u; c++) {
            s += t[(lid * 8u + c + i * 8u) % 2048u];
        }
    }
    o[gid.x] = s;
}";

const TEXTURE: &str = "
@group(0) @binding(0) var a: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < 256u; i++) {
        for (var c = 0u; c < 8u; c++) {
            s += textureLoad(a, vec2<u32>((gid.x % 1024u) * 8u + c, i), 0);
        }
    }
    o[gid.x] = s;
}";

fn main() {
    let instance = wgpu::Instance::default();
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
        .expect("no GPU adapter (install Mesa's lavapipe: mesa-vulkan-drivers)");
    let (device, queue) =
        pollster::block_on(adapter.request_device(&Default::default())).expect("a device");
    println!("adapter: {}", adapter.get_info().name);
    let source = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("source"),
        size: 8192 * 256 * 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("out"),
        size: 16 * u64::from(INVOCATIONS),
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("source texture"),
        size: wgpu::Extent3d {
            width: 8192,
            height: 256,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING,
        view_formats: &[],
    });
    let view = texture.create_view(&Default::default());
    let cases = [
        ("storage buffer, an address per invocation", STORAGE),
        (
            "storage buffer, one address per workgroup",
            STORAGE_SAME_ADDRESS,
        ),
        ("workgroup memory", WORKGROUP),
        ("rgba32float texture (textureLoad)", TEXTURE),
    ];
    for (name, src) in cases {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(name),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let input = if src == TEXTURE {
            wgpu::BindingResource::TextureView(&view)
        } else {
            source.as_entire_binding()
        };
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(name),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: input,
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: out.as_entire_binding(),
                },
            ],
        });
        // The first run compiles; the best of the next five is quoted.
        let mut best = f64::MAX;
        for _ in 0..6 {
            let mut encoder = device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(INVOCATIONS / 64, 1, 1);
            }
            let t = Instant::now();
            queue.submit([encoder.finish()]);
            device
                .poll(wgpu::PollType::wait_indefinitely())
                .expect("the GPU finished");
            best = best.min(t.elapsed().as_secs_f64());
        }
        let loads = f64::from(INVOCATIONS) * f64::from(LOADS);
        println!(
            "{name:<45} {:>8.1} ms  {:>5.2} ns per vec4 load (all cores)",
            best * 1e3,
            best * 1e9 / loads
        );
    }
}
