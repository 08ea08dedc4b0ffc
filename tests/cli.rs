//! The command line as a user meets it: version, help, completion, argument forms, a
//! closed pipe, warnings on stderr, Flux Kustomization selection.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rustomize"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn sock_shop() -> PathBuf {
    fixtures().join("corpus/sock-shop/in/overlays/development")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rz-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn version_names_the_kustomize_it_follows() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    let v = text(&out.stdout);
    assert!(
        v.starts_with("rustomize ") && v.contains("kustomize v5.5.0"),
        "{v}"
    );
}

#[test]
fn help_has_examples_and_help_build_is_build_s() {
    let top = text(&run(&["--help"]).stdout);
    assert!(
        top.contains("Examples:") && top.contains("rustomize build"),
        "{top}"
    );
    let build = run(&["help", "build"]);
    assert!(build.status.success());
    let build = text(&build.stdout);
    assert!(
        build.contains("--load-restrictor") && build.contains("--enable-helm"),
        "{build}"
    );
    let latest = run(&["image", "latest", "--help"]);
    assert!(latest.status.success());
    assert!(text(&latest.stdout).contains("ImagePolicy"));
}

#[test]
fn completion_scripts_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completion", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(text(&out.stdout).contains("rustomize"), "{shell}");
    }
}

#[test]
fn attached_short_values_and_double_dash_are_accepted() {
    let dir = scratch("args");
    let file = dir.join("out.yaml");
    let attached = format!("-o{}", file.display());
    let out = bin()
        .args(["build", &attached, "--"])
        .arg(sock_shop())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(fixtures().join("corpus/sock-shop/expected.yaml")).unwrap()
    );
}

#[test]
fn a_closed_pipe_ends_the_build_quietly() {
    let mut child = bin()
        .arg("build")
        .arg(fixtures().join("corpus/kube-prometheus/in"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    {
        use std::io::BufRead as _;
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "apiVersion: v1\n");
    }
    let out = child.wait_with_output().unwrap();
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{:?}",
            out.status
        );
    }
}

#[test]
fn kustomize_s_warnings_go_to_stderr_in_its_words() {
    let root = fixtures().join("corpus/kubeflow-example");
    let expected = std::fs::read_to_string(root.join("expected-warnings.txt")).unwrap();
    let out = bin()
        .arg("build")
        .arg(root.join("in/example"))
        .arg("--warnings=kubectl")
        .output()
        .unwrap();
    assert!(out.status.success());
    let got = text(&out.stderr);
    let strip = |l: &str| match l.find(" log.go:245] ") {
        Some(i) => l[i + 13..].to_string(),
        None => l.to_string(),
    };
    let want: Vec<String> = expected.lines().map(strip).collect();
    let got_lines: Vec<String> = got.lines().map(String::from).collect();
    // kubectl prints the unused vars in random order; the deprecation lines match exactly.
    assert_eq!(want.len(), got_lines.len(), "{got}");
    for (w, g) in want.iter().zip(&got_lines) {
        if w.starts_with("well-defined vars") {
            let set = |s: &str| {
                let mut v: Vec<String> = s
                    .split(": ")
                    .nth(1)
                    .unwrap()
                    .split(',')
                    .map(String::from)
                    .collect();
                v.sort();
                v
            };
            assert_eq!(set(w), set(g));
        } else {
            assert_eq!(w, g);
        }
    }
    // By default each warning also names its kustomization.
    let out = bin()
        .arg("build")
        .arg(root.join("in/example"))
        .output()
        .unwrap();
    let first = text(&out.stderr).lines().next().unwrap().to_string();
    assert!(
        first.ends_with("kustomization.yaml)") && first.contains(" (in "),
        "{first}"
    );
    // And none at all when asked.
    let out = bin()
        .arg("build")
        .arg(root.join("in/example"))
        .arg("--warnings=none")
        .output()
        .unwrap();
    assert!(out.stderr.is_empty());
}

#[test]
fn unmatched_patches_and_replacements_warn_when_asked() {
    let dir = scratch("unmatched");
    std::fs::write(
        dir.join("kustomization.yaml"),
        "resources:\n- cm.yaml\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /x\n      value: 1\nreplacements:\n- source:\n    kind: ConfigMap\n    fieldPath: metadata.name\n  targets:\n  - select:\n      kind: Service\n    fieldPaths: [metadata.name]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    )
    .unwrap();
    let quiet = bin().arg("build").arg(&dir).output().unwrap();
    assert!(
        quiet.status.success() && quiet.stderr.is_empty(),
        "{}",
        text(&quiet.stderr)
    );
    let out = bin()
        .arg("build")
        .arg(&dir)
        .arg("--warn-unmatched")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("matches no resource"), "{err}");
    assert!(
        err.contains("replacements[0].targets[0] selects no resource"),
        "{err}"
    );
}

#[test]
fn flux_kustomizations_are_chosen_by_name_and_their_path_is_built() {
    let repo = scratch("flux-select");
    for (dir, name) in [("apps/a", "a-cm"), ("apps/b", "b-cm")] {
        std::fs::create_dir_all(repo.join(dir)).unwrap();
        std::fs::write(
            repo.join(dir).join("cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"),
        )
        .unwrap();
    }
    let ks = repo.join("clusters.yaml");
    std::fs::write(
        &ks,
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: flux-system\nspec:\n  path: ./apps/a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: b\n  namespace: flux-system\nspec:\n  path: ./apps/b\n",
    )
    .unwrap();
    let root = repo.to_str().unwrap();
    let ks = ks.to_str().unwrap();
    let ambiguous = run(&["build", "--flux-kustomization", ks, "--flux-root", root]);
    assert_eq!(ambiguous.status.code(), Some(1));
    let err = text(&ambiguous.stderr);
    assert!(
        err.contains("flux-system/a, flux-system/b") && err.contains("--name"),
        "{err}"
    );
    let b = run(&[
        "build",
        "--flux-kustomization",
        ks,
        "--name",
        "b",
        "--flux-root",
        root,
    ]);
    assert!(b.status.success(), "{}", text(&b.stderr));
    assert!(text(&b.stdout).contains("name: b-cm"));
    let missing = run(&[
        "build",
        "--flux-kustomization",
        ks,
        "--name",
        "c",
        "--flux-root",
        root,
    ]);
    assert!(text(&missing.stderr).contains("no Flux Kustomization named \"c\""));
}
