//! `webstir add-route NAME [--method M] [--path P] [metadata flags]`.

use std::process::ExitCode;

use anyhow::Result;

use super::WorkspaceArg;
use crate::changes::{Changes, Report};
use crate::routes::{self, RoutePlan, RouteRequest};

/// Arguments of `webstir add-route`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  webstir add-route accounts --method GET --path /api/accounts \
    --summary \"List accounts\" --description \"Returns the signed-in user's accounts\" --tags accounts,api\n\n\
    Schema references are written kind:Name@source (kind zod, json-schema or ts-rest; zod when left out)."
)]
pub(crate) struct Args {
    /// Route name (also names the handler file, in snake case).
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
    /// navigation or mutation.
    #[arg(long, value_name = "KIND")]
    interaction: Option<String>,
    /// Session requirement: optional or required.
    #[arg(long, value_name = "MODE")]
    session: Option<String>,
    /// The route writes the session.
    #[arg(long)]
    session_write: bool,
    /// The route accepts application/x-www-form-urlencoded forms.
    #[arg(long)]
    form_urlencoded: bool,
    /// The form requires a CSRF token.
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
    routes::apply(&ws.root, &plan, &mut changes)?;
    Report::new("add-route")
        .field("target", plan.target())
        .field("root", ws.root.display())
        .changes(changes.list())
        .print()?;
    Ok(ExitCode::SUCCESS)
}
