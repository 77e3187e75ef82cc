//! Cancel tokens: another thread (a cmdlet's StopProcessing) stops the operations that carry one.

use std::sync::Arc;

use super::call::{guard, guard_void, out_ptr, write};
use super::handles::{self, Handle};
use super::result::{rsess_result, Result};
use crate::cancel::Cancel;

/// Cancels operations from another thread (a cmdlet's StopProcessing): pass it to an operation, then
/// call `rsess_cancel_cancel`; the operation's waiting call returns `RSESS_RESULT_CANCELLED`.
pub struct rsess_cancel {
    _private: [u8; 0],
}

impl Handle for rsess_cancel {
    type Object = Arc<Cancel>;
}

/// Makes a cancel token in `*out`. Free it with `rsess_cancel_free`.
#[no_mangle]
pub extern "C" fn rsess_cancel_new(out: *mut *mut rsess_cancel) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, handles::insert::<rsess_cancel>(Arc::new(Cancel::default())));
        Ok(())
    })
}

/// Cancels every operation given this token, now and later. Safe to call from any thread while
/// another thread waits in an operation.
#[no_mangle]
pub extern "C" fn rsess_cancel_cancel(c: *const rsess_cancel) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        cancel_of(c)?.map(|c| c.cancel());
        Ok(())
    })
}

/// Frees a cancel token (operations holding it keep their own reference). NULL and stale handles are
/// ignored.
#[no_mangle]
pub extern "C" fn rsess_cancel_free(c: *mut rsess_cancel) {
    guard_void(|| drop(handles::free(c)));
}

/// The token behind `c`, or None for NULL. Errors: InvalidHandle.
pub(crate) fn cancel_of(c: *const rsess_cancel) -> Result<Option<Arc<Cancel>>> {
    if c.is_null() {
        return Ok(None);
    }
    Ok(Some(handles::get(c)?))
}
