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
    /// The options every root is built with.
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

/// Every kustomization directory under `repo`, in path order, skipping what
/// `.gitignore`/`.sourceignore` files and `exclude` globs exclude and hidden directories
/// (`.git`, `.github`).
pub fn find_roots(repo: &Path, exclude: &[String]) -> Result<Vec<Root>, Error> {
    let mut overrides = ignore::overrides::OverrideBuilder::new(repo);
    for glob in exclude {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|e| Error::new(ErrorKind::Load, glob, format!("--exclude: {e}")))?;
    }
    let overrides = overrides
        .build()
        .map_err(|e| Error::new(ErrorKind::Load, repo.display(), e.to_string()))?;
    let walk = ignore::WalkBuilder::new(repo)
        .add_custom_ignore_filename(".sourceignore")
        .require_git(false)
        .follow_links(false)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
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
    /// "error"?, "reason"?}], "ok", "failed", "skipped", "ms"}`.
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
    };
    if root.component {
        result.status = Status::Skipped("a Component is built only as part of another".into());
        return result;
    }
    let dir = repo.join(&root.dir);
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
    let prefix = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--show-prefix"])
        .output()
        .map_err(|e| fail(format!("running git: {e}")))?;
    if !prefix.status.success() {
        return Err(fail(format!(
            "not a git repository: {}",
            String::from_utf8_lossy(&prefix.stderr).trim()
        )));
    }
    let prefix = String::from_utf8_lossy(&prefix.stdout).trim().to_string();
    let tree = if prefix.is_empty() {
        rev.to_string()
    } else {
        format!("{rev}:{prefix}")
    };
    let mut archive = std::process::Command::new("git")
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
