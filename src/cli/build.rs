//! `rustomize build DIR [flags]`: kustomize build's flags, the library's output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use rustomize::build::{Options, Reorder};
use rustomize::fs::{DiskFs, LoadRestrictor};

const HELP: &str = "usage: rustomize build [DIR] [flags]

Flags (as `kustomize build`):
  -o, --output PATH             write to a file, or one file per resource into a directory
      --load-restrictor VALUE   LoadRestrictionsRootOnly (default) | LoadRestrictionsNone
      --reorder VALUE           legacy (default) | none
      --enable-managedby-label  add app.kubernetes.io/managed-by
      --no-remote               refuse remote bases and HTTP files (Flux: --no-remote-bases)
      --remote-cache DIR        keep clones in DIR, keyed by repository and resolved commit
      --limit NAME=N            raise or lower a build limit (repeatable): file-bytes,
                                value-bytes, nodes, resources, kustomizations, depth,
                                output-bytes; N takes K, M, G suffixes
      --enable-helm             inflate helmCharts with the helm binary
      --helm-command CMD        the helm program (default: helm)
      --helm-api-versions V     Capabilities.APIVersions for helm template (repeatable)
      --helm-kube-version V     Capabilities.KubeVersion for helm template
      --helm-debug              pass --debug to helm template
  (--enable-alpha-plugins enables Helm as in kustomize; exec and container plugins are
   not run)

Flux mode (what kustomize-controller applies):
      --flux                    no legacy sort, no load restrictor but nothing read outside
                                the Flux root, a kustomization generated when DIR has none
      --flux-kustomization FILE a Flux Kustomization manifest: its spec (targetNamespace,
                                namePrefix, patches, images, components, postBuild, ...)
                                applies (implies --flux)
      --substitute-from FILE    ConfigMaps/Secrets that postBuild.substituteFrom may name
                                (repeatable)
      --flux-root DIR           the repository root (default: the Git work tree holding
                                DIR, else DIR)
      --no-strict-substitution  a missing ${VAR} becomes empty instead of an error
";

struct Args {
    dir: PathBuf,
    output: Option<PathBuf>,
    opts: Options,
    flux: Option<FluxArgs>,
}

#[derive(Default)]
struct FluxArgs {
    kustomization: Option<PathBuf>,
    substitute_from: Vec<PathBuf>,
    root: Option<PathBuf>,
    lenient: bool,
}

fn parse(args: &[String]) -> Result<Option<Args>, String> {
    let mut dir: Option<PathBuf> = None;
    let mut output = None;
    let mut opts = Options::default();
    let mut flux: Option<FluxArgs> = None;
    let mut no_remote = false;
    let mut remote_cache: Option<PathBuf> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
            _ => (a, None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("flag needs an argument: {name}"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "-o" | "--output" => output = Some(PathBuf::from(value(flag)?)),
            "--load-restrictor" | "--load_restrictor" => {
                opts.load_restrictor = match value(flag)?.as_str() {
                    "LoadRestrictionsRootOnly" | "rootOnly" => LoadRestrictor::RootOnly,
                    "LoadRestrictionsNone" | "none" => LoadRestrictor::None,
                    other => return Err(format!("illegal flag value --load-restrictor {other}; legal values: [LoadRestrictionsRootOnly LoadRestrictionsNone]")),
                }
            }
            "--reorder" => {
                opts.reorder = match value(flag)?.as_str() {
                    "legacy" => Reorder::Legacy,
                    "none" => Reorder::None,
                    other => return Err(format!("illegal flag value --reorder {other}; legal values: [legacy none]")),
                }
            }
            "--enable-managedby-label" => opts.add_managed_by_label = true,
            "--no-remote" => no_remote = true,
            "--remote-cache" => remote_cache = Some(PathBuf::from(value(flag)?)),
            "--limit" => {
                let v = value(flag)?;
                let (name, n) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--limit {v}: expected NAME=N"))?;
                opts.limits.set(name, n)?;
            }
            "--flux" => {
                flux.get_or_insert_with(FluxArgs::default);
            }
            "--flux-kustomization" => {
                let v = value(flag)?;
                flux.get_or_insert_with(FluxArgs::default).kustomization = Some(v.into());
            }
            "--substitute-from" => {
                let v = value(flag)?;
                let f = flux.get_or_insert_with(FluxArgs::default);
                f.substitute_from.push(v.into());
            }
            "--flux-root" => {
                let v = value(flag)?;
                flux.get_or_insert_with(FluxArgs::default).root = Some(v.into());
            }
            "--no-strict-substitution" => {
                flux.get_or_insert_with(FluxArgs::default).lenient = true;
            }
            "--enable-helm" => opts.helm.enabled = true,
            // kustomize enables its Helm generator with the alpha plugins too; exec and
            // container plugins are not run (a clear error names them).
            "--enable-alpha-plugins" => opts.helm.enabled = true,
            "--helm-debug" => opts.helm.debug = true,
            "--helm-command" => opts.helm.command = value(flag)?,
            "--helm-kube-version" => opts.helm.kube_version = value(flag)?,
            "--helm-api-versions" => {
                let v = value(flag)?;
                opts.helm.api_versions.push(v);
            }
            // kustomize's function-plugin flags are accepted so that command lines written
            // for kubectl work.
            "--enable-exec" | "--network" | "--as-current-user" => {}
            "-e" | "--env" | "--mount" | "--network-name" => {
                value(flag)?;
            }
            f if f.starts_with('-') && f.len() > 1 => return Err(format!("unknown flag: {f}")),
            _ => {
                if dir.is_some() {
                    return Err("specify one path to a kustomization directory".into());
                }
                dir = Some(PathBuf::from(a));
            }
        }
        i += 1;
    }
    if no_remote && remote_cache.is_some() {
        return Err("--remote-cache and --no-remote exclude each other".into());
    }
    if !no_remote {
        let network = match remote_cache {
            Some(dir) => rustomize::remote::Network::with_cache(dir),
            None => rustomize::remote::Network::default(),
        };
        opts.remote = Some(Arc::new(network));
    }
    Ok(Some(Args {
        dir: dir.unwrap_or_else(|| PathBuf::from(".")),
        output,
        opts,
        flux,
    }))
}

pub fn run(args: &[String]) -> ExitCode {
    let a = match parse(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("Error: {e}\n\n{HELP}");
            return ExitCode::from(1);
        }
    };
    match execute(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}

fn execute(a: &Args) -> Result<(), String> {
    let fs = Arc::new(DiskFs);
    let m = match &a.flux {
        None => rustomize::build::build(fs, &a.dir, &a.opts),
        Some(f) => build_flux(fs, &a.dir, f, &a.opts)?,
    }
    .map_err(|e| e.to_string())?;
    match &a.output {
        Some(dir) if dir.is_dir() => write_individual_files(dir, &m),
        other => {
            let bytes = rustomize::build::emit(&m, &a.opts.limits).map_err(|e| e.to_string())?;
            match other {
                Some(file) => {
                    std::fs::write(file, &bytes).map_err(|e| format!("{}: {e}", file.display()))
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&bytes)
                        .and_then(|_| out.flush())
                        .map_err(|e| e.to_string())
                }
            }
        }
    }
}

fn build_flux(
    fs: Arc<DiskFs>,
    dir: &Path,
    f: &FluxArgs,
    build: &Options,
) -> Result<Result<rustomize::resource::ResMap, rustomize::Error>, String> {
    use rustomize::flux::{FluxKustomization, FluxOptions};
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let ks = match &f.kustomization {
        Some(p) => FluxKustomization::parse(&read(p)?, p).map_err(|e| e.to_string())?,
        None => FluxKustomization::default(),
    };
    let mut objects = Vec::new();
    for p in &f.substitute_from {
        let docs = rustomize::yaml::read_stream(&read(p)?, Default::default())
            .map_err(|e| format!("{}: {e}", p.display()))?;
        objects.extend(docs.into_iter().map(|d| d.value));
    }
    let root = match &f.root {
        Some(r) => r.clone(),
        None => git_work_tree(dir).unwrap_or_else(|| dir.to_path_buf()),
    };
    let mut opts = FluxOptions::new(root);
    opts.strict = !f.lenient;
    opts.limits = build.limits.clone();
    opts.remote = build.remote.clone();
    Ok(rustomize::flux::build(fs, dir, &ks, &objects, &opts))
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
fn write_individual_files(dir: &Path, m: &rustomize::resource::ResMap) -> Result<(), String> {
    let files = rustomize::build::output::individual_files(m).map_err(|e| e.to_string())?;
    for (name, bytes) in files {
        let p = dir.join(&name);
        if p.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(format!(
                "{}: is a symbolic link; not writing through it",
                p.display()
            ));
        }
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}
