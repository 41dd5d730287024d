//! Password sign-in helpers: Argon2id hashing and verification, run on the blocking pool so a
//! request hashing a password never stalls the async workers.
//!
//! ```no_run
//! # async fn demo(db: webstir::Db, email: &str, password: &str) -> webstir::Result<()> {
//! use webstir::{params, password};
//!
//! // Sign-up: store the PHC string.
//! let hash = password::hash(password).await?;
//! db.execute("INSERT INTO users (email, password_hash) VALUES (?, ?)", params![email, hash]).await?;
//!
//! // Sign-in: the same cost whether or not the user exists.
//! let row: Option<webstir::serde_json::Value> = db
//!     .query_optional("SELECT password_hash FROM users WHERE email = ?", params![email])
//!     .await?;
//! let stored = row.and_then(|r| r["password_hash"].as_str().map(str::to_owned));
//! if !password::verify_sign_in(password, stored).await {
//!     return Err(webstir::Error::unauthorized("Wrong email or password"));
//! }
//! # Ok(()) }
//! ```

pub use webstir_auth::password::{MAX_PASSWORD_BYTES, PasswordError};

use crate::Error;

fn to_error(err: PasswordError) -> Error {
    match err {
        PasswordError::Empty | PasswordError::TooLong => Error::validation(err.to_string()),
        other => Error::msg(other),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::msg(format!("password task failed: {e}")))
}

/// Hashes `password` (Argon2id, fresh salt); returns the PHC string to store.
///
/// # Errors
/// 400 `validation` for an empty or over-long password (over [`MAX_PASSWORD_BYTES`]); 500 when
/// hashing fails.
pub async fn hash(password: &str) -> Result<String, Error> {
    let password = password.to_owned();
    blocking(move || webstir_auth::password::hash_password(&password))
        .await?
        .map_err(to_error)
}

/// Whether `password` matches the stored PHC string.
///
/// # Errors
/// 400 `validation` for an over-long password; 500 when the stored hash is corrupt.
pub async fn verify(password: &str, stored: &str) -> Result<bool, Error> {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    blocking(move || webstir_auth::password::verify_password(&password, &stored))
        .await?
        .map_err(to_error)
}

/// A sign-in check costing the same whether or not the user exists (`stored == None` verifies a
/// dummy hash and answers `false`); a corrupt stored hash is `false` too.
pub async fn verify_sign_in(password: &str, stored: Option<String>) -> bool {
    let password = password.to_owned();
    blocking(move || webstir_auth::password::verify_sign_in(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}
