//! Declarations in Rust: reading a route's `fn route() -> Route` or a job's `fn job() -> Job` from
//! its file with a Rust parser (syn), and editing them in place call by call.
//!
//! A declaration is one builder chain, `Route::get("/api/x").name("x").summary("…").handler(handle)`.
//! The CLI reads the calls it manages (name, summary, tags, access rule, schemas, …) from their
//! literal arguments, and on a re-run replaces, inserts or removes exactly those calls' source text.
//! Everything else in the file, the handler body, comments and any call it does not manage
//! (`.layer(…)`, `.handler(…)`), is kept byte for byte. A declaration it cannot read (not one chain,
//! a managed call with a non-literal argument, a key declared twice) is refused with the reason and
//! the line, never guessed at.

use std::ops::Range;

use proc_macro2::LineColumn;
use syn::spanned::Spanned as _;
use syn::{Expr, Item, Lit, Stmt, UnOp};

/// One `.method(args)` of a chain: its name, source range (from the `.` to the `)`), arguments and
/// 1-based line.
pub(crate) struct Call {
    pub(crate) name: String,
    pub(crate) range: Range<usize>,
    pub(crate) args: Vec<Expr>,
    pub(crate) line: usize,
}

/// A declaration chain: `Type::ctor(args)` then calls, in source order.
pub(crate) struct Chain {
    /// The constructor's name (`get`, `post`, …, `new`).
    pub(crate) ctor: String,
    /// From the constructor's name to its closing parenthesis.
    pub(crate) ctor_range: Range<usize>,
    pub(crate) ctor_args: Vec<Expr>,
    pub(crate) ctor_line: usize,
    pub(crate) calls: Vec<Call>,
    /// End of the whole chain expression.
    pub(crate) end: usize,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, ".{}(…) at {:?}", self.name, self.range)
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("ctor", &self.ctor)
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

/// What a file holds for `fn NAME()`.
#[derive(Debug)]
pub(crate) enum Found {
    /// The file has no top-level `fn NAME`.
    Missing,
    /// A declaration chain.
    Chain(Chain),
    /// `fn NAME` exists but is not one chain the CLI can edit: the reason, with its line.
    Unreadable(String),
}

/// Reads `fn fn_name` from `text`: a chain rooted at `type_name::ctor(…)`.
///
/// # Errors
/// The parser's message (with its line) when the file is not valid Rust.
pub(crate) fn find(text: &str, fn_name: &str, type_name: &str) -> Result<Found, String> {
    let file = syn::parse_file(text).map_err(|err| {
        let at = err.span().start();
        format!("line {}: {err}", at.line)
    })?;
    let Some(func) = file.items.iter().find_map(|item| match item {
        Item::Fn(f) if f.sig.ident == fn_name => Some(f),
        _ => None,
    }) else {
        return Ok(Found::Missing);
    };
    let fn_line = func.sig.ident.span().start().line;
    let expr = match func.block.stmts.as_slice() {
        [Stmt::Expr(expr, None)] => expr,
        _ => {
            return Ok(Found::Unreadable(format!(
                "`fn {fn_name}` (line {fn_line}) is not a single `{type_name}::…` builder expression"
            )));
        }
    };
    let index = LineIndex::new(text);
    let mut calls = Vec::new();
    let mut cur = expr;
    loop {
        match cur {
            Expr::MethodCall(mc) => {
                let start = index.offset(mc.dot_token.span.start());
                let end = index.offset(mc.paren_token.span.close().end());
                calls.push(Call {
                    name: mc.method.to_string(),
                    range: start..end,
                    args: mc.args.iter().cloned().collect(),
                    line: mc.method.span().start().line,
                });
                cur = &mc.receiver;
            }
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else {
                    break;
                };
                let segments: Vec<String> = path
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if segments.len() < 2 || segments[segments.len() - 2] != type_name {
                    break;
                }
                let Some(last) = path.path.segments.last() else {
                    break;
                };
                calls.reverse();
                return Ok(Found::Chain(Chain {
                    ctor: last.ident.to_string(),
                    ctor_range: index.offset(last.ident.span().start())
                        ..index.offset(call.paren_token.span.close().end()),
                    ctor_args: call.args.iter().cloned().collect(),
                    ctor_line: last.ident.span().start().line,
                    calls,
                    end: index.offset(expr.span().end()),
                }));
            }
            _ => break,
        }
    }
    Ok(Found::Unreadable(format!(
        "`fn {fn_name}` (line {fn_line}) does not start with `{type_name}::<constructor>(…)`"
    )))
}

/// Byte offsets of line starts, to turn the parser's line/column (columns in characters) into
/// byte offsets.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }

    fn offset(&self, at: LineColumn) -> usize {
        let start = self
            .starts
            .get(at.line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..]
            .char_indices()
            .nth(at.column)
            .map_or(self.text.len(), |(i, _)| start + i)
    }
}

/// A string literal argument.
pub(crate) fn str_lit(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        Expr::Group(g) => str_lit(&g.expr),
        Expr::Paren(p) => str_lit(&p.expr),
        _ => None,
    }
}

/// `["a", "b"]`, `&["a", "b"]` or `vec!["a", "b"]`-free array of string literals.
pub(crate) fn str_list(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Array(array) => array.elems.iter().map(str_lit).collect(),
        Expr::Reference(r) => str_list(&r.expr),
        _ => None,
    }
}

/// A boolean literal.
pub(crate) fn bool_lit(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Bool(b) => Some(b.value),
            _ => None,
        },
        _ => None,
    }
}

/// An integer literal, possibly negated.
pub(crate) fn int_lit(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(i) => i.base10_parse().ok(),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => int_lit(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// The last segment of a path expression (`Interaction::Mutation` → `Mutation`).
pub(crate) fn path_tail(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// `None` → `Some(None)`, `Some(x)` → `Some(Some(x))`, anything else → `None`.
pub(crate) fn option(expr: &Expr) -> Option<Option<&Expr>> {
    match expr {
        Expr::Path(p) if p.path.is_ident("None") => Some(None),
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) if p.path.is_ident("Some") && call.args.len() == 1 => {
                Some(call.args.first())
            }
            _ => None,
        },
        _ => None,
    }
}

/// A Rust string literal for `text`.
pub(crate) fn quote(text: &str) -> String {
    format!("{text:?}")
}

/// `["a", "b"]`.
pub(crate) fn quote_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// One managed key of a declaration: the calls that declare it today (at most one) and the call
/// text it should have (`None`: absent).
#[derive(Debug)]
pub(crate) struct KeyEdit<'c> {
    pub(crate) key: &'static str,
    pub(crate) current: Option<&'c Call>,
    pub(crate) old_text: Option<String>,
    pub(crate) new_text: Option<String>,
}

/// The edits of a declaration's managed `keys`: where each is declared now (`at`, indexes into
/// the chain's calls by key slot) and its call text before and after.
pub(crate) fn key_edits<'c>(
    keys: &[&'static str],
    chain: &'c Chain,
    at: &[Option<usize>],
    old: impl Fn(&str) -> Option<String>,
    new: impl Fn(&str) -> Option<String>,
) -> Vec<KeyEdit<'c>> {
    keys.iter()
        .enumerate()
        .map(|(slot, key)| KeyEdit {
            key,
            current: at[slot].map(|i| &chain.calls[i]),
            old_text: old(key),
            new_text: new(key),
        })
        .collect()
}

/// Applies key edits to `text` whose declaration is `chain`: unchanged keys are left alone,
/// changed ones replaced, new ones inserted before the next managed call (or before the first
/// unmanaged call after the managed ones, e.g. `.handler(…)`), absent ones removed with their
/// line. Returns the new text and the keys that changed, in order.
pub(crate) fn apply_edits(
    text: &str,
    chain: &Chain,
    ctor: Option<String>,
    edits: &[KeyEdit<'_>],
) -> (String, Vec<&'static str>) {
    // (range, replacement), applied from the end.
    let mut patches: Vec<(Range<usize>, String)> = Vec::new();
    let mut changed = Vec::new();
    if let Some(ctor) = ctor {
        patches.push((chain.ctor_range.clone(), ctor));
        changed.push("method/path");
    }
    let managed: Vec<&Call> = edits.iter().filter_map(|e| e.current).collect();
    for (i, edit) in edits.iter().enumerate() {
        if edit.old_text == edit.new_text {
            continue;
        }
        changed.push(edit.key);
        match (edit.current, &edit.new_text) {
            (Some(call), Some(new)) => patches.push((call.range.clone(), new.clone())),
            (Some(call), None) => {
                // Remove the call and the whitespace before it (its line break and indent).
                let start = text[..call.range.start].trim_end().len();
                patches.push((start..call.range.end, String::new()));
            }
            (None, Some(new)) => {
                // After the previous managed call (so comments stay with the calls they precede),
                // else before the next one, else before the first unmanaged call after them.
                let indent_of = |start: usize| {
                    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                    let before = &text[line_start..start];
                    before.trim().is_empty().then(|| before.to_owned())
                };
                let prev = edits[..i].iter().rev().find_map(|e| e.current);
                let next = edits[i + 1..].iter().find_map(|e| e.current);
                let patch = if let Some(call) = prev {
                    let text = match indent_of(call.range.start) {
                        Some(indent) => format!("\n{indent}{new}"),
                        None => new.clone(),
                    };
                    (call.range.end..call.range.end, text)
                } else {
                    let at = next.map_or_else(
                        || {
                            chain
                                .calls
                                .iter()
                                .find(|c| {
                                    !managed.iter().any(|m| m.range == c.range)
                                        && managed.iter().all(|m| m.range.start < c.range.start)
                                })
                                .map_or(chain.end, |c| c.range.start)
                        },
                        |call| call.range.start,
                    );
                    let text = match (at == chain.end, indent_of(at)) {
                        (false, Some(indent)) => format!("{new}\n{indent}"),
                        (true, _) => {
                            match chain.calls.first().and_then(|c| indent_of(c.range.start)) {
                                Some(indent) => format!("\n{indent}{new}"),
                                None => new.clone(),
                            }
                        }
                        (false, None) => new.clone(),
                    };
                    (at..at, text)
                };
                patches.push(patch);
            }
            (None, None) => {}
        }
    }
    // From the end of the text. Of two insertions at one place, an insertion after a call goes in
    // the later key first (so the earlier one ends up before it); insertions before a call the
    // same way, as they are pushed in key order too.
    let mut patches: Vec<(usize, (Range<usize>, String))> =
        patches.into_iter().enumerate().collect();
    patches.sort_by(|(ia, a), (ib, b)| {
        b.0.start
            .cmp(&a.0.start)
            .then(b.0.end.cmp(&a.0.end))
            .then(ib.cmp(ia))
    });
    let mut out = text.to_owned();
    for (_, (range, replacement)) in patches {
        out.replace_range(range, &replacement);
    }
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"//! A route.
use webstir::{Ctx, Reply, Result, Route};

/// The declaration.
pub fn route() -> Route {
    Route::get("/api/héllo")
        // a comment the edit keeps
        .name("hello")
        .summary("Say hello")
        .layer(webstir::tower::layer::util::Identity::new())
        .handler(handle)
}

pub async fn handle(_ctx: Ctx) -> Result<Reply> {
    Ok(Reply::text("hi"))
}
"#;

    fn chain(text: &str) -> Chain {
        match find(text, "route", "Route").unwrap() {
            Found::Chain(chain) => chain,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_the_chain_with_exact_ranges() {
        let c = chain(FILE);
        assert_eq!(c.ctor, "get");
        assert_eq!(&FILE[c.ctor_range.clone()], "get(\"/api/héllo\")");
        let names: Vec<&str> = c.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["name", "summary", "layer", "handler"]);
        assert_eq!(&FILE[c.calls[1].range.clone()], ".summary(\"Say hello\")");
        assert_eq!(str_lit(&c.calls[1].args[0]).as_deref(), Some("Say hello"));
        assert_eq!(&FILE[c.calls[3].range.clone()], ".handler(handle)");
        assert!(FILE[..c.end].ends_with(".handler(handle)"));
    }

    #[test]
    fn edits_replace_insert_and_remove_only_managed_calls() {
        let c = chain(FILE);
        let edits = [
            KeyEdit {
                key: "name",
                current: Some(&c.calls[0]),
                old_text: Some(".name(\"hello\")".into()),
                new_text: Some(".name(\"hello\")".into()),
            },
            KeyEdit {
                key: "summary",
                current: Some(&c.calls[1]),
                old_text: Some(".summary(\"Say hello\")".into()),
                new_text: None,
            },
            KeyEdit {
                key: "description",
                current: None,
                old_text: None,
                new_text: Some(".description(\"Greets\")".into()),
            },
        ];
        let (out, changed) = apply_edits(FILE, &c, Some("post(\"/api/hi\")".into()), &edits);
        assert_eq!(changed, ["method/path", "summary", "description"]);
        assert!(out.contains(
            "    Route::post(\"/api/hi\")\n        // a comment the edit keeps\n        .name(\"hello\")\n        .description(\"Greets\")\n        .layer("
        ), "{out}");
        assert!(!out.contains("summary"));
        assert!(out.ends_with("Ok(Reply::text(\"hi\"))\n}\n"));
        assert!(syn::parse_file(&out).is_ok());
    }

    #[test]
    fn unreadable_declarations_say_why() {
        let text = "fn route() -> Route { let r = Route::get(\"/\"); r }";
        match find(text, "route", "Route").unwrap() {
            Found::Unreadable(why) => assert!(why.contains("single `Route::…` builder"), "{why}"),
            other => panic!("{other:?}"),
        }
        let text = "fn route() -> Route { make().name(\"x\") }";
        match find(text, "route", "Route").unwrap() {
            Found::Unreadable(why) => assert!(why.contains("does not start with"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            find("fn other() {}", "route", "Route").unwrap(),
            Found::Missing
        ));
        assert!(
            find("fn route( {", "route", "Route")
                .unwrap_err()
                .starts_with("line 1")
        );
    }
}
