//! The command line: `paraformer infer`, `bench`, `eval` and `report` (their flags are
//! defined in `crate::args`). Native only.

mod bench;
mod eval;
mod infer;
mod model_args;
mod plots;
mod report;
mod roofline;
mod runs;
mod svg;

use paraformer::Error;

use crate::args::Command;

/// Runs a command (not `app`, which main opens); the caller prints the error.
pub fn main(command: Command) -> Result<(), Error> {
    match command {
        Command::Infer(a) => infer::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Report(a) => report::run(&a),
        Command::App(_) => unreachable!("main opens the app"),
    }
}
