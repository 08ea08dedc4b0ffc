//! `namespace:`: put every namespaced resource into one namespace.
//!
//! Beyond the configured field specs, kustomize always sets `metadata.namespace` on
//! resources that are not cluster-scoped (unknown kinds count as namespaced), renames a
//! core `v1` Namespace object itself, and sets the namespace of (Cluster)RoleBinding
//! subjects named `default` (or of every ServiceAccount subject, or none, per
//! `setRoleBindingSubjects`). Two resources ending up with the same id is an error.

use std::collections::HashSet;

use serde_json::Value;

use crate::fieldspec::{Create, FieldSpec};
use crate::resource::{ensure_object, ResMap};

use super::{walk_resource, TransformError};

/// How (Cluster)RoleBinding subjects get the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectMode {
    /// Only subjects named `default` (kustomize's default).
    #[default]
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    /// Leave subjects alone.
    None,
}

impl SubjectMode {
    pub fn parse(s: &str) -> Option<SubjectMode> {
        match s {
            "" | "defaultOnly" => Some(SubjectMode::DefaultOnly),
            "allServiceAccounts" => Some(SubjectMode::AllServiceAccounts),
            "none" => Some(SubjectMode::None),
            _ => None,
        }
    }
}

/// The namespace transformer's configuration.
#[derive(Debug, Clone)]
pub struct Namespace<'a> {
    pub namespace: &'a str,
    pub field_specs: &'a [FieldSpec],
    /// Only fill namespaces that are unset (`unsetOnly`).
    pub unset_only: bool,
    pub subjects: SubjectMode,
}

const NAME: &str = "NamespaceTransformer";

impl Namespace<'_> {
    fn set(&self, node: &mut Value) {
        if self.changes(node) {
            *node = Value::String(self.namespace.to_string());
        }
    }

    /// Whether [`Self::set`] changes `node`.
    fn changes(&self, node: &Value) -> bool {
        let empty = match node {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        (empty || !self.unset_only) && node.as_str() != Some(self.namespace)
    }

    /// Applies the transformer to every resource (kustomize's `NamespaceTransformer`).
    pub fn apply(&self, m: &mut ResMap) -> Result<(), TransformError> {
        if self.namespace.is_empty() {
            return Ok(());
        }
        self.run(m, &|_| true, true)
    }

    /// kustomize's bare namespace filter on the resources at the positions `select` picks,
    /// without storing previous ids (the ValueAddTransformer uses it).
    pub fn apply_selected(
        &self,
        m: &mut ResMap,
        select: impl Fn(usize) -> bool,
    ) -> Result<(), TransformError> {
        self.run(m, &select, false)
    }

    /// Sets the namespace on the selected resources; two resources left with one id are an
    /// error.
    fn run(
        &self,
        m: &mut ResMap,
        select: &dyn Fn(usize) -> bool,
        store_previous_id: bool,
    ) -> Result<(), TransformError> {
        let meta_ns = FieldSpec::new(Default::default(), "metadata/namespace", true);
        for (i, r) in m.resources_mut().iter_mut().enumerate() {
            if !select(i) {
                continue;
            }
            if store_previous_id {
                r.store_previous_id();
            }
            let gvk = r.gvk();
            let api_version = r.api_version().to_string();
            // The namespace path is always handled by the hack below; metadata/name only
            // for core v1 (the Namespace object itself).
            let mut specs: Vec<&FieldSpec> = self
                .field_specs
                .iter()
                .filter(|fs| {
                    fs.path != "metadata/namespace"
                        && (api_version == "v1" || fs.path != "metadata/name")
                })
                .collect();
            if !gvk.is_cluster_scoped() {
                let changes = |n: &Value| self.changes(n);
                if let Err(e) = walk_resource(r, &meta_ns, Create::Scalar, &changes, &mut |n| {
                    self.set(n);
                    Ok(())
                }) {
                    return Err(TransformError::on(NAME, r, e.to_string()));
                }
            }
            if gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding" {
                specs.retain(|fs| {
                    !((fs.gvk.kind == "RoleBinding" || fs.gvk.kind == "ClusterRoleBinding")
                        && fs.path == "subjects/namespace")
                });
                if self.subjects_change(r.obj()) {
                    self.set_subjects(r.obj_mut());
                }
            }
            for spec in specs {
                if !spec.applies_to(&gvk) {
                    continue;
                }
                // Maps and lists are rejected: the walk reports them.
                let acts = |n: &Value| n.is_object() || n.is_array() || self.changes(n);
                let res = walk_resource(r, spec, Create::Scalar, &acts, &mut |n| match n {
                    Value::Object(_) | Value::Array(_) => {
                        Err("namespace field specs must target scalar nodes".to_string())
                    }
                    _ => {
                        self.set(n);
                        Ok(())
                    }
                });
                if let Err(e) = res {
                    return Err(TransformError::on(NAME, r, e.to_string()));
                }
            }
        }
        m.reindex();
        let mut seen = HashSet::new();
        for r in m.resources() {
            if !seen.insert(r.id_key()) {
                return Err(TransformError::on(
                    NAME,
                    r,
                    "namespace transformation produces ID conflict",
                ));
            }
        }
        Ok(())
    }

    /// Whether the subject map `m` gets the namespace.
    fn subject_selected(&self, m: &serde_json::Map<String, Value>) -> bool {
        match self.subjects {
            SubjectMode::None => false,
            SubjectMode::DefaultOnly => m.get("name").and_then(Value::as_str) == Some("default"),
            SubjectMode::AllServiceAccounts => {
                m.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
            }
        }
    }

    /// Whether [`Self::set_subjects`] changes `obj`.
    fn subjects_change(&self, obj: &Value) -> bool {
        let Some(Value::Array(subjects)) = obj.get("subjects") else {
            return false;
        };
        subjects.iter().filter_map(Value::as_object).any(|m| {
            self.subject_selected(m) && m.get("namespace").is_none_or(|ns| self.changes(ns))
        })
    }

    fn set_subjects(&self, obj: &mut Value) {
        let Some(Value::Array(subjects)) = obj.get_mut("subjects") else {
            return;
        };
        for s in subjects.iter_mut() {
            let Some(m) = s.as_object() else { continue };
            if self.subject_selected(m) {
                let field = ensure_object(s)
                    .entry("namespace")
                    .or_insert(Value::String(String::new()));
                self.set(field);
            }
        }
    }
}
