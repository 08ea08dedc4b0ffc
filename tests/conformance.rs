//! Every conformance case under `fixtures/` as a test of its own, named `SUITE/CASE`
//! (`cargo test --test conformance -- krusty/TestSomething` runs one): the build's bytes
//! against kubectl's golden output (`expected.yaml`), or a failure where kubectl fails
//! (`expected-error.txt`).
//!
//! Cases with real parts (remote git repositories, a file server, a stand-in `helm`) run
//! in a scratch copy exactly as `fixtures/regen_goldens.py` ran kubectl on them
//! (`tests/support`).
//!
//! Cases that do not pass yet are listed in `tests/known-failures.txt`. The list may only
//! shrink: a listed case that passes fails, so the list stays honest.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use rustomize::build::{Options, Reorder};
use rustomize::error::ErrorKind;
use rustomize::fs::{DiskFs, LoadRestrictor};
use support::{Case, Work};

const SUITES: &[&str] = &[
    "conformance/yaml-format",
    "conformance/krusty",
    "conformance/examples",
    "conformance/smp",
    "conformance/differential",
    "conformance/remote",
    "conformance/helm",
    "corpus",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn load_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for suite in SUITES {
        let Ok(entries) = std::fs::read_dir(fixtures().join(suite)) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        dirs.sort();
        for d in dirs {
            if !d.join("case.yaml").is_file() || !d.join("in").is_dir() {
                continue;
            }
            let name = d.file_name().unwrap().to_string_lossy().to_string();
            cases.push(Case::load(format!("{suite}/{name}"), d));
        }
    }
    cases
}

/// The build options a case's `args` ask for.
fn options(args: &[String], work: Option<&Work>) -> Options {
    let mut o = Options::default();
    let mut network = rustomize::remote::Network::default();
    if let Some(w) = work {
        network.git_env = support::git_env(&w.dir);
    }
    o.remote = Some(Arc::new(network));
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--enable-managedby-label" => o.add_managed_by_label = true,
            "--load-restrictor=LoadRestrictionsNone" => o.load_restrictor = LoadRestrictor::None,
            "--reorder=none" => o.reorder = Reorder::None,
            "--enable-helm" | "--enable-alpha-plugins" => o.helm.enabled = true,
            "--helm-debug" => o.helm.debug = true,
            "--helm-command" => o.helm.command = it.next().unwrap().clone(),
            "--helm-kube-version" => o.helm.kube_version = it.next().unwrap().clone(),
            "--helm-api-versions" => o.helm.api_versions.push(it.next().unwrap().clone()),
            other => panic!("conformance harness does not know the flag {other}"),
        }
    }
    o
}

/// The classes of error rustomize may report for a failure kubectl described as `text`:
/// the build must fail for kubectl's reason, not merely fail. kubectl's message wraps its
/// causes outside in, so the cause is the category whose marker comes last in the text.
fn expected_kinds(text: &str) -> Option<&'static [ErrorKind]> {
    use ErrorKind::*;
    if text.starts_with("panic:") || text.trim().is_empty() {
        return None;
    }
    // A resource entry that is neither a file nor a directory: kustomize reports the
    // directory attempt last, but the file's error is the cause.
    if let (Some(start), true) = (
        text.find("accumulation err='"),
        text.trim_end()
            .trim_end_matches('"')
            .ends_with("file is not directory"),
    ) {
        let inner = &text[start + "accumulation err='".len()..];
        if let Some(end) = inner.rfind("': must build at directory") {
            return expected_kinds(&inner[..end]);
        }
    }
    const CATEGORIES: &[(&[&str], &[ErrorKind])] = &[
        (
            &[
                "HelmChartInflationGenerator",
                "helm",
                "no repo specified for pull",
                "could not parse values file",
                "could not merge values",
                "could not parse rnode slice",
                "cannot find version string",
            ],
            &[Helm, Kustomization, Load, Resource],
        ),
        (
            &[
                "failed to run '",
                "timeout running",
                "HTTP Error",
                "URL is a git repository",
                "Get \"",
                "refers to file",
                "refers to directory outside of repo",
                "cloned git repos",
                "cycle detected: URI",
            ],
            &[Remote, Load],
        ),
        (
            &["MalformedYAMLError", "yaml: ", "invalid document separator"],
            &[Yaml, Output],
        ),
        (&["control characters are not allowed"], &[Output]),
        (
            &[
                "unable to find one of 'kustomization.yaml'",
                "must build at directory",
                "must resolve to a file",
                "evalsymlink failure",
                "not in or below",
                "Found multiple kustomization files",
                "no such file",
                "cycle detected: candidate",
                "file is not directory",
            ],
            &[Load, Generate, Kustomization, Helm],
        ),
        (
            &[
                "already registered id",
                "merging from generator",
                "missing metadata.name",
                "missing kind",
            ],
            &[Resource, Transform],
        ),
        (
            &[
                "invalid Kustomization",
                "sortOptions",
                "OpenAPI",
                "custom schema",
                "merging vars",
                "trouble configuring",
                "must specify a target",
                "expected kind 'Component'",
                "Failed to read",
            ],
            &[Kustomization, Plugin, Transform],
        ),
        (&["plugin", "unable to load builtin"], &[Plugin]),
    ];
    let mut best: Option<(usize, &'static [ErrorKind])> = None;
    for (markers, kinds) in CATEGORIES {
        if let Some(at) = markers.iter().filter_map(|m| text.rfind(m)).max() {
            if best.is_none_or(|(b, _)| at > b) {
                best = Some((at, kinds));
            }
        }
    }
    // kustomize also fails to print a result with invalid keys or values.
    if text.starts_with("map[string]interface {}{") && best.is_none_or(|(_, k)| k == [Yaml, Output])
    {
        return Some(&[Yaml, Output, Resource, Generate, Transform]);
    }
    Some(best.map_or(&[Transform, Kustomization], |(_, k)| k))
}

/// Builds a case; `Ok(())` when it matches kubectl.
fn run_case(c: &Case) -> Result<(), String> {
    let work = c.has_real_parts().then(|| Work::new(c));
    let (target, args) = match &work {
        Some(w) => {
            let root = w.substitute(&c.root);
            let target = if root.contains("://") || root.starts_with("git@") {
                PathBuf::from(root)
            } else {
                w.dir.join("in").join(root)
            };
            let args: Vec<String> = c.args.iter().map(|a| w.substitute(a)).collect();
            (target, args)
        }
        None => (c.dir.join("in").join(&c.root), c.args.clone()),
    };
    let mut opts = options(&args, work.as_ref());
    let collector = rustomize::warning::Collector::default();
    opts.warnings = Some(collector.sink());
    let result = rustomize::build::render(Arc::new(DiskFs), &target, &opts);
    if !c.nondeterministic_error {
        let got: Vec<String> = collector
            .take()
            .iter()
            .map(|w| match &work {
                Some(w2) => w2.unsubstitute(&w.message),
                None => w.message.clone(),
            })
            .collect();
        check_warnings(c, &got)?;
    }
    let expected = c.dir.join("expected.yaml");
    if expected.is_file() {
        let want = std::fs::read(&expected).unwrap();
        let got = match result {
            Ok(got) => got,
            Err(e) => return Err(format!("build failed: {e}")),
        };
        let got = match &work {
            Some(w) => w.unsubstitute(&String::from_utf8_lossy(&got)).into_bytes(),
            None => got,
        };
        if got == want {
            return Ok(());
        }
        // What the build printed, for a diff against expected.yaml.
        let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.yaml", c.id));
        let _ = std::fs::create_dir_all(saved.parent().unwrap());
        let _ = std::fs::write(&saved, &got);
        let line = got
            .split(|&b| b == b'\n')
            .zip(want.split(|&b| b == b'\n'))
            .position(|(a, b)| a != b)
            .map_or(0, |l| l + 1);
        Err(format!(
            "output differs from kubectl's (first at line {line}; the output is in {})",
            saved.display()
        ))
    } else {
        match result {
            Err(e) => {
                let text =
                    std::fs::read_to_string(c.dir.join("expected-error.txt")).unwrap_or_default();
                match expected_kinds(&text) {
                    Some(kinds) if !kinds.contains(&e.kind()) => Err(format!(
                        "fails as kubectl does, but for another reason: a {:?} error ({e}) where kubectl says: {}",
                        e.kind(),
                        text.trim()
                    )),
                    _ => Ok(()),
                }
            }
            Ok(_) => Err("the build succeeds but kubectl fails".into()),
        }
    }
}

/// kubectl's stderr warnings (`expected-warnings.txt`, absent when there are none) against
/// the build's: the same lines in the same order, with klog's prefix taken off kubectl's
/// log lines and the names of unused vars compared as a set (kubectl prints them in
/// random order).
fn check_warnings(c: &Case, got: &[String]) -> Result<(), String> {
    let text = std::fs::read_to_string(c.dir.join("expected-warnings.txt")).unwrap_or_default();
    let normal = |line: &str| -> String {
        let line = match line.find(" log.go:245] ") {
            Some(i) if line.starts_with('I') => &line[i + " log.go:245] ".len()..],
            _ => line,
        };
        match line.strip_prefix("well-defined vars that were never replaced: ") {
            Some(names) => {
                let mut names: Vec<&str> = names.split(',').collect();
                names.sort();
                format!(
                    "well-defined vars that were never replaced: {}",
                    names.join(",")
                )
            }
            None => line.to_string(),
        }
    };
    let want: Vec<String> = text.lines().map(normal).collect();
    let got: Vec<String> = got.iter().map(|l| normal(l)).collect();
    if want == got {
        return Ok(());
    }
    Err(format!(
        "warnings differ from kubectl's:\n  kubectl:   {want:?}\n  rustomize: {got:?}"
    ))
}

fn main() {
    let args = Arguments::from_args();
    let known: BTreeSet<String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/known-failures.txt"),
    )
    .unwrap_or_default()
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty() && !l.starts_with('#'))
    .map(String::from)
    .collect();
    let cases = load_cases();
    assert!(
        cases.len() > 500,
        "fixtures missing? found {} cases",
        cases.len()
    );
    let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let stale: Vec<&String> = known.iter().filter(|k| !ids.contains(k.as_str())).collect();
    assert!(
        stale.is_empty(),
        "tests/known-failures.txt lists cases that do not exist: {stale:?}"
    );
    let trials = cases
        .into_iter()
        .map(|c| {
            let listed = known.contains(&c.id);
            Trial::test(c.id.clone(), move || match (run_case(&c), listed) {
                (Ok(()), false) | (Err(_), true) => Ok(()),
                (Err(why), false) => Err(Failed::from(why)),
                (Ok(()), true) => Err(Failed::from(
                    "passes now: remove it from tests/known-failures.txt",
                )),
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
