//! The accept loop: connection cap, header-read and idle timeouts, graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::service::{App, ConnService, ConnState};

/// Serve `listener` until `shutdown` resolves, then stop accepting, let in-flight requests finish
/// within the grace period, and return the number of connections that had to be dropped.
pub(crate) async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> usize {
    let max = app.config.max_connections.min(Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(app.config.header_read_timeout)
        .keep_alive(true);
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
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
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
            builder.clone(),
            stream,
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
    builder: http1::Builder,
    stream: TcpStream,
    mut stop_rx: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let state = Arc::new(ConnState::new(&app));
    let service = ConnService {
        app: app.clone(),
        conn: state.clone(),
    };
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let idle = app.config.idle_timeout;
    let mut closing = *stop_rx.borrow_and_update();
    if closing {
        conn.as_mut().graceful_shutdown();
    }
    let mut deadline = tokio::time::Instant::now() + idle;
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
            () = tokio::time::sleep_until(deadline), if !closing => {
                let now_ms = app.started.elapsed().as_millis() as u64;
                let idle_ms = idle.as_millis() as u64;
                if state.in_flight.load(Ordering::Relaxed) > 0 {
                    deadline = tokio::time::Instant::now() + idle;
                } else {
                    let idle_for = now_ms.saturating_sub(state.last_active_ms.load(Ordering::Relaxed));
                    if idle_for >= idle_ms {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    } else {
                        deadline = tokio::time::Instant::now() + Duration::from_millis(idle_ms - idle_for);
                    }
                }
            }
        }
    }
    drop(permit);
}
