//! The block-style fast path and the full parser must read the same model from every input
//! the fast path accepts, and the fast path must accept what real manifests look like.
//!
//! Three checks: every YAML file in the fixtures (the corpus repositories and the
//! conformance suites) read both ways; generated block-style documents (proptest) read
//! both ways; and the same documents with random byte edits, which mostly land on the
//! corner cases the fast path must decline.

use std::path::Path;

use proptest::prelude::*;
use rustomize::yaml::reader::{
    read_resource_stream, read_stream, with_reader_mode, Document, ReaderMode, FAST_PATH_DECLINED,
};
use rustomize::yaml::{read_document, Dialect, Error, Limits};

type Read = fn(&[u8], Limits) -> Result<Vec<Document>, Error>;

/// Kustomization files are read with go-yaml v2's rules ([`Dialect::V2`]: YAML 1.1 words,
/// non-string keys printed as strings, later duplicate keys win), through the same readers.
fn read_v2(bytes: &[u8], limits: Limits) -> Result<Vec<Document>, Error> {
    Ok(read_document(bytes, Dialect::V2, limits)?
        .into_iter()
        .map(|value| Document {
            value,
            line: 1,
            empty_nulls: Vec::new(),
            null_annotations: Vec::new(),
            nodes: 0,
            bytes: 0,
        })
        .collect())
}

/// Reads `bytes` with the full parser alone and with the fast path (falling back): the two
/// must agree, errors included. Returns whether the fast path alone read every piece.
fn check_agree(bytes: &[u8], read: Read) -> Result<bool, String> {
    let full = with_reader_mode(ReaderMode::FullOnly, || read(bytes, Limits::default()));
    let auto = with_reader_mode(ReaderMode::Auto, || read(bytes, Limits::default()));
    if full != auto {
        return Err(format!(
            "readers disagree on {:?}\nfull parser: {full:?}\nwith fast path: {auto:?}",
            String::from_utf8_lossy(bytes)
        ));
    }
    let fast = with_reader_mode(ReaderMode::FastOnly, || read(bytes, Limits::default()));
    match fast {
        Ok(docs) => {
            if Ok(&docs) != full.as_ref() {
                return Err(format!(
                    "fast path alone differs on {:?}: {docs:?} vs {full:?}",
                    String::from_utf8_lossy(bytes)
                ));
            }
            Ok(true)
        }
        Err(e) if e.message == FAST_PATH_DECLINED => Ok(false),
        // Errors found before either reader runs (splitting, UTF-8) are shared.
        Err(e) if Err(&e) == full.as_ref() => Ok(true),
        Err(e) => Err(format!(
            "the fast path reported an error of its own on {:?}: {e}",
            String::from_utf8_lossy(bytes)
        )),
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn fixture_files_read_alike_and_mostly_fast() {
    let mut files = Vec::new();
    yaml_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut files,
    );
    assert!(files.len() > 1000, "fixtures not found: {}", files.len());
    let (mut corpus_files, mut corpus_fast) = (0usize, 0usize);
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        for read in [
            read_resource_stream as Read,
            read_stream as Read,
            read_v2 as Read,
        ] {
            match check_agree(&bytes, read) {
                Ok(fast) => {
                    if path.to_string_lossy().contains("/corpus/")
                        && std::ptr::fn_addr_eq(read, read_stream as Read)
                    {
                        corpus_files += 1;
                        corpus_fast += usize::from(fast);
                    }
                }
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} files read differently:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Real manifests are what the fast path is for: it must read nearly all of them alone.
    assert!(
        corpus_fast * 100 >= corpus_files * 90,
        "the fast path read only {corpus_fast} of {corpus_files} corpus files alone"
    );
}

/// Scalars that exercise resolution and quoting: Go's YAML 1.1/1.2 look-alikes, indicators,
/// comments, escapes, unicode, empties.
const TAME_SCALARS: &[&str] = &[
    "a",
    "hello world",
    "x:y",
    "nginx:1.2",
    "-c",
    "--flag=1",
    "1",
    "true",
    "null",
    "''",
    "\"\"",
    "'quoted text'",
    "\"say \\\"hi\\\"\"",
    "[a, b]",
    "{}",
    "[]",
    "v # comment",
    "1.5",
    "yes",
];

const SCALARS: &[&str] = &[
    "a",
    "hello world",
    "x:y",
    "http://e.com/a#b",
    "a #c",
    "a # c",
    "yes",
    "no",
    "on",
    "true",
    "False",
    "null",
    "~",
    "",
    "0",
    "012",
    "0x1F",
    "0o17",
    "1_000",
    "-1",
    "+1",
    ".5",
    "1e3",
    ".inf",
    "-.Inf",
    ".nan",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "1:20",
    "<<",
    "=",
    "-x",
    "--x",
    "- x",
    "-",
    "?x",
    ":x",
    "a:",
    "a: b",
    "'q'",
    "'it''s'",
    "\"d\"",
    "\"a\\tb\\n\"",
    "\"\\u00e9\\x41\"",
    "\"\\q\"",
    "@x",
    "`x",
    "%x",
    "!x",
    "&a x",
    "*a",
    "[]",
    "{}",
    "[a]",
    "{a: 1}",
    "a,b",
    "a]b",
    "é",
    "日本",
    "a\tb",
    "  ",
    "#",
    "a#b",
    "'",
    "\"",
    "'a'b",
    "\"a\" b",
    "~x",
    "0.1.2",
    "1.0",
    "-0",
    "0b101",
    "1e",
    "12:30:45",
    "[a, b]",
    "[ a ,'b' ]",
    "{a: 1, b: [x, y]}",
    "[a, ]",
    "{a: }",
    "[a:b]",
    "{\"a\":1}",
    "[-x, - y]",
    "[a #c]",
    "[[1], {}]",
    "[\"a,b\", 'c''d']",
    "{k: {}}",
    "[ ]",
    "{ }",
];

const TAME_KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "spec",
    "x.y/z",
    "image",
    "\"q\"",
    "app.kubernetes.io/name",
];

const KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "metadata",
    "annotations",
    "labels",
    "spec",
    "x.y/z",
    "a b",
    "\"q\"",
    "'s'",
    "1",
    "true",
    "null",
    "~",
    "<<",
    "-k",
    "k:",
    "\"a: b\"",
    "k#",
    "é",
    "",
    "? k",
    "&x k",
];

/// Lines of scalars that continue over lines: plain, quoted, blank lines between.
const CONTINUATIONS: &[&str] = &[
    "a", "b c", "", "\"q", "r\"", "'s", "t'", "x: y", "# c", "- z", "  w", "\"a\\", "é", "u\"",
    "v'", "\"w\"", " x ", "y\t", "'it''s", "\\n\"",
];

#[derive(Debug, Clone)]
enum Node {
    Scalar(&'static str),
    Lines(Vec<&'static str>),
    Literal(String, &'static str),
    Map(Vec<(&'static str, Node)>),
    Seq(Vec<Node>),
}

fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        12 => prop::sample::select(TAME_KEYS),
        1 => prop::sample::select(KEYS),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        16 => prop::sample::select(TAME_SCALARS).prop_map(Node::Scalar),
        2 => prop::sample::select(SCALARS).prop_map(Node::Scalar),
        1 => prop::collection::vec(prop::sample::select(CONTINUATIONS), 2..5).prop_map(Node::Lines),
        1 => (
            prop::collection::vec(prop::sample::select(&["x", " y", "", "  z ", "a: b", "#c", "\tt"][..]), 0..4),
            prop::sample::select(&["|", "|-", "|+", "|2", "|-1", ">", "|+ # c"][..]),
        )
            .prop_map(|(lines, head)| Node::Literal(lines.join("\n"), head)),
    ];
    leaf.prop_recursive(5, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 0..5).prop_map(Node::Map),
            prop::collection::vec(inner, 0..5).prop_map(Node::Seq),
        ]
    })
}

/// Writes `n` as block YAML at `indent`; `compact` chooses `- key: v` and indentless
/// sequences where they apply, `comments` sprinkles comment and blank lines.
fn write(n: &Node, indent: usize, out: &mut String, style: &Style) {
    let pad = " ".repeat(indent);
    match n {
        Node::Scalar(s) => {
            out.push(' ');
            out.push_str(s);
            out.push('\n');
        }
        Node::Lines(lines) => {
            out.push(' ');
            out.push_str(lines[0]);
            out.push('\n');
            for line in &lines[1..] {
                if !line.is_empty() {
                    out.push_str(&pad);
                }
                out.push_str(line);
                out.push('\n');
            }
        }
        Node::Literal(text, head) => {
            out.push(' ');
            out.push_str(head);
            out.push('\n');
            for line in text.split('\n') {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + style.step));
                }
                out.push_str(line);
                out.push('\n');
            }
        }
        Node::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Node::Map(entries) => {
            out.push('\n');
            for (k, v) in entries {
                if style.comments {
                    out.push_str(&pad);
                    out.push_str("# c\n\n");
                }
                out.push_str(&pad);
                out.push_str(k);
                out.push(':');
                let indentless = style.indentless && matches!(v, Node::Seq(i) if !i.is_empty());
                write(
                    v,
                    if indentless {
                        indent
                    } else {
                        indent + style.step
                    },
                    out,
                    style,
                );
            }
        }
        Node::Seq(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&pad);
                out.push('-');
                write(item, indent + 2, out, style);
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Style {
    step: usize,
    indentless: bool,
    comments: bool,
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((key(), node()), 1..6),
        1usize..4,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(entries, step, indentless, comments, start)| {
            let style = Style {
                step,
                indentless,
                comments,
            };
            let mut out = String::new();
            if start {
                out.push_str("---\n");
            }
            for (k, v) in &entries {
                out.push_str(k);
                out.push(':');
                write(v, style.step, &mut out, &style);
            }
            // Compact sequence items: `-\n  key: v` → `- key: v` where the next line is
            // a key, as people write them.
            out.replace("-\n  ", "- ")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_read_alike(doc in document()) {
        for read in [read_resource_stream as Read, read_stream as Read, read_v2 as Read] {
            if let Err(e) = check_agree(doc.as_bytes(), read) {
                prop_assert!(false, "{}", e);
            }
        }
    }

    #[test]
    fn edited_documents_read_alike(
        doc in document(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(&[
            "", " ", "\t", "\n", "#", ":", "- ", "'", "\"", "|", ">", "&a ", "*a", "!t ", "{", "[",
            "\\", "...", "---", "? ", "\r", "\u{85}", "\u{feff}", "é",
        ][..])), 1..4),
    ) {
        let mut bytes = doc.into_bytes();
        for (at, insert) in edits {
            let i = at.index(bytes.len() + 1);
            if insert.is_empty() && i < bytes.len() {
                bytes.remove(i);
            } else {
                bytes.splice(i..i, insert.bytes());
            }
        }
        for read in [read_resource_stream as Read, read_stream as Read, read_v2 as Read] {
            if let Err(e) = check_agree(&bytes, read) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}

/// The generated documents must mostly reach the fast path, or the property tests above
/// would only test the full parser against itself.
#[test]
fn generated_documents_mostly_take_the_fast_path() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = document();
    let (mut total, mut fast) = (0, 0);
    for _ in 0..1000 {
        let doc = strategy.new_tree(&mut runner).unwrap().current();
        total += 1;
        fast += usize::from(check_agree(doc.as_bytes(), read_resource_stream).unwrap());
    }
    assert!(
        fast * 100 >= total * 15,
        "only {fast} of {total} generated documents were read fast"
    );
    assert!(
        fast < total,
        "no generated document was declined: the generator is too tame"
    );
}

#[test]
fn the_fast_path_reads_typical_manifests() {
    let doc = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the name\n  labels:\n    app: web\n  annotations:\n    a: 1.0\n    b:\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \"nginx:1.2\"\n        args: ['--x', \"-y\"]\n        command:\n          - sh\n          - -c\n          - |\n            echo hi\n\n            echo there\n        env: []\n        resources: {}\n";
    // Anchors and aliases are the full parser's: declined alone, read with the fallback.
    let anchored = b"a: &x 1\nb: *x\n";
    let declined = with_reader_mode(ReaderMode::FastOnly, || {
        read_resource_stream(anchored, Limits::default())
    });
    assert_eq!(declined.unwrap_err().message, FAST_PATH_DECLINED);
    let read = read_resource_stream(anchored, Limits::default()).unwrap();
    assert_eq!(read[0].value["b"], 1);
    let docs = with_reader_mode(ReaderMode::FastOnly, || {
        read_resource_stream(doc, Limits::default())
    })
    .unwrap();
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.value["metadata"]["annotations"]["a"], "1.0");
    assert_eq!(d.null_annotations, vec!["b".to_string()]);
    assert_eq!(
        d.value["spec"]["template"]["spec"]["containers"][0]["command"][2],
        "echo hi\n\necho there\n"
    );
    assert_eq!(
        d.value["spec"]["template"]["spec"]["containers"][0]["args"],
        serde_json::json!(["--x", "-y"])
    );
    assert_eq!(check_agree(doc, read_resource_stream), Ok(true));
}
