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
}
