//! Every WGSL file under shaders/ parses and validates with naga, and the engine compiles
//! exactly those files.

use paraformer::engine::{SHADERS, Width, shader_source};

#[test]
fn every_shader_validates_with_naga_in_both_load_widths() {
    for (name, _) in SHADERS {
        for width in [Width::Vec4, Width::Scalar] {
            let src = shader_source(name, width).unwrap();
            let module = naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{name}.wgsl {width:?}: {}", e.emit_to_string(&src)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::default(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}.wgsl {width:?}: {}", e.emit_to_string(&src)));
        }
    }
}

#[test]
fn the_scalar_variant_swaps_only_the_marked_lines() {
    for name in ["linear", "attention", "layer_norm"] {
        let vec4 = shader_source(name, Width::Vec4).unwrap();
        let scalar = shader_source(name, Width::Scalar).unwrap();
        assert!(vec4.contains("alias Vec = vec4<f32>;"), "{name}");
        assert!(scalar.contains("alias Vec = f32;"), "{name}");
        assert!(
            !scalar.contains("alias Vec = vec4<f32>;"),
            "{name}: {scalar}"
        );
        let outside = |s: &str| {
            let (a, rest) = s.split_once("// width-begin").unwrap();
            let (_, b) = rest.split_once("// width-end").unwrap();
            format!("{a}{b}")
        };
        assert_eq!(outside(&vec4), outside(&scalar), "{name}");
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
    let mut known: Vec<String> = SHADERS.iter().map(|(n, _)| format!("{n}.wgsl")).collect();
    known.sort();
    assert_eq!(files, known);
}

#[test]
fn the_linear_kernel_is_what_its_generator_writes_with_the_planned_block() {
    let src = shader_source("linear", Width::Vec4).unwrap();
    let (rows, cols) = paraformer::engine::plan::LINEAR_BLOCK;
    assert!(
        src.contains(&format!("const BLOCK_ROWS: u32 = {rows}u;")),
        "rows"
    );
    assert!(
        src.contains(&format!("const BLOCK_COLS: u32 = {cols}u;")),
        "cols"
    );
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
