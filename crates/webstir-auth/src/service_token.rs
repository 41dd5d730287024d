//! Shared service tokens from `AUTH_SERVICE_TOKENS`.

use sha2::{Digest as _, Sha256};
use subtle::{Choice, ConstantTimeEq as _};

/// The configured tokens, kept only as SHA-256 digests so that every comparison is between two
/// 32-byte values (no length leak) and runs in constant time.
#[derive(Clone, Default)]
pub(crate) struct ServiceTokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokens")
            .field("count", &self.digests.len())
            .finish()
    }
}

impl ServiceTokens {
    pub(crate) fn new<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut digests: Vec<[u8; 32]> = Vec::new();
        for token in tokens {
            let token = token.as_ref().trim();
            if token.is_empty() {
                continue;
            }
            let d = digest(token);
            if !digests.contains(&d) {
                digests.push(d);
            }
        }
        Self { digests }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.digests.len()
    }

    /// Constant-time membership: every configured token is compared, no early exit.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        let d = digest(presented);
        let mut found = Choice::from(0);
        for candidate in &self.digests {
            found |= candidate.ct_eq(&d);
        }
        bool::from(found)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `AUTH_SERVICE_TOKENS` syntax: split on commas and whitespace, blanks dropped.
pub(crate) fn split_tokens(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let t = ServiceTokens::new(split_tokens(" alpha-token,beta-token \n gamma ,,"));
        assert_eq!(t.len(), 3);
        assert!(t.matches("beta-token"));
        assert!(t.matches("gamma"));
        assert!(!t.matches("beta-toke"));
        assert!(!t.matches(""));
        assert!(ServiceTokens::new(split_tokens(" , ")).is_empty());
    }
}
