//! The accept loop: connection cap, header-read and idle timeouts, graceful shutdown, and what
//! happens under pressure (at `HTTP_MAX_CONNECTIONS` or out of descriptors): the longest-idle
//! keep-alive connections are closed to make room, and accept errors back off and are logged once
//! per window.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, watch};

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
    let open = Arc::new(Open::default());
    let mut backoff = Backoff::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    // The header-read timeout is enforced by each connection's watchdog (see `connection`), not by
    // hyper's timer, which would allocate and register a timer for every request.
    let mut builder = http1::Builder::new();
    builder.header_read_timeout(None).keep_alive(true);
    tokio::pin!(shutdown);
    'accept: loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff.succeeded();
                    (stream, peer)
                }
                Err(err) => {
                    // Out of descriptors (EMFILE/ENFILE) or memory: make room by closing idle
                    // keep-alive connections, and back off instead of spinning and logging.
                    let evicted = if resource_error(&err) { open.evict_idle() } else { 0 };
                    let delay = backoff.failed(&err, evicted);
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(delay) => continue,
                    }
                }
            },
        };
        // At the cap, the accepted client waits for a slot; idle keep-alive connections are closed,
        // longest-idle first, until one frees (busy connections are never interrupted).
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => break,
            Err(TryAcquireError::NoPermits) => loop {
                open.evict_idle();
                tokio::select! {
                    biased;
                    () = &mut shutdown => break 'accept,
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => break permit,
                        Err(_) => break 'accept,
                    },
                    () = tokio::time::sleep(RECHECK) => {}
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::new(ConnState {
            peer: Some(peer.ip()),
            ..ConnState::new(&app)
        });
        let slot = Open::register(&open, state.clone(), permit);
        tokio::spawn(connection(
            app.clone(),
            layered.clone(),
            builder.clone(),
            stream,
            state,
            stop_rx.clone(),
            slot,
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
    state: Arc<ConnState>,
    mut stop_rx: watch::Receiver<bool>,
    slot: Slot,
) {
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
            () = state.evict.notified(), if !closing => {
                tracing::debug!(target: "webstir::http", "closing an idle keep-alive connection to make room");
                conn.as_mut().graceful_shutdown();
                closing = true;
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
    drop(slot);
}

/// How often a client accepted at the cap looks again for idle connections to close.
const RECHECK: Duration = Duration::from_millis(250);
/// Accept errors are logged at most once per window (with how many were not).
const LOG_WINDOW: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The open connections, for closing idle ones under pressure. Touched once when a connection
/// opens and once when it closes, never per request.
#[derive(Default)]
struct Open {
    inner: Mutex<OpenInner>,
}

#[derive(Default)]
struct OpenInner {
    next: u64,
    conns: HashMap<u64, Arc<ConnState>>,
}

/// An open connection's place: its permit under the cap and its entry in [`Open`], both given
/// back when the connection task ends.
struct Slot {
    open: Arc<Open>,
    id: u64,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.open.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.conns.remove(&self.id);
    }
}

impl Open {
    fn register(open: &Arc<Self>, state: Arc<ConnState>, permit: OwnedSemaphorePermit) -> Slot {
        let mut inner = open.inner.lock().unwrap_or_else(|e| e.into_inner());
        let id = inner.next;
        inner.next += 1;
        inner.conns.insert(id, state);
        Slot {
            open: open.clone(),
            id,
            _permit: permit,
        }
    }

    /// Tell the longest-idle keep-alive connections (no request in flight, no request head
    /// arriving) to close, as nginx does: an eighth of them, at least 1 and at most 32. Returns how
    /// many were told.
    fn evict_idle(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut idle: Vec<(u64, &Arc<ConnState>)> = inner
            .conns
            .values()
            .filter(|c| {
                c.in_flight.load(Ordering::Relaxed) == 0
                    && c.head_since_ms.load(Ordering::Relaxed) == 0
                    && !c.evicted.load(Ordering::Relaxed)
            })
            .map(|c| (c.last_active_ms.load(Ordering::Relaxed), c))
            .collect();
        let n = (idle.len() / 8).clamp(1, 32).min(idle.len());
        if n == 0 {
            return 0;
        }
        if n < idle.len() {
            idle.select_nth_unstable_by_key(n - 1, |(last, _)| *last);
        }
        for (_, conn) in &idle[..n] {
            conn.evicted.store(true, Ordering::Relaxed);
            conn.evict.notify_one();
        }
        n
    }
}

/// Out of descriptors or memory: the errors that closing idle connections can cure.
fn resource_error(err: &std::io::Error) -> bool {
    const ENOMEM: i32 = 12;
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    #[cfg(target_os = "linux")]
    const ENOBUFS: i32 = 105;
    #[cfg(not(target_os = "linux"))]
    const ENOBUFS: i32 = 55;
    matches!(err.raw_os_error(), Some(ENOMEM | ENFILE | EMFILE | ENOBUFS))
}

/// The accept loop's back-off: 10 ms doubling to 1 s while accept keeps failing (10 ms again when
/// idle connections were just closed), and one log line per [`LOG_WINDOW`].
struct Backoff {
    delay: Duration,
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            delay: BACKOFF_MIN,
            logged_at: None,
            unlogged: 0,
        }
    }
}

impl Backoff {
    fn succeeded(&mut self) {
        self.delay = BACKOFF_MIN;
    }

    fn failed(&mut self, err: &std::io::Error, evicted: usize) -> Duration {
        let delay = if evicted > 0 { BACKOFF_MIN } else { self.delay };
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        match self.logged_at {
            Some(at) if at.elapsed() < LOG_WINDOW => self.unlogged += 1,
            _ => {
                tracing::warn!(
                    target: "webstir::http",
                    error = %err,
                    closed_idle = evicted,
                    not_logged = self.unlogged,
                    backoff_ms = delay.as_millis() as u64,
                    "accept failed; backing off (logged at most once per 5 s)"
                );
                self.logged_at = Some(Instant::now());
                self.unlogged = 0;
            }
        }
        delay
    }
}
