//! The PSRP decoder over real Windows traffic: every PSRP message in ../shared/fixtures/pypsrp-wsman
//! (PowerShell 5.1 on Windows Server 2016/2019, recorded by pypsrp's tests), taken from the WinRS
//! envelopes by `psrp::capture`, defragmented per sender, decoded, and its CLIXML read (and written back
//! and read again to the same value); and rsess-psrp-dump, the tool built on the same decoder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use remote_sessions::psrp::capture::{messages, winrs_chunks};
use remote_sessions::psrp::clixml;
use remote_sessions::psrp::message::{Destination, Message, MessageType};
use remote_sessions::psrp::outofproc;
use remote_sessions::psrp::fragment::Outgoing;
use uuid::Uuid;

fn fixtures() -> PathBuf {
    std::env::var_os("RSESS_FIXTURES").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")).join("pypsrp-wsman")
}

#[test]
fn every_recorded_psrp_message_decodes() {
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
        for m in messages(&winrs_chunks(&text)) {
            let m = m.unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
            if !m.data.is_empty() {
                let text = std::str::from_utf8(&m.data).unwrap();
                let value = clixml::parse(text).unwrap_or_else(|e| panic!("{} {}: {}\n{text}", path.display(), m.message_type.name(), e.message));
                assert_eq!(clixml::parse(&clixml::write(&value)).unwrap(), value, "{} {}", path.display(), m.message_type.name());
            }
            *counts.entry(m.message_type.name()).or_default() += 1;
        }
    }
    eprintln!("{files} files: {counts:#?}");
    assert!(files >= 30, "{files} PSRP fixture files");
    for expected in ["SESSION_CAPABILITY", "INIT_RUNSPACEPOOL", "RUNSPACEPOOL_STATE", "APPLICATION_PRIVATE_DATA", "CREATE_PIPELINE", "PIPELINE_OUTPUT", "PIPELINE_STATE", "ERROR_RECORD", "PIPELINE_HOST_CALL", "CONNECT_RUNSPACEPOOL", "RUNSPACEPOOL_INIT_DATA", "PUBLIC_KEY", "ENCRYPTED_SESSION_KEY"] {
        assert!(counts.contains_key(expected), "no {expected} among {counts:?}");
    }
}

fn dump(file: &std::path::Path) -> (i32, Vec<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_rsess-psrp-dump")).arg(file).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect())
}

#[test]
fn the_dump_tool_prints_one_line_per_message_of_a_winrs_recording() {
    let (status, lines) = dump(&fixtures().join("test_psrp_run_protocol_version_2.3.yml"));
    assert_eq!(status, 0, "{lines:#?}");
    assert!(lines[0].starts_with(">S SESSION_CAPABILITY") && lines[0].ends_with("protocolversion=2.3"), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.starts_with(">C PIPELINE_OUTPUT") && l.ends_with("\"message 1\"")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with(">C PIPELINE_STATE") && l.ends_with(" Completed")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with(">C DEBUG_RECORD") && l.ends_with("\"Start Block\"")), "{lines:#?}");
}

#[test]
fn the_dump_tool_reads_outofproc_lines_and_names_what_does_not_decode() {
    let pool = Uuid::new_v4();
    let message = |t: MessageType, data: &str| Message { destination: Destination::Client, message_type: t, runspace_pool: pool, pipeline: Uuid::nil(), data: data.as_bytes().to_vec() }.encode();
    let mut out = Outgoing::new();
    out.push(message(MessageType::RunspacePoolState, r#"<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>"#));
    // A message split over two Data lines, then an ack, then bytes that are no PSRP message.
    out.push(message(MessageType::PipelineOutput, &format!("<S>{}</S>", "x".repeat(300))));
    let first = out.take(Some(100)).unwrap().unwrap();
    let rest = out.take(None).unwrap().unwrap();
    let lines = [
        format!("< {}", outofproc::data(Uuid::nil(), false, &first)),
        format!("< {}", outofproc::data(Uuid::nil(), false, &rest)),
        format!("< <DataAck PSGuid='{}' />", Uuid::nil()),
        format!("< {}", outofproc::data(Uuid::nil(), false, &[0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 7])),
    ];
    let file = std::env::temp_dir().join(format!("rsess-dump-{}.txt", Uuid::new_v4()));
    std::fs::write(&file, lines.join("\n")).unwrap();
    let (status, printed) = dump(&file);
    std::fs::remove_file(&file).ok();
    assert_eq!(status, 1, "{printed:#?}");
    assert_eq!(printed.len(), 3, "{printed:#?}");
    assert!(printed[0].starts_with(">C RUNSPACEPOOL_STATE") && printed[0].ends_with(" Opened"), "{}", printed[0]);
    assert!(printed[1].starts_with(">C PIPELINE_OUTPUT") && printed[1].contains("\"xxxx"), "{}", printed[1]);
    assert!(printed[2].starts_with("!! Malformed PSRP message"), "{}", printed[2]);
}
