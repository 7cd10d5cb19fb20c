//! `paraformer infer`: one inference on the GPU engine, the CPU engine or the reference,
//! JSON on stdout.

use paraformer::Error;
use paraformer::input;
use paraformer::model::seeded_image;
use paraformer::reference;

use super::model_args;
use crate::args::InferArgs;

pub fn run(args: &InferArgs) -> Result<(), Error> {
    let weights = model_args::load_weights(args.checkpoint.as_deref(), &args.hints)?;
    let c = &weights.config;
    let (mode, branches) = (args.run.mode.into(), args.run.branches(c)?);
    // Checked before the model is touched: a bad option is an error at once.
    let precision = args.run.precision()?;
    args.run.forced()?;
    args.run.tuning()?;
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
    let (logits, adapter) = match device.backend() {
        None => (
            reference::forward(&weights.branch_prefix(branches), &image, mode),
            None,
        ),
        Some(backend) => {
            let run = (mode, branches);
            let (mut engine, adapter) =
                model_args::open_engine(backend, &weights, 1, &args.run, run)?;
            let out = pollster::block_on(engine.run(mode, branches, &image))?;
            (out.logits, adapter)
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
