//! The PSRP client (rust/psrp, driven by rust/pssession) against a real PowerShell server: `pwsh -s`
//! (PowerShell 7.6, installed by tests/setup.sh) over the process transport.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use remote_sessions::psrp::clixml::{Collection, ListKind, Object, Secret, Value};
use remote_sessions::psrp::pool::{record_text, ErrorInfo, PipelineState, Stream};
use remote_sessions::psrp::request::Command;
use remote_sessions::pssession::{ClientSession, Item};
use remote_sessions::transport::process::ProcessTransport;
use remote_sessions::transport::PacketTransport;
use remote_sessions::ErrorKind;
use uuid::Uuid;

/// The PowerShell to serve: RSESS_PWSH, else the one tests/setup.sh installed, else `pwsh` on PATH.
fn pwsh() -> String {
    if let Some(p) = std::env::var_os("RSESS_PWSH") {
        return p.to_string_lossy().into_owned();
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build/tools/pwsh/pwsh");
    if installed.exists() { installed.to_string_lossy().into_owned() } else { "pwsh".into() }
}

const WAIT: Duration = Duration::from_secs(60);

fn start() -> (ClientSession, Arc<ProcessTransport>) {
    let transport = Arc::new(ProcessTransport::spawn(&pwsh(), &["-s".into(), "-NoLogo".into(), "-NoProfile".into()]).expect("pwsh -s"));
    let session = ClientSession::open(Arc::clone(&transport) as Arc<dyn PacketTransport>, Some(WAIT)).expect("open");
    (session, transport)
}

/// What one pipeline gave: output, records, and how it ended.
#[derive(Debug, Default)]
struct Run {
    output: Vec<Value>,
    records: Vec<(Stream, Value)>,
    state: Option<PipelineState>,
    reason: Option<Value>,
}

fn run(s: &ClientSession, commands: &[Command], input: Option<&[Value]>) -> Run {
    let p = s.invoke(commands, input).unwrap();
    let mut r = Run::default();
    while let Some(item) = p.next(Some(WAIT)).unwrap() {
        match item {
            Item::Output(v) => r.output.push(v),
            Item::Record(k, v) => r.records.push((k, v)),
        }
    }
    let (state, reason) = p.ending().unwrap();
    (r.state, r.reason) = (Some(state), reason);
    r
}

fn script(s: &ClientSession, text: &str) -> Run {
    run(s, &[Command::script(text)], None)
}

fn strings(run: &Run) -> Vec<String> {
    run.output.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| format!("{v:?}"))).collect()
}

fn array(items: Vec<Value>) -> Value {
    Value::Object(Arc::new(Object {
        type_names: Arc::new(vec!["System.Object[]".into(), "System.Array".into(), "System.Object".into()]),
        items: Some(Collection::List(ListKind::Enumerable, items)),
        ..Default::default()
    }))
}

#[test]
fn secure_strings_go_both_ways_encrypted_with_the_session_key() {
    let (s, _t) = start();
    // A SecureString parameter: the client exchanges the session key first (PUBLIC_KEY,
    // ENCRYPTED_SESSION_KEY), then sends the text encrypted; the server sees the plain text.
    let check = Command::script("param([securestring]$s) $s.GetType().FullName; [System.Net.NetworkCredential]::new('', $s).Password -ceq 'p@ss wörd ✓'")
        .parameter("s", Value::Secret(Secret::new("p@ss wörd ✓".into())));
    let r = run(&s, &[check], None);
    assert_eq!((r.state, strings(&r)), (Some(PipelineState::Completed), vec!["System.Security.SecureString".to_string(), format!("{:?}", Value::Bool(true))]), "{r:?}");
    // A second one (as pipeline input) uses the same key.
    let r = run(&s, &[Command::script("$input | ForEach-Object { [System.Net.NetworkCredential]::new('', $_).Password }")], Some(&[Value::Secret(Secret::new("again".into()))]));
    assert_eq!(strings(&r), vec!["again"], "{r:?}");
    // What the server sends comes back decrypted, readable only through the Secret.
    let r = script(&s, "ConvertTo-SecureString 'p@ss' -AsPlainText -Force");
    assert_eq!(r.state, Some(PipelineState::Completed), "{r:?}");
    let Some(Value::Secret(secret)) = r.output.first() else { panic!("{r:?}") };
    assert_eq!(secret.expose(), "p@ss");
    assert_eq!(r.output[0].to_text(), "System.Security.SecureString");
    assert!(!format!("{:?}", r.output[0]).contains("p@ss"));
}

#[test]
fn a_secure_string_from_the_server_before_any_key_exchange_is_read_once_the_key_comes() {
    // A fresh session whose first SecureString comes from the server: it encrypts with a session key
    // of its own (servers never start the exchange with 2.2+ clients); the client then sends its
    // PUBLIC_KEY, gets the key, and its output is held until then.
    let (s, _t) = start();
    let r = script(&s, "[pscredential]::new('u', (ConvertTo-SecureString 'x1' -AsPlainText -Force)).Password");
    let Some(Value::Secret(secret)) = r.output.first() else { panic!("{r:?}") };
    assert_eq!(secret.expose(), "x1");
    assert_eq!(r.state, Some(PipelineState::Completed));
    // And the same key serves the client's own SecureStrings after.
    let check = Command::script("param($s) [System.Net.NetworkCredential]::new('', $s).Password").parameter("s", Value::Secret(Secret::new("y2".into())));
    assert_eq!(strings(&run(&s, &[check], None)), vec!["y2"]);
}

#[test]
fn a_real_pwsh_keeps_state_between_pipelines_and_sends_every_stream() {
    let (s, _) = start();
    let version = s.private_data().and_then(|d| d.property("ApplicationPrivateData").cloned());
    assert!(version.is_some(), "APPLICATION_PRIVATE_DATA");
    assert_eq!(script(&s, "$x = 40 + 2").state, Some(PipelineState::Completed));
    let again = script(&s, "$x; 'π ≈ 3.14159 — ünïcödé ✓'");
    assert_eq!(again.output, vec![Value::Int32(42), Value::String("π ≈ 3.14159 — ünïcödé ✓".into())]);

    let streams = script(
        &s,
        "$VerbosePreference = $DebugPreference = 'Continue'; Write-Warning 'w1'; Write-Verbose 'v1'; Write-Debug 'd1'; \
         Write-Information 'i1'; Write-Error 'e1'; Write-Progress -Activity a1 -Status s1; 'out'",
    );
    assert_eq!(strings(&streams), vec!["out"]);
    let texts: Vec<(Stream, String)> = streams.records.iter().map(|(k, v)| (*k, record_text(*k, v))).collect();
    for expected in [(Stream::Warning, "w1"), (Stream::Verbose, "v1"), (Stream::Debug, "d1"), (Stream::Information, "i1"), (Stream::Error, "e1"), (Stream::Progress, "a1: s1")] {
        assert!(texts.contains(&(expected.0, expected.1.to_string())), "{expected:?} not in {texts:?}");
    }
    let (_, error) = streams.records.iter().find(|(k, _)| *k == Stream::Error).unwrap();
    assert_eq!(ErrorInfo::from_record(error).fully_qualified_error_id, "Microsoft.PowerShell.Commands.WriteErrorException");
}

#[test]
fn commands_take_arguments_and_input_of_every_type_back_unchanged() {
    let (s, _) = start();
    let values = vec![
        Value::String("a_x0041_b\r\n\t<&>".into()),
        Value::Int32(-7),
        Value::Int64(1 << 40),
        Value::UInt64(u64::MAX),
        Value::Double(0.1),
        Value::Bool(true),
        Value::Bytes(vec![0, 1, 254, 255]),
        Value::Guid(Uuid::parse_str("0f9b4cb5-1d2e-4a2a-8c3f-5a4e0d6b7c8d").unwrap()),
        Value::DateTime("2026-12-03T13:29:42.1234567Z".into()),
        Value::Char(0x263A),
        Value::Null,
    ];
    let echo = run(&s, &[Command::script("param($a) foreach ($i in $a) { ,$i }").parameter("a", array(values.clone()))], None);
    assert_eq!(echo.state, Some(PipelineState::Completed), "{:?}", echo.reason.as_ref().map(ErrorInfo::from_record));
    assert_eq!(echo.output, values);
    let piped = run(
        &s,
        &[Command::named("Sort-Object").parameter("Descending", Value::Bool(true)), Command::named("Select-Object").parameter("First", Value::Int32(2))],
        Some(&[Value::Int32(3), Value::Int32(9), Value::Int32(5)]),
    );
    assert_eq!(piped.output, vec![Value::Int32(9), Value::Int32(5)]);
    // Input larger than one Data line (32 KiB of fragments): 3 MB in 3 objects.
    let big: Vec<Value> = (0..3).map(|i| Value::String(char::from(b'a' + i).to_string().repeat(1 << 20))).collect();
    let lengths = run(&s, &[Command::script("$input | ForEach-Object { $_.Length }")], Some(&big));
    assert_eq!(lengths.output, vec![Value::Int32(1 << 20); 3]);
    let table = script(&s, "@{ k = 'v' }");
    assert_eq!(table.output[0].as_object().unwrap().items, Some(Collection::Dictionary(vec![(Value::String("k".into()), Value::String("v".into()))])));
}

#[test]
fn a_script_that_throws_fails_with_its_error_record_and_the_pool_goes_on() {
    let (s, _) = start();
    let thrown = script(&s, "throw 'boom'");
    assert_eq!(thrown.state, Some(PipelineState::Failed));
    let info = ErrorInfo::from_record(thrown.reason.as_ref().expect("the reason"));
    assert_eq!((info.message.as_str(), info.fully_qualified_error_id.as_str()), ("boom", "boom"));
    let missing = script(&s, "Get-NoSuchCommand");
    assert_eq!(ErrorInfo::from_record(missing.reason.as_ref().unwrap()).fully_qualified_error_id, "CommandNotFoundException");
    assert_eq!(strings(&script(&s, "'still here'")), vec!["still here"]);
}

#[test]
fn a_pipeline_stopped_midway_ends_stopped_and_a_large_output_arrives_whole() {
    let (s, _) = start();
    let p = s.invoke(&[Command::script("1..1000000 | ForEach-Object { $_; Start-Sleep -Milliseconds 10 }")], None).unwrap();
    assert_eq!(p.next(Some(WAIT)).unwrap(), Some(Item::Output(Value::Int32(1))));
    p.stop().unwrap();
    while p.next(Some(WAIT)).unwrap().is_some() {}
    assert_eq!(p.ending().unwrap().0, PipelineState::Stopped);
    drop(p);
    // 50 MB of output: 50 strings of 1 MiB.
    let big = script(&s, "1..50 | ForEach-Object { [string]::new([char](64 + $_ % 26), 1MB) }");
    assert_eq!(big.output.len(), 50);
    assert!(big.output.iter().all(|v| v.as_str().map_or(false, |t| t.len() == 1 << 20)));
}

#[test]
fn a_server_killed_mid_pipeline_is_a_clear_error() {
    let (s, transport) = start();
    let p = s.invoke(&[Command::script("1..100 | ForEach-Object { $_; Start-Sleep -Milliseconds 200 }")], None).unwrap();
    assert!(p.next(Some(WAIT)).unwrap().is_some());
    let pid = transport.process_id().unwrap();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    // Not a Timeout: the reader sees the end at once and says so.
    let e = loop {
        match p.next(Some(WAIT)) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the pipeline ended normally"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind, ErrorKind::TransportBroken, "{e:?}");
    assert_eq!(s.invoke(&[Command::script("1")], None).err().map(|e| e.kind), Some(ErrorKind::TransportBroken));
}
