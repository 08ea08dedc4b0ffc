//! `rustomize check [REPO]` and `rustomize diff BASE [HEAD]`: whole-repository commands
//! over `rustomize::fleet`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use rustomize::fleet::{self, CheckOptions, Status};

use super::build::BuildFlags;
use super::Failure;

pub const CHECK_EXAMPLES: &str = "Examples:
  rustomize check                              # every kustomization under .
  rustomize check gitops --exclude 'archive/**' --format json
  rustomize check --output-dir rendered        # rendered/<dir>.yaml for each root
  rustomize check --flux                       # every Flux Kustomization, as the controller renders it";

pub const DIFF_EXAMPLES: &str = "Examples:
  rustomize diff origin/main                   # main against the working tree
  rustomize diff v1.4.0 v1.5.0 --format markdown > comment.md
  rustomize diff HEAD~1 HEAD --root clusters/prod";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The repository (default: .)
    repo: Option<PathBuf>,
    /// Leave out directories matching this gitignore-style glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Write each root's output to DIR/<root path with / as _>.yaml (_root.yaml for the
    /// repository itself)
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Summary format
    #[arg(long, value_enum, default_value = "text")]
    format: CheckFormat,
    /// At most this many builds at once (default: the cores, up to 8)
    #[arg(long, value_name = "N")]
    threads: Option<std::num::NonZeroUsize>,
    /// Render every Flux Kustomization of the repository (and those their renders
    /// produce) as kustomize-controller would, instead of every kustomization directory
    #[arg(long, help_heading = "Flux mode")]
    flux: bool,
    /// A source that is this repository, as KIND/NAME (repeatable; default
    /// GitRepository/flux-system)
    #[arg(long, value_name = "KIND/NAME", help_heading = "Flux mode")]
    source: Vec<String>,
    /// A missing ${VAR} becomes empty instead of an error
    #[arg(long, help_heading = "Flux mode")]
    no_strict_substitution: bool,
    #[command(flatten)]
    flags: BuildFlags,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The base revision (any git revision: branch, tag, commit)
    base: String,
    /// The head revision (default: the working tree)
    head: Option<String>,
    /// The repository (default: .)
    #[arg(short = 'C', long = "repo", value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Compare only this root (relative to the repository; repeatable)
    #[arg(long, value_name = "DIR")]
    root: Vec<PathBuf>,
    /// Leave out directories matching this gitignore-style glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Report format
    #[arg(long, value_enum, default_value = "text")]
    format: DiffFormat,
    #[command(flatten)]
    flags: BuildFlags,
}

/// Runs `check`; Ok(false) when a build failed (exit 1).
pub fn check(args: CheckArgs) -> Result<bool, Failure> {
    if args.flux {
        return check_flux(args);
    }
    let repo = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut build = args.flags.options()?;
    build.threads = args.threads;
    let cache = Arc::new(rustomize::build::BaseCache::new());
    build.base_cache = Some(cache.clone());
    let opts = CheckOptions {
        build,
        exclude: args.exclude.clone(),
        keep_output: args.output_dir.is_some(),
        ..Default::default()
    };
    let report = fleet::check(&repo, &opts)?;
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for r in &report.roots {
            if let Some(out) = &r.output {
                // The repository itself is `.`: not a hidden `..yaml`.
                let name = match r.dir.to_string_lossy().as_ref() {
                    "." => "_root".to_string(),
                    dir => dir.replace('/', "_"),
                };
                let file = dir.join(format!("{name}.yaml"));
                std::fs::write(&file, out).map_err(|e| format!("{}: {e}", file.display()))?;
            }
        }
    }
    match args.format {
        CheckFormat::Json => println!("{:#}", report.to_json()),
        CheckFormat::Text => {
            let (mut ok, mut failed, mut skipped) = (0, 0, 0);
            for r in &report.roots {
                let ms = r.elapsed.as_secs_f64() * 1000.0;
                let dir = r.dir.display();
                match &r.status {
                    Status::Ok => {
                        ok += 1;
                        let warned = match r.warnings.len() {
                            0 => String::new(),
                            n => format!(", {n} warnings"),
                        };
                        println!(
                            "ok      {dir}  ({} documents, {ms:.1} ms{warned})",
                            r.documents
                        );
                    }
                    Status::Skipped(why) => {
                        skipped += 1;
                        println!("skipped {dir}  ({why})");
                    }
                    Status::Failed(e) => {
                        failed += 1;
                        println!("FAILED  {dir}  ({ms:.1} ms)\n        {e}");
                    }
                }
            }
            println!(
                "{} roots: {ok} ok, {failed} failed, {skipped} skipped in {:.2} s",
                report.roots.len(),
                report.elapsed.as_secs_f64()
            );
        }
    }
    let failed = report.failed();
    // The cache holds every render of the repository: the process ends now, and the OS
    // takes the memory back faster than freeing it piece by piece would.
    std::mem::forget(cache);
    std::mem::forget(report);
    Ok(!failed)
}

/// Runs `diff`; Ok(false) when something changed (exit 1).
pub fn diff(args: DiffArgs) -> Result<bool, Failure> {
    let repo = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let opts = CheckOptions {
        build: args.flags.options()?,
        exclude: args.exclude.clone(),
        only: args.root.clone(),
        keep_output: true,
    };
    let report = fleet::diff(&repo, &args.base, args.head.as_deref(), &opts)?;
    match args.format {
        DiffFormat::Text => print!("{}", report.to_text()),
        DiffFormat::Markdown => print!("{}", report.to_markdown()),
        DiffFormat::Json => println!("{:#}", report.to_json()),
    }
    Ok(!report.changed())
}

fn check_flux(args: CheckArgs) -> Result<bool, Failure> {
    let repo = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let build = args.flags.options()?;
    let mut opts = fleet::FluxCheckOptions {
        exclude: args.exclude.clone(),
        keep_output: args.output_dir.is_some(),
        ..Default::default()
    };
    if !args.source.is_empty() {
        opts.sources = args.source.clone();
    }
    opts.flux.strict = !args.no_strict_substitution;
    opts.flux.limits = build.limits.clone();
    opts.flux.remote = build.remote.clone();
    opts.flux.threads = args.threads;
    let report = fleet::check_flux(&repo, &opts)?;
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for k in &report.kustomizations {
            if let Some(out) = &k.output {
                let file = dir.join(format!("{}.yaml", k.name.replace('/', "_")));
                std::fs::write(&file, out).map_err(|e| format!("{}: {e}", file.display()))?;
            }
        }
    }
    match args.format {
        CheckFormat::Json => println!("{:#}", report.to_json()),
        CheckFormat::Text => {
            print!("{}", report.to_text());
            println!(
                "{} Flux Kustomizations in {:.2} s",
                report.kustomizations.len(),
                report.elapsed.as_secs_f64()
            );
        }
    }
    Ok(!report.failed())
}
