//! Bad checkpoints and inputs, each with the words a user must see. The library tests and
//! the CLI tests run the same list, so both report the same problems.

use std::collections::BTreeMap;

use paraformer::model::{self, CONFIG_KEY, Config, SaveOptions, Weights, safetensors};

/// A small model: the mnist preset with two branches.
pub fn small() -> Config {
    Config {
        branches: 2,
        ..Config::preset("mnist").unwrap()
    }
}

pub fn weights() -> Weights {
    Weights::seeded(&small(), 5)
}

/// A valid checkpoint of `weights()` with its metadata.
pub fn good_checkpoint() -> Vec<u8> {
    model::save(&weights(), SaveOptions::default())
}

/// Writes `w`'s tensors, optionally renamed or dropped, with the given metadata.
fn write(
    w: &Weights,
    metadata: &BTreeMap<String, String>,
    edit: impl Fn(&str) -> Option<String>,
    extra: &[(&str, Vec<usize>, Vec<f32>)],
) -> Vec<u8> {
    let mut tensors: Vec<(String, Vec<usize>, &[f32])> = model::tensor_names(&w.config)
        .into_iter()
        .zip(w.tensor_list())
        .filter_map(|((n, s), t)| edit(&n).map(|n| (n, s, t)))
        .collect();
    for (n, s, t) in extra {
        tensors.push((n.to_string(), s.clone(), t));
    }
    safetensors::write(&tensors, metadata, safetensors::Dtype::F32)
}

fn metadata(c: &Config) -> BTreeMap<String, String> {
    BTreeMap::from([(CONFIG_KEY.to_string(), serde_json::to_string(c).unwrap())])
}

/// A bad checkpoint: what it is, its bytes, and the text the error must contain.
pub struct Case {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub error: &'static str,
}

/// Checkpoints that must be refused.
pub fn bad_checkpoints() -> Vec<Case> {
    let w = weights();
    let good = good_checkpoint();
    let keep = |n: &str| Some(n.to_string());
    let mut wrong_dtype = good.clone();
    let at = find(&wrong_dtype, b"\"F32\"");
    wrong_dtype[at..at + 5].copy_from_slice(b"\"I32\"");
    let mut wrong_shape = w.clone();
    wrong_shape.head_b.push(0.0);
    let shape_bytes = {
        let mut tensors: Vec<(String, Vec<usize>, &[f32])> = model::tensor_names(&w.config)
            .into_iter()
            .zip(wrong_shape.tensor_list())
            .map(|((n, s), t)| (n, s, t))
            .collect();
        let last = tensors.last_mut().unwrap();
        last.1 = vec![11];
        safetensors::write(&tensors, &metadata(&w.config), safetensors::Dtype::F32)
    };
    let wider = Config {
        dim: 72,
        dim_head: 18,
        ..small()
    };
    let mut bad_json = metadata(&w.config);
    bad_json.insert(CONFIG_KEY.into(), "{\"dim\": 64".into());
    vec![
        Case {
            name: "empty",
            bytes: Vec::new(),
            error: "not a valid safetensors file: the file is empty",
        },
        Case {
            name: "text",
            bytes: b"hello, this is not a checkpoint at all".to_vec(),
            error: "not a valid safetensors file: header length",
        },
        Case {
            name: "pytorch-zip",
            bytes: b"PK\x03\x04 archive/data.pkl".to_vec(),
            error: "the file is a ZIP archive, as PyTorch's torch.save writes",
        },
        Case {
            name: "truncated",
            bytes: good[..good.len() - 100].to_vec(),
            error: "(truncated?)",
        },
        Case {
            name: "header-only",
            bytes: good[..20].to_vec(),
            error: "runs past the end of the",
        },
        Case {
            name: "missing-tensor",
            bytes: write(
                &w,
                &metadata(&w.config),
                |n| (n != "mlp_head.1.bias").then(|| n.to_string()),
                &[],
            ),
            error: "checkpoint lacks tensor 'mlp_head.1.bias' (expected shape [10])",
        },
        Case {
            name: "wrong-shape",
            bytes: shape_bytes,
            error: "tensor 'mlp_head.1.bias' has shape [11], expected [10] from the config in its metadata",
        },
        Case {
            name: "unsupported-dtype",
            bytes: wrong_dtype,
            error: "has unsupported dtype I32: allowed are F32, F16, BF16, F64, U8",
        },
        Case {
            name: "metadata-disagrees",
            bytes: write(&w, &metadata(&wider), keep, &[]),
            error: "has shape [64, 49], expected [72, 49] from the config in its metadata",
        },
        Case {
            name: "metadata-not-json",
            bytes: write(&w, &bad_json, keep, &[]),
            error: "metadata 'paraformer.config' is not a valid config",
        },
        Case {
            name: "no-metadata-no-flags",
            bytes: write(&w, &BTreeMap::new(), keep, &[]),
            error: "give --heads, --dim-head, --patch so the model can be rebuilt",
        },
        Case {
            name: "invalid-model",
            bytes: write(
                &w,
                &metadata(&Config {
                    patch: 5,
                    ..small()
                }),
                keep,
                &[],
            ),
            error: "checkpoint describes an invalid model: invalid config: image_height 28 is not divisible by patch 5",
        },
    ]
}

/// A checkpoint that loads with warnings: an extra tensor and non-finite values.
pub fn warned_checkpoint() -> (Vec<u8>, [&'static str; 2]) {
    let mut w = weights();
    w.patch_b[3] = f32::NAN;
    w.patch_b[4] = f32::INFINITY;
    let bytes = write(
        &w,
        &metadata(&w.config),
        |n| Some(n.to_string()),
        &[("optimizer.step", vec![1], vec![7.0])],
    );
    (
        bytes,
        [
            "checkpoint has 1 tensor this model does not use, ignored: optimizer.step",
            "tensor 'to_patch_embedding.1.bias' has 2 NaN or infinite values",
        ],
    )
}

/// Inputs for `small()` that must be refused.
pub fn bad_inputs() -> Vec<Case> {
    let c = small();
    let image = |shape: Vec<usize>, values: Vec<f32>| {
        safetensors::write(
            &[("image".to_string(), shape, values.as_slice())],
            &BTreeMap::new(),
            safetensors::Dtype::F32,
        )
    };
    let mut nan = model::seeded_image(&c, 1);
    nan[5] = f32::NAN;
    vec![
        Case {
            name: "wrong-size",
            bytes: image(vec![1, 27, 28], vec![0.0; 27 * 28]),
            error: "input tensor 'image' has shape [1, 27, 28], the model needs [1, 28, 28] (channels, height, width)",
        },
        Case {
            name: "wrong-channels",
            bytes: image(vec![3, 28, 28], vec![0.0; 3 * 28 * 28]),
            error: "input tensor 'image' has shape [3, 28, 28], the model needs [1, 28, 28]",
        },
        Case {
            name: "no-image-tensor",
            bytes: safetensors::write(
                &[("pixels".to_string(), vec![1], &[0.0f32][..])],
                &BTreeMap::new(),
                safetensors::Dtype::F32,
            ),
            error: "input file has no tensor 'image' (it has: pixels)",
        },
        Case {
            name: "unreadable-picture",
            bytes: b"\x89PNG\r\n\x1a\n this is no picture".to_vec(),
            error: "cannot decode the picture",
        },
        Case {
            name: "not-an-image-file",
            bytes: b"GIF89a and then nothing".to_vec(),
            error: "input is neither a PNG/JPEG picture nor a safetensors file",
        },
        Case {
            name: "nan",
            bytes: image(vec![1, 28, 28], nan),
            error: "image value 5 is NaN: inputs must be finite numbers",
        },
    ]
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}
