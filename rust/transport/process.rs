//! A PSRP server in a child process (`pwsh -s`, or any server executable, later `ssh … -s host
//! powershell`), its stdin and stdout carrying OutOfProc packets one line each (spec §3.2).
//!
//! The child is killed when the transport is closed or dropped and, on Linux, when this process dies
//! (PR_SET_PDEATHSIG), so no server outlives its client. What it writes to stderr is kept (the last
//! 64 KiB) to explain a failure. A line longer than [`MAX_PACKET_LINE`] ends the connection: whatever
//! the server writes, the client holds at most that much of it.

use std::collections::VecDeque;
use std::io::{BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use super::packet::{read_packet_line, LineRead, PacketTransport, MAX_PACKET_LINE};
use crate::error::{Error, ErrorKind, Result};

/// Most stderr text kept, in bytes.
const STDERR_KEPT: usize = 64 * 1024;

/// Spawns `command` from one thread that lives as long as the process. PR_SET_PDEATHSIG fires when the
/// *thread* that forked the child ends, and callers (thread-pool threads of a PowerShell host) come and
/// go; forking from a lasting thread makes the signal mean "the client process died".
fn spawn_from_lasting_thread(command: Command) -> std::io::Result<Child> {
    type Request = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: once_cell::sync::Lazy<Mutex<mpsc::Sender<Request>>> = once_cell::sync::Lazy::new(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("rsess-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("the spawner thread starts");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    lock(&SPAWNER)
        .send((command, reply_tx))
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::Other, "the spawner thread is gone"))?;
    reply_rx.recv().map_err(|_| std::io::Error::new(std::io::ErrorKind::Other, "the spawner thread is gone"))?
}

/// A line from the child's stdout, the end of it, or a line longer than [`MAX_PACKET_LINE`].
enum Received {
    Line(String),
    End,
    TooLong,
}

/// Runs a write to a server's pipe so that a server that is gone gives EPIPE, not SIGPIPE: C programs
/// calling this library keep the default SIGPIPE action, which would end them. SIGPIPE is blocked on
/// this thread during the write, and one the write raised is taken off the pending set (POSIX
/// sigpending and sigwait, so also on macOS).
#[cfg(unix)]
fn without_sigpipe<T>(write: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    // SAFETY: signal-set calls on local sets, and the calling thread's own mask, restored before return.
    unsafe {
        let mut pipe_only: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe_only);
        libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut old);
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        let outcome = write();
        if !was_pending {
            libc::sigpending(&mut pending);
            if libc::sigismember(&pending, libc::SIGPIPE) == 1 {
                // Pending, so this returns at once.
                let mut taken = 0;
                libc::sigwait(&pipe_only, &mut taken);
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        outcome
    }
}

/// A running PSRP server process. Thread-safe: one thread may send while another receives.
pub struct ProcessTransport {
    program: String,
    child: Mutex<Option<Child>>,
    stdin: Mutex<Option<ChildStdin>>,
    lines: Mutex<Receiver<Received>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    /// Signalled when the server's stderr reached its end.
    stderr_done: Mutex<Receiver<()>>,
    ended: Mutex<bool>,
}

/// How long the end of the output waits for the rest of stderr, which explains the end.
const STDERR_GRACE: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ProcessTransport {
    /// Starts `program` with `args`, stdin/stdout piped for packets and stderr captured.
    /// Errors: NotFound when the program does not exist, Io when it cannot be started.
    pub fn spawn(program: &str, args: &[String]) -> Result<ProcessTransport> {
        let mut command = Command::new(program);
        command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            let client = std::process::id();
            // SAFETY: prctl and getppid are async-signal-safe and touch no memory of the parent.
            unsafe {
                command.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // A client that died between fork and prctl sent no signal: the child was
                    // already re-parented, so it must not start. (No allocation here, after fork.)
                    if libc::getppid() as u32 != client {
                        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                    }
                    Ok(())
                });
            }
        }
        let mut child = spawn_from_lasting_thread(command).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound { ErrorKind::NotFound } else { ErrorKind::Io };
            Error::new(kind, format!("Cannot start the PowerShell server '{program}': {e}"))
        })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stdin = child.stdin.take();

        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("rsess-transport-out".into())
            .spawn(move || {
                let mut reader = BufReader::with_capacity(64 * 1024, stdout);
                let mut line = Vec::new();
                loop {
                    let received = match read_packet_line(&mut reader, MAX_PACKET_LINE, &mut line) {
                        Ok(LineRead::Line) => Received::Line(match String::from_utf8(std::mem::take(&mut line)) {
                            Ok(text) => text,
                            // Not UTF-8: the engine's XML reader says what is wrong with it.
                            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                        }),
                        Ok(LineRead::TooLong) => {
                            // Stop reading: the server's next write fails and nothing more is held.
                            let _ = tx.send(Received::TooLong);
                            return;
                        }
                        Ok(LineRead::End) | Err(_) => break,
                    };
                    if tx.send(received).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Received::End);
            })
            .map_err(|e| Error::new(ErrorKind::Io, format!("Cannot start a reader thread: {e}")))?;

        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let sink = Arc::clone(&kept);
        let (done_tx, done_rx) = mpsc::channel();
        thread::Builder::new()
            .name("rsess-transport-err".into())
            .spawn(move || {
                let mut stderr = stderr;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut kept = lock(&sink);
                    kept.extend(&buf[..n]);
                    let excess = kept.len().saturating_sub(STDERR_KEPT);
                    kept.drain(..excess);
                }
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::new(ErrorKind::Io, format!("Cannot start a reader thread: {e}")))?;

        Ok(ProcessTransport {
            program: program.to_string(),
            child: Mutex::new(Some(child)),
            stdin: Mutex::new(stdin),
            lines: Mutex::new(rx),
            stderr: kept,
            stderr_done: Mutex::new(done_rx),
            ended: Mutex::new(false),
        })
    }

    fn broken(&self, why: &str) -> Error {
        let stderr = self.diagnostics();
        let detail = stderr.trim();
        let mut message = format!("The PowerShell server process '{}' is gone ({why})", self.program);
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        Error::new(ErrorKind::TransportBroken, message)
    }
}

impl PacketTransport for ProcessTransport {
    /// Sends one packet: `line` (which must not contain a line break) and a newline.
    /// Errors: InvalidArgument for a line break inside; TransportBroken when the server is gone.
    fn send(&self, line: &str) -> Result<()> {
        if line.contains(['\n', '\r']) {
            return Err(Error::new(ErrorKind::InvalidArgument, "A packet must not contain a line break"));
        }
        let mut stdin = lock(&self.stdin);
        let pipe = stdin.as_mut().ok_or_else(|| self.broken("the transport is closed"))?;
        let mut data = Vec::with_capacity(line.len() + 1);
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        without_sigpipe(|| pipe.write_all(&data).and_then(|_| pipe.flush())).map_err(|e| self.broken(&e.to_string()))
    }

    /// The next packet; `None` once the server closed its output (and on every call after). At the end
    /// it waits briefly for the rest of the server's stderr, so [`PacketTransport::diagnostics`] can explain it.
    /// `timeout` None waits as long as it takes.
    /// Errors: Timeout when nothing arrived in time; TransportBroken (once; the server is then killed and
    /// later calls return None) when the server wrote more than [`MAX_PACKET_LINE`] bytes without a
    /// line break.
    fn receive(&self, timeout: Option<Duration>) -> Result<Option<String>> {
        if *lock(&self.ended) {
            return Ok(None);
        }
        let lines = lock(&self.lines);
        let next = match timeout {
            None => lines.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) => lines.recv_timeout(t),
        };
        match next {
            Ok(Received::Line(line)) => Ok(Some(line)),
            Ok(Received::TooLong) => {
                // The stream cannot be read on (where the next packet starts is unknown): the session
                // is over. Later receives report the end.
                *lock(&self.ended) = true;
                drop(lines);
                self.close();
                Err(Error::new(
                    ErrorKind::TransportBroken,
                    format!(
                        "The PowerShell server '{}' sent a line longer than {} MiB without a line break, which is no \
                         PSRP packet; the connection was closed and the session is broken",
                        self.program,
                        MAX_PACKET_LINE / (1024 * 1024)
                    ),
                ))
            }
            Ok(Received::End) | Err(RecvTimeoutError::Disconnected) => {
                *lock(&self.ended) = true;
                let _ = lock(&self.stderr_done).recv_timeout(STDERR_GRACE);
                Ok(None)
            }
            Err(RecvTimeoutError::Timeout) => Err(Error::new(
                ErrorKind::Timeout,
                format!("The PowerShell server '{}' sent nothing for {} ms", self.program, timeout.unwrap_or_default().as_millis()),
            )),
        }
    }

    /// What the server wrote to stderr so far (the last 64 KiB), lossily decoded.
    fn diagnostics(&self) -> String {
        let kept = lock(&self.stderr);
        let (a, b) = kept.as_slices();
        String::from_utf8_lossy(&[a, b].concat()).into_owned()
    }

    /// Closes stdin and kills the server; receiving then reports the end. Idempotent.
    fn close(&self) {
        lock(&self.stdin).take();
        if let Some(mut child) = lock(&self.child).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id, while it runs.
    fn process_id(&self) -> Option<u32> {
        lock(&self.child).as_ref().map(Child::id)
    }
}

impl Drop for ProcessTransport {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_both_ways_in_order() {
        let t = ProcessTransport::spawn("cat", &[]).unwrap();
        for i in 0..1000 {
            t.send(&format!("<Data Stream='Default'>{i}</Data>")).unwrap();
        }
        for i in 0..1000 {
            assert_eq!(t.receive(Some(Duration::from_secs(10))).unwrap().unwrap(), format!("<Data Stream='Default'>{i}</Data>"));
        }
        assert_eq!(t.receive(Some(Duration::from_millis(50))).unwrap_err().kind, ErrorKind::Timeout);
        assert_eq!(t.send("a\nb").unwrap_err().kind, ErrorKind::InvalidArgument);
        t.close();
        assert_eq!(t.receive(None).unwrap(), None);
        assert_eq!(t.send("x").unwrap_err().kind, ErrorKind::TransportBroken);
    }

    #[test]
    fn large_lines_arrive_whole() {
        let t = ProcessTransport::spawn("cat", &[]).unwrap();
        let big = "x".repeat(4 * 1024 * 1024);
        t.send(&big).unwrap();
        assert_eq!(t.receive(None).unwrap().unwrap().len(), big.len());
    }

    #[test]
    fn an_endless_line_ends_the_connection_with_a_clear_error() {
        let t = ProcessTransport::spawn("sh", &["-c".into(), "echo first; exec cat /dev/zero".into()]).unwrap();
        assert_eq!(t.receive(None).unwrap().as_deref(), Some("first"));
        let e = t.receive(Some(Duration::from_secs(60))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TransportBroken);
        assert!(e.message.contains("longer than 64 MiB"), "{}", e.message);
        assert_eq!(t.receive(None).unwrap(), None);
        assert_eq!(t.process_id(), None);
        assert_eq!(t.send("x").unwrap_err().kind, ErrorKind::TransportBroken);
    }

    #[test]
    fn a_dead_server_ends_the_stream_and_explains_itself() {
        let t = ProcessTransport::spawn("sh", &["-c".into(), "echo started; echo 'no subsystem' >&2; exit 3".into()]).unwrap();
        assert_eq!(t.receive(None).unwrap().as_deref(), Some("started"));
        assert_eq!(t.receive(None).unwrap(), None);
        assert!(t.diagnostics().contains("no subsystem"));
        let e = ProcessTransport::spawn("/nonexistent/pwsh", &[]).err().unwrap();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }
}
