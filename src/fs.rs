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

use crate::budget::Budget;

/// What a build may read.
///
/// Implementations return only the bytes of regular files: a directory, a FIFO, a device
/// or a socket is an error (`io::ErrorKind::InvalidInput`), never a blocking or endless
/// read; and no read returns more than its `max_bytes` (`io::ErrorKind::FileTooLarge`),
/// whatever the file's metadata says.
pub trait FileSystem: Send + Sync {
    /// Reads a whole regular file of at most `max_bytes` bytes.
    fn read(&self, path: &Path, max_bytes: u64) -> io::Result<Vec<u8>>;
    /// The absolute, symlink-free form of an existing path.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// Is `path` (symlinks followed) a directory?
    fn is_dir(&self, path: &Path) -> bool;
    /// Is `path` (symlinks followed) a regular file?
    fn is_file(&self, path: &Path) -> bool;
    /// Is `path` itself a symbolic link (not followed)?
    fn is_symlink(&self, path: &Path) -> bool;
    /// The entries of a directory (full paths), sorted.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
}

/// The error for a read past `max_bytes`.
pub fn too_large(path: &Path, max_bytes: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "{} is larger than the limit of {max_bytes} bytes",
            path.display()
        ),
    )
}

/// The error for a path that exists but is not a regular file.
pub fn not_regular(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is not a regular file", path.display()),
    )
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFs;

impl FileSystem for DiskFs {
    fn read(&self, path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
        use std::io::Read as _;
        // Checked before opening: opening a FIFO for reading blocks until a writer comes.
        if !std::fs::metadata(path)?.is_file() {
            return Err(not_regular(path));
        }
        let file = open_nonblocking(path)?;
        // Checked again on the open handle, in case the path changed in between.
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(not_regular(path));
        }
        if meta.len() > max_bytes {
            return Err(too_large(path, max_bytes));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large(path, max_bytes));
        }
        Ok(bytes)
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
    fn is_symlink(&self, path: &Path) -> bool {
        path.is_symlink()
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    }
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// An entry of a [`MemFs`] that is neither a file nor a directory.
#[derive(Debug, Clone)]
enum MemEntry {
    /// A symbolic link to this path (absolute, or relative to the link's directory).
    Symlink(PathBuf),
    /// A FIFO, device or socket: it exists, but reading it fails.
    Special,
}

/// An in-memory tree of files. Paths are absolute (`/app/kustomization.yaml`); parent
/// directories exist implicitly. Symbolic links and special files (FIFOs, devices) can be
/// added, so that code reading untrusted trees can be tested and fuzzed without a disk.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Arc<Vec<u8>>>,
    dirs: BTreeSet<PathBuf>,
    others: BTreeMap<PathBuf, MemEntry>,
}

/// How many symbolic links one path may pass through (Linux's limit).
const MAX_SYMLINK_HOPS: usize = 40;

impl MemFs {
    pub fn new() -> Self {
        let mut fs = MemFs::default();
        fs.dirs.insert(PathBuf::from("/"));
        fs
    }

    fn add_parents(&mut self, p: &Path) {
        let mut d = p.parent();
        while let Some(dir) = d {
            self.dirs.insert(dir.to_path_buf());
            d = dir.parent();
        }
    }

    /// Adds (or replaces) a file; relative paths are taken from `/`.
    pub fn add(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) -> &mut Self {
        let p = normalize(&Path::new("/").join(path.as_ref()));
        self.add_parents(&p);
        self.others.remove(&p);
        self.files.insert(p, Arc::new(content.into()));
        self
    }

    /// Adds an empty directory.
    pub fn add_dir(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let p = normalize(&Path::new("/").join(path.as_ref()));
        self.add_parents(&p);
        self.dirs.insert(p);
        self
    }

    /// Adds a symbolic link at `path` pointing to `target` (absolute, or relative to the
    /// link's directory; it need not exist).
    pub fn add_symlink(&mut self, path: impl AsRef<Path>, target: impl AsRef<Path>) -> &mut Self {
        let p = normalize(&Path::new("/").join(path.as_ref()));
        self.add_parents(&p);
        self.files.remove(&p);
        self.others
            .insert(p, MemEntry::Symlink(target.as_ref().to_path_buf()));
        self
    }

    /// Adds a special file (a FIFO or device): listed in its directory, never readable.
    pub fn add_special(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let p = normalize(&Path::new("/").join(path.as_ref()));
        self.add_parents(&p);
        self.files.remove(&p);
        self.others.insert(p, MemEntry::Special);
        self
    }

    /// Follows symbolic links in every component of `path`; the result may not exist.
    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        let mut hops = 0;
        // Components still to walk, last first; `..` is applied after the links before it
        // are followed, as the kernel does.
        let mut rest: Vec<std::ffi::OsString> = Vec::new();
        push_components(&mut rest, &Path::new("/").join(path));
        let mut out = PathBuf::from("/");
        while let Some(name) = rest.pop() {
            if name == ".." {
                out.pop();
                continue;
            }
            let next = out.join(&name);
            match self.others.get(&next) {
                Some(MemEntry::Symlink(target)) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("{}: too many levels of symbolic links", path.display()),
                        ));
                    }
                    if target.is_absolute() {
                        out = PathBuf::from("/");
                    }
                    push_components(&mut rest, target);
                }
                _ => out = next,
            }
        }
        Ok(out)
    }

    fn not_found(path: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: no such file or directory", path.display()),
        )
    }
}

/// Pushes `path`'s names and `..`s onto a stack of components still to walk, last first.
fn push_components(stack: &mut Vec<std::ffi::OsString>, path: &Path) {
    for c in path.components().rev() {
        match c {
            Component::Normal(n) => stack.push(n.to_os_string()),
            Component::ParentDir => stack.push("..".into()),
            _ => {}
        }
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
        let p = self.resolve(path)?;
        match self.files.get(&p) {
            Some(c) if c.len() as u64 > max_bytes => Err(too_large(path, max_bytes)),
            Some(c) => Ok(c.as_ref().clone()),
            None if self.dirs.contains(&p) || self.others.contains_key(&p) => {
                Err(not_regular(path))
            }
            None => Err(Self::not_found(path)),
        }
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = self.resolve(path)?;
        if self.files.contains_key(&p) || self.dirs.contains(&p) || self.others.contains_key(&p) {
            Ok(p)
        } else {
            Err(Self::not_found(path))
        }
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.resolve(path).is_ok_and(|p| self.dirs.contains(&p))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.resolve(path)
            .is_ok_and(|p| self.files.contains_key(&p))
    }
    fn is_symlink(&self, path: &Path) -> bool {
        let p = normalize(&Path::new("/").join(path));
        matches!(self.others.get(&p), Some(MemEntry::Symlink(_)))
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let real = self.resolve(path)?;
        if !self.dirs.contains(&real) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such directory", path.display()),
            ));
        }
        // Entries are named under the path asked for, as a directory listing is.
        let shown = normalize(&Path::new("/").join(path));
        let mut out: Vec<PathBuf> = self
            .files
            .keys()
            .chain(self.dirs.iter())
            .chain(self.others.keys())
            .filter(|k| k.parent() == Some(real.as_path()))
            .filter_map(|k| k.file_name().map(|n| shown.join(n)))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
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
    #[error("'{0}' is not a regular file (a FIFO, device or socket is never read)")]
    NotRegular(PathBuf),
    #[error("'{0}' is not a directory")]
    NotADirectory(PathBuf),
    #[error("cycle detected: candidate root '{candidate}' contains visited root '{visited}'")]
    Cycle {
        candidate: PathBuf,
        visited: PathBuf,
    },
    #[error("file '{path}' is larger than the limit of {limit} bytes (raise it with --limit file-bytes=N)")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{0}'")]
    MissingKustomization(PathBuf),
    #[error("Found multiple kustomization files under: {0}")]
    MultipleKustomizations(PathBuf),
    #[error("{0}")]
    Budget(#[from] crate::budget::Exceeded),
    #[error("remote {0:?} cannot be loaded: rustomize builds local trees only (vendor the remote base into the repository)")]
    Remote(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl LoadError {
    /// The load error for an I/O error on `path` (a too-large or irregular file gets its
    /// own variant).
    pub fn from_io(path: &Path, e: io::Error, limit: u64) -> LoadError {
        match e.kind() {
            io::ErrorKind::FileTooLarge => LoadError::TooLarge {
                path: path.to_path_buf(),
                limit,
            },
            io::ErrorKind::InvalidInput if !path.as_os_str().is_empty() => {
                if e.to_string().ends_with("is not a regular file") {
                    LoadError::NotRegular(path.to_path_buf())
                } else {
                    LoadError::Io {
                        path: path.to_path_buf(),
                        source: e,
                    }
                }
            }
            _ => LoadError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        }
    }
}

/// The kustomization roots that led to a loader, innermost first (for cycle detection).
struct Referrer {
    root: PathBuf,
    parent: Option<Arc<Referrer>>,
}

/// The file loader for one kustomization directory.
#[derive(Clone)]
pub struct Loader {
    fs: Arc<dyn FileSystem>,
    root: PathBuf,
    restrictor: LoadRestrictor,
    budget: Arc<Budget>,
    /// Roots of the kustomizations that led here, and how many.
    referrers: Option<Arc<Referrer>>,
    depth: u64,
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
    /// A loader for the build root `dir`, charging what it loads to `budget`.
    pub fn new(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        restrictor: LoadRestrictor,
        budget: Arc<Budget>,
    ) -> Result<Loader, LoadError> {
        let root = confirm_dir(fs.as_ref(), dir)?;
        budget.charge_kustomization(1)?;
        Ok(Loader {
            fs,
            root,
            restrictor,
            budget,
            referrers: None,
            depth: 0,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    /// The budget of the build this loader serves.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
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

    /// Reads a file relative to this root: the restrictor applies, only regular files are
    /// read, and no more than the file-size limit.
    pub fn load(&self, path: &str) -> Result<(PathBuf, Vec<u8>), LoadError> {
        let p = self.resolve_file(path)?;
        let limit = self.budget.file_bytes();
        let bytes = self
            .fs
            .read(&p, limit)
            .map_err(|e| LoadError::from_io(&p, e, limit))?;
        Ok((p, bytes))
    }

    /// Finds and reads this root's kustomization file, as kustomize does: each recognised
    /// name is loaded through the restrictor, and one that cannot be loaded (missing, a
    /// directory, a symlink out of the root) does not count. A file that exists but is too
    /// large or not a regular file is an error of its own.
    pub fn load_kustomization(&self) -> Result<(PathBuf, Vec<u8>), LoadError> {
        let mut found: Option<(PathBuf, Vec<u8>)> = None;
        for name in crate::kustomization::FILE_NAMES {
            let loaded = match self.load(name) {
                Ok(l) => l,
                Err(e @ (LoadError::TooLarge { .. } | LoadError::NotRegular(_))) => return Err(e),
                Err(_) => continue,
            };
            if found.is_some() {
                return Err(LoadError::MultipleKustomizations(self.root.clone()));
            }
            found = Some(loaded);
        }
        found.ok_or_else(|| LoadError::MissingKustomization(self.root.clone()))
    }

    /// A loader for the directory `path` (a base, overlay or component), refusing cycles:
    /// the new root may not contain this root or any root that led here.
    pub fn child(&self, path: &str) -> Result<Loader, LoadError> {
        if looks_remote(path) {
            return Err(LoadError::Remote(path.to_string()));
        }
        let root = confirm_dir(self.fs.as_ref(), &self.join(path))?;
        let mut at = Some(&self.root);
        let mut chain = self.referrers.as_deref();
        while let Some(visited) = at {
            if has_prefix(visited, &root) {
                return Err(LoadError::Cycle {
                    candidate: root,
                    visited: visited.clone(),
                });
            }
            at = chain.map(|r| &r.root);
            chain = chain.and_then(|r| r.parent.as_deref());
        }
        self.budget.check_depth(self.depth + 1)?;
        self.budget.charge_kustomization(1)?;
        Ok(Loader {
            fs: self.fs.clone(),
            root,
            restrictor: self.restrictor,
            budget: self.budget.clone(),
            referrers: Some(Arc::new(Referrer {
                root: self.root.clone(),
                parent: self.referrers.clone(),
            })),
            depth: self.depth + 1,
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
            Default::default(),
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
            Default::default(),
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
            Default::default(),
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
        let budget = Arc::new(Budget::new(crate::budget::Limits {
            file_bytes: 0,
            ..Default::default()
        }));
        let l = Loader::new(
            mem(),
            Path::new("/app/base"),
            LoadRestrictor::RootOnly,
            budget,
        )
        .unwrap();
        assert!(matches!(l.load("cm.yaml"), Err(LoadError::TooLarge { .. })));
    }
}
