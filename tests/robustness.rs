//! Every bad input and missing capability ends in an error that names what is wrong and
//! what is allowed, and what worked before keeps working: bad configs, checkpoints and
//! inputs, adapter limits, and a device lost in the middle of a run or a sweep.

mod common;

use std::sync::atomic::AtomicBool;

use common::cases::{self, small};
use paraformer::Error;
use paraformer::bench::{self, Settings};
use paraformer::engine::{Engine, EngineOptions, Gpu};
use paraformer::model::{self, Config, Hints, Mode, Weights, seeded_image};

fn text<T>(r: Result<T, Error>) -> String {
    match r {
        Ok(_) => panic!("expected an error, got a success"),
        Err(e) => e.to_string(),
    }
}

fn expect(what: &str, got: String, want: &str) {
    assert!(
        got.contains(want),
        "{what}: got '{got}', expected it to contain '{want}'"
    );
}

type Edit = Box<dyn Fn(&mut Config)>;

#[test]
fn configs_name_the_field_and_what_is_allowed() {
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|c| c.dim = 0), "dim is 0: it must be at least 1"),
        (
            Box::new(|c| c.branches = 0),
            "branches is 0: it must be at least 1",
        ),
        (
            Box::new(|c| c.image_height = 30),
            "image_height 30 is not divisible by patch 7: choose a patch size that divides it",
        ),
        (
            Box::new(|c| c.dim_head = 300),
            "dim_head 300 is larger than the 256 the attention kernel supports",
        ),
        (
            Box::new(|c| c.mlp_dim = 1 << 40),
            "mlp weight would hold 70368744177664 values, more than the 268435456 allowed",
        ),
        (
            Box::new(|c| c.branches = 40_000),
            "the weights would take 5.0 GiB (1331205130 parameters), more than the 4 GiB allowed",
        ),
        // Sizes that overflow any naive product are refused, not wrapped or panicked on.
        (
            Box::new(|c| c.branches = usize::MAX),
            "blocks, more than the 65536 allowed",
        ),
        (
            Box::new(|c| {
                c.image_height = usize::MAX - 6;
                c.image_width = usize::MAX - 6;
                c.patch = 1;
            }),
            "image would hold",
        ),
    ];
    for (edit, want) in cases {
        let mut c = small();
        edit(&mut c);
        expect("config", text(c.validate()), want);
    }
    expect(
        "batch",
        text(small().check_batch(0)),
        "batch is 0: it must be at least 1",
    );
    expect(
        "batch",
        text(small().check_batch(1 << 30)),
        "batch 1073741824 needs",
    );
    expect(
        "preset",
        text(Config::preset("imagenet")),
        "unknown preset 'imagenet': allowed are cifar, vit-tiny-224, mnist",
    );
    let mut s = Settings::new("mnist").unwrap();
    s.config.depth = 2;
    s.depths = vec![2, 3];
    expect(
        "sweep",
        text(s.validate()),
        "depth 3 is not a positive multiple of the branch depth d = 2",
    );
}

#[test]
fn bad_checkpoints_are_refused_with_the_reason() {
    let hints = Hints::default();
    for case in cases::bad_checkpoints() {
        expect(
            case.name,
            text(model::load(&case.bytes, &hints)),
            case.error,
        );
    }
    let loaded = model::load(&cases::good_checkpoint(), &hints).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn suspicious_checkpoints_load_with_warnings() {
    let (bytes, warnings) = cases::warned_checkpoint();
    let loaded = model::load(&bytes, &Hints::default()).unwrap();
    for w in warnings {
        assert!(
            loaded.warnings.iter().any(|got| got.contains(w)),
            "{:?} lacks '{w}'",
            loaded.warnings
        );
    }
}

#[test]
fn reference_checkpoints_with_wrong_flags_say_which_flag() {
    let w = cases::weights();
    let bytes = model::save(
        &w,
        model::SaveOptions {
            metadata: false,
            ..Default::default()
        },
    );
    let hints = Hints {
        heads: Some(4),
        dim_head: Some(8),
        patch: Some(7),
        pool: None,
    };
    expect(
        "heads x dim_head",
        text(model::load(&bytes, &hints)),
        "--heads 4 x --dim-head 8 = 32 does not match the checkpoint: its to_qkv weight has 192 rows = 3 x 64.0, so heads x dim_head must be 64",
    );
    let hints = Hints {
        dim_head: Some(16),
        patch: Some(5),
        ..hints
    };
    expect(
        "patch",
        text(model::load(&bytes, &hints)),
        "patch vectors have length 49, not a multiple of patch*patch = 25: is --patch 5 right?",
    );
}

#[test]
fn bad_inputs_are_refused_with_the_reason() {
    let c = small();
    for case in cases::bad_inputs() {
        expect(
            case.name,
            text(paraformer::input::from_bytes(&c, &case.bytes)),
            case.error,
        );
    }
}

#[test]
fn the_engine_checks_inputs_and_branch_counts() {
    let w = cases::weights();
    let mut engine =
        pollster::block_on(Engine::new(common::gpu(), &w, EngineOptions::default())).unwrap();
    let mut image = seeded_image(&w.config, 1);
    expect(
        "short input",
        text(pollster::block_on(engine.run(
            Mode::Parallel,
            2,
            &image[1..],
        ))),
        "got 783 input values, the engine needs 784 (1 images of 1x28x28)",
    );
    image[7] = f32::INFINITY;
    expect(
        "infinite input",
        text(pollster::block_on(engine.run(Mode::Parallel, 2, &image))),
        "input value 7 is inf: inputs must be finite numbers",
    );
    image[7] = 0.0;
    expect(
        "branches",
        text(pollster::block_on(engine.run(Mode::Serial, 3, &image))),
        "branches 3 is out of range: this model has 1 to 2 branches",
    );
    // The engine still works after refusing.
    pollster::block_on(engine.run(Mode::Parallel, 2, &image)).unwrap();
}

#[test]
fn adapter_limits_are_respected_with_the_numbers() {
    let w = Weights::seeded(&Config::preset("cifar").unwrap(), 1);
    let gpu = pollster::block_on(Gpu::with_limits(|l| {
        l.max_storage_buffer_binding_size = 1 << 20;
    }))
    .unwrap();
    expect(
        "binding size",
        text(pollster::block_on(Engine::new(
            &gpu,
            &w,
            EngineOptions::default(),
        ))),
        "in one storage binding, the adapter allows 1.0 MiB: use fewer blocks, a smaller batch or smaller sizes",
    );
    // A grid too small even when folded into three dimensions is refused with its size.
    let small_grid = EngineOptions {
        max_grid_dim: Some(1),
        ..Default::default()
    };
    let mut engine =
        pollster::block_on(Engine::new(common::gpu(), &cases::weights(), small_grid)).unwrap();
    expect(
        "grid",
        text(engine.prepare(Mode::Parallel, 2)),
        "workgroups, more than 1^3 that fit the grid: use fewer branches or a smaller batch",
    );
}

#[test]
fn a_lost_device_is_reported_and_a_new_one_works() {
    let w = cases::weights();
    let image = seeded_image(&w.config, 1);
    let gpu = pollster::block_on(Gpu::new()).unwrap();
    let mut engine = pollster::block_on(Engine::new(&gpu, &w, EngineOptions::default())).unwrap();
    let before = pollster::block_on(engine.run(Mode::Parallel, 2, &image)).unwrap();
    gpu.destroy();
    let lost = "the GPU device was lost (it was destroyed): results measured before are kept";
    expect(
        "run",
        text(pollster::block_on(engine.run(Mode::Parallel, 2, &image))),
        lost,
    );
    expect(
        "new engine",
        text(pollster::block_on(Engine::new(
            &gpu,
            &w,
            EngineOptions::default(),
        ))),
        lost,
    );
    // Retry: a new device gives the same logits as before the loss.
    let gpu = pollster::block_on(Gpu::new()).unwrap();
    let mut engine = pollster::block_on(Engine::new(&gpu, &w, EngineOptions::default())).unwrap();
    let after = pollster::block_on(engine.run(Mode::Parallel, 2, &image)).unwrap();
    assert_eq!(before.logits, after.logits);
}

#[test]
fn a_sweep_that_loses_its_device_keeps_what_it_measured() {
    let gpu = pollster::block_on(Gpu::new()).unwrap();
    let mut s = Settings::new("mnist").unwrap();
    (s.depths, s.warmup, s.samples) = (vec![1, 2, 3], 0, 2);
    let mut points = 0;
    let report = pollster::block_on(bench::sweep(
        Some(&gpu),
        &s,
        &AtomicBool::new(false),
        |_| {},
        |_| {
            points += 1;
            if points == 3 {
                gpu.destroy();
            }
        },
    ))
    .unwrap();
    assert!(!report.complete);
    assert_eq!(
        report.points.len(),
        3,
        "the points before the loss are kept"
    );
    expect(
        "sweep",
        report.error.clone().unwrap_or_default(),
        "the GPU device was lost",
    );
    // The partial report still serialises and reads back.
    let back = bench::Report::from_json(&report.to_json()).unwrap();
    assert_eq!(back.points.len(), 3);
}
