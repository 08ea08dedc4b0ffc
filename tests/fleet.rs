//! `rustomize check` and `rustomize diff` (library and command line): every root found and
//! built as `rustomize build` builds it, components skipped, ignored and excluded
//! directories left out, failures reported; diffs between two commits of a git repository
//! made here, per resource, without touching the checkout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustomize::fleet::{self, CheckOptions, Status};
use rustomize::fs::DiskFs;

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rz-fleet-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.0)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: {image}\n"
    )
}

fn status_of<'a>(report: &'a fleet::CheckReport, dir: &str) -> &'a Status {
    &report
        .roots
        .iter()
        .find(|r| r.dir == Path::new(dir))
        .unwrap_or_else(|| panic!("no root {dir} in {:?}", report.roots))
        .status
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

#[test]
fn check_of_the_corpus_prints_what_build_prints_and_kubectl_printed() {
    let opts = CheckOptions {
        keep_output: true,
        ..Default::default()
    };
    let report = fleet::check(&corpus(), &opts).unwrap();
    assert!(report.roots.len() > 100, "{}", report.roots.len());
    assert!(!report.failed(), "{:#}", report.to_json());
    for r in &report.roots {
        let Status::Ok = r.status else { continue };
        let alone = rustomize::render(
            Arc::new(DiskFs),
            &corpus().join(&r.dir),
            &Default::default(),
        )
        .unwrap();
        assert!(
            r.output.as_deref() == Some(&alone[..]),
            "{}",
            r.dir.display()
        );
        assert_eq!(r.documents, r.resources.len());
    }
    // Each corpus case's root is among them, with kubectl's bytes.
    for case in std::fs::read_dir(corpus()).unwrap() {
        let case = case.unwrap().path();
        let meta = std::fs::read_to_string(case.join("case.yaml")).unwrap();
        let root = meta
            .lines()
            .find_map(|l| l.strip_prefix("root: "))
            .unwrap()
            .trim();
        let dir = Path::new(case.file_name().unwrap()).join("in").join(root);
        let found = report.roots.iter().find(|r| r.dir == dir).unwrap();
        let expected = std::fs::read(case.join("expected.yaml")).unwrap();
        assert!(
            found.output.as_deref() == Some(&expected[..]),
            "{}",
            dir.display()
        );
    }
}

#[test]
fn check_skips_components_and_ignored_directories_and_reports_failures() {
    let s = Scratch::new("check");
    s.write("base/kustomization.yaml", "resources:\n- app.yaml\n");
    s.write("base/app.yaml", &deployment("app", "app:1.0"));
    s.write(
        "overlays/a/kustomization.yaml",
        "resources:\n- ../../base\nnamePrefix: a-\n",
    );
    s.write(
        "overlays/b/kustomization.yaml",
        "resources:\n- ../../base\ncomponents:\n- ../../comp\n",
    );
    s.write(
        "comp/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnameSuffix: -c\n",
    );
    s.write("broken/kustomization.yaml", "resources:\n- missing.yaml\n");
    s.write(".gitignore", "generated/\n");
    s.write("generated/kustomization.yaml", "resources:\n- nope.yaml\n");
    s.write("apps/.sourceignore", "old/\n");
    s.write("apps/old/kustomization.yaml", "resources:\n- nope.yaml\n");
    s.write("archive/x/kustomization.yaml", "resources:\n- nope.yaml\n");
    let opts = CheckOptions {
        exclude: vec!["archive".into()],
        keep_output: true,
        ..Default::default()
    };
    let report = fleet::check(&s.0, &opts).unwrap();
    let dirs: Vec<String> = report
        .roots
        .iter()
        .map(|r| r.dir.display().to_string())
        .collect();
    assert_eq!(
        dirs,
        ["base", "broken", "comp", "overlays/a", "overlays/b"],
        "{dirs:?}"
    );
    assert!(matches!(status_of(&report, "comp"), Status::Skipped(_)));
    let Status::Failed(e) = status_of(&report, "broken") else {
        panic!("broken built")
    };
    assert_eq!(e.kind(), rustomize::ErrorKind::Load);
    assert!(report.failed());
    let b = report
        .roots
        .iter()
        .find(|r| r.dir == Path::new("overlays/b"))
        .unwrap();
    assert_eq!(b.resources[0].0, "Deployment.apps/app-c");
    let json = report.to_json();
    assert_eq!(
        (
            json["ok"].as_u64(),
            json["failed"].as_u64(),
            json["skipped"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
}

#[test]
fn diff_between_two_commits_per_resource_without_touching_the_checkout() {
    let s = Scratch::new("diff");
    s.git(&["init", "-q", "-b", "main"]);
    s.write(
        "base/kustomization.yaml",
        "resources:\n- app.yaml\n- svc.yaml\n",
    );
    s.write("base/app.yaml", &deployment("app", "app:1.0"));
    s.write(
        "base/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: app\n",
    );
    s.write(
        "prod/kustomization.yaml",
        "resources:\n- ../base\nnamespace: prod\n",
    );
    s.git(&["add", "-A"]);
    s.git(&["commit", "-qm", "one"]);
    let first = s.git(&["rev-parse", "HEAD"]).trim().to_string();
    s.write("base/app.yaml", &deployment("app", "app:1.1"));
    s.write(
        "base/kustomization.yaml",
        "resources:\n- app.yaml\nconfigMapGenerator:\n- name: cfg\n  literals:\n  - a=b\n",
    );
    s.write("staging/kustomization.yaml", "resources:\n- ../base\n");
    s.git(&["add", "-A"]);
    s.git(&["commit", "-qm", "two"]);
    let status_before = s.git(&["status", "--porcelain"]);
    let worktrees_before = s.git(&["worktree", "list"]);

    let report = fleet::diff(&s.0, &first, Some("main"), &CheckOptions::default()).unwrap();
    assert!(report.changed());
    let prod = report
        .roots
        .iter()
        .find(|r| r.dir == Path::new("prod"))
        .unwrap();
    // The name hash is kubectl's for this ConfigMap.
    assert_eq!(prod.added, ["ConfigMap/prod/cfg-4h2mbtbbt6"]);
    assert_eq!(prod.removed, ["Service/prod/app"]);
    assert_eq!(prod.changed.len(), 1);
    let (id, diff) = &prod.changed[0];
    assert_eq!(id, "Deployment.apps/prod/app");
    assert!(diff.contains("-      - image: app:1.0\n"), "{diff}");
    assert!(diff.contains("+      - image: app:1.1\n"), "{diff}");
    let staging = report
        .roots
        .iter()
        .find(|r| r.dir == Path::new("staging"))
        .unwrap();
    assert_eq!(staging.state, "added");
    let md = report.to_markdown();
    assert!(md.contains("| `prod` | 1 | 1 | 1 |"), "{md}");
    assert!(md.contains("```diff"), "{md}");

    // Nothing changed between a commit and itself, nor between HEAD and a clean tree.
    assert!(
        !fleet::diff(&s.0, "main", Some("main"), &Default::default())
            .unwrap()
            .changed()
    );
    assert!(!fleet::diff(&s.0, "HEAD", None, &Default::default())
        .unwrap()
        .changed());
    // An edit in the working tree shows against HEAD.
    s.write("base/app.yaml", &deployment("app", "app:2.0"));
    let dirty = fleet::diff(&s.0, "HEAD", None, &Default::default()).unwrap();
    assert_eq!(dirty.roots.len(), 3, "{:#}", dirty.to_json());
    s.write("base/app.yaml", &deployment("app", "app:1.1"));

    assert_eq!(s.git(&["status", "--porcelain"]), status_before);
    assert_eq!(s.git(&["worktree", "list"]), worktrees_before);
    let unknown = fleet::diff(&s.0, "no-such-ref", None, &Default::default()).unwrap_err();
    assert!(unknown.to_string().contains("no-such-ref"), "{unknown}");
}

#[test]
fn the_commands_exit_1_on_a_failed_build_or_a_change() {
    let s = Scratch::new("cli");
    s.git(&["init", "-q", "-b", "main"]);
    s.write("app/kustomization.yaml", "resources:\n- app.yaml\n");
    s.write("app/app.yaml", &deployment("app", "app:1.0"));
    s.git(&["add", "-A"]);
    s.git(&["commit", "-qm", "one"]);
    let rz = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rustomize"))
            .args(args)
            .current_dir(&s.0)
            .output()
            .unwrap()
    };
    let ok = rz(&["check"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("1 roots: 1 ok, 0 failed"));
    let same = rz(&["diff", "main"]);
    assert_eq!(same.status.code(), Some(0), "{same:?}");
    s.write("app/app.yaml", &deployment("app", "app:1.2"));
    let changed = rz(&["diff", "main", "--format", "markdown"]);
    assert_eq!(changed.status.code(), Some(1), "{changed:?}");
    assert!(String::from_utf8_lossy(&changed.stdout).contains("| `app` | 0 | 0 | 1 |"));
    s.write("bad/kustomization.yaml", "resources: 5\n");
    let failed = rz(&["check", "--format", "json"]);
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    let json: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(json["failed"], 1);
}

fn flux_kustomization(name: &str, path: &str, source: &str, extra: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n{extra}"
    )
}

#[test]
fn check_flux_follows_the_clusters_infrastructure_apps_chain() {
    let s = Scratch::new("flux");
    s.write(
        "clusters/prod/flux-system/kustomization.yaml",
        "resources:\n- gotk-sync.yaml\n",
    );
    s.write(
        "clusters/prod/flux-system/gotk-sync.yaml",
        &format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: ssh://git@example.com/fleet\n---\n{}",
            flux_kustomization("flux-system", "./clusters/prod", "flux-system", "")
        ),
    );
    s.write(
        "clusters/prod/infrastructure.yaml",
        &flux_kustomization("infrastructure", "./infrastructure", "flux-system", ""),
    );
    s.write(
        "clusters/prod/apps.yaml",
        &flux_kustomization(
            "apps",
            "./apps/prod",
            "flux-system",
            "  postBuild:\n    substitute:\n      env: prod\n    substituteFrom:\n    - kind: ConfigMap\n      name: cluster-vars\n",
        ),
    );
    s.write(
        "clusters/prod/cluster-only.yaml",
        &flux_kustomization(
            "cluster-only",
            "./apps/prod",
            "flux-system",
            "  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: only-in-the-cluster\n",
        ),
    );
    s.write(
        "clusters/prod/external.yaml",
        &flux_kustomization("external", "./", "other-repo", ""),
    );
    // The ConfigMap apps substitutes from is made by the infrastructure Kustomization.
    s.write(
        "infrastructure/vars.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  domain: example.com\n",
    );
    s.write(
        "infrastructure/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
    );
    s.write("apps/base/kustomization.yaml", "resources:\n- app.yaml\n");
    s.write(
        "apps/base/app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: web\ndata:\n  host: app.${domain}\n  env: ${env:=dev}\n",
    );
    s.write("apps/prod/kustomization.yaml", "resources:\n- ../base\n");

    let opts = fleet::FluxCheckOptions {
        keep_output: true,
        ..Default::default()
    };
    let report = fleet::check_flux(&s.0, &opts).unwrap();
    let names: Vec<(&str, Option<&str>)> = report
        .kustomizations
        .iter()
        .map(|k| (k.name.as_str(), k.parent.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("flux-system/flux-system", None),
            ("flux-system/apps", Some("flux-system/flux-system")),
            ("flux-system/cluster-only", Some("flux-system/flux-system")),
            ("flux-system/external", Some("flux-system/flux-system")),
            (
                "flux-system/infrastructure",
                Some("flux-system/flux-system")
            ),
        ]
    );
    let get = |n: &str| report.kustomizations.iter().find(|k| k.name == n).unwrap();
    let apps = get("flux-system/apps");
    assert!(matches!(apps.status, Status::Ok), "{:?}", apps.status);
    let out = String::from_utf8(apps.output.clone().unwrap()).unwrap();
    assert!(out.contains("host: app.example.com\n"), "{out}");
    assert!(out.contains("env: prod\n"), "{out}");
    assert!(matches!(
        get("flux-system/external").status,
        Status::Skipped(_)
    ));
    let Status::Failed(e) = &get("flux-system/cluster-only").status else {
        panic!("a variable only the cluster has was guessed")
    };
    assert!(e.to_string().contains("only-in-the-cluster"), "{e}");
    let root = get("flux-system/flux-system");
    // The GitRepository and the five Kustomizations.
    assert_eq!(root.documents, 6);
    let text = report.to_text();
    assert!(
        text.contains("\nok        flux-system/apps  ./apps/prod"),
        "{text}"
    );
    // The same render as `rustomize build --flux` of that Kustomization with those vars.
    let alone = Command::new(env!("CARGO_BIN_EXE_rustomize"))
        .args(["build", "--flux-kustomization", "clusters/prod/apps.yaml"])
        .args([
            "--substitute-from",
            "infrastructure/vars.yaml",
            "--flux-root",
            ".",
        ])
        .current_dir(&s.0)
        .output()
        .unwrap();
    assert!(alone.status.success(), "{alone:?}");
    assert_eq!(String::from_utf8(alone.stdout).unwrap(), out);
}

/// `check` shares base renders between roots; each root must still print what building it
/// alone prints, with the same warnings and errors, where a shared render would be wrong:
/// a root with its own OpenAPI schema (the base's patch merges differently), a root that
/// tracks origins (annotations name paths from that root), a root for which the base's tree
/// closes a cycle, and warnings the base emits (replayed for each root).
/// Compares every root of `report` with a build of that root alone (output, error,
/// warnings); returns how many built.
fn matches_standalone_builds(repo: &Path, report: &fleet::CheckReport) -> usize {
    let mut shared = 0;
    for r in &report.roots {
        let warnings = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = warnings.clone();
        let alone_opts = rustomize::Options {
            warnings: Some(rustomize::warning::WarningSink::new(move |w| {
                sink.lock().unwrap().push(w)
            })),
            ..Default::default()
        };
        let alone = rustomize::render(Arc::new(DiskFs), &repo.join(&r.dir), &alone_opts);
        match (&r.status, alone) {
            (Status::Ok, Ok(bytes)) => {
                assert!(
                    r.output.as_deref() == Some(&bytes[..]),
                    "{}: check printed\n{}\nbuild printed\n{}",
                    r.dir.display(),
                    String::from_utf8_lossy(r.output.as_deref().unwrap_or_default()),
                    String::from_utf8_lossy(&bytes)
                );
                shared += 1;
            }
            (Status::Failed(e), Err(alone)) => {
                assert_eq!(e.to_string(), alone.to_string(), "{}", r.dir.display())
            }
            (status, alone) => panic!("{}: {status:?} vs {alone:?}", r.dir.display()),
        }
        assert_eq!(
            r.warnings,
            *warnings.lock().unwrap(),
            "{}: warnings",
            r.dir.display()
        );
    }
    shared
}

#[test]
fn shared_base_renders_are_used_only_where_they_cannot_differ() {
    let s = Scratch::new("base-cache");
    let schema = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/conformance/krusty/TestCustomOpenApiFieldFromOverlay/in/overlay/mycrd_schema.json"),
    )
    .unwrap();
    s.write(
        "crd/kustomization.yaml",
        "resources:\n- mycrd.yaml\ncommonLabels:\n  team: a\npatchesStrategicMerge:\n- |-\n  apiVersion: example.com/v1alpha1\n  kind: MyCRD\n  metadata:\n    name: service\n  spec:\n    template:\n      spec:\n        containers:\n        - name: server\n          image: nginx\n",
    );
    s.write(
        "crd/mycrd.yaml",
        "apiVersion: example.com/v1alpha1\nkind: MyCRD\nmetadata:\n  name: service\nspec:\n  template:\n    spec:\n      containers:\n      - name: server\n        image: server\n        command: example\n",
    );
    // Path order is build order with one thread: crd (keeps its render), p and q (use it),
    // s (own schema), t (origins), y (a cycle through y's parent), z/x.
    s.write(
        "p/kustomization.yaml",
        "resources:\n- ../crd\nnamePrefix: p-\n",
    );
    s.write(
        "q/kustomization.yaml",
        "resources:\n- ../crd\nnamePrefix: q-\n",
    );
    s.write(
        "s/kustomization.yaml",
        "resources:\n- ../crd\nopenapi:\n  path: mycrd_schema.json\n",
    );
    s.write("s/mycrd_schema.json", &schema);
    s.write(
        "t/kustomization.yaml",
        "resources:\n- ../crd\nbuildMetadata:\n- originAnnotations\n",
    );
    // b includes z; from z/x, b's tree reaches z, which contains z/x: a cycle there only.
    s.write("b/kustomization.yaml", "resources:\n- ../z\n");
    s.write("c/kustomization.yaml", "resources:\n- ../b\n");
    s.write("z/kustomization.yaml", "resources:\n- cm.yaml\n");
    s.write(
        "z/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    );
    s.write("z/x/kustomization.yaml", "resources:\n- ../../b\n");

    let mut opts = CheckOptions {
        keep_output: true,
        ..Default::default()
    };
    opts.build.threads = std::num::NonZeroUsize::new(1);
    let report = fleet::check(&s.0, &opts).unwrap();
    let shared = matches_standalone_builds(&s.0, &report);
    assert_eq!(shared, 8, "{:#}", report.to_json());
    assert!(matches!(status_of(&report, "z/x"), Status::Failed(_)));
    // The cases have teeth: the schema and the origins change the output.
    let out = |dir: &str| {
        let r = report
            .roots
            .iter()
            .find(|r| r.dir == Path::new(dir))
            .unwrap();
        String::from_utf8(r.output.clone().unwrap()).unwrap()
    };
    assert!(out("s").contains("command: example"), "{}", out("s"));
    assert!(!out("q").contains("command: example"), "{}", out("q"));
    assert!(
        out("t").contains("config.kubernetes.io/origin"),
        "{}",
        out("t")
    );
    // Every root that includes crd warns about its commonLabels, cached or not.
    assert!(report
        .roots
        .iter()
        .filter(|r| ["p", "q", "s", "t"].contains(&r.dir.to_str().unwrap()))
        .all(|r| r
            .warnings
            .iter()
            .any(|w| w.message.contains("commonLabels"))));
}

#[test]
fn concurrent_builds_share_bases_and_never_wait_for_each_other_in_a_circle() {
    let s = Scratch::new("base-cache-threads");
    // Bases shared by many roots, chains of bases, and roots that include each other in a
    // circle (each fails with kustomize's cycle error, from whichever end it is built).
    for b in 0..4 {
        s.write(
            &format!("base{b}/kustomization.yaml"),
            &format!("resources:\n- d.yaml\ncommonLabels:\n  base: b{b}\n"),
        );
        s.write(
            &format!("base{b}/d.yaml"),
            &deployment(&format!("d{b}"), "nginx"),
        );
    }
    s.write(
        "chain/kustomization.yaml",
        "resources:\n- ../base0\n- ../base1\n",
    );
    for r in 0..24 {
        s.write(
            &format!("root{r:02}/kustomization.yaml"),
            &format!(
                "resources:\n- ../base{}\n- ../{}\nnamePrefix: r{r}-\n",
                r % 4,
                if r % 3 == 0 { "chain" } else { "base3" }
            ),
        );
    }
    for (a, b) in [
        ("ring-a", "ring-b"),
        ("ring-b", "ring-c"),
        ("ring-c", "ring-a"),
    ] {
        s.write(
            &format!("{a}/kustomization.yaml"),
            &format!("resources:\n- ../{b}\n- ../base2\n"),
        );
    }
    for round in 0..10 {
        let repo = s.0.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut opts = CheckOptions {
                keep_output: true,
                ..Default::default()
            };
            opts.build.threads = std::num::NonZeroUsize::new(4);
            let _ = tx.send(fleet::check(&repo, &opts).unwrap());
        });
        let report = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("round {round}: check did not finish"));
        // 4 bases, chain, and 16 roots; the 8 roots that include a base twice fail as they
        // do alone.
        assert_eq!(
            matches_standalone_builds(&s.0, &report),
            21,
            "round {round}"
        );
        for ring in ["ring-a", "ring-b", "ring-c"] {
            assert!(
                matches!(status_of(&report, ring), Status::Failed(e) if e.to_string().contains("cycle")),
                "{ring}: {:?}",
                status_of(&report, ring)
            );
        }
    }
}
