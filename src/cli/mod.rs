//! Command-line front end: `rustomize build DIR [flags]` and `rustomize image ...`.
//! Thin: it parses flags, calls the library, prints, and maps errors to exit code 1.

use std::process::ExitCode;

mod build;
mod image;

const USAGE: &str = "usage:
  rustomize build DIR [flags]         render a kustomization (like `kustomize build`)
  rustomize image update DIR ...      rewrite $imagepolicy-marked values
  rustomize image latest POLICY.yaml  choose the latest tag (tags on stdin)
";

pub fn run(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("build") => build::run(&args[1..]),
        Some("image") => image::run(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("Error: unknown command {other:?}\n{USAGE}");
            ExitCode::from(1)
        }
        None => {
            eprintln!("Error: no command given\n{USAGE}");
            ExitCode::from(1)
        }
    }
}
