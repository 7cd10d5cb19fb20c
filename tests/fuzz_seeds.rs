//! The checkpoint fuzzer's seeds (fuzz/seeds, from tools/make_fuzz_seeds.py) load as they
//! should, so the fuzzer starts from files that reach every branch of the loader; and every
//! file under fuzz/regressions (hand-made overflow and bounds traps, and any input that once
//! crashed the fuzzer) is refused with an error, not a panic.

use std::path::Path;

use paraformer::model::{Config, Hints, Pool, load};

const FUZZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz");

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

fn flags() -> Hints {
    Hints {
        heads: Some(1),
        dim_head: Some(4),
        patch: Some(2),
        pool: None,
    }
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FUZZ).join("seeds").join(name)).unwrap()
}

#[test]
fn seeds_load_as_intended() {
    let want = tiny();
    for name in [
        "f32-metadata.safetensors",
        "f16-metadata.safetensors",
        "f64-metadata.safetensors",
    ] {
        let loaded = load(&read(name), &Hints::default()).unwrap();
        assert_eq!(loaded.weights.config, want, "{name}");
    }
    for name in ["f32-reference.safetensors", "bf16-reference.safetensors"] {
        let e = load(&read(name), &Hints::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("give --heads, --dim-head, --patch"),
            "{name}: {e}"
        );
        assert_eq!(load(&read(name), &flags()).unwrap().weights.config, want);
    }
    let image = paraformer::input::from_bytes(&want, &read("input.safetensors")).unwrap();
    assert_eq!(image.len(), 16);
}

#[test]
fn regressions_are_answered_without_panic() {
    let dir = Path::new(FUZZ).join("regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for hints in [Hints::default(), flags()] {
            let e = load(&bytes, &hints).unwrap_err().to_string();
            assert!(e.starts_with("bad checkpoint: "), "{}: {e}", path.display());
        }
        assert!(paraformer::input::from_bytes(&tiny(), &bytes).is_err());
        seen += 1;
    }
    assert!(seen >= 7, "fuzz/regressions holds the hand-made edge cases");
}
