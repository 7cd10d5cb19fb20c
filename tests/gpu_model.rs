//! The whole model on the GPU against the CPU reference, in both modes, for the cifar and
//! mnist presets with several (K, d), a batch of images, branch prefixes and folded grids.

mod common;

use common::{assert_close, gpu};
use paraformer::engine::choice::Forced;
use paraformer::engine::ops::{attention, layer_norm, linear};
use paraformer::engine::{Engine, EngineOptions};
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
        assert_close(
            &format!("{preset} K={k} d={d} {mode:?} {options:?} {pool:?}"),
            &out.logits,
            &want,
            1e-3,
        );
        assert_eq!(out.gpu_ns.is_some(), engine.has_timestamps());
    }
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
