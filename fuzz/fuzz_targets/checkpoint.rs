//! Feeds arbitrary bytes to the checkpoint loader (with and without the flags a checkpoint
//! without metadata needs) and to the input reader: any answer but a panic, a hang or an
//! allocation far beyond the input is fine. Seeds: fuzz/seeds (tools/make_fuzz_seeds.py).
#![no_main]

use libfuzzer_sys::fuzz_target;
use paraformer::model::{Config, Hints, Pool, load};

/// The seeds' model: its flags let files without metadata reach shape inference.
fn tiny() -> Config {
    Config {
        image_height: 4,
        image_width: 4,
        channels: 1,
        patch: 2,
        dim: 4,
        heads: 1,
        dim_head: 4,
        mlp_dim: 4,
        num_classes: 2,
        branches: 2,
        depth: 1,
        pool: Pool::Cls,
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = load(data, &Hints::default());
    let c = tiny();
    let hints = Hints {
        heads: Some(c.heads),
        dim_head: Some(c.dim_head),
        patch: Some(c.patch),
        pool: None,
    };
    if let Ok(loaded) = load(data, &hints) {
        // What loads describes a valid model, and its tensors have the sizes it implies.
        let w = &loaded.weights;
        w.config.validate().expect("loaded configs are valid");
        let names = paraformer::model::tensor_names(&w.config);
        for ((name, shape), t) in names.iter().zip(w.tensor_list()) {
            assert_eq!(shape.iter().product::<usize>(), t.len(), "{name}");
        }
    }
    let _ = paraformer::input::from_bytes(&c, data);
});
