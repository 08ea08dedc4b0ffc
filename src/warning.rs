//! Warnings a build reports without failing: kustomize's own (deprecated kustomization
//! fields, vars that replaced nothing, the `git::` prefix, a sort order set twice), in
//! kustomize's words and order, and opt-in ones kustomize lacks (a patch or replacement
//! that matches nothing).
//!
//! The library never prints: a build hands each warning, as it happens, to the sink the
//! caller gave in [`crate::build::Options::warnings`]; the command line prints them on
//! stderr.
//!
//! ```
//! use std::sync::Arc;
//! use rustomize::fs::MemFs;
//! use rustomize::warning::{Collector, WarningKind};
//!
//! let mut fs = MemFs::new();
//! fs.add("/app/kustomization.yaml", "commonLabels: {a: b}\nresources: [cm.yaml]\n");
//! fs.add("/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n");
//! let collector = Collector::default();
//! let opts = rustomize::build::Options {
//!     warnings: Some(collector.sink()),
//!     ..Default::default()
//! };
//! rustomize::build::render(Arc::new(fs), "/app".as_ref(), &opts).unwrap();
//! let warnings = collector.take();
//! assert_eq!(warnings[0].kind, WarningKind::DeprecatedField("commonLabels"));
//! assert!(warnings[0].message.starts_with("# Warning: 'commonLabels' is deprecated."));
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What a warning is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// A deprecated kustomization field (`bases`, `commonLabels`, ...).
    DeprecatedField(&'static str),
    /// Vars that were declared but replaced nothing (names sorted).
    UnusedVars(Vec<String>),
    /// A remote URL with the `git::` prefix, which kustomize strips.
    ForcedGitPrefix,
    /// `sortOptions` in the kustomization and an explicit `--reorder`.
    SortOrderConflict,
    /// A deprecated build option (`--reorder`, `--enable-managedby-label`).
    DeprecatedOption(&'static str),
    /// Opt-in: a patch whose target selects no resource.
    PatchMatchedNothing,
    /// Opt-in: a replacement target that selects no resource.
    ReplacementMatchedNothing,
}

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What it is about, for callers that filter or act on warnings.
    pub kind: WarningKind,
    /// The text kubectl prints (for kustomize's own warnings, byte for byte).
    pub message: String,
    /// The kustomization (or other file) it concerns, where there is one.
    pub file: Option<PathBuf>,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where a build sends its warnings: a function called with each, in order.
#[derive(Clone)]
pub struct WarningSink(Arc<dyn Fn(Warning) + Send + Sync>);

impl WarningSink {
    /// A sink calling `f` with each warning, in the order the build meets them.
    pub fn new(f: impl Fn(Warning) + Send + Sync + 'static) -> WarningSink {
        WarningSink(Arc::new(f))
    }

    /// Hands `w` to the sink's function, as a build does.
    pub fn emit(&self, w: Warning) {
        (self.0)(w)
    }
}

impl std::fmt::Debug for WarningSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WarningSink")
    }
}

/// A sink that keeps the warnings in order, for callers that want them as a list.
#[derive(Debug, Clone, Default)]
pub struct Collector(Arc<Mutex<Vec<Warning>>>);

impl Collector {
    /// A sink that appends to this collector.
    pub fn sink(&self) -> WarningSink {
        let list = self.0.clone();
        WarningSink::new(move |w| list.lock().unwrap_or_else(|e| e.into_inner()).push(w))
    }

    /// The warnings so far, leaving the collector empty.
    pub fn take(&self) -> Vec<Warning> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// kustomize's deprecated kustomization fields, in the order it checks them, with what
/// replaces each.
pub const DEPRECATED_FIELDS: [(&str, &str); 6] = [
    ("bases", "resources"),
    ("commonLabels", "labels"),
    ("imageTags", "images"),
    ("patchesJson6902", "patches"),
    ("patchesStrategicMerge", "patches"),
    ("vars", "replacements"),
];

/// kustomize's deprecation line for a field.
pub fn deprecated_field(field: &'static str, file: PathBuf) -> Warning {
    let instead = DEPRECATED_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("", |(_, i)| *i);
    let experimental = if field == "vars" {
        "[EXPERIMENTAL] "
    } else {
        ""
    };
    Warning {
        kind: WarningKind::DeprecatedField(field),
        message: format!(
            "# Warning: '{field}' is deprecated. Please use '{instead}' instead. {experimental}Run 'kustomize edit fix' to update your Kustomization automatically."
        ),
        file: Some(file),
    }
}

/// kustomize's line for vars that replaced nothing.
pub fn unused_vars(names: Vec<String>, file: PathBuf) -> Warning {
    Warning {
        message: format!(
            "well-defined vars that were never replaced: {}",
            names.join(",")
        ),
        kind: WarningKind::UnusedVars(names),
        file: Some(file),
    }
}

/// kustomize's line for a `git::` URL.
pub fn forced_git_prefix(file: Option<PathBuf>) -> Warning {
    Warning {
        kind: WarningKind::ForcedGitPrefix,
        message: "Warning: Forcing the git protocol using the 'git::' URL prefix is not supported. Kustomize currently strips this invalid prefix, but will stop doing so in a future release. Please remove the 'git::' prefix from your configuration.".into(),
        file,
    }
}

/// kustomize's line for `sortOptions` together with `--reorder`.
pub fn sort_order_conflict(file: PathBuf) -> Warning {
    Warning {
        kind: WarningKind::SortOrderConflict,
        message: "Warning: Sorting order is set both in 'kustomization.yaml' ('sortOptions') and in a CLI flag ('--reorder'). Using the kustomization file over the CLI flag.".into(),
        file: Some(file),
    }
}

/// kubectl's notices for its deprecated build flags.
pub fn deprecated_option(option: &'static str) -> Warning {
    let message = match option {
        "reorder" => "Flag --reorder has been deprecated, use the new 'sortOptions' field in kustomization.yaml instead.".to_string(),
        _ => "Flag --enable-managedby-label has been deprecated, The flag `enable-managedby-label` has been deprecated. Use the `managedByLabel` option in the `buildMetadata` field instead.".to_string(),
    };
    Warning {
        kind: WarningKind::DeprecatedOption(option),
        message,
        file: None,
    }
}

/// Opt-in: a patch whose target selects nothing.
pub fn patch_matched_nothing(source: &str, file: PathBuf) -> Warning {
    Warning {
        kind: WarningKind::PatchMatchedNothing,
        message: format!("Warning: the patch {source} matches no resource"),
        file: Some(file),
    }
}

/// Opt-in: a replacement target that selects nothing.
pub fn replacement_matched_nothing(which: &str, file: PathBuf) -> Warning {
    Warning {
        kind: WarningKind::ReplacementMatchedNothing,
        message: format!("Warning: {which} selects no resource"),
        file: Some(file),
    }
}
