//! The engine's storage precision: the element type of every device buffer. Arithmetic is
//! f32 in both: the shaders convert each value they load and round each value they store
//! (define `F16`). The conversions between the host's f32 and the device's bytes are here.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// What every buffer of an engine holds: weights, activations, the image and the logits.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    /// Needs the adapter's SHADER_F16 feature (WebGPU's `shader-f16`).
    F16,
}

impl Precision {
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::F16];

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    /// Bytes of one value on the device.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }

    /// Bytes of a device buffer of `len` values: whole 4-byte words, as buffer writes and
    /// copies need.
    pub fn buffer_bytes(self, len: usize) -> u64 {
        (self.bytes() * len as u64).next_multiple_of(4)
    }

    /// The shader define that selects this precision, if any.
    pub fn define(self) -> Option<&'static str> {
        match self {
            Precision::F32 => None,
            Precision::F16 => Some("F16"),
        }
    }

    /// `values` as the device holds them: f32 as they are (no copy on the path of every
    /// run; the targets are little-endian, as WGSL storage is), f16 converted.
    pub fn encode(self, values: &[f32]) -> Cow<'_, [u8]> {
        match self {
            Precision::F32 => Cow::Borrowed(bytemuck::cast_slice(values)),
            Precision::F16 => values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        }
    }

    /// Values read back from the device (a trailing partial value is ignored).
    pub fn decode(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            Precision::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Precision::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        }
    }

    /// `v` as this precision stores it: what a value is after an upload and a read-back.
    pub fn round(self, v: f32) -> f32 {
        match self {
            Precision::F32 => v,
            Precision::F16 => half::f16::from_f32(v).to_f32(),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Precision, Error> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| Error::Usage(format!("precision '{s}': allowed are f32 and f16")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_the_round_trip_at_their_precision() {
        let v = [0.0f32, 1.0, -2.5, 1e-3, 65504.0, 0.1];
        assert_eq!(Precision::F32.decode(&Precision::F32.encode(&v)), v);
        let back = Precision::F16.decode(&Precision::F16.encode(&v));
        assert_eq!(Precision::F16.encode(&v).len(), 2 * v.len());
        for (a, b) in v.iter().zip(&back) {
            assert_eq!(*b, Precision::F16.round(*a));
            assert!((a - b).abs() <= a.abs() * 1e-3, "{a} {b}");
        }
        assert_ne!(back[5], v[5], "f16 rounds");
    }

    #[test]
    fn names_parse_back_and_others_are_refused() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>(), Ok(p));
        }
        let e = "bf16".parse::<Precision>().unwrap_err().to_string();
        assert!(e.contains("'bf16'") && e.contains("f32 and f16"), "{e}");
    }
}
