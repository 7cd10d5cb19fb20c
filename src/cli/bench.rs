//! `paraformer bench`: the depth sweep from the command line, with a progress bar on a
//! terminal, Ctrl-C that stops cleanly, and JSON/CSV files that keep partial results.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use paraformer::Error;
use paraformer::bench::{self, Outcome, Progress, Settings};
use paraformer::engine::tune::Autotune;
use paraformer::engine::{Gpu, Precision};
use paraformer::model::Mode;

use crate::args::BenchArgs;

static CANCEL: AtomicBool = AtomicBool::new(false);

/// Environment variable that makes `bench` destroy its GPU device after that many points
/// (tests use it to check that a failure mid-sweep keeps what was measured).
pub const LOSE_DEVICE_ENV: &str = "PARAFORMER_LOSE_DEVICE_AFTER_POINTS";

pub fn settings(args: &BenchArgs) -> Result<Settings, Error> {
    let mut s = Settings::new(&args.preset)?;
    if args.model.apply(&mut s.config) {
        s.preset = format!("{} (edited)", s.preset);
    }
    match &args.depths {
        Some(d) => s.depths = bench::parse_depths(d)?,
        None => s.depths = [1, 2, 4, 8, 12].map(|l| l * s.config.depth).to_vec(),
    }
    if !args.modes.is_empty() {
        s.modes = args.modes.iter().map(|&m| Mode::from(m)).collect();
    }
    s.batch = args.batch.unwrap_or(s.batch);
    s.warmup = args.warmup.unwrap_or(s.warmup);
    s.samples = args.samples.unwrap_or(s.samples);
    s.seed = args.seed.unwrap_or(s.seed);
    s.profile = args.profile;
    s.serial_up_to = args.serial_up_to;
    s.kernels = args.kernels.clone();
    (s.autotune, s.kernel_cache) = args.tune.tuning();
    let tune_given = args.tune.autotune.is_some() || args.tune.kernel_cache.is_some();
    if let Some(b) = &args.backend {
        s.backends = b.0.clone();
    }
    s.precision = args.precision.map_or(Precision::F32, Precision::from);
    s.peak = args.peak.map_or(s.peak, Autotune::from);
    if !s
        .backends
        .iter()
        .any(|b| b.precision(s.precision) == s.precision)
    {
        return Err(Error::Usage(
            "--precision f16 stores the GPU engine's values in f16; --backend cpu computes in \
             f32 (use --backend gpu or all)"
                .into(),
        ));
    }
    if tune_given && !s.backends.iter().any(|b| b.needs_gpu()) {
        return Err(Error::Usage(
            "--autotune and --kernel-cache tune GPU kernels; --backend cpu runs none (use \
             --backend gpu or all)"
                .into(),
        ));
    }
    s.validate()?;
    Ok(s)
}

/// The GPU adapter, when a backend of the sweep needs one. Without an adapter a sweep that
/// also measures an engine needing none goes on with those alone, and says so once;
/// otherwise it is the error that says how to get one.
fn open_gpu(mut settings: Settings) -> Result<(Settings, Option<Gpu>), Error> {
    if !settings.backends.iter().any(|b| b.needs_gpu()) {
        return Ok((settings, None));
    }
    match pollster::block_on(Gpu::new()) {
        Ok(gpu) => Ok((settings, Some(gpu))),
        Err(e) if settings.backends.iter().any(|b| !b.needs_gpu()) => {
            settings.backends.retain(|b| !b.needs_gpu());
            if settings.precision != Precision::F32 {
                return Err(Error::Usage(format!(
                    "{}; the CPU engine computes in f32 alone: use --precision f32",
                    e.message()
                )));
            }
            let names: Vec<&str> = settings.backends.iter().map(|b| b.name()).collect();
            eprintln!(
                "note: {}; measuring the {} engine alone",
                e.message(),
                names.join(" and ")
            );
            Ok((settings, None))
        }
        Err(e) => Err(Error::Gpu(format!(
            "{}; --backend cpu measures the CPU engine without one",
            e.message()
        ))),
    }
}

fn draw(p: &Progress) {
    if let Some(t) = p.tuning {
        eprint!("\rtuning kernels {}/{}   ", t.done, t.total);
        let _ = std::io::stderr().flush();
        return;
    }
    let width = 30;
    let filled = width * p.done / p.total.max(1);
    eprint!(
        "\r[{}{}] {}/{} {} {} L={}   ",
        "#".repeat(filled),
        " ".repeat(width - filled),
        p.done,
        p.total,
        p.backend.name(),
        p.mode.name(),
        p.depth
    );
    let _ = std::io::stderr().flush();
}

pub fn run(args: &BenchArgs) -> Result<(), Error> {
    let settings = settings(args)?;
    let (json, csv) = (args.json.as_deref(), args.csv.as_deref());
    let show = std::io::stderr().is_terminal() && !args.no_progress;
    // A second Ctrl-C while stopping falls back to the default: the handler only sets the flag.
    ctrlc::set_handler(|| CANCEL.store(true, Ordering::Relaxed))
        .map_err(|e| Error::Io(format!("cannot install the Ctrl-C handler: {e}")))?;
    // Output files are created before measuring: a bad path fails now, not after the sweep.
    for path in [json, csv].into_iter().flatten() {
        std::fs::File::create(path)
            .map_err(|e| Error::Io(format!("cannot write '{path}': {e}")))?;
    }
    if settings.precision != Precision::F32 && settings.backends.len() > 1 {
        eprintln!("note: precision: {}", settings.precision_line());
    }
    let (settings, gpu) = open_gpu(settings)?;
    // Fault injection for tests: lose the device (as a driver reset would) after N points.
    let lose_after: Option<usize> = std::env::var(LOSE_DEVICE_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    let mut points = 0;
    let report = pollster::block_on(bench::sweep(
        gpu.as_ref(),
        &settings,
        &CANCEL,
        |p| {
            if show {
                draw(p);
            }
        },
        |_| {
            points += 1;
            if let (Some(gpu), true) = (&gpu, lose_after == Some(points)) {
                gpu.destroy();
            }
        },
    ))?;
    if show {
        eprintln!();
    }
    println!("{}", report.table());
    if let Some(path) = json {
        std::fs::write(path, report.to_json())
            .map_err(|e| Error::Io(format!("cannot write '{path}': {e}")))?;
        eprintln!("wrote {path}");
    }
    if let Some(path) = csv {
        std::fs::write(path, report.to_csv())
            .map_err(|e| Error::Io(format!("cannot write '{path}': {e}")))?;
        eprintln!("wrote {path}");
    }
    match report.outcome() {
        Outcome::Complete => Ok(()),
        Outcome::Cancelled => Err(Error::Io("sweep cancelled; partial results written".into())),
        Outcome::Failed(e) => Err(Error::Gpu(format!(
            "sweep stopped early: {e}; partial results written"
        ))),
    }
}
