//! `rsess_shell_list`: the WinRS shells a user has on a WS-Management server (what
//! Get-PSSession -ComputerName lists), from any client: PowerShell sessions, connected or
//! disconnected, and other shells (cmd).

use std::ffi::c_char;

use super::call::{guard, guard_void, out_ptr, req_str, rsess_error, to_c, write};
use super::handles::{self, Handle};
use super::lists::{out_of_range, rsess_string_list};
use super::result::{rsess_result, Failure};
use super::session::{endpoint_of, rsess_credential, rsess_session_options};
use crate::pssession::winrs::{list_commands, list_shells};
use crate::wsman::shell::ShellInfo;

/// The shells listed by `rsess_shell_list_new`, in the server's order.
pub struct rsess_shell_list {
    _private: [u8; 0],
}

impl Handle for rsess_shell_list {
    type Object = Vec<ShellInfo>;
}

/// What `rsess_shell_list_get` reads of a shell (MS-WSMV 2.2.4.37 `rsp:Shell`): values of
/// `RSESS_SHELL_*`. Every value is text as the server wrote it (durations as xs:duration, e.g.
/// `PT7200.000S`); a field the server left out reads as NULL.
pub type rsess_shell_field = u32;
/// The ShellId (for a PowerShell session: its runspace pool's InstanceId, in upper case).
pub const RSESS_SHELL_ID: rsess_shell_field = 0;
/// The shell's name (a PowerShell session's name).
pub const RSESS_SHELL_NAME: rsess_shell_field = 1;
/// The resource URI, e.g. `http://schemas.microsoft.com/powershell/Microsoft.PowerShell`.
pub const RSESS_SHELL_RESOURCE_URI: rsess_shell_field = 2;
/// The user who owns the shell.
pub const RSESS_SHELL_OWNER: rsess_shell_field = 3;
/// The address of the client that created it.
pub const RSESS_SHELL_CLIENT_IP: rsess_shell_field = 4;
/// `Connected` or `Disconnected`.
pub const RSESS_SHELL_STATE: rsess_shell_field = 5;
/// How long the server keeps it without a client (xs:duration).
pub const RSESS_SHELL_IDLE_TIMEOUT: rsess_shell_field = 6;
/// How long it has existed (xs:duration).
pub const RSESS_SHELL_RUN_TIME: rsess_shell_field = 7;
/// How long it has been idle (xs:duration).
pub const RSESS_SHELL_INACTIVITY: rsess_shell_field = 8;
/// The id of the server process that serves it, in decimal.
pub const RSESS_SHELL_PROCESS_ID: rsess_shell_field = 9;
/// The server's output buffering mode (`Block`, `Drop`).
pub const RSESS_SHELL_BUFFER_MODE: rsess_shell_field = 10;

/// Lists the shells the credential's user has on `computer_name` (DSP0226 Enumerate and Pull of the
/// shell resource, MS-WSMV 3.1.4.1.32), as Get-PSSession -ComputerName asks: `opts` and `cred` as for
/// `rsess_transport_wsman_new` (NULL = defaults; Negotiate with the system's credential).
/// Errors: INVALID_ARGUMENT (bad computer name or options), ACCESS_DENIED (HTTP 401/403), the
/// server's fault, TRANSPORT_BROKEN and TIMEOUT for an unreachable server, BAD_REPLY.
#[no_mangle]
pub extern "C" fn rsess_shell_list_new(
    computer_name: *const c_char,
    opts: *const rsess_session_options,
    cred: *const rsess_credential,
    out: *mut *mut rsess_shell_list,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let computer = req_str(computer_name, "computer_name")?;
        let endpoint = endpoint_of(computer, opts, cred)?;
        let shells = list_shells(&endpoint, None)?;
        write(out, handles::insert::<rsess_shell_list>(shells));
        Ok(())
    })
}

/// How many shells the list holds.
#[no_mangle]
pub extern "C" fn rsess_shell_list_len(l: *const rsess_shell_list, out: *mut usize) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, handles::with(l, |shells| Ok(shells.len()))?);
        Ok(())
    })
}

/// `field` (`RSESS_SHELL_*`) of shell `index`, as an owned string, or NULL when the server did not
/// say. Errors: INVALID_ARGUMENT for an index out of range or an unknown field.
#[no_mangle]
pub extern "C" fn rsess_shell_list_get(l: *const rsess_shell_list, index: usize, field: rsess_shell_field, out: *mut *mut c_char) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let value = handles::with(l, |shells| {
            let s = shells.get(index).ok_or_else(|| out_of_range(index))?;
            Ok(match field {
                RSESS_SHELL_ID => Some(s.shell_id.clone()),
                RSESS_SHELL_NAME => s.name.clone(),
                RSESS_SHELL_RESOURCE_URI => s.resource_uri.clone(),
                RSESS_SHELL_OWNER => s.owner.clone(),
                RSESS_SHELL_CLIENT_IP => s.client_ip.clone(),
                RSESS_SHELL_STATE => s.state.clone(),
                RSESS_SHELL_IDLE_TIMEOUT => s.idle_timeout.clone(),
                RSESS_SHELL_RUN_TIME => s.shell_run_time.clone(),
                RSESS_SHELL_INACTIVITY => s.shell_inactivity.clone(),
                RSESS_SHELL_PROCESS_ID => s.process_id.map(|p| p.to_string()),
                RSESS_SHELL_BUFFER_MODE => s.buffer_mode.clone(),
                other => return Err(Failure::invalid(format!("Unknown shell field {other}"))),
            })
        })?;
        write(out, value.map_or(std::ptr::null_mut(), |v| to_c(&v)));
        Ok(())
    })
}

/// The ids of the commands (pipelines) shell `shell_id` has on `computer_name` (DSP0226 Enumerate of
/// the shell's commands), e.g. those that ran on while their session was disconnected, for
/// `rsess_pssession_attach`. `opts` and `cred` as for `rsess_shell_list_new`. Errors: as there; the
/// server's fault for no such shell.
#[no_mangle]
pub extern "C" fn rsess_shell_commands_new(
    computer_name: *const c_char,
    shell_id: *const c_char,
    opts: *const rsess_session_options,
    cred: *const rsess_credential,
    out: *mut *mut rsess_string_list,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let computer = req_str(computer_name, "computer_name")?;
        let shell_id = req_str(shell_id, "shell_id")?;
        let endpoint = endpoint_of(computer, opts, cred)?;
        let ids: Vec<String> = list_commands(&endpoint, shell_id, None)?.into_iter().map(|id| id.hyphenated().to_string()).collect();
        write(out, handles::insert::<rsess_string_list>(ids));
        Ok(())
    })
}

/// Frees a shell list. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_shell_list_free(l: *mut rsess_shell_list) {
    guard_void(|| drop(handles::free(l)));
}
