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

/// Reads a line from the server. Errors (BadReply): any other element, a bad GUID, bad base64.
pub fn parse(line: &str) -> Result<ServerPacket> {
    let line = line.trim();
    let bad = |what: &str| Error::new(ErrorKind::BadReply, format!("Malformed OutOfProc packet ({what}): {}", line.chars().take(120).collect::<String>()));
    let name_end = line.find([' ', '>', '/']).ok_or_else(|| bad("no element"))?;
    let name = line.strip_prefix('<').map(|_| &line[1..name_end]).ok_or_else(|| bad("no element"))?;
    let guid_at = line.find("PSGuid='").ok_or_else(|| bad("no PSGuid"))? + "PSGuid='".len();
    let guid = line.get(guid_at..guid_at + 36).and_then(|g| Uuid::parse_str(g).ok()).ok_or_else(|| bad("bad PSGuid"))?;
    Ok(match name {
        "Data" => {
            let start = line.find('>').ok_or_else(|| bad("unclosed"))? + 1;
            let end = line.rfind("</Data>").filter(|e| *e >= start).ok_or_else(|| bad("unclosed"))?;
            ServerPacket::Data(guid, base64::decode(&line[start..end]).map_err(|_| bad("bad base64"))?)
        }
        "DataAck" => ServerPacket::DataAck(guid),
        "CommandAck" => ServerPacket::CommandAck(guid),
        "SignalAck" => ServerPacket::SignalAck(guid),
        "CloseAck" => ServerPacket::CloseAck(guid),
        _ => return Err(bad("unknown element")),
    })
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
        for bad in ["hello", "<Data PSGuid='x'>AA==</Data>", "<Oops PSGuid='00000000-0000-0000-0000-000000000000' />", "<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>**</Data>", "<Data PSGuid='00000000-0000-0000-0000-000000000000'>"] {
            assert_eq!(parse(bad).unwrap_err().kind, ErrorKind::BadReply, "{bad}");
        }
    }
}
