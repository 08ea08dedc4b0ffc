//! Patches applied to resources: strategic merge ([`smp`]). JSON 6902 patches live with the
//! pipeline, which applies them with the `json-patch` crate.
//!
//! This module owns only the merge of one patch document into one resource, as pure
//! functions on `serde_json::Value`. Finding which resources a patch applies to (by its
//! own id, or a `target:` selector), reading patch files, and removing deleted resources
//! from the resource map are the pipeline's job.

pub mod smp;
