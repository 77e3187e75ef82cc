//! What a C call reports: the stable result codes, and the failures behind them, which are the
//! core's errors or the few only the boundary knows (a NULL argument, a bad handle, a caught panic).

use crate::error::{Error, ErrorKind};

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
    /// The object is not in a state that allows the call (e.g. a runspace pool that is not open).
    InvalidState = 21,
    /// A panic inside the library was caught; the library is still usable.
    Panic = 99,
}

/// Why a C call failed: an error of the core (with its structured detail), or one of the boundary.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The core's error: its kind, message, and what the server said (CIM status, fault code, HTTP
    /// status).
    Core(Error),
    /// A required pointer argument was NULL; the text names it.
    NullArgument(String),
    /// A handle was freed, never made, or is of another kind.
    InvalidHandle,
    /// A panic inside the library was caught at the boundary.
    Panic,
}

/// Result of the C ABI's inner functions.
pub(crate) type Result<T> = std::result::Result<T, Failure>;

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl Failure {
    /// The error for a NULL `what`.
    pub(crate) fn null(what: &str) -> Failure {
        Failure::NullArgument(format!("{what} is NULL"))
    }

    /// An InvalidArgument error of the core with `message`.
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::Core(Error::new(ErrorKind::InvalidArgument, message))
    }

    /// The result code this failure is reported as.
    pub(crate) fn code(&self) -> rsess_result {
        match self {
            Failure::Core(e) => rsess_result::from(e.kind),
            Failure::NullArgument(_) => rsess_result::NullArgument,
            Failure::InvalidHandle => rsess_result::InvalidHandle,
            Failure::Panic => rsess_result::Panic,
        }
    }

    /// The human-readable message (never containing credentials).
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Core(e) => e.message.clone(),
            Failure::NullArgument(m) => m.clone(),
            Failure::InvalidHandle => "The handle is not valid: it was freed, never made, or is of another kind".to_string(),
            Failure::Panic => "A panic was caught inside the library".to_string(),
        }
    }

    /// The core error behind the failure, for its structured detail.
    pub(crate) fn core(&self) -> Option<&Error> {
        match self {
            Failure::Core(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ErrorKind> for rsess_result {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => rsess_result::InvalidArgument,
            ErrorKind::NotFound => rsess_result::NotFound,
            ErrorKind::InvalidNamespace => rsess_result::InvalidNamespace,
            ErrorKind::InvalidClass => rsess_result::InvalidClass,
            ErrorKind::InvalidQuery => rsess_result::InvalidQuery,
            ErrorKind::NotSupported => rsess_result::NotSupported,
            ErrorKind::Io => rsess_result::Io,
            ErrorKind::SessionRemoved => rsess_result::SessionRemoved,
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
            ErrorKind::InvalidState => rsess_result::InvalidState,
        }
    }
}
