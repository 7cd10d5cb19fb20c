//! Checkpoints in the spec's safetensors layout. The config travels as JSON in the
//! metadata key `paraformer.config`; files written by the reference PyTorch code
//! lack it, and then the shapes plus the user's `heads`, `dim_head` and `patch` tell it.

use std::collections::BTreeMap;

use super::safetensors::{self, Dtype, TensorFile};
use super::{BlockWeights, Config, Pool, Weights};
use crate::Error;

/// Metadata key holding the config as JSON.
pub const CONFIG_KEY: &str = "paraformer.config";

/// What the user supplies for a checkpoint without metadata (the CLI's
/// `--heads`, `--dim-head`, `--patch`, `--pool`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    pub heads: Option<usize>,
    pub dim_head: Option<usize>,
    pub patch: Option<usize>,
    pub pool: Option<Pool>,
}

/// A loaded checkpoint and what the user should know about it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub weights: Weights,
    pub warnings: Vec<String>,
}

/// How to write a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveOptions {
    pub dtype: Dtype,
    /// Include `paraformer.config`; without it the file looks like the reference's.
    pub metadata: bool,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            dtype: Dtype::F32,
            metadata: true,
        }
    }
}

fn block_prefix(k: usize, j: usize, mlp: bool) -> String {
    format!("paratransformer.blocks.{k}.{}", 2 * j + usize::from(mlp))
}

/// Every tensor name with its shape, in the order `Weights::tensor_list` uses.
pub fn tensor_names(c: &Config) -> Vec<(String, Vec<usize>)> {
    tensor_name_iter(c).collect()
}

/// `tensor_names` one at a time, so a file can be checked against a huge model without
/// building all its names.
fn tensor_name_iter(c: &Config) -> impl Iterator<Item = (String, Vec<usize>)> + '_ {
    let (d, i, m, t) = (c.dim, c.inner(), c.mlp_dim, c.tokens());
    let embed = [
        (
            "to_patch_embedding.1.weight".to_string(),
            vec![d, c.patch_len()],
        ),
        ("to_patch_embedding.1.bias".to_string(), vec![d]),
        ("cls_token".to_string(), vec![1, 1, d]),
        ("pos_embedding".to_string(), vec![1, t, d]),
    ];
    let blocks = (0..c.branches).flat_map(move |k| {
        (0..c.depth).flat_map(move |j| {
            let a = block_prefix(k, j, false);
            let b = block_prefix(k, j, true);
            [
                (format!("{a}.norm.weight"), vec![d]),
                (format!("{a}.norm.bias"), vec![d]),
                (format!("{a}.fn.to_qkv.weight"), vec![3 * i, d]),
                (format!("{a}.fn.to_out.0.weight"), vec![d, i]),
                (format!("{a}.fn.to_out.0.bias"), vec![d]),
                (format!("{b}.norm.weight"), vec![d]),
                (format!("{b}.norm.bias"), vec![d]),
                (format!("{b}.fn.net.0.weight"), vec![m, d]),
                (format!("{b}.fn.net.0.bias"), vec![m]),
                (format!("{b}.fn.net.3.weight"), vec![d, m]),
                (format!("{b}.fn.net.3.bias"), vec![d]),
            ]
        })
    });
    let head = [
        ("mlp_head.0.weight".to_string(), vec![d]),
        ("mlp_head.0.bias".to_string(), vec![d]),
        ("mlp_head.1.weight".to_string(), vec![c.num_classes, d]),
        ("mlp_head.1.bias".to_string(), vec![c.num_classes]),
    ];
    embed.into_iter().chain(blocks).chain(head)
}

impl Weights {
    /// The tensors in `tensor_names` order.
    pub fn tensor_list(&self) -> Vec<&[f32]> {
        let mut v: Vec<&[f32]> = vec![&self.patch_w, &self.patch_b, &self.cls, &self.pos];
        for b in &self.blocks {
            v.extend(b.tensors(&self.config).map(|(_, _, t)| t.as_slice()));
        }
        v.extend([
            self.head_ln_w.as_slice(),
            &self.head_ln_b,
            &self.head_w,
            &self.head_b,
        ]);
        v
    }

    /// Builds weights from tensors in `tensor_names` order (shapes already checked).
    fn from_list(config: Config, list: Vec<Vec<f32>>) -> Weights {
        let mut it = list.into_iter();
        let mut next = || it.next().expect("tensor_names and from_list agree");
        let (patch_w, patch_b, cls, pos) = (next(), next(), next(), next());
        let blocks = (0..config.blocks())
            .map(|_| BlockWeights {
                ln_a_w: next(),
                ln_a_b: next(),
                wqkv: next(),
                wo: next(),
                bo: next(),
                ln_b_w: next(),
                ln_b_b: next(),
                w1: next(),
                b1: next(),
                w2: next(),
                b2: next(),
            })
            .collect();
        Weights {
            patch_w,
            patch_b,
            cls,
            pos,
            blocks,
            head_ln_w: next(),
            head_ln_b: next(),
            head_w: next(),
            head_b: next(),
            config,
        }
    }
}

/// Writes a checkpoint in the spec's layout.
pub fn save(weights: &Weights, options: SaveOptions) -> Vec<u8> {
    let names = tensor_names(&weights.config);
    let tensors: Vec<(String, Vec<usize>, &[f32])> = names
        .into_iter()
        .zip(weights.tensor_list())
        .map(|((n, s), t)| (n, s, t))
        .collect();
    let mut meta = BTreeMap::new();
    if options.metadata {
        let json = serde_json::to_string(&weights.config).expect("config serialises");
        meta.insert(CONFIG_KEY.to_string(), json);
        meta.insert("format".to_string(), "pt".to_string());
    }
    safetensors::write(&tensors, &meta, options.dtype)
}

/// Reads a checkpoint: shapes, names and dtypes are checked against the config.
pub fn load(bytes: &[u8], hints: &Hints) -> Result<Loaded, Error> {
    let file = safetensors::parse(bytes)?;
    let mut warnings = Vec::new();
    let config = match file.metadata.get(CONFIG_KEY) {
        Some(json) => {
            let mut c: Config = serde_json::from_str(json).map_err(|e| {
                Error::Checkpoint(format!(
                    "metadata '{CONFIG_KEY}' is not a valid config: {e}"
                ))
            })?;
            check_hints_agree(&c, hints)?;
            if let Some(pool) = hints.pool {
                c.pool = pool;
            }
            c
        }
        None => infer_config(&file, hints)?,
    };
    config
        .validate()
        .map_err(|e| Error::Checkpoint(format!("checkpoint describes an invalid model: {e}")))?;
    let needed = 8 + 11 * config.blocks();
    if file.tensors.len() < needed {
        // Some name is missing among the first len + 1: found without listing a huge model.
        let (name, shape) = tensor_name_iter(&config)
            .find(|(n, _)| !file.tensors.contains_key(n))
            .expect("fewer tensors than names");
        return Err(Error::Checkpoint(format!(
            "checkpoint lacks tensor '{name}' (expected shape {shape:?}); it has {} tensors, \
             the model it describes ({} branches of depth {}) needs {needed}",
            file.tensors.len(),
            config.branches,
            config.depth
        )));
    }
    let names = tensor_names(&config);
    let mut list = Vec::with_capacity(names.len());
    for (name, shape) in &names {
        let t = file.tensors.get(name).ok_or_else(|| {
            Error::Checkpoint(format!(
                "checkpoint lacks tensor '{name}' (expected shape {shape:?})"
            ))
        })?;
        if !t.dtype.is_float() {
            return Err(Error::Checkpoint(format!(
                "tensor '{name}' has dtype {}: checkpoint tensors must be F32, F16, BF16 or F64",
                t.dtype.name()
            )));
        }
        if &t.shape != shape {
            let source = if file.metadata.contains_key(CONFIG_KEY) {
                "the config in its metadata"
            } else {
                "the shapes and flags"
            };
            return Err(Error::Checkpoint(format!(
                "tensor '{name}' has shape {:?}, expected {shape:?} from {source}",
                t.shape
            )));
        }
        let values = t.to_f32();
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            warnings.push(format!("tensor '{name}' has {bad} NaN or infinite values"));
        }
        list.push(values);
    }
    let known: std::collections::BTreeSet<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    let extra: Vec<&str> = file
        .tensors
        .keys()
        .map(String::as_str)
        .filter(|n| !known.contains(n))
        .collect();
    if !extra.is_empty() {
        let (n, noun) = match extra.len() {
            1 => (1, "tensor"),
            n => (n, "tensors"),
        };
        warnings.push(format!(
            "checkpoint has {n} {noun} this model does not use, ignored: {}",
            extra.join(", ")
        ));
    }
    Ok(Loaded {
        weights: Weights::from_list(config, list),
        warnings,
    })
}

fn check_hints_agree(c: &Config, hints: &Hints) -> Result<(), Error> {
    let pairs = [
        ("--heads", hints.heads, c.heads),
        ("--dim-head", hints.dim_head, c.dim_head),
        ("--patch", hints.patch, c.patch),
    ];
    for (flag, given, stored) in pairs {
        if let Some(g) = given
            && g != stored
        {
            return Err(Error::Checkpoint(format!(
                "{flag} {g} disagrees with the checkpoint's metadata ({stored}); drop the flag or fix the file"
            )));
        }
    }
    Ok(())
}

fn shape_of<'a>(file: &'a TensorFile, name: &str) -> Result<&'a [usize], Error> {
    file.tensors
        .get(name)
        .map(|t| t.shape.as_slice())
        .ok_or_else(|| Error::Checkpoint(format!("checkpoint lacks tensor '{name}'")))
}

fn dim_of(file: &TensorFile, name: &str, axis: usize, rank: usize) -> Result<usize, Error> {
    let s = shape_of(file, name)?;
    if s.len() != rank {
        return Err(Error::Checkpoint(format!(
            "tensor '{name}' has shape {s:?}: expected {rank} dimensions"
        )));
    }
    Ok(s[axis])
}

/// The reference's checkpoints carry no config: read what the shapes tell and take
/// heads, head dim and patch size from the user.
fn infer_config(file: &TensorFile, hints: &Hints) -> Result<Config, Error> {
    let missing: Vec<&str> = [
        ("--heads", hints.heads.is_none()),
        ("--dim-head", hints.dim_head.is_none()),
        ("--patch", hints.patch.is_none()),
    ]
    .into_iter()
    .filter_map(|(f, m)| m.then_some(f))
    .collect();
    if !missing.is_empty() {
        return Err(Error::Checkpoint(format!(
            "checkpoint has no '{CONFIG_KEY}' metadata (as the reference PyTorch code writes them): \
             give {} so the model can be rebuilt from its tensor shapes",
            missing.join(", ")
        )));
    }
    let (heads, dim_head, patch) = (
        hints.heads.unwrap_or_default(),
        hints.dim_head.unwrap_or_default(),
        hints.patch.unwrap_or_default(),
    );
    if patch == 0 {
        return Err(Error::Checkpoint("--patch must be at least 1".into()));
    }
    let dim = dim_of(file, "to_patch_embedding.1.weight", 0, 2)?;
    let patch_len = dim_of(file, "to_patch_embedding.1.weight", 1, 2)?;
    if patch_len % (patch * patch) != 0 {
        return Err(Error::Checkpoint(format!(
            "patch vectors have length {patch_len}, not a multiple of patch*patch = {}: is --patch {patch} right?",
            patch * patch
        )));
    }
    let channels = patch_len / (patch * patch);
    let tokens = dim_of(file, "pos_embedding", 1, 3)?;
    let patches = tokens.saturating_sub(1);
    let side = (patches as f64).sqrt().round() as usize;
    if side * side != patches || patches == 0 {
        return Err(Error::Checkpoint(format!(
            "pos_embedding has {tokens} tokens, i.e. {patches} patches, which is not a square grid: \
             non-square images need a checkpoint with '{CONFIG_KEY}' metadata"
        )));
    }
    let count = |f: &dyn Fn(usize) -> String| {
        (0..)
            .take_while(|&i| file.tensors.contains_key(&f(i)))
            .count()
    };
    let branches = count(&|k| format!("{}.norm.weight", block_prefix(k, 0, false)));
    let depth = count(&|j| format!("{}.norm.weight", block_prefix(0, j, false)));
    if branches == 0 {
        return Err(Error::Checkpoint(format!(
            "checkpoint lacks tensor '{}.norm.weight': no transformer blocks found",
            block_prefix(0, 0, false)
        )));
    }
    let mlp_dim = dim_of(
        file,
        &format!("{}.fn.net.0.weight", block_prefix(0, 0, true)),
        0,
        2,
    )?;
    let qkv_rows = dim_of(
        file,
        &format!("{}.fn.to_qkv.weight", block_prefix(0, 0, false)),
        0,
        2,
    )?;
    if qkv_rows != 3 * heads * dim_head {
        return Err(Error::Checkpoint(format!(
            "--heads {heads} x --dim-head {dim_head} = {} does not match the checkpoint: its to_qkv \
             weight has {qkv_rows} rows = 3 x {:.1}, so heads x dim_head must be {}",
            heads * dim_head,
            qkv_rows as f64 / 3.0,
            qkv_rows / 3
        )));
    }
    let num_classes = dim_of(file, "mlp_head.1.weight", 0, 2)?;
    Ok(Config {
        image_height: side * patch,
        image_width: side * patch,
        channels,
        patch,
        dim,
        heads,
        dim_head,
        mlp_dim,
        num_classes,
        branches,
        depth,
        pool: hints.pool.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Config {
        Config {
            image_height: 8,
            image_width: 8,
            channels: 2,
            patch: 4,
            dim: 8,
            heads: 2,
            dim_head: 4,
            mlp_dim: 12,
            num_classes: 3,
            branches: 3,
            depth: 2,
            pool: Pool::Mean,
        }
    }

    #[test]
    fn round_trip_with_metadata() {
        let w = Weights::seeded(&small(), 7);
        let loaded = load(&save(&w, SaveOptions::default()), &Hints::default()).unwrap();
        assert_eq!(loaded.weights, w);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn round_trip_without_metadata_needs_flags() {
        let w = Weights::seeded(&small(), 7);
        let bytes = save(
            &w,
            SaveOptions {
                dtype: Dtype::F32,
                metadata: false,
            },
        );
        let e = load(&bytes, &Hints::default()).unwrap_err().to_string();
        assert!(e.contains("give --heads, --dim-head, --patch"), "{e}");
        let hints = Hints {
            heads: Some(2),
            dim_head: Some(4),
            patch: Some(4),
            pool: Some(Pool::Mean),
        };
        assert_eq!(load(&bytes, &hints).unwrap().weights, w);
        let wrong = Hints {
            heads: Some(4),
            ..hints
        };
        let e = load(&bytes, &wrong).unwrap_err().to_string();
        assert!(
            e.contains("--heads 4 x --dim-head 4 = 16 does not match the checkpoint: its to_qkv weight has 24 rows = 3 x 8.0, so heads x dim_head must be 8"),
            "{e}"
        );
    }

    #[test]
    fn round_trip_in_f16_and_bf16() {
        let w = Weights::seeded(&small(), 3);
        for dtype in [Dtype::F16, Dtype::BF16] {
            let bytes = save(
                &w,
                SaveOptions {
                    dtype,
                    metadata: true,
                },
            );
            let back = load(&bytes, &Hints::default()).unwrap().weights;
            let tol = if dtype == Dtype::F16 { 1e-3 } else { 1e-2 };
            for (a, b) in w.tensor_list().iter().zip(back.tensor_list()) {
                for (x, y) in a.iter().zip(b) {
                    assert!(
                        (x - y).abs() <= tol * x.abs().max(1.0),
                        "{dtype:?}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn missing_extra_and_non_finite_tensors_are_reported() {
        let c = small();
        let w = Weights::seeded(&c, 1);
        let names = tensor_names(&c);
        let list = w.tensor_list();
        let meta = BTreeMap::from([(CONFIG_KEY.to_string(), serde_json::to_string(&c).unwrap())]);
        let missing: Vec<_> = names
            .iter()
            .zip(&list)
            .filter(|((n, _), _)| n != "mlp_head.1.bias")
            .map(|((n, s), t)| (n.clone(), s.clone(), *t))
            .collect();
        let e = load(
            &safetensors::write(&missing, &meta, Dtype::F32),
            &Hints::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("lacks tensor 'mlp_head.1.bias'"), "{e}");

        let nan = [f32::NAN, 1.0];
        let mut extra: Vec<_> = names
            .iter()
            .zip(&list)
            .map(|((n, s), t)| (n.clone(), s.clone(), *t))
            .collect();
        extra.push(("optimizer.step".into(), vec![2], &nan[..]));
        extra[1].2 = &[f32::INFINITY; 8];
        let loaded = load(
            &safetensors::write(&extra, &meta, Dtype::F32),
            &Hints::default(),
        )
        .unwrap();
        let all = loaded.warnings.join("\n");
        assert!(
            all.contains("does not use, ignored: optimizer.step"),
            "{all}"
        );
        assert!(
            all.contains("'to_patch_embedding.1.bias' has 8 NaN or infinite"),
            "{all}"
        );
    }

    #[test]
    fn metadata_disagreeing_with_shapes_is_named() {
        let c = small();
        let w = Weights::seeded(&c, 1);
        let mut wrong = c.clone();
        wrong.mlp_dim = 16;
        let names = tensor_names(&c);
        let tensors: Vec<_> = names
            .into_iter()
            .zip(w.tensor_list())
            .map(|((n, s), t)| (n, s, t))
            .collect();
        let meta = BTreeMap::from([(
            CONFIG_KEY.to_string(),
            serde_json::to_string(&wrong).unwrap(),
        )]);
        let e = load(
            &safetensors::write(&tensors, &meta, Dtype::F32),
            &Hints::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("has shape [12, 8], expected [16, 8] from the config in its metadata"),
            "{e}"
        );
    }
}
