//! A minimal binding of the system GSSAPI (RFC 2743 the interface, RFC 2744 its C binding), loaded at
//! run time: MIT krb5's `libgssapi_krb5.so.2` is opened with dlopen(3) the first time a mechanism
//! needs it, so Basic-only users need nothing more, and a missing library is an error that names the
//! package to install. Only what an HTTP client needs: names (`gss_import_name`), credentials
//! (`gss_acquire_cred`, MIT's `gss_acquire_cred_with_password`), an initiator's security context
//! (`gss_init_sec_context` with channel bindings), message protection (`gss_wrap`/`gss_unwrap`,
//! `gss_wrap_iov`) and status text (`gss_display_status`). Mechanisms come from the library's own
//! configuration: Kerberos from MIT itself, NTLM from the gss-ntlmssp plug-in, SPNEGO (RFC 4178) over
//! both.
//!
//! The safe wrappers own their handles (Drop releases them). Errors ([`GssError`]) carry the major and
//! minor status and the library's text for them, never a password or a token. No cryptography is done
//! here: the library does it all.

use std::ffi::c_void;
use std::fmt;
use std::ptr;

use once_cell::sync::OnceCell;

use super::system_library::{function, Library};

/// `OM_uint32`.
type Status = u32;

/// `gss_buffer_desc`: a length in bytes and a pointer.
#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
}

impl Buffer {
    const EMPTY: Buffer = Buffer { length: 0, value: ptr::null_mut() };

    /// A buffer that borrows `bytes` (the library only reads input buffers).
    fn borrowing(bytes: &[u8]) -> Buffer {
        Buffer { length: bytes.len(), value: bytes.as_ptr() as *mut c_void }
    }
}

/// `gss_OID_desc`: the DER contents of an object identifier (RFC 2744 §3.3).
#[repr(C)]
pub struct OidDesc {
    length: u32,
    elements: *mut c_void,
}

/// `gss_OID_set_desc`.
#[repr(C)]
struct OidSet {
    count: usize,
    elements: *mut OidDesc,
}

/// `gss_channel_bindings_struct` (RFC 2744 §3.11).
#[repr(C)]
struct ChannelBindingsDesc {
    initiator_addrtype: u32,
    initiator_address: Buffer,
    acceptor_addrtype: u32,
    acceptor_address: Buffer,
    application_data: Buffer,
}

/// `gss_iov_buffer_desc` (MIT's and Heimdal's extension, RFC 4121 §4.2 layouts).
#[repr(C)]
struct IovBuffer {
    kind: u32,
    buffer: Buffer,
}

/// An object identifier known here, by its DER contents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Oid(&'static [u8]);

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            KERBEROS => "Kerberos",
            NTLM => "NTLM",
            SPNEGO => "SPNEGO",
            NT_HOSTBASED_SERVICE => "GSS_C_NT_HOSTBASED_SERVICE",
            NT_USER_NAME => "GSS_C_NT_USER_NAME",
            _ => "unknown",
        };
        f.write_str(name)
    }
}

impl Oid {
    /// The C descriptor of this OID (the library only reads it).
    fn desc(&self) -> OidDesc {
        OidDesc { length: self.0.len() as u32, elements: self.0.as_ptr() as *mut c_void }
    }

    /// Whether the library's OID `other` is this one.
    ///
    /// # Safety
    /// `other` is null or points to a valid `gss_OID_desc`.
    unsafe fn is(&self, other: *const OidDesc) -> bool {
        if other.is_null() || (*other).elements.is_null() {
            return false;
        }
        std::slice::from_raw_parts((*other).elements as *const u8, (*other).length as usize) == self.0
    }
}

/// The Kerberos V5 mechanism, 1.2.840.113554.1.2.2 (RFC 1964, RFC 4121).
pub const KERBEROS: Oid = Oid(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02");
/// The NTLM mechanism, 1.3.6.1.4.1.311.2.2.10 (MS-NLMP; gss-ntlmssp).
pub const NTLM: Oid = Oid(b"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a");
/// SPNEGO, 1.3.6.1.5.5.2 (RFC 4178, MS-SPNG): Kerberos or NTLM, negotiated.
pub const SPNEGO: Oid = Oid(b"\x2b\x06\x01\x05\x05\x02");
/// `GSS_C_NT_HOSTBASED_SERVICE`, 1.2.840.113554.1.2.1.4: names such as `HTTP@host` (RFC 2743 §4.1).
pub const NT_HOSTBASED_SERVICE: Oid = Oid(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04");
/// `GSS_KRB5_NT_PRINCIPAL_NAME`, 1.2.840.113554.1.2.2.1: a Kerberos principal as text
/// (`HTTP/host:port`, RFC 1964 §2.1.1), for names a host-based name cannot carry.
pub const NT_KRB5_PRINCIPAL: Oid = Oid(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01");
/// `GSS_C_NT_USER_NAME`, 1.2.840.113554.1.2.1.1: a user name (`user@REALM`, `DOMAIN\user`).
pub const NT_USER_NAME: Oid = Oid(b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x01");

/// Context flags (RFC 2744 §3.9): mutual authentication, replay and sequence detection,
/// confidentiality and integrity — what Windows' WinRM client asks for.
pub const MUTUAL_FLAG: u32 = 2;
const REPLAY_FLAG: u32 = 4;
const SEQUENCE_FLAG: u32 = 8;
/// Messages can be encrypted (`GSS_C_CONF_FLAG`).
pub const CONF_FLAG: u32 = 16;
/// Messages can be signed (`GSS_C_INTEG_FLAG`).
pub const INTEG_FLAG: u32 = 32;
/// The flags every context here asks for.
pub const REQUESTED_FLAGS: u32 = MUTUAL_FLAG | REPLAY_FLAG | SEQUENCE_FLAG | CONF_FLAG | INTEG_FLAG;

const GSS_S_COMPLETE: Status = 0;
const GSS_S_CONTINUE_NEEDED: Status = 1;
const GSS_C_INDEFINITE: u32 = u32::MAX;
const GSS_C_INITIATE: i32 = 1;
const GSS_C_GSS_CODE: i32 = 1;
const GSS_C_MECH_CODE: i32 = 2;
const IOV_DATA: u32 = 1;
const IOV_HEADER: u32 = 2;
const IOV_PADDING: u32 = 9;
const IOV_FLAG_ALLOCATE: u32 = 0x0001_0000;

/// The library, by the names it has on Linux, macOS (Homebrew's krb5) and the BSDs.
const LIBRARIES: &[&str] = &[
    "libgssapi_krb5.so.2",
    "libgssapi_krb5.so",
    "/opt/homebrew/opt/krb5/lib/libgssapi_krb5.dylib",
    "/usr/local/opt/krb5/lib/libgssapi_krb5.dylib",
    "libgssapi_krb5.dylib",
];

/// The functions used, resolved once.
#[allow(clippy::type_complexity)]
struct Api {
    import_name: unsafe extern "C" fn(*mut Status, *const Buffer, *const OidDesc, *mut *mut c_void) -> Status,
    release_name: unsafe extern "C" fn(*mut Status, *mut *mut c_void) -> Status,
    acquire_cred: unsafe extern "C" fn(*mut Status, *mut c_void, u32, *const OidSet, i32, *mut *mut c_void, *mut *mut OidSet, *mut u32) -> Status,
    acquire_cred_with_password:
        Option<unsafe extern "C" fn(*mut Status, *mut c_void, *const Buffer, u32, *const OidSet, i32, *mut *mut c_void, *mut *mut OidSet, *mut u32) -> Status>,
    release_cred: unsafe extern "C" fn(*mut Status, *mut *mut c_void) -> Status,
    init_sec_context: unsafe extern "C" fn(
        *mut Status,
        *mut c_void,
        *mut *mut c_void,
        *mut c_void,
        *const OidDesc,
        u32,
        u32,
        *const ChannelBindingsDesc,
        *const Buffer,
        *mut *const OidDesc,
        *mut Buffer,
        *mut u32,
        *mut u32,
    ) -> Status,
    delete_sec_context: unsafe extern "C" fn(*mut Status, *mut *mut c_void, *mut Buffer) -> Status,
    inquire_context:
        unsafe extern "C" fn(*mut Status, *mut c_void, *mut *mut c_void, *mut *mut c_void, *mut u32, *mut *const OidDesc, *mut u32, *mut i32, *mut i32) -> Status,
    wrap: unsafe extern "C" fn(*mut Status, *mut c_void, i32, u32, *const Buffer, *mut i32, *mut Buffer) -> Status,
    unwrap: unsafe extern "C" fn(*mut Status, *mut c_void, *const Buffer, *mut Buffer, *mut i32, *mut u32) -> Status,
    wrap_iov: Option<unsafe extern "C" fn(*mut Status, *mut c_void, i32, u32, *mut i32, *mut IovBuffer, i32) -> Status>,
    release_iov_buffer: Option<unsafe extern "C" fn(*mut Status, *mut IovBuffer, i32) -> Status>,
    release_buffer: unsafe extern "C" fn(*mut Status, *mut Buffer) -> Status,
    display_status: unsafe extern "C" fn(*mut Status, Status, i32, *const OidDesc, *mut u32, *mut Buffer) -> Status,
}

// The function pointers are plain code addresses of a library that is never unloaded.
unsafe impl Send for Api {}
unsafe impl Sync for Api {}

static API: OnceCell<std::result::Result<Api, String>> = OnceCell::new();

/// The library's functions, loaded on first use.
/// Errors: the library is not installed (the message names the package) or lacks a function.
fn api() -> Result<&'static Api> {
    API.get_or_init(load).as_ref().map_err(|text| GssError { major: 0, minor: 0, text: text.clone() })
}

/// Opens the library (the environment variable RSESS_GSSAPI_LIBRARY names another one) and resolves
/// its functions.
fn load() -> std::result::Result<Api, String> {
    load_named(std::env::var("RSESS_GSSAPI_LIBRARY").ok().filter(|s| !s.is_empty()))
}

/// Opens the library `chosen` (None: the usual names in turn) and resolves its functions.
fn load_named(chosen: Option<String>) -> std::result::Result<Api, String> {
    let library = Library::open(chosen.as_deref(), LIBRARIES).map_err(|name| {
        format!(
            "The GSSAPI library ({name}) is not installed; Negotiate, Kerberos and NTLM need MIT Kerberos' \
             GSSAPI (Debian/Ubuntu: libgssapi-krb5-2, and gss-ntlmssp for NTLM; RHEL/Fedora: krb5-libs and \
             gssntlmssp; macOS: brew install krb5)"
        )
    })?;
    let symbol = |name: &str| library.symbol(name);
    macro_rules! required {
        ($name:literal) => {{
            let p = symbol($name);
            if p.is_null() {
                return Err(format!("The GSSAPI library has no function {}; MIT Kerberos 1.11 or newer is needed", $name));
            }
            // SAFETY: the symbol is the function of that name, whose C signature the field declares.
            unsafe { function(p) }
        }};
    }
    macro_rules! optional {
        ($name:literal) => {{
            let p = symbol($name);
            // SAFETY: as above; None when the library lacks it.
            (!p.is_null()).then(|| unsafe { function(p) })
        }};
    }
    Ok(Api {
        import_name: required!("gss_import_name"),
        release_name: required!("gss_release_name"),
        acquire_cred: required!("gss_acquire_cred"),
        acquire_cred_with_password: optional!("gss_acquire_cred_with_password"),
        release_cred: required!("gss_release_cred"),
        init_sec_context: required!("gss_init_sec_context"),
        delete_sec_context: required!("gss_delete_sec_context"),
        inquire_context: required!("gss_inquire_context"),
        wrap: required!("gss_wrap"),
        unwrap: required!("gss_unwrap"),
        wrap_iov: optional!("gss_wrap_iov"),
        release_iov_buffer: optional!("gss_release_iov_buffer"),
        release_buffer: required!("gss_release_buffer"),
        display_status: required!("gss_display_status"),
    })
}

/// Whether the GSSAPI library can be loaded (and has what is needed).
pub fn available() -> bool {
    api().is_ok()
}

/// A GSSAPI failure: the major status (RFC 2744 §3.9.1: routine error in bits 16–23, calling error in
/// bits 24–31, supplementary bits below), the mechanism's minor status, and the library's text for
/// both. 0/0 with only a text: the library could not be used at all. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssError {
    /// The major status (0 when the library itself is missing).
    pub major: u32,
    /// The mechanism's minor status (e.g. a krb5 error code), 0 when there is none.
    pub minor: u32,
    /// What the library says of them (or why it cannot be loaded).
    pub text: String,
}

impl GssError {
    /// The routine error (RFC 2744 §3.9.1), e.g. 7 `GSS_S_NO_CRED`, 13 `GSS_S_FAILURE`.
    pub fn routine(&self) -> u32 {
        (self.major >> 16) & 0xff
    }
}

impl fmt::Display for GssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.major == 0 && self.minor == 0 {
            return f.write_str(&self.text);
        }
        write!(f, "{} (GSSAPI major 0x{:08x}, minor {})", self.text, self.major, self.minor as i32)
    }
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, GssError>;

/// The texts of a status value of `kind` (GSS or mechanism code), joined.
fn status_text(api: &Api, value: Status, kind: i32, mech: Option<Oid>) -> Vec<String> {
    let mut texts = Vec::new();
    let mut more = 0u32;
    let mech = mech.map(|m| m.desc());
    for _ in 0..8 {
        let (mut minor, mut buf) = (0, Buffer::EMPTY);
        // SAFETY: valid out-pointers; the buffer is released below.
        let major = unsafe { (api.display_status)(&mut minor, value, kind, mech.as_ref().map_or(ptr::null(), |m| m as *const OidDesc), &mut more, &mut buf) };
        if major != GSS_S_COMPLETE {
            break;
        }
        // SAFETY: the library filled the buffer.
        let text = unsafe { take_buffer(api, &mut buf) };
        // MIT counts a terminating NUL in some texts' length.
        let text = String::from_utf8_lossy(&text).trim_matches(|c: char| c.is_whitespace() || c == '\0').to_string();
        if !text.is_empty() && !texts.contains(&text) {
            texts.push(text);
        }
        if more == 0 {
            break;
        }
    }
    texts
}

/// The error for `major`/`minor` from `call`, with the library's texts (the mechanism's first).
fn error(api: &Api, call: &str, major: Status, minor: Status, mech: Option<Oid>) -> GssError {
    let mut texts = if minor != 0 { status_text(api, minor, GSS_C_MECH_CODE, mech) } else { Vec::new() };
    // "Unspecified GSS failure" and the like add nothing when the mechanism said what failed.
    let general = status_text(api, major & 0xffff_0000, GSS_C_GSS_CODE, None);
    if texts.is_empty() || !general.iter().all(|t| t.starts_with("Unspecified GSS failure") || t.starts_with("Miscellaneous failure")) {
        for t in general {
            if !texts.contains(&t) {
                texts.insert(0, t);
            }
        }
    }
    let text = if texts.is_empty() { format!("{call} failed") } else { texts.join(": ") };
    GssError { major, minor, text }
}

/// Copies a library-owned buffer's bytes and releases it.
///
/// # Safety
/// `buf` was filled by the library (or is empty).
unsafe fn take_buffer(api: &Api, buf: &mut Buffer) -> Vec<u8> {
    let bytes = if buf.value.is_null() || buf.length == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(buf.value as *const u8, buf.length).to_vec()
    };
    let mut minor = 0;
    (api.release_buffer)(&mut minor, buf);
    bytes
}

/// A GSSAPI name (`gss_name_t`), released on drop.
pub struct Name {
    handle: *mut c_void,
}

// A name is immutable once imported; the library's names may move between threads.
unsafe impl Send for Name {}
unsafe impl Sync for Name {}

impl Name {
    /// Imports `text` as a name of type `kind` (e.g. `HTTP@host` as [`NT_HOSTBASED_SERVICE`],
    /// `user@REALM` as [`NT_USER_NAME`]).
    /// Errors: the library is missing, or no mechanism can read the name.
    pub fn import(text: &str, kind: Oid) -> Result<Name> {
        let api = api()?;
        let (mut minor, mut handle) = (0, ptr::null_mut());
        // Followed by a NUL (not counted), for mechanisms that read names as C strings.
        let terminated = [text.as_bytes(), b"\0"].concat();
        let input = Buffer { length: text.len(), value: terminated.as_ptr() as *mut c_void };
        let oid = kind.desc();
        // SAFETY: valid buffers that outlive the call.
        let major = unsafe { (api.import_name)(&mut minor, &input, &oid, &mut handle) };
        if major != GSS_S_COMPLETE {
            return Err(error(api, "gss_import_name", major, minor, None));
        }
        Ok(Name { handle })
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        if self.handle.is_null() {
            return;
        }
        if let Ok(api) = api() {
            let mut minor = 0;
            // SAFETY: a name this value owns.
            unsafe { (api.release_name)(&mut minor, &mut self.handle) };
        }
    }
}

/// An initiator's credential (`gss_cred_id_t`), released on drop.
pub struct Credential {
    handle: *mut c_void,
}

// GSSAPI credentials may be used from any thread (not at once: they sit behind `&`/`Arc` only for
// reading, and the library locks internally).
unsafe impl Send for Credential {}
unsafe impl Sync for Credential {}

impl Credential {
    /// The credential of `user` for `mechanism`: with `password` (MIT's
    /// `gss_acquire_cred_with_password`; for Kerberos an initial ticket is got into a memory cache,
    /// never the caller's), or without one the system's own (the Kerberos ticket cache, KRB5CCNAME;
    /// gss-ntlmssp's NTLM_USER_FILE). `user` None: the default principal.
    /// Errors: the library is missing or lacks password credentials; the name is not valid; no
    /// credential (e.g. no ticket cache, a KDC that refuses the password).
    pub fn acquire(user: Option<&Name>, password: Option<&[u8]>, mechanism: Oid) -> Result<Credential> {
        let api = api()?;
        let mut oid = mechanism.desc();
        let set = OidSet { count: 1, elements: &mut oid };
        let (mut minor, mut handle) = (0, ptr::null_mut());
        let name = user.map_or(ptr::null_mut(), |n| n.handle);
        let major = match password {
            Some(password) => {
                let Some(with_password) = api.acquire_cred_with_password else {
                    return Err(GssError { major: 0, minor: 0, text: "The GSSAPI library cannot take a password (gss_acquire_cred_with_password is missing)".into() });
                };
                // gss-ntlmssp reads the password with strlen(3) whatever the buffer's length says:
                // it gets a NUL after its bytes (not counted), and the copy is wiped afterwards.
                let mut terminated = Vec::with_capacity(password.len() + 1);
                terminated.extend_from_slice(password);
                terminated.push(0);
                let secret = Buffer { length: password.len(), value: terminated.as_mut_ptr() as *mut c_void };
                // SAFETY: valid inputs that outlive the call; outputs not wanted are null.
                let major = unsafe { with_password(&mut minor, name, &secret, GSS_C_INDEFINITE, &set, GSS_C_INITIATE, &mut handle, ptr::null_mut(), ptr::null_mut()) };
                terminated.iter_mut().for_each(|b| unsafe { ptr::write_volatile(b, 0) });
                major
            }
            // SAFETY: as above.
            None => unsafe { (api.acquire_cred)(&mut minor, name, GSS_C_INDEFINITE, &set, GSS_C_INITIATE, &mut handle, ptr::null_mut(), ptr::null_mut()) },
        };
        if major != GSS_S_COMPLETE {
            return Err(error(api, "gss_acquire_cred", major, minor, Some(mechanism)));
        }
        Ok(Credential { handle })
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        if let Ok(api) = api() {
            let mut minor = 0;
            // SAFETY: a credential this value owns.
            unsafe { (api.release_cred)(&mut minor, &mut self.handle) };
        }
    }
}

/// What one step of [`Context::step`] produced.
#[derive(Debug)]
pub struct Step {
    /// The token to send to the acceptor (may be empty).
    pub token: Vec<u8>,
    /// Whether the context is established (`GSS_S_COMPLETE`); false: `GSS_S_CONTINUE_NEEDED`.
    pub complete: bool,
}

/// An initiator's security context (`gss_ctx_id_t`), deleted on drop. Not shareable: one per
/// connection, stepped and used by one thread at a time.
pub struct Context {
    handle: *mut c_void,
    target: Name,
    credential: Option<std::sync::Arc<Credential>>,
    mechanism: Oid,
    channel_binding: Option<Vec<u8>>,
    flags: u32,
    /// The mechanism actually negotiated (for SPNEGO, what it chose), once known.
    actual: Option<Oid>,
}

// The context is used by one thread at a time (it is owned by one connection).
unsafe impl Send for Context {}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("mechanism", &self.mechanism).field("actual", &self.actual).finish_non_exhaustive()
    }
}

impl Context {
    /// A context to `target` (a service name) through `mechanism` with `credential` (None: the
    /// default credential), bound to `channel_binding` (the application data of the channel
    /// bindings, RFC 5929 e.g. `tls-server-end-point:` and the certificate's hash), asking for
    /// [`REQUESTED_FLAGS`]. No call is made until [`Context::step`].
    pub fn new(target: Name, credential: Option<std::sync::Arc<Credential>>, mechanism: Oid, channel_binding: Option<Vec<u8>>) -> Context {
        Context { handle: ptr::null_mut(), target, credential, mechanism, channel_binding, flags: 0, actual: None }
    }

    /// One `gss_init_sec_context` step with the acceptor's `input` token (None on the first step).
    /// Errors: the mechanism failed (e.g. no ticket, an unknown server principal, a token that does
    /// not verify).
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Step> {
        let api = api()?;
        let mech = self.mechanism.desc();
        let bindings = self.channel_binding.as_ref().map(|data| ChannelBindingsDesc {
            initiator_addrtype: 0,
            initiator_address: Buffer::EMPTY,
            acceptor_addrtype: 0,
            acceptor_address: Buffer::EMPTY,
            application_data: Buffer::borrowing(data),
        });
        let input = input.map(Buffer::borrowing);
        let (mut minor, mut output, mut actual, mut flags) = (0, Buffer::EMPTY, ptr::null::<OidDesc>(), 0u32);
        // SAFETY: every input outlives the call; the output buffer is released by take_buffer.
        let major = unsafe {
            (api.init_sec_context)(
                &mut minor,
                self.credential.as_ref().map_or(ptr::null_mut(), |c| c.handle),
                &mut self.handle,
                self.target.handle,
                &mech,
                REQUESTED_FLAGS,
                0,
                bindings.as_ref().map_or(ptr::null(), |b| b as *const ChannelBindingsDesc),
                input.as_ref().map_or(ptr::null(), |b| b as *const Buffer),
                &mut actual,
                &mut output,
                &mut flags,
                ptr::null_mut(),
            )
        };
        // SAFETY: the library filled (or left empty) the output buffer.
        let token = unsafe { take_buffer(api, &mut output) };
        if major != GSS_S_COMPLETE && major != GSS_S_CONTINUE_NEEDED {
            return Err(error(api, "gss_init_sec_context", major, minor, Some(self.mechanism)));
        }
        self.flags = flags;
        let complete = major == GSS_S_COMPLETE;
        if complete {
            self.actual = self.inquire_mechanism();
        }
        Ok(Step { token, complete })
    }

    /// Gives back the target name (to start a new context to the same service).
    pub fn into_target(mut self) -> Name {
        // The context handle is deleted here; the name moves out.
        std::mem::replace(&mut self.target, Name { handle: ptr::null_mut() })
    }

    /// The flags the context has (RFC 2744 §3.9), as the last step reported them.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The mechanism in use once the context is complete: for SPNEGO, the one it negotiated
    /// ([`KERBEROS`] or [`NTLM`]); None while unknown.
    pub fn actual_mechanism(&self) -> Option<Oid> {
        self.actual
    }

    fn inquire_mechanism(&self) -> Option<Oid> {
        let api = api().ok()?;
        let (mut minor, mut mech) = (0, ptr::null::<OidDesc>());
        // SAFETY: an established context; only the mechanism is asked for (a static OID, not freed).
        let major = unsafe {
            (api.inquire_context)(&mut minor, self.handle, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), &mut mech, ptr::null_mut(), ptr::null_mut(), ptr::null_mut())
        };
        if major != GSS_S_COMPLETE {
            return None;
        }
        // SAFETY: the library's OID.
        [KERBEROS, NTLM, SPNEGO].into_iter().find(|o| unsafe { o.is(mech) })
    }

    /// Seals `message` (encrypted and signed, `gss_wrap` with confidentiality): one token.
    /// Errors: the context cannot seal (e.g. not established, confidentiality not granted).
    pub fn wrap(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let api = api()?;
        let (mut minor, mut conf, mut output) = (0, 0i32, Buffer::EMPTY);
        let input = Buffer::borrowing(message);
        // SAFETY: valid buffers; the output is released by take_buffer.
        let major = unsafe { (api.wrap)(&mut minor, self.handle, 1, 0, &input, &mut conf, &mut output) };
        // SAFETY: filled by the library.
        let token = unsafe { take_buffer(api, &mut output) };
        if major != GSS_S_COMPLETE {
            return Err(error(api, "gss_wrap", major, minor, self.actual));
        }
        Ok(token)
    }

    /// Seals `message` into a separate header (the token header, with the trailer rotated into it:
    /// RFC 4121 §4.2.5, RRC = the trailer's length, as Windows' SSPI does) and the encrypted data,
    /// with `gss_wrap_iov` (HEADER, DATA, PADDING buffers); the padding (none for AES) follows the
    /// data. Returns (header, encrypted data with padding).
    /// Errors: the library has no gss_wrap_iov, or the context cannot seal.
    pub fn wrap_iov(&mut self, message: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let api = api()?;
        let (Some(wrap_iov), Some(release)) = (api.wrap_iov, api.release_iov_buffer) else {
            return Err(GssError { major: 0, minor: 0, text: "The GSSAPI library has no gss_wrap_iov".into() });
        };
        let mut data = message.to_vec();
        let mut iov = [
            IovBuffer { kind: IOV_HEADER | IOV_FLAG_ALLOCATE, buffer: Buffer::EMPTY },
            IovBuffer { kind: IOV_DATA, buffer: Buffer { length: data.len(), value: data.as_mut_ptr() as *mut c_void } },
            IovBuffer { kind: IOV_PADDING | IOV_FLAG_ALLOCATE, buffer: Buffer::EMPTY },
        ];
        let (mut minor, mut conf) = (0, 0i32);
        // SAFETY: the data buffer is ours and outlives the call (encrypted in place); the library
        // allocates header and padding, released below.
        let major = unsafe { wrap_iov(&mut minor, self.handle, 1, 0, &mut conf, iov.as_mut_ptr(), iov.len() as i32) };
        let copy = |b: &Buffer| {
            if b.value.is_null() || b.length == 0 {
                Vec::new()
            } else {
                // SAFETY: a buffer the library filled.
                unsafe { std::slice::from_raw_parts(b.value as *const u8, b.length).to_vec() }
            }
        };
        let (header, padding) = (copy(&iov[0].buffer), copy(&iov[2].buffer));
        let mut release_minor = 0;
        // SAFETY: releases only the buffers the library allocated (flagged ALLOCATED by it).
        unsafe { release(&mut release_minor, iov.as_mut_ptr(), iov.len() as i32) };
        if major != GSS_S_COMPLETE {
            return Err(error(api, "gss_wrap_iov", major, minor, self.actual));
        }
        data.extend_from_slice(&padding);
        Ok((header, data))
    }

    /// Opens a sealed `token` (`gss_unwrap`, which reads a Kerberos token's RRC whatever it is).
    /// Returns the message and whether it was encrypted.
    /// Errors: the token does not verify (bad signature, out of sequence, damaged).
    pub fn unwrap(&mut self, token: &[u8]) -> Result<(Vec<u8>, bool)> {
        let api = api()?;
        let (mut minor, mut conf, mut qop, mut output) = (0, 0i32, 0u32, Buffer::EMPTY);
        let input = Buffer::borrowing(token);
        // SAFETY: valid buffers; the output is released by take_buffer.
        let major = unsafe { (api.unwrap)(&mut minor, self.handle, &input, &mut output, &mut conf, &mut qop) };
        // SAFETY: filled by the library.
        let message = unsafe { take_buffer(api, &mut output) };
        if major != GSS_S_COMPLETE {
            return Err(error(api, "gss_unwrap", major, minor, self.actual));
        }
        Ok((message, conf != 0))
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if self.handle.is_null() {
            return;
        }
        if let Ok(api) = api() {
            let mut minor = 0;
            // SAFETY: a context this value owns; no output token is wanted.
            unsafe { (api.delete_sec_context)(&mut minor, &mut self.handle, ptr::null_mut()) };
        }
    }
}

/// The library's text for a major and minor status (as [`GssError`] words them), for tests and
/// diagnostics; the library's load error when it cannot be loaded.
pub fn describe(major: u32, minor: u32) -> String {
    match api() {
        Ok(api) => error(api, "GSSAPI", major, minor, None).text,
        Err(e) => e.text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_names_the_packages() {
        let text = load_named(Some("libgssapi_krb5_missing.so.9".into())).err().unwrap();
        for package in ["libgssapi_krb5_missing.so.9", "libgssapi-krb5-2", "krb5-libs", "brew install krb5", "gss-ntlmssp"] {
            assert!(text.contains(package), "{text}");
        }
    }

    #[test]
    fn names_import_and_status_texts_read() {
        if !available() {
            return;
        }
        Name::import("HTTP@srv1.example.test", NT_HOSTBASED_SERVICE).unwrap();
        // GSS_S_NO_CRED.
        let text = describe(0x0007_0000, 0);
        assert!(text.to_lowercase().contains("no credentials"), "{text}");
        assert!(format!("{}", GssError { major: 0x0007_0000, minor: 5, text }).ends_with("(GSSAPI major 0x00070000, minor 5)"));
    }
}
