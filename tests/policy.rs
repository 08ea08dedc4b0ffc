//! ImagePolicy selection against the vectors in `fixtures/conformance/image-policy/`,
//! read with the crate's own YAML reader.

use std::path::Path;

use rustomize::policy::filter::TagFilter;
use rustomize::policy::semver::{Constraints, Version};
use rustomize::policy::{ImagePolicy, Order};
use rustomize::yaml::{read_document, Dialect, Limits};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/conformance/image-policy")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_document(&bytes, Dialect::V3, Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap_or_else(|| panic!("{}: empty", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("expected a string, got {s}"))
                .to_string()
        })
        .collect()
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or_else(|| panic!("missing {key} in {v}"))
}

#[test]
fn image_policy_vectors() {
    let doc = load("vectors.yaml");
    let vectors = field(&doc, "vectors").as_array().expect("vectors list");
    let mut failures = Vec::new();
    for v in vectors {
        let id = field(v, "id").as_str().unwrap_or("?");
        let tags = strings(field(v, "tags"));
        let got = ImagePolicy::from_spec(field(v, "policy"), field(v, "filter"))
            .and_then(|p| p.latest(&tags));
        let ok = match (v.get("expected"), v.get("error")) {
            (Some(Value::String(want)), _) => matches!(&got, Ok(t) if t == want),
            (_, Some(Value::Bool(true))) => got.is_err(),
            _ => panic!("{id}: vector has neither expected nor error"),
        };
        if !ok {
            failures.push(format!("{id}: got {got:?}"));
        }
    }
    eprintln!(
        "image-policy vectors: {}/{} pass",
        vectors.len() - failures.len(),
        vectors.len()
    );
    assert!(!vectors.is_empty());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn filter_vectors() {
    let doc = load("vectors.yaml");
    let vectors = field(&doc, "filter_vectors").as_array().expect("list");
    assert!(!vectors.is_empty());
    for v in vectors {
        let label = field(v, "label");
        let f = TagFilter::new(
            field(v, "pattern").as_str().unwrap(),
            field(v, "extract").as_str().unwrap(),
        )
        .unwrap();
        let tags = strings(field(v, "tags"));
        let mut items: Vec<String> = f.apply(&tags).into_iter().map(|(c, _)| c).collect();
        items.sort();
        assert_eq!(items, strings(field(v, "expected_items")), "{label}");
    }
}

#[test]
fn parse_version_vectors() {
    let doc = load("vectors.yaml");
    let vectors = field(&doc, "parse_version_vectors")
        .as_array()
        .expect("list");
    assert!(!vectors.is_empty());
    for v in vectors {
        let version = field(v, "version").as_str().unwrap();
        let ok = field(v, "ok").as_bool().unwrap();
        assert_eq!(Version::parse_tag(version).is_ok(), ok, "{version:?}");
    }
}

#[test]
fn range_and_order_validation() {
    let doc = load("vectors.yaml");
    for r in strings(field(&doc, "valid_semver_ranges")) {
        assert!(ImagePolicy::semver(&r).is_ok(), "{r:?} should be valid");
    }
    for r in strings(field(&doc, "invalid_semver_ranges")) {
        let e = ImagePolicy::semver(&r).expect_err(&r);
        assert!(e.to_string().starts_with("invalid policy: "), "{e}");
    }
    for o in strings(field(&doc, "valid_orders")) {
        assert!(Order::parse(&o).is_ok(), "{o:?}");
    }
    for o in strings(field(&doc, "invalid_orders")) {
        assert!(Order::parse(&o).is_err(), "{o:?}");
    }
}

#[test]
fn semver_constraint_checks() {
    let doc = load("semver-constraint-checks.yaml");
    let checks = field(&doc, "checks").as_array().expect("checks list");
    let mut failures = Vec::new();
    for c in checks {
        let constraint = field(c, "constraint").as_str().unwrap();
        let version = field(c, "version").as_str().unwrap();
        let want = field(c, "check").as_bool().unwrap();
        let flux_parse_ok = field(c, "flux_parse_ok").as_bool().unwrap();
        let range = Constraints::parse(constraint);
        let v = Version::parse(version);
        match (range, v) {
            (Ok(range), Ok(v)) => {
                if range.check(&v) != want {
                    failures.push(format!("{constraint:?} vs {version:?}: want {want}"));
                }
            }
            (r, v) => failures.push(format!("{constraint:?} vs {version:?}: {r:?} {v:?}")),
        }
        if Version::parse_tag(version).is_ok() != flux_parse_ok {
            failures.push(format!(
                "{version:?}: flux_parse_ok should be {flux_parse_ok}"
            ));
        }
    }
    eprintln!(
        "semver constraint checks: {}/{} pass",
        checks.len() - failures.len(),
        checks.len()
    );
    assert!(!checks.is_empty());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn errors_read_like_the_controller() {
    let p = ImagePolicy::semver("1.0.x").unwrap();
    let none: [&str; 0] = [];
    assert_eq!(
        p.latest(&none).unwrap_err().to_string(),
        "version list argument cannot be empty"
    );
    assert_eq!(
        p.latest(&["2.0.0"]).unwrap_err().to_string(),
        "unable to determine latest version from provided list"
    );
    let n = ImagePolicy::numerical("").unwrap();
    assert_eq!(
        n.latest(&["0", "1a", "b"]).unwrap_err().to_string(),
        "failed to parse invalid numeric value '1a'"
    );
    let e = ImagePolicy::alphabetical("sideways").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid policy: invalid order argument provided: 'SIDEWAYS', must be one of: ASC, DESC"
    );
    let e = ImagePolicy::semver("1.0.x")
        .unwrap()
        .with_filter("[=", "")
        .unwrap_err();
    assert!(e
        .to_string()
        .starts_with("failed to filter tags: invalid regular expression pattern '[=': "));
}

#[test]
fn manifest_errors_name_the_file() {
    let e = ImagePolicy::from_yaml(
        Path::new("p.yaml"),
        b"kind: ImagePolicy\nspec:\n  policy: {}\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "p.yaml: invalid policy: given ImagePolicyChoice object is invalid"
    );
    let e = ImagePolicy::from_yaml(Path::new("p.yaml"), b"kind: [\n").unwrap_err();
    assert!(e.to_string().starts_with("p.yaml: line "), "{e}");
}
