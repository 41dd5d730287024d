//! The SQLite engine (rusqlite).
//!
//! Threading (see the crate README for the measurements behind it):
//!
//! * **Reads** run inline on the calling async worker, on a pooled reader connection, because a small indexed
//!   read costs a few microseconds and any hop to another thread costs more than the query. A progress handler
//!   gives each inline read a time budget ([`INLINE_BUDGET`]); a read that exceeds it is interrupted and re-run
//!   on tokio's blocking pool, so a long query cannot stall the executor for more than the budget.
//! * **Writes** (any statement SQLite does not report as read-only) and **transactions** run on one dedicated
//!   writer thread that owns the only write connection, fed through a channel. SQLite allows one writer at a
//!   time anyway; serialising writers in-process means they queue on an async lock instead of sleeping in
//!   SQLite's busy handler. Transactions hold that lock from `BEGIN IMMEDIATE` to `COMMIT`/`ROLLBACK`.
//! * **`:memory:`** has no WAL, so a reader connection would block (on the async worker) behind an open write
//!   transaction: there every statement runs on the writer, after any open transaction.

use std::ffi::c_int;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, mpsc};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, ToSql, ffi};
use tokio::sync::{OwnedMutexGuard, oneshot};

use crate::error::{ConstraintKind, Error, Message};
use crate::exec::{Mode, Output};
use crate::row::Row;
use crate::value::{Value, timestamp_text};

/// How long a write waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a read may run on the async worker before it is moved to the blocking pool.
pub(crate) const INLINE_BUDGET: Duration = Duration::from_millis(1);
/// VM instructions between two progress-handler calls.
const PROGRESS_OPS: c_int = 1000;
const MAX_IDLE_READERS: usize = 16;
const STATEMENT_CACHE: usize = 128;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

struct Reader {
    conn: Connection,
    /// Nanoseconds since [`epoch`] after which the progress handler interrupts; 0 = no deadline.
    deadline: Arc<AtomicU64>,
}

pub(crate) struct Sqlite {
    /// Path or URI passed to `sqlite3_open_v2`.
    location: String,
    /// Shown in errors.
    display: PathBuf,
    flags: OpenFlags,
    /// `false` for `:memory:`: every statement goes to the writer.
    inline_reads: bool,
    readers: Mutex<Vec<Reader>>,
    writer: mpsc::Sender<Job>,
    /// Held while a write is queued and for the whole of a transaction.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("location", &self.display)
            .finish_non_exhaustive()
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

tokio::task_local! {
    /// The SQLite databases (by address) whose transaction body the current task is running.
    static OPEN_TRANSACTIONS: Vec<usize>;
}

/// Runs a transaction body, remembering that this task holds `db`'s writer.
pub(crate) async fn in_transaction_scope<F: Future>(db: &Arc<Sqlite>, body: F) -> F::Output {
    let mut open = OPEN_TRANSACTIONS.try_with(Clone::clone).unwrap_or_default();
    open.push(Arc::as_ptr(db) as usize);
    OPEN_TRANSACTIONS.scope(open, body).await
}

/// Refuses a write that would queue behind this task's own transaction.
fn check_not_in_own_transaction(db: &Sqlite) -> Result<(), Error> {
    let me = std::ptr::from_ref(db) as usize;
    if OPEN_TRANSACTIONS
        .try_with(|open| open.contains(&me))
        .unwrap_or(false)
    {
        return Err(Error::WouldDeadlock);
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sqlite {
    /// Opens a database file, creating it and its directory.
    pub(crate) fn open_file(path: PathBuf) -> Result<Sqlite, Error> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Open {
                path: path.clone(),
                source: e.into(),
            })?;
        }
        let location = path.to_string_lossy().into_owned();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Sqlite::start(location, path, flags, true)
    }

    /// Opens a fresh in-memory database. It lives on the writer's single connection: every statement,
    /// reads included, runs on the writer thread (an in-memory database has no WAL, so separate reader
    /// connections would block behind an open write transaction).
    pub(crate) fn open_memory() -> Result<Sqlite, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Sqlite::start(
            ":memory:".to_owned(),
            PathBuf::from(":memory:"),
            flags,
            false,
        )
    }

    fn start(
        location: String,
        display: PathBuf,
        flags: OpenFlags,
        wal: bool,
    ) -> Result<Sqlite, Error> {
        let conn = open_connection(&location, &display, flags)?;
        if wal {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(|e| Error::Open {
                    path: display.clone(),
                    source: e.into(),
                })?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(target: "webstir_db", journal_mode = %mode, "SQLite did not switch to WAL");
            }
        }
        let (writer, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("webstir-db-writer".to_owned())
            .spawn(move || writer_loop(conn, jobs))
            .map_err(|e| Error::Open {
                path: display.clone(),
                source: e.into(),
            })?;
        Ok(Sqlite {
            location,
            display,
            flags,
            inline_reads: wal,
            readers: Mutex::new(Vec::new()),
            writer,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    fn take_reader(&self) -> Result<Reader, Error> {
        if let Some(r) = lock(&self.readers).pop() {
            return Ok(r);
        }
        let mut conn = open_connection(&self.location, &self.display, self.flags)?;
        let deadline = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&deadline);
        conn.progress_handler(
            PROGRESS_OPS,
            Some(move || {
                let d = seen.load(Ordering::Relaxed);
                d != 0 && now_ns() > d
            }),
        )
        .map_err(sqlite_err)?;
        Ok(Reader { conn, deadline })
    }

    fn put_reader(&self, reader: Reader) {
        if !reader.conn.is_autocommit() {
            return; // never reuse a connection left inside a transaction
        }
        let mut readers = lock(&self.readers);
        if readers.len() < MAX_IDLE_READERS {
            readers.push(reader);
        }
    }

    /// Queues a job on the writer thread.
    fn send<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, Error> + Send + 'static,
    ) -> oneshot::Receiver<Result<R, Error>> {
        let (tx, rx) = oneshot::channel();
        // If the thread is gone the job (and `tx`) is dropped and the receiver reports it.
        let _ = self.writer.send(Box::new(move |conn: &mut Connection| {
            let _ = tx.send(f(conn));
        }));
        rx
    }

    /// Runs one statement outside a transaction.
    pub(crate) async fn run(
        self: &Arc<Self>,
        sql: &str,
        params: &[Value],
        mode: Mode,
    ) -> Result<Output, Error> {
        match self.try_inline(sql, params, mode) {
            Inline::Done(result) => result,
            Inline::Writer => {
                check_not_in_own_transaction(self)?;
                let (sql, params) = (sql.to_owned(), params.to_vec());
                let guard = self.write_lock.lock().await;
                let rx = self.send(move |conn| run(conn, &sql, &params, mode));
                drop(guard); // queued before any later transaction's BEGIN
                received(rx).await
            }
            Inline::TooLong => {
                let this = Arc::clone(self);
                let (sql, params) = (sql.to_owned(), params.to_vec());
                tokio::task::spawn_blocking(move || {
                    let reader = this.take_reader()?;
                    let result = run(&reader.conn, &sql, &params, mode);
                    this.put_reader(reader);
                    result
                })
                .await
                .map_err(|e| Error::Query { source: e.into() })?
            }
        }
    }

    /// Runs several statements (no parameters) on the writer.
    pub(crate) async fn run_batch(&self, sql: &str) -> Result<(), Error> {
        check_not_in_own_transaction(self)?;
        let sql = sql.to_owned();
        let guard = self.write_lock.lock().await;
        let rx = self.send(move |conn| batch(conn, &sql, false));
        drop(guard);
        received(rx).await
    }

    /// Runs a read-only statement on the calling thread within the time budget.
    fn try_inline(&self, sql: &str, params: &[Value], mode: Mode) -> Inline {
        if !self.inline_reads {
            return Inline::Writer;
        }
        let reader = match self.take_reader() {
            Ok(r) => r,
            Err(e) => return Inline::Done(Err(e)),
        };
        let outcome = inline_on(&reader, sql, params, mode);
        self.put_reader(reader);
        outcome
    }

    pub(crate) async fn ping(self: &Arc<Self>) -> Result<(), Error> {
        self.run("SELECT 1", &[], Mode::Rows).await.map(drop)
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`) on the writer.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<SqliteTx, Error> {
        check_not_in_own_transaction(self)?;
        let guard = Arc::clone(&self.write_lock).lock_owned().await;
        // Built before BEGIN is queued, so that cancelling this future (after BEGIN ran) still rolls back.
        let tx = SqliteTx {
            db: Arc::clone(self),
            guard: Mutex::new(Some(guard)),
            finished: AtomicBool::new(false),
        };
        received(self.send(|conn| conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_err)))
            .await?;
        Ok(tx)
    }
}

enum Inline {
    Done(Result<Output, Error>),
    /// Run it on the writer (a write, or any statement on `:memory:`).
    Writer,
    TooLong,
}

fn inline_on(reader: &Reader, sql: &str, params: &[Value], mode: Mode) -> Inline {
    let mut stmt = match reader.conn.prepare_cached(sql) {
        Ok(s) => s,
        Err(e) => return Inline::Done(Err(sqlite_err(e))),
    };
    if !stmt.readonly() {
        return Inline::Writer;
    }
    reader
        .deadline
        .store(now_ns().saturating_add(budget_ns()), Ordering::Relaxed);
    let result = run_prepared(&reader.conn, &mut stmt, params, mode);
    reader.deadline.store(0, Ordering::Relaxed);
    match result {
        Err(Failure::Sqlite(e))
            if e.sqlite_error_code() == Some(ErrorCode::OperationInterrupted) =>
        {
            Inline::TooLong
        }
        other => Inline::Done(other.map_err(Failure::into_error)),
    }
}

fn budget_ns() -> u64 {
    u64::try_from(INLINE_BUDGET.as_nanos()).unwrap_or(u64::MAX)
}

async fn received<R>(rx: oneshot::Receiver<Result<R, Error>>) -> Result<R, Error> {
    rx.await
        .map_err(|_| Error::unavailable(Message::from("the SQLite writer thread has stopped")))?
}

fn writer_loop(mut conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        // Jobs are our own code; a panic drops the reply channel, which the caller sees as an error.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
    }
}

fn open_connection(
    location: &str,
    display: &std::path::Path,
    flags: OpenFlags,
) -> Result<Connection, Error> {
    let open_err = |e: rusqlite::Error| Error::Open {
        path: display.to_path_buf(),
        source: e.into(),
    };
    let conn = Connection::open_with_flags(location, flags).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        .map_err(open_err)?;
    Ok(conn)
}

/// A write transaction holding the writer.
pub(crate) struct SqliteTx {
    db: Arc<Sqlite>,
    guard: Mutex<Option<OwnedMutexGuard<()>>>,
    finished: AtomicBool,
}

impl SqliteTx {
    pub(crate) async fn run(
        &self,
        sql: &str,
        params: &[Value],
        mode: Mode,
    ) -> Result<Output, Error> {
        let (sql, params) = (sql.to_owned(), params.to_vec());
        received(self.db.send(move |conn| run(conn, &sql, &params, mode))).await
    }

    pub(crate) async fn run_batch(&self, sql: &str) -> Result<(), Error> {
        let sql = sql.to_owned();
        received(self.db.send(move |conn| batch(conn, &sql, true))).await
    }

    /// Commits; if `COMMIT` fails the transaction is rolled back.
    pub(crate) async fn commit(&self) -> Result<(), Error> {
        let result = received(self.db.send(|conn| match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                Err(sqlite_err(e))
            }
        }))
        .await;
        self.finish();
        result
    }

    pub(crate) async fn rollback(&self) -> Result<(), Error> {
        let result = received(self.db.send(rollback_if_open)).await;
        self.finish();
        result
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        lock(&self.guard).take();
    }
}

/// Runs a script; a script must not open or close the surrounding transaction (`BEGIN` or `COMMIT` further
/// down than the first statement, which is checked before).
fn batch(conn: &mut Connection, sql: &str, in_transaction: bool) -> Result<(), Error> {
    let result = conn.execute_batch(sql).map_err(sqlite_err);
    if conn.is_autocommit() == in_transaction {
        if !in_transaction {
            let _ = conn.execute_batch("ROLLBACK");
        }
        return Err(Error::TransactionControl);
    }
    result
}

fn rollback_if_open(conn: &mut Connection) -> Result<(), Error> {
    if conn.is_autocommit() {
        Ok(())
    } else {
        conn.execute_batch("ROLLBACK").map_err(sqlite_err)
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::Acquire) {
            // Dropped by a panic or a cancelled future: queue the rollback before releasing the writer.
            drop(self.db.send(rollback_if_open));
        }
        lock(&self.guard).take();
    }
}

/// An error while running a statement: either already ours, or a driver error still to be classified.
enum Failure {
    Sqlite(rusqlite::Error),
    Db(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Sqlite(e) => sqlite_err(e),
            Failure::Db(e) => e,
        }
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sqlite(e)
    }
}

fn run(conn: &Connection, sql: &str, params: &[Value], mode: Mode) -> Result<Output, Error> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_err)?;
    run_prepared(conn, &mut stmt, params, mode).map_err(Failure::into_error)
}

fn run_prepared(
    conn: &Connection,
    stmt: &mut rusqlite::Statement<'_>,
    params: &[Value],
    mode: Mode,
) -> Result<Output, Failure> {
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(Failure::Db(Error::ParamCount {
            expected,
            given: params.len(),
        }));
    }
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, Bind(p))?;
    }
    match mode {
        Mode::Rows => {
            let columns: Arc<[String]> = stmt.column_names().map(str::to_owned).collect();
            let kinds: Vec<ColumnKind> = stmt
                .columns()
                .map(|c| ColumnKind::from_decl(c.decl_type()))
                .collect();
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let mut values = Vec::with_capacity(columns.len());
                for (i, kind) in kinds.iter().enumerate() {
                    values.push(decode(row.get_ref(i)?, *kind, &columns[i]).map_err(Failure::Db)?);
                }
                out.push(Row::new(Arc::clone(&columns), values));
            }
            Ok(Output::Rows(out))
        }
        Mode::Execute => {
            let readonly = stmt.readonly();
            let mut rows = stmt.raw_query();
            while rows.next()?.is_some() {}
            Ok(Output::Affected(if readonly { 0 } else { conn.changes() }))
        }
    }
}

/// How to read a column, from its declared type: SQLite stores booleans, JSON and timestamps as integers and
/// text, so the declaration tells us what the application meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Plain,
    Bool,
    Json,
    Timestamp,
}

impl ColumnKind {
    fn from_decl(decl: Option<&str>) -> ColumnKind {
        let Some(decl) = decl else {
            return ColumnKind::Plain;
        };
        let has = |word: &str| {
            decl.as_bytes()
                .windows(word.len())
                .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
        };
        if has("BOOL") {
            ColumnKind::Bool
        } else if has("JSON") {
            ColumnKind::Json
        } else if has("TIMESTAMP") || has("DATETIME") {
            ColumnKind::Timestamp
        } else {
            ColumnKind::Plain
        }
    }
}

fn decode(v: ValueRef<'_>, kind: ColumnKind, column: &str) -> Result<Value, Error> {
    let text = |t: &[u8]| String::from_utf8(t.to_vec()).map_err(|e| Error::decode(column, e));
    Ok(match (v, kind) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), ColumnKind::Bool) => Value::Bool(i != 0),
        (ValueRef::Integer(i), ColumnKind::Json) => Value::Json(i.into()),
        (ValueRef::Real(f), ColumnKind::Json) => {
            Value::Json(serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into))
        }
        (ValueRef::Text(t), ColumnKind::Json) => match serde_json::from_slice(t) {
            Ok(j) => Value::Json(j),
            Err(_) => Value::Text(text(t)?),
        },
        (ValueRef::Text(t), ColumnKind::Timestamp) => {
            let s = text(t)?;
            parse_timestamp(&s).map_or(Value::Text(s), Value::Timestamp)
        }
        (ValueRef::Integer(i), _) => Value::Int(i),
        (ValueRef::Real(f), _) => Value::Float(f),
        (ValueRef::Text(t), _) => Value::Text(text(t)?),
        (ValueRef::Blob(b), _) => Value::Bytes(b.to_vec()),
    })
}

/// Parses RFC 3339 (`2024-06-01T12:00:00.5Z`, `...+02:00`) or an offset-less SQLite time
/// (`2024-06-01 12:00:00`, read as UTC, as `CURRENT_TIMESTAMP` writes it).
pub(crate) fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    let civil = s.parse::<jiff::civil::DateTime>().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Owned;
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Owned(Owned::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Json(j) => ToSqlOutput::Owned(Owned::Text(j.to_string())),
            Value::Timestamp(t) => ToSqlOutput::Owned(Owned::Text(timestamp_text(t))),
        })
    }
}

/// Classifies a rusqlite error.
pub(crate) fn sqlite_err(e: rusqlite::Error) -> Error {
    let Some(failure) = e.sqlite_error() else {
        return Error::Query { source: e.into() };
    };
    match failure.code {
        ErrorCode::ConstraintViolation => {
            let kind = match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    ConstraintKind::Unique
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ConstraintKind::ForeignKey,
                ffi::SQLITE_CONSTRAINT_NOTNULL => ConstraintKind::NotNull,
                ffi::SQLITE_CONSTRAINT_CHECK => ConstraintKind::Check,
                _ => ConstraintKind::Other,
            };
            // "UNIQUE constraint failed: users.email" -> "users.email"
            let constraint = match &e {
                rusqlite::Error::SqliteFailure(_, Some(msg)) => {
                    msg.split_once(": ").map(|(_, detail)| detail.to_owned())
                }
                _ => None,
            };
            Error::Constraint {
                kind,
                constraint,
                source: e.into(),
            }
        }
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen => {
            Error::unavailable(e)
        }
        _ => Error::Query { source: e.into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_pick_the_decoder() {
        assert_eq!(ColumnKind::from_decl(Some("BOOLEAN")), ColumnKind::Bool);
        assert_eq!(ColumnKind::from_decl(Some("bool")), ColumnKind::Bool);
        assert_eq!(ColumnKind::from_decl(Some("JSONB")), ColumnKind::Json);
        assert_eq!(
            ColumnKind::from_decl(Some("timestamptz")),
            ColumnKind::Timestamp
        );
        assert_eq!(
            ColumnKind::from_decl(Some("DATETIME")),
            ColumnKind::Timestamp
        );
        assert_eq!(ColumnKind::from_decl(Some("INTEGER")), ColumnKind::Plain);
        assert_eq!(ColumnKind::from_decl(None), ColumnKind::Plain);
    }

    #[test]
    fn timestamps_parse_in_rfc3339_and_sqlite_forms() {
        let t: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
        assert_eq!(parse_timestamp("2024-06-01T12:00:00Z"), Some(t));
        assert_eq!(parse_timestamp("2024-06-01T14:00:00+02:00"), Some(t));
        assert_eq!(parse_timestamp("2024-06-01 12:00:00"), Some(t));
        assert_eq!(parse_timestamp("2024-06-01T12:00:00.000000Z"), Some(t));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn stored_timestamps_sort_as_text() {
        let a: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
        let b: jiff::Timestamp = "2024-06-01T12:00:00.5Z".parse().unwrap();
        assert_eq!(timestamp_text(&a), "2024-06-01T12:00:00.000000Z");
        assert!(timestamp_text(&a) < timestamp_text(&b));
    }
}
