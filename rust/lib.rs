//! RemoteSessions core: CIM sessions (and, later, PSSessions) with a C ABI.
//!
//! Layers, top to bottom (see `DESIGN.md` in the shared folder):
//! - [`ffi`]: the C ABI (`rsess_*`), handles and result codes only, no logic;
//! - [`registry`]: CIM sessions per owner scope (a PowerShell runspace or a C caller);
//! - [`ps_registry`]: PowerShell sessions per owner scope, with their state and transport;
//! - [`cim`]: typed CIM values and instances, and the WQL parser/evaluator ([`cim::wql`]);
//! - [`local`]: the in-process provider of `root/cimv2` read from /proc, /sys and /etc;
//! - [`wsman`]: WS-Management envelopes, replies and the CIM binding, and the client of CIM operations;
//! - [`transport`]: what carries requests and packets: pooled HTTP(S) for WS-Management, a local server
//!   process or ssh for PowerShell sessions.

pub mod cim;
pub mod error;
pub mod ffi;
pub mod local;
pub mod ps_registry;
pub mod registry;
pub mod transport;
pub mod wsman;

pub use error::{Error, ErrorKind};
