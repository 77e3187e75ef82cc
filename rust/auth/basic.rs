//! HTTP Basic authentication (RFC 7617), as WinRM accepts it: the credential in clear text, so only
//! over HTTPS or where the server allows unencrypted traffic.

use super::Credential;

/// The `Authorization` header value for `credential`: `Basic ` and base64 of `user:password` (UTF-8).
pub fn authorization(credential: &Credential) -> String {
    format!("Basic {}", base64::encode(format!("{}:{}", credential.user, credential.password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_password_in_base64() {
        assert_eq!(authorization(&Credential::new("me", "pw")), "Basic bWU6cHc=");
    }
}
