//! Which files an update reads and how it writes them back.
//!
//! Selection follows Flux's screening reader: a recursive walk in lexical order that does
//! not enter symlinked directories; only names ending in `.yaml` or `.yml`, or named
//! exactly `Kustomization`; only files whose bytes contain `"$imagepolicy"` (with the
//! quotes) are parsed at all. A symlinked file is followed only if its target lies inside
//! the tree (Flux follows any; a tool run on other people's repositories should not), and
//! the target is what gets rewritten.
//!
//! Writes are atomic: the new content goes to a temporary file in the same directory,
//! which takes the original's permissions and is then renamed over it.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Error;

/// The byte string that makes a file worth parsing.
pub const TOKEN: &[u8] = b"\"$imagepolicy\"";

/// Base names (besides `*.yaml`/`*.yml`) that Flux reads.
const EXTRA_NAMES: &[&str] = &["Kustomization"];
const EXTENSIONS: &[&str] = &[".yaml", ".yml"];

/// Does Flux look at a file with this base name? (Go's `filepath.Ext`: from the last dot.)
pub fn is_candidate_name(name: &str) -> bool {
    let ext = name.rfind('.').and_then(|i| name.get(i..)).unwrap_or("");
    EXTENSIONS.contains(&ext) || EXTRA_NAMES.contains(&name)
}

/// A file to consider: its path relative to the root (for reports) and the path to read
/// and write (a symlink's target).
pub struct Candidate {
    pub relative: PathBuf,
    pub real: PathBuf,
}

/// What the walk found: candidates, and symlinks that were not followed (with why).
#[derive(Default)]
pub struct Walk {
    pub candidates: Vec<Candidate>,
    pub refused: Vec<(PathBuf, String)>,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Lists the candidate files under `root` (or `root` itself if it is a file).
pub fn walk(root: &Path) -> Result<Walk, Error> {
    let meta = fs::metadata(root).map_err(io_error(root))?;
    let canonical_root = fs::canonicalize(root).map_err(io_error(root))?;
    let mut found = Walk::default();
    if meta.is_file() {
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.as_deref().is_some_and(is_candidate_name) {
            found.candidates.push(Candidate {
                relative: PathBuf::from(name.unwrap_or_default()),
                real: canonical_root,
            });
        }
        return Ok(found);
    }
    let entries = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    for entry in entries {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| io::Error::other("filesystem loop"));
            Error::Io { path, source }
        })?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_dir() || !is_candidate_name(&name) {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_path_buf();
        if entry.file_type().is_symlink() {
            // Flux ignores symlinks it cannot read; so does this.
            let Ok(target) = fs::canonicalize(entry.path()) else {
                continue;
            };
            if !target.starts_with(&canonical_root) {
                found
                    .refused
                    .push((relative, "symlink to a file outside the tree".into()));
                continue;
            }
            if !target.is_file() {
                continue;
            }
            found.candidates.push(Candidate {
                relative,
                real: target,
            });
        } else if entry.file_type().is_file() {
            found.candidates.push(Candidate {
                relative,
                real: entry.path().to_path_buf(),
            });
        }
    }
    Ok(found)
}

/// Does the file contain the marker token? Files that do not are never parsed: this is
/// what keeps Flux (and this crate) away from Helm templates and other non-YAML.
pub fn has_token(bytes: &[u8]) -> bool {
    bytes.windows(TOKEN.len()).any(|w| w == TOKEN)
}

/// Reads a candidate; `None` if it lacks the token.
pub fn read_screened(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    Ok(has_token(&bytes).then_some(bytes))
}

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Replaces `path`'s content with `bytes` atomically, keeping its permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = io_error(path);
    let permissions = fs::metadata(path).map_err(io_error(path))?.permissions();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.rustomize-{}-{n}.tmp", std::process::id()));
        let file = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fail(e)),
        };
        let result = fill_and_rename(file, bytes, permissions, &temp, path);
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        return result.map_err(fail);
    }
}

fn fill_and_rename(
    mut file: fs::File,
    bytes: &[u8],
    permissions: fs::Permissions,
    temp: &Path,
    path: &Path,
) -> io::Result<()> {
    file.write_all(bytes)?;
    file.set_permissions(permissions)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_flux_reads() {
        for yes in ["a.yaml", "a.yml", ".yaml", "Kustomization", "x.values.yaml"] {
            assert!(is_candidate_name(yes), "{yes}");
        }
        for no in [
            "a.json",
            "a.YAML",
            "kustomization",
            "values.yaml.gotmpl",
            "yaml",
            "a.tpl",
        ] {
            assert!(!is_candidate_name(no), "{no}");
        }
    }
}
