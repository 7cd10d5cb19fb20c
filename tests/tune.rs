//! Autotuning on lavapipe: each key ends with its fastest measured candidate and the model
//! still computes what the reference does; the cache round trip, a changed shader source
//! (the key's hash), a corrupt cache, `off`, `refresh`, cancel and forced ops.

mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use common::{assert_close, gpu};
use paraformer::engine::choice::{Forced, Pick, Source};
use paraformer::engine::ops::linear;
use paraformer::engine::tune::{Autotune, KEEP_MARGIN, Outcome};
use paraformer::engine::tune_cache::Location;
use paraformer::engine::{Engine, EngineOptions, Precision};
use paraformer::model::{Config, Mode, Weights, seeded_image};
use paraformer::reference;

const RUNS: [(Mode, usize); 2] = [(Mode::Serial, 2), (Mode::Parallel, 2)];

fn weights() -> Weights {
    let mut c = Config::preset("mnist").unwrap();
    (c.branches, c.depth) = (2, 1);
    Weights::seeded(&c, 3)
}

fn engine(w: &Weights, forced: Forced) -> Engine {
    engine_at(w, forced, Precision::F32)
}

fn engine_at(w: &Weights, forced: Forced, precision: Precision) -> Engine {
    let options = EngineOptions {
        forced,
        precision,
        tune_budget_ms: u32::MAX,
        ..Default::default()
    };
    pollster::block_on(Engine::new(gpu(), w, options)).unwrap()
}

fn tune(e: &mut Engine, how: Autotune, cache: &Location, cancel: &AtomicBool) -> Outcome {
    pollster::block_on(e.autotune(&RUNS, how, cache, cancel, |_| {})).unwrap()
}

fn picks(e: &mut Engine) -> Vec<Pick> {
    RUNS.iter()
        .flat_map(|&(m, k)| e.picks(m, k).unwrap())
        .collect()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paraformer-tune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn sources(e: &mut Engine) -> Vec<Source> {
    picks(e).iter().map(|p| p.choice.source).collect()
}

/// The tuned engine's logits against the reference, within the tolerance of its
/// precision in tests/gpu_model.rs.
fn matches_reference(e: &mut Engine, w: &Weights) {
    let tol = match e.precision() {
        Precision::F32 => 1e-3,
        Precision::F16 => 5e-3,
    };
    let image = seeded_image(&w.config, 5);
    for (mode, k) in RUNS {
        let got = pollster::block_on(e.run(mode, k, &image)).unwrap().logits;
        let want = reference::forward(w, &image, mode);
        let what = format!("tuned {} {mode:?}", e.precision());
        assert_close(&what, &got, &want, tol);
    }
}

#[test]
fn tuning_keeps_the_fastest_candidate_and_the_cache_replays_it() {
    let w = weights();
    let path = temp("kernels.json");
    let at = Location::At(path.clone());
    let no = AtomicBool::new(false);

    let mut a = engine(&w, Forced::default());
    let held = a.device_bytes();
    let out = tune(&mut a, Autotune::On, &at, &no);
    let keys = picks(&mut a).len();
    // Losing split-k candidates leave no scratch buffer behind.
    if !picks(&mut a)
        .iter()
        .any(|p| p.choice.variant.to_string().contains("split"))
    {
        assert_eq!(a.device_bytes(), held);
    }
    assert!(out.tuned > 0 && out.cached == 0 && out.left == 0, "{out:?}");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    for p in picks(&mut a) {
        assert_eq!(p.choice.source, Source::Tuned, "{p:?}");
        let c = a.candidates(&p.key);
        assert!(c.len() >= 3, "{:?}: {c:?}", p.key);
        // Fastest first, and the choice is that fastest measured candidate, unless the
        // heuristic (always timed) is within the margin of it.
        let best = c.iter().filter_map(|c| c.ms).fold(f64::INFINITY, f64::min);
        assert_eq!(c[0].ms, Some(best), "{c:?}");
        let chosen = p.choice.variant.to_string();
        let heuristic = a.choices_adapter().heuristic(p.key.op).to_string();
        let ms_of = |v: &str| c.iter().find(|c| c.variant == v).and_then(|c| c.ms);
        assert!(ms_of(&heuristic).is_some(), "the heuristic is timed: {c:?}");
        if chosen != c[0].variant {
            assert_eq!(chosen, heuristic, "{c:?}");
            assert!(ms_of(&heuristic).unwrap() <= best * KEEP_MARGIN, "{c:?}");
        }
    }
    matches_reference(&mut a, &w);
    let stored = std::fs::read_to_string(&path).unwrap();
    assert!(stored.contains("\"candidates\""), "{stored}");

    // A new engine reads every choice back without timing anything.
    let mut b = engine(&w, Forced::default());
    let out = tune(&mut b, Autotune::On, &at, &no);
    assert_eq!((out.tuned, out.left), (0, 0), "{out:?}");
    assert!(out.cached > 0);
    assert!(sources(&mut b).iter().all(|&s| s == Source::Cache));
    let chosen = |e: &mut Engine| -> Vec<String> {
        picks(e)
            .iter()
            .map(|p| p.choice.variant.to_string())
            .collect()
    };
    assert_eq!(chosen(&mut a), chosen(&mut b));
    assert_eq!(picks(&mut b).len(), keys);
    matches_reference(&mut b, &w);

    // Refresh times everything again (and only once per engine).
    let out = tune(&mut b, Autotune::Refresh, &at, &no);
    assert_eq!(out.cached, 0, "{out:?}");
    assert!(out.tuned > 0);
    assert!(sources(&mut b).iter().all(|&s| s == Source::Tuned));
    assert_eq!(tune(&mut b, Autotune::Refresh, &at, &no).tuned, 0);

    // A changed shader source changes every key's hash: nothing matches, all is tuned.
    let text = std::fs::read_to_string(&path).unwrap();
    let stale = regex_free_rehash(&text);
    assert_ne!(stale, text);
    std::fs::write(&path, stale).unwrap();
    let mut c = engine(&w, Forced::default());
    let out = tune(&mut c, Autotune::On, &at, &no);
    assert_eq!(out.cached, 0, "{out:?}");
    assert!(sources(&mut c).iter().all(|&s| s == Source::Tuned));
}

#[test]
fn f16_kernels_are_tuned_and_cached_apart_from_f32() {
    let w = weights();
    let at = Location::At(temp("kernels-f16.json"));
    let no = AtomicBool::new(false);
    let with = |precision| engine_at(&w, Forced::default(), precision);
    let mut f32_engine = with(Precision::F32);
    assert!(tune(&mut f32_engine, Autotune::On, &at, &no).tuned > 0);
    // The f32 choices are no f16 choices: an f16 engine times its own, then reads them back.
    let mut f16_engine = with(Precision::F16);
    let out = tune(&mut f16_engine, Autotune::On, &at, &no);
    assert!(out.tuned > 0 && out.cached == 0, "{out:?}");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(sources(&mut f16_engine).iter().all(|&s| s == Source::Tuned));
    let mut again = with(Precision::F16);
    let out = tune(&mut again, Autotune::On, &at, &no);
    assert_eq!((out.tuned, out.left), (0, 0), "{out:?}");
    // Tuned f16 kernels still compute the model.
    matches_reference(&mut again, &w);
}

#[test]
fn the_device_peak_is_probed_once_per_adapter_and_cached() {
    let w = weights();
    let path = temp("kernels-peak.json");
    let at = Location::At(path.clone());
    let mut a = engine(&w, Forced::default());
    let first = pollster::block_on(a.device_peak(Autotune::On, &at)).unwrap();
    assert!(!first.cached && first.warnings.is_empty(), "{first:?}");
    assert!(
        first.peak.method.starts_with("probes timed by"),
        "{first:?}"
    );
    assert!(first.peak.gflops > 0.0 && first.peak.gbytes_per_s > 0.0);
    let mut b = engine(&w, Forced::default());
    let again = pollster::block_on(b.device_peak(Autotune::On, &at)).unwrap();
    assert!(again.cached, "{again:?}");
    assert_eq!(
        (again.peak.gflops, again.peak.gbytes_per_s),
        (first.peak.gflops, first.peak.gbytes_per_s)
    );
    assert!(
        again
            .peak
            .method
            .starts_with("from the kernel cache: probes")
    );
    // Refresh probes again; the stored tuning entries and the peak live side by side.
    let mut c = engine(&w, Forced::default());
    assert!(
        !pollster::block_on(c.device_peak(Autotune::Refresh, &at))
            .unwrap()
            .cached
    );
    let no = AtomicBool::new(false);
    assert!(tune(&mut c, Autotune::On, &at, &no).tuned > 0);
    let stored = std::fs::read_to_string(&path).unwrap();
    assert!(
        stored.contains("| peak ") && stored.contains("\"rate\""),
        "{stored}"
    );
}

/// The cache text with every key's source hash (the 8 hex digits after the op's name)
/// changed, as a new shader source would.
fn regex_free_rehash(text: &str) -> String {
    let mut out = text.to_string();
    for op in ["linear", "layer_norm", "attention"] {
        let marker = format!("| {op} ");
        let mut from = 0;
        while let Some(i) = out[from..].find(&marker) {
            let at = from + i + marker.len();
            out.replace_range(at..at + 8, "deadbeef");
            from = at + 8;
        }
    }
    out
}

#[test]
fn a_corrupt_cache_is_a_warning_and_rewritten() {
    let w = weights();
    let path = temp("corrupt.json");
    std::fs::write(&path, "{\"format\": 1, \"entries\": [oops").unwrap();
    let at = Location::At(path.clone());
    let no = AtomicBool::new(false);
    let mut e = engine(&w, Forced::default());
    let out = tune(&mut e, Autotune::On, &at, &no);
    assert!(out.tuned > 0, "{out:?}");
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(
        out.warnings[0].contains("ignoring the kernel cache")
            && out.warnings[0].contains("corrupt.json"),
        "{:?}",
        out.warnings
    );
    let mut again = engine(&w, Forced::default());
    let out = tune(&mut again, Autotune::On, &at, &no);
    assert!(out.warnings.is_empty() && out.tuned == 0, "{out:?}");
}

#[test]
fn off_cancel_and_forced_ops_leave_the_rest_alone() {
    let w = weights();
    let path = temp("off.json");
    let at = Location::At(path.clone());
    let no = AtomicBool::new(false);

    let mut off = engine(&w, Forced::default());
    assert_eq!(tune(&mut off, Autotune::Off, &at, &no), Outcome::default());
    assert!(sources(&mut off).iter().all(|&s| s == Source::Heuristic));
    assert!(!path.exists(), "off neither reads nor writes the cache");

    // Cancelled before it starts: nothing timed, everything left on the heuristic.
    let mut e = engine(&w, Forced::default());
    let out = tune(&mut e, Autotune::On, &at, &AtomicBool::new(true));
    assert!(out.cancelled && out.tuned == 0 && out.left > 0, "{out:?}");
    assert!(sources(&mut e).iter().all(|&s| s == Source::Heuristic));

    // Cancelled after the first key: that one is tuned, the others keep the heuristic.
    let mut e = engine(&w, Forced::default());
    let cancel = AtomicBool::new(false);
    let out = pollster::block_on(e.autotune(&RUNS, Autotune::On, &at, &cancel, |p| {
        if p.done == 1 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }))
    .unwrap();
    assert!(out.cancelled && out.tuned == 1 && out.left > 0, "{out:?}");
    let s = sources(&mut e);
    assert!(
        s.contains(&Source::Tuned) && s.contains(&Source::Heuristic),
        "{s:?}"
    );
    matches_reference(&mut e, &w);

    // A forced op is never tuned; the others are.
    let forced = Forced {
        linear: Some(linear::Variant::new(linear::Block::B4x8, 32)),
        ..Forced::default()
    };
    let mut f = engine(&w, forced);
    tune(&mut f, Autotune::Refresh, &Location::Memory, &no);
    for p in picks(&mut f) {
        let want = if p.key.op.name() == "linear" {
            Source::Forced
        } else {
            Source::Tuned
        };
        assert_eq!(p.choice.source, want, "{p:?}");
    }
}

#[test]
fn a_candidate_the_device_cannot_hold_is_skipped_with_a_warning() {
    // A storage binding limit of 700 KiB holds every buffer of a one-block cifar model (the
    // largest, an MLP weight, is 576 KiB) but not the split-k candidate's partial sums for
    // its MLP's first linear (4 parts x 65 x 768 floats, 780 KiB): tuning skips that one
    // with a warning and goes on.
    let small = pollster::block_on(paraformer::engine::Gpu::with_limits(|l| {
        l.max_storage_buffer_binding_size = 700 << 10;
    }))
    .unwrap();
    let mut c = Config::preset("cifar").unwrap();
    (c.branches, c.depth) = (1, 1);
    let w = Weights::seeded(&c, 4);
    let options = EngineOptions {
        tune_budget_ms: u32::MAX,
        ..Default::default()
    };
    let mut e = pollster::block_on(Engine::new(&small, &w, options)).unwrap();
    let no = AtomicBool::new(false);
    let runs = [(Mode::Serial, 1)];
    let out =
        pollster::block_on(e.autotune(&runs, Autotune::Refresh, &Location::Memory, &no, |_| {}))
            .unwrap();
    assert!(out.tuned > 0 && out.left == 0, "{out:?}");
    let skipped: Vec<&String> = out
        .warnings
        .iter()
        .filter(|w| w.contains("4x4/16/split4 was skipped"))
        .collect();
    assert!(!skipped.is_empty(), "{:?}", out.warnings);
    assert!(
        skipped
            .iter()
            .any(|w| w.contains("65x768x192") && w.contains("the adapter allows")),
        "{skipped:?}"
    );
    for p in e.picks(Mode::Serial, 1).unwrap() {
        assert!(!p.choice.variant.to_string().contains("split"), "{p:?}");
    }
    // The roof probes fit the same small binding: both shrink to it and still measure.
    let peak = pollster::block_on(e.device_peak(Autotune::Off, &Location::Memory)).unwrap();
    assert!(
        peak.peak.gflops > 0.0 && peak.peak.gbytes_per_s > 0.0,
        "{peak:?}"
    );
    assert!(
        peak.peak.method.contains("44800 invocations") && peak.peak.method.contains("1 MiB"),
        "{peak:?}"
    );
    small.check().unwrap();
    let image = seeded_image(&c, 5);
    let got = pollster::block_on(e.run(Mode::Serial, 1, &image))
        .unwrap()
        .logits;
    assert_close(
        "tuned on a small device",
        &got,
        &reference::forward(&w, &image, Mode::Serial),
        1e-3,
    );
}

#[test]
fn on_stops_at_the_budget_and_refresh_times_every_key() {
    let w = weights();
    let no = AtomicBool::new(false);
    let options = EngineOptions {
        tune_budget_ms: 0,
        ..Default::default()
    };
    let mut e = pollster::block_on(Engine::new(gpu(), &w, options)).unwrap();
    let out = tune(&mut e, Autotune::On, &Location::Memory, &no);
    assert!(out.tuned == 0 && out.left > 0 && !out.cancelled, "{out:?}");
    assert!(sources(&mut e).iter().all(|&s| s == Source::Heuristic));
    let out = tune(&mut e, Autotune::Refresh, &Location::Memory, &no);
    assert!(out.tuned > 0 && out.left == 0, "{out:?}");
    assert!(sources(&mut e).iter().all(|&s| s == Source::Tuned));
}
