//! [`ResMap`]: resources in insertion order, indexed by current id.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::{ensure_object, string_map, Behavior, IdKey, ResId, Resource};

/// Why a resource could not be added to a map.
#[derive(Debug, thiserror::Error)]
pub enum ResMapError {
    /// A resource with an equal id is already in the map.
    #[error("may not add resource with an already registered id: {0}")]
    Conflict(ResId),
    /// A generated resource with `behavior: merge` or `replace` found no single resource
    /// to merge into.
    #[error("{0}")]
    Absorb(String),
}

/// Resources in order, indexed by current id.
#[derive(Debug, Clone, Default)]
pub struct ResMap {
    items: Vec<Resource>,
    index: HashMap<Arc<IdKey>, Vec<usize>>,
}

impl ResMap {
    /// An empty map.
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

    /// How many resources the map holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the map holds no resource.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The resources, in output order once a build has finished.
    pub fn resources(&self) -> &[Resource] {
        &self.items
    }

    /// Mutable access to every resource. Ids may change; call [`ResMap::reindex`] after.
    pub(crate) fn resources_mut(&mut self) -> &mut [Resource] {
        &mut self.items
    }

    /// The resource at position `i`.
    pub fn get(&self, i: usize) -> Option<&Resource> {
        self.items.get(i)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut Resource> {
        self.items.get_mut(i)
    }

    /// The resources, in order, without the index.
    pub fn into_resources(self) -> Vec<Resource> {
        self.items
    }

    /// Rebuilds the id index after resources were renamed in place.
    pub(crate) fn reindex(&mut self) {
        self.index.clear();
        for (i, r) in self.items.iter().enumerate() {
            self.index.entry(r.id_key()).or_default().push(i);
        }
    }

    /// kustomize's `Clear` then `appendAll`, which a targeted strategic merge runs after
    /// patching (`resWrangler.ApplySmPatch`): the index is rebuilt and the first resource
    /// whose current id is already taken is an error, so a rename that makes two ids equal
    /// fails instead of leaving duplicates.
    pub(crate) fn reappend_all(&mut self) -> Result<(), ResMapError> {
        self.index.clear();
        for (i, r) in self.items.iter().enumerate() {
            let slot = self.index.entry(r.id_key()).or_default();
            if !slot.is_empty() {
                return Err(ResMapError::Conflict(r.cur_id()));
            }
            slot.push(i);
        }
        Ok(())
    }

    /// kustomize's `Append`: refuses a second resource with the same current id.
    pub fn append(&mut self, r: Resource) -> Result<(), ResMapError> {
        let key = r.id_key();
        if self.index.get(&key).is_some_and(|v| !v.is_empty()) {
            return Err(ResMapError::Conflict(r.cur_id()));
        }
        self.index.entry(key).or_default().push(self.items.len());
        self.items.push(r);
        Ok(())
    }

    /// kustomize's `AbsorbAll` for one generated resource: append it (behavior `create`), or
    /// merge it into / let it replace the one resource any of whose ids equals its id.
    pub(crate) fn absorb(&mut self, mut r: Resource) -> Result<(), ResMapError> {
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
                            let obj = ensure_object(r.obj.value_mut());
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

    /// Appends every resource of `other`, refusing an id already present.
    pub(crate) fn append_all(&mut self, other: ResMap) -> Result<(), ResMapError> {
        for r in other.items {
            self.append(r)?;
        }
        Ok(())
    }

    /// Keeps the resources for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Resource) -> bool) {
        self.items.retain(|r| keep(r));
        self.reindex();
    }

    /// Positions of resources any of whose ids (previous or current) satisfies `pred`.
    pub(crate) fn positions_by_any_id(&self, mut pred: impl FnMut(&ResId) -> bool) -> Vec<usize> {
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
    use crate::resource::{Gvk, Source, NOT_NAMESPACEABLE};
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
