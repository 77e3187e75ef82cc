//! PSRP traffic as it was recorded, turned back into messages: WinRS conversations (WS-Management
//! envelopes, or pypsrp's YAML recordings of them, whose PSRP fragments travel in base64 inside
//! `creationXml`, `connectXml`, `connectResponseXml`, a Command's `Arguments` and the `stdin`, `pr`
//! and `stdout` streams of Send and Receive) and OutOfProc packet lines (`<Data … PSGuid='…'>`). For
//! people debugging remoting (rsess-psrp-dump) and for tests; no I/O.

use std::collections::HashMap;

use once_cell::sync::Lazy;
use regex::Regex;
use uuid::Uuid;

use super::fragment::Defragmenter;
use super::message::Message;
use super::outofproc::{self, ServerPacket};
use crate::error::Result;

/// Who sent a chunk of fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sender {
    /// The client (to the server).
    Client,
    /// The server (to the client).
    Server,
}

/// Fragment bytes as recorded: who sent them (when the recording says), on which channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The sender, when the recording tells it.
    pub sender: Option<Sender>,
    /// The channel: a pipeline or command id, or nil for the runspace pool or shell.
    pub channel: Uuid,
    /// The fragment bytes.
    pub bytes: Vec<u8>,
}

static WINRS_PAYLOAD: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r#"<(rsp:Stream|creationXml|connectXml|connectResponseXml|rsp:Arguments)\b([^>]*)>([A-Za-z0-9+/=\s]+)</"#).expect("a valid pattern")
});

/// The PSRP chunks of a WinRS conversation, in order, all on the nil channel. In pypsrp's YAML (`messages:` of `- request:` /
/// `response:` pairs) only exchanges whose request names a PowerShell resource URI count (a file may
/// also drive cmd shells); any other text is read as envelopes. Base64 that does not decode is skipped.
pub fn winrs_chunks(text: &str) -> Vec<Chunk> {
    let exchanges: Vec<&str> = if text.contains("\n- request:") {
        text.split("\n- request:").skip(1).filter(|x| x.contains("http://schemas.microsoft.com/powershell/")).collect()
    } else {
        vec![text]
    };
    let mut chunks = Vec::new();
    for exchange in exchanges {
        for c in WINRS_PAYLOAD.captures_iter(exchange) {
            let (tag, attributes) = (&c[1], &c[2]);
            let sender = match tag {
                "creationXml" | "connectXml" | "rsp:Arguments" => Sender::Client,
                "connectResponseXml" => Sender::Server,
                _ if attributes.contains("\"stdin\"") || attributes.contains("\"pr\"") => Sender::Client,
                _ => Sender::Server,
            };
            // One stream per sender: a pipeline's first fragment rides in its Command (no CommandId yet),
            // the rest in Sends naming the command, and object ids are unique per sender anyway.
            if let Ok(bytes) = base64::decode(c[3].split_ascii_whitespace().collect::<String>()) {
                chunks.push(Chunk { sender: Some(sender), channel: Uuid::nil(), bytes });
            }
        }
    }
    chunks
}

/// The PSRP chunks of OutOfProc packet lines, in order: each `<Data>` line's bytes on its `PSGuid`. A
/// line may start with `>` (client to server) or `<` followed by a space (server to client) to say who
/// sent it; other lines (acks, commands, text) are skipped.
pub fn outofproc_chunks(text: &str) -> Vec<Chunk> {
    text.lines()
        .filter_map(|line| {
            let (sender, line) = match line.trim_start() {
                l if l.starts_with("> ") => (Some(Sender::Client), &l[2..]),
                l if l.starts_with("< ") => (Some(Sender::Server), &l[2..]),
                l => (None, l),
            };
            match outofproc::parse(line) {
                Ok(ServerPacket::Data(channel, bytes)) => Some(Chunk { sender, channel, bytes }),
                _ => None,
            }
        })
        .collect()
}

/// Reassembles chunks into messages, per sender and channel (a chunk without a sender is reassembled
/// with the others of its channel), in the order they complete. A stream that breaks yields its error
/// and starts over.
pub fn messages(chunks: &[Chunk]) -> Vec<Result<Message>> {
    let mut streams: HashMap<(Option<Sender>, Uuid), Defragmenter> = HashMap::new();
    let mut out = Vec::new();
    for chunk in chunks {
        let key = (chunk.sender, chunk.channel);
        let stream = streams.entry(key).or_insert_with(|| Defragmenter::new(64 << 20));
        match stream.push(&chunk.bytes) {
            Ok(whole) => out.extend(whole.iter().map(|m| Message::decode(m))),
            Err(e) => {
                streams.remove(&key);
                out.push(Err(e));
            }
        }
    }
    out
}
