//! `backend-inspect`: the built module's manifest and the migrations summary, as the reference's
//! text report or as JSON.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::backend::Built;
use crate::workspace::{MIGRATIONS_DIR, Workspace};

/// The variable that names the migrations history table.
const TABLE_ENV: &str = "DATABASE_MIGRATIONS_TABLE";
/// The history table when the variable is not set.
const DEFAULT_TABLE: &str = "_webstir_migrations";
/// The migration `webstir init` writes.
const EXAMPLE_MIGRATION: &str = "0001_create_example.sql";

/// What the workspace has for migrations.
#[derive(Debug, Clone)]
pub(crate) struct Migrations {
    runner_present: bool,
    directory_present: bool,
    files: Vec<String>,
    configured_table: String,
}

impl Migrations {
    /// Looks at the migrations folder and asks the binary whether it has a `migrate` subcommand.
    pub(crate) fn inspect(ws: &Workspace, binary: &Path) -> Self {
        let dir = ws.path(MIGRATIONS_DIR);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .filter(|name| name.ends_with(".sql") && !name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let runner_present = Command::new(binary)
            .args(["migrate", "--help"])
            .current_dir(&ws.root)
            .env("WORKSPACE_ROOT", &ws.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        Self {
            runner_present,
            directory_present: dir.is_dir(),
            files,
            configured_table: std::env::var(TABLE_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_TABLE.to_owned()),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "runnerPresent": self.runner_present,
            "runnerCommand": "migrate",
            "migrationsDirectoryPresent": self.directory_present,
            "migrationsDirectory": MIGRATIONS_DIR,
            "migrationFilesCount": self.files.len(),
            "migrationFiles": self.files,
            "exampleMigrationPresent": self.files.iter().any(|f| f == EXAMPLE_MIGRATION),
            "tableEnvKey": TABLE_ENV,
            "configuredTable": self.configured_table,
            "defaultTable": DEFAULT_TABLE,
        })
    }
}

fn present(yes: bool) -> &'static str {
    if yes { "present" } else { "missing" }
}

/// The text report.
pub(crate) fn text(ws: &Workspace, built: &Built, migrations: &Migrations) -> String {
    let m = &built.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "[webstir] backend-inspect complete");
    let _ = writeln!(out, "workspace: {}", ws.name);
    let _ = writeln!(out, "mode: {}", ws.mode);
    let _ = writeln!(out, "root: {}", ws.root.display());
    let _ = writeln!(out, "build: {}", built.binary.display());
    let _ = writeln!(out, "module: {}@{}", m.name, m.version);
    let capabilities = if m.capabilities.is_empty() {
        "none".to_owned()
    } else {
        m.capabilities.join(", ")
    };
    let _ = writeln!(out, "capabilities: {capabilities}");
    let _ = writeln!(out, "routes: {}", m.routes.len());
    for route in &m.routes {
        let access = route.auth.as_ref().map(access_text).unwrap_or_default();
        let _ = writeln!(
            out,
            "  - {} {} ({}){access}",
            route.method, route.path, route.name
        );
    }
    let _ = writeln!(out, "views: {}", m.views.len());
    for view in &m.views {
        let _ = writeln!(out, "  - {} ({})", view.path, view.name);
    }
    let _ = writeln!(out, "jobs: {}", m.jobs.len());
    for job in &m.jobs {
        let mut parts = Vec::new();
        if let Some(schedule) = &job.schedule {
            parts.push(format!("schedule: {schedule}"));
        }
        if let Some(description) = &job.description {
            parts.push(format!("description: {description}"));
        }
        if let Some(priority) = &job.priority {
            parts.push(format!("priority: {priority}"));
        }
        if parts.is_empty() {
            let _ = writeln!(out, "  - {}", job.name);
        } else {
            let _ = writeln!(out, "  - {} ({})", job.name, parts.join(", "));
        }
    }
    let _ = writeln!(out, "data-migrations:");
    let _ = writeln!(out, "  runner: {}", present(migrations.runner_present));
    let _ = writeln!(
        out,
        "  directory: {} ({MIGRATIONS_DIR})",
        present(migrations.directory_present)
    );
    let _ = writeln!(out, "  files: {}", migrations.files.len());
    let _ = writeln!(
        out,
        "  example: {}",
        present(migrations.files.iter().any(|f| f == EXAMPLE_MIGRATION))
    );
    let _ = writeln!(out, "  table-env: {TABLE_ENV}");
    let _ = writeln!(out, "  configured-table: {}", migrations.configured_table);
    out
}

/// The JSON report (pretty, 2-space indent, trailing newline).
pub(crate) fn json(ws: &Workspace, built: &Built, migrations: &Migrations) -> String {
    let value = json!({
        "command": "backend-inspect",
        "workspace": {
            "name": ws.name,
            "mode": ws.mode.as_str(),
            "root": ws.root.display().to_string(),
        },
        "binary": built.binary.display().to_string(),
        "manifest": built.manifest,
        "data": { "migrations": migrations.to_json() },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// ` [auth: authenticated; scopes: a, b; roles: admin]` for routes that declare an access rule.
fn access_text(rule: &webstir_manifest::AccessRule) -> String {
    let mut parts = vec![match rule.mode {
        webstir_manifest::AccessMode::Public => "auth: public".to_owned(),
        webstir_manifest::AccessMode::Service => "auth: service credentials only".to_owned(),
        _ => "auth: authenticated".to_owned(),
    }];
    if !rule.scopes.is_empty() {
        parts.push(format!("scopes: {}", rule.scopes.join(", ")));
    }
    if !rule.roles.is_empty() {
        parts.push(format!("roles: {}", rule.roles.join(", ")));
    }
    format!(" [{}]", parts.join("; "))
}

#[cfg(test)]
mod access_tests {
    use webstir_manifest::AccessRule;

    #[test]
    fn access_rules_are_shown_with_scopes_and_roles() {
        let rule = AccessRule::authenticated()
            .scopes(["accounts:write"])
            .roles(["admin", "owner"]);
        assert_eq!(
            super::access_text(&rule),
            " [auth: authenticated; scopes: accounts:write; roles: admin, owner]"
        );
        assert_eq!(
            super::access_text(&AccessRule::default()),
            " [auth: public]"
        );
    }
}
