//! JSON 6902 patches as kustomize applies them, through its json-patch library (evanphx
//! v4), which is more lenient than RFC 6902 in ways patches in the wild rely on:
//!
//! - an operation is any JSON object: a missing `value` is null, an unknown `op` fails only
//!   when it runs;
//! - a path is split on `/` and its first segment ignored, so `data/x` means `/x`; `~0` and
//!   `~1` are unescaped and any other `~` is literal; `""` names the whole document only for
//!   `replace` and `test`;
//! - array indexes are read as Go's `Atoi` reads them (`01`, `+1`), negative ones count
//!   from the end (for `add`, from one past the end), `-` appends;
//! - `replace` of a missing object key sets it, `copy` of a missing key copies null, and
//!   `test` of a missing key passes against null.
//!
//! Patches are parsed once ([`JsonPatch::parse`]) and applied to a resource as
//! `serde_json::Value` ([`JsonPatch::apply`]).

use crate::budget::Budget;
use serde_json::{Map, Value};

/// A parsed JSON 6902 patch: its operations as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonPatch(Vec<Map<String, Value>>);

impl JsonPatch {
    /// Parses a patch body: JSON text when it starts with `[`, else YAML (read the way
    /// kustomize's `YAMLToJSON` reads it). It must be a list of objects.
    pub fn parse(text: &str) -> Result<JsonPatch, String> {
        if text.is_empty() {
            return Err("empty json patch operations".into());
        }
        let value: Value = if text.starts_with('[') {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else {
            crate::yaml::read_document(
                text.as_bytes(),
                crate::yaml::Dialect::V2,
                Default::default(),
            )
            .map_err(|e| e.to_string())?
            .unwrap_or(Value::Array(Vec::new()))
        };
        let Value::Array(items) = value else {
            return Err("invalid JSON patch: expected a list of operations".into());
        };
        items
            .into_iter()
            .map(|op| match op {
                Value::Object(m) => Ok(m),
                Value::Null => Ok(Map::new()),
                other => Err(format!("invalid JSON patch operation: {other}")),
            })
            .collect::<Result<_, _>>()
            .map(JsonPatch)
    }

    /// The operations, as written.
    pub fn operations(&self) -> &[Map<String, Value>] {
        &self.0
    }

    /// Applies every operation in order; the first failure stops the patch.
    pub fn apply(&self, doc: &mut Value) -> Result<(), String> {
        self.apply_within(doc, &Budget::default())
    }

    /// [`JsonPatch::apply`], charging what `add`, `replace`, `move` and `copy` insert to
    /// `budget`: a patch that copies an array into itself forty times stops at the limit.
    pub fn apply_within(&self, doc: &mut Value, budget: &Budget) -> Result<(), String> {
        for op in &self.0 {
            apply_op(doc, op, budget)?;
        }
        Ok(())
    }
}

fn charge(budget: &Budget, v: &Value) -> Result<(), String> {
    let (nodes, bytes) = crate::budget::measure(v);
    budget.charge_value(nodes, bytes).map_err(|e| e.to_string())
}

fn apply_op(doc: &mut Value, op: &Map<String, Value>, budget: &Budget) -> Result<(), String> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or("unknown");
    let path = |field: &str| -> Result<&str, String> {
        op.get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{kind} operation failed to decode {field}"))
    };
    // A missing value and an explicit null are both null (a nil node in Go).
    let value = || -> Result<Value, String> {
        let v = op.get("value").cloned().unwrap_or(Value::Null);
        charge(budget, &v)?;
        Ok(v)
    };
    match kind {
        "add" => {
            let p = path("path")?;
            let (parent, key) = locate(doc, p).ok_or_else(|| {
                format!("add operation does not apply: doc is missing path: {p:?}")
            })?;
            add(parent, &key, value()?).map_err(|e| format!("error in add for path: '{p}': {e}"))
        }
        "remove" => {
            let p = path("path")?;
            let (parent, key) = locate(doc, p).ok_or_else(|| {
                format!("remove operation does not apply: doc is missing path: {p:?}")
            })?;
            remove(parent, &key)
                .map(drop)
                .map_err(|e| format!("error in remove for path: '{p}': {e}"))
        }
        "replace" => {
            let p = path("path")?;
            if p.is_empty() {
                let v = value()?;
                if !(v.is_object() || v.is_array()) {
                    return Err("replace operation value must be object or array".into());
                }
                *doc = v;
                return Ok(());
            }
            let (parent, key) = locate(doc, p).ok_or_else(|| {
                format!("replace operation does not apply: doc is missing path: {p}")
            })?;
            if let Value::Array(_) = parent {
                get(parent, &key).map_err(|_| {
                    format!("replace operation does not apply: doc is missing key: {p}")
                })?;
            }
            set(parent, &key, value()?)
        }
        "move" => {
            let from = path("from")?;
            let (parent, key) = locate(doc, from).ok_or_else(|| {
                format!("move operation does not apply: doc is missing from path: {from}")
            })?;
            get(parent, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let moved = remove(parent, &key)
                .map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let p = path("path")?;
            let (parent, key) = locate(doc, p).ok_or_else(|| {
                format!("move operation does not apply: doc is missing destination path: {p}")
            })?;
            add(parent, &key, moved).map_err(|e| format!("error in move for path: '{p}': {e}"))
        }
        "copy" => {
            let from = path("from")?;
            let (parent, key) = locate(doc, from).ok_or_else(|| {
                format!("copy operation does not apply: doc is missing from path: {from}")
            })?;
            let copied = get(parent, &key)
                .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
                .cloned()
                .unwrap_or(Value::Null);
            charge(budget, &copied)?;
            let p = path("path")?;
            let (parent, key) = locate(doc, p).ok_or_else(|| {
                format!("copy operation does not apply: doc is missing destination path: {p}")
            })?;
            add(parent, &key, copied)
                .map_err(|e| format!("error while adding value during copy: {e}"))
        }
        "test" => {
            let p = path("path")?;
            let failed = || format!("testing value {p} failed");
            let Some(expected) = op.get("value") else {
                return Err(failed());
            };
            let actual = if p.is_empty() {
                Some(&*doc)
            } else {
                let (parent, key) = locate(doc, p).ok_or_else(|| {
                    format!("test operation does not apply: is missing path: {p}")
                })?;
                get(parent, &key).map_err(|e| format!("error in test for path: '{p}': {e}"))?
            };
            // A missing key and a null value are both Go's nil node.
            let actual = actual.filter(|v| !v.is_null());
            match actual {
                None if expected.is_null() => Ok(()),
                Some(v) if v == expected => Ok(()),
                _ => Err(failed()),
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

/// One path token: `~1` is `/`, `~0` is `~`, any other `~` stays.
fn unescape(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('~', Some('1')) => {
                out.push('/');
                chars.next();
            }
            ('~', Some('0')) => {
                out.push('~');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// The container a path's last token is in, and that token. The first segment of the path
/// is ignored; every token in between must lead to an object or a list.
fn locate<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let tokens: Vec<&str> = path.split('/').collect();
    if tokens.len() < 2 {
        return None;
    }
    let mut node = doc;
    for t in &tokens[1..tokens.len() - 1] {
        let t = unescape(t);
        let next = match node {
            Value::Object(m) => m.get_mut(&t)?,
            Value::Array(a) => {
                let i = index(&t, a.len(), false).ok()?;
                &mut a[i]
            }
            _ => return None,
        };
        if !(next.is_object() || next.is_array()) {
            return None;
        }
        node = next;
    }
    match node {
        Value::Object(_) | Value::Array(_) => Some((node, unescape(tokens[tokens.len() - 1]))),
        _ => None,
    }
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

/// A list index: negative ones count from the end (`len + 1` for an insertion).
fn index(token: &str, len: usize, insert: bool) -> Result<usize, String> {
    let i = atoi(token)?;
    let size = len as i64 + i64::from(insert);
    let invalid = || format!("Unable to access invalid index: {i}");
    if i >= size || i < -size {
        return Err(invalid());
    }
    Ok(if i < 0 {
        (i + size) as usize
    } else {
        i as usize
    })
}

fn get<'a>(parent: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match parent {
        Value::Object(m) => Ok(m.get(key)),
        Value::Array(a) => Ok(Some(&a[index(key, a.len(), false)?])),
        _ => Err("not a container".into()),
    }
}

fn add(parent: &mut Value, key: &str, v: Value) -> Result<(), String> {
    match parent {
        Value::Object(m) => {
            m.insert(key.to_string(), v);
            Ok(())
        }
        Value::Array(a) if key == "-" => {
            a.push(v);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(key, a.len(), true)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            a.insert(i, v);
            Ok(())
        }
        _ => Err("not a container".into()),
    }
}

fn set(parent: &mut Value, key: &str, v: Value) -> Result<(), String> {
    match parent {
        Value::Object(m) => {
            m.insert(key.to_string(), v);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(key, a.len(), false)?;
            a[i] = v;
            Ok(())
        }
        _ => Err("not a container".into()),
    }
}

fn remove(parent: &mut Value, key: &str) -> Result<Value, String> {
    match parent {
        Value::Object(m) => m
            .remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}")),
        Value::Array(a) => {
            let i = index(key, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err("not a container".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, ops: Value) -> Result<Value, String> {
        let mut doc = doc;
        JsonPatch::parse(&ops.to_string())?.apply(&mut doc)?;
        Ok(doc)
    }

    #[test]
    fn replace_of_a_missing_key_adds_it_but_not_its_parents() {
        let doc = json!({"subjects": [{"kind": "ServiceAccount"}]});
        let out = run(
            doc.clone(),
            json!([{"op": "replace", "path": "/subjects/0/namespace", "value": "kf"}]),
        )
        .unwrap();
        assert_eq!(out["subjects"][0]["namespace"], "kf");
        assert!(run(
            doc,
            json!([{"op": "replace", "path": "/missing/x", "value": 1}])
        )
        .is_err());
    }

    #[test]
    fn lenient_forms_kustomize_accepts() {
        let doc = json!({"a": {"b": 1}, "l": ["x", "y", "z"]});
        // A missing value is null; a path without a leading slash loses its first segment.
        let out = run(doc.clone(), json!([{"op": "add", "path": "/a/c"}])).unwrap();
        assert_eq!(out["a"]["c"], Value::Null);
        let out = run(
            doc.clone(),
            json!([{"op": "add", "path": "a/c", "value": 2}]),
        )
        .unwrap();
        assert_eq!(out["c"], 2);
        // Negative, signed and zero-padded indexes.
        let out = run(
            doc.clone(),
            json!([{"op": "add", "path": "/l/-1", "value": "w"}]),
        )
        .unwrap();
        assert_eq!(out["l"], json!(["x", "y", "z", "w"]));
        let out = run(
            doc.clone(),
            json!([{"op": "add", "path": "/l/-3", "value": "w"}]),
        )
        .unwrap();
        assert_eq!(out["l"], json!(["x", "w", "y", "z"]));
        let out = run(doc.clone(), json!([{"op": "remove", "path": "/l/-1"}])).unwrap();
        assert_eq!(out["l"], json!(["x", "y"]));
        let out = run(
            doc.clone(),
            json!([{"op": "replace", "path": "/l/+01", "value": 0}]),
        )
        .unwrap();
        assert_eq!(out["l"], json!(["x", 0, "z"]));
        // Copy and test of a missing key.
        let out = run(
            doc.clone(),
            json!([{"op": "copy", "from": "/a/zz", "path": "/a/c"}]),
        )
        .unwrap();
        assert_eq!(out["a"]["c"], Value::Null);
        assert!(run(
            doc.clone(),
            json!([{"op": "test", "path": "/a/zz", "value": null}])
        )
        .is_ok());
        assert!(run(
            doc.clone(),
            json!([{"op": "test", "path": "/a/zz", "value": 1}])
        )
        .is_err());
        // `~2` is a literal key.
        let out = run(
            doc.clone(),
            json!([{"op": "add", "path": "/a/x~2~1y", "value": 1}]),
        )
        .unwrap();
        assert_eq!(out["a"]["x~2/y"], 1);
    }

    #[test]
    fn strict_where_kustomize_is() {
        let doc = json!({"a": {"b": 1}, "l": ["x"]});
        for ops in [
            json!([{"op": "add", "path": "", "value": {}}]),
            json!([{"op": "add", "path": "nothing", "value": 1}]),
            json!([{"op": "remove", "path": "/a/zz"}]),
            json!([{"op": "move", "from": "/a/zz", "path": "/b"}]),
            json!([{"op": "add", "path": "/l/2", "value": 1}]),
            json!([{"op": "add", "path": "/l/-3", "value": 1}]),
            json!([{"op": "replace", "path": "/l/1", "value": 1}]),
            json!([{"op": "add", "path": "/a/b/c", "value": 1}]),
            json!([{"op": "frobnicate", "path": "/a"}]),
            json!([{"path": "/a"}]),
            json!([{"op": "test", "path": "/a/b"}]),
            json!([{"op": "replace", "path": "", "value": 1}]),
        ] {
            assert!(run(doc.clone(), ops.clone()).is_err(), "{ops}");
        }
        assert!(JsonPatch::parse("{\"op\": \"add\"}").is_err());
        assert!(JsonPatch::parse("[1]").is_err());
    }

    #[test]
    fn move_copy_and_whole_document_test() {
        let doc = json!({"a": {"b": [1, 2]}, "c": 3});
        let out = run(
            doc.clone(),
            json!([
                {"op": "move", "from": "/a/b/0", "path": "/a/b/-"},
                {"op": "copy", "from": "/c", "path": "/a/d"},
                {"op": "test", "path": "/a", "value": {"b": [2, 1], "d": 3}},
            ]),
        )
        .unwrap();
        assert_eq!(out, json!({"a": {"b": [2, 1], "d": 3}, "c": 3}));
        assert!(run(
            doc.clone(),
            json!([{"op": "test", "path": "", "value": doc}])
        )
        .is_ok());
    }
}
