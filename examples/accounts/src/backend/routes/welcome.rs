//! A form post that redirects, and a fragment.

use std::collections::HashMap;

use webstir::{Ctx, FragmentMode, Reply, Result};

/// `POST /api/welcome` (form: `name`) → 303 to `/done?name=…`.
pub(crate) async fn submit(ctx: Ctx) -> Result<Reply> {
    let form: HashMap<String, String> = ctx.form()?;
    let name = form
        .get("name")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or("friend");
    let query = webstir_query(name);
    Ok(Reply::redirect(format!("/done?name={query}")))
}

/// `GET /api/greeting/:name` → `<p>Hello NAME</p>` for the `greeting` element.
pub(crate) async fn greeting(ctx: Ctx) -> Result<Reply> {
    let name = ctx.param("name").unwrap_or("friend");
    Ok(
        Reply::fragment("greeting", format!("<p>Hello {}</p>", escape_html(name)))
            .mode(FragmentMode::Replace),
    )
}

fn webstir_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
