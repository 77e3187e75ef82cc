//! PKCS#12 (RFC 7292, the .pfx files Windows and .NET export) read through the system libcrypto,
//! loaded at run time: OpenSSL 3's `libcrypto.so.3` (Debian/Ubuntu: libssl3) is opened with dlopen(3)
//! the first time a .pfx is read, so PEM-only users need nothing more. The library decrypts the file
//! (`d2i_PKCS12`, `PKCS12_parse`) and encodes what it holds as DER (`i2d_X509`, the key as PKCS#8
//! through `EVP_PKEY2PKCS8`); nothing cryptographic is done here. A file that OpenSSL 3 does not
//! open by default because it uses legacy algorithms (RC2-40, as older Windows and OpenSSL 1.1 export
//! .pfx files) is tried again in a library context of its own with OpenSSL's `legacy` provider, made
//! the calling thread's default for that one call (`OSSL_LIB_CTX_set0_default`), so the process's
//! other users of libcrypto (e.g. .NET) are not affected. The environment variable `RSESS_LIBCRYPTO`
//! names another library.

use std::ffi::{c_char, c_int, c_long, c_ulong, c_void, CString};
use std::ptr;

use once_cell::sync::OnceCell;

use super::system_library::{function, Library};
use crate::error::{Error, ErrorKind, Result};

/// The library names tried in turn.
const LIBRARIES: &[&str] = &["libcrypto.so.3", "libcrypto.3.dylib", "libcrypto.dylib"];

/// An `i2d_*` function: DER of an object, into `*out` (advanced) or, with NULL, only its length.
type I2d = unsafe extern "C" fn(*mut c_void, *mut *mut u8) -> c_int;

/// The functions used, resolved once.
#[allow(clippy::type_complexity)]
struct Api {
    d2i_pkcs12: unsafe extern "C" fn(*mut *mut c_void, *mut *const u8, c_long) -> *mut c_void,
    pkcs12_parse: unsafe extern "C" fn(*mut c_void, *const c_char, *mut *mut c_void, *mut *mut c_void, *mut *mut c_void) -> c_int,
    pkcs12_free: unsafe extern "C" fn(*mut c_void),
    i2d_x509: I2d,
    x509_free: unsafe extern "C" fn(*mut c_void),
    evp_pkey_free: unsafe extern "C" fn(*mut c_void),
    evp_pkey2pkcs8: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    i2d_pkcs8: I2d,
    pkcs8_free: unsafe extern "C" fn(*mut c_void),
    sk_num: unsafe extern "C" fn(*const c_void) -> c_int,
    sk_value: unsafe extern "C" fn(*const c_void, c_int) -> *mut c_void,
    sk_pop_free: unsafe extern "C" fn(*mut c_void, unsafe extern "C" fn(*mut c_void)),
    err_get_error: unsafe extern "C" fn() -> c_ulong,
    err_error_string_n: unsafe extern "C" fn(c_ulong, *mut c_char, usize),
    lib_ctx_new: Option<unsafe extern "C" fn() -> *mut c_void>,
    lib_ctx_set0_default: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    provider_load: Option<unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void>,
}

// Plain code addresses of a library that is never unloaded.
unsafe impl Send for Api {}
unsafe impl Sync for Api {}

static API: OnceCell<std::result::Result<Api, String>> = OnceCell::new();

/// The library's functions, loaded on first use.
/// Errors: NotSupported when the library is missing (the message names the package and how to
/// convert the file to PEM instead) or lacks a function.
fn api() -> Result<&'static Api> {
    API.get_or_init(load).as_ref().map_err(|text| Error::new(ErrorKind::NotSupported, text.clone()))
}

fn load() -> std::result::Result<Api, String> {
    let chosen = std::env::var("RSESS_LIBCRYPTO").ok().filter(|s| !s.is_empty());
    let library = Library::open(chosen.as_deref(), LIBRARIES).map_err(|name| {
        format!(
            "Reading a .pfx (PKCS#12) file needs OpenSSL 3's {name} (Debian/Ubuntu: libssl3), which is not installed; \
             or convert the file to PEM: openssl pkcs12 -in file.pfx -out file.pem -nodes"
        )
    })?;
    macro_rules! required {
        ($name:literal) => {{
            let p = library.symbol($name);
            if p.is_null() {
                return Err(format!("The system libcrypto has no function {}; OpenSSL 3 is needed to read .pfx files", $name));
            }
            // SAFETY: the symbol is the function of that name, whose C signature the field declares.
            unsafe { function(p) }
        }};
    }
    macro_rules! optional {
        ($name:literal) => {{
            let p = library.symbol($name);
            // SAFETY: as above; None when the library lacks it.
            (!p.is_null()).then(|| unsafe { function(p) })
        }};
    }
    Ok(Api {
        d2i_pkcs12: required!("d2i_PKCS12"),
        pkcs12_parse: required!("PKCS12_parse"),
        pkcs12_free: required!("PKCS12_free"),
        i2d_x509: required!("i2d_X509"),
        x509_free: required!("X509_free"),
        evp_pkey_free: required!("EVP_PKEY_free"),
        evp_pkey2pkcs8: required!("EVP_PKEY2PKCS8"),
        i2d_pkcs8: required!("i2d_PKCS8_PRIV_KEY_INFO"),
        pkcs8_free: required!("PKCS8_PRIV_KEY_INFO_free"),
        sk_num: required!("OPENSSL_sk_num"),
        sk_value: required!("OPENSSL_sk_value"),
        sk_pop_free: required!("OPENSSL_sk_pop_free"),
        err_get_error: required!("ERR_get_error"),
        err_error_string_n: required!("ERR_error_string_n"),
        lib_ctx_new: optional!("OSSL_LIB_CTX_new"),
        lib_ctx_set0_default: optional!("OSSL_LIB_CTX_set0_default"),
        provider_load: optional!("OSSL_PROVIDER_load"),
    })
}

/// A library context with OpenSSL's `default` and `legacy` providers, made once (and kept: the
/// providers stay loaded); None when the library or the `legacy` provider is not there.
struct LegacyContext(*mut c_void);

// The context is only handed to libcrypto, which locks it.
unsafe impl Send for LegacyContext {}
unsafe impl Sync for LegacyContext {}

static LEGACY: OnceCell<Option<LegacyContext>> = OnceCell::new();

fn legacy_context(api: &Api) -> Option<*mut c_void> {
    let made = LEGACY.get_or_init(|| {
        let (new, load) = (api.lib_ctx_new?, api.provider_load?);
        // SAFETY: a new context, and providers loaded into it by NUL-terminated names.
        unsafe {
            let ctx = new();
            if ctx.is_null() {
                return None;
            }
            let default = load(ctx, c"default".as_ptr());
            let legacy = load(ctx, c"legacy".as_ptr());
            (!default.is_null() && !legacy.is_null()).then_some(LegacyContext(ctx))
        }
    });
    made.as_ref().map(|c| c.0)
}

/// PKCS12_parse in `ctx`, made this thread's default library context for the call.
///
/// # Safety
/// `p12` is a valid PKCS12 object and the out-pointers are NULL; `ctx` a valid library context.
unsafe fn parse_in(api: &Api, ctx: *mut c_void, p12: *mut c_void, pass: *const c_char, key: &mut *mut c_void, cert: &mut *mut c_void, ca: &mut *mut c_void) -> c_int {
    let Some(set_default) = api.lib_ctx_set0_default else { return 0 };
    let previous = set_default(ctx);
    let ok = (api.pkcs12_parse)(p12, pass, key, cert, ca);
    set_default(previous);
    ok
}

/// What libcrypto's error queue says (the oldest error, e.g. "mac verify failure"), emptied.
fn library_error(api: &Api) -> String {
    let mut first = None;
    loop {
        // SAFETY: reads and pops this thread's error queue.
        let code = unsafe { (api.err_get_error)() };
        if code == 0 {
            break;
        }
        if first.is_none() {
            let mut buffer = [0 as c_char; 256];
            // SAFETY: the buffer and its length; the library NUL-terminates within it.
            unsafe { (api.err_error_string_n)(code, buffer.as_mut_ptr(), buffer.len()) };
            // SAFETY: NUL-terminated by ERR_error_string_n.
            first = Some(unsafe { std::ffi::CStr::from_ptr(buffer.as_ptr()) }.to_string_lossy().into_owned());
        }
    }
    first.unwrap_or_else(|| "no reason given".into())
}

/// DER of an object through its `i2d_*` function (None when it cannot be encoded).
fn encode(i2d: I2d, object: *mut c_void) -> Option<Vec<u8>> {
    // SAFETY: with a NULL output pointer, i2d only returns the length.
    let length = unsafe { i2d(object, ptr::null_mut()) };
    let length = usize::try_from(length).ok().filter(|n| *n > 0)?;
    let mut der = vec![0u8; length];
    let mut cursor = der.as_mut_ptr();
    // SAFETY: the buffer holds the length i2d reported; it writes there and advances the cursor.
    let written = unsafe { i2d(object, &mut cursor) };
    (usize::try_from(written).ok() == Some(length)).then_some(der)
}

/// Objects libcrypto gave out, freed when this goes out of scope.
struct Owned<'a> {
    api: &'a Api,
    p12: *mut c_void,
    key: *mut c_void,
    cert: *mut c_void,
    ca: *mut c_void,
    pkcs8: *mut c_void,
}

impl Drop for Owned<'_> {
    fn drop(&mut self) {
        // SAFETY: each pointer is NULL or an object of that type this code owns; each is freed once.
        unsafe {
            if !self.pkcs8.is_null() {
                (self.api.pkcs8_free)(self.pkcs8);
            }
            if !self.key.is_null() {
                (self.api.evp_pkey_free)(self.key);
            }
            if !self.cert.is_null() {
                (self.api.x509_free)(self.cert);
            }
            if !self.ca.is_null() {
                (self.api.sk_pop_free)(self.ca, self.api.x509_free);
            }
            if !self.p12.is_null() {
                (self.api.pkcs12_free)(self.p12);
            }
        }
    }
}

/// What a PKCS#12 file holds: its certificates (DER; the one its key belongs to first) and its
/// private key (PKCS#8 DER), if any. Debug is not offered: the key is secret.
pub struct Contents {
    /// The certificates, DER.
    pub certificates: Vec<Vec<u8>>,
    /// The private key, PKCS#8 DER.
    pub key: Option<Vec<u8>>,
}

/// Opens a PKCS#12 file's bytes with `password` (None: no password or the empty one, as .NET's
/// X509Store writes them): its [`Contents`]. `source` names the file in messages.
/// Errors: NotSupported without the system libcrypto; InvalidArgument for bytes that are not PKCS#12,
/// a wrong password or an algorithm the library does not offer (with libcrypto's reason and how to
/// convert the file to PEM).
pub fn parse(bytes: &[u8], password: Option<&str>, source: &str) -> Result<Contents> {
    let api = api()?;
    let password = password
        .map(|p| CString::new(p).map_err(|_| Error::new(ErrorKind::InvalidArgument, "A certificate password cannot hold a NUL character")))
        .transpose()?;
    let length = c_long::try_from(bytes.len()).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("The certificate file {source} is too large")))?;
    let mut owned = Owned { api, p12: ptr::null_mut(), key: ptr::null_mut(), cert: ptr::null_mut(), ca: ptr::null_mut(), pkcs8: ptr::null_mut() };
    let mut cursor = bytes.as_ptr();
    // SAFETY: the cursor covers `length` readable bytes.
    owned.p12 = unsafe { (api.d2i_pkcs12)(ptr::null_mut(), &mut cursor, length) };
    let failed = |what: &str| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "The certificate file {source} {what} ({}); convert it to PEM with: openssl pkcs12 -in {source} -out file.pem -nodes (add -legacy for old RC2-encrypted files)",
                library_error(api)
            ),
        )
    };
    if owned.p12.is_null() {
        return Err(failed("is neither PEM nor PKCS#12 (.pfx)"));
    }
    let pass = password.as_ref().map_or(ptr::null(), |p| p.as_ptr());
    // SAFETY: a valid PKCS12 object; the out-pointers receive objects this code then owns.
    let mut ok = unsafe { (api.pkcs12_parse)(owned.p12, pass, &mut owned.key, &mut owned.cert, &mut owned.ca) };
    if ok != 1 {
        if let Some(ctx) = legacy_context(api) {
            // OpenSSL 3 leaves the outputs NULL when it fails; the queue's reason is that of the retry.
            library_error(api);
            // SAFETY: as above, with the outputs NULL again and a valid context.
            ok = unsafe { parse_in(api, ctx, owned.p12, pass, &mut owned.key, &mut owned.cert, &mut owned.ca) };
        }
    }
    if ok != 1 {
        return Err(failed("cannot be opened without the right password, or uses an algorithm the system libcrypto does not offer"));
    }
    let mut certificates = Vec::new();
    if !owned.cert.is_null() {
        certificates.push(encode(api.i2d_x509, owned.cert).ok_or_else(|| failed("holds a certificate that cannot be encoded"))?);
    }
    if !owned.ca.is_null() {
        // SAFETY: a valid stack of X509 objects.
        let n = unsafe { (api.sk_num)(owned.ca) };
        for i in 0..n.max(0) {
            // SAFETY: an index within the stack; the stack keeps ownership.
            let x509 = unsafe { (api.sk_value)(owned.ca, i) };
            certificates.push(encode(api.i2d_x509, x509).ok_or_else(|| failed("holds a certificate that cannot be encoded"))?);
        }
    }
    let key = if owned.key.is_null() {
        None
    } else {
        // SAFETY: a valid EVP_PKEY; the result is owned (freed by Owned).
        owned.pkcs8 = unsafe { (api.evp_pkey2pkcs8)(owned.key) };
        if owned.pkcs8.is_null() {
            return Err(failed("holds a private key that cannot be encoded as PKCS#8"));
        }
        Some(encode(api.i2d_pkcs8, owned.pkcs8).ok_or_else(|| failed("holds a private key that cannot be encoded as PKCS#8"))?)
    };
    Ok(Contents { certificates, key })
}
