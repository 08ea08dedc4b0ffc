//! Sharing a base's render between the builds of one unchanging tree
//! ([`crate::fleet::check`]: the roots of a repository share bases).
//!
//! A base's accumulated result (its resources, field-spec configuration and vars, before
//! the including kustomization transforms them) depends on its own tree alone, with
//! exceptions this module keeps out of the cache or replays:
//!
//! - the strategic-merge schema is the build's (`openapi:` of the top kustomization, or of
//!   the first that sets one): only renders made with the built-in schema, by trees that set
//!   none, are kept, and used only while the build has the built-in schema;
//! - origin annotations name paths relative to the build root: not cached when tracked;
//! - Helm inflation shares state within a build, remote bases are cloned per build: trees
//!   that use either are not cached;
//! - warnings the base's tree emitted, the budget it charged and the nesting depth it
//!   reached are recorded and replayed (a base that would now exceed a limit is built again,
//!   to fail where it fails);
//! - a cycle can depend on the kustomizations that led to the base: every kustomization
//!   directory of the cached tree is checked against the current chain before use.
//!
//! Only successful renders are kept; an error is always the full build's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::Accumulator;
use crate::budget::Used;
use crate::warning::Warning;

/// Base renders shared by builds of one tree with the same options. Give the same cache
/// only to builds of one unchanging file system with the same [`super::Options`].
#[derive(Debug, Default)]
pub struct BaseCache {
    bases: Mutex<HashMap<PathBuf, Arc<CachedBase>>>,
    /// Directories accumulated once already. A render is kept only from the second time
    /// on: keeping one costs a deep copy, worth it only for directories that recur.
    seen: Mutex<std::collections::HashSet<PathBuf>>,
}

impl BaseCache {
    /// An empty cache.
    pub fn new() -> BaseCache {
        BaseCache::default()
    }

    pub(super) fn get(&self, root: &Path) -> Option<Arc<CachedBase>> {
        self.bases.lock().ok()?.get(root).cloned()
    }

    /// Notes that `root` is being accumulated; true the first time.
    pub(super) fn first_sighting(&self, root: &Path) -> bool {
        self.seen
            .lock()
            .map(|mut seen| seen.insert(root.to_path_buf()))
            .unwrap_or(false)
    }

    pub(super) fn put(&self, root: PathBuf, base: CachedBase) {
        if let Ok(mut bases) = self.bases.lock() {
            bases.entry(root).or_insert_with(|| Arc::new(base));
        }
    }
}

/// One base's render and what building it did besides.
#[derive(Debug)]
pub(super) struct CachedBase {
    pub acc: Accumulator,
    pub side: Recording,
}

/// What a base's tree does to the build besides returning its result, recorded while it is
/// built: replayed when the render is used again.
#[derive(Debug, Clone, Default)]
pub(super) struct Recording {
    pub warnings: Vec<Warning>,
    /// Every kustomization directory of the tree.
    pub roots: Vec<PathBuf>,
    /// Budget charged.
    pub used: Used,
    /// The base's own depth in the build that recorded this (the levels below it are
    /// counted from there).
    pub base_depth: u64,
    /// How many levels below the base the tree reaches.
    pub depth_below: u64,
    /// Something makes the render depend on more than the tree (see the module text).
    pub uncacheable: bool,
}
