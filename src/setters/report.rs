//! What an update changed, per file and per object, as text for people and JSON for
//! tools. The shape follows Flux's `update.Result` (file → object → changes, each change
//! with old value, new value and setter), plus where the value sits in the file.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{json, Value};

/// The document a change was made in, identified as Flux identifies it; fields absent from
/// the document are empty (a kustomization has only `apiVersion` and `kind`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectId {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// One rewritten value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The marker's setter name (`flux-system:app:tag`).
    pub setter: String,
    /// The value before the update.
    pub old: String,
    /// The value written.
    pub new: String,
    /// Where the value sits in its document (`spec.containers[0].image`).
    pub field: String,
    /// 1-based line of the old value in the original file.
    pub line: usize,
    /// 1-based column (in characters) of the old value in the original file.
    pub column: usize,
}

/// The changes made in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChanges {
    /// The document's identity; documents that share one share an entry, as in Flux.
    pub object: ObjectId,
    /// In file order.
    pub changes: Vec<Change>,
}

/// A file with at least one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Relative to the directory that was updated.
    pub path: PathBuf,
    /// Changes per object, in file order.
    pub objects: Vec<ObjectChanges>,
    /// False on a dry run.
    pub written: bool,
}

/// A file that carries the marker token but was left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Relative to the directory that was updated.
    pub path: PathBuf,
    /// Why it was skipped, without the file name.
    pub reason: String,
}

/// The outcome of [`super::update_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Files with changes, in walk order.
    pub files: Vec<FileReport>,
    /// Files with the `"$imagepolicy"` token that could not be used (Flux skips them silently).
    pub skipped: Vec<Skipped>,
    /// Every file that contained the token and was therefore parsed.
    pub screened: Vec<PathBuf>,
    /// Nothing was written because the run was a dry run.
    pub dry_run: bool,
    /// Policies given that no marker in the tree names (a typo, or a stale policy).
    pub unused_policies: Vec<String>,
}

impl ObjectId {
    /// `Kind namespace/name`, as far as known.
    fn describe(&self) -> String {
        let mut s = if self.kind.is_empty() {
            String::from("document")
        } else {
            self.kind.clone()
        };
        match (self.namespace.as_str(), self.name.as_str()) {
            ("", "") => {}
            ("", name) => write!(s, " {name}").unwrap_or_default(),
            (ns, name) => write!(s, " {ns}/{name}").unwrap_or_default(),
        }
        s
    }
}

impl Report {
    /// Number of values changed.
    pub fn changes(&self) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.objects)
            .map(|o| o.changes.len())
            .sum()
    }

    /// One line per change, `path:line:column: setter: old -> new (object)`, then the
    /// skipped files and a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            for object in &file.objects {
                for c in &object.changes {
                    let _ = writeln!(
                        out,
                        "{}:{}:{}: {}: {} -> {} ({} {})",
                        file.path.display(),
                        c.line,
                        c.column,
                        c.setter,
                        c.old,
                        c.new,
                        object.object.describe(),
                        c.field,
                    );
                }
            }
        }
        let changes = self.changes();
        let files = self.files.len();
        let _ = writeln!(
            out,
            "{changes} value{} changed in {files} file{}{}",
            if changes == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" },
            if self.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            },
        );
        out
    }

    /// The files that were skipped, one `warning:` line each (for stderr).
    pub fn warnings_text(&self) -> String {
        let mut out = String::new();
        for s in &self.skipped {
            let _ = writeln!(out, "warning: skipped {}: {}", s.path.display(), s.reason);
        }
        out
    }

    /// The changes and skipped files as JSON for tools: `dryRun`, `changes` (the count),
    /// `files` (path, written, objects and their changes) and `skipped`.
    pub fn to_json(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|f| {
                let objects: Vec<Value> = f
                    .objects
                    .iter()
                    .map(|o| {
                        let changes: Vec<Value> = o
                            .changes
                            .iter()
                            .map(|c| {
                                json!({
                                    "setter": c.setter,
                                    "old": c.old,
                                    "new": c.new,
                                    "field": c.field,
                                    "line": c.line,
                                    "column": c.column,
                                })
                            })
                            .collect();
                        json!({
                            "apiVersion": o.object.api_version,
                            "kind": o.object.kind,
                            "namespace": o.object.namespace,
                            "name": o.object.name,
                            "changes": changes,
                        })
                    })
                    .collect();
                json!({
                    "path": f.path.to_string_lossy(),
                    "written": f.written,
                    "objects": objects,
                })
            })
            .collect();
        let skipped: Vec<Value> = self
            .skipped
            .iter()
            .map(|s| json!({"path": s.path.to_string_lossy(), "reason": s.reason}))
            .collect();
        json!({
            "dryRun": self.dry_run,
            "changes": self.changes(),
            "files": files,
            "skipped": skipped,
        })
    }
}
