//! The seed's "Backend Loop" app on webstir: accounts in the database, a JSON POST, a redirect, a
//! fragment and the nightly sync job.

mod jobs;
mod module;
mod routes;

fn main() -> std::process::ExitCode {
    webstir::run(module::module())
}
