//! Whole-repository tools: find every kustomization root of a repository, build them all in
//! one process ([`check`]), and compare what two git revisions render ([`diff`]).
//!
//! CI for a GitOps repository is a loop of `kustomize build` over every directory, and a
//! review of what a change does to the rendered output. Here the loop is one process: roots
//! are built on all cores, and every file is read from disk once however many overlays
//! share it ([`SharedReads`]: the tree does not change during a check, so a cached read
//! cannot differ from a fresh one). Each root's output is exactly what `rustomize build`
//! prints for it, because it is the same build with the same options.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::build::Options;
use crate::error::{Error, ErrorKind};
use crate::fs::{DiskFs, FileSystem};
use crate::kustomization::FILE_NAMES;

/// A file system that reads each file from the one beneath once and hands out copies:
/// for many builds over one unchanging tree.
pub struct SharedReads {
    inner: Arc<dyn FileSystem>,
    files: Mutex<HashMap<PathBuf, Arc<[u8]>>>,
}

impl SharedReads {
    /// Caches the reads of `inner`.
    pub fn new(inner: Arc<dyn FileSystem>) -> SharedReads {
        SharedReads {
            inner,
            files: Mutex::new(HashMap::new()),
        }
    }
}

impl FileSystem for SharedReads {
    fn read(&self, path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
        let cached = self
            .files
            .lock()
            .ok()
            .and_then(|files| files.get(path).cloned());
        let bytes = match cached {
            Some(bytes) => bytes,
            None => {
                let bytes: Arc<[u8]> = self.inner.read(path, max_bytes)?.into();
                if let Ok(mut files) = self.files.lock() {
                    files.insert(path.to_path_buf(), bytes.clone());
                }
                bytes
            }
        };
        // A later build may allow fewer bytes than the one that filled the cache.
        if bytes.len() as u64 > max_bytes {
            return Err(crate::fs::too_large(path, max_bytes));
        }
        Ok(bytes.to_vec())
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.inner.is_file(path)
    }
    fn is_symlink(&self, path: &Path) -> bool {
        self.inner.is_symlink(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.read_dir(path)
    }
}

/// What [`check`] builds and how.
#[derive(Clone, Default)]
pub struct CheckOptions {
    /// The options every root is built with. [`check`] shares base renders between the
    /// roots through [`Options::base_cache`]: its own, unless one is set (a caller that
    /// keeps it, for another check of the same unchanged tree, or to leave it to the OS
    /// at exit). [`Options::parse_cache`] is used when set; a base render already holds
    /// what its files parsed to, so check does not make one.
    pub build: Options,
    /// Directories to leave out, as gitignore-style globs relative to the repository
    /// (`--exclude`), besides what `.gitignore` and `.sourceignore` files exclude.
    pub exclude: Vec<String>,
    /// Build only these roots (relative to the repository); all when empty.
    pub only: Vec<PathBuf>,
    /// Keep each root's output in its [`RootResult`].
    pub keep_output: bool,
}

/// A kustomization directory of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The directory, relative to the repository (`.` for the repository itself).
    pub dir: PathBuf,
    /// Whether its kustomization is a `Component` (built only as part of another).
    pub component: bool,
}

/// The files and directories of `repo` in path order, without what `.gitignore` and
/// `.sourceignore` files (as git and Flux read them), `exclude` globs and hidden names
/// leave out; symbolic links are not followed.
fn walk_repository(repo: &Path, exclude: &[String]) -> Result<ignore::Walk, Error> {
    let mut overrides = ignore::overrides::OverrideBuilder::new(repo);
    for glob in exclude {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|e| Error::new(ErrorKind::Load, glob, format!("--exclude: {e}")))?;
    }
    let overrides = overrides
        .build()
        .map_err(|e| Error::new(ErrorKind::Load, repo.display(), e.to_string()))?;
    Ok(ignore::WalkBuilder::new(repo)
        .add_custom_ignore_filename(".sourceignore")
        .require_git(false)
        .follow_links(false)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build())
}

/// Every kustomization directory under `repo`, in path order, skipping what
/// `.gitignore`/`.sourceignore` files and `exclude` globs exclude and hidden directories
/// (`.git`, `.github`).
pub fn find_roots(repo: &Path, exclude: &[String]) -> Result<Vec<Root>, Error> {
    let walk = walk_repository(repo, exclude)?;
    let mut roots = Vec::new();
    for entry in walk {
        let entry =
            entry.map_err(|e| Error::new(ErrorKind::Load, repo.display(), e.to_string()))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if !FILE_NAMES.contains(&name.as_ref()) {
            continue;
        }
        let Some(dir) = entry.path().parent() else {
            continue;
        };
        let rel = dir.strip_prefix(repo).unwrap_or(dir);
        let rel = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel.to_path_buf()
        };
        if roots.last().is_some_and(|r: &Root| r.dir == rel) {
            continue; // several kustomization files: the build reports it
        }
        roots.push(Root {
            component: is_component(entry.path()),
            dir: rel,
        });
    }
    Ok(roots)
}

fn is_component(file: &Path) -> bool {
    let Ok(bytes) = DiskFs.read(file, crate::budget::Limits::default().file_bytes) else {
        return false;
    };
    let doc = crate::yaml::read_document(
        &bytes,
        crate::yaml::Dialect::V2,
        crate::yaml::Limits::default(),
    );
    matches!(doc, Ok(Some(v)) if v.get("kind").and_then(Value::as_str) == Some("Component"))
}

/// How one root's build ended.
#[derive(Debug)]
pub enum Status {
    /// Built.
    Ok,
    /// Not built, and why (a component cannot be built on its own).
    Skipped(String),
    /// The build failed.
    Failed(Error),
}

/// One root's build.
#[derive(Debug)]
pub struct RootResult {
    /// The directory, relative to the repository.
    pub dir: PathBuf,
    /// How it ended.
    pub status: Status,
    /// Documents in the output.
    pub documents: usize,
    /// Bytes of output.
    pub bytes: usize,
    /// Time of the build and its printing.
    pub elapsed: Duration,
    /// The output (with [`CheckOptions::keep_output`]).
    pub output: Option<Vec<u8>>,
    /// Each resource's id (`Kind/namespace/name`) and its printed YAML, in output order
    /// (with [`CheckOptions::keep_output`]): what [`diff`] compares.
    pub resources: Vec<(String, String)>,
    /// kustomize's warnings for this root (deprecated fields, unused vars, ...), collected
    /// rather than sent to [`Options::warnings`].
    pub warnings: Vec<crate::warning::Warning>,
}

/// The result of [`check`].
#[derive(Debug)]
pub struct CheckReport {
    /// Every root, in path order.
    pub roots: Vec<RootResult>,
    /// Wall time of the whole check.
    pub elapsed: Duration,
}

impl CheckReport {
    /// Whether any build failed.
    pub fn failed(&self) -> bool {
        self.roots
            .iter()
            .any(|r| matches!(r.status, Status::Failed(_)))
    }

    /// The report as JSON: `{"roots": [{"dir", "status", "documents", "bytes", "ms",
    /// "warnings", "error"?, "reason"?}], "ok", "failed", "skipped", "ms"}`.
    pub fn to_json(&self) -> Value {
        let mut counts = [0usize; 3];
        let roots: Vec<Value> = self
            .roots
            .iter()
            .map(|r| {
                let mut o = json!({
                    "dir": r.dir.to_string_lossy(),
                    "documents": r.documents,
                    "bytes": r.bytes,
                    "ms": r.elapsed.as_secs_f64() * 1000.0,
                    "warnings": r.warnings.iter().map(|w| w.message.as_str()).collect::<Vec<_>>(),
                });
                let (status, i) = match &r.status {
                    Status::Ok => ("ok", 0),
                    Status::Failed(e) => {
                        o["error"] = e.to_string().into();
                        ("failed", 1)
                    }
                    Status::Skipped(why) => {
                        o["reason"] = why.as_str().into();
                        ("skipped", 2)
                    }
                };
                counts[i] += 1;
                o["status"] = status.into();
                o
            })
            .collect();
        json!({
            "roots": roots,
            "ok": counts[0],
            "failed": counts[1],
            "skipped": counts[2],
            "ms": self.elapsed.as_secs_f64() * 1000.0,
        })
    }
}

/// Builds every kustomization root of `repo` (see [`find_roots`]) on all cores in one
/// process; components are skipped. A failing root is reported, not returned as an error.
pub fn check(repo: &Path, opts: &CheckOptions) -> Result<CheckReport, Error> {
    let start = Instant::now();
    let repo = DiskFs
        .canonicalize(repo)
        .map_err(|e| Error::new(ErrorKind::Load, repo.display(), e.to_string()))?;
    let mut roots = find_roots(&repo, &opts.exclude)?;
    if !opts.only.is_empty() {
        let only: BTreeSet<PathBuf> = opts.only.iter().map(|p| normal(p)).collect();
        roots.retain(|r| only.contains(&r.dir));
    }
    let fs: Arc<dyn FileSystem> = Arc::new(SharedReads::new(Arc::new(DiskFs)));
    // Roots are spread over the threads; each build then runs on one, so that the
    // machine is not oversubscribed.
    let threads = opts.build.thread_limit();
    let mut build_opts = opts.build.clone();
    build_opts.threads = std::num::NonZeroUsize::new(1);
    build_opts
        .base_cache
        .get_or_insert_with(|| Arc::new(crate::build::BaseCache::new()));
    let results = crate::par::map(&roots, threads, |root| {
        build_root(&fs, &repo, root, &build_opts, opts.keep_output)
    });
    Ok(CheckReport {
        roots: results,
        elapsed: start.elapsed(),
    })
}

/// `./a/b` and `a/b/` as `a/b`; the repository itself as `.`.
fn normal(p: &Path) -> PathBuf {
    let n = crate::fs::normalize(p);
    if n.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        n
    }
}

fn build_root(
    fs: &Arc<dyn FileSystem>,
    repo: &Path,
    root: &Root,
    opts: &Options,
    keep_output: bool,
) -> RootResult {
    let start = Instant::now();
    let mut result = RootResult {
        dir: root.dir.clone(),
        status: Status::Ok,
        documents: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
        output: None,
        resources: Vec::new(),
        warnings: Vec::new(),
    };
    if root.component {
        result.status = Status::Skipped("a Component is built only as part of another".into());
        return result;
    }
    let dir = repo.join(&root.dir);
    let collector = crate::warning::Collector::default();
    let opts = &Options {
        warnings: Some(collector.sink()),
        ..opts.clone()
    };
    let built = crate::build::build(fs.clone(), &dir, opts)
        .and_then(|m| crate::build::emit(&m, opts).map(|out| (m, out)));
    match built {
        Ok((m, out)) => {
            result.documents = m.len();
            result.bytes = out.len();
            if keep_output {
                result.resources = m
                    .resources()
                    .iter()
                    .map(|r| {
                        let mut text = Vec::new();
                        // Printing succeeded for the whole stream, so it does for each.
                        let _ = crate::yaml::emit_document(r.obj(), &mut text);
                        (resource_key(r), String::from_utf8_lossy(&text).into_owned())
                    })
                    .collect();
                result.output = Some(out);
            }
        }
        Err(e) => result.status = Status::Failed(e),
    }
    result.warnings = collector.take();
    result.elapsed = start.elapsed();
    result
}

/// `Kind/namespace/name` (`Kind/name` when cluster-scoped or without namespace), with the
/// group for kinds outside the core group: how a reviewer names a resource.
fn resource_key(r: &crate::resource::Resource) -> String {
    let gvk = r.gvk();
    let kind = if gvk.group.is_empty() {
        gvk.kind.clone()
    } else {
        format!("{}.{}", gvk.kind, gvk.group)
    };
    match r.namespace() {
        "" => format!("{kind}/{}", r.name()),
        ns => format!("{kind}/{ns}/{}", r.name()),
    }
}

/// What changed in one root between two revisions.
#[derive(Debug, Default)]
pub struct RootDiff {
    /// The root, relative to the repository.
    pub dir: PathBuf,
    /// `added` or `removed` when the root exists at one revision only; `failed` when
    /// either build failed (the errors are in `errors`); empty otherwise.
    pub state: String,
    /// Resources only at the head revision.
    pub added: Vec<String>,
    /// Resources only at the base revision.
    pub removed: Vec<String>,
    /// Resources at both whose YAML differs, with the unified diff of their YAML.
    pub changed: Vec<(String, String)>,
    /// Build errors at the base and head revisions.
    pub errors: Vec<String>,
}

impl RootDiff {
    fn is_empty(&self) -> bool {
        self.state.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
    }
}

/// The result of [`diff`]: only the roots where something changed.
#[derive(Debug, Default)]
pub struct DiffReport {
    /// The roots whose render differs, in path order.
    pub roots: Vec<RootDiff>,
    /// The base revision as given.
    pub base: String,
    /// The head revision as given (the working tree when none).
    pub head: String,
}

impl DiffReport {
    /// Whether any root's render changed.
    pub fn changed(&self) -> bool {
        !self.roots.is_empty()
    }

    /// A plain-text report: per root, added and removed resources, then unified diffs.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for r in &self.roots {
            out.push_str(&format!("=== {}", r.dir.display()));
            if !r.state.is_empty() {
                out.push_str(&format!(" ({})", r.state));
            }
            out.push('\n');
            for e in &r.errors {
                out.push_str(&format!("error: {e}\n"));
            }
            for id in &r.added {
                out.push_str(&format!("+ {id}\n"));
            }
            for id in &r.removed {
                out.push_str(&format!("- {id}\n"));
            }
            for (_, diff) in &r.changed {
                out.push_str(diff);
            }
        }
        out
    }

    /// A Markdown report for a pull-request comment: a summary table, then a diff block per
    /// changed resource.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "### Rendered changes: `{}` → `{}`\n\n",
            self.base, self.head
        );
        if self.roots.is_empty() {
            out.push_str("No rendered resource changed.\n");
            return out;
        }
        out.push_str("| root | added | removed | changed |\n|---|---|---|---|\n");
        for r in &self.roots {
            let state = if r.state.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.state)
            };
            out.push_str(&format!(
                "| `{}`{state} | {} | {} | {} |\n",
                r.dir.display(),
                r.added.len(),
                r.removed.len(),
                r.changed.len()
            ));
        }
        for r in &self.roots {
            out.push_str(&format!("\n#### `{}`\n\n", r.dir.display()));
            for e in &r.errors {
                out.push_str(&format!("- error: `{}`\n", e.replace('`', "'")));
            }
            for id in &r.added {
                out.push_str(&format!("- added `{id}`\n"));
            }
            for id in &r.removed {
                out.push_str(&format!("- removed `{id}`\n"));
            }
            for (id, diff) in &r.changed {
                out.push_str(&format!(
                    "\n<details><summary>changed <code>{id}</code></summary>\n\n```diff\n{diff}```\n\n</details>\n"
                ));
            }
        }
        out
    }

    /// The report as JSON: `{"base", "head", "changed", "roots": [{"dir", "state",
    /// "added", "removed", "changed": [{"id", "diff"}], "errors"}]}`.
    pub fn to_json(&self) -> Value {
        let roots: Vec<Value> = self
            .roots
            .iter()
            .map(|r| {
                json!({
                    "dir": r.dir.to_string_lossy(),
                    "state": r.state,
                    "added": r.added,
                    "removed": r.removed,
                    "changed": r.changed.iter().map(|(id, d)| json!({"id": id, "diff": d})).collect::<Vec<_>>(),
                    "errors": r.errors,
                })
            })
            .collect();
        json!({"base": self.base, "head": self.head, "changed": self.changed(), "roots": roots})
    }
}

/// Compares two checks of one repository (base, then head) root by root and resource by
/// resource.
pub fn compare(base: &CheckReport, head: &CheckReport) -> Vec<RootDiff> {
    let index = |c: &'_ CheckReport| -> BTreeMap<PathBuf, usize> {
        c.roots
            .iter()
            .enumerate()
            .map(|(i, r)| (r.dir.clone(), i))
            .collect()
    };
    let (bi, hi) = (index(base), index(head));
    let dirs: BTreeSet<&PathBuf> = bi.keys().chain(hi.keys()).collect();
    let mut out = Vec::new();
    for dir in dirs {
        let b = bi.get(dir).map(|&i| &base.roots[i]);
        let h = hi.get(dir).map(|&i| &head.roots[i]);
        let mut d = RootDiff {
            dir: dir.clone(),
            ..Default::default()
        };
        let skipped =
            |r: Option<&RootResult>| r.is_some_and(|r| matches!(r.status, Status::Skipped(_)));
        if skipped(b) || skipped(h) {
            continue;
        }
        for (which, r) in [("base", b), ("head", h)] {
            if let Some(RootResult {
                status: Status::Failed(e),
                ..
            }) = r
            {
                d.errors.push(format!("{which}: {e}"));
            }
        }
        if !d.errors.is_empty() {
            let same_error = match (b, h) {
                (Some(b), Some(h)) => match (&b.status, &h.status) {
                    (Status::Failed(x), Status::Failed(y)) => x.to_string() == y.to_string(),
                    _ => false,
                },
                _ => false,
            };
            if same_error {
                continue;
            }
            d.state = "failed".into();
        }
        let (old, new) = (resources_of(b), resources_of(h));
        match (b, h) {
            (None, Some(_)) => d.state = "added".into(),
            (Some(_), None) => d.state = "removed".into(),
            _ => {}
        }
        let old_map: HashMap<&str, &str> =
            old.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let new_map: HashMap<&str, &str> =
            new.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for (id, text) in new {
            match old_map.get(id.as_str()) {
                None => d.added.push(id.clone()),
                Some(before) if *before != text => {
                    let diff = similar::TextDiff::from_lines(*before, text.as_str())
                        .unified_diff()
                        .context_radius(3)
                        .header(
                            &format!("{}: {id} (base)", dir.display()),
                            &format!("{}: {id} (head)", dir.display()),
                        )
                        .to_string();
                    d.changed.push((id.clone(), diff));
                }
                Some(_) => {}
            }
        }
        for (id, _) in old {
            if !new_map.contains_key(id.as_str()) {
                d.removed.push(id.clone());
            }
        }
        if !d.is_empty() || !d.errors.is_empty() {
            out.push(d);
        }
    }
    out
}

fn resources_of(r: Option<&RootResult>) -> &[(String, String)] {
    r.map_or(&[], |r| &r.resources)
}

/// Renders every root of the git repository `repo` at `base_ref` and at `head_ref` (the
/// working tree when `None`) and compares them. Each revision is exported with `git
/// archive` into a temporary directory: the user's checkout, index and worktrees are
/// never touched.
pub fn diff(
    repo: &Path,
    base_ref: &str,
    head_ref: Option<&str>,
    opts: &CheckOptions,
) -> Result<DiffReport, Error> {
    let mut opts = opts.clone();
    opts.keep_output = true;
    // Each revision is a tree of its own: no render carries over.
    opts.build.base_cache = None;
    opts.build.parse_cache = None;
    let base_dir = export_revision(repo, base_ref)?;
    let base = check(base_dir.path(), &opts)?;
    let head = match head_ref {
        Some(r) => {
            let head_dir = export_revision(repo, r)?;
            check(head_dir.path(), &opts)?
        }
        None => check(repo, &opts)?,
    };
    Ok(DiffReport {
        roots: compare(&base, &head),
        base: base_ref.to_string(),
        head: head_ref.unwrap_or("working tree").to_string(),
    })
}

/// `git archive REV` of the directory `repo` (its own subtree when it is below the
/// repository's top), unpacked into a new temporary directory.
fn export_revision(repo: &Path, rev: &str) -> Result<crate::remote::git::TempDir, Error> {
    let fail = |m: String| Error::new(ErrorKind::Load, repo.display(), m);
    if rev.starts_with('-') {
        return Err(fail(format!("invalid revision {rev:?}")));
    }
    let dir = crate::remote::git::TempDir::new(&std::env::temp_dir(), "rustomize-diff-")
        .map_err(|e| fail(format!("creating a temporary directory: {e}")))?;
    // Below the repository's top, export that directory's tree (`REV:sub/dir`).
    let git = crate::remote::git::git_program().map_err(|e| fail(e.to_string()))?;
    let prefix = crate::remote::git::run(
        &git,
        repo,
        &["rev-parse", "--show-prefix"],
        Duration::from_secs(60),
        &[],
    )
    .map_err(|e| fail(format!("not a git repository: {e}")))?;
    let prefix = prefix.trim();
    let tree = if prefix.is_empty() {
        rev.to_string()
    } else {
        format!("{rev}:{prefix}")
    };
    let mut archive = std::process::Command::new(&git)
        .arg("-C")
        .arg(repo)
        .args(["archive", "--format=tar", &tree])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("running git: {e}")))?;
    let stdout = archive
        .stdout
        .take()
        .ok_or_else(|| fail("git archive: no output".into()))?;
    let untar = std::process::Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir.path())
        .stdin(stdout)
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| fail(format!("running tar: {e}")))?;
    let archived = archive
        .wait_with_output()
        .map_err(|e| fail(format!("git archive: {e}")))?;
    if !archived.status.success() {
        return Err(fail(format!(
            "git archive {rev}: {}",
            String::from_utf8_lossy(&archived.stderr).trim()
        )));
    }
    if !untar.status.success() {
        return Err(fail(format!(
            "unpacking {rev}: {}",
            String::from_utf8_lossy(&untar.stderr).trim()
        )));
    }
    Ok(dir)
}

/// What [`check_flux`] renders and how.
#[derive(Clone)]
pub struct FluxCheckOptions {
    /// Substitution strictness, limits, remote access (`root` is set to the repository).
    pub flux: crate::flux::FluxOptions,
    /// Files and directories to leave out of the scan (gitignore-style globs).
    pub exclude: Vec<String>,
    /// The sources that are this repository, as `Kind/name` (default:
    /// `GitRepository/flux-system`, what `flux bootstrap` creates). Kustomizations of other
    /// sources are reported as skipped.
    pub sources: Vec<String>,
    /// Keep each render's output.
    pub keep_output: bool,
}

impl Default for FluxCheckOptions {
    fn default() -> Self {
        FluxCheckOptions {
            flux: crate::flux::FluxOptions::new("."),
            exclude: Vec::new(),
            sources: vec!["GitRepository/flux-system".into()],
            keep_output: false,
        }
    }
}

/// One Flux Kustomization's render.
#[derive(Debug)]
pub struct FluxResult {
    /// `namespace/name`.
    pub name: String,
    /// Where its definition comes from: the manifest file (relative to the repository),
    /// or the Kustomization whose render produced it.
    pub defined_in: String,
    /// The Kustomization whose render produced it (`None` when only a file defines it, or
    /// when it produces itself, as `flux-system` does).
    pub parent: Option<String>,
    /// `spec.path`.
    pub path: String,
    /// How it ended.
    pub status: Status,
    /// Documents in the output.
    pub documents: usize,
    /// Time of the last render.
    pub elapsed: Duration,
    /// The output (with [`FluxCheckOptions::keep_output`]).
    pub output: Option<Vec<u8>>,
}

/// The result of [`check_flux`].
#[derive(Debug)]
pub struct FluxReport {
    /// Every Kustomization, parents before their children, then by name.
    pub kustomizations: Vec<FluxResult>,
    /// Wall time.
    pub elapsed: Duration,
}

impl FluxReport {
    /// Whether any render failed.
    pub fn failed(&self) -> bool {
        self.kustomizations
            .iter()
            .any(|k| matches!(k.status, Status::Failed(_)))
    }

    /// The Kustomizations as a tree, one per line, children indented under the one that
    /// produced them.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut depth: HashMap<&str, usize> = HashMap::new();
        for k in &self.kustomizations {
            let d = k
                .parent
                .as_deref()
                .and_then(|p| depth.get(p))
                .map_or(0, |d| d + 1);
            depth.insert(&k.name, d);
            let indent = "  ".repeat(d);
            let line = match &k.status {
                Status::Ok => format!(
                    "ok      {indent}{}  {}  ({} documents, {:.1} ms)",
                    k.name,
                    k.path,
                    k.documents,
                    k.elapsed.as_secs_f64() * 1000.0
                ),
                Status::Skipped(why) => format!("skipped {indent}{}  ({why})", k.name),
                Status::Failed(e) => format!("FAILED  {indent}{}  {}\n        {e}", k.name, k.path),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The report as JSON: `{"kustomizations": [{"name", "definedIn", "parent", "path",
    /// "status", "documents", "ms", "error"?, "reason"?}], "ms"}`.
    pub fn to_json(&self) -> Value {
        let list: Vec<Value> = self
            .kustomizations
            .iter()
            .map(|k| {
                let mut o = json!({
                    "name": k.name, "definedIn": k.defined_in, "parent": k.parent,
                    "path": k.path, "documents": k.documents,
                    "ms": k.elapsed.as_secs_f64() * 1000.0,
                });
                o["status"] = match &k.status {
                    Status::Ok => "ok".into(),
                    Status::Skipped(why) => {
                        o["reason"] = why.as_str().into();
                        "skipped".into()
                    }
                    Status::Failed(e) => {
                        o["error"] = e.to_string().into();
                        "failed".into()
                    }
                };
                o
            })
            .collect();
        json!({"kustomizations": list, "ms": self.elapsed.as_secs_f64() * 1000.0})
    }
}

/// A Kustomization definition and where it came from.
struct Definition {
    ks: crate::flux::FluxKustomization,
    defined_in: String,
    parent: Option<String>,
}

/// Every YAML document of the repository's files (not ignored, not excluded), with the
/// file it is in; files that are not YAML manifests are skipped.
fn scan_manifests(repo: &Path, exclude: &[String]) -> Result<Vec<(PathBuf, Value)>, Error> {
    let walk = walk_repository(repo, exclude)?;
    let limits = crate::budget::Limits::default();
    let mut out = Vec::new();
    for entry in walk {
        let entry =
            entry.map_err(|e| Error::new(ErrorKind::Load, repo.display(), e.to_string()))?;
        let path = entry.path();
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if !yaml || !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(bytes) = DiskFs.read(path, limits.file_bytes) else {
            continue;
        };
        let Ok(docs) = crate::yaml::read_stream(&bytes, crate::yaml::Limits::default()) else {
            continue;
        };
        let rel = path.strip_prefix(repo).unwrap_or(path).to_path_buf();
        out.extend(docs.into_iter().map(|d| (rel.clone(), d.value)));
    }
    Ok(out)
}

fn object_key(v: &Value) -> String {
    let meta = |k: &str| {
        v.get("metadata")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    format!(
        "{}/{}/{}",
        v.get("kind").and_then(Value::as_str).unwrap_or(""),
        meta("namespace"),
        meta("name")
    )
}

/// Renders every Flux `Kustomization` of a repository as kustomize-controller would, and
/// those their renders produce (the `clusters/…` → `infrastructure` → `apps` chain): the
/// Kustomizations written in the repository's manifests are rendered, the Kustomizations
/// and the ConfigMaps/Secrets in their outputs join the set (a rendered definition replaces
/// the written one, as it is what the cluster receives), and renders repeat until nothing
/// new appears. `postBuild.substituteFrom` finds the ConfigMaps and Secrets the repository
/// defines; one that only the cluster has is reported as the render's error.
pub fn check_flux(repo: &Path, opts: &FluxCheckOptions) -> Result<FluxReport, Error> {
    use crate::flux::FluxKustomization;
    let start = Instant::now();
    let repo = DiskFs
        .canonicalize(repo)
        .map_err(|e| Error::new(ErrorKind::Load, repo.display(), e.to_string()))?;
    let mut defs: BTreeMap<String, Definition> = BTreeMap::new();
    let mut objects: BTreeMap<String, Value> = BTreeMap::new();
    for (file, doc) in scan_manifests(&repo, &opts.exclude)? {
        if FluxKustomization::is_flux_kustomization(&doc) {
            if let Ok(ks) = FluxKustomization::from_object(&doc, &file) {
                defs.entry(ks.qualified_name()).or_insert(Definition {
                    ks,
                    defined_in: file.display().to_string(),
                    parent: None,
                });
            }
        } else if matches!(
            doc.get("kind").and_then(Value::as_str),
            Some("ConfigMap" | "Secret")
        ) {
            objects.insert(object_key(&doc), doc);
        }
    }
    let mut flux_opts = opts.flux.clone();
    flux_opts.root = repo.clone();
    let fs: Arc<dyn FileSystem> = Arc::new(SharedReads::new(Arc::new(DiskFs)));
    // What each Kustomization was last rendered from (its spec and the objects known), so
    // that only what changed is rendered again.
    let mut rendered: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut results: BTreeMap<String, FluxResult> = BTreeMap::new();
    let mut generation = 0usize;
    // Each round can only add what a render printed; a chain deeper than this is a loop.
    for _round in 0..16 {
        let pending: Vec<(String, String)> = defs
            .iter()
            .map(|(name, d)| (name.clone(), Value::Object(d.ks.spec.clone()).to_string()))
            .filter(|(name, spec)| rendered.get(name) != Some(&(spec.clone(), generation)))
            .collect();
        if pending.is_empty() {
            break;
        }
        let object_list: Vec<Value> = objects.values().cloned().collect();
        let mut learned = false;
        for (name, spec) in pending {
            let d = &defs[&name];
            rendered.insert(name.clone(), (spec, generation));
            let (result, produced) = render_flux(&fs, &repo, d, &object_list, &flux_opts, opts);
            results.insert(name.clone(), result);
            for doc in produced {
                if FluxKustomization::is_flux_kustomization(&doc) {
                    let Ok(ks) = FluxKustomization::from_object(&doc, Path::new(&name)) else {
                        continue;
                    };
                    let key = ks.qualified_name();
                    let same = defs.get(&key).is_some_and(|old| old.ks.spec == ks.spec);
                    let parent = (key != name).then(|| name.clone());
                    if !same {
                        defs.insert(
                            key,
                            Definition {
                                ks,
                                defined_in: format!("rendered by {name}"),
                                parent,
                            },
                        );
                    } else if let Some(old) = defs.get_mut(&key) {
                        if old.parent.is_none() {
                            old.parent = parent;
                        }
                    }
                } else if matches!(
                    doc.get("kind").and_then(Value::as_str),
                    Some("ConfigMap" | "Secret")
                ) {
                    let key = object_key(&doc);
                    if objects.get(&key) != Some(&doc) {
                        objects.insert(key, doc);
                        learned = true;
                    }
                }
            }
        }
        if learned {
            generation += 1;
        }
    }
    for (name, d) in &defs {
        if let Some(r) = results.get_mut(name) {
            r.parent = d.parent.clone();
            r.defined_in = d.defined_in.clone();
        }
    }
    // Parents first: a depth-first walk from the Kustomizations nothing else produced.
    let mut children: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for r in results.values() {
        let parent = r.parent.clone().filter(|p| results.contains_key(p));
        children.entry(parent).or_default().push(r.name.clone());
    }
    let mut order = Vec::new();
    let mut stack: Vec<String> = children.get(&None).cloned().unwrap_or_default();
    stack.reverse();
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(c) = children.get(&Some(n.clone())) {
            stack.extend(c.iter().rev().cloned());
        }
        order.push(n);
    }
    // Kustomizations in a cycle of producers have no root: list them last.
    order.extend(
        results
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let kustomizations = order
        .into_iter()
        .filter_map(|n| results.remove(&n))
        .collect();
    Ok(FluxReport {
        kustomizations,
        elapsed: start.elapsed(),
    })
}

/// Renders one Flux Kustomization; returns its result and the documents it printed.
fn render_flux(
    fs: &Arc<dyn FileSystem>,
    repo: &Path,
    d: &Definition,
    objects: &[Value],
    flux_opts: &crate::flux::FluxOptions,
    opts: &FluxCheckOptions,
) -> (FluxResult, Vec<Value>) {
    let start = Instant::now();
    let path = d.ks.path().unwrap_or("./").to_string();
    let mut result = FluxResult {
        name: d.ks.qualified_name(),
        defined_in: d.defined_in.clone(),
        parent: d.parent.clone(),
        path: path.clone(),
        status: Status::Ok,
        documents: 0,
        elapsed: Duration::ZERO,
        output: None,
    };
    let source = d.ks.spec.get("sourceRef");
    let source = format!(
        "{}/{}",
        source
            .and_then(|s| s.get("kind"))
            .and_then(Value::as_str)
            .unwrap_or(""),
        source
            .and_then(|s| s.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
    );
    if !opts.sources.contains(&source) {
        result.status = Status::Skipped(format!("source {source} is not this repository"));
        return (result, Vec::new());
    }
    let dir = repo.join(&path);
    let built = crate::flux::build(fs.clone(), &dir, &d.ks, objects, flux_opts).and_then(|m| {
        let out = crate::build::emit(&m, &flux_opts.build_options())?;
        Ok((m, out))
    });
    let mut produced = Vec::new();
    match built {
        Ok((m, out)) => {
            result.documents = m.len();
            produced = m
                .resources()
                .iter()
                .filter(|r| matches!(r.kind(), "Kustomization" | "ConfigMap" | "Secret"))
                .map(|r| r.obj().clone())
                .collect();
            if opts.keep_output {
                result.output = Some(out);
            }
        }
        Err(e) => result.status = Status::Failed(e),
    }
    result.elapsed = start.elapsed();
    (result, produced)
}
