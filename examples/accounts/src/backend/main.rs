//! The seed's "Backend Loop" app on webstir: accounts, a JSON POST, a redirect and a fragment.

mod module;
mod routes;
mod store;

fn main() -> std::process::ExitCode {
    webstir::run(module::module())
}
