//! Health and readiness: `/api/health`, `/healthz`, `/readyz`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{Response, StatusCode};

use super::response::{self, Body};
use crate::module::BoxFuture;

/// A readiness check: `Ok(())` when the dependency is usable, `Err(reason)` otherwise.
pub(crate) type Check = Arc<dyn Fn() -> BoxFuture<Result<(), String>> + Send + Sync>;

pub(crate) struct Readiness {
    /// False while start-up work (migrations) runs.
    ready: AtomicBool,
    manifest: serde_json::Value,
    checks: Vec<(String, Check)>,
}

impl Readiness {
    pub(crate) fn new(manifest: serde_json::Value, checks: Vec<(String, Check)>) -> Self {
        Self {
            ready: AtomicBool::new(false),
            manifest,
            checks,
        }
    }

    /// Whether start-up has not finished yet (routes answer 503 meanwhile).
    pub(crate) fn is_booting(&self) -> bool {
        !self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub(crate) fn health(&self, started: Instant) -> Response<Body> {
        // Seconds with millisecond precision, formatted from integers (no float formatting per probe).
        let uptime = started.elapsed();
        response::json(
            StatusCode::OK,
            format!(
                "{{\"ok\":true,\"uptime\":{}.{:03}}}",
                uptime.as_secs(),
                uptime.subsec_millis()
            ),
        )
    }

    pub(crate) async fn ready(&self, metrics: Option<serde_json::Value>) -> Response<Body> {
        match self.ready.load(Ordering::Acquire) {
            false => response::json_value(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({ "status": "booting" }),
            ),
            true => {
                for (name, check) in &self.checks {
                    let outcome = tokio::time::timeout(Duration::from_secs(2), check()).await;
                    let failure = match outcome {
                        Ok(Ok(())) => None,
                        Ok(Err(reason)) => Some(format!("{name}: {reason}")),
                        Err(_) => Some(format!("{name}: check timed out after 2 s")),
                    };
                    if let Some(message) = failure {
                        return response::json_value(
                            StatusCode::SERVICE_UNAVAILABLE,
                            &serde_json::json!({
                                "status": "error",
                                "message": message,
                                "manifest": self.manifest,
                            }),
                        );
                    }
                }
                let mut body = serde_json::json!({ "status": "ready", "manifest": self.manifest });
                if let Some(metrics) = metrics {
                    body["metrics"] = metrics;
                }
                response::json_value(StatusCode::OK, &body)
            }
        }
    }
}
