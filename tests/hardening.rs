//! Hostile trees: one test per defect an attack suite found (issue "Hardening"), each named
//! after what it proves. Trees are built on disk in a scratch directory (symlinks, FIFOs and
//! devices need a real file system) or in memory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustomize::budget::Limits;
use rustomize::build::Options;
use rustomize::fs::{DiskFs, LoadRestrictor, MemFs};

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("rustomize-hardening-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(fs::canonicalize(&dir).unwrap())
    }

    fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn build_disk(dir: &Path, opts: &Options) -> Result<Vec<u8>, String> {
    rustomize::build::render(Arc::new(DiskFs), dir, opts).map_err(|e| e.to_string())
}

fn build_mem(fs: MemFs, dir: &str, opts: &Options) -> Result<Vec<u8>, String> {
    rustomize::build::render(Arc::new(fs), Path::new(dir), opts).map_err(|e| e.to_string())
}

fn limits(f: impl FnOnce(&mut Limits)) -> Options {
    let mut o = Options::default();
    f(&mut o.limits);
    o
}

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rustomize"))
        .args(args)
        .output()
        .unwrap()
}

const CM: &str = "apiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  name: cm\n";
const SECRET_TEXT: &str = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nTOP-SECRET-LINE\n";

// 1. The kustomization file goes through the loader: restrictor, size limit, no echo.

#[test]
fn kustomization_symlinked_outside_the_root_is_not_read() {
    let s = Scratch::new("kust-symlink");
    let secret = s.write("outside/passwd", SECRET_TEXT);
    fs::create_dir_all(s.path("app")).unwrap();
    std::os::unix::fs::symlink(&secret, s.path("app/kustomization.yaml")).unwrap();
    let e = build_disk(&s.path("app"), &Options::default()).unwrap_err();
    assert!(
        e.contains("unable to find one of 'kustomization.yaml'"),
        "{e}"
    );
    assert!(!e.contains("TOP-SECRET") && !e.contains("root:x"), "{e}");
    // Without the restrictor kustomize reads it too; the error still quotes none of it.
    let none = Options {
        load_restrictor: LoadRestrictor::None,
        ..Default::default()
    };
    let e = build_disk(&s.path("app"), &none).unwrap_err();
    assert!(e.contains("a kustomization must be a map"), "{e}");
    assert!(!e.contains("TOP-SECRET") && !e.contains("root:x"), "{e}");
}

#[test]
fn kustomization_symlinked_outside_a_base_is_not_read() {
    let s = Scratch::new("base-kust-symlink");
    let secret = s.write("outside/k.yaml", "resources: [/etc/hostname]\n");
    s.write("app/kustomization.yaml", "resources:\n- base\n");
    fs::create_dir_all(s.path("app/base")).unwrap();
    std::os::unix::fs::symlink(&secret, s.path("app/base/kustomization.yaml")).unwrap();
    let e = build_disk(&s.path("app"), &Options::default()).unwrap_err();
    assert!(e.contains("unable to find one of"), "{e}");
}

#[test]
fn kustomization_file_is_size_limited() {
    let mut fs = MemFs::new();
    let big = format!("resources:\n- cm.yaml\n# {}\n", "x".repeat(200_000));
    fs.add("/app/kustomization.yaml", big)
        .add("/app/cm.yaml", CM);
    let e = build_mem(fs, "/app", &limits(|l| l.file_bytes = 100_000)).unwrap_err();
    assert!(e.contains("larger than the limit of 100000 bytes"), "{e}");
    assert!(e.contains("--limit file-bytes"), "{e}");
}

// 2. `build -o DIR` never writes outside DIR.

#[test]
fn output_dir_refuses_resource_names_that_leave_it() {
    for (what, name, namespace) in [
        ("dotdot", "../../escaped", "default"),
        ("slash", "sub/escaped", "default"),
        ("absolute-namespace", "x", "/tmp/rustomize-escaped-ns"),
    ] {
        let s = Scratch::new(&format!("out-{what}"));
        s.write("app/kustomization.yaml", "resources:\n- a.yaml\n- b.yaml\n");
        s.write(
            "app/a.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name:?}\n  namespace: {namespace:?}\n"),
        );
        // A second namespace makes kustomize prefix file names with the namespace.
        s.write(
            "app/b.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: other\n",
        );
        let out_dir = s.path("out/deep/er");
        fs::create_dir_all(&out_dir).unwrap();
        let out = bin(&[
            "build",
            s.path("app").to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: {stderr}");
        assert!(stderr.contains("not a plain file name"), "{what}: {stderr}");
        assert_eq!(fs::read_dir(&out_dir).unwrap().count(), 0, "{what}");
        assert!(!s.path("out/escaped.yaml").exists());
        assert!(!Path::new("/tmp/rustomize-escaped-ns_v1_configmap_x.yaml").exists());
    }
}

// 3. No recursion on input depth is unbounded.

fn chain(s: &Scratch, n: usize) {
    for i in 0..n {
        let body = if i + 1 < n {
            format!("resources:\n- ../d{}\n", i + 1)
        } else {
            "resources:\n- cm.yaml\n".into()
        };
        s.write(&format!("d{i}/kustomization.yaml"), body);
    }
    s.write(&format!("d{}/cm.yaml", n - 1), CM);
}

#[test]
fn a_chain_of_3000_nested_bases_builds_like_kubectl() {
    let s = Scratch::new("chain");
    chain(&s, 3000);
    let out = build_disk(&s.path("d0"), &Options::default()).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), CM);
}

#[test]
fn nesting_past_the_depth_limit_is_a_clear_error() {
    let s = Scratch::new("chain-limit");
    chain(&s, 60);
    let e = build_disk(&s.path("d0"), &limits(|l| l.depth = 50)).unwrap_err();
    assert!(e.contains("limit of 50 nested kustomizations"), "{e}");
    assert!(e.contains("--limit depth=N"), "{e}");
}

#[test]
fn flux_generated_kustomization_survives_a_directory_symlink_loop() {
    let s = Scratch::new("flux-loop");
    s.write("repo/apps/cm.yaml", CM);
    std::os::unix::fs::symlink("..", s.path("repo/apps/loop")).unwrap();
    std::os::unix::fs::symlink(".", s.path("repo/apps/self")).unwrap();
    let mut opts = rustomize::flux::FluxOptions::new(s.path("repo"));
    opts.strict = true;
    let out = rustomize::flux::render(
        Arc::new(DiskFs),
        &s.path("repo/apps"),
        &Default::default(),
        &[],
        &opts,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), CM);
}

// 4. Only regular files are read, and never more than the limit.

#[test]
fn a_fifo_resource_fails_instead_of_blocking() {
    let s = Scratch::new("fifo");
    s.write("app/kustomization.yaml", "resources:\n- pipe.yaml\n");
    let status = Command::new("mkfifo")
        .arg(s.path("app/pipe.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let e = build_disk(&s.path("app"), &Options::default()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(e.contains("not a regular file"), "{e}");
}

#[test]
fn a_fifo_generator_source_fails_instead_of_blocking() {
    let s = Scratch::new("fifo-gen");
    s.write(
        "app/kustomization.yaml",
        "configMapGenerator:\n- name: g\n  files:\n  - pipe.txt\n",
    );
    let status = Command::new("mkfifo")
        .arg(s.path("app/pipe.txt"))
        .status()
        .unwrap();
    assert!(status.success());
    let e = build_disk(&s.path("app"), &Options::default()).unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");
}

#[test]
fn a_character_device_is_refused_not_read_until_memory_runs_out() {
    let s = Scratch::new("device");
    s.write("app/kustomization.yaml", "resources:\n- /dev/zero\n");
    let none = Options {
        load_restrictor: LoadRestrictor::None,
        ..Default::default()
    };
    let e = build_disk(&s.path("app"), &none).unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");
    assert!(!e.contains("out of memory"), "{e}");
}

#[test]
fn in_memory_special_files_and_symlinks_behave_like_the_disk() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- dev.yaml\n")
        .add_special("/app/dev.yaml");
    let e = build_mem(fs, "/app", &Options::default()).unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");

    let mut fs = MemFs::new();
    fs.add("/secret.yaml", CM)
        .add("/app/kustomization.yaml", "resources:\n- link.yaml\n")
        .add_symlink("/app/link.yaml", "../secret.yaml");
    let e = build_mem(fs, "/app", &Options::default()).unwrap_err();
    assert!(e.contains("is not in or below"), "{e}");

    let mut fs = MemFs::new();
    fs.add("/app/real.yaml", CM)
        .add("/app/kustomization.yaml", "resources:\n- link.yaml\n")
        .add_symlink("/app/link.yaml", "real.yaml")
        .add_symlink("/app/loop", "loop");
    assert_eq!(
        build_mem(fs, "/app", &Options::default()).unwrap(),
        CM.as_bytes()
    );
}

// 5. A build-wide budget.

#[test]
fn aliases_over_many_files_hit_the_build_budget() {
    // Each file stays under the per-file alias limit; together they pass the build's.
    let mut fs = MemFs::new();
    let mut k = String::from("resources:\n");
    let mut doc = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
    );
    doc.push_str("  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n");
    for i in 0..40 {
        k.push_str(&format!("- f{i}.yaml\n"));
        fs.add(
            format!("/app/f{i}.yaml"),
            doc.replace("NAME", &format!("c{i}")),
        );
    }
    fs.add("/app/kustomization.yaml", k);
    let e = build_mem(fs, "/app", &limits(|l| l.nodes = 200_000)).unwrap_err();
    assert!(e.contains("--limit nodes=N"), "{e}");
}

#[test]
fn a_long_string_aliased_many_times_is_bounded() {
    let mut doc = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: &a \"{}\"\n",
        "x".repeat(1 << 20)
    );
    for i in 0..3000 {
        doc.push_str(&format!("  k{i}: *a\n"));
    }
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- cm.yaml\n")
        .add("/app/cm.yaml", doc);
    let started = Instant::now();
    let e = build_mem(fs, "/app", &Options::default()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(e.contains("alias expansion exceeds"), "{e}");
    // The error names the file that holds the aliases, with its line.
    assert!(e.contains("/app/cm.yaml:"), "{e}");
}

#[test]
fn json_patch_copy_doubling_stops_at_the_budget() {
    let mut ops = String::from("- op: add\n  path: /data/l\n  value: [1]\n");
    for _ in 0..40 {
        ops.push_str("- op: copy\n  from: /data/l\n  path: /data/l/-\n");
    }
    let mut fs = MemFs::new();
    fs.add(
        "/app/kustomization.yaml",
        "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n  target:\n    kind: ConfigMap\n",
    )
    .add("/app/cm.yaml", CM)
    .add("/app/p.yaml", ops);
    let started = Instant::now();
    let e = build_mem(fs, "/app", &limits(|l| l.nodes = 1_000_000)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(e.contains("--limit nodes=N"), "{e}");
}

#[test]
fn a_huge_name_prefix_over_many_resources_stops_before_copying() {
    let mut docs = String::new();
    for i in 0..1000 {
        docs.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
        ));
    }
    let prefix = "p".repeat(10 << 20);
    let mut fs = MemFs::new();
    fs.add(
        "/app/kustomization.yaml",
        format!("namePrefix: {prefix}\nresources:\n- cms.yaml\n"),
    )
    .add("/app/cms.yaml", docs);
    let started = Instant::now();
    let e = build_mem(fs, "/app", &Options::default()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(e.contains("--limit value-bytes=N"), "{e}");
}

#[test]
fn a_large_substitution_variable_used_many_times_is_bounded() {
    let mut fs = MemFs::new();
    let refs = "${BIG}".repeat(300);
    fs.add(
        "/repo/app/cm.yaml",
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"{refs}\"\n"),
    );
    let ks = rustomize::flux::FluxKustomization::parse(
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  path: ./app\n  postBuild:\n    substitute:\n      BIG: \"{}\"\n",
            "v".repeat(1 << 20)
        )
        .as_bytes(),
        Path::new("ks.yaml"),
    )
    .unwrap();
    let mut opts = rustomize::flux::FluxOptions::new("/repo");
    opts.limits.value_bytes = 64 << 20;
    let e = rustomize::flux::render(Arc::new(fs), Path::new("/repo/app"), &ks, &[], &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--limit value-bytes=N"), "{e}");
}

#[test]
fn a_diamond_of_bases_stops_at_the_budget() {
    // Every level includes the level below twice under two prefixes: 2^N resources.
    let mut fs = MemFs::new();
    fs.add("/t/l0/kustomization.yaml", "resources:\n- cm.yaml\n")
        .add("/t/l0/cm.yaml", CM);
    for i in 1..=18 {
        for side in ["a", "b"] {
            let below = if i == 1 {
                "- ../l0\n".to_string()
            } else {
                format!("- ../l{}a\n- ../l{}b\n", i - 1, i - 1)
            };
            fs.add(
                format!("/t/l{i}{side}/kustomization.yaml"),
                format!("namePrefix: {side}\nresources:\n{below}"),
            );
        }
    }
    let started = Instant::now();
    let e = build_mem(fs, "/t/l18a", &limits(|l| l.kustomizations = 2_000)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(e.contains("--limit kustomizations=N"), "{e}");
}

#[test]
fn output_size_is_bounded() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- cm.yaml\n")
        .add("/app/cm.yaml", CM);
    let e = build_mem(fs, "/app", &limits(|l| l.output_bytes = 10)).unwrap_err();
    assert!(e.contains("--limit output-bytes=N"), "{e}");
}

// 6. `image update`: locked, all or nothing, ownership and mode kept.

const MARKED: &str = "spec:\n  a: app:1.0 # {\"$imagepolicy\": \"ns:a\"}\n  b: app:1.0 # {\"$imagepolicy\": \"ns:b\"}\n";

fn update(dir: &Path, policy: &str, extra: &[&str]) -> Output {
    let mut args = vec!["image", "update", dir.to_str().unwrap(), "--policy", policy];
    args.extend_from_slice(extra);
    bin(&args)
}

#[test]
fn concurrent_image_updates_lose_nothing() {
    let s = Scratch::new("concurrent");
    for i in 0..400 {
        s.write(&format!("tree/f{i:03}.yaml"), MARKED);
    }
    let dir = s.path("tree");
    let exe = env!("CARGO_BIN_EXE_rustomize");
    let spawn = |policy: &str| {
        Command::new(exe)
            .args(["image", "update", dir.to_str().unwrap(), "--policy", policy])
            .output()
    };
    let (ra, rb) = std::thread::scope(|sc| {
        let a = sc.spawn(|| spawn("ns:a=app:2.0"));
        let b = sc.spawn(|| spawn("ns:b=app:3.0"));
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert!(ra.status.success() && rb.status.success());
    let want = MARKED
        .replacen("app:1.0", "app:2.0", 1)
        .replacen("app:1.0", "app:3.0", 1);
    for i in 0..400 {
        let got = fs::read_to_string(s.path(&format!("tree/f{i:03}.yaml"))).unwrap();
        assert_eq!(got, want, "f{i:03}.yaml lost an update");
    }
}

#[test]
fn a_second_run_that_will_not_wait_fails_clearly() {
    let s = Scratch::new("no-wait");
    s.write("tree/f.yaml", MARKED);
    let _held = rustomize::setters::files::lock_tree(&s.path("tree"), true, true).unwrap();
    let out = update(&s.path("tree"), "ns:a=app:2.0", &["--no-wait"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another image update is running"),
        "{stderr}"
    );
}

#[test]
fn image_update_keeps_mode_owner_and_group() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let s = Scratch::new("owner");
    let f = s.write("tree/f.yaml", MARKED);
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
    // As root, give the file to another user; otherwise it keeps ours.
    let _ = std::os::unix::fs::chown(&f, Some(4242), Some(4343));
    let before = fs::metadata(&f).unwrap();
    let out = update(&s.path("tree"), "ns:a=app:2.0", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = fs::metadata(&f).unwrap();
    assert!(fs::read_to_string(&f).unwrap().contains("app:2.0"));
    assert_ne!(
        before.ino(),
        after.ino(),
        "the file was replaced, not edited in place"
    );
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
}

#[test]
fn read_only_files_are_not_replaced_unless_asked_and_nothing_else_is_written() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = Scratch::new("read-only");
    let ro = s.write("tree/a-ro.yaml", MARKED);
    let rw = s.write("tree/b-rw.yaml", MARKED);
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o444)).unwrap();
    let out = update(&s.path("tree"), "ns:a=app:2.0", &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("read-only") && stderr.contains("a-ro.yaml"),
        "{stderr}"
    );
    // All or nothing: the writable file was not changed either.
    assert_eq!(fs::read_to_string(&rw).unwrap(), MARKED);
    assert_eq!(fs::read_to_string(&ro).unwrap(), MARKED);
    let out = update(&s.path("tree"), "ns:a=app:2.0", &["--replace-read-only"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fs::read_to_string(&ro).unwrap().contains("app:2.0"));
    assert_eq!(
        fs::metadata(&ro).unwrap().permissions().mode() & 0o777,
        0o444
    );
}

#[test]
fn temp_files_of_a_killed_run_are_removed_by_the_next() {
    let s = Scratch::new("stale-temp");
    s.write("tree/f.yaml", MARKED);
    let stale = s.write("tree/.f.yaml.rustomize-99999-0.tmp", "half written");
    let out = update(&s.path("tree"), "ns:a=app:2.0", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stale.exists());
    let names: Vec<String> = fs::read_dir(s.path("tree"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["f.yaml"]);
}

#[test]
fn image_update_warnings_go_to_stderr() {
    let s = Scratch::new("warnings");
    s.write("tree/f.yaml", MARKED);
    s.write(
        "tree/broken.yaml",
        "a: [unclosed # {\"$imagepolicy\": \"ns:a\"}\n",
    );
    let out = update(&s.path("tree"), "ns:a=app:2.0", &[]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("warning"), "{stdout}");
    assert!(stderr.contains("warning: skipped broken.yaml"), "{stderr}");
}

#[test]
fn image_update_check_exits_1_when_changes_are_pending() {
    let s = Scratch::new("check");
    s.write("tree/f.yaml", MARKED);
    let out = update(&s.path("tree"), "ns:a=app:2.0", &["--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(s.path("tree/f.yaml")).unwrap(), MARKED);
    let out = update(&s.path("tree"), "ns:a=app:1.0", &["--check"]);
    assert!(out.status.success());
}

// 7. Error text a user can act on.

#[test]
fn a_wrong_type_names_the_field_with_file_line_and_column() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "namePrefix: a-\nresources: 5\n");
    let e = build_mem(fs, "/app", &Options::default()).unwrap_err();
    assert_eq!(
        e,
        "/app/kustomization.yaml:2:1: invalid Kustomization: resources: expected a list, got an integer"
    );
}

#[test]
fn a_list_shaped_kustomization_is_named_plainly() {
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "- a\n- b\n");
    let e = build_mem(fs, "/app", &Options::default()).unwrap_err();
    assert!(
        e.contains("a kustomization must be a map, got a list"),
        "{e}"
    );
    assert!(!e.contains("34 elements"), "{e}");
}

#[test]
fn an_alias_bomb_is_reported_at_the_file_that_holds_it() {
    let mut doc = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = "a".to_string();
    for level in 0..8 {
        let name = format!("l{level}");
        doc.push_str(&format!(
            "  {name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
        prev = name;
    }
    let mut fs = MemFs::new();
    fs.add("/app/kustomization.yaml", "resources:\n- bomb.yaml\n")
        .add("/app/bomb.yaml", doc);
    let e = build_mem(fs, "/app", &Options::default()).unwrap_err();
    assert!(e.starts_with("/app/bomb.yaml:"), "{e}");
    assert!(e.contains("alias expansion exceeds"), "{e}");
}

#[test]
fn several_delete_patches_in_one_file_apply_where_kubectl_panics() {
    // kustomize#5471: kubectl v5.5.0 dereferences nil and panics on this tree.
    let mut fs = MemFs::new();
    let cm = |n: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n");
    fs.add(
        "/app/kustomization.yaml",
        "resources:\n- r.yaml\npatches:\n- path: p.yaml\n",
    )
    .add(
        "/app/r.yaml",
        format!("{}---\n{}---\n{}", cm("a"), cm("b"), cm("c")),
    )
    .add(
        "/app/p.yaml",
        format!(
            "$patch: delete\n{}---\n$patch: delete\n{}",
            cm("a"),
            cm("b")
        ),
    );
    let out = build_mem(fs, "/app", &Options::default()).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), cm("c"));
}
