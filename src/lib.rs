//! rustomize: a Kustomize rendering engine.
pub mod yaml;
