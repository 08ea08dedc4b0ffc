//! `rustomize image update|latest`: the Flux image-automation commands.

use std::process::ExitCode;

pub fn run(_args: &[String]) -> ExitCode {
    eprintln!("Error: `rustomize image` is not implemented yet");
    ExitCode::from(1)
}
