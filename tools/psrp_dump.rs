//! rsess-psrp-dump: prints the PSRP messages of a recorded conversation, one line each, for people
//! debugging PowerShell remoting. Reads a WS-Management conversation (pypsrp's YAML recordings, or a
//! file of SOAP envelopes) or OutOfProc packet lines (`<Data Stream='Default' PSGuid='…'>…</Data>`,
//! optionally prefixed `> ` or `< ` for client or server), from a file or standard input:
//!
//!     rsess-psrp-dump [FILE]
//!
//! Each line: who it is for (`>S` to the server, `>C` to the client), the message type, the runspace
//! pool's id, the pipeline's id (`-` for none), and for output, records and states a short rendering.
//! Exit status: 0, or 1 when a message did not decode (its error is printed in its place), 2 for usage.

use std::io::Read;

use remote_sessions::psrp::capture::{messages, outofproc_chunks, winrs_chunks};
use remote_sessions::psrp::clixml::{self, Value};
use remote_sessions::psrp::message::{Destination, Message, MessageType};
use remote_sessions::psrp::pool::{record_text, ErrorInfo, PipelineState, PoolState, Stream};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut text = String::new();
    let read = match args.as_slice() {
        [] => std::io::stdin().read_to_string(&mut text).map(|_| ()),
        [path] if path != "-h" && path != "--help" => std::fs::read_to_string(path).map(|t| text = t),
        _ => {
            eprintln!("usage: rsess-psrp-dump [FILE]   (pypsrp YAML, SOAP envelopes or OutOfProc lines; standard input without FILE)");
            std::process::exit(2);
        }
    };
    if let Err(e) = read {
        eprintln!("rsess-psrp-dump: {e}");
        std::process::exit(2);
    }
    let chunks = if text.contains("PSGuid='") && !text.contains("<s:Envelope") { outofproc_chunks(&text) } else { winrs_chunks(&text) };
    let mut failed = false;
    for m in messages(&chunks) {
        match m {
            Ok(m) => println!("{}", line(&m)),
            Err(e) => {
                failed = true;
                println!("!! {}", e.message);
            }
        }
    }
    std::process::exit(i32::from(failed));
}

/// One message as a line.
fn line(m: &Message) -> String {
    let to = match m.destination {
        Destination::Server => ">S",
        Destination::Client => ">C",
    };
    let pipeline = if m.pipeline.is_nil() { "-".to_string() } else { m.pipeline.to_string() };
    let detail = std::str::from_utf8(&m.data).ok().filter(|t| !t.trim().is_empty()).map(|t| match clixml::parse(t) {
        Ok(v) => render(m.message_type, &v),
        Err(e) => format!("!! {}", e.message),
    });
    let mut out = format!("{to} {:<26} {} {pipeline}", m.message_type.name(), m.runspace_pool);
    if let Some(d) = detail.filter(|d| !d.is_empty()) {
        out.push(' ');
        out.push_str(&d);
    }
    out
}

/// A short rendering of what a message carries.
fn render(t: MessageType, v: &Value) -> String {
    let stream = match t {
        MessageType::ErrorRecord => Some(Stream::Error),
        MessageType::WarningRecord => Some(Stream::Warning),
        MessageType::VerboseRecord => Some(Stream::Verbose),
        MessageType::DebugRecord => Some(Stream::Debug),
        MessageType::InformationRecord => Some(Stream::Information),
        MessageType::ProgressRecord => Some(Stream::Progress),
        _ => None,
    };
    if let Some(s) = stream {
        return quote(&record_text(s, v));
    }
    let reason = |v: &Value| v.property("ExceptionAsErrorRecord").filter(|r| **r != Value::Null).map(|r| format!(" {}", quote(&ErrorInfo::from_record(r).message))).unwrap_or_default();
    match t {
        MessageType::PipelineOutput | MessageType::PipelineInput => short(v),
        MessageType::PipelineState => {
            let state = v.property("PipelineState").and_then(Value::as_i64).and_then(PipelineState::from_i64);
            format!("{}{}", state.map_or("state=?".to_string(), |s| format!("{s:?}")), reason(v))
        }
        MessageType::RunspacePoolState => {
            let state = v.property("RunspaceState").and_then(Value::as_i64).and_then(PoolState::from_i64);
            format!("{}{}", state.map_or("state=?".to_string(), |s| format!("{s:?}")), reason(v))
        }
        MessageType::SessionCapability => match v.property("protocolversion") {
            Some(Value::Version(p)) => format!("protocolversion={p}"),
            _ => String::new(),
        },
        MessageType::CreatePipeline => {
            let commands = v.property("PowerShell").and_then(|p| p.property("Cmds")).and_then(Value::as_object).and_then(|o| match &o.items {
                Some(clixml::Collection::List(_, items)) => Some(items.iter().map(|c| c.property("Cmd").and_then(Value::as_str).unwrap_or("?").to_string()).collect::<Vec<_>>()),
                _ => None,
            });
            commands.map(|c| quote(&c.join(" | "))).unwrap_or_default()
        }
        MessageType::PipelineHostCall | MessageType::RunspacePoolHostCall => v.property("mi").map(short).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A value in a few words: strings quoted, numbers as they are, objects by their text or type.
fn short(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Null => "null".into(),
        Value::Object(o) => o.to_string.as_ref().map(|s| quote(s)).unwrap_or_else(|| format!("[{}]", o.type_names.first().map(String::as_str).unwrap_or("object"))),
        other => v.as_i64().map(|n| n.to_string()).unwrap_or_else(|| format!("{other:?}")),
    }
}

/// Text quoted on one line, cut to 80 characters.
fn quote(s: &str) -> String {
    let one: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(80).collect();
    format!("\"{one}{}\"", if s.chars().count() > 80 { "…" } else { "" })
}
