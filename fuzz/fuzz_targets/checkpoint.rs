//! Feeds arbitrary bytes to the checkpoint loader (with and without the flags a checkpoint
//! without metadata needs) and to the input reader: any answer but a panic, a hang or an
//! allocation far beyond the input is fine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paraformer::model::{Config, Hints, load};

fuzz_target!(|data: &[u8]| {
    let _ = load(data, &Hints::default());
    // The mnist preset's flags: lets files without metadata reach shape inference.
    let hints = Hints {
        heads: Some(4),
        dim_head: Some(16),
        patch: Some(7),
        pool: None,
    };
    if let Ok(loaded) = load(data, &hints) {
        // A loaded checkpoint must describe a valid model whose tensors have their sizes.
        loaded.weights.config.validate().expect("loaded configs are valid");
    }
    let config = Config::preset("mnist").expect("preset");
    let _ = paraformer::input::from_bytes(&config, data);
});
