//! The reference's HTML injection: `data-webstir-view-*` attributes on `<body>` and the view state
//! as a JSON script before `</body>`.

/// Escape an attribute value (`& " ' < >`).
fn attribute(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// JSON safe inside a `<script>` element: `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX` escapes.
/// They can only occur inside JSON strings, where the escapes mean the same characters.
pub(super) fn script_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// ASCII case-insensitive search of `needle` (lowercase) in `haystack` from `from`.
fn find_ci(haystack: &str, needle: &str, from: usize) -> Option<usize> {
    let bytes = haystack.as_bytes();
    let n = needle.len();
    (from..=bytes.len().checked_sub(n)?)
        .find(|&i| bytes[i..i + n].eq_ignore_ascii_case(needle.as_bytes()))
}

fn rfind_ci(haystack: &str, needle: &str) -> Option<usize> {
    let bytes = haystack.as_bytes();
    let n = needle.len();
    (0..=bytes.len().checked_sub(n)?)
        .rev()
        .find(|&i| bytes[i..i + n].eq_ignore_ascii_case(needle.as_bytes()))
}

/// Where the `<body …>` start tag's closing `>` is (quoted attribute values may contain `>`).
fn body_tag_end(html: &str) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut from = 0;
    while let Some(start) = find_ci(html, "<body", from) {
        let after = start + 5;
        match bytes.get(after) {
            Some(b'>') => return Some(after),
            Some(b) if b.is_ascii_whitespace() || *b == b'/' => {
                let mut quote = None;
                for (i, &b) in bytes.iter().enumerate().skip(after) {
                    match (quote, b) {
                        (Some(q), _) if b == q => quote = None,
                        (Some(_), _) => {}
                        (None, b'"' | b'\'') => quote = Some(b),
                        (None, b'>') => return Some(i),
                        _ => {}
                    }
                }
                return None;
            }
            _ => from = after,
        }
    }
    None
}

/// `html` with the view's attributes on `<body>` and its state script before `</body>` (else before
/// `</html>`, else at the end).
pub(super) fn inject(
    html: &str,
    name: &str,
    pathname: &str,
    pattern: &str,
    state: &serde_json::Value,
) -> String {
    let script = format!(
        "<script type=\"application/json\" id=\"webstir-view-state\">{}</script>\n",
        script_json(state)
    );
    let mut attrs = String::with_capacity(96 + name.len() + pathname.len() + pattern.len());
    attrs.push_str(" data-webstir-view-name=\"");
    attribute(name, &mut attrs);
    attrs.push_str("\" data-webstir-view-pathname=\"");
    attribute(pathname, &mut attrs);
    attrs.push_str("\" data-webstir-view-template=\"");
    attribute(pattern, &mut attrs);
    attrs.push('"');

    let mut out = String::with_capacity(html.len() + attrs.len() + script.len());
    let (head, rest) = match body_tag_end(html) {
        Some(end) => {
            let mut end = end;
            if html.as_bytes()[end - 1] == b'/' {
                end -= 1;
            }
            (&html[..end], &html[end..])
        }
        None => (html, ""),
    };
    out.push_str(head);
    if !rest.is_empty() {
        out.push_str(&attrs);
    }
    out.push_str(rest);
    let at = rfind_ci(&out, "</body>").or_else(|| rfind_ci(&out, "</html>"));
    match at {
        Some(at) => out.insert_str(at, &script),
        None => out.push_str(&script),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_state_are_escaped_and_placed() {
        let state = serde_json::json!({ "data": { "x": "</script><b>&\u{2028}" } });
        let html = inject(
            "<html><BODY class=\"a>b\"><p>hi</p></body></html>",
            "Acc\"ount",
            "/a/<b>",
            "/a/:id",
            &state,
        );
        assert_eq!(
            html,
            "<html><BODY class=\"a>b\" data-webstir-view-name=\"Acc&quot;ount\" data-webstir-view-pathname=\"/a/&lt;b&gt;\" data-webstir-view-template=\"/a/:id\"><p>hi</p><script type=\"application/json\" id=\"webstir-view-state\">{\"data\":{\"x\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u2028\"}}</script>\n</body></html>"
        );
    }

    #[test]
    fn without_body_or_html_the_script_is_appended() {
        let html = inject("<p>x</p>", "v", "/", "/", &serde_json::Value::Null);
        assert_eq!(
            html,
            "<p>x</p><script type=\"application/json\" id=\"webstir-view-state\">null</script>\n"
        );
        let html = inject(
            "<html><p>x</p></html>",
            "v",
            "/",
            "/",
            &serde_json::Value::Null,
        );
        assert!(html.ends_with("null</script>\n</html>"), "{html}");
        // `<bodyguard>` is not a body tag.
        let html = inject(
            "<bodyguard><body>x</body>",
            "v",
            "/",
            "/",
            &serde_json::Value::Null,
        );
        assert!(
            html.starts_with("<bodyguard><body data-webstir-view-name=\"v\""),
            "{html}"
        );
    }
}
