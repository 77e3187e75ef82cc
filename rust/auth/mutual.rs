//! Client certificate authentication over HTTPS, as WinRM does it for New-CimSession
//! -CertificateThumbprint: the client proves itself with its TLS client certificate (the HTTP layer
//! gives [`Mechanism::client_certificate`] to rustls), and every request names the DSP0226 security
//! profile `wsman:secprofile/https/mutual` as its Authorization value, so the server maps the
//! certificate to an account. Stateless like Basic: complete from the start, a 401 is final.

use std::fmt;
use std::sync::Arc;

use super::certificate::ClientCertificate;
use super::{Authenticator, Identity, Mechanism, Peer};
use crate::error::Result;

/// The Authorization value of the HTTPS mutual-authentication security profile (DSP0226 Annex C.3.5,
/// `http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual`).
pub const AUTHORIZATION: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual";

/// Authentication with one client certificate. Its [`Identity`] is the thumbprint under the
/// mechanism name "Certificate" (with a fingerprint of the whole chain and the key), so connections
/// and TLS configurations of different certificates are never shared. Debug shows the thumbprint
/// only.
pub struct Mutual {
    identity: Identity,
    certificate: Arc<ClientCertificate>,
}

impl Mutual {
    /// Authentication with `certificate` (over HTTPS only: the caller checks the scheme).
    pub fn new(certificate: Arc<ClientCertificate>) -> Mutual {
        let mut secret: Vec<u8> = certificate.chain().iter().flat_map(|c| c.0.iter().copied()).collect();
        secret.extend_from_slice(&certificate.key().0);
        let identity = Identity::new("Certificate", certificate.thumbprint(), Some(&secret));
        Mutual { identity, certificate }
    }
}

impl fmt::Debug for Mutual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutual").field("thumbprint", &self.certificate.thumbprint()).finish_non_exhaustive()
    }
}

impl Mechanism for Mutual {
    fn identity(&self) -> &Identity {
        &self.identity
    }

    fn start(&self, _peer: &Peer<'_>) -> Result<Box<dyn Authenticator>> {
        Ok(Box::new(MutualAuthenticator))
    }

    fn client_certificate(&self) -> Option<&Arc<ClientCertificate>> {
        Some(&self.certificate)
    }
}

/// One connection's state: nothing but the constant header (the TLS layer did the proof).
struct MutualAuthenticator;

impl Authenticator for MutualAuthenticator {
    fn authorization(&self) -> Option<&str> {
        Some(AUTHORIZATION)
    }

    fn is_complete(&self) -> bool {
        true
    }

    /// The certificate went with the connection that was refused: give up.
    fn challenge(&mut self, _challenges: &[&str]) -> Result<bool> {
        Ok(false)
    }
}
