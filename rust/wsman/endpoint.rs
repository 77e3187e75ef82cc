//! A WS-Management endpoint (DSP0226): its URL (scheme, computer, port, prefix), the HTTP target with
//! its TLS policy and authentication, the operation timeout, envelope size and locales every request
//! carries, and the HTTP status and SOAP fault of a reply turned into errors that name the computer.
//! Requests go over the shared HTTP pool ([`crate::transport::http`]) and block the calling thread;
//! a [`Cancel`] stops them from another thread. What the requests ask for is the callers' business
//! (CIM operations in [`super::cim`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hyper::Uri;

use super::envelope::{self, Header};
use super::options::{check_http_prefix, url_host, SessionOptions};
use super::reply::{self, Identity, Reply};
use super::shell::Shell;
use crate::auth::basic::Basic;
use crate::auth::credssp::{CredSsp, CredSspOptions};
use crate::auth::mutual::Mutual;
use crate::auth::negotiate::{Negotiate, NegotiateOptions, Package};
use crate::auth::{Authentication, Credential, Mechanism};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::http::{self, TlsPolicy};

/// Default `w:MaxEnvelopeSize`, in bytes (what Windows' client sends).
pub const DEFAULT_MAX_ENVELOPE: u32 = 512_000;
/// The margin, in bytes, of a reply past the `w:MaxEnvelopeSize` its request asked for: a reply of up
/// to twice that size and this much is read, a larger one is refused before it is read (BadReply), so
/// a hostile server cannot make the client hold tens of megabytes. Twice, because servers that count
/// the envelope in characters rather than bytes, seal it (NTLM/Kerberos message encryption) or send a
/// fault about its size may go somewhat past it.
pub const REPLY_SLACK: usize = 64 * 1024;
/// Default `w:OperationTimeout`, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 60_000;
/// Most extra time the HTTP wait allows beyond the operation timeout, for the server to answer with
/// its own timeout fault; the extra is never more than the operation timeout itself.
const HTTP_GRACE: Duration = Duration::from_secs(10);

/// A WS-Management endpoint and how to talk to it. Thread-safe; cheap to share.
pub struct Endpoint {
    computer: String,
    /// The endpoint, with the headers every request carries.
    target: http::Target,
    /// The endpoint URL as text (the `wsa:To` of every request, and the key of the schema cache).
    url_text: String,
    max_envelope_size: u32,
    timeout_ms: u32,
    locale: Option<String>,
    data_locale: Option<String>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint").field("computer", &self.computer).field("url", &self.url_text).finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The endpoint of `computer` with New-CimSessionOption's `options` (scheme, port, prefix, TLS checks,
    /// envelope size, timeout, cultures) and the session's credential and mechanism.
    /// The URL is built from its parts (scheme, [`url_host`], port, prefix), so nothing in the computer
    /// name can change where requests go.
    /// Errors: InvalidArgument for a computer name that is not a host name or IP address, an HTTP prefix
    /// that is not a URL path ([`check_http_prefix`]), and for Basic over HTTP without
    /// NoEncryption (the password would travel in clear text); NotSupported for Digest, which
    /// WS-Management does not offer; InvalidArgument for Basic and CredSsp without a credential.
    /// CredSsp ([`crate::auth::credssp`]) checks the certificate of its inner TLS session with the
    /// session's TLS policy and delegates the password; over HTTP its messages are encrypted unless
    /// NoEncryption. Default means Negotiate, as on Windows (never Basic: a server that offers only
    /// Basic needs `Basic` asked for). Negotiate, Kerberos and NtlmDomain go through the system GSSAPI
    /// ([`crate::auth::negotiate`]), with the credential given or, without one, the system's (the
    /// Kerberos ticket cache); over HTTP their messages are encrypted unless NoEncryption. A credential
    /// that is a client certificate ([`Credential::from_certificate`]) authenticates with it
    /// ([`Mutual`]) whatever `authentication` says, over HTTPS only (InvalidArgument over HTTP).
    pub fn new(computer: &str, options: &SessionOptions, credential: Option<&Credential>, authentication: Authentication) -> Result<Endpoint> {
        let scheme = if options.use_ssl { "https" } else { "http" };
        let port = if options.port != 0 { options.port } else if options.use_ssl { 5986 } else { 5985 };
        let host = url_host(computer)?;
        let prefix = options.http_prefix.as_deref().unwrap_or("wsman").trim_matches('/');
        check_http_prefix(prefix)?;
        let url = Uri::builder()
            .scheme(scheme)
            .authority(format!("{host}:{port}"))
            .path_and_query(format!("/{prefix}"))
            .build()
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("No URL can be made of '{computer}' and the HTTP prefix '{prefix}': {e}")))?;
        let mechanism: Option<Arc<dyn Mechanism>> = match (authentication, credential) {
            (_, Some(c)) if c.client_certificate().is_some() => Some(Arc::new(client_certificate(computer, options, c)?)),
            (Authentication::Basic, Some(c)) => {
                if !options.use_ssl && !options.no_encryption {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "Basic authentication to {computer} over HTTP would send the password unencrypted. \
                             Use -UseSsl, or allow it with New-CimSessionOption -NoEncryption (CIM sessions) or New-PSSessionOption -NoEncryption (PSSessions)."
                        ),
                    ));
                }
                Some(Arc::new(Basic::new(c)))
            }
            (Authentication::Basic, None) => {
                return Err(Error::new(ErrorKind::InvalidArgument, "Basic authentication needs a credential (-Credential)"));
            }
            (Authentication::Default | Authentication::Negotiate | Authentication::Kerberos | Authentication::NtlmDomain, c) => {
                let package = match authentication {
                    Authentication::Kerberos => Package::Kerberos,
                    Authentication::NtlmDomain => Package::Ntlm,
                    _ => Package::Negotiate,
                };
                let negotiate = NegotiateOptions { no_encryption: options.no_encryption, port_in_spn: options.encode_port_in_spn };
                Some(Arc::new(Negotiate::new(package, c, negotiate)))
            }
            (Authentication::CredSsp, Some(c)) => {
                let tls = http::tls_client_config(TlsPolicy { verify_chain: !options.skip_ca_check, verify_name: !options.skip_cn_check })?;
                let credssp = CredSspOptions { no_encryption: options.no_encryption, skip_ca_check: options.skip_ca_check, skip_cn_check: options.skip_cn_check };
                Some(Arc::new(CredSsp::new(c, tls, credssp)))
            }
            (Authentication::CredSsp, None) => {
                return Err(Error::new(ErrorKind::InvalidArgument, "CredSSP authentication needs a credential (-Credential): it delegates that password to the server"));
            }
            (Authentication::Digest, _) => {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    "Digest authentication is not supported by WinRM; use Negotiate, Kerberos, NtlmDomain, CredSsp, or Basic over HTTPS",
                ));
            }
        };
        let policy = TlsPolicy { verify_chain: !options.skip_ca_check, verify_name: !options.skip_cn_check };
        let max_envelope_size = if options.max_envelope_size_kb == 0 { DEFAULT_MAX_ENVELOPE } else { options.max_envelope_size_kb.saturating_mul(1024) };
        Ok(Endpoint {
            computer: computer.to_string(),
            url_text: url.to_string(),
            target: http::Target::new(url, policy, mechanism)?.with_max_reply(max_reply(max_envelope_size)),
            max_envelope_size,
            timeout_ms: if options.timeout_ms == 0 { DEFAULT_TIMEOUT_MS } else { options.timeout_ms },
            locale: options.ui_culture.clone(),
            data_locale: options.culture.clone(),
        })
    }

    /// The largest reply read, in bytes: see [`REPLY_SLACK`].
    pub fn max_reply(&self) -> usize {
        self.target.max_reply()
    }

    /// The computer name as given.
    pub fn computer(&self) -> &str {
        &self.computer
    }

    /// The endpoint URL, e.g. `https://srv1:5986/wsman`.
    pub fn url(&self) -> String {
        self.url_text.clone()
    }

    /// The endpoint URL as text, borrowed (the key of per-endpoint caches).
    pub fn url_text(&self) -> &str {
        &self.url_text
    }

    /// WS-Management Identify (DSP0226 §11): what New-CimSession's test connection sends.
    pub fn identify(&self, cancel: Option<&Cancel>) -> Result<Identity> {
        reply::identity(self.exchange(envelope::identify(), self.wait(), cancel)?)
    }

    /// Sends one request with the standard header and reads its reply (faults become errors).
    pub fn send(&self, action: &str, resource_uri: &str, selectors: &[(String, String)], body: &str, cancel: Option<&Cancel>) -> Result<Reply> {
        self.send_within(action, resource_uri, selectors, body, self.wait(), cancel)
    }

    /// How long a request waits for its reply: the operation timeout, and a grace for the server to
    /// answer with its own timeout fault (never more than the timeout again).
    pub fn wait(&self) -> Duration {
        let timeout = Duration::from_millis(u64::from(self.timeout_ms));
        timeout + timeout.min(HTTP_GRACE)
    }

    /// [`Endpoint::send`], waiting at most `wait` for the reply.
    pub fn send_within(&self, action: &str, resource_uri: &str, selectors: &[(String, String)], body: &str, wait: Duration, cancel: Option<&Cancel>) -> Result<Reply> {
        let header = Header {
            to: &self.url_text,
            resource_uri,
            action,
            selectors,
            max_envelope_size: self.max_envelope_size,
            timeout_ms: self.timeout_ms,
            locale: self.locale.as_deref(),
            data_locale: self.data_locale.as_deref(),
        };
        self.exchange(envelope::request(&header, body).xml, wait, cancel)
    }

    /// POSTs an envelope and turns the HTTP reply into a [`Reply`] (a SOAP body read as UTF-8) or an
    /// error naming this computer and carrying the HTTP status.
    fn exchange(&self, xml: String, wait: Duration, cancel: Option<&Cancel>) -> Result<Reply> {
        let from = &self.computer;
        let (text, status) = self.post_soap(xml, wait, cancel)?;
        let outcome = Reply::parse(text).map_err(|e| e.context(from)).and_then(|parsed| match parsed.fault() {
            Some(fault) => Err(fault.into_error().context(from)),
            None if status == 200 => Ok(parsed),
            None => Err(Error::new(ErrorKind::BadReply, format!("{from} answered HTTP {status} without a fault"))),
        });
        outcome.map_err(|e| e.with_http_status(status))
    }

    /// Posts a whole envelope made elsewhere (a WinRS request of [`super::shell`]) and returns the
    /// reply's SOAP text, a fault's too, for the caller's reader, waiting at most `wait`.
    /// Errors: AccessDenied for HTTP 401 and 403; BadReply for a reply that is not SOAP or not UTF-8
    /// text, or another HTTP status; what [`http::post`] fails with (Timeout, Cancelled,
    /// TransportBroken, TLS and authentication errors).
    pub fn post_envelope(&self, xml: String, wait: Duration, cancel: Option<&Cancel>) -> Result<String> {
        self.post_soap(xml, wait, cancel).map(|(text, _)| text)
    }

    /// The SOAP text of the reply to `xml` and its HTTP status (200, 400 or 500).
    fn post_soap(&self, xml: String, wait: Duration, cancel: Option<&Cancel>) -> Result<(String, u16)> {
        let reply = http::post(&self.target, xml, wait, cancel)?;
        let soap = reply.content_type.as_deref().map_or(false, |t| t.to_ascii_lowercase().starts_with("application/soap+xml"));
        let from = &self.computer;
        let status = reply.status;
        let outcome = match status {
            401 => Err(Error::new(ErrorKind::AccessDenied, format!("{from} refused the credentials (HTTP 401 Unauthorized)"))),
            403 => Err(Error::new(ErrorKind::AccessDenied, format!("{from} refused the request (HTTP 403 Forbidden)"))),
            200 | 400 | 500 if soap => {
                String::from_utf8(reply.body).map_err(|_| Error::new(ErrorKind::BadReply, format!("The reply from {} is not UTF-8 text", self.url_text)))
            }
            200 | 400 | 500 => Err(Error::new(
                ErrorKind::BadReply,
                format!(
                    "{from} answered with content type '{}' instead of application/soap+xml (HTTP {status})",
                    reply.content_type.as_deref().unwrap_or("none"),
                ),
            )),
            status => Err(Error::new(ErrorKind::BadReply, format!("{from} answered HTTP {status} to a WS-Management request"))),
        };
        outcome.map(|text| (text, status)).map_err(|e| e.with_http_status(status))
    }

    /// The settings of a WinRS shell at `resource_uri` on this endpoint ([`Shell`]: URL, envelope
    /// size, operation timeout, locales); no ShellId or SessionId yet.
    pub fn shell(&self, resource_uri: &str) -> Shell {
        Shell {
            to: self.url_text.clone(),
            resource_uri: resource_uri.to_string(),
            max_envelope_size: self.max_envelope_size,
            timeout_ms: self.timeout_ms,
            locale: self.locale.clone(),
            data_locale: self.data_locale.clone(),
            session_id: None,
            shell_id: None,
        }
    }
}

/// Client certificate authentication ([`Mutual`]) with `credential`'s certificate, for HTTPS only.
/// Errors: InvalidArgument over HTTP (WinRM accepts certificates only over HTTPS).
fn client_certificate(computer: &str, options: &SessionOptions, credential: &Credential) -> Result<Mutual> {
    let certificate = credential.client_certificate().expect("the caller checked for a certificate");
    if !options.use_ssl {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("Client certificate authentication to {computer} needs HTTPS: the certificate {} can be used only with -UseSsl (New-CimSessionOption -UseSsl)", certificate.thumbprint()),
        ));
    }
    Ok(Mutual::new(Arc::clone(certificate)))
}

/// The largest reply read for requests that ask for envelopes of at most `max_envelope_size` bytes.
fn max_reply(max_envelope_size: u32) -> usize {
    (max_envelope_size as usize).saturating_mul(2).saturating_add(REPLY_SLACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(computer: &str, options: &SessionOptions) -> Result<String> {
        Endpoint::new(computer, options, None, Authentication::Default).map(|e| e.url())
    }

    #[test]
    fn urls_are_built_from_host_port_and_prefix() {
        let plain = SessionOptions::default();
        assert_eq!(url_of("srv1.example.com", &plain).unwrap(), "http://srv1.example.com:5985/wsman");
        assert_eq!(url_of("127.0.0.1", &plain).unwrap(), "http://127.0.0.1:5985/wsman");
        assert_eq!(url_of("::1", &plain).unwrap(), "http://[::1]:5985/wsman");
        assert_eq!(url_of("[::1]", &plain).unwrap(), "http://[::1]:5985/wsman");
        let ssl = SessionOptions { use_ssl: true, port: 8443, http_prefix: Some("/a/b/".into()), ..Default::default() };
        assert_eq!(url_of("HOST_1", &ssl).unwrap(), "https://HOST_1:8443/a/b");
    }

    #[test]
    fn computer_names_that_are_not_host_names_are_refused() {
        // Each of these made a URL whose host or port was not the computer's and -Port's: the request
        // (and a Basic header) went elsewhere, e.g. to port 80.
        for bad in ["127.0.0.1#frag", "localhost/m/ok?", "user@host", "host:8080", "http://host", "a b", "host?x", "-host", "host\\x", "[::1", "999.1.1.1", "::g", "a..b", "\u{e9}t\u{e9}"] {
            let e = url_of(bad, &SessionOptions { port: 5985, ..Default::default() }).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message.contains(&format!("'{bad}'")), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn bad_prefixes_are_refused_naming_the_prefix() {
        for bad in ["a#b", "a b", "a\nb", "%zz", "x\\y"] {
            let options = SessionOptions { http_prefix: Some(bad.into()), ..Default::default() };
            let e = url_of("srv", &options).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument, "{bad:?}");
            assert!(e.message.contains(&format!("'{bad}'")), "{bad:?}: {}", e.message);
        }
        let query = SessionOptions { http_prefix: Some("wsman?PSVersion=7".into()), ..Default::default() };
        assert_eq!(url_of("srv", &query).unwrap(), "http://srv:5985/wsman?PSVersion=7");
    }
}
