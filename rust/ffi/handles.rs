//! The process-wide handle table behind every opaque C handle.
//!
//! A handle's pointer value is a key into this table, never an address, and keys are never reused. So a
//! stale, freed, double-freed or wrong-kind handle is found missing (or of the wrong variant) and the
//! call returns `RSESS_RESULT_INVALID_HANDLE` instead of touching freed memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use once_cell::sync::Lazy;

use crate::cim::{CimInstance, CimProperty};
use crate::error::{Error, ErrorKind, Result};
use crate::auth::{Authentication, Credential};
use crate::cancel::Cancel;
use crate::cim::provider::Instances;
use crate::registry::cim::{CimSession, Found};
use crate::registry::lookup::ScopeId;
use crate::registry::ps::{PsFound, PsSession};
use crate::transport::ProcessTransport;
use crate::wsman::options::SessionOptions;

/// What a handle stands for.
pub(crate) enum Object {
    Scope(ScopeId),
    Options(SessionOptions),
    Session(Arc<CimSession>),
    SessionList(Found),
    StringList(Vec<String>),
    /// An operation's instances not yet handed out, and what cancels it. Shared so a blocking
    /// `next` (a Pull on the wire) runs outside the table lock while another thread cancels.
    Iter(Arc<InstanceIter>),
    /// A user's credential and the mechanism to use it with (or only a mechanism).
    Credential(Option<Credential>, Authentication),
    Cancel(Arc<Cancel>),
    /// Method parameters being built, in order.
    Params(Vec<CimProperty>),
    /// An instance and, once asked for, its one-call layout (`rsess_instance_get_view`).
    Instance(CimInstance, Option<Box<super::view::InstanceView>>),
    Class(super::class::ClassDecl),
    ClassList(Vec<super::class::ClassDecl>),
    Error(Error),
    /// Shared so a blocking receive runs outside the table lock.
    Transport(Arc<ProcessTransport>),
    PsSession(Arc<PsSession>),
    PsSessionList(PsFound),
}

/// The state behind an `rsess_instance_iter`.
pub(crate) struct InstanceIter {
    pub(crate) instances: Mutex<Instances>,
    pub(crate) cancel: Option<Arc<Cancel>>,
}

static TABLE: Lazy<Mutex<HashMap<u64, Object>>> = Lazy::new(|| Mutex::new(HashMap::new()));
/// Keys start high so small integers mistaken for handles are never valid.
static NEXT_KEY: AtomicU64 = AtomicU64::new(0x5253_0000);

fn table() -> MutexGuard<'static, HashMap<u64, Object>> {
    TABLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Stores `object` and returns its new handle (as the pointer type `T` that C sees).
pub(crate) fn insert<T>(object: Object) -> *mut T {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    table().insert(key, object);
    key as usize as *mut T
}

/// Removes a handle's object when it is of the kind `is_kind` accepts; NULL, unknown keys and other
/// kinds are left alone (a `_free` of the wrong kind frees nothing).
pub(crate) fn free<T>(handle: *const T, is_kind: fn(&Object) -> bool) -> Option<Object> {
    if handle.is_null() {
        return None;
    }
    let key = handle as usize as u64;
    let mut table = table();
    if table.get(&key).map_or(false, is_kind) {
        table.remove(&key)
    } else {
        None
    }
}

/// Runs `f` on the object behind `handle` while the table is locked (keep `f` short).
/// Errors: NullArgument for NULL, InvalidHandle for an unknown key.
pub(crate) fn with<T, R>(handle: *const T, f: impl FnOnce(&mut Object) -> Result<R>) -> Result<R> {
    if handle.is_null() {
        return Err(Error::new(ErrorKind::NullArgument, "A handle argument is NULL"));
    }
    match table().get_mut(&(handle as usize as u64)) {
        Some(object) => f(object),
        None => Err(invalid_handle()),
    }
}

/// The error for a handle that is unknown, freed, or of another kind.
pub(crate) fn invalid_handle() -> Error {
    Error::new(ErrorKind::InvalidHandle, "The handle is not valid: it was freed, never made, or is of another kind")
}
