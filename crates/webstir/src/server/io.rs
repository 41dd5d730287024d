//! The connection's socket, wrapped to notice when a request head starts arriving, so the
//! per-connection watchdog can enforce the header-read timeout without a timer per request.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::service::ConnState;

pub(crate) struct WatchedStream {
    inner: TcpStream,
    state: Arc<ConnState>,
    started: Instant,
}

impl WatchedStream {
    pub(crate) fn new(inner: TcpStream, state: Arc<ConnState>, started: Instant) -> Self {
        Self {
            inner,
            state,
            started,
        }
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && self.state.in_flight.load(Ordering::Relaxed) == 0
            && self.state.head_since_ms.load(Ordering::Relaxed) == 0
        {
            // The first bytes of a new request head: the header-read clock starts now.
            let now = self.started.elapsed().as_millis() as u64 + 1;
            self.state.head_since_ms.store(now, Ordering::Relaxed);
        }
        result
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
