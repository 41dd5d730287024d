//! `webstir add-route NAME [--method M] [--path P] [metadata flags]`.

use std::process::ExitCode;

use anyhow::Result;

use super::WorkspaceArg;
use crate::changes::{Changes, Report};
use crate::routes::{self, Outcome, RoutePlan, RouteRequest};

/// Arguments of `webstir add-route`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  webstir add-route accounts --method GET --path /api/accounts \
    --summary \"List accounts\" --description \"Returns the signed-in user's accounts\" --tags accounts,api\n\n\
    Re-running add-route for an existing route name updates the flags you give in its `route()` \
    declaration and keeps everything else (an empty value, e.g. --summary \"\", removes a key).\n\
    Schema references are written kind:Name@source (kind zod, json-schema or ts-rest; zod when left out)."
)]
pub(crate) struct Args {
    /// Route name: an identifier (letters, digits, '_'); also names the file, in snake case.
    #[arg(value_name = "NAME")]
    name: String,
    #[command(flatten)]
    workspace: WorkspaceArg,
    /// HTTP method: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS [default: GET].
    #[arg(long, value_name = "METHOD")]
    method: Option<String>,
    /// Path, `:name` segments are parameters [default: /api/NAME].
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// One-line summary.
    #[arg(long, value_name = "TEXT")]
    summary: Option<String>,
    /// Longer description.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// Comma-separated tags.
    #[arg(long, value_name = "A,B")]
    tags: Option<String>,
    /// Who may call the route: public, authenticated or service.
    #[arg(long, value_name = "WHO")]
    auth: Option<String>,
    /// Comma-separated scopes a caller must all have (implies --auth authenticated).
    #[arg(long, value_name = "A,B")]
    scopes: Option<String>,
    /// Comma-separated roles, one of which a caller must have (implies --auth authenticated).
    #[arg(long, value_name = "A,B")]
    roles: Option<String>,
    /// navigation or mutation.
    #[arg(long, value_name = "KIND")]
    interaction: Option<String>,
    /// Session use: optional or required (a required session answers 401 session_required without one).
    #[arg(long, value_name = "MODE")]
    session: Option<String>,
    /// The route may write the session (a write from a route without it is an error).
    #[arg(long)]
    session_write: bool,
    /// The route accepts application/x-www-form-urlencoded forms.
    #[arg(long)]
    form_urlencoded: bool,
    /// The form requires the session's CSRF token (implies --form-urlencoded).
    #[arg(long)]
    csrf: bool,
    /// Element id a fragment response targets.
    #[arg(long, value_name = "TARGET")]
    fragment_target: Option<String>,
    /// CSS selector within the fragment target.
    #[arg(long, value_name = "SELECTOR")]
    fragment_selector: Option<String>,
    /// replace, append or prepend.
    #[arg(long, value_name = "MODE")]
    fragment_mode: Option<String>,
    /// Path parameters schema.
    #[arg(long, value_name = "REF")]
    params_schema: Option<String>,
    /// Query schema.
    #[arg(long, value_name = "REF")]
    query_schema: Option<String>,
    /// Body schema.
    #[arg(long, value_name = "REF")]
    body_schema: Option<String>,
    /// Request headers schema.
    #[arg(long, value_name = "REF")]
    headers_schema: Option<String>,
    /// Response body schema.
    #[arg(long, value_name = "REF")]
    response_schema: Option<String>,
    /// Response status (100-599; needs --response-schema).
    #[arg(long, value_name = "STATUS")]
    response_status: Option<String>,
    /// Response headers schema (needs --response-schema).
    #[arg(long, value_name = "REF")]
    response_headers_schema: Option<String>,
}

/// Runs `webstir add-route`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let request = RouteRequest {
        name: args.name,
        method: args.method,
        path: args.path,
        summary: args.summary,
        description: args.description,
        tags: args.tags,
        auth: args.auth,
        scopes: args.scopes,
        roles: args.roles,
        interaction: args.interaction,
        session: args.session,
        session_write: args.session_write,
        form_urlencoded: args.form_urlencoded,
        csrf: args.csrf,
        fragment_target: args.fragment_target,
        fragment_selector: args.fragment_selector,
        fragment_mode: args.fragment_mode,
        params_schema: args.params_schema,
        query_schema: args.query_schema,
        body_schema: args.body_schema,
        headers_schema: args.headers_schema,
        response_schema: args.response_schema,
        response_status: args.response_status,
        response_headers_schema: args.response_headers_schema,
    };
    // Validate before looking at the workspace, as the reference does.
    let plan = RoutePlan::resolve(&request)?;
    let ws = args.workspace.locate()?;
    let mut changes = Changes::new(&ws.root);
    let applied = routes::apply(&ws.root, &plan, &mut changes)?;
    let declaration = match &applied.outcome {
        Outcome::Created => "created".to_owned(),
        Outcome::Updated(keys) if keys.is_empty() => "unchanged".to_owned(),
        Outcome::Updated(keys) => format!("updated {}", keys.join(", ")),
    };
    let mut report = Report::new("add-route")
        .field("target", applied.decl.target())
        .field("route", &applied.decl.name)
        .field("declaration", declaration)
        .field("root", ws.root.display());
    for note in &applied.notes {
        report = report.field("note", note);
    }
    report.changes(changes.list()).print()?;
    Ok(ExitCode::SUCCESS)
}
