//! The library's error type: every failure names the file it concerns and, where the YAML
//! layer knows it, the line and column.

use std::path::{Path, PathBuf};

use crate::fs::LoadError;
use crate::kustomization::KustomizationError;
use crate::transform::TransformError;
use crate::yaml;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be loaded (missing, outside the root, a cycle...).
    #[error("{context}: {source}")]
    Load {
        context: String,
        #[source]
        source: LoadError,
    },
    /// A YAML file could not be read.
    #[error("{}", located(file, source))]
    Yaml { file: PathBuf, source: yaml::Error },
    /// A kustomization file is invalid.
    #[error("{}: {source}", kustomization_place(file, source))]
    Kustomization {
        file: PathBuf,
        #[source]
        source: KustomizationError,
    },
    /// A transformer failed (the kustomization that configured it is named).
    #[error("{file}: {source}")]
    Transform {
        file: PathBuf,
        #[source]
        source: Box<TransformError>,
    },
    /// Anything else, with the file it concerns.
    #[error("{file}: {message}")]
    Build { file: String, message: String },
    /// The result could not be written as YAML (e.g. a string with a control character).
    #[error("writing output: {0}")]
    Emit(yaml::Error),
}

fn located(file: &Path, e: &yaml::Error) -> String {
    match (e.line, e.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", file.display(), e.message),
        (Some(l), None) => format!("{}:{l}: {}", file.display(), e.message),
        _ => format!("{}: {}", file.display(), e.message),
    }
}

fn kustomization_place(file: &Path, e: &KustomizationError) -> String {
    match e.position() {
        Some((l, Some(c))) => format!("{}:{l}:{c}", file.display()),
        Some((l, None)) => format!("{}:{l}", file.display()),
        None => file.display().to_string(),
    }
}

impl Error {
    pub fn build(file: impl std::fmt::Display, message: impl Into<String>) -> Error {
        Error::Build {
            file: file.to_string(),
            message: message.into(),
        }
    }
}
