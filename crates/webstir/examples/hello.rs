//! The smallest webstir app: one JSON route. Builds with any feature set, including none:
//!
//! ```text
//! cargo run -p webstir --example hello                          # default features
//! cargo run -p webstir --example hello --no-default-features    # no database, no auth
//! ```

use webstir::extract::Json;
use webstir::{Module, Route};

async fn hello() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "message": "Hello, World!" }))
}

fn main() -> std::process::ExitCode {
    webstir::run(
        Module::new("@demo/hello", "0.1.0")
            .route(Route::get("/api/hello").name("hello").handler(hello)),
    )
}
