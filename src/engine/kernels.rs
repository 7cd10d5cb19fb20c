//! The WGSL kernels (one file per op under `shaders/`) and their compute pipelines,
//! built once per (op, override constants) and cached.

use std::collections::HashMap;

/// Every shader by op name: what the naga test validates and the engine compiles.
pub const SHADERS: [(&str, &str); 5] = [
    (
        "patch_embed",
        include_str!("../../shaders/patch_embed.wgsl"),
    ),
    ("layer_norm", include_str!("../../shaders/layer_norm.wgsl")),
    ("linear", include_str!("../../shaders/linear.wgsl")),
    ("attention", include_str!("../../shaders/attention.wgsl")),
    ("branch_sum", include_str!("../../shaders/branch_sum.wgsl")),
];

/// How wide the loads of a kernel's main operands are. `Vec4` is each file as written;
/// `Scalar` replaces the lines between `// width-begin` and `// width-end` (the `Vec` alias,
/// `WIDTH`, `vdot` and the linear's `bias4`, `res4`, `store4`), for shapes whose rows do not start on a 4-float boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    Scalar,
    Vec4,
}

impl Width {
    /// `Vec4` when every one of `values` (sizes and offsets in floats) is a multiple of 4.
    pub fn fitting(values: &[usize]) -> Width {
        if values.iter().all(|v| v % 4 == 0) {
            Width::Vec4
        } else {
            Width::Scalar
        }
    }
}

/// Invocations per workgroup of the linear kernel on an adapter (`backend` and
/// `device_type` as `AdapterSummary` spells them): 16 on native CPU drivers, so that a small
/// dispatch still splits evenly over the CPU's threads (lavapipe, interleaved runs of
/// `examples/linear_group`: mnist L=24 at 0.84x and cifar L=12 at 0.94-0.98x the latency of
/// 64); 64 elsewhere, GPUs and browsers alike (SwiftShader in Chromium ran cifar L=4 in 74-77
/// ms with 16, 63 ms with 64).
pub fn linear_group(backend: &str, device_type: &str) -> u32 {
    if device_type == "Cpu" && backend != "BrowserWebGpu" {
        16
    } else {
        64
    }
}

/// The scalar replacement of each op's width block: the same names as the file's vec4 block.
fn scalar_block(op: &str) -> &'static str {
    match op {
        "linear" => {
            "alias Vec = f32;
const WIDTH: u32 = 1u;
fn vdot(a: Vec, b: Vec) -> f32 { return a * b; }
fn bias4(i: u32) -> vec4<f32> { return vec4<f32>(bias[i], bias[i + 1u], bias[i + 2u], bias[i + 3u]); }
fn res4(i: u32) -> vec4<f32> { return vec4<f32>(res[i], res[i + 1u], res[i + 2u], res[i + 3u]); }
fn store4(i: u32, v: vec4<f32>, count: u32) { for (var c = 0u; c < count; c++) { y[i + c] = v[c]; } }
"
        }
        "layer_norm" => {
            "alias Vec = f32;
const WIDTH: u32 = 1u;
fn vsum(a: Vec) -> f32 { return a; }
"
        }
        _ => {
            "alias Vec = f32;
const WIDTH: u32 = 1u;
fn vdot(a: Vec, b: Vec) -> f32 { return a * b; }
"
        }
    }
}

/// The WGSL source of `op` for a load width: the file itself, or its scalar variant.
/// Files without width markers are the same for both widths.
pub fn source(op: &str, width: Width) -> Option<String> {
    let src = SHADERS.iter().find(|(name, _)| *name == op)?.1;
    if width == Width::Vec4 {
        return Some(src.to_string());
    }
    const BEGIN: &str = "// width-begin\n";
    const END: &str = "// width-end\n";
    Some(match (src.find(BEGIN), src.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!(
                "{}{}{}",
                &src[..b + BEGIN.len()],
                scalar_block(op),
                &src[e..]
            )
        }
        _ => src.to_string(),
    })
}

/// An op with its override constants: the key of a pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    PatchEmbed,
    LayerNorm {
        width: Width,
    },
    /// `linear`; bias, GELU and residual are switched by a parameter, not by overrides.
    Linear {
        width: Width,
        /// Invocations per workgroup (`linear_group`).
        group: u32,
    },
    /// `attention` specialised to the head dimension.
    Attention {
        dim_head: u32,
        width: Width,
    },
    BranchSum,
}

impl Kernel {
    pub fn op(self) -> &'static str {
        match self {
            Kernel::PatchEmbed => "patch_embed",
            Kernel::LayerNorm { .. } => "layer_norm",
            Kernel::Linear { .. } => "linear",
            Kernel::Attention { .. } => "attention",
            Kernel::BranchSum => "branch_sum",
        }
    }

    pub fn width(self) -> Width {
        match self {
            Kernel::Linear { width, .. }
            | Kernel::Attention { width, .. }
            | Kernel::LayerNorm { width } => width,
            _ => Width::Vec4,
        }
    }

    fn constants(self) -> Vec<(&'static str, f64)> {
        match self {
            Kernel::Attention { dim_head, .. } => vec![("DH", f64::from(dim_head))],
            Kernel::Linear { group, .. } => vec![("GROUP", f64::from(group))],
            _ => Vec::new(),
        }
    }
}

/// Shader modules and pipelines of one device, compiled on first use and shared by every
/// engine on it: rebuilding a model (a new config, a checkpoint) compiles nothing again.
#[derive(Debug, Default)]
pub struct Kernels {
    modules: HashMap<(&'static str, Width), wgpu::ShaderModule>,
    pipelines: HashMap<Kernel, wgpu::ComputePipeline>,
}

impl Kernels {
    pub fn pipeline(&mut self, device: &wgpu::Device, kernel: Kernel) -> wgpu::ComputePipeline {
        let op = kernel.op();
        let width = kernel.width();
        let module = self.modules.entry((op, width)).or_insert_with(|| {
            let src = source(op, width).expect("every kernel has a shader");
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(op),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            })
        });
        self.pipelines
            .entry(kernel)
            .or_insert_with(|| {
                let constants = kernel.constants();
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(op),
                    layout: None,
                    module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                })
            })
            .clone()
    }
}

/// The pipelines one engine uses: handles to the device's shared ones.
#[derive(Default)]
pub struct Pipelines(HashMap<Kernel, wgpu::ComputePipeline>);

impl Pipelines {
    pub fn insert(&mut self, kernel: Kernel, pipeline: wgpu::ComputePipeline) {
        self.0.insert(kernel, pipeline);
    }

    pub fn get(&self, kernel: Kernel) -> &wgpu::ComputePipeline {
        &self.0[&kernel]
    }
}
