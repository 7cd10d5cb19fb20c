//! Summary statistics of latency samples: the one quantile every figure is computed with.

use serde::{Deserialize, Serialize};

/// Summary of one set of samples, in milliseconds. Percentiles interpolate linearly
/// between order statistics (numpy's default), so p10 <= median <= p90 always.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: usize,
    pub median_ms: f64,
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// The q-quantile (0..=1) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of no samples");
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The median of unsorted values (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    quantile(&s, 0.5)
}

impl Stats {
    /// None for no samples.
    pub fn of(samples_ms: &[f64]) -> Option<Stats> {
        if samples_ms.is_empty() {
            return None;
        }
        let mut s = samples_ms.to_vec();
        s.sort_by(f64::total_cmp);
        Some(Stats {
            n: s.len(),
            median_ms: quantile(&s, 0.5),
            p10_ms: quantile(&s, 0.1),
            p90_ms: quantile(&s, 0.9),
            min_ms: s[0],
            max_ms: s[s.len() - 1],
            mean_ms: s.iter().sum::<f64>() / s.len() as f64,
        })
    }
}

/// Runs to time back to back in one sample so that it lasts about `min_ms` (a clock's grain
/// can be coarser than one run), from `probe_runs` back-to-back runs that took `probe_ms`:
/// at least 1, at most `max`.
pub fn runs_to_cover(min_ms: f64, probe_ms: f64, probe_runs: usize, max: usize) -> usize {
    let per_run = probe_ms / probe_runs.max(1) as f64;
    (min_ms / per_run.max(1e-9)).ceil().clamp(1.0, max as f64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_samples() {
        let s = Stats::of(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(
            (s.n, s.median_ms, s.min_ms, s.max_ms, s.mean_ms),
            (5, 3.0, 1.0, 5.0, 3.0)
        );
        assert!((s.p10_ms - 1.4).abs() < 1e-12 && (s.p90_ms - 4.6).abs() < 1e-12);
        let even = Stats::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(even.median_ms, 2.5);
        let one = Stats::of(&[7.0]).unwrap();
        assert_eq!((one.p10_ms, one.median_ms, one.p90_ms), (7.0, 7.0, 7.0));
        assert!(Stats::of(&[]).is_none());
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
    }

    #[test]
    fn runs_to_cover_the_shortest_sample() {
        // 4 runs in 2 ms: 0.5 ms each, so 2 ms take 4 and 2.1 ms take 5.
        assert_eq!(runs_to_cover(2.0, 2.0, 4, 1000), 4);
        assert_eq!(runs_to_cover(2.1, 2.0, 4, 1000), 5);
        // A run longer than the sample is one run per sample.
        assert_eq!(runs_to_cover(2.0, 6.0, 1, 1000), 1);
        // Runs too short to time are bounded, and no probe runs cannot divide by zero.
        assert_eq!(runs_to_cover(2.0, 0.0, 1000, 1000), 1000);
        assert_eq!(runs_to_cover(2.0, 0.0, 10, 10_000), 10_000);
        assert_eq!(runs_to_cover(2.0, 1.0, 0, 1000), 2);
    }
}
