//! A resource's object together with its index key: the key is computed on first use and
//! forgotten on every mutable access. Ids are looked up far more often than objects change,
//! and no change can leave a stale key behind: the only way to the value's `&mut` (this
//! module keeps the fields private) clears it.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::IdKey;

#[derive(Debug, Clone)]
pub(super) struct Obj {
    value: Value,
    key: OnceLock<Arc<IdKey>>,
}

impl Obj {
    pub(super) fn new(value: Value) -> Obj {
        Obj {
            value,
            key: OnceLock::new(),
        }
    }

    pub(super) fn value_mut(&mut self) -> &mut Value {
        self.key.take();
        &mut self.value
    }

    pub(super) fn into_value(self) -> Value {
        self.value
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
