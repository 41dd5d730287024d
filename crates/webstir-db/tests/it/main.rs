//! Integration tests for webstir-db: one binary, the same suite on SQLite (file and memory) and PostgreSQL.
//!
//! PostgreSQL runs when `WEBSTIR_TEST_POSTGRES_URL` is set, e.g.
//! `WEBSTIR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p webstir-db`.
//! Each engine's tests are compiled only with its Cargo feature (`sqlite`, `postgres`).

mod connect;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod migrate;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod queryable;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod system_migrations;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod transactions;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod types;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod util;
