use std::collections::HashSet;

use crate::{
    HttpMethod, ManifestError, ModuleManifest, ResponseSpec, RouteDefinition, Schedule,
    ValidationIssue,
};

/// Normalize a route path the way the runtime matches it: leading `/`, `//` collapsed, trailing `/`
/// stripped (except for the root).
///
/// ```
/// assert_eq!(webstir_manifest::normalize_path("api//accounts/"), "/api/accounts");
/// assert_eq!(webstir_manifest::normalize_path(""), "/");
/// ```
pub fn normalize_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The identity of a route: uppercase method and normalized path, e.g. `GET /api/accounts`.
pub fn route_key(method: HttpMethod, path: &str) -> String {
    format!("{} {}", method.as_str(), normalize_path(path))
}

struct Issues(Vec<ValidationIssue>);

impl Issues {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationIssue::new(path, message));
    }

    fn non_empty(&mut self, path: String, value: &str) {
        if value.trim().is_empty() {
            self.push(path, "must be a non-empty string");
        }
    }
}

impl ModuleManifest {
    /// Check the manifest against the contract.
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] listing every problem found (field path and message).
    pub fn validate(&self) -> Result<(), ManifestError> {
        let mut issues = Issues(Vec::new());
        issues.non_empty("contractVersion".into(), &self.contract_version);
        issues.non_empty("name".into(), &self.name);
        issues.non_empty("version".into(), &self.version);
        for (i, hook) in self.request_hooks.iter().enumerate() {
            issues.non_empty(format!("requestHooks.{i}.id"), &hook.id);
        }
        for (i, route) in self.routes.iter().enumerate() {
            validate_route(&mut issues, &format!("routes.{i}"), route);
        }
        for (i, view) in self.views.iter().enumerate() {
            issues.non_empty(format!("views.{i}.name"), &view.name);
            issues.non_empty(format!("views.{i}.path"), &view.path);
        }
        let mut job_names = HashSet::new();
        for (i, job) in self.jobs.iter().enumerate() {
            issues.non_empty(format!("jobs.{i}.name"), &job.name);
            if !job_names.insert(job.name.as_str()) {
                issues.push(
                    format!("jobs.{i}.name"),
                    format!("duplicate job name '{}'", job.name),
                );
            }
            if let Some(schedule) = job.schedule.as_deref().filter(|s| !s.trim().is_empty())
                && let Err(err) = Schedule::parse(schedule)
            {
                issues.push(format!("jobs.{i}.schedule"), err.to_string());
            }
        }
        for (i, event) in self.events.iter().enumerate() {
            issues.non_empty(format!("events.{i}.name"), &event.name);
        }
        for (i, service) in self.services.iter().enumerate() {
            issues.non_empty(format!("services.{i}.name"), &service.name);
        }
        if issues.0.is_empty() {
            Ok(())
        } else {
            Err(ManifestError::Invalid(issues.0))
        }
    }

    /// Routes declared more than once (same method and normalized path), as `GET /x (2x)` strings.
    pub fn duplicate_routes(&self) -> Vec<String> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for route in &self.routes {
            let key = route_key(route.method, &route.path);
            match counts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => counts.push((key, 1)),
            }
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, n)| format!("{k} ({n}x)"))
            .collect()
    }
}

fn validate_route(issues: &mut Issues, at: &str, route: &RouteDefinition) {
    issues.non_empty(format!("{at}.name"), &route.name);
    if route.path.trim().is_empty() {
        issues.push(format!("{at}.path"), "must be a non-empty string");
    } else {
        for segment in route.path.split('/') {
            if let Some(param) = segment.strip_prefix(':')
                && (param.is_empty()
                    || !param.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            {
                issues.push(
                    format!("{at}.path"),
                    format!("path parameter '{segment}' must match :[A-Za-z0-9_]+"),
                );
            }
        }
    }
    for (i, hook) in route.request_hooks.iter().enumerate() {
        issues.non_empty(format!("{at}.requestHooks.{i}.id"), &hook.id);
    }
    if let Some(fragment) = &route.fragment {
        issues.non_empty(format!("{at}.fragment.target"), &fragment.target);
    }
    if let Some(output) = &route.output {
        let variant = ResponseSpec {
            status: output.status,
            headers: output.headers.clone(),
            body: output.body.clone(),
            redirect: output.redirect.clone(),
            fragment: output.fragment.clone(),
        };
        match &output.responses {
            Some(list) => {
                if list.is_empty() {
                    issues.push(
                        format!("{at}.output.responses"),
                        "must list at least one response",
                    );
                }
                if variant != ResponseSpec::default() {
                    issues.push(
                        format!("{at}.output"),
                        "use either responses or a single response variant, not both",
                    );
                }
                for (i, v) in list.iter().enumerate() {
                    validate_variant(issues, &format!("{at}.output.responses.{i}"), v);
                }
            }
            None => validate_variant(issues, &format!("{at}.output"), &variant),
        }
    }
}

fn validate_variant(issues: &mut Issues, at: &str, variant: &ResponseSpec) {
    if let Some(status) = variant.status
        && !(100..=599).contains(&status)
    {
        issues.push(
            format!("{at}.status"),
            "must be an HTTP status between 100 and 599",
        );
    }
    if let Some(redirect) = &variant.redirect {
        if let Some(status) = redirect.status
            && ![301, 302, 303, 307, 308].contains(&status)
        {
            issues.push(
                format!("{at}.redirect.status"),
                "must be one of 301, 302, 303, 307, 308",
            );
        }
        if variant.body.is_some() || variant.fragment.is_some() {
            issues.push(at, "a redirect variant has no body or fragment");
        }
    }
    if let Some(fragment) = &variant.fragment {
        issues.non_empty(format!("{at}.fragment.target"), &fragment.target);
        if variant.body.is_none() {
            issues.push(
                format!("{at}.body"),
                "a fragment variant needs a body schema",
            );
        }
    }
    for (name, schema) in [("headers", &variant.headers), ("body", &variant.body)] {
        if let Some(schema) = schema {
            issues.non_empty(format!("{at}.{name}.name"), &schema.name);
        }
    }
}
