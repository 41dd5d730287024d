//! The embedded template trees under `crates/webstir-cli/templates/` and their renderer.
//!
//! Templates are real files. Only files ending in `.jinja` are rendered (with minijinja, strict
//! about undefined variables) and lose that suffix; every other file is copied as is. A file named
//! `dot-NAME` is written as `.NAME` (so the template tree holds no `.gitignore` of its own).

use anyhow::{Context as _, Result};
use include_dir::{Dir, DirEntry, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// Every template: `project/…` (what `webstir init` writes) and single files (`route/…`, `job/…`,
/// `registry/…`).
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// One file to write: workspace-relative path (with `/`) and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenderedFile {
    pub(crate) path: String,
    pub(crate) contents: String,
}

/// Renders the project tree with `ctx`, in path order.
///
/// # Errors
/// When a template does not render (a bug in a template).
pub(crate) fn project<S: Serialize>(ctx: &S) -> Result<Vec<RenderedFile>> {
    let project = TEMPLATES
        .get_dir("project")
        .context("the project template is missing")?;
    let mut out = Vec::new();
    collect(project, ctx, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn collect<S: Serialize>(dir: &Dir<'_>, ctx: &S, out: &mut Vec<RenderedFile>) -> Result<()> {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect(sub, ctx, out)?,
            DirEntry::File(file) => {
                let full = file.path().to_string_lossy().replace('\\', "/");
                let rel = full.strip_prefix("project/").unwrap_or(&full).to_owned();
                let text = file
                    .contents_utf8()
                    .with_context(|| format!("template {rel} is not UTF-8"))?;
                let (path, contents) = match rel.strip_suffix(".jinja") {
                    Some(stripped) => (stripped.to_owned(), render_str(&rel, text, ctx)?),
                    None => (rel.clone(), text.to_owned()),
                };
                out.push(RenderedFile {
                    path: undot(&path),
                    contents,
                });
            }
        }
    }
    Ok(())
}

/// `a/dot-gitignore` → `a/.gitignore`.
fn undot(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, name)) => match name.strip_prefix("dot-") {
            Some(rest) => format!("{dir}/.{rest}"),
            None => path.to_owned(),
        },
        None => match path.strip_prefix("dot-") {
            Some(rest) => format!(".{rest}"),
            None => path.to_owned(),
        },
    }
}

/// Renders the single-file template at `name` (relative to `templates/`, e.g. `route/handler.rs.jinja`).
///
/// # Errors
/// When the template is missing or does not render (a bug in a template).
pub(crate) fn render<S: Serialize>(name: &str, ctx: &S) -> Result<String> {
    let file = TEMPLATES
        .get_file(name)
        .with_context(|| format!("template {name} is missing"))?;
    let text = file
        .contents_utf8()
        .with_context(|| format!("template {name} is not UTF-8"))?;
    render_str(name, text, ctx)
}

/// `code` as rustfmt (edition 2024) writes it, so generated files stay unchanged by `cargo fmt`;
/// `code` as is when rustfmt is not installed or fails.
pub(crate) fn rustfmt(code: String) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return code;
    };
    if let Some(mut stdin) = child.stdin.take()
        && stdin.write_all(code.as_bytes()).is_err()
    {
        let _ = child.kill();
        let _ = child.wait();
        return code;
    }
    match child.wait_with_output() {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => {
            String::from_utf8(out.stdout).unwrap_or(code)
        }
        _ => code,
    }
}

fn render_str<S: Serialize>(name: &str, text: &str, ctx: &S) -> Result<String> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .context("template syntax")?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.render_str(text, Value::from(minijinja::value::Serde(ctx)))
        .with_context(|| format!("template {name} does not render"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undot_renames_only_the_file_name() {
        assert_eq!(undot("dot-gitignore"), ".gitignore");
        assert_eq!(undot("a/dot-env"), "a/.env");
        assert_eq!(undot("dot-a/b"), "dot-a/b");
        assert_eq!(undot("a/b.rs"), "a/b.rs");
    }

    #[test]
    fn strict_about_undefined_variables() {
        let err = render("job/job.rs.jinja", &serde_json::json!({ "name": "x" })).unwrap_err();
        assert!(format!("{err:#}").contains("undefined"), "{err:#}");
    }
}
