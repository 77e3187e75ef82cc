//! `rsess_pssession`: PowerShell sessions registered per scope, so C callers can list, find and remove
//! them and read their state (spec/cmdlet-behaviour.md §2.1, §2.5, §2.6). The PowerShell module
//! registers every session it opens; sessions the library opens itself come from `rsess_pssession_open`
//! (ffi/pipeline.rs).

use std::ffi::c_char;
use std::sync::Arc;

use uuid::Uuid;

use super::call::{guard, guard_void, out_ptr, req_str, rsess_error, to_c, write};
use super::handles::{self, Handle};
use super::lists::{list_get, list_len, list_missing, rsess_string_list, ListView, LookupList};
use super::result::{rsess_result, Failure, Result};
use super::session::{lookup_args, rsess_lookup, rsess_scope, scope_id, PS_REGISTRY};
use super::transport::{rsess_transport, transport_of};
use crate::registry::ps::{PsFound, PsSession, PsSessionInfo, PsSessionState};

/// A reference to a registered PowerShell session. Freeing it does not remove the session.
pub struct rsess_pssession {
    _private: [u8; 0],
}

impl Handle for rsess_pssession {
    type Object = Arc<PsSession>;
}

/// The result of `rsess_pssession_find`: sessions in registration order and the values that found
/// nothing.
pub struct rsess_pssession_list {
    _private: [u8; 0],
}

impl Handle for rsess_pssession_list {
    type Object = PsFound;
}

impl LookupList for rsess_pssession_list {
    type Item = rsess_pssession;
    fn view(found: &PsFound) -> ListView<'_, Arc<PsSession>> {
        ListView { items: &found.sessions, missing: &found.missing }
    }
}

/// A session state number, as .NET's `RunspaceState`: BeforeOpen 0, Opening 1, Opened 2, Closed 3,
/// Closing 4, Broken 5, Disconnecting 6, Disconnected 7, Connecting 8.
pub type rsess_session_state = u32;

pub(crate) fn pssession_of(s: *const rsess_pssession) -> Result<Arc<PsSession>> {
    handles::get(s)
}

/// Registers a session that reached Opened in `scope` (NULL = default scope): PowerShell's Id, the
/// InstanceId (GUID text), Name, ComputerName and transport name (`Process`, `SSH`, `WSMan`), and the transport
/// carrying it (NULL if none), which removing the session closes. Returns a reference in `*out`.
/// Errors: INVALID_ARGUMENT (bad GUID, already registered), NULL_ARGUMENT, INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn rsess_pssession_register(
    scope: *mut rsess_scope,
    transport: *const rsess_transport,
    id: i32,
    instance_id: *const c_char,
    name: *const c_char,
    computer_name: *const c_char,
    transport_name: *const c_char,
    out: *mut *mut rsess_pssession,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let scope = scope_id(scope)?;
        let instance = req_str(instance_id, "instance_id")?;
        let info = PsSessionInfo {
            id,
            instance_id: Uuid::parse_str(instance)
                .map_err(|_| Failure::invalid(format!("'{instance}' is not a GUID")))?,
            name: req_str(name, "name")?.to_string(),
            computer_name: req_str(computer_name, "computer_name")?.to_string(),
            transport: req_str(transport_name, "transport_name")?.to_string(),
        };
        let transport = if transport.is_null() { None } else { Some(transport_of(transport)?) };
        let session = PS_REGISTRY.register(scope, info, transport)?;
        write(out, handles::insert::<rsess_pssession>(session));
        Ok(())
    })
}

/// Records the session's new state (`rsess_session_state`). Errors: INVALID_ARGUMENT for an unknown state.
#[no_mangle]
pub extern "C" fn rsess_pssession_set_state(s: *const rsess_pssession, state: rsess_session_state) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let state = PsSessionState::from_u32(state)?;
        pssession_of(s)?.set_state(state);
        Ok(())
    })
}

/// Disconnects a WS-Management session (New-PSSession -ComputerName, or `rsess_pssession_open` over
/// `rsess_transport_wsman_new`; MS-WSMV 3.1.4.15): the server keeps it, and what its pipelines write,
/// for `idle_timeout_ms` milliseconds (0 = the session's own idle timeout); its state becomes
/// Disconnected until `rsess_pssession_reconnect`. Removing a disconnected session only lets it go:
/// the server keeps it until its idle timeout, for another client to connect to
/// (`rsess_pssession_connect`); reconnect first to end it on the server. Errors: INVALID_STATE
/// unless Opened; NOT_SUPPORTED for process and ssh sessions; the server's refusal (the session stays
/// Opened).
#[no_mangle]
pub extern "C" fn rsess_pssession_disconnect(s: *const rsess_pssession, idle_timeout_ms: u32, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || Ok(pssession_of(s)?.disconnect((idle_timeout_ms != 0).then_some(idle_timeout_ms))?))
}

/// Reconnects a session `rsess_pssession_disconnect` left (MS-WSMV 3.1.4.16): its state becomes
/// Opened and output written meanwhile arrives. Errors: INVALID_STATE unless Disconnected;
/// NOT_SUPPORTED for process and ssh sessions; the server's refusal (e.g. the shell ended after its
/// idle timeout; the session stays Disconnected).
#[no_mangle]
pub extern "C" fn rsess_pssession_reconnect(s: *const rsess_pssession, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || Ok(pssession_of(s)?.reconnect()?))
}

/// The session's state (`rsess_session_state`).
#[no_mangle]
pub extern "C" fn rsess_pssession_state(s: *const rsess_pssession, out: *mut rsess_session_state) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, pssession_of(s)?.state() as u32);
        Ok(())
    })
}

/// The session's Id (PowerShell's `PSSession.Id`).
#[no_mangle]
pub extern "C" fn rsess_pssession_id(s: *const rsess_pssession, out: *mut i32) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, pssession_of(s)?.info.id);
        Ok(())
    })
}

fn info_string(s: *const rsess_pssession, out: *mut *mut c_char, get: fn(&PsSessionInfo) -> String) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, to_c(&get(&pssession_of(s)?.info)));
        Ok(())
    })
}

/// The session's name, as an owned string.
#[no_mangle]
pub extern "C" fn rsess_pssession_name(s: *const rsess_pssession, out: *mut *mut c_char) -> rsess_result {
    info_string(s, out, |i| i.name.clone())
}

/// The session's InstanceId in lower-case GUID form.
#[no_mangle]
pub extern "C" fn rsess_pssession_instance_id(s: *const rsess_pssession, out: *mut *mut c_char) -> rsess_result {
    info_string(s, out, |i| i.instance_id.hyphenated().to_string())
}

/// The computer the session is connected to.
#[no_mangle]
pub extern "C" fn rsess_pssession_computer_name(s: *const rsess_pssession, out: *mut *mut c_char) -> rsess_result {
    info_string(s, out, |i| i.computer_name.clone())
}

/// The transport's name: `Process`, `SSH` or `WSMan`.
#[no_mangle]
pub extern "C" fn rsess_pssession_transport(s: *const rsess_pssession, out: *mut *mut c_char) -> rsess_result {
    info_string(s, out, |i| i.transport.clone())
}

/// Removes the session from `scope` (NULL = default scope) and makes its state Closed: a session the
/// library opened closes its runspace pool, then its transport is closed (a server process ends, a
/// WinRS shell is deleted); a Disconnected one is only let go, and the server keeps it until its idle
/// timeout. Errors: NOT_FOUND when it is not registered there.
#[no_mangle]
pub extern "C" fn rsess_pssession_remove(scope: *mut rsess_scope, s: *const rsess_pssession, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let scope = scope_id(scope)?;
        Ok(PS_REGISTRY.remove(scope, &pssession_of(s)?)?)
    })
}

/// Frees a session reference (the session stays registered). NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_pssession_free(s: *mut rsess_pssession) {
    guard_void(|| drop(handles::free(s)));
}

/// Looks sessions up in `scope` (NULL = default scope), as Get-PSSession does: `kind` is
/// `RSESS_LOOKUP_*`; names and computer names are case-insensitive wildcards.
/// Errors: INVALID_ARGUMENT (unknown kind, bad pattern), NULL_ARGUMENT.
#[no_mangle]
pub extern "C" fn rsess_pssession_find(
    scope: *mut rsess_scope,
    kind: rsess_lookup,
    values: *const *const c_char,
    count: usize,
    out: *mut *mut rsess_pssession_list,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let scope = scope_id(scope)?;
        let (kind, texts) = lookup_args(kind, values, count)?;
        write(out, handles::insert::<rsess_pssession_list>(PS_REGISTRY.find(scope, kind, &texts)?));
        Ok(())
    })
}

/// How many sessions the list holds.
#[no_mangle]
pub extern "C" fn rsess_pssession_list_len(l: *const rsess_pssession_list, out: *mut usize) -> rsess_result {
    list_len(l, out)
}

/// A new reference to the session at `index`. Errors: INVALID_ARGUMENT when out of range.
#[no_mangle]
pub extern "C" fn rsess_pssession_list_get(l: *const rsess_pssession_list, index: usize, out: *mut *mut rsess_pssession) -> rsess_result {
    list_get(l, index, out)
}

/// The lookup values that found nothing, as a new string list.
#[no_mangle]
pub extern "C" fn rsess_pssession_list_missing(l: *const rsess_pssession_list, out: *mut *mut rsess_string_list) -> rsess_result {
    list_missing(l, out)
}

/// Frees a session list. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_pssession_list_free(l: *mut rsess_pssession_list) {
    guard_void(|| drop(handles::free(l)));
}
