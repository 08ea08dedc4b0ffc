//! Remote bases beyond the conformance suite: the opt-in clone cache (keyed by resolved
//! commit, never serving a moved branch), refusing remote access, and Flux mode building a
//! remote base through the same loader. Repositories are made by the test with `git` and
//! used through `file://` URLs; nothing leaves the machine.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustomize::build::Options;
use rustomize::fs::DiskFs;
use rustomize::remote::Network;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rz-remote-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(std::fs::canonicalize(&dir).unwrap())
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn git(&self, dir: &str, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.0.join(dir))
            .envs(support::git_env(&self.0))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A repository `repo` with a base whose ConfigMap holds `value`, committed on main.
    fn commit_base(&self, value: &str) -> String {
        self.write("repo/base/kustomization.yaml", "resources:\n- cm.yaml\n");
        self.write(
            "repo/base/cm.yaml",
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: {value}\n"
            ),
        );
        if !self.0.join("repo/.git").exists() {
            self.git("repo", &["init", "-q", "--initial-branch=main"]);
        }
        self.git("repo", &["add", "-A"]);
        self.git("repo", &["commit", "-q", "-m", value]);
        self.git("repo", &["rev-parse", "HEAD"])
    }

    fn overlay(&self, url: &str) -> PathBuf {
        self.write("app/kustomization.yaml", &format!("resources:\n- {url}\n"));
        self.0.join("app")
    }

    fn network(&self, cache: Option<&Path>) -> Network {
        let mut n = match cache {
            Some(c) => Network::with_cache(c),
            None => Network::default(),
        };
        n.git_env = support::git_env(&self.0);
        n
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build(dir: &Path, network: Network) -> Result<String, String> {
    let opts = Options {
        remote: Some(Arc::new(network)),
        ..Default::default()
    };
    rustomize::build::render(Arc::new(DiskFs), dir, &opts)
        .map(|b| String::from_utf8(b).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn a_cached_pinned_commit_builds_without_the_remote() {
    let s = Scratch::new("pinned");
    let sha = s.commit_base("one");
    let url = format!("file://{}/repo//base?ref={sha}", s.0.display());
    let app = s.overlay(&url);
    let cache = s.0.join("cache");
    let first = build(&app, s.network(Some(&cache))).unwrap();
    assert!(first.contains("v: one"));
    // The repository is gone: only the cache can answer.
    std::fs::remove_dir_all(s.0.join("repo")).unwrap();
    let second = build(&app, s.network(Some(&cache))).unwrap();
    assert_eq!(first, second);
    // Without the cache the build needs the repository.
    assert!(build(&app, s.network(None)).is_err());
}

#[test]
fn the_cache_never_serves_a_branch_that_moved() {
    let s = Scratch::new("moving");
    let first_sha = s.commit_base("one");
    let url = format!("file://{}/repo//base?ref=main", s.0.display());
    let app = s.overlay(&url);
    let cache = s.0.join("cache");
    assert!(build(&app, s.network(Some(&cache)))
        .unwrap()
        .contains("v: one"));
    let second_sha = s.commit_base("two");
    assert!(build(&app, s.network(Some(&cache)))
        .unwrap()
        .contains("v: two"));
    // Each commit is its own entry.
    let entries: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .flat_map(|repo| std::fs::read_dir(repo.unwrap().path()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(
        entries.contains(&first_sha) && entries.contains(&second_sha),
        "{entries:?}"
    );
}

#[test]
fn remote_access_is_refused_unless_granted() {
    let s = Scratch::new("refused");
    s.commit_base("one");
    let app = s.overlay(&format!("file://{}/repo//base", s.0.display()));
    let e = rustomize::build::render(Arc::new(DiskFs), &app, &Options::default()).unwrap_err();
    assert!(e.to_string().contains("remote access is disabled"), "{e}");
    let out = Command::new(env!("CARGO_BIN_EXE_rustomize"))
        .args(["build", app.to_str().unwrap(), "--no-remote"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("remote access is disabled"));
}

#[test]
fn flux_mode_builds_a_remote_base_through_the_same_loader() {
    let s = Scratch::new("flux");
    s.commit_base("flux");
    let url = format!("file://{}/repo//base", s.0.display());
    s.write(
        "flux-repo/apps/kustomization.yaml",
        &format!("resources:\n- {url}\n"),
    );
    let mut opts = rustomize::flux::FluxOptions::new(s.0.join("flux-repo"));
    opts.remote = Some(Arc::new(s.network(None)));
    let out = rustomize::flux::render(
        Arc::new(DiskFs),
        &s.0.join("flux-repo/apps"),
        &Default::default(),
        &[],
        &opts,
    )
    .unwrap();
    assert!(String::from_utf8(out).unwrap().contains("v: flux"));
}

#[test]
fn a_clone_is_removed_when_the_build_ends() {
    let s = Scratch::new("cleanup");
    s.commit_base("one");
    let app = s.overlay(&format!("file://{}/repo//base", s.0.display()));
    let mut network = s.network(None);
    network.temp_dir = s.0.join("clones");
    std::fs::create_dir_all(&network.temp_dir).unwrap();
    build(&app, network).unwrap();
    assert_eq!(std::fs::read_dir(s.0.join("clones")).unwrap().count(), 0);
}
