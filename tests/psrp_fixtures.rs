//! The PSRP decoder over real Windows traffic: every PSRP message in ../shared/fixtures/pypsrp-wsman
//! (PowerShell 5.1 on Windows Server 2016/2019, recorded by pypsrp's tests), taken from the WinRS
//! envelopes' base64 (creationXml, connectXml, connectResponseXml, a Command's Arguments, Send and
//! Receive streams), defragmented per direction, decoded, and its CLIXML read (and written back and
//! read again to the same value).

use std::collections::BTreeMap;
use std::path::PathBuf;

use regex::Regex;
use remote_sessions::psrp::clixml;
use remote_sessions::psrp::fragment::Defragmenter;
use remote_sessions::psrp::message::{Destination, Message};

fn fixtures() -> PathBuf {
    std::env::var_os("RSESS_FIXTURES").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")).join("pypsrp-wsman")
}

#[test]
fn every_recorded_psrp_message_decodes() {
    let payload = Regex::new(r#"<(rsp:Stream|creationXml|connectXml|connectResponseXml|rsp:Arguments)\b([^>]*)>([A-Za-z0-9+/=\s]+)</"#).unwrap();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut files = 0;
    for entry in std::fs::read_dir(fixtures()).expect("fixtures/pypsrp-wsman") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // PowerShell shells only (WinRS cmd shells carry plain text).
        if path.extension().map_or(true, |e| e != "yml") || !text.contains("creationXml") && !text.contains("connectXml") {
            continue;
        }
        files += 1;
        let (mut to_server, mut to_client) = (Defragmenter::new(64 << 20), Defragmenter::new(64 << 20));
        // Each exchange is `- request: <envelope>` then `response: <envelope>`; only those whose request
        // names a PowerShell resource URI carry PSRP (a file may use cmd shells too).
        let exchanges = text.split("\n- request:").skip(1).filter(|x| x.contains("<wsman:ResourceURI s:mustUnderstand=\"true\">http://schemas.microsoft.com/powershell/"));
        let captures: Vec<_> = exchanges.flat_map(|x| payload.captures_iter(x).collect::<Vec<_>>()).collect();
        for c in captures {
            let (tag, attributes) = (&c[1], &c[2]);
            let from_client = match tag {
                "creationXml" | "connectXml" | "rsp:Arguments" => true,
                "connectResponseXml" => false,
                _ => attributes.contains("\"stdin\"") || attributes.contains("\"pr\""),
            };
            let bytes = base64::decode(c[3].split_ascii_whitespace().collect::<String>()).unwrap();
            let defragmenter = if from_client { &mut to_server } else { &mut to_client };
            for whole in defragmenter.push(&bytes).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message)) {
                let m = Message::decode(&whole).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
                assert_eq!(m.destination, if from_client { Destination::Server } else { Destination::Client }, "{}", path.display());
                if !m.data.is_empty() {
                    let text = std::str::from_utf8(&m.data).unwrap();
                    let value = clixml::parse(text).unwrap_or_else(|e| panic!("{} {}: {}\n{text}", path.display(), m.message_type.name(), e.message));
                    // What the writer makes of it reads back the same.
                    assert_eq!(clixml::parse(&clixml::write(&value)).unwrap(), value, "{} {}", path.display(), m.message_type.name());
                }
                *counts.entry(m.message_type.name()).or_default() += 1;
            }
        }
    }
    eprintln!("{files} files: {counts:#?}");
    assert!(files >= 30, "{files} PSRP fixture files");
    for expected in ["SESSION_CAPABILITY", "INIT_RUNSPACEPOOL", "RUNSPACEPOOL_STATE", "APPLICATION_PRIVATE_DATA", "CREATE_PIPELINE", "PIPELINE_OUTPUT", "PIPELINE_STATE", "ERROR_RECORD", "PIPELINE_HOST_CALL", "CONNECT_RUNSPACEPOOL", "RUNSPACEPOOL_INIT_DATA", "PUBLIC_KEY", "ENCRYPTED_SESSION_KEY"] {
        assert!(counts.contains_key(expected), "no {expected} among {counts:?}");
    }
}
