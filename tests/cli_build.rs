//! `rustomize build` as a user runs it: output on stdout, `-o` to a file or a directory,
//! and errors (unknown flags, missing directories) that exit 1 with nothing on stdout.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rustomize"))
}

fn sock_shop() -> (PathBuf, Vec<u8>) {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus/sock-shop");
    let expected = std::fs::read(case.join("expected.yaml")).unwrap();
    (case.join("in/overlays/development"), expected)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rustomize-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn build_prints_kubectls_bytes() {
    let (dir, expected) = sock_shop();
    let out = bin().arg("build").arg(&dir).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, expected);
}

#[test]
fn output_to_a_file() {
    let (dir, expected) = sock_shop();
    let file = scratch("file").join("out.yaml");
    let out = bin()
        .arg("build")
        .arg(&dir)
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), expected);
}

#[test]
fn output_to_a_directory_writes_one_file_per_resource() {
    let (dir, expected) = sock_shop();
    let out_dir = scratch("dir");
    let out = bin()
        .arg("build")
        .arg(&dir)
        .arg(format!("--output={}", out_dir.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let docs = expected
        .split(|&b| b == b'\n')
        .filter(|l| *l == b"---")
        .count()
        + 1;
    assert_eq!(names.len(), docs);
    assert!(
        names.contains(&"apps_v1_deployment_front-end.yaml".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"v1_namespace_sock-shop-dev.yaml".to_string()),
        "{names:?}"
    );
}

#[test]
fn unknown_flag_is_an_error_with_nothing_on_stdout() {
    let (dir, _) = sock_shop();
    let out = bin()
        .arg("build")
        .arg(&dir)
        .arg("--frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--frobnicate'"));
}

#[test]
fn missing_directory_is_an_error_naming_it() {
    let out = bin()
        .arg("build")
        .arg("/nonexistent/overlay")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/overlay"));
}

#[test]
fn load_restrictor_and_reorder_flags() {
    let dir = scratch("flags");
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("shared.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app/kustomization.yaml"),
        "resources:\n- ../shared.yaml\n- cm.yaml\n",
    )
    .unwrap();
    let app = dir.join("app");
    // Root-only by default: the file outside the root is refused.
    let out = bin().arg("build").arg(&app).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in or below"));
    // With LoadRestrictionsNone it loads; legacy order puts the ConfigMap first...
    let out = bin()
        .arg("build")
        .arg(&app)
        .arg("--load-restrictor=LoadRestrictionsNone")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.find("kind: ConfigMap").unwrap() < text.find("kind: Service").unwrap());
    // ...and --reorder none keeps the input order.
    let out = bin()
        .args([
            "build",
            "--load-restrictor",
            "LoadRestrictionsNone",
            "--reorder",
            "none",
        ])
        .arg(&app)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.find("kind: Service").unwrap() < text.find("kind: ConfigMap").unwrap());
}

#[test]
fn flux_mode_with_a_kustomization_manifest_and_substitution_sources() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/conformance/flux-kustomize/build-postbuild-varsub");
    let run = |extra: &[&str]| {
        bin()
            .arg("build")
            .arg(case.join("in"))
            .arg("--flux-kustomization")
            .arg(case.join("flux-kustomization.yaml"))
            .arg("--flux-root")
            .arg(&case)
            .args(extra)
            .output()
            .unwrap()
    };
    let sources = case.join("substitute-from/configmap-app-vars.yaml");
    let out = run(&["--substitute-from", sources.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout,
        std::fs::read(case.join("expected.yaml")).unwrap()
    );

    // Without the ConfigMap that substituteFrom names, the build fails.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("substitute from 'ConfigMap/app-vars'"),
        "{err}"
    );
}
