//! The whole model on the GPU against the CPU reference, in both modes, for the cifar and
//! mnist presets with several (K, d), a batch of images, branch prefixes and folded grids.

mod common;

use common::{assert_close, gpu};
use paraformer::engine::choice::Forced;
use paraformer::engine::ops::{attention, layer_norm, linear};
use paraformer::engine::{Engine, EngineOptions, Gpu, Precision};
use paraformer::model::{Config, Mode, Pool, Weights, seeded_image};
use paraformer::reference;

fn check(preset: &str, k: usize, d: usize, options: EngineOptions, pool: Pool) {
    let mut c = Config::preset(preset).unwrap();
    (c.branches, c.depth, c.pool) = (k, d, pool);
    let w = Weights::seeded(&c, 42 + k as u64);
    let images: Vec<Vec<f32>> = (0..options.batch)
        .map(|i| seeded_image(&c, 7 + i as u64))
        .collect();
    let mut engine = pollster::block_on(Engine::new(gpu(), &w, options)).unwrap();
    for mode in Mode::ALL {
        let out = pollster::block_on(engine.run(mode, k, &images.concat())).unwrap();
        let want: Vec<f32> = images
            .iter()
            .flat_map(|img| reference::forward(&w, img, mode))
            .collect();
        let what = format!("{preset} K={k} d={d} {mode:?} {options:?} {pool:?}");
        let tol = match options.precision {
            Precision::F32 => 1e-3,
            Precision::F16 => F16_TOL,
        };
        assert_close(&what, &out.logits, &want, tol);
        assert_eq!(out.gpu_ns.is_some(), engine.has_timestamps());
    }
}

/// How far the f16 engine's logits may be from the f32 reference, as a fraction of their
/// scale (README, "f16": the measured errors behind it).
const F16_TOL: f32 = 5e-3;

#[test]
fn f16_runs_the_model_within_its_tolerance() {
    // The heuristic's kernels, a batch with mean pooling and folded grids, and the two
    // variants whose intermediate values are stored (split-k parts, tiled staging).
    let f16 = EngineOptions {
        precision: Precision::F16,
        ..Default::default()
    };
    check("cifar", 4, 3, f16, Pool::Cls);
    check("mnist", 3, 2, f16, Pool::Cls);
    let folded = EngineOptions {
        batch: 3,
        max_grid_dim: Some(10),
        ..f16
    };
    check("mnist", 4, 2, folded, Pool::Mean);
    for (block, splits) in [(linear::Block::B4x4, 4), (linear::Block::Tiled, 1)] {
        let options = EngineOptions {
            batch: 2,
            forced: Forced {
                linear: Some(linear::Variant {
                    splits,
                    ..linear::Variant::new(block, 64)
                }),
                ..Forced::default()
            },
            ..f16
        };
        check("cifar", 3, 1, options, Pool::Cls);
    }
}

#[test]
fn f16_on_a_device_without_it_is_an_error_naming_the_feature() {
    let c = Config::preset("mnist").unwrap();
    let w = Weights::seeded(&c, 3);
    let gpu = pollster::block_on(Gpu::open(|_| {}, wgpu::Features::SHADER_F16)).unwrap();
    assert!(!gpu.summary.shader_f16);
    let f16 = EngineOptions {
        precision: Precision::F16,
        ..Default::default()
    };
    let e = pollster::block_on(Engine::new(&gpu, &w, f16))
        .err()
        .expect("f16 needs the feature")
        .to_string();
    assert!(
        e.contains("SHADER_F16") && e.contains(&gpu.summary.name) && e.contains("f32"),
        "{e}"
    );
    // f32 needs nothing more, and the device the tests share has f16 (lavapipe in CI).
    let mut engine = pollster::block_on(Engine::new(&gpu, &w, EngineOptions::default())).unwrap();
    pollster::block_on(engine.run(Mode::Parallel, 1, &seeded_image(&c, 1))).unwrap();
    assert!(
        common::gpu().summary.shader_f16,
        "the test adapter offers f16"
    );
}

#[test]
fn f16_halves_the_device_memory() {
    let c = Config::preset("cifar").unwrap();
    let w = Weights::seeded(&c, 3);
    let memory = |precision| {
        let options = EngineOptions {
            precision,
            ..Default::default()
        };
        let engine = pollster::block_on(Engine::new(gpu(), &w, options)).unwrap();
        assert_eq!(engine.precision(), precision);
        engine.memory().unwrap()
    };
    let (a, b) = (memory(Precision::F32), memory(Precision::F16));
    assert_eq!(2 * b.weight_bytes, a.weight_bytes);
    assert_eq!(2 * b.needed_bytes, a.needed_bytes);
    assert!(2 * b.held_bytes <= a.held_bytes + 16, "{a:?} {b:?}");
}

#[test]
fn mnist_both_modes_match_cpu() {
    for (k, d) in [(1, 1), (3, 2), (12, 1)] {
        check("mnist", k, d, EngineOptions::default(), Pool::Cls);
    }
}

#[test]
fn cifar_both_modes_match_cpu() {
    for (k, d) in [(1, 1), (3, 2), (12, 1)] {
        check("cifar", k, d, EngineOptions::default(), Pool::Cls);
    }
}

#[test]
fn batches_mean_pooling_and_folded_grids_match_cpu() {
    let folded = EngineOptions {
        batch: 3,
        max_grid_dim: Some(10),
        ..Default::default()
    };
    check("mnist", 4, 2, folded, Pool::Mean);
    check(
        "mnist",
        2,
        1,
        EngineOptions {
            batch: 2,
            ..Default::default()
        },
        Pool::Cls,
    );
}

#[test]
fn every_linear_workgroup_size_matches_cpu() {
    // The adapter's heuristic picks one (`choice::Adapter::heuristic`); the others must be
    // right too.
    for group in [64, 16, 8, 1] {
        let options = EngineOptions {
            forced: Forced {
                linear: Some(linear::Variant::new(linear::Block::B9x16, group)),
                ..Forced::default()
            },
            ..Default::default()
        };
        check("cifar", 3, 1, options, Pool::Cls);
        check("mnist", 2, 2, options, Pool::Mean);
    }
}

#[test]
fn every_kernel_variant_runs_the_model_as_the_reference() {
    // Each linear block and the other ops' variants forced for the whole model: both modes,
    // batch 1 and 3 (vit-tiny-224's shapes are covered by tests/gpu_kernels.rs cases and its
    // size keeps it out of this loop).
    let variants = [
        (
            linear::Block::B4x8,
            64,
            layer_norm::Variant::RowPerGroup { group: 32 },
            64,
        ),
        (
            linear::Block::B4x4,
            32,
            layer_norm::Variant::RowPerInvocation { group: 16 },
            8,
        ),
        (
            linear::Block::B1x4,
            16,
            layer_norm::Variant::RowPerGroup { group: 1 },
            1,
        ),
        (
            linear::Block::B9x16,
            128,
            layer_norm::Variant::RowPerInvocation { group: 256 },
            128,
        ),
        (
            linear::Block::Tiled,
            64,
            layer_norm::Variant::RowPerGroup { group: 64 },
            32,
        ),
    ];
    for (i, (block, group, norm, att)) in variants.into_iter().enumerate() {
        let options = EngineOptions {
            batch: [1, 3][i % 2],
            forced: Forced {
                linear: Some(linear::Variant::new(block, group)),
                layer_norm: Some(norm),
                attention: Some(attention::Variant {
                    queries: [4, 1][i / 2 % 2],
                    group: att,
                }),
            },
            ..Default::default()
        };
        check("cifar", 3, 1, options, Pool::Cls);
        check("mnist", 2, 2, options, Pool::Mean);
    }
}

#[test]
fn split_k_linears_run_the_model_as_the_reference() {
    // Every linear of the model split in parts, summed by a second dispatch: a register
    // block at batch 1, the tiled variant at batch 3 with more parts.
    for (i, (block, group, splits)) in [(linear::Block::B4x4, 64, 4), (linear::Block::Tiled, 64, 3)]
        .into_iter()
        .enumerate()
    {
        let options = EngineOptions {
            batch: [1, 3][i],
            forced: Forced {
                linear: Some(linear::Variant {
                    splits,
                    ..linear::Variant::new(block, group)
                }),
                ..Forced::default()
            },
            ..Default::default()
        };
        check("cifar", 3, 1, options, Pool::Cls);
        check("mnist", 2, 2, options, Pool::Mean);
    }
}

#[test]
fn branch_prefixes_are_smaller_models() {
    let mut c = Config::preset("mnist").unwrap();
    (c.branches, c.depth) = (5, 2);
    let w = Weights::seeded(&c, 9);
    let img = seeded_image(&c, 1);
    let mut engine = pollster::block_on(Engine::new(gpu(), &w, EngineOptions::default())).unwrap();
    for k in [1, 2, 5] {
        let prefix = w.branch_prefix(k);
        for mode in Mode::ALL {
            let out = pollster::block_on(engine.run(mode, k, &img)).unwrap();
            assert_close(
                &format!("prefix {k} {mode:?}"),
                &out.logits,
                &reference::forward(&prefix, &img, mode),
                1e-3,
            );
            let stats = engine.stats(mode, k).unwrap();
            assert_eq!(stats.blocks, 2 * k);
            let expect = match mode {
                Mode::Parallel => 7 * 2 + 4,
                Mode::Serial => 7 * 2 * k + 4,
            };
            assert_eq!((stats.dispatches, stats.critical_path), (expect, expect));
        }
    }
    let e = pollster::block_on(engine.run(Mode::Parallel, 6, &img))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("branches 6 is out of range: this model has 1 to 5"),
        "{e}"
    );
    let e = pollster::block_on(engine.run(Mode::Parallel, 5, &img[1..]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("got 783 input values, the engine needs 784"),
        "{e}"
    );
}

#[test]
fn repeated_runs_reuse_buffers_and_agree() {
    let c = Config::preset("mnist").unwrap();
    let w = Weights::seeded(&c, 5);
    let mut engine = pollster::block_on(Engine::new(gpu(), &w, EngineOptions::default())).unwrap();
    let bytes = engine.device_bytes();
    let a = seeded_image(&c, 1);
    let b = seeded_image(&c, 2);
    let first = pollster::block_on(engine.run(Mode::Parallel, 8, &a))
        .unwrap()
        .logits;
    for _ in 0..20 {
        pollster::block_on(engine.run(Mode::Serial, 8, &b)).unwrap();
        assert_eq!(
            pollster::block_on(engine.run(Mode::Parallel, 8, &a))
                .unwrap()
                .logits,
            first
        );
    }
    assert_eq!(engine.device_bytes(), bytes);
}
