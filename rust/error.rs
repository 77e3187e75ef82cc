//! The one error type of the core. Every failure carries an [`ErrorKind`] (which the C ABI maps to a
//! stable result code and the module to a FullyQualifiedErrorId and ErrorCategory) and a message
//! in the wording the Windows cmdlets use where one exists (spec/cmdlet-behaviour.md §1.5, §1.10).

use std::fmt;

/// What went wrong, coarse enough to be a stable result code at the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument is malformed: bad UTF-8, a bad GUID, an out-of-range index, a bad option value.
    InvalidArgument,
    /// No such session or instance (WMI `WBEM_E_NOT_FOUND`, CIM status 6).
    NotFound,
    /// Unknown CIM namespace (WMI `WBEM_E_INVALID_NAMESPACE`, CIM status 3).
    InvalidNamespace,
    /// Unknown CIM class (WMI `WBEM_E_INVALID_CLASS`, CIM status 5).
    InvalidClass,
    /// A WQL query that does not parse or names an unknown property (`WBEM_E_INVALID_QUERY`, CIM status 15).
    InvalidQuery,
    /// The operation is not available here (e.g. DCOM to a remote host; CIM status 7).
    NotSupported,
    /// Reading the machine's state (/proc, /sys, /etc) failed.
    Io,
    /// The session behind a handle has been removed from its registry.
    SessionRemoved,
    /// Nothing arrived within the time allowed.
    Timeout,
    /// A session's transport failed: its server process or connection is gone.
    TransportBroken,
    /// The server refused the credentials or the operation (HTTP 401/403, WS-Man AccessDenied, CIM
    /// status 2).
    AccessDenied,
    /// No connection could be made or kept: refused, unreachable, name not resolved, or closed by the
    /// server before its reply was complete.
    ConnectionFailed,
    /// TLS failed: the server's certificate is not trusted, does not name the host, or the handshake broke.
    TlsFailed,
    /// The server's reply is not what the protocol allows: not XML, the wrong content type, an
    /// unexpected envelope or HTTP status.
    BadReply,
    /// The server answered with a WS-Management fault that no more specific kind describes.
    Fault,
    /// The caller cancelled the operation (a cmdlet's StopProcessing).
    Cancelled,
    /// The CIM object already exists (CIM status 11).
    AlreadyExists,
    /// The method is not defined by the class (CIM status 17).
    MethodNotFound,
    /// The object is not in a state that allows the call (e.g. a pipeline on a runspace pool that is
    /// not open, input to a pipeline that has ended).
    InvalidState,
}

/// An error with its kind and a human-readable message (never containing credentials). Errors from a
/// server also carry what it said: the CIM status (DSP0004 Annex, e.g. 6 = NOT_FOUND), the
/// WS-Management fault code (its subcode when it has one, e.g. `wsa:DestinationUnreachable`,
/// `w:AccessDenied`; DSP0226 §14) and the HTTP status of the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong, as a stable kind.
    pub kind: ErrorKind,
    /// The human-readable message (a server's own text cut to 4 KiB).
    pub message: String,
    /// The CIM status the server reported (DSP0004 Annex), if any.
    pub cim_status: Option<u32>,
    /// The WS-Management fault code (its subcode when it has one), if the server sent a SOAP fault.
    pub fault_code: Option<String>,
    /// The HTTP status of the reply the error came from, if any.
    pub http_status: Option<u16>,
}

impl Error {
    /// Makes an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), cim_status: None, fault_code: None, http_status: None }
    }

    /// The same error, carrying the HTTP status of the reply it came from.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// The same error with `prefix` put before its message (e.g. the computer it came from).
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }

    /// Windows' "Invalid class " error (WMI 0x80041010); `class` is kept out of the text as Windows does
    /// and goes into the message detail after a colon so C callers still see it.
    pub fn invalid_class(class: &str) -> Self {
        Error::new(ErrorKind::InvalidClass, format!("Invalid class: {class}"))
    }

    /// Windows' "Invalid namespace " error (WMI 0x8004100E).
    pub fn invalid_namespace(namespace: &str) -> Self {
        Error::new(ErrorKind::InvalidNamespace, format!("Invalid namespace: {namespace}"))
    }

    /// Windows' "Invalid query " error (WMI 0x80041017) with what is wrong.
    pub fn invalid_query(detail: impl fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidQuery, format!("Invalid query: {detail}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result with the core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
