//! The latency fit as the latency view shows it: the fitted lines, the knee, the fitted
//! value of a hovered point and a one-line summary in words. Plain data, unit-tested.

use paraformer::bench::Point;
use paraformer::bench::fit::Fit;
use paraformer::model::Mode;

/// The fit of the points on the clock the view shows. The branch depth d is L / K of any point.
pub fn fit_of(points: &[Point], gpu_clock: bool) -> Fit {
    let d = points
        .iter()
        .find(|p| p.branches > 0)
        .map_or(1, |p| p.depth / p.branches);
    Fit::of_clock(points, d.max(1), gpu_clock)
}

/// The fitted curve of a mode as a polyline over the measured range (exact: the serial
/// fit is a line, the parallel one flat-then-linear with its corner at the knee).
pub fn line(fit: &Fit, mode: Mode) -> Vec<[f64; 2]> {
    match mode {
        Mode::Serial => fit.serial.as_ref().map_or(Vec::new(), |s| {
            let (lo, hi) = span(&s.points);
            vec![lo, hi]
                .into_iter()
                .map(|l| [l, s.intercept_ms + s.ms_per_block * l])
                .collect()
        }),
        Mode::Parallel => fit.parallel.as_ref().map_or(Vec::new(), |p| {
            let (lo, hi) = span(&p.points);
            match p.knee_depth {
                Some(k) => vec![
                    [lo, p.flat_ms],
                    [k, p.flat_ms],
                    [hi, p.flat_ms + p.ms_per_block_after * (hi - k)],
                ],
                None => vec![
                    [lo, p.flat_ms],
                    [hi, p.flat_ms + p.ms_per_block_after * (hi - lo)],
                ],
            }
        }),
    }
}

fn span(points: &[paraformer::bench::fit::Predicted]) -> (f64, f64) {
    let depths = points.iter().map(|p| p.depth as f64);
    let lo = depths.clone().fold(f64::MAX, f64::min);
    let hi = depths.fold(0.0, f64::max);
    (lo, hi)
}

/// The sweep in one line: the speedup at the deepest depth both modes measured, where the
/// parallel latency stops being flat, and the slopes.
pub fn summary(points: &[Point], fit: &Fit, gpu_clock: bool) -> String {
    let median = |p: &Point| match (gpu_clock, &p.gpu) {
        (true, Some(g)) => g.median_ms,
        _ => p.wall.median_ms,
    };
    let mut parts = Vec::new();
    let deepest = points
        .iter()
        .filter(|s| s.mode == Mode::Serial)
        .filter_map(|s| {
            let p = points
                .iter()
                .find(|p| p.mode == Mode::Parallel && p.depth == s.depth)?;
            Some((s.depth, median(s) / median(p)))
        })
        .max_by_key(|&(l, _)| l);
    if let Some((l, x)) = deepest {
        parts.push(format!("at L = {l} parallel is {x:.2}x as fast as serial"));
    }
    if let Some(p) = &fit.parallel {
        parts.push(match p.knee_depth {
            Some(k) => format!(
                "parallel flat at {:.2} ms up to L* = {k:.1}, then {:+.3} ms per branch",
                p.flat_ms, p.ms_per_branch_after
            ),
            None if p.ms_per_branch_after.abs() * 20.0 < p.flat_ms => format!(
                "parallel flat at {:.2} ms over the measured range (no knee yet)",
                p.flat_ms
            ),
            None => format!(
                "parallel {:+.3} ms per branch from the first point (no flat part)",
                p.ms_per_branch_after
            ),
        });
    }
    if let Some(s) = &fit.serial {
        let launch = s.launch_ms_per_block.map_or(String::new(), |l| {
            format!(" ({:.0} us of it launch)", l * 1e3)
        });
        parts.push(format!(
            "serial {:+.3} ms per block{launch}",
            s.ms_per_block
        ));
    }
    let measured = |m: Mode| points.iter().any(|p| p.mode == m);
    for (mode, missing) in [
        (Mode::Parallel, fit.parallel.is_none()),
        (Mode::Serial, fit.serial.is_none()),
    ] {
        if missing && measured(mode) {
            parts.push(format!("{} not fitted (hover for why)", mode.name()));
        }
    }
    if fit.parallel.is_none() && fit.serial.is_none() && deepest.is_none() {
        return "too few points for a fit yet".into();
    }
    let mut line = parts.join("; ");
    if let Some(first) = line.get(..1) {
        line = first.to_uppercase() + &line[1..];
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use paraformer::bench::Stats;

    fn point(mode: Mode, depth: usize, ms: f64) -> Point {
        Point {
            backend: Default::default(),
            precision: Default::default(),
            mode,
            depth,
            branches: depth,
            flops: 1e6 * depth as f64,
            dispatches: 11,
            critical_path: if mode == Mode::Serial {
                7 * depth + 4
            } else {
                11
            },
            cold_ms: 0.0,
            runs_per_sample: 1,
            wall_samples_ms: vec![ms],
            wall: Stats::of(&[ms]).unwrap(),
            gpu_samples_ms: None,
            gpu: None,
            gflops_wall: 0.0,
            gflops_gpu: None,
        }
    }

    #[test]
    fn a_knee_is_drawn_and_said() {
        let mut points = Vec::new();
        for l in 1..=16 {
            points.push(point(Mode::Serial, l, 0.5 + 0.3 * l as f64));
            points.push(point(
                Mode::Parallel,
                l,
                1.0 + 0.2 * (l as f64 - 6.0).max(0.0),
            ));
        }
        let fit = fit_of(&points, false);
        let knee = line(&fit, Mode::Parallel);
        assert_eq!(knee.len(), 3, "{knee:?}");
        assert!((knee[1][0] - 6.0).abs() < 0.3, "{knee:?}");
        assert!((knee[0][1] - 1.0).abs() < 0.01);
        let serial = line(&fit, Mode::Serial);
        let want = [[1.0, 0.8], [16.0, 5.3]];
        assert_eq!(serial.len(), 2);
        for (got, want) in serial.iter().zip(want) {
            assert!((got[0] - want[0]).abs() < 1e-9 && (got[1] - want[1]).abs() < 1e-9);
        }
        assert!((fit.predicted(Mode::Serial, 4).unwrap() - 1.7).abs() < 1e-9);
        let text = summary(&points, &fit, false);
        assert!(text.starts_with("At L = 16 parallel is"), "{text}");
        assert!(text.contains("up to L* = 6."), "{text}");
        assert!(text.contains("serial +0.300 ms per block"), "{text}");
        // The GPU clock has no samples here: no fit, and the summary says so.
        assert_eq!(
            summary(&[], &fit_of(&points, true), true),
            "too few points for a fit yet"
        );
    }
}
