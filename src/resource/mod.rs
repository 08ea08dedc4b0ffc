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

use std::sync::Arc;

use serde_json::{Map, Value};

mod aliases;
mod bookkeeping;
mod id;
mod obj;
mod origin;
mod resmap;

pub(crate) use bookkeeping::{Keep, BUILD_ANNOTATIONS, ORIGIN, TRANSFORMATIONS};
pub use id::{Gvk, ResId, DEFAULT_NAMESPACE, NOT_NAMESPACEABLE};
pub(crate) use id::{IdKey, PrevId};
use obj::Obj;
pub use origin::Origin;
pub use resmap::{ResMap, ResMapError};

/// `behavior:` of a generated ConfigMap or Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Behavior {
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
    obj: Obj,
    pub(crate) prev_ids: Vec<PrevId>,
    pub(crate) prefixes: Vec<String>,
    pub(crate) suffixes: Vec<String>,
    pub(crate) ref_by: Vec<ResId>,
    /// `Some` for generated ConfigMaps/Secrets.
    pub(crate) generated: Option<Generated>,
    pub(crate) ref_var_names: Vec<String>,
    /// The file (and line) the resource was read from.
    pub source: Source,
    /// kustomize's `config.kubernetes.io/origin`, tracked when buildMetadata is set.
    pub origin: Option<Origin>,
    /// kustomize's `alpha.config.kubernetes.io/transformations`.
    pub(crate) transformations: Vec<Origin>,
    /// Map entries the source wrote with no value (`key:`); see
    /// [`crate::yaml::Document::empty_nulls`]. A strategic merge drops them.
    pub(crate) empty_nulls: Vec<String>,
    /// Annotation keys whose values were written as plain nulls
    /// ([`crate::yaml::Document::null_annotations`]).
    pub(crate) null_annotations: Vec<String>,
    /// Places (JSON pointers) that are one node in kustomize; see `aliases.rs`.
    aliases: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generated {
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
            obj: Obj::new(obj),
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

    /// The Kubernetes object, as it will be printed.
    pub fn obj(&self) -> &Value {
        &self.obj
    }

    /// Mutable access to the object. Callers that change kind, apiVersion, name or
    /// namespace must let the owning [`ResMap`] reindex.
    pub(crate) fn obj_mut(&mut self) -> &mut Value {
        self.obj.value_mut()
    }

    /// The Kubernetes object, without the bookkeeping.
    pub fn into_obj(self) -> Value {
        self.obj.into_value()
    }

    /// The object's top-level map (every resource a build produces is a map).
    pub fn map(&self) -> Option<&Map<String, Value>> {
        self.obj.as_object()
    }

    /// `apiVersion`, or `""` when it is missing or not a string.
    pub fn api_version(&self) -> &str {
        str_at(&self.obj, &["apiVersion"])
    }
    /// `kind`, or `""`.
    pub fn kind(&self) -> &str {
        str_at(&self.obj, &["kind"])
    }
    /// `metadata.name`, or `""`.
    pub fn name(&self) -> &str {
        str_at(&self.obj, &["metadata", "name"])
    }
    /// `metadata.namespace`, or `""` (for cluster-scoped kinds, and for the default
    /// namespace left implicit).
    pub fn namespace(&self) -> &str {
        str_at(&self.obj, &["metadata", "namespace"])
    }

    /// Group, version and kind.
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    /// The id the resource has now (after every rename of the build).
    pub fn cur_id(&self) -> ResId {
        ResId::new(self.gvk(), self.name(), self.namespace())
    }

    /// The key [`ResMap`] indexes this resource under (its current id, the namespace
    /// made effective), computed once per change of the object.
    pub(crate) fn id_key(&self) -> Arc<IdKey> {
        self.obj.key(|| self.compute_id_key())
    }

    fn compute_id_key(&self) -> IdKey {
        let gvk = self.gvk();
        let namespace = self.namespace();
        let namespace = if gvk.is_cluster_scoped() {
            id::NOT_NAMESPACEABLE
        } else if namespace.is_empty() {
            id::DEFAULT_NAMESPACE
        } else {
            namespace
        };
        id::IdKey {
            gvk,
            name: self.name().to_string(),
            namespace: namespace.to_string(),
        }
    }

    /// Previous ids, oldest first (with the current group/version, as kustomize does).
    pub(crate) fn prev_res_ids(&self) -> Vec<ResId> {
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
    pub(crate) fn org_id(&self) -> ResId {
        self.prev_res_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Previous ids then the current one.
    pub(crate) fn all_ids(&self) -> Vec<ResId> {
        let mut v = self.prev_res_ids();
        v.push(self.cur_id());
        v
    }

    /// What kyaml's merge walk does to entries written `key:`: they disappear (those still
    /// null where they were read).
    /// kustomize puts its internal annotations into the annotation map of every resource it
    /// reads from a file, so a null `annotations:` there is an (empty) map from then on:
    /// patches and replacements can add to it, and it is not printed.
    pub(crate) fn null_annotations_to_absent(&mut self) {
        if !self
            .obj
            .pointer("/metadata/annotations")
            .is_some_and(Value::is_null)
        {
            return;
        }
        if let Some(Value::Object(meta)) = self.obj.value_mut().get_mut("metadata") {
            if meta.get("annotations").is_some_and(Value::is_null) {
                meta.remove("annotations");
            }
        }
    }

    pub(crate) fn drop_empty_nulls(&mut self) {
        for p in std::mem::take(&mut self.empty_nulls) {
            let Some((parent, key)) = p.rsplit_once('/') else {
                continue;
            };
            let key = key.replace("~1", "/").replace("~0", "~");
            let null_there = |m: &Value| m.get(&key).is_some_and(Value::is_null);
            if !self.obj.pointer(parent).is_some_and(null_there) {
                continue;
            }
            if let Some(Value::Object(m)) = self.obj.value_mut().pointer_mut(parent) {
                if m.get(&key).is_some_and(Value::is_null) {
                    m.remove(&key);
                }
            }
        }
    }

    /// kustomize's `StorePreviousId`: remember the current identity before a rename.
    pub(crate) fn store_previous_id(&mut self) {
        let id = self.cur_id();
        let ns = id.effective_namespace().to_string();
        self.prev_ids.push(PrevId {
            kind: id.gvk.kind,
            name: id.name,
            namespace: ns,
        });
    }

    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = ensure_object(self.obj.value_mut());
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        ensure_object(meta)
    }

    pub(crate) fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    /// Sets the namespace; an empty one removes the field.
    pub(crate) fn set_namespace(&mut self, ns: &str) {
        if ns.is_empty() {
            if let Some(m) = self
                .obj
                .value_mut()
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
            {
                m.remove("namespace");
            }
        } else {
            self.metadata_mut()
                .insert("namespace".into(), Value::String(ns.to_string()));
        }
    }

    /// Labels as strings (kustomize's `GetLabels`).
    pub fn labels(&self) -> Map<String, Value> {
        self.metadata_map("labels")
    }

    /// Annotations as strings (kustomize's `GetAnnotations`).
    pub fn annotations(&self) -> Map<String, Value> {
        self.metadata_map("annotations")
    }

    /// A copy of `metadata.<field>` when it is a map, else an empty map.
    fn metadata_map(&self, field: &str) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// The annotation `key`, when it is a string.
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
    pub(crate) fn take_identity_from(&mut self, old: &Resource) {
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
    pub(crate) fn set_meta_map(&mut self, field: &str, m: Map<String, Value>) {
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
pub(crate) fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

pub(crate) fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// A map's entries as strings (kustomize's `GetDataMap`).
pub(crate) fn string_map(v: Option<&Value>) -> Map<String, Value> {
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
