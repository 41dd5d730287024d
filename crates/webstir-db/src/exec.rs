//! What every engine runs and returns (shared by the engines and `db.rs`).

use crate::row::Row;

/// What a statement should return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Rows,
    Execute,
}

/// What a statement returned.
#[derive(Debug)]
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(dead_code, reason = "produced by the engines")
)]
pub(crate) enum Output {
    Rows(Vec<Row>),
    Affected(u64),
}
