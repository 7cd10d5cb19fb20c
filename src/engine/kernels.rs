//! The registry of ops and their shaders, the `// #if` preprocessor that makes a variant's
//! source, and the compiled pipelines of one device, cached by `Kernel`.

use std::collections::HashMap;

use super::ops::{self, Shader};
use super::step::Kernel;

/// Every op's shader: what the naga test validates and the engine compiles.
pub const SHADERS: [Shader; 5] = [
    ops::patch_embed::SHADER,
    ops::layer_norm::SHADER,
    ops::linear::SHADER,
    ops::attention::SHADER,
    ops::branch_sum::SHADER,
];

pub fn shader(op: &str) -> Option<&'static Shader> {
    SHADERS.iter().find(|s| s.op == op)
}

/// The WGSL of `op` compiled with `defines`: of each `// #if NAME` ... `// #else` ...
/// `// #endif` block it keeps the part NAME selects (blocks nest). Dropped lines become
/// empty lines, so that a compiler's line numbers are the file's. None for an unknown op.
pub fn source(op: &str, defines: &[&str]) -> Option<String> {
    Some(preprocess(shader(op)?.source, defines))
}

fn preprocess(src: &str, defines: &[&str]) -> String {
    // One entry per open block: whether its current branch is kept.
    let mut open: Vec<bool> = Vec::new();
    let mut out = String::with_capacity(src.len());
    for line in src.lines() {
        let directive = line.trim_start().strip_prefix("// #");
        let outer = open.iter().all(|&k| k);
        match directive.map(|d| d.split_once(' ').unwrap_or((d, ""))) {
            Some(("if", name)) => open.push(defines.contains(&name.trim())),
            Some(("else", _)) => {
                if let Some(k) = open.last_mut() {
                    *k = !*k;
                }
            }
            Some(("endif", _)) => {
                open.pop();
            }
            _ if outer => out.push_str(line),
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// Shader modules and pipelines of one device, compiled on first use and shared by every
/// engine on it: rebuilding a model (a new config, a checkpoint) compiles nothing again.
#[derive(Debug, Default)]
pub struct Kernels {
    modules: HashMap<(&'static str, &'static [&'static str]), wgpu::ShaderModule>,
    pipelines: HashMap<Kernel, wgpu::ComputePipeline>,
}

impl Kernels {
    pub fn pipeline(&mut self, device: &wgpu::Device, kernel: &Kernel) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.get(kernel) {
            return p.clone();
        }
        let module = self
            .modules
            .entry((kernel.op, kernel.defines))
            .or_insert_with(|| {
                let src = source(kernel.op, kernel.defines).expect("every kernel has a shader");
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.op),
                    source: wgpu::ShaderSource::Wgsl(src.into()),
                })
            });
        let constants: Vec<(&str, f64)> = kernel
            .constants
            .iter()
            .map(|&(name, v)| (name, f64::from(v)))
            .collect();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.op),
            layout: None,
            module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        self.pipelines.insert(kernel.clone(), pipeline.clone());
        pipeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_the_selected_part_and_the_line_count() {
        let src =
            "a\n// #if X\nb\n// #if Y\nc\n// #else\nd\n// #endif\n// #else\ne\n// #endif\nf\n";
        let kept = |d: &[&str]| -> Vec<String> {
            preprocess(src, d)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        assert_eq!(kept(&[]), ["a", "e", "f"]);
        assert_eq!(kept(&["X"]), ["a", "b", "d", "f"]);
        assert_eq!(kept(&["X", "Y"]), ["a", "b", "c", "f"]);
        assert_eq!(preprocess(src, &["X"]).lines().count(), src.lines().count());
    }
}
