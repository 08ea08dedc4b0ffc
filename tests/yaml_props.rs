//! Properties of the YAML layer: emitting a value and reading it back gives the same value,
//! and emitting that again gives the same bytes.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use rustomize::yaml;

/// Characters kustomize itself refuses to print (DEL, C1 controls, U+FFFE/U+FFFF) or
/// rewrites (NEL folds to a space) are left out, and so is U+2028: go-yaml prints it raw
/// inside single quotes followed by an indentation break, which only a YAML 1.1 reader
/// (libyaml's) folds back. Everything else, including tabs, CR, astral characters, BOMs and
/// YAML indicators, is fair game.
fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        8 => proptest::char::range(' ', '~'),
        1 => Just('\n'),
        1 => Just('\t'),
        1 => prop::sample::select(vec!['\r', '\u{1b}', '\u{0}', 'é', '中', '\u{a0}', '😀', '\u{feff}', '#', ':', '-', '\'', '"']),
    ];
    prop::collection::vec(ch, 0..40).prop_map(|v| v.into_iter().collect())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        (1u64..u64::MAX).prop_map(|u| Value::Number(u.into())),
        // Non-integral finite floats (integral ones print as integers, as in kustomize).
        any::<f64>()
            .prop_filter("finite, non-integral", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        text().prop_map(Value::String),
        prop::sample::select(vec![
            "yes",
            "on",
            "012",
            "0x1F",
            "1:20",
            "2001-12-14",
            "~",
            "null",
            "1e3",
            "- a",
            "a: b",
            "#x",
            "---",
            "<<"
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

/// Map keys: any text but `<<`, which go-yaml v2 (and so kustomize) prints plain, where
/// every YAML reader takes it for a merge key.
fn key() -> impl Strategy<Value = String> {
    text().prop_filter("not the merge key", |k| k != "<<")
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn document() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), value(), 1..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn emit_then_read_gives_the_value_back(doc in document()) {
        let text = yaml::to_string(&doc).unwrap();
        let docs = yaml::read_stream(text.as_bytes(), Default::default()).unwrap();
        prop_assert_eq!(docs.len(), 1, "{}", text);
        prop_assert_eq!(&docs[0].value, &doc, "{}", text);
        let again = yaml::to_string(&docs[0].value).unwrap();
        prop_assert_eq!(again, text);
    }
}
