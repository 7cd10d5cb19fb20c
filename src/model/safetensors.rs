//! A strict reader and a writer for the safetensors format (8-byte little-endian
//! header length, a JSON header, then raw little-endian tensor data). Written here
//! so that every malformed file gets a message naming the exact problem.

use std::collections::BTreeMap;

use half::{bf16, f16};
use serde_json::{Map, Value};

use crate::Error;

/// Element types this project reads; all are converted to f32. Checkpoints hold floats;
/// `U8` is for data sets (pixels and labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    BF16,
    F64,
    U8,
}

impl Dtype {
    pub fn parse(s: &str) -> Option<Dtype> {
        match s {
            "F32" => Some(Dtype::F32),
            "F16" => Some(Dtype::F16),
            "BF16" => Some(Dtype::BF16),
            "F64" => Some(Dtype::F64),
            "U8" => Some(Dtype::U8),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::F64 => "F64",
            Dtype::U8 => "U8",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            Dtype::F64 => 8,
            Dtype::U8 => 1,
        }
    }

    pub fn is_float(self) -> bool {
        self != Dtype::U8
    }
}

/// One tensor as stored in the file.
#[derive(Clone, Debug)]
pub struct TensorView<'a> {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: &'a [u8],
}

impl TensorView<'_> {
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            Dtype::F32 => self
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => self
                .data
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => self
                .data
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::F64 => self
                .data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("chunk of 8")) as f32)
                .collect(),
            Dtype::U8 => self.data.iter().map(|&b| f32::from(b)).collect(),
        }
    }
}

/// A parsed safetensors file borrowing its bytes.
#[derive(Debug)]
pub struct TensorFile<'a> {
    pub metadata: BTreeMap<String, String>,
    pub tensors: BTreeMap<String, TensorView<'a>>,
}

/// Headers larger than this are refused before any allocation (real ones are kilobytes).
const MAX_HEADER: u64 = 100 << 20;

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::Checkpoint(format!("not a valid safetensors file: {msg}"))
}

pub fn parse(bytes: &[u8]) -> Result<TensorFile<'_>, Error> {
    if bytes.is_empty() {
        return Err(bad("the file is empty"));
    }
    for (magic, what) in [
        (
            &b"PK\x03\x04"[..],
            "a ZIP archive, as PyTorch's torch.save writes (.pt/.pth): \
             convert it with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')",
        ),
        (
            &b"\x80\x02"[..],
            "a Python pickle: convert it to safetensors",
        ),
        (&b"\x89PNG"[..], "a PNG picture, not a checkpoint"),
        (&[0xFF, 0xD8, 0xFF][..], "a JPEG picture, not a checkpoint"),
    ] {
        if bytes.starts_with(magic) {
            return Err(bad(format!("the file is {what}")));
        }
    }
    if bytes.len() < 8 {
        return Err(bad(format!(
            "{} bytes is shorter than the 8-byte header length",
            bytes.len()
        )));
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if header_len > MAX_HEADER {
        return Err(bad(format!(
            "header length {header_len} exceeds the {MAX_HEADER} bytes allowed"
        )));
    }
    let header_end = 8 + header_len as usize;
    if header_end > bytes.len() {
        return Err(bad(format!(
            "header of {header_len} bytes runs past the end of the {}-byte file (truncated?)",
            bytes.len()
        )));
    }
    let header: Value = serde_json::from_slice(&bytes[8..header_end])
        .map_err(|e| bad(format!("header is not JSON: {e}")))?;
    let Value::Object(entries) = header else {
        return Err(bad("header is not a JSON object"));
    };
    let data = &bytes[header_end..];
    let mut metadata = BTreeMap::new();
    let mut tensors = BTreeMap::new();
    for (name, entry) in entries {
        if name == "__metadata__" {
            let Value::Object(m) = entry else {
                return Err(bad("__metadata__ is not an object of strings"));
            };
            for (k, v) in m {
                let Value::String(s) = v else {
                    return Err(bad(format!("metadata value of '{k}' is not a string")));
                };
                metadata.insert(k, s);
            }
            continue;
        }
        let view = parse_entry(&name, &entry, data)?;
        tensors.insert(name, view);
    }
    Ok(TensorFile { metadata, tensors })
}

fn parse_entry<'a>(name: &str, entry: &Value, data: &'a [u8]) -> Result<TensorView<'a>, Error> {
    let field = |key: &str| {
        entry
            .get(key)
            .ok_or_else(|| bad(format!("tensor '{name}' lacks the field '{key}'")))
    };
    let dtype_name = field("dtype")?
        .as_str()
        .ok_or_else(|| bad(format!("tensor '{name}': dtype is not a string")))?;
    let dtype = Dtype::parse(dtype_name).ok_or_else(|| {
        Error::Checkpoint(format!(
            "tensor '{name}' has unsupported dtype {dtype_name}: allowed are F32, F16, BF16, F64, U8"
        ))
    })?;
    let shape = usize_list(field("shape")?)
        .ok_or_else(|| bad(format!("tensor '{name}': shape is not a list of sizes")))?;
    let offsets = usize_list(field("data_offsets")?)
        .filter(|o| o.len() == 2)
        .ok_or_else(|| bad(format!("tensor '{name}': data_offsets is not [begin, end]")))?;
    let (begin, end) = (offsets[0], offsets[1]);
    if begin > end || end > data.len() {
        return Err(bad(format!(
            "tensor '{name}' spans bytes {begin}..{end} but the data section has {} bytes (truncated?)",
            data.len()
        )));
    }
    let count = shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .and_then(|n| n.checked_mul(dtype.size()));
    if count != Some(end - begin) {
        return Err(bad(format!(
            "tensor '{name}' of shape {shape:?} and dtype {dtype_name} needs {} bytes but spans {}",
            count.map_or("too many".to_string(), |c| c.to_string()),
            end - begin
        )));
    }
    Ok(TensorView {
        dtype,
        shape,
        data: &data[begin..end],
    })
}

fn usize_list(v: &Value) -> Option<Vec<usize>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_u64().and_then(|n| usize::try_from(n).ok()))
        .collect()
}

/// Serialises tensors (converted to `dtype`) with string metadata.
pub fn write(
    tensors: &[(String, Vec<usize>, &[f32])],
    metadata: &BTreeMap<String, String>,
    dtype: Dtype,
) -> Vec<u8> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        let m: Map<String, Value> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        header.insert("__metadata__".into(), Value::Object(m));
    }
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let begin = data.len();
        for &v in values.iter() {
            match dtype {
                Dtype::F32 => data.extend_from_slice(&v.to_le_bytes()),
                Dtype::F16 => data.extend_from_slice(&f16::from_f32(v).to_le_bytes()),
                Dtype::BF16 => data.extend_from_slice(&bf16::from_f32(v).to_le_bytes()),
                Dtype::F64 => data.extend_from_slice(&(v as f64).to_le_bytes()),
                // Saturating: values outside 0..=255 clamp, fractions round.
                Dtype::U8 => data.push(v.round() as u8),
            }
        }
        let entry = serde_json::json!({
            "dtype": dtype.name(),
            "shape": shape,
            "data_offsets": [begin, data.len()],
        });
        header.insert(name.clone(), entry);
    }
    let mut json = serde_json::to_vec(&Value::Object(header)).expect("JSON of strings and numbers");
    // Pad so the data section starts 8-byte aligned, as the format recommends.
    while !(8 + json.len()).is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_every_dtype() {
        let values = [1.5f32, -2.0, 0.25, 3.0, 0.0, -0.5];
        let meta = BTreeMap::from([("k".to_string(), "v".to_string())]);
        for dtype in [Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::F64] {
            let bytes = write(&[("t".into(), vec![2, 3], &values[..])], &meta, dtype);
            let f = parse(&bytes).unwrap();
            assert_eq!(f.metadata, meta);
            let t = &f.tensors["t"];
            assert_eq!((t.dtype, t.shape.clone()), (dtype, vec![2, 3]));
            assert_eq!(t.to_f32(), values);
        }
    }

    #[test]
    fn malformed_files_are_named() {
        let bytes = write(
            &[("t".into(), vec![4], &[1.0f32; 4][..])],
            &BTreeMap::new(),
            Dtype::F32,
        );
        let msg = |b: &[u8]| parse(b).unwrap_err().to_string();
        assert!(msg(&[]).contains("empty"));
        assert!(msg(&bytes[..5]).contains("shorter than the 8-byte"));
        assert!(msg(&bytes[..20]).contains("runs past the end"));
        assert!(msg(&bytes[..bytes.len() - 1]).contains("truncated"));
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(msg(&huge).contains("exceeds"));
        let text = b"\x05\0\0\0\0\0\0\0hello";
        assert!(msg(text).contains("not JSON"));
        let int8 = br#"{"t":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#;
        let mut f = (int8.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(int8);
        f.push(0);
        assert!(msg(&f).contains("unsupported dtype I8"));
    }
}
