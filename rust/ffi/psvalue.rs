//! `rsess_psvalue`: a value that crosses a PowerShell session, as CLIXML (MS-PSRP 2.2.5) carries it: what
//! C callers pass as parameters, arguments and pipeline input, and what pipelines write (output objects,
//! stream records, the error record a failed pipeline ended with). C callers read the common types
//! directly (string, integers, double, bool, DateTime, null), any value as text or CLIXML, and an
//! object's properties; error records also give their FullyQualifiedErrorId, category and target.

use std::ffi::c_char;
use std::sync::Arc;

use super::call::{guard, guard_void, out_ptr, req_str, rsess_error, string_out, value_out, write};
use super::handles::{self, Handle};
use super::result::{rsess_result, Failure, Result};
use crate::cim::datetime::{self, CimDateTime};
use crate::error::{Error, ErrorKind};
use crate::psrp::clixml::{self, Secret, Value};
use crate::psrp::pool::{record_text, ErrorInfo, Stream};

/// A value from or for a PowerShell session. Immutable, so it may be read from several threads at once.
pub struct rsess_psvalue {
    _private: [u8; 0],
}

impl Handle for rsess_psvalue {
    type Object = Arc<Value>;
}

/// What kind of value an `rsess_psvalue` holds, for choosing its accessor.
pub type rsess_value_kind = u32;
/// Null (`$null`).
pub const RSESS_PSVALUE_NULL: rsess_value_kind = 0;
/// A string (`System.String`, also `System.Char`): read with `rsess_psvalue_text`.
pub const RSESS_PSVALUE_STRING: rsess_value_kind = 1;
/// A Boolean: `rsess_psvalue_bool`.
pub const RSESS_PSVALUE_BOOL: rsess_value_kind = 2;
/// An integer of any .NET integer type that fits in int64_t (also an enum's value): `rsess_psvalue_int64`.
pub const RSESS_PSVALUE_INTEGER: rsess_value_kind = 3;
/// A `System.Double` or `System.Single`: `rsess_psvalue_double`.
pub const RSESS_PSVALUE_DOUBLE: rsess_value_kind = 4;
/// A `System.DateTime`: `rsess_psvalue_datetime`.
pub const RSESS_PSVALUE_DATETIME: rsess_value_kind = 5;
/// A complex object (a deserialized .NET object, PSCustomObject, hashtable, list): its properties with
/// `rsess_psvalue_property`, its text with `rsess_psvalue_text`, all of it with `rsess_psvalue_clixml`.
pub const RSESS_PSVALUE_OBJECT: rsess_value_kind = 6;
/// Any other primitive (decimal, GUID, byte array, TimeSpan, URI, version, XML, script block, a
/// UInt64 beyond int64_t): `rsess_psvalue_text` or `rsess_psvalue_clixml`.
pub const RSESS_PSVALUE_OTHER: rsess_value_kind = 7;
/// A `System.Security.SecureString` (MS-PSRP 2.2.5.1.24): its plain text only through
/// `rsess_psvalue_securestring_text`; its text and CLIXML never show it.
pub const RSESS_PSVALUE_SECURESTRING: rsess_value_kind = 8;

/// A pipeline's stream, for items from `rsess_pipeline_next` (MS-PSRP 2.2.2.20–2.2.2.25).
pub type rsess_stream = u32;
/// An output object (PIPELINE_OUTPUT).
pub const RSESS_STREAM_OUTPUT: rsess_stream = 0;
/// An error record (ERROR_RECORD): see `rsess_psvalue_error_id`.
pub const RSESS_STREAM_ERROR: rsess_stream = 1;
/// A warning record.
pub const RSESS_STREAM_WARNING: rsess_stream = 2;
/// A verbose record.
pub const RSESS_STREAM_VERBOSE: rsess_stream = 3;
/// A debug record.
pub const RSESS_STREAM_DEBUG: rsess_stream = 4;
/// An information record (Write-Information, Write-Host).
pub const RSESS_STREAM_INFORMATION: rsess_stream = 5;
/// A progress record.
pub const RSESS_STREAM_PROGRESS: rsess_stream = 6;

/// The C number of a record stream.
pub(crate) fn stream_number(stream: Option<Stream>) -> rsess_stream {
    match stream {
        None => RSESS_STREAM_OUTPUT,
        Some(Stream::Error) => RSESS_STREAM_ERROR,
        Some(Stream::Warning) => RSESS_STREAM_WARNING,
        Some(Stream::Verbose) => RSESS_STREAM_VERBOSE,
        Some(Stream::Debug) => RSESS_STREAM_DEBUG,
        Some(Stream::Information) => RSESS_STREAM_INFORMATION,
        Some(Stream::Progress) => RSESS_STREAM_PROGRESS,
    }
}

/// The value behind `v`. Errors: NullArgument, InvalidHandle.
pub(crate) fn psvalue_of(v: *const rsess_psvalue) -> Result<Arc<Value>> {
    handles::get(v)
}

/// A new value handle.
pub(crate) fn new_psvalue(value: Value) -> *mut rsess_psvalue {
    handles::insert::<rsess_psvalue>(Arc::new(value))
}

fn wrong_kind(what: &str, v: &Value) -> Failure {
    Failure::Core(Error::new(ErrorKind::InvalidArgument, format!("The value is not {what} (it is {})", kind_name(v))))
}

fn kind_of(v: &Value) -> rsess_value_kind {
    match v {
        Value::Null => RSESS_PSVALUE_NULL,
        Value::String(_) | Value::Char(_) => RSESS_PSVALUE_STRING,
        Value::Bool(_) => RSESS_PSVALUE_BOOL,
        Value::Single(_) | Value::Double(_) => RSESS_PSVALUE_DOUBLE,
        Value::DateTime(_) => RSESS_PSVALUE_DATETIME,
        Value::Object(_) => RSESS_PSVALUE_OBJECT,
        Value::Secret(_) | Value::SecureString(_) => RSESS_PSVALUE_SECURESTRING,
        other if other.as_i64().is_some() => RSESS_PSVALUE_INTEGER,
        _ => RSESS_PSVALUE_OTHER,
    }
}

fn kind_name(v: &Value) -> &'static str {
    match kind_of(v) {
        RSESS_PSVALUE_NULL => "null",
        RSESS_PSVALUE_STRING => "a string",
        RSESS_PSVALUE_BOOL => "a Boolean",
        RSESS_PSVALUE_INTEGER => "an integer",
        RSESS_PSVALUE_DOUBLE => "a floating-point number",
        RSESS_PSVALUE_DATETIME => "a DateTime",
        RSESS_PSVALUE_OBJECT => "an object",
        RSESS_PSVALUE_SECURESTRING => "a SecureString",
        _ => "another primitive type",
    }
}

fn new_value(out: *mut *mut rsess_psvalue, make: impl FnOnce() -> Result<Value>) -> Result<()> {
    let out = out_ptr(out)?;
    write(out, new_psvalue(make()?));
    Ok(())
}

/// A new null value.
#[no_mangle]
pub extern "C" fn rsess_psvalue_new_null(out: *mut *mut rsess_psvalue) -> rsess_result {
    guard(std::ptr::null_mut(), || new_value(out, || Ok(Value::Null)))
}

/// A new `System.String` holding a copy of `text`. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (bad UTF-8).
#[no_mangle]
pub extern "C" fn rsess_psvalue_new_string(text: *const c_char, out: *mut *mut rsess_psvalue, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || new_value(out, || Ok(Value::String(req_str(text, "text")?.to_string()))))
}

/// A new `System.Security.SecureString` holding a copy of `text` (MS-PSRP 2.2.5.1.24). The text stays
/// in this process, zeroed when the value is freed, and goes to a server only encrypted with the
/// session's key (the session exchanges one first: PUBLIC_KEY, ENCRYPTED_SESSION_KEY, 3.1.5.4);
/// `rsess_psvalue_text` and `rsess_psvalue_clixml` never show it. Zero `text` yourself after the call
/// if it matters. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (bad UTF-8).
#[no_mangle]
pub extern "C" fn rsess_psvalue_new_securestring(text: *const c_char, out: *mut *mut rsess_psvalue, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || new_value(out, || Ok(Value::Secret(Secret::new(req_str(text, "text")?.to_string())))))
}

/// The plain text of a SecureString (`RSESS_PSVALUE_SECURESTRING`): one made with
/// `rsess_psvalue_new_securestring`, or one a server sent, decrypted with the session key. An owned
/// string, which `rsess_string_free` zeroes before it frees it.
/// Errors: INVALID_ARGUMENT for another kind, or text with a NUL character; INVALID_STATE for a
/// SecureString that came before its session could decrypt it.
#[no_mangle]
pub extern "C" fn rsess_psvalue_securestring_text(v: *const rsess_psvalue, out: *mut *mut c_char, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let v = psvalue_of(v)?;
        let text = match &*v {
            Value::Secret(s) => s.expose(),
            Value::SecureString(_) => return Err(Failure::Core(Error::new(ErrorKind::InvalidState, "The SecureString was not decrypted: its session had no session key for it"))),
            other => return Err(wrong_kind("a SecureString", other)),
        };
        let c = std::ffi::CString::new(text).map_err(|e| {
            let mut bytes = e.into_vec();
            crate::auth::session_key::wipe(&mut bytes);
            Failure::invalid("The SecureString's text holds a NUL character, which a C string cannot".to_string())
        })?;
        write(out, c.into_raw());
        Ok(())
    })
}

/// A new `System.Int32` (what PowerShell's integer literals are).
#[no_mangle]
pub extern "C" fn rsess_psvalue_new_int32(value: i32, out: *mut *mut rsess_psvalue) -> rsess_result {
    guard(std::ptr::null_mut(), || new_value(out, || Ok(Value::Int32(value))))
}

/// A new `System.Int64`.
#[no_mangle]
pub extern "C" fn rsess_psvalue_new_int64(value: i64, out: *mut *mut rsess_psvalue) -> rsess_result {
    guard(std::ptr::null_mut(), || new_value(out, || Ok(Value::Int64(value))))
}

/// A new `System.Double`.
#[no_mangle]
pub extern "C" fn rsess_psvalue_new_double(value: f64, out: *mut *mut rsess_psvalue) -> rsess_result {
    guard(std::ptr::null_mut(), || new_value(out, || Ok(Value::Double(value))))
}

/// A new `System.Boolean`.
#[no_mangle]
pub extern "C" fn rsess_psvalue_new_bool(value: bool, out: *mut *mut rsess_psvalue) -> rsess_result {
    guard(std::ptr::null_mut(), || new_value(out, || Ok(Value::Bool(value))))
}

/// A new value read from CLIXML text (one element, as `rsess_psvalue_clixml` writes and PowerShell's
/// `[System.Management.Automation.PSSerializer]::Serialize` writes without its `<Objs>` wrapper):
/// any type, e.g. a hashtable, an array or a PSCustomObject. `<Objs>` around one value is accepted too.
/// Errors: INVALID_ARGUMENT for text that is not CLIXML (the message says where), NULL_ARGUMENT.
#[no_mangle]
pub extern "C" fn rsess_psvalue_from_clixml(text: *const c_char, out: *mut *mut rsess_psvalue, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        new_value(out, || {
            let text = req_str(text, "text")?;
            clixml::parse_one(text).map_err(|e| Failure::invalid(format!("The text is not CLIXML: {}", e.message)))
        })
    })
}

/// The value's kind (`RSESS_PSVALUE_*`).
#[no_mangle]
pub extern "C" fn rsess_psvalue_kind(v: *const rsess_psvalue, out: *mut rsess_value_kind) -> rsess_result {
    value_out(out, || Ok(kind_of(&*psvalue_of(v)?)))
}

/// The value as text, as PowerShell turns it into a string (a string as it is, numbers in invariant
/// form, `True`/`False`, a DateTime as xs:dateTime, an object as its ToString; null as ""), as an owned
/// string. A SecureString gives only its type name (its text: `rsess_psvalue_securestring_text`).
#[no_mangle]
pub extern "C" fn rsess_psvalue_text(v: *const rsess_psvalue, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || Ok(Some(psvalue_of(v)?.to_text())))
}

/// The value's CLIXML (MS-PSRP 2.2.5), one element, as an owned string; `rsess_psvalue_from_clixml` and
/// PowerShell's `PSSerializer.Deserialize` read it back.
#[no_mangle]
pub extern "C" fn rsess_psvalue_clixml(v: *const rsess_psvalue, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || Ok(Some(clixml::write(&*psvalue_of(v)?))))
}

/// An integer value (`RSESS_PSVALUE_INTEGER`). Errors: INVALID_ARGUMENT for another kind.
#[no_mangle]
pub extern "C" fn rsess_psvalue_int64(v: *const rsess_psvalue, out: *mut i64) -> rsess_result {
    value_out(out, || {
        let v = psvalue_of(v)?;
        v.as_i64().filter(|_| kind_of(&v) == RSESS_PSVALUE_INTEGER).ok_or_else(|| wrong_kind("an integer", &v))
    })
}

/// A floating-point value (`RSESS_PSVALUE_DOUBLE`; an integer is converted too).
/// Errors: INVALID_ARGUMENT for another kind.
#[no_mangle]
pub extern "C" fn rsess_psvalue_double(v: *const rsess_psvalue, out: *mut f64) -> rsess_result {
    value_out(out, || {
        let v = psvalue_of(v)?;
        match *v {
            Value::Double(d) => Ok(d),
            Value::Single(s) => Ok(f64::from(s)),
            _ if kind_of(&v) == RSESS_PSVALUE_INTEGER => Ok(v.as_i64().unwrap_or_default() as f64),
            _ => Err(wrong_kind("a number", &v)),
        }
    })
}

/// A Boolean value. Errors: INVALID_ARGUMENT for another kind.
#[no_mangle]
pub extern "C" fn rsess_psvalue_bool(v: *const rsess_psvalue, out: *mut bool) -> rsess_result {
    value_out(out, || match *psvalue_of(v)? {
        Value::Bool(b) => Ok(b),
        ref other => Err(wrong_kind("a Boolean", other)),
    })
}

/// A DateTime value as microseconds since 1970-01-01T00:00:00Z in `*unix_micros` (.NET's 100 ns ticks
/// are cut to whole microseconds) and the UTC offset it was written with, in minutes east of UTC, in
/// `*utc_offset_minutes` (0 for a UTC DateTime or one without an offset, which is taken as UTC).
/// Errors: INVALID_ARGUMENT for another kind or an unreadable date; NULL_ARGUMENT.
#[no_mangle]
pub extern "C" fn rsess_psvalue_datetime(v: *const rsess_psvalue, unix_micros: *mut i64, utc_offset_minutes: *mut i16) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let (micros_out, offset_out) = (out_ptr(unix_micros)?, out_ptr(utc_offset_minutes)?);
        let v = psvalue_of(v)?;
        let Value::DateTime(text) = &*v else { return Err(wrong_kind("a DateTime", &v)) };
        match datetime::parse(text) {
            Some(CimDateTime::Timestamp { unix_micros, utc_offset_minutes }) => {
                write(micros_out, unix_micros);
                write(offset_out, utc_offset_minutes);
                Ok(())
            }
            _ => Err(Failure::invalid(format!("'{text}' is not a date and time"))),
        }
    })
}

/// A property of an object value by name (case-insensitive, as PowerShell finds them; note properties
/// first, then adapted ones), as a new value. Errors: NOT_FOUND when the value has no such property
/// (or is not an object); NULL_ARGUMENT.
#[no_mangle]
pub extern "C" fn rsess_psvalue_property(v: *const rsess_psvalue, name: *const c_char, out: *mut *mut rsess_psvalue, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let name = req_str(name, "name")?;
        let v = psvalue_of(v)?;
        let found = v.property(name).ok_or_else(|| Failure::Core(Error::new(ErrorKind::NotFound, format!("The value has no property '{name}'"))))?;
        write(out, new_psvalue(found.clone()));
        Ok(())
    })
}

/// The text of a record of `stream` (`RSESS_STREAM_*`): a warning's, verbose or debug message, an
/// information record's message data, a progress record's activity and status, an error record's
/// message; for `RSESS_STREAM_OUTPUT` the value's text. Errors: INVALID_ARGUMENT for an unknown stream.
#[no_mangle]
pub extern "C" fn rsess_psvalue_record_text(v: *const rsess_psvalue, stream: rsess_stream, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || {
        let v = psvalue_of(v)?;
        let stream = match stream {
            RSESS_STREAM_OUTPUT => return Ok(Some(v.to_text())),
            RSESS_STREAM_ERROR => Stream::Error,
            RSESS_STREAM_WARNING => Stream::Warning,
            RSESS_STREAM_VERBOSE => Stream::Verbose,
            RSESS_STREAM_DEBUG => Stream::Debug,
            RSESS_STREAM_INFORMATION => Stream::Information,
            RSESS_STREAM_PROGRESS => Stream::Progress,
            other => return Err(Failure::invalid(format!("Unknown stream {other}"))),
        };
        Ok(Some(record_text(stream, &v)))
    })
}

/// An error record's FullyQualifiedErrorId (e.g. `CommandNotFoundException`), as an owned string;
/// empty for a value that is not an error record.
#[no_mangle]
pub extern "C" fn rsess_psvalue_error_id(v: *const rsess_psvalue, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || Ok(Some(ErrorInfo::from_record(&*psvalue_of(v)?).fully_qualified_error_id)))
}

/// An error record's category as .NET's `ErrorCategory` number (e.g. 13 ObjectNotFound); 0
/// (NotSpecified) for a value that is not an error record.
#[no_mangle]
pub extern "C" fn rsess_psvalue_error_category(v: *const rsess_psvalue, out: *mut i32) -> rsess_result {
    value_out(out, || Ok(i32::try_from(ErrorInfo::from_record(&*psvalue_of(v)?).category).unwrap_or(0)))
}

/// An error record's target object as text (empty when it has none), as an owned string.
#[no_mangle]
pub extern "C" fn rsess_psvalue_error_target(v: *const rsess_psvalue, out: *mut *mut c_char) -> rsess_result {
    string_out(out, || Ok(Some(ErrorInfo::from_record(&*psvalue_of(v)?).target)))
}

/// Frees a value. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_psvalue_free(v: *mut rsess_psvalue) {
    guard_void(|| drop(handles::free(v)));
}
