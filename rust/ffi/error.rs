//! Reading an `rsess_error`: its result code, message, and what a server said (CIM status,
//! WS-Management fault code, HTTP status).

use std::ffi::c_char;

use super::call::{guard, guard_void, out_ptr, rsess_error, string_out, to_c, value_out, write};
use super::handles;
use super::result::rsess_result;

/// Frees an error. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_error_free(e: *mut rsess_error) {
    guard_void(|| drop(handles::free(e)));
}

/// The result code the error stands for; `RSESS_RESULT_INVALID_HANDLE` for a bad handle,
/// `RSESS_RESULT_NULL_ARGUMENT` for NULL.
#[no_mangle]
pub extern "C" fn rsess_error_code(e: *const rsess_error) -> rsess_result {
    let mut code = rsess_result::InvalidHandle;
    let status = guard(std::ptr::null_mut(), || {
        code = handles::with(e, |f| Ok(f.code()))?;
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
        let message = handles::with(e, |f| Ok(f.message()))?;
        write(out, to_c(&message));
        Ok(())
    })
}

/// The CIM status code the server reported (DSP0004 Annex: 1 = FAILED, 2 = ACCESS_DENIED, 3 =
/// INVALID_NAMESPACE, 5 = INVALID_CLASS, 6 = NOT_FOUND, …) in `*out`, or 0 when the error carries none.
#[no_mangle]
pub extern "C" fn rsess_error_cim_status(e: *const rsess_error, out: *mut u32) -> rsess_result {
    value_out(out, || handles::with(e, |f| Ok(f.core().and_then(|c| c.cim_status).unwrap_or(0))))
}

/// The WS-Management fault code of a server's SOAP fault (its subcode when it has one, e.g.
/// `w:AccessDenied`, `wsa:DestinationUnreachable`; DSP0226 §14), as an owned string in `*out`, or
/// NULL when the error carries none.
#[no_mangle]
pub extern "C" fn rsess_error_fault_code(e: *const rsess_error, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || handles::with(e, |f| Ok(f.core().and_then(|c| c.fault_code.clone()))))
}

/// The HTTP status of the reply that failed (e.g. 401, 500) in `*out`, or 0 when the error did not come
/// from an HTTP reply.
#[no_mangle]
pub extern "C" fn rsess_error_http_status(e: *const rsess_error, out: *mut u16) -> rsess_result {
    value_out(out, || handles::with(e, |f| Ok(f.core().and_then(|c| c.http_status).unwrap_or(0))))
}
