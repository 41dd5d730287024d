//! The machine-local link from a project to a webstir checkout: Cargo's `[patch.crates-io]` in the
//! project's `.cargo/config.toml` (git-ignored), so `Cargo.toml` holds only `webstir = "0.1"` and
//! stays the same on every machine and on the day the crates are published.

use std::path::Path;

use anyhow::{Context as _, Result};
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

/// The project-relative path of the link file.
pub(crate) const CONFIG: &str = ".cargo/config.toml";

/// The text of `.cargo/config.toml` with `[patch.crates-io] webstir` pointing at
/// `source/crates/webstir`, keeping whatever else `existing` holds.
///
/// # Errors
/// When `existing` is not valid TOML.
pub(crate) fn config_text(existing: Option<&str>, source: &Path) -> Result<String> {
    let mut doc: DocumentMut = match existing {
        Some(text) => text
            .parse()
            .with_context(|| format!("{CONFIG} is not valid TOML; fix or delete it"))?,
        None => {
            let mut doc = DocumentMut::new();
            doc.decor_mut().set_prefix(
                "# Machine-local (git-ignored): this machine's webstir checkout, used until the webstir\n\
                 # crates are published. Re-create it with `webstir link` (or `webstir link --source DIR`).\n",
            );
            doc
        }
    };
    let patch = doc
        .entry("patch")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .context("[patch] in .cargo/config.toml is not a table")?;
    let crates_io = patch
        .entry("crates-io")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .context("[patch.crates-io] in .cargo/config.toml is not a table")?;
    let mut entry = InlineTable::new();
    let path = source.join("crates").join("webstir");
    entry.insert("path", Value::from(path.to_string_lossy().as_ref()));
    crates_io.insert("webstir", Item::Value(Value::InlineTable(entry)));
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_updates_the_patch() {
        let text = config_text(None, Path::new("/src/webstir")).unwrap();
        assert!(text.starts_with("# Machine-local"), "{text}");
        assert!(
            text.contains(
                "[patch.crates-io]\nwebstir = { path = \"/src/webstir/crates/webstir\" }"
            ),
            "{text}"
        );
        let kept = "[build]\njobs = 1\n\n[patch.crates-io]\nwebstir = { path = \"/old\" }\nother = { path = \"/o\" }\n";
        let text = config_text(Some(kept), Path::new("/new")).unwrap();
        assert!(text.contains("[build]\njobs = 1"), "{text}");
        assert!(
            text.contains("webstir = { path = \"/new/crates/webstir\" }"),
            "{text}"
        );
        assert!(text.contains("other = { path = \"/o\" }"), "{text}");
        assert!(config_text(Some("[patch"), Path::new("/x")).is_err());
    }
}
