//! `patches:`, `patchesStrategicMerge:` and `patchesJson6902:`.
//!
//! A patch body is either strategic-merge documents (Kubernetes objects, merged by
//! [`crate::patch::smp`]) or a JSON 6902 operation list (applied to the object as JSON by
//! [`crate::patch::json6902`]). Without a `target:`, each strategic-merge document finds
//! its resource by id (current or any previous one; exactly one must match). With a
//! target, the selector picks the resources ([`crate::selector`]). A strategic merge that
//! deletes the resource removes it from the map.

use serde_json::Value;

use crate::budget::Budget;
use crate::patch::json6902::JsonPatch;
use crate::patch::smp::{self, ApplyOptions, Outcome};
use crate::resource::{Gvk, Keep, ResId, ResMap};
use crate::schema::Schema;
use crate::selector::Selector;

use super::TransformError;

/// A parsed patch body.
#[derive(Debug, Clone)]
pub enum PatchBody {
    /// Strategic-merge documents, in file order.
    Strategic(Vec<Value>),
    /// JSON 6902 operations.
    Json(JsonPatch),
}

/// One `patches:` entry (or its legacy equivalents), ready to apply.
#[derive(Debug)]
pub struct Patch {
    pub body: PatchBody,
    pub target: Option<Selector>,
    pub options: ApplyOptions,
    /// `[path: "x.yaml"]` or `[patch: "..."]`, for messages.
    pub source: String,
    /// JSON patches from `patches:` remember the old id; `patchesJson6902` does not.
    pub store_previous_id: bool,
}

fn id_of(v: &Value) -> ResId {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    ResId::new(
        Gvk::from_api_version(&s("/apiVersion"), &s("/kind")),
        &s("/metadata/name"),
        &s("/metadata/namespace"),
    )
}

const NAME: &str = "PatchTransformer";

/// Finds the one resource a strategic-merge document names (kustomize's `GetById`).
fn find_by_id(m: &ResMap, patch: &Value, source: &str) -> Result<usize, TransformError> {
    let id = id_of(patch);
    let hits = m.positions_by_any_id(|x| x.equals(&id));
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => Err(TransformError::config(
            NAME,
            format!("no resource matches strategic merge patch \"{id}\" from {source}: no matches for Id {id}"),
        )),
        _ => Err(TransformError::config(
            NAME,
            format!("no resource matches strategic merge patch \"{id}\" from {source}: multiple matches for Id {id}"),
        )),
    }
}

/// Applies one strategic-merge document to the resource at `i`; removes it if deleted.
fn merge_at(
    m: &mut ResMap,
    i: usize,
    patch: &Value,
    schema: &Schema,
    options: ApplyOptions,
    selected: bool,
) -> Result<bool, TransformError> {
    let Some(r) = m.get_mut(i) else {
        return Ok(false);
    };
    if options.allow_name_change || options.allow_kind_change {
        r.store_previous_id();
    }
    r.drop_empty_nulls();
    // The merge sees kustomize's bookkeeping annotations and may drop them.
    let res = r
        .with_bookkeeping(Keep::Nothing, |obj| {
            if selected {
                smp::apply_to_selected(obj, patch, schema, options)
            } else {
                smp::apply_to_resource(obj, patch, schema, options)
            }
        })
        .map_err(|e| TransformError::on(NAME, r, e))?;
    r.merged(patch);
    match res {
        Ok(Outcome::Kept) => Ok(false),
        Ok(Outcome::Deleted) => Ok(true),
        Err(e) => Err(TransformError::on(NAME, r, e.to_string())),
    }
}

/// kustomize's `PatchTransformer` for one entry.
pub fn apply(
    m: &mut ResMap,
    p: &Patch,
    schema: &Schema,
    budget: &Budget,
) -> Result<(), TransformError> {
    match &p.body {
        // A patch with no documents is no strategic merge for kustomize (its list of them
        // is nil), so it runs as a JSON patch with no operations, which needs a target.
        PatchBody::Strategic(docs) if docs.is_empty() && p.target.is_none() => {
            Err(TransformError::config(
                NAME,
                format!("must specify a target for JSON patch {}", p.source),
            ))
        }
        PatchBody::Strategic(docs) => {
            if let Some(sel) = &p.target {
                if docs.len() > 1 {
                    return Err(TransformError::config(
                        NAME,
                        format!(
                            "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {}",
                            p.source
                        ),
                    ));
                }
                let Some(doc) = docs.first() else {
                    return Ok(());
                };
                let hits = sel.select(m).map_err(|e| TransformError::config(NAME, e))?;
                let mut deleted = Vec::new();
                for i in hits {
                    if merge_at(m, i, doc, schema, p.options, true)? {
                        deleted.push(i);
                    }
                }
                remove_positions(m, &deleted);
                m.reappend_all()
                    .map_err(|e| TransformError::config(NAME, e.to_string()))
            } else {
                for doc in docs {
                    let i = find_by_id(m, doc, &p.source)?;
                    if merge_at(m, i, doc, schema, p.options, false)? {
                        remove_positions(m, &[i]);
                    }
                }
                // One resource patched by id is not re-appended: a rename may leave two
                // resources with one id, as in kustomize.
                m.reindex();
                Ok(())
            }
        }
        PatchBody::Json(ops) => {
            let Some(sel) = &p.target else {
                return Err(TransformError::config(
                    NAME,
                    format!("must specify a target for JSON patch {}", p.source),
                ));
            };
            apply_json(m, ops, sel, p.store_previous_id, NAME, budget)
        }
    }
}

/// kustomize's `PatchStrategicMergeTransformer`: each document finds its resource by id;
/// the merge treats it as selected (the patch's metadata maps become strings).
pub fn apply_strategic_merge(
    m: &mut ResMap,
    docs: &[Value],
    source: &str,
    schema: &Schema,
) -> Result<(), TransformError> {
    for doc in docs {
        let i = find_by_id(m, doc, source)?;
        if merge_at(m, i, doc, schema, ApplyOptions::default(), true)? {
            remove_positions(m, &[i]);
        }
        m.reindex();
    }
    Ok(())
}

/// JSON 6902 on every selected resource (`patches:` and `patchesJson6902:`).
pub fn apply_json(
    m: &mut ResMap,
    ops: &JsonPatch,
    sel: &Selector,
    store_previous_id: bool,
    transformer: &'static str,
    budget: &Budget,
) -> Result<(), TransformError> {
    let hits = sel
        .select(m)
        .map_err(|e| TransformError::config(transformer, e))?;
    for i in hits {
        let Some(r) = m.get_mut(i) else { continue };
        if store_previous_id {
            r.store_previous_id();
        }
        // The operations see kustomize's bookkeeping annotations; its JSON patch
        // transformers put the internal ones back afterwards (PatchTransformer.go,
        // PatchJson6902Transformer.go), not the origin.
        let res = r
            .with_bookkeeping(Keep::Internal, |obj| ops.apply_within(obj, budget))
            .map_err(|e| TransformError::on(transformer, r, e))?;
        // kustomize patches the object as JSON and reads it back: every node is new.
        r.rebuilt("");
        if let Err(e) = res {
            return Err(TransformError::on(
                transformer,
                r,
                format!("JSON patch failed: {e}"),
            ));
        }
        // kustomize reads the patched object back as a resource, which needs both.
        let present = |p: &str| {
            r.obj()
                .pointer(p)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        for (pointer, what) in [("/kind", "kind"), ("/metadata/name", "metadata.name")] {
            if !present(pointer) {
                return Err(TransformError::on(
                    transformer,
                    r,
                    format!("missing {what} in object after the JSON patch"),
                ));
            }
        }
    }
    m.reindex();
    Ok(())
}

fn remove_positions(m: &mut ResMap, positions: &[usize]) {
    if positions.is_empty() {
        return;
    }
    let mut i = 0;
    m.retain(|_| {
        let keep = !positions.contains(&i);
        i += 1;
        keep
    });
}
