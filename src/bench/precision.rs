//! What f16 storage costs in accuracy, measured in every f16 sweep: the GPU engine's logits
//! against the f32 CPU engine's (itself checked against the reference to 1e-5) on the
//! sweep's weights and images, at the deepest depth of each mode.

use serde::{Deserialize, Serialize};

use super::{Runner, Settings};
use crate::Error;
use crate::cpu::CpuEngine;
use crate::model::{Mode, Weights};

/// One mode's logits error at one depth.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionError {
    pub mode: Mode,
    /// Total blocks L.
    pub depth: usize,
    /// Largest |logit - f32 logit| over the batch.
    pub max_abs: f64,
    /// `max_abs` over the largest |f32 logit|.
    pub max_rel: f64,
}

/// The error of `engine`'s logits in each mode of `settings`, at its deepest depth.
pub(crate) async fn measure(
    engine: &mut Runner,
    weights: &Weights,
    settings: &Settings,
    images: &[f32],
) -> Result<Vec<PrecisionError>, Error> {
    let d = weights.config.depth;
    let mut cpu = CpuEngine::new(weights, settings.batch)?;
    let mut out = Vec::new();
    for &mode in &settings.modes {
        let deepest = settings
            .depths
            .iter()
            .copied()
            .filter(|&l| settings.measures(mode, l))
            .max();
        let Some(depth) = deepest else { continue };
        let got = engine.run(mode, depth / d, images).await?.logits;
        let want = cpu.run(mode, depth / d, images)?;
        out.push(error_of(mode, depth, &got, &want));
    }
    Ok(out)
}

/// The largest |got - want| and the largest |want| (the logits' scale).
pub fn max_abs_error(got: &[f32], want: &[f32]) -> (f32, f32) {
    let max_abs = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    (max_abs, want.iter().fold(0.0, |m, v| m.max(v.abs())))
}

fn error_of(mode: Mode, depth: usize, got: &[f32], want: &[f32]) -> PrecisionError {
    let (max_abs, scale) = max_abs_error(got, want);
    let (max_abs, scale) = (f64::from(max_abs), f64::from(scale));
    PrecisionError {
        mode,
        depth,
        max_abs,
        max_rel: if scale > 0.0 {
            max_abs / scale
        } else {
            max_abs
        },
    }
}

/// "serial L=12: max abs 1.2e-3, 0.05% of the logits' scale; parallel ...".
pub fn describe(errors: &[PrecisionError]) -> String {
    errors
        .iter()
        .map(|e| {
            format!(
                "{} L={}: max abs {:.2e}, {:.3}% of the logits' scale",
                e.mode.name(),
                e.depth,
                e.max_abs,
                100.0 * e.max_rel
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_is_absolute_and_relative_to_the_largest_logit() {
        let e = error_of(Mode::Serial, 3, &[1.0, -2.01, 0.5], &[1.0, -2.0, 0.49]);
        assert!((e.max_abs - 0.01).abs() < 1e-6, "{e:?}");
        assert!((e.max_rel - 0.005).abs() < 1e-6, "{e:?}");
        let zero = error_of(Mode::Parallel, 1, &[0.5], &[0.0]);
        assert_eq!((zero.max_abs, zero.max_rel), (0.5, 0.5));
        let text = describe(&[e]);
        assert!(
            text.starts_with("serial L=3: max abs 1.00e-2, 0.500%"),
            "{text}"
        );
    }
}
