//! Jobs.

pub(crate) mod nightly;
