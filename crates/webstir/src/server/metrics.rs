//! Request metrics for `/metrics` and `/readyz`: totals, errors (status ≥ 500), counts by status, and
//! the average and p95 duration over a rolling window of the last `METRICS_WINDOW` requests.
//!
//! Recording is lock-free (a few relaxed atomics per request); the snapshot does the sorting.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub(crate) struct Metrics {
    enabled: bool,
    total: AtomicU64,
    errors: AtomicU64,
    by_status: Box<[AtomicU64]>,
    window: Box<[AtomicU32]>,
    next: AtomicU64,
}

const FIRST_STATUS: usize = 100;
const LAST_STATUS: usize = 599;

impl Metrics {
    pub(crate) fn new(enabled: bool, window: usize) -> Self {
        let window = if enabled { window.max(1) } else { 0 };
        Self {
            enabled,
            total: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            by_status: (FIRST_STATUS..=LAST_STATUS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            window: (0..window).map(|_| AtomicU32::new(0)).collect(),
            next: AtomicU64::new(0),
        }
    }

    /// Record one finished request.
    pub(crate) fn record(&self, status: u16, duration_us: u64) {
        if !self.enabled {
            return;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(slot) = (status as usize)
            .checked_sub(FIRST_STATUS)
            .and_then(|i| self.by_status.get(i))
        {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        let at = self.next.fetch_add(1, Ordering::Relaxed) as usize % self.window.len();
        self.window[at].store(
            duration_us.min(u64::from(u32::MAX)) as u32,
            Ordering::Relaxed,
        );
    }

    /// The snapshot, or `None` when metrics are off.
    pub(crate) fn snapshot(&self) -> Option<serde_json::Value> {
        if !self.enabled {
            return None;
        }
        let filled = (self.next.load(Ordering::Relaxed) as usize).min(self.window.len());
        let mut durations: Vec<u32> = self.window[..filled]
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .collect();
        durations.sort_unstable();
        let ms = |us: f64| (us / 1000.0 * 1000.0).round() / 1000.0;
        let (average, p95) = if durations.is_empty() {
            (0.0, 0.0)
        } else {
            let sum: u64 = durations.iter().map(|&d| u64::from(d)).sum();
            let index =
                ((0.95 * (durations.len() - 1) as f64).floor() as usize).min(durations.len() - 1);
            (
                ms(sum as f64 / durations.len() as f64),
                ms(f64::from(durations[index])),
            )
        };
        let mut by_status = serde_json::Map::new();
        for (i, count) in self.by_status.iter().enumerate() {
            let count = count.load(Ordering::Relaxed);
            if count > 0 {
                by_status.insert((i + FIRST_STATUS).to_string(), count.into());
            }
        }
        Some(serde_json::json!({
            "enabled": true,
            "totalRequests": self.total.load(Ordering::Relaxed),
            "errorCount": self.errors.load(Ordering::Relaxed),
            "averageDurationMs": average,
            "p95DurationMs": p95,
            "byStatus": by_status,
            "windowSize": self.window.len(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn snapshot_counts_statuses_errors_and_window_percentiles() {
        let m = Metrics::new(true, 4);
        for (status, us) in [
            (200, 1000),
            (200, 3000),
            (404, 2000),
            (500, 4000),
            (200, 5000),
        ] {
            m.record(status, us);
        }
        let s = m.snapshot().unwrap();
        assert_eq!(s["totalRequests"], 5);
        assert_eq!(s["errorCount"], 1);
        assert_eq!(s["byStatus"]["200"], 3);
        assert_eq!(s["byStatus"]["404"], 1);
        // window holds the last 4: 3, 2, 4, 5 ms → average 3.5, p95 index floor(0.95*3)=2 → 4 ms
        assert_eq!(s["averageDurationMs"], 3.5);
        assert_eq!(s["p95DurationMs"], 4.0);
        assert_eq!(s["windowSize"], 4);
    }

    #[test]
    fn disabled_metrics_record_nothing() {
        let m = Metrics::new(false, 200);
        m.record(200, 10);
        assert!(m.snapshot().is_none());
    }
}
