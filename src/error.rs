//! The library's error type: every failure names the file it concerns and, where the YAML
//! layer knows it, the line and column; [`Error::kind`] tells the broad class (a missing
//! file from invalid YAML from a failing patch) and [`std::error::Error::source`] keeps the
//! cause.

use std::path::{Path, PathBuf};

use crate::fs::LoadError;
use crate::kustomization::KustomizationError;
use crate::transform::TransformError;
use crate::yaml;

/// The class of a build failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file or directory is missing or may not be read (load restrictor, cycle, not a
    /// regular file, no kustomization file).
    Load,
    /// Bytes that are not valid YAML.
    Yaml,
    /// A kustomization (or a file it configures: patches, replacements, configurations,
    /// openapi, sort options) that is not valid.
    Kustomization,
    /// A document that is not a usable resource (no kind or name), or two resources with
    /// one id.
    Resource,
    /// configMapGenerator or secretGenerator.
    Generate,
    /// A transformer, patch, replacement, var or name reference.
    Transform,
    /// A plugin configuration (`generators:`, `transformers:`).
    Plugin,
    /// A remote repository or HTTP file.
    Remote,
    /// A Helm chart.
    Helm,
    /// A build limit ([`crate::budget::Limits`]) or the file-size limit.
    Limit,
    /// The result cannot be printed as YAML (or written where asked).
    Output,
    /// Flux mode: the Flux Kustomization, its generated kustomization, substitution.
    Flux,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be loaded (missing, outside the root, a cycle...).
    #[error("{context}: {source}")]
    Load {
        /// What was being loaded (`accumulating resources from 'x.yaml'`).
        context: String,
        /// Why it failed; [`LoadError::path`] names the file.
        #[source]
        source: LoadError,
    },
    /// A YAML file could not be read.
    #[error("{}", located(file, source))]
    Yaml {
        /// The file.
        file: PathBuf,
        /// The parser's message, with line and column where known.
        #[source]
        source: yaml::Error,
    },
    /// A kustomization file is invalid.
    #[error("{}: {source}", kustomization_place(file, source))]
    Kustomization {
        /// The kustomization file.
        file: PathBuf,
        /// What is wrong with it (field, line and column where known).
        #[source]
        source: KustomizationError,
    },
    /// A transformer failed (the kustomization that configured it is named).
    #[error("{file}: {source}")]
    Transform {
        /// The kustomization that configured the transformer.
        file: PathBuf,
        /// What failed.
        #[source]
        source: Box<TransformError>,
    },
    /// A generator failed.
    #[error("{}: {generator}: {source}", file.display())]
    Generate {
        /// The kustomization that configured the generator.
        file: PathBuf,
        /// `configMapGenerator 'name'`.
        generator: String,
        /// What failed.
        #[source]
        source: Box<crate::generate::GenerateError>,
    },
    /// A Helm chart could not be inflated.
    #[error("{}: {source}", file.display())]
    Helm {
        /// The kustomization that names the chart.
        file: PathBuf,
        /// What failed.
        #[source]
        source: crate::helm::HelmError,
    },
    /// A resource could not be printed as YAML (e.g. a string with a control character).
    #[error("writing {resource}: {source}")]
    Emit {
        /// The resource (`Kind/name` and the file it came from).
        resource: String,
        /// The emitter's message.
        #[source]
        source: yaml::Error,
    },
    /// Any other failure, with its class and the file it concerns.
    #[error("{file}: {message}")]
    Other {
        /// The class of the failure.
        kind: ErrorKind,
        /// The file (or URL) concerned; may be empty.
        file: String,
        /// What went wrong.
        message: String,
    },
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
    /// An error of `kind` about `file`.
    pub fn new(kind: ErrorKind, file: impl std::fmt::Display, message: impl Into<String>) -> Error {
        Error::Other {
            kind,
            file: file.to_string(),
            message: message.into(),
        }
    }

    /// The class of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Load { source, .. } => source.kind(),
            Error::Yaml { .. } => ErrorKind::Yaml,
            Error::Kustomization { source, .. } => match source {
                KustomizationError::Yaml(_) => ErrorKind::Yaml,
                _ => ErrorKind::Kustomization,
            },
            Error::Transform { .. } => ErrorKind::Transform,
            Error::Generate { source, .. } => match &**source {
                crate::generate::GenerateError::Load { source, .. } => match source.kind() {
                    ErrorKind::Load => ErrorKind::Generate,
                    other => other,
                },
                _ => ErrorKind::Generate,
            },
            Error::Helm { .. } => ErrorKind::Helm,
            Error::Emit { .. } => ErrorKind::Output,
            Error::Other { kind, .. } => *kind,
        }
    }

    /// The file the error is about, where one is known.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Error::Load { source, .. } => source.path(),
            Error::Yaml { file, .. }
            | Error::Kustomization { file, .. }
            | Error::Transform { file, .. }
            | Error::Generate { file, .. }
            | Error::Helm { file, .. } => Some(file),
            Error::Emit { .. } => None,
            Error::Other { file, .. } => (!file.is_empty()).then(|| Path::new(file.as_str())),
        }
    }

    /// The 1-based line in [`Error::file`], where the YAML layer knows it.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Yaml { source, .. } => source.line,
            Error::Kustomization { source, .. } => source.position().map(|p| p.0),
            _ => None,
        }
    }

    /// The 1-based column in [`Error::file`], where the YAML layer knows it.
    pub fn column(&self) -> Option<usize> {
        match self {
            Error::Yaml { source, .. } => source.column,
            Error::Kustomization { source, .. } => source.position().and_then(|p| p.1),
            _ => None,
        }
    }
}
