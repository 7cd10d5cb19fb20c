//! `paraformer infer`: one inference on the CPU reference or the GPU engine, JSON on stdout.

use paraformer::Error;
use paraformer::cpu::CpuEngine;
use paraformer::engine::{Engine, EngineOptions, Gpu};
use paraformer::input;
use paraformer::model::seeded_image;
use paraformer::reference;

use super::args::{Args, Spec};
use super::model_args::{self, Device};

pub const SPECS: &[Spec] = &[
    ("checkpoint", true),
    ("input", true),
    ("mode", true),
    ("device", true),
    ("backend", true),
    ("branches", true),
    ("heads", true),
    ("dim-head", true),
    ("patch", true),
    ("pool", true),
];

pub fn run(args: &Args) -> Result<(), Error> {
    let weights = model_args::load_weights(args)?;
    let c = &weights.config;
    let (mode, branches) = model_args::mode_and_branches(args, c)?;
    let (image, source) = match args.text("input") {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::Io(format!("cannot read input '{path}': {e}")))?;
            (input::from_bytes(c, &bytes)?, path.to_string())
        }
        None => (
            seeded_image(c, 0),
            "seeded random image (seed 0)".to_string(),
        ),
    };
    let device = model_args::device(args)?;
    let (logits, adapter) = match device {
        Device::Reference => (
            reference::forward(&weights.branch_prefix(branches), &image, mode),
            None,
        ),
        Device::Cpu => (
            CpuEngine::new(&weights, 1)?.run(mode, branches, &image)?,
            None,
        ),
        Device::Gpu => {
            let gpu = pollster::block_on(Gpu::new())?;
            let mut engine =
                pollster::block_on(Engine::new(&gpu, &weights, EngineOptions::default()))?;
            let out = pollster::block_on(engine.run(mode, branches, &image))?;
            (out.logits, Some(gpu.summary.name.clone()))
        }
    };
    // The first maximum on ties, as `eval` scores (and numpy's argmax).
    let class = (!logits.is_empty()).then(|| paraformer::data::argmax(&logits));
    let out = serde_json::json!({
        "logits": logits,
        "class": class,
        "mode": mode.name(),
        "device": device.name(),
        "adapter": adapter,
        "branches": branches,
        "input": source,
    });
    println!("{out}");
    Ok(())
}
