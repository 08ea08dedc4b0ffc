//! `rustomize image update|latest`: the Flux image-automation commands, offline.
//!
//! - `update DIR` rewrites the `$imagepolicy`-marked values under DIR
//!   ([`rustomize::setters::update_dir`]) and prints the report.
//! - `latest POLICY.yaml` reads tags from stdin and prints the one the ImagePolicy
//!   chooses ([`rustomize::policy::ImagePolicy::latest`]).
//!
//! Thin by design: flag parsing, reading files, printing; errors become `Error: …` on
//! stderr and exit code 1.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rustomize::policy::ImagePolicy;
use rustomize::setters::{update_dir, ImageRef, Policies, UpdateOptions};

const USAGE: &str = "usage:
  rustomize image update DIR [--policy NS:NAME=IMAGE[:TAG][@DIGEST]]... [--policies FILE]
                             [--dry-run | --check] [--report text|json]
                             [--replace-read-only] [--no-wait]
      Rewrite the values marked with # {\"$imagepolicy\": \"NS:NAME[:tag|:name|:digest]\"}.
      FILE is YAML: a map NS:NAME: IMAGE, or ImagePolicy objects with status.latestRef.
      --check: write nothing and exit 1 if anything would change. The run locks the tree
      (a second run waits, or fails with --no-wait), computes every rewrite before writing
      any, and refuses read-only files unless --replace-read-only.
  rustomize image latest POLICY.yaml < tags.txt
      Print the tag the ImagePolicy chooses among the tags on stdin (one per line).
";

pub fn run(args: &[String]) -> ExitCode {
    let result = match args.first().map(String::as_str) {
        Some("update") => update(&args[1..]),
        Some("latest") => latest(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown image command {other:?}\n{USAGE}")),
        None => Err(format!("no image command given\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::from(1)
        }
    }
}

#[derive(PartialEq)]
enum ReportFormat {
    Text,
    Json,
}

/// Splits `--flag=value` / `--flag value`; `None` if `arg` is not `flag`.
fn flag_value<'a>(
    arg: &'a str,
    flag: &str,
    rest: &mut std::slice::Iter<'a, String>,
) -> Option<Result<&'a str, String>> {
    if arg == flag {
        return Some(
            rest.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{flag} needs a value")),
        );
    }
    arg.strip_prefix(flag)
        .and_then(|v| v.strip_prefix('='))
        .map(Ok)
}

fn update(args: &[String]) -> Result<(), String> {
    let mut dir: Option<&str> = None;
    let mut policies = Policies::new();
    let mut files: Vec<&str> = Vec::new();
    let mut inline: Vec<&str> = Vec::new();
    let mut options = UpdateOptions::default();
    let mut format = ReportFormat::Text;
    let mut check = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let arg = arg.as_str();
        if let Some(v) = flag_value(arg, "--policy", &mut it) {
            inline.push(v?);
        } else if let Some(v) = flag_value(arg, "--policies", &mut it) {
            files.push(v?);
        } else if let Some(v) = flag_value(arg, "--report", &mut it) {
            format = match v? {
                "text" => ReportFormat::Text,
                "json" => ReportFormat::Json,
                other => return Err(format!("--report must be text or json, not {other:?}")),
            };
        } else if arg == "--dry-run" {
            options.dry_run = true;
        } else if arg == "--check" {
            options.dry_run = true;
            check = true;
        } else if arg == "--replace-read-only" {
            options.replace_read_only = true;
        } else if arg == "--no-wait" {
            options.wait_for_lock = false;
        } else if arg == "-h" || arg == "--help" {
            print!("{USAGE}");
            return Ok(());
        } else if arg.starts_with('-') && arg != "-" {
            return Err(format!("unknown flag {arg:?}\n{USAGE}"));
        } else if dir.replace(arg).is_some() {
            return Err(format!("more than one directory given\n{USAGE}"));
        }
    }
    let dir = dir.ok_or_else(|| format!("no directory given\n{USAGE}"))?;
    // Files first, so that --policy on the command line wins.
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let loaded = Policies::from_yaml(Path::new(file), &bytes).map_err(|e| e.to_string())?;
        for (key, image) in loaded.iter() {
            policies
                .insert(key, image.clone())
                .map_err(|e| e.to_string())?;
        }
    }
    for spec in inline {
        let (key, reference) = spec
            .split_once('=')
            .ok_or_else(|| format!("--policy {spec:?}: expected NS:NAME=IMAGE[:TAG][@DIGEST]"))?;
        let image = ImageRef::parse(reference)
            .map_err(|e| format!("--policy {spec:?}: invalid image reference: {e}"))?;
        policies.insert(key, image).map_err(|e| e.to_string())?;
    }
    if policies.is_empty() {
        return Err("no policies given (use --policy or --policies)".into());
    }
    let report = update_dir(&PathBuf::from(dir), &policies, &options).map_err(|e| e.to_string())?;
    eprint!("{}", report.warnings_text());
    match format {
        ReportFormat::Text => print!("{}", report.to_text()),
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?
        ),
    }
    if check && report.changes() > 0 {
        return Err(format!(
            "--check: {} value(s) in {} file(s) would change",
            report.changes(),
            report.files.len()
        ));
    }
    Ok(())
}

fn latest(args: &[String]) -> Result<(), String> {
    let [file] = args else {
        return Err(format!("expected exactly one POLICY.yaml\n{USAGE}"));
    };
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let policy = ImagePolicy::from_yaml(Path::new(file), &bytes).map_err(|e| e.to_string())?;
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
        .map_err(|e| format!("{file}: no tag qualifies: {e}"))?;
    println!("{tag}");
    Ok(())
}
