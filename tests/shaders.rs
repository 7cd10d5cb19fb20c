//! Every WGSL file under shaders/ parses and validates with naga, and the engine compiles
//! exactly those files.

use paraformer::engine::SHADERS;

#[test]
fn every_shader_validates_with_naga() {
    for (name, src) in SHADERS {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(src)));
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
