//! Elementwise math of the CPU engine's epilogues, written so that the compiler vectorises
//! the loops that call it: no calls into libm, no branches (clamps lower to min/max), and
//! approximations whose error bounds `tests` checks against libm on dense grids.

/// erf(x) = x P(x^2) / Q(x^2) for |x| <= 4, fitted by least squares with weights pushed
/// toward the largest error (absolute error under 1e-6 evaluated in f32). Beyond 4,
/// 1 - erf(x) < 2e-8: erf is +-1 in f32. The leading term is erf's slope at 0, 2 / sqrt(pi).
const ERF_P: [f32; 6] = [
    std::f32::consts::FRAC_2_SQRT_PI,
    0.196_249_9,
    0.053_467_704,
    0.004_003_728_4,
    0.000_288_049,
    1.974_883_3e-6,
];
const ERF_Q: [f32; 6] = [
    1.0,
    0.507_253_1,
    0.116_476_9,
    0.015_444_567,
    0.001_216_391_8,
    3.748_184_4e-5,
];

fn horner(c: &[f32], x: f32) -> f32 {
    c.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// The error function (see `ERF_P`); NaN stays NaN.
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    x * horner(&ERF_P, x2) / horner(&ERF_Q, x2)
}

/// Exact GELU, x * Phi(x) with the error function, as the spec and the shaders have it.
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// 1.5 * 2^23: adding it rounds an f32 of magnitude below 2^22 to an integer, which then
/// sits in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// e^x for x in [-87, 88] (clamped outside, so tiny results flush toward 1e-38 rather than
/// to 0): x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^7 (relative error
/// under 3e-7), 2^n put into the exponent bits.
pub fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    const TAYLOR: [f32; 8] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
    ];
    let p = horner(&TAYLOR, r);
    // n in [-126, 127] after the clamp: a normal exponent.
    let k = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    p * f32::from_bits(((k + 127) as u32) << 23)
}

/// Lanes of the reductions below: independent partial results the compiler keeps in one
/// vector register instead of a chain of dependent adds.
const ACC: usize = 8;

/// Sum of `f(v)` over `x`, in `ACC` interleaved partial sums.
pub fn sum_by(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; ACC];
    let chunks = x.chunks_exact(ACC);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().sum::<f32>() + tail.iter().map(|&v| f(v)).sum::<f32>()
}

/// Largest value of `x` (-inf when empty), in `ACC` interleaved partial maxima.
pub fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; ACC];
    let chunks = x.chunks_exact(ACC);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter()
        .chain(tail)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f32 / n as f32)
    }

    #[test]
    fn erf_and_gelu_match_libm() {
        let worst = grid(-8.0, 8.0, 400_000)
            .map(|x| (erf(x) as f64 - libm::erf(x as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "erf error {worst}");
        for x in grid(-12.0, 12.0, 100_000) {
            let want = 0.5 * x as f64 * (1.0 + libm::erf(x as f64 / std::f64::consts::SQRT_2));
            // |x| / 2 times erf's error bound, plus f32 rounding.
            let err = (gelu(x) as f64 - want).abs();
            assert!(
                err <= 5e-7 * x.abs().max(1.0) as f64,
                "gelu({x}) error {err}"
            );
        }
        assert!(erf(f32::NAN).is_nan());
        assert_eq!(gelu(0.0), 0.0);
    }

    #[test]
    fn exp_matches_libm() {
        for x in grid(-87.0, 88.0, 400_000) {
            let want = libm::exp(x as f64);
            let rel = (exp(x) as f64 - want).abs() / want;
            assert!(rel < 5e-7, "exp({x}) relative error {rel}");
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1e4) < 1e-37 && exp(-1e4) >= 0.0);
    }

    #[test]
    fn reductions_cover_every_element() {
        for n in [0, 1, 7, 8, 9, 65, 192] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
            let plain: f32 = x.iter().map(|v| v * v).sum();
            assert!(
                (sum_by(&x, |v| v * v) - plain).abs() <= 1e-4 * plain.max(1.0),
                "n {n}"
            );
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max(&x), m, "n {n}");
        }
    }
}
