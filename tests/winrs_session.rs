//! PSSessions over WS-Management (rust/pssession/winrs.rs) against PowerShell's own server side of WinRS
//! remoting: tests/wsman-endpoint runs pwsh 7.6's WSMan plugin (what wsmprovhost runs on Windows) behind
//! a loopback WS-Management endpoint with Basic authentication. Built by tests/build.sh.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::Arc;
use std::time::Duration;

use remote_sessions::auth::{Authentication, Credential};
use remote_sessions::psrp::clixml::Value;
use remote_sessions::psrp::pool::PipelineState;
use remote_sessions::psrp::request::Command;
use remote_sessions::pssession::reconstruct::ReconstructTransport;
use remote_sessions::pssession::winrs::{list_shells, WinrsSettings, WinrsTransport};
use remote_sessions::pssession::{ClientSession, Item};
use remote_sessions::transport::PacketTransport;
use remote_sessions::wsman::endpoint::Endpoint;
use remote_sessions::wsman::options::SessionOptions;
use remote_sessions::ErrorKind;

const USER: &str = "ann";
const PASSWORD: &str = "Winrs-Pa55";
const WAIT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The PowerShell that hosts the endpoint: RSESS_PWSH, else the one tests/setup.sh installed, else `pwsh`.
fn pwsh() -> String {
    if let Some(p) = std::env::var_os("RSESS_PWSH") {
        return p.to_string_lossy().into_owned();
    }
    let installed = repo().join("build/tools/pwsh/pwsh");
    if installed.exists() { installed.to_string_lossy().into_owned() } else { "pwsh".into() }
}

/// A running endpoint; it stops when dropped (EOF on its stdin, then a kill).
struct Server {
    child: Child,
    _stdin: ChildStdin,
    http: u16,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let script = repo().join("build/wsman-endpoint/Start-Endpoint.ps1");
        assert!(script.exists(), "{} is missing: run tests/build.sh", script.display());
        let mut child = Process::new(pwsh())
            .args(["-NoProfile", "-NonInteractive", "-File"])
            .arg(&script)
            .args(["--user", USER, "--password", PASSWORD])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // RSESS_ENDPOINT_LOG names a file for the endpoint's log (one line per request), to debug a test.
            .stderr(std::env::var_os("RSESS_ENDPOINT_LOG").and_then(|p| std::fs::File::create(p).ok()).map_or_else(Stdio::null, Stdio::from))
            .spawn()
            .expect("the endpoint starts");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let http = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http="))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the endpoint did not say where it listens: {line:?}"));
        Server { child, _stdin: stdin, http }
    }

    fn endpoint(&self, password: &str) -> Endpoint {
        let options = SessionOptions { port: u32::from(self.http), no_encryption: true, ..SessionOptions::default() };
        Endpoint::new("127.0.0.1", &options, Some(&Credential::new(USER, password)), Authentication::Basic).unwrap()
    }

    fn transport(&self, name: &str) -> Arc<WinrsTransport> {
        let settings = WinrsSettings { configuration_name: "Microsoft.PowerShell".into(), shell_name: Some(name.into()), idle_timeout_ms: None, no_profile: true };
        Arc::new(WinrsTransport::new(self.endpoint(PASSWORD), settings))
    }

    fn open(&self, name: &str) -> (ClientSession, Arc<WinrsTransport>) {
        let transport = self.transport(name);
        let session = ClientSession::open(Arc::clone(&transport) as Arc<dyn PacketTransport>, Some(WAIT)).expect("the session opens");
        (session, transport)
    }

    fn shell_names(&self) -> Vec<String> {
        list_shells(&self.endpoint(PASSWORD), None).unwrap().into_iter().filter_map(|s| s.name).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn output(s: &ClientSession, script: &str) -> Vec<Value> {
    let p = s.invoke(&[Command::script(script)], None).unwrap();
    let mut out = Vec::new();
    while let Some(item) = p.next(Some(WAIT)).unwrap() {
        if let Item::Output(v) = item {
            out.push(v);
        }
    }
    assert_eq!(p.ending().unwrap().0, PipelineState::Completed, "{script}");
    out
}

fn ints(values: &[Value]) -> Vec<i64> {
    values.iter().map(|v| v.as_i64().unwrap_or_else(|| panic!("{v:?} is no integer"))).collect()
}

#[test]
fn a_session_keeps_its_state_is_listed_by_name_and_its_shell_goes_when_it_closes() {
    let server = Server::start(&[]);
    let (mut session, transport) = server.open("rust-winrs");
    assert!(transport.shell_id().is_some());
    assert!(output(&session, "$x = 41").is_empty());
    assert_eq!(ints(&output(&session, "$x + 1")), [42]);
    assert!(server.shell_names().contains(&"rust-winrs".to_string()));
    session.close(WAIT);
    assert!(!server.shell_names().contains(&"rust-winrs".to_string()), "Close deletes the shell");
}

#[test]
fn output_written_while_disconnected_arrives_after_reconnecting() {
    let server = Server::start(&[]);
    let (session, transport) = server.open("away");
    let p = session.invoke(&[Command::script("1..3 | ForEach-Object { Start-Sleep -Milliseconds 300; $_ }")], None).unwrap();
    transport.disconnect(Some(120_000)).unwrap();
    assert_eq!(transport.disconnect(None).unwrap_err().kind, ErrorKind::InvalidState);
    assert_eq!(session.invoke(&[Command::script("1")], None).err().map(|e| e.kind), Some(ErrorKind::InvalidState), "a disconnected session takes no new pipeline");
    std::thread::sleep(Duration::from_millis(1500));
    transport.reconnect().unwrap();
    let mut seen = Vec::new();
    while let Some(item) = p.next(Some(WAIT)).unwrap() {
        if let Item::Output(v) = item {
            seen.push(v);
        }
    }
    assert_eq!(ints(&seen), [1, 2, 3]);
    assert_eq!(ints(&output(&session, "7")), [7], "the session goes on after reconnecting");
}

#[test]
fn a_stopped_pipeline_ends_stopped_and_the_session_goes_on() {
    let server = Server::start(&[]);
    let (session, _transport) = server.open("stop");
    let p = session.invoke(&[Command::script("1; Start-Sleep 60; 2")], None).unwrap();
    assert!(matches!(p.next(Some(WAIT)).unwrap(), Some(Item::Output(_))));
    p.stop().unwrap();
    while p.next(Some(WAIT)).unwrap().is_some() {}
    assert_eq!(p.ending().unwrap().0, PipelineState::Stopped);
    assert_eq!(ints(&output(&session, "3")), [3]);
}

#[test]
fn input_and_output_larger_than_an_envelope_are_split_to_fit() {
    // 150 KiB envelopes (Windows Server 2008's size): the client learns it from the configuration Get.
    let server = Server::start(&["--max-envelope-kb", "150"]);
    let (session, _transport) = server.open("big");
    let big = "x".repeat(600_000);
    let p = session.invoke(&[Command::script("$input | ForEach-Object Length")], Some(&[Value::String(big)])).unwrap();
    let mut lengths = Vec::new();
    while let Some(item) = p.next(Some(WAIT)).unwrap() {
        if let Item::Output(v) = item {
            lengths.push(v);
        }
    }
    assert_eq!(ints(&lengths), [600_000]);
    let out = output(&session, "'y' * 2000000");
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], Value::String(s) if s.len() == 2_000_000));
}

#[test]
fn wrong_credentials_fail_the_open_and_leave_no_shell() {
    let server = Server::start(&[]);
    let settings = WinrsSettings { configuration_name: "Microsoft.PowerShell".into(), shell_name: Some("refused".into()), ..WinrsSettings::default() };
    let transport = Arc::new(WinrsTransport::new(server.endpoint("wrong"), settings));
    let e = ClientSession::open(transport as Arc<dyn PacketTransport>, Some(WAIT)).err().expect("refused");
    assert!(e.message.contains("401"), "{}", e.message);
    assert_eq!((e.kind, e.http_status), (ErrorKind::AccessDenied, Some(401)));
    assert!(!server.shell_names().contains(&"refused".to_string()));
}

#[test]
fn a_server_killed_mid_command_breaks_the_session_with_a_reason() {
    let mut server = Server::start(&[]);
    let (session, _transport) = server.open("killed");
    let p = session.invoke(&[Command::script("1; Start-Sleep 60")], None).unwrap();
    assert!(matches!(p.next(Some(WAIT)).unwrap(), Some(Item::Output(_))));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let outcome = loop {
        match p.next(Some(WAIT)) {
            Ok(Some(_)) => continue,
            other => break other,
        }
    };
    match outcome {
        Err(e) => assert_eq!(e.kind, ErrorKind::TransportBroken, "{e}"),
        Ok(None) => assert_ne!(p.ending().map(|e| e.0), Some(PipelineState::Completed)),
        Ok(Some(_)) => unreachable!(),
    }
    assert!(session.is_broken());
}

#[test]
fn another_client_connects_to_a_disconnected_session_and_receives_what_ran_meanwhile() {
    let server = Server::start(&[]);
    let (first, transport) = server.open("nightly");
    let running = first.invoke(&[Command::script("'started'; Start-Sleep -Milliseconds 1500; 1; 2; 3")], None).unwrap();
    let pipeline = running.id();
    // Once it wrote something it runs on the server; what it writes after the disconnect waits there.
    assert!(matches!(running.next(Some(WAIT)).unwrap(), Some(Item::Output(Value::String(s))) if s == "started"));
    transport.disconnect(Some(120_000)).unwrap();
    let shell_id = transport.shell_id().unwrap();
    drop(running);
    drop(first);
    drop(transport);

    let settings = WinrsSettings { configuration_name: "Microsoft.PowerShell".into(), ..WinrsSettings::default() };
    let second = Arc::new(WinrsTransport::connect_to(server.endpoint(PASSWORD), settings, &shell_id));
    let pool_id = uuid::Uuid::parse_str(&shell_id).unwrap();
    let session = ClientSession::connect(Arc::clone(&second) as Arc<dyn PacketTransport>, pool_id, Some(WAIT)).expect("connects");
    assert_eq!(remote_sessions::pssession::winrs::list_commands(&server.endpoint(PASSWORD), &shell_id, None).unwrap(), [pipeline]);
    let taken = session.attach(pipeline).unwrap();
    let mut seen = Vec::new();
    while let Some(item) = taken.next(Some(WAIT)).unwrap() {
        if let Item::Output(v) = item {
            seen.push(v);
        }
    }
    assert_eq!(ints(&seen), [1, 2, 3]);
    assert_eq!(taken.ending().unwrap().0, PipelineState::Completed);
    assert_eq!(ints(&output(&session, "6")), [6], "the connected session runs new pipelines");
}

#[test]
fn a_50_mb_output_arrives_whole() {
    let server = Server::start(&[]);
    let (session, _transport) = server.open("large");
    let out = output(&session, "1..50 | ForEach-Object { [string]::new([char](64 + $_ % 26), 1MB) }");
    assert_eq!(out.len(), 50);
    for (i, v) in out.iter().enumerate() {
        let expected = char::from(64 + ((i as u8 + 1) % 26));
        assert!(matches!(v, Value::String(s) if s.len() == 1 << 20 && s.chars().all(|c| c == expected)), "item {i}");
    }
}

#[test]
fn a_client_that_opens_a_pool_is_connected_to_a_disconnected_one_and_keeps_its_state() {
    let server = Server::start(&[]);
    let (mut first, transport) = server.open("kept");
    assert!(output(&first, "$x = 41").is_empty());
    transport.disconnect(Some(120_000)).unwrap();
    let shell_id = transport.shell_id().unwrap();

    // The second client opens a pool of its own id; the wire carries a connect to the shell's pool.
    let settings = WinrsSettings { configuration_name: "Microsoft.PowerShell".into(), ..WinrsSettings::default() };
    let inner = Arc::new(WinrsTransport::connect_to(server.endpoint(PASSWORD), settings, &shell_id));
    let pool = uuid::Uuid::parse_str(&shell_id).unwrap();
    let reconstructed = Arc::new(ReconstructTransport::new(Arc::clone(&inner) as Arc<dyn PacketTransport>, pool));
    let mut second = ClientSession::open(Arc::clone(&reconstructed) as Arc<dyn PacketTransport>, Some(WAIT)).expect("opens as a connect");
    assert_ne!(second.pool_id(), pool, "the client keeps its own pool id");
    assert_eq!(ints(&output(&second, "$x")), [41], "the server's runspace, with its state");
    // It disconnects and reconnects as a session it opened would.
    reconstructed.disconnect(Some(120_000)).unwrap();
    reconstructed.reconnect().unwrap();
    assert_eq!(ints(&output(&second, "$x + 2")), [43]);
    reconstructed.disconnect(Some(120_000)).unwrap();
    second.close(WAIT);
    assert_eq!(server.shell_names(), ["kept"], "a disconnected session is only let go");

    // The first client cannot Reconnect a shell another client connected to meanwhile: it connects anew.
    transport.reconnect().unwrap();
    assert_eq!(ints(&output(&first, "$x")), [41]);
    first.close(WAIT);
    assert!(server.shell_names().is_empty(), "closing it deletes the shell");
}

#[test]
fn a_session_whose_idle_timeout_passed_is_gone_and_reconnecting_says_so() {
    let server = Server::start(&["--min-idle-ms", "1000"]);
    let (_session, transport) = server.open("expiring");
    transport.disconnect(Some(1000)).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while server.shell_names().contains(&"expiring".to_string()) {
        assert!(std::time::Instant::now() < deadline, "the server kept the shell past its idle timeout");
        std::thread::sleep(Duration::from_millis(200));
    }
    let e = transport.reconnect().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{}", e.message);
    assert!(e.message.contains("idle timeout passed") && e.message.contains("is gone"), "{}", e.message);
    // Another client connecting to it is told the same.
    let settings = WinrsSettings { configuration_name: "Microsoft.PowerShell".into(), ..WinrsSettings::default() };
    let shell_id = transport.shell_id().unwrap();
    let second = Arc::new(WinrsTransport::connect_to(server.endpoint(PASSWORD), settings, &shell_id));
    let pool = uuid::Uuid::parse_str(&shell_id).unwrap();
    let e = ClientSession::connect(second as Arc<dyn PacketTransport>, pool, Some(WAIT)).err().expect("refused");
    assert_eq!(e.kind, ErrorKind::NotFound, "{}", e.message);
}

#[test]
fn pipelines_started_disconnected_leave_their_output_on_the_server_for_the_next_client() {
    let server = Server::start(&[]);
    let (mut first, transport) = server.open("unread");
    transport.start_pipelines_disconnected().unwrap();
    let running = first.invoke(&[Command::script("'late'; 1..3")], None).unwrap();
    let pipeline = running.id();
    transport.disconnect(Some(120_000)).unwrap();
    // It ends on this side with nothing read; the server keeps its output.
    assert!(running.next(Some(WAIT)).unwrap().is_none());
    assert_eq!(running.ending().unwrap().0, PipelineState::Completed);
    drop(running);
    let shell_id = transport.shell_id().unwrap();

    let settings = WinrsSettings { configuration_name: "Microsoft.PowerShell".into(), ..WinrsSettings::default() };
    let second_transport = Arc::new(WinrsTransport::connect_to(server.endpoint(PASSWORD), settings, &shell_id));
    let mut second = ClientSession::connect(Arc::clone(&second_transport) as Arc<dyn PacketTransport>, uuid::Uuid::parse_str(&shell_id).unwrap(), Some(WAIT)).unwrap();
    let taken = second.attach(pipeline).unwrap();
    let mut seen = Vec::new();
    while let Some(item) = taken.next(Some(WAIT)).unwrap() {
        if let Item::Output(v) = item {
            seen.push(v);
        }
    }
    assert!(matches!(&seen[0], Value::String(s) if s == "late"), "{seen:?}");
    assert_eq!(ints(&seen[1..]), [1, 2, 3]);
    drop(taken);
    second_transport.disconnect(Some(120_000)).unwrap();
    second.close(WAIT);

    // The first client connects anew and goes on; later pipelines are read again.
    transport.reconnect().unwrap();
    assert_eq!(ints(&output(&first, "5")), [5]);
    first.close(WAIT);
}

/// A TCP proxy in front of the endpoint whose open connections can be cut, as a proxy or load balancer
/// with an idle limit cuts a long-polling Receive.
struct CuttingProxy {
    port: u16,
    open: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl CuttingProxy {
    fn start(target: u16) -> CuttingProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let held = Arc::clone(&open);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", target)) else { continue };
                held.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        CuttingProxy { port, open }
    }

    /// Cuts every connection open now.
    fn cut(&self) {
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn a_receive_whose_connection_is_cut_is_asked_again_and_the_session_goes_on() {
    let server = Server::start(&[]);
    let proxy = CuttingProxy::start(server.http);
    let options = SessionOptions { port: u32::from(proxy.port), no_encryption: true, ..SessionOptions::default() };
    let endpoint = Endpoint::new("127.0.0.1", &options, Some(&Credential::new(USER, PASSWORD)), Authentication::Basic).unwrap();
    let settings = WinrsSettings { configuration_name: "Microsoft.PowerShell".into(), shell_name: Some("cut".into()), idle_timeout_ms: None, no_profile: true };
    let transport = Arc::new(WinrsTransport::new(endpoint, settings));
    let session = ClientSession::open(Arc::clone(&transport) as Arc<dyn PacketTransport>, Some(WAIT)).unwrap();
    assert!(output(&session, "$x = 7").is_empty());
    // The shell's Receive waits in the server; its connection is cut under it.
    std::thread::sleep(Duration::from_millis(300));
    proxy.cut();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ints(&output(&session, "$x")), [7], "{}", transport.diagnostics());
}
