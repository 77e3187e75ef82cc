//! The DER messages of CredSSP (MS-CSSP 2.2.1), encoded and decoded with the `asn1` crate: the
//! TSRequest every leg carries, the TSCredentials/TSPasswordCreds that delegate a password, the
//! server certificate's SubjectPublicKey that `pubKeyAuth` binds to, and the names of the NTSTATUS
//! codes a server puts in `errorCode`. No I/O; malformed input is an error, never a panic. Debug
//! output of a [`TsRequest`] shows lengths, never tokens.
//!
//! ```text
//! TSRequest ::= SEQUENCE {
//!     version     [0] INTEGER,
//!     negoTokens  [1] NegoData OPTIONAL,        -- SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
//!     authInfo    [2] OCTET STRING OPTIONAL,
//!     pubKeyAuth  [3] OCTET STRING OPTIONAL,
//!     errorCode   [4] INTEGER OPTIONAL,         -- version 3 and later
//!     clientNonce [5] OCTET STRING OPTIONAL }   -- version 5 and later
//! TSCredentials ::= SEQUENCE { credType [0] INTEGER, credentials [1] OCTET STRING }
//! TSPasswordCreds ::= SEQUENCE { domainName [0] OCTET STRING, userName [1] OCTET STRING,
//!                                password [2] OCTET STRING }   -- each UTF-16LE
//! ```

use std::fmt;

use asn1::{ParseError, ParseResult, Parser, Sequence, SequenceOf, SequenceWriter, Tlv, Writer};

/// One CredSSP message (MS-CSSP 2.2.1 TSRequest).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TsRequest {
    /// The sender's protocol version (this client speaks 6).
    pub version: u32,
    /// SPNEGO tokens (NegoData), in order; usually one or none.
    pub nego_tokens: Vec<Vec<u8>>,
    /// The sealed TSCredentials (client's last message).
    pub auth_info: Option<Vec<u8>>,
    /// The sealed public-key proof (MS-CSSP 3.1.5).
    pub pub_key_auth: Option<Vec<u8>>,
    /// The server's failure, an NTSTATUS (or HRESULT) as an unsigned 32-bit value.
    pub error_code: Option<u32>,
    /// The client's 32-byte nonce (version 5 and later).
    pub client_nonce: Option<Vec<u8>>,
}

impl fmt::Debug for TsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsRequest")
            .field("version", &self.version)
            .field("nego_tokens", &self.nego_tokens.iter().map(Vec::len).collect::<Vec<_>>())
            .field("auth_info", &self.auth_info.as_ref().map(Vec::len))
            .field("pub_key_auth", &self.pub_key_auth.as_ref().map(Vec::len))
            .field("error_code", &self.error_code.map(|c| format!("{c:#010x}")))
            .field("client_nonce", &self.client_nonce.as_ref().map(Vec::len))
            .finish()
    }
}

impl TsRequest {
    /// The DER encoding.
    pub fn encode(&self) -> Vec<u8> {
        let written = asn1::write(|w| {
            w.write_element(&SequenceWriter::new(&|w: &mut Writer| {
                w.write_explicit_element(&self.version, 0)?;
                if !self.nego_tokens.is_empty() {
                    w.write_explicit_element(
                        &SequenceWriter::new(&|w: &mut Writer| {
                            for token in &self.nego_tokens {
                                w.write_element(&SequenceWriter::new(&|w: &mut Writer| w.write_explicit_element(&token.as_slice(), 0)))?;
                            }
                            Ok(())
                        }),
                        1,
                    )?;
                }
                if let Some(a) = &self.auth_info {
                    w.write_explicit_element(&a.as_slice(), 2)?;
                }
                if let Some(p) = &self.pub_key_auth {
                    w.write_explicit_element(&p.as_slice(), 3)?;
                }
                if let Some(c) = self.error_code {
                    // An NTSTATUS is a signed 32-bit value on the wire (0xC000006D is -1073741715).
                    w.write_explicit_element(&(c as i32 as i64), 4)?;
                }
                if let Some(n) = &self.client_nonce {
                    w.write_explicit_element(&n.as_slice(), 5)?;
                }
                Ok(())
            }))
        });
        // Writing into a Vec fails only when memory runs out.
        written.expect("DER writing into memory")
    }

    /// Reads one TSRequest (nothing may follow it).
    /// Errors: text saying what is malformed (never the bytes).
    pub fn decode(der: &[u8]) -> Result<TsRequest, String> {
        asn1::parse_single::<Sequence>(der)
            .and_then(|s| {
                s.parse(|p| {
                    let version = p.read_explicit_element::<u32>(0)?;
                    let nego_tokens = match p.read_optional_explicit_element::<SequenceOf<Sequence>>(1)? {
                        Some(list) => list.map(|item| item.parse(|p| p.read_explicit_element::<&[u8]>(0).map(<[u8]>::to_vec))).collect::<ParseResult<Vec<_>>>()?,
                        None => Vec::new(),
                    };
                    let auth_info = p.read_optional_explicit_element::<&[u8]>(2)?.map(<[u8]>::to_vec);
                    let pub_key_auth = p.read_optional_explicit_element::<&[u8]>(3)?.map(<[u8]>::to_vec);
                    let error_code = p.read_optional_explicit_element::<i64>(4)?.map(|c| c as u32);
                    let client_nonce = p.read_optional_explicit_element::<&[u8]>(5)?.map(<[u8]>::to_vec);
                    Ok(TsRequest { version, nego_tokens, auth_info, pub_key_auth, error_code, client_nonce })
                })
            })
            .map_err(|e: ParseError| format!("the TSRequest is not valid DER ({e:?})"))
    }
}

/// TSCredentials with TSPasswordCreds (credType 1, MS-CSSP 2.2.1.2): `domain`, `user` and `password`
/// as UTF-16LE. The result holds the password: the caller wipes it ([`wipe`]) once it is sealed.
pub fn password_credentials(domain: &str, user: &str, password: &str) -> Vec<u8> {
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let (mut d, mut u, mut p) = (utf16(domain), utf16(user), utf16(password));
    let mut inner = asn1::write(|w| {
        w.write_element(&SequenceWriter::new(&|w: &mut Writer| {
            w.write_explicit_element(&d.as_slice(), 0)?;
            w.write_explicit_element(&u.as_slice(), 1)?;
            w.write_explicit_element(&p.as_slice(), 2)
        }))
    })
    .expect("DER writing into memory");
    let outer = asn1::write(|w| {
        w.write_element(&SequenceWriter::new(&|w: &mut Writer| {
            w.write_explicit_element(&1u32, 0)?;
            w.write_explicit_element(&inner.as_slice(), 1)
        }))
    })
    .expect("DER writing into memory");
    for b in [&mut d, &mut u, &mut p, &mut inner] {
        wipe(b);
    }
    outer
}

/// Reads TSCredentials with TSPasswordCreds back: (domain, user, password).
/// Errors: not that structure, another credType, or text that is not UTF-16.
pub fn read_password_credentials(der: &[u8]) -> Result<(String, String, String), String> {
    let text = |b: &[u8]| {
        if b.len() % 2 != 0 {
            return Err("a TSPasswordCreds field has an odd length".to_string());
        }
        String::from_utf16(&b.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>()).map_err(|_| "a TSPasswordCreds field is not UTF-16".to_string())
    };
    let (kind, inner) = asn1::parse_single::<Sequence>(der)
        .and_then(|s| s.parse(|p| Ok((p.read_explicit_element::<u32>(0)?, p.read_explicit_element::<&[u8]>(1)?))))
        .map_err(|e| format!("the TSCredentials are not valid DER ({e:?})"))?;
    if kind != 1 {
        return Err(format!("the TSCredentials are of type {kind}, not a password (1)"));
    }
    let (d, u, p) = asn1::parse_single::<Sequence>(inner)
        .and_then(|s| s.parse(|p| Ok((p.read_explicit_element::<&[u8]>(0)?, p.read_explicit_element::<&[u8]>(1)?, p.read_explicit_element::<&[u8]>(2)?))))
        .map_err(|e| format!("the TSPasswordCreds are not valid DER ({e:?})"))?;
    Ok((text(d)?, text(u)?, text(p)?))
}

/// Overwrites `bytes` with zeros in a way the optimiser keeps.
pub fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: a valid, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

/// The SubjectPublicKey of an X.509 certificate (DER, RFC 5280 §4.1): the contents of the
/// `subjectPublicKey` BIT STRING of `tbsCertificate.subjectPublicKeyInfo` (for RSA the DER
/// RSAPublicKey), what MS-CSSP 3.1.5 binds `pubKeyAuth` to.
/// Errors: text saying the certificate cannot be read.
pub fn subject_public_key(certificate: &[u8]) -> Result<Vec<u8>, String> {
    /// Skips one element.
    fn skip(p: &mut Parser) -> ParseResult<()> {
        p.read_element::<Tlv>().map(|_| ())
    }
    asn1::parse_single::<Sequence>(certificate)
        .and_then(|cert| {
            cert.parse(|p| {
                let key = p.read_element::<Sequence>()?.parse(|tbs| {
                    tbs.read_optional_explicit_element::<Tlv>(0)?; // version
                    for _ in 0..5 {
                        skip(tbs)?; // serialNumber, signature, issuer, validity, subject
                    }
                    let key = tbs.read_element::<Sequence>()?.parse(|spki| {
                        skip(spki)?; // algorithm
                        Ok(spki.read_element::<asn1::BitString>()?.as_bytes().to_vec())
                    })?;
                    while !tbs.is_empty() {
                        skip(tbs)?; // issuerUniqueID, subjectUniqueID, extensions
                    }
                    Ok(key)
                })?;
                skip(p)?; // signatureAlgorithm
                skip(p)?; // signatureValue
                Ok(key)
            })
        })
        .map_err(|e| format!("the server's certificate cannot be read ({e:?})"))
}

/// The name of an NTSTATUS (or SSPI HRESULT) a CredSSP server reports in `errorCode`, for the codes
/// a logon commonly fails with; None for others (errors then show the number alone).
pub fn status_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0xC000_006D => "STATUS_LOGON_FAILURE",
        0xC000_006A => "STATUS_WRONG_PASSWORD",
        0xC000_0064 => "STATUS_NO_SUCH_USER",
        0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xC000_015B => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xC000_0022 => "STATUS_ACCESS_DENIED",
        0xC000_000D => "STATUS_INVALID_PARAMETER",
        0xC000_00BB => "STATUS_NOT_SUPPORTED",
        0xC000_0133 => "STATUS_TIME_DIFFERENCE_AT_DC",
        0x8009_030C => "SEC_E_LOGON_DENIED",
        0x8009_0302 => "SEC_E_UNSUPPORTED_FUNCTION",
        0x8009_0308 => "SEC_E_INVALID_TOKEN",
        0x8009_0311 => "SEC_E_NO_AUTHENTICATING_AUTHORITY",
        0x8009_0322 => "SEC_E_WRONG_PRINCIPAL",
        0x8009_0324 => "SEC_E_TIME_SKEW",
        0x8009_0350 => "SEC_E_DOWNGRADE_DETECTED",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_requests_round_trip_and_show_no_tokens() {
        let full = TsRequest {
            version: 6,
            nego_tokens: vec![b"token-one".to_vec(), vec![0; 300]],
            auth_info: Some(b"sealed".to_vec()),
            pub_key_auth: Some(vec![9; 40]),
            error_code: Some(0xC000_006D),
            client_nonce: Some(vec![7; 32]),
        };
        let der = full.encode();
        assert_eq!(TsRequest::decode(&der).unwrap(), full);
        let bare = TsRequest { version: 2, ..Default::default() };
        // SEQUENCE { [0] { INTEGER 2 } }
        assert_eq!(bare.encode(), b"\x30\x05\xa0\x03\x02\x01\x02");
        assert_eq!(TsRequest::decode(&bare.encode()).unwrap(), bare);
        let shown = format!("{full:?}");
        assert!(shown.contains("0xc000006d") && !shown.contains("116, 111, 107"), "{shown}");
        // A negative errorCode as Windows encodes it reads as the same status.
        let negative = b"\x30\x0d\xa0\x03\x02\x01\x06\xa4\x06\x02\x04\xc0\x00\x00\x6d";
        assert_eq!(TsRequest::decode(negative).unwrap().error_code, Some(0xC000_006D));
    }

    #[test]
    fn malformed_ts_requests_are_errors_not_panics() {
        let der = TsRequest { version: 6, nego_tokens: vec![vec![1, 2, 3]], pub_key_auth: Some(vec![4; 20]), ..Default::default() }.encode();
        for cut in 0..der.len() {
            assert!(TsRequest::decode(&der[..cut]).is_err(), "{cut}");
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(TsRequest::decode(&trailing).is_err());
        for garbage in [&b""[..], b"\x30", b"\x30\x80\x00\x00", b"\x04\x00", b"\x30\x03\xa1\x01\x02", b"\x30\xff\xff\xff\xff\xff"] {
            assert!(TsRequest::decode(garbage).is_err(), "{garbage:?}");
        }
        // Every byte flipped: an error or some request, never a panic.
        for i in 0..der.len() {
            let mut bent = der.clone();
            bent[i] ^= 0xff;
            let _ = TsRequest::decode(&bent);
        }
    }

    proptest::proptest! {
        /// Any bytes: a TSRequest or an error, never a panic; what decodes encodes back to a request
        /// that decodes the same.
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            if let Ok(ts) = TsRequest::decode(&bytes) {
                proptest::prop_assert_eq!(TsRequest::decode(&ts.encode()).unwrap(), ts);
            }
            let _ = read_password_credentials(&bytes);
            let _ = subject_public_key(&bytes);
        }

        /// Requests of any content round-trip.
        #[test]
        fn any_request_round_trips(version in 0u32..10, tokens in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 0..3),
                                   code in proptest::option::of(proptest::prelude::any::<u32>()), nonce in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 32))) {
            let ts = TsRequest { version, nego_tokens: tokens, auth_info: None, pub_key_auth: nonce.clone(), error_code: code, client_nonce: nonce };
            proptest::prop_assert_eq!(TsRequest::decode(&ts.encode()).unwrap(), ts);
        }
    }

    #[test]
    fn password_credentials_are_utf16_in_ts_credentials() {
        let der = password_credentials("RSESS", "ann", "pä55");
        assert_eq!(read_password_credentials(&der).unwrap(), ("RSESS".into(), "ann".into(), "pä55".into()));
        // credType 1, then the UTF-16LE domain.
        assert!(der.starts_with(b"\x30"));
        assert!(der.windows(10).any(|w| w == b"R\0S\0E\0S\0S\0"));
        assert!(read_password_credentials(&der[..der.len() - 1]).is_err());
        assert!(read_password_credentials(b"\x30\x03\xa0\x01\x02").is_err());
    }

    #[test]
    fn the_subject_public_key_is_read_from_a_certificate() {
        // A minimal certificate shape: SEQUENCE { tbs SEQUENCE { [0] { INTEGER 2 }, INTEGER 1,
        // SEQUENCE {}, SEQUENCE {}, SEQUENCE {}, SEQUENCE {}, SEQUENCE { SEQUENCE {}, BIT STRING
        // 00 AA BB }, [3] { } }, SEQUENCE {}, BIT STRING 00 }.
        let tbs: &[u8] = b"\xa0\x03\x02\x01\x02\x02\x01\x01\x30\x00\x30\x00\x30\x00\x30\x00\x30\x07\x30\x00\x03\x03\x00\xaa\xbb\xa3\x00";
        let mut cert = vec![0x30, (tbs.len() + 2 + 2 + 2 + 1) as u8, 0x30, tbs.len() as u8];
        cert.extend_from_slice(tbs);
        cert.extend_from_slice(b"\x30\x00\x03\x01\x00");
        assert_eq!(subject_public_key(&cert).unwrap(), [0xaa, 0xbb]);
        assert!(subject_public_key(&cert[..cert.len() - 1]).is_err());
        assert!(subject_public_key(b"not a certificate").is_err());
    }

    #[test]
    fn common_statuses_have_names() {
        assert_eq!(status_name(0xC000_006D), Some("STATUS_LOGON_FAILURE"));
        assert_eq!(status_name(0x1234), None);
    }
}
