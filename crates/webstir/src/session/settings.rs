//! Session settings from the environment: the cookie (`SESSION_*`) and the store
//! (`SESSION_STORE_DRIVER`, `SESSION_STORE_URL`).

use webstir_db::{Db, Engine};

use super::cookie::{CookieCodec, valid_name};
use super::store::Sweeping;
use crate::{ConfigError, Env, StartError};

/// `SESSION_COOKIE_NAME` when unset.
pub(crate) const DEFAULT_COOKIE_NAME: &str = "webstir_session";
/// `SESSION_MAX_AGE` when unset: one day, in seconds.
pub(crate) const DEFAULT_MAX_AGE: u64 = 86_400;
/// Browsers cap cookie lifetimes at 400 days.
const MAX_MAX_AGE: u64 = 400 * 86_400;
/// The SQLite file sessions use when the store is SQLite and nothing names another database.
pub(crate) const DEFAULT_SQLITE_URL: &str = "file:./data/sessions.sqlite";
/// The shortest `SESSION_SECRET` accepted (the HMAC-SHA256 output size, RFC 7518 §3.2).
const MIN_SECRET: usize = 32;

fn flag(env: &Env, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env.get_trimmed(name).map(str::to_ascii_lowercase) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "on" | "true" | "1" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "off" | "false" | "0" | "no") => Ok(false),
        Some(v) => Err(ConfigError {
            name,
            value: v,
            problem: "must be on or off",
        }),
    }
}

/// The cookie settings: name, signing secret, lifetime and flags.
pub(crate) fn cookie(env: &Env, production: bool) -> Result<(CookieCodec, u64), ConfigError> {
    let name = env
        .get_trimmed("SESSION_COOKIE_NAME")
        .unwrap_or(DEFAULT_COOKIE_NAME);
    if !valid_name(name) {
        return Err(ConfigError {
            name: "SESSION_COOKIE_NAME",
            value: name.to_owned(),
            problem: "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
        });
    }
    let secure = flag(env, "SESSION_COOKIE_SECURE", production)?;
    if !secure && (name.starts_with("__Host-") || name.starts_with("__Secure-")) {
        return Err(ConfigError {
            name: "SESSION_COOKIE_NAME",
            value: name.to_owned(),
            problem: "has a __Host-/__Secure- prefix, which browsers accept only with Secure; set SESSION_COOKIE_SECURE=on",
        });
    }
    let max_age = match env.get_trimmed("SESSION_MAX_AGE") {
        None => DEFAULT_MAX_AGE,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=MAX_MAX_AGE).contains(&n) => n,
            _ => {
                return Err(ConfigError {
                    name: "SESSION_MAX_AGE",
                    value: v.to_owned(),
                    problem: "must be a number of seconds from 1 to 34560000 (400 days)",
                });
            }
        },
    };
    let secret: Vec<u8> = match env.get_trimmed("SESSION_SECRET") {
        Some(secret) if secret.len() >= MIN_SECRET => secret.as_bytes().to_vec(),
        Some(secret) => {
            return Err(ConfigError {
                name: "SESSION_SECRET",
                // Never the secret itself.
                value: format!("{} characters", secret.len()),
                problem: "must be at least 32 characters (e.g. `openssl rand -hex 32`)",
            });
        }
        None if production => {
            return Err(ConfigError {
                name: "SESSION_SECRET",
                value: String::new(),
                problem: "is required when NODE_ENV=production and routes use sessions or flash (at least 32 characters, e.g. `openssl rand -hex 32`)",
            });
        }
        None => {
            tracing::warn!(
                target: "webstir::session",
                "SESSION_SECRET is not set: session cookies are signed with a random per-process secret and stop verifying when the process restarts"
            );
            rand::random::<[u8; 32]>().to_vec()
        }
    };
    Ok((CookieCodec::new(name, &secret, max_age, secure), max_age))
}

/// The store: `SESSION_STORE_DRIVER` (`memory`, `sqlite`, `postgres`), `SESSION_STORE_URL` (a
/// database URL). Unset: memory in development; in production the app's database when it has one,
/// else the SQLite file `data/sessions.sqlite`.
pub(crate) fn store(
    env: &Env,
    production: bool,
    app_db: Option<&Db>,
) -> Result<(Sweeping, &'static str), StartError> {
    let root = crate::services::root_of(env);
    let url = env.get_trimmed("SESSION_STORE_URL");
    let driver = env
        .get_trimmed("SESSION_STORE_DRIVER")
        .map(str::to_ascii_lowercase);
    // The app's database when `url` names it (or nothing is named), so both share one pool.
    let app_db_for = |url: Option<&str>| match (app_db, url) {
        (Some(db), None) => Some(db.clone()),
        (Some(db), Some(url)) if env.get_trimmed("DATABASE_URL") == Some(url) => Some(db.clone()),
        _ => None,
    };
    let open = |url: &str| -> Result<Db, StartError> {
        match app_db_for(Some(url)) {
            Some(db) => Ok(db),
            None => Ok(Db::connect(url, &root).map_err(crate::ServicesError::from)?),
        }
    };
    let engine_name = |engine: Engine| match engine {
        Engine::Sqlite => "sqlite",
        _ => "postgres",
    };
    let db = match driver.as_deref() {
        Some("memory") => {
            if let Some(url) = url {
                return Err(ConfigError {
                    name: "SESSION_STORE_URL",
                    value: url.to_owned(),
                    problem: "is set but SESSION_STORE_DRIVER=memory does not use it; unset one of them",
                }
                .into());
            }
            return Ok((Sweeping::memory(), "memory"));
        }
        Some(wanted @ ("sqlite" | "postgres")) => {
            let db = match url {
                Some(url) => open(url)?,
                None => match app_db_for(None) {
                    Some(db) if engine_name(db.engine()) == wanted => db,
                    _ if wanted == "sqlite" => open(DEFAULT_SQLITE_URL)?,
                    _ => {
                        return Err(ConfigError {
                            name: "SESSION_STORE_URL",
                            value: String::new(),
                            problem: "is required with SESSION_STORE_DRIVER=postgres unless DATABASE_URL is a PostgreSQL URL",
                        }
                        .into());
                    }
                },
            };
            if engine_name(db.engine()) != wanted {
                return Err(ConfigError {
                    name: "SESSION_STORE_DRIVER",
                    value: wanted.to_owned(),
                    problem: "does not match the engine of SESSION_STORE_URL",
                }
                .into());
            }
            db
        }
        Some(other) => {
            return Err(ConfigError {
                name: "SESSION_STORE_DRIVER",
                value: other.to_owned(),
                problem: "must be memory, sqlite or postgres",
            }
            .into());
        }
        None => match url {
            Some(url) => open(url)?,
            None if production => match app_db_for(None) {
                Some(db) => db,
                None => open(DEFAULT_SQLITE_URL)?,
            },
            None => return Ok((Sweeping::memory(), "memory")),
        },
    };
    let label = engine_name(db.engine());
    Ok((Sweeping::sql(db), label))
}
