//! A TLS client certificate (RFC 8446 §4.4.2, RFC 5246 §7.4.6) with its private key, read from a PEM
//! file (RFC 7468: `CERTIFICATE`, and a `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
//! `EC PRIVATE KEY` (SEC1) block) or a PKCS#12 (.pfx) file (through the system libcrypto,
//! [`super::pkcs12`]), and named by its thumbprint as Windows names it: the SHA-1 digest of the DER
//! certificate in hexadecimal.
//!
//! The key is checked against the certificate when it is read (a test message signed with the key
//! must verify with the certificate's public key), so a mismatch is found before any connection.
//! The key never appears in Debug output or errors; no cryptography is done here (ring, rustls and
//! webpki do the digest, the signature and its check).

use std::fmt;
use std::path::Path;

use rustls::{Certificate, PrivateKey, SignatureScheme};

use super::pkcs12;
use crate::error::{Error, ErrorKind, Result};

/// A client certificate chain and its private key, ready for rustls. Debug shows the thumbprint and
/// where it came from, never the key. Cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct ClientCertificate {
    /// The SHA-1 thumbprint of the end-entity certificate, 40 upper-case hexadecimal digits.
    thumbprint: String,
    /// The end-entity certificate first, then any others the file held (DER).
    chain: Vec<Certificate>,
    /// The private key of the end-entity certificate (DER: PKCS#8, PKCS#1 or SEC1).
    key: PrivateKey,
    /// The file it was read from, for messages.
    source: String,
}

impl PartialEq for ClientCertificate {
    fn eq(&self, other: &Self) -> bool {
        self.thumbprint == other.thumbprint && self.chain == other.chain && self.key.0 == other.key.0
    }
}

impl Eq for ClientCertificate {}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate").field("thumbprint", &self.thumbprint).field("source", &self.source).finish_non_exhaustive()
    }
}

/// The thumbprint of a DER certificate as Windows shows it: SHA-1 of the DER bytes, 40 upper-case
/// hexadecimal digits.
pub fn thumbprint_of(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

/// A thumbprint as a user may write it (any case, with spaces, colons or the invisible marks that
/// Windows' certificate dialog copies along) in the form [`thumbprint_of`] gives.
/// Errors: InvalidArgument when what remains is not 40 hexadecimal digits.
pub fn normalize_thumbprint(text: &str) -> Result<String> {
    let digits: String = text
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == ':' || matches!(c, '\u{200e}' | '\u{200f}' | '\u{feff}')))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if digits.len() != 40 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("'{}' is not a certificate thumbprint (40 hexadecimal digits, the SHA-1 of the certificate)", text.trim()),
        ));
    }
    Ok(digits)
}

impl ClientCertificate {
    /// Reads a certificate file: PKCS#12 when it starts as DER (a SEQUENCE, as .pfx files do), else
    /// PEM. `wanted`: the thumbprint ([`normalize_thumbprint`]'s form) the end-entity certificate must
    /// have (None: the certificate that matches the key). `password`: a PKCS#12 file's password (None:
    /// none, or the empty one). Errors: Io when the file cannot be read; InvalidArgument when it holds
    /// no certificate, no key, no certificate with the wanted thumbprint, or a key that does not match
    /// the certificate; and [`pkcs12::parse`]'s errors. Messages name the file, never key material.
    pub fn from_file(path: &Path, wanted: Option<&str>, password: Option<&str>) -> Result<ClientCertificate> {
        let source = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| Error::new(ErrorKind::Io, format!("The certificate file {source} cannot be read: {e}")))?;
        if bytes.first() == Some(&0x30) {
            let contents = pkcs12::parse(&bytes, password, &source)?;
            let key = contents.key.ok_or_else(|| no_key(&source))?;
            return Self::from_parts(contents.certificates, key, wanted, &source);
        }
        Self::from_pem(&bytes, wanted, &source)
    }

    /// Reads PEM text: its certificates and its one private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`); other blocks are ignored. `source` names it in messages.
    /// Errors: InvalidArgument as [`ClientCertificate::from_file`] says, and for text that is not PEM,
    /// that holds more than one key, or whose key is encrypted (`ENCRYPTED PRIVATE KEY`).
    pub fn from_pem(bytes: &[u8], wanted: Option<&str>, source: &str) -> Result<ClientCertificate> {
        let items = rustls_pemfile::read_all(&mut &bytes[..])
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("The certificate file {source} is not valid PEM: {e}")))?;
        let mut certificates = Vec::new();
        let mut keys = Vec::new();
        for item in items {
            match item {
                rustls_pemfile::Item::X509Certificate(der) => certificates.push(der),
                rustls_pemfile::Item::PKCS8Key(der) | rustls_pemfile::Item::RSAKey(der) | rustls_pemfile::Item::ECKey(der) => keys.push(der),
                _ => {}
            }
        }
        if keys.len() > 1 {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("The certificate file {source} holds {} private keys; keep only the certificate's own", keys.len())));
        }
        let encrypted = |marker: &[u8]| bytes.windows(marker.len()).any(|w| w == marker);
        if keys.is_empty() && (encrypted(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || encrypted(b"Proc-Type: 4,ENCRYPTED")) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("The private key in {source} is encrypted; store it decrypted (openssl pkey -in {source} -out key.pem) in a file only you can read"),
            ));
        }
        let key = keys.pop().ok_or_else(|| no_key(source))?;
        Self::from_parts(certificates, key, wanted, source)
    }

    /// A client certificate of `certificates` (DER) and `key` (DER): the end-entity certificate is
    /// the one with the `wanted` thumbprint, else the one the key matches; the others follow it as
    /// its chain. Errors: InvalidArgument (no certificates, none with the thumbprint, a key rustls
    /// cannot use, a key that matches no certificate or not the wanted one).
    pub fn from_parts(certificates: Vec<Vec<u8>>, key: Vec<u8>, wanted: Option<&str>, source: &str) -> Result<ClientCertificate> {
        if certificates.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("The certificate file {source} holds no certificate (PEM 'CERTIFICATE' block)")));
        }
        let key = PrivateKey(key);
        let signer = rustls::sign::any_supported_type(&key).map_err(|_| {
            Error::new(ErrorKind::InvalidArgument, format!("The private key in {source} is not an RSA, ECDSA (P-256, P-384) or Ed25519 key TLS can use"))
        })?;
        let index = match wanted {
            Some(thumbprint) => {
                let i = certificates.iter().position(|c| thumbprint_of(c) == thumbprint).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidArgument, format!("The certificate file {source} holds no certificate with the thumbprint {thumbprint}"))
                })?;
                if !key_matches(&*signer, &certificates[i]) {
                    return Err(mismatch(source, thumbprint));
                }
                i
            }
            None => certificates.iter().position(|c| key_matches(&*signer, c)).ok_or_else(|| {
                Error::new(ErrorKind::InvalidArgument, format!("The private key in {source} does not belong to any certificate in it"))
            })?,
        };
        let mut ordered = certificates;
        let end_entity = ordered.remove(index);
        let thumbprint = thumbprint_of(&end_entity);
        let chain = std::iter::once(end_entity).chain(ordered).map(Certificate).collect();
        Ok(ClientCertificate { thumbprint, chain, key, source: source.to_string() })
    }

    /// The end-entity certificate's thumbprint (40 upper-case hexadecimal digits).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The file it was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The chain to send: the end-entity certificate first (DER).
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The private key (DER), for rustls only.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }
}

/// The error for a file without a private key.
fn no_key(source: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "The certificate file {source} holds no private key; client authentication needs the certificate's key in the same file \
             (PEM 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY' block, or a .pfx with its key)"
        ),
    )
}

/// The error for a key that is not the certificate's.
fn mismatch(source: &str, thumbprint: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("The private key in {source} does not belong to the certificate {thumbprint}"))
}

/// The signature schemes tried when checking a key, with the webpki algorithm that verifies each.
const SCHEMES: [(SignatureScheme, &webpki::SignatureAlgorithm); 4] = [
    (SignatureScheme::ECDSA_NISTP256_SHA256, &webpki::ECDSA_P256_SHA256),
    (SignatureScheme::ECDSA_NISTP384_SHA384, &webpki::ECDSA_P384_SHA384),
    (SignatureScheme::ED25519, &webpki::ED25519),
    (SignatureScheme::RSA_PKCS1_SHA256, &webpki::RSA_PKCS1_2048_8192_SHA256),
];

/// Whether `signer`'s key belongs to the certificate `der`: a fixed message it signs verifies with
/// the certificate's public key (webpki). False for a certificate webpki cannot read.
fn key_matches(signer: &dyn rustls::sign::SigningKey, der: &[u8]) -> bool {
    let offered: Vec<SignatureScheme> = SCHEMES.iter().map(|(s, _)| *s).collect();
    let Some(signing) = signer.choose_scheme(&offered) else { return false };
    let Some((_, algorithm)) = SCHEMES.iter().find(|(s, _)| *s == signing.scheme()) else { return false };
    let message = b"RemoteSessions: does this key belong to this certificate?";
    let Ok(signature) = signing.sign(message) else { return false };
    webpki::EndEntityCert::try_from(der).is_ok_and(|cert| cert.verify_signature(algorithm, message, &signature).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_normalized_as_windows_shows_them() {
        let t = "a9 4a 8f e5 cc b1 9b a6 1c 4c 08 73 d3 91 e9 87 98 2f bb d3";
        assert_eq!(normalize_thumbprint(t).unwrap(), "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3");
        assert_eq!(normalize_thumbprint("\u{200e}a94a8fe5ccb19ba61c4c0873d391e987982fbbd3").unwrap(), "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3");
        for bad in ["", "abc", "g94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3ff"] {
            assert_eq!(normalize_thumbprint(bad).unwrap_err().kind, ErrorKind::InvalidArgument, "{bad:?}");
        }
        // SHA-1("test"), the FIPS 180 style check value.
        assert_eq!(thumbprint_of(b"test"), "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3");
    }

    #[test]
    fn pem_without_key_or_certificate_is_refused_by_name() {
        let e = ClientCertificate::from_pem(b"nothing here", None, "/x/a.pem").unwrap_err();
        assert!(e.message.contains("/x/a.pem") && e.message.contains("no private key"), "{}", e.message);
        let cert_only = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        let e = ClientCertificate::from_pem(cert_only, None, "c.pem").unwrap_err();
        assert!(e.message.contains("no private key"), "{}", e.message);
        let encrypted = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = ClientCertificate::from_pem(encrypted, None, "e.pem").unwrap_err();
        assert!(e.message.contains("e.pem") && e.message.contains("encrypted"), "{}", e.message);
        let key_only = b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
        let e = ClientCertificate::from_pem(key_only, None, "k.pem").unwrap_err();
        assert!(e.message.contains("no certificate"), "{}", e.message);
    }
}
