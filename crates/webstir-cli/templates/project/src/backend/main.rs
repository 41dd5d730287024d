//! The backend binary: `serve` (the default), `manifest`, `jobs` and `migrate`.
//!
//! Everything the backend offers is declared in `module.rs`.

mod jobs;
mod module;
mod routes;

fn main() -> std::process::ExitCode {
    webstir::run(module::module())
}
