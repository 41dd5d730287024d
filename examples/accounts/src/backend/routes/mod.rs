//! Route handlers.

pub(crate) mod accounts;
pub(crate) mod welcome;
