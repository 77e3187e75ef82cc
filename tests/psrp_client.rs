//! The sans-IO PSRP client (rust/psrp) against a real PowerShell server: `pwsh -s` (PowerShell 7.6,
//! installed by tests/setup.sh) over the process transport, pumped here by a small blocking driver that
//! keeps OutOfProc's flow control (one Data per channel until its DataAck; a pipeline's channel opened
//! with Command/CommandAck and closed with Close/CloseAck).

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use remote_sessions::psrp::clixml::{Collection, Value};
use remote_sessions::psrp::outofproc::{self, ServerPacket};
use remote_sessions::psrp::pool::{record_text, ErrorInfo, Event, PipelineState, PoolState, RunspacePool, Stream};
use remote_sessions::psrp::request::Command;
use remote_sessions::transport::packet::PacketTransport;
use remote_sessions::transport::process::ProcessTransport;
use uuid::Uuid;

/// The PowerShell to serve: RSESS_PWSH, else the one tests/setup.sh installed, else `pwsh` on PATH.
fn pwsh() -> String {
    if let Some(p) = std::env::var_os("RSESS_PWSH") {
        return p.to_string_lossy().into_owned();
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build/tools/pwsh/pwsh");
    if installed.exists() { installed.to_string_lossy().into_owned() } else { "pwsh".into() }
}

/// What one pipeline gave.
#[derive(Debug, Default)]
struct Run {
    output: Vec<Value>,
    records: Vec<(Stream, Value)>,
    state: Option<PipelineState>,
    reason: Option<Value>,
}

struct Client {
    transport: ProcessTransport,
    pool: RunspacePool,
    /// Payloads taken from the pool, waiting for their channel.
    waiting: HashMap<Uuid, VecDeque<String>>,
    /// Channels with a Data line not yet acknowledged.
    unacked: HashSet<Uuid>,
    /// Pipeline channels opened (CommandAck received) and those asked for.
    open: HashSet<Uuid>,
    asked: HashSet<Uuid>,
    events: VecDeque<Event>,
}

impl Client {
    fn start() -> Client {
        let transport = ProcessTransport::spawn(&pwsh(), &["-s".into(), "-NoLogo".into(), "-NoProfile".into()]).expect("pwsh -s");
        let mut pool = RunspacePool::new(Uuid::new_v4());
        pool.open(1, 1, None).unwrap();
        let mut c = Client { transport, pool, waiting: HashMap::new(), unacked: HashSet::new(), open: HashSet::from([Uuid::nil()]), asked: HashSet::new(), events: VecDeque::new() };
        let capability = c.until(|e| matches!(e, Event::SessionCapability { .. }));
        assert!(matches!(capability, Event::SessionCapability { ref protocol_version } if protocol_version == "2.3"), "{capability:?}");
        let state = c.until(|e| matches!(e, Event::PoolState(..)));
        assert_eq!(state, Event::PoolState(PoolState::Opened, None), "{}", c.transport.diagnostics());
        c
    }

    /// Sends what may go now.
    fn flush(&mut self) {
        while let Some(p) = self.pool.data_to_send(None).unwrap() {
            self.waiting.entry(p.channel).or_default().push_back(outofproc::data(p.channel, p.prompt_response, &p.bytes));
        }
        for (channel, lines) in self.waiting.iter_mut() {
            if lines.is_empty() || self.unacked.contains(channel) {
                continue;
            }
            if !self.open.contains(channel) {
                if self.asked.insert(*channel) {
                    self.transport.send(&outofproc::command(*channel)).unwrap();
                }
                continue;
            }
            self.transport.send(&lines.pop_front().unwrap()).unwrap();
            self.unacked.insert(*channel);
        }
    }

    /// Reads one server line and acts on it.
    fn step(&mut self) -> ServerPacket {
        self.flush();
        let line = self.transport.receive(Some(Duration::from_secs(60))).unwrap().unwrap_or_else(|| panic!("pwsh -s ended: {}", self.transport.diagnostics()));
        let packet = outofproc::parse(&line).unwrap();
        match &packet {
            ServerPacket::Data(channel, bytes) => self.pool.receive_data(*channel, bytes).unwrap(),
            ServerPacket::DataAck(channel) => {
                self.unacked.remove(channel);
            }
            ServerPacket::CommandAck(channel) => {
                self.open.insert(*channel);
            }
            ServerPacket::SignalAck(_) | ServerPacket::CloseAck(_) => {}
        }
        while let Some(e) = self.pool.next_event() {
            self.events.push_back(e);
        }
        packet
    }

    fn until(&mut self, wanted: impl Fn(&Event) -> bool) -> Event {
        loop {
            if let Some(at) = self.events.iter().position(&wanted) {
                return self.events.remove(at).unwrap();
            }
            self.step();
        }
    }

    /// Runs `commands` (with `input` piped in, if any) to the end; closes the pipeline's channel.
    fn run(&mut self, commands: &[Command], input: Option<Vec<Value>>) -> Run {
        let id = self.pool.create_pipeline(commands, input.is_some()).unwrap();
        if let Some(items) = input {
            for item in &items {
                self.pool.send_input(id, item).unwrap();
            }
            self.pool.end_input(id).unwrap();
        }
        let mut run = Run::default();
        while run.state.is_none() {
            match self.until(|e| matches!(e, Event::Output(p, _) | Event::Record(p, ..) | Event::PipelineState(p, ..) if *p == id)) {
                Event::Output(_, v) => run.output.push(v),
                Event::Record(_, s, v) => run.records.push((s, v)),
                Event::PipelineState(_, s, reason) if s.is_finished() => {
                    run.state = Some(s);
                    run.reason = reason;
                }
                _ => {}
            }
        }
        self.transport.send(&outofproc::close(id)).unwrap();
        while self.step() != ServerPacket::CloseAck(id) {}
        run
    }

    fn script(&mut self, text: &str) -> Run {
        self.run(&[Command::script(text)], None)
    }

    fn close(mut self) {
        self.transport.send(&outofproc::close(Uuid::nil())).unwrap();
        while self.step() != ServerPacket::CloseAck(Uuid::nil()) {}
        self.transport.close();
    }
}

fn strings(run: &Run) -> Vec<String> {
    run.output.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| format!("{v:?}"))).collect()
}

#[test]
fn a_real_pwsh_keeps_state_between_pipelines_and_sends_every_stream() {
    let mut c = Client::start();
    assert_eq!(c.script("$x = 40 + 2").state, Some(PipelineState::Completed));
    let again = c.script("$x; 'π ≈ 3.14159 — ünïcödé ✓'");
    assert_eq!(again.output, vec![Value::Int32(42), Value::String("π ≈ 3.14159 — ünïcödé ✓".into())]);

    let streams = c.script(
        "$VerbosePreference = $DebugPreference = 'Continue'; Write-Warning 'w1'; Write-Verbose 'v1'; Write-Debug 'd1'; \
         Write-Information 'i1'; Write-Error 'e1'; Write-Progress -Activity a1 -Status s1; 'out'",
    );
    assert_eq!(strings(&streams), vec!["out"]);
    let kinds: Vec<Stream> = streams.records.iter().map(|(s, _)| *s).collect();
    for k in [Stream::Warning, Stream::Verbose, Stream::Debug, Stream::Information, Stream::Error, Stream::Progress] {
        assert!(kinds.contains(&k), "{k:?} not in {kinds:?}");
    }
    let (_, error) = streams.records.iter().find(|(s, _)| *s == Stream::Error).unwrap();
    let info = ErrorInfo::from_record(error);
    assert_eq!(info.message, "e1");
    assert_eq!(info.fully_qualified_error_id, "Microsoft.PowerShell.Commands.WriteErrorException");
    let texts: Vec<(Stream, String)> = streams.records.iter().map(|(s, v)| (*s, record_text(*s, v))).collect();
    for expected in [(Stream::Warning, "w1"), (Stream::Verbose, "v1"), (Stream::Debug, "d1"), (Stream::Information, "i1"), (Stream::Error, "e1"), (Stream::Progress, "a1: s1")] {
        assert!(texts.contains(&(expected.0, expected.1.to_string())), "{expected:?} not in {texts:?}");
    }
    c.close();
}

#[test]
fn commands_take_arguments_and_input_of_every_type_back_unchanged() {
    let mut c = Client::start();
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
    // Write-Output -NoEnumerate $args' items one by one: each comes back as it went.
    let echo = c.run(&[Command::script("param($a) foreach ($i in $a) { ,$i }").parameter("a", list(values.clone()))], None);
    assert_eq!(echo.state, Some(PipelineState::Completed), "{:?}", echo.reason.as_ref().map(ErrorInfo::from_record));
    assert_eq!(echo.output, values);
    // Pipeline input, through a command by name with a named parameter and a switch.
    let piped = c.run(
        &[Command::named("Sort-Object").parameter("Descending", Value::Bool(true)), Command::named("Select-Object").parameter("First", Value::Int32(2))],
        Some(vec![Value::Int32(3), Value::Int32(9), Value::Int32(5)]),
    );
    assert_eq!(piped.output, vec![Value::Int32(9), Value::Int32(5)]);
    // A hashtable comes back as a dictionary.
    let table = c.script("@{ k = 'v' }");
    let dict = table.output[0].as_object().unwrap();
    assert_eq!(dict.items, Some(Collection::Dictionary(vec![(Value::String("k".into()), Value::String("v".into()))])));
    c.close();
}

#[test]
fn a_script_that_throws_fails_with_its_error_record() {
    let mut c = Client::start();
    let run = c.script("throw 'boom'");
    assert_eq!(run.state, Some(PipelineState::Failed));
    let info = ErrorInfo::from_record(run.reason.as_ref().expect("the reason"));
    assert_eq!((info.message.as_str(), info.fully_qualified_error_id.as_str()), ("boom", "boom"));
    let missing = c.script("Get-NoSuchCommand");
    assert_eq!(missing.state, Some(PipelineState::Failed));
    assert_eq!(ErrorInfo::from_record(missing.reason.as_ref().unwrap()).fully_qualified_error_id, "CommandNotFoundException");
    // The pool is still usable.
    assert_eq!(strings(&c.script("'still here'")), vec!["still here"]);
    c.close();
}

fn list(items: Vec<Value>) -> Value {
    use remote_sessions::psrp::clixml::{ListKind, Object};
    use std::sync::Arc;
    Value::Object(Arc::new(Object {
        type_names: Arc::new(vec!["System.Object[]".into(), "System.Array".into(), "System.Object".into()]),
        items: Some(Collection::List(ListKind::Enumerable, items)),
        ..Default::default()
    }))
}
