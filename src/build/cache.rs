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
//! Only successful renders are kept; an error is always the full build's. Kept renders
//! share their objects with the builds that use them (see [`crate::resource`]'s copy-on-write
//! objects), so keeping one costs little more than the map that holds it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::Accumulator;
use crate::budget::Used;
use crate::warning::Warning;

/// Base renders shared by builds of one tree with the same options. Give the same cache
/// only to builds of one unchanging file system with the same [`super::Options`].
///
/// A directory is accumulated by one build at a time: a build that needs a directory
/// another build is accumulating waits for that render instead of making its own, unless
/// waiting could close a circle of builds waiting for each other (then it builds the
/// directory itself).
#[derive(Debug, Default)]
pub struct BaseCache {
    state: Mutex<State>,
    /// Signalled whenever a directory stops being accumulated.
    settled: Condvar,
}

#[derive(Debug, Default)]
struct State {
    bases: HashMap<PathBuf, Arc<CachedBase>>,
    /// Directories being accumulated, each by the build that claimed it.
    building: HashMap<PathBuf, BuildId>,
    /// The build each waiting build waits for (a build runs its kustomizations on one
    /// thread, so it waits for one directory at a time).
    waiting: HashMap<BuildId, BuildId>,
    /// Directories whose render depends on more than their tree: nobody waits for them.
    unshareable: HashSet<PathBuf>,
}

/// One build's identity, for the waits-for relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct BuildId(u64);

impl BuildId {
    pub(super) fn fresh() -> BuildId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        BuildId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// What [`BaseCache::claim`] found.
pub(super) enum Claim<'a> {
    /// Another build's render.
    Hit(Arc<CachedBase>),
    /// This build accumulates the directory; others wait for [`Claimed::keep`] or the drop.
    Claimed(Claimed<'a>),
    /// This build accumulates the directory without sharing the result.
    Alone,
}

/// A directory this build is accumulating for the cache.
pub(super) struct Claimed<'a> {
    cache: &'a BaseCache,
    root: PathBuf,
}

impl BaseCache {
    /// An empty cache.
    pub fn new() -> BaseCache {
        BaseCache::default()
    }

    fn lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.lock().ok()
    }

    /// The render of `root`, waiting for it while another build makes it, or the right to
    /// make it.
    pub(super) fn claim(&self, root: &Path, me: BuildId) -> Claim<'_> {
        let Some(mut state) = self.lock() else {
            return Claim::Alone;
        };
        loop {
            if let Some(hit) = state.bases.get(root) {
                return Claim::Hit(hit.clone());
            }
            if state.unshareable.contains(root) {
                return Claim::Alone;
            }
            let Some(&owner) = state.building.get(root) else {
                state.building.insert(root.to_path_buf(), me);
                return Claim::Claimed(Claimed {
                    cache: self,
                    root: root.to_path_buf(),
                });
            };
            if state.leads_to(owner, me) {
                return Claim::Alone;
            }
            state.waiting.insert(me, owner);
            state = match self.settled.wait(state) {
                Ok(state) => state,
                Err(_) => return Claim::Alone,
            };
            state.waiting.remove(&me);
        }
    }
}

impl State {
    /// Whether `from` is `to` or waits, directly or through other builds, for `to`.
    fn leads_to(&self, from: BuildId, to: BuildId) -> bool {
        let mut cur = from;
        // Each build waits for at most one other and no circle is ever let in, so the
        // chain ends; the bound only guards against a broken invariant.
        for _ in 0..=self.waiting.len() {
            if cur == to {
                return true;
            }
            match self.waiting.get(&cur) {
                Some(&next) => cur = next,
                None => return false,
            }
        }
        true
    }
}

impl Claimed<'_> {
    /// Shares the render (`None`: it depends on more than its tree, and is not shared).
    pub(super) fn keep(self, base: Option<CachedBase>) {
        if let Some(mut state) = self.cache.lock() {
            match base {
                Some(base) => {
                    state
                        .bases
                        .entry(self.root.clone())
                        .or_insert_with(|| Arc::new(base));
                }
                None => {
                    state.unshareable.insert(self.root.clone());
                }
            }
        }
    }
}

impl Drop for Claimed<'_> {
    fn drop(&mut self) {
        if let Some(mut state) = self.cache.lock() {
            state.building.remove(&self.root);
        }
        self.cache.settled.notify_all();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn render() -> CachedBase {
        CachedBase {
            acc: Accumulator::default(),
            side: Recording::default(),
        }
    }

    /// Claims `dir` for `id` on another thread and reports what the claim returned.
    fn claim_elsewhere(
        cache: &Arc<BaseCache>,
        dir: &'static str,
        id: BuildId,
    ) -> mpsc::Receiver<&'static str> {
        let (tx, rx) = mpsc::channel();
        let cache = cache.clone();
        std::thread::spawn(move || {
            let what = match cache.claim(Path::new(dir), id) {
                Claim::Hit(_) => "hit",
                Claim::Claimed(_) => "claimed",
                Claim::Alone => "alone",
            };
            let _ = tx.send(what);
        });
        rx
    }

    #[test]
    fn a_build_waits_for_the_render_another_build_is_making() {
        let cache = Arc::new(BaseCache::new());
        let (a, b) = (BuildId::fresh(), BuildId::fresh());
        let Claim::Claimed(making) = cache.claim(Path::new("/base"), a) else {
            panic!("the first claim is the right to build");
        };
        let waiter = claim_elsewhere(&cache, "/base", b);
        assert!(
            waiter.recv_timeout(Duration::from_millis(200)).is_err(),
            "the second build waits while the first builds"
        );
        making.keep(Some(render()));
        assert_eq!(waiter.recv_timeout(Duration::from_secs(10)), Ok("hit"));
    }

    #[test]
    fn a_failed_or_unshareable_render_lets_the_waiter_build() {
        let cache = Arc::new(BaseCache::new());
        let (a, b) = (BuildId::fresh(), BuildId::fresh());
        let Claim::Claimed(making) = cache.claim(Path::new("/base"), a) else {
            panic!("the first claim is the right to build");
        };
        let waiter = claim_elsewhere(&cache, "/base", b);
        std::thread::sleep(Duration::from_millis(50));
        drop(making); // an error: nothing kept
        assert_eq!(waiter.recv_timeout(Duration::from_secs(10)), Ok("claimed"));

        let Claim::Claimed(making) = cache.claim(Path::new("/helm"), a) else {
            panic!("the first claim is the right to build");
        };
        making.keep(None);
        assert!(matches!(cache.claim(Path::new("/helm"), b), Claim::Alone));
    }

    #[test]
    fn a_wait_that_would_close_a_circle_is_not_taken() {
        let cache = Arc::new(BaseCache::new());
        let (a, b) = (BuildId::fresh(), BuildId::fresh());
        let Claim::Claimed(p) = cache.claim(Path::new("/p"), a) else {
            panic!("unclaimed");
        };
        let Claim::Claimed(q) = cache.claim(Path::new("/q"), b) else {
            panic!("unclaimed");
        };
        // b waits for a's /p ...
        let b_waits = claim_elsewhere(&cache, "/p", b);
        while cache.lock().unwrap().waiting.get(&b) != Some(&a) {
            std::thread::yield_now();
        }
        // ... so a must not wait for b's /q, nor for its own /p.
        assert!(matches!(cache.claim(Path::new("/q"), a), Claim::Alone));
        assert!(matches!(cache.claim(Path::new("/p"), a), Claim::Alone));
        drop(p);
        assert_eq!(b_waits.recv_timeout(Duration::from_secs(10)), Ok("claimed"));
        drop(q);
    }
}
