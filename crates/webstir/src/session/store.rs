//! Where sessions live: in process memory (development) or in a SQL table (`webstir_sessions`,
//! SQLite or PostgreSQL, created by the system migration `0002_sessions`).
//!
//! Every record carries a `version`. Writes are compare-and-set on it (`update` and the
//! rotation's `delete` name the version they read), so of two requests that changed one session
//! concurrently the second is told (409 `session_conflict`) instead of silently overwriting the
//! first. `create` is insert-if-absent, so an id collision can never attach to another session.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use webstir_db::{Db, params};

use super::FlashMessage;

/// One stored session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) id: String,
    pub(crate) body: Body,
    pub(crate) version: i64,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
    /// Unix milliseconds; the record is dead from this instant (absolute lifetime).
    pub(crate) expires_at: i64,
}

/// What a record holds: the app's values, undelivered flash messages, and the runtime's own state
/// (kept apart from the app's keys; CSRF tokens live here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Body {
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub(crate) data: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) flash: Vec<FlashMessage>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub(crate) runtime: serde_json::Map<String, serde_json::Value>,
}

impl Body {
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty() && self.flash.is_empty() && self.runtime.is_empty()
    }
}

/// How often expired records are swept (besides being deleted when read).
const PURGE_EVERY_MS: i64 = 60_000;

pub(crate) enum Store {
    Memory(Mutex<HashMap<String, Record>>),
    Sql {
        db: Db,
        ready: tokio::sync::OnceCell<()>,
    },
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Memory(_) => f.write_str("Store::Memory"),
            Store::Sql { db, .. } => write!(f, "Store::Sql({:?})", db.engine()),
        }
    }
}

/// The store plus its sweep clock.
#[derive(Debug)]
pub(crate) struct Sweeping {
    pub(crate) store: Store,
    last_purge: AtomicI64,
}

#[derive(Deserialize)]
struct Row {
    body: String,
    version: i64,
    created_at: i64,
    expires_at: i64,
}

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("session store")]
    Db(#[from] webstir_db::Error),
    #[error("session store: applying the session tables' system migration failed")]
    Migrate(#[source] webstir_db::migrate::Error),
    /// The id is not echoed: it is a credential.
    #[error("session store: a stored session does not hold a session body")]
    Corrupt(#[source] serde_json::Error),
}

impl StoreError {
    /// As a handler error: 503 when the database is unreachable, else 500.
    pub(crate) fn into_error(self) -> crate::Error {
        match self {
            StoreError::Db(err) if err.is_unavailable() => crate::Error::from(err),
            other => crate::Error::from(other),
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

impl Sweeping {
    pub(crate) fn memory() -> Self {
        Self::new(Store::Memory(Mutex::default()))
    }

    pub(crate) fn sql(db: Db) -> Self {
        Self::new(Store::Sql {
            db,
            ready: tokio::sync::OnceCell::new(),
        })
    }

    fn new(store: Store) -> Self {
        Self {
            store,
            last_purge: AtomicI64::new(0),
        }
    }

    /// The SQL store's tables: pending system migrations are applied on first use (idempotent),
    /// so an app that migrates out of band still gets them.
    async fn ready(&self) -> Result<&Db> {
        match &self.store {
            Store::Memory(_) => unreachable!("only the SQL store has a database"),
            Store::Sql { db, ready } => {
                ready
                    .get_or_try_init(|| async {
                        crate::services::apply_system(db)
                            .await
                            .map(|_| ())
                            .map_err(StoreError::Migrate)
                    })
                    .await?;
                Ok(db)
            }
        }
    }

    /// The live record with this id; an expired one is deleted and reads as absent.
    pub(crate) async fn load(&self, id: &str, now: i64) -> Result<Option<Record>> {
        match &self.store {
            Store::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                match map.get(id) {
                    Some(record) if record.expires_at > now => Ok(Some(record.clone())),
                    Some(_) => {
                        map.remove(id);
                        Ok(None)
                    }
                    None => Ok(None),
                }
            }
            Store::Sql { .. } => {
                let db = self.ready().await?;
                let row: Option<Row> = db
                    .query_optional(
                        "SELECT body, version, created_at, expires_at FROM webstir_sessions WHERE id = ?",
                        params![id],
                    )
                    .await?;
                let Some(row) = row else { return Ok(None) };
                if row.expires_at <= now {
                    db.execute(
                        "DELETE FROM webstir_sessions WHERE id = ? AND expires_at <= ?",
                        params![id, now],
                    )
                    .await?;
                    return Ok(None);
                }
                let body = serde_json::from_str(&row.body).map_err(StoreError::Corrupt)?;
                Ok(Some(Record {
                    id: id.to_owned(),
                    body,
                    version: row.version,
                    created_at: row.created_at,
                    expires_at: row.expires_at,
                }))
            }
        }
    }

    /// Insert a new record; `false` when the id is taken (never overwrites).
    pub(crate) async fn create(&self, record: &Record) -> Result<bool> {
        self.maybe_purge(record.created_at).await;
        match &self.store {
            Store::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                if map.contains_key(&record.id) {
                    return Ok(false);
                }
                map.insert(record.id.clone(), record.clone());
                Ok(true)
            }
            Store::Sql { .. } => {
                let db = self.ready().await?;
                let body = serde_json::to_string(&record.body).unwrap_or_default();
                match db
                    .execute(
                        "INSERT INTO webstir_sessions (id, body, version, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                        params![
                            record.id.as_str(),
                            body,
                            record.version,
                            record.created_at,
                            record.expires_at
                        ],
                    )
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(err) if err.constraint_kind() == Some(webstir_db::ConstraintKind::Unique) => {
                        Ok(false)
                    }
                    Err(err) => Err(err.into()),
                }
            }
        }
    }

    /// Replace the body of the record if it is still at version `read` and alive; its version
    /// becomes `read + 1`. `false` when another request changed or removed it meanwhile.
    pub(crate) async fn update(&self, id: &str, body: &Body, read: i64, now: i64) -> Result<bool> {
        match &self.store {
            Store::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                match map.get_mut(id) {
                    Some(record) if record.version == read && record.expires_at > now => {
                        record.body = body.clone();
                        record.version = read + 1;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
            Store::Sql { .. } => {
                let db = self.ready().await?;
                let text = serde_json::to_string(body).unwrap_or_default();
                let n = db
                    .execute(
                        "UPDATE webstir_sessions SET body = ?, version = version + 1 WHERE id = ? AND version = ? AND expires_at > ?",
                        params![text, id, read, now],
                    )
                    .await?;
                Ok(n == 1)
            }
        }
    }

    /// Delete the record (only if still at version `read`, when given). `false` when nothing was
    /// deleted.
    pub(crate) async fn delete(&self, id: &str, read: Option<i64>) -> Result<bool> {
        match &self.store {
            Store::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                match (map.get(id), read) {
                    (Some(record), Some(v)) if record.version != v => Ok(false),
                    (Some(_), _) => {
                        map.remove(id);
                        Ok(true)
                    }
                    (None, _) => Ok(false),
                }
            }
            Store::Sql { .. } => {
                let db = self.ready().await?;
                let n = match read {
                    Some(v) => {
                        db.execute(
                            "DELETE FROM webstir_sessions WHERE id = ? AND version = ?",
                            params![id, v],
                        )
                        .await?
                    }
                    None => {
                        db.execute("DELETE FROM webstir_sessions WHERE id = ?", params![id])
                            .await?
                    }
                };
                Ok(n == 1)
            }
        }
    }

    /// Sweep expired records at most once a minute (reads also delete the expired record they
    /// find). A failed sweep is logged, never a request failure.
    async fn maybe_purge(&self, now: i64) {
        let last = self.last_purge.load(Ordering::Relaxed);
        if now - last < PURGE_EVERY_MS
            || self
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        match &self.store {
            Store::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                map.retain(|_, record| record.expires_at > now);
            }
            Store::Sql { .. } => {
                let swept = match self.ready().await {
                    Ok(db) => db
                        .execute(
                            "DELETE FROM webstir_sessions WHERE expires_at <= ?",
                            params![now],
                        )
                        .await
                        .map(|_| ())
                        .map_err(StoreError::from),
                    Err(err) => Err(err),
                };
                if let Err(err) = swept {
                    tracing::warn!(target: "webstir::session", error = %crate::services::error_chain(&err), "sweeping expired sessions failed");
                }
            }
        }
    }
}

/// `0002_sessions` for SQLite: a `WITHOUT ROWID` table (the text id is the clustered key).
pub(crate) const SQLITE_SCHEMA: &str = "\
CREATE TABLE webstir_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX webstir_sessions_expires_at_idx ON webstir_sessions (expires_at);
";

/// `0002_sessions` for PostgreSQL.
pub(crate) const POSTGRES_SCHEMA: &str = "\
CREATE TABLE webstir_sessions (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webstir_sessions_expires_at_idx ON webstir_sessions (expires_at);
";
