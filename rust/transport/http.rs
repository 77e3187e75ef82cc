//! HTTP(S) for WS-Management: hyper over the process-wide tokio runtime, one keep-alive connection
//! pool shared by every session and every ad hoc call with the same TLS policy, rustls for TLS.
//!
//! Latency: WS-Management servers such as OMI write a reply's headers and body in separate TCP
//! segments. With Nagle on their side and delayed ACKs on ours, the body waits ~40 ms for an ACK. So
//! every connection sets TCP_NODELAY and, on Linux, re-arms TCP_QUICKACK after each read (the kernel
//! clears it again by itself), acknowledging each segment at once.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use hyper::client::connect::{Connected, Connection, HttpConnector};
use hyper::service::Service;
use hyper::{Body, Client, Request, Uri};
use hyper_rustls::HttpsConnector;
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

type Pool = Client<HttpsConnector<QuickAckConnector>, Body>;

static POOLS: Lazy<Mutex<HashMap<TlsPolicy, Pool>>> = Lazy::new(|| Mutex::new(HashMap::new()));

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

fn pool(policy: TlsPolicy) -> Result<Pool> {
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = pools.get(&policy) {
        return Ok(p.clone());
    }
    let tls = tls_config(policy)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(QuickAckConnector::new());
    let client = Client::builder().pool_idle_timeout(POOL_IDLE).build(connector);
    pools.insert(policy, client.clone());
    Ok(client)
}

/// POSTs `body` (a SOAP envelope) to `url` with `authorization` as the Authorization header, and reads
/// the whole reply within `timeout`.
/// Errors: ConnectionFailed (refused, unreachable, closed before the reply was complete), TlsFailed,
/// Timeout, BadReply (body not UTF-8 or too large), InvalidArgument (a malformed URL).
pub async fn post(url: &Uri, policy: TlsPolicy, authorization: Option<&str>, body: String, timeout: Duration) -> Result<HttpReply> {
    let client = pool(policy)?;
    let mut request = Request::post(url.clone())
        .header("Content-Type", "application/soap+xml;charset=UTF-8")
        .header("User-Agent", "RemoteSessions");
    if let Some(a) = authorization {
        request = request.header("Authorization", a);
    }
    let request = request
        .body(Body::from(body))
        .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("The request to {url} cannot be made: {e}")))?;
    let exchange = async {
        let reply = client.request(request).await.map_err(|e| network_error(url, &e, false))?;
        let status = reply.status().as_u16();
        let content_type = reply.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = read_body(reply.into_body()).await.map_err(|e| network_error(url, &e, true))?;
        let body = String::from_utf8(body)
            .map_err(|_| Error::new(ErrorKind::BadReply, format!("The reply from {url} is not UTF-8 text")))?;
        Ok(HttpReply { status, content_type, body })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("{url} did not answer within {} ms", timeout.as_millis()),
        )),
    }
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
    // Walk the causes; io::Error wraps its inner error without exposing it as a source (and
    // hyper-rustls wraps tokio-rustls' io::Error in another), so step into io::Errors by hand.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut innermost = None;
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<rustls::Error>() {
            return Error::new(ErrorKind::TlsFailed, format!("The TLS connection to {url} failed: {}", tls_text(tls)));
        }
        innermost = Some(c);
        cause = match c.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    let what = if e.is_incomplete_message() || in_body {
        "the server closed the connection before its reply was complete".to_string()
    } else if e.is_connect() {
        format!("no connection could be made ({})", innermost.map_or_else(|| e.to_string(), |c| c.to_string()))
    } else {
        innermost.map_or_else(|| e.to_string(), |c| format!("{e}: {c}"))
    };
    Error::new(ErrorKind::ConnectionFailed, format!("The request to {url} failed: {what}"))
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
