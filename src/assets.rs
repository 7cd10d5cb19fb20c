//! What the app ships: the trained MNIST Para-Former and its test split
//! (`tools/train/train.py` wrote both; see `tools/train/README.md`). Natively they are in
//! the binary, so the command line and the desktop app work from a single file; the page
//! fetches them, served next to it, only when Classify or Accuracy is first opened, so the
//! first download is the code alone.

use paraformer::Error;
#[cfg(not(target_arch = "wasm32"))]
use paraformer::data::TestSet;
use paraformer::model::{self, Hints, Weights};

pub const TRAINED_MNIST_NAME: &str = "mnist-trained";
/// How the command line names the shipped test set in its output.
#[cfg(not(target_arch = "wasm32"))]
pub const MNIST_TEST_NAME: &str = "mnist-test";

/// The files, as `assets/` holds them and the page serves them (index.html copies them).
#[cfg(target_arch = "wasm32")]
pub const MODEL_FILE: &str = "mnist-paraformer.safetensors";
#[cfg(target_arch = "wasm32")]
pub const TEST_FILE: &str = "mnist-test.safetensors";

#[cfg(not(target_arch = "wasm32"))]
const TRAINED_MNIST: &[u8] = include_bytes!("../assets/mnist-paraformer.safetensors");
#[cfg(not(target_arch = "wasm32"))]
const MNIST_TEST: &[u8] = include_bytes!("../assets/mnist-test.safetensors");

#[cfg(not(target_arch = "wasm32"))]
pub fn trained_mnist() -> Result<Weights, Error> {
    model_from(TRAINED_MNIST)
}

#[cfg(not(target_arch = "wasm32"))]
pub fn mnist_test_set() -> Result<TestSet, Error> {
    TestSet::from_bytes(MNIST_TEST)
}

/// The trained model from the bytes of its file.
pub fn model_from(bytes: &[u8]) -> Result<Weights, Error> {
    Ok(model::load(bytes, &Hints::default())?.weights)
}
