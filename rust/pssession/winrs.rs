//! A PowerShell session's packets over a WinRS shell (MS-PSRP 3.1.5.3 over MS-WSMV 3.1.4): a
//! [`PacketTransport`] whose client side speaks OutOfProc packets, like the process and ssh
//! transports, and whose wire is WS-Management. So PowerShell's engine (through the module's custom
//! connection) and this library's own client ([`super::ClientSession`]) run over WS-Management unchanged.
//!
//! How each client packet travels:
//! - the pool's first `Data` (SESSION_CAPABILITY, INIT_RUNSPACEPOOL) is the shell's `creationXml`
//!   (Create, with the pool's id as ShellId, as PowerShell names its shells); later pool `Data` is a
//!   Send to the shell;
//! - `Command` is answered at once; the pipeline's first `Data` (CREATE_PIPELINE) is the WinRS
//!   Command's argument, with the pipeline's id as CommandId; later `Data` is a Send to the command;
//! - `Signal` is the Signal `powershell/signal/crtl_c`; a pipeline's `Close` the Signal `terminate`;
//!   the pool's `Close` the Delete of the shell;
//! - each is acknowledged (`DataAck`, `CommandAck`, …) once the server answered it.
//!
//! What the server writes comes from Receive loops, one for the shell and one per running command,
//! each a thread that long-polls within the operation timeout (a timed-out Receive is polled again);
//! their `stdout` becomes `Data` packets. [`PacketTransport::disconnect`] stops the loops and
//! disconnects the shell (the server keeps it, and buffers its output, for the idle timeout);
//! [`PacketTransport::reconnect`] resumes them, so no output is lost.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::cancel::Cancel;
use crate::error::{Error, ErrorKind, Result};
use crate::psrp::fragment::{first_runspace_pool, Outgoing};
use crate::psrp::message::{Destination, Message, MessageType};
use crate::psrp::outofproc::{self, Ack, ClientPacket};
use crate::psrp::pool::RunspacePool;
use crate::transport::PacketTransport;
use crate::wsman::endpoint::Endpoint;
use crate::wsman::envelope::Request;
use crate::wsman::shell::{self, SendStream, Shell, ShellCreate, ShellError, ShellFaultKind, ShellResult};

/// The PSRP protocol version announced in the `protocolversion` option of Create (MS-PSRP
/// 3.1.5.3.2), as PowerShell 7 announces it.
pub const PROTOCOL_VERSION: &str = "2.3";

/// How long [`PacketTransport::disconnect`] lets the Receive loops finish the requests they are in
/// (the server ends them when the shell disconnects) before it cancels them.
const LOOPS_GRACE: Duration = Duration::from_secs(5);

/// How many times in a row a Receive whose connection dropped is asked again before the session breaks
/// (each retry may first meet another pooled connection that was cut too), waiting 100 ms more each time.
const RECEIVE_RETRIES: u32 = 5;

/// Longest wait for the Delete of a shell when the transport is closed without the pool's `Close`.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// What a new shell is created with, besides the endpoint.
#[derive(Debug, Clone, Default)]
pub struct WinrsSettings {
    /// The session configuration (`Microsoft.PowerShell`), or a whole resource URI.
    pub configuration_name: String,
    /// The shell's `Name` (the PSSession's name, which `Get-PSSession -ComputerName` shows later).
    pub shell_name: Option<String>,
    /// `rsp:IdleTimeOut` of the shell, in milliseconds; None: the server's default.
    pub idle_timeout_ms: Option<u32>,
    /// `WINRS_NOPROFILE`: do not load the user's profile on the server.
    pub no_profile: bool,
}

/// Where the shell is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No Create yet.
    New,
    /// The shell exists and its Receive loops run.
    Open,
    /// The client disconnected; the shell waits on the server.
    Disconnected,
    /// Deleted, or the transport closed or broke.
    Closed,
}

/// A pipeline's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// `Command` arrived; the WinRS Command waits for the first `Data`.
    Opened,
    /// The WinRS Command exists; `done` once its Receive said Done.
    Running { done: bool },
}

struct State {
    phase: Phase,
    incoming: VecDeque<String>,
    /// Why the transport broke, told once by `receive`.
    failure: Option<Error>,
    /// Every failure seen, for `diagnostics`.
    history: String,
    channels: HashMap<Uuid, Channel>,
    /// Bumped by disconnect and close: a Receive loop of an older generation ends.
    generation: u64,
    /// Cancels the Receive requests of the current generation.
    cancel: Arc<Cancel>,
    /// Receive loops running.
    loops: usize,
    /// Client packets sent while disconnected, for channels that exist: carried after reconnecting.
    held: VecDeque<(ClientPacket, bool)>,
    /// Pipelines taken up from another client ([`PacketTransport::connect_pipeline`]).
    taken_up: std::collections::HashSet<Uuid>,
    /// Whether new pipelines run unread until the next disconnect
    /// ([`PacketTransport::start_pipelines_disconnected`]), and those that do.
    leave_output: bool,
    unread: std::collections::HashSet<Uuid>,
}

struct Shared {
    endpoint: Endpoint,
    settings: WinrsSettings,
    /// The shell to Connect to instead of creating one ([`WinrsTransport::connect_to`]).
    existing: Option<String>,
    shell: Mutex<Shell>,
    state: Mutex<State>,
    changed: Condvar,
}

/// A PowerShell session's packet transport over a WinRS shell. Thread-safe: one thread may send while
/// another waits in `receive` and a third disconnects or closes.
pub struct WinrsTransport {
    shared: Arc<Shared>,
}

impl WinrsTransport {
    /// A transport to a new shell of `settings.configuration_name` on `endpoint`; nothing goes on the
    /// wire until the pool's first packet is sent.
    pub fn new(endpoint: Endpoint, settings: WinrsSettings) -> WinrsTransport {
        WinrsTransport::with_shell(endpoint, settings, None)
    }

    /// A transport to the existing shell `shell_id` of `settings.configuration_name`, which another
    /// client disconnected: the pool's first packet (SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL, see
    /// [`super::ClientSession::connect`]) becomes a Connect (MS-WSMV 3.1.4.17) whose
    /// `connectResponseXml` is the server's answer; pipelines that ran while disconnected are taken up
    /// with [`PacketTransport::connect_pipeline`]. Nothing goes on the wire until then.
    pub fn connect_to(endpoint: Endpoint, settings: WinrsSettings, shell_id: &str) -> WinrsTransport {
        WinrsTransport::with_shell(endpoint, settings, Some(shell_id.to_string()))
    }

    fn with_shell(endpoint: Endpoint, settings: WinrsSettings, existing: Option<String>) -> WinrsTransport {
        let mut shell = endpoint.shell(&shell::powershell_uri(&settings.configuration_name));
        shell.shell_id = existing.clone();
        shell.session_id = Some(format!("uuid:{}", Uuid::new_v4().hyphenated().to_string().to_uppercase()));
        let state = State {
            phase: Phase::New,
            incoming: VecDeque::new(),
            failure: None,
            history: String::new(),
            channels: HashMap::new(),
            generation: 0,
            cancel: Arc::new(Cancel::default()),
            loops: 0,
            held: VecDeque::new(),
            taken_up: std::collections::HashSet::new(),
            leave_output: false,
            unread: std::collections::HashSet::new(),
        };
        WinrsTransport { shared: Arc::new(Shared { endpoint, settings, existing, shell: Mutex::new(shell), state: Mutex::new(state), changed: Condvar::new() }) }
    }

    /// The shell's id once Create was answered.
    pub fn shell_id(&self) -> Option<String> {
        self.shared.shell().shell_id.clone()
    }

    /// The endpoint's URL, e.g. `http://srv1:5985/wsman`.
    pub fn url(&self) -> String {
        self.shared.endpoint.url()
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn shell(&self) -> MutexGuard<'_, Shell> {
        self.shell.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, line: String) {
        self.state().incoming.push_back(line);
        self.changed.notify_all();
    }

    /// Posts `request`, waiting the endpoint's time, and reads the reply with `read`.
    fn post<T>(&self, request: Request, cancel: Option<&Cancel>, read: impl FnOnce(String) -> ShellResult<T>) -> Result<T> {
        let text = self.endpoint.post_envelope(request.xml, self.endpoint.wait(), cancel)?;
        read(text).map_err(Error::from)
    }

    /// As `post`, for a request to a shell that may have ended while no client was connected: the
    /// server's "no such shell" (InvalidSelectors) is NotFound, saying that the shell and what its
    /// pipelines wrote are gone.
    fn post_to_shell<T>(&self, request: Request, read: impl FnOnce(String) -> ShellResult<T>) -> Result<T> {
        let text = self.endpoint.post_envelope(request.xml, self.endpoint.wait(), None)?;
        read(text).map_err(|e| match e {
            ShellError::Fault(f) if f.kind == ShellFaultKind::InvalidSelectors => {
                let id = self.shell().shell_id.clone().unwrap_or_default();
                let message = format!(
                    "The server no longer has the session's shell {id}: its idle timeout passed, or it was closed or removed; what its commands wrote meanwhile is gone"
                );
                Error { kind: ErrorKind::NotFound, message, ..f.fault.into_error() }
            }
            e => Error::from(e),
        })
    }

    /// Ends the transport with `error`, told once by `receive` as TransportBroken, as AccessDenied when
    /// the server refused the credentials, or as NotFound when the shell to connect to is gone; its
    /// HTTP status and fault code are kept.
    fn fail(&self, error: Error) -> Error {
        let kind = if matches!(error.kind, ErrorKind::AccessDenied | ErrorKind::NotFound) { error.kind } else { ErrorKind::TransportBroken };
        let error = Error { kind, ..error };
        let mut state = self.state();
        if state.phase != Phase::Closed {
            state.phase = Phase::Closed;
            state.failure = Some(error.clone());
            state.generation += 1;
            state.cancel.cancel();
        }
        state.history.push_str(&error.message);
        state.history.push('\n');
        drop(state);
        self.changed.notify_all();
        error
    }

    /// Create (MS-WSMV 3.1.4.5) with `creation` as `creationXml`, after learning the server's
    /// MaxEnvelopeSize (a refused configuration Get, as for users who are not administrators, keeps
    /// the client's own).
    fn create(&self, creation: &[u8]) -> Result<()> {
        let config = self.shell().get_config();
        if let Ok(bytes) = self.post(config, None, shell::read_max_envelope_size) {
            let mut s = self.shell();
            s.max_envelope_size = s.max_envelope_size.min(bytes);
        }
        let create = ShellCreate {
            name: self.settings.shell_name.clone(),
            idle_timeout_ms: self.settings.idle_timeout_ms,
            ..ShellCreate::powershell(creation.to_vec())
        };
        let request = {
            let mut s = self.shell();
            s.shell_id = first_runspace_pool(creation).map(|id| id.hyphenated().to_string().to_uppercase());
            s.create(&create, &shell::powershell_options(PROTOCOL_VERSION, self.settings.no_profile))
        };
        let created = self.post(request, None, shell::read_create)?;
        self.shell().shell_id = Some(created.shell_id);
        Ok(())
    }

    /// Sends `bytes` on `stdin` (or `pr`) of the shell or of `command`, in as many Sends as the
    /// envelope size needs.
    fn send_stream(&self, command: Option<&str>, prompt_response: bool, bytes: &[u8]) -> Result<()> {
        let name = if prompt_response { "pr" } else { "stdin" };
        let budget = self.shell().send_budget(command).max(1);
        let mut chunks: Vec<&[u8]> = bytes.chunks(budget).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for chunk in chunks {
            let stream = SendStream { name: name.into(), command_id: command.map(str::to_string), end: None, data: chunk.to_vec() };
            let request = self.shell().send(&[stream]);
            self.post(request, None, |t| shell::read_empty(t, shell::ACTION_SEND))?;
        }
        Ok(())
    }

    /// Starts a Receive loop for the shell (nil) or a pipeline, in the current generation.
    fn start_loop(self: &Arc<Self>, channel: Uuid) {
        let (generation, cancel) = {
            let mut state = self.state();
            // A pipeline created while the shell was being disconnected gets its loop on reconnect.
            if state.phase != Phase::Open {
                return;
            }
            state.loops += 1;
            (state.generation, state.cancel.clone())
        };
        let shared = self.clone();
        let spawned = std::thread::Builder::new().name("rsess-winrs-receive".into()).spawn(move || {
            shared.receive_loop(channel, generation, &cancel);
            shared.state().loops -= 1;
            shared.changed.notify_all();
        });
        if let Err(e) = spawned {
            self.state().loops -= 1;
            self.fail(Error::new(ErrorKind::Io, format!("No thread could be started to receive from the shell: {e}")));
        }
    }

    /// Receives the shell's or a pipeline's output until the pipeline is Done, the generation
    /// changes (disconnect, close) or the server fails.
    fn receive_loop(&self, channel: Uuid, generation: u64, cancel: &Cancel) {
        let command = (!channel.is_nil()).then(|| channel.hyphenated().to_string().to_uppercase());
        // Connections dropped under a waiting Receive (a proxy's or load balancer's idle limit) in a row.
        let mut dropped = 0;
        loop {
            if self.state().generation != generation {
                return;
            }
            let request = self.shell().receive("stdout", command.as_deref(), &shell::receive_options());
            let outcome = self.endpoint.post_envelope(request.xml, self.endpoint.wait(), Some(cancel)).map(shell::read_receive);
            // A loop of an older generation (disconnect, close), or one whose shell is no longer open,
            // ends quietly on a fault: the server refuses Receives of a disconnected or deleted shell.
            let current = {
                let state = self.state();
                state.generation == generation && state.phase == Phase::Open
            };
            match outcome {
                Ok(Ok(received)) => {
                    dropped = 0;
                    let data = received.data("stdout");
                    if !data.is_empty() {
                        // Output that arrives as the shell disconnects is delivered, not dropped.
                        self.push(outofproc::data(channel, false, &data));
                    }
                    if received.is_done() && command.is_some() {
                        let taken_up = {
                            let mut state = self.state();
                            if let Some(Channel::Running { done }) = state.channels.get_mut(&channel) {
                                *done = true;
                            }
                            state.taken_up.contains(&channel)
                        };
                        if taken_up {
                            // A pipeline taken up from another client may have told that client its
                            // end already: the command's end closes its channel here.
                            self.push(outofproc::ack(Ack::Close, channel));
                        }
                        return;
                    }
                }
                Ok(Err(e)) if e.is_operation_timeout() => {}
                Ok(Err(_)) | Err(_) if !current => return,
                // A pipeline closed (terminated) while its Receive waited: its channel is gone.
                Ok(Err(_)) | Err(_) if command.is_some() && !self.state().channels.contains_key(&channel) => return,
                Ok(Err(e)) => {
                    self.fail(Error::from(e).context("Receiving from the shell failed"));
                    return;
                }
                // The Receive is asked again on a new connection: the server keeps the output until a
                // Receive takes it, so nothing is lost.
                Err(e) if matches!(e.kind, ErrorKind::ConnectionFailed | ErrorKind::TransportBroken | ErrorKind::Io) && dropped < RECEIVE_RETRIES => {
                    dropped += 1;
                    std::thread::sleep(Duration::from_millis(100 * u64::from(dropped)));
                }
                Err(e) => {
                    self.fail(e.context("Receiving from the shell failed"));
                    return;
                }
            }
        }
    }

    /// What the pool's or a pipeline's channel does with one client packet; `acknowledge`: whether to
    /// queue the server's acknowledgement (false for a stop or close that was acknowledged when it was
    /// held while disconnected).
    fn handle(self: &Arc<Self>, packet: ClientPacket, acknowledge: bool) -> Result<()> {
        match packet {
            ClientPacket::Data { channel, prompt_response, bytes } if channel.is_nil() => {
                let phase = self.state().phase;
                match phase {
                    Phase::New if self.existing.is_some() => {
                        let request = self.shell().connect(&bytes, &shell::powershell_options(PROTOCOL_VERSION, self.settings.no_profile));
                        let connected = self.post_to_shell(request, shell::read_connect)?;
                        self.state().phase = Phase::Open;
                        self.push(outofproc::data(Uuid::nil(), false, &connected.connect_response_xml));
                        self.start_loop(Uuid::nil());
                    }
                    Phase::New => {
                        self.create(&bytes)?;
                        self.state().phase = Phase::Open;
                        self.start_loop(Uuid::nil());
                    }
                    Phase::Open => self.send_stream(None, prompt_response, &bytes)?,
                    Phase::Disconnected | Phase::Closed => return Err(not_open(phase)),
                }
                self.acknowledge(acknowledge, Ack::Data, channel);
            }
            ClientPacket::Data { channel, prompt_response, bytes } => {
                let (phase, state) = {
                    let s = self.state();
                    (s.phase, s.channels.get(&channel).copied())
                };
                if phase != Phase::Open {
                    return Err(not_open(phase));
                }
                let id = channel.hyphenated().to_string().to_uppercase();
                match state {
                    Some(Channel::Opened) => {
                        let request = self.shell().command(Some(&id), "", &[shell::base64_argument(&bytes)], &[]);
                        let created = self.post(request, None, shell::read_command);
                        if created.is_err() {
                            self.state().channels.remove(&channel);
                        }
                        self.changed.notify_all();
                        created?;
                        let unread = {
                            let mut state = self.state();
                            state.channels.insert(channel, Channel::Running { done: false });
                            state.leave_output && state.unread.insert(channel)
                        };
                        self.changed.notify_all();
                        if !unread {
                            self.start_loop(channel);
                        }
                    }
                    Some(Channel::Running { .. }) => self.send_stream(Some(&id), prompt_response, &bytes)?,
                    None => return Err(Error::new(ErrorKind::InvalidArgument, format!("Data for pipeline {channel}, whose channel is not open"))),
                }
                self.acknowledge(acknowledge, Ack::Data, channel);
            }
            ClientPacket::Command(channel) => {
                let phase = self.state().phase;
                if phase != Phase::Open {
                    return Err(not_open(phase));
                }
                self.state().channels.insert(channel, Channel::Opened);
                self.acknowledge(acknowledge, Ack::Command, channel);
            }
            ClientPacket::Signal(channel) => {
                if matches!(self.state().channels.get(&channel), Some(Channel::Running { done: false })) {
                    let id = channel.hyphenated().to_string().to_uppercase();
                    let request = self.shell().signal(Some(&id), shell::SIGNAL_PS_STOP);
                    self.post(request, None, |t| shell::read_empty(t, shell::ACTION_SIGNAL))?;
                }
                self.acknowledge(acknowledge, Ack::Signal, channel);
            }
            ClientPacket::Close(channel) if channel.is_nil() => {
                let phase = {
                    let mut state = self.state();
                    // The Receives the server ends as it deletes the shell are no failure.
                    state.generation += 1;
                    state.phase
                };
                if phase == Phase::Open || phase == Phase::Disconnected {
                    let request = self.shell().delete();
                    self.post(request, None, |t| shell::read_empty(t, crate::wsman::envelope::ACTION_DELETE))?;
                }
                self.acknowledge(acknowledge, Ack::Close, channel);
                self.end();
            }
            ClientPacket::Close(channel) => {
                let was = self.state().channels.remove(&channel);
                // Terminate ends a running command and lets the server forget a finished one (as
                // PowerShell's client closes every command), so later clients do not see it.
                if matches!(was, Some(Channel::Running { .. })) && self.state().phase == Phase::Open {
                    let id = channel.hyphenated().to_string().to_uppercase();
                    let request = self.shell().signal(Some(&id), shell::SIGNAL_TERMINATE);
                    self.post(request, None, |t| shell::read_empty(t, shell::ACTION_SIGNAL))?;
                }
                self.acknowledge(acknowledge, Ack::Close, channel);
            }
        }
        Ok(())
    }

    /// Connects this client to its disconnected shell as a new client would (see
    /// [`PacketTransport::reconnect`]), then to the commands of its running pipelines.
    fn connect_anew(&self) -> Result<()> {
        let id = self.shell().shell_id.clone().ok_or_else(|| Error::new(ErrorKind::InvalidState, "The shell was never created"))?;
        let pool = Uuid::parse_str(&id).map_err(|_| Error::new(ErrorKind::BadReply, format!("The shell id '{id}' is not a runspace pool id")))?;
        let mut connecting = RunspacePool::new(pool);
        connecting.connect(None, None)?;
        let payload = connecting.data_to_send(None)?.map(|p| p.bytes).unwrap_or_default();
        let request = self.shell().connect(&payload, &shell::powershell_options(PROTOCOL_VERSION, self.settings.no_profile));
        self.post_to_shell(request, shell::read_connect)?;
        let running: Vec<Uuid> = self.state().channels.iter().filter(|(_, c)| **c == Channel::Running { done: false }).map(|(id, _)| *id).collect();
        for channel in running {
            let request = self.shell().connect_command(&channel.hyphenated().to_string().to_uppercase());
            if self.post(request, None, shell::read_command_connect).is_err() {
                // Another client took the pipeline up and ended it: it ends here too, with what came.
                self.state().channels.remove(&channel);
                self.push(outofproc::data(channel, false, &completed(pool, channel)));
            }
        }
        Ok(())
    }

    fn acknowledge(&self, acknowledge: bool, kind: Ack, channel: Uuid) {
        if acknowledge {
            self.push(outofproc::ack(kind, channel));
        }
    }

    /// The shell is gone: the loops end, `receive` returns what is queued, then the end.
    fn end(&self) {
        let mut state = self.state();
        state.phase = Phase::Closed;
        state.generation += 1;
        state.cancel.cancel();
        drop(state);
        self.changed.notify_all();
    }
}

/// PIPELINE_STATE Completed (MS-PSRP 2.2.2.21) for `pipeline` of `pool`, as fragments: how a pipeline
/// left running unread on the server ends on the client's side.
fn completed(pool: Uuid, pipeline: Uuid) -> Vec<u8> {
    let state = Message {
        destination: Destination::Client,
        message_type: MessageType::PipelineState,
        runspace_pool: pool,
        pipeline,
        data: br#"<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>"#.to_vec(),
    };
    let mut fragments = Outgoing::new();
    fragments.push(state.encode());
    fragments.take(None).ok().flatten().unwrap_or_default()
}

fn not_open(phase: Phase) -> Error {
    match phase {
        Phase::Disconnected => Error::new(ErrorKind::InvalidState, "The session is disconnected; reconnect it first"),
        _ => Error::new(ErrorKind::TransportBroken, "The shell is closed"),
    }
}

impl PacketTransport for WinrsTransport {
    /// Carries one client packet to the shell (see the module's documentation) and queues the
    /// server's acknowledgement; while disconnected, packets of existing channels wait for the
    /// reconnect (a stop or a pipeline's close is acknowledged at once), and the pool's close lets the
    /// session go without ending it on the server. Errors: BadReply for a line that is no OutOfProc client packet; InvalidState for a
    /// new pipeline while disconnected; TransportBroken when the shell is closed or the server failed
    /// (the failure is also what `receive` reports).
    fn send(&self, packet: &str) -> Result<()> {
        let packet = outofproc::parse_client(packet)?;
        {
            let mut state = self.shared.state();
            if state.phase == Phase::Disconnected && !matches!(packet, ClientPacket::Command(_)) {
                // What a pipeline already running sends meanwhile (its input, a stop, its close) waits
                // for the reconnect rather than failing it. A stop or close is acknowledged at once, as
                // the server would: a client that ends (pwsh exiting stops its jobs) must not wait for a
                // reconnect that may never come.
                let ack = match packet {
                    ClientPacket::Signal(channel) => Some(outofproc::ack(Ack::Signal, channel)),
                    ClientPacket::Close(channel) if !channel.is_nil() => Some(outofproc::ack(Ack::Close, channel)),
                    ClientPacket::Close(_) => {
                        // The client lets a disconnected session go: the server keeps it until its
                        // idle timeout, for another client to connect to.
                        drop(state);
                        self.shared.push(outofproc::ack(Ack::Close, Uuid::nil()));
                        self.shared.end();
                        return Ok(());
                    }
                    _ => None,
                };
                state.held.push_back((packet, ack.is_none()));
                drop(state);
                if let Some(line) = ack {
                    self.shared.push(line);
                }
                return Ok(());
            }
        }
        self.carry(packet, true)
    }

    fn receive(&self, timeout: Option<Duration>) -> Result<Option<String>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.shared.state();
        loop {
            if let Some(line) = state.incoming.pop_front() {
                return Ok(Some(line));
            }
            if let Some(failure) = state.failure.take() {
                return Err(failure);
            }
            if state.phase == Phase::Closed {
                return Ok(None);
            }
            state = match deadline {
                None => self.shared.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::new(ErrorKind::Timeout, "No packet arrived from the shell in time"));
                    }
                    self.shared.changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }

    /// Deletes the shell unless the session was disconnected (a disconnected shell stays on the
    /// server until its idle timeout, to be connected to again), then ends the transport.
    fn close(&self) {
        let phase = {
            let mut state = self.shared.state();
            state.generation += 1;
            state.phase
        };
        if phase == Phase::Open {
            let request = self.shared.shell().delete();
            let _ = self.shared.endpoint.post_envelope(request.xml, CLOSE_WAIT.min(self.shared.endpoint.wait()), None);
        }
        self.shared.end();
    }

    fn diagnostics(&self) -> String {
        self.shared.state().history.clone()
    }

    fn process_id(&self) -> Option<u32> {
        None
    }

    /// Disconnect (MS-WSMV 3.1.4.15): the Receive loops stop, and the server keeps the shell and its
    /// output for `idle_timeout_ms` (None: the shell's own idle timeout). Errors: InvalidState unless
    /// the shell is open; what the Disconnect failed with (the session then stays connected).
    fn disconnect(&self, idle_timeout_ms: Option<u32>) -> Result<()> {
        let shared = &self.shared;
        let cancel = {
            // A pipeline whose Command was acknowledged is created on the server first (its first
            // `Data` follows at once), so that it runs on while the shell is away.
            let state = shared.state();
            let (mut state, _) = shared
                .changed
                .wait_timeout_while(state, LOOPS_GRACE, |s| s.phase == Phase::Open && s.channels.values().any(|c| *c == Channel::Opened))
                .unwrap_or_else(|e| e.into_inner());
            if state.phase != Phase::Open {
                return Err(Error::new(ErrorKind::InvalidState, "Only an open session can be disconnected"));
            }
            state.phase = Phase::Disconnected;
            state.generation += 1;
            std::mem::replace(&mut state.cancel, Arc::new(Cancel::default()))
        };
        let request = shared.shell().disconnect(idle_timeout_ms);
        if let Err(e) = shared.post(request, None, |t| shell::read_empty(t, shell::ACTION_DISCONNECT)) {
            shared.state().phase = Phase::Open;
            self.resume();
            return Err(e);
        }
        // The server ends the Receives it holds; what they carry is still delivered.
        let state = shared.state();
        let (mut state, _) = shared.changed.wait_timeout_while(state, LOOPS_GRACE, |s| s.loops > 0).unwrap_or_else(|e| e.into_inner());
        // Pipelines that run unread end here; their channels are forgotten, so that their close stops
        // nothing on the server, where their output waits for the next client.
        state.leave_output = false;
        let unread: Vec<Uuid> = state.unread.drain().collect();
        for channel in &unread {
            state.channels.remove(channel);
        }
        drop(state);
        cancel.cancel();
        if let Some(pool) = shared.shell().shell_id.as_deref().and_then(|id| Uuid::parse_str(id).ok()) {
            for channel in unread {
                shared.push(outofproc::data(channel, false, &completed(pool, channel)));
            }
        }
        Ok(())
    }

    /// See [`PacketTransport::start_pipelines_disconnected`]. Errors: InvalidState unless the shell is
    /// open (or not yet created).
    fn start_pipelines_disconnected(&self) -> Result<()> {
        let mut state = self.shared.state();
        if !matches!(state.phase, Phase::New | Phase::Open) {
            return Err(not_open(state.phase));
        }
        state.leave_output = true;
        Ok(())
    }

    /// Connect to a command of the shell this transport connected to (MS-WSMV 3.1.4.17, with the
    /// pipeline's id as CommandId); its Receive loop then starts, and when the command is Done a
    /// `CloseAck` for its channel follows its output (its PIPELINE_STATE may have gone to the client
    /// that started it). Errors: InvalidState unless open; the server's refusal (no such command).
    fn connect_pipeline(&self, pipeline: Uuid) -> Result<()> {
        let phase = self.shared.state().phase;
        if phase != Phase::Open {
            return Err(not_open(phase));
        }
        let id = pipeline.hyphenated().to_string().to_uppercase();
        let request = self.shared.shell().connect_command(&id);
        self.shared.post(request, None, shell::read_command_connect)?;
        {
            let mut state = self.shared.state();
            state.channels.insert(pipeline, Channel::Running { done: false });
            state.taken_up.insert(pipeline);
        }
        self.shared.start_loop(pipeline);
        Ok(())
    }

    /// Reconnect (MS-WSMV 3.1.4.16) by this client: the Receive loops resume where they stopped.
    /// When the server refuses it, as it does once another client connected to the shell and left it,
    /// this client connects anew (MS-WSMV 3.1.4.17 with MS-PSRP's CONNECT_RUNSPACEPOOL for the shell's
    /// pool, the answer consumed here: the client's pool is open already) and connects to each of its
    /// running pipelines' commands; a pipeline whose command the server no longer has (another client
    /// took it up) ends Completed with what it had received. Errors: InvalidState unless disconnected; what the Connect failed
    /// with (the session stays disconnected).
    fn reconnect(&self) -> Result<()> {
        if self.shared.state().phase != Phase::Disconnected {
            return Err(Error::new(ErrorKind::InvalidState, "Only a disconnected session can be reconnected"));
        }
        let request = self.shared.shell().reconnect(None);
        if self.shared.post(request, None, |t| shell::read_empty(t, shell::ACTION_RECONNECT)).is_err() {
            self.shared.connect_anew()?;
        }
        self.shared.state().phase = Phase::Open;
        self.resume();
        loop {
            let Some((packet, acknowledge)) = self.shared.state().held.pop_front() else { break };
            self.carry(packet, acknowledge)?;
        }
        Ok(())
    }
}

impl WinrsTransport {
    /// Carries one client packet; a failure of the server ends the transport.
    fn carry(&self, packet: ClientPacket, acknowledge: bool) -> Result<()> {
        match self.shared.handle(packet, acknowledge) {
            Err(e) if matches!(e.kind, ErrorKind::InvalidArgument | ErrorKind::InvalidState) => Err(e),
            Err(e) => Err(self.shared.fail(e)),
            Ok(()) => Ok(()),
        }
    }

    /// Starts the Receive loops of the shell and of every pipeline not yet Done.
    fn resume(&self) {
        let channels: Vec<Uuid> = self.shared.state().channels.iter().filter(|(_, c)| **c == Channel::Running { done: false }).map(|(id, _)| *id).collect();
        self.shared.start_loop(Uuid::nil());
        for channel in channels {
            self.shared.start_loop(channel);
        }
    }
}

/// Most shells asked for in one Enumerate or Pull reply.
const SHELLS_PER_PAGE: u32 = 100;

/// Most shells read from one server: a server that keeps sending pages is refused past it.
pub const MAX_SHELLS: usize = 10_000;

/// The shells the endpoint's user has on the server (DSP0226 Enumerate and Pull of the shell resource,
/// what `Get-PSSession -ComputerName` asks), of every resource URI: PowerShell's and others (cmd).
/// Errors: what the requests fail with (AccessDenied, TransportBroken, …); BadReply for a malformed
/// reply or more than [`MAX_SHELLS`] shells.
pub fn list_shells(endpoint: &Endpoint, cancel: Option<&Cancel>) -> Result<Vec<shell::ShellInfo>> {
    let settings = endpoint.shell(shell::SHELLS_URI);
    let first = endpoint.post_envelope(settings.enumerate_shells(SHELLS_PER_PAGE).xml, endpoint.wait(), cancel)?;
    let (mut shells, mut context) = shell::read_shells(first)?;
    while let Some(c) = context.take() {
        if shells.len() > MAX_SHELLS {
            return Err(Error::new(ErrorKind::BadReply, format!("{} lists more than {MAX_SHELLS} shells, the most this client reads", endpoint.computer())));
        }
        let text = endpoint.post_envelope(settings.pull_shells(&c, SHELLS_PER_PAGE).xml, endpoint.wait(), cancel)?;
        let (more, next) = shell::read_shells(text)?;
        shells.extend(more);
        context = next;
    }
    Ok(shells)
}

/// The commands (pipelines) of shell `shell_id` on the server (DSP0226 Enumerate of the shell's
/// commands with a selector filter), e.g. those that ran on while their session was disconnected.
/// Errors: what the request fails with; BadReply for a malformed reply or a CommandId that is not a
/// GUID (PowerShell's are its pipelines' ids).
pub fn list_commands(endpoint: &Endpoint, shell_id: &str, cancel: Option<&Cancel>) -> Result<Vec<Uuid>> {
    let settings = endpoint.shell(shell::COMMANDS_URI);
    let text = endpoint.post_envelope(settings.enumerate_commands(shell_id, SHELLS_PER_PAGE).xml, endpoint.wait(), cancel)?;
    let (commands, _) = shell::read_commands(text)?;
    commands
        .iter()
        .map(|c| Uuid::parse_str(&c.command_id).map_err(|_| Error::new(ErrorKind::BadReply, format!("The command id '{}' is not a GUID", c.command_id.chars().take(64).collect::<String>()))))
        .collect()
}

impl Drop for WinrsTransport {
    fn drop(&mut self) {
        self.close();
    }
}
