//! A [`PacketTransport`] for a client that can only open runspace pools (PowerShell's engine over the
//! module's connection), to a pool another client disconnected: the client opens a new pool as usual,
//! and [`crate::psrp::reconstruct::Reconstruction`] makes that a connect to the server's pool on the
//! way through. The transport underneath is a [`super::winrs::WinrsTransport::connect_to`] the shell,
//! whose first pool packet becomes the WinRS Connect.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::{ErrorKind, Result};
use crate::psrp::outofproc::{self, ClientPacket, ServerPacket};
use crate::psrp::reconstruct::Reconstruction;
use crate::transport::PacketTransport;

/// A connect to an existing runspace pool, for a client that opens one. Thread-safe as the transport
/// underneath is.
pub struct ReconstructTransport {
    inner: Arc<dyn PacketTransport>,
    rewriting: Mutex<Reconstruction>,
}

impl ReconstructTransport {
    /// Carries a client's packets over `inner` (a transport that connects to the shell of
    /// `server_pool`), its pool opening turned into a connect to `server_pool`.
    pub fn new(inner: Arc<dyn PacketTransport>, server_pool: Uuid) -> ReconstructTransport {
        ReconstructTransport { inner, rewriting: Mutex::new(Reconstruction::new(server_pool)) }
    }

    fn rewriting(&self) -> std::sync::MutexGuard<'_, Reconstruction> {
        self.rewriting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PacketTransport for ReconstructTransport {
    /// Sends one client packet, its fragments rewritten (see the module's documentation). Errors: as
    /// the transport underneath; InvalidArgument when the client's first pool data is no opening.
    fn send(&self, packet: &str) -> Result<()> {
        match outofproc::parse_client(packet)? {
            ClientPacket::Data { channel, prompt_response, bytes } => {
                let bytes = self.rewriting().from_client(channel, &bytes)?;
                self.inner.send(&outofproc::data(channel, prompt_response, &bytes))
            }
            _ => self.inner.send(packet),
        }
    }

    /// The next server packet, its fragments rewritten; data that completes nothing yet (a partial
    /// fragment, a message of the handshake held back) is not passed on. Errors: as the transport
    /// underneath; BadReply for malformed fragments or a connect response the client cannot be given.
    fn receive(&self, timeout: Option<Duration>) -> Result<Option<String>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let Some(line) = self.inner.receive(left)? else { return Ok(None) };
            let ServerPacket::Data(channel, bytes) = outofproc::parse(&line)? else { return Ok(Some(line)) };
            let bytes = self.rewriting().from_server(channel, &bytes)?;
            if !bytes.is_empty() {
                return Ok(Some(outofproc::data(channel, false, &bytes)));
            }
            if left.is_some_and(|l| l.is_zero()) {
                return Err(crate::error::Error::new(ErrorKind::Timeout, "No packet arrived from the shell in time"));
            }
        }
    }

    fn close(&self) {
        self.inner.close();
    }

    fn diagnostics(&self) -> String {
        self.inner.diagnostics()
    }

    fn process_id(&self) -> Option<u32> {
        self.inner.process_id()
    }

    fn disconnect(&self, idle_timeout_ms: Option<u32>) -> Result<()> {
        self.inner.disconnect(idle_timeout_ms)
    }

    fn reconnect(&self) -> Result<()> {
        self.inner.reconnect()
    }

    fn connect_pipeline(&self, pipeline: Uuid) -> Result<()> {
        self.inner.connect_pipeline(pipeline)
    }

    fn start_pipelines_disconnected(&self) -> Result<()> {
        self.inner.start_pipelines_disconnected()
    }
}
