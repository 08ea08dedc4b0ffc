//! `rustomize build [DIR] [flags]`: kustomize build's flags, the library's output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use rustomize::build::{Options, Reorder};
use rustomize::fs::{DiskFs, LoadRestrictor};
use rustomize::warning::{Warning, WarningSink};

use super::Failure;

pub const EXAMPLES: &str = "Examples:
  rustomize build                               # the kustomization in .
  rustomize build overlays/prod -o out/         # one file per resource into out/
  rustomize build 'github.com/org/repo//deploy?ref=v1' --remote-cache ~/.cache/rustomize
  rustomize build charts-app --enable-helm --helm-command /usr/local/bin/helm
  rustomize build apps --flux --substitute-from cluster-vars.yaml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Restrictor {
    #[value(name = "LoadRestrictionsRootOnly", alias = "rootOnly")]
    RootOnly,
    #[value(name = "LoadRestrictionsNone", alias = "none")]
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Order {
    Legacy,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WarningStyle {
    /// kubectl's text, and the file it concerns
    Files,
    /// exactly kubectl's text
    Kubectl,
    /// no warnings
    None,
}

/// The flags that change how a kustomization builds (shared by `build`, `check`, `diff`).
#[derive(Debug, Args)]
pub struct BuildFlags {
    /// Whether files outside a kustomization's directory may be read
    #[arg(long, alias = "load_restrictor", value_enum, value_name = "VALUE")]
    load_restrictor: Option<Restrictor>,
    /// Output order when the kustomization sets no sortOptions (deprecated in kustomize)
    #[arg(long, value_enum, value_name = "ORDER")]
    reorder: Option<Order>,
    /// Add the app.kubernetes.io/managed-by label (deprecated in kustomize)
    #[arg(long)]
    enable_managedby_label: bool,
    /// Raise or lower a build limit: file-bytes, value-bytes, nodes, resources,
    /// kustomizations, depth, output-bytes (N takes K, M, G suffixes)
    #[arg(long, value_name = "NAME=N")]
    limit: Vec<String>,
    /// Refuse remote bases and HTTP files (Flux: --no-remote-bases)
    #[arg(long, conflicts_with = "remote_cache")]
    no_remote: bool,
    /// Keep clones in DIR between builds, keyed by repository and resolved commit
    #[arg(long, value_name = "DIR")]
    remote_cache: Option<PathBuf>,
    /// How warnings are printed on stderr
    #[arg(long, value_enum, default_value = "files", value_name = "STYLE")]
    warnings: WarningStyle,
    /// Also warn about patches and replacements that match no resource
    #[arg(long)]
    warn_unmatched: bool,

    /// Inflate helmCharts with the helm binary
    #[arg(long, help_heading = "Helm")]
    enable_helm: bool,
    /// The helm program
    #[arg(
        long,
        default_value = "helm",
        value_name = "CMD",
        help_heading = "Helm"
    )]
    helm_command: String,
    /// Capabilities.APIVersions for helm template (repeatable)
    #[arg(long, value_name = "V", help_heading = "Helm")]
    helm_api_versions: Vec<String>,
    /// Capabilities.KubeVersion for helm template
    #[arg(long, default_value = "", value_name = "V", help_heading = "Helm")]
    helm_kube_version: String,
    /// Pass --debug to helm template
    #[arg(long, help_heading = "Helm")]
    helm_debug: bool,

    /// Enable plugins: the Helm generator, as in kustomize (exec and container plugins are
    /// not run)
    #[arg(long, help_heading = "Plugins (accepted for kubectl's command lines)")]
    enable_alpha_plugins: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The kustomization directory, or a remote repository URL (default: .)
    dir: Option<PathBuf>,
    /// Write to this file, or one file per resource into this directory
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    #[command(flatten)]
    flags: BuildFlags,

    #[arg(long, hide = true)]
    enable_exec: bool,
    #[arg(long, hide = true)]
    network: bool,
    #[arg(long, hide = true)]
    as_current_user: bool,
    #[arg(short = 'e', long = "env", hide = true)]
    env: Vec<String>,
    #[arg(long, hide = true)]
    mount: Vec<String>,
    #[arg(long, hide = true)]
    network_name: Option<String>,

    /// Render what Flux's kustomize-controller applies: no legacy sort, a kustomization
    /// generated when DIR has none, nothing read outside the repository
    #[arg(long, help_heading = "Flux mode")]
    flux: bool,
    /// A file of Flux Kustomization manifests: the one chosen applies (implies --flux);
    /// without DIR, its spec.path under the repository root is built
    #[arg(long, value_name = "FILE", help_heading = "Flux mode")]
    flux_kustomization: Option<PathBuf>,
    /// Which Kustomization of that file (metadata.name, or NAMESPACE/NAME)
    #[arg(
        long,
        value_name = "NAME",
        requires = "flux_kustomization",
        help_heading = "Flux mode"
    )]
    name: Option<String>,
    /// ConfigMaps/Secrets that postBuild.substituteFrom may name (repeatable)
    #[arg(long, value_name = "FILE", help_heading = "Flux mode")]
    substitute_from: Vec<PathBuf>,
    /// The repository root (default: the Git work tree holding DIR, else DIR)
    #[arg(long, value_name = "DIR", help_heading = "Flux mode")]
    flux_root: Option<PathBuf>,
    /// A missing ${VAR} becomes empty instead of an error
    #[arg(long, help_heading = "Flux mode")]
    no_strict_substitution: bool,
}

impl BuildFlags {
    /// The library options these flags ask for.
    pub fn options(&self) -> Result<Options, Failure> {
        let mut opts = Options::default();
        match self.load_restrictor {
            Some(Restrictor::None) => opts.load_restrictor = LoadRestrictor::None,
            Some(Restrictor::RootOnly) | None => {}
        }
        opts.reorder = match self.reorder {
            None => Reorder::Unspecified,
            Some(Order::Legacy) => Reorder::Legacy,
            Some(Order::None) => Reorder::None,
        };
        opts.add_managed_by_label = self.enable_managedby_label;
        for l in &self.limit {
            let (name, n) = l
                .split_once('=')
                .ok_or_else(|| format!("--limit {l}: expected NAME=N"))?;
            opts.limits.set(name, n)?;
        }
        if !self.no_remote {
            let network = match &self.remote_cache {
                Some(dir) => rustomize::remote::Network::with_cache(dir),
                None => rustomize::remote::Network::default(),
            };
            opts.remote = Some(Arc::new(network));
        }
        opts.helm = rustomize::helm::HelmOptions {
            enabled: self.enable_helm || self.enable_alpha_plugins,
            command: self.helm_command.clone(),
            api_versions: self.helm_api_versions.clone(),
            kube_version: self.helm_kube_version.clone(),
            debug: self.helm_debug,
        };
        opts.warn_unmatched = self.warn_unmatched;
        let style = self.warnings;
        if style != WarningStyle::None {
            opts.warnings = Some(WarningSink::new(move |w| print_warning(&w, style)));
        }
        Ok(opts)
    }
}

impl BuildArgs {
    fn is_flux(&self) -> bool {
        self.flux || self.flux_kustomization.is_some()
    }
}

fn print_warning(w: &Warning, style: WarningStyle) {
    match (&w.file, style) {
        (Some(file), WarningStyle::Files) => eprintln!("{} (in {})", w.message, file.display()),
        _ => eprintln!("{}", w.message),
    }
}

pub fn run(args: BuildArgs) -> Result<(), Failure> {
    let opts = args.flags.options()?;
    let fs = Arc::new(DiskFs);
    let m = if args.is_flux() {
        build_flux(fs, &args, &opts)?
    } else {
        let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        rustomize::build::build(fs, &dir, &opts)?
    };
    let written = match &args.output {
        Some(dir) if dir.is_dir() => write_individual_files(dir, &m),
        other => {
            let bytes = rustomize::build::emit(&m, &opts)?;
            let written = match other {
                Some(file) => std::fs::write(file, &bytes)
                    .map_err(|e| Failure::from(format!("{}: {e}", file.display()))),
                None => {
                    // A closed pipe (`| head`) ends the process by SIGPIPE, as kubectl's.
                    let mut out = std::io::stdout().lock();
                    out.write_all(&bytes)
                        .and_then(|_| out.flush())
                        .map_err(Failure::from)
                }
            };
            std::mem::forget(bytes);
            written
        }
    };
    // The process ends next: freeing every node of a large build one by one would only
    // delay the exit (a tenth of the run time for the largest corpus roots).
    std::mem::forget(m);
    written
}

fn build_flux(
    fs: Arc<DiskFs>,
    args: &BuildArgs,
    build: &Options,
) -> Result<rustomize::resource::ResMap, Failure> {
    use rustomize::flux::{FluxKustomization, FluxOptions};
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let ks = match &args.flux_kustomization {
        Some(p) => FluxKustomization::select(&read(p)?, p, args.name.as_deref())?,
        None => FluxKustomization::default(),
    };
    let mut objects = Vec::new();
    for p in &args.substitute_from {
        let docs = rustomize::yaml::read_stream(&read(p)?, Default::default())
            .map_err(|e| format!("{}: {e}", p.display()))?;
        objects.extend(docs.into_iter().map(|d| d.value));
    }
    // Without DIR, the Kustomization's spec.path under the repository root.
    let (dir, root) = match (&args.dir, &args.flux_root) {
        (Some(dir), Some(root)) => (dir.clone(), root.clone()),
        (Some(dir), None) => (
            dir.clone(),
            git_work_tree(dir).unwrap_or_else(|| dir.clone()),
        ),
        (None, root) => {
            let root = match root {
                Some(r) => r.clone(),
                None => args
                    .flux_kustomization
                    .as_deref()
                    .and_then(|f| f.parent())
                    .and_then(git_work_tree)
                    .or_else(|| git_work_tree(Path::new(".")))
                    .unwrap_or_else(|| PathBuf::from(".")),
            };
            (root.join(ks.path().unwrap_or(".")), root)
        }
    };
    let mut opts = FluxOptions::new(root);
    opts.strict = !args.no_strict_substitution;
    opts.limits = build.limits.clone();
    opts.remote = build.remote.clone();
    Ok(rustomize::flux::build(fs, &dir, &ks, &objects, &opts)?)
}

/// The nearest directory at or above `dir` that holds `.git`.
fn git_work_tree(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// kustomize's `-o DIR`: one file per resource, named by the library (which refuses names
/// that would leave DIR). An existing symlink in DIR is not written through.
fn write_individual_files(dir: &Path, m: &rustomize::resource::ResMap) -> Result<(), Failure> {
    let files = rustomize::build::output::individual_files(m)?;
    for (name, bytes) in files {
        let p = dir.join(&name);
        if p.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(format!(
                "{}: is a symbolic link; not writing through it",
                p.display()
            )
            .into());
        }
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}
