//! File systems and the load restrictor.
//!
//! The pipeline reads through the [`FileSystem`] trait, so a build can run on disk
//! ([`DiskFs`]) or on an in-memory tree ([`MemFs`], for embedders, tests and fuzzing).
//! [`Loader`] is kustomize's file loader: it knows the kustomization root it serves, resolves
//! relative paths against it, enforces the load restrictor (by default nothing outside the
//! root is read; symlinks are resolved before the check), bounds file sizes, and refuses
//! base directories that would form a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// What a build may read.
pub trait FileSystem: Send + Sync {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The absolute, symlink-free form of an existing path.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    fn is_dir(&self, path: &Path) -> bool;
    fn is_file(&self, path: &Path) -> bool;
    /// The entries of a directory (full paths), sorted.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
    /// Size of a file in bytes, when cheaply known (used to refuse huge files before reading).
    fn file_size(&self, path: &Path) -> Option<u64> {
        let _ = path;
        None
    }
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFs;

impl FileSystem for DiskFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    }
    fn file_size(&self, path: &Path) -> Option<u64> {
        std::fs::metadata(path).ok().map(|m| m.len())
    }
}

/// An in-memory tree of files. Paths are absolute (`/app/kustomization.yaml`); parent
/// directories exist implicitly. There are no symlinks.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Arc<Vec<u8>>>,
    dirs: BTreeSet<PathBuf>,
}

impl MemFs {
    pub fn new() -> Self {
        let mut fs = MemFs::default();
        fs.dirs.insert(PathBuf::from("/"));
        fs
    }

    /// Adds (or replaces) a file; relative paths are taken from `/`.
    pub fn add(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) -> &mut Self {
        let p = normalize(&Path::new("/").join(path.as_ref()));
        let mut d = p.parent();
        while let Some(dir) = d {
            self.dirs.insert(dir.to_path_buf());
            d = dir.parent();
        }
        self.files.insert(p, Arc::new(content.into()));
        self
    }

    /// Adds an empty directory.
    pub fn add_dir(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let p = normalize(&Path::new("/").join(path.as_ref()));
        let mut d = Some(p.as_path());
        while let Some(dir) = d {
            self.dirs.insert(dir.to_path_buf());
            d = dir.parent();
        }
        self
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let p = normalize(path);
        match self.files.get(&p) {
            Some(c) => Ok(c.as_ref().clone()),
            None if self.dirs.contains(&p) => {
                Err(io::Error::other(format!("{} is a directory", p.display())))
            }
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file", p.display()),
            )),
        }
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = normalize(path);
        if self.files.contains_key(&p) || self.dirs.contains(&p) {
            Ok(p)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file or directory", p.display()),
            ))
        }
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains(&normalize(path))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let p = normalize(path);
        if !self.dirs.contains(&p) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such directory", p.display()),
            ));
        }
        let mut out: Vec<PathBuf> = self
            .files
            .keys()
            .chain(self.dirs.iter())
            .filter(|k| k.parent() == Some(p.as_path()))
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
    fn file_size(&self, path: &Path) -> Option<u64> {
        self.files.get(&normalize(path)).map(|c| c.len() as u64)
    }
}

/// Lexical normalisation: drops `.`, resolves `..` against the preceding component.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            // As Go's `filepath.Clean`: `..` removes a name, stays at the root, and
            // accumulates at the start of a relative path (`../../x`).
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Which files a kustomization may read (`--load-restrictor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// `LoadRestrictionsRootOnly`: files must be in or below the kustomization's directory.
    #[default]
    RootOnly,
    /// `LoadRestrictionsNone`.
    None,
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("security; file '{path}' is not in or below '{root}'")]
    OutsideRoot { path: PathBuf, root: PathBuf },
    #[error("'{0}' must resolve to a file")]
    NotAFile(PathBuf),
    #[error("'{0}' is not a directory")]
    NotADirectory(PathBuf),
    #[error("cycle detected: candidate root '{candidate}' contains visited root '{visited}'")]
    Cycle {
        candidate: PathBuf,
        visited: PathBuf,
    },
    #[error("file '{path}' is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("remote {0:?} cannot be loaded: rustomize builds local trees only (vendor the remote base into the repository)")]
    Remote(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The file loader for one kustomization directory.
#[derive(Clone)]
pub struct Loader {
    fs: Arc<dyn FileSystem>,
    root: PathBuf,
    restrictor: LoadRestrictor,
    max_file_bytes: u64,
    /// Roots of the kustomizations that led here (for cycle detection).
    referrers: Vec<PathBuf>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader").field("root", &self.root).finish()
    }
}

/// `true` for paths kustomize would treat as remote (git or HTTP).
pub fn looks_remote(p: &str) -> bool {
    p.contains("://")
        || p.starts_with("git@")
        || p.starts_with("git::")
        || p.starts_with("github.com/")
        || p.starts_with("gitlab.com/")
        || p.starts_with("bitbucket.org/")
}

impl Loader {
    /// A loader for the build root `dir`.
    pub fn new(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        restrictor: LoadRestrictor,
        max_file_bytes: u64,
    ) -> Result<Loader, LoadError> {
        let root = confirm_dir(fs.as_ref(), dir)?;
        Ok(Loader {
            fs,
            root,
            restrictor,
            max_file_bytes,
            referrers: Vec::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    /// The absolute form of `path` relative to this root (not checked).
    pub fn join(&self, path: &str) -> PathBuf {
        normalize(&self.root.join(path))
    }

    /// Resolves `path` for reading, applying the restrictor.
    pub fn resolve_file(&self, path: &str) -> Result<PathBuf, LoadError> {
        if looks_remote(path) {
            return Err(LoadError::Remote(path.to_string()));
        }
        let joined = self.join(path);
        match self.restrictor {
            LoadRestrictor::None => Ok(joined),
            LoadRestrictor::RootOnly => {
                let real = self.fs.canonicalize(&joined).map_err(|e| LoadError::Io {
                    path: joined.clone(),
                    source: e,
                })?;
                if self.fs.is_dir(&real) {
                    return Err(LoadError::NotAFile(joined));
                }
                let dir = real.parent().unwrap_or(Path::new("/"));
                if !has_prefix(dir, &self.root) {
                    return Err(LoadError::OutsideRoot {
                        path: joined,
                        root: self.root.clone(),
                    });
                }
                Ok(real)
            }
        }
    }

    /// Reads a file relative to this root.
    pub fn load(&self, path: &str) -> Result<(PathBuf, Vec<u8>), LoadError> {
        let p = self.resolve_file(path)?;
        if let Some(size) = self.fs.file_size(&p) {
            if size > self.max_file_bytes {
                return Err(LoadError::TooLarge {
                    path: p,
                    size,
                    limit: self.max_file_bytes,
                });
            }
        }
        let bytes = self.fs.read(&p).map_err(|e| LoadError::Io {
            path: p.clone(),
            source: e,
        })?;
        if bytes.len() as u64 > self.max_file_bytes {
            return Err(LoadError::TooLarge {
                path: p,
                size: bytes.len() as u64,
                limit: self.max_file_bytes,
            });
        }
        Ok((p, bytes))
    }

    /// A loader for the directory `path` (a base, overlay or component), refusing cycles:
    /// the new root may not contain this root or any root that led here.
    pub fn child(&self, path: &str) -> Result<Loader, LoadError> {
        if looks_remote(path) {
            return Err(LoadError::Remote(path.to_string()));
        }
        let root = confirm_dir(self.fs.as_ref(), &self.join(path))?;
        for visited in std::iter::once(&self.root).chain(self.referrers.iter()) {
            if has_prefix(visited, &root) {
                return Err(LoadError::Cycle {
                    candidate: root,
                    visited: visited.clone(),
                });
            }
        }
        let mut referrers = self.referrers.clone();
        referrers.push(self.root.clone());
        Ok(Loader {
            fs: self.fs.clone(),
            root,
            restrictor: self.restrictor,
            max_file_bytes: self.max_file_bytes,
            referrers,
        })
    }
}

fn confirm_dir(fs: &dyn FileSystem, dir: &Path) -> Result<PathBuf, LoadError> {
    let real = fs.canonicalize(dir).map_err(|e| LoadError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    if !fs.is_dir(&real) {
        return Err(LoadError::NotADirectory(dir.to_path_buf()));
    }
    Ok(real)
}

/// kustomize's `ConfirmedDir.HasPrefix`: `d` is `root` or below it.
fn has_prefix(d: &Path, root: &Path) -> bool {
    root == Path::new("/") || d.starts_with(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> Arc<dyn FileSystem> {
        let mut fs = MemFs::new();
        fs.add("app/base/kustomization.yaml", "resources: []")
            .add("app/base/cm.yaml", "a")
            .add("app/overlay/kustomization.yaml", "resources: [../base]")
            .add("secret.txt", "x");
        Arc::new(fs)
    }

    #[test]
    fn root_only_refuses_files_outside_the_root() {
        let l = Loader::new(
            mem(),
            Path::new("/app/overlay"),
            LoadRestrictor::RootOnly,
            1 << 20,
        )
        .unwrap();
        assert!(matches!(
            l.load("../base/cm.yaml"),
            Err(LoadError::OutsideRoot { .. })
        ));
        assert!(matches!(
            l.load("../../secret.txt"),
            Err(LoadError::OutsideRoot { .. })
        ));
        let l = Loader::new(
            mem(),
            Path::new("/app/overlay"),
            LoadRestrictor::None,
            1 << 20,
        )
        .unwrap();
        assert_eq!(l.load("../base/cm.yaml").unwrap().1, b"a");
    }

    #[test]
    fn bases_may_not_contain_a_visited_root() {
        let l = Loader::new(
            mem(),
            Path::new("/app/overlay"),
            LoadRestrictor::RootOnly,
            1 << 20,
        )
        .unwrap();
        let base = l.child("../base").unwrap();
        assert!(matches!(
            base.child("../overlay"),
            Err(LoadError::Cycle { .. })
        ));
        assert!(matches!(base.child(".."), Err(LoadError::Cycle { .. })));
        assert!(matches!(l.child("."), Err(LoadError::Cycle { .. })));
    }

    #[test]
    fn file_size_is_bounded() {
        let l = Loader::new(mem(), Path::new("/app/base"), LoadRestrictor::RootOnly, 0).unwrap();
        assert!(matches!(l.load("cm.yaml"), Err(LoadError::TooLarge { .. })));
    }
}
