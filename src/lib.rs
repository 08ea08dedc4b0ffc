//! rustomize renders Kustomize trees byte-for-byte as `kustomize build` (v5.5.0) prints
//! them, and rewrites Flux `$imagepolicy` markers in place.
//!
//! The pipeline: a [`fs::Loader`] reads a kustomization directory (load restrictor on by
//! default); [`build`] accumulates its resources and bases into a [`resource::ResMap`], runs
//! generators and [`transform`]ers in kustomize's order, sorts, and the [`yaml`] emitter
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

pub mod budget;
pub mod build;
pub mod edit;
pub mod error;
pub mod fieldspec;
pub mod flux;
pub mod fs;
pub mod generate;
pub mod helm;
pub mod kustomization;
pub mod par;
pub mod patch;
pub mod plugins;
pub mod policy;
pub mod remote;
pub mod resource;
pub mod schema;
pub mod selector;
pub mod setters;
pub mod suggest;
pub mod transform;
pub mod warning;
pub mod yaml;

pub use error::Error;
