//! Bad input: the exact messages (`error: <message>` on stderr), exit codes (1 invalid input, 2
//! usage), and that nothing is written.

use std::path::Path;

use crate::util::{ok, run, text};

/// Runs and returns `(exit code, stdout, stderr)`.
fn fails(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = run(dir, args);
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    ok(tmp.path(), &["init", "api", "app"]);
    let root = tmp.path().join("app");
    (tmp, root)
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn bad_method() {
    let (_tmp, root) = project();
    let before = snapshot(&root);
    assert_eq!(
        fails(&root, &["add-route", "accounts", "--method", "FETCH"]),
        (
            Some(1),
            String::new(),
            "error: Invalid --method value 'FETCH'. Allowed values: GET, HEAD, POST, PUT, PATCH, \
             DELETE, OPTIONS.\n"
                .to_owned()
        )
    );
    assert_eq!(snapshot(&root), before);
}

#[test]
fn bad_route_flags() {
    let (_tmp, root) = project();
    let before = snapshot(&root);
    for (args, message) in [
        (&["add-route", "  "][..], "Missing route name."),
        (
            &["add-route", "a", "--interaction", "click"],
            "Invalid --interaction value 'click'. Allowed values: navigation, mutation.",
        ),
        (
            &["add-route", "a", "--session", "sometimes"],
            "Invalid --session value 'sometimes'. Allowed values: optional, required.",
        ),
        (
            &["add-route", "a", "--fragment-mode", "append"],
            "--fragment-target is required when setting fragment metadata.",
        ),
        (
            &[
                "add-route",
                "a",
                "--fragment-target",
                "t",
                "--fragment-mode",
                "swap",
            ],
            "Invalid --fragment-mode value 'swap'. Allowed values: replace, append, prepend.",
        ),
        (
            &["add-route", "a", "--body-schema", "yup:Body"],
            "Invalid schema kind 'yup' in --body-schema. Allowed kinds: zod, json-schema, ts-rest.",
        ),
        (
            &["add-route", "a", "--params-schema", ":Params"],
            "Invalid --params-schema value ':Params'. Missing schema name.",
        ),
        (
            &[
                "add-route",
                "a",
                "--response-schema",
                "R",
                "--response-status",
                "700",
            ],
            "Invalid --response-status value '700'. Status must be between 100 and 599.",
        ),
        (
            &["add-route", "a", "--response-status", "201"],
            "--response-schema is required when setting response headers or status.",
        ),
        (
            &["add-route", "my route"],
            "Invalid route name 'my route'. A route name is an identifier: letters, digits and \
             '_', starting with a letter (e.g. my_route).",
        ),
        (
            &["add-route", "2fa"],
            "Invalid route name '2fa'. A route name is an identifier: letters, digits and '_', \
             starting with a letter (e.g. r_2fa).",
        ),
        (
            &["add-route", "a", "--path", "/api/my items"],
            "Invalid --path value: '/api/my items' contains a space, which a request path never \
             matches; use '-' or '_' between words.",
        ),
        (
            &["add-route", "a", "--path", "/api/items?page=1"],
            "Invalid --path value: '/api/items?page=1' contains '?', which a request path never \
             matches; declare query parameters with Query<T>, not in the path.",
        ),
        (
            &["add-route", "a", "--path", "/api//items"],
            "Invalid --path value: '/api//items' has an empty segment ('//' or a trailing '/'); \
             write /api/items.",
        ),
        (
            &["add-route", "a", "--path", "/api/items/"],
            "Invalid --path value: '/api/items/' has an empty segment ('//' or a trailing '/'); \
             write /api/items.",
        ),
        (
            &["add-route", "a", "--path", "/files/*"],
            "Invalid --path value: '/files/*' contains '*', which a request path never matches; \
             wildcards are not supported, use a :param segment.",
        ),
        (
            &["add-route", "a", "--path", "/api/items/{id}"],
            "Invalid --path value: '/api/items/{id}' uses '{id}'; webstir path parameters are \
             written :id, e.g. /api/items/:id.",
        ),
        (
            &["add-route", "a", "--path", "/api/:id/x/:id"],
            "Invalid --path value: path parameter ':id' appears twice; give each parameter its own \
             name.",
        ),
        (
            &["add-route", "a", "--path", "/api/:bad-name"],
            "Invalid --path value: path parameter ':bad-name' must match :[A-Za-z0-9_]+ (letters, \
             digits and '_').",
        ),
        (
            &["add-route", "a", "--auth", "admins"],
            "Invalid --auth value 'admins'. Allowed values: public, authenticated, service.",
        ),
        (
            &["add-route", "a", "--auth", "public", "--scopes", "x"],
            "--auth public cannot be combined with --scopes or --roles (they need a signed-in \
             caller); use --auth authenticated, or leave --scopes/--roles out.",
        ),
        (
            &["add-route", "a", "--auth", "service", "--roles", "admin"],
            "--auth service cannot be combined with --scopes or --roles (service tokens carry \
             neither, so no caller could pass); use --auth authenticated for scoped users.",
        ),
        (
            &["add-route", "a", "--scopes", "read all"],
            "Invalid --scopes value 'read all'. Separate names with ',' and use no spaces inside a \
             name.",
        ),
    ] {
        let (code, stdout, stderr) = fails(&root, args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(stderr, format!("error: {message}\n"), "{args:?}");
    }
    assert_eq!(snapshot(&root), before);
}

#[test]
fn bad_schedule() {
    let (_tmp, root) = project();
    let before = snapshot(&root);
    for (schedule, message) in [
        (
            "0 0 * *",
            "Invalid --schedule value '0 0 * *'. Expected 5-7 space-separated cron fields, @macro, or rate(...).",
        ),
        (
            "@sometimes",
            "Invalid --schedule value '@sometimes'. Allowed macros: @yearly, @annually, @monthly, \
             @weekly, @daily, @midnight, @hourly, @reboot.",
        ),
        (
            "rate(0 seconds)",
            "Invalid --schedule value 'rate(0 seconds)'. Expected rate(<positive integer> \
             second(s)|minute(s)|hour(s)|day(s)).",
        ),
    ] {
        let (code, stdout, stderr) = fails(&root, &["add-job", "nightly", "--schedule", schedule]);
        assert_eq!(code, Some(1), "{schedule}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(stderr, format!("error: {message}\n"));
    }
    assert_eq!(snapshot(&root), before);
}

#[test]
fn bad_job_name() {
    let (_tmp, root) = project();
    let before = snapshot(&root);
    let (code, _, stderr) = fails(&root, &["add-job", "   "]);
    assert_eq!(
        (code, stderr.as_str()),
        (Some(1), "error: Missing job name.\n")
    );
    for name in [
        "..", "a/b", "a\\b", "foo:bar", "name.", "CON", "nul.txt", "LPT³", "a\nb",
    ] {
        let (code, stdout, stderr) = fails(&root, &["add-job", name, "--schedule", "@daily"]);
        assert_eq!(code, Some(1), "{name:?}: {stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.starts_with("error: Invalid job name '")
                && stderr.ends_with(
                    "'. Expected a portable single path segment without '.', '..', slashes, \
                     reserved names or characters, or control bytes.\n"
                ),
            "{name:?}: {stderr}"
        );
    }
    assert_eq!(snapshot(&root), before);
}

#[test]
fn init_refuses_a_non_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let (code, stdout, stderr) = fails(tmp.path(), &["init", "api", "taken"]);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "error: Refusing to initialize non-empty directory: {}\n",
            tmp.path().join("taken").display()
        )
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn init_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, stderr) = fails(tmp.path(), &["init", "spa", "x"]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            Some(1),
            "error: Unknown init mode \"spa\". Expected api or full.\n"
        )
    );
    let (code, _, stderr) = fails(tmp.path(), &["init"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with("error: Usage: webstir init"), "{stderr}");
    let (code, _, stderr) = fails(tmp.path(), &["init", "a", "b", "c"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!tmp.path().join("x").exists() && !tmp.path().join("b").exists());
}

#[test]
fn missing_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let here = tmp.path().canonicalize().unwrap();
    let cargo_toml = here.join("Cargo.toml");
    let not_here = format!(
        "error: no webstir project here (no Cargo.toml with [package.metadata.webstir] in {} or \
         its parents); create one with `webstir init my-backend --server-only` or pass -w DIR\n",
        here.display()
    );
    for args in [
        &["build"][..],
        &["backend-inspect", "--json"],
        &["add-route", "accounts"],
        &["add-job", "nightly"],
        &["publish", "--runtime", "backend"],
        &["watch", "--runtime", "backend"],
        &["jobs", "--list"],
        &["migrate", "--status"],
    ] {
        let (code, stdout, stderr) = fails(&here, args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(stderr, not_here, "{args:?}");
    }
    let (code, _, stderr) = fails(&here, &["build", "--workspace", "nowhere"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        format!(
            "error: no webstir project at {} (no Cargo.toml there); create one with \
             `webstir init nowhere --server-only` or pass -w DIR of an existing project\n",
            here.join("nowhere").display()
        )
    );

    // A Cargo project that is not a webstir workspace: not found from inside it, and named as
    // such when pointed at.
    std::fs::write(
        &cargo_toml,
        "[package]\nname = \"plain\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let (code, _, stderr) = fails(&here, &["backend-inspect"]);
    assert_eq!(code, Some(1));
    assert_eq!(stderr, not_here);
    let (code, _, stderr) = fails(&here, &["backend-inspect", "-w", "."]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: Workspace Cargo.toml is missing [package.metadata.webstir] mode.\n"
    );
    assert!(!here.join("src").exists());
}

#[test]
fn workspace_is_found_from_a_subfolder() {
    let (_tmp, root) = project();
    let routes = root.join("src/backend/routes");
    let stdout = ok(&routes, &["add-route", "status"]);
    assert!(
        stdout.contains(&format!("root: {}\n", root.display())),
        "{stdout}"
    );
    assert!(routes.join("status.rs").is_file());
}

#[test]
fn bad_runtime_is_a_usage_error() {
    let (_tmp, root) = project();
    let (code, _, stderr) = fails(&root, &["build", "--runtime", "mobile"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("Unsupported runtime 'mobile'. Expected frontend, backend, or all."),
        "{stderr}"
    );
    let (code, _, stderr) = fails(&root, &["build", "--runtime", "frontend"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("error: --runtime frontend selects nothing"),
        "{stderr}"
    );
}

#[test]
fn no_command_prints_help() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = fails(tmp.path(), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Usage: webstir [COMMAND]"), "{stdout}");
    for command in [
        "init",
        "add-route",
        "add-job",
        "build",
        "backend-inspect",
        "watch",
        "publish",
        "migrate",
        "jobs",
    ] {
        assert!(
            stdout.contains(&format!("\n  {command} ")),
            "{command}: {stdout}"
        );
    }
}

#[test]
fn init_needs_the_webstir_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let output = crate::util::command(tmp.path(), &["init", "api", "app"])
        .env("WEBSTIR_SOURCE", tmp.path().join("no-checkout"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "error: webstir sources not found at {} (expected crates/webstir/Cargo.toml there); set \
             WEBSTIR_SOURCE (or pass --source) to a webstir checkout\n",
            tmp.path().join("no-checkout").display()
        )
    );
    assert!(!tmp.path().join("app").exists());
}
