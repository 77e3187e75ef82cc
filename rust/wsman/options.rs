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
    /// The target for New-CimSession's `computer` (`.` or None: this computer). Opens no connection.
    /// Errors: InvalidArgument for an empty computer name or one that is not a host name or an IP
    /// address ([`url_host`]), NotSupported for DCOM to another computer.
    pub fn target<'a>(&self, computer: Option<&'a str>) -> Result<SessionTarget<'a>> {
        // "." is this computer in WMI and CIM usage: served as a session without a computer name is.
        let computer = computer.filter(|c| *c != ".");
        match (computer, self.protocol) {
            (Some(""), _) => Err(Error::new(ErrorKind::InvalidArgument, "The computer name is empty")),
            (Some(computer), Protocol::Dcom) => Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "DCOM is not available on this platform, so '{computer}' cannot be reached over DCOM. \
                     Use WS-Management (New-CimSessionOption -Protocol Wsman) instead."
                ),
            )),
            (Some(computer), _) => {
                url_host(computer)?;
                Ok(SessionTarget::Wsman(computer))
            }
            (None, Protocol::Wsman) => Ok(SessionTarget::Wsman("localhost")),
            (None, _) => Ok(SessionTarget::Local),
        }
    }
}

/// Longest host name (RFC 1035), in bytes, without a trailing dot.
const MAX_HOST_NAME: usize = 253;

/// A computer name as the host part of a URL: a host name (letters, digits, `-` and `_` in labels of
/// 1 to 63 characters separated by dots, at most 253 characters), an IPv4 address, or an IPv6 address
/// (`::1` or `[::1]`; returned in brackets). Nothing else: a user (`user@host`), port (`host:80`), path,
/// query, fragment or scheme in a computer name would send the request somewhere else than the
/// computer and port asked for.
/// Errors: InvalidArgument naming the computer name and what is wrong with it.
pub fn url_host(computer: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("'{computer}' is not a valid computer name: {why}. Give a host name or an IPv4 or IPv6 address."),
        )
    };
    if computer.is_empty() {
        return Err(Error::new(ErrorKind::InvalidArgument, "The computer name is empty"));
    }
    if let Some(inner) = computer.strip_prefix('[') {
        let address = inner.strip_suffix(']').ok_or_else(|| bad("'[' is not closed by ']'"))?;
        return address.parse::<std::net::Ipv6Addr>().map(|a| format!("[{a}]")).map_err(|_| bad("it is not an IPv6 address in brackets"));
    }
    if computer.contains("://") {
        return Err(bad("it is a URL, not a computer name (give the port with -Port, the path with -HttpPrefix)"));
    }
    if let Some(c) = computer.chars().find(|c| matches!(c, '/' | '?' | '#' | '\\' | '@')) {
        return Err(bad(&match c {
            '@' => "a user name cannot be part of it (use -Credential)".to_string(),
            c => format!("'{c}' would make it a URL path, query or fragment"),
        }));
    }
    if computer.contains(':') {
        return computer
            .parse::<std::net::Ipv6Addr>()
            .map(|a| format!("[{a}]"))
            .map_err(|_| bad("it is not an IPv6 address (give a port with -Port)"));
    }
    if computer.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return computer.parse::<std::net::Ipv4Addr>().map(|a| a.to_string()).map_err(|_| bad("it is not an IPv4 address"));
    }
    let name = computer.strip_suffix('.').unwrap_or(computer);
    if name.len() > MAX_HOST_NAME {
        return Err(bad("it is longer than 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each dot-separated part must have 1 to 63 characters"));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))) {
            return Err(bad(&format!("a host name cannot hold {c:?}")));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a part of a host name cannot start or end with '-'"));
        }
    }
    Ok(computer.to_string())
}

/// Checks a WS-Management URL prefix (New-CimSessionOption -HttpPrefix) without its outer slashes:
/// path segments of URL characters (`%` followed by two hex digits for anything else), and optionally a
/// query after `?`. Errors: InvalidArgument naming the prefix.
pub fn check_http_prefix(prefix: &str) -> Result<()> {
    let bad = |why: String| Error::new(ErrorKind::InvalidArgument, format!("The HTTP prefix '{prefix}' is not a valid URL path: {why}"));
    let bytes = prefix.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if !(i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit()) {
                    return Err(bad("'%' must be followed by two hexadecimal digits".into()));
                }
                i += 2;
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) => {}
            _ => {
                let c = prefix[i..].chars().next().unwrap_or_default();
                return Err(bad(format!("{c:?} cannot be part of a URL path")));
            }
        }
        i += 1;
    }
    Ok(())
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
        assert_eq!(dcom.target(Some(".")).unwrap(), SessionTarget::Local);
        assert_eq!(SessionOptions::default().target(Some(".")).unwrap(), SessionTarget::Local);
        assert_eq!(SessionOptions::default().target(None).unwrap(), SessionTarget::Local);
        assert_eq!(SessionOptions::default().target(Some("srv")).unwrap(), SessionTarget::Wsman("srv"));
        let wsman = SessionOptions { protocol: Protocol::Wsman, ..Default::default() };
        assert_eq!(wsman.target(None).unwrap(), SessionTarget::Wsman("localhost"));
        assert_eq!(wsman.target(Some(".")).unwrap(), SessionTarget::Wsman("localhost"));
        assert_eq!(wsman.target(Some("")).unwrap_err().kind, ErrorKind::InvalidArgument);
        let e = wsman.target(Some("127.0.0.1#frag")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("'127.0.0.1#frag'"), "{}", e.message);
    }

    #[test]
    fn url_hosts_are_host_names_or_addresses() {
        for (given, host) in [("srv", "srv"), ("srv.example.com.", "srv.example.com."), ("10.0.0.1", "10.0.0.1"), ("::1", "[::1]"), ("[::1]", "[::1]"), ("FE80::A", "[fe80::a]"), ("my_host-2", "my_host-2")] {
            assert_eq!(url_host(given).unwrap(), host, "{given}");
        }
        for (bad, why) in [("user@host", "user name"), ("host:80", "-Port"), ("http://x", "is a URL"), ("a/b", "'/'"), ("1.2.3.4.5", "IPv4"), ("[::1", "not closed"), ("a..b", "1 to 63"), (&"a".repeat(64), "1 to 63"), ("-a", "start or end")] {
            let e = url_host(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert!(e.message.contains(why) && e.message.contains(&format!("'{bad}'")), "{bad}: {}", e.message);
        }
        assert!(check_http_prefix("wsman").is_ok() && check_http_prefix("a/b%20c?x=1").is_ok());
        assert!(check_http_prefix("%2").is_err() && check_http_prefix("a#b").is_err());
    }
}
