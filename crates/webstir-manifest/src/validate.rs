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

/// Why a route path can never match a request, with the fix in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutePathError {
    /// The path is blank.
    #[error("the path is empty; write one starting with '/', e.g. /api/items")]
    Empty,
    /// The path does not start with `/`.
    #[error("'{0}' must start with '/'; write /{0}")]
    NoLeadingSlash(String),
    /// An empty segment (`//` or a trailing `/`).
    #[error("'{path}' has an empty segment ('//' or a trailing '/'); write {fixed}")]
    EmptySegment {
        /// The path as given.
        path: String,
        /// The path with empty segments removed.
        fixed: String,
    },
    /// A character a request path cannot carry here.
    #[error("'{path}' contains {what}, which a request path never matches{hint}")]
    BadChar {
        /// The path as given.
        path: String,
        /// The character, described.
        what: String,
        /// How to fix it (may be empty).
        hint: String,
    },
    /// A `{name}` segment (another framework's syntax).
    #[error(
        "'{path}' uses '{{{name}}}'; webstir path parameters are written :{name}, e.g. {fixed}"
    )]
    BraceParam {
        /// The path as given.
        path: String,
        /// The parameter name.
        name: String,
        /// The path with `:name` segments.
        fixed: String,
    },
    /// A `:param` segment with a bad name.
    #[error("path parameter '{0}' must match :[A-Za-z0-9_]+ (letters, digits and '_')")]
    BadParam(String),
    /// The same parameter twice.
    #[error("path parameter ':{0}' appears twice; give each parameter its own name")]
    DuplicateParam(String),
}

/// Checks that `path` is a route path a request can match: starts with `/`, no empty segments
/// (except the root `/`), no spaces, control characters, `?`, `#`, `*` or `{…}`, and `:name`
/// parameters named with `[A-Za-z0-9_]+`, each once. The CLI and the runtime share this check.
///
/// ```
/// use webstir_manifest::check_route_path;
/// assert!(check_route_path("/api/items/:id").is_ok());
/// assert_eq!(
///     check_route_path("/api/items/{id}").unwrap_err().to_string(),
///     "'/api/items/{id}' uses '{id}'; webstir path parameters are written :id, e.g. /api/items/:id"
/// );
/// ```
///
/// # Errors
/// The first [`RoutePathError`] found.
pub fn check_route_path(path: &str) -> Result<(), RoutePathError> {
    if path.trim().is_empty() {
        return Err(RoutePathError::Empty);
    }
    if let Some(c) = path.chars().find(|c| c.is_whitespace() || c.is_control()) {
        let what = if c == ' ' {
            "a space".to_owned()
        } else {
            format!("the character {c:?}")
        };
        return Err(RoutePathError::BadChar {
            path: path.escape_debug().to_string(),
            what,
            hint: "; use '-' or '_' between words".into(),
        });
    }
    if !path.starts_with('/') {
        return Err(RoutePathError::NoLeadingSlash(path.to_owned()));
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    if path != "/" && segments.iter().any(|s| s.is_empty()) {
        return Err(RoutePathError::EmptySegment {
            path: path.to_owned(),
            fixed: normalize_path(path),
        });
    }
    if segments
        .iter()
        .any(|s| s.starts_with('{') && s.ends_with('}') && s.len() > 2)
    {
        let fixed: Vec<String> = segments
            .iter()
            .map(
                |s| match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                    Some(name) if !name.is_empty() => format!(":{name}"),
                    _ => (*s).to_owned(),
                },
            )
            .collect();
        let name = segments
            .iter()
            .find_map(|s| s.strip_prefix('{').and_then(|r| r.strip_suffix('}')))
            .unwrap_or_default();
        return Err(RoutePathError::BraceParam {
            path: path.to_owned(),
            name: name.to_owned(),
            fixed: format!("/{}", fixed.join("/")),
        });
    }
    for (c, what, hint) in [
        (
            '?',
            "'?'",
            "; declare query parameters with Query<T>, not in the path",
        ),
        ('#', "'#'", "; a fragment is never sent to the server"),
        (
            '*',
            "'*'",
            "; wildcards are not supported, use a :param segment",
        ),
        ('{', "'{'", ""),
        ('}', "'}'", ""),
    ] {
        if path.contains(c) {
            return Err(RoutePathError::BadChar {
                path: path.to_owned(),
                what: what.to_owned(),
                hint: hint.to_owned(),
            });
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for segment in &segments {
        if let Some(param) = segment.strip_prefix(':') {
            if param.is_empty() || !param.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(RoutePathError::BadParam((*segment).to_owned()));
            }
            if seen.contains(&param) {
                return Err(RoutePathError::DuplicateParam(param.to_owned()));
            }
            seen.push(param);
        }
    }
    Ok(())
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
        let mut route_names: Vec<(&str, usize)> = Vec::new();
        for (i, route) in self.routes.iter().enumerate() {
            validate_route(&mut issues, &format!("routes.{i}"), route);
            // A route without a name is named after its path; only given names must be unique.
            if route.name.starts_with('/') {
                continue;
            }
            match route_names.iter().find(|(n, _)| *n == route.name) {
                Some((_, first)) => issues.push(
                    format!("routes.{i}.name"),
                    format!(
                        "duplicate route name '{}' (also routes.{first}); give each route its own name",
                        route.name
                    ),
                ),
                None => route_names.push((&route.name, i)),
            }
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
    if let Err(err) = check_route_path(&route.path) {
        issues.push(format!("{at}.path"), err.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_route_names_are_unique_and_paths_must_match_something() {
        let mut m = ModuleManifest::new("m", "1.0.0");
        m.routes
            .push(RouteDefinition::new("list", HttpMethod::Get, "/a"));
        m.routes
            .push(RouteDefinition::new("/b", HttpMethod::Get, "/b"));
        m.routes
            .push(RouteDefinition::new("/b", HttpMethod::Post, "/b"));
        assert!(
            m.validate().is_ok(),
            "unnamed routes share their path as a name"
        );
        m.routes
            .push(RouteDefinition::new("list", HttpMethod::Post, "/c"));
        m.routes
            .push(RouteDefinition::new("bad", HttpMethod::Get, "/x//y"));
        let err = m.validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "module manifest validation failed (routes.3.name: duplicate route name 'list' (also \
             routes.0); give each route its own name; routes.4.path: '/x//y' has an empty segment \
             ('//' or a trailing '/'); write /x/y)"
        );
    }

    #[test]
    fn path_checks_name_the_fix() {
        for (path, message) in [
            (
                "",
                "the path is empty; write one starting with '/', e.g. /api/items",
            ),
            ("api", "'api' must start with '/'; write /api"),
            (
                "/a b",
                "'/a b' contains a space, which a request path never matches; use '-' or '_' between words",
            ),
            (
                "/a/#x",
                "'/a/#x' contains '#', which a request path never matches; a fragment is never sent to the server",
            ),
            (
                "/:",
                "path parameter ':' must match :[A-Za-z0-9_]+ (letters, digits and '_')",
            ),
        ] {
            assert_eq!(
                check_route_path(path).unwrap_err().to_string(),
                message,
                "{path}"
            );
        }
        for ok in [
            "/",
            "/api",
            "/api/:id",
            "/a/:x/b/:y",
            "/files/report.v2.json",
        ] {
            assert!(check_route_path(ok).is_ok(), "{ok}");
        }
    }
}
