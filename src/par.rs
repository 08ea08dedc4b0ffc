//! Fork-join over independent work items (reading files, printing resources), on scoped
//! threads: results come back in input order, so output stays deterministic. Small inputs
//! run on the calling thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many threads a build uses when the caller sets no limit: the machine's cores, at
/// most 8 (past that, reading and printing are bound by memory, not cores).
pub fn available() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

/// `items.iter().map(f)`, spread over up to `threads` threads (1: on this thread).
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads.min(items.len());
    if n < 2 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut slots) = slots.lock() {
                    if let Some(slot) = slots.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Runs `f` on a new thread with a stack of `bytes` (reserved, not committed: pages are
/// used only as deep as the recursion goes) and returns its result. A build recurses once
/// per nested kustomization, so it runs on such a thread rather than on the caller's,
/// whose stack size it does not know. If the thread cannot be started, `f` runs here.
pub fn with_stack<R: Send>(bytes: usize, f: impl FnOnce() -> R + Send) -> R {
    let job = Mutex::new(Some(f));
    let take = || job.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("rustomize-build".into())
            .stack_size(bytes)
            .spawn_scoped(s, || take().map(|f| f()));
        let result = match spawned {
            Ok(handle) => match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => None,
        };
        match result {
            Some(r) => r,
            None => match take() {
                Some(f) => f(),
                // The thread took the job, so it returned a result above.
                None => unreachable!("the build job ran but returned nothing"),
            },
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_input_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map(&items, 4, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
