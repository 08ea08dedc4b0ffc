//! rustomize: a Kustomize rendering engine.
pub mod schema;
pub mod yaml;
