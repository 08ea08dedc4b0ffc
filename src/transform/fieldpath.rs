//! kyaml's dotted field paths (`spec.template.spec.containers.[name=app].image`), as
//! replacements and vars read and write them.
//!
//! Three pieces of kyaml, each with its own rules, reproduced here:
//!
//! - [`split`] is `SmarterPathSplitter(path, ".")`: `\.` escapes a dot; a bracketed part
//!   that spans dots stays one part, keeping its brackets when it holds `=` (a list-element
//!   selector, `[name=a.b]`) and losing them otherwise (a map key, `[a.b/c]`). A bracketed
//!   part without dots keeps its brackets even when it has no `=` (`[foo]` is then an
//!   invalid list selector, as in kustomize).
//! - [`lookup`] is `PathGetter` without create (a replacement's source, a var's field):
//!   empty parts are dropped, a number is a list index (out of range is "missing"), `-` is
//!   the last element, `[k=v]` picks the first element whose field `k` has exactly the text
//!   `v`, and `*` is an error.
//! - [`find_targets`] is `PathMatcher` (a replacement's targets): `[k=v]` is an unanchored
//!   regular expression matched against every element, `*` visits every element, a number
//!   beyond the end is an error, and with `create` missing fields, list elements
//!   (`[k=v]`, or the index one past the end) and leaves are added. A `null` node met on
//!   the way swallows whatever is created under it: kyaml appends to the null node's
//!   content, which is never printed, so the target is "found" (no error) but the output
//!   keeps the `null` ([`Found::path`] is `None`).
//!
//! The document model keeps values, not YAML text, so the text kyaml sees for a scalar is
//! rebuilt by [`raw_text`]: numbers as kustomize prints them (`1.10` reads as `1.1`, where
//! kyaml would keep the source spelling), `null` for nulls.

use regex::Regex;
use serde_json::Value;

/// kyaml's `SmarterPathSplitter(path, ".")`.
pub fn split(path: &str) -> Vec<String> {
    // PathSplitter: a leading delimiter is allowed; `\.` is a literal dot.
    let mut parts: Vec<&str> = path.split('.').collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut plain: Vec<String> = Vec::with_capacity(parts.len());
    for p in parts {
        match plain.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(p);
            }
            _ => plain.push(p.to_string()),
        }
    }
    let mut out = Vec::with_capacity(plain.len());
    let mut i = 0;
    while i < plain.len() {
        let elem = &plain[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut bracketed = vec![elem.as_str()];
            while i + 1 < plain.len() {
                i += 1;
                bracketed.push(&plain[i]);
                if plain[i].ends_with(']') {
                    break;
                }
            }
            let joined = bracketed.join(".");
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(|c| c == '[' || c == ']').to_string());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
    out
}

/// The text kyaml's `yaml.GetValue` returns for a node: a scalar's text, `""` for maps and
/// lists.
pub fn raw_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Object(_) | Value::Array(_) => String::new(),
        other => super::scalar_text(other).unwrap_or_default(),
    }
}

/// kyaml's `RNode.String()` trimmed: what a `[k=v]` regular expression is matched against.
fn node_text(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => crate::yaml::to_string(v)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        other => raw_text(other),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn wrong_kind(expected: &str, got: &Value) -> String {
    format!(
        "wrong node kind: expected {expected} but got {}",
        kind_name(got)
    )
}

/// Go's `strconv.Atoi` success.
fn atoi(s: &str) -> Option<i64> {
    s.parse::<i64>().ok()
}

fn is_list_selector(p: &str) -> bool {
    p.starts_with('[') && p.ends_with(']')
}

/// kyaml's `IsIdxNumber`.
fn is_index(p: &str) -> bool {
    atoi(p).is_some_and(|i| i >= 0)
}

/// kyaml's `SplitIndexNameValue`: `[name=app]` → (`name`, `app`); `[=x]` → (``, `x`).
fn split_selector(p: &str) -> Result<(&str, &str), String> {
    let inner = p.strip_suffix(']').unwrap_or(p);
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    inner.split_once('=').ok_or_else(|| {
        "list path element must contain fieldName=fieldValue for element to match".to_string()
    })
}

/// The elements of a list; a null node is an empty list (kyaml's `Elements`).
fn elements(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(items) => Ok(items),
        other => Err(wrong_kind("SequenceNode", other)),
    }
}

/// Longest path accepted: the walks recurse once per part, and what they create nests as
/// deep as the path (the YAML reader bounds input nesting the same way).
pub const MAX_PARTS: usize = 1000;

fn check_length(path: &[String]) -> Result<(), String> {
    if path.len() > MAX_PARTS {
        return Err(format!(
            "field path has {} parts, more than the {MAX_PARTS} allowed",
            path.len()
        ));
    }
    Ok(())
}

/// kyaml's `PathGetter` without create: the node at `path`, `None` when it is missing.
pub fn lookup<'a>(root: &'a Value, path: &[String]) -> Result<Option<&'a Value>, String> {
    Ok(lookup_with_path(root, path)?.map(|(v, _)| v))
}

/// [`lookup`], also giving the concrete path to the node.
pub fn lookup_with_path<'a>(
    root: &'a Value,
    path: &[String],
) -> Result<Option<(&'a Value, Vec<Step>)>, String> {
    check_length(path)?;
    let mut cur = root;
    let mut steps = Vec::new();
    for part in path.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let next = if let Some(idx) = atoi(part) {
            if idx < 0 {
                return Err(format!("array index {idx} cannot be negative"));
            }
            elements(cur)?
                .get(idx as usize)
                .map(|v| (v, Step::Index(idx as usize)))
        } else if part == "-" {
            let items = elements(cur)?;
            match items.last() {
                Some(v) => Some((v, Step::Index(items.len() - 1))),
                // kustomize panics here (index out of range).
                None => return Err("index out of range: the list is empty".into()),
            }
        } else if part == "*" {
            return Err("wildcard is not supported in PathGetter".into());
        } else if is_list_selector(part) {
            let (key, value) = split_selector(part)?;
            let items = elements(cur)?;
            let hit = if key.is_empty() {
                items.iter().position(|e| raw_text(e) == value)
            } else {
                items.iter().position(|e| {
                    e.as_object()
                        .and_then(|m| m.get(key))
                        .is_some_and(|f| raw_text(f) == value)
                })
            };
            hit.map(|i| (&items[i], Step::Index(i)))
        } else {
            match cur {
                Value::Null => None,
                Value::Object(m) => m.get(part).map(|v| (v, Step::Key(part.to_string()))),
                other => return Err(wrong_kind("MappingNode", other)),
            }
        };
        match next {
            Some((v, step)) => {
                cur = v;
                steps.push(step);
            }
            None => return Ok(None),
        }
    }
    Ok(Some((cur, steps)))
}

/// One step of a concrete path to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// What kind of node to create at the end of a path (the kind of the value to be written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    Scalar,
    Map,
    Seq,
}

impl Leaf {
    pub fn of(v: &Value) -> Leaf {
        match v {
            Value::Object(_) => Leaf::Map,
            Value::Array(_) => Leaf::Seq,
            _ => Leaf::Scalar,
        }
    }
}

/// A node [`find_targets`] matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where the node is; `None` when it was created under a `null` node and so is not part
    /// of the document.
    pub path: Option<Vec<Step>>,
    /// The node is a scalar this walk created: kyaml gives it no tag, so whatever text is
    /// written into it is later read back as a plain scalar (`"8080"` becomes 8080).
    pub untagged: bool,
}

/// kyaml's `PathMatcher{Path, Create}`: every node `path` designates in `root`, creating
/// missing parts when `create` is set.
pub fn find_targets(
    root: &mut Value,
    path: &[String],
    create: Option<Leaf>,
) -> Result<Vec<Found>, String> {
    check_length(path)?;
    let mut m = Matcher {
        create,
        out: Vec::new(),
    };
    let mut at = Vec::new();
    m.walk(root, path, &mut at, false, false)?;
    Ok(m.out)
}

/// A JSON pointer (RFC 6901) for `path`.
pub fn pointer(path: &[Step]) -> String {
    let mut out = String::new();
    for s in path {
        out.push('/');
        match s {
            Step::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Step::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// The node at a path [`find_targets`] returned.
pub fn get_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = root;
    for s in path {
        cur = match (s, cur) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

struct Matcher {
    create: Option<Leaf>,
    out: Vec<Found>,
}

impl Matcher {
    /// kyaml's `getPathPartKind`: a new node is a list when the next part indexes one, the
    /// leaf kind at the end (or before an empty part), a map otherwise.
    fn new_node(&self, next: Option<&String>) -> Value {
        match next.map(String::as_str) {
            Some(n) if is_list_selector(n) || is_index(n) => Value::Array(Vec::new()),
            None | Some("") => match self.create {
                Some(Leaf::Map) => Value::Object(Default::default()),
                Some(Leaf::Seq) => Value::Array(Vec::new()),
                // An untagged empty scalar (see `Found::untagged`).
                _ => Value::String(String::new()),
            },
            Some(_) => Value::Object(Default::default()),
        }
    }

    /// `fresh`: `node` was just created by this walk.
    fn walk(
        &mut self,
        node: &mut Value,
        path: &[String],
        at: &mut Vec<Step>,
        detached: bool,
        fresh: bool,
    ) -> Result<(), String> {
        let Some((part, rest)) = path.split_first() else {
            self.out.push(Found {
                path: (!detached).then(|| at.clone()),
                untagged: fresh && !node.is_object() && !node.is_array(),
            });
            return Ok(());
        };
        if is_index(part) {
            let idx = atoi(part).unwrap_or(0) as usize;
            return self.index(node, idx, rest, at, detached);
        }
        if is_list_selector(part) {
            let (key, pattern) = split_selector(part)?;
            return match node {
                Value::Null => match self.create {
                    // Appended to the null node: found, but never printed.
                    Some(_) => {
                        let mut scratch = Vec::new();
                        self.select(&mut scratch, key, pattern, rest, at, true)
                    }
                    None => Ok(()),
                },
                Value::Array(items) => self.select(items, key, pattern, rest, at, detached),
                other => Err(wrong_kind("SequenceNode", other)),
            };
        }
        if part == "*" {
            return match node {
                Value::Null => Ok(()),
                Value::Array(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        at.push(Step::Index(i));
                        self.walk(item, rest, at, detached, false)?;
                        at.pop();
                    }
                    Ok(())
                }
                other => Err(wrong_kind("SequenceNode", other)),
            };
        }
        match node {
            Value::Null => {
                if self.create.is_some() {
                    let mut scratch = self.new_node(rest.first());
                    self.walk(&mut scratch, rest, at, true, true)?;
                }
                Ok(())
            }
            Value::Object(map) => {
                if part.is_empty() {
                    // kyaml's FieldMatcher with no name expects a scalar.
                    return Err(wrong_kind("ScalarNode", &Value::Object(Default::default())));
                }
                let fresh = if map.contains_key(part) {
                    false
                } else if self.create.is_some() {
                    let n = self.new_node(rest.first());
                    map.insert(part.clone(), n);
                    true
                } else {
                    return Ok(());
                };
                let Some(field) = map.get_mut(part) else {
                    return Ok(());
                };
                at.push(Step::Key(part.clone()));
                self.walk(field, rest, at, detached, fresh)?;
                at.pop();
                Ok(())
            }
            other => Err(wrong_kind("MappingNode", other)),
        }
    }

    /// kyaml's `doIndexSeq`: only the index one past the end may be created.
    fn index(
        &mut self,
        node: &mut Value,
        idx: usize,
        rest: &[String],
        at: &mut Vec<Step>,
        detached: bool,
    ) -> Result<(), String> {
        match node {
            Value::Null => {
                if idx == 0 && self.create.is_some() {
                    let mut scratch = self.new_node(rest.first());
                    self.walk(&mut scratch, rest, at, true, true)
                } else {
                    Err(format!("index {idx} specified but only 0 elements found"))
                }
            }
            Value::Array(items) => {
                let mut fresh = false;
                if items.len() == idx && self.create.is_some() {
                    let n = self.new_node(rest.first());
                    items.push(n);
                    fresh = true;
                }
                let len = items.len();
                let Some(item) = items.get_mut(idx) else {
                    return Err(format!(
                        "index {idx} specified but only {len} elements found"
                    ));
                };
                at.push(Step::Index(idx));
                self.walk(item, rest, at, detached, fresh)?;
                at.pop();
                Ok(())
            }
            other => Err(wrong_kind("SequenceNode", other)),
        }
    }

    /// kyaml's `doSeq`: elements whose field `key` (or whose own text, for `[=v]`) matches
    /// the unanchored regular expression `pattern`; with create and no match, a new element
    /// `{key: pattern}` (or the scalar `pattern`) is appended and matched.
    fn select(
        &mut self,
        items: &mut Vec<Value>,
        key: &str,
        pattern: &str,
        rest: &[String],
        at: &mut Vec<Step>,
        detached: bool,
    ) -> Result<(), String> {
        let before = self.out.len();
        // kyaml compiles the expression per element, so an empty list never fails.
        let re = if items.is_empty() && self.create.is_none() {
            None
        } else {
            Some(
                Regex::new(pattern)
                    .map_err(|e| format!("error parsing regexp {pattern:?}: {e}"))?,
            )
        };
        let Some(re) = re else {
            return Ok(());
        };
        let matches = |e: &Value| -> bool {
            if key.is_empty() {
                re.is_match(&node_text(e))
            } else {
                e.as_object()
                    .and_then(|m| m.get(key))
                    .is_some_and(|f| re.is_match(&node_text(f)))
            }
        };
        for (i, item) in items.iter_mut().enumerate() {
            if matches(item) {
                at.push(Step::Index(i));
                self.walk(item, rest, at, detached, false)?;
                at.pop();
            }
        }
        if self.out.len() > before || self.create.is_none() {
            return Ok(());
        }
        // The created element's value has no tag: it reads back as a plain scalar.
        let value = untagged(pattern);
        let elem = if key.is_empty() {
            value
        } else {
            let mut m = serde_json::Map::new();
            m.insert(key.to_string(), value);
            Value::Object(m)
        };
        // kyaml searches again and finds the new element, if it matches its own selector
        // (if not, kyaml recurses forever; here nothing is found).
        if matches(&elem) {
            let i = items.len();
            items.push(elem);
            at.push(Step::Index(i));
            let fresh = key.is_empty();
            let r = self.walk(&mut items[i], rest, at, detached, fresh);
            at.pop();
            r?;
        }
        Ok(())
    }
}

/// A scalar written without a tag, as kyaml's encoder prints it and go-yaml v3 reads it
/// back: plain text resolves (`8080` → 8080, `true` → true, `` → null); text that cannot be
/// written plain (`a: b`, `*x`, multi-line) stays a string.
pub fn untagged(text: &str) -> Value {
    use crate::yaml::resolve::{resolve_plain, Dialect, Resolved};
    if text.contains('\n') || !crate::yaml::emit::plain_allowed(text) {
        return Value::String(text.to_string());
    }
    match resolve_plain(text, Dialect::V3) {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::from(i),
        Resolved::UInt(u) => Value::from(u),
        Resolved::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
        Resolved::Timestamp(ts) => Value::String(ts),
        Resolved::Str | Resolved::Merge => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn split_keeps_list_selectors_and_unwraps_map_keys() {
        assert_eq!(
            split("spec.containers.[name=a.b].image"),
            s(&["spec", "containers", "[name=a.b]", "image"])
        );
        assert_eq!(
            split("metadata.annotations.[a.b/c]"),
            s(&["metadata", "annotations", "a.b/c"])
        );
        assert_eq!(split(r"data.a\.b"), s(&["data", "a.b"]));
        assert_eq!(split(".a.b"), s(&["a", "b"]));
        // A bracketed part without dots keeps its brackets.
        assert_eq!(split("a.[foo]"), s(&["a", "[foo]"]));
    }

    #[test]
    fn lookup_matches_list_elements_exactly() {
        let v = json!({"c": [{"name": "app-x", "i": 1}, {"name": "app", "i": 2}]});
        let got = lookup(&v, &split("c.[name=app].i")).unwrap();
        assert_eq!(got, Some(&json!(2)));
        assert_eq!(lookup(&v, &split("c.5.i")).unwrap(), None);
        assert_eq!(lookup(&v, &split("c.-.i")).unwrap(), Some(&json!(2)));
        assert!(lookup(&v, &split("c.*.i")).is_err());
        assert!(lookup(&v, &split("c.name")).is_err());
    }

    #[test]
    fn target_list_selector_is_an_unanchored_regex() {
        let mut v = json!({"c": [{"name": "app-x"}, {"name": "app"}, {"name": "db"}]});
        let f = find_targets(&mut v, &split("c.[name=app].name"), None).unwrap();
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn target_index_past_the_end_is_an_error() {
        let mut v = json!({"c": [1]});
        let e = find_targets(&mut v, &split("c.1"), None).unwrap_err();
        assert_eq!(e, "index 1 specified but only 1 elements found");
        // With create, only the index one past the end is appended.
        let f = find_targets(&mut v, &split("c.1"), Some(Leaf::Scalar)).unwrap();
        assert_eq!(f[0].path, Some(vec![Step::Key("c".into()), Step::Index(1)]));
        assert!(f[0].untagged);
        assert!(find_targets(&mut v, &split("c.5"), Some(Leaf::Scalar)).is_err());
    }

    #[test]
    fn create_under_null_is_found_but_detached() {
        let mut v = json!({"spec": null});
        let f = find_targets(&mut v, &split("spec.x.y"), Some(Leaf::Scalar)).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, None);
        assert_eq!(v, json!({"spec": null}));
    }

    #[test]
    fn create_appends_selected_element() {
        let mut v = json!({"env": [{"name": "A"}]});
        let f = find_targets(&mut v, &split("env.[name=B].value"), Some(Leaf::Scalar)).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(
            v,
            json!({"env": [{"name": "A"}, {"name": "B", "value": ""}]})
        );
    }

    #[test]
    fn wildcard_needs_a_list() {
        let mut v = json!({"m": {"a": 1}});
        assert!(find_targets(&mut v, &split("m.*.x"), None).is_err());
        let mut v = json!({"m": null});
        assert!(find_targets(&mut v, &split("m.*.x"), Some(Leaf::Scalar))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn overlong_paths_are_errors_not_stack_overflows() {
        let path = vec!["a".to_string(); MAX_PARTS + 1];
        let mut v = json!({});
        assert!(find_targets(&mut v, &path, Some(Leaf::Scalar)).is_err());
        assert!(lookup(&v, &path).is_err());
    }

    #[test]
    fn untagged_text_reads_back_plain() {
        assert_eq!(untagged("8080"), json!(8080));
        assert_eq!(untagged("true"), json!(true));
        assert_eq!(untagged(""), Value::Null);
        assert_eq!(untagged("yes"), json!("yes"));
        assert_eq!(untagged("a: b"), json!("a: b"));
        assert_eq!(untagged("012"), json!(10));
    }
}
