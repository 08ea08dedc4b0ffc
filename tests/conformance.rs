//! Builds every conformance case under `fixtures/` and compares the bytes with kubectl's
//! golden output (`expected.yaml`), or checks that the build fails (`expected-error.txt`).
//!
//! Cases that do not pass yet are listed in `tests/known-failures.txt`. The list may only
//! shrink: a listed case that passes fails this test, so the list stays honest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustomize::build::{Options, Reorder};
use rustomize::fs::{DiskFs, LoadRestrictor};

const SUITES: &[&str] = &[
    "conformance/yaml-format",
    "conformance/krusty",
    "conformance/examples",
    "conformance/smp",
    "conformance/differential",
    "corpus",
];

struct Case {
    id: String,
    dir: PathBuf,
    root: String,
    args: Vec<String>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn load_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for suite in SUITES {
        let dir = fixtures().join(suite);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for d in names {
            let case_file = d.join("case.yaml");
            if !case_file.is_file() || !d.join("in").is_dir() {
                continue;
            }
            let bytes = std::fs::read(&case_file).unwrap();
            let v = rustomize::yaml::read_document(
                &bytes,
                rustomize::yaml::Dialect::V3,
                Default::default(),
            )
            .unwrap()
            .unwrap();
            let root = v
                .get("root")
                .and_then(|r| r.as_str())
                .unwrap_or(".")
                .to_string();
            let args = v
                .get("args")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let name = d.file_name().unwrap().to_string_lossy().to_string();
            cases.push(Case {
                id: format!("{suite}/{name}"),
                dir: d,
                root,
                args,
            });
        }
    }
    cases
}

fn options(args: &[String]) -> Options {
    let mut o = Options::default();
    for a in args {
        match a.as_str() {
            "--enable-managedby-label" => o.add_managed_by_label = true,
            "--load-restrictor=LoadRestrictionsNone" => o.load_restrictor = LoadRestrictor::None,
            "--reorder=none" => o.reorder = Reorder::None,
            other => panic!("conformance harness does not know the flag {other}"),
        }
    }
    o
}

/// `Ok(())` when the case passes, else a short reason.
fn run_case(c: &Case) -> Result<(), String> {
    let target = c.dir.join("in").join(&c.root);
    let result = rustomize::build::render(Arc::new(DiskFs), &target, &options(&c.args));
    let expected = c.dir.join("expected.yaml");
    if expected.is_file() {
        let want = std::fs::read(&expected).unwrap();
        match result {
            Ok(got) if got == want => Ok(()),
            Ok(got) => {
                let line = got
                    .split(|&b| b == b'\n')
                    .zip(want.split(|&b| b == b'\n'))
                    .position(|(a, b)| a != b);
                Err(format!(
                    "output differs (first at line {})",
                    line.map_or(0, |l| l + 1)
                ))
            }
            Err(e) => Err(format!("build failed: {e}")),
        }
    } else {
        match result {
            Err(_) => Ok(()),
            Ok(_) => Err("build succeeded but kubectl fails".into()),
        }
    }
}

#[test]
fn conformance() {
    let known: BTreeSet<String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/known-failures.txt"),
    )
    .unwrap_or_default()
    .lines()
    .map(|l| l.trim())
    .filter(|l| !l.is_empty() && !l.starts_with('#'))
    .map(String::from)
    .collect();
    let cases = load_cases();
    assert!(
        cases.len() > 390,
        "fixtures missing? found {} cases",
        cases.len()
    );
    let results: Mutex<Vec<(String, Result<(), String>)>> = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(c) = cases.get(i) else { break };
                let r = run_case(c);
                results.lock().unwrap().push((c.id.clone(), r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut unexpected_failures = Vec::new();
    let mut unexpected_passes = Vec::new();
    let mut per_suite: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (id, r) in &results {
        let suite = id
            .rsplit_once('/')
            .map_or(id.as_str(), |(s, _)| s)
            .to_string();
        let e = per_suite.entry(suite).or_default();
        e.1 += 1;
        match r {
            Ok(()) => {
                e.0 += 1;
                if known.contains(id) {
                    unexpected_passes.push(id.clone());
                }
            }
            Err(why) => {
                if !known.contains(id) {
                    unexpected_failures.push(format!("{id}: {why}"));
                }
            }
        }
    }
    for (suite, (pass, total)) in &per_suite {
        eprintln!("{suite}: {pass}/{total}");
    }
    let ids: BTreeSet<&String> = results.iter().map(|r| &r.0).collect();
    let stale: Vec<&String> = known.iter().filter(|k| !ids.contains(k)).collect();
    assert!(
        stale.is_empty(),
        "known-failures lists cases that do not exist: {stale:?}"
    );
    assert!(
        unexpected_passes.is_empty(),
        "these cases pass now; remove them from tests/known-failures.txt:\n{}",
        unexpected_passes.join("\n")
    );
    assert!(
        unexpected_failures.is_empty(),
        "unexpected failures:\n{}",
        unexpected_failures.join("\n")
    );
}
