//! HTTP(S) for WS-Management: hyper's HTTP/1.1 connections over the process-wide tokio runtime, one
//! keep-alive connection pool shared by every session and every ad hoc call with the same TLS policy,
//! rustls for TLS.
//!
//! Latency: WS-Management servers such as OMI write a reply's headers and body in separate TCP
//! segments. With Nagle on their side and delayed ACKs on ours, the body waits ~40 ms for an ACK. So
//! every connection sets TCP_NODELAY and, on Linux, re-arms TCP_QUICKACK after each read (the kernel
//! clears it again by itself), acknowledging each segment at once.
//!
//! The thread that waits for a reply also drives the connection it came on (hyper's low-level
//! `client::conn`): a request costs no hand-over to a runtime thread and back, which on loopback is
//! most of what a request costs beyond the socket itself. An idle connection in the pool is polled by
//! nobody; one the server closed meanwhile is found out by the next request before anything is
//! written, and that request goes out on a new connection (a request that was written is never repeated).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use hyper::body::Bytes;
use hyper::client::conn::{self, SendRequest};
use hyper::client::connect::{Connected, Connection, HttpConnector};
use hyper::service::Service;
use hyper::{Body, Request, Uri};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use once_cell::sync::Lazy;
use rustls::client::{ServerCertVerified, ServerCertVerifier, WebPkiVerifier};
use rustls::{Certificate, ClientConfig, RootCertStore, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

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

/// A reply as it came: status, content type and body text (UTF-8).
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// Largest reply body read, in bytes: far above any MaxEnvelopeSize, it only stops a broken server
/// from exhausting memory.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);
/// Most idle connections kept per endpoint (more are closed when they come back).
const MAX_IDLE_PER_ENDPOINT: usize = 64;

type Stream = MaybeHttpsStream<QuickAckStream>;

/// A keep-alive connection not in use: hyper's request sender and the connection it talks through.
struct Idle {
    sender: SendRequest<Body>,
    connection: conn::Connection<Stream, Body>,
    since: Instant,
}

/// Where a connection goes: scheme and authority of the URL, and the TLS policy it was checked with.
type Endpoint = (String, String, TlsPolicy);

/// The connectors (one per TLS policy: each has its TLS configuration) and the idle connections.
struct Pools {
    connectors: HashMap<TlsPolicy, HttpsConnector<QuickAckConnector>>,
    idle: HashMap<Endpoint, Vec<Idle>>,
}

static POOLS: Lazy<Mutex<Pools>> = Lazy::new(|| Mutex::new(Pools { connectors: HashMap::new(), idle: HashMap::new() }));

fn pools() -> std::sync::MutexGuard<'static, Pools> {
    POOLS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process-wide runtime every network operation of the library runs on (two worker threads:
/// the work is I/O, and a PowerShell host has threads of its own).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: Lazy<tokio::runtime::Runtime> = Lazy::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rsess-io")
            .enable_all()
            .build()
            .expect("the tokio runtime starts")
    });
    &RUNTIME
}

fn connector(policy: TlsPolicy) -> Result<HttpsConnector<QuickAckConnector>> {
    let mut pools = pools();
    if let Some(c) = pools.connectors.get(&policy) {
        return Ok(c.clone());
    }
    let tls = tls_config(policy)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(QuickAckConnector::new());
    pools.connectors.insert(policy, connector.clone());
    Ok(connector)
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

async fn connect(url: &Uri, policy: TlsPolicy) -> Result<Idle> {
    let mut connector = connector(policy)?;
    std::future::poll_fn(|cx| connector.poll_ready(cx)).await.map_err(|e| connect_error(url, e))?;
    let stream = connector.call(url.clone()).await.map_err(|e| connect_error(url, e))?;
    let (sender, connection) = conn::Builder::new()
        .handshake::<_, Body>(stream)
        .await
        .map_err(|e| network_error(url, &e, false))?;
    Ok(Idle { sender, connection, since: Instant::now() })
}

/// POSTs `body` (a SOAP envelope) to `url` with `authorization` as the Authorization header, and reads
/// the whole reply within `timeout`, on a pooled keep-alive connection or a new one.
/// Errors: ConnectionFailed (refused, unreachable, closed before the reply was complete), TlsFailed,
/// Timeout, BadReply (body not UTF-8 or too large), InvalidArgument (a malformed URL).
pub async fn post(url: &Uri, policy: TlsPolicy, authorization: Option<&str>, body: String, timeout: Duration) -> Result<HttpReply> {
    let authority = url
        .authority()
        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("The URL {url} names no host")))?
        .to_string();
    let endpoint: Endpoint = (url.scheme_str().unwrap_or("http").to_string(), authority.clone(), policy);
    let body = Bytes::from(body);
    let request = || {
        let mut r = Request::post(url.path_and_query().map_or("/", |p| p.as_str()))
            .header(hyper::header::HOST, authority.as_str())
            .header("Content-Type", "application/soap+xml;charset=UTF-8")
            .header("User-Agent", "RemoteSessions");
        if let Some(a) = authorization {
            r = r.header("Authorization", a);
        }
        r.body(Body::from(body.clone()))
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("The request to {url} cannot be made: {e}")))
    };
    let exchange = async {
        loop {
            let (mut c, reused) = match take_idle(&endpoint) {
                Some(c) => (c, true),
                None => (connect(url, policy).await?, false),
            };
            // One the server closed while it lay idle is dropped here.
            if reused && !still_open(&mut c).await {
                continue;
            }
            match exchange_on(&mut c, request()?).await {
                Ok(Exchanged { status, content_type, body, reusable }) => {
                    if reusable {
                        c.since = Instant::now();
                        put_idle(endpoint.clone(), c);
                    }
                    let body = String::from_utf8(body)
                        .map_err(|_| Error::new(ErrorKind::BadReply, format!("The reply from {url} is not UTF-8 text")))?;
                    return Ok(HttpReply { status, content_type, body });
                }
                // The server closed a pooled connection before this request was written: try a new one.
                Err(Failure { written: false, .. }) if reused => continue,
                Err(Failure { error: Some(error), in_body, .. }) => return Err(network_error(url, &error, in_body)),
                Err(Failure { error: None, .. }) => {
                    return Err(Error::new(ErrorKind::ConnectionFailed, format!("The request to {url} failed: the server closed the connection")))
                }
            }
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("{url} did not answer within {} ms", timeout.as_millis()),
        )),
    }
}

/// Why one exchange failed: hyper's error (None: the connection ended without one), whether the
/// request may have been written (then it must not be sent again), and whether the reply had begun.
struct Failure {
    error: Option<hyper::Error>,
    written: bool,
    in_body: bool,
}

/// Polls an idle connection once: false when it has ended (the server closed it meanwhile).
async fn still_open(c: &mut Idle) -> bool {
    std::future::poll_fn(|cx| Poll::Ready(c.connection.poll_without_shutdown(cx).is_pending())).await
}

/// A whole reply as [`exchange_on`] reads it, and whether its connection can serve another request.
struct Exchanged {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
    reusable: bool,
}

/// Sends `request` on `c` and reads the whole reply, driving the connection meanwhile.
async fn exchange_on(c: &mut Idle, request: Request<Body>) -> std::result::Result<Exchanged, Failure> {
    let Idle { sender, connection, .. } = c;
    let work = async {
        std::future::poll_fn(|cx| sender.poll_ready(cx)).await.map_err(|error| Failure { error: Some(error), written: false, in_body: false })?;
        let reply = sender.send_request(request).await.map_err(|error| Failure { written: !error.is_canceled(), error: Some(error), in_body: false })?;
        let status = reply.status().as_u16();
        let content_type = reply.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = read_body(reply.into_body()).await.map_err(|error| Failure { error: Some(error), written: true, in_body: true })?;
        Ok((status, content_type, body))
    };
    tokio::pin!(work);
    let mut ended: Option<Option<hyper::Error>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = work.as_mut().poll(cx) {
            let reusable = ended.is_none();
            return Poll::Ready(done.map(|(status, content_type, body)| Exchanged { status, content_type, body, reusable }));
        }
        match ended.take() {
            // The connection ended and the work, polled once more, still waits: it never will finish.
            Some(error) => Poll::Ready(Err(Failure { error, written: true, in_body: false })),
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

async fn read_body(mut body: Body) -> std::result::Result<Vec<u8>, hyper::Error> {
    use hyper::body::HttpBody;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        if bytes.len() + chunk.len() > MAX_BODY {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
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

/// Describes a failure to connect (TCP, or the TLS handshake).
fn connect_error(url: &Uri, e: BoxError) -> Error {
    let start: &(dyn std::error::Error + 'static) = &*e;
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

fn tls_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificateData(d) if d.contains("UnknownIssuer") => {
            "the server's certificate is not issued by a trusted authority (use -SkipCACheck to accept it)".into()
        }
        rustls::Error::InvalidCertificateData(d) if d.contains("CertNotValidForName") => {
            "the server's certificate does not name this host (use -SkipCNCheck to accept it)".into()
        }
        rustls::Error::InvalidCertificateData(d) if d.contains("CertExpired") => "the server's certificate has expired".into(),
        other => other.to_string(),
    }
}

fn tls_config(policy: TlsPolicy) -> Result<ClientConfig> {
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
    Ok(ClientConfig::builder().with_safe_defaults().with_custom_certificate_verifier(verifier).with_no_client_auth())
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

/// hyper's HTTP connector with TCP_NODELAY, handing out [`QuickAckStream`]s.
#[derive(Clone)]
struct QuickAckConnector {
    http: HttpConnector,
}

impl QuickAckConnector {
    fn new() -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(30)));
        QuickAckConnector { http }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<Uri> for QuickAckConnector {
    type Response = QuickAckStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<QuickAckStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        Box::pin(async move { Ok(QuickAckStream(connecting.await?)) })
    }
}

/// A TCP stream that acknowledges every received segment at once (TCP_QUICKACK after each read).
struct QuickAckStream(TcpStream);

impl QuickAckStream {
    #[cfg(target_os = "linux")]
    fn quick_ack(&self) {
        use std::os::unix::io::AsRawFd;
        let on: libc::c_int = 1;
        // Best effort: a failure only costs latency.
        unsafe {
            libc::setsockopt(
                self.0.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                &on as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn quick_ack(&self) {}
}

impl AsyncRead for QuickAckStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.0).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.quick_ack();
        }
        polled
    }
}

impl AsyncWrite for QuickAckStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl Connection for QuickAckStream {
    fn connected(&self) -> Connected {
        self.0.connected()
    }
}
