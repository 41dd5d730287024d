//! Routes of a project: the `add-route` request, its validation, and the route files under
//! `src/backend/routes/`.
//!
//! A route is one Rust file, `NAME.rs`, holding its declaration (`pub fn route() -> Route`, a
//! builder chain the compiler checks) and its handler. `add-route` writes the file once; a re-run
//! for the same route name edits the declaration's calls in place (see [`crate::decl`]) and never
//! the handler. Each new route also gets a test in `tests/api/NAME.rs`.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use webstir_manifest::{HttpMethod, RouteDefinition, SchemaReference, check_route_path, route_key};

use crate::changes::Changes;
use crate::decl::{self, Chain, Found};
use crate::names::module_name;
use crate::workspace::ROUTES_DIR;
use crate::{registry, templates};

/// The generated API tests, relative to the workspace root.
pub(crate) const TESTS_DIR: &str = "tests/api";

/// What `add-route` was asked for, as given on the command line. `None`: not given (a re-run
/// keeps the declared value); `Some("")`: clear it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteRequest {
    pub(crate) name: String,
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) summary: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) tags: Option<String>,
    pub(crate) auth: Option<String>,
    pub(crate) scopes: Option<String>,
    pub(crate) roles: Option<String>,
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

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Public,
    Authenticated,
    Service,
}

/// A fragment declaration: target, selector, mode (`Replace`, `Append`, `Prepend`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fragment {
    target: String,
    selector: Option<String>,
    mode: Option<&'static str>,
}

/// The metadata of a route that `add-route` declares, as it is written in Rust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteDecl {
    pub(crate) method: HttpMethod,
    pub(crate) path: String,
    pub(crate) name: String,
    summary: Option<String>,
    description: Option<String>,
    tags: Vec<String>,
    access: Option<Access>,
    scopes: Vec<String>,
    roles: Vec<String>,
    interaction: Option<&'static str>,
    /// `(mode, write)`: `Optional`/`Required`.
    session: Option<(&'static str, bool)>,
    form_urlencoded: bool,
    /// The form needs the session's CSRF token.
    csrf: bool,
    fragment: Option<Fragment>,
    /// `params`, `query`, `body`, `headers`, `response`, `response_headers` schema references
    /// (canonical `kind:Name@source`).
    schemas: [Option<String>; 6],
    response_status: Option<u16>,
}

const SCHEMA_KEYS: [(&str, &str); 6] = [
    ("params_schema", "--params-schema"),
    ("query_schema", "--query-schema"),
    ("body_schema", "--body-schema"),
    ("headers_schema", "--headers-schema"),
    ("response_schema", "--response-schema"),
    ("response_headers_schema", "--response-headers-schema"),
];

/// The managed keys, in the order a declaration lists them.
const KEYS: [&str; 18] = [
    "name",
    "summary",
    "description",
    "tags",
    "access",
    "scopes",
    "roles",
    "interaction",
    "session",
    "form_urlencoded",
    "fragment",
    "params_schema",
    "query_schema",
    "body_schema",
    "headers_schema",
    "response_schema",
    "response_status",
    "response_headers_schema",
];

impl RouteDecl {
    fn new(name: &str) -> Self {
        Self {
            method: HttpMethod::Get,
            path: format!("/api/{name}"),
            name: name.to_owned(),
            summary: None,
            description: None,
            tags: Vec::new(),
            access: None,
            scopes: Vec::new(),
            roles: Vec::new(),
            interaction: None,
            session: None,
            form_urlencoded: false,
            csrf: false,
            fragment: None,
            schemas: Default::default(),
            response_status: None,
        }
    }

    /// `METHOD /path`.
    pub(crate) fn target(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The effective access rule (scopes or roles imply authenticated).
    fn effective_access(&self) -> Access {
        match self.access {
            Some(access) => access,
            None if !self.scopes.is_empty() || !self.roles.is_empty() => Access::Authenticated,
            None => Access::Public,
        }
    }

    /// The call text of `key`, `None` when the key is not declared.
    fn call(&self, key: &str) -> Option<String> {
        let q = decl::quote;
        match key {
            "name" => Some(format!(".name({})", q(&self.name))),
            "summary" => self.summary.as_ref().map(|s| format!(".summary({})", q(s))),
            "description" => self
                .description
                .as_ref()
                .map(|s| format!(".description({})", q(s))),
            "tags" => {
                (!self.tags.is_empty()).then(|| format!(".tags({})", decl::quote_list(&self.tags)))
            }
            "access" => self.access.map(|a| match a {
                Access::Public => ".public()".to_owned(),
                Access::Authenticated => ".authenticated()".to_owned(),
                Access::Service => ".service_only()".to_owned(),
            }),
            "scopes" => (!self.scopes.is_empty())
                .then(|| format!(".scopes({})", decl::quote_list(&self.scopes))),
            "roles" => (!self.roles.is_empty())
                .then(|| format!(".roles({})", decl::quote_list(&self.roles))),
            "interaction" => self
                .interaction
                .map(|i| format!(".interaction(webstir::Interaction::{i})")),
            "form_urlencoded" => self
                .form_urlencoded
                .then(|| format!(".form_urlencoded({})", self.csrf)),
            "fragment" => self.fragment.as_ref().map(|f| {
                let selector = f
                    .selector
                    .as_ref()
                    .map_or("None".to_owned(), |s| format!("Some({})", q(s)));
                let mode = f.mode.map_or("None".to_owned(), |m| {
                    format!("Some(webstir::FragmentMode::{m})")
                });
                format!(".fragment({}, {selector}, {mode})", q(&f.target))
            }),
            "response_status" => self
                .response_status
                .map(|s| format!(".response_status({s})")),
            "session" => self.session.map(|(mode, write)| {
                format!(".session(webstir::manifest::SessionMode::{mode}, {write})")
            }),
            _ => {
                let i = SCHEMA_KEYS.iter().position(|(k, _)| *k == key)?;
                self.schemas[i]
                    .as_ref()
                    .map(|s| format!(".{key}({})", q(s)))
            }
        }
    }

    /// The constructor call text: `get("/api/x")`.
    fn ctor(&self) -> String {
        format!(
            "{}({})",
            self.method.as_str().to_ascii_lowercase(),
            decl::quote(&self.path)
        )
    }

    /// The whole `route()` body for a new file.
    fn render(&self) -> String {
        let mut out = format!("    Route::{}", self.ctor());
        for key in KEYS {
            if let Some(call) = self.call(key) {
                out.push_str("\n        ");
                out.push_str(&call);
            }
        }
        out.push_str("\n        .handler(handle)");
        out
    }

    /// Reads the managed keys of a declaration chain.
    ///
    /// # Errors
    /// Why the chain cannot be edited (a non-literal argument, a key declared twice, …).
    fn read(chain: &Chain) -> Result<(Self, Vec<Option<usize>>), String> {
        let method = match chain.ctor.as_str() {
            "get" => HttpMethod::Get,
            "post" => HttpMethod::Post,
            "put" => HttpMethod::Put,
            "patch" => HttpMethod::Patch,
            "delete" => HttpMethod::Delete,
            "head" => HttpMethod::Head,
            "options" => HttpMethod::Options,
            other => {
                return Err(format!(
                    "line {}: `Route::{other}(…)` is not one of Route::get/post/put/patch/delete/head/options(\"/path\")",
                    chain.ctor_line
                ));
            }
        };
        let path = match chain.ctor_args.as_slice() {
            [arg] => decl::str_lit(arg),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "line {}: the path of `Route::{}(…)` is not a string literal",
                chain.ctor_line, chain.ctor
            )
        })?;
        let mut d = Self::new("");
        d.method = method;
        d.path = path;
        d.name = String::new();
        let mut at: Vec<Option<usize>> = vec![None; KEYS.len()];
        for (i, call) in chain.calls.iter().enumerate() {
            let key = match call.name.as_str() {
                "public" | "authenticated" | "service_only" => "access",
                name => match KEYS.iter().find(|k| **k == name) {
                    Some(key) => *key,
                    None => continue,
                },
            };
            let slot = KEYS.iter().position(|k| *k == key).unwrap_or_default();
            if at[slot].is_some() {
                return Err(format!(
                    "line {}: `{key}` is declared twice; keep one `.{}(…)`",
                    call.line, call.name
                ));
            }
            at[slot] = Some(i);
            let bad = || {
                format!(
                    "line {}: `.{}(…)` does not have literal arguments add-route can read",
                    call.line, call.name
                )
            };
            let one = || match call.args.as_slice() {
                [arg] => Some(arg),
                _ => None,
            };
            match call.name.as_str() {
                "name" => d.name = one().and_then(decl::str_lit).ok_or_else(bad)?,
                "summary" => d.summary = Some(one().and_then(decl::str_lit).ok_or_else(bad)?),
                "description" => {
                    d.description = Some(one().and_then(decl::str_lit).ok_or_else(bad)?);
                }
                "tags" => d.tags = one().and_then(decl::str_list).ok_or_else(bad)?,
                "public" => d.access = Some(Access::Public),
                "authenticated" => d.access = Some(Access::Authenticated),
                "service_only" => d.access = Some(Access::Service),
                "scopes" => d.scopes = one().and_then(decl::str_list).ok_or_else(bad)?,
                "roles" => d.roles = one().and_then(decl::str_list).ok_or_else(bad)?,
                "interaction" => {
                    d.interaction = match one().and_then(decl::path_tail).as_deref() {
                        Some("Navigation") => Some("Navigation"),
                        Some("Mutation") => Some("Mutation"),
                        _ => return Err(bad()),
                    };
                }
                "session" => {
                    let [mode, write] = call.args.as_slice() else {
                        return Err(bad());
                    };
                    let mode = match decl::path_tail(mode).as_deref() {
                        Some("Optional") => "Optional",
                        Some("Required") => "Required",
                        _ => return Err(bad()),
                    };
                    d.session = Some((mode, decl::bool_lit(write).ok_or_else(bad)?));
                }
                "form_urlencoded" => match one().and_then(decl::bool_lit) {
                    Some(csrf) => {
                        d.form_urlencoded = true;
                        d.csrf = csrf;
                    }
                    _ => return Err(bad()),
                },
                "fragment" => {
                    let [target, selector, mode] = call.args.as_slice() else {
                        return Err(bad());
                    };
                    let target = decl::str_lit(target).ok_or_else(bad)?;
                    let selector = match decl::option(selector).ok_or_else(bad)? {
                        None => None,
                        Some(e) => Some(decl::str_lit(e).ok_or_else(bad)?),
                    };
                    let mode = match decl::option(mode).ok_or_else(bad)? {
                        None => None,
                        Some(e) => Some(match decl::path_tail(e).as_deref() {
                            Some("Replace") => "Replace",
                            Some("Append") => "Append",
                            Some("Prepend") => "Prepend",
                            _ => return Err(bad()),
                        }),
                    };
                    d.fragment = Some(Fragment {
                        target,
                        selector,
                        mode,
                    });
                }
                "response_status" => {
                    d.response_status = Some(
                        one()
                            .and_then(decl::int_lit)
                            .and_then(|v| u16::try_from(v).ok())
                            .ok_or_else(bad)?,
                    );
                }
                name => {
                    let i = SCHEMA_KEYS
                        .iter()
                        .position(|(k, _)| *k == name)
                        .unwrap_or_default();
                    d.schemas[i] = Some(one().and_then(decl::str_lit).ok_or_else(bad)?);
                }
            }
        }
        Ok((d, at))
    }
}

impl RouteDecl {
    /// The declaration of a route kept in an older project's `NAME.route.json`.
    ///
    /// # Errors
    /// The keys a Rust declaration written by the CLI cannot carry (sessions, hooks, …).
    pub(crate) fn from_definition(def: &RouteDefinition) -> Result<Self, String> {
        use webstir_manifest::{AccessMode, FormContentType, FragmentMode, Interaction};
        let mut unsupported = Vec::new();
        if def.flash.is_some() {
            unsupported.push("flash");
        }
        if !def.request_hooks.is_empty() {
            unsupported.push("requestHooks");
        }
        if !def.errors.is_empty() {
            unsupported.push("errors");
        }
        if def.render_mode.is_some() || !def.static_paths.is_empty() || def.ssg.is_some() {
            unsupported.push("renderMode/staticPaths/ssg");
        }
        if let Some(form) = &def.form
            && (form.session.is_some()
                || form.flash.is_some()
                || !matches!(form.content_type, None | Some(FormContentType::UrlEncoded)))
        {
            unsupported.push("form (beyond urlencoded)");
        }
        if let Some(output) = &def.output
            && (output.redirect.is_some()
                || output.fragment.is_some()
                || output.responses.is_some())
        {
            unsupported.push("output (redirect/fragment/responses)");
        }
        if !unsupported.is_empty() {
            return Err(unsupported.join(", "));
        }
        let mut d = Self::new(&def.name);
        d.method = def.method;
        d.path.clone_from(&def.path);
        d.summary.clone_from(&def.summary);
        d.description.clone_from(&def.description);
        d.tags.clone_from(&def.tags);
        if let Some(rule) = &def.auth {
            d.access = Some(match rule.mode {
                AccessMode::Service => Access::Service,
                AccessMode::Authenticated => Access::Authenticated,
                _ => Access::Public,
            });
            d.scopes.clone_from(&rule.scopes);
            d.roles.clone_from(&rule.roles);
        }
        d.interaction = def.interaction.map(|i| match i {
            Interaction::Navigation => "Navigation",
            _ => "Mutation",
        });
        d.session = def.session.as_ref().map(|spec| {
            let mode = match spec.mode {
                Some(webstir_manifest::SessionMode::Required) => "Required",
                _ => "Optional",
            };
            (mode, spec.write == Some(true))
        });
        d.form_urlencoded = def.form.is_some();
        d.csrf = def.form.as_ref().and_then(|f| f.csrf) == Some(true);
        d.fragment = def.fragment.as_ref().map(|f| Fragment {
            target: f.target.clone(),
            selector: f.selector.clone(),
            mode: f.mode.map(|m| match m {
                FragmentMode::Append => "Append",
                FragmentMode::Prepend => "Prepend",
                _ => "Replace",
            }),
        });
        if let Some(input) = &def.input {
            for (i, schema) in [&input.params, &input.query, &input.body, &input.headers]
                .into_iter()
                .enumerate()
            {
                d.schemas[i] = schema.as_ref().map(ToString::to_string);
            }
        }
        if let Some(output) = &def.output {
            d.schemas[4] = output.body.as_ref().map(ToString::to_string);
            d.schemas[5] = output.headers.as_ref().map(ToString::to_string);
            d.response_status = output.status;
        }
        Ok(d)
    }

    /// The declaration as a function to append to a handler file, with full paths so the file
    /// needs no new `use`.
    pub(crate) fn render_function(&self) -> String {
        format!(
            "\n/// Method, path and metadata of the route (converted from its former `.route.json`).\n\
             pub fn route() -> webstir::Route {{\n{}\n}}\n",
            self.render()
                .replacen("    Route::", "    webstir::Route::", 1)
        )
    }
}

/// Converts an older project's `NAME.route.json` files into `route()` declarations in `NAME.rs`
/// and removes the JSON (a project converted once stays converted). Returns what it did.
///
/// # Errors
/// A definition that does not parse or cannot be written in Rust by the CLI (the file is left
/// as it is, with the keys to move by hand), or a failed write.
pub(crate) fn convert_json(root: &Path, changes: &mut Changes) -> Result<()> {
    let dir = root.join(ROUTES_DIR);
    for (stem, path) in registry::files_with_suffix(&dir, ".route.json")? {
        let rel = format!("{ROUTES_DIR}/{stem}.route.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {rel}"))?;
        let def: RouteDefinition = serde_json::from_str(&text)
            .with_context(|| format!("{rel} is not a valid route definition; fix or delete it"))?;
        let decl = RouteDecl::from_definition(&def).map_err(|keys| {
            anyhow::anyhow!(
                "{rel}: routes are declared in Rust now, and this definition has keys the CLI \
                 cannot convert ({keys}); write `pub fn route() -> Route` in {ROUTES_DIR}/{stem}.rs \
                 by hand and delete the JSON file"
            )
        })?;
        let rs = format!("{ROUTES_DIR}/{stem}.rs");
        let handler = std::fs::read_to_string(root.join(&rs)).unwrap_or_default();
        if !matches!(decl::find(&handler, "route", "Route"), Ok(Found::Missing))
            && !handler.is_empty()
        {
            bail!("{rel}: {rs} already has a `route()` function; delete the JSON file");
        }
        let code = if handler.is_empty() {
            templates::rustfmt(templates::render(
                "route/route.rs.jinja",
                &serde_json::json!({ "name": decl.name, "declaration": decl.render() }),
            )?)
        } else {
            format!("{handler}{}", decl.render_function())
        };
        changes.write(&rs, &code)?;
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {rel}"))?;
        changes.record(&rel);
    }
    Ok(())
}

/// A checked `add-route` request: every value given is valid. Merged with the declaration in the
/// project (if any) by [`RoutePlan::merge`].
#[derive(Debug, Clone)]
pub(crate) struct RoutePlan {
    pub(crate) name: String,
    stem: String,
    method: Option<HttpMethod>,
    path: Option<String>,
    summary: Option<Option<String>>,
    description: Option<Option<String>>,
    tags: Option<Vec<String>>,
    access: Option<Access>,
    scopes: Option<Vec<String>>,
    roles: Option<Vec<String>>,
    interaction: Option<&'static str>,
    session: Option<&'static str>,
    session_write: bool,
    form_urlencoded: bool,
    csrf: bool,
    fragment: Option<Fragment>,
    schemas: [Option<String>; 6],
    response_status: Option<u16>,
}

impl RoutePlan {
    /// Checks every flag given, before the workspace is looked at.
    ///
    /// # Errors
    /// The first problem found, with the fix (`Invalid route name …`, `Invalid --path …`, …).
    pub(crate) fn resolve(req: &RouteRequest) -> Result<Self> {
        let name = req.name.trim();
        if name.is_empty() {
            bail!("Missing route name.");
        }
        if !is_route_name(name) {
            bail!(
                "Invalid route name '{}'. A route name is an identifier: letters, digits and '_', \
                 starting with a letter (e.g. {}).",
                name.escape_debug(),
                module_name(name)
            );
        }
        let method = req
            .method
            .as_deref()
            .map(|raw| {
                HttpMethod::parse(raw).with_context(|| {
                    format!(
                        "Invalid --method value '{}'. Allowed values: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS.",
                        raw.trim().to_ascii_uppercase()
                    )
                })
            })
            .transpose()?;
        let path = match req.path.as_deref() {
            None => None,
            Some(raw) => {
                let trimmed = raw.trim();
                let path = if trimmed.starts_with('/') || trimmed.is_empty() {
                    trimmed.to_owned()
                } else {
                    format!("/{trimmed}")
                };
                if let Err(err) = check_route_path(&path) {
                    bail!("Invalid --path value: {err}.");
                }
                Some(path)
            }
        };
        let session = req
            .session
            .as_deref()
            .map(|mode| one_of(mode, "--session", &["optional", "required"]))
            .transpose()?
            .map(|m| {
                if m == "required" {
                    "Required"
                } else {
                    "Optional"
                }
            });
        let access = req
            .auth
            .as_deref()
            .map(|raw| {
                one_of(raw, "--auth", &["public", "authenticated", "service"]).map(|a| match a {
                    "public" => Access::Public,
                    "service" => Access::Service,
                    _ => Access::Authenticated,
                })
            })
            .transpose()?;
        let scopes = req.scopes.as_deref().map(|raw| list(raw, false));
        let roles = req.roles.as_deref().map(|raw| list(raw, false));
        let narrows = scopes.as_ref().is_some_and(|s| !s.is_empty())
            || roles.as_ref().is_some_and(|r| !r.is_empty());
        if access == Some(Access::Public) && narrows {
            bail!(
                "--auth public cannot be combined with --scopes or --roles (they need a signed-in \
                 caller); use --auth authenticated, or leave --scopes/--roles out."
            );
        }
        if access == Some(Access::Service) && narrows {
            bail!(
                "--auth service cannot be combined with --scopes or --roles (service tokens carry \
                 neither, so no caller could pass); use --auth authenticated for scoped users."
            );
        }
        for (flag, items) in [("--scopes", &scopes), ("--roles", &roles)] {
            if let Some(bad) = items
                .iter()
                .flatten()
                .find(|i| i.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                bail!(
                    "Invalid {flag} value '{}'. Separate names with ',' and use no spaces inside a name.",
                    bad.escape_debug()
                );
            }
        }
        let interaction = req
            .interaction
            .as_deref()
            .map(|raw| one_of(raw, "--interaction", &["navigation", "mutation"]))
            .transpose()?
            .map(|i| {
                if i == "navigation" {
                    "Navigation"
                } else {
                    "Mutation"
                }
            });
        let fragment = fragment(req)?;
        let mut schemas: [Option<String>; 6] = Default::default();
        let raws = [
            &req.params_schema,
            &req.query_schema,
            &req.body_schema,
            &req.headers_schema,
            &req.response_schema,
            &req.response_headers_schema,
        ];
        for (i, raw) in raws.into_iter().enumerate() {
            if let Some(raw) = raw {
                schemas[i] = Some(schema_ref(SCHEMA_KEYS[i].1, raw)?);
            }
        }
        let response_status = req
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
        Ok(Self {
            name: name.to_owned(),
            stem: module_name(name),
            method,
            path,
            summary: req.summary.as_deref().map(text),
            description: req.description.as_deref().map(text),
            tags: req.tags.as_deref().map(|raw| list(raw, true)),
            access,
            scopes,
            roles,
            interaction,
            session,
            session_write: req.session_write,
            form_urlencoded: req.form_urlencoded || req.csrf,
            csrf: req.csrf,
            fragment,
            schemas,
            response_status,
        })
    }

    /// The declaration after this request: `current` (the route's declaration in the project, if
    /// any) with every given flag applied.
    ///
    /// # Errors
    /// When response metadata would be declared without a response schema.
    pub(crate) fn merge(&self, current: Option<&RouteDecl>) -> Result<RouteDecl> {
        let mut d = current
            .cloned()
            .unwrap_or_else(|| RouteDecl::new(&self.name));
        d.name.clone_from(&self.name);
        if let Some(method) = self.method {
            d.method = method;
        }
        if let Some(path) = &self.path {
            d.path.clone_from(path);
        }
        if let Some(summary) = &self.summary {
            d.summary.clone_from(summary);
        }
        if let Some(description) = &self.description {
            d.description.clone_from(description);
        }
        if let Some(tags) = &self.tags {
            d.tags.clone_from(tags);
        }
        if let Some(access) = self.access {
            d.access = Some(access);
            if access != Access::Authenticated {
                d.scopes.clear();
                d.roles.clear();
            }
        }
        if let Some(scopes) = &self.scopes {
            d.scopes.clone_from(scopes);
        }
        if let Some(roles) = &self.roles {
            d.roles.clone_from(roles);
        }
        let narrowed = !d.scopes.is_empty() || !d.roles.is_empty();
        if d.access == Some(Access::Public) && narrowed {
            d.access = Some(Access::Authenticated);
        }
        if d.access == Some(Access::Service) && narrowed {
            bail!(
                "Route '{}' is service-only, and service tokens carry no scopes or roles; add \
                 --auth authenticated to require a user with them.",
                d.name
            );
        }
        if let Some(interaction) = self.interaction {
            d.interaction = Some(interaction);
        }
        if self.session.is_some() || self.session_write {
            let (mode, write) = d.session.unwrap_or(("Optional", false));
            d.session = Some((self.session.unwrap_or(mode), write || self.session_write));
        }
        if self.form_urlencoded {
            d.form_urlencoded = true;
        }
        if self.csrf {
            d.csrf = true;
        }
        if let Some(fragment) = &self.fragment {
            d.fragment = Some(fragment.clone());
        }
        for (i, schema) in self.schemas.iter().enumerate() {
            if let Some(schema) = schema {
                d.schemas[i] = Some(schema.clone());
            }
        }
        if let Some(status) = self.response_status {
            d.response_status = Some(status);
        }
        if d.schemas[4].is_none() && (d.response_status.is_some() || d.schemas[5].is_some()) {
            bail!("--response-schema is required when setting response headers or status.");
        }
        Ok(d)
    }
}

/// Whether `name` is a route name: ASCII letters, digits and `_`, starting with a letter.
fn is_route_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Trimmed text, `None` when blank (a given blank value clears the key).
fn text(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Comma-separated names: trimmed, blanks dropped, de-duplicated (ignoring case for tags).
fn list(raw: &str, ignore_case: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in raw.split(',').map(str::trim) {
        let dup = out.iter().any(|t| {
            if ignore_case {
                t.eq_ignore_ascii_case(item)
            } else {
                t == item
            }
        });
        if !item.is_empty() && !dup {
            out.push(item.to_owned());
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

fn fragment(req: &RouteRequest) -> Result<Option<Fragment>> {
    let target = req.fragment_target.as_deref().and_then(text);
    let selector = req.fragment_selector.as_deref().and_then(text);
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
    let mode = mode
        .map(|m| one_of(m, "--fragment-mode", &["replace", "append", "prepend"]))
        .transpose()?
        .map(|m| match m {
            "append" => "Append",
            "prepend" => "Prepend",
            _ => "Replace",
        });
    Ok(Some(Fragment {
        target,
        selector,
        mode,
    }))
}

/// A schema reference given to `flag`, in the grammar the runtime reads
/// ([`SchemaReference::parse`]), returned in its canonical form.
fn schema_ref(flag: &str, raw: &str) -> Result<String> {
    use webstir_manifest::SchemaRefError;
    match SchemaReference::parse(raw) {
        Ok(reference) => Ok(reference.to_string()),
        Err(SchemaRefError::UnknownKind(kind)) => {
            bail!(
                "Invalid schema kind '{kind}' in {flag}. Allowed kinds: zod, json-schema, ts-rest."
            )
        }
        Err(err) => bail!("Invalid {flag} value '{raw}'. {err}"),
    }
}

/// A route file of the routes folder and what its declaration says.
#[derive(Debug)]
pub(crate) struct RouteFile {
    /// File stem (the module name).
    pub(crate) stem: String,
    /// Workspace-relative path of the file.
    pub(crate) rel: String,
    /// Its text.
    pub(crate) text: String,
    /// The declaration, or why it cannot be read.
    pub(crate) decl: std::result::Result<RouteDecl, String>,
}

/// Reads every module of the routes folder that has a `route()` function, sorted by stem.
/// Modules that do not parse are skipped (the compiler will report them).
///
/// # Errors
/// When the folder or a file cannot be read.
pub(crate) fn scan(root: &Path) -> Result<Vec<RouteFile>> {
    let dir = root.join(ROUTES_DIR);
    let mut out = Vec::new();
    for stem in registry::modules(&dir)? {
        let (rel, path) = registry::module_file(&dir, ROUTES_DIR, &stem);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let decl = match decl::find(&text, "route", "Route") {
            Ok(Found::Chain(chain)) => RouteDecl::read(&chain).map(|(d, _)| d),
            Ok(Found::Unreadable(why)) => Err(why),
            Ok(Found::Missing) | Err(_) => continue,
        };
        out.push(RouteFile {
            stem,
            rel,
            text,
            decl,
        });
    }
    Ok(out)
}

/// What [`apply`] did.
#[derive(Debug)]
pub(crate) struct Applied {
    /// The route's declaration now.
    pub(crate) decl: RouteDecl,
    /// `created`, or the declaration keys that changed (empty: nothing to change).
    pub(crate) outcome: Outcome,
    /// Notes for the user (a test left alone, …).
    pub(crate) notes: Vec<String>,
}

/// Whether the route was created or updated.
#[derive(Debug)]
pub(crate) enum Outcome {
    Created,
    Updated(Vec<&'static str>),
}

/// Writes the route into the workspace at `root`: edits the declaration of the route with the
/// plan's name, or creates `NAME.rs` (declaration and handler) and `tests/api/NAME.rs`; then
/// refreshes the registries.
///
/// # Errors
/// A declaration the CLI cannot edit, another route with the same method and path, a file name
/// taken by a module that is not this route, or a failed write.
pub(crate) fn apply(root: &Path, plan: &RoutePlan, changes: &mut Changes) -> Result<Applied> {
    convert_json(root, changes)?;
    let files = scan(root)?;
    let existing = files.iter().find(|f| match &f.decl {
        Ok(d) => d.name == plan.name,
        Err(_) => f.stem == plan.stem,
    });
    let mut applied = match existing {
        Some(file) => update(root, plan, file, &files, changes)?,
        None => create(root, plan, &files, changes)?,
    };
    let registry_text =
        std::fs::read_to_string(root.join(ROUTES_DIR).join("mod.rs")).unwrap_or_default();
    if matches!(applied.outcome, Outcome::Created) && !registry::is_generated(&registry_text) {
        applied.notes.push(format!(
            "{ROUTES_DIR}/mod.rs is hand-written, so add-route left it alone: declare `pub mod {};` \
             there and add `.route(routes::{}::route())` to your module",
            plan.stem, plan.stem
        ));
    }
    registry::sync_routes(root, changes)?;
    sync_tests(root, changes)?;
    Ok(applied)
}

fn check_unique(decl: &RouteDecl, files: &[RouteFile], skip: Option<&str>) -> Result<()> {
    let key = route_key(decl.method, &decl.path);
    for file in files {
        if Some(file.stem.as_str()) == skip {
            continue;
        }
        if let Ok(other) = &file.decl
            && route_key(other.method, &other.path) == key
        {
            bail!(
                "{} is already declared by route '{}' in {}. Choose another --path or --method, or \
                 run `webstir add-route {}` to change that route.",
                decl.target(),
                other.name,
                file.rel,
                other.name
            );
        }
    }
    Ok(())
}

fn create(
    root: &Path,
    plan: &RoutePlan,
    files: &[RouteFile],
    changes: &mut Changes,
) -> Result<Applied> {
    let dir = root.join(ROUTES_DIR);
    if registry::module_exists(&dir, &plan.stem) {
        bail!(
            "{ROUTES_DIR}/{}.rs already exists and is not a route (it has no `route()` function). \
             Choose another route name, or add a `pub fn route() -> Route` to that file.",
            plan.stem
        );
    }
    let decl = plan.merge(None)?;
    check_unique(&decl, files, None)?;
    let code = templates::rustfmt(templates::render(
        "route/route.rs.jinja",
        &serde_json::json!({ "name": decl.name, "declaration": decl.render() }),
    )?);
    changes.create(&format!("{ROUTES_DIR}/{}.rs", plan.stem), &code)?;
    let test = test_stub(root, &plan.stem, &decl)?;
    let mut notes = Vec::new();
    let test_rel = format!("{TESTS_DIR}/{}.rs", plan.stem);
    if root.join(&test_rel).exists() {
        notes.push(format!("{test_rel} exists already; left as it is"));
    } else {
        changes.create(&test_rel, &test)?;
    }
    Ok(Applied {
        decl,
        outcome: Outcome::Created,
        notes,
    })
}

fn update(
    root: &Path,
    plan: &RoutePlan,
    file: &RouteFile,
    files: &[RouteFile],
    changes: &mut Changes,
) -> Result<Applied> {
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "Cannot update route '{}': the declaration in {} was changed beyond what add-route can \
             edit ({why}). Edit `route()` by hand, or restore a `Route::get(\"/path\").name(…)…` \
             chain with literal arguments.",
            plan.name,
            file.rel
        )
    };
    let current = file.decl.as_ref().map_err(|why| refuse(why))?;
    if current.name != plan.name {
        bail!(
            "{} declares route '{}', not '{}'. Run `webstir add-route {}` to update it, or choose \
             another name.",
            file.rel,
            current.name,
            plan.name,
            current.name
        );
    }
    let Ok(Found::Chain(chain)) = decl::find(&file.text, "route", "Route") else {
        return Err(refuse("it no longer parses"));
    };
    let (_, at) = RouteDecl::read(&chain).map_err(|why| refuse(&why))?;
    let new = plan.merge(Some(current))?;
    check_unique(&new, files, Some(&file.stem))?;
    let edits = decl::key_edits(&KEYS, &chain, &at, |k| current.call(k), |k| new.call(k));
    let ctor = (new.method != current.method || new.path != current.path).then(|| new.ctor());
    let (text, changed) = decl::apply_edits(&file.text, &chain, ctor, &edits);
    let mut notes = Vec::new();
    if !changed.is_empty() {
        changes.write(&file.rel, &text)?;
        // The generated test follows the declaration while it is as add-route wrote it.
        let test_rel = format!("{TESTS_DIR}/{}.rs", file.stem);
        let old_stub = test_stub(root, &file.stem, current)?;
        let new_stub = test_stub(root, &file.stem, &new)?;
        match std::fs::read_to_string(root.join(&test_rel)) {
            Ok(test) if test == old_stub => {
                changes.write(&test_rel, &new_stub)?;
            }
            Ok(_) if old_stub != new_stub => notes.push(format!(
                "{test_rel} was edited, so add-route left it alone; update it for {}",
                new.target()
            )),
            _ => {}
        }
    }
    Ok(Applied {
        decl: new,
        outcome: Outcome::Updated(changed),
        notes,
    })
}

/// The generated test of a route: calls it as its declaration allows and checks the example
/// handler's answer.
fn test_stub(root: &Path, stem: &str, decl: &RouteDecl) -> Result<String> {
    let path: Vec<String> = decl
        .path
        .split('/')
        .map(|s| {
            if s.starts_with(':') {
                "1".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect();
    let mut caller = String::new();
    match decl.effective_access() {
        Access::Public => {}
        Access::Authenticated => {
            caller.push_str("\n        .as_user(\"test-user\")");
            if !decl.scopes.is_empty() {
                caller.push_str(&format!(
                    "\n        .scopes({})",
                    decl::quote_list(&decl.scopes)
                ));
            }
            if !decl.roles.is_empty() {
                caller.push_str(&format!(
                    "\n        .roles({})",
                    decl::quote_list(&decl.roles)
                ));
            }
        }
        Access::Service => caller.push_str("\n        .as_service()"),
    }
    if decl.form_urlencoded {
        caller.push_str("\n        .form(&[(\"example\", \"1\")])");
    }
    templates::render(
        "route/test.rs.jinja",
        &serde_json::json!({
            "name": decl.name,
            "stem": stem,
            "crate": crate_name(root)?,
            "method": decl.method.as_str().to_ascii_lowercase(),
            "path": decl::quote(&path.join("/")),
            "caller": caller,
            "head": decl.method == HttpMethod::Head,
            "session_required": matches!(decl.session, Some(("Required", _))),
            "csrf": decl.csrf && !matches!(decl.method, HttpMethod::Get | HttpMethod::Head | HttpMethod::Options),
        }),
    )
    .map(templates::rustfmt)
}

/// The Rust name of the project's library crate (`my-backend` → `my_backend`).
pub(crate) fn crate_name(root: &Path) -> Result<String> {
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
    let lib_name = doc
        .get("lib")
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str());
    let name = lib_name
        .or_else(|| doc.get("package")?.get("name")?.as_str())
        .context("Cargo.toml has no [package] name")?;
    Ok(name.replace('-', "_"))
}

/// Regenerates `tests/api/main.rs` from the test files beside it (when the project has that
/// folder).
///
/// # Errors
/// When the folder cannot be read or the write fails.
pub(crate) fn sync_tests(root: &Path, changes: &mut Changes) -> Result<()> {
    let dir = root.join(TESTS_DIR);
    let previous = std::fs::read_to_string(dir.join("main.rs")).unwrap_or_default();
    if !dir.is_dir() || !registry::is_generated(&previous) {
        return Ok(());
    }
    let modules = registry::modules(&dir)?;
    let text = templates::render(
        "registry/tests.rs.jinja",
        &serde_json::json!({ "modules": modules.into_iter().filter(|m| m != "main").collect::<Vec<_>>() }),
    )?;
    changes.write(&format!("{TESTS_DIR}/main.rs"), &text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(name: &str, edit: impl FnOnce(&mut RouteRequest)) -> Result<RoutePlan> {
        let mut req = RouteRequest {
            name: name.into(),
            ..RouteRequest::default()
        };
        edit(&mut req);
        RoutePlan::resolve(&req)
    }

    #[test]
    fn defaults_and_rendering() {
        let d = plan("listAccounts", |_| {}).unwrap().merge(None).unwrap();
        assert_eq!(d.target(), "GET /api/listAccounts");
        assert_eq!(
            d.render(),
            "    Route::get(\"/api/listAccounts\")\n        .name(\"listAccounts\")\n        .handler(handle)"
        );
        let d = plan("a", |r| r.path = Some("api/items/:id".into()))
            .unwrap()
            .merge(None)
            .unwrap();
        assert_eq!(d.path, "/api/items/:id");
    }

    #[test]
    fn a_rerun_keeps_what_it_is_not_given_and_clears_what_is_given_empty() {
        let first = plan("a", |r| {
            r.summary = Some("S".into());
            r.tags = Some("x, y, X".into());
            r.scopes = Some("read".into());
        })
        .unwrap()
        .merge(None)
        .unwrap();
        assert_eq!(first.tags, ["x", "y"]);
        assert_eq!(first.effective_access(), Access::Authenticated);
        assert_eq!(first.call("access"), None, "scopes imply authenticated");

        let second = plan("a", |r| r.description = Some("D".into()))
            .unwrap()
            .merge(Some(&first))
            .unwrap();
        assert_eq!(second.summary.as_deref(), Some("S"));
        assert_eq!(second.scopes, ["read"]);
        assert_eq!(second.description.as_deref(), Some("D"));

        let third = plan("a", |r| {
            r.summary = Some("  ".into());
            r.auth = Some("public".into());
        })
        .unwrap()
        .merge(Some(&second))
        .unwrap();
        assert_eq!(third.summary, None);
        assert!(third.scopes.is_empty(), "public drops scopes");
        assert_eq!(third.call("access").as_deref(), Some(".public()"));

        let err = plan("a", |r| r.roles = Some("admin".into()))
            .unwrap()
            .merge(Some(&RouteDecl {
                access: Some(Access::Service),
                ..first.clone()
            }))
            .unwrap_err();
        assert!(err.to_string().contains("service-only"), "{err}");
    }

    #[test]
    fn read_round_trips_what_render_writes() {
        let d = plan("a", |r| {
            r.method = Some("patch".into());
            r.summary = Some("He said \"hi\"\\n".into());
            r.auth = Some("service".into());
            r.interaction = Some("navigation".into());
            r.session_write = true;
            r.csrf = true;
            r.fragment_target = Some("t".into());
            r.fragment_mode = Some("append".into());
            r.body_schema = Some("json-schema:Body@b.json".into());
            r.response_schema = Some("Out".into());
            r.response_status = Some("202".into());
        })
        .unwrap()
        .merge(None)
        .unwrap();
        let file = format!("fn route() -> Route {{\n{}\n}}\n", d.render());
        let Ok(Found::Chain(chain)) = decl::find(&file, "route", "Route") else {
            panic!("{file}");
        };
        let (read, at) = RouteDecl::read(&chain).unwrap();
        assert_eq!(read, d);
        assert_eq!(at.iter().flatten().count(), 10);
    }
}
