//! Remote content, as a capability the caller grants: git repositories (bases, components,
//! build roots) and HTTP(S) files.
//!
//! A build reads remote content only through a [`Remote`] given in
//! [`crate::build::Options::remote`]; without one every remote reference is a clear error,
//! so a controller that embeds the library decides whether its tenants reach the network,
//! and may supply its own implementation (a proxy, an allow-list, a mirror). [`Network`] is
//! the real one: the `git` binary for repositories ([`git`]) and `ureq` for HTTP(S), with
//! timeouts, a size bound and at most ten redirects. The command line grants it unless
//! `--no-remote`.
//!
//! What kustomize does, and this does the same (see `fixtures/conformance/remote`): a
//! repository URL ([`spec::RepoSpec`]) is cloned shallowly at its ref; the kustomization
//! in it is its own load-restriction root, whatever `--load-restrictor` says, and nothing
//! it references may leave the clone. An `http(s)://` file is fetched wherever kustomize's
//! loader reads files; a `resources:` entry that does not load as a file is tried as a
//! repository. Each repository and ref is cloned once per build ([`Session`]) and removed
//! when the build ends. With a cache directory ([`Network::with_cache`]) a clone is kept,
//! keyed by repository and *resolved commit*: a ref is resolved on the remote (`git
//! ls-remote`) every time, so a branch that moved is fetched anew, and a repeated build of
//! a pinned ref does not clone again.

pub mod git;
pub mod spec;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use spec::RepoSpec;

/// Why remote content could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The build was not granted remote access.
    #[error("remote access is disabled (the build was not given a remote fetcher; the command line grants one unless --no-remote)")]
    Disabled,
    /// No `git` program on `PATH`, so repositories cannot be cloned.
    #[error("no 'git' program on path: exec: \"git\": executable file not found in $PATH")]
    NoGit,
    /// A git command failed (kustomize's text: the command, its output, its exit status).
    #[error("{0}")]
    Git(String),
    /// A git command ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// An HTTP answer that is not 2xx.
    #[error("HTTP Error: status code {code} ({})", status_text(*code))]
    Status {
        /// The HTTP status code.
        code: u16,
    },
    /// The request failed (connection, TLS, redirects).
    #[error("Get \"{url}\": {message}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The body is larger than the file-size limit.
    #[error("{url}: the response is larger than the limit of {limit} bytes (raise it with --limit file-bytes=N)")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit in bytes ([`crate::budget::Limits::file_bytes`]).
        limit: u64,
    },
    /// A local file operation (temporary directories, the cache).
    #[error("{0}")]
    Io(String),
}

impl RemoteError {
    /// Did a git command time out?
    pub fn is_timeout(&self) -> bool {
        matches!(self, RemoteError::Timeout(_))
    }
}

/// Go's `http.StatusText` for the codes a server is likely to send.
fn status_text(code: u16) -> &'static str {
    match code {
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// A checked-out repository: its directory exists as long as this value does.
#[derive(Debug)]
pub struct Checkout {
    /// The root of the working tree.
    pub dir: PathBuf,
    /// The commit checked out, when known.
    pub commit: Option<String>,
    /// Removes a temporary clone when dropped (`None` for a cached one).
    _temp: Option<git::TempDir>,
}

impl Checkout {
    /// A checkout in `dir` that the caller keeps alive (a cache, a mirror).
    pub fn kept(dir: PathBuf, commit: Option<String>) -> Checkout {
        Checkout {
            dir,
            commit,
            _temp: None,
        }
    }
}

/// Remote access a build is granted.
pub trait Remote: Send + Sync + std::fmt::Debug {
    /// The body of an `http://` or `https://` URL, at most `max_bytes`; an answer that is
    /// not 2xx is [`RemoteError::Status`].
    fn get(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, RemoteError>;
    /// A working tree of `spec`'s repository at its ref (submodules as it asks).
    fn checkout(&self, spec: &RepoSpec) -> Result<Checkout, RemoteError>;
}

/// The network: `git` for repositories, HTTP(S) with `ureq`.
#[derive(Debug, Clone)]
pub struct Network {
    /// Where clones are kept between builds (`--remote-cache`); `None`: a temporary clone
    /// per build.
    pub cache: Option<PathBuf>,
    /// Timeout of one HTTP request (kustomize has none).
    pub http_timeout: Duration,
    /// Where temporary clones go (default: the system's temporary directory).
    pub temp_dir: PathBuf,
    /// Extra environment for `git` (e.g. an isolated configuration for tests).
    pub git_env: Vec<(String, String)>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            cache: None,
            http_timeout: Duration::from_secs(120),
            temp_dir: std::env::temp_dir(),
            git_env: Vec::new(),
        }
    }
}

impl Network {
    /// The network, keeping clones in `dir` between builds.
    pub fn with_cache(dir: impl Into<PathBuf>) -> Network {
        Network {
            cache: Some(dir.into()),
            ..Network::default()
        }
    }

    fn temp_clone(&self, spec: &RepoSpec) -> Result<Checkout, RemoteError> {
        let dir = git::TempDir::new(&self.temp_dir, "kustomize-")
            .map_err(|e| RemoteError::Io(format!("creating a clone directory: {e}")))?;
        git::clone_into(spec, dir.path(), &self.git_env)?;
        Ok(Checkout {
            dir: dir.path().to_path_buf(),
            commit: None,
            _temp: Some(dir),
        })
    }

    /// A clone kept in the cache under `<repository hash>/<commit>`: the ref is resolved
    /// on the remote first, so only the commit it names now is served.
    fn cached_clone(&self, cache: &Path, spec: &RepoSpec) -> Result<Checkout, RemoteError> {
        use sha2::Digest as _;
        let io = |what: &str, e: std::io::Error| RemoteError::Io(format!("{what}: {e}"));
        let key = format!("{}\n{}", spec.clone_url(), spec.submodules);
        let repo_dir = cache.join(format!("{:x}", sha2::Sha256::digest(key.as_bytes())));
        std::fs::create_dir_all(&repo_dir).map_err(|e| io("creating the remote cache", e))?;
        let Some(commit) = git::resolve_ref(spec, &repo_dir, &self.git_env)? else {
            // Unknown ref: a clone reports it as kustomize would.
            return self.temp_clone(spec);
        };
        let entry = repo_dir.join(&commit);
        if entry.join(".rustomize-complete").is_file() {
            return Ok(Checkout::kept(entry, Some(commit)));
        }
        // One build clones, others wait and then use its result.
        let lock = std::fs::File::create(repo_dir.join(".lock"))
            .map_err(|e| io("locking the remote cache", e))?;
        lock.lock().map_err(|e| io("locking the remote cache", e))?;
        if entry.join(".rustomize-complete").is_file() {
            return Ok(Checkout::kept(entry, Some(commit)));
        }
        let temp = git::TempDir::new(&repo_dir, ".clone-")
            .map_err(|e| io("creating a clone directory", e))?;
        let pinned = RepoSpec {
            git_ref: commit.clone(),
            ..spec.clone()
        };
        git::clone_into(&pinned, temp.path(), &self.git_env)?;
        std::fs::write(temp.path().join(".rustomize-complete"), &commit)
            .map_err(|e| io("marking a cached clone", e))?;
        let _ = std::fs::remove_dir_all(&entry);
        let kept = temp.keep();
        std::fs::rename(&kept, &entry).map_err(|e| io("moving a clone into the cache", e))?;
        Ok(Checkout::kept(entry, Some(commit)))
    }
}

impl Remote for Network {
    fn get(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, RemoteError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.http_timeout))
            .max_redirects(10)
            .http_status_as_error(false)
            .build()
            .into();
        let transport = |e: ureq::Error| RemoteError::Transport {
            url: url.to_string(),
            message: match e {
                ureq::Error::TooManyRedirects => "stopped after 10 redirects".into(),
                other => other.to_string(),
            },
        };
        let mut response = agent.get(url).call().map_err(transport)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(RemoteError::Status { code: status });
        }
        response
            .body_mut()
            .with_config()
            .limit(max_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => RemoteError::TooLarge {
                    url: url.to_string(),
                    limit: max_bytes,
                },
                other => transport(other),
            })
    }

    fn checkout(&self, spec: &RepoSpec) -> Result<Checkout, RemoteError> {
        match &self.cache {
            Some(cache) => self.cached_clone(cache, spec),
            None => self.temp_clone(spec),
        }
    }
}

/// Remote access within one build: each repository, ref and submodule setting is checked
/// out once, and temporary clones are removed when the build's last loader is dropped.
#[derive(Debug)]
pub struct Session {
    remote: Arc<dyn Remote>,
    checkouts: Mutex<HashMap<(String, String, bool), Arc<Checkout>>>,
}

impl Session {
    /// A session for one build, fetching through `remote`.
    pub fn new(remote: Arc<dyn Remote>) -> Session {
        Session {
            remote,
            checkouts: Mutex::default(),
        }
    }

    /// The checkout of `spec`'s repository, cloned on first use.
    pub fn checkout(&self, spec: &RepoSpec) -> Result<Arc<Checkout>, RemoteError> {
        let key = (spec.clone_url(), spec.git_ref.clone(), spec.submodules);
        // Held while cloning: two bases naming one repository wait for one clone.
        let mut map = self.checkouts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let c = Arc::new(self.remote.checkout(spec)?);
        map.insert(key, c.clone());
        Ok(c)
    }

    /// The body of an HTTP(S) URL.
    pub fn get(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, RemoteError> {
        self.remote.get(url, max_bytes)
    }
}

/// Is `path` an `http://` or `https://` URL (kustomize's `IsRemoteFile`)?
pub fn is_http_url(path: &str) -> bool {
    let Some((scheme, rest)) = path.split_once("://") else {
        return false;
    };
    !rest.is_empty()
        && (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        assert!(is_http_url("https://example.com/a.yaml"));
        assert!(is_http_url("HTTP://example.com/a.yaml"));
        assert!(!is_http_url("file:///a.yaml"));
        assert!(!is_http_url("a/b.yaml"));
        assert!(!is_http_url("http://"));
    }

    #[test]
    fn status_errors_read_as_kustomize() {
        assert_eq!(
            RemoteError::Status { code: 404 }.to_string(),
            "HTTP Error: status code 404 (Not Found)"
        );
    }
}
