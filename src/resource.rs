//! Resources, their ids, and the ordered, indexed resource map.
//!
//! A [`Resource`] is one Kubernetes object (a `serde_json::Value` map) plus what kustomize
//! tracks about it during a build: previous ids (every rename is remembered so patches and
//! name references can still find it by its original name), the name prefixes and suffixes
//! applied, which resources refer to it, and generator options. kustomize keeps these as
//! `internal.config.kubernetes.io/*` annotations on the object; here they are fields, so
//! they can never leak into the output. Where kustomize lets a patch see them, `bookkeeping`
//! writes them into the object for the patch and reads them back.
//!
//! [`ResMap`] keeps insertion order (the output order before sorting) and an index from
//! current id to position, so appends, conflict checks and lookups stay O(1) and a build
//! stays linear in the number of resources.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::schema;

mod aliases;
mod bookkeeping;
pub use bookkeeping::{Keep, BUILD_ANNOTATIONS, ORIGIN, TRANSFORMATIONS};

/// Group, version, kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn new(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// Splits an `apiVersion` into group and version (`v1` → `("", "v1")`).
    pub fn parse_api_version(api_version: &str) -> (&str, &str) {
        match api_version.find('/') {
            Some(i) => (&api_version[..i], &api_version[i + 1..]),
            None => ("", api_version),
        }
    }

    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (g, v) = Gvk::parse_api_version(api_version);
        Gvk::new(g, v, kind)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn is_cluster_scoped(&self) -> bool {
        schema::is_cluster_scoped(&self.api_version(), &self.kind)
    }

    /// kustomize's `Gvk.IsSelected`: every non-empty part of `selector` must match.
    pub fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }
}

impl fmt::Display for Gvk {
    /// kustomize's `Gvk.String()`: `Kind.version.group` with placeholders for empty parts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }
}

pub const DEFAULT_NAMESPACE: &str = "default";
/// kustomize's stand-in namespace for cluster-scoped ids.
pub const NOT_NAMESPACEABLE: &str = "_non_namespaceable_";

/// A resource id: gvk, name, namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    pub fn new(gvk: Gvk, name: &str, namespace: &str) -> ResId {
        ResId {
            gvk,
            name: name.to_string(),
            namespace: namespace.to_string(),
        }
    }

    /// Cluster-scoped ids have no namespace; an empty namespace means `default`.
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            NOT_NAMESPACEABLE
        } else if self.namespace.is_empty() || self.namespace == DEFAULT_NAMESPACE {
            DEFAULT_NAMESPACE
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`: same gvk and name, same effective namespace.
    pub fn equals(&self, o: &ResId) -> bool {
        self.name == o.name
            && self.gvk == o.gvk
            && self.effective_namespace() == o.effective_namespace()
    }

    /// The key under which [`ResMap`] indexes this id.
    pub fn key(&self) -> IdKey {
        IdKey {
            gvk: self.gvk.clone(),
            name: self.name.clone(),
            namespace: self.effective_namespace().to_string(),
        }
    }

    /// kustomize's `IsSelectedBy` for plain (non-regex) selectors.
    pub fn is_selected_by(&self, selector: &ResId) -> bool {
        (selector.name.is_empty() || selector.name == self.name)
            && (selector.namespace.is_empty()
                || selector.effective_namespace() == self.effective_namespace())
            && self.gvk.is_selected_by(&selector.gvk)
    }
}

impl fmt::Display for ResId {
    /// kustomize's `ResId.String()`: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        let name = if self.name.is_empty() {
            "[noName]"
        } else {
            &self.name
        };
        write!(f, "{}/{}.{}", self.gvk, name, ns)
    }
}

/// Equality key of an id (gvk, name, effective namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdKey {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

/// A remembered earlier identity: kustomize stores kind, name and namespace, and rebuilds
/// the id with the resource's *current* group and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrevId {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// `behavior:` of a generated ConfigMap or Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    Create,
    Replace,
    Merge,
}

impl Behavior {
    /// kustomize's `NewGenerationBehavior`: any other word is "unspecified", which acts as
    /// `create` (a resource with that id must not exist yet).
    pub fn parse(s: &str) -> Behavior {
        match s {
            "replace" => Behavior::Replace,
            "merge" => Behavior::Merge,
            _ => Behavior::Create,
        }
    }
}

/// kustomize's `resource.Origin`: where a resource was read or which plugin made or
/// changed it (`buildMetadata: [originAnnotations, transformerAnnotations]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub path: String,
    /// The repository a remote resource came from (its clone URL).
    pub repo: String,
    /// The ref of that repository.
    pub git_ref: String,
    pub configured_in: String,
    /// apiVersion, kind, name, namespace of the configuring plugin.
    pub configured_by: [String; 4],
}

impl Origin {
    /// kustomize's `Origin.Append`: the origin of something at `input` relative to this
    /// one. A repository URL starts over at that repository (its directory, where
    /// kustomize's own arithmetic on the not-yet-cloned path gives `notCloned` for the
    /// repository's root); a path is joined as Go's `filepath.Join` joins.
    pub fn append(&self, input: &str) -> Origin {
        let mut o = self.clone();
        let mut input = input.to_string();
        if let Ok(spec) = crate::remote::RepoSpec::parse(&input) {
            o.repo = spec.clone_url();
            o.git_ref = spec.git_ref.clone();
            o.path = String::new();
            let dir = spec.kust_dir();
            input = if dir.is_empty() {
                "notCloned".into()
            } else {
                dir
            };
        }
        let joined = crate::fs::normalize(&std::path::Path::new(&o.path).join(&input));
        o.path = match joined.to_string_lossy().as_ref() {
            "." => String::new(),
            s => s.to_string(),
        };
        o
    }

    /// The YAML kustomize writes into the annotation (fields in declaration order,
    /// empty ones left out, 2-space indentation).
    pub fn to_yaml(&self, indent: &str) -> String {
        let mut out = String::new();
        let mut first = true;
        let mut line = |out: &mut String, text: String| {
            out.push_str(if first { "" } else { indent });
            first = false;
            out.push_str(&text);
            out.push('\n');
        };
        if !self.path.is_empty() {
            line(&mut out, format!("path: {}", yaml_scalar(&self.path)));
        }
        if !self.repo.is_empty() {
            line(&mut out, format!("repo: {}", yaml_scalar(&self.repo)));
        }
        if !self.git_ref.is_empty() {
            line(&mut out, format!("ref: {}", yaml_scalar(&self.git_ref)));
        }
        if !self.configured_in.is_empty() {
            line(
                &mut out,
                format!("configuredIn: {}", yaml_scalar(&self.configured_in)),
            );
        }
        if self.configured_by.iter().any(|s| !s.is_empty()) {
            line(&mut out, "configuredBy:".to_string());
            for (k, v) in ["apiVersion", "kind", "name", "namespace"]
                .iter()
                .zip(&self.configured_by)
            {
                if !v.is_empty() {
                    line(&mut out, format!("  {k}: {}", yaml_scalar(v)));
                }
            }
        }
        out
    }
}

/// A scalar for the origin annotations: plain when that reads back as the same string.
fn yaml_scalar(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && crate::yaml::resolve::v2_plain_is_string(s)
        && crate::yaml::emit::plain_allowed(s);
    if plain_ok {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

/// Where a resource came from (for error messages and origin annotations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// The file, relative to the build root where possible.
    pub file: Arc<str>,
    /// 1-based line where the document starts (0 when generated).
    pub line: usize,
}

/// One Kubernetes object and its build-time bookkeeping.
#[derive(Debug, Clone)]
pub struct Resource {
    obj: Value,
    pub prev_ids: Vec<PrevId>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    pub ref_by: Vec<ResId>,
    /// `Some` for generated ConfigMaps/Secrets.
    pub generated: Option<Generated>,
    pub ref_var_names: Vec<String>,
    pub source: Source,
    /// kustomize's `config.kubernetes.io/origin`, tracked when buildMetadata is set.
    pub origin: Option<Origin>,
    /// kustomize's `alpha.config.kubernetes.io/transformations`.
    pub transformations: Vec<Origin>,
    /// Map entries the source wrote with no value (`key:`); see
    /// [`crate::yaml::Document::empty_nulls`]. A strategic merge drops them.
    pub empty_nulls: Vec<String>,
    /// Annotation keys whose values were written as plain nulls
    /// ([`crate::yaml::Document::null_annotations`]).
    pub null_annotations: Vec<String>,
    /// Places (JSON pointers) that are one node in kustomize; see `aliases.rs`.
    aliases: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub behavior: Behavior,
    pub needs_hash: bool,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

impl Resource {
    /// Wraps an object; the caller guarantees it is a map.
    pub fn new(obj: Value, source: Source) -> Resource {
        Resource {
            obj,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            ref_by: Vec::new(),
            generated: None,
            ref_var_names: Vec::new(),
            source,
            origin: None,
            transformations: Vec::new(),
            empty_nulls: Vec::new(),
            null_annotations: Vec::new(),
            aliases: Vec::new(),
        }
    }

    pub fn obj(&self) -> &Value {
        &self.obj
    }

    /// Mutable access to the object. Callers that change kind, apiVersion, name or
    /// namespace must let the owning [`ResMap`] reindex.
    pub fn obj_mut(&mut self) -> &mut Value {
        &mut self.obj
    }

    pub fn into_obj(self) -> Value {
        self.obj
    }

    pub fn map(&self) -> Option<&Map<String, Value>> {
        self.obj.as_object()
    }

    pub fn api_version(&self) -> &str {
        str_at(&self.obj, &["apiVersion"])
    }
    pub fn kind(&self) -> &str {
        str_at(&self.obj, &["kind"])
    }
    pub fn name(&self) -> &str {
        str_at(&self.obj, &["metadata", "name"])
    }
    pub fn namespace(&self) -> &str {
        str_at(&self.obj, &["metadata", "namespace"])
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    pub fn cur_id(&self) -> ResId {
        ResId::new(self.gvk(), self.name(), self.namespace())
    }

    /// Previous ids, oldest first (with the current group/version, as kustomize does).
    pub fn prev_res_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.prev_ids
            .iter()
            .map(|p| {
                ResId::new(
                    Gvk {
                        kind: p.kind.clone(),
                        ..gvk.clone()
                    },
                    &p.name,
                    &p.namespace,
                )
            })
            .collect()
    }

    /// The id the resource had when it entered the build.
    pub fn org_id(&self) -> ResId {
        self.prev_res_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Previous ids then the current one.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut v = self.prev_res_ids();
        v.push(self.cur_id());
        v
    }

    /// What kyaml's merge walk does to entries written `key:`: they disappear (those still
    /// null where they were read).
    /// kustomize puts its internal annotations into the annotation map of every resource it
    /// reads from a file, so a null `annotations:` there is an (empty) map from then on:
    /// patches and replacements can add to it, and it is not printed.
    pub fn null_annotations_to_absent(&mut self) {
        if let Some(Value::Object(meta)) = self.obj.get_mut("metadata") {
            if meta.get("annotations").is_some_and(Value::is_null) {
                meta.remove("annotations");
            }
        }
    }

    pub fn drop_empty_nulls(&mut self) {
        for p in std::mem::take(&mut self.empty_nulls) {
            let Some((parent, key)) = p.rsplit_once('/') else {
                continue;
            };
            let key = key.replace("~1", "/").replace("~0", "~");
            if let Some(Value::Object(m)) = self.obj.pointer_mut(parent) {
                if m.get(&key).is_some_and(Value::is_null) {
                    m.remove(&key);
                }
            }
        }
    }

    /// kustomize's `StorePreviousId`: remember the current identity before a rename.
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        let ns = id.effective_namespace().to_string();
        self.prev_ids.push(PrevId {
            kind: id.gvk.kind,
            name: id.name,
            namespace: ns,
        });
    }

    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = ensure_object(&mut self.obj);
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        ensure_object(meta)
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    /// Sets the namespace; an empty one removes the field.
    pub fn set_namespace(&mut self, ns: &str) {
        if ns.is_empty() {
            if let Some(m) = self.obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("namespace");
            }
        } else {
            self.metadata_mut()
                .insert("namespace".into(), Value::String(ns.to_string()));
        }
    }

    pub fn set_kind(&mut self, kind: &str) {
        ensure_object(&mut self.obj).insert("kind".into(), Value::String(kind.to_string()));
    }

    /// Labels as strings (kustomize's `GetLabels`).
    pub fn labels(&self) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// Annotations as strings (kustomize's `GetAnnotations`).
    pub fn annotations(&self) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.obj
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }

    /// kustomize's `CopyMergeMetaDataFieldsFrom(old)`: labels and annotations merged (this
    /// resource's win), name, namespace and build history taken from `old`; the name hash
    /// stays only if both wanted it.
    pub fn take_identity_from(&mut self, old: &Resource) {
        for field in ["labels", "annotations"] {
            let old_map = string_map(old.obj.get("metadata").and_then(|m| m.get(field)));
            let mut merged = old_map;
            merged.extend(string_map(
                self.obj.get("metadata").and_then(|m| m.get(field)),
            ));
            self.set_meta_map(field, merged);
        }
        let name = old.name().to_string();
        self.set_name(&name);
        let ns = old.namespace().to_string();
        self.set_namespace(&ns);
        let needs_hash = self.generated.is_some_and(|g| g.needs_hash);
        self.generated = old.generated.map(|g| Generated {
            needs_hash: g.needs_hash && needs_hash,
            ..g
        });
        self.prev_ids = old.prev_ids.clone();
        self.prefixes = old.prefixes.clone();
        self.suffixes = old.suffixes.clone();
        self.ref_by = old.ref_by.clone();
        self.ref_var_names = old.ref_var_names.clone();
        // The transformations annotation is merged like a user's: a generated resource has
        // none of its own, so it keeps the old one's record.
        if self.transformations.is_empty() {
            self.transformations = old.transformations.clone();
        }
    }

    /// kustomize's `SetLabels`/`SetAnnotations`: replaces the map; an empty map removes the
    /// field.
    pub fn set_meta_map(&mut self, field: &str, m: Map<String, Value>) {
        let meta = self.metadata_mut();
        if m.is_empty() {
            meta.remove(field);
        } else {
            meta.insert(field.to_string(), Value::Object(m));
        }
    }
}

/// Turns `v` into an empty map unless it already is one, and returns the map.
/// kyaml's `IsNilOrEmpty` on a value: null, `{}` or `[]`.
pub fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

pub fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Why a resource could not be added to a map.
#[derive(Debug, thiserror::Error)]
pub enum ResMapError {
    #[error("may not add resource with an already registered id: {0}")]
    Conflict(ResId),
    #[error("{0}")]
    Absorb(String),
}

/// A map's entries as strings (kustomize's `GetDataMap`).
fn string_map(v: Option<&Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::String(crate::transform::scalar_text(v).unwrap_or_default()),
                )
            })
            .collect(),
        _ => Map::new(),
    }
}

/// Resources in order, indexed by current id.
#[derive(Debug, Clone, Default)]
pub struct ResMap {
    items: Vec<Resource>,
    index: HashMap<IdKey, Vec<usize>>,
}

impl ResMap {
    pub fn new() -> ResMap {
        ResMap::default()
    }

    /// A map of `items` in this order, indexed; equal ids are kept, not refused.
    pub fn from_resources(items: Vec<Resource>) -> ResMap {
        let mut m = ResMap {
            items,
            ..ResMap::default()
        };
        m.reindex();
        m
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn resources(&self) -> &[Resource] {
        &self.items
    }

    /// Mutable access to every resource. Ids may change; call [`ResMap::reindex`] after.
    pub fn resources_mut(&mut self) -> &mut [Resource] {
        &mut self.items
    }

    pub fn get(&self, i: usize) -> Option<&Resource> {
        self.items.get(i)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut Resource> {
        self.items.get_mut(i)
    }

    pub fn into_resources(self) -> Vec<Resource> {
        self.items
    }

    /// Rebuilds the id index after resources were renamed in place.
    pub fn reindex(&mut self) {
        self.index.clear();
        for (i, r) in self.items.iter().enumerate() {
            self.index.entry(r.cur_id().key()).or_default().push(i);
        }
    }

    /// kustomize's `Clear` then `appendAll`, which a targeted strategic merge runs after
    /// patching (`resWrangler.ApplySmPatch`): the index is rebuilt and the first resource
    /// whose current id is already taken is an error, so a rename that makes two ids equal
    /// fails instead of leaving duplicates.
    pub fn reappend_all(&mut self) -> Result<(), ResMapError> {
        self.index.clear();
        for (i, r) in self.items.iter().enumerate() {
            let slot = self.index.entry(r.cur_id().key()).or_default();
            if !slot.is_empty() {
                return Err(ResMapError::Conflict(r.cur_id()));
            }
            slot.push(i);
        }
        Ok(())
    }

    /// Positions of resources whose current id equals `id`.
    pub fn positions_by_current_id(&self, id: &ResId) -> &[usize] {
        self.index.get(&id.key()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// kustomize's `Append`: refuses a second resource with the same current id.
    pub fn append(&mut self, r: Resource) -> Result<(), ResMapError> {
        let key = r.cur_id().key();
        if self.index.get(&key).is_some_and(|v| !v.is_empty()) {
            return Err(ResMapError::Conflict(r.cur_id()));
        }
        self.index.entry(key).or_default().push(self.items.len());
        self.items.push(r);
        Ok(())
    }

    /// kustomize's `AbsorbAll` for one generated resource: append it (behavior `create`), or
    /// merge it into / let it replace the one resource any of whose ids equals its id.
    pub fn absorb(&mut self, mut r: Resource) -> Result<(), ResMapError> {
        let id = r.cur_id();
        let behavior = r.generated.map(|g| g.behavior).unwrap_or_default();
        let hits = self.positions_by_any_id(|x| x.equals(&id));
        match hits.as_slice() {
            [] => match behavior {
                Behavior::Create => self.append(r),
                _ => Err(ResMapError::Absorb(format!(
                    "id {id} does not exist; cannot merge or replace"
                ))),
            },
            [i] => {
                let old = &self.items[*i];
                match behavior {
                    Behavior::Create => {
                        return Err(ResMapError::Absorb(format!(
                            "id {id} exists; behavior must be merge or replace"
                        )))
                    }
                    Behavior::Replace => r.take_identity_from(old),
                    Behavior::Merge => {
                        let origin = old.origin.clone();
                        r.take_identity_from(old);
                        for field in ["data", "binaryData"] {
                            let mut merged = string_map(old.obj.get(field));
                            merged.extend(string_map(r.obj.get(field)));
                            let obj = ensure_object(&mut r.obj);
                            obj.remove(field);
                            if !merged.is_empty() {
                                obj.insert(field.to_string(), Value::Object(merged));
                            }
                        }
                        if origin.is_some() {
                            r.origin = origin;
                        }
                    }
                }
                let i = *i;
                self.items[i] = r;
                self.reindex();
                Ok(())
            }
            _ => Err(ResMapError::Absorb(format!(
                "found multiple objects that could accept merge of {id}"
            ))),
        }
    }

    pub fn append_all(&mut self, other: ResMap) -> Result<(), ResMapError> {
        for r in other.items {
            self.append(r)?;
        }
        Ok(())
    }

    /// Replaces the resource at `i`.
    pub fn replace_at(&mut self, i: usize, r: Resource) {
        if let Some(slot) = self.items.get_mut(i) {
            *slot = r;
        }
        self.reindex();
    }

    /// Keeps the resources for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Resource) -> bool) {
        self.items.retain(|r| keep(r));
        self.reindex();
    }

    /// Reorders with a stable sort.
    pub fn sort_by(&mut self, cmp: impl FnMut(&Resource, &Resource) -> std::cmp::Ordering) {
        self.items.sort_by(cmp);
        self.reindex();
    }

    /// Positions of resources any of whose ids (previous or current) satisfies `pred`.
    pub fn positions_by_any_id(&self, mut pred: impl FnMut(&ResId) -> bool) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, r) in self.items.iter().enumerate() {
            if r.all_ids().iter().any(&mut pred) {
                out.push(i);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(v: Value) -> Resource {
        Resource::new(v, Source::default())
    }

    #[test]
    fn empty_and_default_namespace_are_equal() {
        let a = res(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}));
        let b = res(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}}),
        );
        assert!(a.cur_id().equals(&b.cur_id()));
        let mut m = ResMap::new();
        m.append(a).unwrap();
        assert!(m.append(b).is_err());
    }

    #[test]
    fn reappend_all_fails_on_ids_made_equal_by_a_rename() {
        let mut m = ResMap::new();
        for name in ["a", "b"] {
            m.append(res(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}}),
            ))
            .unwrap();
        }
        assert!(m.reappend_all().is_ok());
        m.get_mut(1).unwrap().set_name("a");
        let err = m.reappend_all().unwrap_err();
        assert_eq!(
            err.to_string(),
            "may not add resource with an already registered id: Service.v1.[noGrp]/a.[noNs]"
        );
    }

    #[test]
    fn cluster_scoped_ids_ignore_namespace() {
        let id = ResId::new(Gvk::new("", "v1", "Namespace"), "x", "ns");
        assert_eq!(id.effective_namespace(), NOT_NAMESPACEABLE);
    }

    #[test]
    fn display_matches_kustomize() {
        let id = ResId::new(Gvk::new("apps", "v1", "Deployment"), "web", "");
        assert_eq!(id.to_string(), "Deployment.v1.apps/web.[noNs]");
    }
}
