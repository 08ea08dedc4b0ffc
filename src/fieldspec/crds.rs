//! The `crds:` field: field specs read from OpenAPI definitions of custom types.
//!
//! Each file maps type names (`github.com/x/apis/v1.MyKind`) to `{Schema, Dependencies}`.
//! For every type that looks like a Kubernetes object (it has `apiVersion`, `kind` and
//! `metadata` properties), kustomize walks its properties, following `$ref`s, and turns
//! these extensions into field specs for that kind (the last dot-separated part of the
//! type name):
//!
//! - `x-kubernetes-annotation` → commonAnnotations
//! - `x-kubernetes-label-selector` → commonLabels
//! - `x-kubernetes-identity` → namePrefix
//! - `x-kubernetes-object-ref-api-version` + `x-kubernetes-object-ref-kind` (and optional
//!   `x-kubernetes-object-ref-name-key`, default `name`) → a name reference to that kind.

use serde_json::{Map, Value};

use super::{merge_all, FieldSpec, NameBackRef, TransformerConfig};
use crate::resource::Gvk;

/// Deepest `$ref` chain followed (kustomize has no bound; a self-referencing type would
/// recurse forever).
const MAX_REF_DEPTH: usize = 64;

/// The field specs a `crds:` file declares.
pub fn config_from_crds(doc: &Value) -> Result<TransformerConfig, String> {
    let types = doc
        .as_object()
        .ok_or("expected a map of type names to OpenAPI definitions")?;
    let mut result = TransformerConfig::default();
    for (name, api) in types {
        let props = properties(types, name);
        let Some(props) = props else { continue };
        if !(props.contains_key("kind")
            && props.contains_key("apiVersion")
            && props.contains_key("metadata"))
        {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name);
        let gvk = Gvk::new("", "", kind);
        let mut tc = TransformerConfig::default();
        load_type(&mut tc, &gvk, types, name, &mut Vec::new(), 0)?;
        let _ = api;
        result.merge(&tc)?;
    }
    Ok(result)
}

fn properties<'a>(types: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    types
        .get(name)?
        .get("Schema")?
        .get("properties")?
        .as_object()
}

fn ext<'a>(prop: &'a Value, key: &str) -> Option<&'a str> {
    prop.get(key)?.as_str()
}

fn spec(gvk: &Gvk, path: &[String]) -> FieldSpec {
    FieldSpec::new(gvk.clone(), &path.join("/"), false)
}

fn load_type(
    tc: &mut TransformerConfig,
    gvk: &Gvk,
    types: &Map<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_REF_DEPTH {
        return Err(format!(
            "$ref chain deeper than {MAX_REF_DEPTH} at type {type_name}"
        ));
    }
    let Some(props) = properties(types, type_name) else {
        return Ok(());
    };
    for (prop_name, prop) in props {
        path.push(prop_name.clone());
        if ext(prop, "x-kubernetes-annotation").is_some() {
            merge_all(&mut tc.common_annotations, &[spec(gvk, path)])?;
        }
        if ext(prop, "x-kubernetes-label-selector").is_some() {
            merge_all(&mut tc.common_labels, &[spec(gvk, path)])?;
        }
        if ext(prop, "x-kubernetes-identity").is_some() {
            merge_all(&mut tc.name_prefix, &[spec(gvk, path)])?;
        }
        if let (Some(version), Some(kind)) = (
            ext(prop, "x-kubernetes-object-ref-api-version"),
            ext(prop, "x-kubernetes-object-ref-kind"),
        ) {
            let name_key = ext(prop, "x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut p = path.clone();
            p.push(name_key.to_string());
            let back = NameBackRef {
                gvk: Gvk::new("", version, kind),
                referrers: vec![spec(gvk, &p)],
            };
            tc.merge(&TransformerConfig {
                name_reference: vec![back],
                ..Default::default()
            })?;
        }
        if let Some(r) = prop
            .get("$ref")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            load_type(tc, gvk, types, r, path, depth + 1)?;
        }
        path.pop();
    }
    Ok(())
}
