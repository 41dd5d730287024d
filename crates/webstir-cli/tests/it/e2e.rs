//! The seed tutorial, end to end, with the real `webstir` binary in a temporary folder: scaffold,
//! build, inspect, add a route and a job, run the job, watch and edit a handler; and publish.
//!
//! Scaffolded projects build into this workspace's `target/` (see `util::target_dir`), so only the
//! project's own crate compiles here.

use std::path::Path;

use serde_json::Value;

use crate::util::{Followed, command, get, ok, port_of, run, signal, text};

/// The tutorial's `add-route accounts …`.
const ADD_ROUTE: [&str; 12] = [
    "add-route",
    "accounts",
    "--method",
    "GET",
    "--path",
    "/api/accounts",
    "--summary",
    "List accounts",
    "--description",
    "Returns the signed-in user's accounts",
    "--tags",
    "accounts,api",
];

/// The tutorial's `add-job nightly …`.
const ADD_JOB: [&str; 8] = [
    "add-job",
    "nightly",
    "--schedule",
    "0 0 * * *",
    "--description",
    "Nightly account sync",
    "--priority",
    "5",
];

fn inspect_json(root: &Path) -> Value {
    serde_json::from_str(&ok(root, &["backend-inspect", "--json"])).expect("inspect prints JSON")
}

#[test]
fn tutorial_backend_loop() {
    let tmp = tempfile::tempdir().unwrap();
    // Package names must differ between tests: they share one target folder.
    ok(tmp.path(), &["init", "e2e-loop", "--server-only"]);
    let root = tmp.path().join("e2e-loop");
    std::fs::copy(root.join(".env.example"), root.join(".env")).unwrap();

    // Build, then inspect: the example route is there.
    let stdout = ok(&root, &["build", "--runtime", "backend"]);
    assert!(stdout.starts_with("[webstir] build complete\n"), "{stdout}");
    assert!(
        stdout.contains("manifest: .webstir/backend-manifest.json (1 routes, 0 jobs)"),
        "{stdout}"
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(".webstir/backend-manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["routes"][0]["path"], "/api/hello");

    let report = ok(&root, &["backend-inspect"]);
    assert!(
        report.starts_with("[webstir] backend-inspect complete\n"),
        "{report}"
    );
    assert!(report.contains("\nmodule: e2e-loop@0.1.0\n"), "{report}");
    assert!(report.contains("\ncapabilities: http, db\n"), "{report}");
    assert!(
        report.contains("\nroutes: 1\n  - GET /api/hello (hello)\nviews: 0\njobs: 0\n"),
        "{report}"
    );
    assert!(
        report.contains(
            "data-migrations:\n  runner: present\n  directory: present (src/backend/db/migrations)\n  \
             files: 1\n  example: present\n  table-env: DATABASE_MIGRATIONS_TABLE\n  \
             configured-table: _webstir_migrations\n"
        ),
        "{report}"
    );
    let json = inspect_json(&root);
    assert_eq!(json["command"], "backend-inspect");
    assert_eq!(json["workspace"]["mode"], "api");
    assert_eq!(json["manifest"]["routes"][0]["name"], "hello");
    assert_eq!(
        json["data"]["migrations"]["migrationFiles"][0],
        "0001_create_example.sql"
    );

    // The tutorial's route and job.
    ok(&root, &ADD_ROUTE);
    ok(&root, &ADD_JOB);
    // backend-inspect notices the new sources and builds first; both reports are golden files.
    let report = ok(&root, &["backend-inspect"]);
    let json = ok(&root, &["backend-inspect", "--json"]);
    let root_real = root.canonicalize().unwrap();
    crate::golden::check(
        "backend-inspect",
        &[
            (
                "stdout".to_owned(),
                crate::golden::redact(&report, &root_real),
            ),
            (
                "stdout-json".to_owned(),
                crate::golden::redact(&json, &root_real),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["manifest"]["jobs"][0]["priority"], 5);
    let stdout = ok(&root, &["build"]);
    assert!(stdout.contains("(2 routes, 1 jobs)"), "{stdout}");

    // The job runs on demand through the built binary.
    let output = run(&root, &["jobs", "--job", "nightly"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("[jobs] running nightly (schedule: 0 0 * * *)"),
        "{all}"
    );
    assert!(all.contains("[job:nightly] ran at "), "{all}");
    assert!(all.contains("[jobs] nightly completed in "), "{all}");
    let output = run(&root, &["jobs", "--job", "weekly"]);
    assert_eq!(output.status.code(), Some(1), "{:?}", text(&output));
    let stdout = ok(&root, &["migrate", "--list"]);
    assert!(stdout.contains("- 0001_create_example"), "{stdout}");

    watch_restarts_after_a_handler_edit(&root);

    // The watch left a compile error in the handler: build shows cargo's diagnostics and fails.
    let output = run(&root, &["build"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("unclosed delimiter"), "{stderr}");
    assert!(
        stderr.contains("src/backend/routes/accounts.rs"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("error: backend build failed: cargo exited with exit status: 101\n"),
        "{stderr}"
    );

    redeclare_and_test(&root, tmp.path());
}

/// Re-running `add-route` with a new summary and `--auth authenticated` changes the declaration
/// (and the manifest, and what the server enforces) without touching the handler; the project's
/// generated tests pass with `cargo test`, also in a copy of the project in another folder.
fn redeclare_and_test(root: &Path, tmp: &Path) {
    let handler = root.join("src/backend/routes/accounts.rs");
    let source = std::fs::read_to_string(&handler).unwrap();
    let fixed = source.replace("\nfn broken( {\n", "");
    std::fs::write(&handler, &fixed).unwrap();
    let handle_fn = |text: &str| text[text.find("pub async fn handle").unwrap()..].to_owned();

    let stdout = ok(
        root,
        &[
            "add-route",
            "accounts",
            "--summary",
            "Accounts of the caller",
            "--auth",
            "authenticated",
        ],
    );
    assert!(
        stdout.contains("declaration: updated summary, access\n"),
        "{stdout}"
    );
    let after = std::fs::read_to_string(&handler).unwrap();
    assert_eq!(
        handle_fn(&after),
        handle_fn(&fixed),
        "the handler is untouched"
    );

    let json = inspect_json(root);
    let route = json["manifest"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "accounts")
        .cloned()
        .unwrap();
    assert_eq!(route["summary"], "Accounts of the caller", "{route}");
    assert_eq!(route["auth"]["mode"], "authenticated", "{route}");

    // The built server enforces it: no credential, 401; the example route still answers.
    let binary = crate::util::target_dir().join("debug/e2e-loop");
    let mut serve = std::process::Command::new(&binary);
    serve
        .arg("serve")
        .current_dir(root)
        .env("WORKSPACE_ROOT", root)
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .stdin(std::process::Stdio::null());
    let mut server = Followed::spawn(serve);
    let line = server.stdout_line("API server running");
    let event: Value = serde_json::from_str(&line).expect("a JSON log line");
    let port = u16::try_from(event["port"].as_u64().expect("port")).unwrap();
    assert_eq!(get(port, "/api/accounts").map(|r| r.0), Some(401));
    assert_eq!(get(port, "/api/hello").map(|r| r.0), Some(200));
    signal(server.child.id(), "TERM");
    assert_eq!(server.finish().0, Some(0));

    // Routes of every kind the generated tests must handle as generated.
    for args in [
        &[
            "add-route",
            "item",
            "--path",
            "/api/items/:id",
            "--auth",
            "service",
        ][..],
        &[
            "add-route",
            "ping",
            "--method",
            "HEAD",
            "--path",
            "/api/ping",
        ],
        &[
            "add-route",
            "submit",
            "--method",
            "POST",
            "--form-urlencoded",
            "--roles",
            "editor",
        ],
        &["add-route", "profile", "--session", "required"],
        &["add-route", "save", "--method", "POST", "--csrf"],
    ] {
        ok(root, args);
    }

    // The project, copied elsewhere, builds and its generated tests pass.
    let copy = tmp.join("elsewhere/e2e-loop");
    copy_tree(root, &copy);
    let output = std::process::Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()))
        .args(["test", "--offline", "--quiet"])
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", crate::util::target_dir())
        .output()
        .unwrap();
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("test result: ok. 7 passed"), "{out}");
}

/// Copies a project without its build state.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == ".webstir" || name == "data" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// `webstir watch`: serves, refuses a second watch and a build, restarts with the edited handler,
/// keeps serving through a failed rebuild, and stops cleanly on Ctrl-C.
fn watch_restarts_after_a_handler_edit(root: &Path) {
    let mut watch = Followed::spawn(command(
        root,
        &["watch", "--runtime", "backend", "--port", "0"],
    ));
    let ready = watch.stdout_line("[webstir] backend ready at http://127.0.0.1:");
    let url = ready.trim_start_matches("[webstir] backend ready at ");
    watch.stdout_line("filter: backend, running: backend-only");
    let port = port_of(url);
    let (status, body) = get(port, "/api/accounts").expect("the backend answers");
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["route"], "accounts");
    assert_eq!(get(port, "/api/health").map(|r| r.0), Some(200));

    // The lock keeps a second watch and a build away.
    for args in [&["watch"][..], &["build"]] {
        let output = run(root, args);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("because webstir watch is active for this workspace (pid "),
            "{args:?}: {stderr}"
        );
    }

    // Edit the handler: the restarted backend answers with the new body.
    let handler = root.join("src/backend/routes/accounts.rs");
    let source = std::fs::read_to_string(&handler).unwrap();
    let edited = source.replace(
        "\"route\": ctx.route_name(),",
        "\"route\": ctx.route_name(),\n        \"edited\": true,",
    );
    assert_ne!(edited, source);
    std::fs::write(&handler, &edited).unwrap();
    let restarted = watch.stdout_line("[webstir] backend restarted at http://127.0.0.1:");
    let port = port_of(restarted.trim_start_matches("[webstir] backend restarted at "));
    let (status, body) = get(port, "/api/accounts").expect("the restarted backend answers");
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["edited"], true, "{body}");

    // A compile error: the old process keeps serving, and cargo's error is shown.
    std::fs::write(&handler, format!("{edited}\nfn broken( {{\n")).unwrap();
    watch.stderr_line("[webstir] backend rebuild failed; keeping the current runtime process.");
    assert!(
        watch.transcript().contains("unclosed delimiter"),
        "{}",
        watch.transcript()
    );
    let (status, body) = get(port, "/api/accounts").expect("the old backend still answers");
    assert_eq!(status, 200);
    assert!(body.contains("\"edited\":true"), "{body}");

    // Ctrl-C (SIGINT): the backend is stopped with SIGTERM, the lock is released, exit 0.
    signal(watch.child.id(), "INT");
    let (code, lines) = watch.finish();
    let transcript: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    assert_eq!(code, Some(0), "{transcript}");
    assert!(
        transcript.contains("[webstir] watch stopped"),
        "{transcript}"
    );
    assert!(!root.join(".webstir/watch.lock").exists());
    assert!(
        get(port, "/api/health").is_none(),
        "the backend is still running"
    );
}

#[test]
fn publish_produces_a_backend_that_serves() {
    let tmp = tempfile::tempdir().unwrap();
    ok(tmp.path(), &["init", "api", "e2e-publish"]);
    let root = tmp.path().join("e2e-publish");
    std::fs::create_dir_all(root.join("dist/frontend")).unwrap();
    std::fs::write(root.join("dist/frontend/index.html"), "<h1>kept</h1>").unwrap();

    let stdout = ok(&root, &["publish", "--runtime", "backend"]);
    let dist = root.join("dist/backend");
    assert_eq!(
        stdout,
        format!(
            "[webstir] publish complete\nworkspace: e2e-publish\nmode: api\nroot: {}\nbackend: {}\n\
             changes: 4\n  - dist/backend/README.md\n  - dist/backend/e2e-publish\n  - \
             dist/backend/manifest.json\n  - dist/backend/migrations/0001_create_example.sql\n",
            root.display(),
            dist.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(root.join("dist/frontend/index.html")).unwrap(),
        "<h1>kept</h1>"
    );
    let note = std::fs::read_to_string(dist.join("README.md")).unwrap();
    assert!(
        note.contains("./e2e-publish migrate && ./e2e-publish serve"),
        "{note}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dist.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["name"], "e2e-publish");

    // The published binary migrates from the migrations beside it, then serves /healthz.
    let data = tempfile::tempdir().unwrap();
    let binary = dist.join("e2e-publish");
    let migrate = std::process::Command::new(&binary)
        .arg("migrate")
        .current_dir(data.path())
        .env("WORKSPACE_ROOT", data.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let (out, err) = text(&migrate);
    assert_eq!(migrate.status.code(), Some(0), "{out}{err}");
    assert!(
        format!("{out}{err}").contains("0001_create_example"),
        "{out}{err}"
    );

    let mut serve = std::process::Command::new(&binary);
    serve
        .arg("serve")
        .current_dir(data.path())
        .env("WORKSPACE_ROOT", data.path())
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null());
    let mut server = Followed::spawn(serve);
    let line = server.stdout_line("API server running");
    let event: Value = serde_json::from_str(&line).expect("a JSON log line");
    let port = u16::try_from(event["port"].as_u64().expect("port")).unwrap();
    let (status, body) = get(port, "/healthz").expect("the published backend answers");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ok\":true"), "{body}");
    signal(server.child.id(), "TERM");
    let (code, _) = server.finish();
    assert_eq!(code, Some(0));
}
