//! An HTML-first notes app: sign-up and sign-in with a password, a session cookie, notes created,
//! edited and deleted through plain HTML forms (CSRF tokens, redirect-after-post, flash messages,
//! kept form errors), a panel refreshed as a fragment, and an "about" page rendered as a view.
//! Every page works without client JavaScript.

mod module;
mod pages;
mod routes;

fn main() -> std::process::ExitCode {
    // Under `cargo run` the app runs from its own folder (its view document is in build/frontend,
    // its database in data/) unless WORKSPACE_ROOT says otherwise.
    let has_root = ["WORKSPACE_ROOT", "WEBSTIR_WORKSPACE_ROOT"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    let own = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !has_root && own.join("build/frontend").is_dir() {
        let _ = std::env::set_current_dir(own);
    }
    webstir::run(module::module())
}
