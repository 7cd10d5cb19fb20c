//! Each WGSL kernel against its CPU reference op on lavapipe: random shapes (also sizes
//! that are not multiples of the tiles), several images and branches with per-branch
//! weights, grids folded over all three dimensions, and both load widths (vec4 where rows
//! start on 4-float boundaries, scalar otherwise), each in f32 and in f16 (then against
//! the reference on the f16-rounded inputs the device holds, within `F16_TOL`).

mod common;

use std::collections::{HashMap, HashSet};

use common::{assert_close, gpu};
use paraformer::engine::Precision;
use paraformer::engine::ops::attention::{self, Attention};
use paraformer::engine::ops::branch_sum::BranchSum;
use paraformer::engine::ops::layer_norm::{self, LayerNorm};
use paraformer::engine::ops::linear::{self, Linear};
use paraformer::engine::ops::patch_embed;
use paraformer::engine::plan::linear_steps;
use paraformer::engine::probe::{run_step, run_steps};
use paraformer::engine::step::{Buf, Lanes, Operand, Step};
use paraformer::model::{Config, Pool, Rng, Weights};
use paraformer::reference;

fn run(step: &Step, data: &HashMap<Buf, Vec<f32>>, max_grid: Option<u32>) -> Vec<f32> {
    pollster::block_on(run_step(gpu(), step, data, max_grid)).expect("kernel runs")
}

type Data = HashMap<Buf, Vec<f32>>;

/// How far an f16 kernel may be from the f32 reference on the same (f16) inputs, as a
/// fraction of the output's scale (README, "f16"): its stores round to 11 significant
/// bits (4.9e-4), and intermediate stores (split-k parts, attention's running output)
/// round again.
const F16_TOL: f32 = 4e-3;

/// The f16 kernels of `steps` against `want_of` on the f16-rounded inputs: what an f16
/// engine holds, so that the difference is the kernels' own rounding.
fn check_f16(what: &str, steps: &[Step], data: &Data, want_of: impl Fn(&Data) -> Vec<f32>) {
    let data: Data = data
        .iter()
        .map(|(b, v)| (*b, v.iter().map(|&x| Precision::F16.round(x)).collect()))
        .collect();
    let steps: Vec<Step> = steps
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.kernel.precision = Precision::F16;
            s
        })
        .collect();
    let got = pollster::block_on(run_steps(gpu(), &steps, &data, None)).expect("f16 kernel runs");
    assert_close(&format!("{what} f16"), &got, &want_of(&data), F16_TOL);
}

/// The smallest grid side whose cube holds `groups`: folding then uses all three dimensions.
fn tight_grid(groups: u64) -> Option<u32> {
    Some((1..).find(|m: &u32| (*m as u64).pow(3) >= groups).unwrap())
}

fn act(buf: Buf, lanes: Lanes, rows: usize, cols: usize) -> Operand {
    Operand {
        buf,
        off: 0,
        branch_stride: rows * cols,
        image_stride: lanes.branches * rows * cols,
    }
}

#[test]
fn linear_matches_cpu_with_every_epilogue() {
    let mut rng = Rng::new(1);
    let shapes = [
        (1, 1, 1),
        (3, 40, 7),
        (17, 5, 100),
        (10, 20, 12),
        (33, 70, 13),
        (65, 96, 64),
    ];
    let variants = [
        (false, false, false),
        (true, false, false),
        (true, true, false),
        (true, false, true),
        (false, true, true),
    ];
    let mut widths = HashSet::new();
    for (case, &(rows, n, k)) in shapes.iter().enumerate() {
        for (vi, &(bias, gelu, residual)) in variants.iter().enumerate() {
            let lanes = Lanes {
                images: 2,
                branches: [1, 3][(case + vi) % 2],
            };
            let nz = lanes.images * lanes.branches;
            // Weights for 2 + branches blocks; the dispatch uses blocks 1, 2, ... per branch.
            let blocks = lanes.branches + 2;
            let w = Operand {
                buf: Buf::W1,
                off: n * k,
                branch_stride: n * k,
                image_stride: 0,
            };
            let b = Operand {
                buf: Buf::B1,
                off: n,
                branch_stride: n,
                image_stride: 0,
            };
            let shared_x = case % 2 == 1;
            let x = if shared_x {
                Operand {
                    buf: Buf::U,
                    off: 0,
                    branch_stride: 0,
                    image_stride: rows * k,
                }
            } else {
                act(Buf::U, lanes, rows, k)
            };
            let (r, y) = (act(Buf::V, lanes, rows, n), act(Buf::G, lanes, rows, n));
            let x_len = if shared_x {
                lanes.images * rows * k
            } else {
                nz * rows * k
            };
            // Split-k parts: up to 8 slices of the output, NaN until the first dispatch.
            let data = HashMap::from([
                (Buf::U, rng.fill(x_len, 2.0)),
                (Buf::W1, rng.fill(blocks * n * k, 0.5)),
                (Buf::B1, rng.fill(blocks * n, 1.0)),
                (Buf::V, rng.fill(nz * rows * n, 1.0)),
                (Buf::G, vec![f32::NAN; nz * rows * n]),
                (Buf::Partial, vec![f32::NAN; 8 * nz * rows * n]),
            ]);
            let linear = Linear {
                x,
                w,
                bias: bias.then_some(b),
                residual: residual.then_some(r),
                y,
                shape: (rows, n, k),
                gelu,
            };
            let want_of = |data: &Data| {
                let mut want = Vec::new();
                for img in 0..lanes.images {
                    for br in 0..lanes.branches {
                        let xs = &data[&Buf::U]
                            [x.off + br * x.branch_stride + img * x.image_stride..][..rows * k];
                        let ws = &data[&Buf::W1][w.off + br * w.branch_stride..][..n * k];
                        let bs = &data[&Buf::B1][b.off + br * b.branch_stride..][..n];
                        let mut out = reference::linear(xs, rows, k, ws, bias.then_some(bs));
                        if gelu {
                            reference::gelu(&mut out);
                        }
                        if residual {
                            let rs = &data[&Buf::V][(img * lanes.branches + br) * rows * n..]
                                [..rows * n];
                            reference::residual_add(&mut out, rs);
                        }
                        want.extend(out);
                    }
                }
                want
            };
            let want = want_of(&data);
            // Every register block, each at a workgroup size of its own per case.
            for (bi, block) in linear::Block::ALL.into_iter().enumerate() {
                let group = block
                    .fixed_group()
                    .unwrap_or([64, 16, 8][(case + vi + bi) % 3]);
                let v = linear::Variant::new(block, group);
                let step = linear.step("test", lanes, v).unwrap();
                widths.insert(step.kernel.width());
                let what = format!(
                    "linear {} {rows}x{n}x{k} bias={bias} gelu={gelu} residual={residual} {lanes:?}",
                    v.name()
                );
                assert_close(&what, &run(&step, &data, None), &want, 1e-5);
                assert_close(
                    &format!("{what} folded"),
                    &run(&step, &data, tight_grid(step.groups)),
                    &want,
                    1e-5,
                );
                check_f16(&what, &[step], &data, want_of);
            }
            // Split-k: a block of its own per case, k in 2, 3 or 8 parts (more parts than
            // k has values of 4 leaves parts empty), the parts' sum a second dispatch.
            let block = linear::Block::ALL[(case + vi) % linear::Block::ALL.len()];
            let v = linear::Variant {
                splits: [2, 3, 8][(case + vi) % 3],
                ..linear::Variant::new(block, block.fixed_group().unwrap_or(32))
            };
            let steps = linear_steps(&linear, "test", lanes, v).unwrap();
            assert_eq!(steps.len(), 2, "{}", v.name());
            assert!(
                linear::partial_len(linear.shape, lanes, v.splits) <= data[&Buf::Partial].len()
            );
            let what = format!(
                "linear {} {rows}x{n}x{k} bias={bias} gelu={gelu} residual={residual} {lanes:?}",
                v.name()
            );
            let most = steps.iter().map(|s| s.groups).max().unwrap();
            for grid in [None, tight_grid(most)] {
                let got = pollster::block_on(run_steps(gpu(), &steps, &data, grid)).unwrap();
                assert_close(&format!("{what} grid {grid:?}"), &got, &want, 1e-5);
            }
            check_f16(&what, &steps, &data, want_of);
        }
    }
    assert_eq!(widths.len(), 2, "both load widths are exercised");
}

#[test]
fn layer_norm_matches_cpu() {
    let mut rng = Rng::new(2);
    let mut widths = HashSet::new();
    for (rows, cols, branches) in [
        (1, 1, 1),
        (5, 63, 3),
        (17, 64, 2),
        (9, 200, 4),
        (65, 192, 1),
    ] {
        let lanes = Lanes {
            images: 2,
            branches,
        };
        let nz = 2 * branches;
        let gamma = Operand {
            buf: Buf::LnAW,
            off: cols,
            branch_stride: 2 * cols,
            image_stride: 0,
        };
        let gsize = cols * (1 + 2 * branches);
        let data = HashMap::from([
            (
                Buf::H,
                rng.fill(nz * rows * cols, 3.0)
                    .iter()
                    .map(|v| v + 1.5)
                    .collect(),
            ),
            (Buf::LnAW, rng.fill(gsize, 1.0)),
            (Buf::LnAB, rng.fill(gsize, 1.0)),
            (Buf::U, vec![0.0; nz * rows * cols]),
        ]);
        let norm = LayerNorm {
            x: act(Buf::H, lanes, rows, cols),
            gamma,
            beta: Buf::LnAB,
            y: act(Buf::U, lanes, rows, cols),
            shape: (rows, cols),
        };
        let want_of = |data: &Data| {
            let mut want = Vec::new();
            for z in 0..nz {
                let br = z % branches;
                let g = &data[&Buf::LnAW][gamma.off + br * gamma.branch_stride..][..cols];
                let b = &data[&Buf::LnAB][gamma.off + br * gamma.branch_stride..][..cols];
                want.extend(reference::layer_norm(
                    &data[&Buf::H][z * rows * cols..][..rows * cols],
                    cols,
                    g,
                    b,
                ));
            }
            want
        };
        let want = want_of(&data);
        // Every variant: a row per invocation, and a row per workgroup of several sizes
        // (fewer invocations than vec4s in a row, and more).
        for v in [
            layer_norm::Variant::RowPerInvocation { group: 64 },
            layer_norm::Variant::RowPerInvocation { group: 16 },
            layer_norm::Variant::RowPerInvocation { group: 1 },
            layer_norm::Variant::RowPerGroup { group: 1 },
            layer_norm::Variant::RowPerGroup { group: 16 },
            layer_norm::Variant::RowPerGroup { group: 64 },
            layer_norm::Variant::RowPerGroup { group: 256 },
        ] {
            let step = norm.step("test", lanes, v).unwrap();
            widths.insert(step.kernel.width());
            let what = format!("layer_norm {rows}x{cols} {lanes:?} {v:?}");
            assert_close(&what, &run(&step, &data, None), &want, 1e-5);
            assert_close(
                &what,
                &run(&step, &data, tight_grid(step.groups)),
                &want,
                1e-5,
            );
            check_f16(&what, &[step], &data, want_of);
        }
    }
    assert_eq!(widths.len(), 2, "both load widths are exercised");
    let norm = LayerNorm {
        x: Operand::whole(Buf::H),
        gamma: Operand::whole(Buf::LnAW),
        beta: Buf::LnAB,
        y: Operand::whole(Buf::U),
        shape: (4, 8),
    };
    let one = Lanes {
        images: 1,
        branches: 1,
    };
    let e = norm
        .step("test", one, layer_norm::Variant::RowPerGroup { group: 48 })
        .unwrap_err();
    assert!(e.to_string().contains("power of two of 1 to 256"), "{e}");
}

#[test]
fn attention_matches_cpu() {
    let mut rng = Rng::new(3);
    let mut widths = HashSet::new();
    for (case, (tokens, heads, dim_head, nz)) in [
        (1, 1, 1, 1),
        (17, 4, 16, 3),
        (65, 3, 64, 2),
        (130, 2, 100, 1),
        (70, 1, 256, 2),
        (5, 3, 7, 5),
    ]
    .into_iter()
    .enumerate()
    {
        let i = heads * dim_head;
        let data = HashMap::from([
            (Buf::Qkv, rng.fill(nz * tokens * 3 * i, 2.0)),
            (Buf::Att, vec![0.0; nz * tokens * i]),
        ]);
        // The heuristic's 32 invocations per workgroup, and others (one not a power of two).
        let group = [32, 64, 1, 7][case % 4];
        for queries in attention::Variant::QUERIES {
            let step = Attention {
                qkv: Buf::Qkv,
                out: Buf::Att,
                shape: (tokens, heads, dim_head),
                nz,
            }
            .step(attention::Variant { queries, group })
            .unwrap();
            widths.insert(step.kernel.width());
            let want_of = |data: &Data| -> Vec<f32> {
                data[&Buf::Qkv]
                    .chunks_exact(tokens * 3 * i)
                    .flat_map(|q| reference::attention(q, tokens, heads, dim_head))
                    .collect()
            };
            let want = want_of(&data);
            let what = format!(
                "attention {queries}q/{group} T={tokens} heads={heads} dh={dim_head} nz={nz}"
            );
            assert_close(&what, &run(&step, &data, None), &want, 1e-5);
            assert_close(
                &what,
                &run(&step, &data, tight_grid(step.groups)),
                &want,
                1e-5,
            );
            check_f16(&what, &[step], &data, want_of);
        }
    }
    assert_eq!(widths.len(), 2, "both load widths are exercised");
}

#[test]
fn patch_embed_matches_cpu() {
    for (h, w, channels, patch, dim) in [
        (8, 12, 3, 4, 10),
        (28, 28, 1, 7, 64),
        (5, 5, 2, 1, 3),
        (32, 32, 3, 4, 192),
    ] {
        let c = Config {
            image_height: h,
            image_width: w,
            channels,
            patch,
            dim,
            heads: 1,
            dim_head: 1,
            mlp_dim: 1,
            num_classes: 1,
            branches: 1,
            depth: 1,
            pool: Pool::Cls,
        };
        let weights = Weights::seeded(&c, 4);
        let images = 2;
        let pixels = Rng::new(5).fill(images * c.image_len(), 2.0);
        let data = HashMap::from([
            (Buf::Image, pixels.clone()),
            (Buf::PatchW, weights.patch_w.clone()),
            (Buf::PatchB, weights.patch_b.clone()),
            (Buf::Cls, weights.cls.clone()),
            (Buf::Pos, weights.pos.clone()),
            (Buf::X0, vec![0.0; images * c.tokens() * dim]),
        ]);
        let step = patch_embed::step(&c, images).unwrap();
        let want_of = |data: &Data| -> Vec<f32> {
            let w = Weights {
                patch_w: data[&Buf::PatchW].clone(),
                patch_b: data[&Buf::PatchB].clone(),
                cls: data[&Buf::Cls].clone(),
                pos: data[&Buf::Pos].clone(),
                ..weights.clone()
            };
            data[&Buf::Image]
                .chunks_exact(c.image_len())
                .flat_map(|img| reference::patch_embed(&c, img, &w))
                .collect()
        };
        let want = want_of(&data);
        let what = format!("patch_embed {c:?}");
        assert_close(&what, &run(&step, &data, None), &want, 1e-5);
        assert_close(
            &what,
            &run(&step, &data, tight_grid(step.groups)),
            &want,
            1e-5,
        );
        check_f16(&what, &[step], &data, want_of);
    }
}

#[test]
fn branch_sum_matches_cpu_for_both_pools() {
    let mut rng = Rng::new(6);
    for (tokens, dim, branches) in [(1, 1, 1), (17, 64, 8), (65, 192, 3), (4, 100, 30)] {
        for pool in [Pool::Cls, Pool::Mean] {
            let mut c = Config::preset("mnist").unwrap();
            (c.patch, c.image_height, c.image_width, c.dim, c.pool) = (1, 1, tokens - 1, dim, pool);
            if tokens == 1 {
                // No patches at all is not a valid image, but the op itself still sums the class tokens.
                c.image_width = 0;
            }
            let lanes = Lanes {
                images: 2,
                branches,
            };
            let y = rng.fill(2 * branches * tokens * dim, 2.0);
            let data = HashMap::from([(Buf::H, y), (Buf::Pooled, vec![0.0; 2 * dim])]);
            let sum = BranchSum {
                y: Buf::H,
                out: Buf::Pooled,
                shape: (tokens, dim),
                pool,
            };
            let step = sum.step(lanes).unwrap();
            let want_of = |data: &Data| -> Vec<f32> {
                data[&Buf::H]
                    .chunks_exact(branches * tokens * dim)
                    .flat_map(|img| {
                        let outs: Vec<Vec<f32>> = img
                            .chunks_exact(tokens * dim)
                            .map(<[f32]>::to_vec)
                            .collect();
                        reference::branch_sum(&c, &outs)
                    })
                    .collect()
            };
            let want = want_of(&data);
            let what = format!("branch_sum T={tokens} D={dim} K={branches} {pool:?}");
            assert_close(&what, &run(&step, &data, None), &want, 1e-5);
            assert_close(
                &what,
                &run(&step, &data, tight_grid(step.groups)),
                &want,
                1e-5,
            );
            check_f16(&what, &[step], &data, want_of);
        }
    }
}
