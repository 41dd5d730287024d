//! Jobs of a project: the `add-job` request, its validation (the reference's rules and messages),
//! and the job files under `src/backend/jobs/`.
//!
//! A job is two files: `NAME.job.json` (the definition: name, schedule, description, priority) and
//! `NAME.rs` with its `run` function (or `NAME/mod.rs`).

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value, json};
use webstir_manifest::{JobDefinition, JobPriority, Schedule};

use crate::changes::Changes;
use crate::names::{job_name, module_name};
use crate::workspace::JOBS_DIR;
use crate::{registry, templates};

/// What `add-job` was asked for, as given on the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct JobRequest {
    pub(crate) name: String,
    pub(crate) schedule: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) priority: Option<String>,
}

/// A validated job: its name, file stem and definition JSON (keys in the reference's order).
#[derive(Debug, Clone)]
pub(crate) struct JobPlan {
    pub(crate) name: String,
    pub(crate) stem: String,
    pub(crate) definition: Map<String, Value>,
}

impl JobPlan {
    /// Validates a request, in the reference's order: name, then schedule.
    ///
    /// # Errors
    /// `Missing job name.`, `Invalid job name '…'. …`, or the schedule parser's message.
    pub(crate) fn resolve(req: &JobRequest) -> Result<Self> {
        let name = job_name(&req.name)?;
        let mut def = Map::new();
        def.insert("name".into(), json!(name));
        if let Some(schedule) = req
            .schedule
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Schedule::parse(schedule)?;
            def.insert("schedule".into(), json!(schedule));
        }
        if let Some(description) = req
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            def.insert("description".into(), json!(description));
        }
        if let Some(priority) = req
            .priority
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            def.insert(
                "priority".into(),
                serde_json::to_value(JobPriority::from_cli(priority))?,
            );
        }
        Ok(Self {
            stem: module_name(&name),
            name,
            definition: def,
        })
    }
}

/// A job found in the jobs folder.
#[derive(Debug, Clone)]
pub(crate) struct JobFile {
    /// File stem (also the module name of its `run` function).
    pub(crate) stem: String,
    /// The parsed definition.
    pub(crate) definition: JobDefinition,
}

/// Reads every `*.job.json` in `dir`, sorted by stem. A missing folder holds no jobs.
///
/// # Errors
/// When a file cannot be read or is not a job definition.
pub(crate) fn scan(dir: &Path) -> Result<Vec<JobFile>> {
    let mut out = Vec::new();
    for (stem, path) in registry::files_with_suffix(dir, ".job.json")? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let definition: JobDefinition = serde_json::from_str(&text)
            .with_context(|| format!("{JOBS_DIR}/{stem}.job.json is not a valid job definition"))?;
        out.push(JobFile { stem, definition });
    }
    Ok(out)
}

/// Adds the job to the workspace at `root`: `NAME.job.json`, `NAME.rs`, and the registry.
///
/// # Errors
/// `Job '<name>' already exists.` when a job of that name (or its files) exists; write failures.
pub(crate) fn apply(root: &Path, plan: &JobPlan, changes: &mut Changes) -> Result<()> {
    let dir = root.join(JOBS_DIR);
    let exists = scan(&dir)?.iter().any(|j| j.definition.name == plan.name)
        || registry::module_exists(&dir, &plan.stem)
        || dir.join(format!("{}.job.json", plan.stem)).exists();
    if exists {
        bail!("Job '{}' already exists.", plan.name);
    }
    let mut json = serde_json::to_string_pretty(&Value::Object(plan.definition.clone()))?;
    json.push('\n');
    let code = templates::render(
        "job/job.rs.jinja",
        &json!({ "name": plan.name, "stem": plan.stem }),
    )?;
    changes.create(&format!("{JOBS_DIR}/{}.job.json", plan.stem), &json)?;
    changes.create(&format!("{JOBS_DIR}/{}.rs", plan.stem), &code)?;
    registry::sync_jobs(root, changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(name: &str, schedule: Option<&str>, priority: Option<&str>) -> Result<JobPlan> {
        JobPlan::resolve(&JobRequest {
            name: name.into(),
            schedule: schedule.map(Into::into),
            description: Some(" Nightly account sync ".into()),
            priority: priority.map(Into::into),
        })
    }

    #[test]
    fn tutorial_job() {
        let plan = resolve("  nightly ", Some(" 0 0 * * * "), Some("5")).unwrap();
        assert_eq!(
            (plan.name.as_str(), plan.stem.as_str()),
            ("nightly", "nightly")
        );
        assert_eq!(
            serde_json::to_string(&Value::Object(plan.definition)).unwrap(),
            r#"{"name":"nightly","schedule":"0 0 * * *","description":"Nightly account sync","priority":5}"#
        );
        let plan = resolve("nightly-sync", Some("rate(5 minutes)"), Some("05")).unwrap();
        assert_eq!(plan.stem, "nightly_sync");
        assert_eq!(plan.definition["priority"], json!("05"));
    }

    #[test]
    fn name_is_checked_before_the_schedule() {
        let err = resolve("a/b", Some("nope"), None).unwrap_err().to_string();
        assert!(err.starts_with("Invalid job name 'a/b'."), "{err}");
        let err = resolve("ok", Some("0 0 * *"), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Invalid --schedule value '0 0 * *'. Expected 5-7 space-separated cron fields, @macro, or rate(...)."
        );
    }
}
