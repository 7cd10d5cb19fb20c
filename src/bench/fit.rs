//! A latency model fitted to a sweep: what a dispatch and a FLOP cost on this device, how
//! fast serial latency grows per block, and where parallel latency stops being flat.
//!
//! Every fit is by least squares on the wall-clock medians of the points. A fit the data
//! cannot support (too few points, columns that do not vary independently, a poor R^2,
//! negative costs) gives a `note` saying why instead of numbers.

use serde::{Deserialize, Serialize};

use super::Point;
use crate::model::Mode;

/// The smallest R^2 at which fitted figures are reported.
pub const MIN_R2: f64 = 0.9;

/// The whole fit of a sweep (`fit` in the JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// latency = fixed + launch * critical-path dispatches + FLOPs / throughput, over the
    /// points of both modes together (within one mode dispatches and FLOPs grow together,
    /// so only both modes separate them).
    pub cost: Option<CostFit>,
    pub serial: Option<SerialFit>,
    pub parallel: Option<ParallelFit>,
    /// Why a part is missing or not trusted; empty when all is well.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostFit {
    pub fixed_ms: f64,
    pub launch_us_per_dispatch: f64,
    pub gflops: f64,
    pub r2: f64,
    pub points: Vec<Predicted>,
}

/// Serial latency as a line in L: intercept + slope * L.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SerialFit {
    pub intercept_ms: f64,
    pub ms_per_block: f64,
    /// The part of `ms_per_block` that is dispatch launch cost (from `cost`), when known.
    pub launch_ms_per_block: Option<f64>,
    pub r2: f64,
    pub points: Vec<Predicted>,
}

/// Parallel latency as flat-then-linear in L: `flat_ms` up to the knee L*, then
/// `flat_ms + slope * (L - L*)`. `knee_depth` is None when the measured range shows no
/// knee (flat to the end, or rising from the first point; `notes` says which).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParallelFit {
    pub flat_ms: f64,
    pub knee_depth: Option<f64>,
    /// Slope after the knee, per added block of depth and per added branch (d blocks).
    pub ms_per_block_after: f64,
    pub ms_per_branch_after: f64,
    pub r2: f64,
    pub points: Vec<Predicted>,
}

/// One point, measured and as the fit predicts it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Predicted {
    pub mode: Mode,
    pub depth: usize,
    pub measured_ms: f64,
    pub predicted_ms: f64,
}

impl Fit {
    /// Fits the wall-clock medians of a sweep whose branches have `branch_depth` blocks.
    pub fn of(points: &[Point], branch_depth: usize) -> Fit {
        Fit::of_clock(points, branch_depth, false)
    }

    /// The same on the GPU-timestamp medians when `gpu` (points without them are left out).
    pub fn of_clock(points: &[Point], branch_depth: usize, gpu: bool) -> Fit {
        let samples: Vec<Sample> = points
            .iter()
            .filter_map(|p| {
                let stats = if gpu { p.gpu.as_ref()? } else { &p.wall };
                Some(Sample {
                    mode: p.mode,
                    depth: p.depth,
                    critical_path: p.critical_path,
                    flops: p.flops,
                    ms: stats.median_ms,
                })
            })
            .collect();
        let points = &samples[..];
        let mut notes = Vec::new();
        let cost = fit_cost(points).map_err(|n| notes.push(n)).ok();
        let serial = fit_serial(points, cost.as_ref())
            .map_err(|n| notes.push(n))
            .ok();
        let parallel = match fit_parallel(points, branch_depth) {
            Ok((p, note)) => {
                notes.extend(note);
                Some(p)
            }
            Err(n) => {
                notes.push(n);
                None
            }
        };
        Fit {
            cost,
            serial,
            parallel,
            notes,
        }
    }

    /// The per-mode fit's prediction at a measured depth, when that mode has a fit.
    pub fn predicted(&self, mode: Mode, depth: usize) -> Option<f64> {
        let points = match mode {
            Mode::Serial => &self.serial.as_ref()?.points,
            Mode::Parallel => &self.parallel.as_ref()?.points,
        };
        points
            .iter()
            .find(|p| p.depth == depth)
            .map(|p| p.predicted_ms)
    }

    /// The fit in words, a line per part, for the table and the report.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = &self.serial {
            let launch = s.launch_ms_per_block.map_or(String::new(), |l| {
                format!(", {:.0} us of it launch cost", l * 1e3)
            });
            out.push(format!(
                "serial: {:+.3} ms per block{launch} (line in L, R^2 {:.3})",
                s.ms_per_block, s.r2
            ));
        }
        if let Some(p) = &self.parallel {
            out.push(match p.knee_depth {
                Some(k) => format!(
                    "parallel: flat at {:.3} ms up to L* = {k:.1}, then {:+.3} ms per branch \
                     ({:+.3} ms per block; R^2 {:.3})",
                    p.flat_ms, p.ms_per_branch_after, p.ms_per_block_after, p.r2
                ),
                None => format!(
                    "parallel: no knee in the measured range ({:.3} ms at L = {}, then \
                     {:+.3} ms per branch as a line in L; R^2 {:.3})",
                    p.flat_ms,
                    p.points.first().map_or(0, |q| q.depth),
                    p.ms_per_branch_after,
                    p.r2
                ),
            });
        }
        if let Some(c) = &self.cost {
            out.push(format!(
                "cost model: {:.3} ms fixed + {:.1} us per dependent dispatch + FLOPs at \
                 {:.1} GFLOP/s (R^2 {:.3}, {} points)",
                c.fixed_ms,
                c.launch_us_per_dispatch,
                c.gflops,
                c.r2,
                c.points.len()
            ));
        }
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        out
    }
}

/// What a fit needs of a point: its costs and its median on the chosen clock.
struct Sample {
    mode: Mode,
    depth: usize,
    critical_path: usize,
    flops: f64,
    ms: f64,
}

fn medians(points: &[Sample], mode: Mode) -> Vec<(usize, f64)> {
    points
        .iter()
        .filter(|p| p.mode == mode)
        .map(|p| (p.depth, p.ms))
        .collect()
}

/// 1 - residual / total sum of squares; 1 when the data do not vary and are met exactly.
fn r_squared(measured: &[f64], predicted: &[f64]) -> f64 {
    let n = measured.len() as f64;
    let mean = measured.iter().sum::<f64>() / n;
    let ss_tot: f64 = measured.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = measured
        .iter()
        .zip(predicted)
        .map(|(y, p)| (y - p).powi(2))
        .sum();
    if ss_tot <= f64::EPSILON * mean.abs().max(1.0) {
        if ss_res <= f64::EPSILON * mean.abs().max(1.0) {
            1.0
        } else {
            0.0
        }
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// Least squares `x` minimising |A x - y| for the columns `cols` of A, by the normal
/// equations on columns scaled to unit maximum. None when the columns are (nearly)
/// linearly dependent: the data cannot tell their coefficients apart.
pub fn least_squares(cols: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let p = cols.len();
    let scale: Vec<f64> = cols
        .iter()
        .map(|c| {
            c.iter()
                .fold(0.0f64, |m, v| m.max(v.abs()))
                .max(f64::MIN_POSITIVE)
        })
        .collect();
    let col = |j: usize, i: usize| cols[j][i] / scale[j];
    // [A^T A | A^T y]
    let mut m = vec![vec![0.0; p + 1]; p];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, cell) in row.iter_mut().enumerate().take(p) {
            *cell = (0..y.len()).map(|i| col(r, i) * col(c, i)).sum();
        }
        row[p] = (0..y.len()).map(|i| col(r, i) * y[i]).sum();
    }
    let norm = m
        .iter()
        .map(|r| r[..p].iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    for k in 0..p {
        let pivot = (k..p).max_by(|&a, &b| m[a][k].abs().total_cmp(&m[b][k].abs()))?;
        if m[pivot][k].abs() <= 1e-9 * norm {
            return None;
        }
        m.swap(k, pivot);
        let pivot_row = m[k].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != k {
                let f = row[k] / pivot_row[k];
                for (cell, v) in row.iter_mut().zip(&pivot_row).skip(k) {
                    *cell -= f * v;
                }
            }
        }
    }
    Some((0..p).map(|k| m[k][p] / m[k][k] / scale[k]).collect())
}

fn fit_cost(points: &[Sample]) -> Result<CostFit, String> {
    const WHAT: &str = "cost model (fixed + launch + FLOPs)";
    if points.len() < 4 {
        return Err(format!(
            "{WHAT}: {} points, it needs at least 4 over both modes",
            points.len()
        ));
    }
    let y: Vec<f64> = points.iter().map(|p| p.ms).collect();
    let ones = vec![1.0; points.len()];
    let dispatches: Vec<f64> = points.iter().map(|p| p.critical_path as f64).collect();
    let flops: Vec<f64> = points.iter().map(|p| p.flops).collect();
    let x = least_squares(&[ones, dispatches.clone(), flops.clone()], &y).ok_or_else(|| {
        format!(
            "{WHAT}: dependent dispatches and FLOPs grow together in these points, so their \
             costs cannot be told apart (sweep both modes over several depths)"
        )
    })?;
    let predicted: Vec<f64> = (0..y.len())
        .map(|i| x[0] + x[1] * dispatches[i] + x[2] * flops[i])
        .collect();
    let r2 = r_squared(&y, &predicted);
    if r2 < MIN_R2 {
        return Err(format!(
            "{WHAT}: R^2 {r2:.3} is below {MIN_R2}: latency here is not fixed + launch + FLOP \
             cost (a knee, or noise); no figures given"
        ));
    }
    let rms = (y
        .iter()
        .zip(&predicted)
        .map(|(y, p)| (y - p).powi(2))
        .sum::<f64>()
        / y.len() as f64)
        .sqrt();
    if x[0] < -2.0 * rms {
        return Err(format!(
            "{WHAT}: the fit gives a negative fixed cost ({:.3} ms, beyond twice the residual \
             RMS): latency here is not fixed + launch + FLOP cost; no figures given",
            x[0]
        ));
    }
    if x[1] <= 0.0 || x[2] <= 0.0 {
        return Err(format!(
            "{WHAT}: the fit gives a non-positive launch cost or throughput \
             ({:.1} us per dispatch, {:.3e} ms per FLOP): the data do not support it",
            x[1] * 1e3,
            x[2]
        ));
    }
    Ok(CostFit {
        fixed_ms: x[0],
        launch_us_per_dispatch: x[1] * 1e3,
        gflops: 1.0 / (x[2] * 1e6),
        r2,
        points: points
            .iter()
            .zip(predicted)
            .map(|(p, predicted_ms)| Predicted {
                mode: p.mode,
                depth: p.depth,
                measured_ms: p.ms,
                predicted_ms,
            })
            .collect(),
    })
}

fn predicted(mode: Mode, data: &[(usize, f64)], model: impl Fn(f64) -> f64) -> Vec<Predicted> {
    data.iter()
        .map(|&(depth, measured_ms)| Predicted {
            mode,
            depth,
            measured_ms,
            predicted_ms: model(depth as f64),
        })
        .collect()
}

fn fit_serial(points: &[Sample], cost: Option<&CostFit>) -> Result<SerialFit, String> {
    let data = medians(points, Mode::Serial);
    if data.len() < 3 {
        return Err(format!(
            "serial: {} depths measured, a line needs at least 3",
            data.len()
        ));
    }
    let l: Vec<f64> = data.iter().map(|d| d.0 as f64).collect();
    let y: Vec<f64> = data.iter().map(|d| d.1).collect();
    let x = least_squares(&[vec![1.0; l.len()], l.clone()], &y)
        .ok_or("serial: every point has the same depth")?;
    let line = |l: f64| x[0] + x[1] * l;
    let pred: Vec<f64> = l.iter().map(|&v| line(v)).collect();
    let r2 = r_squared(&y, &pred);
    if r2 < MIN_R2 {
        return Err(format!(
            "serial: R^2 {r2:.3} of a line in L is below {MIN_R2}; no slope given"
        ));
    }
    // A serial block adds 7 dependent dispatches.
    let per_block = |c: &CostFit| 7.0 * c.launch_us_per_dispatch / 1e3;
    Ok(SerialFit {
        intercept_ms: x[0],
        ms_per_block: x[1],
        launch_ms_per_block: cost.map(per_block),
        r2,
        points: predicted(Mode::Serial, &data, line),
    })
}

/// The flat-then-linear model at breakpoint `knee`: (flat, slope, residual sum of squares).
fn hinge(l: &[f64], y: &[f64], knee: f64) -> Option<(f64, f64, f64)> {
    let rise: Vec<f64> = l.iter().map(|&v| (v - knee).max(0.0)).collect();
    let x = least_squares(&[vec![1.0; l.len()], rise.clone()], y)?;
    let sse = y
        .iter()
        .zip(&rise)
        .map(|(y, r)| (y - x[0] - x[1] * r).powi(2))
        .sum();
    Some((x[0], x[1], sse))
}

fn fit_parallel(points: &[Sample], d: usize) -> Result<(ParallelFit, Option<String>), String> {
    let data = medians(points, Mode::Parallel);
    if data.len() < 4 {
        return Err(format!(
            "parallel: {} depths measured, a flat-then-linear fit needs at least 4",
            data.len()
        ));
    }
    let l: Vec<f64> = data.iter().map(|p| p.0 as f64).collect();
    let y: Vec<f64> = data.iter().map(|p| p.1).collect();
    let (lo, hi) = (l[0], l[l.len() - 1]);
    // The breakpoint is searched on a fine grid over the measured range; below the
    // second-deepest point, so that the rising part holds at least one point.
    let top = l[l.len() - 2];
    let steps = 2000;
    let mut best: Option<(f64, (f64, f64, f64))> = None;
    for s in 0..=steps {
        let knee = lo + (top - lo) * s as f64 / steps as f64;
        if let Some(h) = hinge(&l, &y, knee)
            && best.is_none_or(|(_, b)| h.2 < b.2)
        {
            best = Some((knee, h));
        }
    }
    let (knee, (flat, slope, sse)) = best.ok_or("parallel: every point has the same depth")?;
    let model = |v: f64| flat + slope * (v - knee).max(0.0);
    let pred: Vec<f64> = l.iter().map(|&v| model(v)).collect();
    let r2 = r_squared(&y, &pred);
    let rms = (sse / l.len() as f64).sqrt();
    // A knee is a rise that stands out of the noise: the modelled rise by the deepest point
    // is at least 5% of the flat latency and 3 residual RMS, and a flat part exists (two
    // measured depths at or below the breakpoint).
    let rise = slope * (hi - knee);
    let rises = slope > 0.0 && rise >= (0.05 * flat).max(3.0 * rms);
    let no_knee = if !rises {
        format!("parallel: flat over the measured range (L = {lo} to {hi}): no knee yet")
    } else if l.iter().filter(|&&v| v <= knee).count() < 2 {
        format!("parallel: latency grows from the first point (L = {lo}): no flat part")
    } else if r2 < MIN_R2 {
        return Err(format!(
            "parallel: R^2 {r2:.3} of the flat-then-linear fit is below {MIN_R2}; no knee given"
        ));
    } else {
        let fit = ParallelFit {
            flat_ms: flat,
            knee_depth: Some(knee),
            ms_per_block_after: slope,
            ms_per_branch_after: slope * d as f64,
            r2,
            points: predicted(Mode::Parallel, &data, model),
        };
        return Ok((fit, None));
    };
    // Without a knee the figures are those of a line in L, from the shallowest point.
    let x = least_squares(&[vec![1.0; l.len()], l.clone()], &y)
        .ok_or("parallel: every point has the same depth")?;
    let line = |v: f64| x[0] + x[1] * v;
    let pred: Vec<f64> = l.iter().map(|&v| line(v)).collect();
    let r2 = r_squared(&y, &pred);
    // A flat sweep is explained by its mean, so a line's R^2 says nothing there; a rising
    // one must be a line.
    if rises && r2 < MIN_R2 {
        return Err(format!(
            "parallel: R^2 {r2:.3} of a line in L is below {MIN_R2}; no slope given"
        ));
    }
    let fit = ParallelFit {
        flat_ms: line(lo),
        knee_depth: None,
        ms_per_block_after: x[1],
        ms_per_branch_after: x[1] * d as f64,
        r2,
        points: predicted(Mode::Parallel, &data, line),
    };
    Ok((fit, Some(no_knee)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;

    /// A point whose wall-clock median is `ms`, with mnist-like dispatch and FLOP counts.
    fn point(mode: Mode, depth: usize, ms: f64) -> Point {
        let flops = 1e6 + 2e6 * depth as f64;
        let critical_path = match mode {
            Mode::Serial => 7 * depth + 4,
            Mode::Parallel => 11,
        };
        Point {
            backend: Default::default(),
            precision: Default::default(),
            mode,
            depth,
            branches: depth,
            flops,
            dispatches: critical_path,
            critical_path,
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

    /// A small deterministic wobble, at most `amp` either way.
    fn wobble(i: usize, amp: f64) -> f64 {
        amp * [0.3, -0.8, 0.5, -0.2, 0.9, -0.6, 0.1][i % 7]
    }

    fn close(what: &str, got: f64, want: f64) {
        assert!(
            (got - want).abs() <= 0.05 * want.abs(),
            "{what}: {got} is not within 5% of {want}"
        );
    }

    #[test]
    fn recovers_known_costs_and_a_knee_at_eight() {
        // 0.2 ms fixed, 40 us per dependent dispatch, 10 GFLOP/s; parallel flat until the
        // device is full at L = 8, then 0.25 ms per block.
        let (fixed, launch, per_flop) = (0.2, 0.04, 1.0 / 10e6);
        let mut points = Vec::new();
        for (i, l) in (1..=24).enumerate() {
            let s = point(Mode::Serial, l, 0.0);
            let serial = fixed + launch * s.critical_path as f64 + per_flop * s.flops;
            points.push(point(Mode::Serial, l, serial + wobble(i, 0.002)));
            let parallel = 1.5 + 0.25 * (l as f64 - 8.0).max(0.0);
            points.push(point(Mode::Parallel, l, parallel + wobble(i + 3, 0.002)));
        }
        let serial_only: Vec<Point> = points
            .iter()
            .filter(|p| p.mode == Mode::Serial)
            .cloned()
            .collect();
        let c = Fit::of(&serial_only, 1)
            .cost
            .ok_or(Fit::of(&serial_only, 1).notes[0].clone());
        assert!(c.unwrap_err().contains("cannot be told apart"));
        // The parallel points follow a knee, not the cost model: fit it on serial points
        // plus parallel ones before the knee, where both hold.
        let before: Vec<Point> = points
            .iter()
            .filter(|p| p.mode == Mode::Serial || p.depth <= 8)
            .map(|p| {
                let mut p = p.clone();
                if p.mode == Mode::Parallel {
                    let ms = fixed + launch * 11.0 + per_flop * p.flops + wobble(p.depth, 0.002);
                    p.wall = Stats::of(&[ms]).unwrap();
                }
                p
            })
            .collect();
        let cost = Fit::of(&before, 1).cost.unwrap();
        close("fixed", cost.fixed_ms, fixed);
        close("launch", cost.launch_us_per_dispatch, launch * 1e3);
        close("throughput", cost.gflops, 10.0);
        let fit = Fit::of(&points, 1);
        let s = fit.serial.unwrap();
        close(
            "serial slope",
            s.ms_per_block,
            7.0 * launch + per_flop * 2e6,
        );
        let p = fit.parallel.unwrap();
        close("knee", p.knee_depth.expect("a knee"), 8.0);
        close("flat", p.flat_ms, 1.5);
        close("slope after", p.ms_per_branch_after, 0.25);
        assert_eq!(p.points.len(), 24);
        assert!(p.r2 > 0.99);
    }

    #[test]
    fn flat_and_rising_sweeps_have_no_knee() {
        let flat: Vec<Point> = (1..=12)
            .map(|l| point(Mode::Parallel, l, 2.0 + wobble(l, 0.01)))
            .collect();
        let fit = Fit::of(&flat, 1);
        assert_eq!(fit.parallel.unwrap().knee_depth, None);
        assert!(
            fit.notes.iter().any(|n| n.contains("no knee yet")),
            "{:?}",
            fit.notes
        );
        let rising: Vec<Point> = (1..=12)
            .map(|l| point(Mode::Parallel, l, 1.0 + 0.5 * l as f64 + wobble(l, 0.01)))
            .collect();
        let fit = Fit::of(&rising, 2);
        let p = fit.parallel.unwrap();
        assert_eq!(p.knee_depth, None);
        close("slope per branch", p.ms_per_branch_after, 1.0);
        assert!(
            fit.notes.iter().any(|n| n.contains("no flat part")),
            "{:?}",
            fit.notes
        );
    }

    #[test]
    fn too_few_or_poor_points_give_notes_not_numbers() {
        let two = [point(Mode::Serial, 1, 1.0), point(Mode::Parallel, 1, 1.0)];
        let fit = Fit::of(&two, 1);
        assert!(fit.cost.is_none() && fit.serial.is_none() && fit.parallel.is_none());
        assert_eq!(fit.notes.len(), 3, "{:?}", fit.notes);
        assert!(fit.summary().iter().all(|l| l.starts_with("note: ")));
        // Noise around a constant: a line in L explains nothing.
        let noise: Vec<Point> = (1..=8)
            .map(|l| point(Mode::Serial, l, 5.0 + wobble(l, 1.0)))
            .collect();
        let fit = Fit::of(&noise, 1);
        assert!(fit.serial.is_none());
        assert!(
            fit.notes.iter().any(|n| n.contains("below 0.9")),
            "{:?}",
            fit.notes
        );
    }
}
