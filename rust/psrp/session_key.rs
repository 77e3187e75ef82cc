//! The session key a client and server share for SecureStrings (MS-PSRP 3.1.5.4.2, 3.1.5.4.3),
//! client side, sans-IO: the client sends its RSA public key in PUBLIC_KEY (2.2.2.1) before it sends
//! its first SecureString, when the first one the server sent comes (a server of protocol 2.2 or
//! later encrypts with a session key of its own making and never asks), or when the server asks with
//! PUBLIC_KEY_REQUEST (2.2.2.3; servers do for clients older than 2.2); the server answers
//! ENCRYPTED_SESSION_KEY (2.2.2.2), the AES-256 key that encrypts every SecureString (2.2.5.1.24)
//! both ways. [`crate::psrp::pool`] holds what needs the key until it comes. The cryptography is [`crate::auth::session_key`]'s (the system libcrypto);
//! this module only holds the state and reads and writes the messages' data.

use super::clixml::{self, Value};
use super::request;
use crate::auth::session_key::{KeyPair, SessionKey};
use crate::error::{Error, ErrorKind, Result};

/// Where the exchange is.
#[derive(Debug, Default)]
pub struct KeyExchange {
    /// The key pair, once PUBLIC_KEY was sent.
    pair: Option<KeyPair>,
    /// The session key, once ENCRYPTED_SESSION_KEY came.
    key: Option<SessionKey>,
}

impl KeyExchange {
    /// No exchange yet.
    pub fn new() -> KeyExchange {
        KeyExchange::default()
    }

    /// Whether the session key has come.
    pub fn is_ready(&self) -> bool {
        self.key.is_some()
    }

    /// Whether PUBLIC_KEY has been sent (the server's answer may still be on its way).
    pub fn is_started(&self) -> bool {
        self.pair.is_some()
    }

    /// The data of a PUBLIC_KEY message (2.2.2.1): the key pair (made now, once) as a base64 CAPI
    /// PUBLICKEYBLOB. Errors: NotSupported (no libcrypto, or it failed).
    pub fn public_key(&mut self) -> Result<Value> {
        if self.pair.is_none() {
            self.pair = Some(KeyPair::generate()?);
        }
        let blob = self.pair.as_ref().map(KeyPair::public_key_blob).transpose()?.unwrap_or_default();
        Ok(request::public_key(&base64::encode(blob)))
    }

    /// Takes ENCRYPTED_SESSION_KEY's data (2.2.2.2): `EncryptedSessionKey`, a base64 CAPI SIMPLEBLOB.
    /// Errors (BadReply): no PUBLIC_KEY was sent, no such property, a key that does not decrypt.
    pub fn on_encrypted_session_key(&mut self, data: &Value) -> Result<()> {
        let pair = self.pair.as_ref().ok_or_else(|| bad("an ENCRYPTED_SESSION_KEY came before the client sent its PUBLIC_KEY"))?;
        let text = data.property("EncryptedSessionKey").and_then(Value::as_str).ok_or_else(|| bad("ENCRYPTED_SESSION_KEY without an EncryptedSessionKey"))?;
        let blob = base64::decode(text.trim()).map_err(|_| bad("ENCRYPTED_SESSION_KEY's EncryptedSessionKey is not base64"))?;
        self.key = Some(pair.open_session_key(&blob)?);
        Ok(())
    }

    /// `value` with its plain SecureStrings encrypted with the session key.
    /// Errors: InvalidState when the key has not come; NotSupported.
    pub fn seal(&self, value: &Value) -> Result<Value> {
        let key = self.key.as_ref().ok_or_else(|| Error::new(ErrorKind::InvalidState, "No session key yet to encrypt a SecureString with"))?;
        clixml::seal_secrets(value, &mut |plain| key.encrypt(plain))
    }

    /// `value` with the SecureStrings the server sent decrypted, when the key has come (else as it
    /// is). Errors (BadReply): one that does not decrypt.
    pub fn open(&self, value: Value) -> Result<Value> {
        match &self.key {
            Some(key) if clixml::has_secrets(&value, false) => clixml::open_secrets(&value, &mut |bytes| key.decrypt(bytes)),
            _ => Ok(value),
        }
    }
}

#[cfg(test)]
impl KeyExchange {
    /// What a server does with the PUBLIC_KEY, for tests: a session key and its SIMPLEBLOB.
    pub(crate) fn server_side(&self) -> (SessionKey, Vec<u8>) {
        self.pair.as_ref().expect("PUBLIC_KEY sent").seal_new_session_key().unwrap()
    }
}

fn bad(what: &str) -> Error {
    Error::new(ErrorKind::BadReply, format!("Malformed session key exchange: {what}"))
}
