//! What a transcript keeps of an `Authorization` header: a fingerprint, never
//! the credential. Two requests with the same credential have the same
//! fingerprint, so a check can tell one client's requests from another's
//! (tasks bound to their creator) without a token ever reaching a file.
//! Pure, no I/O.

use sha2::{Digest, Sha256};

/// A bearer token no authorization server issued: the auth scenarios send it
/// (`Authorization: Bearer mcp-harness-invalid-token`) to see a protected
/// server refuse it, and the checks know it by its fingerprint.
pub const INVALID_BEARER_TOKEN: &str = "mcp-harness-invalid-token";

/// `sha256:` and the first 12 hex digits of the SHA-256 of the whole header
/// value (scheme included): enough to tell credentials apart, too little to
/// recover or replay one.
pub fn fingerprint(authorization: &str) -> String {
    let digest = Sha256::digest(authorization.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_stable_and_hides_the_credential() {
        let one = fingerprint("Bearer secret-token-1");
        assert_eq!(one, fingerprint("Bearer secret-token-1"));
        assert_ne!(one, fingerprint("Bearer secret-token-2"));
        assert!(!one.contains("secret"));
        assert_eq!(one.len(), "sha256:".len() + 12);
    }
}
