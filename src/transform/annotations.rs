//! `commonAnnotations`: add key/value pairs to every annotation map the field specs name.

use crate::fieldspec::FieldSpec;
use crate::kustomization::StringMap;
use crate::resource::ResMap;

use super::{set_entries, TransformError};

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
        set_entries("AnnotationsTransformer", r, specs, annotations)?;
    }
    Ok(())
}
