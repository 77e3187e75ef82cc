//! Credentials that are TLS client certificates (New-CimSession -CertificateThumbprint): from a file,
//! or found by thumbprint in the per-user certificate store.

use std::ffi::c_char;
use std::path::Path;
use std::sync::Arc;

use super::call::{guard, opt_str, out_ptr, req_str, rsess_error, write};
use super::handles;
use super::result::rsess_result;
use super::session::rsess_credential;
use crate::auth::certificate::ClientCertificate;
use crate::auth::{store, Authentication, Credential};

/// Stores a credential that authenticates with `certificate` in `*out`.
fn certificate_credential(certificate: ClientCertificate, out: *mut *mut rsess_credential) {
    let credential = Credential::from_certificate(Arc::new(certificate));
    write(out, handles::insert::<rsess_credential>((Some(credential), Authentication::Default)));
}

/// Makes a credential in `*out` that authenticates with a TLS client certificate and its private key,
/// read from the file at `path` now: PEM (the certificate, optionally its chain, and its key as a
/// `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block, in any order) or PKCS#12 (.pfx, read
/// through the system's OpenSSL 3 libcrypto.so.3, loaded when first needed) opened with `password`
/// (NULL: none or the empty one; ignored for PEM). A session made with it sends the certificate in
/// the TLS handshake and `Authorization:
/// http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual` (DSP0226), whatever
/// mechanism is asked for, and only over HTTPS (`rsess_cim_session_new` fails with INVALID_ARGUMENT
/// without `RSESS_OPTION_USE_SSL`). Free it with `rsess_credential_free`.
/// Errors: NULL_ARGUMENT (`path`, `out`); IO (the file cannot be read); INVALID_ARGUMENT (bad UTF-8, a
/// file without a certificate or without a private key, a key that belongs to none of its
/// certificates, a key type TLS cannot use, a .pfx that does not open with `password`);
/// NOT_SUPPORTED (a .pfx without the system libcrypto). Messages name the file, never key material.
#[no_mangle]
pub extern "C" fn rsess_credential_new_certificate_file(
    path: *const c_char,
    password: *const c_char,
    out: *mut *mut rsess_credential,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let path = req_str(path, "path")?;
        let certificate = ClientCertificate::from_file(Path::new(path), None, opt_str(password)?)?;
        certificate_credential(certificate, out);
        Ok(())
    })
}

/// Makes a credential in `*out` like `rsess_credential_new_certificate_file`, from the certificate
/// whose SHA-1 thumbprint is `thumbprint` (40 hexadecimal digits as Windows shows them; case, spaces
/// and colons do not matter), found now in the per-user certificate store: first `store_folder`
/// (NULL: the folder named by the environment variable `RSESS_CERTIFICATE_STORE`), else `$XDG_CONFIG_HOME/RemoteSessions/certificates`,
/// else `~/.config/RemoteSessions/certificates`; then .NET's CurrentUser\My store,
/// `~/.dotnet/corefx/cryptography/x509stores/my` (`<THUMBPRINT>.pfx` files). A file there serves when
/// it holds that certificate and its key: PEM (`.pem`, `.crt`, `.cer`, `.key`) or .pfx/.p12 without a
/// password. Free it with `rsess_credential_free`.
/// Errors: NULL_ARGUMENT; INVALID_ARGUMENT (not a thumbprint, bad UTF-8, and the file errors of
/// `rsess_credential_new_certificate_file` for the file that holds the certificate); NOT_FOUND (no
/// file holds it: the message lists the folders searched).
#[no_mangle]
pub extern "C" fn rsess_credential_new_certificate_thumbprint(
    thumbprint: *const c_char,
    store_folder: *const c_char,
    out: *mut *mut rsess_credential,
    err: *mut *mut rsess_error,
) -> rsess_result {
    guard(err, || {
        let out = out_ptr(out)?;
        let certificate = store::find(req_str(thumbprint, "thumbprint")?, opt_str(store_folder)?.map(Path::new))?;
        certificate_credential(certificate, out);
        Ok(())
    })
}
