//! The C ABI (`rsess_*`), after rustls-ffi: opaque handles, one `_free` per handle kind that accepts
//! NULL, stable numeric result codes, outputs written only on success, panics caught at the boundary.
//! This layer converts between C and Rust and holds no logic of its own; see `bindings/c/remote_sessions.h`.
//!
//! Conventions for every function here:
//! - Strings are UTF-8 and NUL-terminated. Strings returned through `char **out` belong to the caller,
//!   who frees them with [`rsess_string_free`].
//! - `rsess_error **err` out-parameters are optional: pass NULL when the details are not wanted; on
//!   failure a new error handle is stored there, to be freed with `rsess_error_free`.
//! - Handles are keys into a process-wide table, so stale, freed or wrong-kind handles give
//!   `RSESS_RESULT_INVALID_HANDLE` and never undefined behaviour. All functions are thread-safe.

#![allow(non_camel_case_types)]

mod class;
mod error;
pub(crate) mod handles;
mod instance;
mod lists;
mod pssession;
mod session;
mod transport;
mod view;

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, ErrorKind, Result};
use handles::Object;

pub use class::*;
pub use error::*;
pub use instance::*;
pub use pssession::*;
pub use session::*;
pub use transport::*;
pub use view::*;

/// Result of every fallible call. Numbers are stable and never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rsess_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A handle was freed, never made, or is of another kind.
    InvalidHandle = 2,
    /// An argument is malformed: bad UTF-8, an unknown enum value, an index out of range, a bad option.
    InvalidArgument = 3,
    /// No such session or instance (CIM status 6).
    NotFound = 4,
    /// Unknown CIM namespace (CIM status 3).
    InvalidNamespace = 5,
    /// Unknown CIM class (CIM status 5).
    InvalidClass = 6,
    /// A query that does not parse or names an unknown property (CIM status 15).
    InvalidQuery = 7,
    /// Not available here: DCOM to another computer, a query dialect other than WQL, WS-Management
    /// before its transport exists (CIM status 7).
    NotSupported = 8,
    /// Reading the machine's state failed.
    Io = 9,
    /// The session behind the handle was removed.
    SessionRemoved = 10,
    /// Nothing arrived within the time allowed.
    Timeout = 11,
    /// The transport failed: the server process or connection is gone.
    TransportBroken = 12,
    /// The server refused the credentials or the operation (HTTP 401/403, CIM status 2).
    AccessDenied = 13,
    /// No connection could be made or kept (refused, unreachable, closed mid-reply).
    ConnectionFailed = 14,
    /// TLS failed: untrusted certificate, wrong host name, broken handshake.
    TlsFailed = 15,
    /// The server's reply is not valid WS-Management (not XML, wrong content type, unexpected status).
    BadReply = 16,
    /// A WS-Management fault that no more specific code describes; see the error's fault code.
    Fault = 17,
    /// The operation was cancelled by the caller.
    Cancelled = 18,
    /// The CIM object already exists (CIM status 11).
    AlreadyExists = 19,
    /// The class defines no such method (CIM status 17).
    MethodNotFound = 20,
    /// A panic inside the library was caught; the library is still usable.
    Panic = 99,
}

impl From<ErrorKind> for rsess_result {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NullArgument => rsess_result::NullArgument,
            ErrorKind::InvalidHandle => rsess_result::InvalidHandle,
            ErrorKind::InvalidArgument => rsess_result::InvalidArgument,
            ErrorKind::NotFound => rsess_result::NotFound,
            ErrorKind::InvalidNamespace => rsess_result::InvalidNamespace,
            ErrorKind::InvalidClass => rsess_result::InvalidClass,
            ErrorKind::InvalidQuery => rsess_result::InvalidQuery,
            ErrorKind::NotSupported => rsess_result::NotSupported,
            ErrorKind::Io => rsess_result::Io,
            ErrorKind::SessionRemoved => rsess_result::SessionRemoved,
            ErrorKind::Panic => rsess_result::Panic,
            ErrorKind::Timeout => rsess_result::Timeout,
            ErrorKind::TransportBroken => rsess_result::TransportBroken,
            ErrorKind::AccessDenied => rsess_result::AccessDenied,
            ErrorKind::ConnectionFailed => rsess_result::ConnectionFailed,
            ErrorKind::TlsFailed => rsess_result::TlsFailed,
            ErrorKind::BadReply => rsess_result::BadReply,
            ErrorKind::Fault => rsess_result::Fault,
            ErrorKind::Cancelled => rsess_result::Cancelled,
            ErrorKind::AlreadyExists => rsess_result::AlreadyExists,
            ErrorKind::MethodNotFound => rsess_result::MethodNotFound,
        }
    }
}

/// A CIM type number, as .NET's `Microsoft.Management.Infrastructure.CimType`: scalars 1–16, each
/// array type is its scalar type + 16.
pub type rsess_cim_type = u32;
pub const RSESS_CIM_TYPE_UNKNOWN: rsess_cim_type = 0;
pub const RSESS_CIM_TYPE_BOOLEAN: rsess_cim_type = 1;
pub const RSESS_CIM_TYPE_UINT8: rsess_cim_type = 2;
pub const RSESS_CIM_TYPE_SINT8: rsess_cim_type = 3;
pub const RSESS_CIM_TYPE_UINT16: rsess_cim_type = 4;
pub const RSESS_CIM_TYPE_SINT16: rsess_cim_type = 5;
pub const RSESS_CIM_TYPE_UINT32: rsess_cim_type = 6;
pub const RSESS_CIM_TYPE_SINT32: rsess_cim_type = 7;
pub const RSESS_CIM_TYPE_UINT64: rsess_cim_type = 8;
pub const RSESS_CIM_TYPE_SINT64: rsess_cim_type = 9;
pub const RSESS_CIM_TYPE_REAL32: rsess_cim_type = 10;
pub const RSESS_CIM_TYPE_REAL64: rsess_cim_type = 11;
pub const RSESS_CIM_TYPE_CHAR16: rsess_cim_type = 12;
pub const RSESS_CIM_TYPE_DATETIME: rsess_cim_type = 13;
pub const RSESS_CIM_TYPE_STRING: rsess_cim_type = 14;
pub const RSESS_CIM_TYPE_REFERENCE: rsess_cim_type = 15;
pub const RSESS_CIM_TYPE_INSTANCE: rsess_cim_type = 16;
pub const RSESS_CIM_TYPE_BOOLEAN_ARRAY: rsess_cim_type = 17;
pub const RSESS_CIM_TYPE_UINT8_ARRAY: rsess_cim_type = 18;
pub const RSESS_CIM_TYPE_SINT8_ARRAY: rsess_cim_type = 19;
pub const RSESS_CIM_TYPE_UINT16_ARRAY: rsess_cim_type = 20;
pub const RSESS_CIM_TYPE_SINT16_ARRAY: rsess_cim_type = 21;
pub const RSESS_CIM_TYPE_UINT32_ARRAY: rsess_cim_type = 22;
pub const RSESS_CIM_TYPE_SINT32_ARRAY: rsess_cim_type = 23;
pub const RSESS_CIM_TYPE_UINT64_ARRAY: rsess_cim_type = 24;
pub const RSESS_CIM_TYPE_SINT64_ARRAY: rsess_cim_type = 25;
pub const RSESS_CIM_TYPE_REAL32_ARRAY: rsess_cim_type = 26;
pub const RSESS_CIM_TYPE_REAL64_ARRAY: rsess_cim_type = 27;
pub const RSESS_CIM_TYPE_CHAR16_ARRAY: rsess_cim_type = 28;
pub const RSESS_CIM_TYPE_DATETIME_ARRAY: rsess_cim_type = 29;
pub const RSESS_CIM_TYPE_STRING_ARRAY: rsess_cim_type = 30;
pub const RSESS_CIM_TYPE_REFERENCE_ARRAY: rsess_cim_type = 31;
pub const RSESS_CIM_TYPE_INSTANCE_ARRAY: rsess_cim_type = 32;

/// Operation flag: only key properties (Get-CimInstance -KeyOnly).
pub const RSESS_OPERATION_KEYS_ONLY: u32 = 1;
/// Operation flag: only instances of exactly the class asked for (Get-CimInstance -Shallow).
pub const RSESS_OPERATION_SHALLOW: u32 = 2;
/// Property flag: the property is a key of its class.
pub const RSESS_PROPERTY_KEY: u32 = 1;
/// Property flag: the property has no value.
pub const RSESS_PROPERTY_NULL: u32 = 2;

/// Qualifier bit: a key property.
pub const RSESS_QUALIFIER_KEY: u32 = 1;
/// Qualifier bit: an in-parameter.
pub const RSESS_QUALIFIER_IN: u32 = 2;
/// Qualifier bit: an out-parameter.
pub const RSESS_QUALIFIER_OUT: u32 = 4;
/// Qualifier bit: a property or parameter that must have a value.
pub const RSESS_QUALIFIER_REQUIRED: u32 = 8;
/// Qualifier bit: a static method.
pub const RSESS_QUALIFIER_STATIC: u32 = 16;
/// Qualifier bit: an abstract class.
pub const RSESS_QUALIFIER_ABSTRACT: u32 = 32;
/// Qualifier bit: an association class.
pub const RSESS_QUALIFIER_ASSOCIATION: u32 = 64;
/// Qualifier bit: a readable property.
pub const RSESS_QUALIFIER_READ: u32 = 128;
/// Qualifier bit: a writable property.
pub const RSESS_QUALIFIER_WRITE: u32 = 256;

/// The library version, e.g. `"0.1.0"`: a static string, never freed.
#[no_mangle]
pub extern "C" fn rsess_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees a string returned by this library. NULL is ignored. Each string may be freed once.
///
/// # Safety
/// `s` is NULL or a string this library returned and that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn rsess_string_free(s: *mut c_char) {
    if !s.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(CString::from_raw(s))));
    }
}

/// Runs an exported body: converts its error to a result code (storing the error in `err` when given)
/// and a panic to `RSESS_RESULT_PANIC`.
pub(crate) fn guard(err: *mut *mut rsess_error, body: impl FnOnce() -> Result<()>) -> rsess_result {
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|_| Err(Error::new(ErrorKind::Panic, "A panic was caught inside the library")));
    match outcome {
        Ok(()) => rsess_result::Ok,
        Err(e) => {
            let code = rsess_result::from(e.kind);
            if !err.is_null() {
                // SAFETY: the caller passes NULL or a writable `rsess_error *` location.
                unsafe { *err = handles::insert(Object::Error(e)) };
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
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "A string argument is not valid UTF-8"))
}

/// Reads an optional CIM namespace: NULL → `root/cimv2`. Errors: InvalidArgument for bad UTF-8.
pub(crate) fn namespace<'a>(ns: *const c_char) -> Result<&'a str> {
    Ok(opt_str(ns)?.unwrap_or(crate::cim::DEFAULT_NAMESPACE))
}

/// Reads a required C string. Errors: NullArgument, InvalidArgument.
pub(crate) fn req_str<'a>(s: *const c_char, what: &str) -> Result<&'a str> {
    opt_str(s)?.ok_or_else(|| Error::new(ErrorKind::NullArgument, format!("{what} is NULL")))
}

/// Reads an array of `count` C strings (NULL is fine when `count` is 0).
/// Errors: NullArgument for a NULL array or element, InvalidArgument for bad UTF-8.
pub(crate) fn string_array(items: *const *const c_char, count: usize, what: &str) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if items.is_null() {
        return Err(Error::new(ErrorKind::NullArgument, format!("{what} is NULL")));
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

/// As [`value_out`] for a string: a new C string (free it with `rsess_string_free`), or NULL for None.
pub(crate) fn string_out(out: *mut *mut c_char, get: impl FnOnce() -> Result<Option<String>>) -> rsess_result {
    value_out(out, || Ok(get()?.map_or(std::ptr::null_mut(), |v| to_c(&v))))
}

/// Checks an output pointer. Errors: NullArgument.
pub(crate) fn out_ptr<T>(out: *mut T) -> Result<*mut T> {
    if out.is_null() {
        Err(Error::new(ErrorKind::NullArgument, "The output pointer is NULL"))
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
