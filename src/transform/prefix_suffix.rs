//! `namePrefix` / `nameSuffix`: prepend or append to names.
//!
//! kustomize decides which field specs apply by the resource's *original* id, skips
//! CustomResourceDefinitions, APIServices and Namespaces entirely, and remembers the old id
//! and the affix whenever `metadata/name` changes, so name references can follow.

use serde_json::Value;

use crate::fieldspec::{walk, Create, FieldSpec};
use crate::resource::{Gvk, ResMap};

use super::{scalar_text, TransformError};

/// Which end of the name to extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affix {
    Prefix,
    Suffix,
}

/// Kinds a prefix or suffix never touches (kustomize's `prefixFieldSpecsToSkip`).
const SKIPPED: &[(&str, &str)] = &[
    ("", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("", "Namespace"),
];

/// kustomize's `PrefixTransformer` / `SuffixTransformer`.
pub fn apply(
    m: &mut ResMap,
    affix: Affix,
    text: &str,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    let name = match affix {
        Affix::Prefix => "PrefixTransformer",
        Affix::Suffix => "SuffixTransformer",
    };
    for r in m.resources_mut() {
        let org = r.org_id();
        if SKIPPED
            .iter()
            .any(|(g, k)| org.gvk.is_selected_by(&Gvk::new(g, "", k)))
        {
            continue;
        }
        for spec in specs {
            if !org.gvk.is_selected_by(&spec.gvk) {
                continue;
            }
            if spec.path == "metadata/name" && !text.is_empty() {
                match affix {
                    Affix::Prefix => r.prefixes.push(text.to_string()),
                    Affix::Suffix => r.suffixes.push(text.to_string()),
                }
                r.store_previous_id();
            }
            if !spec.applies_to(&r.gvk()) {
                continue;
            }
            let res = walk(r.obj_mut(), spec, Create::Scalar, &mut |node| {
                let cur = scalar_text(node).ok_or("expected a scalar value")?;
                *node = Value::String(match affix {
                    Affix::Prefix => format!("{text}{cur}"),
                    Affix::Suffix => format!("{cur}{text}"),
                });
                Ok(())
            });
            if let Err(e) = res {
                return Err(TransformError::on(name, r, e.to_string()));
            }
        }
    }
    m.reindex();
    Ok(())
}
