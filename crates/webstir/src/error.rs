//! Handler errors: the `{"errors":[…]}` shape for expected failures, and internal errors for the rest.

use std::fmt;

use http::StatusCode;
use serde::Serialize;

/// One entry of an `{"errors":[…]}` body: a stable code, a message, optional details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    /// Stable, machine-readable code such as `validation`, `auth`, `not_found`, `conflict`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Extra structured information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error entry with a code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            details: None,
        }
    }

    /// Attach details.
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

pub(crate) enum ErrorKind {
    /// An expected failure answered with `{"errors":[…]}`.
    Api {
        status: StatusCode,
        errors: Vec<ApiError>,
        headers: Vec<(http::HeaderName, http::HeaderValue)>,
        /// Answered with the runtime's own `{"error":code,"message":…}` shape (413, 408…).
        plain: bool,
    },
    /// Anything else: answered with 500 `{"error":"internal_error"}`.
    Internal(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// The error type of handlers and jobs.
///
/// Expected failures carry a status and `{"errors":[{code,message,details?}]}`; anything converted with
/// `?` from another error type becomes a 500 `internal_error` (the message is logged, and shown to
/// clients only outside production).
///
/// ```
/// use webstir::Error;
/// let err = Error::not_found("account 7 does not exist");
/// assert_eq!(err.status().as_u16(), 404);
/// let err: Error = "abc".parse::<i32>().unwrap_err().into();
/// assert_eq!(err.status().as_u16(), 500);
/// ```
pub struct Error {
    pub(crate) kind: ErrorKind,
}

/// `Result<T, webstir::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An expected failure with the given status and one error entry.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::from_entries(status, vec![ApiError::new(code, message)])
    }

    /// An expected failure with several entries.
    pub fn from_entries(status: StatusCode, errors: Vec<ApiError>) -> Self {
        Self {
            kind: ErrorKind::Api {
                status,
                errors,
                headers: Vec::new(),
                plain: false,
            },
        }
    }

    /// A runtime-level failure answered as `{"error":code,"message":…}` (like 404/413/408).
    pub(crate) fn runtime(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let mut err = Self::new(status, code, message);
        if let ErrorKind::Api { plain, .. } = &mut err.kind {
            *plain = true;
        }
        err
    }

    /// 400 with code `validation`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation", message)
    }

    /// 400 with a custom code.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 with code `auth`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "auth", message)
    }

    /// 403 with code `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 with code `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 with code `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// An internal error with a message (500 `internal_error`).
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            kind: ErrorKind::Internal(message.to_string().into()),
        }
    }

    /// Attach details to the first error entry (no effect on internal errors).
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        if let ErrorKind::Api { errors, .. } = &mut self.kind
            && let Some(first) = errors.first_mut()
        {
            first.details = Some(details);
        }
        self
    }

    /// Add a response header (no effect on internal errors), e.g. `WWW-Authenticate`.
    #[must_use]
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        if let ErrorKind::Api { headers, .. } = &mut self.kind {
            headers.push((name, value));
        }
        self
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            ErrorKind::Api { status, .. } => *status,
            ErrorKind::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error entries (empty for internal errors).
    pub fn entries(&self) -> &[ApiError] {
        match &self.kind {
            ErrorKind::Api { errors, .. } => errors,
            ErrorKind::Internal(_) => &[],
        }
    }

    /// Whether this is an internal (500) error.
    pub fn is_internal(&self) -> bool {
        matches!(self.kind, ErrorKind::Internal(_))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Api { status, errors, .. } => f
                .debug_struct("Error")
                .field("status", status)
                .field("errors", errors)
                .finish(),
            ErrorKind::Internal(err) => f.debug_tuple("Error::Internal").field(err).finish(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Api { errors, status, .. } => match errors.first() {
                Some(e) => write!(f, "{}: {}", e.code, e.message),
                None => write!(f, "{status}"),
            },
            ErrorKind::Internal(err) => {
                write!(f, "{err}")?;
                let mut source = err.source();
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
        }
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(err: E) -> Self {
        let boxed: Box<dyn std::error::Error + Send + Sync + 'static> = Box::new(err);
        if let Some(mapped) = boxed.downcast_ref::<webstir_db::Error>().and_then(from_db) {
            return mapped;
        }
        // A request body read past the size cap (e.g. `body.frame().await?` on a streamed body).
        if crate::extract::is_too_large(&*boxed) {
            return Error::runtime(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Request body exceeded the size limit (REQUEST_BODY_MAX_BYTES).",
            )
            .with_header(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        Self {
            kind: ErrorKind::Internal(boxed),
        }
    }
}

/// Database errors a client can act on: constraint violations (409 `conflict`, or 400 `validation`
/// for NOT NULL / CHECK) and an unreachable database (503 `unavailable`). Constraint names are not
/// echoed to clients.
fn from_db(err: &webstir_db::Error) -> Option<Error> {
    use webstir_db::ConstraintKind;
    if err.is_unavailable() {
        // The client sees a generic 503; the log says why (locked, refused, timed out), once per
        // request, inside the request's span.
        let cause = std::error::Error::source(err)
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::warn!(target: "webstir::db", cause = %cause, "database unavailable");
        return Some(Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The database is unavailable; try again shortly.",
        ));
    }
    Some(match err.constraint_kind()? {
        ConstraintKind::Unique => {
            Error::conflict("A record with the same unique value already exists.")
        }
        ConstraintKind::ForeignKey => Error::conflict(
            "The change refers to a record that does not exist or is still referenced.",
        ),
        ConstraintKind::NotNull | ConstraintKind::Check => Error::validation(
            "The change breaks a rule of the stored data (a required value is missing or out of range).",
        ),
        _ => Error::conflict("The change conflicts with the stored data."),
    })
}
