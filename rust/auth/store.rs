//! The per-user certificate store: where New-CimSession -CertificateThumbprint finds a client
//! certificate and its key by thumbprint. Searched in this order, each folder without its subfolders:
//! 1. RemoteSessions' folder: the one the caller names (the module passes PowerShell's
//!    `$env:RSESS_CERTIFICATE_STORE`, which getenv(3) does not see once changed in a running pwsh),
//!    else `$RSESS_CERTIFICATE_STORE` when set, else
//!    `$XDG_CONFIG_HOME/RemoteSessions/certificates`, else `~/.config/RemoteSessions/certificates`;
//! 2. .NET's CurrentUser\My store on Linux and macOS, `~/.dotnet/corefx/cryptography/x509stores/my`,
//!    where `[X509Store]::new('My', 'CurrentUser').Add($certificateWithKey)` writes `<THUMBPRINT>.pfx`.
//!
//! A file serves when it holds the certificate with that thumbprint and its private key: PEM
//! (`.pem`, `.crt`, `.cer`, `.key`: the certificate, any chain, and the key) or PKCS#12 without a
//! password (`.pfx`, `.p12`, read through the system libcrypto). A file named `<THUMBPRINT>.<ext>`
//! is taken first; other files are opened to read their certificates' thumbprints.

use std::path::{Path, PathBuf};

use super::certificate::{normalize_thumbprint, thumbprint_of, ClientCertificate};
use super::pkcs12;
use crate::error::{Error, ErrorKind, Result};

/// The environment variable that names RemoteSessions' certificate folder.
pub const STORE_VARIABLE: &str = "RSESS_CERTIFICATE_STORE";

/// The file name extensions read as PEM.
const PEM_EXTENSIONS: &[&str] = &["pem", "crt", "cer", "key"];
/// The file name extensions read as PKCS#12.
const PFX_EXTENSIONS: &[&str] = &["pfx", "p12"];

/// The folders searched, in order (see the module documentation), the first being `store` when
/// given; a folder that cannot be named (no HOME) is left out.
pub fn folders(store: Option<&Path>) -> Vec<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = env("HOME");
    let mut folders = Vec::new();
    if let Some(store) = store.map(Path::to_path_buf).or_else(|| env(STORE_VARIABLE)) {
        folders.push(store);
    } else if let Some(config) = env("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config"))) {
        folders.push(config.join("RemoteSessions").join("certificates"));
    }
    if let Some(home) = home {
        folders.push(home.join(".dotnet/corefx/cryptography/x509stores/my"));
    }
    folders
}

/// The client certificate with `thumbprint` (as a user writes it: see [`normalize_thumbprint`])
/// and its key, from the first file of [`folders`]`(store)` that holds both.
/// Errors: InvalidArgument for a malformed thumbprint; NotFound when no file holds it (the message
/// lists the folders searched); when files hold the certificate but none serves, the error of
/// [`ClientCertificate::from_file`] for the first of them (no key, a key that does not match).
pub fn find(thumbprint: &str, store: Option<&Path>) -> Result<ClientCertificate> {
    find_in(&folders(store), thumbprint)
}

/// [`find`] in `folders`.
pub fn find_in(folders: &[PathBuf], thumbprint: &str) -> Result<ClientCertificate> {
    let wanted = normalize_thumbprint(thumbprint)?;
    // The first file that held the certificate but did not serve (e.g. no key), and why.
    let mut failure = None;
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(folder) else { continue };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| kind(p).is_some() && p.is_file()).collect();
        // The file named after the thumbprint first, then the others in name order.
        files.sort_by_key(|p| (stem(p) != wanted, p.clone()));
        for file in files {
            if stem(&file) == wanted || holds(&file, &wanted) {
                match ClientCertificate::from_file(&file, Some(&wanted), None) {
                    Ok(found) => return Ok(found),
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let searched: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "No certificate with the thumbprint {wanted} was found in {}. Put the certificate and its private key in one PEM or .pfx file \
             there (the RemoteSessions folder can be set with ${STORE_VARIABLE})",
            searched.join(", ")
        ),
    ))
}

/// How a file is read, by its extension: Some(true) PEM, Some(false) PKCS#12, None not at all.
fn kind(path: &Path) -> Option<bool> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if PEM_EXTENSIONS.contains(&ext.as_str()) {
        Some(true)
    } else if PFX_EXTENSIONS.contains(&ext.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// A file's name without its extension, upper-case.
fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().to_ascii_uppercase()).unwrap_or_default()
}

/// Whether the file holds a certificate with the thumbprint `wanted` (files that cannot be read or
/// opened without a password hold none as far as the search goes).
fn holds(path: &Path, wanted: &str) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    let certificates = if kind(path) == Some(true) && bytes.first() != Some(&0x30) {
        rustls_pemfile::certs(&mut &bytes[..]).unwrap_or_default()
    } else {
        pkcs12::parse(&bytes, None, &path.display().to_string()).map(|c| c.certificates).unwrap_or_default()
    };
    certificates.iter().any(|c| thumbprint_of(c) == wanted)
}
