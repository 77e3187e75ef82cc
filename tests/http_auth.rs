//! Authentication belongs to a connection: the HTTP layer against a small HTTP/1.1 server on
//! 127.0.0.1 that records which connection each request came on. A fake connection-based mechanism
//! ("Test", two legs and a final token, with pretend sealing) defined here proves that a challenge is
//! stepped through on the same socket, that bodies wait until the context is complete and are sealed
//! and opened by the authenticator; Basic proves that credentials decide the connection and that a
//! refusal ends at once. No secret shows in errors or Debug output.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use remote_sessions::auth::basic::Basic;
use remote_sessions::auth::{find_challenge, Authenticator, Credential, Identity, Mechanism, Peer};
use remote_sessions::error::Result;
use remote_sessions::transport::http::{self, HttpReply, Target, TlsPolicy};
use remote_sessions::{Error, ErrorKind};

/// One request as the server read it: the connection it came on (numbered from 0), its head and body.
#[derive(Clone, Debug)]
struct Seen {
    connection: usize,
    head: String,
    body: Vec<u8>,
}

impl Seen {
    /// The value of header `name` (case-insensitive), if sent.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// What the server answers to a request (seen so far on all connections: the log, this one last).
type Answer = Arc<dyn Fn(&[Seen]) -> Vec<u8> + Send + Sync>;

struct Server {
    port: u16,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    fn target(&self, mechanism: Option<Arc<dyn Mechanism>>) -> Target {
        Target::new(format!("http://127.0.0.1:{}/wsman", self.port).parse().unwrap(), TlsPolicy::default(), mechanism).unwrap()
    }
}

/// Serves keep-alive connections until the test ends.
fn serve(answer: Answer) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&log);
    thread::spawn(move || {
        for (n, stream) in listener.incoming().flatten().enumerate() {
            let (a, l) = (Arc::clone(&answer), Arc::clone(&l));
            thread::spawn(move || connection(n, stream, a, l));
        }
    });
    Server { port, log }
}

fn connection(n: usize, stream: TcpStream, answer: Answer, log: Arc<Mutex<Vec<Seen>>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut seen = Seen { connection: n, head, body: Vec::new() };
        let length = seen.header("content-length").map_or(0, |v| v.parse().unwrap());
        seen.body = vec![0; length];
        reader.read_exact(&mut seen.body).unwrap();
        let reply = {
            let mut log = log.lock().unwrap();
            log.push(seen);
            answer(&log)
        };
        if writer.write_all(&reply).is_err() {
            return;
        }
    }
}

const SOAP: &str = "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>";

fn reply(status: &str, headers: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn post(target: &Target) -> Result<HttpReply> {
    http::post(target, SOAP.to_string(), Duration::from_secs(20), None)
}

/// A connection-based test mechanism: "Test one" → 401 "Test two" → "Test three" → a success with the
/// final token "Test four" completes it. Bodies are sealed as `SEALED:` + body and opened likewise.
/// A stubborn one answers every 401 with another token.
struct TestMechanism {
    identity: Identity,
    stubborn: bool,
}

impl TestMechanism {
    fn new(user: &str, stubborn: bool) -> Arc<dyn Mechanism> {
        Arc::new(TestMechanism { identity: Identity::new("Test", user, Some(b"test-secret")), stubborn })
    }
}

impl Mechanism for TestMechanism {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn start(&self, peer: &Peer<'_>) -> Result<Box<dyn Authenticator>> {
        assert_eq!((peer.host, peer.certificate), ("127.0.0.1", None));
        Ok(Box::new(TestAuthenticator { token: Some("Test one"), complete: false, stubborn: self.stubborn }))
    }
}

struct TestAuthenticator {
    token: Option<&'static str>,
    complete: bool,
    stubborn: bool,
}

const SEALED: &str = "multipart/encrypted;protocol=\"application/HTTP-Test-session-encrypted\"";

impl Authenticator for TestAuthenticator {
    fn authorization(&self) -> Option<&str> {
        self.token
    }

    fn is_complete(&self) -> bool {
        self.complete
    }

    fn challenge(&mut self, challenges: &[&str]) -> Result<bool> {
        if self.stubborn {
            self.token = Some("Test again");
            return Ok(true);
        }
        match (self.token, find_challenge(challenges, "Test")) {
            (Some("Test one"), Some("two")) => {
                self.token = Some("Test three");
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn accept(&mut self, challenges: &[&str]) -> Result<()> {
        if self.token != Some("Test three") || find_challenge(challenges, "Test") != Some("four") {
            return Err(Error::new(ErrorKind::AccessDenied, "Test: the server did not prove its identity"));
        }
        self.token = None;
        self.complete = true;
        Ok(())
    }

    fn wrap(&mut self, content_type: &str, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        assert!(self.complete, "a body is sealed only once the context is complete");
        assert_eq!(content_type, "application/soap+xml;charset=UTF-8");
        Ok(Some((SEALED.to_string(), [b"SEALED:".as_slice(), body].concat())))
    }

    fn unwrap(&mut self, content_type: Option<&str>, body: &[u8]) -> Result<Option<(String, Vec<u8>)>> {
        match (content_type, body.strip_prefix(b"SEALED:")) {
            (Some(SEALED), Some(opened)) => Ok(Some(("application/soap+xml;charset=UTF-8".to_string(), opened.to_vec()))),
            _ => Err(Error::new(ErrorKind::BadReply, "Test: the reply is not sealed")),
        }
    }
}

/// The server side of the test mechanism: challenges, then answers sealed requests with sealed replies.
fn test_server() -> Server {
    serve(Arc::new(|log: &[Seen]| {
        let r = log.last().unwrap();
        match r.header("authorization") {
            Some("Test one") => reply("401 Unauthorized", "WWW-Authenticate: Basic realm=\"x\"\r\nWWW-Authenticate: Test two\r\n", ""),
            Some("Test three") => reply("200 OK", "WWW-Authenticate: Test four\r\n", ""),
            Some(other) => reply("401 Unauthorized", "WWW-Authenticate: Test two\r\n", other),
            None if r.header("content-type") == Some(SEALED) && r.body.starts_with(b"SEALED:<s:Envelope") => {
                reply("200 OK", &format!("Content-Type: {SEALED}\r\n"), &format!("SEALED:{SOAP}"))
            }
            None => reply("400 Bad Request", "", "not sealed"),
        }
    }))
}

#[test]
fn a_connection_based_mechanism_steps_through_the_challenge_on_one_connection_before_the_body() {
    let server = test_server();
    let target = server.target(Some(TestMechanism::new("ann", false)));
    for _ in 0..3 {
        let r = post(&target).unwrap();
        assert_eq!((r.status, r.content_type.as_deref(), r.body.as_slice()), (200, Some("application/soap+xml;charset=UTF-8"), SOAP.as_bytes()));
    }
    let seen = server.seen();
    // Two empty legs, then the sealed body; later requests reuse the authenticated connection.
    assert_eq!(seen.len(), 5, "{seen:#?}");
    assert!(seen.iter().all(|s| s.connection == 0), "{seen:#?}");
    for (leg, token) in [(0, "Test one"), (1, "Test three")] {
        assert_eq!((seen[leg].header("authorization"), seen[leg].header("content-length")), (Some(token), Some("0")), "{seen:#?}");
        assert!(seen[leg].body.is_empty());
        assert_eq!(seen[leg].head.to_ascii_lowercase().matches("content-length:").count(), 1, "{}", seen[leg].head);
        assert!(seen[leg].head.starts_with("POST /wsman HTTP/1.1\r\n"));
    }
    for body in &seen[2..] {
        assert_eq!((body.header("authorization"), body.header("content-type")), (None, Some(SEALED)));
        assert_eq!(body.body, format!("SEALED:{SOAP}").into_bytes());
    }
}

#[test]
fn a_context_left_unfinished_is_not_pooled_and_an_unproven_server_is_refused() {
    // The server accepts "Test three" without its final token: the authenticator refuses it.
    let server = serve(Arc::new(|log: &[Seen]| match log.last().unwrap().header("authorization") {
        Some("Test one") => reply("401 Unauthorized", "WWW-Authenticate: Test two\r\n", ""),
        _ => reply("200 OK", "", ""),
    }));
    let target = server.target(Some(TestMechanism::new("ann", false)));
    for _ in 0..2 {
        let e = post(&target).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AccessDenied, "{}", e.message);
        assert!(e.message.contains("did not prove"), "{}", e.message);
    }
    let seen = server.seen();
    assert_eq!(seen.iter().map(|s| s.connection).collect::<Vec<_>>(), [0, 0, 1, 1], "no body was sent: {seen:#?}");
    assert!(seen.iter().all(|s| s.body.is_empty()));
}

#[test]
fn an_endless_challenge_ends_as_access_denied() {
    let server = serve(Arc::new(|_: &[Seen]| reply("401 Unauthorized", "WWW-Authenticate: Test two\r\nWWW-Authenticate: Basic realm=\"WSMAN\"\r\n", "")));
    // Basic gives up at once: one request, the 401 stands (the WS-Man layer makes it AccessDenied).
    let basic = server.target(Some(Arc::new(Basic::new(&Credential::new("ann", "s3cret-pw")))));
    assert_eq!(post(&basic).unwrap().status, 401);
    assert_eq!(server.seen().len(), 1);
    // The test mechanism gives up when its second token is refused too.
    let test = server.target(Some(TestMechanism::new("ann", false)));
    assert_eq!(post(&test).unwrap().status, 401);
    assert_eq!(server.seen().len(), 3);
    // One that never gives up is stopped after a bounded number of requests, all on one connection.
    let stubborn = server.target(Some(TestMechanism::new("bob", true)));
    let e = post(&stubborn).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{}", e.message);
    assert!(e.message.contains("still asks for authentication"), "{}", e.message);
    let seen = server.seen();
    let last = seen.last().unwrap().connection;
    let legs = seen.iter().filter(|s| s.connection == last).count();
    assert!((2..=16).contains(&legs), "{legs} requests");
    assert!(seen.iter().all(|s| s.body.is_empty() || s.header("authorization").map_or(false, |a| a.starts_with("Basic "))));
}

#[test]
fn credentials_decide_the_connection() {
    let server = serve(Arc::new(|_: &[Seen]| reply("200 OK", "Content-Type: application/soap+xml;charset=UTF-8\r\n", SOAP)));
    let basic = |user: &str, password: &str| server.target(Some(Arc::new(Basic::new(&Credential::new(user, password)))));
    let (ann, bob, ann_again, ann_new_password) = (basic("ann", "pw-1"), basic("bob", "pw-1"), basic("ann", "pw-1"), basic("ann", "pw-2"));
    for t in [&ann, &bob, &ann_again, &bob, &ann, &ann_new_password, &ann_again] {
        assert_eq!(post(t).unwrap().status, 200);
    }
    let seen = server.seen();
    let by = |header: &str| {
        let mut c: Vec<usize> = seen.iter().filter(|s| s.header("authorization") == Some(header)).map(|s| s.connection).collect();
        c.dedup();
        c
    };
    let (ann_header, bob_header) = (remote_sessions::auth::basic::authorization(&Credential::new("ann", "pw-1")), remote_sessions::auth::basic::authorization(&Credential::new("bob", "pw-1")));
    let new_password = remote_sessions::auth::basic::authorization(&Credential::new("ann", "pw-2"));
    // The same credential (even through another target) keeps one keep-alive connection; another
    // user, or the same user with another password, gets one of its own.
    assert_eq!(by(&ann_header).len(), 1, "{seen:#?}");
    assert_eq!(by(&bob_header).len(), 1, "{seen:#?}");
    assert_eq!(by(&new_password).len(), 1, "{seen:#?}");
    let mut all: Vec<usize> = [by(&ann_header), by(&bob_header), by(&new_password)].concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 3, "{seen:#?}");
    assert_eq!(seen.len(), 7);
    // Anonymous requests have a pool of their own, and no Authorization header.
    let anonymous = server.target(None);
    post(&anonymous).unwrap();
    post(&anonymous).unwrap();
    let seen = server.seen();
    assert!(seen[7..].iter().all(|s| s.header("authorization").is_none() && s.connection == seen[7].connection));
    assert!(!all.contains(&seen[7].connection));
}

#[test]
fn no_secret_shows_in_debug_output_or_errors() {
    let server = serve(Arc::new(|_: &[Seen]| reply("401 Unauthorized", "WWW-Authenticate: Basic realm=\"WSMAN\"\r\n", "")));
    let credential = Credential::new("ann", "s3cret-pw");
    let header = remote_sessions::auth::basic::authorization(&credential);
    let basic = Basic::new(&credential);
    let target = server.target(Some(Arc::new(Basic::new(&credential))));
    let reply = post(&target).unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = Target::new(format!("http://127.0.0.1:{closed}/wsman").parse().unwrap(), TlsPolicy::default(), Some(Arc::new(Basic::new(&credential))));
    let error = post(&refused.unwrap()).unwrap_err();
    let shown = format!("{basic:?} {target:?} {reply:?} {:?} {error:?} {} {credential:?}", credential.identity("Basic"), error.message);
    let encoded = header.trim_start_matches("Basic ");
    assert!(!shown.contains("s3cret") && !shown.contains(encoded), "{shown}");
    assert!(shown.contains("ann"), "{shown}");
}
