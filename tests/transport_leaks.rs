//! 1000 PSRP transports started and closed in a loop leave no child processes, file descriptors or
//! threads behind.

use std::time::Duration;

use remote_sessions::transport::{PacketTransport, ProcessTransport};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_str().map_or(false, |n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().nth(1) == Some(me.as_str())))
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn a_thousand_transports_leave_nothing_behind() {
    // Warm up the lasting spawner thread first, so it is not counted as a leak.
    ProcessTransport::spawn("cat", &[]).unwrap().close();
    let (fds, threads_before) = (open_fds(), threads());
    for i in 0..1000 {
        let t = ProcessTransport::spawn("cat", &[]).unwrap();
        t.send(&format!("packet {i}")).unwrap();
        assert_eq!(t.receive(Some(Duration::from_secs(10))).unwrap().unwrap(), format!("packet {i}"));
        if i % 2 == 0 {
            t.close();
        } // odd ones are closed by Drop
    }
    // Reader threads end when their pipes close; give the last ones a moment.
    for _ in 0..100 {
        if threads() <= threads_before {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(children(), 0, "child processes left");
    assert!(open_fds() <= fds, "file descriptors left: {} > {fds}", open_fds());
    assert!(threads() <= threads_before, "threads left: {} > {}", threads(), threads_before);
}
