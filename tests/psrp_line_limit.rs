//! A PSRP server (or an sshd subsystem) that writes without ever ending its line must not grow this
//! process without bound: the transport caps a packet line and breaks the session with a clear error.
//! One test in its own binary, so the peak RSS it reads is its own.

use std::time::{Duration, Instant};

use remote_sessions::error::ErrorKind;
use remote_sessions::transport::{PacketTransport, ProcessTransport};

/// A /proc/self/status figure in KiB (VmRSS, VmHWM).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn an_endless_line_breaks_the_transport_in_bounded_memory() {
    let before = status_kib("VmHWM:");
    let started = Instant::now();
    // 600 MB without a line break, then the server waits (as a hostile peer would).
    let t = ProcessTransport::spawn("sh", &["-c".into(), "head -c 600000000 /dev/zero; sleep 60".into()]).unwrap();
    let outcome = t.receive(Some(Duration::from_secs(120)));
    let elapsed = started.elapsed();
    let grown_mib = status_kib("VmHWM:").saturating_sub(before) / 1024;
    eprintln!("endless line: {:?} after {elapsed:?}, peak RSS grew {grown_mib} MiB", outcome.as_ref().map(|l| l.as_ref().map(String::len)));
    let e = match outcome {
        Err(e) => e,
        Ok(line) => panic!("a line of {:?} bytes came through as a packet", line.map(|l| l.len())),
    };
    assert_eq!(e.kind, ErrorKind::TransportBroken);
    assert!(e.message.contains("64 MiB"), "{}", e.message);
    assert!(grown_mib < 300, "peak RSS grew {grown_mib} MiB");
    // The error is the line cap's (TransportBroken, "64 MiB"): the server's own end, after its sleep,
    // would have been Ok(None), and the receive's deadline a Timeout, so no clock needs checking here.
    // The session is over: the server was stopped and the stream reports its end.
    assert_eq!(t.receive(Some(Duration::from_secs(10))).unwrap(), None);
    assert_eq!(t.process_id(), None);
}
