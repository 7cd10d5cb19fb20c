//! The CPU engine against the f32 reference: both modes, several (K, d), both poolings,
//! batches and branch prefixes, and its ops on shapes that cut tasks unevenly.

use super::*;
use crate::model::seeded_image;
use crate::reference;

/// Asserts |got - want| <= tol * max(1, largest |want|).
fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (n, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * scale,
            "{what}: value {n} is {a}, the reference says {b} (scale {scale})"
        );
    }
}

fn check(preset: &str, k: usize, d: usize, batch: usize, pool: Pool) {
    let mut c = Config::preset(preset).unwrap();
    (c.branches, c.depth, c.pool) = (k, d, pool);
    let w = Weights::seeded(&c, 40 + k as u64);
    let images: Vec<Vec<f32>> = (0..batch).map(|i| seeded_image(&c, 3 + i as u64)).collect();
    let mut engine = CpuEngine::new(&w, batch).unwrap();
    for mode in Mode::ALL {
        // Every branch, and a prefix of them (the sweep's shallower depths).
        for branches in [k, k.div_ceil(2)] {
            let wk = w.branch_prefix(branches);
            let got = engine.run(mode, branches, &images.concat()).unwrap();
            let want: Vec<f32> = images
                .iter()
                .flat_map(|img| reference::forward(&wk, img, mode))
                .collect();
            let what =
                format!("{preset} K={k} d={d} batch {batch} {pool:?} {mode:?} {branches} branches");
            assert_close(&what, &got, &want, 1e-3);
        }
    }
}

#[test]
fn mnist_matches_the_reference() {
    for (k, d) in [(1, 1), (3, 2), (12, 1)] {
        check("mnist", k, d, 1, Pool::Cls);
    }
    check("mnist", 4, 2, 3, Pool::Mean);
}

#[test]
fn cifar_matches_the_reference() {
    check("cifar", 4, 1, 1, Pool::Cls);
    check("cifar", 2, 2, 2, Pool::Mean);
}

#[test]
fn linear_slices_and_epilogue() {
    // n = 70 cuts into uneven column slices; three lanes with their own weights.
    let (rows, k, n) = (5, 9, 70);
    let x: Vec<f32> = (0..3 * rows * k).map(|v| (v % 7) as f32 - 3.0).collect();
    let w: Vec<f32> = (0..3 * n * k)
        .map(|v| (v % 5) as f32 * 0.25 - 0.5)
        .collect();
    let b: Vec<f32> = (0..3 * n).map(|v| v as f32 * 0.01).collect();
    let r: Vec<f32> = (0..3 * rows * n).map(|v| (v % 3) as f32).collect();
    let lanes: Vec<Lane> = (0..3)
        .map(|l| Lane {
            x: &x[l * rows * k..(l + 1) * rows * k],
            w: &w[l * n * k..(l + 1) * n * k],
            bias: Some(&b[l * n..(l + 1) * n]),
            residual: Some(&r[l * rows * n..(l + 1) * rows * n]),
        })
        .collect();
    let mut y = vec![0.0; 3 * rows * n];
    kernels::linear(&lanes, rows, k, n, true, &mut y);
    for (l, lane) in lanes.iter().enumerate() {
        let mut want = reference::linear(lane.x, rows, k, lane.w, lane.bias);
        reference::gelu(&mut want);
        reference::residual_add(&mut want, lane.residual.unwrap());
        assert_close(
            &format!("lane {l}"),
            &y[l * rows * n..(l + 1) * rows * n],
            &want,
            1e-5,
        );
    }
}

#[test]
fn bad_runs_are_errors() {
    let c = Config::preset("mnist").unwrap();
    let w = Weights::seeded(&c, 1);
    let mut engine = CpuEngine::new(&w, 1).unwrap();
    let img = seeded_image(&c, 1);
    let e = engine.run(Mode::Serial, 0, &img).unwrap_err().to_string();
    assert!(e.contains("branches 0 is out of range"), "{e}");
    let e = engine
        .run(Mode::Serial, 1, &img[1..])
        .unwrap_err()
        .to_string();
    assert!(e.contains("input values, the engine needs"), "{e}");
    let mut nan = img.clone();
    nan[3] = f32::NAN;
    let e = engine.run(Mode::Parallel, 1, &nan).unwrap_err().to_string();
    assert!(e.contains("input value 3 is NaN"), "{e}");
    assert!(CpuEngine::new(&w, 0).is_err());
}

#[test]
fn attention_query_chunks() {
    // One head of 37 tokens: on two or more threads its queries are cut into uneven chunks
    // (13, 13, 11); on one thread it is a single task. Values large enough that the softmax
    // is far from uniform.
    for (lanes, images, heads, tokens, dh) in [(1, 1, 1, 37, 8), (2, 3, 2, 17, 4)] {
        let i = heads * dh;
        let qkv: Vec<f32> = (0..lanes * images * tokens * 3 * i)
            .map(|v| ((v * 7919) % 23) as f32 * 0.3 - 3.0)
            .collect();
        let mut y = vec![0.0; lanes * images * tokens * i];
        kernels::attention(&qkv, lanes, images, tokens, heads, dh, &mut y);
        for (s, (seq, got)) in qkv
            .chunks_exact(tokens * 3 * i)
            .zip(y.chunks_exact(tokens * i))
            .enumerate()
        {
            let want = reference::attention(seq, tokens, heads, dh);
            assert_close(&format!("sequence {s}"), got, &want, 1e-5);
        }
    }
}

#[test]
fn every_stage_is_timed_alone_and_leaves_the_engine_as_it_was() {
    let mut c = Config::preset("mnist").unwrap();
    (c.branches, c.depth) = (3, 2);
    let w = Weights::seeded(&c, 7);
    let image = seeded_image(&c, 1);
    let mut engine = CpuEngine::new(&w, 1).unwrap();
    for mode in Mode::ALL {
        let before = engine.run(mode, 3, &image).unwrap();
        let times = engine.time_stages(mode, 3, &image, 2).unwrap();
        assert_eq!(times.len(), engine.ops(mode, 3));
        let stages: Vec<Stage> = times.iter().map(|t| t.0).collect();
        assert_eq!(stages, network::inference(&c, mode, 3));
        assert!(
            times.iter().all(|t| t.1 > 0.0 && t.1.is_finite()),
            "{times:?}"
        );
        // Repeating a stage rewrote only what it writes, with the same values.
        assert_eq!(engine.run(mode, 3, &image).unwrap(), before);
    }
    assert!(engine.time_stages(Mode::Parallel, 4, &image, 1).is_err());
}
