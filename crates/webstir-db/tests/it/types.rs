//! Placeholders and value round trips.

use serde::Deserialize;
use serde_json::json;
use webstir_db::{Error, Value, params};

use crate::util::{Kind, TestDb};

crate::engine_tests!(
    placeholders_skip_literals_and_comments,
    every_type_round_trips_including_nulls,
    timestamps_bind_compare_and_order,
    rows_convert_to_maps_structs_tuples_and_scalars,
    query_one_and_optional,
    json_and_booleans_from_expressions,
    parameter_count_is_checked,
    transaction_control_is_rejected_outside_transactions,
    ping_answers,
);

async fn placeholders_skip_literals_and_comments(t: TestDb) {
    let db = &t.db;
    db.execute_batch(r#"CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, "odd?" TEXT)"#)
        .await
        .unwrap();
    let n = db
        .execute(
            "INSERT INTO notes (id, body, \"odd?\") -- is this a ? no\n\
             VALUES (?, /* nor ? this */ 'it''s ?' || ?, ?)",
            params![1, " and more", "x"],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let rows = db
        .query(
            "SELECT id, body, \"odd?\" AS odd, '?' AS literal FROM notes WHERE id = ? AND body <> 'no?' /* ? */",
            params![1],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        serde_json::Value::Object(rows[0].to_map()),
        json!({"id": 1, "body": "it's ? and more", "odd": "x", "literal": "?"})
    );
    // The same parameter twice with SQLite-style numbering.
    let same: (String, String) = db
        .query_one("SELECT ?1 || '', ?1 || ''", params!["twice"])
        .await
        .unwrap();
    assert_eq!(same, ("twice".to_owned(), "twice".to_owned()));
    // Values are bound, never pasted: a hostile string is just text.
    let evil = "x'); DROP TABLE notes; --";
    db.execute(
        "INSERT INTO notes (id, body) VALUES (?, ?)",
        params![2, evil],
    )
    .await
    .unwrap();
    let body: String = db
        .query_one("SELECT body FROM notes WHERE id = ?", params![2])
        .await
        .unwrap();
    assert_eq!(body, evil);
}

const VALUES_TABLE: &str = "CREATE TABLE vals (
    id INTEGER PRIMARY KEY,
    i BIGINT, f DOUBLE PRECISION, b BOOLEAN, t TEXT, by BYTEA, ts TIMESTAMPTZ, j JSONB
)";

#[derive(Debug, PartialEq, Deserialize)]
struct Vals {
    id: i64,
    i: Option<i64>,
    f: Option<f64>,
    b: Option<bool>,
    t: Option<String>,
    by: Option<Vec<u8>>,
    ts: Option<jiff::Timestamp>,
    j: Option<serde_json::Value>,
}

async fn every_type_round_trips_including_nulls(t: TestDb) {
    let db = &t.db;
    db.execute_batch(VALUES_TABLE).await.unwrap();
    let ts: jiff::Timestamp = "2024-02-29T12:34:56.123456Z".parse().unwrap();
    let doc = json!({"a": [1, 2.5, {"b": null}], "s": "x", "t": true});
    let insert = "INSERT INTO vals (id, i, f, b, t, by, ts, j) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    db.execute(
        insert,
        params![
            1,
            i64::MAX,
            0.1,
            true,
            "héllo ✓",
            vec![0u8, 255, 1, 2],
            ts,
            doc.clone()
        ],
    )
    .await
    .unwrap();
    db.execute(
        insert,
        params![
            2,
            i64::MIN,
            -1.5e300,
            false,
            "",
            Vec::<u8>::new(),
            ts,
            json!([])
        ],
    )
    .await
    .unwrap();
    db.execute(
        insert,
        params![
            3,
            None::<i64>,
            None::<f64>,
            None::<bool>,
            None::<String>,
            None::<Vec<u8>>,
            None::<jiff::Timestamp>,
            Value::Null
        ],
    )
    .await
    .unwrap();

    let rows = db
        .query(
            "SELECT id, i, f, b, t, by, ts, j FROM vals ORDER BY id",
            params![],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].values(),
        &[
            Value::Int(1),
            Value::Int(i64::MAX),
            Value::Float(0.1),
            Value::Bool(true),
            Value::Text("héllo ✓".into()),
            Value::Bytes(vec![0, 255, 1, 2]),
            Value::Timestamp(ts),
            Value::Json(doc.clone()),
        ]
    );
    assert_eq!(
        rows[1].values()[1..5],
        [
            Value::Int(i64::MIN),
            Value::Float(-1.5e300),
            Value::Bool(false),
            Value::Text(String::new())
        ]
    );
    assert_eq!(rows[1].values()[5], Value::Bytes(Vec::new()));
    assert!(
        rows[2].values()[1..].iter().all(Value::is_null),
        "{:?}",
        rows[2]
    );

    // The same JSON map on every engine.
    assert_eq!(
        serde_json::Value::Object(rows[0].to_map()),
        json!({
            "id": 1, "i": i64::MAX, "f": 0.1, "b": true, "t": "héllo ✓", "by": [0, 255, 1, 2],
            "ts": "2024-02-29T12:34:56.123456Z", "j": doc,
        })
    );
    assert_eq!(
        serde_json::Value::Object(rows[2].to_map()),
        json!({"id": 3, "i": null, "f": null, "b": null, "t": null, "by": null, "ts": null, "j": null})
    );

    // And the same typed structs.
    let typed: Vec<Vals> = db
        .query_as("SELECT * FROM vals ORDER BY id", params![])
        .await
        .unwrap();
    assert_eq!(
        typed[0],
        Vals {
            id: 1,
            i: Some(i64::MAX),
            f: Some(0.1),
            b: Some(true),
            t: Some("héllo ✓".into()),
            by: Some(vec![0, 255, 1, 2]),
            ts: Some(ts),
            j: Some(doc),
        }
    );
    assert_eq!(
        typed[2],
        Vals {
            id: 3,
            i: None,
            f: None,
            b: None,
            t: None,
            by: None,
            ts: None,
            j: None
        }
    );

    // NULL parameters compare as NULL.
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM vals WHERE i IS NULL AND t IS NULL",
            params![],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let updated = db
        .execute(
            "UPDATE vals SET t = ? WHERE id = ?",
            params![None::<&str>, 1],
        )
        .await
        .unwrap();
    assert_eq!(updated, 1);
    assert_eq!(
        db.query_one::<Option<String>>("SELECT t FROM vals WHERE id = 1", params![])
            .await
            .unwrap(),
        None
    );
}

async fn timestamps_bind_compare_and_order(t: TestDb) {
    let db = &t.db;
    db.execute_batch("CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMPTZ NOT NULL)")
        .await
        .unwrap();
    let base: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
    let times = [
        base,
        base + jiff::SignedDuration::from_micros(1),
        base - jiff::SignedDuration::from_hours(30),
    ];
    for (i, at) in times.iter().enumerate() {
        db.execute(
            "INSERT INTO events (id, at) VALUES (?, ?)",
            params![i as i64, *at],
        )
        .await
        .unwrap();
    }
    let later: Vec<(i64, jiff::Timestamp)> = db
        .query_as(
            "SELECT id, at FROM events WHERE at >= ? ORDER BY at DESC",
            params![base],
        )
        .await
        .unwrap();
    assert_eq!(later, vec![(1, times[1]), (0, times[0])]);
    let first: jiff::Timestamp = db
        .query_one("SELECT at FROM events ORDER BY at LIMIT 1", params![])
        .await
        .unwrap();
    assert_eq!(first, times[2]);
}

#[derive(Debug, PartialEq, Deserialize)]
struct Account {
    id: i64,
    email: String,
    active: bool,
    nickname: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    Admin,
    Member,
}

async fn rows_convert_to_maps_structs_tuples_and_scalars(t: TestDb) {
    let db = &t.db;
    db.execute_batch(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, active BOOLEAN NOT NULL, \
         nickname TEXT, role TEXT NOT NULL)",
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO accounts (id, email, active, nickname, role) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)",
        params![1, "ada@example.com", true, "ada", "admin", 2, "bob@example.com", false, None::<&str>, "member"],
    )
    .await
    .unwrap();

    let accounts: Vec<Account> = db
        .query_as(
            "SELECT id, email, active, nickname FROM accounts ORDER BY id",
            params![],
        )
        .await
        .unwrap();
    assert_eq!(
        accounts,
        vec![
            Account {
                id: 1,
                email: "ada@example.com".into(),
                active: true,
                nickname: Some("ada".into())
            },
            Account {
                id: 2,
                email: "bob@example.com".into(),
                active: false,
                nickname: None
            },
        ]
    );
    let pairs: Vec<(i64, String)> = db
        .query_as("SELECT id, email FROM accounts ORDER BY id", params![])
        .await
        .unwrap();
    assert_eq!(pairs[1], (2, "bob@example.com".to_owned()));
    let roles: Vec<Role> = db
        .query_as("SELECT role FROM accounts ORDER BY id", params![])
        .await
        .unwrap();
    assert_eq!(roles, vec![Role::Admin, Role::Member]);
    let count: i64 = db
        .query_one("SELECT count(*) FROM accounts", params![])
        .await
        .unwrap();
    assert_eq!(count, 2);
    let total: i64 = db
        .query_one("SELECT sum(id) FROM accounts", params![])
        .await
        .unwrap();
    assert_eq!(total, 3);
    let maps: Vec<serde_json::Map<String, serde_json::Value>> = db
        .query_as("SELECT id, active FROM accounts ORDER BY id", params![])
        .await
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(maps[0].clone()),
        json!({"id": 1, "active": true})
    );

    let rows = db
        .query("SELECT id, email FROM accounts WHERE id = ?", params![1])
        .await
        .unwrap();
    assert_eq!(rows[0].columns(), ["id", "email"]);
    assert_eq!(rows[0].get::<String>("email").unwrap(), "ada@example.com");
    assert!(matches!(
        rows[0].get::<String>("missing"),
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        rows[0].get::<i64>("email"),
        Err(Error::Decode { .. })
    ));
    // A whole row serializes as an object (what a handler returns as JSON).
    assert_eq!(
        serde_json::to_value(&rows[0]).unwrap(),
        json!({"id": 1, "email": "ada@example.com"})
    );
    // A struct that does not fit is a typed error, not a panic.
    let err = db
        .query_as::<Account>("SELECT id FROM accounts", params![])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Deserialize { .. }), "{err:?}");
}

async fn query_one_and_optional(t: TestDb) {
    let db = &t.db;
    db.execute_batch("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    db.execute("INSERT INTO kv (k, v) VALUES (?, ?)", params!["a", "1"])
        .await
        .unwrap();
    let found: Option<String> = db
        .query_optional("SELECT v FROM kv WHERE k = ?", params!["a"])
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("1"));
    let none: Option<String> = db
        .query_optional("SELECT v FROM kv WHERE k = ?", params!["zz"])
        .await
        .unwrap();
    assert_eq!(none, None);
    let err = db
        .query_one::<String>("SELECT v FROM kv WHERE k = ?", params!["zz"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoRows), "{err:?}");
    // RETURNING works through query on both engines.
    let id: String = db
        .query_one(
            "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k",
            params!["b", "2"],
        )
        .await
        .unwrap();
    assert_eq!(id, "b");
    assert_eq!(db.execute("DELETE FROM kv", params![]).await.unwrap(), 2);
}

async fn json_and_booleans_from_expressions(t: TestDb) {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Settings {
        theme: String,
        size: i64,
    }
    let db = &t.db;
    db.execute_batch(
        "CREATE TABLE prefs (id INTEGER PRIMARY KEY, settings JSONB NOT NULL, flag BOOLEAN)",
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO prefs (id, settings, flag) VALUES (?, ?, ?)",
        params![1, json!({"theme": "dark", "size": 3}), true],
    )
    .await
    .unwrap();
    // A JSON column converts straight into a struct field.
    let settings: Settings = db
        .query_one("SELECT settings FROM prefs", params![])
        .await
        .unwrap();
    assert_eq!(
        settings,
        Settings {
            theme: "dark".into(),
            size: 3
        }
    );
    // Plain text holding JSON converts too (an expression has no declared type on SQLite).
    let from_text: Settings = db
        .query_one("SELECT ? AS s", params![r#"{"theme":"light","size":1}"#])
        .await
        .unwrap();
    assert_eq!(from_text.theme, "light");
    // Integer 0/1 reads as bool.
    let flag: bool = db.query_one("SELECT 1 AS f", params![]).await.unwrap();
    assert!(flag);
    let filtered: i64 = db
        .query_one("SELECT count(*) FROM prefs WHERE flag = ?", params![true])
        .await
        .unwrap();
    assert_eq!(filtered, 1);
}

async fn parameter_count_is_checked(t: TestDb) {
    let err =
        t.db.query("SELECT ? AS a, ? AS b", params![1])
            .await
            .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 2,
                given: 1
            }
        ),
        "{err:?}"
    );
    let err = t.db.query("SELECT 1 AS a", params![1]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 0,
                given: 1
            }
        ),
        "{err:?}"
    );
    let err = t.db.query("SELEKT 1", params![]).await.unwrap_err();
    assert!(matches!(err, Error::Query { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
}

async fn transaction_control_is_rejected_outside_transactions(t: TestDb) {
    for sql in [
        "BEGIN",
        "begin immediate",
        "COMMIT",
        "ROLLBACK",
        "START TRANSACTION",
    ] {
        if t.kind != Kind::Postgres && sql.starts_with("START") {
            continue;
        }
        let err = t.db.execute(sql, params![]).await.unwrap_err();
        assert!(matches!(err, Error::TransactionControl), "{sql}: {err:?}");
        let err = t.db.execute_batch(sql).await.unwrap_err();
        assert!(matches!(err, Error::TransactionControl), "{sql}: {err:?}");
    }
    // A script that opens a transaction further down is not left open.
    let sneaky =
        t.db.execute_batch("CREATE TABLE sneaky (x INTEGER); BEGIN; INSERT INTO sneaky VALUES (1)")
            .await;
    match t.kind {
        // SQLite notices and says so; PostgreSQL rolls back what the script left open.
        Kind::Postgres => sneaky.unwrap(),
        _ => assert!(
            matches!(sneaky, Err(Error::TransactionControl)),
            "{sneaky:?}"
        ),
    }
    t.db.execute_batch("CREATE TABLE IF NOT EXISTS sneaky (x INTEGER)")
        .await
        .unwrap();
    let n: i64 =
        t.db.query_one("SELECT count(*) FROM sneaky", params![])
            .await
            .unwrap();
    assert_eq!(n, 0);
    // The handle still works afterwards (no connection was left inside a transaction).
    t.db.execute_batch("CREATE TABLE after (x INTEGER)")
        .await
        .unwrap();
    t.db.execute("INSERT INTO after (x) VALUES (?)", params![1])
        .await
        .unwrap();
    t.db.transaction(|tx| async move {
        tx.execute("INSERT INTO after (x) VALUES (2)", params![])
            .await
    })
    .await
    .unwrap();
    let n: i64 = t
        .reconnect()
        .query_one("SELECT count(*) FROM after", params![])
        .await
        .unwrap();
    assert_eq!(n, 2);
}

async fn ping_answers(t: TestDb) {
    t.db.ping().await.unwrap();
    t.db.ping().await.unwrap();
}
