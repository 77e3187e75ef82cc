//! PowerShell sessions the library opens itself, and the pipelines run in them: what `New-PSSession` and
//! `Invoke-Command -Session` do, for C programs with no PowerShell in their process (MS-PSRP over a
//! local `pwsh -s` or ssh's `powershell` subsystem). A session opened here is registered in its scope
//! like PowerShell's own, so `rsess_pssession_find` lists it and `rsess_pssession_remove` closes it.
//!
//! Pull-style: a pipeline's output objects and stream records are read in the order it wrote them with
//! `rsess_pipeline_next`; nothing calls back into C.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use super::call::{guard, guard_void, opt_str, out_ptr, req_str, rsess_error, value_out, write};
use super::handles::{self, Handle};
use super::psvalue::{new_psvalue, psvalue_of, rsess_psvalue, rsess_stream, stream_number};
use super::pssession::{pssession_of, rsess_pssession};
use super::result::{rsess_result, Failure, Result};
use super::session::{scope_id, rsess_scope, PS_REGISTRY};
use super::transport::{opened_of, rsess_transport, Opened};
use crate::psrp::clixml::Value;
use crate::psrp::pool::PipelineState;
use crate::psrp::request::Command;
use crate::pssession::{ClientSession, Item, Pipeline};

/// One command of a pipeline being built: a script or a command name, and its parameters and
/// arguments in order (MS-PSRP 2.2.3.12). Not thread-safe while being built.
pub struct rsess_pscommand {
    _private: [u8; 0],
}

impl Handle for rsess_pscommand {
    type Object = Command;
}

/// A pipeline running (or run) in a session. Thread-safe: one thread may read its items while another
/// stops it. Freeing it closes its channel; what it still writes is dropped.
pub struct rsess_pipeline {
    _private: [u8; 0],
}

impl Handle for rsess_pipeline {
    type Object = Arc<Pipeline>;
}

/// A pipeline's state, numbered as .NET's `PSInvocationState` (MS-PSRP 2.2.3.5).
pub type rsess_invocation_state = u32;
pub const RSESS_INVOCATION_NOT_STARTED: rsess_invocation_state = 0;
pub const RSESS_INVOCATION_RUNNING: rsess_invocation_state = 1;
pub const RSESS_INVOCATION_STOPPING: rsess_invocation_state = 2;
/// Stopped by `rsess_pipeline_stop`.
pub const RSESS_INVOCATION_STOPPED: rsess_invocation_state = 3;
pub const RSESS_INVOCATION_COMPLETED: rsess_invocation_state = 4;
/// Ended by a terminating error: see `rsess_pipeline_reason`.
pub const RSESS_INVOCATION_FAILED: rsess_invocation_state = 5;
pub const RSESS_INVOCATION_DISCONNECTED: rsess_invocation_state = 6;

fn timeout(ms: i32) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// The body of `rsess_pssession_open` and `rsess_pssession_connect`: `start` makes the runspace pool
/// over the transport, which is then registered in `scope` with the pool's id as InstanceId and owns
/// the transport (its handle goes without closing it). Nothing is registered when `start` fails.
fn start_session(
    scope: *mut rsess_scope,
    transport: *const rsess_transport,
    name: *const c_char,
    out: *mut *mut rsess_pssession,
    err: *mut *mut rsess_error,
    start: impl FnOnce(&Opened) -> Result<ClientSession>,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let scope = scope_id(scope)?;
        let name = opt_str(name)?;
        let opened = opened_of(transport)?;
        let client = start(&opened)?;
        let session = PS_REGISTRY.register_client(scope, client.pool_id(), name, &opened.computer_name, opened.kind, Arc::clone(&opened.transport), client)?;
        drop(handles::free(transport));
        write(out, handles::insert::<rsess_pssession>(session));
        Ok(())
    })
}

/// Opens a PowerShell session over `transport` (from `rsess_transport_process_new`,
/// `rsess_transport_ssh_new` or `rsess_transport_wsman_new`, which must not have been used for anything
/// else): a runspace pool of one
/// runspace, as New-PSSession opens, waiting up to `timeout_ms` milliseconds (negative = no limit) for
/// the server. The session is registered in `scope` (NULL = default scope) with the next free Id, its
/// runspace pool's id as InstanceId (for WS-Man also the shell's ShellId), `name` (NULL =
/// `Runspace<Id>`), the transport's computer name (`localhost` for a process) and transport name
/// (`Process`, `SSH`, `WSMan`). On success the session takes the transport over:
/// the `transport` handle is freed (a later `rsess_transport_free` of it does nothing), and removing
/// the session ends the server. Run pipelines with `rsess_pssession_invoke`; `rsess_pssession_remove`
/// closes the session.
/// Errors: TIMEOUT; TRANSPORT_BROKEN when the server ends or refuses (the message carries what it or ssh
/// wrote to stderr: authentication, host key, no such subsystem); BAD_REPLY when it does not speak PSRP.
/// A failed open registers nothing and closes the transport, whose handle the caller still frees.
#[no_mangle]
pub extern "C" fn rsess_pssession_open(
    scope: *mut rsess_scope,
    transport: *const rsess_transport,
    name: *const c_char,
    timeout_ms: i32,
    out: *mut *mut rsess_pssession,
    err: *mut *mut rsess_error,
) -> rsess_result {
    start_session(scope, transport, name, out, err, |opened| Ok(ClientSession::open(Arc::clone(&opened.transport), timeout(timeout_ms))?))
}

/// Connects to a PowerShell session another client disconnected (`transport` from
/// `rsess_transport_wsman_connect_new`; MS-PSRP 3.1.4.7: SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL
/// in a WinRS Connect), waiting up to `timeout_ms` milliseconds (negative = no limit). The session is
/// registered in `scope` as `rsess_pssession_open` registers one, with the server session's InstanceId
/// (its ShellId) and `name` (NULL = `Runspace<Id>`); on success it takes the transport over. New
/// pipelines run in it with `rsess_pssession_invoke`; those that ran while it was disconnected are
/// taken up with `rsess_pssession_attach`. Errors: INVALID_ARGUMENT for a transport not made by
/// `rsess_transport_wsman_connect_new`; TIMEOUT; TRANSPORT_BROKEN or the server's fault when it refuses
/// (no such shell, connected to another client). A failed connect registers nothing.
#[no_mangle]
pub extern "C" fn rsess_pssession_connect(
    scope: *mut rsess_scope,
    transport: *const rsess_transport,
    name: *const c_char,
    timeout_ms: i32,
    out: *mut *mut rsess_pssession,
    err: *mut *mut rsess_error,
) -> rsess_result {
    start_session(scope, transport, name, out, err, |opened| {
        let pool = opened.connect_to.ok_or_else(|| Failure::invalid("The transport was not made by rsess_transport_wsman_connect_new"))?;
        Ok(ClientSession::connect(Arc::clone(&opened.transport), pool, timeout(timeout_ms))?)
    })
}

/// Takes up pipeline `pipeline_id` (a GUID from `rsess_shell_commands_new`) of a session connected
/// with `rsess_pssession_connect`: a pipeline that ran on while the session was disconnected. What it
/// wrote meanwhile, and writes from then on, is read with `rsess_pipeline_next` from `*out`.
/// Errors: INVALID_ARGUMENT (not a GUID); INVALID_STATE (a session PowerShell opened, a removed one,
/// a pipeline taken up already); NOT_SUPPORTED (process and ssh sessions); the server's refusal.
#[no_mangle]
pub extern "C" fn rsess_pssession_attach(s: *const rsess_pssession, pipeline_id: *const c_char, out: *mut *mut rsess_pipeline, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let text = req_str(pipeline_id, "pipeline_id")?;
        let id = uuid::Uuid::parse_str(text).map_err(|_| Failure::invalid(format!("The pipeline id '{text}' is not a GUID")))?;
        let pipeline = pssession_of(s)?.with_client(|c| c.attach(id))?;
        write(out, handles::insert::<rsess_pipeline>(Arc::new(pipeline)));
        Ok(())
    })
}

/// A new command: the script `text` when `is_script` (as PowerShell's `AddScript`), else the command
/// named `text` (as `AddCommand`, e.g. `Get-Process`). Errors: NULL_ARGUMENT, INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn rsess_pscommand_new(text: *const c_char, is_script: bool, out: *mut *mut rsess_pscommand, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let text = req_str(text, "text")?;
        let command = if is_script { Command::script(text) } else { Command::named(text) };
        write(out, handles::insert::<rsess_pscommand>(command));
        Ok(())
    })
}

/// Adds the parameter `-name value` (the value is copied; NULL `value` = a switch, `-name`).
/// Errors: NULL_ARGUMENT, INVALID_ARGUMENT (empty name), INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn rsess_pscommand_add_parameter(c: *const rsess_pscommand, name: *const c_char, value: *const rsess_psvalue, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let name = req_str(name, "name")?.trim_start_matches('-');
        if name.trim().is_empty() {
            return Err(Failure::invalid("A parameter name is empty"));
        }
        let value = if value.is_null() { Value::Bool(true) } else { (*psvalue_of(value)?).clone() };
        handles::with(c, |c| {
            c.arguments.push((Some(name.to_string()), value));
            Ok(())
        })
    })
}

/// Adds a positional argument (the value is copied; for a script, one of `$args`).
/// Errors: NULL_ARGUMENT, INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn rsess_pscommand_add_argument(c: *const rsess_pscommand, value: *const rsess_psvalue, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let value = (*psvalue_of(value)?).clone();
        handles::with(c, |c| {
            c.arguments.push((None, value));
            Ok(())
        })
    })
}

/// Frees a command. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_pscommand_free(c: *mut rsess_pscommand) {
    guard_void(|| drop(handles::free(c)));
}

/// Reads an array of `count` handles of kind `H` through `get`. Errors: NullArgument for a NULL array or
/// element, InvalidHandle.
fn handle_array<H, T>(items: *const *const H, count: usize, what: &str, get: impl Fn(*const H) -> Result<T>) -> Result<Vec<T>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if items.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: the caller passes an array of `count` handle pointers.
    unsafe { std::slice::from_raw_parts(items, count) }.iter().map(|h| get(*h)).collect()
}

/// Starts a pipeline in a session this library opened: `commands` (`ncommands` ≥ 1, each piped into
/// the next; the commands are copied and may be freed) with `ninput` values from `input` piped into
/// the first (0 = no input; the values are copied). Read what it writes with `rsess_pipeline_next`.
/// Errors: INVALID_ARGUMENT (no commands), INVALID_STATE (a session PowerShell opened, a removed one),
/// TRANSPORT_BROKEN (the server is gone), NULL_ARGUMENT, INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn rsess_pssession_invoke(
    s: *const rsess_pssession,
    commands: *const *const rsess_pscommand,
    ncommands: usize,
    input: *const *const rsess_psvalue,
    ninput: usize,
    out: *mut *mut rsess_pipeline,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        if ncommands == 0 {
            return Err(Failure::invalid("A pipeline needs at least one command"));
        }
        let commands = handle_array(commands, ncommands, "commands", |c| handles::with(c, |c| Ok(c.clone())))?;
        let input = handle_array(input, ninput, "input", |v| Ok((*psvalue_of(v)?).clone()))?;
        let session = pssession_of(s)?;
        let pipeline = session.with_client(|c| c.invoke(&commands, (ninput > 0).then_some(input.as_slice())))?;
        write(out, handles::insert::<rsess_pipeline>(Arc::new(pipeline)));
        Ok(())
    })
}

/// Starts the script `script` in a session this library opened, with no input: the same as
/// `rsess_pssession_invoke` with one script command. Errors: as `rsess_pssession_invoke`.
#[no_mangle]
pub extern "C" fn rsess_pssession_invoke_script(s: *const rsess_pssession, script: *const c_char, out: *mut *mut rsess_pipeline, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let command = Command::script(req_str(script, "script")?);
        let pipeline = pssession_of(s)?.with_client(|c| c.invoke(&[command], None))?;
        write(out, handles::insert::<rsess_pipeline>(Arc::new(pipeline)));
        Ok(())
    })
}

fn pipeline_of(p: *const rsess_pipeline) -> Result<Arc<Pipeline>> {
    handles::get(p)
}

/// The next thing the pipeline wrote, in order, waiting up to `timeout_ms` milliseconds (negative = no
/// limit): its stream (`RSESS_STREAM_*`) in `*stream` and the object or record as a new value in
/// `*value`. Once the pipeline has ended and everything was read, `*value` is NULL (and stays so):
/// then see `rsess_pipeline_state` and `rsess_pipeline_reason`. Several threads may wait at once; each
/// item goes to one of them.
/// Errors: TIMEOUT (nothing arrived in time; call again); TRANSPORT_BROKEN when the server went away
/// before the pipeline ended; INVALID_STATE when the session was removed; NULL_ARGUMENT, INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn rsess_pipeline_next(p: *const rsess_pipeline, timeout_ms: i32, stream: *mut rsess_stream, value: *mut *mut rsess_psvalue, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let (stream_out, item_out) = (out_ptr(stream)?, out_ptr(value)?);
        let (s, v) = match pipeline_of(p)?.next(timeout(timeout_ms))? {
            Some(Item::Output(v)) => (stream_number(None), new_psvalue(v)),
            Some(Item::Record(s, v)) => (stream_number(Some(s)), new_psvalue(v)),
            None => (stream_number(None), std::ptr::null_mut()),
        };
        write(stream_out, s);
        write(item_out, v);
        Ok(())
    })
}

/// Asks the server to stop the pipeline (as Ctrl+C does). It then ends Stopped, unless it had already
/// ended; what it wrote before stopping can still be read. Errors: TRANSPORT_BROKEN, INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn rsess_pipeline_stop(p: *const rsess_pipeline, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || Ok(pipeline_of(p)?.stop()?))
}

/// The pipeline's state (`RSESS_INVOCATION_*`): RUNNING until the server reports its end, then
/// COMPLETED, FAILED or STOPPED.
#[no_mangle]
pub extern "C" fn rsess_pipeline_state(p: *const rsess_pipeline, out: *mut rsess_invocation_state) -> rsess_result {
    value_out(out, || Ok(pipeline_of(p)?.ending().map_or(PipelineState::Running, |(s, _)| s) as u32))
}

/// The error record a Failed or Stopped pipeline ended with (read it with `rsess_psvalue_error_id`,
/// `rsess_psvalue_record_text` and friends), as a new value in `*out`; NULL while it runs and when it
/// ended without one.
#[no_mangle]
pub extern "C" fn rsess_pipeline_reason(p: *const rsess_pipeline, out: *mut *mut rsess_psvalue) -> rsess_result {
    value_out(out, || Ok(pipeline_of(p)?.ending().and_then(|(_, r)| r).map_or(std::ptr::null_mut(), new_psvalue)))
}

/// Frees a pipeline handle, closing its channel (a running pipeline goes on on the server, and what it
/// writes is dropped; stop it first to end it). NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_pipeline_free(p: *mut rsess_pipeline) {
    guard_void(|| drop(handles::free(p)));
}
