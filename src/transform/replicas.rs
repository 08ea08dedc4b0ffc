//! `replicas:`: set the replica count of the named workloads.

use serde_json::Value;

use crate::fieldspec::{walk, Create, FieldSpec};
use crate::kustomization::Replica;
use crate::resource::ResMap;

use super::TransformError;

/// kustomize's `ReplicaCountTransformer`: matches by any id (current or previous) so a
/// renamed Deployment is still found by its original name; no match at all is an error.
pub fn apply(m: &mut ResMap, replica: &Replica, specs: &[FieldSpec]) -> Result<(), TransformError> {
    let mut found = false;
    for spec in specs {
        let hits =
            m.positions_by_any_id(|id| id.name == replica.name && id.gvk.is_selected_by(&spec.gvk));
        if hits.is_empty() {
            continue;
        }
        found = true;
        for i in hits {
            let Some(r) = m.get_mut(i) else { continue };
            if !spec.applies_to(&r.gvk()) {
                continue;
            }
            if let Err(e) = walk(r.obj_mut(), spec, Create::Int, &mut |node| {
                *node = Value::from(replica.count);
                Ok(())
            }) {
                return Err(TransformError::on(
                    "ReplicaCountTransformer",
                    r,
                    e.to_string(),
                ));
            }
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|s| s.gvk.to_string()).collect();
        return Err(TransformError::config(
            "ReplicaCountTransformer",
            format!(
                "resource with name {} does not match a config with the following GVK [{}]",
                replica.name,
                gvks.join(" ")
            ),
        ));
    }
    Ok(())
}
