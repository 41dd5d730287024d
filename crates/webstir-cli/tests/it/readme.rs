//! Every Rust snippet in the workspace `README.md` compiles as written in a fresh `webstir init`
//! project.
//!
//! The rules:
//!
//! * A snippet is a fenced block whose info string is exactly `rust`; `rust,ignore`, `text`,
//!   `toml`, `bash` and every other info string are not checked.
//! * `<!-- readme-check: skip -->` on the last non-blank line before a fence skips that block on
//!   purpose (say why next to it in the README).
//! * Snippet N (in README order, from 1) becomes `src/bin/readme_N.rs` of one scaffolded project,
//!   verbatim. A snippet with a `fn main(` line (also `async fn main(`) is complete as is; any other
//!   must be a list of items and gets `fn main() {}` appended. Nothing is prepended, so line L of
//!   `readme_N.rs` is README line `fence + L`, and failures show README line numbers.
//! * A snippet with a `#[tokio::test]` line is a test of the user's app: it becomes
//!   `tests/readme_N.rs` (checked with the project's dev-dependencies), with the README project's
//!   crate name `my_backend` standing for the scaffolded project's.
//! * Dependencies: the project has what `webstir init` writes, plus whatever the README itself tells
//!   users to add with `cargo add …` (in an inline code span or a shell block), run the same way
//!   with `--offline` (so only versions already in the workspace's `Cargo.lock` can resolve).
//! * One `cargo check --keep-going` for all the snippet binaries (so every failing snippet is
//!   reported, not just the first), into this workspace's `target/` like the e2e tests. `check`,
//!   not `build`: its artifacts are metadata only, so they are not shared with the e2e projects'
//!   `cargo build`, but warm it takes under 2 s against 2–5 s of linking two ~30 MB binaries, and
//!   after a runtime edit only the edited path crates are re-checked (incrementally).
//!
//! `cargo test -p webstir-cli --test it readme -- --nocapture` shows which snippets were checked.

use std::path::Path;
use std::process::Command;

use crate::util::{ok, source_dir, target_dir, text};

/// The marker that skips the fenced block after it.
const SKIP: &str = "<!-- readme-check: skip -->";

/// A fenced block of the README.
struct Block {
    /// The info string, trimmed.
    info: String,
    /// 1-based README line of the opening fence.
    fence_line: usize,
    /// The lines between the fences.
    body: String,
    /// Whether the skip marker precedes it.
    skipped: bool,
}

/// The fenced blocks of `markdown` (backtick or tilde fences, indented up to three spaces).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut last_text = "";
    let mut lines = markdown.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let Some((fence, info)) = opening_fence(line) else {
            if !line.trim().is_empty() {
                last_text = line.trim();
            }
            continue;
        };
        let mut body = String::new();
        for (_, line) in lines.by_ref() {
            if closes(line, &fence) {
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        out.push(Block {
            info: info.to_owned(),
            fence_line: index + 1,
            body,
            skipped: last_text == SKIP,
        });
        last_text = "";
    }
    out
}

/// `(fence, info string)` when `line` opens a fenced block.
fn opening_fence(line: &str) -> Option<(String, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.len() - rest.trim_start_matches(ch).len();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((rest[..len].to_owned(), info))
}

/// Whether `line` closes a block opened with `fence`.
fn closes(line: &str, fence: &str) -> bool {
    let line = line.trim();
    let ch = fence.chars().next().expect("a fence");
    line.len() >= fence.len() && line.chars().all(|c| c == ch)
}

/// Whether a snippet declares its own `main`.
fn has_main(snippet: &str) -> bool {
    snippet.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let line = line.strip_prefix("async ").unwrap_or(line);
        line.starts_with("fn main(")
    })
}

/// The `cargo add …` commands the README gives, with their README line: inline code spans
/// anywhere outside code blocks, and lines of shell blocks.
fn cargo_adds(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block: Option<(String, bool)> = None;
    for (index, line) in markdown.lines().enumerate() {
        if let Some((fence, shell)) = &in_block {
            if closes(line, fence) {
                in_block = None;
            } else if *shell {
                let command = line.split(" #").next().unwrap_or_default().trim();
                if command.starts_with("cargo add ") {
                    out.push((index + 1, command.to_owned()));
                }
            }
            continue;
        }
        if let Some((fence, info)) = opening_fence(line) {
            let shell = matches!(info, "bash" | "sh" | "shell" | "console");
            in_block = Some((fence, shell));
            continue;
        }
        // Inline code spans: the odd-numbered pieces between backticks.
        for span in line.split('`').skip(1).step_by(2) {
            if span.trim().starts_with("cargo add ") {
                out.push((index + 1, span.trim().to_owned()));
            }
        }
    }
    out
}

/// Rewrites `src/bin/readme_N.rs:L:C` in compiler output as `README.md:X:C
/// (src/bin/readme_N.rs:L:C)`.
fn to_readme_lines(output: &str, snippets: &[(usize, &Block)]) -> String {
    let mut out = String::with_capacity(output.len());
    let output = output.replace("tests/readme_", "src/bin/readme_");
    let mut rest = output.as_str();
    while let Some(at) = rest.find("src/bin/readme_") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "/_.:".contains(c)))
            .unwrap_or(tail.len());
        let location = tail[..end].trim_end_matches(':');
        let mapped = location
            .strip_prefix("src/bin/readme_")
            .and_then(|l| l.split_once(".rs:"))
            .and_then(|(n, pos)| {
                let (line, col) = pos.split_once(':').unwrap_or((pos, ""));
                let n: usize = n.parse().ok()?;
                let line: usize = line.parse().ok()?;
                let (_, block) = snippets.iter().find(|(k, _)| *k == n)?;
                let col = if col.is_empty() {
                    String::new()
                } else {
                    format!(":{col}")
                };
                Some(format!(
                    "README.md:{}{col} ({location})",
                    block.fence_line + line
                ))
            });
        match mapped {
            Some(mapped) => out.push_str(&mapped),
            None => out.push_str(location),
        }
        rest = &tail[location.len()..];
    }
    out.push_str(rest);
    out
}

/// Splits rustc's human output into diagnostics (each starts at a line beginning with `error` or
/// `warning`) and keeps the errors, grouped by the snippet binary they belong to (0: none).
fn errors_by_snippet(stderr: &str) -> Vec<(usize, String)> {
    let mut diagnostics: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let starts = line.starts_with("error") || line.starts_with("warning");
        match diagnostics.last_mut() {
            Some(last) if !starts => {
                last.push_str(line);
                last.push('\n');
            }
            _ => diagnostics.push(format!("{line}\n")),
        }
    }
    diagnostics
        .into_iter()
        .filter(|d| d.starts_with("error"))
        .map(|d| {
            let owner = d
                .split("src/bin/readme_")
                .nth(1)
                .or_else(|| d.split("tests/readme_").nth(1))
                .or_else(|| d.split("(test \"readme_").nth(1))
                .or_else(|| d.split("(bin \"readme_").nth(1))
                .and_then(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
                .unwrap_or(0);
            (owner, d)
        })
        .collect()
}

#[test]
fn readme_rust_snippets_compile() {
    let readme_path = source_dir().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md is readable");
    let all = blocks(&readme);
    for block in all.iter().filter(|b| b.skipped) {
        println!(
            "skipping the `{}` block at README.md:{} ({SKIP})",
            block.info, block.fence_line
        );
    }
    let snippets: Vec<(usize, &Block)> = all
        .iter()
        .filter(|b| b.info == "rust" && !b.skipped)
        .enumerate()
        .map(|(i, b)| (i + 1, b))
        .collect();
    assert!(
        !snippets.is_empty(),
        "no ```rust blocks in {}: the check would pass vacuously",
        readme_path.display()
    );

    let tmp = tempfile::tempdir().unwrap();
    // Package names must differ between tests: they share one target folder.
    ok(tmp.path(), &["init", "readme-snippets", "--server-only"]);
    let root = tmp.path().join("readme-snippets");

    for (line, command) in cargo_adds(&readme) {
        add_dependency(&root, line, &command);
    }

    let bin_dir = root.join("src/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let is_test = |block: &Block| block.body.lines().any(|l| l.trim() == "#[tokio::test]");
    for (n, block) in &snippets {
        if is_test(block) {
            let source = block.body.replace("my_backend::", "readme_snippets::");
            std::fs::write(root.join(format!("tests/readme_{n}.rs")), source).unwrap();
            continue;
        }
        let mut source = block.body.clone();
        if !has_main(&source) {
            source.push_str("fn main() {}\n");
        }
        std::fs::write(bin_dir.join(format!("readme_{n}.rs")), source).unwrap();
    }

    let mut check = cargo(&root);
    check.args(["check", "--keep-going", "--offline", "--color", "never"]);
    for (n, block) in &snippets {
        let kind = if is_test(block) { "--test" } else { "--bin" };
        check.args([kind, &format!("readme_{n}")]);
    }
    let started = std::time::Instant::now();
    let output = check.output().expect("cargo runs");
    let elapsed = started.elapsed();
    let (_, stderr) = text(&output);

    let listing: Vec<String> = snippets
        .iter()
        .map(|(n, b)| format!("readme_{n} (README.md:{})", b.fence_line))
        .collect();
    println!(
        "checked {} README snippets in {:.1} s: {}",
        snippets.len(),
        elapsed.as_secs_f64(),
        listing.join(", ")
    );
    // What this run compiled beyond the snippets (a cold cache or a changed runtime shows here).
    let compiled: Vec<&str> = stderr
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("Checking ")
                .or_else(|| l.strip_prefix("Compiling "))
        })
        .filter(|krate| !krate.starts_with("readme-snippets "))
        .collect();
    println!(
        "cargo also compiled: {}",
        if compiled.is_empty() {
            "nothing".to_owned()
        } else {
            compiled.join(", ")
        }
    );
    if output.status.success() {
        return;
    }

    let errors = errors_by_snippet(&stderr);
    let mut report = String::new();
    for (n, block) in &snippets {
        let mine: Vec<&str> = errors
            .iter()
            .filter(|(owner, _)| owner == n)
            .map(|(_, d)| d.as_str())
            .collect();
        if mine.is_empty() {
            continue;
        }
        report.push_str(&format!(
            "\n=== README.md:{} (snippet {n}, src/bin/readme_{n}.rs) does not compile\n{}",
            block.fence_line,
            to_readme_lines(&mine.concat(), &snippets)
        ));
    }
    let other: Vec<&str> = errors
        .iter()
        .filter(|(owner, _)| *owner == 0)
        .map(|(_, d)| d.as_str())
        .collect();
    if report.is_empty() || !other.is_empty() {
        // Errors attributed to no snippet (dependency resolution, a broken runtime, …), or all
        // of cargo's output when nothing could be attributed.
        let unattributed = if other.is_empty() {
            stderr.clone()
        } else {
            other.concat()
        };
        report.push_str(&format!(
            "\n=== cargo check failed\n{}",
            to_readme_lines(&unattributed, &snippets)
        ));
    }
    panic!("README snippets fail to compile ({elapsed:.1?}):{report}");
}

/// Runs one `cargo add …` from the README (line `line`) in the project, offline.
fn add_dependency(root: &Path, line: usize, command: &str) {
    let args: Vec<&str> = command.split_whitespace().skip(2).collect();
    assert!(
        args.iter()
            .all(|a| !a.contains(['"', '\'', '$', '&', '|', ';', '<', '>'])),
        "README.md:{line}: `{command}` is more than this test runs (plain words only)"
    );
    let output = cargo(root)
        .arg("add")
        .arg("--offline")
        .args(&args)
        .output()
        .expect("cargo runs");
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "README.md:{line}: `{command}` fails in a fresh project (offline: the version must be in \
         the workspace's Cargo.lock)\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

/// The cargo this test was built with, in `root`, building into the shared target folder with no
/// network (the environment `webstir build` gives cargo in the e2e tests).
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .stdin(std::process::Stdio::null());
    cmd
}

#[test]
fn fences_markers_and_cargo_adds_are_read() {
    let markdown = "text\n\n```rust\nfn a() {}\n```\n\n<!-- readme-check: skip -->\n\n```rust\n\
                    broken(\n```\n````rust,ignore\nx\n````\nRun `cargo add foo --features a,b` \
                    then\n```bash\ncargo add bar   # why\ncargo build\n```\n~~~rust\nfn main() {}\n~~~\n";
    let found = blocks(markdown);
    let summary: Vec<(&str, usize, bool)> = found
        .iter()
        .map(|b| (b.info.as_str(), b.fence_line, b.skipped))
        .collect();
    assert_eq!(
        summary,
        [
            ("rust", 3, false),
            ("rust", 9, true),
            ("rust,ignore", 12, false),
            ("bash", 16, false),
            ("rust", 20, false)
        ]
    );
    assert_eq!(found[0].body, "fn a() {}\n");
    assert!(!has_main(&found[0].body));
    assert!(has_main(&found[4].body));
    assert!(has_main("#[tokio::main]\nasync fn main() {}\n"));
    assert_eq!(
        cargo_adds(markdown),
        [
            (15, "cargo add foo --features a,b".to_owned()),
            (17, "cargo add bar".to_owned())
        ]
    );
    let block = &found[0];
    assert_eq!(
        to_readme_lines("  --> src/bin/readme_1.rs:2:5\n", &[(1, block)]),
        "  --> README.md:5:5 (src/bin/readme_1.rs:2:5)\n"
    );
}
