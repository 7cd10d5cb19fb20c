//! Labelled image sets for measuring accuracy: the shipped MNIST test split
//! (`assets/mnist-test.safetensors`, written by `tools/train/train.py`). A safetensors file
//! with `images` U8 [N, C, H, W] (raw pixels), `labels` U8 [N], and optionally the training
//! tool's `logits` F32 [K, N, classes] for every branch prefix 0..k and its accuracy per
//! prefix in the metadata key `paraformer.accuracy`, so the engines can be checked against it.

use std::collections::BTreeMap;

use crate::Error;
use crate::input::normalise_pixel;
use crate::model::Config;
use crate::model::safetensors::{self, Dtype};

/// Metadata key of the training tool's accuracy per branch prefix (JSON: {"1": 0.9, ...}).
pub const ACCURACY_KEY: &str = "paraformer.accuracy";

#[derive(Clone, Debug, PartialEq)]
pub struct TestSet {
    /// [channels, height, width] of every image.
    pub image_shape: [usize; 3],
    /// Raw pixels, [N, C, H, W].
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
    /// The training tool's logits, [prefixes, N, classes], if the file has them.
    pub logits: Option<Vec<f32>>,
    pub classes: usize,
    /// The training tool's accuracy with branches 0..k, by k.
    pub accuracy: BTreeMap<usize, f64>,
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::Input(format!("not a test set: {msg}"))
}

impl TestSet {
    pub fn from_bytes(bytes: &[u8]) -> Result<TestSet, Error> {
        let file = safetensors::parse(bytes).map_err(|e| bad(e.message()))?;
        let get = |name: &str, dtype: Dtype, rank: usize| {
            let t = file
                .tensors
                .get(name)
                .ok_or_else(|| bad(format!("it lacks the tensor '{name}'")))?;
            if t.dtype != dtype || t.shape.len() != rank {
                return Err(bad(format!(
                    "'{name}' is {} {:?}, expected {} with {rank} dimensions",
                    t.dtype.name(),
                    t.shape,
                    dtype.name()
                )));
            }
            Ok(t)
        };
        let images = get("images", Dtype::U8, 4)?;
        let labels = get("labels", Dtype::U8, 1)?;
        let n = images.shape[0];
        if labels.shape[0] != n || n == 0 {
            return Err(bad(format!(
                "{n} images but {} labels: both must be the same, at least 1",
                labels.shape[0]
            )));
        }
        let (logits, classes) = match file.tensors.get("logits") {
            Some(_) => {
                let t = get("logits", Dtype::F32, 3)?;
                if t.shape[1] != n {
                    return Err(bad(format!(
                        "'logits' has shape {:?}: its second dimension must be the {n} images",
                        t.shape
                    )));
                }
                (Some(t.to_f32()), t.shape[2])
            }
            None => (None, 0),
        };
        let accuracy = match file.metadata.get(ACCURACY_KEY) {
            Some(json) => {
                let m: BTreeMap<String, f64> = serde_json::from_str(json)
                    .map_err(|e| bad(format!("metadata '{ACCURACY_KEY}' is not valid: {e}")))?;
                m.into_iter()
                    .map(|(k, v)| {
                        k.parse()
                            .map(|k| (k, v))
                            .map_err(|_| bad(format!("'{ACCURACY_KEY}' has the key '{k}'")))
                    })
                    .collect::<Result<_, _>>()?
            }
            None => BTreeMap::new(),
        };
        Ok(TestSet {
            image_shape: [images.shape[1], images.shape[2], images.shape[3]],
            pixels: images.data.to_vec(),
            labels: labels.data.to_vec(),
            logits,
            classes,
            accuracy,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Branch prefixes the training tool's logits cover.
    pub fn prefixes(&self) -> usize {
        match &self.logits {
            Some(l) => l.len() / (self.len() * self.classes.max(1)),
            None => 0,
        }
    }

    /// Checks that the images fit `config` and the labels its classes.
    pub fn check(&self, config: &Config) -> Result<(), Error> {
        let want = [config.channels, config.image_height, config.image_width];
        if self.image_shape != want {
            return Err(Error::Input(format!(
                "the test set's images are {:?}, the model needs {want:?} (channels, height, width)",
                self.image_shape
            )));
        }
        if let Some(&l) = self.labels.iter().max()
            && l as usize >= config.num_classes
        {
            return Err(Error::Input(format!(
                "the test set has label {l}, the model has {} classes",
                config.num_classes
            )));
        }
        Ok(())
    }

    /// Image `i`, normalised, [C, H, W].
    pub fn image(&self, i: usize) -> Vec<f32> {
        let len: usize = self.image_shape.iter().product();
        self.pixels[i * len..(i + 1) * len]
            .iter()
            .map(|&p| normalise_pixel(p))
            .collect()
    }

    /// The training tool's logits of image `i` with branches 0..k (k from 1).
    pub fn expected(&self, k: usize, i: usize) -> Option<&[f32]> {
        let l = self.logits.as_ref()?;
        let (n, c) = (self.len(), self.classes);
        let at = ((k.checked_sub(1)?) * n + i) * c;
        l.get(at..at + c)
    }
}

/// Accuracy overall and per class.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
    pub accuracy: f64,
    /// (class, correct, total, accuracy) for every class that occurs.
    pub per_class: Vec<ClassAccuracy>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassAccuracy {
    pub class: usize,
    pub correct: usize,
    pub total: usize,
    pub accuracy: f64,
}

/// The index of the largest value (the first one on ties, as numpy's argmax).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best
}

/// Scores `logits` ([N, classes]) against `labels`.
pub fn score(logits: &[f32], classes: usize, labels: &[u8]) -> Accuracy {
    let mut per = vec![(0usize, 0usize); classes];
    for (row, &label) in logits.chunks_exact(classes).zip(labels) {
        let l = label as usize;
        per[l].1 += 1;
        if argmax(row) == l {
            per[l].0 += 1;
        }
    }
    let correct = per.iter().map(|p| p.0).sum();
    let total = labels.len();
    Accuracy {
        correct,
        total,
        accuracy: correct as f64 / total.max(1) as f64,
        per_class: per
            .iter()
            .enumerate()
            .filter(|(_, p)| p.1 > 0)
            .map(|(class, &(correct, total))| ClassAccuracy {
                class,
                correct,
                total,
                accuracy: correct as f64 / total as f64,
            })
            .collect(),
    }
}

/// Softmax probabilities of one row of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let exp: Vec<f32> = logits.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_argmax() {
        let logits = [0.1, 0.9, 0.0, 2.0, 1.0, 0.5, 0.0, 0.0, 3.0];
        let a = score(&logits, 3, &[1, 1, 2]);
        assert_eq!((a.correct, a.total), (2, 3));
        assert_eq!(a.per_class.len(), 2, "only classes that occur");
        assert_eq!(
            (
                a.per_class[0].class,
                a.per_class[0].correct,
                a.per_class[0].total
            ),
            (1, 1, 2)
        );
        assert_eq!(argmax(&[1.0, 1.0, 0.5]), 0);
        let p = softmax(&[0.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn test_sets_round_trip_and_are_checked() {
        let pixels: Vec<f32> = (0..2 * 4).map(|v| v as f32).collect();
        let logits = vec![0.5f32; 2 * 2 * 3];
        let meta = BTreeMap::from([(ACCURACY_KEY.to_string(), r#"{"1": 0.5, "2": 1.0}"#.into())]);
        let f32s = safetensors::write(
            &[("logits".to_string(), vec![2, 2, 3], &logits[..])],
            &meta,
            Dtype::F32,
        );
        let u8s = safetensors::write(
            &[
                ("images".to_string(), vec![2, 1, 2, 2], &pixels[..]),
                ("labels".to_string(), vec![2], &[1.0, 2.0][..]),
            ],
            &BTreeMap::new(),
            Dtype::U8,
        );
        // Merge the two files' tensors by writing them again from parsed views.
        let a = safetensors::parse(&f32s).unwrap();
        let b = safetensors::parse(&u8s).unwrap();
        assert_eq!(b.tensors["images"].to_f32(), pixels);
        assert_eq!(a.tensors["logits"].to_f32(), logits);
        let e = TestSet::from_bytes(&u8s).map(|t| t.prefixes()).unwrap();
        assert_eq!(e, 0);
        let e = TestSet::from_bytes(&f32s).unwrap_err().to_string();
        assert!(e.contains("lacks the tensor 'images'"), "{e}");
        let set = TestSet::from_bytes(&u8s).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.image(1)[0], normalise_pixel(4));
        let mut c = Config::preset("mnist").unwrap();
        let e = set.check(&c).unwrap_err().to_string();
        assert!(
            e.contains("images are [1, 2, 2], the model needs [1, 28, 28]"),
            "{e}"
        );
        (c.image_height, c.image_width, c.patch, c.num_classes) = (2, 2, 1, 2);
        let e = set.check(&c).unwrap_err().to_string();
        assert!(e.contains("label 2, the model has 2 classes"), "{e}");
    }
}
