//! Who a session authenticates as and how: the caller's credential and the mechanism it asks for
//! (New-CimSession -Authentication, `PasswordAuthenticationMechanism`), and the sans-IO shape every
//! HTTP authentication mechanism has (RFC 7235 challenge and response): a [`Mechanism`] (a credential
//! bound to a mechanism) starts one [`Authenticator`] per connection, which the HTTP layer steps
//! through the server's 401 challenges on that connection and which seals and opens the messages
//! sent over it. The mechanisms' own code lives beside this module, one file each ([`basic`],
//! [`negotiate`] over the runtime-loaded [`gssapi`], [`credssp`] with its messages in [`tsrequest`],
//! [`mutual`]: a TLS client certificate, read by [`certificate`] and found by thumbprint in the
//! per-user [`store`], .pfx files through the runtime-loaded libcrypto of [`pkcs12`]), and PSRP's
//! SecureString session key through the same libcrypto ([`session_key`]); a password never
//! leaves this module except on the wire (or to the system GSSAPI library), a private key never except
//! to rustls.

pub mod basic;
pub mod certificate;
pub mod credssp;
pub mod gssapi;
pub mod mutual;
pub mod negotiate;
pub mod pkcs12;
pub mod session_key;
pub mod store;
mod system_library;
pub mod tsrequest;

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use once_cell::sync::Lazy;

use crate::error::Result;
use certificate::ClientCertificate;

/// A user name and password, or a TLS client certificate (New-CimSession -CertificateThumbprint).
/// The password and the private key never appear in Debug output, errors or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name as given (`user`, `DOMAIN\\user` or `user@REALM`); empty for a certificate.
    pub user: String,
    password: String,
    /// The client certificate, for a credential made by [`Credential::from_certificate`].
    certificate: Option<Arc<ClientCertificate>>,
}

impl Credential {
    /// A credential for `user` (`DOMAIN\user` or `user@realm` as the server expects) with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credential { user: user.into(), password: password.into(), certificate: None }
    }

    /// A credential that is a TLS client certificate and its key: sessions made with it authenticate
    /// with [`mutual::Mutual`] over HTTPS, whatever mechanism is asked for.
    pub fn from_certificate(certificate: Arc<ClientCertificate>) -> Self {
        Credential { user: String::new(), password: String::new(), certificate: Some(certificate) }
    }

    /// The client certificate, when this credential is one.
    pub fn client_certificate(&self) -> Option<&Arc<ClientCertificate>> {
        self.certificate.as_ref()
    }

    /// The [`Identity`] this credential has under `mechanism`: the user name and a fingerprint of the
    /// password.
    pub fn identity(&self, mechanism: &'static str) -> Identity {
        Identity::new(mechanism, &self.user, Some(self.password.as_bytes()))
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.certificate {
            Some(c) => write!(f, "Credential {{ certificate: {:?} }}", c.thumbprint()),
            None => write!(f, "Credential {{ user: {:?}, password: <hidden> }}", self.user),
        }
    }
}

/// New-CimSession -Authentication (`PasswordAuthenticationMechanism`, spec §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authentication {
    /// Negotiate, as WinRM's client means it: the credential given, else the system's (the Kerberos
    /// ticket cache). Never Basic, which must be asked for.
    #[default]
    Default,
    /// HTTP Basic (RFC 7617): only over HTTPS or with NoEncryption.
    Basic,
    /// HTTP Digest, which WinRM does not offer.
    Digest,
    /// SPNEGO (RFC 4559, MS-SPNG): Kerberos, else NTLM, through the system GSSAPI ([`negotiate`]).
    Negotiate,
    /// Kerberos alone (RFC 4121), WinRM's `Kerberos` scheme ([`negotiate`]).
    Kerberos,
    /// NTLM with a domain account (MS-NLMP, through gss-ntlmssp; [`negotiate`]).
    NtlmDomain,
    /// CredSSP (MS-CSSP): TLS, SPNEGO inside it, then the password delegated to the server
    /// ([`credssp`]).
    CredSsp,
}

/// Whose connections these are: the mechanism, the user name and a fingerprint of the secret, part of
/// the key of the HTTP connection pool, so that two credentials never share a connection.
///
/// The fingerprint is a keyed hash (SipHash, 64 bits) of the secret with a key drawn at random once per
/// process: equal secrets give equal fingerprints within the process, and the secret cannot be read
/// back from it. Debug shows the mechanism and user only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    mechanism: &'static str,
    user: String,
    fingerprint: u64,
    /// How the mechanism uses its connections, when that differs between mechanisms of one kind
    /// (e.g. Negotiate with and without message encryption): such connections are not shared.
    variant: String,
}

/// The per-process random key of [`Identity`]'s fingerprints.
static FINGERPRINT_KEY: Lazy<RandomState> = Lazy::new(RandomState::new);

impl Identity {
    /// The identity of `user` authenticating with `mechanism` (e.g. "Basic", "Negotiate") and `secret`
    /// (a password; None for a credential the system holds, such as a Kerberos ticket cache).
    pub fn new(mechanism: &'static str, user: &str, secret: Option<&[u8]>) -> Identity {
        Identity { mechanism, user: user.to_string(), fingerprint: secret.map_or(0, |s| FINGERPRINT_KEY.hash_one(s)), variant: String::new() }
    }

    /// The same identity for connections used another way, described by `variant` (no secret: e.g.
    /// "no-encryption"), so they are pooled apart from the others.
    pub fn with_variant(mut self, variant: impl Into<String>) -> Identity {
        self.variant = variant.into();
        self
    }

    /// The mechanism's name, as the Authorization header spells it (e.g. "Basic").
    pub fn mechanism(&self) -> &'static str {
        self.mechanism
    }

    /// The user name as given.
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("mechanism", &self.mechanism).field("user", &self.user).field("variant", &self.variant).finish_non_exhaustive()
    }
}

/// Where an authenticator's connection goes, for what a mechanism binds to it: the host and port of
/// the URL (Kerberos' service principal `HTTP/<host>`), and over TLS the server's end-entity
/// certificate in DER (channel binding `tls-server-end-point`, RFC 5929 §4).
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    /// The host as the URL names it (without brackets for an IPv6 literal).
    pub host: &'a str,
    /// The TCP port the connection goes to.
    pub port: u16,
    /// The server's certificate (DER), when the connection is TLS.
    pub certificate: Option<&'a [u8]>,
}

/// A credential bound to a mechanism: what a target authenticates with. It starts an [`Authenticator`]
/// for each new connection, and names whose connection that is. Thread-safe: one serves every
/// request of a session.
pub trait Mechanism: Send + Sync {
    /// Whose connections this mechanism's authenticators make (the key of their connection pool).
    fn identity(&self) -> &Identity;

    /// A new authenticator for a new connection to `peer`, its first Authorization value ready.
    /// Errors: the mechanism cannot start (e.g. no credential, a missing system library); the error
    /// names the mechanism and never holds a secret.
    fn start(&self, peer: &Peer<'_>) -> Result<Box<dyn Authenticator>>;

    /// The TLS client certificate this mechanism's connections present (RFC 8446 §4.4.2), if any
    /// (the default: none). The HTTP layer gives it to rustls; the [`Identity`] of such a mechanism
    /// must tell certificates apart, as connections are pooled by it.
    fn client_certificate(&self) -> Option<&Arc<ClientCertificate>> {
        None
    }
}

/// The authentication (and message protection) state of one connection, sans-IO: the HTTP layer asks
/// it what to send, shows it what came back, and keeps it with its connection in and out of the pool.
///
/// How the HTTP layer drives it (RFC 7235 §2.1, §3.1): while [`Authenticator::is_complete`] is false it
/// sends requests without a body (`Content-Length: 0`) carrying [`Authenticator::authorization`]; a
/// 401 goes to [`Authenticator::challenge`], and when that has a next token the request is sent again
/// on the same connection; any other reply goes to [`Authenticator::accept`]. Once complete, each
/// request carries its body, sealed by [`Authenticator::wrap`], and each reply is opened by
/// [`Authenticator::unwrap`]. A stateless mechanism (Basic) is complete from the start, so its header
/// travels with the body at once; a connection-based one (Negotiate, RFC 4559 §4; Kerberos, NTLM)
/// authenticates the connection first with empty requests, as Windows' own client does.
pub trait Authenticator: Send {
    /// The Authorization header value (RFC 7235 §4.2: scheme and credentials, e.g. `Basic …`,
    /// `Negotiate <base64>`) that requests carry from now on, until the next step; None: no header
    /// (e.g. once a connection-based context is complete).
    fn authorization(&self) -> Option<&str>;

    /// Whether requests may carry their bodies: the context is established (always, for Basic).
    fn is_complete(&self) -> bool;

    /// Steps through a 401 reply, given the values of its `WWW-Authenticate` headers (RFC 7235 §4.1;
    /// see [`find_challenge`]). Ok(true): [`Authenticator::authorization`] now holds the next token, to
    /// be sent on the same connection; Ok(false): this authenticator gives up (it has nothing more to
    /// offer, or the server named no scheme it speaks), and the 401 stands.
    /// Errors: the mechanism failed on the server's token (AccessDenied or BadReply, naming the
    /// mechanism, never holding a secret or a token).
    fn challenge(&mut self, challenges: &[&str]) -> Result<bool>;

    /// Shows a reply other than 401 to a request sent while the context was not complete, with the
    /// values of its `WWW-Authenticate` headers: the server's last token, which completes the context
    /// and proves the server's identity (RFC 4559 §5, mutual authentication). Default: nothing to check.
    /// Errors: the token does not verify (AccessDenied, naming the mechanism).
    fn accept(&mut self, challenges: &[&str]) -> Result<()> {
        let _ = challenges;
        Ok(())
    }

    /// Seals a request body of media type `content_type` for the wire (MS-WSMV 2.2.9.1 message
    /// encryption): Some((media type, bytes)) to send instead, None to send the body as it is
    /// (the default, and Basic's).
    /// Errors: the mechanism cannot seal (naming it).
    fn wrap(&mut self, content_type: &str, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        let _ = (content_type, body);
        Ok(None)
    }

    /// Opens a reply body of media type `content_type` (e.g. `multipart/encrypted`): Some((media type,
    /// bytes)) of what it carries, None when the body is to be read as it is (the default, and Basic's).
    /// Errors: a body that does not open, or one in clear text where the mechanism requires it sealed
    /// (BadReply or AccessDenied, naming the mechanism).
    fn unwrap(&mut self, content_type: Option<&str>, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        let _ = (content_type, body);
        Ok(None)
    }
}

/// The challenge for `scheme` (compared without regard to case) among `WWW-Authenticate` values, each
/// a comma-separated list of challenges (RFC 7235 §4.1): Some(what follows the scheme name, trimmed:
/// a token68 such as a Negotiate token, auth-params, or "" for a bare scheme), None when no challenge
/// names `scheme`. A comma inside a quoted auth-param value may split it, which is harmless here: only
/// the part that starts with the scheme name is returned.
pub fn find_challenge<'a>(challenges: &[&'a str], scheme: &str) -> Option<&'a str> {
    challenges.iter().flat_map(|v| v.split(',')).find_map(|c| {
        let c = c.trim_start();
        let name = c.get(..scheme.len())?;
        let rest = &c[scheme.len()..];
        (name.eq_ignore_ascii_case(scheme) && (rest.is_empty() || rest.starts_with(' '))).then(|| rest.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_found_by_scheme_in_lists_and_headers() {
        let headers = ["Basic realm=\"WinRM\", Negotiate", "kerberos  abc=="];
        assert_eq!(find_challenge(&headers, "Negotiate"), Some(""));
        assert_eq!(find_challenge(&headers, "Kerberos"), Some("abc=="));
        assert_eq!(find_challenge(&headers, "basic"), Some("realm=\"WinRM\""));
        assert_eq!(find_challenge(&headers, "NTLM"), None);
        assert_eq!(find_challenge(&["Negotiated x"], "Negotiate"), None);
        assert_eq!(find_challenge(&[], "Basic"), None);
    }

    #[test]
    fn identities_differ_by_secret_and_never_show_it() {
        let a = Credential::new("me", "s3cret-pw");
        assert_eq!(a.identity("Basic"), Credential::new("me", "s3cret-pw").identity("Basic"));
        assert_ne!(a.identity("Basic"), Credential::new("me", "other-pw").identity("Basic"));
        assert_ne!(a.identity("Basic"), Credential::new("you", "s3cret-pw").identity("Basic"));
        assert_ne!(a.identity("Basic"), a.identity("Negotiate"));
        let shown = format!("{:?} {:?}", a.identity("Basic"), a);
        assert!(shown.contains("me") && shown.contains("Basic") && !shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains(&FINGERPRINT_KEY.hash_one(b"s3cret-pw".as_slice()).to_string()), "{shown}");
    }
}
