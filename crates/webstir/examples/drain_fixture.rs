//! A backend for the process-level drain test (`crates/webstir/tests/reliability/drain.rs`): a
//! real process, real signals.
//!
//! | route | does |
//! |---|---|
//! | `GET /hold` | counts itself in flight, waits until shutdown is requested, then works 300 ms more and answers `done` |
//! | `GET /inflight` | how many `/hold` requests are in flight |
//! | `GET /ticks` | server-sent events every 50 ms until shutdown is requested, then the stream ends |
//! | `GET /endless` | a chunked body that never ends and ignores shutdown (cut at `SHUTDOWN_GRACE_MS`) |
//!
//! ```bash
//! cargo run -p webstir --example drain_fixture
//! ```

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use webstir::axum::response::sse::{Event, Sse};
use webstir::futures::{Stream, StreamExt, stream};
use webstir::{Ctx, Module, Reply, Result, Route};

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

async fn hold(ctx: Ctx) -> Result<Reply> {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    let shutdown = ctx.shutdown().clone();
    // Bounded, so a test that never signals does not leave requests hanging forever.
    let _ = tokio::time::timeout(Duration::from_secs(60), shutdown.requested()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    Ok(Reply::text("done"))
}

async fn inflight(_ctx: Ctx) -> Result<Reply> {
    Ok(Reply::text(IN_FLIGHT.load(Ordering::SeqCst).to_string()))
}

async fn ticks(ctx: Ctx) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    let shutdown = ctx.shutdown().clone();
    let timer = tokio::time::interval(Duration::from_millis(50));
    let events = stream::unfold((timer, 0u64), |(mut timer, n)| async move {
        timer.tick().await;
        Some((
            Ok(Event::default().event("tick").data(n.to_string())),
            (timer, n + 1),
        ))
    });
    let until_shutdown = Box::pin(async move { shutdown.requested().await });
    Sse::new(events.take_until(until_shutdown))
}

async fn endless(_ctx: Ctx) -> webstir::axum::response::Response {
    let timer = tokio::time::interval(Duration::from_millis(50));
    let chunks = stream::unfold(timer, |mut timer| async move {
        timer.tick().await;
        Some((
            Ok::<_, Infallible>(bytes::Bytes::from_static(b"x\n")),
            timer,
        ))
    });
    webstir::axum::response::Response::new(webstir::axum::body::Body::from_stream(chunks))
}

fn main() -> std::process::ExitCode {
    webstir::run(
        Module::new("@test/drain", "0.1.0")
            .route(Route::get("/hold").name("hold").handler(hold))
            .route(Route::get("/inflight").name("inflight").handler(inflight))
            .route(Route::get("/ticks").name("ticks").handler(ticks))
            .route(Route::get("/endless").name("endless").handler(endless)),
    )
}
