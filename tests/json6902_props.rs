//! JSON 6902 laws on the document model, through the same parser the `patches:` field
//! uses: a `test` of a value just `add`ed passes, and `add` then `remove` of a new key
//! gives the document back; any operations on any document apply or fail without a panic.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use rustomize::internals::json6902::JsonPatch;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        "[a-z~/ ]{0,8}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z~/]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A JSON pointer token, escaped (`~` → `~0`, `/` → `~1`).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn resource(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "spec": spec})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn test_of_an_added_value_passes(spec in value(), key in "[a-z~/]{1,6}", v in value()) {
        let mut doc = resource(json!({ "holder": spec }));
        let path = format!("/spec/{}", escape(&key));
        let ops = json!([
            {"op": "add", "path": path, "value": v},
            {"op": "test", "path": path, "value": v},
        ]);
        let patch = JsonPatch::parse(&ops.to_string()).unwrap();
        prop_assert!(patch.apply(&mut doc).is_ok());
        prop_assert_eq!(doc.pointer(&path), Some(&v));
    }

    #[test]
    fn add_then_remove_is_the_identity(spec in value(), v in value()) {
        let original = resource(json!({ "holder": spec }));
        let mut doc = original.clone();
        // YAML form of the same operations, as a patch file would hold them.
        let text = format!(
            "- op: add\n  path: /spec/fresh\n  value: {}\n- op: remove\n  path: /spec/fresh\n",
            serde_json::to_string(&v).unwrap()
        );
        let patch = JsonPatch::parse(&text).unwrap();
        prop_assert!(patch.apply(&mut doc).is_ok());
        prop_assert_eq!(doc, original);
    }
}

fn op() -> impl Strategy<Value = Value> {
    let path = prop_oneof![
        Just(String::new()),
        "(/[a-z0-9~+-]{0,3}){1,4}",
        "[a-z]{1,3}(/[a-z0-9-]{0,2}){0,2}",
    ];
    (
        prop_oneof![
            Just("add"),
            Just("remove"),
            Just("replace"),
            Just("move"),
            Just("copy"),
            Just("test"),
            Just("other")
        ],
        path.clone(),
        prop::option::of(path),
        prop::option::of(value()),
    )
        .prop_map(|(op, path, from, v)| {
            let mut m = Map::new();
            m.insert("op".into(), json!(op));
            m.insert("path".into(), json!(path));
            if let Some(f) = from {
                m.insert("from".into(), json!(f));
            }
            if let Some(v) = v {
                m.insert("value".into(), v);
            }
            Value::Object(m)
        })
}

proptest! {
    /// Any operations on any document end in a result or an error, never a panic.
    #[test]
    fn any_patch_applies_or_fails(doc in value(), ops in prop::collection::vec(op(), 0..6)) {
        let mut doc = resource(doc);
        if let Ok(patch) = JsonPatch::parse(&Value::Array(ops).to_string()) {
            let _ = patch.apply(&mut doc);
        }
    }
}
