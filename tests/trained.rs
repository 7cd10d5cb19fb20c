//! The shipped trained MNIST Para-Former (assets/, written by tools/train/train.py with JAX):
//! the Rust CPU reference and the GPU engine reproduce the training tool's logits on the
//! shipped test images (1e-4 of the logits' scale) and its reported accuracy exactly, for
//! every branch prefix 0..k; and every prefix runs in both modes; in f16 its accuracy
//! stays within 0.3 points.

mod common;

use paraformer::bench::{Backend, Runner, accuracy};
use paraformer::data::{self, TestSet};
use paraformer::engine::{Engine, EngineOptions};
use paraformer::model::{self, Hints, Mode, Weights};
use paraformer::reference;

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");
/// Images checked on the GPU for every prefix (all of them for the whole model).
const GPU_SUBSET: usize = 250;

fn trained() -> (Weights, TestSet) {
    let ckpt = std::fs::read(format!("{ASSETS}/mnist-paraformer.safetensors")).unwrap();
    let loaded = model::load(&ckpt, &Hints::default()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let set =
        TestSet::from_bytes(&std::fs::read(format!("{ASSETS}/mnist-test.safetensors")).unwrap())
            .unwrap();
    set.check(&loaded.weights.config).unwrap();
    (loaded.weights, set)
}

fn assert_rows_close(what: &str, got: &[f32], want: &[f32], classes: usize) {
    for (i, (g, w)) in got.chunks(classes).zip(want.chunks(classes)).enumerate() {
        common::assert_close(&format!("{what}, image {i}"), g, w, 1e-4);
    }
}

#[test]
fn the_cpu_reference_reproduces_the_training_tool_for_every_prefix() {
    let (w, set) = trained();
    let c = &w.config;
    assert_eq!((c.branches, set.prefixes()), (8, 8));
    assert_eq!(set.accuracy.len(), c.branches);
    // Branch outputs once per image; prefix k sums the first k.
    let mut by_prefix = vec![Vec::new(); c.branches];
    for i in 0..set.len() {
        let x0 = reference::patch_embed(c, &set.image(i), &w);
        let mut sum = vec![0.0f32; x0.len()];
        for (k, logits) in by_prefix.iter_mut().enumerate() {
            for (s, v) in sum.iter_mut().zip(reference::branch(&w, &x0, k)) {
                *s += v;
            }
            // branch_sum of one output is just the pooling.
            let pooled = reference::branch_sum(c, std::slice::from_ref(&sum));
            logits.extend(reference::head(c, &pooled, &w));
        }
    }
    for (k, logits) in by_prefix.iter().enumerate() {
        let want: Vec<f32> = (0..set.len())
            .flat_map(|i| set.expected(k + 1, i).unwrap().to_vec())
            .collect();
        assert_rows_close(
            &format!("cpu, branches 0..{}", k + 1),
            logits,
            &want,
            c.num_classes,
        );
        let score = data::score(logits, c.num_classes, &set.labels);
        assert_eq!(
            score.accuracy,
            set.accuracy[&(k + 1)],
            "accuracy with {} branches",
            k + 1
        );
    }
    // Progressive training makes more branches better: the whole model beats one branch.
    assert!(set.accuracy[&8] > set.accuracy[&1], "{:?}", set.accuracy);
}

#[test]
fn the_gpu_engine_reproduces_the_training_tool() {
    let (w, set) = trained();
    let c = w.config.clone();
    let mut subset = set.clone();
    let len = c.image_len();
    subset.pixels.truncate(GPU_SUBSET * len);
    subset.labels.truncate(GPU_SUBSET);
    let options = EngineOptions {
        batch: 50,
        ..Default::default()
    };
    let mut engine = gpu_runner(&w, options);
    for k in 1..=c.branches {
        let got = pollster::block_on(accuracy::logits(
            &mut engine,
            &subset,
            Mode::Parallel,
            k,
            |_| true,
        ))
        .unwrap()
        .unwrap();
        let want: Vec<f32> = (0..GPU_SUBSET)
            .flat_map(|i| set.expected(k, i).unwrap().to_vec())
            .collect();
        assert_rows_close(&format!("gpu, branches 0..{k}"), &got, &want, c.num_classes);
    }
    // The whole test set with all branches: the reported accuracy exactly.
    let options = EngineOptions {
        batch: 200,
        ..Default::default()
    };
    let mut engine = gpu_runner(&w, options);
    let got = pollster::block_on(accuracy::logits(
        &mut engine,
        &set,
        Mode::Parallel,
        c.branches,
        |_| true,
    ))
    .unwrap()
    .unwrap();
    let score = data::score(&got, c.num_classes, &set.labels);
    assert_eq!(score.accuracy, set.accuracy[&c.branches]);
    assert_eq!(score.total, set.len());
}

#[test]
fn every_prefix_runs_in_both_modes_on_gpu_and_cpu() {
    let (w, set) = trained();
    let image = set.image(0);
    let mut engine =
        pollster::block_on(Engine::new(common::gpu(), &w, EngineOptions::default())).unwrap();
    for k in 1..=w.config.branches {
        let prefix = w.branch_prefix(k);
        for mode in Mode::ALL {
            let gpu = pollster::block_on(engine.run(mode, k, &image))
                .unwrap()
                .logits;
            let cpu = reference::forward(&prefix, &image, mode);
            common::assert_close(&format!("{mode:?} with {k} branches"), &gpu, &cpu, 1e-4);
        }
    }
}

#[test]
fn paraformer_eval_reports_the_accuracy_per_class() {
    let (_, set) = trained();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paraformer"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!stderr.contains("panicked"), "{stderr}");
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out.status.code(), json, stderr)
    };
    // The defaults: the shipped model and test split; one branch on each device.
    for device in ["cpu", "gpu"] {
        let (code, json, err) = run(&["eval", "--branches", "1", "--device", device]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            json["accuracy"].as_f64(),
            Some(set.accuracy[&1]),
            "{device}"
        );
        assert_eq!(json["total"].as_u64(), Some(set.len() as u64));
        let per_class = json["per_class"].as_array().unwrap();
        assert_eq!(per_class.len(), 10);
        let total: u64 = per_class.iter().map(|c| c["total"].as_u64().unwrap()).sum();
        let correct: u64 = per_class
            .iter()
            .map(|c| c["correct"].as_u64().unwrap())
            .sum();
        assert_eq!(
            (total, Some(correct)),
            (set.len() as u64, json["correct"].as_u64())
        );
    }
    // A checkpoint is not a test set.
    let ckpt = format!("{ASSETS}/mnist-paraformer.safetensors");
    let (code, _, err) = run(&["eval", "--data", &ckpt]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not a test set: it lacks the tensor 'images'"),
        "{err}"
    );
}

/// The bar for f16 (README, "f16"): the shipped model's accuracy within 0.3 points of
/// f32's, through `eval --precision f16`, for the whole model and a one-branch prefix (it
/// was trained for parallel mode: its serial chain is not a classifier).
#[test]
fn the_trained_model_in_f16_keeps_its_accuracy() {
    let (w, set) = trained();
    for branches in [w.config.branches, 1] {
        let want = set.accuracy[&branches];
        let k = branches.to_string();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paraformer"))
            .args([
                "eval",
                "--precision",
                "f16",
                "--autotune",
                "off",
                "--branches",
                &k,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["precision"], "f16");
        let got = json["accuracy"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 0.003,
            "K={k}: f16 accuracy {got} against f32's {want}"
        );
    }
}

fn gpu_runner(w: &Weights, options: EngineOptions) -> Runner {
    pollster::block_on(Runner::open(Backend::Gpu, Some(common::gpu()), w, options)).unwrap()
}
