//! WinRS shells over WS-Management, as PowerShell remoting drives them (MS-WSMV 3.1.4.5 and
//! 3.1.4.11–3.1.4.17, with the rules of MS-PSRP 3.1.5.3): the requests of Create, Command, Send, Receive, Signal, Delete, Disconnect,
//! Reconnect, Connect, the Get and Enumerate of shells and the Get of the service's configuration, and
//! the reading of their replies. Sans-IO: each operation is a function of a [`Shell`]'s settings that
//! returns an envelope; reading a reply returns a typed result or a [`ShellError`]; only the caller
//! moves bytes and keeps state (the ShellId learnt from Create goes into [`Shell::shell_id`]).
//!
//! PSRP rides in base64: the client's fragments in `creationXml` (Create), `connectXml` (Connect), a
//! Command's `Arguments` and the `stdin`/`pr` streams of Send; the server's in the `stdout` stream of
//! Receive and in `connectResponseXml`.

use std::fmt::Write;

use super::envelope::{self, Header, Request};
use super::reply::{self, Fault, Reply};
use super::{NS_ADDRESSING, NS_WSMAN};
use crate::error::{Error, ErrorKind};
use crate::xml::{escape, Element};

/// The WinRS shell namespace (MS-WSMV, prefix `rsp`).
pub const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// PowerShell's namespace of `creationXml`, `connectXml` and `connectResponseXml` (MS-PSRP 3.1.5.3).
pub const NS_POWERSHELL: &str = "http://schemas.microsoft.com/powershell";
/// The namespace of the service configuration (`cfg:Config`, MS-WSMV).
pub const NS_CONFIG: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";

/// Resource URI of the cmd shell (MS-WSMV 3.1.4.5, the Text-based Command Shell).
pub const CMD_SHELL_URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
/// Resource URI enumerated to list the shells (WS-Enumeration of the shell resource, DSP0226 §8.2: every shell of the user).
pub const SHELLS_URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// Resource URI enumerated to list a shell's commands (DSP0226 §8.2, with a selector filter).
pub const COMMANDS_URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
/// Resource URI of the service configuration, whose Get tells `MaxEnvelopeSizekb` (MS-WSMV).
pub const CONFIG_URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";
/// The selector filter dialect (DSP0226), used to enumerate one shell's commands.
pub const DIALECT_SELECTOR_FILTER: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter";

/// Command (MS-WSMV 3.1.4.11).
pub const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
/// Send (MS-WSMV 3.1.4.13).
pub const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
/// Receive (MS-WSMV 3.1.4.14).
pub const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
/// Signal (MS-WSMV 3.1.4.12).
pub const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
/// Disconnect (MS-WSMV 3.1.4.15).
pub const ACTION_DISCONNECT: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Disconnect";
/// Reconnect (MS-WSMV 3.1.4.16).
pub const ACTION_RECONNECT: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Reconnect";
/// Connect (MS-WSMV 3.1.4.17).
pub const ACTION_CONNECT: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Connect";

/// Signal code: terminate the shell or command (MS-WSMV 2.2.5.6 `SignalCodeEnumeration`).
pub const SIGNAL_TERMINATE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";
/// Signal code: Ctrl+C to a cmd shell's process (MS-WSMV 2.2.5.6).
pub const SIGNAL_CTRL_C: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c";
/// Signal code: Ctrl+Break to a cmd shell's process (MS-WSMV 2.2.5.6).
pub const SIGNAL_CTRL_BREAK: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_break";
/// Signal code: stop a PowerShell pipeline (MS-PSRP 3.1.5.3.9), spelt `crtl_c` as MS-PSRP and
/// PowerShell spell it (MS-WSMV 2.2.5.6 lists `ctrl_c`).
pub const SIGNAL_PS_STOP: &str = "powershell/signal/crtl_c";

/// `CommandState` of a finished command (MS-WSMV `CommandStateType`).
pub const COMMAND_STATE_DONE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
/// `CommandState` of a command waiting for input (MS-WSMV `CommandStateType`).
pub const COMMAND_STATE_PENDING: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Pending";
/// `CommandState` of a running command (MS-WSMV `CommandStateType`).
pub const COMMAND_STATE_RUNNING: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";

/// The resource URI of a PowerShell session configuration (MS-PSRP 3.1.5.3):
/// `http://schemas.microsoft.com/powershell/<ConfigurationName>`; a name that already is a URI is
/// returned as is.
pub fn powershell_uri(configuration_name: &str) -> String {
    if configuration_name.contains("://") {
        configuration_name.to_string()
    } else {
        format!("{NS_POWERSHELL}/{configuration_name}")
    }
}

/// One `w:Option` of a request's `w:OptionSet` (DSP0226 §6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsmanOption {
    pub name: String,
    pub value: String,
    /// `MustComply="true"`: the server must honour the option or fault.
    pub must_comply: bool,
}

impl WsmanOption {
    /// An option `name` = `value`; `must_comply` sets `MustComply="true"`.
    pub fn new(name: &str, value: &str, must_comply: bool) -> WsmanOption {
        WsmanOption { name: name.to_string(), value: value.to_string(), must_comply }
    }
}

/// The options of a PowerShell shell's Create and Connect (MS-PSRP 3.1.5.3):
/// `protocolversion` (MustComply), and `WINRS_NOPROFILE` = `TRUE` when the user's profile is not to be
/// loaded.
pub fn powershell_options(protocol_version: &str, no_profile: bool) -> Vec<WsmanOption> {
    let mut options = vec![WsmanOption::new("protocolversion", protocol_version, true)];
    if no_profile {
        options.push(WsmanOption::new("WINRS_NOPROFILE", "TRUE", true));
    }
    options
}

/// The option of every Receive: `WSMAN_CMDSHELL_OPTION_KEEPALIVE` = `True` (MS-WSMV 3.1.4.14), so
/// the server keeps the shell alive while the client polls.
pub fn receive_options() -> Vec<WsmanOption> {
    vec![WsmanOption::new("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "True", false)]
}

/// The option of a Command: `WINRS_SKIP_CMD_SHELL` (MS-WSMV 3.1.4.11), `False` unless the command
/// is to run without cmd.exe.
pub fn command_options(skip_cmd_shell: bool) -> Vec<WsmanOption> {
    vec![WsmanOption::new("WINRS_SKIP_CMD_SHELL", if skip_cmd_shell { "True" } else { "False" }, false)]
}

/// What the client knows about one shell: where it is and how to address it (MS-WSMV 3.1.4). Every
/// request of the shell is built from these; only [`Shell::shell_id`] changes, once Create is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    /// The endpoint URL, e.g. `https://srv1:5986/wsman`.
    pub to: String,
    /// The shell's resource URI: [`powershell_uri`] or [`CMD_SHELL_URI`].
    pub resource_uri: String,
    /// `w:MaxEnvelopeSize` of each request, in bytes.
    pub max_envelope_size: u32,
    /// `w:OperationTimeout` of each request, in milliseconds.
    pub timeout_ms: u32,
    /// `w:Locale`, e.g. `en-US`.
    pub locale: Option<String>,
    /// `p:DataLocale`, e.g. `en-US`.
    pub data_locale: Option<String>,
    /// `p:SessionId` (MS-WSMV 3.1.4.1.37, `uuid:…`): the same for every request of a client session,
    /// so that Reconnect finds the shell again.
    pub session_id: Option<String>,
    /// The ShellId: chosen by the client for Create (PowerShell does) or learnt from its reply.
    pub shell_id: Option<String>,
}

/// The body of a Create (MS-WSMV 3.1.4.5, the `rsp:Shell` of 2.2.4.37; MS-PSRP 3.1.5.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShellCreate {
    /// `rsp:InputStreams`: `stdin pr` for PowerShell, `stdin` for cmd.
    pub input_streams: String,
    /// `rsp:OutputStreams`: `stdout` for PowerShell, `stdout stderr` for cmd.
    pub output_streams: String,
    /// The shell's `Name` attribute (PowerShell names its shells, e.g. `Runspace1`).
    pub name: Option<String>,
    /// `rsp:Name` as an element (some clients name cmd shells so).
    pub name_element: Option<String>,
    /// `rsp:Environment` variables, in order.
    pub environment: Vec<(String, String)>,
    /// `rsp:IdleTimeOut`, in milliseconds.
    pub idle_timeout_ms: Option<u32>,
    /// `rsp:Lifetime`, in milliseconds.
    pub lifetime_ms: Option<u32>,
    /// `rsp:WorkingDirectory`.
    pub working_directory: Option<String>,
    /// `creationXml`: the PSRP fragments of SESSION_CAPABILITY and INIT_RUNSPACEPOOL (MS-PSRP
    /// 3.1.5.3), sent in base64.
    pub creation_xml: Option<Vec<u8>>,
}

impl ShellCreate {
    /// A PowerShell shell's Create: streams `stdin pr` / `stdout` and the fragments in `creation_xml`.
    pub fn powershell(creation_xml: Vec<u8>) -> ShellCreate {
        ShellCreate { input_streams: "stdin pr".into(), output_streams: "stdout".into(), creation_xml: Some(creation_xml), ..ShellCreate::default() }
    }
}

/// One `rsp:Stream` of a Send (MS-WSMV 3.1.4.13, `StreamType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendStream {
    /// `stdin`, or `pr` for PowerShell's host responses (MS-PSRP 3.1.5.3).
    pub name: String,
    /// The command the input is for; None for the shell (the runspace pool).
    pub command_id: Option<String>,
    /// `End="true"`/`"false"`; None leaves the attribute out.
    pub end: Option<bool>,
    /// The bytes, sent in base64.
    pub data: Vec<u8>,
}

impl Shell {
    fn header<'a>(&'a self, action: &'a str, resource_uri: &'a str, selectors: &'a [(String, String)]) -> Header<'a> {
        Header {
            to: &self.to,
            resource_uri,
            action,
            selectors,
            max_envelope_size: self.max_envelope_size,
            timeout_ms: self.timeout_ms,
            locale: self.locale.as_deref(),
            data_locale: self.data_locale.as_deref(),
        }
    }

    /// The `ShellId` selector, when the shell's id is known.
    fn selectors(&self) -> Vec<(String, String)> {
        self.shell_id.iter().map(|id| ("ShellId".to_string(), id.clone())).collect()
    }

    /// A request to `resource_uri` with this shell's settings, `options` and `selectors`.
    fn request(&self, action: &str, resource_uri: &str, selectors: &[(String, String)], options: &[WsmanOption], body: &str) -> Request {
        let mut extra = String::new();
        if let Some(id) = &self.session_id {
            let _ = write!(extra, r#"<p:SessionId s:mustUnderstand="false">{}</p:SessionId>"#, escape(id));
        }
        if !options.is_empty() {
            extra.push_str(r#"<w:OptionSet s:mustUnderstand="true">"#);
            for o in options {
                let comply = if o.must_comply { r#" MustComply="true""# } else { "" };
                let _ = write!(extra, r#"<w:Option Name="{}"{comply}>{}</w:Option>"#, escape(&o.name), escape(&o.value));
            }
            extra.push_str("</w:OptionSet>");
        }
        envelope::request_with(&self.header(action, resource_uri, selectors), &extra, body)
    }

    /// Create (MS-WSMV 3.1.4.5; MS-PSRP 3.1.5.3): a new shell, with [`Shell::shell_id`] as its
    /// `ShellId` attribute when the client chose one (PowerShell does), and `options` such as
    /// [`powershell_options`].
    pub fn create(&self, shell: &ShellCreate, options: &[WsmanOption]) -> Request {
        let mut b = format!(r#"<rsp:Shell xmlns:rsp="{NS_SHELL}""#);
        if let Some(id) = &self.shell_id {
            let _ = write!(b, r#" ShellId="{}""#, escape(id));
        }
        if let Some(name) = &shell.name {
            let _ = write!(b, r#" Name="{}""#, escape(name));
        }
        let _ = write!(b, "><rsp:InputStreams>{}</rsp:InputStreams><rsp:OutputStreams>{}</rsp:OutputStreams>", escape(&shell.input_streams), escape(&shell.output_streams));
        if !shell.environment.is_empty() {
            b.push_str("<rsp:Environment>");
            for (name, value) in &shell.environment {
                let _ = write!(b, r#"<rsp:Variable Name="{}">{}</rsp:Variable>"#, escape(name), escape(value));
            }
            b.push_str("</rsp:Environment>");
        }
        if let Some(ms) = shell.idle_timeout_ms {
            let _ = write!(b, "<rsp:IdleTimeOut>{}</rsp:IdleTimeOut>", envelope::duration(ms));
        }
        if let Some(ms) = shell.lifetime_ms {
            let _ = write!(b, "<rsp:Lifetime>{}</rsp:Lifetime>", envelope::duration(ms));
        }
        if let Some(name) = &shell.name_element {
            let _ = write!(b, "<rsp:Name>{}</rsp:Name>", escape(name));
        }
        if let Some(dir) = &shell.working_directory {
            let _ = write!(b, "<rsp:WorkingDirectory>{}</rsp:WorkingDirectory>", escape(dir));
        }
        if let Some(xml) = &shell.creation_xml {
            let _ = write!(b, r#"<creationXml xmlns="{NS_POWERSHELL}">{}</creationXml>"#, base64::encode(xml));
        }
        b.push_str("</rsp:Shell>");
        // Create addresses the resource, not a shell: the ShellId goes in the body.
        self.request(envelope::ACTION_CREATE, &self.resource_uri, &[], options, &b)
    }

    /// Command (MS-WSMV 3.1.4.11; MS-PSRP 3.1.5.3): `command` (empty for PowerShell, whose pipeline
    /// travels in `arguments`), with `command_id` as `CommandId` when the client chose one (PowerShell
    /// uses the pipeline's id). For PowerShell, `arguments` is one item: the CREATE_PIPELINE fragments,
    /// see [`base64_argument`]. `options`: [`command_options`].
    pub fn command(&self, command_id: Option<&str>, command: &str, arguments: &[String], options: &[WsmanOption]) -> Request {
        let mut b = format!(r#"<rsp:CommandLine xmlns:rsp="{NS_SHELL}""#);
        if let Some(id) = command_id {
            let _ = write!(b, r#" CommandId="{}""#, escape(id));
        }
        let _ = write!(b, "><rsp:Command>{}</rsp:Command>", escape(command));
        for a in arguments {
            let _ = write!(b, "<rsp:Arguments>{}</rsp:Arguments>", escape(a));
        }
        b.push_str("</rsp:CommandLine>");
        self.request(ACTION_COMMAND, &self.resource_uri, &self.selectors(), options, &b)
    }

    /// Send (MS-WSMV 3.1.4.13; MS-PSRP 3.1.5.3): input on `stdin` (PSRP fragments for the pool or a
    /// pipeline) or `pr` (host responses).
    pub fn send(&self, streams: &[SendStream]) -> Request {
        let mut b = format!(r#"<rsp:Send xmlns:rsp="{NS_SHELL}">"#);
        for s in streams {
            let _ = write!(b, r#"<rsp:Stream Name="{}""#, escape(&s.name));
            if let Some(id) = &s.command_id {
                let _ = write!(b, r#" CommandId="{}""#, escape(id));
            }
            if let Some(end) = s.end {
                let _ = write!(b, r#" End="{end}""#);
            }
            let _ = write!(b, ">{}</rsp:Stream>", base64::encode(&s.data));
        }
        b.push_str("</rsp:Send>");
        self.request(ACTION_SEND, &self.resource_uri, &self.selectors(), &[], &b)
    }

    /// The most PSRP fragment bytes one Send of a stream to `command_id` can carry within
    /// [`Shell::max_envelope_size`] (MS-PSRP 3.1.5.3: fragments are sized so that each envelope fits):
    /// what the envelope leaves after its header and the stream element, less a margin for the
    /// authentication layer, as base64 (4 characters per 3 bytes). Pass it to
    /// `psrp::fragment::Outgoing::take` as the budget.
    pub fn send_budget(&self, command_id: Option<&str>) -> usize {
        /// Room kept for what wraps the envelope on the way (message encryption headers).
        const MARGIN: usize = 1024;
        let stream = SendStream { name: "stdin".into(), command_id: command_id.map(str::to_string), end: None, data: Vec::new() };
        let empty = self.send(&[stream]).xml.len();
        (self.max_envelope_size as usize).saturating_sub(empty + MARGIN) / 4 * 3
    }

    /// Receive (MS-WSMV 3.1.4.14, body 2.2.4.26; MS-PSRP 3.1.5.3.7): the output of `desired_streams` (e.g. `stdout`)
    /// of the command `command_id`, or of the shell itself (the runspace pool) when None.
    /// `options`: [`receive_options`].
    pub fn receive(&self, desired_streams: &str, command_id: Option<&str>, options: &[WsmanOption]) -> Request {
        let mut b = format!(r#"<rsp:Receive xmlns:rsp="{NS_SHELL}"><rsp:DesiredStream"#);
        if let Some(id) = command_id {
            let _ = write!(b, r#" CommandId="{}""#, escape(id));
        }
        let _ = write!(b, ">{}</rsp:DesiredStream></rsp:Receive>", escape(desired_streams));
        self.request(ACTION_RECEIVE, &self.resource_uri, &self.selectors(), options, &b)
    }

    /// Signal (MS-WSMV 3.1.4.12, body 2.2.4.38; MS-PSRP 3.1.5.3.9): `code` ([`SIGNAL_PS_STOP`], [`SIGNAL_TERMINATE`],
    /// [`SIGNAL_CTRL_C`]) to the command `command_id`, or to the shell (the runspace pool) when None.
    pub fn signal(&self, command_id: Option<&str>, code: &str) -> Request {
        let mut b = format!(r#"<rsp:Signal xmlns:rsp="{NS_SHELL}""#);
        if let Some(id) = command_id {
            let _ = write!(b, r#" CommandId="{}""#, escape(id));
        }
        let _ = write!(b, "><rsp:Code>{}</rsp:Code></rsp:Signal>", escape(code));
        self.request(ACTION_SIGNAL, &self.resource_uri, &self.selectors(), &[], &b)
    }

    /// Delete (WS-Transfer Delete, DSP0226 §7; MS-WSMV 3.1.4): closes the shell.
    pub fn delete(&self) -> Request {
        self.request(envelope::ACTION_DELETE, &self.resource_uri, &self.selectors(), &[], "")
    }

    /// Get of the shell (WS-Transfer Get, DSP0226 §7; MS-WSMV 3.1.4): its current [`ShellInfo`] (state, idle timeout, …), as a
    /// client checks whether a shell is still there.
    pub fn get(&self) -> Request {
        self.request(envelope::ACTION_GET, &self.resource_uri, &self.selectors(), &[], "")
    }

    /// Disconnect (MS-WSMV 3.1.4.15; MS-PSRP 3.1.5.3.16): the server keeps the shell for
    /// `idle_timeout_ms` (`rsp:IdleTimeOut`) or its default when None.
    pub fn disconnect(&self, idle_timeout_ms: Option<u32>) -> Request {
        let b = match idle_timeout_ms {
            Some(ms) => format!(r#"<rsp:Disconnect xmlns:rsp="{NS_SHELL}"><rsp:IdleTimeOut>{}</rsp:IdleTimeOut></rsp:Disconnect>"#, envelope::duration(ms)),
            None => format!(r#"<rsp:Disconnect xmlns:rsp="{NS_SHELL}"/>"#),
        };
        self.request(ACTION_DISCONNECT, &self.resource_uri, &self.selectors(), &[], &b)
    }

    /// Reconnect (MS-WSMV 3.1.4.16; MS-PSRP 3.1.5.3.18) by the client session that disconnected (same
    /// [`Shell::session_id`]): no body for the shell; `rsp:Reconnect` with the `CommandId` to reconnect
    /// one command.
    pub fn reconnect(&self, command_id: Option<&str>) -> Request {
        let b = command_id.map_or(String::new(), |id| format!(r#"<rsp:Reconnect xmlns:rsp="{NS_SHELL}"><rsp:CommandId>{}</rsp:CommandId></rsp:Reconnect>"#, escape(id)));
        self.request(ACTION_RECONNECT, &self.resource_uri, &self.selectors(), &[], &b)
    }

    /// Connect (MS-WSMV 3.1.4.17; MS-PSRP 3.1.5.3) from a new client session: `connect_xml` holds the
    /// fragments of SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL, sent in base64 in `connectXml`;
    /// `options`: [`powershell_options`].
    pub fn connect(&self, connect_xml: &[u8], options: &[WsmanOption]) -> Request {
        let b = format!(r#"<rsp:Connect xmlns:rsp="{NS_SHELL}"><connectXml xmlns="{NS_POWERSHELL}">{}</connectXml></rsp:Connect>"#, base64::encode(connect_xml));
        self.request(ACTION_CONNECT, &self.resource_uri, &self.selectors(), options, &b)
    }

    /// Connect to command `command_id` of a shell this client connected to ([`Shell::connect`];
    /// MS-WSMV 3.1.4.17, `rsp:Connect` with a `CommandId`): its output is then received as any command's.
    pub fn connect_command(&self, command_id: &str) -> Request {
        let b = format!(r#"<rsp:Connect xmlns:rsp="{NS_SHELL}" CommandId="{}"/>"#, escape(command_id));
        self.request(ACTION_CONNECT, &self.resource_uri, &self.selectors(), &[], &b)
    }

    /// Enumerate of the user's shells (DSP0226 §8.2 on the shell resource; what Get-PSSession
    /// -ComputerName asks): optimized, up to `max_elements` in the first reply. Read with
    /// [`read_shells`].
    pub fn enumerate_shells(&self, max_elements: u32) -> Request {
        let body = envelope::enumerate_with(true, max_elements, envelope::EnumerationMode::Objects, None);
        self.request(envelope::ACTION_ENUMERATE, SHELLS_URI, &[], &[], &body)
    }

    /// Pull of the next shells of an Enumerate of shells (DSP0226 §8.3) with its `context`, up to
    /// `max_elements`; read with [`read_shells`].
    pub fn pull_shells(&self, context: &str, max_elements: u32) -> Request {
        self.request(envelope::ACTION_PULL, SHELLS_URI, &[], &[], &envelope::pull_body(context, max_elements))
    }

    /// Enumerate of the commands of shell `shell_id` (DSP0226 §8.2, a selector filter on
    /// `ShellId`), as a client does before connecting to a disconnected shell's pipelines.
    pub fn enumerate_commands(&self, shell_id: &str, max_elements: u32) -> Request {
        let filter = format!(r#"<w:Filter Dialect="{DIALECT_SELECTOR_FILTER}"><w:SelectorSet><w:Selector Name="ShellId">{}</w:Selector></w:SelectorSet></w:Filter>"#, escape(shell_id));
        let body = envelope::enumerate_with(true, max_elements, envelope::EnumerationMode::Objects, Some(&filter));
        self.request(envelope::ACTION_ENUMERATE, COMMANDS_URI, &[], &[], &body)
    }

    /// Get of the service configuration ([`CONFIG_URI`]), to learn the server's MaxEnvelopeSize before
    /// sizing PSRP fragments ([`read_max_envelope_size`]).
    pub fn get_config(&self) -> Request {
        self.request(envelope::ACTION_GET, CONFIG_URI, &[], &[], "")
    }
}

/// A Command argument carrying PSRP fragments (CREATE_PIPELINE, MS-PSRP 3.1.5.3), in base64.
pub fn base64_argument(fragments: &[u8]) -> String {
    base64::encode(fragments)
}

/// A fault of a shell operation, typed by Windows' `f:WSManFault` code (MS-WSMV 2.2.4.43) or, without
/// one, by the fault's subcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellFaultKind {
    /// 0x80338029 (`w:TimedOut`): nothing happened within the OperationTimeout. For Receive this is
    /// no error: there was no output yet, and the client receives again.
    OperationTimeout,
    /// 0x8033805B (`w:InvalidSelectors`): no such shell or command (it ended, or the id is wrong).
    InvalidSelectors,
    /// 0x8033800F (`a:InvalidMessageInformationHeader`): the server refused a header value.
    InvalidHeader,
    /// `w:AccessDenied`, or Windows' ERROR_ACCESS_DENIED.
    AccessDenied,
    /// A Windows (Win32 or HRESULT_FROM_WIN32) error the shell's process reported, e.g. 87 (a bad
    /// parameter) or 2 (no such file): its Win32 code.
    Win32(u32),
    /// Any other fault.
    Other,
}

/// `f:WSManFault` codes (MS-WSMV 2.2.4.43, Windows' winerror.h) the shell operations answer with.
pub const WSMAN_OPERATION_TIMEOUT: u32 = 0x8033_8029;
/// The selectors name no shell or command.
pub const WSMAN_INVALID_SELECTORS: u32 = 0x8033_805B;
/// A header of the request is invalid.
pub const WSMAN_INVALID_HEADER: u32 = 0x8033_800F;

/// A fault a shell operation was answered with: its kind and the fault as read.
#[derive(Debug, Clone, PartialEq)]
pub struct ShellFault {
    pub kind: ShellFaultKind,
    pub fault: Fault,
}

impl ShellFault {
    /// Types `fault` by its WSManFault code, else by its subcode.
    pub fn new(fault: Fault) -> ShellFault {
        let by_subcode = || match fault.subcode.as_deref().map(|s| s.rsplit(':').next().unwrap_or(s)) {
            Some("TimedOut") => ShellFaultKind::OperationTimeout,
            Some("InvalidSelectors") => ShellFaultKind::InvalidSelectors,
            Some("InvalidMessageInformationHeader") => ShellFaultKind::InvalidHeader,
            Some("AccessDenied") => ShellFaultKind::AccessDenied,
            _ => ShellFaultKind::Other,
        };
        let kind = match fault.wsman_code {
            Some(WSMAN_OPERATION_TIMEOUT) => ShellFaultKind::OperationTimeout,
            Some(WSMAN_INVALID_SELECTORS) => ShellFaultKind::InvalidSelectors,
            Some(WSMAN_INVALID_HEADER) => ShellFaultKind::InvalidHeader,
            Some(5 | 0x8007_0005) => ShellFaultKind::AccessDenied,
            Some(code) if code <= 0xFFFF => ShellFaultKind::Win32(code),
            Some(code) if code & 0xFFFF_0000 == 0x8007_0000 => ShellFaultKind::Win32(code & 0xFFFF),
            _ => by_subcode(),
        };
        ShellFault { kind, fault }
    }
}

/// Why reading a shell operation's reply failed: the server's fault, or a reply the operation does
/// not allow (BadReply).
#[derive(Debug, Clone, PartialEq)]
pub enum ShellError {
    Fault(ShellFault),
    Reply(Error),
}

impl ShellError {
    /// True for the OperationTimeout fault (for Receive: no output yet, receive again).
    pub fn is_operation_timeout(&self) -> bool {
        matches!(self, ShellError::Fault(ShellFault { kind: ShellFaultKind::OperationTimeout, .. }))
    }
}

impl From<ShellError> for Error {
    fn from(e: ShellError) -> Error {
        match e {
            ShellError::Fault(f) => f.fault.into_error(),
            ShellError::Reply(e) => e,
        }
    }
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShellError::Fault(s) => write!(f, "{:?}: {}", s.kind, s.fault.message),
            ShellError::Reply(e) => write!(f, "{e}"),
        }
    }
}

/// The result of reading a shell operation's reply.
pub type ShellResult<T> = std::result::Result<T, ShellError>;

/// Parses `text` as a reply envelope; its fault becomes [`ShellError::Fault`].
pub fn parse(text: String) -> ShellResult<Reply> {
    let reply = Reply::parse(text).map_err(ShellError::Reply)?;
    match reply.fault() {
        Some(fault) => Err(ShellError::Fault(ShellFault::new(fault))),
        None => Ok(reply),
    }
}

fn bad(what: impl Into<String>) -> ShellError {
    ShellError::Reply(Error::new(ErrorKind::BadReply, what.into()))
}

/// The body element `{NS_SHELL}name`, or BadReply.
fn shell_payload<'r>(reply: &'r Reply, name: &str) -> ShellResult<Element<'r>> {
    reply
        .body()
        .and_then(|b| b.child(NS_SHELL, name))
        .ok_or_else(|| bad(format!("The server's reply has no rsp:{name}")))
}

/// A shell as the server describes it (MS-WSMV 2.2.4.37 `rsp:Shell`): in a CreateResponse, a Get of
/// the shell, and the items of an Enumerate of shells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShellInfo {
    pub shell_id: String,
    /// The `Name` (attribute or element), if any.
    pub name: Option<String>,
    pub resource_uri: Option<String>,
    pub owner: Option<String>,
    pub client_ip: Option<String>,
    pub process_id: Option<u32>,
    /// `rsp:IdleTimeOut` as written (an xs:duration).
    pub idle_timeout: Option<String>,
    pub input_streams: Option<String>,
    pub output_streams: Option<String>,
    pub max_idle_timeout: Option<String>,
    pub locale: Option<String>,
    pub data_locale: Option<String>,
    pub compression_mode: Option<String>,
    pub profile_loaded: Option<String>,
    pub encoding: Option<String>,
    pub buffer_mode: Option<String>,
    /// `Connected`, `Disconnected`, … (MS-WSMV 2.2.4.37).
    pub state: Option<String>,
    pub shell_run_time: Option<String>,
    pub shell_inactivity: Option<String>,
}

/// Reads an `rsp:Shell` element. Errors: BadReply without a ShellId.
pub fn shell_info(shell: Element<'_>) -> ShellResult<ShellInfo> {
    let text = |name: &str| shell.child(NS_SHELL, name).map(|e| e.trimmed().to_string());
    let shell_id = text("ShellId").or_else(|| shell.attr("", "ShellId").map(str::to_string)).filter(|s| !s.is_empty());
    let Some(shell_id) = shell_id else { return Err(bad("The server's rsp:Shell has no ShellId")) };
    Ok(ShellInfo {
        shell_id,
        name: shell.attr("", "Name").map(str::to_string).or_else(|| text("Name")),
        resource_uri: text("ResourceUri"),
        owner: text("Owner"),
        client_ip: text("ClientIP"),
        process_id: text("ProcessId").and_then(|p| p.parse().ok()),
        idle_timeout: text("IdleTimeOut"),
        input_streams: text("InputStreams"),
        output_streams: text("OutputStreams"),
        max_idle_timeout: text("MaxIdleTimeOut"),
        locale: text("Locale"),
        data_locale: text("DataLocale"),
        compression_mode: text("CompressionMode"),
        profile_loaded: text("ProfileLoaded"),
        encoding: text("Encoding"),
        buffer_mode: text("BufferMode"),
        state: text("State"),
        shell_run_time: text("ShellRunTime"),
        shell_inactivity: text("ShellInactivity"),
    })
}

/// The shell a Create made (MS-WSMV 3.1.4.5): its endpoint reference (`x:ResourceCreated`) and, when
/// the server describes it (Windows does), the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedShell {
    /// The ShellId, from the EPR's `ShellId` selector or the described shell.
    pub shell_id: String,
    /// The EPR's address.
    pub address: String,
    /// The EPR's resource URI.
    pub resource_uri: String,
    /// The EPR's selectors, in order.
    pub selectors: Vec<(String, String)>,
    pub shell: Option<ShellInfo>,
}

/// Reads a CreateResponse. Errors: the fault; BadReply without a ResourceCreated or a ShellId.
pub fn read_create(text: String) -> ShellResult<CreatedShell> {
    let reply = parse(text)?;
    let body = reply.body().ok_or_else(|| bad("The server's reply to Create has no body"))?;
    let created = body
        .child(super::NS_TRANSFER, "ResourceCreated")
        .ok_or_else(|| bad("The server's reply to Create has no ResourceCreated"))?;
    let address = created.child(NS_ADDRESSING, "Address").map(|a| a.trimmed().to_string()).unwrap_or_default();
    let params = created.child(NS_ADDRESSING, "ReferenceParameters");
    let resource_uri = params.and_then(|p| p.child(NS_WSMAN, "ResourceURI")).map(|u| u.trimmed().to_string()).unwrap_or_default();
    let selectors: Vec<(String, String)> = params
        .and_then(|p| p.child(NS_WSMAN, "SelectorSet"))
        .into_iter()
        .flat_map(|s| s.children_named(NS_WSMAN, "Selector"))
        .map(|s| (s.attr("", "Name").unwrap_or_default().to_string(), s.trimmed().to_string()))
        .collect();
    let shell = body.child(NS_SHELL, "Shell").map(shell_info).transpose()?;
    let shell_id = selectors
        .iter()
        .find(|(n, _)| n == "ShellId")
        .map(|(_, v)| v.clone())
        .or_else(|| shell.as_ref().map(|s| s.shell_id.clone()))
        .ok_or_else(|| bad("The server's reply to Create names no ShellId"))?;
    Ok(CreatedShell { shell_id, address, resource_uri, selectors, shell })
}

/// Reads a CommandResponse (MS-WSMV 3.1.4.11): the `CommandId`. Errors: the fault; BadReply.
pub fn read_command(text: String) -> ShellResult<String> {
    let reply = parse(text)?;
    let response = shell_payload(&reply, "CommandResponse")?;
    response
        .child(NS_SHELL, "CommandId")
        .map(|c| c.trimmed().to_string())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad("The server's CommandResponse has no CommandId"))
}

/// One `rsp:Stream` of a ReceiveResponse (MS-WSMV 3.1.4.14, `StreamType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedStream {
    /// `stdout`, `stderr`, …
    pub name: String,
    /// The command the output is of; None for the shell's own (the runspace pool's).
    pub command_id: Option<String>,
    /// `End="true"`: the last of this stream.
    pub end: bool,
    /// The decoded bytes (PSRP fragments for PowerShell).
    pub data: Vec<u8>,
}

/// What a command is doing (MS-WSMV `CommandStateType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandStatus {
    Done,
    Pending,
    Running,
    /// Another state URI.
    Other(String),
}

/// `rsp:CommandState` (MS-WSMV 3.1.4.14): the command, its state and, once Done, its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandState {
    pub command_id: Option<String>,
    pub state: CommandStatus,
    pub exit_code: Option<i64>,
}

/// A ReceiveResponse (MS-WSMV 3.1.4.14): the streams in order, and the command's state when sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Received {
    pub streams: Vec<ReceivedStream>,
    pub command_state: Option<CommandState>,
}

impl Received {
    /// The bytes of stream `name`, concatenated in order (PSRP fragments to defragment).
    pub fn data(&self, name: &str) -> Vec<u8> {
        self.streams.iter().filter(|s| s.name == name).flat_map(|s| s.data.iter().copied()).collect()
    }

    /// True when the command is Done.
    pub fn is_done(&self) -> bool {
        self.command_state.as_ref().map_or(false, |c| c.state == CommandStatus::Done)
    }
}

/// Reads a ReceiveResponse. Errors: the fault (an OperationTimeout one means no output yet, see
/// [`ShellError::is_operation_timeout`]); BadReply for another reply or a stream that is not base64.
pub fn read_receive(text: String) -> ShellResult<Received> {
    let reply = parse(text)?;
    let response = shell_payload(&reply, "ReceiveResponse")?;
    let mut received = Received::default();
    for s in response.children_named(NS_SHELL, "Stream") {
        let raw: String = s.text().split_ascii_whitespace().collect();
        let data = base64::decode(&raw).map_err(|e| bad(format!("A received stream is not base64: {e}")))?;
        received.streams.push(ReceivedStream {
            name: s.attr("", "Name").unwrap_or_default().to_string(),
            command_id: s.attr("", "CommandId").map(str::to_string),
            end: s.attr("", "End").map_or(false, |e| e.eq_ignore_ascii_case("true") || e == "1"),
            data,
        });
    }
    if let Some(c) = response.child(NS_SHELL, "CommandState") {
        let state = match c.attr("", "State").unwrap_or_default() {
            COMMAND_STATE_DONE => CommandStatus::Done,
            COMMAND_STATE_PENDING => CommandStatus::Pending,
            COMMAND_STATE_RUNNING => CommandStatus::Running,
            other => CommandStatus::Other(other.to_string()),
        };
        let exit_code = c.child(NS_SHELL, "ExitCode").and_then(|e| e.trimmed().parse().ok());
        received.command_state = Some(CommandState { command_id: c.attr("", "CommandId").map(str::to_string), state, exit_code });
    }
    Ok(received)
}

/// Reads the reply of an operation that answers with nothing to read — Send, Signal, Delete,
/// Disconnect, Reconnect (MS-WSMV 3.1.4, 3.1.4.12, .13, .15, .16) — checking its action. Errors: the
/// fault; BadReply for the reply of another action.
pub fn read_empty(text: String, request_action: &str) -> ShellResult<()> {
    let reply = parse(text)?;
    let expected = format!("{request_action}Response");
    match reply.action() {
        Some(a) if a != expected => Err(bad(format!("The server answered '{expected}' with '{a}'"))),
        _ => Ok(()),
    }
}

/// A ConnectResponse (MS-WSMV 3.1.4.17; MS-PSRP 3.1.5.3.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub input_streams: Option<String>,
    pub output_streams: Option<String>,
    /// `connectResponseXml` decoded: the server's PSRP fragments (SESSION_CAPABILITY and
    /// RUNSPACEPOOL_INIT_DATA).
    pub connect_response_xml: Vec<u8>,
}

/// Reads the ConnectResponse to a command's Connect ([`Shell::connect_command`]), which carries no
/// PSRP. Errors: the fault; BadReply for another reply.
pub fn read_command_connect(text: String) -> ShellResult<()> {
    let reply = parse(text)?;
    shell_payload(&reply, "ConnectResponse").map(|_| ())
}

/// Reads a ConnectResponse. Errors: the fault; BadReply.
pub fn read_connect(text: String) -> ShellResult<Connected> {
    let reply = parse(text)?;
    let response = shell_payload(&reply, "ConnectResponse")?;
    let text = |name: &str| response.child(NS_SHELL, name).map(|e| e.trimmed().to_string());
    let xml = response.child(NS_POWERSHELL, "connectResponseXml").ok_or_else(|| bad("The server's ConnectResponse has no connectResponseXml"))?;
    let raw: String = xml.text().split_ascii_whitespace().collect();
    let connect_response_xml = base64::decode(raw).map_err(|e| bad(format!("connectResponseXml is not base64: {e}")))?;
    Ok(Connected { input_streams: text("InputStreams"), output_streams: text("OutputStreams"), connect_response_xml })
}

/// Reads the reply of a Get of the shell ([`Shell::get`]). Errors: the fault; BadReply.
pub fn read_get(text: String) -> ShellResult<ShellInfo> {
    let reply = parse(text)?;
    shell_info(shell_payload(&reply, "Shell")?)
}

/// Reads a reply of an Enumerate or Pull of shells ([`Shell::enumerate_shells`], [`Shell::pull_shells`]): the shells in it,
/// and the context to pull more with when the server did not send them all. Errors: the fault;
/// BadReply.
pub fn read_shells(text: String) -> ShellResult<(Vec<ShellInfo>, Option<String>)> {
    let page = reply::page(parse(text)?).map_err(ShellError::Reply)?;
    let shells = page.items().filter(|i| i.is(NS_SHELL, "Shell")).map(shell_info).collect::<ShellResult<Vec<_>>>()?;
    Ok((shells, page.context.clone()))
}

/// A command of a shell, from an Enumerate of commands ([`Shell::enumerate_commands`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInfo {
    pub command_id: String,
}

/// Reads the first reply of an Enumerate of a shell's commands. Errors: the fault; BadReply.
pub fn read_commands(text: String) -> ShellResult<(Vec<CommandInfo>, Option<String>)> {
    let page = reply::page(parse(text)?).map_err(ShellError::Reply)?;
    let commands = page
        .items()
        .filter_map(|i| i.child(NS_SHELL, "CommandId").or_else(|| i.child_local("CommandId")).map(|c| CommandInfo { command_id: c.trimmed().to_string() }))
        .collect();
    Ok((commands, page.context.clone()))
}

/// Reads the reply of the configuration Get ([`Shell::get_config`]): the server's MaxEnvelopeSize in
/// bytes (`cfg:MaxEnvelopeSizekb` × 1024). Errors: the fault; BadReply.
pub fn read_max_envelope_size(text: String) -> ShellResult<u32> {
    let reply = parse(text)?;
    let kb = reply
        .body()
        .and_then(|b| b.child(NS_CONFIG, "Config"))
        .and_then(|c| c.child(NS_CONFIG, "MaxEnvelopeSizekb"))
        .and_then(|k| k.trimmed().parse::<u32>().ok())
        .ok_or_else(|| bad("The server's configuration has no MaxEnvelopeSizekb"))?;
    kb.checked_mul(1024).ok_or_else(|| bad(format!("MaxEnvelopeSizekb {kb} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell() -> Shell {
        Shell {
            to: "http://h:5985/wsman".into(),
            resource_uri: powershell_uri("Microsoft.PowerShell"),
            max_envelope_size: 512_000,
            timeout_ms: 20_000,
            locale: Some("en-US".into()),
            data_locale: Some("en-US".into()),
            session_id: Some("uuid:1".into()),
            shell_id: Some("S<1>".into()),
        }
    }

    #[test]
    fn requests_are_well_formed_and_escaped() {
        let s = shell();
        let mut create = ShellCreate::powershell(vec![1, 2, 3]);
        create.name = Some("Runspace1".into());
        create.idle_timeout_ms = Some(7_200_000);
        let requests = [
            s.create(&create, &powershell_options("2.3", true)),
            s.command(Some("C1"), "", &[base64_argument(b"x")], &command_options(false)),
            s.send(&[SendStream { name: "stdin".into(), command_id: None, end: Some(true), data: b"ab".to_vec() }]),
            s.receive("stdout", Some("C1"), &receive_options()),
            s.signal(Some("C1"), SIGNAL_PS_STOP),
            s.delete(),
            s.get(),
            s.disconnect(Some(60_000)),
            s.disconnect(None),
            s.reconnect(None),
            s.reconnect(Some("C1")),
            s.connect(b"xyz", &powershell_options("2.3", false)),
            s.enumerate_shells(32_000),
            s.enumerate_commands("S1", 32_000),
            s.get_config(),
        ];
        for r in &requests {
            crate::xml::Document::parse(r.xml.clone(), "request").unwrap_or_else(|e| panic!("{}: {}", e.message, r.xml));
        }
        assert!(requests[0].xml.contains(r#"<rsp:Shell xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" ShellId="S&lt;1&gt;" Name="Runspace1"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><creationXml xmlns="http://schemas.microsoft.com/powershell">AQID</creationXml>"#), "{}", requests[0].xml);
        assert!(requests[0].xml.contains(r#"<w:Option Name="protocolversion" MustComply="true">2.3</w:Option><w:Option Name="WINRS_NOPROFILE" MustComply="true">TRUE</w:Option>"#));
        assert!(!requests[0].xml.contains("<w:SelectorSet>"));
        assert!(requests[1].xml.contains(r#"<w:Selector Name="ShellId">S&lt;1&gt;</w:Selector>"#));
        assert!(requests[7].xml.contains("<rsp:IdleTimeOut>PT60.000S</rsp:IdleTimeOut>"));
        assert!(requests[9].xml.ends_with("<s:Body></s:Body></s:Envelope>"));
    }

    #[test]
    fn a_send_of_the_budget_fits_the_envelope() {
        let mut s = shell();
        for size in [153_600u32, 512_000, 4096 * 1024] {
            s.max_envelope_size = size;
            let budget = s.send_budget(Some("79590BBD-46E2-486A-85B0-70EA7049235E"));
            assert!(budget > size as usize / 2, "{budget} of {size}");
            let stream = SendStream { name: "stdin".into(), command_id: Some("79590BBD-46E2-486A-85B0-70EA7049235E".into()), end: None, data: vec![0xA5; budget] };
            let xml = s.send(&[stream]).xml;
            assert!(xml.len() <= size as usize - 1024, "{} > {size}", xml.len());
        }
        s.max_envelope_size = 100;
        assert_eq!(s.send_budget(None), 0);
    }

    #[test]
    fn faults_are_typed_by_their_code() {
        let fault = |code: Option<u32>, subcode: &str| Fault {
            code: "s:Receiver".into(),
            subcode: Some(subcode.into()),
            reason: String::new(),
            detail: None,
            cim_status: None,
            message: String::new(),
            wsman_code: code,
        };
        assert_eq!(ShellFault::new(fault(Some(0x8033_8029), "w:TimedOut")).kind, ShellFaultKind::OperationTimeout);
        assert_eq!(ShellFault::new(fault(None, "w:TimedOut")).kind, ShellFaultKind::OperationTimeout);
        assert_eq!(ShellFault::new(fault(Some(0x8007_0002), "w:InternalError")).kind, ShellFaultKind::Win32(2));
        assert_eq!(ShellFault::new(fault(Some(87), "w:InvalidParameter")).kind, ShellFaultKind::Win32(87));
        assert_eq!(ShellFault::new(fault(Some(0x8033_805B), "w:InvalidSelectors")).kind, ShellFaultKind::InvalidSelectors);
        assert_eq!(ShellFault::new(fault(Some(0x8033_0000), "w:Other")).kind, ShellFaultKind::Other);
        let e: Error = ShellError::Fault(ShellFault::new(fault(Some(0x8033_8029), "w:TimedOut"))).into();
        assert_eq!(e.kind, ErrorKind::Timeout);
    }
}
