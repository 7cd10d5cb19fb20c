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

/// An op with its override constants: the key of a pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    PatchEmbed,
    LayerNorm,
    /// `linear` with bias, GELU and residual switched by overrides.
    Linear {
        bias: bool,
        gelu: bool,
        residual: bool,
    },
    Attention,
    BranchSum,
}

impl Kernel {
    pub fn op(self) -> &'static str {
        match self {
            Kernel::PatchEmbed => "patch_embed",
            Kernel::LayerNorm => "layer_norm",
            Kernel::Linear { .. } => "linear",
            Kernel::Attention => "attention",
            Kernel::BranchSum => "branch_sum",
        }
    }

    fn constants(self) -> Vec<(&'static str, f64)> {
        match self {
            Kernel::Linear {
                bias,
                gelu,
                residual,
            } => vec![
                ("HAS_BIAS", f64::from(u8::from(bias))),
                ("GELU", f64::from(u8::from(gelu))),
                ("RESIDUAL", f64::from(u8::from(residual))),
            ],
            _ => Vec::new(),
        }
    }
}

/// Shader modules compiled once, pipelines built on first use.
pub struct Kernels {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<Kernel, wgpu::ComputePipeline>,
}

impl Kernels {
    pub fn new(device: &wgpu::Device) -> Kernels {
        let modules = SHADERS
            .iter()
            .map(|&(name, src)| {
                let m = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(src.into()),
                });
                (name, m)
            })
            .collect();
        Kernels {
            modules,
            pipelines: HashMap::new(),
        }
    }

    pub fn pipeline(&mut self, device: &wgpu::Device, kernel: Kernel) -> &wgpu::ComputePipeline {
        let module = &self.modules[kernel.op()];
        self.pipelines.entry(kernel).or_insert_with(|| {
            let constants = kernel.constants();
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.op()),
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
    }

    pub fn get(&self, kernel: Kernel) -> &wgpu::ComputePipeline {
        &self.pipelines[&kernel]
    }
}
