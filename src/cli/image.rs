//! `rustomize image update|latest`: the Flux image-automation commands, offline.
//!
//! - `update DIR` rewrites the `$imagepolicy`-marked values under DIR
//!   ([`rustomize::setters::update_dir`]) and prints the report.
//! - `latest POLICY.yaml` reads tags from stdin and prints the one the ImagePolicy
//!   chooses ([`rustomize::policy::ImagePolicy::latest`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use rustomize::policy::ImagePolicy;
use rustomize::setters::{update_dir, ImageRef, Policies, UpdateOptions};

use super::Failure;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Rewrite the values marked with # {"$imagepolicy": "NS:NAME[:tag|:name|:digest]"}
    ///
    /// Only the marked values' bytes change. The run locks the tree (a second run waits, or
    /// fails with --no-wait), computes every rewrite before writing any, keeps each file's
    /// mode, owner and group, and refuses read-only files unless --replace-read-only.
    #[command(after_help = "Examples:
  rustomize image update clusters/prod --policy flux-system:app=ghcr.io/org/app:1.4.2
  rustomize image update . --policies latest.yaml --check    # exit 1 if anything would change")]
    Update(UpdateArgs),
    /// Print the tag an ImagePolicy chooses among the tags on stdin (one per line)
    #[command(after_help = "Example:
  crane ls ghcr.io/org/app | rustomize image latest policy.yaml")]
    Latest {
        /// The ImagePolicy manifest
        policy: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The tree (or one file) to update
    dir: PathBuf,
    /// A policy's latest image (repeatable; wins over --policies)
    #[arg(long, value_name = "NS:NAME=IMAGE[:TAG][@DIGEST]")]
    policy: Vec<String>,
    /// YAML: a map NS:NAME: IMAGE, or ImagePolicy objects with status.latestRef (repeatable)
    #[arg(long, value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// Compute and report the changes, write nothing
    #[arg(long)]
    dry_run: bool,
    /// Write nothing, and exit 1 if anything would change (for CI)
    #[arg(long, conflicts_with = "dry_run")]
    check: bool,
    /// The report's format
    #[arg(long, value_enum, default_value = "text")]
    report: ReportFormat,
    /// Replace files whose mode makes them read-only
    #[arg(long)]
    replace_read_only: bool,
    /// Fail at once if another update holds the tree's lock
    #[arg(long)]
    no_wait: bool,
    /// Warn about policies that no marker names
    #[arg(long)]
    warn_unmatched: bool,
}

pub fn run(cmd: ImageCommand) -> Result<(), Failure> {
    match cmd {
        ImageCommand::Update(args) => update(args),
        ImageCommand::Latest { policy } => latest(&policy),
    }
}

fn update(args: UpdateArgs) -> Result<(), Failure> {
    let mut policies = Policies::new();
    // Files first, so that --policy on the command line wins.
    for file in &args.policies {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let loaded = Policies::from_yaml(file, &bytes)?;
        for (key, image) in loaded.iter() {
            policies.insert(key, image.clone())?;
        }
    }
    for spec in &args.policy {
        let (key, reference) = spec
            .split_once('=')
            .ok_or_else(|| format!("--policy {spec:?}: expected NS:NAME=IMAGE[:TAG][@DIGEST]"))?;
        let image = ImageRef::parse(reference)
            .map_err(|e| format!("--policy {spec:?}: invalid image reference: {e}"))?;
        policies.insert(key, image)?;
    }
    if policies.is_empty() {
        return Err("no policies given (use --policy or --policies)".into());
    }
    let options = UpdateOptions {
        dry_run: args.dry_run || args.check,
        replace_read_only: args.replace_read_only,
        wait_for_lock: !args.no_wait,
    };
    let report = update_dir(&args.dir, &policies, &options)?;
    eprint!("{}", report.warnings_text());
    if args.warn_unmatched {
        for p in &report.unused_policies {
            eprintln!("warning: no marker names the policy {p}");
        }
    }
    match args.report {
        ReportFormat::Text => print!("{}", report.to_text()),
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).map_err(Failure::from)?
        ),
    }
    if args.check && report.changes() > 0 {
        return Err(format!(
            "--check: {} value(s) in {} file(s) would change",
            report.changes(),
            report.files.len()
        )
        .into());
    }
    Ok(())
}

fn latest(file: &Path) -> Result<(), Failure> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let policy = ImagePolicy::from_yaml(file, &bytes)?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("reading tags from stdin: {e}"))?;
    let tags: Vec<&str> = input
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let tag = policy
        .latest(&tags)
        .map_err(|e| format!("{}: no tag qualifies: {e}", file.display()))?;
    println!("{tag}");
    Ok(())
}
