//! Scopes, session options, CIM sessions and their lookups (spec/cmdlet-behaviour.md §1.2–§1.6).

use std::ffi::c_char;
use std::sync::Arc;

use once_cell::sync::Lazy;

use super::call::{guard, guard_void, opt_str, out_ptr, req_str, rsess_error, string_array, to_c, write};
use super::handles::{self, Handle};
use super::lists::{list_get, list_len, list_missing, rsess_string_list, ListView, LookupList};
use super::result::{rsess_result, Failure, Result};
use crate::registry::cim::Found;
use crate::auth::{Authentication, Credential};
use crate::registry::cim::{provider_for, CimSession, Registry};
use crate::registry::lookup::{Lookup, ScopeId, DEFAULT_SCOPE};
use crate::registry::ps::PsRegistry;
use crate::wsman::endpoint::Endpoint;
use crate::wsman::options::{Protocol, SessionOptions};

/// The registry every C caller shares.
pub(crate) static REGISTRY: Lazy<Registry> = Lazy::new(Registry::new);
/// The PowerShell sessions of the same scopes.
pub(crate) static PS_REGISTRY: Lazy<PsRegistry> = Lazy::new(PsRegistry::default);

/// An owner scope of CIM sessions (a PowerShell runspace, or a part of a program). Ids count from 1 in
/// each scope. A NULL scope argument means the process-wide default scope.
pub struct rsess_scope {
    _private: [u8; 0],
}

impl Handle for rsess_scope {
    type Object = ScopeId;
}

/// New-CimSessionOption's options, plus port and timeout.
pub struct rsess_session_options {
    _private: [u8; 0],
}

impl Handle for rsess_session_options {
    type Object = SessionOptions;
}

/// A credential for New-CimSession: an authentication mechanism and, optionally, a user name and
/// password. The password is kept only in the library and never shown in errors.
pub struct rsess_credential {
    _private: [u8; 0],
}

impl Handle for rsess_credential {
    type Object = (Option<Credential>, Authentication);
}

/// Authentication mechanism (`PasswordAuthenticationMechanism`): values of `RSESS_AUTH_*`.
pub type rsess_authentication = u32;
/// Negotiate, as on Windows (never Basic: ask for `RSESS_AUTH_BASIC` where a server offers only that).
/// Negotiate, Kerberos and NtlmDomain go through the system GSSAPI (MIT krb5's libgssapi_krb5.so.2, loaded when
/// first used; gss-ntlmssp for NTLM); without a user and password they use the system's credential
/// (the Kerberos ticket cache). CredSsp (MS-CSSP) needs a user and password: a TLS session inside the
/// HTTP exchange, whose server certificate is checked as HTTPS would (the session options' skip-CA /
/// skip-CN flags), SPNEGO inside it (Kerberos, else NTLM), then the user name and password are
/// delegated to the server, which can use them to reach other computers (the "second hop"); over
/// HTTP messages are encrypted with that TLS session. Digest is not supported.
pub const RSESS_AUTH_DEFAULT: rsess_authentication = 0;
pub const RSESS_AUTH_DIGEST: rsess_authentication = 1;
pub const RSESS_AUTH_NEGOTIATE: rsess_authentication = 2;
pub const RSESS_AUTH_BASIC: rsess_authentication = 3;
pub const RSESS_AUTH_KERBEROS: rsess_authentication = 4;
pub const RSESS_AUTH_NTLM_DOMAIN: rsess_authentication = 5;
pub const RSESS_AUTH_CREDSSP: rsess_authentication = 6;

/// `rsess_cim_session_new` flag: register the session without testing the connection (New-CimSession
/// -SkipTestConnection); nothing goes on the wire until the session is used.
pub const RSESS_SESSION_SKIP_TEST_CONNECTION: u32 = 1;

/// A reference to a registered CIM session. Freeing the reference does not remove the session.
pub struct rsess_cim_session {
    _private: [u8; 0],
}

impl Handle for rsess_cim_session {
    type Object = Arc<CimSession>;
}

/// The result of `rsess_cim_session_find`: sessions ordered by Id, and the values that found nothing.
pub struct rsess_cim_session_list {
    _private: [u8; 0],
}

impl Handle for rsess_cim_session_list {
    type Object = Found;
}

/// Session protocol (`rsess_session_options_new`): values of `RSESS_PROTOCOL_*`.
pub type rsess_protocol = u32;
/// DCOM for this machine, WS-Management for a named computer.
pub const RSESS_PROTOCOL_DEFAULT: rsess_protocol = 0;
pub const RSESS_PROTOCOL_DCOM: rsess_protocol = 1;
pub const RSESS_PROTOCOL_WSMAN: rsess_protocol = 2;

/// What `rsess_cim_session_find` matches: values of `RSESS_LOOKUP_*`.
pub type rsess_lookup = u32;
/// Every session of the scope; the values are ignored.
pub const RSESS_LOOKUP_ALL: rsess_lookup = 0;
/// Decimal Ids.
pub const RSESS_LOOKUP_ID: rsess_lookup = 1;
/// Names or case-insensitive wildcard patterns (`*`, `?`, `[a-z]`).
pub const RSESS_LOOKUP_NAME: rsess_lookup = 2;
/// Computer names, exact and case-insensitive.
pub const RSESS_LOOKUP_COMPUTER_NAME: rsess_lookup = 3;
/// InstanceIds in GUID form.
pub const RSESS_LOOKUP_INSTANCE_ID: rsess_lookup = 4;

/// WS-Management switches of session options: values of `RSESS_OPTION_*`.
pub type rsess_option_flag = u32;
pub const RSESS_OPTION_USE_SSL: rsess_option_flag = 1;
pub const RSESS_OPTION_SKIP_CA_CHECK: rsess_option_flag = 2;
pub const RSESS_OPTION_SKIP_CN_CHECK: rsess_option_flag = 3;
pub const RSESS_OPTION_SKIP_REVOCATION_CHECK: rsess_option_flag = 4;
pub const RSESS_OPTION_NO_ENCRYPTION: rsess_option_flag = 5;
pub const RSESS_OPTION_ENCODE_PORT_IN_SPN: rsess_option_flag = 6;

pub(crate) fn scope_id(scope: *const rsess_scope) -> Result<ScopeId> {
    if scope.is_null() {
        return Ok(DEFAULT_SCOPE);
    }
    handles::get(scope)
}

pub(crate) fn session_of(s: *const rsess_cim_session) -> Result<Arc<CimSession>> {
    handles::get(s)
}

fn with_options<R>(o: *mut rsess_session_options, f: impl FnOnce(&mut SessionOptions) -> Result<R>) -> Result<R> {
    handles::with(o, f)
}

/// The WS-Management endpoint of `computer` with options `opts` and credential `cred` (NULL: the
/// defaults, and Negotiate with the system's credential), as the WS-Man transports and shell lists
/// take them. Errors: INVALID_HANDLE; what [`Endpoint::new`] refuses.
pub(crate) fn endpoint_of(computer: &str, opts: *const rsess_session_options, cred: *const rsess_credential) -> Result<Endpoint> {
    let options: SessionOptions = if opts.is_null() { SessionOptions::default() } else { handles::get(opts)? };
    let (credential, mechanism) = if cred.is_null() { (None, Authentication::Default) } else { handles::get(cred)? };
    Ok(Endpoint::new(computer, &options, credential.as_ref(), mechanism)?)
}

/// Makes a new, empty scope in `*out`. Free it with `rsess_scope_free`, which removes its sessions.
#[no_mangle]
pub extern "C" fn rsess_scope_new(out: *mut *mut rsess_scope) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, handles::insert::<rsess_scope>(REGISTRY.new_scope()));
        Ok(())
    })
}

/// Removes every session of the scope and frees it (a runspace closed). NULL and stale handles are
/// ignored; the default scope cannot be freed.
#[no_mangle]
pub extern "C" fn rsess_scope_free(scope: *mut rsess_scope) {
    guard_void(|| {
        if let Some(id) = handles::free(scope) {
            REGISTRY.drop_scope(id);
            PS_REGISTRY.drop_scope(id);
        }
    });
}

/// Makes session options for `protocol` (`RSESS_PROTOCOL_*`) with Windows' defaults in `*out`.
/// Errors: INVALID_ARGUMENT for an unknown protocol.
#[no_mangle]
pub extern "C" fn rsess_session_options_new(protocol: rsess_protocol, out: *mut *mut rsess_session_options) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let protocol = match protocol {
            RSESS_PROTOCOL_DEFAULT => Protocol::Default,
            RSESS_PROTOCOL_DCOM => Protocol::Dcom,
            RSESS_PROTOCOL_WSMAN => Protocol::Wsman,
            other => return Err(Failure::invalid(format!("Unknown protocol {other}"))),
        };
        write(out, handles::insert::<rsess_session_options>(SessionOptions { protocol, ..Default::default() }));
        Ok(())
    })
}

/// Sets a WS-Management switch (`RSESS_OPTION_*`). Errors: INVALID_ARGUMENT for an unknown flag or for
/// DCOM options, which have no such switches.
#[no_mangle]
pub extern "C" fn rsess_session_options_set_flag(o: *mut rsess_session_options, flag: rsess_option_flag, on: bool) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        with_options(o, |options| {
            if options.protocol == Protocol::Dcom {
                return Err(Failure::invalid("DCOM options have no WS-Management switches"));
            }
            let field = match flag {
                RSESS_OPTION_USE_SSL => &mut options.use_ssl,
                RSESS_OPTION_SKIP_CA_CHECK => &mut options.skip_ca_check,
                RSESS_OPTION_SKIP_CN_CHECK => &mut options.skip_cn_check,
                RSESS_OPTION_SKIP_REVOCATION_CHECK => &mut options.skip_revocation_check,
                RSESS_OPTION_NO_ENCRYPTION => &mut options.no_encryption,
                RSESS_OPTION_ENCODE_PORT_IN_SPN => &mut options.encode_port_in_spn,
                other => return Err(Failure::invalid(format!("Unknown option flag {other}"))),
            };
            *field = on;
            Ok(())
        })
    })
}

/// Sets the largest SOAP envelope a reply may hold (`w:MaxEnvelopeSize`), in KiB (0 = the default,
/// 500 KiB). A reply larger than twice that and 64 KiB is refused before it is read (BAD_REPLY).
#[no_mangle]
pub extern "C" fn rsess_session_options_set_max_envelope_size_kb(o: *mut rsess_session_options, kb: u32) -> rsess_result {
    guard(std::ptr::null_mut(), || with_options(o, |options| Ok(options.max_envelope_size_kb = kb)))
}

/// Sets the data culture, e.g. `"de-DE"`. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (bad UTF-8).
#[no_mangle]
pub extern "C" fn rsess_session_options_set_culture(o: *mut rsess_session_options, culture: *const c_char) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let culture = req_str(culture, "culture")?.to_string();
        with_options(o, |options| Ok(options.culture = Some(culture)))
    })
}

/// Sets the UI (message) culture, e.g. `"en-US"`. Errors: NULL_ARGUMENT, INVALID_ARGUMENT (bad UTF-8).
#[no_mangle]
pub extern "C" fn rsess_session_options_set_ui_culture(o: *mut rsess_session_options, culture: *const c_char) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let culture = req_str(culture, "culture")?.to_string();
        with_options(o, |options| Ok(options.ui_culture = Some(culture)))
    })
}

/// Sets the operation timeout in milliseconds (0 = default).
#[no_mangle]
pub extern "C" fn rsess_session_options_set_timeout_ms(o: *mut rsess_session_options, ms: u32) -> rsess_result {
    guard(std::ptr::null_mut(), || with_options(o, |options| Ok(options.timeout_ms = ms)))
}

/// Sets the destination port (0 = the scheme's default). Errors: INVALID_ARGUMENT above 65535.
#[no_mangle]
pub extern "C" fn rsess_session_options_set_port(o: *mut rsess_session_options, port: u32) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        if port > 65_535 {
            return Err(Failure::invalid(format!("Port {port} is out of range")));
        }
        with_options(o, |options| Ok(options.port = port))
    })
}

/// Sets the URL path of the WS-Management service (New-CimSessionOption -HttpPrefix), e.g. `"wsman"`
/// (the default), optionally with a query. It is checked when a session is created with these options
/// (INVALID_ARGUMENT naming the prefix there). Errors: NULL_ARGUMENT, INVALID_ARGUMENT (bad UTF-8).
#[no_mangle]
pub extern "C" fn rsess_session_options_set_http_prefix(o: *mut rsess_session_options, prefix: *const c_char) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let prefix = req_str(prefix, "prefix")?.to_string();
        with_options(o, |options| Ok(options.http_prefix = Some(prefix)))
    })
}

/// Frees session options. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_session_options_free(o: *mut rsess_session_options) {
    guard_void(|| drop(handles::free(o)));
}

/// Makes a credential in `*out` for `mechanism` (`RSESS_AUTH_*`) with `user` and `password` (both NULL
/// for a mechanism without an explicit credential). Free it with `rsess_credential_free`.
/// Errors: INVALID_ARGUMENT for an unknown mechanism, bad UTF-8, or a user without a password;
/// NULL_ARGUMENT for `out`.
#[no_mangle]
pub extern "C" fn rsess_credential_new(
    mechanism: rsess_authentication,
    user: *const c_char,
    password: *const c_char,
    out: *mut *mut rsess_credential,
) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let mechanism = match mechanism {
            RSESS_AUTH_DEFAULT => Authentication::Default,
            RSESS_AUTH_DIGEST => Authentication::Digest,
            RSESS_AUTH_NEGOTIATE => Authentication::Negotiate,
            RSESS_AUTH_BASIC => Authentication::Basic,
            RSESS_AUTH_KERBEROS => Authentication::Kerberos,
            RSESS_AUTH_NTLM_DOMAIN => Authentication::NtlmDomain,
            RSESS_AUTH_CREDSSP => Authentication::CredSsp,
            other => return Err(Failure::invalid(format!("Unknown authentication mechanism {other}"))),
        };
        let credential = match (opt_str(user)?, opt_str(password)?) {
            (Some(u), Some(p)) => Some(Credential::new(u, p)),
            (None, None) => None,
            _ => return Err(Failure::invalid("A credential needs both a user name and a password")),
        };
        write(out, handles::insert::<rsess_credential>((credential, mechanism)));
        Ok(())
    })
}

/// Frees a credential. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_credential_free(c: *mut rsess_credential) {
    guard_void(|| drop(handles::free(c)));
}

/// Creates a CIM session in `scope` (NULL = default scope) and returns a reference in `*out`
/// (as New-CimSession does). `computer_name` NULL = this machine, served in-process (unless `opts` ask for
/// WS-Management, then `localhost` over WS-Management); a computer name = WS-Management to it.
/// `name` NULL = `CimSession<Id>`; `opts` NULL = defaults; `cred` NULL = no credential. Unless `flags`
/// has `RSESS_SESSION_SKIP_TEST_CONNECTION`, a WS-Management session is tested with Identify first and
/// registered only when it answers; Ids are consumed only on success. Blocks while testing.
/// Errors: NOT_SUPPORTED (DCOM to another computer, Digest, Negotiate/Kerberos/NtlmDomain/CredSsp
/// without the system GSSAPI library);
/// INVALID_ARGUMENT (empty computer name, one that is not a host name or an IPv4/IPv6 address such as
/// `user@host`, `host:80` or `host/path`, an HTTP prefix that is not a URL path, Basic over HTTP
/// without NoEncryption, a client certificate credential without HTTPS, CredSsp without a user and
/// password, unknown flags, bad UTF-8); INVALID_HANDLE; and the test connection's
/// failures: CONNECTION_FAILED, TLS_FAILED, ACCESS_DENIED, TIMEOUT, BAD_REPLY, FAULT.
#[no_mangle]
pub extern "C" fn rsess_cim_session_new(
    scope: *mut rsess_scope,
    computer_name: *const c_char,
    name: *const c_char,
    opts: *const rsess_session_options,
    cred: *const rsess_credential,
    flags: u32,
    out: *mut *mut rsess_cim_session,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let scope = scope_id(scope)?;
        let computer = opt_str(computer_name)?;
        let name = opt_str(name)?;
        if flags & !RSESS_SESSION_SKIP_TEST_CONNECTION != 0 {
            return Err(Failure::invalid(format!("Unknown session flags {flags:#x}")));
        }
        let options = if opts.is_null() {
            SessionOptions::default()
        } else {
            handles::get(opts)?
        };
        let (credential, mechanism) = if cred.is_null() {
            (None, Authentication::Default)
        } else {
            handles::get(cred)?
        };
        let provider = provider_for(computer, &options, credential.as_ref(), mechanism)?;
        if flags & RSESS_SESSION_SKIP_TEST_CONNECTION == 0 {
            provider.test_connection()?;
        }
        let session = REGISTRY.create(scope, computer, name, &options, provider)?;
        write(out, handles::insert::<rsess_cim_session>(session));
        Ok(())
    })
}

fn session_string(s: *const rsess_cim_session, out: *mut *mut c_char, get: fn(&CimSession) -> String) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        let session = session_of(s)?;
        write(out, to_c(&get(&session)));
        Ok(())
    })
}

/// The session's Id (from 1 within its scope). Still readable after the session was removed.
#[no_mangle]
pub extern "C" fn rsess_cim_session_id(s: *const rsess_cim_session, out: *mut u32) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, session_of(s)?.id);
        Ok(())
    })
}

/// The session's name, as an owned string.
#[no_mangle]
pub extern "C" fn rsess_cim_session_name(s: *const rsess_cim_session, out: *mut *mut c_char) -> rsess_result {
    session_string(s, out, |s| s.name.clone())
}

/// The session's InstanceId in lower-case GUID form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
#[no_mangle]
pub extern "C" fn rsess_cim_session_instance_id(s: *const rsess_cim_session, out: *mut *mut c_char) -> rsess_result {
    session_string(s, out, |s| s.instance_id.hyphenated().to_string())
}

/// The computer name as given, `"localhost"` for a local session.
#[no_mangle]
pub extern "C" fn rsess_cim_session_computer_name(s: *const rsess_cim_session, out: *mut *mut c_char) -> rsess_result {
    session_string(s, out, |s| s.computer_name.clone())
}

/// The protocol serving the session: `"Local"` for this machine's in-process provider, `"WSMAN"` for
/// WS-Management.
#[no_mangle]
pub extern "C" fn rsess_cim_session_protocol(s: *const rsess_cim_session, out: *mut *mut c_char) -> rsess_result {
    session_string(s, out, |s| s.protocol_name().to_string())
}

/// Whether the session was removed from its scope.
#[no_mangle]
pub extern "C" fn rsess_cim_session_is_removed(s: *const rsess_cim_session, out: *mut bool) -> rsess_result {
    guard(std::ptr::null_mut(), || {
        let out = out_ptr(out)?;
        write(out, session_of(s)?.is_removed());
        Ok(())
    })
}

/// Frees a session reference; the session stays registered. NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_cim_session_free(s: *mut rsess_cim_session) {
    guard_void(|| drop(handles::free(s)));
}

/// Removes the session from `scope` (NULL = default scope). The reference stays valid for
/// reading its identity; operations on it then fail with SESSION_REMOVED.
/// Errors: NOT_FOUND when it is not (or no longer) in that scope.
#[no_mangle]
pub extern "C" fn rsess_cim_session_remove(scope: *mut rsess_scope, s: *const rsess_cim_session, err: *mut *mut rsess_error) -> rsess_result {
    guard(err, || {
        let scope = scope_id(scope)?;
        let session = session_of(s)?;
        Ok(REGISTRY.remove(scope, &session)?)
    })
}

/// Looks sessions up in `scope` (NULL = default scope). `values` is an array of `count`
/// strings: decimal Ids, GUIDs, names or patterns, or computer names, as `kind` (`RSESS_LOOKUP_*`) says;
/// ignored for `RSESS_LOOKUP_ALL`. The list in `*out` holds the sessions (by Id, no duplicates) and the
/// values that found nothing (for names only those without wildcards).
/// Errors: NULL_ARGUMENT (values NULL with count > 0), INVALID_ARGUMENT (unknown kind, bad pattern).
#[no_mangle]
pub extern "C" fn rsess_cim_session_find(
    scope: *mut rsess_scope,
    kind: rsess_lookup,
    values: *const *const c_char,
    count: usize,
    out: *mut *mut rsess_cim_session_list,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let scope = scope_id(scope)?;
        let (kind, texts) = lookup_args(kind, values, count)?;
        let found = REGISTRY.find(scope, kind, &texts)?;
        write(out, handles::insert::<rsess_cim_session_list>(found));
        Ok(())
    })
}

/// Reads a lookup kind (`RSESS_LOOKUP_*`) and its `count` values. Errors: INVALID_ARGUMENT for an
/// unknown kind or bad UTF-8, NULL_ARGUMENT for NULL values with a count.
pub(crate) fn lookup_args(kind: rsess_lookup, values: *const *const c_char, count: usize) -> Result<(Lookup, Vec<String>)> {
    let kind = match kind {
        RSESS_LOOKUP_ALL => Lookup::All,
        RSESS_LOOKUP_ID => Lookup::Id,
        RSESS_LOOKUP_NAME => Lookup::Name,
        RSESS_LOOKUP_COMPUTER_NAME => Lookup::ComputerName,
        RSESS_LOOKUP_INSTANCE_ID => Lookup::InstanceId,
        other => return Err(Failure::invalid(format!("Unknown lookup kind {other}"))),
    };
    let texts = if kind == Lookup::All { Vec::new() } else { string_array(values, count, "values")? };
    Ok((kind, texts))
}

impl LookupList for rsess_cim_session_list {
    type Item = rsess_cim_session;
    fn view(found: &Found) -> ListView<'_, Arc<CimSession>> {
        ListView { items: &found.sessions, missing: &found.missing }
    }
}

/// How many sessions the list holds.
#[no_mangle]
pub extern "C" fn rsess_cim_session_list_len(l: *const rsess_cim_session_list, out: *mut usize) -> rsess_result {
    list_len(l, out)
}

/// A new reference to the session at `index` (free it with `rsess_cim_session_free`).
/// Errors: INVALID_ARGUMENT when `index` is out of range.
#[no_mangle]
pub extern "C" fn rsess_cim_session_list_get(l: *const rsess_cim_session_list, index: usize, out: *mut *mut rsess_cim_session) -> rsess_result {
    list_get(l, index, out)
}

/// The lookup values that found nothing, as a new string list.
#[no_mangle]
pub extern "C" fn rsess_cim_session_list_missing(l: *const rsess_cim_session_list, out: *mut *mut rsess_string_list) -> rsess_result {
    list_missing(l, out)
}

/// Frees a session list (not the sessions). NULL and stale handles are ignored.
#[no_mangle]
pub extern "C" fn rsess_cim_session_list_free(l: *mut rsess_cim_session_list) {
    guard_void(|| drop(handles::free(l)));
}
