//! What a handler returns: a body, a redirect, a fragment or errors (the four result shapes).

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use webstir_manifest::FragmentMode;

use crate::error::ApiError;

pub(crate) enum ReplyKind {
    Empty,
    Body {
        bytes: Bytes,
        content_type: &'static str,
    },
    Redirect {
        location: String,
    },
    Fragment {
        target: String,
        selector: Option<String>,
        mode: Option<FragmentMode>,
        html: Bytes,
    },
    Errors(Vec<ApiError>),
    /// Serialization of the body failed: answered as a 500.
    Broken(String),
}

/// A handler's successful result.
///
/// ```
/// use webstir::Reply;
/// let ok = Reply::json(&serde_json::json!({"ok": true}));
/// let created = Reply::json(&serde_json::json!({"id": 7})).status(201);
/// let moved = Reply::redirect("/done?name=Webstir");
/// let part = Reply::fragment("greeting", "<p>Hello</p>");
/// let html = Reply::html("<h1>Hi</h1>").header("cache-control", "max-age=60");
/// # let _ = (ok, created, moved, part, html);
/// ```
pub struct Reply {
    pub(crate) status: Option<StatusCode>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) kind: ReplyKind,
}

impl Reply {
    fn of(kind: ReplyKind) -> Self {
        Self {
            status: None,
            headers: Vec::new(),
            kind,
        }
    }

    /// A JSON body (`application/json`), status 200.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(bytes) => Self::of(ReplyKind::Body {
                bytes: Bytes::from(bytes),
                content_type: "application/json",
            }),
            Err(err) => Self::of(ReplyKind::Broken(format!(
                "failed to serialize JSON response: {err}"
            ))),
        }
    }

    /// An HTML body (`text/html; charset=utf-8`), status 200.
    pub fn html(html: impl Into<String>) -> Self {
        Self::of(ReplyKind::Body {
            bytes: Bytes::from(html.into()),
            content_type: "text/html; charset=utf-8",
        })
    }

    /// A plain-text body (`text/plain; charset=utf-8`), status 200.
    pub fn text(text: impl Into<String>) -> Self {
        Self::of(ReplyKind::Body {
            bytes: Bytes::from(text.into()),
            content_type: "text/plain; charset=utf-8",
        })
    }

    /// A binary body (`application/octet-stream`), status 200.
    pub fn bytes(bytes: impl Into<Bytes>) -> Self {
        Self::of(ReplyKind::Body {
            bytes: bytes.into(),
            content_type: "application/octet-stream",
        })
    }

    /// No body; status 204 unless set otherwise.
    pub fn empty() -> Self {
        Self::of(ReplyKind::Empty)
    }

    /// A redirect to `location`, status 303 unless set otherwise.
    pub fn redirect(location: impl Into<String>) -> Self {
        Self::of(ReplyKind::Redirect {
            location: location.into(),
        })
    }

    /// An HTML fragment for the element `target`, sent with the `x-webstir-fragment-*` headers and
    /// `cache-control: no-store`.
    pub fn fragment(target: impl Into<String>, html: impl Into<String>) -> Self {
        Self::of(ReplyKind::Fragment {
            target: target.into(),
            selector: None,
            mode: None,
            html: Bytes::from(html.into()),
        })
    }

    /// `{"errors":[…]}`, status 400 unless set otherwise.
    pub fn errors(errors: Vec<ApiError>) -> Self {
        Self::of(ReplyKind::Errors(errors))
    }

    /// Set the fragment selector (fragments only).
    #[must_use]
    pub fn selector(mut self, value: impl Into<String>) -> Self {
        if let ReplyKind::Fragment { selector, .. } = &mut self.kind {
            *selector = Some(value.into());
        }
        self
    }

    /// Set the fragment mode (fragments only).
    #[must_use]
    pub fn mode(mut self, value: FragmentMode) -> Self {
        if let ReplyKind::Fragment { mode, .. } = &mut self.kind {
            *mode = Some(value);
        }
        self
    }

    /// Set the status code.
    ///
    /// # Panics
    /// When `status` is not between 100 and 999.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(StatusCode::from_u16(status).expect("a valid HTTP status code"));
        self
    }

    /// Add a header.
    ///
    /// # Panics
    /// When the name or value is not a valid header name/value (a programming error).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
        let value = HeaderValue::from_str(value).expect("a valid header value");
        self.headers.push((name, value));
        self
    }

    /// Add a typed header.
    #[must_use]
    pub fn typed_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn has_header(&self, name: &HeaderName) -> bool {
        self.headers.iter().any(|(n, _)| n == name)
    }

    pub(crate) fn default_status(&self) -> StatusCode {
        match &self.kind {
            ReplyKind::Empty => StatusCode::NO_CONTENT,
            ReplyKind::Redirect { .. } => StatusCode::SEE_OTHER,
            ReplyKind::Errors(_) => StatusCode::BAD_REQUEST,
            ReplyKind::Broken(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::OK,
        }
    }
}
