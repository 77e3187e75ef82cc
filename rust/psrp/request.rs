//! What a client says (MS-PSRP 2.2.2): the CLIXML of SESSION_CAPABILITY, INIT_RUNSPACEPOOL,
//! CREATE_PIPELINE and the other client messages, as PowerShell's own client writes them.

use std::sync::Arc;

use super::clixml::{Collection, ListKind, Object, Value};

/// The PSRP version this client speaks (2.3: PowerShell 5.1 to 7.5; 7.6 servers answer 2.3 clients
/// with 2.3).
pub const PROTOCOL_VERSION: &str = "2.3";

/// One command of a pipeline (MS-PSRP 2.2.3.12): a script or a command name, and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The script text (`is_script`) or the command's name (e.g. `Get-Process`).
    pub text: String,
    /// Whether `text` is a script rather than a command name.
    pub is_script: bool,
    /// Arguments in order: a parameter name and value (`-Name value`), or None and a positional value.
    /// A switch is a name with `Value::Bool(true)`.
    pub arguments: Vec<(Option<String>, Value)>,
}

impl Command {
    /// A script (as `PowerShell.AddScript`).
    pub fn script(text: impl Into<String>) -> Command {
        Command { text: text.into(), is_script: true, arguments: Vec::new() }
    }

    /// A command by name (as `PowerShell.AddCommand`).
    pub fn named(name: impl Into<String>) -> Command {
        Command { text: name.into(), is_script: false, arguments: Vec::new() }
    }

    /// Adds a named parameter.
    pub fn parameter(mut self, name: impl Into<String>, value: Value) -> Command {
        self.arguments.push((Some(name.into()), value));
        self
    }

    /// Adds a positional argument.
    pub fn argument(mut self, value: Value) -> Command {
        self.arguments.push((None, value));
        self
    }
}

fn object(type_names: &[&str], extended: Vec<(&str, Value)>) -> Value {
    Value::Object(Arc::new(Object {
        type_names: Arc::new(type_names.iter().map(|t| t.to_string()).collect()),
        extended: extended.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        ..Default::default()
    }))
}

/// An enum value as .NET serializes one: its type names, its name as ToString, its number.
fn enumeration(type_name: &str, name: &str, value: i32) -> Value {
    Value::Object(Arc::new(Object {
        type_names: Arc::new(vec![type_name.to_string(), "System.Enum".into(), "System.ValueType".into(), "System.Object".into()]),
        to_string: Some(name.to_string()),
        value: Some(Value::Int32(value)),
        ..Default::default()
    }))
}

fn list(type_name: &str, items: Vec<Value>) -> Value {
    Value::Object(Arc::new(Object {
        type_names: Arc::new(vec![type_name.to_string(), "System.Object".into()]),
        items: Some(Collection::List(ListKind::List, items)),
        ..Default::default()
    }))
}

/// HostInfo (2.2.3.14) of a client without a host: the server uses its own.
fn no_host() -> Value {
    object(&[], vec![
        ("_isHostNull", Value::Bool(true)),
        ("_isHostUINull", Value::Bool(true)),
        ("_isHostRawUINull", Value::Bool(true)),
        ("_useRunspaceHost", Value::Bool(true)),
    ])
}

fn apartment_state() -> Value {
    enumeration("System.Management.Automation.Runspaces.ApartmentState", "UNKNOWN", 2)
}

/// SESSION_CAPABILITY (2.2.2.1).
pub fn session_capability() -> Value {
    object(&[], vec![
        ("protocolversion", Value::Version(PROTOCOL_VERSION.into())),
        ("PSVersion", Value::Version("2.0".into())),
        ("SerializationVersion", Value::Version("1.1.0.1".into())),
    ])
}

/// INIT_RUNSPACEPOOL (2.2.2.2) for `min`..=`max` runspaces, without a host, with `arguments` as
/// `$PSSenderInfo.ApplicationArguments` (None: null).
pub fn init_runspace_pool(min: i32, max: i32, arguments: Option<Value>) -> Value {
    object(&[], vec![
        ("MinRunspaces", Value::Int32(min)),
        ("MaxRunspaces", Value::Int32(max)),
        ("PSThreadOptions", enumeration("System.Management.Automation.Runspaces.PSThreadOptions", "Default", 0)),
        ("ApartmentState", apartment_state()),
        ("HostInfo", no_host()),
        ("ApplicationArguments", arguments.unwrap_or(Value::Null)),
    ])
}

/// CONNECT_RUNSPACEPOOL (2.2.2.3): the runspace counts to change on connecting, each left out when None.
pub fn connect_runspace_pool(min: Option<i32>, max: Option<i32>) -> Value {
    let counts = [("MinRunspaces", min), ("MaxRunspaces", max)];
    object(&[], counts.into_iter().filter_map(|(n, c)| Some((n, Value::Int32(c?)))).collect())
}

/// How a command's streams are merged (`PipelineResultTypes`): nothing merged.
fn no_merge() -> Value {
    enumeration("System.Management.Automation.Runspaces.PipelineResultTypes", "None", 0)
}

const PSOBJECT_LIST: &str = "System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=1.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]";

fn command(c: &Command) -> Value {
    let arguments = c
        .arguments
        .iter()
        .map(|(name, value)| object(&[], vec![("N", name.clone().map_or(Value::Null, Value::String)), ("V", value.clone())]))
        .collect();
    object(&[], vec![
        ("Cmd", Value::String(c.text.clone())),
        ("IsScript", Value::Bool(c.is_script)),
        ("UseLocalScope", Value::Null),
        ("MergeMyResult", no_merge()),
        ("MergeToResult", no_merge()),
        ("MergePreviousResults", no_merge()),
        ("Args", list(PSOBJECT_LIST, arguments)),
        ("MergeError", no_merge()),
        ("MergeWarning", no_merge()),
        ("MergeVerbose", no_merge()),
        ("MergeDebug", no_merge()),
        ("MergeInformation", no_merge()),
    ])
}

/// CREATE_PIPELINE (2.2.2.10) of `commands` (piped into each other), `no_input` when no
/// PIPELINE_INPUT will follow.
pub fn create_pipeline(commands: &[Command], no_input: bool) -> Value {
    let powershell = object(&[], vec![
        ("IsNested", Value::Bool(false)),
        ("ExtraCmds", Value::Null),
        ("Cmds", list(PSOBJECT_LIST, commands.iter().map(command).collect())),
        ("History", Value::Null),
        ("RedirectShellErrorOutputPipe", Value::Bool(false)),
    ]);
    object(&[], vec![
        ("NoInput", Value::Bool(no_input)),
        ("ApartmentState", apartment_state()),
        ("RemoteStreamOptions", enumeration("System.Management.Automation.Runspaces.RemoteStreamOptions", "AddInvocationInfo", 15)),
        ("AddToHistory", Value::Bool(false)),
        ("HostInfo", no_host()),
        ("PowerShell", powershell),
        ("IsNested", Value::Bool(false)),
    ])
}

/// SET_MAX_RUNSPACES / SET_MIN_RUNSPACES (2.2.2.3, 2.2.2.4) with call id `call`.
pub fn set_runspaces(max: bool, count: i32, call: i64) -> Value {
    object(&[], vec![(if max { "MaxRunspaces" } else { "MinRunspaces" }, Value::Int32(count)), ("ci", Value::Int64(call))])
}

/// GET_AVAILABLE_RUNSPACES (2.2.2.11) and RESET_RUNSPACE_STATE (2.2.2.32): just the call id.
pub fn call_only(call: i64) -> Value {
    object(&[], vec![("ci", Value::Int64(call))])
}

/// PUBLIC_KEY (2.2.2.1): the client's public key, a base64 CAPI PUBLICKEYBLOB.
pub fn public_key(base64_blob: &str) -> Value {
    object(&[], vec![("PublicKey", Value::String(base64_blob.to_string()))])
}

/// A host method's number (`mi`, 2.2.3.17) for the methods that return nothing: the server does not
/// wait for an answer to those (SetShouldExit, Enter/ExitNestedPrompt, NotifyBegin/EndApplication,
/// Write*, the raw UI's setters, FlushInputBuffer, SetBufferContents, ScrollBufferContents,
/// PushRunspace, PopRunspace).
pub fn host_method_is_void(method: i64) -> bool {
    matches!(method, 6..=10 | 13..=22 | 28 | 30 | 32 | 34 | 36 | 38 | 40 | 42 | 47..=49 | 51..=53)
}

/// PIPELINE_HOST_RESPONSE / RUNSPACEPOOL_HOST_RESPONSE (2.2.2.28, 2.2.2.16) for call `call` of
/// method `method` (the call's `mi`, sent back as it came) that failed: `me`, an error record
/// (2.2.3.15) whose FullyQualifiedErrorId is `RemoteHostExecutionException`, saying `message`.
pub fn host_error_response(call: i64, method: Value, message: &str) -> Value {
    let exception = Value::Object(Arc::new(Object {
        type_names: Arc::new(vec!["System.Management.Automation.Host.HostException".into(), "System.Exception".into(), "System.Object".into()]),
        to_string: Some(message.to_string()),
        adapted: vec![("Message".into(), Value::String(message.to_string())), ("HResult".into(), Value::Int32(-2146233087))],
        ..Default::default()
    }));
    let record = Value::Object(Arc::new(Object {
        type_names: Arc::new(vec!["System.Management.Automation.ErrorRecord".into(), "System.Object".into()]),
        to_string: Some(message.to_string()),
        extended: [
            ("Exception", exception),
            ("TargetObject", Value::Null),
            ("FullyQualifiedErrorId", Value::String("RemoteHostExecutionException".into())),
            ("InvocationInfo", Value::Null),
            ("ErrorCategory_Category", Value::Int32(0)),
            ("ErrorCategory_Activity", Value::String(String::new())),
            ("ErrorCategory_Reason", Value::String("HostException".into())),
            ("ErrorCategory_TargetName", Value::String(String::new())),
            ("ErrorCategory_TargetType", Value::String(String::new())),
            ("ErrorCategory_Message", Value::String(format!("NotSpecified: (:) [], HostException"))),
            ("SerializeExtendedInfo", Value::Bool(false)),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect(),
        ..Default::default()
    }));
    object(&[], vec![("me", record), ("ci", Value::Int64(call)), ("mi", method)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psrp::clixml::write;

    #[test]
    fn requests_are_written_as_powershell_writes_them() {
        assert_eq!(
            write(&session_capability()),
            r#"<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>"#
        );
        let pipeline = write(&create_pipeline(&[Command::named("Get-Item").parameter("Path", Value::String("/".into())).argument(Value::Int32(1))], true));
        for part in [
            r#"<B N="NoInput">true</B>"#,
            r#"<S N="Cmd">Get-Item</S><B N="IsScript">false</B>"#,
            r#"<LST><Obj RefId="11"><MS><S N="N">Path</S><S N="V">/</S></MS></Obj><Obj RefId="12"><MS><Nil N="N" /><I32 N="V">1</I32></MS></Obj></LST>"#,
            r#"<ToString>AddInvocationInfo</ToString><I32>15</I32>"#,
            r#"<Obj N="MergeToResult" RefId="8"><TNRef RefId="3" /><ToString>None</ToString><I32>0</I32></Obj>"#,
        ] {
            assert!(pipeline.contains(part), "{part} not in {pipeline}");
        }
    }
}
