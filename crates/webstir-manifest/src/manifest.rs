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
pub enum ModuleKind {
    /// A frontend module.
    Frontend,
    /// A backend module (what webstir builds).
    Backend,
}

/// The module manifest: what a backend module offers, as written to `.webstir/backend-manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
}

/// Phase of a request hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// A request-time view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// A job: a named function that runs on demand or on a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// An event the module publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
pub struct ServiceDefinition {
    /// Service name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
