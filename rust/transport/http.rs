//! HTTP(S) for WS-Management: hyper's HTTP/1.1 connections (its low-level `client::conn`) with rustls
//! for TLS, and one keep-alive connection pool shared by every session and every ad hoc call with the
//! same TLS policy.
//!
//! A request is sent and its reply read by the thread that asked for it, which drives the connection
//! itself and sleeps in poll(2) on its socket meanwhile ([`super::blocking`]); no runtime thread takes
//! part (only a host name is resolved on a helper thread, so that timeouts and cancellation still
//! apply to a slow name server). Connections carry TCP_NODELAY and TCP_QUICKACK (see [`Socket`]). An
//! idle connection in the pool is polled by nobody; one the server closed meanwhile is found out by
//! the next request before anything is written, and that request goes out on a new connection (a
//! request that was written is never repeated).
//!
//! Authentication belongs to a connection (NTLM and Kerberos authenticate the TCP connection, and
//! their message encryption is bound to it): the pool is keyed by the credential's [`Identity`] as
//! well as the endpoint, so two users never share a connection, and each connection carries its own
//! [`Authenticator`], stepped through the server's 401 challenges on that same connection (RFC 7235)
//! and kept with it in the pool. Bodies are sent only once its context is complete; the requests that
//! authenticate a connection-based mechanism carry none (`Content-Length: 0`).
//! A mechanism with a TLS client certificate ([`Mechanism::client_certificate`]) gets a TLS
//! configuration of its own that presents it; its identity names the certificate, so such
//! connections are pooled apart.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use hyper::body::Bytes;
use hyper::client::conn::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT, WWW_AUTHENTICATE};
use hyper::{Body, Method, Request, Uri};
use once_cell::sync::Lazy;
use rustls::client::{ServerCertVerified, ServerCertVerifier, WebPkiVerifier};
use rustls::{Certificate, ClientConfig, RootCertStore, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use super::blocking::{self, Socket};
use crate::auth::certificate::ClientCertificate;
use crate::auth::{Authenticator, Identity, Mechanism, Peer};
use crate::cancel::Cancel;
use crate::error::{Error, ErrorKind, Result};

/// What a TLS connection checks of the server's certificate (New-CimSessionOption -SkipCACheck,
/// -SkipCNCheck). Each policy has a pool of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsPolicy {
    /// The chain must lead to a root this machine trusts (the system store, or `SSL_CERT_FILE`).
    pub verify_chain: bool,
    /// The certificate must name the host the URL names.
    pub verify_name: bool,
}

impl Default for TlsPolicy {
    fn default() -> Self {
        TlsPolicy { verify_chain: true, verify_name: true }
    }
}

/// A reply as it came (opened by the connection's authenticator, when it seals messages): status,
/// media type (the Content-Type header) and body bytes, whatever they hold.
#[derive(Debug)]
pub struct HttpReply {
    /// The HTTP status code (e.g. 200, 401, 500).
    pub status: u16,
    /// The Content-Type header, if the server sent one HTTP can read as text.
    pub content_type: Option<String>,
    /// The whole body (at most the target's [`Target::max_reply`] bytes), not decoded: SOAP is UTF-8,
    /// a sealed body is binary.
    pub body: Vec<u8>,
}

/// Largest reply body read by default, in bytes (a target's [`Target::with_max_reply`] sets its own):
/// it only stops a broken server from exhausting memory.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long one address may take to accept a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);
/// Most idle connections kept per endpoint (more are closed when they come back).
const MAX_IDLE_PER_ENDPOINT: usize = 64;
/// Most requests one [`post`] sends on its connection while authenticating (each 401 an authenticator
/// answers costs one): a mechanism that never gives up still ends.
const MAX_LEGS: usize = 8;
/// The media type of every request body (a SOAP 1.2 envelope).
const SOAP: &str = "application/soap+xml;charset=UTF-8";

/// A connection's byte stream: a plain [`Socket`], or TLS over one.
type Stream = Box<dyn Io>;

/// What hyper needs of a connection's byte stream.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A keep-alive connection: hyper's request sender, the connection it talks through, and its
/// authentication state, which stays with it in and out of the pool.
struct Idle {
    sender: SendRequest<Body>,
    connection: conn::Connection<Stream, Body>,
    /// This connection's authenticator; None when the target has no credential.
    auth: Option<Box<dyn Authenticator>>,
    /// The authenticator's Authorization value as a header, remade only when it steps.
    authorization: Option<HeaderValue>,
    since: Instant,
}

/// Whose connections to where: the URL's scheme and authority, the TLS policy the server was checked
/// with, and the identity of the credential they authenticate (no secret: Debug shows none). It hashes
/// as the hash of those, taken once when it is made (the pool looks it up twice per request).
#[derive(Debug, PartialEq, Eq)]
struct PoolKey {
    scheme: String,
    authority: String,
    policy: TlsPolicy,
    identity: Option<Identity>,
    hash: u64,
}

impl PoolKey {
    fn new(scheme: String, authority: String, policy: TlsPolicy, identity: Option<Identity>) -> PoolKey {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&scheme, &authority, policy, &identity).hash(&mut hasher);
        PoolKey { scheme, authority, policy, identity, hash: hasher.finish() }
    }
}

impl Hash for PoolKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The key of a pool of connections, shared by every request of a target.
type Endpoint = Arc<PoolKey>;

/// Where requests go, prepared once for many: the URL, the key of its connection pool, the Host header
/// every request carries and the mechanism that authenticates each connection. Its Debug form shows
/// the URL only, never the credential.
#[derive(Clone)]
pub struct Target {
    url: Uri,
    policy: TlsPolicy,
    /// The request line's target (path and query).
    path: Uri,
    endpoint: Endpoint,
    host: HeaderValue,
    mechanism: Option<Arc<dyn Mechanism>>,
    /// Largest reply body accepted, in bytes.
    max_reply: usize,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target").field("url", &self.url).field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Target {
    /// A target for `url` whose certificate (https) is checked as `policy` says, each of whose
    /// connections `mechanism` authenticates (None: requests carry no Authorization header).
    /// Errors: InvalidArgument for a URL that names no host or a host HTTP cannot carry.
    pub fn new(url: Uri, policy: TlsPolicy, mechanism: Option<Arc<dyn Mechanism>>) -> Result<Target> {
        let authority = url
            .authority()
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("The URL {url} names no host")))?
            .to_string();
        let host = HeaderValue::from_str(&authority).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("The host of {url} cannot be sent in HTTP")))?;
        let path: Uri = url
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("The path of {url} cannot be requested: {e}")))?;
        let identity = mechanism.as_ref().map(|m| m.identity().clone());
        let endpoint = Arc::new(PoolKey::new(url.scheme_str().unwrap_or("http").to_string(), authority, policy, identity));
        Ok(Target { url, policy, path, endpoint, host, mechanism, max_reply: MAX_BODY })
    }

    /// The same target, accepting reply bodies of at most `bytes` bytes (as they come, before a
    /// sealed body is opened) instead of [`MAX_BODY`]: a protocol that bounds its replies says how
    /// large they can be, and a larger one is refused as soon as its Content-Length or its bytes go
    /// past that, before more of it is read.
    pub fn with_max_reply(mut self, bytes: usize) -> Target {
        self.max_reply = bytes;
        self
    }

    /// The largest reply body accepted, in bytes.
    pub fn max_reply(&self) -> usize {
        self.max_reply
    }

    /// A POST of `body` (its media type and bytes; None: an empty body, `Content-Length: 0`) with the
    /// connection's Authorization header.
    fn request(&self, body: Option<(HeaderValue, Bytes)>, authorization: Option<&HeaderValue>) -> Request<Body> {
        let empty = body.is_none();
        let (content_type, body) = body.unwrap_or_else(|| (HeaderValue::from_static(SOAP), Bytes::new()));
        let mut r = Request::new(Body::from(body));
        *r.method_mut() = Method::POST;
        *r.uri_mut() = self.path.clone();
        let headers = r.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, content_type);
        if empty {
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        headers.insert(USER_AGENT, HeaderValue::from_static("RemoteSessions"));
        if let Some(a) = authorization {
            headers.insert(AUTHORIZATION, a.clone());
        }
        r
    }
}

/// The TLS configurations (one per policy, and per identity of a mechanism with a client
/// certificate) and the idle connections.
struct Pools {
    tls: HashMap<(TlsPolicy, Option<Identity>), Arc<ClientConfig>>,
    idle: HashMap<Endpoint, Vec<Idle>>,
}

static POOLS: Lazy<Mutex<Pools>> = Lazy::new(|| Mutex::new(Pools { tls: HashMap::new(), idle: HashMap::new() }));

fn pools() -> std::sync::MutexGuard<'static, Pools> {
    POOLS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The TLS client configuration that checks servers as `policy` says (the one HTTPS connections use;
/// also what a mechanism that runs TLS of its own inside HTTP, CredSSP, checks its server with).
/// Errors: TlsFailed when the trusted root certificates cannot be read.
pub fn tls_client_config(policy: TlsPolicy) -> Result<Arc<ClientConfig>> {
    tls(policy, None)
}

/// The TLS configuration for `policy`, presenting `mechanism`'s client certificate (if it has one)
/// when the server asks for one.
fn tls(policy: TlsPolicy, mechanism: Option<&dyn Mechanism>) -> Result<Arc<ClientConfig>> {
    let certificate = mechanism.and_then(|m| m.client_certificate().map(|c| (m.identity().clone(), &**c)));
    let key = (policy, certificate.as_ref().map(|(identity, _)| identity.clone()));
    let certificate = certificate.map(|(_, c)| c);
    if let Some(c) = pools().tls.get(&key) {
        return Ok(Arc::clone(c));
    }
    let config = Arc::new(tls_config(policy, certificate)?);
    pools().tls.insert(key, Arc::clone(&config));
    Ok(config)
}

/// A pooled connection to `endpoint` that has not been idle too long, if any (the newest first).
fn take_idle(endpoint: &Endpoint) -> Option<Idle> {
    let mut pools = pools();
    let idle = pools.idle.get_mut(endpoint)?;
    while let Some(c) = idle.pop() {
        if c.since.elapsed() < POOL_IDLE {
            return Some(c);
        }
    }
    None
}

fn put_idle(endpoint: Endpoint, c: Idle) {
    let mut pools = pools();
    let idle = pools.idle.entry(endpoint).or_default();
    idle.retain(|c| c.since.elapsed() < POOL_IDLE);
    if idle.len() < MAX_IDLE_PER_ENDPOINT {
        idle.push(c);
    }
}

/// A new connection to `url`'s host: each address it resolves to in turn, each tried for at most
/// [`CONNECT_TIMEOUT`]; then TLS for https; then the authenticator `mechanism` starts for it.
async fn connect(url: &Uri, policy: TlsPolicy, mechanism: Option<&dyn Mechanism>) -> Result<Idle> {
    let https = url.scheme_str() == Some("https");
    let host = url.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // getaddrinfo blocks and cannot be interrupted: on a helper thread, the operation's timeout
        // and Ctrl+C still end the wait for a slow name server.
        Err(_) => {
            let name = (host.to_string(), port);
            blocking::off_thread(move || name.to_socket_addrs().map(Iterator::collect))
                .await
                .and_then(|resolved| resolved)
                .map_err(|e| connect_error(url, &e))?
        }
    };
    let mut failure = io::Error::new(io::ErrorKind::NotFound, format!("{host} resolves to no address"));
    let mut socket = None;
    for addr in addrs {
        match Socket::connect(addr, Instant::now() + CONNECT_TIMEOUT).await {
            Ok(s) => {
                socket = Some(s);
                break;
            }
            Err(e) => failure = e,
        }
    }
    let socket = socket.ok_or_else(|| connect_error(url, &failure))?;
    let start = |certificate: Option<&[u8]>| mechanism.map(|m| m.start(&Peer { host, port, certificate })).transpose();
    let (stream, auth) = if https {
        let name = ServerName::try_from(host)
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("'{host}' is not a host name TLS can check")))?;
        let tls = tokio_rustls::TlsConnector::from(tls(policy, mechanism)?).connect(name, socket).await.map_err(|e| connect_error(url, &e))?;
        let auth = start(tls.get_ref().1.peer_certificates().and_then(<[Certificate]>::first).map(|c| c.0.as_slice()))?;
        (Box::new(tls) as Stream, auth)
    } else {
        (Box::new(socket) as Stream, start(None)?)
    };
    let authorization = authorization_header(auth.as_deref())?;
    let (sender, connection) = conn::Builder::new()
        .handshake::<_, Body>(stream)
        .await
        .map_err(|e| network_error(url, &e, false))?;
    Ok(Idle { sender, connection, auth, authorization, since: Instant::now() })
}

/// The Authorization header `auth` asks for now, marked sensitive.
/// Errors: InvalidArgument for a value HTTP cannot carry (the message never holds it).
fn authorization_header(auth: Option<&dyn Authenticator>) -> Result<Option<HeaderValue>> {
    let Some(value) = auth.and_then(Authenticator::authorization) else { return Ok(None) };
    let mut header = HeaderValue::from_str(value).map_err(|_| Error::new(ErrorKind::InvalidArgument, "The credential holds characters HTTP headers cannot carry"))?;
    header.set_sensitive(true);
    Ok(Some(header))
}

/// POSTs `body` (a SOAP envelope) to `target` and reads the whole reply within `timeout`, on a pooled
/// keep-alive connection or a new one, authenticated by the target's mechanism on that connection:
/// its authenticator is stepped through 401 challenges on the same socket, and while it is not
/// complete the requests carry no body. Blocks the calling thread, which does the I/O itself. A 401
/// that the connection's authenticator gives up on is returned as the reply.
/// Errors: ConnectionFailed (refused, unreachable, closed before the reply was complete, or while
/// authenticating), BadReply (a body larger than [`Target::max_reply`]; the connection is closed),
/// TlsFailed, Timeout, Cancelled (by `cancel`, also before anything was sent),
/// AccessDenied (the server still asks for authentication after 8 requests on one connection), and
/// the authenticator's own errors.
pub fn post(target: &Target, body: String, timeout: Duration, cancel: Option<&Cancel>) -> Result<HttpReply> {
    if cancel.map_or(false, Cancel::is_cancelled) {
        return Err(Cancel::error());
    }
    let (url, policy, endpoint) = (&target.url, target.policy, &target.endpoint);
    let body = Bytes::from(body);
    let exchange = async {
        loop {
            let (mut c, reused) = match take_idle(endpoint) {
                Some(c) => (c, true),
                None => (connect(url, policy, target.mechanism.as_deref()).await?, false),
            };
            // One the server closed while it lay idle is dropped here.
            if reused && !still_open(&mut c).await {
                continue;
            }
            match converse(target, &mut c, &body).await {
                Ok((reply, reusable)) => {
                    // A connection whose authentication was left unfinished serves nobody else.
                    if reusable && c.auth.as_ref().map_or(true, |a| a.is_complete()) {
                        c.since = Instant::now();
                        put_idle(Arc::clone(endpoint), c);
                    }
                    return Ok(reply);
                }
                // The server closed a pooled connection before this request was written: try a new one.
                Err(Failure::Network { written: false, .. }) if reused => continue,
                Err(Failure::Network { error: Some(error), in_body, .. }) => return Err(network_error(url, &error, in_body)),
                Err(Failure::Network { error: None, .. }) => {
                    return Err(Error::new(ErrorKind::ConnectionFailed, format!("The request to {url} failed: the server closed the connection")))
                }
                Err(Failure::Error(e)) => return Err(e),
            }
        }
    };
    let cancellable = async {
        match cancel {
            None => exchange.await,
            Some(c) => tokio::select! {
                r = exchange => r,
                _ = c.cancelled() => Err(Cancel::error()),
            },
        }
    };
    match blocking::run(cancellable, Instant::now() + timeout) {
        Ok(Some(result)) => result.map_err(|e| certificate_hint(e, target)),
        Ok(None) => Err(Error::new(ErrorKind::Timeout, format!("{url} did not answer within {} ms", timeout.as_millis()))),
        Err(e) => Err(Error::new(ErrorKind::ConnectionFailed, format!("The request to {url} cannot wait for its reply: {e}"))),
    }
}

/// `e`, for a target that presents a client certificate, with a hint when the server ended the TLS
/// handshake or the connection right after it: that is how a TLS server refuses a client certificate
/// (in TLS 1.3 the refusal comes after the client's side of the handshake is done).
fn certificate_hint(mut e: Error, target: &Target) -> Error {
    let Some(certificate) = target.mechanism.as_deref().and_then(|m| m.client_certificate()) else { return e };
    let ended = match e.kind {
        ErrorKind::TlsFailed => true,
        ErrorKind::ConnectionFailed => !e.message.contains("no connection could be made"),
        _ => false,
    };
    if ended {
        e.message.push_str(&format!("; the server may not accept the client certificate {}", certificate.thumbprint()));
    }
    e
}

/// Sends `body` to `target` on `c`, authenticating on this connection (RFC 7235): while the
/// connection's authenticator is not complete, requests carry no body (`Content-Length: 0`); a 401 it
/// answers with a next token is asked again on the same connection, at most [`MAX_LEGS`] requests in
/// all; a success that completes it ([`Authenticator::accept`]) lets the body go next. The body is
/// sealed and the final reply opened by the authenticator. Returns the final reply and whether the
/// connection can serve another request.
async fn converse(target: &Target, c: &mut Idle, body: &Bytes) -> std::result::Result<(HttpReply, bool), Failure> {
    let url = &target.url;
    for leg in 0..MAX_LEGS {
        let complete = c.auth.as_ref().map_or(true, |a| a.is_complete());
        let payload = match c.auth.as_mut() {
            _ if !complete => None,
            Some(auth) => match auth.wrap(SOAP, body)? {
                Some((content_type, sealed)) => Some((header_value(&content_type)?, Bytes::from(sealed))),
                None => Some((HeaderValue::from_static(SOAP), body.clone())),
            },
            None => Some((HeaderValue::from_static(SOAP), body.clone())),
        };
        let request = target.request(payload, c.authorization.as_ref());
        // Once a request went out on this connection, nothing starts over on another one.
        let Exchanged { status, headers, body: reply, reusable } = exchange_on(c, request, target).await.map_err(|f| f.after(leg))?;
        let Some(auth) = c.auth.as_mut() else { return Ok((HttpReply::new(status, &headers, reply), reusable)) };
        let challenges = || -> Vec<&str> { headers.get_all(WWW_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()).collect() };
        let closed = || Error::new(ErrorKind::ConnectionFailed, format!("The request to {url} failed: the server closed the connection while authenticating"));
        if status == 401 {
            if !auth.challenge(&challenges())? {
                return Ok((HttpReply::new(status, &headers, reply), reusable));
            }
            if !reusable {
                return Err(closed().into());
            }
            c.authorization = authorization_header(Some(&**auth))?;
            continue;
        }
        if !complete {
            // Only a success completes the context and lets the body follow; anything else is the
            // server's answer.
            if !(200..300).contains(&status) {
                return Ok((HttpReply::new(status, &headers, reply), reusable));
            }
            auth.accept(&challenges())?;
            if !auth.is_complete() {
                return Err(Error::new(ErrorKind::AccessDenied, format!("{url} answered HTTP {status} before authentication was complete")).into());
            }
            if !reusable {
                return Err(closed().into());
            }
            c.authorization = authorization_header(Some(&**auth))?;
            continue;
        }
        let mut reply = HttpReply::new(status, &headers, reply);
        if let Some((content_type, opened)) = auth.unwrap(reply.content_type.as_deref(), &reply.body)? {
            reply.content_type = Some(content_type);
            reply.body = opened;
        }
        return Ok((reply, reusable));
    }
    Err(Error::new(ErrorKind::AccessDenied, format!("{url} still asks for authentication after {MAX_LEGS} requests")).into())
}

/// A header value an authenticator made (a sealed body's media type).
/// Errors: InvalidArgument for text an HTTP header cannot carry.
fn header_value(text: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(text).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("'{text}' cannot be sent in an HTTP header")))
}

impl HttpReply {
    /// A reply of `status` with `headers` (its media type taken from Content-Type) and `body`.
    fn new(status: u16, headers: &HeaderMap, body: Vec<u8>) -> HttpReply {
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        HttpReply { status, content_type, body }
    }
}

/// Why one exchange failed.
enum Failure {
    /// On the network: hyper's error (None: the connection ended without one), whether the request
    /// may have been written (then it must not be sent again), and whether the reply had begun.
    Network { error: Option<hyper::Error>, written: bool, in_body: bool },
    /// Already described: an authenticator's error, or authentication that cannot go on.
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Error(e)
    }
}

impl Failure {
    /// This failure of request number `leg` (from 0) on its connection: after the first, a request was
    /// written on it, so the exchange must not start over on another connection.
    fn after(self, leg: usize) -> Failure {
        match self {
            Failure::Network { error, written, in_body } => Failure::Network { error, written: written || leg > 0, in_body },
            other => other,
        }
    }
}

/// Polls an idle connection once: false when it has ended (the server closed it meanwhile).
async fn still_open(c: &mut Idle) -> bool {
    std::future::poll_fn(|cx| Poll::Ready(c.connection.poll_without_shutdown(cx).is_pending())).await
}

/// A whole reply as [`exchange_on`] reads it, and whether its connection can serve another request.
struct Exchanged {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    reusable: bool,
}

/// Sends `request` on `c` and reads the whole reply (at most `target`'s [`Target::max_reply`] bytes),
/// driving the connection meanwhile.
async fn exchange_on(c: &mut Idle, request: Request<Body>, target: &Target) -> std::result::Result<Exchanged, Failure> {
    let Idle { sender, connection, .. } = c;
    let work = async {
        std::future::poll_fn(|cx| sender.poll_ready(cx)).await.map_err(|error| Failure::Network { error: Some(error), written: false, in_body: false })?;
        let reply = sender.send_request(request).await.map_err(|error| Failure::Network { written: !error.is_canceled(), error: Some(error), in_body: false })?;
        let (head, body) = reply.into_parts();
        let body = match read_body(body, target.max_reply).await {
            Ok(Some(body)) => body,
            Ok(None) => return Err(too_large(target).into()),
            Err(error) => return Err(Failure::Network { error: Some(error), written: true, in_body: true }),
        };
        Ok((head.status.as_u16(), head.headers, body))
    };
    tokio::pin!(work);
    let mut ended: Option<Option<hyper::Error>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = work.as_mut().poll(cx) {
            let reusable = ended.is_none();
            return Poll::Ready(done.map(|(status, headers, body)| Exchanged { status, headers, body, reusable }));
        }
        match ended.take() {
            // The connection ended and the work, polled once more, still waits: it never will finish.
            Some(error) => Poll::Ready(Err(Failure::Network { error, written: true, in_body: false })),
            // The connection does the reading and writing; it is Ready only once it has ended.
            None => match connection.poll_without_shutdown(cx) {
                Poll::Ready(result) => {
                    ended = Some(result.err());
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Poll::Pending => Poll::Pending,
            },
        }
    })
    .await
}

/// Reads a whole body of at most `limit` bytes; None as soon as its Content-Length or the bytes read
/// show it is larger (the rest is not read).
async fn read_body(mut body: Body, limit: usize) -> std::result::Result<Option<Vec<u8>>, hyper::Error> {
    use hyper::body::HttpBody;
    let hint = body.size_hint();
    if hint.lower() > limit as u64 {
        return Ok(None);
    }
    // Content-Length, when the server sent one, sizes the buffer once.
    let mut bytes = Vec::with_capacity(hint.exact().map_or(0, |n| n as usize));
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        if bytes.len() + chunk.len() > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// The error for a reply larger than `target` accepts: it names the limit, not the server's text.
fn too_large(target: &Target) -> Error {
    Error::new(
        ErrorKind::BadReply,
        format!("The reply from {} is larger than {} bytes, the most this client accepts for it; it was not read", target.url, target.max_reply),
    )
}

/// Describes a hyper failure: TLS problems as TlsFailed, everything else as ConnectionFailed, with the
/// underlying cause (e.g. "Connection refused (os error 111)"). `in_body`: the reply had begun.
fn network_error(url: &Uri, e: &hyper::Error, in_body: bool) -> Error {
    let (tls, innermost) = causes(std::error::Error::source(e));
    if let Some(tls) = tls {
        return Error::new(ErrorKind::TlsFailed, format!("The TLS connection to {url} failed: {}", tls_text(tls)));
    }
    let what = if e.is_incomplete_message() || in_body {
        "the server closed the connection before its reply was complete".to_string()
    } else {
        innermost.map_or_else(|| e.to_string(), |c| format!("{e}: {c}"))
    };
    Error::new(ErrorKind::ConnectionFailed, format!("The request to {url} failed: {what}"))
}

/// Describes a failure to connect (name resolution, TCP, or the TLS handshake).
fn connect_error(url: &Uri, e: &io::Error) -> Error {
    let start: &(dyn std::error::Error + 'static) = e;
    let (tls, innermost) = causes(Some(start));
    match tls {
        Some(tls) => Error::new(ErrorKind::TlsFailed, format!("The TLS connection to {url} failed: {}", tls_text(tls))),
        None => Error::new(
            ErrorKind::ConnectionFailed,
            format!("The request to {url} failed: no connection could be made ({})", innermost.map_or_else(|| e.to_string(), |c| c.to_string())),
        ),
    }
}

/// Walks a chain of causes from `start`: the rustls error in it, if any, and the innermost cause.
/// io::Error wraps its inner error without exposing it as a source (and hyper-rustls wraps
/// tokio-rustls' io::Error in another), so io::Errors are stepped into by hand.
fn causes<'a>(start: Option<&'a (dyn std::error::Error + 'static)>) -> (Option<&'a rustls::Error>, Option<&'a (dyn std::error::Error + 'static)>) {
    let mut cause = start;
    let mut innermost = None;
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<rustls::Error>() {
            return (Some(tls), innermost);
        }
        innermost = Some(c);
        cause = match c.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    (None, innermost)
}

/// A rustls error in words, with the option that accepts the certificate where there is one.
fn tls_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificateData(d) if d.contains("UnknownIssuer") => {
            "the server's certificate is not issued by a trusted authority (use -SkipCACheck to accept it)".into()
        }
        // What a default self-signed certificate (basicConstraints CA:TRUE, as `openssl req -x509` and
        // New-SelfSignedCertificate make it) gets from webpki before any trust question.
        rustls::Error::InvalidCertificateData(d) if d.contains("CaUsedAsEndEntity") => {
            "the server's certificate is a CA certificate used as the server's own, as a self-signed \
             certificate often is; it is not issued by a trusted authority (use -SkipCACheck to accept it)"
                .into()
        }
        rustls::Error::InvalidCertificateData(d) if d.contains("CertNotValidForName") => {
            "the server's certificate does not name this host (use -SkipCNCheck to accept it)".into()
        }
        rustls::Error::InvalidCertificateData(d) if d.contains("CertExpired") => "the server's certificate has expired".into(),
        other => other.to_string(),
    }
}

/// A TLS configuration checking servers as `policy` says and presenting `certificate` (its chain and
/// key) to servers that ask for a client certificate.
/// Errors: TlsFailed when the trusted roots cannot be read or rustls refuses the certificate or key.
fn tls_config(policy: TlsPolicy, certificate: Option<&ClientCertificate>) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    if policy.verify_chain {
        // rustls-native-certs honours SSL_CERT_FILE, then the system store.
        let certs = rustls_native_certs::load_native_certs()
            .map_err(|e| Error::new(ErrorKind::TlsFailed, format!("The trusted root certificates cannot be read: {e}")))?;
        for cert in certs {
            let _ = roots.add(&Certificate(cert.0));
        }
    }
    let verifier = Arc::new(PolicyVerifier { policy, inner: WebPkiVerifier::new(roots, None) });
    let builder = ClientConfig::builder().with_safe_defaults().with_custom_certificate_verifier(verifier);
    match certificate {
        None => Ok(builder.with_no_client_auth()),
        Some(c) => {
            let mut config = builder.with_single_cert(c.chain().to_vec(), c.key().clone()).map_err(|e| {
                Error::new(ErrorKind::TlsFailed, format!("The client certificate {} from {} cannot be used for TLS: {e}", c.thumbprint(), c.source()))
            })?;
            // Sessions are remembered per host name, not per port: resuming one on another port of
            // the same host, whose TLS server expects no certificate or another one, fails the
            // handshake (OpenSSL-based servers refuse it). Each connection authenticates in full.
            config.session_storage = Arc::new(rustls::client::NoClientSessionStorage {});
            Ok(config)
        }
    }
}

/// Checks what the policy asks for. rustls 0.20 checks names only for DNS names, so a host given as an
/// IP address can be verified only with -SkipCNCheck; the error says so.
struct PolicyVerifier {
    policy: TlsPolicy,
    inner: WebPkiVerifier,
}

impl ServerCertVerifier for PolicyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &Certificate,
        intermediates: &[Certificate],
        server_name: &ServerName,
        scts: &mut dyn Iterator<Item = &[u8]>,
        ocsp: &[u8],
        now: SystemTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let name_mismatch = |e: &rustls::Error| matches!(e, rustls::Error::InvalidCertificateData(d) if d.contains("CertNotValidForName"));
        let is_ip = matches!(server_name, ServerName::IpAddress(_));
        match (self.policy.verify_chain, self.policy.verify_name) {
            (true, true) if is_ip => Err(rustls::Error::General(
                "a certificate cannot be checked against an IP address; connect by host name or use -SkipCNCheck".into(),
            )),
            (true, true) => self.inner.verify_server_cert(end_entity, intermediates, server_name, scts, ocsp, now),
            (true, false) => {
                // Check the chain against a name no certificate has, and accept only the name mismatch.
                let placeholder = ServerName::try_from("name-not-checked.invalid").expect("a valid DNS name");
                match self.inner.verify_server_cert(end_entity, intermediates, &placeholder, scts, ocsp, now) {
                    Err(e) if name_mismatch(&e) => Ok(ServerCertVerified::assertion()),
                    other => other,
                }
            }
            (false, true) => {
                let ServerName::DnsName(dns) = server_name else {
                    return Err(rustls::Error::General(
                        "a certificate cannot be checked against an IP address; connect by host name or use -SkipCNCheck".into(),
                    ));
                };
                let cert = webpki::EndEntityCert::try_from(end_entity.0.as_ref()).map_err(|_| rustls::Error::InvalidCertificateEncoding)?;
                let name = webpki::DnsNameRef::try_from_ascii_str(dns.as_ref()).map_err(|_| rustls::Error::UnsupportedNameType)?;
                cert.verify_is_valid_for_dns_name(name)
                    .map(|_| ServerCertVerified::assertion())
                    .map_err(|e| rustls::Error::InvalidCertificateData(format!("invalid peer certificate: {e:?}")))
            }
            (false, false) => Ok(ServerCertVerified::assertion()),
        }
    }
}

#[cfg(test)]
mod tls_text_tests {
    use super::*;

    #[test]
    fn certificate_errors_name_the_option_that_accepts_them() {
        for (cause, option) in [("UnknownIssuer", "-SkipCACheck"), ("CaUsedAsEndEntity", "-SkipCACheck"), ("CertNotValidForName", "-SkipCNCheck")] {
            let text = tls_text(&rustls::Error::InvalidCertificateData(format!("invalid peer certificate: {cause}")));
            assert!(text.contains(option), "{cause}: {text}");
        }
    }
}
