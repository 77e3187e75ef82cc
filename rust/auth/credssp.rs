//! CredSSP (MS-CSSP) over HTTP as WinRM speaks it: the scheme `CredSSP` (`Authorization: CredSSP
//! <base64>`, answered by `WWW-Authenticate: CredSSP <base64>`), whose tokens are the bytes of a TLS
//! session run inside the HTTP exchange. Sans-IO: the TLS client (rustls) reads and writes memory
//! buffers, the HTTP layer carries them.
//!
//! One connection, in order (MS-CSSP 3.1.5):
//! 1. The TLS handshake; the server's certificate is checked as HTTPS checks it (the session's TLS
//!    policy: -SkipCACheck, -SkipCNCheck).
//! 2. SPNEGO (Kerberos, else NTLM through gss-ntlmssp; the system GSSAPI, [`super::gssapi`]) for the
//!    service `HTTP@host`, its tokens in TSRequest `negoTokens` ([`super::tsrequest`]).
//! 3. The public-key proof: with the last SPNEGO token the client sends `pubKeyAuth`, the SHA-256 of
//!    "CredSSP Client-To-Server Binding Hash\0", a 32-byte `clientNonce` and the certificate's
//!    SubjectPublicKey, sealed with the SPNEGO context; the server answers with the same over
//!    "CredSSP Server-To-Client Binding Hash\0", which must verify (protocol version 5 and later;
//!    with a server of version 2–4, the key itself and the key with its first byte plus one). So the
//!    server that knows the password is the one at the end of the TLS session.
//! 4. The delegation: TSCredentials with TSPasswordCreds (domain, user, password), sealed, in
//!    `authInfo`. The server then logs on with the password itself: that is the point of CredSSP
//!    (the "second hop" from the server to other computers works).
//!
//! Once complete, over HTTP, bodies are sealed as MS-WSMV 2.2.9.1 says with the protocol
//! `application/HTTP-CredSSP-session-encrypted`: each part (at most 16 KiB of the message) carries a
//! 4-byte little-endian length — that of the TLS record's trailer (16 bytes for AES-GCM and
//! ChaCha20-Poly1305 in TLS 1.2, 17 in TLS 1.3: the tag and the inner content type), as Windows'
//! stream sizes report it — then the TLS application-data record(s) of the inner session. Over
//! HTTPS bodies are not sealed.
//!
//! Sealed values (`pubKeyAuth`, `authInfo`) are GSSAPI wrap tokens as they are: RFC 4121 tokens for
//! Kerberos, and for NTLM the 16-byte signature then the encrypted data, which is both what
//! gss-ntlmssp writes and what SSPI's EncryptMessage gives Windows' CredSSP.

use std::fmt;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::{ClientConfig, ClientConnection, ServerName};

use super::gssapi::{self, Context, GssError, Name};
use super::negotiate::{failure, open_body, seal_body, Package};
use super::tsrequest::{self, TsRequest};
use super::{find_challenge, Authenticator, Credential, Identity, Mechanism, Peer};
use crate::error::{Error, ErrorKind, Result};

/// The mechanism's name in errors, the pool, and the HTTP scheme.
const NAME: &str = "CredSSP";
/// The protocol of sealed bodies (MS-WSMV 2.2.9.1).
pub const PROTOCOL: &str = "application/HTTP-CredSSP-session-encrypted";
/// The TSRequest version this client speaks (MS-CSSP 2.2.1).
const VERSION: u32 = 6;
/// The most of a message one sealed part carries, in bytes (one TLS record's plaintext).
const PART: usize = 16 * 1024;
const CLIENT_MAGIC: &[u8] = b"CredSSP Client-To-Server Binding Hash\0";
const SERVER_MAGIC: &[u8] = b"CredSSP Server-To-Client Binding Hash\0";

/// How a [`CredSsp`] mechanism uses its connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CredSspOptions {
    /// Send and accept bodies in clear text over HTTP (New-CimSessionOption -NoEncryption, which the
    /// server must allow). Over HTTPS bodies are never sealed.
    pub no_encryption: bool,
    /// The TLS configuration given to [`CredSsp::new`] does not check the server certificate's chain
    /// (-SkipCACheck). With `skip_cn_check`, part of the connections' identity: connections whose
    /// inner certificate was checked otherwise are not shared.
    pub skip_ca_check: bool,
    /// The TLS configuration does not check the certificate's name (-SkipCNCheck).
    pub skip_cn_check: bool,
}

/// CredSSP with one credential (a password is what it delegates, so one is required): a
/// [`Mechanism`] whose authenticators run TLS, SPNEGO and the delegation on each connection. Debug
/// shows the user only.
pub struct CredSsp {
    identity: Identity,
    credential: Credential,
    tls: Arc<ClientConfig>,
    options: CredSspOptions,
    /// The GSSAPI credential acquired with the password, once, shared by every connection.
    acquired: Mutex<Option<Arc<gssapi::Credential>>>,
}

impl fmt::Debug for CredSsp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredSsp").field("identity", &self.identity).field("options", &self.options).finish_non_exhaustive()
    }
}

impl CredSsp {
    /// CredSSP as `credential`; the TLS session inside checks the server's certificate with `tls`
    /// (the session's TLS policy, as HTTPS does), which `options` describes. Nothing is loaded or
    /// asked until the first connection.
    pub fn new(credential: &Credential, tls: Arc<ClientConfig>, options: CredSspOptions) -> CredSsp {
        let variant = format!(
            "{}{}{}",
            if options.no_encryption { "no-encryption;" } else { "" },
            if options.skip_ca_check { "skip-ca;" } else { "" },
            if options.skip_cn_check { "skip-cn;" } else { "" }
        );
        let identity = credential.identity(NAME).with_variant(variant);
        CredSsp { identity, credential: credential.clone(), tls, options, acquired: Mutex::new(None) }
    }

    /// The SPNEGO credential acquired from the password (once).
    fn gss_credential(&self) -> Result<Arc<gssapi::Credential>> {
        let mut acquired = self.acquired.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = acquired.as_ref() {
            return Ok(Arc::clone(c));
        }
        let user = &self.credential.user;
        let name = Name::import(user, gssapi::NT_USER_NAME).map_err(|e| inner_failure(&format!("the user name '{user}' is not valid"), e))?;
        let c = gssapi::Credential::acquire(Some(&name), Some(self.credential.password.as_bytes()), gssapi::SPNEGO)
            .map_err(|e| inner_failure(&format!("no credential for '{user}'"), e))?;
        let c = Arc::new(c);
        *acquired = Some(Arc::clone(&c));
        Ok(c)
    }

    /// Drops the credential acquired from the password, so the next connection acquires it again.
    fn forget_credential(&self) {
        *self.acquired.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// A GSSAPI failure inside CredSSP: Negotiate's error, named as CredSSP's.
fn inner_failure(what: &str, e: GssError) -> Error {
    let inner = failure(Package::Negotiate, what, e);
    Error::new(inner.kind, format!("{NAME}: {}", inner.message))
}

impl Mechanism for CredSsp {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Starts the TLS session (its ClientHello is the first token) and the SPNEGO context for
    /// `HTTP@host` (its first token goes once TLS is up). A credential acquired earlier that no longer
    /// serves (e.g. its initial Kerberos ticket expired) is acquired again from the password, once.
    /// Errors: InvalidArgument for a host TLS cannot name; NotSupported when the GSSAPI library is
    /// missing; AccessDenied when no credential can be acquired from the password.
    fn start(&self, peer: &Peer<'_>) -> Result<Box<dyn Authenticator>> {
        let name = ServerName::try_from(peer.host).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("{NAME}: '{}' is not a host name TLS can check", peer.host)))?;
        let tls = ClientConnection::new(Arc::clone(&self.tls), name).map_err(|e| Error::new(ErrorKind::TlsFailed, format!("{NAME}: the TLS session cannot start: {e}")))?;
        let spn = format!("HTTP/{}", peer.host);
        let target = Name::import(&format!("HTTP@{}", peer.host), gssapi::NT_HOSTBASED_SERVICE).map_err(|e| inner_failure(&format!("the service name {spn} is not valid"), e))?;
        let failed = |e: GssError| inner_failure(&format!("cannot authenticate to {spn}"), e);
        let mut context = Context::new(target, Some(self.gss_credential()?), gssapi::SPNEGO, None);
        let first = match context.step(None) {
            Ok(first) => first,
            Err(_) => {
                self.forget_credential();
                context = Context::new(context.into_target(), Some(self.gss_credential()?), gssapi::SPNEGO, None);
                context.step(None).map_err(failed)?
            }
        };
        if first.token.is_empty() {
            return Err(Error::new(ErrorKind::AccessDenied, format!("{NAME}: GSSAPI made no token for {spn}")));
        }
        let mut nonce = [0u8; 32];
        SystemRandom::new().fill(&mut nonce).map_err(|_| Error::new(ErrorKind::NotSupported, format!("{NAME}: no random numbers for the client nonce")))?;
        let mut a = CredSspAuthenticator {
            host: peer.host.to_string(),
            spn,
            user: self.credential.user.clone(),
            delegate: Some(self.credential.clone()),
            tls,
            stage: Stage::Handshake,
            header: None,
            context,
            first_token: Some(first.token),
            established: first.complete,
            public_key: Vec::new(),
            nonce,
            server_version: 0,
            pub_key_sent: false,
            sent: 0,
            seal: peer.certificate.is_none() && !self.options.no_encryption,
        };
        a.send(None)?;
        Ok(Box::new(a))
    }
}

/// Where a connection's CredSSP exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The inner TLS handshake.
    Handshake,
    /// SPNEGO tokens and the public-key proofs.
    Negotiating,
    /// The credentials went; waiting for the server's success.
    Delegated,
    /// The server accepted: bodies may go.
    Complete,
}

struct CredSspAuthenticator {
    host: String,
    /// `HTTP/host` as errors name it.
    spn: String,
    user: String,
    /// The credential to delegate, dropped once sent.
    delegate: Option<Credential>,
    tls: ClientConnection,
    stage: Stage,
    header: Option<String>,
    context: Context,
    /// The first SPNEGO token, sent once TLS is up.
    first_token: Option<Vec<u8>>,
    /// GSSAPI says the SPNEGO context is complete.
    established: bool,
    /// The server certificate's SubjectPublicKey.
    public_key: Vec<u8>,
    nonce: [u8; 32],
    /// The server's TSRequest version.
    server_version: u32,
    pub_key_sent: bool,
    /// Tokens sent so far.
    sent: usize,
    seal: bool,
}

impl CredSspAuthenticator {
    fn denied(&self, what: impl fmt::Display) -> Error {
        Error::new(ErrorKind::AccessDenied, format!("{NAME}: {what}"))
    }

    fn bad(&self, what: impl fmt::Display) -> Error {
        Error::new(ErrorKind::BadReply, format!("{NAME}: {what}"))
    }

    /// Writes `plaintext` (if any) into the TLS session and makes what TLS has to send the next
    /// Authorization value.
    fn send(&mut self, plaintext: Option<&[u8]>) -> Result<()> {
        if let Some(p) = plaintext {
            self.tls.writer().write_all(p).map_err(|e| self.bad(format!("the TLS session cannot take the message: {e}")))?;
        }
        let records = self.drain()?;
        if records.is_empty() {
            return Err(self.denied(format!("the TLS session with {} has nothing to send", self.host)));
        }
        self.header = Some(format!("{NAME} {}", base64::encode(&records)));
        self.sent += 1;
        Ok(())
    }

    /// What the TLS session has to send.
    fn drain(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut out).map_err(|e| self.bad(format!("the TLS session cannot write: {e}")))?;
        }
        Ok(out)
    }

    /// Feeds the server's TLS `records` to the session: the plaintext they carry.
    fn receive(&mut self, records: &[u8]) -> Result<Vec<u8>> {
        let mut rest = records;
        let mut plaintext = Vec::new();
        while !rest.is_empty() {
            let read = self.tls.read_tls(&mut rest).map_err(|e| self.bad(format!("the TLS session cannot read: {e}")))?;
            let processed = self.tls.process_new_packets();
            if let Err(e) = processed {
                // The alert rustls would send goes nowhere: the connection is given up.
                return Err(tls_failure(&self.host, &e));
            }
            loop {
                let mut buf = [0u8; 8192];
                match self.tls.reader().read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => plaintext.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(self.bad(format!("the TLS session cannot be read: {e}"))),
                }
            }
            if read == 0 {
                break;
            }
        }
        Ok(plaintext)
    }

    /// The server's TSRequest, with its errorCode as an error.
    fn ts_request(&self, plaintext: &[u8]) -> Result<TsRequest> {
        let ts = TsRequest::decode(plaintext).map_err(|e| self.bad(format!("{} sent a message that cannot be read: {e}", self.host)))?;
        if let Some(code) = ts.error_code {
            let name = tsrequest::status_name(code).map_or_else(|| format!("{code:#010x}"), |n| format!("{n} ({code:#010x})"));
            return Err(self.denied(format!("{} refused the logon of '{}': {name}", self.host, self.user)));
        }
        Ok(ts)
    }

    /// The first TSRequest, once TLS is up: the server's key, the first SPNEGO token.
    fn begin(&mut self) -> Result<()> {
        let certificate = self.tls.peer_certificates().and_then(|c| c.first()).map(|c| c.0.clone()).ok_or_else(|| self.denied("the TLS session has no server certificate"))?;
        self.public_key = tsrequest::subject_public_key(&certificate).map_err(|e| self.bad(e))?;
        let token = self.first_token.take().ok_or_else(|| self.denied("the first SPNEGO token was already sent"))?;
        self.stage = Stage::Negotiating;
        let request = TsRequest { version: VERSION, nego_tokens: vec![token], ..Default::default() };
        self.send(Some(&request.encode()))
    }

    /// One server TSRequest while negotiating: the next SPNEGO token (with the client's public-key
    /// proof once the context can seal), or the server's proof, answered with the credentials.
    fn negotiate(&mut self, ts: TsRequest) -> Result<()> {
        if self.server_version == 0 {
            self.server_version = ts.version.max(1);
        }
        let mut out = Vec::new();
        if let Some(token) = ts.nego_tokens.first() {
            if self.established {
                return Err(self.denied(format!("{} sent another token after the context was complete", self.spn)));
            }
            let step = self.context.step(Some(token)).map_err(|e| inner_failure(&format!("the token of {} does not verify", self.spn), e))?;
            self.established = step.complete;
            out = step.token;
        }
        if !self.pub_key_sent {
            let mut request = TsRequest { version: VERSION, nego_tokens: if out.is_empty() { vec![] } else { vec![out] }, ..Default::default() };
            // The proof goes as soon as the context can seal (NTLM: with its last token; Kerberos:
            // after the server's AP-REP).
            if let Some(proof) = self.client_proof()? {
                request.pub_key_auth = Some(proof);
                if self.server_version >= 5 {
                    request.client_nonce = Some(self.nonce.to_vec());
                }
                self.pub_key_sent = true;
            } else if request.nego_tokens.is_empty() {
                return Err(self.denied(format!("the context with {} can neither go on nor seal", self.spn)));
            }
            return self.send(Some(&request.encode()));
        }
        if !out.is_empty() {
            return Err(self.denied(format!("{} asked for more after the public-key proof", self.spn)));
        }
        let Some(proof) = ts.pub_key_auth else {
            return Err(self.denied(format!("{} did not prove that it holds the TLS certificate's key (no pubKeyAuth)", self.host)));
        };
        if !self.established {
            return Err(self.denied(format!("{} did not complete the SPNEGO context", self.spn)));
        }
        self.verify_server_proof(&proof)?;
        let credential = self.delegate.take().ok_or_else(|| self.denied("the credentials were already sent"))?;
        let (domain, user) = split_user(&credential.user);
        let mut credentials = tsrequest::password_credentials(domain, user, &credential.password);
        let sealed = self.seal_token(&credentials);
        tsrequest::wipe(&mut credentials);
        let request = TsRequest { version: VERSION, auth_info: Some(sealed?), ..Default::default() };
        self.stage = Stage::Delegated;
        self.send(Some(&request.encode()))
    }

    /// The client's pubKeyAuth, sealed; None while the context cannot seal yet.
    fn client_proof(&mut self) -> Result<Option<Vec<u8>>> {
        let message = if self.server_version >= 5 {
            digest::digest(&digest::SHA256, &[CLIENT_MAGIC, &self.nonce, &self.public_key].concat()).as_ref().to_vec()
        } else {
            self.public_key.clone()
        };
        // A context that cannot seal yet (Kerberos before the server's AP-REP) fails here.
        Ok(self.context.wrap(&message).ok())
    }

    /// Checks the server's pubKeyAuth against the certificate's key.
    fn verify_server_proof(&mut self, proof: &[u8]) -> Result<()> {
        let (opened, encrypted) = self.context.unwrap(proof).map_err(|e| inner_failure(&format!("the public-key proof of {} does not open", self.host), e))?;
        if !encrypted {
            return Err(self.denied(format!("the public-key proof of {} is signed but not encrypted", self.host)));
        }
        let expected = if self.server_version >= 5 {
            digest::digest(&digest::SHA256, &[SERVER_MAGIC, &self.nonce, &self.public_key].concat()).as_ref().to_vec()
        } else {
            let mut k = self.public_key.clone();
            if let Some(b) = k.first_mut() {
                *b = b.wrapping_add(1);
            }
            k
        };
        if opened != expected {
            return Err(self.denied(format!(
                "the public-key proof of {} does not match the certificate of the TLS session (another server may be in between)",
                self.host
            )));
        }
        Ok(())
    }

    fn seal_token(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        self.context.wrap(message).map_err(|e| inner_failure("cannot seal the credentials", e))
    }

    /// The trailer length of the negotiated cipher suite (SSPI's SecPkgContext_StreamSizes.cbTrailer):
    /// the AEAD tag, and in TLS 1.3 the inner content type.
    fn trailer(&self) -> usize {
        match self.tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => 17,
            _ => 16,
        }
    }
}

impl Authenticator for CredSspAuthenticator {
    fn authorization(&self) -> Option<&str> {
        self.header.as_deref()
    }

    fn is_complete(&self) -> bool {
        self.stage == Stage::Complete
    }

    fn challenge(&mut self, challenges: &[&str]) -> Result<bool> {
        if self.stage == Stage::Complete {
            // The server no longer takes this connection: the 401 stands.
            self.stage = Stage::Delegated;
            return Ok(false);
        }
        let Some(token) = find_challenge(challenges, NAME) else {
            if self.sent == 1 {
                return Err(self.denied(format!("{} does not offer CredSSP authentication (WinRM's CredSSP is off unless enabled with Enable-WSManCredSSP -Role Server)", self.host)));
            }
            return Ok(false);
        };
        if token.is_empty() {
            return Err(match self.stage {
                Stage::Delegated => self.denied(format!("{} refused the delegated credentials of '{}' (HTTP 401)", self.host, self.user)),
                _ => self.denied(format!("logon failure: {} refused the credentials of '{}' (HTTP 401)", self.host, self.user)),
            });
        }
        let records = base64::decode(token).map_err(|_| self.bad("the server's token is not base64"))?;
        let plaintext = self.receive(&records)?;
        match self.stage {
            Stage::Handshake if self.tls.is_handshaking() => {
                if !plaintext.is_empty() {
                    return Err(self.bad("the server sent data before the TLS handshake was complete"));
                }
                self.send(None)?;
            }
            Stage::Handshake => {
                if !plaintext.is_empty() {
                    return Err(self.bad("the server sent data before the client's first message"));
                }
                self.begin()?;
            }
            Stage::Negotiating => {
                let ts = self.ts_request(&plaintext)?;
                self.negotiate(ts)?;
            }
            Stage::Delegated | Stage::Complete => {
                // The server's logon with the delegated credentials failed: its errorCode says why.
                self.ts_request(&plaintext)?;
                return Err(self.denied(format!("{} asked for more after the credentials were delegated", self.host)));
            }
        }
        Ok(true)
    }

    fn accept(&mut self, challenges: &[&str]) -> Result<()> {
        if self.stage != Stage::Delegated {
            return Err(self.denied(format!("{} answered before CredSSP was complete", self.host)));
        }
        if let Some(token) = find_challenge(challenges, NAME).filter(|t| !t.is_empty()) {
            // A last TSRequest with the success: only an error in it matters.
            let records = base64::decode(token).map_err(|_| self.bad("the server's token is not base64"))?;
            let plaintext = self.receive(&records)?;
            if !plaintext.is_empty() {
                self.ts_request(&plaintext)?;
            }
        }
        self.stage = Stage::Complete;
        self.header = None;
        Ok(())
    }

    fn wrap(&mut self, content_type: &str, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        if !self.seal {
            return Ok(None);
        }
        let trailer = self.trailer();
        let chunks: Vec<&[u8]> = if body.is_empty() { vec![body] } else { body.chunks(PART).collect() };
        let multi = chunks.len() > 1;
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            self.tls.writer().write_all(chunk).map_err(|e| self.bad(format!("cannot encrypt the message: {e}")))?;
            let records = self.drain()?;
            if records.len() < trailer {
                return Err(self.bad("the TLS session made no record of the message"));
            }
            // The length field is the trailer's; the records follow whole (MS-WSMV 2.2.9.1 as SSPI
            // streams lay it out): seal_body writes the first `trailer` bytes' length, then them.
            let mut part = seal_body(PROTOCOL, content_type, chunk.len(), &records[..trailer], &records[trailer..]);
            if i + 1 < chunks.len() {
                // Parts but the last end at the next part's boundary, not with the closing one.
                part.truncate(part.len() - CLOSING.len());
            }
            out.extend_from_slice(&part);
        }
        let kind = if multi { "multipart/x-multi-encrypted" } else { "multipart/encrypted" };
        Ok(Some((format!("{kind};protocol=\"{PROTOCOL}\";boundary=\"Encrypted Boundary\""), out)))
    }

    fn unwrap(&mut self, content_type: Option<&str>, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        if !self.seal {
            return Ok(None);
        }
        let media = content_type.unwrap_or("");
        let lower = media.trim_start().to_ascii_lowercase();
        if !lower.starts_with("multipart/encrypted") && !lower.starts_with("multipart/x-multi-encrypted") {
            if body.is_empty() {
                return Ok(None);
            }
            return Err(self.bad(format!(
                "the reply is not encrypted ({}), but this connection requires message encryption",
                if media.is_empty() { "no content type" } else { media }
            )));
        }
        let parts = open_body(media, PROTOCOL, body).map_err(|e| self.bad(format!("the encrypted reply cannot be read: {e}")))?;
        let mut message = Vec::new();
        let mut original = None;
        for part in parts {
            let records = [part.signature, part.data].concat();
            let opened = self.receive(&records)?;
            if opened.len() != part.length {
                return Err(self.bad(format!("the reply decrypts to {} bytes where it announced {}", opened.len(), part.length)));
            }
            message.extend_from_slice(&opened);
            original.get_or_insert(part.original_type);
        }
        Ok(Some((original.unwrap_or_else(|| "application/soap+xml;charset=UTF-8".into()), message)))
    }
}

/// The closing boundary [`seal_body`] ends a body with.
const CLOSING: &str = "--Encrypted Boundary--\r\n";

/// (domain, user) of a user name: `DOMAIN\user` splits; `user@domain` and a bare name go whole as
/// the user with an empty domain, as Windows' CredSSP client sends a UPN.
fn split_user(user: &str) -> (&str, &str) {
    match user.split_once('\\') {
        Some((domain, name)) => (domain, name),
        None => ("", user),
    }
}

/// A TLS failure of the inner session, with the option that accepts the certificate where there is
/// one (as HTTPS words it).
fn tls_failure(host: &str, e: &rustls::Error) -> Error {
    let text = match e {
        rustls::Error::InvalidCertificateData(d) if d.contains("UnknownIssuer") || d.contains("CaUsedAsEndEntity") => {
            "the server's certificate is not issued by a trusted authority (use -SkipCACheck to accept it)".to_string()
        }
        rustls::Error::InvalidCertificateData(d) if d.contains("CertNotValidForName") => "the server's certificate does not name this host (use -SkipCNCheck to accept it)".to_string(),
        other => other.to_string(),
    };
    Error::new(ErrorKind::TlsFailed, format!("{NAME}: the TLS session inside CredSSP with {host} failed: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_split_into_domain_and_user() {
        assert_eq!(split_user("RSESS\\ann"), ("RSESS", "ann"));
        assert_eq!(split_user("ann@rsess.test"), ("", "ann@rsess.test"));
        assert_eq!(split_user("ann"), ("", "ann"));
    }

    #[test]
    fn the_magic_strings_end_with_nul() {
        assert_eq!(CLIENT_MAGIC.len(), 38);
        assert_eq!(SERVER_MAGIC.last(), Some(&0));
        assert!(seal_body(PROTOCOL, "t", 0, b"", b"").ends_with(CLOSING.as_bytes()));
    }

    #[test]
    fn tls_failures_name_the_option_that_accepts_the_certificate() {
        let e = tls_failure("srv1", &rustls::Error::InvalidCertificateData("invalid peer certificate: UnknownIssuer".into()));
        assert_eq!(e.kind, ErrorKind::TlsFailed);
        assert!(e.message.starts_with("CredSSP: ") && e.message.contains("-SkipCACheck"), "{}", e.message);
    }

    fn start(peer: &Peer<'_>) -> Option<Box<dyn Authenticator>> {
        let config = ClientConfig::builder().with_safe_defaults().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth();
        let m = CredSsp::new(&Credential::new("RSESS\\ann", "pw"), Arc::new(config), CredSspOptions::default());
        match m.start(peer) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("skipped: no GSSAPI SPNEGO credential here ({})", e.message);
                None
            }
        }
    }

    #[test]
    fn the_first_token_is_a_tls_client_hello_and_a_server_without_credssp_is_named() {
        let peer = Peer { host: "srv1", port: 5985, certificate: None };
        let Some(mut a) = start(&peer) else { return };
        let header = a.authorization().unwrap().to_string();
        let hello = base64::decode(header.strip_prefix("CredSSP ").unwrap()).unwrap();
        // A TLS handshake record (22) holding a ClientHello (1).
        assert_eq!((hello[0], hello[5]), (22, 1));
        assert!(!a.is_complete());
        let e = a.challenge(&["Negotiate", "Basic realm=\"WSMAN\""]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AccessDenied);
        assert!(e.message.starts_with("CredSSP: srv1 does not offer CredSSP authentication"), "{}", e.message);
    }

    #[test]
    fn hostile_server_tokens_are_errors_not_panics() {
        let peer = Peer { host: "srv1", port: 5985, certificate: None };
        let mut record = vec![22, 3, 3, 0, 40, 2, 0, 0, 36];
        record.extend_from_slice(&[0xee; 36]);
        let alert = vec![21, 3, 3, 0, 2, 2, 40];
        for token in ["CredSSP !!not-base64!!".to_string(), format!("CredSSP {}", base64::encode(&record)), format!("CredSSP {}", base64::encode(&alert)), format!("CredSSP {}", base64::encode([0u8; 3]))] {
            let Some(mut a) = start(&peer) else { return };
            match a.challenge(&[token.as_str()]) {
                Err(e) => assert!(e.message.starts_with("CredSSP: ") && !e.message.contains("pw"), "{token}: {}", e.message),
                // Too short to be a record yet: TLS waits for more, and has nothing to say.
                Ok(_) => assert_eq!(token, format!("CredSSP {}", base64::encode([0u8; 3]))),
            }
        }
        // A bare challenge after the first token: the server refused.
        let Some(mut a) = start(&peer) else { return };
        let e = a.challenge(&["CredSSP"]).unwrap_err();
        assert!(e.message.contains("refused the credentials of 'RSESS\\ann'"), "{}", e.message);
    }

    #[test]
    fn debug_output_shows_no_password() {
        let config = ClientConfig::builder().with_safe_defaults().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth();
        let m = CredSsp::new(&Credential::new("RSESS\\ann", "s3cret-pw"), Arc::new(config), CredSspOptions::default());
        let shown = format!("{m:?}");
        assert!(shown.contains("ann") && shown.contains("CredSSP") && !shown.contains("s3cret"), "{shown}");
    }
}
