//! Form failures: a submission that does not validate redirects back to the form, which shows
//! the field errors and the values the user typed (redirect-after-post without losing input).
//!
//! The failing route keeps the submission in the session ([`Session::keep_form`]) and answers a
//! redirect; the page with the form takes it once ([`Session::take_form`]). Kept forms live in
//! the session's runtime state, apart from the app's values, and go with the next render.
//!
//! ```
//! use webstir::forms::FormErrors;
//! use webstir::extract::{Form, Session};
//! use webstir::{Ctx, Reply, Result};
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct NewNote {
//!     title: String,
//! }
//!
//! async fn create(session: Session, Form(note): Form<NewNote>) -> Result<Reply> {
//!     let mut errors = FormErrors::new();
//!     if note.title.trim().is_empty() {
//!         errors = errors.field("title", "Title is required");
//!     }
//!     if !errors.is_empty() {
//!         session.keep_form("createNote", &note, &errors)?;
//!         return Ok(Reply::redirect("/notes/new"));
//!     }
//!     Ok(Reply::redirect("/notes"))
//! }
//!
//! async fn new_page(ctx: Ctx) -> Result<Reply> {
//!     let kept = ctx.session()?.take_form("createNote");
//!     let title = kept.as_ref().and_then(|k| k.values["title"].as_str()).unwrap_or("");
//!     let error = kept.as_ref().and_then(|k| k.errors.first("title")).unwrap_or("");
//!     Ok(Reply::html(format!("<input name=title value=\"{title}\"><p>{error}</p>")))
//! }
//! # let _ = (webstir::Route::post("/notes").handler(create), webstir::Route::get("/n").handler(new_page));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::session::Session;
use crate::{Error, Result};

/// Where kept forms live in the session's runtime state: `{route name: KeptForm}`.
const STATE_KEY: &str = "forms";

/// The errors of a form submission: messages per field, and messages about the form as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FormErrors {
    /// Messages about the form as a whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form: Vec<String>,
    /// Messages per field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Vec<String>>,
}

impl FormErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `message` for `field`.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.fields
            .entry(field.into())
            .or_default()
            .push(message.into());
        self
    }

    /// Adds a message about the whole form.
    #[must_use]
    pub fn form(mut self, message: impl Into<String>) -> Self {
        self.form.push(message.into());
        self
    }

    /// Whether there is no error at all.
    pub fn is_empty(&self) -> bool {
        self.form.is_empty() && self.fields.values().all(Vec::is_empty)
    }

    /// The messages for `field` (empty when it has none).
    pub fn for_field(&self, field: &str) -> &[String] {
        self.fields.get(field).map_or(&[], Vec::as_slice)
    }

    /// The first message for `field`.
    pub fn first(&self, field: &str) -> Option<&str> {
        self.for_field(field).first().map(String::as_str)
    }

    /// As the runtime's error envelope (`{"errors":[{"code":"validation","message",
    /// "details":{"field"}}]}` entries), for routes answering JSON instead of redirecting.
    pub fn into_error(self) -> Error {
        let mut entries: Vec<crate::ApiError> = self
            .form
            .into_iter()
            .map(|message| crate::ApiError::new("validation", message))
            .collect();
        for (field, messages) in self.fields {
            entries.extend(messages.into_iter().map(|m| {
                crate::ApiError::new("validation", m)
                    .with_details(serde_json::json!({ "field": field }))
            }));
        }
        if entries.is_empty() {
            entries.push(crate::ApiError::new("validation", "The form is invalid."));
        }
        Error::from_entries(Error::validation("").status(), entries)
    }
}

/// A failed submission kept for the page that shows the form again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeptForm {
    /// The submitted values, as given to [`Session::keep_form`].
    pub values: serde_json::Value,
    /// What was wrong with them.
    pub errors: FormErrors,
}

impl Session {
    /// Keeps a failed submission of the form that posts to the route named `route` (its values
    /// and errors) until the form's page takes it with [`Session::take_form`]. Starts a session
    /// when there is none. Never keep passwords in `values`. The response then counts as a
    /// failure for the route's flash messages, even as a redirect (`when: error` ones are
    /// published, `when: success` ones are not).
    ///
    /// # Errors
    /// When `values` cannot be turned into JSON.
    pub fn keep_form(
        &self,
        route: &str,
        values: impl Serialize,
        errors: &FormErrors,
    ) -> Result<()> {
        let kept = KeptForm {
            values: serde_json::to_value(values)
                .map_err(|e| Error::msg(format!("the form values cannot be kept: {e}")))?,
            errors: errors.clone(),
        };
        let mut forms = self.kept_forms();
        forms.insert(
            route.to_owned(),
            serde_json::to_value(kept).map_err(|e| Error::msg(e.to_string()))?,
        );
        self.runtime_set(STATE_KEY, Some(serde_json::Value::Object(forms)));
        // A redirect back to the form is a failure: `when: success` flash is not published,
        // `when: error` is (the original counted such redirects as success).
        self.mark_form_failed();
        Ok(())
    }

    /// Takes (once) the failed submission kept for the route named `route`.
    pub fn take_form(&self, route: &str) -> Option<KeptForm> {
        let mut forms = self.kept_forms();
        let kept = forms.remove(route)?;
        let state = (!forms.is_empty()).then_some(serde_json::Value::Object(forms));
        self.runtime_set(STATE_KEY, state);
        serde_json::from_value(kept).ok()
    }

    fn kept_forms(&self) -> serde_json::Map<String, serde_json::Value> {
        match self.runtime_get(STATE_KEY) {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }
}
