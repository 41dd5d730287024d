//! Golden tests: every file `init`, `add-route` and `add-job` write, and what they print, compared
//! with the expected files under `tests/it/golden/<case>/` (each stored as `<path>.golden`).
//!
//! Re-bless after an intended change with `WEBSTIR_BLESS=1 cargo test -p webstir-cli golden`.
//! Absolute paths are redacted: the shared target folder as `{{TARGET}}`, the webstir checkout as
//! `{{WEBSTIR_SOURCE}}`, the project root as `{{ROOT}}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::{ok, run, source_dir, target_dir, text};

fn golden_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/golden")
        .join(case)
}

fn blessing() -> bool {
    std::env::var_os("WEBSTIR_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

pub(crate) fn redact(text: &str, root: &Path) -> String {
    text.replace(&target_dir().display().to_string(), "{{TARGET}}")
        .replace(&source_dir().display().to_string(), "{{WEBSTIR_SOURCE}}")
        .replace(&root.display().to_string(), "{{ROOT}}")
}

/// Every file under `dir`, by `/`-separated relative path.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// Compares `actual` (relative path → contents) with the golden case, or rewrites the case when
/// blessing.
pub(crate) fn check(case: &str, actual: &BTreeMap<String, String>) {
    let dir = golden_dir(case);
    if blessing() {
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, contents) in actual {
            let path = dir.join(format!("{rel}.golden"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        return;
    }
    let expected: BTreeMap<String, String> = tree(&dir)
        .into_iter()
        .map(|(rel, contents)| {
            (
                rel.strip_suffix(".golden").unwrap_or(&rel).to_owned(),
                contents,
            )
        })
        .collect();
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(actual),
        names(&expected),
        "files of golden case {case} differ (WEBSTIR_BLESS=1 re-blesses)"
    );
    for (rel, want) in &expected {
        let got = &actual[rel];
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
            panic!(
                "{case}/{rel} differs from the golden file at line {} (WEBSTIR_BLESS=1 re-blesses)\n\
                 --- expected\n{want}\n--- actual\n{got}",
                line + 1
            );
        }
    }
}

/// The project files (redacted), without `Cargo.lock` (checked against the checkout's separately).
fn project_files(root: &Path) -> BTreeMap<String, String> {
    tree(root)
        .into_iter()
        .filter(|(rel, _)| rel != "Cargo.lock")
        .map(|(rel, contents)| (rel, redact(&contents, root)))
        .collect()
}

/// Only the files named, plus the command's stdout as `stdout`.
fn pick(root: &Path, stdout: &str, files: &[&str]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = files
        .iter()
        .map(|rel| {
            let contents = std::fs::read_to_string(root.join(rel)).unwrap();
            ((*rel).to_owned(), redact(&contents, root))
        })
        .collect();
    out.insert("stdout".into(), redact(stdout, root));
    out
}

/// `init` into `<tmp>/my-backend` with `args`; returns (tmp, root, stdout).
fn init(args: &[&str]) -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = ok(tmp.path(), args);
    let root = tmp.path().join("my-backend").canonicalize().unwrap();
    (tmp, root, stdout)
}

#[test]
fn init_server_only_writes_the_api_project() {
    let (_tmp, root, stdout) = init(&["init", "my-backend", "--server-only"]);
    let mut files = project_files(&root);
    files.insert("stdout".into(), redact(&stdout, &root));
    check("init-api", &files);
    assert_eq!(
        std::fs::read_to_string(root.join("Cargo.lock")).unwrap(),
        std::fs::read_to_string(source_dir().join("Cargo.lock")).unwrap(),
        "the project starts from the checkout's Cargo.lock"
    );
}

#[test]
fn init_api_and_workspace_forms_write_the_same_project() {
    for args in [
        &["init", "api", "my-backend"][..],
        &["init", "API", "--workspace", "my-backend"],
    ] {
        let (_tmp, root, stdout) = init(args);
        let mut files = project_files(&root);
        files.insert("stdout".into(), redact(&stdout, &root));
        check("init-api", &files);
    }
}

#[test]
fn init_full_writes_the_full_project() {
    for args in [&["init", "full", "my-backend"][..], &["init", "my-backend"]] {
        let (_tmp, root, stdout) = init(args);
        let mut files = project_files(&root);
        files.insert("stdout".into(), redact(&stdout, &root));
        check("init-full", &files);
    }
}

const ROUTE_FILES: [&str; 4] = [
    "src/backend/routes/accounts.rs",
    "src/backend/routes/mod.rs",
    "tests/api/accounts.rs",
    "tests/api/main.rs",
];

/// The tutorial's `add-route accounts` with every flag it uses.
const TUTORIAL_ROUTE: [&str; 12] = [
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

#[test]
fn add_route_from_the_tutorial() {
    let (_tmp, root, _) = init(&["init", "my-backend", "--server-only"]);
    let stdout = ok(&root, &TUTORIAL_ROUTE);
    check("add-route-accounts", &pick(&root, &stdout, &ROUTE_FILES));
}

#[test]
fn add_route_with_every_flag() {
    let (_tmp, root, _) = init(&["init", "my-backend", "--server-only"]);
    let stdout = ok(
        &root,
        &[
            "add-route",
            "accounts",
            "--method",
            "post",
            "--path",
            "api/accounts",
            "--summary",
            "List accounts",
            "--description",
            "Returns the current account list",
            "--tags",
            "accounts, api, accounts",
            "--auth",
            "authenticated",
            "--scopes",
            "accounts:write, accounts:read",
            "--roles",
            "admin",
            "--interaction",
            "mutation",
            "--session",
            "required",
            "--session-write",
            "--form-urlencoded",
            "--csrf",
            "--fragment-target",
            "accounts-panel",
            "--fragment-selector",
            "#accounts-panel",
            "--fragment-mode",
            "replace",
            "--params-schema",
            "zod:AccountParams@src/shared/contracts/accounts.ts",
            "--query-schema",
            "json-schema:AccountQuery",
            "--body-schema",
            "AccountInput",
            "--headers-schema",
            "ts-rest:AccountHeaders@contract.ts",
            "--response-schema",
            "AccountList@src/shared/contracts/accounts.ts",
            "--response-status",
            "201",
            "--response-headers-schema",
            "json-schema:ListHeaders",
        ],
    );
    check("add-route-every-flag", &pick(&root, &stdout, &ROUTE_FILES));
}

#[test]
fn add_route_again_edits_the_declaration_and_keeps_the_handler() {
    let (_tmp, root, _) = init(&["init", "my-backend", "--server-only"]);
    ok(&root, &TUTORIAL_ROUTE);
    let file = root.join("src/backend/routes/accounts.rs");
    // The user edits the handler and adds a hand-written call and a comment to the declaration.
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"route\": ctx.route_name(),", "\"accounts\": [],")
        .replace(
            "        .handler(handle)",
            "        // Keep this comment.\n        .layer(webstir::tower::layer::util::Identity::new())\n        .handler(handle)",
        );
    std::fs::write(&file, &edited).unwrap();

    // A new summary and an access rule: only those calls change.
    let stdout = ok(
        &root,
        &[
            "add-route",
            "accounts",
            "--summary",
            "Account metadata",
            "--auth",
            "authenticated",
        ],
    );
    assert_eq!(
        stdout,
        format!(
            "[webstir] add-route complete\ntarget: GET /api/accounts\nroute: accounts\n\
             declaration: updated summary, access\nroot: {}\nchanges: 2\n  - \
             src/backend/routes/accounts.rs\n  - tests/api/accounts.rs\n",
            root.display()
        )
    );
    let expected = edited
        .replace(
            ".summary(\"List accounts\")",
            ".summary(\"Account metadata\")",
        )
        .replace(
            "        .tags([\"accounts\", \"api\"])\n",
            "        .tags([\"accounts\", \"api\"])\n        .authenticated()\n",
        );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    let test = std::fs::read_to_string(root.join("tests/api/accounts.rs")).unwrap();
    assert!(test.contains(".as_user(\"test-user\")"), "{test}");

    // Nothing to change.
    let stdout = ok(
        &root,
        &["add-route", "accounts", "--summary", "Account metadata"],
    );
    assert!(
        stdout.contains("declaration: unchanged\n") && stdout.ends_with("changes: none\n"),
        "{stdout}"
    );

    // An edited test is left alone, with a note.
    let test_file = root.join("tests/api/accounts.rs");
    let my_test = format!("{test}\n// mine\n");
    std::fs::write(&test_file, &my_test).unwrap();
    let stdout = ok(&root, &["add-route", "accounts", "--auth", "public"]);
    assert!(
        stdout.contains("note: tests/api/accounts.rs was edited, so add-route left it alone; update it for GET /api/accounts\n"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&test_file).unwrap(), my_test);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("        .public()\n")
    );

    // A declaration rewritten beyond what add-route can edit is refused, and nothing changes.
    let by_hand = std::fs::read_to_string(&file)
        .unwrap()
        .replace(".summary(\"Account metadata\")", ".summary(SUMMARY)");
    std::fs::write(&file, &by_hand).unwrap();
    let refused = run(&root, &["add-route", "accounts", "--summary", "x"]);
    let (out, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: Cannot update route 'accounts': the declaration in src/backend/routes/accounts.rs \
         was changed beyond what add-route can edit (line 13: `.summary(…)` does not have literal \
         arguments add-route can read). Edit `route()` by hand, or restore a \
         `Route::get(\"/path\").name(…)…` chain with literal arguments.\n"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), by_hand);
    std::fs::write(
        &file,
        by_hand.replace(".summary(SUMMARY)", ".summary(\"Account metadata\")"),
    )
    .unwrap();

    // Another route on the same method and path is refused; another method is a new route.
    let refused = run(&root, &["add-route", "list", "--path", "/api/accounts"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused).1,
        "error: GET /api/accounts is already declared by route 'accounts' in \
         src/backend/routes/accounts.rs. Choose another --path or --method, or run `webstir \
         add-route accounts` to change that route.\n"
    );
    let stdout = ok(
        &root,
        &[
            "add-route",
            "createAccount",
            "--method",
            "POST",
            "--path",
            "/api/accounts",
        ],
    );
    assert!(
        stdout.contains("  - src/backend/routes/create_account.rs\n"),
        "{stdout}"
    );
}

#[test]
fn add_job_from_the_tutorial() {
    let (_tmp, root, _) = init(&["init", "my-backend", "--server-only"]);
    let stdout = ok(
        &root,
        &[
            "add-job",
            "nightly",
            "--schedule",
            "0 0 * * *",
            "--description",
            "Nightly account sync",
            "--priority",
            "5",
        ],
    );
    check(
        "add-job-nightly",
        &pick(
            &root,
            &stdout,
            &["src/backend/jobs/mod.rs", "src/backend/jobs/nightly.rs"],
        ),
    );

    // A second job with a text priority and a rate schedule; the registry lists both, by name.
    let stdout = ok(
        &root,
        &[
            "add-job",
            "  cleanup-sessions ",
            "--schedule",
            "rate(5 minutes)",
            "--priority",
            "high",
        ],
    );
    check(
        "add-job-second",
        &pick(
            &root,
            &stdout,
            &[
                "src/backend/jobs/cleanup_sessions.rs",
                "src/backend/jobs/mod.rs",
            ],
        ),
    );

    // A re-run edits the declaration in place.
    let job = root.join("src/backend/jobs/nightly.rs");
    let before = std::fs::read_to_string(&job).unwrap();
    let stdout = ok(&root, &["add-job", "nightly", "--schedule", "@hourly"]);
    assert!(
        stdout.contains("declaration: updated schedule\n"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&job).unwrap(),
        before.replace(".schedule(\"0 0 * * *\")", ".schedule(\"@hourly\")")
    );
    let stdout = ok(&root, &["add-job", "nightly"]);
    assert!(stdout.contains("declaration: unchanged\n"), "{stdout}");
}

#[test]
fn json_definitions_of_older_projects_become_rust_declarations() {
    // Its own package name: it builds, and built binaries share one target folder.
    let tmp = tempfile::tempdir().unwrap();
    ok(tmp.path(), &["init", "converted-backend", "--server-only"]);
    let root = tmp.path().join("converted-backend");
    let routes = root.join("src/backend/routes");
    let jobs = root.join("src/backend/jobs");
    // The files an older `add-route`/`add-job` wrote.
    std::fs::write(
        routes.join("accounts.route.json"),
        r#"{"name":"listAccounts","method":"GET","path":"/api/accounts","summary":"List accounts","tags":["accounts"],"auth":{"mode":"authenticated","scopes":["accounts:read"]}}"#,
    )
    .unwrap();
    let old_handler = "use webstir::{Ctx, Reply, Result};\n\n/// Answers the route.\npub(crate) async fn handle(ctx: Ctx) -> Result<Reply> {\n    Ok(Reply::text(ctx.route_name()))\n}\n";
    std::fs::write(routes.join("accounts.rs"), old_handler).unwrap();
    std::fs::write(
        jobs.join("nightly.job.json"),
        r#"{"name":"nightly","schedule":"0 0 * * *","priority":"high"}"#,
    )
    .unwrap();
    std::fs::write(
        jobs.join("nightly.rs"),
        "use webstir::{JobContext, Result};\n\npub(crate) async fn run(_ctx: JobContext) -> Result<()> {\n    Ok(())\n}\n",
    )
    .unwrap();

    let stdout = ok(
        &root,
        &["add-route", "listAccounts", "--summary", "Accounts"],
    );
    assert!(
        stdout.contains("declaration: updated summary\n"),
        "{stdout}"
    );
    assert!(!routes.join("accounts.route.json").exists());
    let converted = std::fs::read_to_string(routes.join("accounts.rs")).unwrap();
    assert!(converted.starts_with(old_handler), "{converted}");
    assert!(
        converted.ends_with(
            "pub fn route() -> webstir::Route {\n    webstir::Route::get(\"/api/accounts\")\n        \
             .name(\"listAccounts\")\n        .summary(\"Accounts\")\n        .tags([\"accounts\"])\n        \
             .authenticated()\n        .scopes([\"accounts:read\"])\n        .handler(handle)\n}\n"
        ),
        "{converted}"
    );
    // The build converts the job; the project builds, and its manifest has both, as declared.
    let json: serde_json::Value =
        serde_json::from_str(&ok(&root, &["backend-inspect", "--json"])).unwrap();
    assert!(!jobs.join("nightly.job.json").exists());
    let job = std::fs::read_to_string(jobs.join("nightly.rs")).unwrap();
    assert!(
        job.ends_with(
            "pub fn job() -> webstir::Job {\n    webstir::Job::new(\"nightly\")\n        \
             .schedule(\"0 0 * * *\")\n        .priority_label(\"high\")\n        .run(run)\n}\n"
        ),
        "{job}"
    );

    let route = &json["manifest"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "listAccounts")
        .cloned()
        .unwrap();
    assert_eq!(route["auth"]["scopes"][0], "accounts:read", "{route}");
    assert_eq!(json["manifest"]["jobs"][0]["priority"], "high");
}

#[test]
fn hand_written_registries_are_left_alone() {
    let (_tmp, root, _) = init(&["init", "my-backend", "--server-only"]);
    let registry = root.join("src/backend/routes/mod.rs");
    let mine = "//! My routes.\n\npub mod hello;\n\npub fn register(module: webstir::Module) -> webstir::Module {\n    module.route(hello::route())\n}\n";
    std::fs::write(&registry, mine).unwrap();
    let stdout = ok(&root, &["add-route", "status"]);
    assert!(
        stdout.contains(
            "note: src/backend/routes/mod.rs is hand-written, so add-route left it alone: declare \
             `pub mod status;` there and add `.route(routes::status::route())` to your module\n"
        ),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&registry).unwrap(), mine);
    assert!(root.join("src/backend/routes/status.rs").is_file());
}

#[test]
fn the_accounts_example_is_a_cli_project() {
    // Its module table is hand-written in module.rs; the CLI builds and inspects it as it is.
    let example = source_dir().join("examples/accounts");
    let sources = tree(&example.join("src"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&example, &["backend-inspect", "--json"])).unwrap();
    assert_eq!(json["manifest"]["name"], "@demo/accounts");
    let routes: Vec<&str> = json["manifest"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        routes,
        [
            "listAccounts",
            "createAccount",
            "getAccount",
            "deleteAccount",
            "welcome",
            "greeting"
        ]
    );
    assert_eq!(json["manifest"]["jobs"][0]["name"], "nightly");
    assert_eq!(
        tree(&example.join("src")),
        sources,
        "the CLI changed the example's sources"
    );
}

#[test]
fn link_recreates_the_machine_local_patch() {
    let (_tmp, root, _) = init(&["init", "my-backend", "--server-only"]);
    let config = root.join(".cargo/config.toml");
    let written_by_init = std::fs::read_to_string(&config).unwrap();
    assert!(
        std::fs::read_to_string(root.join(".gitignore"))
            .unwrap()
            .lines()
            .any(|l| l == "/.cargo/config.toml"),
        "the link file is git-ignored"
    );
    assert!(
        !std::fs::read_to_string(root.join("Cargo.toml"))
            .unwrap()
            .contains(&source_dir().display().to_string()),
        "Cargo.toml holds no path of this machine"
    );

    // A teammate's clone has no link file: `webstir link` writes the same one.
    std::fs::remove_file(&config).unwrap();
    let stdout = ok(&root, &["link"]);
    assert_eq!(
        redact(&stdout, &root),
        "[webstir] link complete\nwebstir: {{WEBSTIR_SOURCE}}/crates/webstir\nroot: {{ROOT}}\nchanges: 1\n  - .cargo/config.toml\n"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), written_by_init);

    // Other settings in the file are kept; a wrong checkout is refused with the fix.
    std::fs::write(&config, "[build]\njobs = 1\n").unwrap();
    ok(
        &root,
        &["link", "--source", &source_dir().display().to_string()],
    );
    let linked = std::fs::read_to_string(&config).unwrap();
    assert!(linked.starts_with("[build]\njobs = 1\n"), "{linked}");
    assert!(linked.contains("[patch.crates-io]"), "{linked}");
    let refused = run(&root, &["link", "--source", "/nowhere"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused).1,
        "error: webstir sources not found at /nowhere (expected crates/webstir/Cargo.toml there); \
         set WEBSTIR_SOURCE (or pass --source) to a webstir checkout\n"
    );
}
