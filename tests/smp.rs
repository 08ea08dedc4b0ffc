//! Strategic-merge-patch conformance: every case under `fixtures/conformance/smp/` is a
//! one-resource kustomization whose golden was printed by `kubectl kustomize` (see
//! `regen.py` there). This test reads the resource and the patch, merges them with
//! `rustomize::internals::smp` the way the kustomization asks (`patches:` with or without a
//! `target:`, `patchesStrategicMerge:`, an `openapi:` schema), prints the result, and
//! compares bytes. A single resource makes kustomize's output order irrelevant.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rustomize::internals::smp::{self, ApplyOptions, Outcome};
use rustomize::internals::Schema;
use rustomize::yaml::{self, Dialect, Limits};
use serde_json::{json, Map, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/smp")
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn documents(path: &Path) -> Vec<Value> {
    yaml::read_stream(&read(path), Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .map(|d| d.value)
        .collect()
}

/// How one patch is applied, from the kustomization.
enum Mode {
    /// `patches:` without `target:`: the resource the patch names.
    ById(ApplyOptions),
    /// `patches:` with `target:`, or `patchesStrategicMerge:`.
    Selected(ApplyOptions),
}

fn options(entry: &Value) -> ApplyOptions {
    let flag = |name: &str| {
        entry
            .get("options")
            .and_then(|o| o.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    ApplyOptions {
        allow_name_change: flag("allowNameChange"),
        allow_kind_change: flag("allowKindChange"),
    }
}

/// Runs one case; `Ok(bytes)` is what rustomize prints, `Err` a merge error.
fn run_case(dir: &Path) -> Result<Vec<u8>, String> {
    let in_dir = dir.join("in");
    let kustomization = yaml::read_document(
        &read(&in_dir.join("kustomization.yaml")),
        Dialect::V2,
        Limits::default(),
    )
    .map_err(|e| format!("kustomization.yaml: {e}"))?
    .unwrap_or(Value::Null);
    let resource_file = kustomization
        .get("resources")
        .and_then(|r| r.get(0))
        .and_then(Value::as_str)
        .ok_or("kustomization lists no resource")?;
    let mut resources = documents(&in_dir.join(resource_file));
    assert_eq!(
        resources.len(),
        1,
        "{}: one resource per case",
        dir.display()
    );

    let custom;
    let schema = match kustomization
        .get("openapi")
        .and_then(|o| o.get("path"))
        .and_then(Value::as_str)
    {
        Some(path) => {
            let doc =
                yaml::read_document(&read(&in_dir.join(path)), Dialect::V3, Limits::default())
                    .map_err(|e| format!("{path}: {e}"))?
                    .unwrap_or(Value::Null);
            custom = Schema::from_openapi(&doc).map_err(|e| e.to_string())?;
            &custom
        }
        None => Schema::builtin(),
    };

    let mut patches: Vec<(PathBuf, Mode)> = Vec::new();
    if let Some(Value::Array(entries)) = kustomization.get("patches") {
        for entry in entries {
            let path = entry
                .get("path")
                .and_then(Value::as_str)
                .ok_or("patch without path")?;
            let mode = if entry.get("target").is_some() {
                Mode::Selected(options(entry))
            } else {
                Mode::ById(options(entry))
            };
            patches.push((in_dir.join(path), mode));
        }
    }
    if let Some(Value::Array(entries)) = kustomization.get("patchesStrategicMerge") {
        for entry in entries {
            let path = entry
                .as_str()
                .ok_or("patchesStrategicMerge entry is not a path")?;
            patches.push((in_dir.join(path), Mode::Selected(ApplyOptions::default())));
        }
    }

    let mut deleted = false;
    for (path, mode) in &patches {
        for patch in documents(path) {
            let Some(resource) = resources.first_mut() else {
                break;
            };
            let outcome = match mode {
                Mode::ById(o) => smp::apply_to_resource(resource, &patch, schema, *o),
                Mode::Selected(o) => smp::apply_to_selected(resource, &patch, schema, *o),
            }
            .map_err(|e| e.to_string())?;
            if outcome == Outcome::Deleted {
                deleted = true;
                resources.clear();
            }
        }
    }
    if deleted {
        return Ok(Vec::new());
    }
    yaml::emit_stream(resources.iter()).map_err(|e| e.to_string())
}

#[test]
fn smp_conformance_cases_match_kubectl() {
    let mut names: Vec<String> = fs::read_dir(cases_dir())
        .expect("fixtures/conformance/smp")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("case.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 30, "only {} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let dir = cases_dir().join(name);
        let expected = dir.join("expected.yaml");
        match (run_case(&dir), expected.is_file()) {
            (Ok(out), true) => {
                let want = read(&expected);
                if out != want {
                    failures.push(format!(
                        "{name}: output differs\n--- want\n{}\n--- got\n{}",
                        String::from_utf8_lossy(&want),
                        String::from_utf8_lossy(&out)
                    ));
                }
            }
            (Ok(out), false) => failures.push(format!(
                "{name}: kubectl fails, rustomize printed\n{}",
                String::from_utf8_lossy(&out)
            )),
            (Err(e), true) => failures.push(format!("{name}: unexpected error: {e}")),
            (Err(_), false) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

/// Random scalars; `null` only where `nulls` says so.
fn scalar(nulls: bool) -> BoxedStrategy<Value> {
    let s = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(|i| json!(i)),
        "[a-z0-9]{0,6}".prop_map(Value::String),
    ];
    if nulls {
        prop_oneof![1 => Just(Value::Null), 4 => s].boxed()
    } else {
        s.boxed()
    }
}

/// Random nested maps and lists. Keys avoid `apiVersion`/`kind`/`$patch`, so nothing in
/// here is typed or a directive.
fn tree(nulls: bool) -> BoxedStrategy<Value> {
    scalar(nulls)
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

/// Elements with unique, present keys (a well-formed merged list).
fn keyed_list(key: &'static str, nulls: bool) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::btree_map("[a-f]{1,3}", tree(nulls), 0..4).prop_map(move |m| {
        m.into_iter()
            .map(|(name, extra)| json!({ key: name, "x": extra }))
            .collect()
    })
}

fn ports(port_key: &'static str) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::btree_set((80i64..84, prop_oneof![Just("TCP"), Just("UDP")]), 0..4).prop_map(
        move |set| {
            set.into_iter()
                .map(
                    |(p, proto)| json!({ port_key: p, "protocol": proto, "name": format!("p{p}") }),
                )
                .collect()
        },
    )
}

fn containers(nulls: bool) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::btree_map(
        "[a-f]{1,3}",
        (
            keyed_list("name", nulls),
            ports("containerPort"),
            tree(nulls),
        ),
        0..4,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(name, (env, ports, extra))| {
                json!({"name": name, "env": env, "ports": ports, "x": extra})
            })
            .collect()
    })
}

/// A random well-formed resource of a few kinds: merged lists have present, unique keys
/// and no null elements; other values are arbitrary.
fn resource(nulls: bool) -> BoxedStrategy<Value> {
    let finalizers = prop::collection::btree_set("[a-c]{1,2}", 0..3)
        .prop_map(|s| s.into_iter().map(Value::String).collect::<Vec<_>>());
    prop_oneof![
        (containers(nulls), finalizers, tree(nulls)).prop_map(|(c, f, extra)| json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "finalizers": f},
            "spec": {"template": {"spec": {"containers": c}}, "x": extra}
        })),
        (ports("port"), tree(nulls)).prop_map(|(p, extra)| json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc"},
            "spec": {"ports": p, "x": extra}
        })),
        (tree(nulls), containers(nulls)).prop_map(|(spec, c)| json!({
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": spec,
            "embedded": {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": c}}
        })),
    ]
    .boxed()
}

/// Anything goes in merged lists: missing and repeated keys, empty elements.
fn wild_resource() -> impl Strategy<Value = Value> {
    let element = (prop::option::of("[a-c]{1}"), tree(true)).prop_map(|(name, extra)| {
        let mut m = Map::new();
        if let Some(n) = name {
            m.insert("name".to_string(), Value::String(n));
        }
        if !extra.is_null() {
            m.insert("x".to_string(), extra);
        }
        Value::Object(m)
    });
    let port = (
        prop::option::of(80i64..83),
        prop::option::of(prop_oneof![Just("TCP"), Just("UDP")]),
    )
        .prop_map(|(p, proto)| {
            let mut m = Map::new();
            if let Some(p) = p {
                m.insert("containerPort".into(), json!(p));
            }
            if let Some(proto) = proto {
                m.insert("protocol".into(), json!(proto));
            }
            Value::Object(m)
        });
    (
        prop::collection::vec(
            (
                element.clone(),
                prop::collection::vec(element, 0..4),
                prop::collection::vec(port, 0..4),
            ),
            0..4,
        ),
        prop::collection::vec(scalar(true), 0..3),
    )
        .prop_map(|(containers, finalizers)| {
            let containers: Vec<Value> = containers
                .into_iter()
                .map(|(mut c, env, ports)| {
                    if let Value::Object(m) = &mut c {
                        m.insert("env".into(), Value::Array(env));
                        m.insert("ports".into(), Value::Array(ports));
                    }
                    c
                })
                .collect();
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "finalizers": finalizers},
                "spec": {"template": {"spec": {"containers": containers}}}
            })
        })
}

/// The patch that only names the resource.
fn empty_patch(resource: &Value) -> Value {
    json!({
        "apiVersion": resource["apiVersion"],
        "kind": resource["kind"],
        "metadata": {"name": resource["metadata"]["name"]}
    })
}

proptest! {
    /// A patch that only names the resource changes nothing in a well-formed resource.
    #[test]
    fn empty_patch_is_identity(resource in resource(true)) {
        let mut merged = resource.clone();
        let outcome = smp::merge(&mut merged, &empty_patch(&resource), Schema::builtin());
        prop_assert_eq!(outcome, Ok(Outcome::Kept));
        prop_assert_eq!(merged, resource);
    }

    /// The same through the resource layer (`patches:` without and with a target).
    #[test]
    fn empty_patch_is_identity_through_apply(resource in resource(true)) {
        for selected in [false, true] {
            let mut merged = resource.clone();
            let patch = empty_patch(&resource);
            let outcome = if selected {
                smp::apply_to_selected(&mut merged, &patch, Schema::builtin(), ApplyOptions::default())
            } else {
                smp::apply_to_resource(&mut merged, &patch, Schema::builtin(), ApplyOptions::default())
            };
            prop_assert_eq!(outcome, Ok(Outcome::Kept));
            prop_assert_eq!(&merged, &resource);
        }
    }

    /// Merging a null-free well-formed resource into itself changes nothing.
    #[test]
    fn self_merge_is_identity(resource in resource(false)) {
        let mut merged = resource.clone();
        let outcome = smp::merge(&mut merged, &resource, Schema::builtin());
        prop_assert_eq!(outcome, Ok(Outcome::Kept));
        prop_assert_eq!(merged, resource);
    }

    /// Merging never panics and an empty patch never deletes, whatever the lists hold.
    #[test]
    fn wild_merges_do_not_panic(target in wild_resource(), patch in wild_resource()) {
        let mut merged = target.clone();
        let _ = smp::merge(&mut merged, &patch, Schema::builtin());
        let mut merged = target.clone();
        let outcome = smp::merge(&mut merged, &empty_patch(&target), Schema::builtin());
        prop_assert_eq!(outcome, Ok(Outcome::Kept));
    }
}
