//! The PostgreSQL engine (tokio-postgres).
//!
//! * Plain statements share **one pipelined client**: tokio-postgres multiplexes concurrent requests over one
//!   connection, so there is no pool checkout and no ping per request, and each request is exactly one
//!   statement. Prepared statements are cached per connection (keyed by the SQL as written, so the `?` → `$n`
//!   rewrite also runs once per statement).
//! * Transactions (and `execute_batch` scripts) take a **dedicated connection** from a small pool
//!   ([`TX_POOL_SIZE`]), opened on demand.
//! * When the shared connection drops (server restart, network), the next call reconnects; [`Postgres::ping`]
//!   has a deadline and discards a connection that does not answer, so readiness recovers without a restart.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use futures_util::TryStreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};

use crate::error::{BoxError, ConstraintKind, Error, Message};
use crate::exec::{Mode, Output};
use crate::placeholders;
use crate::row::Row;
use crate::value::{Value, timestamp_text};

/// Dedicated connections for transactions.
pub(crate) const TX_POOL_SIZE: usize = 8;
const STATEMENT_CACHE: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Postgres {
    config: tokio_postgres::Config,
    shared: RwLock<Option<Arc<PgConn>>>,
    connecting: tokio::sync::Mutex<()>,
    idle: Mutex<Vec<PgConn>>,
    tx_slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("host", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Prepares the engine; no connection is made until the first statement or ping.
    pub(crate) fn new(mut config: tokio_postgres::Config) -> Postgres {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("webstir");
        }
        // Notice dead peers in about a minute instead of the OS default of two hours.
        if config.get_keepalives_idle() >= Duration::from_secs(7200) {
            config.keepalives_idle(Duration::from_secs(30));
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(Duration::from_secs(10));
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(3);
        }
        Postgres {
            config,
            shared: RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
            idle: Mutex::new(Vec::new()),
            tx_slots: Arc::new(Semaphore::new(TX_POOL_SIZE)),
        }
    }

    async fn open(&self) -> Result<PgConn, Error> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(Error::unavailable)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(target: "webstir_db", error = %e, "PostgreSQL connection closed");
            }
        });
        Ok(PgConn {
            client,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn current(&self) -> Option<Arc<PgConn>> {
        let shared = self.shared.read().unwrap_or_else(PoisonError::into_inner);
        shared.as_ref().filter(|c| !c.client.is_closed()).cloned()
    }

    fn discard(&self, conn: &Arc<PgConn>) {
        let mut shared = self.shared.write().unwrap_or_else(PoisonError::into_inner);
        if shared.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            *shared = None;
        }
    }

    /// The shared pipelined connection, (re)connecting if needed.
    async fn shared(&self) -> Result<Arc<PgConn>, Error> {
        if let Some(c) = self.current() {
            return Ok(c);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(c) = self.current() {
            return Ok(c);
        }
        let conn = Arc::new(self.open().await?);
        *self.shared.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&conn));
        Ok(conn)
    }

    pub(crate) async fn run(
        &self,
        sql: &str,
        params: &[Value],
        mode: Mode,
    ) -> Result<Output, Error> {
        let conn = self.shared().await?;
        let result = conn.run(sql, params, mode, false).await;
        if result.as_ref().is_err_and(Error::is_unavailable) {
            self.discard(&conn);
        }
        result
    }

    /// Runs a script on a dedicated connection (never on the shared one, where a script that left a transaction
    /// open would swallow everyone else's statements), then rolls back anything it left open.
    pub(crate) async fn run_batch(&self, sql: &str) -> Result<(), Error> {
        if placeholders::is_transaction_control(sql, false) {
            return Err(Error::TransactionControl);
        }
        let (conn, permit, _) = self.checkout().await?;
        let result = conn.client.batch_execute(sql).await.map_err(pg_err);
        if conn.client.batch_execute("ROLLBACK").await.is_ok() {
            self.release(conn);
        }
        drop(permit);
        result
    }

    pub(crate) async fn ping(&self) -> Result<(), Error> {
        match tokio::time::timeout(PING_TIMEOUT, self.run("SELECT 1", &[], Mode::Rows)).await {
            Ok(result) => result.map(drop),
            Err(_) => {
                if let Some(conn) = self.current() {
                    self.discard(&conn); // half-open: drop it so the next call reconnects
                }
                Err(Error::unavailable(Message::from(
                    "PostgreSQL did not answer the readiness ping in time",
                )))
            }
        }
    }

    /// Starts a transaction on a dedicated connection.
    /// A dedicated connection (pooled or new) and its slot; `true` if it came from the pool.
    async fn checkout(&self) -> Result<(PgConn, OwnedSemaphorePermit, bool), Error> {
        let permit = Arc::clone(&self.tx_slots)
            .acquire_owned()
            .await
            .map_err(Error::unavailable)?;
        let pooled = {
            let mut idle = lock(&self.idle);
            idle.retain(|c| !c.client.is_closed());
            idle.pop()
        };
        match pooled {
            Some(conn) => Ok((conn, permit, true)),
            None => Ok((self.open().await?, permit, false)),
        }
    }

    /// Starts a transaction on a dedicated connection.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<PgTx, Error> {
        let mut retried = false;
        loop {
            let (conn, permit, from_pool) = self.checkout().await?;
            match conn.client.batch_execute("BEGIN").await {
                Ok(()) => {
                    return Ok(PgTx {
                        pg: Arc::clone(self),
                        conn: Some(conn),
                        permit: Some(permit),
                        finished: AtomicBool::new(false),
                    });
                }
                // A pooled connection may have died while idle (server restart): try a fresh one once.
                Err(e) if from_pool && !retried && conn.client.is_closed() => {
                    tracing::debug!(target: "webstir_db", error = %e, "dropping a dead pooled connection");
                    retried = true;
                }
                Err(e) => return Err(pg_err(e)),
            }
        }
    }

    fn release(&self, conn: PgConn) {
        if !conn.client.is_closed() {
            lock(&self.idle).push(conn);
        }
    }
}

/// A prepared statement with its result column names.
#[derive(Clone)]
struct Prepared {
    stmt: Statement,
    columns: Arc<[String]>,
}

struct PgConn {
    client: Client,
    cache: Mutex<HashMap<String, Prepared>>,
}

impl PgConn {
    async fn prepared(&self, sql: &str, in_transaction: bool) -> Result<Prepared, Error> {
        let cached = lock(&self.cache).get(sql).cloned();
        if let Some(p) = cached {
            return Ok(p);
        }
        if placeholders::is_transaction_control(sql, in_transaction) {
            return Err(Error::TransactionControl);
        }
        let rewritten = placeholders::to_postgres(sql);
        let stmt = self.client.prepare(&rewritten.sql).await.map_err(pg_err)?;
        let columns = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
        let prepared = Prepared { stmt, columns };
        let mut cache = lock(&self.cache);
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    async fn run(
        &self,
        sql: &str,
        params: &[Value],
        mode: Mode,
        in_transaction: bool,
    ) -> Result<Output, Error> {
        let prepared = self.prepared(sql, in_transaction).await?;
        match self.run_prepared(&prepared, params, mode).await {
            // The cached plan's result type changed after an ALTER: prepare again (only safe outside a
            // transaction, where the failed statement did not abort anything).
            Err(Run::Pg(e)) if !in_transaction && is_stale_plan(&e) => {
                lock(&self.cache).remove(sql);
                let prepared = self.prepared(sql, in_transaction).await?;
                self.run_prepared(&prepared, params, mode)
                    .await
                    .map_err(Run::into_error)
            }
            other => other.map_err(Run::into_error),
        }
    }

    async fn run_prepared(
        &self,
        p: &Prepared,
        params: &[Value],
        mode: Mode,
    ) -> Result<Output, Run> {
        let expected = p.stmt.params().len();
        if expected != params.len() {
            return Err(Run::Db(Error::ParamCount {
                expected,
                given: params.len(),
            }));
        }
        let binds = params.iter().map(PgParam);
        match mode {
            Mode::Execute => Ok(Output::Affected(
                self.client.execute_raw(&p.stmt, binds).await?,
            )),
            Mode::Rows => {
                let stream = self.client.query_raw(&p.stmt, binds).await?;
                let mut stream = std::pin::pin!(stream);
                let mut rows = Vec::new();
                while let Some(row) = stream.try_next().await? {
                    let mut values = Vec::with_capacity(p.columns.len());
                    for (i, name) in p.columns.iter().enumerate() {
                        let Decoded(v) = row
                            .try_get(i)
                            .map_err(|e| Run::Db(Error::decode(name, e)))?;
                        values.push(v);
                    }
                    rows.push(Row::new(Arc::clone(&p.columns), values));
                }
                Ok(Output::Rows(rows))
            }
        }
    }
}

enum Run {
    Pg(tokio_postgres::Error),
    Db(Error),
}

impl Run {
    fn into_error(self) -> Error {
        match self {
            Run::Pg(e) => pg_err(e),
            Run::Db(e) => e,
        }
    }
}

impl From<tokio_postgres::Error> for Run {
    fn from(e: tokio_postgres::Error) -> Self {
        Run::Pg(e)
    }
}

fn is_stale_plan(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED)
        && e.as_db_error().is_some_and(|d| {
            d.message()
                .contains("cached plan must not change result type")
        })
}

/// A transaction on a dedicated connection.
pub(crate) struct PgTx {
    pg: Arc<Postgres>,
    conn: Option<PgConn>,
    permit: Option<OwnedSemaphorePermit>,
    finished: AtomicBool,
}

impl PgTx {
    fn conn(&self) -> Result<&PgConn, Error> {
        self.conn.as_ref().ok_or(Error::TransactionFinished)
    }

    pub(crate) async fn run(
        &self,
        sql: &str,
        params: &[Value],
        mode: Mode,
    ) -> Result<Output, Error> {
        self.conn()?.run(sql, params, mode, true).await
    }

    pub(crate) async fn run_batch(&self, sql: &str) -> Result<(), Error> {
        if placeholders::is_transaction_control(sql, true) {
            return Err(Error::TransactionControl);
        }
        self.conn()?.client.batch_execute(sql).await.map_err(pg_err)
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    pub(crate) async fn commit(&self) -> Result<(), Error> {
        let result = self
            .conn()?
            .client
            .batch_execute("COMMIT")
            .await
            .map_err(pg_err);
        self.finished.store(true, Ordering::Release);
        result
    }

    pub(crate) async fn rollback(&self) -> Result<(), Error> {
        let result = self
            .conn()?
            .client
            .batch_execute("ROLLBACK")
            .await
            .map_err(pg_err);
        self.finished.store(true, Ordering::Release);
        result
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let (Some(conn), Some(permit)) = (self.conn.take(), self.permit.take()) else {
            return;
        };
        if self.finished.load(Ordering::Acquire) {
            self.pg.release(conn);
            drop(permit);
            return;
        }
        // Dropped by a panic or a cancelled future: roll back in the background, then reuse the connection.
        // Without a runtime the connection is simply closed, which also rolls back.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let pg = Arc::clone(&self.pg);
            handle.spawn(async move {
                if conn.client.batch_execute("ROLLBACK").await.is_ok() {
                    pg.release(conn);
                }
                drop(permit);
            });
        }
    }
}

/// Classifies a tokio-postgres error.
pub(crate) fn pg_err(e: tokio_postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        return if e.is_closed()
            || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
        {
            Error::unavailable(e)
        } else {
            Error::Query { source: e.into() }
        };
    };
    let code = db.code().code();
    let kind = match code {
        "23505" => Some(ConstraintKind::Unique),
        "23503" => Some(ConstraintKind::ForeignKey),
        "23502" => Some(ConstraintKind::NotNull),
        "23514" => Some(ConstraintKind::Check),
        "23P01" | "23000" | "23001" => Some(ConstraintKind::Other),
        _ => None,
    };
    if let Some(kind) = kind {
        let constraint = db
            .constraint()
            .map(str::to_owned)
            .or_else(|| db.column().map(str::to_owned));
        return Error::Constraint {
            kind,
            constraint,
            source: e.into(),
        };
    }
    // 08: connection exception; 57P0x: server shutting down or starting; 53: out of resources.
    if code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") {
        return Error::unavailable(e);
    }
    Error::Query { source: e.into() }
}

/// A parameter. Everything is sent in PostgreSQL's text format (the server parses it into whatever type it
/// inferred for the placeholder: `text`, `uuid`, `numeric`, `timestamptz`, an enum, ...), except bytes.
#[derive(Debug)]
struct PgParam<'a>(&'a Value);

impl ToSql for PgParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Bool(b) => {
                let integer = matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8);
                out.put_slice(match (b, integer) {
                    (true, true) => b"1",
                    (false, true) => b"0",
                    (true, false) => b"true",
                    (false, false) => b"false",
                });
            }
            Value::Int(i) => write!(out, "{i}")?,
            Value::Float(f) if f.is_nan() => out.put_slice(b"NaN"),
            Value::Float(f) if f.is_infinite() => {
                out.put_slice(if *f > 0.0 { b"Infinity" } else { b"-Infinity" });
            }
            Value::Float(f) => write!(out, "{f:?}")?,
            Value::Text(s) => out.put_slice(s.as_bytes()),
            Value::Bytes(b) => out.put_slice(b),
            Value::Json(j) => serde_json::to_writer((&mut *out).writer(), j)?,
            Value::Timestamp(t) => out.put_slice(timestamp_text(t).as_bytes()),
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self.0 {
            Value::Bytes(_) => Format::Binary,
            _ => Format::Text,
        }
    }

    to_sql_checked!();
}

/// A decoded column value (results arrive in binary format).
struct Decoded(Value);

impl<'a> FromSql<'a> for Decoded {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        decode(ty, raw).map(Decoded)
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Decoded(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn text(raw: &[u8]) -> Result<Value, BoxError> {
    Ok(Value::Text(std::str::from_utf8(raw)?.to_owned()))
}

fn decode(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    Ok(match *ty {
        Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
        Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
        Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
        Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
        Type::OID => Value::Int(u32::from_sql(ty, raw)?.into()),
        Type::FLOAT4 => Value::Float(f32::from_sql(ty, raw)?.into()),
        Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
        Type::NUMERIC => numeric(raw)?,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::CHAR => {
            text(raw)?
        }
        Type::BYTEA => Value::Bytes(raw.to_vec()),
        Type::JSON | Type::JSONB => Value::Json(serde_json::Value::from_sql(ty, raw)?),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => timestamp(raw)?,
        Type::DATE => date(raw)?,
        Type::TIME => time(raw)?,
        Type::UUID => uuid(raw)?,
        _ => match ty.kind() {
            Kind::Enum(_) => text(raw)?,
            Kind::Domain(inner) => decode(inner, raw)?,
            Kind::Array(_) => {
                let items = Vec::<Decoded>::from_sql(ty, raw)?;
                Value::Json(items.into_iter().map(|Decoded(v)| v.to_json()).collect())
            }
            _ if ty.name() == "citext" => text(raw)?,
            _ => {
                return Err(format!(
                    "PostgreSQL type `{}` is not supported; cast it in SQL (for example `::text`)",
                    ty.name()
                )
                .into());
            }
        },
    })
}

fn be_i64(raw: &[u8]) -> Result<i64, BoxError> {
    Ok(i64::from_be_bytes(
        raw.try_into().map_err(|_| "bad value length")?,
    ))
}

fn timestamp(raw: &[u8]) -> Result<Value, BoxError> {
    let us = be_i64(raw)?;
    match us {
        i64::MAX => return Ok(Value::Text("infinity".into())),
        i64::MIN => return Ok(Value::Text("-infinity".into())),
        _ => {}
    }
    let unix = us
        .checked_add(PG_EPOCH_US)
        .ok_or("timestamp out of range")?;
    Ok(Value::Timestamp(jiff::Timestamp::from_microsecond(unix)?))
}

fn date(raw: &[u8]) -> Result<Value, BoxError> {
    let days = i32::from_be_bytes(raw.try_into().map_err(|_| "bad value length")?);
    match days {
        i32::MAX => return Ok(Value::Text("infinity".into())),
        i32::MIN => return Ok(Value::Text("-infinity".into())),
        _ => {}
    }
    let d = jiff::civil::date(2000, 1, 1).checked_add(jiff::Span::new().days(i64::from(days)))?;
    Ok(Value::Text(d.to_string()))
}

fn time(raw: &[u8]) -> Result<Value, BoxError> {
    let us = be_i64(raw)?;
    let t = jiff::civil::Time::midnight().checked_add(jiff::Span::new().microseconds(us))?;
    Ok(Value::Text(t.to_string()))
}

fn uuid(raw: &[u8]) -> Result<Value, BoxError> {
    if raw.len() != 16 {
        return Err("bad uuid length".into());
    }
    let mut s = String::with_capacity(36);
    for (i, b) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        write!(s, "{b:02x}")?;
    }
    Ok(Value::Text(s))
}

/// Decodes `numeric` (base-10000 digits): an integer that fits `i64` becomes `Int`, anything else exact text.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("truncated numeric")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)?.cast_signed());
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    let digits = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<Vec<u16>, _>>()?;
    let special = match sign {
        0x0000 | 0x4000 => None,
        0xC000 => Some("NaN"),
        0xD000 => Some("Infinity"),
        0xF000 => Some("-Infinity"),
        _ => return Err("bad numeric sign".into()),
    };
    if let Some(s) = special {
        return Ok(Value::Text(s.to_owned()));
    }
    // digits[i] is worth 10000^(weight - i).
    let digit = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                write!(s, "{}", digit(i))?;
            } else {
                write!(s, "{:04}", digit(i))?;
            }
        }
    }
    if dscale > 0 {
        let mut frac = String::with_capacity(dscale + 4);
        let mut i = weight + 1;
        while frac.len() < dscale {
            write!(frac, "{:04}", digit(i))?;
            i += 1;
        }
        frac.truncate(dscale);
        s.push('.');
        s.push_str(&frac);
    }
    if dscale == 0
        && let Ok(i) = s.parse::<i64>()
    {
        return Ok(Value::Int(i));
    }
    Ok(Value::Text(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [
            u16::try_from(digits.len()).unwrap(),
            weight.cast_unsigned(),
            sign,
            dscale,
        ] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numeric_decoding() {
        // 12345.678 = 1 2345 . 6780
        assert_eq!(
            numeric(&numeric_bytes(1, 0, 3, &[1, 2345, 6780])).unwrap(),
            Value::Text("12345.678".into())
        );
        // -0.0012 = . 0012, weight -1
        assert_eq!(
            numeric(&numeric_bytes(-1, 0x4000, 4, &[12])).unwrap(),
            Value::Text("-0.0012".into())
        );
        // 0.00000001: weight -2, digit 100 (10000^-2 * 100 = 1e-6)? 1e-8 = 0000 0001 -> weight -2, digits [1]
        assert_eq!(
            numeric(&numeric_bytes(-2, 0, 8, &[1])).unwrap(),
            Value::Text("0.00000001".into())
        );
        // 10000000000 = 100 0000 0000, trailing zero groups omitted
        assert_eq!(
            numeric(&numeric_bytes(2, 0, 0, &[100])).unwrap(),
            Value::Int(10_000_000_000)
        );
        assert_eq!(
            numeric(&numeric_bytes(0, 0, 0, &[])).unwrap(),
            Value::Int(0)
        );
        assert_eq!(
            numeric(&numeric_bytes(0, 0, 2, &[])).unwrap(),
            Value::Text("0.00".into())
        );
        assert_eq!(
            numeric(&numeric_bytes(0, 0xC000, 0, &[])).unwrap(),
            Value::Text("NaN".into())
        );
        // larger than i64 stays text
        assert_eq!(
            numeric(&numeric_bytes(5, 0, 0, &[1, 0, 0, 0, 0, 0])).unwrap(),
            Value::Text("100000000000000000000".into())
        );
    }

    #[test]
    fn uuid_and_time_decoding() {
        let raw: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            uuid(&raw).unwrap(),
            Value::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into())
        );
        assert_eq!(
            date(&0i32.to_be_bytes()).unwrap(),
            Value::Text("2000-01-01".into())
        );
        assert_eq!(
            date(&(-1i32).to_be_bytes()).unwrap(),
            Value::Text("1999-12-31".into())
        );
        assert_eq!(
            time(&3_600_000_000i64.to_be_bytes()).unwrap(),
            Value::Text("01:00:00".into())
        );
        assert_eq!(
            timestamp(&0i64.to_be_bytes()).unwrap(),
            Value::Timestamp("2000-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            timestamp(&i64::MAX.to_be_bytes()).unwrap(),
            Value::Text("infinity".into())
        );
    }

    /// The encoded parameter and whether it is sent in binary format.
    fn encode(v: &Value, ty: &Type) -> (Option<String>, bool) {
        let mut out = BytesMut::new();
        let p = PgParam(v);
        let null = p.to_sql(ty, &mut out).unwrap();
        let text = matches!(null, IsNull::No).then(|| String::from_utf8_lossy(&out).into_owned());
        (text, matches!(p.encode_format(ty), Format::Binary))
    }

    #[test]
    fn params_are_encoded_as_text() {
        assert_eq!(
            encode(&Value::Int(-42), &Type::INT8),
            (Some("-42".into()), false)
        );
        assert_eq!(
            encode(&Value::Bool(true), &Type::BOOL),
            (Some("true".into()), false)
        );
        assert_eq!(
            encode(&Value::Bool(true), &Type::INT4),
            (Some("1".into()), false)
        );
        assert_eq!(
            encode(&Value::Float(0.1), &Type::FLOAT8),
            (Some("0.1".into()), false)
        );
        assert_eq!(
            encode(&Value::Float(f64::NEG_INFINITY), &Type::FLOAT8)
                .0
                .as_deref(),
            Some("-Infinity")
        );
        assert_eq!(encode(&Value::Null, &Type::TEXT).0, None);
        assert_eq!(
            encode(&Value::Json(serde_json::json!({"a": [1]})), &Type::JSONB)
                .0
                .as_deref(),
            Some(r#"{"a":[1]}"#)
        );
        assert!(encode(&Value::Bytes(vec![0x61]), &Type::BYTEA).1);
    }
}
