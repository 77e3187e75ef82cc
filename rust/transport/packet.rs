//! What carries a PowerShell session's PSRP packets: one trait for every transport (a local server
//! process, ssh, later a WS-Management shell), so the registry, the C ABI and the module take any of
//! them. A packet is one OutOfProc framing line (MS-PSRP over a process's stdin/stdout,
//! spec/cmdlet-behaviour.md §3.2); a transport moves packets in order and without loss and knows nothing
//! of PSRP.

use std::time::Duration;

use crate::error::Result;

/// A bidirectional packet channel to a PowerShell server. Thread-safe: one thread may send while
/// another waits in [`PacketTransport::receive`] and a third closes.
pub trait PacketTransport: Send + Sync {
    /// Sends one packet (`packet` without a line break).
    /// Errors: InvalidArgument for a line break inside; TransportBroken when the server is gone.
    fn send(&self, packet: &str) -> Result<()>;

    /// The next packet, waiting up to `timeout` (None: as long as it takes); None once the server
    /// closed its side (and on every call after). Errors: Timeout when nothing arrived in time.
    fn receive(&self, timeout: Option<Duration>) -> Result<Option<String>>;

    /// Ends the connection (the server process is killed); a blocked receive then returns None.
    /// Idempotent.
    fn close(&self);

    /// What the server or the connection reported beside the packets (e.g. a process's stderr: ssh's
    /// host-key, authentication and subsystem errors), for error messages and diagnostics.
    fn diagnostics(&self) -> String;

    /// The id of the local process that carries the connection while it runs (pwsh, or ssh), if any.
    fn process_id(&self) -> Option<u32>;
}
