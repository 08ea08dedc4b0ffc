//! `rustomize edit`: kustomize's `edit` commands on the kustomization in the current (or
//! `--dir`) directory, changing only the bytes that must change ([`rustomize::edit`]).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use rustomize::edit::{edit_bytes, go_match, parse_pairs, Edit, ImageArg, PatchArg};

use super::Failure;

#[derive(Debug, Subcommand)]
pub enum EditCommand {
    /// Set a value: image, namespace, nameprefix, namesuffix, replicas, label, annotation
    #[command(subcommand)]
    Set(SetCommand),
    /// Add to a list or map: resource, component, patch, label, annotation
    #[command(subcommand)]
    Add(AddCommand),
    /// Remove resources
    #[command(subcommand)]
    Remove(RemoveCommand),
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The directory holding the kustomization
    #[arg(long, short = 'C', default_value = ".", global = true)]
    dir: PathBuf,
    #[command(subcommand)]
    command: EditCommand,
}

#[derive(Debug, Subcommand)]
pub enum SetCommand {
    /// Images: NAME=NEWNAME:TAG@DIGEST, NAME:TAG, NAME@DIGEST; `*` keeps the current part
    #[command(after_help = "Examples:
  rustomize edit set image app=registry.example.com/app:1.4.2
  rustomize edit set image app:1.4.2 db=*@sha256:0123...")]
    Image {
        #[arg(required = true, value_name = "IMAGE")]
        images: Vec<String>,
    },
    /// The namespace
    Namespace { namespace: String },
    /// The name prefix
    Nameprefix { prefix: String },
    /// The name suffix (use `--` before a suffix that starts with `-`)
    Namesuffix { suffix: String },
    /// Replica counts: NAME=COUNT
    Replicas {
        #[arg(required = true, value_name = "NAME=COUNT")]
        replicas: Vec<String>,
    },
    /// commonLabels entries KEY:VALUE (overwriting)
    Label {
        #[arg(value_name = "KEY:VALUE")]
        pairs: Vec<String>,
    },
    /// commonAnnotations entries KEY:VALUE (overwriting)
    Annotation {
        #[arg(value_name = "KEY:VALUE")]
        pairs: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// Resources (files, directories or URLs; globs are expanded)
    Resource {
        #[arg(value_name = "PATH")]
        paths: Vec<String>,
        /// Add the arguments as given, without expanding or checking them
        #[arg(long)]
        no_verify: bool,
    },
    /// Components (directories or URLs; globs are expanded)
    Component {
        #[arg(value_name = "PATH")]
        paths: Vec<String>,
    },
    /// A patch, from a file (--path) or inline (--patch), with an optional target
    // `--version` is the target's API version here, as in kustomize, not the program's.
    #[command(disable_version_flag = true)]
    Patch {
        #[arg(long, default_value = "")]
        path: String,
        #[arg(long, default_value = "")]
        patch: String,
        #[arg(long, default_value = "")]
        group: String,
        #[arg(long, default_value = "")]
        version: String,
        #[arg(long, default_value = "")]
        kind: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        namespace: String,
        #[arg(long, default_value = "")]
        annotation_selector: String,
        #[arg(long, default_value = "")]
        label_selector: String,
    },
    /// Labels KEY:VALUE (commonLabels, or a labels entry with --without-selector)
    Label {
        #[arg(value_name = "KEY:VALUE")]
        pairs: Vec<String>,
        /// Overwrite existing keys
        #[arg(short, long)]
        force: bool,
        /// A `labels:` entry that leaves selectors alone
        #[arg(long)]
        without_selector: bool,
        /// With --without-selector: label pod templates too
        #[arg(long)]
        include_templates: bool,
    },
    /// commonAnnotations entries KEY:VALUE
    Annotation {
        #[arg(value_name = "KEY:VALUE")]
        pairs: Vec<String>,
        /// Overwrite existing keys
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RemoveCommand {
    /// Resources matching the patterns (`*`, `?`, `[...]`)
    Resource {
        #[arg(value_name = "PATTERN")]
        patterns: Vec<String>,
    },
}

pub fn run(args: EditArgs) -> Result<(), Failure> {
    let dir = args.dir;
    let edit = to_edit(args.command, &dir)?;
    let file = kustomization_file(&dir)?;
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let edited = edit_bytes(&bytes, &edit)?;
    for n in &edited.notices {
        eprintln!("{n}");
    }
    if edited.changed {
        rustomize::setters::files::write_atomic(&file, &edited.bytes)?;
    }
    Ok(())
}

fn to_edit(cmd: EditCommand, dir: &Path) -> Result<Edit, Failure> {
    Ok(match cmd {
        EditCommand::Set(s) => match s {
            SetCommand::Image { images } => {
                let args = images
                    .iter()
                    .map(|i| ImageArg::parse(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Edit::SetImage(args)
            }
            SetCommand::Namespace { namespace } => Edit::SetNamespace(namespace),
            SetCommand::Nameprefix { prefix } => Edit::SetNamePrefix(prefix),
            SetCommand::Namesuffix { suffix } => Edit::SetNameSuffix(suffix),
            SetCommand::Replicas { replicas } => {
                let mut list = Vec::new();
                for r in &replicas {
                    let bad =
                        || "invalid format of replica, use the following format: <name>=<count>";
                    let parts: Vec<&str> = r.split('=').collect();
                    let [name, count] = parts.as_slice() else {
                        return Err(bad().into());
                    };
                    let count: i64 = count.parse().map_err(|_| bad())?;
                    list.push((name.to_string(), count));
                }
                Edit::SetReplicas(list)
            }
            SetCommand::Label { pairs } => Edit::SetLabels(parse_pairs(&pairs, "label")?),
            SetCommand::Annotation { pairs } => {
                Edit::SetAnnotations(parse_pairs(&pairs, "annotation")?)
            }
        },
        EditCommand::Add(a) => match a {
            AddCommand::Resource { paths, no_verify } => {
                if paths.is_empty() {
                    return Err("must specify a resource file".into());
                }
                let expanded = if no_verify {
                    paths
                } else {
                    expand(dir, &paths)?
                };
                Edit::AddResources(expanded)
            }
            AddCommand::Component { paths } => {
                if paths.is_empty() {
                    return Err("must specify a component file".into());
                }
                let expanded = expand(dir, &paths)?;
                Edit::AddComponents(expanded)
            }
            AddCommand::Patch {
                path,
                patch,
                group,
                version,
                kind,
                name,
                namespace,
                annotation_selector,
                label_selector,
            } => Edit::AddPatch(PatchArg {
                path,
                patch,
                target: vec![
                    ("group", group),
                    ("version", version),
                    ("kind", kind),
                    ("name", name),
                    ("namespace", namespace),
                    ("annotationSelector", annotation_selector),
                    ("labelSelector", label_selector),
                ],
            }),
            AddCommand::Label {
                pairs,
                force,
                without_selector,
                include_templates,
            } => {
                if pairs.is_empty() {
                    return Err("must specify label".into());
                }
                if include_templates && !without_selector {
                    return Err(
                        "--without-selector flag must be specified for --include-templates to work"
                            .into(),
                    );
                }
                Edit::AddLabels {
                    pairs: parse_pairs(&pairs, "label")?,
                    force,
                    without_selector,
                    include_templates,
                }
            }
            AddCommand::Annotation { pairs, force } => Edit::AddAnnotations {
                pairs: parse_pairs(&pairs, "annotation")?,
                force,
            },
        },
        EditCommand::Remove(RemoveCommand::Resource { patterns }) => {
            Edit::RemoveResources(patterns)
        }
    })
}

/// The kustomization file in `dir`, as kustomize's edit finds it.
fn kustomization_file(dir: &Path) -> Result<PathBuf, Failure> {
    let found: Vec<PathBuf> = rustomize::KUSTOMIZATION_FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.exists())
        .collect();
    match found.as_slice() {
        [] => Err("Missing kustomization file 'kustomization.yaml'.".into()),
        [one] if !one.is_file() => Err(format!("{} should be a file", one.display()).into()),
        [one] => Ok(one.clone()),
        many => Err(format!(
            "Found multiple kustomization file: {:?}",
            many.iter()
                .map(|p| p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned())
                .collect::<Vec<_>>()
        )
        .into()),
    }
}

/// kustomize's argument expansion: Go globs relative to `dir` (hidden names only when the
/// pattern asks for them), else a remote URL or an error.
fn expand(dir: &Path, args: &[String]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for arg in args {
        let matches = glob(dir, arg)?;
        if !matches.is_empty() {
            out.extend(matches);
        } else if rustomize::remote::RepoSpec::parse(arg).is_ok()
            || rustomize::remote::is_http_url(arg)
        {
            out.push(arg.clone());
        } else {
            return Err(format!(
                "{arg} has no match: must build at directory: not a valid directory: '{arg}' doesn't exist"
            )
            .into());
        }
    }
    Ok(out)
}

fn glob(dir: &Path, pattern: &str) -> Result<Vec<String>, Failure> {
    if Path::new(pattern).is_absolute() {
        return Ok(if Path::new(pattern).exists() {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        });
    }
    // Go's Glob returns a pattern without meta characters as written, if it exists.
    if !pattern.contains(['*', '?', '[', '\\']) {
        return Ok(if dir.join(pattern).symlink_metadata().is_ok() {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        });
    }
    let hidden_ok = Path::new(pattern)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
    let mut found = vec![String::new()];
    for part in pattern.split('/').filter(|p| !p.is_empty() && *p != ".") {
        let mut next = Vec::new();
        for prefix in &found {
            let base = if prefix.is_empty() {
                dir.to_path_buf()
            } else {
                dir.join(prefix)
            };
            if !part.contains(['*', '?', '[', '\\']) {
                let candidate = join(prefix, part);
                if dir.join(&candidate).symlink_metadata().is_ok() {
                    next.push(candidate);
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&base) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for n in names {
                if go_match(part, &n)? {
                    next.push(join(prefix, &n));
                }
            }
        }
        found = next;
    }
    Ok(found
        .into_iter()
        .filter(|p| !p.is_empty())
        .filter(|p| {
            hidden_ok
                || !Path::new(p)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect())
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}
