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

/// One request and its response as pypsrp's YAML recordings hold them (`messages:` of `- request:` /
/// `response:` pairs). `response` is None when the recording has `null` there (the exchange ended in a
/// connection error instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The request envelope.
    pub request: String,
    /// The response envelope, when there is one.
    pub response: Option<String>,
    /// The recording's other keys of the exchange (`transport_error`, `overrides`, …), as their lines.
    pub extra: Vec<String>,
}

/// The exchanges of a pypsrp YAML recording, in order. Reads the subset of YAML those files use: the
/// `request` and `response` values are plain or single-quoted scalars, possibly folded over indented
/// continuation lines; other keys of an exchange are kept as lines in [`Exchange::extra`].
pub fn exchanges(text: &str) -> Vec<Exchange> {
    let mut out: Vec<Exchange> = Vec::new();
    // The scalar being read: which key, and its lines.
    let mut open: Option<(&str, Vec<&str>)> = None;
    let finish = |out: &mut Vec<Exchange>, open: &mut Option<(&str, Vec<&str>)>| {
        if let (Some((key, lines)), Some(last)) = (open.take(), out.last_mut()) {
            let value = scalar(&lines);
            if key == "request" {
                last.request = value.unwrap_or_default();
            } else {
                last.response = value;
            }
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("- request:") {
            finish(&mut out, &mut open);
            out.push(Exchange { request: String::new(), response: None, extra: Vec::new() });
            open = Some(("request", vec![rest.trim_start()]));
        } else if let Some(rest) = line.strip_prefix("  response:") {
            finish(&mut out, &mut open);
            open = Some(("response", vec![rest.trim_start()]));
        } else if line.starts_with("    ") || line.trim().is_empty() {
            // A continuation of the open scalar, or a line of an extra key's value.
            match (&mut open, out.last_mut()) {
                (Some((_, lines)), _) => lines.push(line.trim()),
                (None, Some(last)) if !line.trim().is_empty() => last.extra.push(line.to_string()),
                _ => {}
            }
        } else {
            finish(&mut out, &mut open);
            if let (true, Some(last)) = (line.starts_with("  "), out.last_mut()) {
                last.extra.push(line.to_string());
            }
        }
    }
    finish(&mut out, &mut open);
    out
}

/// A YAML flow scalar from its lines (the first after the key, the rest trimmed continuation lines):
/// lines fold to one space, an empty line to a line break; single quotes unquote (`''` is `'`);
/// `null` and `~` are None.
fn scalar(lines: &[&str]) -> Option<String> {
    let mut folded = String::new();
    let mut pending_breaks = 0;
    for (n, line) in lines.iter().enumerate() {
        if line.is_empty() {
            pending_breaks += 1;
            continue;
        }
        if n > 0 {
            if pending_breaks > 0 {
                folded.extend(std::iter::repeat('\n').take(pending_breaks));
            } else {
                folded.push(' ');
            }
        }
        pending_breaks = 0;
        folded.push_str(line);
    }
    match folded.as_str() {
        "null" | "~" | "" => None,
        quoted if quoted.len() >= 2 && quoted.starts_with('\'') && quoted.ends_with('\'') => Some(quoted[1..quoted.len() - 1].replace("''", "'")),
        plain => Some(plain.to_string()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_exchanges_unfold_and_unquote_their_scalars() {
        let text = "# a comment\nmessages:\n- request: <a>one\n    two</a>\n  response: '<b x=''1''>\n\n    c</b>'\n  transport_error:\n    code: 500\n\n# between\n- request: <c/>\n  response: null\n  http_error: true\n";
        let got = exchanges(text);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].request, "<a>one two</a>");
        assert_eq!(got[0].response.as_deref(), Some("<b x='1'>\nc</b>"));
        assert_eq!(got[0].extra, ["  transport_error:", "    code: 500"]);
        assert_eq!((got[1].request.as_str(), got[1].response.as_deref()), ("<c/>", None));
        assert_eq!(got[1].extra, ["  http_error: true"]);
    }
}
