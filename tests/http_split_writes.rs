//! Delayed ACKs against a server that writes a reply's head and body apart with Nagle's algorithm on,
//! as OMI does: the kernel holds the body back until the client has acknowledged the head, and a Linux
//! client in interactive mode delays that ACK by ~40 ms unless it asks for TCP_QUICKACK. Every warm
//! request on a pooled connection must be acknowledged at once, not only the first ones of a
//! connection (which Linux acknowledges quickly by itself).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use remote_sessions::transport::http::{self, Target, TlsPolicy};

const SOAP: &str = "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>";

/// Serves keep-alive connections: each reply's head in one write, its body in another, Nagle on.
fn serve_split() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                stream.set_nodelay(false).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let reply = "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>answer</s:Body></s:Envelope>";
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {}\r\n\r\n", reply.len());
                    if writer.write_all(head.as_bytes()).is_err() || writer.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn warm_requests_do_not_wait_for_the_delayed_ack_timer() {
    let port = serve_split();
    let target = Target::new(format!("http://127.0.0.1:{port}/wsman").parse().unwrap(), TlsPolicy::default(), None).unwrap();
    let post = || http::post(&target, SOAP.to_string(), Duration::from_secs(20), None).unwrap();
    // Past the first requests, which Linux acknowledges at once by itself on a new connection.
    for _ in 0..20 {
        assert_eq!(post().status, 200);
    }
    // A request whose body waited for the delayed-ACK timer takes 40 ms or more; one that did not,
    // well under a millisecond on loopback. The bound is generous for a loaded machine: before the
    // fix nearly every one of them waited.
    let stalled = (0..30)
        .filter(|_| {
            let started = Instant::now();
            let reply = post();
            assert!(String::from_utf8_lossy(&reply.body).contains("answer"));
            started.elapsed() >= Duration::from_millis(35)
        })
        .count();
    assert!(stalled <= 5, "{stalled} of 30 warm requests waited for the delayed ACK");
}
