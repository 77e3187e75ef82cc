//! The OutOfProc framing of PSRP (PowerShell's `OutOfProcessUtils`; spec/cmdlet-behaviour.md §3.2):
//! one XML element per line over a server process's stdin/stdout or an ssh channel. The client sends
//! `Data` (fragment bytes in base64, for the pool or one pipeline), `Command` (open a pipeline's
//! channel), `Signal` (stop it) and `Close`; the server answers with `Data` and the acks. Sans-IO: lines
//! are made and read here, moved by a [`crate::transport::packet::PacketTransport`].
//!
//! Flow control the caller keeps: at most one `Data` per channel awaits its `DataAck`.

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};

/// A `Data` line for `channel` (nil: the runspace pool) on the `Default` stream, or `PromptResponse`
/// for answers to host calls.
pub fn data(channel: Uuid, prompt_response: bool, bytes: &[u8]) -> String {
    let stream = if prompt_response { "PromptResponse" } else { "Default" };
    format!("<Data Stream='{stream}' PSGuid='{}'>{}</Data>", channel.hyphenated(), base64::encode(bytes))
}

/// A `Command` line: opens `pipeline`'s channel (the server answers `CommandAck`).
pub fn command(pipeline: Uuid) -> String {
    format!("<Command PSGuid='{}' />", pipeline.hyphenated())
}

/// A `Signal` line: stops `pipeline` (the server answers `SignalAck`).
pub fn signal(pipeline: Uuid) -> String {
    format!("<Signal PSGuid='{}' />", pipeline.hyphenated())
}

/// A `Close` line: closes a pipeline's channel, or the session for the nil id (`CloseAck` follows).
pub fn close(channel: Uuid) -> String {
    format!("<Close PSGuid='{}' />", channel.hyphenated())
}

/// The server's acknowledgement of a client line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// `DataAck`: the server took the channel's last `Data`.
    Data,
    /// `CommandAck`: the pipeline's channel is open.
    Command,
    /// `SignalAck`: the pipeline was asked to stop.
    Signal,
    /// `CloseAck`: the channel (for nil, the session) is closed.
    Close,
}

/// An acknowledgement line for `channel`, as a server writes it (for transports that stand in for
/// one, such as a WinRS shell).
pub fn ack(kind: Ack, channel: Uuid) -> String {
    let name = match kind {
        Ack::Data => "DataAck",
        Ack::Command => "CommandAck",
        Ack::Signal => "SignalAck",
        Ack::Close => "CloseAck",
    };
    format!("<{name} PSGuid='{}' />", channel.hyphenated())
}

/// A line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerPacket {
    /// Fragment bytes for a channel (`Stream` is always `Default` from a server).
    Data(Uuid, Vec<u8>),
    /// The server has taken the client's last `Data` of that channel.
    DataAck(Uuid),
    /// The pipeline's channel is open.
    CommandAck(Uuid),
    /// The pipeline was asked to stop.
    SignalAck(Uuid),
    /// The channel (or, for nil, the session) is closed.
    CloseAck(Uuid),
}

/// A line from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPacket {
    /// Fragment bytes for a channel (nil: the pool); `prompt_response` for the `PromptResponse` stream.
    Data { channel: Uuid, prompt_response: bool, bytes: Vec<u8> },
    /// Open a pipeline's channel.
    Command(Uuid),
    /// Stop a pipeline.
    Signal(Uuid),
    /// Close a pipeline's channel, or the session for nil.
    Close(Uuid),
}

/// One line taken apart: its element name, PSGuid, `Stream` attribute and decoded `Data` payload.
struct Line<'a> {
    name: &'a str,
    guid: Uuid,
    stream: Option<&'a str>,
    payload: Option<Vec<u8>>,
}

fn split(line: &str) -> Result<Line<'_>> {
    let line = line.trim();
    let bad = |what: &str| Error::new(ErrorKind::BadReply, format!("Malformed OutOfProc packet ({what}): {}", line.chars().take(120).collect::<String>()));
    let name_end = line.find([' ', '>', '/']).ok_or_else(|| bad("no element"))?;
    let name = line.strip_prefix('<').map(|_| &line[1..name_end]).ok_or_else(|| bad("no element"))?;
    let guid_at = line.find("PSGuid='").ok_or_else(|| bad("no PSGuid"))? + "PSGuid='".len();
    let guid = line.get(guid_at..guid_at + 36).and_then(|g| Uuid::parse_str(g).ok()).ok_or_else(|| bad("bad PSGuid"))?;
    let start = line.find('>').ok_or_else(|| bad("unclosed"))? + 1;
    let stream = line[..start].find("Stream='").map(|at| &line[at + "Stream='".len()..start]).and_then(|rest| rest.split('\'').next());
    let payload = if name == "Data" {
        let end = line.rfind("</Data>").filter(|e| *e >= start).ok_or_else(|| bad("unclosed"))?;
        Some(base64::decode(&line[start..end]).map_err(|_| bad("bad base64"))?)
    } else {
        None
    };
    Ok(Line { name, guid, stream, payload })
}

/// Reads a line from the server. Errors (BadReply): any other element, a bad GUID, bad base64.
pub fn parse(line: &str) -> Result<ServerPacket> {
    let Line { name, guid, payload, .. } = split(line)?;
    Ok(match (name, payload) {
        ("Data", Some(bytes)) => ServerPacket::Data(guid, bytes),
        ("DataAck", _) => ServerPacket::DataAck(guid),
        ("CommandAck", _) => ServerPacket::CommandAck(guid),
        ("SignalAck", _) => ServerPacket::SignalAck(guid),
        ("CloseAck", _) => ServerPacket::CloseAck(guid),
        _ => return Err(unknown(line)),
    })
}

/// Reads a line from the client. Errors (BadReply): any other element, a bad GUID, bad base64.
pub fn parse_client(line: &str) -> Result<ClientPacket> {
    let Line { name, guid, stream, payload } = split(line)?;
    Ok(match (name, payload) {
        ("Data", Some(bytes)) => ClientPacket::Data { channel: guid, prompt_response: stream == Some("PromptResponse"), bytes },
        ("Command", _) => ClientPacket::Command(guid),
        ("Signal", _) => ClientPacket::Signal(guid),
        ("Close", _) => ClientPacket::Close(guid),
        _ => return Err(unknown(line)),
    })
}

fn unknown(line: &str) -> Error {
    Error::new(ErrorKind::BadReply, format!("Malformed OutOfProc packet (unknown element): {}", line.trim().chars().take(120).collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_made_and_read_as_powershell_frames_them() {
        let p = Uuid::parse_str("0f9b4cb5-1d2e-4a2a-8c3f-5a4e0d6b7c8d").unwrap();
        assert_eq!(data(Uuid::nil(), false, b"ab"), "<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>YWI=</Data>");
        assert_eq!(command(p), "<Command PSGuid='0f9b4cb5-1d2e-4a2a-8c3f-5a4e0d6b7c8d' />");
        assert_eq!(parse(&data(p, false, b"xyz")).unwrap(), ServerPacket::Data(p, b"xyz".to_vec()));
        assert_eq!(parse("<DataAck PSGuid='0f9b4cb5-1d2e-4a2a-8c3f-5a4e0d6b7c8d' />\r").unwrap(), ServerPacket::DataAck(p));
        assert_eq!(parse("<CloseAck PSGuid='00000000-0000-0000-0000-000000000000' />").unwrap(), ServerPacket::CloseAck(Uuid::nil()));
        assert_eq!(parse(&ack(Ack::Signal, p)).unwrap(), ServerPacket::SignalAck(p));
        assert_eq!(parse(&ack(Ack::Data, p)).unwrap(), ServerPacket::DataAck(p));
        assert_eq!(parse_client(&data(p, true, b"pr")).unwrap(), ClientPacket::Data { channel: p, prompt_response: true, bytes: b"pr".to_vec() });
        assert_eq!(parse_client(&data(p, false, b"")).unwrap(), ClientPacket::Data { channel: p, prompt_response: false, bytes: Vec::new() });
        assert_eq!(parse_client(&command(p)).unwrap(), ClientPacket::Command(p));
        assert_eq!(parse_client(&signal(p)).unwrap(), ClientPacket::Signal(p));
        assert_eq!(parse_client(&close(Uuid::nil())).unwrap(), ClientPacket::Close(Uuid::nil()));
        assert_eq!(parse_client(&ack(Ack::Close, p)).unwrap_err().kind, ErrorKind::BadReply);
        for bad in ["hello", "<Data PSGuid='x'>AA==</Data>", "<Oops PSGuid='00000000-0000-0000-0000-000000000000' />", "<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>**</Data>", "<Data PSGuid='00000000-0000-0000-0000-000000000000'>"] {
            assert_eq!(parse(bad).unwrap_err().kind, ErrorKind::BadReply, "{bad}");
        }
    }
}
