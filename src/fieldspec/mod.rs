//! Field specs: which fields of which kinds a transformer touches, and the one walker that
//! visits them.
//!
//! A [`FieldSpec`] pairs a gvk selector with a `/`-separated path (`spec/template/metadata/
//! labels`). [`walk`] follows the path through maps, visits every element of any list it
//! meets on the way (kustomize's `fieldspec` filter does the same, so `spec/containers/image`
//! reaches every container), optionally creates missing fields, and hands each target node to
//! a per-transformer callback. Transformers are therefore only "what to do with this value".
//!
//! The built-in tables ([`TransformerConfig::defaults`]) are data (`defaults.txt`), merged
//! with user `configurations:` files exactly as kustomize merges them.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::kustomization::FieldSpecArgs;

pub mod crds;
use crate::resource::Gvk;

/// One path segment; `is_list` for a trailing `[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub is_list: bool,
}

/// Where a transformer acts. Shared, not copied: every kustomization starts from the
/// default tables and merges its bases' tables, so specs are cloned by the thousand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec(std::sync::Arc<Spec>);

/// What a [`FieldSpec`] holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Spec {
    pub gvk: Gvk,
    pub path: String,
    pub create: bool,
    pub segments: Vec<Segment>,
}

impl std::ops::Deref for FieldSpec {
    type Target = Spec;
    fn deref(&self) -> &Spec {
        &self.0
    }
}

impl FieldSpec {
    pub fn new(gvk: Gvk, path: &str, create: bool) -> FieldSpec {
        FieldSpec(std::sync::Arc::new(Spec {
            gvk,
            path: path.to_string(),
            create,
            segments: split_path(path),
        }))
    }

    /// Does this spec apply to an object of type `gvk`?
    pub fn applies_to(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.gvk)
    }

    /// kustomize's `effectivelyEquals`, asymmetric on purpose: an existing spec absorbs an
    /// incoming one when the existing gvk is selected by the incoming selector. A general
    /// incoming spec (empty gvk) is therefore dropped after a specific one with the same
    /// path (fixture TestIssue4884_UseLocalConfigAsNameRefSource: a `namePrefix`
    /// configuration for one kind turns the default prefix off for all others).
    fn effectively_equals(&self, other: &FieldSpec) -> bool {
        self.path == other.path && self.gvk.is_selected_by(&other.gvk)
    }
}

impl From<&FieldSpecArgs> for FieldSpec {
    fn from(a: &FieldSpecArgs) -> FieldSpec {
        FieldSpec::new(Gvk::new(&a.group, &a.version, &a.kind), &a.path, a.create)
    }
}

/// Splits at `/`, honouring `\/` as a literal slash (kustomize's `PathSplitter`).
pub fn split_path(path: &str) -> Vec<Segment> {
    let mut parts: Vec<String> = Vec::new();
    for p in path.split('/') {
        match parts.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(p);
            }
            _ => parts.push(p.to_string()),
        }
    }
    parts
        .into_iter()
        .map(|p| match p.strip_suffix("[]") {
            Some(n) => Segment {
                name: n.to_string(),
                is_list: true,
            },
            None => Segment {
                name: p,
                is_list: false,
            },
        })
        .collect()
}

/// A list of field specs with kustomize's merge rule (duplicates dropped; the same field
/// with a different `create` is a conflict).
pub type FsSlice = Vec<FieldSpec>;

fn merge_one(s: &mut FsSlice, x: &FieldSpec) -> Result<(), String> {
    if let Some(existing) = s.iter().find(|e| e.effectively_equals(x)) {
        if existing.create != x.create {
            return Err(format!("conflicting fieldspecs for path {:?}", x.path));
        }
        return Ok(());
    }
    s.push(x.clone());
    Ok(())
}

/// Merges `incoming` into `s` (existing entries are not de-duplicated among themselves).
pub fn merge_all(s: &mut FsSlice, incoming: &[FieldSpec]) -> Result<(), String> {
    for x in incoming {
        merge_one(s, x)?;
    }
    Ok(())
}

/// kustomize sorts every table by the legacy kind order of its specs' gvks after loading
/// and after each merge; the order decides which duplicates the next merge drops.
fn sort_specs(s: &mut FsSlice) {
    let order = |a: &FieldSpec, b: &FieldSpec| crate::build::sort::gvk_order(&a.gvk, &b.gvk);
    // Tables are sorted after every merge, and most merges add nothing.
    if !s.is_sorted_by(|a, b| order(a, b).is_le()) {
        s.sort_by(order);
    }
}

/// Fields that refer to resources of kind `gvk` by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameBackRef {
    pub gvk: Gvk,
    pub referrers: FsSlice,
}

/// Field specs of every built-in transformer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformerConfig {
    pub name_prefix: FsSlice,
    pub name_suffix: FsSlice,
    pub namespace: FsSlice,
    pub common_labels: FsSlice,
    pub labels: FsSlice,
    pub template_labels: FsSlice,
    pub common_annotations: FsSlice,
    pub name_reference: Vec<NameBackRef>,
    pub var_reference: FsSlice,
    pub images: FsSlice,
    pub replicas: FsSlice,
}

/// The `configurations:` file format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigFile {
    #[serde(default)]
    name_prefix: Vec<FieldSpecArgs>,
    #[serde(default)]
    name_suffix: Vec<FieldSpecArgs>,
    #[serde(default)]
    namespace: Vec<FieldSpecArgs>,
    #[serde(default)]
    common_labels: Vec<FieldSpecArgs>,
    #[serde(default)]
    labels: Vec<FieldSpecArgs>,
    #[serde(default)]
    template_labels: Vec<FieldSpecArgs>,
    #[serde(default)]
    common_annotations: Vec<FieldSpecArgs>,
    #[serde(default)]
    name_reference: Vec<NameBackRefArgs>,
    #[serde(default)]
    var_reference: Vec<FieldSpecArgs>,
    #[serde(default)]
    images: Vec<FieldSpecArgs>,
    #[serde(default)]
    replicas: Vec<FieldSpecArgs>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NameBackRefArgs {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    field_specs: Vec<FieldSpecArgs>,
}

fn specs(v: &[FieldSpecArgs]) -> FsSlice {
    v.iter().map(FieldSpec::from).collect()
}

impl TransformerConfig {
    /// kustomize's built-in tables.
    pub fn defaults() -> &'static TransformerConfig {
        static DEFAULTS: OnceLock<TransformerConfig> = OnceLock::new();
        DEFAULTS.get_or_init(|| parse_defaults(include_str!("defaults.txt")))
    }

    /// A config read from a `configurations:` file (already parsed to a value).
    pub fn from_value(v: Value) -> Result<TransformerConfig, String> {
        let f: ConfigFile = serde_json::from_value(v).map_err(|e| e.to_string())?;
        let mut tc = TransformerConfig {
            name_prefix: specs(&f.name_prefix),
            name_suffix: specs(&f.name_suffix),
            namespace: specs(&f.namespace),
            common_labels: specs(&f.common_labels),
            labels: specs(&f.labels),
            template_labels: specs(&f.template_labels),
            common_annotations: specs(&f.common_annotations),
            name_reference: f
                .name_reference
                .iter()
                .map(|n| NameBackRef {
                    gvk: Gvk::new(&n.group, &n.version, &n.kind),
                    referrers: specs(&n.field_specs),
                })
                .collect(),
            var_reference: specs(&f.var_reference),
            images: specs(&f.images),
            replicas: specs(&f.replicas),
        };
        tc.sort();
        Ok(tc)
    }

    /// kustomize's `TransformerConfig.Merge`.
    pub fn merge(&mut self, o: &TransformerConfig) -> Result<(), String> {
        merge_all(&mut self.name_prefix, &o.name_prefix)?;
        merge_all(&mut self.name_suffix, &o.name_suffix)?;
        merge_all(&mut self.namespace, &o.namespace)?;
        merge_all(&mut self.common_annotations, &o.common_annotations)?;
        merge_all(&mut self.common_labels, &o.common_labels)?;
        merge_all(&mut self.labels, &o.labels)?;
        merge_all(&mut self.template_labels, &o.template_labels)?;
        merge_all(&mut self.var_reference, &o.var_reference)?;
        for nbr in &o.name_reference {
            match self.name_reference.iter_mut().find(|c| c.gvk == nbr.gvk) {
                Some(c) => merge_all(&mut c.referrers, &nbr.referrers)?,
                None => self.name_reference.push(nbr.clone()),
            }
        }
        merge_all(&mut self.images, &o.images)?;
        merge_all(&mut self.replicas, &o.replicas)?;
        self.sort();
        Ok(())
    }

    /// kustomize's `sortFields`.
    fn sort(&mut self) {
        for s in [
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.namespace,
            &mut self.common_labels,
            &mut self.labels,
            &mut self.template_labels,
            &mut self.common_annotations,
            &mut self.var_reference,
            &mut self.images,
            &mut self.replicas,
        ] {
            sort_specs(s);
        }
        self.name_reference
            .sort_by(|a, b| crate::build::sort::gvk_order(&a.gvk, &b.gvk));
    }
}

fn parse_selector(s: &str) -> Gvk {
    let mut parts = s.splitn(3, ':');
    let g = parts.next().unwrap_or("");
    let v = parts.next().unwrap_or("");
    let k = parts.next().unwrap_or("");
    Gvk::new(g, v, k)
}

/// Reads `defaults.txt` (see its header for the layout).
fn parse_defaults(text: &str) -> TransformerConfig {
    let mut tc = TransformerConfig::default();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = h.to_string();
            if let Some(sel) = h.strip_prefix("nameReference ") {
                tc.name_reference.push(NameBackRef {
                    gvk: parse_selector(sel),
                    referrers: Vec::new(),
                });
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let sel = words.next().unwrap_or("");
        let path = words.next().unwrap_or("");
        let create = words.next() == Some("+");
        let fs = FieldSpec::new(parse_selector(sel), path, create);
        let target = match section.as_str() {
            "namePrefix" => &mut tc.name_prefix,
            "nameSuffix" => &mut tc.name_suffix,
            "namespace" => &mut tc.namespace,
            "commonLabels" => &mut tc.common_labels,
            "templateLabels" => &mut tc.template_labels,
            "commonAnnotations" => &mut tc.common_annotations,
            "varReference" => &mut tc.var_reference,
            "images" => &mut tc.images,
            "replicas" => &mut tc.replicas,
            s if s.starts_with("nameReference ") => match tc.name_reference.last_mut() {
                Some(n) => &mut n.referrers,
                None => continue,
            },
            _ => continue,
        };
        // The tables repeat a few entries; keep kustomize's de-duplicated view.
        let _ = merge_one(target, &fs);
    }
    tc.name_reference
        .sort_by(|a, b| crate::build::sort::gvk_order(&a.gvk, &b.gvk));
    tc
}

/// What to create at the end of the path when the field is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Never create (a missing field is skipped).
    Never,
    /// Create an empty map (labels, annotations).
    Map,
    /// Create an empty string scalar (names, namespaces, images).
    Scalar,
    /// Create the integer 0 placeholder (replicas).
    Int,
}

/// An error on the way down a field path.
#[derive(Debug, thiserror::Error)]
#[error("considering field '{path}': {message}")]
pub struct WalkError {
    pub path: String,
    pub message: String,
}

/// Visits every node `spec` designates in `obj`, creating missing fields when
/// `spec.create` and `leaf != Create::Never`. The caller checks the gvk.
pub fn walk(
    obj: &mut Value,
    spec: &FieldSpec,
    leaf: Create,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), WalkError> {
    walk_with_path(obj, spec, leaf, &mut |node, _| f(node))
}

/// One step from the root to a node [`walk_with_path`] visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep<'a> {
    Key(&'a str),
    Index(usize),
}

/// A JSON pointer (RFC 6901) for `steps`, then `key` when given.
pub fn pointer(steps: &[PathStep], key: Option<&str>) -> String {
    let mut out = String::new();
    let mut push = |k: &str| {
        out.push('/');
        out.push_str(&k.replace('~', "~0").replace('/', "~1"));
    };
    for s in steps {
        match s {
            PathStep::Key(k) => push(k),
            PathStep::Index(i) => push(&i.to_string()),
        }
    }
    if let Some(k) = key {
        push(k);
    }
    out
}

/// What [`walk_with_path`] calls on each node: the node and the steps to it.
pub type PathVisitor<'f> = dyn FnMut(&mut Value, &[PathStep]) -> Result<(), String> + 'f;

/// [`walk`], also telling `f` where each node is.
pub fn walk_with_path(
    obj: &mut Value,
    spec: &FieldSpec,
    leaf: Create,
    f: &mut PathVisitor,
) -> Result<(), WalkError> {
    let mut path = Vec::new();
    walk_segments(obj, &spec.segments, spec.create, leaf, &mut path, f).map_err(|message| {
        WalkError {
            path: spec.path.clone(),
            message,
        }
    })
}

fn walk_segments<'s>(
    node: &mut Value,
    segs: &'s [Segment],
    create: bool,
    leaf: Create,
    path: &mut Vec<PathStep<'s>>,
    f: &mut PathVisitor,
) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        return f(node, path);
    };
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(PathStep::Index(i));
                let r = walk_segments(item, segs, create, leaf, path, f);
                path.pop();
                r?;
            }
            Ok(())
        }
        Value::Object(map) => {
            if seg.name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            // What kind of node to create when the field is missing (or null).
            let make: Option<fn() -> Value> = if !create || leaf == Create::Never || seg.is_list {
                if seg.is_list {
                    Some(|| Value::Array(Vec::new()))
                } else {
                    None
                }
            } else if rest.is_empty() {
                Some(match leaf {
                    Create::Map => || Value::Object(Map::new()),
                    Create::Int => || Value::from(0),
                    _ => || Value::String(String::new()),
                })
            } else {
                Some(|| Value::Object(Map::new()))
            };
            let creating = create && leaf != Create::Never && !seg.is_list;
            let field = match map.get_mut(&seg.name) {
                Some(v) => v,
                None if creating => {
                    let mk = make.unwrap_or(|| Value::Object(Map::new()));
                    map.entry(seg.name.clone()).or_insert_with(mk)
                }
                None => return Ok(()),
            };
            if field.is_null() {
                // kustomize turns an existing null into the node kind it would create.
                if let Some(mk) = make {
                    *field = mk();
                }
            }
            path.push(PathStep::Key(&seg.name));
            let r = walk_segments(field, rest, create, leaf, path, f);
            path.pop();
            r
        }
        _ => Err("expected sequence or mapping node".into()),
    }
}

/// The read-only side of [`walk`]: calls `f` on every node that walk would visit, in the
/// same order, without creating anything. `Ok(true)` when visiting is all that walk would
/// do; `Ok(false)` when it would also change the object itself (create a missing field,
/// turn a null into the node it expects), and `Err` when it, or `f`, fails: then the
/// caller walks mutably, to change what must change and to fail with walk's error. Lets
/// transformers that often change nothing leave objects shared with cached renders
/// unshared.
pub fn visit(
    obj: &Value,
    spec: &FieldSpec,
    leaf: Create,
    f: &mut dyn FnMut(&Value) -> Result<(), String>,
) -> Result<bool, String> {
    visit_segments(obj, &spec.segments, spec.create && leaf != Create::Never, f)
}

fn visit_segments(
    node: &Value,
    segs: &[Segment],
    creates: bool,
    f: &mut dyn FnMut(&Value) -> Result<(), String>,
) -> Result<bool, String> {
    let Some((seg, rest)) = segs.split_first() else {
        f(node)?;
        return Ok(true);
    };
    match node {
        Value::Null => Ok(true),
        Value::Array(items) => {
            let mut pure = true;
            for item in items {
                pure &= visit_segments(item, segs, creates, f)?;
            }
            Ok(pure)
        }
        Value::Object(map) => {
            if seg.name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            // As in walk_segments: lists are made where null, other fields where missing
            // or null when the walk creates.
            match map.get(&seg.name) {
                None => Ok(!creates || seg.is_list),
                Some(Value::Null) if seg.is_list || creates => Ok(false),
                Some(field) => visit_segments(field, rest, creates, f),
            }
        }
        _ => Err("expected sequence or mapping node".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_load() {
        let d = TransformerConfig::defaults();
        assert_eq!(d.name_prefix.len(), 1);
        assert!(d
            .common_labels
            .iter()
            .any(|f| f.path == "spec/selector" && f.gvk.kind == "Service" && f.create));
        assert!(d.name_reference.iter().any(|n| n.gvk.kind == "ConfigMap"));
        assert!(d.images.iter().any(|f| f.segments[1].is_list));
    }

    #[test]
    fn escaped_slash_stays_in_segment() {
        let s = split_path(r"metadata/annotations/nginx.ingress.kubernetes.io\/auth-secret");
        assert_eq!(s.len(), 3);
        assert_eq!(s[2].name, "nginx.ingress.kubernetes.io/auth-secret");
    }

    #[test]
    fn visit_sees_what_a_walk_visits_and_knows_when_the_walk_changes_more() {
        let cases = [
            json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}, {}]}}),
            json!({"spec": {"containers": null}}),
            json!({"spec": {"a": [[{"b": 1}], {"b": 2}, null]}}),
            json!({"spec": {"a": null}}),
            json!({"spec": {"a": {"b": null}}}),
            json!({"spec": {"a": {"b": "x"}}}),
            json!({"spec": "x"}),
            json!({"spec": {"a": 1}}),
            json!({"metadata": {}}),
            json!({}),
        ];
        let paths = [
            "spec/containers[]/image",
            "spec/a/b",
            "spec/a",
            "spec//a",
            "spec/a[]/b",
        ];
        let mut pure_seen = [false; 2];
        for obj in &cases {
            for path in paths {
                for create in [false, true] {
                    for leaf in [Create::Never, Create::Map, Create::Scalar, Create::Int] {
                        let fs = FieldSpec::new(Gvk::default(), path, create);
                        let mut seen = Vec::new();
                        let visited = visit(obj, &fs, leaf, &mut |n| {
                            seen.push(n.clone());
                            Ok(())
                        });
                        let mut walked = obj.clone();
                        let mut seen_walking = Vec::new();
                        let walk_result = walk(&mut walked, &fs, leaf, &mut |n| {
                            seen_walking.push(n.clone());
                            Ok(())
                        });
                        let case = format!("{obj} {path} create={create} {leaf:?}");
                        match visited {
                            Ok(true) => {
                                assert!(walk_result.is_ok(), "{case}");
                                assert_eq!(walked, *obj, "{case}: a pure walk changes nothing");
                                assert_eq!(seen, seen_walking, "{case}");
                                pure_seen[1] = true;
                            }
                            // The walk goes on from where visiting stopped: it changes the
                            // object, and may fail further down.
                            Ok(false) => {
                                assert_ne!(walked, *obj, "{case}");
                                pure_seen[0] = true;
                            }
                            Err(_) => assert!(walk_result.is_err(), "{case}"),
                        }
                    }
                }
            }
        }
        assert_eq!(pure_seen, [true, true]);
        // The visitor's error is visit's.
        let fs = FieldSpec::new(Gvk::default(), "a", false);
        assert!(visit(&json!({"a": 1}), &fs, Create::Never, &mut |_| Err(
            "no".into()
        ))
        .is_err());
    }

    #[test]
    fn walks_through_lists_and_creates() {
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let fs = FieldSpec::new(Gvk::default(), "spec/containers[]/image", true);
        let mut seen = Vec::new();
        walk(&mut v, &fs, Create::Scalar, &mut |n| {
            seen.push(n.as_str().unwrap_or("").to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec!["a", "b"]);

        let mut v = json!({"metadata": {}});
        let fs = FieldSpec::new(Gvk::default(), "metadata/labels", true);
        walk(&mut v, &fs, Create::Map, &mut |n| {
            n.as_object_mut().unwrap().insert("a".into(), json!("b"));
            Ok(())
        })
        .unwrap();
        assert_eq!(v, json!({"metadata": {"labels": {"a": "b"}}}));
    }

    #[test]
    fn scalar_in_the_middle_is_an_error() {
        let mut v = json!({"spec": "x"});
        let fs = FieldSpec::new(Gvk::default(), "spec/template/metadata", false);
        assert!(walk(&mut v, &fs, Create::Never, &mut |_| Ok(())).is_err());
    }
}
