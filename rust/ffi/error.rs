//! `rsess_error`: an owned error with its result code and message.

use std::ffi::c_char;

use super::handles::{self, Object};
use super::{guard, guard_void, out_ptr, rsess_result, to_c, write};

/// An error returned through an `rsess_error **err` out-parameter. Free with [`rsess_error_free`].
pub struct rsess_error {
    _private: [u8; 0],
}

/// Frees an error. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_error_free(e: *mut rsess_error) {
    guard_void(|| drop(handles::free(e, |o| matches!(o, Object::Error(_)))));
}

/// The result code the error stands for; `RSESS_RESULT_INVALID_HANDLE` for a bad handle,
/// `RSESS_RESULT_NULL_ARGUMENT` for NULL.
#[no_mangle]
pub extern "C" fn rsess_error_code(e: *const rsess_error) -> rsess_result {
    let mut code = rsess_result::InvalidHandle;
    let status = guard(std::ptr::null_mut(), || {
        code = handles::with(e, |o| match o {
            Object::Error(err) => Ok(rsess_result::from(err.kind)),
            _ => Err(handles::invalid_handle()),
        })?;
        Ok(())
    });
    if status == rsess_result::Ok {
        code
    } else {
        status
    }
}

/// The error's message (never containing credentials), as an owned string in `*out`.
#[no_mangle]
pub extern "C" fn rsess_error_message(e: *const rsess_error, out: *mut *mut c_char) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let message = handles::with(e, |o| match o {
            Object::Error(err) => Ok(err.message.clone()),
            _ => Err(handles::invalid_handle()),
        })?;
        write(out, to_c(&message));
        Ok(())
    })
}
