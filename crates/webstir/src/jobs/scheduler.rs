//! The scheduler: runs jobs on their schedules until told to stop, then gives running jobs a grace
//! period. Used by `app jobs --watch` and, with `JOBS_SCHEDULER=in-process`, by `app serve`.
//!
//! Design:
//! * One timer task per scheduled job. Its [`Timer`] is pure: given the wall-clock time it says
//!   "fire" or "wait this long"; the task sleeps on tokio's monotonic clock for at most
//!   [`MAX_SLEEP`] and asks again, so a wall-clock jump is noticed within that bound.
//! * Fire times are the schedule's absolute instants ([`Schedule::next_after`]), never "last run +
//!   interval", so no drift accumulates.
//! * Overlap: each timer task remembers its job's run in flight; a tick that arrives while it is
//!   still going is skipped and logged, never stacked.
//! * `@reboot` jobs run once when the scheduler starts; jobs without a schedule are not scheduled.
//! * Stop: the timers stop (no new runs), runs in flight get the grace period, the rest are
//!   abandoned (aborted) and reported.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webstir_manifest::Schedule;
use webstir_manifest::schedule::ScheduleKind;

use super::run::{Runner, TARGET, Trigger};
use crate::module::Job;

/// Longest single sleep; the wall clock is re-read at least this often.
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(60);

/// What a [`Timer`] wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// A fire time has been reached: run the job now.
    Fire,
    /// Sleep this long (at most [`MAX_SLEEP`]), then ask again.
    Wait(Duration),
    /// The schedule has no fire time left.
    Done,
}

/// The pure part of a job's schedule loop: when it fires next, given the wall-clock time.
///
/// * Several fire times missed at once (the process was stopped, or the clock jumped forward)
///   collapse into one run, then the timer aims at the first fire time after "now".
/// * If the clock goes backwards, a cron schedule keeps its target (a wall-clock time that already
///   ran does not run again; the job waits until the clock reaches its next time), while a `rate`
///   schedule — an interval of real time — re-aims from the new "now" instead of stalling.
#[derive(Debug, Clone)]
pub(crate) struct Timer {
    schedule: Schedule,
    next: Option<Timestamp>,
}

impl Timer {
    pub(crate) fn new(schedule: Schedule, now: Timestamp) -> Self {
        let next = schedule.next_after(now);
        Self { schedule, next }
    }

    /// The fire time the timer is waiting for.
    #[cfg(test)]
    pub(crate) fn next(&self) -> Option<Timestamp> {
        self.next
    }

    pub(crate) fn step(&mut self, now: Timestamp) -> Step {
        let Some(next) = self.next else {
            return Step::Done;
        };
        if now >= next {
            self.next = self.schedule.next_after(now);
            return Step::Fire;
        }
        let mut wait = duration_between(now, next);
        if let ScheduleKind::Rate(period) = self.schedule.kind()
            && wait > period
        {
            // Only a backwards clock jump puts a rate's next tick more than one period away.
            self.next = self.schedule.next_after(now);
            wait = self
                .next
                .map_or(Duration::ZERO, |n| duration_between(now, n));
        }
        Step::Wait(wait.min(MAX_SLEEP))
    }
}

fn duration_between(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

/// How a set of jobs is scheduled.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// `@reboot` jobs: run once at start.
    pub(crate) reboot: Vec<Arc<Job>>,
    /// Jobs with a clock schedule.
    pub(crate) timed: Vec<(Arc<Job>, Schedule)>,
    /// Jobs without a schedule (run on demand only).
    pub(crate) unscheduled: Vec<Arc<Job>>,
}

impl Plan {
    /// Sort `jobs` by schedule kind. A schedule that does not parse (the manifest validation
    /// normally rejects it first) is logged and the job is left unscheduled.
    pub(crate) fn new<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> Self {
        let mut plan = Self::default();
        for job in jobs {
            let job = Arc::new(job.clone());
            let expr = job
                .definition
                .schedule
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            match expr.map(Schedule::parse) {
                None => plan.unscheduled.push(job),
                Some(Ok(schedule)) if schedule.is_reboot() => plan.reboot.push(job),
                Some(Ok(schedule)) => plan.timed.push((job, schedule)),
                Some(Err(err)) => {
                    tracing::warn!(
                        target: TARGET,
                        "[jobs] unsupported schedule for {}: {err}",
                        job.definition.name
                    );
                    plan.unscheduled.push(job);
                }
            }
        }
        plan
    }

    /// Whether nothing would run on its own.
    pub(crate) fn is_idle(&self) -> bool {
        self.reboot.is_empty() && self.timed.is_empty()
    }

    /// Names of the jobs that run on their own, timed ones first, each group in declaration order.
    pub(crate) fn watched_names(&self) -> Vec<&str> {
        self.timed
            .iter()
            .map(|(job, _)| job.definition.name.as_str())
            .chain(self.reboot.iter().map(|job| job.definition.name.as_str()))
            .collect()
    }
}

/// A run in flight: the job's name and the task running it.
pub(crate) type InFlight = (String, JoinHandle<Result<(), String>>);

/// The scheduler, ready to start.
#[derive(Debug)]
pub(crate) struct Scheduler {
    plan: Plan,
    runner: Runner,
    grace: Duration,
}

/// What a stop left behind.
#[derive(Debug, Default)]
pub(crate) struct StopReport {
    /// Jobs whose runs were still going when the grace period ended (they were aborted).
    pub(crate) abandoned: Vec<String>,
}

/// A started scheduler.
#[derive(Debug)]
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    timers: Vec<JoinHandle<Option<InFlight>>>,
    reboot: Vec<InFlight>,
    grace: Duration,
}

impl Scheduler {
    pub(crate) fn new(plan: Plan, runner: Runner, grace: Duration) -> Self {
        Self {
            plan,
            runner,
            grace,
        }
    }

    /// Start the `@reboot` runs and one timer task per scheduled job (needs a tokio runtime).
    pub(crate) fn start(self) -> Running {
        let (stop, stopped) = watch::channel(false);
        let reboot = self
            .plan
            .reboot
            .into_iter()
            .map(|job| {
                let name = job.definition.name.clone();
                let runner = self.runner.clone();
                (
                    name,
                    tokio::spawn(async move { runner.run(job, Trigger::Reboot).await }),
                )
            })
            .collect();
        let timers = self
            .plan
            .timed
            .into_iter()
            .map(|(job, schedule)| {
                tokio::spawn(tick_loop(
                    job,
                    schedule,
                    self.runner.clone(),
                    stopped.clone(),
                ))
            })
            .collect();
        Running {
            stop,
            timers,
            reboot,
            grace: self.grace,
        }
    }
}

/// One job's schedule loop; returns its run still in flight when stopped.
async fn tick_loop(
    job: Arc<Job>,
    schedule: Schedule,
    runner: Runner,
    mut stopped: watch::Receiver<bool>,
) -> Option<InFlight> {
    let name = job.definition.name.clone();
    let mut timer = Timer::new(schedule, Timestamp::now());
    let mut current: Option<JoinHandle<Result<(), String>>> = None;
    loop {
        if *stopped.borrow() {
            break;
        }
        match timer.step(Timestamp::now()) {
            Step::Done => {
                tracing::warn!(
                    target: TARGET,
                    "[jobs] schedule '{}' does not produce a future run time. Stopping local watch for {name}.",
                    job.definition.schedule.as_deref().unwrap_or_default().trim()
                );
                break;
            }
            Step::Wait(wait) => {
                let deadline = tokio::time::Instant::now() + wait;
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    changed = stopped.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
            }
            Step::Fire => {
                if current.as_ref().is_some_and(|run| !run.is_finished()) {
                    tracing::warn!(
                        target: TARGET,
                        job = %name,
                        "[jobs] skipping {name}; previous run is still active (overlap policy: skip)"
                    );
                } else {
                    let runner = runner.clone();
                    let job = job.clone();
                    current = Some(tokio::spawn(async move {
                        runner.run(job, Trigger::Schedule).await
                    }));
                }
            }
        }
    }
    current
        .filter(|run| !run.is_finished())
        .map(|run| (name, run))
}

impl Running {
    /// The `@reboot` runs (to wait for them when nothing else is scheduled).
    pub(crate) fn reboot_runs(&mut self) -> &mut [InFlight] {
        &mut self.reboot
    }

    /// Whether any job runs on a clock.
    pub(crate) fn has_timers(&self) -> bool {
        !self.timers.is_empty()
    }

    /// Stop: no new runs start (logs `[jobs] <reason>; stopped N scheduled job timer(s).`); runs in
    /// flight get the grace period, cut short when `hurry` resolves (a second signal); the rest are
    /// aborted and named in the report.
    pub(crate) async fn stop(
        self,
        reason: &str,
        hurry: impl Future<Output = ()> + Send,
    ) -> StopReport {
        let Self {
            stop,
            timers,
            reboot,
            grace,
        } = self;
        let _ = stop.send(true);
        let count = timers.len();
        let mut in_flight: Vec<InFlight> = reboot
            .into_iter()
            .filter(|(_, run)| !run.is_finished())
            .collect();
        for timer in timers {
            if let Ok(Some(run)) = timer.await {
                in_flight.push(run);
            }
        }
        tracing::info!(
            target: TARGET,
            "[jobs] {reason}; stopped {count} scheduled job timer(s)."
        );
        drain(in_flight, grace, hurry).await
    }
}

/// Wait up to `grace` (or until `hurry`) for the runs, then abort the ones still going.
pub(crate) async fn drain(
    mut in_flight: Vec<InFlight>,
    grace: Duration,
    hurry: impl Future<Output = ()> + Send,
) -> StopReport {
    in_flight.retain(|(_, run)| !run.is_finished());
    if in_flight.is_empty() {
        return StopReport::default();
    }
    let names: Vec<&str> = in_flight.iter().map(|(name, _)| name.as_str()).collect();
    tracing::info!(
        target: TARGET,
        "[jobs] waiting up to {} ms for {} running job(s): {}",
        grace.as_millis(),
        names.len(),
        names.join(", ")
    );
    let all = futures_util::future::join_all(in_flight.iter_mut().map(|(_, run)| run));
    tokio::select! {
        _ = tokio::time::timeout(grace, all) => {}
        () = hurry => {}
    }
    let abandoned: Vec<String> = in_flight
        .into_iter()
        .filter(|(_, run)| !run.is_finished())
        .map(|(name, run)| {
            run.abort();
            name
        })
        .collect();
    if !abandoned.is_empty() {
        tracing::error!(
            target: TARGET,
            "[jobs] abandoned {} running job(s) after the grace period: {}",
            abandoned.len(),
            abandoned.join(", ")
        );
    }
    StopReport { abandoned }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn timer(expr: &str, now: &str) -> Timer {
        Timer::new(Schedule::parse(expr).unwrap(), at(now))
    }

    #[test]
    fn rate_waits_for_the_next_whole_period_then_fires_once() {
        let mut t = timer("rate(1 second)", "2026-01-01T00:00:10.3Z");
        assert_eq!(t.next(), Some(at("2026-01-01T00:00:11Z")));
        assert_eq!(
            t.step(at("2026-01-01T00:00:10.3Z")),
            Step::Wait(Duration::from_millis(700))
        );
        assert_eq!(t.step(at("2026-01-01T00:00:11Z")), Step::Fire);
        assert_eq!(t.next(), Some(at("2026-01-01T00:00:12Z")));
        // Asking again at the same instant does not fire twice.
        assert_eq!(
            t.step(at("2026-01-01T00:00:11Z")),
            Step::Wait(Duration::from_secs(1))
        );
    }

    #[test]
    fn a_late_wake_fires_once_and_keeps_the_schedule_grid() {
        let mut t = timer("rate(1 second)", "2026-01-01T00:00:10Z");
        // Woke 250 ms late: fire, and the next tick is still on the whole second (no drift).
        assert_eq!(t.step(at("2026-01-01T00:00:11.25Z")), Step::Fire);
        assert_eq!(t.next(), Some(at("2026-01-01T00:00:12Z")));
        assert_eq!(
            t.step(at("2026-01-01T00:00:11.25Z")),
            Step::Wait(Duration::from_millis(750))
        );
    }

    #[test]
    fn a_forward_jump_collapses_missed_ticks_into_one_run() {
        let mut t = timer("*/10 * * * * *", "2026-01-01T00:00:01Z");
        assert_eq!(t.next(), Some(at("2026-01-01T00:00:10Z")));
        assert_eq!(t.step(at("2026-01-01T05:00:03Z")), Step::Fire);
        assert_eq!(t.next(), Some(at("2026-01-01T05:00:10Z")));
        assert_eq!(
            t.step(at("2026-01-01T05:00:03Z")),
            Step::Wait(Duration::from_secs(7))
        );
    }

    #[test]
    fn a_backward_jump_reaims_a_rate_but_not_a_cron_time() {
        let mut rate = timer("rate(5 seconds)", "2026-01-01T10:00:01Z");
        assert_eq!(rate.next(), Some(at("2026-01-01T10:00:05Z")));
        assert_eq!(
            rate.step(at("2026-01-01T09:00:02Z")),
            Step::Wait(Duration::from_secs(3))
        );
        assert_eq!(rate.next(), Some(at("2026-01-01T09:00:05Z")));

        let mut daily = timer("0 0 * * *", "2026-01-01T00:00:30Z");
        assert_eq!(daily.next(), Some(at("2026-01-02T00:00:00Z")));
        // The clock goes back an hour: 00:00 already ran today, so the target stays tomorrow.
        assert_eq!(
            daily.step(at("2025-12-31T23:30:00Z")),
            Step::Wait(MAX_SLEEP)
        );
        assert_eq!(daily.next(), Some(at("2026-01-02T00:00:00Z")));
    }

    #[test]
    fn long_waits_are_capped_and_exhausted_schedules_are_done() {
        let mut hourly = timer("@hourly", "2026-01-01T00:00:00Z");
        assert_eq!(
            hourly.step(at("2026-01-01T00:00:00Z")),
            Step::Wait(MAX_SLEEP)
        );
        let mut past = timer("0 0 12 1 1 * 2020", "2026-01-01T00:00:00Z");
        assert_eq!(past.next(), None);
        assert_eq!(past.step(at("2026-01-01T00:00:00Z")), Step::Done);
    }

    #[test]
    fn plan_sorts_jobs_by_schedule_kind() {
        let jobs = [
            Job::new("manual"),
            Job::new("blank").schedule("  "),
            Job::new("boot").schedule("@reboot"),
            Job::new("tick").schedule("rate(1 second)"),
            Job::new("nightly").schedule("0 0 * * *"),
            Job::new("broken").schedule("every Tuesdayish"),
        ];
        let plan = Plan::new(&jobs);
        let names = |jobs: &[Arc<Job>]| {
            jobs.iter()
                .map(|j| j.definition.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&plan.reboot), ["boot"]);
        assert_eq!(names(&plan.unscheduled), ["manual", "blank", "broken"]);
        assert_eq!(plan.watched_names(), ["tick", "nightly", "boot"]);
        assert!(!plan.is_idle());
        assert!(Plan::new(&jobs[..2]).is_idle());
    }

    #[tokio::test]
    async fn drain_waits_for_quick_runs_and_abandons_slow_ones() {
        let quick: InFlight = (
            "quick".to_owned(),
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(())
            }),
        );
        let stuck: InFlight = ("stuck".to_owned(), tokio::spawn(std::future::pending()));
        let report = drain(
            vec![quick, stuck],
            Duration::from_millis(200),
            std::future::pending(),
        )
        .await;
        assert_eq!(report.abandoned, ["stuck"]);

        let stuck: InFlight = ("stuck".to_owned(), tokio::spawn(std::future::pending()));
        let report = drain(vec![stuck], Duration::from_secs(3600), async {}).await;
        assert_eq!(report.abandoned, ["stuck"], "hurry cuts the grace short");
    }
}
