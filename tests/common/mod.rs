//! Shared by the GPU test binaries: one device per binary, and comparison helpers.
#![allow(dead_code)]

pub mod cases;

use std::sync::OnceLock;

use paraformer::engine::Gpu;

/// The test device (lavapipe in CI). A missing adapter fails the test: GPU tests are never skipped.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| match pollster::block_on(Gpu::new()) {
        Ok(g) => g,
        Err(e) => panic!("GPU tests need an adapter (lavapipe in CI): {e}"),
    })
}

/// Largest absolute difference, and the largest magnitude in `want` (the scale).
pub fn max_abs_diff(got: &[f32], want: &[f32]) -> (f32, f32) {
    assert_eq!(got.len(), want.len(), "length");
    let diff = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(
            0.0f32,
            |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
        );
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    (diff, scale)
}

/// Asserts |got - want| <= tol * max(1, scale of want).
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    let (diff, scale) = max_abs_diff(got, want);
    assert!(
        diff <= tol * scale.max(1.0),
        "{what}: max abs error {diff} exceeds {tol} x scale {scale}"
    );
}
