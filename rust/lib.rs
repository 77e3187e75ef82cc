//! RemoteSessions core: CIM sessions and PowerShell sessions with a C ABI.
//!
//! Layers, top to bottom; a module imports only from layers below it (tests/layers.rs checks this):
//! - [`ffi`]: the C ABI (`rsess_*`), handles and result codes only, no logic;
//! - [`registry`]: CIM sessions and PSSessions per owner scope (bookkeeping and lookups);
//! - [`pssession`]: PSSessions the library opens itself (a runspace pool driven over a packet transport);
//! - protocols: [`wsman`] (WS-Management envelopes, replies, the CIM binding, an endpoint and the CIM
//!   operations on it) and [`local`] (the in-process provider of `root/cimv2` read from /proc, /sys and
//!   /etc), both implementing [`cim::provider::CimProvider`]; [`psrp`] (the PowerShell Remoting Protocol's
//!   client, sans-IO);
//! - [`cim`] (typed CIM values, datetimes, class declarations, WQL, the provider trait), [`transport`]
//!   (pooled HTTP(S) for WS-Management, each connection with its own authenticator; a local server
//!   process or ssh carrying PSRP packets);
//! - [`auth`] (credentials, mechanisms and their sans-IO per-connection authenticators: Basic, and
//!   Negotiate, Kerberos and NTLM through the system GSSAPI; PSRP's SecureString session key through
//!   the system libcrypto);
//! - [`xml`] (the element tree replies are read into), [`wildcard`], [`cancel`];
//! - [`error`].

/// cbindgen:ignore
pub mod auth;
/// cbindgen:ignore
pub mod cancel;
/// cbindgen:ignore
pub mod cim;
/// cbindgen:ignore
pub mod error;
pub mod ffi;
/// cbindgen:ignore
pub mod local;
/// cbindgen:ignore
pub mod psrp;
/// cbindgen:ignore
pub mod pssession;
/// cbindgen:ignore
pub mod registry;
/// cbindgen:ignore
pub mod transport;
/// cbindgen:ignore
pub mod wildcard;
/// cbindgen:ignore
pub mod wsman;
/// cbindgen:ignore
pub mod xml;

pub use error::{Error, ErrorKind};
