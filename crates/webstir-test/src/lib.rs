//! Test support for webstir backends: talk HTTP to a server over loopback, and run a built backend
//! binary as a real process (wait for `API server running`, capture its logs, send it signals).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use webstir_test::TestProcess;
//! let cmd = tokio::process::Command::new("target/debug/accounts");
//! let server = TestProcess::spawn(cmd).await?;
//! let res = server.client().get("/healthz").await?;
//! assert_eq!(res.status, 200);
//! assert_eq!(res.json()["ok"], true);
//! # Ok(()) }
//! ```
//!
//! This crate does not depend on the runtime, so the runtime's own tests can use it too.

mod client;
mod process;

pub use client::{TestClient, TestResponse};
pub use process::TestProcess;
