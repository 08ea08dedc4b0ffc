//! A resource's object together with its index key: the key is computed on first use and
//! forgotten on every mutable access. Ids are looked up far more often than objects change,
//! and no change can leave a stale key behind: the only way to the value's `&mut` (this
//! module keeps the fields private) clears it.
//!
//! The object itself is shared copy-on-write: cloning a resource (a cached base render, a
//! cached parse, a resource map handed to a generator) costs a reference count, and the
//! object is copied only when a clone is first changed.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::IdKey;

#[derive(Debug, Clone)]
pub(super) struct Obj {
    value: Arc<Value>,
    key: OnceLock<Arc<IdKey>>,
}

impl Obj {
    pub(super) fn new(value: Value) -> Obj {
        Obj {
            value: Arc::new(value),
            key: OnceLock::new(),
        }
    }

    pub(super) fn value_mut(&mut self) -> &mut Value {
        self.key.take();
        Arc::make_mut(&mut self.value)
    }

    pub(super) fn into_value(self) -> Value {
        Arc::try_unwrap(self.value).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The key, computed by `compute` unless the value is unchanged since the last time.
    pub(super) fn key(&self, compute: impl FnOnce() -> IdKey) -> Arc<IdKey> {
        self.key.get_or_init(|| Arc::new(compute())).clone()
    }
}

impl std::ops::Deref for Obj {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.value
    }
}
