//! Routes of a project: the `add-route` request, its validation into a route definition (the
//! reference's rules and messages), and the route files under `src/backend/routes/`.
//!
//! A route is two files: `NAME.route.json` (the definition, rewritten by `add-route`) and
//! `NAME.rs` (the handler, written once and then owned by the user).

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value, json};
use webstir_manifest::{HttpMethod, ModuleManifest, RouteDefinition, route_key};

use crate::changes::Changes;
use crate::names::module_name;
use crate::workspace::ROUTES_DIR;
use crate::{registry, templates};

/// What `add-route` was asked for, as given on the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteRequest {
    pub(crate) name: String,
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) summary: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) tags: Option<String>,
    pub(crate) interaction: Option<String>,
    pub(crate) session: Option<String>,
    pub(crate) session_write: bool,
    pub(crate) form_urlencoded: bool,
    pub(crate) csrf: bool,
    pub(crate) fragment_target: Option<String>,
    pub(crate) fragment_selector: Option<String>,
    pub(crate) fragment_mode: Option<String>,
    pub(crate) params_schema: Option<String>,
    pub(crate) query_schema: Option<String>,
    pub(crate) body_schema: Option<String>,
    pub(crate) headers_schema: Option<String>,
    pub(crate) response_schema: Option<String>,
    pub(crate) response_status: Option<String>,
    pub(crate) response_headers_schema: Option<String>,
}

/// A validated route: its identity and the definition JSON, keys in the reference's order.
#[derive(Debug, Clone)]
pub(crate) struct RoutePlan {
    pub(crate) name: String,
    pub(crate) method: HttpMethod,
    pub(crate) path: String,
    pub(crate) definition: Map<String, Value>,
}

impl RoutePlan {
    /// `METHOD /path`.
    pub(crate) fn target(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Validates a request the way the reference does, with its messages.
    ///
    /// # Errors
    /// The first problem found (`Missing route name.`, `Invalid --method value 'FOO'. …`, …).
    pub(crate) fn resolve(req: &RouteRequest) -> Result<Self> {
        let name = req.name.trim();
        if name.is_empty() {
            bail!("Missing route name.");
        }
        let method = match req.method.as_deref() {
            None => HttpMethod::Get,
            Some(raw) => HttpMethod::parse(raw).with_context(|| {
                format!(
                    "Invalid --method value '{}'. Allowed values: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS.",
                    raw.trim().to_ascii_uppercase()
                )
            })?,
        };
        let path = match text(req.path.as_deref()) {
            Some(path) if path.starts_with('/') => path.to_owned(),
            Some(path) => format!("/{path}"),
            None => format!("/api/{name}"),
        };

        let mut def = Map::new();
        def.insert("name".into(), json!(name));
        def.insert("method".into(), json!(method.as_str()));
        def.insert("path".into(), json!(path));
        if let Some(summary) = text(req.summary.as_deref()) {
            def.insert("summary".into(), json!(summary));
        }
        if let Some(description) = text(req.description.as_deref()) {
            def.insert("description".into(), json!(description));
        }
        let tags = tags(req.tags.as_deref());
        if !tags.is_empty() {
            def.insert("tags".into(), json!(tags));
        }
        if let Some(raw) = req.interaction.as_deref() {
            let value = one_of(raw, "--interaction", &["navigation", "mutation"])?;
            def.insert("interaction".into(), json!(value));
        }
        let session_mode = req
            .session
            .as_deref()
            .map(|raw| one_of(raw, "--session", &["optional", "required"]))
            .transpose()?;
        if session_mode.is_some() || req.session_write {
            let mut session = Map::new();
            if let Some(mode) = session_mode {
                session.insert("mode".into(), json!(mode));
            }
            if req.session_write {
                session.insert("write".into(), json!(true));
            }
            def.insert("session".into(), Value::Object(session));
        }
        if req.form_urlencoded || req.csrf {
            let mut form = Map::new();
            if req.form_urlencoded {
                form.insert(
                    "contentType".into(),
                    json!("application/x-www-form-urlencoded"),
                );
            }
            if req.csrf {
                form.insert("csrf".into(), json!(true));
            }
            def.insert("form".into(), Value::Object(form));
        }
        if let Some(fragment) = fragment(req)? {
            def.insert("fragment".into(), fragment);
        }
        let mut input = Map::new();
        for (key, flag, raw) in [
            ("params", "--params-schema", &req.params_schema),
            ("query", "--query-schema", &req.query_schema),
            ("body", "--body-schema", &req.body_schema),
            ("headers", "--headers-schema", &req.headers_schema),
        ] {
            if let Some(raw) = raw {
                input.insert(key.into(), schema_ref(flag, raw)?);
            }
        }
        if !input.is_empty() {
            def.insert("input".into(), Value::Object(input));
        }
        if let Some(output) = output(req)? {
            def.insert("output".into(), output);
        }

        // The contract's own checks (path parameters, …) and a round trip through its types.
        let parsed: RouteDefinition = serde_json::from_value(Value::Object(def.clone()))
            .context("the route definition does not fit the module contract")?;
        let mut manifest = ModuleManifest::new("check", "0.0.0");
        manifest.routes.push(parsed);
        if let Err(err) = manifest.validate() {
            bail!("Invalid route: {err}");
        }
        Ok(Self {
            name: name.to_owned(),
            method,
            path,
            definition: def,
        })
    }
}

/// Trimmed text, `None` when absent or blank.
fn text(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|t| !t.is_empty())
}

/// Comma-separated tags: trimmed, blanks dropped, de-duplicated ignoring case (first spelling kept).
fn tags(raw: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in raw.unwrap_or_default().split(',').map(str::trim) {
        if !tag.is_empty() && !out.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            out.push(tag.to_owned());
        }
    }
    out
}

/// `raw` (trimmed, any case) when it is one of `allowed`.
fn one_of(raw: &str, flag: &str, allowed: &[&'static str]) -> Result<&'static str> {
    let value = raw.trim().to_ascii_lowercase();
    match allowed.iter().find(|a| **a == value) {
        Some(found) => Ok(found),
        None => bail!(
            "Invalid {flag} value '{}'. Allowed values: {}.",
            raw.trim(),
            allowed.join(", ")
        ),
    }
}

fn fragment(req: &RouteRequest) -> Result<Option<Value>> {
    let target = text(req.fragment_target.as_deref());
    let selector = text(req.fragment_selector.as_deref());
    let mode = req
        .fragment_mode
        .as_deref()
        .filter(|m| !m.trim().is_empty());
    if target.is_none() && selector.is_none() && mode.is_none() {
        return Ok(None);
    }
    let Some(target) = target else {
        bail!("--fragment-target is required when setting fragment metadata.");
    };
    let mut fragment = Map::new();
    fragment.insert("target".into(), json!(target));
    if let Some(selector) = selector {
        fragment.insert("selector".into(), json!(selector));
    }
    if let Some(mode) = mode {
        let mode = one_of(mode, "--fragment-mode", &["replace", "append", "prepend"])?;
        fragment.insert("mode".into(), json!(mode));
    }
    Ok(Some(Value::Object(fragment)))
}

fn output(req: &RouteRequest) -> Result<Option<Value>> {
    let status = req
        .response_status
        .as_deref()
        .map(|raw| {
            raw.trim()
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .with_context(|| {
                    format!(
                        "Invalid --response-status value '{raw}'. Status must be between 100 and 599."
                    )
                })
        })
        .transpose()?;
    let headers = req
        .response_headers_schema
        .as_deref()
        .map(|raw| schema_ref("--response-headers-schema", raw))
        .transpose()?;
    let Some(body) = req.response_schema.as_deref() else {
        if status.is_some() || headers.is_some() {
            bail!("--response-schema is required when setting response headers or status.");
        }
        return Ok(None);
    };
    let mut output = Map::new();
    output.insert("body".into(), schema_ref("--response-schema", body)?);
    if let Some(status) = status {
        output.insert("status".into(), json!(status));
    }
    if let Some(headers) = headers {
        output.insert("headers".into(), headers);
    }
    Ok(Some(Value::Object(output)))
}

/// A schema reference in the CLI form `kind:name@source` (`kind:` defaults to zod, `@source` is
/// optional), as the contract's `{kind, name, source?}` object.
fn schema_ref(flag: &str, raw: &str) -> Result<Value> {
    let value = raw.trim();
    let at = value.find('@');
    let (kind, rest) = match value.find(':') {
        Some(0) => bail!("Invalid {flag} value '{raw}'. Missing schema name."),
        Some(colon) if at.is_none_or(|at| colon < at) => {
            (value[..colon].trim(), &value[colon + 1..])
        }
        _ => ("zod", value),
    };
    let kind_lower = kind.to_ascii_lowercase();
    if !["zod", "json-schema", "ts-rest"].contains(&kind_lower.as_str()) {
        bail!("Invalid schema kind '{kind}' in {flag}. Allowed kinds: zod, json-schema, ts-rest.");
    }
    let (name, source) = match rest.split_once('@') {
        Some((name, source)) => (name.trim(), Some(source.trim()).filter(|s| !s.is_empty())),
        None => (rest.trim(), None),
    };
    if name.is_empty() {
        bail!("Invalid {flag} value '{raw}'. Schema name is required.");
    }
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind_lower));
    out.insert("name".into(), json!(name));
    if let Some(source) = source {
        out.insert("source".into(), json!(source));
    }
    Ok(Value::Object(out))
}

/// A route found in the routes folder.
#[derive(Debug, Clone)]
pub(crate) struct RouteFile {
    /// File stem (also the handler's module name).
    pub(crate) stem: String,
    /// The parsed definition.
    pub(crate) definition: RouteDefinition,
}

/// Reads every `*.route.json` in `dir`, sorted by stem. A missing folder holds no routes.
///
/// # Errors
/// When a file cannot be read or is not a route definition.
pub(crate) fn scan(dir: &Path) -> Result<Vec<RouteFile>> {
    let mut out = Vec::new();
    for (stem, path) in registry::files_with_suffix(dir, ".route.json")? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let definition: RouteDefinition = serde_json::from_str(&text).with_context(|| {
            format!("{ROUTES_DIR}/{stem}.route.json is not a valid route definition")
        })?;
        out.push(RouteFile { stem, definition });
    }
    Ok(out)
}

/// Writes a route into the workspace at `root`: replaces the definition of the route with the same
/// method and path, or adds `NAME.route.json` and a `NAME.rs` handler; then refreshes the registry.
///
/// # Errors
/// When existing route files are unreadable or a write fails.
pub(crate) fn apply(root: &Path, plan: &RoutePlan, changes: &mut Changes) -> Result<()> {
    let dir = root.join(ROUTES_DIR);
    let existing = scan(&dir)?;
    let key = route_key(plan.method, &plan.path);
    let stem = match existing
        .iter()
        .find(|r| route_key(r.definition.method, &r.definition.path) == key)
    {
        Some(found) => found.stem.clone(),
        None => free_stem(&dir, &module_name(&plan.name), plan.method),
    };
    let mut json = serde_json::to_string_pretty(&Value::Object(plan.definition.clone()))?;
    json.push('\n');
    changes.write(&format!("{ROUTES_DIR}/{stem}.route.json"), &json)?;
    if !registry::module_exists(&dir, &stem) {
        let handler = templates::render("route/handler.rs.jinja", &json!({ "stem": stem }))?;
        changes.create(&format!("{ROUTES_DIR}/{stem}.rs"), &handler)?;
    }
    registry::sync_routes(root, changes)
}

/// A stem for a new route: `base`, else `base_<method>`, else `base_<method>_2`, … — one that no
/// route file or module in `dir` uses yet.
fn free_stem(dir: &Path, base: &str, method: HttpMethod) -> String {
    let taken = |stem: &str| {
        registry::module_exists(dir, stem) || dir.join(format!("{stem}.route.json")).exists()
    };
    if !taken(base) {
        return base.to_owned();
    }
    let with_method = format!("{base}_{}", method.as_str().to_ascii_lowercase());
    if !taken(&with_method) {
        return with_method;
    }
    (2..)
        .map(|n| format!("{with_method}_{n}"))
        .find(|s| !taken(s))
        .unwrap_or(with_method)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str) -> RouteRequest {
        RouteRequest {
            name: name.into(),
            ..RouteRequest::default()
        }
    }

    fn err(r: &RouteRequest) -> String {
        RoutePlan::resolve(r).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let plan = RoutePlan::resolve(&req(" accounts ")).unwrap();
        assert_eq!(plan.target(), "GET /api/accounts");
        assert_eq!(
            Value::Object(plan.definition),
            json!({"name": "accounts", "method": "GET", "path": "/api/accounts"})
        );
    }

    #[test]
    fn every_flag_in_the_reference_key_order() {
        let r = RouteRequest {
            method: Some("post".into()),
            path: Some("api/accounts".into()),
            summary: Some(" List accounts ".into()),
            description: Some("Returns the current account list".into()),
            tags: Some("accounts, api,Accounts,,".into()),
            interaction: Some("mutation".into()),
            session: Some("required".into()),
            session_write: true,
            form_urlencoded: true,
            csrf: true,
            fragment_target: Some("accounts-panel".into()),
            fragment_selector: Some("#accounts".into()),
            fragment_mode: Some("Replace".into()),
            params_schema: Some("zod:AccountParams@src/shared/contracts/accounts.ts".into()),
            query_schema: Some("json-schema:Query".into()),
            body_schema: Some("ts-rest:Body@contract.ts".into()),
            headers_schema: Some("Headers".into()),
            response_schema: Some("AccountList@src/shared/contracts/accounts.ts".into()),
            response_status: Some("201".into()),
            response_headers_schema: Some("json-schema:RespHeaders".into()),
            ..req("accounts")
        };
        let plan = RoutePlan::resolve(&r).unwrap();
        assert_eq!(plan.target(), "POST /api/accounts");
        let text = serde_json::to_string(&Value::Object(plan.definition)).unwrap();
        assert_eq!(
            text,
            r##"{"name":"accounts","method":"POST","path":"/api/accounts","summary":"List accounts","description":"Returns the current account list","tags":["accounts","api"],"interaction":"mutation","session":{"mode":"required","write":true},"form":{"contentType":"application/x-www-form-urlencoded","csrf":true},"fragment":{"target":"accounts-panel","selector":"#accounts","mode":"replace"},"input":{"params":{"kind":"zod","name":"AccountParams","source":"src/shared/contracts/accounts.ts"},"query":{"kind":"json-schema","name":"Query"},"body":{"kind":"ts-rest","name":"Body","source":"contract.ts"},"headers":{"kind":"zod","name":"Headers"}},"output":{"body":{"kind":"zod","name":"AccountList","source":"src/shared/contracts/accounts.ts"},"status":201,"headers":{"kind":"json-schema","name":"RespHeaders"}}}"##
        );
    }

    #[test]
    fn reference_messages() {
        assert_eq!(err(&req("  ")), "Missing route name.");
        let cases: Vec<(RouteRequest, &str)> = vec![
            (
                RouteRequest {
                    method: Some("foo".into()),
                    ..req("a")
                },
                "Invalid --method value 'FOO'. Allowed values: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS.",
            ),
            (
                RouteRequest {
                    interaction: Some("x".into()),
                    ..req("a")
                },
                "Invalid --interaction value 'x'. Allowed values: navigation, mutation.",
            ),
            (
                RouteRequest {
                    session: Some("always".into()),
                    ..req("a")
                },
                "Invalid --session value 'always'. Allowed values: optional, required.",
            ),
            (
                RouteRequest {
                    fragment_selector: Some("#x".into()),
                    ..req("a")
                },
                "--fragment-target is required when setting fragment metadata.",
            ),
            (
                RouteRequest {
                    fragment_target: Some("x".into()),
                    fragment_mode: Some("swap".into()),
                    ..req("a")
                },
                "Invalid --fragment-mode value 'swap'. Allowed values: replace, append, prepend.",
            ),
            (
                RouteRequest {
                    params_schema: Some(":Name".into()),
                    ..req("a")
                },
                "Invalid --params-schema value ':Name'. Missing schema name.",
            ),
            (
                RouteRequest {
                    body_schema: Some("zod:@src/x.ts".into()),
                    ..req("a")
                },
                "Invalid --body-schema value 'zod:@src/x.ts'. Schema name is required.",
            ),
            (
                RouteRequest {
                    query_schema: Some("yup:Q".into()),
                    ..req("a")
                },
                "Invalid schema kind 'yup' in --query-schema. Allowed kinds: zod, json-schema, ts-rest.",
            ),
            (
                RouteRequest {
                    response_schema: Some("R".into()),
                    response_status: Some("99".into()),
                    ..req("a")
                },
                "Invalid --response-status value '99'. Status must be between 100 and 599.",
            ),
            (
                RouteRequest {
                    response_status: Some("201".into()),
                    ..req("a")
                },
                "--response-schema is required when setting response headers or status.",
            ),
            (
                RouteRequest {
                    response_headers_schema: Some("H".into()),
                    ..req("a")
                },
                "--response-schema is required when setting response headers or status.",
            ),
        ];
        for (r, message) in cases {
            assert_eq!(err(&r), message);
        }
        let bad_param = RouteRequest {
            path: Some("/api/x/:bad-name".into()),
            ..req("a")
        };
        assert_eq!(
            err(&bad_param),
            "Invalid route: module manifest validation failed (routes.0.path: path parameter \
             ':bad-name' must match :[A-Za-z0-9_]+)"
        );
    }
}
