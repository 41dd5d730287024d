//! `DATABASE_URL` parsing.

use std::path::{Component, Path, PathBuf};

use crate::db::Engine;
use crate::error::Error;

/// A parsed PostgreSQL URL.
#[cfg(feature = "postgres")]
pub(crate) type PgConfig = tokio_postgres::Config;

/// A PostgreSQL URL in a build without PostgreSQL support (not parsed further).
#[cfg(not(feature = "postgres"))]
#[derive(Debug)]
pub(crate) struct PgConfig;

/// Where the database lives.
#[derive(Debug)]
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(dead_code, reason = "a disabled engine's target is only reported")
)]
pub(crate) enum Target {
    /// A SQLite file (absolute path).
    SqliteFile(PathBuf),
    /// A SQLite database in memory, shared by the connections of one `Db`.
    SqliteMemory,
    /// A PostgreSQL server.
    Postgres(Box<PgConfig>),
}

impl Target {
    /// The engine this target needs.
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Target::SqliteFile(_) | Target::SqliteMemory => Engine::Sqlite,
            Target::Postgres(_) => Engine::Postgres,
        }
    }
}

/// Parses a `DATABASE_URL`, resolving relative SQLite paths against `root`.
pub(crate) fn parse(url: &str, root: &Path) -> Result<Target, Error> {
    let trimmed = url.trim();
    let unsupported = || Error::UnsupportedUrl {
        url: url.to_owned(),
    };
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        let config = <PgConfig as std::str::FromStr>::from_str(trimmed)
            .map_err(|e| Error::InvalidUrl { source: e.into() })?;
        #[cfg(not(feature = "postgres"))]
        let config = PgConfig;
        return Ok(Target::Postgres(Box::new(config)));
    }
    let sqlite = ["sqlite://", "file://", "sqlite:", "file:"]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p));
    let path = match sqlite {
        Some(rest) => rest,
        None if trimmed == ":memory:" => return Ok(Target::SqliteMemory),
        None if [".sqlite", ".sqlite3", ".db"]
            .iter()
            .any(|ext| trimmed.ends_with(ext)) =>
        {
            trimmed
        }
        None => return Err(unsupported()),
    };
    // `sqlite://data.db?mode=rwc` style options are accepted and ignored.
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if path == ":memory:" {
        return Ok(Target::SqliteMemory);
    }
    if path.is_empty() {
        return Err(unsupported());
    }
    Ok(Target::SqliteFile(resolve(Path::new(path), root)))
}

/// Joins a relative path onto `root` and removes `.` components, keeping absolute paths as they are.
fn resolve(path: &Path, root: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(url: &str) -> PathBuf {
        match parse(url, Path::new("/ws")) {
            Ok(Target::SqliteFile(p)) => p,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn sqlite_forms_resolve_against_the_workspace_root() {
        assert_eq!(
            file("file:./data/dev.sqlite"),
            Path::new("/ws/data/dev.sqlite")
        );
        assert_eq!(
            file("file:data/dev.sqlite"),
            Path::new("/ws/data/dev.sqlite")
        );
        assert_eq!(file("sqlite:./x.db"), Path::new("/ws/x.db"));
        assert_eq!(file("sqlite://./x.db?mode=rwc"), Path::new("/ws/x.db"));
        assert_eq!(
            file("./data/infer.sqlite"),
            Path::new("/ws/data/infer.sqlite")
        );
        assert_eq!(file("data.db"), Path::new("/ws/data.db"));
        assert_eq!(
            file(" file:./padded.sqlite "),
            Path::new("/ws/padded.sqlite")
        );
    }

    #[test]
    fn absolute_paths_are_kept() {
        assert_eq!(file("file:/abs/a.sqlite"), Path::new("/abs/a.sqlite"));
        assert_eq!(file("file:///abs/a.sqlite"), Path::new("/abs/a.sqlite"));
        assert_eq!(file("sqlite:///abs/b.db"), Path::new("/abs/b.db"));
        assert_eq!(file("/abs/c.sqlite3"), Path::new("/abs/c.sqlite3"));
    }

    #[test]
    fn memory_forms() {
        for url in [
            ":memory:",
            "sqlite::memory:",
            "file::memory:",
            "sqlite://:memory:",
        ] {
            assert!(
                matches!(parse(url, Path::new("/ws")), Ok(Target::SqliteMemory)),
                "{url}"
            );
        }
    }

    #[test]
    #[cfg(feature = "postgres")]
    fn postgres_forms() {
        for url in [
            "postgres://u@localhost/db",
            "postgresql://u:p@127.0.0.1:5432/db?application_name=x",
        ] {
            assert!(
                matches!(parse(url, Path::new("/ws")), Ok(Target::Postgres(_))),
                "{url}"
            );
        }
        assert!(matches!(
            parse("postgres://u@h:notaport/db", Path::new("/ws")),
            Err(Error::InvalidUrl { .. })
        ));
    }

    #[test]
    fn everything_else_is_rejected_naming_the_variable() {
        for url in ["mysql://localhost/db", "", "file:", "redis://x", "data.txt"] {
            let err = parse(url, Path::new("/ws")).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("DATABASE_URL")
                    && msg.contains(":memory:")
                    && msg.contains("postgres://"),
                "{msg}"
            );
        }
    }
}
