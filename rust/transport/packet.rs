//! What carries a PowerShell session's PSRP packets: one trait for every transport (a local server
//! process, ssh, later a WS-Management shell), so the registry, the C ABI and the module take any of
//! them. A packet is one OutOfProc framing line (MS-PSRP over a process's stdin/stdout,
//! spec/cmdlet-behaviour.md §3.2); a transport moves packets in order and without loss and knows nothing
//! of PSRP.

use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// A bidirectional packet channel to a PowerShell server. Thread-safe: one thread may send while
/// another waits in [`PacketTransport::receive`] and a third closes.
pub trait PacketTransport: Send + Sync {
    /// Sends one packet (`packet` without a line break).
    /// Errors: InvalidArgument for a line break inside; TransportBroken when the server is gone.
    fn send(&self, packet: &str) -> Result<()>;

    /// The next packet, waiting up to `timeout` (None: as long as it takes); None once the server
    /// closed its side (and on every call after). Errors: Timeout when nothing arrived in time;
    /// TransportBroken when the server sent a line longer than [`MAX_PACKET_LINE`] (the connection is
    /// then closed).
    fn receive(&self, timeout: Option<Duration>) -> Result<Option<String>>;

    /// Ends the connection (the server process is killed); a blocked receive then returns None.
    /// Idempotent.
    fn close(&self);

    /// What the server or the connection reported beside the packets (e.g. a process's stderr: ssh's
    /// host-key, authentication and subsystem errors), for error messages and diagnostics.
    fn diagnostics(&self) -> String;

    /// The id of the local process that carries the connection while it runs (pwsh, or ssh), if any.
    fn process_id(&self) -> Option<u32>;

    /// Disconnects from the server, which keeps the session (and what it writes) for
    /// `idle_timeout_ms` milliseconds (None: the session's own idle timeout) so that
    /// [`PacketTransport::reconnect`] can resume it; meanwhile nothing is sent or received.
    /// Errors: NotSupported for transports whose server ends with the connection (a process, ssh);
    /// InvalidState unless connected.
    fn disconnect(&self, idle_timeout_ms: Option<u32>) -> Result<()> {
        let _ = idle_timeout_ms;
        Err(Error::new(ErrorKind::NotSupported, "This transport cannot disconnect: its server ends with the connection"))
    }

    /// Takes up pipeline `pipeline`'s channel, which a previous client of a session connected to again
    /// opened: what the server writes for it from then on, and what it kept, arrives as `Data`.
    /// Errors: NotSupported for transports whose server ends with the connection (a process, ssh);
    /// InvalidState unless connected; the server's refusal.
    fn connect_pipeline(&self, pipeline: uuid::Uuid) -> Result<()> {
        let _ = pipeline;
        Err(Error::new(ErrorKind::NotSupported, "This transport cannot take up a pipeline of another client: its server ends with the connection"))
    }

    /// Makes the pipelines started from now on until the next [`PacketTransport::disconnect`] run on the
    /// server unread (PowerShell's `Invoke-Command -InDisconnectedSession`): their output stays on the
    /// server for whichever client connects later, and when the session disconnects they end on this
    /// side (Completed) without being stopped there. Errors: NotSupported as there.
    fn start_pipelines_disconnected(&self) -> Result<()> {
        Err(Error::new(ErrorKind::NotSupported, "This transport cannot leave a pipeline's output on the server: its server ends with the connection"))
    }

    /// Resumes a session [`PacketTransport::disconnect`] left. Errors: NotSupported as there;
    /// InvalidState unless disconnected.
    fn reconnect(&self) -> Result<()> {
        Err(Error::new(ErrorKind::NotSupported, "This transport cannot reconnect: its server ends with the connection"))
    }
}

/// The longest packet line a transport accepts, in bytes without the line break: 64 MiB. PowerShell
/// fragments its messages (32 KiB by default), so real packets stay far below; a peer that writes more
/// without a line break is broken or hostile, and the session ends instead of this process growing.
pub const MAX_PACKET_LINE: usize = 64 * 1024 * 1024;

/// What [`read_packet_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// A line is in the buffer, without its `\n` (or `\r\n`). The last line of a stream needs no `\n`.
    Line,
    /// The stream ended; the buffer is empty.
    End,
    /// More than the limit arrived without a line break. What was read is discarded (the buffer is
    /// empty) and the stream is not usable any more: where the next packet starts is unknown.
    TooLong,
}

/// Reads one line of at most `max` bytes before its `\n` (a `\r` there counts, and is dropped) from
/// `reader` into `line` (cleared first). Memory held is at most `max` plus the reader's own buffer, whatever the peer sends; the bytes
/// need not be UTF-8. Errors: what reading fails with (an interrupted read is retried).
pub fn read_packet_line<R: std::io::BufRead>(reader: &mut R, max: usize, line: &mut Vec<u8>) -> std::io::Result<LineRead> {
    use std::io::BufRead as _;
    line.clear();
    // One byte past the limit is read at most: a line break there still ends a line of `max` bytes.
    // `read_until` finds the line break with the standard library's word-at-a-time search (a byte
    // loop here was most of this thread's time on large outputs) and retries interrupted reads.
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let n = std::io::Read::take(&mut *reader, limit).read_until(b'\n', line)?;
    if n == 0 {
        return Ok(LineRead::End);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    } else if line.len() > max {
        *line = Vec::new();
        return Ok(LineRead::TooLong);
    }
    Ok(LineRead::Line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::BufReader;

    fn lines(input: &[u8], max: usize, buffer: usize) -> Vec<(LineRead, Vec<u8>)> {
        let mut reader = BufReader::with_capacity(buffer, input);
        let mut out = Vec::new();
        let mut line = Vec::new();
        loop {
            let read = read_packet_line(&mut reader, max, &mut line).unwrap();
            out.push((read, line.clone()));
            if read != LineRead::Line {
                return out;
            }
        }
    }

    #[test]
    fn reads_lines_up_to_the_limit() {
        let got = lines(b"ab\r\ncd\n\nlast", 4, 3);
        let expected: Vec<(LineRead, Vec<u8>)> = vec![
            (LineRead::Line, b"ab".to_vec()),
            (LineRead::Line, b"cd".to_vec()),
            (LineRead::Line, b"".to_vec()),
            (LineRead::Line, b"last".to_vec()),
            (LineRead::End, b"".to_vec()),
        ];
        assert_eq!(got, expected);
        assert_eq!(lines(b"abc\r\n", 4, 2)[0], (LineRead::Line, b"abc".to_vec()));
        assert_eq!(lines(b"abcd\r\n", 4, 2)[0], (LineRead::TooLong, Vec::new()));
        assert_eq!(lines(b"ab\r", 4, 2)[0], (LineRead::Line, b"ab\r".to_vec()));
        assert_eq!(lines(b"abcde\n", 4, 2)[0], (LineRead::TooLong, Vec::new()));
        assert_eq!(lines(b"abcde", 4, 16)[0], (LineRead::TooLong, Vec::new()));
        assert_eq!(lines(b"\xff\xfe\n", 4, 16)[0], (LineRead::Line, b"\xff\xfe".to_vec()));
    }

    /// A reader that hands out `left` bytes of 'x' without a line break and holds none of them, so the
    /// only memory that grows is the line reader's.
    struct Endless {
        left: u64,
    }

    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            self.left -= n as u64;
            Ok(n)
        }
    }

    #[test]
    fn an_endless_line_holds_no_more_than_the_limit() {
        let mut reader = BufReader::with_capacity(64 * 1024, Endless { left: 1 << 40 });
        let mut line = Vec::new();
        assert_eq!(read_packet_line(&mut reader, 1 << 20, &mut line).unwrap(), LineRead::TooLong);
        assert_eq!(line.capacity(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        // Any bytes, any limit, any buffer size: no panic; every line holds at most `max` bytes and no
        // line break; the lines and what they dropped add up to no more than the input; the buffer
        // never holds more than the limit plus one read.
        #[test]
        fn any_bytes_read_in_bounded_memory(
            input in proptest::collection::vec(prop_oneof![4 => any::<u8>(), 1 => Just(b'\n'), 1 => Just(b'\r')], 0..4096),
            max in 0usize..64,
            buffer in 1usize..32,
        ) {
            let mut reader = BufReader::with_capacity(buffer, &input[..]);
            let mut line = Vec::new();
            let mut total = 0usize;
            for _ in 0..=input.len() + 1 {
                let read = read_packet_line(&mut reader, max, &mut line).unwrap();
                prop_assert!(line.capacity() <= (max + buffer).next_power_of_two().max(8) * 2);
                match read {
                    LineRead::Line => {
                        prop_assert!(line.len() <= max);
                        prop_assert!(!line.contains(&b'\n'));
                        total += line.len();
                        prop_assert!(total <= input.len());
                    }
                    LineRead::End | LineRead::TooLong => {
                        prop_assert!(line.is_empty());
                        break;
                    }
                }
            }
            // Without an over-long line, the lines are the input split at '\n' (and "\r\n").
            if input.split(|b| *b == b'\n').all(|l| l.len() <= max) {
                let text: Vec<u8> = lines(&input, max, buffer).into_iter().filter(|(r, _)| *r == LineRead::Line).flat_map(|(_, mut l)| { l.push(b'\n'); l }).collect();
                let last = input.split(|b| *b == b'\n').count() - 1;
                let expected: Vec<u8> = input.split(|b| *b == b'\n').enumerate()
                    .filter(|(i, l)| !(l.is_empty() && *i == last))
                    .flat_map(|(i, l)| {
                        let mut l = l.to_vec();
                        if i < last && l.last() == Some(&b'\r') {
                            l.pop();
                        }
                        l.push(b'\n');
                        l
                    })
                    .collect();
                prop_assert_eq!(text, expected);
            }
        }
    }
}
