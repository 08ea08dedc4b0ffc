//! `replacements:`: copy a value from one field of one resource into fields of others
//! (kustomize's ReplacementTransformer, the last builtin transformer of a kustomization).
//!
//! Each replacement is applied in order, on the result of the previous one:
//!
//! 1. The source: exactly one resource any of whose ids (current or previous) is selected
//!    by the source's group/version/kind/name/namespace (exact matches, not patterns: these
//!    are `ResId.IsSelectedBy`, unlike patch targets). None or several is an error. The
//!    value is the node at `fieldPath` (default `metadata.name`, see
//!    [`fieldpath::lookup`]); missing, null, `{}` or `[]` is an error. `options.delimiter`
//!    and `index` pick one piece of a scalar.
//! 2. Every target: resources whose labels and annotations match `select`'s selectors,
//!    that no `reject` with a label or annotation selector matches, and any of whose ids is
//!    selected by `select`'s id while no id is selected by a `reject` with a non-empty id.
//!    (A reject with both an id and a label selector rejects on either.) Each of
//!    `fieldPaths` (default `metadata.name`) must designate at least one node
//!    ([`fieldpath::find_targets`], created with `options.create`), else it is an error.
//! 3. Writing: into a scalar, only the text is copied and the target keeps its type
//!    (`"8080"` into `containerPort: 80` gives 8080, 8080 into a string gives `"8080"`,
//!    and text the target's type cannot hold, like `abc` into an integer, fails as it
//!    fails when kustomize prints it); a map or list target is replaced by the source node;
//!    a created scalar has no type and reads back as a plain scalar (`"8080"` becomes
//!    8080). With a target `delimiter`, the text is spliced into the target's text: index
//!    below 0 prepends, past the end appends.
//!
//! Replacements from a `path:` file (a replacement or a list of them; only the first YAML
//! document counts) are read like kustomize reads them, with `encoding/json`: field names
//! match case-insensitively and unknown fields are ignored.

use crate::budget::Budget;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::fs::Loader;
use crate::kustomization::{
    FieldOptions, ReplacementField, ReplacementSource, ReplacementTarget, Selector,
};
use crate::resource::{is_nil_or_empty, Gvk, ResId, ResMap, Resource};
use crate::selector::LabelSelector;
use crate::yaml;

use super::fieldpath::{self, Found, Leaf};
use super::TransformError;

const NAME: &str = "ReplacementTransformer";
const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// One replacement, as the transformer receives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replacement {
    pub source: Option<ReplacementSource>,
    pub targets: Option<Vec<ReplacementTarget>>,
}

/// Reads a kustomization's `replacements:` list, loading `path:` entries through `ldr`.
pub fn load(
    fields: &[ReplacementField],
    ldr: &Loader,
    kfile: &Path,
) -> Result<Vec<Replacement>, Error> {
    let mut out = Vec::new();
    for f in fields {
        let inline = f.source.is_some() || f.targets.as_ref().is_some_and(|t| !t.is_empty());
        if f.path.is_empty() {
            out.push(Replacement {
                source: f.source.clone(),
                // The inline list reaches the plugin through a YAML round trip that drops
                // an empty `targets: []` (omitempty), so it counts as missing.
                targets: f.targets.clone().filter(|t| !t.is_empty()),
            });
            continue;
        }
        if inline {
            return Err(Error::new(
                ErrorKind::Kustomization,
                kfile.display(),
                "cannot specify both path and inline replacement",
            ));
        }
        let (file, bytes) = ldr.load(&f.path).map_err(|e| Error::Load {
            context: format!("{}: replacements", kfile.display()),
            source: e,
        })?;
        let doc = yaml::read_document(&bytes, yaml::Dialect::V2, yaml::Limits::default()).map_err(
            |e| Error::Yaml {
                file: file.clone(),
                source: e,
            },
        )?;
        let bad = |m: String| Error::new(ErrorKind::Kustomization, file.display(), m);
        match doc {
            Some(Value::Array(items)) => {
                for item in items {
                    out.push(from_file_value(item).map_err(bad)?);
                }
            }
            Some(v @ Value::Object(_)) => out.push(from_file_value(v).map_err(bad)?),
            other => {
                let kind = match other {
                    None | Some(Value::Null) => "invalid",
                    Some(Value::Bool(_)) => "bool",
                    Some(Value::Number(_)) => "number",
                    _ => "string",
                };
                return Err(bad(format!(
                    "unsupported replacement type encountered within replacement path: {kind}"
                )));
            }
        }
    }
    Ok(out)
}

/// Field names of the replacement schema, for `encoding/json`'s case-insensitive matching.
const REPLACEMENT_FIELDS: &[&str] = &["source", "targets"];
const SOURCE_FIELDS: &[&str] = &[
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "fieldPath",
    "options",
];
const TARGET_FIELDS: &[&str] = &["select", "reject", "fieldPaths", "options"];
const SELECTOR_FIELDS: &[&str] = &[
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "annotationSelector",
    "labelSelector",
];
const OPTION_FIELDS: &[&str] = &["delimiter", "index", "encoding", "create"];

/// Renames keys to the schema's spelling (ignoring case) and drops unknown ones.
fn canonical(v: Value, fields: &[&str]) -> Value {
    let Value::Object(m) = v else { return v };
    let mut out = Map::new();
    for (k, v) in m {
        if let Some(f) = fields.iter().find(|f| f.eq_ignore_ascii_case(&k)) {
            out.insert(f.to_string(), v);
        }
    }
    Value::Object(out)
}

fn canonical_in(m: &mut Value, key: &str, fields: &[&str]) {
    if let Some(v) = m.get_mut(key) {
        *v = canonical(std::mem::take(v), fields);
    }
}

fn from_file_value(v: Value) -> Result<Replacement, String> {
    let mut r = canonical(v, REPLACEMENT_FIELDS);
    if let Some(src) = r.get_mut("source") {
        *src = canonical(std::mem::take(src), SOURCE_FIELDS);
        canonical_in(src, "options", OPTION_FIELDS);
    }
    if let Some(Value::Array(ts)) = r.get_mut("targets") {
        for t in ts.iter_mut() {
            *t = canonical(std::mem::take(t), TARGET_FIELDS);
            canonical_in(t, "select", SELECTOR_FIELDS);
            canonical_in(t, "options", OPTION_FIELDS);
            if let Some(Value::Array(rs)) = t.get_mut("reject") {
                for x in rs.iter_mut() {
                    *x = canonical(std::mem::take(x), SELECTOR_FIELDS);
                }
            }
        }
    }
    let source = match r.get("source") {
        None | Some(Value::Null) => None,
        Some(s) => Some(serde_json::from_value(s.clone()).map_err(|e| e.to_string())?),
    };
    let targets = match r.get("targets") {
        None | Some(Value::Null) => None,
        Some(t) => Some(serde_json::from_value(t.clone()).map_err(|e| e.to_string())?),
    };
    Ok(Replacement { source, targets })
}

/// Runs the replacements in order.
pub fn apply(
    m: &mut ResMap,
    replacements: &[Replacement],
    budget: &Budget,
) -> Result<(), TransformError> {
    let result = apply_all(m, replacements, budget);
    // Replacements may rename resources (kustomize keeps no previous id for that).
    m.reindex();
    result
}

/// The targets (`replacements[i].targets[j]`) whose selection matches no resource, for the
/// opt-in warning kustomize lacks (kustomize#5093). Malformed selectors are left to
/// [`apply`] to report.
pub fn unmatched_targets(m: &ResMap, replacements: &[Replacement]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, r) in replacements.iter().enumerate() {
        for (j, t) in r.targets.iter().flatten().enumerate() {
            let Some(select) = &t.select else { continue };
            let Ok(matchers) = Matchers::new(t, select) else {
                continue;
            };
            let hit = m
                .resources()
                .iter()
                .any(|r| matchers.matches(r).unwrap_or(true));
            if !hit {
                out.push(format!("replacements[{i}].targets[{j}]"));
            }
        }
    }
    out
}

fn apply_all(
    m: &mut ResMap,
    replacements: &[Replacement],
    budget: &Budget,
) -> Result<(), TransformError> {
    for r in replacements {
        let (Some(source), Some(targets)) = (&r.source, &r.targets) else {
            return Err(TransformError::config(
                NAME,
                "replacements must specify a source and at least one target",
            ));
        };
        let mut value = source_value(m, source).map_err(|e| TransformError::config(NAME, e))?;
        for t in targets {
            apply_target(m, &mut value, t, budget)?;
        }
    }
    Ok(())
}

/// The id parts a replacement selector holds.
fn selector_id(group: &str, version: &str, kind: &str, name: &str, namespace: &str) -> ResId {
    ResId::new(Gvk::new(group, version, kind), name, namespace)
}

/// kyaml's ids of a node (`MakeResIds`): the current id, then the previous ones. These
/// ids know nothing of cluster scope: an empty namespace is `default` for every kind.
fn res_ids(r: &Resource) -> Vec<ResId> {
    let mut ids = vec![ResId::new(r.gvk(), r.name(), r.namespace())];
    ids.extend(r.prev_res_ids());
    ids
}

fn plain_namespace(ns: &str) -> &str {
    if ns.is_empty() {
        crate::resource::DEFAULT_NAMESPACE
    } else {
        ns
    }
}

/// `ResId.IsSelectedBy` with ids that are never cluster-scoped (see [`res_ids`]).
fn id_selected(id: &ResId, sel: &ResId) -> bool {
    (sel.name.is_empty() || sel.name == id.name)
        && (sel.namespace.is_empty()
            || plain_namespace(&sel.namespace) == plain_namespace(&id.namespace))
        && id.gvk.is_selected_by(&sel.gvk)
}

/// kustomize's `FieldOptions.String()`.
fn options_text(o: Option<&FieldOptions>) -> String {
    match o {
        Some(o) if !o.delimiter.is_empty() || o.create => {
            format!("{}({}), create={}", o.delimiter, o.index, o.create)
        }
        _ => String::new(),
    }
}

/// What a source yields: the node copied into map and list targets, and the text copied
/// into scalars.
#[derive(Debug)]
struct SourceValue {
    /// Err when a delimiter split left text the source's type cannot hold: kustomize fails
    /// only if that node reaches the output, i.e. when it replaces a map or list.
    node: Result<Value, String>,
    text: String,
    leaf: Leaf,
    /// kustomize holds the source's own node (unless a delimiter cut a piece out of it): a
    /// target that writes that node changes what later targets get. The resource's
    /// position and the node's place.
    live: Option<(usize, String)>,
}

impl SourceValue {
    /// The value of a source node, whole.
    fn whole(node: &Value, live: Option<(usize, String)>) -> SourceValue {
        let leaf = Leaf::of(node);
        SourceValue {
            node: Ok(node.clone()),
            text: if leaf == Leaf::Scalar {
                fieldpath::raw_text(node)
            } else {
                String::new()
            },
            leaf,
            live,
        }
    }

    /// After a write at `place` in resource `i`: if that was the source's node (or a place
    /// sharing it), later targets get its new value.
    fn refresh(&mut self, r: &Resource, i: usize, place: &str) {
        let Some((src, src_place)) = &self.live else {
            return;
        };
        if *src != i || !(src_place == place || r.same_node(src_place, place)) {
            return;
        }
        if let Some(node) = r.obj().pointer(src_place) {
            *self = SourceValue::whole(node, self.live.take());
        }
    }
}

fn source_value(m: &ResMap, s: &ReplacementSource) -> Result<SourceValue, String> {
    let sel = selector_id(&s.group, &s.version, &s.kind, &s.name, &s.namespace);
    let mut described = sel.to_string();
    if !s.field_path.is_empty() {
        described.push(':');
        described.push_str(&s.field_path);
    }
    let opts = options_text(s.options.as_ref());
    if !opts.is_empty() {
        described.push(':');
        described.push_str(&opts);
    }
    let mut found: Option<(usize, &Resource)> = None;
    for (i, r) in m.resources().iter().enumerate() {
        if res_ids(r).iter().any(|id| id_selected(id, &sel)) {
            if found.is_some() {
                return Err(format!("multiple matches for selector {described}"));
            }
            found = Some((i, r));
        }
    }
    let Some((index, r)) = found else {
        return Err(format!("nothing selected by {described}"));
    };
    let fp = if s.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &s.field_path
    };
    let node = fieldpath::lookup_with_path(r.obj(), &fieldpath::split(fp))
        .map_err(|e| format!("error looking up replacement source: {e}"))?;
    let (node, place) = match node {
        Some((v, steps)) if !is_nil_or_empty(v) => (v, fieldpath::pointer(&steps)),
        _ => {
            return Err(format!(
                "fieldPath `{fp}` is missing for replacement source {sel}"
            ))
        }
    };
    let leaf = Leaf::of(node);
    let text = fieldpath::raw_text(node);
    let Some(o) = s.options.as_ref().filter(|o| !o.delimiter.is_empty()) else {
        return Ok(SourceValue::whole(node, Some((index, place))));
    };
    if leaf != Leaf::Scalar {
        return Err("delimiter option can only be used with scalar nodes".into());
    }
    let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
    let piece = usize::try_from(o.index)
        .ok()
        .and_then(|i| parts.get(i))
        .ok_or_else(|| {
            format!(
                "options.index {} is out of bounds for value {text}",
                o.index
            )
        })?;
    Ok(SourceValue {
        node: typed(Tag::of(node), piece),
        text: piece.to_string(),
        leaf,
        live: None,
    })
}

/// The YAML tag a scalar node carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Str,
    Int,
    Float,
    Bool,
    Null,
    /// Created by the replacement: no tag at all.
    Untagged,
}

impl Tag {
    fn of(v: &Value) -> Tag {
        match v {
            Value::String(_) => Tag::Str,
            Value::Number(n) if n.is_f64() => Tag::Float,
            Value::Number(_) => Tag::Int,
            Value::Bool(_) => Tag::Bool,
            _ => Tag::Null,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tag::Str | Tag::Untagged => "str",
            Tag::Int => "int",
            Tag::Float => "float",
            Tag::Bool => "bool",
            Tag::Null => "null",
        }
    }
}

/// The value a scalar node with tag `tag` and text `text` has when kustomize prints it
/// (go-yaml v3 decoding `!!int abc` fails: "cannot decode !!str `abc` as a !!int").
fn typed(tag: Tag, text: &str) -> Result<Value, String> {
    use crate::yaml::resolve::{resolve_plain, Dialect, Resolved};
    match tag {
        Tag::Str => return Ok(Value::String(text.to_string())),
        Tag::Untagged => return Ok(fieldpath::untagged(text)),
        _ => {}
    }
    let r = resolve_plain(text, Dialect::V3);
    let value = match (tag, &r) {
        (Tag::Int, Resolved::Int(i)) => Some(Value::from(*i)),
        (Tag::Int, Resolved::UInt(u)) => Some(Value::from(*u)),
        (Tag::Float, Resolved::Int(i)) => {
            serde_json::Number::from_f64(*i as f64).map(Value::Number)
        }
        (Tag::Float, Resolved::UInt(u)) => {
            serde_json::Number::from_f64(*u as f64).map(Value::Number)
        }
        (Tag::Float, Resolved::Float(f)) => serde_json::Number::from_f64(*f).map(Value::Number),
        (Tag::Bool, Resolved::Bool(b)) => Some(Value::Bool(*b)),
        (Tag::Null, Resolved::Null) => Some(Value::Null),
        _ => None,
    };
    value.ok_or_else(|| {
        let rtag = match r {
            Resolved::Null => "null",
            Resolved::Bool(_) => "bool",
            Resolved::Int(_) | Resolved::UInt(_) => "int",
            Resolved::Float(_) => "float",
            Resolved::Timestamp(_) => "timestamp",
            Resolved::Str | Resolved::Merge => "str",
        };
        format!("cannot decode !!{rtag} `{text}` as a !!{}", tag.name())
    })
}

/// A target's selectors, parsed once.
struct Matchers {
    select_id: ResId,
    select_labels: LabelSelector,
    select_annotations: LabelSelector,
    /// Rejects with a label or annotation selector (parsed, as in kustomize, only once a
    /// resource is selected: a malformed one is an error then).
    reject_meta: Vec<(Result<LabelSelector, String>, Result<LabelSelector, String>)>,
    /// Rejects with a non-empty id.
    reject_ids: Vec<ResId>,
    /// Some label or annotation selector is set (else the maps are not looked at).
    meta: bool,
}

fn sel_id(s: &Selector) -> ResId {
    selector_id(&s.group, &s.version, &s.kind, &s.name, &s.namespace)
}

impl Matchers {
    fn new(t: &ReplacementTarget, select: &Selector) -> Result<Matchers, String> {
        let mut reject_meta = Vec::new();
        let mut reject_ids = Vec::new();
        for r in t.reject.iter().flatten() {
            if !r.annotation_selector.is_empty() || !r.label_selector.is_empty() {
                reject_meta.push((
                    LabelSelector::parse(&r.label_selector),
                    LabelSelector::parse(&r.annotation_selector),
                ));
            }
            let id = sel_id(r);
            if id != ResId::default() {
                reject_ids.push(id);
            }
        }
        let meta = !reject_meta.is_empty()
            || !select.label_selector.is_empty()
            || !select.annotation_selector.is_empty();
        Ok(Matchers {
            select_id: sel_id(select),
            select_labels: LabelSelector::parse(&select.label_selector)?,
            select_annotations: LabelSelector::parse(&select.annotation_selector)?,
            reject_meta,
            reject_ids,
            meta,
        })
    }

    fn matches(&self, r: &Resource) -> Result<bool, String> {
        if self.meta {
            let (labels, annotations) = (r.labels(), r.annotations());
            if !(self.select_annotations.matches(&annotations)
                && self.select_labels.matches(&labels))
            {
                return Ok(false);
            }
            for (l, a) in &self.reject_meta {
                let a = a.as_ref().map_err(Clone::clone)?.matches(&annotations);
                let l = l.as_ref().map_err(Clone::clone)?.matches(&labels);
                if a && l {
                    return Ok(false);
                }
            }
        }
        let ids = res_ids(r);
        Ok(ids.iter().any(|id| id_selected(id, &self.select_id))
            && !self
                .reject_ids
                .iter()
                .any(|rej| ids.iter().any(|id| id_selected(id, rej))))
    }
}

fn apply_target(
    m: &mut ResMap,
    value: &mut SourceValue,
    t: &ReplacementTarget,
    budget: &Budget,
) -> Result<(), TransformError> {
    let Some(select) = &t.select else {
        return Err(TransformError::config(
            NAME,
            "target must specify resources to select",
        ));
    };
    if m.is_empty() {
        return Ok(());
    }
    let matchers = Matchers::new(t, select).map_err(|e| TransformError::config(NAME, e))?;
    for i in 0..m.len() {
        let Some(r) = m.get_mut(i) else { continue };
        if !matchers
            .matches(r)
            .map_err(|e| TransformError::config(NAME, e))?
        {
            continue;
        }
        copy_value(r, i, value, t, budget).map_err(|e| TransformError::on(NAME, r, e))?;
    }
    Ok(())
}

fn copy_value(
    r: &mut Resource,
    i: usize,
    value: &mut SourceValue,
    t: &ReplacementTarget,
    budget: &Budget,
) -> Result<(), String> {
    let default = [DEFAULT_FIELD_PATH.to_string()];
    let paths = match t.field_paths.as_deref() {
        Some(p) if !p.is_empty() => p,
        _ => &default[..],
    };
    let create = t.options.as_ref().is_some_and(|o| o.create);
    let retrieval = |fp: &str| {
        if create {
            format!("unable to find or create field {fp:?} in replacement target")
        } else {
            format!("unable to find field {fp:?} in replacement target")
        }
    };
    for fp in paths {
        let found = fieldpath::find_targets(
            r.obj_mut(),
            &fieldpath::split(fp),
            create.then_some(value.leaf),
        )
        .map_err(|e| format!("{}: {e}", retrieval(fp)))?;
        if found.is_empty() {
            return Err(retrieval(fp));
        }
        for f in &found {
            let scalar = set_field(r.obj_mut(), f, t.options.as_ref(), value)?;
            let (nodes, bytes) = match (&value.node, scalar) {
                (Ok(node), Some(false)) => crate::budget::measure(node),
                _ => (1, value.text.len() as u64),
            };
            budget
                .charge_value(nodes, bytes)
                .map_err(|e| e.to_string())?;
            // kyaml writes a scalar target's text into its node, which other places may
            // share; any other target gets a copy of the value's node.
            if let Some(path) = &f.path {
                let place = fieldpath::pointer(path);
                if scalar == Some(true) {
                    r.written_in_place(&place);
                } else if scalar == Some(false) {
                    r.rebuilt(&place);
                }
                value.refresh(r, i, &place);
            }
        }
    }
    Ok(())
}

const DELIMITER_NEEDS_SCALAR: &str = "delimiter option can only be used with scalar nodes";

/// kustomize's `setFieldValue`. Says whether the target was a scalar (written in place),
/// `None` when nothing was written.
fn set_field(
    obj: &mut Value,
    f: &Found,
    options: Option<&FieldOptions>,
    value: &SourceValue,
) -> Result<Option<bool>, String> {
    let delimiter = options.map(|o| o.delimiter.as_str()).unwrap_or("");
    let Some(path) = &f.path else {
        // Created under a null node: nothing to write, but the checks still apply.
        if !delimiter.is_empty() && value.leaf != Leaf::Scalar {
            return Err(DELIMITER_NEEDS_SCALAR.into());
        }
        return Ok(None);
    };
    let Some(node) = fieldpath::get_mut(obj, path) else {
        return Ok(None);
    };
    let scalar = !node.is_object() && !node.is_array();
    let mut text = value.text.clone();
    if !delimiter.is_empty() {
        if !scalar {
            return Err(DELIMITER_NEEDS_SCALAR.into());
        }
        let current = fieldpath::raw_text(node);
        let mut pieces: Vec<&str> = current.split(delimiter).collect();
        let index = options.map_or(0, |o| o.index);
        match usize::try_from(index) {
            Err(_) => pieces.insert(0, &value.text),
            Ok(i) if i >= pieces.len() => pieces.push(&value.text),
            Ok(i) => pieces[i] = &value.text,
        }
        text = pieces.join(delimiter);
    }
    if scalar {
        // Only the text is copied; the target keeps its tag.
        let tag = if f.untagged {
            Tag::Untagged
        } else {
            Tag::of(node)
        };
        *node = typed(tag, &text)?;
    } else {
        *node = value.node.clone()?;
    }
    Ok(Some(scalar))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Source;
    use serde_json::json;

    fn resmap(docs: &[Value]) -> ResMap {
        let mut m = ResMap::new();
        for d in docs {
            m.append(Resource::new(d.clone(), Source::default()))
                .unwrap();
        }
        m
    }

    fn cm(name: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
    }

    fn repl(yaml_text: &str) -> Vec<Replacement> {
        let v = yaml::read_document(yaml_text.as_bytes(), yaml::Dialect::V2, Default::default())
            .unwrap()
            .unwrap();
        match v {
            Value::Array(items) => items
                .into_iter()
                .map(|i| from_file_value(i).unwrap())
                .collect(),
            v => vec![from_file_value(v).unwrap()],
        }
    }

    fn data(m: &ResMap, i: usize) -> Value {
        m.get(i).unwrap().obj()["data"].clone()
    }

    const COPY_S_TO_X: &str = "source: {kind: ConfigMap, name: src, fieldPath: data.s}\n\
        targets: [{select: {name: t}, fieldPaths: [data.x]}]\n";

    #[test]
    fn a_target_that_writes_the_source_node_changes_later_targets() {
        let mut m = resmap(&[cm("src", json!({"s": "a"}))]);
        let r = repl(
            "source: {kind: ConfigMap, name: src, fieldPath: data.s}\n\
             targets: [{select: {name: src}, fieldPaths: [data.s, data.t],\n\
             options: {create: true, delimiter: '-', index: -1}}]\n",
        );
        apply(&mut m, &r, &Default::default()).unwrap();
        // data.s became "a-a" before data.t was written from it.
        assert_eq!(data(&m, 0), json!({"s": "a-a", "t": "a-a-"}));
    }

    #[test]
    fn scalar_target_keeps_its_type() {
        for (src, tgt, want) in [
            (json!("8080"), json!(80), json!(8080)),
            (json!(8080), json!("80"), json!("8080")),
            (json!("true"), json!(false), json!(true)),
            (json!("0x10"), json!(1), json!(16)),
            (json!("5"), json!(1.5), json!(5.0)),
        ] {
            let mut m = resmap(&[cm("src", json!({"s": src})), cm("t", json!({"x": tgt}))]);
            apply(&mut m, &repl(COPY_S_TO_X), &Default::default()).unwrap();
            assert_eq!(data(&m, 1)["x"], want);
        }
    }

    #[test]
    fn text_the_target_type_cannot_hold_is_an_error() {
        for (src, tgt) in [
            ("abc", json!(80)),
            ("1e3", json!(80)),
            ("yes", json!(true)),
            ("x", Value::Null),
        ] {
            let mut m = resmap(&[cm("src", json!({"s": src})), cm("t", json!({"x": tgt}))]);
            assert!(
                apply(&mut m, &repl(COPY_S_TO_X), &Default::default()).is_err(),
                "{src} into {tgt}"
            );
        }
    }

    #[test]
    fn created_scalar_reads_back_plain() {
        let r = repl(
            "source: {kind: ConfigMap, name: src, fieldPath: data.s}\n\
             targets: [{select: {name: t}, fieldPaths: [data.n, data.q], options: {create: true}}]\n",
        );
        let mut m = resmap(&[cm("src", json!({"s": "8080"})), cm("t", json!({}))]);
        apply(&mut m, &r, &Default::default()).unwrap();
        assert_eq!(data(&m, 1), json!({"n": 8080, "q": 8080}));
        let mut m = resmap(&[cm("src", json!({"s": "a: b"})), cm("t", json!({}))]);
        apply(&mut m, &r, &Default::default()).unwrap();
        assert_eq!(data(&m, 1)["n"], json!("a: b"));
    }

    #[test]
    fn map_source_into_scalar_copies_empty_text() {
        let r = repl(
            "source: {kind: ConfigMap, name: src, fieldPath: data}\n\
             targets: [{select: {name: t}, fieldPaths: [data.x]}]\n",
        );
        let mut m = resmap(&[cm("src", json!({"s": "a"})), cm("t", json!({"x": "old"}))]);
        apply(&mut m, &r, &Default::default()).unwrap();
        assert_eq!(data(&m, 1)["x"], json!(""));
    }

    #[test]
    fn delimiter_splices_into_target_text() {
        for (index, want) in [(-1, "v/a/b"), (1, "a/v"), (5, "a/b/v")] {
            let r = repl(&format!(
                "source: {{kind: ConfigMap, name: src, fieldPath: data.s}}\n\
                 targets: [{{select: {{name: t}}, fieldPaths: [data.x], options: {{delimiter: /, index: {index}}}}}]\n"
            ));
            let mut m = resmap(&[cm("src", json!({"s": "v"})), cm("t", json!({"x": "a/b"}))]);
            apply(&mut m, &r, &Default::default()).unwrap();
            assert_eq!(data(&m, 1)["x"], json!(want));
        }
    }

    #[test]
    fn source_delimiter_index_out_of_bounds_is_an_error() {
        let r = repl(
            "source: {kind: ConfigMap, name: src, fieldPath: data.s, options: {delimiter: /, index: -1}}\n\
             targets: [{select: {name: t}, fieldPaths: [data.x]}]\n",
        );
        let mut m = resmap(&[cm("src", json!({"s": "a/b"})), cm("t", json!({"x": "y"}))]);
        let e = apply(&mut m, &r, &Default::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("options.index -1 is out of bounds for value a/b"),
            "{e}"
        );
    }

    #[test]
    fn source_must_be_unique_and_present() {
        let mut m = resmap(&[cm("a", json!({"s": "1"})), cm("b", json!({"s": "2"}))]);
        let e = apply(
            &mut m,
            &repl("source: {kind: ConfigMap}\ntargets: [{select: {}}]\n"),
            &Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("multiple matches for selector ConfigMap.[noVer].[noGrp]/[noName].[noNs]"),
            "{e}"
        );
        let e = apply(
            &mut m,
            &repl("source: {kind: Secret}\ntargets: [{select: {}}]\n"),
            &Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("nothing selected by Secret"), "{e}");
        let e = apply(
            &mut m,
            &repl("source: {name: a, fieldPath: data.zz}\ntargets: [{select: {}}]\n"),
            &Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("fieldPath `data.zz` is missing"), "{e}");
    }

    #[test]
    fn missing_target_field_without_create_is_an_error() {
        let r = repl(
            "source: {name: a, fieldPath: data.s}\ntargets: [{select: {name: b}, fieldPaths: [data.x]}]\n",
        );
        let mut m = resmap(&[cm("a", json!({"s": "1"})), cm("b", json!({}))]);
        let e = apply(&mut m, &r, &Default::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unable to find field \"data.x\" in replacement target"),
            "{e}"
        );
    }

    #[test]
    fn reject_by_label_or_by_id() {
        let mut a = cm("a", json!({"x": "0"}));
        a["metadata"]["labels"] = json!({"skip": "yes"});
        let r = repl(
            "source: {name: src, fieldPath: data.s}\n\
             targets: [{select: {kind: ConfigMap}, reject: [{labelSelector: skip=yes, name: b}, {name: src}], fieldPaths: [data.x]}]\n",
        );
        let mut m = resmap(&[
            cm("src", json!({"s": "v"})),
            a,
            cm("b", json!({"x": "0"})),
            cm("c", json!({"x": "0"})),
        ]);
        apply(&mut m, &r, &Default::default()).unwrap();
        assert_eq!(data(&m, 1)["x"], json!("0"));
        assert_eq!(data(&m, 2)["x"], json!("0"));
        assert_eq!(data(&m, 3)["x"], json!("v"));
    }

    #[test]
    fn selectors_match_ids_exactly_not_as_patterns() {
        let r = repl(
            "source: {name: src, fieldPath: data.s}\ntargets: [{select: {name: 't.*'}, fieldPaths: [data.x]}]\n",
        );
        let mut m = resmap(&[cm("src", json!({"s": "v"})), cm("t1", json!({"x": "0"}))]);
        apply(&mut m, &r, &Default::default()).unwrap();
        assert_eq!(data(&m, 1)["x"], json!("0"));
    }

    #[test]
    fn file_fields_match_case_insensitively() {
        let r = repl("SOURCE: {KIND: ConfigMap, fieldpath: data.s, bogus: 1}\ntargets: []\n");
        assert_eq!(r[0].source.as_ref().unwrap().kind, "ConfigMap");
        assert_eq!(r[0].source.as_ref().unwrap().field_path, "data.s");
        assert_eq!(r[0].targets, Some(vec![]));
    }

    #[test]
    fn missing_source_or_targets_is_an_error() {
        let mut m = resmap(&[cm("a", json!({}))]);
        let r = vec![Replacement {
            source: Some(Default::default()),
            targets: None,
        }];
        assert!(apply(&mut m, &r, &Default::default()).is_err());
    }
}
