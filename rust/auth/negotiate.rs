//! Negotiate, Kerberos and NTLM over HTTP as WinRM speaks them, through the system GSSAPI
//! ([`super::gssapi`]): the token exchange of RFC 4559 (`Authorization: Negotiate <base64>`, and
//! `Kerberos <base64>` for WinRM's Kerberos-only mechanism) on one connection, and the message
//! encryption of MS-WSMV 2.2.9.1 that binds every later request and reply on that connection to the
//! context.
//!
//! The three mechanisms, as WinRM's client offers them:
//! - Negotiate: SPNEGO (RFC 4178, MS-SPNG), Kerberos when the client has or can get a ticket for the
//!   server, else NTLM; header scheme `Negotiate`; sealed bodies `application/HTTP-SPNEGO-session-encrypted`.
//! - Kerberos: the Kerberos mechanism alone (RFC 4121); scheme `Kerberos`;
//!   `application/HTTP-Kerberos-session-encrypted`.
//! - NTLM (-Authentication NtlmDomain): raw NTLM messages (MS-NLMP) under the scheme `Negotiate`;
//!   `application/HTTP-SPNEGO-session-encrypted`.
//!
//! The service principal is `HTTP@host` (Kerberos' `HTTP/host`), or `HTTP@host:port` when asked
//! (-IncludePortInSPN). With a password the credential is acquired from it (Kerberos: an initial
//! ticket into a memory cache, never the caller's); without one, the system's (the Kerberos ticket
//! cache after `kinit`). Mutual authentication: a Kerberos context is complete only once the server's
//! final token has verified. Over TLS the context carries the channel binding `tls-server-end-point`
//! (RFC 5929 §4) of the server's certificate, and bodies are not sealed (TLS protects them).
//!
//! Sealed bodies (MS-WSMV 2.2.9.1): `multipart/encrypted;protocol="<protocol>";boundary="Encrypted
//! Boundary"`, two MIME parts: one naming the protocol and the original media type and length, one
//! `application/octet-stream` holding a 4-byte little-endian signature length, the signature (the
//! token header: NTLM's 16-byte signature, Kerberos' header with its rotated trailer, 60 bytes for
//! AES) and the encrypted message. Replies are opened the same way; Kerberos tokens are opened whole
//! (header and data together), so their right-rotation count is read from the token, whatever the
//! server sent.

use std::fmt;
use std::sync::{Arc, Mutex};

use super::gssapi::{self, Context, GssError, Name, Oid};
use super::{find_challenge, Authenticator, Credential, Identity, Mechanism, Peer};
use crate::error::{Error, ErrorKind, Result};

/// Which GSSAPI mechanism, and how WinRM names it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Package {
    /// SPNEGO: Kerberos, else NTLM (RFC 4559, MS-SPNG).
    Negotiate,
    /// Kerberos alone (RFC 4121), under WinRM's `Kerberos` scheme.
    Kerberos,
    /// NTLM alone (MS-NLMP), under the `Negotiate` scheme as WinRM sends it.
    Ntlm,
}

impl Package {
    /// The name errors and the connection pool use: "Negotiate", "Kerberos", "NTLM".
    pub fn name(self) -> &'static str {
        match self {
            Package::Negotiate => "Negotiate",
            Package::Kerberos => "Kerberos",
            Package::Ntlm => "NTLM",
        }
    }

    /// The HTTP authentication scheme (RFC 7235 §2.1) of its tokens.
    pub fn scheme(self) -> &'static str {
        match self {
            Package::Kerberos => "Kerberos",
            Package::Negotiate | Package::Ntlm => "Negotiate",
        }
    }

    /// The `protocol` of its sealed bodies (MS-WSMV 2.2.9.1).
    pub fn protocol(self) -> &'static str {
        match self {
            Package::Kerberos => "application/HTTP-Kerberos-session-encrypted",
            Package::Negotiate | Package::Ntlm => "application/HTTP-SPNEGO-session-encrypted",
        }
    }

    fn oid(self) -> Oid {
        match self {
            Package::Negotiate => gssapi::SPNEGO,
            Package::Kerberos => gssapi::KERBEROS,
            Package::Ntlm => gssapi::NTLM,
        }
    }

    /// The user name as this mechanism reads it: Kerberos takes `DOMAIN\user` as `user@DOMAIN`
    /// (realms are upper case); the others take the name as given.
    fn user_name(self, user: &str) -> String {
        match (self, user.split_once('\\')) {
            (Package::Kerberos, Some((domain, name))) if !domain.is_empty() => format!("{name}@{}", domain.to_ascii_uppercase()),
            _ => user.to_string(),
        }
    }
}

/// How a [`Negotiate`] mechanism uses its connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NegotiateOptions {
    /// Send and accept bodies in clear text over HTTP (New-CimSessionOption -NoEncryption; the
    /// server must allow it, AllowUnencrypted). Over HTTPS bodies are never sealed.
    pub no_encryption: bool,
    /// The service principal names the port: `HTTP/host:port` (-IncludePortInSPN).
    pub port_in_spn: bool,
}

/// Negotiate, Kerberos or NTLM with one credential (or the system's): a [`Mechanism`] whose
/// authenticators establish a GSSAPI context on each connection and seal its messages. Debug shows the
/// mechanism and user only.
pub struct Negotiate {
    package: Package,
    identity: Identity,
    credential: Option<Credential>,
    options: NegotiateOptions,
    /// The GSSAPI credential acquired with the password, once, shared by every connection.
    acquired: Mutex<Option<Arc<gssapi::Credential>>>,
}

impl fmt::Debug for Negotiate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Negotiate").field("package", &self.package).field("identity", &self.identity).field("options", &self.options).finish_non_exhaustive()
    }
}

impl Negotiate {
    /// `package` as `credential` (None: the system's credential, e.g. the Kerberos ticket cache).
    /// Nothing is loaded or asked until the first connection.
    pub fn new(package: Package, credential: Option<&Credential>, options: NegotiateOptions) -> Negotiate {
        let identity = match credential {
            Some(c) => c.identity(package.name()),
            None => Identity::new(package.name(), "", None),
        };
        // Connections sealed or not, and bound to one service principal or another, are not shared.
        let identity = identity.with_variant(format!("{}{}", if options.no_encryption { "no-encryption;" } else { "" }, if options.port_in_spn { "port-in-spn;" } else { "" }));
        Negotiate { package, identity, credential: credential.cloned(), options, acquired: Mutex::new(None) }
    }

    /// The credential contexts start with: None for the system's default; with a password, the one
    /// acquired from it (once).
    fn gss_credential(&self) -> Result<Option<Arc<gssapi::Credential>>> {
        let Some(credential) = &self.credential else { return Ok(None) };
        let mut acquired = self.acquired.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = acquired.as_ref() {
            return Ok(Some(Arc::clone(c)));
        }
        let user = self.package.user_name(&credential.user);
        let name = Name::import(&user, gssapi::NT_USER_NAME).map_err(|e| failure(self.package, &format!("the user name '{user}' is not valid"), e))?;
        let c = gssapi::Credential::acquire(Some(&name), Some(credential.password.as_bytes()), self.package.oid())
            .map_err(|e| failure(self.package, &format!("no credential for '{user}'"), e))?;
        let c = Arc::new(c);
        *acquired = Some(Arc::clone(&c));
        Ok(Some(c))
    }

    /// Drops the credential acquired from the password, so the next connection acquires it again.
    fn forget_credential(&self) {
        *self.acquired.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl Mechanism for Negotiate {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Imports `HTTP@host` (or `HTTP@host:port`), and makes the first token.
    /// Errors: NotSupported when the GSSAPI library is missing (naming the package); AccessDenied
    /// when the mechanism cannot start (no ticket cache, a password the KDC refuses, an unknown
    /// server principal), ConnectionFailed when no KDC answers; each names the mechanism, the service
    /// principal and GSSAPI's status.
    fn start(&self, peer: &Peer<'_>) -> Result<Box<dyn Authenticator>> {
        // MIT drops a port from a host-based name (`HTTP@host:port`), so a principal with its port is
        // named as a Kerberos principal, whose realm the library finds as for a host-based one.
        let (spn, target) = if self.options.port_in_spn {
            let spn = format!("HTTP/{}:{}", peer.host, peer.port);
            let name = Name::import(&spn, gssapi::NT_KRB5_PRINCIPAL);
            (spn, name)
        } else {
            (format!("HTTP/{}", peer.host), Name::import(&format!("HTTP@{}", peer.host), gssapi::NT_HOSTBASED_SERVICE))
        };
        let target = target.map_err(|e| failure(self.package, &format!("the service name {spn} is not valid"), e))?;
        let binding = peer.certificate.map(tls_server_end_point);
        let failed = |e: GssError| {
            // Without -Credential, SPNEGO's and NTLM's "no credential" is the caller's to fix.
            let what = match (self.credential.is_none(), self.package) {
                (true, Package::Ntlm) => {
                    format!("cannot authenticate to {spn}: the current user has no NTLM credential here (gss-ntlmssp reads one from NTLM_USER_FILE), give -Credential")
                }
                (true, Package::Negotiate) if e.routine() == NO_CRED => {
                    format!("cannot authenticate to {spn}: the current user has no credential for it (get a Kerberos ticket with kinit, or give -Credential)")
                }
                _ => format!("cannot authenticate to {spn}"),
            };
            failure(self.package, &what, e)
        };
        let credential = self.gss_credential()?;
        let cached = credential.is_some();
        let mut context = Context::new(target, credential, self.package.oid(), binding.clone());
        let first = match context.step(None) {
            Ok(first) => first,
            // A credential acquired earlier may have expired (its initial ticket): acquire it again
            // from the password, once.
            Err(_) if cached => {
                self.forget_credential();
                let target = context.into_target();
                context = Context::new(target, self.gss_credential()?, self.package.oid(), binding);
                context.step(None).map_err(failed)?
            }
            Err(e) => return Err(failed(e)),
        };
        if first.token.is_empty() {
            return Err(Error::new(ErrorKind::AccessDenied, format!("{}: GSSAPI made no token for {spn}", self.package.name())));
        }
        Ok(Box::new(NegotiateAuthenticator {
            package: self.package,
            spn,
            host: peer.host.to_string(),
            user: self.credential.as_ref().map(|c| c.user.clone()),
            header: Some(header(self.package, &first.token)),
            established: first.complete,
            accepted: false,
            sent: 1,
            seal: peer.certificate.is_none() && !self.options.no_encryption,
            context,
        }))
    }
}

/// GSS_S_NO_CRED (RFC 2744 §3.9.1), the routine error.
const NO_CRED: u32 = 7;

/// `scheme base64`: an Authorization value.
fn header(package: Package, token: &[u8]) -> String {
    format!("{} {}", package.scheme(), base64::encode(token))
}

/// The error for a GSSAPI failure of `package` while doing `what`: NotSupported when the library is
/// missing, ConnectionFailed when no KDC answers, AccessDenied otherwise; Kerberos errors whose text
/// is obscure get a plain explanation first.
pub(super) fn failure(package: Package, what: &str, e: GssError) -> Error {
    // MIT krb5 error codes (krb5_err.et) as GSSAPI minor statuses.
    /// KRB5_KDC_UNREACH, "Cannot contact any KDC for realm".
    const KDC_UNREACHABLE: u32 = 0x96c7_3a9c;
    /// KRB5KDC_ERR_PREAUTH_FAILED.
    const PREAUTH_FAILED: u32 = 0x96c7_3a18;
    /// KRB5KRB_AP_ERR_BAD_INTEGRITY, "Decrypt integrity check failed": a wrong password's AS reply.
    const BAD_INTEGRITY: u32 = 0x96c7_3a1f;
    /// KRB5KRB_AP_ERR_SKEW, "Clock skew too great".
    const SKEW: u32 = 0x96c7_3a25;
    /// KRB5KRB_AP_ERR_TKT_EXPIRED, "Ticket expired".
    const TICKET_EXPIRED: u32 = 0x96c7_3a20;
    /// KRB5_FCC_NOFILE, "No credentials cache found".
    const NO_CACHE: u32 = 0x96c7_3ac3;
    /// KRB5_CC_NOTFOUND, what MIT's GSSAPI reports as "No Kerberos credentials available".
    const NO_CREDENTIALS: u32 = 0x96c7_3a8d;
    /// GSS_S_CREDENTIALS_EXPIRED (routine error 11).
    const CREDENTIALS_EXPIRED: u32 = 11;
    let kind = if e.major == 0 && e.minor == 0 {
        ErrorKind::NotSupported
    } else if e.minor == KDC_UNREACHABLE {
        ErrorKind::ConnectionFailed
    } else {
        ErrorKind::AccessDenied
    };
    let hint = match e.minor {
        PREAUTH_FAILED | BAD_INTEGRITY => "the password is incorrect; ",
        SKEW => "the clocks of this computer and the server or KDC differ by more than Kerberos allows; ",
        TICKET_EXPIRED => "the Kerberos ticket has expired (renew it with kinit, or give -Credential); ",
        NO_CACHE | NO_CREDENTIALS => "there is no Kerberos ticket (get one with kinit, or give -Credential); ",
        _ if e.routine() == CREDENTIALS_EXPIRED => "the credential has expired (renew it with kinit, or give -Credential); ",
        _ => "",
    };
    Error::new(kind, format!("{}: {what}: {hint}{e}", package.name()))
}

/// One connection's context: the token to send next, whether GSSAPI has completed the context and
/// whether the server has accepted it (only then do bodies go, sealed when `seal`).
struct NegotiateAuthenticator {
    package: Package,
    /// `HTTP/host` as errors name it.
    spn: String,
    /// The host the connection goes to.
    host: String,
    user: Option<String>,
    header: Option<String>,
    /// GSSAPI says the context is complete.
    established: bool,
    /// The server answered the last token with a success: bodies may go.
    accepted: bool,
    /// Tokens sent so far.
    sent: usize,
    seal: bool,
    context: Context,
}

impl NegotiateAuthenticator {
    fn name(&self) -> &'static str {
        self.package.name()
    }

    /// Who was refused, for errors: the user, or the system's credential.
    fn who(&self) -> String {
        self.user.as_ref().map_or_else(|| "the current user's credential".to_string(), |u| format!("'{u}'"))
    }

    fn denied(&self, what: String) -> Error {
        Error::new(ErrorKind::AccessDenied, format!("{}: {what}", self.name()))
    }

    /// The mechanism the context uses, as far as sealing goes: Kerberos (header and data apart) or
    /// NTLM (one token: the 16-byte signature, then the encrypted message, as gss-ntlmssp writes it
    /// and as MS-WSMV 2.2.9.1 sends it).
    fn kerberos(&self) -> bool {
        match self.package {
            Package::Kerberos => true,
            Package::Ntlm => false,
            Package::Negotiate => self.context.actual_mechanism() == Some(gssapi::KERBEROS),
        }
    }

    /// Checks what a complete context must have: mutual authentication (Kerberos) and, when bodies
    /// are sealed, confidentiality.
    fn check_flags(&self) -> Result<()> {
        let flags = self.context.flags();
        if self.kerberos() && flags & gssapi::MUTUAL_FLAG == 0 {
            return Err(self.denied(format!("{} did not prove its identity (no mutual authentication)", self.spn)));
        }
        if self.seal && flags & gssapi::CONF_FLAG == 0 {
            return Err(self.denied(format!("the context with {} cannot encrypt messages", self.spn)));
        }
        Ok(())
    }
}

impl Authenticator for NegotiateAuthenticator {
    fn authorization(&self) -> Option<&str> {
        self.header.as_deref()
    }

    fn is_complete(&self) -> bool {
        self.accepted
    }

    /// Feeds the server's token to the context. A challenge without a token after ours had gone is
    /// the server's refusal: AccessDenied, naming the mechanism and the user.
    fn challenge(&mut self, challenges: &[&str]) -> Result<bool> {
        if self.accepted {
            // The server no longer takes this connection's context (e.g. it expired there): the 401
            // stands, and the connection, no longer complete, is not pooled again.
            self.accepted = false;
            return Ok(false);
        }
        let Some(token) = find_challenge(challenges, self.package.scheme()) else {
            if self.sent == 1 {
                // The first 401: the server does not speak this mechanism at all.
                let offered = offered_schemes(challenges);
                return Err(self.denied(format!(
                    "{} does not offer {} authentication (it offers {})",
                    self.host,
                    self.package.scheme(),
                    if offered.is_empty() { "none".to_string() } else { offered.join(", ") }
                )));
            }
            return Ok(false);
        };
        if token.is_empty() {
            return Err(self.denied(format!("logon failure: {} refused the credentials of {} (HTTP 401)", self.host, self.who())));
        }
        if self.established {
            return Err(self.denied(format!("{} asked for more after the context was complete (HTTP 401)", self.spn)));
        }
        let input = base64::decode(token).map_err(|_| Error::new(ErrorKind::BadReply, format!("{}: the server's token is not base64", self.name())))?;
        let step = self.context.step(Some(&input)).map_err(|e| failure(self.package, &format!("the token of {} does not verify", self.spn), e))?;
        self.established = step.complete;
        if step.token.is_empty() {
            return Err(self.denied(format!("{} asked for another token, but the context has none to give", self.spn)));
        }
        self.header = Some(header(self.package, &step.token));
        self.sent += 1;
        Ok(true)
    }

    /// A success completes the context with the server's last token, if it sent one (Kerberos'
    /// AP-REP, SPNEGO's accept-completed), and proves the server's identity.
    fn accept(&mut self, challenges: &[&str]) -> Result<()> {
        let token = find_challenge(challenges, self.package.scheme()).filter(|t| !t.is_empty());
        if !self.established {
            let Some(token) = token else {
                return Err(self.denied(format!("{} did not prove its identity: its reply carried no final token", self.spn)));
            };
            let input = base64::decode(token).map_err(|_| Error::new(ErrorKind::BadReply, format!("{}: the server's token is not base64", self.name())))?;
            let step = self.context.step(Some(&input)).map_err(|e| failure(self.package, &format!("the final token of {} does not verify", self.spn), e))?;
            if !step.complete || !step.token.is_empty() {
                return Err(self.denied(format!("{} accepted the credentials before the context was complete", self.spn)));
            }
            self.established = true;
        }
        self.check_flags()?;
        self.accepted = true;
        self.header = None;
        Ok(())
    }

    fn wrap(&mut self, content_type: &str, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        if !self.seal {
            return Ok(None);
        }
        let sealing = |e: GssError| failure(self.package, "cannot encrypt the message", e);
        let (signature, data) = if self.kerberos() {
            self.context.wrap_iov(body).map_err(sealing)?
        } else {
            let token = self.context.wrap(body).map_err(sealing)?;
            if token.len() < NTLM_SIGNATURE {
                return Err(Error::new(ErrorKind::BadReply, format!("{}: GSSAPI sealed a message into too short a token", self.name())));
            }
            let (signature, data) = token.split_at(NTLM_SIGNATURE);
            (signature.to_vec(), data.to_vec())
        };
        Ok(Some((sealed_type(self.package.protocol()), seal_body(self.package.protocol(), content_type, body.len(), &signature, &data))))
    }

    fn unwrap(&mut self, content_type: Option<&str>, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        if !self.seal {
            return Ok(None);
        }
        let media = content_type.unwrap_or("");
        if !media.trim_start().to_ascii_lowercase().starts_with("multipart/encrypted") {
            if body.is_empty() {
                return Ok(None);
            }
            return Err(Error::new(
                ErrorKind::BadReply,
                format!("{}: the reply is not encrypted ({}), but this connection requires message encryption", self.name(), if media.is_empty() { "no content type" } else { media }),
            ));
        }
        let parts = open_body(media, self.package.protocol(), body).map_err(|e| Error::new(ErrorKind::BadReply, format!("{}: the encrypted reply cannot be read: {e}", self.name())))?;
        let mut message = Vec::new();
        let mut original = None;
        for part in parts {
            // Kerberos' header and NTLM's signature both come first in the token.
            let token = [part.signature, part.data].concat();
            let (opened, encrypted) = self
                .context
                .unwrap(&token)
                .map_err(|e| Error::new(ErrorKind::BadReply, format!("{}: the reply does not decrypt: {e}", self.name())))?;
            if !encrypted {
                return Err(Error::new(ErrorKind::BadReply, format!("{}: the reply is signed but not encrypted", self.name())));
            }
            if opened.len() != part.length {
                return Err(Error::new(ErrorKind::BadReply, format!("{}: the reply decrypts to {} bytes where it announced {}", self.name(), opened.len(), part.length)));
            }
            message.extend_from_slice(&opened);
            original.get_or_insert(part.original_type);
        }
        Ok(Some((original.unwrap_or_else(|| "application/soap+xml;charset=UTF-8".into()), message)))
    }
}

/// The scheme names among `WWW-Authenticate` values (RFC 7235 §4.1): each challenge's first word,
/// skipping the auth-params that follow a scheme.
fn offered_schemes(challenges: &[&str]) -> Vec<String> {
    let mut schemes: Vec<String> = Vec::new();
    for part in challenges.iter().flat_map(|v| v.split(',')) {
        let word = part.split_whitespace().next().unwrap_or("");
        if !word.is_empty() && !word.contains('=') && !word.contains('"') && !schemes.iter().any(|s| s.eq_ignore_ascii_case(word)) {
            schemes.push(word.to_string());
        }
    }
    schemes
}

/// Length of an NTLM signature (MS-NLMP 2.2.2.9), in bytes.
const NTLM_SIGNATURE: usize = 16;
/// The MIME boundary Windows uses for sealed bodies.
const BOUNDARY: &str = "Encrypted Boundary";

/// The Content-Type of a body sealed for `protocol`.
fn sealed_type(protocol: &str) -> String {
    format!("multipart/encrypted;protocol=\"{protocol}\";boundary=\"{BOUNDARY}\"")
}

/// A sealed body (MS-WSMV 2.2.9.1): the part naming `protocol` and the original `content_type` and
/// `length` (in bytes), and the octet-stream part: signature length (4 bytes, little-endian),
/// `signature`, `data`; then the closing boundary.
pub fn seal_body(protocol: &str, content_type: &str, length: usize, signature: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "--{BOUNDARY}\r\n\tContent-Type: {protocol}\r\n\tOriginalContent: type={content_type};Length={length}\r\n--{BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n"
    )
    .into_bytes();
    out.extend_from_slice(&(signature.len() as u32).to_le_bytes());
    out.extend_from_slice(signature);
    out.extend_from_slice(data);
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// One sealed message of a body: the media type and length it announces, its signature and data.
#[derive(Debug, PartialEq, Eq)]
pub struct SealedPart {
    /// The original media type (`type=` of OriginalContent), e.g. `application/soap+xml;charset=UTF-8`.
    pub original_type: String,
    /// The original length in bytes (`Length=`).
    pub length: usize,
    /// The signature (token header).
    pub signature: Vec<u8>,
    /// The encrypted message.
    pub data: Vec<u8>,
}

/// Reads a sealed body of media type `media` (multipart/encrypted, whose `protocol` must be
/// `protocol`; its `boundary` parameter, else Windows' one): each pair of parts in turn (one pair, or
/// several in a multipart/x-multi-encrypted body).
/// Errors: text saying what is malformed (never the body's bytes).
pub fn open_body(media: &str, protocol: &str, body: &[u8]) -> std::result::Result<Vec<SealedPart>, String> {
    let param = |name: &str| {
        media.split(';').skip(1).find_map(|p| {
            let (n, v) = p.split_once('=')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    match param("protocol") {
        Some(p) if p.eq_ignore_ascii_case(protocol) => {}
        Some(p) => return Err(format!("it is sealed for {p}, not {protocol}")),
        None => return Err("its media type names no protocol".into()),
    }
    let boundary = param("boundary").unwrap_or_else(|| BOUNDARY.to_string());
    let marker = format!("--{boundary}\r\n").into_bytes();
    let end = format!("--{boundary}--").into_bytes();
    let mut rest = body;
    let mut parts = Vec::new();
    loop {
        rest = rest.strip_prefix(marker.as_slice()).ok_or("a part does not start with its boundary")?;
        // The header part: text up to the next boundary.
        let at = find(rest, &marker).ok_or("the second part is missing")?;
        let head = std::str::from_utf8(&rest[..at]).map_err(|_| "the first part is not text")?;
        rest = &rest[at + marker.len()..];
        let original = head
            .lines()
            .find_map(|l| l.trim().strip_prefix("OriginalContent:").map(str::trim))
            .ok_or("the first part has no OriginalContent")?;
        let lower = original.to_ascii_lowercase();
        let length_at = lower.rfind("length=").ok_or("OriginalContent has no Length")?;
        let length: usize = original[length_at + 7..].trim().trim_end_matches(';').parse().map_err(|_| "OriginalContent's Length is not a number")?;
        let original_type = original[..length_at].trim().trim_end_matches(';').trim();
        let original_type = original_type.strip_prefix("type=").unwrap_or(original_type).to_string();
        // The data part: a header line, then the bytes up to the next boundary (or the end).
        let line = find(rest, b"\r\n").ok_or("the second part has no header")?;
        if !std::str::from_utf8(&rest[..line]).is_ok_and(|h| h.trim().to_ascii_lowercase().starts_with("content-type: application/octet-stream")) {
            return Err("the second part is not application/octet-stream".into());
        }
        rest = &rest[line + 2..];
        if rest.len() < 4 {
            return Err("the sealed part is too short".into());
        }
        let signature_length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if signature_length > rest.len() {
            return Err("the signature is longer than the sealed part".into());
        }
        let (signature, after) = rest.split_at(signature_length);
        // The encrypted data is binary: its end is found from the length announced (a stream
        // cipher or AES-CTS keeps it; a block cipher may pad, so the closing boundary decides then).
        let (data, next) = if after.len() >= length && (after[length..].starts_with(&marker) || after[length..].starts_with(&end)) {
            after.split_at(length)
        } else {
            // The nearest boundary that follows (the next pair's, or the closing one).
            let at = [find(after, &marker), find(after, &end)].into_iter().flatten().min().ok_or("the body does not end with its boundary")?;
            after.split_at(at)
        };
        parts.push(SealedPart { original_type, length, signature: signature.to_vec(), data: data.to_vec() });
        if next.starts_with(&end) || next.is_empty() {
            return Ok(parts);
        }
        rest = next;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The channel binding `tls-server-end-point` (RFC 5929 §4.1) of a server certificate (DER):
/// `tls-server-end-point:` and the hash of the certificate with the hash of its signature algorithm,
/// SHA-256 for MD5 and SHA-1 (and what cannot be read), as SSPI and WinRM's Extended Protection
/// compute it.
pub fn tls_server_end_point(certificate: &[u8]) -> Vec<u8> {
    use ring::digest;
    let algorithm = match signature_algorithm(certificate) {
        Some(oid) if SHA384_SIGNATURES.contains(&oid) => &digest::SHA384,
        Some(oid) if SHA512_SIGNATURES.contains(&oid) => &digest::SHA512,
        _ => &digest::SHA256,
    };
    [b"tls-server-end-point:".as_slice(), digest::digest(algorithm, certificate).as_ref()].concat()
}

/// sha384WithRSAEncryption, ecdsa-with-SHA384 (DER contents of the OIDs).
const SHA384_SIGNATURES: &[&[u8]] = &[b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c", b"\x2a\x86\x48\xce\x3d\x04\x03\x03"];
/// sha512WithRSAEncryption, ecdsa-with-SHA512.
const SHA512_SIGNATURES: &[&[u8]] = &[b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d", b"\x2a\x86\x48\xce\x3d\x04\x03\x04"];

/// The OID of a certificate's `signatureAlgorithm` (RFC 5280 §4.1.1.2): Certificate ::= SEQUENCE {
/// tbsCertificate, signatureAlgorithm SEQUENCE { algorithm OID, ... }, signature }.
fn signature_algorithm(certificate: &[u8]) -> Option<&[u8]> {
    /// One DER element at the start of `input`: (tag, contents, what follows).
    fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            (rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize), &rest[n..])
        };
        (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
    }
    let (0x30, certificate, _) = element(certificate)? else { return None };
    let (_, _, after_tbs) = element(certificate)?;
    let (0x30, algorithm, _) = element(after_tbs)? else { return None };
    let (0x06, oid, _) = element(algorithm)? else { return None };
    Some(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bodies_are_laid_out_as_ms_wsmv_says_and_read_back() {
        let protocol = Package::Negotiate.protocol();
        let soap = "application/soap+xml;charset=UTF-8";
        // Data that holds boundary-like bytes must still be read by its announced length.
        let data = b"--Encrypted Boundary\r\nxx".to_vec();
        let body = seal_body(protocol, soap, data.len(), &[7; 16], &data);
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(
            "--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=24\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\x10\0\0\0"
        ), "{text}");
        assert!(body.ends_with(b"--Encrypted Boundary--\r\n"));
        let parts = open_body(&sealed_type(protocol), protocol, &body).unwrap();
        assert_eq!(parts, vec![SealedPart { original_type: soap.into(), length: 24, signature: vec![7; 16], data }]);
        // Padding (a block cipher): the closing boundary decides where the data ends.
        let padded = seal_body(protocol, soap, 3, &[1; 60], b"abcdefgh");
        assert_eq!(open_body(&sealed_type(protocol), protocol, &padded).unwrap()[0].data, b"abcdefgh");
        // Another protocol, or none, is refused; so is a truncated body.
        assert!(open_body(&sealed_type(Package::Kerberos.protocol()), protocol, &body).unwrap_err().contains("not application/HTTP-SPNEGO"));
        assert!(open_body("multipart/encrypted", protocol, &body).is_err());
        assert!(open_body(&sealed_type(protocol), protocol, &body[..150]).is_err());
        // Two pairs (multipart/x-multi-encrypted).
        let mut two = seal_body(protocol, soap, 2, &[1; 16], b"ab");
        two.truncate(two.len() - b"--Encrypted Boundary--\r\n".len());
        two.extend(seal_body(protocol, soap, 2, &[2; 16], b"cd"));
        let parts = open_body(&format!("multipart/x-multi-encrypted;protocol=\"{protocol}\";boundary=\"Encrypted Boundary\""), protocol, &two).unwrap();
        assert_eq!(parts.iter().map(|p| p.data.clone()).collect::<Vec<_>>(), [b"ab".to_vec(), b"cd".to_vec()]);
    }

    #[test]
    fn kerberos_takes_domain_names_as_principals() {
        assert_eq!(Package::Kerberos.user_name("rsess\\ann"), "ann@RSESS");
        assert_eq!(Package::Kerberos.user_name("ann@RSESS.TEST"), "ann@RSESS.TEST");
        assert_eq!(Package::Ntlm.user_name("RSESS\\ann"), "RSESS\\ann");
        assert_eq!((Package::Ntlm.scheme(), Package::Kerberos.scheme()), ("Negotiate", "Kerberos"));
    }

    #[test]
    fn channel_bindings_hash_the_certificate_as_rfc_5929_says() {
        // A certificate-shaped DER: SEQUENCE { SEQUENCE {} (tbs), SEQUENCE { OID ecdsa-with-SHA384 }, BIT STRING }.
        let cert = b"\x30\x0e\x30\x00\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x03\x03\x00";
        assert_eq!(signature_algorithm(cert), Some(SHA384_SIGNATURES[1]));
        let binding = tls_server_end_point(cert);
        assert!(binding.starts_with(b"tls-server-end-point:"));
        assert_eq!(binding.len(), 21 + 48);
        assert_eq!(tls_server_end_point(b"not DER").len(), 21 + 32);
    }

    #[test]
    fn a_server_without_the_scheme_is_named_with_what_it_offers() {
        assert_eq!(offered_schemes(&["Basic realm=\"WSMAN\", Digest nonce=\"a,b\"", "Basic"]), ["Basic", "Digest"]);
        // NTLM starts without a KDC (gss-ntlmssp makes its first message alone); skipped without it.
        let ntlm = Negotiate::new(Package::Ntlm, Some(&Credential::new("RSESS\\ann", "pw")), NegotiateOptions::default());
        let Ok(mut a) = ntlm.start(&Peer { host: "srv1", port: 5985, certificate: None }) else {
            eprintln!("skipped: no GSSAPI NTLM here");
            return;
        };
        assert!(a.authorization().unwrap().starts_with("Negotiate TlRMTVNTUAAB"), "an NTLM NEGOTIATE message");
        assert!(!a.is_complete());
        let e = a.challenge(&["Basic realm=\"WSMAN\""]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AccessDenied);
        assert_eq!(e.message, "NTLM: srv1 does not offer Negotiate authentication (it offers Basic)");
    }

    #[test]
    fn obscure_kerberos_failures_are_explained() {
        let gss = |major: u32, minor: u32| GssError { major, minor, text: "library text".into() };
        let e = failure(Package::Kerberos, "cannot authenticate to HTTP/srv1", gss(11 << 16, 0x96c7_3a20));
        assert_eq!((e.kind, e.message.as_str()), (
            ErrorKind::AccessDenied,
            "Kerberos: cannot authenticate to HTTP/srv1: the Kerberos ticket has expired (renew it with kinit, or give -Credential); library text (GSSAPI major 0x000b0000, minor -1765328352)"
        ));
        assert!(failure(Package::Kerberos, "x", gss(7 << 16, 0x96c7_3ac3)).message.contains("there is no Kerberos ticket"));
        assert!(failure(Package::Kerberos, "x", gss(13 << 16, 0x96c7_3a25)).message.contains("clocks"));
        assert_eq!(failure(Package::Negotiate, "x", gss(13 << 16, 0x96c7_3a9c)).kind, ErrorKind::ConnectionFailed);
        assert_eq!(failure(Package::Ntlm, "x", gss(0, 0)).kind, ErrorKind::NotSupported);
    }

    #[test]
    fn debug_output_shows_no_password() {
        let n = Negotiate::new(Package::Ntlm, Some(&Credential::new("RSESS\\ann", "s3cret-pw")), NegotiateOptions::default());
        let shown = format!("{n:?}");
        assert!(shown.contains("ann") && shown.contains("NTLM") && !shown.contains("s3cret"), "{shown}");
    }
}
