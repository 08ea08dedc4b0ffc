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
//! which takes the original's permissions, owner and group, is synced, and is then renamed
//! over it; the directory is synced after the rename. A run holds an advisory lock on the
//! tree's root directory ([`lock_tree`]), so two runs on one tree take turns instead of
//! overwriting each other's updates; temporary files a killed run left behind are found by
//! the walk and removed by the next run that holds the lock.

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
pub(crate) struct Candidate {
    pub relative: PathBuf,
    pub real: PathBuf,
}

/// What the walk found: candidates, symlinks that were not followed (with why), and
/// temporary files of an earlier run that did not finish.
#[derive(Default)]
pub(crate) struct Walk {
    pub candidates: Vec<Candidate>,
    pub refused: Vec<(PathBuf, String)>,
    pub stale_temps: Vec<PathBuf>,
}

/// Is this the name of a temporary file [`write_atomic`] creates
/// (`.NAME.rustomize-PID-N.tmp`)?
pub fn is_temp_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((_, tail)) = inner.rsplit_once(".rustomize-") else {
        return false;
    };
    let mut parts = tail.split('-');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Lists the candidate files under `root` (or `root` itself if it is a file).
pub(crate) fn walk(root: &Path) -> Result<Walk, Error> {
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
        if entry.file_type().is_file() && is_temp_name(&name) {
            found.stale_temps.push(entry.path().to_path_buf());
            continue;
        }
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

/// Largest file an update reads (a repository's YAML files are far smaller).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads a candidate (a regular file, at most [`MAX_FILE_BYTES`]); `None` if it lacks the
/// token.
pub fn read_screened(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    use crate::fs::FileSystem as _;
    let bytes = crate::fs::DiskFs
        .read(path, MAX_FILE_BYTES)
        .map_err(io_error(path))?;
    Ok(has_token(&bytes).then_some(bytes))
}

/// An advisory lock on the tree at `root` (a directory, or a file's directory), held
/// until dropped: exclusive for an update, shared for a dry run. Waits for another run's
/// lock when `wait`, else fails at once.
pub fn lock_tree(root: &Path, exclusive: bool, wait: bool) -> Result<fs::File, Error> {
    fs::metadata(root).map_err(io_error(root))?;
    let dir = if root.is_dir() {
        root
    } else {
        match root.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        }
    };
    let handle = fs::File::open(dir).map_err(io_error(dir))?;
    let locked = match (exclusive, wait) {
        (true, true) => handle.lock().map(|()| true),
        (false, true) => handle.lock_shared().map(|()| true),
        (true, false) => try_locked(handle.try_lock()),
        (false, false) => try_locked(handle.try_lock_shared()),
    }
    .map_err(io_error(dir))?;
    if !locked {
        return Err(Error::Locked(dir.to_path_buf()));
    }
    Ok(handle)
}

fn try_locked(r: Result<(), fs::TryLockError>) -> io::Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(fs::TryLockError::WouldBlock) => Ok(false),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Is the file read-only for its owner (the mode says so, whoever runs the update)?
pub fn is_read_only(path: &Path) -> Result<bool, Error> {
    Ok(fs::metadata(path)
        .map_err(io_error(path))?
        .permissions()
        .readonly())
}

/// Syncs a directory, so that the renames in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    let d = fs::File::open(dir).map_err(io_error(dir))?;
    d.sync_all().map_err(io_error(dir))
}

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Replaces `path`'s content with `bytes` atomically, keeping its permissions, owner and
/// group. The directory is not synced here (see [`sync_dir`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = io_error(path);
    let meta = fs::metadata(path).map_err(io_error(path))?;
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
        let result = fill_and_rename(file, bytes, &meta, &temp, path);
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        return result.map_err(fail);
    }
}

fn fill_and_rename(
    mut file: fs::File,
    bytes: &[u8],
    original: &fs::Metadata,
    temp: &Path,
    path: &Path,
) -> io::Result<()> {
    file.write_all(bytes)?;
    keep_owner(&file, original)?;
    file.set_permissions(original.permissions())?;
    file.sync_all()?;
    drop(file);
    fs::rename(temp, path)
}

/// Gives the new file the original's owner and group (before its mode, which chown may
/// clear setuid bits from). A run that may not do so fails rather than change them.
#[cfg(unix)]
fn keep_owner(file: &fs::File, original: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let now = file.metadata()?;
    if now.uid() == original.uid() && now.gid() == original.gid() {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid())).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot keep the file's owner {}:{} ({e}); run as that user",
                original.uid(),
                original.gid()
            ),
        )
    })
}

#[cfg(not(unix))]
fn keep_owner(_file: &fs::File, _original: &fs::Metadata) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn temp_names_are_recognised() {
        assert!(super::is_temp_name(".app.yaml.rustomize-123-0.tmp"));
        for no in [
            "app.yaml",
            ".app.yaml.rustomize-x-0.tmp",
            ".a.rustomize-1-2-3.tmp",
            "a.rustomize-1-2.tmp",
        ] {
            assert!(!super::is_temp_name(no), "{no}");
        }
    }

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
