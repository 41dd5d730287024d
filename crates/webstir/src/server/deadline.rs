//! A deadline that costs nothing for work that finishes on its first poll: the timer is only created
//! once the inner future has returned `Pending`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub(crate) struct Deadline<F> {
    inner: F,
    limit: Option<Duration>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The deadline passed before the inner future finished.
pub(crate) struct Elapsed;

impl<F> Deadline<F> {
    /// `limit = None` means no deadline.
    pub(crate) fn new(inner: F, limit: Option<Duration>) -> Self {
        Self {
            inner,
            limit,
            sleep: None,
        }
    }
}

impl<F: Future + Unpin> Future for Deadline<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(value) = Pin::new(&mut self.inner).poll(cx) {
            return Poll::Ready(Ok(value));
        }
        let Some(limit) = self.limit else {
            return Poll::Pending;
        };
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_work_never_creates_a_timer_and_slow_work_times_out() {
        let mut quick = Deadline::new(Box::pin(async { 7 }), Some(Duration::from_millis(1)));
        assert!(matches!((&mut quick).await, Ok(7)));
        assert!(quick.sleep.is_none());
        let slow = Deadline::new(
            Box::pin(tokio::time::sleep(Duration::from_secs(5))),
            Some(Duration::from_millis(20)),
        );
        assert!(slow.await.is_err());
        let unlimited = Deadline::new(
            Box::pin(tokio::time::sleep(Duration::from_millis(30))),
            None,
        );
        assert!(unlimited.await.is_ok());
    }
}
