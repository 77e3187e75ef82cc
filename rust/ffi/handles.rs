//! The process-wide handle table behind every opaque C handle, typed by handle kind (after
//! rustls-ffi's `Castable`): each C handle type names the Rust object it stands for ([`Handle`]), and
//! one generic accessor serves every kind, so a new kind adds no match arms anywhere.
//!
//! A handle's pointer value is a key into this table, never an address, and keys are never reused. So a
//! stale, freed, double-freed or wrong-kind handle is found missing (or of another kind) and the call
//! fails with `RSESS_RESULT_INVALID_HANDLE` instead of touching freed memory.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use once_cell::sync::Lazy;

use super::result::{Failure, Result};

/// A C handle type (an opaque `rsess_*` struct) and the Rust object its handles stand for.
pub(crate) trait Handle: 'static {
    /// What the table keeps for a handle of this kind.
    type Object: Send + 'static;
}

/// One table entry: the handle kind it was made as, and its object.
struct Entry {
    kind: TypeId,
    object: Box<dyn Any + Send>,
}

static TABLE: Lazy<Mutex<HashMap<u64, Entry>>> = Lazy::new(|| Mutex::new(HashMap::new()));
/// Keys start high so small integers mistaken for handles are never valid.
static NEXT_KEY: AtomicU64 = AtomicU64::new(0x5253_0000);

fn table() -> MutexGuard<'static, HashMap<u64, Entry>> {
    TABLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Stores `object` and returns its new handle of kind `H`.
pub(crate) fn insert<H: Handle>(object: H::Object) -> *mut H {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    table().insert(key, Entry { kind: TypeId::of::<H>(), object: Box::new(object) });
    key as usize as *mut H
}

/// Removes a handle's object when the handle is of kind `H`; NULL, unknown keys and other kinds are
/// left alone (a `_free` of the wrong kind frees nothing).
pub(crate) fn free<H: Handle>(handle: *const H) -> Option<H::Object> {
    if handle.is_null() {
        return None;
    }
    let key = handle as usize as u64;
    let mut table = table();
    if table.get(&key).map_or(true, |e| e.kind != TypeId::of::<H>()) {
        return None;
    }
    let entry = table.remove(&key)?;
    entry.object.downcast::<H::Object>().ok().map(|b| *b)
}

/// Runs `f` on the object behind `handle` while the table is locked (keep `f` short).
/// Errors: NullArgument for NULL, InvalidHandle for an unknown key or another kind.
pub(crate) fn with<H: Handle, R>(handle: *const H, f: impl FnOnce(&mut H::Object) -> Result<R>) -> Result<R> {
    if handle.is_null() {
        return Err(Failure::null("A handle argument"));
    }
    let mut table = table();
    let entry = table.get_mut(&(handle as usize as u64)).filter(|e| e.kind == TypeId::of::<H>()).ok_or(Failure::InvalidHandle)?;
    f(entry.object.downcast_mut::<H::Object>().ok_or(Failure::InvalidHandle)?)
}

/// A copy of the object behind `handle` (for the kinds whose objects are shared references or small
/// values). Errors: as `with`.
pub(crate) fn get<H: Handle>(handle: *const H) -> Result<H::Object>
where
    H::Object: Clone,
{
    with(handle, |o| Ok(o.clone()))
}
