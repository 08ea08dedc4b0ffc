//! The `rustomize` binary: parses arguments and calls the library. No logic of its own.

mod cli;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    cli::run(&args)
}
