//! What the binary ships: the trained MNIST Para-Former and its test split
//! (`tools/train/train.py` wrote both; see `tools/train/README.md`).

use paraformer::Error;
use paraformer::data::TestSet;
use paraformer::model::{self, Hints, Weights};

pub const TRAINED_MNIST_NAME: &str = "mnist-trained";
/// How the command line names the shipped test set in its output.
#[cfg(not(target_arch = "wasm32"))]
pub const MNIST_TEST_NAME: &str = "mnist-test";

const TRAINED_MNIST: &[u8] = include_bytes!("../assets/mnist-paraformer.safetensors");
const MNIST_TEST: &[u8] = include_bytes!("../assets/mnist-test.safetensors");

pub fn trained_mnist() -> Result<Weights, Error> {
    Ok(model::load(TRAINED_MNIST, &Hints::default())?.weights)
}

pub fn mnist_test_set() -> Result<TestSet, Error> {
    TestSet::from_bytes(MNIST_TEST)
}
