//! `commonLabels`, `labels:` and the managed-by label: add key/value pairs to every label
//! map (and selector) the field specs name, creating maps where allowed.

use crate::fieldspec::{Create, FieldSpec};
use crate::kustomization::StringMap;
use crate::resource::ResMap;

use super::{for_each_field, set_map_entry, TransformError};

/// kustomize's `LabelTransformer`. An empty label set does nothing (no empty maps are left).
pub fn apply(
    m: &mut ResMap,
    labels: &StringMap,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    if labels.is_empty() {
        return Ok(());
    }
    for r in m.resources_mut() {
        for_each_field("LabelTransformer", r, specs, Create::Map, &mut |node| {
            for (k, v) in labels {
                set_map_entry(node, k, v)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}
