//! HTTP Basic authentication (RFC 7617), as WinRM accepts it: the credential in clear text, so only
//! over HTTPS or where the server allows unencrypted traffic. Stateless: every request carries the
//! same header with its body, and a 401 is final (there is nothing else to offer).

use std::fmt;
use std::sync::Arc;

use super::{Authenticator, Credential, Identity, Mechanism, Peer};
use crate::error::Result;

/// The `Authorization` header value for `credential`: `Basic ` and base64 of `user:password` (UTF-8).
pub fn authorization(credential: &Credential) -> String {
    format!("Basic {}", base64::encode(format!("{}:{}", credential.user, credential.password)))
}

/// Basic with one credential: a [`Mechanism`] whose authenticators send its header with every
/// request. Debug shows the identity only.
pub struct Basic {
    identity: Identity,
    /// The header value, shared by the authenticators of every connection.
    header: Arc<str>,
}

impl Basic {
    /// Basic authentication as `credential`.
    pub fn new(credential: &Credential) -> Basic {
        Basic { identity: credential.identity("Basic"), header: authorization(credential).into() }
    }
}

impl fmt::Debug for Basic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Basic").field("identity", &self.identity).finish_non_exhaustive()
    }
}

impl Mechanism for Basic {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn start(&self, _peer: &Peer<'_>) -> Result<Box<dyn Authenticator>> {
        Ok(Box::new(BasicAuthenticator(Arc::clone(&self.header))))
    }
}

/// One connection's Basic state: only the header (complete from the start; bodies as they are).
struct BasicAuthenticator(Arc<str>);

impl Authenticator for BasicAuthenticator {
    fn authorization(&self) -> Option<&str> {
        Some(&self.0)
    }

    fn is_complete(&self) -> bool {
        true
    }

    /// The credential went with the request that was refused: give up.
    fn challenge(&mut self, _challenges: &[&str]) -> Result<bool> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_password_in_base64() {
        assert_eq!(authorization(&Credential::new("me", "pw")), "Basic bWU6cHc=");
    }

    #[test]
    fn an_authenticator_sends_the_header_at_once_and_gives_up_on_a_401() {
        let basic = Basic::new(&Credential::new("me", "pw"));
        assert!(!format!("{basic:?}").contains("bWU6cHc") && format!("{basic:?}").contains("me"));
        let mut a = basic.start(&Peer { host: "srv", port: 5986, certificate: None }).unwrap();
        assert!(a.is_complete());
        assert_eq!(a.authorization(), Some("Basic bWU6cHc="));
        assert!(!a.challenge(&["Basic realm=\"WSMAN\""]).unwrap());
        assert_eq!(a.wrap("application/soap+xml;charset=UTF-8", b"<s:Envelope/>").unwrap(), None);
        assert_eq!(a.unwrap(Some("application/soap+xml"), b"<s:Envelope/>").unwrap(), None);
        assert_eq!(basic.identity(), &Credential::new("me", "pw").identity("Basic"));
    }
}
