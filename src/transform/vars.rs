//! `vars:`: `$(NAME)` in the fields of the `varReference` table is replaced by the value of
//! a field of a named resource (kustomize's deprecated vars; its `MergeVars`,
//! `ResolveVars` and `refvar` filter).
//!
//! Two steps, at two moments of a build:
//!
//! - [`merge`], in every kustomization after its transformers: each var's `objref` is looked
//!   up among the resources by any of their ids (previous or current), with exact group,
//!   version, kind and name, and the namespace only when the objref names one. More than one
//!   match is an error; the one match remembers the var's name ([`Resource::ref_var_names`]);
//!   none is fine until resolution. The var then joins the build's vars, where a second var
//!   of the same name, from anywhere, is an error.
//! - [`resolve`], once at the top after name references are fixed: each var's value is the
//!   field at `fieldref.fieldPath` (default `metadata.name`) of the first resource that
//!   remembered it, so a var naming a ConfigMap sees the ConfigMap's final, hashed name. A
//!   var no resource remembered, or whose field is missing, is an error. Then every string
//!   in the `varReference` fields (a string, a map's string values, every item of a list,
//!   which must all be strings) has its `$(NAME)`s replaced: a string that is exactly one
//!   `$(NAME)` takes the value's type (a port stays a number), a longer one gets its text.
//!   `$$` is a literal `$`; unknown names and vars whose value is a map or list are left
//!   as written. Vars that replaced nothing are returned (kubectl prints them on stderr).

use crate::budget::Budget;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::fieldspec::{pointer, visit, walk_with_path, Create, FieldSpec};
use crate::kustomization::Var;
use crate::resource::{Gvk, ResMap, Resource};

use super::fieldpath;
use super::TransformError;

const NAME: &str = "RefVarTransformer";
const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// kustomize's `Var.Defaulting`: the objref's gvk, with `apiVersion` (when set) overriding
/// the group and version it spells.
fn objref_gvk(v: &Var) -> Gvk {
    let o = &v.objref;
    let mut gvk = Gvk::new(&o.group, &o.version, &o.kind);
    if !o.api_version.is_empty() {
        let parts: Vec<&str> = o.api_version.split('/').collect();
        match parts.as_slice() {
            [g, ver] => {
                gvk.group = g.to_string();
                gvk.version = ver.to_string();
            }
            [ver] => gvk.version = ver.to_string(),
            _ => {}
        }
    }
    gvk
}

fn describe(v: &Var) -> String {
    let o = &v.objref;
    let gvk = objref_gvk(v);
    let ns = if o.namespace.is_empty() {
        String::new()
    } else {
        format!(" in namespace {}", o.namespace)
    };
    format!(
        "{} (objref {}/{}{ns}, fieldref {})",
        v.name,
        gvk,
        o.name,
        field_path(v)
    )
}

fn field_path(v: &Var) -> &str {
    if v.fieldref.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &v.fieldref.field_path
    }
}

/// `""` and `default` are the same namespace; the objref's id knows nothing of cluster
/// scope (kustomize builds it from decoded fields), the resource's current id does.
fn objref_namespace(ns: &str) -> &str {
    if ns.is_empty() {
        crate::resource::DEFAULT_NAMESPACE
    } else {
        ns
    }
}

/// Does resource `r` answer to the var's objref (kustomize's `MergeVars` matcher)?
fn answers(r: &Resource, v: &Var, gvk: &Gvk) -> bool {
    let o = &v.objref;
    r.all_ids().iter().any(|id| {
        id.name == o.name
            && id.gvk == *gvk
            && (o.namespace.is_empty()
                || objref_namespace(&o.namespace) == id.effective_namespace())
    })
}

/// kustomize's `MergeVars`: ties each incoming var to its resource, then adds the vars to
/// `vars`. Errors are messages for the kustomization that declared the vars.
pub fn merge(m: &mut ResMap, vars: &mut Vec<Var>, incoming: &[Var]) -> Result<(), String> {
    for v in incoming {
        let gvk = objref_gvk(v);
        let hits: Vec<usize> = (0..m.len())
            .filter(|&i| m.get(i).is_some_and(|r| answers(r, v, &gvk)))
            .collect();
        match hits.as_slice() {
            [] => {}
            [i] => {
                if let Some(r) = m.get_mut(*i) {
                    r.ref_var_names.push(v.name.clone());
                }
            }
            _ => {
                return Err(format!(
                    "found {} resId matches for var {} (unable to disambiguate)",
                    hits.len(),
                    describe(v)
                ))
            }
        }
    }
    for v in incoming {
        if vars.iter().any(|x| x.name == v.name) {
            return Err(format!("var '{}' already encountered", v.name));
        }
        vars.push(v.clone());
    }
    Ok(())
}

/// A var's value, as kyaml's `GetFieldValue` returns it.
#[derive(Debug, Clone, PartialEq)]
enum VarValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A map or list: never substituted.
    Other,
}

impl VarValue {
    fn from_node(v: &Value) -> Result<VarValue, String> {
        Ok(match v {
            Value::String(s) => VarValue::Str(s.clone()),
            Value::Bool(b) => VarValue::Bool(*b),
            Value::Number(n) if n.is_f64() => VarValue::Float(n.as_f64().unwrap_or(0.0)),
            // kyaml reads an integer with `strconv.Atoi`, which stops at int64.
            Value::Number(n) => VarValue::Int(
                n.as_i64()
                    .ok_or_else(|| format!("integer {n} out of range"))?,
            ),
            // A null's text (kyaml returns the node's text for tags it does not convert).
            Value::Null => VarValue::Str("null".into()),
            Value::Object(_) | Value::Array(_) => VarValue::Other,
        })
    }

    /// The typed node a string that is exactly `$(NAME)` becomes.
    fn node(&self) -> Option<Value> {
        Some(match self {
            VarValue::Str(s) => Value::String(s.clone()),
            VarValue::Int(i) => Value::from(*i),
            VarValue::Float(f) => Value::Number(serde_json::Number::from_f64(*f)?),
            VarValue::Bool(b) => Value::Bool(*b),
            VarValue::Other => return None,
        })
    }

    /// Go's `fmt.Sprintf("%v", value)`, for a `$(NAME)` inside a longer string.
    fn text(&self) -> Option<String> {
        Some(match self {
            VarValue::Str(s) => s.clone(),
            VarValue::Int(i) => i.to_string(),
            VarValue::Float(f) => crate::yaml::emit::format_go_float(*f),
            VarValue::Bool(b) => b.to_string(),
            VarValue::Other => return None,
        })
    }
}

/// What a `$(...)` expansion produced.
enum Expanded {
    /// The whole string was one known var.
    Node(Value),
    Text(String),
}

/// kustomize's `refvar.DoReplacements` with its primitive replacer; `used` counts the vars
/// that replaced something.
fn expand(
    input: &str,
    vars: &BTreeMap<String, VarValue>,
    used: &mut BTreeMap<String, usize>,
) -> Expanded {
    let mut lookup = |name: &str| -> Option<&VarValue> {
        let v = vars.get(name)?;
        if *v != VarValue::Other {
            *used.entry(name.to_string()).or_default() += 1;
        }
        Some(v)
    };
    let b = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] != b'$' || cursor + 1 >= b.len() {
            cursor += 1;
            continue;
        }
        out.push_str(&input[checkpoint..cursor]);
        let rest = &input[cursor + 1..];
        // How many bytes after the `$` this occurrence consumed.
        let consumed = match rest.as_bytes()[0] {
            // `$$` is an escaped `$`.
            b'$' => {
                out.push('$');
                1
            }
            b'(' => match rest.find(')') {
                Some(close) => {
                    let name = &rest[1..close];
                    let v = lookup(name);
                    if cursor == 0 && input.len() == close + 2 {
                        // The whole string is `$(NAME)`: the value keeps its type.
                        return match v.and_then(VarValue::node) {
                            Some(n) => Expanded::Node(n),
                            None => Expanded::Text(input.to_string()),
                        };
                    }
                    match v.and_then(VarValue::text) {
                        Some(t) => out.push_str(&t),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    close + 1
                }
                // An unclosed `$(` is kept and scanning resumes after the `(`.
                None => {
                    out.push_str("$(");
                    1
                }
            },
            // `$` before anything else is kept with what follows. (kustomize copies the
            // next byte as a Latin-1 character, garbling a multi-byte one; here the
            // character is kept whole.)
            _ => {
                out.push('$');
                0
            }
        };
        cursor += 1 + consumed;
        checkpoint = cursor;
    }
    out.push_str(&input[checkpoint..]);
    Expanded::Text(out)
}

fn replace_string(
    s: &str,
    vars: &BTreeMap<String, VarValue>,
    used: &mut BTreeMap<String, usize>,
) -> Value {
    match expand(s, vars, used) {
        Expanded::Node(n) => n,
        Expanded::Text(t) => Value::String(t),
    }
}

/// kustomize's `refvar.Filter.set` for one field.
/// Bytes of the strings a var reference field holds (a string, or a map's string values).
fn text_bytes(node: &Value) -> u64 {
    match node {
        Value::String(s) => s.len() as u64,
        Value::Object(m) => m
            .values()
            .filter_map(Value::as_str)
            .map(|s| s.len() as u64)
            .sum(),
        _ => 0,
    }
}

/// Whether [`set`] would leave `node` as it is, use no var and report no error.
fn set_leaves_alone(node: &Value) -> bool {
    let plain = |v: &Value| v.as_str().is_some_and(|s| !s.contains('$'));
    match node {
        Value::String(_) => plain(node),
        Value::Object(m) => m.values().all(|v| !v.is_string() || plain(v)),
        Value::Array(items) => items.iter().all(plain),
        _ => true,
    }
}

fn set(
    node: &mut Value,
    vars: &BTreeMap<String, VarValue>,
    used: &mut BTreeMap<String, usize>,
) -> Result<(), String> {
    match node {
        Value::String(s) => *node = replace_string(s, vars, used),
        Value::Object(m) => {
            for v in m.values_mut() {
                if let Value::String(s) = v {
                    *v = replace_string(s, vars, used);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                let Value::String(s) = item else {
                    return Err("invalid value type expect a string".into());
                };
                *item = replace_string(s, vars, used);
            }
        }
        // Nulls, numbers and booleans are left alone.
        _ => {}
    }
    Ok(())
}

/// kustomize's `ResolveVars`: computes every var's value and substitutes `$(NAME)` in the
/// `var_reference` fields. Returns the vars that replaced nothing, sorted.
pub fn resolve(
    m: &mut ResMap,
    vars: &[Var],
    var_reference: &[FieldSpec],
    budget: &Budget,
) -> Result<Vec<String>, TransformError> {
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values = BTreeMap::new();
    for v in sorted {
        let value = var_value(m, v).map_err(|e| TransformError::config(NAME, e))?;
        values.insert(v.name.clone(), value);
    }
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let mut used = BTreeMap::new();
    for r in m.resources_mut() {
        let gvk = r.gvk();
        // kustomize expands a string in its node, so places sharing that node change too.
        let shared = r.shares_nodes();
        let mut written = Vec::new();
        for spec in var_reference.iter().filter(|s| s.applies_to(&gvk)) {
            // Most fields hold no `$`: look before taking the object for writing (that would
            // copy an object shared with a cached render).
            if !shared {
                let mut untouched = true;
                let looked = visit(r.obj(), spec, Create::Never, &mut |node| {
                    untouched &= set_leaves_alone(node);
                    Ok(())
                });
                if untouched && matches!(looked, Ok(true)) {
                    continue;
                }
            }
            let result = walk_with_path(r.obj_mut(), spec, Create::Never, &mut |node, path| {
                if shared {
                    match node {
                        Value::String(_) => written.push(pointer(path, None)),
                        Value::Object(m) => written.extend(
                            m.iter()
                                .filter(|(_, v)| v.is_string())
                                .map(|(k, _)| pointer(path, Some(k))),
                        ),
                        _ => {}
                    }
                }
                let before = text_bytes(node);
                set(node, &values, &mut used)?;
                // `$(A)$(A)...` copies a var's value many times into one string.
                let grown = text_bytes(node).saturating_sub(before);
                budget.charge_value_bytes(grown).map_err(|e| e.to_string())
            });
            if let Err(e) = result {
                return Err(TransformError::on(NAME, r, e.to_string()));
            }
            for place in written.drain(..) {
                r.written_in_place(&place);
            }
        }
    }
    Ok(values
        .keys()
        .filter(|k| !used.contains_key(*k))
        .cloned()
        .collect())
}

/// kustomize's `findVarValueFromResources`.
fn var_value(m: &ResMap, v: &Var) -> Result<VarValue, String> {
    let Some(r) = m
        .resources()
        .iter()
        .find(|r| r.ref_var_names.contains(&v.name))
    else {
        return Err(format!(
            "var '{}' cannot be mapped to a field in the set of known resources",
            describe(v)
        ));
    };
    let not_found = || {
        format!(
            "field specified in var '{}' not found in corresponding resource",
            describe(v)
        )
    };
    let parts = slice_indexes(fieldpath::split(field_path(v)));
    match fieldpath::lookup(r.obj(), &parts) {
        Ok(Some(node)) => VarValue::from_node(node).map_err(|_| not_found()),
        _ => Err(not_found()),
    }
}

/// kyaml's `convertSliceIndex`: `ports[0]` is `ports`, `0`.
fn slice_indexes(parts: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let split = p.strip_suffix(']').and_then(|s| {
            let open = s.rfind('[')?;
            let digits = &s[open + 1..];
            (!digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()))
                .then(|| (s[..open].to_string(), digits.to_string()))
        });
        match split {
            Some((head, idx)) => {
                if !head.is_empty() {
                    out.push(head);
                }
                out.push(idx);
            }
            None => out.push(p),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomization::{FieldSelector, VarTarget};
    use crate::resource::Source;
    use serde_json::json;

    fn vars(pairs: &[(&str, VarValue)]) -> BTreeMap<String, VarValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn text(s: &str, vs: &BTreeMap<String, VarValue>) -> Value {
        replace_string(s, vs, &mut BTreeMap::new())
    }

    #[test]
    fn whole_string_var_keeps_its_type() {
        let vs = vars(&[("PORT", VarValue::Int(8080)), ("ON", VarValue::Bool(true))]);
        assert_eq!(text("$(PORT)", &vs), json!(8080));
        assert_eq!(text("$(ON)", &vs), json!(true));
        assert_eq!(text("port=$(PORT)", &vs), json!("port=8080"));
    }

    #[test]
    fn escapes_and_unknown_vars_stay() {
        let vs = vars(&[("A", VarValue::Str("x".into()))]);
        assert_eq!(text("$$(A)", &vs), json!("$(A)"));
        assert_eq!(text("$(B) $(A)", &vs), json!("$(B) x"));
        assert_eq!(text("$(A", &vs), json!("$(A"));
        assert_eq!(text("a$b$", &vs), json!("a$b$"));
        assert_eq!(text("é$(A)é", &vs), json!("éxé"));
        assert_eq!(text("$é", &vs), json!("$é"));
    }

    /// kustomize's `refvar` expansion table (api/filters/refvar/expand_test.go).
    #[test]
    fn expansion_matches_kustomize_table() {
        let vs = vars(&[
            ("VAR_A", VarValue::Str("A".into())),
            ("VAR_B", VarValue::Str("B".into())),
            ("VAR_C", VarValue::Str("C".into())),
            ("VAR_REF", VarValue::Str("$(VAR_A)".into())),
            ("VAR_EMPTY", VarValue::Str("".into())),
        ]);
        for (input, want, count) in [
            (
                "$(VAR_A)-$(VAR_B)-$(VAR_B)-$(VAR_B)-$(VAR_A)",
                "A-B-B-B-A",
                5,
            ),
            ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A", 1),
            ("$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)", 0),
            ("f000-$$VAR_A", "f000-$VAR_A", 0),
            ("foo\\$(VAR_C)bar", "foo\\Cbar", 1),
            ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))", 0),
            ("$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)", 0),
            ("%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%", 2),
            ("foo$(VAR_EMPTY)bar", "foobar", 1),
            ("foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!", 0),
            ("$?_boo_$!", "$?_boo_$!", 0),
            ("$(VAR_DNE)", "$(VAR_DNE)", 0),
            ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)", 0),
            ("$$$$$$$(VAR_A)", "$$$A", 1),
            ("$VAR_A)", "$VAR_A)", 0),
            ("${VAR_A}", "${VAR_A}", 0),
            ("$(VAR_C)_______$(", "C_______$(", 1),
            ("$(VAR_A)foobarzab$", "Afoobarzab$", 1),
            ("$($($($($--foo$(", "$($($($($--foo$(", 0),
            ("$(foo$$var)", "$(foo$$var)", 0),
            ("\n", "\n", 0),
        ] {
            let mut used = BTreeMap::new();
            assert_eq!(
                replace_string(input, &vs, &mut used),
                json!(want),
                "{input}"
            );
            assert_eq!(used.values().sum::<usize>(), count, "{input}");
        }
    }

    #[test]
    fn map_or_list_var_is_never_substituted() {
        let vs = vars(&[("M", VarValue::Other)]);
        let mut used = BTreeMap::new();
        assert_eq!(replace_string("a $(M)", &vs, &mut used), json!("a $(M)"));
        assert_eq!(replace_string("$(M)", &vs, &mut used), json!("$(M)"));
        assert!(used.is_empty());
    }

    #[test]
    fn float_inside_text_prints_like_go() {
        let vs = vars(&[("F", VarValue::Float(1e6))]);
        assert_eq!(text("x$(F)", &vs), json!("x1e+06"));
    }

    #[test]
    fn list_items_must_be_strings() {
        let vs = vars(&[("A", VarValue::Str("x".into()))]);
        let mut v = json!(["$(A)", 1]);
        assert!(set(&mut v, &vs, &mut BTreeMap::new()).is_err());
        let mut v = json!({"a": "$(A)", "b": 1});
        set(&mut v, &vs, &mut BTreeMap::new()).unwrap();
        assert_eq!(v, json!({"a": "x", "b": 1}));
    }

    #[test]
    fn slice_index_suffix_is_split() {
        let p = slice_indexes(fieldpath::split("spec.ports[0].port"));
        assert_eq!(p, vec!["spec", "ports", "0", "port"]);
    }

    fn var(name: &str, kind: &str, obj: &str, ns: &str) -> Var {
        Var {
            name: name.into(),
            objref: VarTarget {
                api_version: "v1".into(),
                kind: kind.into(),
                name: obj.into(),
                namespace: ns.into(),
                ..Default::default()
            },
            fieldref: FieldSelector::default(),
        }
    }

    #[test]
    fn objref_without_namespace_matching_twice_is_ambiguous() {
        let mut m = ResMap::new();
        for ns in ["a", "b"] {
            m.append(Resource::new(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns}}),
                Source::default(),
            ))
            .unwrap();
        }
        let mut vs = Vec::new();
        assert!(merge(&mut m, &mut vs, &[var("S", "Service", "s", "")]).is_err());
        merge(&mut m, &mut vs, &[var("S", "Service", "s", "b")]).unwrap();
        assert_eq!(m.get(1).unwrap().ref_var_names, vec!["S"]);
        assert!(merge(&mut m, &mut vs, &[var("S", "Service", "s", "a")]).is_err());
    }

    #[test]
    fn unused_vars_are_returned() {
        let mut m = ResMap::new();
        m.append(Resource::new(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
            Source::default(),
        ))
        .unwrap();
        let mut vs = Vec::new();
        merge(&mut m, &mut vs, &[var("S", "Service", "s", "")]).unwrap();
        let unused = resolve(&mut m, &vs, &[], &Default::default()).unwrap();
        assert_eq!(unused, vec!["S"]);
        let missing = [var("T", "Service", "nope", "")];
        assert!(resolve(&mut m, &missing, &[], &Default::default()).is_err());
    }
}
