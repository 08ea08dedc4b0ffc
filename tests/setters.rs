//! Setters end to end: every `fixtures/conformance/flux-image` case, file handling
//! (dry run, permissions, untouched files, skipped files, symlinks), and a property test
//! that random YAML with random markers changes only the marked scalars.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use rustomize::setters::{update_bytes, update_dir, ImageRef, Policies, UpdateOptions};
use rustomize::yaml::{read_document, read_stream, Dialect, Limits};
use serde_json::Value;

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("rustomize-setters-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Relative path → bytes of every file under `root`.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn yaml_file(path: &Path) -> Value {
    let bytes = fs::read(path).unwrap();
    read_document(&bytes, Dialect::V3, Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

#[test]
fn flux_image_conformance_cases() {
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/flux-image");
    let mut cases: Vec<PathBuf> = fs::read_dir(&cases_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.yaml").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", cases_dir.display());
    let mut passed = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let spec = yaml_file(&case.join("case.yaml"));

        let mut policies = Policies::new();
        for (key, reference) in spec["policies"].as_object().expect("policies") {
            let image = ImageRef::parse(reference.as_str().unwrap()).unwrap();
            // The case also spells each reference out as Flux's latestRef.
            if let Some(latest) = spec.get("latest_refs").and_then(|l| l.get(key)) {
                assert_eq!(image.name, str_of(latest, "name"), "{name}: {key}");
                assert_eq!(image.tag, str_of(latest, "tag"), "{name}: {key}");
                assert_eq!(image.digest, str_of(latest, "digest"), "{name}: {key}");
            }
            policies.insert(key, image).unwrap();
        }

        let scratch = Scratch::new(&name);
        copy_tree(&case.join("in"), &scratch.0);
        let root = match str_of(&spec, "update_path") {
            "" => scratch.0.clone(),
            p => scratch.0.join(p),
        };
        let before = inodes(&scratch.0);
        let report = update_dir(&root, &policies, &UpdateOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(
            tree(&scratch.0),
            tree(&case.join("out")),
            "{name}: tree differs from out/"
        );

        let written: BTreeSet<String> = report
            .files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect();
        if let Some(want) = spec.get("written_files").and_then(Value::as_array) {
            let want: BTreeSet<String> = want
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(written, want, "{name}: written files");
        }
        // Files without changes keep their inode: they were not rewritten.
        let after = inodes(&scratch.0);
        for (path, ino) in &before {
            let rel_to_root = scratch.0.join(path);
            let rel = rel_to_root
                .strip_prefix(&root)
                .map(|p| p.to_string_lossy().into_owned());
            if !rel.as_ref().is_ok_and(|r| written.contains(r)) {
                assert_eq!(after.get(path), Some(ino), "{name}: {path} was rewritten");
            }
        }
        if let Some(screened) = spec.get("screened_files").and_then(Value::as_array) {
            let want: BTreeSet<String> = screened
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            let got: BTreeSet<String> = report
                .screened
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            assert_eq!(got, want, "{name}: screened files");
        }
        if let Some(expected) = spec.get("expected_result") {
            check_result(&name, expected, &report);
        }
        passed += 1;
    }
    eprintln!("flux-image cases: {passed}/{} pass", cases.len());
}

#[cfg(unix)]
fn inodes(root: &Path) -> std::collections::BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, e.metadata().unwrap().ino())
        })
        .collect()
}

#[cfg(not(unix))]
fn inodes(_: &Path) -> std::collections::BTreeMap<String, u64> {
    Default::default()
}

/// Compares the report with Flux's `update.Result` as written in case.yaml.
fn check_result(name: &str, expected: &Value, report: &rustomize::setters::Report) {
    let files = expected["file_changes"].as_object().expect("file_changes");
    assert_eq!(report.files.len(), files.len(), "{name}: files in result");
    for (path, objects) in files {
        let file = report
            .files
            .iter()
            .find(|f| f.path == Path::new(path))
            .unwrap_or_else(|| panic!("{name}: no changes reported for {path}"));
        let objects = objects.as_array().unwrap();
        assert_eq!(file.objects.len(), objects.len(), "{name}: {path} objects");
        for (got, want) in file.objects.iter().zip(objects) {
            let id = &want["object"];
            assert_eq!(
                got.object.api_version,
                str_of(id, "apiVersion"),
                "{name}: {path}"
            );
            assert_eq!(got.object.kind, str_of(id, "kind"), "{name}: {path}");
            assert_eq!(
                got.object.namespace,
                str_of(id, "namespace"),
                "{name}: {path}"
            );
            assert_eq!(got.object.name, str_of(id, "name"), "{name}: {path}");
            let changes: Vec<(&str, &str, &str)> = want["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (str_of(c, "old"), str_of(c, "new"), str_of(c, "setter")))
                .collect();
            let got_changes: Vec<(&str, &str, &str)> = got
                .changes
                .iter()
                .map(|c| (c.old.as_str(), c.new.as_str(), c.setter.as_str()))
                .collect();
            assert_eq!(got_changes, changes, "{name}: {path} changes");
        }
    }
}

fn one_policy() -> Policies {
    let mut p = Policies::new();
    p.insert("ns:app", ImageRef::parse("reg.io/app:2.0.0").unwrap())
        .unwrap();
    p
}

const MARKED: &str = "image: reg.io/app:1.0.0 # {\"$imagepolicy\": \"ns:app\"}\n";

#[test]
fn dry_run_writes_nothing_and_reports_everything() {
    let scratch = Scratch::new("dry-run");
    fs::write(scratch.0.join("a.yaml"), MARKED).unwrap();
    let options = UpdateOptions {
        dry_run: true,
        ..Default::default()
    };
    let report = update_dir(&scratch.0, &one_policy(), &options).unwrap();
    assert_eq!(
        fs::read_to_string(scratch.0.join("a.yaml")).unwrap(),
        MARKED
    );
    assert_eq!(report.changes(), 1);
    assert!(!report.files[0].written);
    assert!(report
        .to_text()
        .contains("a.yaml:1:8: ns:app: reg.io/app:1.0.0 -> reg.io/app:2.0.0"));
    assert_eq!(
        report.to_json()["files"][0]["objects"][0]["changes"][0]["new"],
        "reg.io/app:2.0.0"
    );
}

#[cfg(unix)]
#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("perms");
    let path = scratch.0.join("a.yml");
    fs::write(&path, MARKED).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    update_dir(&scratch.0, &one_policy(), &UpdateOptions::default()).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(fs::read_to_string(&path).unwrap().contains("app:2.0.0"));
    // No temporary files are left behind.
    assert_eq!(fs::read_dir(&scratch.0).unwrap().count(), 1);
}

#[test]
fn files_flux_would_not_read_are_left_alone() {
    let scratch = Scratch::new("selection");
    for name in ["a.json", "a.yaml.tpl", "kustomization", "b.YAML"] {
        fs::write(scratch.0.join(name), MARKED).unwrap();
    }
    // Marker without the quoted token: never parsed.
    fs::write(
        scratch.0.join("c.yaml"),
        "image: x # {$imagepolicy: ns:app}\n",
    )
    .unwrap();
    let report = update_dir(&scratch.0, &one_policy(), &UpdateOptions::default()).unwrap();
    assert_eq!(report.changes(), 0);
    assert!(report.screened.is_empty());
}

#[test]
fn unparseable_files_are_skipped_with_a_reason() {
    let scratch = Scratch::new("broken");
    fs::write(scratch.0.join("a.yaml"), MARKED).unwrap();
    fs::write(
        scratch.0.join("helm.yaml"),
        "image: {{ .Values.image }} # {\"$imagepolicy\": \"ns:app\"}\nx: [\n",
    )
    .unwrap();
    fs::write(
        scratch.0.join("list.yaml"),
        "- a # {\"$imagepolicy\": \"ns:app\"}\n",
    )
    .unwrap();
    let report = update_dir(&scratch.0, &one_policy(), &UpdateOptions::default()).unwrap();
    assert_eq!(report.changes(), 1);
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.path.display(), s.reason))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped[0].starts_with("helm.yaml: line "), "{skipped:?}");
    assert!(skipped[1].contains("sequence"), "{skipped:?}");
    assert!(report
        .warnings_text()
        .contains("warning: skipped helm.yaml"));
    assert!(!report.to_text().contains("warning"));
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_only_inside_the_tree() {
    let scratch = Scratch::new("links");
    let inside = scratch.0.join("tree");
    let outside = scratch.0.join("outside");
    fs::create_dir_all(inside.join("real")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(inside.join("real/a.yaml"), MARKED).unwrap();
    fs::write(outside.join("b.yaml"), MARKED).unwrap();
    std::os::unix::fs::symlink(inside.join("real/a.yaml"), inside.join("link.yaml")).unwrap();
    std::os::unix::fs::symlink(outside.join("b.yaml"), inside.join("escape.yaml")).unwrap();
    std::os::unix::fs::symlink(&outside, inside.join("dirlink")).unwrap();
    let report = update_dir(&inside, &one_policy(), &UpdateOptions::default()).unwrap();
    assert_eq!(fs::read_to_string(outside.join("b.yaml")).unwrap(), MARKED);
    assert!(fs::read_to_string(inside.join("real/a.yaml"))
        .unwrap()
        .contains("2.0.0"));
    assert!(fs::symlink_metadata(inside.join("link.yaml"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].path, Path::new("escape.yaml"));
}

#[test]
fn invalid_image_references_are_refused_up_front() {
    let mut p = Policies::new();
    let bad = ImageRef {
        name: "Reg.io/App".into(),
        tag: "1".into(),
        digest: String::new(),
    };
    assert!(p.insert("ns:app", bad).is_err());
}

#[test]
fn the_one_line_diff() {
    let before = "\
---
# Deployed by Flux; the image line is managed by image automation.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # keep this comment

spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2 # {\"$imagepolicy\": \"flux-system:web\"}
          args:
            - --config
            - |
              listen: 8080
              trailing:   spaces   
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data:
  tag: \"1.4\"   # {\"$imagepolicy\": \"flux-system:web:tag\"}
";
    let mut p = Policies::new();
    p.insert(
        "flux-system:web",
        ImageRef::parse("ghcr.io/acme/web:1.5.0").unwrap(),
    )
    .unwrap();
    let out = update_bytes(Path::new("web.yaml"), before.as_bytes(), &p).unwrap();
    let after = String::from_utf8(out.output).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(
        changed,
        vec![
            (
                "          image: ghcr.io/acme/web:1.4.2 # {\"$imagepolicy\": \"flux-system:web\"}",
                "          image: ghcr.io/acme/web:1.5.0 # {\"$imagepolicy\": \"flux-system:web\"}"
            ),
            (
                "  tag: \"1.4\"   # {\"$imagepolicy\": \"flux-system:web:tag\"}",
                "  tag: \"1.5.0\"   # {\"$imagepolicy\": \"flux-system:web:tag\"}"
            ),
        ]
    );
}

#[test]
fn empty_value_in_a_block_scalar() {
    let mut p = Policies::new();
    p.insert("ns:app", ImageRef::parse("app:1").unwrap())
        .unwrap();
    let src = "d: | # {\"$imagepolicy\": \"ns:app:digest\"}\n  sha256:old\n\nnext: 1\n";
    let out = update_bytes(Path::new("t.yaml"), src.as_bytes(), &p).unwrap();
    let after = String::from_utf8(out.output).unwrap();
    assert_eq!(
        after,
        "d: |- # {\"$imagepolicy\": \"ns:app:digest\"}\n\nnext: 1\n"
    );
    let docs = read_stream(after.as_bytes(), Limits::default()).unwrap();
    assert_eq!(docs[0].value["d"], "");
}

/// Found by the fuzzer: a block header alone on its line, at the end of the file.
#[test]
fn block_header_alone_at_the_end_of_the_file() {
    let mut p = Policies::new();
    p.insert("ns:app", ImageRef::parse("reg.io/team/app:1.10").unwrap())
        .unwrap();
    // As found, with the header at column 0 under its key: libyaml (and go-yaml) read
    // that, the YAML spec and granit-parser do not, so it is an error now.
    let unindented = "key:\n>8 # {\"$imagepolicy\": \"ns:app\"}\t\t";
    assert!(update_bytes(Path::new("t.yaml"), unindented.as_bytes(), &p).is_err());
    let src = "key:\n  >8 # {\"$imagepolicy\": \"ns:app\"}\t\t";
    let out = update_bytes(Path::new("t.yaml"), src.as_bytes(), &p).unwrap();
    let after = String::from_utf8(out.output).unwrap();
    assert_eq!(
        after,
        "key:\n  >- # {\"$imagepolicy\": \"ns:app\"}\t\t\n    reg.io/team/app:1.10\n"
    );
    let docs = read_stream(after.as_bytes(), Limits::default()).unwrap();
    assert_eq!(docs[0].value["key"], "reg.io/team/app:1.10");
}

mod property {
    //! Random YAML files with random markers: only the marked scalars change, and the
    //! result reads as the same documents with the new values at the marked places.

    use super::*;
    use proptest::prelude::*;
    use rustomize::yaml::spans::{scan, ScalarSpan, Style};

    const POLICIES: &[(&str, &str)] = &[
        ("ns:p0", "reg.io/team/app:1.10"),
        ("ns:p1", "app:v2.0.0-rc.1@sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"),
        ("ns:p2", "localhost:5000/xy:true"),
        ("ns:p3", "nginx:1e3"),
        ("flux-system:p4", "ghcr.io/o/r:2024-01-02"),
    ];
    const SUFFIXES: &[&str] = &["", ":tag", ":name", ":digest"];

    fn policies() -> Policies {
        let mut p = Policies::new();
        for (k, v) in POLICIES {
            p.insert(k, ImageRef::parse(v).unwrap()).unwrap();
        }
        p
    }

    /// A setter name (maybe unknown) and the value it should write, if any.
    fn setter() -> impl Strategy<Value = (String, Option<String>)> {
        (0..POLICIES.len() + 1, 0..SUFFIXES.len() + 1).prop_map(|(pi, si)| {
            let policy = POLICIES.get(pi).map_or("ns:unknown", |p| p.0);
            let suffix = SUFFIXES.get(si).copied().unwrap_or(":sha");
            let name = format!("{policy}{suffix}");
            let value = policies()
                .setter(&name)
                .map(|s| s.value(policies().get(&s.policy).unwrap()));
            (name, value)
        })
    }

    fn marker_comment(name: &str, variant: u8) -> String {
        match variant % 3 {
            0 => format!("# {{\"$imagepolicy\": \"{name}\"}}"),
            1 => format!("#{{\"$imagepolicy\":\"{name}\"}}"),
            _ => format!("## {{ \"$imagepolicy\" : \"{name}\" }}"),
        }
    }

    #[derive(Debug, Clone)]
    enum Written {
        Plain,
        Single,
        Double,
        Literal,
        LiteralStrip,
        Folded,
    }

    #[derive(Debug, Clone)]
    struct Scalar {
        value: String,
        written: Written,
        marker: Option<Marker>,
    }

    #[derive(Debug, Clone)]
    enum Node {
        Scalar(Scalar),
        Map(Vec<Node>),
        Seq {
            items: Vec<Node>,
            wide: bool,
            head_markers: Vec<Option<Marker>>,
        },
        Flow(Vec<String>, Option<Marker>),
    }

    const PLAIN: &[&str] = &[
        "image:v1",
        "reg.io/app:1.0",
        "1.0",
        "true",
        "x",
        "sha256:abc",
        "42",
        "a b",
        "v1.10",
        "app",
    ];
    const QUOTED: &[&str] = &[
        "a: b", "it's", "x # y", "", " lead", "1.10", "yes", "\\back", "ünï",
    ];
    const BLOCK: &[&str] = &[
        "line one",
        "two\nlines",
        "first\n  indented",
        "# looks like a comment",
    ];

    fn scalar(markable: bool) -> impl Strategy<Value = Scalar> {
        let marker =
            proptest::option::weighted(if markable { 0.5 } else { 0.0 }, (setter(), any::<u8>()))
                .prop_map(|m| m.map(|((n, v), variant)| (n, v, variant)))
                .boxed();
        prop_oneof![
            (prop::sample::select(PLAIN), marker.clone()).prop_map(|(v, m)| Scalar {
                value: v.into(),
                written: Written::Plain,
                marker: m
            }),
            (prop::sample::select(QUOTED), marker.clone()).prop_map(|(v, m)| Scalar {
                value: v.into(),
                written: Written::Single,
                marker: m
            }),
            (prop::sample::select(QUOTED), marker.clone()).prop_map(|(v, m)| Scalar {
                value: v.into(),
                written: Written::Double,
                marker: m
            }),
            (prop::sample::select(BLOCK), marker, 0..3u8).prop_map(|(v, m, k)| Scalar {
                value: v.into(),
                written: [Written::Literal, Written::LiteralStrip, Written::Folded][k as usize]
                    .clone(),
                // A block never gets a digest marker: an empty digest cannot stay a block.
                marker: m.filter(|(n, _, _)| !n.ends_with(":digest")),
            }),
        ]
    }

    fn node() -> impl Strategy<Value = Node> {
        let leaf = scalar(true).prop_map(Node::Scalar);
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..5).prop_map(Node::Map),
                (
                    prop::collection::vec(
                        prop_oneof![
                            scalar(true).prop_map(Node::Scalar),
                            prop::collection::vec(inner.clone(), 1..3).prop_map(Node::Map),
                        ],
                        1..4
                    ),
                    any::<bool>(),
                    prop::collection::vec(
                        proptest::option::weighted(0.4, (setter(), any::<u8>())),
                        4
                    ),
                )
                    .prop_map(|(items, wide, hm)| Node::Seq {
                        items,
                        wide,
                        head_markers: hm
                            .into_iter()
                            .map(|m| m.map(|((n, v), k)| (n, v, k)))
                            .collect(),
                    }),
                (
                    prop::collection::vec(prop::sample::select(PLAIN), 1..4),
                    proptest::option::of((setter(), any::<u8>())),
                )
                    .prop_map(|(xs, m)| Node::Flow(
                        xs.into_iter().map(String::from).collect(),
                        m.map(|((n, v), k)| (n, v, k))
                    )),
            ]
        })
    }

    /// A marked place: document index, path from the root, and the value expected there.
    #[derive(Debug)]
    struct Expect {
        doc: usize,
        pointer: String,
        new: String,
    }

    /// A marker to write: setter name, the value it should produce (None for unknown
    /// setters), and a spelling variant.
    type Marker = (String, Option<String>, u8);

    struct Writer {
        text: String,
        expects: Vec<Expect>,
        doc: usize,
        key: usize,
        decoration: u32,
    }

    /// The value a scalar decodes to, as written by [`Writer::scalar`].
    fn decoded(s: &Scalar) -> String {
        match s.written {
            Written::Literal => format!("{}\n", s.value),
            Written::Folded => format!("{}\n", s.value.replace('\n', " ")),
            _ => s.value.clone(),
        }
    }

    impl Writer {
        fn next_decoration(&mut self) -> u32 {
            self.decoration = self
                .decoration
                .wrapping_mul(1_103_515_245)
                .wrapping_add(12345);
            (self.decoration >> 16) % 8
        }

        fn expect(&mut self, s: &Scalar, marker: Option<&Marker>, pointer: &str) {
            if let Some((_, Some(new), _)) = marker {
                if *new != decoded(s) {
                    self.expects.push(Expect {
                        doc: self.doc,
                        pointer: pointer.into(),
                        new: new.clone(),
                    });
                }
            }
        }

        /// Writes a scalar after `key: ` or `- ` (whose column is `indent`), with its line
        /// comment if it has a marker.
        fn scalar(&mut self, s: &Scalar, indent: usize, pointer: &str) {
            self.expect(s, s.marker.as_ref(), pointer);
            let comment = s.marker.as_ref().map(|(n, _, k)| marker_comment(n, *k));
            match s.written {
                Written::Literal | Written::LiteralStrip | Written::Folded => {
                    self.text.push_str(match s.written {
                        Written::Literal => "|",
                        Written::LiteralStrip => "|-",
                        _ => ">",
                    });
                    if let Some(c) = comment {
                        self.text.push(' ');
                        self.text.push_str(&c);
                    }
                    self.text.push('\n');
                    for line in s.value.split('\n') {
                        self.text.push_str(&" ".repeat(indent + 2));
                        self.text.push_str(line);
                        self.text.push('\n');
                    }
                    if self.next_decoration() == 0 {
                        self.text.push('\n');
                    }
                }
                _ => {
                    let text = match s.written {
                        Written::Double => yaml_double(&s.value),
                        Written::Single => format!("'{}'", s.value.replace('\'', "''")),
                        _ => s.value.clone(),
                    };
                    self.text.push_str(&text);
                    if let Some(c) = comment {
                        let gap = if self.next_decoration() < 4 {
                            " "
                        } else {
                            "   "
                        };
                        self.text.push_str(gap);
                        self.text.push_str(&c);
                    }
                    self.text.push('\n');
                }
            }
        }

        fn map(&mut self, entries: &[Node], indent: usize, pointer: &str, first_inline: bool) {
            for (i, value) in entries.iter().enumerate() {
                let key = format!("k{}", self.key);
                self.key += 1;
                if i > 0 || !first_inline {
                    match self.next_decoration() {
                        0 => self.text.push('\n'),
                        1 => {
                            self.text.push_str(&" ".repeat(indent));
                            self.text.push_str(
                                "# a comment above a key, {\"$imagepolicy\": \"ns:p0\"}\n",
                            );
                        }
                        2 => {
                            // Above a key, a marker is the key's head comment: ignored.
                            self.text.push_str(&" ".repeat(indent));
                            self.text.push_str(&marker_comment("ns:p0", 0));
                            self.text.push('\n');
                        }
                        _ => {}
                    }
                    self.text.push_str(&" ".repeat(indent));
                }
                self.text.push_str(&key);
                self.text.push(':');
                let child = format!("{pointer}/{key}");
                self.value(value, indent, &child);
            }
        }

        /// Writes what follows `key:`.
        fn value(&mut self, value: &Node, indent: usize, pointer: &str) {
            match value {
                Node::Scalar(s) => {
                    self.text.push(' ');
                    self.scalar(s, indent, pointer);
                }
                Node::Map(entries) => {
                    self.text.push('\n');
                    let step = if self.next_decoration() < 6 { 2 } else { 4 };
                    self.map(entries, indent + step, pointer, false);
                }
                Node::Seq {
                    items,
                    wide,
                    head_markers,
                } => {
                    self.text.push('\n');
                    let dash = if *wide { indent + 2 } else { indent };
                    for (i, item) in items.iter().enumerate() {
                        let item_pointer = format!("{pointer}/{i}");
                        let head = head_markers.get(i).cloned().flatten();
                        let inline = |s: &Scalar| {
                            matches!(
                                s.written,
                                Written::Plain | Written::Single | Written::Double
                            )
                        };
                        match (item, head) {
                            // A one-line comment right above `- value`: the item's head comment.
                            (Node::Scalar(s), Some(marker)) if s.marker.is_none() && inline(s) => {
                                self.text.push_str(&" ".repeat(dash));
                                self.text.push_str(&marker_comment(&marker.0, marker.2));
                                self.text.push('\n');
                                self.expect(s, Some(&marker), &item_pointer);
                                self.text.push_str(&" ".repeat(dash));
                                self.text.push_str("- ");
                                self.scalar(s, dash + 2, &item_pointer);
                            }
                            (Node::Scalar(s), _) => {
                                self.text.push_str(&" ".repeat(dash));
                                self.text.push_str("- ");
                                self.scalar(s, dash + 2, &item_pointer);
                            }
                            (Node::Map(entries), _) => {
                                self.text.push_str(&" ".repeat(dash));
                                self.text.push_str("- ");
                                self.map(entries, dash + 2, &item_pointer, true);
                            }
                            _ => unreachable!("sequence items are scalars or maps"),
                        }
                    }
                }
                Node::Flow(items, marker) => {
                    self.text.push_str(" [");
                    self.text.push_str(&items.join(", "));
                    self.text.push(']');
                    // A marker after `]` belongs to the sequence, never to its last item.
                    if let Some((name, _, k)) = marker {
                        self.text.push(' ');
                        self.text.push_str(&marker_comment(name, *k));
                    }
                    self.text.push('\n');
                }
            }
        }
    }

    fn yaml_double(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn render(docs: &[Vec<Node>], leading: bool, seed: u32) -> (String, Vec<Expect>) {
        let mut w = Writer {
            text: String::new(),
            expects: Vec::new(),
            doc: 0,
            key: 0,
            decoration: seed,
        };
        if leading {
            w.text.push_str("---\n");
        }
        for (i, doc) in docs.iter().enumerate() {
            if i > 0 {
                let separator = if w.next_decoration() < 4 {
                    "---\n"
                } else {
                    "--- # next\n"
                };
                w.text.push_str(separator);
            }
            w.doc = i;
            w.key = 0;
            w.map(doc, 0, "", false);
        }
        (w.text, w.expects)
    }

    /// The bytes a changed scalar owns: its span, or a block's header and body.
    fn owned(s: &ScalarSpan) -> Vec<std::ops::Range<usize>> {
        match (&s.block, s.style) {
            (Some(b), Style::Literal | Style::Folded) => vec![b.header.clone(), b.body.clone()],
            _ => vec![s.span.clone()],
        }
    }

    fn gaps(text: &[u8], owned: &[std::ops::Range<usize>]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        for r in owned {
            out.push(text[at..r.start].to_vec());
            at = r.end;
        }
        out.push(text[at..].to_vec());
        out
    }

    fn pointer_of(s: &ScalarSpan) -> String {
        s.path
            .iter()
            .map(|seg| match seg {
                rustomize::yaml::spans::PathSeg::Key(k) => format!("/{k}"),
                rustomize::yaml::spans::PathSeg::Index(i) => format!("/{i}"),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn only_marked_scalars_change(
            docs in prop::collection::vec(prop::collection::vec(node(), 1..5), 1..4),
            leading in any::<bool>(),
            crlf in any::<bool>(),
            seed in any::<u32>(),
        ) {
            let (mut text, expects) = render(&docs, leading, seed);
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let src = text.as_bytes();
            let original = read_stream(src, Limits::default())
                .map_err(|e| TestCaseError::fail(format!("generated YAML does not parse: {e}\n{text}")))?;
            let update = update_bytes(Path::new("t.yaml"), src, &policies())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let out = update.output.clone();
            let out_text = String::from_utf8(out.clone()).unwrap();

            // Exactly the expected places changed, to the expected values.
            let mut want: Vec<(usize, String, String)> =
                expects.iter().map(|e| (e.doc, e.pointer.clone(), e.new.clone())).collect();
            want.sort();
            let before_spans = scan(src).unwrap();
            let after_spans = scan(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out_text}")))?;
            prop_assert_eq!(before_spans.len(), after_spans.len());
            let mut got = Vec::new();
            let (mut owned_before, mut owned_after) = (Vec::new(), Vec::new());
            for (d, (b, a)) in before_spans.iter().zip(&after_spans).enumerate() {
                prop_assert_eq!(b.scalars.len(), a.scalars.len());
                for (sb, sa) in b.scalars.iter().zip(&a.scalars) {
                    if sb.value != sa.value {
                        got.push((d, pointer_of(sb), sa.value.clone()));
                        owned_before.extend(owned(sb));
                        owned_after.extend(owned(sa));
                    }
                }
            }
            got.sort();
            prop_assert_eq!(&got, &want, "text:\n{}\nout:\n{}", text, out_text);
            prop_assert_eq!(update.objects.iter().map(|o| o.changes.len()).sum::<usize>(), want.len());

            // Every byte outside the changed scalars is unchanged.
            prop_assert_eq!(gaps(src, &owned_before), gaps(&out, &owned_after), "out:\n{}", out_text);

            // The documents read the same, except for the new strings at the marked places.
            let updated = read_stream(&out, Limits::default())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{out_text}")))?;
            prop_assert_eq!(original.len(), updated.len());
            for (d, (o, u)) in original.iter().zip(&updated).enumerate() {
                let mut expected = o.value.clone();
                for (doc, pointer, new) in &want {
                    if *doc == d {
                        *expected.pointer_mut(pointer).unwrap() = Value::String(new.clone());
                    }
                }
                prop_assert_eq!(&u.value, &expected, "out:\n{}", out_text);
            }
        }
    }
}
