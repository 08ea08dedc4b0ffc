//! Cloning with the `git` binary, the commands kustomize runs: `git init`, `git remote add
//! origin URL` (so that relative submodule URLs resolve), `git fetch --depth=1 URL REF`
//! (`HEAD` without a ref), `git checkout FETCH_HEAD`, and `git submodule update --init
//! --recursive` unless `?submodules=false`. Each command has the URL's timeout; unlike
//! kustomize, a command that times out is killed rather than left running.
//!
//! Errors read as kustomize's: `failed to run '<git> <args>': <output>: exit status N` and
//! `hit 27s timeout running '<git> <args>'`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::spec::RepoSpec;
use super::RemoteError;

/// A directory removed when dropped (a clone, or a file being downloaded).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory `<parent>/<prefix><digits>`.
    pub fn new(parent: &Path, prefix: &str) -> std::io::Result<TempDir> {
        use std::time::{SystemTime, UNIX_EPOCH};
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        for attempt in 0..1000u64 {
            let n = seed.wrapping_mul(6364136223846793005).wrapping_add(attempt) % 10_000_000_000;
            let p = parent.join(format!("{prefix}{n}"));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(std::fs::canonicalize(&p).unwrap_or(p))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("cannot create a temporary directory"))
    }

    /// Where the directory is.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Keeps the directory: it is no longer removed on drop.
    pub fn keep(self) -> PathBuf {
        let p = self.0.clone();
        std::mem::forget(self);
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `git` program on `PATH` (kustomize prints the path it found in its errors).
pub fn git_program() -> Result<PathBuf, RemoteError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("git");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(RemoteError::NoGit)
}

/// Runs one git command in `dir`, within `timeout`; returns its combined output.
pub fn run(
    git: &Path,
    dir: &Path,
    args: &[&str],
    timeout: Duration,
    env: &[(String, String)],
) -> Result<String, RemoteError> {
    let shown = format!("{} {}", git.display(), args.join(" "));
    let mut child = Command::new(git)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Never ask for credentials on a terminal: a build is not interactive.
        .env("GIT_TERMINAL_PROMPT", "0")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .spawn()
        .map_err(|e| RemoteError::Git(format!("failed to run '{shown}': {e}")))?;
    // Both pipes are drained on threads, so that a chatty command cannot block on a full
    // pipe while we wait for it.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RemoteError::Timeout(format!(
                    "hit {} timeout running '{shown}'",
                    go_duration(timeout)
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(RemoteError::Git(format!("failed to run '{shown}': {e}"))),
        }
    };
    let mut output = out.join().unwrap_or_default();
    output.extend(err.join().unwrap_or_default());
    let output = String::from_utf8_lossy(&output).into_owned();
    if !status.success() {
        let code = status
            .code()
            .map_or("signal".to_string(), |c| format!("exit status {c}"));
        return Err(RemoteError::Git(format!(
            "failed to run '{shown}': {output}: {code}"
        )));
    }
    Ok(output)
}

/// Clones `spec` into `dir` (which exists and is empty) as kustomize does.
pub fn clone_into(
    spec: &RepoSpec,
    dir: &Path,
    env: &[(String, String)],
) -> Result<(), RemoteError> {
    let git = git_program()?;
    let url = spec.clone_url();
    let git_ref = if spec.git_ref.is_empty() {
        "HEAD"
    } else {
        spec.git_ref.as_str()
    };
    let t = spec.timeout;
    run(&git, dir, &["init"], t, env)?;
    run(&git, dir, &["remote", "add", "origin", &url], t, env)?;
    run(&git, dir, &["fetch", "--depth=1", &url, git_ref], t, env)?;
    run(&git, dir, &["checkout", "FETCH_HEAD"], t, env)?;
    if spec.submodules {
        run(
            &git,
            dir,
            &["submodule", "update", "--init", "--recursive"],
            t,
            env,
        )?;
    }
    Ok(())
}

/// The commit a ref names on the remote, without cloning (`git ls-remote`); a full commit
/// id names itself. `None` when the remote has no such ref.
pub fn resolve_ref(
    spec: &RepoSpec,
    scratch: &Path,
    env: &[(String, String)],
) -> Result<Option<String>, RemoteError> {
    let r = if spec.git_ref.is_empty() {
        "HEAD"
    } else {
        spec.git_ref.as_str()
    };
    if r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Some(r.to_ascii_lowercase()));
    }
    let git = git_program()?;
    let out = run(
        &git,
        scratch,
        &["ls-remote", &spec.clone_url(), r],
        spec.timeout,
        env,
    )?;
    // git resolves a short name as a tag before a branch; an annotated tag is listed
    // twice, as the tag object and peeled (`^{}`) as the commit a fetch checks out.
    let mut best: Option<(u8, String)> = None;
    for line in out.lines() {
        let Some((sha, name)) = line.split_once('\t') else {
            continue;
        };
        let rank = if name == format!("{r}^{{}}") || name == format!("refs/tags/{r}^{{}}") {
            0
        } else if name == r {
            1
        } else if name == format!("refs/tags/{r}") {
            2
        } else if name == format!("refs/heads/{r}") {
            3
        } else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| rank < *b) {
            best = Some((rank, sha.to_string()));
        }
    }
    Ok(best.map(|(_, sha)| sha))
}

/// The commit checked out in a clone.
pub fn head_commit(
    dir: &Path,
    timeout: Duration,
    env: &[(String, String)],
) -> Result<String, RemoteError> {
    let git = git_program()?;
    Ok(run(&git, dir, &["rev-parse", "HEAD"], timeout, env)?
        .trim()
        .to_string())
}

/// A duration as Go prints it (`27s`, `1m30s`, `1ns`, `500ms`).
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_float(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_float(nanos as f64 / 1e6));
    }
    let total = d.as_secs_f64();
    let hours = (total / 3600.0).floor();
    let minutes = ((total - hours * 3600.0) / 60.0).floor();
    let seconds = total - hours * 3600.0 - minutes * 60.0;
    let mut out = String::new();
    if hours > 0.0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0.0 || minutes > 0.0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", trim_float(seconds)));
    out
}

fn trim_float(f: f64) -> String {
    let s = format!("{f:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go() {
        assert_eq!(go_duration(Duration::from_secs(27)), "27s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_nanos(1)), "1ns");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }
}
