//! Integration tests for webstir-db: one binary, the same suite on SQLite (file and memory) and PostgreSQL.
//!
//! PostgreSQL runs when `WEBSTIR_TEST_POSTGRES_URL` is set, e.g.
//! `WEBSTIR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p webstir-db`.

mod connect;
mod migrate;
mod transactions;
mod types;
mod util;
