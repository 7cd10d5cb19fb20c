//! Every WGSL file under shaders/ parses and validates with naga in every variant the
//! engine compiles, its `struct Params` is the Rust `Params` of its op, and the engine
//! compiles exactly those files.

use paraformer::engine::ops::linear::{self, Linear};
use paraformer::engine::ops::linear_sum;
use paraformer::engine::step::{Buf, Lanes, Operand};
use paraformer::engine::{Precision, SHADERS, shader_source};

fn parse(name: &str, defines: &[&str]) -> (naga::Module, String) {
    let src = shader_source(name, defines).unwrap();
    let module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{name}.wgsl {defines:?}: {}", e.emit_to_string(&src)));
    (module, src)
}

/// Every variant's defines, alone (f32) and with the f16 precision's.
fn with_precisions(defines: &[&'static str]) -> Vec<Vec<&'static str>> {
    Precision::ALL
        .iter()
        .map(|p| defines.iter().copied().chain(p.define()).collect())
        .collect()
}

#[test]
fn every_shader_validates_with_naga_in_every_variant_and_precision() {
    for shader in SHADERS {
        assert!(!shader.variants.is_empty(), "{}", shader.op);
        for defines in shader.variants.iter().flat_map(|d| with_precisions(d)) {
            let (module, src) = parse(shader.op, &defines);
            // f32 kernels must not need f16: they run on adapters without it.
            let caps = if defines.contains(&"F16") {
                naga::valid::Capabilities::SHADER_FLOAT16
            } else {
                naga::valid::Capabilities::default()
            };
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
                .validate(&module)
                .unwrap_or_else(|e| {
                    panic!("{}.wgsl {defines:?}: {}", shader.op, e.emit_to_string(&src))
                });
        }
    }
}

#[test]
fn the_f16_define_changes_only_the_storage_type() {
    // Every model op has f16 storage; the peak probes measure the device, in f32.
    for shader in SHADERS.iter().filter(|s| s.op != "peak") {
        let f32_src = shader_source(shader.op, &[]).unwrap();
        let f16_src = shader_source(shader.op, &["F16"]).unwrap();
        assert!(f16_src.contains("enable f16;"), "{}", shader.op);
        assert!(f16_src.contains("alias E = f16;"), "{}", shader.op);
        assert!(!f32_src.contains("enable f16") && f32_src.contains("alias E = f32;"));
        // Every storage array holds `E` or a vector of it, never f32 directly.
        for line in f16_src.lines().filter(|l| l.contains("var<storage")) {
            assert!(
                line.contains("array<E>") || line.contains("array<SVec>"),
                "{}: {line}",
                shader.op
            );
        }
    }
}

#[test]
fn the_scalar_variant_swaps_only_the_marked_lines() {
    for name in ["linear", "attention", "layer_norm"] {
        let vec4 = shader_source(name, &[]).unwrap();
        let scalar = shader_source(name, &["SCALAR"]).unwrap();
        assert!(vec4.contains("alias Vec = vec4<f32>;"), "{name}");
        assert!(scalar.contains("alias Vec = f32;"), "{name}");
        assert!(
            !scalar.contains("alias Vec = vec4<f32>;"),
            "{name}: {scalar}"
        );
        // Outside the `#if SCALAR` block the two are the same, line for line.
        let file = paraformer::engine::SHADERS
            .iter()
            .find(|s| s.op == name)
            .unwrap()
            .source;
        let (before, rest) = file.split_once("// #if SCALAR\n").unwrap();
        let (_, after) = rest.split_once("// #endif\n").unwrap();
        let skip = before.lines().count();
        let tail = after.lines().count();
        let outside = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            let end = lines.len() - tail;
            format!("{}\n{}", lines[..skip].join("\n"), lines[end..].join("\n"))
        };
        assert_eq!(outside(&vec4), outside(&scalar), "{name}");
        assert_eq!(vec4.lines().count(), file.lines().count(), "{name}");
    }
}

/// The members of the shader's `struct Params` (name, scalar type, offset) and its size.
fn wgsl_params(module: &naga::Module) -> (Vec<(String, &'static str, usize)>, usize) {
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some("Params"))
        .expect("the shader declares struct Params");
    let naga::TypeInner::Struct { members, span } = &ty.inner else {
        panic!("Params is not a struct");
    };
    let fields = members
        .iter()
        .map(|m| {
            let ty = match module.types[m.ty].inner {
                naga::TypeInner::Scalar(s) => match (s.kind, s.width) {
                    (naga::ScalarKind::Uint, 4) => "u32",
                    (naga::ScalarKind::Float, 4) => "f32",
                    (naga::ScalarKind::Sint, 4) => "i32",
                    other => panic!("unexpected scalar {other:?}"),
                },
                ref other => panic!("Params member of type {other:?}: only 32-bit scalars"),
            };
            let name = m.name.clone().expect("members are named");
            (name, ty, m.offset as usize)
        })
        .collect();
    (fields, *span as usize)
}

#[test]
fn every_shaders_params_is_its_ops_rust_params() {
    for shader in SHADERS {
        for defines in shader.variants.iter().flat_map(|d| with_precisions(d)) {
            let (module, _) = parse(shader.op, &defines);
            let (fields, size) = wgsl_params(&module);
            let rust: Vec<(String, &str, usize)> = shader
                .params
                .iter()
                .map(|f| (f.name.to_string(), f.ty, f.offset))
                .collect();
            assert_eq!(fields, rust, "{}.wgsl {defines:?}: members", shader.op);
            assert_eq!(
                size, shader.params_size,
                "{}.wgsl {defines:?}: size",
                shader.op
            );
        }
    }
}

#[test]
fn the_linear_epilogue_bits_are_the_shaders_constants() {
    // The split-k sum applies the same epilogue as the linear itself.
    for (op, epilogue) in [
        ("linear", linear::EPILOGUE),
        ("linear_sum", linear_sum::EPILOGUE),
    ] {
        let (module, _) = parse(op, &[]);
        for (name, bits) in epilogue {
            let (_, c) = module
                .constants
                .iter()
                .find(|(_, c)| c.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{op}.wgsl has no const {name}"));
            let value = &module.global_expressions[c.init];
            assert_eq!(
                *value,
                naga::Expression::Literal(naga::Literal::U32(bits)),
                "{op} {name}"
            );
        }
    }
}

#[test]
fn the_engine_uses_every_file_in_shaders() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut known: Vec<String> = SHADERS.iter().map(|s| format!("{}.wgsl", s.op)).collect();
    known.sort();
    assert_eq!(files, known);
}

#[test]
fn the_linear_kernel_is_what_its_generator_writes_with_the_planned_blocks() {
    // The block the planner counts invocations with is the one each variant compiles.
    let lanes = Lanes {
        images: 1,
        branches: 1,
    };
    let op = |buf| Operand {
        buf,
        off: 0,
        branch_stride: 0,
        image_stride: 0,
    };
    for block in linear::Block::ALL {
        // k = 8 loads vec4s, k = 7 scalars: both defines of each block.
        for k in [8, 7] {
            let lin = Linear::new(op(Buf::U), op(Buf::W1), op(Buf::G), (8, 8, k));
            let v = linear::Variant::new(block, block.fixed_group().unwrap_or(16));
            let step = lin.step("test", lanes, v).unwrap();
            let defines = step.kernel.defines;
            let src = shader_source("linear", defines).unwrap();
            let (rows, cols) = block.size();
            for want in [
                format!("const BLOCK_ROWS: u32 = {rows}u;"),
                format!("const BLOCK_COLS: u32 = {cols}u;"),
            ] {
                assert!(src.contains(&want), "{} {defines:?}: {want}", v.name());
            }
        }
    }
    let out = std::process::Command::new("python3")
        .args(["tools/gen_linear.py", "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs tools/gen_linear.py");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
