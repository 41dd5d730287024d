//! Names: job names (portable single path segments, as the reference checks them) and the Rust
//! module names (file stems) derived from route and job names.

use anyhow::{Result, bail};

/// Characters a portable file name must not contain.
const RESERVED_CHARS: &[char] = &['<', '>', ':', '"', '|', '?', '*', '/', '\\'];

/// Windows device names, which no portable file may be called (compared case-insensitively, on
/// the part before the first `.` with trailing spaces removed).
const RESERVED_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "COM¹", "COM²", "COM³", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8",
    "LPT9", "LPT¹", "LPT²", "LPT³", "CONIN$", "CONOUT$",
];

/// Checks a job name and returns it trimmed.
///
/// # Errors
/// `Missing job name.` when blank; `Invalid job name '<name>'. …` when it is not a portable
/// single path segment (control bytes anywhere in the raw text, `.`/`..`, slashes, `<>:"|?*`, a
/// trailing `.` or space, or a reserved device name).
pub(crate) fn job_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        bail!("Missing job name.");
    }
    let has_control = raw.chars().any(|c| c.is_control() && (c as u32) < 0x80);
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let reserved = RESERVED_NAMES
        .iter()
        .any(|r| r.to_uppercase() == stem.to_uppercase());
    if has_control
        || name == "."
        || name == ".."
        || name.contains(RESERVED_CHARS)
        || name.ends_with('.')
        || name.ends_with(' ')
        || reserved
    {
        let shown: String = if has_control {
            raw.escape_debug().collect()
        } else {
            name.to_owned()
        };
        bail!(
            "Invalid job name '{shown}'. Expected a portable single path segment without '.', '..', \
             slashes, reserved names or characters, or control bytes."
        );
    }
    Ok(name.to_owned())
}

/// Rust keywords (strict and reserved), which cannot be module names.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "union",
];

/// Whether `text` can be used as a module name (`mod text;`).
pub(crate) fn is_module_name(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first == '_' || first.is_ascii_lowercase())
        && chars.all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
        && text != "_"
        && text != "mod"
        && !KEYWORDS.contains(&text)
}

/// The module name (file stem) for a route or job name: snake case, ASCII letters, digits and `_`.
///
/// ```text
/// listAccounts → list_accounts    nightly-sync → nightly_sync    2fa → r_2fa    type → type_
/// ```
pub(crate) fn module_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            prev_lower = true;
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let trimmed = out.trim_matches('_');
    let mut out = if trimmed.is_empty() {
        "route".to_owned()
    } else {
        trimmed.to_owned()
    };
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "r_");
    }
    if !is_module_name(&out) {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(module_name("accounts"), "accounts");
        assert_eq!(module_name("listAccounts"), "list_accounts");
        assert_eq!(module_name("nightly-sync"), "nightly_sync");
        assert_eq!(module_name("  Get User By ID "), "get_user_by_id");
        assert_eq!(module_name("2fa"), "r_2fa");
        assert_eq!(module_name("type"), "type_");
        assert_eq!(module_name("mod"), "mod_");
        assert_eq!(module_name("../.."), "route");
        assert_eq!(module_name("café"), "caf");
        for name in ["accounts", "type_", "r_2fa", "a1_b2"] {
            assert!(is_module_name(name), "{name}");
        }
        for name in ["", "_", "mod", "self", "Type", "2x", "a-b"] {
            assert!(!is_module_name(name), "{name}");
        }
    }

    #[test]
    fn valid_job_names_are_trimmed() {
        assert_eq!(job_name("  nightly  ").unwrap(), "nightly");
        assert_eq!(job_name("nightly-sync.v2").unwrap(), "nightly-sync.v2");
        assert_eq!(job_name("console").unwrap(), "console");
        assert_eq!(job_name("COM10").unwrap(), "COM10");
    }

    #[test]
    fn invalid_job_names() {
        assert_eq!(job_name("").unwrap_err().to_string(), "Missing job name.");
        assert_eq!(
            job_name("   ").unwrap_err().to_string(),
            "Missing job name."
        );
        for bad in [
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "a\0b",
            "a\nb",
            "nightly\n",
            "\tnightly",
            "a\u{7f}",
            "foo:bar",
            "foo?bar",
            "foo*bar",
            "foo<bar",
            "foo|bar",
            "name.",
            "NUL",
            "nul.txt",
            "CON",
            "CON .txt",
            "PRN.log",
            "COM1",
            "COM¹.txt",
            "LPT9",
            "LPT³",
            "CONIN$",
            "conout$",
        ] {
            let err = job_name(bad).unwrap_err().to_string();
            assert!(err.starts_with("Invalid job name '"), "{bad:?}: {err}");
            assert!(
                err.ends_with("reserved names or characters, or control bytes."),
                "{bad:?}: {err}"
            );
        }
        assert_eq!(
            job_name("foo:bar").unwrap_err().to_string(),
            "Invalid job name 'foo:bar'. Expected a portable single path segment without '.', \
             '..', slashes, reserved names or characters, or control bytes."
        );
        assert!(
            job_name("\tnightly")
                .unwrap_err()
                .to_string()
                .starts_with("Invalid job name '\\tnightly'.")
        );
    }
}
