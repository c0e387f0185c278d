//! Who may do what: the bearer token and where the server may listen.
//!
//! Every request that changes state carries `Authorization: Bearer
//! <token>`, a header and never a cookie, so a cross-site form cannot
//! start or stop a channel: a browser sends no custom header across sites
//! without a CORS preflight, and the server answers none. The comparison
//! hashes both sides first and compares the digests in constant time, so
//! neither the content nor the length of the token leaks through timing.

use std::net::SocketAddr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The environment variable that sets the token.
pub const TOKEN_VAR: &str = "LUNORA_SERVE_TOKEN";

/// The fewest characters a token set in [`TOKEN_VAR`] may have.
pub const MIN_TOKEN_LEN: usize = 16;

/// The bearer token, and whether it was generated (then it is printed once
/// at start, since nobody else knows it).
pub struct Token {
    digest: [u8; 32],
    /// The token, to print once; `None` when it came from the environment.
    pub generated: Option<String>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

fn digest(text: &[u8]) -> [u8; 32] {
    Sha256::digest(text).into()
}

impl Token {
    /// The token from `value` (the environment), or a random one: 32 bytes
    /// from the operating system's generator, as 64 hex digits.
    pub fn new(value: Option<String>) -> anyhow::Result<Self> {
        match value.filter(|v| !v.is_empty()) {
            Some(v) => {
                anyhow::ensure!(
                    v.chars().count() >= MIN_TOKEN_LEN && !v.chars().any(char::is_whitespace),
                    "{TOKEN_VAR} must be at least {MIN_TOKEN_LEN} characters without spaces (hint: `openssl rand -hex 32`, or unset it and lunora generates one)"
                );
                Ok(Self {
                    digest: digest(v.as_bytes()),
                    generated: None,
                })
            }
            None => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes)
                    .map_err(|e| anyhow::anyhow!("cannot generate a token: {e}"))?;
                let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                Ok(Self {
                    digest: digest(text.as_bytes()),
                    generated: Some(text),
                })
            }
        }
    }

    /// True when `header` (the `Authorization` value) carries the token.
    pub fn accepts(&self, header: Option<&str>) -> bool {
        let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        bool::from(digest(given.trim().as_bytes()).ct_eq(&self.digest))
    }
}

/// Refuses a non-loopback address unless the operator acknowledged that
/// the token then guards every request (`--token-required`).
pub fn check_listen(addr: SocketAddr, token_required: bool) -> anyhow::Result<()> {
    if addr.ip().is_loopback() || token_required {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to listen on {addr}: it is reachable from other machines (hint: keep the default 127.0.0.1 and put a TLS reverse proxy in front, or pass `--token-required` to listen there with every request, reads included, needing the token)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_token_as_a_bearer_header() {
        let t = Token::new(Some("s3cret-token-0123456789".into())).expect("token");
        assert!(t.generated.is_none());
        assert!(t.accepts(Some("Bearer s3cret-token-0123456789")));
        assert!(!t.accepts(Some("Bearer s3cret-token-012345678")));
        assert!(!t.accepts(Some("s3cret-token-0123456789")));
        assert!(!t.accepts(Some("Basic s3cret-token-0123456789")));
        assert!(!t.accepts(Some("Bearer ")));
        assert!(!t.accepts(None));
    }

    #[test]
    fn generates_a_fresh_random_token_when_none_is_set() {
        let a = Token::new(None).expect("token");
        let b = Token::new(Some(String::new())).expect("token");
        let text = a.generated.clone().expect("generated");
        assert_eq!(text.len(), 64);
        assert_ne!(a.generated, b.generated);
        assert!(a.accepts(Some(&format!("Bearer {text}"))));
        assert!(!b.accepts(Some(&format!("Bearer {text}"))));
    }

    #[test]
    fn refuses_a_short_token() {
        let e = Token::new(Some("short".into())).expect_err("refused");
        assert!(e.to_string().contains("at least 16"), "{e}");
    }

    #[test]
    fn listens_beyond_loopback_only_when_acknowledged() {
        assert!(check_listen("127.0.0.1:8040".parse().expect("addr"), false).is_ok());
        assert!(check_listen("[::1]:8040".parse().expect("addr"), false).is_ok());
        let e = check_listen("0.0.0.0:8040".parse().expect("addr"), false).expect_err("refused");
        assert!(e.to_string().contains("--token-required"), "{e}");
        assert!(check_listen("0.0.0.0:8040".parse().expect("addr"), true).is_ok());
    }
}
