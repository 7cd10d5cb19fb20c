//! Parity with a fixture made outside the Rust code (tools/make_fixture.py, numpy, from
//! the spec): a checkpoint, an input and the logits of both modes for every branch prefix.
//! The CPU reference and the GPU engine must both reproduce them to 1e-4.

mod common;

use std::collections::BTreeMap;

use common::{assert_close, gpu};
use paraformer::engine::{Engine, EngineOptions};
use paraformer::input;
use paraformer::model::{self, Hints, Mode};
use paraformer::reference;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parity");

#[derive(serde::Deserialize)]
struct Expected {
    logits: BTreeMap<String, Vec<f32>>,
}

#[test]
fn cpu_and_gpu_reproduce_the_numpy_fixture() {
    let read = |f: &str| std::fs::read(format!("{DIR}/{f}")).unwrap();
    let loaded = model::load(&read("model.safetensors"), &Hints::default()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let w = loaded.weights;
    let img = input::from_bytes(&w.config, &read("input.safetensors")).unwrap();
    let expected: Expected = serde_json::from_slice(&read("expected.json")).unwrap();
    assert_eq!(expected.logits.len(), 2 * w.config.branches);
    let mut engine = pollster::block_on(Engine::new(gpu(), &w, EngineOptions::default())).unwrap();
    for (key, want) in &expected.logits {
        let (mode, k) = key.split_once('/').unwrap();
        let (mode, k) = (Mode::parse(mode).unwrap(), k.parse::<usize>().unwrap());
        let cpu = reference::forward(&w.branch_prefix(k), &img, mode);
        assert_close(&format!("cpu {key}"), &cpu, want, 1e-4);
        let gpu_out = pollster::block_on(engine.run(mode, k, &img)).unwrap();
        assert_close(&format!("gpu {key}"), &gpu_out.logits, want, 1e-4);
    }
}
