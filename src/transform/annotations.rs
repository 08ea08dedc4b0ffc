//! `commonAnnotations`: add key/value pairs to every annotation map the field specs name.

use crate::fieldspec::{Create, FieldSpec};
use crate::kustomization::StringMap;
use crate::resource::ResMap;

use super::{for_each_field, set_map_entry, TransformError};

/// kustomize's `AnnotationsTransformer`.
pub fn apply(
    m: &mut ResMap,
    annotations: &StringMap,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    if annotations.is_empty() {
        return Ok(());
    }
    for r in m.resources_mut() {
        for_each_field(
            "AnnotationsTransformer",
            r,
            specs,
            Create::Map,
            &mut |node| {
                for (k, v) in annotations {
                    set_map_entry(node, k, v)?;
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}
