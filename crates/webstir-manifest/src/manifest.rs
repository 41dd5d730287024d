use serde::{Deserialize, Serialize};

use crate::route::{RouteDefinition, SchemaReference};
use crate::{ManifestError, RenderMode, SsgSpec};

/// The contract version this crate reads and writes.
pub const CONTRACT_VERSION: &str = "1.0.0";

fn default_contract_version() -> String {
    CONTRACT_VERSION.to_owned()
}

/// What kind of module a manifest describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ModuleKind {
    /// A frontend module.
    Frontend,
    /// A backend module (what webstir builds).
    Backend,
}

/// The module manifest: what a backend module offers, as written to `.webstir/backend-manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModuleManifest {
    /// Contract version (`1.0.0`).
    #[serde(default = "default_contract_version")]
    pub contract_version: String,
    /// Module name, e.g. `@demo/backend`.
    pub name: String,
    /// Module version.
    pub version: String,
    /// Module kind; webstir writes `backend`.
    pub kind: ModuleKind,
    /// Free-form capability tags (`http`, `auth`, `db`, …).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Pass-through asset list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<String>,
    /// Request hook metadata.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_hooks: Vec<RequestHookDefinition>,
    /// HTTP routes, in declaration (= matching) order.
    #[serde(default)]
    pub routes: Vec<RouteDefinition>,
    /// Request-time views.
    #[serde(default)]
    pub views: Vec<ViewDefinition>,
    /// Jobs.
    #[serde(default)]
    pub jobs: Vec<JobDefinition>,
    /// Events the module publishes.
    #[serde(default)]
    pub events: Vec<EventDefinition>,
    /// Services the module provides.
    #[serde(default)]
    pub services: Vec<ServiceDefinition>,
    /// Name of an init hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    /// Name of a dispose hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispose: Option<String>,
}

impl ModuleManifest {
    /// An empty backend manifest with the given name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            contract_version: CONTRACT_VERSION.to_owned(),
            name: name.into(),
            version: version.into(),
            kind: ModuleKind::Backend,
            capabilities: Vec::new(),
            assets: Vec::new(),
            request_hooks: Vec::new(),
            routes: Vec::new(),
            views: Vec::new(),
            jobs: Vec::new(),
            events: Vec::new(),
            services: Vec::new(),
            init: None,
            dispose: None,
        }
    }

    /// Parse a manifest from JSON and validate it.
    ///
    /// # Errors
    /// [`ManifestError::Json`] when the text is not a manifest-shaped JSON object,
    /// [`ManifestError::Invalid`] when it breaks the contract.
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        let manifest: Self = serde_json::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Serialize to pretty JSON (2-space indent, trailing newline), as written to disk.
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned());
        text.push('\n');
        text
    }

    /// Set the module kind.
    #[must_use]
    pub fn kind(mut self, kind: ModuleKind) -> Self {
        self.kind = kind;
        self
    }

    /// Set the capability tags (replaces the list).
    #[must_use]
    pub fn capabilities<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.capabilities = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Set the asset list (replaces the list).
    #[must_use]
    pub fn assets<S: Into<String>>(mut self, assets: impl IntoIterator<Item = S>) -> Self {
        self.assets = assets.into_iter().map(Into::into).collect();
        self
    }

    /// Add request hook metadata.
    #[must_use]
    pub fn request_hook(mut self, hook: RequestHookDefinition) -> Self {
        self.request_hooks.push(hook);
        self
    }

    /// Add a route (routes match in the order they are added).
    #[must_use]
    pub fn route(mut self, route: RouteDefinition) -> Self {
        self.routes.push(route);
        self
    }

    /// Add a request-time view.
    #[must_use]
    pub fn view(mut self, view: ViewDefinition) -> Self {
        self.views.push(view);
        self
    }

    /// Add a job.
    #[must_use]
    pub fn job(mut self, job: JobDefinition) -> Self {
        self.jobs.push(job);
        self
    }

    /// Add a published event.
    #[must_use]
    pub fn event(mut self, event: EventDefinition) -> Self {
        self.events.push(event);
        self
    }

    /// Add a provided service.
    #[must_use]
    pub fn service(mut self, service: ServiceDefinition) -> Self {
        self.services.push(service);
        self
    }

    /// Set the name of the init hook.
    #[must_use]
    pub fn init(mut self, hook: impl Into<String>) -> Self {
        self.init = Some(hook.into());
        self
    }

    /// Set the name of the dispose hook.
    #[must_use]
    pub fn dispose(mut self, hook: impl Into<String>) -> Self {
        self.dispose = Some(hook.into());
        self
    }
}

/// Phase of a request hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RequestHookPhase {
    /// Before auth is resolved.
    BeforeAuth,
    /// After auth, before the handler.
    BeforeHandler,
    /// After the handler.
    AfterHandler,
}

/// Request hook metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestHookDefinition {
    /// Hook id.
    pub id: String,
    /// When it runs.
    pub phase: RequestHookPhase,
    /// Order within the phase.
    pub order: i64,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl RequestHookDefinition {
    /// Metadata of the hook `id`, running in `phase` at position `order` within it.
    pub fn new(id: impl Into<String>, phase: RequestHookPhase, order: i64) -> Self {
        Self {
            id: id.into(),
            phase,
            order,
            summary: None,
            description: None,
        }
    }

    /// Set the summary.
    #[must_use]
    pub fn summary(mut self, text: impl Into<String>) -> Self {
        self.summary = Some(text.into());
        self
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// A request-time view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ViewDefinition {
    /// View name.
    pub name: String,
    /// Path pattern.
    pub path: String,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Params schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<SchemaReference>,
    /// Data schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<SchemaReference>,
    /// Render mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_mode: Option<RenderMode>,
    /// Static paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_paths: Vec<String>,
    /// SSG options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssg: Option<SsgSpec>,
    /// Session use (webstir extension): the loader may read the session; `mode: required` answers
    /// 401 `session_required` without one. Views never write the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<crate::SessionSpec>,
}

impl ViewDefinition {
    /// A view with just a name and path pattern.
    pub fn new(name: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            summary: None,
            description: None,
            tags: Vec::new(),
            params: None,
            data: None,
            render_mode: None,
            static_paths: Vec::new(),
            ssg: None,
            session: None,
        }
    }

    /// Set the summary.
    #[must_use]
    pub fn summary(mut self, text: impl Into<String>) -> Self {
        self.summary = Some(text.into());
        self
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Set the tags (replaces the list).
    #[must_use]
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Set the params schema.
    #[must_use]
    pub fn params(mut self, schema: SchemaReference) -> Self {
        self.params = Some(schema);
        self
    }

    /// Set the data schema.
    #[must_use]
    pub fn data(mut self, schema: SchemaReference) -> Self {
        self.data = Some(schema);
        self
    }

    /// Set the render mode.
    #[must_use]
    pub fn render_mode(mut self, mode: RenderMode) -> Self {
        self.render_mode = Some(mode);
        self
    }

    /// Set the static paths (replaces the list).
    #[must_use]
    pub fn static_paths<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.static_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Set the SSG options.
    #[must_use]
    pub fn ssg(mut self, ssg: SsgSpec) -> Self {
        self.ssg = Some(ssg);
        self
    }
}

/// A job's priority: an integer, or free text as the original contract allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobPriority {
    /// Numeric priority.
    Number(i64),
    /// Free-form priority such as `high`.
    Text(String),
}

impl JobPriority {
    /// Parse CLI text the way the reference does: an exact integer (`5`, `-2`) becomes a number,
    /// anything else (`05`, `high`) stays text.
    pub fn from_cli(text: &str) -> Self {
        let canonical = text.parse::<i64>().ok().filter(|n| n.to_string() == text);
        match canonical {
            Some(n) => Self::Number(n),
            None => Self::Text(text.to_owned()),
        }
    }
}

impl std::fmt::Display for JobPriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl From<i64> for JobPriority {
    fn from(n: i64) -> Self {
        Self::Number(n)
    }
}

/// A job: a named function that runs on demand or on a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobDefinition {
    /// Job name (a portable single path segment).
    pub name: String,
    /// Schedule: cron (5–7 fields), `@nickname`, `@reboot` or `rate(N unit)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// What the job does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<JobPriority>,
}

impl JobDefinition {
    /// A job named `name` with no schedule (run on demand only), description or priority.
    ///
    /// ```
    /// use webstir_manifest::{JobDefinition, JobPriority};
    ///
    /// let job = JobDefinition::new("nightly")
    ///     .schedule("0 0 * * *")
    ///     .description("Nightly account sync")
    ///     .priority(5);
    /// assert_eq!(
    ///     serde_json::to_string(&job).unwrap(),
    ///     r#"{"name":"nightly","schedule":"0 0 * * *","description":"Nightly account sync","priority":5}"#
    /// );
    /// assert_eq!(
    ///     JobDefinition::new("x").priority(JobPriority::from_cli("high")).priority,
    ///     Some(JobPriority::Text("high".into()))
    /// );
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            schedule: None,
            description: None,
            priority: None,
        }
    }

    /// Set the schedule: cron (5–7 fields), `@nickname`, `@reboot` or `rate(N unit)` (checked by
    /// [`ModuleManifest::validate`], not here).
    #[must_use]
    pub fn schedule(mut self, schedule: impl Into<String>) -> Self {
        self.schedule = Some(schedule.into());
        self
    }

    /// Set what the job does.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Set the priority: an integer, or a [`JobPriority`].
    #[must_use]
    pub fn priority(mut self, priority: impl Into<JobPriority>) -> Self {
        self.priority = Some(priority.into());
        self
    }
}

/// An event the module publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EventDefinition {
    /// Event name.
    pub name: String,
    /// Payload schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<SchemaReference>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A service the module provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceDefinition {
    /// Service name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl EventDefinition {
    /// An event named `name` (payload schema and description unset).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            payload: None,
            description: None,
        }
    }

    /// Set the payload schema.
    #[must_use]
    pub fn payload(mut self, schema: SchemaReference) -> Self {
        self.payload = Some(schema);
        self
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

impl ServiceDefinition {
    /// A service named `name` (description unset).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
        }
    }

    /// Set the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}
