//! A runspace pool as a client sees it (MS-PSRP 3.1), sans-IO, in the shape of psrpcore's client: the
//! caller asks for what to send ([`RunspacePool::data_to_send`]), hands over what came
//! ([`RunspacePool::receive_data`]) and takes [`Event`]s ([`RunspacePool::next_event`]). Requests
//! (open, create a pipeline, send input, …) only queue messages.
//!
//! Channels: the pool's own messages and each pipeline's go on separate channels (OutOfProc: the
//! `PSGuid` of a `Data` packet; WinRS: the shell's and each command's streams), so fragments are
//! reassembled per channel. A channel is named by the pipeline's id, or the nil id for the pool.

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

use super::clixml::{self, Value};
use super::fragment::{Defragmenter, Outgoing};
use super::message::{Destination, Message, MessageType};
use super::request::{self, Command};
use super::session_key::KeyExchange;
use crate::error::{Error, ErrorKind, Result};

/// RunspacePoolState (MS-PSRP 2.2.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolState {
    /// 0: not opened yet.
    BeforeOpen,
    /// 1: opening.
    Opening,
    /// 2: open: pipelines may run.
    Opened,
    /// 3: closed.
    Closed,
    /// 4: closing.
    Closing,
    /// 5: broken (the server failed it).
    Broken,
    /// 6, 7, 8: disconnecting, disconnected, connecting.
    Disconnecting,
    /// 7.
    Disconnected,
    /// 8.
    Connecting,
}

impl PoolState {
    /// The state with this RunspacePoolState number, None for another number.
    pub fn from_i64(v: i64) -> Option<PoolState> {
        use PoolState::*;
        Some([BeforeOpen, Opening, Opened, Closed, Closing, Broken, Disconnecting, Disconnected, Connecting][usize::try_from(v).ok().filter(|v| *v <= 8)?])
    }
}

/// PSInvocationState (MS-PSRP 2.2.3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineState {
    /// 0.
    NotStarted,
    /// 1.
    Running,
    /// 2.
    Stopping,
    /// 3: stopped by the client.
    Stopped,
    /// 4: finished.
    Completed,
    /// 5: ended by an error (the event carries it).
    Failed,
    /// 6.
    Disconnected,
}

impl PipelineState {
    /// The state with this PSInvocationState number, None for another number.
    pub fn from_i64(v: i64) -> Option<PipelineState> {
        use PipelineState::*;
        Some([NotStarted, Running, Stopping, Stopped, Completed, Failed, Disconnected][usize::try_from(v).ok().filter(|v| *v <= 6)?])
    }

    /// Whether the pipeline has ended (Stopped, Completed or Failed).
    pub fn is_finished(self) -> bool {
        matches!(self, PipelineState::Stopped | PipelineState::Completed | PipelineState::Failed)
    }
}

/// The record streams besides output (MS-PSRP 2.2.2.20–2.2.2.25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// ERROR_RECORD.
    Error,
    /// WARNING_RECORD.
    Warning,
    /// VERBOSE_RECORD.
    Verbose,
    /// DEBUG_RECORD.
    Debug,
    /// INFORMATION_RECORD.
    Information,
    /// PROGRESS_RECORD.
    Progress,
}

/// What the server said, in the order it said it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Its SESSION_CAPABILITY: the protocol version it speaks.
    SessionCapability {
        /// `protocolversion`, e.g. `2.3`.
        protocol_version: String,
    },
    /// APPLICATION_PRIVATE_DATA (the server's `PSVersionTable` and more).
    ApplicationPrivateData(Value),
    /// RUNSPACEPOOL_STATE, with the error record of a Broken pool.
    PoolState(PoolState, Option<Value>),
    /// RUNSPACE_AVAILABILITY: the answer to the call `call` (SET_MAX/MIN_RUNSPACES: 1 or 0 as success;
    /// GET_AVAILABLE_RUNSPACES: how many).
    RunspaceAvailability {
        /// The call id the request carried.
        call: i64,
        /// The answer.
        value: Value,
    },
    /// PIPELINE_OUTPUT: an object `pipeline` wrote.
    Output(Uuid, Value),
    /// A record of one of the other streams.
    Record(Uuid, Stream, Value),
    /// PIPELINE_STATE, with the error record of a Failed or Stopped pipeline.
    PipelineState(Uuid, PipelineState, Option<Value>),
    /// PIPELINE_HOST_CALL or RUNSPACEPOOL_HOST_CALL (pipeline None): the server asks the client's host
    /// for something (the whole call, with `ci`, `mi` and `mp`).
    HostCall(Option<Uuid>, Value),
    /// RUNSPACEPOOL_INIT_DATA (2.2.2.4): the pool's runspace counts, the server's answer to
    /// CONNECT_RUNSPACEPOOL; the pool is then Opened (an [`Event::PoolState`] follows).
    InitData {
        /// `MinRunspaces`.
        min: i32,
        /// `MaxRunspaces`.
        max: i32,
    },
    /// USER_EVENT.
    UserEvent(Value),
    /// A message this client does not act on, as it came (the session key exchange's,
    /// PUBLIC_KEY_REQUEST and ENCRYPTED_SESSION_KEY, the pool answers itself).
    Other(Message),
}

/// What to send next: bytes of fragments for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The channel: a pipeline's id, or nil for the pool.
    pub channel: Uuid,
    /// Whether these are answers to host calls (OutOfProc's `PromptResponse` stream) rather than data.
    pub prompt_response: bool,
    /// The fragments.
    pub bytes: Vec<u8>,
}

/// The most bytes of unfinished messages held per channel.
const MAX_HELD: usize = 64 << 20;

/// A runspace pool, client side. Not thread-safe by itself: one owner pumps it.
pub struct RunspacePool {
    id: Uuid,
    state: PoolState,
    /// Outgoing queues by (channel, prompt response), in the order they were made; the flag marks a
    /// queue that holds one message alone (a CREATE_PIPELINE).
    outgoing: Vec<((Uuid, bool), (Outgoing, bool))>,
    incoming: HashMap<Uuid, Defragmenter>,
    events: VecDeque<Event>,
    pipelines: HashMap<Uuid, PipelineState>,
    next_call: i64,
    /// The SecureString session key (3.1.5.4).
    keys: KeyExchange,
    /// Messages held, in order, until the session key comes: the first that carries a SecureString
    /// and every one asked for after it.
    held: VecDeque<Held>,
    /// Events held, in order, until the session key comes: the first with a SecureString that came
    /// before the key (which it starts the exchange for) and every one after it.
    early: VecDeque<Event>,
}

/// A message held until the session key comes: (channel, prompt response, type, pipeline, data).
type Held = (Uuid, bool, MessageType, Uuid, Option<Value>);

impl RunspacePool {
    /// A pool with id `id`, not yet opened.
    pub fn new(id: Uuid) -> RunspacePool {
        RunspacePool { id, state: PoolState::BeforeOpen, outgoing: Vec::new(), incoming: HashMap::new(), events: VecDeque::new(), pipelines: HashMap::new(), next_call: 1, keys: KeyExchange::new(), held: VecDeque::new(), early: VecDeque::new() }
    }

    /// The pool's id (RPID).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The pool's state as last reported.
    pub fn state(&self) -> PoolState {
        self.state
    }

    /// A pipeline's state as last reported (NotStarted until the server says otherwise); None for
    /// an unknown pipeline.
    pub fn pipeline_state(&self, pipeline: Uuid) -> Option<PipelineState> {
        self.pipelines.get(&pipeline).copied()
    }

    /// Queues a message, its SecureStrings encrypted with the session key. A message with one before
    /// the key has come starts the exchange (PUBLIC_KEY, 3.1.5.4.2) and is held, with every message
    /// after it, until ENCRYPTED_SESSION_KEY comes. Errors: NotSupported (no libcrypto).
    fn queue(&mut self, channel: Uuid, prompt_response: bool, message_type: MessageType, pipeline: Uuid, data: Option<&Value>) -> Result<()> {
        let secret = data.is_some_and(|d| clixml::has_secrets(d, true));
        if !self.held.is_empty() || (secret && !self.keys.is_ready()) {
            if secret && !self.keys.is_started() {
                let key = self.keys.public_key()?;
                self.enqueue(Uuid::nil(), false, MessageType::PublicKey, Uuid::nil(), Some(&key));
            }
            self.held.push_back((channel, prompt_response, message_type, pipeline, data.cloned()));
            return Ok(());
        }
        match data {
            Some(d) if secret => {
                let sealed = self.keys.seal(d)?;
                self.enqueue(channel, prompt_response, message_type, pipeline, Some(&sealed));
            }
            _ => self.enqueue(channel, prompt_response, message_type, pipeline, data),
        }
        Ok(())
    }

    /// Queues the held messages once the session key has come.
    fn release_held(&mut self) -> Result<()> {
        while let Some((channel, prompt_response, message_type, pipeline, data)) = self.held.pop_front() {
            let sealed = data.as_ref().map(|d| self.keys.seal(d)).transpose()?;
            self.enqueue(channel, prompt_response, message_type, pipeline, sealed.as_ref());
        }
        Ok(())
    }

    fn enqueue(&mut self, channel: Uuid, prompt_response: bool, message_type: MessageType, pipeline: Uuid, data: Option<&Value>) {
        let data = data.map(|d| clixml::write(d).into_bytes()).unwrap_or_default();
        let message = Message { destination: Destination::Server, message_type, runspace_pool: self.id, pipeline, data };
        // A CREATE_PIPELINE goes alone (a server takes a pipeline's input only once the pipeline
        // exists; WinRS carries it in the Command, input in Sends): later messages of its channel
        // queue behind it, separately.
        let alone = message_type == MessageType::CreatePipeline;
        let key = (channel, prompt_response);
        let at = match self.outgoing.iter().rposition(|(k, q)| *k == key && !q.1) {
            Some(at) if !alone => at,
            _ => {
                self.outgoing.push((key, (Outgoing::new(), alone)));
                self.outgoing.len() - 1
            }
        };
        self.outgoing[at].1 .0.push(message.encode());
    }

    /// Opens the pool with `min`..=`max` runspaces (SESSION_CAPABILITY and INIT_RUNSPACEPOOL); an
    /// Opened (or Broken) [`Event::PoolState`] follows. Errors: InvalidState unless BeforeOpen.
    pub fn open(&mut self, min: i32, max: i32, arguments: Option<Value>) -> Result<()> {
        if self.state != PoolState::BeforeOpen {
            return Err(Error::new(ErrorKind::InvalidState, format!("The runspace pool is {:?}, not BeforeOpen", self.state)));
        }
        self.queue(Uuid::nil(), false, MessageType::SessionCapability, Uuid::nil(), Some(&request::session_capability()))?;
        self.queue(Uuid::nil(), false, MessageType::InitRunspacePool, Uuid::nil(), Some(&request::init_runspace_pool(min, max, arguments)))?;
        self.state = PoolState::Opening;
        Ok(())
    }

    /// Connects to a pool that exists on the server already, opened by another client that then
    /// disconnected (MS-PSRP 3.1.4.7 / 3.1.5.4.8): SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL (2.2.2.3,
    /// with the new runspace counts, None: unchanged), on the pool's channel. WinRS carries them in
    /// the Connect's `connectXml`. The server answers SESSION_CAPABILITY and RUNSPACEPOOL_INIT_DATA,
    /// after which the pool is Opened. This pool must have the other client's RPID ([`RunspacePool::new`]).
    /// Errors: InvalidState unless BeforeOpen; InvalidArgument for counts below 1 or min above max.
    pub fn connect(&mut self, min: Option<i32>, max: Option<i32>) -> Result<()> {
        if self.state != PoolState::BeforeOpen {
            return Err(Error::new(ErrorKind::InvalidState, format!("The runspace pool is {:?}, not BeforeOpen", self.state)));
        }
        if min.is_some_and(|m| m < 1) || max.is_some_and(|m| m < 1) || matches!((min, max), (Some(a), Some(b)) if a > b) {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("Runspace counts {min:?}..{max:?} are not a range of at least one")));
        }
        self.queue(Uuid::nil(), false, MessageType::SessionCapability, Uuid::nil(), Some(&request::session_capability()))?;
        self.queue(Uuid::nil(), false, MessageType::ConnectRunspacePool, Uuid::nil(), Some(&request::connect_runspace_pool(min, max)))?;
        self.state = PoolState::Connecting;
        Ok(())
    }

    fn opened(&self) -> Result<()> {
        if self.state != PoolState::Opened {
            return Err(Error::new(ErrorKind::InvalidState, format!("The runspace pool is {:?}, not Opened", self.state)));
        }
        Ok(())
    }

    /// Starts a pipeline of `commands` (CREATE_PIPELINE on the pipeline's own channel); with `input`
    /// the caller then sends [`RunspacePool::send_input`] and [`RunspacePool::end_input`]. Returns the
    /// pipeline's id. Errors: InvalidState unless the pool is Opened; InvalidArgument for no commands.
    pub fn create_pipeline(&mut self, commands: &[Command], input: bool) -> Result<Uuid> {
        self.opened()?;
        if commands.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "A pipeline needs at least one command"));
        }
        let id = Uuid::new_v4();
        self.pipelines.insert(id, PipelineState::NotStarted);
        if let Err(e) = self.queue(id, false, MessageType::CreatePipeline, id, Some(&request::create_pipeline(commands, !input))) {
            self.pipelines.remove(&id);
            return Err(e);
        }
        Ok(id)
    }

    fn running(&self, pipeline: Uuid) -> Result<()> {
        match self.pipelines.get(&pipeline) {
            None => Err(Error::new(ErrorKind::InvalidArgument, format!("No pipeline {pipeline} in this runspace pool"))),
            Some(s) if s.is_finished() => Err(Error::new(ErrorKind::InvalidState, format!("Pipeline {pipeline} has ended ({s:?})"))),
            Some(_) => Ok(()),
        }
    }

    /// Sends one input object to a pipeline made with input (PIPELINE_INPUT). A null goes as a message
    /// with no data, as PowerShell's client sends it: PowerShell's server never acts on a `<Nil />`
    /// input (the pipeline would wait for it forever).
    /// Errors: InvalidArgument for an unknown pipeline; InvalidState for one that has ended.
    pub fn send_input(&mut self, pipeline: Uuid, value: &Value) -> Result<()> {
        self.running(pipeline)?;
        let data = (*value != Value::Null).then_some(value);
        self.queue(pipeline, false, MessageType::PipelineInput, pipeline, data)
    }

    /// Ends a pipeline's input (END_OF_PIPELINE_INPUT). Errors: as [`RunspacePool::send_input`].
    pub fn end_input(&mut self, pipeline: Uuid) -> Result<()> {
        self.running(pipeline)?;
        self.queue(pipeline, false, MessageType::EndOfPipelineInput, pipeline, None)
    }

    /// Asks to change the pool's maximum (or minimum) number of runspaces; returns the call id its
    /// [`Event::RunspaceAvailability`] answer carries. Errors: InvalidState unless Opened.
    pub fn set_runspaces(&mut self, max: bool, count: i32) -> Result<i64> {
        self.opened()?;
        let call = self.call();
        let t = if max { MessageType::SetMaxRunspaces } else { MessageType::SetMinRunspaces };
        self.queue(Uuid::nil(), false, t, Uuid::nil(), Some(&request::set_runspaces(max, count, call)))?;
        Ok(call)
    }

    /// Asks how many runspaces are free (GET_AVAILABLE_RUNSPACES); returns the call id.
    /// Errors: InvalidState unless Opened.
    pub fn get_available_runspaces(&mut self) -> Result<i64> {
        self.opened()?;
        let call = self.call();
        self.queue(Uuid::nil(), false, MessageType::GetAvailableRunspaces, Uuid::nil(), Some(&request::call_only(call)))?;
        Ok(call)
    }

    /// Resets the runspace's state (RESET_RUNSPACE_STATE, protocol 2.3); returns the call id.
    /// Errors: InvalidState unless Opened.
    pub fn reset_runspace_state(&mut self) -> Result<i64> {
        self.opened()?;
        let call = self.call();
        self.queue(Uuid::nil(), false, MessageType::ResetRunspaceState, Uuid::nil(), Some(&request::call_only(call)))?;
        Ok(call)
    }

    /// Answers a host call (an [`Event::HostCall`], 2.2.2.27 / 2.2.2.15) as a client without a host
    /// does: for a method that returns something, a PIPELINE_HOST_RESPONSE (or, `pipeline` None,
    /// RUNSPACEPOOL_HOST_RESPONSE; 2.2.2.28 / 2.2.2.16) on the prompt-response stream, carrying an
    /// exception (`me`) that says so, so the server's pipeline goes on instead of waiting; a void
    /// method (e.g. WriteLine, 2.2.3.17) needs no answer. Returns whether an answer was queued.
    /// Errors: BadReply for a call without a call id (`ci`) or method (`mi`).
    pub fn reject_host_call(&mut self, pipeline: Option<Uuid>, call: &Value) -> Result<bool> {
        let id = call.property("ci").and_then(Value::as_i64).ok_or_else(|| Error::new(ErrorKind::BadReply, "A host call without a call id (ci)"))?;
        let method = call.property("mi").cloned().ok_or_else(|| Error::new(ErrorKind::BadReply, "A host call without a method (mi)"))?;
        let number = method.as_i64().ok_or_else(|| Error::new(ErrorKind::BadReply, "A host call whose method (mi) is not a number"))?;
        if request::host_method_is_void(number) {
            return Ok(false);
        }
        let name = method.to_text();
        let message = format!("The client has no host: the server's call of the host method {name} cannot be answered");
        let response = request::host_error_response(id, method, &message);
        match pipeline {
            Some(p) => self.queue(p, true, MessageType::PipelineHostResponse, p, Some(&response))?,
            None => self.queue(Uuid::nil(), true, MessageType::RunspacePoolHostResponse, Uuid::nil(), Some(&response))?,
        }
        Ok(true)
    }

    fn call(&mut self) -> i64 {
        self.next_call += 1;
        self.next_call - 1
    }

    /// The next fragments to send, at most `budget` bytes (None: no limit), for one channel; None
    /// when nothing waits. Messages go in the order they were asked for; a CREATE_PIPELINE goes in a
    /// payload of its own, so the caller can send a pipeline's input only once the server has it.
    /// Errors: InvalidArgument when `budget` cannot hold a fragment.
    pub fn data_to_send(&mut self, budget: Option<usize>) -> Result<Option<Payload>> {
        while let Some(((channel, prompt_response), (queue, _))) = self.outgoing.first_mut() {
            if let Some(bytes) = queue.take(budget)? {
                let payload = Payload { channel: *channel, prompt_response: *prompt_response, bytes };
                if queue.is_empty() {
                    self.outgoing.remove(0);
                }
                return Ok(Some(payload));
            }
            self.outgoing.remove(0);
        }
        Ok(None)
    }

    /// Takes bytes the server sent on `channel` (a pipeline's id, nil for the pool); the messages they
    /// complete become events. Errors (BadReply): malformed fragments, messages or CLIXML, a message
    /// for another pool; the pool is then Broken.
    pub fn receive_data(&mut self, channel: Uuid, bytes: &[u8]) -> Result<()> {
        let whole = self.incoming.entry(channel).or_insert_with(|| Defragmenter::new(MAX_HELD)).push(bytes);
        let result = whole.and_then(|messages| messages.iter().try_for_each(|m| self.on_message(m)));
        if result.is_err() {
            self.state = PoolState::Broken;
        }
        result
    }

    /// The next event, in the order the server sent them; None when there is none yet.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn on_message(&mut self, bytes: &[u8]) -> Result<()> {
        let m = Message::decode(bytes)?;
        if m.runspace_pool != self.id && m.runspace_pool != Uuid::nil() {
            return Err(Error::new(ErrorKind::BadReply, format!("A PSRP message for runspace pool {} came to pool {}", m.runspace_pool, self.id)));
        }
        let value = || -> Result<Value> {
            let text = std::str::from_utf8(&m.data).map_err(|_| Error::new(ErrorKind::BadReply, "PSRP message data is not UTF-8"))?;
            // PowerShell sends a null output object as no data at all.
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            let v = clixml::parse(text).map_err(|e| Error::new(ErrorKind::BadReply, format!("{} in {}: {}", e.message, m.message_type.name(), text.chars().take(200).collect::<String>())))?;
            // SecureStrings arrive decrypted (as Value::Secret) once the session key has come.
            self.keys.open(v)
        };
        let pipeline = m.pipeline;
        let number = |v: &Value, name: &str| v.property(name).and_then(Value::as_i64);
        let event = match m.message_type {
            MessageType::SessionCapability => {
                let v = value()?;
                let version = match v.property("protocolversion") {
                    Some(Value::Version(t)) => t.clone(),
                    _ => return Err(Error::new(ErrorKind::BadReply, "SESSION_CAPABILITY without a protocolversion")),
                };
                Event::SessionCapability { protocol_version: version }
            }
            MessageType::ApplicationPrivateData => Event::ApplicationPrivateData(value()?),
            MessageType::RunspacePoolInitData => {
                let v = value()?;
                let count = |name: &str| number(&v, name).and_then(|n| i32::try_from(n).ok()).ok_or_else(|| Error::new(ErrorKind::BadReply, format!("RUNSPACEPOOL_INIT_DATA without {name}")));
                let (min, max) = (count("MinRunspaces")?, count("MaxRunspaces")?);
                if self.state == PoolState::Connecting {
                    self.events.push_back(Event::InitData { min, max });
                    self.state = PoolState::Opened;
                    Event::PoolState(PoolState::Opened, None)
                } else {
                    Event::InitData { min, max }
                }
            }
            MessageType::RunspacePoolState => {
                let v = value()?;
                let state = number(&v, "RunspaceState").and_then(PoolState::from_i64).ok_or_else(|| Error::new(ErrorKind::BadReply, "RUNSPACEPOOL_STATE without a known RunspaceState"))?;
                self.state = state;
                Event::PoolState(state, v.property("ExceptionAsErrorRecord").cloned())
            }
            MessageType::RunspaceAvailability => {
                let v = value()?;
                let call = number(&v, "ci").ok_or_else(|| Error::new(ErrorKind::BadReply, "RUNSPACE_AVAILABILITY without a call id (ci)"))?;
                Event::RunspaceAvailability { call, value: v.property("SetMinMaxRunspacesResponse").cloned().unwrap_or(Value::Null) }
            }
            MessageType::PipelineOutput => Event::Output(pipeline, value()?),
            MessageType::ErrorRecord => Event::Record(pipeline, Stream::Error, value()?),
            MessageType::WarningRecord => Event::Record(pipeline, Stream::Warning, value()?),
            MessageType::VerboseRecord => Event::Record(pipeline, Stream::Verbose, value()?),
            MessageType::DebugRecord => Event::Record(pipeline, Stream::Debug, value()?),
            MessageType::InformationRecord => Event::Record(pipeline, Stream::Information, value()?),
            MessageType::ProgressRecord => Event::Record(pipeline, Stream::Progress, value()?),
            MessageType::PipelineState => {
                let v = value()?;
                let state = number(&v, "PipelineState").and_then(PipelineState::from_i64).ok_or_else(|| Error::new(ErrorKind::BadReply, "PIPELINE_STATE without a known PipelineState"))?;
                self.pipelines.insert(pipeline, state);
                Event::PipelineState(pipeline, state, v.property("ExceptionAsErrorRecord").cloned())
            }
            MessageType::PipelineHostCall => Event::HostCall(Some(pipeline), value()?),
            MessageType::RunspacePoolHostCall => Event::HostCall(None, value()?),
            MessageType::UserEvent => Event::UserEvent(value()?),
            MessageType::PublicKeyRequest => {
                // The server is about to send a SecureString (3.1.5.4.2): the client sends its key.
                let key = self.keys.public_key()?;
                self.enqueue(Uuid::nil(), false, MessageType::PublicKey, Uuid::nil(), Some(&key));
                return Ok(());
            }
            MessageType::EncryptedSessionKey => {
                let v = value()?;
                self.keys.on_encrypted_session_key(&v)?;
                while let Some(mut event) = self.early.pop_front() {
                    if let Some(value) = event_value(&mut event) {
                        *value = self.keys.open(std::mem::replace(value, Value::Null))?;
                    }
                    self.events.push_back(event);
                }
                return self.release_held();
            }
            _ => Event::Other(m.clone()),
        };
        let mut event = event;
        let encrypted = event_value(&mut event).is_some_and(|v| clixml::has_secrets(v, false));
        if encrypted && !self.keys.is_ready() && !self.keys.is_started() {
            // A server of protocol 2.2 or later never starts the exchange: it encrypts with a
            // session key of its own making, which it sends when the client asks with its PUBLIC_KEY.
            let key = self.keys.public_key()?;
            self.enqueue(Uuid::nil(), false, MessageType::PublicKey, Uuid::nil(), Some(&key));
        }
        if !self.early.is_empty() || (encrypted && !self.keys.is_ready()) {
            self.early.push_back(event);
        } else {
            self.events.push_back(event);
        }
        Ok(())
    }
}

/// The value an event carries that may hold SecureStrings.
fn event_value(event: &mut Event) -> Option<&mut Value> {
    match event {
        Event::Output(_, v) | Event::Record(_, _, v) | Event::HostCall(_, v) | Event::UserEvent(v) | Event::ApplicationPrivateData(v) => Some(v),
        _ => None,
    }
}

/// The text of a record of `stream`: a warning's, verbose or debug record's message
/// (`InformationalRecord_Message`, 2.2.3.16), an information record's data (`MessageData`, as text), a
/// progress record's activity and status, an error record's message ([`ErrorInfo`]).
pub fn record_text(stream: Stream, record: &Value) -> String {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o.to_string.clone().unwrap_or_default(),
        _ => String::new(),
    };
    match stream {
        Stream::Error => ErrorInfo::from_record(record).message,
        Stream::Warning | Stream::Verbose | Stream::Debug => text(record.property("InformationalRecord_Message")),
        Stream::Information => text(record.property("MessageData")),
        Stream::Progress => {
            let (activity, status) = (text(record.property("Activity")), text(record.property("StatusDescription")));
            if status.is_empty() { activity } else { format!("{activity}: {status}") }
        }
    }
}

/// The parts of an error record (MS-PSRP 2.2.3.15) a caller shows: FullyQualifiedErrorId, the
/// ErrorCategory's number, the message, and the target object as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// E.g. `CommandNotFoundException`.
    pub fully_qualified_error_id: String,
    /// `ErrorCategory` as a number (e.g. 13 ObjectNotFound).
    pub category: i64,
    /// ErrorDetails' message if there is one, else the exception's, else the record's text.
    pub message: String,
    /// The target object's text (empty when none).
    pub target: String,
}

impl ErrorInfo {
    /// Reads an ERROR_RECORD's (or an ExceptionAsErrorRecord's) parts; missing parts are empty.
    pub fn from_record(record: &Value) -> ErrorInfo {
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => o.to_string.clone().unwrap_or_default(),
            Some(Value::Null) | None => String::new(),
            Some(other) => format!("{other:?}"),
        };
        let details = text(record.property("ErrorDetails_Message"));
        let exception = record.property("Exception").and_then(|e| e.property("Message")).map(|m| text(Some(m))).unwrap_or_default();
        let message = [details, exception, text(Some(record))].into_iter().find(|s| !s.is_empty()).unwrap_or_default();
        ErrorInfo {
            fully_qualified_error_id: text(record.property("FullyQualifiedErrorId")),
            category: record.property("ErrorCategory_Category").and_then(Value::as_i64).unwrap_or(0),
            message,
            target: text(record.property("TargetObject")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psrp::fragment::Outgoing;

    /// Fragment bytes of messages from the server for `pool`.
    fn from_server(pool: Uuid, messages: &[(MessageType, Uuid, &str)]) -> Vec<u8> {
        let mut out = Outgoing::new();
        for (t, pipeline, data) in messages {
            out.push(Message { destination: Destination::Client, message_type: *t, runspace_pool: pool, pipeline: *pipeline, data: data.as_bytes().to_vec() }.encode());
        }
        out.take(None).unwrap().unwrap()
    }

    fn opened() -> RunspacePool {
        let mut p = RunspacePool::new(Uuid::new_v4());
        p.open(1, 1, None).unwrap();
        assert_eq!(p.data_to_send(None).unwrap().map(|d| d.channel), Some(Uuid::nil()));
        let id = p.id();
        p.receive_data(Uuid::nil(), &from_server(id, &[(MessageType::RunspacePoolState, Uuid::nil(), r#"<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>"#)])).unwrap();
        assert_eq!(p.next_event(), Some(Event::PoolState(PoolState::Opened, None)));
        p
    }

    #[test]
    fn requests_wait_for_the_right_state() {
        let mut p = RunspacePool::new(Uuid::new_v4());
        assert_eq!(p.create_pipeline(&[Command::script("1")], false).unwrap_err().kind, ErrorKind::InvalidState);
        p.open(1, 1, None).unwrap();
        assert_eq!(p.open(1, 1, None).unwrap_err().kind, ErrorKind::InvalidState);
        // SESSION_CAPABILITY and INIT_RUNSPACEPOOL go together, on the pool's channel.
        let first = p.data_to_send(None).unwrap().unwrap();
        assert_eq!((first.channel, first.prompt_response), (Uuid::nil(), false));
        assert!(p.data_to_send(None).unwrap().is_none());
        let mut p = opened();
        assert_eq!(p.create_pipeline(&[], false).unwrap_err().kind, ErrorKind::InvalidArgument);
        assert_eq!(p.send_input(Uuid::new_v4(), &Value::Null).unwrap_err().kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn connecting_to_a_disconnected_pool_sends_its_capability_and_opens_on_the_init_data() {
        // The pool of another client, by its RPID (as in test_psrp_disconnect_runspaces.yml).
        let id = Uuid::parse_str("8e1d63b6-a065-f249-9053-a1b156c95777").unwrap();
        let mut p = RunspacePool::new(id);
        assert_eq!(p.connect(Some(2), Some(1)).unwrap_err().kind, ErrorKind::InvalidArgument);
        p.connect(None, None).unwrap();
        assert_eq!(p.state(), PoolState::Connecting);
        assert_eq!(p.connect(None, None).unwrap_err().kind, ErrorKind::InvalidState);
        assert_eq!(p.create_pipeline(&[Command::script("1")], false).unwrap_err().kind, ErrorKind::InvalidState);
        let sent = p.data_to_send(None).unwrap().unwrap();
        assert_eq!(sent.channel, Uuid::nil());
        let mut d = Defragmenter::new(1 << 20);
        let messages: Vec<Message> = d.push(&sent.bytes).unwrap().iter().map(|m| Message::decode(m).unwrap()).collect();
        assert_eq!(messages.iter().map(|m| (m.message_type, m.runspace_pool)).collect::<Vec<_>>(), [(MessageType::SessionCapability, id), (MessageType::ConnectRunspacePool, id)]);
        assert_eq!(String::from_utf8(messages[1].data.clone()).unwrap(), r#"<Obj RefId="0"></Obj>"#);
        // What Windows Server answered in connectResponseXml.
        p.receive_data(Uuid::nil(), &from_server(id, &[
            (MessageType::SessionCapability, Uuid::nil(), r#"<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>"#),
            (MessageType::RunspacePoolInitData, Uuid::nil(), r#"<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">1</I32></MS></Obj>"#),
        ])).unwrap();
        assert_eq!(p.next_event(), Some(Event::SessionCapability { protocol_version: "2.3".into() }));
        assert_eq!(p.next_event(), Some(Event::InitData { min: 1, max: 1 }));
        assert_eq!(p.next_event(), Some(Event::PoolState(PoolState::Opened, None)));
        assert_eq!(p.state(), PoolState::Opened);
        assert!(p.create_pipeline(&[Command::script("1")], false).is_ok());
        // Counts to change go as Int32 properties.
        let mut q = RunspacePool::new(Uuid::new_v4());
        q.connect(Some(1), Some(3)).unwrap();
        let sent = q.data_to_send(None).unwrap().unwrap();
        let data = Defragmenter::new(1 << 20).push(&sent.bytes).unwrap().iter().map(|m| Message::decode(m).unwrap().data).last().unwrap();
        assert_eq!(String::from_utf8(data).unwrap(), r#"<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">3</I32></MS></Obj>"#);
    }

    #[test]
    fn a_pipeline_is_created_alone_and_its_input_follows_in_order() {
        let mut p = opened();
        let id = p.create_pipeline(&[Command::script("$input")], true).unwrap();
        p.send_input(id, &Value::Int32(1)).unwrap();
        p.send_input(id, &Value::Null).unwrap();
        p.end_input(id).unwrap();
        let create = p.data_to_send(None).unwrap().unwrap();
        let input = p.data_to_send(None).unwrap().unwrap();
        assert!(p.data_to_send(None).unwrap().is_none());
        assert_eq!((create.channel, input.channel), (id, id));
        let mut d = Defragmenter::new(1 << 20);
        let messages = |bytes: &[u8], d: &mut Defragmenter| d.push(bytes).unwrap().iter().map(|m| Message::decode(m).unwrap()).map(|m| (m.message_type, String::from_utf8(m.data).unwrap())).collect::<Vec<_>>();
        assert_eq!(messages(&create.bytes, &mut d).iter().map(|m| m.0).collect::<Vec<_>>(), vec![MessageType::CreatePipeline]);
        // A null goes with no data, as PowerShell's client sends it.
        assert_eq!(
            messages(&input.bytes, &mut d),
            vec![(MessageType::PipelineInput, "<I32>1</I32>".to_string()), (MessageType::PipelineInput, String::new()), (MessageType::EndOfPipelineInput, String::new())]
        );
        // Once the pipeline has ended, it takes no more input.
        let pool = p.id();
        p.receive_data(id, &from_server(pool, &[(MessageType::PipelineState, id, r#"<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>"#)])).unwrap();
        assert_eq!(p.next_event(), Some(Event::PipelineState(id, PipelineState::Completed, None)));
        assert_eq!(p.pipeline_state(id), Some(PipelineState::Completed));
        assert_eq!(p.send_input(id, &Value::Null).unwrap_err().kind, ErrorKind::InvalidState);
    }

    #[test]
    fn what_the_server_sends_becomes_events_and_bad_messages_break_the_pool() {
        let mut p = opened();
        let (pool, pipeline) = (p.id(), Uuid::new_v4());
        p.receive_data(pipeline, &from_server(pool, &[
            (MessageType::PipelineOutput, pipeline, ""),
            (MessageType::WarningRecord, pipeline, r#"<Obj RefId="0"><MS><S N="InformationalRecord_Message">careful</S></MS></Obj>"#),
            (MessageType::RunspaceAvailability, Uuid::nil(), r#"<Obj RefId="0"><MS><B N="SetMinMaxRunspacesResponse">true</B><I64 N="ci">7</I64></MS></Obj>"#),
        ])).unwrap();
        assert_eq!(p.next_event(), Some(Event::Output(pipeline, Value::Null)));
        let Some(Event::Record(_, Stream::Warning, w)) = p.next_event() else { panic!() };
        assert_eq!(record_text(Stream::Warning, &w), "careful");
        assert_eq!(p.next_event(), Some(Event::RunspaceAvailability { call: 7, value: Value::Bool(true) }));
        // A message for another pool, and one whose CLIXML does not parse.
        let e = p.receive_data(Uuid::nil(), &from_server(Uuid::new_v4(), &[(MessageType::UserEvent, Uuid::nil(), "<Nil />")])).unwrap_err();
        assert!(e.kind == ErrorKind::BadReply && e.message.contains("came to pool"), "{e:?}");
        assert_eq!(p.state(), PoolState::Broken);
        let mut p = opened();
        let e = p.receive_data(Uuid::nil(), &from_server(p.id(), &[(MessageType::RunspacePoolState, Uuid::nil(), "<Obj><MS>")])).unwrap_err();
        assert!(e.message.contains("RUNSPACEPOOL_STATE"), "{e:?}");
        assert_eq!(p.state(), PoolState::Broken);
    }

    fn sent(p: &mut RunspacePool, d: &mut Defragmenter) -> Vec<(Uuid, bool, MessageType, String)> {
        let mut out = Vec::new();
        while let Some(payload) = p.data_to_send(None).unwrap() {
            for m in d.push(&payload.bytes).unwrap() {
                let m = Message::decode(&m).unwrap();
                out.push((payload.channel, payload.prompt_response, m.message_type, String::from_utf8(m.data).unwrap()));
            }
        }
        out
    }

    #[test]
    fn a_secure_string_waits_for_the_session_key_and_goes_encrypted() {
        let mut p = opened();
        let mut d = Defragmenter::new(1 << 20);
        let command = Command::script("param($s) $s").parameter("s", Value::Secret(clixml::Secret::new("p@ss".into())));
        let id = p.create_pipeline(&[command], false).unwrap();
        // Only the PUBLIC_KEY goes; the pipeline waits for the key.
        let first = sent(&mut p, &mut d);
        assert_eq!(first.len(), 1);
        let (channel, _, t, data) = &first[0];
        assert_eq!((*channel, *t), (Uuid::nil(), MessageType::PublicKey));
        let blob = base64::decode(clixml::parse(data).unwrap().property("PublicKey").and_then(Value::as_str).unwrap()).unwrap();
        assert_eq!((blob.len(), blob[0]), (276, 6));
        // The server's answer releases it, the text encrypted with the session key.
        let (key, sealed) = p.keys.server_side();
        let answer = format!(r#"<Obj RefId="0"><MS><S N="EncryptedSessionKey">{}</S></MS></Obj>"#, base64::encode(sealed));
        p.receive_data(Uuid::nil(), &from_server(p.id(), &[(MessageType::EncryptedSessionKey, Uuid::nil(), &answer)])).unwrap();
        assert_eq!(p.next_event(), None);
        let then = sent(&mut p, &mut d);
        assert_eq!((then.len(), then[0].0, then[0].2), (1, id, MessageType::CreatePipeline));
        assert!(!then[0].3.contains("p@ss"));
        let ss = then[0].3.split("<SS N=\"V\">").nth(1).and_then(|t| t.split("</SS>").next()).unwrap();
        let plain = key.decrypt(&base64::decode(ss).unwrap()).unwrap();
        assert_eq!(clixml::Secret::from_utf16le(&plain).unwrap().expose(), "p@ss");
        // What the server sends encrypted comes out as plain text.
        let output = format!("<SS>{}</SS>", base64::encode(key.encrypt(&clixml::Secret::new("back".into()).to_utf16le()).unwrap()));
        p.receive_data(id, &from_server(p.id(), &[(MessageType::PipelineOutput, id, &output)])).unwrap();
        let Some(Event::Output(_, Value::Secret(s))) = p.next_event() else { panic!() };
        assert_eq!(s.expose(), "back");
    }

    #[test]
    fn a_public_key_request_is_answered_with_the_public_key() {
        let mut p = opened();
        let mut d = Defragmenter::new(1 << 20);
        p.receive_data(Uuid::nil(), &from_server(p.id(), &[(MessageType::PublicKeyRequest, Uuid::nil(), "<S></S>")])).unwrap();
        assert_eq!(p.next_event(), None);
        let out = sent(&mut p, &mut d);
        assert_eq!(out.iter().map(|m| (m.0, m.1, m.2)).collect::<Vec<_>>(), vec![(Uuid::nil(), false, MessageType::PublicKey)]);
        assert!(out[0].3.starts_with(r#"<Obj RefId="0"><MS><S N="PublicKey">BgIAAACkAABSU0ExAAgAAAEAAQ"#), "{}", out[0].3);
    }

    #[test]
    fn host_calls_that_wait_for_an_answer_get_an_exception_back() {
        let mut p = opened();
        let mut d = Defragmenter::new(1 << 20);
        let (pool, pipeline) = (p.id(), Uuid::new_v4());
        let call = |ci: i64, name: &str, mi: i32| {
            format!(
                r#"<Obj RefId="0"><MS><I64 N="ci">{ci}</I64><Obj N="mi" RefId="1"><TN RefId="0"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>{name}</ToString><I32>{mi}</I32></Obj><Obj N="mp" RefId="2"><TN RefId="1"><T>System.Collections.ArrayList</T><T>System.Object</T></TN><LST /></Obj></MS></Obj>"#
            )
        };
        p.receive_data(pipeline, &from_server(pool, &[(MessageType::PipelineHostCall, pipeline, &call(1, "ReadLine", 11)), (MessageType::PipelineHostCall, pipeline, &call(2, "WriteLine2", 16))])).unwrap();
        p.receive_data(Uuid::nil(), &from_server(pool, &[(MessageType::RunspacePoolHostCall, Uuid::nil(), &call(3, "GetName", 1))])).unwrap();
        let mut answered = Vec::new();
        while let Some(Event::HostCall(on, v)) = p.next_event() {
            answered.push(p.reject_host_call(on, &v).unwrap());
        }
        // WriteLine returns nothing: the server waits for no answer.
        assert_eq!(answered, vec![true, false, true]);
        let out = sent(&mut p, &mut d);
        assert_eq!(out.iter().map(|m| (m.0, m.1, m.2)).collect::<Vec<_>>(), vec![(pipeline, true, MessageType::PipelineHostResponse), (Uuid::nil(), true, MessageType::RunspacePoolHostResponse)]);
        let response = clixml::parse(&out[0].3).unwrap();
        assert_eq!(response.property("ci"), Some(&Value::Int64(1)));
        assert_eq!(response.property("mi").and_then(Value::as_i64), Some(11));
        let me = response.property("me").unwrap();
        assert_eq!(ErrorInfo::from_record(me).fully_qualified_error_id, "RemoteHostExecutionException");
        assert!(ErrorInfo::from_record(me).message.contains("no host"), "{me:?}");
        assert!(response.property("mr").is_none());
        assert_eq!(p.reject_host_call(None, &Value::Null).unwrap_err().kind, ErrorKind::BadReply);
    }

    #[test]
    fn error_records_give_their_parts() {
        let record = crate::psrp::clixml::parse(concat!(
            r#"<Obj RefId="0"><ToString>fallback</ToString><MS>"#,
            r#"<Obj N="Exception" RefId="1"><Props><S N="Message">from the exception</S></Props></Obj>"#,
            r#"<S N="FullyQualifiedErrorId">PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand</S>"#,
            r#"<I32 N="ErrorCategory_Category">13</I32><S N="TargetObject">/nope</S></MS></Obj>"#
        ))
        .unwrap();
        let info = ErrorInfo::from_record(&record);
        assert_eq!(info.message, "from the exception");
        assert_eq!(info.fully_qualified_error_id, "PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand");
        assert_eq!((info.category, info.target.as_str()), (13, "/nope"));
        assert_eq!(ErrorInfo::from_record(&Value::Null).message, "");
    }
}
