//! `paraformer infer`: one inference on the GPU engine, the CPU engine or the reference,
//! JSON on stdout.

use paraformer::Error;
use paraformer::cpu::CpuEngine;
use paraformer::engine::{Engine, EngineOptions, Gpu};
use paraformer::input;
use paraformer::model::seeded_image;
use paraformer::reference;

use super::model_args;
use crate::args::{Device, InferArgs};

pub fn run(args: &InferArgs) -> Result<(), Error> {
    let weights = model_args::load_weights(args.checkpoint.as_deref(), &args.hints)?;
    let c = &weights.config;
    let (mode, branches) = (args.run.mode.into(), args.run.branches(c)?);
    let forced = args.run.forced()?;
    let tuning = args.run.tuning()?;
    let precision = args.run.precision()?;
    let (image, source) = match args.input.as_deref() {
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
    let device = args.run.backend;
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
            let options = EngineOptions {
                forced,
                precision,
                ..Default::default()
            };
            let mut engine = pollster::block_on(Engine::new(&gpu, &weights, options))?;
            model_args::autotune(&mut engine, (mode, branches), &tuning)?;
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
        "precision": precision,
        "branches": branches,
        "input": source,
    });
    println!("{out}");
    Ok(())
}
