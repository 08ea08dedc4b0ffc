//! rustomize: a Kustomize rendering engine.
pub mod policy;
pub mod schema;
pub mod setters;
pub mod yaml;
