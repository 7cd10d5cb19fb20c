//! The registry of ops and their shaders, the `// #if` preprocessor that makes a variant's
//! source, and the compiled pipelines of one device, cached by `Kernel`.

use std::collections::HashMap;

use super::ops::{self, Shader};
use super::step::Kernel;

/// Every op's shader: what the naga test validates and the engine compiles.
pub const SHADERS: [Shader; 7] = [
    ops::patch_embed::SHADER,
    ops::layer_norm::SHADER,
    ops::linear::SHADER,
    ops::linear_sum::SHADER,
    ops::attention::SHADER,
    ops::branch_sum::SHADER,
    ops::peak::SHADER,
];

pub fn shader(op: &str) -> Option<&'static Shader> {
    SHADERS.iter().find(|s| s.op == op)
}

/// The WGSL of `op` compiled with `defines`: of each `// #if A` ... `// #elif B` ...
/// `// #else` ... `// #endif` block it keeps the first branch whose name is defined, else
/// the `#else` branch (blocks nest). Dropped lines become empty lines, so that a compiler's
/// line numbers are the file's. None for an unknown op.
pub fn source(op: &str, defines: &[&str]) -> Option<String> {
    Some(preprocess(shader(op)?.source, defines))
}

/// One open `#if` block: whether its current branch is kept, and whether any branch was.
struct Open {
    keep: bool,
    taken: bool,
}

fn preprocess(src: &str, defines: &[&str]) -> String {
    let mut open: Vec<Open> = Vec::new();
    let mut out = String::with_capacity(src.len());
    for line in src.lines() {
        let directive = line.trim_start().strip_prefix("// #");
        let outer = open.iter().all(|o| o.keep);
        match directive.map(|d| d.split_once(' ').unwrap_or((d, ""))) {
            Some(("if", name)) => {
                let keep = defines.contains(&name.trim());
                open.push(Open { keep, taken: keep });
            }
            Some(("elif", name)) => {
                if let Some(o) = open.last_mut() {
                    o.keep = !o.taken && defines.contains(&name.trim());
                    o.taken |= o.keep;
                }
            }
            Some(("else", _)) => {
                if let Some(o) = open.last_mut() {
                    o.keep = !o.taken;
                    o.taken = true;
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
    modules: HashMap<(&'static str, Vec<&'static str>), wgpu::ShaderModule>,
    pipelines: HashMap<Kernel, wgpu::ComputePipeline>,
}

impl Kernels {
    pub fn pipeline(&mut self, device: &wgpu::Device, kernel: &Kernel) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.get(kernel) {
            return p.clone();
        }
        let defines = kernel.all_defines();
        let module = self
            .modules
            .entry((kernel.op, defines.clone()))
            .or_insert_with(|| {
                let src = source(kernel.op, &defines).expect("every kernel has a shader");
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

    #[test]
    fn elif_keeps_the_first_defined_branch() {
        let src = "// #if A\na\n// #elif B\nb\n// #elif C\nc\n// #else\nz\n// #endif\n";
        let kept = |d: &[&str]| preprocess(src, d).split_whitespace().collect::<String>();
        assert_eq!(kept(&[]), "z");
        assert_eq!(kept(&["A"]), "a");
        assert_eq!(kept(&["B"]), "b");
        assert_eq!(kept(&["C", "B"]), "b");
        assert_eq!(kept(&["C"]), "c");
        assert_eq!(kept(&["A", "C"]), "a");
    }
}
