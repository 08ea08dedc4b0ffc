//! Flux mode against the vectors and build cases copied from fluxcd/pkg
//! (`fixtures/conformance/flux-kustomize`): `${VAR}` substitution, the kustomization
//! generator (images merge, components, local paths) and two whole builds.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustomize::flux::{self, envsubst, FluxKustomization, FluxOptions};
use rustomize::fs::{DiskFs, MemFs};
use rustomize::yaml::{self, Dialect, Limits};
use serde_json::{json, Map, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/flux-kustomize")
}

fn read_yaml(path: &Path) -> Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml::read_document(&bytes, Dialect::V3, Limits::default())
        .unwrap()
        .unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[test]
fn envsubst_vectors() {
    let doc = read_yaml(&fixtures().join("envsubst-vectors.yaml"));
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 57, "{} vectors", vectors.len());
    let mut failures = Vec::new();
    for v in vectors {
        let params: Map<String, Value> = v["params"].as_object().cloned().unwrap_or_default();
        let strict = s(&v["mode"]) == "strict";
        let input = s(&v["input"]);
        let got = envsubst::substitute(input, &|k| params.get(k).map(|x| s(x).to_string()), strict);
        let ok = match (&got, v.get("output"), v.get("error")) {
            (Ok(out), Some(want), None) => out == s(want),
            (Err(envsubst::EnvsubstError::NotSet(_)), None, Some(e)) => s(e) == "errVarNotSet",
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} {input:?}: got {got:?}, want {v}",
                s(&v["mode"])
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn generator_vectors() -> Value {
    read_yaml(&fixtures().join("generator-vectors.yaml"))
}

fn spec(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// The kustomization Flux would write for `/app` of `fs`, read back.
fn generated(fs: &MemFs, spec: &Map<String, Value>) -> Value {
    let (_, text) = flux::kustomization_for(fs, Path::new("/app"), spec, 1 << 20).unwrap();
    yaml::read_document(&text, Dialect::V2, Limits::default())
        .unwrap()
        .unwrap()
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/example/app\n";

#[test]
fn images_merge_vectors() {
    let doc = generator_vectors();
    let cases = doc["images_merge"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for c in cases {
        let mut k = json!({"resources": ["deploy.yaml"]});
        if !c["existing"].as_array().unwrap().is_empty() {
            k["images"] = c["existing"].clone();
        }
        let mut mem = MemFs::new();
        mem.add(
            "/app/kustomization.yaml",
            serde_json::to_string(&k).unwrap(),
        )
        .add("/app/deploy.yaml", DEPLOYMENT);
        let spec = spec(json!({"images": c["flux"]}));
        let written = generated(&mem, &spec);
        assert_eq!(written["images"], c["expected_images"], "{}", c["name"]);

        let ks = FluxKustomization {
            name: String::new(),
            file: Default::default(),
            namespace: String::new(),
            spec,
        };
        let out = flux::render(
            Arc::new(mem),
            "/app".as_ref(),
            &ks,
            &[],
            &FluxOptions::new("/"),
        )
        .unwrap();
        let want = format!("image: {}\n", s(&c["expected_image"]));
        assert!(
            String::from_utf8_lossy(&out).contains(&want),
            "{}: {}",
            c["name"],
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn components_are_appended() {
    let doc = generator_vectors();
    for c in doc["components_merge"].as_array().unwrap() {
        let mut mem = MemFs::new();
        mem.add(
            "/app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        );
        if let Some(list) = c["file_components"].as_array() {
            let k = json!({"resources": ["cm.yaml"], "components": list});
            mem.add(
                "/app/kustomization.yaml",
                serde_json::to_string(&k).unwrap(),
            );
        }
        let written = generated(&mem, &spec(json!({"components": c["flux_components"]})));
        assert_eq!(written["components"], c["expected"], "{}", c["name"]);
    }
}

#[test]
fn missing_components_are_dropped_only_when_asked() {
    let doc = generator_vectors();
    for c in doc["ignore_missing_components"].as_array().unwrap() {
        let mut mem = MemFs::new();
        mem.add(
            "/app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        )
        .add("/app/kustomization.yaml", "resources: [cm.yaml]\n")
        .add(
            "/existing-component/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonLabels: {c: x}\n",
        );
        let spec = spec(json!({
            "components": c["components"],
            "ignoreMissingComponents": c["ignoreMissingComponents"],
        }));
        let written = generated(&mem, &spec);
        let want = c["expected_components"].clone();
        assert_eq!(
            written.get("components").cloned().unwrap_or(Value::Null),
            want,
            "{c}"
        );
        let ks = FluxKustomization {
            name: String::new(),
            file: Default::default(),
            namespace: String::new(),
            spec,
        };
        let built = flux::build(
            Arc::new(mem),
            "/app".as_ref(),
            &ks,
            &[],
            &FluxOptions::new("/"),
        );
        assert_eq!(built.is_err(), c["build_error"].as_bool().unwrap(), "{c}");
    }
}

#[test]
fn local_relative_path_vectors() {
    let doc = generator_vectors();
    for c in doc["is_local_relative_path"].as_array().unwrap() {
        assert_eq!(
            flux::is_local_relative_path(s(&c["path"])),
            c["expected"].as_bool().unwrap(),
            "{c}"
        );
    }
}

#[test]
fn a_directory_without_kustomization_lists_its_manifests() {
    let mut mem = MemFs::new();
    mem.add(
        "/app/b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
    )
    .add(
        "/app/a.yml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    )
    .add("/app/notes.txt", "not yaml: [")
    .add("/app/.sops.yaml", "creation_rules: []\n")
    .add("/app/sub/kustomization.yaml", "resources: [c.yaml]\n")
    .add(
        "/app/sub/c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    )
    .add(
        "/app/deep/d.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n",
    );
    let written = generated(&mem, &Map::new());
    assert_eq!(
        written["resources"],
        json!(["./a.yml", "./b.yaml", "./deep/d.yaml", "./sub"])
    );
    // Input order, no legacy sort.
    let out = flux::render(
        Arc::new(mem),
        "/app".as_ref(),
        &FluxKustomization::default(),
        &[],
        &FluxOptions::new("/"),
    )
    .unwrap();
    let names: Vec<&str> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .collect();
    assert_eq!(names, ["a", "b", "d", "c"]);

    let mut bad = MemFs::new();
    bad.add("/app/x.yaml", "a: \"\\.\"\n");
    assert!(flux::kustomization_for(&bad, Path::new("/app"), &Map::new(), 1 << 20).is_err());

    let empty = MemFs::new();
    let mut with_dir = empty;
    with_dir.add_dir("/app");
    assert_eq!(
        generated(&with_dir, &Map::new())["namespace"],
        "_placeholder"
    );
}

#[test]
fn nothing_outside_the_root_is_read() {
    let mut mem = MemFs::new();
    mem.add(
        "/repo/app/kustomization.yaml",
        "resources: [../../secret.yaml]\n",
    )
    .add(
        "/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    );
    let err = flux::build(
        Arc::new(mem),
        "/repo/app".as_ref(),
        &FluxKustomization::default(),
        &[],
        &FluxOptions::new("/repo"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("is not in or below '/repo'"), "{err}");
}

/// The two whole builds from fluxcd/pkg's tests; their goldens are Flux's output.
#[test]
fn flux_build_cases() {
    for case in ["build-targetns-patch", "build-postbuild-varsub"] {
        let dir = fixtures().join(case);
        let ks_file = dir.join("flux-kustomization.yaml");
        let ks = FluxKustomization::parse(&fs::read(&ks_file).unwrap(), &ks_file).unwrap();
        let mut objects = Vec::new();
        if let Ok(entries) = fs::read_dir(dir.join("substitute-from")) {
            for e in entries {
                let bytes = fs::read(e.unwrap().path()).unwrap();
                objects.extend(
                    yaml::read_stream(&bytes, Limits::default())
                        .unwrap()
                        .into_iter()
                        .map(|d| d.value),
                );
            }
        }
        // fluxcd/pkg runs these lenient (its feature gate is the controller's).
        let mut opts = FluxOptions::new(&dir);
        opts.strict = false;
        let out = flux::render(Arc::new(DiskFs), &dir.join("in"), &ks, &objects, &opts)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let want = fs::read_to_string(dir.join("expected.yaml")).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), want, "{case}");
    }
}

#[test]
fn strict_substitution_names_the_missing_variable() {
    let mut mem = MemFs::new();
    mem.add("/app/kustomization.yaml", "resources: [cm.yaml]\n").add(
        "/app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: ${set}\n  b: ${missing}\n",
    );
    let ks = FluxKustomization {
        name: String::new(),
        file: Default::default(),
        namespace: "flux-system".into(),
        spec: spec(json!({"postBuild": {"substitute": {"set": "1"}}})),
    };
    let mem = Arc::new(mem);
    let err = flux::build(
        mem.clone(),
        "/app".as_ref(),
        &ks,
        &[],
        &FluxOptions::new("/"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("ConfigMap/c") && err.contains("variable not set (strict mode): \"missing\""),
        "{err}"
    );
    let mut lenient = FluxOptions::new("/");
    lenient.strict = false;
    let out = flux::render(mem, "/app".as_ref(), &ks, &[], &lenient).unwrap();
    // A substituted `1` reads back as a number, an empty value as null.
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "apiVersion: v1\ndata:\n  a: 1\n  b: null\nkind: ConfigMap\nmetadata:\n  name: c\n"
    );
}

#[test]
fn substitute_from_secrets_and_optional_references() {
    let mut mem = MemFs::new();
    mem.add("/app/kustomization.yaml", "resources: [cm.yaml]\n").add(
        "/app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"${region}-${zone}\"\n",
    );
    let objects = [
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "vars", "namespace": "flux-system"}, "data": {"region": "eu", "zone": "x"}}),
        // "\naz-1a\n": newlines are removed from values.
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": "flux-system"}, "data": {"zone": "CmF6LTFhCg=="}}),
    ];
    let ks = |refs: Value| FluxKustomization {
        name: String::new(),
        file: Default::default(),
        namespace: "flux-system".into(),
        spec: spec(json!({"postBuild": {"substituteFrom": refs}})),
    };
    let mem = Arc::new(mem);
    let refs = json!([{"kind": "ConfigMap", "name": "vars"}, {"kind": "Secret", "name": "sec"}, {"kind": "ConfigMap", "name": "gone", "optional": true}]);
    let out = flux::render(
        mem.clone(),
        "/app".as_ref(),
        &ks(refs),
        &objects,
        &FluxOptions::new("/"),
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&out).contains("  a: eu-az-1a\n"));
    let refs = json!([{"kind": "ConfigMap", "name": "gone"}]);
    let err = flux::build(
        mem,
        "/app".as_ref(),
        &ks(refs),
        &objects,
        &FluxOptions::new("/"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("substitute from 'ConfigMap/gone'"), "{err}");
}

proptest::proptest! {
    /// Any text: substitution ends without a panic; text without `$` comes back unchanged.
    #[test]
    fn envsubst_is_total(text in "[$\\{\\}:#%/^,=?+\\\\*\\[\\]a-c0-9-]{0,40}") {
        let vars = |k: &str| (k == "a").then(|| "xyz".to_string());
        let out = envsubst::substitute(&text, &vars, true);
        if !text.contains('$') {
            proptest::prop_assert_eq!(out.unwrap(), text);
        }
    }
}
