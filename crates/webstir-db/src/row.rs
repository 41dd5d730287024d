//! Result rows.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;

use crate::de::{RowDeserializer, ValueDeserializer};
use crate::error::{Error, Message};
use crate::value::Value;

/// One result row: column names and [`Value`]s.
///
/// A row converts into a JSON-friendly map ([`Row::to_map`], or serialize it directly) and into any
/// `DeserializeOwned` type ([`Row::deserialize`], or [`Db::query_as`](crate::Db::query_as)):
///
/// * a struct or map: columns by name;
/// * a tuple: columns by position;
/// * a single value (`i64`, `String`, `Option<T>`, ...): a row with exactly one column;
/// * a struct from a row with one JSON column that is not one of its fields (`SELECT settings FROM prefs`):
///   that column's document.
///
/// Conversions are forgiving where the engines differ: an integer 0/1 reads as `bool`, JSON stored as text reads
/// into a struct, a `numeric` (text) reads as a number.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webstir_db::{Db, params};
/// #[derive(serde::Deserialize)]
/// struct Account { id: i64, name: String, active: bool }
///
/// let db = Db::connect(":memory:", std::path::Path::new("."))?;
/// let rows = db.query("SELECT 1 AS id, 'Ada' AS name, 1 AS active", params![]).await?;
/// assert_eq!(rows[0].to_map()["name"], "Ada");
/// let account: Account = rows[0].deserialize()?;
/// assert!(account.active);
/// # Ok::<(), webstir_db::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres")),
        allow(dead_code, reason = "rows come from the engines")
    )]
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        debug_assert_eq!(columns.len(), values.len());
        Row { columns, values }
    }

    /// Column names, in result order.
    #[must_use]
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Values, in result order.
    #[must_use]
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Consumes the row, returning its values.
    #[must_use]
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The value of the first column with this name.
    #[must_use]
    pub fn value(&self, column: &str) -> Option<&Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
    }

    /// Converts one column into `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the column does not exist or does not convert.
    pub fn get<T: DeserializeOwned>(&self, column: &str) -> Result<T, Error> {
        let value = self.value(column).ok_or_else(|| {
            Error::decode(
                column,
                Message(format!("no column named `{column}` in the result")),
            )
        })?;
        T::deserialize(ValueDeserializer::new(value)).map_err(|e| Error::decode(column, e))
    }

    /// Converts the whole row into `T` (a struct, map, tuple or single value).
    ///
    /// # Errors
    ///
    /// [`Error::Deserialize`] when the row does not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(RowDeserializer::new(self)).map_err(|e| Error::Deserialize {
            source: Box::new(e),
        })
    }

    /// Converts into a JSON object (see [`Value::to_json`]).
    #[must_use]
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.columns
            .iter()
            .cloned()
            .zip(self.values.iter().map(Value::to_json))
            .collect()
    }
}

impl serde::Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (c, v) in self.columns.iter().zip(&self.values) {
            map.serialize_entry(c, v)?;
        }
        map.end()
    }
}

impl From<Row> for serde_json::Map<String, serde_json::Value> {
    fn from(row: Row) -> Self {
        row.to_map()
    }
}
