//! How many invocations per workgroup suit the linear kernel on the default adapter: one
//! engine per candidate on the same device, their inferences interleaved in one process so
//! that the machine's drift (2x swings on shared CPUs) hits all alike. Prints each
//! candidate's median latency per mode and its ratio to the first candidate. This is the
//! measurement behind the linear heuristic in `engine::choice` (README, "Performance").
//!
//!     cargo run --release --example linear_group [preset] [depth L] [rounds] [groups]
//!     cargo run --release --example linear_group cifar 12 30 64,32,16,8

use paraformer::bench::Stats;
use paraformer::engine::choice::Forced;
use paraformer::engine::ops::linear;
use paraformer::engine::{Engine, EngineOptions, Gpu};
use paraformer::model::{Config, Mode, Weights, seeded_image};
use web_time::Instant;

fn main() -> Result<(), paraformer::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset = args.first().map_or("cifar", String::as_str);
    let depth: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(12);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30);
    let groups: Vec<u32> = args
        .get(3)
        .map_or("64,32,16,8", String::as_str)
        .split(',')
        .filter_map(|g| g.trim().parse().ok())
        .collect();
    let mut config = Config::preset(preset)?;
    config.branches = (depth / config.depth).max(1);
    let weights = Weights::seeded(&config, 0);
    let image = seeded_image(&config, 1);
    let gpu = pollster::block_on(Gpu::new())?;
    println!(
        "adapter: {} ({}, {}); {preset}, L = {}, {rounds} interleaved rounds, wall clock",
        gpu.summary.name,
        gpu.summary.backend,
        gpu.summary.device_type,
        config.branches * config.depth
    );
    let mut engines = Vec::new();
    for &group in &groups {
        let options = EngineOptions {
            forced: Forced {
                linear: Some(linear::Variant::new(linear::Block::B9x16, group)),
                ..Forced::default()
            },
            ..Default::default()
        };
        engines.push(pollster::block_on(Engine::new(&gpu, &weights, options))?);
    }
    for mode in Mode::ALL {
        let mut samples = vec![Vec::new(); engines.len()];
        for round in 0..rounds + 2 {
            for (e, engine) in engines.iter_mut().enumerate() {
                let t = Instant::now();
                pollster::block_on(engine.run(mode, config.branches, &image))?;
                // The first two rounds warm up.
                if round >= 2 {
                    samples[e].push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
        let medians: Vec<f64> = samples
            .iter()
            .map(|s| Stats::of(s).map_or(f64::NAN, |s| s.median_ms))
            .collect();
        for (group, m) in groups.iter().zip(&medians) {
            println!(
                "{:<8} group {group:>3}: median {m:8.2} ms, {:.2}x of group {}",
                mode.name(),
                m / medians[0],
                groups[0]
            );
        }
    }
    Ok(())
}
