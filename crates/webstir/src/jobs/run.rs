//! One run of one job: its context, span, log lines and outcome. Shared by `--job`, `--all`, the
//! `--watch` scheduler and the in-process scheduler of `serve`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use tracing::Instrument;

use super::JobContext;
use crate::Env;
use crate::context::Services;
use crate::module::Job;

/// Log target of every line the runner writes.
pub(crate) const TARGET: &str = "webstir::jobs";

/// Why a run started (a field on its log lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// `--job` or `--all`.
    Manual,
    /// A tick of the job's schedule.
    Schedule,
    /// `@reboot`: once when the scheduler starts.
    Reboot,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Schedule => "schedule",
            Self::Reboot => "reboot",
        }
    }
}

/// Runs jobs with the process's env and services.
#[derive(Debug, Clone)]
pub(crate) struct Runner {
    env: Env,
    services: Services,
}

impl Runner {
    pub(crate) fn new(env: Env, services: Services) -> Self {
        Self { env, services }
    }

    /// Run `job` once: log `[jobs] running …`, then `… completed in Nms` or `… failed: <error>`.
    /// A panic in the job is a failed run. Returns the error message on failure.
    pub(crate) async fn run(&self, job: Arc<Job>, trigger: Trigger) -> Result<(), String> {
        let name = job.definition.name.as_str();
        let run_id = crate::server::request_id::generate();
        let span = tracing::info_span!(target: TARGET, "job", job = %name, run_id = %run_id);
        let schedule = job
            .definition
            .schedule
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("manual");
        span.in_scope(|| {
            tracing::info!(
                target: TARGET,
                trigger = trigger.as_str(),
                "[jobs] running {name} (schedule: {schedule})"
            );
        });
        let started = Instant::now();
        let outcome = match job.handler.clone() {
            None => Err("no run function is set (declare it with Job::run)".to_owned()),
            Some(handler) => {
                let ctx = JobContext {
                    name: name.to_owned(),
                    run_id,
                    env: self.env.clone(),
                    span: span.clone(),
                    services: self.services.clone(),
                };
                let call = std::panic::catch_unwind(AssertUnwindSafe(move || handler.call(ctx)));
                match call {
                    Err(payload) => Err(panicked(&*payload)),
                    Ok(fut) => match AssertUnwindSafe(fut)
                        .catch_unwind()
                        .instrument(span.clone())
                        .await
                    {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(err)) => Err(err.to_string()),
                        Err(payload) => Err(panicked(&*payload)),
                    },
                }
            }
        };
        let ms = started.elapsed().as_millis();
        let duration_ms = u64::try_from(ms).unwrap_or(u64::MAX);
        span.in_scope(|| match &outcome {
            Ok(()) => tracing::info!(
                target: TARGET,
                duration_ms,
                "[jobs] {name} completed in {ms}ms"
            ),
            Err(error) => tracing::error!(
                target: TARGET,
                duration_ms,
                error = %error,
                "[jobs] {name} failed: {error}"
            ),
        });
        outcome
    }
}

fn panicked(payload: &(dyn std::any::Any + Send)) -> String {
    let message = crate::panic_text(payload).unwrap_or("a non-string payload");
    format!("panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner() -> Runner {
        Runner::new(Env::from_pairs([("GREETING", "hi")]), Services::default())
    }

    #[tokio::test]
    async fn success_error_panic_and_missing_handler() {
        let ok = Arc::new(Job::new("ok").run(|ctx: JobContext| async move {
            assert_eq!(ctx.env().get("GREETING"), Some("hi"));
            assert_eq!(ctx.name(), "ok");
            assert_eq!(ctx.run_id().len(), 36);
            Ok(())
        }));
        assert_eq!(runner().run(ok, Trigger::Manual).await, Ok(()));

        let fails = Arc::new(
            Job::new("fails").run(|_ctx| async { Err(crate::Error::msg("database unavailable")) }),
        );
        assert_eq!(
            runner().run(fails, Trigger::Manual).await,
            Err("database unavailable".to_owned())
        );

        let panics = Arc::new(Job::new("panics").run(|_ctx| async {
            if true {
                panic!("boom");
            }
            Ok(())
        }));
        assert_eq!(
            runner().run(panics, Trigger::Schedule).await,
            Err("panicked: boom".to_owned())
        );

        let bare = Arc::new(Job::new("bare"));
        let err = runner().run(bare, Trigger::Reboot).await.unwrap_err();
        assert!(err.contains("no run function"), "{err}");
    }
}
