//! kustomize's remote-repository URLs (`RepoSpec`): which strings are git repositories,
//! and how they split into the URL given to `git`, a ref, and a directory in the clone.
//!
//! The grammar, as kustomize v5.5.0 reads it (facts from its `repospec.go` and its tests,
//! checked with kubectl):
//!
//! - an absolute local path is never a repository;
//! - the query (`?ref=`, `?version=`, `?timeout=`, `?submodules=`) is cut at the first `?`;
//!   `ref` wins over `version`; a timeout is whole seconds or a Go duration, anything else
//!   (or zero) the default of 27 s; an unparsable query leaves every default;
//! - a `git::` prefix is dropped (any case); then a scheme (`ssh://`, `https://`, `http://`,
//!   `file://`, any case); then a user name (`git@`); `github.com/…` and `github.com:…`
//!   without a scheme are GitHub over HTTPS (or SSH with a user name); a scheme-less URL is
//!   accepted only in SCP form (`user@host:path`) or for GitHub;
//! - the path splits at `_git/` plus one more segment (Azure), else at `//`, else after the
//!   first `.git`; else a `file://` path is the repository as a whole and any other host
//!   takes its first two segments (`org/repo`) as the repository;
//! - a directory that climbs out of the repository (`//a/../..`) is an error.

use std::time::Duration;

/// kustomize's default timeout for each git command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(27);

/// A remote repository and the kustomization directory in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// The string as written (query included).
    pub raw: String,
    /// Scheme, user and host, with the separator (`https://github.com/`,
    /// `git@github.com:`, `file://`).
    pub host: String,
    /// The repository's path on the host (`org/repo`, `/abs/repo.git`).
    pub repo_path: String,
    /// The kustomization's directory in the repository (`overlays/prod`; may be empty).
    pub kust_path: String,
    /// The ref to fetch (`?ref=` or `?version=`); empty for the remote's HEAD.
    pub git_ref: String,
    /// Check out submodules (`?submodules=`, default true).
    pub submodules: bool,
    /// Timeout of each git command (`?timeout=`).
    pub timeout: Duration,
    /// A `git::` prefix was dropped (kustomize logs a warning for it).
    pub forced_git: bool,
}

/// Why a string is not a repository URL. Callers treat such a string as a local path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The string starts with `/`: a local absolute path.
    #[error("uri looks like abs path: {0}")]
    AbsolutePath(String),
    /// No known scheme (`https://`, `ssh://`, `http://`, `file://`) and not the scp-like
    /// `user@host:path` or `github.com/…` form.
    #[error("failed to parse scheme")]
    Scheme,
    /// No host after the scheme.
    #[error("failed to parse host segment")]
    Host,
    /// The path does not name a repository (`org/repo`, `….git`, `_git/repo` or a `//`
    /// separator).
    #[error("failed to parse repo path segment")]
    RepoPath,
    /// The kustomization directory climbs out of the repository with `..`.
    #[error("url path exits repo: {0}")]
    ExitsRepo(String),
}

impl RepoSpec {
    /// Parses a remote URL as kustomize's `NewRepoSpecFromURL`.
    pub fn parse(n: &str) -> Result<RepoSpec, SpecError> {
        if n.starts_with('/') {
            return Err(SpecError::AbsolutePath(n.to_string()));
        }
        let (rest, query) = match n.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (n, None),
        };
        let (git_ref, timeout, submodules) = parse_query(query.unwrap_or(""));
        let (host, path, forced_git) = extract_host(rest)?;
        let (repo_path, kust_path) = parse_path(&path, host == "file://")?;
        Ok(RepoSpec {
            raw: n.to_string(),
            host,
            repo_path,
            kust_path,
            git_ref,
            submodules,
            timeout,
            forced_git,
        })
    }

    /// The URL given to `git fetch` (kustomize's `CloneSpec`).
    pub fn clone_url(&self) -> String {
        format!("{}{}", self.host, self.repo_path)
    }

    /// The kustomization directory relative to the clone, cleaned (`""` for the root).
    pub fn kust_dir(&self) -> String {
        let cleaned = crate::fs::normalize(std::path::Path::new(&self.kust_path));
        match cleaned.to_string_lossy().as_ref() {
            "." => String::new(),
            s => s.to_string(),
        }
    }
}

/// `ref`/`version`, `timeout`, `submodules` (Go's `url.ParseQuery`: an invalid query sets
/// nothing).
fn parse_query(query: &str) -> (String, Duration, bool) {
    let mut version = None;
    let mut git_ref = None;
    let mut timeout = None;
    let mut submodules = None;
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match (unescape(k), unescape(v)) {
            (Some(k), Some(v)) => pairs.push((k, v)),
            _ => return (String::new(), DEFAULT_TIMEOUT, true),
        }
    }
    for (k, v) in pairs {
        // Go's Values.Get takes the first value of a key.
        let slot = match k.as_str() {
            "version" => &mut version,
            "ref" => &mut git_ref,
            "timeout" => &mut timeout,
            "submodules" => &mut submodules,
            _ => continue,
        };
        slot.get_or_insert(v);
    }
    let git_ref = match git_ref.filter(|r| !r.is_empty()) {
        Some(r) => r,
        None => version.unwrap_or_default(),
    };
    let timeout = timeout
        .and_then(|t| match t.parse::<i64>() {
            Ok(s) if s > 0 => Some(Duration::from_secs(s as u64)),
            Ok(_) => None,
            Err(_) => parse_go_duration(&t).filter(|d| !d.is_zero()),
        })
        .unwrap_or(DEFAULT_TIMEOUT);
    let submodules = match submodules.as_deref() {
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => true,
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => false,
        _ => true,
    };
    (git_ref, timeout, submodules)
}

/// Go's query unescaping: `+` is a space, `%XX` a byte; a bad escape fails.
fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Go's `time.ParseDuration` for non-negative values: `1h2m3.5s`, `300ms`, `1ns`.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return None;
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * nanos;
    }
    Some(Duration::from_nanos(total as u64))
}

const SCHEMES: [&str; 4] = ["ssh://", "https://", "http://", "file://"];

/// kustomize's `extractHost`: (host with scheme and user, the path after it, git:: seen).
fn extract_host(n: &str) -> Result<(String, String, bool), SpecError> {
    let (n, forced) = match n.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("git::") => (&n[5..], true),
        _ => (n, false),
    };
    let mut rest = n;
    let mut scheme = "";
    for s in SCHEMES {
        if rest.len() >= s.len() && rest[..s.len()].eq_ignore_ascii_case(s) {
            scheme = s;
            rest = &rest[s.len()..];
            break;
        }
    }
    // A user name: a letter, then letters, digits and dashes, then `@`.
    let mut username = "";
    if let Some(at) = rest.find('@') {
        let name = &rest[..at];
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if valid {
            username = &rest[..=at];
            rest = &rest[at + 1..];
        }
    }
    let lower = rest.to_ascii_lowercase();
    let std_github = lower.starts_with("github.com/") || lower.starts_with("github.com:");
    let accept_scp = scheme.is_empty() && (!username.is_empty() || std_github);
    if scheme.is_empty() && !accept_scp {
        return Err(SpecError::Scheme);
    }
    if scheme == "file://" {
        return Ok((scheme.to_string(), format!("{username}{rest}"), forced));
    }
    let slash = rest.find('/');
    let mut sep = slash;
    if accept_scp {
        if let Some(colon) = rest.find(':').filter(|&c| c > 0) {
            if slash.is_none_or(|s| colon < s) {
                sep = Some(colon);
            }
        }
    }
    let (mut host, path) = match sep {
        Some(i) => (rest[..=i].to_string(), rest[i + 1..].to_string()),
        None => (rest.to_string(), String::new()),
    };
    let mut scheme = scheme.to_string();
    let mut username = username.to_string();
    if std_github {
        if scheme == "ssh://" || !username.is_empty() {
            scheme = String::new();
            host = "github.com:".into();
        } else {
            scheme = "https://".into();
            username = String::new();
            host = "github.com/".into();
        }
    }
    if host.is_empty() {
        return Err(SpecError::Host);
    }
    Ok((format!("{scheme}{username}{host}"), path, forced))
}

/// kustomize's `parsePathParts`: (repository path, kustomization directory).
fn parse_path(path: &str, is_file: bool) -> Result<(String, String), SpecError> {
    let (repo, dir) = split_repo(path, is_file).ok_or(SpecError::RepoPath)?;
    if repo.is_empty() {
        return Err(SpecError::RepoPath);
    }
    let dir = dir.trim_start_matches('/').to_string();
    let cleaned = crate::fs::normalize(std::path::Path::new(&dir));
    if cleaned.components().next() == Some(std::path::Component::ParentDir) {
        return Err(SpecError::ExitsRepo(path.to_string()));
    }
    Ok((repo, dir))
}

fn split_repo(path: &str, is_file: bool) -> Option<(String, String)> {
    if let Some(i) = path.find("_git/") {
        // The repository is the segment after `_git/`.
        let after = &path[i + 5..];
        let end = after.find('/').map_or(path.len(), |j| i + 5 + j);
        return Some((path[..end].to_string(), path[end..].to_string()));
    }
    if let Some(i) = path.find("//") {
        return Some((path[..i].to_string(), path[i + 2..].to_string()));
    }
    if let Some(i) = path.find(".git") {
        let end = i + 4;
        return Some((path[..end].to_string(), path[end..].to_string()));
    }
    if is_file {
        return Some((path.to_string(), String::new()));
    }
    let parts: Vec<&str> = path.splitn(3, '/').collect();
    if parts.len() < 2 || parts[0].is_empty() || parts[1].is_empty() {
        return None;
    }
    let repo = format!("{}/{}", parts[0], parts[1]);
    Some((
        repo,
        parts.get(2).map(|s| s.to_string()).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, clone URL, ref, directory), from kustomize's repospec tests.
    const CASES: &[(&str, &str, &str, &str)] = &[
        ("gitHub.com/someOrg/someRepo/foo/krusty.txt?ref=group/version", "https://github.com/someOrg/someRepo", "group/version", "foo/krusty.txt"),
        ("github.com:someOrg/someRepo", "https://github.com/someOrg/someRepo", "", ""),
        ("http://github.com/someOrg/someRepo/README.md", "https://github.com/someOrg/someRepo", "", "README.md"),
        ("hTTps://github.com/kubernetes/website?ref=v0.1.0", "https://github.com/kubernetes/website", "v0.1.0", ""),
        ("git@github.com/someOrg/someRepo", "git@github.com:someOrg/someRepo", "", ""),
        ("org-12345@github.com/kubernetes-sigs/kustomize", "org-12345@github.com:kubernetes-sigs/kustomize", "", ""),
        ("ssh://org-12345@github.com/kubernetes-sigs/kustomize", "org-12345@github.com:kubernetes-sigs/kustomize", "", ""),
        ("ssh://git@github.com/kubernetes-sigs/kustomize//examples/multibases/dev?ref=v1.0.6", "git@github.com:kubernetes-sigs/kustomize", "v1.0.6", "examples/multibases/dev"),
        ("git::https://gitlab.com/someOrg/someRepo", "https://gitlab.com/someOrg/someRepo", "", ""),
        ("git::git@github.com:someOrg/someRepo", "git@github.com:someOrg/someRepo", "", ""),
        ("https://git-codecommit.us-east-2.amazonaws.com/someorg/somerepo/somedir?ref=testbranch", "https://git-codecommit.us-east-2.amazonaws.com/someorg/somerepo", "testbranch", "somedir"),
        ("http://github.com/someorg/somerepo.git/somedir", "https://github.com/someorg/somerepo.git", "", "somedir"),
        ("git@github.com:someorg/somerepo.git/somedir", "git@github.com:someorg/somerepo.git", "", "somedir"),
        ("git@gitlab2.sqtools.ru:infra/kubernetes/thanos-base.git?ref=v0.1.0", "git@gitlab2.sqtools.ru:infra/kubernetes/thanos-base.git", "v0.1.0", ""),
        ("git@bitbucket.org:company/project.git//path?ref=branch", "git@bitbucket.org:company/project.git", "branch", "path"),
        ("git@bitbucket.org/company/project.git//path?ref=branch", "git@bitbucket.org/company/project.git", "branch", "path"),
        ("ssh://git@bitbucket.org/company/project.git//path?ref=branch", "ssh://git@bitbucket.org/company/project.git", "branch", "path"),
        ("https://itfs.mycompany.com/collection/project/_git/somerepos/somedir?version=v1.0.0", "https://itfs.mycompany.com/collection/project/_git/somerepos", "v1.0.0", "somedir"),
        ("ssh://git-codecommit.us-east-2.amazonaws.com/someorg/somerepo/somepath", "ssh://git-codecommit.us-east-2.amazonaws.com/someorg/somerepo", "", "somepath"),
        ("file://a/b/c/someRepo.git/somepath?ref=someBranch", "file://a/b/c/someRepo.git", "someBranch", "somepath"),
        ("file://a/b/c/someRepo//somepath?ref=someBranch", "file://a/b/c/someRepo", "someBranch", "somepath"),
        ("file:///a/b/c/someRepo?ref=someBranch", "file:///a/b/c/someRepo", "someBranch", ""),
        ("https://example.org/path/to/repo//examples/multibases/dev", "https://example.org/path/to/repo", "", "examples/multibases/dev"),
        ("https://authority/org/repo/?ref=includes_git/for_some_reason", "https://authority/org/repo", "includes_git/for_some_reason", ""),
        ("file://git@home/path/to/repository.git//path?ref=branch", "file://git@home/path/to/repository.git", "branch", "path"),
        ("ssh://git@ssh.github.com:443/YOUR-USERNAME/YOUR-REPOSITORY.git", "ssh://git@ssh.github.com:443/YOUR-USERNAME/YOUR-REPOSITORY.git", "", ""),
        ("git@gitlab.com/user:name/YOUR-REPOSITORY.git/path", "git@gitlab.com/user:name/YOUR-REPOSITORY.git", "", "path"),
        ("https://username@dev.azure.com/org/project/_git/repo//path/to/kustomization/root", "https://username@dev.azure.com/org/project/_git/repo", "", "path/to/kustomization/root"),
        ("git@gist.github.com:bc7947cb727d7f9217e7862d961a1ffd.git", "git@gist.github.com:bc7947cb727d7f9217e7862d961a1ffd.git", "", ""),
    ];

    #[test]
    fn kustomize_repospec_examples() {
        for (input, url, git_ref, dir) in CASES {
            let s = RepoSpec::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(s.clone_url(), *url, "{input}");
            assert_eq!(s.git_ref, *git_ref, "{input}");
            assert_eq!(s.kust_dir(), dir.trim_end_matches('/'), "{input}");
        }
    }

    #[test]
    fn not_repositories() {
        for input in [
            "/tmp",
            "../../tmp",
            "src/github.com/org/repo/path",
            "htxxxtp://github.com/",
            "gh:org/repo",
            "127.0.0.1:org/repo",
            "ssh://git.example.com",
            "https://github.com/thisisa404.yaml",
            "https://github.com/org/repo.git//path/../../exits/repo",
            "base",
            "../overlays/prod",
        ] {
            assert!(RepoSpec::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn query_parameters() {
        let s =
            RepoSpec::parse("file:///r//d?version=v1&ref=v2&timeout=61&submodules=false").unwrap();
        assert_eq!((s.git_ref.as_str(), s.submodules), ("v2", false));
        assert_eq!(s.timeout, Duration::from_secs(61));
        let s = RepoSpec::parse("file:///r?timeout=1m30s&ref=feature%2Fblue").unwrap();
        assert_eq!(s.timeout, Duration::from_secs(90));
        assert_eq!(s.git_ref, "feature/blue");
        for bad in ["0", "-3", "soon"] {
            let s = RepoSpec::parse(&format!("file:///r?timeout={bad}")).unwrap();
            assert_eq!(s.timeout, DEFAULT_TIMEOUT, "{bad}");
        }
        assert!(RepoSpec::parse("GIT::file:///r").unwrap().forced_git);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1ns"), Some(Duration::from_nanos(1)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_millis(3_723_500))
        );
        assert_eq!(parse_go_duration("12"), None);
    }
}
