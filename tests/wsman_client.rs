//! The WS-Management client against small HTTP servers on 127.0.0.1 that answer with recorded replies
//! or misbehave on purpose: connection reuse, faults, HTTP errors, wrong content, truncation, drops,
//! timeouts, cancellation and the Release of an enumeration stopped early. Credentials never show.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use remote_sessions::cim::CimValue;
use remote_sessions::wsman::options::SessionOptions;
use remote_sessions::cancel::Cancel;
use remote_sessions::auth::{Authentication, Credential};
use remote_sessions::wsman::cim::CimClient;
use remote_sessions::ErrorKind;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/omi-cim/curl").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A write that closes the connection (after the writes before it).
const CLOSE: &[u8] = b"\0close";

/// What a test server does with one request: the body it received → bytes to write (None = close; an
/// empty write waits 300 ms; [`CLOSE`] closes).
type Behaviour = Arc<dyn Fn(&str) -> Option<Vec<Vec<u8>>> + Send + Sync>;

struct Server {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

fn ok(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn status(code: u16, content_type: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {code} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Serves until the test ends; each connection is kept alive for as many requests as come.
fn serve(behaviour: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (c, r) = (Arc::clone(&connections), Arc::clone(&requests));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            let (b, r) = (Arc::clone(&behaviour), Arc::clone(&r));
            thread::spawn(move || connection(stream, b, r));
        }
    });
    Server { port, connections, requests }
}

fn connection(stream: TcpStream, behaviour: Behaviour, requests: Arc<Mutex<Vec<String>>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0;
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body = String::from_utf8(body).unwrap();
        requests.lock().unwrap().push(format!("{head}\r\n{body}"));
        match behaviour(&body) {
            Some(writes) => {
                for w in writes {
                    if w.is_empty() {
                        thread::sleep(Duration::from_millis(300));
                        continue;
                    }
                    if w == CLOSE {
                        return;
                    }
                    if writer.write_all(&w).is_err() {
                        return;
                    }
                }
            }
            None => return,
        }
    }
}

fn client(port: u16, options: SessionOptions) -> Arc<CimClient> {
    let options = SessionOptions { port: u32::from(port), no_encryption: true, ..options };
    let cred = Credential::new("rsess", "Replay-Pa55");
    Arc::new(CimClient::new("127.0.0.1", &options, Some(&cred), Authentication::Basic).unwrap())
}

fn always(reply: Vec<u8>) -> Behaviour {
    Arc::new(move |_| Some(vec![reply.clone()]))
}

#[test]
fn a_pooled_connection_the_server_closed_is_replaced_without_an_error() {
    let reply = ok(&fixture("identify-response.xml"));
    let server = serve(Arc::new(move |_| Some(vec![reply.clone(), CLOSE.to_vec()])));
    let c = client(server.port, SessionOptions::default());
    for _ in 0..5 {
        c.identify(None).unwrap();
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 5);
    assert_eq!(server.requests.lock().unwrap().len(), 5, "no request was sent twice");
}

#[test]
fn identify_reuses_one_keep_alive_connection_and_sends_basic_credentials() {
    let server = serve(always(ok(&fixture("identify-response.xml"))));
    let c = client(server.port, SessionOptions::default());
    for _ in 0..20 {
        assert_eq!(c.identify(None).unwrap().product_vendor, "Open Management Infrastructure");
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    let first = server.requests.lock().unwrap()[0].clone();
    assert!(first.contains("authorization: Basic cnNlc3M6UmVwbGF5LVBhNTU=") || first.contains("Authorization: Basic cnNlc3M6UmVwbGF5LVBhNTU="), "{first}");
    assert!(first.contains("<wsmid:Identify/>"));
}

#[test]
fn basic_sends_the_same_request_head_every_time_on_one_connection() {
    let server = serve(always(ok(&fixture("identify-response.xml"))));
    let c = client(server.port, SessionOptions::default());
    c.identify(None).unwrap();
    c.identify(None).unwrap();
    let requests = server.requests.lock().unwrap();
    assert_eq!((requests.len(), server.connections.load(Ordering::SeqCst)), (2, 1));
    for r in requests.iter() {
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        let expected = format!(
            "POST /wsman HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/soap+xml;charset=UTF-8\r\nuser-agent: RemoteSessions\r\n\
             authorization: Basic cnNlc3M6UmVwbGF5LVBhNTU=\r\ncontent-length: {}",
            server.port,
            body.len()
        );
        assert_eq!(head, expected);
    }
}

#[test]
fn enumeration_pulls_page_by_page_and_types_from_the_class() {
    let pulls = Arc::new(AtomicUsize::new(0));
    let behaviour: Behaviour = Arc::new(move |body: &str| {
        let reply = if body.contains("ClassName") {
            fixture("getclass-response.xml")
        } else if body.contains("<n:Pull>") && body.contains("<n:MaxElements>3</n:MaxElements>") {
            match pulls.fetch_add(1, Ordering::SeqCst) {
                0 => fixture("pull1-response.xml"),
                1 => fixture("pull2-response.xml"),
                _ => fixture("pull3-response.xml"),
            }
        } else {
            fixture("enumerate-nooptimize-response.xml")
        };
        Some(vec![ok(&reply)])
    });
    let server = serve(behaviour);
    let mut c = client(server.port, SessionOptions::default());
    Arc::get_mut(&mut c).unwrap().max_elements = 3;
    let mut e = c.enumerate("root/cimv2", "MSFT_President", None, false, false, None).unwrap();
    let mut keys = Vec::new();
    while let Some(i) = e.next().unwrap() {
        assert_eq!(i.class_name, "MSFT_President");
        assert_eq!(i.server_name, "127.0.0.1");
        keys.push(i.property("Key").unwrap().value.clone());
    }
    assert_eq!(keys, (1..=5).map(CimValue::UInt32).collect::<Vec<_>>());
    let requests = server.requests.lock().unwrap();
    assert!(requests.iter().any(|r| r.contains("<w:Selector Name=\"ClassName\">MSFT_President</w:Selector>")));
    assert!(requests.iter().any(|r| r.contains("<n:EnumerationContext>522780673</n:EnumerationContext>")));
}

#[test]
fn items_of_several_classes_are_each_typed_by_their_own_class() {
    // One page: President, Vice (a subclass of President whose Key is a string), President.
    let page = fixture("pull1-response.xml")
        .replacen("<wsen:PullResponse><wsen:EnumerationContext>522780673</wsen:EnumerationContext>", "<wsen:PullResponse>", 1)
        .replacen("</wsen:Items>", "</wsen:Items><wsen:EndOfSequence/>", 1)
        .replace(
            "<p:MSFT_President xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_President\"><p:Key>2</p:Key><p:First>John</p:First><p:Last>Adams</p:Last></p:MSFT_President>",
            "<p:MSFT_Vice xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_Vice\"><p:Key>2</p:Key><p:First>John</p:First><p:Last>Adams</p:Last></p:MSFT_Vice>",
        )
        .replace("/PullResponse<", "/EnumerateResponse<")
        .replace("wsen:PullResponse", "wsen:EnumerateResponse")
        .replace("wsen:Items", "wsman:Items");
    let president = fixture("getclass-response.xml");
    let vice = president
        .replace(r#"<CLASS NAME="MSFT_President">"#, r#"<CLASS NAME="MSFT_Vice" SUPERCLASS="MSFT_President">"#)
        .replace(r#"<PROPERTY NAME="Key" TYPE="uint32">"#, r#"<PROPERTY NAME="Key" TYPE="string">"#);
    let behaviour: Behaviour = Arc::new(move |body: &str| {
        let reply = if body.contains(">MSFT_Vice</w:Selector>") {
            vice.clone()
        } else if body.contains("ClassName") {
            president.clone()
        } else {
            page.clone()
        };
        Some(vec![ok(&reply)])
    });
    let server = serve(behaviour);
    let c = client(server.port, SessionOptions::default());
    let mut e = c.enumerate("root/typing", "MSFT_President", None, false, false, None).unwrap();
    let mut seen = Vec::new();
    while let Some(i) = e.next().unwrap() {
        seen.push((i.class_name.clone(), i.property("Key").unwrap().value.clone(), i.superclasses.clone()));
    }
    let presidents = Vec::<String>::new();
    assert_eq!(
        seen,
        [
            ("MSFT_President".to_string(), CimValue::UInt32(1), presidents.clone()),
            ("MSFT_Vice".to_string(), CimValue::String("2".into()), vec!["MSFT_President".to_string()]),
            ("MSFT_President".to_string(), CimValue::UInt32(3), presidents),
        ]
    );
}

/// An empty Pull page that keeps the enumeration going (items cut out of pull1, its context kept).
fn empty_pull_page() -> String {
    let page = fixture("pull1-response.xml");
    let (start, end) = (page.find("<wsen:Items>").unwrap(), page.find("</wsen:Items>").unwrap());
    format!("{}<wsen:Items>{}", &page[..start], &page[end..])
}

#[test]
fn no_declaration_is_asked_for_while_an_enumeration_context_is_open() {
    // As OMI: while an enumeration context is open the server answers only its Pulls and Release.
    // Pages of 3: the first Pull's second item is MSFT_Vice, a subclass whose declaration the client
    // has not seen; it must wait, typed meanwhile by the class asked for.
    let open = Arc::new(Mutex::new(false));
    let pulls = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(Mutex::new(Vec::<String>::new()));
    let (o, p, r) = (Arc::clone(&open), Arc::clone(&pulls), Arc::clone(&refused));
    let behaviour: Behaviour = Arc::new(move |body: &str| {
        let mut open = o.lock().unwrap();
        let reply = if body.contains("<n:Pull>") {
            let page = fixture(if p.fetch_add(1, Ordering::SeqCst) == 0 { "pull1-response.xml" } else { "pull2-response.xml" })
                .replace("cim-schema/2/MSFT_President\"><p:Key>2</p:Key>", "cim-schema/2/MSFT_Vice\"><p:Key>2</p:Key>")
                .replace("MSFT_President xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_Vice", "MSFT_Vice xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_Vice")
                .replace("<p:Last>Adams</p:Last></p:MSFT_President>", "<p:Last>Adams</p:Last></p:MSFT_Vice>");
            *open = !page.contains("EndOfSequence");
            page
        } else if *open {
            r.lock().unwrap().push(body.to_string());
            return Some(vec![status(500, "text/plain", "busy")]);
        } else if body.contains("ClassName") {
            fixture("getclass-response.xml")
        } else {
            *open = true;
            fixture("enumerate-nooptimize-response.xml")
        };
        Some(vec![ok(&reply)])
    });
    let server = serve(behaviour);
    let mut c = client(server.port, SessionOptions::default());
    Arc::get_mut(&mut c).unwrap().max_elements = 3;
    let mut e = c.enumerate("root/open", "MSFT_President", None, false, false, None).unwrap();
    let mut seen = Vec::new();
    while let Some(i) = e.next().unwrap() {
        seen.push((i.class_name.clone(), i.property("Key").unwrap().value.clone(), i.superclasses.clone()));
    }
    assert!(refused.lock().unwrap().is_empty(), "asked while the context was open: {:?}", refused.lock().unwrap());
    // The subclass's item is typed by the class asked for (its Key a uint32) and named its subclass.
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[1], ("MSFT_Vice".to_string(), CimValue::UInt32(2), vec!["MSFT_President".to_string()]));
    assert!(seen.iter().filter(|s| s.0 == "MSFT_President").all(|s| s.2.is_empty()));
    // The declaration went out before the Enumerate.
    let requests = server.requests.lock().unwrap();
    let getclass = requests.iter().position(|r| r.contains(">MSFT_President</w:Selector>")).expect("GetClass sent");
    let enumerate = requests.iter().position(|r| r.contains("<n:Enumerate>")).expect("Enumerate sent");
    assert!(getclass < enumerate);
}

#[test]
fn endless_empty_pulls_end_with_a_clear_error_and_a_release() {
    let empty = empty_pull_page();
    let behaviour: Behaviour = Arc::new(move |body: &str| {
        let reply = if body.contains("<n:Release>") {
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body/></s:Envelope>"#.to_string()
        } else if body.contains("ClassName") {
            fixture("getclass-response.xml")
        } else if body.contains("<n:Enumerate>") {
            fixture("enumerate-nooptimize-response.xml")
        } else {
            empty.clone()
        };
        Some(vec![ok(&reply)])
    });
    let server = serve(behaviour);
    let c = client(server.port, SessionOptions::default());
    let mut e = c.enumerate("root/cimv2", "MSFT_President", None, false, false, None).unwrap();
    let error = e.next().unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadReply, "{error:?}");
    assert!(error.message.contains("64 Pulls in a row with no instance"), "{}", error.message);
    drop(e);
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.iter().filter(|r| r.contains("<n:Pull>")).count(), 64);
    assert!(requests.last().unwrap().contains("<n:Release>"));
}

#[test]
fn slow_empty_pulls_end_at_the_operation_timeout() {
    // Each empty page comes after 300 ms; together they may take the operation timeout (500 ms, plus
    // as much again for the server's own timeout fault), not 64 of them.
    let empty = empty_pull_page();
    let behaviour: Behaviour = Arc::new(move |body: &str| {
        let reply = if body.contains("ClassName") {
            fixture("getclass-response.xml")
        } else if body.contains("<n:Enumerate>") {
            fixture("enumerate-nooptimize-response.xml")
        } else if body.contains("<n:Release>") {
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body/></s:Envelope>"#.to_string()
        } else {
            return Some(vec![Vec::new(), ok(&empty)]);
        };
        Some(vec![ok(&reply)])
    });
    let server = serve(behaviour);
    let c = client(server.port, SessionOptions { timeout_ms: 500, ..SessionOptions::default() });
    let mut e = c.enumerate("root/cimv2", "MSFT_President", None, false, false, None).unwrap();
    let error = e.next().unwrap_err();
    assert_eq!(error.kind, ErrorKind::Timeout, "{error:?}");
    let pulls = server.requests.lock().unwrap().iter().filter(|r| r.contains("<n:Pull>")).count();
    assert!((3..=6).contains(&pulls), "{pulls} Pulls");
}

#[test]
fn items_of_endless_classes_send_a_bounded_number_of_class_requests() {
    // One closed page of 300 items, each of a class of its own: at most 64 declarations are asked
    // for beyond the class enumerated; the rest are typed by that class.
    let page = fixture("enumerate-response.xml");
    let (start, end) = (page.find("<wsman:Items>").unwrap() + "<wsman:Items>".len(), page.find("</wsman:Items>").unwrap());
    let items: String = (0..300).map(|n| format!("<p:X_{n} xmlns:p='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/X_{n}'><p:A>{n}</p:A></p:X_{n}>")).collect();
    let page = format!("{}{items}{}", &page[..start], &page[end..]);
    let behaviour: Behaviour = Arc::new(move |body: &str| {
        let reply = if body.contains("ClassName") { status(500, "text/plain", "no classes here") } else { ok(&page) };
        Some(vec![reply])
    });
    let server = serve(behaviour);
    let c = client(server.port, SessionOptions::default());
    let mut e = c.enumerate("root/many", "X_Base", None, false, false, None).unwrap();
    let mut n = 0;
    while let Some(i) = e.next().unwrap() {
        assert_eq!(i.class_name, format!("X_{n}"));
        n += 1;
    }
    assert_eq!(n, 300);
    let asked = server.requests.lock().unwrap().iter().filter(|r| r.contains("ClassName")).count();
    assert_eq!(asked, 1 + 64);
}

#[test]
fn an_enumeration_stopped_early_is_released() {
    let behaviour: Behaviour = Arc::new(|body: &str| {
        let reply = if body.contains("<n:Release>") {
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body/></s:Envelope>"#.to_string()
        } else if body.contains("<n:Enumerate>") {
            fixture("enumerate-nooptimize-response.xml").replace("<wsman:Items></wsman:Items>", "<wsman:Items><p:X xmlns:p='urn:x'><p:A>1</p:A></p:X></wsman:Items>")
        } else {
            fixture("pull1-response.xml")
        };
        Some(vec![ok(&reply)])
    });
    let server = serve(behaviour);
    let c = client(server.port, SessionOptions::default());
    let mut e = c.enumerate("root/cimv2", "X", None, false, false, None).unwrap();
    assert!(e.next().unwrap().is_some());
    drop(e);
    let requests = server.requests.lock().unwrap();
    let release = requests.iter().find(|r| r.contains("<n:Release>")).expect("a Release was sent");
    assert!(release.contains("<n:EnumerationContext>522780673</n:EnumerationContext>"));
}

#[test]
fn faults_http_errors_and_bad_replies_are_clear_errors() {
    let cases: Vec<(Vec<u8>, ErrorKind, &str)> = vec![
        (status(500, "application/soap+xml;charset=UTF-8", &fixture("get-notfound-response.xml")), ErrorKind::NotFound, "cannot be found"),
        (status(401, "text/plain", ""), ErrorKind::AccessDenied, "HTTP 401"),
        (status(403, "text/plain", ""), ErrorKind::AccessDenied, "HTTP 403"),
        (status(200, "text/html", "<html/>"), ErrorKind::BadReply, "text/html"),
        (ok("this is not xml"), ErrorKind::BadReply, "not well-formed"),
        (status(404, "text/plain", "nope"), ErrorKind::BadReply, "HTTP 404"),
        (status(500, "application/soap+xml", "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>"), ErrorKind::BadReply, "without a fault"),
    ];
    for (reply, kind, text) in cases {
        let server = serve(always(reply));
        let e = client(server.port, SessionOptions::default()).identify(None).unwrap_err();
        assert_eq!(e.kind, kind, "{}", e.message);
        assert!(e.message.contains(text) && e.message.contains("127.0.0.1"), "{}", e.message);
        assert!(!e.message.contains("Replay-Pa55") && !format!("{e:?}").contains("Replay-Pa55"));
    }
    let gone = serve(always(status(500, "application/soap+xml", &fixture("get-notfound-response.xml")))).port;
    let e = client(gone, SessionOptions::default()).identify(None).unwrap_err();
    assert_eq!((e.cim_status, e.fault_code.as_deref()), (Some(6), Some("wsa:DestinationUnreachable")));
}

#[test]
fn refused_and_dropped_connections_are_connection_failures() {
    let dropped = serve(Arc::new(|_| None));
    let e = client(dropped.port, SessionOptions::default()).identify(None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConnectionFailed, "{}", e.message);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = client(closed, SessionOptions::default()).identify(None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConnectionFailed);
    assert!(e.message.contains("refused"), "{}", e.message);
}

#[test]
fn host_names_are_resolved_and_one_that_names_no_host_is_a_connection_failure() {
    let server = serve(always(ok(&fixture("identify-response.xml"))));
    let options = SessionOptions { port: u32::from(server.port), no_encryption: true, ..SessionOptions::default() };
    let cred = Credential::new("rsess", "Replay-Pa55");
    // Each address "localhost" resolves to is tried in turn; the server listens on 127.0.0.1.
    let named = CimClient::new("localhost", &options, Some(&cred), Authentication::Basic).unwrap();
    assert_eq!(named.identify(None).unwrap().product_vendor, "Open Management Infrastructure");
    // ".invalid" never resolves (RFC 2606).
    let nowhere = CimClient::new("no-such-host.invalid", &options, Some(&cred), Authentication::Basic).unwrap();
    let e = nowhere.identify(None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConnectionFailed, "{}", e.message);
    assert!(e.message.contains("no-such-host.invalid") && e.message.contains("no connection could be made"), "{}", e.message);
}

#[test]
fn a_reply_cut_short_is_a_connection_failure() {
    let body = fixture("identify-response.xml");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\n\r\n", body.len());
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&body.as_bytes()[..body.len() / 2]);
    });
    let e = client(port, SessionOptions::default()).identify(None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConnectionFailed, "{}", e.message);
    assert!(e.message.contains("before its reply was complete"), "{}", e.message);
}

/// Answers after about 1.2 s (four 300 ms pauses).
fn slow() -> Behaviour {
    Arc::new(|_| Some(vec![b"".to_vec(), b"".to_vec(), b"".to_vec(), b"".to_vec(), ok(&fixture("identify-response.xml"))]))
}

#[test]
fn slow_servers_time_out() {
    let server = serve(slow());
    let e = client(server.port, SessionOptions { timeout_ms: 200, ..Default::default() }).identify(None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{}", e.message);
}

#[test]
fn a_waiting_operation_can_be_cancelled_from_another_thread() {
    let server = serve(slow());
    let c = client(server.port, SessionOptions::default());
    let cancel = Arc::new(Cancel::default());
    let canceller = Arc::clone(&cancel);
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        canceller.cancel();
    });
    assert_eq!(c.identify(Some(&cancel)).unwrap_err().kind, ErrorKind::Cancelled);
    // A cancelled token stays cancelled.
    assert_eq!(c.identify(Some(&cancel)).unwrap_err().kind, ErrorKind::Cancelled);
}

#[test]
fn headers_and_body_in_separate_segments_are_read_whole() {
    let body = fixture("identify-response.xml");
    let split: Behaviour = Arc::new(move |_| {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\n\r\n", body.len());
        Some(vec![head.into_bytes(), Vec::new(), body.clone().into_bytes()])
    });
    let server = serve(split);
    let c = client(server.port, SessionOptions::default());
    for _ in 0..3 {
        assert_eq!(c.identify(None).unwrap().product_version, "1.0.8-6");
    }
}

#[test]
fn tls_to_a_plain_http_server_fails_as_tls() {
    let server = serve(always(ok(&fixture("identify-response.xml"))));
    let options = SessionOptions { use_ssl: true, skip_ca_check: true, skip_cn_check: true, ..Default::default() };
    let e = client(server.port, options).identify(None).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::TlsFailed | ErrorKind::ConnectionFailed), "{:?}: {}", e.kind, e.message);
}

/// Peak resident memory of this process so far, in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap()
}

/// Serves one connection: answers each request with `reply`, written in pieces of 64 KiB, and sends how
/// many bytes of it the connection took once the whole reply was written or the client closed.
fn serve_counting(reply: Vec<u8>) -> (u16, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let mut sent = 0;
            for piece in reply.chunks(64 * 1024) {
                if writer.write_all(piece).is_err() {
                    break;
                }
                sent += piece.len();
            }
            let _ = tx.send(sent);
        }
    });
    (port, rx)
}

#[test]
fn a_reply_larger_than_the_envelope_size_asked_for_is_refused_unread() {
    // 60 MB of tiny elements, announced by Content-Length, and the same again chunked (no length).
    let identify = fixture("identify-response.xml");
    let (head, tail) = identify.split_once("</soap:Body>").unwrap();
    let filler = "<a/>".repeat(15_000_000);
    let body = format!("{head}{filler}</soap:Body>{tail}");
    let announced = ok(&body);
    let chunked = {
        let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for piece in body.as_bytes().chunks(64 * 1024) {
            bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            bytes.extend_from_slice(piece);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        bytes
    };
    let whole = body.len();
    drop((filler, body));
    let before = peak_rss_kib();
    for reply in [announced, chunked] {
        let (port, written) = serve_counting(reply);
        let c = client(port, SessionOptions { max_envelope_size_kb: 500, ..Default::default() });
        let e = c.identify(None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadReply, "{}", e.message);
        let limit = 2 * 500 * 1024 + 64 * 1024;
        assert!(e.message.contains(&format!("larger than {limit} bytes")), "{}", e.message);
        assert!(e.message.len() < 300, "{}", e.message);
        // The client stopped reading and let the connection go: the server could hand over no more
        // than what the client read before refusing and the sockets' buffers (a few MiB), far from 60 MB.
        drop(c);
        let sent = written.recv_timeout(Duration::from_secs(120)).expect("the client neither read the reply to its end nor closed the connection");
        eprintln!("the server wrote {sent} of {whole} bytes of the reply");
        assert!(sent < whole / 2, "the server wrote {sent} of {whole} bytes of the reply");
    }
    // Neither reply was read whole (each is 60 MB; the test holds both already).
    let grew = peak_rss_kib().saturating_sub(before);
    assert!(grew < 30 * 1024, "peak resident memory grew by {grew} KiB");
}

#[test]
fn a_reply_within_the_limit_is_read() {
    // Just under twice the envelope size: a server that goes a little past it is still understood.
    let identify = fixture("identify-response.xml");
    let (head, tail) = identify.split_once("</soap:Body>").unwrap();
    let body = format!("{head}{}</soap:Body>{tail}", "<a/>".repeat(200_000));
    let server = serve(always(ok(&body)));
    let c = client(server.port, SessionOptions { max_envelope_size_kb: 500, ..Default::default() });
    assert_eq!(c.identify(None).unwrap().product_vendor, "Open Management Infrastructure");
}
