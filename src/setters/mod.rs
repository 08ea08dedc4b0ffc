//! `$imagepolicy` setters: rewrite the values that Flux image automation would rewrite,
//! and change nothing else.
//!
//! A value is marked for update by a comment naming an ImagePolicy:
//!
//! ```yaml
//! image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
//! newTag: 1.0.0                # {"$imagepolicy": "flux-system:app:tag"}
//! ```
//!
//! Given the latest image of each policy ([`Policies`]), [`update_dir`] finds the marked
//! values the way Flux's image-automation-controller does and writes the new ones:
//!
//! 1. walk the tree and keep `*.yaml`, `*.yml` and `Kustomization` files that contain the
//!    token `"$imagepolicy"` ([`files`]);
//! 2. scan each into scalar spans and comments ([`crate::yaml::spans`]); a file that does
//!    not parse, or has a document that is not a mapping, is skipped and reported;
//! 3. for each scalar value, read its line comment, or (for a sequence item without one)
//!    its single-line head comment, as a marker ([`marker_setter`]); markers for unknown
//!    policies or suffixes are ordinary comments;
//! 4. compute the setter's value ([`Setter::value`]: `name:tag[@digest]`, tag, name or
//!    digest) and, if it differs, splice it over the scalar's bytes in a style that reads
//!    back as that string ([`render`]);
//! 5. write changed files atomically; report every change per file and object.
//!
//! Where Flux re-serialises each file it touches (losing blank lines, the leading `---`,
//! `|` blocks and list indentation), only the marked scalars' bytes change here.
//!
//! ```
//! use rustomize::setters::{update_bytes, ImageRef, Policies};
//!
//! let mut policies = Policies::new();
//! policies.insert("flux-system:app", ImageRef::parse("ghcr.io/org/app:1.1.0").unwrap()).unwrap();
//!
//! let before = "---\n# the app\nspec:\n\n  image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n  args:\n  - |\n    keep me\n";
//! let update = update_bytes("deploy.yaml".as_ref(), before.as_bytes(), &policies).unwrap();
//! let after = String::from_utf8(update.output).unwrap();
//! assert_eq!(after, before.replace("app:1.0.0", "app:1.1.0"));
//! assert_eq!(update.objects[0].changes[0].old, "ghcr.io/org/app:1.0.0");
//! ```

pub mod files;
mod image_ref;
mod marker;
pub mod render;
mod report;

use std::path::{Path, PathBuf};

pub use image_ref::ImageRef;
pub use marker::{marker_setter, Field, Policies, Setter};
pub use report::{Change, FileReport, ObjectChanges, ObjectId, Report, Skipped};

use crate::yaml::spans::{self, DocumentSpans, PathSeg, RootKind};
use render::Splice;

/// Why an update could not run. Problems with single files are not errors: those files
/// are [skipped](Skipped), as Flux skips them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A policy key that is not `namespace:name`.
    #[error("invalid policy name {0:?}: expected NAMESPACE:NAME")]
    PolicyName(String),
    /// A policy's image is not a reference Flux would write.
    #[error("policy {policy}: invalid image reference {reference:?}: {reason}")]
    ImageRef {
        /// The policy's `namespace:name`.
        policy: String,
        /// The reference as given.
        reference: String,
        /// The rule it breaks.
        reason: String,
    },
    /// Reading, locking or writing the tree failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML ([`update_dir`] skips such files instead).
    #[error("{}: {source}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: crate::yaml::Error,
    },
    /// A document that Flux cannot annotate, so it ignores the whole file.
    #[error("{}: line {line}: the document is a {kind}, not a mapping, so its markers are ignored", path.display())]
    NotAMapping {
        /// The file.
        path: PathBuf,
        /// 1-based line where the document starts.
        line: usize,
        /// What the document is instead: `sequence`, `scalar` or `alias`.
        kind: &'static str,
    },
    /// A policies file with the wrong shape.
    #[error("{}: {message}", path.display())]
    Policies {
        /// The policies file.
        path: PathBuf,
        /// What is wrong, and in which document.
        message: String,
    },
    /// Another update holds the tree's lock (and the caller asked not to wait).
    #[error("{}: another image update is running on this tree", .0.display())]
    Locked(PathBuf),
    /// Files that would change are read-only; nothing was written.
    #[error("not updating read-only files (nothing was written; allow it with --replace-read-only): {}", display_paths(.0))]
    ReadOnly(Vec<PathBuf>),
    /// A write failed after others had succeeded: exactly these files were changed.
    #[error("writing {}: {source}; the files already written are: {}", failed.display(), display_paths(written))]
    Partial {
        /// The files written before the failure, relative to the tree's root.
        written: Vec<PathBuf>,
        /// The file that could not be written, relative to the tree's root.
        failed: PathBuf,
        /// Why the write failed.
        #[source]
        source: Box<Error>,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "none".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How [`update_dir`] runs.
#[derive(Debug, Clone, Copy)]
pub struct UpdateOptions {
    /// Compute and report the changes, write nothing.
    pub dry_run: bool,
    /// Replace files whose mode makes them read-only (by default such a file stops the
    /// run before anything is written).
    pub replace_read_only: bool,
    /// Wait for another run's lock on the tree (else fail at once with [`Error::Locked`]).
    pub wait_for_lock: bool,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            dry_run: false,
            replace_read_only: false,
            wait_for_lock: true,
        }
    }
}

/// The result of updating one file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpdate {
    /// The new content (equal to the input when nothing changed).
    pub output: Vec<u8>,
    /// Changes per document, in document order; empty when nothing changed.
    pub objects: Vec<ObjectChanges>,
    /// The policies the file's markers name (changed or not).
    pub referenced: std::collections::BTreeSet<String>,
}

/// Applies the setters to one file's content. `path` only names the file in errors.
///
/// Content without the token `"$imagepolicy"` is returned unchanged without being
/// parsed, as Flux screens files. Errors are the reasons Flux would skip the file: it does
/// not parse, or one of its documents is not a mapping.
pub fn update_bytes(path: &Path, bytes: &[u8], policies: &Policies) -> Result<FileUpdate, Error> {
    if !files::has_token(bytes) {
        return Ok(FileUpdate {
            output: bytes.to_vec(),
            objects: Vec::new(),
            referenced: Default::default(),
        });
    }
    let docs = spans::scan(bytes).map_err(|source| Error::Yaml {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(doc) = docs.iter().find(|d| d.root != RootKind::Mapping) {
        return Err(Error::NotAMapping {
            path: path.to_path_buf(),
            line: doc.line,
            kind: match doc.root {
                RootKind::Sequence => "sequence",
                RootKind::Alias => "alias",
                _ => "scalar",
            },
        });
    }
    let mut splices: Vec<Splice> = Vec::new();
    let mut objects: Vec<ObjectChanges> = Vec::new();
    let mut referenced = std::collections::BTreeSet::new();
    for doc in &docs {
        let mut changes = Vec::new();
        for scalar in &doc.scalars {
            let Some(comment) = scalar
                .line_comment
                .as_ref()
                .or(scalar.head_comment.as_ref())
            else {
                continue;
            };
            let Some(setter) = marker_setter(&comment.text, policies) else {
                continue;
            };
            referenced.insert(setter.policy.clone());
            let Some(image) = policies.get(&setter.policy) else {
                continue;
            };
            let new = setter.value(image);
            if new == scalar.value {
                continue;
            }
            splices.extend(render::replacement(bytes, scalar, &new));
            changes.push(Change {
                setter: setter.name(),
                old: scalar.value.clone(),
                new,
                field: field_path(&scalar.path),
                line: scalar.line,
                column: scalar.column,
            });
        }
        if changes.is_empty() {
            continue;
        }
        // Flux keys changes by object, so two documents with one identity share an entry.
        let object = object_id(doc);
        match objects.iter_mut().find(|o| o.object == object) {
            Some(o) => o.changes.extend(changes),
            None => objects.push(ObjectChanges { object, changes }),
        }
    }
    Ok(FileUpdate {
        output: apply(bytes, splices),
        objects,
        referenced,
    })
}

/// Applies the setters to every marked file under `root` (a directory, or one file).
///
/// All or nothing: every rewrite is computed before the first file is written, so a file
/// that cannot be read or is read-only stops the run with the tree untouched; a write that
/// fails part way ([`Error::Partial`]) names exactly the files already written. The run
/// holds an advisory lock on the tree, so concurrent runs take turns and lose no update.
///
/// ```no_run
/// use rustomize::setters::{update_dir, ImageRef, Policies, UpdateOptions};
///
/// let mut policies = Policies::new();
/// policies.insert("flux-system:app", ImageRef::parse("ghcr.io/org/app:1.1.0")?)?;
/// let report = update_dir("clusters/prod".as_ref(), &policies, &UpdateOptions::default())?;
/// print!("{}", report.to_text());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn update_dir(
    root: &Path,
    policies: &Policies,
    options: &UpdateOptions,
) -> Result<Report, Error> {
    let _lock = files::lock_tree(root, !options.dry_run, options.wait_for_lock)?;
    let walk = files::walk(root)?;
    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    for (path, reason) in walk.refused {
        report.skipped.push(Skipped { path, reason });
    }
    // Plan: every rewrite, before anything is written. A symlink and its target are one
    // file, planned once.
    let mut planned: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut referenced = std::collections::BTreeSet::new();
    for candidate in walk.candidates {
        if !seen.insert(candidate.real.clone()) {
            continue;
        }
        let Some(bytes) = files::read_screened(&candidate.real)? else {
            continue;
        };
        report.screened.push(candidate.relative.clone());
        let update = match update_bytes(&candidate.relative, &bytes, policies) {
            Ok(u) => u,
            Err(e) => {
                report.skipped.push(Skipped {
                    reason: skip_reason(&e),
                    path: candidate.relative,
                });
                continue;
            }
        };
        referenced.extend(update.referenced);
        if update.objects.is_empty() {
            continue;
        }
        planned.push((candidate.real, update.output));
        report.files.push(FileReport {
            path: candidate.relative,
            objects: update.objects,
            written: false,
        });
    }
    report.unused_policies = policies
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !referenced.contains(k))
        .collect();
    if options.dry_run {
        return Ok(report);
    }
    if !options.replace_read_only {
        let mut read_only = Vec::new();
        for ((real, _), file) in planned.iter().zip(&report.files) {
            if files::is_read_only(real)? {
                read_only.push(file.path.clone());
            }
        }
        if !read_only.is_empty() {
            return Err(Error::ReadOnly(read_only));
        }
    }
    // Temporary files of a run that was killed: no other run is writing (we hold the
    // lock), so they are garbage.
    for temp in &walk.stale_temps {
        let _ = std::fs::remove_file(temp);
    }
    // Write, then sync each directory written to.
    let mut written: Vec<PathBuf> = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for ((real, output), file) in planned.iter().zip(report.files.iter_mut()) {
        if let Err(e) = files::write_atomic(real, output) {
            return Err(Error::Partial {
                written,
                failed: file.path.clone(),
                source: Box::new(e),
            });
        }
        file.written = true;
        written.push(file.path.clone());
        if let Some(dir) = real.parent() {
            dirs.insert(dir.to_path_buf());
        }
    }
    for dir in dirs {
        files::sync_dir(&dir)?;
    }
    Ok(report)
}

/// The error without the file name, which the report shows next to it.
fn skip_reason(e: &Error) -> String {
    match e {
        Error::Yaml { source, .. } => source.to_string(),
        Error::NotAMapping { line, kind, .. } => {
            format!(
                "line {line}: the document is a {kind}, not a mapping, so its markers are ignored"
            )
        }
        other => other.to_string(),
    }
}

/// Flux's object identity: `apiVersion`, `kind`, `metadata.namespace`, `metadata.name`.
fn object_id(doc: &DocumentSpans) -> ObjectId {
    let text = |path: &[&str]| {
        doc.scalars
            .iter()
            .find(|s| {
                s.path.len() == path.len()
                    && s.path
                        .iter()
                        .zip(path)
                        .all(|(seg, want)| matches!(seg, PathSeg::Key(k) if k == want))
            })
            .map(|s| s.value.clone())
            .unwrap_or_default()
    };
    ObjectId {
        api_version: text(&["apiVersion"]),
        kind: text(&["kind"]),
        namespace: text(&["metadata", "namespace"]),
        name: text(&["metadata", "name"]),
    }
}

/// `spec.containers[0].image`.
fn field_path(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSeg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Splices in order; a splice that would overlap an earlier one is dropped (they come
/// from distinct scalars, so none do).
fn apply(src: &[u8], mut splices: Vec<Splice>) -> Vec<u8> {
    splices.sort_by_key(|s| (s.range.start, s.range.end));
    let mut out = Vec::with_capacity(src.len() + 64);
    let mut at = 0;
    for s in splices {
        if s.range.start < at || s.range.end > src.len() {
            continue;
        }
        out.extend_from_slice(src.get(at..s.range.start).unwrap_or_default());
        out.extend_from_slice(s.text.as_bytes());
        at = s.range.end;
    }
    out.extend_from_slice(src.get(at..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Policies {
        let mut p = Policies::new();
        p.insert("ns:app", ImageRef::parse("reg.io/app:1.10").unwrap())
            .unwrap();
        p
    }

    fn update(src: &str) -> String {
        let u = update_bytes(Path::new("t.yaml"), src.as_bytes(), &policies()).unwrap();
        String::from_utf8(u.output).unwrap()
    }

    #[test]
    fn only_the_marked_bytes_change() {
        let src = "---\n# head\na: 1\n\nimage: reg.io/app:1.0 # {\"$imagepolicy\": \"ns:app\"}\nscript: |\n  echo hi\n";
        assert_eq!(update(src), src.replace("app:1.0", "app:1.10"));
    }

    #[test]
    fn tag_that_reads_as_a_number_is_quoted() {
        let src = "tag: v1 # {\"$imagepolicy\": \"ns:app:tag\"}\nq: '1' # {\"$imagepolicy\": \"ns:app:tag\"}\n";
        assert_eq!(
            update(src),
            "tag: \"1.10\" # {\"$imagepolicy\": \"ns:app:tag\"}\nq: '1.10' # {\"$imagepolicy\": \"ns:app:tag\"}\n"
        );
    }

    #[test]
    fn head_comment_on_a_sequence_item() {
        let src = "images:\n  # {\"$imagepolicy\": \"ns:app:name\"}\n  - old\n  - other\n";
        assert_eq!(update(src), src.replace("- old", "- reg.io/app"));
    }

    #[test]
    fn head_comment_above_a_key_is_not_a_marker() {
        let src = "spec:\n  # {\"$imagepolicy\": \"ns:app\"}\n  image: old\n";
        assert_eq!(update(src), src);
    }

    #[test]
    fn line_comment_that_is_not_a_marker_hides_the_head_comment() {
        let src = "l:\n# {\"$imagepolicy\": \"ns:app\"}\n- old # plain comment\n";
        assert_eq!(update(src), src);
    }

    #[test]
    fn block_scalar_keeps_its_style() {
        let src = "a: |- # {\"$imagepolicy\": \"ns:app:tag\"}\n  old\n\nb: x\n";
        assert_eq!(
            update(src),
            "a: |- # {\"$imagepolicy\": \"ns:app:tag\"}\n  1.10\n\nb: x\n"
        );
    }

    #[test]
    fn long_form_marker_needs_the_token_somewhere_in_the_file() {
        let marker = "image: old # {\"$ref\": \"#/definitions/io.k8s.cli.setters.ns:app\"}\n";
        assert_eq!(update(marker), marker);
        let with_token = format!("{marker}# \"$imagepolicy\"\n");
        assert_eq!(
            update(&with_token),
            with_token.replace("old", "reg.io/app:1.10")
        );
    }

    #[test]
    fn top_level_sequence_is_an_error_like_flux() {
        let e = update_bytes(
            Path::new("t.yaml"),
            b"- a # {\"$imagepolicy\": \"ns:app\"}\n",
            &policies(),
        )
        .unwrap_err();
        assert!(matches!(e, Error::NotAMapping { line: 1, .. }), "{e}");
    }

    #[test]
    fn objects_are_identified_like_flux() {
        let src = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  image: x # {\"$imagepolicy\": \"ns:app\"}\n";
        let u = update_bytes(Path::new("t.yaml"), src.as_bytes(), &policies()).unwrap();
        let o = &u.objects[0];
        assert_eq!(
            o.object,
            ObjectId {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: "prod".into(),
                name: "web".into()
            }
        );
        assert_eq!(o.changes[0].field, "spec.image");
        assert_eq!((o.changes[0].line, o.changes[0].column), (7, 10));
    }
}
