//! Who a session authenticates as and how: the caller's credential and the mechanism it asks for
//! (New-CimSession -Authentication, `PasswordAuthenticationMechanism`). The mechanisms' own code lives
//! beside this module, one file each ([`basic`]); a password never leaves this module except on the
//! wire.

pub mod basic;

use std::fmt;

/// A user name and password. The password never appears in Debug output, errors or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    password: String,
}

impl Credential {
    /// A credential for `user` (`DOMAIN\user` or `user@realm` as the server expects) with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credential { user: user.into(), password: password.into() }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential {{ user: {:?}, password: <hidden> }}", self.user)
    }
}

/// New-CimSession -Authentication (`PasswordAuthenticationMechanism`, spec §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authentication {
    /// Basic when a credential is given (Negotiate arrives with the authentication work), none otherwise.
    #[default]
    Default,
    Basic,
    Digest,
    Negotiate,
    Kerberos,
    NtlmDomain,
    CredSsp,
}
