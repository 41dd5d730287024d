//! Extractors for extractor-style handlers, with typed rejections.
//!
//! Handlers can take any mix of these (and of other crates' axum extractors) as arguments; the last
//! argument may consume the body ([`Json`], [`Form`], [`Ctx`](crate::Ctx), `axum::body::Body`,
//! `String`, `Bytes`…). Every rejection is a [`crate::Error`], answered with the runtime's
//! `{"errors":[{code,message}]}` envelope and a stable code: `validation`, `invalid_json`,
//! `invalid_form`, `unsupported_media_type`, `payload_too_large`, `auth`.
//!
//! ```no_run
//! use webstir::extract::{Auth, Json, Path, Query, State};
//! use webstir::{Module, Result, Route};
//!
//! #[derive(Clone)]
//! struct Greeter { greeting: String }
//!
//! #[derive(serde::Deserialize)]
//! struct Page { limit: Option<u32> }
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct Note { text: String }
//!
//! async fn greet(Path(name): Path<String>, State(g): State<Greeter>) -> String {
//!     format!("{} {name}", g.greeting)
//! }
//!
//! async fn add_note(auth: Auth, Query(page): Query<Page>, Json(note): Json<Note>) -> Result<Json<Note>> {
//!     tracing::info!(user = ?auth.user_id, limit = ?page.limit, "note added");
//!     Ok(Json(note))
//! }
//!
//! let module = Module::new("@demo/notes", "0.1.0")
//!     .state(Greeter { greeting: "Hello".into() })
//!     .route(Route::get("/hello/:name").handler(greet))
//!     .route(Route::post("/notes").authenticated().handler(add_note));
//! # let _ = module;
//! ```

#[cfg(feature = "multipart")]
pub use crate::multipart::{Multipart, UploadedFile};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{Ctx, Scope};
use crate::error::Error;
/// The request's session (routes that declare `session` or `flash`): see [`crate::Session`].
pub use crate::session::Session;

/// How much client input an error message may echo.
const ECHO_LIMIT: usize = 48;

/// How much of a message that may quote client input (serde's, another crate's) is kept.
const MESSAGE_LIMIT: usize = 160;

/// `text` cut to at most `limit` bytes (on a character boundary), marked with `…` when cut.
fn cut(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= limit {
        return text.into();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// A short, truncated piece of client input for an error message.
pub(crate) fn echo(text: &str) -> std::borrow::Cow<'_, str> {
    cut(text, ECHO_LIMIT)
}

/// The media type of a `content-type` value (`type/subtype`, parameters dropped, trimmed).
pub(crate) fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// `application/json` or `application/*+json`, case-insensitive.
pub(crate) fn is_json_type(content_type: &str) -> bool {
    let media = media_type(content_type);
    let Some((kind, subtype)) = media.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || (subtype.len() > 5
                && subtype.is_char_boundary(subtype.len() - 5)
                && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json")))
}

pub(crate) fn unsupported(expected: &str, got: Option<&str>) -> Error {
    let got = match got {
        Some(value) if !value.is_empty() => format!("'{}'", echo(value)),
        _ => "no content-type".to_owned(),
    };
    Error::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("Expected a body with content-type: {expected}, got {got}."),
    )
}

/// A message that may quote client input, cut to `MESSAGE_LIMIT` bytes.
pub(crate) fn echo_long(text: &str) -> String {
    cut(text, MESSAGE_LIMIT).into_owned()
}

/// Serde messages can quote client input; keep only a short piece of them.
fn serde_message(err: &dyn std::fmt::Display) -> String {
    echo_long(&err.to_string())
}

/// The request's `content-type`, if any (`(not text)` when it is not visible ASCII).
fn content_type(req: &Request) -> Option<&str> {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"))
}

/// Parse a JSON body after checking its content type.
pub(crate) fn parse_json<T: DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<T, Error> {
    if !content_type.is_some_and(is_json_type) {
        return Err(unsupported("application/json", content_type));
    }
    if body.is_empty() {
        return Err(Error::bad_request(
            "invalid_json",
            "Request body is empty; expected JSON.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Error::validation(format!(
            "Request body does not match the expected shape: {}",
            serde_message(&e)
        )),
        _ => Error::bad_request(
            "invalid_json",
            format!("Request body is not valid JSON: {}", serde_message(&e)),
        ),
    })
}

/// Refuse `application/x-www-form-urlencoded` text with malformed `%` escapes or that decodes to
/// invalid UTF-8 (decoders would otherwise keep or replace those bytes silently).
pub(crate) fn check_urlencoded(input: &[u8], what: &str) -> Result<(), Error> {
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    input.get(i + 1).copied().and_then(hex),
                    input.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => decoded.push((h * 16 + l) as u8),
                    _ => {
                        return Err(Error::bad_request(
                            "invalid_form",
                            format!("The {what} has a malformed percent-escape at byte {i}."),
                        ));
                    }
                }
                i += 3;
            }
            b'&' | b'=' => {
                check_utf8(&decoded, what)?;
                decoded.clear();
                i += 1;
            }
            b => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    check_utf8(&decoded, what)
}

fn check_utf8(bytes: &[u8], what: &str) -> Result<(), Error> {
    std::str::from_utf8(bytes).map(|_| ()).map_err(|_| {
        Error::bad_request(
            "invalid_form",
            format!("The {what} is not valid UTF-8 once decoded."),
        )
    })
}

/// Parse an urlencoded form body.
pub(crate) fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    check_urlencoded(body, "form body")?;
    serde_urlencoded::from_bytes(body)
        .map_err(|e| Error::validation(format!("Invalid form body: {}", serde_message(&e))))
}

/// Parse a query string.
pub(crate) fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    check_urlencoded(query.as_bytes(), "query string")?;
    serde_urlencoded::from_str(query)
        .map_err(|e| Error::validation(format!("Invalid query string: {}", serde_message(&e))))
}

pub(crate) fn missing_state<T>() -> Error {
    Error::msg(format!(
        "no application state of type {}: add it with Module::state(…)",
        std::any::type_name::<T>()
    ))
}

/// Read the whole body under the size cap: 413 `payload_too_large` past it, 400 when the client
/// aborts. A body that arrives in one frame is passed on without copying.
pub(crate) async fn read_body(mut body: axum::body::Body, scope: &Scope) -> Result<Bytes, Error> {
    // The runtime wraps every request body in the size cap before handlers see it.
    let limit = scope.body_limit();
    if http_body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    let mut first: Option<Bytes> = None;
    let mut rest: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) if is_too_large(&err) => return Err(too_large(limit)),
            Err(_) => {
                return Err(Error::bad_request(
                    "bad_request",
                    "The request body could not be read.",
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data),
            (Some(head), None) => {
                let mut buf = bytes::BytesMut::with_capacity(head.len() + data.len());
                buf.extend_from_slice(head);
                buf.extend_from_slice(&data);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&data),
        }
    }
    scope.mark_body_done();
    Ok(match rest {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}

pub(crate) fn is_too_large(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}

pub(crate) fn too_large(limit: u64) -> Error {
    Error::runtime(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("Request body exceeded {limit} bytes."),
    )
    .with_header(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    )
}

impl FromRequest<Scope> for Ctx {
    type Rejection = Error;

    async fn from_request(req: Request, scope: &Scope) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = read_body(body, scope).await?;
        Ok(Ctx {
            parts,
            body,
            scope: scope.clone(),
        })
    }
}

/// Path parameters deserialized into `T`: one value (`Path<i64>`), a tuple in path order
/// (`Path<(String, u32)>`), or a struct with fields named like the parameters.
///
/// Rejection: 400 `validation` naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Scope> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, scope: &Scope) -> Result<Self, Self::Rejection> {
        let params = scope.params(parts.uri.path());
        let pairs: Vec<(&str, &str)> = params.iter().collect();
        T::deserialize(params_de::ParamsDe { pairs: &pairs })
            .map(Path)
            .map_err(|e| Error::validation(format!("Invalid path parameter {}", e.0)))
    }
}

/// The query string deserialized into `T` (absent query = empty).
///
/// Rejection: 400 `invalid_form` for malformed encodings, 400 `validation` for the wrong shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// A JSON body deserialized into `T`; as a return value, `T` serialized as `application/json`.
///
/// Only `application/json` and `application/*+json` bodies are accepted.
/// Rejections: 415 `unsupported_media_type` (a missing or other content type), 400 `invalid_json`,
/// 400 `validation` (JSON of the wrong shape), 413 `payload_too_large`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Scope> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, scope: &Scope) -> Result<Self, Self::Rejection> {
        let content_type = content_type(&req);
        if !content_type.is_some_and(is_json_type) {
            return Err(unsupported("application/json", content_type));
        }
        let body = read_body(req.into_body(), scope).await?;
        parse_json(Some("application/json"), &body).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        crate::Reply::json(&self.0).into_response()
    }
}

/// An `application/x-www-form-urlencoded` body deserialized into `T`.
///
/// Rejections: 415 `unsupported_media_type`, 400 `invalid_form` (malformed percent-escapes or
/// invalid UTF-8), 400 `validation`, 413 `payload_too_large`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Scope> for Form<T> {
    type Rejection = Error;

    async fn from_request(req: Request, scope: &Scope) -> Result<Self, Self::Rejection> {
        let content_type = content_type(&req);
        if !content_type.is_some_and(|ct| {
            media_type(ct).eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }) {
            return Err(unsupported(
                "application/x-www-form-urlencoded",
                content_type,
            ));
        }
        let body = read_body(req.into_body(), scope).await?;
        parse_form(&body).map(Form)
    }
}

/// Shared application state of type `T`, added with [`crate::Module::state`] (cloned per request:
/// keep it cheap to clone, e.g. with `Arc` inside).
///
/// Rejection: 500 naming the type when the module has no such state.
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromRequestParts<Scope> for State<T> {
    type Rejection = Error;

    async fn from_request_parts(
        _parts: &mut Parts,
        scope: &Scope,
    ) -> Result<Self, Self::Rejection> {
        scope
            .state::<T>()
            .cloned()
            .map(State)
            .ok_or_else(missing_state::<T>)
    }
}

/// The verified caller. On a route declared `.authenticated()` (or with scopes or roles) the runtime
/// has already answered 401/403 before the handler when there is none, so this never fails there;
/// elsewhere it answers 401 `auth` without a credential. Use `Option<Auth>` on public routes.
#[derive(Debug, Clone)]
pub struct Auth(pub webstir_auth::AuthContext);

impl std::ops::Deref for Auth {
    type Target = webstir_auth::AuthContext;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequestParts<Scope> for Auth {
    type Rejection = Error;

    async fn from_request_parts(
        _parts: &mut Parts,
        scope: &Scope,
    ) -> Result<Self, Self::Rejection> {
        scope
            .auth()
            .cloned()
            .map(Auth)
            .ok_or_else(|| Error::unauthorized("Authentication required."))
    }
}

impl OptionalFromRequestParts<Scope> for Auth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _parts: &mut Parts,
        scope: &Scope,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(scope.auth().cloned().map(Auth))
    }
}

/// The request id (the client's `x-request-id`, or a generated UUID).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl FromRequestParts<Scope> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _parts: &mut Parts,
        scope: &Scope,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestId(scope.request_id().to_owned()))
    }
}

mod params_de {
    //! A small serde deserializer over the matched path parameters.

    use serde::de::value::{MapDeserializer, SeqDeserializer};
    use serde::de::{self, Deserializer, IntoDeserializer, Visitor};

    use super::echo;

    #[derive(Debug)]
    pub(super) struct ParamError(pub(super) String);

    impl std::fmt::Display for ParamError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for ParamError {}

    impl de::Error for ParamError {
        fn custom<T: std::fmt::Display>(msg: T) -> Self {
            ParamError(format!(": {msg}"))
        }
    }

    pub(super) struct ParamsDe<'a> {
        pub(super) pairs: &'a [(&'a str, &'a str)],
    }

    impl<'a> ParamsDe<'a> {
        fn single(&self) -> Result<Value<'a>, ParamError> {
            match self.pairs {
                [(name, value)] => Ok(Value { name, value }),
                _ => Err(ParamError(format!(
                    ": expected 1 path parameter, the route has {}",
                    self.pairs.len()
                ))),
            }
        }
    }

    macro_rules! single {
        ($($method:ident)*) => {$(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.single()?.$method(visitor)
            }
        )*};
    }

    impl<'de> Deserializer<'de> for ParamsDe<'de> {
        type Error = ParamError;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.deserialize_map(visitor)
        }

        fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_map(MapDeserializer::new(
                self.pairs
                    .iter()
                    .map(|(name, value)| (*name, Value { name, value })),
            ))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.deserialize_map(visitor)
        }

        fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_seq(SeqDeserializer::new(
                self.pairs.iter().map(|(name, value)| Value { name, value }),
            ))
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            if len != self.pairs.len() {
                return Err(ParamError(format!(
                    ": expected {len} path parameters, the route has {}",
                    self.pairs.len()
                )));
            }
            self.deserialize_seq(visitor)
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.deserialize_tuple(len, visitor)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.single()?.deserialize_enum(name, variants, visitor)
        }

        fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_unit()
        }

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            visitor.visit_unit()
        }

        fn deserialize_ignored_any<V: Visitor<'de>>(
            self,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            visitor.visit_unit()
        }

        single!(deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
            deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
            deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
            deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option
            deserialize_identifier);
    }

    /// One parameter value; parses into numbers and booleans on demand.
    #[derive(Clone, Copy)]
    struct Value<'a> {
        name: &'a str,
        value: &'a str,
    }

    impl<'de> IntoDeserializer<'de, ParamError> for Value<'de> {
        type Deserializer = Self;

        fn into_deserializer(self) -> Self {
            self
        }
    }

    impl Value<'_> {
        fn invalid(&self, kind: &str) -> ParamError {
            ParamError(format!(
                "'{}': '{}' is not a valid {kind}.",
                self.name,
                echo(self.value)
            ))
        }
    }

    macro_rules! parse {
        ($($method:ident => $visit:ident : $ty:ty),* $(,)?) => {$(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                match self.value.parse::<$ty>() {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => Err(self.invalid(stringify!($ty))),
                }
            }
        )*};
    }

    impl<'de> Deserializer<'de> for Value<'de> {
        type Error = ParamError;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_borrowed_str(self.value)
        }

        parse!(deserialize_bool => visit_bool: bool, deserialize_i8 => visit_i8: i8,
            deserialize_i16 => visit_i16: i16, deserialize_i32 => visit_i32: i32,
            deserialize_i64 => visit_i64: i64, deserialize_i128 => visit_i128: i128,
            deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
            deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64,
            deserialize_u128 => visit_u128: u128, deserialize_f32 => visit_f32: f32,
            deserialize_f64 => visit_f64: f64, deserialize_char => visit_char: char);

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_some(self)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            visitor.visit_enum(self.value.into_deserializer())
        }

        serde::forward_to_deserialize_any! {
            str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
            identifier ignored_any
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
            "application/vnd.api+json ; x=y",
        ] {
            assert!(is_json_type(ok), "{ok}");
        }
        for bad in [
            "",
            "text/plain; charset=json",
            "multipart/form-data; boundary=json",
            "text/json+xml",
            "application/jsonx",
            "application/+json",
            "json",
        ] {
            assert!(!is_json_type(bad), "{bad}");
        }
    }

    #[test]
    fn urlencoded_checks() {
        assert!(check_urlencoded(b"a=1&b=%C3%A9+x", "form").is_ok());
        assert!(check_urlencoded(b"a=%zz", "form").is_err());
        assert!(check_urlencoded(b"a=%4", "form").is_err());
        assert!(check_urlencoded(b"a=%ff%fe", "form").is_err());
        assert!(check_urlencoded(b"a=\xff", "form").is_err());
    }

    #[test]
    fn echo_truncates() {
        let long = "é".repeat(100);
        let short = echo(&long);
        assert!(short.len() <= ECHO_LIMIT + 3);
        assert!(short.ends_with('…'));
        assert_eq!(echo("abc"), "abc");
    }

    #[test]
    fn params_deserialize() {
        use serde::Deserialize;
        let pairs = [("id", "7"), ("name", "a b")];
        #[derive(Deserialize)]
        struct P {
            id: u32,
            name: String,
        }
        let p = P::deserialize(params_de::ParamsDe { pairs: &pairs }).unwrap();
        assert_eq!((p.id, p.name.as_str()), (7, "a b"));
        let t = <(u32, String)>::deserialize(params_de::ParamsDe { pairs: &pairs }).unwrap();
        assert_eq!(t, (7, "a b".to_owned()));
        let one = [("id", "x1")];
        let err = u64::deserialize(params_de::ParamsDe { pairs: &one }).unwrap_err();
        assert!(err.0.contains("'id'"), "{}", err.0);
        let n = i64::deserialize(params_de::ParamsDe {
            pairs: &[("id", "-3")],
        })
        .unwrap();
        assert_eq!(n, -3);
    }
}
