//! A client that can only open runspace pools, connected to a pool another client disconnected
//! ("reconstruct", MS-PSRP 3.1.4.7 and 3.2.5.3.x): PowerShell's engine over a custom transport cannot
//! connect a pool itself, but it can open one. [`Reconstruction`] rewrites the two conversations into
//! each other, sans-IO, channel by channel (nil: the pool; else a pipeline):
//!
//! - The client's opening (SESSION_CAPABILITY and INIT_RUNSPACEPOOL, for its own new pool id) goes to the
//!   server as the connect request: SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL for the server's pool,
//!   each in one fragment, as the server requires of a connect.
//! - The server's connect response (SESSION_CAPABILITY, RUNSPACEPOOL_INIT_DATA) and the
//!   APPLICATION_PRIVATE_DATA it sends once connected reach the client as an opening answer does:
//!   SESSION_CAPABILITY, APPLICATION_PRIVATE_DATA, then RUNSPACEPOOL_STATE Opened.
//! - Afterwards every message's runspace pool id (RPID, bytes 8..24 of the message header, MS-PSRP
//!   2.2.1) is the server's on the way in and the client's on the way out. Fragments are rewritten in
//!   place, so pipelines' output streams through whole whatever its size.

use std::collections::HashMap;

use uuid::Uuid;

use super::clixml;
use super::fragment::{Defragmenter, Outgoing, HEADER_LEN};
use super::message::{Destination, Message, MessageType};
use super::request;
use crate::error::{Error, ErrorKind, Result};

/// Most bytes of unfinished pool messages held from either side (what a runspace pool holds).
const MAX_HELD: usize = 64 << 20;

/// RUNSPACEPOOL_STATE's data for Opened (MS-PSRP 2.2.2.9, `RunspaceState` 2 of 2.2.3.4).
const OPENED_STATE: &str = r#"<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>"#;

/// Offset of the RPID in a start fragment: the fragment header, then destination and message type.
const RPID_AT: usize = HEADER_LEN + 8;

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The client's opening has not come yet.
    AwaitingOpen,
    /// The connect request went; the server's connect response is due.
    AwaitingConnectResponse,
    /// The client has the server's capability; APPLICATION_PRIVATE_DATA is due, then the client is
    /// told its pool is open.
    AwaitingPrivateData,
    /// Connected: only pool ids are rewritten.
    Connected,
}

/// The rewriting of one client's conversation with one server pool. Not thread-safe: the caller
/// keeps it behind its own lock.
pub struct Reconstruction {
    server_pool: Uuid,
    /// The client's pool id, known from its opening.
    client_pool: Option<Uuid>,
    phase: Phase,
    /// The client's opening, reassembled.
    opening: Defragmenter,
    /// The server's pool channel, reassembled: its messages go to the client one fragment each.
    pool_from_server: Defragmenter,
    /// Fragments to the client on the pool channel, numbered from 1.
    pool_to_client: Outgoing,
    /// Partial fragments per channel and direction (true: from the server), rewritten once whole.
    partial: HashMap<(Uuid, bool), Vec<u8>>,
}

impl Reconstruction {
    /// The rewriting for a client that will open a pool and is to be connected to `server_pool`
    /// (for a WinRS shell, its ShellId).
    pub fn new(server_pool: Uuid) -> Reconstruction {
        Reconstruction {
            server_pool,
            client_pool: None,
            phase: Phase::AwaitingOpen,
            opening: Defragmenter::new(MAX_HELD),
            pool_from_server: Defragmenter::new(MAX_HELD),
            pool_to_client: Outgoing::new(),
            partial: HashMap::new(),
        }
    }

    /// Whether the client has been told its pool is open.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// The client's fragment bytes for `channel` as they go to the server: the first pool bytes are
    /// the connect request (see the module's documentation); later ones, and pipelines' bytes, carry
    /// the server's pool id. Only whole fragments go on: a partial one waits for its rest (the result
    /// may be empty). Errors: InvalidArgument when the client's first pool bytes are no whole
    /// SESSION_CAPABILITY and INIT_RUNSPACEPOOL, or a pipeline's bytes come before the pool is connected;
    /// BadReply for malformed fragments.
    pub fn from_client(&mut self, channel: Uuid, bytes: &[u8]) -> Result<Vec<u8>> {
        match self.phase {
            Phase::AwaitingOpen if channel.is_nil() => self.connect_request(bytes),
            Phase::AwaitingOpen => Err(Error::new(ErrorKind::InvalidArgument, "A pipeline's data came before the runspace pool was opened")),
            _ => {
                let Some(client_pool) = self.client_pool else { unreachable!("known once the opening came") };
                self.rewrite(channel, false, bytes, client_pool, self.server_pool)
            }
        }
    }

    /// The server's fragment bytes for `channel` as they go to the client, with the client's pool id;
    /// on the pool channel, the handshake's answer as the client expects it. May be empty (a partial
    /// fragment, a message held or dropped). Errors: BadReply for malformed fragments, or a connect
    /// response without the server's SESSION_CAPABILITY.
    pub fn from_server(&mut self, channel: Uuid, bytes: &[u8]) -> Result<Vec<u8>> {
        let client_pool = self.client_pool.ok_or_else(|| Error::new(ErrorKind::BadReply, "The server sent data before it was asked to connect"))?;
        if !channel.is_nil() {
            return self.rewrite(channel, true, bytes, self.server_pool, client_pool);
        }
        for mut message in self.pool_from_server.push(bytes)? {
            let kind = message_type(&message);
            if message.len() >= 24 && message[8..24] == self.server_pool.to_bytes_le() {
                message[8..24].copy_from_slice(&client_pool.to_bytes_le());
            }
            match self.phase {
                Phase::AwaitingConnectResponse => match kind {
                    Some(MessageType::SessionCapability) => {
                        self.pool_to_client.push(message);
                        self.phase = Phase::AwaitingPrivateData;
                    }
                    _ => return Err(Error::new(ErrorKind::BadReply, "The server's connect response did not begin with its SESSION_CAPABILITY")),
                },
                // The counts of the pool connected to; the client keeps those it asked for.
                Phase::AwaitingPrivateData if kind == Some(MessageType::RunspacePoolInitData) => {}
                Phase::AwaitingPrivateData if kind == Some(MessageType::ApplicationPrivateData) => {
                    self.pool_to_client.push(message);
                    let opened = Message { destination: Destination::Client, message_type: MessageType::RunspacePoolState, runspace_pool: client_pool, pipeline: Uuid::nil(), data: OPENED_STATE.as_bytes().to_vec() };
                    self.pool_to_client.push(opened.encode());
                    self.phase = Phase::Connected;
                }
                _ => {
                    self.pool_to_client.push(message);
                }
            }
        }
        Ok(self.pool_to_client.take(None)?.unwrap_or_default())
    }

    /// SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL for the server's pool, from the client's opening.
    fn connect_request(&mut self, bytes: &[u8]) -> Result<Vec<u8>> {
        let messages = self.opening.push(bytes)?;
        let opening = |what: &str| Error::new(ErrorKind::InvalidArgument, format!("The client's first runspace pool data is not an opening ({what})"));
        let [capability, init] = messages.as_slice() else { return Err(opening("not two whole messages")) };
        if message_type(capability) != Some(MessageType::SessionCapability) || message_type(init) != Some(MessageType::InitRunspacePool) || !self.opening.is_idle() {
            return Err(opening("not SESSION_CAPABILITY and INIT_RUNSPACEPOOL alone"));
        }
        let capability = Message::decode(capability)?;
        self.client_pool = Some(capability.runspace_pool);
        let mut out = Outgoing::new();
        out.push(Message { runspace_pool: self.server_pool, ..capability }.encode());
        let connect = clixml::write(&request::connect_runspace_pool(None, None));
        out.push(Message { destination: Destination::Server, message_type: MessageType::ConnectRunspacePool, runspace_pool: self.server_pool, pipeline: Uuid::nil(), data: connect.into_bytes() }.encode());
        self.phase = Phase::AwaitingConnectResponse;
        Ok(out.take(None)?.unwrap_or_default())
    }

    /// The whole fragments `bytes` completes on `channel`, with pool id `from` in their message headers
    /// turned into `to`; the rest of a partial fragment waits. Errors: BadReply for a fragment longer
    /// than [`MAX_HELD`].
    fn rewrite(&mut self, channel: Uuid, from_server: bool, bytes: &[u8], from: Uuid, to: Uuid) -> Result<Vec<u8>> {
        let pending = self.partial.entry((channel, from_server)).or_default();
        pending.extend_from_slice(bytes);
        let mut whole = 0;
        while let Some(length) = pending.get(whole + 17..whole + HEADER_LEN).map(|l| u32::from_be_bytes(l.try_into().expect("4 bytes")) as usize) {
            if length > MAX_HELD {
                return Err(Error::new(ErrorKind::BadReply, format!("Malformed PSRP fragments: a fragment of {length} bytes is larger than the {MAX_HELD} allowed")));
            }
            let end = whole + HEADER_LEN + length;
            if pending.len() < end {
                break;
            }
            let start = pending[whole + 16] & 0x1 != 0;
            if start && length >= 24 && pending[whole + RPID_AT..whole + RPID_AT + 16] == from.to_bytes_le() {
                pending[whole + RPID_AT..whole + RPID_AT + 16].copy_from_slice(&to.to_bytes_le());
            }
            whole = end;
        }
        let rest = pending.split_off(whole);
        Ok(std::mem::replace(pending, rest))
    }
}

/// The type of a whole message, None when unknown or too short.
fn message_type(message: &[u8]) -> Option<MessageType> {
    MessageType::from_u32(u32::from_le_bytes(message.get(4..8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psrp::pool::{Event, PoolState, RunspacePool};
    use crate::psrp::request::Command;

    fn messages(bytes: &[u8]) -> Vec<Message> {
        Defragmenter::new(1 << 20).push(bytes).unwrap().iter().map(|m| Message::decode(m).unwrap()).collect()
    }

    /// The flags byte of each fragment in `bytes`.
    fn fragment_flags(bytes: &[u8]) -> Vec<u8> {
        let mut flags = Vec::new();
        let mut at = 0;
        while at + HEADER_LEN <= bytes.len() {
            flags.push(bytes[at + 16]);
            at += HEADER_LEN + u32::from_be_bytes(bytes[at + 17..at + HEADER_LEN].try_into().unwrap()) as usize;
        }
        flags
    }

    fn from_server(pool: Uuid, pipeline: Uuid, items: &[(MessageType, &str)]) -> Vec<u8> {
        let mut out = Outgoing::new();
        for (t, data) in items {
            out.push(Message { destination: Destination::Client, message_type: *t, runspace_pool: pool, pipeline, data: data.as_bytes().to_vec() }.encode());
        }
        out.take(None).unwrap().unwrap()
    }

    const CAPABILITY: &str = r#"<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>"#;
    const INIT_DATA: &str = r#"<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">1</I32></MS></Obj>"#;
    const PRIVATE_DATA: &str = r#"<Obj RefId="0"><MS><Obj N="ApplicationPrivateData" RefId="1"><TN RefId="0"><T>System.Management.Automation.PSPrimitiveDictionary</T><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT /></Obj></MS></Obj>"#;

    /// A client pool opened through a reconstruction of `server`, as the server answers a connect.
    fn connected(server: Uuid) -> (RunspacePool, Reconstruction) {
        let mut client = RunspacePool::new(Uuid::new_v4());
        let mut r = Reconstruction::new(server);
        client.open(1, 1, None).unwrap();
        let opening = client.data_to_send(None).unwrap().unwrap();
        let request = r.from_client(Uuid::nil(), &opening.bytes).unwrap();
        // Each message in one whole fragment (start and end), for the server pool.
        assert_eq!(fragment_flags(&request), [0x3, 0x3]);
        let sent = messages(&request);
        assert_eq!(sent.iter().map(|m| (m.message_type, m.runspace_pool)).collect::<Vec<_>>(), [(MessageType::SessionCapability, server), (MessageType::ConnectRunspacePool, server)]);
        assert_eq!(sent[1].data, br#"<Obj RefId="0"></Obj>"#);
        // The connect response: the client learns the server's capability, not yet that it is open.
        let answer = r.from_server(Uuid::nil(), &from_server(server, Uuid::nil(), &[(MessageType::SessionCapability, CAPABILITY), (MessageType::RunspacePoolInitData, INIT_DATA)])).unwrap();
        assert_eq!(messages(&answer).iter().map(|m| (m.message_type, m.runspace_pool)).collect::<Vec<_>>(), [(MessageType::SessionCapability, client.id())]);
        client.receive_data(Uuid::nil(), &answer).unwrap();
        assert_eq!(client.state(), PoolState::Opening);
        assert!(!r.is_connected());
        // Its private data, sent once connected, opens the client's pool.
        let answer = r.from_server(Uuid::nil(), &from_server(server, Uuid::nil(), &[(MessageType::ApplicationPrivateData, PRIVATE_DATA)])).unwrap();
        assert_eq!(messages(&answer).iter().map(|m| m.message_type).collect::<Vec<_>>(), [MessageType::ApplicationPrivateData, MessageType::RunspacePoolState]);
        client.receive_data(Uuid::nil(), &answer).unwrap();
        assert_eq!(client.state(), PoolState::Opened);
        assert!(r.is_connected());
        while client.next_event().is_some() {}
        (client, r)
    }

    #[test]
    fn an_opening_client_is_connected_to_the_servers_pool() {
        let server = Uuid::parse_str("8e1d63b6-a065-f249-9053-a1b156c95777").unwrap();
        let (mut client, mut r) = connected(server);
        // A pipeline's messages carry the server's pool id on the way in, the client's on the way out.
        let pipeline = client.create_pipeline(&[Command::script("$x")], false).unwrap();
        let create = client.data_to_send(None).unwrap().unwrap();
        let to_server = r.from_client(create.channel, &create.bytes).unwrap();
        assert_eq!(messages(&to_server)[0].runspace_pool, server);
        assert_eq!(messages(&to_server)[0].message_type, MessageType::CreatePipeline);
        let output = from_server(server, pipeline, &[(MessageType::PipelineOutput, "<I32>5</I32>"), (MessageType::PipelineState, r#"<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>"#)]);
        // Split anywhere, whole fragments come out, in order, and nothing is lost.
        for cut in 1..output.len() {
            let mut rr = Reconstruction { client_pool: Some(client.id()), phase: Phase::Connected, ..Reconstruction::new(server) };
            let mut got = rr.from_server(pipeline, &output[..cut]).unwrap();
            got.extend(rr.from_server(pipeline, &output[cut..]).unwrap());
            assert_eq!(messages(&got).iter().map(|m| m.runspace_pool).collect::<Vec<_>>(), [client.id(), client.id()]);
        }
        client.receive_data(pipeline, &r.from_server(pipeline, &output).unwrap()).unwrap();
        let events: Vec<Event> = std::iter::from_fn(|| client.next_event()).collect();
        assert!(events.iter().any(|e| matches!(e, Event::Output(p, crate::psrp::clixml::Value::Int32(5)) if *p == pipeline)), "{events:?}");
        // The pool's own messages are rewritten too, both ways.
        let state = from_server(server, Uuid::nil(), &[(MessageType::RunspacePoolState, r#"<Obj RefId="0"><MS><I32 N="RunspaceState">3</I32></MS></Obj>"#)]);
        assert_eq!(messages(&r.from_server(Uuid::nil(), &state).unwrap())[0].runspace_pool, client.id());
    }

    #[test]
    fn what_does_not_fit_the_handshake_is_an_error() {
        let server = Uuid::new_v4();
        let mut r = Reconstruction::new(server);
        assert_eq!(r.from_client(Uuid::new_v4(), b"").unwrap_err().kind, ErrorKind::InvalidArgument);
        assert_eq!(r.from_server(Uuid::nil(), b"").unwrap_err().kind, ErrorKind::BadReply);
        let only_capability = {
            let mut out = Outgoing::new();
            out.push(Message { destination: Destination::Server, message_type: MessageType::SessionCapability, runspace_pool: Uuid::new_v4(), pipeline: Uuid::nil(), data: CAPABILITY.as_bytes().to_vec() }.encode());
            out.take(None).unwrap().unwrap()
        };
        let e = r.from_client(Uuid::nil(), &only_capability).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("not an opening"), "{}", e.message);
        // A server that answers the connect with anything but its capability.
        let mut client = RunspacePool::new(Uuid::new_v4());
        client.open(1, 1, None).unwrap();
        let mut r = Reconstruction::new(server);
        r.from_client(Uuid::nil(), &client.data_to_send(None).unwrap().unwrap().bytes).unwrap();
        let e = r.from_server(Uuid::nil(), &from_server(server, Uuid::nil(), &[(MessageType::RunspacePoolInitData, INIT_DATA)])).unwrap_err();
        assert!(e.message.contains("SESSION_CAPABILITY"), "{}", e.message);
        // A fragment header that claims more than is ever held.
        let (_, mut r) = connected(server);
        let mut huge = vec![0u8; HEADER_LEN];
        huge[16] = 3;
        huge[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(r.from_server(Uuid::new_v4(), &huge).unwrap_err().kind, ErrorKind::BadReply);
    }
}
