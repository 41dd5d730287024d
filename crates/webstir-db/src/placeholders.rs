//! `?` placeholders: rewriting to PostgreSQL's `$n`, and spotting transaction-control statements.
//!
//! Users always write `?` (or SQLite's `?NNN`). SQLite gets the SQL unchanged. For PostgreSQL a small lexer
//! rewrites each placeholder to `$n`, skipping everything where a `?` is not a placeholder:
//!
//! * `'…'` string literals (with `''` escapes; `E'…'` also with backslash escapes),
//! * `"…"` quoted identifiers (with `""` escapes),
//! * `$tag$…$tag$` dollar-quoted strings,
//! * `-- …` line comments and `/* … */` block comments (nested, as PostgreSQL allows).
//!
//! Numbering follows SQLite: `?NNN` is parameter NNN, a bare `?` is one more than the largest number used so far.
//! `??` is a literal `?` on PostgreSQL (for the jsonb operators `?`, `?|`, `?&`).
#![cfg_attr(
    not(feature = "postgres"),
    allow(
        dead_code,
        reason = "the rewriting is only used by the PostgreSQL engine"
    )
)]

/// SQL rewritten for PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rewritten {
    /// The SQL with `$n` placeholders.
    pub(crate) sql: String,
    /// The number of parameters the statement uses (the largest index).
    pub(crate) params: usize,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Returns the index just past a quoted section that starts at `start` (which holds `quote`).
fn skip_quoted(b: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        if backslash_escapes && c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn skip_line_comment(b: &[u8], start: usize) -> usize {
    b[start..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| start + p + 1)
}

fn skip_block_comment(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// If a dollar quote opens at `start`, returns the index just past its closing tag.
fn skip_dollar_quoted(b: &[u8], start: usize) -> Option<usize> {
    if start > 0 && is_ident_byte(b[start - 1]) {
        return None; // part of an identifier such as `a$b`
    }
    let mut i = start + 1;
    if i < b.len() && b[i].is_ascii_digit() {
        return None; // `$1` positional parameter
    }
    while i < b.len() && b[i] != b'$' {
        if !(b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
            return None;
        }
        i += 1;
    }
    if i >= b.len() {
        return None;
    }
    let tag = &b[start..=i];
    let body = i + 1;
    Some(
        b[body..]
            .windows(tag.len())
            .position(|w| w == tag)
            .map_or(b.len(), |p| body + p + tag.len()),
    )
}

/// Returns the index of the next byte that could start a token we care about, skipping quotes and comments.
/// Calls `on_question` for each `?` outside of them.
fn scan(sql: &str, mut on_question: impl FnMut(usize) -> usize) {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        i = match b[i] {
            b'\'' => {
                let e_string =
                    i > 0 && matches!(b[i - 1], b'e' | b'E') && !(i > 1 && is_ident_byte(b[i - 2]));
                skip_quoted(b, i, b'\'', e_string)
            }
            b'"' => skip_quoted(b, i, b'"', false),
            b'-' if b.get(i + 1) == Some(&b'-') => skip_line_comment(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => skip_block_comment(b, i),
            b'$' => skip_dollar_quoted(b, i).unwrap_or(i + 1),
            b'?' => on_question(i),
            _ => i + 1,
        };
    }
}

/// Rewrites `?` / `?NNN` placeholders to `$n` and `??` to `?`.
pub(crate) fn to_postgres(sql: &str) -> Rewritten {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    let mut largest = 0usize;
    scan(sql, |i| {
        out.push_str(&sql[copied..i]);
        if b.get(i + 1) == Some(&b'?') {
            out.push('?');
            copied = i + 2;
            return i + 2;
        }
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let index = if digits > 0 {
            sql[i + 1..i + 1 + digits]
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        } else {
            largest.saturating_add(1)
        };
        largest = largest.max(index);
        out.push('$');
        out.push_str(&index.to_string());
        copied = i + 1 + digits;
        copied
    });
    out.push_str(&sql[copied..]);
    Rewritten {
        sql: out,
        params: largest,
    }
}

/// The first `N` keywords of a statement, skipping whitespace and comments (no allocation: this runs on every
/// SQLite statement).
fn leading_keywords<const N: usize>(sql: &str) -> [&str; N] {
    let b = sql.as_bytes();
    let mut words = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < b.len() && n < N {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b';' {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = skip_line_comment(b, i);
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(b, i);
        } else if c.is_ascii_alphabetic() {
            let len = b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            words[n] = &sql[i..i + len];
            n += 1;
            i += len;
        } else {
            break;
        }
    }
    words
}

/// Whether the statement starts or ends a transaction (`BEGIN`, `COMMIT`, `ROLLBACK`, ...).
///
/// Savepoints (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) are allowed inside a transaction (`in_transaction`).
pub(crate) fn is_transaction_control(sql: &str, in_transaction: bool) -> bool {
    let [first, second, third] = leading_keywords::<3>(sql);
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    if ["BEGIN", "START", "COMMIT", "END", "ABORT"]
        .iter()
        .any(|k| is(first, k))
    {
        true
    } else if is(first, "SAVEPOINT") || is(first, "RELEASE") {
        !in_transaction
    } else if is(first, "ROLLBACK") {
        let to = is(second, "TO") || is(third, "TO");
        !(in_transaction && to)
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> String {
        to_postgres(sql).sql
    }

    #[test]
    fn numbers_bare_placeholders_in_order() {
        assert_eq!(
            to_postgres("SELECT * FROM t WHERE a = ? AND b = ?"),
            Rewritten {
                sql: "SELECT * FROM t WHERE a = $1 AND b = $2".into(),
                params: 2
            }
        );
        assert_eq!(
            to_postgres("INSERT INTO t VALUES (?,?,?)").sql,
            "INSERT INTO t VALUES ($1,$2,$3)"
        );
    }

    #[test]
    fn no_placeholders_is_unchanged() {
        assert_eq!(
            to_postgres("SELECT 1"),
            Rewritten {
                sql: "SELECT 1".into(),
                params: 0
            }
        );
        assert_eq!(
            to_postgres(""),
            Rewritten {
                sql: String::new(),
                params: 0
            }
        );
    }

    #[test]
    fn skips_single_quoted_strings_with_doubled_quotes() {
        assert_eq!(pg("SELECT '?' , ?"), "SELECT '?' , $1");
        assert_eq!(pg("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
        assert_eq!(pg("SELECT '''?''', ?"), "SELECT '''?''', $1");
        assert_eq!(pg("SELECT '', ?"), "SELECT '', $1");
    }

    #[test]
    fn escape_strings_honour_backslashes() {
        assert_eq!(pg(r"SELECT E'it\'s ?', ?"), r"SELECT E'it\'s ?', $1");
        assert_eq!(pg(r"SELECT e'\\', ?"), r"SELECT e'\\', $1");
        // A plain string ending in a backslash is not an escape string.
        assert_eq!(pg(r"SELECT '\', ?"), r"SELECT '\', $1");
        // `name'...'` is not an E-string just because the identifier ends in e.
        assert_eq!(pg(r"SELECT type'\', ?"), r"SELECT type'\', $1");
    }

    #[test]
    fn skips_quoted_identifiers() {
        assert_eq!(
            pg(r#"SELECT "what?" FROM t WHERE x = ?"#),
            r#"SELECT "what?" FROM t WHERE x = $1"#
        );
        assert_eq!(pg(r#"SELECT "a""?" , ?"#), r#"SELECT "a""?" , $1"#);
    }

    #[test]
    fn skips_line_comments() {
        assert_eq!(
            pg("SELECT ? -- is this ok?\n, ?"),
            "SELECT $1 -- is this ok?\n, $2"
        );
        assert_eq!(pg("SELECT ? -- trailing ?"), "SELECT $1 -- trailing ?");
        // A single dash is subtraction.
        assert_eq!(pg("SELECT ? - ?"), "SELECT $1 - $2");
    }

    #[test]
    fn skips_block_comments_including_nested() {
        assert_eq!(pg("SELECT /* ? */ ?"), "SELECT /* ? */ $1");
        assert_eq!(
            pg("SELECT /* a /* ? */ still ? */ ?"),
            "SELECT /* a /* ? */ still ? */ $1"
        );
        assert_eq!(
            pg("SELECT ? /* unterminated ?"),
            "SELECT $1 /* unterminated ?"
        );
        // `/` alone is division.
        assert_eq!(pg("SELECT ? / ?"), "SELECT $1 / $2");
    }

    #[test]
    fn skips_dollar_quoted_strings() {
        assert_eq!(pg("SELECT $$ ? $$, ?"), "SELECT $$ ? $$, $1");
        assert_eq!(
            pg("SELECT $fn$ it's ? $x$ $fn$, ?"),
            "SELECT $fn$ it's ? $x$ $fn$, $1"
        );
        // `$1` and identifiers containing `$` are not dollar quotes.
        assert_eq!(pg("SELECT a$b, ?, 'x$$'"), "SELECT a$b, $1, 'x$$'");
        assert_eq!(pg("SELECT $1 FROM t$"), "SELECT $1 FROM t$");
    }

    #[test]
    fn unterminated_literals_swallow_the_rest() {
        assert_eq!(pg("SELECT ?, 'oops ?"), "SELECT $1, 'oops ?");
        assert_eq!(pg("SELECT ?, \"oops ?"), "SELECT $1, \"oops ?");
    }

    #[test]
    fn numbered_placeholders_follow_sqlite_rules() {
        assert_eq!(
            to_postgres("SELECT ?1, ?1, ?2"),
            Rewritten {
                sql: "SELECT $1, $1, $2".into(),
                params: 2
            }
        );
        assert_eq!(
            to_postgres("SELECT ?3, ?"),
            Rewritten {
                sql: "SELECT $3, $4".into(),
                params: 4
            }
        );
        assert_eq!(
            to_postgres("SELECT ?, ?1"),
            Rewritten {
                sql: "SELECT $1, $1".into(),
                params: 1
            }
        );
    }

    #[test]
    fn a_huge_numbered_placeholder_does_not_overflow_the_next_bare_one() {
        // Found by the `placeholders` fuzz target: `largest + 1` overflowed (a panic in debug builds,
        // `$0` in release builds).
        let rewritten = to_postgres("SELECT ?99999999999999999999999, ?");
        assert_eq!(rewritten.params, usize::MAX);
        assert!(
            rewritten.sql.ends_with(&format!("${}", usize::MAX)),
            "{}",
            rewritten.sql
        );
    }

    #[test]
    fn double_question_mark_is_a_literal_operator() {
        assert_eq!(
            pg("SELECT data ?? 'k', data ??| ?"),
            "SELECT data ? 'k', data ?| $1"
        );
    }

    #[test]
    fn multibyte_text_is_preserved() {
        assert_eq!(
            pg("SELECT 'héllo ?', ?, \"naïve?\" -- ünï ?\n"),
            "SELECT 'héllo ?', $1, \"naïve?\" -- ünï ?\n"
        );
        assert_eq!(pg("SELECT ?, 'ü'"), "SELECT $1, 'ü'");
    }

    #[test]
    fn detects_transaction_control() {
        for sql in [
            "BEGIN",
            "begin immediate",
            "  -- c\n/* x */ COMMIT;",
            "ROLLBACK",
            "END",
            "START TRANSACTION",
        ] {
            assert!(is_transaction_control(sql, false), "{sql}");
            assert!(is_transaction_control(sql, true), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "INSERT INTO begin_log VALUES (1)",
            "",
            "-- only a comment",
            "WITH x AS (SELECT 1) SELECT",
        ] {
            assert!(!is_transaction_control(sql, false), "{sql}");
        }
        assert!(is_transaction_control("SAVEPOINT a", false));
        assert!(!is_transaction_control("SAVEPOINT a", true));
        assert!(!is_transaction_control("RELEASE SAVEPOINT a", true));
        assert!(!is_transaction_control("ROLLBACK TO SAVEPOINT a", true));
        assert!(!is_transaction_control("rollback transaction to a", true));
        assert!(is_transaction_control("ROLLBACK TO a", false));
    }
}

/// Property tests: SQL assembled from random tokens (placeholders, `??`, string literals,
/// escape strings, quoted identifiers, comments, dollar quotes, plain text) is rewritten exactly as
/// the tokens say: only placeholder tokens change, numbered in order by SQLite's rules.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Token {
        Plain(String),
        Bare,
        Numbered(usize),
        DoubleQuestion,
        /// Raw text that must come out unchanged (literals, identifiers, comments).
        Opaque(String),
    }

    /// Characters that mean something to the lexer, to sprinkle inside quoted sections.
    const TRICKY: &str = "[a-z ?$\"'\\\\/*\n-]";

    fn text_without(excluded: &'static [char]) -> impl Strategy<Value = String> {
        prop::collection::vec(TRICKY, 0..8).prop_map(move |parts| {
            parts
                .concat()
                .chars()
                .filter(|c| !excluded.contains(c))
                .collect()
        })
    }

    fn token() -> impl Strategy<Value = Token> {
        prop_oneof![
            "[a-z0-9_,=()<>+.]{1,8}".prop_map(Token::Plain),
            Just(Token::Bare),
            (1usize..20).prop_map(Token::Numbered),
            Just(Token::DoubleQuestion),
            // '…' with '' escapes; backslashes are literal here.
            prop::collection::vec(
                prop_oneof![text_without(&['\'']), Just("''".to_owned())],
                0..4
            )
            .prop_map(|p| Token::Opaque(format!("'{}'", p.concat()))),
            // E'…' with backslash escapes.
            prop::collection::vec(
                prop_oneof![
                    text_without(&['\'', '\\']),
                    Just(r"\'".to_owned()),
                    Just(r"\\".to_owned()),
                    Just("''".to_owned())
                ],
                0..4
            )
            .prop_map(|p| Token::Opaque(format!("E'{}'", p.concat()))),
            // "…" with "" escapes.
            prop::collection::vec(
                prop_oneof![text_without(&['"']), Just("\"\"".to_owned())],
                0..4
            )
            .prop_map(|p| Token::Opaque(format!("\"{}\"", p.concat()))),
            text_without(&['\n']).prop_map(|t| Token::Opaque(format!("--{t}\n"))),
            (
                text_without(&['*', '/']),
                text_without(&['*', '/']),
                any::<bool>()
            )
                .prop_map(|(a, b, nested)| Token::Opaque(if nested {
                    format!("/*{a}/*{b}*/{a}*/")
                } else {
                    format!("/*{a}{b}*/")
                })),
            ("[a-z_]{0,3}", text_without(&['$']))
                .prop_map(|(tag, body)| Token::Opaque(format!("${tag}${body}${tag}$"))),
        ]
    }

    /// The SQL (tokens separated by spaces), the expected PostgreSQL text and parameter count.
    fn render(tokens: &[Token]) -> (String, String, usize) {
        let (mut sql, mut expected, mut largest) = (String::new(), String::new(), 0usize);
        for token in tokens {
            let (input, output) = match token {
                Token::Plain(text) | Token::Opaque(text) => (text.clone(), text.clone()),
                Token::Bare => {
                    largest += 1;
                    ("?".to_owned(), format!("${largest}"))
                }
                Token::Numbered(n) => {
                    largest = largest.max(*n);
                    (format!("?{n}"), format!("${n}"))
                }
                Token::DoubleQuestion => ("??".to_owned(), "?".to_owned()),
            };
            sql.push_str(&input);
            sql.push(' ');
            expected.push_str(&output);
            expected.push(' ');
        }
        (sql, expected, largest)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn only_placeholders_change_and_they_are_numbered_in_order(
            tokens in prop::collection::vec(token(), 0..12)
        ) {
            let (sql, expected, params) = render(&tokens);
            let rewritten = to_postgres(&sql);
            prop_assert_eq!(rewritten.sql, expected, "input: {}", sql);
            prop_assert_eq!(rewritten.params, params);
        }

        #[test]
        fn arbitrary_text_never_panics_and_without_question_marks_is_unchanged(sql in any::<String>()) {
            let rewritten = to_postgres(&sql);
            if !sql.contains('?') {
                prop_assert_eq!(&rewritten.sql, &sql);
                prop_assert_eq!(rewritten.params, 0);
            }
            let _ = is_transaction_control(&sql, false);
            let _ = is_transaction_control(&sql, true);
        }
    }
}
