//! rustomize: a Kustomize rendering engine.
pub mod patch;
pub mod schema;
pub mod yaml;
