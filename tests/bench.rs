//! A short sweep on lavapipe: every field present, both modes, ordered statistics,
//! critical paths constant in L for parallel and growing for serial; JSON and CSV
//! carry every sample; the CLI writes both files. No timing thresholds.

mod common;

use std::process::Command;
use std::sync::atomic::AtomicBool;

use common::gpu;
use paraformer::bench::{self, Report, Settings};
use paraformer::engine::Precision;
use paraformer::engine::tune::Autotune;
use paraformer::model::Mode;

/// The sweep `s` on the test device, to its end.
fn sweep(s: &Settings) -> Report {
    pollster::block_on(bench::sweep(
        Some(gpu()),
        s,
        &AtomicBool::new(false),
        |_| {},
        |_| {},
    ))
    .unwrap()
}

fn short_sweep() -> Report {
    let mut s = Settings::new("mnist").unwrap();
    // The heuristics: these tests check the sweep, tests/tune.rs and tests/cli.rs tuning.
    s.autotune = Autotune::Off;
    (s.depths, s.warmup, s.samples) = (vec![1, 2, 4], 1, 4);
    let mut seen = Vec::new();
    let mut last_progress = 0;
    let report = pollster::block_on(bench::sweep(
        Some(gpu()),
        &s,
        &AtomicBool::new(false),
        |p| {
            assert!(p.done >= last_progress && p.done <= p.total);
            last_progress = p.done;
        },
        |p| seen.push((p.mode, p.depth)),
    ))
    .unwrap();
    assert_eq!(
        last_progress,
        3 * 2 * (1 + 1 + 4),
        "progress reaches the total"
    );
    assert_eq!(seen.len(), 6, "points arrive one by one");
    report
}

#[test]
fn short_sweep_has_every_field_and_sane_statistics() {
    let r = short_sweep();
    assert!(r.complete && r.error.is_none());
    assert_eq!(r.schema, bench::SCHEMA);
    assert_eq!(r.engines.len(), 1, "one engine per backend measured");
    let engine = &r.engines[&bench::Backend::Gpu];
    let adapter = engine
        .adapter
        .as_ref()
        .expect("the GPU engine names its adapter");
    assert!(!adapter.name.is_empty() && !r.context.date.is_empty());
    assert_eq!(
        r.context.clocks.len(),
        if adapter.timestamps { 2 } else { 1 }
    );
    let memory = engine.memory.expect("the GPU engine's memory");
    assert!(engine.create_ms.unwrap() > 0.0 && memory.held_bytes > 0);
    assert!(0 < memory.weight_bytes && memory.weight_bytes < memory.needed_bytes);
    assert!(
        memory.needed_bytes <= memory.held_bytes,
        "{} > {}",
        memory.needed_bytes,
        memory.held_bytes
    );
    for l in [1, 2, 4] {
        for mode in Mode::ALL {
            let p = r.point(mode, l).unwrap_or_else(|| panic!("{mode:?} L={l}"));
            assert_eq!((p.branches, p.wall_samples_ms.len(), p.wall.n), (l, 4, 4));
            assert!(p.wall.min_ms <= p.wall.p10_ms && p.wall.p10_ms <= p.wall.median_ms);
            assert!(p.wall.median_ms <= p.wall.p90_ms && p.wall.p90_ms <= p.wall.max_ms);
            assert!(p.wall.min_ms > 0.0 && p.cold_ms > 0.0 && p.gflops_wall > 0.0);
            assert_eq!(p.gpu.is_some(), adapter.timestamps);
            if let Some(g) = &p.gpu {
                assert!(g.p10_ms <= g.median_ms && g.median_ms <= g.p90_ms);
            }
            assert_eq!(p.flops, r.context.settings.config.flops(l));
        }
        let (s, p) = (
            r.point(Mode::Serial, l).unwrap(),
            r.point(Mode::Parallel, l).unwrap(),
        );
        assert_eq!(s.critical_path, 7 * l + 4, "serial grows with L");
        assert_eq!(p.critical_path, 7 + 4, "parallel is constant in L");
        assert_eq!(s.flops, p.flops, "same work in both modes");
    }

    // Every (op, mode, shape) once, each from the adapter's heuristic: serial shapes have
    // one lane, parallel ones K = L (d = 1 for mnist), the head's one lane in both.
    assert!(!r.kernels.is_empty());
    for k in &r.kernels {
        assert_eq!(k.source, "heuristic", "{k:?}");
        assert!(["linear", "layer_norm", "attention"].contains(&k.op.as_str()));
    }
    let qkv = |mode: Mode| -> Vec<usize> {
        let c = &r.context.settings.config;
        let mut nz: Vec<usize> = r
            .kernels
            .iter()
            .filter(|k| k.op == "linear" && k.mode == mode && k.shape.n == 3 * c.inner())
            .map(|k| k.shape.nz)
            .collect();
        nz.sort();
        nz
    };
    assert_eq!(qkv(Mode::Serial), [1]);
    assert_eq!(qkv(Mode::Parallel), [1, 2, 4]);
    assert!(r.table().contains("kernels (op, mode"), "{}", r.table());

    let back = Report::from_json(&r.to_json()).unwrap();
    assert_eq!(back, r, "JSON round trip");
    let csv = r.to_csv();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for p in &r.points {
        let mine = |clock: &str, kind: &str| -> Vec<f64> {
            rows.iter()
                .filter(|c| {
                    c[0] == p.mode.name()
                        && c[1] == p.depth.to_string()
                        && c[3] == clock
                        && c[4] == kind
                })
                .map(|c| c[6].parse().unwrap())
                .collect()
        };
        assert_eq!(
            mine("wall", "sample"),
            p.wall_samples_ms,
            "CSV carries every sample"
        );
        let stats = mine("wall", "stat");
        assert_eq!(
            &stats[..3],
            &[p.wall.median_ms, p.wall.p10_ms, p.wall.p90_ms]
        );
        if let Some(g) = &p.gpu_samples_ms {
            assert_eq!(&mine("gpu", "sample"), g);
        }
    }
    assert!(
        csv.contains(&format!("# engine gpu: {}", adapter.name)),
        "{csv}"
    );
    let table = r.table();
    assert!(
        table.contains("speedup serial/parallel") && table.contains("clock wall:"),
        "{table}"
    );
}

#[test]
fn a_forced_kernel_is_run_and_reported_as_forced() {
    let mut s = Settings::new("mnist").unwrap();
    // The heuristics: these tests check the sweep, tests/tune.rs and tests/cli.rs tuning.
    s.autotune = Autotune::Off;
    (s.depths, s.warmup, s.samples) = (vec![2], 0, 1);
    s.kernels = vec!["linear=9x16/8".into(), "attention=4q/4".into()];
    let r = sweep(&s);
    assert!(r.complete, "{:?}", r.error);
    for k in &r.kernels {
        let want = match k.op.as_str() {
            "linear" => ("9x16/8", "forced"),
            "attention" => ("4q/4", "forced"),
            _ => ("row-per-invocation/64", "heuristic"),
        };
        assert_eq!((k.variant.as_str(), k.source.as_str()), want, "{k:?}");
    }
    assert_eq!(
        r.context.settings.kernels, s.kernels,
        "the settings keep the flags"
    );
    let table = r.table();
    assert!(
        table.contains("linear, serial: 9x16/8 (forced) for"),
        "{table}"
    );
    // A bad spelling is refused before anything runs.
    s.kernels = vec!["linear=8x8/8".into()];
    let e = s.validate().unwrap_err().to_string();
    assert!(e.contains("unknown variant"), "{e}");
}

#[test]
fn an_f16_sweep_measures_its_error_against_f32() {
    let mut s = Settings::new("mnist").unwrap();
    s.autotune = Autotune::Off;
    (s.depths, s.warmup, s.samples, s.batch) = (vec![1, 3], 0, 1, 2);
    s.precision = Precision::F16;
    let r = sweep(&s);
    assert!(r.complete, "{:?}", r.error);
    assert!(r.points.iter().all(|p| p.precision == Precision::F16));
    let modes: Vec<(Mode, usize)> = r
        .precision_error
        .iter()
        .map(|e| (e.mode, e.depth))
        .collect();
    assert_eq!(modes, [(Mode::Serial, 3), (Mode::Parallel, 3)]);
    for e in &r.precision_error {
        // Rounded (never exact), and within the f16 tolerance of tests/gpu_model.rs.
        assert!(e.max_abs > 0.0 && e.max_rel < 5e-3, "{e:?}");
    }
    assert!(
        r.table()
            .contains("f16 logits against the f32 CPU engine's: serial L=3")
    );
    let back = Report::from_json(&r.to_json()).unwrap();
    assert_eq!(back.precision_error, r.precision_error);
    // An f32 sweep has nothing to compare.
    assert!(short_sweep().precision_error.is_empty());
}

#[test]
fn no_op_of_a_profile_is_above_its_roof() {
    // The roofs' plausibility: a probe that measures too low a peak shows as an op above
    // it. cifar on both backends, each with its per-op profile, and the CPU engine's whole
    // runs.
    let mut s = Settings::new("cifar").unwrap();
    s.autotune = Autotune::Off;
    (s.depths, s.warmup, s.samples, s.profile) = (vec![2], 1, 3, true);
    s.backends = vec![bench::Backend::Gpu, bench::Backend::Cpu];
    s.peak = Autotune::Off;
    let r = sweep(&s);
    assert!(r.device_peak.is_empty(), "off measures no roofs");
    s.peak = Autotune::Refresh;
    s.kernel_cache = paraformer::engine::tune_cache::Location::Memory;
    let r = sweep(&s);
    assert!(r.complete, "{:?}", r.error);
    let gpu_peak = &r.device_peak[&bench::Backend::Gpu];
    let cpu_peak = &r.device_peak[&bench::Backend::Cpu];
    for p in [gpu_peak, cpu_peak] {
        assert!(p.gflops > 0.0 && p.gbytes_per_s > 0.0, "{p:?}");
        assert!(p.gflops.is_finite() && p.gbytes_per_s.is_finite(), "{p:?}");
    }
    // Each backend's profile of each mode; each op against its own backend's roofs.
    assert_eq!(r.profiles.len(), 4);
    for m in &r.profiles {
        let peak = &r.device_peak[&m.backend];
        for op in &m.profile.ops {
            let f = op.of_roof.expect("every op has its fraction of the roof");
            // The CPU engine's small operands sit in its caches, which are faster than the
            // memory roof (a copy larger than the caches): only its ops right of the ridge,
            // bound by arithmetic, are held to its roofs.
            let compute_bound = op.intensity >= peak.ridge();
            if m.backend == bench::Backend::Gpu || compute_bound {
                assert!(
                    f > 0.0 && f <= 1.2,
                    "{:?} {:?} {}: {f} of the roof {peak:?}",
                    m.backend,
                    m.mode,
                    op.label
                );
            }
            if op.label.starts_with("linear") {
                assert!(op.intensity > 1.0, "{op:?}");
            }
        }
    }
    for p in r.points.iter().filter(|p| p.backend == bench::Backend::Cpu) {
        assert!(p.gflops_wall <= 1.2 * cpu_peak.gflops, "{p:?} {cpu_peak:?}");
    }
    let table = r.table();
    assert!(
        table.contains("roofs (gpu): ") && table.contains("roofs (cpu): "),
        "{table}"
    );
    assert!(table.contains("% roof"), "{table}");
    let back = Report::from_json(&r.to_json()).unwrap();
    assert_eq!(back.device_peak, r.device_peak);
}

#[test]
fn roofs_from_the_cache_that_an_op_beats_are_measured_again() {
    // Roofs cached while the machine was busy read too low: every op would seem to beat them.
    let dir = std::env::temp_dir().join(format!("paraformer-bench-roofs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kernels.json");
    let mut s = Settings::new("mnist").unwrap();
    s.autotune = Autotune::Off;
    (s.depths, s.warmup, s.samples, s.profile) = (vec![2], 1, 3, true);
    s.kernel_cache = paraformer::engine::tune_cache::Location::At(path.clone());
    let first = sweep(&s);
    let probed = first.device_peak[&bench::Backend::Gpu].clone();
    assert!(!probed.method.contains("measured again"), "{probed:?}");
    let mut cache: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut forged = 0;
    for (key, entry) in cache["entries"].as_object_mut().unwrap() {
        if key.contains("| peak ") {
            let rate = entry["rate"].as_f64().unwrap();
            entry["rate"] = serde_json::json!(rate / 1000.0);
            forged += 1;
        }
    }
    assert_eq!(forged, 2, "the cache holds the two roofs: {cache}");
    std::fs::write(&path, cache.to_string()).unwrap();
    let r = sweep(&s);
    let again = &r.device_peak[&bench::Backend::Gpu];
    assert!(again.method.contains("measured again"), "{again:?}");
    assert!(
        again.gflops > probed.gflops / 100.0,
        "{again:?} against {probed:?}"
    );
    for m in &r.profiles {
        for op in &m.profile.ops {
            assert!(op.of_roof.unwrap() <= 1.2, "{}: {:?}", op.label, op.of_roof);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cancelling_keeps_what_was_measured() {
    let mut s = Settings::new("mnist").unwrap();
    // The heuristics: these tests check the sweep, tests/tune.rs and tests/cli.rs tuning.
    s.autotune = Autotune::Off;
    (s.depths, s.warmup, s.samples) = (vec![1, 2], 0, 2);
    let cancel = AtomicBool::new(false);
    let report = pollster::block_on(bench::sweep(
        Some(gpu()),
        &s,
        &cancel,
        |_| {},
        |_| cancel.store(true, std::sync::atomic::Ordering::Relaxed),
    ))
    .unwrap();
    assert!(!report.complete);
    assert_eq!(report.error.as_deref(), Some("cancelled"));
    assert_eq!(report.points.len(), 1, "the first point is kept");
    assert!(report.table().contains("INCOMPLETE: cancelled"));
}

#[test]
fn bench_cli_writes_json_and_csv() {
    let dir = std::env::temp_dir().join(format!("paraformer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, csv) = (dir.join("r.json"), dir.join("r.csv"));
    let out = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args([
            "bench",
            "--preset",
            "mnist",
            "--depths",
            "1..=2",
            "--warmup",
            "0",
            "--samples",
            "2",
            "--profile",
        ])
        .args([
            "--json",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("speedup serial/parallel") && stdout.contains("per-op profile"),
        "{stdout}"
    );
    let r = Report::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r.points.len(), 4);
    assert_eq!(r.profiles.len(), 2);
    for prof in &r.profiles {
        let share: f64 = prof.profile.ops.iter().map(|o| o.share).sum();
        assert!((share - 1.0).abs() < 1e-9, "shares add up to 1: {share}");
        assert!(prof.profile.ops.iter().any(|o| o.label == "attention"));
    }
    assert!(
        std::fs::read_to_string(&csv)
            .unwrap()
            .contains("mode,depth,branches,clock")
    );

    let bad = Command::new(env!("CARGO_BIN_EXE_paraformer"))
        .args([
            "bench",
            "--preset",
            "mnist",
            "--branch-depth",
            "2",
            "--depths",
            "1,2",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        err.contains("depth 1 is not a positive multiple of the branch depth d = 2"),
        "{err}"
    );
}

#[test]
fn a_multi_line_error_stays_on_its_csv_context_line() {
    let mut report = short_sweep();
    report.set_outcome(bench::Outcome::Failed(
        "the GPU reported: first line\nsecond line\r\nthird \\ part".into(),
    ));
    let csv = report.to_csv();
    let (context, rows) = csv
        .split_once("mode,depth,branches,clock,kind")
        .expect("the header row");
    assert!(context.lines().all(|l| l.starts_with("# ")), "{context}");
    assert!(
        context
            .contains("# error: the GPU reported: first line\\nsecond line\\r\\nthird \\\\ part\n"),
        "{context}"
    );
    assert!(
        rows.lines().skip(1).all(|l| l.split(',').count() == 11),
        "{rows}"
    );
}

#[test]
fn both_backends_in_one_sweep_alternate_and_compare() {
    let mut s = Settings::new("mnist").unwrap();
    // The heuristics: these tests check the sweep, tests/tune.rs and tests/cli.rs tuning.
    s.autotune = Autotune::Off;
    (s.depths, s.warmup, s.samples) = (vec![1, 2], 1, 3);
    s.backends = vec![bench::Backend::Gpu, bench::Backend::Cpu];
    let mut order = Vec::new();
    let r = pollster::block_on(bench::sweep(
        Some(gpu()),
        &s,
        &AtomicBool::new(false),
        |_| {},
        |p| order.push((p.backend, p.mode, p.depth)),
    ))
    .unwrap();
    assert!(r.complete, "{:?}", r.error);
    assert_eq!(r.points.len(), 8);
    // Backends alternate inside each (mode, depth), so drift hits both alike.
    for pair in order.chunks(2) {
        assert_eq!(pair[0].0, bench::Backend::Gpu);
        assert_eq!(pair[1].0, bench::Backend::Cpu);
        assert_eq!((pair[0].1, pair[0].2), (pair[1].1, pair[1].2));
    }
    for l in [1, 2] {
        for mode in Mode::ALL {
            let g = r.point_on(bench::Backend::Gpu, mode, l).unwrap();
            let c = r.point_on(bench::Backend::Cpu, mode, l).unwrap();
            assert_eq!(c.flops, g.flops, "same work on both engines");
            assert_eq!(c.critical_path, g.critical_path, "same plan shape");
            assert!(c.gpu.is_none() && c.wall.n == 3 && c.gflops_wall > 0.0);
            // A GPU sample is one run; a CPU sample groups back-to-back runs (how many is
            // timing, checked as arithmetic in `stats::runs_to_cover_the_shortest_sample`).
            assert_eq!(g.runs_per_sample, 1);
            assert!((1..=1000).contains(&c.runs_per_sample), "{c:?}");
            let line = r.faster(mode, l).expect("both measured");
            assert!(line.contains("x faster (gpu "), "{line}");
        }
    }
    let cpu = &r.engines[&bench::Backend::Cpu];
    assert!(cpu.threads.unwrap() >= 1 && cpu.simd.is_some() && cpu.adapter.is_none());
    assert!(r.engines[&bench::Backend::Gpu].adapter.is_some());
    assert_eq!(r.fits.len(), 2, "a fit per backend");
    let back = Report::from_json(&r.to_json()).unwrap();
    assert_eq!(back, r, "JSON round trip keeps the backend of every point");
    let csv = r.to_csv();
    let cpu_rows = csv.lines().filter(|l| l.ends_with(",cpu")).count();
    let gpu_rows = csv.lines().filter(|l| l.ends_with(",gpu")).count();
    assert!(cpu_rows > 0 && gpu_rows > cpu_rows, "{csv}");
    let table = r.table();
    assert!(
        table.contains("cpu serial") && table.contains("gpu parallel"),
        "{table}"
    );
    assert!(table.contains("cpu engine: "), "{table}");

    // A file from before backends has no `backend` fields: its points are the GPU's.
    let mut old: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    let points = old["points"].as_array_mut().unwrap();
    points.retain(|p| p["backend"] == "gpu");
    for p in points.iter_mut() {
        p.as_object_mut().unwrap().remove("backend");
    }
    let old = Report::from_json(&old.to_string()).unwrap();
    assert!(old.points.iter().all(|p| p.backend == bench::Backend::Gpu));
    assert_eq!(old.points.len(), 4);
}
