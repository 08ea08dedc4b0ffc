//! Command-line front end (clap): `rustomize build`, `check`, `diff`, `edit`, `image`,
//! `completion`.
//! Thin: it parses flags, calls the library, prints, and maps errors to exit code 1.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod build;
mod edit;
mod fleet;
mod image;

const ABOUT: &str = "A Kustomize rendering engine: `kustomize build`'s bytes, faster, safe on \
untrusted repositories; Flux's image automation with minimal diffs.";

const EXAMPLES: &str = "Examples:
  rustomize build overlays/prod                 # print what `kustomize build` prints
  rustomize build overlays/prod -o out/         # one file per resource
  rustomize build 'https://github.com/org/repo//deploy?ref=v1.2.0'
  rustomize build apps --flux --flux-kustomization clusters/prod/apps.yaml --name apps
  rustomize check                               # build every kustomization in the repository
  rustomize diff origin/main --format markdown  # what this branch changes, rendered
  rustomize edit set image app=registry.example.com/app:1.4.2
  rustomize image update clusters/prod --policy flux-system:app=ghcr.io/org/app:1.4.2
  rustomize completion bash > /etc/bash_completion.d/rustomize";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "rustomize",
    version = concat!(env!("CARGO_PKG_VERSION"), " (kustomize v5.5.0 compatible)"),
    about = ABOUT,
    after_help = EXAMPLES,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a kustomization as `kustomize build` does (DIR may be a git URL)
    #[command(after_help = build::EXAMPLES)]
    Build(build::BuildArgs),
    /// Build every kustomization of a repository in one process and report each
    #[command(after_help = fleet::CHECK_EXAMPLES)]
    Check(fleet::CheckArgs),
    /// Render every kustomization at two git revisions and show what changed per resource
    #[command(after_help = fleet::DIFF_EXAMPLES)]
    Diff(fleet::DiffArgs),
    /// Edit a kustomization file in place, as `kustomize edit` does, changing only what it must
    Edit(edit::EditArgs),
    /// Flux image automation, offline: rewrite $imagepolicy markers, pick the latest tag
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completion {
        /// The shell
        shell: clap_complete::Shell,
    },
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with success; usage errors exit 1, as kubectl.
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Ok(false): the command ran and its answer is "no" (a build failed, something
    // changed): exit 1 without an error message.
    let result = match cli.command {
        Command::Check(args) => fleet::check(args),
        Command::Diff(args) => fleet::diff(args),
        Command::Build(args) => build::run(args).map(|()| true),
        Command::Edit(cmd) => edit::run(cmd).map(|()| true),
        Command::Image(cmd) => image::run(cmd).map(|()| true),
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "rustomize",
                &mut std::io::stdout(),
            );
            Ok(true)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Failure(message)) => {
            eprintln!("Error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Why a command failed, for stderr.
pub struct Failure(String);

impl<T: std::fmt::Display> From<T> for Failure {
    fn from(e: T) -> Failure {
        Failure(e.to_string())
    }
}
