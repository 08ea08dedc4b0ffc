//! Built-in transformers, one file each, in the order kustomize runs them.
//!
//! Each transformer is a function over the [`ResMap`] and its configuration. Those that act
//! on configured fields use the shared field-spec walker ([`crate::fieldspec::walk`]) through
//! [`for_each_field`], so their own code is only "what to do with this value".

use serde_json::Value;

use crate::fieldspec::{pointer, walk, walk_with_path, Create, FieldSpec};
use crate::resource::Resource;

pub mod annotations;
pub mod fieldpath;
pub mod images;
pub mod labels;
pub mod namereference;
pub mod namespace;
pub mod patches;
pub mod prefix_suffix;
pub mod replacements;
pub mod replicas;
pub mod valueadd;
pub mod vars;

/// A transformer failed on a resource, or was misconfigured.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("{transformer}: resource {id} (from {file}): {message}")]
    Resource {
        transformer: &'static str,
        /// The resource id, as kustomize prints it.
        id: String,
        file: String,
        message: String,
    },
    #[error("{transformer}: {message}")]
    Config {
        transformer: &'static str,
        message: String,
    },
}

impl TransformError {
    /// The error, saying which configuration entry it came from (`patches[2] [path: ...]`).
    pub fn within(self, what: &str) -> TransformError {
        match self {
            TransformError::Resource {
                transformer,
                id,
                file,
                message,
            } => TransformError::Resource {
                transformer,
                id,
                file,
                message: format!("{what}: {message}"),
            },
            TransformError::Config {
                transformer,
                message,
            } if !message.contains(what) => TransformError::Config {
                transformer,
                message: format!("{what}: {message}"),
            },
            other => other,
        }
    }

    pub fn on(
        transformer: &'static str,
        r: &Resource,
        message: impl Into<String>,
    ) -> TransformError {
        TransformError::Resource {
            transformer,
            id: r.cur_id().to_string(),
            file: if r.source.line > 0 {
                format!("{}:{}", r.source.file, r.source.line)
            } else {
                r.source.file.to_string()
            },
            message: message.into(),
        }
    }

    pub fn config(transformer: &'static str, message: impl Into<String>) -> TransformError {
        TransformError::Config {
            transformer,
            message: message.into(),
        }
    }
}

/// Runs `f` on every node the field specs designate in `r` (specs whose gvk selects the
/// resource's current gvk); see [`walk_resource`] for `acts`.
pub fn for_each_field(
    transformer: &'static str,
    r: &mut Resource,
    specs: &[FieldSpec],
    leaf: Create,
    acts: &dyn Fn(&Value) -> bool,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), TransformError> {
    let gvk = r.gvk();
    for spec in specs {
        if !spec.applies_to(&gvk) {
            continue;
        }
        if let Err(e) = walk_resource(r, spec, leaf, acts, f) {
            return Err(TransformError::on(transformer, r, e.to_string()));
        }
    }
    Ok(())
}

/// [`walk`] on `r`'s object, which is taken for writing only when the walk could change
/// it: when it would create or convert a field on the way, or `acts` says `f` could change
/// (or reject) a node it visits. A resource's object may be shared with a cached render,
/// and taking it for writing copies it.
pub fn walk_resource(
    r: &mut Resource,
    spec: &FieldSpec,
    leaf: Create,
    acts: &dyn Fn(&Value) -> bool,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), crate::fieldspec::WalkError> {
    let looked = crate::fieldspec::visit(r.obj(), spec, leaf, &mut |node| {
        if acts(node) {
            Err(String::new())
        } else {
            Ok(())
        }
    });
    if looked == Ok(true) {
        return Ok(());
    }
    walk(r.obj_mut(), spec, leaf, f)
}

/// Sets every `key: value` of `pairs` in each map the field specs designate in `r`
/// (creating maps where allowed), as kustomize's label and annotation transformers do. Per
/// key, the places where it was created share one node (kyaml's `SetEntry` hands the same
/// node to each), and a place where it existed is written in place, reaching every place
/// that shares its node (see `resource/aliases.rs`).
pub fn set_entries(
    transformer: &'static str,
    r: &mut Resource,
    specs: &[FieldSpec],
    pairs: &crate::kustomization::StringMap,
) -> Result<(), TransformError> {
    let gvk = r.gvk();
    let mut created: Vec<Vec<String>> = vec![Vec::new(); pairs.len()];
    let mut existing: Vec<String> = Vec::new();
    for spec in specs {
        if !spec.applies_to(&gvk) {
            continue;
        }
        let res = walk_with_path(r.obj_mut(), spec, Create::Map, &mut |node, path| {
            for (i, (k, v)) in pairs.iter().enumerate() {
                let had = node.as_object().is_some_and(|m| m.contains_key(k));
                if !had && key_reads_as_non_string(k) {
                    return Err(non_string_key_error(&spec.path, k));
                }
                set_map_entry(node, k, v)?;
                let place = pointer(path, Some(k));
                if had {
                    existing.push(place);
                } else if !created[i].contains(&place) {
                    created[i].push(place);
                }
            }
            Ok(())
        });
        if let Err(e) = res {
            return Err(TransformError::on(transformer, r, e.to_string()));
        }
    }
    for place in existing {
        r.written_in_place(&place);
    }
    for places in created {
        r.share_node(places);
    }
    Ok(())
}

/// Whether a map key kustomize writes as a new, untagged YAML node reads back as something
/// other than a string (`1`, `true`, `null`, `1.5`, `2001-12-14`). kustomize cannot turn
/// such a map into JSON and fails; this is the check that lets rustomize fail with it.
pub fn key_reads_as_non_string(key: &str) -> bool {
    use crate::yaml::resolve::{resolve_plain, Resolved};
    !matches!(
        resolve_plain(key, crate::yaml::Dialect::V3),
        Resolved::Str | Resolved::Merge
    )
}

/// The error for such a key, in kustomize's words.
pub fn non_string_key_error(field: &str, key: &str) -> String {
    format!(
        "{field} key {key:?} reads as a YAML non-string where kustomize writes it: json: unsupported type: map[interface {{}}]interface {{}}"
    )
}

/// The text of a scalar as kustomize's string-valued setters see it.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(crate::yaml::emit::format_number(n)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Sets `key: value` (a string) in the map at `node`; a non-map is an error, as in kyaml.
pub fn set_map_entry(node: &mut Value, key: &str, value: &str) -> Result<(), String> {
    match node {
        Value::Object(m) => {
            m.insert(key.to_string(), Value::String(value.to_string()));
            Ok(())
        }
        other => Err(format!(
            "wrong node kind: expected a map, found {}",
            kind_name(other)
        )),
    }
}

pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "map",
    }
}
