#![warn(missing_docs)]
//! rustomize renders Kustomize trees byte-for-byte as `kustomize build` (v5.5.0) prints
//! them, and rewrites Flux `$imagepolicy` markers in place.
//!
//! The pipeline: a [`fs::Loader`] reads a kustomization directory (load restrictor on by
//! default); [`mod@build`] accumulates its resources and bases into a [`resource::ResMap`], runs
//! generators and transformers in kustomize's order, sorts, and the [`yaml`] emitter
//! prints each resource the way go-yaml v2 would.
//!
//! ```
//! use std::sync::Arc;
//! use rustomize::fs::MemFs;
//!
//! let mut fs = MemFs::new();
//! fs.add("/app/kustomization.yaml", "namePrefix: dev-\nresources:\n- cm.yaml\n");
//! fs.add("/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  on: yes\n");
//! let out = rustomize::build::render(Arc::new(fs), "/app".as_ref(), &Default::default()).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "apiVersion: v1\ndata:\n  \"on\": \"yes\"\nkind: ConfigMap\nmetadata:\n  name: dev-cfg\n"
//! );
//! ```

// The public API: building (and its options, limits, warnings and errors), the file
// systems a build reads, remote and Helm access, the resource view, Flux mode, the image
// setters and policies, kustomization edits, and the Go-compatible YAML reader/emitter.
pub mod budget;
pub mod build;
pub mod edit;
pub mod error;
pub mod fleet;
pub mod flux;
pub mod fs;
pub mod helm;
pub mod policy;
pub mod remote;
pub mod resource;
pub mod setters;
pub mod warning;
pub mod yaml;

// Internals: kustomize's semantics, free to change between releases.
mod fieldspec;
mod generate;
mod kustomization;
mod par;
mod patch;
mod plugins;
mod schema;
mod selector;
mod suggest;
mod transform;

pub use build::{build, render, Options};
pub use error::{Error, ErrorKind};
pub use kustomization::FILE_NAMES as KUSTOMIZATION_FILE_NAMES;
pub use resource::{ResMap, Resource};
/// The document model of [`Resource`]s (`serde_json` with its default, sorted maps).
pub use serde_json;

/// Entry points for this crate's fuzz targets, property tests and benchmarks, which
/// exercise internals directly. Not part of the API: anything here may change in any
/// release.
#[doc(hidden)]
pub mod internals {
    pub use crate::patch::{json6902, smp};
    pub use crate::schema::Schema;
}
