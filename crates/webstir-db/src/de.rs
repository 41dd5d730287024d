//! serde deserializers over rows and values, so rows convert straight into user types.

use std::fmt;

use serde::de::value::{SeqDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use crate::row::Row;
use crate::value::Value;

/// Conversion error (becomes the source of [`Error::Deserialize`](crate::Error::Deserialize) or
/// [`Error::Decode`](crate::Error::Decode)).
#[derive(Debug)]
pub(crate) struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }
}

fn json_err(e: serde_json::Error) -> DeError {
    DeError(e.to_string())
}

/// Deserializes one [`Value`].
pub(crate) struct ValueDeserializer<'de> {
    value: &'de Value,
}

impl<'de> ValueDeserializer<'de> {
    pub(crate) fn new(value: &'de Value) -> Self {
        ValueDeserializer { value }
    }

    /// Text that the caller wants as a structure: parse it as JSON (SQLite stores JSON as text).
    fn text_as_json<V: Visitor<'de>>(
        s: &str,
        visitor: V,
        f: impl FnOnce(serde_json::Value, V) -> Result<V::Value, serde_json::Error>,
    ) -> Result<V::Value, DeError> {
        let json: serde_json::Value = serde_json::from_str(s).map_err(json_err)?;
        f(json, visitor).map_err(json_err)
    }
}

macro_rules! numeric_from_text {
    ($($method:ident => $visit:ident as $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.value {
                Value::Text(s) => match s.trim().parse::<$t>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(de::Error::invalid_value(de::Unexpected::Str(s), &visitor)),
                },
                _ => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Text(s) => visitor.visit_borrowed_str(s),
            Value::Bytes(b) => visitor.visit_seq(SeqDeserializer::new(b.iter().copied())),
            Value::Json(j) => de::Deserializer::deserialize_any(j, visitor).map_err(json_err),
            Value::Timestamp(t) => visitor.visit_string(t.to_string()),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            Value::Json(serde_json::Value::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Int(0) => visitor.visit_bool(false),
            Value::Int(1) => visitor.visit_bool(true),
            _ => self.deserialize_any(visitor),
        }
    }

    numeric_from_text! {
        deserialize_i8 => visit_i64 as i64,
        deserialize_i16 => visit_i64 as i64,
        deserialize_i32 => visit_i64 as i64,
        deserialize_i64 => visit_i64 as i64,
        deserialize_u8 => visit_u64 as u64,
        deserialize_u16 => visit_u64 as u64,
        deserialize_u32 => visit_u64 as u64,
        deserialize_u64 => visit_u64 as u64,
        deserialize_f32 => visit_f64 as f64,
        deserialize_f64 => visit_f64 as f64,
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Value::Text(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Text(s) => {
                Self::text_as_json(s, visitor, |j, v| de::Deserializer::deserialize_seq(j, v))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::Text(s) => Self::text_as_json(s, visitor, |j, v| {
                de::Deserializer::deserialize_tuple(j, len, v)
            }),
            Value::Json(j) => {
                de::Deserializer::deserialize_tuple(j, len, visitor).map_err(json_err)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Text(s) => {
                Self::text_as_json(s, visitor, |j, v| de::Deserializer::deserialize_map(j, v))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::Text(s) => Self::text_as_json(s, visitor, |j, v| {
                de::Deserializer::deserialize_struct(j, name, fields, v)
            }),
            Value::Json(j) => {
                de::Deserializer::deserialize_struct(j, name, fields, visitor).map_err(json_err)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::Text(s) => {
                let d: StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
                visitor.visit_enum(d)
            }
            Value::Json(j) => {
                de::Deserializer::deserialize_enum(j, name, variants, visitor).map_err(json_err)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        i128 u128 char str string unit_struct tuple_struct identifier ignored_any
    }
}

/// Deserializes a [`Row`]: as a map by default, as a sequence for tuples, and as its only value for scalars.
pub(crate) struct RowDeserializer<'de> {
    row: &'de Row,
}

impl<'de> RowDeserializer<'de> {
    pub(crate) fn new(row: &'de Row) -> Self {
        RowDeserializer { row }
    }

    fn single(&self) -> Result<ValueDeserializer<'de>, DeError> {
        match self.row.values() {
            [only] => Ok(ValueDeserializer::new(only)),
            values => Err(DeError(format!(
                "expected a row with exactly one column for a single value, got {} columns",
                values.len()
            ))),
        }
    }
}

macro_rules! single_column {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.single()?.$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for RowDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(RowMap {
            columns: self.row.columns().iter(),
            values: self.row.values().iter(),
            next: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // `SELECT settings FROM prefs` into `Settings`: one JSON (or text) column that is not one of the
        // struct's fields is the struct itself.
        if let ([column], [value @ (Value::Json(_) | Value::Text(_))]) =
            (self.row.columns(), self.row.values())
            && !fields.contains(&column.as_str())
        {
            return ValueDeserializer::new(value).deserialize_struct(name, fields, visitor);
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(RowSeq {
            values: self.row.values().iter(),
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.row.values() {
            [only] => ValueDeserializer::new(only).deserialize_option(visitor),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    single_column! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128 deserialize_f32
        deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct RowMap<'de> {
    columns: std::slice::Iter<'de, String>,
    values: std::slice::Iter<'de, Value>,
    next: Option<(&'de str, &'de Value)>,
}

impl<'de> de::MapAccess<'de> for RowMap<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match (self.columns.next(), self.values.next()) {
            (Some(c), Some(v)) => {
                self.next = Some((c, v));
                let d: StrDeserializer<'_, DeError> = c.as_str().into_deserializer();
                seed.deserialize(d).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let (column, value) = self
            .next
            .take()
            .ok_or_else(|| DeError("value requested before key".to_owned()))?;
        seed.deserialize(ValueDeserializer::new(value))
            .map_err(|e| DeError(format!("column `{column}`: {e}")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}

struct RowSeq<'de> {
    values: std::slice::Iter<'de, Value>,
}

impl<'de> de::SeqAccess<'de> for RowSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.values.next() {
            Some(v) => seed.deserialize(ValueDeserializer::new(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}
