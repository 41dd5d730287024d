//! Password hashing with Argon2id (RFC 9106), for apps that sign users in with a password.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a fresh 128-bit
//! salt each, and the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane). The parameters are
//! part of the string, so a hash made with other parameters still verifies. Hashing takes tens of
//! milliseconds of CPU on purpose: call it off the async workers (the runtime's
//! `webstir::password` does).
//!
//! ```
//! use webstir_auth::password::{hash_password, verify_password};
//!
//! let hash = hash_password("correct horse battery staple").unwrap();
//! assert!(hash.starts_with("$argon2id$"));
//! assert!(verify_password("correct horse battery staple", &hash).unwrap());
//! assert!(!verify_password("Tr0ub4dor&3", &hash).unwrap());
//! ```

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;

/// Longest password accepted, in bytes: longer input is refused rather than hashed, so a request
/// cannot make the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a password could not be hashed or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is empty.
    #[error("the password is empty")]
    Empty,
    /// The password is longer than [`MAX_PASSWORD_BYTES`].
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    /// The stored hash is not a PHC string this crate can verify (corrupt, or another algorithm).
    #[error("the stored password hash is not a valid Argon2 PHC string: {0}")]
    BadHash(String),
    /// Hashing failed (out of memory, …).
    #[error("hashing the password failed: {0}")]
    Hashing(String),
}

fn argon2() -> Argon2<'static> {
    // OWASP: m=19 MiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn check_input(password: &str) -> Result<(), PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes `password` with Argon2id and a fresh random salt; returns the PHC string to store.
///
/// # Errors
/// [`PasswordError::Empty`], [`PasswordError::TooLong`], or [`PasswordError::Hashing`].
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_input(password)?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Whether `password` matches the stored PHC string `hash` (compared in constant time).
///
/// # Errors
/// [`PasswordError::BadHash`] when `hash` is not an Argon2 PHC string; [`PasswordError::TooLong`]
/// for oversized input. A wrong password is `Ok(false)`, not an error.
pub fn verify_password(password: &str, hash: &str) -> Result<bool, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    let parsed = PasswordHash::new(hash).map_err(|e| PasswordError::BadHash(e.to_string()))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(PasswordError::BadHash(format!(
            "algorithm {} is not Argon2",
            parsed.algorithm
        )));
    }
    match argon2().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PasswordError::BadHash(e.to_string())),
    }
}

/// A sign-in check that costs the same whether or not the user exists: with `stored == None` it
/// verifies against a fixed dummy hash and returns `false`, so response times do not reveal which
/// user names exist.
///
/// ```
/// use webstir_auth::password::{hash_password, verify_sign_in};
/// let hash = hash_password("s3cret").unwrap();
/// assert!(verify_sign_in("s3cret", Some(&hash)));
/// assert!(!verify_sign_in("s3cret", None));
/// assert!(!verify_sign_in("s3cret", Some("not a hash")));
/// ```
pub fn verify_sign_in(password: &str, stored: Option<&str>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$PeYrNhn0A4+t0P2cI0Tm0jvf0sU7X8cXrG5eVRfB5uE";
    match stored {
        Some(hash) => verify_password(password, hash).unwrap_or(false),
        None => {
            let _ = verify_password(password, DUMMY);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_differ_and_both_verify() {
        let a = hash_password("pw").unwrap();
        let b = hash_password("pw").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify_password("pw", &a).unwrap() && verify_password("pw", &b).unwrap());
        assert!(!verify_password("pW", &a).unwrap());
    }

    #[test]
    fn bad_input_and_hashes() {
        assert_eq!(hash_password(""), Err(PasswordError::Empty));
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(hash_password(&long), Err(PasswordError::TooLong));
        assert_eq!(
            verify_password(&long, "$argon2id$"),
            Err(PasswordError::TooLong)
        );
        assert!(matches!(
            verify_password("pw", "plain-text"),
            Err(PasswordError::BadHash(_))
        ));
        // A hash made with other parameters carries them and still verifies.
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::encode_b64(&[7u8; 16]).unwrap())
        .unwrap()
        .to_string();
        assert!(verify_password("pw", &other).unwrap());
        // The dummy hash parses (so verify_sign_in(None) does the full work).
        assert!(PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$PeYrNhn0A4+t0P2cI0Tm0jvf0sU7X8cXrG5eVRfB5uE"
        )
        .is_ok());
    }
}
