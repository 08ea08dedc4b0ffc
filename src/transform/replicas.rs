//! `replicas:`: set the replica count of the named workloads.

use serde_json::Value;

use crate::fieldspec::{walk, Create, FieldSpec};
use crate::kustomization::Replica;
use crate::resource::ResMap;
use crate::yaml::resolve::{resolve_plain, Resolved};
use crate::yaml::Dialect;

use super::TransformError;

/// The new count. kyaml keeps a quoted scalar's style when it sets a value, so a count
/// written as a quoted string (`replicas: "3"`) stays a string. A string that would read
/// as a number without quotes must have been quoted; a plain word like `abc` is taken as
/// unquoted (the document model no longer knows).
fn count_like(old: &Value, count: i64) -> Value {
    match old {
        Value::String(s) if resolve_plain(s, Dialect::V3) != Resolved::Str => {
            Value::String(count.to_string())
        }
        _ => Value::from(count),
    }
}

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
                *node = count_like(node, replica.count);
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
