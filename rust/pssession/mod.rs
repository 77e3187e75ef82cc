//! PSSessions that this library opens itself, for C and C# callers with no PowerShell in their process:
//! a runspace pool ([`crate::psrp::pool`]) on a PowerShell server reached over a packet transport
//! (a local `pwsh -s`, ssh's `powershell` subsystem), with OutOfProc's framing
//! ([`crate::psrp::outofproc`]) and flow control: one `Data` per channel until its `DataAck`, a pipeline's
//! channel opened with `Command` and closed with `Close`.
//!
//! One reader thread per session reads the server's lines and feeds the pool; callers block on their
//! pipeline's items. Thread-safe: a session and its pipelines may be used from any threads.

pub mod reconstruct;
pub mod winrs;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};
use crate::psrp::clixml::Value;
use crate::psrp::outofproc::{self, ServerPacket};
use crate::psrp::pool::{ErrorInfo, Event, PipelineState, PoolState, RunspacePool, Stream};
use crate::psrp::request::Command;
use crate::transport::PacketTransport;

/// What a pipeline wrote, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An output object.
    Output(Value),
    /// A record of another stream (error, warning, verbose, debug, information, progress).
    Record(Stream, Value),
}

/// How a pipeline ended, with the error record of a Failed or Stopped one.
pub type Ending = (PipelineState, Option<Value>);

/// The most fragment bytes in one `Data` line: PowerShell's own fragment size (32 KiB), so that a line
/// (in base64, under 44 KiB) fits a pipe's buffer and sending it while holding the session's lock
/// cannot wait long on a server that is itself writing to us.
const DATA_BUDGET: usize = 32 * 1024;

#[derive(Default)]
struct PipelineQueue {
    items: VecDeque<Item>,
    ending: Option<Ending>,
}

struct Inner {
    pool: RunspacePool,
    /// Payloads taken from the pool (prompt-response flag, fragment bytes), waiting for their channel
    /// to be free; consecutive payloads of a channel travel together up to [`DATA_BUDGET`].
    waiting: HashMap<Uuid, VecDeque<(bool, Vec<u8>)>>,
    unacked: HashSet<Uuid>,
    /// Channels the server has opened (the pool's always), and those asked for.
    open: HashSet<Uuid>,
    asked: HashSet<Uuid>,
    pipelines: HashMap<Uuid, PipelineQueue>,
    /// CloseAcks received.
    closed: HashSet<Uuid>,
    /// The server's APPLICATION_PRIVATE_DATA.
    private_data: Option<Value>,
    /// Why the session can no longer be used.
    broken: Option<Error>,
}

struct Shared {
    transport: Arc<dyn PacketTransport>,
    inner: Mutex<Inner>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends what may go now: the pool's next payloads, each when its channel is open and free.
    fn flush(&self, inner: &mut Inner) -> Result<()> {
        while let Some(p) = inner.pool.data_to_send(Some(DATA_BUDGET))? {
            // The pool's messages queued together go in one packet (SESSION_CAPABILITY with
            // INIT_RUNSPACEPOOL or CONNECT_RUNSPACEPOOL: a WinRS transport must carry both in one Create
            // or Connect). A pipeline's go one by one: pwsh's server waits forever for input that came
            // in the packet of its CREATE_PIPELINE.
            let queue = inner.waiting.entry(p.channel).or_default();
            match queue.back_mut() {
                Some((pr, bytes)) if p.channel.is_nil() && *pr == p.prompt_response && bytes.len() + p.bytes.len() <= DATA_BUDGET => bytes.extend_from_slice(&p.bytes),
                _ => queue.push_back((p.prompt_response, p.bytes)),
            }
        }
        let ready: Vec<Uuid> = inner.waiting.iter().filter(|(c, lines)| !lines.is_empty() && !inner.unacked.contains(c)).map(|(c, _)| *c).collect();
        for channel in ready {
            if !inner.open.contains(&channel) {
                if inner.asked.insert(channel) {
                    self.transport.send(&outofproc::command(channel))?;
                }
                continue;
            }
            if let Some((prompt_response, bytes)) = inner.waiting.get_mut(&channel).and_then(VecDeque::pop_front) {
                self.transport.send(&outofproc::data(channel, prompt_response, &bytes))?;
                inner.unacked.insert(channel);
            }
        }
        Ok(())
    }

    /// Waits until `done` holds or the session breaks, up to `timeout` (None: as long as it takes).
    fn wait<T>(&self, timeout: Option<Duration>, what: &str, mut done: impl FnMut(&mut Inner) -> Option<T>) -> Result<T> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut inner = self.lock();
        loop {
            if let Some(v) = done(&mut inner) {
                return Ok(v);
            }
            if let Some(e) = &inner.broken {
                return Err(e.clone());
            }
            inner = match deadline {
                None => self.changed.wait(inner).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::new(ErrorKind::Timeout, format!("The PowerShell server did not {what} within {} ms", timeout.unwrap_or_default().as_millis())));
                    }
                    self.changed.wait_timeout(inner, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }

    /// The reader thread: the server's lines into the pool, events to their queues.
    fn read(self: Arc<Self>) {
        loop {
            let line = self.transport.receive(None);
            let mut inner = self.lock();
            let outcome = match line {
                Ok(Some(line)) => self.on_line(&mut inner, &line),
                Ok(None) => Err(Error::new(ErrorKind::TransportBroken, format!("The PowerShell server closed the connection. {}", self.transport.diagnostics()).trim_end().to_string())),
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                // Pipelines still running now fail their callers with this error (see `wait`).
                inner.broken.get_or_insert(e);
                self.changed.notify_all();
                return;
            }
            self.changed.notify_all();
        }
    }

    fn on_line(&self, inner: &mut Inner, line: &str) -> Result<()> {
        match outofproc::parse(line)? {
            ServerPacket::Data(channel, bytes) => inner.pool.receive_data(channel, &bytes)?,
            ServerPacket::DataAck(channel) => {
                inner.unacked.remove(&channel);
            }
            ServerPacket::CommandAck(channel) => {
                inner.open.insert(channel);
            }
            ServerPacket::SignalAck(_) => {}
            ServerPacket::CloseAck(channel) => {
                inner.closed.insert(channel);
                // A pipeline taken up from another client ends with its channel when that client
                // received its PIPELINE_STATE before disconnecting: the server said it is done.
                if let Some(q) = inner.pipelines.get_mut(&channel) {
                    q.ending.get_or_insert((PipelineState::Completed, None));
                }
            }
        }
        // What a pipeline that was dropped (its queue removed) still writes is let go.
        while let Some(event) = inner.pool.next_event() {
            match event {
                Event::Output(p, v) => {
                    if let Some(q) = inner.pipelines.get_mut(&p) {
                        q.items.push_back(Item::Output(v));
                    }
                }
                Event::Record(p, s, v) => {
                    if let Some(q) = inner.pipelines.get_mut(&p) {
                        q.items.push_back(Item::Record(s, v));
                    }
                }
                Event::PipelineState(p, s, reason) if s.is_finished() => {
                    if let Some(q) = inner.pipelines.get_mut(&p) {
                        q.ending = Some((s, reason));
                    }
                }
                Event::ApplicationPrivateData(v) => inner.private_data = Some(v),
                // This client declares no host; a server that calls one anyway gets an exception
                // back for each call that waits for an answer, so its pipeline does not wait forever.
                Event::HostCall(p, call) => {
                    inner.pool.reject_host_call(p, &call)?;
                }
                Event::PoolState(PoolState::Broken, reason) => {
                    let why = reason.map(|r| format!(": {}", ErrorInfo::from_record(&r).message)).unwrap_or_default();
                    inner.broken.get_or_insert(Error::new(ErrorKind::TransportBroken, format!("The PowerShell server broke the runspace pool{why}")));
                }
                _ => {}
            }
        }
        self.flush(inner)
    }
}

/// A runspace pool on a PowerShell server, opened by [`ClientSession::open`].
pub struct ClientSession {
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
}

impl ClientSession {
    /// Opens a runspace pool of one runspace (as a PSSession has) over `transport`, waiting up to
    /// `timeout` (None: as long as it takes) for the server to report it Opened.
    /// Errors: Timeout; TransportBroken when the server ends or breaks the pool (the message carries
    /// the server's diagnostics, e.g. ssh's); BadReply for what is not PSRP.
    pub fn open(transport: Arc<dyn PacketTransport>, timeout: Option<Duration>) -> Result<ClientSession> {
        let mut pool = RunspacePool::new(Uuid::new_v4());
        pool.open(1, 1, None)?;
        ClientSession::start(transport, pool, timeout, "open the runspace pool")
    }

    /// Connects to the runspace pool `pool_id` that another client opened on the server and then
    /// disconnected (MS-PSRP 3.1.4.7: SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL; over WinRS a
    /// Connect, see [`winrs::WinrsTransport::connect_to`]), waiting up to `timeout` for it to open.
    /// Errors: as [`ClientSession::open`]; the server's refusal (e.g. the pool is connected elsewhere).
    pub fn connect(transport: Arc<dyn PacketTransport>, pool_id: Uuid, timeout: Option<Duration>) -> Result<ClientSession> {
        let mut pool = RunspacePool::new(pool_id);
        pool.connect(None, None)?;
        ClientSession::start(transport, pool, timeout, "connect to the runspace pool")
    }

    fn start(transport: Arc<dyn PacketTransport>, pool: RunspacePool, timeout: Option<Duration>, what: &str) -> Result<ClientSession> {
        let inner = Inner {
            pool,
            waiting: HashMap::new(),
            unacked: HashSet::new(),
            open: HashSet::from([Uuid::nil()]),
            asked: HashSet::new(),
            pipelines: HashMap::new(),
            closed: HashSet::new(),
            private_data: None,
            broken: None,
        };
        let shared = Arc::new(Shared { transport, inner: Mutex::new(inner), changed: Condvar::new() });
        let reader = {
            let s = Arc::clone(&shared);
            std::thread::Builder::new().name("rsess-psrp-reader".into()).spawn(move || s.read()).map_err(|e| Error::new(ErrorKind::Io, format!("Cannot start a reader thread: {e}")))?
        };
        let session = ClientSession { shared, reader: Some(reader) };
        session.shared.flush(&mut session.shared.lock())?;
        let opened = session.shared.wait(timeout, what, |i| (i.pool.state() == PoolState::Opened).then_some(()));
        if let Err(e) = opened {
            session.shared.transport.close();
            return Err(e);
        }
        Ok(session)
    }

    /// The runspace pool's id (for a WinRS session, its shell's ShellId).
    pub fn pool_id(&self) -> Uuid {
        self.shared.lock().pool.id()
    }

    /// Takes up a pipeline that ran on while its session was disconnected ([`ClientSession::connect`]
    /// to the pool first): its output from then on, and what the server kept, come to the returned
    /// [`Pipeline`]. Errors: InvalidState when the pool is not open or the pipeline is taken up
    /// already; NotSupported for a transport that cannot reconnect pipelines (process, ssh); the
    /// server's refusal (no such command).
    pub fn attach(&self, pipeline: Uuid) -> Result<Pipeline> {
        {
            let mut inner = self.shared.lock();
            if let Some(e) = &inner.broken {
                return Err(e.clone());
            }
            if inner.pool.state() != PoolState::Opened || inner.pipelines.contains_key(&pipeline) {
                return Err(Error::new(ErrorKind::InvalidState, format!("Pipeline {pipeline} cannot be taken up: the pool is not open or the pipeline is taken up already")));
            }
            inner.pipelines.insert(pipeline, PipelineQueue::default());
            // Its channel is open, as one this client asked for: dropping the pipeline closes it.
            inner.open.insert(pipeline);
            inner.asked.insert(pipeline);
        }
        if let Err(e) = self.shared.transport.connect_pipeline(pipeline) {
            let mut inner = self.shared.lock();
            inner.pipelines.remove(&pipeline);
            inner.open.remove(&pipeline);
            inner.asked.remove(&pipeline);
            return Err(e);
        }
        Ok(Pipeline { shared: Arc::clone(&self.shared), id: pipeline })
    }

    /// Whether the server or the connection failed, or the session was closed: every call then fails.
    pub fn is_broken(&self) -> bool {
        self.shared.lock().broken.is_some()
    }

    /// The server's APPLICATION_PRIVATE_DATA (its `PSVersionTable` under `ApplicationPrivateData`).
    pub fn private_data(&self) -> Option<Value> {
        self.shared.lock().private_data.clone()
    }

    /// Starts a pipeline of `commands` (each piped into the next) with `input` piped into the first
    /// (None: no input). Errors: InvalidState when the pool is not open; TransportBroken.
    pub fn invoke(&self, commands: &[Command], input: Option<&[Value]>) -> Result<Pipeline> {
        let mut inner = self.shared.lock();
        if let Some(e) = &inner.broken {
            return Err(e.clone());
        }
        let id = inner.pool.create_pipeline(commands, input.is_some())?;
        inner.pipelines.insert(id, PipelineQueue::default());
        if let Some(items) = input {
            for item in items {
                inner.pool.send_input(id, item)?;
            }
            inner.pool.end_input(id)?;
        }
        if let Err(e) = self.shared.flush(&mut inner) {
            // A transport that refuses a new pipeline now (a disconnected WinRS shell) leaves nothing
            // of it waiting to be sent later.
            inner.pipelines.remove(&id);
            inner.waiting.remove(&id);
            inner.asked.remove(&id);
            return Err(e);
        }
        Ok(Pipeline { shared: Arc::clone(&self.shared), id })
    }

    /// Closes the pool (OutOfProc `Close` for the session), waiting up to `timeout` for the server's
    /// answer, then ends the transport. Idempotent.
    pub fn close(&mut self, timeout: Duration) {
        let needs_close = self.shared.lock().broken.is_none();
        if needs_close && self.shared.transport.send(&outofproc::close(Uuid::nil())).is_ok() {
            let _ = self.shared.wait(Some(timeout), "close the session", |i| i.closed.contains(&Uuid::nil()).then_some(()));
        }
        self.shared.lock().broken.get_or_insert(Error::new(ErrorKind::InvalidState, "The PowerShell session is closed"));
        self.shared.transport.close();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for ClientSession {
    fn drop(&mut self) {
        self.close(Duration::from_secs(5));
    }
}

/// A pipeline started by [`ClientSession::invoke`]. Dropping it closes its channel.
pub struct Pipeline {
    shared: Arc<Shared>,
    id: Uuid,
}

impl Pipeline {
    /// The pipeline's id (PID).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The next item the pipeline wrote, waiting up to `timeout` (None: as long as it takes); None once
    /// it has ended and every item was taken (then see [`Pipeline::ending`]).
    /// Errors: Timeout; TransportBroken when the server went away before the pipeline ended.
    pub fn next(&self, timeout: Option<Duration>) -> Result<Option<Item>> {
        let id = self.id;
        self.shared.wait(timeout, "write more", |inner| {
            let q = inner.pipelines.get_mut(&id)?;
            match q.items.pop_front() {
                Some(item) => Some(Some(item)),
                None if q.ending.is_some() => Some(None),
                None => None,
            }
        })
    }

    /// How the pipeline ended; None while it runs.
    pub fn ending(&self) -> Option<Ending> {
        self.shared.lock().pipelines.get(&self.id).and_then(|q| q.ending.clone())
    }

    /// Asks the server to stop the pipeline (OutOfProc `Signal`); it then ends Stopped.
    /// Errors: TransportBroken.
    pub fn stop(&self) -> Result<()> {
        self.shared.transport.send(&outofproc::signal(self.id))
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.pipelines.remove(&self.id);
        if inner.broken.is_none() && inner.asked.contains(&self.id) {
            let _ = self.shared.transport.send(&outofproc::close(self.id));
        }
    }
}
