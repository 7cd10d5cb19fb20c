//! The one definition of every command-line flag and every page URL parameter (clap
//! derive). The page's `?preset=mnist&autorun=1` goes through `AppArgs` as
//! `--preset=mnist --autorun=1`, so flags and URL parameters cannot drift apart.

use clap::builder::{BoolishValueParser, PossibleValuesParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use paraformer::Error;
use paraformer::bench::{self, Backend};
use paraformer::engine::Precision;
use paraformer::engine::choice::Forced;
use paraformer::engine::tune::Autotune;
use paraformer::model::{Config, Mode, PRESETS, Pool};

use crate::tab::Tab;

/// Para-Former against a ViT: latency against depth, serial and parallel, on the GPU
/// (WGSL through wgpu) and on the CPU. Without a command: the desktop app.
#[derive(Parser, Debug)]
#[command(
    name = "paraformer",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    after_help = "Without a command the desktop app opens, with the launch flags above \
                  (the page takes the same names as URL parameters: ?preset=mnist&autorun=1)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub app: AppArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The desktop app (what runs without a command)
    App(AppArgs),
    /// One inference, JSON on stdout
    Infer(InferArgs),
    /// Latency against depth, serial vs parallel: a table on stdout, JSON/CSV files
    Bench(BenchArgs),
    /// Accuracy and per-class accuracy on a labelled test set, JSON on stdout
    Eval(EvalArgs),
    /// SVG plots and a markdown report of one or more `bench --json` files, overlaid
    Report(ReportArgs),
}

/// How the blocks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// The L blocks chained (a ViT)
    Serial,
    /// K = L/d branches side by side, summed (Para-Former)
    Parallel,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Serial => Mode::Serial,
            ModeArg::Parallel => Mode::Parallel,
        }
    }
}

/// Where `infer` and `eval` compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The WGSL engine on the GPU adapter
    Gpu,
    /// The CPU engine
    Cpu,
    /// The plain f32 reference the engines are tested against
    Reference,
}

/// `--pool`: which token the classifier reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PoolArg {
    /// The class token (the reference's default)
    Cls,
    /// The mean over all tokens
    Mean,
}

impl From<PoolArg> for Pool {
    fn from(p: PoolArg) -> Pool {
        match p {
            PoolArg::Cls => Pool::Cls,
            PoolArg::Mean => Pool::Mean,
        }
    }
}

/// `--autotune`: how GPU kernels are chosen on this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AutotuneArg {
    /// Choices cached for this device; the rest timed here and cached
    On,
    /// The heuristics: nothing timed, read or written
    Off,
    /// Every kernel timed again and the cache updated
    Refresh,
}

impl From<AutotuneArg> for Autotune {
    fn from(a: AutotuneArg) -> Autotune {
        match a {
            AutotuneArg::On => Autotune::On,
            AutotuneArg::Off => Autotune::Off,
            AutotuneArg::Refresh => Autotune::Refresh,
        }
    }
}

/// `--peak`: whether each backend's roofs (its best FLOP rate and bandwidth) are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PeakArg {
    /// The GPU's from the kernel cache (probed once per adapter), the CPU engine's measured
    On,
    /// No roofs: the profile has no "% of roof"
    Off,
    /// The GPU probed again and the cache updated
    Refresh,
}

impl From<PeakArg> for Autotune {
    fn from(a: PeakArg) -> Autotune {
        match a {
            PeakArg::On => Autotune::On,
            PeakArg::Off => Autotune::Off,
            PeakArg::Refresh => Autotune::Refresh,
        }
    }
}

/// `--precision`: what the GPU engine stores weights and activations in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// 32-bit floats
    #[default]
    F32,
    /// 16-bit floats, f32 arithmetic (needs the adapter's SHADER_F16 / shader-f16)
    F16,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Precision {
        match p {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F16 => Precision::F16,
        }
    }
}

/// Kernel tuning on the device (`bench`, `infer`, `eval`; README, "Autotuning").
#[derive(Args, Clone, Debug, Default)]
pub struct TuneArgs {
    /// Time the GPU kernel variants on this device and run the fastest (default on):
    /// on, off or refresh
    #[arg(long, value_enum)]
    pub autotune: Option<AutotuneArg>,
    /// The kernel cache (default: paraformer/kernels.json in the user's cache directory)
    #[arg(long, value_name = "FILE")]
    pub kernel_cache: Option<String>,
}

/// A whole number, 0 or more, with a message that says so.
fn whole<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not a whole number, 0 or more"))
}

/// Depths as `1..=12`, `1..12` or `1,2,4,8` (checked here, kept as written).
fn depths(s: &str) -> Result<String, String> {
    bench::parse_depths(s)
        .map(|_| s.to_string())
        .map_err(|e| e.message().to_string())
}

/// One `--kernel OP=VARIANT` (checked here, kept as written; `Forced::parse` joins them).
fn kernel(s: &str) -> Result<String, String> {
    Forced::parse(&[s])
        .map(|_| s.to_string())
        .map_err(|e| e.message().to_string())
}

/// Backends as `gpu`, `cpu`, `all` or a list (`gpu,cpu`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backends(pub Vec<Backend>);

fn backends(s: &str) -> Result<Backends, String> {
    Backend::parse_list(s)
        .map(Backends)
        .map_err(|e| e.message().to_string())
}

/// The flags a checkpoint without metadata needs (read from the shapes otherwise).
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct HintArgs {
    /// Attention heads
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub heads: Option<usize>,
    /// Dimension of one head
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub dim_head: Option<usize>,
    /// Patch side in pixels
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub patch: Option<usize>,
    /// Which token the classifier reads
    #[arg(long, value_enum)]
    pub pool: Option<PoolArg>,
}

/// Edits of a preset's shapes (`bench` and the app).
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelOverrides {
    #[command(flatten)]
    pub hints: HintArgs,
    /// Image height in pixels
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub image_height: Option<usize>,
    /// Image width in pixels
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub image_width: Option<usize>,
    /// Image channels
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub channels: Option<usize>,
    /// Model width D
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub dim: Option<usize>,
    /// Hidden width of the MLP
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub mlp_dim: Option<usize>,
    /// Output classes
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub classes: Option<usize>,
    /// Blocks per branch d (parallel mode runs K = L/d branches)
    #[arg(long, value_name = "d", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub branch_depth: Option<usize>,
}

impl ModelOverrides {
    /// Applies the edits to `c`; whether there were any.
    pub fn apply(&self, c: &mut Config) -> bool {
        let h = &self.hints;
        let edits = [
            (h.heads, &mut c.heads),
            (h.dim_head, &mut c.dim_head),
            (h.patch, &mut c.patch),
            (self.image_height, &mut c.image_height),
            (self.image_width, &mut c.image_width),
            (self.channels, &mut c.channels),
            (self.dim, &mut c.dim),
            (self.mlp_dim, &mut c.mlp_dim),
            (self.classes, &mut c.num_classes),
            (self.branch_depth, &mut c.depth),
        ];
        let mut edited = false;
        for (value, field) in edits {
            if let Some(v) = value {
                *field = v;
                edited = true;
            }
        }
        if let Some(p) = h.pool {
            c.pool = p.into();
            edited = true;
        }
        edited
    }
}

/// Which mode, where, and how many branches (`infer` and `eval`).
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    #[arg(long, value_enum, default_value_t = ModeArg::Parallel)]
    pub mode: ModeArg,
    /// Where to compute (`--device` is its older name)
    #[arg(long, visible_alias = "device", value_enum, default_value_t = Device::Gpu)]
    pub backend: Device,
    /// Run branches 0..k only (a branch prefix is a valid smaller model); default all
    #[arg(long, value_name = "k", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub branches: Option<usize>,
    /// Force a GPU kernel variant for every shape of an op, e.g. linear=9x16/64 (repeatable;
    /// README, "Kernel variants")
    #[arg(long = "kernel", value_name = "OP=VARIANT", value_parser = kernel)]
    pub kernels: Vec<String>,
    #[command(flatten)]
    pub tune: TuneArgs,
    /// What the GPU engine stores weights and activations in (README, "f16")
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
}

#[derive(Args, Debug)]
pub struct InferArgs {
    /// Safetensors checkpoint in the spec's layout (default: the built-in cifar model,
    /// seeded weights)
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<String>,
    /// Safetensors with a tensor 'image' [C,H,W] (float: normalised; U8: raw pixels), or a
    /// PNG/JPEG (default: a seeded random image)
    #[arg(long, value_name = "FILE")]
    pub input: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub hints: HintArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Safetensors checkpoint (default: the shipped trained MNIST model)
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<String>,
    /// Safetensors with 'images' U8 [N,C,H,W] and 'labels' U8 [N] (default: the shipped
    /// 2,000-image MNIST test split)
    #[arg(long, value_name = "FILE")]
    pub data: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Images per batch of the engine (GPU or CPU)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub batch: usize,
    #[command(flatten)]
    pub hints: HintArgs,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_name = "NAME", default_value = PRESETS[0], value_parser = PossibleValuesParser::new(PRESETS))]
    pub preset: String,
    /// Total depths L: 1..=24, 1..24 or 1,2,4,8 (default 1,2,4,8,12 times d)
    #[arg(long, value_name = "L", value_parser = depths)]
    pub depths: Option<String>,
    /// Modes to measure (default both)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub modes: Vec<ModeArg>,
    /// The WGSL engine (gpu), the CPU engine (cpu) or both alternated at every point (all)
    #[arg(long, value_name = "gpu|cpu|all", value_parser = backends)]
    pub backend: Option<Backends>,
    /// Serial mode only at depths up to L (parallel at every depth)
    #[arg(long, value_name = "L", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub serial_up_to: Option<usize>,
    /// Images per inference
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub batch: Option<usize>,
    /// Untimed runs per point
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub warmup: Option<usize>,
    /// Timed runs per point
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub samples: Option<usize>,
    /// Seed of the weights and images
    #[arg(long, value_name = "N", value_parser = whole::<u64>, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub model: ModelOverrides,
    /// Force a GPU kernel variant for every shape of an op, e.g. linear=9x16/64 (repeatable;
    /// README, "Kernel variants")
    #[arg(long = "kernel", value_name = "OP=VARIANT", value_parser = kernel)]
    pub kernels: Vec<String>,
    #[command(flatten)]
    pub tune: TuneArgs,
    /// What the GPU engine stores weights and activations in (README, "f16"; the CPU
    /// engine computes in f32)
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
    /// Measure each backend's roofs for the profile's "% of roof" (default on; README,
    /// "Roofs"): on, off or refresh
    #[arg(long, value_enum)]
    pub peak: Option<PeakArg>,
    /// Write the results as JSON (schema paraformer-bench/1)
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,
    /// Write every sample and statistic as CSV
    #[arg(long, value_name = "FILE")]
    pub csv: Option<String>,
    /// A per-op table (time, share, GFLOP/s, GB/s) at the deepest depth
    #[arg(long)]
    pub profile: bool,
    /// No progress bar on the terminal
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// `paraformer bench --json` files (or a page's results)
    #[arg(value_name = "RESULTS.json", required = true)]
    pub files: Vec<String>,
    /// Directory for latency.svg, speedup.svg, profile.svg and report.md
    #[arg(long, value_name = "DIR", required = true)]
    pub out: String,
}

/// The app's launch flags; the page's URL parameters are the same names.
#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct AppArgs {
    /// The model to sweep
    #[arg(long, value_name = "NAME", value_parser = PossibleValuesParser::new(PRESETS))]
    pub preset: Option<String>,
    /// Total depths L: 1..=12, 1..12 or 1,2,4,8
    #[arg(long, value_name = "L", value_parser = depths)]
    pub depths: Option<String>,
    /// Timed runs per point
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub samples: Option<usize>,
    /// Untimed runs per point
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub warmup: Option<usize>,
    /// Images per inference
    #[arg(long, value_name = "N", value_parser = whole::<usize>, allow_negative_numbers = true)]
    pub batch: Option<usize>,
    /// Modes to measure
    #[arg(long, value_enum, value_delimiter = ',')]
    pub modes: Vec<ModeArg>,
    /// Engines to measure: gpu, cpu, all or a list
    #[arg(long, value_name = "gpu|cpu|all", value_parser = backends)]
    pub backends: Option<Backends>,
    #[command(flatten)]
    pub model: ModelOverrides,
    /// Force a GPU kernel variant of the sweep for every shape of an op, e.g.
    /// linear=9x16/64 (repeatable)
    #[arg(long = "kernel", value_name = "OP=VARIANT", value_parser = kernel)]
    pub kernels: Vec<String>,
    /// Time the GPU kernel variants on this device and run the fastest (default on;
    /// in the page the choices are kept in its storage)
    #[arg(long, value_enum)]
    pub autotune: Option<AutotuneArg>,
    /// What the GPU engine stores weights and activations in: f32 or f16 (where the
    /// adapter offers shader-f16)
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
    /// Time every op at the deepest depth after the sweep
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub profile: Option<bool>,
    /// Start the sweep at once
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub autorun: Option<bool>,
    /// The view to open
    #[arg(long, value_enum)]
    pub tab: Option<Tab>,
    /// Start the live loop at once
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub live: Option<bool>,
    /// Natively: write the results JSON here when the sweep ends
    #[arg(long, value_name = "FILE")]
    pub results: Option<String>,
    /// Natively: close the window once the results are written
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub exit: Option<bool>,
    /// Natively: the window's inner size in logical pixels (default 1280x800)
    #[arg(long, value_name = "WxH", value_parser = window_size)]
    pub window_size: Option<WindowSize>,
}

/// A window size, `1024x768`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowSize(pub f32, pub f32);

fn window_size(s: &str) -> Result<WindowSize, String> {
    let bad = || {
        format!("'{s}' is not a window size: give WIDTHxHEIGHT, each 200 to 8192, e.g. 1024x768")
    };
    let (w, h) = s.split_once('x').ok_or_else(bad)?;
    let side = |v: &str| v.parse::<u32>().ok().filter(|n| (200..=8192).contains(n));
    match (side(w), side(h)) {
        (Some(w), Some(h)) => Ok(WindowSize(w as f32, h as f32)),
        _ => Err(bad()),
    }
}

/// The page's parameters alone, parsed as flags.
#[derive(Parser, Debug)]
#[command(name = "page", disable_help_flag = true, disable_version_flag = true)]
struct PageArgs {
    #[command(flatten)]
    app: AppArgs,
}

/// The page's URL parameters (decoded `key=value` pairs) as launch flags, with errors that
/// speak of parameters. An empty value is a bare flag: `?autorun` is `--autorun` (true).
#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
pub fn app_args_from_pairs(pairs: &[(String, String)]) -> Result<AppArgs, Error> {
    use clap::CommandFactory;
    let argv =
        std::iter::once("page".to_string()).chain(pairs.iter().map(|(k, v)| match v.as_str() {
            "" => format!("--{k}"),
            v => format!("--{k}={v}"),
        }));
    PageArgs::try_parse_from(argv).map(|p| p.app).map_err(|e| {
        if e.kind() == clap::error::ErrorKind::UnknownArgument {
            let bad = e
                .get(clap::error::ContextKind::InvalidArg)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let bad = bad.trim_start_matches("--");
            let bad = bad.split('=').next().unwrap_or(bad);
            let known: Vec<String> = PageArgs::command()
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect();
            return Error::Usage(format!(
                "unknown parameter '{bad}': allowed are {}",
                known.join(", ")
            ));
        }
        // clap's message up to its usage lines, speaking of parameters, not flags.
        let text = e.render().to_string();
        let message: Vec<&str> = text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.trim().trim_start_matches("error: "))
            .collect();
        Error::Usage(message.join(" ").replace("'--", "'"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
        PageArgs::command().debug_assert();
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn url_parameters_are_the_launch_flags() {
        let a = app_args_from_pairs(&pairs(&[
            ("preset", "mnist"),
            ("autorun", "1"),
            ("profile", "0"),
            ("modes", "serial,parallel"),
            ("backends", "gpu,cpu"),
            ("dim-head", "8"),
            ("tab", "speedup"),
        ]))
        .unwrap();
        assert_eq!(a.preset.as_deref(), Some("mnist"));
        assert_eq!((a.autorun, a.profile), (Some(true), Some(false)));
        assert_eq!(a.modes, [ModeArg::Serial, ModeArg::Parallel]);
        assert_eq!(a.backends, Some(Backends(vec![Backend::Gpu, Backend::Cpu])));
        assert_eq!(a.model.hints.dim_head, Some(8));
        assert_eq!(a.tab, Some(Tab::Speedup));
        let a = app_args_from_pairs(&pairs(&[("window-size", "1024x900")])).unwrap();
        assert_eq!(a.window_size, Some(WindowSize(1024.0, 900.0)));
        let flags = Cli::try_parse_from(["paraformer", "--preset", "mnist", "--autorun"]).unwrap();
        assert_eq!(flags.app.autorun, Some(true));
        assert!(flags.command.is_none());
    }

    #[test]
    fn bad_url_parameters_are_explained() {
        let err = |p: &[(&str, &str)]| app_args_from_pairs(&pairs(p)).unwrap_err().to_string();
        let e = err(&[("colour", "red")]);
        assert!(
            e.contains("unknown parameter 'colour': allowed are preset, depths"),
            "{e}"
        );
        let e = err(&[("samples", "many")]);
        assert!(e.contains("'many' is not a whole number"), "{e}");
        assert!(e.contains("'samples"), "{e}");
        let e = err(&[("preset", "imagenet")]);
        assert!(
            e.contains("invalid value 'imagenet' for 'preset") && e.contains("mnist"),
            "{e}"
        );
        let e = err(&[("tab", "graphs")]);
        assert!(e.contains("'graphs'") && e.contains("accuracy"), "{e}");
        let e = err(&[("window-size", "1024")]);
        assert!(e.contains("give WIDTHxHEIGHT"), "{e}");
        let e = err(&[("depths", "1..x")]);
        assert!(e.contains("depths '1..x' is not understood"), "{e}");
    }
}
