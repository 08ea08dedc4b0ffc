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
use crate::remote::{is_http_url, Checkout, RemoteError, RepoSpec, Session};

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
    /// An empty tree: only the root directory `/` exists.
    ///
    /// ```
    /// use rustomize::fs::{FileSystem, MemFs};
    /// use std::path::Path;
    ///
    /// let mut fs = MemFs::new();
    /// fs.add("/app/kustomization.yaml", "resources: []\n");
    /// assert!(fs.is_dir(Path::new("/app")));
    /// assert_eq!(fs.read(Path::new("/app/kustomization.yaml"), 1024).unwrap(), b"resources: []\n");
    /// ```
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
#[non_exhaustive]
pub enum LoadError {
    /// The load restrictor refused a file outside the kustomization's directory.
    #[error("security; file '{path}' is not in or below '{root}'")]
    OutsideRoot {
        /// The file asked for, joined to the root.
        path: PathBuf,
        /// The kustomization directory it had to be in.
        root: PathBuf,
    },
    /// A path read as a file (a resource, patch, …) is a directory.
    #[error("'{0}' must resolve to a file")]
    NotAFile(PathBuf),
    /// A FIFO, device or socket: refused rather than risk a read that blocks or never ends.
    #[error("'{0}' is not a regular file (a FIFO, device or socket is never read)")]
    NotRegular(PathBuf),
    /// A build root, base or component is not a directory (or its path is empty).
    #[error("'{0}' is not a directory")]
    NotADirectory(PathBuf),
    /// A base or component was given as an absolute path; kustomize allows only relative
    /// ones.
    #[error("new root '{0}' cannot be absolute")]
    AbsoluteRoot(String),
    /// A base or component contains a kustomization that led to it, so the build would
    /// never end.
    #[error("cycle detected: candidate root '{candidate}' contains visited root '{visited}'")]
    Cycle {
        /// The directory that was to be loaded.
        candidate: PathBuf,
        /// The root already on the way here that it contains.
        visited: PathBuf,
    },
    /// A remote base repeats a repository URL that led to it.
    #[error("cycle detected: URI '{uri}' referenced by previous URI '{previous}'")]
    RepoCycle {
        /// The URL that was to be loaded.
        uri: String,
        /// The URL on the way here that it repeats.
        previous: String,
    },
    /// A file is over the build's file-size limit ([`crate::budget::Limits::file_bytes`]).
    #[error("file '{path}' is larger than the limit of {limit} bytes (raise it with --limit file-bytes=N)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The directory holds none of the recognised kustomization file names.
    #[error("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{0}'")]
    MissingKustomization(PathBuf),
    /// The directory holds more than one kustomization file, so which to use is ambiguous.
    #[error("Found multiple kustomization files under: {0}")]
    MultipleKustomizations(PathBuf),
    /// The build went over one of its [`crate::budget::Limits`].
    #[error("{0}")]
    Budget(#[from] crate::budget::Exceeded),
    /// A remote reference could not be loaded: the URL and why.
    #[error("{url}: {source}")]
    Remote {
        /// The URL or repository reference.
        url: String,
        /// Why it failed.
        #[source]
        source: RemoteError,
    },
    /// An HTTP answer that is not 2xx for a URL that is also a repository URL: kustomize's
    /// signal to try it as a repository.
    #[error("URL is a git repository")]
    UrlIsGitRepository(String),
    /// A repository reference names a file in the clone where a kustomization directory
    /// was expected.
    #[error("'{path}' refers to file '{file}'; expecting directory")]
    RemoteFileNotDirectory {
        /// The path in the clone.
        path: PathBuf,
        /// The name of the file it resolves to.
        file: String,
    },
    /// A repository reference's directory resolves, through a symlink, to outside the clone.
    #[error("\"{path}\" refers to directory outside of repo \"{repo}\"")]
    OutsideRepo {
        /// The path asked for in the clone.
        path: PathBuf,
        /// The clone's root directory.
        repo: PathBuf,
    },
    /// A kustomization inside a clone names a base outside that clone.
    #[error("security; bases in kustomizations found in cloned git repos must be within the repo, but base '{base}' is outside '{repo}'")]
    BaseOutsideRepo {
        /// The base's directory (symlinks resolved).
        base: PathBuf,
        /// The clone's root directory.
        repo: PathBuf,
    },
    /// Reading or resolving a path failed.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
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
            io::ErrorKind::InvalidInput if e.to_string().ends_with("is not a regular file") => {
                LoadError::NotRegular(path.to_path_buf())
            }
            _ => LoadError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        }
    }

    /// An HTTP error for a URL that is not a repository (kustomize's `ErrHTTP`): such a
    /// resource is not tried as a directory.
    pub fn is_http(&self) -> bool {
        matches!(
            self,
            LoadError::Remote {
                source: RemoteError::Status { .. },
                ..
            }
        )
    }

    /// Whether the path does not exist at all.
    pub fn is_not_found(&self) -> bool {
        matches!(self, LoadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The class of the failure.
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            LoadError::Remote { .. } | LoadError::UrlIsGitRepository(_) => ErrorKind::Remote,
            LoadError::Budget(_) | LoadError::TooLarge { .. } => ErrorKind::Limit,
            _ => ErrorKind::Load,
        }
    }

    /// The file or directory concerned, where it is a path.
    pub fn path(&self) -> Option<&Path> {
        match self {
            LoadError::OutsideRoot { path, .. }
            | LoadError::TooLarge { path, .. }
            | LoadError::Io { path, .. }
            | LoadError::RemoteFileNotDirectory { path, .. }
            | LoadError::OutsideRepo { path, .. } => Some(path),
            LoadError::NotAFile(p)
            | LoadError::NotRegular(p)
            | LoadError::NotADirectory(p)
            | LoadError::MissingKustomization(p)
            | LoadError::MultipleKustomizations(p) => Some(p),
            LoadError::Cycle { candidate, .. } => Some(candidate),
            LoadError::BaseOutsideRepo { base, .. } => Some(base),
            _ => None,
        }
    }

    /// A git command that ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, LoadError::Remote { source, .. } if source.is_timeout())
    }
}

/// The kustomization roots that led to a loader, innermost first (for cycle detection).
struct Referrer {
    root: PathBuf,
    /// The repository URL the loader was cloned from, if it was.
    repo_url: Option<String>,
    parent: Option<Arc<Referrer>>,
}

/// A loader inside a clone: the clone's root (nothing may leave it) and the clone itself,
/// kept alive as long as a loader needs it.
#[derive(Debug)]
struct InRepo {
    clone_root: PathBuf,
    _checkout: Arc<Checkout>,
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
    /// Remote access granted to the build (`None`: refused).
    session: Option<Arc<Session>>,
    /// Set when this root lies in a clone.
    repo: Option<Arc<InRepo>>,
    /// The repository URL this loader was cloned from (a remote kustomization's own).
    repo_url: Option<String>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader").field("root", &self.root).finish()
    }
}

impl Loader {
    /// A loader for the build root `dir`, charging what it loads to `budget`.
    pub fn new(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        restrictor: LoadRestrictor,
        budget: Arc<Budget>,
    ) -> Result<Loader, LoadError> {
        Loader::new_with_remote(fs, dir, restrictor, budget, None)
    }

    /// A loader for the build root `dir`, which may be a repository URL when `session`
    /// grants remote access.
    pub fn new_with_remote(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        restrictor: LoadRestrictor,
        budget: Arc<Budget>,
        session: Option<Arc<Session>>,
    ) -> Result<Loader, LoadError> {
        budget.charge_kustomization(1)?;
        let mut ldr = Loader {
            root: PathBuf::from("/"),
            fs,
            restrictor,
            budget,
            referrers: None,
            depth: 0,
            session,
            repo: None,
            repo_url: None,
        };
        if let Some(spec) = dir.to_str().and_then(|d| RepoSpec::parse(d).ok()) {
            return ldr.at_clone(&spec, None);
        }
        ldr.root = confirm_dir(ldr.fs.as_ref(), dir)?;
        Ok(ldr)
    }

    /// This kustomization's directory: absolute and symlink-free.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file system this loader reads (the disk, inside a clone).
    pub fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    /// The budget of the build this loader serves.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// How many kustomizations led here (0 at the build root).
    pub fn depth(&self) -> u64 {
        self.depth
    }

    /// Refuses `root` as a kustomization under this one when it contains this root or a
    /// root that led here (kustomize's cycle check).
    pub(crate) fn check_not_cycle(&self, root: &Path) -> Result<(), LoadError> {
        let mut at = Some(&self.root);
        let mut chain = self.referrers.as_deref();
        while let Some(visited) = at {
            if has_prefix(visited, root) {
                return Err(LoadError::Cycle {
                    candidate: root.to_path_buf(),
                    visited: visited.clone(),
                });
            }
            at = chain.map(|r| &r.root);
            chain = chain.and_then(|r| r.parent.as_deref());
        }
        Ok(())
    }

    /// The repository URL this kustomization was cloned from, if it was.
    pub fn repo_url(&self) -> Option<&str> {
        self.repo_url.as_deref()
    }

    /// The absolute form of `path` relative to this root (not checked).
    pub fn join(&self, path: &str) -> PathBuf {
        normalize(&self.root.join(path))
    }

    /// Resolves a local `path` for reading, applying the restrictor.
    pub fn resolve_file(&self, path: &str) -> Result<PathBuf, LoadError> {
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
    /// read, and no more than the file-size limit. An `http(s)://` URL is fetched, when the
    /// build has remote access.
    pub fn load(&self, path: &str) -> Result<(PathBuf, Vec<u8>), LoadError> {
        let limit = self.budget.file_bytes();
        if is_http_url(path) {
            let remote = |source| LoadError::Remote {
                url: path.to_string(),
                source,
            };
            let session = self.session.as_ref().ok_or(remote(RemoteError::Disabled))?;
            return match session.get(path, limit) {
                Ok(bytes) => Ok((PathBuf::from(path), bytes)),
                // kustomize's signal that the URL names a repository, not a file.
                Err(RemoteError::Status { .. }) if RepoSpec::parse(path).is_ok() => {
                    Err(LoadError::UrlIsGitRepository(path.to_string()))
                }
                Err(e) => Err(remote(e)),
            };
        }
        let p = self.resolve_file(path)?;
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

    /// A loader for `path`, a base, overlay or component: a repository URL is cloned (when
    /// the build has remote access), anything else is a directory relative to this root.
    /// Cycles are refused: the new root may not contain this root or any root that led
    /// here, nor repeat a repository URL that led here; inside a clone, nothing may leave
    /// it.
    pub fn child(&self, path: &str) -> Result<Loader, LoadError> {
        if path.is_empty() {
            return Err(LoadError::NotADirectory(PathBuf::new()));
        }
        if let Ok(spec) = RepoSpec::parse(path) {
            let mut urls: Vec<&str> = self.repo_url.as_deref().into_iter().collect();
            let mut referrers = self.referrers.as_deref();
            while let Some(r) = referrers {
                urls.extend(r.repo_url.as_deref());
                referrers = r.parent.as_deref();
            }
            if let Some(prev) = urls.into_iter().find(|u| u.starts_with(&spec.raw)) {
                return Err(LoadError::RepoCycle {
                    uri: spec.raw.clone(),
                    previous: prev.to_string(),
                });
            }
            self.budget.check_depth(self.depth + 1)?;
            self.budget.charge_kustomization(1)?;
            return self.at_clone(&spec, Some(self));
        }
        if Path::new(path).is_absolute() {
            return Err(LoadError::AbsoluteRoot(path.to_string()));
        }
        let root = confirm_dir(self.fs.as_ref(), &self.join(path))?;
        if let Some(repo) = &self.repo {
            if !root.starts_with(&repo.clone_root) {
                return Err(LoadError::BaseOutsideRepo {
                    base: root,
                    repo: repo.clone_root.clone(),
                });
            }
        }
        self.check_not_cycle(&root)?;
        self.budget.check_depth(self.depth + 1)?;
        self.budget.charge_kustomization(1)?;
        Ok(Loader {
            fs: self.fs.clone(),
            root,
            restrictor: self.restrictor,
            budget: self.budget.clone(),
            referrers: Some(self.as_referrer()),
            depth: self.depth + 1,
            session: self.session.clone(),
            repo: self.repo.clone(),
            repo_url: None,
        })
    }

    fn as_referrer(&self) -> Arc<Referrer> {
        Arc::new(Referrer {
            root: self.root.clone(),
            repo_url: self.repo_url.clone(),
            parent: self.referrers.clone(),
        })
    }

    /// A loader at the kustomization `spec` names in its repository: cloned through the
    /// build's session, read from disk, restricted to that directory (kustomize ignores
    /// `--load-restrictor` inside a clone), nothing outside the clone.
    fn at_clone(&self, spec: &RepoSpec, parent: Option<&Loader>) -> Result<Loader, LoadError> {
        let remote = |source| LoadError::Remote {
            url: spec.raw.clone(),
            source,
        };
        let session = self.session.as_ref().ok_or(remote(RemoteError::Disabled))?;
        let checkout = session.checkout(spec).map_err(remote)?;
        let disk: Arc<dyn FileSystem> = Arc::new(DiskFs);
        let target = normalize(&checkout.dir.join(spec.kust_dir()));
        let real = disk.canonicalize(&target).map_err(|e| LoadError::Io {
            path: target.clone(),
            source: e,
        })?;
        if disk.is_file(&real) {
            let file = real
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(LoadError::RemoteFileNotDirectory { path: target, file });
        }
        if !disk.is_dir(&real) {
            return Err(LoadError::NotADirectory(target));
        }
        let clone_root = disk
            .canonicalize(&checkout.dir)
            .unwrap_or_else(|_| checkout.dir.clone());
        if !real.starts_with(&clone_root) {
            return Err(LoadError::OutsideRepo {
                path: target,
                repo: clone_root,
            });
        }
        Ok(Loader {
            fs: disk,
            root: real,
            restrictor: LoadRestrictor::RootOnly,
            budget: self.budget.clone(),
            referrers: parent.map(Loader::as_referrer),
            depth: parent.map_or(0, |p| p.depth + 1),
            session: self.session.clone(),
            repo: Some(Arc::new(InRepo {
                clone_root,
                _checkout: checkout,
            })),
            repo_url: Some(spec.raw.clone()),
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
