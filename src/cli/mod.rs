//! The command line: `paraformer infer`, `bench`, `eval` and `report`. Native only.

mod args;
mod bench;
mod eval;
mod infer;
mod model_args;
mod plots;
mod report;

use paraformer::Error;

pub const USAGE: &str = "\
usage: paraformer [app] [--preset NAME --depths 1..=12 --autorun ...]   the desktop app (see README)
       paraformer <command> [options]

commands:
  infer   one inference, JSON on stdout
          [--checkpoint FILE] [--input FILE] [--mode serial|parallel] [--backend gpu|cpu|reference]
          [--branches K] [--heads N --dim-head N --patch N] [--pool cls|mean]
          Without --checkpoint: the built-in cifar model with seeded weights.
          --input: safetensors with a tensor 'image' [C,H,W] (normalised), or a PNG/JPEG.
  bench   latency against depth, serial vs parallel, table on stdout
          [--preset cifar|mnist|vit-tiny-224] [--depths 1..=24 | 1,2,4,8] [--modes serial,parallel]
          [--branch-depth d] [--batch N] [--warmup N] [--samples N] [--seed N]
          [--image-height N --image-width N --channels N --patch N --dim N --heads N
           --dim-head N --mlp-dim N --classes N --pool cls|mean]
          [--json FILE] [--csv FILE] [--profile] [--serial-up-to L] [--backend gpu|cpu|all]
          [--no-progress]
          --backend: the WGSL engine (gpu, the default), the CPU engine (cpu) or both (all),
          each at every point, alternated.
          --profile: per-op table (time, share, GFLOP/s, GB/s) at the deepest depth.
          --serial-up-to L: serial mode only at depths up to L (parallel at every depth).
          Parallel mode uses K = L/d branches at depth L; serial chains the same L blocks.
  eval    accuracy and per-class accuracy on a labelled test set, JSON on stdout
          [--checkpoint FILE] [--data FILE] [--branches k] [--mode serial|parallel]
          [--backend gpu|cpu|reference] [--batch N] [--heads N --dim-head N --patch N]
          Defaults: the shipped trained MNIST model and its 2,000-image test split.
          --data: safetensors with 'images' U8 [N,C,H,W] and 'labels' U8 [N].
          --branches k: only branches 0..k (every prefix of the trained model is a classifier).
  --backend of infer and eval (--device is its older name): gpu, the CPU engine (cpu), or
          the plain f32 reference the engines are tested against (reference).
  report  SVG plots and a markdown report of one or more `bench --json` files, overlaid
          RESULTS.json [MORE.json ...] --out DIR
          Writes latency.svg, speedup.svg, profile.svg (when a file has --profile tables)
          and report.md, with the fitted latency model and the knee.
  help    this text";

/// Runs a command; the caller prints the error and sets the exit code.
pub fn main(raw: &[String]) -> Result<(), Error> {
    let Some((command, rest)) = raw.split_first() else {
        return Err(Error::Usage("no command given".into()));
    };
    match command.as_str() {
        "infer" => infer::run(&args::Args::parse("infer", rest, infer::SPECS)?),
        "bench" => bench::run(&args::Args::parse("bench", rest, bench::SPECS)?),
        "eval" => eval::run(&args::Args::parse("eval", rest, eval::SPECS)?),
        "report" => report::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Error::Usage(format!("unknown command '{other}'"))),
    }
}
