//! A bounded soak: thousands of inferences and several model rebuilds in one process,
//! checking that GPU objects return to their count after every rebuild and that the
//! process's resident memory stays flat once warm. Memory bounds only, no timing.

use paraformer::engine::{Engine, EngineOptions, Gpu, Resources};
use paraformer::model::{Config, Mode, Weights, seeded_image};

const REBUILDS: usize = 6;
const RUNS_PER_BUILD: usize = 500;
/// Resident-set growth allowed between the end of the first build and the end of the last:
/// a leak of 512 bytes per inference (or 200 KiB per rebuild) would exceed it. Measured here:
/// about 50 KiB in all. (Before pipelines were shared per device, every rebuild recompiled
/// the shaders and the driver kept about 1 MiB per rebuild; this test found that.)
const RSS_SLACK_KIB: i64 = 1024;

/// The process's resident memory in KiB (Linux), from /proc/self/statm.
fn rss_kib() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4
}

fn settle(gpu: &Gpu) -> Resources {
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    gpu.resources()
}

#[test]
fn thousands_of_runs_and_rebuilds_keep_memory_flat() {
    let gpu = pollster::block_on(Gpu::new()).expect("GPU tests need an adapter (lavapipe in CI)");
    let config = Config {
        branches: 2,
        ..Config::preset("mnist").unwrap()
    };
    let image = seeded_image(&config, 1);
    // wgpu keeps a few objects of its own (staging, zeroing); their count settles after the
    // first work, so the idle baseline is taken after the first engine is gone.
    let mut idle = None;
    let mut held = None;
    let mut warm_rss = 0;
    let mut first_logits = None;
    for build in 0..REBUILDS {
        // A new model each time (other seed), as the app does on every edit.
        let weights = Weights::seeded(&config, build as u64);
        let mut engine =
            pollster::block_on(Engine::new(&gpu, &weights, EngineOptions::default())).unwrap();
        for i in 0..RUNS_PER_BUILD {
            let (mode, branches) = match i % 3 {
                0 => (Mode::Parallel, 2),
                1 => (Mode::Serial, 2),
                _ => (Mode::Parallel, 1),
            };
            let out = pollster::block_on(engine.run(mode, branches, &image)).unwrap();
            assert!(out.logits.iter().all(|v| v.is_finite()));
            if build == 0 && i == 0 {
                first_logits = Some(out.logits);
            }
        }
        let in_use = settle(&gpu);
        match held {
            None => held = Some(in_use),
            Some(h) => assert_eq!(in_use, h, "GPU objects of build {build} vs build 0"),
        }
        if build == 0 {
            warm_rss = rss_kib();
        }
        drop(engine);
        let now = settle(&gpu);
        match idle {
            None => idle = Some(now),
            Some(i) => assert_eq!(
                now, i,
                "GPU objects after dropping build {build} vs build 0"
            ),
        }
    }
    let growth = rss_kib() - warm_rss;
    assert!(
        growth <= RSS_SLACK_KIB,
        "resident memory grew by {growth} KiB over {} runs and {} rebuilds",
        (REBUILDS - 1) * RUNS_PER_BUILD,
        REBUILDS - 1
    );
    // The counters are real: an engine holds buffers while it lives.
    let (h, idle) = (held.unwrap(), idle.unwrap());
    assert!(
        h.buffers > idle.buffers && h.buffer_bytes > idle.buffer_bytes,
        "{h:?} vs {idle:?}"
    );
    // And the device still computes the same answer as at the start.
    let weights = Weights::seeded(&config, 0);
    let mut engine =
        pollster::block_on(Engine::new(&gpu, &weights, EngineOptions::default())).unwrap();
    let again = pollster::block_on(engine.run(Mode::Parallel, 2, &image)).unwrap();
    assert_eq!(Some(again.logits), first_logits);
}
