//! Hello world on webstir with default features: only for the binary-size goal (G14).

use webstir::{Ctx, Module, Reply, Result, Route};

async fn hello(_ctx: Ctx) -> Result<Reply> {
    Ok(Reply::json(&serde_json::json!({ "message": "Hello, World!" })))
}

fn main() -> std::process::ExitCode {
    webstir::run(Module::new("@bench/hello", "0.0.0").route(Route::get("/api/hello").name("hello").handler(hello)))
}
