//! How a PowerShell session over SSH starts: the system `ssh` client asked for the server's
//! `powershell` subsystem, with the user's options, as pwsh itself does
//! (spec/cmdlet-behaviour.md §2.4 "SSH specifics"). The PSRP packets then flow over ssh's
//! stdin/stdout exactly as with a local server process.

use crate::error::{Error, ErrorKind, Result};

/// ssh's `ConnectTimeout` (seconds) when the caller's options set none: how long ssh waits for the TCP
/// connection and the SSH banner and key exchange. Without it ssh waits for a peer that accepts and
/// never speaks SSH for as long as the peer keeps the connection open (pwsh's own New-PSSession does,
/// its ConnectingTimeout being infinite by default); with it ssh ends with "Connection timed out during
/// banner exchange", which the session's error shows.
pub const DEFAULT_CONNECT_TIMEOUT_S: u32 = 30;

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SshTarget {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    pub user: Option<String>,
    /// 0 = ssh's default (22 or its configuration).
    pub port: u16,
    /// Private key file (`-i`).
    pub key_file: Option<String>,
    /// The server's subsystem; `powershell` by default.
    pub subsystem: String,
    /// `-o key=value` options, in order.
    pub options: Vec<(String, String)>,
}

impl SshTarget {
    /// Reads `[user@]host[:port]` (as `ssh://` URI authority: `[::1]:2222` for IPv6) into a target; a
    /// user or port in `spec` wins over `user`/`port`. `DOMAIN\user` becomes `user@DOMAIN`.
    /// Errors: InvalidArgument for an empty host, a bad port, or characters a host name cannot have.
    pub fn parse(spec: &str, user: Option<&str>, port: u16) -> Result<SshTarget> {
        let bad = |why: &str| Error::new(ErrorKind::InvalidArgument, format!("'{spec}' is not a valid SSH host: {why}"));
        let (spec_user, rest) = match spec.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, spec),
        };
        let (host, spec_port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner.split_once(']').ok_or_else(|| bad("']' is missing"))?;
            (h, after.strip_prefix(':'))
        } else if rest.matches(':').count() == 1 {
            let (h, p) = rest.split_once(':').expect("one colon");
            (h, Some(p))
        } else {
            (rest, None)
        };
        if host.is_empty() {
            return Err(bad("the host name is empty"));
        }
        if host.starts_with('-') {
            return Err(bad("a host name cannot start with '-'"));
        }
        if !host.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%')) {
            return Err(bad("it contains characters a host name cannot have"));
        }
        let port = match spec_port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
            None => port,
        };
        let user = spec_user.or(user).filter(|u| !u.is_empty()).map(|u| match u.split_once('\\') {
            Some((domain, name)) => format!("{name}@{domain}"),
            None => u.to_string(),
        });
        if user.as_deref().map_or(false, |u| u.starts_with('-') || u.chars().any(char::is_control)) {
            return Err(bad("the user name cannot start with '-' or hold control characters"));
        }
        Ok(SshTarget { host: host.to_string(), user, port, key_file: None, subsystem: "powershell".into(), options: Vec::new() })
    }

    /// The same target asking for the server's subsystem `name` instead of `powershell`.
    /// Errors: InvalidArgument for an empty name, one starting with '-' (ssh would read it as an
    /// option) or one holding white space or control characters.
    pub fn with_subsystem(mut self, name: &str) -> Result<SshTarget> {
        if name.is_empty() || name.starts_with('-') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("'{name}' is not a valid SSH subsystem name")));
        }
        self.subsystem = name.to_string();
        Ok(self)
    }

    /// ssh's arguments: `[-i key] [-l user] [-p port] [-o k=v …] [-o ConnectTimeout=30] -s -- host
    /// subsystem`. Explicit settings come before `-o` options, so they win (ssh keeps the first value it
    /// reads); [`DEFAULT_CONNECT_TIMEOUT_S`] is added unless the options set ConnectTimeout (it then
    /// also wins over a ConnectTimeout in the user's ssh_config); `--` ends ssh's options, so neither
    /// the host nor the subsystem is ever read as one.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(key) = &self.key_file {
            args.extend(["-i".to_string(), key.clone()]);
        }
        if let Some(user) = &self.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        if self.port != 0 {
            args.extend(["-p".to_string(), self.port.to_string()]);
        }
        for (k, v) in &self.options {
            args.extend(["-o".to_string(), format!("{k}={v}")]);
        }
        if !self.options.iter().any(|(k, _)| k.eq_ignore_ascii_case("ConnectTimeout")) {
            args.extend(["-o".to_string(), format!("ConnectTimeout={DEFAULT_CONNECT_TIMEOUT_S}")]);
        }
        args.extend(["-s".to_string(), "--".to_string(), self.host.clone(), self.subsystem.clone()]);
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_and_port() {
        let t = SshTarget::parse("me@example.com:2222", Some("other"), 22).unwrap();
        assert_eq!((t.user.as_deref(), t.host.as_str(), t.port), (Some("me"), "example.com", 2222));
        let t = SshTarget::parse("[::1]:2200", None, 0).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 2200));
        let t = SshTarget::parse("::1", Some("CORP\\ann"), 0).unwrap();
        assert_eq!((t.host.as_str(), t.user.as_deref()), ("::1", Some("ann@CORP")));
        assert!(SshTarget::parse("", None, 0).is_err());
        assert!(SshTarget::parse("host:99999", None, 0).is_err());
        assert!(SshTarget::parse("bad host", None, 0).is_err());
    }

    #[test]
    fn builds_ssh_arguments_like_pwsh() {
        let mut t = SshTarget::parse("localhost", Some("me"), 2222).unwrap();
        t.key_file = Some("/k".into());
        t.options = vec![("StrictHostKeyChecking".into(), "no".into())];
        assert_eq!(
            t.args(),
            ["-i", "/k", "-l", "me", "-p", "2222", "-o", "StrictHostKeyChecking=no", "-o", "ConnectTimeout=30", "-s", "--", "localhost", "powershell"]
        );
        let plain = SshTarget::parse("h", None, 0).unwrap().with_subsystem("pwsh7").unwrap();
        assert_eq!(plain.args(), ["-o", "ConnectTimeout=30", "-s", "--", "h", "pwsh7"]);
        let mut own = SshTarget::parse("h", None, 0).unwrap();
        own.options = vec![("connecttimeout".into(), "5".into())];
        assert_eq!(own.args(), ["-o", "connecttimeout=5", "-s", "--", "h", "powershell"]);
    }

    /// A peer that accepts TCP and never speaks SSH: ssh gives up after its ConnectTimeout and says
    /// why, instead of waiting as long as the peer holds the connection.
    #[test]
    fn a_silent_peer_ends_the_connection_with_a_clear_error() {
        use crate::transport::{PacketTransport, ProcessTransport};
        use std::time::Duration;
        if std::process::Command::new("ssh").arg("-V").output().is_err() {
            eprintln!("no ssh client: skipped");
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = std::thread::spawn(move || listener.accept().map(|(socket, _)| socket));
        let mut target = SshTarget::parse("127.0.0.1", Some("nobody"), port).unwrap();
        target.options = vec![("ConnectTimeout".into(), "2".into()), ("BatchMode".into(), "yes".into())];
        let t = ProcessTransport::spawn("ssh", &target.args()).unwrap();
        // The end (not the receive's Timeout error) came from ssh's ConnectTimeout, which ssh names.
        assert_eq!(t.receive(Some(Duration::from_secs(60))).unwrap(), None, "the connection ends");
        assert!(t.diagnostics().contains("timed out"), "{}", t.diagnostics());
        drop(silent.join());
    }

    #[test]
    fn nothing_the_caller_names_reaches_ssh_as_an_option() {
        for host in ["-oProxyCommand=x", "me@-oProxyCommand=x", "-h"] {
            assert_eq!(SshTarget::parse(host, None, 0).unwrap_err().kind, ErrorKind::InvalidArgument, "{host}");
        }
        assert_eq!(SshTarget::parse("h", Some("-oProxyCommand=x"), 0).unwrap_err().kind, ErrorKind::InvalidArgument);
        for subsystem in ["", "-oProxyCommand=x", "power shell", "a\nb"] {
            let t = SshTarget::parse("h", None, 0).unwrap();
            assert_eq!(t.with_subsystem(subsystem).unwrap_err().kind, ErrorKind::InvalidArgument, "{subsystem:?}");
        }
    }
}
