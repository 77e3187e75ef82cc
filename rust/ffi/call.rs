//! The calling convention every exported function follows: panics caught at the boundary, failures
//! turned into result codes and optional `rsess_error` objects, C strings read and written, outputs
//! written only on success.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::handles::{self, Handle};
use super::result::{rsess_result, Failure, Result};

/// An error returned through an `rsess_error **err` out-parameter: its result code, message and, for
/// failures a server reported, the CIM status, WS-Management fault code and HTTP status. Free it with
/// `rsess_error_free`. Not thread-safe to free while another thread reads it; reading from several
/// threads is safe.
pub struct rsess_error {
    _private: [u8; 0],
}

impl Handle for rsess_error {
    type Object = Failure;
}

/// The library version, e.g. `"0.1.0"`: a static string, never freed.
#[no_mangle]
pub extern "C" fn rsess_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees a string returned by this library, zeroing it first (it may be a SecureString's text from
/// `rsess_psvalue_securestring_text`). NULL is ignored. Each string may be freed once.
///
/// # Safety
/// `s` is NULL or a string this library returned and that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn rsess_string_free(s: *mut c_char) {
    if !s.is_null() {
        // Zeroed before it is freed: the string may be a SecureString's text.
        let _ = catch_unwind(AssertUnwindSafe(|| crate::auth::session_key::wipe(&mut CString::from_raw(s).into_bytes_with_nul())));
    }
}

/// Runs an exported body: converts its error to a result code (storing the error in `err` when given)
/// and a panic to `RSESS_RESULT_PANIC`.
pub(crate) fn guard(err: *mut *mut rsess_error, body: impl FnOnce() -> Result<()>) -> rsess_result {
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or(Err(Failure::Panic));
    match outcome {
        Ok(()) => rsess_result::Ok,
        Err(failure) => {
            let code = failure.code();
            if !err.is_null() {
                // SAFETY: the caller passes NULL or a writable `rsess_error *` location.
                unsafe { *err = handles::insert::<rsess_error>(failure) };
            }
            code
        }
    }
}

/// Runs a `void` exported body (the `_free` functions), swallowing panics.
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// Reads an optional C string: NULL → None. Errors: InvalidArgument for bad UTF-8.
pub(crate) fn opt_str<'a>(s: *const c_char) -> Result<Option<&'a str>> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller passes NULL or a NUL-terminated string valid for the call.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map(Some)
        .map_err(|_| Failure::invalid("A string argument is not valid UTF-8"))
}

/// Reads an optional CIM namespace: NULL → `root/cimv2`. Errors: InvalidArgument for bad UTF-8.
pub(crate) fn namespace<'a>(ns: *const c_char) -> Result<&'a str> {
    Ok(opt_str(ns)?.unwrap_or(crate::cim::DEFAULT_NAMESPACE))
}

/// Reads a required C string. Errors: NullArgument, InvalidArgument.
pub(crate) fn req_str<'a>(s: *const c_char, what: &str) -> Result<&'a str> {
    opt_str(s)?.ok_or_else(|| Failure::null(what))
}

/// Reads an array of `count` C strings (NULL is fine when `count` is 0).
/// Errors: NullArgument for a NULL array or element, InvalidArgument for bad UTF-8.
pub(crate) fn string_array(items: *const *const c_char, count: usize, what: &str) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if items.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: the caller passes an array of `count` string pointers.
    unsafe { std::slice::from_raw_parts(items, count) }.iter().map(|s| req_str(*s, what).map(str::to_string)).collect()
}

/// An accessor's body: writes `get()` through `out` (Errors: NullArgument for a NULL `out`, and what
/// `get` fails with); no error object, as accessors have none.
pub(crate) fn value_out<T>(out: *mut T, get: impl FnOnce() -> Result<T>) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, get()?);
        Ok(())
    })
}

/// As `value_out` for a string: a new C string (free it with `rsess_string_free`), or NULL for None.
pub(crate) fn string_out(out: *mut *mut c_char, get: impl FnOnce() -> Result<Option<String>>) -> rsess_result {
    value_out(out, || Ok(get()?.map_or(std::ptr::null_mut(), |v| to_c(&v))))
}

/// Checks an output pointer. Errors: NullArgument.
pub(crate) fn out_ptr<T>(out: *mut T) -> Result<*mut T> {
    if out.is_null() {
        Err(Failure::null("The output pointer"))
    } else {
        Ok(out)
    }
}

/// Writes `value` to a checked output pointer.
pub(crate) fn write<T>(out: *mut T, value: T) {
    // SAFETY: `out` was checked non-NULL by `out_ptr`; the caller passes a writable location.
    unsafe { out.write(value) }
}

/// Turns a Rust string into an owned C string (interior NULs, which CIM text never has, become U+FFFD).
pub(crate) fn to_c(s: &str) -> *mut c_char {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default().into_raw()
}
