//! Loading migration files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Error;
use crate::db::Engine;

/// The line that separates the up part from the down part.
pub(crate) const DOWN_MARKER: &str = "-- migrate:down";

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migration {
    pub(crate) id: String,
    pub(crate) path: PathBuf,
    pub(crate) up: String,
    pub(crate) down: Option<String>,
    /// Hex SHA-256 of the up part (line endings normalised), recorded when applied.
    pub(crate) checksum: String,
}

/// Reads `dir/*.sql` for `engine`, ordered by id. A missing directory holds no migrations.
pub(crate) fn load(dir: &Path, engine: Engine) -> Result<Vec<Migration>, Error> {
    let read_err = |source| Error::Read {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_err(e)),
    };
    let mut by_id: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        if !entry.file_type().map_err(read_err)?.is_file() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(id) = migration_id(name, engine) {
            by_id.entry(id.to_owned()).or_default().push(path);
        }
    }
    let duplicates: Vec<String> = by_id
        .iter()
        .filter(|(_, paths)| paths.len() > 1)
        .map(|(id, _)| id.clone())
        .collect();
    if !duplicates.is_empty() {
        return Err(Error::DuplicateIds { ids: duplicates });
    }
    by_id
        .into_iter()
        .map(|(id, mut paths)| {
            let path = paths.remove(0);
            let source = std::fs::read_to_string(&path).map_err(|e| Error::Read {
                path: path.clone(),
                source: e,
            })?;
            parse(id, path, &source)
        })
        .collect()
}

/// `0001_create.sql` → `0001_create`; `0002_x.sqlite.sql` → `0002_x` on SQLite only; `0002_x.postgres.sql` →
/// `0002_x` on PostgreSQL only. Other files are ignored.
fn migration_id(name: &str, engine: Engine) -> Option<&str> {
    let stem = name.strip_suffix(".sql")?;
    if name.starts_with('.') || stem.is_empty() {
        return None;
    }
    let (own, other) = match engine {
        Engine::Postgres => (".postgres", ".sqlite"),
        _ => (".sqlite", ".postgres"),
    };
    if stem.ends_with(other) {
        return None;
    }
    let id = stem.strip_suffix(own).unwrap_or(stem);
    (!id.is_empty()).then_some(id)
}

/// Splits a file into its up and down parts.
pub(crate) fn parse(id: String, path: PathBuf, source: &str) -> Result<Migration, Error> {
    let source = source.replace("\r\n", "\n");
    let mut up = String::new();
    let mut down: Option<String> = None;
    for line in source.split_inclusive('\n') {
        let marker = line.trim().to_ascii_lowercase();
        if marker == DOWN_MARKER || marker.starts_with(&format!("{DOWN_MARKER} ")) {
            if down.is_some() {
                return Err(Error::InvalidFile {
                    path,
                    reason: format!("more than one `{DOWN_MARKER}` line"),
                });
            }
            down = Some(String::new());
            continue;
        }
        match &mut down {
            Some(d) => d.push_str(line),
            None => up.push_str(line),
        }
    }
    if up.trim().is_empty() {
        return Err(Error::InvalidFile {
            path,
            reason: "the up part (before `-- migrate:down`) is empty".to_owned(),
        });
    }
    let down = down.filter(|d| !d.trim().is_empty());
    let checksum = checksum(&up);
    Ok(Migration {
        id,
        path,
        up,
        down,
        checksum,
    })
}

/// Hex SHA-256 of an up part whose line endings are already normalised to `\n`.
pub(crate) fn checksum(up: &str) -> String {
    Sha256::digest(up.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Migration, Error> {
        parse("0001_x".into(), PathBuf::from("0001_x.sql"), s)
    }

    #[test]
    fn splits_up_and_down() {
        let m =
            parse_str("-- migrate:up\nCREATE TABLE a (id INT);\n-- migrate:down\nDROP TABLE a;\n")
                .unwrap();
        assert_eq!(m.up, "-- migrate:up\nCREATE TABLE a (id INT);\n");
        assert_eq!(m.down.as_deref(), Some("DROP TABLE a;\n"));
    }

    #[test]
    fn down_is_optional_and_empty_down_means_none() {
        assert_eq!(parse_str("CREATE TABLE a (id INT);").unwrap().down, None);
        assert_eq!(
            parse_str("CREATE TABLE a (id INT);\n-- migrate:down\n\n")
                .unwrap()
                .down,
            None
        );
        assert_eq!(
            parse_str("CREATE TABLE a (id INT);\n  -- MIGRATE:DOWN  \nDROP TABLE a;")
                .unwrap()
                .down
                .as_deref(),
            Some("DROP TABLE a;")
        );
    }

    #[test]
    fn checksum_covers_only_the_up_part_and_ignores_line_endings() {
        let a = parse_str("CREATE TABLE a (id INT);\n-- migrate:down\nDROP TABLE a;\n").unwrap();
        let b =
            parse_str("CREATE TABLE a (id INT);\r\n-- migrate:down\r\nDROP TABLE IF EXISTS a;\r\n")
                .unwrap();
        let c = parse_str("CREATE TABLE a (id BIGINT);\n-- migrate:down\nDROP TABLE a;\n").unwrap();
        assert_eq!(a.checksum, b.checksum);
        assert_ne!(a.checksum, c.checksum);
        assert_eq!(a.checksum.len(), 64);
    }

    #[test]
    fn rejects_empty_up_and_two_markers() {
        assert!(matches!(
            parse_str("\n-- migrate:down\nDROP TABLE a;"),
            Err(Error::InvalidFile { .. })
        ));
        assert!(matches!(
            parse_str("SELECT 1;\n-- migrate:down\n-- migrate:down\n"),
            Err(Error::InvalidFile { .. })
        ));
    }

    #[test]
    fn ids_and_engine_specific_files() {
        assert_eq!(
            migration_id("0001_create.sql", Engine::Sqlite),
            Some("0001_create")
        );
        assert_eq!(
            migration_id("0002_idx.sqlite.sql", Engine::Sqlite),
            Some("0002_idx")
        );
        assert_eq!(migration_id("0002_idx.sqlite.sql", Engine::Postgres), None);
        assert_eq!(
            migration_id("0002_idx.postgres.sql", Engine::Postgres),
            Some("0002_idx")
        );
        assert_eq!(migration_id("0002_idx.postgres.sql", Engine::Sqlite), None);
        assert_eq!(migration_id("README.md", Engine::Sqlite), None);
        assert_eq!(migration_id(".sql", Engine::Sqlite), None);
        assert_eq!(migration_id(".hidden.sql", Engine::Sqlite), None);
    }
}
