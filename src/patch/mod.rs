//! Patches applied to resources: strategic merge ([`smp`]) and JSON 6902 ([`json6902`]).
//!
//! This module owns only applying one patch to one resource, as pure functions on
//! `serde_json::Value`. Finding which resources a patch applies to (by its
//! own id, or a `target:` selector), reading patch files, and removing deleted resources
//! from the resource map are the pipeline's job.

pub mod json6902;
pub mod smp;
