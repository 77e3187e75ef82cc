//! The sans-IO WinRS shell (`wsman::shell`) over every conversation in ../shared/fixtures/pypsrp-wsman
//! (Windows Server 2016/2019, recorded by pypsrp's tests): each recorded request is rebuilt by the
//! builder from the same inputs and compared with the recording as element trees (namespaces by URI,
//! not prefix; header elements in any order, body elements in order; UUIDs zeroed and MessageID left
//! out, as pypsrp's harness does), and each recorded response is read into its typed result, the PSRP
//! payloads of both directions defragmented and decoded by `psrp`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use once_cell::sync::Lazy;
use regex::Regex;
use remote_sessions::psrp::capture::exchanges;
use remote_sessions::psrp::fragment::Defragmenter;
use remote_sessions::psrp::message::{Message, MessageType};
use remote_sessions::wsman::envelope;
use remote_sessions::wsman::shell::{self, CommandStatus, SendStream, Shell, ShellCreate, ShellError, ShellFaultKind, WsmanOption};
use remote_sessions::wsman::{NS_ADDRESSING, NS_MSWSMAN, NS_SOAP, NS_WSMAN};
use remote_sessions::xml::{Document, Element};

fn fixtures() -> PathBuf {
    std::env::var_os("RSESS_FIXTURES").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")).join("pypsrp-wsman")
}

static UUID: Lazy<Regex> = Lazy::new(|| Regex::new("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").unwrap());

/// Every UUID zeroed, as pypsrp's harness compares requests.
fn zero_uuids(text: &str) -> String {
    UUID.replace_all(text, "00000000-0000-0000-0000-000000000000").into_owned()
}

/// An xs:duration of seconds (`PT20S`, `PT7200.000S`, `PT-1S`) in milliseconds.
fn duration_ms(text: &str) -> Option<i64> {
    let seconds = text.trim().strip_prefix("PT")?.strip_suffix('S')?;
    let value: f64 = seconds.parse().ok()?;
    Some((value * 1000.0).round() as i64)
}

const DURATIONS: [&str; 3] = ["OperationTimeout", "IdleTimeOut", "Lifetime"];

/// Element trees compared: namespace URI and local name, attributes (as a set; `End` and boolean
/// values case-insensitively), trimmed text (durations by value), children in order — except the
/// SOAP header's, which may come in any order. `wsa:MessageID` is left out.
fn compare(path: &str, recorded: Element<'_>, built: Element<'_>, differences: &mut Vec<String>) {
    let here = format!("{path}/{}", recorded.name());
    if (recorded.ns(), recorded.name()) != (built.ns(), built.name()) {
        differences.push(format!("{here}: built {{{}}}{}", built.ns(), built.name()));
        return;
    }
    let attrs = |e: Element<'_>| {
        let mut a: Vec<(String, String, String)> = e
            .attributes()
            .map(|(ns, name, value)| {
                let value = if name == "End" || value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") { value.to_ascii_lowercase() } else { value.to_string() };
                (ns.to_string(), name.to_string(), value)
            })
            .collect();
        a.sort();
        a
    };
    if attrs(recorded) != attrs(built) {
        differences.push(format!("{here}: attributes {:?} recorded, {:?} built", attrs(recorded), attrs(built)));
    }
    let (rt, bt) = (recorded.trimmed(), built.trimmed());
    let same_text = if DURATIONS.contains(&recorded.name()) { duration_ms(rt) == duration_ms(bt) } else { rt == bt };
    if !same_text {
        differences.push(format!("{here}: text {rt:?} recorded, {bt:?} built"));
    }
    let keep = |e: &Element<'_>| !e.is(NS_ADDRESSING, "MessageID");
    let mut rc: Vec<Element<'_>> = recorded.children().filter(keep).collect();
    let mut bc: Vec<Element<'_>> = built.children().filter(keep).collect();
    if recorded.is(NS_SOAP, "Header") {
        let key = |e: &Element<'_>| (e.ns().to_string(), e.name().to_string());
        rc.sort_by_key(key);
        bc.sort_by_key(key);
    }
    if rc.len() != bc.len() {
        let names = |v: &[Element<'_>]| v.iter().map(|e| e.name().to_string()).collect::<Vec<_>>();
        differences.push(format!("{here}: children {:?} recorded, {:?} built", names(&rc), names(&bc)));
        return;
    }
    for (r, b) in rc.into_iter().zip(bc) {
        compare(&here, r, b, differences);
    }
}

/// A request's header and body, for reading the inputs the builder is given.
struct Recorded {
    doc: Document,
}

impl Recorded {
    fn header(&self, ns: &str, name: &str) -> Option<Element<'_>> {
        self.doc.root().child(NS_SOAP, "Header")?.child(ns, name)
    }
    fn header_text(&self, ns: &str, name: &str) -> Option<String> {
        self.header(ns, name).map(|e| e.trimmed().to_string())
    }
    fn body(&self) -> Option<Element<'_>> {
        self.doc.root().child(NS_SOAP, "Body")?.children().next()
    }
    fn action(&self) -> String {
        self.header_text(NS_ADDRESSING, "Action").unwrap_or_default()
    }
    fn options(&self) -> Vec<WsmanOption> {
        self.header(NS_WSMAN, "OptionSet")
            .into_iter()
            .flat_map(|s| s.children_named(NS_WSMAN, "Option"))
            .map(|o| WsmanOption::new(o.attr("", "Name").unwrap_or_default(), o.trimmed(), o.attr("", "MustComply").map_or(false, |m| m.eq_ignore_ascii_case("true"))))
            .collect()
    }
    fn selector(&self, name: &str) -> Option<String> {
        self.header(NS_WSMAN, "SelectorSet")?.children_named(NS_WSMAN, "Selector").find(|s| s.attr("", "Name") == Some(name)).map(|s| s.trimmed().to_string())
    }
    /// The shell settings the request was made with. None for OperationTimeout when the recorded value
    /// is no valid timeout (a request recorded to draw the server's fault).
    fn shell(&self) -> (Shell, bool) {
        let timeout = self.header_text(NS_WSMAN, "OperationTimeout").and_then(|t| duration_ms(&t));
        let valid_timeout = timeout.map_or(false, |t| t >= 0);
        let lang = |e: Option<Element<'_>>| e.and_then(|e| e.attr("http://www.w3.org/XML/1998/namespace", "lang")).map(str::to_string);
        (
            Shell {
                to: self.header_text(NS_ADDRESSING, "To").unwrap_or_default(),
                resource_uri: self.header_text(NS_WSMAN, "ResourceURI").unwrap_or_default(),
                max_envelope_size: self.header_text(NS_WSMAN, "MaxEnvelopeSize").and_then(|m| m.parse().ok()).unwrap_or(0),
                timeout_ms: if valid_timeout { timeout.unwrap() as u32 } else { 20_000 },
                locale: lang(self.header(NS_WSMAN, "Locale")),
                data_locale: lang(self.header(NS_MSWSMAN, "DataLocale")),
                session_id: self.header_text(NS_MSWSMAN, "SessionId"),
                shell_id: self.selector("ShellId"),
            },
            valid_timeout,
        )
    }
}

fn child_text(e: Element<'_>, name: &str) -> Option<String> {
    e.child(shell::NS_SHELL, name).map(|c| c.trimmed().to_string())
}

fn b64(text: &str) -> Vec<u8> {
    base64::decode(text.split_ascii_whitespace().collect::<String>()).expect("base64")
}

/// PSRP messages reassembled from one sender's fragments.
struct Psrp {
    defragmenter: Defragmenter,
    messages: Vec<MessageType>,
}

impl Psrp {
    fn new() -> Psrp {
        Psrp { defragmenter: Defragmenter::new(64 << 20), messages: Vec::new() }
    }
    fn push(&mut self, what: &str, bytes: &[u8]) {
        for m in self.defragmenter.push(bytes).unwrap_or_else(|e| panic!("{what}: {}", e.message)) {
            self.messages.push(Message::decode(&m).unwrap_or_else(|e| panic!("{what}: {}", e.message)).message_type);
        }
    }
}

/// Rebuilds a recorded request with the builder; the operation's name and the built request.
fn rebuild(r: &Recorded, client: &mut Psrp, what: &str) -> (&'static str, envelope::Request) {
    let (mut s, _) = r.shell();
    let options = r.options();
    let body = r.body();
    let powershell = s.resource_uri.starts_with("http://schemas.microsoft.com/powershell/");
    let action = r.action();
    match action.as_str() {
        envelope::ACTION_CREATE => {
            let b = body.expect("rsp:Shell");
            s.shell_id = b.attr("", "ShellId").map(str::to_string);
            let creation_xml = b.child(shell::NS_POWERSHELL, "creationXml").map(|c| b64(c.text()));
            if let Some(x) = &creation_xml {
                client.push(what, x);
            }
            let create = ShellCreate {
                input_streams: child_text(b, "InputStreams").unwrap_or_default(),
                output_streams: child_text(b, "OutputStreams").unwrap_or_default(),
                name: b.attr("", "Name").map(str::to_string),
                name_element: child_text(b, "Name"),
                environment: b
                    .child(shell::NS_SHELL, "Environment")
                    .into_iter()
                    .flat_map(|e| e.children_named(shell::NS_SHELL, "Variable"))
                    .map(|v| (v.attr("", "Name").unwrap_or_default().to_string(), v.text().to_string()))
                    .collect(),
                idle_timeout_ms: child_text(b, "IdleTimeOut").and_then(|t| duration_ms(&t)).map(|t| t as u32),
                lifetime_ms: child_text(b, "Lifetime").and_then(|t| duration_ms(&t)).map(|t| t as u32),
                working_directory: child_text(b, "WorkingDirectory"),
                creation_xml,
            };
            ("Create", s.create(&create, &options))
        }
        shell::ACTION_COMMAND => {
            let b = body.expect("rsp:CommandLine");
            let arguments: Vec<String> = b
                .children_named(shell::NS_SHELL, "Arguments")
                .map(|a| {
                    if powershell {
                        let fragments = b64(a.text());
                        client.push(what, &fragments);
                        shell::base64_argument(&fragments)
                    } else {
                        a.text().to_string()
                    }
                })
                .collect();
            let command = b.child(shell::NS_SHELL, "Command").map(|c| c.text().to_string()).unwrap_or_default();
            ("Command", s.command(b.attr("", "CommandId"), &command, &arguments, &options))
        }
        shell::ACTION_SEND => {
            let b = body.expect("rsp:Send");
            let streams: Vec<SendStream> = b
                .children_named(shell::NS_SHELL, "Stream")
                .map(|st| {
                    let data = b64(st.text());
                    if powershell {
                        client.push(what, &data);
                    }
                    SendStream {
                        name: st.attr("", "Name").unwrap_or_default().to_string(),
                        command_id: st.attr("", "CommandId").map(str::to_string),
                        end: st.attr("", "End").map(|e| e.eq_ignore_ascii_case("true")),
                        data,
                    }
                })
                .collect();
            ("Send", s.send(&streams))
        }
        shell::ACTION_RECEIVE => {
            let d = body.and_then(|b| b.child(shell::NS_SHELL, "DesiredStream")).expect("rsp:DesiredStream");
            ("Receive", s.receive(d.trimmed(), d.attr("", "CommandId"), &options))
        }
        shell::ACTION_SIGNAL => {
            let b = body.expect("rsp:Signal");
            ("Signal", s.signal(b.attr("", "CommandId"), &child_text(b, "Code").unwrap_or_default()))
        }
        envelope::ACTION_DELETE => ("Delete", s.delete()),
        envelope::ACTION_GET if s.resource_uri == shell::CONFIG_URI => ("Get config", s.get_config()),
        envelope::ACTION_GET => ("Get shell", s.get()),
        shell::ACTION_DISCONNECT => {
            let idle = body.and_then(|b| child_text(b, "IdleTimeOut")).and_then(|t| duration_ms(&t)).map(|t| t as u32);
            ("Disconnect", s.disconnect(idle))
        }
        shell::ACTION_RECONNECT => ("Reconnect", s.reconnect(body.and_then(|b| child_text(b, "CommandId")).as_deref())),
        shell::ACTION_CONNECT => {
            let xml = b64(body.and_then(|b| b.child(shell::NS_POWERSHELL, "connectXml")).expect("connectXml").text());
            client.push(what, &xml);
            ("Connect", s.connect(&xml, &options))
        }
        envelope::ACTION_ENUMERATE => {
            let b = body.expect("n:Enumerate");
            let max = b.child(NS_WSMAN, "MaxElements").and_then(|m| m.trimmed().parse().ok()).unwrap_or(0);
            let filtered = b.child(NS_WSMAN, "Filter").and_then(|f| f.child(NS_WSMAN, "SelectorSet")).and_then(|s| s.child(NS_WSMAN, "Selector")).map(|s| s.trimmed().to_string());
            match (s.resource_uri.as_str(), filtered) {
                (shell::COMMANDS_URI, Some(id)) => ("Enumerate commands", s.enumerate_commands(&id, max)),
                (shell::SHELLS_URI, None) => ("Enumerate shells", s.enumerate_shells(max)),
                (uri, _) => panic!("{what}: an Enumerate of {uri}"),
            }
        }
        other => panic!("{what}: no builder for {other}"),
    }
}

/// The fault kind Windows' WSManFault code stands for, as the recordings have them.
fn expected_fault(code: u32) -> ShellFaultKind {
    match code {
        2150858793 => ShellFaultKind::OperationTimeout,
        2150858843 => ShellFaultKind::InvalidSelectors,
        2150858767 => ShellFaultKind::InvalidHeader,
        87 => ShellFaultKind::Win32(87),
        2147942402 => ShellFaultKind::Win32(2),
        other => panic!("a fault code {other} the test does not know"),
    }
}

#[derive(Default)]
struct Tally {
    /// Requests rebuilt and equal to the recording, per operation.
    requests: BTreeMap<&'static str, usize>,
    /// Responses read, per operation (faults apart).
    responses: BTreeMap<String, usize>,
    faults: BTreeMap<String, usize>,
    /// Requests whose OperationTimeout was left out of the comparison (recorded invalid on purpose).
    invalid_timeouts: usize,
    files: usize,
    server_messages: BTreeMap<&'static str, usize>,
    client_messages: BTreeMap<&'static str, usize>,
}

fn check_response(op: &str, request: &Recorded, response: &str, what: &str, server: &mut Psrp, tally: &mut Tally) {
    let powershell = request.header_text(NS_WSMAN, "ResourceURI").map_or(false, |u| u.starts_with("http://schemas.microsoft.com/powershell/"));
    if response.contains("<s:Fault") {
        let err = shell::parse(response.to_string()).expect_err(what);
        let ShellError::Fault(fault) = err else { panic!("{what}: {err}") };
        let code = fault.fault.wsman_code.unwrap_or_else(|| panic!("{what}: a fault without a WSManFault code"));
        assert_eq!(fault.kind, expected_fault(code), "{what}");
        assert!(!fault.fault.message.is_empty() && fault.fault.subcode.is_some(), "{what}: {fault:?}");
        *tally.faults.entry(format!("{op}: {:?}", fault.kind)).or_default() += 1;
        return;
    }
    let text = response.to_string();
    match op {
        "Create" => {
            let created = shell::read_create(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            let body = request.body().unwrap();
            // Ids compared as the harness compares them (zeroed): some recordings pair a request and
            // a response of different runs.
            if let Some(id) = body.attr("", "ShellId") {
                assert_eq!(zero_uuids(&created.shell_id), zero_uuids(id), "{what}");
            }
            assert_eq!(created.resource_uri, request.header_text(NS_WSMAN, "ResourceURI").unwrap(), "{what}");
            assert_eq!(created.selectors, vec![("ShellId".to_string(), created.shell_id.clone())], "{what}");
            // Windows mostly describes the shell it created: PowerShell shells in full, cmd shells at
            // most by their id and resource URI.
            if let Some(info) = &created.shell {
                assert_eq!(info.shell_id, created.shell_id, "{what}");
                *tally.responses.entry("Create (with rsp:Shell)".into()).or_default() += 1;
            }
            if let (true, Some(info)) = (powershell, &created.shell) {
                assert_eq!(info.state.as_deref(), Some("Connected"), "{what}");
                assert_eq!(info.input_streams, child_text(body, "InputStreams"), "{what}");
            }
        }
        "Command" => {
            let id = shell::read_command(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            if let Some(asked) = request.body().and_then(|b| b.attr("", "CommandId")) {
                assert_eq!(zero_uuids(&id), zero_uuids(asked), "{what}");
            }
        }
        "Receive" => {
            let received = shell::read_receive(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            let asked = request.body().and_then(|b| b.child(shell::NS_SHELL, "DesiredStream")).and_then(|d| d.attr("", "CommandId")).map(str::to_string);
            for s in &received.streams {
                // test_client_copy_file_warning has a stream pasted in by hand under another
                // command's id (its comment says the id need not match).
                if asked.is_some() && !what.starts_with("test_client_copy_file_warning#") {
                    assert_eq!(s.command_id.as_deref().map(zero_uuids), asked.as_deref().map(zero_uuids), "{what}");
                }
                if s.end {
                    assert!(s.data.is_empty(), "{what}");
                }
                if powershell {
                    assert_eq!(s.name, "stdout", "{what}");
                    server.push(what, &s.data);
                }
            }
            if let Some(state) = &received.command_state {
                assert!(asked.is_none() || state.command_id.as_deref().map(zero_uuids) == asked.as_deref().map(zero_uuids), "{what}");
                assert_eq!(state.exit_code.is_some(), state.state == CommandStatus::Done, "{what}: {state:?}");
            }
        }
        "Send" | "Signal" | "Delete" | "Disconnect" | "Reconnect" => {
            shell::read_empty(text, &request.action()).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
        "Connect" => {
            let connected = shell::read_connect(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(connected.input_streams.as_deref(), Some("stdin pr"), "{what}");
            server.push(what, &connected.connect_response_xml);
        }
        "Enumerate shells" => {
            let (shells, context) = shell::read_shells(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(context.is_none() && !shells.is_empty(), "{what}");
            for s in &shells {
                assert_eq!(s.resource_uri.as_deref(), Some("http://schemas.microsoft.com/powershell/Microsoft.PowerShell"), "{what}");
                assert_eq!(s.state.as_deref(), Some("Disconnected"), "{what}");
            }
        }
        "Enumerate commands" => {
            let (commands, context) = shell::read_commands(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(context.is_none(), "{what}");
            let _ = commands;
        }
        "Get config" => {
            let size = shell::read_max_envelope_size(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            let kb: u32 = what.rsplit("envelope_size_").next().unwrap().split('#').next().unwrap().parse().unwrap();
            assert_eq!(size, kb * 1024, "{what}");
        }
        "Get shell" => {
            let info = shell::read_get(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(Some(zero_uuids(&info.shell_id)), request.selector("ShellId").as_deref().map(zero_uuids), "{what}");
        }
        other => panic!("{what}: no reader for {other}"),
    }
    *tally.responses.entry(op.to_string()).or_default() += 1;
}

#[test]
fn every_recorded_shell_request_is_rebuilt_and_every_response_read() {
    let mut tally = Tally::default();
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures()).expect("fixtures/pypsrp-wsman").map(|e| e.unwrap().path()).collect();
    names.sort();
    let mut failures = Vec::new();
    for path in names {
        let file = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().map_or(true, |e| e != "yml") || !file.starts_with("test_") {
            continue;
        }
        tally.files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let (mut client, mut server) = (Psrp::new(), Psrp::new());
        for (n, exchange) in exchanges(&text).into_iter().enumerate() {
            let what = format!("{file}#{n}");
            let recorded = Recorded { doc: Document::parse(exchange.request.clone(), "request").unwrap_or_else(|e| panic!("{what}: {}", e.message)) };
            let (op, built) = rebuild(&recorded, &mut client, &what);
            // Both zeroed, as pypsrp's harness compares them.
            let want = Document::parse(zero_uuids(&exchange.request), "recorded").unwrap();
            let got = Document::parse(zero_uuids(&built.xml), "built").unwrap_or_else(|e| panic!("{what}: {}\n{}", e.message, built.xml));
            let mut differences = Vec::new();
            compare("", want.root(), got.root(), &mut differences);
            if !recorded.shell().1 {
                // The one request recorded with `PT-1S` to draw the server's fault.
                tally.invalid_timeouts += 1;
                differences.retain(|d| !d.contains("/OperationTimeout"));
            }
            if differences.is_empty() {
                *tally.requests.entry(op).or_default() += 1;
            } else {
                failures.push(format!("{what} {op}: {differences:#?}"));
            }
            if let Some(response) = &exchange.response {
                check_response(op, &recorded, response, &what, &mut server, &mut tally);
            }
        }
        for m in &client.messages {
            *tally.client_messages.entry(m.name()).or_default() += 1;
        }
        for m in &server.messages {
            *tally.server_messages.entry(m.name()).or_default() += 1;
        }
    }
    assert!(failures.is_empty(), "{} requests differ:\n{}", failures.len(), failures.join("\n"));
    eprintln!(
        "{} files\nrequests: {:#?}\nresponses: {:#?}\nfaults: {:#?}\nclient PSRP: {:#?}\nserver PSRP: {:#?}",
        tally.files, tally.requests, tally.responses, tally.faults, tally.client_messages, tally.server_messages
    );
    assert_eq!(tally.files, 60);
    assert_eq!(tally.invalid_timeouts, 1);
    for op in ["Create", "Command", "Send", "Receive", "Signal", "Delete", "Disconnect", "Reconnect", "Connect", "Enumerate shells", "Enumerate commands", "Get config", "Get shell"] {
        assert!(tally.requests.contains_key(op), "no {op} request: {:?}", tally.requests);
        assert!(tally.responses.contains_key(op), "no {op} response: {:?}", tally.responses);
    }
    for m in ["SESSION_CAPABILITY", "INIT_RUNSPACEPOOL", "CREATE_PIPELINE", "CONNECT_RUNSPACEPOOL"] {
        assert!(tally.client_messages.contains_key(m), "client sent no {m}: {:?}", tally.client_messages);
    }
    for m in ["SESSION_CAPABILITY", "RUNSPACEPOOL_STATE", "PIPELINE_OUTPUT", "PIPELINE_STATE", "RUNSPACEPOOL_INIT_DATA"] {
        assert!(tally.server_messages.contains_key(m), "server sent no {m}: {:?}", tally.server_messages);
    }
}

/// The comparison sees what matters: a built request that differs from the recording in an element, an
/// attribute, a text, a duration or the order of the body's elements is reported; prefixes, header
/// order, MessageID and UUIDs are not.
#[test]
fn the_comparison_reports_real_differences_only() {
    let text = std::fs::read_to_string(fixtures().join("test_winrs_send.yml")).unwrap();
    let exchange = exchanges(&text).into_iter().nth(2).unwrap();
    let recorded = Recorded { doc: Document::parse(exchange.request.clone(), "request").unwrap() };
    let (_, built) = rebuild(&recorded, &mut Psrp::new(), "send");
    let differences = |xml: &str| {
        let want = Document::parse(zero_uuids(&exchange.request), "recorded").unwrap();
        let got = Document::parse(zero_uuids(xml), "built").unwrap();
        let mut d = Vec::new();
        compare("", want.root(), got.root(), &mut d);
        d
    };
    assert_eq!(differences(&built.xml), Vec::<String>::new());
    // Another MessageID and other UUIDs are no difference.
    let other_ids = UUID.replace_all(&built.xml, "12345678-1234-1234-1234-123456789ABC");
    assert_eq!(differences(&other_ids), Vec::<String>::new());
    for (from, to) in [
        (r#"Name="stdin""#, r#"Name="pr""#),
        (r#" End="false""#, ""),
        ("<w:OperationTimeout>PT20.000S", "<w:OperationTimeout>PT21.000S"),
        ("rsp:Stream", "rsp:Streams"),
        ("V3JpdGUtSG9zdCAib3V0cHV0IDEiOw==", "V3JpdGUtSG9zdCAib3V0cHV0IDEiOx=="),
        (r#"<p:SessionId s:mustUnderstand="false">"#, r#"<p:SessionId s:mustUnderstand="true">"#),
    ] {
        assert!(built.xml.contains(from), "{from} in {}", built.xml);
        assert!(!differences(&built.xml.replace(from, to)).is_empty(), "{from} → {to} was not noticed");
    }
    // The body's elements in another order.
    let order = exchanges(&text).into_iter().nth(1).unwrap();
    let command = Recorded { doc: Document::parse(order.request.clone(), "request").unwrap() };
    let (_, built) = rebuild(&command, &mut Psrp::new(), "command");
    let swapped = built.xml.replace("<rsp:Command>powershell.exe</rsp:Command><rsp:Arguments>-</rsp:Arguments>", "<rsp:Arguments>-</rsp:Arguments><rsp:Command>powershell.exe</rsp:Command>");
    assert_ne!(swapped, built.xml);
    let want = Document::parse(zero_uuids(&order.request), "recorded").unwrap();
    let got = Document::parse(zero_uuids(&swapped), "built").unwrap();
    let mut d = Vec::new();
    compare("", want.root(), got.root(), &mut d);
    assert!(!d.is_empty());
}

/// The recorded responses of one file, by exchange.
fn responses(file: &str) -> Vec<Option<String>> {
    let text = std::fs::read_to_string(fixtures().join(format!("{file}.yml"))).unwrap();
    exchanges(&text).into_iter().map(|e| e.response).collect()
}

fn psrp_messages(bytes: &[u8]) -> Vec<MessageType> {
    let mut p = Psrp::new();
    p.push("test", bytes);
    p.messages
}

#[test]
fn known_replies_read_to_their_values() {
    // A cmd command's output on two streams, its end and its exit code.
    let r = responses("test_winrs_stderr_rc");
    let received = shell::read_receive(r[2].clone().unwrap()).unwrap();
    assert_eq!((received.data("stdout"), received.data("stderr")), (b"out \r\n".to_vec(), b"err \r\n".to_vec()));
    assert_eq!(received.streams.iter().filter(|s| s.end).count(), 2);
    let state = received.command_state.clone().unwrap();
    assert_eq!((state.state, state.exit_code, received.is_done()), (CommandStatus::Done, Some(1), true));

    // A Receive that timed out: no output yet, typed so.
    let r = responses("test_winrs_operation_timeout");
    let e = shell::read_receive(r[3].clone().unwrap()).unwrap_err();
    assert!(e.is_operation_timeout(), "{e}");
    let ShellError::Fault(f) = &e else { unreachable!() };
    assert_eq!(f.fault.wsman_code, Some(shell::WSMAN_OPERATION_TIMEOUT));
    assert_eq!(remote_sessions::Error::from(e).kind, remote_sessions::ErrorKind::Timeout);

    // Receive for a command that is gone, and a cmd shell without cmd.exe.
    let e = shell::read_receive(responses("test_winrs_bad_cmd_id")[2].clone().unwrap()).unwrap_err();
    assert!(matches!(e, ShellError::Fault(ref f) if f.kind == ShellFaultKind::InvalidSelectors), "{e}");
    let e = shell::read_command(responses("test_winrs_no_cmd_shell")[1].clone().unwrap()).unwrap_err();
    assert!(matches!(e, ShellError::Fault(ref f) if f.kind == ShellFaultKind::Win32(2)), "{e}");

    // Disconnect, the Enumerate of shells, Connect from a new client and its PSRP answer.
    let r = responses("test_psrp_disconnect_runspaces");
    shell::read_empty(r[4].clone().unwrap(), shell::ACTION_DISCONNECT).unwrap();
    shell::read_empty(r[5].clone().unwrap(), shell::ACTION_RECONNECT).unwrap();
    assert!(shell::read_empty(r[5].clone().unwrap(), shell::ACTION_DISCONNECT).is_err());
    let (shells, context) = shell::read_shells(r[11].clone().unwrap()).unwrap();
    assert_eq!(context, None);
    assert_eq!(
        shells.iter().map(|s| (s.shell_id.as_str(), s.state.as_deref(), s.process_id)).collect::<Vec<_>>(),
        [("B6631D8E-65A0-49F2-9053-A1B156C95777", Some("Disconnected"), Some(2792)), ("01AA3E43-9E21-424B-A7FC-BC16AA34F4CE", Some("Disconnected"), Some(4060))]
    );
    assert_eq!(shells[0].idle_timeout.as_deref(), Some("PT7200.000S"));
    let (commands, _) = shell::read_commands(r[12].clone().unwrap()).unwrap();
    assert!(commands.is_empty());
    let connected = shell::read_connect(r[14].clone().unwrap()).unwrap();
    assert_eq!(psrp_messages(&connected.connect_response_xml), [MessageType::SessionCapability, MessageType::RunspacePoolInitData]);

    // Create: the shell id PowerShell chose, its EPR, and what the server says of it.
    let created = shell::read_create(responses("test_psrp_open_runspace")[0].clone().unwrap()).unwrap();
    assert_eq!(created.shell_id, "76056A84-51DC-4F24-9262-CA2A55464B2B");
    assert_eq!((created.address.as_str(), created.resource_uri.as_str()), ("https://127.0.0.1:55986/wsman", "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"));
    let info = created.shell.unwrap();
    assert_eq!((info.owner.as_deref(), info.process_id, info.buffer_mode.as_deref()), (Some("WIN-NNMU24VVKJ0\\vagrant"), Some(1868), Some("Block")));

    // The server's MaxEnvelopeSize.
    for kb in [150u32, 500, 4096] {
        let r = responses(&format!("test_wsman_update_envelope_size_{kb}"));
        assert_eq!(shell::read_max_envelope_size(r[0].clone().unwrap()).unwrap(), kb * 1024);
    }
}
