//! Transports: HTTP(S) for WS-Management ([`http`], driven by the waiting thread through [`blocking`]),
//! and those that carry a PowerShell session's OutOfProc PSRP packets (spec/cmdlet-behaviour.md §3):
//! each packet is one line of XML in each direction, behind one trait ([`PacketTransport`]). The engine
//! (PowerShell's own client, or later `rust/psrp`) speaks PSRP; a transport only moves lines, in order
//! and without loss.

pub mod blocking;
pub mod http;
pub mod packet;
pub mod process;
pub mod ssh;

pub use packet::PacketTransport;
pub use process::ProcessTransport;
pub use ssh::SshTarget;
