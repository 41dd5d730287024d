//! `serve`, `build --release`, the forwarding commands (rebuild first, help names `webstir`), watch
//! and new migrations, a published binary's production defaults, and what every project command
//! says outside a project. Real processes, real HTTP over loopback; no timed assertions.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{Followed, command, get, ok, run, signal, target_dir, text};

/// Makes the scaffolded handler in `file` fail with an internal message a production server must
/// not show (only its body changes, whatever else the file declares).
fn make_it_fail(file: &Path) {
    let source = std::fs::read_to_string(file).unwrap();
    let failing = source
        .replace(
            "    Ok(Reply::json(&json!({",
            "    let _unused = Reply::json(&json!({",
        )
        .replace(
            "    })))\n}",
            "    }));\n    Err(webstir::Error::msg(\"secret detail: hunter2\"))\n}",
        );
    assert!(failing.contains("hunter2"), "{source}");
    std::fs::write(file, failing).unwrap();
}

/// The port in a development `API server running` line (`port=N`).
fn port_in(line: &str) -> u16 {
    let at = line.find("port=").expect("a port= field") + "port=".len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a port number")
}

/// The published binary, run in `dir` with none of the variables that pick a mode or database.
fn published(binary: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .current_dir(dir)
        .env("PORT", "0")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for name in [
        "NODE_ENV",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "HOST",
        "DATABASE_URL",
        "DATABASE_MIGRATIONS_DIR",
        "DATABASE_MIGRATIONS_TABLE",
        "MIGRATE_ON_START",
        "WORKSPACE_ROOT",
        "WEBSTIR_WORKSPACE_ROOT",
        "WEBSTIR_CLI_NAME",
        "RUST_LOG",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

#[test]
fn serve_watch_release_and_publish() {
    let tmp = tempfile::tempdir().unwrap();
    // Package names must differ between tests: they share one target folder.
    ok(tmp.path(), &["init", "cmd-run", "--server-only"]);
    let root = tmp.path().join("cmd-run");
    ok(&root, &["add-route", "boom", "--path", "/api/boom"]);
    make_it_fail(&root.join("src/backend/routes/boom.rs"));

    // Forwarded help builds first and names `webstir <command>`, not the app binary.
    for sub in ["jobs", "migrate", "auth"] {
        let stdout = ok(&root, &[sub, "--help"]);
        assert!(
            stdout.contains(&format!("Usage: webstir {sub}")),
            "{sub}: {stdout}"
        );
        assert!(!stdout.contains("cmd-run"), "{sub}: {stdout}");
    }

    // `jobs --job X` rebuilds first when a source is newer than the binary.
    ok(&root, &["add-job", "nightly"]);
    let output = run(&root, &["jobs", "--job", "nightly"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("Compiling cmd-run"), "{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("[jobs] nightly completed in "),
        "{stdout}\n{stderr}"
    );

    serve_answers_then_stops_on_sigterm(&root);
    watch_applies_a_new_migration(&root);

    // build --release: the release binary, which backend-inspect then uses without a dev build.
    let stdout = ok(&root, &["build", "--release"]);
    let release = target_dir().join("release/cmd-run");
    assert!(
        stdout.contains(&format!("\nbackend: {}\n", release.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nprofile: release (runs in production mode unless NODE_ENV is set)\n"),
        "{stdout}"
    );
    assert!(release.is_file());
    let output = run(&root, &["backend-inspect", "--json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Compiling"), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["binary"], release.display().to_string());

    published_binary_runs_in_production(&root);
}

/// `webstir serve`: the dev build serves (internals shown in development) until SIGTERM to
/// `webstir`, which reaches the backend; exit 0.
fn serve_answers_then_stops_on_sigterm(root: &Path) {
    let mut serve = Followed::spawn(command(root, &["serve", "--port", "0"]));
    let line = serve.stdout_line("API server running");
    assert!(line.contains("mode=development"), "{line}");
    let port = port_in(&line);
    let (status, body) = get(port, "/healthz").expect("the backend answers");
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(port, "/api/boom").unwrap();
    assert_eq!(status, 500);
    assert!(
        body.contains("hunter2"),
        "development shows the message: {body}"
    );
    signal(serve.child.id(), "TERM");
    let (code, lines) = serve.finish();
    assert_eq!(code, Some(0), "{lines:?}");
    assert!(get(port, "/healthz").is_none(), "the backend still runs");
}

/// `webstir watch` prints `rebuilding…` on a change and applies a new migration file by
/// restarting the backend.
fn watch_applies_a_new_migration(root: &Path) {
    let mut watch = Followed::spawn(command(root, &["watch", "--port", "0"]));
    watch.stdout_line("[webstir] backend ready at http://127.0.0.1:");
    // Written beside the project and renamed into place, so the watch never sees half a file.
    let staged = root.join("0002_add_notes.sql.partial");
    std::fs::write(
        &staged,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n\
         -- migrate:down\nDROP TABLE notes;\n",
    )
    .unwrap();
    std::fs::rename(
        &staged,
        root.join("src/backend/db/migrations/0002_add_notes.sql"),
    )
    .unwrap();
    watch.stdout_line("[webstir] rebuilding…");
    watch.stdout_line("[webstir] migrations changed; restarting the backend to apply them");
    watch.stdout_line("Applying 0002_add_notes");
    watch.stdout_line("[webstir] backend restarted at http://127.0.0.1:");
    signal(watch.child.id(), "INT");
    let (code, lines) = watch.finish();
    assert_eq!(code, Some(0), "{lines:?}");
    let status = ok(root, &["migrate", "--status"]);
    assert!(status.contains("[migrate] Pending: 0"), "{status}");
}

/// `dist/backend/<app>` started with no environment: production mode (JSON logs, no internals in
/// 500s, `data/app.sqlite`), refuses to start with pending migrations and names the fix, and
/// starts after `migrate`.
fn published_binary_runs_in_production(root: &Path) {
    ok(root, &["publish"]);
    let dist = root.join("dist/backend").canonicalize().unwrap();
    let binary = dist.join("cmd-run");
    let note = std::fs::read_to_string(dist.join("README.md")).unwrap();
    assert!(note.contains("**production mode**"), "{note}");
    assert!(note.contains("`data/app.sqlite`"), "{note}");
    let data = tempfile::tempdir().unwrap();

    let output = published(&binary, data.path(), &["serve"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: 2 pending migration(s) (0001_create_example, 0002_add_notes) in {} and \
             MIGRATE_ON_START is off (the default in production); apply them with `{} migrate` \
             (or `webstir migrate` in the project) and start again, or set MIGRATE_ON_START=on\n",
            dist.join("migrations").display(),
            binary.display()
        )
    );
    let failed: Value = serde_json::from_str(stdout.lines().last().expect("a log line"))
        .expect("production logs are JSON");
    assert_eq!(failed["message"], "startup failed", "{stdout}");
    assert!(data.path().join("data/app.sqlite").is_file());
    assert!(!data.path().join("data/dev.sqlite").exists());

    let output = published(&binary, data.path(), &["migrate"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Applying 0002_add_notes"), "{stdout}");

    // No subcommand: serve.
    let mut server = Followed::spawn(published(&binary, data.path(), &[]));
    let line = server.stdout_line("API server running");
    let event: Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(event["mode"], "production", "{line}");
    let port = u16::try_from(event["port"].as_u64().expect("port")).unwrap();
    assert_eq!(get(port, "/readyz").map(|r| r.0), Some(200));
    let (status, body) = get(port, "/api/boom").unwrap();
    assert_eq!(status, 500);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, serde_json::json!({"error": "internal_error"}));
    signal(server.child.id(), "TERM");
    let (code, lines) = server.finish();
    assert_eq!(code, Some(0), "{lines:?}");
    for (is_err, line) in &lines {
        if !is_err && !line.trim().is_empty() {
            let _: Value = serde_json::from_str(line)
                .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
        }
    }
    assert!(
        lines.iter().any(|(_, l)| l.contains("hunter2")),
        "the internal message is logged: {lines:?}"
    );
}

#[test]
fn project_commands_outside_a_project_say_how_to_get_one() {
    let tmp = tempfile::tempdir().unwrap();
    let here = tmp.path().canonicalize().unwrap();
    for args in [
        &["build"][..],
        &["build", "--release"],
        &["backend-inspect"],
        &["add-route", "accounts"],
        &["add-job", "nightly"],
        &["watch"],
        &["publish"],
        &["serve"],
        &["jobs", "--list"],
        &["jobs", "--help"],
        &["migrate"],
        &["auth", "--help"],
    ] {
        let output = run(&here, args);
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(
            stderr,
            format!(
                "error: no webstir project here (no Cargo.toml with [package.metadata.webstir] in \
                 {} or its parents); create one with `webstir init my-backend --server-only` or \
                 pass -w DIR\n",
                here.display()
            ),
            "{args:?}"
        );
    }
    let output = run(&here, &["serve", "-w", "nowhere"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: no webstir project at {} (no Cargo.toml there); create one with \
             `webstir init nowhere --server-only` or pass -w DIR of an existing project\n",
            here.join("nowhere").display()
        )
    );
}

#[test]
fn version_is_printed() {
    let output = crate::webstir(&["--version"]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout, format!("webstir {}\n", env!("CARGO_PKG_VERSION")));
}
