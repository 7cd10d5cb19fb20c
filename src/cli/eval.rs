//! `paraformer eval`: accuracy and per-class accuracy of a checkpoint on a labelled test set
//! (by default the shipped trained MNIST model and its test split), JSON on stdout.

use paraformer::Error;
use paraformer::bench::accuracy;
use paraformer::data::{self, TestSet};
use paraformer::model::{Mode, Weights};
use paraformer::reference;

use super::model_args;
use crate::args::EvalArgs;
use crate::assets;

pub fn run(args: &EvalArgs) -> Result<(), Error> {
    let (weights, checkpoint) = match args.checkpoint.as_deref() {
        Some(path) => (
            model_args::load_weights(Some(path), &args.hints)?,
            path.to_string(),
        ),
        None => (
            assets::trained_mnist()?,
            assets::TRAINED_MNIST_NAME.to_string(),
        ),
    };
    let (set, source) = match args.data.as_deref() {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::Io(format!("cannot read test set '{path}': {e}")))?;
            (TestSet::from_bytes(&bytes)?, path.to_string())
        }
        None => (
            assets::mnist_test_set()?,
            assets::MNIST_TEST_NAME.to_string(),
        ),
    };
    let c = &weights.config;
    set.check(c)?;
    let (mode, branches) = (args.run.mode.into(), args.run.branches(c)?);
    // Checked before the model runs: a bad option is an error at once.
    let precision = args.run.precision()?;
    args.run.forced()?;
    args.run.tuning()?;
    let device = args.run.backend;
    let (logits, adapter) = match device.backend() {
        None => (reference_logits(&weights, &set, mode, branches), None),
        Some(backend) => {
            let batch = args.batch.min(set.len());
            let run = (mode, branches);
            let (mut engine, adapter) =
                model_args::open_engine(backend, &weights, batch, &args.run, run)?;
            let logits =
                pollster::block_on(accuracy::logits(&mut engine, &set, mode, branches, |_| {
                    true
                }))?
                .expect("never stopped");
            (logits, adapter)
        }
    };
    let score = data::score(&logits, c.num_classes, &set.labels);
    let out = serde_json::json!({
        "accuracy": score.accuracy,
        "correct": score.correct,
        "total": score.total,
        "per_class": score.per_class,
        "branches": branches,
        "mode": mode.name(),
        "device": device.name(),
        "adapter": adapter,
        "precision": precision,
        "checkpoint": checkpoint,
        "data": source,
    });
    println!("{out}");
    Ok(())
}

/// The CPU reference on every image.
fn reference_logits(weights: &Weights, set: &TestSet, mode: Mode, branches: usize) -> Vec<f32> {
    let w = weights.branch_prefix(branches);
    (0..set.len())
        .flat_map(|i| reference::forward(&w, &set.image(i), mode))
        .collect()
}
