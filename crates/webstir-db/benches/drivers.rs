//! Rough driver/threading measurements behind the design in `README.md`.
//!
//! `cargo bench -p webstir-db --bench drivers` (SQLite only), or with
//! `WEBSTIR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres` for the PostgreSQL rows too.
//! `BENCH_SECS` (default 3) sets the length of one round; rounds of all cases are interleaved three times and
//! the median is printed. 64 tasks on a 2-worker tokio runtime, no HTTP.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webstir_db::{Db, params};

const TASKS: usize = 64;
const ROWS: i64 = 1000;

type Op = Arc<dyn Fn(i64) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

struct Case {
    name: &'static str,
    op: Op,
    results: Vec<(f64, u64, u64)>,
}

fn op<F, Fut>(f: F) -> Op
where
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |i| Box::pin(f(i)))
}

/// Runs `op` from 64 tasks for `secs`; returns (ops/s, p50 µs, p99 µs).
async fn measure(op: &Op, secs: u64) -> (f64, u64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let (op, stop, count) = (Arc::clone(op), Arc::clone(&stop), Arc::clone(&count));
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t as i64;
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                op(i % ROWS + 1).await;
                lat.push(start.elapsed().as_micros() as u64);
                i += 7;
                // One op = one request: give the scheduler (and its timer) a turn, as a server would.
                tokio::task::yield_now().await;
            }
            count.fetch_add(lat.len() as u64, Ordering::Relaxed);
            lat
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    (
        count.load(Ordering::Relaxed) as f64 / elapsed,
        pct(0.5),
        pct(0.99),
    )
}

fn setup_sqlite(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0);",
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 1..=ROWS {
        tx.execute(
            "INSERT OR IGNORE INTO items (id, name) VALUES (?1, ?2)",
            rusqlite::params![i, format!("item {i}")],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn raw_conn(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("PRAGMA synchronous = NORMAL").unwrap();
    conn
}

fn raw_read(conn: &rusqlite::Connection, id: i64) {
    let mut stmt = conn
        .prepare_cached("SELECT id, name FROM items WHERE id = ?1")
        .unwrap();
    let row: (i64, String) = stmt
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    std::hint::black_box(row);
}

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.sqlite");

        // Cold start: connect + first read.
        let start = Instant::now();
        let db = Db::connect(&format!("file:{}", path.display()), dir.path()).unwrap();
        let connect = start.elapsed();
        setup_sqlite(&path);
        let start = Instant::now();
        db.query("SELECT id, name FROM items WHERE id = ?", params![1]).await.unwrap();
        println!("sqlite Db::connect (new file) {connect:?}, first query {:?}", start.elapsed());
        let start = Instant::now();
        let again = Db::connect(&format!("file:{}", path.display()), dir.path()).unwrap();
        let connect = start.elapsed();
        let start = Instant::now();
        again.query("SELECT id, name FROM items WHERE id = ?", params![1]).await.unwrap();
        println!("sqlite Db::connect (existing file) {connect:?}, first query {:?}", start.elapsed());
        drop(again);

        // Per-call overhead without scheduling noise: one task, sequential calls.
        {
            const N: u32 = 200_000;
            let conn = raw_conn(&path);
            let (mut best_raw, mut best_ours) = (Duration::MAX, Duration::MAX);
            for _ in 0..7 {
                let start = Instant::now();
                for i in 0..N {
                    raw_read(&conn, i64::from(i) % ROWS + 1);
                }
                let raw = start.elapsed() / N;
                let start = Instant::now();
                for i in 0..N {
                    let id = i64::from(i) % ROWS + 1;
                    let rows = db.query("SELECT id, name FROM items WHERE id = ?", params![id]).await;
                    std::hint::black_box(rows.unwrap());
                }
                let ours = start.elapsed() / N;
                best_raw = best_raw.min(raw);
                best_ours = best_ours.min(ours);
            }
            println!("sequential sqlite point read (best of 7 x {N}): raw rusqlite {best_raw:?}/op, webstir Db::query {best_ours:?}/op");
        }

        if std::env::var_os("BENCH_SEQUENTIAL_ONLY").is_some() {
            return;
        }
        let mut cases = Vec::new();
        {
            let path = path.clone();
            thread_local! { static CONN: RefCell<Option<rusqlite::Connection>> = const { RefCell::new(None) }; }
            cases.push(Case {
                name: "sqlite read: raw rusqlite inline (connection per worker)",
                op: op(move |id| {
                    CONN.with(|c| {
                        let mut c = c.borrow_mut();
                        raw_read(c.get_or_insert_with(|| raw_conn(&path)), id);
                    });
                    async {}
                }),
                results: Vec::new(),
            });
        }
        {
            let db = db.clone();
            cases.push(Case {
                name: "sqlite read: webstir Db::query (inline, reader pool)",
                op: op(move |id| {
                    let db = db.clone();
                    async move {
                        let rows = db.query("SELECT id, name FROM items WHERE id = ?", params![id]).await.unwrap();
                        std::hint::black_box(rows);
                    }
                }),
                results: Vec::new(),
            });
        }
        {
            let pool: Arc<Mutex<Vec<rusqlite::Connection>>> = Arc::new(Mutex::new(Vec::new()));
            let path = path.clone();
            cases.push(Case {
                name: "sqlite read: rusqlite via spawn_blocking per query",
                op: op(move |id| {
                    let (pool, path) = (Arc::clone(&pool), path.clone());
                    async move {
                        tokio::task::spawn_blocking(move || {
                            let conn = pool.lock().unwrap().pop().unwrap_or_else(|| raw_conn(&path));
                            raw_read(&conn, id);
                            pool.lock().unwrap().push(conn);
                        })
                        .await
                        .unwrap();
                    }
                }),
                results: Vec::new(),
            });
        }
        {
            let db = db.clone();
            cases.push(Case {
                name: "sqlite write: webstir Db::execute (writer thread)",
                op: op(move |id| {
                    let db = db.clone();
                    async move {
                        db.execute("UPDATE items SET n = n + 1 WHERE id = ?", params![id]).await.unwrap();
                    }
                }),
                results: Vec::new(),
            });
        }
        {
            let conn = Arc::new(Mutex::new(raw_conn(&path)));
            cases.push(Case {
                name: "sqlite write: raw rusqlite inline under a mutex (blocks the worker)",
                op: op(move |id| {
                    let c = conn.lock().unwrap();
                    c.prepare_cached("UPDATE items SET n = n + 1 WHERE id = ?1").unwrap().execute([id]).unwrap();
                    async {}
                }),
                results: Vec::new(),
            });
        }
        {
            let conn = Arc::new(Mutex::new(raw_conn(&path)));
            cases.push(Case {
                name: "sqlite write: rusqlite via spawn_blocking under a mutex",
                op: op(move |id| {
                    let conn = Arc::clone(&conn);
                    async move {
                        tokio::task::spawn_blocking(move || {
                            let c = conn.lock().unwrap();
                            c.prepare_cached("UPDATE items SET n = n + 1 WHERE id = ?1").unwrap().execute([id]).unwrap();
                        })
                        .await
                        .unwrap();
                    }
                }),
                results: Vec::new(),
            });
        }
        {
            let db = db.clone();
            cases.push(Case {
                name: "sqlite tx: webstir Db::transaction (read + write)",
                op: op(move |id| {
                    let db = db.clone();
                    async move {
                        db.transaction(|tx| async move {
                            let n: i64 = tx.query_one("SELECT n FROM items WHERE id = ?", params![id]).await?;
                            tx.execute("UPDATE items SET n = ? WHERE id = ?", params![n + 1, id]).await
                        })
                        .await
                        .unwrap();
                    }
                }),
                results: Vec::new(),
            });
        }

        if let Ok(url) = std::env::var("WEBSTIR_TEST_POSTGRES_URL") {
            let schema = format!("bench_{}", std::process::id());
            let (admin, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            admin
                .batch_execute(&format!(
                    "CREATE SCHEMA {schema};
                     CREATE TABLE {schema}.items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, n BIGINT NOT NULL DEFAULT 0);
                     INSERT INTO {schema}.items (id, name) SELECT i, 'item ' || i FROM generate_series(1, {ROWS}) i;"
                ))
                .await
                .unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");

            let start = Instant::now();
            let pg = Db::connect(&scoped, dir.path()).unwrap();
            let connect = start.elapsed();
            let start = Instant::now();
            pg.query("SELECT id, name FROM items WHERE id = ?", params![1]).await.unwrap();
            println!("postgres Db::connect {connect:?}, first query (connects) {:?}", start.elapsed());

            let (client, conn) = tokio_postgres::connect(&scoped, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let client = Arc::new(client);
            let stmt = client.prepare("SELECT id, name FROM items WHERE id = $1").await.unwrap();
            cases.push(Case {
                name: "postgres read: raw tokio-postgres shared client, prepared",
                op: op(move |id| {
                    let (client, stmt) = (Arc::clone(&client), stmt.clone());
                    async move {
                        let row = client.query_one(&stmt, &[&id]).await.unwrap();
                        std::hint::black_box((row.get::<_, i64>(0), row.get::<_, String>(1)));
                    }
                }),
                results: Vec::new(),
            });
            {
                let pg = pg.clone();
                cases.push(Case {
                    name: "postgres read: webstir Db::query (shared pipelined client)",
                    op: op(move |id| {
                        let pg = pg.clone();
                        async move {
                            let rows = pg.query("SELECT id, name FROM items WHERE id = ?", params![id]).await.unwrap();
                            std::hint::black_box(rows);
                        }
                    }),
                    results: Vec::new(),
                });
            }
            {
                let pg = pg.clone();
                cases.push(Case {
                    name: "postgres tx: webstir Db::transaction (read + write)",
                    op: op(move |id| {
                        let pg = pg.clone();
                        async move {
                            pg.transaction(|tx| async move {
                                let n: i64 =
                                    tx.query_one("SELECT n FROM items WHERE id = ? FOR UPDATE", params![id]).await?;
                                tx.execute("UPDATE items SET n = ? WHERE id = ?", params![n + 1, id]).await
                            })
                            .await
                            .unwrap();
                        }
                    }),
                    results: Vec::new(),
                });
            }
            {
                // Raw reference for transactions: 8 dedicated connections, BEGIN .. COMMIT by hand.
                let mut conns = Vec::new();
                for _ in 0..8 {
                    let (client, conn) = tokio_postgres::connect(&scoped, tokio_postgres::NoTls).await.unwrap();
                    tokio::spawn(conn);
                    conns.push(client);
                }
                let pool = Arc::new(tokio::sync::Mutex::new(conns));
                let slots = Arc::new(tokio::sync::Semaphore::new(8));
                cases.push(Case {
                    name: "postgres tx: raw tokio-postgres, pool of 8 (read + write)",
                    op: op(move |id| {
                        let (pool, slots) = (Arc::clone(&pool), Arc::clone(&slots));
                        async move {
                            let _permit = slots.acquire().await.unwrap();
                            let mut client = pool.lock().await.pop().unwrap();
                            let tx = client.transaction().await.unwrap();
                            let row = tx.query_one("SELECT n FROM items WHERE id = $1 FOR UPDATE", &[&id]).await.unwrap();
                            let n: i64 = row.get(0);
                            tx.execute("UPDATE items SET n = $1 WHERE id = $2", &[&(n + 1), &id]).await.unwrap();
                            tx.commit().await.unwrap();
                            pool.lock().await.push(client);
                        }
                    }),
                    results: Vec::new(),
                });
            }
            let cleanup = format!("DROP SCHEMA {schema} CASCADE");
            run_cases(&mut cases, secs).await;
            admin.batch_execute(&cleanup).await.unwrap();
        } else {
            println!("(WEBSTIR_TEST_POSTGRES_URL not set: PostgreSQL cases skipped)");
            run_cases(&mut cases, secs).await;
        }
    });
}

async fn run_cases(cases: &mut [Case], secs: u64) {
    for round in 0..3 {
        for case in cases.iter_mut() {
            let r = measure(&case.op, secs).await;
            eprintln!(
                "round {round}: {:<72} {:>9.0} ops/s  p50 {:>6} µs  p99 {:>6} µs",
                case.name, r.0, r.1, r.2
            );
            case.results.push(r);
        }
    }
    println!(
        "\n{:<72} {:>10} {:>8} {:>8}",
        "case (median of 3 rounds)", "ops/s", "p50 µs", "p99 µs"
    );
    for case in cases.iter_mut() {
        case.results.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (ops, p50, p99) = case.results[1];
        println!("{:<72} {:>10.0} {:>8} {:>8}", case.name, ops, p50, p99);
    }
}
