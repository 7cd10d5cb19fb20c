//! Entry point: the command line (`paraformer infer ...`).

mod cli;

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = cli::main(&raw) {
        eprintln!("error: {e}");
        if matches!(e, paraformer::Error::Usage(_)) {
            eprintln!("\n{}", cli::USAGE);
        }
        std::process::exit(2);
    }
}
