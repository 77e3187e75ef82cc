//! The cryptography of PSRP's session key (MS-PSRP 3.1.5.4.2, 3.1.5.4.3, 2.2.5.1.24), done by the
//! system libcrypto loaded at run time (OpenSSL 3's `libcrypto.so.3`, or the library
//! `RSESS_LIBCRYPTO` names), as [`super::pkcs12`] does: nothing cryptographic is implemented here.
//!
//! - [`KeyPair`]: the client's ephemeral 2048-bit RSA key pair (`EVP_PKEY_generate`), its public half
//!   in the CAPI `PUBLICKEYBLOB` layout the PUBLIC_KEY message carries (2.2.2.1), and the unwrapping
//!   (`EVP_PKEY_decrypt`, PKCS#1 v1.5) of the session key the server sends in ENCRYPTED_SESSION_KEY
//!   (2.2.2.2) in the CAPI `SIMPLEBLOB` layout;
//! - [`SessionKey`]: the 256-bit AES key that encrypts a SecureString's UTF-16LE text (AES-256-CBC,
//!   PKCS#7 padding, an all-zero IV, as PowerShell does), zeroed when dropped.
//!
//! Neither type shows its key in `Debug`, and errors never carry key or plain-text bytes.

use std::ffi::{c_char, c_int, c_ulong, c_void};
use std::ptr;

use once_cell::sync::OnceCell;

use super::system_library::{function, Library};
use crate::error::{Error, ErrorKind, Result};

/// The library names tried in turn.
const LIBRARIES: &[&str] = &["libcrypto.so.3", "libcrypto.3.dylib", "libcrypto.dylib"];

/// The RSA modulus size, in bits.
const RSA_BITS: c_int = 2048;
/// The AES-256 key length.
pub const SESSION_KEY_LEN: usize = 32;
/// CAPI blob constants (MS-PSRP 2.2.2.1, 2.2.2.2; Windows' `BLOBHEADER`).
const PUBLICKEYBLOB: u8 = 0x06;
const SIMPLEBLOB: u8 = 0x01;
const CUR_BLOB_VERSION: u8 = 0x02;
const CALG_RSA_KEYX: u32 = 0x0000_A400;
const CALG_AES_256: u32 = 0x0000_6610;
/// `RSA1`: the magic of an `RSAPUBKEY`.
const RSA1: u32 = 0x3141_5352;
/// Header lengths: BLOBHEADER (8) + RSAPUBKEY (12); BLOBHEADER (8) + ALG_ID (4).
const PUBLICKEYBLOB_HEADER_LEN: usize = 20;
const SIMPLEBLOB_HEADER_LEN: usize = 12;
/// OpenSSL's `RSA_PKCS1_PADDING`.
const RSA_PKCS1_PADDING: c_int = 1;

type Ctx = *mut c_void;

/// The functions used, resolved once.
#[allow(clippy::type_complexity)]
struct Api {
    pkey_ctx_new_from_name: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> Ctx,
    pkey_ctx_new: unsafe extern "C" fn(*mut c_void, *mut c_void) -> Ctx,
    pkey_ctx_free: unsafe extern "C" fn(Ctx),
    keygen_init: unsafe extern "C" fn(Ctx) -> c_int,
    set_rsa_keygen_bits: unsafe extern "C" fn(Ctx, c_int) -> c_int,
    generate: unsafe extern "C" fn(Ctx, *mut *mut c_void) -> c_int,
    pkey_free: unsafe extern "C" fn(*mut c_void),
    get_bn_param: unsafe extern "C" fn(*const c_void, *const c_char, *mut *mut c_void) -> c_int,
    bn_num_bits: unsafe extern "C" fn(*const c_void) -> c_int,
    bn_bn2binpad: unsafe extern "C" fn(*const c_void, *mut u8, c_int) -> c_int,
    bn_free: unsafe extern "C" fn(*mut c_void),
    decrypt_init: unsafe extern "C" fn(Ctx) -> c_int,
    decrypt: unsafe extern "C" fn(Ctx, *mut u8, *mut usize, *const u8, usize) -> c_int,
    encrypt_init: unsafe extern "C" fn(Ctx) -> c_int,
    encrypt: unsafe extern "C" fn(Ctx, *mut u8, *mut usize, *const u8, usize) -> c_int,
    set_rsa_padding: unsafe extern "C" fn(Ctx, c_int) -> c_int,
    rand_bytes: unsafe extern "C" fn(*mut u8, c_int) -> c_int,
    cipher_ctx_new: unsafe extern "C" fn() -> Ctx,
    cipher_ctx_free: unsafe extern "C" fn(Ctx),
    aes_256_cbc: unsafe extern "C" fn() -> *const c_void,
    cipher_init: unsafe extern "C" fn(Ctx, *const c_void, *mut c_void, *const u8, *const u8, c_int) -> c_int,
    cipher_update: unsafe extern "C" fn(Ctx, *mut u8, *mut c_int, *const u8, c_int) -> c_int,
    cipher_final: unsafe extern "C" fn(Ctx, *mut u8, *mut c_int) -> c_int,
    cleanse: unsafe extern "C" fn(*mut c_void, usize),
    err_get_error: unsafe extern "C" fn() -> c_ulong,
}

// Plain code addresses of a library that is never unloaded.
unsafe impl Send for Api {}
unsafe impl Sync for Api {}

static API: OnceCell<std::result::Result<Api, String>> = OnceCell::new();

/// The library's functions, loaded on first use. Errors: NotSupported when the library is missing or
/// lacks a function.
fn api() -> Result<&'static Api> {
    API.get_or_init(load).as_ref().map_err(|text| Error::new(ErrorKind::NotSupported, text.clone()))
}

fn load() -> std::result::Result<Api, String> {
    let chosen = std::env::var("RSESS_LIBCRYPTO").ok().filter(|s| !s.is_empty());
    let library = Library::open(chosen.as_deref(), LIBRARIES)
        .map_err(|name| format!("Sending or reading a SecureString needs OpenSSL 3's {name} (Debian/Ubuntu: libssl3), which is not installed"))?;
    macro_rules! required {
        ($name:literal) => {{
            let p = library.symbol($name);
            if p.is_null() {
                return Err(format!("The system libcrypto has no function {}; OpenSSL 3 is needed for SecureStrings", $name));
            }
            // SAFETY: the symbol is the function of that name, whose C signature the field declares.
            unsafe { function(p) }
        }};
    }
    Ok(Api {
        pkey_ctx_new_from_name: required!("EVP_PKEY_CTX_new_from_name"),
        pkey_ctx_new: required!("EVP_PKEY_CTX_new"),
        pkey_ctx_free: required!("EVP_PKEY_CTX_free"),
        keygen_init: required!("EVP_PKEY_keygen_init"),
        set_rsa_keygen_bits: required!("EVP_PKEY_CTX_set_rsa_keygen_bits"),
        generate: required!("EVP_PKEY_generate"),
        pkey_free: required!("EVP_PKEY_free"),
        get_bn_param: required!("EVP_PKEY_get_bn_param"),
        bn_num_bits: required!("BN_num_bits"),
        bn_bn2binpad: required!("BN_bn2binpad"),
        bn_free: required!("BN_free"),
        decrypt_init: required!("EVP_PKEY_decrypt_init"),
        decrypt: required!("EVP_PKEY_decrypt"),
        encrypt_init: required!("EVP_PKEY_encrypt_init"),
        encrypt: required!("EVP_PKEY_encrypt"),
        set_rsa_padding: required!("EVP_PKEY_CTX_set_rsa_padding"),
        rand_bytes: required!("RAND_bytes"),
        cipher_ctx_new: required!("EVP_CIPHER_CTX_new"),
        cipher_ctx_free: required!("EVP_CIPHER_CTX_free"),
        aes_256_cbc: required!("EVP_aes_256_cbc"),
        cipher_init: required!("EVP_CipherInit_ex"),
        cipher_update: required!("EVP_CipherUpdate"),
        cipher_final: required!("EVP_CipherFinal_ex"),
        cleanse: required!("OPENSSL_cleanse"),
        err_get_error: required!("ERR_get_error"),
    })
}

/// Empties libcrypto's error queue of this thread (its text could name nothing secret, but the
/// errors here say only which step failed).
/// Errors: BadReply for what the server sent (a key or a SecureString that does not decrypt),
/// NotSupported for the library's own failures.
fn failed(api: &Api, what: &str) -> Error {
    // SAFETY: reads and pops this thread's error queue.
    while unsafe { (api.err_get_error)() } != 0 {}
    let kind = if what.starts_with("decrypt") { ErrorKind::BadReply } else { ErrorKind::NotSupported };
    Error::new(kind, format!("The system libcrypto could not {what}"))
}

/// Overwrites `bytes` with zeros in a way the compiler does not remove (OPENSSL_cleanse when the
/// library is loaded, else volatile writes).
pub fn wipe(bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    match API.get().and_then(|a| a.as_ref().ok()) {
        // SAFETY: the buffer and its length.
        Some(api) => unsafe { (api.cleanse)(bytes.as_mut_ptr().cast(), bytes.len()) },
        None => {
            for b in bytes.iter_mut() {
                // SAFETY: a valid, aligned byte of the slice.
                unsafe { ptr::write_volatile(b, 0) };
            }
            std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// An `EVP_PKEY_CTX`, freed when dropped.
struct PkeyCtx<'a>(&'a Api, Ctx);

impl Drop for PkeyCtx<'_> {
    fn drop(&mut self) {
        if !self.1.is_null() {
            // SAFETY: a context this code made, freed once.
            unsafe { (self.0.pkey_ctx_free)(self.1) }
        }
    }
}

/// The client's ephemeral RSA key pair (MS-PSRP 3.1.5.4.2). Not shown by `Debug`.
pub struct KeyPair {
    pkey: *mut c_void,
}

// An EVP_PKEY is only read after it is made; libcrypto locks what it shares.
unsafe impl Send for KeyPair {}
unsafe impl Sync for KeyPair {}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair(..)")
    }
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        if let Ok(api) = api() {
            // SAFETY: a key this code made, freed once (EVP_PKEY_free clears the private key).
            unsafe { (api.pkey_free)(self.pkey) }
        }
    }
}

impl KeyPair {
    /// A new 2048-bit RSA key pair. Errors: NotSupported (no libcrypto, or it failed).
    pub fn generate() -> Result<KeyPair> {
        let api = api()?;
        // SAFETY: a key generation context by algorithm name; each call checks its result.
        unsafe {
            let ctx = PkeyCtx(api, (api.pkey_ctx_new_from_name)(ptr::null_mut(), c"RSA".as_ptr(), ptr::null()));
            if ctx.1.is_null() || (api.keygen_init)(ctx.1) <= 0 || (api.set_rsa_keygen_bits)(ctx.1, RSA_BITS) <= 0 {
                return Err(failed(api, "prepare an RSA key generation"));
            }
            let mut pkey = ptr::null_mut();
            if (api.generate)(ctx.1, &mut pkey) <= 0 || pkey.is_null() {
                return Err(failed(api, "generate an RSA key pair"));
            }
            Ok(KeyPair { pkey })
        }
    }

    /// A parameter of the key (`n`, `e`) as big-endian bytes, `len` long (None: its own length).
    fn number(&self, api: &Api, name: &std::ffi::CStr, len: Option<usize>) -> Result<Vec<u8>> {
        // SAFETY: reads a BIGNUM copy of a public parameter, frees it once.
        unsafe {
            let mut bn = ptr::null_mut();
            if (api.get_bn_param)(self.pkey, name.as_ptr(), &mut bn) <= 0 || bn.is_null() {
                return Err(failed(api, "read the RSA public key"));
            }
            let len = len.unwrap_or(((api.bn_num_bits)(bn) as usize).div_ceil(8));
            let mut out = vec![0u8; len];
            let written = (api.bn_bn2binpad)(bn, out.as_mut_ptr(), len as c_int);
            (api.bn_free)(bn);
            if written != len as c_int {
                return Err(failed(api, "write the RSA public key"));
            }
            Ok(out)
        }
    }

    /// The public key as a CAPI `PUBLICKEYBLOB` (MS-PSRP 2.2.2.1): BLOBHEADER (type 6, version 2,
    /// CALG_RSA_KEYX), RSAPUBKEY (`RSA1`, the bit length, the public exponent) and the modulus,
    /// all little-endian. Errors: NotSupported.
    pub fn public_key_blob(&self) -> Result<Vec<u8>> {
        let api = api()?;
        let modulus = self.number(api, c"n", Some(RSA_BITS as usize / 8))?;
        let exponent = self.number(api, c"e", None)?;
        if exponent.len() > 4 {
            return Err(Error::new(ErrorKind::NotSupported, "The RSA public exponent does not fit a CAPI key blob"));
        }
        let exponent = exponent.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        let mut blob = Vec::with_capacity(PUBLICKEYBLOB_HEADER_LEN + modulus.len());
        blob.extend_from_slice(&[PUBLICKEYBLOB, CUR_BLOB_VERSION, 0, 0]);
        blob.extend_from_slice(&CALG_RSA_KEYX.to_le_bytes());
        blob.extend_from_slice(&RSA1.to_le_bytes());
        blob.extend_from_slice(&(RSA_BITS as u32).to_le_bytes());
        blob.extend_from_slice(&exponent.to_le_bytes());
        blob.extend(modulus.iter().rev());
        Ok(blob)
    }

    /// The AES-256 session key from a CAPI `SIMPLEBLOB` (MS-PSRP 2.2.2.2): a 12-byte header, then
    /// the key RSA-encrypted with this pair's public key (PKCS#1 v1.5), little-endian.
    /// Errors: BadReply for a blob that is not one or does not decrypt to a 256-bit key.
    pub fn open_session_key(&self, blob: &[u8]) -> Result<SessionKey> {
        let api = api()?;
        if blob.len() <= SIMPLEBLOB_HEADER_LEN || blob[0] != SIMPLEBLOB {
            return Err(Error::new(ErrorKind::BadReply, "The server's encrypted session key is not a CAPI SIMPLEBLOB"));
        }
        let encrypted: Vec<u8> = blob[SIMPLEBLOB_HEADER_LEN..].iter().rev().copied().collect();
        let mut out = vec![0u8; encrypted.len().max(512)];
        let mut len = out.len();
        // SAFETY: a decryption context on this key; the output buffer and its length.
        let ok = unsafe {
            let ctx = PkeyCtx(api, (api.pkey_ctx_new)(self.pkey, ptr::null_mut()));
            !ctx.1.is_null()
                && (api.decrypt_init)(ctx.1) > 0
                && (api.set_rsa_padding)(ctx.1, RSA_PKCS1_PADDING) > 0
                && (api.decrypt)(ctx.1, out.as_mut_ptr(), &mut len, encrypted.as_ptr(), encrypted.len()) > 0
        };
        let result = if !ok {
            Err(failed(api, "decrypt the server's session key"))
        } else if len != SESSION_KEY_LEN {
            Err(Error::new(ErrorKind::BadReply, "The server's session key is not a 256-bit AES key"))
        } else {
            let mut key = [0u8; SESSION_KEY_LEN];
            key.copy_from_slice(&out[..SESSION_KEY_LEN]);
            Ok(SessionKey(key))
        };
        wipe(&mut out);
        result
    }

    /// What a server does with the PUBLIC_KEY (3.2.5.4.2), for tests: a new random session key and
    /// its `SIMPLEBLOB`, encrypted with this pair's public key. Errors: NotSupported.
    pub fn seal_new_session_key(&self) -> Result<(SessionKey, Vec<u8>)> {
        let api = api()?;
        let mut key = SessionKey([0u8; SESSION_KEY_LEN]);
        let mut out = vec![0u8; 512];
        let mut len = out.len();
        // SAFETY: random bytes into the key; an encryption context on this key and the buffers.
        let ok = unsafe {
            let ctx = PkeyCtx(api, (api.pkey_ctx_new)(self.pkey, ptr::null_mut()));
            (api.rand_bytes)(key.0.as_mut_ptr(), SESSION_KEY_LEN as c_int) > 0
                && !ctx.1.is_null()
                && (api.encrypt_init)(ctx.1) > 0
                && (api.set_rsa_padding)(ctx.1, RSA_PKCS1_PADDING) > 0
                && (api.encrypt)(ctx.1, out.as_mut_ptr(), &mut len, key.0.as_ptr(), SESSION_KEY_LEN) > 0
        };
        if !ok {
            return Err(failed(api, "encrypt a session key"));
        }
        let mut blob = vec![SIMPLEBLOB, CUR_BLOB_VERSION, 0, 0];
        blob.extend_from_slice(&CALG_AES_256.to_le_bytes());
        blob.extend_from_slice(&CALG_RSA_KEYX.to_le_bytes());
        blob.extend(out[..len].iter().rev());
        Ok((key, blob))
    }
}

/// The AES-256 session key (MS-PSRP 3.1.5.4.3), zeroed when dropped; not shown by `Debug`.
pub struct SessionKey([u8; SESSION_KEY_LEN]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl SessionKey {
    /// `data` encrypted (`encrypt`) or decrypted with AES-256-CBC, PKCS#7 padding and an all-zero IV,
    /// as PowerShell encrypts a SecureString's text (2.2.5.1.24). A decryption's output is the
    /// caller's to wipe. Errors: NotSupported; BadReply when decrypting fails (e.g. bad padding:
    /// another key).
    fn cipher(&self, data: &[u8], encrypt: bool) -> Result<Vec<u8>> {
        let api = api()?;
        let len = c_int::try_from(data.len()).map_err(|_| Error::new(ErrorKind::InvalidArgument, "A SecureString too long to encrypt"))?;
        let iv = [0u8; 16];
        let mut out = vec![0u8; data.len() + 32];
        let (mut first, mut last) = (0 as c_int, 0 as c_int);
        // SAFETY: a cipher context, freed below; the key, IV and buffers with room for a block more.
        let ok = unsafe {
            let ctx = (api.cipher_ctx_new)();
            let ok = !ctx.is_null()
                && (api.cipher_init)(ctx, (api.aes_256_cbc)(), ptr::null_mut(), self.0.as_ptr(), iv.as_ptr(), c_int::from(encrypt)) > 0
                && (api.cipher_update)(ctx, out.as_mut_ptr(), &mut first, data.as_ptr(), len) > 0
                && (api.cipher_final)(ctx, out.as_mut_ptr().add(first as usize), &mut last) > 0;
            if !ctx.is_null() {
                (api.cipher_ctx_free)(ctx);
            }
            ok
        };
        if !ok {
            wipe(&mut out);
            return Err(failed(api, if encrypt { "encrypt a SecureString" } else { "decrypt a SecureString (wrong session key?)" }));
        }
        let total = (first + last) as usize;
        wipe(&mut out[total..]);
        out.truncate(total);
        Ok(out)
    }

    /// `plain` encrypted for a SecureString (its UTF-16LE text). Errors: NotSupported.
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>> {
        self.cipher(plain, true)
    }

    /// A SecureString's bytes decrypted (UTF-16LE text; the caller wipes them). Errors: BadReply.
    pub fn decrypt(&self, encrypted: &[u8]) -> Result<Vec<u8>> {
        self.cipher(encrypted, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_key_travels_in_capi_blobs_and_encrypts_as_powershell_does() {
        let pair = KeyPair::generate().unwrap();
        let blob = pair.public_key_blob().unwrap();
        assert_eq!(blob.len(), 20 + 256);
        assert_eq!(&blob[..16], &[6, 2, 0, 0, 0, 0xA4, 0, 0, b'R', b'S', b'A', b'1', 0, 8, 0, 0]);
        assert_eq!(&blob[16..20], &65537u32.to_le_bytes());
        assert!(blob[20 + 255] & 0x80 != 0, "the modulus' top byte comes last");
        let (key, sealed) = pair.seal_new_session_key().unwrap();
        assert_eq!(sealed.len(), 12 + 256);
        assert_eq!(&sealed[..12], &[1, 2, 0, 0, 0x10, 0x66, 0, 0, 0, 0xA4, 0, 0]);
        let opened = pair.open_session_key(&sealed).unwrap();
        assert_eq!(opened.0, key.0);
        let text: Vec<u8> = "p@ss".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let encrypted = opened.encrypt(&text).unwrap();
        assert_eq!(encrypted.len(), 16);
        assert_eq!(key.decrypt(&encrypted).unwrap(), text);
        assert_eq!(format!("{opened:?} {pair:?}"), "SessionKey(..) KeyPair(..)");
        // Another key: the padding does not check out (or, rarely, the text differs).
        let other = KeyPair::generate().unwrap().seal_new_session_key().unwrap().0;
        assert!(other.decrypt(&encrypted).map_or(true, |t| t != text));
        assert_eq!(pair.open_session_key(&[1, 2, 3]).unwrap_err().kind, ErrorKind::BadReply);
    }
}
