//! The command line: `paraformer infer` and friends. Native only.

mod args;
mod infer;
mod model_args;

use paraformer::Error;

pub const USAGE: &str = "\
usage: paraformer <command> [options]

commands:
  infer   one inference, JSON on stdout
          [--checkpoint FILE] [--input FILE] [--mode serial|parallel] [--device gpu|cpu]
          [--branches K] [--heads N --dim-head N --patch N] [--pool cls|mean]
          Without --checkpoint: the built-in cifar model with seeded weights.
          --input: safetensors with a tensor 'image' [C,H,W] (normalised), or a PNG/JPEG.
  help    this text";

/// Runs a command; the caller prints the error and sets the exit code.
pub fn main(raw: &[String]) -> Result<(), Error> {
    let Some((command, rest)) = raw.split_first() else {
        return Err(Error::Usage("no command given".into()));
    };
    match command.as_str() {
        "infer" => infer::run(&args::Args::parse("infer", rest, infer::SPECS)?),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Error::Usage(format!("unknown command '{other}'"))),
    }
}
