//! `commonLabels`, `labels:` and the managed-by label: add key/value pairs to every label
//! map (and selector) the field specs name, creating maps where allowed.

use crate::fieldspec::FieldSpec;
use crate::kustomization::StringMap;
use crate::resource::ResMap;

use super::{set_entries, TransformError};

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
        set_entries("LabelTransformer", r, specs, labels)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fieldspec::TransformerConfig;
    use crate::resource::{Resource, Source};
    use serde_json::json;

    fn pairs(k: &str, v: &str) -> StringMap {
        [(k.to_string(), v.to_string())].into_iter().collect()
    }

    #[test]
    fn a_key_created_in_several_maps_is_one_node_that_a_later_label_writes() {
        let mut m = ResMap::new();
        m.append(Resource::new(
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "labels": {"own": "x"}},
                   "spec": {"template": {"spec": {}}}}),
            Source::default(),
        ))
        .unwrap();
        let tc = TransformerConfig::defaults();
        apply(&mut m, &pairs("app", "web"), &tc.common_labels).unwrap();
        apply(&mut m, &pairs("own", "y"), &tc.common_labels).unwrap();
        // Only metadata labels: the selector shares `app`'s node, so it changes too.
        let meta_only = [FieldSpec::new(Default::default(), "metadata/labels", true)];
        apply(&mut m, &pairs("app", "changed"), &meta_only).unwrap();
        apply(&mut m, &pairs("own", "z"), &meta_only).unwrap();
        let obj = m.resources()[0].obj();
        assert_eq!(obj["spec"]["selector"]["matchLabels"]["app"], "changed");
        assert_eq!(
            obj["spec"]["template"]["metadata"]["labels"]["app"],
            "changed"
        );
        // `own` existed in metadata, so only the places created for it share a node.
        assert_eq!(obj["metadata"]["labels"]["own"], "z");
        assert_eq!(obj["spec"]["selector"]["matchLabels"]["own"], "y");
    }
}
