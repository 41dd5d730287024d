//! The backend as a library: the module with its routes and jobs. `main.rs` serves it, and the
//! tests in `tests/` build it in-process.

pub mod jobs;
mod module;
pub mod routes;

pub use module::module;
