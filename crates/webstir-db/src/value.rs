//! Parameter and column values.

use jiff::Timestamp;
use serde::Serialize;

/// One SQL value: a statement parameter or a column of a [`Row`](crate::Row).
///
/// Build parameters with [`params!`](crate::params) (which calls `Value::from` on each argument) or with the
/// `From` impls directly; references work too (`params![&user.id, &user.email]`). `Option<T>` binds `None` as
/// `NULL`. There is no `From<u64>`/`From<usize>` (they may not fit); convert with `i64::try_from`.
///
/// How values are stored:
///
/// | Value | SQLite | PostgreSQL |
/// |---|---|---|
/// | `Null` | `NULL` | `NULL` |
/// | `Bool` | integer 0/1 (read back as `Bool` from a `BOOLEAN` column) | `boolean` |
/// | `Int` | integer | any integer or numeric type |
/// | `Float` | real | `double precision`, `real`, `numeric` |
/// | `Text` | text | any type that accepts text input (`text`, `varchar`, `uuid`, `date`, enums, ...) |
/// | `Bytes` | blob | `bytea` |
/// | `Json` | JSON text (read back as `Json` from a `JSON`/`JSONB` column) | `json`, `jsonb` |
/// | `Timestamp` | RFC 3339 text, UTC, microseconds (read back as `Timestamp` from a `TIMESTAMP`/`TIMESTAMPTZ`/`DATETIME` column) | `timestamptz` |
///
/// ```
/// use webstir_db::Value;
/// assert_eq!(Value::from(42), Value::Int(42));
/// assert_eq!(Value::from(None::<&str>), Value::Null);
/// let email = Some(String::from("ada@example.com"));
/// assert_eq!(Value::from(&email), Value::Text("ada@example.com".into()));
/// assert_eq!(Value::from("ada").to_json(), serde_json::json!("ada"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// Text.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A JSON document.
    Json(serde_json::Value),
    /// A point in time (microsecond precision is kept by both engines).
    Timestamp(Timestamp),
}

impl Value {
    /// Whether this is `Null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Converts into a JSON value: timestamps become RFC 3339 strings, bytes an array of numbers, non-finite
    /// floats `null`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Bytes(b) => {
                serde_json::Value::Array(b.iter().map(|&x| serde_json::Value::from(x)).collect())
            }
            Value::Json(j) => j.clone(),
            Value::Timestamp(t) => serde_json::Value::String(t.to_string()),
        }
    }
}

/// The text form used to store a timestamp: RFC 3339, UTC, always six fractional digits, so that text ordering
/// is time ordering on SQLite.
pub(crate) fn timestamp_text(t: &Timestamp) -> String {
    format!("{t:.6}")
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(_) => s.serialize_none(),
            Value::Text(t) => s.serialize_str(t),
            Value::Bytes(b) => b.serialize(s),
            Value::Json(j) => j.serialize(s),
            Value::Timestamp(t) => s.collect_str(t),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(i64::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v)
    }
}

impl From<Timestamp> for Value {
    fn from(v: Timestamp) -> Self {
        Value::Timestamp(v)
    }
}

macro_rules! from_ref {
    ($($t:ty),*) => {$(
        impl From<&$t> for Value {
            fn from(v: &$t) -> Self {
                Value::from(*v)
            }
        }
    )*};
}
from_ref!(
    i8, i16, i32, i64, u8, u16, u32, bool, f32, f64, Timestamp, &str
);

impl From<&Vec<u8>> for Value {
    fn from(v: &Vec<u8>) -> Self {
        Value::Bytes(v.clone())
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        Value::Json(v.clone())
    }
}

impl<T: Clone + Into<Value>> From<&Option<T>> for Value {
    fn from(v: &Option<T>) -> Self {
        v.clone().map_or(Value::Null, Into::into)
    }
}

impl From<&Value> for Value {
    fn from(v: &Value) -> Self {
        v.clone()
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a parameter list (`&[Value]`) for [`Db::query`](crate::Db::query) and friends.
///
/// Each argument goes through [`Value::from`]; the result is a slice borrowed for the rest of the statement, so
/// use it directly as an argument.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webstir_db::{Db, params};
/// let db = Db::connect(":memory:", std::path::Path::new("."))?;
/// let name = String::from("Ada");
/// let row = db.query("SELECT ? AS name, ? AS age, ? AS missing", params![&name, 36, None::<i64>]).await?;
/// assert_eq!(row[0].get::<String>("name")?, "Ada");
/// db.query("SELECT 1", params![]).await?;
/// # Ok::<(), webstir_db::Error>(())
/// # }).unwrap();
/// ```
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[$crate::Value]
    };
    ($($value:expr),+ $(,)?) => {
        &[$($crate::Value::from($value)),+] as &[$crate::Value]
    };
}
