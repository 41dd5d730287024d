//! Route handlers, by page.

pub(crate) mod about;
pub(crate) mod account;
pub(crate) mod notes;
