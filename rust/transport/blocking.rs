//! Runs network futures on the thread that waits for them: [`run`] polls a future and, while it is
//! pending, sleeps in poll(2) on the sockets it is waiting for. The C ABI is blocking, so every
//! operation has a caller thread that would otherwise only wait; letting it do the I/O itself saves
//! the hand-over from a reactor thread to the waiting thread and back that a runtime costs per
//! request (on loopback, more than the request itself).
//!
//! [`Socket`] is the TCP stream for it: non-blocking, it answers "not yet" by telling [`run`] which
//! readiness to wait for. It works only inside [`run`] (elsewhere its reads and writes fail).
//! Wakers woken on the same thread cost nothing; a waker woken from another thread (a [`crate::cancel::Cancel`])
//! interrupts the poll(2) through a pipe the thread keeps for it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::unix::io::{AsRawFd, RawFd};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the future polled by [`run`] on this thread waits for: sockets with poll(2) events, the
/// earliest instant it wants to be polled again, and the sockets to acknowledge before sleeping.
#[derive(Default)]
struct Waiting {
    fds: Vec<libc::pollfd>,
    until: Option<Instant>,
    quick_ack: Vec<RawFd>,
}

thread_local! {
    /// Set while [`run`] polls its future on this thread.
    static RUNNING: Cell<bool> = Cell::new(false);
    /// Counts this thread's returns from poll(2) and starts of [`run`]: a socket's readiness can have
    /// changed only when it moved.
    static EPOCH: Cell<u64> = Cell::new(0);
    static WAITING: RefCell<Waiting> = RefCell::new(Waiting::default());
    /// This thread's waker state, made on first use and kept for the thread's lifetime.
    static SIGNAL: RefCell<Option<Arc<Signal>>> = RefCell::new(None);
}

/// Polls `future` to completion on this thread, sleeping in poll(2) while it waits for sockets.
/// Returns None when `deadline` passes first (the future is dropped unfinished).
/// Errors: the pipe for wake-ups from other threads cannot be made (out of file descriptors),
/// poll(2) fails, or `run` is called from inside a future it runs (it is not reentrant).
pub fn run<F: Future>(future: F, deadline: Instant) -> io::Result<Option<F::Output>> {
    if RUNNING.with(Cell::get) {
        return Err(io::Error::new(io::ErrorKind::Other, "blocking::run was called from inside a future it runs"));
    }
    let signal = signal()?;
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    EPOCH.with(|e| e.set(e.get() + 1));
    loop {
        signal.woken.store(false, Ordering::SeqCst);
        WAITING.with(|w| *w.borrow_mut() = Waiting::default());
        RUNNING.with(|r| r.set(true));
        let polled = future.as_mut().poll(&mut cx);
        RUNNING.with(|r| r.set(false));
        if let Poll::Ready(output) = polled {
            return Ok(Some(output));
        }
        let Waiting { mut fds, until, quick_ack: unacked } = WAITING.with(|w| std::mem::take(&mut *w.borrow_mut()));
        // Acknowledged now, also when the future woke itself and is polled again at once (hyper does,
        // between a reply's head and its body): the server may hold the rest back until it has our ACK.
        unacked.into_iter().for_each(quick_ack);
        // Checked on every round, also when the future woke itself or data trickles in: the deadline
        // bounds the whole wait, not each sleep.
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        if signal.woken.load(Ordering::SeqCst) {
            continue;
        }
        let wake_at = until.map_or(deadline, |u| u.min(deadline));
        fds.push(libc::pollfd { fd: signal.read_end, events: libc::POLLIN, revents: 0 });
        // Ceiling in ms, so the wait never ends just before the instant it waits for.
        let timeout_ms = wake_at.saturating_duration_since(now).as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        signal.sleeping.store(true, Ordering::SeqCst);
        if !signal.woken.load(Ordering::SeqCst) {
            // SAFETY: `fds` is a live, correctly sized array of pollfd.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    signal.sleeping.store(false, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        signal.sleeping.store(false, Ordering::SeqCst);
        EPOCH.with(|e| e.set(e.get() + 1));
        if fds.last().map_or(false, |p| p.revents != 0) {
            signal.drain();
        }
    }
}

/// Asks [`run`] to poll again once `fd` has `events` (POLLIN, POLLOUT); always Pending. Outside
/// [`run`] it fails instead, since nothing would ever poll again.
fn wait_for<T>(fd: RawFd, events: libc::c_short) -> Poll<io::Result<T>> {
    if !RUNNING.with(Cell::get) {
        return Poll::Ready(Err(io::Error::new(io::ErrorKind::Other, "a blocking::Socket was polled outside blocking::run")));
    }
    WAITING.with(|w| {
        let mut w = w.borrow_mut();
        match w.fds.iter_mut().find(|p| p.fd == fd) {
            Some(p) => p.events |= events,
            None => w.fds.push(libc::pollfd { fd, events, revents: 0 }),
        }
    });
    Poll::Pending
}

/// Runs `work`, a call that blocks (such as name resolution), on a helper thread of its own, and
/// waits for its result as futures run by [`run`] wait: [`run`]'s deadline, or a cancellation the
/// caller selects on, ends the wait at once. The helper then finishes on its own and its result is
/// dropped.
/// Errors: the helper thread cannot be started, or `work` panicked.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("rsess-blocking-call".into()).spawn(move || {
        // The waiting side may have given up: then nobody takes the result.
        let _ = sender.send(work());
    })?;
    receiver.await.map_err(|_| io::Error::new(io::ErrorKind::Other, "the blocking call ended without a result"))
}

/// Ready once `instant` has passed; until then asks [`run`] to poll again at that instant.
pub async fn sleep_until(instant: Instant) {
    std::future::poll_fn(|_| {
        if Instant::now() >= instant {
            return Poll::Ready(());
        }
        WAITING.with(|w| {
            let mut w = w.borrow_mut();
            w.until = Some(w.until.map_or(instant, |u| u.min(instant)));
        });
        Poll::Pending
    })
    .await
}

/// A thread's waker: `woken` is set by every wake; a wake from another thread while the thread
/// sleeps in poll(2) also writes a byte to the pipe the poll watches.
struct Signal {
    woken: AtomicBool,
    sleeping: AtomicBool,
    read_end: RawFd,
    write_end: RawFd,
}

fn signal() -> io::Result<Arc<Signal>> {
    SIGNAL.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(signal) = s.as_ref() {
            return Ok(Arc::clone(signal));
        }
        let signal = Arc::new(Signal::new()?);
        *s = Some(Arc::clone(&signal));
        Ok(signal)
    })
}

impl Signal {
    fn new() -> io::Result<Signal> {
        let mut ends = [0 as libc::c_int; 2];
        // SAFETY: `ends` has room for the two descriptors pipe(2) writes.
        if unsafe { libc::pipe(ends.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let signal = Signal { woken: AtomicBool::new(false), sleeping: AtomicBool::new(false), read_end: ends[0], write_end: ends[1] };
        for fd in ends {
            // SAFETY: fcntl on descriptors this function owns.
            let ok = unsafe {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) == 0 && libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK) == 0
            };
            if !ok {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(signal)
    }

    /// Empties the pipe (it is non-blocking).
    fn drain(&self) {
        let mut sink = [0u8; 64];
        // SAFETY: reads into a local buffer of the given size.
        while unsafe { libc::read(self.read_end, sink.as_mut_ptr().cast(), sink.len()) } > 0 {}
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            // SAFETY: writes one byte from a local; a full pipe already holds a wake-up.
            unsafe { libc::write(self.write_end, [1u8].as_ptr().cast(), 1) };
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // SAFETY: the descriptors are this signal's own and closed once.
        unsafe {
            libc::close(self.read_end);
            libc::close(self.write_end);
        }
    }
}

/// A non-blocking TCP stream for futures run by [`run`], with TCP_NODELAY.
///
/// Delayed ACKs: WS-Management servers such as OMI write a reply's headers and body in separate
/// segments; with Nagle on their side the body waits for our ACK of the headers, which Linux delays
/// by ~40 ms. So whenever a read that had received bytes finds no more, [`run`] sets TCP_QUICKACK
/// right after that round of polling (whether the thread then sleeps or polls again at once), which
/// acknowledges what was received at once; the kernel clears the option again, so it is set anew
/// each time, on every connection.
pub struct Socket {
    tcp: std::net::TcpStream,
    /// The [`EPOCH`] (plus one; 0: never) until which a read would find nothing: one found nothing
    /// or emptied the receive queue (a short read), or a request was just written and its reply
    /// cannot be there yet. Until poll(2) has run again, trying would only cost a system call.
    read_blocked: Cell<u64>,
    /// The same for writes.
    write_blocked: Cell<u64>,
    /// Bytes were read since the last write or acknowledgement.
    unacked: Cell<bool>,
}

impl Socket {
    /// Connects to `addr`, giving up at `deadline`.
    /// Errors: the connection is refused or unreachable; TimedOut when the deadline passes first.
    pub async fn connect(addr: SocketAddr, deadline: Instant) -> io::Result<Socket> {
        use socket2::{Domain, Protocol, Type};
        let socket = socket2::Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        socket.set_nodelay(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) || e.kind() == io::ErrorKind::WouldBlock => {
                let fd = socket.as_raw_fd();
                let connected = std::future::poll_fn(|_| if poll_now(fd, libc::POLLOUT) { Poll::Ready(Ok(())) } else { wait_for(fd, libc::POLLOUT) });
                tokio::select! {
                    r = connected => r?,
                    _ = sleep_until(deadline) => return Err(io::Error::new(io::ErrorKind::TimedOut, "the connection attempt timed out")),
                }
                if let Some(e) = socket.take_error()? {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
        Ok(Socket { tcp: socket.into(), read_blocked: Cell::new(0), write_blocked: Cell::new(0), unacked: Cell::new(false) })
    }

    /// Runs `op` (retried while interrupted) unless `blocked` says it would find the socket not
    /// ready; a WouldBlock records that in `blocked` and asks [`run`] to wait for `events`.
    fn io<T>(&self, blocked: &Cell<u64>, events: libc::c_short, mut op: impl FnMut(&std::net::TcpStream) -> io::Result<T>) -> Poll<io::Result<T>> {
        let now = EPOCH.with(Cell::get) + 1;
        if blocked.get() == now {
            return wait_for(self.tcp.as_raw_fd(), events);
        }
        loop {
            match op(&self.tcp) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    blocked.set(now);
                    return wait_for(self.tcp.as_raw_fd(), events);
                }
                done => return Poll::Ready(done),
            }
        }
    }

    fn write_with(&self, op: impl FnMut(&std::net::TcpStream) -> io::Result<usize>) -> Poll<io::Result<usize>> {
        let written = self.io(&self.write_blocked, libc::POLLOUT, op);
        if let Poll::Ready(Ok(n)) = written {
            if n > 0 {
                // What was read is acknowledged with this segment, and no reply can be there yet.
                self.unacked.set(false);
                self.read_blocked.set(EPOCH.with(Cell::get) + 1);
            }
        }
        written
    }
}

/// Sets TCP_QUICKACK on `fd`, which acknowledges at once what it has received.
#[cfg(target_os = "linux")]
fn quick_ack(fd: RawFd) {
    let on: libc::c_int = 1;
    // Best effort: a failure only costs latency.
    // SAFETY: setsockopt with a pointer to a local c_int and its size.
    unsafe {
        libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_QUICKACK, &on as *const libc::c_int as *const libc::c_void, std::mem::size_of::<libc::c_int>() as libc::socklen_t);
    }
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_fd: RawFd) {}

/// Whether `fd` has `events` right now (a zero-timeout poll(2)).
fn poll_now(fd: RawFd, events: libc::c_short) -> bool {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: one pollfd on the stack.
    unsafe { libc::poll(&mut p, 1, 0) > 0 && p.revents != 0 }
}

impl AsyncRead for Socket {
    fn poll_read(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let room = buf.remaining();
        // Received straight into the unfilled part, which need not be zeroed first.
        // SAFETY: recv(2) only writes into the slice, and never de-initializes what is there.
        let read = self.io(&self.read_blocked, libc::POLLIN, |tcp| socket2::SockRef::from(tcp).recv(unsafe { buf.unfilled_mut() }));
        match read {
            Poll::Ready(Ok(n)) => {
                // SAFETY: recv(2) wrote the first `n` bytes.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                if n > 0 && n < room {
                    // A short read emptied the receive queue: what comes next, poll(2) reports.
                    self.read_blocked.set(EPOCH.with(Cell::get) + 1);
                }
                self.unacked.set(self.unacked.get() || n > 0);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.unacked.get() {
                    // Acknowledged only if the thread sleeps to wait for more: after a whole reply
                    // nothing more is awaited, and the next request carries the ACK.
                    let fd = self.tcp.as_raw_fd();
                    WAITING.with(|w| w.borrow_mut().quick_ack.push(fd));
                    self.unacked.set(false);
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write_with(|mut tcp| tcp.write(buf))
    }

    fn poll_write_vectored(self: Pin<&mut Self>, _cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.write_with(|mut tcp| tcp.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.tcp.shutdown(std::net::Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::Duration;

    #[test]
    fn a_future_that_keeps_waking_itself_still_ends_at_the_deadline() {
        // Finishes only after far more rounds than 50 ms allow; at the deadline it must be dropped.
        let mut rounds = 0u64;
        let busy = std::future::poll_fn(move |cx| {
            rounds += 1;
            if rounds == 200_000_000 {
                return Poll::Ready(rounds);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        });
        assert_eq!(run(busy, Instant::now() + Duration::from_millis(50)).unwrap(), None);
    }

    #[test]
    fn a_ready_future_completes_and_a_pending_one_ends_at_the_deadline() {
        assert_eq!(run(async { 7 }, Instant::now() + Duration::from_secs(5)).unwrap(), Some(7));
        let never = std::future::pending::<()>();
        assert_eq!(run(never, Instant::now() + Duration::from_millis(20)).unwrap(), None);
    }

    #[test]
    fn run_inside_run_is_an_error_not_a_hang() {
        let deadline = Instant::now() + Duration::from_secs(60);
        let inner = run(async { run(async {}, deadline).map(|_| ()) }, deadline).unwrap().unwrap();
        assert!(inner.unwrap_err().to_string().contains("inside a future it runs"));
    }

    #[test]
    fn a_wake_from_another_thread_ends_the_sleep() {
        let notify = Arc::new(tokio::sync::Notify::new());
        let waker = Arc::clone(&notify);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            waker.notify_one();
        });
        // Without the pipe the thread would sleep until the deadline and get None.
        assert_eq!(run(async { notify.notified().await; "woken" }, Instant::now() + Duration::from_secs(60)).unwrap(), Some("woken"));
        t.join().unwrap();
    }

    #[test]
    fn sleep_until_wakes_the_thread_at_its_instant() {
        let at = Instant::now() + Duration::from_millis(10);
        assert_eq!(run(async { sleep_until(at).await; 1 }, Instant::now() + Duration::from_secs(60)).unwrap(), Some(1));
        assert!(Instant::now() >= at);
    }

    #[test]
    fn a_call_off_thread_gives_its_result_and_the_deadline_still_ends_the_wait() {
        let deadline = Instant::now() + Duration::from_secs(60);
        assert_eq!(run(off_thread(|| 7), deadline).unwrap().unwrap().unwrap(), 7);
        // A call that blocks past the deadline does not hold the waiting thread: the wait ends with no
        // result while the call still blocks (it is let go only afterwards; had the wait held on to the
        // end of it, the call would have ended on its own after a minute, and run given its result).
        let (release, held) = std::sync::mpsc::channel::<()>();
        let ended = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ended);
        let stuck = off_thread(move || {
            let _ = held.recv_timeout(Duration::from_secs(60));
            flag.store(true, Ordering::SeqCst);
        });
        assert!(run(stuck, Instant::now() + Duration::from_millis(50)).unwrap().is_none());
        assert!(!ended.load(Ordering::SeqCst), "the wait ended only after the blocking call did");
        release.send(()).unwrap();
        let failed = run(off_thread(|| -> u8 { panic!("a failing call") }), deadline).unwrap().unwrap();
        assert!(failed.unwrap_err().to_string().contains("without a result"));
    }

    #[test]
    fn a_socket_talks_inside_run_and_refuses_to_wait_outside() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
            // The connection stays open, silent, until the test is done.
            let _ = finished.recv();
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut socket = run(Socket::connect(addr, deadline), deadline).unwrap().unwrap().unwrap();
        let reply = run(
            async {
                socket.write_all(b"hello").await?;
                let mut buf = [0u8; 5];
                socket.read_exact(&mut buf).await.map(|_| buf)
            },
            deadline,
        );
        assert_eq!(&reply.unwrap().unwrap().unwrap(), b"hello");
        // Nothing more comes: outside run, waiting for it is an error, not a hang.
        let mut buf = [0u8; 1];
        let mut read = pin!(socket.read(&mut buf));
        let waker = Waker::from(signal().unwrap());
        match read.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(Err(e)) => assert!(e.to_string().contains("outside blocking::run"), "{e}"),
            other => panic!("polled outside run: {other:?}"),
        }
        done.send(()).unwrap();
        echo.join().unwrap();
    }

    #[test]
    fn connecting_to_a_closed_port_fails() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let deadline = Instant::now() + Duration::from_secs(60);
        let refused = run(Socket::connect(SocketAddr::from(([127, 0, 0, 1], port)), deadline), deadline).unwrap().unwrap();
        assert_eq!(refused.err().map(|e| e.kind()), Some(io::ErrorKind::ConnectionRefused));
    }
}
