//! Session options (New-CimSessionOption's values plus New-CimSession's -Port and
//! -OperationTimeoutSec, spec §1.4) and the protocol choice they make: this machine's provider or
//! WS-Management to a named computer (spec §1.3 step 6).

use crate::error::{Error, ErrorKind, Result};

/// The protocol a caller asks for (New-CimSessionOption -Protocol, spec §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// DCOM for this machine, WS-Management for a named computer (spec §1.3 step 6).
    #[default]
    Default,
    /// DCOM: only this machine (served in-process); another computer is NotSupported here.
    Dcom,
    /// WS-Management (DSP0226), to `localhost` when no computer is named.
    Wsman,
}

/// Session options: New-CimSessionOption's values plus New-CimSession's -Port and -OperationTimeoutSec.
/// Only `protocol` decides anything for local sessions; the WS-Management members are kept for the
/// WS-Management transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionOptions {
    /// The protocol asked for (-Protocol).
    pub protocol: Protocol,
    /// HTTPS (port 5986 by default) instead of HTTP (5985) (-UseSsl).
    pub use_ssl: bool,
    /// Accept a certificate whose chain leads to no trusted root (-SkipCACheck).
    pub skip_ca_check: bool,
    /// Accept a certificate that does not name the host (-SkipCNCheck).
    pub skip_cn_check: bool,
    /// Skip revocation checks (-SkipRevocationCheck; rustls checks none).
    pub skip_revocation_check: bool,
    /// The server allows unencrypted traffic, e.g. Basic over HTTP (-NoEncryption).
    pub no_encryption: bool,
    /// Name the port in the service principal, `HTTP/host:port` (-EncodePortInSPN).
    pub encode_port_in_spn: bool,
    /// Largest SOAP envelope in KiB; 0 = the default.
    pub max_envelope_size_kb: u32,
    /// Culture name such as `en-US`.
    pub culture: Option<String>,
    /// UI (message) culture name such as `en-US`.
    pub ui_culture: Option<String>,
    /// Operation timeout in milliseconds; 0 = the default.
    pub timeout_ms: u32,
    /// Destination port; 0 = the scheme's default.
    pub port: u32,
    /// The URL path of the WS-Management service (New-CimSessionOption -HttpPrefix); None = `wsman`.
    pub http_prefix: Option<String>,
}

/// What serves a session, as New-CimSession's target and options choose it (spec §1.3 step 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionTarget<'a> {
    /// This machine's in-process provider: no computer and no WS-Management options.
    Local,
    /// WS-Management to this computer: one was named, or WS-Management was asked for (then to
    /// `localhost`).
    Wsman(&'a str),
}

impl SessionOptions {
    /// The target for New-CimSession's `computer`. Opens no connection.
    /// Errors: InvalidArgument for an empty computer name, NotSupported for DCOM to another computer.
    pub fn target<'a>(&self, computer: Option<&'a str>) -> Result<SessionTarget<'a>> {
        match (computer, self.protocol) {
            (Some(""), _) => Err(Error::new(ErrorKind::InvalidArgument, "The computer name is empty")),
            (Some(computer), Protocol::Dcom) => Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "DCOM is not available on this platform, so '{computer}' cannot be reached over DCOM. \
                     Use WS-Management (New-CimSessionOption -Protocol Wsman) instead."
                ),
            )),
            (Some(computer), _) => Ok(SessionTarget::Wsman(computer)),
            (None, Protocol::Wsman) => Ok(SessionTarget::Wsman("localhost")),
            (None, _) => Ok(SessionTarget::Local),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_computer_and_protocol() {
        let dcom = SessionOptions { protocol: Protocol::Dcom, ..Default::default() };
        let err = dcom.target(Some("otherhost")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotSupported);
        assert!(err.message.contains("DCOM"));
        assert_eq!(dcom.target(None).unwrap(), SessionTarget::Local);
        assert_eq!(SessionOptions::default().target(None).unwrap(), SessionTarget::Local);
        assert_eq!(SessionOptions::default().target(Some("srv")).unwrap(), SessionTarget::Wsman("srv"));
        let wsman = SessionOptions { protocol: Protocol::Wsman, ..Default::default() };
        assert_eq!(wsman.target(None).unwrap(), SessionTarget::Wsman("localhost"));
        assert_eq!(wsman.target(Some("")).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
