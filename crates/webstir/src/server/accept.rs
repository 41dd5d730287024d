//! The accept loop: connection cap, header-read and idle timeouts, graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::io::WatchedStream;
use super::service::{App, ConnService, ConnState};

/// Serve `listener` until `shutdown` resolves, then stop accepting, let in-flight requests finish
/// within the grace period, and return the number of connections that had to be dropped.
pub(crate) async fn serve(
    app: Arc<App>,
    layered: Option<crate::handler::RouteService>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> usize {
    let max = app.config.max_connections.min(Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    // The header-read timeout is enforced by each connection's watchdog (see `connection`), not by
    // hyper's timer, which would allocate and register a timer for every request.
    let mut builder = http1::Builder::new();
    builder.header_read_timeout(None).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(err) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(target: "webstir::http", error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            app.clone(),
            layered.clone(),
            builder.clone(),
            stream,
            peer,
            stop_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let grace = app.config.shutdown_grace;
    match tokio::time::timeout(grace, permits.acquire_many(max as u32)).await {
        Ok(_) => 0,
        Err(_) => {
            let open = max - permits.available_permits();
            tracing::warn!(
                target: "webstir::http",
                open_connections = open,
                grace_ms = grace.as_millis() as u64,
                "shutdown grace period over; dropping open connections"
            );
            open
        }
    }
}

async fn connection(
    app: Arc<App>,
    layered: Option<crate::handler::RouteService>,
    builder: http1::Builder,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    mut stop_rx: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let state = Arc::new(ConnState {
        peer: Some(peer.ip()),
        ..ConnState::new(&app)
    });
    let service = ConnService {
        app: app.clone(),
        conn: state.clone(),
        layered,
    };
    let io = WatchedStream::new(stream, state.clone(), app.started);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let idle_ms = app.config.idle_timeout.as_millis() as u64;
    let head_ms = app.config.header_read_timeout.as_millis() as u64;
    // One periodic check per connection enforces both timeouts.
    let shortest = if head_ms == 0 {
        idle_ms
    } else {
        head_ms.min(idle_ms)
    };
    let tick = Duration::from_millis((shortest / 4).clamp(10, 1000));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = *stop_rx.borrow_and_update();
    if closing {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(target: "webstir::http", error = %err, "connection ended with an error");
                }
                break;
            }
            changed = stop_rx.changed(), if !closing => {
                if changed.is_err() || *stop_rx.borrow() {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = ticks.tick(), if !closing => {
                if state.in_flight.load(Ordering::Relaxed) > 0 {
                    continue;
                }
                let now_ms = app.started.elapsed().as_millis() as u64;
                let head_since = state.head_since_ms.load(Ordering::Relaxed);
                if head_ms > 0 && head_since > 0 && now_ms + 1 - head_since >= head_ms {
                    // A request head that never completes (slowloris), or a silent new connection.
                    tracing::debug!(target: "webstir::http", "closing a connection that did not send a request head in time");
                    break;
                }
                let idle_for = now_ms.saturating_sub(state.last_active_ms.load(Ordering::Relaxed));
                if idle_for >= idle_ms {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
    drop(permit);
}
