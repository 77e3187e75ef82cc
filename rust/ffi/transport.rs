//! `rsess_transport`: a PSRP server process whose stdin/stdout carry OutOfProc packets, one line each
//! (spec/cmdlet-behaviour.md §3.2). PowerShell's engine, through the module's custom connection, writes
//! packets with [`rsess_transport_send`] and reads them with [`rsess_transport_receive`].

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use super::call::{guard, guard_void, opt_str, out_ptr, req_str, rsess_error, string_array, to_c, write};
use super::handles::{self, Handle};
use super::result::{rsess_result, Failure, Result};
use super::session::{endpoint_of, rsess_credential, rsess_session_options};
use crate::pssession::reconstruct::ReconstructTransport;
use crate::pssession::winrs::{WinrsSettings, WinrsTransport};
use crate::transport::{PacketTransport, ProcessTransport, SshTarget};

/// A connection to a PowerShell server that carries PSRP packets: a local server process, ssh, or a
/// WinRS shell over WS-Management.
/// Thread-safe: one thread may send while another receives and a third closes.
pub struct rsess_transport {
    _private: [u8; 0],
}

/// A transport and what a PSSession over it shows: the computer it reaches and the transport's name.
#[derive(Clone)]
pub(crate) struct Opened {
    pub transport: Arc<dyn PacketTransport>,
    /// `localhost` for a local process, the host for ssh.
    pub computer_name: String,
    /// `Process`, `SSH` or `WSMan`, as PSSession.Transport shows it.
    pub kind: &'static str,
    /// For a transport to an existing WinRS shell (`rsess_transport_wsman_connect_new`): the runspace
    /// pool to connect to, its ShellId.
    pub connect_to: Option<uuid::Uuid>,
}

impl Handle for rsess_transport {
    type Object = Opened;
}

/// The transport behind `t` and what it reaches. Shared, so a blocking receive runs outside the table lock.
/// Errors: NullArgument, InvalidHandle.
pub(crate) fn opened_of(t: *const rsess_transport) -> Result<Opened> {
    handles::get(t)
}

/// The transport behind `t`. Errors: as `opened_of`.
pub(crate) fn transport_of(t: *const rsess_transport) -> Result<Arc<dyn PacketTransport>> {
    Ok(opened_of(t)?.transport)
}

/// Starts `program` (a path, or a name looked up on PATH) with `nargs` arguments from `args` as a PSRP
/// server, e.g. `pwsh -s -NoLogo -NoProfile`. The child is killed when the transport is closed or freed,
/// and when this process dies (Linux). Errors: NOT_FOUND (no such program), IO, NULL_ARGUMENT.
#[no_mangle]
pub extern "C" fn rsess_transport_process_new(
    program: *const c_char,
    args: *const *const c_char,
    nargs: usize,
    out: *mut *mut rsess_transport,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let program = req_str(program, "program")?;
        let transport = ProcessTransport::spawn(program, &string_array(args, nargs, "args")?)?;
        let opened = Opened { transport: Arc::new(transport), computer_name: "localhost".into(), kind: "Process", connect_to: None };
        write(out, handles::insert::<rsess_transport>(opened));
        Ok(())
    })
}

/// Starts `ssh` (found on PATH) for a PowerShell session to `host_spec` (`[user@]host[:port]`; a user or
/// port there wins over `user`/`port`, 0 = ssh's default port), with `key_file` (NULL = ssh's default
/// keys), `subsystem` (NULL = `powershell`) and `noptions` `key=value` strings as `-o` options
/// (as New-PSSession -HostName does; `ConnectTimeout=30` is added unless an option sets ConnectTimeout,
/// so a peer that never speaks SSH ends the connection). What ssh reports on stderr (host key mismatch, authentication
/// failure, unreachable host, no such subsystem) is in `rsess_transport_stderr` and in the
/// TRANSPORT_BROKEN message once the connection ends.
/// Errors: INVALID_ARGUMENT (bad host, user, port, subsystem or option; a host, user or subsystem
/// starting with `-`), NOT_FOUND (no ssh client), IO.
#[no_mangle]
pub extern "C" fn rsess_transport_ssh_new(
    host_spec: *const c_char,
    user: *const c_char,
    port: u32,
    key_file: *const c_char,
    subsystem: *const c_char,
    options: *const *const c_char,
    noptions: usize,
    out: *mut *mut rsess_transport,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let port = u16::try_from(port).map_err(|_| Failure::invalid(format!("Port {port} is out of range")))?;
        let mut target = SshTarget::parse(req_str(host_spec, "host_spec")?, opt_str(user)?, port)?;
        target.key_file = opt_str(key_file)?.map(str::to_string);
        if let Some(s) = opt_str(subsystem)? {
            target = target.with_subsystem(s)?;
        }
        for text in string_array(options, noptions, "options")? {
            let (k, v) = text
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| Failure::invalid(format!("SSH option '{text}' is not key=value")))?;
            target.options.push((k.trim().to_string(), v.trim().to_string()));
        }
        let transport = ProcessTransport::spawn("ssh", &target.args())?;
        let opened = Opened { transport: Arc::new(transport), computer_name: target.host.clone(), kind: "SSH", connect_to: None };
        write(out, handles::insert::<rsess_transport>(opened));
        Ok(())
    })
}

/// A transport to a new PowerShell shell on `computer_name` over WS-Management (MS-PSRP 3.1.5.3 over
/// WinRS, MS-WSMV 3.1.4), as New-PSSession -ComputerName makes: `opts` (NULL = defaults: HTTP on
/// port 5985, path `/wsman`; see `rsess_session_options_*`: HTTPS, port, path, TLS checks, operation
/// timeout, envelope size, cultures) and `cred` (NULL = Negotiate with the system's credential).
/// `configuration_name` is the session configuration (NULL = `Microsoft.PowerShell`) or a whole
/// resource URI; `shell_name` names the shell (NULL = unnamed; PowerShell gives the session's name);
/// `idle_timeout_ms` is how long the server keeps the shell without a client (0 = the server's
/// default; WinRM takes at least 60000). Nothing goes on the wire until the runspace pool's first
/// packet is sent: that creates the shell. Errors: INVALID_ARGUMENT (bad computer name, HTTP path,
/// Basic over HTTP without the no-encryption option, a mechanism without the credential it needs),
/// NOT_SUPPORTED (Digest).
#[no_mangle]
pub extern "C" fn rsess_transport_wsman_new(
    computer_name: *const c_char,
    configuration_name: *const c_char,
    shell_name: *const c_char,
    idle_timeout_ms: u32,
    opts: *const rsess_session_options,
    cred: *const rsess_credential,
    out: *mut *mut rsess_transport,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let computer = req_str(computer_name, "computer_name")?;
        let endpoint = endpoint_of(computer, opts, cred)?;
        let settings = WinrsSettings {
            configuration_name: opt_str(configuration_name)?.unwrap_or("Microsoft.PowerShell").to_string(),
            shell_name: opt_str(shell_name)?.map(str::to_string),
            idle_timeout_ms: (idle_timeout_ms != 0).then_some(idle_timeout_ms),
            no_profile: false,
        };
        let opened = Opened { transport: Arc::new(WinrsTransport::new(endpoint, settings)), computer_name: computer.to_string(), kind: "WSMan", connect_to: None };
        write(out, handles::insert::<rsess_transport>(opened));
        Ok(())
    })
}

/// A transport to the existing PowerShell shell `shell_id` on `computer_name` (a session another client
/// disconnected, as `rsess_shell_list_new` lists it), for `rsess_pssession_connect`: its first packet
/// is a WinRS Connect (MS-WSMV 3.1.4.17) instead of a Create. `configuration_name`, `opts` and `cred`
/// as for `rsess_transport_wsman_new`. Nothing goes on the wire yet. Errors: INVALID_ARGUMENT (a
/// `shell_id` that is not a GUID, and as `rsess_transport_wsman_new`), NOT_SUPPORTED (Digest).
#[no_mangle]
pub extern "C" fn rsess_transport_wsman_connect_new(
    computer_name: *const c_char,
    configuration_name: *const c_char,
    shell_id: *const c_char,
    opts: *const rsess_session_options,
    cred: *const rsess_credential,
    out: *mut *mut rsess_transport,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let opened = to_existing_shell(computer_name, configuration_name, shell_id, opts, cred)?;
        write(out, handles::insert::<rsess_transport>(opened));
        Ok(())
    })
}

/// As `rsess_transport_wsman_connect_new`, for a client that opens a runspace pool rather than
/// connecting one (PowerShell's engine; MS-PSRP 3.1.4.7 "reconstruct"): the client's opening
/// (SESSION_CAPABILITY, INIT_RUNSPACEPOOL with its own new pool id) goes to the server as
/// SESSION_CAPABILITY and CONNECT_RUNSPACEPOOL for the shell's pool; the server's answer reaches the
/// client as an opened pool; from then on the runspace pool id in each message is the client's on the
/// client's side and the shell's on the wire. Pass the transport to the client's own PSRP stack (not
/// to `rsess_pssession_connect`, which connects by itself). Errors: as `rsess_transport_wsman_connect_new`.
#[no_mangle]
pub extern "C" fn rsess_transport_wsman_reconstruct_new(
    computer_name: *const c_char,
    configuration_name: *const c_char,
    shell_id: *const c_char,
    opts: *const rsess_session_options,
    cred: *const rsess_credential,
    out: *mut *mut rsess_transport,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let opened = to_existing_shell(computer_name, configuration_name, shell_id, opts, cred)?;
        let pool = opened.connect_to.expect("set for an existing shell");
        let transport = Arc::new(ReconstructTransport::new(opened.transport, pool));
        write(out, handles::insert::<rsess_transport>(Opened { transport, connect_to: None, ..opened }));
        Ok(())
    })
}

/// A WinRS transport that connects to the existing shell `shell_id`.
fn to_existing_shell(
    computer_name: *const c_char,
    configuration_name: *const c_char,
    shell_id: *const c_char,
    opts: *const rsess_session_options,
    cred: *const rsess_credential,
) -> Result<Opened> {
    let computer = req_str(computer_name, "computer_name")?;
    let shell_id = req_str(shell_id, "shell_id")?;
    let pool = uuid::Uuid::parse_str(shell_id).map_err(|_| Failure::invalid(format!("The shell id '{shell_id}' is not a GUID")))?;
    let endpoint = endpoint_of(computer, opts, cred)?;
    let settings = WinrsSettings {
        configuration_name: opt_str(configuration_name)?.unwrap_or("Microsoft.PowerShell").to_string(),
        ..WinrsSettings::default()
    };
    let transport = WinrsTransport::connect_to(endpoint, settings, &pool.hyphenated().to_string().to_uppercase());
    Ok(Opened { transport: Arc::new(transport), computer_name: computer.to_string(), kind: "WSMan", connect_to: Some(pool) })
}

/// Disconnects a WS-Management transport's shell (MS-WSMV 3.1.4.15): the server keeps it, and what
/// its pipelines write, for `idle_timeout_ms` milliseconds (0 = the shell's own idle timeout), and
/// `rsess_transport_receive` waits until `rsess_transport_reconnect`. Errors: NOT_SUPPORTED for a
/// process or ssh transport; INVALID_STATE unless connected; the server's refusal (the transport
/// then stays connected).
#[no_mangle]
pub extern "C" fn rsess_transport_disconnect(t: *const rsess_transport, idle_timeout_ms: u32, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || Ok(transport_of(t)?.disconnect((idle_timeout_ms != 0).then_some(idle_timeout_ms))?))
}

/// Reconnects a shell that `rsess_transport_disconnect` left (MS-WSMV 3.1.4.16); output written
/// meanwhile then arrives. Errors: NOT_SUPPORTED for a process or ssh transport; INVALID_STATE
/// unless disconnected; the server's refusal (e.g. the shell was deleted after its idle timeout).
#[no_mangle]
pub extern "C" fn rsess_transport_reconnect(t: *const rsess_transport, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || Ok(transport_of(t)?.reconnect()?))
}

/// Makes the pipelines started over `t` from now on until its next disconnect run on the server
/// unread (PowerShell's `Invoke-Command -InDisconnectedSession`): their output stays on the server for
/// whichever client connects later (`rsess_pssession_attach`), and when the transport disconnects
/// they end on this side as Completed, without being stopped on the server. Errors: NOT_SUPPORTED for
/// a process or ssh transport; INVALID_STATE when the shell is disconnected or closed.
#[no_mangle]
pub extern "C" fn rsess_transport_start_pipelines_disconnected(t: *const rsess_transport, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || Ok(transport_of(t)?.start_pipelines_disconnected()?))
}

/// Sends one packet (`line` without its newline). Errors: TRANSPORT_BROKEN when the server is gone
/// (the message includes what it wrote to stderr), INVALID_ARGUMENT for a line break inside `line`.
#[no_mangle]
pub extern "C" fn rsess_transport_send(t: *const rsess_transport, line: *const c_char, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let line = req_str(line, "line")?;
        Ok(transport_of(t)?.send(line)?)
    })
}

/// Waits for the next packet, up to `timeout_ms` milliseconds (negative = no limit), and returns it as
/// an owned string in `*out`; `*out` is NULL once the server closed its output.
/// Errors: TIMEOUT when nothing arrived in time; TRANSPORT_BROKEN when the server wrote a line longer
/// than 64 MiB (no packet is that long): the server is then killed and later calls return the end.
#[no_mangle]
pub extern "C" fn rsess_transport_receive(t: *const rsess_transport, timeout_ms: i32, out: *mut *mut c_char, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let transport = transport_of(t)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let line = transport.receive(timeout)?;
        write(out, line.map_or(std::ptr::null_mut(), |l| to_c(&l)));
        Ok(())
    })
}

/// What the server wrote to stderr so far (the last 64 KiB), as an owned string.
#[no_mangle]
pub extern "C" fn rsess_transport_stderr(t: *const rsess_transport, out: *mut *mut c_char) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, to_c(&transport_of(t)?.diagnostics()));
        Ok(())
    })
}

/// The server's process id (0 once it was closed).
#[no_mangle]
pub extern "C" fn rsess_transport_pid(t: *const rsess_transport, out: *mut u32) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, transport_of(t)?.process_id().unwrap_or(0));
        Ok(())
    })
}

/// Ends the connection: kills a server process (or ssh); deletes a WinRS shell, unless it was
/// disconnected (then the server keeps it until its idle timeout). A blocked `rsess_transport_receive`
/// then returns the end. Idempotent; the handle stays valid until freed.
#[no_mangle]
pub extern "C" fn rsess_transport_close(t: *const rsess_transport) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        transport_of(t)?.close();
        Ok(())
    })
}

/// Frees the handle, ending the connection first as `rsess_transport_close` does. NULL and stale handles
/// are ignored.
#[no_mangle]
pub extern "C" fn rsess_transport_free(t: *mut rsess_transport) {
    guard_void(|| {
        if let Some(opened) = handles::free(t) {
            // A receive blocked on another thread holds its own reference: closing wakes it.
            opened.transport.close();
        }
    });
}
