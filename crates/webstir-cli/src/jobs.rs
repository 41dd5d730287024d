//! Jobs of a project: the `add-job` request, its validation (the reference's rules and messages),
//! and the job files under `src/backend/jobs/`.
//!
//! A job is one Rust file, `NAME.rs` (or `NAME/mod.rs`), with its declaration
//! (`pub fn job() -> Job`, a builder chain) and its `run` function. A re-run of `add-job` for the
//! same name edits the declaration's calls in place (see [`crate::decl`]) and never `run`.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use webstir_manifest::{JobPriority, Schedule};

use crate::changes::Changes;
use crate::decl::{self, Found};
use crate::names::{job_name, module_name};
use crate::workspace::JOBS_DIR;
use crate::{registry, templates};

/// What `add-job` was asked for, as given on the command line (`None`: keep what is declared;
/// blank: clear it).
#[derive(Debug, Clone, Default)]
pub(crate) struct JobRequest {
    pub(crate) name: String,
    pub(crate) schedule: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) priority: Option<String>,
}

/// The metadata of a job as its declaration writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobDecl {
    pub(crate) name: String,
    schedule: Option<String>,
    description: Option<String>,
    priority: Option<JobPriority>,
}

const KEYS: [&str; 3] = ["schedule", "description", "priority"];

impl JobDecl {
    fn call(&self, key: &str) -> Option<String> {
        match key {
            "schedule" => self
                .schedule
                .as_ref()
                .map(|s| format!(".schedule({})", decl::quote(s))),
            "description" => self
                .description
                .as_ref()
                .map(|s| format!(".description({})", decl::quote(s))),
            "priority" => self.priority.as_ref().map(|p| match p {
                JobPriority::Number(n) => format!(".priority({n})"),
                JobPriority::Text(t) => format!(".priority_label({})", decl::quote(t)),
            }),
            _ => None,
        }
    }

    fn render(&self) -> String {
        let mut out = format!("    Job::new({})", decl::quote(&self.name));
        for key in KEYS {
            if let Some(call) = self.call(key) {
                out.push_str("\n        ");
                out.push_str(&call);
            }
        }
        out.push_str("\n        .run(run)");
        out
    }

    fn read(chain: &decl::Chain) -> Result<(Self, Vec<Option<usize>>), String> {
        let name = match (chain.ctor.as_str(), chain.ctor_args.as_slice()) {
            ("new", [arg]) => decl::str_lit(arg),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "line {}: the job is not `Job::new(\"name\")`",
                chain.ctor_line
            )
        })?;
        let mut d = Self {
            name,
            schedule: None,
            description: None,
            priority: None,
        };
        let mut at = vec![None; KEYS.len()];
        for (i, call) in chain.calls.iter().enumerate() {
            let key = match call.name.as_str() {
                "priority" | "priority_label" => "priority",
                "schedule" => "schedule",
                "description" => "description",
                _ => continue,
            };
            let slot = KEYS.iter().position(|k| *k == key).unwrap_or_default();
            if at[slot].is_some() {
                return Err(format!("line {}: `{key}` is declared twice", call.line));
            }
            at[slot] = Some(i);
            let bad = || {
                format!(
                    "line {}: `.{}(…)` does not have a literal argument add-job can read",
                    call.line, call.name
                )
            };
            let arg = match call.args.as_slice() {
                [arg] => arg,
                _ => return Err(bad()),
            };
            match call.name.as_str() {
                "schedule" => d.schedule = Some(decl::str_lit(arg).ok_or_else(bad)?),
                "description" => d.description = Some(decl::str_lit(arg).ok_or_else(bad)?),
                "priority" => {
                    d.priority = Some(JobPriority::Number(decl::int_lit(arg).ok_or_else(bad)?));
                }
                _ => d.priority = Some(JobPriority::Text(decl::str_lit(arg).ok_or_else(bad)?)),
            }
        }
        Ok((d, at))
    }
}

/// Converts an older project's `NAME.job.json` files into `job()` declarations in `NAME.rs` and
/// removes the JSON.
///
/// # Errors
/// A definition that does not parse, a module that already declares `job()`, or a failed write.
pub(crate) fn convert_json(root: &Path, changes: &mut Changes) -> Result<()> {
    let dir = root.join(JOBS_DIR);
    for (stem, path) in registry::files_with_suffix(&dir, ".job.json")? {
        let rel = format!("{JOBS_DIR}/{stem}.job.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {rel}"))?;
        let def: webstir_manifest::JobDefinition = serde_json::from_str(&text)
            .with_context(|| format!("{rel} is not a valid job definition; fix or delete it"))?;
        let decl = JobDecl {
            name: def.name.clone(),
            schedule: def.schedule.clone(),
            description: def.description.clone(),
            priority: def.priority.clone(),
        };
        let (rs, file) = registry::module_file(&dir, JOBS_DIR, &stem);
        let code = std::fs::read_to_string(&file).unwrap_or_default();
        let code = if code.is_empty() {
            templates::rustfmt(templates::render(
                "job/job.rs.jinja",
                &serde_json::json!({ "name": decl.name, "declaration": decl.render() }),
            )?)
        } else {
            if !matches!(decl::find(&code, "job", "Job"), Ok(Found::Missing)) {
                bail!("{rel}: {rs} already has a `job()` function; delete the JSON file");
            }
            format!(
                "{code}\n/// Name, schedule, description and priority of the job (converted from its \
                 former `.job.json`).\npub fn job() -> webstir::Job {{\n{}\n}}\n",
                decl.render().replacen("    Job::", "    webstir::Job::", 1)
            )
        };
        changes.write(&rs, &code)?;
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {rel}"))?;
        changes.record(&rel);
    }
    Ok(())
}

/// A validated `add-job` request.
#[derive(Debug, Clone)]
pub(crate) struct JobPlan {
    pub(crate) name: String,
    pub(crate) stem: String,
    schedule: Option<Option<String>>,
    description: Option<Option<String>>,
    priority: Option<Option<JobPriority>>,
}

fn given(raw: Option<&str>) -> Option<Option<String>> {
    raw.map(|r| Some(r.trim().to_owned()).filter(|t| !t.is_empty()))
}

impl JobPlan {
    /// Validates a request, in the reference's order: name, then schedule.
    ///
    /// # Errors
    /// `Missing job name.`, `Invalid job name '…'. …`, or the schedule parser's message.
    pub(crate) fn resolve(req: &JobRequest) -> Result<Self> {
        let name = job_name(&req.name)?;
        let schedule = given(req.schedule.as_deref());
        if let Some(Some(schedule)) = &schedule {
            Schedule::parse(schedule)?;
        }
        Ok(Self {
            stem: module_name(&name),
            name,
            schedule,
            description: given(req.description.as_deref()),
            priority: given(req.priority.as_deref()).map(|p| p.map(|p| JobPriority::from_cli(&p))),
        })
    }

    fn merge(&self, current: Option<&JobDecl>) -> JobDecl {
        let mut d = current.cloned().unwrap_or(JobDecl {
            name: self.name.clone(),
            schedule: None,
            description: None,
            priority: None,
        });
        if let Some(v) = &self.schedule {
            d.schedule.clone_from(v);
        }
        if let Some(v) = &self.description {
            d.description.clone_from(v);
        }
        if let Some(v) = &self.priority {
            d.priority.clone_from(v);
        }
        d
    }
}

/// A job module of the jobs folder and its declaration (or why it cannot be read).
#[derive(Debug)]
struct JobFile {
    rel: String,
    text: String,
    decl: std::result::Result<JobDecl, String>,
}

fn scan(root: &Path) -> Result<Vec<(String, JobFile)>> {
    let dir = root.join(JOBS_DIR);
    let mut out = Vec::new();
    for stem in registry::modules(&dir)? {
        let (rel, path) = registry::module_file(&dir, JOBS_DIR, &stem);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let decl = match decl::find(&text, "job", "Job") {
            Ok(Found::Chain(chain)) => JobDecl::read(&chain).map(|(d, _)| d),
            Ok(Found::Unreadable(why)) => Err(why),
            Ok(Found::Missing) | Err(_) => continue,
        };
        out.push((stem, JobFile { rel, text, decl }));
    }
    Ok(out)
}

/// Adds the job to the workspace at `root` (`NAME.rs` and the registry), or edits the
/// declaration of the job with that name. Returns the declaration keys that changed (`None`:
/// created).
///
/// # Errors
/// A declaration the CLI cannot edit, a file name taken by a module that is not a job, or a
/// failed write.
pub(crate) fn apply(
    root: &Path,
    plan: &JobPlan,
    changes: &mut Changes,
) -> Result<Option<Vec<&'static str>>> {
    convert_json(root, changes)?;
    let files = scan(root)?;
    let existing = files.iter().find(|(stem, f)| match &f.decl {
        Ok(d) => d.name == plan.name,
        Err(_) => *stem == plan.stem,
    });
    let outcome = match existing {
        Some((_, file)) => {
            let refuse = |why: &str| {
                anyhow::anyhow!(
                    "Cannot update job '{}': the declaration in {} was changed beyond what add-job \
                     can edit ({why}). Edit `job()` by hand, or restore a `Job::new(\"name\")…` \
                     chain with literal arguments.",
                    plan.name,
                    file.rel
                )
            };
            let current = file.decl.as_ref().map_err(|why| refuse(why))?;
            let Ok(Found::Chain(chain)) = decl::find(&file.text, "job", "Job") else {
                return Err(refuse("it no longer parses"));
            };
            let (_, at) = JobDecl::read(&chain).map_err(|why| refuse(&why))?;
            let new = plan.merge(Some(current));
            let edits = decl::key_edits(&KEYS, &chain, &at, |k| current.call(k), |k| new.call(k));
            let (text, changed) = decl::apply_edits(&file.text, &chain, None, &edits);
            if !changed.is_empty() {
                changes.write(&file.rel, &text)?;
            }
            Some(changed)
        }
        None => {
            let dir = root.join(JOBS_DIR);
            if registry::module_exists(&dir, &plan.stem) {
                bail!(
                    "{JOBS_DIR}/{}.rs already exists and is not a job (it has no `job()` \
                     function). Choose another job name, or add a `pub fn job() -> Job` to that file.",
                    plan.stem
                );
            }
            let new = plan.merge(None);
            let code = templates::rustfmt(templates::render(
                "job/job.rs.jinja",
                &serde_json::json!({ "name": new.name, "declaration": new.render() }),
            )?);
            changes.create(&format!("{JOBS_DIR}/{}.rs", plan.stem), &code)?;
            None
        }
    };
    registry::sync_jobs(root, changes)?;
    Ok(outcome)
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
            plan.merge(None).render(),
            "    Job::new(\"nightly\")\n        .schedule(\"0 0 * * *\")\n        .description(\"Nightly account sync\")\n        .priority(5)\n        .run(run)"
        );
        let plan = resolve("nightly-sync", Some("rate(5 minutes)"), Some("05")).unwrap();
        assert_eq!(plan.stem, "nightly_sync");
        assert!(
            plan.merge(None)
                .render()
                .contains(".priority_label(\"05\")")
        );
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
