//! `rustomize image update|latest` through the binary: exit codes, stdout, stderr.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("rustomize-cli-image-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rustomize"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary may reject its arguments and exit before reading stdin; the
    // pipe then breaks, which is not what these tests are about.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn update_with_a_policies_file_and_json_report() {
    let dir = scratch("update");
    fs::write(
        dir.join("deploy.yaml"),
        "spec:\n  image: app:1.0 # {\"$imagepolicy\": \"ns:app\"}\n  tag: v1 # {\"$imagepolicy\": \"ns:app:tag\"}\n",
    )
    .unwrap();
    let policies = dir.join("policies.txt");
    fs::write(&policies, "ns:app: app:1.1\n").unwrap();
    let out = run(
        &[
            "image",
            "update",
            dir.to_str().unwrap(),
            "--policies",
            policies.to_str().unwrap(),
            "--report=json",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["changes"], 2);
    assert_eq!(report["files"][0]["path"], "deploy.yaml");
    assert_eq!(
        fs::read_to_string(dir.join("deploy.yaml")).unwrap(),
        "spec:\n  image: app:1.1 # {\"$imagepolicy\": \"ns:app\"}\n  tag: \"1.1\" # {\"$imagepolicy\": \"ns:app:tag\"}\n"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn command_line_policy_overrides_the_file() {
    let dir = scratch("override");
    fs::write(
        dir.join("a.yaml"),
        "image: app:1.0 # {\"$imagepolicy\": \"ns:app\"}\n",
    )
    .unwrap();
    let policies = dir.join("p.yml.txt");
    fs::write(&policies, "ns:app: app:1.1\n").unwrap();
    let out = run(
        &[
            "image",
            "update",
            dir.to_str().unwrap(),
            "--policies",
            policies.to_str().unwrap(),
            "--policy",
            "ns:app=app:2.0",
            "--dry-run",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("app:1.0 -> app:2.0"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("dry run"));
    assert!(fs::read_to_string(dir.join("a.yaml"))
        .unwrap()
        .contains("app:1.0"));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn update_errors_exit_1() {
    let dir = scratch("errors");
    for (args, want) in [
        (
            vec!["image", "update"],
            "required arguments were not provided",
        ),
        (
            vec!["image", "update", dir.to_str().unwrap()],
            "no policies given",
        ),
        (
            vec![
                "image",
                "update",
                dir.to_str().unwrap(),
                "--policy",
                "app=app:1",
            ],
            "invalid policy name",
        ),
        (
            vec![
                "image",
                "update",
                dir.to_str().unwrap(),
                "--policy",
                "ns:app=App:1",
            ],
            "invalid image reference",
        ),
        (
            vec!["image", "update", dir.to_str().unwrap(), "--bogus"],
            "unexpected argument '--bogus'",
        ),
        (
            vec![
                "image",
                "update",
                "/nonexistent/dir",
                "--policy",
                "ns:app=app:1",
            ],
            "/nonexistent/dir",
        ),
    ] {
        let out = run(&args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            // Usage errors are clap's (`error: ...`), the others ours (`Error: ...`).
            (err.starts_with("Error: ") || err.starts_with("error: ")) && err.contains(want),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn latest_reads_tags_from_stdin() {
    let dir = scratch("latest");
    let policy = dir.join("policy.yaml");
    fs::write(
        &policy,
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: app, namespace: ns}\nspec:\n  policy:\n    semver:\n      range: '>=1.0.0 <2.0.0'\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let out = run(
        &["image", "latest", p],
        "1.0.0\r\nv1.9.3\n2.0.0\n\n1.10.0-rc.1\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "v1.9.3\n");

    let out = run(&["image", "latest", p], "2.0.0\n0.9.0\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unable to determine latest version from provided list"));
    assert!(out.stdout.is_empty());

    fs::write(
        &policy,
        "kind: ImagePolicy\nspec:\n  policy:\n    semver: {range: 'not a range'}\n",
    )
    .unwrap();
    let out = run(&["image", "latest", p], "1.0.0\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("Error: "),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("invalid policy: improper constraint"),
        "{}",
        text(&out.stderr)
    );
    let _ = fs::remove_dir_all(&dir);
}
